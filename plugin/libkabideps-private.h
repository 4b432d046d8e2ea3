/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal interfaces of libkabideps, shared between its source files. */
#ifndef LIBKABIDEPS_PRIVATE_H
#define LIBKABIDEPS_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kabideps.h"

#define KABI_EXPORT __attribute__((visibility("default")))
#define KABI_PRINTF(f, a) __attribute__((format(printf, f, a)))
/* As libkmod-internal.h: a result that is an error or an owned pointer must
 * be looked at; pointer arguments named here must not be NULL (the others
 * may be, as their comments say). */
#define KABI_MUST_CHECK __attribute__((warn_unused_result))
#define KABI_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))

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
int kabi_fail(struct kabi_ctx *ctx, int err, const char *fmt, ...) KABI_PRINTF(3, 4) KABI_NONNULL(1, 3);
void kabi_log(struct kabi_ctx *ctx, int level, const char *fmt, ...) KABI_PRINTF(3, 4) KABI_NONNULL(1, 3);
size_t kabi_ctx_max_size(const struct kabi_ctx *ctx) KABI_NONNULL(1);

/* The values of options.def's CHOICE rows, in the order of their VALUES. */
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

/* What kabi_ctx_set_option() chose (options.c), a member per row of
 * options.def: a CHOICE is its enum value above, a TOKEN or PACKAGE the
 * string or NULL (flavor "auto": from the release); a FILE is the
 * reference cache's (kabi_refs_named()). */
#define KABI_OPTION_MEMBER_CHOICE(name) int name;
#define KABI_OPTION_MEMBER_TOKEN(name) char *name;
#define KABI_OPTION_MEMBER_PACKAGE(name) char *name;
#define KABI_OPTION_MEMBER_FILE(name)
struct kabi_options {
#define KABI_OPTION(name, type, values, macro_default, help) KABI_OPTION_MEMBER_##type(name)
#include "options.def"
#undef KABI_OPTION
};
const struct kabi_options *kabi_ctx_options(const struct kabi_ctx *ctx) KABI_NONNULL(1);
struct kabi_options *kabi_ctx_options_rw(struct kabi_ctx *ctx) KABI_NONNULL(1);
void kabi_options_fini(struct kabi_options *opts) KABI_NONNULL(1);
/* NULL: no buildroot */
const char *kabi_ctx_buildroot(const struct kabi_ctx *ctx) KABI_NONNULL(1);

/* ---- kernel reference data, found and cached (reference.c) ---- */
enum kabi_ref_kind {
	KABI_REF_SYMVERS, /* by kernel release */
	KABI_REF_SYMSETS, /* by kernel release */
	KABI_REF_STABLELIST, /* by architecture (kabi_view_arch) */
	KABI_REF_KINDS
};
struct kabi_refs;
struct kabi_refs *kabi_refs_new(void) KABI_MUST_CHECK;
void kabi_refs_free(struct kabi_refs *refs); /* NULL-safe */
/* Forget everything loaded (the buildroot changed). */
void kabi_refs_drop(struct kabi_refs *refs) KABI_NONNULL(1);
struct kabi_refs *kabi_ctx_refs(struct kabi_ctx *ctx) KABI_NONNULL(1);
/* The file of a kind the user named (NULL or "": search by key); setting
 * the same again keeps what is loaded. */
int kabi_refs_set_named(struct kabi_ctx *ctx, enum kabi_ref_kind kind, const char *path) KABI_MUST_CHECK
	KABI_NONNULL(1);
const char *kabi_refs_named(struct kabi_ctx *ctx, enum kabi_ref_kind kind) KABI_NONNULL(1);
const char *kabi_refs_symvers_cache(struct kabi_ctx *ctx) KABI_NONNULL(1);
/* The object of a kind for key (a release or an arch), or NULL: none found
 * (a missing Module.symvers was warned about, once per release). */
const void *kabi_refs_get(struct kabi_ctx *ctx, enum kabi_ref_kind kind, const char *key) KABI_NONNULL(1);
/* Was reference data lost to a failed allocation since the last call?
 * (Then what was made without it is wrong: the call fails with ENOMEM.) */
bool kabi_refs_out_of_memory(struct kabi_ctx *ctx) KABI_NONNULL(1);
/* The reference file the user named that could not be read, or NULL. */
const char *kabi_ctx_failed_reference(struct kabi_ctx *ctx) KABI_NONNULL(1);

