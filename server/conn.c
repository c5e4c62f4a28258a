/*
 * conn.c — connections: non-blocking socket I/O on the libevent loop, and
 * the end of a session.
 *
 * The request path is kept to the three system calls an RPC needs:
 * epoll_wait (the loop), one read of everything the socket holds, and one
 * write of every response that burst produced. Responses are appended to
 * the connection's out buffer and written once per loop iteration
 * (conns_flush, main.c), so a pipelined burst of requests costs one write;
 * write
 * readiness is armed only when the socket is full.
 *
 * Memory a peer can make the server hold is bounded:
 * - Answers: before serving each request, a connection whose queued
 *   answers reach --max-output is paused — its buffered requests wait and
 *   nothing more is read from it — until they are written. So a client that
 *   never reads holds at most --max-output plus one answer (and what its
 *   parked calls are answered with), and others are served meanwhile.
 * - Requests: a frame is at most --max-frame; the pending bytes of every
 *   connection (partial input, unwritten answers) count against
 *   --max-memory with the stored items, and a connection whose partial
 *   input would pass it is refused (ENOMEM) and closed. om_stats'
 *   `buffered` shows them.
 * - Silence: a connection must complete its Hello within
 *   --handshake-timeout, or it is closed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "conn.h"
#include "lock.h"
#include "log.h"
#include "segment.h"
#include "shm.h"

enum {
	READ_CHUNK = 64 * 1024,
	READS_PER_EVENT = 8,    /* fairness between busy clients */
	KEEP_BUF = 1024 * 1024, /* larger empty buffers are given back */
};

static struct conn *all;
/* TCP connections that have not proved they hold the key yet. They have
 * their own, small budget, outside --max-connections: anyone who reaches
 * the port can open them, and each lasts up to --handshake-timeout, so if
 * they counted against the limit a stranger without the key could lock
 * every local client out. */
enum { STRANGERS_MAX = 64 };
static unsigned strangers;
static struct log_limit refusals, silences;
static struct conn *flush_list;
static uint64_t serials;
/* Session tokens in use (token -> conn), and the last one given. */
static struct u64map tokens;
static uint32_t last_token;

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_silence(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void conn_close(struct conn *conn, const char *why);

void conn_incref(struct conn *conn)
{
	conn->refcnt++;
}

/* Count the connection's pending bytes (input not yet served, answers not
 * yet written) in stats.buffered, as they are now. */
static void account(struct conn *conn)
{
	size_t now =
	        (conn->in.len - conn->in.off) + (conn->out.len - conn->out.off);
	omi_srv.stats.buffered = omi_srv.stats.buffered - conn->charged + now;
	conn->charged = now;
}

/* Give back a large buffer once it is empty (after a burst). */
static void trim(struct omi_buf *b)
{
	if (b->off == b->len && b->cap > KEEP_BUF)
		omi_buf_free(b);
}

void conn_decref(struct conn *conn)
{
	if (--conn->refcnt)
		return;
	omi_buf_free(&conn->in);
	omi_buf_free(&conn->out);
	account(conn);
	omi_arena_free(&conn->arena);
	free(conn);
}

void conn_refuse(int fd, int code, const char *msg)
{
	Objmgr__Hello hello = OBJMGR__HELLO__INIT;
	hello.version = OMI_PROTO_VERSION;
	hello.status = (Objmgr__Status)omi_code_to_status(code);
	hello.message = (char *)msg;
	struct omi_buf b = {0};
	if (!omi_buf_put_msg(&b, &hello.base, omi_srv.limits.max_frame)) {
		/* Best effort: the socket is new and empty, so the small
		 * frame fits; a peer that is gone just misses it. */
		ssize_t n = send(fd, b.p, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)n;
	}
	omi_buf_free(&b);
	close(fd);
}

bool conn_token_live(uint32_t token)
{
	return u64map_get(&tokens, token) != NULL;
}

/* A token for a new session: the next after the last one given that no
 * open connection has (they wrap at OMI_LK_OWNER; connections are far
 * fewer). @return OM_OK or OM_ENOMEM. */
static int take_token(struct conn *conn)
{
	do
		last_token = last_token % OMI_LK_OWNER + 1;
	while (u64map_get(&tokens, last_token));
	if (u64map_put(&tokens, last_token, conn))
		return OM_ENOMEM;
	conn->token = last_token;
	return OM_OK;
}

/* A TCP peer's socket: no Nagle delay (one small frame per request), and
 * keepalive probes after --keepalive seconds of silence, a few more at a
 * third of that apart, so a vanished peer is dropped within about twice
 * --keepalive; TCP_USER_TIMEOUT ends it as soon when sent data goes
 * unacknowledged (keepalive alone waits for the retransmissions). A live
 * peer answers the probes, so an idle one is never dropped. */
static void tune_tcp(int fd)
{
	int on = 1, idle = (int)omi_srv.keepalive;
	int intvl = idle / 3 > 0 ? idle / 3 : 1, cnt = 3;
	unsigned user_timeout = 2000u * (unsigned)idle;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout,
	           sizeof user_timeout);
}

