/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kabi-deps weak-modules: link out-of-tree modules built for one kernel
 * into /lib/modules/B/weak-updates/ of every other installed kernel B they
 * fit, with the option names of RHEL's /usr/sbin/weak-modules.
 *
 * Each run decides the whole set of weak links from what is installed and
 * then makes weak-updates/ agree with it: links that fit are made, links
 * that no longer do are removed, nothing else there is touched.  Every
 * module is read once, every kernel's reference (symvers) at most once, and
 * each import is one hash lookup; no depmod runs to decide anything.
 *
 * A module M of release A fits kernel B when B's reference has CRCs at all,
 * M's vermagic flags (after the release) equal those of B's in-tree modules,
 * its .gnu.linkonce.this_module section (struct module) has their size, B
 * ships no module of that name itself, and every import has the same CRC in
 * B's reference or in a module loadable into B: B's own out-of-tree modules
 * or the other modules linked into B.  The last is a fixed point: every name
 * starts at its newest statically fitting build, and a build whose imports
 * are not met gives way to the next older one until every linked build's
 * imports are met.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* rpmvercmp(): rpmlib.h has it on every rpm (4.14 declares it there, later
 * ones include rpmver.h) */
#include <rpm/rpmlib.h>

#include "compressed.h"
#include "kabideps.h"
#include "kabi-deps.h"
#include "modname.h"

#define EXIT_BAD_INPUT 1
#define EXIT_USAGE 2

extern char **environ;

/* An out-of-tree module: a file below extra/ or updates/ of a release dir. */
struct kmod {
	char *host; /* where it is on this machine (root prefixed) */
	char *image; /* where it is inside the image (physical path) */
	struct kernel *kernel; /* the release directory it lies in */
	bool updates; /* updates/ (else extra/) */
	char *subpath; /* below extra/ or updates/: its place in weak-updates/ */
	char *name; /* module name, - as _ */
	struct kabi_module *mod; /* NULL: could not be read */
	char *flags; /* vermagic after the release, spaces normalised */
	bool has_size;
	uint64_t size; /* .gnu.linkonce.this_module */
	bool named; /* given on the command line or stdin */
};

/* A symlink found in weak-updates/ that points at an out-of-tree module. */
struct link {
	char *subpath; /* below weak-updates/ */
	char *release; /* what it points at: release, extra|updates, subpath */
	bool updates;
	char *target_subpath;
	bool host_path; /* the root's host path is in it (dangles in the image) */
	bool keep; /* wanted as it is */
};

struct kernel {
	char *release;
	char *host; /* its module directory on this machine */
	char *image; /* the same inside the image (physical) */
	bool installed; /* modules.order or a reference */
	bool removing; /* --remove-kernel */
	bool has_order;
	/* reference, read on first need */
	bool ref_tried;
	char *ref_path; /* NULL: none found */
	struct kabi_symvers *sv;
	bool has_crcs;
	/* an in-tree module: vermagic flags and struct module size */
	bool intree_tried;
	char *intree_path;
	char *flags;
	bool has_size;
	uint64_t size;
	/* weak-updates/ as found */
	struct link *links;
	size_t n_links;
	struct kabi_strv occupied; /* subpaths that are not ours (files, foreign links) */
	struct kabi_strv own_names; /* names of modules weak-updates/ holds that are not ours */
	bool changed; /* links made or removed: depmod */
	bool depmod_also; /* --depmod-kernel */
};

struct wm {
	struct kabi_ctx *ctx;
	char *root; /* "" for /, else the canonical host path */
	bool dry_run, verbose, print_changed;
	struct kernel *kernels;
	size_t n_kernels;
	struct kmod *kmods;
	size_t n_kmods;
	bool any_named; /* report only the named modules */
	int status;
};

/* ---- small helpers ------------------------------------------------------ */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fputs("kabi-deps weak-modules: out of memory\n", stderr);
		exit(EXIT_USAGE);
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("kabi-deps weak-modules: out of memory\n", stderr);
		exit(EXIT_USAGE);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		fputs("kabi-deps weak-modules: out of memory\n", stderr);
		exit(EXIT_USAGE);
	}
	return d;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		fputs("kabi-deps weak-modules: out of memory\n", stderr);
		exit(EXIT_USAGE);
	}
	return s;
}

/* A copy of s at the end of sv (freed with kabi_strv_free). */
static void strv_add(struct kabi_strv *sv, const char *s)
{
	if (sv->n == sv->cap) {
		sv->cap = sv->cap ? 2 * sv->cap : 16;
		sv->v = xrealloc(sv->v, sv->cap * sizeof(*sv->v));
	}
	sv->v[sv->n++] = xstrdup(s);
}

