/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel side: what a kernel package provides from its reference files
 * (Module.symvers/symvers.gz, symsets-R.tar.gz, a headers tree, or an
 * installed release), and which of a package's files are such files, by
 * the names distributions give them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "libkabideps-private.h"

/* What kind of file kabi-deps is handed, by its name as distributions name them. */
enum file_kind {
	FILE_MODULE,
	FILE_SYMSETS,
	FILE_SYMVERS
};

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static enum file_kind file_kind(const char *path)
{
	const char *base = base_name(path);

	if (base[0] != 's' && base[0] != 'M')
		return FILE_MODULE; /* (asked of every module: the names below start so) */
	if (strncmp(base, "symsets-", 8) == 0 && (has_suffix(base, ".tar.gz") || has_suffix(base, ".tgz")))
		return FILE_SYMSETS;
	if (strcmp(base, "Module.symvers") == 0 || strcmp(base, "symvers") == 0 ||
	    ((strncmp(base, "symvers.", 8) == 0 || strncmp(base, "symvers-", 8) == 0) &&
	     (has_suffix(base, ".gz") || has_suffix(base, ".xz") || has_suffix(base, ".zst"))))
		return FILE_SYMVERS;
	return FILE_MODULE;
}

KABI_EXPORT int kabi_path_is_module(const char *path)
{
	return file_kind(path) == FILE_MODULE;
}

/* The release a kernel reference file is for: symsets-R.tar.gz,
 * symvers-R.gz, or .../lib/modules/R/symvers.gz (for the flavor). */
static char *release_of_file(const char *path)
{
	const char *base = base_name(path), *end;

	if (strncmp(base, "symsets-", 8) == 0 || strncmp(base, "symvers-", 8) == 0) {
		end = has_suffix(base, ".tar.gz") ? base + strlen(base) - 7 : strrchr(base, '.');
		return end && end > base + 8 ? strndup(base + 8, (size_t)(end - base - 8)) : NULL;
	}
	if (base > path + 1) {
		const char *dir_end = base - 1, *dir = dir_end;

		while (dir > path && dir[-1] != '/')
			dir--;
		return dir_end > dir ? strndup(dir, (size_t)(dir_end - dir)) : NULL;
	}
	return NULL;
}

/* The release a kernel package's reference file belongs to, as its
 * kernel-uname-r: symsets-R.tar.gz, symvers-R.gz, (/usr)/lib/modules/R/symvers.gz
 * or a headers tree's include/config/kernel.release; NULL when the name
 * does not say (a bare Module.symvers). */
static char *reference_release(const char *path)
{
	const char *base = base_name(path);

	if (strncmp(base, "symsets-", 8) == 0 || strncmp(base, "symvers-", 8) == 0)
		return release_of_file(path);
	if (strncmp(base, "symvers", 7) == 0 && base - path > 1) {
		const char *dir = base - 1;

		while (dir > path && dir[-1] != '/')
			dir--;
		if (dir - path >= 9 && strncmp(dir - 9, "/modules/", 9) == 0)
			return release_of_file(path);
	}
	return NULL;
}

static char *headers_release(const char *dir)
{
	char path[4096], line[256] = "";
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/include/config/kernel.release", dir) >= sizeof(path) ||
	    !(f = fopen(path, "re")))
		return NULL;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	return line[0] && !strchr(line, ' ') ? strdup(line) : NULL;
}

static int release_provides(struct kabi_ctx *ctx, const char *release, struct kabi_strv *out)
{
	if (release && kabi_push_uname_r(out, release, kabi_flavor(ctx, release)) < 0)
		return kabi_fail(ctx, ENOMEM, "out of memory");
	return 0;
}

/* kernel(SYM) = 0xCRC for every export a table lists (or of vmlinux only);
 * none from a kernel without modversions, whose CRCs are all 0. */
static int table_provides(struct kabi_ctx *ctx, const struct kabi_symvers *table, bool vmlinux_only,
			  const char *flavor, struct kabi_strv *out)
{
	size_t n;
	const struct kabi_symvers_entry *e = kabi_symvers_entries(table, &n);

	if (!kabi_symvers_has_crcs(table))
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct kabi_sym sym = { .crc = e[i].crc, .flags = KABI_SYM_CRC };

		if (vmlinux_only && strcmp(e[i].module, "vmlinux") != 0)
			continue;
		if (kabi_push_sym(out, "kernel", flavor, e[i].name, &sym) < 0)
			return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	return 0;
}

/* The kernel itself provides what vmlinux exports (as Fedora's kabi.attr);
 * its modules provide the rest. */
