/*
 * obj.h — the object model of objmgrd: the base every shared object embeds,
 * the table that describes a type (its operations, creation, destruction,
 * session hooks), the per-request `struct call` that operations read their
 * arguments from and write their results to, the registry (ids, names,
 * references) and the stored-item helpers (memory accounting).
 *
 * A type lives in one file (dict.c, list.c, ...) that defines a
 * `const struct type_def STEM_type` (STEM from OM_TYPE_MAP in objmgr.h) and
 * keeps its state in a struct that starts with `struct obj`. Its operations
 * are rows of an op table: the dispatcher checks what a row declares
 * (argument count, a timeout) before the operation runs, so an operation
 * only checks what is particular to it.
 */
#ifndef OBJ_H
#define OBJ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server.h"
#include "wire.h"

struct conn;
struct call;
struct obj;
struct segment;
struct type_look;

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/** The struct of type `type` whose `member` is at `ptr` (as libuv's
 *  container_of): how a type gets its own waiter from a generic one. */
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

/* An operation's return: OM_OK, OM_OWNER_DIED, an OM_E* code, or
 * CALL_PARKED when the operation parked the request to answer it later
 * (waiter.h) and nothing is to be sent now. */
enum { CALL_PARKED = 1000 };

/* `o` is the target object (NULL for a server operation). */
typedef int (*op_fn)(struct obj *o, struct call *c);

/* What a type's traverse() calls for each object its stored OM_REF items
 * name (gc.c). */
typedef void (*visit_fn)(struct obj *target, void *arg);

/* One row of an op table. */
struct op_def {
	int op; /* OBJMGR__OP__* */
	op_fn fn;
	int nargs;      /* item arguments it takes, or OP_VARARGS */
	unsigned flags; /* OPF_* */
};

enum {
	OP_VARARGS = -1, /* any number: the operation checks */
	OPF_TIMEOUT = 1, /* reads Request.timeout: NaN is refused for it */
	/* May change the target's state: a served one that answers OK or
	 * OWNER_DIED is sent to the object's watchers (look.c). */
	OPF_CHANGES = 2,
};

/* A row: OP(DICT_SET, dict_set, 2, 0). */
#define OP(NAME, fn, nargs, flags)                   \
	{                                            \
		OBJMGR__OP__##NAME, fn, nargs, flags \
	}

struct type_def {
	const char *name; /* Python's name ("dict", "condition"): messages */
	int type;         /* OM_TYPE_* */
	const struct op_def *ops;
	size_t nops;
	int open_nargs;     /* OPEN creation parameters it takes */
	int64_t open_flags; /* OPEN flags it accepts beyond CREATE and EXCL */
	size_t size; /* of the type's struct, which begins with struct obj */
	/* Optional: set up a new object (allocated zeroed, its type set)
	 * from the OPEN creation parameters (c->args, c->req->num2 for the
	 * flags; both checked against the row above). Return OM_OK, or an
	 * error set with call_err() after releasing what it took (the
	 * registry then frees the struct). */
	int (*init)(struct obj *o, struct call *c);
	/* Optional: release what the object holds (with store_clear() for
	 * items); the registry frees the struct. Runs once, when the last
	 * reference is gone. */
	void (*fini)(struct obj *o);
	/* Optional: connection `conn` ended while it held something of this
	 * object (registered with conn_watch()): release it. */
	void (*conn_gone)(struct obj *o, struct conn *conn);
	/* Both required of a type that stores items, NULL otherwise (gc.c).
	 * traverse: call visit(target, arg) once per OM_REF item the object
	 * keeps with store_item() (store_visit() does one item) — exactly the
	 * references it holds in its state, not those its parked waiters
	 * keep, which are external (roots). clear: release those items
	 * (store_clear()), leaving the object consistent and empty for
	 * fini(); the collector calls it on cyclic garbage only. */
	void (*traverse)(struct obj *o, visit_fn visit, void *arg);
	void (*clear)(struct obj *o);
	/* Rarer hooks (NULL for most types; TYPE_DEF_HOOKS). */
	const struct type_hooks *hooks;
	/* What looking inside shows of an object (STEM_look, every type
	 * has one). */
	const struct type_look *look;
};

/* What OBJECTS and DUMP read of an object (look.c), one per type: the
 * type file's `static const struct type_look STEM_look`, which TYPE_DEF
 * names. Each reads the object and changes nothing. */
struct type_look {
	/* len(): items, messages waiting, tasks queued. NULL: 0. */
	uint64_t (*length)(const struct obj *o);
	/* The bytes it holds as STATS counts them, less its segment (added
	 * by look.c): its items' extra bytes and its own arrays. NULL: 0. */
	uint64_t (*bytes)(const struct obj *o);
	/* Add its whole state to c's results, as om_dump() lists it by type
	 * (objmgr.h): OM_OK or an error set on c. */
	int (*dump)(struct obj *o, struct call *c);
};

