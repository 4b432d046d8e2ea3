/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal interfaces of libkabideps, shared between its source files. */
#ifndef LIBKABIDEPS_PRIVATE_H
#define LIBKABIDEPS_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kabideps.h"

#define KABI_EXPORT __attribute__((visibility("default")))
#define KABI_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Default cap on decompressed data: far above any real module (the largest
 * in-tree module, amdgpu, is ~20 MiB) and small enough to refuse bombs. */
#define KABI_DEFAULT_MAX_SIZE ((size_t)256 << 20)
/* What hostile input cannot exceed, far above real modules: sections (one
 * per function with -ffunction-sections), symbol table entries, and symbol
 * names (the kernel's KSYM_NAME_LEN is 512). */
#define KABI_MAX_SECTIONS ((size_t)1 << 20)
#define KABI_MAX_SYMBOLS ((size_t)1 << 22)
#define KABI_MAX_NAME 4096

/* ---- errors and logging (ctx.c) ---- */
/* Records the message for kabi_ctx_error() and returns -err. */
int kabi_fail(struct kabi_ctx *ctx, int err, const char *fmt, ...) KABI_PRINTF(3, 4);
void kabi_log(struct kabi_ctx *ctx, int level, const char *fmt, ...) KABI_PRINTF(3, 4);
size_t kabi_ctx_max_size(const struct kabi_ctx *ctx);

enum {
	KABI_KMOD_NONE,
	KABI_KMOD_FEDORA,
	KABI_KMOD_SUSE
};
enum {
	KABI_MODALIAS_NONE,
	KABI_MODALIAS_PROVIDES,
	KABI_MODALIAS_SUPPLEMENTS
};
enum {
	KABI_FIRMWARE_NONE,
	KABI_FIRMWARE_REQUIRES,
	KABI_FIRMWARE_RECOMMENDS
};

/* What kabi_ctx_set_option() chose. */
struct kabi_options {
	int kmod, modalias, firmware;
	char *flavor; /* NULL: none, "auto": from the release, else itself */
	char *stablelist; /* kABI stablelist file, NULL: the default place */
	char *triggers; /* package every package with modules requires, or NULL */
};
const struct kabi_options *kabi_ctx_options(const struct kabi_ctx *ctx);
const char *kabi_ctx_buildroot(const struct kabi_ctx *ctx);
/* The reference file the user named that could not be read, or NULL. */
const char *kabi_ctx_failed_reference(const struct kabi_ctx *ctx);

/* ---- file contents (file.c, decompress-*.c) ---- */
/* Bytes of a file, decompressed when needed.  Writable (a private mapping
 * or a heap copy) because libelf may convert byte order in place.  A plain
 * module is read sparsely: data spans the whole file, but only the blocks
 * kabi_buf_need() was asked for hold its bytes (system calls, not bytes,
 * are the cost of reading a module tree). */
struct kabi_buf {
	unsigned char *data;
	size_t size;
	size_t map_size; /* != 0: data is an mmap of that length */
	unsigned char *have; /* sparse: bitmap of the KABI_BLOCK blocks read */
	int fd; /* sparse: where the other blocks come from, else -1 */
};

#define KABI_BLOCK ((size_t)4096)

enum kabi_compression {
	KABI_COMP_NONE,
	KABI_COMP_GZIP,
	KABI_COMP_XZ,
	KABI_COMP_ZSTD
};

enum kabi_compression kabi_detect_compression(const void *data, size_t size);
/* Load path (or copy mem when path is NULL) and decompress it if needed. */
int kabi_buf_load(struct kabi_ctx *ctx, const char *path, struct kabi_buf *buf);
/* The same, but an uncompressed file is read sparsely: its first and last
 * blocks now (where ELF headers and tables are), the rest on demand. */
int kabi_buf_open(struct kabi_ctx *ctx, const char *path, struct kabi_buf *buf);
/* Make [off, off + len) of a sparse buffer hold the file's bytes (clipped to
 * the file); a no-op for the others. */
