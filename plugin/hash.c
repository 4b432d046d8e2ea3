/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A string-keyed hash table with open addressing; keys are borrowed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libkabideps-private.h"

static size_t hash_string(const char *s)
{
	/* FNV-1a: short symbol names, no adversary worth a keyed hash. */
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return (size_t)(h ^ (h >> 32));
}

static size_t find_slot(const struct kabi_hash *h, const char *key)
{
	size_t mask = h->cap - 1, i = hash_string(key) & mask;

	while (h->keys[i] && strcmp(h->keys[i], key) != 0)
		i = (i + 1) & mask;
	return i;
}

static int grow(struct kabi_hash *h)
{
	struct kabi_hash bigger = { .cap = h->cap ? h->cap * 2 : 64 };

	bigger.keys = calloc(bigger.cap, sizeof(*bigger.keys));
	bigger.values = calloc(bigger.cap, sizeof(*bigger.values));
	if (!bigger.keys || !bigger.values) {
		kabi_hash_fini(&bigger);
		return -ENOMEM;
	}
	for (size_t i = 0; i < h->cap; i++) {
		if (h->keys[i]) {
			size_t j = find_slot(&bigger, h->keys[i]);

			bigger.keys[j] = h->keys[i];
			bigger.values[j] = h->values[i];
		}
	}
	bigger.n = h->n;
	kabi_hash_fini(h);
	*h = bigger;
	return 0;
}

int kabi_hash_put(struct kabi_hash *h, const char *key, void *value)
{
	size_t i;

	if ((h->n + 1) * 4 > h->cap * 3 && grow(h) < 0)
		return -ENOMEM;
	i = find_slot(h, key);
	if (h->keys[i])
		return 1;
	h->keys[i] = key;
	h->values[i] = value;
	h->n++;
	return 0;
}

void *kabi_hash_get(const struct kabi_hash *h, const char *key)
{
	size_t i;

	if (!h->n)
		return NULL;
	i = find_slot(h, key);
	return h->keys[i] ? h->values[i] : NULL;
}

void kabi_hash_fini(struct kabi_hash *h)
{
	free(h->keys);
	free(h->values);
	*h = (struct kabi_hash){ 0 };
}