/* Hooks few types need. Each may be NULL. */
struct type_hooks {
	/* OPEN handed `o` to c's connection (created or opened; the
	 * connection holds its reference and results[0] is set): add what
	 * else the answer carries (a pipe's other end). An error (set with
	 * call_err) makes OPEN fail and gives the reference back. */
	int (*opened)(struct obj *o, struct call *c);
	/* The object's name was just removed (UNLINK); it is still alive. */
	void (*unnamed)(struct obj *o);
};

/*
 * A type's type_def: TYPE_DEF(sem, SEM, "semaphore", struct sem, 1,
 * OM_BOUNDED, sem_init, sem_fini, sem_conn_gone, NULL, NULL) — the stem
 * and NAME of its OM_TYPE_MAP row, Python's name, its struct, open_nargs,
 * open_flags, and its init, fini, conn_gone, traverse and clear (each may
 * be NULL). The op table is STEM_ops, what looking inside reads
 * STEM_look (struct type_look).
 */
#define TYPE_DEF(stem, NAME, pyname, T, nargs, flags, init_fn, fini_fn, gone, \
                 traverse_fn, clear_fn)                                       \
	TYPE_DEF_HOOKS(stem, NAME, pyname, T, nargs, flags, init_fn, fini_fn, \
	               gone, traverse_fn, clear_fn, NULL)
/* TYPE_DEF with a `const struct type_hooks *` last. open_nargs may be
 * OP_VARARGS: the type's init checks the count. */
#define TYPE_DEF_HOOKS(stem, NAME, pyname, T, nargs, flags, init_fn, fini_fn, \
                       gone, traverse_fn, clear_fn, hooks_p)                  \
	const struct type_def stem##_type = {                                 \
	        .name = pyname,                                               \
	        .type = OM_TYPE_##NAME,                                       \
	        .ops = stem##_ops,                                            \
	        .nops = ARRAY_LEN(stem##_ops),                                \
	        .open_nargs = nargs,                                          \
	        .open_flags = flags,                                          \
	        .size = sizeof(T),                                            \
	        .init = init_fn,                                              \
	        .fini = fini_fn,                                              \
	        .conn_gone = gone,                                            \
	        .traverse = traverse_fn,                                      \
	        .clear = clear_fn,                                            \
	        .hooks = hooks_p,                                             \
	        .look = &stem##_look,                                         \
	}

struct obj {
	uint64_t id;
	const struct type_def *type;
	char *name; /* NULL: anonymous or unlinked */
	/* References: one per connection that holds handles, one per stored
	 * OM_REF item, one per conn_watch(), one while named. At 0 the object
	 * is destroyed (deferred to the end of the loop iteration). */
	uint64_t refs;
	bool doomed;       /* on the reap list (once, however often it hit 0) */
	uint32_t watchers; /* connections that WATCH it (look.c) */
	/* The collector's scratch (gc.c), meaningless between collections:
	 * refs not accounted for by stored items, then GC_REACHED; and the
	 * link of its work stack and garbage list. */
	uint64_t gc_refs;
	struct obj *gc_next;
	struct obj *reap_next; /* on it: so dooming never allocates */
	/* Its state in shared memory (segment.h), set by the type's init;
	 * NULL for a type that is not shared: MAP answers EINVAL. */
	struct segment *seg;
};

/* ------------------------------------------------------------------- call */

enum { CALL_FDS_MAX = 2 }; /* descriptors one answer passes (MAP's) */

/*
 * One request being answered: served now (dispatch.c) or parked and
 * answered later (waiter.h); the same helpers build the answer either way.
 * Arguments are borrowed from the decoded message; results are built in
 * `arena` and may borrow the object's bytes, because the response is
 * packed (call_send) before anything can change the object.
 */
struct call {
	struct conn *conn;
	const Objmgr__Request *req; /* NULL when answering a parked call */
	const om_item *args;
	size_t nargs;
	Objmgr__Response resp;
	struct omi_arena *arena;
	size_t taken; /* bytes of the items call_result_take() took out */
	/* Descriptors to pass with the answer (MAP), the call's own:
	 * call_send() passes them with an OK answer and closes them
	 * otherwise. */
	int fds[CALL_FDS_MAX];
	unsigned nfds;
	/* Room in resp.results (call_results() grows it geometrically, so
	 * an answer built from many calls — a TAKE of many tasks — costs
	 * linear time, not quadratic). 0: results is exactly n_results. */
	size_t results_cap;
};

/** Set the response message (printf-style); returns `code`, so an
 *  operation can `return call_err(c, OM_EINDEX, "index %lld", i);`. */
