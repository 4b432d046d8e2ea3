/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dependencies from a module's name and .modinfo, as Fedora and SUSE make
 * them (doc/rpm-generators.md, "Names from a module's name and .modinfo"):
 *   kmod(NAME.ko)                   Fedora kmod.attr; SUSE with - as _
 *   modalias(ALIAS) = VERSION       Fedora modalias.prov (Provides)
 *   modalias(kernel-FLAVOR:ALIAS)   SUSE find-supplements.ksyms (Supplements)
 *   firmware(PATH)                  what SUSE's firmware.attr provides
 * Near-identical aliases are merged into one pattern with a [...] class,
 * exactly as those scripts do, so packages carry no more lines than theirs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compressed.h"
#include "libkabideps-private.h"
#include "modname.h"

static const char *const compressed_suffixes[] = { KABI_COMPRESSED_SUFFIXES };

/* The length of "NAME.ko" in base, the file name .../NAME.ko[.gz|.xz|.zst],
 * or 0 when it is not a .ko. */
static size_t ko_name_len(const char *base)
{
	size_t len = strlen(base);

	for (size_t i = 0; i < sizeof(compressed_suffixes) / sizeof(*compressed_suffixes); i++) {
		size_t n = strlen(compressed_suffixes[i]);

		if (len > n && strcmp(base + len - n, compressed_suffixes[i]) == 0) {
			len -= n;
			break;
		}
	}
	return len > 3 && strncmp(base + len - 3, ".ko", 3) == 0 ? len : 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

char *kabi_module_name(const char *path)
{
	const char *base = base_name(path);
	size_t len = ko_name_len(base);
	char *name = len ? strndup(base, len - 3) : strdup(base);

	return len && name ? kabi_modname_normalize(name) : name;
}

int kabi_kmod_provides(struct kabi_ctx *ctx, const struct kabi_mod_view *v, struct kabi_strv *out)
{
	int style = kabi_ctx_options(ctx)->kmod;
	const char *base = base_name(v->path);
	size_t len = ko_name_len(base);
	char *name;
	int r;

	if (style == KABI_KMOD_NONE || !len)
		return 0;
	if (!(name = strndup(base, len)))
		return kabi_fail(ctx, ENOMEM, "out of memory");
	/* a dependency is one token: such a file name cannot be one */
	if (name[strcspn(name, " \t\n\r\v\f,()")]) {
		kabi_log(ctx, KABI_LOG_WARNING,
			 "%s: no kmod() Provides: the file name '%s' cannot be a "
			 "dependency",
			 v->path, name);
		free(name);
		return 0;
	}
	if (style == KABI_KMOD_SUSE)
		kabi_modname_normalize(name);
	r = kabi_strv_pushf(out, "kmod(%s)", name);
	free(name);
	return r < 0 ? kabi_fail(ctx, ENOMEM, "out of memory") : 0;
}

/* ---- modalias ---- */

static bool in_set(char c, const char *set)
{
	return c && strchr(set, c);
}

/* Fedora: characters outside [][0-9a-zA-Z._:*?/-] become _. */
static char *fedora_alias(const char *alias)
{
	char *s = strdup(alias);

	for (char *p = s; p && *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      in_set(*p, "[]._:*?/-")))
			*p = '_';
	return s;
}

/* SUSE: characters outside [*:a-zA-Z0-9] become %XX (hexdump's %X). */
static char *suse_alias(const char *alias)
{
	size_t len = strlen(alias);
	char *s = malloc(3 * len + 1), *o = s;

	for (const unsigned char *p = (const unsigned char *)alias; s && *p; p++) {
		if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    *p == '*' || *p == ':')
			*o++ = (char)*p;
		else
			o += sprintf(o, "%%%X", *p);
	}
	if (s)
		*o = '\0';
	return s;
}

/* Fedora sorts by length first ("LEN LINE" through sort): same-length lines meet. */
static int cmp_len_str(const void *a, const void *b)
{
	char buf_a[24], buf_b[24];
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	int c;

	snprintf(buf_a, sizeof(buf_a), "%zu ", strlen(x));
	snprintf(buf_b, sizeof(buf_b), "%zu ", strlen(y));
	c = strcmp(buf_a, buf_b);
	return c ? c : strcmp(x, y);
}

struct merge_rules {
	size_t start; /* first position that may vary */
	const char *class_only; /* the first line's char there must not be one of these */
	const char *both; /* neither line's char there may be one of these */
};

static const struct merge_rules fedora_rules = { sizeof("modalias(") - 1, "", "[]?*" };
static const struct merge_rules suse_rules = { 0, "*", "" };

/* Position where tag differs from class in exactly one mergeable char, or -1. */
static long merge_position(const char *class, const char *tag, const struct merge_rules *r, long pos)
{
	size_t len = strlen(class);

	if (strlen(tag) != len)
		return -1;
	for (size_t n = r->start; n < len; n++) {
		if (pos >= 0 && (long)n != pos)
			continue;
		if (strncmp(class, tag, n) != 0)
			return -1;
		if (strcmp(class + n + 1, tag + n + 1) != 0)
			continue;
		if (in_set(class[n], r -> class_only) || in_set(class[n], r -> both) ||
		    in_set(tag[n], r->both))
			continue;
		return (long)n;
	}
	return -1;
}

