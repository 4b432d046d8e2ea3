/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Finding and caching a kernel's reference data: its Module.symvers, its
 * symsets and the distribution's kABI stablelists.  One cache for all three:
 * a file the user named is used for every key; otherwise the file is searched
 * for by key (a kernel release, or an architecture for stablelists) at the
 * places distributions install it, under the buildroot first, then on the
 * host (doc/module-formats.md, "Where kernels keep their reference data").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libkabideps-private.h"

/* Where files of one kind are, most specific first: the key goes between
 * the two parts, and once more for a "%s" in after (symsets-R.tar.gz). */
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

static const struct place symsets_places[] = {
	{ "/usr/src/kernels/", "/symsets-%s.tar.gz" },
	{ "/lib/modules/", "/build/symsets-%s.tar.gz" },
	{ "/usr/src/linux-headers-", "/symsets-%s.tar.gz" },
	{ "/lib/modules/", "/symsets-%s.tar.gz" },
	{ "/usr/lib/modules/", "/symsets-%s.tar.gz" },
	{ "/boot/symsets-", ".tar.gz" },
	{ NULL, NULL },
};

/* RHEL's kabi-stablelists package, keyed by architecture */
static const struct place stablelist_places[] = {
	{ "/lib/modules/kabi-current/kabi_stablelist_", "" },
	{ NULL, NULL },
};

static int open_symvers(struct kabi_ctx *ctx, const char *path, void **obj)
{
	const char *index_dir = kabi_refs_symvers_cache(ctx);

	if (index_dir)
		return kabi_symvers_open_cached(ctx, path, index_dir, (struct kabi_symvers **)obj);
	return kabi_symvers_open(ctx, path, (struct kabi_symvers **)obj);
}

static int open_symsets(struct kabi_ctx *ctx, const char *path, void **obj)
{
	return kabi_symsets_open(ctx, path, (struct kabi_symsets **)obj);
}

static int open_stablelist(struct kabi_ctx *ctx, const char *path, void **obj)
{
	return kabi_stablelist_open(ctx, path, (struct kabi_stablelist **)obj);
}

static void free_symvers(void *p)
{
	kabi_symvers_free(p);
}

static void free_symsets(void *p)
{
	kabi_symsets_free(p);
}

static void free_stablelist(void *p)
{
	kabi_stablelist_free(p);
}

struct refkind {
	const char *what;
	const struct place *places;
	int (*open)(struct kabi_ctx *ctx, const char *path, void **obj);
	void (*free)(void *obj);
	/* a file the user named that cannot be read stops generation (symvers,
	 * symsets: every kernel() would silently become ksym()); a stablelist
	 * only adds warnings, so that is one itself */
	bool named_is_fatal;
};

static const struct refkind kinds[KABI_REF_KINDS] = {
	[KABI_REF_SYMVERS] = { "Module.symvers", symvers_places, open_symvers, free_symvers, true },
	[KABI_REF_SYMSETS] = { "symsets", symsets_places, open_symsets, free_symsets, true },
	[KABI_REF_STABLELIST] = { "kABI stablelist", stablelist_places, open_stablelist, free_stablelist,
				  false },
};

/* Reference data of one kind, by key. */
struct refcache {
	char *named_path; /* set by the user: used for every key */
	void *named; /* loaded on first use */
	bool named_failed;
	struct kabi_hash by_key; /* key -> object, or &none */
};

struct kabi_refs {
	struct refcache cache[KABI_REF_KINDS];
	char *symvers_cache; /* where indexes of Module.symvers files go, or NULL */
	/* Reference data was lost to a failed allocation since the last
	 * kabi_refs_out_of_memory(): the caller's result would lack it. */
	bool out_of_memory;
};

/* Marks a key whose file was searched for and not found. */
static char none;

struct kabi_refs *kabi_refs_new(void)
{
	return calloc(1, sizeof(struct kabi_refs));
}

