/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Kernel module fixtures written byte by byte (see fixture.h).  Not through
 * libelf: the reader under test uses libelf, the fixtures must not share its
 * view of the format. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "fixture.h"

const char *const fx_era_names[FX_ERAS] = { "abs", "rel", "kcrctab", "index", "kflagstab" };

const struct fx_export fx_exports[3] = {
	{ "fx_plain", 0x11223344, 0, NULL },
	{ "fx_ns_sym", 0x0000abcd, 0, "FX_NS" },
	{ "fx_gpl", 0xdeadbeef, 1, NULL },
};
const struct fx_import fx_imports[3] = {
	{ "module_layout", 0x9060323f },
	{ "_printk", 0x92997ed8 },
	{ "kmalloc_caches", 0x00000042 },
};
const struct fx_import fx_long_import = {
	"_RNvNtCs1234_6kernel5print11call_printk_with_a_name_longer_than_56", 0x0badf00d
};

static const char default_modinfo[] =
	"vermagic=" FX_RELEASE " SMP preempt mod_unload modversions \0name=fx\0license=GPL\0"
	"depends=\0alias=pci:v00008086d000010D3sv*sd*bc*sc*i*\0firmware=fx/fw.bin\0srcversion=ABC\0";

/* ---- a tiny ELF writer ---- */

struct wsec {
	const char *name;
	uint32_t type;
	const void *data;
	size_t size;
	uint32_t link, info;
	uint64_t entsize;
};

struct wsym {
	const char *name;
	int bind, type;
	unsigned shndx;
	uint64_t value;
};

struct writer {
	int cls, data;
	struct wsec secs[24]; /* index 0 is the null section */
	size_t nsecs;
	struct wsym syms[32];
	size_t nsyms;
};

static unsigned add_sec(struct writer *w, const char *name, uint32_t type, const void *data, size_t size)
{
	w->secs[++w->nsecs] = (struct wsec){ .name = name, .type = type, .data = data, .size = size };
	return (unsigned)w->nsecs;
}

static void add_sym(struct writer *w, const char *name, int bind, int type, unsigned shndx, uint64_t value)
{
	w->syms[w->nsyms++] = (struct wsym){ name, bind, type, shndx, value };
}

static void put(unsigned char *p, uint64_t v, int bytes, int data)
{
	for (int i = 0; i < bytes; i++)
		p[data == ELFDATA2LSB ? i : bytes - 1 - i] = (unsigned char)(v >> (8 * i));
}

/* Appends a string to a table, returns its offset. */
static size_t strtab_add(char *tab, size_t *len, const char *s)
{
	size_t off = *len;

	memcpy(tab + off, s, strlen(s) + 1);
	*len += strlen(s) + 1;
	return off;
}

