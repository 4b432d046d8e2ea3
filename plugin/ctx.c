/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The library context: options, the last error, warnings, cached references. */
#include <errno.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libkabideps-private.h"

/* Kernel reference data of one kind, per kernel release. */
struct refcache {
	char *explicit_path; /* set by the user: used for every release */
	void *explicit; /* loaded on first use */
	bool explicit_failed;
	struct kabi_hash by_release; /* release -> object, or &none */
};

struct kabi_ctx {
	char error[512];
	kabi_log_fn log_fn;
	void *log_data;
	char *buildroot;
	size_t max_size;
	struct refcache symvers, symsets;
	struct kabi_options opts;
	struct kabi_hash stablelists; /* arch -> stablelist (or a "none" mark) */
	char *symvers_cache; /* where indexes of Module.symvers files go, or NULL */
};

/* Marks a release whose reference was searched for and not found. */
static char none;

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
	elf_version(EV_CURRENT);
	ctx->log_fn = log_stderr;
	ctx->max_size = KABI_DEFAULT_MAX_SIZE;
	return ctx;
}

static void refcache_clear(struct refcache *rc, void (*free_fn)(void *))
{
	for (size_t i = 0; i < rc->by_release.cap; i++) {
		if (rc->by_release.slots[i].key) {
			if (rc->by_release.slots[i].value != &none)
				free_fn(rc->by_release.slots[i].value);
			free((char *)rc->by_release.slots[i].key);
		}
	}
	kabi_hash_fini(&rc->by_release);
	free_fn(rc->explicit);
	rc->explicit = NULL;
	rc->explicit_failed = false;
}

static void free_symvers(void *p)
{
	kabi_symvers_free(p);
}

static void free_symsets(void *p)
{
	kabi_symsets_free(p);
}

static void drop_references(struct kabi_ctx *ctx)
{
	refcache_clear(&ctx->symvers, free_symvers);
	refcache_clear(&ctx->symsets, free_symsets);
	kabi_stablelists_free(&ctx->stablelists);
}

KABI_EXPORT void kabi_ctx_free(struct kabi_ctx *ctx)
{
	if (!ctx)
		return;
	drop_references(ctx);
	free(ctx->buildroot);
	free(ctx->symvers.explicit_path);
	free(ctx->symsets.explicit_path);
	free(ctx->opts.flavor);
	free(ctx->opts.stablelist);
	free(ctx->opts.triggers);
	free(ctx->symvers_cache);
	kabi_stablelists_free(&ctx->stablelists);
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
	return replace_string(&ctx->symvers.explicit_path, path && *path ? path : NULL);
}

KABI_EXPORT int kabi_ctx_set_symsets(struct kabi_ctx *ctx, const char *path)
{
	drop_references(ctx);
	return replace_string(&ctx->symsets.explicit_path, path && *path ? path : NULL);
}

KABI_EXPORT int kabi_ctx_set_symvers_cache(struct kabi_ctx *ctx, const char *dir)
{
	drop_references(ctx);
	return replace_string(&ctx->symvers_cache, dir && *dir ? dir : NULL);
}

size_t kabi_ctx_max_size(const struct kabi_ctx *ctx)
{
	return ctx->max_size;
}

const struct kabi_options *kabi_ctx_options(const struct kabi_ctx *ctx)
{
	return &ctx->opts;
}

struct choice {
	const char *name;
	int value;
};

static const struct choice kmod_choices[] = {
	{ "none", KABI_KMOD_NONE },
	{ "fedora", KABI_KMOD_FEDORA },
	{ "suse", KABI_KMOD_SUSE },
	{ NULL, 0 },
};
static const struct choice modalias_choices[] = {
	{ "none", KABI_MODALIAS_NONE },
	{ "provides", KABI_MODALIAS_PROVIDES },
	{ "supplements", KABI_MODALIAS_SUPPLEMENTS },
	{ NULL, 0 },
};
static const struct choice firmware_choices[] = {
	{ "none", KABI_FIRMWARE_NONE },
	{ "requires", KABI_FIRMWARE_REQUIRES },
	{ "recommends", KABI_FIRMWARE_RECOMMENDS },
	{ NULL, 0 },
};