/* Who a peer is, for the checks and the logs: a Unix peer's kernel
 * credentials (refused unless they are acceptable), a TCP peer's address.
 * @return false if the connection was refused (and closed). */
static bool identify(int fd, bool local, uid_t *uid, pid_t *pid, char *addr,
                     size_t cap)
{
	if (!local) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
			ss.ss_family = AF_UNSPEC;
		omi_format_sockaddr((struct sockaddr *)&ss, addr, cap);
		if (ss.ss_family == AF_UNSPEC)
			snprintf(addr, cap, "tcp:?");
		*uid = (uid_t)-1;
		*pid = 0;
		tune_tcp(fd);
		return true;
	}
	snprintf(addr, cap, "unix");
	struct ucred cred = {0};
	socklen_t clen = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		log_warn_limited(&refusals, "SO_PEERCRED: %s", strerror(errno));
		conn_refuse(fd, OM_EAUTH, "cannot read the peer's credentials");
		return false;
	}
	if (!omi_srv.allow_other_users && cred.uid != geteuid()) {
		log_warn_limited(&refusals,
		                 "refused pid %d: uid %u is not the server's "
		                 "uid %u",
		                 (int)cred.pid, (unsigned)cred.uid,
		                 (unsigned)geteuid());
		conn_refuse(fd, OM_EAUTH,
		            "peer uid does not match the server's uid");
		return false;
	}
	*uid = cred.uid;
	*pid = cred.pid;
	return true;
}

void conn_accept(int fd)
{
	int domain = 0;
	socklen_t dlen = sizeof domain;
	bool local = !getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) &&
	             domain == AF_UNIX;
	uid_t uid;
	pid_t pid;
	char addr[sizeof((struct conn *)0)->addr];
	if (!identify(fd, local, &uid, &pid, addr, sizeof addr))
		return;
	if (!local && strangers >= STRANGERS_MAX) {
		log_warn_limited(&refusals,
		                 "refused %s: %d TCP connections are "
		                 "authenticating (the limit)",
		                 addr, STRANGERS_MAX);
		conn_refuse(fd, OM_ELIMIT,
		            "too many TCP connections are authenticating");
		return;
	}
	if (omi_srv.stats.connections - strangers >= omi_srv.limits.max_conns) {
		log_warn_limited(
		        &refusals,
		        "refused pid %d (%s): %u connections open (the "
		        "limit)",
		        (int)pid, addr, omi_srv.limits.max_conns);
		conn_refuse(fd, OM_ELIMIT,
		            "the server's connection limit is reached");
		return;
	}
	uint8_t challenge[OMI_CHALLENGE_LEN];
	if (!local && (!omi_srv.authkey || omi_challenge(challenge))) {
		log_warn_limited(&refusals, "refused %s: %s", addr,
		                 omi_srv.authkey ? "no random challenge"
		                                 : "no key for TCP");
		conn_refuse(fd, OM_EAUTH,
		            "the server cannot authenticate TCP peers now");
		return;
	}
	struct conn *conn = calloc(1, sizeof *conn);
	if (!conn)
		goto out_refuse;
	conn->fd = fd;
	conn->uid = uid;
	conn->pid = pid;
	conn->local = local;
	conn->stranger = !local;
	memcpy(conn->addr, addr, sizeof conn->addr);
	conn->refcnt = 1; /* the connection's own, dropped by conn_close */
	conn->passed_fd = -1;
	conn->serial = ++serials;
	conn->look.since = look_now();
	omi_arena_init(&conn->arena);
	conn->rev = event_new(omi_srv.base, fd, EV_READ | EV_PERSIST, on_read,
	                      conn);
	conn->wev = event_new(omi_srv.base, fd, EV_WRITE | EV_PERSIST, on_write,
	                      conn);
	conn->hs_timer = evtimer_new(omi_srv.base, on_silence, conn);
	double t = omi_srv.limits.handshake_timeout;
	struct timeval tv = {(time_t)t,
	                     (suseconds_t)((t - (double)(time_t)t) * 1e6)};
	if (!conn->rev || !conn->wev || !conn->hs_timer ||
	    event_add(conn->rev, NULL) || evtimer_add(conn->hs_timer, &tv))
		goto out_free;
	if (take_token(conn))
		goto out_free;
	conn->next = all;
	if (all)
		all->prev = conn;
	all = conn;
	omi_srv.stats.connections++;
	strangers += conn->stranger;
	log_debug("conn %llu: pid %d (%s) connected",
	          (unsigned long long)conn->serial, (int)pid, addr);
	if (!local) {
		/* Authentication's step a.: the server speaks first. */
		memcpy(conn->challenge, challenge, sizeof challenge);
		Objmgr__Hello h = OBJMGR__HELLO__INIT;
		h.version = OMI_PROTO_VERSION;
		h.challenge.data = conn->challenge;
		h.challenge.len = sizeof conn->challenge;
		conn_send_hello(conn, &h);
	}
	return;

