/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading symsets tarballs: symsets-<release>/<set>.<hash> members, each a
 * Module.symvers-style list of the set's exports.  The hash in the member's
 * name is the set's version (kernel(SET) = HASH), so no hashing is needed
 * here, and both historic styles (SUSE md5/16, RHEL 5 sha1) read alike.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libkabideps-private.h"

/* A set file is a few hundred lines; a whole kernel is ~30k exports. */
#define MAX_MEMBER_SIZE ((size_t)64 << 20)
#define MAX_SETS 100000

struct member {
	const char *sym;
	uint32_t crc;
	size_t set;
	struct member *next; /* the same symbol in another set */
};

struct raw {
	unsigned char *data;
	size_t size;
};

struct kabi_symsets {
	char *path;
	struct kabi_symset *sets;
	struct kabi_symvers **contents; /* per set */
	struct raw *raw; /* per set: the member's bytes */
	size_t n;
	struct member *members;
	struct kabi_hash by_sym; /* symbol -> first struct member */
};

/* libarchive is loaded when a tarball is first read, not with the library:
 * it pulls in libxml2, ICU and libstdc++, whose loading is most of the
 * start-up of a process that reads one module (rpm < 4.16 runs one per
 * module and dependency kind), and most packages have no symsets. */
static struct {
	__typeof__(archive_read_new) *read_new;
	__typeof__(archive_read_support_format_tar) *support_format_tar;
	__typeof__(archive_read_support_format_gnutar) *support_format_gnutar;
	__typeof__(archive_read_open_memory) *open_memory;
	__typeof__(archive_read_next_header) *next_header;
	__typeof__(archive_read_data) *read_data;
	__typeof__(archive_error_string) *error_string;
	__typeof__(archive_read_free) *read_free;
	__typeof__(archive_entry_pathname) *entry_pathname;
	__typeof__(archive_entry_size) *entry_size;
	__typeof__(archive_entry_filetype) *entry_filetype;
	const char *failed; /* why it could not be loaded */
} la;
static pthread_once_t la_once = PTHREAD_ONCE_INIT;

static void load_libarchive(void)
{
	/* libarchive's soname has been 13 since 3.0 (2011); the unversioned
	 * name is the development symlink, should that ever change. */
	void *h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
	void **fn[] = {
		(void **)&la.read_new,
		(void **)&la.support_format_tar,
		(void **)&la.support_format_gnutar,
		(void **)&la.open_memory,
		(void **)&la.next_header,
		(void **)&la.read_data,
		(void **)&la.error_string,
		(void **)&la.read_free,
		(void **)&la.entry_pathname,
		(void **)&la.entry_size,
		(void **)&la.entry_filetype,
	};
	static const char *const names[] = {
		"archive_read_new",
		"archive_read_support_format_tar",
		"archive_read_support_format_gnutar",
		"archive_read_open_memory",
		"archive_read_next_header",
		"archive_read_data",
		"archive_error_string",
		"archive_read_free",
		"archive_entry_pathname",
		"archive_entry_size",
		"archive_entry_filetype",
	};

	if (!h)
		h = dlopen("libarchive.so", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		la.failed = "libarchive (libarchive.so.13) cannot be loaded";
		return;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		void *sym = dlsym(h, names[i]);

		if (!sym) {
			la.failed = "libarchive lacks a function kabi-deps needs";
			return;
		}
		memcpy(fn[i], &sym, sizeof(sym)); /* (POSIX: as a function pointer) */
	}
}

static bool is_hex(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
			return false;
	return true;
}

