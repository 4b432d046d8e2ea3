/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gzip backend (zlib, loaded when first needed), for .ko.gz and symvers.gz. */
#include <errno.h>
#include <stdlib.h>
#include <zlib.h>

#include "libkabideps-private.h"

static struct {
	__typeof__(inflateInit2_) *init2_; /* what the inflateInit2() macro calls */
	__typeof__(inflate) *inflate;
	__typeof__(inflateReset) *reset;
	__typeof__(inflateEnd) *end;
} gz;
static const char *const gz_symbols[] = { "inflateInit2_", "inflate", "inflateReset", "inflateEnd", NULL };
static void *const gz_targets[] = { &gz.init2_, &gz.inflate, &gz.reset, &gz.end };
static struct kabi_lazylib zlib = {
	.soname = "libz.so.1", .needed_for = "gzip-compressed", .symbols = gz_symbols, .targets = gz_targets
};

/* What the last gzip member's trailer says it holds (ISIZE: its size
 * modulo 2^32, exact below the size limit; the whole output when it is the
 * only member, as gzip(1) writes), or 0. */
static uint64_t trailer_size(const unsigned char *in, size_t size)
{
	if (size < 18) /* header and trailer */
		return 0;
	in += size - 4;
	return (uint64_t)in[0] | (uint64_t)in[1] << 8 | (uint64_t)in[2] << 16 | (uint64_t)in[3] << 24;
}

int kabi_gunzip(struct kabi_ctx *ctx, const void *in, size_t in_size, size_t max, struct kabi_buf *out)
{
	z_stream zs = { .next_in = (Bytef *)in };
	size_t cap = 0, left = in_size;
	uint64_t hint = trailer_size(in, in_size);
	int zr = Z_OK, r = kabi_lazylib_load(ctx, &zlib);

	if (r < 0)
		return r;
	if (gz.init2_(&zs, 15 + 16, ZLIB_VERSION, (int)sizeof(zs)) != Z_OK)
		return kabi_fail(ctx, ENOMEM, "gzip: cannot initialise zlib");
	while (zr != Z_STREAM_END) {
		uInt room;

		if (out->size == cap && (r = kabi_output_grow(ctx, out, &cap, hint, in_size, max)) < 0)
			break;
		zs.next_out = out->data + out->size;
		room = (uInt)(cap - out->size > UINT32_MAX ? UINT32_MAX : cap - out->size);
		zs.avail_out = room;
		if (zs.avail_in == 0) {
			zs.avail_in = (uInt)(left > UINT32_MAX ? UINT32_MAX : left);
			left -= zs.avail_in;
		}
		zr = gz.inflate(&zs, Z_NO_FLUSH);
		out->size += room - zs.avail_out;
		if (zr == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) {
			r = kabi_fail(ctx, EINVAL, "gzip: compressed data is truncated");
			break;
		}
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			r = kabi_fail(ctx, EINVAL, "gzip: corrupt compressed data (%s)",
				      zs.msg ? zs.msg : "inflate failed");
			break;
		}
		/* A member followed by more input: the next member, as gzip(1)
		 * reads them (total_out is the member's: the size is out's). */
		if (zr == Z_STREAM_END && (zs.avail_in || left)) {
			gz.reset(&zs);
			zr = Z_OK;
		}
	}
	gz.end(&zs);
	if (r < 0)
		kabi_buf_release(out);
	return r;
}
