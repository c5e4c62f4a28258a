/*
 * conn.h — a client connection: its socket, buffers and session state.
 *
 * A connection is a session. It holds references on the objects it has
 * handles to (refs), and "watches" the objects where it has session state
 * (a lock it holds, a parked call): when it ends, each watched object's
 * type is told (type_def.conn_gone) and releases what the connection held,
 * then every reference is dropped.
 */
#ifndef CONN_H
#define CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth.h"
#include "look.h"
#include "map.h"
#include "obj.h"

struct event;
struct event_base;

/* Descriptors waiting to be passed on one connection (MAP's bound), all
 * sent with one sendmsg: a client's control buffer takes this many. */
enum { CONN_FDS_MAX = 64 };

struct conn {
	int fd;
	uid_t uid;
	pid_t pid;
	struct event *rev, *wev;
	struct omi_buf in, out;
	struct omi_arena arena;
	bool hello;        /* Hello exchanged */
	bool closing;      /* close once `out` is flushed */
	bool lost;         /* an answer could not be queued: close at the
	                    * next flush, without writing (conn_send) */
	bool dead;         /* socket closed; the struct waits for refcnt 0 */
	bool flush_queued; /* on the flush list */
	bool write_armed;  /* wev added: the socket was full */
	bool paused;       /* its answers pile up: its requests wait */
	size_t charged;    /* buffer bytes counted in stats.buffered */
	struct event *hs_timer; /* until the Hello: --handshake-timeout */
	struct u64map refs;   /* obj id -> handle count (as a pointer value) */
	struct u64map watch;  /* obj id -> watch count (as a pointer value) */
	struct u64map taken;  /* obj id -> refs handed over by take ops that
	                       * no handle has adopted yet (ADDREF adopts) */
	struct u64map parked; /* request id -> its waiter, while parked */
	struct u64map seen;   /* obj ids handed to it in answers (OM_REF) */
	int passed_fd;        /* a descriptor it sent (SCM_RIGHTS), for FORK */
	unsigned nparked;     /* requests parked (limits.max_inflight) */
	unsigned refcnt;      /* parked waiters and pending callbacks pin it */
	uint64_t serial;      /* connection number, for logs */
	/* The session token (1..OMI_LK_OWNER, unique among open
	 * connections, sent in the Hello): what a lock word in a segment
	 * holds while this session holds the lock. */
	uint32_t token;
	bool stranger; /* TCP, not authenticated yet (conn.c's budget) */
	bool local;    /* on a Unix socket: descriptors can be passed, and
	                * uid and pid are the kernel's (else uid -1 and the
	                * pid the Hello claims: never to signal or inspect) */
	char addr[64]; /* the peer: "unix", "tcp:1.2.3.4:5678", "tcp:[::1]:5" */
	/* TCP: the challenge sent at accept, which the client's proof in its
	 * Hello must answer (objmgr.proto, Authentication). */
	uint8_t challenge[OMI_CHALLENGE_LEN];
	/* Descriptors queued to pass (conn_send_fds), the connection's own:
	 * attached to the next sendmsg that writes a byte, which is at or
	 * before their answer's frame, so they arrive no later than it. */
	int out_fds[CONN_FDS_MAX];
	unsigned nout_fds;
	struct look_sub look; /* subscriptions, counters (look.c) */
	struct conn *prev, *next;
	struct conn *flush_next;
};

/** Take over an accepted socket. */
void conn_accept(int fd);
/** Refuse an accepted socket before any request: send a Hello with status
 *  `code` and `msg` (best effort) and close it. */
void conn_refuse(int fd, int code, const char *msg);

/**
 * Queue `resp` on the connection and arrange for it to be written at the
 * end of the loop iteration (responses of one burst go out in one write).
 * A response too large for the frame limit becomes an ETOOBIG error; one
 * that cannot be queued for want of memory becomes an ENOMEM error, and if
 * even that cannot be queued the connection is closed at the next flush —
 * never here, inside the operation that answers. Does nothing on a dead
 * connection.
 */
