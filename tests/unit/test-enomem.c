/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Out of memory anywhere: each call is run again and again with its first,
 * second, ... allocation failing (malloc, calloc and realloc replaced here,
 * as glibc allows).  A call then fails with its own message, or succeeds
 * with exactly what it gives with memory to spare: never a stale message,
 * never a shorter dependency list or a false warning.
 */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "kabideps.h"
#include "unit.h"

/* ---- failing allocations ---- */

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

static long fail_at = -1; /* the allocation to fail, counted from 0; -1: none */
static long allocations;
static int failed;

static int fail_now(void)
{
	if (fail_at < 0 || allocations++ != fail_at)
		return 0;
	failed = 1;
	errno = ENOMEM;
	return 1;
}

void *malloc(size_t size)
{
	return fail_now() ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	return fail_now() ? NULL : __libc_realloc(p, size);
}

static void arm(long n)
{
	allocations = 0;
	failed = 0;
	fail_at = n;
}

static void disarm(void)
{
	fail_at = -1;
}

/* ---- the calls ---- */

#define STALE "stale-marker"

/* The kernel has fx_dep (as drivers/fx/fx-dep) and two of the imports. */
static const char reference[] = "0x9060323f\tmodule_layout\tvmlinux\tEXPORT_SYMBOL\t\n"
				"0x92997ed8\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n"
				"0x00000007\tfx_dep_sym\tdrivers/fx/fx-dep\tEXPORT_SYMBOL\t\n";
static const char modinfo[] = "vermagic=" FX_RELEASE " SMP mod_unload modversions \0depends=fx_dep,fx-dep\0"
			      "alias=pci:v00008086d000010D3sv*sd*bc*sc*i*\0alias=pci:v00008086d000010D4sv*sd*"
			      "bc*sc*i*\0firmware=fx/fw.bin\0version=1.0\0";

enum call {
	OPEN_PLAIN,
	OPEN_XZ,
	OPEN_GZ,
	OPEN_ZST,
	OPEN_SYMVERS,
	SET_BUILDROOT,
	SET_OPTIONS,
	REQUIRES,
	PROVIDES,
	PKG_REQUIRES,
	KERNEL_PROVIDES,
	GENERATE,
	REQUIRES_SEARCHED,
	CALLS
};

static const char *const call_names[CALLS] = {
	"open plain",
	"open xz",
	"open gz",
	"open zst",
	"open symvers",
	"set buildroot",
	"set options",
	"requires",
	"provides",
	"package requires",
	"kernel provides",
	"generate",
	"requires, reference searched",
};

struct input {
	unsigned char *img, *packed[3];
	size_t size, packed_size[3];
	char *symvers;
	char root[256]; /* a buildroot with a kernel's reference and a stablelist */
};

static struct input in;

static const char *const root_dirs[] = {
	"",
	"/usr",
	"/usr/src",
	"/usr/src/kernels",
	"/usr/src/kernels/" FX_RELEASE,
	"/lib",
	"/lib/modules",
	"/lib/modules/kabi-current",
};
static const char *const root_files[] = {
	"/usr/src/kernels/" FX_RELEASE "/Module.symvers",
	"/lib/modules/kabi-current/kabi_stablelist_x86_64",
};
static const char stablelist[] = "[fx]\n\tmodule_layout\n";

static void make_input(void)
{
	static const char *const hows[] = { "xz", "gz", "zst" };
	struct fx_options o = { .era = FX_KCRCTAB, .elf_class = ELFCLASS64, .elf_data = ELFDATA2LSB };

	o.modinfo = modinfo;
	o.modinfo_size = sizeof(modinfo) - 1;
	in.img = fx_module(&o, &in.size);
	for (size_t h = 0; h < 3; h++)
		in.packed[h] = fx_compress(hows[h], in.img, in.size, &in.packed_size[h]);
	in.symvers = fx_write("Module.symvers", reference, sizeof(reference) - 1);
	snprintf(in.root, sizeof(in.root), "%s", in.symvers);
	strcpy(strrchr(in.root, '/'), "/root");
	for (size_t i = 0; i < sizeof(root_dirs) / sizeof(*root_dirs); i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s%s", in.root, root_dirs[i]);
		ck_assert_int_eq(mkdir(path, 0755), 0);
	}
	for (size_t i = 0; i < 2; i++) {
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s%s", in.root, root_files[i]);
		ck_assert_ptr_nonnull(f = fopen(path, "w"));
		fputs(i ? stablelist : reference, f);
		ck_assert_int_eq(fclose(f), 0);
	}
}

