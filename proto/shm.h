/*
 * shm.h — shared memory: the layout of a segment and the rules that move
 * the state in it, one implementation for both sides (shm.c).
 *
 * The server makes one segment per object of a shared type (an ARRAY, a
 * VALUE, a LOCK, a SEM, an EVENT): a memfd sealed against growing and
 * shrinking, mapped by the server and passed to each local client that asks
 * (MAP in objmgr.proto). One segment per object, not slabs of many: a
 * mapping then grants exactly the one object the session may reach (a
 * capability), as a handle does. The server holds the state there for RPC
 * clients as well, and applies their calls with the same functions, so a
 * mapped client and an RPC client see one object.
 *
 * Every word a client can write is checked where the server reads it: the
 * server keeps its own copy of everything fixed (length, kind, bound) and
 * never indexes anything with a value read from a segment.
 *
 * Words and their states (all accessed with __atomic builtins, seq_cst
 * where two words must be ordered against each other — the wait flags
 * against the state they guard — so a waiter that marks itself and then
 * checks the state, and a releaser that changes the state and then checks
 * the mark, cannot both miss):
 *
 *  - lock word: the holder's session token (OMI_LK_OWNER bits; 0 free),
 *    OMI_LK_DIED (free, and the last holder's connection ended holding it:
 *    the next acquirer is told OM_OWNER_DIED and clears it), OMI_LK_WAIT
 *    (a mapped client may sleep on the word: the releaser wakes one) and
 *    OMI_LK_SRV (the server has parked RPC acquirers: the releaser kicks the
 *    server's kick socket). A release stores 0 (or DIED), clearing both marks;
 *    a waiter that slept acquires with OMI_LK_WAIT set, so the others still
 *    asleep are woken in turn (Drepper's "Futexes are tricky", mutex 3, as
 *    glibc's lowlevellock): a waiter always retries the lock after waking
 *    and marks the word again before it gives up at its deadline, so a
 *    wake-up is never lost on a waiter that leaves. The depth (an RLock's
 *    count) is written only by the holder.
 *  - semaphore: the value is the futex word; `flags` holds OMI_WAIT_SLEEP
 *    (mapped sleepers: a release wakes them all, and the ones that find no
 *    permit mark and sleep again) and OMI_WAIT_SRV (server-parked acquirers).
 *  - event word: bit 0 the flag, bits 1-28 a generation bumped by every
 *    set, so a waiter woken by a set returns even if a clear came before it
 *    ran (as Python's Event.wait); OMI_LK_SRV and OMI_LK_WAIT as for a lock.
 *  - value: one 16-byte cell {payload, kind} changed only by a 16-byte
 *    compare-and-swap, so a reader never sees a torn or mixed item; kind
 *    OMI_SV_SERVER means the server holds the item (a str, bytes, nil or
 *    ref) and the call must go to it.
 *  - array: the elements are 8-byte words loaded and stored atomically;
 *    add is a compare-and-swap loop (overflow checked, doubles too); the
 *    array's lock (om_array_lock, an RLock) is a lock word in the segment.
 *
 * A process killed at any instruction leaves each word in one of the states
 * above: every change is one atomic instruction. What only the dead
 * session can undo — a lock it held — the server repairs when the
 * connection ends (omi_slock_repair), which is the only way a token
 * leaves a lock word besides its holder's release. Marks a dead waiter
 * left cost at most one extra wake-up.
 */
#ifndef OMI_SHM_H
#define OMI_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "objmgr.h"

#define OMI_SHM_MAGIC 0x48534d4fu /* "OMSH" */
#define OMI_SHM_STATE 64          /* offset of the type's state */
#define OMI_SHM_DATA  128         /* offset of an array's elements */

/* At offset 0 of every segment; written by the server before the segment
 * is passed, read by clients (and checked: omi_shm_check). */
struct omi_shm_hdr {
	uint32_t magic;
	uint32_t type;  /* OM_TYPE_* */
	uint64_t id;    /* the object's id */
	uint64_t size;  /* bytes of the segment */
	uint64_t len;   /* ARRAY: elements; SEM: the initial value */
	uint32_t kind;  /* ARRAY: OM_INT or OM_FLOAT */
	uint32_t flags; /* LOCK: OM_RECURSIVE; SEM: OM_BOUNDED */
	/* Server -> clients: nonzero while a subscriber watches the object
	 * (WATCH). A mapped client's write then sets `dirty` and kicks the
	 * server, which sends the watchers a "MAPPED" event. Not part of
	 * what MAP rewrites (the fields above). */
	uint32_t watched;
	/* Clients -> server: written while watched; the server swaps it
	 * back to 0 as it sends the event. */
	uint32_t dirty;
};

/* The header's fields the server writes at every MAP (those before the
 * watch marks, which change on their own). */
_Static_assert(sizeof(struct omi_shm_hdr) <= OMI_SHM_STATE,
               "the header fits before the state");

#define OMI_SHM_HDR_FIXED offsetof(struct omi_shm_hdr, watched)

