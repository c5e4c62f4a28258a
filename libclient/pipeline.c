/*
 * pipeline.c — the client's one I/O engine, and om_pipeline_begin / _end.
 *
 * Every request, synchronous or not, is packed into c->wbuf by omi_rpc()
 * and recorded here by omi_pipe_run() as a pending entry {request id,
 * completion, outputs, kind}. A synchronous call is a pipeline of one, as
 * hiredis's redisCommand is append + get-reply: its entry is pumped at
 * once. Between om_pipeline_begin() and _end() entries pile up instead,
 * and om_pipeline_end() pumps until every one has its answer.
 *
 * pump() is the only code that moves bytes (write_some() from wbuf,
 * read_some() into rbuf), and answer_buffered() the only code that decodes
 * responses: it matches each to its entry by id (a blocking call is
 * answered when it completes, so answers come in any order), runs the
 * entry's completion (done.c), and treats a response of id 0, an error of
 * the whole connection after which the server closes, as a loss.
 *
 * Syscalls: a write is tried at once, and once everything is written
 * answers are waited for in recvmsg() itself, so a synchronous call costs
 * one send and one receive, and reuses the entry array (no allocation per
 * call).
 *
 * Flow control: the server stops reading a client whose unread answers
 * pile up (16 MiB), and a blocking write to a server that stopped reading
 * would never end. So writes never block: when the socket does not take
 * all of wbuf, pump() polls for both directions and reads whatever answers
 * are there while writing. A pipeline writes early when wbuf grows past
 * FLUSH_AT while calls are being queued; the answers read then stay raw in
 * rbuf until om_pipeline_end(), so no output is written before it. A write
 * that fails still reads what the server sent before closing: it may have
 * refused a request (a frame over its limit) and said why.
 *
 * Descriptors: the server passes some with SCM_RIGHTS (MAP's segment and
 * kick socket), on bytes written at or before the frame of the answer that
 * names them (Response.fds). read_some() reads with recvmsg() and queues
 * what comes, in order, on the client's FIFO; answer_buffered() takes
 * each answer's share off it before the answer is completed, so its
 * completion finds them in c->afds and may keep them. The rest are closed.
 *
 * Internal entries: a forked child's first ADDREF of an inherited handle
 * and the RELEASE of om_release() are entries like calls, but have no
 * place in a pipeline's rcs. A request sent for later (omi_rpc_later: a
 * pool worker's POOL_DONE) is written at once and left pending; the next
 * call's pump reads its answer on the way to its own and drops it (the
 * server answers POOL_DONE at once, so that wait is short). No synchronous
 * request is ever made while pipelined ones are unanswered (it would wait
 * for them all): the calls that need their answer at once (opening
 * objects, om_shutdown) refuse to run in a pipeline.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

enum {
	FLUSH_AT = 1024 * 1024, /* write early once this much is queued */
	READ_CHUNK = 64 * 1024, /* room made in rbuf before each read */
	KEEP_ENTRIES = 4096,    /* entry arrays kept for the next pipeline */
	KEEP_BUF = 4 * 1024 * 1024, /* larger empty buffers are given back */
};

