/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading one kernel module: exports with CRCs, imports with CRCs, modinfo.
 * Class and byte order independent (gelf for headers and symbols, explicit
 * target-order reads for raw section contents).  Every offset taken from
 * the file is checked against the section it points into
 * (doc/module-formats.md, "Section headers and byte order").
 */
#include <errno.h>
#include <gelf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libkabideps-private.h"

struct kabi_module {
	struct kabi_ctx *ctx;
	char *path;
	char *release;
	struct kabi_buf buf;
	Elf *elf;
	int elf_class, elf_data;
	unsigned machine;
	struct kabi_sym *exports, *imports;
	size_t n_exports, n_imports;
	struct kabi_modinfo *modinfo;
	size_t n_modinfo;
	size_t vermagic; /* index of the first vermagic= in modinfo, if < n_modinfo */
	bool has_this_module;
	uint64_t this_module_size; /* sh_size of .gnu.linkonce.this_module */
	bool modversions; /* has __versions or the extended tables */
	char *strings; /* detached: the names and modinfo, copied out of buf */
};

/* A section's contents as the file has them. */
struct section {
	const char *name;
	GElf_Shdr shdr;
	const unsigned char *data; /* NULL when not loaded or SHT_NOBITS */
	size_t size;
	bool relocated; /* some SHT_REL(A) section applies to it */
	bool ksymtab; /* a table of exports (__ksymtab, __ksymtab_gpl, ...) */
};

/* A symbol of interest, found while walking .symtab. */
struct found_sym {
	const char *name; /* without its prefix */
	size_t shndx;
	uint64_t value;
};

/* Sections looked up by name, found in one pass over the headers. */
enum known_section {
	SEC_MODINFO,
	SEC_THIS_MODULE,
	SEC_VERSIONS,
	SEC_EXT_CRCS,
	SEC_EXT_NAMES,
	SEC_KFLAGSTAB,
	SEC_KNOWN
};

static const char *const known_names[SEC_KNOWN] = {
	[SEC_MODINFO] = ".modinfo",
	[SEC_THIS_MODULE] = ".gnu.linkonce.this_module",
	[SEC_VERSIONS] = "__versions",
	[SEC_EXT_CRCS] = "__version_ext_crcs",
	[SEC_EXT_NAMES] = "__version_ext_names",
	[SEC_KFLAGSTAB] = "__kflagstab",
};

/* Sections of a module kept on the stack up to this many (modules of
 * Debian's 6.1 tree have 29 to 93), more in an allocation. */
#define STACK_SECTIONS 128
#define EXPORT_DATA_MAX 8

struct reader {
	struct kabi_ctx *ctx;
	struct kabi_module *mod;
	struct section *secs;
	size_t nsecs;
	struct section *known[SEC_KNOWN];
	struct found_sym *ksymtab, *crc, *kstrtabns;
	size_t n_ksymtab, n_crc, n_kstrtabns;
	size_t cap_ksymtab, cap_crc, cap_kstrtabns; /* entries allocated */
	struct kabi_hash crc_by_name, kstrtabns_by_name; /* -> struct found_sym */
	/* Without modversions: the undefined symbols, the only record of
	 * what the module imports. */
	struct found_sym *undef;
	size_t n_undef, cap_undef;
	size_t *ksymtab_count; /* exports per section index, counted on first use */
	bool has_ksymtab; /* some section is a table of exports */
	size_t symtab; /* the first SHT_SYMTAB section, 0 if none */
	/* __kcrctab* and __ksymtab_strings, which exports' CRCs and
	 * namespaces are read from: the first few, read with the symbols */
	size_t export_data[EXPORT_DATA_MAX], n_export_data;
	bool no_imports; /* for Provides: the imports are not read */
	bool no_modinfo; /* nor .modinfo, when the options ask nothing of it */
};

