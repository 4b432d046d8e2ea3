/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* zstd backend (libzstd, loaded when first needed), for .ko.zst. */
#include <errno.h>
#include <stdlib.h>
#include <zstd.h>

#include "libkabideps-private.h"

static struct {
	__typeof__(ZSTD_createDCtx) *create;
	__typeof__(ZSTD_DCtx_setParameter) *set_parameter;
	__typeof__(ZSTD_decompressStream) *decompress_stream;
	__typeof__(ZSTD_isError) *is_error;
	__typeof__(ZSTD_getErrorName) *error_name;
	__typeof__(ZSTD_freeDCtx) *free;
	__typeof__(ZSTD_getFrameContentSize) *content_size;
} zstd;
static const char *const zstd_symbols[] = { "ZSTD_createDCtx",		"ZSTD_DCtx_setParameter",
					    "ZSTD_decompressStream",	"ZSTD_isError",
					    "ZSTD_getErrorName",	"ZSTD_freeDCtx",
					    "ZSTD_getFrameContentSize", NULL };
static void *const zstd_targets[] = { &zstd.create,	 &zstd.set_parameter, &zstd.decompress_stream,
				      &zstd.is_error,	 &zstd.error_name,    &zstd.free,
				      &zstd.content_size };
static struct kabi_lazylib libzstd = { .soname = "libzstd.so.1",
				       .needed_for = "zstd-compressed",
				       .symbols = zstd_symbols,
				       .targets = zstd_targets };

int kabi_unzstd(struct kabi_ctx *ctx, const void *in, size_t in_size, size_t max, struct kabi_buf *out)
{
	ZSTD_DCtx *dctx;
	ZSTD_inBuffer zin = { in, in_size, 0 };
	size_t cap = 0, ret = 1;
	uint64_t hint;
	int r = kabi_lazylib_load(ctx, &libzstd);

	if (r < 0)
		return r;
	/* the first frame's content size, as zstd(1) writes it (a later
	 * frame, or a frame without it, makes the buffer grow) */
	hint = zstd.content_size(in, in_size);
	if (hint == ZSTD_CONTENTSIZE_UNKNOWN || hint == ZSTD_CONTENTSIZE_ERROR)
		hint = 0;
	if (!(dctx = zstd.create()))
		return kabi_fail(ctx, ENOMEM, "zstd: cannot create a decoder");
	/* Bound the window a hostile frame header may ask for (kernel: 2^27). */
	zstd.set_parameter(dctx, ZSTD_d_windowLogMax, 27);
	while (ret != 0) {
		ZSTD_outBuffer zout;

		if (out->size == cap && (r = kabi_output_grow(ctx, out, &cap, hint, in_size, max)) < 0)
			break;
		zout = (ZSTD_outBuffer){ out->data, cap, out->size };
		ret = zstd.decompress_stream(dctx, &zout, &zin);
		out->size = zout.pos;
		if (zstd.is_error(ret)) {
			r = kabi_fail(ctx, EINVAL, "zstd: %s", zstd.error_name(ret));
			break;
		}
		if (ret != 0 && zin.pos == zin.size && zout.pos < zout.size) {
			r = kabi_fail(ctx, EINVAL, "zstd: compressed data is truncated");
			break;
		}
		/* A finished frame followed by more input: another frame. */
		if (ret == 0 && zin.pos < zin.size)
			ret = 1;
	}
	zstd.free(dctx);
	if (r < 0)
		kabi_buf_release(out);
	return r;
}
