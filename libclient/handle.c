/*
 * handle.c — the process-wide handle table.
 *
 * A handle given to the user is (generation << SLOT_BITS | slot + 1), not
 * a pointer: a released handle's slot gets a new generation, so a call on
 * it is answered with OM_EINVAL instead of touching freed memory, and a
 * garbage value is caught the same way. Slots live in fixed chunks that
 * never move, so a lookup takes no lock; only allocation and release do.
 */
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

#if UINTPTR_MAX > 0xffffffffu
#define SLOT_BITS 32
#else
#define SLOT_BITS 20
#endif
#define SLOT_MASK ((((uintptr_t)1) << SLOT_BITS) - 1)

enum { CHUNK = 1024, MAX_CHUNKS = 16384 }; /* up to 16M live handles */

struct slot {
	struct omi_handle *h;
	uintptr_t gen; /* never 0 once used: 0 would make a NULL handle */
};

static struct slot *chunks[MAX_CHUNKS];
static size_t nslots; /* slots ever made (published with release) */
static size_t *freelist;
static size_t nfree, capfree;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static struct slot *slot_at(size_t i)
{
	return &chunks[i / CHUNK][i % CHUNK];
}

void *omi_handle_new(om_client *c, uint64_t id, int type, uint64_t gen)
{
	struct omi_handle *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->c = c;
	h->id = id;
	h->type = type;
	h->gen = gen;

	pthread_mutex_lock(&mu);
	size_t i;
	if (nfree) {
		i = freelist[--nfree];
	} else {
		i = nslots;
		if (i / CHUNK >= MAX_CHUNKS || i >= SLOT_MASK)
			goto out_full;
		if (!chunks[i / CHUNK] &&
		    !(chunks[i / CHUNK] = calloc(CHUNK, sizeof **chunks)))
			goto out_full;
		__atomic_store_n(&nslots, i + 1, __ATOMIC_RELEASE);
	}
	struct slot *s = slot_at(i);
	/* Generations wrap within the bits left in a pointer, skipping 0. */
	uintptr_t g = (s->gen + 1) & (UINTPTR_MAX >> SLOT_BITS);
	s->gen = g ? g : 1;
	s->h = h;
	h->value = (void *)(s->gen << SLOT_BITS | (uintptr_t)(i + 1));
	pthread_mutex_unlock(&mu);

	h->next = c->handles;
	if (c->handles)
		c->handles->prev = h;
	c->handles = h;
	return h->value;

out_full:
	pthread_mutex_unlock(&mu);
	free(h);
	return NULL;
}

struct omi_handle *omi_handle_get(const void *value)
{
	uintptr_t v = (uintptr_t)value;
	size_t i = (size_t)(v & SLOT_MASK);
	if (i == 0 || i - 1 >= __atomic_load_n(&nslots, __ATOMIC_ACQUIRE))
		return NULL;
	struct slot *s = slot_at(i - 1);
	struct omi_handle *h = s->h;
	if (!h || s->gen != v >> SLOT_BITS)
		return NULL;
	return h;
}

void omi_handle_ext_fini(struct omi_handle *h, bool live)
{
	void (*fini)(struct omi_handle *, bool) = h->ext_fini;
	h->ext_fini = NULL;
	if (fini)
		fini(h, live);
}

void omi_handle_free(struct omi_handle *h)
{
	om_client *c = h->c;
	omi_handle_ext_fini(h, false);
	omi_unmap(h);
	if (h->prev)
		h->prev->next = h->next;
	else
		c->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;

	size_t i = (size_t)((uintptr_t)h->value & SLOT_MASK) - 1;
	pthread_mutex_lock(&mu);
	slot_at(i)->h = NULL;
	if (nfree == capfree) {
		size_t cap = capfree ? capfree * 2 : 64;
		size_t *f = realloc(freelist, cap * sizeof *f);
		if (f) {
			freelist = f;
			capfree = cap;
		}
	}
	if (nfree < capfree)
		freelist[nfree++] = i; /* else the slot is simply not reused */
	pthread_mutex_unlock(&mu);
	free(h);
}
