/*
 * test_badinput.c — what a misbehaving peer cannot do. Over a raw Unix
 * socket (frames and protobuf encoded by hand here, from objmgr.proto):
 * frames over --max-frame, frames that do not decode, a bad or missing
 * Hello, truncated frames, unknown operations and object ids, type
 * mismatches, malformed arguments, request id 0, connection churn and
 * pipelined bursts; a peer of another uid (EAUTH); and an oversized
 * request through the library. After each one a normal client still
 * works and the server is still running.
 */
#include "harness.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* srv (harness.c) runs with --max-frame 4096 here. */

enum { MAX_FRAME = 4096 };

/* Status and op numbers from objmgr.proto. */
enum {
	ST_OK = 0,
	ST_ETYPE = 4,
	ST_ENOENT = 11,
	ST_EAUTH = 14,
	ST_EPROTO = 15,
	ST_ETOOBIG = 16,
	ST_ENOMEM = 17,
	ST_EINVAL = 18,
};
enum {
	OP_PING = 1,
	OP_OPEN = 4,
	OP_DICT_SET = 100,
	OP_DICT_GET = 101,
	OP_DICT_LEN = 107,
	OP_LIST_LEN = 211,
	OP_QUEUE_GET = 301,
};

static int setup(void **state)
{
	(void)state;
	static const char *const extra[] = {"--max-frame", "4096",
	                                    "--max-inflight", "2", NULL};
	server_start(&srv, extra);
	return 0;
}


/* ------------------------------------------------ protobuf, by hand */

struct enc {
	uint8_t b[16384];
	size_t n;
};

