/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: the module reader (plain and compressed input go through the
 * same entry) and every dependency kind made from what it read. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kabideps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *data, int level, const char *msg)
{
	(void)data, (void)level, (void)msg;
}

static struct kabi_ctx *setup(void)
{
	static const char ref[] = "0x9060323f\tmodule_layout\tvmlinux\tEXPORT_SYMBOL\t\n"
				  "0x92997ed8\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n";
	char path[] = "/tmp/kabi-fuzz-symvers-XXXXXX";
	int fd = mkstemp(path);
	struct kabi_ctx *ctx = kabi_ctx_new();

	/* a fixed reference: no search of the host per fuzzed release */
	if (fd < 0 || write(fd, ref, sizeof(ref) - 1) != (ssize_t)(sizeof(ref) - 1) || !ctx)
		abort();
	close(fd);
	kabi_ctx_set_symvers(ctx, path);
	kabi_ctx_set_log_fn(ctx, quiet, NULL);
	kabi_ctx_set_max_size(ctx, 32u << 20);
	kabi_ctx_set_option(ctx, "kmod", "fedora");
	kabi_ctx_set_option(ctx, "modalias", "provides");
	kabi_ctx_set_option(ctx, "firmware", "requires");
	kabi_ctx_set_option(ctx, "stablelist", "/nonexistent");
	kabi_ctx_set_option(ctx, "triggers", "kabi-deps-triggers");
	return ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kabi_ctx *ctx;
	struct kabi_module *mod = NULL;
	struct kabi_pkg *pkg;
	struct kabi_strv out = { 0 };
	size_t n;

	if (!ctx)
		ctx = setup();
	if (kabi_module_open_mem(ctx, "/lib/modules/6.1.0-fuzz/extra/fuzz.ko", data, size, &mod) < 0)
		return 0;
	kabi_module_exports(mod, &n);
	kabi_module_imports(mod, &n);
	kabi_module_modinfo(mod, &n);
	kabi_module_release(mod);
	pkg = kabi_pkg_new(ctx);
	if (pkg && kabi_pkg_add(pkg, mod) == 0) {
		kabi_provides(ctx, mod, &out);
		kabi_requires(ctx, pkg, mod, &out);
		kabi_supplements(ctx, mod, &out);
		kabi_recommends(ctx, mod, &out);
		kabi_strv_sort_uniq(&out);
	}
	kabi_strv_free(&out);
	kabi_pkg_free(pkg);
	kabi_module_free(mod);
	return 0;
}
