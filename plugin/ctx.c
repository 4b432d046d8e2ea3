/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The library context: options, the last error, warnings, cached references. */
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
	char *symvers_path;            /* explicit reference, or NULL */
	struct kabi_symvers *explicit; /* loaded on first use */
	bool explicit_failed;
	struct kabi_hash references;   /* release -> struct kabi_symvers * (or &no_reference) */
};

/* Marks a release whose reference was searched for and not found. */
static char no_reference;

static void log_stderr(void *data, int level, const char *msg)
{
	(void)data;
	fprintf(stderr, "kabi-deps: %s%s\n", level <= KABI_LOG_ERR ? "error: " :
		level == KABI_LOG_WARNING ? "warning: " : "", msg);
}

KABI_EXPORT struct kabi_ctx *kabi_ctx_new(void)
{
	struct kabi_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	elf_version(EV_CURRENT);
	ctx->log_fn = log_stderr;
	ctx->max_size = KABI_DEFAULT_MAX_SIZE;
	return ctx;
}

static void drop_references(struct kabi_ctx *ctx)
{
	for (size_t i = 0; i < ctx->references.cap; i++) {
		if (ctx->references.keys[i]) {
			if (ctx->references.values[i] != &no_reference)
				kabi_symvers_free(ctx->references.values[i]);
			free((char *)ctx->references.keys[i]);
		}
	}
	kabi_hash_fini(&ctx->references);
	kabi_symvers_free(ctx->explicit);
	ctx->explicit = NULL;
	ctx->explicit_failed = false;
}

KABI_EXPORT void kabi_ctx_free(struct kabi_ctx *ctx)
{
	if (!ctx)
		return;
	drop_references(ctx);
	free(ctx->buildroot);
	free(ctx->symvers_path);
	free(ctx);
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

static int replace_string(char **dst, const char *src)
{
	char *copy = NULL;

	if (src && !(copy = strdup(src)))
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

KABI_EXPORT int kabi_ctx_set_buildroot(struct kabi_ctx *ctx, const char *root)
{
	/* "/" and "" both mean no buildroot; a trailing slash is dropped. */
	size_t len = root ? strlen(root) : 0;

	while (len > 0 && root[len - 1] == '/')
		len--;
	drop_references(ctx);
	free(ctx->buildroot);
	ctx->buildroot = NULL;
	if (len && !(ctx->buildroot = strndup(root, len)))
		return -ENOMEM;
	return 0;
}

KABI_EXPORT void kabi_ctx_set_max_size(struct kabi_ctx *ctx, size_t bytes)
{
	ctx->max_size = bytes ? bytes : KABI_DEFAULT_MAX_SIZE;
}

KABI_EXPORT int kabi_ctx_set_symvers(struct kabi_ctx *ctx, const char *path)
{
	drop_references(ctx);
	return replace_string(&ctx->symvers_path, path && *path ? path : NULL);
}

size_t kabi_ctx_max_size(const struct kabi_ctx *ctx)
{
	return ctx->max_size;
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

/* Where kernels keep their Module.symvers, most specific first: the
 * release goes between the two parts.  See module-formats.md section 4. */
static const struct {
	const char *before, *after;
} reference_places[] = {
	{ "/usr/src/kernels/", "/Module.symvers" },
	{ "/lib/modules/", "/build/Module.symvers" },
	{ "/usr/src/linux-headers-", "/Module.symvers" },
	{ "/lib/modules/", "/symvers.xz" },
	{ "/lib/modules/", "/symvers.gz" },
	{ "/lib/modules/", "/symvers.zst" },
	{ "/usr/lib/modules/", "/symvers.xz" },
	{ "/usr/lib/modules/", "/symvers.gz" },
	{ "/usr/lib/modules/", "/symvers.zst" },
	{ "/boot/symvers-", ".xz" },
	{ "/boot/symvers-", ".gz" },
	{ "/boot/symvers-", ".zst" },
};

static struct kabi_symvers *search_reference(struct kabi_ctx *ctx, const char *release)
{
	const char *roots[] = { ctx->buildroot, "" };

	/* A release is one path component: never let it walk elsewhere. */
	if (strchr(release, '/') || strcmp(release, "..") == 0)
		return NULL;
	for (size_t r = 0; r < 2; r++) {
		if (!roots[r])
			continue;
		for (size_t i = 0; i < sizeof(reference_places) / sizeof(*reference_places); i++) {
			char path[4096];
			struct kabi_symvers *sv;
			int n = snprintf(path, sizeof(path), "%s%s%s%s", roots[r],
					 reference_places[i].before, release, reference_places[i].after);

			if (n < 0 || (size_t)n >= sizeof(path) || access(path, R_OK) != 0)
				continue;
			if (kabi_symvers_open(ctx, path, &sv) == 0)
				return sv;
			kabi_log(ctx, KABI_LOG_WARNING, "%s: %s", path, ctx->error);
		}
	}
	return NULL;
}

KABI_EXPORT const struct kabi_symvers *kabi_ctx_reference(struct kabi_ctx *ctx, const char *release)
{
	struct kabi_symvers *sv;
	char *key;

	if (ctx->symvers_path) {
		if (!ctx->explicit && !ctx->explicit_failed &&
		    kabi_symvers_open(ctx, ctx->symvers_path, &ctx->explicit) < 0) {
			kabi_log(ctx, KABI_LOG_ERR, "%s: %s", ctx->symvers_path, ctx->error);
			ctx->explicit_failed = true;
		}
		return ctx->explicit;
	}
	if (!release || !*release)
		return NULL;
	sv = kabi_hash_get(&ctx->references, release);
	if (sv)
		return sv == (void *)&no_reference ? NULL : sv;

	sv = search_reference(ctx, release);
	if (!sv)
		kabi_log(ctx, KABI_LOG_WARNING,
			 "no Module.symvers or symvers.gz found for kernel %s%s%s: imports are "
			 "required as ksym(), not kernel(); install that kernel's devel/headers "
			 "package or pass --symvers", release,
			 ctx->buildroot ? " under the buildroot or on this host" : "",
			 ctx->buildroot ? "" : " on this host");
	key = strdup(release);
	if (!key || kabi_hash_put(&ctx->references, key, sv ? (void *)sv : &no_reference) < 0) {
		free(key);
		kabi_symvers_free(sv);
		return NULL;
	}
	return sv;
}
