/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The decompressors are loaded when a compressed file is first read
 * (lazylib.c): a compressed module reads as before, through the library and
 * the CLI, and a library that cannot be loaded is an error naming the file
 * and the library (KABI_DEPS_TEST_MISSING_LIBS stands for its absence).
 * Each case runs in a fresh process: a library loads once per process.
 *
 *   test-lazylib KABI-DEPS-CLI
 */
#include <check.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "kabideps.h"
#include "unit.h"

static const char *cli;

static const char *const kinds[] = { "xz", "zst", "gz" };
static const char *const sonames[] = { "liblzma.so.5", "libzstd.so.1", "libz.so.1" };
static const char *const formats[] = { "xz-compressed", "zstd-compressed", "gzip-compressed" };

/* A fixture module compressed one way, written to a file; free() it. */
static char *compressed_module(int kind)
{
	struct fx_options o = { .elf_class = ELFCLASS64, .elf_data = ELFDATA2LSB, .era = FX_KCRCTAB };
	size_t size, csize;
	unsigned char *img = fx_module(&o, &size), *c = fx_compress(kinds[kind], img, size, &csize);
	char name[32];
	char *path;

	ck_assert_ptr_nonnull(c);
	snprintf(name, sizeof(name), "fx.ko.%s", kinds[kind]);
	path = fx_write(name, c, csize);
	free(c);
	free(img);
	return path;
}

/* Run the CLI on path with missing (or NULL) as the missing libraries:
 * its exit status, its output and messages in out. */
static int run_cli(const char *path, const char *missing, char *out, size_t size)
{
	int fds[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		if (missing)
			setenv("KABI_DEPS_TEST_MISSING_LIBS", missing, 1);
		else
			unsetenv("KABI_DEPS_TEST_MISSING_LIBS");
		execl(cli, cli, "provides", path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (len + 1 < size && (n = read(fds[0], out + len, size - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

START_TEST(cli_reads_compressed_modules)
{
	char *path = compressed_module(_i), out[8192];
	int status = run_cli(path, NULL, out, sizeof(out));

	ck_assert_msg(status == 0, "%s: exit %d: %s", kinds[_i], status, out);
	ck_assert_msg(strstr(out, "ksym(fx_plain) = 0x"), "%s: %s", kinds[_i], out);
	free(path);
	fx_cleanup();
}
END_TEST

START_TEST(cli_names_the_file_and_the_missing_library)
{
	char *path = compressed_module(_i), out[8192], want[4096];
	/* the other libraries listed too: only this one is needed */
	int status = run_cli(path, "libnothing.so.0:liblzma.so.5:libzstd.so.1:libz.so.1", out, sizeof(out));

	ck_assert_msg(status == 1, "%s: exit %d: %s", kinds[_i], status, out);
	snprintf(want, sizeof(want), "kabi-deps: %s: %s, and %s cannot be loaded", path, formats[_i],
		 sonames[_i]);
	ck_assert_msg(strstr(out, want), "%s: wanted '%s' in: %s", kinds[_i], want, out);
	ck_assert_msg(!strstr(out, "ksym("), "%s: dependencies all the same: %s", kinds[_i], out);
	/* a plain module needs none of them */
	free(path);
	{
		struct fx_options o = { .elf_class = ELFCLASS64, .elf_data = ELFDATA2LSB, .era = FX_KCRCTAB };
		size_t size;
		unsigned char *img = fx_module(&o, &size);

		path = fx_write("plain.ko", img, size);
		free(img);
	}
	status = run_cli(path, "liblzma.so.5:libzstd.so.1:libz.so.1", out, sizeof(out));
	ck_assert_msg(status == 0 && strstr(out, "ksym(fx_plain) = 0x"), "plain: exit %d: %s", status, out);
	free(path);
	fx_cleanup();
}
END_TEST

/* Through the library, in a child of its own: the error, then the others
 * still read. */
START_TEST(library_fails_only_where_the_library_is_missing)
{
	char *paths[3];
	pid_t pid;
	int status;

	for (int k = 0; k < 3; k++)
		paths[k] = compressed_module(k);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct kabi_ctx *ctx = kabi_ctx_new();
		struct kabi_module *mod = NULL;
		int bad = 0;

		setenv("KABI_DEPS_TEST_MISSING_LIBS", sonames[_i], 1);
		for (int k = 0; k < 3; k++) {
			int r = kabi_module_open(ctx, paths[k], &mod);

			if (k == _i)
				bad |= r == 0 || !strstr(kabi_ctx_error(ctx), sonames[k]) ||
				       !strstr(kabi_ctx_error(ctx), formats[k]);
			else
				bad |= r != 0;
			if (r != 0)
				fprintf(stderr, "%s: %s\n", paths[k], kabi_ctx_error(ctx));
			kabi_module_free(mod);
			mod = NULL;
		}
		kabi_ctx_free(ctx);
		_exit(bad);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s missing: wrong result (above)",
		      sonames[_i]);
	for (int k = 0; k < 3; k++)
		free(paths[k]);
	fx_cleanup();
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("lazylib");
	TCase *t = tcase_create("lazylib");

	if (argc != 2) {
		fputs("usage: test-lazylib KABI-DEPS-CLI\n", stderr);
		return 2;
	}
	cli = argv[1];
	tcase_set_timeout(t, 60);
	tcase_add_loop_test(t, cli_reads_compressed_modules, 0, 3);
	tcase_add_loop_test(t, cli_names_the_file_and_the_missing_library, 0, 3);
	tcase_add_loop_test(t, library_fails_only_where_the_library_is_missing, 0, 3);
	suite_add_tcase(s, t);
	return unit_run(s);
}