/* ---- file contents (file.c, decompress-*.c) ---- */
/* Bytes of a file, decompressed when needed.  Writable (a private mapping
 * or a heap copy) because the parsers split .modinfo and text in place
 * (libelf never writes to it: it converts byte order into copies).  A plain
 * module is read sparsely: data spans the whole file, but only the blocks
 * kabi_buf_need() was asked for hold its bytes (most of a module is code
 * that nothing here reads: copying it was most of the cost of a tree). */
struct kabi_buf {
	unsigned char *data;
	size_t size;
	size_t map_size; /* != 0: data is an mmap of that length */
	unsigned char *have; /* sparse: bitmap of the KABI_BLOCK blocks read, after data */
	int fd; /* sparse: where the other blocks come from, else -1 */
	struct kabi_buf_pool *pool; /* != NULL: data is this pool's spare, lent */
};

/* The unit kabi_buf_need() reads in: rounding each read up to it is
 * copying nothing parses (64: the ELF header). */
#define KABI_BLOCK ((size_t)64)

/* The directory of the last file opened (file.c), in the context. */
struct kabi_dir_cache {
	char *path;
	size_t len;
	int fd; /* O_PATH, or -1: none */
	struct timespec at; /* last used (CLOCK_MONOTONIC_COARSE) */
};
struct kabi_dir_cache *kabi_ctx_dir_cache(struct kabi_ctx *ctx);
void kabi_dir_cache_fini(struct kabi_dir_cache *dc);

/* A context's spare buffer for sparse reads (file.c), in the context; a
 * buffer lent from it goes back when released, on any thread, also after
 * the context is freed (then the pool goes with it). */
struct kabi_buf_pool;
struct kabi_buf_pool **kabi_ctx_buf_pool(struct kabi_ctx *ctx);
void kabi_buf_pool_free(struct kabi_buf_pool *pool);

enum kabi_compression {
	KABI_COMP_NONE,
	KABI_COMP_GZIP,
	KABI_COMP_XZ,
	KABI_COMP_ZSTD
};

enum kabi_compression kabi_detect_compression(const void *data, size_t size) KABI_NONNULL(1);
/* Load the file at path and decompress it if needed. */
int kabi_buf_load(struct kabi_ctx *ctx, const char *path, struct kabi_buf *buf) KABI_MUST_CHECK
	KABI_NONNULL(1, 2, 3);
/* The same, but an uncompressed file is read sparsely: its first and last
 * blocks now (where ELF headers and tables are), the rest on demand. */
int kabi_buf_open(struct kabi_ctx *ctx, const char *path, struct kabi_buf *buf) KABI_MUST_CHECK
	KABI_NONNULL(1, 2, 3);
/* Make [off, off + len) of a sparse buffer hold the file's bytes (clipped to
 * the file); a no-op for the others. */
int kabi_buf_need(struct kabi_ctx *ctx, struct kabi_buf *buf, uint64_t off, uint64_t len) KABI_MUST_CHECK
	KABI_NONNULL(1, 2);
/* Done reading on demand: closes a sparse buffer's file. */
void kabi_buf_close_file(struct kabi_buf *buf) KABI_NONNULL(1);
/* A copy of data, decompressed if need be. */
int kabi_buf_from_mem(struct kabi_ctx *ctx, const void *data, size_t size,
		      struct kabi_buf *buf) KABI_MUST_CHECK KABI_NONNULL(1, 2, 4);
void kabi_buf_release(struct kabi_buf *buf) KABI_NONNULL(1);
/* Is there a writable byte past the end of buf, for a text parser's final
 * NUL?  Heap buffers and decompressed mappings have one; a mapping of a
 * file may not. */
bool kabi_buf_has_nul_room(const struct kabi_buf *buf) KABI_NONNULL(1);

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
int kabi_lazylib_load(struct kabi_ctx *ctx, struct kabi_lazylib *lib) KABI_MUST_CHECK KABI_NONNULL(1, 2);

/* Each backend decompresses in into out (its data, size and map_size; the
 * rest untouched), at most max bytes; on failure out holds nothing.  Each
 * loads its library when first called (kabi_lazylib_load()). */
int kabi_gunzip(struct kabi_ctx *ctx, const void *in, size_t in_size, size_t max,
		struct kabi_buf *out) KABI_MUST_CHECK KABI_NONNULL(1, 2, 5);
int kabi_unxz(struct kabi_ctx *ctx, const void *in, size_t in_size, size_t max,
	      struct kabi_buf *out) KABI_MUST_CHECK KABI_NONNULL(1, 2, 5);
int kabi_unzstd(struct kabi_ctx *ctx, const void *in, size_t in_size, size_t max,
		struct kabi_buf *out) KABI_MUST_CHECK KABI_NONNULL(1, 2, 5);