int kabi_buf_need(struct kabi_ctx *ctx, struct kabi_buf *buf, uint64_t off, uint64_t len);
/* Done reading on demand: closes a sparse buffer's file. */
void kabi_buf_close_file(struct kabi_buf *buf);
int kabi_buf_from_mem(struct kabi_ctx *ctx, const void *data, size_t size, struct kabi_buf *buf);
void kabi_buf_release(struct kabi_buf *buf);

/* A library loaded on first use (lazylib.c): its functions, by name, go
 * where targets point (each the address of a function pointer). */
struct kabi_lazylib {
	const char *soname; /* "liblzma.so.5" */
	const char *needed_for; /* "xz-compressed": begins the message */
	const char *const *symbols; /* NULL-terminated */
	void *const *targets;
	bool tried;
	char error[512]; /* "": loaded */
};
/* 0 when lib is loaded (now or before), else fails naming the library. */
int kabi_lazylib_load(struct kabi_ctx *ctx, struct kabi_lazylib *lib);

/* Each backend decompresses in into a malloc'd buffer of at most max bytes.
 * Each loads its library when first called (kabi_lazylib_load()). */
int kabi_gunzip(struct kabi_ctx *ctx, const void *in, size_t in_size, size_t max, unsigned char **out,
		size_t *out_size);
int kabi_unxz(struct kabi_ctx *ctx, const void *in, size_t in_size, size_t max, unsigned char **out,
	      size_t *out_size);
int kabi_unzstd(struct kabi_ctx *ctx, const void *in, size_t in_size, size_t max, unsigned char **out,
		size_t *out_size);
/* Shared by the backends: grow *out for a stream whose size is unknown. */
int kabi_grow_output(struct kabi_ctx *ctx, unsigned char **out, size_t *cap, size_t max);

/* ---- string set (hash.c): open addressing, keys are not copied ---- */
struct kabi_hash_slot {
	const char *key; /* NULL: empty */
	void *value;
	uint32_t hash; /* spares strcmp on slots that cannot match */
};
struct kabi_hash {
	struct kabi_hash_slot *slots; /* a probe reads one slot, not three arrays */
	size_t n, cap;
};
int kabi_hash_put(struct kabi_hash *h, const char *key, void *value); /* 0, 1 if present */
void *kabi_hash_get(const struct kabi_hash *h, const char *key);
void kabi_hash_fini(struct kabi_hash *h);

/* ---- Module.symvers (symvers.c) ---- */
bool kabi_symvers_has_module(const struct kabi_symvers *sv, const char *name);
/* false for the all-zero CRCs of a kernel without modversions */
bool kabi_symvers_has_crcs(const struct kabi_symvers *sv);

/* ---- modules (module.c) ---- */
/* Has __versions or the extended tables; without them the imports are the
 * undefined symbols, without CRCs. */
bool kabi_module_has_modversions(const struct kabi_module *mod);

/* kabi_symvers_open() through an index in cache_dir (symvers-index.c):
 * the index when it is of the file as it is now, else a parse (and then
 * an index written for the next process). */
int kabi_symvers_open_cached(struct kabi_ctx *ctx, const char *path, const char *cache_dir,
			     struct kabi_symvers **sv);

/* ---- the index of a Module.symvers (symvers-index.c) ---- */
struct stat;
struct kabi_symvers_index;
/* The index in dir of the file whose state ref is, or NULL (none, another
 * state of the file, or not a valid index). */
struct kabi_symvers_index *kabi_symvers_index_open(const char *dir, const struct stat *ref);
void kabi_symvers_index_free(struct kabi_symvers_index *x);
size_t kabi_symvers_index_count(const struct kabi_symvers_index *x);
bool kabi_symvers_index_has_crcs(const struct kabi_symvers_index *x);
/* What a lookup returns where it found the index damaged (its offsets are
 * checked as they are read): the caller must not use the index further. */
