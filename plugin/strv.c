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

/* The 8 bytes at p as a big-endian integer. */
static inline uint64_t load_be64(const char *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	return x;
}

/* The len <= 8 bytes at p as the top of a big-endian integer. */
static inline uint64_t load_be_short(const char *p, size_t len)
{
	uint64_t x = 0;

	for (size_t i = 0; i < len; i++)
		x |= (uint64_t)(unsigned char)p[i] << (56 - 8 * i);
	return x;
}

/* The length of the prefix all n strings share, NUL excluded, at most len. */
static size_t common_prefix(char *const *v, size_t n, size_t len)
{
	const char *first = v[0];

	for (size_t i = 1; i < n && len; i++) {
		const char *s = v[i];
		size_t j = 0;

		while (j < len && first[j] && first[j] == s[j])
			j++;
		len = j;
	}
	return len;
}

/* Keys past the prefix all strings share (returned), read up to a string's
 * NUL and no further: it may end in its last malloc'd byte.  The prefix is
 * guessed, that of the first and the last string (all of it when the lines
 * come in order), and checked string by string (as one word when it can): a
 * string that does not share it shortens the guess and the keys are made
 * again, a few times, then the prefix is sought first. */
static size_t key_all(struct keyed *k, char *const *v, size_t n)
{
	const char *first = v[0];
	size_t prefix = common_prefix((char *const[]){ v[0], v[n - 1] }, 2, SIZE_MAX);

	for (int guess = 0; guess < 3; guess++) {
		uint64_t head = 0, mask = 0;
		size_t i = 0;

		if (prefix && prefix <= 8) {
			head = load_be_short(first, prefix);
			mask = ~(uint64_t)0 << (64 - 8 * prefix);
		}
		for (; i < n; i++) {
			const char *s = v[i];
			size_t len = strnlen(s, prefix + 8);

			if (len < prefix || (prefix <= 8 && len >= 8 ? (load_be64(s) & mask) != head :
								       memcmp(s, first, prefix) != 0))
				break;
			len -= prefix;
			k[i] = (struct keyed){ len == 8 ? load_be64(s + prefix) :
							  load_be_short(s + prefix, len),
					       v[i] };
		}
		if (i == n)
			return prefix;
		prefix = common_prefix((char *const[]){ v[0], v[i] }, 2, prefix);
	}
	prefix = common_prefix(v, n, prefix);
	for (size_t i = 0; i < n; i++) {
		size_t len = strnlen(v[i] + prefix, 8);

		k[i] = (struct keyed){ len == 8 ? load_be64(v[i] + prefix) :
						  load_be_short(v[i] + prefix, len),
				       v[i] };
	}
	return prefix;
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
	prefix = key_all(k, sv->v, n);
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
