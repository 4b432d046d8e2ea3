/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kabi-deps check [--json] [--option N=V] KMOD... --kernel REF...
 *
 * Which kernels a kmod fits, before anyone installs it.  A KMOD is a built
 * RPM (its kernel()/ksym() Requires, read with librpm) or .ko files (their
 * imports).  A REF is what a kernel offers: Module.symvers / symvers.gz, a
 * symsets tarball, a kernel RPM (its Provides), a headers directory, or an
 * installed kernel release.  Every requirement is matched with rpm's own
 * rpmdsCompare, so the verdict is rpm's.  Each kernel is read once and
 * indexed by dependency name; every kmod is then checked against it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rpm/header.h>
#include <rpm/rpmds.h>
#include <rpm/rpmio.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmts.h>

#include "kabideps.h"
#include "kabi-deps.h"

#define EXIT_FITS 0
#define EXIT_DOES_NOT_FIT 1
#define EXIT_BAD_INPUT 2

/* One dependency: name, version, sense. */
struct dep {
	char *name;
	char *evr;
	rpmsenseFlags flags;
};

struct dep_list {
	char *label; /* what it came from, for people */
	bool any_namespace; /* ours (from .ko): ksym(X) and kernel(X) alike */
	struct dep *v;
	size_t n, cap;
};

static int dep_push(struct dep_list *l, const char *name, const char *evr, rpmsenseFlags flags)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct dep *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].name = strdup(name);
	l->v[l->n].evr = strdup(evr ? evr : "");
	l->v[l->n].flags = flags;
	if (!l->v[l->n].name || !l->v[l->n].evr)
		return -ENOMEM;
	l->n++;
	return 0;
}

/* "NAME = EVR" (as the library prints dependencies) into a dep. */
static int dep_push_line(struct dep_list *l, const char *line)
{
	const char *eq = strstr(line, " = ");
	char *name;
	int r;

	if (!eq)
		return dep_push(l, line, "", RPMSENSE_ANY);
	name = strndup(line, (size_t)(eq - line));
	r = name ? dep_push(l, name, eq + 3, RPMSENSE_EQUAL) : -ENOMEM;
	free(name);
	return r;
}

static void dep_list_free(struct dep_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].evr);
	}
	free(l->v);
	free(l->label);
	*l = (struct dep_list){ 0 };
}

static int cmp_dep_name(const void *a, const void *b)
{
	return strcmp(((const struct dep *)a)->name, ((const struct dep *)b)->name);
}

/* Kernel ABI dependencies only: the rest (rpmlib(), files) is not the kernel's. */
static bool is_kabi_dep(const char *name)
{
	return strncmp(name, "kernel(", 7) == 0 || strncmp(name, "ksym(", 5) == 0;
}

static bool is_rpm_file(const char *path)
{
	unsigned char magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool rpm = fd >= 0 && read(fd, magic, 4) == 4 && memcmp(magic, "\xed\xab\xee\xdb", 4) == 0;

	if (fd >= 0)
		close(fd);
	return rpm;
}

/* The Requires (tag REQUIRENAME) or Provides of an RPM file, kernel ABI only. */
static int read_rpm(const char *path, rpmTagVal tag, struct dep_list *out)
{
	rpmts ts = rpmtsCreate();
	FD_t fd = Fopen(path, "r.ufdio");
	Header h = NULL;
	rpmRC rc;
	rpmds ds;
	int r = 0;

	rpmtsSetVSFlags(ts, RPMVSF_MASK_NOSIGNATURES | RPMVSF_MASK_NODIGESTS);
	rc = fd && !Ferror(fd) ? rpmReadPackageFile(ts, fd, path, &h) : RPMRC_FAIL;
	if (fd)
		Fclose(fd);
	rpmtsFree(ts);
	if (rc != RPMRC_OK && rc != RPMRC_NOTTRUSTED && rc != RPMRC_NOKEY) {
		fprintf(stderr, "kabi-deps: %s: cannot read as an RPM package\n", path);
		return -EINVAL;
	}
	out->label = headerGetAsString(h, RPMTAG_NEVRA);
	ds = rpmdsNew(h, tag, 0);
	while (r == 0 && rpmdsNext(ds) >= 0)
		if (is_kabi_dep(rpmdsN(ds)))
			r = dep_push(out, rpmdsN(ds), rpmdsEVR(ds), rpmdsFlags(ds) & RPMSENSE_SENSEMASK);
	rpmdsFree(ds);
	headerFree(h);
	return r;
}

