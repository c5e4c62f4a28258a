/*
 * dict.c — the DICT type: a shared mapping with the methods and the order
 * of Python's dict, plus DICT_INCR (an atomic d[key] += delta) and
 * DICT_GET_MANY, which Python's manager cannot do in one round trip.
 *
 * The table is laid out like CPython's compact dict: an array of entries
 * in insertion order (key, value, cached hash; a deleted entry stays as a
 * tombstone) and an open-addressing index of int32 (or, for huge tables,
 * int64) slots that point into it, probed with CPython's perturbation. The
 * entries array is sized to 2/3 of the index, so the index never fills;
 * when the entries run out the table is rebuilt, which drops the
 * tombstones. We write our own rather than use a library table because we
 * need insertion order together with Python's key equality across kinds
 * (1 == 1.0 == true, 0.0 == -0.0, a NaN key equal to nothing, as distinct
 * float('nan') objects in Python), and no library packaged in Debian offers
 * that tuned for this workload: a get is one hash, a probe or two and no
 * allocation; a set of an existing key allocates only the value's copy.
 *
 * Items are kept with store_item() / store_clear(); the table's own block
 * is charged with store_charge() and refunded when it is replaced or the
 * dict dies. Operations that change several entries store every new item
 * first and commit only when nothing can fail any more.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obj.h"

/* Defined at the end, with the op table; create() needs it first. */

/* Index slot values besides entry numbers. A dummy marks a deleted key:
 * it must not end a probe, as keys inserted after it may lie beyond. */
#define IX_EMPTY (-1)
#define IX_DUMMY (-2)
/* Smallest index once something is stored (5 entries). */
#define MIN_SIZE      8
#define PERTURB_SHIFT 5
/* The kind of a deleted entry's key: never a real kind, so iteration can
 * skip tombstones without a field of its own. */
#define DEAD ((om_kind)0x7f)

/* Entries an index of `size` slots may point to: a load of at most 2/3
 * keeps probe sequences short. */
static inline size_t usable_of(size_t size)
{
	return size * 2 / 3;
}

struct entry {
	uint64_t hash; /* omi_item_hash(key), or a unique one for NaN */
	om_item key;   /* kind DEAD: deleted */
	om_item val;
};

struct dict {
	struct obj o;
	/* One block: ents[0..cap) then the index (size = mask + 1 slots).
	 * NULL for a dict that never held anything or was cleared. */
	struct entry *ents;
	void *index;
	size_t mask;
	size_t nents;   /* entries in use, live or dead */
	size_t usable;  /* inserts left before a rebuild */
	size_t used;    /* live entries: len(d) */
	size_t charged; /* bytes of the block charged with store_charge() */
	uint64_t nan_seq;
	bool wide; /* int64 index slots */
};