static int choose(struct kabi_ctx *ctx, const char *option, const struct choice *choices, const char *value,
		  int *out)
{
	char known[128] = "";

	for (const struct choice *c = choices; c->name; c++) {
		if (strcmp(c->name, value) == 0) {
			*out = c->value;
			return 0;
		}
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
			 c == choices ? "" : ", ", c->name);
	}
	return kabi_fail(ctx, EINVAL, "%s: unknown value '%s' (one of %s)", option, value, known);
}

KABI_EXPORT int kabi_ctx_set_option(struct kabi_ctx *ctx, const char *name, const char *value)
{
	if (!value)
		value = "";
	if (strcmp(name, "kmod") == 0)
		return choose(ctx, name, kmod_choices, *value ? value : "none", &ctx->opts.kmod);
	if (strcmp(name, "modalias") == 0)
		return choose(ctx, name, modalias_choices, *value ? value : "none", &ctx->opts.modalias);
	if (strcmp(name, "firmware") == 0)
		return choose(ctx, name, firmware_choices, *value ? value : "none", &ctx->opts.firmware);
	if (strcmp(name, "flavor") == 0) {
		/* the flavor goes into dependency names: one token, no parentheses */
		if (value[strcspn(value, " \t\n(),:=<>")])
			return kabi_fail(ctx, EINVAL, "flavor: '%s' is not a valid flavor name", value);
		return replace_string(&ctx->opts.flavor, *value ? value : NULL) < 0 ?
			       kabi_fail(ctx, ENOMEM, "out of memory") :
			       0;
	}
	if (strcmp(name, "stablelist") == 0) {
		kabi_stablelists_free(&ctx->stablelists);
		return replace_string(&ctx->opts.stablelist, *value ? value : NULL) < 0 ?
			       kabi_fail(ctx, ENOMEM, "out of memory") :
			       0;
	}
	if (strcmp(name, "triggers") == 0) {
		/* a package name: becomes a Requires line of its own */
		if (value[strcspn(value, " \t\n(),=<>")])
			return kabi_fail(ctx, EINVAL, "triggers: '%s' is not a package name", value);
		return replace_string(&ctx->opts.triggers, *value ? value : NULL) < 0 ?
			       kabi_fail(ctx, ENOMEM, "out of memory") :
			       0;
	}
	return kabi_fail(ctx, EINVAL,
			 "unknown option '%s' (kmod, modalias, firmware, flavor, stablelist, "
			 "triggers)",
			 name);
}

