/*
 * test_shm_server.c — the server's side of shared memory, by the raw
 * protocol: session tokens in the Hello, MAP and the descriptors it
 * passes (a sealed memfd, the kick socket), the segments' layout and counts,
 * and the server acting on words a mapped client moved — this file plays
 * the mapped client with proto/shm.c's own functions on its own mapping,
 * and kicks the server as a client must. Also: a client that writes
 * garbage into its mappings or tries to truncate them cannot hurt the
 * server, and a server out of descriptors keeps objects in private memory.
 */
#include "raw.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm.h"

enum {
	ST_EINDEX = 2,
	ST_ETIMEOUT = 7,
	ST_EVALUE = 3,
	ST_ELIMIT = 20,
	ST_OWNER_DIED = 100,
	OP_STATS = 2,
	OP_MAP = 10,
	OP_LOCK_ACQUIRE = 400,
	OP_LOCK_RELEASE = 401,
	OP_LOCK_LOCKED = 402,
	OP_SEM_ACQUIRE = 500,
	OP_SEM_RELEASE = 501,
	OP_SEM_VALUE = 502,
	OP_EVENT_SET = 700,
	OP_EVENT_IS_SET = 702,
	OP_EVENT_WAIT = 703,
	OP_VALUE_GET = 900,
	OP_VALUE_SET = 901,
	OP_VALUE_ADD = 902,
	OP_VALUE_CAS = 903,
	OP_ARRAY_GET = 1000,
	OP_ARRAY_SET = 1001,
	OP_ARRAY_ADD = 1002,
	OP_ARRAY_READ = 1004,
	OP_ARRAY_WRITE = 1005,
	OP_ARRAY_LOCK = 1006,
	OP_ARRAY_UNLOCK = 1007,
};

static int teardown(void **state)
{
	(void)state;
	raw_close_all();
	return 0;
}

/* ------------------------------------------- a peer that takes descriptors */

/* A raw session that reads with recvmsg, keeping the descriptors that
 * come with the bytes in arrival order, as a mapped client must. */
struct peer {
	int fd;
	uint32_t token; /* Hello.session */
	uint8_t in[1 << 16];
	size_t len;
	int fds[256];
	size_t nfds;
};

/* One recvmsg into the peer's buffer: false at end-of-file or error. */
static bool peer_recv(struct peer *p)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 64)];
	} ctl;
	struct iovec iov = {p->in + p->len, sizeof p->in - p->len};
	struct msghdr msg = {.msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = ctl.b,
	                     .msg_controllen = sizeof ctl.b};
	ssize_t n;
	while ((n = recvmsg(p->fd, &msg, MSG_CMSG_CLOEXEC)) < 0 &&
	       errno == EINTR)
		;
	if (n <= 0)
		return false;
	assert_false(msg.msg_flags & MSG_CTRUNC);
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h;
	     h = CMSG_NXTHDR(&msg, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		assert_true(p->nfds + k <= 256);
		memcpy(p->fds + p->nfds, CMSG_DATA(h), k * sizeof(int));
		p->nfds += k;
	}
	p->len += (size_t)n;
	return true;
}

/* The first result of a Response, as far as these tests look at one. */
struct res {
	unsigned field; /* the Item field set: 1 nil, 2 b, 3 i, 5 s, ... */
	int64_t i;
	size_t slen;
};

static struct res first;

static void on_first(struct msg *m, unsigned field, const uint8_t *p, size_t n)
{
	if (field != 4 || m->nresults++)
		return;
	struct msg ref = {0};
	if (decode(p, n, &ref, on_item))
		m->ref_id = ref.ref_id;
	const uint8_t *end = p + n;
	uint64_t key, v;
	first = (struct res){0};
	if (!get_varint(&p, end, &key))
		return;
	first.field = (unsigned)(key >> 3);
	if ((key & 7) == 0 && get_varint(&p, end, &v))
		first.i = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
	else if ((key & 7) == 2 && get_varint(&p, end, &v))
		first.slen = (size_t)v;
}

/* The next frame from the server, decoded into m (first result in
 * `first`). */
