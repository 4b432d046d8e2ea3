/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Provides and Requires of fixture modules against a Module.symvers. */
#include <check.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "kabideps.h"
#include "unit.h"

/* The kernel exports two of the three imports; _printk with another CRC. */
static const char reference[] = "0x9060323f\tmodule_layout\tvmlinux\tEXPORT_SYMBOL\t\n"
				"0x00000001\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n";

static struct kabi_ctx *new_ctx(struct unit_log *w)
{
	struct kabi_ctx *ctx = kabi_ctx_new();
	char *ref = fx_write("Module.symvers", reference, sizeof(reference) - 1);

	kabi_ctx_set_log_fn(ctx, unit_log_collect, w);
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
static void deps_at(const char *path, char **provides, char **requires, struct unit_log *w)
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
	struct unit_log w = { "" };
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
	struct unit_log w = { "" };
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
	struct unit_log w = { "" };
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

/* A package answers for the modules it keeps from what it looked up once
 * per name: another reference is asked again, the sibling still counts. */
START_TEST(package_lookups_follow_the_reference)
{
	static const struct fx_import sibling = { "fx_plain", 0x11223344 };
	static const char second[] = "0x00000042\tkmalloc_caches\tvmlinux\tEXPORT_SYMBOL\t\n";
	static const char *const want[] = {
		"kernel(_printk) = 0x92997ed8\nkernel(module_layout) = 0x9060323f\n"
		"ksym(kmalloc_caches) = 0x00000042\n",
		"kernel(kmalloc_caches) = 0x00000042\nksym(_printk) = 0x92997ed8\n"
		"ksym(module_layout) = 0x9060323f\n",
	};
	const char *user_path = "/lib/modules/" FX_RELEASE "/extra/user.ko";
	struct unit_log w = { "" };
	struct kabi_ctx *ctx = new_ctx(&w);
	char *ref = fx_write("second.symvers", second, sizeof(second) - 1);
	struct fx_options user = base;
	struct kabi_pkg *pkg = kabi_pkg_new(ctx);
	struct kabi_module *fx = open_at(ctx, "/lib/modules/" FX_RELEASE "/extra/fx.ko", &base), *mod;

	user.extra_import = &sibling;
	mod = open_at(ctx, user_path, &user);
	ck_assert_int_eq(kabi_pkg_add(pkg, fx), 0);
	ck_assert_int_eq(kabi_pkg_add(pkg, mod), 0);
	kabi_module_free(mod);
	kabi_module_free(fx);
	for (size_t i = 0; i < 2; i++) {
		struct kabi_strv req = { 0 };
		char *r;

		if (i)
			ck_assert_int_eq(kabi_ctx_set_symvers(ctx, ref), 0);
		ck_assert_msg(kabi_pkg_requires(pkg, user_path, &req) == 0, "%s", kabi_ctx_error(ctx));
		r = joined(&req);
		ck_assert_str_eq(r, want[i]);
		free(r);
		kabi_strv_free(&req);
	}
	free(ref);
	kabi_pkg_free(pkg);
	kabi_ctx_free(ctx);
	fx_cleanup();
}
END_TEST

START_TEST(unreadable_reference_is_an_error)
{
	struct unit_log w = { "" };
	struct kabi_ctx *ctx = kabi_ctx_new();
	struct kabi_module *mod = open_at(ctx, "/lib/modules/" FX_RELEASE "/extra/fx.ko", &base);
	struct kabi_strv req = { 0 };

	kabi_ctx_set_log_fn(ctx, unit_log_collect, &w);
	ck_assert_int_eq(kabi_ctx_set_symvers(ctx, "/nonexistent/Module.symvers"), 0);
	ck_assert_int_lt(kabi_requires(ctx, NULL, mod, &req), 0);
	ck_assert_msg(strstr(kabi_ctx_error(ctx), "/nonexistent/Module.symvers"), "%s", kabi_ctx_error(ctx));
	ck_assert_uint_eq(req.n, 0);
	kabi_strv_free(&req);
	kabi_module_free(mod);
	kabi_ctx_free(ctx);
}
END_TEST

/* rpm's Lua sets every option again for every file: the same value keeps
 * what was read (the files are gone by the second call), another value
 * reads its own file. */
START_TEST(settings_set_again_keep_what_was_read)
{
	static const char list[] = "[x86_64]\n\tmodule_layout\n\t_printk\n";
	static const char other_list[] = "[x86_64]\n\tmodule_layout\n";
	struct unit_log w = { "" };
	struct kabi_ctx *ctx = kabi_ctx_new();
	char *ref = fx_write("Module.symvers", reference, sizeof(reference) - 1);
	char *stablelist = fx_write("kabi_stablelist_x86_64", list, sizeof(list) - 1);
	char *other = fx_write("other_stablelist", other_list, sizeof(other_list) - 1);
	struct kabi_module *mod = open_at(ctx, "/lib/modules/" FX_RELEASE "/extra/fx.ko", &base);
	struct kabi_strv req = { 0 };

	kabi_ctx_set_log_fn(ctx, unit_log_collect, &w);
	ck_assert_int_eq(kabi_ctx_set_symvers(ctx, ref), 0);
	ck_assert_int_eq(kabi_ctx_set_option(ctx, "stablelist", stablelist), 0);
	ck_assert_int_eq(kabi_requires(ctx, NULL, mod, &req), 0);
	ck_assert_msg(strstr(w.text, "1 import is not on the x86_64 kABI stablelist"), "%s", w.text);
	ck_assert_ptr_null(strstr(w.text, "_printk,"));
	unlink(ref);
	unlink(stablelist);
	for (int i = 0; i < 2; i++) {
		w.text[0] = '\0';
		kabi_strv_free(&req);
		ck_assert_int_eq(kabi_ctx_set_symvers(ctx, ref), 0);
		ck_assert_int_eq(kabi_ctx_set_option(ctx, "stablelist", stablelist), 0);
		ck_assert_msg(kabi_requires(ctx, NULL, mod, &req) == 0, "%s", kabi_ctx_error(ctx));
		ck_assert_msg(strstr(w.text, "1 import is not on the x86_64 kABI stablelist"), "%s", w.text);
		ck_assert_ptr_null(strstr(w.text, "No such file"));
	}
	w.text[0] = '\0';
	kabi_strv_free(&req);
	ck_assert_int_eq(kabi_ctx_set_option(ctx, "stablelist", other), 0);
	ck_assert_int_eq(kabi_requires(ctx, NULL, mod, &req), 0);
	ck_assert_msg(strstr(w.text, "2 imports are not on the x86_64 kABI stablelist"), "%s", w.text);
	kabi_strv_free(&req);
	kabi_module_free(mod);
	kabi_ctx_free(ctx);
	free(ref);
	free(stablelist);
	free(other);
	fx_cleanup();
}
END_TEST

/* The vermagic of a kernel built without CONFIG_MODVERSIONS. */
static const char plain_modinfo[] = "vermagic=" FX_RELEASE " SMP preempt mod_unload \0name=fx\0license=GPL\0";
/* Its Module.symvers: every CRC 0. */
static const char crcless_reference[] = "0x00000000\tmodule_layout\tvmlinux\tEXPORT_SYMBOL\t\n"
					"0x00000000\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n";

/* Requires of a fixture without __versions against ref, as text. */
static char *crcless_requires(const char *modinfo, size_t modinfo_size, const char *ref_text,
			      const char *path, struct unit_log *w)
{
	struct kabi_ctx *ctx = kabi_ctx_new();
	char *ref = fx_write("Module.symvers", ref_text, strlen(ref_text));
	struct fx_options o = base;
	struct kabi_module *mod;
	struct kabi_strv req = { 0 };
	char *r;

	kabi_ctx_set_log_fn(ctx, unit_log_collect, w);
	ck_assert_int_eq(kabi_ctx_set_symvers(ctx, ref), 0);
	ck_assert_int_eq(kabi_ctx_set_option(ctx, "triggers", "kabi-deps-triggers"), 0);
	o.no_versions = 1;
	o.modinfo = modinfo;
	o.modinfo_size = modinfo_size;
	mod = open_at(ctx, path, &o);
	ck_assert_int_eq(kabi_requires(ctx, NULL, mod, &req), 0);
	r = joined(&req);
	kabi_strv_free(&req);
	kabi_module_free(mod);
	kabi_ctx_free(ctx);
	free(ref);
	fx_cleanup();
	return r;
}

/* No modversions: the release it was built for, and by name only what the
 * kernel does not export (weak and linker symbols are no dependency). */
START_TEST(module_without_modversions)
{
	struct unit_log w = { "" };
	char *r = crcless_requires(plain_modinfo, sizeof(plain_modinfo), crcless_reference,
				   "/lib/modules/" FX_RELEASE "/extra/fx.ko", &w);

	ck_assert_str_eq(r, "kabi-deps-triggers\nkernel-uname-r = " FX_RELEASE "\nksym(kmalloc_caches)\n");
	ck_assert_msg(strstr(w.text,
			     "fx.ko: built without modversions: requires kernel-uname-r = " FX_RELEASE),
		      "warnings: %s", w.text);
	free(r);
}
END_TEST

/* vermagic says modversions, __versions is gone: the release, and a warning. */
START_TEST(stripped_versions)
{
	struct unit_log w = { "" };
	char *r = crcless_requires(NULL, 0, crcless_reference, "/lib/modules/" FX_RELEASE "/extra/fx.ko", &w);

	ck_assert_msg(strstr(r, "kernel-uname-r = " FX_RELEASE "\n"), "%s", r);
	ck_assert_msg(strstr(w.text, "vermagic says modversions, but it has no __versions"), "warnings: %s",
		      w.text);
	free(r);
}
END_TEST

/* A module without CRCs built against a reference with them: said. */
START_TEST(crcless_module_crc_reference)
{
	struct unit_log w = { "" };
	char *r = crcless_requires(plain_modinfo, sizeof(plain_modinfo), reference,
				   "/lib/modules/" FX_RELEASE "/extra/fx.ko", &w);

	ck_assert_msg(strstr(r, "kernel-uname-r = " FX_RELEASE "\n"), "%s", r);
	ck_assert_msg(strstr(w.text, "built without modversions, but its kernel reference"), "warnings: %s",
		      w.text);
	free(r);
}
END_TEST

/* A module with CRCs against a reference without: one warning, no kernel(). */
START_TEST(crc_module_crcless_reference)
{
	struct unit_log w = { "" };
	struct kabi_ctx *ctx = kabi_ctx_new();
	char *ref = fx_write("Module.symvers", crcless_reference, strlen(crcless_reference));
	struct kabi_module *mod;
	struct kabi_strv req = { 0 };
	char *r;

	kabi_ctx_set_log_fn(ctx, unit_log_collect, &w);
	ck_assert_int_eq(kabi_ctx_set_symvers(ctx, ref), 0);
	mod = open_at(ctx, "/lib/modules/" FX_RELEASE "/extra/fx.ko", &base);
	ck_assert_int_eq(kabi_requires(ctx, NULL, mod, &req), 0);
	r = joined(&req);
	ck_assert_str_eq(r, "ksym(_printk) = 0x92997ed8\nksym(kmalloc_caches) = 0x00000042\n"
			    "ksym(module_layout) = 0x9060323f\n");
	ck_assert_msg(strstr(w.text, "has modversions CRCs, but its kernel reference") &&
			      !strstr(w.text, "differ"),
		      "warnings: %s", w.text);
	free(r);
	free(ref);
	kabi_strv_free(&req);
	kabi_module_free(mod);
	kabi_ctx_free(ctx);
	fx_cleanup();
}
END_TEST

/* The kernel side: kernel-uname-r beside the symbols, none from zero CRCs,
 * and the name form for a release rpm cannot take as a version. */
START_TEST(kernel_side_release)
{
	static const struct {
		const char *file, *text, *want, *flavor;
	} cases[] = {
		{ "symvers-" FX_RELEASE ".gz", crcless_reference, "kernel-uname-r = " FX_RELEASE "\n", NULL },
		{ "symvers-" FX_RELEASE ".gz", reference,
		  "kernel(_printk) = 0x00000001\nkernel(module_layout) = 0x9060323f\nkernel-uname-r = " FX_RELEASE
		  "\n",
		  NULL },
		{ "symvers-6.1.0-57-amd64.gz", crcless_reference, "kernel-uname-r(6.1.0-57-amd64)\n", NULL },
		/* SUSE's rpm takes SUSE's releases, two dashes and all */
		{ "symvers-6.4.0-150600.23.25-default.gz", crcless_reference,
		  "kernel-uname-r = 6.4.0-150600.23.25-default\n", "auto" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kabi_ctx *ctx = kabi_ctx_new();
		char *path = fx_write(cases[i].file, cases[i].text, strlen(cases[i].text));
		struct kabi_strv prov = { 0 };
		char *p;

		if (cases[i].flavor)
			ck_assert_int_eq(kabi_ctx_set_option(ctx, "flavor", cases[i].flavor), 0);
		ck_assert_msg(kabi_provides_file(ctx, NULL, path, &prov) == 0, "%s", kabi_ctx_error(ctx));
		p = joined(&prov);
		ck_assert_str_eq(p, cases[i].want);
		free(p);
		free(path);
		kabi_strv_free(&prov);
		kabi_ctx_free(ctx);
		fx_cleanup();
	}
}
END_TEST

static int cmp_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted in byte order, each string once, at every size (a module's few
 * dozen and a kernel's thousands go different ways). */
START_TEST(sort_uniq_any_size)
{
	static const size_t sizes[] = { 0, 1, 2, 7, 40, 1024, 1025, 5000 };

	srand(18);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct kabi_strv sv = { 0 };
		char **want = calloc(sizes[k] + 1, sizeof(*want));
		size_t n_want = 0;

		sv.v = calloc(sizes[k] + 1, sizeof(*sv.v));
		sv.n = sv.cap = sizes[k];
		for (size_t i = 0; i < sizes[k]; i++) {
			char text[32];

			/* few distinct values: duplicates, and prefixes of each other */
			snprintf(text, sizeof(text), "kernel(s%.*s) = 0x%x", rand() % 4, "_ab", rand() % 300);
			sv.v[i] = strdup(text);
			want[i] = sv.v[i];
		}
		qsort(want, sizes[k], sizeof(*want), cmp_text);
		for (size_t i = 0; i < sizes[k]; i++)
			if (!n_want || strcmp(want[n_want - 1], want[i]))
				want[n_want++] = strdup(want[i]);
		kabi_strv_sort_uniq(&sv);
		ck_assert_uint_eq(sv.n, n_want);
		for (size_t i = 0; i < n_want; i++) {
			ck_assert_str_eq(sv.v[i], want[i]);
			free(want[i]);
		}
		free(want);
		kabi_strv_free(&sv);
	}
}
END_TEST

/* kabi_strv_sort_uniq of copies of the n strings against qsort, strcmp and
 * a pass for duplicates; each copy malloc'd to its size, so that a read past
 * a string's NUL is one past its block (for the sanitizers). */
static void check_sort_uniq(const char *const *strs, size_t n, const char *what)
{
	struct kabi_strv sv = { 0 };
	char **want = calloc(n + 1, sizeof(*want));
	size_t n_want = 0;

	sv.v = calloc(n + 1, sizeof(*sv.v));
	sv.n = sv.cap = n;
	for (size_t i = 0; i < n; i++) {
		sv.v[i] = strdup(strs[i]);
		want[i] = sv.v[i];
	}
	qsort(want, n, sizeof(*want), cmp_text);
	for (size_t i = 0; i < n; i++)
		if (!n_want || strcmp(want[n_want - 1], want[i]))
			want[n_want++] = strdup(want[i]);
	kabi_strv_sort_uniq(&sv);
	ck_assert_msg(sv.n == n_want, "%s: %zu strings, want %zu", what, sv.n, n_want);
	for (size_t i = 0; i < n_want; i++) {
		ck_assert_msg(strcmp(sv.v[i], want[i]) == 0, "%s: [%zu] \"%s\", want \"%s\"", what, i,
			      sv.v[i], want[i]);
		free(want[i]);
	}
	free(want);
	kabi_strv_free(&sv);
}

#define CHECK_SORT_UNIQ(...)                                                            \
	do {                                                                            \
		static const char *const strs_[] = { __VA_ARGS__ };                     \
		check_sort_uniq(strs_, sizeof(strs_) / sizeof(strs_[0]), #__VA_ARGS__); \
	} while (0)

/* What compares strings a few bytes at a time could get wrong. */
START_TEST(sort_uniq_adversarial)
{
	const char *many[1100];

	/* prefixes of each other, at, before and after 8 bytes past the shared part */
	CHECK_SORT_UNIQ("kernel(abcdefgh", "kernel(abcdefg", "kernel(abcdefghi", "kernel(", "kernel(a",
			"kernel(abcdefgh", "kernel", "kernel(abcdefghijklmnopq", "kernel(abcdefgh)");
	CHECK_SORT_UNIQ("abcdefgh", "abcdefg", "abcdefghi", "abcdefgh", "a", "ab");
	/* keys equal, tails differ (and one ends where the key does) */
	CHECK_SORT_UNIQ("kernel(snd_soc_dapm_put) = 0x1", "kernel(snd_soc_dapm_get) = 0x1",
			"kernel(snd_soc_) = 0x1", "kernel(snd_soc_dapm_put) = 0x2",
			"kernel(snd_soc_dapm_put) = 0x1", "kernel(snd_soc_", "kernel(snd_soc_d");
	/* a shared prefix longer than 8, and one of 1 */
	CHECK_SORT_UNIQ("kernel(__x86_indirect_thunk_rax) = 0x1", "kernel(__x86_indirect_thunk_rbx) = 0x1",
			"kernel(__x86_indirect_thunk_r", "kernel(__x86_indirect_thunk_rax) = 0x1");
	CHECK_SORT_UNIQ("kmod(a.ko)", "kernel(a) = 0x1", "ksym(a) = 0x1", "k", "kernel-uname-r = 6.1");
	/* '$' < ')' < '.' < 'a'; bytes from 0x80 above all ASCII */
	CHECK_SORT_UNIQ("kernel(a$b) = 0x1", "kernel(a) = 0x1", "kernel(a.b) = 0x1", "kernel(a$) = 0x1",
			"kernel(a.) = 0x1", "kernel(ab) = 0x1", "kernel(a)");
	CHECK_SORT_UNIQ("\x80", "\xff", "a\xff", "a\x7f", "a\x80\x80\x80\x80\x80\x80\x80\x80\x01",
			"a\x80\x80\x80\x80\x80\x80\x80\x80\xff", "\x7f", "\x01", "a\x80");
	/* empty strings; all equal */
	CHECK_SORT_UNIQ("", "", "a", "");
	CHECK_SORT_UNIQ("", "");
	CHECK_SORT_UNIQ("same", "same", "same");
	CHECK_SORT_UNIQ("kernel(x) = 0x1");
	check_sort_uniq(NULL, 0, "none");
	/* all equal and no two equal, in order and against it, at the sizes
	 * around where the way of sorting changes */
	for (size_t n = 1020; n <= sizeof(many) / sizeof(many[0]); n++) {
		char text[32];

		if (n > 1026 && n != sizeof(many) / sizeof(many[0]))
			continue;
		for (size_t i = 0; i < n; i++)
			many[i] = "kernel(module_layout) = 0x9060323f";
		check_sort_uniq(many, n, "all equal");
		for (size_t i = 0; i < n; i++) {
			snprintf(text, sizeof(text), "kernel(s%05zu) = 0x1", i);
			many[i] = strdup(text);
		}
		check_sort_uniq(many, n, "in order");
		for (size_t i = 0; i < n / 2; i++) {
			const char *t = many[i];

			many[i] = many[n - 1 - i];
			many[n - 1 - i] = t;
		}
		check_sort_uniq(many, n, "reversed");
		for (size_t i = 0; i < n; i++)
			free((char *)many[i]);
	}
}
END_TEST

/* Random strings of few distinct bytes (prefixes of each other, duplicates,
 * runs of equal keys), after a shared prefix of 0, 1, 7 or 30 bytes. */
START_TEST(sort_uniq_random)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 8, 16, 17, 33, 100, 1023, 1024, 1025, 3000 };
	static const char *const prefixes[] = { "", "k", "kernel(", "kernel(__x86_indirect_thunk_r_" };
	static const char alphabet[] = "\x01$).a_\x7f\x80\xff";
	const char **strs = calloc(3000, sizeof(*strs));

	srand(29);
	for (unsigned trial = 0; trial < 64; trial++) {
		size_t n = sizes[trial % (sizeof(sizes) / sizeof(sizes[0]))];
		const char *prefix = prefixes[trial % 4];
		size_t letters = 2 + trial % 7, most = 1 + trial % 20;

		for (size_t i = 0; i < n; i++) {
			char text[64];
			size_t len = strlen(prefix), tail = (size_t)rand() % (most + 1);

			memcpy(text, prefix, len);
			for (size_t j = 0; j < tail; j++)
				text[len++] = alphabet[(size_t)rand() % letters];
			text[len] = 0;
			strs[i] = strdup(text);
		}
		check_sort_uniq(strs, n, prefix);
		for (size_t i = 0; i < n; i++)
			free((char *)strs[i]);
	}
	free(strs);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("deps");
	TCase *t = tcase_create("deps");

	tcase_add_test(t, out_of_tree_module);
	tcase_add_test(t, in_tree_module);
	tcase_add_loop_test(t, package_satisfies_itself, 0, 2);
	tcase_add_test(t, package_lookups_follow_the_reference);
	tcase_add_test(t, unreadable_reference_is_an_error);
	tcase_add_test(t, settings_set_again_keep_what_was_read);
	tcase_add_test(t, module_without_modversions);
	tcase_add_test(t, stripped_versions);
	tcase_add_test(t, crcless_module_crc_reference);
	tcase_add_test(t, crc_module_crcless_reference);
	tcase_add_test(t, kernel_side_release);
	tcase_add_test(t, sort_uniq_any_size);
	tcase_add_test(t, sort_uniq_adversarial);
	tcase_add_test(t, sort_uniq_random);
	suite_add_tcase(s, t);
	return unit_run(s);
}
