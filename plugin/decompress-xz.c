/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* xz backend (liblzma, loaded when first needed), for .ko.xz and symvers.xz. */
#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "libkabideps-private.h"

static struct {
	__typeof__(lzma_stream_decoder) *stream_decoder;
	__typeof__(lzma_code) *code;
	__typeof__(lzma_end) *end;
	__typeof__(lzma_stream_footer_decode) *footer_decode;
	__typeof__(lzma_index_buffer_decode) *index_decode;
	__typeof__(lzma_index_uncompressed_size) *index_size;
	__typeof__(lzma_index_stream_size) *index_stream_size;
	__typeof__(lzma_index_end) *index_end;
} xz;
static const char *const xz_symbols[] = { "lzma_stream_decoder",
					  "lzma_code",
					  "lzma_end",
					  "lzma_stream_footer_decode",
					  "lzma_index_buffer_decode",
					  "lzma_index_uncompressed_size",
					  "lzma_index_stream_size",
					  "lzma_index_end",
					  NULL };
static void *const xz_targets[] = { &xz.stream_decoder,	   &xz.code,	     &xz.end,
				    &xz.footer_decode,	   &xz.index_decode, &xz.index_size,
				    &xz.index_stream_size, &xz.index_end };
static struct kabi_lazylib liblzma = {
	.soname = "liblzma.so.5", .needed_for = "xz-compressed", .symbols = xz_symbols, .targets = xz_targets
};

static const char *xz_strerror(lzma_ret ret)
{
	switch (ret) {
	case LZMA_MEM_ERROR:
		return "out of memory";
	case LZMA_MEMLIMIT_ERROR:
		return "needs more memory than allowed";
	case LZMA_FORMAT_ERROR:
		return "not in xz format";
	case LZMA_OPTIONS_ERROR:
		return "unsupported options";
	case LZMA_DATA_ERROR:
		return "corrupt compressed data";
	case LZMA_BUF_ERROR:
		return "compressed data is truncated";
	default:
		return "decoder failed";
	}
}

/*
 * The decompressed size as the indexes of the streams say (each stream ends
 * with its index and a footer giving the index's size; streams may be
 * concatenated, with zero padding between them), or 0 when they cannot be
 * read.  Only a hint for the first allocation, so that a module is
 * decompressed into one buffer of its size instead of one grown by
 * doubling (realloc copies it, and the last doubling leaves up to half
 * unused); the decoder checks the indexes against the data it decodes.
 */
static uint64_t indexed_size(const unsigned char *in, size_t size)
{
	uint64_t total = 0;

	while (size > 0) {
		lzma_stream_flags flags;
		lzma_index *index = NULL;
		uint64_t memlimit = (uint64_t)16 << 20, stream;
		size_t pos;

		while (size >= 4 && !in[size - 1] && !in[size - 2] && !in[size - 3] && !in[size - 4])
			size -= 4; /* stream padding */
		if (size < 2 * LZMA_STREAM_HEADER_SIZE ||
		    xz.footer_decode(&flags, in + size - LZMA_STREAM_HEADER_SIZE) != LZMA_OK ||
		    flags.backward_size > size - 2 * LZMA_STREAM_HEADER_SIZE)
			return 0;
		pos = size - LZMA_STREAM_HEADER_SIZE - flags.backward_size;
		if (xz.index_decode(&index, &memlimit, NULL, in, &pos, size - LZMA_STREAM_HEADER_SIZE) !=
		    LZMA_OK)
			return 0;
		total += xz.index_size(index);
		stream = xz.index_stream_size(index);
		xz.index_end(index, NULL);
		if (stream > size)
			return 0;
		size -= stream;
	}
	return total;
}

/* Outputs of at least this size are an anonymous mapping of their own, not
 * the heap's: freed, it goes back to the system at once.  From the heap,
 * a module's buffer leaves its pages to the allocator (a freed block of
 * the largest module raises glibc's thresholds for giving memory back to
 * tens of MB), and rpmbuild forks a process per file and generator: each
 * fork copies the page tables of all that memory. */
#define OWN_MAPPING ((size_t)128 << 10)

/* A buffer of cap bytes and one more, mapped or from the heap. */
static unsigned char *output_buffer(size_t cap, size_t *map_size)
{
	void *p;

	*map_size = 0;
	if (cap < OWN_MAPPING)
		return malloc(cap + 1);
	/* (populated: the decoder writes every page) */
	p = mmap(NULL, cap + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return malloc(cap + 1);
	*map_size = cap + 1;
	return p;
}

int kabi_unxz(struct kabi_ctx *ctx, const void *in, size_t in_size, size_t max, unsigned char **out,
	      size_t *out_size, size_t *out_map_size)
{
	lzma_stream xs = LZMA_STREAM_INIT;
	unsigned char *buf = NULL;
	size_t cap = 0, map_size = 0;
	uint64_t hint; /* (over the limit: the decoder stops at it, with the message) */
	lzma_ret ret;
	int r = kabi_lazylib_load(ctx, &liblzma);

	if (r < 0)
		return r;
	/* Kernel modules use small dictionaries; 256 MiB bounds a hostile header. */
	ret = xz.stream_decoder(&xs, (uint64_t)256 << 20, LZMA_CONCATENATED);
	if (ret != LZMA_OK)
		return kabi_fail(ctx, ENOMEM, "xz: %s", xz_strerror(ret));
	xs.next_in = in;
	xs.avail_in = in_size;
	/* room for one byte more than the index says: the decoder then sees
	 * the end with space left, and a text parser has room for its NUL */
	hint = indexed_size(in, in_size);
	if (hint && hint < max) {
		cap = (size_t)hint + 1;
		if (!(buf = output_buffer(cap, &map_size))) {
			xz.end(&xs);
			return kabi_fail(ctx, ENOMEM, "out of memory while decompressing");
		}
	}
	do {
		if (xs.total_out == cap && map_size) {
			/* more than the index said: on the heap, to grow */
			unsigned char *p = malloc(cap + 1);

			if (!p) {
				r = kabi_fail(ctx, ENOMEM, "out of memory while decompressing");
				break;
			}
			memcpy(p, buf, cap);
			munmap(buf, map_size);
			buf = p;
			map_size = 0;
		}
		if (xs.total_out == cap && (r = kabi_grow_output(ctx, &buf, &cap, max)) < 0)
			break;
		xs.next_out = buf + xs.total_out;
		xs.avail_out = cap - xs.total_out;
		ret = xz.code(&xs, LZMA_FINISH);
	} while (ret == LZMA_OK);
	if (r == 0 && ret != LZMA_STREAM_END)
		r = kabi_fail(ctx, EINVAL, "xz: %s", xz_strerror(ret));
	*out_size = xs.total_out;
	xz.end(&xs);
	if (r < 0) {
		if (map_size)
			munmap(buf, map_size);
		else
			free(buf);
		return r;
	}
	*out = buf;
	*out_map_size = map_size;
	return 0;
}
