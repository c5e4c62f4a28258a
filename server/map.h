/*
 * map.h — the two small hash maps the registry needs: u64 id -> pointer
 * (objects by id; a connection's references) and string -> pointer (objects
 * by name).
 *
 * Written here rather than taken from a library because the keys are
 * 64-bit ids looked up on every request: linear probing over a flat array
 * with backward-shift deletion (no tombstones) is one cache line per hit,
 * and no Debian package offers that without pulling in a framework.
 */
#ifndef MAP_H
#define MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map {
	struct u64slot {
		uint64_t key; /* 0: empty */
		void *val;
	} * v;
	size_t n, mask; /* mask + 1 slots, n used */
};

/** The value for `key` (!= 0), or NULL. */
void *u64map_get(const struct u64map *m, uint64_t key);
/** Insert or replace. @return 0, or -1 when out of memory (only a new key
 *  can fail: replacing a key's value never allocates). */
int u64map_put(struct u64map *m, uint64_t key, void *val);
/** Remove `key`; returns its value or NULL. */
void *u64map_del(struct u64map *m, uint64_t key);
void u64map_free(struct u64map *m);
/* Iterate: for (size_t i = 0; i <= m.mask && m.v; i++) if (m.v[i].key) */

struct strmap {
	struct strslot {
		const char *key; /* NULL: empty; owned by the value */
		uint64_t hash;
		void *val;
	} * v;
	size_t n, mask;
};

void *strmap_get(const struct strmap *m, const char *key);
/** Insert (key must stay valid while mapped). @return 0 or -1 (no memory;
 *  never when the key is there already). */
int strmap_put(struct strmap *m, const char *key, void *val);
void *strmap_del(struct strmap *m, const char *key);
void strmap_free(struct strmap *m);

#endif /* MAP_H */
