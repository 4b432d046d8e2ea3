/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Module.symvers of every era, plain and compressed, and bad lines. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "kabideps.h"
#include "unit.h"

/* The same three exports written as each era wrote them. */
static const char *const eras[] = {
	/* 2.6.18 (RHEL 5): crc, symbol, module */
	"0x11223344\tfx_plain\tvmlinux\n0x0000abcd\tfx_ns_sym\tdrivers/fx/fx\n0xdeadbeef\tfx_gpl\tvmlinux\n",
	/* up to 5.3: + export type */
	"0x11223344\tfx_plain\tvmlinux\tEXPORT_SYMBOL\n0x0000abcd\tfx_ns_sym\tdrivers/fx/fx\tEXPORT_SYMBOL\n"
	"0xdeadbeef\tfx_gpl\tvmlinux\tEXPORT_SYMBOL_GPL\n",
	/* 5.4 - 5.6-rc6: namespace before the module */
	"0x11223344\tfx_plain\t\tvmlinux\tEXPORT_SYMBOL\n0x0000abcd\tfx_ns_sym\tFX_NS\tdrivers/fx/fx\tEXPORT_SYMBOL\n"
	"0xdeadbeef\tfx_gpl\t\tvmlinux\tEXPORT_SYMBOL_GPL\n",
	/* 5.6+: namespace last; CRLF and no final newline tolerated */
	"0x11223344\tfx_plain\tvmlinux\tEXPORT_SYMBOL\t\r\n0x0000abcd\tfx_ns_sym\tdrivers/fx/fx\tEXPORT_SYMBOL\tFX_NS\n"
	"0xdeadbeef\tfx_gpl\tvmlinux\tEXPORT_SYMBOL_GPL\t",
};

static void check_entries(const struct kabi_symvers *sv, int era)
{
	const struct kabi_symvers_entry *e;
	size_t n;

	kabi_symvers_entries(sv, &n);
	ck_assert_uint_eq(n, 3);
	e = kabi_symvers_find(sv, "fx_ns_sym");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->crc, 0xabcd);
	ck_assert_str_eq(e->module, "drivers/fx/fx");
	ck_assert_str_eq(e->ns, era >= 2 ? "FX_NS" : "");
	e = kabi_symvers_find(sv, "fx_gpl");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->crc, 0xdeadbeef);
	ck_assert_str_eq(e->module, "vmlinux");
	ck_assert_str_eq(e->type, era >= 1 ? "EXPORT_SYMBOL_GPL" : "");
	ck_assert_ptr_null(kabi_symvers_find(sv, "fx_absent"));
}

START_TEST(every_era)
{
	struct kabi_ctx *ctx = kabi_ctx_new();
	struct kabi_symvers *sv = NULL;

	ck_assert_msg(kabi_symvers_open_mem(ctx, "Module.symvers", eras[_i], strlen(eras[_i]), &sv) == 0,
		      "%s", kabi_ctx_error(ctx));
	check_entries(sv, _i);
	kabi_symvers_free(sv);
	kabi_ctx_free(ctx);
}
END_TEST

START_TEST(compressed_as_distributions_ship_it)
{
	static const char *const hows[] = { "gz", "xz", "zst" };
	struct kabi_ctx *ctx = kabi_ctx_new();
	const char *text = eras[3];

	for (size_t h = 0; h < 3; h++) {
		size_t csize;
		unsigned char *c = fx_compress(hows[h], (const unsigned char *)text, strlen(text), &csize);
		char name[32];
		char *path;
		struct kabi_symvers *sv = NULL;

		snprintf(name, sizeof(name), "symvers-fx.%s", hows[h]);
		path = fx_write(name, c, csize);
		ck_assert_msg(kabi_symvers_open(ctx, path, &sv) == 0, "%s: %s", name, kabi_ctx_error(ctx));
		check_entries(sv, 3);
		kabi_symvers_free(sv);
		free(path);
		free(c);
	}
	fx_cleanup();
	kabi_ctx_free(ctx);
}
END_TEST

/* A kernel's Module.symvers is larger than what a decompressor maps rather than
 * allocates (128 KiB), and a last line without its newline makes the
 * parser write a NUL past the end: into the room every kind of buffer has,
 * or into a copy where there is none (a mapping of the plain file). */
START_TEST(large_without_final_newline)
{
	static const char *const hows[] = { "plain", "gz", "xz", "zst" };
	enum {
		LINES = 6000
	};
	struct kabi_ctx *ctx = kabi_ctx_new();
	size_t len = 0, cap = LINES * 64;
	char *text = malloc(cap);

	ck_assert_ptr_nonnull(text);
	for (size_t i = 0; i < LINES; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"0x%08zx\tfx_sym_%05zu\tvmlinux\tEXPORT_SYMBOL\t\n", i + 1, i);
	len--; /* no newline after the last line */
	ck_assert_uint_gt(len, (size_t)128 << 10);
	for (size_t h = 0; h < 4; h++) {
		size_t size = len, n;
		unsigned char *c = h ? fx_compress(hows[h], (const unsigned char *)text, len, &size) : NULL;
		char name[32], *path;
		struct kabi_symvers *sv = NULL;
		const struct kabi_symvers_entry *e;

		snprintf(name, sizeof(name), "symvers-large.%s", hows[h]);
		path = fx_write(name, c ? (const void *)c : text, size);
		ck_assert_msg(kabi_symvers_open(ctx, path, &sv) == 0, "%s: %s", name, kabi_ctx_error(ctx));
		kabi_symvers_entries(sv, &n);
		ck_assert_uint_eq(n, LINES);
		e = kabi_symvers_find(sv, "fx_sym_05999");
		ck_assert_msg(e && e->crc == LINES && strcmp(e->type, "EXPORT_SYMBOL") == 0, "%s", name);
		kabi_symvers_free(sv);
		free(path);
		free(c);
	}
	fx_cleanup();
	free(text);
	kabi_ctx_free(ctx);
}
END_TEST

