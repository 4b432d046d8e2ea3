/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One file and one dependency kind, as rpm asks: the kind dispatcher. */
#include <errno.h>
#include <string.h>

#include "libkabideps-private.h"

KABI_EXPORT int kabi_provides_file(struct kabi_ctx *ctx, struct kabi_pkg *pkg, const char *path,
				   struct kabi_strv *out)
{
	struct kabi_module *mod;
	int r;

	if (!kabi_path_is_module(path))
		return kabi_reference_file_provides(ctx, path, out);
	/* without a package nothing will ask for its imports */
	r = pkg ? kabi_module_open(ctx, path, &mod) : kabi_module_open_for_provides(ctx, path, &mod);
	if (r == 0 && pkg)
		r = kabi_pkg_add(pkg, mod);
	if (r == 0)
		r = kabi_provides(ctx, mod, out);
	kabi_module_free(mod);
	return r;
}

KABI_EXPORT int kabi_generate(struct kabi_ctx *ctx, struct kabi_pkg *pkg, const char *kind, const char *path,
			      struct kabi_strv *out)
{
	const struct kabi_mod_view *kept = kabi_pkg_view(pkg, path);
	int (*extra)(struct kabi_ctx *, const struct kabi_mod_view *, struct kabi_strv *);
	struct kabi_module *mod;
	struct kabi_mod_view v;
	int r;

	if (strcmp(kind, "provides") == 0)
		return kabi_provides_file(ctx, pkg, path, out);
	if (strcmp(kind, "requires") == 0)
		extra = NULL;
	else if (strcmp(kind, "supplements") == 0)
		extra = kabi_view_supplements;
	else if (strcmp(kind, "recommends") == 0)
		extra = kabi_view_recommends;
	else
		return kabi_fail(ctx, EINVAL, "unknown dependency kind '%s'", kind);
	if (!kabi_path_is_module(path))
		return 0; /* kernel reference files only provide */
	/* rpm asks for Provides first: the package has the module already */
	if (kept)
		return extra ? extra(ctx, kept, out) : kabi_view_requires(ctx, pkg, kept, out);
	r = kabi_module_open(ctx, path, &mod);
	if (r < 0)
		return r;
	kabi_view_of(mod, &v);
	r = extra ? extra(ctx, &v, out) : kabi_view_requires(ctx, pkg, &v, out);
	kabi_module_free(mod);
	return r;
}
