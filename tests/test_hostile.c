/*
 * test_hostile.c — a hostile, careless or unlucky peer cannot stall, spin
 * or blow up the server: past the descriptor limit, a client that never
 * reads its answers, silent and half-sent connections, a parked batch at
 * shutdown. Each case failed before its fix. Every server here is one of
 * the case's own, with the limits the case needs.
 */
#include "raw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { OP_QUEUE_PUT_MANY = 308 };

static int teardown(void **state)
{
	(void)state;
	raw_close_all();
	return 0;
}

/* The server's resident memory, in KiB (0 if unknown): for the figures the
 * bound tests print, not asserted (a test asserts the server's own count). */
static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long kib = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* Lines of the server's log that contain `what`. */
static int log_lines(const struct server *s, const char *what)
{
	static char buf[1 << 20];
	server_log(s, buf, sizeof buf);
	int n = 0;
	for (char *p = buf; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* 1. At the descriptor limit the server refuses the excess connection with
 * a clear answer — it neither spins on the listening socket nor leaves the
 * client waiting — logs the refusals at most once a second, and serves
 * again once descriptors are free. */
static void test_fd_limit(void **state)
{
	(void)state;
	struct server s;
	const char *args[] = {"--log-level", "warn", NULL};
	server_start_opts(&s, args, 32, true);
	om_client *c[40];
	int n = 0, rc = OM_OK;
	double t0 = now();
	while (n < 40 && (rc = om_connect(s.path, &c[n])) == OM_OK)
		n++;
	assert_true(n > 0 && n < 40);
	assert_int_equal(rc, OM_ELIMIT);
	assert_non_null(strstr(om_errmsg(NULL), "file descriptors"));
	/* More refusals: each is answered at once (om_connect returns). */
	om_client *x;
	for (int i = 0; i < 20; i++)
		assert_int_equal(om_connect(s.path, &x), OM_ELIMIT);
	/* The connections it kept still work. */
	expect_ok(c[0], om_ping(c[0]));
	/* 21 refusals: at most a line a second (plus the first), not 21 —
	 * and not the 100 MB a spinning accept loop wrote. */
	int lines = log_lines(&s, "out of file descriptors");
	assert_true(lines >= 1 && lines <= 2 + (int)(now() - t0));
	/* A descriptor comes free: the next client is served. */
	om_disconnect(c[--n]);
	wait_stat(c[0], connections, (uint64_t)n);
	expect_ok(NULL, om_connect(s.path, &x));
	expect_ok(x, om_ping(x));
	om_disconnect(x);
	while (n > 0)
		om_disconnect(c[--n]);
	server_stop(&s);
}

/* 2. A client that pipelines requests for large answers and never reads
 * them holds at most --max-output of answers: the server stops serving it
 * (its requests wait, unread) instead of queueing every answer, serves
 * others meanwhile, and serves the rest, in order, once it reads. */
static void test_unread_answers_bounded(void **state)
{
	(void)state;
	struct server s;
	const char *args[] = {"--max-output", "1M", NULL};
	server_start(&s, args);
	om_client *c = client(&s);
	om_dict *d;
	expect_ok(c, om_dict_open(c, "unread.d", OM_CREATE, &d));
	static char big[64 * 1024];
	memset(big, 'x', sizeof big);
	expect_ok(c, om_dict_set(d, om_str("k"), om_bytes(big, sizeof big)));
	/* 3000 DICT_GETs of the 64 KB value, in one burst, never read. */
	int fd = raw_connect(s.path);
	struct msg m;
	raw_hello_v(fd, 1, &m);
	assert_int_equal(m.f[2], ST_OK);
	struct enc o;
	req(&o, 9999, 0, OP_OPEN); /* the dict, by name: this session's */
	put_uint(&o, 5, zigzag(1));
	put_bytes(&o, 8, "unread.d", 8);
	assert_int_equal(raw_call(fd, &o, &m), ST_OK);
	om_item ref = {.kind = OM_REF, .ref = {m.ref_id, OM_TYPE_DICT}};
	om_server_stats st0;
	expect_ok(c, om_stats(c, &st0));
	enum { N = 3000 };
	static uint8_t burst[N * 64];
	size_t len = 0;
	for (uint64_t id = 1; id <= N; id++) {
		struct enc e;
		req(&e, id, ref.ref.id, OP_DICT_GET);
		arg_str(&e, "k");
		put_hdr(burst + len, (uint32_t)e.n);
		memcpy(burst + len + 4, e.b, e.n);
		len += 4 + e.n;
	}
	/* The server stops reading this connection, so the socket fills:
	 * write what it takes without blocking, and keep the rest. */
	size_t sent = 0;
	while (sent < len) {
		ssize_t w = send(fd, burst + sent, len - sent,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w <= 0)
			break;
		sent += (size_t)w;
	}
	/* Others are served meanwhile. */
	om_client *other = client(&s);
	expect_ok(other, om_ping(other));
	om_server_stats st;
	expect_ok(other, om_stats(other, &st));
	/* It paused: most of the burst is waiting, not answered... */
	assert_true(st.requests - st0.requests < N / 2);
	/* ...and what the server holds for it is about --max-output plus
	 * one answer and the waiting requests, not N answers (187 MB). */
	print_message("unread answers: %llu of %d requests served, %llu bytes "
	              "buffered, server RSS %ld KiB\n",
	              (unsigned long long)(st.requests - st0.requests), N,
	              (unsigned long long)st.buffered, rss_kib(s.pid));
	assert_true(st.buffered < (1u << 20) + 2 * sizeof big + len);

	/* Read everything: all N answers come, in order, each the value. */
	static uint8_t buf[sizeof big + 256];
	for (uint64_t id = 1; id <= N; id++) {
		if (sent < len) {
			ssize_t w = send(fd, burst + sent, len - sent,
			                 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0)
				sent += (size_t)w;
		}
		ssize_t n = raw_read_frame(fd, buf, sizeof buf);
		assert_true(n > (ssize_t)sizeof big);
		memset(&m, 0, sizeof m);
		assert_true(decode(buf, (size_t)n, &m, on_response));
		assert_int_equal(m.f[1], id);
		assert_int_equal(m.f[2], ST_OK);
		assert_int_equal(m.nresults, 1);
	}
	assert_int_equal(sent, len);
	raw_close(fd);
	wait_stat(other, connections, 2);
	expect_ok(other, om_stats(other, &st));
	assert_true(st.buffered < 4096);
	om_disconnect(other);
	om_release(d);
	expect_ok(c, om_unlink(c, "unread.d"));
	om_disconnect(c);
	server_stop(&s);
}

/* 3a. Connections that never send their Hello are closed after
 * --handshake-timeout, so a few of them cannot lock everyone out of
 * --max-connections. */
static void test_silent_connections(void **state)
{
	(void)state;
	struct server s;
	const char *args[] = {"--max-connections", "2", "--handshake-timeout",
	                      "0.5", NULL};
	server_start(&s, args);
	int a = raw_connect(s.path), b = raw_connect(s.path);
	/* Both slots are taken by silent peers... */
	om_client *c;
	assert_int_equal(om_connect(s.path, &c), OM_ELIMIT);
	/* ...until the server closes them (reads end: EOF, within 10 s). */
	expect_closed(a);
	expect_closed(b);
	raw_close(a);
	raw_close(b);
	c = NULL;
	for (int i = 0; i < 100 && om_connect(s.path, &c) != OM_OK; i++)
		usleep(10000); /* the server notices the closes on its own time
		                */
	assert_non_null(c);
	expect_ok(c, om_ping(c));
	/* A client that completes its Hello in time is not closed. */
	om_dict *d = new_dict(c);
	size_t n;
	expect_ok(c, om_dict_len(d, &n));
	om_release(d);
	om_disconnect(c);
	server_stop(&s);
}

/* 3b. A half-sent frame counts against --max-memory: a peer announcing a
 * large frame and sending part of it is refused (ENOMEM) and closed once
 * its partial input passes the budget; the server goes on. */
static void test_partial_frame_budget(void **state)
{
	(void)state;
	struct server s;
	const char *args[] = {"--max-memory", "1M", NULL};
	server_start(&s, args);
	int fd = raw_connect(s.path);
	struct msg m;
	raw_hello_v(fd, 1, &m);
	assert_int_equal(m.f[2], ST_OK);
	uint8_t hdr[4];
	put_hdr(hdr, 8u << 20); /* under --max-frame (64M), over the budget */
	raw_write(fd, hdr, sizeof hdr);
	static uint8_t chunk[64 * 1024];
	/* Send up to 4 MB of the body; the server refuses well before. */
	for (int i = 0; i < 64; i++) {
		if (send(fd, chunk, sizeof chunk, MSG_NOSIGNAL) <= 0)
			break;
	}
	raw_read_msg(fd, &m);
	assert_int_equal(m.f[1], 0); /* id 0: the connection's */
	assert_int_equal(m.f[2], ST_ENOMEM);
	print_message("partial frame: refused; server RSS %ld KiB\n",
	              rss_kib(s.pid));
	raw_close(fd);
	om_client *c = client(&s);
	expect_ok(c, om_ping(c));
	wait_stat(c, connections, 1);
	om_server_stats st;
	expect_ok(c, om_stats(c, &st));
	assert_true(st.buffered < 4096);
	om_disconnect(c);
	server_stop(&s);
}

/* 5. A QUEUE_PUT_MANY parked on a full queue when the server stops gives
 * its items back: the server's exit is clean (under ASan a leak makes it
 * fail, and server_stop checks the exit status). */
static int put_many_child(void *arg)
{
	om_queue *q = arg;
	om_item items[3] = {om_str("a long enough string to be allocated"),
	                    om_bytes("bytes", 5), om_int(3)};
	return om_queue_put_many(q, items, 3, OM_FOREVER) == OM_ESTOPPING ? 0
	                                                                  : 1;
}

static void test_parked_put_many_at_stop(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, NULL);
	om_client *c = client(&s);
	om_queue *q = new_queue(c, 3); /* 3 fit, but not with 1 already in */
	expect_ok(c, om_queue_put(q, om_str("in the way"), 0));
	pid_t child = spawn_child(put_many_child, q);
	wait_stat(c, parked, 1);
	expect_ok(c, om_shutdown(c));
	assert_int_equal(reap(child, 20), 0); /* answered ESTOPPING */
	om_disconnect(c);
	server_stop(&s); /* exit status 0: nothing leaked */
}

/* 6. Names are whole: one with a NUL or invalid UTF-8, or over
 * OM_NAME_MAX bytes, is OM_EINVAL, never cut short to another name. */
static void raw_open_named(int fd, uint64_t id, const void *name, size_t n,
                           struct msg *m)
{
	struct enc e;
	req(&e, id, 0, OP_OPEN);
	put_uint(&e, 5, zigzag(1)); /* num = DICT */
	put_uint(&e, 6, zigzag(OM_CREATE));
	put_bytes(&e, 8, name, n);
	raw_frame(fd, e.b, e.n);
	raw_read_msg(fd, m);
}

static void test_names_whole(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, NULL);
	om_client *c = client(&s);
	int fd = raw_connect(s.path);
	struct msg m;
	raw_hello_v(fd, 1, &m);
	raw_open_named(fd, 1, "a\0x", 3, &m);
	assert_int_equal(m.f[2], ST_EINVAL);
	raw_open_named(fd, 2, "a\0y", 3, &m);
	assert_int_equal(m.f[2], ST_EINVAL);
	raw_open_named(fd, 3, "\xff\xfe", 2, &m);
	assert_int_equal(m.f[2], ST_EINVAL);
	raw_open_named(fd, 4, "\xc0\xaf", 2, &m); /* an overlong '/' */
	assert_int_equal(m.f[2], ST_EINVAL);
	raw_open_named(fd, 5, "\xed\xa0\x80", 3, &m); /* a surrogate */
	assert_int_equal(m.f[2], ST_EINVAL);
	raw_open_named(fd, 6, "caf\xc3\xa9 \xf0\x9f\x90\x8d", 10, &m);
	assert_int_equal(m.f[2], ST_OK);
	/* Nothing was made under "a": the NUL names were not cut short. */
	om_dict *d;
	expect_rc(c, om_dict_open(c, "a", 0, &d), OM_ENOENT);
	expect_ok(c, om_dict_open(c, "caf\xc3\xa9 \xf0\x9f\x90\x8d", 0, &d));
	om_release(d);
	expect_rc(c, om_dict_open(c, "\xff", OM_CREATE, &d), OM_EINVAL);
	static char name[OM_NAME_MAX + 2];
	memset(name, 'n', OM_NAME_MAX + 1);
	expect_rc(c, om_dict_open(c, name, OM_CREATE, &d), OM_EINVAL);
	name[OM_NAME_MAX] = '\0';
	expect_ok(c, om_dict_open(c, name, OM_CREATE, &d));
	om_release(d);
	expect_ok(c, om_unlink(c, name));
	expect_rc(c, om_unlink(c, "\xff"), OM_EINVAL);
	raw_close(fd);
	om_disconnect(c);
	server_stop(&s);
}

