/*
 * segment.c — shared-memory segments, MAP, and the server's kick socket with
 * the kicks it triggers (segment.h).
 *
 * A segment is a memfd (memfd_create: no file under /dev/shm, nothing left
 * behind by a crash), sized and sealed against growing and shrinking
 * before anyone else can hold it, so no client can truncate it under the
 * server's mapping and make the server take SIGBUS. F_SEAL_SEAL keeps a
 * client from adding seals (a write seal would fail the server's writes).
 * The server keeps the descriptor and its mapping for the object's life and
 * hands dup()s of it to local clients by MAP; their mappings live on after
 * the object is gone, which is harmless: the memory is freed with the last
 * mapping.
 *
 * One kick socket per server, made at the first MAP (a server no client
 * maps needs none): a datagram socketpair whose one end the loop reads
 * and whose other end every mapped client gets. A client sends a byte on
 * it after a release that finds the server's mark on a word, and the
 * server retries the parked calls of every armed object. Not an eventfd:
 * any holder of an eventfd can read it too, so one client could swallow
 * the kicks others send for objects it cannot reach; what is sent on a
 * socketpair's end is read only at the other end, which the server alone
 * holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "conn.h"
#include "log.h"
#include "look.h"
#include "segment.h"
#include "shm.h"

bool (*segment_fail_hook)(void);

static struct log_limit fallbacks;

/* A sealed memfd of `size` bytes, mapped: its mapping, or NULL (logged)
 * when any step fails. */
static void *map_memfd(int type, size_t size, int *fd_out)
{
	const struct type_def *t = type_by_id(type);
	char name[64];
	snprintf(name, sizeof name, "objmgr-%s", t ? t->name : "object");
	const char *step = "memfd_create";
	void *p = NULL;
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		goto out_fail;
	step = "ftruncate";
	if (ftruncate(fd, (off_t)size))
		goto out_close;
	step = "F_ADD_SEALS";
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL))
		goto out_close;
	step = "mmap";
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto out_close;
	*fd_out = fd;
	return p;

out_close:
	close(fd);
out_fail:
	log_warn_limited(&fallbacks,
	                 "%s: %s: a %s of %zu bytes kept in private memory "
	                 "(its clients use RPC)",
	                 step, strerror(errno), t ? t->name : "object", size);
	return NULL;
}

/* Descriptors the segments may hold: the descriptor limit less a reserve
 * for every connection the server may accept and the few it keeps (the
 * socket, the spare for EMFILE, the loop's, the kick socket, holds' pipes,
 * MAP's passing copies), so that objects can never take the descriptors a
 * new connection needs. Past it a segment lives in private memory (its
 * clients use RPC), as when memfd_create fails. */
static uint64_t segment_fd_cap(void)
{
	static bool known;
	static uint64_t cap;
	if (known)
		return cap;
	known = true;
	struct rlimit rl;
	uint64_t reserve = (uint64_t)omi_srv.limits.max_conns + 256;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return cap; /* 0: no segments */
	if (rl.rlim_cur == RLIM_INFINITY)
		cap = UINT64_MAX;
	else if (rl.rlim_cur > reserve)
		cap = rl.rlim_cur - reserve;
	return cap;
}

int segment_init(struct segment *s, struct call *c, int type, uint64_t len,
                 uint32_t kind, uint32_t flags)
{
	size_t size = omi_shm_size(type, len);
	int rc = store_charge(c, size);
	if (rc != OM_OK)
		return rc;
	*s = (struct segment){.size = size, .fd = -1};
	if (omi_srv.stats.segments >= segment_fd_cap())
		log_warn_limited(&fallbacks,
		                 "%llu segments hold the descriptors objects may "
		                 "have: a %s kept in private memory (its "
		                 "clients use RPC)",
		                 (unsigned long long)omi_srv.stats.segments,
		                 type_by_id(type)->name);
	else if (!(segment_fail_hook && segment_fail_hook()))
		s->base = map_memfd(type, size, &s->fd);
	if (s->base) {
		omi_srv.stats.segments++;
		omi_srv.stats.mapped += size;
	} else if (!(s->base = calloc(1, size))) {
		store_refund(size);
		return call_err(c, OM_ENOMEM, "out of memory for a %zu-byte %s",
		                size, type_by_id(type)->name);
	}
	s->hdr = (struct omi_shm_hdr){.magic = OMI_SHM_MAGIC,
	                              .type = (uint32_t)type,
	                              .size = size,
	                              .len = len,
	                              .kind = kind,
	                              .flags = flags};
	memcpy(s->base, &s->hdr, sizeof s->hdr);
	return OM_OK;
}

void segment_fini(struct segment *s)
{
	if (!s->base)
		return;
	if (s->fd >= 0) {
		munmap(s->base, s->size);
		close(s->fd);
		omi_srv.stats.segments--;
		omi_srv.stats.mapped -= s->size;
	} else {
		free(s->base);
	}
	store_refund(s->size);
	*s = (struct segment){.fd = -1};
}

/* ------------------------------------------------------------------ kicks */

/* The armed kicks: a circular list through this sentinel, so a kick can
 * leave whichever list it is on without knowing it (kick_all's). */
static struct kick armed = {NULL, &armed, &armed};

static void unlink_kick(struct kick *k)
{
	k->prev->next = k->next;
	k->next->prev = k->prev;
	k->prev = k->next = NULL;
}