static bool strv_has(const struct kabi_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

static void warn(struct wm *wm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct wm *wm, const char *fmt, ...)
{
	va_list ap;

	fputs("kabi-deps weak-modules: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	wm->status = EXIT_BAD_INPUT;
}

/* A module's file: NAME.ko, plain or compressed. */
static const char *const compressions[] = { "", KABI_COMPRESSED_SUFFIXES };

/* The module name of a file name (x-y.ko.xz -> x_y), or NULL. */
static char *module_name(const char *file)
{
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	size_t len = strlen(base);

	for (size_t i = 0; i < sizeof(compressions) / sizeof(*compressions); i++) {
		size_t sl = strlen(compressions[i]) + 3;

		if (len > sl && strcmp(base + len - sl + 3, compressions[i]) == 0 &&
		    strncmp(base + len - sl, ".ko", 3) == 0) {
			char *name = xstrdup(base);

			name[len - sl] = '\0';
			return kabi_modname_normalize(name);
		}
	}
	return NULL;
}

/* Lexically normalised absolute path: no //, ., or .. components. */
static char *normalize(const char *path)
{
	char *out = xmalloc(strlen(path) + 2);
	size_t n = 0;

	for (const char *p = path; *p;) {
		const char *end;
		size_t len;

		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		len = (size_t)(end - p);
		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
		} else {
			out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p = end;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	return out;
}

/* The link text that leads from directory from_dir to target (both
 * normalised absolute image paths): relative, so that it holds inside the
 * image and below the root alike. */
static char *relative_link(const char *from_dir, const char *target)
{
	size_t f = 0, t = 0, ups = 0, len;
	char *out, *p;

	/* skip the components both share (the target's last is its file) */
	while (from_dir[f] == '/' && from_dir[f + 1]) {
		size_t fl = strcspn(from_dir + f + 1, "/"), tl = strcspn(target + t + 1, "/");

		if (fl != tl || strncmp(from_dir + f + 1, target + t + 1, fl) || !target[t + 1 + tl])
			break;
		f += 1 + fl;
		t += 1 + tl;
	}
	for (const char *s = from_dir + f; from_dir[1] && *s; s++)
		if (*s == '/')
			ups++;
	len = ups * 3 + strlen(target + t) + 1;
	out = p = xmalloc(len);
	for (size_t i = 0; i < ups; i++, p += 3)
		memcpy(p, "../", 3);
	strcpy(p, target + t + 1);
	return out;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Entries of a directory, sorted bytewise; none, and *err set, when it
 * cannot be opened. */
static struct kabi_strv list_dir(const char *dir, int *err)
{
	struct kabi_strv names = { 0 };
	DIR *d = opendir(dir);
	struct dirent *e;

	*err = d ? 0 : errno;
	if (!d)
		return names;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			strv_add(&names, e->d_name);
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), cmp_str);
	return names;
}

/* Kernel releases in rpm's order (rpmvercmp), newest last. */
static int cmp_release(const char *a, const char *b)
{
	int r = rpmvercmp(a, b);

	return r ? r : strcmp(a, b);
}

static int cmp_kernel(const void *a, const void *b)
{
	return cmp_release(((const struct kernel *)a)->release, ((const struct kernel *)b)->release);
}

/* ---- the image ---------------------------------------------------------- */

static char *host_path(const struct wm *wm, const char *image)
{
	return xasprintf("%s%s", wm->root, image);
}

/* The image path of a host path below the root (physical), or NULL. */
static char *image_of(const struct wm *wm, const char *host)
{
	char *real = realpath(host, NULL), *image = NULL;
	size_t rl = strlen(wm->root);

	if (!real)
		return NULL;
	if (rl == 0)
		image = xstrdup(real);
	else if (strncmp(real, wm->root, rl) == 0 && (real[rl] == '/' || real[rl] == '\0'))
		image = xstrdup(real[rl] ? real + rl : "/");
	free(real);
	return image;
}

static struct kernel *find_kernel(struct wm *wm, const char *release)
{
	for (size_t i = 0; i < wm->n_kernels; i++)
		if (strcmp(wm->kernels[i].release, release) == 0)
			return &wm->kernels[i];
	return NULL;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Every release directory of /lib/modules and /usr/lib/modules. */
static void find_kernels(struct wm *wm)
{
	static const char *const bases[] = { "/lib/modules", "/usr/lib/modules" };

	for (size_t b = 0; b < 2; b++) {
		char *base = host_path(wm, bases[b]);
		int err;
		struct kabi_strv names = list_dir(base, &err);

		for (size_t i = 0; i < names.n; i++) {
			char *host = xasprintf("%s/%s", base, names.v[i]);
			struct stat st;
			char *image;
			struct kernel *k;

			if (stat(host, &st) < 0 || !S_ISDIR(st.st_mode) || find_kernel(wm, names.v[i]) ||
			    !(image = image_of(wm, host))) {
				free(host);
				continue;
			}
			wm->kernels = xrealloc(wm->kernels, (wm->n_kernels + 1) * sizeof(*wm->kernels));
			k = &wm->kernels[wm->n_kernels++];
			*k = (struct kernel){ .release = xstrdup(names.v[i]), .image = image };
			k->host = host_path(wm, image);
			free(host);
		}
		kabi_strv_free(&names);
		free(base);
	}
	if (wm->n_kernels)
		qsort(wm->kernels, wm->n_kernels, sizeof(*wm->kernels), cmp_kernel);
	for (size_t i = 0; i < wm->n_kernels; i++) {
		struct kernel *k = &wm->kernels[i];
		char *order = xasprintf("%s/modules.order", k->host);

		k->has_order = exists(order);
		free(order);
	}
}

/* B's reference, searched inside the image only; NULL when there is none. */
static char *find_reference(struct wm *wm, struct kernel *k)
{
	static const char *const comp[] = { KABI_COMPRESSED_SUFFIXES, "" };
	char *p, *build, link[PATH_MAX];
	ssize_t len;

	for (size_t i = 0; i < sizeof(comp) / sizeof(*comp); i++) {
		p = xasprintf("%s/boot/symvers-%s%s", wm->root, k->release, comp[i]);
		if (exists(p))
			return p;
		free(p);
	}
	for (size_t i = 0; i < 3; i++) {
		p = xasprintf("%s/symvers%s", k->host, comp[i]);
		if (exists(p))
			return p;
		free(p);
	}
	/* build/ is a symlink to the headers, absolute inside the image */
	build = xasprintf("%s/build", k->host);
	len = readlink(build, link, sizeof(link) - 1);
	if (len > 0 && link[0] == '/') {
		link[len] = '\0';
		p = xasprintf("%s%s/Module.symvers", wm->root, link);
	} else {
		p = xasprintf("%s/Module.symvers", build);
	}
	free(build);
	if (exists(p))
		return p;
	free(p);
	return NULL;
}

/* Reads B's reference once; false when there is none or it is unreadable. */
static bool load_reference(struct wm *wm, struct kernel *k)
{
	if (k->ref_tried)
		return k->sv != NULL;
	k->ref_tried = true;
	k->ref_path = find_reference(wm, k);
	if (!k->ref_path)
		return false;
	if (kabi_symvers_open(wm->ctx, k->ref_path, &k->sv) < 0) {
		warn(wm, "%s: %s: no weak links decided for %s", k->ref_path, kabi_ctx_error(wm->ctx),
		     k->release);
		k->sv = NULL;
		return false;
	}
	size_t n;
	const struct kabi_symvers_entry *e = kabi_symvers_entries(k->sv, &n);

	for (size_t i = 0; i < n && !k->has_crcs; i++)
		k->has_crcs = e[i].crc != 0;
	return true;
}

/* "REL SMP preempt mod_unload " -> "SMP preempt mod_unload" */
static char *vermagic_flags(const char *vermagic)
{
	char *out, *o;
	const char *p;

	if (!vermagic)
		return NULL;
	p = vermagic + strcspn(vermagic, " \t");
	out = o = xmalloc(strlen(p) + 1);
	for (;;) {
		size_t len;

		p += strspn(p, " \t");
		if (!*p)
			break;
		len = strcspn(p, " \t");
		if (o != out)
			*o++ = ' ';
		memcpy(o, p, len);
		o += len;
		p += len;
	}
	*o = '\0';
	return out;
}

static bool try_intree(struct wm *wm, struct kernel *k, const char *path)
{
	struct kabi_module *mod;

	if (kabi_module_open(wm->ctx, path, &mod) < 0)
		return false;
	k->has_size = kabi_module_this_module_size(mod, &k->size) == 0;
	k->flags = vermagic_flags(kabi_module_modinfo_get(mod, "vermagic"));
	k->intree_path = xstrdup(path);
	kabi_module_free(mod);
	return true;
}

/* The first in-tree module below dir (sorted walk) that can be read. */
static bool walk_intree(struct wm *wm, struct kernel *k, const char *dir, int depth)
{
	int err;
	struct kabi_strv names = list_dir(dir, &err);
	bool found = false;

	for (size_t i = 0; i < names.n && !found && depth < 16; i++) {
		char *p = xasprintf("%s/%s", dir, names.v[i]), *name;
		struct stat st;

		if (lstat(p, &st) < 0)
			st.st_mode = 0;
		if (S_ISDIR(st.st_mode))
			found = walk_intree(wm, k, p, depth + 1);
		else if (S_ISREG(st.st_mode) && (name = module_name(p))) {
			free(name);
			found = try_intree(wm, k, p);
		}
		free(p);
	}
	kabi_strv_free(&names);
	return found;
}

/* Vermagic flags and struct module size of B, from one in-tree module:
 * the first modules.order names that can be read, else the first below
 * kernel/. */
static bool load_intree(struct wm *wm, struct kernel *k)
{
	char *order, *kdir, line[PATH_MAX];
	FILE *f;

	if (k->intree_tried)
		return k->intree_path != NULL;
	k->intree_tried = true;
	order = xasprintf("%s/modules.order", k->host);
	f = fopen(order, "re");
	free(order);
	for (int tries = 0; f && tries < 8 && fgets(line, sizeof(line), f);) {
		line[strcspn(line, "\n")] = '\0';
		if (!*line || strstr(line, "..") || line[0] == '/')
			continue;
		for (size_t i = 0; i < sizeof(compressions) / sizeof(*compressions) && !k->intree_path; i++) {
			/* modules.order names .ko; the file may be compressed */
			char *p = xasprintf("%s/%s%s", k->host, line, compressions[i]);

			if (exists(p)) {
				tries++;
				try_intree(wm, k, p);
			}
			free(p);
		}
		if (k->intree_path)
			break;
	}
	if (f)
		fclose(f);
	if (!k->intree_path) {
		kdir = xasprintf("%s/kernel", k->host);
		walk_intree(wm, k, kdir, 0);
		free(kdir);
	}
	return k->intree_path != NULL;
}

/* ---- out-of-tree modules ------------------------------------------------- */

static void add_kmod(struct wm *wm, struct kernel *k, bool updates, const char *host, const char *subpath,
		     char *name)
{
	struct kmod *m;

	wm->kmods = xrealloc(wm->kmods, (wm->n_kmods + 1) * sizeof(*wm->kmods));
	m = &wm->kmods[wm->n_kmods++];
	*m = (struct kmod){ .host = xstrdup(host),
			    .kernel = k,
			    .updates = updates,
			    .subpath = xstrdup(subpath),
			    .name = name };
	m->image = xasprintf("%s/%s/%s", k->image, updates ? "updates" : "extra", subpath);
}

/* What a walk of a tree below a kernel's modules directory visits: an entry
 * that is not a directory (or one 32 levels down), with its host path, its
 * path below the walk's start, and its lstat (st_mode 0: gone meanwhile). */
typedef void visit_fn(struct wm *wm, void *data, const char *path, const char *sub, const struct stat *st);

static void walk_tree(struct wm *wm, const char *dir, const char *sub, int depth, visit_fn *visit, void *data)
{
	int err;
	struct kabi_strv names = list_dir(dir, &err);

	if (err && err != ENOENT)
		warn(wm, "%s: %s", dir, strerror(err));
	for (size_t i = 0; i < names.n; i++) {
		char *p = xasprintf("%s/%s", dir, names.v[i]);
		char *s = *sub ? xasprintf("%s/%s", sub, names.v[i]) : xstrdup(names.v[i]);
		struct stat st;

		if (lstat(p, &st) < 0)
			st.st_mode = 0;
		if (S_ISDIR(st.st_mode) && depth < 32)
			walk_tree(wm, p, s, depth + 1, visit, data);
		else
			visit(wm, data, p, s, &st);
		free(p);
		free(s);
	}
	kabi_strv_free(&names);
}

/* The modules below extra/ or updates/ of a kernel. */
struct kmod_walk {
	struct kernel *k;
	bool updates;
};

static void visit_kmod(struct wm *wm, void *data, const char *path, const char *sub, const struct stat *st)
{
	const struct kmod_walk *w = data;
	char *name;

	if (S_ISREG(st->st_mode) && (name = module_name(path)))
		add_kmod(wm, w->k, w->updates, path, sub, name);
}

static void read_kmod(struct wm *wm, struct kmod *m)
{
	if (kabi_module_open(wm->ctx, m->host, &m->mod) < 0) {
		warn(wm, "%s: %s: not linked anywhere", m->host, kabi_ctx_error(wm->ctx));
		m->mod = NULL;
		return;
	}
	m->flags = vermagic_flags(kabi_module_modinfo_get(m->mod, "vermagic"));
	m->has_size = kabi_module_this_module_size(m->mod, &m->size) == 0;
}

/* ---- what weak-updates/ holds -------------------------------------------- */

/* (release, extra|updates, subpath) of an image path below a modules dir. */
static bool parse_module_path(const struct wm *wm, const char *image, char **release, bool *updates,
			      char **subpath)
{
	static const char *const bases[] = { "/lib/modules/", "/usr/lib/modules/" };
	const char *rest = NULL, *slash;

	for (size_t b = 0; b < 2 && !rest; b++)
		if (strncmp(image, bases[b], strlen(bases[b])) == 0)
			rest = image + strlen(bases[b]);
	/* kernels found through symlinked directories have other physical paths */
	for (size_t i = 0; i < wm->n_kernels && !rest; i++) {
		const char *dir = wm->kernels[i].image, *rel = wm->kernels[i].release;
		size_t dl = strlen(dir), rl = strlen(rel);

		/* only where the directory has the release's name */
		if (dl > rl && dir[dl - rl - 1] == '/' && strcmp(dir + dl - rl, rel) == 0 &&
		    strncmp(image, dir, dl - rl) == 0)
			rest = image + dl - rl;
	}
	if (!rest || !(slash = strchr(rest, '/')) || slash == rest)
		return false;
	if (strncmp(slash, "/extra/", 7) == 0)
		*updates = false;
	else if (strncmp(slash, "/updates/", 9) == 0)
		*updates = true;
	else
		return false;
	*subpath = xstrdup(slash + (*updates ? 9 : 7));
	if (!**subpath) {
		free(*subpath);
		return false;
	}
	*release = strndup(rest, (size_t)(slash - rest));
	return *release != NULL;
}

/* An entry of a kernel's weak-updates/: a weak link of ours, or what
 * occupies its place. */
static void visit_weak_update(struct wm *wm, void *data, const char *p, const char *s, const struct stat *st)
{
	struct kernel *k = data;
	char target[PATH_MAX], *image = NULL, *name;
	ssize_t len;
	struct link l = { 0 };
	size_t rl = strlen(wm->root);

	if (!st->st_mode)
		return; /* gone meanwhile */
	name = module_name(s);
	if (!S_ISLNK(st->st_mode)) {
		strv_add(&k->occupied, s);
		if (name)
			strv_add(&k->own_names, name);
	} else if ((len = readlink(p, target, sizeof(target) - 1)) <= 0) {
		warn(wm, "%s: cannot read the link: %s", p, strerror(errno));
		strv_add(&k->occupied, s);
	} else {
		char *from;

		target[len] = '\0';
		if (target[0] == '/' && rl && strncmp(target, wm->root, rl) == 0 && target[rl] == '/') {
			/* made with the host path of the root: dangles in the image */
			l.host_path = true;
			image = normalize(target + rl);
		} else if (target[0] == '/') {
			image = normalize(target);
		} else {
			from = xasprintf("%s/weak-updates/%s/../%s", k->image, s, target);
			image = normalize(from);
			free(from);
		}
		/* ours: a module's name, pointing at a module's place */
		if (name && parse_module_path(wm, image, &l.release, &l.updates, &l.target_subpath)) {
			l.subpath = xstrdup(s);
			k->links = xrealloc(k->links, (k->n_links + 1) * sizeof(*k->links));
			k->links[k->n_links++] = l;
		} else {
			char *host = host_path(wm, image);

			warn(wm, "%s -> %s%s: %s: not a weak link of ours, left alone", p, target,
			     exists(host) ? "" : ", which does not exist",
			     name ? "points outside /lib/modules/*/{extra,updates}" :
				    "not named as a module");
			strv_add(&k->occupied, s);
			if (name)
				strv_add(&k->own_names, name);
			free(host);
		}
	}
	free(image);
	free(name);
}

/* ---- deciding ------------------------------------------------------------ */

/* What a module offers to a kernel: the exports of the modules loadable
 * into it, sorted by name. */
struct offer {
	const char *name;
	uint32_t crc;
	const struct kmod *from;
};

static int cmp_offer(const void *a, const void *b)
{
	return strcmp(((const struct offer *)a)->name, ((const struct offer *)b)->name);
}

static void add_offers(struct offer **v, size_t *n, const struct kmod *m)
{
	size_t ne;
	const struct kabi_sym *e = kabi_module_exports(m->mod, &ne);

	*v = xrealloc(*v, (*n + ne) * sizeof(**v));
	for (size_t i = 0; i < ne; i++)
		if (e[i].flags & KABI_SYM_CRC)
			(*v)[(*n)++] = (struct offer){ e[i].name, e[i].crc, m };
}

static const struct offer *find_offer(const struct offer *v, size_t n, const char *name, uint32_t crc,
				      const struct offer **other)
{
	size_t lo = 0, hi = n;

	*other = NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && strcmp(v[lo].name, name) == 0; lo++) {
		if (v[lo].crc == crc)
			return &v[lo];
		*other = &v[lo];
	}
	return NULL;
}

/* One candidate of kernel B: a module of another release, and the verdict. */
struct cand {
	struct kmod *m;
	char *why; /* NULL while it may fit */
	bool linked;
};

/* Checks that do not depend on the other modules; the reason, or NULL. */
static char *static_misfit(struct wm *wm, struct kernel *k, const struct kmod *m)
{
	if (!m->mod)
		return xstrdup("the module cannot be read");
	if (strv_has(&k->own_names, m->name))
		return xasprintf("%s/weak-updates/ holds a module %s that is not a weak link", k->image,
				 m->name);
	for (size_t i = 0; i < wm->n_kmods; i++)
		if (wm->kmods[i].kernel == k && strcmp(wm->kmods[i].name, m->name) == 0)
			return xasprintf("%s ships its own %s: %s", k->release, m->name, wm->kmods[i].image);
	if (!k->sv && k->ref_path)
		return xasprintf("%s's reference %s cannot be read", k->release, k->ref_path);
	if (!k->sv)
		return xasprintf("%s has no reference (symvers) to compare CRCs with", k->release);
	if (!k->has_crcs)
		return xasprintf(
			"%s's reference %s has no CRCs (no modversions): nothing may be linked into it",
			k->release, k->ref_path);
	if (!k->intree_path)
		return xasprintf("%s has no readable in-tree module to compare vermagic and struct module "
				 "size with",
				 k->release);
	if (!m->flags || !k->flags || strcmp(m->flags, k->flags))
		return xasprintf("vermagic flags differ: the module has '%s', %s has '%s' (%s)",
				 m->flags ? m->flags : "(no vermagic)", k->release,
				 k->flags ? k->flags : "(no vermagic)", k->intree_path);
	if (!m->has_size || !k->has_size || m->size != k->size) {
		char ms[32] = "none", ks[32] = "none";

		if (m->has_size)
			snprintf(ms, sizeof(ms), "%llu bytes", (unsigned long long)m->size);
		if (k->has_size)
			snprintf(ks, sizeof(ks), "%llu bytes", (unsigned long long)k->size);
		return xasprintf(
			".gnu.linkonce.this_module (struct module) sizes differ: the module's is %s, "
			"%s's is %s (%s)",
			ms, k->release, ks, k->intree_path);
	}
	return NULL;
}

/* Are all imports of m met in kernel k with offers?  The reason if not. */
static char *imports_misfit(const struct kernel *k, const struct kmod *m, const struct offer *offers,
			    size_t n)
{
	size_t ni;
	const struct kabi_sym *im = kabi_module_imports(m->mod, &ni);

	for (size_t i = 0; i < ni; i++) {
		const struct kabi_symvers_entry *e;
		const struct offer *other;

		if (!(im[i].flags & KABI_SYM_CRC))
			return xasprintf("import %s has no CRC (built without modversions)", im[i].name);
		e = kabi_symvers_find(k->sv, im[i].name);
		if (e && e->crc == im[i].crc)
			continue;
		if (find_offer(offers, n, im[i].name, im[i].crc, &other))
			continue;
		if (e)
			return xasprintf("CRC of %s differs: the module needs 0x%08x, %s has 0x%08x (%s)",
					 im[i].name, im[i].crc, k->release, e->crc, k->ref_path);
		if (other)
			return xasprintf("CRC of %s differs: the module needs 0x%08x, %s exports 0x%08x",
					 im[i].name, im[i].crc, other->from->image, other->crc);
		return xasprintf(
			"%s (0x%08x) is exported neither by %s (%s) nor by a module loadable into it",
			im[i].name, im[i].crc, k->release, k->ref_path);
	}
	return NULL;
}

/* Newest release first, updates/ before extra/, then by path. */
static int cmp_cand(const void *a, const void *b)
{
	const struct kmod *x = ((const struct cand *)a)->m, *y = ((const struct cand *)b)->m;
	int r = strcmp(x->name, y->name);

	if (!r)
		r = -cmp_release(x->kernel->release, y->kernel->release);
	if (!r)
		r = (int)y->updates - (int)x->updates;
	return r ? r : strcmp(x->image, y->image);
}

/* The modules to link into k: cands[] with linked set, reasons for the rest. */
static struct cand *decide(struct wm *wm, struct kernel *k, size_t *n_out)
{
	struct cand *c = xmalloc(wm->n_kmods * sizeof(*c));
	size_t n = 0;
	bool again = true;

	for (size_t i = 0; i < wm->n_kmods; i++)
		if (wm->kmods[i].kernel != k)
			c[n++] = (struct cand){ .m = &wm->kmods[i] };
	*n_out = n;
	if (!n)
		return c;
	if (k->removing || !k->installed) {
		for (size_t i = 0; i < n; i++)
			c[i].why = xasprintf(
				k->removing ? "%s is being removed" :
					      "%s is not an installed kernel (no modules.order, no symvers)",
				k->release);
		return c;
	}
	load_reference(wm, k);
	load_intree(wm, k);
	qsort(c, n, sizeof(*c), cmp_cand);
	for (size_t i = 0; i < n; i++)
		c[i].why = static_misfit(wm, k, c[i].m);
	/* each name starts at its newest build that may fit */
	for (size_t i = 0, first = 0; i < n; i++) {
		bool taken = false;

		if (i && strcmp(c[i - 1].m->name, c[i].m->name))
			first = i;
		for (size_t j = first; j < i; j++)
			taken |= c[j].linked;
		c[i].linked = !c[i].why && !taken;
	}
	while (again) {
		struct offer *offers = NULL;
		size_t n_offers = 0;

		again = false;
		for (size_t i = 0; i < wm->n_kmods; i++)
			if (wm->kmods[i].kernel == k && wm->kmods[i].mod)
				add_offers(&offers, &n_offers, &wm->kmods[i]);
		for (size_t i = 0; i < n; i++)
			if (c[i].linked)
				add_offers(&offers, &n_offers, c[i].m);
		if (n_offers)
			qsort(offers, n_offers, sizeof(*offers), cmp_offer);
		for (size_t i = 0; i < n && !again; i++) {
			if (!c[i].linked || !(c[i].why = imports_misfit(k, c[i].m, offers, n_offers)))
				continue;
			/* every linked build is checked again in the next round, so what
			 * stays linked fits the final offers; a rejected one stays
			 * rejected (a name's choice only moves to older builds: this ends) */
			c[i].linked = false;
			for (size_t j = i + 1; j < n && strcmp(c[j].m->name, c[i].m->name) == 0; j++)
				if (!c[j].why) {
					c[j].linked = true;
					break;
				}
			again = true;
		}
		free(offers);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n && !c[i].linked && !c[i].why; j++)
			if (c[j].linked && strcmp(c[j].m->name, c[i].m->name) == 0)
				c[i].why = xasprintf("another build wins (newer release, or updates/ over "
						     "extra/): %s",
						     c[j].m->image);
	for (size_t i = 0; i < n; i++)
		if (!c[i].linked && !c[i].why)
			c[i].why = xstrdup("an older build of a name whose newer build does not fit");
	return c;
}

/* ---- acting -------------------------------------------------------------- */

static void remove_empty_dirs(const struct kernel *k, const char *subpath)
{
	char *p = xasprintf("%s/weak-updates/%s", k->host, subpath), *slash;
	size_t base = strlen(k->host) + strlen("/weak-updates");

	while ((slash = strrchr(p, '/')) && (size_t)(slash - p) > base) {
		*slash = '\0';
		if (rmdir(p) < 0)
			break;
	}
	free(p);
}

static int mkdirs(char *path)
{
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

static void remove_link(struct wm *wm, struct kernel *k, const struct link *l, const char *why)
{
	char *p = xasprintf("%s/weak-updates/%s", k->host, l->subpath);

	if (wm->verbose)
		printf("%s %s (%s)\n", wm->dry_run ? "would remove" : "remove", p, why);
	if (!wm->dry_run) {
		if (unlink(p) < 0 && errno != ENOENT)
			warn(wm, "%s: cannot remove: %s", p, strerror(errno));
		else
			remove_empty_dirs(k, l->subpath);
	}
	k->changed = true;
	free(p);
}

/* A symlink made beside its place and renamed over it: never half there. */
static void make_link(struct wm *wm, struct kernel *k, const struct kmod *m)
{
	char *p = xasprintf("%s/weak-updates/%s", k->host, m->subpath);
	char *dir = xasprintf("%s/weak-updates/%s/..", k->image, m->subpath), *ndir = normalize(dir);
	char *text = relative_link(ndir, m->image);
	char *tmp = xasprintf("%s.kabi-deps-new", p);

	if (wm->verbose)
		printf("%s %s -> %s\n", wm->dry_run ? "would link" : "link", p, text);
	if (!wm->dry_run) {
		unlink(tmp);
		if (mkdirs(p) < 0 || symlink(text, tmp) < 0 || rename(tmp, p) < 0) {
			warn(wm, "%s: cannot link to %s: %s", p, text, strerror(errno));
			unlink(tmp);
		}
	}
	k->changed = true;
	free(p);
	free(dir);
	free(ndir);
	free(text);
	free(tmp);
}

static bool link_is(const struct link *l, const struct kmod *m)
{
	return strcmp(l->release, m->kernel->release) == 0 && l->updates == m->updates &&
	       strcmp(l->target_subpath, m->subpath) == 0;
}

/* Is subpath, or a directory on the way to it, something that is not ours
 * (a file, a foreign symlink that may lead out of the tree)? */
static bool occupied(const struct kernel *k, const char *subpath)
{
	for (size_t i = 0; i < k->occupied.n; i++) {
		size_t len = strlen(k->occupied.v[i]);

		if (strncmp(subpath, k->occupied.v[i], len) == 0 &&
		    (subpath[len] == '\0' || subpath[len] == '/'))
			return true;
	}
	return false;
}

static void reconcile(struct wm *wm, struct kernel *k, struct cand *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct link *have = NULL;

		if (!c[i].linked)
			continue;
		for (size_t j = 0; j < k->n_links && !have; j++)
			if (strcmp(k->links[j].subpath, c[i].m->subpath) == 0)
				have = &k->links[j];
		if (have && link_is(have, c[i].m) && !have->host_path) {
			have->keep = true;
			/* the same link, but the module behind it came or went */
			if (c[i].m->named)
				k->changed = true;
			continue;
		}
		if (occupied(k, c[i].m->subpath)) {
			warn(wm,
			     "%s/weak-updates/%s: it, or a directory on its way, is not ours: %s not linked",
			     k->host, c[i].m->subpath, c[i].m->host);
			c[i].linked = false;
			free(c[i].why);
			c[i].why = xstrdup("its place in weak-updates/ is taken");
			continue;
		}
		if (have)
			have->keep = true; /* replaced by the rename */
		make_link(wm, k, c[i].m);
	}
	for (size_t j = 0; j < k->n_links; j++) {
		const struct link *l = &k->links[j];
		bool known = false, undecided;

		if (l->keep)
			continue;
		for (size_t i = 0; i < wm->n_kmods && !known; i++)
			known = link_is(l, &wm->kmods[i]);
		/* without a reference or in-tree module nothing can be decided:
		 * links to modules that are still there stay */
		undecided = k->installed && !k->removing && (!k->sv || !k->intree_path) && known &&
			    !l->host_path;
		if (undecided)
			continue;
		remove_link(wm, k, l,
			    !known	 ? "its module is gone" :
			    l->host_path ? "it names the root's host path" :
					   "it no longer fits");
	}
	/* a removed kernel's weak-updates/ goes with its last link */
	if ((!k->installed || k->removing) && k->changed && !wm->dry_run) {
		char *weak = xasprintf("%s/weak-updates", k->host);

		rmdir(weak);
		free(weak);
	}
}

static void report(const struct wm *wm, const struct kernel *k, const struct cand *c, size_t n)
{
	if (!k->installed)
		return;
	for (size_t i = 0; i < n; i++) {
		if (wm->any_named && !c[i].m->named)
			continue;
		if (c[i].linked)
			printf("%s: linked into %s\n", c[i].m->image, k->release);
		else
			printf("%s: not linked into %s: %s\n", c[i].m->image, k->release, c[i].why);
	}
}

static void run_depmod(struct wm *wm, const struct kernel *k)
{
	const char *depmod = getenv("KABI_DEPS_DEPMOD");
	char *argv[6];
	int argc = 0, status;
	pid_t pid;
	int r;

	if (!depmod || !*depmod)
		depmod = access("/usr/sbin/depmod", X_OK) == 0 ? "/usr/sbin/depmod" :
			 access("/sbin/depmod", X_OK) == 0     ? "/sbin/depmod" :
								 "depmod";
	argv[argc++] = (char *)depmod;
	if (*wm->root) {
		argv[argc++] = (char *)"-b";
		argv[argc++] = wm->root;
	}
	argv[argc++] = (char *)"-a";
	argv[argc++] = k->release;
	argv[argc] = NULL;
	if (wm->verbose)
		printf("%s%s %s%s%s-a %s\n", wm->dry_run ? "would run " : "", depmod, *wm->root ? "-b " : "",
		       *wm->root ? wm->root : "", *wm->root ? " " : "", k->release);
	if (wm->dry_run)
		return;
	fflush(stdout);
	r = strchr(depmod, '/') ? posix_spawn(&pid, depmod, NULL, NULL, argv, environ) :
				  posix_spawnp(&pid, depmod, NULL, NULL, argv, environ);
	if (r != 0) {
		warn(wm, "cannot run %s: %s", depmod, strerror(r));
		return;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			warn(wm, "%s: %s", depmod, strerror(errno));
			return;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		warn(wm, "%s -a %s failed", depmod, k->release);
}

/* ---- command line -------------------------------------------------------- */

static void usage(FILE *out)
{
	fputs("usage: kabi-deps weak-modules [OPTION...] --add-modules [PATH...]\n"
	      "       kabi-deps weak-modules [OPTION...] --remove-modules [PATH...]\n"
	      "       kabi-deps weak-modules [OPTION...] --add-kernel [RELEASE...]\n"
	      "       kabi-deps weak-modules [OPTION...] --remove-kernel [RELEASE...]\n"
	      "\n"
	      "Links the out-of-tree modules of each kernel release (/lib/modules/A/extra/,\n"
	      "updates/) into /lib/modules/B/weak-updates/ of every other installed kernel B\n"
	      "(it has modules.order or a symvers file) whose ABI they fit, and removes\n"
	      "the weak links that no longer fit.  A module fits B when B's reference has\n"
	      "CRCs (modversions) at all, every import has the same CRC in B's reference\n"
	      "(/boot/symvers-B.*, /lib/modules/B/symvers.*, or build/Module.symvers) or\n"
	      "in a module loadable into B (B's own extra/ and updates/ modules, the other\n"
	      "weak links), its vermagic flags after the release and the size of its\n"
	      ".gnu.linkonce.this_module section (struct module) equal those of B's\n"
	      "in-tree modules, and B ships no module of that name itself.  Among several\n"
	      "builds of one module, the one for the newest release wins.  Links are\n"
	      "relative, so they hold inside an image; nothing in weak-updates/ that is\n"
	      "not such a link is touched.  depmod -a B runs once for each installed\n"
	      "kernel whose links changed.  Every run decides all kernels from what is\n"
	      "installed: the modes say what came or went, and which modules --verbose\n"
	      "reports on.\n"
	      "\n"
	      "  --add-modules [PATH...]     modules that were installed or upgraded\n"
	      "                              (paths on stdin, one per line, when none given)\n"
	      "  --remove-modules [PATH...]  modules that were removed (stdin likewise)\n"
	      "  --add-kernel [RELEASE...]   kernels that were installed (default: uname -r)\n"
	      "  --remove-kernel [RELEASE...]  kernels being removed: all their weak links go\n"
	      "  --dry-run                   change nothing, run no depmod\n"
	      "  --verbose                   per module and kernel: linked, or why not (the\n"
	      "                              symbol and both CRCs, the struct module sizes,\n"
	      "                              the vermagic flags); each link made or removed\n"
	      "  --root DIR, --basedir DIR   an installed system below DIR (links stay valid\n"
	      "                              inside it; depmod -b DIR)\n"
	      "  --no-initramfs              accepted; initramfs images are never rebuilt\n"
	      "                              here (the platform's kernel-install or dracut\n"
	      "                              hooks do it; see --print-changed)\n"
	      "  --print-changed             print each kernel release whose links changed,\n"
	      "                              one per line (e.g. for dracut -f --kver RELEASE)\n"
	      "  --depmod-kernel RELEASE     also run depmod for this installed kernel (once,\n"
	      "                              with those whose links changed)\n"
	      "  --dracut PATH, --check-initramfs-prog PATH, --delete-modules\n"
	      "                              RHEL's options, accepted and ignored\n"
	      "Environment: KABI_DEPS_DEPMOD  the depmod to run (default /usr/sbin/depmod,\n"
	      "/sbin/depmod, else depmod from PATH).\n"
	      "Exit status: 0 done; 1 some input was bad (named on stderr; the rest was\n"
	      "done); 2 usage error.\n",
	      out);
}

enum mode {
	MODE_NONE,
	MODE_ADD_MODULES,
	MODE_REMOVE_MODULES,
	MODE_ADD_KERNEL,
	MODE_REMOVE_KERNEL
};

/* The image path of a module path as the caller gave it. */
static char *named_image(const struct wm *wm, const char *path)
{
	char *abs, *n;
	size_t rl = strlen(wm->root);

	if (path[0] == '/') {
		abs = xstrdup(path);
	} else {
		char cwd[PATH_MAX];

		abs = xasprintf("%s/%s", getcwd(cwd, sizeof(cwd)) ? cwd : "", path);
	}
	n = normalize(abs);
	free(abs);
	/* RHEL's scriptlets with --basedir pass paths with the root in front */
	if (rl && strncmp(n, wm->root, rl) == 0 && n[rl] == '/') {
		abs = xstrdup(n + rl);
		free(n);
		n = abs;
	}
	return n;
}

static void mark_named(struct wm *wm, const char *path, bool added)
{
	char *image = named_image(wm, path), *release = NULL, *subpath = NULL;
	bool updates, found = false;

	if (!parse_module_path(wm, image, &release, &updates, &subpath)) {
		warn(wm, "%s: not a module below /lib/modules/RELEASE/extra/ or updates/: ignored", path);
	} else {
		for (size_t i = 0; i < wm->n_kmods; i++) {
			struct kmod *m = &wm->kmods[i];

			if (strcmp(m->kernel->release, release) == 0 && m->updates == updates &&
			    strcmp(m->subpath, subpath) == 0)
				found = m->named = true;
		}
		if (!found && added)
			warn(wm, "%s: no such module", path);
		/* a removed one's links are stale and go as every such link does */
		wm->any_named = true;
	}
	free(image);
	free(release);
	free(subpath);
}

static void read_stdin(struct kabi_strv *lines)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, stdin)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0)
			strv_add(lines, line);
	}
	free(line);
}