out_free:
	if (conn->rev)
		event_free(conn->rev);
	if (conn->wev)
		event_free(conn->wev);
	if (conn->hs_timer)
		event_free(conn->hs_timer);
	omi_arena_free(&conn->arena);
	free(conn);
out_refuse:
	log_error("out of memory accepting a connection");
	conn_refuse(fd, OM_ENOMEM, "server out of memory");
}

static void queue_flush(struct conn *conn)
{
	if (conn->flush_queued)
		return;
	conn->flush_queued = true;
	conn_incref(conn);
	conn->flush_next = flush_list;
	flush_list = conn;
}

bool conn_fds_room(const struct conn *conn, size_t n)
{
	return conn->nout_fds + n <= CONN_FDS_MAX;
}

static void close_fds(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

void conn_send(struct conn *conn, Objmgr__Response *resp)
{
	conn_send_fds(conn, resp, NULL, 0);
}

void conn_send_fds(struct conn *conn, Objmgr__Response *resp, const int *fds,
                   size_t n)
{
	if (conn->dead || conn->lost) {
		close_fds(fds, n);
		return;
	}
	int rc = OM_ENOMEM;
	if (!conn_fds_room(conn, n)) {
		close_fds(fds, n); /* an answer without them would be a lie */
		goto out_queue;
	}
	resp->fds = (uint32_t)n;
	rc = omi_buf_put_msg(&conn->out, &resp->base, omi_srv.limits.max_frame);
	if (rc == OM_OK) {
		for (size_t i = 0; i < n; i++)
			conn->out_fds[conn->nout_fds++] = fds[i];
	} else {
		close_fds(fds, n);
		Objmgr__Response err = OBJMGR__RESPONSE__INIT;
		err.id = resp->id;
		err.status = (Objmgr__Status)omi_code_to_status(rc);
		err.message = rc == OM_ETOOBIG
		                      ? "response over the server's frame limit"
		                      : "out of memory for the response";
		rc = omi_buf_put_msg(&conn->out, &err.base,
		                     omi_srv.limits.max_frame);
	}
out_queue:
	if (rc != OM_OK)
		conn->lost = true;
	account(conn);
	queue_flush(conn);
}

int conn_reserve(struct conn *conn, size_t n)
{
	if (conn->dead || conn->lost)
		return OM_ENOMEM; /* an answer would not reach it */
	return omi_buf_reserve(&conn->out, n);
}

void conn_send_hello(struct conn *conn, const Objmgr__Hello *hello)
{
	if (conn->dead || conn->lost)
		return;
	if (omi_buf_put_msg(&conn->out, &hello->base, omi_srv.limits.max_frame))
		conn->lost = true;
	account(conn);
	queue_flush(conn);
}

void conn_send_status(struct conn *conn, uint64_t id, int code, const char *msg)
{
	Objmgr__Response resp = OBJMGR__RESPONSE__INIT;
	resp.id = id;
	resp.status = (Objmgr__Status)omi_code_to_status(code);
	if (msg)
		resp.message = (char *)msg;
	conn_send(conn, &resp);
}

static void serve_frames(struct conn *conn);

/* The connection cannot go on: tell it why — in a Hello if it has not
 * completed its own (that is the frame its client waits for), else in a
 * Response with id 0 — and close it once that is written. */
static void conn_fail(struct conn *conn, int code, const char *msg)
{
	if (conn->hello) {
		conn_send_status(conn, 0, code, msg);
	} else {
		Objmgr__Hello h = OBJMGR__HELLO__INIT;
		h.version = OMI_PROTO_VERSION;
		h.status = (Objmgr__Status)omi_code_to_status(code);
		h.message = (char *)msg;
		conn_send_hello(conn, &h);
	}
	conn->closing = true;
}

/* Stop serving c's requests (and reading them) until its answers drain. */
static void pause_conn(struct conn *conn)
{
	if (conn->paused)
		return;
	conn->paused = true;
	event_del(conn->rev);
	queue_flush(conn); /* the write that arms write readiness */
}

/* send(2) pending bytes, with every queued descriptor attached
 * (SCM_RIGHTS) to them: they are at or before the frames of the answers
 * that pass the descriptors, so a client has them no later than it reads
 * those answers. The kernel holds its own references once the call
 * succeeds, so ours are closed then. */
static ssize_t send_out(struct conn *conn, const uint8_t *p, size_t len)
{
	if (conn->nout_fds == 0)
		return send(conn->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * CONN_FDS_MAX)];
	} ctl;
	memset(&ctl, 0, sizeof ctl);
	size_t fdlen = sizeof(int) * conn->nout_fds;
	struct iovec iov = {(void *)p, len};
	struct msghdr msg = {.msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = ctl.b,
	                     .msg_controllen = CMSG_SPACE(fdlen)};
	struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(fdlen);
	memcpy(CMSG_DATA(h), conn->out_fds, fdlen);
	ssize_t n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0) {
		close_fds(conn->out_fds, conn->nout_fds);
		conn->nout_fds = 0;
	}
	return n;
}