void kick_arm(struct kick *k)
{
	if (k->next)
		return;
	k->prev = armed.prev;
	k->next = &armed;
	armed.prev->next = k;
	armed.prev = k;
}

void kick_disarm(struct kick *k)
{
	if (k->next)
		unlink_kick(k);
}

/* Retry every armed object once. They are moved to a list of this run
 * first: a kick may arm or disarm others (answering a call never destroys
 * an object: obj_reap() runs after the callback). */
static void kick_all(void)
{
	struct kick run = {NULL, &run, &run};
	if (armed.next == &armed)
		return;
	run.next = armed.next;
	run.prev = armed.prev;
	run.next->prev = &run;
	run.prev->next = &run;
	armed.next = armed.prev = &armed;
	while (run.next != &run) {
		struct kick *k = run.next;
		unlink_kick(k);
		if (k->fn(k))
			kick_arm(k);
		else
			kick_disarm(k);
	}
}

/* ------------------------------------------------------------ kick socket */

static int kick_fd[2] = {-1, -1}; /* [0] the loop reads, [1] clients send */
static struct event *kick_ev;
static struct log_limit kick_fails;

/* Mapped clients sent kicks: drain them all (each is one byte, and one
 * retry serves them all), then retry. */
static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	(void)arg;
	char buf[256];
	while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
	kick_all();
	look_kicked();
}

/* The end clients send kicks on, made on first use: -1 if it cannot be
 * (logged). */
static int kick_socket(void)
{
	if (kick_fd[1] >= 0)
		return kick_fd[1];
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	               sv)) {
		log_warn_limited(&kick_fails, "socketpair: %s",
		                 strerror(errno));
		return -1;
	}
	struct event *ev = event_new(omi_srv.base, sv[0], EV_READ | EV_PERSIST,
	                             on_kick, NULL);
	if (!ev || event_add(ev, NULL)) {
		log_warn_limited(&kick_fails,
		                 "out of memory for the kick socket");
		if (ev)
			event_free(ev);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	/* The server never reads its own sending end: shut its reading so
	 * nothing can queue there. */
	shutdown(sv[1], SHUT_RD);
	kick_fd[0] = sv[0];
	kick_fd[1] = sv[1];
	kick_ev = ev;
	return kick_fd[1];
}

void segments_conn_gone(struct conn *conn)
{
	bool any = false;
	for (size_t i = 0; conn->refs.v && i <= conn->refs.mask; i++) {
		struct obj *o = conn->refs.v[i].key
		                        ? obj_lookup(conn->refs.v[i].key)
		                        : NULL;
		if (!o || !o->seg || o->seg->fd < 0)
			continue;
		/* The lock word, the semaphore's value and the event word
		 * are all the first word of the state. */
		omi_futex_wake(omi_shm_state(o->seg->base), INT_MAX);
		any = true;
	}
	if (any)
		kick_all();
}

void segments_stop(void)
{
	if (kick_ev)
		event_free(kick_ev);
	for (int i = 0; i < 2; i++)
		if (kick_fd[i] >= 0)
			close(kick_fd[i]);
	kick_ev = NULL;
	kick_fd[0] = kick_fd[1] = -1;
}

/* -------------------------------------------------------------------- MAP */

/* MAP target -> OK, num = size, results [len, kind, flags], fds = 2 |
 * EINVAL, ELIMIT */
int serve_map(struct obj *o, struct call *c)
{
	struct segment *s = o->seg;
	if (!s)
		return call_err(c, OM_EINVAL, "a %s is not in shared memory",
		                o->type->name);
	if (s->fd < 0)
		return call_err(c, OM_EINVAL,
		                "this %s is kept in the server's private "
		                "memory",
		                o->type->name);
	if (!c->conn->local)
		return call_err(c, OM_EINVAL,
		                "descriptors pass only over a Unix socket");
	int ev = kick_socket();
	if (ev < 0)
		return call_err(c, OM_EINVAL, "the server has no kick socket");
	if (!conn_fds_room(c->conn, CALL_FDS_MAX))
		return call_err(c, OM_ELIMIT,
		                "%d descriptors are waiting to be sent on this "
		                "connection: read the answers",
		                CONN_FDS_MAX);
	int seg = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);
	int evd = seg < 0 ? -1 : fcntl(ev, F_DUPFD_CLOEXEC, 0);
	if (evd < 0) {
		int err = errno;
		if (seg >= 0)
			close(seg);
		return call_err(c, OM_ELIMIT, "cannot pass descriptors: %s",
		                strerror(err));
	}
	/* The id is known only now that the object is registered. The
	 * whole header is written again at every MAP, so a client that
	 * scribbled on it cannot make another's check fail for long; what a
	 * client keeps of it (length, kind, flags) comes from the answer,
	 * the server's own copy. */
	s->hdr.id = o->id;
	memcpy(s->base, &s->hdr, OMI_SHM_HDR_FIXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	om_item attrs[3] = {{.kind = OM_INT, .i = (int64_t)s->hdr.len},
	                    {.kind = OM_INT, .i = s->hdr.kind},
	                    {.kind = OM_INT, .i = s->hdr.flags}};
	int rc = call_results(c, attrs, 3);
	if (rc != OM_OK) {
		close(seg);
		close(evd);
		return rc;
	}
	c->fds[0] = seg;
	c->fds[1] = evd;
	c->nfds = 2;
	call_num(c, (int64_t)s->size);
	return OM_OK;
}
