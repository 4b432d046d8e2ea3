/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* File contents: a private mapping of a plain file, or the decompressed bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libkabideps-private.h"

/* (for the spare buffer: what the sanitizers would see of fresh memory) */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#if __has_include(<sanitizer/asan_interface.h>)
#include <sanitizer/asan_interface.h>
#endif
#endif
#ifndef VALGRIND_MAKE_MEM_UNDEFINED
#define VALGRIND_MAKE_MEM_UNDEFINED(addr, len) ((void)(addr), (void)(len))
#define VALGRIND_MAKE_MEM_NOACCESS(addr, len) ((void)(addr), (void)(len))
#endif
#ifndef ASAN_POISON_MEMORY_REGION
#define ASAN_POISON_MEMORY_REGION(addr, len) ((void)(addr), (void)(len))
#define ASAN_UNPOISON_MEMORY_REGION(addr, len) ((void)(addr), (void)(len))
#endif

enum kabi_compression kabi_detect_compression(const void *data, size_t size)
{
	const unsigned char *p = data;

	if (size >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return KABI_COMP_GZIP;
	if (size >= 6 && memcmp(p,
				"\xfd"
				"7zXZ\0",
				6) == 0)
		return KABI_COMP_XZ;
	if (size >= 4 && memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0)
		return KABI_COMP_ZSTD;
	return KABI_COMP_NONE;
}

static int decompress(struct kabi_ctx *ctx, const void *in, size_t size, struct kabi_buf *buf)
{
	size_t max = kabi_ctx_max_size(ctx);

	switch (kabi_detect_compression(in, size)) {
	case KABI_COMP_GZIP:
		return kabi_gunzip(ctx, in, size, max, buf);
	case KABI_COMP_XZ:
		return kabi_unxz(ctx, in, size, max, buf);
	case KABI_COMP_ZSTD:
		return kabi_unzstd(ctx, in, size, max, buf);
	case KABI_COMP_NONE:
		break;
	}
	return 1;
}

int kabi_buf_from_mem(struct kabi_ctx *ctx, const void *data, size_t size, struct kabi_buf *buf)
{
	int r;

	*buf = (struct kabi_buf){ .fd = -1 };
	r = decompress(ctx, data, size, buf);
	if (r <= 0)
		return r;
	if (size > kabi_ctx_max_size(ctx))
		return kabi_fail(ctx, EFBIG, "file is larger than the limit of %zu bytes",
				 kabi_ctx_max_size(ctx));
	/* +1 so that an empty input still gets a distinct buffer */
	buf->data = malloc(size + 1);
	if (!buf->data)
		return kabi_fail(ctx, ENOMEM, "out of memory");
	memcpy(buf->data, data, size);
	buf->size = size;
	return 0;
}

/* A directory opened for the next file in it: a tree comes directory by
 * directory, and the kernel walks every component of every path given it
 * (14 in a Debian tree; a sixth of a provides pass).  Kept for a short
 * while only, so that a later batch sees a directory renamed and replaced
 * as the new one; within a batch the paths are resolved as when its
 * directory was first opened, as fts(3) does. */
#define DIR_KEEP_NS 1000000000L

void kabi_dir_cache_fini(struct kabi_dir_cache *dc)
{
	if (dc->fd >= 0)
		close(dc->fd);
	free(dc->path);
	*dc = (struct kabi_dir_cache){ .fd = -1 };
}

static long elapsed_ns(const struct timespec *from, const struct timespec *to)
{
	return (to->tv_sec - from->tv_sec) * 1000000000L + (to->tv_nsec - from->tv_nsec);
}

static int open_file(struct kabi_ctx *ctx, const char *path)
{
	struct kabi_dir_cache *dc = kabi_ctx_dir_cache(ctx);
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;
	struct timespec now;
	int fd;

	/* absolute paths only: a relative one follows the working directory */
	if (path[0] != '/' || !len || !slash[1] || clock_gettime(CLOCK_MONOTONIC_COARSE, &now) < 0)
		return open(path, O_RDONLY | O_CLOEXEC);
	if (dc->fd >= 0 && (dc->len != len || memcmp(dc->path, path, len) != 0 ||
			    elapsed_ns(&dc->at, &now) > DIR_KEEP_NS || elapsed_ns(&dc->at, &now) < 0))
		kabi_dir_cache_fini(dc);
	if (dc->fd < 0) {
		if (!(dc->path = strndup(path, len)))
			return open(path, O_RDONLY | O_CLOEXEC);
		dc->len = len;
		dc->fd = open(dc->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dc->fd < 0) {
			kabi_dir_cache_fini(dc);
			return open(path, O_RDONLY | O_CLOEXEC);
		}
	}
	dc->at = now;
	fd = openat(dc->fd, slash + 1, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	/* (the directory may be gone) any failure the way the whole path
	 * fails, with its own errno */
	kabi_dir_cache_fini(dc);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Open a regular, non-empty file of sane size. */
static int open_regular(struct kabi_ctx *ctx, const char *path, size_t *size)
{
	struct stat st;
	int fd = open_file(ctx, path), r;

	if (fd < 0)
		return kabi_fail(ctx, errno, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) < 0)
		r = kabi_fail(ctx, errno, "cannot stat: %s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		r = kabi_fail(ctx, EINVAL, "not a regular file");
	else if (st.st_size == 0)
		r = kabi_fail(ctx, EINVAL, "empty file");
	else if ((uint64_t)st.st_size > kabi_ctx_max_size(ctx))
		r = kabi_fail(ctx, EFBIG, "file is larger than the limit of %zu bytes",
			      kabi_ctx_max_size(ctx));
	else
		r = 0;
	if (r < 0) {
		close(fd);
		return r;
	}
	*size = (size_t)st.st_size;
	return fd;
}

static int map_and_decompress(struct kabi_ctx *ctx, int fd, size_t size, struct kabi_buf *buf)
{
	/* Private and writable: the text parsers split lines in place (libelf
	 * converts into copies of its own), and only the pages written to are
	 * copied. */
	void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	int r;

	if (map == MAP_FAILED)
		return kabi_fail(ctx, errno, "cannot map: %s", strerror(errno));
	r = decompress(ctx, map, size, buf);
	if (r <= 0) {
		munmap(map, size);
		return r;
	}
	buf->data = map;
	buf->size = size;
	buf->map_size = size;
	return 0;
}

int kabi_buf_load(struct kabi_ctx *ctx, const char *path, struct kabi_buf *buf)
{
	size_t size;
	int fd, r;

	*buf = (struct kabi_buf){ .fd = -1 };
	fd = open_regular(ctx, path, &size);
	if (fd < 0)
		return fd;
	r = map_and_decompress(ctx, fd, size, buf);
	close(fd);
	return r;
}

/* Plain modules of up to this size are read whole, in one call.  Of larger
 * ones only the head now (the ELF header, and the small sections that often
 * follow it: __kcrctab, __ksymtab_strings): the reader then asks for the
 * section headers and the sections it reads (read(2) copies the bytes: on a
 * 6.1 tree picking them out copies 36 MB instead of 150 MB a pass, in about
 * three calls a module). */
#define WHOLE_FILE ((size_t)8 << 10)
#define HEAD ((size_t)512)

static bool have_block(const struct kabi_buf *buf, size_t b)
{
	return buf->have[b / 8] & (1u << (b % 8));
}

/* The first block from b on, up to last + 1, that is read (want true) or
 * not: a byte of the bitmap at a time where it is all one (a section of
 * 100 KiB is 1,600 blocks). */
static size_t next_block(const struct kabi_buf *buf, size_t b, size_t last, bool want)
{
	unsigned char skip = want ? 0x00 : 0xff;

	while (b <= last) {
		if (b % 8 == 0 && buf->have[b / 8] == skip)
			b += 8;
		else if (have_block(buf, b) == want)
			return b;
		else
			b++;
	}
	return last + 1;
}

static void mark_blocks(struct kabi_buf *buf, size_t b, size_t end)
{
	for (; b <= end && b % 8; b++)
		buf->have[b / 8] |= (unsigned char)(1u << (b % 8));
	if (b + 8 <= end + 1) {
		memset(buf->have + b / 8, 0xff, (end + 1 - b) / 8);
		b += (end + 1 - b) / 8 * 8;
	}
	for (; b <= end; b++)
		buf->have[b / 8] |= (unsigned char)(1u << (b % 8));
}

int kabi_buf_need(struct kabi_ctx *ctx, struct kabi_buf *buf, uint64_t off, uint64_t len)
{
	size_t first, last;

	if (!buf->have || len == 0 || off >= buf->size)
		return 0;
	if (len > buf->size - off)
		len = buf->size - off;
	first = (size_t)off / KABI_BLOCK;
	last = (size_t)(off + len - 1) / KABI_BLOCK;
	/* one read per run of missing blocks */
	for (size_t b = next_block(buf, first, last, false); b <= last; b = next_block(buf, b, last, false)) {
		size_t end = next_block(buf, b, last, true) - 1, start, want, got = 0;

		start = b * KABI_BLOCK;
		want = (end + 1) * KABI_BLOCK < buf->size ? (end + 1) * KABI_BLOCK - start :
							    buf->size - start;
		while (got < want) {
			ssize_t n = pread(buf->fd, buf->data + start + got, want - got, (off_t)(start + got));

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return kabi_fail(ctx, errno, "cannot read: %s", strerror(errno));
			if (n == 0)
				return kabi_fail(ctx, EIO,
						 "file shrank while being read (%zu bytes, was %zu)",
						 start + got, buf->size);
			got += (size_t)n;
		}
		mark_blocks(buf, b, end);
		b = end + 1;
	}
	return 0;
}

/* A plain module's buffer: one context's modules come one after another,
 * and each took a fresh malloc as big as its file (~100 KB), whose
 * malloc and free consolidate the small blocks freed since: 2.7% of the
 * instructions of a provides pass over Debian's 6.1 tree, 0.8% of a
 * requires pass (callgrind).  So each context keeps one spare, lent to the next module
 * that fits and given back when that one's buffer is released.  The spare
 * is an anonymous mapping of its own, not the heap's: malloc never sees it
 * (see OWN_MAPPING for why big heap blocks matter) and the pages modules
 * read stay for the next.  Only those pages are ever resident (reads are
 * sparse), at most SPARE_SIZE for the life of the context, and a fork
 * copies one page table for it: 2 MiB takes 4,006 of the 4,023 modules of
 * Debian's 6.1 tree; larger ones are allocated each, as before.  One
 * spare: what opens modules one at a time gets it every time, what holds
 * many gets it for one. */
#define SPARE_SIZE ((size_t)2 << 20)

struct kabi_buf_pool {
	/* the spare while not lent; NULL: lent, or not made yet; &orphan:
	 * the context is gone, the buffer lent frees the pool */
	_Atomic(unsigned char *) spare;
	bool made; /* (only the context's thread looks at these two) */
	bool asked; /* a buffer was asked for before */
};

static unsigned char orphan;

/* To ASan and memcheck a spare lent is what two fresh allocations would
 * be, its data (undefined: what the last module left is no content of
 * this one) and its bitmap, the rest out of bounds; at home all of it. */
static void mark_home(unsigned char *p)
{
	ASAN_POISON_MEMORY_REGION(p, SPARE_SIZE);
	VALGRIND_MAKE_MEM_NOACCESS(p, SPARE_SIZE);
}

static void mark_lent(unsigned char *p, size_t len, unsigned char *have, size_t bitmap)
{
	mark_home(p);
	ASAN_UNPOISON_MEMORY_REGION(p, len);
	ASAN_UNPOISON_MEMORY_REGION(have, bitmap);
	VALGRIND_MAKE_MEM_UNDEFINED(p, len);
	VALGRIND_MAKE_MEM_UNDEFINED(have, bitmap);
}

static void unmap_spare(unsigned char *p)
{
	ASAN_UNPOISON_MEMORY_REGION(p, SPARE_SIZE);
	munmap(p, SPARE_SIZE);
}

/* Between a lent spare's data and its bitmap, at least this many bytes
 * out of bounds (aligned: ASan poisons 8-byte granules).  The bitmap
 * lies just after the data, whose end (the section headers) is always
 * read: mostly no page of its own to fault in. */
#define BITMAP_GAP ((size_t)64)

/* The context's spare as the buffer of a sparse read of size bytes, with
 * the NUL room after them, then the bitmap; false: too big, lent out, or
 * no memory. */
static bool borrow_spare(struct kabi_ctx *ctx, struct kabi_buf *file, size_t bitmap)
{
	struct kabi_buf_pool **pool = kabi_ctx_buf_pool(ctx);
	size_t at = (file->size + BITMAP_GAP) / BITMAP_GAP * BITMAP_GAP + BITMAP_GAP;
	unsigned char *p;

	if (file->size >= SPARE_SIZE || at > SPARE_SIZE - bitmap)
		return false;
	if (!*pool) {
		if (!(*pool = malloc(sizeof(**pool))))
			return false;
		atomic_init(&(*pool)->spare, NULL);
		(*pool)->made = (*pool)->asked = false;
	}
	/* (a buffer may come back on another thread: exchanged, not read) */
	p = atomic_exchange(&(*pool)->spare, NULL);
	if (!p && !(*pool)->made) {
		/* the first module from the heap, as before: a process that
		 * reads one (rpm < 4.16 runs one a module) faults no page more */
		if (!(*pool)->asked) {
			(*pool)->asked = true;
			return false;
		}
		p = mmap(NULL, SPARE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return false;
		(*pool)->made = true;
	}
	if (!p)
		return false;
	file->data = p;
	file->have = p + at;
	file->pool = *pool;
	mark_lent(p, file->size + 1, file->have, bitmap);
	return true;
}

static void give_back(struct kabi_buf_pool *pool, unsigned char *p)
{
	mark_home(p);
	if (atomic_exchange(&pool->spare, p) == &orphan) {
		unmap_spare(p);
		free(pool);
	}
}

void kabi_buf_pool_free(struct kabi_buf_pool *pool)
{
	unsigned char *p;

	if (!pool)
		return;
	p = atomic_exchange(&pool->spare, &orphan);
	if (!p && pool->made)
		return; /* lent: freed when it comes back */
	if (p)
		unmap_spare(p);
	free(pool);
}

int kabi_buf_open(struct kabi_ctx *ctx, const char *path, struct kabi_buf *buf)
{
	struct kabi_buf file = { .fd = -1 };
	size_t size, bitmap;
	int fd, r;

	*buf = (struct kabi_buf){ .fd = -1 };
	fd = open_regular(ctx, path, &size);
	if (fd < 0)
		return fd;
	file.fd = fd;
	file.size = size;
	bitmap = (size + KABI_BLOCK - 1) / KABI_BLOCK / 8 + 1;
	if (borrow_spare(ctx, &file, bitmap)) {
		/* nothing read yet, whatever the spare held */
		memset(file.have, 0, bitmap);
	} else {
		/* +1: room for the NUL text parsers may add */
		file.data = malloc(size + 1);
		file.have = calloc(bitmap, 1);
	}
	if (!file.data || !file.have)
		r = kabi_fail(ctx, ENOMEM, "out of memory");
	else
		r = kabi_buf_need(ctx, &file, 0, size <= WHOLE_FILE ? size : HEAD);
	if (r == 0 && kabi_detect_compression(file.data, size) != KABI_COMP_NONE) {
		/* compressed: all of it, decompressed; then the file is done with */
		r = kabi_buf_need(ctx, &file, 0, size);
		if (r == 0)
			r = decompress(ctx, file.data, size, buf);
		kabi_buf_release(&file);
		return r;
	}
	if (r < 0) {
		kabi_buf_release(&file);
		return r;
	}
	*buf = file;
	return 0;
}

void kabi_buf_close_file(struct kabi_buf *buf)
{
	if (buf->fd >= 0)
		close(buf->fd);
	buf->fd = -1;
}

void kabi_buf_release(struct kabi_buf *buf)
{
	kabi_buf_close_file(buf);
	if (buf->pool) {
		give_back(buf->pool, buf->data); /* the bitmap with it */
	} else {
		if (buf->map_size)
			munmap(buf->data, buf->map_size);
		else
			free(buf->data);
		free(buf->have);
	}
	*buf = (struct kabi_buf){ .fd = -1 };
}

bool kabi_buf_has_nul_room(const struct kabi_buf *buf)
{
	/* heap buffers (and a spare lent) are one byte longer than their size; a
	 * decompressed mapping (kabi_output_grow) is longer than what it holds */
	return !buf->map_size || buf->size < buf->map_size;
}

/* Outputs of at least this size are an anonymous mapping of their own, not
 * the heap's: freed, it goes back to the system at once.  From the heap,
 * a module's buffer leaves its pages to the allocator (a freed block of
 * the largest module raises glibc's thresholds for giving memory back to
 * tens of MB), and rpmbuild forks a process per file and generator: each
 * fork copies the page tables of all that memory. */
#define OWN_MAPPING ((size_t)128 << 10)

/* A stream's own claim of its size is believed for the first allocation
 * only up to this ratio to its compressed size (modules compress 3 to 6
 * times): a hostile header claiming 256 MiB for 100 bytes gets a buffer
 * grown by doubling, as far as its data really goes. */
#define HINT_MAX_RATIO 64

/* The first buffer: exactly what the stream says it holds, and one byte
 * more, so that the decoder sees the end with room left (else it would
 * return full before reading the end and the buffer would be doubled). */
static int output_first(struct kabi_ctx *ctx, struct kabi_buf *out, size_t *cap, size_t hint)
{
	void *p = MAP_FAILED;

	*cap = hint + 1;
	/* (populated: the decoder writes every page) */
	if (*cap + 1 >= OWN_MAPPING)
		p = mmap(NULL, *cap + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
			 -1, 0);
	if (p != MAP_FAILED) {
		out->map_size = *cap + 1;
		out->data = p;
	} else if (!(out->data = malloc(*cap + 1))) {
		return kabi_fail(ctx, ENOMEM, "out of memory while decompressing");
	}
	return 0;
}

int kabi_output_grow(struct kabi_ctx *ctx, struct kabi_buf *out, size_t *cap, uint64_t hint, size_t in_size,
		     size_t max)
{
	size_t want = *cap ? *cap * 2 : (size_t)1 << 20;
	unsigned char *p;

	if (!out->data && hint && hint < max && hint / HINT_MAX_RATIO <= in_size)
		return output_first(ctx, out, cap, (size_t)hint);
	if (*cap >= max)
		return kabi_fail(ctx, EFBIG, "decompressed data exceeds the limit of %zu bytes", max);
	if (want > max)
		want = max;
	/* more than the stream said, or it said nothing: grown on the heap;
	 * +1 keeps room for a terminating NUL that text parsers may add */
	if (out->map_size) {
		if ((p = malloc(want + 1))) {
			memcpy(p, out->data, out->size);
			munmap(out->data, out->map_size);
			out->map_size = 0;
		}
	} else {
		p = realloc(out->data, want + 1);
	}
	if (!p)
		return kabi_fail(ctx, ENOMEM, "out of memory while decompressing");
	out->data = p;
	*cap = want;
	return 0;
}