static void put_varint(struct enc *e, uint64_t v)
{
	do {
		uint8_t byte = v & 0x7f;
		v >>= 7;
		e->b[e->n++] = byte | (v ? 0x80 : 0);
	} while (v);
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* field of wire type 0 (varint) */
static void put_uint(struct enc *e, unsigned field, uint64_t v)
{
	put_varint(e, (uint64_t)field << 3);
	put_varint(e, v);
}

/* field of wire type 2 (length-delimited) */
static void put_bytes(struct enc *e, unsigned field, const void *p, size_t n)
{
	put_varint(e, (uint64_t)field << 3 | 2);
	put_varint(e, n);
	memcpy(e->b + e->n, p, n);
	e->n += n;
}

/* Request header fields: id (1), target (2), op (3). */
static void req(struct enc *e, uint64_t id, uint64_t target, uint64_t op)
{
	e->n = 0;
	if (id)
		put_uint(e, 1, id);
	if (target)
		put_uint(e, 2, target);
	put_uint(e, 3, op);
}

/* field of wire type 1 (64-bit): a double, little-endian */
static void put_double(struct enc *e, unsigned field, double v)
{
	put_varint(e, (uint64_t)field << 3 | 1);
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	for (int i = 0; i < 8; i++)
		e->b[e->n++] = (uint8_t)(bits >> (8 * i));
}

/* Request.args (4): an Item holding str s (Item field 5). */
static void arg_str(struct enc *e, const char *s)
{
	struct enc it = {.n = 0};
	put_bytes(&it, 5, s, strlen(s));
	put_bytes(e, 4, it.b, it.n);
}

/* Request.args (4): an Item holding int v (Item field 3, sint64). */
static void arg_int(struct enc *e, int64_t v)
{
	struct enc it = {.n = 0};
	put_uint(&it, 3, zigzag(v));
	put_bytes(e, 4, it.b, it.n);
}

/* A decoded Response or Hello: the varint fields by number, the count of
 * field 4 (Response.results) and the id in the first result's Ref. */
struct msg {
	uint64_t f[16];
	size_t nresults;
	uint64_t ref_id;
};

static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return false;
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* Walk a message; for each length-delimited field call back (may be NULL). */
static bool decode(const uint8_t *p, size_t n, struct msg *m,
                   void (*on_bytes)(struct msg *, unsigned, const uint8_t *,
                                    size_t))
{
	const uint8_t *end = p + n;
	while (p < end) {
		uint64_t key, v;
		if (!get_varint(&p, end, &key))
			return false;
		unsigned field = (unsigned)(key >> 3);
		switch (key & 7) {
		case 0:
			if (!get_varint(&p, end, &v))
				return false;
			if (field < 16)
				m->f[field] = v;
			break;
		case 1:
			if (end - p < 8)
				return false;
			p += 8;
			break;
		case 2:
			if (!get_varint(&p, end, &v) || v > (uint64_t)(end - p))
				return false;
			if (on_bytes)
				on_bytes(m, field, p, (size_t)v);
			p += v;
			break;
		case 5:
			if (end - p < 4)
				return false;
			p += 4;
			break;
		default:
			return false;
		}
	}
	return true;
}

static void on_item(struct msg *m, unsigned field, const uint8_t *p, size_t n)
{
	if (field != 7) /* Item.ref */
		return;
	struct msg r = {0};
	if (decode(p, n, &r, NULL))
		m->ref_id = r.f[1];
}

static void on_response(struct msg *m, unsigned field, const uint8_t *p,
                        size_t n)
{
	if (field != 4) /* Response.results */
		return;
	if (m->nresults++ == 0) {
		struct msg it = {0};
		if (decode(p, n, &it, on_item))
			m->ref_id = it.ref_id;
	}
}

/* ------------------------------------------------------- raw sockets */

/* Raw sockets a test has open: its teardown closes them, so a failed
 * assertion leaves no connection behind for the next test to count. */
static int open_fds[8];
static size_t nopen;

static void raw_close(int fd)
{
	for (size_t i = 0; i < nopen; i++) {
		if (open_fds[i] == fd) {
			open_fds[i] = open_fds[--nopen];
			break;
		}
	}
	close(fd);
}

static struct server srv2; /* test_eauth's, with the default options */

static int close_raw(void **state)
{
	(void)state;
	while (nopen)
		close(open_fds[--nopen]);
	if (srv2.pid > 0) { /* test_eauth failed half-way */
		kill(srv2.pid, SIGTERM);
		reap(srv2.pid, 20);
		srv2.pid = 0;
	}
	return 0;
}

/* A connected raw socket; reads give up after 10 seconds (a bound, so a
 * server that never answers fails the test instead of hanging it). */
static int raw_connect(const char *path)
{
	assert_true(nopen < sizeof open_fds / sizeof open_fds[0]);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	open_fds[nopen++] = fd;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	assert_true(strlen(path) < sizeof sun.sun_path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	struct timeval tv = {.tv_sec = 10};
	assert_int_equal(
	        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	return fd;
}

static void raw_write(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fail_msg("send: %s", strerror(errno));
		b += w;
		n -= (size_t)w;
	}
}

static void put_hdr(uint8_t *h, uint32_t n)
{
	h[0] = n & 0xff;
	h[1] = n >> 8 & 0xff;
	h[2] = n >> 16 & 0xff;
	h[3] = n >> 24 & 0xff;
}

/* One frame, header and body in one write. */
static void raw_frame(int fd, const void *body, size_t n)
{
	static uint8_t buf[4 + sizeof(struct enc)];
	assert_true(n <= sizeof buf - 4);
	put_hdr(buf, (uint32_t)n);
	memcpy(buf + 4, body, n);
	raw_write(fd, buf, 4 + n);
}

static bool read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n) {
		ssize_t r = recv(fd, b, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		b += r;
		n -= (size_t)r;
	}
	return true;
}

/* Read one frame into buf (which holds cap bytes): its length, or -1. */
static ssize_t raw_read_frame(int fd, uint8_t *buf, size_t cap)
{
	uint8_t h[4];
	if (!read_all(fd, h, 4))
		return -1;
	size_t n = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16 |
	           (size_t)h[3] << 24;
	if (n > cap || !read_all(fd, buf, n))
		return -1;
	return (ssize_t)n;
}

/* Read one Response (or Hello) frame and decode it; fails the test if
 * none comes or it does not decode. */
static void raw_read_msg(int fd, struct msg *m)
{
	static uint8_t buf[65536];
	ssize_t n = raw_read_frame(fd, buf, sizeof buf);
	if (n < 0)
		fail_msg("no frame from the server: %s",
		         errno ? strerror(errno) : "closed");
	memset(m, 0, sizeof *m);
	assert_true(decode(buf, (size_t)n, m, on_response));
}

/* The server closed the connection: the next read sees end-of-file. */
static void expect_closed(int fd)
{
	uint8_t b;
	ssize_t r;
	while ((r = recv(fd, &b, 1, 0)) < 0 && errno == EINTR)
		;
	if (r != 0)
		print_error("read after the error returned %zd (%s)\n", r,
		            r < 0 ? strerror(errno) : "data");
	assert_int_equal(r, 0);
}

/* Send Hello{version} and return the server's Hello. */
static void raw_hello_v(int fd, uint32_t version, struct msg *m)
{
	struct enc e = {.n = 0};
	put_uint(&e, 1, version);
	raw_frame(fd, e.b, e.n);
	raw_read_msg(fd, m);
}

/* A raw connection past a good Hello. */
static int raw_session(void)
{
	int fd = raw_connect(srv.path);
	struct msg m;
	raw_hello_v(fd, 1, &m);
	assert_int_equal(m.f[2], ST_OK);
	assert_int_equal(m.f[1], 1); /* the server's version */
	assert_int_equal(m.f[4], srv.pid);
	return fd;
}

/* Send a request and read its response; returns the response status. */
static uint64_t raw_call(int fd, const struct enc *e, struct msg *m)
{
	raw_frame(fd, e->b, e->n);
	raw_read_msg(fd, m);
	return m->f[2];
}

/* OPEN an anonymous object of `type` over the raw socket: its id. */
static uint64_t raw_open(int fd, uint64_t id, int type)
{
	struct enc e;
	struct msg m;
	req(&e, id, 0, OP_OPEN);
	put_uint(&e, 5, zigzag(type)); /* num = type */
	assert_int_equal(raw_call(fd, &e, &m), ST_OK);
	assert_int_equal(m.f[1], id);
	assert_int_equal(m.nresults, 1);
	assert_true(m.ref_id != 0);
	return m.ref_id;
}

/* A PING on the raw socket is still answered OK (the connection stays). */
static void raw_expect_ping(int fd, uint64_t id)
{
	struct enc e;
	struct msg m;
	req(&e, id, 0, OP_PING);
	assert_int_equal(raw_call(fd, &e, &m), ST_OK);
	assert_int_equal(m.f[1], id);
}

/* ---------------------------------------------- the server is still fine */

static void expect_server_ok(void)
{
	/* still running: not exited (it is our child) */
	int status;
	assert_int_equal(waitpid(srv.pid, &status, WNOHANG), 0);
	om_client *c = client(&srv);
	expect_ok(c, om_ping(c));
	/* and every earlier connection is gone */
	wait_stat(c, connections, 1);
	om_dict *d = new_dict(c);
	expect_ok(c, om_dict_set(d, om_str("k"), om_str("still fine")));
	om_item v;
	expect_ok(c, om_dict_get(d, om_str("k"), &v));
	assert_str_item(&v, "still fine");
	om_item_free(&v);
	om_release(d);
	om_disconnect(c);
}

/* ------------------------------------------------------------- frames */

static void test_frame_over_limit(void **state)
{
	(void)state;
	/* a header announcing more than --max-frame, after a good Hello */
	int fd = raw_session();
	uint8_t h[4];
	put_hdr(h, MAX_FRAME + 1);
	raw_write(fd, h, 4);
	struct msg m;
	raw_read_msg(fd, &m);
	assert_int_equal(m.f[2], ST_ETOOBIG);
	assert_int_equal(m.f[1], 0);
	expect_closed(fd);
	raw_close(fd);
	expect_server_ok();

	/* the largest length there is, with some of the body sent */
	fd = raw_session();
	uint8_t big[4 + 100] = {0xff, 0xff, 0xff, 0xff};
	raw_write(fd, big, sizeof big);
	raw_read_msg(fd, &m);
	assert_int_equal(m.f[2], ST_ETOOBIG);
	assert_int_equal(m.f[1], 0);
	expect_closed(fd);
	raw_close(fd);
	expect_server_ok();
}

static void test_frame_at_limit(void **state)
{
	(void)state;
	/* A PING padded with a name (ignored by PING) to exactly
	 * --max-frame bytes is served; one byte more is refused. */
	int fd = raw_session();
	struct enc e;
	struct msg m;
	static char name[MAX_FRAME];
	req(&e, 7, 0, OP_PING);
	size_t len = MAX_FRAME - e.n - 3; /* tag + 2-byte length */
	memset(name, 'a', len);
	put_bytes(&e, 8, name, len);
	assert_int_equal(e.n, MAX_FRAME);
	assert_int_equal(raw_call(fd, &e, &m), ST_OK);
	assert_int_equal(m.f[1], 7);

	req(&e, 8, 0, OP_PING);
	put_bytes(&e, 8, name, len + 1);
	assert_int_equal(e.n, MAX_FRAME + 1);
	assert_int_equal(raw_call(fd, &e, &m), ST_ETOOBIG);
	assert_int_equal(m.f[1], 0);
	expect_closed(fd);
	raw_close(fd);
	expect_server_ok();
}

static void test_request_does_not_decode(void **state)
{
	(void)state;
	int fd = raw_session();
	static const uint8_t junk[] = {0xff, 0xff, 0xff};
	raw_frame(fd, junk, sizeof junk);
	struct msg m;
	raw_read_msg(fd, &m);
	assert_int_equal(m.f[2], ST_EPROTO);
	assert_int_equal(m.f[1], 0);
	expect_closed(fd);
	raw_close(fd);
	expect_server_ok();

	/* a length-delimited field running past the frame's end */
	fd = raw_session();
	static const uint8_t cut[] = {0x08, 0x01, 0x42, 0x50, 'a'};
	raw_frame(fd, cut, sizeof cut);
	raw_read_msg(fd, &m);
	assert_int_equal(m.f[2], ST_EPROTO);
	assert_int_equal(m.f[1], 0);
	expect_closed(fd);
	raw_close(fd);
	expect_server_ok();
}

static void test_bad_hello(void **state)
{
	(void)state;
	struct msg m;
	/* garbage as the first frame */
	int fd = raw_connect(srv.path);
	static const uint8_t junk[] = {0xff, 0xff, 0xff};
	raw_frame(fd, junk, sizeof junk);
	raw_read_msg(fd, &m);
	assert_int_equal(m.f[2], ST_EPROTO);
	expect_closed(fd);
	raw_close(fd);
	expect_server_ok();

	/* a version the server does not speak */
	fd = raw_connect(srv.path);
	raw_hello_v(fd, 99, &m);
	assert_int_equal(m.f[2], ST_EPROTO);
	assert_int_equal(m.f[1], 1); /* it says which version it speaks */
	expect_closed(fd);
	raw_close(fd);
	expect_server_ok();

	/* an empty first frame: a Hello without a version */
	fd = raw_connect(srv.path);
	raw_frame(fd, "", 0);
	raw_read_msg(fd, &m);
	assert_int_equal(m.f[2], ST_EPROTO);
	expect_closed(fd);
	raw_close(fd);
	expect_server_ok();

	/* a Request where the Hello should be (PING, id 5): whether it
	 * decodes as a Hello (of version 5) or not, it is refused */
	fd = raw_connect(srv.path);
	struct enc e;
	req(&e, 5, 0, OP_PING);
	raw_frame(fd, e.b, e.n);
	raw_read_msg(fd, &m);
	assert_int_equal(m.f[2], ST_EPROTO);
	expect_closed(fd);
	raw_close(fd);
	expect_server_ok();
}

static void test_truncated_frame(void **state)
{
	(void)state;
	/* header says 100, 10 bytes follow, then the peer goes */
	int fd = raw_session();
	uint8_t b[4 + 10] = {0};
	put_hdr(b, 100);
	raw_write(fd, b, sizeof b);
	raw_close(fd);
	expect_server_ok();

	/* the same before any Hello, and a bare partial header */
	fd = raw_connect(srv.path);
	raw_write(fd, b, sizeof b);
	raw_close(fd);
	fd = raw_connect(srv.path);
	raw_write(fd, b, 2);
	raw_close(fd);
	expect_server_ok();
}

/* ------------------------------------------------- well-formed, failing */

static void test_unknown_op(void **state)
{
	(void)state;
	int fd = raw_session();
	struct enc e;
	struct msg m;
	uint64_t d = raw_open(fd, 1, 1 /* DICT */);
	req(&e, 2, d, 9999);
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	assert_int_equal(m.f[1], 2);
	raw_expect_ping(fd, 3);
	/* in the dict's range of op numbers, but not an op */
	req(&e, 4, d, 199);
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	raw_expect_ping(fd, 5);
	/* op 0 (OP_NONE) on the server */
	req(&e, 6, 0, 0);
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	raw_expect_ping(fd, 7);
	/* a server operation aimed at an object is still a server op */
	req(&e, 8, d, OP_PING);
	assert_int_equal(raw_call(fd, &e, &m), ST_OK);
	/* an unknown op is EINVAL whatever the target, 0 included */
	req(&e, 9, 0, 9999);
	uint64_t st = raw_call(fd, &e, &m);
	if (st != ST_EINVAL)
		print_error("op 9999 on target 0: status %llu, expected "
		            "EINVAL (18)\n", (unsigned long long)st);
	assert_int_equal(st, ST_EINVAL);
	assert_int_equal(m.f[1], 9);
	raw_expect_ping(fd, 10);
	raw_close(fd);
	expect_server_ok();
}

static void test_unknown_object(void **state)
{
	(void)state;
	int fd = raw_session();
	struct enc e;
	struct msg m;
	req(&e, 1, 123456789, OP_DICT_LEN);
	assert_int_equal(raw_call(fd, &e, &m), ST_ENOENT);
	assert_int_equal(m.f[1], 1);
	raw_expect_ping(fd, 2);
	/* an object op with no target at all */
	req(&e, 3, 0, OP_DICT_LEN);
	assert_int_equal(raw_call(fd, &e, &m), ST_ENOENT);
	raw_expect_ping(fd, 4);
	raw_close(fd);
	expect_server_ok();
}

static void test_wrong_type(void **state)
{
	(void)state;
	int fd = raw_session();
	struct enc e;
	struct msg m;
	uint64_t l = raw_open(fd, 1, 2 /* LIST */);
	req(&e, 2, l, OP_DICT_LEN);
	assert_int_equal(raw_call(fd, &e, &m), ST_ETYPE);
	assert_int_equal(m.f[1], 2);
	req(&e, 3, l, OP_DICT_SET);
	arg_str(&e, "k");
	arg_str(&e, "v");
	assert_int_equal(raw_call(fd, &e, &m), ST_ETYPE);
	/* nothing happened to the list */
	req(&e, 4, l, OP_LIST_LEN);
	assert_int_equal(raw_call(fd, &e, &m), ST_OK);
	assert_int_equal(m.f[5], zigzag(0));
	raw_close(fd);
	expect_server_ok();
}

static void test_bad_arguments(void **state)
{
	(void)state;
	int fd = raw_session();
	struct enc e;
	struct msg m;
	uint64_t d = raw_open(fd, 1, 1 /* DICT */);

	/* an Item with no field set */
	req(&e, 2, d, OP_DICT_SET);
	arg_str(&e, "k");
	put_bytes(&e, 4, "", 0);
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	assert_int_equal(m.f[1], 2);
	/* GET with no key */
	req(&e, 3, d, OP_DICT_GET);
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	/* SET with one argument, and with three */
	req(&e, 4, d, OP_DICT_SET);
	arg_str(&e, "k");
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	req(&e, 5, d, OP_DICT_SET);
	arg_str(&e, "k");
	arg_int(&e, 1);
	arg_int(&e, 2);
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	/* a Ref item naming no object, and a Ref with id 0 */
	struct enc ref = {.n = 0}, it = {.n = 0};
	put_uint(&ref, 1, 987654321);
	put_uint(&ref, 2, 2);
	put_bytes(&it, 7, ref.b, ref.n);
	req(&e, 6, d, OP_DICT_SET);
	arg_str(&e, "k");
	put_bytes(&e, 4, it.b, it.n);
	assert_int_equal(raw_call(fd, &e, &m), ST_ENOENT);
	it.n = 0;
	put_bytes(&it, 7, "", 0);
	req(&e, 7, d, OP_DICT_SET);
	arg_str(&e, "k");
	put_bytes(&e, 4, it.b, it.n);
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	/* OPEN of an unknown type, and of type 0 */
	req(&e, 8, 0, OP_OPEN);
	put_uint(&e, 5, zigzag(77));
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	req(&e, 9, 0, OP_OPEN);
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	/* none of it reached the dict */
	req(&e, 10, d, OP_DICT_LEN);
	assert_int_equal(raw_call(fd, &e, &m), ST_OK);
	assert_int_equal(m.f[5], zigzag(0));
	/* and a good SET/GET works on the same connection */
	req(&e, 11, d, OP_DICT_SET);
	arg_str(&e, "k");
	arg_int(&e, -5);
	assert_int_equal(raw_call(fd, &e, &m), ST_OK);
	req(&e, 12, d, OP_DICT_LEN);
	assert_int_equal(raw_call(fd, &e, &m), ST_OK);
	assert_int_equal(m.f[5], zigzag(1));
	raw_close(fd);
	expect_server_ok();
}

static void test_request_id_zero(void **state)
{
	(void)state;
	int fd = raw_session();
	struct enc e;
	struct msg m;
	req(&e, 0, 0, OP_PING);
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	assert_int_equal(m.f[1], 0);
	raw_expect_ping(fd, 1); /* the connection stays */
	raw_close(fd);
	expect_server_ok();
}

/* More parked calls than --max-inflight (2 here) on one connection: the
 * one over the limit is refused with ENOMEM, the connection stays, and
 * the parked ones go with it. Only a pipelining client can get there. */
static void test_inflight_limit(void **state)
{
	(void)state;
	int fd = raw_session();
	struct enc e;
	struct msg m;
	req(&e, 1, 0, OP_OPEN);
	put_uint(&e, 5, zigzag(3)); /* QUEUE */
	arg_int(&e, 0);             /* maxsize */
	assert_int_equal(raw_call(fd, &e, &m), ST_OK);
	uint64_t q = m.ref_id;
	for (uint64_t id = 2; id <= 4; id++) {
		req(&e, id, q, OP_QUEUE_GET);
		put_double(&e, 7, -1.0); /* forever */
		raw_frame(fd, e.b, e.n);
	}
	raw_read_msg(fd, &m); /* only the third is answered */
	assert_int_equal(m.f[1], 4);
	assert_int_equal(m.f[2], ST_ENOMEM);
	raw_expect_ping(fd, 5);
	raw_close(fd);
	expect_server_ok();
}

/* ------------------------------------------------------------ churn */

static void test_connection_churn(void **state)
{
	(void)state;
	/* connect and close at once */
	int fd = raw_connect(srv.path);
	raw_close(fd);
	expect_server_ok();

	/* 200 connections, some with a Hello, some with a request too */
	for (int i = 0; i < 200; i++) {
		fd = raw_connect(srv.path);
		if (i % 3 >= 1) {
			struct msg m;
			raw_hello_v(fd, 1, &m);
			assert_int_equal(m.f[2], ST_OK);
		}
		if (i % 3 == 2)
			raw_expect_ping(fd, 1);
		raw_close(fd);
	}
	/* all of them are gone from the server */
	expect_server_ok();
}

static void test_pipelined_pings(void **state)
{
	(void)state;
	int fd = raw_session();
	enum { N = 100 };
	static uint8_t buf[N * 16];
	size_t n = 0;
	for (int i = 0; i < N; i++) {
		struct enc e;
		req(&e, (uint64_t)i + 1, 0, OP_PING);
		put_hdr(buf + n, (uint32_t)e.n);
		memcpy(buf + n + 4, e.b, e.n);
		n += 4 + e.n;
	}
	raw_write(fd, buf, n); /* one write */
	bool seen[N + 1] = {false};
	for (int i = 0; i < N; i++) {
		struct msg m;
		raw_read_msg(fd, &m);
		assert_int_equal(m.f[2], ST_OK);
		assert_true(m.f[1] >= 1 && m.f[1] <= N);
		assert_false(seen[m.f[1]]);
		seen[m.f[1]] = true;
	}
	raw_expect_ping(fd, N + 1);
	raw_close(fd);
	expect_server_ok();
}

/* ------------------------------------------------------------- EAUTH */

static int child_other_uid(void *p)
{
	(void)p;
	gid_t nobody = 65534;
	if (setgroups(1, &nobody) || setgid(65534) || setuid(65534))
		return 10;
	/* The socket is reachable (so a refusal is the server's, by uid) */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(srv2.path) >= sizeof sun.sun_path)
		return 15;
	memcpy(sun.sun_path, srv2.path, strlen(srv2.path) + 1);
	if (fd < 0)
		return 11;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun))
		/* EACCES: a directory above the socket is closed to other
		 * users (a chroot made with mktemp -d): nothing to test. */
		return errno == EACCES ? 77 : 11;
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	static const uint8_t hello[] = {2, 0, 0, 0, 0x08, 0x01};
	if (send(fd, hello, sizeof hello, MSG_NOSIGNAL) != sizeof hello &&
	    errno != EPIPE && errno != ECONNRESET)
		return 12;
	uint8_t buf[512];
	ssize_t n = raw_read_frame(fd, buf, sizeof buf);
	struct msg m = {0};
	if (n < 0 || !decode(buf, (size_t)n, &m, NULL))
		return 13;
	if (m.f[2] != ST_EAUTH)
		return 14;
	close(fd);
	/* and through the library, several times: the server refuses at
	 * once, so the client's Hello may meet a socket already closed by
	 * the server; the answer must be OM_EAUTH every time regardless */
	for (int i = 0; i < 1000; i++) {
		om_client *c = NULL;
		int rc = om_connect(srv2.path, &c);
		if (c)
			om_disconnect(c);
		if (rc != OM_EAUTH) {
			fprintf(stderr, "om_connect #%d = %s, expected "
			        "OM_EAUTH\n", i, om_strerror(rc));
			return 20 + (-rc);
		}
	}
	return 0;
}

