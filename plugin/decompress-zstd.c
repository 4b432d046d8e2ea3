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
} zstd;
static const char *const zstd_symbols[] = { "ZSTD_createDCtx",
					    "ZSTD_DCtx_setParameter",
					    "ZSTD_decompressStream",
					    "ZSTD_isError",
					    "ZSTD_getErrorName",
					    "ZSTD_freeDCtx",
					    NULL };
static void *const zstd_targets[] = { &zstd.create,   &zstd.set_parameter, &zstd.decompress_stream,
				      &zstd.is_error, &zstd.error_name,	   &zstd.free };
static struct kabi_lazylib libzstd = { .soname = "libzstd.so.1",
				       .needed_for = "zstd-compressed",
				       .symbols = zstd_symbols,
				       .targets = zstd_targets };

int kabi_unzstd(struct kabi_ctx *ctx, const void *in, size_t in_size, size_t max, unsigned char **out,
		size_t *out_size)
{
	ZSTD_DCtx *dctx;
	ZSTD_inBuffer zin = { in, in_size, 0 };
	unsigned char *buf = NULL;
	size_t cap = 0, pos = 0, ret = 1;
	int r = kabi_lazylib_load(ctx, &libzstd);

	if (r < 0)
		return r;
	if (!(dctx = zstd.create()))
		return kabi_fail(ctx, ENOMEM, "zstd: cannot create a decoder");
	/* Bound the window a hostile frame header may ask for (kernel: 2^27). */
	zstd.set_parameter(dctx, ZSTD_d_windowLogMax, 27);
	while (ret != 0) {
		ZSTD_outBuffer zout;

		if (pos == cap && (r = kabi_grow_output(ctx, &buf, &cap, max)) < 0)
			break;
		zout = (ZSTD_outBuffer){ buf, cap, pos };
		ret = zstd.decompress_stream(dctx, &zout, &zin);
		pos = zout.pos;
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
	*out_size = pos;
	zstd.free(dctx);
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}
