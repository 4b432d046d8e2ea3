/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Modules read ahead on worker threads (read-ahead.c) give what reading
 * them in the caller gives: the same dependencies, the same failure with
 * the same message, and the file as it is when it is asked for.
 */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "kabideps.h"
#include "unit.h"

#define N_MODULES 24
#define PATTERN "^(/usr)?/lib/modules/[^/]+/(extra|kernel)/.+\\.ko(\\.xz|\\.zst|\\.gz)?$"

static const char *const how[] = { "xz", "zst", "gz" };

static char root[64];
static char *paths[N_MODULES + 2];
static size_t n_paths;

static void write_file(const char *path, const void *data, size_t size)
{
	char *tmp;
	FILE *f;

	ck_assert_int_ge(asprintf(&tmp, "%s.new", path), 0);
	f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, size, f), size);
	ck_assert_int_eq(fclose(f), 0);
	/* a new inode, as an install would make */
	ck_assert_int_eq(rename(tmp, path), 0);
	free(tmp);
}

/* Module i: an era, a compression and a modinfo of its own. */
static void write_module(const char *path, size_t i, const char *name)
{
	char modinfo[256];
	int len = snprintf(modinfo, sizeof(modinfo),
			   "name=%s%cvermagic=" FX_RELEASE " SMP modversions %c"
			   "alias=fx:%zu%cdepends=%c",
			   name, 0, 0, i, 0, 0);
	struct fx_options o = { .era = (enum fx_era)(i % FX_ERAS),
				.elf_class = ELFCLASS64,
				.elf_data = ELFDATA2LSB,
				.modinfo = modinfo,
				.modinfo_size = (size_t)len + 1,
				.text_size = 16 + 4096 * (i % 3) };
	size_t size, csize;
	unsigned char *img = fx_module(&o, &size);
	unsigned char *z = fx_compress(how[i % 3], img, size, &csize);

	write_file(path, z, csize);
	free(img);
	free(z);
}

static char *add_path(const char *rel)
{
	char *path;

	ck_assert_int_ge(asprintf(&path, "%s%s", root, rel), 0);
	paths[n_paths++] = path;
	return path;
}

/* A buildroot with two packages' modules interleaved, one damaged. */
static void make_tree(void)
{
	char dir[128];

	strcpy(root, "/tmp/kabi-read-ahead-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	n_paths = 0;
	snprintf(dir, sizeof(dir), "%s/lib", root);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/lib/modules", root);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/lib/modules/" FX_RELEASE, root);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/lib/modules/" FX_RELEASE "/extra", root);
	mkdir(dir, 0755);
	for (size_t i = 0; i < N_MODULES; i++) {
		char rel[128], name[32];

		snprintf(name, sizeof(name), "fx%02zu", i);
		snprintf(rel, sizeof(rel), "/lib/modules/" FX_RELEASE "/extra/%s.ko.%s", name, how[i % 3]);
		write_module(add_path(rel), i, name);
	}
	/* xz that decompresses to something that is no ELF file */
	{
		size_t csize;
		unsigned char *z = fx_compress("xz", (const unsigned char *)"not a module", 12, &csize);

		write_file(add_path("/lib/modules/" FX_RELEASE "/extra/damaged.ko.xz"), z, csize);
		free(z);
	}
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tree(void)
{
	nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; i < n_paths; i++)
		free(paths[i]);
	n_paths = 0;
}

/* All kinds of one file, as text; a failure as "error: MESSAGE". */
static char *generated(struct kabi_ctx *ctx, struct kabi_pkg *pkg, const char *kind, const char *path)
{
	struct kabi_strv sv = { 0 };
	size_t len = 16;
	char *s;

	if (kabi_generate(ctx, pkg, kind, path, &sv) < 0) {
		kabi_strv_free(&sv);
		ck_assert_int_ge(asprintf(&s, "error: %s", kabi_ctx_error(ctx)), 0);
		return s;
	}
	kabi_strv_sort_uniq(&sv);
	for (size_t i = 0; i < sv.n; i++)
		len += strlen(sv.v[i]) + 1;
	s = calloc(1, len);
	for (size_t i = 0; i < sv.n; i++)
		strcat(strcat(s, sv.v[i]), "\n");
	kabi_strv_free(&sv);
	return s;
}

static void quiet(void *data, int level, const char *msg)
{
	(void)data;
	(void)level;
	(void)msg;
}

static struct kabi_ctx *new_ctx(void)
{
	struct kabi_ctx *ctx = kabi_ctx_new();

	ck_assert_int_eq(kabi_ctx_set_buildroot(ctx, root), 0);
	ck_assert_int_eq(kabi_ctx_set_option(ctx, "kmod", "fedora"), 0);
	ck_assert_int_eq(kabi_ctx_set_option(ctx, "modalias", "provides"), 0);
	kabi_ctx_set_log_fn(ctx, quiet, NULL); /* the same for both ways */
	return ctx;
}

/* As rpm asks: every file's provides, then requires, of the files given
 * by first, step (one package of the interleaved two). */
