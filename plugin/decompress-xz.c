/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* xz backend (liblzma, loaded when first needed), for .ko.xz and symvers.xz. */
#include <errno.h>
#include <lzma.h>
#include <stdlib.h>

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

int kabi_unxz(struct kabi_ctx *ctx, const void *in, size_t in_size, size_t max, struct kabi_buf *out)
{
	lzma_stream xs = LZMA_STREAM_INIT;
	size_t cap = 0;
	uint64_t hint;
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
	hint = indexed_size(in, in_size);
	do {
		if (xs.total_out == cap && (r = kabi_output_grow(ctx, out, &cap, hint, in_size, max)) < 0)
			break;
		xs.next_out = out->data + xs.total_out;
		xs.avail_out = cap - xs.total_out;
		ret = xz.code(&xs, LZMA_FINISH);
		out->size = xs.total_out;
	} while (ret == LZMA_OK);
	if (r == 0 && ret != LZMA_STREAM_END)
		r = kabi_fail(ctx, EINVAL, "xz: %s", xz_strerror(ret));
	xz.end(&xs);
	if (r < 0)
		kabi_buf_release(out);
	return r;
}