/** Whether a subscriber watches the segment at `base`: what a mapped
 *  write checks after it is done, one relaxed load. */
static inline bool omi_shm_watched(const void *base)
{
	return __atomic_load_n(&((const struct omi_shm_hdr *)base)->watched,
	                       __ATOMIC_RELAXED) != 0;
}

/** A mapped write was made while watched (before the kick). */
static inline void omi_shm_dirty(void *base)
{
	__atomic_store_n(&((struct omi_shm_hdr *)base)->dirty, 1,
	                 __ATOMIC_RELEASE);
}

/** The server: take the mark left by omi_shm_dirty (true if set). */
static inline bool omi_shm_take_dirty(void *base)
{
	return __atomic_exchange_n(&((struct omi_shm_hdr *)base)->dirty, 0,
	                           __ATOMIC_ACQ_REL) != 0;
}

/** The server: mark the segment watched or not. */
static inline void omi_shm_set_watched(void *base, bool on)
{
	__atomic_store_n(&((struct omi_shm_hdr *)base)->watched, on ? 1u : 0u,
	                 __ATOMIC_RELAXED);
}

/* Session tokens fit in the owner bits; 0 is no session. */
#define OMI_LK_OWNER 0x1fffffffu
#define OMI_LK_DIED  0x20000000u
#define OMI_LK_SRV   0x40000000u
#define OMI_LK_WAIT  0x80000000u

#define OMI_WAIT_SLEEP 1u
#define OMI_WAIT_SRV   2u

struct omi_slock {
	uint32_t word;
	uint32_t pad;
	uint64_t depth; /* written by the holder only */
};

struct omi_ssem {
	uint32_t value; /* the futex word */
	uint32_t flags; /* OMI_WAIT_* */
};

struct omi_sevent {
	uint32_t word;
};

#define OMI_SV_SERVER 0x100u /* kind: the server holds the item */

struct omi_svalue {
	_Alignas(16) unsigned __int128 cell; /* payload | kind << 64 */
};

/* Bytes of the segment for an object of `type` (len: an array's length). */
size_t omi_shm_size(int type, uint64_t len);
/** Whether a mapping of `size` bytes is a well-formed segment of object
 *  (id, type): magic, type, id, and a size that holds the state. */
bool omi_shm_check(const void *base, size_t size, int type, uint64_t id);
/** The type's state in a segment (OMI_SHM_STATE) and an array's elements. */
static inline void *omi_shm_state(void *base)
{
	return (char *)base + OMI_SHM_STATE;
}
static inline uint64_t *omi_shm_data(void *base)
{
	return (uint64_t *)((char *)base + OMI_SHM_DATA);
}

/* ------------------------------------------------------------- futexes */

/** An absolute CLOCK_MONOTONIC deadline `timeout` seconds from now;
 *  false (no deadline) for a negative timeout. */
bool omi_deadline(double timeout, struct timespec *at);
/** Whether the deadline has passed. */
bool omi_deadline_passed(const struct timespec *at);
/** Sleep while *word == val, until woken or `at` (NULL: no deadline).
 *  Shared (not FUTEX_PRIVATE): the word is in a segment other processes
 *  map. Returns on any wake-up, spurious ones included: callers loop. */
void omi_futex_wait(uint32_t *word, uint32_t val, const struct timespec *at);
/** Wake up to n sleepers on word. */
void omi_futex_wake(uint32_t *word, int n);

/* ----------------------------------------------------------------- locks */

/**
 * Try to take lock `l` for session `tok` now: OM_OK, OM_OWNER_DIED (taken;
 * its last holder died), OM_EVALUE (an RLock's depth would overflow), or
 * OM_ETIMEOUT (held by another, or by tok on a plain lock, which blocks
 * like any acquirer) with the word seen in *seen. `slept`: the caller
 * slept on it, so takes it marked OMI_LK_WAIT (see above).
 */
int omi_slock_try(struct omi_slock *l, uint32_t tok, bool recursive, bool slept,
                  uint32_t *seen);
/** Set `mark` (OMI_LK_WAIT or OMI_LK_SRV) on the held word *seen;
 *  false if the lock turned out free (retry it). *seen is updated. */
bool omi_slock_mark(struct omi_slock *l, uint32_t *seen, uint32_t mark);
/**
 * Release one level for session `tok`: OM_OK or OM_ENOTOWNER. When the
 * lock becomes free, *old is the word it held (0 otherwise): the caller
 * wakes a sleeper if OMI_LK_WAIT (omi_slock_wake) and kicks the server if
 * OMI_LK_SRV. `died`: leave OMI_LK_DIED for the next acquirer (an inner
 * acquisition that was told OM_OWNER_DIED but must not swallow it).
 */
int omi_slock_release(struct omi_slock *l, uint32_t tok, bool died,
                      uint32_t *old);
/** Wake what the released word `old` says is waiting on a mapping. */
void omi_slock_wake(struct omi_slock *l, uint32_t old);
/** The holder's token (0: free). */
uint32_t omi_slock_owner(const struct omi_slock *l);
/** Session `tok` ended: if it holds `l`, free it as owner-died, set *old
 *  as a release does, and return true. The server's alone. */
