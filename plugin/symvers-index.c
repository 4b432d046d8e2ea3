/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An index of a parsed Module.symvers on disk, for processes that read one
 * module: rpm < 4.16 runs kabi-deps once per module, and parsing a kernel's
 * Module.symvers (25k lines, or a symvers.gz to decompress) was most of
 * what each `requires` did.  The index is what the parse gave, mapped and
 * looked up in place.
 *
 * It belongs to one state of one file: it is named after the reference's
 * device and inode and holds its size, mtime and ctime; any other state is
 * a miss, and the caller parses the text again (and writes a new index).
 * It is written only for a file that did not change while it was read and
 * whose timestamps are two seconds old (a change within the same timestamp
 * tick would otherwise go unseen), to a temporary file renamed into place,
 * so that parallel builds see a whole index or none.
 *
 * It is never trusted: the header is checked when it is opened (sizes that
 * add up to the file's), and each offset and slot when a lookup reads it,
 * so a damaged index is never followed out of its bounds.  Checking every
 * offset at open touched the whole 1.5 MB file, most of what a `requires`
 * of one module did; a lookup reads a few of its pages.  A lookup that finds
 * damage says so (KABI_INDEX_DAMAGED), and the caller reads the text.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libkabideps-private.h"
#include "modname.h"

/* Any change to this layout or to what parsing yields bumps the version. */
#define INDEX_MAGIC "KABISVI"
#define INDEX_VERSION 2
#define BYTE_ORDER_MARK 0x01020304u
/* Far above a kernel's (25k exports, ~1 MB); offsets are 32-bit. */
#define MAX_ENTRIES ((uint64_t)1 << 24)
#define MAX_STRINGS ((uint64_t)1 << 31)
/* A change within this many seconds of the last could share its timestamps. */
#define SETTLE_SECONDS 2
/* Indexes (and left-over temporary files) not written for this long are
 * removed when another is written: kernels come and go. */
#define PRUNE_SECONDS (30 * 24 * 3600)
/* Whether some CRC is not 0: one of two words, so that a damaged one is
 * refused rather than read as the other. */
#define CRCS_SOME 0x53435243u
#define CRCS_NONE 0x454e4f4eu

struct index_header {
	char magic[8];
	uint32_t version, byte_order;
	/* the state of the reference it was made from */
	uint64_t dev, ino, size;
	int64_t mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
	uint64_t n_entries, n_slots, n_mod_slots, strings_size;
	uint32_t crcs, reserved; /* CRCS_SOME or CRCS_NONE; 0 */
};

struct index_entry {
	uint32_t name, module, type, ns; /* offsets into the strings */
	uint32_t crc;
};

struct kabi_symvers_index {
	char *path;
	dev_t dev; /* of the file mapped */
	ino_t ino;
	void *map;
	size_t map_size;
	const struct index_header *h;
	const struct index_entry *entries;
	const uint32_t *slots; /* by symbol: entry + 1, 0 = empty */
	const uint32_t *mod_slots; /* module names (- as _): string offset + 1 */
	const char *strings;
};

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static bool key_matches(const struct index_header *h, const struct stat *st)
{
	return h->dev == (uint64_t)st->st_dev && h->ino == (uint64_t)st->st_ino &&
	       h->size == (uint64_t)st->st_size && h->mtime_sec == (int64_t)st->st_mtim.tv_sec &&
	       h->mtime_nsec == (int64_t)st->st_mtim.tv_nsec && h->ctime_sec == (int64_t)st->st_ctim.tv_sec &&
	       h->ctime_nsec == (int64_t)st->st_ctim.tv_nsec;
}

static bool index_name(char *out, size_t size, const char *dir, const struct stat *st)
{
	int n = snprintf(out, size, "%s/symvers-%" PRIx64 "-%" PRIx64 ".idx", dir, (uint64_t)st->st_dev,
			 (uint64_t)st->st_ino);

	return n > 0 && (size_t)n < size;
}

static bool power_of_two(uint64_t n)
{
	return n && !(n & (n - 1));
}

/* A string of the index: offsets past the strings are damage. */
static const char *string_at(const struct kabi_symvers_index *x, uint32_t off)
{
	return off < x->h->strings_size ? x->strings + off : NULL;
}

struct kabi_symvers_index *kabi_symvers_index_open(const char *dir, const struct stat *ref)
{
	char path[4096];
	struct kabi_symvers_index *x;
	const struct index_header *h;
	struct stat st;
	uint64_t need;
	void *map;
	int fd;

	if (!index_name(path, sizeof(path), dir, ref) || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < sizeof(*h) ||
	    (uint64_t)st.st_size > MAX_STRINGS * 4) {
		close(fd);
		return NULL;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return NULL;
	h = map;
	/* the sizes, each bounded before they are added up */
	if (memcmp(h->magic, INDEX_MAGIC, sizeof(INDEX_MAGIC)) || h->version != INDEX_VERSION ||
	    h->byte_order != BYTE_ORDER_MARK || !key_matches(h, ref) || h->n_entries > MAX_ENTRIES ||
	    !power_of_two(h->n_slots) || h->n_slots > 4 * MAX_ENTRIES || h->n_entries >= h->n_slots ||
	    !power_of_two(h->n_mod_slots) || h->n_mod_slots > 4 * MAX_ENTRIES || !h->strings_size ||
	    h->strings_size > MAX_STRINGS || (h->crcs != CRCS_SOME && h->crcs != CRCS_NONE) || h->reserved)
		goto refuse;
	need = sizeof(*h) + h->n_entries * sizeof(struct index_entry) +
	       (h->n_slots + h->n_mod_slots) * sizeof(uint32_t) + h->strings_size;
	if (need != (uint64_t)st.st_size || !(x = calloc(1, sizeof(*x))))
		goto refuse;
	if (!(x->path = strdup(path))) {
		free(x);
		goto refuse;
	}
	x->dev = st.st_dev;
	x->ino = st.st_ino;
	x->map = map;
	x->map_size = (size_t)st.st_size;
	x->h = h;
	x->entries = (const void *)(h + 1);
	x->slots = (const void *)(x->entries + h->n_entries);
	x->mod_slots = x->slots + h->n_slots;
	x->strings = (const char *)(x->mod_slots + h->n_mod_slots);
	/* every string ends within the strings: their last byte is a NUL */
	if (x->strings[h->strings_size - 1] != '\0') {
		free(x->path);
		free(x);
		goto refuse;
	}
	return x;
refuse:
	munmap(map, (size_t)st.st_size);
	return NULL;
}

void kabi_symvers_index_free(struct kabi_symvers_index *x)
{
	if (!x)
		return;
	munmap(x->map, x->map_size);
	free(x->path);
	free(x);
}

/* (not one a parallel build has just put in its place) */
void kabi_symvers_index_discard(const struct kabi_symvers_index *x)
{
	struct stat st;

	if (stat(x->path, &st) == 0 && st.st_dev == x->dev && st.st_ino == x->ino)
		unlink(x->path);
}

bool kabi_symvers_index_has_crcs(const struct kabi_symvers_index *x)
{
	return x->h->crcs == CRCS_SOME;
}

size_t kabi_symvers_index_count(const struct kabi_symvers_index *x)
{
	return (size_t)x->h->n_entries;
}

int kabi_symvers_index_entry(const struct kabi_symvers_index *x, size_t i, struct kabi_symvers_entry *e)
{
	const struct index_entry *ie;

	if (i >= x->h->n_entries)
		return KABI_INDEX_DAMAGED;
	ie = &x->entries[i];
	*e = (struct kabi_symvers_entry){
		.name = string_at(x, ie->name),
		.module = string_at(x, ie->module),
		.type = string_at(x, ie->type),
		.ns = string_at(x, ie->ns),
		.crc = ie->crc,
	};
	if (!e->name || !e->module || !e->type || !e->ns) {
		*e = (struct kabi_symvers_entry){ 0 };
		return KABI_INDEX_DAMAGED;
	}
	return 0;
}

long kabi_symvers_index_find(const struct kabi_symvers_index *x, const char *name)
{
	uint64_t mask = x->h->n_slots - 1;

	for (uint64_t i = fnv1a(name) & mask, probes = 0; probes <= mask; i = (i + 1) & mask, probes++) {
		uint32_t s = x->slots[i];
		const char *slot_name;

		if (!s)
			break;
		if (s > x->h->n_entries || !(slot_name = string_at(x, x->entries[s - 1].name)))
			return KABI_INDEX_DAMAGED;
		if (strcmp(slot_name, name) == 0)
			return (long)(s - 1);
	}
	return -1;
}

int kabi_symvers_index_has_module(const struct kabi_symvers_index *x, const char *name)
{
	uint64_t mask = x->h->n_mod_slots - 1;

	for (uint64_t i = fnv1a(name) & mask, probes = 0; probes <= mask; i = (i + 1) & mask, probes++) {
		uint32_t s = x->mod_slots[i];
		const char *slot_name;

		if (!s)
			break;
		if (!(slot_name = string_at(x, s - 1)))
			return KABI_INDEX_DAMAGED;
		if (strcmp(slot_name, name) == 0)
			return 1;
	}
	return 0;
}

/* ---- writing ---- */

struct builder {
	char *strings;
	size_t len, cap;
	struct kabi_hash offsets; /* string -> its offset + 1 (deduplicated) */
	bool failed;
};

static uint32_t append_string(struct builder *b, const char *s)
{
	size_t n = strlen(s) + 1;

	if (b->len + n > MAX_STRINGS) {
		b->failed = true;
		return 0;
	}
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2;
		char *p = realloc(b->strings, cap);

		if (!p) {
			b->failed = true;
			return 0;
		}
		b->strings = p;
		b->cap = cap;
	}
	memcpy(b->strings + b->len, s, n);
	b->len += n;
	return (uint32_t)(b->len - n);
}

/* The same, once per distinct string: s must outlive the builder (it is
 * the key). */
static uint32_t add_string(struct builder *b, const char *s)
{
	uintptr_t known = (uintptr_t)kabi_hash_get(&b->offsets, s);
	uint32_t off;

	if (known)
		return (uint32_t)(known - 1);
	off = append_string(b, s);
	if (!b->failed && kabi_hash_put(&b->offsets, s, (void *)((uintptr_t)off + 1)) < 0)
		b->failed = true;
	return off;
}

static uint64_t slots_for(uint64_t n)
{
	uint64_t s = 16;

	while (s < 2 * n)
		s *= 2;
	return s;
}

static int mkdir_p(char *dir)
{
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return mkdir(dir, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

static bool write_all(int fd, const void *data, size_t size)
{
	const char *p = data;

	while (size) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		size -= (size_t)n;
	}
	return true;
}

static bool settled(const struct stat *st)
{
	time_t now = time(NULL);
	time_t last = st->st_mtim.tv_sec > st->st_ctim.tv_sec ? st->st_mtim.tv_sec : st->st_ctim.tv_sec;

	return now >= last + SETTLE_SECONDS;
}

static void prune(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	time_t now = time(NULL);

	while (d && (de = readdir(d))) {
		struct stat st;

		if (strncmp(de->d_name, "symvers-", 8) || !strstr(de->d_name, ".idx") ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (st.st_mtime + PRUNE_SECONDS < now)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	if (d)
		closedir(d);
}

/* Best effort: a cache that cannot be written is no error. */
void kabi_symvers_index_write(const char *dir, const struct stat *ref, const struct kabi_symvers *sv)
{
	size_t n;
	const struct kabi_symvers_entry *e = kabi_symvers_entries(sv, &n);
	struct index_header h = { .magic = INDEX_MAGIC,
				  .version = INDEX_VERSION,
				  .byte_order = BYTE_ORDER_MARK };
	struct builder b = { 0 };
	struct index_entry *entries = NULL;
	uint32_t *slots = NULL, *mod_slots = NULL;
	char final[4096], tmp[4096 + 16], *dircopy = NULL;
	int fd = -1;

	if (!settled(ref) || n > MAX_ENTRIES || !index_name(final, sizeof(final), dir, ref))
		return;
	h.dev = (uint64_t)ref->st_dev;
	h.ino = (uint64_t)ref->st_ino;
	h.size = (uint64_t)ref->st_size;
	h.mtime_sec = (int64_t)ref->st_mtim.tv_sec;
	h.mtime_nsec = (int64_t)ref->st_mtim.tv_nsec;
	h.ctime_sec = (int64_t)ref->st_ctim.tv_sec;
	h.ctime_nsec = (int64_t)ref->st_ctim.tv_nsec;
	h.n_entries = n;
	h.n_slots = slots_for(n);
	h.n_mod_slots = slots_for(n);
	h.crcs = kabi_symvers_has_crcs(sv) ? CRCS_SOME : CRCS_NONE;
	entries = calloc(n + 1, sizeof(*entries));
	slots = calloc(h.n_slots, sizeof(*slots));
	mod_slots = calloc(h.n_mod_slots, sizeof(*mod_slots));
	if (!entries || !slots || !mod_slots)
		goto out;
	add_string(&b, ""); /* offset 0 */
	for (size_t i = 0; i < n && !b.failed; i++) {
		entries[i] = (struct index_entry){ add_string(&b, e[i].name), add_string(&b, e[i].module),
						   add_string(&b, e[i].type), add_string(&b, e[i].ns),
						   e[i].crc };
		/* the first of duplicate rows wins, as when parsing */
		for (uint64_t s = fnv1a(e[i].name) & (h.n_slots - 1);; s = (s + 1) & (h.n_slots - 1)) {
			if (!slots[s]) {
				slots[s] = (uint32_t)i + 1;
				break;
			}
			if (strcmp(e[slots[s] - 1].name, e[i].name) == 0)
				break;
		}
	}
	/* module names as kabi_symvers_has_module() takes them */
	for (size_t i = 0; i < n && !b.failed; i++) {
		const char *base = strrchr(e[i].module, '/');
		char name[KABI_MAX_NAME + 1];

		base = base ? base + 1 : e[i].module;
		if (strlen(base) > KABI_MAX_NAME)
			goto out; /* not what a parse keeps: no index */
		kabi_modname_normalize(strcpy(name, base));
		for (uint64_t s = fnv1a(name) & (h.n_mod_slots - 1);; s = (s + 1) & (h.n_mod_slots - 1)) {
			if (!mod_slots[s]) {
				mod_slots[s] = append_string(&b, name) + 1;
				break;
			}
			if (strcmp(b.strings + mod_slots[s] - 1, name) == 0)
				break;
		}
	}
	if (b.failed)
		goto out;
	h.strings_size = b.len;
	if (!(dircopy = strdup(dir)) || mkdir_p(dircopy) < 0)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", final);
	if ((fd = mkstemp(tmp)) < 0)
		goto out;
	if (write_all(fd, &h, sizeof(h)) && write_all(fd, entries, n * sizeof(*entries)) &&
	    write_all(fd, slots, h.n_slots * sizeof(*slots)) &&
	    write_all(fd, mod_slots, h.n_mod_slots * sizeof(*mod_slots)) && write_all(fd, b.strings, b.len) &&
	    close(fd) == 0) {
		fd = -1;
		if (rename(tmp, final) == 0) {
			prune(dir);
			goto out;
		}
	}
	unlink(tmp);
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(dircopy);
	free(entries);
	free(slots);
	free(mod_slots);
	free(b.strings);
	kabi_hash_fini(&b.offsets);
}
