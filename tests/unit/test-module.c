/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The module reader on fixtures of every era, ELF class and byte order,
 * compressed and signed; and on damaged input. */
#include <check.h>
#include <elf.h>
#include <libkmod.h>
#include <pthread.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "kabideps.h"
#include "unit.h"

/* One combination per test iteration: era x class x byte order. */
#define N_COMBOS (FX_ERAS * 4)

static struct fx_options combo(int i)
{
	return (struct fx_options){
		.era = (enum fx_era)(i / 4),
		.elf_class = i % 2 ? ELFCLASS64 : ELFCLASS32,
		.elf_data = (i / 2) % 2 ? ELFDATA2MSB : ELFDATA2LSB,
	};
}

static struct kabi_module *open_mem(struct kabi_ctx *ctx, const unsigned char *img, size_t size)
{
	struct kabi_module *mod = NULL;
	int r = kabi_module_open_mem(ctx, "fx.ko", img, size, &mod);

	ck_assert_msg(r == 0, "open: %s", kabi_ctx_error(ctx));
	return mod;
}

/* Exactly the fixture's exports, imports and modinfo. */
static void check_module(const struct kabi_module *mod, const struct fx_options *o)
{
	const struct kabi_sym *s;
	size_t n;

	ck_assert_int_eq(kabi_module_elf_class(mod), o->elf_class);
	ck_assert_int_eq(kabi_module_elf_data(mod), o->elf_data);
	ck_assert_uint_eq(kabi_module_elf_machine(mod), o->elf_class == ELFCLASS64 ? EM_X86_64 : EM_386);
	ck_assert_str_eq(kabi_module_release(mod), FX_RELEASE);
	ck_assert_str_eq(kabi_module_modinfo_get(mod, "firmware"), "fx/fw.bin");

	s = kabi_module_exports(mod, &n);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < 3; i++) {
		const struct fx_export *want = &fx_exports[i];
		const struct kabi_sym *got = NULL;

		for (size_t k = 0; k < n; k++)
			if (strcmp(s[k].name, want->name) == 0)
				got = &s[k];
		ck_assert_msg(got, "export %s missing (%s)", want->name, fx_era_names[o->era]);
		ck_assert_msg(got->flags & KABI_SYM_CRC, "%s: no CRC", want->name);
		ck_assert_msg(got->crc == want->crc, "%s: CRC 0x%08x, want 0x%08x (%s, class %d, data %d)",
			      want->name, got->crc, want->crc, fx_era_names[o->era], o->elf_class,
			      o->elf_data);
		ck_assert_int_eq(!!(got->flags & KABI_SYM_GPL), want->gpl);
		if (want->ns)
			ck_assert_str_eq(got->ns, want->ns);
		else
			ck_assert_ptr_null(got->ns);
	}

	s = kabi_module_imports(mod, &n);
	ck_assert_uint_eq(n, o->ext_versions ? 4 : 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_str_eq(s[i].name, fx_imports[i].name);
		ck_assert_uint_eq(s[i].crc, fx_imports[i].crc);
	}
	if (o->ext_versions) {
		ck_assert_str_eq(s[3].name, fx_long_import.name);
		ck_assert_uint_eq(s[3].crc, fx_long_import.crc);
	}
	/* struct module as the fixture lays it out: 64 bytes */
	{
		uint64_t this_size = 0;

		ck_assert_int_eq(kabi_module_this_module_size(mod, &this_size), 0);
		ck_assert_uint_eq(this_size, 64);
	}
}

START_TEST(every_era_class_and_byte_order)
{
	struct fx_options o = combo(_i);
	struct kabi_ctx *ctx = kabi_ctx_new();
	size_t size;
	unsigned char *img = fx_module(&o, &size);
	struct kabi_module *mod = open_mem(ctx, img, size);

	check_module(mod, &o);
	kabi_module_free(mod);
	free(img);
	kabi_ctx_free(ctx);
}
END_TEST