#define KABI_INDEX_DAMAGED (-2)
/* Entry i: 0, or KABI_INDEX_DAMAGED. */
int kabi_symvers_index_entry(const struct kabi_symvers_index *x, size_t i, struct kabi_symvers_entry *e);
/* The entry of name (the first row naming it), -1, or KABI_INDEX_DAMAGED. */
long kabi_symvers_index_find(const struct kabi_symvers_index *x, const char *name);
/* 1, 0, or KABI_INDEX_DAMAGED. */
int kabi_symvers_index_has_module(const struct kabi_symvers_index *x, const char *name);
/* Remove the index's file, if it is still the one x was read from. */
void kabi_symvers_index_discard(const struct kabi_symvers_index *x);
/* Write the index of sv, parsed from the file in state ref (best effort). */
void kabi_symvers_index_write(const char *dir, const struct stat *ref, const struct kabi_symvers *sv);

/* ---- symsets (symsets.c) ---- */
int kabi_symsets_require(const struct kabi_symsets *ss, const char *sym, uint32_t crc, const char *flavor,
			 struct kabi_strv *out);
int kabi_symsets_provides(const struct kabi_symsets *ss, const char *flavor, struct kabi_strv *out);

/* ---- generation (deps.c, modinfo-deps.c) ---- */
/* What dependency generation needs of a module: a package keeps it after
 * the module itself is closed. */
struct kabi_mod_view {
	const char *path;
	const char *release;
	unsigned machine; /* ELF e_machine, class, data: the architecture */
	int elf_class, elf_data;
	bool modversions; /* imports carry CRCs */
	bool vermagic_modversions; /* its vermagic says "modversions" */
	const struct kabi_sym *imports;
	size_t n_imports;
	const struct kabi_modinfo *modinfo;
	size_t n_modinfo;
};
void kabi_view_of(const struct kabi_module *mod, struct kabi_mod_view *v);
const char *kabi_view_modinfo(const struct kabi_mod_view *v, const char *key);
bool kabi_path_in_tree(const char *path);
/* The flavor dependencies are named after (NULL: none), and the one a
 * release names (its last -component). */
const char *kabi_flavor(struct kabi_ctx *ctx, const char *release);
const char *kabi_release_flavor(const char *release);
int kabi_push_sym(struct kabi_strv *out, const char *kind, const char *flavor, const char *name,
		  const struct kabi_sym *sym);
/* The module's name from its file name: no .ko[.gz|.xz|.zst], - as _. */
char *kabi_module_name(const char *path);
int kabi_kmod_provides(struct kabi_ctx *ctx, const struct kabi_mod_view *v, struct kabi_strv *out);
int kabi_modalias_deps(struct kabi_ctx *ctx, const struct kabi_mod_view *v, struct kabi_strv *out);
int kabi_firmware_deps(struct kabi_ctx *ctx, const struct kabi_mod_view *v, struct kabi_strv *out);

/* ---- kABI stablelists (stablelist.c) ---- */
/* The distribution's name of a module's architecture (x86_64, ppc64le, ...). */
const char *kabi_view_arch(const struct kabi_mod_view *v);
/* The stablelist for an architecture: the configured file, else
 * /lib/modules/kabi-current/kabi_stablelist_<arch> (buildroot first).
 * NULL when there is none.  Cached in ctx. */
const struct kabi_hash *kabi_ctx_stablelist(struct kabi_ctx *ctx, const char *arch);
struct kabi_hash *kabi_ctx_stablelist_cache(struct kabi_ctx *ctx);
void kabi_stablelists_free(struct kabi_hash *cache);

/* ---- dependency strings (deps.c) ---- */
int kabi_strv_push(struct kabi_strv *sv, char *s); /* takes s */
int kabi_strv_pushf(struct kabi_strv *sv, const char *fmt, ...) KABI_PRINTF(2, 3);

#endif