static unsigned char *write_elf(struct writer *w, unsigned machine, size_t *size)
{
	int is64 = w->cls == ELFCLASS64, d = w->data;
	size_t ehsize = is64 ? 64 : 52, shentsize = is64 ? 64 : 40, symentsize = is64 ? 24 : 16;
	char strtab[2048] = "", shstrtab[1024] = "";
	size_t strlen_ = 1, shstrlen = 1, next = 1, off;
	unsigned char symtab[33 * 24] = { 0 }, *img;
	size_t name_off[24];
	unsigned symtab_i, strtab_i, shstrtab_i;

	/* locals first, as ELF wants: sh_info is the first global */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < w->nsyms; i++) {
			const struct wsym *s = &w->syms[i];
			unsigned char *p;
			size_t so;

			if ((s->bind == STB_LOCAL) != (pass == 0))
				continue;
			p = symtab + next++ * symentsize;
			so = strtab_add(strtab, &strlen_, s->name);
			put(p, so, 4, d);
			if (is64) {
				p[4] = (unsigned char)ELF64_ST_INFO(s->bind, s->type);
				put(p + 6, s->shndx, 2, d);
				put(p + 8, s->value, 8, d);
			} else {
				put(p + 4, s->value, 4, d);
				p[12] = (unsigned char)ELF32_ST_INFO(s->bind, s->type);
				put(p + 14, s->shndx, 2, d);
			}
		}
	{
		size_t locals = 1;

		for (size_t i = 0; i < w->nsyms; i++)
			locals += w->syms[i].bind == STB_LOCAL;
		symtab_i = add_sec(w, ".symtab", SHT_SYMTAB, symtab, next * symentsize);
		w->secs[symtab_i].info = (uint32_t)locals;
		w->secs[symtab_i].entsize = symentsize;
	}
	strtab_i = add_sec(w, ".strtab", SHT_STRTAB, strtab, strlen_);
	w->secs[symtab_i].link = strtab_i;
	shstrtab_i = add_sec(w, ".shstrtab", SHT_STRTAB, shstrtab, 0);
	for (size_t i = 1; i <= w->nsecs; i++)
		name_off[i] = strtab_add(shstrtab, &shstrlen, w->secs[i].name);
	w->secs[shstrtab_i].size = shstrlen;

	/* header, section contents (8-aligned), section headers */
	off = ehsize;
	for (size_t i = 1; i <= w->nsecs; i++)
		off = ((off + 7) & ~(size_t)7) + w->secs[i].size;
	off = (off + 7) & ~(size_t)7;
	*size = off + (w->nsecs + 1) * shentsize;
	img = calloc(1, *size);
	if (!img)
		return NULL;
	memcpy(img, ELFMAG, SELFMAG);
	img[EI_CLASS] = (unsigned char)w->cls;
	img[EI_DATA] = (unsigned char)d;
	img[EI_VERSION] = EV_CURRENT;
	put(img + 16, ET_REL, 2, d);
	put(img + 18, machine, 2, d);
	put(img + 20, EV_CURRENT, 4, d);
	if (is64) {
		put(img + 40, off, 8, d); /* e_shoff */
		put(img + 52, ehsize, 2, d);
		put(img + 58, shentsize, 2, d);
		put(img + 60, w->nsecs + 1, 2, d);
		put(img + 62, shstrtab_i, 2, d);
	} else {
		put(img + 32, off, 4, d);
		put(img + 40, ehsize, 2, d);
		put(img + 46, shentsize, 2, d);
		put(img + 48, w->nsecs + 1, 2, d);
		put(img + 50, shstrtab_i, 2, d);
	}
	{
		size_t pos = ehsize;

		for (size_t i = 1; i <= w->nsecs; i++) {
			const struct wsec *s = &w->secs[i];
			unsigned char *h = img + off + i * shentsize;

			pos = (pos + 7) & ~(size_t)7;
			if (s->size)
				memcpy(img + pos, s->data, s->size);
			put(h, name_off[i], 4, d);
			put(h + 4, s->type, 4, d);
			if (is64) {
				put(h + 24, pos, 8, d);
				put(h + 32, s->size, 8, d);
				put(h + 40, s->link, 4, d);
				put(h + 44, s->info, 4, d);
				put(h + 48, 8, 8, d);
				put(h + 56, s->entsize, 8, d);
			} else {
				put(h + 16, pos, 4, d);
				put(h + 20, s->size, 4, d);
				put(h + 24, s->link, 4, d);
				put(h + 28, s->info, 4, d);
				put(h + 32, 4, 4, d);
				put(h + 36, s->entsize, 4, d);
			}
			pos += s->size;
		}
	}
	return img;
}

/* ---- kernel modules ---- */

