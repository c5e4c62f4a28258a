/*
 * introspect.c — looking inside a server: om_objects, om_clients, om_info,
 * om_dump, and the subscriptions (om_watch, om_monitor, om_notice_next).
 *
 * Each listing is requests like any (omi_rpc) with a completion that
 * converts the answer (OBJECTS, CLIENTS, INFO, DUMP in objmgr.proto).
 * A subscriber's events are Responses carrying its WATCH or MONITOR
 * request's id, which no pending request has: the I/O engine
 * (pipeline.c) hands them to omi_sub_take(), which queues them here, and
 * om_notice_next() takes them off that queue, waiting with omi_pipe_poll()
 * while it is empty. Events that arrive while a later om_watch() waits for
 * its answer are queued the same way, so none is lost.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* One event read and not yet taken, or the subscriber's end (rc < 0). */
struct omi_ev_node {
	om_notice ev;
	int rc;
	char *msg; /* rc < 0: the server's message */
	struct omi_ev_node *next;
};

struct omi_sub {
	bool on;       /* WATCH or MONITOR answered OK: c is a subscriber */
	uint64_t *ids; /* the subscriptions' request ids */
	size_t n, cap;
	struct omi_ev_node *head, *tail;
};

/* ------------------------------------------------------------- listings */

/* A str or int result, checked: OM_EPROTO if it is not of that kind. */
static int res_item(const Objmgr__Response *r, size_t i, om_kind kind,
                    om_item *out)
{
	if (i >= r->n_results || omi_item_from_pb(r->results[i], out) ||
	    out->kind != kind)
		return OM_EPROTO;
	return OM_OK;
}

/* om_objects' pages, gathered: rows (names not yet copied in place) and
 * the names' bytes, then made one allocation at the end. */
struct objects_acc {
	om_object_info *v;
	size_t n, cap;
	size_t name_bytes;
	char *last; /* the last name (the next page's `after`) */
	bool more;
};

static int objects_done(const Objmgr__Response *r, void *out, void *out2)
{
	(void)out2;
	struct objects_acc *acc = out;
	if (r->n_results % 6)
		return OM_EPROTO;
	size_t rows = r->n_results / 6;
	if (acc->n + rows > acc->cap) {
		size_t cap = acc->cap ? acc->cap : 64;
		while (cap < acc->n + rows)
			cap *= 2;
		om_object_info *v = realloc(acc->v, cap * sizeof *v);
		if (!v)
			return OM_ENOMEM;
		acc->v = v;
		acc->cap = cap;
	}
	for (size_t k = 0; k < rows; k++) {
		om_item it[6];
		static const om_kind kinds[6] = {OM_STR, OM_INT, OM_INT,
		                                 OM_INT, OM_INT, OM_INT};
		for (size_t j = 0; j < 6; j++)
			if (res_item(r, k * 6 + j, kinds[j], &it[j]))
				return OM_EPROTO;
		if (it[0].s.len == 0 || memchr(it[0].s.ptr, 0, it[0].s.len))
			return OM_EPROTO;
		char *name = malloc(it[0].s.len + 1);
		if (!name)
			return OM_ENOMEM;
		memcpy(name, it[0].s.ptr, it[0].s.len);
		name[it[0].s.len] = '\0';
		acc->v[acc->n++] = (om_object_info){
		        .name = name,
		        .type = (int)it[1].i,
		        .id = (uint64_t)it[2].i,
		        .length = (uint64_t)it[3].i,
		        .bytes = (uint64_t)it[4].i,
		        .refs = (uint64_t)it[5].i,
		};
		acc->name_bytes += it[0].s.len + 1;
		acc->last = name;
	}
	acc->more = r->num != 0 && rows > 0;
	return OM_OK;
}

static void objects_free(struct objects_acc *acc)
{
	for (size_t i = 0; i < acc->n; i++)
		free(acc->v[i].name);
	free(acc->v);
}

int om_objects(om_client *c, const char *pattern, om_object_info **out,
               size_t *n)
{
	if (!c || !out || !n)
		return c ? omi_fail(c, OM_EINVAL, "NULL argument") : OM_EINVAL;
	if (omi_piping(c))
		return omi_fail(c, OM_EINVAL, "om_objects cannot be pipelined");
	struct objects_acc acc = {0};
	int rc;
	do {
		om_item args[2] = {om_str(pattern ? pattern : "*"),
		                   om_str(acc.last ? acc.last : "")};
		struct omi_args a = {.op = OBJMGR__OP__OBJECTS,
		                     .args = args,
		                     .nargs = 2,
		                     .done = objects_done,
		                     .out = &acc};
		if ((rc = omi_rpc(c, 0, &a)) < 0)
			goto out_free;
	} while (acc.more);
	/* One allocation: the rows, then their names. */
	size_t head = acc.n * sizeof **out;
	om_object_info *v = malloc(head + acc.name_bytes + 1);
	if (!v) {
		rc = omi_fail(c, OM_ENOMEM, "out of memory");
		goto out_free;
	}
	char *p = (char *)v + head;
	for (size_t i = 0; i < acc.n; i++) {
		v[i] = acc.v[i];
		size_t len = strlen(acc.v[i].name) + 1;
		memcpy(p, acc.v[i].name, len);
		v[i].name = p;
		p += len;
	}
	*out = v;
	*n = acc.n;
	rc = OM_OK;
out_free:
	objects_free(&acc);
	return rc;
}