/* Write what is pending. Returns false if the connection was closed. */
static bool flush_one(struct conn *conn)
{
	if (conn->lost) {
		conn_close(conn, "out of memory for an answer");
		return false;
	}
	struct omi_buf *b = &conn->out;
	while (b->off < b->len) {
		ssize_t n = send_out(conn, b->p + b->off, b->len - b->off);
		if (n > 0) {
			b->off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!conn->write_armed && !event_add(conn->wev, NULL))
				conn->write_armed = true;
			account(conn);
			return true;
		}
		conn_close(conn, n < 0 ? strerror(errno) : "write failed");
		return false;
	}
	b->off = b->len = 0;
	trim(b);
	account(conn);
	if (conn->write_armed) {
		event_del(conn->wev);
		conn->write_armed = false;
	}
	if (conn->closing) {
		conn_close(conn, "protocol error");
		return false;
	}
	if (conn->paused) {
		/* Drained: serve the requests that waited, then read on. */
		conn->paused = false;
		event_add(conn->rev, NULL);
		serve_frames(conn);
		if (!conn->dead)
			account(conn);
		if (!conn->dead && conn->closing)
			event_del(conn->rev); /* flush, then close */
	}
	return true;
}

void conns_flush(void)
{
	while (flush_list) {
		struct conn *conn = flush_list;
		flush_list = conn->flush_next;
		conn->flush_queued = false;
		if (!conn->dead)
			flush_one(conn);
		conn_decref(conn);
	}
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flush_one(arg);
}

/* The largest frame conn may send now: before its Hello is accepted a TCP
 * peer is a stranger, and a Hello is small (objmgr.proto, Authentication). */