/* Shared by the backends: room for more output in out, *cap bytes of it
 * (and one more, for a text parser's NUL), out->size of them written.  The
 * first call, with hint != 0 (the decompressed size the stream's own
 * header or index says, which its decoder then checks), allocates that
 * much, a large one as a mapping of its own; otherwise and later, the
 * buffer doubles on the heap, up to max. */
int kabi_output_grow(struct kabi_ctx *ctx, struct kabi_buf *out, size_t *cap, uint64_t hint, size_t in_size,
		     size_t max) KABI_MUST_CHECK KABI_NONNULL(1, 2, 3);

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
/* 0, 1 if present, -ENOMEM */
int kabi_hash_put(struct kabi_hash *h, const char *key, void *value) KABI_MUST_CHECK KABI_NONNULL(1, 2);
void *kabi_hash_get(const struct kabi_hash *h, const char *key) KABI_NONNULL(1, 2);
/* The same with the key's kabi_hash_of() known: hashed once for both */
uint32_t kabi_hash_of(const char *key) KABI_NONNULL(1);
int kabi_hash_put_hashed(struct kabi_hash *h, const char *key, uint32_t hash, void *value) KABI_MUST_CHECK
	KABI_NONNULL(1, 2);
void *kabi_hash_get_hashed(const struct kabi_hash *h, const char *key, uint32_t hash) KABI_NONNULL(1, 2);
/* Room for n keys in all, so that filling the table does not grow it on
 * the way (the capacity it would have grown to). */
int kabi_hash_reserve(struct kabi_hash *h, size_t n) KABI_MUST_CHECK KABI_NONNULL(1);
/* Start bringing the slot of a hash into the cache, for a lookup soon. */
void kabi_hash_prefetch(const struct kabi_hash *h, uint32_t hash) KABI_NONNULL(1);
void kabi_hash_fini(struct kabi_hash *h) KABI_NONNULL(1);

/* ---- Module.symvers (symvers.c) ---- */
bool kabi_symvers_has_module(const struct kabi_symvers *sv, const char *name) KABI_NONNULL(1, 2);
/* false for the all-zero CRCs of a kernel without modversions */
bool kabi_symvers_has_crcs(const struct kabi_symvers *sv) KABI_NONNULL(1);
/* Names this table alone in the process, not 0: what a cache of lookups
 * keeps (an address can be reused once the table is freed). */
uint64_t kabi_symvers_serial(const struct kabi_symvers *sv) KABI_NONNULL(1);

/* ---- modules (module.c) ---- */
/* Has __versions or the extended tables; without them the imports are the
 * undefined symbols, without CRCs. */
bool kabi_module_has_modversions(const struct kabi_module *mod) KABI_NONNULL(1);
/* kabi_module_open() for what Provides ask: its imports are not read
 * (kabi_module_imports() has none), nor checked; nor .modinfo (no modinfo,
 * no release) unless the context's options make Provides of it. */
int kabi_module_open_for_provides(struct kabi_ctx *ctx, const char *path,
				  struct kabi_module **mod) KABI_MUST_CHECK KABI_NONNULL(1, 2, 3);

/* kabi_symvers_open() through an index in cache_dir (symvers-index.c):
 * the index when it is of the file as it is now, else a parse (and then
 * an index written for the next process). */
int kabi_symvers_open_cached(struct kabi_ctx *ctx, const char *path, const char *cache_dir,
			     struct kabi_symvers **sv) KABI_MUST_CHECK KABI_NONNULL(1, 2, 3, 4);

/* ---- the index of a Module.symvers (symvers-index.c) ---- */
struct stat;
struct kabi_symvers_index;
/* The index in dir of the file whose state ref is, or NULL (none, another
 * state of the file, or not a valid index). */
struct kabi_symvers_index *kabi_symvers_index_open(const char *dir, const struct stat *ref) KABI_MUST_CHECK
	KABI_NONNULL(1, 2);
void kabi_symvers_index_free(struct kabi_symvers_index *x); /* NULL-safe */
size_t kabi_symvers_index_count(const struct kabi_symvers_index *x) KABI_NONNULL(1);
bool kabi_symvers_index_has_crcs(const struct kabi_symvers_index *x) KABI_NONNULL(1);
/* What a lookup returns where it found the index damaged (its offsets are
 * checked as they are read): the caller must not use the index further. */
