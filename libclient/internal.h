/*
 * internal.h — libobjmgr's insides: the client, handles, and the one RPC
 * path every public call goes through. Nothing here is exported.
 *
 * Handles are not pointers to memory: a handle value encodes a slot in a
 * process-wide table plus the slot's generation (handle.c), so a released
 * or garbage handle is detected (OM_EINVAL) instead of being dereferenced.
 *
 * Every call is a request plus a completion (omi_done_fn) that turns the
 * response into the caller's outputs. omi_rpc() packs the request and
 * makes it a pending entry (struct omi_pending) of the client's one I/O
 * engine (pipeline.c), with its completion and outputs. A synchronous call
 * is a pipeline of that one entry, completed before omi_rpc() returns; in
 * a pipeline the entries pile up and are completed at om_pipeline_end().
 */
#ifndef OMI_INTERNAL_H
#define OMI_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "objmgr.h"
#include "wire.h"

struct omi_handle;

#define OMI_MAX_FRAME 0x7fffffffu /* a frame larger is garbage */

/* Descriptors received with SCM_RIGHTS and not yet taken by an answer
 * (MAP's come two at a time, one answer at once): more queued than this is
 * a server out of step, and the connection is lost. */
#define OMI_RFDS_MAX 64
/* Descriptors one answer may name (MAP's two). */
#define OMI_ANSWER_FDS 2

/**
 * A completion: turn a successful response into the caller's outputs
 * `out` and `out2` (what they point to is the completion's business).
 * Runs only when the response's status is a success, and writes outputs
 * only when it returns OM_OK. @return OM_OK, OM_EPROTO for an answer of
 * the wrong shape, or OM_ENOMEM.
 */
typedef int omi_done_fn(const Objmgr__Response *r, void *out, void *out2);

/** What a pending entry is (struct omi_args.pend). */
enum omi_pend_kind {
	OMI_PEND_CALL = 0, /* a user's call: a place in rcs and the result */
	OMI_PEND_QUIET,    /* internal (a RELEASE): waited for, not counted */
	OMI_PEND_ADDREF,   /* a forked child's first ADDREF of handle `out` */
	OMI_PEND_LATER,    /* sent without waiting (omi_rpc_later): its
	                    * answer is read with the next call's, and
	                    * dropped */
};

/** One request sent or to be sent, waiting for its answer. */
struct omi_pending {
	uint64_t id; /* the request's id */
	omi_done_fn *done;
	void *out, *out2;
	int rc;             /* the call's code, once answered */
	unsigned char kind; /* an omi_pend_kind */
	bool answered;
};

/** A client's pending entries (pipeline.c): one for a synchronous call,
 *  or a pipeline's. */
struct omi_pipe {
	bool on;               /* between om_pipeline_begin and _end */
	uint64_t gen;          /* the fork generation that began it */
	struct omi_pending *v; /* in request (= call) order */
	size_t n, cap;
	size_t left;   /* entries still without an answer */
	size_t failed; /* index of the first failed call seen */
};

struct om_client {
	int fd;
	/* The socket path, or for TCP "tcp:HOST:PORT" (for messages). */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct omi_addr addr; /* what dial() connects to */
	/* TCP: the shared key (client.c), copied at connect and wiped at
	 * om_disconnect; a forked child dials with it. NULL on Unix. */
	uint8_t *key;
	size_t keylen;
	uint64_t gen;     /* fork generation of the connection */
	uint64_t next_id; /* request ids */
	bool lost;        /* the connection failed: OM_ECONN from now on */
	/* Held (recursively) by omi_rpc() for the whole call: fork() in
	 * another thread (client.c's fork_prepare) skips a client that a
	 * thread is inside a call on, instead of writing FORK into the
	 * middle of that call; `fork_locked`: fork_prepare holds it. */
	pthread_mutex_t call_mu;
	bool fork_locked;
	struct omi_buf rbuf, wbuf;
	struct omi_arena arena; /* one call's request and response */
	char errmsg[512];
	/* errmsg's whole text when it is longer than errmsg holds (a pool
	 * task's failure: omi_fail), or NULL; om_errmsg() gives it while
	 * errmsg still begins it. */
	char *errlong;
	int life_fd;     /* om_spawn: write end of the server's life pipe */
	pid_t spawner;   /* the process that spawned the server */
	char *spawn_dir; /* private socket directory to remove */
	struct omi_handle *handles; /* every handle handed out (a list) */
	struct omi_pipe pipe;
	/* fork() without a window (client.c): a descriptor the next write
	 * passes with SCM_RIGHTS (FORK's pipe), and in a forked child the
	 * hold its session adopts: the token and the pipe's write end. */
	int pass_fd;
	int hold_fd;
	uint64_t hold_token;
	om_client *cprev, *cnext; /* this process's clients (client.c) */
	/* Shared memory (map.c): whether handles may be mapped (OBJMGR_SHM
	 * not "0" at om_connect, a Unix socket); this connection's session
	 * token (Hello.session), the holder a mapped lock word names; the
	 * server's kick socket, kicked after a release that finds RPC callers
	 * parked (-1: none yet). */
	bool may_map;
	uint32_t session;
	int kick_fd;
	/* Descriptors received (pipeline.c): the FIFO recvmsg() fills, in
	 * arrival order, and those of the answer being completed, which its
	 * completion may take (setting them to -1); the rest are closed. */
	int rfds[OMI_RFDS_MAX];
	size_t rfd_head, rfd_n;
	bool rfd_over; /* queue_fd() closed one: the FIFO was full */
	int afds[OMI_ANSWER_FDS];
	size_t n_afds;
};

