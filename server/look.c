/*
 * look.c — looking inside the server: OBJECTS, CLIENTS, INFO and DUMP
 * (read-only answers), and the subscriptions WATCH and MONITOR (events
 * written to a subscriber as Responses carrying its request's id).
 *
 * What an object shows is its type's business (struct type_look, in each
 * type file); this file only walks the registry and the connections.
 *
 * Events: dispatch.c calls look_request() before serving each request
 * (counts, MONITOR) and look_served() after (WATCH: a row marked
 * OPF_CHANGES that answered OK or OWNER_DIED); conn.c and lock.c call
 * look_gone() when a session's end released something of an object;
 * segment.c calls look_mapped() when a mapped client's kick says it wrote
 * a watched segment. An object counts its watchers (obj.watchers), so an
 * unwatched change costs one test. A subscriber's unwritten output is
 * bounded by --max-output: the event that reaches it is replaced by one
 * ELIMIT answer, and the connection is closed once that is written.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "listen.h"
#include "lock.h"
#include "log.h"
#include "look.h"
#include "segment.h"
#include "shm.h"

#ifndef OMI_VERSION
#define OMI_VERSION "unknown"
#endif

enum {
	OBJECTS_PAGE = 1000, /* OBJECTS' default page */
	ITEM_WIRE = 24,      /* an int item's bytes on the wire, at most */
};

/* Subscribers, oldest first (their events go out in that order). */
static struct conn *subs_head, *subs_tail;
static unsigned nmonitors; /* subscribers that MONITOR: 0 costs nothing */
static double started;

static double now_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void look_init(void)
{
	started = now_real();
}

double look_now(void)
{
	return now_real();
}

const char *look_op_name(int op)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
	        &objmgr__op__descriptor, op);
	return v ? v->name : "UNKNOWN";
}

/* A str argument as a C string in the call's arena (EINVAL: not a str,
 * or one with a NUL). */
static int str_arg(struct call *c, size_t i, const char *what, const char **out)
{
	const om_item *it = &c->args[i];
	if (it->kind != OM_STR)
		return call_err(c, OM_EINVAL, "%s must be a str", what);
	if (it->s.len && memchr(it->s.ptr, 0, it->s.len))
		return call_err(c, OM_EINVAL, "%s with a NUL byte", what);
	char *s = call_alloc(c, it->s.len + 1);
	if (!s)
		return call_err(c, OM_ENOMEM, "out of memory");
	if (it->s.len) /* an empty one may have no bytes at all */
		memcpy(s, it->s.ptr, it->s.len);
	s[it->s.len] = '\0';
	*out = s;
	return OM_OK;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp((*(struct obj *const *)a)->name,
	              (*(struct obj *const *)b)->name);
}

/* The bytes `o` holds, as STATS counts them. */
static uint64_t obj_bytes(const struct obj *o)
{
	const struct type_look *l = o->type->look;
	return (o->seg ? o->seg->size : 0) + (l->bytes ? l->bytes(o) : 0);
}

/*
 * OBJECTS args [str pattern, str after], num2 = page -> six items per
 * object, num = 1 if more match. Every named object is looked at (one
 * pass, then a sort of those that match); a page stops at the page size or
 * at what fits in --max-frame, whichever comes first.
 */
int serve_objects(struct obj *unused, struct call *c)
{
	(void)unused;
	const char *pat, *after;
	int rc;
	if ((rc = str_arg(c, 0, "the pattern", &pat)) ||
	    (rc = str_arg(c, 1, "`after`", &after)))
		return rc;
	int64_t page = c->req->num2 ? c->req->num2 : OBJECTS_PAGE;
	if (page < 0)
		return call_err(c, OM_EINVAL, "a page of %lld objects",
		                (long long)page);
	size_t n = 0, pos = 0;
	struct obj *o;
	while ((o = obj_iter(&pos)))
		n += o->name != NULL;
	struct obj **v = call_alloc(c, n * sizeof *v);
	if (!v)
		return call_err(c, OM_ENOMEM, "out of memory listing objects");
	size_t k = 0;
	for (pos = 0; (o = obj_iter(&pos));)
		if (o->name && strcmp(o->name, after) > 0 &&
		    fnmatch(pat, o->name, 0) == 0)
			v[k++] = o;
	qsort(v, k, sizeof *v, name_cmp);
	/* Room for the Response's framing, and the names' bytes. */
	size_t room = omi_srv.limits.max_frame > 256
	                      ? omi_srv.limits.max_frame - 256
	                      : 0,
	       i;
	for (i = 0; i < k && i < (uint64_t)page; i++) {
		o = v[i];
		size_t len = strlen(o->name);
		size_t wire = len + 6 * ITEM_WIRE;
		if (wire > room)
			break;
		room -= wire;
		om_item it[6] = {
		        {.kind = OM_STR, .s = {o->name, len}},
		        {.kind = OM_INT, .i = o->type->type},
		        {.kind = OM_INT, .i = (int64_t)o->id},
		        {.kind = OM_INT},
		        {.kind = OM_INT, .i = (int64_t)obj_bytes(o)},
		        {.kind = OM_INT, .i = (int64_t)o->refs},
		};
		if (o->type->look->length)
			it[3].i = (int64_t)o->type->look->length(o);
		/* Listing an id does not let the asker reach it: no
		 * call_results(), which would note the refs it hands out
		 * (there are none here, but keep it plain). */
		if ((rc = call_results(c, it, 6)))
			return rc;
	}
	call_num(c, i < k);
	return OM_OK;
}

