/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: Module.symvers of any era, plain or compressed (by magic). */
#include <stdint.h>
#include <stdlib.h>

#include "kabideps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kabi_ctx *ctx;
	struct kabi_symvers *sv = NULL;
	const struct kabi_symvers_entry *e;
	size_t n;

	if (!ctx) {
		ctx = kabi_ctx_new();
		kabi_ctx_set_max_size(ctx, 32u << 20);
	}
	if (kabi_symvers_open_mem(ctx, "Module.symvers", data, size, &sv) < 0)
		return 0;
	e = kabi_symvers_entries(sv, &n);
	for (size_t i = 0; i < n; i++)
		if (kabi_symvers_find(sv, e[i].name) == NULL)
			abort(); /* every entry can be found by its name */
	kabi_symvers_free(sv);
	return 0;
}