static size_t frame_limit(const struct conn *conn)
{
	size_t max = omi_srv.limits.max_frame;
	if (!conn->local && !conn->hello && max > OMI_STRANGER_FRAME)
		max = OMI_STRANGER_FRAME;
	return max;
}

/* Serve every whole frame in the input buffer. */
static void serve_frames(struct conn *conn)
{
	struct omi_buf *in = &conn->in;
	while (!conn->closing && !conn->lost) {
		if (conn->out.len - conn->out.off >=
		    omi_srv.limits.max_output) {
			pause_conn(conn);
			break;
		}
		const uint8_t *body;
		size_t len;
		int rc = omi_buf_frame(in, frame_limit(conn), &body, &len);
		if (rc == 0)
			break;
		if (rc < 0) {
			log_warn_limited(&refusals,
			                 "conn %llu (%s): frame over the "
			                 "%zu-byte limit",
			                 (unsigned long long)conn->serial,
			                 conn->addr, frame_limit(conn));
			conn_fail(conn, OM_ETOOBIG,
			          "frame over the server's limit");
			break;
		}
		in->off += OMI_FRAME_HDR + len;
		dispatch_frame(conn, body, len);
		if (conn->hello && conn->hs_timer) {
			event_free(conn->hs_timer);
			conn->hs_timer = NULL;
		}
		if (conn->hello && conn->stranger) {
			conn->stranger = false; /* authenticated */
			strangers--;
		}
		if (conn->closing || conn->dead || conn->lost)
			break;
	}
	if (conn->dead)
		return;
	if (in->off == in->len) {
		in->off = in->len = 0;
		trim(in);
	} else if (in->off > in->cap / 2) {
		omi_buf_compact(in);
	}
}

/* A connection that has not completed its Hello in time. */
static void on_silence(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct conn *conn = arg;
	log_warn_limited(&silences,
	                 "conn %llu: pid %d (%s) completed no handshake "
	                 "within %g s: closed",
	                 (unsigned long long)conn->serial, (int)conn->pid,
	                 conn->addr, omi_srv.limits.handshake_timeout);
	conn_close(conn, "no handshake in time");
}

/* Room for the next read. A frame still arriving counts against the memory
 * budget: the pending bytes of every connection count against
 * --max-memory with the stored items. @return false if the connection was
 * refused and is closing. */
static bool reserve_input(struct conn *conn)
{
	const struct server_stats *st = &omi_srv.stats;
	if (conn->in.len > conn->in.off &&
	    st->bytes + st->buffered > omi_srv.limits.max_memory) {
		log_warn_limited(&refusals,
		                 "conn %llu: pid %d: a request over the memory "
		                 "limit: closed",
		                 (unsigned long long)conn->serial,
		                 (int)conn->pid);
		conn->in.off = conn->in.len = 0;
		trim(&conn->in);
		account(conn);
		conn_fail(conn, OM_ENOMEM,
		          "the server's memory limit is reached: the request "
		          "cannot be received");
		event_del(conn->rev);
		return false;
	}
	if (omi_buf_reserve(&conn->in, READ_CHUNK)) {
		conn_close(conn, "out of memory for input");
		return false;
	}
	return true;
}

/* Keep a descriptor the peer passed (closing any older one). */
static void keep_fd(struct conn *conn, int fd)
{
	if (conn->passed_fd >= 0)
		close(conn->passed_fd);
	conn->passed_fd = fd;
}

static void keep_fd_cb(void *conn, int fd)
{
	keep_fd(conn, fd);
}

/* read(2) into the input buffer, taking a descriptor passed with the
 * bytes (FORK sends one): room for one; the kernel closes any more. */
static ssize_t read_in(struct conn *conn, int fd, size_t room)
{
	struct iovec iov = {conn->in.p + conn->in.len, room};
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr msg = {.msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = ctl.b,
	                     .msg_controllen = sizeof ctl.b};
	ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	if (n >= 0)
		omi_recv_fds(&msg, keep_fd_cb, conn);
	return n;
}

int conn_take_fd(struct conn *conn)
{
	int fd = conn->passed_fd;
	conn->passed_fd = -1;
	return fd;
}

