/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libkabideps: read Linux kernel modules and kernel reference data, and turn
 * them into rpm dependencies (ksym()/kernel() Provides and Requires).
 *
 * Every object belongs to a struct kabi_ctx.  Functions that can fail return
 * 0 on success or a negative errno value; kabi_ctx_error() then says what
 * went wrong (without the file name, which the caller prints).
 * Strings returned by the library live as long as the object they came from.
 *
 * ABI: frozen.  The structs the library hands out in arrays or fills in
 * (kabi_sym, kabi_modinfo, kabi_symvers_entry, kabi_symset, kabi_strv) keep
 * their layout: no field is ever added, removed, reordered or retyped, and
 * no existing function changes; what is new comes as new functions in a new
 * version node of libkabideps.sym.  The other structs are opaque.  The
 * built library is checked against plugin/libkabideps.abi
 * (tests/unit/test-abi.sh).
 *
 * Threads: the library has no global state to guard (libarchive is loaded
 * once, under pthread_once).  A context and everything made with it or
 * found through it (modules, Module.symvers tables, symsets, packages, the
 * reference data it caches, its error message) are used by one thread at
 * a time; separate contexts may run in parallel.  A module is not tied to
 * its thread or context: once opened it may be handed to another thread
 * (with the synchronisation any data needs) and read there, also with
 * another context, and freed there (kabi-deps opens modules ahead in worker
 * threads, one context each).
 */
#ifndef KABIDEPS_H
#define KABIDEPS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kabi_ctx;
struct kabi_module;
struct kabi_symvers;
struct kabi_pkg;
struct kabi_symsets;

/* ---- context ---------------------------------------------------------- */

enum kabi_log_level {
	KABI_LOG_ERR = 3,
	KABI_LOG_WARNING = 4,
	KABI_LOG_INFO = 6
};
typedef void (*kabi_log_fn)(void *data, int level, const char *msg);

struct kabi_ctx *kabi_ctx_new(void);
void kabi_ctx_free(struct kabi_ctx *ctx);
/* What the last failing call of this context found wrong. */
const char *kabi_ctx_error(const struct kabi_ctx *ctx);
/* Warnings (no kernel reference, CRC mismatches) go here; default: stderr. */
void kabi_ctx_set_log_fn(struct kabi_ctx *ctx, kabi_log_fn fn, void *data);
/* Root prefixed to the reference search paths first (rpm's buildroot). */
int kabi_ctx_set_buildroot(struct kabi_ctx *ctx, const char *root);
/* Cap on the size of a module or reference file after decompression. */
void kabi_ctx_set_max_size(struct kabi_ctx *ctx, size_t bytes);
/* Use this Module.symvers (or symvers.gz/.xz/.zst) for every release
 * instead of searching; NULL goes back to searching. */
int kabi_ctx_set_symvers(struct kabi_ctx *ctx, const char *path);

/* Optional dependency classes and naming, all off by default, as
 * `kabi-deps --option NAME=VALUE` takes them (its --help lists them,
 * kabi-deps(1) describes them; the library's list is options.def).  An
 * empty value goes back to the default. */
int kabi_ctx_set_option(struct kabi_ctx *ctx, const char *name, const char *value);

/* ---- one kernel module ------------------------------------------------- */

enum kabi_sym_flags {
	KABI_SYM_CRC = 1 << 0, /* crc is known (CONFIG_MODVERSIONS) */
	KABI_SYM_GPL = 1 << 1, /* export is GPL-only */
};

struct kabi_sym {
	const char *name;
	const char *ns; /* export namespace, NULL when none */
	uint32_t crc;
	unsigned flags;
};

struct kabi_modinfo {
	const char *key;
	const char *value;
};

/* Read a .ko, .ko.xz, .ko.zst or .ko.gz (by magic), signed or not. */
int kabi_module_open(struct kabi_ctx *ctx, const char *path, struct kabi_module **mod);
/* The same from memory; name is used in messages and for path rules. */
int kabi_module_open_mem(struct kabi_ctx *ctx, const char *name, const void *data, size_t size,
			 struct kabi_module **mod);
void kabi_module_free(struct kabi_module *mod);

