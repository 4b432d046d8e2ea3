/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Module.symvers (and symvers.gz/.xz/.zst) of every kernel era
 * (doc/module-formats.md, "Module.symvers"):
 *   <= 2.6.17      crc sym module
 *   2.6.18 - 5.3   crc sym module type
 *   5.4 - 5.6-rc6  crc sym ns module type
 *   5.6-rc7+       crc sym module type ns
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "libkabideps-private.h"
#include "modname.h"

struct kabi_symvers {
	char *path;
	struct kabi_buf buf; /* the text, split in place */
	struct kabi_symvers_entry *entries;
	size_t n;
	struct kabi_hash by_name;
	struct kabi_hash modules; /* module names (base name, - as _), made with the table */
	char *module_names; /* their storage */
	bool has_crcs; /* some CRC is not 0 (CONFIG_MODVERSIONS) */
	/* From an index instead of the text: entries are filled from it
	 * as they are asked for (an entry with name NULL is not yet). */
	struct kabi_symvers_index *idx;
	bool all_filled;
	uint64_t serial;
	size_t entries_map_size; /* != 0: entries is an anonymous mapping */
	/* Should the index turn out damaged: the text is read after all,
	 * through the context that opened it (which outlives it), and what
	 * was handed out from the index stays valid until this is freed. */
	struct kabi_ctx *ctx;
	char *cache_dir;
	struct kabi_symvers_index *stale_idx;
	struct kabi_symvers_entry *stale_entries;
	size_t stale_map_size;
};

static struct kabi_symvers *symvers_new(void)
{
	static _Atomic uint64_t last_serial;
	struct kabi_symvers *sv = calloc(1, sizeof(*sv));

	if (sv) {
		sv->buf.fd = -1; /* no file behind it (0 would be stdin) */
		sv->serial = atomic_fetch_add(&last_serial, 1) + 1;
	}
	return sv;
}

/* The table of an index-backed reference, zeroed and faulted in only where
 * entries are filled (a kernel's is ~1 MB, a module looks up a few dozen;
 * the heap would clear it all). */
static struct kabi_symvers_entry *zeroed_table(size_t n, size_t *map_size)
{
	void *p = mmap(NULL, n * sizeof(struct kabi_symvers_entry), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	*map_size = n * sizeof(struct kabi_symvers_entry);
	return p;
}

static void free_table(struct kabi_symvers_entry *table, size_t map_size)
{
	if (map_size)
		munmap(table, map_size);
	else
		free(table);
}

static bool parse_crc(const char *s, uint32_t *crc)
{
	uint64_t v = 0;
	size_t digits = 0;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return false;
	for (s += 2; *s; s++, digits++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' :
			*s >= 'a' && *s <= 'f' ? *s - 'a' + 10 :
			*s >= 'A' && *s <= 'F' ? *s - 'A' + 10 :
						 -1;

		if (d < 0 || digits >= 16)
			return false;
		v = v << 4 | (unsigned)d;
	}
	if (!digits || v > UINT32_MAX)
		return false;
	*crc = (uint32_t)v;
	return true;
}

static bool is_export_type(const char *s)
{
	return strncmp(s, "EXPORT_", 7) == 0;
}

static int parse_line(struct kabi_ctx *ctx, char *line, size_t lineno, struct kabi_symvers_entry *e)
{
	char *f[5] = { line };
	size_t n = 1;

	for (char *p = line; *p; p++) {
		if (*p != '\t')
			continue;
		if (n == 5)
			return kabi_fail(ctx, EINVAL, "line %zu: more than 5 tab-separated fields", lineno);
		*p = '\0';
		f[n++] = p + 1;
	}
	if (n < 3)
		return kabi_fail(ctx, EINVAL, "line %zu: %zu tab-separated field%s, expected 3 to 5", lineno,
				 n, n == 1 ? "" : "s");
	if (!parse_crc(f[0], &e->crc))
		return kabi_fail(ctx, EINVAL, "line %zu: bad CRC '%.20s'", lineno, f[0]);
	if (!*f[1])
		return kabi_fail(ctx, EINVAL, "line %zu: empty symbol name", lineno);
	if (strnlen(f[1], KABI_MAX_NAME + 1) > KABI_MAX_NAME)
		return kabi_fail(ctx, EFBIG, "line %zu: symbol name longer than the limit of %d bytes",
				 lineno, KABI_MAX_NAME);
	e->name = f[1];
	e->module = f[2];
	e->type = n >= 4 ? f[3] : "";
	e->ns = "";
	if (n == 5) {
		if (is_export_type(f[3])) {
			e->ns = f[4];
		} else if (is_export_type(f[4])) {
			e->ns = f[2]; /* 5.4 - 5.6-rc6: namespace before module */
			e->module = f[3];
			e->type = f[4];
		} else {
			return kabi_fail(ctx, EINVAL, "line %zu: no EXPORT_* type in field 4 or 5", lineno);
		}
	}
	if (!*e->module)
		return kabi_fail(ctx, EINVAL, "line %zu: empty module name", lineno);
	return 0;
}

static int parse(struct kabi_ctx *ctx, struct kabi_symvers *sv)
{
	char *text = (char *)sv->buf.data, *end = text + sv->buf.size;
	size_t lines = 0, lineno = 0;

	for (char *p = text; p < end; p++)
		lines += *p == '\n';
	sv->entries = calloc(lines + 1, sizeof(*sv->entries));
	if (!sv->entries)
		return kabi_fail(ctx, ENOMEM, "out of memory");
	for (char *line = text; line < end;) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		struct kabi_symvers_entry *e = &sv->entries[sv->n];

		lineno++;
		if (!nl)
			nl = end; /* last line without newline: buffer has room for a NUL */
		*nl = '\0';
		if (memchr(line, '\0', (size_t)(nl - line)))
			return kabi_fail(ctx, EINVAL, "line %zu: NUL byte in text", lineno);
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		if (*line) {
			if (parse_line(ctx, line, lineno, e) < 0)
				return -EINVAL;
			/* the first of duplicate rows wins, as in modpost */
			if (kabi_hash_put(&sv->by_name, e->name, e) < 0)
				return kabi_fail(ctx, ENOMEM, "out of memory");
			sv->has_crcs |= e->crc != 0;
			sv->n++;
		}
		line = nl + 1;
	}
	return 0;
}