static void free_all(struct wm *wm)
{
	for (size_t i = 0; i < wm->n_kmods; i++) {
		struct kmod *m = &wm->kmods[i];

		kabi_module_free(m->mod);
		free(m->host);
		free(m->image);
		free(m->subpath);
		free(m->name);
		free(m->flags);
	}
	free(wm->kmods);
	for (size_t i = 0; i < wm->n_kernels; i++) {
		struct kernel *k = &wm->kernels[i];

		for (size_t j = 0; j < k->n_links; j++) {
			free(k->links[j].subpath);
			free(k->links[j].release);
			free(k->links[j].target_subpath);
		}
		free(k->links);
		kabi_strv_free(&k->occupied);
		kabi_strv_free(&k->own_names);
		kabi_symvers_free(k->sv);
		free(k->ref_path);
		free(k->intree_path);
		free(k->flags);
		free(k->release);
		free(k->host);
		free(k->image);
	}
	free(wm->kernels);
	free(wm->root);
	kabi_ctx_free(wm->ctx);
}

int kabi_deps_weak_modules(int argc, char **argv)
{
	struct wm wm = { .status = 0 };
	enum mode mode = MODE_NONE;
	struct kabi_strv args = { 0 }, depmod_also = { 0 };
	const char *root = NULL;
	int status;

	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		enum mode m = MODE_NONE;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			kabi_strv_free(&args);
			return 0;
		} else if (strcmp(a, "--add-modules") == 0) {
			m = MODE_ADD_MODULES;
		} else if (strcmp(a, "--remove-modules") == 0) {
			m = MODE_REMOVE_MODULES;
		} else if (strcmp(a, "--add-kernel") == 0) {
			m = MODE_ADD_KERNEL;
		} else if (strcmp(a, "--remove-kernel") == 0) {
			m = MODE_REMOVE_KERNEL;
		} else if (strcmp(a, "--dry-run") == 0) {
			wm.dry_run = true;
		} else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
			wm.verbose = true;
		} else if (strcmp(a, "--print-changed") == 0) {
			wm.print_changed = true;
		} else if (strcmp(a, "--no-initramfs") == 0 || strcmp(a, "--delete-modules") == 0) {
			/* initramfs images are the platform's */
		} else if ((strcmp(a, "--root") == 0 || strcmp(a, "--basedir") == 0) && i + 1 < argc) {
			root = argv[++i];
		} else if (strncmp(a, "--root=", 7) == 0 || strncmp(a, "--basedir=", 10) == 0) {
			root = strchr(a, '=') + 1;
		} else if (strcmp(a, "--depmod-kernel") == 0 && i + 1 < argc) {
			strv_add(&depmod_also, argv[++i]);
		} else if ((strcmp(a, "--dracut") == 0 || strcmp(a, "--check-initramfs-prog") == 0) &&
			   i + 1 < argc) {
			i++;
		} else if (strcmp(a, "--") == 0) {
			for (i++; i < argc; i++)
				strv_add(&args, argv[i]);
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr,
				"kabi-deps weak-modules: unknown option %s (or its argument is missing)\n",
				a);
			usage(stderr);
			kabi_strv_free(&args);
			kabi_strv_free(&depmod_also);
			return EXIT_USAGE;
		} else {
			strv_add(&args, a);
		}
		if (m != MODE_NONE && mode != MODE_NONE && m != mode) {
			fputs("kabi-deps weak-modules: one of --add-modules, --remove-modules, --add-kernel, "
			      "--remove-kernel\n",
			      stderr);
			kabi_strv_free(&args);
			kabi_strv_free(&depmod_also);
			return EXIT_USAGE;
		}
		if (m != MODE_NONE)
			mode = m;
	}
	if (mode == MODE_NONE) {
		usage(stderr);
		kabi_strv_free(&args);
		kabi_strv_free(&depmod_also);
		return EXIT_USAGE;
	}
	if (root && *root) {
		char *real = realpath(root, NULL);

		if (!real) {
			fprintf(stderr, "kabi-deps weak-modules: --root %s: %s\n", root, strerror(errno));
			kabi_strv_free(&args);
			kabi_strv_free(&depmod_also);
			return EXIT_USAGE;
		}
		wm.root = strcmp(real, "/") ? xstrdup(real) : xstrdup("");
		free(real);
	} else {
		wm.root = xstrdup("");
	}
	if (!args.n && (mode == MODE_ADD_MODULES || mode == MODE_REMOVE_MODULES))
		read_stdin(&args);
	if (!args.n && (mode == MODE_ADD_KERNEL || mode == MODE_REMOVE_KERNEL)) {
		struct utsname u;

		if (uname(&u) == 0)
			strv_add(&args, u.release);
	}
	if (!(wm.ctx = kabi_ctx_new())) {
		fputs("kabi-deps weak-modules: out of memory\n", stderr);
		return EXIT_USAGE;
	}

	/* what is installed */
	find_kernels(&wm);
	for (size_t i = 0; i < wm.n_kernels; i++) {
		struct kernel *k = &wm.kernels[i];
		char *extra = xasprintf("%s/extra", k->host), *updates = xasprintf("%s/updates", k->host);
		char *weak = xasprintf("%s/weak-updates", k->host);

		walk_tree(&wm, updates, "", 0, visit_kmod, &(struct kmod_walk){ k, true });
		walk_tree(&wm, extra, "", 0, visit_kmod, &(struct kmod_walk){ k, false });
		walk_tree(&wm, weak, "", 0, visit_weak_update, k);
		free(extra);
		free(updates);
		free(weak);
		k->installed = k->has_order || (load_reference(&wm, k), k->ref_path != NULL);
		if (!k->installed && wm.verbose)
			printf("%s: no modules.order and no symvers: not an installed kernel, nothing is "
			       "linked into it\n",
			       k->host);
	}
	for (size_t i = 0; i < wm.n_kmods; i++)
		read_kmod(&wm, &wm.kmods[i]);

	/* what the caller says came or went */
	for (size_t i = 0; i < args.n; i++) {
		struct kernel *k;

		switch (mode) {
		case MODE_ADD_MODULES:
		case MODE_REMOVE_MODULES:
			mark_named(&wm, args.v[i], mode == MODE_ADD_MODULES);
			break;
		case MODE_ADD_KERNEL:
			k = find_kernel(&wm, args.v[i]);
			if (!k || !k->installed)
				warn(&wm,
				     "%s/lib/modules/%s: not an installed kernel (no modules.order, no "
				     "symvers): nothing linked into it",
				     wm.root, args.v[i]);
			break;
		case MODE_REMOVE_KERNEL:
			if ((k = find_kernel(&wm, args.v[i])))
				k->removing = true;
			break;
		case MODE_NONE:
			break;
		}
	}
	for (size_t i = 0; i < depmod_also.n; i++) {
		struct kernel *k = find_kernel(&wm, depmod_also.v[i]);

		if (k)
			k->depmod_also = true;
	}

	/* decide and act, kernel by kernel, oldest first */
	for (size_t i = 0; i < wm.n_kernels; i++) {
		struct kernel *k = &wm.kernels[i];
		size_t n;
		struct cand *c = decide(&wm, k, &n);

		if (n && k->installed && !k->removing) {
			if (!k->ref_path)
				warn(&wm,
				     "%s: no symvers (/boot/symvers-%s.*, %s/symvers.*, build/Module.symvers): "
				     "weak links into it cannot be decided",
				     k->host, k->release, k->host);
			else if (k->sv && k->has_crcs && !k->intree_path)
				warn(&wm,
				     "%s: no readable in-tree module: its struct module size and vermagic are "
				     "unknown, weak links into it cannot be decided",
				     k->host);
		}
		reconcile(&wm, k, c, n);
		if (wm.verbose)
			report(&wm, k, c, n);
		for (size_t j = 0; j < n; j++)
			free(c[j].why);
		free(c);
	}
	for (size_t i = 0; i < wm.n_kernels; i++) {
		struct kernel *k = &wm.kernels[i];

		if ((k->changed || k->depmod_also) && k->installed && !k->removing)
			run_depmod(&wm, k);
		if (k->changed && wm.print_changed)
			printf("%s\n", k->release);
	}
	status = wm.status;
	kabi_strv_free(&args);
	kabi_strv_free(&depmod_also);
	free_all(&wm);
	if (fflush(stdout) != 0)
		status = EXIT_USAGE;
	return status;
}