/* CLIENTS -> ten items per connection, oldest first */
struct clients_walk {
	struct call *c;
	int rc;
};

static void client_row(struct conn *conn, void *arg)
{
	struct clients_walk *w = arg;
	if (w->rc)
		return;
	unsigned flags = (conn == w->c->conn ? OM_CLIENT_SELF : 0) |
	                 (conn->look.watch_n ? OM_CLIENT_WATCH : 0) |
	                 (conn->look.monitor_id ? OM_CLIENT_MONITOR : 0) |
	                 (conn->local ? 0 : OM_CLIENT_TCP);
	const char *addr = conn->addr;
	om_item it[10] = {
	        {.kind = OM_INT, .i = (int64_t)conn->serial},
	        {.kind = OM_INT, .i = conn->pid},
	        {.kind = OM_INT, .i = conn->local ? (int64_t)conn->uid : -1},
	        {.kind = OM_FLOAT, .f = conn->look.since},
	        {.kind = OM_INT, .i = (int64_t)conn->refs.n},
	        {.kind = OM_INT, .i = (int64_t)locks_held(conn)},
	        {.kind = OM_INT, .i = conn->nparked},
	        {.kind = OM_INT, .i = (int64_t)conn->look.requests},
	        {.kind = OM_INT, .i = flags},
	        {.kind = OM_STR, .s = {addr, strlen(addr)}},
	};
	w->rc = call_results(w->c, it, 10);
}

int serve_clients(struct obj *unused, struct call *c)
{
	(void)unused;
	struct clients_walk w = {c, OM_OK};
	conns_each(client_row, &w);
	return w.rc;
}

/* ------------------------------------------------------------------ INFO */

/* INFO's pairs, built in the call's arena. */
struct info {
	struct call *c;
	int rc;
};

static void info_put(struct info *in, const char *key, om_item v)
{
	if (in->rc)
		return;
	om_item kv[2] = {{.kind = OM_STR, .s = {key, strlen(key)}}, v};
	in->rc = call_results(in->c, kv, 2);
}

static void info_int(struct info *in, const char *key, uint64_t v)
{
	info_put(in, key, (om_item){.kind = OM_INT, .i = (int64_t)v});
}

/* "prefix.name" in the arena (NULL on ENOMEM, which info_put reports). */
static const char *info_key(struct info *in, const char *prefix,
                            const char *name)
{
	size_t a = strlen(prefix), b = strlen(name);
	char *s = call_alloc(in->c, a + b + 2);
	if (!s) {
		in->rc = call_err(in->c, OM_ENOMEM, "out of memory");
		return "";
	}
	memcpy(s, prefix, a);
	s[a] = '.';
	memcpy(s + a + 1, name, b + 1);
	return s;
}