/* A kernel: what it provides, sorted by name for lookups. */
static int read_kernel(struct kabi_ctx *ctx, const char *ref, struct dep_list *out)
{
	struct kabi_strv lines = { 0 };
	int r = 0;

	if (is_rpm_file(ref)) {
		r = read_rpm(ref, RPMTAG_PROVIDENAME, out);
	} else if (kabi_kernel_provides(ctx, ref, &lines) < 0) {
		fprintf(stderr, "kabi-deps: %s: %s\n", ref, kabi_ctx_error(ctx));
		r = -EINVAL;
	} else {
		for (size_t i = 0; i < lines.n && r == 0; i++)
			r = dep_push_line(out, lines.v[i]);
		out->label = strdup(ref);
	}
	kabi_strv_free(&lines);
	if (r == 0)
		qsort(out->v, out->n, sizeof(*out->v), cmp_dep_name);
	return r;
}

/* .ko files form one package: their imports, less what they export. */
static int read_modules(struct kabi_ctx *ctx, char **paths, size_t n, struct dep_list *out)
{
	struct kabi_pkg *pkg = kabi_pkg_new(ctx);
	struct kabi_strv deps = { 0 };
	int r = pkg ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && r == 0; i++) {
		struct kabi_module *mod;

		if (kabi_module_open(ctx, paths[i], &mod) < 0 || kabi_pkg_add(pkg, mod) < 0) {
			fprintf(stderr, "kabi-deps: %s: %s\n", paths[i], kabi_ctx_error(ctx));
			r = -EINVAL;
		}
		kabi_module_free(mod);
	}
	for (size_t i = 0; i < n && r == 0; i++)
		if (kabi_pkg_requires(pkg, paths[i], &deps) < 0)
			r = -EINVAL;
	kabi_strv_sort_uniq(&deps);
	for (size_t i = 0; i < deps.n && r == 0; i++)
		if (is_kabi_dep(deps.v[i]))
			r = dep_push_line(out, deps.v[i]);
	kabi_strv_free(&deps);
	kabi_pkg_free(pkg);
	if (r == 0 && !(out->label = strdup(n == 1 ? paths[0] : "modules")))
		r = -ENOMEM;
	out->any_namespace = true;
	return r;
}