const char *kabi_module_path(const struct kabi_module *mod);
/* Exports and imports, in the order the module lists them. */
const struct kabi_sym *kabi_module_exports(const struct kabi_module *mod, size_t *n);
const struct kabi_sym *kabi_module_imports(const struct kabi_module *mod, size_t *n);
/* .modinfo key=value pairs, in file order; keys may repeat. */
const struct kabi_modinfo *kabi_module_modinfo(const struct kabi_module *mod, size_t *n);
/* First value of key, or NULL. */
const char *kabi_module_modinfo_get(const struct kabi_module *mod, const char *key);
/* Kernel release the module was built for (first word of vermagic), or NULL. */
const char *kabi_module_release(const struct kabi_module *mod);
int kabi_module_elf_class(const struct kabi_module *mod); /* ELFCLASS32/64 */
int kabi_module_elf_data(const struct kabi_module *mod); /* ELFDATA2LSB/MSB */
unsigned kabi_module_elf_machine(const struct kabi_module *mod); /* EM_* */
/* Size of the module's .gnu.linkonce.this_module section: the kernel's
 * struct module it was built with, which the loading kernel checks.
 * -ENOENT when the module has no such section.  (LIBKABIDEPS_0.1) */
int kabi_module_this_module_size(const struct kabi_module *mod, uint64_t *size);

/* ---- kernel reference data: Module.symvers ----------------------------- */

struct kabi_symvers_entry {
	const char *name;
	const char *module; /* "vmlinux" or the module's source path without .ko */
	const char *type; /* EXPORT_SYMBOL, EXPORT_SYMBOL_GPL, ... or "" */
	const char *ns; /* namespace or "" */
	uint32_t crc;
};

/* Module.symvers of any era, plain or gz/xz/zst compressed. */
int kabi_symvers_open(struct kabi_ctx *ctx, const char *path, struct kabi_symvers **sv);
int kabi_symvers_open_mem(struct kabi_ctx *ctx, const char *name, const void *data, size_t size,
			  struct kabi_symvers **sv);
void kabi_symvers_free(struct kabi_symvers *sv);
const char *kabi_symvers_path(const struct kabi_symvers *sv);
const struct kabi_symvers_entry *kabi_symvers_entries(const struct kabi_symvers *sv, size_t *n);
const struct kabi_symvers_entry *kabi_symvers_find(const struct kabi_symvers *sv, const char *name);

/* The reference for a kernel release: the one set with kabi_ctx_set_symvers,
 * else the first found under the buildroot, then on the host.  Cached.
 * NULL when there is none (logged once per release) or it cannot be read. */
const struct kabi_symvers *kabi_ctx_reference(struct kabi_ctx *ctx, const char *release);
/* Keep an index of each Module.symvers this context reads in dir (made if
 * need be, mode 0700), for the next process that reads the same file: it
 * is used instead of parsing the text while the file's device, inode, size,
 * mtime and ctime are those it was made from.  For programs that read one
 * module per process; NULL (the default) parses every time. */
int kabi_ctx_set_symvers_cache(struct kabi_ctx *ctx, const char *dir);

/* ---- kernel reference data: symsets tarballs ---------------------------- */

/* One named set of exports; its hash is its version: kernel(NAME) = HASH. */
struct kabi_symset {
	const char *name;
	const char *hash;
	size_t n_syms;
};

/* symsets-<release>.tar.gz of either style (SUSE, RHEL 5). */
int kabi_symsets_open(struct kabi_ctx *ctx, const char *path, struct kabi_symsets **ss);
void kabi_symsets_free(struct kabi_symsets *ss);
const char *kabi_symsets_path(const struct kabi_symsets *ss);
const struct kabi_symset *kabi_symsets_sets(const struct kabi_symsets *ss, size_t *n);
/* The lines of set i, as Module.symvers entries. */
const struct kabi_symvers *kabi_symsets_content(const struct kabi_symsets *ss, size_t i);
/* The bytes of set i as the tarball holds them. */
const void *kabi_symsets_data(const struct kabi_symsets *ss, size_t i, size_t *size);

/* Use this symsets tarball for every release instead of searching. */
int kabi_ctx_set_symsets(struct kabi_ctx *ctx, const char *path);
/* The symsets of a kernel release, set or found beside its reference
 * (buildroot first); NULL when there are none.  Cached. */
const struct kabi_symsets *kabi_ctx_symsets(struct kabi_ctx *ctx, const char *release);

/* ---- dependencies ------------------------------------------------------ */

