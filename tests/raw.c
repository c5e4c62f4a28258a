/*
 * raw.c — the objmgr protocol by hand (raw.h).
 */
#include "raw.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* ------------------------------------------------ protobuf, by hand */

void put_varint(struct enc *e, uint64_t v)
{
	do {
		uint8_t byte = v & 0x7f;
		v >>= 7;
		e->b[e->n++] = byte | (v ? 0x80 : 0);
	} while (v);
}

uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* field of wire type 0 (varint) */
void put_uint(struct enc *e, unsigned field, uint64_t v)
{
	put_varint(e, (uint64_t)field << 3);
	put_varint(e, v);
}

/* field of wire type 2 (length-delimited) */
void put_bytes(struct enc *e, unsigned field, const void *p, size_t n)
{
	put_varint(e, (uint64_t)field << 3 | 2);
	put_varint(e, n);
	memcpy(e->b + e->n, p, n);
	e->n += n;
}

/* Request header fields: id (1), target (2), op (3). */
void req(struct enc *e, uint64_t id, uint64_t target, uint64_t op)
{
	e->n = 0;
	if (id)
		put_uint(e, 1, id);
	if (target)
		put_uint(e, 2, target);
	put_uint(e, 3, op);
}

/* field of wire type 1 (64-bit): a double, little-endian */
void put_double(struct enc *e, unsigned field, double v)
{
	put_varint(e, (uint64_t)field << 3 | 1);
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	for (int i = 0; i < 8; i++)
		e->b[e->n++] = (uint8_t)(bits >> (8 * i));
}

/* Request.args (4): an Item holding str s (Item field 5). */
void arg_str(struct enc *e, const char *s)
{
	struct enc it = {.n = 0};
	put_bytes(&it, 5, s, strlen(s));
	put_bytes(e, 4, it.b, it.n);
}

/* Request.args (4): an Item holding int v (Item field 3, sint64). */
void arg_int(struct enc *e, int64_t v)
{
	struct enc it = {.n = 0};
	put_uint(&it, 3, zigzag(v));
	put_bytes(e, 4, it.b, it.n);
}

/* A decoded Response or Hello: the varint fields by number, the count of
 * field 4 (Response.results) and the id in the first result's Ref. */

bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
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
bool decode(const uint8_t *p, size_t n, struct msg *m,
            void (*on_bytes)(struct msg *, unsigned, const uint8_t *, size_t))
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

void on_item(struct msg *m, unsigned field, const uint8_t *p, size_t n)
{
	if (field != 7) /* Item.ref */
		return;
	struct msg r = {0};
	if (decode(p, n, &r, NULL))
		m->ref_id = r.f[1];
}

void on_response(struct msg *m, unsigned field, const uint8_t *p, size_t n)
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

void raw_close(int fd)
{
	for (size_t i = 0; i < nopen; i++) {
		if (open_fds[i] == fd) {
			open_fds[i] = open_fds[--nopen];
			break;
		}
	}
	close(fd);
}

/* A connected raw socket; reads give up after 10 seconds (a bound, so a
 * server that never answers fails the test instead of hanging it). */
int raw_connect(const char *path)
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

void raw_write(int fd, const void *p, size_t n)
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

void put_hdr(uint8_t *h, uint32_t n)
{
	h[0] = n & 0xff;
	h[1] = n >> 8 & 0xff;
	h[2] = n >> 16 & 0xff;
	h[3] = n >> 24 & 0xff;
}

/* One frame, header and body in one write. */
void raw_frame(int fd, const void *body, size_t n)
{
	static uint8_t buf[4 + sizeof(struct enc)];
	assert_true(n <= sizeof buf - 4);
	put_hdr(buf, (uint32_t)n);
	memcpy(buf + 4, body, n);
	raw_write(fd, buf, 4 + n);
}

bool read_all(int fd, void *p, size_t n)
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
ssize_t raw_read_frame(int fd, uint8_t *buf, size_t cap)
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
void raw_read_msg(int fd, struct msg *m)
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
void expect_closed(int fd)
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
void raw_hello_v(int fd, uint32_t version, struct msg *m)
{
	struct enc e = {.n = 0};
	put_uint(&e, 1, version);
	raw_frame(fd, e.b, e.n);
	raw_read_msg(fd, m);
}

/* A raw connection past a good Hello. */
int raw_session(void)
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
uint64_t raw_call(int fd, const struct enc *e, struct msg *m)
{
	raw_frame(fd, e->b, e->n);
	raw_read_msg(fd, m);
	return m->f[2];
}

/* OPEN an anonymous object of `type` over the raw socket: its id. */
uint64_t raw_open(int fd, uint64_t id, int type)
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
void raw_expect_ping(int fd, uint64_t id)
{
	struct enc e;
	struct msg m;
	req(&e, id, 0, OP_PING);
	assert_int_equal(raw_call(fd, &e, &m), ST_OK);
	assert_int_equal(m.f[1], id);
}

void raw_close_all(void)
{
	while (nopen)
		close(open_fds[--nopen]);
}
