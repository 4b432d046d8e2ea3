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
} xz;
static const char *const xz_symbols[] = { "lzma_stream_decoder", "lzma_code", "lzma_end", NULL };
static void *const xz_targets[] = { &xz.stream_decoder, &xz.code, &xz.end };
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

int kabi_unxz(struct kabi_ctx *ctx, const void *in, size_t in_size, size_t max, unsigned char **out,
	      size_t *out_size)
{
	lzma_stream xs = LZMA_STREAM_INIT;
	unsigned char *buf = NULL;
	size_t cap = 0;
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
	do {
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
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}
