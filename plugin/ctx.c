/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The library context: the last error, warnings, the buildroot and size cap;
 * it holds the options (options.c) and the reference cache (reference.c). */
#include <errno.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libkabideps-private.h"

struct kabi_ctx {
	char error[512];
	kabi_log_fn log_fn;
	void *log_data;
	char *buildroot;
	size_t max_size;
	struct kabi_options opts;
	struct kabi_refs *refs;
	struct kabi_read_ahead *read_ahead; /* modules read on worker threads */
	struct kabi_dir_cache dirs;
	struct kabi_buf_pool *buf_pool; /* made on first use */
	struct kabi_module_scratch *module_scratch; /* made on first use */
};

static void log_stderr(void *data, int level, const char *msg)
{
	(void)data;
	fprintf(stderr, "kabi-deps: %s%s\n",
		level <= KABI_LOG_ERR	  ? "error: " :
		level == KABI_LOG_WARNING ? "warning: " :
					    "",
		msg);
}

KABI_EXPORT struct kabi_ctx *kabi_ctx_new(void)
{
	struct kabi_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->refs = kabi_refs_new();
	if (!ctx->refs) {
		free(ctx);
		return NULL;
	}
	elf_version(EV_CURRENT);
	ctx->log_fn = log_stderr;
	ctx->max_size = KABI_DEFAULT_MAX_SIZE;
	ctx->dirs.fd = -1;
	return ctx;
}

KABI_EXPORT void kabi_ctx_free(struct kabi_ctx *ctx)
{
	if (!ctx)
		return;
	kabi_read_ahead_free(ctx->read_ahead);
	kabi_refs_free(ctx->refs);
	kabi_dir_cache_fini(&ctx->dirs);
	kabi_buf_pool_free(ctx->buf_pool);
	kabi_module_scratch_free(ctx->module_scratch);
	free(ctx->buildroot);
	kabi_options_fini(&ctx->opts);
	free(ctx);
}

struct kabi_read_ahead **kabi_ctx_read_ahead_slot(struct kabi_ctx *ctx)
{
	return &ctx->read_ahead;
}

KABI_EXPORT const char *kabi_ctx_error(const struct kabi_ctx *ctx)
{
	return ctx->error;
}

KABI_EXPORT void kabi_ctx_set_log_fn(struct kabi_ctx *ctx, kabi_log_fn fn, void *data)
{
	ctx->log_fn = fn ? fn : log_stderr;
	ctx->log_data = data;
}

KABI_EXPORT int kabi_ctx_set_buildroot(struct kabi_ctx *ctx, const char *root)
{
	/* "/" and "" both mean no buildroot; a trailing slash is dropped. */
	size_t len = root ? strlen(root) : 0;

	while (len > 0 && root[len - 1] == '/')
		len--;
	if (ctx->buildroot ? strlen(ctx->buildroot) == len && strncmp(ctx->buildroot, root, len) == 0 : !len)
		return 0; /* the same: keep what was found under it */
	kabi_refs_drop(ctx->refs);
	free(ctx->buildroot);
	ctx->buildroot = NULL;
	if (len && !(ctx->buildroot = strndup(root, len)))
		return kabi_fail(ctx, ENOMEM, "buildroot: out of memory");
	return 0;
}

KABI_EXPORT void kabi_ctx_set_max_size(struct kabi_ctx *ctx, size_t bytes)
{
	ctx->max_size = bytes ? bytes : KABI_DEFAULT_MAX_SIZE;
}

size_t kabi_ctx_max_size(const struct kabi_ctx *ctx)
{
	return ctx->max_size;
}

const struct kabi_options *kabi_ctx_options(const struct kabi_ctx *ctx)
{
	return &ctx->opts;
}

struct kabi_options *kabi_ctx_options_rw(struct kabi_ctx *ctx)
{
	return &ctx->opts;
}

struct kabi_dir_cache *kabi_ctx_dir_cache(struct kabi_ctx *ctx)
{
	return &ctx->dirs;
}

struct kabi_buf_pool **kabi_ctx_buf_pool(struct kabi_ctx *ctx)
{
	return &ctx->buf_pool;
}

struct kabi_module_scratch **kabi_ctx_module_scratch(struct kabi_ctx *ctx)
{
	return &ctx->module_scratch;
}

struct kabi_refs *kabi_ctx_refs(struct kabi_ctx *ctx)
{
	return ctx->refs;
}

const char *kabi_ctx_buildroot(const struct kabi_ctx *ctx)
{
	return ctx->buildroot;
}

int kabi_fail(struct kabi_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->error, sizeof(ctx->error), fmt, ap);
	va_end(ap);
	return err > 0 ? -err : err;
}

void kabi_log(struct kabi_ctx *ctx, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx->log_fn(ctx->log_data, level, msg);
}