/* CLIENTS: ten items per connection -> om_client_info[] (one block). */
static int clients_done(const Objmgr__Response *r, void *out, void *out2)
{
	if (r->n_results % 10)
		return OM_EPROTO;
	size_t rows = r->n_results / 10;
	om_client_info *v = calloc(rows ? rows : 1, sizeof *v);
	if (!v)
		return OM_ENOMEM;
	static const om_kind kinds[10] = {OM_INT, OM_INT, OM_INT, OM_FLOAT,
	                                  OM_INT, OM_INT, OM_INT, OM_INT,
	                                  OM_INT, OM_STR};
	for (size_t k = 0; k < rows; k++) {
		om_item it[10];
		for (size_t j = 0; j < 10; j++)
			if (res_item(r, k * 10 + j, kinds[j], &it[j])) {
				free(v);
				return OM_EPROTO;
			}
		om_client_info *ci = &v[k];
		ci->id = (uint64_t)it[0].i;
		ci->pid = it[1].i;
		ci->uid = it[2].i;
		ci->since = it[3].f;
		ci->refs = (uint64_t)it[4].i;
		ci->locks = (uint64_t)it[5].i;
		ci->parked = (uint64_t)it[6].i;
		ci->requests = (uint64_t)it[7].i;
		ci->flags = (unsigned)it[8].i;
		size_t len = it[9].s.len < sizeof ci->addr - 1
		                     ? it[9].s.len
		                     : sizeof ci->addr - 1;
		if (len)
			memcpy(ci->addr, it[9].s.ptr, len);
		ci->addr[len] = '\0';
	}
	*(om_client_info **)out = v;
	*(size_t *)out2 = rows;
	return OM_OK;
}

int om_clients(om_client *c, om_client_info **out, size_t *n)
{
	if (!c || !out || !n)
		return c ? omi_fail(c, OM_EINVAL, "NULL argument") : OM_EINVAL;
	struct omi_args a = {.op = OBJMGR__OP__CLIENTS,
	                     .done = clients_done,
	                     .out = out,
	                     .out2 = n};
	return omi_rpc(c, 0, &a);
}

int om_info(om_client *c, om_items *keys, om_items *values)
{
	if (!c || !keys || !values)
		return c ? omi_fail(c, OM_EINVAL, "NULL argument") : OM_EINVAL;
	struct omi_args a = {.op = OBJMGR__OP__INFO,
	                     .done = omi_done_split,
	                     .out = keys,
	                     .out2 = values};
	return omi_rpc(c, 0, &a);
}

int om_dump(const void *handle, om_items *out)
{
	struct omi_handle *h = omi_handle_get(handle);
	if (!h || !out)
		return OM_EINVAL;
	struct omi_args a = {
	        .op = OBJMGR__OP__DUMP, .done = omi_done_items, .out = out};
	return omi_call(handle, h->type, &a);
}

/* -------------------------------------------------------- subscriptions */

/* c's subscription state, made with room for one more id. */
static struct omi_sub *sub_room(om_client *c)
{
	struct omi_sub *s = c->sub;
	if (!s && !(s = c->sub = calloc(1, sizeof *s)))
		return NULL;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;
		uint64_t *ids = realloc(s->ids, cap * sizeof *ids);
		if (!ids)
			return NULL;
		s->ids = ids;
		s->cap = cap;
	}
	return s;
}

/* WATCH / MONITOR answered OK: its id is a subscription's (room was made
 * before the request). */
static int sub_done(const Objmgr__Response *r, void *out, void *out2)
{
	(void)out2;
	struct omi_sub *s = ((om_client *)out)->sub;
	s->ids[s->n++] = r->id;
	s->on = true;
	return OM_OK;
}

/* Subscribe with `op` (WATCH of `target`, or MONITOR). */
static int subscribe(om_client *c, const void *handle, int op)
{
	if (omi_piping(c))
		return omi_fail(c, OM_EINVAL,
		                "a subscription cannot be pipelined");
	if (!sub_room(c)) {
		if (c->sub && !c->sub->on && !c->sub->n)
			omi_sub_free(c);
		return omi_fail(c, OM_ENOMEM, "out of memory");
	}
	struct omi_args a = {.op = op, .done = sub_done, .out = c};
	int rc = handle ? omi_call(handle, omi_handle_get(handle)->type, &a)
	                : omi_rpc(c, 0, &a);
	if (rc < 0 && !c->sub->on)
		omi_sub_free(c); /* not a subscriber after all */
	return rc;
}

