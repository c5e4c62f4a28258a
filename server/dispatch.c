/*
 * dispatch.c — from a decoded frame to an operation and back.
 *
 * The first frame of a connection is its Hello; every later one is a
 * Request. Server-level operations (PING, STATS, SHUTDOWN, OPEN, UNLINK,
 * ADDREF, RELEASE) are served here or by the registry; an object's
 * operation is looked up in its type's table (op - op_base) and run under
 * the object's lock, and its response is packed before the lock drops, so
 * results may borrow the object's bytes. Everything a request allocates
 * lives in the connection's arena, reset after each frame.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"

/* ------------------------------------------------------------ call helpers */

int call_err(struct call *c, int code, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return code;
	char *msg = omi_arena_alloc(c->arena, (size_t)n + 1 > sizeof tmp
	                                              ? sizeof tmp
	                                              : (size_t)n + 1);
	if (msg) {
		memcpy(msg, tmp, strlen(tmp) + 1);
		c->resp->message = msg;
	}
	return code;
}

int call_nargs(struct call *c, size_t want)
{
	if (c->nargs == want)
		return OM_OK;
	return call_err(c, OM_EINVAL, "expected %zu argument%s, got %zu", want,
	                want == 1 ? "" : "s", c->nargs);
}

void *call_alloc(struct call *c, size_t n)
{
	return omi_arena_alloc(c->arena, n ? n : 1);
}

int call_results(struct call *c, const om_item *items, size_t n)
{
	if (n == 0)
		return OM_OK;
	Objmgr__Item **v = omi_items_to_pb(c->arena, items, n);
	if (!v)
		return call_err(c, OM_ENOMEM, "out of memory");
	Objmgr__Response *r = c->resp;
	if (r->n_results == 0) {
		r->results = v;
	} else {
		Objmgr__Item **all = omi_arena_alloc(
		        c->arena, (r->n_results + n) * sizeof *all);
		if (!all)
			return call_err(c, OM_ENOMEM, "out of memory");
		memcpy(all, r->results, r->n_results * sizeof *all);
		memcpy(all + r->n_results, v, n * sizeof *all);
		r->results = all;
	}
	r->n_results += n;
	return OM_OK;
}

int call_result(struct call *c, const om_item *it)
{
	return call_results(c, it, 1);
}

int call_result_take(struct call *c, om_item *it)
{
	om_item copy = *it;
	if (it->kind == OM_STR || it->kind == OM_BYTES) {
		char *p = omi_arena_alloc(c->arena, it->s.len + 1);
		if (!p)
			return call_err(c, OM_ENOMEM, "out of memory");
		memcpy(p, it->s.ptr, it->s.len + 1);
		copy.s.ptr = p;
	}
	int rc = call_result(c, &copy);
	if (rc)
		return rc;
	if (it->kind == OM_REF) {
		struct obj *o = obj_lookup(it->ref.id);
		if (o && conn_ref_take(c->conn, o))
			return call_err(c, OM_ENOMEM, "out of memory");
	}
	store_clear(it);
	return OM_OK;
}

void call_num(struct call *c, int64_t n)
{
	c->resp->num = n;
}

/* ------------------------------------------------------------------ hello */

static void serve_hello(struct conn *conn, const uint8_t *body, size_t len)
{
	Objmgr__Hello out = OBJMGR__HELLO__INIT;
	out.version = OMI_PROTO_VERSION;
	out.server_pid = (uint32_t)getpid();
	Objmgr__Hello *in =
	        objmgr__hello__unpack(&conn->arena.pb, len, body);
	char msg[128];
	if (!in) {
		out.status = OBJMGR__STATUS__EPROTO;
		out.message = "expected a Hello frame";
	} else if (in->version != OMI_PROTO_VERSION) {
		snprintf(msg, sizeof msg,
		         "protocol version %u not supported (server speaks %u)",
		         in->version, OMI_PROTO_VERSION);
		out.status = OBJMGR__STATUS__EPROTO;
		out.message = msg;
	}
	if (out.status != OBJMGR__STATUS__OK) {
		log_warn("conn %llu: bad hello: %s",
		         (unsigned long long)conn->serial, out.message);
		conn->closing = true;
	} else {
		conn->hello = true;
	}
	conn_send_hello(conn, &out);
}

/* ------------------------------------------------------- server operations */