static void peer_read(struct peer *p, struct msg *m)
{
	for (;;) {
		if (p->len >= 4) {
			size_t n = (size_t)p->in[0] | (size_t)p->in[1] << 8 |
			           (size_t)p->in[2] << 16 |
			           (size_t)p->in[3] << 24;
			assert_true(n <= sizeof p->in - 4);
			if (p->len >= 4 + n) {
				memset(m, 0, sizeof *m);
				assert_true(decode(p->in + 4, n, m, on_first));
				memmove(p->in, p->in + 4 + n, p->len - 4 - n);
				p->len -= 4 + n;
				return;
			}
		}
		if (!peer_recv(p))
			fail_msg("no frame from the server");
	}
}

/* Take the oldest descriptor received. */
static int peer_take_fd(struct peer *p)
{
	assert_true(p->nfds > 0);
	int fd = p->fds[0];
	memmove(p->fds, p->fds + 1, --p->nfds * sizeof *p->fds);
	return fd;
}

static void peer_open_at(struct peer *p, const char *path)
{
	p->fd = raw_connect(path);
	p->len = p->nfds = 0;
	struct enc e = {.n = 0};
	struct msg m;
	put_uint(&e, 1, 1);
	raw_frame(p->fd, e.b, e.n);
	peer_read(p, &m);
	assert_int_equal(m.f[2], ST_OK);
	p->token = (uint32_t)m.f[5];
	assert_true(p->token >= 1 && p->token <= OMI_LK_OWNER);
}

static void peer_open(struct peer *p)
{
	peer_open_at(p, srv.path);
}

static void peer_close(struct peer *p)
{
	while (p->nfds)
		close(peer_take_fd(p));
	raw_close(p->fd);
	p->fd = -1;
}

static uint64_t peer_call(struct peer *p, const struct enc *e, struct msg *m)
{
	raw_frame(p->fd, e->b, e->n);
	peer_read(p, m);
	return m->f[2];
}

/* A request with just an op and a target (and num, timeout if given). */
static uint64_t call_op(struct peer *p, uint64_t id, uint64_t target,
                        uint64_t op, struct msg *m)
{
	struct enc e;
	req(&e, id, target, op);
	return peer_call(p, &e, m);
}

static uint64_t call_num(struct peer *p, uint64_t id, uint64_t target,
                         uint64_t op, int64_t num, struct msg *m)
{
	struct enc e;
	req(&e, id, target, op);
	put_uint(&e, 5, zigzag(num));
	return peer_call(p, &e, m);
}

/* Send a request with a timeout whose answer comes later. */
static void send_timeout(struct peer *p, uint64_t id, uint64_t target,
                         uint64_t op, double timeout)
{
	struct enc e;
	req(&e, id, target, op);
	put_double(&e, 7, timeout);
	raw_frame(p->fd, e.b, e.n);
}

/* OPEN an anonymous object with the items already in `args` (a Request
 * fragment: args fields) and flags: its id. */
static uint64_t open_obj(struct peer *p, int type, int64_t flags,
                         const struct enc *args)
{
	struct enc e;
	struct msg m;
	req(&e, 1, 0, OP_OPEN);
	put_uint(&e, 5, zigzag(type));
	if (flags)
		put_uint(&e, 6, zigzag(flags));
	if (args) {
		memcpy(e.b + e.n, args->b, args->n);
		e.n += args->n;
	}
	assert_int_equal(peer_call(p, &e, &m), ST_OK);
	assert_true(m.ref_id != 0);
	return m.ref_id;
}

/* A mapping of object `id` (MAP), checked as a client checks it; its
 * size in *size, and the kick socket in *efd. */
static void *map_obj(struct peer *p, uint64_t id, int type, size_t *size,
                     int *efd)
{
	struct msg m;
	assert_int_equal(call_op(p, 9, id, OP_MAP, &m), ST_OK);
	assert_int_equal(m.f[6], 2); /* Response.fds */
	*size = (size_t)(m.f[5] >> 1);
	int seg = peer_take_fd(p);
	*efd = peer_take_fd(p);
	struct stat st;
	assert_int_equal(fstat(seg, &st), 0);
	assert_int_equal((size_t)st.st_size, *size);
	int seals = fcntl(seg, F_GET_SEALS);
	assert_true(seals >= 0);
	assert_true((seals & F_SEAL_GROW) && (seals & F_SEAL_SHRINK) &&
	            (seals & F_SEAL_SEAL));
	void *base =
	        mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, seg, 0);
	assert_true(base != MAP_FAILED);
	close(seg);
	assert_true(omi_shm_check(base, *size, type, id));
	return base;
}