#define KABI_INDEX_DAMAGED (-2)
/* Entry i: 0, or KABI_INDEX_DAMAGED. */
int kabi_symvers_index_entry(const struct kabi_symvers_index *x, size_t i,
			     struct kabi_symvers_entry *e) KABI_MUST_CHECK KABI_NONNULL(1, 3);
/* The entry of name (the first row naming it), -1, or KABI_INDEX_DAMAGED. */
long kabi_symvers_index_find(const struct kabi_symvers_index *x, const char *name) KABI_NONNULL(1, 2);
/* 1, 0, or KABI_INDEX_DAMAGED. */
int kabi_symvers_index_has_module(const struct kabi_symvers_index *x, const char *name) KABI_NONNULL(1, 2);
/* Remove the index's file, if it is still the one x was read from. */
void kabi_symvers_index_discard(const struct kabi_symvers_index *x) KABI_NONNULL(1);
/* Write the index of sv, parsed from the file in state ref (best effort). */
void kabi_symvers_index_write(const char *dir, const struct stat *ref, const struct kabi_symvers *sv)
	KABI_NONNULL(1, 2, 3);

/* ---- symsets (symsets.c) ---- */
/* flavor: NULL for none.  The number of sets pushed, or -ENOMEM (no message). */
int kabi_symsets_require(const struct kabi_symsets *ss, const char *sym, uint32_t crc, const char *flavor,
			 struct kabi_strv *out) KABI_MUST_CHECK KABI_NONNULL(1, 2, 5);
int kabi_symsets_provides(const struct kabi_symsets *ss, const char *flavor,
			  struct kabi_strv *out) KABI_MUST_CHECK KABI_NONNULL(1, 3);

/* ---- what generation keeps of a module (package.c) ---- */
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
	/* The package whose strings the imports' names are (it keeps the
	 * view), or NULL. */
	const struct kabi_pkg *names_of;
};
void kabi_view_of(const struct kabi_module *mod, struct kabi_mod_view *v) KABI_NONNULL(1, 2);
const char *kabi_view_modinfo(const struct kabi_mod_view *v, const char *key) KABI_NONNULL(1, 2);

/* A symbol some module of the package exports. */
struct kabi_pkg_export {
	const char *module; /* its path */
	uint32_t crc;
	unsigned flags;
};
/* All NULL-safe in pkg (no package: nothing). */
const struct kabi_pkg_export *kabi_pkg_export(const struct kabi_pkg *pkg, const char *sym) KABI_NONNULL(2);
/* The same for an import of m, and ref's entry for it: for a view the
 * package keeps, without a lookup by name after the first. */
const struct kabi_pkg_export *kabi_pkg_import_export(const struct kabi_pkg *pkg,
						     const struct kabi_mod_view *m,
						     const struct kabi_sym *imp) KABI_NONNULL(2, 3);
const struct kabi_symvers_entry *kabi_pkg_import_find(const struct kabi_pkg *pkg,
						      const struct kabi_mod_view *m,
						      const struct kabi_sym *imp,
						      const struct kabi_symvers *ref) KABI_NONNULL(2, 3, 4);
/* name: a module name as kabi_module_name() gives it */
bool kabi_pkg_has_module(const struct kabi_pkg *pkg, const char *name) KABI_NONNULL(2);
const struct kabi_mod_view *kabi_pkg_view(const struct kabi_pkg *pkg, const char *path) KABI_NONNULL(2);
struct kabi_ctx *kabi_pkg_ctx(const struct kabi_pkg *pkg) KABI_NONNULL(1);

/* ---- a module's dependencies (module-deps.c, modinfo-deps.c) ---- */
/* pkg: NULL for none */
int kabi_view_requires(struct kabi_ctx *ctx, const struct kabi_pkg *pkg, const struct kabi_mod_view *m,
		       struct kabi_strv *out) KABI_MUST_CHECK KABI_NONNULL(1, 3, 4);
int kabi_view_supplements(struct kabi_ctx *ctx, const struct kabi_mod_view *v,
			  struct kabi_strv *out) KABI_MUST_CHECK KABI_NONNULL(1, 2, 3);
int kabi_view_recommends(struct kabi_ctx *ctx, const struct kabi_mod_view *v,
			 struct kabi_strv *out) KABI_MUST_CHECK KABI_NONNULL(1, 2, 3);
bool kabi_path_in_tree(const char *path) KABI_NONNULL(1);
/* The flavor dependencies are named after (NULL: none), and the one a
 * release names (its last -component); release may be NULL (unknown). */
