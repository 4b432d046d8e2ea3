/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Compressed modules read ahead on worker threads: decompressing is the
 * work of reading a .ko.xz tree, and the files are independent.  Each
 * worker has a context of its own (no library state is shared) and keeps
 * only what was parsed of a module (kabi_module_detach), not its bytes, so
 * that a whole tree can wait.  Results are a cache keyed by path, taken
 * once by kabi_module_open(): never "the files of a package" (a buildroot
 * holds all subpackages' files).  A file whose state changed since it was
 * read is read again; a failure is the file's own, with its own message.
 *
 * The workers read the files after the one last taken, at most AHEAD of
 * them: the caller asks in the order given, so what it skips is another
 * package's, asked for later (and then read ahead from there); so what
 * waits is a few modules, not a whole tree's results.
 */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compressed.h"
#include "libkabideps-private.h"

#define MAX_THREADS 8
/* Modules read ahead of the last one taken, at most: enough that the
 * workers do not wait on a caller that needs little time a module. */
#define AHEAD 32
/* Modules read before the workers, out of work, trim the heap. */
#define TRIM_AFTER 64

enum entry_state {
	QUEUED, /* no worker took it yet */
	RUNNING,
	DONE,
	TAKEN /* handed out, or left to the caller */
};

struct entry {
	char *path;
	enum entry_state state;
	struct kabi_module *mod;
	char *error; /* why it could not be read (mod NULL) */
	int err;
	bool have_stat;
	struct stat st; /* the file as the worker found it before reading */
};

struct kabi_read_ahead {
	struct entry *entries;
	size_t n;
	size_t from; /* after the entry last taken: where workers look for a QUEUED one */
	size_t queued; /* entries still QUEUED */
	size_t read_since_trim; /* modules read since the last malloc_trim() */
	struct kabi_hash by_path;
	size_t max_size;
	char *tree; /* kabi_ctx_read_ahead_tree(): the root and pattern listed */
	pthread_mutex_t lock;
	pthread_cond_t done;
	pthread_cond_t moved; /* signalled when from moves, and on stop */
	bool stop;
	size_t n_threads;
	pthread_t threads[MAX_THREADS];
	struct kabi_ctx *ctxs[MAX_THREADS];
};

struct worker {
	struct kabi_read_ahead *ra;
	struct kabi_ctx *ctx;
};

static void *work(void *arg)
{
	struct kabi_read_ahead *ra = ((struct worker *)arg)->ra;
	struct kabi_ctx *ctx = ((struct worker *)arg)->ctx;

	free(arg);
	pthread_mutex_lock(&ra->lock);
	for (;;) {
		struct entry *e;
		struct kabi_module *mod = NULL;
		struct stat st = { 0 };
		bool have_stat;
		char *error = NULL;
		size_t i = ra->from, end = ra->from + AHEAD < ra->n ? ra->from + AHEAD : ra->n;
		int r;

		while (i < end && ra->entries[i].state != QUEUED)
			i++;
		if (ra->stop || !ra->queued)
			break;
		if (i == end) {
			/* the caller went on to other work (in rpmbuild: another
			 * kind or package, and a fork for each file): give back
			 * the memory the modules read left free, or each fork
			 * copies its page tables */
			if (ra->read_since_trim >= TRIM_AFTER) {
				ra->read_since_trim = 0;
				pthread_mutex_unlock(&ra->lock);
				malloc_trim(0);
				pthread_mutex_lock(&ra->lock);
				continue;
			}
			pthread_cond_wait(&ra->moved, &ra->lock);
			continue;
		}
		e = &ra->entries[i];
		e->state = RUNNING;
		ra->queued--;
		pthread_mutex_unlock(&ra->lock);
		have_stat = stat(e->path, &st) == 0;
		r = kabi_module_open(ctx, e->path, &mod);
		if (r == 0 && (r = kabi_module_detach(mod)) < 0) {
			kabi_module_free(mod);
			mod = NULL;
		}
		if (r < 0 && !(error = strdup(kabi_ctx_error(ctx))))
			have_stat = false; /* no message to give: read it again */
		pthread_mutex_lock(&ra->lock);
		e->mod = mod;
		e->error = error;
		e->err = -r;
		e->have_stat = have_stat;
		e->st = st;
		e->state = DONE;
		ra->read_since_trim++;
		pthread_cond_broadcast(&ra->done);
	}
	pthread_mutex_unlock(&ra->lock);
	return NULL;
}

void kabi_read_ahead_free(struct kabi_read_ahead *ra)
{
	if (!ra)
		return;
	pthread_mutex_lock(&ra->lock);
	ra->stop = true;
	pthread_cond_broadcast(&ra->moved);
	pthread_mutex_unlock(&ra->lock);
	for (size_t t = 0; t < ra->n_threads; t++)
		pthread_join(ra->threads[t], NULL);
	for (size_t t = 0; t < ra->n_threads; t++)
		kabi_ctx_free(ra->ctxs[t]);
	for (size_t i = 0; i < ra->n; i++) {
		kabi_module_free(ra->entries[i].mod);
		free(ra->entries[i].error);
		free(ra->entries[i].path);
	}
	kabi_hash_fini(&ra->by_path);
	pthread_cond_destroy(&ra->done);
	pthread_cond_destroy(&ra->moved);
	pthread_mutex_destroy(&ra->lock);
	free(ra->entries);
	free(ra->tree);
	free(ra);
}

static bool compressed(const char *path)
{
	static const char *const suffixes[] = { KABI_COMPRESSED_SUFFIXES };
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (strcmp(dot, suffixes[i]) == 0)
			return true;
	return false;
}

/* A thread per core (KABI_DEPS_THREADS overrides), up to MAX_THREADS. */
static size_t thread_count(void)
{
	const char *env = getenv("KABI_DEPS_THREADS");
	long n = env && *env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);

	return n < 0 ? 0 : n > MAX_THREADS ? MAX_THREADS : (size_t)n;
}