/* Emit the run class + variants: "pre[abc]post" when it merged lines. */
static int emit_run(struct kabi_strv *out, const char *class, const char *variants, long pos)
{
	if (!*variants)
		return kabi_strv_push(out, strdup(class));
	return kabi_strv_pushf(out, "%.*s[%s]%s", (int)pos, class, variants, class + pos + 1);
}

/* Merge sorted unique lines that differ in one character at one position. */
static int combine(struct kabi_strv *lines, const struct merge_rules *rules, struct kabi_strv *out)
{
	char variants[256] = "";
	size_t nv = 0;
	long pos = -1;
	const char *class = lines->n ? lines->v[0] : NULL;

	for (size_t i = 1; i < lines->n; i++) {
		const char *tag = lines->v[i];
		long n = nv + 1 < sizeof(variants) - 1 ? merge_position(class, tag, rules, pos) : -1;

		if (n >= 0) {
			if (!nv)
				variants[nv++] = class[n];
			variants[nv++] = tag[n];
			variants[nv] = '\0';
			pos = n;
			continue;
		}
		if (emit_run(out, class, variants, pos) < 0)
			return -ENOMEM;
		class = tag;
		variants[nv = 0] = '\0';
		pos = -1;
	}
	return class ? emit_run(out, class, variants, pos) : 0;
}

/* SUSE keeps aliases that match .+:.+ */
static bool has_inner_colon(const char *s)
{
	const char *colon = strchr(s + (*s != '\0'), ':');

	return *s && colon && colon[1];
}

/* Fedora: the module's first version, characters outside [0-9a-zA-Z._] as _;
 * *out is NULL when it has none. */
static int fedora_version(const struct kabi_mod_view *v, char **out)
{
	const char *version = kabi_view_modinfo(v, "version");
	char *s;

	*out = NULL;
	if (!version || !*version)
		return 0;
	if (!(s = *out = strdup(version)))
		return -ENOMEM;
	for (char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      *p == '.' || *p == '_'))
			*p = '_';
	return 0;
}

int kabi_modalias_deps(struct kabi_ctx *ctx, const struct kabi_mod_view *v, struct kabi_strv *out)
{
	bool suse = kabi_ctx_options(ctx)->modalias == KABI_MODALIAS_SUPPLEMENTS;
	const char *flavor = NULL;
	struct kabi_strv lines = { 0 };
	char *version = NULL;
	int r = 0;

	/* Both leave the kernel's own modules alone. */
	if (kabi_path_in_tree(v->path))
		return 0;
	if (suse) {
		/* SUSE always names the flavor here, from the release unless configured */
		flavor = kabi_flavor(ctx, v->release);
		if (!flavor)
			flavor = kabi_release_flavor(v->release);
		if (!flavor)
			return 0; /* no flavor, no kernel-FLAVOR: to supplement */
	} else {
		r = fedora_version(v, &version);
	}
	for (size_t i = 0; i < v->n_modinfo && r == 0; i++) {
		char *alias;

		if (strcmp(v->modinfo[i].key, "alias") != 0 || !*v->modinfo[i].value)
			continue;
		if (v->modinfo[i].value[strcspn(v->modinfo[i].value, " \t\n\r\v\f")]) {
			kabi_log(ctx, KABI_LOG_WARNING, "%s: alias '%s' cannot be a dependency", v->path,
				 v->modinfo[i].value);
			continue;
		}
		alias = suse ? suse_alias(v->modinfo[i].value) : fedora_alias(v->modinfo[i].value);
		if (!alias)
			r = -ENOMEM;
		else if (suse && has_inner_colon(alias))
			r = kabi_strv_pushf(&lines, "modalias(kernel-%s:%s)", flavor, alias);
		else if (!suse)
			r = version ? kabi_strv_pushf(&lines, "modalias(%s) = %s", alias, version) :
				      kabi_strv_pushf(&lines, "modalias(%s)", alias);
		free(alias);
	}
	free(version);
	if (r == 0) {
		kabi_strv_sort_uniq(&lines);
		if (!suse && lines.n > 1)
			qsort(lines.v, lines.n, sizeof(*lines.v), cmp_len_str);
		r = combine(&lines, suse ? &suse_rules : &fedora_rules, out);
	}
	kabi_strv_free(&lines);
	return r < 0 ? kabi_fail(ctx, ENOMEM, "out of memory") : 0;
}

/* ---- firmware ---- */

int kabi_firmware_deps(struct kabi_ctx *ctx, const struct kabi_mod_view *v, struct kabi_strv *out)
{
	for (size_t i = 0; i < v->n_modinfo; i++) {
		const char *fw = v->modinfo[i].value;

		if (strcmp(v->modinfo[i].key, "firmware") != 0 || !*fw)
			continue;
		/* a dependency is one token: such a name cannot be one */
		if (fw[strcspn(fw, " \t\n,()")]) {
			kabi_log(ctx, KABI_LOG_WARNING, "%s: firmware name '%s' cannot be a dependency",
				 v->path, fw);
			continue;
		}
		if (kabi_strv_pushf(out, "firmware(%s)", fw) < 0)
			return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	return 0;
}