static int symvers_provides(struct kabi_ctx *ctx, const char *path, const char *flavor, struct kabi_strv *out)
{
	struct kabi_symvers *sv;
	int r = kabi_symvers_open(ctx, path, &sv);

	if (r < 0)
		return r;
	r = table_provides(ctx, sv, true, flavor, out);
	kabi_symvers_free(sv);
	return r;
}

/* What a kernel package's reference file provides: the kernel's own
 * exports (symvers) or its sets (symsets), and its kernel-uname-r. */
int kabi_reference_file_provides(struct kabi_ctx *ctx, const char *path, struct kabi_strv *out)
{
	char *release = release_of_file(path), *uname_r = reference_release(path);
	const char *flavor = kabi_flavor(ctx, release);
	struct kabi_symsets *ss;
	int r;

	if (file_kind(path) == FILE_SYMVERS) {
		r = symvers_provides(ctx, path, flavor, out);
	} else if ((r = kabi_symsets_open(ctx, path, &ss)) == 0) {
		r = kabi_symsets_provides(ss, flavor, out) < 0 ? kabi_fail(ctx, ENOMEM, "out of memory") : 0;
		kabi_symsets_free(ss);
	}
	if (r == 0)
		r = release_provides(ctx, uname_r, out);
	free(uname_r);
	free(release);
	return r;
}

/* A symvers file's exports, or a symsets tarball's sets and their members. */
static int reference_provides(struct kabi_ctx *ctx, const struct kabi_symvers *sv,
			      const struct kabi_symsets *ss, const char *flavor, struct kabi_strv *out)
{
	size_t n_sets = 0;

	if (ss) {
		kabi_symsets_sets(ss, &n_sets);
		if (kabi_symsets_provides(ss, flavor, out) < 0)
			return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n_sets; i++)
		if (table_provides(ctx, kabi_symsets_content(ss, i), false, flavor, out) < 0)
			return -ENOMEM;
	return sv ? table_provides(ctx, sv, false, flavor, out) : 0;
}

KABI_EXPORT int kabi_kernel_provides(struct kabi_ctx *ctx, const char *ref, struct kabi_strv *out)
{
	struct stat st;
	struct kabi_symvers *sv = NULL;
	struct kabi_symsets *ss = NULL;
	char *release = NULL, *uname_r = NULL;
	int r;

	if (stat(ref, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* a kernel's headers or devel tree */
		char path[4096];

		snprintf(path, sizeof(path), "%s/Module.symvers", ref);
		r = kabi_symvers_open(ctx, path, &sv);
		if (r < 0)
			return r;
		uname_r = headers_release(ref);
		r = reference_provides(ctx, sv, NULL, kabi_flavor(ctx, uname_r), out);
		if (r == 0)
			r = release_provides(ctx, uname_r, out);
		kabi_symvers_free(sv);
		free(uname_r);
		return r;
	}
	if (stat(ref, &st) != 0 && !strchr(ref, '/')) {
		/* a kernel release, installed on this host (or under the buildroot) */
		const struct kabi_symvers *found = kabi_ctx_reference(ctx, ref);
		const struct kabi_symsets *sets = kabi_ctx_symsets(ctx, ref);

		if (kabi_refs_out_of_memory(ctx))
			return kabi_fail(ctx, ENOMEM, "out of memory while reading the kernel reference");
		if (!found && !sets)
			return kabi_fail(ctx, ENOENT,
					 "no such file, and no kernel reference data for release %s", ref);
		r = sets ? reference_provides(ctx, NULL, sets, kabi_flavor(ctx, ref), out) : 0;
		if (r == 0 && found)
			r = reference_provides(ctx, found, NULL, kabi_flavor(ctx, ref), out);
		return r == 0 ? release_provides(ctx, ref, out) : r;
	}
	release = release_of_file(ref);
	if (file_kind(ref) == FILE_SYMSETS) {
		if ((r = kabi_symsets_open(ctx, ref, &ss)) == 0)
			r = reference_provides(ctx, NULL, ss, kabi_flavor(ctx, release), out);
	} else if ((r = kabi_symvers_open(ctx, ref, &sv)) == 0) {
		r = reference_provides(ctx, sv, NULL, kabi_flavor(ctx, release), out);
	}
	if (r == 0 && (uname_r = reference_release(ref)))
		r = release_provides(ctx, uname_r, out);
	kabi_symsets_free(ss);
	kabi_symvers_free(sv);
	free(uname_r);
	free(release);
	return r;
}