static void remove_input(void)
{
	char path[512];

	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s%s", in.root, root_files[i]);
		unlink(path);
	}
	for (size_t i = sizeof(root_dirs) / sizeof(*root_dirs); i-- > 0;) {
		snprintf(path, sizeof(path), "%s%s", in.root, root_dirs[i]);
		rmdir(path);
	}
	fx_cleanup();
	free(in.img);
	for (size_t h = 0; h < 3; h++)
		free(in.packed[h]);
	free(in.symvers);
}

/* A context as the call needs it, made with memory to spare. */
static struct kabi_ctx *setup(enum call c, struct unit_log *w, struct kabi_module **mod,
			      struct kabi_pkg **pkg)
{
	struct kabi_ctx *ctx = kabi_ctx_new();

	kabi_ctx_set_log_fn(ctx, unit_log_collect, w);
	*mod = NULL;
	*pkg = NULL;
	if (c >= REQUIRES) {
		ck_assert_int_eq(kabi_module_open_mem(ctx, "/extra/fx.ko", in.img, in.size, mod), 0);
		if (c == REQUIRES_SEARCHED)
			ck_assert_int_eq(kabi_ctx_set_buildroot(ctx, in.root), 0);
		else
			ck_assert_int_eq(kabi_ctx_set_symvers(ctx, in.symvers), 0);
		ck_assert_int_eq(kabi_ctx_set_option(ctx, "kmod", "fedora"), 0);
		ck_assert_int_eq(kabi_ctx_set_option(ctx, "modalias", "provides"), 0);
		ck_assert_int_eq(kabi_ctx_set_option(ctx, "firmware", "requires"), 0);
		ck_assert_int_eq(kabi_ctx_set_option(ctx, "triggers", "kabi-deps-triggers"), 0);
	}
	if (c == PKG_REQUIRES || c == GENERATE) {
		ck_assert_ptr_nonnull(*pkg = kabi_pkg_new(ctx));
		ck_assert_int_eq(kabi_pkg_add(*pkg, *mod), 0);
	}
	ck_assert_int_lt(kabi_ctx_set_option(ctx, STALE, "x"), 0);
	return ctx;
}

static int run(enum call c, struct kabi_ctx *ctx, struct kabi_module *mod, struct kabi_pkg *pkg,
	       struct kabi_strv *out)
{
	struct kabi_module *opened = NULL;
	struct kabi_symvers *sv = NULL;
	int r;

	switch (c) {
	case OPEN_PLAIN:
	case OPEN_XZ:
	case OPEN_GZ:
	case OPEN_ZST:
		r = c == OPEN_PLAIN ? kabi_module_open_mem(ctx, "fx.ko", in.img, in.size, &opened) :
				      kabi_module_open_mem(ctx, "fx.ko", in.packed[c - OPEN_XZ],
							   in.packed_size[c - OPEN_XZ], &opened);
		if (r == 0) {
			size_t n;

			kabi_module_imports(opened, &n);
			r = n == 3 && kabi_module_modinfo_get(opened, "firmware") ? 0 : 1;
		}
		kabi_module_free(opened);
		return r;
	case OPEN_SYMVERS:
		r = kabi_symvers_open_mem(ctx, "Module.symvers", reference, sizeof(reference) - 1, &sv);
		if (r == 0)
			r = kabi_symvers_find(sv, "fx_dep_sym") ? 0 : 1;
		kabi_symvers_free(sv);
		return r;
	case SET_BUILDROOT:
		return kabi_ctx_set_buildroot(ctx, "/buildroot");
	case SET_OPTIONS:
		if ((r = kabi_ctx_set_option(ctx, "flavor", "default")) < 0 ||
		    (r = kabi_ctx_set_option(ctx, "triggers", "kabi-deps-triggers")) < 0 ||
		    (r = kabi_ctx_set_option(ctx, "stablelist", "/nonexistent")) < 0 ||
		    (r = kabi_ctx_set_symvers(ctx, in.symvers)) < 0 ||
		    (r = kabi_ctx_set_symsets(ctx, "/x")) < 0)
			return r;
		return kabi_ctx_set_symvers_cache(ctx, "/nonexistent");
	case REQUIRES:
	case REQUIRES_SEARCHED:
		return kabi_requires(ctx, NULL, mod, out);
	case PROVIDES:
		return kabi_provides(ctx, mod, out);
	case PKG_REQUIRES:
		return kabi_pkg_requires(pkg, "/extra/fx.ko", out);
	case KERNEL_PROVIDES:
		return kabi_kernel_provides(ctx, in.symvers, out);
	case GENERATE:
		/* a kernel's symvers file, then the module the package has */
		if ((r = kabi_generate(ctx, pkg, "provides", in.symvers, out)) < 0)
			return r;
		return kabi_generate(ctx, pkg, "requires", "/extra/fx.ko", out);
	case CALLS:
		break;
	}
	return -1;
}