/* libkmod (modprobe --dump-modversions) reads the same __versions. */
START_TEST(imports_agree_with_libkmod)
{
	struct fx_options o = combo(_i);
	struct kabi_ctx *ctx = kabi_ctx_new();
	struct kmod_ctx *kctx = kmod_new(NULL, NULL);
	struct kmod_module *kmod = NULL;
	struct kmod_list *versions = NULL, *l;
	size_t size, n, k = 0;
	unsigned char *img = fx_module(&o, &size);
	char *path = fx_write("kmod.ko", img, size);
	struct kabi_module *mod = open_mem(ctx, img, size);
	const struct kabi_sym *imports = kabi_module_imports(mod, &n);

	ck_assert_int_eq(kmod_module_new_from_path(kctx, path, &kmod), 0);
	ck_assert_int_ge(kmod_module_get_versions(kmod, &versions), 0);
	kmod_list_foreach(l, versions)
	{
		ck_assert_uint_lt(k, n);
		ck_assert_str_eq(kmod_module_version_get_symbol(l), imports[k].name);
		ck_assert_uint_eq((uint32_t)kmod_module_version_get_crc(l), imports[k].crc);
		k++;
	}
	ck_assert_uint_eq(k, n);
	kmod_module_versions_free_list(versions);
	kmod_module_unref(kmod);
	kmod_unref(kctx);
	kabi_module_free(mod);
	free(path);
	fx_cleanup();
	free(img);
	kabi_ctx_free(ctx);
}
END_TEST

START_TEST(extended_modversions_preferred)
{
	struct fx_options o = combo(_i);
	struct kabi_ctx *ctx = kabi_ctx_new();
	size_t size;
	unsigned char *img;
	struct kabi_module *mod;

	o.ext_versions = 1;
	o.no_versions = _i % 3 == 0; /* EXTENDED without BASIC: no __versions at all */
	img = fx_module(&o, &size);
	mod = open_mem(ctx, img, size);
	check_module(mod, &o);
	kabi_module_free(mod);
	free(img);
	kabi_ctx_free(ctx);
}
END_TEST

/* The same module from a file, compressed each way and signed: the same result. */
START_TEST(compressed_and_signed_files)
{
	static const char *const hows[] = { "xz", "zst", "gz" };
	struct fx_options o = combo(_i);
	struct kabi_ctx *ctx = kabi_ctx_new();
	size_t size, ssize;
	unsigned char *img = fx_module(&o, &size), *signed_img = fx_sign(img, size, &ssize);

	for (size_t h = 0; h < 3; h++) {
		size_t csize;
		unsigned char *c = fx_compress(hows[h], signed_img, ssize, &csize);
		/* by magic: the suffix is wrong on purpose for one of them */
		char name[32];
		char *path;
		struct kabi_module *mod = NULL;

		ck_assert_ptr_nonnull(c);
		snprintf(name, sizeof(name), "fx%d.ko.%s", _i, h == 1 ? "xz" : hows[h]);
		path = fx_write(name, c, csize);
		ck_assert_msg(kabi_module_open(ctx, path, &mod) == 0, "%s: %s", name, kabi_ctx_error(ctx));
		check_module(mod, &o);
		ck_assert_str_eq(kabi_module_path(mod), path);
		kabi_module_free(mod);
		free(path);
		free(c);
	}
	{
		char *path = fx_write("signed.ko", signed_img, ssize);
		struct kabi_module *mod = NULL;

		ck_assert_msg(kabi_module_open(ctx, path, &mod) == 0, "signed: %s", kabi_ctx_error(ctx));
		check_module(mod, &o);
		kabi_module_free(mod);
		free(path);
	}
	fx_cleanup();
	free(signed_img);
	free(img);
	kabi_ctx_free(ctx);
}
END_TEST

/* ---- damaged input: an error with a message, never success with wrong data */

static void expect_error(struct kabi_ctx *ctx, const unsigned char *data, size_t size, const char *what)
{
	struct kabi_module *mod = NULL;
	int r = kabi_module_open_mem(ctx, "bad.ko", data, size, &mod);

	ck_assert_msg(r < 0, "%s: accepted", what);
	ck_assert_ptr_null(mod);
	ck_assert_msg(kabi_ctx_error(ctx)[0] != '\0', "%s: no message", what);
}