/* STATS -> [objects, connections, bytes, requests, parked] */
static int serve_stats(struct call *c)
{
	om_item v[5] = {
		{.kind = OM_INT, .i = (int64_t)stats.objects},
		{.kind = OM_INT, .i = (int64_t)stats.connections},
		{.kind = OM_INT, .i = (int64_t)stats.bytes},
		{.kind = OM_INT, .i = (int64_t)stats.requests},
		{.kind = OM_INT, .i = (int64_t)stats.parked},
	};
	return call_results(c, v, 5);
}

static int serve_server_op(struct call *c)
{
	switch (c->req->op) {
	case OBJMGR__OP__PING:
		return OM_OK;
	case OBJMGR__OP__STATS:
		return serve_stats(c);
	case OBJMGR__OP__SHUTDOWN:
		log_info("shutdown requested by pid %d", (int)c->conn->pid);
		server_stop();
		return OM_OK;
	case OBJMGR__OP__OPEN:
		return registry_open(c);
	case OBJMGR__OP__UNLINK:
		return registry_unlink(c);
	case OBJMGR__OP__ADDREF:
		return registry_addref(c);
	case OBJMGR__OP__RELEASE:
		return registry_release(c);
	default:
		return call_err(c, OM_EINVAL, "unknown operation %d",
		                (int)c->req->op);
	}
}

/* An object's operation: the type's table entry, under the object's lock.
 * Op numbers are grouped by hundreds in the order of the types (DICT_* is
 * 1xx, LIST_* 2xx, ...), which tells a wrong-type call from an unknown op. */
static int serve_obj_op(struct call *c, struct obj **locked)
{
	int op = (int)c->req->op;
	const struct type_def *group = type_by_id(op / 100);
	if (!group)
		return call_err(c, OM_EINVAL, "unknown operation %d", op);
	struct obj *o = obj_lookup(c->req->target);
	if (!o)
		return call_err(c, OM_ENOENT, "no object with id %llu",
		                (unsigned long long)c->req->target);
	const struct type_def *t = o->type;
	if (group != t)
		return call_err(c, OM_ETYPE, "a %s operation on a %s object",
		                group->name, t->name);
	size_t i = (size_t)(op - t->op_base);
	if (op < t->op_base || i >= t->nops || !t->ops[i])
		return call_err(c, OM_EINVAL, "unknown %s operation %d",
		                t->name, op);
	pthread_mutex_lock(&o->mu);
	*locked = o;
	return t->ops[i](o, c);
}

static void serve_request(struct conn *conn, const uint8_t *body, size_t len)
{
	Objmgr__Request *req =
	        objmgr__request__unpack(&conn->arena.pb, len, body);
	if (!req) {
		log_warn("conn %llu: a request that does not decode",
		         (unsigned long long)conn->serial);
		conn_send_status(conn, 0, OM_EPROTO,
		                 "frame does not decode as a Request");
		conn->closing = true;
		return;
	}
	stats.requests++;
	Objmgr__Response resp = OBJMGR__RESPONSE__INIT;
	resp.id = req->id;
	struct call c = {
		.conn = conn,
		.req = req,
		.nargs = req->n_args,
		.resp = &resp,
		.arena = &conn->arena,
	};
	struct obj *locked = NULL;
	int rc = OM_OK;
	if (req->n_args) {
		om_item *args = omi_arena_alloc(&conn->arena,
		                                req->n_args * sizeof *args);
		if (!args) {
			rc = call_err(&c, OM_ENOMEM, "out of memory");
			goto out_send;
		}
		for (size_t i = 0; i < req->n_args; i++) {
			if (omi_item_from_pb(req->args[i], &args[i]) != OM_OK) {
				rc = call_err(&c, OM_EINVAL,
				              "argument %zu is not a valid item", i);
				goto out_send;
			}
		}
		c.args = args;
	}
	if (req->id == 0)
		rc = call_err(&c, OM_EINVAL, "request id 0 is reserved");
	else if (req->op < 100)
		rc = serve_server_op(&c);
	else
		rc = serve_obj_op(&c, &locked);

out_send:
	if (rc != CALL_PARKED) {
		resp.status = (Objmgr__Status)omi_code_to_status(rc);
		conn_send(conn, &resp);
	}
	if (locked)
		pthread_mutex_unlock(&locked->mu);
}

void dispatch_frame(struct conn *conn, const uint8_t *body, size_t len)
{
	if (conn->hello)
		serve_request(conn, body, len);
	else
		serve_hello(conn, body, len);
	/* The response is packed: everything the request decoded or built
	 * goes at once (this is the free_unpacked of the unpack above). */
	omi_arena_reset(&conn->arena);
}