unsigned char *fx_module(const struct fx_options *o, size_t *size)
{
	struct writer w = { .cls = o->elf_class, .data = o->elf_data };
	int d = o->elf_data, flagstab = o->era == FX_KFLAGSTAB;
	size_t ventsize = 64, crcsize = o->elf_class == ELFCLASS64 ? 8 : 4;
	unsigned char versions[4 * 64] = { 0 }, ext_crcs[16], kcrctab[12], kcrctab_gpl[4], rodata[12];
	unsigned char ksymtab[36] = { 0 }, ksymtab_gpl[12] = { 0 }, flags[3] = { 0, 0, 1 }, text[16] = { 0 };
	unsigned char this_module[64] = { 0 };
	char ext_names[256], strings[128];
	size_t ext_len = 0, n_ksymtab = flagstab ? 3 : 2, strings_len = 0, str_off[3], ns_off;
	unsigned sec_ksymtab, sec_ksymtab_gpl = 0, sec_strings, sec_crc = 0, sec_crc_gpl = 0;

	unsigned char *big_text = o->text_size ? calloc(1, o->text_size) : NULL;
	unsigned char *img, *big_btf = NULL;

	add_sec(&w, ".text", SHT_PROGBITS, big_text ? big_text : text,
		big_text ? o->text_size : sizeof(text));
	add_sec(&w, ".modinfo", SHT_PROGBITS, o->modinfo ? o->modinfo : default_modinfo,
		o->modinfo ? o->modinfo_size : sizeof(default_modinfo) - 1);
	add_sec(&w, ".gnu.linkonce.this_module", SHT_PROGBITS, this_module, sizeof(this_module));

	/* imports */
	for (size_t i = 0; i < 4; i++) {
		const struct fx_import *imp = i < 3 ? &fx_imports[i] : o->extra_import;

		if (!imp)
			break;
		put(versions + i * ventsize, imp->crc, (int)crcsize, d);
		strcpy((char *)versions + i * ventsize + crcsize, imp->name);
	}
	if (!o->no_versions)
		add_sec(&w, "__versions", SHT_PROGBITS, versions, (o->extra_import ? 4 : 3) * ventsize);
	if (o->ext_versions) {
		for (size_t i = 0; i < 4; i++) {
			const struct fx_import *imp = i < 3 ? &fx_imports[i] : &fx_long_import;

			put(ext_crcs + 4 * i, imp->crc, 4, d);
			strtab_add(ext_names, &ext_len, imp->name);
		}
		while (ext_len % 4) /* padded for alignment, as the kernel does */
			ext_names[ext_len++] = '\0';
		add_sec(&w, "__version_ext_crcs", SHT_PROGBITS, ext_crcs, sizeof(ext_crcs));
		add_sec(&w, "__version_ext_names", SHT_PROGBITS, ext_names, ext_len);
	}

	/* exports: tables of 12-byte PREL32 entries, names and namespace strings */
	for (size_t i = 0; i < 3; i++)
		str_off[i] = strtab_add(strings, &strings_len, fx_exports[i].name);
	ns_off = strtab_add(strings, &strings_len, fx_exports[1].ns);
	sec_ksymtab = add_sec(&w, "__ksymtab", SHT_PROGBITS, ksymtab, n_ksymtab * 12);
	if (!flagstab)
		sec_ksymtab_gpl = add_sec(&w, "__ksymtab_gpl", SHT_PROGBITS, ksymtab_gpl, 12);
	sec_strings = add_sec(&w, "__ksymtab_strings", SHT_PROGBITS, strings, strings_len);
	switch (o->era) {
	case FX_REL:
		for (size_t i = 0; i < 3; i++)
			put(rodata + 4 * i, fx_exports[i].crc, 4, d);
		sec_crc = sec_crc_gpl = add_sec(&w, ".rodata", SHT_PROGBITS, rodata, sizeof(rodata));
		break;
	case FX_KCRCTAB:
	case FX_INDEX:
		put(kcrctab, fx_exports[0].crc, 4, d);
		put(kcrctab + 4, fx_exports[1].crc, 4, d);
		put(kcrctab_gpl, fx_exports[2].crc, 4, d);
		sec_crc = add_sec(&w, "__kcrctab", SHT_PROGBITS, kcrctab, 8);
		sec_crc_gpl = add_sec(&w, "__kcrctab_gpl", SHT_PROGBITS, kcrctab_gpl, 4);
		break;
	case FX_KFLAGSTAB:
		for (size_t i = 0; i < 3; i++)
			put(kcrctab + 4 * i, fx_exports[i].crc, 4, d);
		add_sec(&w, "__kcrctab", SHT_PROGBITS, kcrctab, 12);
		add_sec(&w, "__kflagstab", SHT_PROGBITS, flags, 3);
		break;
	default:
		break;
	}
	for (size_t i = 0; i < 3; i++) {
		const struct fx_export *e = &fx_exports[i];
		int gpl_table = e->gpl && !flagstab;
		size_t slot = gpl_table ? 0 : i;
		char *ks, *kstr, *crc;

		if (asprintf(&ks, "__ksymtab_%s", e->name) < 0 ||
		    asprintf(&kstr, "__kstrtab_%s", e->name) < 0 || asprintf(&crc, "__crc_%s", e->name) < 0)
			abort();
		add_sym(&w, ks, STB_LOCAL, STT_OBJECT, gpl_table ? sec_ksymtab_gpl : sec_ksymtab, slot * 12);
		add_sym(&w, kstr, STB_LOCAL, STT_OBJECT, sec_strings, str_off[i]);
		if (o->era == FX_ABS)
			add_sym(&w, crc, STB_GLOBAL, STT_NOTYPE, SHN_ABS, e->crc);
		else if (o->era == FX_REL)
			add_sym(&w, crc, STB_GLOBAL, STT_OBJECT, sec_crc, 4 * i);
		else if (o->era == FX_KCRCTAB)
			add_sym(&w, crc, STB_LOCAL, STT_NOTYPE, gpl_table ? sec_crc_gpl : sec_crc, 4 * slot);
		else
			free(crc); /* no label in this era */
	}
	add_sym(&w, "__kstrtabns_fx_ns_sym", STB_LOCAL, STT_OBJECT, sec_strings, ns_off);
	/* what the module links against, as a real one has it: the imports, a
	 * weak reference that may stay unresolved, and the linker's own */
	for (size_t i = 0; i < 3; i++)
		add_sym(&w, fx_imports[i].name, STB_GLOBAL, STT_NOTYPE, SHN_UNDEF, 0);
	add_sym(&w, "fx_weak_optional", STB_WEAK, STT_NOTYPE, SHN_UNDEF, 0);
	add_sym(&w, "_GLOBAL_OFFSET_TABLE_", STB_GLOBAL, STT_NOTYPE, SHN_UNDEF, 0);

	if (o->btf_size) {
		big_btf = calloc(1, o->btf_size);
		add_sec(&w, ".BTF", SHT_PROGBITS, big_btf, o->btf_size);
	}
	img = write_elf(&w, o->elf_class == ELFCLASS64 ? EM_X86_64 : EM_386, size);
	for (size_t i = 0; i < w.nsyms; i++)
		if (strncmp(w.syms[i].name, "__ksymtab_", 10) == 0 ||
		    strncmp(w.syms[i].name, "__kstrtab_", 10) == 0 ||
		    strncmp(w.syms[i].name, "__crc_", 6) == 0)
			free((char *)w.syms[i].name);
	free(big_text);
	free(big_btf);
	return img;
}