/* 7. A request id is the connection's until it is answered: id 0, and an
 * id reused while a call with it is parked, are OM_EINVAL — and the parked
 * call is still answered once, with its id. */
static void test_request_ids(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, NULL);
	om_client *c = client(&s);
	expect_ok(c, om_queue_open(c, "ids.q", OM_CREATE, 0, &(om_queue *){0}));
	int fd = raw_connect(s.path);
	struct msg m;
	raw_hello_v(fd, 1, &m);
	struct enc e;
	req(&e, 1, 0, OP_OPEN);
	put_uint(&e, 5, zigzag(3)); /* QUEUE */
	put_bytes(&e, 8, "ids.q", 5);
	assert_int_equal(raw_call(fd, &e, &m), ST_OK);
	uint64_t q = m.ref_id;
	req(&e, 0, 0, OP_PING); /* id 0 */
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	req(&e, 7, q, OP_QUEUE_GET);
	put_double(&e, 7, -1); /* parks: the queue is empty */
	raw_frame(fd, e.b, e.n);
	wait_stat(c, parked, 1);
	req(&e, 7, 0, OP_PING); /* id 7 again, while parked */
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	assert_int_equal(m.f[1], 7);
	/* The parked get is answered, once. */
	om_queue *h;
	expect_ok(c, om_queue_open(c, "ids.q", 0, 0, &h));
	expect_ok(c, om_queue_put(h, om_int(42), 0));
	raw_read_msg(fd, &m);
	assert_int_equal(m.f[1], 7);
	assert_int_equal(m.f[2], ST_OK);
	assert_int_equal(m.nresults, 1);
	/* Answered, id 7 is free again; nothing else came with id 7. */
	req(&e, 7, 0, OP_PING);
	assert_int_equal(raw_call(fd, &e, &m), ST_OK);
	assert_int_equal(m.f[1], 7);
	raw_close(fd);
	om_release(h);
	expect_ok(c, om_unlink(c, "ids.q"));
	om_disconnect(c);
	server_stop(&s);
}

