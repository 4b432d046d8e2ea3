/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* struct kabi_strv: the dependency strings a call returns, each malloc'd. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libkabideps-private.h"

int kabi_strv_push(struct kabi_strv *sv, char *s)
{
	if (!s)
		return -ENOMEM;
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 16;
		char **v = realloc(sv->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			return -ENOMEM;
		}
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = s;
	return 0;
}

int kabi_strv_pushf(struct kabi_strv *sv, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return kabi_strv_push(sv, r < 0 ? NULL : s);
}

KABI_EXPORT void kabi_strv_free(struct kabi_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	*sv = (struct kabi_strv){ 0 };
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The dependencies of one module (a few dozen, rarely a thousand): binary
 * insertion, strcmp called directly, costs far less than qsort's calls
 * through a pointer, and moving pointers is cheap at this size.  A
 * duplicate is met by the comparisons that place it, and dropped then. */
#define INSERTION_MAX 1024

static size_t insertion_sort_uniq(char **v, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		char *s = v[i];
		size_t lo = 0, hi;
		int c = out ? strcmp(v[out - 1], s) : -1;

		if (c < 0) {
			v[out++] = s; /* in order so far: one comparison */
			continue;
		}
		hi = out - 1; /* v[out - 1] >= s */
		while (c != 0 && lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			c = strcmp(v[mid], s);
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (c == 0) {
			free(s);
			continue;
		}
		memmove(v + lo + 1, v + lo, (out - lo) * sizeof(*v));
		v[lo] = s;
		out++;
	}
	return out;
}

KABI_EXPORT void kabi_strv_sort_uniq(struct kabi_strv *sv)
{
	size_t out = 0;

	if (sv->n <= INSERTION_MAX) {
		sv->n = insertion_sort_uniq(sv->v, sv->n);
		return;
	}
	qsort(sv->v, sv->n, sizeof(*sv->v), cmp_str);
	for (size_t i = 0; i < sv->n; i++) {
		if (out && strcmp(sv->v[out - 1], sv->v[i]) == 0)
			free(sv->v[i]);
		else
			sv->v[out++] = sv->v[i];
	}
	sv->n = out;
}