struct omi_handle {
	om_client *c;
	uint64_t id;
	int type;
	uint64_t gen; /* fork generation whose connection holds the reference */
	struct omi_handle *prev, *next;
	void *value; /* the encoded handle given to the user */
	/* The object's segment mapped in this process (map.c), or NULL: its
	 * calls go to the server. What is fixed about the object is copied
	 * from the header once checked, and never read back from the
	 * segment, where any other client could change it: an array's
	 * length and kind, a lock's or semaphore's flags, a bound. */
	void *shm;
	size_t shm_size;
	uint64_t shm_len;   /* ARRAY: elements; SEM: the bound */
	om_kind shm_kind;   /* ARRAY: OM_INT or OM_FLOAT */
	uint32_t shm_flags; /* LOCK: OM_RECURSIVE; SEM: OM_BOUNDED */
	/* State a type keeps with its handle (a pool's, pool.c), or NULL,
	 * and what ends it: om_release() runs ext_fini(h, true) before it
	 * gives the reference back, so the type may still call on the
	 * object; omi_handle_free() runs what is left with `live` false
	 * (om_disconnect: no call can be made). */
	void *ext;
	void (*ext_fini)(struct omi_handle *h, bool live);
};

/* ---------------------------------------------------------------- forks */

/** Register the fork handler (once per process; om_connect calls it). */
void omi_fork_init(void);
/** The current fork generation: bumped in every child (pthread_atfork). */
uint64_t omi_fork_gen(void);
/** Keep `fd`, the write end of a spawned server's life pipe, in c; forked
 *  children close their copy at fork time, so only the spawner keeps the
 *  server alive. */
void omi_life_adopt(om_client *c, int fd);
/** Close c's life pipe, if it has one: the server stops when it sees
 *  end-of-file. */
void omi_life_drop(om_client *c);

/* ------------------------------------------------------------ processes */

/**
 * om_process_start()'s core (process.c): fork() a child that runs fn(arg)
 * and _exit()s with its return value, flags OM_DAEMON as there. `internal`
 * lets a daemon start it: a pool's supervisor and workers, which are
 * daemons themselves (a user's daemon cannot start processes).
 */
int omi_process_start(om_target fn, void *arg, int flags, bool internal,
                      om_process **out);
/** Whether this process is a daemon child (OM_DAEMON, a pool worker). */
bool omi_in_daemon(void);

/* --------------------------------------------------------------- handles */

/** Register a new handle for object (id, type) of client c.
 *  @return the value to give the user, or NULL when out of memory. */
void *omi_handle_new(om_client *c, uint64_t id, int type, uint64_t gen);
/** The handle behind a user's value, or NULL if invalid or released. */
struct omi_handle *omi_handle_get(const void *value);
/** Invalidate and free a handle (no RPC), ending its ext first. */
void omi_handle_free(struct omi_handle *h);
/** Run and clear h's ext_fini, if it has one (`live`: calls may still be
 *  made on h). */
void omi_handle_ext_fini(struct omi_handle *h, bool live);

/* ------------------------------------------------------------------- RPC */

