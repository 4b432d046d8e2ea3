/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The generation options of options.def: kabi_ctx_set_option() by name,
 * as the CLI, the Lua glue and rpm's macros name them. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
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

#define FREE_CHOICE(name)
#define FREE_TOKEN(name) free(opts->name);
#define FREE_PACKAGE(name) free(opts->name);
#define FREE_FILE(name)

void kabi_options_fini(struct kabi_options *opts)
{
#define KABI_OPTION(name, type, values, macro_default, help) FREE_##type(name)
#include "options.def"
#undef KABI_OPTION
	*opts = (struct kabi_options){ 0 };
}

enum option_type {
	OPTION_CHOICE,
	OPTION_TOKEN,
	OPTION_PACKAGE,
	OPTION_FILE
};

struct option_row {
	const char *name;
	enum option_type type;
	const char *values;
	size_t member; /* offset in struct kabi_options (CHOICE, TOKEN, PACKAGE) */
	enum kabi_ref_kind ref; /* FILE */
};

/* The reference kind of each FILE row of options.def. */
#define KABI_OPTION_REF_stablelist KABI_REF_STABLELIST

#define MEMBER_CHOICE(name) offsetof(struct kabi_options, name)
#define MEMBER_TOKEN(name) offsetof(struct kabi_options, name)
#define MEMBER_PACKAGE(name) offsetof(struct kabi_options, name)
#define MEMBER_FILE(name) 0
#define REF_CHOICE(name) KABI_REF_KINDS
#define REF_TOKEN(name) KABI_REF_KINDS
#define REF_PACKAGE(name) KABI_REF_KINDS
#define REF_FILE(name) KABI_OPTION_REF_##name

static const struct option_row rows[] = {
#define KABI_OPTION(name, type, values, macro_default, help) \
	{ #name, OPTION_##type, values, MEMBER_##type(name), REF_##type(name) },
#include "options.def"
#undef KABI_OPTION
};

/* value as the index of one of the "|"-separated values; "" is the first */
static int choose(struct kabi_ctx *ctx, const struct option_row *row, const char *value, int *out)
{
	const char *v = row->values;
	size_t len = strlen(value);

	for (int i = 0; *v; i++) {
		size_t n = strcspn(v, "|");

		if ((n == len && strncmp(v, value, n) == 0) || (i == 0 && len == 0)) {
			*out = i;
			return 0;
		}
		v += n + (v[n] == '|');
	}
	return kabi_fail(ctx, EINVAL, "%s: unknown value '%s' (one of %s)", row->name, value, row->values);
}

/* a TOKEN goes into dependency names, a PACKAGE becomes a Requires line
 * of its own: one word either way, no parentheses */
static int set_word(struct kabi_ctx *ctx, const struct option_row *row, const char *value, char **out)
{
	bool token = row->type == OPTION_TOKEN;

	if (value[strcspn(value, token ? " \t\n(),:=<>" : " \t\n(),=<>")])
		return token ? kabi_fail(ctx, EINVAL, "%s: '%s' is not a valid %s name", row->name, value,
					 row->name) :
			       kabi_fail(ctx, EINVAL, "%s: '%s' is not a package name", row->name, value);
	if (replace_string(out, *value ? value : NULL) < 0)
		return kabi_fail(ctx, ENOMEM, "out of memory");
	return 0;
}

KABI_EXPORT int kabi_ctx_set_option(struct kabi_ctx *ctx, const char *name, const char *value)
{
	char *opts = (char *)kabi_ctx_options_rw(ctx);
	char known[256] = "";

	if (!value)
		value = "";
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct option_row *row = &rows[i];

		if (strcmp(row->name, name) != 0) {
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "",
				 row->name);
			continue;
		}
		switch (row->type) {
		case OPTION_CHOICE:
			return choose(ctx, row, value, (int *)(opts + row->member));
		case OPTION_TOKEN:
		case OPTION_PACKAGE:
			return set_word(ctx, row, value, (char **)(opts + row->member));
		case OPTION_FILE:
			return kabi_refs_set_named(ctx, row->ref, value);
		}
	}
	return kabi_fail(ctx, EINVAL, "unknown option '%s' (%s)", name, known);
}