void conn_each_ref(struct conn *conn, void (*fn)(struct obj *o, void *arg),
                   void *arg)
{
	/* Every taken reference is counted in refs too (conn_ref_take), so
	 * refs alone names each object once: a fork hold takes one reference
	 * per object, or a child's release would leave one behind. */
	const struct u64map *m = &conn->refs;
	for (size_t i = 0; m->v && i <= m->mask; i++) {
		struct obj *o = m->v[i].key ? obj_lookup(m->v[i].key) : NULL;
		if (o)
			fn(o, arg);
	}
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct conn *conn = arg;
	conn_incref(conn);
	for (int round = 0; round < READS_PER_EVENT; round++) {
		if (!reserve_input(conn))
			break;
		size_t room = conn->in.cap - conn->in.len;
		ssize_t n = read_in(conn, fd, room);
		if (n > 0) {
			conn->in.len += (size_t)n;
			serve_frames(conn);
			if (!conn->dead)
				account(conn);
			if (conn->dead || conn->closing || conn->paused)
				break;
			if ((size_t)n < room)
				break; /* drained: no second read for EAGAIN */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		conn_close(conn, n == 0 ? "closed by peer" : strerror(errno));
		break;
	}
	if (conn->closing && !conn->dead)
		event_del(conn->rev); /* read nothing more; flush, then close */
	conn_decref(conn);
}

bool conn_alive(struct conn *conn)
{
	if (conn->dead || conn->lost || conn->closing)
		return false;
	struct pollfd p = {.fd = conn->fd, .events = POLLRDHUP};
	if (poll(&p, 1, 0) < 0)
		return true;
	return !(p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

bool conn_reaches(struct conn *conn, const struct obj *o)
{
	return u64map_get(&conn->refs, o->id) ||
	       u64map_get(&conn->taken, o->id) ||
	       u64map_get(&conn->watch, o->id) ||
	       u64map_get(&conn->seen, o->id);
}

void conn_saw(struct conn *conn, uint64_t id)
{
	struct u64map *m = &conn->seen;
	/* Bounded: when it outgrows the objects alive, forget the dead. */
	if (m->n >= 1024 && m->n > 2 * omi_srv.stats.objects) {
		for (size_t i = 0; m->v && i <= m->mask;) {
			if (m->v[i].key && !obj_lookup(m->v[i].key))
				u64map_del(m,
				           m->v[i].key); /* shifts: recheck i */
			else
				i++;
		}
	}
	if (u64map_put(m, id, (void *)1))
		return; /* out of memory: it cannot open that ref, no worse */
}

int conn_ref_add(struct conn *conn, struct obj *o)
{
	uintptr_t n = (uintptr_t)u64map_get(&conn->refs, o->id);
	if (u64map_put(&conn->refs, o->id, (void *)(n + 1)))
		return OM_ENOMEM;
	if (n == 0)
		obj_incref(o); /* one reference per connection */
	return OM_OK;
}

int conn_ref_take(struct conn *conn, struct obj *o)
{
	uintptr_t n = (uintptr_t)u64map_get(&conn->taken, o->id);
	if (u64map_put(&conn->taken, o->id, (void *)(n + 1)))
		return OM_ENOMEM;
	int rc = conn_ref_add(conn, o);
	if (rc) {
		if (n)
			u64map_put(&conn->taken, o->id, (void *)n);
		else
			u64map_del(&conn->taken, o->id);
	}
	return rc;
}

bool conn_ref_adopt(struct conn *conn, struct obj *o)
{
	uintptr_t n = (uintptr_t)u64map_get(&conn->taken, o->id);
	if (n == 0)
		return false;
	if (n == 1)
		u64map_del(&conn->taken, o->id);
	else
		u64map_put(&conn->taken, o->id, (void *)(n - 1));
	return true;
}

int conn_ref_drop(struct conn *conn, struct obj *o)
{
	uintptr_t n = (uintptr_t)u64map_get(&conn->refs, o->id);
	if (n == 0)
		return OM_EINVAL;
	if (n == 1)
		u64map_del(&conn->refs, o->id);
	else
		u64map_put(&conn->refs, o->id, (void *)(n - 1));
	/* Taken references are some of refs: never more of them than are
	 * left, or a later ADDREF would adopt one that is gone. */
	uintptr_t t = (uintptr_t)u64map_get(&conn->taken, o->id);
	if (t > n - 1) {
		if (n == 1)
			u64map_del(&conn->taken, o->id);
		else
			u64map_put(&conn->taken, o->id, (void *)(n - 1));
	}
	if (n == 1)
		obj_decref(o);
	return OM_OK;
}

int conn_watch(struct conn *conn, struct obj *o)
{
	if (conn->dead)
		return OM_ECONN;
	uintptr_t n = (uintptr_t)u64map_get(&conn->watch, o->id);
	if (u64map_put(&conn->watch, o->id, (void *)(n + 1)))
		return OM_ENOMEM;
	obj_incref(o);
	return OM_OK;
}

void conn_unwatch(struct conn *conn, struct obj *o)
{
	if (conn->dead)
		return; /* conn_close() drops the watches itself */
	uintptr_t n = (uintptr_t)u64map_get(&conn->watch, o->id);
	if (n == 0)
		return;
	if (n == 1)
		u64map_del(&conn->watch, o->id);
	else
		u64map_put(&conn->watch, o->id, (void *)(n - 1));
	obj_decref(o);
}

/*
 * End the session: tell every watched object (locks held, parked calls),
 * then drop the watch and handle references. Objects whose
 * last reference goes are destroyed at the next obj_reap().
 */
static void conn_close(struct conn *conn, const char *why)
{
	if (conn->dead)
		return;
	log_debug("conn %llu: closed (%s)", (unsigned long long)conn->serial,
	          why);
	look_conn_gone(conn); /* its watches go first: they are no state */
	conn->dead = true;
	event_free(conn->rev);
	event_free(conn->wev);
	conn->rev = conn->wev = NULL;
	if (conn->hs_timer)
		event_free(conn->hs_timer);
	conn->hs_timer = NULL;
	close(conn->fd);
	conn->fd = -1;
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		all = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	omi_srv.stats.connections--;
	strangers -= conn->stranger;
	conn->stranger = false;

	/* A mapped client takes locks without telling the server: free
	 * every lock word that holds this session's token, before the
	 * references go (an object it alone kept is still alive here). */
	locks_conn_gone(conn);
	segments_conn_gone(conn);
	struct u64map watch = conn->watch, refs = conn->refs;
	memset(&conn->watch, 0, sizeof conn->watch);
	memset(&conn->refs, 0, sizeof conn->refs);
	for (size_t i = 0; watch.v && i <= watch.mask; i++) {
		struct obj *o =
		        watch.v[i].key ? obj_lookup(watch.v[i].key) : NULL;
		if (!o)
			continue;
		if (o->type->conn_gone) {
			o->type->conn_gone(o, conn);
			look_gone(o);
		}
		for (uintptr_t n = (uintptr_t)watch.v[i].val; n > 0; n--)
			obj_decref(o);
	}
	for (size_t i = 0; refs.v && i <= refs.mask; i++) {
		struct obj *o =
		        refs.v[i].key ? obj_lookup(refs.v[i].key) : NULL;
		if (o)
			obj_decref(o);
	}
	u64map_free(&watch);
	u64map_free(&refs);
	u64map_free(&conn->taken);
	u64map_free(&conn->parked);
	u64map_free(&conn->seen);
	keep_fd(conn, -1);
	close_fds(conn->out_fds, conn->nout_fds);
	conn->nout_fds = 0;
	/* Free for another session only now: no lock word holds it. */
	u64map_del(&tokens, conn->token);
	conn_decref(conn);
}

void conns_each(void (*fn)(struct conn *conn, void *arg), void *arg)
{
	struct conn *c = all;
	while (c && c->next) /* `all` is newest first */
		c = c->next;
	for (; c; c = c->prev)
		fn(c, arg);
}

uint64_t conn_serial_of_token(uint32_t token)
{
	struct conn *c = token ? u64map_get(&tokens, token) : NULL;
	return c ? c->serial : 0;
}

void conns_close_all(void)
{
	while (all)
		conn_close(all, "server stopping");
	u64map_free(&tokens);
}