static void kick(int efd)
{
	uint64_t one = 1;
	assert_int_equal(write(efd, &one, sizeof one), sizeof one);
}

/* The STATS field k (0-based: 6 segments, 7 mapped). */
static int64_t stat_k(struct peer *p, int k)
{
	/* Results are ints: walk them all for the k-th. */
	struct enc e;
	req(&e, 77, 0, OP_STATS);
	raw_frame(p->fd, e.b, e.n);
	struct msg m;
	int64_t v = -1;
	for (;;) {
		if (p->len >= 4) {
			size_t n = (size_t)p->in[0] | (size_t)p->in[1] << 8 |
			           (size_t)p->in[2] << 16 |
			           (size_t)p->in[3] << 24;
			if (p->len >= 4 + n) {
				const uint8_t *q = p->in + 4,
				              *end = p->in + 4 + n;
				int idx = 0;
				while (q < end) {
					uint64_t key, len, x;
					assert_true(get_varint(&q, end, &key));
					if ((key & 7) == 0) {
						assert_true(get_varint(&q, end,
						                       &x));
						continue;
					}
					assert_int_equal(key & 7, 2);
					assert_true(get_varint(&q, end, &len));
					if ((key >> 3) == 4 && idx++ == k &&
					    len == 0)
						v = 0; /* an Item of int 0 */
					else if ((key >> 3) == 4 &&
					         idx - 1 == k) {
						const uint8_t *r = q;
						assert_true(get_varint(
						        &r, q + len, &key));
						assert_true(get_varint(
						        &r, q + len, &x));
						v = (int64_t)(x >> 1) ^
						    -(int64_t)(x & 1);
					}
					q += len;
				}
				memmove(p->in, p->in + 4 + n, p->len - 4 - n);
				p->len -= 4 + n;
				(void)m;
				return v;
			}
		}
		if (!peer_recv(p))
			fail_msg("no STATS answer");
	}
}

/* ------------------------------------------------------------------ tests */

/* Every session has its own token, in its Hello. */
static void test_tokens(void **state)
{
	(void)state;
	struct peer a, b, c;
	peer_open(&a);
	peer_open(&b);
	peer_open(&c);
	assert_true(a.token != b.token && b.token != c.token &&
	            a.token != c.token);
	peer_close(&a);
	peer_close(&b);
	peer_close(&c);
}

/* MAP passes a sealed memfd of the announced size with the object's
 * header, and the kick socket; it cannot be truncated; segments are counted
 * while their objects live; MAP of a type that is not shared, or of an
 * object the session does not reach, is refused. */
static void test_map(void **state)
{
	(void)state;
	struct peer p, q;
	struct msg m;
	peer_open(&p);
	peer_open(&q);
	int64_t seg0 = stat_k(&p, 6), mapped0 = stat_k(&p, 7);
	uint64_t lk = open_obj(&p, OM_TYPE_LOCK, OM_RECURSIVE, NULL);
	assert_int_equal(stat_k(&p, 6), seg0 + 1);
	size_t size;
	int efd;
	void *base = map_obj(&p, lk, OM_TYPE_LOCK, &size, &efd);
	assert_int_equal(stat_k(&p, 7), mapped0 + (int64_t)size);
	const struct omi_shm_hdr *h = base;
	assert_int_equal(h->flags, OM_RECURSIVE);
	/* The seals refuse a truncate, whatever the client does. */
	assert_int_equal(call_op(&p, 2, lk, OP_MAP, &m), ST_OK);
	int seg = peer_take_fd(&p);
	close(peer_take_fd(&p));
	assert_int_equal(ftruncate(seg, 0), -1);
	assert_int_equal(ftruncate(seg, (off_t)size * 2), -1);
	assert_int_equal(fcntl(seg, F_ADD_SEALS, F_SEAL_WRITE), -1);
	close(seg);
	/* Refusals: a dict has no segment; q never saw the lock. */
	uint64_t d = open_obj(&p, OM_TYPE_DICT, 0, NULL);
	assert_int_equal(call_op(&p, 3, d, OP_MAP, &m), ST_EINVAL);
	assert_int_equal(m.f[6], 0);
	assert_int_equal(call_op(&q, 3, lk, OP_MAP, &m), ST_ENOENT);
	assert_int_equal(p.nfds + q.nfds, 0);
	/* The segment goes with its object; the mapping stays valid. */
	struct enc e;
	req(&e, 4, lk, 7 /* RELEASE */);
	assert_int_equal(peer_call(&p, &e, &m), ST_OK);
	assert_int_equal(stat_k(&p, 6), seg0);
	assert_int_equal(stat_k(&p, 7), mapped0);
	assert_int_equal(h->magic, OMI_SHM_MAGIC);
	munmap(base, size);
	close(efd);
	peer_close(&p);
	peer_close(&q);
}