void conn_send(struct conn *conn, Objmgr__Response *resp);
/**
 * conn_send, passing fds[0..n) with the answer (SCM_RIGHTS; resp->fds is
 * set to n). The descriptors are the connection's from then on: queued if
 * the answer is queued as it is, closed otherwise (an answer replaced by
 * an error passes none). The caller has checked conn_fds_room(); if there
 * is no room after all the connection is closed at the next flush.
 */
void conn_send_fds(struct conn *conn, Objmgr__Response *resp, const int *fds,
                   size_t n);
/** Whether `n` more descriptors may be queued on the connection. */
bool conn_fds_room(const struct conn *conn, size_t n);
/** Make room for `n` more bytes of answers in the connection's output, so
 *  that queueing them later cannot fail for want of memory.
 *  @return OM_OK or OM_ENOMEM. */
int conn_reserve(struct conn *conn, size_t n);
/** Queue the server's Hello (the first frame of a connection). */
void conn_send_hello(struct conn *conn, const Objmgr__Hello *hello);
/** Answer request `id` with just a status (and optional message). */
void conn_send_status(struct conn *conn, uint64_t id, int code,
                      const char *msg);

/** Write every connection's queued responses. Run by the loop once per
 *  iteration (main.c), after every callback of that iteration. */
void conns_flush(void);

/** The descriptor the peer last passed with SCM_RIGHTS, now the caller's
 *  (-1 if none). At most one is kept per connection: a newer one replaces
 *  (and closes) an older one. */
int conn_take_fd(struct conn *conn);
/** Call fn(o, arg) for every object `conn` holds a reference on (handles
 *  and taken references). */
void conn_each_ref(struct conn *conn, void (*fn)(struct obj *o, void *arg),
                   void *arg);

/** False if the peer is known to be gone (closed, killed): a value handed
 *  to it would be lost. Costs one poll(2); use before a hand-off only. */
bool conn_alive(struct conn *conn);

/** Whether `conn` may reach `o`: it holds a reference (a handle, a taken
 *  one), watches it, or was handed it as an OM_REF in an answer. Object
 *  ids are random, and a session reaches only what it opened, inherited
 *  (ADOPT) or was given. */
bool conn_reaches(struct conn *conn, const struct obj *o);
/** Note that an answer hands `id` to `conn` (an OM_REF result). */
void conn_saw(struct conn *conn, uint64_t id);

/** Hold one more handle reference on `o` for this connection.
 *  @return OM_OK or OM_ENOMEM. */
int conn_ref_add(struct conn *conn, struct obj *o);
/** A reference that came with an OM_REF item taken out of a container
 *  (pop, queue get): held like a handle's until ADDREF adopts it or the
 *  connection ends. @return OM_OK or OM_ENOMEM. */
int conn_ref_take(struct conn *conn, struct obj *o);
/** Adopt a taken reference for a new handle: true if there was one (the
 *  handle then owns it, and no new reference is taken). */
bool conn_ref_adopt(struct conn *conn, struct obj *o);
/** Drop one handle reference. @return OM_OK, or OM_EINVAL if the
 *  connection holds none on `o`. */
int conn_ref_drop(struct conn *conn, struct obj *o);

/** Register session state of `conn` in `o` (keeps `o` alive and has its
 *  type's conn_gone() called when the connection ends); counted, so each
 *  conn_watch() is undone by one conn_unwatch(). @return OM_OK/OM_ENOMEM. */
int conn_watch(struct conn *conn, struct obj *o);
void conn_unwatch(struct conn *conn, struct obj *o);

void conn_incref(struct conn *conn);
void conn_decref(struct conn *conn);

/** Whether `token` is the session token of an open connection (one not
 *  yet through conn_close()). */
bool conn_token_live(uint32_t token);

/** Call fn(conn, arg) for every open connection, oldest first. */
void conns_each(void (*fn)(struct conn *conn, void *arg), void *arg);
/** The connection number of the session holding `token` (0: none). */
uint64_t conn_serial_of_token(uint32_t token);

/** Close every connection (server stopping). */
void conns_close_all(void);

/* dispatch.c: index every op table (once, at start), and serve one frame
 * that arrived on `conn`. */
void dispatch_init(void);
void dispatch_frame(struct conn *conn, const uint8_t *body, size_t len);

#endif /* CONN_H */