static const struct dep *find_first(const struct dep_list *kernel, const char *name)
{
	size_t lo = 0, hi = kernel->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(kernel->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < kernel->n && strcmp(kernel->v[lo].name, name) == 0 ? &kernel->v[lo] : NULL;
}

/* rpm's verdict: does some provide of that name overlap the requirement? */
static bool satisfied_as(const struct dep_list *kernel, const struct dep *req, const char *name)
{
	rpmds r = rpmdsSingle(RPMTAG_REQUIRENAME, name, req->evr, req->flags);
	bool ok = false;

	for (const struct dep *p = find_first(kernel, name);
	     p && p < kernel->v + kernel->n && strcmp(p->name, name) == 0 && !ok; p++) {
		rpmds d = rpmdsSingle(RPMTAG_PROVIDENAME, p->name, p->evr, p->flags);

		ok = rpmdsCompare(d, r) == 1;
		rpmdsFree(d);
	}
	rpmdsFree(r);
	return ok;
}

/* The other namespace's name of a symbol: ksym(X) <-> kernel(X), or NULL. */
static char *other_namespace(const char *name)
{
	char *other = NULL;

	if (strncmp(name, "ksym(", 5) == 0 && asprintf(&other, "kernel(%s", name + 5) < 0)
		other = NULL;
	else if (strncmp(name, "kernel(", 7) == 0 && asprintf(&other, "ksym(%s", name + 7) < 0)
		other = NULL;
	return other;
}

static bool satisfied(const struct dep_list *kmod, const struct dep_list *kernel, const struct dep *req)
{
	char *other;
	bool ok = satisfied_as(kernel, req, req->name);

	/* which namespace a .ko's import gets depends on the build host's
	 * reference: against a given kernel, either one names the symbol */
	if (!ok && kmod->any_namespace && (other = other_namespace(req->name))) {
		ok = satisfied_as(kernel, req, other);
		free(other);
	}
	return ok;
}

/* What the kernel has under that name, for the report ("" when absent). */
static const char *kernel_has(const struct dep_list *kmod, const struct dep_list *kernel, const char *name)
{
	const struct dep *p = find_first(kernel, name);
	char *other;

	if (!p && kmod->any_namespace && (other = other_namespace(name))) {
		p = find_first(kernel, other);
		free(other);
	}
	return p ? p->evr : NULL;
}

/* "kernel(SYM)" -> "SYM"; a symbol when it is ksym() or its version is 0x... */
static void describe(const struct dep *d, char *what, size_t size, bool *is_set)
{
	const char *open = strchr(d->name, '('), *close = strrchr(d->name, ')');

	*is_set = strncmp(d->name, "kernel(", 7) == 0 && strncmp(d->evr, "0x", 2) != 0;
	if (open && close && close > open)
		snprintf(what, size, "%.*s", (int)(close - open - 1), open + 1);
	else
		snprintf(what, size, "%s", d->name);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* Check one kmod against one kernel; print the verdict.  Returns fits. */
static bool check_one(const struct dep_list *kmod, const struct dep_list *kernel, bool json, bool first)
{
	bool *met = calloc(kmod->n + 1, sizeof(*met));
	size_t unmet = 0, width = 0;

	for (size_t i = 0; i < kmod->n; i++) {
		/* without memory, count it unmet: never a false "fits" */
		if (met)
			met[i] = satisfied(kmod, kernel, &kmod->v[i]);
		if (!met || !met[i])
			unmet++;
	}
	if (json) {
		printf("%s\n  {\"kmod\": ", first ? "" : ",");
		json_str(kmod->label);
		fputs(", \"kernel\": ", stdout);
		json_str(kernel->label);
		printf(", \"fits\": %s, \"checked\": %zu, \"unmet\": [", unmet ? "false" : "true", kmod->n);
	} else {
		printf("%s\n  against %s: %s", kmod->label, kernel->label, unmet ? "DOES NOT FIT" : "fits");
		if (unmet)
			printf(" (%zu of %zu kernel dependencies unmet)", unmet, kmod->n);
		else
			printf(" (%zu kernel dependencies met)", kmod->n);
		putchar('\n');
	}
	for (size_t i = 0; i < kmod->n; i++) {
		size_t len = strlen(kmod->v[i].name) + strlen(kmod->v[i].evr) + 3;

		if ((!met || !met[i]) && len > width)
			width = len;
	}
	for (size_t i = 0, k = 0; i < kmod->n; i++) {
		const struct dep *d = &kmod->v[i];
		const char *has = kernel_has(kmod, kernel, d->name);
		char what[512], full[1024];
		bool is_set;

		if (met && met[i])
			continue;
		describe(d, what, sizeof(what), &is_set);
		if (json) {
			snprintf(full, sizeof(full), "%s%s%s", d->name, *d->evr ? " = " : "", d->evr);
			fputs(k++ ? ", {\"dependency\": " : "{\"dependency\": ", stdout);
			json_str(full);
			printf(", \"kind\": \"%s\", \"name\": ", is_set ? "set" : "symbol");
			json_str(what);
			fputs(", \"needed\": ", stdout);
			json_str(d->evr);
			fputs(", \"kernel\": ", stdout);
			if (has)
				json_str(has);
			else
				fputs("null", stdout);
			putchar('}');
			continue;
		}
		snprintf(full, sizeof(full), "%s%s%s", d->name, *d->evr ? " = " : "", d->evr);
		printf("    %-*s  ", (int)width, full);
		if (!has)
			printf("%s %s is absent from this kernel\n", is_set ? "set" : "symbol", what);
		else if (is_set)
			printf("set %s changed: the kernel has %s\n", what, has);
		else
			printf("CRC of %s differs: the kernel has %s\n", what, has);
	}
	if (json)
		fputs("]}", stdout);
	free(met);
	return unmet == 0;
}

static void check_usage(FILE *out)
{
	fputs("usage: kabi-deps check [--json] [--option NAME=VALUE] KMOD... --kernel REF...\n"
	      "  KMOD: a kmod RPM, or .ko files (together one package)\n"
	      "  REF:  Module.symvers, symvers.gz, symsets-R.tar.gz, a kernel RPM,\n"
	      "        a kernel headers directory, or an installed kernel release\n"
	      "Exit status: 0 every kmod fits every kernel, 1 some does not, 2 bad input.\n", out);
}

int kabi_deps_check(int argc, char **argv)
{
	struct kabi_ctx *ctx = kabi_ctx_new();
	char **kmod_paths = calloc((size_t)argc, sizeof(char *)), **kernel_paths = calloc((size_t)argc, sizeof(char *));
	char **module_paths = calloc((size_t)argc, sizeof(char *));
	struct dep_list *kmods = calloc((size_t)argc + 1, sizeof(*kmods));
	size_t n_kmods = 0, n_kernels = 0, n_modules = 0, n_lists = 0;
	bool json = false, in_kernels = false, all_fit = true, first = true;
	int status = EXIT_BAD_INPUT;

	if (!ctx || !kmod_paths || !kernel_paths || !module_paths || !kmods) {
		fputs("kabi-deps: out of memory\n", stderr);
		goto out;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			check_usage(stdout);
			status = EXIT_FITS;
			goto out;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--kernel") == 0) {
			in_kernels = true;
		} else if (strcmp(argv[i], "--option") == 0 && i + 1 < argc) {
			char *eq = strchr(argv[++i], '=');

			if (eq)
				*eq = '\0';
			if (!eq || kabi_ctx_set_option(ctx, argv[i], eq + 1) < 0) {
				fprintf(stderr, "kabi-deps: --option %s: %s\n", argv[i],
					eq ? kabi_ctx_error(ctx) : "expected NAME=VALUE");
				goto out;
			}
		} else if (argv[i][0] == '-' && argv[i][1] == '-' && argv[i][2]) {
			fprintf(stderr, "kabi-deps: check: unknown option %s\n", argv[i]);
			goto out;
		} else if (in_kernels) {
			kernel_paths[n_kernels++] = argv[i];
		} else {
			kmod_paths[n_kmods++] = argv[i];
		}
	}
	if (!n_kmods || !n_kernels) {
		check_usage(stderr);
		goto out;
	}
	rpmReadConfigFiles(NULL, NULL);
	for (size_t i = 0; i < n_kmods; i++) {
		if (!is_rpm_file(kmod_paths[i])) {
			module_paths[n_modules++] = kmod_paths[i];
			continue;
		}
		if (read_rpm(kmod_paths[i], RPMTAG_REQUIRENAME, &kmods[n_lists++]) < 0)
			goto out;
	}
	if (n_modules && read_modules(ctx, module_paths, n_modules, &kmods[n_lists++]) < 0)
		goto out;

	if (json)
		fputs("{\"results\": [", stdout);
	/* one pass per kernel: read and index it once, check every kmod */
	for (size_t k = 0; k < n_kernels; k++) {
		struct dep_list kernel = { 0 };

		if (read_kernel(ctx, kernel_paths[k], &kernel) < 0) {
			dep_list_free(&kernel);
			if (json)
				fputs("]}\n", stdout);
			goto out;
		}
		for (size_t i = 0; i < n_lists; i++) {
			all_fit &= check_one(&kmods[i], &kernel, json, first);
			first = false;
		}
		dep_list_free(&kernel);
	}
	if (json)
		printf("\n], \"fits\": %s}\n", all_fit ? "true" : "false");
	status = all_fit ? EXIT_FITS : EXIT_DOES_NOT_FIT;
out:
	for (size_t i = 0; kmods && i < n_lists; i++)
		dep_list_free(&kmods[i]);
	free(kmods);
	free(kmod_paths);
	free(kernel_paths);
	free(module_paths);
	kabi_ctx_free(ctx);
	if (fflush(stdout) != 0)
		status = EXIT_BAD_INPUT;
	return status;
}