/* At most 64 descriptors wait on a connection: MAPs past that (32 of
 * them, all answered before anything is written) are ELIMIT, and the
 * descriptors of the others arrive no later than their answers. */
static void test_map_bound(void **state)
{
	(void)state;
	struct peer p;
	struct msg m;
	peer_open(&p);
	uint64_t ev = open_obj(&p, OM_TYPE_EVENT, 0, NULL);
	struct enc burst = {.n = 0};
	for (int i = 0; i < 40; i++) {
		struct enc e;
		req(&e, 100 + (uint64_t)i, ev, OP_MAP);
		put_hdr(burst.b + burst.n, (uint32_t)e.n);
		memcpy(burst.b + burst.n + 4, e.b, e.n);
		burst.n += 4 + e.n;
	}
	raw_write(p.fd, burst.b, burst.n);
	int ok = 0, limited = 0;
	for (int i = 0; i < 40; i++) {
		peer_read(&p, &m);
		assert_int_equal(m.f[1], 100 + (uint64_t)i);
		if (m.f[2] == ST_OK) {
			assert_int_equal(m.f[6], 2);
			ok++;
			assert_true(p.nfds >= 2 * (size_t)ok);
		} else {
			assert_int_equal(m.f[2], ST_ELIMIT);
			assert_int_equal(m.f[6], 0);
			limited++;
		}
	}
	assert_int_equal(ok, 32);
	assert_int_equal(limited, 8);
	assert_int_equal(p.nfds, 64);
	/* Once they are written, MAP works again. */
	while (p.nfds)
		close(peer_take_fd(&p));
	assert_int_equal(call_op(&p, 2, ev, OP_MAP, &m), ST_OK);
	assert_int_equal(p.nfds, 2);
	peer_close(&p);
}

/* A lock word moved by a mapped client and by RPC is one lock: the
 * server sees a mapped holder, a parked RPC acquirer is handed the lock
 * when a mapped release kicks the server, and a session's end frees what
 * its token holds, owner-died, whoever took it. */