const char *kabi_flavor(struct kabi_ctx *ctx, const char *release) KABI_NONNULL(1);
const char *kabi_release_flavor(const char *release);
/* flavor: NULL for none; -ENOMEM without a message, as the other pushes */
int kabi_push_sym(struct kabi_strv *out, const char *kind, const char *flavor, const char *name,
		  const struct kabi_sym *sym) KABI_MUST_CHECK KABI_NONNULL(1, 2, 4, 5);
/* kernel-uname-r = RELEASE, or kernel-uname-r(RELEASE) where rpm takes the
 * release for no version (doc/dependencies.md) */
int kabi_push_uname_r(struct kabi_strv *out, const char *release, const char *flavor) KABI_MUST_CHECK
	KABI_NONNULL(1, 2);
/* The module's name from its file name: no .ko[.gz|.xz|.zst], - as _. */
char *kabi_module_name(const char *path) KABI_MUST_CHECK KABI_NONNULL(1);
int kabi_kmod_provides(struct kabi_ctx *ctx, const struct kabi_mod_view *v,
		       struct kabi_strv *out) KABI_MUST_CHECK KABI_NONNULL(1, 2, 3);
int kabi_modalias_deps(struct kabi_ctx *ctx, const struct kabi_mod_view *v,
		       struct kabi_strv *out) KABI_MUST_CHECK KABI_NONNULL(1, 2, 3);
int kabi_firmware_deps(struct kabi_ctx *ctx, const struct kabi_mod_view *v,
		       struct kabi_strv *out) KABI_MUST_CHECK KABI_NONNULL(1, 2, 3);

/* ---- the kernel side (kernel-provides.c) ---- */
/* Provides of a kernel reference file (symvers, symsets): !kabi_path_is_module(path). */
int kabi_reference_file_provides(struct kabi_ctx *ctx, const char *path,
				 struct kabi_strv *out) KABI_MUST_CHECK KABI_NONNULL(1, 2, 3);

/* ---- kABI stablelists (stablelist.c) ---- */
/* The distribution's name of a module's architecture (x86_64, ppc64le, ...). */
const char *kabi_view_arch(const struct kabi_mod_view *v) KABI_NONNULL(1);
struct kabi_stablelist;
int kabi_stablelist_open(struct kabi_ctx *ctx, const char *path, struct kabi_stablelist **l) KABI_MUST_CHECK
	KABI_NONNULL(1, 2, 3);
void kabi_stablelist_free(struct kabi_stablelist *l); /* NULL-safe */
bool kabi_stablelist_has(const struct kabi_stablelist *l, const char *sym) KABI_NONNULL(1, 2);
/* The stablelist for an architecture: the configured file, else
 * /lib/modules/kabi-current/kabi_stablelist_<arch> (buildroot first).
 * NULL when there is none (reference.c). */
const struct kabi_stablelist *kabi_ctx_stablelist(struct kabi_ctx *ctx, const char *arch) KABI_NONNULL(1, 2);

/* ---- modules read ahead on worker threads (read-ahead.c) ---- */
struct kabi_read_ahead;
/* Where the context keeps its read-ahead (ctx.c). */
struct kabi_read_ahead **kabi_ctx_read_ahead_slot(struct kabi_ctx *ctx);
/* Stops the workers and frees what nobody took. */
void kabi_read_ahead_free(struct kabi_read_ahead *ra);
/* true: the read-ahead answered for path, with *mod (*r 0) or its own
 * failure (*r < 0, the context's error says why); false: read it. */
bool kabi_read_ahead_take(struct kabi_ctx *ctx, const char *path, struct kabi_module **mod, int *r);
/* Keep what was read of mod, drop the file's bytes, and let it belong to
 * ctx (module.c): what a module read ahead holds until it is asked for. */
int kabi_module_detach(struct kabi_module *mod);
void kabi_module_adopt(struct kabi_module *mod, struct kabi_ctx *ctx);
/* What the module reader keeps for the context's next module (module.c),
 * in the context. */
struct kabi_module_scratch;
struct kabi_module_scratch **kabi_ctx_module_scratch(struct kabi_ctx *ctx);
void kabi_module_scratch_free(struct kabi_module_scratch *sc);

/* ---- dependency strings (strv.c) ---- */
/* Takes s (NULL: a failed allocation, -ENOMEM); -ENOMEM has no message. */
int kabi_strv_push(struct kabi_strv *sv, char *s) KABI_MUST_CHECK KABI_NONNULL(1);
int kabi_strv_pushf(struct kabi_strv *sv, const char *fmt, ...) KABI_PRINTF(2, 3) KABI_MUST_CHECK
	KABI_NONNULL(1, 2);

#endif