static uint32_t read_u32(const unsigned char *p, int data)
{
	if (data == ELFDATA2MSB)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A string that starts at off inside [data, data + size) and ends there too:
 * at once when the table ends in a NUL, as string tables do. */
static const char *string_at(const unsigned char *data, size_t size, uint64_t off)
{
	if (!data || off >= size || (data[size - 1] != '\0' && !memchr(data + off, '\0', size - off)))
		return NULL;
	return (const char *)data + off;
}

static int load_section(struct reader *rd, size_t i)
{
	struct section *s = &rd->secs[i];
	Elf_Scn *scn;
	Elf_Data *d;

	if (s->data || s->shdr.sh_type == SHT_NOBITS || s->shdr.sh_size == 0)
		return 0;
	if (kabi_buf_need(rd->ctx, &rd->mod->buf, s->shdr.sh_offset, s->shdr.sh_size) < 0)
		return -EIO;
	scn = elf_getscn(rd->mod->elf, i);
	d = scn ? elf_rawdata(scn, NULL) : NULL;
	if (!d || (d->d_size && !d->d_buf))
		return kabi_fail(rd->ctx, EINVAL, "section %s: %s", s->name, elf_errmsg(-1));
	s->data = d->d_buf;
	s->size = d->d_size;
	return 0;
}

static struct section *find_section(struct reader *rd, const char *name)
{
	for (size_t i = 1; i < rd->nsecs; i++)
		if (rd->secs[i].name && strcmp(rd->secs[i].name, name) == 0)
			return &rd->secs[i];
	return NULL;
}

/* Is this the name of a table of exports (__ksymtab, __ksymtab_gpl, ...)? */
static bool is_ksymtab_name(const char *name)
{
	return name[0] == '_' && strncmp(name, "__ksymtab", 9) == 0 &&
	       (name[9] == '\0' || (name[9] == '_' && strcmp(name + 9, "_strings") != 0));
}

static bool is_ksymtab(const struct reader *rd, size_t i)
{
	return rd->secs[i].ksymtab;
}

static int read_sections(struct reader *rd)
{
	Elf *elf = rd->mod->elf;
	size_t shnum, shstrndx;

	if (elf_getshdrnum(elf, &shnum) < 0 || elf_getshdrstrndx(elf, &shstrndx) < 0)
		return kabi_fail(rd->ctx, EINVAL, "bad section header table: %s", elf_errmsg(-1));
	if (shnum == 0)
		return kabi_fail(rd->ctx, EINVAL, "no sections");
	if (shnum > KABI_MAX_SECTIONS)
		return kabi_fail(rd->ctx, EFBIG, "%zu sections, more than the limit of %zu", shnum,
				 KABI_MAX_SECTIONS);
	if (shnum > STACK_SECTIONS && !(rd->secs = malloc(shnum * sizeof(*rd->secs))))
		return kabi_fail(rd->ctx, ENOMEM, "out of memory");
	rd->secs[0] = (struct section){ .name = NULL };
	rd->nsecs = shnum;
	for (size_t i = 1; i < shnum; i++) {
		Elf_Scn *scn = elf_getscn(elf, i);

		rd->secs[i] = (struct section){ .name = NULL };
		if (!scn || !gelf_getshdr(scn, &rd->secs[i].shdr))
			return kabi_fail(rd->ctx, EINVAL, "section %zu: %s", i, elf_errmsg(-1));
	}
	/* Names straight from the raw table: elf_strptr re-checks the table on
	 * every call, and a module has dozens of sections. */
	if (shstrndx == 0 || shstrndx >= shnum || rd->secs[shstrndx].shdr.sh_type != SHT_STRTAB)
		return kabi_fail(rd->ctx, EINVAL, "no section name table");
	rd->secs[shstrndx].name = "(section names)"; /* for errors until named */
	if (load_section(rd, shstrndx) < 0)
		return -EINVAL;
	for (size_t i = 1; i < shnum; i++) {
		struct section *s = &rd->secs[i];

		s->name = string_at(rd->secs[shstrndx].data, rd->secs[shstrndx].size, s->shdr.sh_name);
		if (!s->name)
			return kabi_fail(rd->ctx, EINVAL, "section %zu: bad name", i);
		if ((s->shdr.sh_type == SHT_REL || s->shdr.sh_type == SHT_RELA) && s->shdr.sh_info > 0 &&
		    s->shdr.sh_info < shnum)
			rd->secs[s->shdr.sh_info].relocated = true;
		if (s->shdr.sh_type == SHT_SYMTAB && !rd->symtab)
			rd->symtab = i;
		/* every name looked for starts with ".m", ".g", "__k" or "__v" */
		const char *n = s->name;

		if (!(n[0] == '.' && (n[1] == 'm' || n[1] == 'g')) &&
		    !(n[0] == '_' && n[1] == '_' && (n[2] == 'k' || n[2] == 'v')))
			continue;
		for (size_t k = 0; k < SEC_KNOWN; k++)
			if (!rd->known[k] && strcmp(n, known_names[k]) == 0)
				rd->known[k] = s;
		s->ksymtab = is_ksymtab_name(n);
		rd->has_ksymtab |= s->ksymtab;
		if (rd->n_export_data < EXPORT_DATA_MAX &&
		    (strncmp(n, "__kcrctab", 9) == 0 || strcmp(n, "__ksymtab_strings") == 0))
			rd->export_data[rd->n_export_data++] = i;
	}
	return 0;
}

static int push_found(struct kabi_ctx *ctx, struct found_sym **v, size_t *n, size_t *cap, const char *name,
		      size_t shndx, uint64_t value)
{
	if (strnlen(name, KABI_MAX_NAME + 1) > KABI_MAX_NAME)
		return kabi_fail(ctx, EFBIG, "symbol name %.40s... longer than the limit of %d bytes", name,
				 KABI_MAX_NAME);
	if (*n == *cap) {
		size_t want = *cap ? *cap * 2 : 16;
		struct found_sym *p = realloc(*v, want * sizeof(**v));

		if (!p)
			return kabi_fail(ctx, ENOMEM, "out of memory");
		*v = p;
		*cap = want;
	}
	(*v)[(*n)++] = (struct found_sym){ name, shndx, value };
	return 0;
}

static bool has_versions(const struct reader *rd)
{
	return rd->known[SEC_VERSIONS] || rd->known[SEC_EXT_CRCS] || rd->known[SEC_EXT_NAMES];
}

struct span {
	uint64_t off, end;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Sections this close together are read in one call, the gap with them:
 * a call costs about what a few KiB more of a read do. */
#define MERGE_GAP ((uint64_t)4096)
/* The section names lie just before the section headers, as linkers write
 * them (within 1 KiB in every module of Debian's 6.1 tree): read at once. */
#define NAMES_BEFORE ((uint64_t)1024)

/* Read the sections the module will be asked for now, neighbours in one
 * call each, rather than one call per section as they are asked for. */
static int prefetch_sections(struct reader *rd)
{
	struct span spans[SEC_KNOWN + 2 + EXPORT_DATA_MAX];
	size_t n = 0, symtab = rd->symtab;

	if (!rd->mod->buf.have)
		return 0; /* all in memory */
	for (size_t k = 0; k < SEC_KNOWN; k++) {
		const GElf_Shdr *sh = rd->known[k] ? &rd->known[k]->shdr : NULL;
		bool import_table = k == SEC_VERSIONS || k == SEC_EXT_CRCS || k == SEC_EXT_NAMES;

		if (sh && k != SEC_THIS_MODULE && !(import_table && rd->no_imports) &&
		    !(k == SEC_MODINFO && rd->no_modinfo) && sh->sh_type != SHT_NOBITS && sh->sh_size)
			spans[n++] = (struct span){ sh->sh_offset, sh->sh_offset + sh->sh_size };
	}
	/* the symbol table only where scan_symbols() reads it */
	if (symtab && (rd->has_ksymtab || (!has_versions(rd) && !rd->no_imports))) {
		const GElf_Shdr *sh = &rd->secs[symtab].shdr;

		spans[n++] = (struct span){ sh->sh_offset, sh->sh_offset + sh->sh_size };
		if (sh->sh_link && sh->sh_link < rd->nsecs) {
			sh = &rd->secs[sh->sh_link].shdr;
			spans[n++] = (struct span){ sh->sh_offset, sh->sh_offset + sh->sh_size };
		}
	}
	/* and what read_exports() reads besides */
	for (size_t k = 0; symtab && rd->has_ksymtab && k < rd->n_export_data; k++) {
		const GElf_Shdr *sh = &rd->secs[rd->export_data[k]].shdr;

		if (sh->sh_type != SHT_NOBITS && sh->sh_size)
			spans[n++] = (struct span){ sh->sh_offset, sh->sh_offset + sh->sh_size };
	}
	qsort(spans, n, sizeof(*spans), cmp_span);
	for (size_t i = 0; i < n;) {
		struct span run = spans[i++];

		while (i < n && spans[i].off <= run.end + MERGE_GAP) {
			if (spans[i].end > run.end)
				run.end = spans[i].end;
			i++;
		}
		/* (offsets and sizes are checked where the sections are read) */
		if (run.end > run.off &&
		    kabi_buf_need(rd->ctx, &rd->mod->buf, run.off, run.end - run.off) < 0)
			return -EIO;
	}
	return 0;
}

/* Collect __ksymtab_*, __crc_* and __kstrtabns_* symbols, and for a module
 * without modversions its undefined ones. */
static int scan_symbols(struct reader *rd)
{
	size_t symtab_index = rd->symtab, count, entsize;
	struct section *symtab = symtab_index ? &rd->secs[symtab_index] : NULL, *strtab;
	Elf_Data *syms, *xndx = NULL;

	if (!symtab)
		return kabi_fail(rd->ctx, EINVAL, "no symbol table (.symtab)");
	if (symtab->shdr.sh_link == 0 || symtab->shdr.sh_link >= rd->nsecs)
		return kabi_fail(rd->ctx, EINVAL, "symbol table links to no string table");
	strtab = &rd->secs[symtab->shdr.sh_link];
	if (strtab->shdr.sh_type != SHT_STRTAB)
		return kabi_fail(rd->ctx, EINVAL,
				 "symbol table links to a section that is not a string table");
	bool want_undef = !has_versions(rd) && !rd->no_imports;

	/* Every symbol of interest labels an export, and exports live in a
	 * __ksymtab section: most modules have none, and need no symbol read
	 * unless only the symbol table says what they import. */
	if (!rd->has_ksymtab && !want_undef)
		return 0;
	if (load_section(rd, symtab->shdr.sh_link) < 0 ||
	    kabi_buf_need(rd->ctx, &rd->mod->buf, symtab->shdr.sh_offset, symtab->shdr.sh_size) < 0)
		return -EINVAL;
	syms = elf_getdata(elf_getscn(rd->mod->elf, symtab_index), NULL);
	if (!syms)
		return kabi_fail(rd->ctx, EINVAL, "symbol table: %s", elf_errmsg(-1));
	for (size_t i = 1; i < rd->nsecs; i++) {
		const GElf_Shdr *sh = &rd->secs[i].shdr;

		if (sh->sh_type == SHT_SYMTAB_SHNDX && sh->sh_link == symtab_index) {
			if (kabi_buf_need(rd->ctx, &rd->mod->buf, sh->sh_offset, sh->sh_size) < 0)
				return -EIO;
			xndx = elf_getdata(elf_getscn(rd->mod->elf, i), NULL);
			if (!xndx)
				return kabi_fail(rd->ctx, EINVAL, "extended section index table: %s",
						 elf_errmsg(-1));
		}
	}
	entsize = gelf_fsize(rd->mod->elf, ELF_T_SYM, 1, EV_CURRENT);
	count = syms->d_size / entsize;
	if (count > KABI_MAX_SYMBOLS)
		return kabi_fail(rd->ctx, EFBIG, "%zu symbols, more than the limit of %zu", count,
				 KABI_MAX_SYMBOLS);

	for (size_t i = 1; i < count; i++) {
		GElf_Sym sym;
		Elf32_Word shndx_ext = 0;
		const char *name;
		size_t shndx;
		uint32_t st_name;
		int r = 0;

		/* Cheap filter first, on the name offset (the first field of
		 * Elf32_Sym and Elf64_Sym) in libelf's host-order table, which may
		 * be unaligned: every name of interest starts with "__k" or "__c". */
		memcpy(&st_name, (const unsigned char *)syms->d_buf + i * entsize, sizeof(st_name));
		if (!want_undef && ((size_t)st_name + 2 >= strtab->size || strtab->data[st_name] != '_' ||
				    strtab->data[st_name + 1] != '_' ||
				    (strtab->data[st_name + 2] != 'k' && strtab->data[st_name + 2] != 'c')))
			continue;
		if (!gelf_getsymshndx(syms, xndx, (int)i, &sym, &shndx_ext))
			return kabi_fail(rd->ctx, EINVAL, "symbol %zu: %s", i, elf_errmsg(-1));
		name = string_at(strtab->data, strtab->size, sym.st_name);
		if (!name)
			return kabi_fail(rd->ctx, EINVAL, "symbol %zu: name is not terminated", i);
		shndx = sym.st_shndx == SHN_XINDEX ? shndx_ext : sym.st_shndx;
		if (shndx >= rd->nsecs && shndx < SHN_LORESERVE)
			return kabi_fail(rd->ctx, EINVAL, "symbol %s: section index %zu out of range", name,
					 shndx);

		if (want_undef && shndx == SHN_UNDEF) {
			/* Weak ones may stay unresolved: no dependency. */
			if (*name && GELF_ST_BIND(sym.st_info) == STB_GLOBAL)
				r = push_found(rd->ctx, &rd->undef, &rd->n_undef, &rd->cap_undef, name, shndx,
					       0);
		} else if (has_prefix(name, "__ksymtab_") && shndx < rd->nsecs && shndx != SHN_UNDEF &&
			   is_ksymtab(rd, shndx)) {
			r = push_found(rd->ctx, &rd->ksymtab, &rd->n_ksymtab, &rd->cap_ksymtab, name + 10,
				       shndx, sym.st_value);
		} else if (has_prefix(name, "__crc_")) {
			r = push_found(rd->ctx, &rd->crc, &rd->n_crc, &rd->cap_crc, name + 6, shndx,
				       sym.st_value);
		} else if (has_prefix(name, "__kstrtabns_")) {
			r = push_found(rd->ctx, &rd->kstrtabns, &rd->n_kstrtabns, &rd->cap_kstrtabns,
				       name + 12, shndx, sym.st_value);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int cmp_found_place(const void *a, const void *b)
{
	const struct found_sym *x = a, *y = b;

	if (x->shndx != y->shndx)
		return x->shndx < y->shndx ? -1 : 1;
	return x->value < y->value ? -1 : x->value > y->value;
}

/* Index found symbols by name (the first of a name wins). */
static int index_found(struct kabi_ctx *ctx, struct kabi_hash *h, struct found_sym *v, size_t n)
{
	if (kabi_hash_reserve(h, n) < 0)
		return kabi_fail(ctx, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (kabi_hash_put(h, v[i].name, &v[i]) < 0)
			return kabi_fail(ctx, ENOMEM, "out of memory");
	return 0;
}

/* Bytes [value, value + len) of section shndx, or NULL with an error set. */
static const unsigned char *symbol_bytes(struct reader *rd, const struct found_sym *fs, const char *what,
					 size_t len)
{
	struct section *s;

	if (fs->shndx == SHN_UNDEF || fs->shndx >= rd->nsecs)
		return kabi_fail(rd->ctx, EINVAL, "%s%s is not defined in a section", what, fs->name), NULL;
	s = &rd->secs[fs->shndx];
	if (load_section(rd, fs->shndx) < 0)
		return NULL;
	if (!s->data || fs->value > s->size || s->size - fs->value < len) {
		kabi_fail(rd->ctx, EINVAL, "%s%s: value 0x%llx lies outside section %s (size %zu)", what,
			  fs->name, (unsigned long long)fs->value, s->name, s->size);
		return NULL;
	}
	return s->data + fs->value;
}

/* Position of an export in its __ksymtab section, for tables indexed alike.
 * The exports per section are counted once (a scan per export made large
 * modules with index-paired tables quadratic). */
static int ksymtab_index(struct reader *rd, const struct found_sym *ks, size_t *index, size_t *entries_out)
{
	const struct section *s = &rd->secs[ks->shndx];
	size_t entries, entsize;

	if (!rd->ksymtab_count) {
		if (!(rd->ksymtab_count = calloc(rd->nsecs, sizeof(*rd->ksymtab_count))))
			return kabi_fail(rd->ctx, ENOMEM, "out of memory");
		for (size_t i = 0; i < rd->n_ksymtab; i++)
			rd->ksymtab_count[rd->ksymtab[i].shndx]++;
	}
	entries = rd->ksymtab_count[ks->shndx];
	entsize = entries ? s->shdr.sh_size / entries : 0;
	if (!entsize || s->shdr.sh_size % entries || ks->value % entsize || ks->value / entsize >= entries)
		return kabi_fail(rd->ctx, EINVAL, "__ksymtab_%s: entry at 0x%llx does not fit %s", ks->name,
				 (unsigned long long)ks->value, s->name);
	*index = ks->value / entsize;
	*entries_out = entries;
	return 0;
}

/* The CRC of one export, by era (doc/module-formats.md, "Exports and their CRCs"). */
static int export_crc(struct reader *rd, const struct found_sym *ks, uint32_t hash, struct kabi_sym *out)
{
	const char *suffix = rd->secs[ks->shndx].name + strlen("__ksymtab");
	const struct found_sym *crc = kabi_hash_get_hashed(&rd->crc_by_name, ks->name, hash);
	const unsigned char *p;
	struct section *kcrctab;
	char kcrctab_name[64];
	size_t index, entries;

	if (crc && crc->shndx == SHN_ABS) {
		/* <= 5.18: the CRC is the symbol's value. */
		out->crc = (uint32_t)crc->value;
		out->flags |= KABI_SYM_CRC;
		return 0;
	}
	if (crc) {
		/* CRC stored as data: .rodata (MODULE_REL_CRCS) or __kcrctab (5.19+). */
		p = symbol_bytes(rd, crc, "__crc_", 4);
		if (!p)
			return -EINVAL;
		out->crc = read_u32(p, rd->mod->elf_data);
		out->flags |= KABI_SYM_CRC;
		return 0;
	}
	snprintf(kcrctab_name, sizeof(kcrctab_name), "__kcrctab%s", suffix);
	kcrctab = find_section(rd, kcrctab_name);
	if (!kcrctab)
		return 0; /* no CONFIG_MODVERSIONS: no CRC at all */
	/* 6.1+ with the __crc_ labels stripped: the tables pair by index.  Only
	 * when __kcrctab holds the values itself (no relocations, u32 entries). */
	if (kcrctab->relocated)
		return kabi_fail(rd->ctx, EINVAL,
				 "no CRC for exported symbol %s "
				 "(no __crc_%s and %s is relocated)",
				 ks->name, ks->name, kcrctab_name);
	if (ksymtab_index(rd, ks, &index, &entries) < 0)
		return -EINVAL;
	if (load_section(rd, (size_t)(kcrctab - rd->secs)) < 0)
		return -EINVAL;
	if (!kcrctab->data || kcrctab->size != entries * 4)
		return kabi_fail(rd->ctx, EINVAL, "%s: size %zu does not match the %zu entries of %s",
				 kcrctab_name, kcrctab->size, entries, rd->secs[ks->shndx].name);
	out->crc = read_u32(kcrctab->data + index * 4, rd->mod->elf_data);
	out->flags |= KABI_SYM_CRC;
	return 0;
}

static int read_exports(struct reader *rd)
{
	struct kabi_module *mod = rd->mod;
	struct section *flagstab = rd->known[SEC_KFLAGSTAB];

	if (!rd->n_ksymtab)
		return 0;
	if (index_found(rd->ctx, &rd->crc_by_name, rd->crc, rd->n_crc) < 0 ||
	    index_found(rd->ctx, &rd->kstrtabns_by_name, rd->kstrtabns, rd->n_kstrtabns) < 0)
		return -ENOMEM;
	/* List exports as the kernel does: by table, then by position. */
	qsort(rd->ksymtab, rd->n_ksymtab, sizeof(*rd->ksymtab), cmp_found_place);
	mod->exports = calloc(rd->n_ksymtab, sizeof(*mod->exports));
	if (!mod->exports)
		return kabi_fail(rd->ctx, ENOMEM, "out of memory");

	for (size_t i = 0; i < rd->n_ksymtab; i++) {
		const struct found_sym *ks = &rd->ksymtab[i], *ns;
		const char *secname = rd->secs[ks->shndx].name;
		struct kabi_sym *e = &mod->exports[mod->n_exports];
		uint32_t hash = kabi_hash_of(ks->name); /* for both tables */

		e->name = ks->name;
		if (strcmp(secname, "__ksymtab_gpl") == 0 || strcmp(secname, "__ksymtab_unused_gpl") == 0)
			e->flags |= KABI_SYM_GPL;
		if (export_crc(rd, ks, hash, e) < 0)
			return -EINVAL;
		if (flagstab && strcmp(secname, "__ksymtab") == 0) {
			/* 7.1+: one flag byte per __ksymtab entry, bit 0 = GPL only */
			size_t index, entries;

			if (ksymtab_index(rd, ks, &index, &entries) < 0 ||
			    load_section(rd, (size_t)(flagstab - rd->secs)) < 0)
				return -EINVAL;
			if (!flagstab->data || index >= flagstab->size)
				return kabi_fail(rd->ctx, EINVAL, "__kflagstab: no entry for %s", ks->name);
			if (flagstab->data[index] & 1)
				e->flags |= KABI_SYM_GPL;
		}
		ns = kabi_hash_get_hashed(&rd->kstrtabns_by_name, ks->name, hash);
		if (ns) {
			const unsigned char *p = symbol_bytes(rd, ns, "__kstrtabns_", 1);
			const struct section *s = &rd->secs[ns->shndx];

			if (!p)
				return -EINVAL;
			e->ns = string_at(s->data, s->size, ns->value);
			if (!e->ns)
				return kabi_fail(rd->ctx, EINVAL,
						 "__kstrtabns_%s: namespace is not terminated", ks->name);
			if (!*e->ns)
				e->ns = NULL;
		}
		mod->n_exports++;
	}
	return 0;
}

/* ppc64 ELFv1 prefixes function descriptors' names with '.', and the TOC
 * base is resolved by the loader: neither is a dependency on the kernel. */
static const char *import_name(const struct kabi_module *mod, const char *name)
{
	if (mod->machine == EM_PPC64) {
		if (strcmp(name, "TOC.") == 0 || strcmp(name, ".TOC.") == 0)
			return NULL;
		if (name[0] == '.')
			return name + 1;
	}
	return name;
}

/* Undefined symbols that no module or kernel exports: the linker's own and
 * the register save/restore and thunk helpers some arches link into every
 * module (the ones modpost passes over too). */
static bool linker_symbol(const struct kabi_module *mod, const char *name)
{
	static const char *const ppc[] = { "_restgpr_",	 "_savegpr_",  "_rest32gpr_", "_save32gpr_",
					   "_restgpr0_", "_savegpr0_", "_restvr_",    "_savevr_" };

	if (strcmp(name, "_GLOBAL_OFFSET_TABLE_") == 0 || strcmp(name, "__this_module") == 0)
		return true;
	if (mod->machine == EM_PPC || mod->machine == EM_PPC64)
		for (size_t i = 0; i < sizeof(ppc) / sizeof(ppc[0]); i++)
			if (has_prefix(name, ppc[i]))
				return true;
	return mod->machine == EM_S390 && has_prefix(name, "__s390_indirect_jump_r");
}

static int add_import(struct reader *rd, const char *name, uint32_t crc, unsigned flags, size_t cap)
{
	struct kabi_module *mod = rd->mod;

	if (!mod->imports && !(mod->imports = calloc(cap ? cap : 1, sizeof(*mod->imports))))
		return kabi_fail(rd->ctx, ENOMEM, "out of memory");
	name = import_name(mod, name);
	if (name)
		mod->imports[mod->n_imports++] =
			(struct kabi_sym){ .name = name, .crc = crc, .flags = flags };
	return 0;
}

/* 6.14+ CONFIG_EXTENDED_MODVERSIONS: packed u32 CRCs and the names they go with. */
static int read_ext_versions(struct reader *rd, struct section *crcs, struct section *names)
{
	size_t count, off = 0;

	if (!crcs || !names)
		return kabi_fail(rd->ctx, EINVAL, "%s without %s",
				 crcs ? "__version_ext_crcs" : "__version_ext_names",
				 crcs ? "__version_ext_names" : "__version_ext_crcs");
	if (load_section(rd, (size_t)(crcs - rd->secs)) < 0 ||
	    load_section(rd, (size_t)(names - rd->secs)) < 0)
		return -EINVAL;
	if (crcs->size % 4)
		return kabi_fail(rd->ctx, EINVAL, "__version_ext_crcs: size %zu is not a multiple of 4",
				 crcs->size);
	count = crcs->size / 4;
	for (size_t i = 0; i < count; i++) {
		const char *name = string_at(names->data, names->size, off);

		if (!name)
			return kabi_fail(rd->ctx, EINVAL, "__version_ext_names: %s for entry %zu of %zu",
					 off >= names->size ? "no name" : "name not terminated", i, count);
		if (!*name)
			return kabi_fail(rd->ctx, EINVAL, "__version_ext_names: entry %zu is empty", i);
		if (strnlen(name, KABI_MAX_NAME + 1) > KABI_MAX_NAME)
			return kabi_fail(rd->ctx, EFBIG,
					 "__version_ext_names: entry %zu is longer than "
					 "the limit of %d bytes",
					 i, KABI_MAX_NAME);
		if (add_import(rd, name, read_u32(crcs->data + 4 * i, rd->mod->elf_data), KABI_SYM_CRC,
			       count) < 0)
			return -ENOMEM;
		off += strlen(name) + 1;
	}
	/* The names table may be padded with NULs for alignment, nothing else. */
	for (; off < names->size; off++)
		if (names->data[off])
			return kabi_fail(rd->ctx, EINVAL,
					 "__version_ext_names: more names than __version_ext_crcs has CRCs");
	return 0;
}

/* struct modversion_info { unsigned long crc; char name[64 - sizeof(long)]; } */
static int read_versions(struct reader *rd, struct section *versions)
{
	size_t crc_size = rd->mod->elf_class == ELFCLASS64 ? 8 : 4, count;

	if (load_section(rd, (size_t)(versions - rd->secs)) < 0)
		return -EINVAL;
	if (versions->size % 64)
		return kabi_fail(rd->ctx, EINVAL, "__versions: size %zu is not a multiple of 64",
				 versions->size);
	count = versions->size / 64;
	for (size_t i = 0; i < count; i++) {
		const unsigned char *entry = versions->data + 64 * i;
		const char *name = (const char *)entry + crc_size;
		/* only the low 32 bits of a 64-bit CRC are meaningful */
		uint32_t crc = read_u32(entry + (crc_size == 8 && rd->mod->elf_data == ELFDATA2MSB ? 4 : 0),
					rd->mod->elf_data);

		/* (the field ends in a NUL when the name is shorter than it) */
		if (entry[63] != '\0' && !memchr(name, '\0', 64 - crc_size))
			return kabi_fail(rd->ctx, EINVAL, "__versions: name of entry %zu is not terminated",
					 i);
		if (!*name)
			return kabi_fail(rd->ctx, EINVAL, "__versions: entry %zu has an empty name", i);
		if (add_import(rd, name, crc, KABI_SYM_CRC, count) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int read_imports(struct reader *rd)
{
	struct section *ext_crcs = rd->known[SEC_EXT_CRCS];
	struct section *ext_names = rd->known[SEC_EXT_NAMES];
	struct section *versions = rd->known[SEC_VERSIONS];

	/* The kernel checks only the extended tables when they exist, and only
	 * they hold names of 56 characters and more. */
	rd->mod->modversions = ext_crcs || ext_names || versions;
	if (rd->no_imports)
		return 0;
	if (ext_crcs || ext_names)
		return read_ext_versions(rd, ext_crcs, ext_names);
	if (versions)
		return read_versions(rd, versions);
	/* No modversions: the undefined symbols, by name, in symbol table order. */
	for (size_t i = 0; i < rd->n_undef; i++)
		if (!linker_symbol(rd->mod, rd->undef[i].name) &&
		    add_import(rd, rd->undef[i].name, 0, 0, rd->n_undef) < 0)
			return -ENOMEM;
	return 0;
}

static int read_modinfo(struct reader *rd)
{
	struct kabi_module *mod = rd->mod;
	struct section *s = rd->known[SEC_MODINFO];
	char *p, *end;
	size_t count = 0;

	if (!s)
		return 0;
	if (load_section(rd, (size_t)(s - rd->secs)) < 0)
		return -EINVAL;
	if (!s->data)
		return kabi_fail(rd->ctx, EINVAL, ".modinfo: %s",
				 s->shdr.sh_type == SHT_NOBITS ? "has no contents in the file (SHT_NOBITS)" :
								 "empty section");
	if (s->data[s->size - 1] != '\0')
		return kabi_fail(rd->ctx, EINVAL, ".modinfo: last entry is not terminated");
	/* The section lies in our private buffer: split key=value in place. */
	p = (char *)s->data;
	end = p + s->size;
	for (char *q = p; q < end; q += strlen(q) + 1)
		count += *q != '\0';
	mod->modinfo = calloc(count ? count : 1, sizeof(*mod->modinfo));
	if (!mod->modinfo)
		return kabi_fail(rd->ctx, ENOMEM, "out of memory");
	mod->vermagic = SIZE_MAX;
	for (char *q = p; q < end; q += strlen(q) + 1) {
		char *eq;

		if (!*q)
			continue; /* alignment padding between entries */
		eq = strchr(q, '=');
		if (eq)
			*eq = '\0';
		if (mod->vermagic == SIZE_MAX && strcmp(q, "vermagic") == 0)
			mod->vermagic = mod->n_modinfo;
		mod->modinfo[mod->n_modinfo++] = (struct kabi_modinfo){ q, eq ? eq + 1 : "" };
		if (eq)
			q = eq + 1;
	}
	return 0;
}

static int read_release(struct kabi_module *mod)
{
	const char *vermagic = kabi_module_modinfo_get(mod, "vermagic");
	size_t len;

	if (!vermagic)
		return 0;
	vermagic += strspn(vermagic, " ");
	len = strcspn(vermagic, " ");
	if (len && !(mod->release = strndup(vermagic, len)))
		return kabi_fail(mod->ctx, ENOMEM, "out of memory");
	return 0;
}

static uint64_t read_uint(const unsigned char *p, size_t width, int data)
{
	uint64_t v = 0;

	for (size_t i = 0; i < width; i++)
		v |= (uint64_t)p[data == ELFDATA2MSB ? width - 1 - i : i] << (8 * i);
	return v;
}

/* A sparse buffer must hold the section header table before libelf sees
 * it: find the table from the ELF header (libelf's own checks follow). */
static int fetch_headers(struct kabi_ctx *ctx, struct kabi_buf *buf)
{
	const unsigned char *e = buf->data;
	bool is64;
	uint64_t shoff, shentsize, shnum, before;

	if (!buf->have)
		return 0;
	if (buf->size < EI_NIDENT || memcmp(e, ELFMAG, SELFMAG) != 0)
		return 0; /* libelf names what is wrong */
	is64 = e[EI_CLASS] == ELFCLASS64;
	if (buf->size < (is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
		return 0;
	shoff = read_uint(e + (is64 ? offsetof(Elf64_Ehdr, e_shoff) : offsetof(Elf32_Ehdr, e_shoff)),
			  is64 ? 8 : 4, e[EI_DATA]);
	shentsize =
		read_uint(e + (is64 ? offsetof(Elf64_Ehdr, e_shentsize) : offsetof(Elf32_Ehdr, e_shentsize)),
			  2, e[EI_DATA]);
	shnum = read_uint(e + (is64 ? offsetof(Elf64_Ehdr, e_shnum) : offsetof(Elf32_Ehdr, e_shnum)), 2,
			  e[EI_DATA]);
	if (shoff == 0 || shentsize == 0)
		return 0;
	/* the table, and the section names that usually lie just before it */
	before = shoff < NAMES_BEFORE ? shoff : NAMES_BEFORE;
	if (kabi_buf_need(ctx, buf, shoff - before, before + (shnum ? shnum : 1) * shentsize) < 0)
		return -EIO;
	if (shnum == 0 && shoff < buf->size && buf->size - shoff >= shentsize) {
		/* more than SHN_LORESERVE sections: the count is section 0's sh_size */
		size_t at = is64 ? offsetof(Elf64_Shdr, sh_size) : offsetof(Elf32_Shdr, sh_size);

		if (at + (is64 ? 8 : 4) <= shentsize)
			shnum = read_uint(e + shoff + at, is64 ? 8 : 4, e[EI_DATA]);
	}
	if (shnum > KABI_MAX_SECTIONS)
		shnum = KABI_MAX_SECTIONS; /* refused later, with the count */
	return kabi_buf_need(ctx, buf, shoff, shnum * shentsize) < 0 ? -EIO : 0;
}

/* The reader's lists of symbols found, kept by the context for its next
 * module: grown anew for each module they were 2% of a provides pass over
 * Debian's 6.1 tree.  Used on the context's thread only, inside
 * read_module(); kept up to SCRATCH_KEEP bytes each (a module with more
 * than ~2,700 exports grows its own, as before). */
#define SCRATCH_KEEP ((size_t)64 << 10)
enum {
	FOUND_KSYMTAB,
	FOUND_CRC,
	FOUND_KSTRTABNS,
	FOUND_UNDEF,
	FOUND_LISTS
};
struct kabi_module_scratch {
	struct found_sym *v[FOUND_LISTS];
	size_t cap[FOUND_LISTS];
};

void kabi_module_scratch_free(struct kabi_module_scratch *sc)
{
	if (!sc)
		return;
	for (size_t k = 0; k < FOUND_LISTS; k++)
		free(sc->v[k]);
	free(sc);
}

static void take_list(struct kabi_module_scratch *sc, size_t k, struct found_sym **v, size_t *cap)
{
	if (!sc)
		return;
	*v = sc->v[k];
	*cap = sc->cap[k];
	sc->v[k] = NULL;
	sc->cap[k] = 0;
}

static void keep_list(struct kabi_module_scratch *sc, size_t k, struct found_sym *v, size_t cap)
{
	if (sc && !sc->v[k] && cap * sizeof(*v) <= SCRATCH_KEEP) {
		sc->v[k] = v;
		sc->cap[k] = cap;
	} else {
		free(v);
	}
}

static struct kabi_module_scratch *scratch_of(struct kabi_ctx *ctx)
{
	struct kabi_module_scratch **sc = kabi_ctx_module_scratch(ctx);

	if (!*sc)
		*sc = calloc(1, sizeof(**sc)); /* (none: lists of its own) */
	return *sc;
}

/* What a module is opened for: all of it, or only what Provides ask. */
enum purpose {
	FOR_ALL,
	FOR_PROVIDES, /* no imports */
	FOR_PROVIDES_BY_EXPORTS, /* no imports, no .modinfo */
};

static int read_module(struct kabi_ctx *ctx, struct kabi_module *mod, enum purpose purpose)
{
	struct section stack[STACK_SECTIONS];
	struct reader rd = { .ctx = ctx,
			     .mod = mod,
			     .secs = stack,
			     .no_imports = purpose != FOR_ALL,
			     .no_modinfo = purpose == FOR_PROVIDES_BY_EXPORTS };
	GElf_Ehdr ehdr;
	struct kabi_module_scratch *sc;
	int r = -EINVAL;

	if (fetch_headers(ctx, &mod->buf) < 0)
		return -EIO;
	mod->elf = elf_memory((char *)mod->buf.data, mod->buf.size);
	if (!mod->elf)
		return kabi_fail(ctx, EINVAL, "cannot read as ELF: %s", elf_errmsg(-1));
	if (elf_kind(mod->elf) != ELF_K_ELF)
		return kabi_fail(ctx, EINVAL, "not an ELF file");
	if (!gelf_getehdr(mod->elf, &ehdr))
		return kabi_fail(ctx, EINVAL, "bad ELF header: %s", elf_errmsg(-1));
	mod->elf_class = ehdr.e_ident[EI_CLASS];
	mod->elf_data = ehdr.e_ident[EI_DATA];
	mod->machine = ehdr.e_machine;
	if (ehdr.e_type != ET_REL)
		return kabi_fail(ctx, EINVAL, "not a kernel module (ELF type %u, not ET_REL)",
				 (unsigned)ehdr.e_type);

	sc = scratch_of(ctx);
	take_list(sc, FOUND_KSYMTAB, &rd.ksymtab, &rd.cap_ksymtab);
	take_list(sc, FOUND_CRC, &rd.crc, &rd.cap_crc);
	take_list(sc, FOUND_KSTRTABNS, &rd.kstrtabns, &rd.cap_kstrtabns);
	take_list(sc, FOUND_UNDEF, &rd.undef, &rd.cap_undef);

	if (read_sections(&rd) < 0 || prefetch_sections(&rd) < 0)
		goto out;
	if (!rd.known[SEC_MODINFO] && !rd.known[SEC_THIS_MODULE]) {
		r = kabi_fail(ctx, EINVAL,
			      "not a kernel module (no .modinfo and no .gnu.linkonce.this_module)");
		goto out;
	}
	if (rd.known[SEC_THIS_MODULE]) {
		mod->has_this_module = true;
		mod->this_module_size = rd.known[SEC_THIS_MODULE]->shdr.sh_size;
	}
	if (scan_symbols(&rd) < 0 || read_exports(&rd) < 0 || read_imports(&rd) < 0 ||
	    (!rd.no_modinfo && (read_modinfo(&rd) < 0 || read_release(mod) < 0)))
		goto out;
	r = 0;
out:
	if (rd.secs != stack)
		free(rd.secs);
	keep_list(sc, FOUND_KSYMTAB, rd.ksymtab, rd.cap_ksymtab);
	keep_list(sc, FOUND_CRC, rd.crc, rd.cap_crc);
	keep_list(sc, FOUND_KSTRTABNS, rd.kstrtabns, rd.cap_kstrtabns);
	keep_list(sc, FOUND_UNDEF, rd.undef, rd.cap_undef);
	free(rd.ksymtab_count);
	kabi_hash_fini(&rd.crc_by_name);
	kabi_hash_fini(&rd.kstrtabns_by_name);
	return r;
}

static int open_module(struct kabi_ctx *ctx, const char *name, const void *data, size_t size,
		       enum purpose purpose, struct kabi_module **out)
{
	struct kabi_module *mod = calloc(1, sizeof(*mod));
	int r;

	*out = NULL;
	if (!mod || !(mod->path = strdup(name))) {
		free(mod);
		return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	mod->ctx = ctx;
	r = data ? kabi_buf_from_mem(ctx, data, size, &mod->buf) : kabi_buf_open(ctx, name, &mod->buf);
	if (r == 0 && mod->buf.size == 0)
		r = kabi_fail(ctx, EINVAL, "empty file");
	if (r == 0)
		r = read_module(ctx, mod, purpose);
	kabi_buf_close_file(&mod->buf);
	if (r < 0) {
		kabi_module_free(mod);
		return r;
	}
	*out = mod;
	return 0;
}

KABI_EXPORT int kabi_module_open(struct kabi_ctx *ctx, const char *path, struct kabi_module **mod)
{
	int r;

	if (kabi_read_ahead_take(ctx, path, mod, &r))
		return r;
	return open_module(ctx, path, NULL, 0, FOR_ALL, mod);
}

int kabi_module_open_for_provides(struct kabi_ctx *ctx, const char *path, struct kabi_module **mod)
{
	const struct kabi_options *o = kabi_ctx_options(ctx);
	int r;

	/* one read ahead has its imports too: more than provides need */
	if (kabi_read_ahead_take(ctx, path, mod, &r))
		return r;
	/* Provides need .modinfo for modalias() and for a flavor taken from
	 * the release; else only the exports (kabi_provides()). */
	return open_module(ctx, path, NULL, 0,
			   o->modalias == KABI_MODALIAS_PROVIDES ||
					   (o->flavor && strcmp(o->flavor, "auto") == 0) ?
				   FOR_PROVIDES :
				   FOR_PROVIDES_BY_EXPORTS,
			   mod);
}

static size_t space(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static const char *keep(char **at, const char *s)
{
	size_t len = space(s);

	if (!s)
		return NULL;
	memcpy(*at, s, len);
	*at += len;
	return *at - len;
}

int kabi_module_detach(struct kabi_module *mod)
{
	size_t size = 1;
	char *at;

	for (size_t i = 0; i < mod->n_exports; i++)
		size += space(mod->exports[i].name) + space(mod->exports[i].ns);
	for (size_t i = 0; i < mod->n_imports; i++)
		size += space(mod->imports[i].name) + space(mod->imports[i].ns);
	for (size_t i = 0; i < mod->n_modinfo; i++)
		size += space(mod->modinfo[i].key) + space(mod->modinfo[i].value);
	if (!(mod->strings = at = malloc(size)))
		return kabi_fail(mod->ctx, ENOMEM, "out of memory");
	for (size_t i = 0; i < mod->n_exports; i++) {
		mod->exports[i].name = keep(&at, mod->exports[i].name);
		mod->exports[i].ns = keep(&at, mod->exports[i].ns);
	}
	for (size_t i = 0; i < mod->n_imports; i++) {
		mod->imports[i].name = keep(&at, mod->imports[i].name);
		mod->imports[i].ns = keep(&at, mod->imports[i].ns);
	}
	for (size_t i = 0; i < mod->n_modinfo; i++) {
		mod->modinfo[i].key = keep(&at, mod->modinfo[i].key);
		mod->modinfo[i].value = keep(&at, mod->modinfo[i].value);
	}
	elf_end(mod->elf);
	mod->elf = NULL;
	kabi_buf_release(&mod->buf);
	return 0;
}

void kabi_module_adopt(struct kabi_module *mod, struct kabi_ctx *ctx)
{
	mod->ctx = ctx;
}

KABI_EXPORT int kabi_module_open_mem(struct kabi_ctx *ctx, const char *name, const void *data, size_t size,
				     struct kabi_module **mod)
{
	return open_module(ctx, name ? name : "(memory)", data ? data : "", size, FOR_ALL, mod);
}

KABI_EXPORT void kabi_module_free(struct kabi_module *mod)
{
	if (!mod)
		return;
	elf_end(mod->elf);
	kabi_buf_release(&mod->buf);
	free(mod->exports);
	free(mod->imports);
	free(mod->modinfo);
	free(mod->release);
	free(mod->path);
	free(mod->strings);
	free(mod);
}

KABI_EXPORT const char *kabi_module_path(const struct kabi_module *mod)
{
	return mod->path;
}

KABI_EXPORT const struct kabi_sym *kabi_module_exports(const struct kabi_module *mod, size_t *n)
{
	*n = mod->n_exports;
	return mod->exports;
}

KABI_EXPORT const struct kabi_sym *kabi_module_imports(const struct kabi_module *mod, size_t *n)
{
	*n = mod->n_imports;
	return mod->imports;
}

KABI_EXPORT const struct kabi_modinfo *kabi_module_modinfo(const struct kabi_module *mod, size_t *n)
{
	*n = mod->n_modinfo;
	return mod->modinfo;
}

KABI_EXPORT const char *kabi_module_modinfo_get(const struct kabi_module *mod, const char *key)
{
	/* asked for each module (its release), found while it was parsed */
	if (strcmp(key, "vermagic") == 0)
		return mod->vermagic < mod->n_modinfo ? mod->modinfo[mod->vermagic].value : NULL;
	for (size_t i = 0; i < mod->n_modinfo; i++)
		if (strcmp(mod->modinfo[i].key, key) == 0)
			return mod->modinfo[i].value;
	return NULL;
}

KABI_EXPORT const char *kabi_module_release(const struct kabi_module *mod)
{
	return mod->release;
}

bool kabi_module_has_modversions(const struct kabi_module *mod)
{
	return mod->modversions;
}

KABI_EXPORT int kabi_module_elf_class(const struct kabi_module *mod)
{
	return mod->elf_class;
}

KABI_EXPORT int kabi_module_elf_data(const struct kabi_module *mod)
{
	return mod->elf_data;
}

KABI_EXPORT unsigned kabi_module_elf_machine(const struct kabi_module *mod)
{
	return mod->machine;
}

KABI_EXPORT int kabi_module_this_module_size(const struct kabi_module *mod, uint64_t *size)
{
	*size = mod->this_module_size;
	if (!mod->has_this_module)
		return kabi_fail(mod->ctx, ENOENT, "no .gnu.linkonce.this_module section");
	return 0;
}
