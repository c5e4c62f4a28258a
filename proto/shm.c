/*
 * shm.c — the rules of shm.h: every change of a segment's state, for both
 * the mapped client and the server (which applies RPC clients' calls to the
 * same words). The blocking loops are the mapped client's; the server only
 * ever tries, marks and parks (waiter.h).
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shm.h"
#include "wire.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define CAS(p, expp, v)                                                 \
	__atomic_compare_exchange_n((p), (expp), (v), false,            \
	                            __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)

static size_t page_round(size_t n)
{
	size_t page = 4096;
	return (n + page - 1) / page * page;
}

size_t omi_shm_size(int type, uint64_t len)
{
	if (type == OM_TYPE_ARRAY)
		return page_round(OMI_SHM_DATA + (size_t)len * 8);
	return page_round(OMI_SHM_DATA);
}

bool omi_shm_check(const void *base, size_t size, int type, uint64_t id)
{
	const struct omi_shm_hdr *h = base;
	if (size < OMI_SHM_DATA || h->magic != OMI_SHM_MAGIC ||
	    h->type != (uint32_t)type || h->id != id || h->size != size)
		return false;
	if (type == OM_TYPE_ARRAY)
		return (h->kind == OM_INT || h->kind == OM_FLOAT) &&
		       h->len <= (size - OMI_SHM_DATA) / 8;
	return true;
}

/* --------------------------------------------------------------- futexes */

bool omi_deadline(double timeout, struct timespec *at)
{
	if (timeout < 0)
		return false;
	clock_gettime(CLOCK_MONOTONIC, at);
	/* Beyond a year is as good as forever, and keeps tv_sec in range. */
	if (timeout > 365 * 86400.0)
		timeout = 365 * 86400.0;
	double whole = floor(timeout);
	at->tv_sec += (time_t)whole;
	at->tv_nsec += (long)((timeout - whole) * 1e9);
	if (at->tv_nsec >= 1000000000L) {
		at->tv_sec++;
		at->tv_nsec -= 1000000000L;
	}
	return true;
}

bool omi_deadline_passed(const struct timespec *at)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > at->tv_sec ||
	       (now.tv_sec == at->tv_sec && now.tv_nsec >= at->tv_nsec);
}

void omi_futex_wait(uint32_t *word, uint32_t val, const struct timespec *at)
{
	/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so
	 * a loop that sleeps again after a spurious wake-up keeps the
	 * caller's total timeout. EAGAIN (the word changed), EINTR and
	 * ETIMEDOUT all send the caller back to look. */
	syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, at, NULL,
	        FUTEX_BITSET_MATCH_ANY);
}

void omi_futex_wake(uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}

/* ----------------------------------------------------------------- locks */

int omi_slock_try(struct omi_slock *l, uint32_t tok, bool recursive,
                  bool slept, uint32_t *seen)
{
	uint32_t v = LOAD(&l->word);
	for (;;) {
		uint32_t owner = v & OMI_LK_OWNER;
		if (owner == tok) {
			if (!recursive)
				break;
			if (l->depth == UINT64_MAX)
				return OM_EVALUE;
			l->depth++;
			return OM_OK;
		}
		if (owner != 0)
			break;
		/* Free: 0 or DIED (a release and a repair store exactly
		 * those). */
		uint32_t want = tok | (slept ? OMI_LK_WAIT : 0);
		if (CAS(&l->word, &v, want)) {
			l->depth = 1;
			return (v & OMI_LK_DIED) ? OM_OWNER_DIED : OM_OK;
		}
	}
	if (seen)
		*seen = v;
	return OM_ETIMEOUT;
}

bool omi_slock_mark(struct omi_slock *l, uint32_t *seen, uint32_t mark)
{
	uint32_t v = *seen;
	for (;;) {
		if ((v & OMI_LK_OWNER) == 0) {
			*seen = v;
			return false;
		}
		if ((v & mark) || CAS(&l->word, &v, v | mark)) {
			*seen = v | mark;
			return true;
		}
	}
}