static int start_threads(struct kabi_ctx *ctx, struct kabi_read_ahead *ra)
{
	size_t want = thread_count();

	for (size_t t = 0; t < want; t++) {
		struct worker *w = malloc(sizeof(*w));
		struct kabi_ctx *wctx = kabi_ctx_new();

		if (!w || !wctx) {
			free(w);
			kabi_ctx_free(wctx);
			return kabi_fail(ctx, ENOMEM, "out of memory");
		}
		kabi_ctx_set_max_size(wctx, ra->max_size);
		*w = (struct worker){ ra, wctx };
		if (pthread_create(&ra->threads[ra->n_threads], NULL, work, w) != 0) {
			free(w);
			kabi_ctx_free(wctx);
			break; /* fewer threads, or none: the caller reads */
		}
		ra->ctxs[ra->n_threads++] = wctx;
	}
	return 0;
}

/* Read ahead the compressed modules among paths (the others are read
 * faster by the caller than threads could hand them over). */
static int read_ahead(struct kabi_ctx *ctx, const char *const *paths, size_t n, char *tree)
{
	struct kabi_read_ahead **slot = kabi_ctx_read_ahead_slot(ctx);
	struct kabi_read_ahead *ra = calloc(1, sizeof(*ra));

	kabi_read_ahead_free(*slot);
	*slot = NULL;
	if (!ra || !(ra->entries = calloc(n + 1, sizeof(*ra->entries)))) {
		free(ra);
		free(tree);
		return kabi_fail(ctx, ENOMEM, "out of memory");
	}
	ra->tree = tree;
	ra->max_size = kabi_ctx_max_size(ctx);
	pthread_mutex_init(&ra->lock, NULL);
	pthread_cond_init(&ra->done, NULL);
	pthread_cond_init(&ra->moved, NULL);
	*slot = ra;
	for (size_t i = 0; i < n; i++) {
		struct entry *e = &ra->entries[ra->n];

		if (!kabi_path_is_module(paths[i]) || !compressed(paths[i]) ||
		    kabi_hash_get(&ra->by_path, paths[i]))
			continue;
		if (!(e->path = strdup(paths[i])) || kabi_hash_put(&ra->by_path, e->path, e) < 0) {
			free(e->path);
			e->path = NULL;
			return kabi_fail(ctx, ENOMEM, "out of memory");
		}
		ra->n++;
	}
	ra->queued = ra->n;
	return ra->n > 1 ? start_threads(ctx, ra) : 0;
}

