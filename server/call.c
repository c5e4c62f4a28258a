/*
 * call.c — building an answer: the message, results, and sending it. The
 * same helpers serve a request answered at once (dispatch.c) and a parked
 * one answered later (waiter.c).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"

int call_err(struct call *c, int code, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return code;
	size_t len = strlen(tmp) + 1;
	char *msg = omi_arena_alloc(c->arena, len);
	if (msg) {
		memcpy(msg, tmp, len);
		c->resp.message = msg;
	}
	return code;
}

void *call_alloc(struct call *c, size_t n)
{
	return omi_arena_alloc(c->arena, n ? n : 1);
}

struct obj *call_reach(struct call *c, uint64_t id)
{
	struct obj *o = obj_lookup(id);
	return o && conn_reaches(c->conn, o) ? o : NULL;
}

int call_results(struct call *c, const om_item *items, size_t n)
{
	if (n == 0)
		return OM_OK;
	for (size_t i = 0; i < n; i++)
		if (items[i].kind == OM_REF)
			conn_saw(c->conn, items[i].ref.id);
	Objmgr__Item **v = omi_items_to_pb(c->arena, items, n);
	if (!v)
		return call_err(c, OM_ENOMEM, "out of memory");
	Objmgr__Response *r = &c->resp;
	if (r->n_results == 0) {
		r->results = v;
		c->results_cap = n;
	} else {
		if (r->n_results + n > c->results_cap) {
			size_t cap = 2 * c->results_cap;
			if (cap < r->n_results + n)
				cap = r->n_results + n;
			Objmgr__Item **all =
			        omi_arena_alloc(c->arena, cap * sizeof *all);
			if (!all)
				return call_err(c, OM_ENOMEM, "out of memory");
			memcpy(all, r->results, r->n_results * sizeof *all);
			r->results = all;
			c->results_cap = cap;
		}
		memcpy(r->results + r->n_results, v, n * sizeof *r->results);
	}
	r->n_results += n;
	return OM_OK;
}

int call_result(struct call *c, const om_item *it)
{
	return call_results(c, it, 1);
}

/* Room in c's connection for its answer, the items taken so far included
 * (their bytes and a generous bound on the framing around them). */
static int reserve_answer(struct call *c, const om_item *it)
{
	enum { PER_ITEM = 64, PER_ANSWER = 1024 };
	c->taken += omi_item_extra(it) + PER_ITEM;
	return conn_reserve(c->conn, c->taken + PER_ANSWER);
}

int call_result_take(struct call *c, om_item *it)
{
	if (reserve_answer(c, it))
		return call_err(c, OM_ENOMEM, "out of memory for the answer");
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
	c->resp.num = n;
}

void call_send(struct call *c, int code)
{
	c->resp.status = (Objmgr__Status)omi_code_to_status(code);
	if (code != OM_OK) {
		for (unsigned i = 0; i < c->nfds; i++)
			close(c->fds[i]);
		c->nfds = 0;
	}
	conn_send_fds(c->conn, &c->resp, c->fds, c->nfds);
	c->nfds = 0;
}

/* An int operand as Python would print it in the overflow message. */
static long long as_int(const om_item *it)
{
	return it->kind == OM_BOOL ? it->b : (long long)it->i;
}

int call_add(struct call *c, const om_item *a, const om_item *b, om_item *out)
{
	int rc = omi_item_add(a, b, out);
	if (rc == OM_ETYPE)
		return call_err(c, rc,
		                "unsupported operand type(s) for +=: '%s' and "
		                "'%s'",
		                omi_kind_name(a), omi_kind_name(b));
	if (rc != OM_OK)
		return call_err(c, rc, "int64 overflow in %lld + %lld",
		                as_int(a), as_int(b));
	return OM_OK;
}
