/*
 * obj.h — the object model of objmgrd: the base every shared object embeds,
 * the table that describes a type (its operations, creation, destruction,
 * session hooks), the per-request `struct call` that operations read their
 * arguments from and write their results to, and the registry (ids, names,
 * references, memory accounting).
 *
 * A type lives in one file (dict.c, list.c, ...) that defines a
 * `const struct type_def NAME_type` and keeps its state in a struct that
 * starts with `struct obj`. Operations run with the object's lock held
 * (dispatch takes it), so the type code never locks.
 */
#ifndef OBJ_H
#define OBJ_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct conn;
struct call;
struct obj;

/* An operation's return: OM_OK, OM_OWNER_DIED, an OM_E* code, or
 * CALL_PARKED when the operation parked the request to answer it later
 * (waiter.h) and nothing is to be sent now. */
enum { CALL_PARKED = 1000 };

typedef int (*op_fn)(struct obj *o, struct call *c);

struct type_def {
	const char *name; /* "dict": for messages */
	int type;         /* OM_TYPE_* */
	int op_base;      /* first Op of the type's group (OBJMGR__OP__DICT_SET) */
	size_t nops;      /* ops[i] serves op_base + i; NULL entries are EINVAL */
	const op_fn *ops;
	/* Make a new object from the OPEN creation parameters (c->args).
	 * Return OM_OK with *out set (refs 0, id and name unset), or an error
	 * set with call_err(). */
	int (*create)(struct call *c, struct obj **out);
	/* Free the object and what it holds (with store_clear() for items).
	 * Runs once, when the last reference is gone. */
	void (*destroy)(struct obj *o);
	/* Optional: connection `conn` ended while it held something of this
	 * object (registered with conn_watch()): release it. */
	void (*conn_gone)(struct obj *o, struct conn *conn);
};

struct obj {
	uint64_t id;
	const struct type_def *type;
	char *name; /* NULL: anonymous or unlinked */
	/* References: one per connection that holds handles, one per stored
	 * OM_REF item, one per conn_watch(), one while named. At 0 the object
	 * is destroyed (deferred to the end of the current request). */
	uint64_t refs;
	pthread_mutex_t mu; /* held while an operation runs */
};

/* ------------------------------------------------------------------- call */

/* One request being served. Arguments are borrowed from the decoded
 * message; results are built in the connection's arena and may borrow the
 * object's bytes, because the response is packed before the lock drops. */
struct call {
	struct conn *conn;
	const Objmgr__Request *req;
	const om_item *args;
	size_t nargs;
	Objmgr__Response *resp;
	struct omi_arena *arena;
};

/** Set the response message (printf-style); returns `code`, so an
 *  operation can `return call_err(c, OM_EINDEX, "index %lld", i);`. */
int call_err(struct call *c, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/** Check the argument count: OM_OK, or OM_EINVAL with a message. */
int call_nargs(struct call *c, size_t want);
/** Results: items (borrowed until the response is packed). */
int call_results(struct call *c, const om_item *items, size_t n);
int call_result(struct call *c, const om_item *it);
/** Result that leaves the object (pop, popitem, queue get): copies the
 *  item's bytes into the request's scratch memory, adds it to the results,
 *  then store_clear()s *it. A taken OM_REF's reference is handed to the
 *  connection (conn_ref_take), so the object cannot die between the reply
 *  and the receiver's om_open_ref(), whose handle adopts it. */
int call_result_take(struct call *c, om_item *it);
/** Integer result (Response.num); bools as 0/1. */
void call_num(struct call *c, int64_t n);
/** Scratch memory for this request (freed after the response). */
void *call_alloc(struct call *c, size_t n);

/* --------------------------------------------------------------- registry */

struct server_limits {
	size_t max_frame;      /* largest frame accepted or sent */
	size_t max_item;       /* largest item stored */
	uint64_t max_memory;   /* bytes all stored items may hold */
	unsigned max_conns;    /* connections open at once */
	unsigned max_inflight; /* parked requests per connection */
};
extern struct server_limits limits;

struct server_stats {
	uint64_t objects, connections, bytes, requests, parked;
};
extern struct server_stats stats;

void registry_free(void);

/** The object with this id, or NULL. */
struct obj *obj_lookup(uint64_t id);
/** Serve OPEN / UNLINK / ADDREF / RELEASE for c->conn. */
int registry_open(struct call *c);
int registry_unlink(struct call *c);
int registry_addref(struct call *c);
int registry_release(struct call *c);

/** Take / drop one reference. The object is destroyed when the count
 *  reaches 0, at the next obj_reap() (never inside the caller). */
void obj_incref(struct obj *o);
void obj_decref(struct obj *o);
/** Destroy the objects whose last reference went. Called by the loop after
 *  each request, with no object lock held. */
void obj_reap(void);

/** Base setup for a type's create(): zeroes nothing, sets type and lock. */
void obj_init(struct obj *o, const struct type_def *t);

/* ----------------------------------------------------------- stored items */

/*
 * Every item an object keeps goes through these, so size limits, memory
 * accounting and the references held by stored OM_REF items are handled in
 * one place.
 */

/** Check that `it` may be stored (size, memory, a live REF of the right
 *  type) without storing it. OM_OK or an error set on c. */
int store_check(struct call *c, const om_item *it);
/** Copy `src` into `dst` for keeping: checks as store_check(), charges the
 *  memory, takes a reference for an OM_REF. dst is OM_NIL on error. */
int store_item(struct call *c, om_item *dst, const om_item *src);
/** Release a kept item (memory, REF reference, bytes); leaves OM_NIL. */
void store_clear(om_item *it);
/** Charge / refund `n` bytes of object memory (containers' own arrays).
 *  store_charge returns OM_OK or OM_ENOMEM (with a message on c if given). */
int store_charge(struct call *c, size_t n);
void store_refund(size_t n);

/* ------------------------------------------------------------- the types */

extern const struct type_def dict_type, list_type, queue_type, lock_type,
        sem_type, cond_type, event_type, barrier_type, value_type, array_type;

/** The type_def for an OM_TYPE_* value, or NULL. */
const struct type_def *type_by_id(int type);

#endif /* OBJ_H */