int serve_info(struct obj *unused, struct call *c)
{
	(void)unused;
	const struct server_stats *st = &omi_srv.stats;
	const struct server_limits *lim = &omi_srv.limits;
	struct info in = {c, OM_OK};
	info_put(&in, "version",
	         (om_item){.kind = OM_STR,
	                   .s = {OMI_VERSION, strlen(OMI_VERSION)}});
	info_int(&in, "pid", (uint64_t)getpid());
	info_put(&in, "uptime",
	         (om_item){.kind = OM_FLOAT, .f = now_real() - started});
	info_int(&in, "connections", st->connections);
	info_int(&in, "objects", st->objects);
	uint64_t per[256] = {0};
	size_t pos = 0;
	struct obj *o;
	while ((o = obj_iter(&pos)))
		per[o->type->type & 0xff]++;
	for (int t = 1; type_by_id(t); t++)
		info_int(&in, info_key(&in, "objects", type_by_id(t)->name),
		         per[t]);
	info_int(&in, "bytes", st->bytes);
	info_int(&in, "max_memory", lim->max_memory);
	info_int(&in, "buffered", st->buffered);
	info_int(&in, "requests", st->requests);
	for (int op = 1; op < dispatch_op_end(); op++) {
		uint64_t n = dispatch_requests(op);
		if (n)
			info_int(&in,
			         info_key(&in, "requests", look_op_name(op)),
			         n);
	}
	info_int(&in, "parked", st->parked);
	info_int(&in, "segments", st->segments);
	info_int(&in, "mapped", st->mapped);
	const char *addr;
	for (size_t i = 0; (addr = listen_name(i)); i++)
		info_put(&in, "listen",
		         (om_item){.kind = OM_STR, .s = {addr, strlen(addr)}});
	info_int(&in, "max_connections", lim->max_conns);
	info_int(&in, "max_frame", lim->max_frame);
	info_int(&in, "max_item", lim->max_item);
	info_int(&in, "max_output", lim->max_output);
	info_int(&in, "max_inflight", lim->max_inflight);
	size_t nsubs = 0;
	for (struct conn *s = subs_head; s; s = s->look.next)
		nsubs++;
	info_int(&in, "subscribers", nsubs);
	info_int(&in, "stopping", omi_srv.stopping);
	return in.rc;
}

/* ------------------------------------------------------------------ DUMP */

int serve_dump(struct obj *o, struct call *c)
{
	return o->type->look->dump(o, c);
}

/* ---------------------------------------------------------- subscribers */

static void sub_add(struct conn *conn)
{
	if (conn->look.sub)
		return;
	conn->look.sub = true;
	conn->look.prev = subs_tail;
	conn->look.next = NULL;
	if (subs_tail)
		subs_tail->look.next = conn;
	else
		subs_head = conn;
	subs_tail = conn;
}

static void sub_remove(struct conn *conn)
{
	if (!conn->look.sub)
		return;
	conn->look.sub = false;
	if (conn->look.monitor_id)
		nmonitors--;
	if (conn->look.prev)
		conn->look.prev->look.next = conn->look.next;
	else
		subs_head = conn->look.next;
	if (conn->look.next)
		conn->look.next->look.prev = conn->look.prev;
	else
		subs_tail = conn->look.prev;
	conn->look.prev = conn->look.next = NULL;
}

/* WATCH target: the connection watches it (conn_watch keeps it alive and
 * reachable); its events carry this request's id. */
int serve_watch(struct obj *o, struct call *c)
{
	struct conn *conn = c->conn;
	bool again = u64map_get(&conn->look.watching, o->id) != NULL;
	if (u64map_put(&conn->look.watching, o->id, (void *)c->req->id))
		return call_err(c, OM_ENOMEM, "out of memory");
	if (!again) {
		if (conn_watch(conn, o)) {
			u64map_del(&conn->look.watching, o->id);
			return call_err(c, OM_ENOMEM, "out of memory");
		}
		if (o->watchers++ == 0 && o->seg)
			omi_shm_set_watched(o->seg->base, true);
		conn->look.watch_n++;
	}
	sub_add(conn);
	call_num(c, 0);
	return OM_OK;
}

/* MONITOR: every request decoded from now on, from non-subscribers. */
int serve_monitor(struct obj *unused, struct call *c)
{
	(void)unused;
	sub_add(c->conn);
	if (!c->conn->look.monitor_id)
		nmonitors++;
	c->conn->look.monitor_id = c->req->id;
	call_num(c, 0);
	return OM_OK;
}

/* Drop a subscriber that does not read: one ELIMIT with the
 * subscription's id, then it is closed once that is written. */
static void drop_slow(struct conn *s, uint64_t id)
{
	log_warn("conn %llu: a subscriber over --max-output (%zu bytes "
	         "unwritten): dropped",
	         (unsigned long long)s->serial, omi_srv.limits.max_output);
	conn_send_status(s, id, OM_ELIMIT,
	                 "subscriber dropped: its unread events reached the "
	                 "server's --max-output");
	s->closing = true;
	/* Its watches go now, not when the ELIMIT is written: a peer that
	 * never reads would otherwise keep them (and the objects) forever. */
	look_conn_gone(s);
}