static void test_lock_words(void **state)
{
	(void)state;
	struct peer a, b;
	struct msg m;
	peer_open(&a);
	peer_open(&b);
	struct enc e, o;
	/* Named, so both sessions reach it. */
	req(&o, 1, 0, OP_OPEN);
	put_uint(&o, 5, zigzag(OM_TYPE_LOCK));
	put_uint(&o, 6, zigzag(OM_CREATE));
	put_bytes(&o, 8, "shm.lock", 8);
	assert_int_equal(peer_call(&a, &o, &m), ST_OK);
	uint64_t lk = m.ref_id;
	size_t size;
	int efd;
	void *base = map_obj(&a, lk, OM_TYPE_LOCK, &size, &efd);
	struct omi_slock *sl = omi_shm_state(base);
	assert_int_equal(peer_call(&b, &o, &m), ST_OK);

	/* a takes it through its mapping: the server sees it held. */
	assert_int_equal(omi_slock_try(sl, a.token, false, false, NULL), OM_OK);
	assert_int_equal(call_op(&b, 2, lk, OP_LOCK_LOCKED, &m), ST_OK);
	assert_int_equal(m.f[5], zigzag(1));
	assert_int_equal(call_op(&b, 3, lk, OP_LOCK_RELEASE, &m),
	                 9 /* ENOTOWNER */);
	/* b parks; a's mapped release finds the server's mark and kicks. */
	send_timeout(&b, 4, lk, OP_LOCK_ACQUIRE, -1);
	for (int i = 0;
	     i < 1000 &&
	     !(__atomic_load_n(&sl->word, __ATOMIC_SEQ_CST) & OMI_LK_SRV);
	     i++)
		usleep(1000);
	uint32_t old;
	assert_int_equal(omi_slock_release(sl, a.token, false, &old), OM_OK);
	assert_true(old & OMI_LK_SRV);
	kick(efd);
	peer_read(&b, &m);
	assert_int_equal(m.f[1], 4);
	assert_int_equal(m.f[2], ST_OK);
	assert_int_equal(omi_slock_owner(sl), b.token);
	/* b's session ends holding it: the word is freed owner-died, and
	 * a's mapped acquire is told so once. */
	peer_close(&b);
	for (int i = 0; i < 5000 && omi_slock_owner(sl) != 0; i++)
		usleep(1000);
	assert_int_equal(omi_slock_owner(sl), 0);
	assert_int_equal(omi_slock_try(sl, a.token, false, false, NULL),
	                 OM_OWNER_DIED);
	assert_int_equal(omi_slock_release(sl, a.token, false, &old), OM_OK);
	/* Now a holds it by mapping and ends: an RPC acquirer is told. */
	peer_open(&b);
	assert_int_equal(peer_call(&b, &o, &m), ST_OK);
	assert_int_equal(omi_slock_try(sl, a.token, false, false, NULL), OM_OK);
	send_timeout(&b, 5, lk, OP_LOCK_ACQUIRE, -1);
	req(&e, 6, 0, 5 /* UNLINK */);
	put_bytes(&e, 8, "shm.lock", 8);
	assert_int_equal(peer_call(&a, &e, &m), ST_OK);
	peer_close(&a);
	peer_read(&b, &m);
	assert_int_equal(m.f[1], 5);
	assert_int_equal(m.f[2], ST_OWNER_DIED);
	assert_int_equal(omi_slock_owner(sl), b.token);
	munmap(base, size);
	close(efd);
	peer_close(&b);
}

/* A semaphore's and an event's parked RPC callers are answered when a
 * mapped client moves the word and kicks. */
static void test_sem_event_words(void **state)
{
	(void)state;
	struct peer p;
	struct msg m;
	peer_open(&p);
	struct enc args = {.n = 0};
	arg_int(&args, 0);
	uint64_t s = open_obj(&p, OM_TYPE_SEM, 0, &args);
	uint64_t ev = open_obj(&p, OM_TYPE_EVENT, 0, NULL);
	size_t ssize, esize;
	int efd, efd2;
	void *sb = map_obj(&p, s, OM_TYPE_SEM, &ssize, &efd);
	void *eb = map_obj(&p, ev, OM_TYPE_EVENT, &esize, &efd2);
	struct omi_ssem *ss = omi_shm_state(sb);
	struct omi_sevent *se = omi_shm_state(eb);

	send_timeout(&p, 2, s, OP_SEM_ACQUIRE, -1);
	send_timeout(&p, 3, ev, OP_EVENT_WAIT, -1);
	for (int i = 0;
	     i < 1000 &&
	     !(__atomic_load_n(&ss->flags, __ATOMIC_SEQ_CST) & OMI_WAIT_SRV);
	     i++)
		usleep(1000);
	uint32_t flags;
	assert_int_equal(omi_ssem_release(ss, 2, false, 0, &flags), OM_OK);
	assert_true(flags & OMI_WAIT_SRV);
	kick(efd);
	peer_read(&p, &m);
	assert_int_equal(m.f[1], 2);
	assert_int_equal(m.f[2], ST_OK);
	assert_int_equal(call_op(&p, 4, s, OP_SEM_VALUE, &m), ST_OK);
	assert_int_equal(m.f[5], zigzag(1));
	assert_int_equal(omi_ssem_try(ss), OM_OK);
	assert_int_equal(call_op(&p, 5, s, OP_SEM_VALUE, &m), ST_OK);
	assert_int_equal(m.f[5], 0);

	/* A set and a clear before the server looks still wake the wait. */
	for (int i = 0;
	     i < 1000 &&
	     !(__atomic_load_n(&se->word, __ATOMIC_SEQ_CST) & OMI_LK_SRV);
	     i++)
		usleep(1000);
	uint32_t old = omi_sevent_set(se);
	omi_sevent_clear(se);
	assert_true(old & OMI_LK_SRV);
	kick(efd2);
	peer_read(&p, &m);
	assert_int_equal(m.f[1], 3);
	assert_int_equal(m.f[2], ST_OK);
	assert_int_equal(call_op(&p, 6, ev, OP_EVENT_IS_SET, &m), ST_OK);
	assert_int_equal(m.f[5], 0);
	munmap(sb, ssize);
	munmap(eb, esize);
	close(efd);
	close(efd2);
	peer_close(&p);
}