int omi_slock_release(struct omi_slock *l, uint32_t tok, bool died,
                      uint32_t *old)
{
	*old = 0;
	uint32_t v = LOAD(&l->word);
	if ((v & OMI_LK_OWNER) != tok || tok == 0)
		return OM_ENOTOWNER;
	if (l->depth > 1) {
		l->depth--;
		return OM_OK;
	}
	l->depth = 0;
	/* A compare-and-swap, not an exchange: a stale release (a mapping
	 * used after its session ended and the server repaired the word)
	 * must not free the lock of the session that took it since. */
	while (!CAS(&l->word, &v, died ? OMI_LK_DIED : 0))
		if ((v & OMI_LK_OWNER) != tok)
			return OM_ENOTOWNER;
	*old = v;
	return OM_OK;
}

void omi_slock_wake(struct omi_slock *l, uint32_t old)
{
	if (old & OMI_LK_WAIT)
		omi_futex_wake(&l->word, 1);
}

uint32_t omi_slock_owner(const struct omi_slock *l)
{
	return LOAD(&l->word) & OMI_LK_OWNER;
}

bool omi_slock_repair(struct omi_slock *l, uint32_t tok, uint32_t *old)
{
	uint32_t v = LOAD(&l->word);
	*old = 0;
	/* Only the holder and marks change a held word; the marks the word
	 * had go to the caller's wake-ups in *old. */
	do
		if (tok == 0 || (v & OMI_LK_OWNER) != tok)
			return false;
	while (!CAS(&l->word, &v, OMI_LK_DIED));
	/* No depth = 0 here: a sleeper may take the word the moment it is
	 * free and set its own depth, which a late store would undo. The
	 * next taker always sets it (omi_slock_try). */
	*old = v;
	return true;
}

int omi_slock_acquire(struct omi_slock *l, uint32_t tok, bool recursive,
                      double timeout)
{
	struct timespec at;
	bool limited = omi_deadline(timeout, &at);
	bool slept = false;
	for (;;) {
		uint32_t v;
		int rc = omi_slock_try(l, tok, recursive, slept, &v);
		if (rc != OM_ETIMEOUT || timeout == 0)
			return rc;
		/* Marked before giving up: a wake-up this waiter consumed
		 * is passed on by the holder's release (see shm.h). */
		if (!omi_slock_mark(l, &v, OMI_LK_WAIT))
			continue;
		if (limited && omi_deadline_passed(&at))
			return OM_ETIMEOUT;
		omi_futex_wait(&l->word, v, limited ? &at : NULL);
		slept = true;
	}
}

/* ------------------------------------------------------------ semaphores */

int omi_ssem_try(struct omi_ssem *s)
{
	uint32_t v = LOAD(&s->value);
	while (v > 0)
		if (CAS(&s->value, &v, v - 1))
			return OM_OK;
	return OM_ETIMEOUT;
}

int omi_ssem_release(struct omi_ssem *s, uint64_t n, bool bounded,
                     uint32_t bound, uint32_t *flags)
{
	*flags = 0;
	uint32_t v = LOAD(&s->value);
	for (;;) {
		uint64_t next = (uint64_t)v + n;
		if ((bounded && next > bound) || next > UINT32_MAX)
			return OM_EVALUE;
		if (CAS(&s->value, &v, (uint32_t)next))
			break;
	}
	uint32_t f = LOAD(&s->flags);
	/* Wake every mapped sleeper: one that gives up at its deadline
	 * would otherwise swallow the wake-up of another. */
	if ((f & OMI_WAIT_SLEEP) &&
	    (__atomic_fetch_and(&s->flags, ~OMI_WAIT_SLEEP, __ATOMIC_SEQ_CST) &
	     OMI_WAIT_SLEEP))
		omi_futex_wake(&s->value, INT_MAX);
	*flags = f;
	return OM_OK;
}

int omi_ssem_acquire(struct omi_ssem *s, double timeout)
{
	struct timespec at;
	bool limited = omi_deadline(timeout, &at);
	for (;;) {
		if (omi_ssem_try(s) == OM_OK)
			return OM_OK;
		if (timeout == 0)
			return OM_ETIMEOUT;
		__atomic_fetch_or(&s->flags, OMI_WAIT_SLEEP, __ATOMIC_SEQ_CST);
		if (LOAD(&s->value) > 0)
			continue;
		if (limited && omi_deadline_passed(&at))
			return OM_ETIMEOUT;
		omi_futex_wait(&s->value, 0, limited ? &at : NULL);
	}
}

