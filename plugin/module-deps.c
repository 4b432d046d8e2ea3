/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A module's dependencies: ksym()/kernel() Provides of its exports,
 * kernel()/ksym() Requires of its imports (leaving out what the package
 * itself provides), or kernel-uname-r for a module without modversions;
 * the warnings about what does not fit.  CRCs are always "0x%08x"
 * lowercase, as Module.symvers and Fedora print them (rpm compares "0x0a12"
 * and "0xa12" as different).  doc/dependencies.md says why each is so.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libkabideps-private.h"
#include "modname.h"

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
		uint32_t crc = sym->crc;
		int digits = 8;

		memcpy(p, " = 0x", 5);
		p += 5;
		if (flavor) {
			p -= 2; /* SUSE: no 0x ... */
			while (digits > 1 && !(crc >> (4 * (digits - 1))))
				digits--; /* ... and no leading zeros */
		}
		for (int i = digits; i-- > 0; crc >>= 4)
			p[i] = hex[crc & 0xf]; /* the last digit first */
		p += digits;
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
			kabi_modname_normalize(name);
			if (!kabi_pkg_has_module(pkg, name) && !kabi_symvers_has_module(ref, name))
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

		if (!kabi_stablelist_has(list, name) && !kabi_pkg_import_export(pkg, m, &m->imports[i]))
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
int kabi_push_uname_r(struct kabi_strv *out, const char *release, const char *flavor)
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
		const struct kabi_pkg_export *own = kabi_pkg_import_export(pkg, m, imp);
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
		re = ref ? kabi_pkg_import_find(pkg, m, imp, ref) : NULL;
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
	if (kabi_push_uname_r(out, m->release, flavor) < 0)
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

		if (kabi_pkg_import_export(pkg, m, imp) || kabi_pkg_import_find(pkg, m, imp, ref))
			continue;
		if (kabi_push_sym(out, "ksym", flavor, imp->name, imp) < 0)
			return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	return 0;
}

int kabi_view_requires(struct kabi_ctx *ctx, const struct kabi_pkg *pkg, const struct kabi_mod_view *m,
		       struct kabi_strv *out)
{
	const struct kabi_symvers *ref = kabi_ctx_reference(ctx, m->release);
	const char *flavor = kabi_flavor(ctx, m->release);
	const char *failed = kabi_ctx_failed_reference(ctx);
	int r;

	if (kabi_refs_out_of_memory(ctx))
		return kabi_fail(ctx, ENOMEM, "out of memory while reading the kernel reference");
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
	/* (the symsets and the stablelist are looked up on the way) */
	if (kabi_refs_out_of_memory(ctx))
		return kabi_fail(ctx, ENOMEM, "out of memory while reading the kernel reference");
	if (kabi_ctx_options(ctx)->firmware == KABI_FIRMWARE_REQUIRES && kabi_firmware_deps(ctx, m, out) < 0)
		return -ENOMEM;
	/* The package that runs depmod for it (file triggers, not scriptlets);
	 * the kernel's own package does that for its in-tree modules. */
	if (kabi_ctx_options(ctx)->triggers && !kabi_path_in_tree(m->path) &&
	    kabi_strv_pushf(out, "%s", kabi_ctx_options(ctx)->triggers) < 0)
		return kabi_fail(ctx, ENOMEM, "out of memory");
	return 0;
}

KABI_EXPORT int kabi_requires(struct kabi_ctx *ctx, const struct kabi_pkg *pkg, const struct kabi_module *mod,
			      struct kabi_strv *out)
{
	struct kabi_mod_view v;

	kabi_view_of(mod, &v);
	return kabi_view_requires(ctx, pkg, &v, out);
}

KABI_EXPORT int kabi_pkg_requires(struct kabi_pkg *pkg, const char *path, struct kabi_strv *out)
{
	const struct kabi_mod_view *m = kabi_pkg_view(pkg, path);

	if (!m)
		return kabi_fail(kabi_pkg_ctx(pkg), ENOENT, "not added to the package");
	return kabi_view_requires(kabi_pkg_ctx(pkg), pkg, m, out);
}

int kabi_view_supplements(struct kabi_ctx *ctx, const struct kabi_mod_view *v, struct kabi_strv *out)
{
	if (kabi_ctx_options(ctx)->modalias != KABI_MODALIAS_SUPPLEMENTS)
		return 0;
	return kabi_modalias_deps(ctx, v, out);
}

int kabi_view_recommends(struct kabi_ctx *ctx, const struct kabi_mod_view *v, struct kabi_strv *out)
{
	if (kabi_ctx_options(ctx)->firmware != KABI_FIRMWARE_RECOMMENDS)
		return 0;
	return kabi_firmware_deps(ctx, v, out);
}

KABI_EXPORT int kabi_supplements(struct kabi_ctx *ctx, const struct kabi_module *mod, struct kabi_strv *out)
{
	struct kabi_mod_view v;

	kabi_view_of(mod, &v);
	return kabi_view_supplements(ctx, &v, out);
}

KABI_EXPORT int kabi_recommends(struct kabi_ctx *ctx, const struct kabi_module *mod, struct kabi_strv *out)
{
	struct kabi_mod_view v;

	kabi_view_of(mod, &v);
	return kabi_view_recommends(ctx, &v, out);
}
