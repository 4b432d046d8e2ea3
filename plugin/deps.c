/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * From modules to rpm dependencies: ksym()/kernel() Provides of exports,
 * kernel()/ksym() Requires of imports, leaving out what the package itself
 * provides.  CRCs are always "0x%08x" lowercase, as Module.symvers and
 * Fedora print them (rpm compares "0x0a12" and "0xa12" as different).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
	struct kabi_hash modules; /* path -> struct kabi_mod_view */
	struct kabi_hash names; /* module name (dashes as _) -> path */
	struct kabi_hash strings; /* string -> its one copy in the arena */
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

/* One copy of each string: symbol names and the release repeat across
 * the modules of a tree (memory is page faults, and time). */
static const char *arena_intern(struct kabi_pkg *pkg, const char *s)
{
	char *p = kabi_hash_get(&pkg->strings, s);

	if (!p && (p = arena_strdup(pkg, s)) && kabi_hash_put(&pkg->strings, p, p) < 0)
		p = NULL;
	return p;
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
	kabi_hash_fini(&pkg->names);
	kabi_hash_fini(&pkg->strings);
	free(pkg);
}

static bool has_word(const char *s, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = s; (p = strstr(p, word)); p += len)
		if ((p == s || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return true;
	return false;
}

void kabi_view_of(const struct kabi_module *mod, struct kabi_mod_view *v)
{
	*v = (struct kabi_mod_view){
		.path = kabi_module_path(mod),
		.release = kabi_module_release(mod),
		.machine = kabi_module_elf_machine(mod),
		.elf_class = kabi_module_elf_class(mod),
		.elf_data = kabi_module_elf_data(mod),
		.modversions = kabi_module_has_modversions(mod),
	};
	const char *vermagic = kabi_module_modinfo_get(mod, "vermagic");

	v->vermagic_modversions = vermagic && has_word(vermagic, "modversions");
	v->imports = kabi_module_imports(mod, &v->n_imports);
	v->modinfo = kabi_module_modinfo(mod, &v->n_modinfo);
}

const char *kabi_view_modinfo(const struct kabi_mod_view *v, const char *key)
{
	for (size_t i = 0; i < v->n_modinfo; i++)
		if (strcmp(v->modinfo[i].key, key) == 0)
			return v->modinfo[i].value;
	return NULL;
}

/* The modinfo keys generation reads (depends, kmod(), alias, firmware),
 * as the package keeps them; NULL for the others. */
static const char *kept_modinfo(const char *key)
{
	static const char *const kept[] = { "depends", "version", "alias", "firmware" };

	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (key[0] == kept[i][0] && strcmp(key, kept[i]) == 0)
			return kept[i];
	return NULL;
}

/* Keep what generation needs of a module after it is closed. */
static struct kabi_mod_view *pkg_keep_view(struct kabi_pkg *pkg, const struct kabi_module *mod)
{
	struct kabi_mod_view v, *s = arena_alloc(pkg, sizeof(*s));
	struct kabi_sym *imports;
	struct kabi_modinfo *modinfo;
	size_t n_modinfo = 0;

	kabi_view_of(mod, &v);
	for (size_t i = 0; i < v.n_modinfo; i++)
		n_modinfo += kept_modinfo(v.modinfo[i].key) != NULL;
	imports = arena_alloc(pkg, v.n_imports * sizeof(*imports) + 1);
	modinfo = arena_alloc(pkg, n_modinfo * sizeof(*modinfo) + 1);
	if (!s || !imports || !modinfo)
		return NULL;
	*s = v;
	s->path = arena_strdup(pkg, v.path);
	s->release = v.release ? arena_intern(pkg, v.release) : NULL;
	if (!s->path || (v.release && !s->release))
		return NULL;
	for (size_t i = 0; i < v.n_imports; i++) {
		imports[i] = v.imports[i];
		if (!(imports[i].name = arena_intern(pkg, v.imports[i].name)))
			return NULL;
	}
	s->n_modinfo = 0;
	for (size_t i = 0; i < v.n_modinfo; i++) {
		struct kabi_modinfo *m = &modinfo[s->n_modinfo];

		if (!(m->key = kept_modinfo(v.modinfo[i].key)))
			continue;
		m->value = arena_strdup(pkg, v.modinfo[i].value);
		if (!m->value)
			return NULL;
		s->n_modinfo++;
	}
	s->imports = imports;
	s->modinfo = modinfo;
	return s;
}

KABI_EXPORT int kabi_pkg_add(struct kabi_pkg *pkg, const struct kabi_module *mod)
{
	size_t n;
	const struct kabi_sym *exports = kabi_module_exports(mod, &n);
	struct kabi_mod_view *v;
	char *name, *kept_name;

	if (kabi_hash_get(&pkg->modules, kabi_module_path(mod)))
		return 0; /* a path added twice keeps its first summary */
	v = pkg_keep_view(pkg, mod);
	name = v ? kabi_module_name(v->path) : NULL;
	kept_name = name ? arena_strdup(pkg, name) : NULL;
	free(name);
	if (!kept_name || kabi_hash_put(&pkg->modules, v->path, v) < 0 ||
	    kabi_hash_put(&pkg->names, kept_name, (void *)v->path) < 0)
		return kabi_fail(pkg->ctx, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct pkg_export *e = arena_alloc(pkg, sizeof(*e));
		const char *sym = arena_intern(pkg, exports[i].name);

		if (!e || !sym)
			return kabi_fail(pkg->ctx, ENOMEM, "out of memory");
		*e = (struct pkg_export){ v->path, exports[i].crc, exports[i].flags };
		if (kabi_hash_put(&pkg->exports, sym, e) < 0)
			return kabi_fail(pkg->ctx, ENOMEM, "out of memory");
	}
	return 0;
}

/* ---- dependencies ---- */

/* Distributions name in-tree modules by their place: /lib/modules/<release>/kernel/. */
bool kabi_path_in_tree(const char *path)
{
	for (const char *p = strstr(path, "/lib/modules/"); p; p = strstr(p + 1, "/lib/modules/")) {
		const char *release = p + strlen("/lib/modules/"), *slash = strchr(release, '/');

		if (slash && slash > release && strncmp(slash, "/kernel/", 8) == 0)
			return true;
	}
	return false;
}

/* SUSE names symbol dependencies after the kernel flavor: the configured
 * one, or with "auto" the last -component of the release (6.4.0-150600.21-default). */
const char *kabi_release_flavor(const char *release)
{
	const char *dash = release ? strrchr(release, '-') : NULL;

	return dash && dash[1] ? dash + 1 : NULL;
}

const char *kabi_flavor(struct kabi_ctx *ctx, const char *release)
{
	const char *flavor = kabi_ctx_options(ctx)->flavor;

	return flavor && strcmp(flavor, "auto") == 0 ? kabi_release_flavor(release) : flavor;
}

/* One symbol dependency: ksym(SYM) = 0x%08x, or SUSE's ksym(FLAVOR:SYM) = %x.
 * Made by hand: this is the hot path of a whole kernel, printf is not. */
int kabi_push_sym(struct kabi_strv *out, const char *kind, const char *flavor, const char *name,
		  const struct kabi_sym *sym)
{
	static const char hex[] = "0123456789abcdef";
	size_t kind_len, flavor_len = flavor ? strlen(flavor) + 1 : 0, name_len = strlen(name);
	char *s, *p;

	if (flavor)
		kind = "ksym";
	kind_len = strlen(kind);
	/* kind ( flavor: name ) " = 0x" 8 digits NUL */
	s = p = malloc(kind_len + 1 + flavor_len + name_len + 1 + 5 + 8 + 1);
	if (!s)
		return -ENOMEM;
	memcpy(p, kind, kind_len);
	p += kind_len;
	*p++ = '(';
	if (flavor) {
		memcpy(p, flavor, flavor_len - 1);
		p += flavor_len - 1;
		*p++ = ':';
	}
	memcpy(p, name, name_len);
	p += name_len;
	*p++ = ')';
	if (sym->flags & KABI_SYM_CRC) {
		int digits = 8;

		memcpy(p, " = 0x", 5);
		p += flavor ? 3 : 5; /* SUSE: no 0x ... */
		while (flavor && digits > 1 && !(sym->crc >> (4 * (digits - 1))))
			digits--; /* ... and no leading zeros */
		for (int i = digits - 1; i >= 0; i--)
			*p++ = hex[(sym->crc >> (4 * i)) & 0xf];
	}
	*p = '\0';
	return kabi_strv_push(out, s);
}

KABI_EXPORT int kabi_provides(struct kabi_ctx *ctx, const struct kabi_module *mod, struct kabi_strv *out)
{
	struct kabi_mod_view v;
	const char *kind = kabi_path_in_tree(kabi_module_path(mod)) ? "kernel" : "ksym";
	const char *flavor = kabi_flavor(ctx, kabi_module_release(mod));
	size_t n;
	const struct kabi_sym *exports = kabi_module_exports(mod, &n);

	for (size_t i = 0; i < n; i++)
		if (kabi_push_sym(out, kind, flavor, exports[i].name, &exports[i]) < 0)
			return kabi_fail(ctx, ENOMEM, "out of memory");
	kabi_view_of(mod, &v);
	if (kabi_kmod_provides(ctx, &v, out) < 0)
		return -ENOMEM;
	if (kabi_ctx_options(ctx)->modalias == KABI_MODALIAS_PROVIDES && kabi_modalias_deps(ctx, &v, out) < 0)
		return -ENOMEM;
	return 0;
}

/* Symbols listed in one warning, at most this many by name. */
#define WARN_LIST_MAX 20

struct name_list {
	char text[1024];
	size_t len, count;
};

static void name_list_add(struct name_list *l, const char *fmt, ...) KABI_PRINTF(2, 3);
static void name_list_add(struct name_list *l, const char *fmt, ...)
{
	va_list ap;

	if (l->count++ >= WARN_LIST_MAX || l->len >= sizeof(l->text))
		return;
	if (l->len)
		l->len += (size_t)snprintf(l->text + l->len, sizeof(l->text) - l->len, ", ");
	if (l->len >= sizeof(l->text))
		return;
	va_start(ap, fmt);
	l->len += (size_t)vsnprintf(l->text + l->len, sizeof(l->text) - l->len, fmt, ap);
	va_end(ap);
}

/* depends= names modules this one needs loaded first: say when neither the
 * package nor the kernel has one (it would fail to load). */
static void check_depends(struct kabi_ctx *ctx, const struct kabi_pkg *pkg, const struct kabi_mod_view *v,
			  const struct kabi_symvers *ref)
{
	const char *depends = kabi_view_modinfo(v, "depends");
	struct name_list missing = { .len = 0 };

	if (!depends || !*depends || !ref)
		return;
	for (const char *p = depends; *p;) {
		size_t len = strcspn(p, ",");
		char name[256];

		if (len && len < sizeof(name)) {
			memcpy(name, p, len);
			name[len] = '\0';
			for (char *c = name; *c; c++)
				if (*c == '-')
					*c = '_';
			if (!(pkg && kabi_hash_get(&pkg->names, name)) && !kabi_symvers_has_module(ref, name))
				name_list_add(&missing, "%s", name);
		}
		p += len + (p[len] == ',');
	}
	if (missing.count)
		kabi_log(ctx, KABI_LOG_WARNING,
			 "%s: depends on module%s %s%s, which neither this "
			 "package nor kernel %s has; package %s too",
			 v->path, missing.count == 1 ? "" : "s", missing.text,
			 missing.count > WARN_LIST_MAX ? ", ..." : "", v->release ? v->release : "(unknown)",
			 missing.count == 1 ? "it" : "them");
}

/* Imports a kABI stablelist does not promise to keep: one warning. */
static void check_stablelist(struct kabi_ctx *ctx, const struct kabi_pkg *pkg, const struct kabi_mod_view *m)
{
	const char *arch = kabi_view_arch(m);
	const struct kabi_stablelist *list = arch ? kabi_ctx_stablelist(ctx, arch) : NULL;
	struct name_list outside = { .len = 0 };

	if (!list)
		return;
	for (size_t i = 0; i < m->n_imports; i++) {
		const char *name = m->imports[i].name;

		if (!kabi_stablelist_has(list, name) && !(pkg && kabi_hash_get(&pkg->exports, name)))
			name_list_add(&outside, "%s", name);
	}
	if (outside.count)
		kabi_log(ctx, KABI_LOG_WARNING,
			 "%s: %zu import%s not on the %s kABI stablelist, so a kernel "
			 "update may break %s: %s%s; ask for them to be added or avoid them",
			 m->path, outside.count, outside.count == 1 ? " is" : "s are", arch,
			 outside.count == 1 ? "it" : "them", outside.text,
			 outside.count > WARN_LIST_MAX ? ", ..." : "");
}

/* Can rpm take a release as a version?  At most one '-' (version-release)
 * and only the characters rpmbuild accepts in a dependency's version. */
static bool is_rpm_version(const char *s)
{
	bool dash = false;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s == '-') {
			if (dash)
				return false;
			dash = true;
		} else if (!isalnum((unsigned char)*s) && !strchr("._+~^", *s)) {
			return false;
		}
	}
	return true;
}

