/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * From modules to rpm dependencies: ksym()/kernel() Provides of exports,
 * kernel()/ksym() Requires of imports, leaving out what the package itself
 * provides.  CRCs are always "0x%08x" lowercase, as Module.symvers and
 * Fedora print them (rpm compares "0x0a12" and "0xa12" as different).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libkabideps-private.h"

/* ---- string lists ---- */

int kabi_strv_push(struct kabi_strv *sv, char *s)
{
	if (!s)
		return -ENOMEM;
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 16;
		char **v = realloc(sv->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			return -ENOMEM;
		}
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = s;
	return 0;
}

int kabi_strv_pushf(struct kabi_strv *sv, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return kabi_strv_push(sv, r < 0 ? NULL : s);
}

KABI_EXPORT void kabi_strv_free(struct kabi_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	*sv = (struct kabi_strv){ 0 };
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

KABI_EXPORT void kabi_strv_sort_uniq(struct kabi_strv *sv)
{
	size_t out = 0;

	if (sv->n > 1)
		qsort(sv->v, sv->n, sizeof(*sv->v), cmp_str);
	for (size_t i = 0; i < sv->n; i++) {
		if (out && strcmp(sv->v[out - 1], sv->v[i]) == 0)
			free(sv->v[i]);
		else
			sv->v[out++] = sv->v[i];
	}
	sv->n = out;
}

/* ---- packages ---- */

/* What requires() needs of a module, kept after the module is closed. */
struct mod_summary {
	const char *path;
	const char *release;
	const struct kabi_sym *imports;
	size_t n_imports;
};

struct pkg_export {
	const char *module;
	uint32_t crc;
	unsigned flags;
};

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	_Alignas(max_align_t) unsigned char data[];
};

struct kabi_pkg {
	struct kabi_ctx *ctx;
	struct arena_block *arena;
	struct kabi_hash exports; /* name -> struct pkg_export */
	struct kabi_hash modules; /* path -> struct mod_summary */
};

