/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Modules of a batch opened ahead by worker threads and handed out in input
 * order: reading (and above all decompressing) modules is the work, and the
 * files are independent.  Each worker has a library context of its own, so
 * no library state is shared; the consumer only sees finished modules.  At
 * most WINDOW modules wait, whatever the size of the batch.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kabi-deps.h"
#include "kabideps.h"

#define MAX_THREADS 8
#define WINDOW 8

struct slot {
	struct kabi_module *mod;
	char *error; /* why it could not be opened; NULL with mod NULL: not tried */
	bool done;
};

struct prefetch {
	char **paths;
	size_t n, next, taken; /* next: the next path a worker claims */
	struct slot *slots;
	pthread_mutex_t lock;
	pthread_cond_t ready, room;
	bool stop;
	size_t n_threads;
	pthread_t threads[MAX_THREADS];
	struct kabi_ctx *ctxs[MAX_THREADS];
};

struct worker {
	struct prefetch *pf;
	struct kabi_ctx *ctx;
};

static void *work(void *arg)
{
	struct prefetch *pf = ((struct worker *)arg)->pf;
	struct kabi_ctx *ctx = ((struct worker *)arg)->ctx;

	free(arg);
	pthread_mutex_lock(&pf->lock);
	for (;;) {
		size_t i;
		struct kabi_module *mod = NULL;
		char *error = NULL;

		while (!pf->stop && pf->next < pf->n && pf->next >= pf->taken + WINDOW)
			pthread_cond_wait(&pf->room, &pf->lock);
		if (pf->stop || pf->next >= pf->n)
			break;
		i = pf->next++;
		pthread_mutex_unlock(&pf->lock);
		if (kabi_path_is_module(pf->paths[i]) && kabi_module_open(ctx, pf->paths[i], &mod) < 0)
			error = strdup(kabi_ctx_error(ctx));
		pthread_mutex_lock(&pf->lock);
		pf->slots[i] = (struct slot){ mod, error, true };
		pthread_cond_broadcast(&pf->ready);
	}
	pthread_mutex_unlock(&pf->lock);
	return NULL;
}

static bool compressed(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot && (strcmp(dot, ".xz") == 0 || strcmp(dot, ".zst") == 0 || strcmp(dot, ".gz") == 0);
}

struct prefetch *prefetch_start(char **paths, size_t n)
{
	struct prefetch *pf = calloc(1, sizeof(*pf));
	const char *env = getenv("KABI_DEPS_THREADS");
	long cpus = 0;

	if (!pf || !(pf->slots = calloc(n + 1, sizeof(*pf->slots)))) {
		free(pf);
		return NULL;
	}
	pf->paths = paths;
	pf->n = n;
	pthread_mutex_init(&pf->lock, NULL);
	pthread_cond_init(&pf->ready, NULL);
	pthread_cond_init(&pf->room, NULL);
	/* Threads pay where decompression is the work: a plain module is read
	 * faster than threads can hand it over (measured: no gain, more system
	 * time).  One file is no batch.  A thread per core, up to MAX_THREADS. */
	bool worth_it = false;

	for (size_t i = 0; i < n && !worth_it; i++)
		worth_it = compressed(paths[i]);
	/* (asked only then: it reads /sys, a cost for a process of one file) */
	if (worth_it && n > 1)
		cpus = env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
	for (long t = 0; worth_it && n > 1 && t < (cpus < MAX_THREADS ? cpus : MAX_THREADS); t++) {
		struct worker *w = malloc(sizeof(*w));
		struct kabi_ctx *ctx = kabi_ctx_new();

		if (!w || !ctx) {
			free(w);
			kabi_ctx_free(ctx);
			break;
		}
		*w = (struct worker){ pf, ctx };
		if (pthread_create(&pf->threads[pf->n_threads], NULL, work, w) != 0) {
			free(w);
			kabi_ctx_free(ctx);
			break;
		}
		pf->ctxs[pf->n_threads++] = ctx;
	}
	return pf;
}

struct kabi_module *prefetch_take(struct prefetch *pf, size_t i, char **error)
{
	struct kabi_module *mod;

	*error = NULL;
	if (!pf || !pf->n_threads || i >= pf->n)
		return NULL; /* not prefetched: the caller reads it itself */
	pthread_mutex_lock(&pf->lock);
	while (!pf->slots[i].done)
		pthread_cond_wait(&pf->ready, &pf->lock);
	mod = pf->slots[i].mod;
	*error = pf->slots[i].error;
	pf->slots[i] = (struct slot){ .done = true };
	if (i + 1 > pf->taken)
		pf->taken = i + 1;
	pthread_cond_broadcast(&pf->room);
	pthread_mutex_unlock(&pf->lock);
	return mod;
}

void prefetch_stop(struct prefetch *pf)
{
	if (!pf)
		return;
	pthread_mutex_lock(&pf->lock);
	pf->stop = true;
	pthread_cond_broadcast(&pf->room);
	pthread_mutex_unlock(&pf->lock);
	for (size_t t = 0; t < pf->n_threads; t++)
		pthread_join(pf->threads[t], NULL);
	/* what nobody took: modules belong to the workers' contexts */
	for (size_t i = 0; i < pf->n; i++) {
		kabi_module_free(pf->slots[i].mod);
		free(pf->slots[i].error);
	}
	for (size_t t = 0; t < pf->n_threads; t++)
		kabi_ctx_free(pf->ctxs[t]);
	pthread_cond_destroy(&pf->ready);
	pthread_cond_destroy(&pf->room);
	pthread_mutex_destroy(&pf->lock);
	free(pf->slots);
	free(pf);
}