/* "dir/<set>.<hash>": split into set and hash, or fail. */
static int parse_member_name(struct kabi_ctx *ctx, const char *pathname, char **set, char **hash)
{
	const char *base = strrchr(pathname, '/'), *dot;

	base = base ? base + 1 : pathname;
	dot = strrchr(base, '.');
	if (!dot || dot == base || !is_hex(dot + 1))
		return kabi_fail(ctx, EINVAL, "member %s is not named <set>.<hexadecimal hash>", pathname);
	*set = strndup(base, (size_t)(dot - base));
	*hash = strdup(dot + 1);
	if (!*set || !*hash) {
		free(*set);
		free(*hash);
		return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	return 0;
}

static int read_member(struct kabi_ctx *ctx, struct archive *a, struct archive_entry *e, unsigned char **data,
		       size_t *size)
{
	la_int64_t declared = la.entry_size(e);
	size_t cap = 0, len = 0;
	unsigned char *buf = NULL;

	if (declared < 0 || (uint64_t)declared > MAX_MEMBER_SIZE)
		return kabi_fail(ctx, EFBIG, "member %s: size %lld out of range", la.entry_pathname(e),
				 (long long)declared);
	cap = (size_t)declared;
	buf = malloc(cap + 1);
	if (!buf)
		return kabi_fail(ctx, ENOMEM, "out of memory");
	while (len < cap) {
		la_ssize_t n = la.read_data(a, buf + len, cap - len);

		if (n < 0) {
			free(buf);
			return kabi_fail(ctx, EINVAL, "member %s: %s", la.entry_pathname(e),
					 la.error_string(a));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len != cap) {
		free(buf);
		return kabi_fail(ctx, EINVAL, "member %s is truncated", la.entry_pathname(e));
	}
	*data = buf;
	*size = len;
	return 0;
}

/* Takes name, hash and data. */
static int add_set(struct kabi_ctx *ctx, struct kabi_symsets *ss, char *name, char *hash, unsigned char *data,
		   size_t size, const char *member)
{
	struct kabi_symvers *content;

	if (ss->n >= MAX_SETS)
		return kabi_fail(ctx, EFBIG, "more than %d sets", MAX_SETS);
	if ((ss->n & (ss->n - 1)) == 0) {
		size_t cap = ss->n ? ss->n * 2 : 16;
		struct kabi_symset *sets;
		struct kabi_symvers **contents;
		struct raw *raw;

		sets = realloc(ss->sets, cap * sizeof(*sets));
		if (sets)
			ss->sets = sets;
		contents = realloc(ss->contents, cap * sizeof(*contents));
		if (contents)
			ss->contents = contents;
		raw = realloc(ss->raw, cap * sizeof(*raw));
		if (raw)
			ss->raw = raw;
		if (!sets || !contents || !raw)
			return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	if (kabi_symvers_open_mem(ctx, member, data, size, &content) < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "member %s: %s", member, kabi_ctx_error(ctx));
		return kabi_fail(ctx, EINVAL, "%s", msg);
	}
	ss->sets[ss->n] = (struct kabi_symset){ .name = name, .hash = hash };
	ss->contents[ss->n] = content;
	ss->raw[ss->n] = (struct raw){ data, size };
	kabi_symvers_entries(content, &ss->sets[ss->n].n_syms);
	ss->n++;
	return 0;
}

static int index_members(struct kabi_ctx *ctx, struct kabi_symsets *ss)
{
	size_t total = 0, k = 0;

	for (size_t i = 0; i < ss->n; i++)
		total += ss->sets[i].n_syms;
	ss->members = calloc(total ? total : 1, sizeof(*ss->members));
	if (!ss->members)
		return kabi_fail(ctx, ENOMEM, "out of memory");
	for (size_t i = 0; i < ss->n; i++) {
		size_t n;
		const struct kabi_symvers_entry *e = kabi_symvers_entries(ss->contents[i], &n);

		for (size_t j = 0; j < n; j++, k++) {
			struct member *m = &ss->members[k], *head;

			*m = (struct member){ e[j].name, e[j].crc, i, NULL };
			head = kabi_hash_get(&ss->by_sym, m->sym);
			if (head) {
				m->next = head->next;
				head->next = m;
			} else if (kabi_hash_put(&ss->by_sym, m->sym, m) < 0) {
				return kabi_fail(ctx, ENOMEM, "out of memory");
			}
		}
	}
	return 0;
}

static int read_archive(struct kabi_ctx *ctx, struct kabi_symsets *ss, struct archive *a)
{
	struct archive_entry *e;
	int r;

	while ((r = la.next_header(a, &e)) == ARCHIVE_OK) {
		const char *pathname = la.entry_pathname(e);
		unsigned char *data = NULL;
		char *name = NULL, *hash = NULL;
		size_t size = 0;

		if (la.entry_filetype(e) == AE_IFDIR)
			continue;
		if (la.entry_filetype(e) != AE_IFREG || !pathname)
			return kabi_fail(ctx, EINVAL, "member %s is not a regular file",
					 pathname ? pathname : "(unnamed)");
		if (parse_member_name(ctx, pathname, &name, &hash) < 0)
			return -EINVAL;
		if (read_member(ctx, a, e, &data, &size) < 0) {
			free(name);
			free(hash);
			return -EINVAL;
		}
		r = add_set(ctx, ss, name, hash, data, size, pathname);
		if (r < 0) {
			free(data);
			free(name);
			free(hash);
			return r;
		}
	}
	if (r != ARCHIVE_EOF)
		return kabi_fail(ctx, EINVAL, "not a readable tar archive: %s", la.error_string(a));
	if (ss->n == 0)
		return kabi_fail(ctx, EINVAL, "no symsets in the archive");
	return index_members(ctx, ss);
}

KABI_EXPORT int kabi_symsets_open(struct kabi_ctx *ctx, const char *path, struct kabi_symsets **out)
{
	struct kabi_symsets *ss = calloc(1, sizeof(*ss));
	struct kabi_buf buf;
	struct archive *a;
	int r;

	*out = NULL;
	if (!ss || !(ss->path = strdup(path))) {
		free(ss);
		return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	/* kabi_buf_load undoes the gzip/xz/zstd layer, with the size cap */
	pthread_once(&la_once, load_libarchive);
	r = la.failed ? kabi_fail(ctx, ENOSYS, "%s", la.failed) : kabi_buf_load(ctx, path, &buf);
	if (r == 0) {
		a = la.read_new();
		if (!a) {
			r = kabi_fail(ctx, ENOMEM, "out of memory");
		} else {
			la.support_format_tar(a);
			la.support_format_gnutar(a);
			if (la.open_memory(a, buf.data, buf.size) != ARCHIVE_OK)
				r = kabi_fail(ctx, EINVAL, "not a tar archive: %s", la.error_string(a));
			else
				r = read_archive(ctx, ss, a);
			la.read_free(a);
		}
		kabi_buf_release(&buf);
	}
	if (r < 0) {
		kabi_symsets_free(ss);
		return r;
	}
	*out = ss;
	return 0;
}

KABI_EXPORT void kabi_symsets_free(struct kabi_symsets *ss)
{
	if (!ss)
		return;
	for (size_t i = 0; i < ss->n; i++) {
		free((char *)ss->sets[i].name);
		free((char *)ss->sets[i].hash);
		kabi_symvers_free(ss->contents[i]);
		free(ss->raw[i].data);
	}
	free(ss->raw);
	kabi_hash_fini(&ss->by_sym);
	free(ss->members);
	free(ss->sets);
	free(ss->contents);
	free(ss->path);
	free(ss);
}

KABI_EXPORT const char *kabi_symsets_path(const struct kabi_symsets *ss)
{
	return ss->path;
}

KABI_EXPORT const struct kabi_symset *kabi_symsets_sets(const struct kabi_symsets *ss, size_t *n)
{
	*n = ss->n;
	return ss->sets;
}

KABI_EXPORT const struct kabi_symvers *kabi_symsets_content(const struct kabi_symsets *ss, size_t set)
{
	return set < ss->n ? ss->contents[set] : NULL;
}

KABI_EXPORT const void *kabi_symsets_data(const struct kabi_symsets *ss, size_t set, size_t *size)
{
	if (set >= ss->n)
		return NULL;
	*size = ss->raw[set].size;
	return ss->raw[set].data;
}

/* Append kernel(SET) = HASH for every set holding sym with this CRC. */
static int push_set(struct kabi_strv *out, const char *flavor, const struct kabi_symset *set)
{
	if (flavor)
		return kabi_strv_pushf(out, "kernel(%s:%s) = %s", flavor, set->name, set->hash);
	return kabi_strv_pushf(out, "kernel(%s) = %s", set->name, set->hash);
}

int kabi_symsets_require(const struct kabi_symsets *ss, const char *sym, uint32_t crc, const char *flavor,
			 struct kabi_strv *out)
{
	int n = 0;

	for (const struct member *m = kabi_hash_get(&ss->by_sym, sym); m; m = m->next) {
		if (m->crc != crc)
			continue;
		if (push_set(out, flavor, &ss->sets[m->set]) < 0)
			return -ENOMEM;
		n++;
	}
	return n;
}

/* kernel(SET) = HASH for every set: what a kernel package provides. */
int kabi_symsets_provides(const struct kabi_symsets *ss, const char *flavor, struct kabi_strv *out)
{
	for (size_t i = 0; i < ss->n; i++)
		if (push_set(out, flavor, &ss->sets[i]) < 0)
			return -ENOMEM;
	return 0;
}
