/*
 * test_pool_server.c — server/pool.c driven with raw requests (raw.h):
 * the test plays the creator, the submitters, the supervisor and the
 * workers itself, so every answer of the POOL protocol is checked as it
 * comes, in orders real workers would only produce by chance.
 *
 * A supervisor or worker is a session the server may kill (TERMINATE, a
 * broken pool): such sessions are "proxies", sockets connected by a forked
 * child (SO_PEERCRED names the child) and handed to the test with
 * SCM_RIGHTS, while the child waits on a pipe. Killing the child kills
 * "the worker"; closing the socket ends its session; a byte on the pipe
 * makes the child exit with that status. The test process itself (creator,
 * submitters) is never a peer the server signals.
 *
 * The end-to-end tests with real worker processes are tests/test_pool.c.
 */
#include "raw.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum {
	OP_STATS = 2,
	OP_UNLINK = 5,
	OP_RELEASE = 7,
	OP_LIST_GET = 203,
	OP_POOL_SUBMIT = 1200,
	OP_POOL_GET,
	OP_POOL_WAIT,
	OP_POOL_NEXT,
	OP_POOL_FORGET,
	OP_POOL_CLOSE,
	OP_POOL_TERMINATE,
	OP_POOL_INFO,
	OP_POOL_SUPERVISE = 1210,
	OP_POOL_TAKE,
	OP_POOL_DONE,
	OP_POOL_INIT_FAILED,
};
enum { APPLY, MAP, STARMAP, IMAP, IMAP_UNORDERED };
enum {
	ST_ETIMEOUT = 7,
	ST_EBROKEN = 8,
	ST_ECLOSED = 10,
	ST_EEXIST = 12,
	ST_ETASK = 21,
};
enum { TYPE_LIST = 2, TYPE_POOL = 12 };

/* ------------------------------------------------------------- answers */

struct item {
	int kind; /* 1 nil, 2 bool, 3 int, 5 str, 6 bytes, 7 ref */
	int64_t i;
	char s[256];
	size_t len;
	uint64_t ref;
};

struct resp {
	uint64_t id, status;
	char msg[4096];
	int64_t num;
	size_t n;
	struct item v[4096];
};

static void on_item_field(struct item *it, unsigned field, const uint8_t *p,
                          size_t n)
{
	it->kind = (int)field;
	if (field == 5 || field == 6) {
		it->len = n;
		memcpy(it->s, p, n < sizeof it->s - 1 ? n : sizeof it->s - 1);
	} else if (field == 7) {
		struct msg r = {0};
		if (decode(p, n, &r, NULL))
			it->ref = r.f[1];
	}
}

/* Decode one Item by hand (raw.h's decode() sees varints only). */
static void decode_item(struct item *it, const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;
	memset(it, 0, sizeof *it);
	while (p < end) {
		uint64_t key, v;
		if (!get_varint(&p, end, &key))
			fail_msg("an item that does not decode");
		unsigned field = (unsigned)(key >> 3);
		if ((key & 7) == 0) {
			assert_true(get_varint(&p, end, &v));
			it->kind = (int)field;
			it->i = field == 3
			                ? (int64_t)(v >> 1) ^ -(int64_t)(v & 1)
			                : (int64_t)v;
		} else if ((key & 7) == 2) {
			assert_true(get_varint(&p, end, &v));
			on_item_field(it, field, p, (size_t)v);
			p += v;
		} else if ((key & 7) == 1) {
			it->kind = (int)field;
			p += 8;
		} else {
			fail_msg("item wire type %d", (int)(key & 7));
		}
	}
}

static uint8_t frame[1 << 20];

/* Read one Response on fd into r. */
static void read_resp(int fd, struct resp *r)
{
	ssize_t n = raw_read_frame(fd, frame, sizeof frame);
	if (n < 0)
		fail_msg("no answer from the server: %s",
		         errno ? strerror(errno) : "closed");
	memset(r, 0, offsetof(struct resp, v));
	const uint8_t *p = frame, *end = frame + n;
	while (p < end) {
		uint64_t key, v;
		assert_true(get_varint(&p, end, &key));
		unsigned field = (unsigned)(key >> 3);
		if ((key & 7) == 0) {
			assert_true(get_varint(&p, end, &v));
			if (field == 1)
				r->id = v;
			else if (field == 2)
				r->status = v;
			else if (field == 5)
				r->num = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
		} else {
			assert_int_equal(key & 7, 2);
			assert_true(get_varint(&p, end, &v));
			if (field == 3)
				memcpy(r->msg, p,
				       v < sizeof r->msg - 1
				               ? v
				               : sizeof r->msg - 1);
			else if (field == 4 && r->n < ARRAY_SIZE(r->v))
				decode_item(&r->v[r->n++], p, (size_t)v);
			p += v;
		}
	}
}

/* ------------------------------------------------------------ requests */

static uint64_t next_id = 100;
static struct enc E;
static struct resp R;

/* Start a request (in E) on target with op; its id is returned. */
static uint64_t rq(uint64_t target, int op)
{
	req(&E, ++next_id, target, (uint64_t)op);
	return next_id;
}

static void rq_num(int64_t v)
{
	put_uint(&E, 5, zigzag(v));
}

static void rq_num2(int64_t v)
{
	put_uint(&E, 6, zigzag(v));
}

static void rq_timeout(double t)
{
	put_double(&E, 7, t);
}

static void arg_ref(uint64_t id, int type)
{
	struct enc r = {.n = 0}, it = {.n = 0};
	put_uint(&r, 1, id);
	put_uint(&r, 2, (uint64_t)type);
	put_bytes(&it, 7, r.b, r.n);
	put_bytes(&E, 4, it.b, it.n);
}

static void arg_strn(const char *p, size_t n)
{
	struct enc it = {.n = 0};
	put_bytes(&it, 5, p, n);
	put_bytes(&E, 4, it.b, it.n);
}

/* Send E on fd without reading (a call that parks). */
static void send_rq(int fd)
{
	raw_frame(fd, E.b, E.n);
}

/* Send E and read its answer into R: its status. */
static uint64_t call(int fd)
{
	uint64_t id = next_id;
	send_rq(fd);
	read_resp(fd, &R);
	if (R.id != id)
		fail_msg("answer to request %llu, expected %llu",
		         (unsigned long long)R.id, (unsigned long long)id);
	return R.status;
}

#define expect_st(fd, st)                                              \
	do {                                                           \
		uint64_t st_ = call(fd);                               \
		if (st_ != (uint64_t)(st))                             \
			print_error("status %llu (%s), expected %d\n", \
			            (unsigned long long)st_, R.msg,    \
			            (int)(st));                        \
		assert_int_equal(st_, (st));                           \
	} while (0)

/* The message must contain `part`. */
#define expect_msg(part)                                                  \
	do {                                                              \
		if (!strstr(R.msg, part))                                 \
			fail_msg("message '%s' lacks '%s'", R.msg, part); \
	} while (0)

/* --------------------------------------------------------------- peers */

struct peer {
	int fd;
	pid_t pid;
	int ctl; /* a byte: the child exits with it; EOF: exits 0 */
};

static struct peer peers[16];
static size_t npeers;

/* A session past its Hello on socket `path`, connected by this process. */
static int session_at(const char *path)
{
	int fd = raw_connect(path);
	struct msg m;
	raw_hello_v(fd, 1, &m);
	assert_int_equal(m.f[2], ST_OK);
	return fd;
}

/* Send fd over unix socket s (SCM_RIGHTS), in a child. */
static int pass_fd(int s, int fd)
{
	char b = 0, ctl[CMSG_SPACE(sizeof fd)];
	struct iovec iov = {&b, 1};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = ctl,
	                    .msg_controllen = sizeof ctl};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof fd);
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	return sendmsg(s, &mh, 0) == 1 ? 0 : -1;
}

static int recv_fd(int s)
{
	char b, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&b, 1};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = ctl,
	                    .msg_controllen = sizeof ctl};
	if (recvmsg(s, &mh, 0) != 1)
		return -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int fd = -1;
	if (cm && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	return fd;
}

/* A session on `path` whose peer (for the server) is a child process
 * that does nothing but wait: see the top. */
static struct peer *proxy_at(const char *path)
{
	assert_true(npeers < ARRAY_SIZE(peers));
	int sv[2], ctl[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pipe(ctl), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Hold nothing of the test's: its other sessions must end
		 * when the test closes them. */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != sv[1] && fd != ctl[0])
				close(fd);
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		memcpy(sun.sun_path, path, strlen(path) + 1);
		if (fd < 0 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof sun) ||
		    pass_fd(sv[1], fd))
			_exit(100);
		close(fd);
		close(sv[1]);
		unsigned char code = 0;
		ssize_t r;
		while ((r = read(ctl[0], &code, 1)) < 0 && errno == EINTR)
			;
		_exit(r == 1 ? code : 0);
	}
	close(sv[1]);
	close(ctl[0]);
	int fd = recv_fd(sv[0]);
	close(sv[0]);
	assert_true(fd >= 0);
	struct timeval tv = {.tv_sec = 10};
	assert_int_equal(
	        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	struct msg m;
	raw_hello_v(fd, 1, &m);
	assert_int_equal(m.f[2], ST_OK);
	peers[npeers] = (struct peer){fd, pid, ctl[1]};
	return &peers[npeers++];
}

static struct peer *proxy(void)
{
	return proxy_at(srv.path);
}