static void *arena_alloc(struct kabi_pkg *pkg, size_t size)
{
	struct arena_block *b = pkg->arena;

	size = (size + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
	if (!b || b->size - b->used < size) {
		size_t bsize = size > 60000 ? size : 60000;

		b = malloc(sizeof(*b) + bsize);
		if (!b)
			return NULL;
		b->next = pkg->arena;
		b->used = 0;
		b->size = bsize;
		pkg->arena = b;
	}
	b->used += size;
	return b->data + b->used - size;
}

static char *arena_strdup(struct kabi_pkg *pkg, const char *s)
{
	size_t len = strlen(s) + 1;
	char *p = arena_alloc(pkg, len);

	return p ? memcpy(p, s, len) : NULL;
}

KABI_EXPORT struct kabi_pkg *kabi_pkg_new(struct kabi_ctx *ctx)
{
	struct kabi_pkg *pkg = calloc(1, sizeof(*pkg));

	if (pkg)
		pkg->ctx = ctx;
	return pkg;
}

KABI_EXPORT void kabi_pkg_free(struct kabi_pkg *pkg)
{
	if (!pkg)
		return;
	while (pkg->arena) {
		struct arena_block *next = pkg->arena->next;

		free(pkg->arena);
		pkg->arena = next;
	}
	kabi_hash_fini(&pkg->exports);
	kabi_hash_fini(&pkg->modules);
	free(pkg);
}

static int pkg_add_summary(struct kabi_pkg *pkg, const struct kabi_module *mod)
{
	struct mod_summary *s = arena_alloc(pkg, sizeof(*s));
	const char *release = kabi_module_release(mod);
	const struct kabi_sym *imports;
	struct kabi_sym *copy;

	if (!s)
		return -ENOMEM;
	*s = (struct mod_summary){ 0 };
	imports = kabi_module_imports(mod, &s->n_imports);
	s->path = arena_strdup(pkg, kabi_module_path(mod));
	s->release = release ? arena_strdup(pkg, release) : NULL;
	copy = arena_alloc(pkg, s->n_imports * sizeof(*copy) + 1);
	if (!s->path || !copy || (release && !s->release))
		return -ENOMEM;
	for (size_t i = 0; i < s->n_imports; i++) {
		copy[i] = imports[i];
		if (!(copy[i].name = arena_strdup(pkg, imports[i].name)))
			return -ENOMEM;
	}
	s->imports = copy;
	/* a path added twice keeps its first summary */
	return kabi_hash_put(&pkg->modules, s->path, s) < 0 ? -ENOMEM : 0;
}

KABI_EXPORT int kabi_pkg_add(struct kabi_pkg *pkg, const struct kabi_module *mod)
{
	size_t n;
	const struct kabi_sym *exports = kabi_module_exports(mod, &n);
	const char *path;

	if (pkg_add_summary(pkg, mod) < 0)
		return kabi_fail(pkg->ctx, ENOMEM, "out of memory");
	path = ((struct mod_summary *)kabi_hash_get(&pkg->modules, kabi_module_path(mod)))->path;
	for (size_t i = 0; i < n; i++) {
		struct pkg_export *e = arena_alloc(pkg, sizeof(*e));
		char *name = arena_strdup(pkg, exports[i].name);

		if (!e || !name)
			return kabi_fail(pkg->ctx, ENOMEM, "out of memory");
		*e = (struct pkg_export){ path, exports[i].crc, exports[i].flags };
		if (kabi_hash_put(&pkg->exports, name, e) < 0)
			return kabi_fail(pkg->ctx, ENOMEM, "out of memory");
	}
	return 0;
}

/* ---- dependencies ---- */

/* Distributions name in-tree modules by their place: /lib/modules/<release>/kernel/. */
static bool is_in_tree(const char *path)
{
	for (const char *p = strstr(path, "/lib/modules/"); p; p = strstr(p + 1, "/lib/modules/")) {
		const char *release = p + strlen("/lib/modules/"), *slash = strchr(release, '/');

		if (slash && slash > release && strncmp(slash, "/kernel/", 8) == 0)
			return true;
	}
	return false;
}

KABI_EXPORT int kabi_provides(struct kabi_ctx *ctx, const struct kabi_module *mod, struct kabi_strv *out)
{
	const char *kind = is_in_tree(kabi_module_path(mod)) ? "kernel" : "ksym";
	size_t n;
	const struct kabi_sym *exports = kabi_module_exports(mod, &n);

	for (size_t i = 0; i < n; i++) {
		int r = exports[i].flags & KABI_SYM_CRC ?
			kabi_strv_pushf(out, "%s(%s) = 0x%08x", kind, exports[i].name, exports[i].crc) :
			kabi_strv_pushf(out, "%s(%s)", kind, exports[i].name);

		if (r < 0)
			return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	return 0;
}

/* Symbols listed in one warning, at most this many by name. */
#define WARN_LIST_MAX 20

struct mismatch_list {
	char text[1024];
	size_t len, count;
};

static void mismatch_add(struct mismatch_list *l, const char *name, uint32_t own, uint32_t ref)
{
	if (l->count++ < WARN_LIST_MAX && l->len < sizeof(l->text)) {
		int n = snprintf(l->text + l->len, sizeof(l->text) - l->len, "%s%s (0x%08x, reference 0x%08x)",
				 l->len ? ", " : "", name, own, ref);
		if (n > 0)
			l->len += (size_t)n;
	}
}

static int requires_of(struct kabi_ctx *ctx, const struct kabi_pkg *pkg,
		       const struct mod_summary *m, struct kabi_strv *out)
{
	const struct kabi_symvers *ref = kabi_ctx_reference(ctx, m->release);
	const struct kabi_symsets *sets = kabi_ctx_symsets(ctx, m->release);
	struct mismatch_list mismatches = { .len = 0 };

	for (size_t i = 0; i < m->n_imports; i++) {
		const struct kabi_sym *imp = &m->imports[i];
		const struct kabi_symvers_entry *re;
		const struct pkg_export *own = pkg ? kabi_hash_get(&pkg->exports, imp->name) : NULL;
		int r;

		if (own) {
			if (!(own->flags & KABI_SYM_CRC) || own->crc == imp->crc)
				continue;
			/* Built against another build of its sibling: keep the Requires. */
			kabi_log(ctx, KABI_LOG_WARNING, "%s: imports %s with CRC 0x%08x, but %s in the "
				 "same package exports it with 0x%08x", m->path, imp->name, imp->crc,
				 own->module, own->crc);
		}
		re = ref ? kabi_symvers_find(ref, imp->name) : NULL;
		if (re && re->crc != imp->crc)
			mismatch_add(&mismatches, imp->name, imp->crc, re->crc);
		/* A set holding the symbol with this CRC stands for it. */
		r = sets ? kabi_symsets_require(sets, imp->name, imp->crc, out) : 0;
		if (r == 0)
			r = kabi_strv_pushf(out, "%s(%s) = 0x%08x", re ? "kernel" : "ksym", imp->name, imp->crc);
		if (r < 0)
			return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	if (mismatches.count)
		kabi_log(ctx, KABI_LOG_WARNING, "%s: %zu import%s differ%s from %s (built against "
			 "another kernel build?): %s%s", m->path, mismatches.count,
			 mismatches.count == 1 ? "" : "s", mismatches.count == 1 ? "s" : "",
			 kabi_symvers_path(ref), mismatches.text,
			 mismatches.count > WARN_LIST_MAX ? ", ..." : "");
	return 0;
}

KABI_EXPORT int kabi_requires(struct kabi_ctx *ctx, const struct kabi_pkg *pkg,
			      const struct kabi_module *mod, struct kabi_strv *out)
{
	struct mod_summary m = {
		.path = kabi_module_path(mod),
		.release = kabi_module_release(mod),
	};

	m.imports = kabi_module_imports(mod, &m.n_imports);
	return requires_of(ctx, pkg, &m, out);
}

KABI_EXPORT int kabi_pkg_requires(struct kabi_pkg *pkg, const char *path, struct kabi_strv *out)
{
	const struct mod_summary *m = kabi_hash_get(&pkg->modules, path);

	if (!m)
		return kabi_fail(pkg->ctx, ENOENT, "not added to the package");
	return requires_of(pkg->ctx, pkg, m, out);
}

/* What kind of file kabi-deps is handed, by its name as distributions name them. */
enum file_kind { FILE_MODULE, FILE_SYMSETS, FILE_SYMVERS };

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static enum file_kind file_kind(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (strncmp(base, "symsets-", 8) == 0 && (has_suffix(base, ".tar.gz") || has_suffix(base, ".tgz")))
		return FILE_SYMSETS;
	if (strcmp(base, "Module.symvers") == 0 || strcmp(base, "symvers") == 0 ||
	    ((strncmp(base, "symvers.", 8) == 0 || strncmp(base, "symvers-", 8) == 0) &&
	     (has_suffix(base, ".gz") || has_suffix(base, ".xz") || has_suffix(base, ".zst"))))
		return FILE_SYMVERS;
	return FILE_MODULE;
}

/* The kernel itself provides what vmlinux exports (as Fedora's kabi.attr). */
static int symvers_provides(struct kabi_ctx *ctx, const char *path, struct kabi_strv *out)
{
	struct kabi_symvers *sv;
	const struct kabi_symvers_entry *e;
	size_t n;
	int r = kabi_symvers_open(ctx, path, &sv);

	if (r < 0)
		return r;
	e = kabi_symvers_entries(sv, &n);
	for (size_t i = 0; i < n && r == 0; i++)
		if (strcmp(e[i].module, "vmlinux") == 0)
			r = kabi_strv_pushf(out, "kernel(%s) = 0x%08x", e[i].name, e[i].crc);
	kabi_symvers_free(sv);
	return r < 0 ? kabi_fail(ctx, ENOMEM, "out of memory") : 0;
}

KABI_EXPORT int kabi_provides_file(struct kabi_ctx *ctx, struct kabi_pkg *pkg, const char *path,
				   struct kabi_strv *out)
{
	struct kabi_module *mod;
	struct kabi_symsets *ss;
	int r;

	switch (file_kind(path)) {
	case FILE_SYMSETS:
		r = kabi_symsets_open(ctx, path, &ss);
		if (r == 0) {
			r = kabi_symsets_provides(ss, out) < 0 ? kabi_fail(ctx, ENOMEM, "out of memory") : 0;
			kabi_symsets_free(ss);
		}
		return r;
	case FILE_SYMVERS:
		return symvers_provides(ctx, path, out);
	case FILE_MODULE:
		break;
	}
	r = kabi_module_open(ctx, path, &mod);
	if (r == 0 && pkg)
		r = kabi_pkg_add(pkg, mod);
	if (r == 0)
		r = kabi_provides(ctx, mod, out);
	kabi_module_free(mod);
	return r;
}
