/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kABI stablelists: the symbols a distribution promises to keep stable
 * (RHEL's /lib/modules/kabi-current/kabi_stablelist_<arch>: "[section]"
 * headers, then the symbols, tab-indented).  The architecture is the
 * module's own, from its ELF header, never the build host's.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libkabideps-private.h"

#ifndef EM_LOONGARCH
#define EM_LOONGARCH 258
#endif

/* A stablelist: its symbols as keys, its text holding them. */
struct stablelist {
	struct kabi_hash syms;
	struct kabi_buf text;
};

/* Marks an architecture without a stablelist. */
static char none;

const char *kabi_view_arch(const struct kabi_mod_view *v)
{
	bool is64 = v->elf_class == ELFCLASS64, le = v->elf_data == ELFDATA2LSB;

	switch (v->machine) {
	case EM_X86_64:
		return "x86_64";
	case EM_386:
		return "i686";
	case EM_AARCH64:
		return "aarch64";
	case EM_ARM:
		return "armv7hl";
	case EM_PPC64:
		return le ? "ppc64le" : "ppc64";
	case EM_PPC:
		return "ppc";
	case EM_S390:
		return is64 ? "s390x" : "s390";
	case EM_RISCV:
		return is64 ? "riscv64" : "riscv32";
	case EM_LOONGARCH:
		return "loongarch64";
	default:
		return NULL;
	}
}

static void stablelist_free(struct stablelist *l)
{
	if (!l || (void *)l == &none)
		return;
	kabi_hash_fini(&l->syms);
	kabi_buf_release(&l->text);
	free(l);
}

void kabi_stablelists_free(struct kabi_hash *cache)
{
	for (size_t i = 0; i < cache->cap; i++) {
		if (cache->slots[i].key) {
			stablelist_free(cache->slots[i].value);
			free((char *)cache->slots[i].key);
		}
	}
	kabi_hash_fini(cache);
}

static struct stablelist *read_stablelist(struct kabi_ctx *ctx, const char *path)
{
	struct stablelist *l = calloc(1, sizeof(*l));
	char *p, *end;

	if (!l)
		return NULL;
	/* a heap copy: the text is split in place and needs a final NUL */
	if (kabi_buf_load(ctx, path, &l->text) == 0 && l->text.map_size) {
		struct kabi_buf mapped = l->text;

		kabi_buf_from_mem(ctx, mapped.data, mapped.size, &l->text);
		kabi_buf_release(&mapped);
	}
	if (!l->text.data) {
		kabi_log(ctx, KABI_LOG_WARNING, "%s: %s", path, kabi_ctx_error(ctx));
		stablelist_free(l);
		return NULL;
	}
	p = (char *)l->text.data;
	end = p + l->text.size;
	*end = '\0';
	while (p < end) {
		char *nl = strchr(p, '\n'), *sym = p + strspn(p, " \t");

		if (nl)
			*nl = '\0';
		sym[strcspn(sym, " \t\r")] = '\0';
		if (*sym && *sym != '[' && *sym != '#' && kabi_hash_put(&l->syms, sym, sym) < 0) {
			stablelist_free(l);
			return NULL;
		}
		p = nl ? nl + 1 : end;
	}
	return l;
}

const struct kabi_hash *kabi_ctx_stablelist(struct kabi_ctx *ctx, const char *arch)
{
	struct kabi_hash *cache = kabi_ctx_stablelist_cache(ctx);
	const char *configured = kabi_ctx_options(ctx)->stablelist;
	struct stablelist *l = kabi_hash_get(cache, arch);
	char *key;

	if (l)
		return (void *)l == &none ? NULL : &l->syms;
	if (configured) {
		l = read_stablelist(ctx, configured);
	} else {
		const char *roots[] = { kabi_ctx_buildroot(ctx), "" };

		for (size_t r = 0; r < 2 && !l; r++) {
			char path[4096];

			if (!roots[r])
				continue;
			snprintf(path, sizeof(path), "%s/lib/modules/kabi-current/kabi_stablelist_%s",
				 roots[r], arch);
			if (access(path, R_OK) == 0)
				l = read_stablelist(ctx, path);
		}
	}
	key = strdup(arch);
	if (!key || kabi_hash_put(cache, key, l ? (void *)l : &none) < 0) {
		free(key);
		stablelist_free(l);
		return NULL;
	}
	return l ? &l->syms : NULL;
}