/* End w's session (its process lives on). */
static void peer_close(struct peer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

/* Wait until w's process is a zombie (not reaped: its /proc stays). */
static void peer_wait_dead(struct peer *w)
{
	siginfo_t si;
	assert_int_equal(waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOWAIT),
	                 0);
}

/* Kill w's process with SIGKILL and, once it is dead, end its session:
 * what the server sees of a worker killed while it runs a task. */
static void peer_kill(struct peer *w)
{
	kill(w->pid, SIGKILL);
	peer_wait_dead(w);
	peer_close(w);
}

/* Make w's process exit with `code`, then end its session. */
static void peer_exit(struct peer *w, unsigned char code)
{
	assert_int_equal(write(w->ctl, &code, 1), 1);
	peer_wait_dead(w);
	peer_close(w);
}

/* Reap w's process, keeping its session: reap()'s status. */
static int peer_reap_keep(struct peer *w)
{
	int st = reap(w->pid, 10);
	w->pid = 0;
	return st;
}

/* Reap w: reap()'s status (-1: killed by a signal). */
static int peer_reap(struct peer *w)
{
	peer_close(w);
	if (w->ctl >= 0)
		close(w->ctl);
	w->ctl = -1;
	int st = w->pid > 0 ? reap(w->pid, 10) : 0;
	w->pid = 0;
	return st;
}

static int teardown(void **state)
{
	(void)state;
	while (npeers)
		peer_reap(&peers[--npeers]);
	raw_close_all();
	return 0;
}

/* ---------------------------------------------------------------- pools */

static int pool_seq;

/* Create a named pool on fd with function names "sq" and "boom"
 * (processes 2): its id; its name in name (64 bytes). */
static uint64_t pool_create(int fd, char *name)
{
	snprintf(name, 64, "pool.%d.%d", (int)getpid(), ++pool_seq);
	rq(0, OP_OPEN);
	rq_num(TYPE_POOL);
	rq_num2(OM_CREATE);
	put_bytes(&E, 8, name, strlen(name));
	arg_int(&E, 2);
	arg_int(&E, 0);
	arg_str(&E, "sq");
	arg_str(&E, "boom");
	expect_st(fd, ST_OK);
	assert_int_equal(R.n, 1);
	assert_int_equal(R.num, 1); /* created: this session is the creator */
	return R.v[0].ref;
}

/* Open the named pool on fd (another session): its id. */
static uint64_t pool_join(int fd, const char *name)
{
	rq(0, OP_OPEN);
	rq_num(TYPE_POOL);
	put_bytes(&E, 8, name, strlen(name));
	expect_st(fd, ST_OK);
	assert_int_equal(R.num, 0);
	return R.v[0].ref;
}

/* Submit fn over int args[0..n) as `kind` with chunksize: the job id. */
static int64_t submit(int fd, uint64_t pool, int kind, int64_t chunk,
                      const char *fn, const int64_t *args, size_t n)
{
	rq(pool, OP_POOL_SUBMIT);
	rq_num(kind);
	rq_num2(chunk);
	arg_str(&E, fn);
	for (size_t i = 0; i < n; i++)
		arg_int(&E, args[i]);
	expect_st(fd, ST_OK);
	assert_true(R.num > 0);
	return R.num;
}

/* A task of a TAKE answer: where its items start in R.v. */
struct task {
	int64_t id, ncalls;
	const char *fn;
	size_t at; /* its first call's nargs item */
};

/* Take up to max tasks (timeout 0: they must be there) into t[]: how
 * many came. Checks each task's encoding. */
static size_t take(int fd, uint64_t pool, int64_t max, struct task *t)
{
	rq(pool, OP_POOL_TAKE);
	rq_num2(max);
	rq_timeout(0);
	expect_st(fd, ST_OK);
	size_t k = 0;
	for (size_t i = 0; i < R.n; k++) {
		assert_true(R.n - i >= 3);
		assert_int_equal(R.v[i].kind, 3);
		assert_int_equal(R.v[i].kind, 3);
		assert_int_equal(R.v[i + 1].kind, 5);
		assert_int_equal(R.v[i + 2].kind, 3);
		t[k] = (struct task){R.v[i].i, R.v[i + 2].i, R.v[i + 1].s,
		                     i + 3};
		i += 3;
		for (int64_t c = 0; c < t[k].ncalls; c++) {
			assert_true(i < R.n && R.v[i].kind == 3);
			i += 1 + (size_t)R.v[i].i;
		}
		assert_true(i <= R.n);
	}
	return k;
}

/* The int argument of call c of task t (MAP: one arg per call). */
static int64_t map_arg(const struct task *t, int64_t c)
{
	const struct item *it = &R.v[t->at + 2 * (size_t)c];
	assert_int_equal(it[0].kind, 3);
	assert_int_equal(it[0].i, 1);
	assert_int_equal(it[1].kind, 3);
	return it[1].i;
}

/* Report task id done with int results r[0..n). */
static void done(int fd, uint64_t pool, int64_t id, const int64_t *r, size_t n)
{
	rq(pool, OP_POOL_DONE);
	rq_num(id);
	for (size_t i = 0; i < n; i++)
		arg_int(&E, r[i]);
	expect_st(fd, ST_OK);
}

/* Report task id failed (ETASK) with msg. */
static void done_fail(int fd, uint64_t pool, int64_t id, const char *msg)
{
	rq(pool, OP_POOL_DONE);
	rq_num(id);
	rq_num2(ST_ETASK);
	arg_str(&E, msg);
	expect_st(fd, ST_OK);
}

/* POOL_GET job with timeout 0 (num2 0): its status, R has the answer. */
static uint64_t get(int fd, uint64_t pool, int64_t job)
{
	rq(pool, OP_POOL_GET);
	rq_num(job);
	rq_timeout(0);
	return call(fd);
}

static uint64_t next_result(int fd, uint64_t pool, int64_t job)
{
	rq(pool, OP_POOL_NEXT);
	rq_num(job);
	rq_timeout(0);
	return call(fd);
}

struct info {
	int64_t processes, workers, queued, running, closed, super;
};

static struct info info(int fd, uint64_t pool)
{
	rq(pool, OP_POOL_INFO);
	expect_st(fd, ST_OK);
	assert_int_equal(R.n, 6);
	return (struct info){R.v[0].i, R.v[1].i, R.v[2].i,
	                     R.v[3].i, R.v[4].i, R.v[5].i};
}

/* STATS' objects and bytes. */
static void stats(int fd, int64_t *objects, int64_t *bytes)
{
	rq(0, OP_STATS);
	expect_st(fd, ST_OK);
	*objects = R.v[0].i;
	*bytes = R.v[2].i;
}

/* Wait until the server's count of parked calls is n (server state,
 * changed on its own time: polled, as wait_stat does). */
static void wait_parked(int fd, int64_t n)
{
	for (int i = 0; i < 10000; i++) {
		rq(0, OP_STATS);
		expect_st(fd, ST_OK);
		if (R.v[4].i == n)
			return;
		usleep(1000);
	}
	fail_msg("parked calls: %lld, expected %lld", (long long)R.v[4].i,
	         (long long)n);
}

/* ---------------------------------------------------------------- tests */

/* apply: one task, taken and reported in order; INFO follows. */
static void test_apply_in_order(void **state)
{
	(void)state;
	char name[64];
	int c = raw_session();
	uint64_t p = pool_create(c, name);
	struct peer *w = proxy();
	assert_int_equal(pool_join(w->fd, name), p);

	struct info in = info(c, p);
	assert_int_equal(in.processes, 2);
	assert_int_equal(
	        in.workers + in.queued + in.running + in.closed + in.super, 0);
	int64_t a[] = {7, 8};
	int64_t j = submit(c, p, APPLY, 0, "sq", a, 2);
	assert_int_equal(get(c, p, j), ST_ETIMEOUT);
	in = info(c, p);
	assert_int_equal(in.queued, 1);

	struct task t[4];
	assert_int_equal(take(w->fd, p, 1, t), 1);
	assert_string_equal(t[0].fn, "sq");
	assert_int_equal(t[0].ncalls, 1);
	assert_int_equal(R.n, 6); /* id, fn, 1, nargs 2, 7, 8 */
	assert_int_equal(R.v[3].i, 2);
	assert_int_equal(R.v[4].i, 7);
	assert_int_equal(R.v[5].i, 8);
	in = info(c, p);
	assert_int_equal(in.workers, 1);
	assert_int_equal(in.queued, 0);
	assert_int_equal(in.running, 1);

	/* A parked GET is answered by the DONE. */
	rq(p, OP_POOL_GET);
	rq_num(j);
	rq_timeout(-1);
	uint64_t gid = next_id;
	send_rq(c);
	int64_t r = 49;
	done(w->fd, p, t[0].id, &r, 1);
	read_resp(c, &R);
	assert_int_equal(R.id, gid);
	assert_int_equal(R.status, ST_OK);
	assert_int_equal(R.n, 1);
	assert_int_equal(R.v[0].i, 49);
	/* Again: a result is not taken by reading it. */
	assert_int_equal(get(c, p, j), ST_OK);
	assert_int_equal(R.v[0].i, 49);
	assert_int_equal(info(c, p).running, 0);
	/* Reported once: a second DONE is not leased any more. */
	rq(p, OP_POOL_DONE);
	rq_num(t[0].id);
	arg_int(&E, 1);
	expect_st(w->fd, ST_ENOENT);
	/* DONE and the next TAKE in one write, as workers send them. */
	int64_t j2 = submit(c, p, APPLY, 0, "sq", a, 1);
	int64_t j3 = submit(c, p, APPLY, 0, "sq", a, 1);
	assert_int_equal(take(w->fd, p, 1, t), 1);
	rq(p, OP_POOL_DONE);
	rq_num(t[0].id);
	arg_int(&E, 1);
	struct enc first = E;
	uint64_t did = next_id;
	rq(p, OP_POOL_TAKE);
	rq_num2(1);
	rq_timeout(-1);
	uint64_t tid = next_id;
	static uint8_t both[2 * sizeof E.b + 8];
	put_hdr(both, (uint32_t)first.n);
	memcpy(both + 4, first.b, first.n);
	put_hdr(both + 4 + first.n, (uint32_t)E.n);
	memcpy(both + 8 + first.n, E.b, E.n);
	raw_write(w->fd, both, 8 + first.n + E.n);
	read_resp(w->fd, &R);
	assert_int_equal(R.id, did);
	assert_int_equal(R.status, ST_OK);
	read_resp(w->fd, &R);
	assert_int_equal(R.id, tid);
	assert_int_equal(R.status, ST_OK);
	assert_int_equal(R.n, 5);
	int64_t last = R.v[0].i;
	assert_int_equal(get(c, p, j2), ST_OK);
	done(w->fd, p, last, &r, 1);
	assert_int_equal(get(c, p, j3), ST_OK);
	assert_int_equal(R.v[0].i, 49);
	/* No task: a TAKE that may not wait says so. */
	rq(p, OP_POOL_TAKE);
	rq_num2(1);
	rq_timeout(0);
	expect_st(w->fd, ST_ETIMEOUT);
}

