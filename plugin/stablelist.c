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

#include "libkabideps-private.h"

#ifndef EM_LOONGARCH
#define EM_LOONGARCH 258
#endif

/* A stablelist: its symbols as keys, its text holding them. */
struct kabi_stablelist {
	struct kabi_hash syms;
	struct kabi_buf text;
};

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

void kabi_stablelist_free(struct kabi_stablelist *l)
{
	if (!l)
		return;
	kabi_hash_fini(&l->syms);
	kabi_buf_release(&l->text);
	free(l);
}

int kabi_stablelist_open(struct kabi_ctx *ctx, const char *path, struct kabi_stablelist **out)
{
	struct kabi_stablelist *l = calloc(1, sizeof(*l));
	char *p, *end;
	int r;

	*out = NULL;
	if (!l)
		return kabi_fail(ctx, ENOMEM, "out of memory");
	/* the text is split in place and needs a final NUL: a copy where
	 * there is no room for one */
	r = kabi_buf_load(ctx, path, &l->text);
	if (r == 0 && !kabi_buf_has_nul_room(&l->text)) {
		struct kabi_buf mapped = l->text;

		r = kabi_buf_from_mem(ctx, mapped.data, mapped.size, &l->text);
		kabi_buf_release(&mapped);
	}
	if (r < 0) {
		kabi_stablelist_free(l);
		return r;
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
			kabi_stablelist_free(l);
			return kabi_fail(ctx, ENOMEM, "out of memory");
		}
		p = nl ? nl + 1 : end;
	}
	*out = l;
	return 0;
}

bool kabi_stablelist_has(const struct kabi_stablelist *l, const char *sym)
{
	return kabi_hash_get(&l->syms, sym) != NULL;
}
