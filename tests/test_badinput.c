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
#include "raw.h"

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

static int setup(void **state)
{
	(void)state;
	static const char *const extra[] = {"--max-frame", "4096",
	                                    "--max-inflight", "2", NULL};
	server_start(&srv, extra);
	return 0;
}


static struct server srv2; /* test_eauth's, with the default options */

static int close_raw(void **state)
{
	(void)state;
	raw_close_all();
	if (srv2.pid > 0) { /* test_eauth failed half-way */
		kill(srv2.pid, SIGTERM);
		reap(srv2.pid, 20);
		srv2.pid = 0;
	}
	return 0;
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

	/* over the limit as the first frame: the answer is a Hello (the
	 * frame the client waits for), version 1, with the status */
	fd = raw_connect(srv.path);
	raw_write(fd, h, 4);
	raw_read_msg(fd, &m);
	assert_int_equal(m.f[1], 1); /* Hello.version */
	assert_int_equal(m.f[2], ST_ETOOBIG);
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
	/* OPEN of an unknown type; of type 0 (any type) with no name:
	 * no object has that name */
	req(&e, 8, 0, OP_OPEN);
	put_uint(&e, 5, zigzag(77));
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	req(&e, 9, 0, OP_OPEN);
	assert_int_equal(raw_call(fd, &e, &m), ST_ENOENT);
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