START_TEST(truncated_anywhere)
{
	struct fx_options o = combo(_i);
	struct kabi_ctx *ctx = kabi_ctx_new();
	size_t size;
	unsigned char *img = fx_module(&o, &size);

	/* every cut below the section headers loses something the reader needs */
	for (size_t cut = 0; cut < size; cut += 1 + cut / 64) {
		unsigned char *copy = malloc(cut ? cut : 1); /* a heap copy: ASan sees overreads */

		memcpy(copy, img, cut);
		expect_error(ctx, copy, cut, "truncated");
		free(copy);
	}
	free(img);
	kabi_ctx_free(ctx);
}
END_TEST

/* Files above the size read whole: the ELF header first, then the section
 * headers, the rest on demand (.modinfo and the tables lie between 300 KiB
 * of .text and 100 KiB of .BTF here). */
START_TEST(large_files_read_sparsely)
{
	struct fx_options o = combo(_i);
	struct kabi_ctx *ctx = kabi_ctx_new();
	struct kabi_module *mod = NULL;
	size_t size;
	unsigned char *img;
	char *path;

	o.text_size = 300 << 10;
	o.btf_size = 100 << 10;
	img = fx_module(&o, &size);
	path = fx_write("large.ko", img, size);
	ck_assert_msg(kabi_module_open(ctx, path, &mod) == 0, "%s", kabi_ctx_error(ctx));
	check_module(mod, &o);
	kabi_module_free(mod);
	free(path);
	/* cut anywhere: an error, whichever read finds the file short */
	for (size_t k = 1; k < 72; k++) {
		size_t cut = k < 32 ? size * k / 32 : size - (k - 31) * 97;

		path = fx_write("large-cut.ko", img, cut);
		mod = NULL;
		ck_assert_msg(kabi_module_open(ctx, path, &mod) < 0, "cut at %zu: accepted", cut);
		ck_assert_ptr_null(mod);
		ck_assert_msg(kabi_ctx_error(ctx)[0] != '\0', "cut at %zu: no message", cut);
		free(path);
	}
	fx_cleanup();
	free(img);
	kabi_ctx_free(ctx);
}
END_TEST

/* Every occurrence of from in img becomes to (as long). */
static size_t replace_all(unsigned char *img, size_t size, const char *from, const char *to)
{
	size_t len = strlen(from), n = 0;

	for (size_t i = 0; i + len <= size; i++)
		if (memcmp(img + i, from, len) == 0) {
			memcpy(img + i, to, len);
			n++;
		}
	return n;
}

static const struct kabi_sym *find_export(const struct kabi_module *mod, const char *name)
{
	size_t n;
	const struct kabi_sym *s = kabi_module_exports(mod, &n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i].name, name) == 0)
			return &s[i];
	return NULL;
}

/* A context reuses one module's read buffer for the next: what the next
 * one gives is its own bytes, never those the last one left where it has
 * not been read (same layout, other names: any block taken for read would
 * show the old name), also for a smaller file and a truncated one; a
 * module may outlive its context. */