static uint64_t get(const unsigned char *p, int bytes, int data)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)p[data == ELFDATA2LSB ? i : bytes - 1 - i] << (8 * i);
	return v;
}

int fx_find_section(const unsigned char *img, size_t size, const char *name, size_t *off, size_t *len)
{
	int is64 = img[EI_CLASS] == ELFCLASS64, d = img[EI_DATA];
	uint64_t shoff = get(img + (is64 ? 40 : 32), is64 ? 8 : 4, d);
	size_t shentsize = is64 ? 64 : 40, shnum = get(img + (is64 ? 60 : 48), 2, d);
	size_t shstrndx = get(img + (is64 ? 62 : 50), 2, d);
	const unsigned char *strh = img + shoff + shstrndx * shentsize;
	uint64_t stroff = get(strh + (is64 ? 24 : 16), is64 ? 8 : 4, d);

	(void)size;
	for (size_t i = 1; i < shnum; i++) {
		const unsigned char *h = img + shoff + i * shentsize;

		if (strcmp((const char *)img + stroff + get(h, 4, d), name) == 0) {
			*off = get(h + (is64 ? 24 : 16), is64 ? 8 : 4, d);
			*len = get(h + (is64 ? 32 : 20), is64 ? 8 : 4, d);
			return 0;
		}
	}
	return -1;
}