static char *joined(const struct kabi_strv *sv)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < sv->n; i++)
		len += strlen(sv->v[i]) + 1;
	s = calloc(1, len);
	for (size_t i = 0; i < sv->n; i++)
		strcat(strcat(s, sv->v[i]), "\n");
	return s;
}

START_TEST(every_allocation_fails_once)
{
	enum call c = (enum call)_i;
	struct unit_log want_w = { "" };
	struct kabi_strv want_out = { 0 };
	struct kabi_module *mod;
	struct kabi_pkg *pkg;
	struct kabi_ctx *ctx;
	char *want;
	long n;

	make_input();
	ctx = setup(c, &want_w, &mod, &pkg);
	ck_assert_msg(run(c, ctx, mod, pkg, &want_out) == 0, "%s: %s", call_names[c], kabi_ctx_error(ctx));
	want = joined(&want_out);
	if (c == REQUIRES || c == REQUIRES_SEARCHED)
		ck_assert_msg(!strstr(want_w.text, "depends on"), "fixture: %s", want_w.text);
	if (c == REQUIRES_SEARCHED)
		ck_assert_msg(strstr(want, "kernel(_printk)") && strstr(want_w.text, "stablelist"),
			      "fixture: %s%s", want, want_w.text);
	kabi_strv_free(&want_out);
	kabi_pkg_free(pkg);
	kabi_module_free(mod);
	kabi_ctx_free(ctx);

	for (n = 0;; n++) {
		struct unit_log w = { "" };
		struct kabi_strv out = { 0 };
		int r;

		ctx = setup(c, &w, &mod, &pkg);
		arm(n);
		r = run(c, ctx, mod, pkg, &out);
		disarm();
		if (!failed) {
			ck_assert_int_eq(r, 0);
		} else if (r < 0) {
			ck_assert_msg(!strstr(kabi_ctx_error(ctx), STALE),
				      "%s, allocation %ld failing: the earlier message is left",
				      call_names[c], n);
			ck_assert_msg(*kabi_ctx_error(ctx), "%s, allocation %ld failing: no message",
				      call_names[c], n);
		} else {
			char *got = joined(&out);

			ck_assert_msg(r == 0, "%s, allocation %ld failing: wrong result", call_names[c], n);
			ck_assert_msg(strcmp(got, want) == 0, "%s, allocation %ld failing: gave\n%swant\n%s",
				      call_names[c], n, got, want);
			ck_assert_msg(strcmp(w.text, want_w.text) == 0,
				      "%s, allocation %ld failing: warned\n%sinstead of\n%s", call_names[c],
				      n, w.text, want_w.text);
			free(got);
		}
		kabi_strv_free(&out);
		kabi_pkg_free(pkg);
		kabi_module_free(mod);
		kabi_ctx_free(ctx);
		if (!failed)
			break;
	}
	ck_assert_int_gt(n, 0);
	free(want);
	remove_input();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("enomem");
	TCase *t = tcase_create("calls");

	tcase_set_timeout(t, 120);
	tcase_add_loop_test(t, every_allocation_fails_once, 0, CALLS);
	suite_add_tcase(s, t);
	return unit_run(s);
}