bool omi_slock_repair(struct omi_slock *l, uint32_t tok, uint32_t *old);
/**
 * A mapped client's acquire: blocks on the futex until taken or the
 * timeout (seconds; < 0 forever; 0 tries once). Same codes as
 * omi_slock_try.
 */
int omi_slock_acquire(struct omi_slock *l, uint32_t tok, bool recursive,
                      double timeout);

/* ------------------------------------------------------------ semaphores */

/** Take a permit now: OM_OK or OM_ETIMEOUT. */
int omi_ssem_try(struct omi_ssem *s);
/** Add n permits (n >= 1): OM_OK, or OM_EVALUE over `bound` (bounded) or
 *  UINT32_MAX (nothing changed). Wakes mapped sleepers; *flags gets the
 *  flags seen (OMI_WAIT_SRV: the caller kicks the server). */
int omi_ssem_release(struct omi_ssem *s, uint64_t n, bool bounded,
                     uint32_t bound, uint32_t *flags);
/** A mapped client's acquire (timeout as omi_slock_acquire). */
int omi_ssem_acquire(struct omi_ssem *s, double timeout);
/** The number of free permits now. */
uint32_t omi_ssem_value(const struct omi_ssem *s);
/** Set OMI_WAIT_SRV (the server parks acquirers) or clear it (none left). */
void omi_ssem_mark_srv(struct omi_ssem *s, bool on);

/* ---------------------------------------------------------------- events */

#define OMI_EV_SET 1u
#define OMI_EV_GEN 0x1ffffffeu

/** Raise the flag; returns the word before (0 bits of interest if it was
 *  already set): the caller wakes sleepers (omi_sevent_wake) and kicks
 *  the server on OMI_LK_SRV. */
uint32_t omi_sevent_set(struct omi_sevent *e);
void omi_sevent_wake(struct omi_sevent *e, uint32_t old);
void omi_sevent_clear(struct omi_sevent *e);
bool omi_sevent_is_set(const struct omi_sevent *e);
/** The generation now (what a waiter compares against). */
uint32_t omi_sevent_gen(const struct omi_sevent *e);
/** Whether a waiter that began at generation gen0 may return: the flag is
 *  up, or a set happened since. */
bool omi_sevent_fired(const struct omi_sevent *e, uint32_t gen0);
/** Mark the word OMI_LK_SRV (server-parked waiters) unless fired. */
void omi_sevent_mark_srv(struct omi_sevent *e);
/** A mapped client's wait: OM_OK or OM_ETIMEOUT. */
int omi_sevent_wait(struct omi_sevent *e, double timeout);

/* ---------------------------------------------------------------- values */

/** The cell now, read atomically. */
unsigned __int128 omi_svalue_load(struct omi_svalue *v);
/** The cell read as two halves, which another process may change in
 *  between: a guess for omi_svalue_cas(), never a value to act on. Saves
 *  the 16-byte load (a locked instruction) when the guess is right. */
unsigned __int128 omi_svalue_peek(struct omi_svalue *v);
/** Replace *expected by `desired`: false if the cell held something else,
 *  which is then in *expected (read atomically). */
bool omi_svalue_cas(struct omi_svalue *v, unsigned __int128 *expected,
                    unsigned __int128 desired);
/** A number or bool item as a cell; OMI_SV_SERVER for any other item. */
unsigned __int128 omi_svalue_pack(const om_item *it);
/** The item a cell holds: false if it is with the server (or garbage). */
bool omi_svalue_unpack(unsigned __int128 cell, om_item *out);
/** Whether an item can live in the cell (a number or a bool). */
bool omi_svalue_fits(const om_item *it);

/* ---------------------------------------------------------------- arrays */

/** Element i (not range-checked here) as an item of the array's kind. */
om_item omi_sarray_get(void *base, om_kind kind, size_t i);
/** `it` as an element of an array of `kind`: an int array takes ints and
 *  bools, a float array any number. OM_OK or OM_ETYPE. */
int omi_sarray_elem(om_kind kind, const om_item *it, uint64_t *bits);
void omi_sarray_put(void *base, size_t i, uint64_t bits);
/** Atomic a[i] += delta (Python's rules): OM_OK with *out the new element,
 *  OM_ETYPE (operands, or a float sum into an int array), OM_EVALUE
 *  (int64 overflow). Nothing changes on error. */
int omi_sarray_add(void *base, om_kind kind, size_t i, const om_item *delta,
                   om_item *out);

/* The messages both sides give (Python's words). */
#define OMI_MSG_NOT_INT   "'%s' object cannot be interpreted as an integer"
#define OMI_MSG_NOT_REAL  "must be real number, not %s"
#define OMI_MSG_ADD_TYPES "unsupported operand type(s) for +=: '%s' and '%s'"
#define OMI_MSG_OVERFLOW  "int64 overflow in %lld + %lld"

#endif /* OMI_SHM_H */