/* 8. Object ids are capabilities, not guesses: they are random, and a
 * session that did not open, inherit or get handed an object cannot reach
 * it by its id — calling it, ADDREF-ing it or storing a ref to it is
 * OM_ENOENT — until an answer hands it the ref. */
static void test_ids_are_capabilities(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, NULL);
	om_client *a = client(&s), *b = client(&s);
	om_dict *d1 = new_dict(a), *d2 = new_dict(a), *bd = new_dict(b);
	om_item r1 = om_ref(d1), r2 = om_ref(d2);
	/* Random: not 1, 2, 3..., and not next to each other. */
	assert_true(r1.ref.id > 1u << 20 || r2.ref.id > 1u << 20);
	assert_true(r2.ref.id != r1.ref.id + 1 && r1.ref.id != r2.ref.id + 1);
	/* b knows the id (passed out of band) but was not handed it. */
	void *h;
	expect_rc(b, om_open_ref(b, &r1, &h), OM_ENOENT);
	expect_rc(b, om_dict_set(bd, om_str("stolen"), r1), OM_ENOENT);
	int fd = raw_connect(s.path);
	struct msg m;
	raw_hello_v(fd, 1, &m);
	struct enc e;
	req(&e, 1, r1.ref.id, OP_DICT_LEN);
	assert_int_equal(raw_call(fd, &e, &m), ST_ENOENT);
	raw_close(fd);
	/* Handed to b in an answer (through a dict b may reach), it works. */
	om_dict *shared;
	expect_ok(a, om_dict_open(a, "caps.shared", OM_CREATE, &shared));
	expect_ok(a, om_dict_set(shared, om_str("d1"), r1));
	om_dict *bs;
	expect_ok(b, om_dict_open(b, "caps.shared", 0, &bs));
	om_item got;
	expect_ok(b, om_dict_get(bs, om_str("d1"), &got));
	expect_ok(b, om_open_ref(b, &got, &h));
	expect_ok(b, om_dict_set(h, om_str("k"), om_int(1)));
	expect_ok(b, om_dict_set(bd, om_str("now mine"), got));
	/* d2 was never handed to b. */
	expect_rc(b, om_open_ref(b, &r2, &h), OM_ENOENT);
	expect_ok(a, om_unlink(a, "caps.shared"));
	om_disconnect(b);
	om_disconnect(a);
	server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_teardown(test_fd_limit, teardown),
	        cmocka_unit_test_teardown(test_unread_answers_bounded,
	                                  teardown),
	        cmocka_unit_test_teardown(test_silent_connections, teardown),
	        cmocka_unit_test_teardown(test_partial_frame_budget, teardown),
	        cmocka_unit_test_teardown(test_parked_put_many_at_stop,
	                                  teardown),
	        cmocka_unit_test_teardown(test_names_whole, teardown),
	        cmocka_unit_test_teardown(test_request_ids, teardown),
	        cmocka_unit_test_teardown(test_ids_are_capabilities, teardown),
	};
	return RUN(tests, 120, NULL, NULL);
}
