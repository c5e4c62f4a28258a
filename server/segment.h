/*
 * segment.h — the shared-memory side of the server (segment.c): one
 * segment per object of a shared type, MAP (passing it to a local client),
 * the server's kick socket and the kicks it triggers.
 *
 * A segment holds an object's state in the layout of proto/shm.h; the
 * type's file moves that state only with the functions of proto/shm.c,
 * the same ones a mapped client runs. The server keeps its own copy of
 * everything fixed (an array's length and kind, a semaphore's bound) and
 * never reads the header back.
 *
 * Kicks: a call that must wait is parked (waiter.h) and its object's word
 * marked OMI_LK_SRV / OMI_WAIT_SRV; a mapped client's release that finds
 * the mark writes to the server's kick socket, and the server then retries the
 * parked calls of every object that has some (kick_arm). A type embeds a
 * struct kick in its state and arms it when it parks a call.
 */
#ifndef SEGMENT_H
#define SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "obj.h"
#include "shm.h"

struct segment {
	void *base;  /* struct omi_shm_hdr at 0; the state at OMI_SHM_STATE */
	size_t size; /* bytes, charged to --max-memory */
	int fd;      /* the memfd; -1: private memory, which MAP refuses */
	/* The header as made, rewritten at every MAP and sent in its answer:
	 * a client may have scribbled on the segment's copy. */
	struct omi_shm_hdr hdr;
};

/**
 * Make the segment of a new object of `type` (OM_TYPE_*): a sealed memfd
 * of omi_shm_size(type, len) bytes, mapped, zero-filled, its header
 * written (magic, type, size, len, kind, flags; the id is written by MAP,
 * once the registry has given one). If the memfd cannot be made (out of
 * descriptors, out of memory) the state lives in private zeroed memory of
 * the same layout, with fd -1: the object works for every client through
 * RPC. @return OM_OK, or OM_ENOMEM set on c (the memory limit, or no
 * memory at all); nothing is held then.
 */
int segment_init(struct segment *s, struct call *c, int type, uint64_t len,
                 uint32_t kind, uint32_t flags);
/** Unmap and close (or free) it, and refund its bytes: the object's fini. */
void segment_fini(struct segment *s);

/** Fault injection (server/fault.c) sets it: when it returns true, the
 *  next segment is made in private memory as if memfd_create had failed. */
extern bool (*segment_fail_hook)(void);

/**
 * MAP target -> OK, num = the segment's size, fds = 2: dup()s of the
 * segment's memfd and of the server's kick socket ride with the answer
 * (conn_send_fds). EINVAL: the object has no segment (its type is not
 * shared), is in private memory, the connection is not on a Unix socket,
 * or the server has no kick socket; ELIMIT: too many descriptors are waiting
 * to be sent on this connection, or the server is out of descriptors.
 */
int serve_map(struct obj *o, struct call *c);

struct kick {
	/* Retry the object's parked calls against its shared words; return
	 * whether some are still parked (false takes it off the list). */
	bool (*fn)(struct kick *k);
	struct kick *prev, *next; /* NULL when not armed */
};

/** Put k on the list of objects to retry at the next kick (k->fn
 *  set); nothing if it is there. A type arms it when it parks a call. */
void kick_arm(struct kick *k);
/** Take k off that list, if on it (the object's fini). */
void kick_disarm(struct kick *k);

/** Close the kick socket (server stopping, after registry_free()). */
/**
 * Connection `conn` is ending (conn_close, after locks_conn_gone, before
 * its references go). Its process may have died between changing a word
 * and the wake-up or kick that follows (a woken lock sleeper killed before
 * it could pass the wake-up on, a set or a release cut short): wake every
 * sleeper on the segments of the objects it had handles on, and retry
 * every parked call. Each looks again and marks anew.
 */
void segments_conn_gone(struct conn *conn);

void segments_stop(void);

#endif /* SEGMENT_H */