/* A value's cell and an array's elements are the ones RPC reads; a str
 * stored by RPC takes the value to the server and a number brings it
 * back; an array's READ waits for a mapped holder of its lock. */
static void test_value_array_words(void **state)
{
	(void)state;
	struct peer p;
	struct msg m;
	struct enc e;
	peer_open(&p);
	struct enc args = {.n = 0};
	arg_int(&args, 5);
	uint64_t v = open_obj(&p, OM_TYPE_VALUE, 0, &args);
	size_t vsize, asize;
	int efd, efd2;
	void *vb = map_obj(&p, v, OM_TYPE_VALUE, &vsize, &efd);
	struct omi_svalue *sv = omi_shm_state(vb);
	om_item it;
	assert_true(omi_svalue_unpack(omi_svalue_load(sv), &it));
	assert_int_equal(it.kind, OM_INT);
	assert_int_equal(it.i, 5);
	/* A client's CAS is what the server reads and adds to. */
	om_item seven = {.kind = OM_INT, .i = 7};
	unsigned __int128 cur = omi_svalue_load(sv);
	assert_true(omi_svalue_cas(sv, &cur, omi_svalue_pack(&seven)));
	req(&e, 2, v, OP_VALUE_ADD);
	arg_int(&e, 1);
	assert_int_equal(peer_call(&p, &e, &m), ST_OK);
	assert_int_equal(first.field, 3);
	assert_int_equal(first.i, 8);
	/* A str: with the server; the cell says so. */
	req(&e, 3, v, OP_VALUE_SET);
	arg_str(&e, "abc");
	assert_int_equal(peer_call(&p, &e, &m), ST_OK);
	assert_false(omi_svalue_unpack(omi_svalue_load(sv), &it));
	assert_int_equal(call_op(&p, 4, v, OP_VALUE_GET, &m), ST_OK);
	assert_int_equal(first.field, 5);
	assert_int_equal(first.slen, 3);
	req(&e, 5, v, OP_VALUE_CAS);
	arg_str(&e, "abc");
	arg_int(&e, 9);
	assert_int_equal(peer_call(&p, &e, &m), ST_OK);
	assert_int_equal(m.f[5], zigzag(1));
	assert_true(omi_svalue_unpack(omi_svalue_load(sv), &it));
	assert_int_equal(it.i, 9);

	struct enc aargs = {.n = 0};
	arg_int(&aargs, OM_INT);
	arg_int(&aargs, 4);
	uint64_t a = open_obj(&p, OM_TYPE_ARRAY, 0, &aargs);
	void *ab = map_obj(&p, a, OM_TYPE_ARRAY, &asize, &efd2);
	omi_sarray_put(ab, 2, 42);
	assert_int_equal(call_num(&p, 6, a, OP_ARRAY_GET, 2, &m), ST_OK);
	assert_int_equal(first.i, 42);
	/* Another session's mapped hold of the lock makes a READ wait. */
	struct omi_slock *sl = omi_shm_state(ab);
	uint32_t other = p.token % OMI_LK_OWNER + 1000; /* nobody's, maybe */
	assert_int_equal(omi_slock_try(sl, other, true, false, NULL), OM_OK);
	req(&e, 7, a, OP_ARRAY_READ);
	put_uint(&e, 6, zigzag(4));
	raw_frame(p.fd, e.b, e.n);
	req(&e, 8, a, OP_ARRAY_WRITE);
	arg_int(&e, 1);
	arg_int(&e, 2);
	raw_frame(p.fd, e.b, e.n);
	for (int i = 0;
	     i < 1000 &&
	     !(__atomic_load_n(&sl->word, __ATOMIC_SEQ_CST) & OMI_LK_SRV);
	     i++)
		usleep(1000);
	assert_int_equal(call_num(&p, 9, a, OP_ARRAY_GET, 0, &m), ST_OK);
	assert_int_equal(first.i, 0); /* the WRITE waits too */
	uint32_t old;
	assert_int_equal(omi_slock_release(sl, other, false, &old), OM_OK);
	assert_true(old & OMI_LK_SRV);
	kick(efd2);
	peer_read(&p, &m);
	assert_int_equal(m.f[1], 7);
	assert_int_equal(m.f[2], ST_OK);
	assert_int_equal(m.nresults, 4);
	peer_read(&p, &m);
	assert_int_equal(m.f[1], 8);
	assert_int_equal(m.f[2], ST_OK);
	assert_int_equal(omi_sarray_get(ab, OM_INT, 1).i, 2);
	assert_int_equal(omi_slock_owner(sl), 0); /* given back */
	munmap(vb, vsize);
	munmap(ab, asize);
	close(efd);
	close(efd2);
	peer_close(&p);
}