/* The names of the modules the entries name, as depends= gives them. */
static int index_modules(struct kabi_ctx *ctx, struct kabi_symvers *sv)
{
	size_t total = 0;
	char *p;

	for (size_t i = 0; i < sv->n; i++)
		total += strlen(sv->entries[i].module) + 1;
	p = sv->module_names = malloc(total + 1);
	if (!p)
		return kabi_fail(ctx, ENOMEM, "out of memory");
	for (size_t i = 0; i < sv->n; i++) {
		const char *module = sv->entries[i].module, *base = strrchr(module, '/');
		size_t len;
		int r;

		/* rows come in runs of one module */
		if (i && strcmp(module, sv->entries[i - 1].module) == 0)
			continue;
		base = base ? base + 1 : module;
		len = strlen(base);
		kabi_modname_normalize(memcpy(p, base, len + 1));
		r = kabi_hash_put(&sv->modules, p, p);
		if (r < 0)
			return kabi_fail(ctx, ENOMEM, "out of memory");
		if (r == 0)
			p += len + 1;
	}
	return 0;
}

static int open_symvers(struct kabi_ctx *ctx, const char *name, const void *data, size_t size,
			struct kabi_symvers **out)
{
	struct kabi_symvers *sv = symvers_new();
	int r;

	*out = NULL;
	if (!sv || !(sv->path = strdup(name))) {
		free(sv);
		return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	r = data ? kabi_buf_from_mem(ctx, data, size, &sv->buf) : kabi_buf_load(ctx, name, &sv->buf);
	/* The parser needs one writable byte past the end for a final NUL
	 * (a last line without its newline). */
	if (r == 0 && !kabi_buf_has_nul_room(&sv->buf) && sv->buf.size &&
	    sv->buf.data[sv->buf.size - 1] != '\n') {
		struct kabi_buf copy;

		r = kabi_buf_from_mem(ctx, sv->buf.data, sv->buf.size, &copy);
		kabi_buf_release(&sv->buf);
		sv->buf = copy;
	}
	if (r == 0)
		r = parse(ctx, sv);
	if (r == 0)
		r = index_modules(ctx, sv);
	if (r < 0) {
		kabi_symvers_free(sv);
		return r;
	}
	*out = sv;
	return 0;
}

KABI_EXPORT int kabi_symvers_open(struct kabi_ctx *ctx, const char *path, struct kabi_symvers **sv)
{
	return open_symvers(ctx, path, NULL, 0, sv);
}

KABI_EXPORT int kabi_symvers_open_mem(struct kabi_ctx *ctx, const char *name, const void *data, size_t size,
				      struct kabi_symvers **sv)
{
	return open_symvers(ctx, name ? name : "(memory)", data ? data : "", size, sv);
}

static bool same_state(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Parse the text, and index it for the next process (only what was read
 * from one unchanged state). */
static int parse_and_index(struct kabi_ctx *ctx, const char *path, const char *cache_dir,
			   struct kabi_symvers **out)
{
	struct stat before, after;
	bool regular = stat(path, &before) == 0 && S_ISREG(before.st_mode);
	int r = kabi_symvers_open(ctx, path, out);

	if (r == 0 && regular && stat(path, &after) == 0 && same_state(&before, &after))
		kabi_symvers_index_write(cache_dir, &before, *out);
	return r;
}

int kabi_symvers_open_cached(struct kabi_ctx *ctx, const char *path, const char *cache_dir,
			     struct kabi_symvers **out)
{
	struct stat st;
	bool regular = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	struct kabi_symvers_index *x = regular ? kabi_symvers_index_open(cache_dir, &st) : NULL;
	struct kabi_symvers *sv;

	if (!x)
		return parse_and_index(ctx, path, cache_dir, out);
	sv = symvers_new();
	if (!sv || !(sv->path = strdup(path)) || !(sv->cache_dir = strdup(cache_dir)) ||
	    !(sv->entries = zeroed_table(kabi_symvers_index_count(x) + 1, &sv->entries_map_size))) {
		kabi_symvers_index_free(x);
		kabi_symvers_free(sv);
		return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	sv->idx = x;
	sv->ctx = ctx;
	sv->has_crcs = kabi_symvers_index_has_crcs(x);
	sv->n = kabi_symvers_index_count(x);
	*out = sv;
	return 0;
}

/* The index is damaged (a lookup found an offset out of its bounds): drop
 * it, and answer from the text, parsed now (and indexed anew). */
static bool read_text_instead(struct kabi_symvers *sv)
{
	struct kabi_symvers *text;

	kabi_symvers_index_discard(sv->idx);
	sv->stale_idx = sv->idx;
	sv->stale_entries = sv->entries;
	sv->stale_map_size = sv->entries_map_size;
	sv->idx = NULL;
	sv->entries = NULL;
	sv->entries_map_size = 0;
	sv->n = 0;
	if (parse_and_index(sv->ctx, sv->path, sv->cache_dir, &text) < 0) {
		kabi_log(sv->ctx, KABI_LOG_ERR,
			 "%s: its index in %s is damaged, and the file cannot be read again: %s", sv->path,
			 sv->cache_dir, kabi_ctx_error(sv->ctx));
		return false; /* and nothing is found */
	}
	sv->buf = text->buf;
	sv->entries = text->entries;
	sv->n = text->n;
	sv->by_name = text->by_name;
	sv->modules = text->modules;
	sv->module_names = text->module_names;
	sv->has_crcs = text->has_crcs;
	text->buf = (struct kabi_buf){ .fd = -1 };
	text->entries = NULL;
	text->by_name = (struct kabi_hash){ 0 };
	text->modules = (struct kabi_hash){ 0 };
	text->module_names = NULL;
	kabi_symvers_free(text);
	return true;
}

/* An entry of an index-backed table, made when first asked for; NULL when
 * the index is damaged there. */
static const struct kabi_symvers_entry *fill(const struct kabi_symvers *csv, size_t i)
{
	struct kabi_symvers *sv = (struct kabi_symvers *)csv; /* a cache */

	if (!sv->entries[i].name && kabi_symvers_index_entry(sv->idx, i, &sv->entries[i]) < 0)
		return NULL;
	return &sv->entries[i];
}

KABI_EXPORT void kabi_symvers_free(struct kabi_symvers *sv)
{
	if (!sv)
		return;
	kabi_symvers_index_free(sv->idx);
	kabi_symvers_index_free(sv->stale_idx);
	free_table(sv->stale_entries, sv->stale_map_size);
	free(sv->cache_dir);
	kabi_hash_fini(&sv->by_name);
	kabi_hash_fini(&sv->modules);
	free(sv->module_names);
	kabi_buf_release(&sv->buf);
	free_table(sv->entries, sv->entries_map_size);
	free(sv->path);
	free(sv);
}

KABI_EXPORT const char *kabi_symvers_path(const struct kabi_symvers *sv)
{
	return sv->path;
}

KABI_EXPORT const struct kabi_symvers_entry *kabi_symvers_entries(const struct kabi_symvers *csv, size_t *n)
{
	struct kabi_symvers *sv = (struct kabi_symvers *)csv; /* the index is a cache */

	if (sv->idx && !sv->all_filled) {
		size_t i = 0;

		while (i < sv->n && fill(sv, i))
			i++;
		if (i < sv->n)
			read_text_instead(sv);
		else
			sv->all_filled = true;
	}
	*n = sv->n;
	return sv->entries;
}

KABI_EXPORT const struct kabi_symvers_entry *kabi_symvers_find(const struct kabi_symvers *csv,
							       const char *name)
{
	struct kabi_symvers *sv = (struct kabi_symvers *)csv; /* the index is a cache */
	const struct kabi_symvers_entry *e;
	long i;

	if (sv->idx) {
		i = kabi_symvers_index_find(sv->idx, name);
		if (i == -1)
			return NULL;
		if (i >= 0 && (e = fill(sv, (size_t)i)))
			return e;
		if (!read_text_instead(sv))
			return NULL;
	}
	return kabi_hash_get(&sv->by_name, name);
}

/* A kernel built without CONFIG_MODVERSIONS writes 0x00000000 for every
 * CRC (doc/module-formats.md, "Kernels without modversions"). */
bool kabi_symvers_has_crcs(const struct kabi_symvers *sv)
{
	return sv->has_crcs;
}

uint64_t kabi_symvers_serial(const struct kabi_symvers *sv)
{
	return sv->serial;
}

/* Does the kernel have a module of this name (- and _ alike)?  Module.symvers
 * names every module that exports something, which depends= targets do. */
bool kabi_symvers_has_module(const struct kabi_symvers *sv, const char *name)
{
	if (sv->idx) {
		int r = kabi_symvers_index_has_module(sv->idx, name);

		if (r >= 0)
			return r;
		if (!read_text_instead((struct kabi_symvers *)sv)) /* the index is a cache */
			return false;
	}
	return kabi_hash_get(&sv->modules, name) != NULL;
}
