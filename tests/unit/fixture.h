/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fixtures for the unit tests: kernel modules written byte by byte, as the
 * kernel's build would lay them out in each era, for either ELF class and
 * byte order, plus the files around them (compressed, signed, Module.symvers).
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <stddef.h>
#include <stdint.h>

/* Where a module keeps the CRCs of its exports (doc/module-formats.md,
 * "Exports and their CRCs"). */
enum fx_era {
	FX_ABS, /* <= 5.18: absolute __crc_SYM symbols */
	FX_REL, /* 4.10-5.18 MODULE_REL_CRCS: __crc_SYM labels data in .rodata */
	FX_KCRCTAB, /* 5.19+: __crc_SYM labels data in __kcrctab(_gpl) */
	FX_INDEX, /* 6.1+ with the labels stripped: __kcrctab[i] goes with __ksymtab[i] */
	FX_KFLAGSTAB, /* 7.1: one __ksymtab, __kflagstab bit 0 = GPL only */
	FX_ERAS
};
extern const char *const fx_era_names[FX_ERAS];

/* What every fixture module exports and imports. */
#define FX_RELEASE "6.1.0-fx"
struct fx_export {
	const char *name;
	uint32_t crc;
	int gpl;
	const char *ns; /* namespace or NULL */
};
extern const struct fx_export fx_exports[3];
struct fx_import {
	const char *name;
	uint32_t crc;
};
extern const struct fx_import fx_imports[3];
/* An import of a Rust-length name: only the extended modversions hold it. */
extern const struct fx_import fx_long_import;

struct fx_options {
	int elf_class; /* ELFCLASS32 or ELFCLASS64 */
	int elf_data; /* ELFDATA2LSB or ELFDATA2MSB */
	enum fx_era era;
	int ext_versions; /* also __version_ext_crcs/_names, with fx_long_import */
	int no_versions; /* leave __versions out (EXTENDED without BASIC) */
	const struct fx_import *extra_import; /* a fourth __versions entry */
	const char *modinfo; /* NUL-separated key=value list, NULL: the default */
	size_t modinfo_size;
	size_t text_size; /* bytes of .text (0: 16), before every table */
	size_t btf_size; /* bytes of a .BTF section after them (0: none) */
};

/* A module image; free() it. */
unsigned char *fx_module(const struct fx_options *o, size_t *size);

/* Offset and size of a named section in an image fx_module made. */
int fx_find_section(const unsigned char *img, size_t size, const char *name, size_t *off, size_t *len);

/* The same bytes compressed ("xz", "zst", "gz"); free() it. */
unsigned char *fx_compress(const char *how, const unsigned char *in, size_t size, size_t *out_size);
/* Append a module signature (PKCS#7 blob, struct module_signature, magic). */
unsigned char *fx_sign(const unsigned char *in, size_t size, size_t *out_size);

/* A file in a fresh temporary directory; free() the path.  fx_cleanup()
 * removes what fx_write made. */
char *fx_write(const char *name, const void *data, size_t size);
void fx_cleanup(void);

#endif