/* Garbage in every segment: each call is answered (an error or a value),
 * and the server goes on. */
static void test_garbage(void **state)
{
	(void)state;
	struct peer p;
	struct msg m;
	struct enc e;
	peer_open(&p);
	struct enc one = {.n = 0}, arr = {.n = 0};
	arg_int(&one, 1);
	arg_int(&arr, OM_FLOAT);
	arg_int(&arr, 3);
	uint64_t ids[] = {
	        open_obj(&p, OM_TYPE_LOCK, OM_RECURSIVE, NULL),
	        open_obj(&p, OM_TYPE_SEM, OM_BOUNDED, &one),
	        open_obj(&p, OM_TYPE_EVENT, 0, NULL),
	        open_obj(&p, OM_TYPE_VALUE, 0, &one),
	        open_obj(&p, OM_TYPE_ARRAY, 0, &arr),
	};
	const int types[] = {OM_TYPE_LOCK, OM_TYPE_SEM, OM_TYPE_EVENT,
	                     OM_TYPE_VALUE, OM_TYPE_ARRAY};
	void *base[5];
	size_t size[5];
	int efd[5];
	for (int k = 0; k < 5; k++) {
		base[k] = map_obj(&p, ids[k], types[k], &size[k], &efd[k]);
		memset(base[k], 0xa5, size[k]); /* the header too */
	}
	kick(efd[0]);
	assert_int_equal(call_op(&p, 2, ids[0], OP_LOCK_LOCKED, &m), ST_OK);
	req(&e, 3, ids[0], OP_LOCK_ACQUIRE); /* timeout 0 */
	uint64_t st = peer_call(&p, &e, &m);
	assert_true(st == ST_OK || st == ST_ETIMEOUT || st == ST_OWNER_DIED);
	call_op(&p, 4, ids[0], OP_LOCK_RELEASE, &m);
	assert_int_equal(call_op(&p, 5, ids[1], OP_SEM_VALUE, &m), ST_OK);
	st = call_num(&p, 6, ids[1], OP_SEM_RELEASE, 1, &m);
	assert_true(st == ST_OK || st == ST_EVALUE);
	req(&e, 7, ids[1], OP_SEM_ACQUIRE);
	st = peer_call(&p, &e, &m);
	assert_true(st == ST_OK || st == ST_ETIMEOUT);
	assert_int_equal(call_op(&p, 8, ids[2], OP_EVENT_IS_SET, &m), ST_OK);
	req(&e, 9, ids[2], OP_EVENT_WAIT);
	st = peer_call(&p, &e, &m);
	assert_true(st == ST_OK || st == ST_ETIMEOUT);
	assert_int_equal(call_op(&p, 10, ids[2], OP_EVENT_SET, &m), ST_OK);
	/* A value of garbage kind is the server's: nil. */
	assert_int_equal(call_op(&p, 11, ids[3], OP_VALUE_GET, &m), ST_OK);
	assert_int_equal(first.field, 1);
	req(&e, 12, ids[3], OP_VALUE_ADD);
	arg_int(&e, 1);
	assert_int_equal(peer_call(&p, &e, &m), ST_ETYPE);
	req(&e, 13, ids[3], OP_VALUE_SET);
	arg_int(&e, 3);
	assert_int_equal(peer_call(&p, &e, &m), ST_OK);
	req(&e, 14, ids[3], OP_VALUE_ADD);
	arg_int(&e, 1);
	assert_int_equal(peer_call(&p, &e, &m), ST_OK);
	assert_int_equal(first.i, 4);
	/* An array's elements are numbers whatever their bits; its lock,
	 * held by a token nobody has, makes a READ wait until freed. */
	assert_int_equal(call_num(&p, 15, ids[4], OP_ARRAY_GET, 2, &m), ST_OK);
	req(&e, 16, ids[4], OP_ARRAY_ADD);
	put_uint(&e, 5, zigzag(1));
	arg_int(&e, 1);
	assert_int_equal(peer_call(&p, &e, &m), ST_OK);
	assert_int_equal(call_num(&p, 17, ids[4], OP_ARRAY_GET, 3, &m),
	                 ST_EINDEX);
	req(&e, 18, ids[4], OP_ARRAY_READ);
	put_uint(&e, 6, zigzag(3));
	raw_frame(p.fd, e.b, e.n);
	struct omi_slock *sl = omi_shm_state(base[4]);
	for (int i = 0;
	     i < 1000 &&
	     !(__atomic_load_n(&sl->word, __ATOMIC_SEQ_CST) & OMI_LK_SRV);
	     i++)
		usleep(1000);
	__atomic_store_n(&sl->word, 0, __ATOMIC_SEQ_CST);
	kick(efd[4]);
	peer_read(&p, &m);
	assert_int_equal(m.f[1], 18);
	assert_int_equal(m.f[2], ST_OK);
	assert_int_equal(m.nresults, 3);
	raw_expect_ping(p.fd, 19);
	for (int k = 0; k < 5; k++) {
		munmap(base[k], size[k]);
		close(efd[k]);
	}
	peer_close(&p);
}

