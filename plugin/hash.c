/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A string-keyed hash table with open addressing; keys are borrowed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libkabideps-private.h"

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

uint32_t kabi_hash_of(const char *s)
{
	/* Eight bytes a step, a multiply and a rotation each, the bits mixed
	 * once at the end (symbol names run to 20-40 bytes, and every import
	 * is hashed when its module is added); no adversary worth a keyed
	 * hash.  Host byte order: the value never leaves the process. */
	size_t len = strlen(s), left = len;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w = 0;

	for (; left > 8; s += 8, left -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
		h = h << 29 | h >> 35;
	}
	/* The last 1 to 8 bytes: of a key of 8 or more, the word that ends
	 * with it (overlapping the one before), one load instead of a
	 * byte-by-byte copy. */
	if (len >= 8)
		memcpy(&w, s + left - 8, 8);
	else
		memcpy(&w, s, left);
	return (uint32_t)mix(h ^ w);
}

static bool same_key(const char *stored, const char *key)
{
	/* Interned strings are looked up by themselves: no strcmp then. */
	return stored == key || strcmp(stored, key) == 0;
}

static size_t find_slot(const struct kabi_hash *h, const char *key, uint32_t hash)
{
	size_t mask = h->cap - 1, i = hash & mask;

	while (h->slots[i].key && (h->slots[i].hash != hash || !same_key(h->slots[i].key, key)))
		i = (i + 1) & mask;
	return i;
}

static int resize(struct kabi_hash *h, size_t cap)
{
	struct kabi_hash bigger = { .cap = cap };

	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (size_t i = 0; i < h->cap; i++)
		if (h->slots[i].key)
			bigger.slots[find_slot(&bigger, h->slots[i].key, h->slots[i].hash)] = h->slots[i];
	bigger.n = h->n;
	kabi_hash_fini(h);
	*h = bigger;
	return 0;
}

static int grow(struct kabi_hash *h)
{
	return resize(h, h->cap ? h->cap * 2 : 64);
}

int kabi_hash_reserve(struct kabi_hash *h, size_t n)
{
	size_t cap = h->cap ? h->cap : 64;

	if (!n)
		return 0; /* (no table for none) */
	while (n * 4 > cap * 3)
		cap *= 2;
	return cap > h->cap ? resize(h, cap) : 0;
}

int kabi_hash_put(struct kabi_hash *h, const char *key, void *value)
{
	return kabi_hash_put_hashed(h, key, kabi_hash_of(key), value);
}

int kabi_hash_put_hashed(struct kabi_hash *h, const char *key, uint32_t hash, void *value)
{
	size_t i;

	if ((h->n + 1) * 4 > h->cap * 3 && grow(h) < 0)
		return -ENOMEM;
	i = find_slot(h, key, hash);
	if (h->slots[i].key)
		return 1;
	h->slots[i] = (struct kabi_hash_slot){ key, value, hash };
	h->n++;
	return 0;
}

void *kabi_hash_get(const struct kabi_hash *h, const char *key)
{
	return h->n ? kabi_hash_get_hashed(h, key, kabi_hash_of(key)) : NULL;
}

void *kabi_hash_get_hashed(const struct kabi_hash *h, const char *key, uint32_t hash)
{
	size_t i;

	if (!h->n)
		return NULL;
	i = find_slot(h, key, hash);
	return h->slots[i].key ? h->slots[i].value : NULL;
}

void kabi_hash_fini(struct kabi_hash *h)
{
	free(h->slots);
	*h = (struct kabi_hash){ 0 };
}

void kabi_hash_prefetch(const struct kabi_hash *h, uint32_t hash)
{
	if (h->cap)
		__builtin_prefetch(&h->slots[hash & (h->cap - 1)]);
}
