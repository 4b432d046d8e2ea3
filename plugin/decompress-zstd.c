/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* zstd backend (libzstd), for .ko.zst. */
#include <errno.h>
#include <stdlib.h>
#include <zstd.h>

#include "libkabideps-private.h"

int kabi_unzstd(struct kabi_ctx *ctx, const void *in, size_t in_size, size_t max, unsigned char **out,
		size_t *out_size)
{
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	ZSTD_inBuffer zin = { in, in_size, 0 };
	unsigned char *buf = NULL;
	size_t cap = 0, pos = 0, ret = 1;
	int r = 0;

	if (!dctx)
		return kabi_fail(ctx, ENOMEM, "zstd: cannot create a decoder");
	/* Bound the window a hostile frame header may ask for (kernel: 2^27). */
	ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 27);
	while (ret != 0) {
		ZSTD_outBuffer zout;

		if (pos == cap && (r = kabi_grow_output(ctx, &buf, &cap, max)) < 0)
			break;
		zout = (ZSTD_outBuffer){ buf, cap, pos };
		ret = ZSTD_decompressStream(dctx, &zout, &zin);
		pos = zout.pos;
		if (ZSTD_isError(ret)) {
			r = kabi_fail(ctx, EINVAL, "zstd: %s", ZSTD_getErrorName(ret));
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
	ZSTD_freeDCtx(dctx);
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}
