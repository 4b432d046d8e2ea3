/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kabi-deps check [--json] [--details] [--option N=V] KMOD... --kernel REF...
 *
 * Which kernels a kmod fits, before anyone installs it.  A KMOD is a built
 * RPM (its kernel()/ksym() Requires, read with librpm) or .ko files (their
 * imports).  A REF is what a kernel offers: Module.symvers / symvers.gz, a
 * symsets tarball, a kernel RPM (its Provides), a headers directory, a
 * repository directory of RPMs (each kernel package in it), or an installed
 * kernel release.  Every requirement is matched with rpm's own
 * rpmdsCompare, so the verdict is rpm's.  Each kernel is read once and
 * indexed by dependency name; every kmod is then checked against it.
 * One kmod and one kernel: every unmet dependency listed; more: a matrix,
 * kmods as rows and kernels as columns, the first unmet one per pair.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rpm/header.h>
#include <rpm/rpmds.h>
#include <rpm/rpmio.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmts.h>

#include "kabideps.h"
#include "kabi-deps.h"
#include "json.h"

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

/* The kernel build itself, what a module without modversions requires:
 * kernel-uname-r = RELEASE, or kernel-uname-r(RELEASE). */
static bool is_uname_r(const char *name)
{
	/* (a name from an rpm header, or a whole "NAME = EVR" line) */
	return strncmp(name, "kernel-uname-r", 14) == 0 &&
	       (name[14] == '\0' || name[14] == '(' || name[14] == ' ');
}