/** Set c's last error message (printf-style) and return `code`. */
int omi_fail(om_client *c, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/** Keep c's message as the thread's last connect failure (om_errmsg(NULL)),
 *  before a failed om_connect frees c. */
void omi_connect_failed(const om_client *c);

/** Mark c's connection lost (`what` failed, errno `err` or 0) and return
 *  OM_ECONN with the reason in c->errmsg. */
int omi_lose(om_client *c, const char *what, int err);

/**
 * The arguments of one call. `args`/`nargs` and `name` are borrowed for
 * the call only (every request is packed at once). `out`/`out2` are
 * the caller's outputs, handed to `done` (NULL: nothing to convert); in a
 * pipeline they must stay valid until om_pipeline_end().
 */
struct omi_args {
	int op;              /* OBJMGR__OP__* */
	const om_item *args; /* items */
	size_t nargs;
	int64_t num, num2;
	double timeout;
	const char *name;  /* OPEN, UNLINK */
	omi_done_fn *done; /* the completion, or NULL */
	void *out, *out2;
	int pend; /* an omi_pend_kind (a user call: OMI_PEND_CALL) */
};

/**
 * Run one request on client c against object `target` (0: the server):
 * pack it and hand it to omi_pipe_run(), which waits for its response and
 * runs a->done on it, or in a pipeline (omi_piping) queues it and returns
 * OM_OK. Handles fork (reconnects in a child) and a lost connection
 * (OM_ECONN).
 * @return the call's final code: the response's status as a C code (its
 *         message in c->errmsg), or the completion's error.
 */
int omi_rpc(om_client *c, uint64_t target, const struct omi_args *a);

/**
 * omi_rpc() of a request whose answer nobody waits for (a pool worker's
 * POOL_DONE): written now, its answer read and dropped with the next
 * call's (its completion, if any, runs then), so a worker reports each
 * task without a round trip. Not in a pipeline (OM_EINVAL).
 * @return OM_OK once written, or why it could not be (OM_ECONN, ...).
 */
int omi_rpc_later(om_client *c, uint64_t target, const struct omi_args *a);

/** OM_OK if items[0..n) are all valid items, else OM_EINVAL with a
 *  message naming the first bad one. What omi_rpc() checks, and a local
 *  call before it touches a segment. */
int omi_check_items(om_client *c, const om_item *items, size_t n);

/**
 * The handle behind `handle`, made usable for a call by this process, in
 * *out: OM_EINVAL for a NULL, released or garbage handle or a NaN
 * `timeout` (negative is OM_FOREVER), OM_ETYPE for a handle of another
 * type. In a forked child, first takes the child's reference (queued
 * ahead of the call in a pipeline), which also connects the child's own
 * session: so a local call after it is made as this process's session.
 * The checks every call makes, sent or run in shared memory.
 */
int omi_use(const void *handle, int type, double timeout,
            struct omi_handle **out);

/**
 * omi_use(), and whether the call runs in this process: *out is the
 * handle when its object is mapped and c is usable and not in a pipeline
 * (there calls are requests, so they keep their order), else NULL (the
 * call goes to the server with omi_call()). c's last message is cleared
 * for a local call, as omi_rpc() does for a request.
 */
int omi_local(const void *handle, int type, double timeout,
              struct omi_handle **out);

/*
 * The head of a call that runs here when it can: OMI_LOCAL(h, handle,
 * timeout, OP, items, n, num, done, out) binds `h` to the mapped handle
 * (omi_local), returns omi_local's error, or — when the call is not local —
 * returns the request omi_call_op(handle, OMI_TYPE, OBJMGR__OP__OP, items,
 * n, num, timeout, done, out). What follows it is the local call.
 */
#define OMI_LOCAL(h, handle, timeout, OP, items, n, num, done, out)            \
	struct omi_handle *h;                                                  \
	do {                                                                   \
		int rc_ = omi_local(handle, OMI_TYPE, timeout, &h);            \
		if (rc_ < 0)                                                   \
			return rc_;                                            \
		if (!h)                                                        \
			return omi_call_op(handle, OMI_TYPE, OBJMGR__OP__##OP, \
			                   items, n, num, timeout, done, out); \
	} while (0)

/** A local call's failure `rc` (< 0) without a message of its own: the
 *  text the client gives a server's answer that has none (om_strerror). */
int omi_local_fail(om_client *c, int rc);

/**
 * omi_rpc() on the object behind `handle`, after omi_use()'s checks (and
 * its catch-up after a fork).
 */
int omi_call(const void *handle, int type, const struct omi_args *a);

/**
 * omi_call() of `op` with `n` items, `num` and `timeout`; `done` converts
 * the answer into *out (NULL: nothing to convert). What most calls are.
 */
int omi_call_op(const void *handle, int type, int op, const om_item *items,
                size_t n, int64_t num, double timeout, omi_done_fn *done,
                void *out);

/*
 * A call that is one request with no item and no number is one row in its
 * type's file, and the row is the function (as a command is a table row in
 * Redis): OMI_CALL(om_lock_release, om_lock, LOCK_RELEASE) is
 * `int om_lock_release(om_lock *h)`; OMI_WAIT adds `double timeout`;
 * OMI_GET(fn, handle type, output type, OP, completion) is `int fn(T *h,
 * OUT *out)`, with *out filled by the completion and required (NULL is
 * OM_EINVAL, with no round trip); OMI_GET2 fills two outputs of one type
 * (`out`, `out2`). OMI_CALL1 and OMI_GET1 are OMI_CALL and OMI_GET with
 * one item after the handle (`om_item it`). The file defines OMI_TYPE,
 * its OM_TYPE_*, before its rows.
 */
#define OMI_CALL(fn, T, OP)                                                   \
	int fn(T *h)                                                          \
	{                                                                     \
		return omi_call_op(h, OMI_TYPE, OBJMGR__OP__##OP, NULL, 0, 0, \
		                   0, NULL, NULL);                            \
	}
#define OMI_WAIT(fn, T, OP)                                                   \
	int fn(T *h, double timeout)                                          \
	{                                                                     \
		return omi_call_op(h, OMI_TYPE, OBJMGR__OP__##OP, NULL, 0, 0, \
		                   timeout, NULL, NULL);                      \
	}
#define OMI_GET(fn, T, OUT, OP, completion)                                   \
	int fn(T *h, OUT *out)                                                \
	{                                                                     \
		if (!out)                                                     \
			return OM_EINVAL;                                     \
		return omi_call_op(h, OMI_TYPE, OBJMGR__OP__##OP, NULL, 0, 0, \
		                   0, completion, out);                       \
	}
#define OMI_GET2(fn, T, OUT, OP, completion)                 \
	int fn(T *h, OUT *out, OUT *out2)                    \
	{                                                    \
		if (!out || !out2)                           \
			return OM_EINVAL;                    \
		struct omi_args a = {.op = OBJMGR__OP__##OP, \
		                     .done = completion,     \
		                     .out = out,             \
		                     .out2 = out2};          \
		return omi_call(h, OMI_TYPE, &a);            \
	}
#define OMI_CALL1(fn, T, OP)                                                 \
	int fn(T *h, om_item it)                                             \
	{                                                                    \
		return omi_call_op(h, OMI_TYPE, OBJMGR__OP__##OP, &it, 1, 0, \
		                   0, NULL, NULL);                           \
	}
#define OMI_GET1(fn, T, OUT, OP, completion)                                 \
	int fn(T *h, om_item it, OUT *out)                                   \
	{                                                                    \
		if (!out)                                                    \
			return OM_EINVAL;                                    \
		return omi_call_op(h, OMI_TYPE, OBJMGR__OP__##OP, &it, 1, 0, \
		                   0, completion, out);                      \
	}

/**
 * OPEN: a handle on a new object of `type` made with `params` (the type's
 * constructor arguments, see OPEN in proto/objmgr.proto), or on the one
 * called `name` (flags: OM_CREATE, OM_EXCL and the type's own). Refused
 * in a pipeline: the handle is needed at once. What every om_*_open()
 * runs once it has checked its own parameters.
 */
int omi_open(om_client *c, const char *name, int flags, int type,
             const om_item *params, size_t nparams, void **out);
/** omi_open() of a type whose OPEN answers two Refs (a PIPE: end a, then
 *  end b, each with the connection's reference): a handle on each, in
 *  *out and *out2 (out2 NULL: omi_open). On failure neither is kept. */
int omi_open2(om_client *c, const char *name, int flags, int type,
              const om_item *params, size_t nparams, void **out, void **out2);

/* --------------------------------------------------------- shared memory */

/**
 * Map the segment of h's object if c may map and its type lives in shared
 * memory: MAP, synchronously (only where a handle is made, never in a
 * pipeline). Any failure leaves h unmapped, its calls going to the server,
 * and c's message as it was: not mapping is never an error.
 */
void omi_map(om_client *c, struct omi_handle *h);
/** Unmap h's segment, if it has one (the handle is being freed). */
void omi_unmap(struct omi_handle *h);
/** Tell the server that a release found RPC callers parked on the object
 *  (OMI_LK_SRV, OMI_WAIT_SRV): one write to its kick socket. */
void omi_kick(om_client *c);

/** A local add's failure `rc` (omi_item_add's, on a + b) with the
 *  server's message (its call_add(): Python's words). */
int omi_add_fail(om_client *c, int rc, const om_item *a, const om_item *b);

struct omi_slock;
/** Acquire lock word l (a LOCK's, an ARRAY's own) as c's session, as the
 *  server's acquire would: OM_OK, OM_OWNER_DIED, OM_ETIMEOUT or OM_EVALUE
 *  (an RLock's depth), with the server's messages. */
int omi_shm_lock(om_client *c, struct omi_slock *l, bool recursive,
                 double timeout);
/** Release one level of l for c's session, waking a mapped sleeper and
 *  kicking the server for parked RPC acquirers when it becomes free:
 *  OM_OK or OM_ENOTOWNER. `died`: leave OM_OWNER_DIED for the next
 *  acquirer (omi_slock_release). */
int omi_shm_unlock(om_client *c, struct omi_slock *l, bool died);

/* ------------------------------------------------ I/O engine, pipeline */

/** Close the descriptors c has received and no answer took (at a new
 *  connection, and at disconnect). */
void omi_pipe_drop_fds(om_client *c);

/** Whether c is in a pipeline begun by this process. */
bool omi_piping(const om_client *c);
/**
 * Make request `id`, just packed into c->wbuf (whose length was
 * `wbuf_mark` before), a pending entry with a's completion, outputs and
 * kind (a->pend). In a pipeline: return OM_OK, having written early
 * (reading answers meanwhile) if wbuf grew large. Otherwise it is a
 * pipeline of one: write it, wait for its answer and complete it.
 * @return OM_ENOMEM (the request is then taken back out); in a pipeline
 *         OM_OK; else the call's code (a failure's message in c->errmsg),
 *         and for a call left unanswered by a lost connection OM_ECONN or
 *         the code of the server's connection-level error (response id 0).
 */
int omi_pipe_run(om_client *c, uint64_t id, size_t wbuf_mark,
                 const struct omi_args *a);
/**
 * Write what c->wbuf holds and wait for one whole frame, for the Hello
 * exchange (before any request). A frame the server sent before a failed
 * write is still returned. @return OM_OK with *body and *len pointing
 * into c->rbuf (the frame consumed; valid until the next read), or
 * OM_ECONN (the reason in c->errmsg).
 */
int omi_pipe_frame(om_client *c, const uint8_t **body, size_t *len);
/** In a pipeline: write what is queued and wait until the last entry is
 *  answered, completing the answers that come before it as they come
 *  (their outputs are written then, before om_pipeline_end()).
 *  @return the last entry's code, or OM_ECONN. */
int omi_pipe_wait_last(om_client *c);
/** Forget c's pipeline (inherited from a parent, or at disconnect): no
 *  output is written, nothing is waited for. */
void omi_pipe_discard(om_client *c);

/* ----------------------------------------------------------- completions */

/*
 * The shared completions (done.c). Each takes the response and the
 * caller's outputs; what handed-out memory they write is owned by the
 * caller (free it with om_item_free / om_items_free).
 */

/** results[0] -> om_item *out (NULL: checked, not copied). */
omi_done_fn omi_done_item;
/** results[0] -> om_item *out, results[1] -> om_item *out2 (both). */
omi_done_fn omi_done_item2;
/** Every result -> om_items *out; num -> size_t *out2 (may be NULL). */
omi_done_fn omi_done_items;
/** Every result -> om_items *out, which must be exactly
 *  (size_t)(uintptr_t)out2 of them. */
omi_done_fn omi_done_items_n;
/** Even results -> om_items *out, odd ones -> om_items *out2. */
omi_done_fn omi_done_split;
/** num -> size_t *out (OM_EPROTO if negative or too large; out NULL:
 *  checked). _pos and _unsigned likewise, for int64_t and unsigned. */
omi_done_fn omi_done_size;
/** num != 0 -> bool *out (NULL: ignored). */
omi_done_fn omi_done_bool;
omi_done_fn omi_done_pos;
omi_done_fn omi_done_unsigned;

/** Copy results[i] to *out (owned by the caller). OM_EPROTO if absent. */
int omi_out_item(const Objmgr__Response *r, size_t i, om_item *out);
/**
 * Copy every `step`-th result starting at `first` into *out (owned).
 * (step 2 splits a key/value list.)
 */
int omi_out_items(const Objmgr__Response *r, size_t first, size_t step,
                  om_items *out);
/** A user item, checked: a known kind, bytes present when len > 0. */
bool omi_item_valid(const om_item *it);

#endif /* OMI_INTERNAL_H */