START_TEST(reused_buffer_shows_no_old_bytes)
{
	struct fx_options o = combo(_i), small = combo(_i);
	struct kabi_ctx *ctx = kabi_ctx_new(), *other = kabi_ctx_new();
	struct kabi_module *mod = NULL, *held = NULL;
	const struct kabi_sym *s;
	size_t size, small_size;
	unsigned char *img, *renamed, *small_img;
	char *path, *renamed_path, *small_path, *cut_path;

	o.text_size = 300 << 10;
	o.btf_size = 100 << 10;
	img = fx_module(&o, &size);
	renamed = malloc(size);
	memcpy(renamed, img, size);
	ck_assert_uint_gt(replace_all(renamed, size, "fx_plain", "fx_PLAIN"), 0);
	ck_assert_uint_gt(replace_all(renamed, size, "fx/fw.bin", "fx/fw.BIN"), 0);
	path = fx_write("first.ko", img, size);
	renamed_path = fx_write("renamed.ko", renamed, size);
	small.text_size = 4 << 10;
	small_img = fx_module(&small, &small_size);
	small_path = fx_write("small.ko", small_img, small_size);
	cut_path = fx_write("renamed-cut.ko", renamed, size * 3 / 4);

	for (int round = 0; round < 2; round++) {
		ck_assert_msg(kabi_module_open(ctx, path, &mod) == 0, "%s", kabi_ctx_error(ctx));
		check_module(mod, &o);
		kabi_module_free(mod);
		ck_assert_msg(kabi_module_open(ctx, renamed_path, &mod) == 0, "%s", kabi_ctx_error(ctx));
		ck_assert_ptr_null(find_export(mod, "fx_plain"));
		s = find_export(mod, "fx_PLAIN");
		ck_assert_ptr_nonnull(s);
		ck_assert_uint_eq(s->crc, fx_exports[0].crc);
		ck_assert_ptr_nonnull(find_export(mod, "fx_gpl"));
		ck_assert_str_eq(kabi_module_modinfo_get(mod, "firmware"), "fx/fw.BIN");
		/* round 1: held while the next ones are read (they get buffers of
		 * their own), freed after them */
		if (round == 0)
			kabi_module_free(mod);
		else
			held = mod;
		ck_assert_msg(kabi_module_open(ctx, small_path, &mod) == 0, "%s", kabi_ctx_error(ctx));
		check_module(mod, &small);
		kabi_module_free(mod);
		mod = NULL;
		ck_assert_int_lt(kabi_module_open(ctx, cut_path, &mod), 0);
		ck_assert_ptr_null(mod);
	}
	kabi_module_free(held);
	/* opened with a context freed before it */
	ck_assert_msg(kabi_module_open(other, path, &mod) == 0, "%s", kabi_ctx_error(other));
	kabi_ctx_free(other);
	check_module(mod, &o);
	kabi_module_free(mod);
	free(path);
	free(renamed_path);
	free(small_path);
	free(cut_path);
	fx_cleanup();
	free(img);
	free(renamed);
	free(small_img);
	kabi_ctx_free(ctx);
}
END_TEST

static void *free_module(void *mod)
{
	kabi_module_free(mod);
	return NULL;
}

/* A module freed on another thread gives its buffer back to its context
 * while the context reads on: the module read meanwhile and the next
 * ones are whole. */
START_TEST(module_freed_on_another_thread)
{
	struct fx_options o = combo(_i);
	struct kabi_ctx *ctx = kabi_ctx_new();
	size_t size;
	unsigned char *img;
	char *path;

	o.text_size = 64 << 10;
	img = fx_module(&o, &size);
	path = fx_write("threads.ko", img, size);
	for (int i = 0; i < 50; i++) {
		struct kabi_module *mod = NULL, *next = NULL;
		pthread_t t;

		ck_assert_msg(kabi_module_open(ctx, path, &mod) == 0, "%s", kabi_ctx_error(ctx));
		ck_assert_int_eq(pthread_create(&t, NULL, free_module, mod), 0);
		ck_assert_msg(kabi_module_open(ctx, path, &next) == 0, "%s", kabi_ctx_error(ctx));
		check_module(next, &o);
		ck_assert_int_eq(pthread_join(t, NULL), 0);
		kabi_module_free(next);
	}
	free(path);
	fx_cleanup();
	free(img);
	kabi_ctx_free(ctx);
}
END_TEST

/* Provides without a package read no imports (nor .modinfo when no
 * option asks for it): a damaged __versions is an error for Requires (and
 * for the package that keeps the module), the Provides are the module's
 * exports all the same. */