struct kabi_hash *kabi_ctx_stablelist_cache(struct kabi_ctx *ctx)
{
	return &ctx->stablelists;
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

/* Where kernels keep their reference data, most specific first: the
 * release goes between the two parts.  See module-formats.md section 4. */
struct place {
	const char *before, *after;
};

static const struct place symvers_places[] = {
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
	{ NULL, NULL },
};

/* symsets-R.tar.gz beside the kernel's other reference data */
static const struct place symsets_places[] = {
	{ "/usr/src/kernels/", "/symsets-%s.tar.gz" },
	{ "/lib/modules/", "/build/symsets-%s.tar.gz" },
	{ "/usr/src/linux-headers-", "/symsets-%s.tar.gz" },
	{ "/lib/modules/", "/symsets-%s.tar.gz" },
	{ "/usr/lib/modules/", "/symsets-%s.tar.gz" },
	{ "/boot/symsets-", ".tar.gz" },
	{ NULL, NULL },
};

struct refkind {
	const char *what;
	const struct place *places;
	int (*open)(struct kabi_ctx *ctx, const char *path, void **obj);
	bool warn_missing;
};

static int open_symvers(struct kabi_ctx *ctx, const char *path, void **obj)
{
	if (ctx->symvers_cache)
		return kabi_symvers_open_cached(ctx, path, ctx->symvers_cache, (struct kabi_symvers **)obj);
	return kabi_symvers_open(ctx, path, (struct kabi_symvers **)obj);
}

static int open_symsets(struct kabi_ctx *ctx, const char *path, void **obj)
{
	return kabi_symsets_open(ctx, path, (struct kabi_symsets **)obj);
}

static const struct refkind symvers_kind = { "Module.symvers", symvers_places, open_symvers, true };
static const struct refkind symsets_kind = { "symsets", symsets_places, open_symsets, false };

/* "%s" in after stands for the release once more (symsets-R.tar.gz). */
static bool place_path(char *path, size_t size, const char *root, const struct place *pl, const char *release)
{
	const char *mark = strstr(pl->after, "%s");
	int n;

	if (mark)
		n = snprintf(path, size, "%s%s%s%.*s%s%s", root, pl->before, release, (int)(mark - pl->after),
			     pl->after, release, mark + 2);
	else
		n = snprintf(path, size, "%s%s%s%s", root, pl->before, release, pl->after);
	return n > 0 && (size_t)n < size;
}

static void *search_reference(struct kabi_ctx *ctx, const struct refkind *kind, const char *release)
{
	const char *roots[] = { ctx->buildroot, "" };

	/* A release is one path component: never let it walk elsewhere. */
	if (strchr(release, '/') || strcmp(release, "..") == 0)
		return NULL;
	for (size_t r = 0; r < 2; r++) {
		if (!roots[r])
			continue;
		for (const struct place *pl = kind->places; pl->before; pl++) {
			char path[4096];
			void *obj;

			if (!place_path(path, sizeof(path), roots[r], pl, release) || access(path, R_OK) != 0)
				continue;
			if (kind->open(ctx, path, &obj) == 0)
				return obj;
			kabi_log(ctx, KABI_LOG_WARNING, "%s: %s", path, ctx->error);
		}
	}
	return NULL;
}

static void *reference(struct kabi_ctx *ctx, struct refcache *rc, const struct refkind *kind,
		       const char *release, void (*free_fn)(void *))
{
	void *obj;
	char *key;

	if (rc->explicit_path) {
		if (!rc->explicit && !rc->explicit_failed &&
		    kind->open(ctx, rc->explicit_path, &rc->explicit) < 0) {
			kabi_log(ctx, KABI_LOG_ERR, "%s: %s", rc->explicit_path, ctx->error);
			rc->explicit_failed = true;
		}
		return rc->explicit;
	}
	if (!release || !*release)
		return NULL;
	obj = kabi_hash_get(&rc->by_release, release);
	if (obj)
		return obj == &none ? NULL : obj;

	obj = search_reference(ctx, kind, release);
	if (!obj && kind->warn_missing)
		kabi_log(ctx, KABI_LOG_WARNING,
			 "no %s or symvers.gz found for kernel %s%s: imports are required as "
			 "ksym(), not kernel(); install that kernel's devel/headers package or "
			 "name the file with --symvers or %%_kabideps_symvers",
			 kind->what, release,
			 ctx->buildroot ? " under the buildroot or on this host" : " on this host");
	key = strdup(release);
	if (!key || kabi_hash_put(&rc->by_release, key, obj ? obj : &none) < 0) {
		free(key);
		free_fn(obj);
		return NULL;
	}
	return obj;
}

KABI_EXPORT const struct kabi_symvers *kabi_ctx_reference(struct kabi_ctx *ctx, const char *release)
{
	return reference(ctx, &ctx->symvers, &symvers_kind, release, free_symvers);
}

KABI_EXPORT const struct kabi_symsets *kabi_ctx_symsets(struct kabi_ctx *ctx, const char *release)
{
	return reference(ctx, &ctx->symsets, &symsets_kind, release, free_symsets);
}

const char *kabi_ctx_failed_reference(const struct kabi_ctx *ctx)
{
	if (ctx->symvers.explicit_failed)
		return ctx->symvers.explicit_path;
	if (ctx->symsets.explicit_failed)
		return ctx->symsets.explicit_path;
	return NULL;
}