/* Members (gzip) and frames (zstd, xz streams) one after another, as
 * cat(1) joins files and gzip(1) and zstd(1) read them: the first one
 * above 128 KiB, so that the buffer made from what its header says is a
 * mapping, which the second one makes grow; every line of both is read. */
START_TEST(concatenated_compressed)
{
	static const char *const hows[] = { "gz", "xz", "zst" };
	enum {
		LINES = 8000,
		FIRST = 5000
	};
	struct kabi_ctx *ctx = kabi_ctx_new();
	size_t len = 0, cut = 0, cap = LINES * 64;
	char *text = malloc(cap);

	ck_assert_ptr_nonnull(text);
	for (size_t i = 0; i < LINES; i++) {
		len += (size_t)snprintf(text + len, cap - len,
					"0x%08zx\tfx_sym_%05zu\tvmlinux\tEXPORT_SYMBOL\t\n", i + 1, i);
		if (i + 1 == FIRST)
			cut = len;
	}
	ck_assert_uint_gt(cut, (size_t)128 << 10);
	for (size_t h = 0; h < 3; h++) {
		size_t n1, n2, n;
		unsigned char *a = fx_compress(hows[h], (const unsigned char *)text, cut, &n1);
		unsigned char *b = fx_compress(hows[h], (const unsigned char *)text + cut, len - cut, &n2);
		unsigned char *both = malloc(n1 + n2);
		char name[32], *path;
		struct kabi_symvers *sv = NULL;
		const struct kabi_symvers_entry *e;

		ck_assert(a && b && both);
		memcpy(both, a, n1);
		memcpy(both + n1, b, n2);
		snprintf(name, sizeof(name), "symvers-joined.%s", hows[h]);
		path = fx_write(name, both, n1 + n2);
		ck_assert_msg(kabi_symvers_open(ctx, path, &sv) == 0, "%s: %s", name, kabi_ctx_error(ctx));
		kabi_symvers_entries(sv, &n);
		ck_assert_msg(n == LINES, "%s: %zu lines", name, n);
		e = kabi_symvers_find(sv, "fx_sym_07999");
		ck_assert_msg(e && e->crc == LINES, "%s", name);
		kabi_symvers_free(sv);
		free(path);
		free(both);
		free(a);
		free(b);
	}
	fx_cleanup();
	free(text);
	kabi_ctx_free(ctx);
}
END_TEST

static const struct {
	const char *text, *message;
} bad[] = {
	{ "0x1\tok\tvmlinux\tEXPORT_SYMBOL\n0x12\n", "line 2" },
	{ "zz\tsym\tvmlinux\tEXPORT_SYMBOL\n", "bad CRC" },
	{ "0x123456789\tsym\tvmlinux\tEXPORT_SYMBOL\n", "bad CRC" },
	{ "0x1\t\tvmlinux\tEXPORT_SYMBOL\n", "empty symbol name" },
	{ "0x1\tsym\t\tEXPORT_SYMBOL\t\n", "empty module name" },
	{ "0x1\tsym\tvmlinux\tEXPORT_SYMBOL\t\textra\n", "more than 5" },
	{ "0x1\tsym\ta\tb\tc\n", "no EXPORT_" },
	{ "0x1\tsym\tvmlinux\n\0x2\tbad\tvmlinux\n", "NUL byte" },
};

START_TEST(bad_lines_are_named)
{
	struct kabi_ctx *ctx = kabi_ctx_new();
	struct kabi_symvers *sv = NULL;
	size_t len = strlen(bad[_i].text);

	if (strstr(bad[_i].message, "NUL"))
		len = 31;
	ck_assert_int_lt(kabi_symvers_open_mem(ctx, "Module.symvers", bad[_i].text, len, &sv), 0);
	ck_assert_ptr_null(sv);
	ck_assert_msg(strstr(kabi_ctx_error(ctx), bad[_i].message), "'%s' for %s", kabi_ctx_error(ctx),
		      bad[_i].message);
	kabi_ctx_free(ctx);
}
END_TEST

START_TEST(name_too_long)
{
	struct kabi_ctx *ctx = kabi_ctx_new();
	struct kabi_symvers *sv = NULL;
	size_t len = 5000 + 32;
	char *text = malloc(len);

	ck_assert_ptr_nonnull(text);
	memcpy(text, "0x1\t", 4);
	memset(text + 4, 'a', 5000);
	strcpy(text + 5004, "\tvmlinux\tEXPORT_SYMBOL\n");
	ck_assert_int_lt(kabi_symvers_open_mem(ctx, "Module.symvers", text, strlen(text), &sv), 0);
	ck_assert_msg(strstr(kabi_ctx_error(ctx), "limit"), "%s", kabi_ctx_error(ctx));
	free(text);
	kabi_ctx_free(ctx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("symvers");
	TCase *t = tcase_create("parse");

	tcase_add_loop_test(t, every_era, 0, 4);
	tcase_add_test(t, compressed_as_distributions_ship_it);
	tcase_add_test(t, large_without_final_newline);
	tcase_add_test(t, concatenated_compressed);
	tcase_add_loop_test(t, bad_lines_are_named, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(t, name_too_long);
	suite_add_tcase(s, t);
	return unit_run(s);
}
