/*
 * hold.c — fork() without a window: FORK and ADOPT (objmgr.proto).
 *
 * When a client process forks, its library sends FORK on each of its
 * connections, with a token and the read end of a pipe whose write end the
 * child keeps. The server then holds a reference on everything that
 * connection references, under the token, so a parent that releases a
 * handle right after fork() cannot free an object before the child's own
 * session exists. The child's session ADOPTs the hold: it takes a
 * reference on each object, as an ADDREF adopts a taken one, and closes
 * its write end. The hold ends when the pipe reads end-of-file: every
 * process with the write end — the child, and any process it forked
 * before adopting — has closed it or exited (exit and SIGKILL alike close
 * it), so nothing waits on a child that never connects.
 *
 * Over TCP no descriptor can be passed: a hold then ends when a session
 * ADOPTs it (the one child it was made for), or TCP_HOLD_SECONDS after the
 * FORK if none does (a child that died, or never connected).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "conn.h"
#include "hold.h"
#include "log.h"

enum { MAX_HOLDS = 4096, TCP_HOLD_SECONDS = 60 };

struct hold {
	uint64_t token;
	int fd;            /* the pipe's read end; -1 for a TCP hold */
	struct event *ev;  /* the pipe's end-of-file, or the TCP hold's timer */
	struct obj **objs; /* each with one reference of the hold */
	size_t n, cap;
	struct hold *prev, *next;
};

static struct hold *holds;
static size_t nholds;

static struct hold *find(uint64_t token)
{
	for (struct hold *h = holds; h; h = h->next)
		if (h->token == token)
			return h;
	return NULL;
}

static void hold_free(struct hold *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		holds = h->next;
	if (h->next)
		h->next->prev = h->prev;
	nholds--;
	if (h->ev)
		event_free(h->ev);
	if (h->fd >= 0)
		close(h->fd);
	for (size_t i = 0; i < h->n; i++)
		obj_decref(h->objs[i]);
	free(h->objs);
	free(h);
}

/* The pipe: end-of-file when the last process with its write end is gone;
 * bytes are not expected and are dropped. */
static void on_pipe(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	char b[64];
	ssize_t n = read(fd, b, sizeof b); /* non-blocking: serve_fork */
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return;
	struct hold *h = arg;
	log_debug("hold %llx: the forked child is gone (%zu objects)",
	          (unsigned long long)h->token, h->n);
	hold_free(h);
}

/* A TCP hold that no session adopted in time. */
static void on_expire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct hold *h = arg;
	log_debug("hold %llx: not adopted within %d s (%zu objects)",
	          (unsigned long long)h->token, TCP_HOLD_SECONDS, h->n);
	hold_free(h);
}

/* conn_each_ref's callback: add o to the hold. */
static void take(struct obj *o, void *arg)
{
	struct hold *h = arg;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct obj **v = realloc(h->objs, cap * sizeof *v);
		if (!v) {
			h->cap = SIZE_MAX; /* marks the failure */
			return;
		}
		h->objs = v;
		h->cap = cap;
	}
	if (h->cap == SIZE_MAX)
		return;
	obj_incref(o);
	h->objs[h->n++] = o;
}

int serve_fork(struct obj *unused, struct call *c)
{
	(void)unused;
	uint64_t token = (uint64_t)c->req->num;
	bool tcp = !c->conn->local;
	int fd = tcp ? -1 : conn_take_fd(c->conn);
	if (fd < 0 && !tcp)
		return call_err(c, OM_EINVAL, "FORK needs a pipe descriptor");
	int rc;
	/* Only a pipe, and never a blocking read of it: a peer must not be
	 * able to stall the loop with what it passes (a socket with a low-
	 * water mark, a pipe it reads from too). */
	struct stat st;
	if (!tcp && (fstat(fd, &st) || !S_ISFIFO(st.st_mode) ||
	             fcntl(fd, F_SETFL, O_NONBLOCK))) {
		rc = call_err(c, OM_EINVAL, "FORK's descriptor is not a pipe");
		goto out_close;
	}
	if (token == 0 || find(token)) {
		rc = call_err(c, OM_EINVAL, "FORK token 0 or in use");
		goto out_close;
	}
	if (nholds >= MAX_HOLDS) {
		rc = call_err(c, OM_ELIMIT, "%d forks held already", MAX_HOLDS);
		goto out_close;
	}
	struct hold *h = calloc(1, sizeof *h);
	if (!h) {
		rc = call_err(c, OM_ENOMEM, "out of memory");
		goto out_close;
	}
	h->token = token;
	h->fd = fd;
	h->next = holds;
	if (holds)
		holds->prev = h;
	holds = h;
	nholds++;
	conn_each_ref(c->conn, take, h);
	static const struct timeval expiry = {TCP_HOLD_SECONDS, 0};
	if (tcp)
		h->ev = evtimer_new(omi_srv.base, on_expire, h);
	else
		h->ev = event_new(omi_srv.base, fd, EV_READ | EV_PERSIST,
		                  on_pipe, h);
	if (h->cap == SIZE_MAX || !h->ev ||
	    event_add(h->ev, tcp ? &expiry : NULL)) {
		hold_free(h); /* closes fd */
		return call_err(c, OM_ENOMEM, "out of memory");
	}
	return OM_OK;

out_close:
	if (fd >= 0)
		close(fd);
	return rc;
}

int serve_adopt(struct obj *unused, struct call *c)
{
	(void)unused;
	struct hold *h = find((uint64_t)c->req->num);
	if (!h)
		return call_err(c, OM_ENOENT, "no fork held with that token");
	for (size_t i = 0; i < h->n; i++)
		if (conn_ref_take(c->conn, h->objs[i]))
			return call_err(c, OM_ENOMEM, "out of memory");
	if (h->fd < 0)
		hold_free(h); /* a TCP hold: its one child has it now */
	return OM_OK;
}

void holds_free_all(void)
{
	while (holds)
		hold_free(holds);
}
