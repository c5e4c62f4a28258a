/*
 * dispatch.c — from a decoded frame to an operation and back, and the
 * server's own operations (PING, STATS, SHUTDOWN, and OPEN, UNLINK,
 * ADDREF, RELEASE: a session's view of the registry; FORK and ADOPT are
 * hold.c's, MAP segment.c's).
 *
 * Every operation is a row of an op table (obj.h): the server's below, a
 * type's in its file. dispatch_init() indexes every row by op number once,
 * so serving a request is one array lookup, then the checks every row
 * declares (argument count, timeout, target and its type), done here once
 * with one message each, then the operation. The first frame of a
 * connection is its Hello; every later one is a Request. Everything a
 * request allocates lives in the connection's arena, reset after each
 * frame, once the response is packed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "hold.h"
#include "log.h"
#include "segment.h"

enum {
	NAME_MAX_LEN = OM_NAME_MAX, /* bytes (objmgr.h, Request.name) */
	OP_LIMIT = 1300, /* op numbers are below this (checked at start) */
};

/* ---------------------------------------------------------- server ops */

static int result_ref(struct call *c, const struct obj *o)
{
	om_item ref = {.kind = OM_REF};
	ref.ref.id = o->id;
	ref.ref.type = o->type->type;
	return call_result(c, &ref);
}

/* The OPEN flags that `t` accepts. Unknown flags are refused for every
 * type, whether or not the object exists already. */
static int check_open(struct call *c, const struct type_def *t, int64_t flags)
{
	int64_t bad = flags & ~(int64_t)(OM_CREATE | OM_EXCL | t->open_flags);
	if (bad)
		return call_err(c, OM_EINVAL, "flags 0x%llx not valid for a %s",
		                (unsigned long long)bad, t->name);
	if ((flags & OM_EXCL) && !(flags & OM_CREATE))
		return call_err(c, OM_EINVAL, "OM_EXCL needs OM_CREATE");
	return OM_OK;
}

/* A new object of type t from c's creation parameters (type_def.init):
 * no id and no reference yet. */
static int new_obj(const struct type_def *t, struct call *c, struct obj **out)
{
	struct obj *o = calloc(1, t->size);
	if (!o)
		return call_err(c, OM_ENOMEM, "out of memory for a %s",
		                t->name);
	o->type = t;
	int rc = t->init ? t->init(o, c) : OM_OK;
	if (rc != OM_OK) {
		free(o);
		return rc;
	}
	*out = o;
	return OM_OK;
}

/* Whether p[0..n) is valid UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF). Written here: none of our
 * dependencies validates UTF-8, and this is the whole of it. */