KABI_EXPORT int kabi_ctx_read_ahead(struct kabi_ctx *ctx, const char *const *paths, size_t n)
{
	return read_ahead(ctx, paths, n, NULL);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

bool kabi_read_ahead_take(struct kabi_ctx *ctx, const char *path, struct kabi_module **mod, int *r)
{
	struct kabi_read_ahead *ra = *kabi_ctx_read_ahead_slot(ctx);
	struct entry *e, got;
	struct stat now;

	if (!ra || !ra->n_threads)
		return false;
	pthread_mutex_lock(&ra->lock);
	e = kabi_hash_get(&ra->by_path, path);
	if (e) {
		/* the workers go on after it */
		ra->from = (size_t)(e - ra->entries) + 1;
		pthread_cond_broadcast(&ra->moved);
	}
	if (!e || e->state == TAKEN || e->state == QUEUED) {
		if (e && e->state == QUEUED) {
			e->state = TAKEN; /* not read yet: the caller does it now */
			ra->queued--;
		}
		pthread_mutex_unlock(&ra->lock);
		return false;
	}
	while (e->state == RUNNING)
		pthread_cond_wait(&ra->done, &ra->lock);
	got = *e;
	e->state = TAKEN;
	e->mod = NULL;
	e->error = NULL;
	pthread_mutex_unlock(&ra->lock);
	/* what was read is of the file as it is, under today's size cap */
	if (!got.have_stat || stat(path, &now) != 0 || !same_file(&got.st, &now) ||
	    ra->max_size != kabi_ctx_max_size(ctx)) {
		kabi_module_free(got.mod);
		free(got.error);
		return false;
	}
	if (got.error) {
		*mod = NULL;
		*r = kabi_fail(ctx, got.err, "%s", got.error);
		free(got.error);
		return true;
	}
	kabi_module_adopt(got.mod, ctx);
	*mod = got.mod;
	*r = 0;
	return true;
}

/* ---- the module files of a tree ---- */

struct tree_walk {
	const char *root;
	size_t root_len;
	regex_t pattern;
	char **paths;
	size_t n, cap;
};

static int walk(struct tree_walk *w, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return 0; /* not there (or not readable): nothing to read ahead */
	while (r == 0 && (de = readdir(d))) {
		char *path;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* only compressed modules are read ahead: the others cost no
		 * lstat nor regexec (which took 0.1 ms a plain module in rpmbuild) */
		if (de->d_type != DT_UNKNOWN && de->d_type != DT_DIR && !compressed(de->d_name))
			continue;
		path = malloc(strlen(dir) + strlen(de->d_name) + 2);
		if (!path) {
			r = -ENOMEM;
			break;
		}
		strcat(strcat(strcpy(path, dir), "/"), de->d_name);
		/* symbolic links are not followed (build/ and source/ point out) */
		if (lstat(path, &st) != 0) {
			free(path);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			r = walk(w, path);
			free(path);
			continue;
		}
		/* rpm matches the path without the buildroot */
		if (!S_ISREG(st.st_mode) || !compressed(path) ||
		    regexec(&w->pattern, path + w->root_len, 0, NULL, 0) != 0) {
			free(path);
			continue;
		}
		if (w->n == w->cap) {
			size_t cap = w->cap ? 2 * w->cap : 256;
			char **paths = realloc(w->paths, cap * sizeof(*paths));

			if (!paths) {
				free(path);
				r = -ENOMEM;
				break;
			}
			w->paths = paths;
			w->cap = cap;
		}
		w->paths[w->n++] = path;
	}
	closedir(d);
	return r;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

KABI_EXPORT int kabi_ctx_read_ahead_tree(struct kabi_ctx *ctx, const char *pattern)
{
	static const char *const dirs[] = { "/lib/modules", "/usr/lib/modules" };
	const char *root = kabi_ctx_buildroot(ctx);
	struct kabi_read_ahead *ra = *kabi_ctx_read_ahead_slot(ctx);
	struct tree_walk w = { .root = root ? root : "" };
	char *tree;
	int r = 0;

	if (!root)
		return 0; /* no buildroot: not the host's modules */
	w.root_len = strlen(w.root);
	tree = malloc(w.root_len + strlen(pattern) + 2);
	if (!tree)
		return kabi_fail(ctx, ENOMEM, "out of memory");
	strcat(strcat(strcpy(tree, w.root), "\n"), pattern);
	if (ra && ra->tree && strcmp(ra->tree, tree) == 0) {
		free(tree); /* listed already: its modules are read or being read */
		return 0;
	}
	if (regcomp(&w.pattern, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
		free(tree);
		return kabi_fail(ctx, EINVAL, "cannot compile the path pattern '%s'", pattern);
	}
	for (size_t i = 0; r == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char *dir = malloc(w.root_len + strlen(dirs[i]) + 1);

		if (!dir) {
			r = -ENOMEM;
			break;
		}
		r = walk(&w, strcat(strcpy(dir, w.root), dirs[i]));
		free(dir);
	}
	regfree(&w.pattern);
	/* in the order rpm asks for a package's files */
	if (r == 0)
		qsort(w.paths, w.n, sizeof(*w.paths), cmp_path);
	if (r < 0) {
		free(tree);
		r = kabi_fail(ctx, -r, "out of memory");
	} else {
		r = read_ahead(ctx, (const char *const *)w.paths, w.n, tree); /* takes tree */
	}
	for (size_t i = 0; i < w.n; i++)
		free(w.paths[i]);
	free(w.paths);
	return r;
}
