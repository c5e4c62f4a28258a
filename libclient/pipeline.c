/*
 * pipeline.c — om_pipeline_begin / om_pipeline_end: many calls, one round
 * trip.
 *
 * In a pipeline, omi_rpc() packs each request into c->wbuf at once (so the
 * caller's arguments need not outlive the call) and records it here as a
 * pending entry {request id, completion, outputs}; nothing is waited for.
 * om_pipeline_end() writes what is buffered and reads answers until every
 * entry has one, matching them by id (a blocking call is answered when it
 * completes, so answers come in any order), decoding each in the arena and
 * running its completion (done.c) to fill in the caller's outputs.
 *
 * Flow control: the server stops reading a client whose unread answers
 * pile up (16 MiB), and a blocking write to a server that stopped reading
 * would never end. So whenever this file writes (at the end, and early
 * when wbuf grows past FLUSH_AT while calls are being queued) it polls for
 * both directions and reads whatever answers are there while writing.
 * Answers read early stay raw in c->rbuf until om_pipeline_end(), so no
 * output is written before it.
 *
 * Internal entries: a forked child's first ADDREF of an inherited handle
 * and the RELEASE of om_release() are queued like calls but have no place
 * in rcs. No synchronous request is ever made while pipelined ones are
 * unanswered (its read loop would skip their answers): the calls that need
 * their answer at once (opening objects, om_shutdown) refuse to run in a
 * pipeline.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

enum {
	FLUSH_AT = 1024 * 1024,  /* write early once this much is queued */
	READ_CHUNK = 64 * 1024,  /* room made in rbuf before each read */
	KEEP_ENTRIES = 4096,     /* entry arrays kept for the next pipeline */
	KEEP_BUF = 4 * 1024 * 1024, /* larger empty buffers are given back */
};

bool omi_piping(const om_client *c)
{
	return c->pipe.on && c->pipe.gen == omi_fork_gen();
}

void omi_pipe_discard(om_client *c)
{
	free(c->pipe.v);
	memset(&c->pipe, 0, sizeof c->pipe);
}

int om_pipeline_begin(om_client *c)
{
	if (!c)
		return OM_EINVAL;
	if (omi_piping(c))
		return omi_fail(c, OM_EINVAL, "a pipeline is already begun");
	if (c->pipe.on)
		omi_pipe_discard(c); /* begun by the parent before fork() */
	c->errmsg[0] = '\0';
	c->pipe.on = true;
	c->pipe.gen = omi_fork_gen();
	c->pipe.failed = SIZE_MAX;
	return OM_OK;
}

/* ------------------------------------------------------------------- I/O */

/* Read what the socket holds into rbuf (`flags`: MSG_DONTWAIT, or 0 to
 * wait). @return 1 if bytes came, 0 if none were there, -1 if the
 * connection is lost. */
static int read_some(om_client *c, int flags)
{
	struct omi_buf *b = &c->rbuf;
	ssize_t n;

	if (b->off == b->len)
		b->off = b->len = 0;
	if (omi_buf_reserve(b, READ_CHUNK)) {
		omi_lose(c, "out of memory for the answers", 0);
		return -1;
	}
	do
		n = recv(c->fd, b->p + b->len, b->cap - b->len, flags);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		b->len += (size_t)n;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	omi_lose(c, n == 0 ? "closed by the server" : "read", n < 0 ? errno : 0);
	return -1;
}