START_TEST(provides_read_no_imports)
{
	struct fx_options o = combo(_i);
	struct kabi_ctx *ctx = kabi_ctx_new();
	struct kabi_pkg *pkg = kabi_pkg_new(ctx);
	struct kabi_strv whole = { 0 }, part = { 0 }, req = { 0 };
	struct kabi_module *mod = NULL;
	size_t size, off, len;
	unsigned char *img;
	char *path, *damaged;

	o.text_size = 64 << 10; /* read sparsely */
	img = fx_module(&o, &size);
	path = fx_write("large.ko", img, size);
	ck_assert_int_eq(kabi_module_open(ctx, path, &mod), 0);
	ck_assert_int_eq(kabi_provides(ctx, mod, &whole), 0);
	ck_assert_int_eq(kabi_provides_file(ctx, NULL, path, &part), 0);
	kabi_strv_sort_uniq(&whole);
	kabi_strv_sort_uniq(&part);
	ck_assert_uint_eq(part.n, whole.n);
	ck_assert_uint_ge(part.n, 3);
	for (size_t i = 0; i < part.n; i++)
		ck_assert_str_eq(part.v[i], whole.v[i]);
	kabi_strv_free(&part);
	if (!o.no_versions && fx_find_section(img, size, "__versions", &off, &len) == 0) {
		memset(img + off + (o.elf_class == ELFCLASS64 ? 8 : 4), 'A', 60);
		damaged = fx_write("damaged.ko", img, size);
		ck_assert_msg(kabi_provides_file(ctx, NULL, damaged, &part) == 0, "%s", kabi_ctx_error(ctx));
		ck_assert_uint_eq(part.n, whole.n);
		ck_assert_int_lt(kabi_generate(ctx, NULL, "requires", damaged, &req), 0);
		ck_assert_msg(strstr(kabi_ctx_error(ctx), "__versions"), "%s", kabi_ctx_error(ctx));
		ck_assert_int_lt(kabi_provides_file(ctx, pkg, damaged, &req), 0);
		ck_assert_uint_eq(req.n, 0);
		free(damaged);
	}
	/* nor .modinfo, unless an option makes Provides of it */
	kabi_strv_free(&part);
	free(img);
	img = fx_module(&o, &size);
	ck_assert_int_eq(fx_find_section(img, size, ".modinfo", &off, &len), 0);
	img[off + len - 1] = 'x';
	damaged = fx_write("damaged-modinfo.ko", img, size);
	ck_assert_msg(kabi_provides_file(ctx, NULL, damaged, &part) == 0, "%s", kabi_ctx_error(ctx));
	ck_assert_uint_eq(part.n, whole.n);
	ck_assert_int_lt(kabi_generate(ctx, NULL, "requires", damaged, &req), 0);
	ck_assert_msg(strstr(kabi_ctx_error(ctx), ".modinfo"), "%s", kabi_ctx_error(ctx));
	ck_assert_int_eq(kabi_ctx_set_option(ctx, "modalias", "provides"), 0);
	ck_assert_int_lt(kabi_provides_file(ctx, NULL, damaged, &req), 0);
	ck_assert_msg(strstr(kabi_ctx_error(ctx), ".modinfo"), "%s", kabi_ctx_error(ctx));
	ck_assert_int_eq(kabi_ctx_set_option(ctx, "modalias", ""), 0);
	free(damaged);
	kabi_strv_free(&whole);
	kabi_strv_free(&part);
	kabi_module_free(mod);
	kabi_pkg_free(pkg);
	free(path);
	free(img);
	fx_cleanup();
	kabi_ctx_free(ctx);
}
END_TEST

static void write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, size, f), size);
	ck_assert_int_eq(fclose(f), 0);
}

/* The class of the module at path, read through ctx. */
static int class_at(struct kabi_ctx *ctx, const char *path)
{
	struct kabi_module *mod = NULL;
	int c;

	ck_assert_msg(kabi_module_open(ctx, path, &mod) == 0, "%s: %s", path, kabi_ctx_error(ctx));
	c = kabi_module_elf_class(mod);
	kabi_module_free(mod);
	return c;
}

/* The reader keeps the directory of the last module open for the next:
 * a directory removed and made again, or renamed and replaced once the
 * batch is over, is the new one. */