uint32_t omi_ssem_value(const struct omi_ssem *s)
{
	return LOAD(&s->value);
}

void omi_ssem_mark_srv(struct omi_ssem *s, bool on)
{
	if (on)
		__atomic_fetch_or(&s->flags, OMI_WAIT_SRV, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_and(&s->flags, ~OMI_WAIT_SRV, __ATOMIC_SEQ_CST);
}

/* ---------------------------------------------------------------- events */

uint32_t omi_sevent_set(struct omi_sevent *e)
{
	uint32_t v = LOAD(&e->word);
	for (;;) {
		if (v & OMI_EV_SET)
			return 0;
		uint32_t gen = (v + 2) & OMI_EV_GEN;
		if (CAS(&e->word, &v, gen | OMI_EV_SET))
			return v;
	}
}

void omi_sevent_wake(struct omi_sevent *e, uint32_t old)
{
	if (old & OMI_LK_WAIT)
		omi_futex_wake(&e->word, INT_MAX);
}

void omi_sevent_clear(struct omi_sevent *e)
{
	__atomic_fetch_and(&e->word, ~OMI_EV_SET, __ATOMIC_SEQ_CST);
}

bool omi_sevent_is_set(const struct omi_sevent *e)
{
	return LOAD(&e->word) & OMI_EV_SET;
}

uint32_t omi_sevent_gen(const struct omi_sevent *e)
{
	return LOAD(&e->word) & OMI_EV_GEN;
}

static bool fired(uint32_t v, uint32_t gen0)
{
	return (v & OMI_EV_SET) || (v & OMI_EV_GEN) != gen0;
}

bool omi_sevent_fired(const struct omi_sevent *e, uint32_t gen0)
{
	return fired(LOAD(&e->word), gen0);
}

/* Mark `mark` on the word unless the event fired since gen0; the word as
 * marked in *seen. False: it fired. */
static bool sevent_mark(struct omi_sevent *e, uint32_t gen0, uint32_t mark,
                        uint32_t *seen)
{
	uint32_t v = LOAD(&e->word);
	for (;;) {
		if (fired(v, gen0))
			return false;
		if ((v & mark) || CAS(&e->word, &v, v | mark)) {
			*seen = v | mark;
			return true;
		}
	}
}

void omi_sevent_mark_srv(struct omi_sevent *e)
{
	uint32_t v;
	sevent_mark(e, omi_sevent_gen(e), OMI_LK_SRV, &v);
}

int omi_sevent_wait(struct omi_sevent *e, double timeout)
{
	struct timespec at;
	bool limited = omi_deadline(timeout, &at);
	uint32_t gen0 = omi_sevent_gen(e), v;
	for (;;) {
		if (omi_sevent_fired(e, gen0))
			return OM_OK;
		if (timeout == 0)
			return OM_ETIMEOUT;
		if (!sevent_mark(e, gen0, OMI_LK_WAIT, &v))
			return OM_OK;
		if (limited && omi_deadline_passed(&at))
			return OM_ETIMEOUT;
		omi_futex_wait(&e->word, v, limited ? &at : NULL);
	}
}

/* ---------------------------------------------------------------- values */

typedef unsigned __int128 u128;

u128 omi_svalue_load(struct omi_svalue *v)
{
	/* A 16-byte load is a compare-and-swap that fails (or swaps 0 for
	 * 0): the one instruction that reads both halves at once. It is
	 * inlined (cmpxchg16b with -mcx16), never libatomic's lock table,
	 * which would not be shared between processes. */
	return __sync_val_compare_and_swap(&v->cell, (u128)0, (u128)0);
}

u128 omi_svalue_peek(struct omi_svalue *v)
{
	const uint64_t *half = (const uint64_t *)&v->cell;
	uint64_t lo = __atomic_load_n(&half[0], __ATOMIC_RELAXED);
	uint64_t hi = __atomic_load_n(&half[1], __ATOMIC_RELAXED);
	return (u128)lo | ((u128)hi << 64);
}

bool omi_svalue_cas(struct omi_svalue *v, u128 *expected, u128 desired)
{
	u128 was = __sync_val_compare_and_swap(&v->cell, *expected, desired);
	if (was == *expected)
		return true;
	*expected = was;
	return false;
}

bool omi_svalue_fits(const om_item *it)
{
	return it->kind == OM_INT || it->kind == OM_FLOAT ||
	       it->kind == OM_BOOL;
}

u128 omi_svalue_pack(const om_item *it)
{
	uint64_t bits = 0;
	switch (it->kind) {
	case OM_INT:
		bits = (uint64_t)it->i;
		break;
	case OM_FLOAT:
		memcpy(&bits, &it->f, sizeof bits);
		break;
	case OM_BOOL:
		bits = it->b ? 1 : 0;
		break;
	default:
		return (u128)OMI_SV_SERVER << 64;
	}
	return (u128)bits | ((u128)it->kind << 64);
}

bool omi_svalue_unpack(u128 cell, om_item *out)
{
	uint64_t bits = (uint64_t)cell;
	uint64_t kind = (uint64_t)(cell >> 64);
	switch (kind) {
	case OM_INT:
		*out = (om_item){.kind = OM_INT, .i = (int64_t)bits};
		return true;
	case OM_FLOAT:
		*out = (om_item){.kind = OM_FLOAT};
		memcpy(&out->f, &bits, sizeof bits);
		return true;
	case OM_BOOL:
		*out = (om_item){.kind = OM_BOOL, .b = bits != 0};
		return true;
	default:
		return false;
	}
}

/* ---------------------------------------------------------------- arrays */

om_item omi_sarray_get(void *base, om_kind kind, size_t i)
{
	uint64_t bits = __atomic_load_n(&omi_shm_data(base)[i],
	                                 __ATOMIC_ACQUIRE);
	if (kind == OM_INT)
		return (om_item){.kind = OM_INT, .i = (int64_t)bits};
	om_item it = {.kind = OM_FLOAT};
	memcpy(&it.f, &bits, sizeof bits);
	return it;
}

int omi_sarray_elem(om_kind kind, const om_item *it, uint64_t *bits)
{
	double f;
	if (kind == OM_INT) {
		if (it->kind == OM_INT)
			*bits = (uint64_t)it->i;
		else if (it->kind == OM_BOOL)
			*bits = it->b ? 1 : 0;
		else
			return OM_ETYPE;
		return OM_OK;
	}
	switch (it->kind) {
	case OM_FLOAT:
		f = it->f;
		break;
	case OM_INT:
		f = (double)it->i;
		break;
	case OM_BOOL:
		f = it->b ? 1.0 : 0.0;
		break;
	default:
		return OM_ETYPE;
	}
	memcpy(bits, &f, sizeof f);
	return OM_OK;
}

void omi_sarray_put(void *base, size_t i, uint64_t bits)
{
	__atomic_store_n(&omi_shm_data(base)[i], bits, __ATOMIC_RELEASE);
}

int omi_sarray_add(void *base, om_kind kind, size_t i, const om_item *delta,
                   om_item *out)
{
	uint64_t *p = &omi_shm_data(base)[i];
	uint64_t bits = __atomic_load_n(p, __ATOMIC_ACQUIRE);
	for (;;) {
		om_item cur, sum;
		if (kind == OM_INT) {
			cur = (om_item){.kind = OM_INT, .i = (int64_t)bits};
		} else {
			cur = (om_item){.kind = OM_FLOAT};
			memcpy(&cur.f, &bits, sizeof bits);
		}
		int rc = omi_item_add(&cur, delta, &sum);
		if (rc != OM_OK)
			return rc;
		/* int + float is a float, which an int array cannot hold. */
		uint64_t next;
		rc = omi_sarray_elem(kind, &sum, &next);
		if (rc != OM_OK)
			return rc;
		if (__atomic_compare_exchange_n(p, &bits, next, false,
		                                __ATOMIC_SEQ_CST,
		                                __ATOMIC_ACQUIRE)) {
			*out = sum; /* a float for a float array */
			return OM_OK;
		}
	}
}
