/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: symsets tarballs (libarchive below, our member parsing above). */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "kabideps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kabi_ctx *ctx;
	static char path[] = "/tmp/kabi-fuzz-symsets-XXXXXX";
	static int fd = -1;
	struct kabi_symsets *ss = NULL;
	const struct kabi_symset *sets;
	size_t n;

	if (!ctx) {
		ctx = kabi_ctx_new();
		kabi_ctx_set_max_size(ctx, 32u << 20);
		fd = mkstemp(path); /* the reader takes a path: one file, rewritten */
		if (fd < 0)
			abort();
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (kabi_symsets_open(ctx, path, &ss) < 0)
		return 0;
	sets = kabi_symsets_sets(ss, &n);
	for (size_t i = 0; i < n; i++) {
		size_t len, m;
		const struct kabi_symvers *content = kabi_symsets_content(ss, i);

		kabi_symsets_data(ss, i, &len);
		if (content)
			kabi_symvers_entries(content, &m);
		(void)sets[i].hash;
	}
	kabi_symsets_free(ss);
	return 0;
}