START_TEST(directory_replaced)
{
	struct fx_options o64 = combo(0), o32 = combo(0);
	struct kabi_ctx *ctx = kabi_ctx_new();
	char top[] = "/tmp/kabi-dirs-XXXXXX", dir[64], old[64], path[80];
	unsigned char *img64, *img32;
	size_t n64, n32;

	o64.elf_class = ELFCLASS64;
	o32.elf_class = ELFCLASS32;
	img64 = fx_module(&o64, &n64);
	img32 = fx_module(&o32, &n32);
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(dir, sizeof(dir), "%s/d", top);
	snprintf(old, sizeof(old), "%s/old", top);
	snprintf(path, sizeof(path), "%s/a.ko", dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	write_file(path, img64, n64);
	ck_assert_int_eq(class_at(ctx, path), ELFCLASS64);
	/* removed and made again: at once */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	write_file(path, img32, n32);
	ck_assert_int_eq(class_at(ctx, path), ELFCLASS32);
	ck_assert_int_eq(class_at(ctx, path), ELFCLASS32);
	/* renamed and replaced: after a pause longer than a batch's */
	ck_assert_int_eq(rename(dir, old), 0);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	write_file(path, img64, n64);
	usleep(1200 * 1000);
	ck_assert_int_eq(class_at(ctx, path), ELFCLASS64);
	unlink(path);
	rmdir(dir);
	snprintf(path, sizeof(path), "%s/a.ko", old);
	unlink(path);
	rmdir(old);
	rmdir(top);
	free(img64);
	free(img32);
	kabi_ctx_free(ctx);
}
END_TEST

static unsigned char *module_with(size_t *size, int elf_class)
{
	struct fx_options o = { .era = FX_KCRCTAB, .elf_class = elf_class, .elf_data = ELFDATA2LSB };

	return fx_module(&o, size);
}

START_TEST(damaged_sections)
{
	struct kabi_ctx *ctx = kabi_ctx_new();
	size_t size, off, len;
	unsigned char *img = module_with(&size, ELFCLASS64), *copy = malloc(size);

	/* not ELF, and an empty file */
	memcpy(copy, img, size);
	memcpy(copy,
	       "\x7f"
	       "ELG",
	       4);
	expect_error(ctx, copy, size, "bad magic");
	expect_error(ctx, img, 0, "empty");

	/* section header table beyond the end */
	memcpy(copy, img, size);
	copy[40] = 0xff, copy[41] = 0xff, copy[42] = 0xff;
	expect_error(ctx, copy, size, "e_shoff out of range");

	/* section names: the table is not a string table, a name lies past it */
	memcpy(copy, img, size);
	copy[62] = 1, copy[63] = 0; /* e_shstrndx: the first section, not a STRTAB */
	expect_error(ctx, copy, size, "section name table is not a string table");
	ck_assert_msg(strstr(kabi_ctx_error(ctx), "section name"), "message: %s", kabi_ctx_error(ctx));
	memcpy(copy, img, size);
	{
		size_t shoff = img[40] | (size_t)img[41] << 8 | (size_t)img[42] << 16;

		memset(copy + shoff + 64, 0xff, 4); /* sh_name of section 1 */
	}
	expect_error(ctx, copy, size, "section name past the table");
	ck_assert_msg(strstr(kabi_ctx_error(ctx), "bad name"), "message: %s", kabi_ctx_error(ctx));

	/* __versions name without its NUL */
	memcpy(copy, img, size);
	ck_assert_int_eq(fx_find_section(copy, size, "__versions", &off, &len), 0);
	memset(copy + off + 8, 'A', 56);
	expect_error(ctx, copy, size, "unterminated __versions name");
	ck_assert_msg(strstr(kabi_ctx_error(ctx), "__versions"), "message: %s", kabi_ctx_error(ctx));

	/* a __crc_ label pointing past the end of its __kcrctab (symbol 3:
	 * __ksymtab_, __kstrtab_, __crc_ of the first export come first) */
	memcpy(copy, img, size);
	ck_assert_int_eq(fx_find_section(copy, size, ".symtab", &off, &len), 0);
	ck_assert_uint_eq(copy[off + 3 * 24 + 8], 0);
	copy[off + 3 * 24 + 9] = 0x10; /* st_value 0x1000 */
	expect_error(ctx, copy, size, "symbol value outside its section");
	ck_assert_msg(strstr(kabi_ctx_error(ctx), "outside"), "message: %s", kabi_ctx_error(ctx));

	/* random bytes, with and without the ELF magic in front */
	srand(1);
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < size; i++)
			copy[i] = (unsigned char)rand();
		if (round % 2)
			memcpy(copy, img, EI_NIDENT);
		expect_error(ctx, copy, size, "random bytes");
	}

	/* .modinfo whose last entry is not terminated */
	memcpy(copy, img, size);
	ck_assert_int_eq(fx_find_section(copy, size, ".modinfo", &off, &len), 0);
	copy[off + len - 1] = 'x';
	expect_error(ctx, copy, size, "unterminated .modinfo");

	free(copy);
	free(img);
	kabi_ctx_free(ctx);
}
END_TEST