static void all_kinds(struct kabi_ctx *ctx, size_t first, size_t step, char **out)
{
	struct kabi_pkg *pkg = kabi_pkg_new(ctx);

	for (size_t i = first; i < n_paths; i += step)
		out[i] = generated(ctx, pkg, "provides", paths[i]);
	for (size_t i = first; i < n_paths; i += step)
		out[n_paths + i] = generated(ctx, pkg, "requires", paths[i]);
	kabi_pkg_free(pkg);
}

/* threads: KABI_DEPS_THREADS; tree: list the buildroot, else the paths */
static void compare(const char *threads, bool tree)
{
	char *plain[2 * (N_MODULES + 1)], *ahead[2 * (N_MODULES + 1)];
	struct kabi_ctx *a, *b;

	make_tree();
	a = new_ctx();
	b = new_ctx();
	setenv("KABI_DEPS_THREADS", threads, 1);
	if (tree)
		ck_assert_int_eq(kabi_ctx_read_ahead_tree(b, PATTERN), 0);
	else
		ck_assert_int_eq(kabi_ctx_read_ahead(b, (const char *const *)paths, n_paths), 0);
	/* two packages: the even files, then the odd ones */
	all_kinds(a, 0, 2, plain);
	all_kinds(a, 1, 2, plain);
	all_kinds(b, 0, 2, ahead);
	all_kinds(b, 1, 2, ahead);
	for (size_t i = 0; i < 2 * n_paths; i++) {
		ck_assert_msg(strcmp(plain[i], ahead[i]) == 0, "%s %s:\nread: %s\nread ahead: %s",
			      i < n_paths ? "provides" : "requires", paths[i % n_paths], plain[i], ahead[i]);
		free(plain[i]);
		free(ahead[i]);
	}
	kabi_ctx_free(a);
	kabi_ctx_free(b);
	remove_tree();
}

START_TEST(same_dependencies)
{
	static const char *const threads[] = { "2", "1", "0", "8" };

	compare(threads[_i % 4], _i >= 4);
}
END_TEST

/* The damaged module fails its own generation with its own message. */
START_TEST(failure_is_the_files_own)
{
	struct kabi_ctx *ctx;
	struct kabi_module *mod = NULL;
	const char *damaged;

	make_tree();
	damaged = paths[n_paths - 1];
	ctx = new_ctx();
	setenv("KABI_DEPS_THREADS", "2", 1);
	ck_assert_int_eq(kabi_ctx_read_ahead_tree(ctx, PATTERN), 0);
	for (size_t i = 0; i + 1 < n_paths; i++) {
		ck_assert_msg(kabi_module_open(ctx, paths[i], &mod) == 0, "%s", kabi_ctx_error(ctx));
		kabi_module_free(mod);
	}
	ck_assert_int_lt(kabi_module_open(ctx, damaged, &mod), 0);
	ck_assert_ptr_null(mod);
	ck_assert_str_eq(kabi_ctx_error(ctx), "not an ELF file");
	/* asked again: read again, the same answer */
	ck_assert_int_lt(kabi_module_open(ctx, damaged, &mod), 0);
	ck_assert_str_eq(kabi_ctx_error(ctx), "not an ELF file");
	kabi_ctx_free(ctx);
	remove_tree();
}
END_TEST

/* A file replaced after it was read ahead is read again. */
START_TEST(changed_file_is_read_again)
{
	struct kabi_ctx *ctx;
	struct kabi_module *mod = NULL;
	const char *first;

	make_tree();
	first = paths[0];
	ctx = new_ctx();
	/* one worker takes the files in order: when the second is done, so is the first */
	setenv("KABI_DEPS_THREADS", "1", 1);
	ck_assert_int_eq(kabi_ctx_read_ahead(ctx, (const char *const *)paths, n_paths), 0);
	ck_assert_int_eq(kabi_module_open(ctx, paths[1], &mod), 0);
	kabi_module_free(mod);
	write_module(first, 7, "replaced");
	ck_assert_int_eq(kabi_module_open(ctx, first, &mod), 0);
	ck_assert_str_eq(kabi_module_modinfo_get(mod, "name"), "replaced");
	kabi_module_free(mod);
	kabi_ctx_free(ctx);
	remove_tree();
}
END_TEST

/* Freed with what nobody took, and with workers still reading. */
START_TEST(freed_early)
{
	struct kabi_ctx *ctx;

	make_tree();
	ctx = new_ctx();
	setenv("KABI_DEPS_THREADS", "2", 1);
	ck_assert_int_eq(kabi_ctx_read_ahead_tree(ctx, PATTERN), 0);
	/* the same tree again: nothing; other paths: replace it */
	ck_assert_int_eq(kabi_ctx_read_ahead_tree(ctx, PATTERN), 0);
	ck_assert_int_eq(kabi_ctx_read_ahead(ctx, (const char *const *)paths + 3, 5), 0);
	ck_assert_int_eq(kabi_ctx_read_ahead_tree(ctx, "("), -EINVAL);
	kabi_ctx_free(ctx);
	remove_tree();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("read-ahead");
	TCase *t = tcase_create("read-ahead");

	tcase_set_timeout(t, 60);
	tcase_add_loop_test(t, same_dependencies, 0, 8);
	tcase_add_test(t, failure_is_the_files_own);
	tcase_add_test(t, changed_file_is_read_again);
	tcase_add_test(t, freed_early);
	suite_add_tcase(s, t);
	return unit_run(s);
}
