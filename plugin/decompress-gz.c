/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gzip backend (zlib, loaded when first needed), for .ko.gz and symvers.gz. */
#include <errno.h>
#include <stdlib.h>
#include <zlib.h>

#include "libkabideps-private.h"

static struct {
	__typeof__(inflateInit2_) *init2_; /* what the inflateInit2() macro calls */
	__typeof__(inflate) *inflate;
	__typeof__(inflateEnd) *end;
} gz;
static const char *const gz_symbols[] = { "inflateInit2_", "inflate", "inflateEnd", NULL };
static void *const gz_targets[] = { &gz.init2_, &gz.inflate, &gz.end };
static struct kabi_lazylib zlib = {
	.soname = "libz.so.1", .needed_for = "gzip-compressed", .symbols = gz_symbols, .targets = gz_targets
};

int kabi_gunzip(struct kabi_ctx *ctx, const void *in, size_t in_size, size_t max, unsigned char **out,
		size_t *out_size)
{
	z_stream zs = { .next_in = (Bytef *)in };
	unsigned char *buf = NULL;
	size_t cap = 0, left = in_size;
	int zr = Z_OK, r = kabi_lazylib_load(ctx, &zlib);

	if (r < 0)
		return r;
	if (gz.init2_(&zs, 15 + 16, ZLIB_VERSION, (int)sizeof(zs)) != Z_OK)
		return kabi_fail(ctx, ENOMEM, "gzip: cannot initialise zlib");
	while (zr != Z_STREAM_END) {
		if (zs.total_out == cap && (r = kabi_grow_output(ctx, &buf, &cap, max)) < 0)
			break;
		zs.next_out = buf + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out > UINT32_MAX ? UINT32_MAX : cap - zs.total_out);
		if (zs.avail_in == 0) {
			zs.avail_in = (uInt)(left > UINT32_MAX ? UINT32_MAX : left);
			left -= zs.avail_in;
		}
		zr = gz.inflate(&zs, Z_NO_FLUSH);
		if (zr == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) {
			r = kabi_fail(ctx, EINVAL, "gzip: compressed data is truncated");
			break;
		}
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			r = kabi_fail(ctx, EINVAL, "gzip: corrupt compressed data (%s)",
				      zs.msg ? zs.msg : "inflate failed");
			break;
		}
	}
	*out_size = zs.total_out;
	gz.end(&zs);
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}
