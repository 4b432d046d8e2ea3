/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* struct kabi_strv: the dependency strings a call returns, each malloc'd. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
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

/* A string and, as a big-endian integer, its 8 bytes after the prefix all
 * strings of the call share ("kernel("): unsigned integer order is strcmp's
 * byte order, and a string that ends inside the key is zero-padded, below
 * every longer one.  Most comparisons are then one integer comparison. */
struct keyed {
	uint64_t key;
	char *s;
};

/* Not past the NUL: a string may end in its last malloc'd byte. */
static inline uint64_t key_at(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strnlen(s, 8);
	uint64_t key = 0;

	if (len == 8) {
		memcpy(&key, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		key = __builtin_bswap64(key);
#endif
		return key;
	}
	for (size_t i = 0; i < len; i++)
		key |= (uint64_t)p[i] << (56 - 8 * i);
	return key;
}

/* The length of a prefix all n >= 2 strings share, NUL excluded: that of
 * the first two, shortened by any other string that differs earlier. */
static size_t common_prefix(char *const *v, size_t n)
{
	const char *first = v[0];
	size_t len = 0;

	while (first[len] && first[len] == v[1][len])
		len++;
	for (size_t i = 2; i < n && len; i++) {
		const char *s = v[i];
		size_t j = 0;

		if (strncmp(first, s, len) == 0)
			continue;
		while (first[j] == s[j])
			j++;
		len = j;
	}
	return len;
}

/* strcmp of two strings keyed at prefix, tail = prefix + 8: equal keys with a
 * NUL in them (the last byte is then 0) are equal strings. */
static inline int cmp_keyed(const struct keyed *a, const struct keyed *b, size_t tail)
{
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->key & 0xff ? strcmp(a->s + tail, b->s + tail) : 0;
}

/* Merges k[0, half) and k[half, n), both in order, tmp holding half.  The
 * lines come mostly in no order (requires) or mostly in order (provides):
 * halves already in order are left as they are. */
static void merge(struct keyed *k, struct keyed *tmp, size_t half, size_t n, size_t tail)
{
	struct keyed *a = tmp, *a_end = tmp + half, *b = k + half, *b_end = k + n, *o = k;

	if (cmp_keyed(&k[half - 1], &k[half], tail) <= 0)
		return; /* in order already */
	memcpy(tmp, k, half * sizeof(*k));
	while (a < a_end && b < b_end)
		*o++ = cmp_keyed(b, a, tail) < 0 ? *b++ : *a++;
	memcpy(o, a, (size_t)(a_end - a) * sizeof(*o));
}

/* Merge sort, tmp holding n / 2, runs of up to 16 by straight insertion:
 * the fewest instructions on a kernel tree's modules. */
static void sort_keyed(struct keyed *k, struct keyed *tmp, size_t n, size_t tail)
{
	if (n <= 16) {
		for (size_t i = 1; i < n; i++) {
			struct keyed e = k[i];
			size_t j = i;

			for (; j && cmp_keyed(&k[j - 1], &e, tail) > 0; j--)
				k[j] = k[j - 1];
			k[j] = e;
		}
		return;
	}
	sort_keyed(k, tmp, n / 2, tail);
	sort_keyed(k + n / 2, tmp, n - n / 2, tail);
	merge(k, tmp, n / 2, n, tail);
}

/* The dependencies of one module: a few dozen, rarely a thousand. */
#define ON_STACK 1024

KABI_EXPORT void kabi_strv_sort_uniq(struct kabi_strv *sv)
{
	struct keyed small[ON_STACK + ON_STACK / 2], *k = small;
	size_t prefix, n = sv->n, out = 0;

	if (n < 2)
		return;
	if (n > ON_STACK && !(k = malloc((n + n / 2) * sizeof(*k)))) {
		qsort(sv->v, n, sizeof(*sv->v), cmp_str); /* no memory for keys */
		for (size_t i = 0; i < n; i++) {
			if (out && strcmp(sv->v[out - 1], sv->v[i]) == 0)
				free(sv->v[i]);
			else
				sv->v[out++] = sv->v[i];
		}
		sv->n = out;
		return;
	}
	prefix = common_prefix(sv->v, n);
	for (size_t i = 0; i < n; i++)
		k[i] = (struct keyed){ key_at(sv->v[i] + prefix), sv->v[i] };
	sort_keyed(k, k + n, n, prefix + 8);
	for (size_t i = 1; i < n; i++) {
		if (cmp_keyed(&k[out], &k[i], prefix + 8) == 0)
			free(k[i].s);
		else
			k[++out] = k[i];
	}
	sv->n = out + 1;
	for (size_t i = 0; i < sv->n; i++)
		sv->v[i] = k[i].s;
	if (k != small)
		free(k);
}