static void test_eauth(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	server_start(&srv2, NULL); /* default: only the server's uid */
	assert_int_equal(chmod(srv2.path, 0777), 0);
	assert_int_equal(chmod(srv2.dir, 0711), 0);
	pid_t pid = spawn_child(child_other_uid, NULL);
	int st = reap(pid, 60);
	if (st != 0)
		print_error("child exited %d\n", st);
	/* the server refused the peer and kept running */
	om_client *c = client(&srv2);
	expect_ok(c, om_ping(c));
	om_disconnect(c);
	server_stop(&srv2);
	if (st == 77)
		skip(); /* other users cannot reach any socket here */
	assert_int_equal(st, 0);
	expect_server_ok();
}

/* --------------------------------------------- through the library */

static void test_library_too_big(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	static char big[5000];
	memset(big, 'x', sizeof big);
	/* the request frame is over the server's 4096: ETOOBIG, and the
	 * server closes the connection (objmgr.proto, DESIGN.md) */
	expect_rc(c, om_dict_set(d, om_str("k"), om_strn(big, sizeof big)),
	          OM_ETOOBIG);
	expect_rc(c, om_ping(c), OM_ECONN);
	size_t n;
	expect_rc(c, om_dict_len(d, &n), OM_ECONN);
	om_release(d);
	om_disconnect(c);
	expect_server_ok();

	/* a request far larger than the socket buffers: the server refuses
	 * it while the client is still writing; the caller is still told
	 * why (ETOOBIG), not just that the connection went */
	c = client(&srv);
	expect_ok(c, om_dict_open(c, NULL, 0, &d));
	size_t huge_len = 4 << 20;
	char *huge = malloc(huge_len);
	assert_non_null(huge);
	memset(huge, 'y', huge_len);
	int rc = om_dict_set(d, om_str("k"), om_strn(huge, huge_len));
	free(huge);
	if (rc != OM_ETOOBIG)
		print_error("om_dict_set of %zu bytes = %s (%s)\n", huge_len,
		            om_strerror(rc), om_errmsg(c));
	assert_int_equal(rc, OM_ETOOBIG);
	expect_rc(c, om_ping(c), OM_ECONN);
	om_release(d);
	om_disconnect(c);
	expect_server_ok();
}

#define T(fn) cmocka_unit_test_teardown(fn, close_raw)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_frame_over_limit),
		T(test_frame_at_limit),
		T(test_request_does_not_decode),
		T(test_bad_hello),
		T(test_truncated_frame),
		T(test_unknown_op),
		T(test_unknown_object),
		T(test_wrong_type),
		T(test_bad_arguments),
		T(test_request_id_zero),
		T(test_inflight_limit),
		T(test_connection_churn),
		T(test_pipelined_pings),
		T(test_eauth),
		T(test_library_too_big),
	};
	return RUN(tests, 150, setup, srv_teardown);
}
