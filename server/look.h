/*
 * look.h — looking inside the server (look.c): the OBJECTS, CLIENTS, INFO,
 * DUMP, WATCH and MONITOR operations, the per-op request counters, and
 * the events sent to subscribers.
 *
 * A subscriber is a connection that asked WATCH or MONITOR: from then on
 * the server writes events to it as Responses carrying that request's id,
 * and it may ask nothing else but WATCH. Its unwritten output is bounded
 * by --max-output: past it, one last ELIMIT answer and the connection
 * closes.
 */
#ifndef LOOK_H
#define LOOK_H

#include <stdbool.h>
#include <stdint.h>

#include "map.h"
#include "obj.h"

struct conn;

/* What looking inside keeps on a connection (struct conn.look): zero but
 * `since` for one that never subscribed. */
struct look_sub {
	bool sub;                 /* on the subscriber list */
	struct conn *prev, *next; /* that list */
	struct u64map watching;   /* obj id -> the WATCH request's id */
	uint64_t watch_n;         /* objects in watching */
	uint64_t monitor_id;      /* the MONITOR request's id, 0: none */
	uint64_t events;          /* events sent: the last one's number */
	uint64_t requests;        /* requests it sent (CLIENTS) */
	double since;             /* when it connected (CLIENTS) */
};

/** Note the server's start (INFO uptime); dispatch_init() calls it. */
void look_init(void);
/** Seconds since the epoch, now. */
double look_now(void);
/** The Op's name in objmgr.proto ("DICT_SET"), from the enum descriptor. */
const char *look_op_name(int op);

/* dispatch.c: op numbers are below dispatch_op_end(); how many requests
 * of `op` were decoded since the start. */
int dispatch_op_end(void);
uint64_t dispatch_requests(int op);

int serve_objects(struct obj *unused, struct call *c);
int serve_clients(struct obj *unused, struct call *c);
int serve_info(struct obj *unused, struct call *c);
int serve_watch(struct obj *o, struct call *c);
int serve_monitor(struct obj *unused, struct call *c);
int serve_dump(struct obj *o, struct call *c);

/** A Request decoded on `conn`, before it is served: counts it (INFO,
 *  CLIENTS) and shows it to the monitors (unless conn subscribes).
 *  @return false if conn is a subscriber and the request is not a WATCH
 *  (the caller answers EINVAL). */
bool look_request(struct conn *conn, const Objmgr__Request *req);
/** The request `req` on `conn` was served with `rc` by a row with `flags`
 *  on target `o` (NULL: a server op): a change is sent to o's watchers. */
void look_served(struct conn *conn, const Objmgr__Request *req, struct obj *o,
                 unsigned flags, int rc);
/** Request `op` of `by` changed `o`, an object other than its target (a
 *  send changes the receiving end): the change goes to o's watchers. */
void look_changed(struct obj *o, const struct conn *by, int op);
/** A session's end released something of `o` ("GONE" to its watchers). */
void look_gone(struct obj *o);
/** A mapped client wrote `o`'s segment ("MAPPED" to its watchers). */
void look_mapped(struct obj *o);
/** The kick socket woke the server: a "MAPPED" event for each watched
 *  segment a mapped client marked dirty. */
void look_kicked(void);
/** Whether anybody watches `o` (it is cheap: one counter). */
bool look_watched(const struct obj *o);
/** `conn` is closing: forget it as a subscriber. */
void look_conn_gone(struct conn *conn);

#endif /* LOOK_H */