/* map: chunked into tasks of chunksize calls; one worker takes all (its
 * share is everything); results in order, as items and as a LIST. */
static void test_map_chunks(void **state)
{
	(void)state;
	char name[64];
	int c = raw_session();
	uint64_t p = pool_create(c, name);
	struct peer *w = proxy();
	pool_join(w->fd, name);
	int64_t a[10];
	for (int i = 0; i < 10; i++)
		a[i] = i;
	int64_t j = submit(c, p, MAP, 3, "sq", a, 10);
	assert_int_equal(info(c, p).queued, 4);
	struct task t[8];
	assert_int_equal(take(w->fd, p, 100, t), 4);
	int64_t ncalls[] = {3, 3, 3, 1}, k = 0;
	struct task tt[4];
	int64_t args[10];
	for (int i = 0; i < 4; i++) {
		assert_int_equal(t[i].ncalls, ncalls[i]);
		tt[i] = t[i];
		for (int64_t x = 0; x < t[i].ncalls; x++)
			args[k++] = map_arg(&t[i], x);
	}
	for (int i = 0; i < 10; i++)
		assert_int_equal(args[i], i);
	/* Out of order: the job is ready only when all are done. */
	for (int i = 3; i >= 0; i--) {
		assert_int_equal(get(c, p, j), ST_ETIMEOUT);
		int64_t r[3];
		for (int64_t x = 0; x < tt[i].ncalls; x++)
			r[x] = (3 * i + x) * (3 * i + x);
		done(w->fd, p, tt[i].id, r, (size_t)tt[i].ncalls);
	}
	assert_int_equal(get(c, p, j), ST_OK);
	assert_int_equal(R.n, 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(R.v[i].i, i * i);
	/* num2 = 1: a Ref to a LIST of them, the same one each time. */
	rq(p, OP_POOL_GET);
	rq_num(j);
	rq_num2(1);
	expect_st(c, ST_OK);
	assert_int_equal(R.n, 1);
	assert_int_equal(R.v[0].kind, 7);
	uint64_t l = R.v[0].ref;
	rq(p, OP_POOL_GET);
	rq_num(j);
	rq_num2(1);
	expect_st(c, ST_OK);
	assert_true(R.v[0].ref == l);
	rq(l, OP_LIST_LEN);
	expect_st(c, ST_OK);
	assert_int_equal(R.num, 10);
	rq(l, OP_LIST_GET);
	rq_num(9);
	expect_st(c, ST_OK);
	assert_int_equal(R.v[0].i, 81);
	/* An empty map is a job with no task, ready at once. */
	j = submit(c, p, MAP, 1, "sq", NULL, 0);
	assert_int_equal(get(c, p, j), ST_OK);
	assert_int_equal(R.n, 0);
	assert_int_equal(info(c, p).queued, 0);
}

/* starmap: [nargs, args] per call, chunked; malformed payloads refused. */
static void test_starmap(void **state)
{
	(void)state;
	char name[64];
	int c = raw_session();
	uint64_t p = pool_create(c, name);
	struct peer *w = proxy();
	pool_join(w->fd, name);
	/* calls: (1, 2), (), (3) */
	int64_t a[] = {2, 1, 2, 0, 1, 3};
	int64_t j = submit(c, p, STARMAP, 2, "sq", a, 6);
	struct task t[4];
	assert_int_equal(take(w->fd, p, 10, t), 2);
	assert_int_equal(t[0].ncalls, 2);
	assert_int_equal(t[1].ncalls, 1);
	/* Task 0: nargs 2, 1, 2, nargs 0. */
	assert_int_equal(R.v[t[0].at].i, 2);
	assert_int_equal(R.v[t[0].at + 1].i, 1);
	assert_int_equal(R.v[t[0].at + 2].i, 2);
	assert_int_equal(R.v[t[0].at + 3].i, 0);
	assert_int_equal(R.v[t[1].at].i, 1);
	assert_int_equal(R.v[t[1].at + 1].i, 3);
	struct task t1 = t[1];
	int64_t r[] = {3, 0};
	done(w->fd, p, t[0].id, r, 2);
	int64_t r1 = 3;
	done(w->fd, p, t1.id, &r1, 1);
	assert_int_equal(get(c, p, j), ST_OK);
	assert_int_equal(R.n, 3);
	assert_int_equal(R.v[0].i, 3);
	assert_int_equal(R.v[1].i, 0);
	assert_int_equal(R.v[2].i, 3);

	/* A count that is not an int, negative, or past the end. */
	rq(p, OP_POOL_SUBMIT);
	rq_num(STARMAP);
	rq_num2(1);
	arg_str(&E, "sq");
	arg_str(&E, "x");
	expect_st(c, ST_EINVAL);
	expect_msg("STARMAP");
	int64_t bad1[] = {-1};
	int64_t bad2[] = {1, 5, 3};
	int64_t bad3[] = {0, 0, 2, 1};
	const int64_t *bads[] = {bad1, bad2, bad3};
	size_t nbad[] = {1, 3, 4};
	for (int i = 0; i < 3; i++) {
		rq(p, OP_POOL_SUBMIT);
		rq_num(STARMAP);
		rq_num2(1);
		arg_str(&E, "sq");
		for (size_t k = 0; k < nbad[i]; k++)
			arg_int(&E, bads[i][k]);
		expect_st(c, ST_EINVAL);
		expect_msg("malformed STARMAP payload");
	}
	assert_int_equal(info(c, p).queued, 0);
}

/* Shares: a worker takes at most ceil(queued / workers) and at most its
 * max, so the first one does not take everything. */
static void test_shares(void **state)
{
	(void)state;
	char name[64];
	int c = raw_session();
	uint64_t p = pool_create(c, name);
	struct peer *a = proxy(), *b = proxy();
	pool_join(a->fd, name);
	pool_join(b->fd, name);
	struct task t[16];
	/* Both become workers (nothing to take yet). */
	rq(p, OP_POOL_TAKE);
	rq_num2(1);
	rq_timeout(0);
	expect_st(a->fd, ST_ETIMEOUT);
	rq(p, OP_POOL_TAKE);
	rq_num2(1);
	rq_timeout(0);
	expect_st(b->fd, ST_ETIMEOUT);
	assert_int_equal(info(c, p).workers, 2);
	int64_t x[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
	submit(c, p, MAP, 1, "sq", x, 9);
	assert_int_equal(take(a->fd, p, 100, t), 5); /* ceil(9 / 2) */
	assert_int_equal(map_arg(&t[0], 0), 0);
	assert_int_equal(map_arg(&t[4], 0), 4);
	assert_int_equal(take(b->fd, p, 2, t), 2); /* its max */
	assert_int_equal(map_arg(&t[0], 0), 5);
	assert_int_equal(take(b->fd, p, 100, t), 1); /* ceil(2 / 2) */
	assert_int_equal(map_arg(&t[0], 0), 7);
	assert_int_equal(take(a->fd, p, 100, t), 1);
	assert_int_equal(map_arg(&t[0], 0), 8);
	struct info in = info(c, p);
	assert_int_equal(in.queued, 0);
	assert_int_equal(in.running, 9);
	/* A huge max is only a max. */
	submit(c, p, APPLY, 0, "sq", x, 1);
	assert_int_equal(take(b->fd, p, INT64_MAX, t), 1);
}

/* Parked TAKEs are served in arrival order as tasks come. */
static void test_parked_take(void **state)
{
	(void)state;
	char name[64];
	int c = raw_session();
	uint64_t p = pool_create(c, name);
	struct peer *a = proxy(), *b = proxy();
	pool_join(a->fd, name);
	pool_join(b->fd, name);
	rq(p, OP_POOL_TAKE);
	rq_num2(5);
	rq_timeout(-1);
	uint64_t ida = next_id;
	send_rq(a->fd);
	wait_parked(c, 1); /* a's first: two sockets are read in any order */
	rq(p, OP_POOL_TAKE);
	rq_num2(5);
	rq_timeout(-1);
	uint64_t idb = next_id;
	send_rq(b->fd);
	wait_parked(c, 2);
	int64_t x[] = {10, 11, 12, 13};
	submit(c, p, MAP, 1, "sq", x, 4);
	read_resp(a->fd, &R);
	assert_int_equal(R.id, ida);
	assert_int_equal(R.status, ST_OK);
	assert_int_equal(R.n, 2 * 5); /* two tasks: ceil(4 / 2) */
	assert_int_equal(R.v[4].i, 10);
	read_resp(b->fd, &R);
	assert_int_equal(R.id, idb);
	assert_int_equal(R.n, 5); /* one: ceil(2 / 2) */
	assert_int_equal(R.v[4].i, 12);
	struct task t[2];
	assert_int_equal(take(b->fd, p, 5, t), 1);
	assert_int_equal(map_arg(&t[0], 0), 13);
	/* A parked TAKE of a worker that is gone is not served. */
	rq(p, OP_POOL_TAKE);
	rq_num2(1);
	rq_timeout(-1);
	send_rq(a->fd);
	wait_parked(c, 1);
	peer_close(a);
	wait_parked(c, 0);
	/* a's lease: its first task failed, its second is at the front. */
	submit(c, p, APPLY, 0, "sq", x, 1);
	assert_int_equal(take(b->fd, p, 1, t), 1);
	assert_int_equal(map_arg(&t[0], 0), 11);
}

/* A worker's session ends with tasks leased: the first unreported one
 * fails EBROKEN, saying which worker and how it ended; the others go
 * back to the front of the queue. */
static void test_worker_lost(void **state)
{
	(void)state;
	char name[64], want[160];
	int c = raw_session();
	uint64_t p = pool_create(c, name);
	struct peer *a = proxy(), *b = proxy();
	pool_join(a->fd, name);
	pool_join(b->fd, name);
	int64_t x[] = {1, 2, 3};
	int64_t j = submit(c, p, MAP, 1, "sq", x, 3);
	struct task t[4];
	assert_int_equal(take(a->fd, p, 3, t), 3);
	int64_t r = 1;
	done(a->fd, p, t[0].id, &r, 1);
	int64_t later = submit(c, p, APPLY, 0, "sq", x, 1);
	pid_t apid = a->pid;
	peer_kill(a);
	rq(p, OP_POOL_GET);
	rq_num(j);
	rq_timeout(10);
	expect_st(c, ST_EBROKEN);
	snprintf(want, sizeof want,
	         "worker %d was killed by signal 9 (SIGKILL) while running "
	         "task 'sq'",
	         (int)apid);
	expect_msg(want);
	assert_int_equal(peer_reap(a), -1);
	/* Task 3 is back, before the apply submitted after it. */
	assert_int_equal(info(c, p).queued, 2);
	assert_int_equal(take(b->fd, p, 1, t), 1);
	assert_int_equal(map_arg(&t[0], 0), 3);
	r = 9;
	done(b->fd, p, t[0].id, &r, 1);
	/* A worker that exits with a status. */
	assert_int_equal(take(b->fd, p, 1, t), 1);
	assert_int_equal(R.v[3].i, 1); /* the apply: nargs 1 */
	pid_t bpid = b->pid;
	peer_exit(b, 3);
	rq(p, OP_POOL_GET);
	rq_num(later);
	rq_timeout(10);
	expect_st(c, ST_EBROKEN);
	snprintf(want, sizeof want,
	         "worker %d exited with status 3 while running task 'sq'",
	         (int)bpid);
	expect_msg(want);
	/* Status 0 is a status too, once the process is a zombie. */
	struct peer *e = proxy();
	pool_join(e->fd, name);
	int64_t k0 = submit(c, p, APPLY, 0, "sq", x, 1);
	assert_int_equal(take(e->fd, p, 1, t), 1);
	pid_t epid = e->pid;
	peer_exit(e, 0);
	rq(p, OP_POOL_GET);
	rq_num(k0);
	rq_timeout(10);
	expect_st(c, ST_EBROKEN);
	snprintf(want, sizeof want,
	         "worker %d exited with status 0 while running task 'sq'",
	         (int)epid);
	expect_msg(want);
	/* A session that ends while its process lives on. */
	struct peer *d = proxy();
	pool_join(d->fd, name);
	int64_t k = submit(c, p, APPLY, 0, "boom", x, 0);
	assert_int_equal(take(d->fd, p, 1, t), 1);
	peer_close(d);
	rq(p, OP_POOL_GET);
	rq_num(k);
	rq_timeout(10);
	expect_st(c, ST_EBROKEN);
	snprintf(want, sizeof want,
	         "worker %d's session ended while running task 'boom'",
	         (int)d->pid);
	expect_msg(want);
	assert_int_equal(peer_reap(d), 0);
	struct info in = info(c, p);
	assert_int_equal(in.workers + in.queued + in.running, 0);
}

/* map's first failure is the job's error, at once; later results and
 * failures change nothing. A task's message arrives whole. */
static void test_map_first_failure(void **state)
{
	(void)state;
	char name[64];
	int c = raw_session();
	uint64_t p = pool_create(c, name);
	struct peer *w = proxy();
	pool_join(w->fd, name);
	int64_t x[] = {1, 2, 3, 4};
	int64_t j = submit(c, p, MAP, 1, "sq", x, 4);
	struct task t[4], tt[4];
	assert_int_equal(take(w->fd, p, 4, t), 4);
	memcpy(tt, t, sizeof tt);
	done_fail(w->fd, p, tt[2].id, "boom: 3");
	assert_int_equal(get(c, p, j), ST_ETASK);
	assert_string_equal(R.msg, "boom: 3");
	int64_t r = 1;
	done(w->fd, p, tt[0].id, &r, 1);
	done_fail(w->fd, p, tt[3].id, "boom: 4");
	r = 4;
	done(w->fd, p, tt[1].id, &r, 1);
	assert_int_equal(get(c, p, j), ST_ETASK);
	assert_string_equal(R.msg, "boom: 3");
	/* A long message, whole. */
	static char big[3001];
	memset(big, 'm', 3000);
	j = submit(c, p, APPLY, 0, "boom", x, 0);
	assert_int_equal(take(w->fd, p, 1, t), 1);
	done_fail(w->fd, p, t[0].id, big);
	assert_int_equal(get(c, p, j), ST_ETASK);
	assert_int_equal(strlen(R.msg), 3000);
}

/* imap: results one at a time with NEXT, in order or as they finish; a
 * failed call's error in its place; ECLOSED once all are taken. */
static void test_imap(void **state)
{
	(void)state;
	char name[64];
	int c = raw_session();
	uint64_t p = pool_create(c, name);
	struct peer *w = proxy();
	pool_join(w->fd, name);
	int64_t x[] = {1, 2, 3, 4};
	int64_t j = submit(c, p, IMAP, 1, "sq", x, 4);
	struct task t[4], tt[4];
	assert_int_equal(take(w->fd, p, 4, t), 4);
	memcpy(tt, t, sizeof tt);
	assert_int_equal(next_result(c, p, j), ST_ETIMEOUT);
	int64_t r = 9;
	done(w->fd, p, tt[2].id, &r, 1);
	assert_int_equal(next_result(c, p, j), ST_ETIMEOUT); /* 1 first */
	rq(p, OP_POOL_WAIT);
	arg_int(&E, j);
	rq_timeout(0);
	expect_st(c, ST_ETIMEOUT); /* a NEXT would wait */
	r = 1;
	done(w->fd, p, tt[0].id, &r, 1);
	rq(p, OP_POOL_WAIT);
	arg_int(&E, j);
	rq_timeout(0);
	expect_st(c, ST_OK);
	assert_int_equal(R.n, 1);
	assert_int_equal(R.v[0].i, j);
	assert_int_equal(next_result(c, p, j), ST_OK);
	assert_int_equal(R.v[0].i, 1);
	/* A parked NEXT gets the failure of call 2. */
	rq(p, OP_POOL_NEXT);
	rq_num(j);
	rq_timeout(-1);
	uint64_t nid = next_id;
	send_rq(c);
	wait_parked(c, 1);
	done_fail(w->fd, p, tt[1].id, "no 2");
	read_resp(c, &R);
	assert_int_equal(R.id, nid);
	assert_int_equal(R.status, ST_ETASK);
	assert_string_equal(R.msg, "no 2");
	assert_int_equal(next_result(c, p, j), ST_OK);
	assert_int_equal(R.v[0].i, 9);
	assert_int_equal(next_result(c, p, j), ST_ETIMEOUT);
	r = 16;
	done(w->fd, p, tt[3].id, &r, 1);
	assert_int_equal(next_result(c, p, j), ST_OK);
	assert_int_equal(R.v[0].i, 16);
	assert_int_equal(next_result(c, p, j), ST_ECLOSED);
	assert_int_equal(next_result(c, p, j), ST_ECLOSED);
	assert_int_equal(get(c, p, j), ST_EINVAL); /* imap: NEXT only */

	/* Unordered, chunks of 2: in finishing order, a failed chunk's
	 * error once per call. */
	int64_t y[] = {1, 2, 3, 4, 5};
	j = submit(c, p, IMAP_UNORDERED, 2, "sq", y, 5);
	assert_int_equal(take(w->fd, p, 3, t), 3);
	memcpy(tt, t, sizeof tt);
	r = 25;
	done(w->fd, p, tt[2].id, &r, 1);
	int64_t rr[] = {9, 16};
	done(w->fd, p, tt[1].id, rr, 2);
	int64_t want[] = {25, 9, 16};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(next_result(c, p, j), ST_OK);
		assert_int_equal(R.v[0].i, want[i]);
	}
	assert_int_equal(next_result(c, p, j), ST_ETIMEOUT);
	done_fail(w->fd, p, tt[0].id, "chunk 0");
	for (int i = 0; i < 2; i++) {
		assert_int_equal(next_result(c, p, j), ST_ETASK);
		assert_string_equal(R.msg, "chunk 0");
	}
	assert_int_equal(next_result(c, p, j), ST_ECLOSED);
	/* No items: done at once. */
	j = submit(c, p, IMAP, 1, "sq", NULL, 0);
	assert_int_equal(next_result(c, p, j), ST_ECLOSED);
	/* NEXT of a job that is not imap. */
	j = submit(c, p, APPLY, 0, "sq", y, 1);
	assert_int_equal(next_result(c, p, j), ST_EINVAL);
}

/* WAIT over several jobs answers with those ready, as soon as one is;
 * num = 1 waits for the join too. */
static void test_wait(void **state)
{
	(void)state;
	char name[64];
	int c = raw_session();
	uint64_t p = pool_create(c, name);
	struct peer *w = proxy();
	pool_join(w->fd, name);
	int64_t x[] = {2};
	int64_t a = submit(c, p, APPLY, 0, "sq", x, 1);
	int64_t b = submit(c, p, APPLY, 0, "sq", x, 1);
	rq(p, OP_POOL_WAIT);
	arg_int(&E, a);
	arg_int(&E, b);
	rq_timeout(0);
	expect_st(c, ST_ETIMEOUT);
	/* A deadline. */
	rq(p, OP_POOL_WAIT);
	arg_int(&E, a);
	rq_timeout(0.05);
	expect_st(c, ST_ETIMEOUT);
	rq(p, OP_POOL_WAIT);
	arg_int(&E, a);
	arg_int(&E, b);
	rq_timeout(-1);
	uint64_t wid = next_id;
	send_rq(c);
	/* Separate submissions are never taken together. */
	struct task t[2], tt[2];
	assert_int_equal(take(w->fd, p, 2, t), 1);
	tt[0] = t[0];
	assert_int_equal(take(w->fd, p, 2, t), 1);
	tt[1] = t[0];
	int64_t r = 4;
	done(w->fd, p, tt[1].id, &r, 1);
	read_resp(c, &R);
	assert_int_equal(R.id, wid);
	assert_int_equal(R.status, ST_OK);
	assert_int_equal(R.n, 1);
	assert_int_equal(R.v[0].i, b);
	assert_int_equal(R.num, 0);
	done(w->fd, p, tt[0].id, &r, 1);
	rq(p, OP_POOL_WAIT);
	arg_int(&E, a);
	arg_int(&E, b);
	expect_st(c, ST_OK);
	assert_int_equal(R.n, 2);
	/* Bad waits. */
	rq(p, OP_POOL_WAIT);
	rq_num(1);
	expect_st(c, ST_EINVAL); /* still open */
	expect_msg("still open");
	rq(p, OP_POOL_WAIT);
	expect_st(c, ST_EINVAL); /* nothing to wait for */
	rq(p, OP_POOL_WAIT);
	rq_num(2);
	arg_int(&E, a);
	expect_st(c, ST_EINVAL);
	rq(p, OP_POOL_WAIT);
	arg_str(&E, "a");
	expect_st(c, ST_EINVAL);
	rq(p, OP_POOL_WAIT);
	arg_int(&E, a);
	arg_int(&E, 999999);
	expect_st(c, ST_ENOENT);
	/* The join: closed, and no worker or supervisor session left. */
	rq(p, OP_POOL_CLOSE);
	expect_st(c, ST_OK);
	rq(p, OP_POOL_WAIT);
	rq_num(1);
	rq_timeout(-1);
	wid = next_id;
	send_rq(c);
	rq(p, OP_POOL_TAKE);
	rq_num2(1);
	rq_timeout(-1);
	expect_st(w->fd, ST_ECLOSED);
	peer_close(w);
	read_resp(c, &R);
	assert_int_equal(R.id, wid);
	assert_int_equal(R.status, ST_OK);
	assert_int_equal(R.num, 1);
	assert_int_equal(R.n, 0);
	/* A worker that comes late to a joined pool un-joins it until it
	 * goes. */
	struct peer *v = proxy();
	pool_join(v->fd, name);
	rq(p, OP_POOL_TAKE);
	rq_num2(1);
	rq_timeout(-1);
	expect_st(v->fd, ST_ECLOSED);
	rq(p, OP_POOL_WAIT);
	rq_num(1);
	rq_timeout(0);
	expect_st(c, ST_ETIMEOUT);
	rq(p, OP_POOL_WAIT);
	rq_num(1);
	rq_timeout(-1);
	wid = next_id;
	send_rq(c);
	wait_parked(c, 1);
	peer_close(v);
	read_resp(c, &R);
	assert_int_equal(R.id, wid);
	assert_int_equal(R.status, ST_OK);
	assert_int_equal(R.num, 1);
}

/* Jobs belong to the connection that submitted them; FORGET drops one
 * (its tasks still run); a session's end drops its queued tasks. */
static void test_jobs_per_connection(void **state)
{
	(void)state;
	char name[64];
	int c = raw_session(), s = raw_session();
	uint64_t p = pool_create(c, name);
	pool_join(s, name);
	struct peer *w = proxy();
	pool_join(w->fd, name);
	int64_t x[] = {3};
	int64_t j = submit(c, p, APPLY, 0, "sq", x, 1);
	assert_int_equal(get(s, p, j), ST_ENOENT);
	assert_int_equal(next_result(s, p, j), ST_ENOENT);
	rq(p, OP_POOL_WAIT);
	arg_int(&E, j);
	expect_st(s, ST_ENOENT);
	rq(p, OP_POOL_FORGET);
	rq_num(j);
	expect_st(s, ST_ENOENT);
	/* A parked GET of a job its own connection forgets: ENOENT. */
	rq(p, OP_POOL_GET);
	rq_num(j);
	rq_timeout(-1);
	uint64_t gid = next_id;
	send_rq(c);
	rq(p, OP_POOL_FORGET);
	rq_num(j);
	uint64_t fid = next_id;
	send_rq(c);
	for (int i = 0; i < 2; i++) {
		read_resp(c, &R);
		assert_true(R.id == gid || R.id == fid);
		assert_int_equal(R.status, R.id == gid ? ST_ENOENT : ST_OK);
	}
	assert_int_equal(get(c, p, j), ST_ENOENT);
	rq(p, OP_POOL_FORGET);
	rq_num(j);
	expect_st(c, ST_ENOENT);
	/* Its task still runs. */
	struct task t[2];
	assert_int_equal(take(w->fd, p, 1, t), 1);
	int64_t r = 9;
	done(w->fd, p, t[0].id, &r, 1);
	/* s's queued tasks go with its session. */
	submit(s, p, MAP, 1, "sq", x, 1);
	submit(s, p, MAP, 1, "sq", x, 1);
	assert_int_equal(info(c, p).queued, 2);
	raw_close(s);
	for (int i = 0; i < 10000 && info(c, p).queued; i++)
		usleep(1000);
	assert_int_equal(info(c, p).queued, 0);
}

/* CLOSE: submissions fail, TAKEs drain the queue, then get ECLOSED
 * (parked ones too). */
static void test_close(void **state)
{
	(void)state;
	char name[64];
	int c = raw_session();
	uint64_t p = pool_create(c, name);
	struct peer *a = proxy(), *b = proxy();
	pool_join(a->fd, name);
	pool_join(b->fd, name);
	rq(p, OP_POOL_TAKE);
	rq_num2(1);
	rq_timeout(-1);
	uint64_t bid = next_id;
	send_rq(b->fd);
	wait_parked(c, 1);
	int64_t x[] = {5};
	submit(c, p, APPLY, 0, "sq", x, 1);
	submit(c, p, APPLY, 0, "sq", x, 1);
	read_resp(b->fd, &R); /* the parked TAKE got the first */
	assert_int_equal(R.id, bid);
	assert_int_equal(R.status, ST_OK);
	int64_t btask = R.v[0].i, r25 = 25;
	rq(p, OP_POOL_CLOSE);
	expect_st(c, ST_OK);
	assert_int_equal(info(c, p).closed, 1);
	rq(p, OP_POOL_SUBMIT);
	rq_num(APPLY);
	arg_str(&E, "sq");
	expect_st(c, ST_ECLOSED);
	expect_msg("closed");
	struct task t[2];
	assert_int_equal(take(a->fd, p, 1, t), 1);
	done(a->fd, p, t[0].id, &r25, 1);
	/* Nothing queued, but b's task runs (its worker may die and it
	 * come back): a waits, and leaves once b reports. */
	rq(p, OP_POOL_TAKE);
	rq_num2(1);
	rq_timeout(-1);
	uint64_t aid = next_id;
	send_rq(a->fd);
	wait_parked(c, 1);
	done(b->fd, p, btask, &r25, 1);
	read_resp(a->fd, &R);
	assert_int_equal(R.id, aid);
	assert_int_equal(R.status, ST_ECLOSED);
	/* A TAKE parked when the pool closes. */
	char name2[64];
	uint64_t p2 = pool_create(c, name2);
	pool_join(b->fd, name2);
	rq(p2, OP_POOL_TAKE);
	rq_num2(1);
	rq_timeout(-1);
	bid = next_id;
	send_rq(b->fd);
	wait_parked(c, 1);
	rq(p2, OP_POOL_CLOSE);
	expect_st(c, ST_OK);
	read_resp(b->fd, &R);
	assert_int_equal(R.id, bid);
	assert_int_equal(R.status, ST_ECLOSED);
}

/* TERMINATE: queued and running tasks fail ECLOSED, the workers and the
 * supervisor are killed; DONE after it is ENOENT. */
static void test_terminate(void **state)
{
	(void)state;
	char name[64];
	int c = raw_session();
	uint64_t p = pool_create(c, name);
	struct peer *s = proxy(), *s2 = proxy(), *a = proxy();
	pool_join(s->fd, name);
	pool_join(s2->fd, name);
	pool_join(a->fd, name);
	rq(p, OP_POOL_SUPERVISE);
	expect_st(s->fd, ST_OK);
	rq(p, OP_POOL_SUPERVISE);
	expect_st(s2->fd, ST_EEXIST);
	assert_int_equal(info(c, p).super, s->pid);
	int64_t x[] = {1, 2};
	int64_t j = submit(c, p, MAP, 1, "sq", x, 2);
	int64_t k = submit(c, p, APPLY, 0, "sq", x, 1);
	struct task t[2];
	assert_int_equal(take(a->fd, p, 1, t), 1);
	/* A parked GET is answered by the TERMINATE, before it. */
	rq(p, OP_POOL_GET);
	rq_num(k);
	rq_timeout(-1);
	uint64_t gid = next_id;
	send_rq(c);
	rq(p, OP_POOL_TERMINATE);
	uint64_t tid = next_id;
	send_rq(c);
	read_resp(c, &R);
	assert_int_equal(R.id, gid);
	assert_int_equal(R.status, ST_ECLOSED);
	read_resp(c, &R);
	assert_int_equal(R.id, tid);
	assert_int_equal(R.status, ST_OK);
	assert_int_equal(get(c, p, j), ST_ECLOSED);
	expect_msg("terminated");
	assert_int_equal(get(c, p, k), ST_ECLOSED);
	/* The processes were killed; their sockets are still ours. */
	assert_int_equal(peer_reap_keep(a), -1);
	assert_int_equal(peer_reap_keep(s), -1);
	int64_t r = 1;
	rq(p, OP_POOL_DONE);
	rq_num(t[0].id);
	arg_int(&E, r);
	expect_st(a->fd, ST_ENOENT);
	rq(p, OP_POOL_TAKE);
	rq_num2(1);
	expect_st(a->fd, ST_ECLOSED);
	rq(p, OP_POOL_SUBMIT);
	rq_num(APPLY);
	arg_str(&E, "sq");
	expect_st(c, ST_ECLOSED);
	expect_msg("terminated");
	rq(p, OP_POOL_SUPERVISE);
	expect_st(s2->fd, ST_ECLOSED);
	struct info in = info(c, p);
	assert_int_equal(in.queued + in.running, 0);
	assert_int_equal(in.closed, 1);
	rq(p, OP_POOL_TERMINATE); /* again: nothing more to do */
	expect_st(c, ST_OK);
	peer_close(a);
	peer_close(s);
	rq(p, OP_POOL_WAIT);
	rq_num(1);
	rq_timeout(10);
	expect_st(c, ST_OK);
	assert_int_equal(R.num, 1);
	assert_int_equal(peer_reap(s2), 0); /* never a member: not killed */
}

/* The creator's session ends: the pool breaks (EBROKEN for what was not
 * finished, ECLOSED for later submissions), its processes are killed. */
static void test_creator_gone(void **state)
{
	(void)state;
	char name[64];
	int c = raw_session(), s = raw_session();
	uint64_t p = pool_create(c, name);
	pool_join(s, name);
	struct peer *sup = proxy(), *a = proxy();
	pool_join(sup->fd, name);
	pool_join(a->fd, name);
	rq(p, OP_POOL_SUPERVISE);
	expect_st(sup->fd, ST_OK);
	int64_t x[] = {1, 2};
	int64_t j = submit(s, p, MAP, 1, "sq", x, 2);
	struct task t[2];
	assert_int_equal(take(a->fd, p, 1, t), 1);
	rq(p, OP_POOL_GET);
	rq_num(j);
	rq_timeout(-1);
	uint64_t gid = next_id;
	send_rq(s);
	raw_close(c);
	read_resp(s, &R);
	assert_int_equal(R.id, gid);
	assert_int_equal(R.status, ST_EBROKEN);
	expect_msg("the pool broke: its creator's session ended");
	rq(p, OP_POOL_SUBMIT);
	rq_num(APPLY);
	arg_str(&E, "sq");
	expect_st(s, ST_ECLOSED);
	expect_msg("creator");
	assert_int_equal(peer_reap_keep(a), -1);
	assert_int_equal(peer_reap_keep(sup), -1);
	rq(p, OP_POOL_TAKE);
	rq_num2(1);
	expect_st(a->fd, ST_ECLOSED);
	assert_int_equal(info(s, p).closed, 1);
}

/* POOL_INIT_FAILED breaks the pool with the initializer's message. */
static void test_init_failed(void **state)
{
	(void)state;
	char name[64];
	int c = raw_session();
	uint64_t p = pool_create(c, name);
	struct peer *sup = proxy(), *a = proxy();
	pool_join(sup->fd, name);
	pool_join(a->fd, name);
	rq(p, OP_POOL_SUPERVISE);
	expect_st(sup->fd, ST_OK);
	rq(p, OP_POOL_INIT_FAILED);
	arg_int(&E, 1);
	expect_st(a->fd, ST_EINVAL); /* the message is a str */
	int64_t x[] = {1};
	int64_t j = submit(c, p, APPLY, 0, "sq", x, 1);
	int64_t j2 = submit(c, p, APPLY, 0, "sq", x, 1);
	/* A worker with a task leased and a TAKE parked. */
	struct peer *b = proxy();
	pool_join(b->fd, name);
	struct task t[2];
	assert_int_equal(take(b->fd, p, 1, t), 1);
	rq(p, OP_POOL_TAKE);
	rq_num2(1);
	rq_timeout(0);
	expect_st(b->fd, ST_OK); /* j2's */
	rq(p, OP_POOL_TAKE);
	rq_num2(1);
	rq_timeout(-1);
	uint64_t bid = next_id;
	send_rq(b->fd);
	wait_parked(c, 1);
	rq(p, OP_POOL_INIT_FAILED);
	arg_str(&E, "no config file");
	expect_st(a->fd, ST_OK);
	read_resp(b->fd, &R);
	assert_int_equal(R.id, bid);
	assert_int_equal(R.status, ST_ECLOSED);
	expect_msg("initializer failed: no config file");
	assert_int_equal(peer_reap_keep(b), -1);
	assert_int_equal(get(c, p, j2), ST_EBROKEN);
	assert_int_equal(get(c, p, j), ST_EBROKEN);
	expect_msg("the pool broke: a worker's initializer failed: no config "
	           "file");
	rq(p, OP_POOL_SUBMIT);
	rq_num(APPLY);
	arg_str(&E, "sq");
	expect_st(c, ST_ECLOSED);
	expect_msg("no config file");
	assert_int_equal(peer_reap_keep(sup), -1);
	rq(p, OP_POOL_TAKE);
	rq_num2(1);
	expect_st(a->fd, ST_ECLOSED); /* it was never a worker: alive */
	assert_int_equal(peer_reap(a), 0);
}

/* The supervisor's session ends while the pool has work: it breaks (no
 * one would replace the workers); once closed and drained, it does not. */
static void test_supervisor_gone(void **state)
{
	(void)state;
	char name[64], want[160];
	int c = raw_session();
	uint64_t p = pool_create(c, name);
	struct peer *sup = proxy(), *a = proxy();
	pool_join(sup->fd, name);
	pool_join(a->fd, name);
	rq(p, OP_POOL_SUPERVISE);
	expect_st(sup->fd, ST_OK);
	int64_t x[] = {1};
	int64_t j = submit(c, p, APPLY, 0, "sq", x, 1);
	struct task t[2];
	assert_int_equal(take(a->fd, p, 1, t), 1);
	pid_t spid = sup->pid;
	peer_kill(sup);
	rq(p, OP_POOL_GET);
	rq_num(j);
	rq_timeout(10);
	expect_st(c, ST_EBROKEN);
	snprintf(want, sizeof want,
	         "its supervisor %d was killed by signal 9 (SIGKILL)",
	         (int)spid);
	expect_msg(want);
	assert_int_equal(peer_reap_keep(a), -1);
	assert_int_equal(info(c, p).super, 0);

	char name2[64];
	uint64_t p2 = pool_create(c, name2);
	struct peer *s2 = proxy();
	pool_join(s2->fd, name2);
	rq(p2, OP_POOL_SUPERVISE);
	expect_st(s2->fd, ST_OK);
	rq(p2, OP_POOL_CLOSE);
	expect_st(c, ST_OK);
	rq(p2, OP_POOL_WAIT);
	rq_num(1);
	rq_timeout(0);
	expect_st(c, ST_ETIMEOUT); /* its supervisor is still there */
	peer_exit(s2, 0);
	rq(p2, OP_POOL_WAIT);
	rq_num(1);
	rq_timeout(10);
	expect_st(c, ST_OK);
	assert_int_equal(R.num, 1);
	rq(p2, OP_POOL_TERMINATE);
	expect_st(c, ST_OK);
	assert_int_equal(peer_reap(s2), 0);
}

/* Wait until the server has `n` connections (others' ends are noticed on
 * the server's own time). */
static void wait_conns(int fd, int64_t n)
{
	for (int i = 0; i < 10000; i++) {
		rq(0, OP_STATS);
		expect_st(fd, ST_OK);
		if (R.v[1].i == n)
			return;
		usleep(1000);
	}
	fail_msg("%lld connections, expected %lld", (long long)R.v[1].i,
	         (long long)n);
}

/* Wait until STATS' objects and bytes are back to these. */
#define wait_baseline(fd, o, b) wait_baseline_(fd, o, b, __LINE__)
static void wait_baseline_(int fd, int64_t objects, int64_t bytes, int line)
{
	int64_t o = -1, b = -1;
	for (int i = 0; i < 10000; i++) {
		stats(fd, &o, &b);
		if (o == objects && b == bytes)
			return;
		usleep(1000);
	}
	fail_msg("line %d: objects %lld bytes %lld, expected %lld and %lld",
	         line, (long long)o, (long long)b, (long long)objects,
	         (long long)bytes);
}

/* Everything a pool kept goes with it: objects and bytes come back to
 * where they were, Refs among the arguments and results included, and
 * a pool that only its own queued task refers to is collected. */
static void test_memory(void **state)
{
	(void)state;
	char name[64];
	int m = raw_session();
	wait_conns(m, 1);
	int64_t objects, bytes;
	stats(m, &objects, &bytes);

	int c = raw_session();
	uint64_t p = pool_create(c, name);
	uint64_t d = raw_open(c, ++next_id, 1); /* a dict */
	struct peer *w = proxy();
	pool_join(w->fd, name);
	/* Arguments: strs and a Ref; results: a str and the Ref. */
	rq(p, OP_POOL_SUBMIT);
	rq_num(MAP);
	rq_num2(1);
	arg_str(&E, "sq");
	arg_str(&E, "some bytes to keep");
	arg_ref(d, 1);
	arg_str(&E, "more bytes to keep, and more");
	expect_st(c, ST_OK);
	int64_t j = R.num;
	int64_t k = submit(c, p, IMAP, 1, "sq", (int64_t[]){1, 2}, 2);
	submit(c, p, APPLY, 0, "sq", (int64_t[]){1}, 1); /* never taken */
	struct task t[4], tt[4];
	assert_int_equal(take(w->fd, p, 4, t), 3);  /* the map's, not more */
	assert_int_equal(R.v[t[1].at + 1].kind, 7); /* the Ref, handed on */
	memcpy(tt, t, 3 * sizeof *tt);
	assert_int_equal(take(w->fd, p, 4, t), 2); /* the imap's two */
	tt[3] = t[0];
	for (int i = 0; i < 3; i++) {
		rq(p, OP_POOL_DONE);
		rq_num(tt[i].id);
		if (i == 1)
			arg_ref(d, 1);
		else
			arg_str(&E, "a result of some length");
		expect_st(w->fd, ST_OK);
	}
	rq(p, OP_POOL_GET);
	rq_num(j);
	rq_num2(1);
	expect_st(c, ST_OK); /* a LIST: one more object */
	int64_t o2, b2;
	stats(m, &o2, &b2);
	assert_int_equal(o2, objects + 3);
	assert_true(b2 > bytes);
	done_fail(w->fd, p, tt[3].id, "an error kept for a NEXT");
	(void)k;
	rq(0, OP_UNLINK);
	put_bytes(&E, 8, name, strlen(name));
	expect_st(c, ST_OK);
	raw_close(c);
	peer_wait_dead(w); /* the broken pool killed its worker */
	peer_close(w);
	wait_baseline(m, objects, bytes);
	assert_int_equal(peer_reap(w), -1);

	/* A cycle: the pool's only reference is its own queued task's. */
	c = raw_session();
	rq(0, OP_OPEN);
	rq_num(TYPE_POOL);
	arg_int(&E, 1);
	arg_int(&E, 0);
	arg_str(&E, "f");
	expect_st(c, ST_OK);
	p = R.v[0].ref;
	rq(p, OP_POOL_SUBMIT);
	rq_num(APPLY);
	arg_str(&E, "f");
	arg_ref(p, TYPE_POOL);
	expect_st(c, ST_OK);
	j = R.num;
	rq(p, OP_POOL_FORGET);
	rq_num(j);
	expect_st(c, ST_OK);
	rq(p, OP_POOL_CLOSE); /* joined at once: the creator lets go */
	expect_st(c, ST_OK);
	rq(p, OP_RELEASE);
	expect_st(c, ST_OK);
	wait_baseline(m, objects, bytes); /* c is still connected */
	raw_close(c);
	wait_baseline(m, objects, bytes);
}

#define LONG_NAME                                                          \
	"0123456789012345678901234567890123456789012345678901234567890123" \
	"0123456789012345678901234567890123456789012345678901234567890123" \
	"0123456789012345678901234567890123456789012345678901234567890123" \
	"0123456789012345678901234567890123456789012345678901234567890123"

/* Bad requests get clear errors and change nothing. */
static void test_hostile(void **state)
{
	(void)state;
	char name[64];
	int c = raw_session();
	/* OPEN: the creation arguments. */
	static const struct {
		int64_t procs, maxt;
		const char *names[3];
		const char *why;
	} opens[] = {
	        {0, 0, {"f"}, "processes"},
	        {4097, 0, {"f"}, "1 to 4096"},
	        {1, 0, {LONG_NAME}, "1 to 255 bytes"},
	        {-3, 0, {"f"}, "processes"},
	        {1, -1, {"f"}, "maxtasksperchild"},
	        {1, 0, {""}, "1 to 255 bytes"},
	        {1, 0, {"f", "g", "f"}, "two functions named 'f'"},
	        {1, 0, {NULL}, "function names"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(opens); i++) {
		rq(0, OP_OPEN);
		rq_num(TYPE_POOL);
		arg_int(&E, opens[i].procs);
		arg_int(&E, opens[i].maxt);
		for (int k = 0; k < 3 && opens[i].names[k]; k++)
			arg_str(&E, opens[i].names[k]);
		expect_st(c, ST_EINVAL);
		expect_msg(opens[i].why);
	}
	rq(0, OP_OPEN);
	rq_num(TYPE_POOL);
	arg_str(&E, "1");
	arg_int(&E, 0);
	arg_str(&E, "f");
	expect_st(c, ST_EINVAL);

	uint64_t p = pool_create(c, name);
	struct peer *w = proxy(), *v = proxy();
	pool_join(w->fd, name);
	pool_join(v->fd, name);
	int64_t x[] = {1, 2};
	/* SUBMIT: kinds, chunk sizes, functions. */
	int64_t kinds[] = {-1, 5, 1000};
	for (int i = 0; i < 3; i++) {
		rq(p, OP_POOL_SUBMIT);
		rq_num(kinds[i]);
		rq_num2(1);
		arg_str(&E, "sq");
		expect_st(c, ST_EINVAL);
		expect_msg("kind");
	}
	int64_t chunks[] = {0, -1, INT64_MIN};
	for (int i = 0; i < 3; i++) {
		rq(p, OP_POOL_SUBMIT);
		rq_num(MAP);
		rq_num2(chunks[i]);
		arg_str(&E, "sq");
		arg_int(&E, 1);
		expect_st(c, ST_EINVAL);
		expect_msg("chunksize");
	}
	rq(p, OP_POOL_SUBMIT);
	rq_num(APPLY);
	arg_str(&E, "nope");
	expect_st(c, ST_EINVAL);
	expect_msg("no function 'nope'");
	rq(p, OP_POOL_SUBMIT);
	rq_num(APPLY);
	arg_strn("sq\0x", 4);
	expect_st(c, ST_EINVAL);
	rq(p, OP_POOL_SUBMIT);
	rq_num(APPLY);
	arg_int(&E, 1);
	expect_st(c, ST_EINVAL);
	rq(p, OP_POOL_SUBMIT);
	rq_num(APPLY);
	expect_st(c, ST_EINVAL);
	/* A Ref the submitter may not reach. */
	rq(p, OP_POOL_SUBMIT);
	rq_num(APPLY);
	arg_str(&E, "sq");
	arg_ref(0x1234567, 1);
	expect_st(c, ST_ENOENT);
	assert_int_equal(info(c, p).queued, 0);

	/* TAKE and DONE. */
	rq(p, OP_POOL_TAKE);
	rq_num2(0);
	expect_st(w->fd, ST_EINVAL);
	rq(p, OP_POOL_TAKE);
	rq_num2(-5);
	expect_st(w->fd, ST_EINVAL);
	int64_t j = submit(c, p, MAP, 2, "sq", x, 2);
	struct task t[2];
	assert_int_equal(take(w->fd, p, 1, t), 1);
	int64_t id = t[0].id;
	rq(p, OP_POOL_DONE);
	rq_num(id + 1000);
	expect_st(w->fd, ST_ENOENT);
	rq(p, OP_POOL_DONE); /* not v's */
	rq_num(id);
	arg_int(&E, 1);
	arg_int(&E, 4);
	expect_st(v->fd, ST_ENOENT);
	rq(p, OP_POOL_DONE); /* not v's either, as a failure */
	rq_num(id);
	rq_num2(ST_ETASK);
	arg_str(&E, "x");
	expect_st(v->fd, ST_ENOENT);
	assert_int_equal(info(c, p).running, 1);
	/* The wrong number of results fails the task: nothing hangs. */
	rq(p, OP_POOL_DONE);
	rq_num(id);
	arg_int(&E, 1);
	expect_st(w->fd, ST_EINVAL);
	expect_msg("1 results for the 2 calls");
	assert_int_equal(get(c, p, j), ST_EINVAL);
	expect_msg("1 results for the 2 calls");
	assert_int_equal(info(c, p).running, 0);
	/* A status that is neither 0 nor ETASK; a failure without its
	 * message. */
	int64_t bad2[] = {7, ST_ETASK, ST_ETASK};
	for (int i = 0; i < 3; i++) {
		j = submit(c, p, APPLY, 0, "sq", x, 1);
		assert_int_equal(take(w->fd, p, 1, t), 1);
		rq(p, OP_POOL_DONE);
		rq_num(t[0].id);
		rq_num2(bad2[i]);
		if (i == 2)
			arg_int(&E, 3);
		expect_st(w->fd, ST_EINVAL);
		assert_int_equal(get(c, p, j), ST_EINVAL);
	}
	/* A result Ref the worker may not reach fails the task ENOENT. */
	j = submit(c, p, APPLY, 0, "sq", x, 1);
	assert_int_equal(take(w->fd, p, 1, t), 1);
	rq(p, OP_POOL_DONE);
	rq_num(t[0].id);
	arg_ref(p + 1, 1);
	expect_st(w->fd, ST_ENOENT);
	assert_int_equal(get(c, p, j), ST_ENOENT);
	expect_msg("could not be kept");

	/* GET and NEXT. */
	rq(p, OP_POOL_GET);
	rq_num(j);
	rq_num2(1); /* a list, of an apply */
	expect_st(c, ST_EINVAL);
	rq(p, OP_POOL_GET);
	rq_num(j);
	rq_num2(2);
	expect_st(c, ST_EINVAL);
	assert_int_equal(get(c, p, -1), ST_ENOENT);
	assert_int_equal(next_result(c, p, 0), ST_ENOENT);
	/* Other types' ops on a pool, pool ops on another type. */
	uint64_t d = raw_open(c, ++next_id, 1);
	rq(d, OP_POOL_INFO);
	expect_st(c, ST_ETYPE);
	rq(p, OP_DICT_LEN);
	expect_st(c, ST_ETYPE);
	/* Arguments where none are taken. */
	rq(p, OP_POOL_INIT_FAILED);
	expect_st(c, ST_EINVAL);
	rq(p, OP_POOL_CLOSE);
	arg_int(&E, 1);
	expect_st(c, ST_EINVAL);
	/* The server is well. */
	raw_expect_ping(c, ++next_id);
	struct info in = info(c, p);
	assert_int_equal(in.queued + in.running, 0);
}

/* --max-frame and --max-item: a task too big for a TAKE answer is
 * refused at SUBMIT, a TAKE takes only what fits, a result too big
 * fails its task. */
static void test_limits(void **state)
{
	(void)state;
	struct server s = {0};
	const char *opts[] = {"--max-frame", "8192", "--max-item", "2048",
	                      NULL};
	server_start(&s, opts);
	char name[64];
	int c = session_at(s.path);
	uint64_t p = pool_create(c, name);
	struct peer *w = proxy_at(s.path);
	pool_join(w->fd, name);
	static char big[1991];
	memset(big, 'b', 1990);
	rq(p, OP_POOL_SUBMIT);
	rq_num(APPLY);
	arg_str(&E, "sq");
	for (int i = 0; i < 4; i++)
		arg_str(&E, big);
	expect_st(c, ST_ETOOBIG);
	expect_msg("chunksize");
	rq(p, OP_POOL_SUBMIT);
	rq_num(MAP);
	rq_num2(4);
	arg_str(&E, "sq");
	for (int i = 0; i < 4; i++)
		arg_str(&E, big);
	expect_st(c, ST_ETOOBIG);
	assert_int_equal(info(c, p).queued, 0);
	rq(p, OP_POOL_SUBMIT);
	rq_num(MAP);
	rq_num2(1);
	arg_str(&E, "sq");
	for (int i = 0; i < 4; i++)
		arg_str(&E, big);
	expect_st(c, ST_OK);
	int64_t j = R.num;
	struct task t[4];
	size_t n = take(w->fd, p, 10, t), total = n;
	assert_true(n >= 1 && n < 4); /* 4 would not fit in 8192 bytes */
	int64_t ids[4];
	for (size_t i = 0; i < n; i++)
		ids[i] = t[i].id;
	while (total < 4)
		total += take(w->fd, p, 10, t);
	assert_int_equal(total, 4);
	/* A result over --max-item. */
	static char huge[3001];
	memset(huge, 'h', 3000);
	rq(p, OP_POOL_DONE);
	rq_num(ids[0]);
	arg_str(&E, huge);
	expect_st(w->fd, ST_ETOOBIG);
	assert_int_equal(get(c, p, j), ST_ETOOBIG);
	expect_msg("could not be kept");
	peer_reap(w);
	raw_close(c);
	server_stop(&s);
}

/* NEXT takes a Ref result out (the session holds it until it ends, as a
 * queue get's); it all goes at the end. */
static void test_next_takes_refs(void **state)
{
	(void)state;
	char name[64];
	int m = raw_session();
	wait_conns(m, 1);
	int64_t objects, bytes;
	stats(m, &objects, &bytes);
	int c = raw_session();
	rq(0, OP_OPEN);
	rq_num(TYPE_POOL);
	arg_int(&E, 1);
	arg_int(&E, 0);
	arg_str(&E, "f");
	expect_st(c, ST_OK);
	uint64_t p = R.v[0].ref;
	(void)name;
	uint64_t d = raw_open(c, ++next_id, 1);
	rq(p, OP_POOL_SUBMIT);
	rq_num(IMAP);
	rq_num2(1);
	arg_str(&E, "f");
	arg_ref(d, 1);
	expect_st(c, ST_OK);
	int64_t j = R.num;
	/* c plays the worker too: the pool is anonymous, and it is never
	 * terminated or broken while c is a worker. */
	struct task t[2];
	assert_int_equal(take(c, p, 1, t), 1);
	rq(p, OP_POOL_DONE);
	rq_num(t[0].id);
	arg_ref(d, 1);
	expect_st(c, ST_OK);
	rq(d, OP_RELEASE);
	expect_st(c, ST_OK); /* the job's result keeps it */
	assert_int_equal(next_result(c, p, j), ST_OK);
	assert_int_equal(R.v[0].kind, 7);
	assert_true(R.v[0].ref == d);
	rq(d, OP_DICT_LEN); /* the taken reference */
	expect_st(c, ST_OK);
	assert_int_equal(next_result(c, p, j), ST_ECLOSED);
	raw_close(c);
	wait_baseline(m, objects, bytes);
}

/* The server stops with pools busy: parked calls are told ESTOPPING,
 * it exits cleanly (0, and no leak under ASan). */
static void test_stop_busy(void **state)
{
	(void)state;
	struct server s = {0};
	server_start(&s, NULL);
	char name[64];
	int c = session_at(s.path);
	uint64_t p = pool_create(c, name);
	struct peer *w = proxy_at(s.path), *v = proxy_at(s.path);
	pool_join(w->fd, name);
	pool_join(v->fd, name);
	int64_t x[] = {1, 2};
	int64_t j = submit(c, p, MAP, 1, "sq", x, 2);
	struct task t[2];
	assert_int_equal(take(w->fd, p, 2, t), 2);
	rq(p, OP_POOL_TAKE);
	rq_num2(1);
	rq_timeout(-1);
	uint64_t vid = next_id;
	send_rq(v->fd);
	rq(p, OP_POOL_GET);
	rq_num(j);
	rq_timeout(-1);
	uint64_t gid = next_id;
	send_rq(c);
	wait_parked(c, 2);
	server_stop(&s);
	read_resp(v->fd, &R);
	assert_int_equal(R.id, vid);
	assert_int_equal(R.status, 19); /* ESTOPPING */
	read_resp(c, &R);
	assert_int_equal(R.id, gid);
	assert_int_equal(R.status, 19);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_teardown(test_apply_in_order, teardown),
	        cmocka_unit_test_teardown(test_map_chunks, teardown),
	        cmocka_unit_test_teardown(test_starmap, teardown),
	        cmocka_unit_test_teardown(test_shares, teardown),
	        cmocka_unit_test_teardown(test_parked_take, teardown),
	        cmocka_unit_test_teardown(test_worker_lost, teardown),
	        cmocka_unit_test_teardown(test_map_first_failure, teardown),
	        cmocka_unit_test_teardown(test_imap, teardown),
	        cmocka_unit_test_teardown(test_wait, teardown),
	        cmocka_unit_test_teardown(test_jobs_per_connection, teardown),
	        cmocka_unit_test_teardown(test_close, teardown),
	        cmocka_unit_test_teardown(test_terminate, teardown),
	        cmocka_unit_test_teardown(test_creator_gone, teardown),
	        cmocka_unit_test_teardown(test_init_failed, teardown),
	        cmocka_unit_test_teardown(test_supervisor_gone, teardown),
	        cmocka_unit_test_teardown(test_memory, teardown),
	        cmocka_unit_test_teardown(test_hostile, teardown),
	        cmocka_unit_test_teardown(test_limits, teardown),
	        cmocka_unit_test_teardown(test_next_takes_refs, teardown),
	        cmocka_unit_test_teardown(test_stop_busy, teardown),
	};
	return RUN(tests, 120, srv_setup, srv_teardown);
}
