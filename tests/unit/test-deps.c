/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Provides and Requires of fixture modules against a Module.symvers. */
#include <check.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "kabideps.h"

/* The kernel exports two of the three imports; _printk with another CRC. */
static const char reference[] =
	"0x9060323f\tmodule_layout\tvmlinux\tEXPORT_SYMBOL\t\n"
	"0x00000001\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n";

struct warnings {
	char text[4096];
};

static void collect(void *data, int level, const char *msg)
{
	struct warnings *w = data;

	(void)level;
	strncat(w->text, msg, sizeof(w->text) - strlen(w->text) - 2);
	strcat(w->text, "\n");
}

static struct kabi_ctx *new_ctx(struct warnings *w)
{
	struct kabi_ctx *ctx = kabi_ctx_new();
	char *ref = fx_write("Module.symvers", reference, sizeof(reference) - 1);

	kabi_ctx_set_log_fn(ctx, collect, w);
	ck_assert_int_eq(kabi_ctx_set_symvers(ctx, ref), 0);
	free(ref);
	return ctx;
}

static struct kabi_module *open_at(struct kabi_ctx *ctx, const char *path, const struct fx_options *o)
{
	size_t size;
	unsigned char *img = fx_module(o, &size);
	struct kabi_module *mod = NULL;

	ck_assert_msg(kabi_module_open_mem(ctx, path, img, size, &mod) == 0, "%s", kabi_ctx_error(ctx));
	free(img);
	return mod;
}

static char *joined(struct kabi_strv *sv)
{
	size_t len = 1;
	char *s;

	kabi_strv_sort_uniq(sv);
	for (size_t i = 0; i < sv->n; i++)
		len += strlen(sv->v[i]) + 1;
	s = calloc(1, len);
	for (size_t i = 0; i < sv->n; i++)
		strcat(strcat(s, sv->v[i]), "\n");
	return s;
}

static const struct fx_options base = { .era = FX_KCRCTAB, .elf_class = ELFCLASS64, .elf_data = ELFDATA2LSB };

/* Provides and Requires of the fixture module at path, as text, one per line. */
static void deps_at(const char *path, char **provides, char **requires, struct warnings *w)
{
	struct kabi_ctx *ctx = new_ctx(w);
	struct kabi_module *mod = open_at(ctx, path, &base);
	struct kabi_strv prov = { 0 }, req = { 0 };

	ck_assert_int_eq(kabi_ctx_set_option(ctx, "triggers", "kabi-deps-triggers"), 0);
	ck_assert_int_eq(kabi_provides(ctx, mod, &prov), 0);
	ck_assert_int_eq(kabi_requires(ctx, NULL, mod, &req), 0);
	*provides = joined(&prov);
	*requires = joined(&req);
	kabi_strv_free(&prov);
	kabi_strv_free(&req);
	kabi_module_free(mod);
	kabi_ctx_free(ctx);
	fx_cleanup();
}

START_TEST(out_of_tree_module)
{
	struct warnings w = { "" };
	char *p, *r;

	deps_at("/lib/modules/" FX_RELEASE "/extra/fx.ko", &p, &r, &w);
	ck_assert_str_eq(p, "ksym(fx_gpl) = 0xdeadbeef\nksym(fx_ns_sym) = 0x0000abcd\n"
			    "ksym(fx_plain) = 0x11223344\n");
	/* the module's own CRCs, kernel() for what the reference lists */
	ck_assert_str_eq(r, "kabi-deps-triggers\nkernel(_printk) = 0x92997ed8\n"
			    "kernel(module_layout) = 0x9060323f\nksym(kmalloc_caches) = 0x00000042\n");
	ck_assert_msg(strstr(w.text, "_printk (0x92997ed8, reference 0x00000001)"), "warnings: %s", w.text);
	free(p);
	free(r);
}
END_TEST

START_TEST(in_tree_module)
{
	struct warnings w = { "" };
	char *p, *r;

	deps_at("/lib/modules/" FX_RELEASE "/kernel/drivers/fx.ko", &p, &r, &w);
	ck_assert_str_eq(p, "kernel(fx_gpl) = 0xdeadbeef\nkernel(fx_ns_sym) = 0x0000abcd\n"
			    "kernel(fx_plain) = 0x11223344\n");
	ck_assert_msg(!strstr(r, "triggers"), "in-tree modules do not require the triggers: %s", r);
	free(p);
	free(r);
}
END_TEST

/* Two modules in one package: an import the sibling exports is no Requires,
 * unless its CRC differs (built against another build of the sibling). */
START_TEST(package_satisfies_itself)
{
	static const struct fx_import same = { "fx_plain", 0x11223344 }, other = { "fx_plain", 0x55555555 };
	struct warnings w = { "" };
	struct kabi_ctx *ctx = new_ctx(&w);
	struct fx_options user = base;
	struct kabi_pkg *pkg = kabi_pkg_new(ctx);
	struct kabi_module *fx = open_at(ctx, "/lib/modules/" FX_RELEASE "/extra/fx.ko", &base), *mod;
	struct kabi_strv req = { 0 };
	char *r;

	ck_assert_int_eq(kabi_pkg_add(pkg, fx), 0);
	user.extra_import = _i ? &other : &same;
	mod = open_at(ctx, "/lib/modules/" FX_RELEASE "/extra/user.ko", &user);
	ck_assert_int_eq(kabi_pkg_add(pkg, mod), 0);
	ck_assert_int_eq(kabi_requires(ctx, pkg, mod, &req), 0);
	r = joined(&req);
	if (_i) {
		ck_assert_msg(strstr(r, "ksym(fx_plain) = 0x55555555\n"), "%s", r);
		ck_assert_msg(strstr(w.text, "same package exports it with 0x11223344"), "%s", w.text);
	} else {
		ck_assert_msg(!strstr(r, "fx_plain"), "%s", r);
	}
	free(r);
	kabi_strv_free(&req);
	kabi_module_free(mod);
	kabi_module_free(fx);
	kabi_pkg_free(pkg);
	kabi_ctx_free(ctx);
	fx_cleanup();
}
END_TEST

START_TEST(unreadable_reference_is_an_error)
{
	struct warnings w = { "" };
	struct kabi_ctx *ctx = kabi_ctx_new();
	struct kabi_module *mod = open_at(ctx, "/lib/modules/" FX_RELEASE "/extra/fx.ko", &base);
	struct kabi_strv req = { 0 };

	kabi_ctx_set_log_fn(ctx, collect, &w);
	ck_assert_int_eq(kabi_ctx_set_symvers(ctx, "/nonexistent/Module.symvers"), 0);
	ck_assert_int_lt(kabi_requires(ctx, NULL, mod, &req), 0);
	ck_assert_msg(strstr(kabi_ctx_error(ctx), "/nonexistent/Module.symvers"), "%s", kabi_ctx_error(ctx));
	ck_assert_uint_eq(req.n, 0);
	kabi_strv_free(&req);
	kabi_module_free(mod);
	kabi_ctx_free(ctx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("deps");
	TCase *t = tcase_create("deps");
	SRunner *sr;
	int failed;

	tcase_add_test(t, out_of_tree_module);
	tcase_add_test(t, in_tree_module);
	tcase_add_loop_test(t, package_satisfies_itself, 0, 2);
	tcase_add_test(t, unreadable_reference_is_an_error);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