/* ---- around the module ---- */

unsigned char *fx_compress(const char *how, const unsigned char *in, size_t size, size_t *out_size)
{
	size_t cap = size + size / 2 + 1024;
	unsigned char *out = malloc(cap);

	if (!out)
		return NULL;
	if (strcmp(how, "xz") == 0) {
		size_t pos = 0;

		/* kmod and the kernel's build use CRC32 checks for modules */
		if (lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, in, size, out, &pos, cap) != LZMA_OK)
			goto fail;
		*out_size = pos;
	} else if (strcmp(how, "zst") == 0) {
		/* with a checksum, as the zstd command writes frames (the kernel's
		 * build compresses modules with it) */
		ZSTD_CCtx *cc = ZSTD_createCCtx();
		size_t r = cc ? ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3) : 1;

		if (cc && !ZSTD_isError(r))
			r = ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
		if (cc && !ZSTD_isError(r))
			r = ZSTD_compress2(cc, out, cap, in, size);
		ZSTD_freeCCtx(cc);
		if (!cc || ZSTD_isError(r))
			goto fail;
		*out_size = r;
	} else if (strcmp(how, "gz") == 0) {
		z_stream z = { 0 };

		if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			goto fail;
		z.next_in = (unsigned char *)in;
		z.avail_in = (uInt)size;
		z.next_out = out;
		z.avail_out = (uInt)cap;
		if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
			deflateEnd(&z);
			goto fail;
		}
		*out_size = z.total_out;
		deflateEnd(&z);
	} else {
		goto fail;
	}
	return out;
fail:
	free(out);
	return NULL;
}

unsigned char *fx_sign(const unsigned char *in, size_t size, size_t *out_size)
{
	static const char magic[] = "~Module signature appended~\n";
	/* struct module_signature: algo, hash, id_type (2 = PKCS#7), signer_len,
	 * key_id_len, pad[3], sig_len (big endian) */
	unsigned char sig[300], info[12] = { 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	unsigned char *out;

	for (size_t i = 0; i < sizeof(sig); i++)
		sig[i] = (unsigned char)(0x30 + i * 7);
	info[8] = 0;
	info[9] = 0;
	info[10] = (unsigned char)(sizeof(sig) >> 8);
	info[11] = (unsigned char)sizeof(sig);
	*out_size = size + sizeof(sig) + sizeof(info) + sizeof(magic) - 1;
	out = malloc(*out_size);
	if (!out)
		return NULL;
	memcpy(out, in, size);
	memcpy(out + size, sig, sizeof(sig));
	memcpy(out + size + sizeof(sig), info, sizeof(info));
	memcpy(out + size + sizeof(sig) + sizeof(info), magic, sizeof(magic) - 1);
	return out;
}

static char *tmpdir;
static char *written[64];
static size_t n_written;

char *fx_write(const char *name, const void *data, size_t size)
{
	char *path;
	int fd;

	if (!tmpdir) {
		char tmpl[] = "/tmp/kabi-unit-XXXXXX";

		if (!mkdtemp(tmpl) || !(tmpdir = strdup(tmpl)))
			abort();
	}
	if (asprintf(&path, "%s/%s", tmpdir, name) < 0)
		abort();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) < 0)
		abort();
	if (n_written < 64)
		written[n_written++] = strdup(path);
	return path;
}

void fx_cleanup(void)
{
	for (size_t i = 0; i < n_written; i++) {
		unlink(written[i]);
		free(written[i]);
	}
	n_written = 0;
	if (tmpdir) {
		rmdir(tmpdir);
		free(tmpdir);
		tmpdir = NULL;
	}
}