/* Write what wbuf holds, as far as the socket takes it now. */
static void write_some(om_client *c)
{
	struct omi_buf *w = &c->wbuf;
	ssize_t n = send(c->fd, w->p + w->off, w->len - w->off,
	                 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n > 0) {
		w->off += (size_t)n;
		if (w->off == w->len)
			w->off = w->len = 0;
		return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	int err = n < 0 ? errno : 0;
	w->off = w->len = 0;
	/* The server closed, perhaps after saying why (a frame over its
	 * limit): keep what it sent, up to its end of the connection. */
	if (err == EPIPE || err == ECONNRESET)
		while (read_some(c, 0) > 0)
			;
	if (!c->lost)
		omi_lose(c, "write", err);
}

/* The entry of request `id` (entries are in id order), or NULL. */
static struct omi_pending *find(struct omi_pipe *p, uint64_t id)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->v[mid].id == id)
			return &p->v[mid];
		if (p->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A child's first ADDREF of a handle failed (or got no answer): the handle
 * holds no reference of this process, so its next use tries again. */
static void undo_addref(struct omi_pending *e)
{
	struct omi_handle *h = omi_handle_get(e->out);

	if (h)
		h->gen = 0; /* no fork generation is 0 */
}

/* Complete the entry that response r answers. */
static void answer(om_client *c, const Objmgr__Response *r)
{
	struct omi_pipe *p = &c->pipe;
	struct omi_pending *e = find(p, r->id);

	if (!e || e->answered)
		return; /* not a request of this pipeline: nothing to do */
	e->rc = omi_complete(r, e->done, e->out, e->out2);
	e->answered = true;
	p->left--;
	if (e->rc >= 0)
		return;
	if (e->kind == OMI_PEND_ADDREF) {
		undo_addref(e);
	} else if (e->kind == OMI_PEND_CALL && !c->lost &&
	           (size_t)(e - p->v) < p->failed) {
		/* errmsg tells of the first failed call; of a lost
		 * connection, once there is one. */
		p->failed = (size_t)(e - p->v);
		omi_fail(c, e->rc, "%s", omi_resp_msg(r, e->rc));
	}
}

/* Decode and complete every whole answer buffered in rbuf. */
static void answer_buffered(om_client *c)
{
	struct omi_buf *b = &c->rbuf;

	for (;;) {
		const uint8_t *body;
		size_t len;
		int rc = omi_buf_frame(b, OMI_MAX_FRAME, &body, &len);
		if (rc == 0)
			return;
		if (rc < 0) {
			omi_lose(c, "oversized frame from the server", 0);
			goto out_drop;
		}
		b->off += OMI_FRAME_HDR + len; /* body stays valid till then */
		omi_arena_reset(&c->arena);
		Objmgr__Response *r =
		        objmgr__response__unpack(&c->arena.pb, len, body);
		if (!r) {
			omi_lose(c, "a response that does not decode", 0);
			goto out_drop;
		}
		if (r->id == 0) {
			/* A connection-level error: the server closes. */
			int code = omi_status_to_code(r->status);
			omi_lose(c, omi_resp_msg(r, code < 0 ? code : OM_EPROTO),
			         0);
			goto out_drop;
		}
		answer(c, r);
	}

out_drop:
	b->off = b->len = 0;
}

/*
 * Move bytes both ways until wbuf is written and, with `finish`, every
 * entry is answered, or the connection is lost. With `finish` answers are
 * completed as they come; without, they stay raw in rbuf.
 */
static void pump(om_client *c, bool finish)
{
	struct omi_buf *w = &c->wbuf;

	for (;;) {
		if (finish)
			answer_buffered(c);
		if (c->lost)
			break;
		bool writing = w->off < w->len;
		if (!writing && (!finish || c->pipe.left == 0))
			break;
		struct pollfd pfd = {.fd = c->fd,
		                     .events = POLLIN | (writing ? POLLOUT : 0)};
		if (poll(&pfd, 1, -1) < 0) {
			if (errno != EINTR)
				omi_lose(c, "poll", errno);
			continue;
		}
		if (pfd.revents & POLLNVAL) {
			omi_lose(c, "poll", EBADF);
			continue;
		}
		if (writing && (pfd.revents & (POLLOUT | POLLERR | POLLHUP)))
			write_some(c);
		if (!c->lost && (pfd.revents & (POLLIN | POLLERR | POLLHUP)))
			read_some(c, MSG_DONTWAIT);
	}
	if (c->lost)
		w->off = w->len = 0;
}

/* ----------------------------------------------------------------- queue */

int omi_pipe_push(om_client *c, uint64_t id, size_t wbuf_mark,
                  const struct omi_args *a)
{
	struct omi_pipe *p = &c->pipe;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct omi_pending *v = NULL;
		if (cap <= SIZE_MAX / sizeof(*v))
			v = realloc(p->v, cap * sizeof(*v));
		if (!v) {
			c->wbuf.len = wbuf_mark; /* take the request back */
			return omi_fail(c, OM_ENOMEM, "out of memory");
		}
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = (struct omi_pending){
		.id = id,
		.done = a->done,
		.out = a->out,
		.out2 = a->out2,
		.kind = (unsigned char)a->pend,
	};
	p->left++;
	/* A loss here shows at om_pipeline_end(): the call is queued. */
	if (c->wbuf.len - c->wbuf.off >= FLUSH_AT)
		pump(c, false);
	return OM_OK;
}

/* ------------------------------------------------------------------- end */

int om_pipeline_end(om_client *c, int *rcs, size_t n)
{
	struct omi_pipe *p;
	bool unanswered = false;
	int result = OM_OK;
	size_t k = 0;

	if (!c)
		return OM_EINVAL;
	if (!omi_piping(c)) {
		if (c->pipe.on)
			omi_pipe_discard(c); /* begun by the parent */
		return omi_fail(c, OM_EINVAL, "no pipeline was begun");
	}
	p = &c->pipe;
	if (!c->lost)
		c->errmsg[0] = '\0'; /* else it tells why the connection went */
	pump(c, true);

	/* Calls without an answer (the connection was lost) get OM_ECONN,
	 * with the loss's reason in errmsg. */
	for (size_t i = 0; i < p->n; i++) {
		struct omi_pending *e = &p->v[i];
		if (!e->answered) {
			e->rc = OM_ECONN;
			if (e->kind == OMI_PEND_ADDREF)
				undo_addref(e);
		}
		if (e->kind != OMI_PEND_CALL)
			continue;
		if (!e->answered)
			unanswered = true;
		if (rcs && k < n)
			rcs[k] = e->rc;
		k++;
		if (e->rc < 0 && result == OM_OK)
			result = e->rc;
	}
	if (unanswered) {
		result = OM_ECONN;
		if (!c->errmsg[0])
			omi_fail(c, OM_ECONN, "connection to %s was lost",
			         c->path);
	}

	/* A huge pipeline's memory is not kept for the client's lifetime. */
	if (p->cap > KEEP_ENTRIES) {
		free(p->v);
		p->v = NULL;
		p->cap = 0;
	}
	if (c->rbuf.cap > KEEP_BUF && c->rbuf.off == c->rbuf.len)
		omi_buf_free(&c->rbuf);
	if (c->wbuf.cap > KEEP_BUF && c->wbuf.off == c->wbuf.len)
		omi_buf_free(&c->wbuf);
	p->n = p->left = 0;
	p->on = false;
	return result;
}