static bool utf8_valid(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint8_t b = p[i];
		size_t len = b < 0x80         ? 1
		             : (b >> 5) == 6  ? 2
		             : (b >> 4) == 14 ? 3
		             : (b >> 3) == 30 ? 4
		                              : 0;
		if (len == 0 || n - i < len)
			return false;
		uint32_t cp = len == 1 ? b : b & (0x7f >> len);
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < least[len] || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/* Request.name as a C string in the call's arena: NULL when empty (*out
 * then NULL too), or an error for one with a NUL, invalid UTF-8 or over
 * NAME_MAX_LEN bytes. */
static int req_name(struct call *c, const char **out)
{
	const ProtobufCBinaryData *n = &c->req->name;
	*out = NULL;
	if (n->len == 0)
		return OM_OK;
	if (n->len > NAME_MAX_LEN)
		return call_err(c, OM_EINVAL, "name longer than %d bytes",
		                NAME_MAX_LEN);
	if (memchr(n->data, 0, n->len))
		return call_err(c, OM_EINVAL, "name with a NUL byte");
	if (!utf8_valid(n->data, n->len))
		return call_err(c, OM_EINVAL, "name that is not valid UTF-8");
	char *s = call_alloc(c, n->len + 1);
	if (!s)
		return call_err(c, OM_ENOMEM, "out of memory");
	memcpy(s, n->data, n->len);
	s[n->len] = '\0';
	*out = s;
	return OM_OK;
}

/* The answer of an OPEN that handed `o` to the connection: its Ref, num =
 * whether it was `created`, and what the type's opened() hook adds; if
 * that fails, the connection's reference goes back (a new anonymous
 * object dies with it). */
static int opened(struct call *c, struct obj *o, bool created)
{
	int rc = result_ref(c, o);
	if (rc)
		return rc;
	call_num(c, created);
	if (o->type->hooks && o->type->hooks->opened &&
	    (rc = o->type->hooks->opened(o, c)) != OM_OK)
		conn_ref_drop(c->conn, o);
	return rc;
}

/* OPEN name TYPE_NONE: the named object whatever its type, one Ref (a
 * pipe end alone: the hook that adds its other end is for a creator). */
static int open_any(struct call *c, const char *name, int64_t flags)
{
	if (flags)
		return call_err(c, OM_EINVAL,
		                "opening an object of any type takes no flags");
	struct obj *o = name ? obj_named(name) : NULL;
	if (!o)
		return call_err(c, OM_ENOENT, "no object named '%s'",
		                name ? name : "");
	if (conn_ref_add(c->conn, o))
		return call_err(c, OM_ENOMEM, "out of memory");
	int rc = result_ref(c, o);
	if (rc)
		conn_ref_drop(c->conn, o);
	return rc;
}

/* OPEN name type flags params... -> Ref */
static int serve_open(struct obj *unused, struct call *c)
{
	(void)unused;
	const char *name;
	int rc = req_name(c, &name);
	if (rc)
		return rc;
	int64_t flags = c->req->num2;
	if (c->req->num == OBJMGR__TYPE__TYPE_NONE)
		return open_any(c, name, flags);
	const struct type_def *t = c->req->num > 0 && c->req->num <= 255
	                                   ? type_by_id((int)c->req->num)
	                                   : NULL;
	if (!t)
		return call_err(c, OM_EINVAL, "unknown object type %lld",
		                (long long)c->req->num);
	if ((rc = check_open(c, t, flags)))
		return rc;

	struct obj *o = name ? obj_named(name) : NULL;
	if (o) {
		if (flags & OM_EXCL)
			return call_err(c, OM_EEXIST, "object '%s' exists",
			                name);
		if (o->type != t)
			return call_err(c, OM_ETYPE,
			                "object '%s' is a %s, not a %s", name,
			                o->type->name, t->name);
		if (conn_ref_add(c->conn, o))
			return call_err(c, OM_ENOMEM, "out of memory");
		return opened(c, o, false);
	}
	if (name && !(flags & OM_CREATE))
		return call_err(c, OM_ENOENT, "no object named '%s'", name);
	/* Creation arguments matter only to a new object. */
	if (t->open_nargs != OP_VARARGS && c->nargs != (size_t)t->open_nargs)
		return call_err(c, OM_EINVAL,
		                "a %s takes %d creation argument%s, got %zu",
		                t->name, t->open_nargs,
		                t->open_nargs == 1 ? "" : "s", c->nargs);
	if ((rc = new_obj(t, c, &o)))
		return rc;
	if (obj_register(o, name))
		return call_err(c, OM_ENOMEM, "out of memory");
	if (conn_ref_add(c->conn, o)) {
		/* Cannot hand it out: undo, through the normal path (an
		 * anonymous object's count is 0 but it is not doomed yet). */
		if (o->name) {
			obj_unname(o->name);
		} else {
			obj_incref(o);
			obj_decref(o);
		}
		return call_err(c, OM_ENOMEM, "out of memory");
	}
	return opened(c, o, true);
}

/* UNLINK name */
static int serve_unlink(struct obj *unused, struct call *c)
{
	(void)unused;
	const char *name;
	int rc = req_name(c, &name);
	if (rc)
		return rc;
	if (!name || !obj_unname(name))
		return call_err(c, OM_ENOENT, "no object named '%s'",
		                name ? name : "");
	return OM_OK;
}

/* ADDREF target -> Ref */
static int serve_addref(struct obj *o, struct call *c)
{
	if (!conn_ref_adopt(c->conn, o) && conn_ref_add(c->conn, o))
		return call_err(c, OM_ENOMEM, "out of memory");
	return result_ref(c, o);
}

/* RELEASE target: of an object that is gone too, EINVAL (not ENOENT):
 * what matters is that this session holds no reference. */
static int serve_release(struct obj *unused, struct call *c)
{
	(void)unused;
	struct obj *o = obj_lookup(c->req->target);
	if (!o || conn_ref_drop(c->conn, o))
		return call_err(c, OM_EINVAL,
		                "this connection holds no reference on object "
		                "%llu",
		                (unsigned long long)c->req->target);
	return OM_OK;
}

static int serve_ping(struct obj *unused, struct call *c)
{
	(void)unused;
	(void)c;
	return OM_OK;
}

/* STATS -> the counters, in OM_STATS_MAP's order */
static int serve_stats(struct obj *unused, struct call *c)
{
	(void)unused;
	const struct server_stats *st = &omi_srv.stats;
	om_item v[] = {
#define OMI_X_(name, meaning) {.kind = OM_INT, .i = (int64_t)st->name},
	        OM_STATS_MAP(OMI_X_)
#undef OMI_X_
	};
	return call_results(c, v, ARRAY_LEN(v));
}

static int serve_shutdown(struct obj *unused, struct call *c)
{
	(void)unused;
	log_info("shutdown requested by pid %d", (int)c->conn->pid);
	server_stop();
	return OM_OK;
}

/* A server row's fn gets o == NULL, except with OPF_ANY_TARGET: ADDREF's (and
 * MAP's) target is checked like any operation's, of any type. */
enum { OPF_ANY_TARGET = 1u << 8 };

static const struct op_def server_ops[] = {
        OP(PING, serve_ping, 0, 0),
        OP(STATS, serve_stats, 0, 0),
        OP(SHUTDOWN, serve_shutdown, 0, 0),
        OP(OPEN, serve_open, OP_VARARGS, 0),
        OP(UNLINK, serve_unlink, 0, 0),
        OP(ADDREF, serve_addref, 0, OPF_ANY_TARGET),
        OP(RELEASE, serve_release, 0, 0),
        OP(FORK, serve_fork, 0, 0),
        OP(ADOPT, serve_adopt, 0, 0),
        OP(MAP, serve_map, 0, OPF_ANY_TARGET),
};

/* ------------------------------------------------------------ the index */

struct op_entry {
	const struct op_def *def;
	const struct type_def *type; /* NULL: a server operation */
};
static struct op_entry by_op[OP_LIMIT];

static void index_ops(const struct op_def *ops, size_t n,
                      const struct type_def *t)
{
	for (size_t i = 0; i < n; i++) {
		int op = ops[i].op;
		/* A programming error, caught on the first start. */
		if (op <= 0 || op >= OP_LIMIT || by_op[op].def) {
			log_error("op table: op %d out of range or twice", op);
			abort();
		}
		by_op[op] = (struct op_entry){&ops[i], t};
	}
}

void dispatch_init(void)
{
	index_ops(server_ops, ARRAY_LEN(server_ops), NULL);
	for (int type = 1; type_by_id(type); type++) {
		const struct type_def *t = type_by_id(type);
		index_ops(t->ops, t->nops, t);
	}
}

/* ------------------------------------------------------------------ hello */

static struct log_limit auth_refusals;

/* Authentication's steps c. (objmgr.proto): a TCP peer's Hello must prove
 * that it holds the key; then ours proves that we do (proof: room for
 * OMI_PROOF_LEN bytes). @return whether the peer's proof is right. */
static bool authenticate(struct conn *conn, const Objmgr__Hello *in,
                         uint8_t *proof)
{
	const uint8_t *key = omi_srv.authkey;
	size_t keylen = omi_srv.authkey_len;
	const ProtobufCBinaryData *ch = &in->challenge, *pr = &in->proof;
	if (!key || ch->len != OMI_CHALLENGE_LEN ||
	    !omi_proof_ok(key, keylen, false, conn->challenge, ch->data,
	                  pr->data, pr->len))
		return false;
	return omi_proof(key, keylen, true, ch->data, conn->challenge, proof) ==
	       0;
}

static void serve_hello(struct conn *conn, const uint8_t *body, size_t len)
{
	Objmgr__Hello out = OBJMGR__HELLO__INIT;
	uint8_t proof[OMI_PROOF_LEN];
	out.version = OMI_PROTO_VERSION;
	out.server_pid = (uint32_t)getpid();
	Objmgr__Hello *in = objmgr__hello__unpack(&conn->arena.pb, len, body);
	char msg[128];
	if (!in && conn->arena.failed) {
		out.status = OBJMGR__STATUS__ENOMEM;
		out.message = "server out of memory";
	} else if (!in) {
		out.status = OBJMGR__STATUS__EPROTO;
		out.message = "expected a Hello frame";
	} else if (in->version != OMI_PROTO_VERSION) {
		snprintf(msg, sizeof msg,
		         "protocol version %u not supported (server speaks %u)",
		         in->version, OMI_PROTO_VERSION);
		out.status = OBJMGR__STATUS__EPROTO;
		out.message = msg;
	} else if (!conn->local && !authenticate(conn, in, proof)) {
		/* No object data, and nothing it sent after the Hello is
		 * served (closing). */
		log_warn_limited(
		        &auth_refusals,
		        "conn %llu: refused %s: wrong or missing proof "
		        "of the key",
		        (unsigned long long)conn->serial, conn->addr);
		out.status = OBJMGR__STATUS__EAUTH;
		out.message = "authentication failed: wrong or missing proof "
		              "of the key";
		conn->closing = true;
		conn_send_hello(conn, &out);
		return;
	}
	if (out.status != OBJMGR__STATUS__OK) {
		log_warn("conn %llu (%s): bad hello: %s",
		         (unsigned long long)conn->serial, conn->addr,
		         out.message);
		conn->closing = true;
	} else {
		conn->hello = true;
		out.session = conn->token;
		if (!conn->local) {
			out.proof.data = proof;
			out.proof.len = sizeof proof;
			/* Informational only (CLIENTS): never signalled. */
			conn->pid = in->pid <= INT32_MAX ? (pid_t)in->pid : 0;
		}
	}
	conn_send_hello(conn, &out);
}

/* ---------------------------------------------------------------- request */

/* Decode the arguments, check what the row declares, find the target, run
 * the operation. */
static int serve(struct call *c)
{
	const Objmgr__Request *req = c->req;
	if (req->n_args) {
		om_item *args = call_alloc(c, req->n_args * sizeof *args);
		if (!args)
			return call_err(c, OM_ENOMEM, "out of memory");
		for (size_t i = 0; i < req->n_args; i++)
			if (omi_item_from_pb(req->args[i], &args[i]) != OM_OK)
				return call_err(
				        c, OM_EINVAL,
				        "argument %zu is not a valid item", i);
		c->args = args;
	}
	if (req->id == 0)
		return call_err(c, OM_EINVAL, "request id 0 is reserved");
	if (u64map_get(&c->conn->parked, req->id))
		return call_err(c, OM_EINVAL,
		                "request id %llu is still in use: a call with "
		                "it is parked",
		                (unsigned long long)req->id);
	int op = (int)req->op;
	const struct op_entry *e = op > 0 && op < OP_LIMIT ? &by_op[op] : NULL;
	if (!e || !e->def)
		return call_err(c, OM_EINVAL, "unknown operation %d", op);
	const struct op_def *def = e->def;
	if (def->nargs != OP_VARARGS && c->nargs != (size_t)def->nargs)
		return call_err(c, OM_EINVAL, "expected %d argument%s, got %zu",
		                def->nargs, def->nargs == 1 ? "" : "s",
		                c->nargs);
	if ((def->flags & OPF_TIMEOUT) && isnan(req->timeout))
		return call_err(c, OM_EINVAL, "timeout is NaN");
	if (!e->type && !(def->flags & OPF_ANY_TARGET))
		return def->fn(NULL, c);
	/* An object this session may not reach is no object to it. */
	struct obj *o = call_reach(c, req->target);
	if (!o)
		return call_err(c, OM_ENOENT, "no object with id %llu",
		                (unsigned long long)req->target);
	if (e->type && o->type != e->type)
		return call_err(c, OM_ETYPE, "a %s operation on a %s object",
		                e->type->name, o->type->name);
	return def->fn(o, c);
}

static void serve_request(struct conn *conn, const uint8_t *body, size_t len)
{
	Objmgr__Request *req =
	        objmgr__request__unpack(&conn->arena.pb, len, body);
	if (!req && conn->arena.failed) {
		/* Its id is unknown: fail the connection's calls (id 0). */
		log_error("conn %llu: out of memory decoding a request",
		          (unsigned long long)conn->serial);
		conn_send_status(conn, 0, OM_ENOMEM,
		                 "server out of memory decoding a request");
		conn->closing = true;
		return;
	}
	if (!req) {
		log_warn("conn %llu: a request that does not decode",
		         (unsigned long long)conn->serial);
		conn_send_status(conn, 0, OM_EPROTO,
		                 "frame does not decode as a Request");
		conn->closing = true;
		return;
	}
	omi_srv.stats.requests++;
	struct call c = {
	        .conn = conn,
	        .req = req,
	        .nargs = req->n_args,
	        .resp = OBJMGR__RESPONSE__INIT,
	        .arena = &conn->arena,
	};
	c.resp.id = req->id;
	int rc = serve(&c);
	if (rc != CALL_PARKED)
		call_send(&c, rc);
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