/* Section sizes that do not fit their tables: rebuild with a changed size. */
START_TEST(wrong_table_sizes)
{
	struct kabi_ctx *ctx = kabi_ctx_new();
	size_t size, off, len;
	unsigned char *img = module_with(&size, ELFCLASS64);
	unsigned char *copy = malloc(size);
	size_t shoff = img[40] | (size_t)img[41] << 8 | (size_t)img[42] << 16 | (size_t)img[43] << 24;
	size_t shnum = img[60] | (size_t)img[61] << 8;

	/* shrink the sh_size of one section by a byte, find it by its offset */
	static const char *const names[] = { "__versions", "__kcrctab" };
	for (size_t k = 0; k < 2; k++) {
		memcpy(copy, img, size);
		ck_assert_int_eq(fx_find_section(copy, size, names[k], &off, &len), 0);
		for (size_t i = 1; i < shnum; i++) {
			unsigned char *h = copy + shoff + i * 64;

			if ((size_t)(h[24] | h[25] << 8 | h[26] << 16) == off)
				h[32] = (unsigned char)(len - 1);
		}
		expect_error(ctx, copy, size, names[k]);
		ck_assert_msg(strstr(kabi_ctx_error(ctx), names[k]) || strstr(kabi_ctx_error(ctx), "fx_"),
			      "%s: message: %s", names[k], kabi_ctx_error(ctx));
	}
	free(copy);
	free(img);
	kabi_ctx_free(ctx);
}
END_TEST

START_TEST(bad_compressed_data)
{
	static const char *const hows[] = { "xz", "zst", "gz" };
	struct kabi_ctx *ctx = kabi_ctx_new();
	size_t size, csize;
	unsigned char *img = module_with(&size, ELFCLASS32);

	for (size_t h = 0; h < 3; h++) {
		unsigned char *c = fx_compress(hows[h], img, size, &csize);

		/* corrupt the middle; then cut the stream short */
		c[csize / 2] ^= 0x55;
		c[csize / 2 + 1] ^= 0xaa;
		expect_error(ctx, c, csize, hows[h]);
		c[csize / 2] ^= 0x55;
		c[csize / 2 + 1] ^= 0xaa;
		expect_error(ctx, c, csize - 8, hows[h]);
		/* a decompressed size above the limit */
		kabi_ctx_set_max_size(ctx, size / 2);
		expect_error(ctx, c, csize, "over the size limit");
		ck_assert_msg(strstr(kabi_ctx_error(ctx), "limit"), "message: %s", kabi_ctx_error(ctx));
		kabi_ctx_set_max_size(ctx, 0);
		free(c);
	}
	free(img);
	kabi_ctx_free(ctx);
}
END_TEST

/* xz streams one after another, with padding between and after: the
 * decompressed size taken from their indexes is their sum (the buffer is
 * sized from it), and a stream whose index is damaged is an error. */