int om_watch(const void *handle)
{
	struct omi_handle *h = omi_handle_get(handle);
	if (!h)
		return OM_EINVAL;
	return subscribe(h->c, handle, OBJMGR__OP__WATCH);
}

int om_monitor(om_client *c)
{
	if (!c)
		return OM_EINVAL;
	return subscribe(c, NULL, OBJMGR__OP__MONITOR);
}

bool omi_sub_refuses(om_client *c, int op)
{
	if (!c->sub->on || op == OBJMGR__OP__WATCH)
		return false;
	omi_fail(c, OM_EINVAL,
	         "this client is a subscriber (om_watch, om_monitor): it may "
	         "only watch more objects and read events");
	return true;
}

/* Copy a str result into buf[size] (cut short, NUL-terminated). */
static void copy_str(const om_item *it, char *buf, size_t size)
{
	size_t len = it->s.len < size - 1 ? it->s.len : size - 1;
	if (len)
		memcpy(buf, it->s.ptr, len);
	buf[len] = '\0';
}

bool omi_sub_take(om_client *c, const Objmgr__Response *r)
{
	struct omi_sub *s = c->sub;
	size_t i = 0;
	while (i < s->n && s->ids[i] != r->id)
		i++;
	if (i == s->n)
		return false;
	struct omi_ev_node *e = calloc(1, sizeof *e);
	if (!e) {
		omi_lose(c, "out of memory for an event", 0);
		return true;
	}
	e->rc = omi_status_to_code(r->status);
	if (e->rc < 0) {
		const char *m = r->message && *r->message ? r->message
		                                          : om_strerror(e->rc);
		e->msg = strdup(m);
	} else {
		static const om_kind kinds[6] = {OM_FLOAT, OM_INT, OM_INT,
		                                 OM_INT,   OM_STR, OM_STR};
		om_item it[6];
		for (size_t j = 0; j < 6; j++)
			if (res_item(r, j, kinds[j], &it[j])) {
				e->rc = OM_EPROTO;
				e->msg = strdup(
				        "an event that does not have the "
				        "expected shape");
				break;
			}
		if (e->rc >= 0) {
			e->ev.time = it[0].f;
			e->ev.client = (uint64_t)it[1].i;
			e->ev.target = (uint64_t)it[2].i;
			e->ev.type = (int)it[3].i;
			copy_str(&it[4], e->ev.op, sizeof e->ev.op);
			copy_str(&it[5], e->ev.name, sizeof e->ev.name);
		}
	}
	if (s->tail)
		s->tail->next = e;
	else
		s->head = e;
	s->tail = e;
	return true;
}

void omi_sub_free(om_client *c)
{
	struct omi_sub *s = c->sub;
	if (!s)
		return;
	while (s->head) {
		struct omi_ev_node *e = s->head;
		s->head = e->next;
		free(e->msg);
		free(e);
	}
	free(s->ids);
	free(s);
	c->sub = NULL;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int om_notice_next(om_client *c, om_notice *ev, double timeout)
{
	if (!c)
		return OM_EINVAL;
	if (!ev || !c->sub || !c->sub->on)
		return omi_fail(c, OM_EINVAL,
		                ev ? "this client is not a subscriber "
		                     "(om_watch, om_monitor)"
		                   : "NULL event");
	if (timeout != timeout)
		return omi_fail(c, OM_EINVAL, "timeout is NaN");
	pthread_mutex_lock(&c->call_mu);
	struct omi_sub *s = c->sub;
	double deadline = timeout < 0 ? 0 : mono_now() + timeout;
	int rc;
	for (;;) {
		struct omi_ev_node *e = s->head;
		if (e) {
			s->head = e->next;
			if (!s->head)
				s->tail = NULL;
			rc = e->rc;
			if (rc < 0) {
				/* The server dropped us (ELIMIT) or sent
				 * garbage: the connection is over. */
				c->lost = true;
				omi_fail(c, rc, "%s", e->msg ? e->msg : "");
			} else {
				*ev = e->ev;
				rc = OM_OK;
			}
			free(e->msg);
			free(e);
			break;
		}
		if (c->lost) {
			rc = omi_fail(c, OM_ECONN, "connection to %s was lost",
			              c->path);
			break;
		}
		double left = timeout < 0 ? -1 : deadline - mono_now();
		if (timeout >= 0 && left < 0)
			left = 0;
		rc = omi_pipe_poll(c, left);
		if (rc == OM_ETIMEOUT && !s->head) {
			rc = omi_fail(c, OM_ETIMEOUT, "no event in time");
			break;
		}
	}
	pthread_mutex_unlock(&c->call_mu);
	return rc;
}