/* Send one event to subscriber `s` under its subscription `id`. */
static void send_event(struct conn *s, uint64_t id, double t, uint64_t client,
                       uint64_t target, int type, const char *op,
                       const char *name)
{
	if (s->dead || s->closing || s->lost)
		return;
	if (s->out.len - s->out.off >= omi_srv.limits.max_output) {
		drop_slow(s, id);
		return;
	}
	om_item it[6] = {
	        {.kind = OM_FLOAT, .f = t},
	        {.kind = OM_INT, .i = (int64_t)client},
	        {.kind = OM_INT, .i = (int64_t)target},
	        {.kind = OM_INT, .i = type},
	        {.kind = OM_STR, .s = {op, strlen(op)}},
	        {.kind = OM_STR, .s = {name, strlen(name)}},
	};
	Objmgr__Item pb[6], *pp[6];
	Objmgr__Ref ref[6];
	for (int i = 0; i < 6; i++) {
		omi_item_to_pb(&it[i], &pb[i], &ref[i]);
		pp[i] = &pb[i];
	}
	Objmgr__Response r = OBJMGR__RESPONSE__INIT;
	r.id = id;
	r.num = (int64_t)++s->look.events;
	r.results = pp;
	r.n_results = 6;
	conn_send(s, &r);
}

/* An event about `o` to each of its watchers. */
static void emit(struct obj *o, uint64_t client, const char *op)
{
	if (!o->watchers)
		return;
	double t = now_real();
	for (struct conn *s = subs_head, *next; s; s = next) {
		next = s->look.next; /* drop_slow unlinks s */
		uint64_t id = (uint64_t)(uintptr_t)u64map_get(&s->look.watching,
		                                              o->id);
		if (id)
			send_event(s, id, t, client, o->id, o->type->type, op,
			           o->name ? o->name : "");
	}
}

bool look_request(struct conn *conn, const Objmgr__Request *req)
{
	conn->look.requests++;
	/* SHUTDOWN too: om_disconnect() of a client that spawned its server
	 * stops it, subscriber or not, and waits for the close. */
	if (conn->look.sub)
		return req->op == OBJMGR__OP__WATCH ||
		       req->op == OBJMGR__OP__SHUTDOWN;
	if (!nmonitors)
		return true;
	struct obj *o = req->target ? obj_lookup(req->target) : NULL;
	const char *name = o && o->name ? o->name : "";
	/* OPEN and UNLINK name their object in the request. */
	char buf[OM_NAME_MAX + 1];
	if (!o && req->name.len && req->name.len <= OM_NAME_MAX &&
	    !memchr(req->name.data, 0, req->name.len)) {
		memcpy(buf, req->name.data, req->name.len);
		buf[req->name.len] = '\0';
		name = buf;
	}
	double t = now_real();
	for (struct conn *s = subs_head, *next; s; s = next) {
		next = s->look.next;
		if (s->look.monitor_id)
			send_event(s, s->look.monitor_id, t, conn->serial,
			           req->target, o ? o->type->type : 0,
			           look_op_name((int)req->op), name);
	}
	return true;
}

void look_served(struct conn *conn, const Objmgr__Request *req, struct obj *o,
                 unsigned flags, int rc)
{
	if (o && o->watchers && (flags & OPF_CHANGES) &&
	    (rc == OM_OK || rc == OM_OWNER_DIED))
		emit(o, conn->serial, look_op_name((int)req->op));
}

void look_changed(struct obj *o, const struct conn *by, int op)
{
	emit(o, by->serial, look_op_name(op));
}

void look_gone(struct obj *o)
{
	emit(o, 0, "GONE");
}

void look_mapped(struct obj *o)
{
	emit(o, 0, "MAPPED");
}

void look_kicked(void)
{
	/* An event may drop a subscriber (drop_slow), freeing its map and
	 * unlinking it: after each, the walk starts again from the head. It
	 * ends, since each event takes one segment's dirty mark. */
	bool again = true;
	while (again) {
		again = false;
		for (struct conn *s = subs_head; s && !again;
		     s = s->look.next) {
			const struct u64map *m = &s->look.watching;
			for (size_t i = 0; m->v && i <= m->mask && !again;
			     i++) {
				struct obj *o =
				        m->v[i].key ? obj_lookup(m->v[i].key)
				                    : NULL;
				if (o && o->seg && o->seg->fd >= 0 &&
				    omi_shm_take_dirty(o->seg->base)) {
					look_mapped(o);
					again = true;
				}
			}
		}
	}
}

bool look_watched(const struct obj *o)
{
	return o->watchers != 0;
}

void look_conn_gone(struct conn *conn)
{
	sub_remove(conn);
	struct u64map *m = &conn->look.watching;
	for (size_t i = 0; m->v && i <= m->mask; i++) {
		struct obj *o = m->v[i].key ? obj_lookup(m->v[i].key) : NULL;
		if (!o)
			continue;
		if (--o->watchers == 0 && o->seg)
			omi_shm_set_watched(o->seg->base, false);
		conn_unwatch(conn, o);
	}
	u64map_free(m);
	conn->look.watch_n = 0;
}