static void refcache_clear(struct refcache *rc, const struct refkind *kind)
{
	for (size_t i = 0; i < rc->by_key.cap; i++) {
		if (rc->by_key.slots[i].key) {
			if (rc->by_key.slots[i].value != &none)
				kind->free(rc->by_key.slots[i].value);
			free((char *)rc->by_key.slots[i].key);
		}
	}
	kabi_hash_fini(&rc->by_key);
	kind->free(rc->named);
	rc->named = NULL;
	rc->named_failed = false;
}

void kabi_refs_drop(struct kabi_refs *refs)
{
	for (int k = 0; k < KABI_REF_KINDS; k++)
		refcache_clear(&refs->cache[k], &kinds[k]);
}

void kabi_refs_free(struct kabi_refs *refs)
{
	if (!refs)
		return;
	kabi_refs_drop(refs);
	for (int k = 0; k < KABI_REF_KINDS; k++)
		free(refs->cache[k].named_path);
	free(refs->symvers_cache);
	free(refs);
}

/* Keeps what is loaded when nothing changes (rpm's Lua sets everything
 * again for every file), else drops what kind k has loaded. */
static int replace_setting(struct kabi_ctx *ctx, enum kabi_ref_kind k, char **dst, const char *value)
{
	struct kabi_refs *refs = kabi_ctx_refs(ctx);
	char *copy = NULL;

	if (value && !*value)
		value = NULL;
	if (value ? *dst && strcmp(*dst, value) == 0 : !*dst)
		return 0;
	if (value && !(copy = strdup(value)))
		return kabi_fail(ctx, ENOMEM, "out of memory");
	refcache_clear(&refs->cache[k], &kinds[k]);
	free(*dst);
	*dst = copy;
	return 0;
}

int kabi_refs_set_named(struct kabi_ctx *ctx, enum kabi_ref_kind kind, const char *path)
{
	return replace_setting(ctx, kind, &kabi_ctx_refs(ctx)->cache[kind].named_path, path);
}

const char *kabi_refs_named(struct kabi_ctx *ctx, enum kabi_ref_kind kind)
{
	return kabi_ctx_refs(ctx)->cache[kind].named_path;
}

KABI_EXPORT int kabi_ctx_set_symvers(struct kabi_ctx *ctx, const char *path)
{
	return kabi_refs_set_named(ctx, KABI_REF_SYMVERS, path);
}

KABI_EXPORT int kabi_ctx_set_symsets(struct kabi_ctx *ctx, const char *path)
{
	return kabi_refs_set_named(ctx, KABI_REF_SYMSETS, path);
}

KABI_EXPORT int kabi_ctx_set_symvers_cache(struct kabi_ctx *ctx, const char *dir)
{
	return replace_setting(ctx, KABI_REF_SYMVERS, &kabi_ctx_refs(ctx)->symvers_cache, dir);
}

const char *kabi_refs_symvers_cache(struct kabi_ctx *ctx)
{
	return kabi_ctx_refs(ctx)->symvers_cache;
}

static bool place_path(char *path, size_t size, const char *root, const struct place *pl, const char *key)
{
	const char *mark = strstr(pl->after, "%s");
	int n;

	if (mark)
		n = snprintf(path, size, "%s%s%s%.*s%s%s", root, pl->before, key, (int)(mark - pl->after),
			     pl->after, key, mark + 2);
	else
		n = snprintf(path, size, "%s%s%s%s", root, pl->before, key, pl->after);
	return n > 0 && (size_t)n < size;
}