/* Python's repr() of a key, shortened, for KeyError-like messages. */
static const char *key_repr(const om_item *k, char *buf, size_t size)
{
	switch (k->kind) {
	case OM_NIL:
		return "None";
	case OM_BOOL:
		return k->b ? "True" : "False";
	case OM_INT:
		snprintf(buf, size, "%lld", (long long)k->i);
		return buf;
	case OM_FLOAT:
		/* The shortest text that reads back as the same double. */
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(buf, size, "%.*g", prec, k->f);
			if (strtod(buf, NULL) == k->f)
				break;
		}
		if (isfinite(k->f) && !strpbrk(buf, ".e"))
			strncat(buf, ".0", size - strlen(buf) - 1);
		return buf;
	case OM_REF:
		snprintf(buf, size, "<ref %llu>",
		         (unsigned long long)k->ref.id);
		return buf;
	case OM_STR:
	case OM_BYTES:
		break;
	default:
		return "?";
	}
	size_t n = 0;
	if (k->kind == OM_BYTES)
		buf[n++] = 'b';
	buf[n++] = '\'';
	/* Room for a 4-byte escape, the closing quote, "..." and the NUL. */
	size_t i;
	for (i = 0; i < k->s.len && n + 9 < size; i++) {
		unsigned char ch = (unsigned char)k->s.ptr[i];
		if (ch == '\'' || ch == '\\')
			n += (size_t)snprintf(buf + n, size - n, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", ch);
		else
			buf[n++] = (char)ch;
	}
	buf[n++] = '\'';
	if (i < k->s.len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static int no_key(struct call *c, const om_item *key)
{
	char buf[96];
	return call_err(c, OM_ENOKEY, "key %s not found",
	                key_repr(key, buf, sizeof buf));
}

/* ------------------------------------------------------------ the table */

static inline int64_t ix_get(const struct dict *d, size_t i)
{
	return d->wide ? ((const int64_t *)d->index)[i]
	               : ((const int32_t *)d->index)[i];
}

static inline void ix_set(struct dict *d, size_t i, int64_t ix)
{
	if (d->wide)
		((int64_t *)d->index)[i] = ix;
	else
		((int32_t *)d->index)[i] = (int32_t)ix;
}

/* A NaN is equal to nothing, so its entry can never be found again: give
 * it a hash of its own, or many NaN keys would share one probe chain. */
static inline uint64_t key_hash(struct dict *d, const om_item *key)
{
	if (key->kind == OM_FLOAT && isnan(key->f)) {
		/* splitmix64 over a counter: distinct, well spread. */
		uint64_t x = (d->nan_seq += 0x9e3779b97f4a7c15ULL);
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
		return x ^ (x >> 31);
	}
	return omi_item_hash(key);
}

/* omi_item_eq with the common same-kind cases inlined (the hot path). */
static inline bool key_eq(const om_item *a, const om_item *b)
{
	if (a->kind == b->kind) {
		switch (a->kind) {
		case OM_STR:
		case OM_BYTES:
			return a->s.len == b->s.len &&
			       (a->s.len == 0 ||
			        !memcmp(a->s.ptr, b->s.ptr, a->s.len));
		case OM_INT:
			return a->i == b->i;
		default:
			break;
		}
	}
	return omi_item_eq(a, b);
}

/* The entry number of `key` (whose hash is h), or -1. *slot gets the index
 * slot that points to it. Ends: the index always has an empty slot. */
static int64_t lookup(const struct dict *d, const om_item *key, uint64_t h,
                      size_t *slot)
{
	if (d->used == 0)
		return -1;
	size_t mask = d->mask;
	uint64_t perturb = h;
	for (size_t i = h & mask;; i = (i * 5 + perturb + 1) & mask) {
		int64_t ix = ix_get(d, i);
		if (ix == IX_EMPTY)
			return -1;
		if (ix >= 0) {
			const struct entry *e = &d->ents[ix];
			if (e->hash == h && key_eq(&e->key, key)) {
				*slot = i;
				return ix;
			}
		}
		perturb >>= PERTURB_SHIFT;
	}
}

/* The index slot that points to entry ix (which is live). */
static size_t slot_of(const struct dict *d, int64_t ix)
{
	size_t mask = d->mask, i;
	uint64_t perturb = d->ents[ix].hash;
	for (i = perturb & mask; ix_get(d, i) != ix;
	     i = (i * 5 + perturb + 1) & mask)
		perturb >>= PERTURB_SHIFT;
	return i;
}

/* The first free slot (empty or dummy) on h's probe sequence, for a key
 * known to be absent. */
static size_t free_slot(const struct dict *d, uint64_t h)
{
	size_t mask = d->mask, i;
	uint64_t perturb = h;
	for (i = h & mask; ix_get(d, i) >= 0; i = (i * 5 + perturb + 1) & mask)
		perturb >>= PERTURB_SHIFT;
	return i;
}

/*
 * Rebuild the table with room for at least `want` live entries, keeping
 * the live ones in order and dropping tombstones and dummies. Charges the
 * new block before allocating it; on error the dict is unchanged.
 */
static int resize(struct dict *d, struct call *c, size_t want)
{
	size_t size = MIN_SIZE;
	while (usable_of(size) < want) {
		if (size > SIZE_MAX / 4 / (sizeof(struct entry) + 8))
			return call_err(c, OM_ENOMEM, "dict too large");
		size *= 2;
	}
	size_t cap = usable_of(size);
	struct dict nd = {.mask = size - 1, .wide = cap > INT32_MAX};
	size_t ixbytes = size * (nd.wide ? sizeof(int64_t) : sizeof(int32_t));
	size_t bytes = cap * sizeof(struct entry) + ixbytes;
	int rc = store_charge(c, bytes);
	if (rc != OM_OK)
		return rc;
	struct entry *ents = malloc(bytes);
	if (!ents) {
		store_refund(bytes);
		return call_err(c, OM_ENOMEM, "out of memory growing a dict");
	}
	nd.ents = ents;
	nd.index = ents + cap;
	memset(nd.index, 0xff, ixbytes); /* every slot IX_EMPTY */
	size_t n = 0;
	for (size_t k = 0; k < d->nents; k++) {
		if (d->ents[k].key.kind == DEAD)
			continue;
		ents[n] = d->ents[k];
		ix_set(&nd, free_slot(&nd, ents[n].hash), (int64_t)n);
		n++;
	}
	free(d->ents);
	store_refund(d->charged);
	d->ents = ents;
	d->index = nd.index;
	d->mask = nd.mask;
	d->wide = nd.wide;
	d->nents = n;
	d->used = n;
	d->usable = cap - n;
	d->charged = bytes;
	return OM_OK;
}

/* Make room for `extra` more inserts. Growing to twice the live entries
 * (or more if asked) keeps rebuilds amortised O(1) per insert, even when
 * deletes and inserts alternate and the entries fill with tombstones. */
static int reserve(struct dict *d, struct call *c, size_t extra)
{
	if (d->usable >= extra)
		return OM_OK;
	if (extra > SIZE_MAX / 4 - d->used)
		return call_err(c, OM_ENOMEM, "dict too large");
	size_t want = d->used + extra;
	if (want < d->used * 2)
		want = d->used * 2;
	return resize(d, c, want);
}

/* Append an entry for an absent key; takes over the stored key and value.
 * Needs d->usable > 0 (reserve()). */
static struct entry *insert(struct dict *d, uint64_t h, const om_item *key,
                            const om_item *val)
{
	struct entry *e = &d->ents[d->nents];
	ix_set(d, free_slot(d, h), (int64_t)d->nents);
	e->hash = h;
	e->key = *key;
	e->val = *val;
	d->nents++;
	d->used++;
	d->usable--;
	return e;
}

/* Store copies of key and val as a new entry (the key is absent). */
static int insert_copy(struct dict *d, struct call *c, uint64_t h,
                       const om_item *key, const om_item *val,
                       struct entry **out)
{
	int rc = reserve(d, c, 1);
	if (rc != OM_OK)
		return rc;
	om_item k, v;
	rc = store_item(c, &k, key);
	if (rc != OM_OK)
		return rc;
	rc = store_item(c, &v, val);
	if (rc != OM_OK) {
		store_clear(&k);
		return rc;
	}
	*out = insert(d, h, &k, &v);
	return OM_OK;
}

/*
 * Turn entry ix (at index slot `slot`), whose key and value were already
 * released, into a tombstone. Tombstones at the end are dropped at once,
 * so popitem finds the last live entry in O(1); d->usable stays, since the
 * index slot stays taken by the dummy until the next rebuild.
 */
static void remove_at(struct dict *d, size_t slot, int64_t ix)
{
	ix_set(d, slot, IX_DUMMY);
	d->ents[ix].key.kind = DEAD;
	d->used--;
	while (d->nents > 0 && d->ents[d->nents - 1].key.kind == DEAD)
		d->nents--;
}

/* Release every item and the table: the dict is empty and holds nothing. */
static void release_all(struct dict *d)
{
	for (size_t k = 0; k < d->nents; k++) {
		struct entry *e = &d->ents[k];
		if (e->key.kind == DEAD)
			continue;
		store_clear(&e->key);
		store_clear(&e->val);
	}
	free(d->ents);
	store_refund(d->charged);
	d->ents = NULL;
	d->index = NULL;
	d->mask = 0;
	d->nents = d->used = d->usable = d->charged = 0;
	d->wide = false;
}

/* Results of all live entries: keys, values, or both interleaved. */
enum { WANT_KEYS = 1, WANT_VALUES = 2 };

static int results_all(struct dict *d, struct call *c, int want)
{
	if (d->used == 0)
		return OM_OK;
	size_t per = (want & WANT_KEYS ? 1 : 0) + (want & WANT_VALUES ? 1 : 0);
	if (d->used > SIZE_MAX / sizeof(om_item) / per)
		return call_err(c, OM_ENOMEM, "dict too large to send");
	om_item *out = call_alloc(c, d->used * per * sizeof *out);
	if (!out)
		return call_err(c, OM_ENOMEM, "out of memory listing a dict");
	/* Shallow copies: the bytes stay the dict's until the response is
	 * packed, which happens before anything can change the dict. */
	size_t n = 0;
	for (size_t k = 0; k < d->nents; k++) {
		const struct entry *e = &d->ents[k];
		if (e->key.kind == DEAD)
			continue;
		if (want & WANT_KEYS)
			out[n++] = e->key;
		if (want & WANT_VALUES)
			out[n++] = e->val;
	}
	return call_results(c, out, n);
}

/* ------------------------------------------------------------ operations */

/* DICT_SET key value */
static int dict_set(struct obj *o, struct call *c)
{
	struct dict *d = (struct dict *)o;
	uint64_t h = key_hash(d, &c->args[0]);
	size_t slot;
	int64_t ix = lookup(d, &c->args[0], h, &slot);
	if (ix >= 0) /* keeps the first key and its place, as Python */
		return store_replace(c, &d->ents[ix].val, &c->args[1]);
	struct entry *e;
	return insert_copy(d, c, h, &c->args[0], &c->args[1], &e);
}

/* The entry of the key in args[0] (*slot: its index slot), or -1. */
static int64_t lookup_arg(struct dict *d, struct call *c, size_t *slot)
{
	return lookup(d, &c->args[0], key_hash(d, &c->args[0]), slot);
}

/* DICT_GET key -> value | ENOKEY */
static int dict_get(struct obj *o, struct call *c)
{
	struct dict *d = (struct dict *)o;
	size_t slot;
	int64_t ix = lookup_arg(d, c, &slot);
	if (ix < 0)
		return no_key(c, &c->args[0]);
	return call_result(c, &d->ents[ix].val);
}

/* DICT_DEL and DICT_POP: remove the entry of the key in args[0], handing
 * its value out first if `take` (a value that cannot be sent stays). */
static int remove_key(struct dict *d, struct call *c, bool take)
{
	size_t slot;
	int64_t ix = lookup_arg(d, c, &slot);
	if (ix < 0)
		return no_key(c, &c->args[0]);
	struct entry *e = &d->ents[ix];
	if (take) {
		int rc = call_result_take(c, &e->val);
		if (rc != OM_OK)
			return rc;
	} else {
		store_clear(&e->val);
	}
	store_clear(&e->key);
	remove_at(d, slot, ix);
	return OM_OK;
}

/* DICT_DEL key | ENOKEY */
static int dict_del(struct obj *o, struct call *c)
{
	return remove_key((struct dict *)o, c, false);
}

/* DICT_POP key -> value | ENOKEY */
static int dict_pop(struct obj *o, struct call *c)
{
	return remove_key((struct dict *)o, c, true);
}

/* DICT_POPITEM -> key value (the last inserted) | ENOKEY */
static int dict_popitem(struct obj *o, struct call *c)
{
	struct dict *d = (struct dict *)o;
	if (d->used == 0)
		return call_err(c, OM_ENOKEY, "popitem(): dictionary is empty");
	/* remove_at() trims trailing tombstones, so this is the last. */
	int64_t ix = (int64_t)d->nents - 1;
	while (d->ents[ix].key.kind == DEAD)
		ix--;
	struct entry *e = &d->ents[ix];
	int rc = call_result_take(c, &e->key);
	if (rc != OM_OK)
		return rc;
	/* The key has left: if the value cannot follow (out of scratch
	 * memory), the entry still goes, rather than stay without its key. */
	rc = call_result_take(c, &e->val);
	if (rc != OM_OK)
		store_clear(&e->val);
	remove_at(d, slot_of(d, ix), ix);
	return rc;
}

/* DICT_SETDEFAULT key default -> value now stored */
static int dict_setdefault(struct obj *o, struct call *c)
{
	struct dict *d = (struct dict *)o;
	uint64_t h = key_hash(d, &c->args[0]);
	size_t slot;
	int64_t ix = lookup(d, &c->args[0], h, &slot);
	struct entry *e;
	if (ix >= 0) {
		e = &d->ents[ix];
	} else {
		int rc = insert_copy(d, c, h, &c->args[0], &c->args[1], &e);
		if (rc != OM_OK)
			return rc;
	}
	return call_result(c, &e->val);
}

/* DICT_CONTAINS key -> num 0/1 */
static int dict_contains(struct obj *o, struct call *c)
{
	size_t slot;
	call_num(c, lookup_arg((struct dict *)o, c, &slot) >= 0);
	return OM_OK;
}

/* DICT_LEN -> num */
static int dict_len(struct obj *o, struct call *c)
{
	struct dict *d = (struct dict *)o;
	call_num(c, (int64_t)d->used);
	return OM_OK;
}

/* DICT_KEYS -> keys in insertion order */
static int dict_keys(struct obj *o, struct call *c)
{
	return results_all((struct dict *)o, c, WANT_KEYS);
}

/* DICT_VALUES -> values in insertion order */
static int dict_values(struct obj *o, struct call *c)
{
	return results_all((struct dict *)o, c, WANT_VALUES);
}

/* DICT_ITEMS -> k0 v0 k1 v1 ... in insertion order */
static int dict_items(struct obj *o, struct call *c)
{
	return results_all((struct dict *)o, c, WANT_KEYS | WANT_VALUES);
}

/* An update's pair, stored before the dict changes. */
struct pending {
	uint64_t hash;
	om_item key; /* stored only if own_key */
	om_item val;
	bool own_key;
};

/*
 * DICT_UPDATE k0 v0 k1 v1 ... (all or nothing)
 *
 * First store every value, and every key that the dict lacks, and make
 * room for that many new entries; only then commit, in argument order, so
 * a later pair with an equal key wins, as in Python.
 */
static int dict_update(struct obj *o, struct call *c)
{
	struct dict *d = (struct dict *)o;
	if (c->nargs % 2)
		return call_err(c, OM_EINVAL,
		                "dict update takes key, value pairs, not %zu "
		                "items",
		                c->nargs);
	size_t n = c->nargs / 2;
	if (n == 0)
		return OM_OK;
	struct pending *p;
	if (n > SIZE_MAX / sizeof *p)
		return call_err(c, OM_ENOMEM, "dict update too large");
	p = call_alloc(c, n * sizeof *p);
	if (!p)
		return call_err(c, OM_ENOMEM, "out of memory updating a dict");
	size_t done = 0, needed = 0, slot;
	int rc = OM_OK;
	for (; done < n; done++) {
		const om_item *key = &c->args[2 * done];
		struct pending *q = &p[done];
		q->hash = key_hash(d, key);
		q->own_key = lookup(d, key, q->hash, &slot) < 0;
		q->key.kind = OM_NIL;
		if (q->own_key) {
			rc = store_item(c, &q->key, key);
			if (rc != OM_OK)
				goto out_clear;
			needed++;
		}
		rc = store_item(c, &q->val, &c->args[2 * done + 1]);
		if (rc != OM_OK) {
			store_clear(&q->key);
			goto out_clear;
		}
	}
	rc = reserve(d, c, needed);
	if (rc != OM_OK)
		goto out_clear;
	for (size_t i = 0; i < n; i++) {
		int64_t ix = lookup(d, &c->args[2 * i], p[i].hash, &slot);
		if (ix < 0) {
			insert(d, p[i].hash, &p[i].key, &p[i].val);
		} else {
			/* An equal key came earlier in this update: the
			 * first one stays, as in Python. */
			store_clear(&p[i].key);
			store_clear(&d->ents[ix].val);
			d->ents[ix].val = p[i].val;
		}
	}
	return OM_OK;

out_clear:
	for (size_t i = 0; i < done; i++) {
		store_clear(&p[i].key);
		store_clear(&p[i].val);
	}
	return rc;
}

/* DICT_CLEAR */
static int dict_clear(struct obj *o, struct call *c)
{
	(void)c;
	release_all((struct dict *)o);
	return OM_OK;
}

/* DICT_INCR key delta -> new value | ETYPE, EVALUE (int64 overflow)
 * Atomic d[key] = d.get(key, 0) + delta. */
static int dict_incr(struct obj *o, struct call *c)
{
	static const om_item zero = {.kind = OM_INT, .i = 0};
	struct dict *d = (struct dict *)o;
	const om_item *key = &c->args[0];
	uint64_t h = key_hash(d, key);
	size_t slot;
	int64_t ix = lookup(d, key, h, &slot);
	struct entry *e = ix >= 0 ? &d->ents[ix] : NULL;
	om_item sum;
	int rc = call_add(c, e ? &e->val : &zero, &c->args[1], &sum);
	if (rc != OM_OK)
		return rc;
	if (e)
		rc = store_replace(c, &e->val, &sum);
	else
		rc = insert_copy(d, c, h, key, &sum, &e);
	if (rc != OM_OK)
		return rc;
	return call_result(c, &e->val);
}

/* DICT_GET_MANY key... -> value or nil for each key, num = keys found */
static int dict_get_many(struct obj *o, struct call *c)
{
	struct dict *d = (struct dict *)o;
	size_t n = c->nargs;
	if (n == 0) {
		call_num(c, 0);
		return OM_OK;
	}
	om_item *out;
	if (n > SIZE_MAX / sizeof *out)
		return call_err(c, OM_ENOMEM, "too many keys");
	out = call_alloc(c, n * sizeof *out);
	if (!out)
		return call_err(c, OM_ENOMEM, "out of memory reading a dict");
	size_t found = 0, slot;
	for (size_t i = 0; i < n; i++) {
		const om_item *key = &c->args[i];
		int64_t ix = lookup(d, key, key_hash(d, key), &slot);
		if (ix >= 0) {
			out[i] = d->ents[ix].val;
			found++;
		} else {
			out[i] = (om_item){.kind = OM_NIL};
		}
	}
	call_num(c, (int64_t)found);
	return call_results(c, out, n);
}

static void dict_fini(struct obj *o)
{
	release_all((struct dict *)o);
}

/* Keys may be refs as well as values. */
static void dict_traverse(struct obj *o, visit_fn visit, void *arg)
{
	struct dict *d = (struct dict *)o;
	for (size_t k = 0; k < d->nents; k++) {
		const struct entry *e = &d->ents[k];
		if (e->key.kind == DEAD)
			continue;
		store_visit(&e->key, visit, arg);
		store_visit(&e->val, visit, arg);
	}
}

static uint64_t dict_length(const struct obj *o)
{
	return ((const struct dict *)o)->used;
}

/* The table's block and every live key's and value's bytes. */
static uint64_t dict_bytes(const struct obj *o)
{
	const struct dict *d = (const struct dict *)o;
	uint64_t n = d->charged;
	for (size_t k = 0; k < d->nents; k++) {
		const struct entry *e = &d->ents[k];
		if (e->key.kind != DEAD)
			n += omi_item_extra(&e->key) + omi_item_extra(&e->val);
	}
	return n;
}

static const struct type_look dict_look = {dict_length, dict_bytes, dict_items};

/* Tables indented with tabs like the rest of the file. */
static const struct op_def dict_ops[] = {
        OP(DICT_SET, dict_set, 2, OPF_CHANGES),
        OP(DICT_GET, dict_get, 1, 0),
        OP(DICT_DEL, dict_del, 1, OPF_CHANGES),
        OP(DICT_POP, dict_pop, 1, OPF_CHANGES),
        OP(DICT_POPITEM, dict_popitem, 0, OPF_CHANGES),
        OP(DICT_SETDEFAULT, dict_setdefault, 2, OPF_CHANGES),
        OP(DICT_CONTAINS, dict_contains, 1, 0),
        OP(DICT_LEN, dict_len, 0, 0),
        OP(DICT_KEYS, dict_keys, 0, 0),
        OP(DICT_VALUES, dict_values, 0, 0),
        OP(DICT_ITEMS, dict_items, 0, 0),
        OP(DICT_UPDATE, dict_update, OP_VARARGS, OPF_CHANGES),
        OP(DICT_CLEAR, dict_clear, 0, OPF_CHANGES),
        OP(DICT_INCR, dict_incr, 2, OPF_CHANGES),
        OP(DICT_GET_MANY, dict_get_many, OP_VARARGS, 0),
};

/* OPEN DICT: no creation parameters; the dict starts empty and takes no
 * memory for its table until the first insert. */
TYPE_DEF(dict, DICT, "dict", struct dict, 0, 0, NULL, dict_fini, NULL,
         dict_traverse, dict_fini);
