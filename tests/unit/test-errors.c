/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The error contract (kabideps.h): a call that fails leaves its own message
 * in kabi_ctx_error(), never the one of an earlier call.  Every damaged
 * input is read after a failing call left a known message; the message must
 * have changed and must name what is wrong.
 */
#include <check.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "kabideps.h"
#include "unit.h"

#define STALE "stale-marker"

static void quiet(void *data, int level, const char *msg)
{
	(void)data, (void)level, (void)msg;
}

static struct kabi_ctx *new_ctx(void)
{
	struct kabi_ctx *ctx = kabi_ctx_new();

	ck_assert_ptr_nonnull(ctx);
	kabi_ctx_set_log_fn(ctx, quiet, NULL);
	return ctx;
}

/* The message an earlier failure left: what a later one must replace. */
static void leave_stale(struct kabi_ctx *ctx)
{
	ck_assert_int_lt(kabi_ctx_set_option(ctx, STALE, "x"), 0);
	ck_assert_ptr_nonnull(strstr(kabi_ctx_error(ctx), STALE));
}

static void expect_own_message(struct kabi_ctx *ctx, int r, const char *what, const char *names)
{
	const char *msg = kabi_ctx_error(ctx);

	ck_assert_msg(r < 0, "%s: accepted", what);
	ck_assert_msg(!strstr(msg, STALE), "%s: the earlier call's message is left: %s", what, msg);
	ck_assert_msg(*msg, "%s: no message", what);
	ck_assert_msg(strstr(msg, names), "%s: message '%s' does not name '%s'", what, msg, names);
}

static void module_fails(const unsigned char *img, size_t size, const char *what, const char *names)
{
	struct kabi_ctx *ctx = new_ctx();
	struct kabi_module *mod = NULL;
	int r;

	leave_stale(ctx);
	r = kabi_module_open_mem(ctx, "bad.ko", img, size, &mod);
	ck_assert_ptr_null(mod);
	expect_own_message(ctx, r, what, names);
	kabi_ctx_free(ctx);
}

static const struct fx_options base = { .era = FX_KCRCTAB, .elf_class = ELFCLASS64, .elf_data = ELFDATA2LSB };