/* The dependency on one kernel build: kernel-uname-r = RELEASE, as the
 * distributions' kernels provide it.  Fedora and RHEL releases have one
 * dash; SUSE's have two (6.4.0-150600.23.25-default), which SUSE's rpm
 * takes.  Elsewhere a release rpm does not take as a version (Debian's
 * 6.1.0-57-amd64) is named instead: kernel-uname-r(RELEASE), and the kernel
 * side provides the same. */
static int push_uname_r(struct kabi_strv *out, const char *release, const char *flavor)
{
	return flavor || is_rpm_version(release) ? kabi_strv_pushf(out, "kernel-uname-r = %s", release) :
						   kabi_strv_pushf(out, "kernel-uname-r(%s)", release);
}

/* Requires of a module with modversions: each import with its CRC. */
static int crc_requires(struct kabi_ctx *ctx, const struct kabi_pkg *pkg, const struct kabi_mod_view *m,
			const struct kabi_symvers *ref, const char *flavor, struct kabi_strv *out)
{
	const struct kabi_symsets *sets = kabi_ctx_symsets(ctx, m->release);
	struct name_list mismatches = { .len = 0 };

	if (ref && !kabi_symvers_has_crcs(ref)) {
		/* its CRCs would all "differ": one message, and no kernel() claims */
		kabi_log(ctx, KABI_LOG_WARNING,
			 "%s: has modversions CRCs, but its kernel reference %s has none "
			 "(a kernel built without CONFIG_MODVERSIONS): built against another kernel build?",
			 m->path, kabi_symvers_path(ref));
		ref = NULL;
	}
	for (size_t i = 0; i < m->n_imports; i++) {
		const struct kabi_sym *imp = &m->imports[i];
		const struct kabi_symvers_entry *re;
		const struct pkg_export *own = pkg ? kabi_hash_get(&pkg->exports, imp->name) : NULL;
		int r;

		if (own) {
			if (!(own->flags & KABI_SYM_CRC) || own->crc == imp->crc)
				continue;
			/* Built against another build of its sibling: keep the Requires. */
			kabi_log(ctx, KABI_LOG_WARNING,
				 "%s: imports %s with CRC 0x%08x, but %s in the "
				 "same package exports it with 0x%08x",
				 m->path, imp->name, imp->crc, own->module, own->crc);
		}
		re = ref ? kabi_symvers_find(ref, imp->name) : NULL;
		if (re && re->crc != imp->crc)
			name_list_add(&mismatches, "%s (0x%08x, reference 0x%08x)", imp->name, imp->crc,
				      re->crc);
		/* A set holding the symbol with this CRC stands for it. */
		r = sets ? kabi_symsets_require(sets, imp->name, imp->crc, flavor, out) : 0;
		if (r == 0)
			r = kabi_push_sym(out, re ? "kernel" : "ksym", flavor, imp->name, imp);
		if (r < 0)
			return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	if (mismatches.count)
		kabi_log(ctx, KABI_LOG_WARNING,
			 "%s: %zu import%s differ%s from %s (built against "
			 "another kernel build?): %s%s",
			 m->path, mismatches.count, mismatches.count == 1 ? "" : "s",
			 mismatches.count == 1 ? "s" : "", kabi_symvers_path(ref), mismatches.text,
			 mismatches.count > WARN_LIST_MAX ? ", ..." : "");
	return 0;
}

/* Requires of a module without modversions: nothing tells which kernel
 * builds it fits but the release it was built for, so it requires that
 * release (as kernel packages provide it), and by name what it imports
 * from other kmods (doc/dependencies.md, "Modules without modversions"). */
static int release_requires(struct kabi_ctx *ctx, const struct kabi_pkg *pkg, const struct kabi_mod_view *m,
			    const struct kabi_symvers *ref, const char *flavor, struct kabi_strv *out)
{
	bool in_tree = kabi_path_in_tree(m->path);
	const char *dep;

	if (!m->release)
		return kabi_fail(ctx, EINVAL,
				 "no modversions and no vermagic: nothing says which kernel it fits");
	if (push_uname_r(out, m->release, flavor) < 0)
		return kabi_fail(ctx, ENOMEM, "out of memory");
	dep = out->v[out->n - 1];
	if (m->vermagic_modversions)
		kabi_log(ctx, KABI_LOG_WARNING,
			 "%s: its vermagic says modversions, but it has no __versions "
			 "(stripped?): requires %s instead of symbol CRCs",
			 m->path, dep);
	else if (ref && kabi_symvers_has_crcs(ref))
		kabi_log(ctx, KABI_LOG_WARNING,
			 "%s: built without modversions, but its kernel reference %s "
			 "has CRCs (built against another kernel build?): requires %s",
			 m->path, kabi_symvers_path(ref), dep);
	else if (!in_tree)
		kabi_log(ctx, KABI_LOG_WARNING,
			 "%s: built without modversions: requires %s, "
			 "so it installs only next to that kernel build",
			 m->path, dep);
	/* Without a reference the kernel's own exports cannot be told from
	 * other kmods': the release alone (its absence was logged). */
	for (size_t i = 0; ref && i < m->n_imports; i++) {
		const struct kabi_sym *imp = &m->imports[i];

		if ((pkg && kabi_hash_get(&pkg->exports, imp->name)) || kabi_symvers_find(ref, imp->name))
			continue;
		if (kabi_push_sym(out, "ksym", flavor, imp->name, imp) < 0)
			return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	return 0;
}

static int requires_of(struct kabi_ctx *ctx, const struct kabi_pkg *pkg, const struct kabi_mod_view *m,
		       struct kabi_strv *out)
{
	const struct kabi_symvers *ref = kabi_ctx_reference(ctx, m->release);
	const char *flavor = kabi_flavor(ctx, m->release);
	const char *failed = kabi_ctx_failed_reference(ctx);
	int r;

	/* Without the reference it was told to use, every kernel() would be a
	 * ksym(): no Requires at all is the honest answer, with an error. */
	if (failed)
		return kabi_fail(ctx, EINVAL, "the kernel reference %s cannot be read", failed);
	r = m->modversions ? crc_requires(ctx, pkg, m, ref, flavor, out) :
			     release_requires(ctx, pkg, m, ref, flavor, out);
	if (r < 0)
		return r;
	check_depends(ctx, pkg, m, ref);
	check_stablelist(ctx, pkg, m);
	if (kabi_ctx_options(ctx)->firmware == KABI_FIRMWARE_REQUIRES && kabi_firmware_deps(ctx, m, out) < 0)
		return -ENOMEM;
	/* The package that runs depmod for it (file triggers, not scriptlets);
	 * the kernel's own package does that for its in-tree modules. */
	if (kabi_ctx_options(ctx)->triggers && !kabi_path_in_tree(m->path) &&
	    kabi_strv_pushf(out, "%s", kabi_ctx_options(ctx)->triggers) < 0)
		return -ENOMEM;
	return 0;
}

KABI_EXPORT int kabi_requires(struct kabi_ctx *ctx, const struct kabi_pkg *pkg, const struct kabi_module *mod,
			      struct kabi_strv *out)
{
	struct kabi_mod_view v;

	kabi_view_of(mod, &v);
	return requires_of(ctx, pkg, &v, out);
}

KABI_EXPORT int kabi_pkg_requires(struct kabi_pkg *pkg, const char *path, struct kabi_strv *out)
{
	const struct kabi_mod_view *m = kabi_hash_get(&pkg->modules, path);

	if (!m)
		return kabi_fail(pkg->ctx, ENOENT, "not added to the package");
	return requires_of(pkg->ctx, pkg, m, out);
}

static int supplements_of(struct kabi_ctx *ctx, const struct kabi_mod_view *v, struct kabi_strv *out)
{
	if (kabi_ctx_options(ctx)->modalias != KABI_MODALIAS_SUPPLEMENTS)
		return 0;
	return kabi_modalias_deps(ctx, v, out);
}

static int recommends_of(struct kabi_ctx *ctx, const struct kabi_mod_view *v, struct kabi_strv *out)
{
	if (kabi_ctx_options(ctx)->firmware != KABI_FIRMWARE_RECOMMENDS)
		return 0;
	return kabi_firmware_deps(ctx, v, out);
}

KABI_EXPORT int kabi_supplements(struct kabi_ctx *ctx, const struct kabi_module *mod, struct kabi_strv *out)
{
	struct kabi_mod_view v;

	kabi_view_of(mod, &v);
	return supplements_of(ctx, &v, out);
}

KABI_EXPORT int kabi_recommends(struct kabi_ctx *ctx, const struct kabi_module *mod, struct kabi_strv *out)
{
	struct kabi_mod_view v;

	kabi_view_of(mod, &v);
	return recommends_of(ctx, &v, out);
}

/* ---- kernel packages ---- */

/* What kind of file kabi-deps is handed, by its name as distributions name them. */
enum file_kind {
	FILE_MODULE,
	FILE_SYMSETS,
	FILE_SYMVERS
};

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static enum file_kind file_kind(const char *path)
{
	const char *base = base_name(path);

	if (strncmp(base, "symsets-", 8) == 0 && (has_suffix(base, ".tar.gz") || has_suffix(base, ".tgz")))
		return FILE_SYMSETS;
	if (strcmp(base, "Module.symvers") == 0 || strcmp(base, "symvers") == 0 ||
	    ((strncmp(base, "symvers.", 8) == 0 || strncmp(base, "symvers-", 8) == 0) &&
	     (has_suffix(base, ".gz") || has_suffix(base, ".xz") || has_suffix(base, ".zst"))))
		return FILE_SYMVERS;
	return FILE_MODULE;
}

KABI_EXPORT int kabi_path_is_module(const char *path)
{
	return file_kind(path) == FILE_MODULE;
}

/* The release a kernel reference file is for: symsets-R.tar.gz,
 * symvers-R.gz, or .../lib/modules/R/symvers.gz (for the flavor). */
static char *release_of_file(const char *path)
{
	const char *base = base_name(path), *end;

	if (strncmp(base, "symsets-", 8) == 0 || strncmp(base, "symvers-", 8) == 0) {
		end = has_suffix(base, ".tar.gz") ? base + strlen(base) - 7 : strrchr(base, '.');
		return end && end > base + 8 ? strndup(base + 8, (size_t)(end - base - 8)) : NULL;
	}
	if (base > path + 1) {
		const char *dir_end = base - 1, *dir = dir_end;

		while (dir > path && dir[-1] != '/')
			dir--;
		return dir_end > dir ? strndup(dir, (size_t)(dir_end - dir)) : NULL;
	}
	return NULL;
}

/* The release a kernel package's reference file belongs to, as its
 * kernel-uname-r: symsets-R.tar.gz, symvers-R.gz, (/usr)/lib/modules/R/symvers.gz
 * or a headers tree's include/config/kernel.release; NULL when the name
 * does not say (a bare Module.symvers). */
static char *reference_release(const char *path)
{
	const char *base = base_name(path);

	if (strncmp(base, "symsets-", 8) == 0 || strncmp(base, "symvers-", 8) == 0)
		return release_of_file(path);
	if (strncmp(base, "symvers", 7) == 0 && base - path > 1) {
		const char *dir = base - 1;

		while (dir > path && dir[-1] != '/')
			dir--;
		if (dir - path >= 9 && strncmp(dir - 9, "/modules/", 9) == 0)
			return release_of_file(path);
	}
	return NULL;
}

static char *headers_release(const char *dir)
{
	char path[4096], line[256] = "";
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/include/config/kernel.release", dir) >= sizeof(path) ||
	    !(f = fopen(path, "re")))
		return NULL;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	return line[0] && !strchr(line, ' ') ? strdup(line) : NULL;
}

static int release_provides(struct kabi_ctx *ctx, const char *release, struct kabi_strv *out)
{
	if (release && push_uname_r(out, release, kabi_flavor(ctx, release)) < 0)
		return kabi_fail(ctx, ENOMEM, "out of memory");
	return 0;
}

/* kernel(SYM) = 0xCRC for every export a table lists (or of vmlinux only);
 * none from a kernel without modversions, whose CRCs are all 0. */
static int table_provides(struct kabi_ctx *ctx, const struct kabi_symvers *table, bool vmlinux_only,
			  const char *flavor, struct kabi_strv *out)
{
	size_t n;
	const struct kabi_symvers_entry *e = kabi_symvers_entries(table, &n);

	if (!kabi_symvers_has_crcs(table))
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct kabi_sym sym = { .crc = e[i].crc, .flags = KABI_SYM_CRC };

		if (vmlinux_only && strcmp(e[i].module, "vmlinux") != 0)
			continue;
		if (kabi_push_sym(out, "kernel", flavor, e[i].name, &sym) < 0)
			return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	return 0;
}

/* The kernel itself provides what vmlinux exports (as Fedora's kabi.attr);
 * its modules provide the rest. */
static int symvers_provides(struct kabi_ctx *ctx, const char *path, const char *flavor, struct kabi_strv *out)
{
	struct kabi_symvers *sv;
	int r = kabi_symvers_open(ctx, path, &sv);

	if (r < 0)
		return r;
	r = table_provides(ctx, sv, true, flavor, out);
	kabi_symvers_free(sv);
	return r;
}

KABI_EXPORT int kabi_provides_file(struct kabi_ctx *ctx, struct kabi_pkg *pkg, const char *path,
				   struct kabi_strv *out)
{
	enum file_kind kind = file_kind(path);
	struct kabi_module *mod;
	int r;

	if (kind != FILE_MODULE) {
		char *release = release_of_file(path), *uname_r = reference_release(path);
		const char *flavor = kabi_flavor(ctx, release);
		struct kabi_symsets *ss;

		if (kind == FILE_SYMVERS) {
			r = symvers_provides(ctx, path, flavor, out);
		} else if ((r = kabi_symsets_open(ctx, path, &ss)) == 0) {
			r = kabi_symsets_provides(ss, flavor, out) < 0 ?
				    kabi_fail(ctx, ENOMEM, "out of memory") :
				    0;
			kabi_symsets_free(ss);
		}
		if (r == 0)
			r = release_provides(ctx, uname_r, out);
		free(uname_r);
		free(release);
		return r;
	}
	r = kabi_module_open(ctx, path, &mod);
	if (r == 0 && pkg)
		r = kabi_pkg_add(pkg, mod);
	if (r == 0)
		r = kabi_provides(ctx, mod, out);
	kabi_module_free(mod);
	return r;
}

/* A symvers file's exports, or a symsets tarball's sets and their members. */
static int reference_provides(struct kabi_ctx *ctx, const struct kabi_symvers *sv,
			      const struct kabi_symsets *ss, const char *flavor, struct kabi_strv *out)
{
	size_t n_sets = 0;

	if (ss) {
		kabi_symsets_sets(ss, &n_sets);
		if (kabi_symsets_provides(ss, flavor, out) < 0)
			return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n_sets; i++)
		if (table_provides(ctx, kabi_symsets_content(ss, i), false, flavor, out) < 0)
			return -ENOMEM;
	return sv ? table_provides(ctx, sv, false, flavor, out) : 0;
}

KABI_EXPORT int kabi_kernel_provides(struct kabi_ctx *ctx, const char *ref, struct kabi_strv *out)
{
	struct stat st;
	struct kabi_symvers *sv = NULL;
	struct kabi_symsets *ss = NULL;
	char *release = NULL, *uname_r = NULL;
	int r;

	if (stat(ref, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* a kernel's headers or devel tree */
		char path[4096];

		snprintf(path, sizeof(path), "%s/Module.symvers", ref);
		r = kabi_symvers_open(ctx, path, &sv);
		if (r < 0)
			return r;
		uname_r = headers_release(ref);
		r = reference_provides(ctx, sv, NULL, kabi_flavor(ctx, uname_r), out);
		if (r == 0)
			r = release_provides(ctx, uname_r, out);
		kabi_symvers_free(sv);
		free(uname_r);
		return r;
	}
	if (stat(ref, &st) != 0 && !strchr(ref, '/')) {
		/* a kernel release, installed on this host (or under the buildroot) */
		const struct kabi_symvers *found = kabi_ctx_reference(ctx, ref);
		const struct kabi_symsets *sets = kabi_ctx_symsets(ctx, ref);

		if (!found && !sets)
			return kabi_fail(ctx, ENOENT,
					 "no such file, and no kernel reference data for release %s", ref);
		r = sets ? reference_provides(ctx, NULL, sets, kabi_flavor(ctx, ref), out) : 0;
		if (r == 0 && found)
			r = reference_provides(ctx, found, NULL, kabi_flavor(ctx, ref), out);
		return r == 0 ? release_provides(ctx, ref, out) : r;
	}
	release = release_of_file(ref);
	if (file_kind(ref) == FILE_SYMSETS) {
		if ((r = kabi_symsets_open(ctx, ref, &ss)) == 0)
			r = reference_provides(ctx, NULL, ss, kabi_flavor(ctx, release), out);
	} else if ((r = kabi_symvers_open(ctx, ref, &sv)) == 0) {
		r = reference_provides(ctx, sv, NULL, kabi_flavor(ctx, release), out);
	}
	if (r == 0 && (uname_r = reference_release(ref)))
		r = release_provides(ctx, uname_r, out);
	kabi_symsets_free(ss);
	kabi_symvers_free(sv);
	free(uname_r);
	free(release);
	return r;
}

KABI_EXPORT int kabi_generate(struct kabi_ctx *ctx, struct kabi_pkg *pkg, const char *kind, const char *path,
			      struct kabi_strv *out)
{
	const struct kabi_mod_view *kept = pkg ? kabi_hash_get(&pkg->modules, path) : NULL;
	int (*extra)(struct kabi_ctx *, const struct kabi_mod_view *, struct kabi_strv *);
	struct kabi_module *mod;
	struct kabi_mod_view v;
	int r;

	if (strcmp(kind, "provides") == 0)
		return kabi_provides_file(ctx, pkg, path, out);
	if (strcmp(kind, "requires") == 0)
		extra = NULL;
	else if (strcmp(kind, "supplements") == 0)
		extra = supplements_of;
	else if (strcmp(kind, "recommends") == 0)
		extra = recommends_of;
	else
		return kabi_fail(ctx, EINVAL, "unknown dependency kind '%s'", kind);
	if (file_kind(path) != FILE_MODULE)
		return 0; /* kernel reference files only provide */
	/* rpm asks for Provides first: the package has the module already */
	if (kept)
		return extra ? extra(ctx, kept, out) : requires_of(ctx, pkg, kept, out);
	r = kabi_module_open(ctx, path, &mod);
	if (r < 0)
		return r;
	kabi_view_of(mod, &v);
	r = extra ? extra(ctx, &v, out) : requires_of(ctx, pkg, &v, out);
	kabi_module_free(mod);
	return r;
}