/* Out of descriptors, objects are made in private memory: they work for
 * every client through RPC, MAP says EINVAL, and they are no segments. */
static void test_private_fallback(void **state)
{
	(void)state;
	/* Segments may hold the descriptor limit less a reserve of the
	 * connection limit + 256 (segment.c): 300 - (4 + 256) = 40. */
	struct server s;
	const char *args[] = {"--log-level", "error", "--max-connections",
	                      "4", NULL};
	server_start_opts(&s, args, 300, false);
	struct peer p;
	struct msg m;
	peer_open_at(&p, s.path);
	uint64_t ids[60];
	for (int k = 0; k < 60; k++)
		ids[k] = open_obj(&p, OM_TYPE_LOCK, 0, NULL);
	assert_int_equal(stat_k(&p, 6), 40);
	assert_int_equal(call_op(&p, 2, ids[59], OP_MAP, &m), ST_EINVAL);
	assert_int_equal(p.nfds, 0);
	struct enc e;
	req(&e, 3, ids[59], OP_LOCK_ACQUIRE);
	assert_int_equal(peer_call(&p, &e, &m), ST_OK);
	assert_int_equal(call_op(&p, 4, ids[59], OP_LOCK_LOCKED, &m), ST_OK);
	assert_int_equal(m.f[5], zigzag(1));
	assert_int_equal(call_op(&p, 5, ids[59], OP_LOCK_RELEASE, &m), ST_OK);
	/* The objects did not take the descriptors connections need: the
	 * other three still connect, and each can map one. */
	struct peer q[3];
	for (int k = 0; k < 3; k++) {
		peer_open_at(&q[k], s.path);
		assert_int_equal(call_op(&q[k], 1, 0, OP_PING, &m), ST_OK);
	}
	for (int k = 0; k < 3; k++)
		peer_close(&q[k]);
	assert_int_equal(stat_k(&p, 6), 40);
	peer_close(&p);
	server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_teardown(test_tokens, teardown),
	        cmocka_unit_test_teardown(test_map, teardown),
	        cmocka_unit_test_teardown(test_map_bound, teardown),
	        cmocka_unit_test_teardown(test_lock_words, teardown),
	        cmocka_unit_test_teardown(test_sem_event_words, teardown),
	        cmocka_unit_test_teardown(test_value_array_words, teardown),
	        cmocka_unit_test_teardown(test_garbage, teardown),
	        cmocka_unit_test_teardown(test_private_fallback, teardown),
	};
	return RUN(tests, 60, srv_setup, srv_teardown);
}
