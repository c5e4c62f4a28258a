/*
 * map.c — open-addressing hash maps with linear probing and backward-shift
 * deletion. See map.h for why they are hand-written.
 */
#include "map.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static uint64_t strhash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return mix(h);
}

/* ---------------------------------------------------------------- u64map */

void *u64map_get(const struct u64map *m, uint64_t key)
{
	if (!m->v)
		return NULL;
	for (size_t i = mix(key) & m->mask;; i = (i + 1) & m->mask) {
		if (m->v[i].key == key)
			return m->v[i].val;
		if (m->v[i].key == 0)
			return NULL;
	}
}

static int u64map_grow(struct u64map *m)
{
	size_t cap = m->v ? (m->mask + 1) * 2 : 16;
	struct u64slot *v = calloc(cap, sizeof *v);
	if (!v)
		return -1;
	for (size_t i = 0; m->v && i <= m->mask; i++) {
		if (!m->v[i].key)
			continue;
		size_t j = mix(m->v[i].key) & (cap - 1);
		while (v[j].key)
			j = (j + 1) & (cap - 1);
		v[j] = m->v[i];
	}
	free(m->v);
	m->v = v;
	m->mask = cap - 1;
	return 0;
}

/* The slot holding `key`, or the empty one where it would go. */
static struct u64slot *u64map_slot(const struct u64map *m, uint64_t key)
{
	size_t i = mix(key) & m->mask;
	while (m->v[i].key && m->v[i].key != key)
		i = (i + 1) & m->mask;
	return &m->v[i];
}

int u64map_put(struct u64map *m, uint64_t key, void *val)
{
	struct u64slot *s = m->v ? u64map_slot(m, key) : NULL;
	if (!s || !s->key) {
		/* A new key. Load factor at most 1/2: probes stay short. */
		if (!m->v || (m->n + 1) * 2 > m->mask + 1) {
			if (u64map_grow(m))
				return -1;
			s = u64map_slot(m, key);
		}
		s->key = key;
		m->n++;
	}
	s->val = val;
	return 0;
}

void *u64map_del(struct u64map *m, uint64_t key)
{
	if (!m->v)
		return NULL;
	size_t i = mix(key) & m->mask;
	while (m->v[i].key != key) {
		if (!m->v[i].key)
			return NULL;
		i = (i + 1) & m->mask;
	}
	void *val = m->v[i].val;
	/* Backward-shift: pull later members of the probe run into the hole
	 * so lookups never need tombstones. */
	for (size_t j = (i + 1) & m->mask; m->v[j].key; j = (j + 1) & m->mask) {
		size_t home = mix(m->v[j].key) & m->mask;
		if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
			m->v[i] = m->v[j];
			i = j;
		}
	}
	m->v[i].key = 0;
	m->v[i].val = NULL;
	m->n--;
	return val;
}

void u64map_free(struct u64map *m)
{
	free(m->v);
	memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------------- strmap */

void *strmap_get(const struct strmap *m, const char *key)
{
	if (!m->v)
		return NULL;
	uint64_t h = strhash(key);
	for (size_t i = h & m->mask; m->v[i].key; i = (i + 1) & m->mask)
		if (m->v[i].hash == h && !strcmp(m->v[i].key, key))
			return m->v[i].val;
	return NULL;
}

static int strmap_grow(struct strmap *m)
{
	size_t cap = m->v ? (m->mask + 1) * 2 : 16;
	struct strslot *v = calloc(cap, sizeof *v);
	if (!v)
		return -1;
	for (size_t i = 0; m->v && i <= m->mask; i++) {
		if (!m->v[i].key)
			continue;
		size_t j = m->v[i].hash & (cap - 1);
		while (v[j].key)
			j = (j + 1) & (cap - 1);
		v[j] = m->v[i];
	}
	free(m->v);
	m->v = v;
	m->mask = cap - 1;
	return 0;
}

/* The slot holding `key` (hash h), or the empty one where it would go. */
static struct strslot *strmap_slot(const struct strmap *m, const char *key,
                                   uint64_t h)
{
	size_t i = h & m->mask;
	while (m->v[i].key && !(m->v[i].hash == h && !strcmp(m->v[i].key, key)))
		i = (i + 1) & m->mask;
	return &m->v[i];
}

int strmap_put(struct strmap *m, const char *key, void *val)
{
	uint64_t h = strhash(key);
	struct strslot *s = m->v ? strmap_slot(m, key, h) : NULL;
	if (!s || !s->key) {
		if (!m->v || (m->n + 1) * 2 > m->mask + 1) {
			if (strmap_grow(m))
				return -1;
			s = strmap_slot(m, key, h);
		}
		m->n++;
	}
	*s = (struct strslot){key, h, val};
	return 0;
}

void *strmap_del(struct strmap *m, const char *key)
{
	if (!m->v)
		return NULL;
	uint64_t h = strhash(key);
	size_t i = h & m->mask;
	while (!(m->v[i].hash == h && m->v[i].key &&
	         !strcmp(m->v[i].key, key))) {
		if (!m->v[i].key)
			return NULL;
		i = (i + 1) & m->mask;
	}
	void *val = m->v[i].val;
	for (size_t j = (i + 1) & m->mask; m->v[j].key; j = (j + 1) & m->mask) {
		size_t home = m->v[j].hash & m->mask;
		if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
			m->v[i] = m->v[j];
			i = j;
		}
	}
	m->v[i] = (struct strslot){0};
	m->n--;
	return val;
}

void strmap_free(struct strmap *m)
{
	free(m->v);
	memset(m, 0, sizeof *m);
}