static void *search(struct kabi_ctx *ctx, const struct refkind *kind, const char *key)
{
	const char *roots[] = { kabi_ctx_buildroot(ctx), "" };

	/* A key is one path component: never let it walk elsewhere. */
	if (strchr(key, '/') || strcmp(key, "..") == 0)
		return NULL;
	for (size_t r = 0; r < 2; r++) {
		if (!roots[r])
			continue;
		for (const struct place *pl = kind->places; pl->before; pl++) {
			char path[4096];
			void *obj;
			int err;

			if (!place_path(path, sizeof(path), roots[r], pl, key) || access(path, R_OK) != 0)
				continue;
			err = kind->open(ctx, path, &obj);
			if (err == 0)
				return obj;
			kabi_ctx_refs(ctx)->out_of_memory |= err == -ENOMEM;
			kabi_log(ctx, KABI_LOG_WARNING, "%s: %s", path, kabi_ctx_error(ctx));
		}
	}
	return NULL;
}

static void *named(struct kabi_ctx *ctx, struct refcache *rc, const struct refkind *kind)
{
	int r;

	if (!rc->named && !rc->named_failed && (r = kind->open(ctx, rc->named_path, &rc->named)) < 0) {
		kabi_log(ctx, kind->named_is_fatal ? KABI_LOG_ERR : KABI_LOG_WARNING, "%s: %s",
			 rc->named_path, kabi_ctx_error(ctx));
		/* (out of memory is tried again next time) */
		if (r == -ENOMEM)
			kabi_ctx_refs(ctx)->out_of_memory = true;
		else
			rc->named_failed = true;
	}
	return rc->named;
}

const void *kabi_refs_get(struct kabi_ctx *ctx, enum kabi_ref_kind k, const char *key)
{
	struct refcache *rc = &kabi_ctx_refs(ctx)->cache[k];
	const struct refkind *kind = &kinds[k];
	void *obj;
	char *copy;

	if (rc->named_path)
		return named(ctx, rc, kind);
	if (!key || !*key)
		return NULL;
	obj = kabi_hash_get(&rc->by_key, key);
	if (obj)
		return obj == &none ? NULL : obj;

	obj = search(ctx, kind, key);
	if (!obj && k == KABI_REF_SYMVERS)
		kabi_log(ctx, KABI_LOG_WARNING,
			 "no %s or symvers.gz found for kernel %s%s: imports are required as "
			 "ksym(), not kernel(); install that kernel's devel/headers package or "
			 "name the file with --symvers or %%_kabideps_symvers",
			 kind->what, key,
			 kabi_ctx_buildroot(ctx) ? " under the buildroot or on this host" : " on this host");
	copy = strdup(key);
	if (!copy || kabi_hash_put(&rc->by_key, copy, obj ? obj : &none) < 0) {
		/* not cached: found again (and warned about again) next time */
		free(copy);
		kind->free(obj);
		kabi_ctx_refs(ctx)->out_of_memory = true;
		return NULL;
	}
	return obj;
}

KABI_EXPORT const struct kabi_symvers *kabi_ctx_reference(struct kabi_ctx *ctx, const char *release)
{
	return kabi_refs_get(ctx, KABI_REF_SYMVERS, release);
}

KABI_EXPORT const struct kabi_symsets *kabi_ctx_symsets(struct kabi_ctx *ctx, const char *release)
{
	return kabi_refs_get(ctx, KABI_REF_SYMSETS, release);
}

const struct kabi_stablelist *kabi_ctx_stablelist(struct kabi_ctx *ctx, const char *arch)
{
	return kabi_refs_get(ctx, KABI_REF_STABLELIST, arch);
}

bool kabi_refs_out_of_memory(struct kabi_ctx *ctx)
{
	bool lost = kabi_ctx_refs(ctx)->out_of_memory;

	kabi_ctx_refs(ctx)->out_of_memory = false;
	return lost;
}

const char *kabi_ctx_failed_reference(struct kabi_ctx *ctx)
{
	for (int k = 0; k < KABI_REF_KINDS; k++) {
		const struct refcache *rc = &kabi_ctx_refs(ctx)->cache[k];

		if (kinds[k].named_is_fatal && rc->named_failed)
			return rc->named_path;
	}
	return NULL;
}
