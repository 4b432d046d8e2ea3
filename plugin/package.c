/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A package: what dependency generation keeps of each module after it is
 * closed (struct kabi_mod_view, in one arena, each string once), and the
 * exports of all its modules, so that a module's Requires leave out what
 * its siblings provide.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "libkabideps-private.h"

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	_Alignas(max_align_t) unsigned char data[];
};

struct kabi_pkg {
	struct kabi_ctx *ctx;
	struct arena_block *arena;
	struct kabi_hash exports; /* name -> struct kabi_pkg_export */
	struct kabi_hash modules; /* path -> struct kabi_mod_view */
	struct kabi_hash names; /* module name (dashes as _) -> path */
	struct kabi_hash strings; /* string -> its struct pkg_string */
};

/* The one copy of a string (symbol names and the release repeat across the
 * modules of a tree), with what requires asks about a symbol of that name
 * beside it: an import is then looked up once by name, when its module is
 * added, and each of its Requires follows pointers (a hash lookup misses
 * the cache, and a tree has 190k imports of 18k names). */
struct pkg_string {
	const struct kabi_pkg_export *export; /* the first module of the package exporting it */
	uint64_t ref_serial; /* the reference ref_entry was looked up in (0: none yet) */
	const struct kabi_symvers_entry *ref_entry; /* and what it has of the name, or NULL */
	char text[];
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

static struct pkg_string *string_of(const char *interned)
{
	return (struct pkg_string *)(interned - offsetof(struct pkg_string, text));
}

static const char *arena_intern_hashed(struct kabi_pkg *pkg, const char *s, uint32_t hash)
{
	struct pkg_string *p = kabi_hash_get_hashed(&pkg->strings, s, hash);
	size_t len;

	if (p)
		return p->text;
	len = strlen(s) + 1;
	p = arena_alloc(pkg, sizeof(*p) + len);
	if (!p)
		return NULL;
	*p = (struct pkg_string){ .export = NULL };
	memcpy(p->text, s, len);
	return kabi_hash_put_hashed(&pkg->strings, p->text, hash, p) < 0 ? NULL : p->text;
}

static const char *arena_intern(struct kabi_pkg *pkg, const char *s)
{
	return arena_intern_hashed(pkg, s, kabi_hash_of(s));
}

/* Intern the names of syms in place, a batch at a time: the slots of a
 * batch are asked for from memory together, not one miss after another. */
static int intern_names(struct kabi_pkg *pkg, struct kabi_sym *syms, size_t n)
{
	enum {
		BATCH = 32
	};
	uint32_t hash[BATCH];

	for (size_t at = 0; at < n; at += BATCH) {
		size_t count = n - at < BATCH ? n - at : BATCH;

		for (size_t i = 0; i < count; i++) {
			hash[i] = kabi_hash_of(syms[at + i].name);
			kabi_hash_prefetch(&pkg->strings, hash[i]);
		}
		for (size_t i = 0; i < count; i++)
			if (!(syms[at + i].name = arena_intern_hashed(pkg, syms[at + i].name, hash[i])))
				return -ENOMEM;
	}
	return 0;
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
	const char *kept;

	/* (their first letters differ: one comparison a key at most) */
	switch (key[0]) {
	case 'd':
		kept = "depends";
		break;
	case 'v':
		kept = "version";
		break;
	case 'a':
		kept = "alias";
		break;
	case 'f':
		kept = "firmware";
		break;
	default:
		return NULL;
	}
	return strcmp(key, kept) == 0 ? kept : NULL;
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
	if (v.n_imports)
		memcpy(imports, v.imports, v.n_imports * sizeof(*imports));
	if (intern_names(pkg, imports, v.n_imports) < 0)
		return NULL;
	s->names_of = pkg;
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
	int r;

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
		struct kabi_pkg_export *e = arena_alloc(pkg, sizeof(*e));
		const char *sym = arena_intern(pkg, exports[i].name);

		if (!e || !sym)
			return kabi_fail(pkg->ctx, ENOMEM, "out of memory");
		*e = (struct kabi_pkg_export){ v->path, exports[i].crc, exports[i].flags };
		r = kabi_hash_put(&pkg->exports, sym, e);
		if (r < 0)
			return kabi_fail(pkg->ctx, ENOMEM, "out of memory");
		if (r == 0)
			string_of(sym)->export = e; /* the first wins, as in exports */
	}
	return 0;
}

const struct kabi_pkg_export *kabi_pkg_export(const struct kabi_pkg *pkg, const char *sym)
{
	return pkg ? kabi_hash_get(&pkg->exports, sym) : NULL;
}

const struct kabi_pkg_export *
kabi_pkg_import_export(const struct kabi_pkg *pkg, const struct kabi_mod_view *m, const struct kabi_sym *imp)
{
	if (pkg && m->names_of == pkg)
		return string_of(imp->name)->export;
	return kabi_pkg_export(pkg, imp->name);
}

const struct kabi_symvers_entry *kabi_pkg_import_find(const struct kabi_pkg *pkg,
						      const struct kabi_mod_view *m,
						      const struct kabi_sym *imp,
						      const struct kabi_symvers *ref)
{
	struct pkg_string *p;
	uint64_t serial = kabi_symvers_serial(ref);

	if (!pkg || m->names_of != pkg)
		return kabi_symvers_find(ref, imp->name);
	/* (a cache: the package stays what it was) */
	p = string_of(imp->name);
	if (p->ref_serial != serial) {
		p->ref_entry = kabi_symvers_find(ref, imp->name);
		p->ref_serial = serial;
	}
	return p->ref_entry;
}

bool kabi_pkg_has_module(const struct kabi_pkg *pkg, const char *name)
{
	return pkg && kabi_hash_get(&pkg->names, name);
}

const struct kabi_mod_view *kabi_pkg_view(const struct kabi_pkg *pkg, const char *path)
{
	return pkg ? kabi_hash_get(&pkg->modules, path) : NULL;
}

struct kabi_ctx *kabi_pkg_ctx(const struct kabi_pkg *pkg)
{
	return pkg->ctx;
}