/* What pump() waits for, besides wbuf being written. */
enum until {
	UNTIL_WRITTEN,  /* nothing more */
	UNTIL_FRAME,    /* a whole frame in rbuf, left there */
	UNTIL_ANSWERED, /* every entry answered and completed */
	UNTIL_LAST,     /* the last entry answered (those before it as they
	                 * come) */
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

/* ----------------------------------------------------------- descriptors */

void omi_pipe_drop_fds(om_client *c)
{
	for (; c->rfd_n; c->rfd_n--) {
		close(c->rfds[c->rfd_head]);
		c->rfd_head = (c->rfd_head + 1) % OMI_RFDS_MAX;
	}
	c->rfd_head = 0;
	for (size_t i = 0; i < c->n_afds; i++)
		if (c->afds[i] >= 0)
			close(c->afds[i]);
	c->n_afds = 0;
}

/* Queue the descriptors of the control message `msg`, which recvmsg()
 * filled. @return false (the connection is lost) when the server sent
 * more than the FIFO holds or the kernel cut some off: the answers could
 * no longer be matched with their descriptors. */
/* omi_recv_fds()'s taker: onto c's FIFO, or closed (and counted) when
 * it is full. */
static void queue_fd(void *arg, int fd)
{
	om_client *c = arg;
	if (c->rfd_n == OMI_RFDS_MAX) {
		close(fd);
		c->rfd_over = true;
		return;
	}
	c->rfds[(c->rfd_head + c->rfd_n) % OMI_RFDS_MAX] = fd;
	c->rfd_n++;
}

static bool queue_fds(om_client *c, struct msghdr *msg)
{
	c->rfd_over = false;
	omi_recv_fds(msg, queue_fd, c);
	bool ok = !(msg->msg_flags & MSG_CTRUNC) && !c->rfd_over;
	if (!ok)
		omi_lose(c,
		         msg->msg_flags & MSG_CTRUNC
		                 ? "descriptors from the server were cut off"
		                 : "more descriptors from the server than "
		                   "answers take",
		         0);
	return ok;
}

/* Take the `k` descriptors answer r names off the FIFO into c->afds, for
 * its completion. @return OM_OK, or OM_EPROTO (what was taken is closed)
 * when fewer were received than it names or an answer may carry. */
static int take_fds(om_client *c, uint32_t k)
{
	if (k <= OMI_ANSWER_FDS && k <= c->rfd_n) {
		for (size_t i = 0; i < k; i++) {
			c->afds[i] = c->rfds[c->rfd_head];
			c->rfd_head = (c->rfd_head + 1) % OMI_RFDS_MAX;
		}
		c->rfd_n -= k;
		c->n_afds = k;
		return OM_OK;
	}
	for (; k && c->rfd_n; k--, c->rfd_n--) {
		close(c->rfds[c->rfd_head]);
		c->rfd_head = (c->rfd_head + 1) % OMI_RFDS_MAX;
	}
	return OM_EPROTO;
}

/* ------------------------------------------------------------------- I/O */

/* Read what the socket holds into rbuf (`flags`: MSG_DONTWAIT, or 0 to
 * wait), and queue the descriptors that come with it. @return 1 if bytes
 * came, 0 if none were there, -1 if the connection is lost. */
static int read_some(om_client *c, int flags)
{
	struct omi_buf *b = &c->rbuf;
	if (b->off == b->len)
		b->off = b->len = 0;
	if (omi_buf_reserve(b, READ_CHUNK)) {
		omi_lose(c, "out of memory for the answers", 0);
		return -1;
	}
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(OMI_RFDS_MAX * sizeof(int))];
	} ctl;
	struct iovec iov = {b->p + b->len, b->cap - b->len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;
	do {
		msg.msg_control = ctl.b;
		msg.msg_controllen = sizeof ctl.b;
		n = recvmsg(c->fd, &msg, flags | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		b->len += (size_t)n;
		if ((msg.msg_controllen || (msg.msg_flags & MSG_CTRUNC)) &&
		    !queue_fds(c, &msg))
			return -1;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		if (flags & MSG_DONTWAIT)
			return 0;
		/* A blocking read timed out: only a TCP dial sets a receive
		 * timeout (client.c, dial_deadline), and its server did not
		 * answer in time. */
		omi_lose(c, "no answer in time", ETIMEDOUT);
		return -1;
	}
	omi_lose(c, n == 0 ? "closed by the server" : "read",
	         n < 0 ? errno : 0);
	return -1;
}

/* Write what wbuf holds, as far as the socket takes it now. */
static void write_some(om_client *c)
{
	struct omi_buf *w = &c->wbuf;
	struct iovec iov = {w->p + w->off, w->len - w->off};
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (c->pass_fd >= 0) {
		/* FORK's pipe, on the first byte written (of its frame or
		 * of one queued before it: the server keeps it for FORK). */
		msg.msg_control = ctl.b;
		msg.msg_controllen = sizeof ctl.b;
		struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &c->pass_fd, sizeof(int));
	}
	ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0) {
		c->pass_fd = -1; /* sent; the caller closes its copy */
		w->off += (size_t)n;
		if (w->off == w->len)
			w->off = w->len = 0;
		return;
	}
	if (n < 0 &&
	    (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
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

/* Take the next whole frame out of rbuf. @return 1 and *body, *len (valid
 * until rbuf is read into again), 0 if none is there yet, or -1 if the
 * connection is lost: the server announced a frame no client accepts. */
static int take_frame(om_client *c, const uint8_t **body, size_t *len)
{
	struct omi_buf *b = &c->rbuf;
	int rc = omi_buf_frame(b, OMI_MAX_FRAME, body, len);
	if (rc == 1) {
		b->off += OMI_FRAME_HDR + *len;
	} else if (rc < 0) {
		omi_lose(c, "oversized frame from the server", 0);
		b->off = b->len = 0;
		rc = -1;
	}
	return rc;
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

/* The code of response r to a call with completion `done` and outputs
 * out, out2: its status, or done's error. Runs done on a success. */
static int complete(const Objmgr__Response *r, omi_done_fn *done, void *out,
                    void *out2)
{
	int rc = omi_status_to_code(r->status);
	if (rc >= 0 && done) {
		int d = done(r, out, out2);
		if (d < 0)
			return d;
	}
	return rc;
}

/* The text to report for a response r whose code is `rc` (< 0). */
static const char *resp_msg(const Objmgr__Response *r, int rc)
{
	if (r->status != OBJMGR__STATUS__OK && r->message && *r->message)
		return r->message;
	if (rc == OM_EPROTO)
		return "the server's answer does not have the expected shape";
	return om_strerror(rc);
}

/* Complete the entry that response r answers; `fdrc` is take_fds()'s
 * code for it (an error fails the call). */
static void answer(om_client *c, const Objmgr__Response *r, int fdrc)
{
	struct omi_pipe *p = &c->pipe;
	struct omi_pending *e = find(p, r->id);
	if (!e || e->answered) {
		/* Not a pending request: a subscription's event, or an
		 * answer to a discarded pipeline (dropped). */
		if (c->sub)
			omi_sub_take(c, r);
		return;
	}
	e->rc = fdrc < 0 ? fdrc : complete(r, e->done, e->out, e->out2);
	e->answered = true;
	p->left--;
	if (e->rc >= 0)
		return;
	if (e->kind == OMI_PEND_ADDREF)
		undo_addref(e);
	size_t i = (size_t)(e - p->v);
	if (e->kind == OMI_PEND_LATER)
		return; /* nobody waits for it: its failure is no one's */
	if (!omi_piping(c)) {
		/* A synchronous call: errmsg is its own failure's. */
		omi_fail(c, e->rc, "%s", resp_msg(r, e->rc));
	} else if (e->kind == OMI_PEND_CALL && !c->lost && i < p->failed) {
		/* errmsg tells of a pipeline's first failed call; of a lost
		 * connection, once there is one. */
		p->failed = i;
		omi_fail(c, e->rc, "%s", resp_msg(r, e->rc));
	}
}

/* Decode and complete every whole answer buffered in rbuf. @return OM_OK,
 * or the code of a response of id 0 (an error of the whole connection:
 * the server closes), which is then lost. */
static int answer_buffered(om_client *c)
{
	const uint8_t *body;
	size_t len;
	while (take_frame(c, &body, &len) == 1) {
		omi_arena_reset(&c->arena);
		Objmgr__Response *r =
		        objmgr__response__unpack(&c->arena.pb, len, body);
		if (!r) {
			c->rbuf.off = c->rbuf.len = 0;
			omi_lose(c, "a response that does not decode", 0);
			return OM_OK;
		}
		int fdrc = take_fds(c, r->fds);
		if (r->id == 0) {
			int code = omi_status_to_code(r->status);
			code = code < 0 ? code : OM_EPROTO;
			c->rbuf.off = c->rbuf.len = 0;
			omi_pipe_drop_fds(c);
			omi_lose(c, resp_msg(r, code), 0);
			return code;
		}
		answer(c, r, fdrc);
		/* What the completion did not keep. */
		for (size_t i = 0; i < c->n_afds; i++)
			if (c->afds[i] >= 0)
				close(c->afds[i]);
		c->n_afds = 0;
	}
	return OM_OK;
}

/* Whether what pump() waits for, besides a written wbuf, is there. */
static bool arrived(om_client *c, enum until until)
{
	const uint8_t *body;
	size_t len;
	switch (until) {
	case UNTIL_WRITTEN:
		return true;
	case UNTIL_FRAME: /* an oversized one too: take_frame() says so */
		return omi_buf_frame(&c->rbuf, OMI_MAX_FRAME, &body, &len) != 0;
	case UNTIL_ANSWERED:
		break;
	case UNTIL_LAST:
		return c->pipe.n == 0 || c->pipe.v[c->pipe.n - 1].answered;
	}
	return c->pipe.left == 0;
}

/*
 * Move bytes both ways until wbuf is written and `until` has arrived, or
 * the connection is lost. Only with UNTIL_ANSWERED are answers completed
 * (as they come); otherwise they stay raw in rbuf.
 * @return OM_OK, or once the connection is lost the code to report a call
 *         that got no answer with: a response of id 0's, else OM_ECONN.
 */
static int pump(om_client *c, enum until until)
{
	struct omi_buf *w = &c->wbuf;
	int why = OM_ECONN;
	bool tried = false; /* a write is tried once before any poll() */
	for (;;) {
		if ((until == UNTIL_ANSWERED || until == UNTIL_LAST) &&
		    c->rbuf.off < c->rbuf.len) {
			int code = answer_buffered(c);
			if (code)
				why = code;
		}
		if (c->lost)
			break;
		bool writing = w->off < w->len;
		if (!writing) {
			if (arrived(c, until))
				break;
			/* Only answers are to come: wait for them in
			 * recvmsg. */
			read_some(c, 0);
			continue;
		}
		if (!tried) {
			tried = true;
			write_some(c);
			continue;
		}
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN | POLLOUT};
		if (poll(&pfd, 1, -1) < 0) {
			if (errno != EINTR)
				omi_lose(c, "poll", errno);
			continue;
		}
		if (pfd.revents & POLLNVAL) {
			omi_lose(c, "poll", EBADF);
			continue;
		}
		if (pfd.revents & (POLLOUT | POLLERR | POLLHUP))
			write_some(c);
		if (!c->lost && (pfd.revents & (POLLIN | POLLERR | POLLHUP)))
			read_some(c, MSG_DONTWAIT);
	}
	if (!c->lost)
		return OM_OK;
	w->off = w->len = 0;
	return why;
}

int omi_pipe_wait_last(om_client *c)
{
	pump(c, UNTIL_LAST);
	struct omi_pipe *p = &c->pipe;
	return p->n && p->v[p->n - 1].answered ? p->v[p->n - 1].rc : OM_ECONN;
}

int omi_pipe_frame(om_client *c, const uint8_t **body, size_t *len)
{
	pump(c, UNTIL_FRAME);
	/* Looked for even once lost: a server that refuses us answers and
	 * closes at once, so our write may have failed. */
	return take_frame(c, body, len) == 1 ? OM_OK : OM_ECONN;
}

int omi_pipe_poll(om_client *c, double timeout)
{
	if (c->lost)
		return OM_ECONN;
	const uint8_t *body;
	size_t len;
	/* Read unless a whole frame waits (part of one is not enough). */
	if (omi_buf_frame(&c->rbuf, OMI_MAX_FRAME, &body, &len) == 0) {
		int ms = timeout < 0         ? -1
		         : timeout > 86400.0 ? 86400 * 1000
		                             : (int)(timeout * 1000.0 + 0.999);
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int n = poll(&pfd, 1, ms);
		if (n < 0 && errno != EINTR)
			return omi_lose(c, "poll", errno);
		if (n <= 0)
			return OM_ETIMEOUT;
		if (read_some(c, MSG_DONTWAIT) < 0)
			return OM_ECONN;
	}
	answer_buffered(c);
	return c->lost ? OM_ECONN : OM_OK;
}

/* ----------------------------------------------------------------- queue */

/* Record request `id`, just packed into wbuf (whose length was
 * `wbuf_mark` before), as a pending entry. */
static int push(om_client *c, uint64_t id, size_t wbuf_mark,
                const struct omi_args *a)
{
	struct omi_pipe *p = &c->pipe;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct omi_pending *v = NULL;
		if (cap <= SIZE_MAX / sizeof *v)
			v = realloc(p->v, cap * sizeof *v);
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
	return OM_OK;
}

int omi_pipe_run(om_client *c, uint64_t id, size_t wbuf_mark,
                 const struct omi_args *a)
{
	int rc = push(c, id, wbuf_mark, a);
	if (rc)
		return rc;
	if (omi_piping(c)) {
		/* A loss here shows at om_pipeline_end(): the call is
		 * queued. */
		if (c->wbuf.len - c->wbuf.off >= FLUSH_AT)
			pump(c, UNTIL_WRITTEN);
		return OM_OK;
	}
	struct omi_pipe *p = &c->pipe;
	if (a->pend == OMI_PEND_LATER) {
		/* Written now; answered with the next call. */
		int why = pump(c, UNTIL_WRITTEN);
		return c->lost ? why : OM_OK;
	}
	/* A pipeline of one: this entry is the last one (after requests sent
	 * for later, which are answered on the way). */
	int why = pump(c, UNTIL_ANSWERED);
	struct omi_pending *e = &p->v[p->n - 1];
	rc = e->answered ? e->rc : why;
	p->n = p->left = 0;
	return rc;
}

/* ------------------------------------------------------------------- end */

int om_pipeline_end(om_client *c, int *rcs, size_t n)
{
	if (!c)
		return OM_EINVAL;
	if (!omi_piping(c)) {
		if (c->pipe.on)
			omi_pipe_discard(c); /* begun by the parent */
		return omi_fail(c, OM_EINVAL, "no pipeline was begun");
	}
	struct omi_pipe *p = &c->pipe;
	if (!c->lost)
		c->errmsg[0] = '\0'; /* else it tells why the connection went */
	pump(c, UNTIL_ANSWERED);

	/* Calls without an answer (the connection was lost) get OM_ECONN,
	 * with the loss's reason in errmsg. */
	bool unanswered = false;
	int result = OM_OK;
	size_t k = 0;
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