/* Kernel ABI dependencies only: the rest (rpmlib(), files) is not the kernel's. */
static bool is_kabi_dep(const char *name)
{
	return strncmp(name, "kernel(", 7) == 0 || strncmp(name, "ksym(", 5) == 0 || is_uname_r(name);
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
	if (r == 0 && out->n) /* (qsort of NULL is undefined, even of nothing) */
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

/* What a requirement names: a symbol (ksym(), or kernel() with a 0x...
 * version), a set (kernel(SET) = HASH), or the kernel build itself. */
enum req_kind {
	REQ_SYMBOL,
	REQ_SET,
	REQ_RELEASE
};
static const char *const req_kind_names[] = { "symbol", "set", "release" };

/* "kernel(SYM)" -> "SYM", and its kind. */
static enum req_kind describe(const struct dep *d, char *what, size_t size)
{
	const char *open = strchr(d->name, '('), *close = strrchr(d->name, ')');

	if (is_uname_r(d->name)) {
		snprintf(what, size, "%s", d->name);
		return REQ_RELEASE;
	}
	if (open && close && close > open)
		snprintf(what, size, "%.*s", (int)(close - open - 1), open + 1);
	else
		snprintf(what, size, "%s", d->name);
	return strncmp(d->name, "kernel(", 7) == 0 && strncmp(d->evr, "0x", 2) != 0 ? REQ_SET : REQ_SYMBOL;
}

/* Which of kmod's requirements kernel meets (met[i]); the number unmet.
 * Without memory every one counts unmet: never a false "fits". */
static size_t check_pair(const struct dep_list *kmod, const struct dep_list *kernel, bool *met)
{
	size_t unmet = 0;

	for (size_t i = 0; i < kmod->n; i++) {
		if (met)
			met[i] = satisfied(kmod, kernel, &kmod->v[i]);
		if (!met || !met[i])
			unmet++;
	}
	return unmet;
}

static void dep_text(const struct dep *d, char *full, size_t size)
{
	snprintf(full, size, "%s%s%s", d->name, *d->evr ? " = " : "", d->evr);
}

/* An unmet requirement as both reports show it. */
struct unmet_req {
	const struct dep *d;
	enum req_kind kind;
	char what[512]; /* the symbol, set or release */
	char full[1024]; /* the dependency as rpm writes it */
};

/* The next unmet requirement of the pair at *i or after, described (and *i
 * past it); false when there are no more. */
static bool next_unmet(const struct dep_list *kmod, const bool *met, size_t *i, struct unmet_req *u)
{
	for (; *i < kmod->n; (*i)++) {
		if (met && met[*i])
			continue;
		u->d = &kmod->v[(*i)++];
		u->kind = describe(u->d, u->what, sizeof(u->what));
		dep_text(u->d, u->full, sizeof(u->full));
		return true;
	}
	return false;
}

/* The pair as JSON: the verdict and every unmet dependency. */
static void json_pair(const struct dep_list *kmod, const struct dep_list *kernel, const bool *met,
		      size_t unmet, bool first)
{
	struct unmet_req u;

	printf("%s\n  {\"kmod\": ", first ? "" : ",");
	json_string(stdout, kmod->label);
	fputs(", \"kernel\": ", stdout);
	json_string(stdout, kernel->label);
	printf(", \"fits\": %s, \"checked\": %zu, \"unmet\": [", unmet ? "false" : "true", kmod->n);
	for (size_t i = 0, k = 0; next_unmet(kmod, met, &i, &u);) {
		fputs(k++ ? ", {\"dependency\": " : "{\"dependency\": ", stdout);
		json_string(stdout, u.full);
		printf(", \"kind\": \"%s\", \"name\": ", req_kind_names[u.kind]);
		json_string(stdout, u.what);
		fputs(", \"needed\": ", stdout);
		json_string(stdout, u.d->evr);
		fputs(", \"kernel\": ", stdout);
		json_string(stdout, kernel_has(kmod, kernel, u.d->name));
		putchar('}');
	}
	fputs("]}", stdout);
}

/* The pair for people: the verdict, then one aligned line per unmet dependency. */
static void print_details(const struct dep_list *kmod, const struct dep_list *kernel, const bool *met,
			  size_t unmet)
{
	struct unmet_req u;
	size_t width = 0;

	printf("%s\n  against %s: %s", kmod->label, kernel->label, unmet ? "DOES NOT FIT" : "fits");
	if (unmet)
		printf(" (%zu of %zu kernel dependencies unmet)\n", unmet, kmod->n);
	else
		printf(" (%zu kernel dependencies met)\n", kmod->n);
	for (size_t i = 0; i < kmod->n; i++) {
		size_t len = strlen(kmod->v[i].name) + strlen(kmod->v[i].evr) + 3;

		if ((!met || !met[i]) && len > width)
			width = len;
	}
	for (size_t i = 0; next_unmet(kmod, met, &i, &u);) {
		const char *has = kernel_has(kmod, kernel, u.d->name);

		printf("    %-*s  ", (int)width, u.full);
		if (u.kind == REQ_RELEASE && !has)
			printf("kernel build %s: this kernel names no such build\n", u.what);
		else if (u.kind == REQ_RELEASE)
			printf("another kernel build: this kernel is %s\n", has);
		else if (!has)
			printf("%s %s is absent from this kernel\n", req_kind_names[u.kind], u.what);
		else if (u.kind == REQ_SET)
			printf("set %s changed: the kernel has %s\n", u.what, has);
		else
			printf("CRC of %s differs: the kernel has %s\n", u.what, has);
	}
}

/*
 * The matrix: text for a terminal.  Names are shown with control
 * characters and bytes that are not UTF-8 as '?' (a name is whatever a file
 * holds), and cut to a width, keeping their end ("...tail").
 */
#define MAX_LABEL_COLUMNS 48
#define MAX_SYMBOL_COLUMNS 40

/* The length of the character at p (1 for a byte that is not one), and
 * whether it can be shown as it is. */
static size_t next_char(const unsigned char *p, bool *shown)
{
	size_t len = *p < 0x80		      ? 1 :
		     *p >= 0xc2 && *p <= 0xdf ? 2 :
		     *p >= 0xe0 && *p <= 0xef ? 3 :
		     *p >= 0xf0 && *p <= 0xf4 ? 4 :
						0;

	*shown = len > 0 && *p >= 0x20 && *p != 0x7f;
	for (size_t i = 1; *shown && i < len; i++)
		*shown = (p[i] & 0xc0) == 0x80;
	return *shown ? len : 1;
}

/* s as shown in at most max columns (a character a column); returns the columns. */
static size_t display(const char *s, size_t max, char *buf, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t total = 0, skip = 0, cols = 0, n = 0;
	bool shown;

	for (const unsigned char *q = p; *q; q += next_char(q, &shown))
		total++;
	if (total > max) { /* keep the end, where versions and file names are */
		skip = total - (max - 3);
		memcpy(buf, "...", 3);
		n = cols = 3;
	}
	for (size_t len; *p && n + 5 < size; p += len) {
		len = next_char(p, &shown);
		if (skip) {
			skip--;
			continue;
		}
		if (shown)
			memcpy(buf + n, p, len);
		else
			buf[n] = '?';
		n += shown ? len : 1;
		cols++;
	}
	buf[n] = '\0';
	return cols;
}

/* s whole, as display() shows it. */
static void print_shown(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	bool shown;

	for (size_t len; *p; p += len) {
		len = next_char(p, &shown);
		if (shown)
			fwrite(p, 1, len, stdout);
		else
			putchar('?');
	}
}

struct cell {
	char text[256];
	size_t cols;
};

/* "ok", or "NO: " and the first unmet dependency, and how many more. */
static void verdict_cell(const struct dep_list *kmod, const struct dep_list *kernel, const bool *met,
			 size_t unmet, struct cell *c)
{
	size_t i = 0;
	char what[512], shown[200], more[32] = "";
	enum req_kind kind;
	const char *has;
	size_t cols;

	if (!unmet) {
		snprintf(c->text, sizeof(c->text), "ok");
		c->cols = 2;
		return;
	}
	while (met && i < kmod->n && met[i])
		i++;
	if (i == kmod->n) { /* no memory for met: no name to give */
		snprintf(c->text, sizeof(c->text), "NO (%zu unmet)", unmet);
		c->cols = strlen(c->text);
		return;
	}
	kind = describe(&kmod->v[i], what, sizeof(what));
	has = kernel_has(kmod, kernel, kmod->v[i].name);
	cols = display(what, MAX_SYMBOL_COLUMNS, shown, sizeof(shown));
	if (unmet > 1)
		snprintf(more, sizeof(more), " (%zu more)", unmet - 1);
	snprintf(c->text, sizeof(c->text), "NO: %s%s %s%s", kind == REQ_SET ? "set " : "", shown,
		 kind == REQ_RELEASE ? "(another build)" :
		 !has		     ? "absent" :
		 kind == REQ_SET     ? "changed" :
				       "CRC differs",
		 more);
	c->cols = strlen(c->text) - strlen(shown) + cols;
}

static void pad(size_t n)
{
	while (n--)
		putchar(' ');
}

/* cells[k * n_kmods + i]: kmod i against kernel k. */
static void print_matrix(const struct dep_list *kmods, size_t n_kmods, char **kernel_labels, size_t n_kernels,
			 const struct cell *cells)
{
	size_t *width = calloc(n_kernels + 1, sizeof(*width)), label_width = strlen("kmod");
	struct cell *labels = calloc(n_kmods + 1, sizeof(*labels));
	size_t fitting = 0;

	if (!width || !labels) {
		fputs("kabi-deps: out of memory\n", stderr);
		free(width);
		free(labels);
		return;
	}
	for (size_t k = 0; k < n_kernels; k++) {
		printf("kernel [%zu]  ", k + 1);
		print_shown(kernel_labels[k]);
		putchar('\n');
	}
	putchar('\n');
	for (size_t i = 0; i < n_kmods; i++) {
		labels[i].cols =
			display(kmods[i].label, MAX_LABEL_COLUMNS, labels[i].text, sizeof(labels[i].text));
		if (labels[i].cols > label_width)
			label_width = labels[i].cols;
	}
	for (size_t k = 0; k < n_kernels; k++) {
		char head[32];

		width[k] = (size_t)snprintf(head, sizeof(head), "[%zu]", k + 1);
		for (size_t i = 0; i < n_kmods; i++)
			if (cells[k * n_kmods + i].cols > width[k])
				width[k] = cells[k * n_kmods + i].cols;
	}
	/* columns two spaces apart, no blanks at the ends of lines */
	fputs("kmod", stdout);
	for (size_t k = 0, prev = 4; k < n_kernels; k++) {
		pad((k ? width[k - 1] : label_width) + 2 - prev);
		prev = (size_t)printf("[%zu]", k + 1);
	}
	putchar('\n');
	for (size_t i = 0; i < n_kmods; i++) {
		bool fits = true;

		fputs(labels[i].text, stdout);
		for (size_t k = 0; k < n_kernels; k++) {
			const struct cell *prev = k ? &cells[(k - 1) * n_kmods + i] : &labels[i];
			const struct cell *c = &cells[k * n_kmods + i];

			pad((k ? width[k - 1] : label_width) + 2 - prev->cols);
			fputs(c->text, stdout);
			fits &= strcmp(c->text, "ok") == 0;
		}
		putchar('\n');
		fitting += fits;
	}
	printf("\n%zu of %zu kmod%s fit%s every kernel\n", fitting, n_kmods, n_kmods == 1 ? "" : "s",
	       n_kmods == 1 ? "s" : "");
	free(width);
	free(labels);
}

/*
 * The kernels named on the command line, a repository directory (RPMs and
 * no Module.symvers) standing for each of its *.rpm in name order; RPMs
 * from a repository that provide no kernel ABI are skipped there (the
 * kmods beside the kernels).
 */
struct kernel_ref {
	char *path;
	size_t arg; /* the command-line argument it came from */
	bool from_repository;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int push_ref(struct kernel_ref **refs, size_t *n, const char *path, size_t arg, bool repo)
{
	struct kernel_ref *v = realloc(*refs, (*n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	*refs = v;
	v[*n] = (struct kernel_ref){ .path = strdup(path), .arg = arg, .from_repository = repo };
	return v[(*n)++].path ? 0 : -ENOMEM;
}

static int expand_kernel(const char *ref, size_t arg, struct kernel_ref **refs, size_t *n)
{
	struct stat st;
	char path[4096];
	char **names = NULL;
	size_t n_names = 0;
	struct dirent *de;
	DIR *dir;
	int r = 0;

	snprintf(path, sizeof(path), "%s/Module.symvers", ref);
	if (stat(ref, &st) != 0 || !S_ISDIR(st.st_mode) || access(path, F_OK) == 0)
		return push_ref(refs, n, ref, arg, false);
	if (!(dir = opendir(ref))) {
		fprintf(stderr, "kabi-deps: %s: %s\n", ref, strerror(errno));
		return -EINVAL;
	}
	while (r == 0 && (de = readdir(dir))) {
		char **v;

		if (!has_suffix(de->d_name, ".rpm") || has_suffix(de->d_name, ".src.rpm"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", ref, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (!(v = realloc(names, (n_names + 1) * sizeof(*v))) || !(v[n_names] = strdup(path))) {
			names = v ? v : names;
			r = -ENOMEM;
			break;
		}
		names = v;
		n_names++;
	}
	closedir(dir);
	if (r == 0 && !n_names) {
		fprintf(stderr,
			"kabi-deps: %s: a directory with neither Module.symvers (kernel headers) "
			"nor RPMs (a repository)\n",
			ref);
		r = -EINVAL;
	}
	if (r == 0)
		qsort(names, n_names, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n_names; i++) {
		if (r == 0)
			r = push_ref(refs, n, names[i], arg, true);
		free(names[i]);
	}
	free(names);
	if (r == -ENOMEM)
		fputs("kabi-deps: out of memory\n", stderr);
	return r;
}

static void check_usage(FILE *out)
{
	fputs("usage: kabi-deps check [--json] [--details] [--option NAME=VALUE] KMOD...\n"
	      "                       --kernel REF...\n"
	      "Says which kernels each kmod fits, by rpm's own comparison of its kernel ABI\n"
	      "Requires with what each kernel provides.\n"
	      "  KMOD: a kmod RPM (a row each), or .ko files (together one package, one row)\n"
	      "  REF:  a kernel (a column each): Module.symvers, symvers.gz/.xz/.zst,\n"
	      "        symsets-R.tar.gz, a kernel RPM, a kernel headers directory, an\n"
	      "        installed kernel release, or a repository directory of RPMs (each\n"
	      "        kernel package in it; RPMs that provide no kernel ABI are skipped)\n"
	      "  --json             the verdicts as JSON (every pair, every unmet dependency)\n"
	      "  --details          every unmet dependency of every pair instead of the matrix\n"
	      "                     (what one kmod and one kernel show by themselves)\n"
	      "  --option NAME=VALUE  naming of the .ko files' dependencies, as for requires\n"
	      "                     (e.g. flavor=default for SUSE's ksym(FLAVOR:SYM))\n"
	      "  --help             this text\n"
	      "Exit status: 0 every kmod fits every kernel, 1 some does not, 2 bad input.\n",
	      out);
}

int kabi_deps_check(int argc, char **argv)
{
	struct kabi_ctx *ctx = kabi_ctx_new();
	char **kmod_paths = calloc((size_t)argc, sizeof(char *)),
	     **kernel_args = calloc((size_t)argc, sizeof(char *));
	char **module_paths = calloc((size_t)argc, sizeof(char *));
	struct dep_list *kmods = calloc((size_t)argc + 1, sizeof(*kmods));
	size_t *kernels_of_arg = calloc((size_t)argc + 1, sizeof(size_t));
	struct kernel_ref *refs = NULL;
	char **labels = NULL; /* of the kernels checked */
	struct cell *cells = NULL;
	size_t n_kmods = 0, n_kernel_args = 0, n_refs = 0, n_modules = 0, n_lists = 0, n_kernels = 0;
	bool json = false, details = false, in_kernels = false, all_fit = true, first = true;
	int status = EXIT_BAD_INPUT;

	if (!ctx || !kmod_paths || !kernel_args || !module_paths || !kmods || !kernels_of_arg) {
		fputs("kabi-deps: out of memory\n", stderr);
		goto out;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			check_usage(stdout);
			status = EXIT_FITS;
			goto out;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--details") == 0) {
			details = true;
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
			check_usage(stderr);
			goto out;
		} else if (in_kernels) {
			kernel_args[n_kernel_args++] = argv[i];
		} else {
			kmod_paths[n_kmods++] = argv[i];
		}
	}
	if (!n_kmods || !n_kernel_args) {
		check_usage(stderr);
		goto out;
	}
	for (size_t a = 0; a < n_kernel_args; a++)
		if (expand_kernel(kernel_args[a], a, &refs, &n_refs) < 0)
			goto out;
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
	labels = calloc(n_refs + 1, sizeof(*labels));
	cells = calloc((n_refs + 1) * n_lists, sizeof(*cells));
	if (!labels || !cells) {
		fputs("kabi-deps: out of memory\n", stderr);
		goto out;
	}

	if (json)
		fputs("{\"results\": [", stdout);
	/* one pass per kernel: read and index it once, check every kmod */
	for (size_t k = 0; k < n_refs; k++) {
		struct dep_list kernel = { 0 };

		if (read_kernel(ctx, refs[k].path, &kernel) < 0) {
			dep_list_free(&kernel);
			if (json)
				fputs("]}\n", stdout);
			goto out;
		}
		if (refs[k].from_repository && !kernel.n) {
			dep_list_free(&kernel); /* not a kernel package */
			continue;
		}
		kernels_of_arg[refs[k].arg]++;
		for (size_t i = 0; i < n_lists; i++) {
			bool *met = calloc(kmods[i].n + 1, sizeof(*met));
			size_t unmet = check_pair(&kmods[i], &kernel, met);

			if (json)
				json_pair(&kmods[i], &kernel, met, unmet, first);
			else if (details || (n_lists == 1 && n_refs == 1))
				print_details(&kmods[i], &kernel, met, unmet);
			else
				verdict_cell(&kmods[i], &kernel, met, unmet, &cells[n_kernels * n_lists + i]);
			all_fit &= unmet == 0;
			first = false;
			free(met);
		}
		labels[n_kernels++] = kernel.label;
		kernel.label = NULL;
		dep_list_free(&kernel);
	}
	for (size_t a = 0; a < n_kernel_args; a++) {
		if (!kernels_of_arg[a]) {
			fprintf(stderr,
				"kabi-deps: %s: none of its RPMs is a kernel package "
				"(provides kernel() or ksym())\n",
				kernel_args[a]);
			if (json)
				fputs("]}\n", stdout);
			goto out;
		}
	}
	if (json) {
		fputs("\n], \"kmods\": [", stdout);
		for (size_t i = 0; i < n_lists; i++) {
			fputs(i ? ", " : "", stdout);
			json_string(stdout, kmods[i].label);
		}
		fputs("], \"kernels\": [", stdout);
		for (size_t k = 0; k < n_kernels; k++) {
			fputs(k ? ", " : "", stdout);
			json_string(stdout, labels[k]);
		}
		printf("], \"fits\": %s}\n", all_fit ? "true" : "false");
	} else if (!details && !(n_lists == 1 && n_refs == 1)) {
		print_matrix(kmods, n_lists, labels, n_kernels, cells);
	}
	status = all_fit ? EXIT_FITS : EXIT_DOES_NOT_FIT;
out:
	for (size_t i = 0; kmods && i < n_lists; i++)
		dep_list_free(&kmods[i]);
	for (size_t k = 0; labels && k < n_kernels; k++)
		free(labels[k]);
	for (size_t k = 0; k < n_refs; k++)
		free(refs[k].path);
	free(refs);
	free(labels);
	free(cells);
	free(kmods);
	free(kmod_paths);
	free(kernel_args);
	free(kernels_of_arg);
	free(module_paths);
	kabi_ctx_free(ctx);
	if (fflush(stdout) != 0)
		status = EXIT_BAD_INPUT;
	return status;
}