int call_err(struct call *c, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/** Results: items (borrowed until the response is packed). */
int call_results(struct call *c, const om_item *items, size_t n);
int call_result(struct call *c, const om_item *it);
/** Result that leaves the object (pop, popitem, queue get): copies the
 *  item's bytes into the call's arena, adds it to the results, then
 *  store_clear()s *it. A taken OM_REF's reference is handed to the
 *  connection (conn_ref_take), so the object cannot die between the reply
 *  and the receiver's om_open_ref(), whose handle adopts it. Room for the
 *  answer is made first, in the connection's output: once an item is taken
 *  its answer can always be queued, so no item is lost to a failed
 *  allocation (the take fails with OM_ENOMEM and the item stays). */
int call_result_take(struct call *c, om_item *it);
/** Integer result (Response.num); bools as 0/1. */
void call_num(struct call *c, int64_t n);
/** The object `id` names if c's connection may reach it (conn_reaches),
 *  else NULL. */
struct obj *call_reach(struct call *c, uint64_t id);
/** Scratch memory for this call (freed after the response is sent). */
void *call_alloc(struct call *c, size_t n);
/** Pack the answer with status `code` and queue it on the connection,
 *  with c->fds if the code is OM_OK (conn_send_fds); else they are
 *  closed. */
void call_send(struct call *c, int code);

/* --------------------------------------------------------------- registry */

/*
 * The registry is a leaf: it knows objects, ids and names, and no
 * connection. The requests that open, name and release objects for a
 * session are served by dispatch.c on top of it.
 */

/* Every type's type_def, STEM_type from the one type table (objmgr.h). */
#define OMI_X_(NAME, code, stem) extern const struct type_def stem##_type;
OM_TYPE_MAP(OMI_X_)
#undef OMI_X_

/** The type_def for an OM_TYPE_* value, or NULL. */
const struct type_def *type_by_id(int type);

/** The object with this id, or NULL. */
struct obj *obj_lookup(uint64_t id);
/** The object named `name`, or NULL. */
struct obj *obj_named(const char *name);
/** Give a new object (allocated zeroed with its type_def's size, type
 *  set, init done) an id and, if `name` is not NULL, that name (which
 *  holds a reference). On failure (OM_ENOMEM) the object is destroyed. */
int obj_register(struct obj *o, const char *name);
/** Ids in creation order from 1 instead of random ones (the fuzz target's
 *  inputs name objects by id, so they must be predictable there). */
void obj_ids_sequential(bool on);
/** Take the name away from the object it names (dropping the name's
 *  reference). @return the object, or NULL if nothing has that name. */
struct obj *obj_unname(const char *name);

/** Take / drop one reference. The object is destroyed when the count
 *  reaches 0, at the next obj_reap() (never inside the caller). */
void obj_incref(struct obj *o);
void obj_decref(struct obj *o);
/** Destroy the objects whose last reference went. Run by the loop once
 *  per iteration (main.c), after every callback of that iteration. */
void obj_reap(void);
/** Destroy every object (server stopping). */
void registry_free(void);
/** Iterate over every registered object: `size_t pos = 0; while ((o =
 *  obj_iter(&pos)))`. The registry must not change meanwhile (no
 *  obj_register, no obj_reap); references may. */
struct obj *obj_iter(size_t *pos);

/* ---------------------------------------------------------------- gc.c */

/*
 * The cycle collector: frees anonymous objects that only stored OM_REF
 * items of each other keep alive (a dict that stores a ref to itself, a
 * ring of lists), which reference counting never frees. It runs from
 * obj_reap(), never under a type's code.
 */

/** obj_decref() dropped a reference from `o`, which stays alive: if o can
 *  store references, objects may just have become cyclic garbage. */
void gc_note_drop(const struct obj *o);
/** Run a collection if one is pending and due (obj_reap(), after the
 *  reap list is empty). @return true if it ran (garbage is doomed). */
bool gc_maybe_collect(void);
/** Release the collector's timer (registry_free()). */
void gc_free(void);

/* ----------------------------------------------------------- stored items */

/*
 * Every item an object keeps goes through these (store.c), so size limits,
 * memory accounting and the references held by stored OM_REF items are
 * handled in one place.
 */

/** Check that `it` may be stored (size, memory, a live REF of the right
 *  type) without storing it. OM_OK or an error set on c. */
int store_check(struct call *c, const om_item *it);
/** Copy `src` into `dst` for keeping: checks as store_check(), charges the
 *  memory, takes a reference for an OM_REF. dst is OM_NIL on error. */
int store_item(struct call *c, om_item *dst, const om_item *src);
/** Replace the kept item *dst by a copy of `src` (store_item); on error
 *  *dst is unchanged. */
int store_replace(struct call *c, om_item *dst, const om_item *src);
/** Release a kept item (memory, REF reference, bytes); leaves OM_NIL. */
void store_clear(om_item *it);
/** For a type's traverse(): visit the object a kept OM_REF item names
 *  (nothing for other kinds). */
void store_visit(const om_item *it, visit_fn visit, void *arg);
/** How many OM_REF items are kept now, over all objects and waiters: the
 *  collector has nothing to find while it is 0. */
uint64_t store_ref_count(void);
/** Charge / refund `n` bytes of object memory (containers' own arrays).
 *  store_charge returns OM_OK or OM_ENOMEM (with a message on c if given). */
int store_charge(struct call *c, size_t n);
void store_refund(size_t n);

/* ------------------------------------------------------- item arithmetic */

/** Python `a += b` on numbers (omi_item_add) with Python's messages:
 *  OM_ETYPE for operands that do not add, OM_EVALUE on int64 overflow. */
int call_add(struct call *c, const om_item *a, const om_item *b, om_item *out);

#endif /* OBJ_H */