/* A growable list of dependency strings. */
struct kabi_strv {
	char **v;
	size_t n, cap;
};
void kabi_strv_free(struct kabi_strv *sv);
/* Sort in byte order and drop duplicates. */
void kabi_strv_sort_uniq(struct kabi_strv *sv);

/* The modules of one package: what they export satisfies their own imports. */
struct kabi_pkg *kabi_pkg_new(struct kabi_ctx *ctx);
void kabi_pkg_free(struct kabi_pkg *pkg);
int kabi_pkg_add(struct kabi_pkg *pkg, const struct kabi_module *mod);

/* Append the Provides of mod to out: ksym(SYM) = 0xCRC, or kernel(SYM) = 0xCRC
 * for in-tree modules (under /lib/modules/<release>/kernel/). */
int kabi_provides(struct kabi_ctx *ctx, const struct kabi_module *mod, struct kabi_strv *out);
/* Provides of any file kabi-deps knows: a module (added to pkg when not
 * NULL), a symsets tarball (kernel(SET) = HASH for every set), or a kernel's
 * symvers file (kernel(SYM) = 0xCRC for the exports of vmlinux). */
int kabi_provides_file(struct kabi_ctx *ctx, struct kabi_pkg *pkg, const char *path, struct kabi_strv *out);
/* Append the Requires of mod to out, leaving out what pkg (may be NULL)
 * provides: kernel(SET) = HASH for each symset holding an import with its
 * CRC, then kernel(SYM) = 0xCRC for the other symbols of the kernel
 * reference, ksym(SYM) = 0xCRC for the rest. */
int kabi_requires(struct kabi_ctx *ctx, const struct kabi_pkg *pkg, const struct kabi_module *mod,
		  struct kabi_strv *out);
/* The same for a module added to pkg earlier, by its path, without reading
 * it again (rpm asks for all Provides of a package before its Requires). */
int kabi_pkg_requires(struct kabi_pkg *pkg, const char *path, struct kabi_strv *out);
/* Supplements (SUSE modalias) and Recommends (firmware) of mod, per the
 * options; nothing when those classes are off. */
int kabi_supplements(struct kabi_ctx *ctx, const struct kabi_module *mod, struct kabi_strv *out);
int kabi_recommends(struct kabi_ctx *ctx, const struct kabi_module *mod, struct kabi_strv *out);
/* What a kernel offers, as the Provides of its packages would say it:
 * kernel(SYM) = 0xCRC for every export of a Module.symvers / symvers.gz,
 * kernel(SET) = HASH plus the members of a symsets tarball, the
 * Module.symvers of a headers directory, or the reference data found for an
 * installed kernel release (a name that is not a file). */
int kabi_kernel_provides(struct kabi_ctx *ctx, const char *ref, struct kabi_strv *out);
/* Does kabi_generate() take path for a kernel module (by its name; not a
 * symsets tarball or a kernel's symvers file)? */
int kabi_path_is_module(const char *path);
/* Any kind by name: provides, requires, supplements, recommends.  Reads
 * path (modules, symsets, symvers files), or for requires takes the module
 * that provides added to pkg. */
int kabi_generate(struct kabi_ctx *ctx, struct kabi_pkg *pkg, const char *kind, const char *path,
		  struct kabi_strv *out);

/* ---- reading ahead ------------------------------------------------------ */

/* Read the compressed modules among paths ahead, on worker threads (one
 * per core; the environment's KABI_DEPS_THREADS sets how many, 0 none):
 * kabi_module_open() of such a path, and what opens modules for it
 * (kabi_generate), then take what was read, once, in any order; a failure
 * is given as reading it would give it.  Until then only what was parsed
 * of a module is kept, not its bytes.  Replaces an earlier read-ahead of
 * ctx; freed with ctx.  (LIBKABIDEPS_0.2) */
int kabi_ctx_read_ahead(struct kabi_ctx *ctx, const char *const *paths, size_t n);
/* The same for the module files under the buildroot's /lib/modules and
 * /usr/lib/modules whose path without the buildroot matches pattern (a POSIX
 * extended regular expression, as rpm's %__NAME_path), in path order; again
 * with the same buildroot and pattern, or without a buildroot: nothing.
 * (LIBKABIDEPS_0.2) */
int kabi_ctx_read_ahead_tree(struct kabi_ctx *ctx, const char *pattern);

#ifdef __cplusplus
}
#endif
#endif