START_TEST(xz_streams_concatenated)
{
	struct kabi_ctx *ctx = kabi_ctx_new();
	struct fx_options o = combo(_i);
	size_t size, cut, n1, n2;
	unsigned char *img = fx_module(&o, &size), *all, *a, *b;
	struct kabi_module *mod;

	cut = size / 3 + (size_t)_i;
	a = fx_compress("xz", img, cut, &n1);
	b = fx_compress("xz", img + cut, size - cut, &n2);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	all = calloc(1, n1 + 8 + n2 + 4);
	memcpy(all, a, n1);
	memcpy(all + n1 + 8, b, n2);
	mod = open_mem(ctx, all, n1 + 8 + n2 + 4);
	check_module(mod, &o);
	kabi_module_free(mod);
	/* the second stream's index (before its 12-byte footer) says another size */
	all[n1 + 8 + n2 - 12 - 5] ^= 0x01;
	expect_error(ctx, all, n1 + 8 + n2 + 4, "damaged index");
	free(all);
	free(a);
	free(b);
	free(img);
	kabi_ctx_free(ctx);
}
END_TEST

/* A bomb: 64 MiB of zeros, xz-compressed to a few KiB, above a 1 MiB cap. */
START_TEST(decompression_bomb)
{
	struct kabi_ctx *ctx = kabi_ctx_new();
	size_t size = 64u << 20, csize;
	unsigned char *zeros = calloc(1, size), *c;

	memcpy(zeros, ELFMAG, SELFMAG);
	c = fx_compress("xz", zeros, size, &csize);
	free(zeros);
	kabi_ctx_set_max_size(ctx, 1u << 20);
	expect_error(ctx, c, csize, "bomb");
	free(c);
	kabi_ctx_free(ctx);
}
END_TEST

START_TEST(not_a_kernel_module)
{
	struct kabi_ctx *ctx = kabi_ctx_new();
	struct fx_options o = { .era = FX_ABS, .elf_class = ELFCLASS64, .elf_data = ELFDATA2LSB };
	size_t size, off, len;
	unsigned char *img = fx_module(&o, &size);

	/* rename .modinfo and .gnu.linkonce.this_module: an ordinary object file */
	ck_assert_int_eq(fx_find_section(img, size, ".modinfo", &off, &len), 0);
	{
		unsigned char *p = memmem(img, size, ".modinfo", 9),
			      *q = memmem(img, size, ".gnu.linkonce", 13);

		ck_assert_ptr_nonnull(p);
		ck_assert_ptr_nonnull(q);
		p[1] = 'X';
		q[1] = 'X';
	}
	expect_error(ctx, img, size, "no .modinfo");
	ck_assert_msg(strstr(kabi_ctx_error(ctx), "not a kernel module"), "message: %s", kabi_ctx_error(ctx));
	free(img);
	kabi_ctx_free(ctx);
}
END_TEST

static Suite *module_suite(void)
{
	Suite *s = suite_create("module");
	TCase *t = tcase_create("read");

	tcase_add_loop_test(t, every_era_class_and_byte_order, 0, N_COMBOS);
	tcase_add_loop_test(t, imports_agree_with_libkmod, 0, N_COMBOS);
	tcase_add_loop_test(t, extended_modversions_preferred, 0, N_COMBOS);
	tcase_add_loop_test(t, compressed_and_signed_files, 0, N_COMBOS);
	suite_add_tcase(s, t);
	t = tcase_create("damage");
	tcase_set_timeout(t, 60);
	tcase_add_loop_test(t, truncated_anywhere, 0, N_COMBOS);
	tcase_add_loop_test(t, large_files_read_sparsely, 0, N_COMBOS);
	tcase_add_loop_test(t, reused_buffer_shows_no_old_bytes, 0, N_COMBOS);
	tcase_add_loop_test(t, module_freed_on_another_thread, 0, N_COMBOS);
	tcase_add_loop_test(t, provides_read_no_imports, 0, N_COMBOS);
	tcase_add_test(t, directory_replaced);
	tcase_add_test(t, damaged_sections);
	tcase_add_test(t, wrong_table_sizes);
	tcase_add_test(t, bad_compressed_data);
	tcase_add_test(t, decompression_bomb);
	tcase_add_loop_test(t, xz_streams_concatenated, 0, N_COMBOS);
	tcase_add_test(t, not_a_kernel_module);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return unit_run(module_suite());
}
