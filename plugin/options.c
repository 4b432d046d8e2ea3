/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The generation options: kabi_ctx_set_option() by name, as the CLI, the
 * Lua glue and rpm's macros name them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libkabideps-private.h"

static int replace_string(char **dst, const char *src)
{
	char *copy = NULL;

	if (src && !(copy = strdup(src)))
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

void kabi_options_fini(struct kabi_options *opts)
{
	free(opts->flavor);
	free(opts->triggers);
	*opts = (struct kabi_options){ 0 };
}

struct choice {
	const char *name;
	int value;
};

static const struct choice kmod_choices[] = {
	{ "none", KABI_KMOD_NONE },
	{ "fedora", KABI_KMOD_FEDORA },
	{ "suse", KABI_KMOD_SUSE },
	{ NULL, 0 },
};
static const struct choice modalias_choices[] = {
	{ "none", KABI_MODALIAS_NONE },
	{ "provides", KABI_MODALIAS_PROVIDES },
	{ "supplements", KABI_MODALIAS_SUPPLEMENTS },
	{ NULL, 0 },
};
static const struct choice firmware_choices[] = {
	{ "none", KABI_FIRMWARE_NONE },
	{ "requires", KABI_FIRMWARE_REQUIRES },
	{ "recommends", KABI_FIRMWARE_RECOMMENDS },
	{ NULL, 0 },
};

static int choose(struct kabi_ctx *ctx, const char *option, const struct choice *choices, const char *value,
		  int *out)
{
	char known[128] = "";

	for (const struct choice *c = choices; c->name; c++) {
		if (strcmp(c->name, value) == 0) {
			*out = c->value;
			return 0;
		}
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
			 c == choices ? "" : ", ", c->name);
	}
	return kabi_fail(ctx, EINVAL, "%s: unknown value '%s' (one of %s)", option, value, known);
}

KABI_EXPORT int kabi_ctx_set_option(struct kabi_ctx *ctx, const char *name, const char *value)
{
	struct kabi_options *opts = kabi_ctx_options_rw(ctx);

	if (!value)
		value = "";
	if (strcmp(name, "kmod") == 0)
		return choose(ctx, name, kmod_choices, *value ? value : "none", &opts->kmod);
	if (strcmp(name, "modalias") == 0)
		return choose(ctx, name, modalias_choices, *value ? value : "none", &opts->modalias);
	if (strcmp(name, "firmware") == 0)
		return choose(ctx, name, firmware_choices, *value ? value : "none", &opts->firmware);
	if (strcmp(name, "flavor") == 0) {
		/* the flavor goes into dependency names: one token, no parentheses */
		if (value[strcspn(value, " \t\n(),:=<>")])
			return kabi_fail(ctx, EINVAL, "flavor: '%s' is not a valid flavor name", value);
		return replace_string(&opts->flavor, *value ? value : NULL) < 0 ?
			       kabi_fail(ctx, ENOMEM, "out of memory") :
			       0;
	}
	if (strcmp(name, "stablelist") == 0)
		return kabi_refs_set_named(ctx, KABI_REF_STABLELIST, value);
	if (strcmp(name, "triggers") == 0) {
		/* a package name: becomes a Requires line of its own */
		if (value[strcspn(value, " \t\n(),=<>")])
			return kabi_fail(ctx, EINVAL, "triggers: '%s' is not a package name", value);
		return replace_string(&opts->triggers, *value ? value : NULL) < 0 ?
			       kabi_fail(ctx, ENOMEM, "out of memory") :
			       0;
	}
	return kabi_fail(ctx, EINVAL,
			 "unknown option '%s' (kmod, modalias, firmware, flavor, stablelist, "
			 "triggers)",
			 name);
}