static uint64_t get_le(const unsigned char *p, size_t width)
{
	uint64_t v = 0;

	for (size_t i = 0; i < width; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put_le(unsigned char *p, uint64_t v, size_t width)
{
	for (size_t i = 0; i < width; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* The section header (ELF64, little endian) of the named section. */
static unsigned char *shdr(unsigned char *img, size_t size, const char *name)
{
	size_t off, len, shoff = get_le(img + 40, 8), shnum = get_le(img + 60, 2);

	ck_assert_int_eq(fx_find_section(img, size, name, &off, &len), 0);
	for (size_t i = 1; i < shnum; i++) {
		unsigned char *h = img + shoff + i * 64;

		if (get_le(h + 24, 8) == off && get_le(h + 32, 8) == len)
			return h;
	}
	ck_abort_msg("no header for %s", name);
	return NULL;
}

START_TEST(truncated_modules)
{
	size_t size;
	unsigned char *img = fx_module(&base, &size);

	for (size_t cut = 0; cut < size; cut += 1 + cut / 16) {
		unsigned char *copy = malloc(cut ? cut : 1);

		memcpy(copy, img, cut);
		module_fails(copy, cut, "truncated", "");
		free(copy);
	}
	free(img);
}
END_TEST

START_TEST(damaged_modules)
{
	size_t size, off, len;
	unsigned char *img = fx_module(&base, &size), *copy = malloc(size);
	struct fx_options o = base;

#define DAMAGE(what, names, edit)                      \
	do {                                           \
		memcpy(copy, img, size);               \
		edit;                                  \
		module_fails(copy, size, what, names); \
	} while (0)

	DAMAGE("bad magic", "ELF", copy[3] = 'G');
	module_fails(img, 0, "empty file", "empty");
	DAMAGE("section headers past the end", "section", put_le(copy + 40, 0xffffff, 3));
	DAMAGE("section name table not a string table", "section name", put_le(copy + 62, 1, 2));
	DAMAGE("section name past its table", "bad name", put_le(copy + get_le(img + 40, 8) + 64, ~0u, 4));
	DAMAGE("section offset past the end", "", put_le(shdr(copy, size, "__versions") + 24, size * 2, 8));
	DAMAGE("unterminated __versions name", "__versions",
	       (fx_find_section(copy, size, "__versions", &off, &len), memset(copy + off + 8, 'A', 56)));
	DAMAGE("__versions size not a multiple of 64", "__versions",
	       put_le(shdr(copy, size, "__versions") + 32, 64 * 3 - 1, 8));
	DAMAGE("__kcrctab of the wrong size", "", put_le(shdr(copy, size, "__kcrctab") + 32, 7, 8));
	DAMAGE("unterminated .modinfo", ".modinfo",
	       (fx_find_section(copy, size, ".modinfo", &off, &len), copy[off + len - 1] = 'x'));
	DAMAGE(".modinfo of type SHT_NOBITS", ".modinfo",
	       put_le(shdr(copy, size, ".modinfo") + 4, SHT_NOBITS, 4));
	DAMAGE("no .modinfo and no this_module", "not a kernel module",
	       (((unsigned char *)memmem(copy, size, ".modinfo", 9))[1] = 'X',
		((unsigned char *)memmem(copy, size, ".gnu.linkonce", 13))[1] = 'X'));
	DAMAGE("not ET_REL", "ET_REL", put_le(copy + 16, ET_DYN, 2));
#undef DAMAGE
	free(copy);
	free(img);

	/* an empty .modinfo */
	o.modinfo = "";
	o.modinfo_size = 0;
	img = fx_module(&o, &size);
	module_fails(img, size, "empty .modinfo", ".modinfo");
	free(img);
}
END_TEST

START_TEST(hostile_sizes)
{
	struct kabi_ctx *ctx = new_ctx();
	struct kabi_module *mod = NULL;
	size_t size, csize;
	unsigned char *img = fx_module(&base, &size), *c = fx_compress("xz", img, size, &csize);
	char *path = fx_write("big.ko", img, size);

	/* plain from memory, plain from a file, compressed: all over the cap */
	kabi_ctx_set_max_size(ctx, size / 2);
	leave_stale(ctx);
	expect_own_message(ctx, kabi_module_open_mem(ctx, "big.ko", img, size, &mod), "plain over the limit",
			   "limit");
	leave_stale(ctx);
	expect_own_message(ctx, kabi_module_open(ctx, path, &mod), "file over the limit", "limit");
	leave_stale(ctx);
	expect_own_message(ctx, kabi_module_open_mem(ctx, "big.ko.xz", c, csize, &mod), "xz over the limit",
			   "limit");
	kabi_ctx_set_max_size(ctx, 0);
	free(path);
	free(c);
	free(img);

	/* 64 MiB of zeros in a few KiB of xz */
	{
		size_t zsize = 64u << 20;
		unsigned char *zeros = calloc(1, zsize);

		memcpy(zeros, ELFMAG, SELFMAG);
		c = fx_compress("xz", zeros, zsize, &csize);
		free(zeros);
		kabi_ctx_set_max_size(ctx, 1u << 20);
		leave_stale(ctx);
		expect_own_message(ctx, kabi_module_open_mem(ctx, "bomb.ko.xz", c, csize, &mod), "bomb",
				   "limit");
		free(c);
	}
	ck_assert_ptr_null(mod);
	fx_cleanup();
	kabi_ctx_free(ctx);
}
END_TEST

START_TEST(bad_compressed_modules)
{
	static const char *const hows[] = { "xz", "zst", "gz" };
	static const char *const names[] = { "xz", "zstd", "gzip" };
	size_t size, csize;
	unsigned char *img = fx_module(&base, &size);

	for (size_t h = 0; h < 3; h++) {
		unsigned char *c = fx_compress(hows[h], img, size, &csize);

		c[csize / 2] ^= 0x55;
		c[csize / 2 + 1] ^= 0xaa;
		/* (each frame has a checksum: corruption is found whatever it hits) */
		module_fails(c, csize, "corrupt compressed data", names[h]);
		c[csize / 2] ^= 0x55;
		c[csize / 2 + 1] ^= 0xaa;
		module_fails(c, csize - 8, "truncated compressed data", names[h]);
		free(c);
	}
	free(img);
}
END_TEST

START_TEST(files_that_are_not_there)
{
	struct kabi_ctx *ctx = new_ctx();
	struct kabi_module *mod = NULL;
	struct kabi_symvers *sv = NULL;
	struct kabi_symsets *ss = NULL;
	char *dir = fx_write("x", "", 0);

	*strrchr(dir, '/') = '\0';
	leave_stale(ctx);
	expect_own_message(ctx, kabi_module_open(ctx, "/nonexistent/fx.ko", &mod), "missing module",
			   "cannot open");
	leave_stale(ctx);
	expect_own_message(ctx, kabi_module_open(ctx, dir, &mod), "a directory", "not a regular file");
	leave_stale(ctx);
	expect_own_message(ctx, kabi_symvers_open(ctx, "/nonexistent/Module.symvers", &sv), "missing symvers",
			   "cannot open");
	leave_stale(ctx);
	expect_own_message(ctx, kabi_symsets_open(ctx, "/nonexistent/symsets-x.tar.gz", &ss),
			   "missing symsets", "");
	free(dir);
	fx_cleanup();
	kabi_ctx_free(ctx);
}
END_TEST

START_TEST(bad_symvers_lines)
{
	static const struct {
		const char *text, *names;
	} bad[] = {
		{ "0x1\tfx\n", "line 1" },
		{ "0x00000001\tfx\tvmlinux\n0xZZ\tfx2\tvmlinux\n", "line 2: bad CRC" },
		{ "0x1\t\tvmlinux\n", "empty symbol name" },
		{ "0x1\tfx\t\tEXPORT_SYMBOL\n", "empty module name" },
		{ "0x1\tfx\ta\tb\tc\td\n", "more than 5" },
		{ "0x1\tfx\ta\tb\tc\n", "EXPORT_" },
		{ "0x1\tf\0x\tvmlinux\n", "NUL" },
		{ "0x123456789\tfx\tvmlinux\n", "bad CRC" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kabi_ctx *ctx = new_ctx();
		struct kabi_symvers *sv = NULL;
		size_t len = strlen(bad[i].text);

		if (i == 6)
			len = 17; /* (the one with a NUL inside) */
		leave_stale(ctx);
		expect_own_message(ctx, kabi_symvers_open_mem(ctx, "Module.symvers", bad[i].text, len, &sv),
				   bad[i].text, bad[i].names);
		ck_assert_ptr_null(sv);
		kabi_ctx_free(ctx);
	}
}
END_TEST

START_TEST(bad_symsets)
{
	static const unsigned char not_tar[600] = "this is not a tar archive";
	struct kabi_ctx *ctx = new_ctx();
	struct kabi_symsets *ss = NULL;
	char *path = fx_write("symsets-x.tar.gz", not_tar, sizeof(not_tar));

	leave_stale(ctx);
	expect_own_message(ctx, kabi_symsets_open(ctx, path, &ss), "not a tarball", "tar");
	free(path);
	fx_cleanup();
	kabi_ctx_free(ctx);
}
END_TEST

START_TEST(bad_options_and_calls)
{
	struct kabi_ctx *ctx = new_ctx();
	struct kabi_pkg *pkg = kabi_pkg_new(ctx);
	struct kabi_strv out = { 0 };
	struct kabi_module *mod = NULL;
	struct fx_options o = base;
	uint64_t this_size;
	size_t size;
	unsigned char *img;

	leave_stale(ctx);
	expect_own_message(ctx, kabi_ctx_set_option(ctx, "bogus", "x"), "unknown option", "bogus");
	leave_stale(ctx);
	expect_own_message(ctx, kabi_ctx_set_option(ctx, "kmod", "debian"), "bad kmod", "debian");
	leave_stale(ctx);
	expect_own_message(ctx, kabi_ctx_set_option(ctx, "flavor", "a b"), "bad flavor", "flavor");
	leave_stale(ctx);
	expect_own_message(ctx, kabi_ctx_set_option(ctx, "triggers", "a(b)"), "bad triggers", "triggers");
	leave_stale(ctx);
	expect_own_message(ctx, kabi_generate(ctx, pkg, "obsoletes", "fx.ko", &out), "unknown kind",
			   "obsoletes");
	leave_stale(ctx);
	expect_own_message(ctx, kabi_pkg_requires(pkg, "/never/added.ko", &out), "not in the package",
			   "not added");
	leave_stale(ctx);
	expect_own_message(ctx, kabi_kernel_provides(ctx, "0.0.0-no-such-release", &out), "no such release",
			   "0.0.0-no-such-release");

	/* a named reference that cannot be read: no Requires at all */
	img = fx_module(&base, &size);
	ck_assert_int_eq(kabi_module_open_mem(ctx, "fx.ko", img, size, &mod), 0);
	free(img);
	ck_assert_int_eq(kabi_ctx_set_symvers(ctx, "/nonexistent/Module.symvers"), 0);
	leave_stale(ctx);
	expect_own_message(ctx, kabi_requires(ctx, NULL, mod, &out), "unreadable reference",
			   "/nonexistent/Module.symvers");
	ck_assert_int_eq(kabi_ctx_set_symvers(ctx, NULL), 0);
	kabi_module_free(mod);

	/* no modversions and no vermagic: nothing says which kernel it fits */
	o.no_versions = 1;
	o.modinfo = "name=fx\0";
	o.modinfo_size = 8;
	img = fx_module(&o, &size);
	ck_assert_int_eq(kabi_module_open_mem(ctx, "fx.ko", img, size, &mod), 0);
	free(img);
	leave_stale(ctx);
	expect_own_message(ctx, kabi_requires(ctx, NULL, mod, &out), "no vermagic", "vermagic");
	kabi_module_free(mod);

	/* no .gnu.linkonce.this_module */
	img = fx_module(&base, &size);
	((unsigned char *)memmem(img, size, ".gnu.linkonce", 13))[1] = 'X';
	ck_assert_int_eq(kabi_module_open_mem(ctx, "fx.ko", img, size, &mod), 0);
	free(img);
	leave_stale(ctx);
	expect_own_message(ctx, kabi_module_this_module_size(mod, &this_size), "no this_module",
			   "this_module");
	kabi_module_free(mod);

	ck_assert_uint_eq(out.n, 0);
	kabi_strv_free(&out);
	kabi_pkg_free(pkg);
	kabi_ctx_free(ctx);
}
END_TEST

static Suite *errors_suite(void)
{
	Suite *s = suite_create("errors");
	TCase *t = tcase_create("own message");

	tcase_set_timeout(t, 60);
	tcase_add_test(t, truncated_modules);
	tcase_add_test(t, damaged_modules);
	tcase_add_test(t, hostile_sizes);
	tcase_add_test(t, bad_compressed_modules);
	tcase_add_test(t, files_that_are_not_there);
	tcase_add_test(t, bad_symvers_lines);
	tcase_add_test(t, bad_symsets);
	tcase_add_test(t, bad_options_and_calls);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return unit_run(errors_suite());
}
