/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared libraries loaded when first needed instead of with libkabideps:
 * the decompressors.  rpm < 4.16 starts a process per module and kind, and
 * loading liblzma and libzstd (mapping them, binding their symbols) was a
 * good part of the start-up of a process whose module is mostly plain.
 *
 * Test hook: sonames listed in KABI_DEPS_TEST_MISSING_LIBS (separated by
 * colons) are treated as not installed, for the message a missing library
 * gives (it only makes loading fail; it never chooses what is loaded).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libkabideps-private.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static bool missing_for_test(const char *soname)
{
	const char *list = getenv("KABI_DEPS_TEST_MISSING_LIBS");
	size_t len = strlen(soname);

	for (const char *p = list; p && *p; p += strcspn(p, ":"), p += *p == ':')
		if (strncmp(p, soname, len) == 0 && (p[len] == ':' || p[len] == '\0'))
			return true;
	return false;
}

static void load(struct kabi_lazylib *lib)
{
	void *h = missing_for_test(lib->soname) ? NULL : dlopen(lib->soname, RTLD_LAZY | RTLD_LOCAL);

	if (!h) {
		snprintf(lib->error, sizeof(lib->error), "%s, and %s cannot be loaded (%s)", lib->needed_for,
			 lib->soname,
			 missing_for_test(lib->soname) ? "test: KABI_DEPS_TEST_MISSING_LIBS" : dlerror());
		return;
	}
	for (size_t i = 0; lib->symbols[i]; i++) {
		void *sym = dlsym(h, lib->symbols[i]);

		if (!sym) {
			snprintf(lib->error, sizeof(lib->error), "%s, and %s lacks %s", lib->needed_for,
				 lib->soname, lib->symbols[i]);
			return; /* (h stays: what was found may be in use elsewhere) */
		}
		memcpy(lib->targets[i], &sym, sizeof(sym)); /* (POSIX: as a function pointer) */
	}
}

int kabi_lazylib_load(struct kabi_ctx *ctx, struct kabi_lazylib *lib)
{
	pthread_mutex_lock(&lock);
	if (!lib->tried) {
		load(lib);
		lib->tried = true;
	}
	pthread_mutex_unlock(&lock);
	return lib->error[0] ? kabi_fail(ctx, ELIBACC, "%s", lib->error) : 0;
}
