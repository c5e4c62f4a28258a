/*
 * test_remote.c — remote managers: objmgrd --listen tcp:..., the shared
 * key, mutual authentication, and full sessions over TCP.
 *
 * One server listens on its Unix socket and on TCP (127.0.0.1 and ::1 if
 * the machine has an IPv6 loopback, ports the kernel picks, read from its
 * log), with --keepalive 1 (so every test also shows that live peers are
 * never dropped) and --handshake-timeout 2. Fake servers and raw peers
 * play the side that misbehaves.
 */
#include "harness.h"
#include "raw.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The key file holds KEY and a newline, which is not part of the key. */
#define KEY "s3cret key"

static struct server rs;
static bool have_v6;
static char addr4[64], addr6[64];

/* Whether ::1 can be bound here (some containers have no IPv6). */
static bool v6_loopback(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6,
	                          .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

static int setup(void **state)
{
	(void)state;
	unsetenv("OBJMGR_AUTHKEY_FILE");
	have_v6 = v6_loopback();
	const char *extra[] = {"--keepalive", "1", "--handshake-timeout", "2",
	                       NULL};
	server_start_tcp(&rs, KEY "\n", have_v6, extra);
	server_tcp_address(&rs, false, addr4, sizeof addr4);
	if (have_v6)
		server_tcp_address(&rs, true, addr6, sizeof addr6);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	raw_close_all();
	server_stop(&rs);
	return 0;
}

static om_client *remote(const char *addr)
{
	om_client *c = NULL;
	int rc = om_connect_key(addr, KEY, strlen(KEY), &c);
	if (rc)
		fail_msg("om_connect_key(%s) = %s: %s", addr, om_strerror(rc),
		         om_errmsg(NULL));
	return c;
}

/* A dict round trip and the server's statistics over c. */
static void round_trip(om_client *c)
{
	expect_ok(c, om_ping(c));
	om_dict *d = new_dict(c);
	expect_ok(c, om_dict_set(d, om_str("k"), om_int(42)));
	om_item it;
	expect_ok(c, om_dict_get(d, om_str("k"), &it));
	assert_int_item(&it, 42);
	om_release(d);
	om_server_stats st;
	expect_ok(c, om_stats(c, &st));
	assert_true(st.connections >= 1);
}

static void test_tcp_v4(void **state)
{
	(void)state;
	assert_int_equal(strncmp(addr4, "tcp:127.0.0.1:", 14), 0);
	om_client *c = remote(addr4);
	round_trip(c);
	om_disconnect(c);
}

static void test_tcp_v6(void **state)
{
	(void)state;
	if (!have_v6)
		skip(); /* no IPv6 loopback on this machine */
	assert_int_equal(strncmp(addr6, "tcp:[::1]:", 10), 0);
	om_client *c = remote(addr6);
	round_trip(c);
	om_disconnect(c);
}

/* A remote client (RPC) and a local one (mapped, unless OBJMGR_SHM=0) see
 * one state of a value, an array, a lock and a dict. */
static void test_same_state(void **state)
{
	(void)state;
	om_client *lc = client(&rs), *rc = remote(addr4);
	om_value *lv, *rv;
	om_array *la, *ra;
	om_lock *ll, *rl;
	om_dict *ld, *rd;
	expect_ok(lc, om_value_open(lc, "r.v", OM_CREATE, om_int(5), &lv));
	expect_ok(rc, om_value_open(rc, "r.v", 0, om_nil(), &rv));
	expect_ok(lc, om_array_open(lc, "r.a", OM_CREATE, OM_INT, 4, &la));
	expect_ok(rc, om_array_open(rc, "r.a", 0, OM_INT, 4, &ra));
	expect_ok(lc, om_lock_open(lc, "r.l", OM_CREATE, &ll));
	expect_ok(rc, om_lock_open(rc, "r.l", 0, &rl));
	expect_ok(lc, om_dict_open(lc, "r.d", OM_CREATE, &ld));
	expect_ok(rc, om_dict_open(rc, "r.d", 0, &rd));
	/* The remote client maps nothing; the local one maps unless told
	 * not to (tests/run --no-shm). */
	const char *shm = getenv("OBJMGR_SHM");
	bool maps = !shm || strcmp(shm, "0") != 0;
	assert_false(om_is_shared(rv));
	assert_false(om_is_shared(ra));
	assert_false(om_is_shared(rl));
	assert_int_equal(om_is_shared(la), maps);
	assert_int_equal(om_is_shared(ll), maps);

	om_item it;
	expect_ok(rc, om_value_add(rv, om_int(3), &it));
	assert_int_item(&it, 8);
	expect_ok(lc, om_value_get(lv, &it));
	assert_int_item(&it, 8);
	expect_ok(lc, om_value_set(lv, om_int(-1)));
	expect_ok(rc, om_value_get(rv, &it));
	assert_int_item(&it, -1);

	expect_ok(lc, om_array_set(la, 2, om_int(7)));
	expect_ok(rc, om_array_get(ra, 2, &it));
	assert_int_item(&it, 7);
	expect_ok(rc, om_array_set(ra, 1, om_int(9)));
	expect_ok(lc, om_array_get(la, 1, &it));
	assert_int_item(&it, 9);

	expect_ok(rc, om_lock_acquire(rl, 0));
	expect_rc(lc, om_lock_acquire(ll, 0), OM_ETIMEOUT);
	expect_ok(rc, om_lock_release(rl));
	expect_ok(lc, om_lock_acquire(ll, 0));
	expect_rc(rc, om_lock_acquire(rl, 0), OM_ETIMEOUT);
	expect_ok(lc, om_lock_release(ll));

	expect_ok(rc, om_dict_set(rd, om_str("from"), om_str("remote")));
	expect_ok(lc, om_dict_get(ld, om_str("from"), &it));
	assert_str_item(&it, "remote");
	om_item_free(&it);

	expect_ok(lc, om_unlink(lc, "r.v"));
	expect_ok(lc, om_unlink(lc, "r.a"));
	expect_ok(lc, om_unlink(lc, "r.l"));
	expect_ok(lc, om_unlink(lc, "r.d"));
	om_disconnect(rc);
	om_disconnect(lc);
}

static void test_wrong_key(void **state)
{
	(void)state;
	om_client *good = remote(addr4), *c = NULL;
	expect_rc(NULL, om_connect_key(addr4, "wrong", 5, &c), OM_EAUTH);
	assert_null(c);
	assert_non_null(strstr(om_errmsg(NULL), "authentication failed"));
	/* A key that is the right one plus its newline is another key. */
	expect_rc(NULL, om_connect_key(addr4, KEY "\n", strlen(KEY) + 1, &c),
	          OM_EAUTH);
	/* The refusal is logged with the peer's address; others are served. */
	char log[1 << 16];
	server_log(&rs, log, sizeof log);
	assert_non_null(strstr(log, "refused tcp:127.0.0.1:"));
	round_trip(good);
	om_disconnect(good);
}

static void test_no_key(void **state)
{
	(void)state;
	om_client *c = NULL;
	unsetenv("OBJMGR_AUTHKEY_FILE");
	expect_rc(NULL, om_connect(addr4, &c), OM_EAUTH);
	assert_non_null(strstr(om_errmsg(NULL), "needs a key"));
	expect_rc(NULL, om_connect_key(addr4, NULL, 0, &c), OM_EAUTH);
	expect_rc(NULL, om_connect_key(addr4, "x", 0, &c), OM_EINVAL);
	assert_null(c);
	/* A Unix socket needs none, and ignores one. */
	expect_ok(NULL, om_connect_key(rs.path, "anything", 8, &c));
	expect_ok(c, om_ping(c));
	om_disconnect(c);
	c = NULL;
	/* om_spawn serves a Unix socket only. */
	expect_rc(NULL, om_spawn(addr4, &c), OM_EINVAL);
	assert_null(c);
}

static void test_env_key_file(void **state)
{
	(void)state;
	om_client *c = NULL;
	setenv("OBJMGR_AUTHKEY_FILE", rs.key_file, 1);
	expect_ok(NULL, om_connect(addr4, &c));
	round_trip(c);
	om_disconnect(c);
	c = NULL;

	char dir[256], f[300];
	snprintf(dir, sizeof dir, "%s/objmgr-key-XXXXXX",
	         getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR")
	                                               : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(f, sizeof f, "%s/k", dir);
	setenv("OBJMGR_AUTHKEY_FILE", f, 1);
	/* Readable by others: refused before anything is sent. */
	write_key_file(f, KEY "\n", 0644);
	expect_rc(NULL, om_connect(addr4, &c), OM_EAUTH);
	assert_non_null(strstr(om_errmsg(NULL), "mode 0644"));
	write_key_file(f, KEY "\n", 0640);
	expect_rc(NULL, om_connect(addr4, &c), OM_EAUTH);
	/* 0400 is stricter than 0600: fine. */
	write_key_file(f, KEY "\n", 0400);
	expect_ok(NULL, om_connect(addr4, &c));
	om_disconnect(c);
	c = NULL;
	chmod(f, 0600);
	write_key_file(f, "another key", 0600);
	expect_rc(NULL, om_connect(addr4, &c), OM_EAUTH);
	write_key_file(f, "", 0600);
	expect_rc(NULL, om_connect(addr4, &c), OM_EAUTH);
	assert_non_null(strstr(om_errmsg(NULL), "empty"));
	unlink(f);
	expect_rc(NULL, om_connect(addr4, &c), OM_EAUTH);
	assert_null(c);
	rmdir(dir);
	unsetenv("OBJMGR_AUTHKEY_FILE");
}

static void test_start_refused(void **state)
{
	(void)state;
	char dir[256], sock[300], key[300];
	snprintf(dir, sizeof dir, "%s/objmgr-refuse-XXXXXX",
	         getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR")
	                                               : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof sock, "%s/s.sock", dir);
	snprintf(key, sizeof key, "%s/key", dir);
	const char *tcp_nokey[] = {"--socket", sock, "--listen",
	                           "tcp:127.0.0.1:0", NULL};
	assert_int_not_equal(server_run(tcp_nokey), 0);
	const char *with_key[] = {
	        "--listen", "tcp:127.0.0.1:0", "--authkey-file",
	        key,        "--socket",        sock,
	        NULL};
	write_key_file(key, KEY "\n", 0644);
	assert_int_not_equal(server_run(with_key), 0);
	write_key_file(key, "\n", 0600); /* empty once the newline goes */
	assert_int_not_equal(server_run(with_key), 0);
	unlink(key);
	assert_int_not_equal(server_run(with_key), 0); /* no such file */
	const char *bad_port[] = {"--listen", "tcp:127.0.0.1:65536", NULL};
	assert_int_not_equal(server_run(bad_port), 0);
	const char *no_port[] = {"--listen", "tcp:127.0.0.1", NULL};
	assert_int_not_equal(server_run(no_port), 0);
	struct stat st;
	assert_int_not_equal(stat(sock, &st), 0); /* it never listened */
	rmdir(dir);
}

/* ------------------------------------------------------------ raw peers */

/* A TCP connection to port `port` of 127.0.0.1, reads bounded by 10 s. */
static int tcp_connect(const char *addr)
{
	int port = atoi(strrchr(addr, ':') + 1);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

/* on_bytes for a Hello: the length of each bytes field in m->f[field]. */
static void on_hello(struct msg *m, unsigned field, const uint8_t *p, size_t n)
{
	(void)p;
	if (field < 16)
		m->f[field] = n;
}

static bool read_hello(int fd, struct msg *m)
{
	static uint8_t buf[4096];
	ssize_t n = raw_read_frame(fd, buf, sizeof buf);
	memset(m, 0, sizeof *m);
	return n >= 0 && decode(buf, (size_t)n, m, on_hello);
}

/* The server's first words on TCP: a Hello OK with a 32-byte challenge. */
static void expect_challenge(int fd)
{
	struct msg m;
	assert_true(read_hello(fd, &m));
	assert_int_equal(m.f[2], ST_OK);
	assert_int_equal(m.f[1], 1);
	assert_int_equal(m.f[7], 32);
	assert_int_equal(m.f[5], 0); /* no session yet */
}

/* The server closed: end-of-file with nothing before it, or a reset (a
 * close with our bytes still unread in its socket makes the kernel send
 * RST rather than FIN). Not a timeout: reads give up after 10 s. */
static void expect_eof(int fd)
{
	char b;
	ssize_t n;
	while ((n = recv(fd, &b, 1, 0)) < 0 && errno == EINTR)
		;
	if (n != 0 && !(n < 0 && errno == ECONNRESET))
		fail_msg("expected end-of-file, got %zd (%s)", n,
		         n < 0 ? strerror(errno) : "a byte");
}

static void test_silent_peer(void **state)
{
	(void)state;
	int fd = tcp_connect(addr4);
	expect_challenge(fd);
	/* While it says nothing, others are served... */
	om_client *c = remote(addr4);
	round_trip(c);
	/* ...and after --handshake-timeout (2 s) it is closed. */
	expect_eof(fd);
	close(fd);
	round_trip(c);
	om_disconnect(c);
}

static void test_garbage_peer(void **state)
{
	(void)state;
	om_client *c = remote(addr4);
	/* HTTP: "GET " is a length over the limit of a stranger's frame. */
	int fd = tcp_connect(addr4);
	expect_challenge(fd);
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	raw_write(fd, http, sizeof http - 1);
	struct msg m;
	assert_true(read_hello(fd, &m));
	assert_int_equal(m.f[2], ST_ETOOBIG);
	expect_eof(fd);
	close(fd);
	round_trip(c);

	/* A small frame that is not a Hello. */
	fd = tcp_connect(addr4);
	expect_challenge(fd);
	static const uint8_t junk[] = {0xff, 0xff, 0xff};
	raw_frame(fd, junk, sizeof junk);
	assert_true(read_hello(fd, &m));
	assert_int_equal(m.f[2], ST_EPROTO);
	expect_eof(fd);
	close(fd);

	/* A Hello with a made-up proof, a request right behind it: EAUTH,
	 * and the request is not served (no object data), then the end. */
	fd = tcp_connect(addr4);
	expect_challenge(fd);
	struct enc e = {0};
	uint8_t fake[32];
	memset(fake, 'x', sizeof fake);
	put_uint(&e, 1, 1);
	put_bytes(&e, 7, fake, sizeof fake);
	put_bytes(&e, 8, fake, sizeof fake);
	raw_frame(fd, e.b, e.n);
	e.n = 0;
	req(&e, 1, 0, OP_PING);
	raw_frame(fd, e.b, e.n);
	assert_true(read_hello(fd, &m));
	assert_int_equal(m.f[2], ST_EAUTH);
	assert_int_equal(m.f[5], 0);
	assert_int_equal(m.f[8], 0); /* no proof of ours for a stranger */
	expect_eof(fd);
	close(fd);

	/* A Hello with no proof at all. */
	fd = tcp_connect(addr4);
	expect_challenge(fd);
	e.n = 0;
	put_uint(&e, 1, 1);
	raw_frame(fd, e.b, e.n);
	assert_true(read_hello(fd, &m));
	assert_int_equal(m.f[2], ST_EAUTH);
	expect_eof(fd);
	close(fd);

	round_trip(c);
	om_disconnect(c);
}

/* The server's challenge (field 7 of its first Hello) and its proof
 * (field 8 of the second), kept by on_auth. */
static uint8_t got_challenge[32], got_proof[32];
static void on_auth(struct msg *m, unsigned field, const uint8_t *p, size_t n)
{
	on_hello(m, field, p, n);
	if (field == 7 && n == 32)
		memcpy(got_challenge, p, n);
	if (field == 8 && n == 32)
		memcpy(got_proof, p, n);
}

/* HMAC-SHA256(KEY, label || a || b): the proofs, made here independently
 * of proto/auth.c. */
static void proof_of(const char *label, const uint8_t *a, const uint8_t *b,
                     uint8_t *out)
{
	uint8_t msg[16 + 64];
	assert_int_equal(strlen(label), 16);
	memcpy(msg, label, 16);
	memcpy(msg + 16, a, 32);
	memcpy(msg + 48, b, 32);
	unsigned n = 0;
	assert_non_null(HMAC(EVP_sha256(), KEY, (int)strlen(KEY), msg,
	                     sizeof msg, out, &n));
	assert_int_equal(n, 32);
}

/* A raw TCP session that authenticates by the .proto alone. */
static int raw_tcp_session(void)
{
	static uint8_t buf[4096];
	int fd = tcp_connect(addr4);
	struct msg m = {0};
	ssize_t n = raw_read_frame(fd, buf, sizeof buf);
	assert_true(n >= 0 && decode(buf, (size_t)n, &m, on_auth));
	assert_int_equal(m.f[7], 32);
	uint8_t sch[32], cch[32], proof[32], want[32];
	memcpy(sch, got_challenge, 32);
	memset(cch, 0x5a, sizeof cch);
	proof_of("objmgr-v1 client", sch, cch, proof);
	struct enc e = {0};
	put_uint(&e, 1, 1);
	put_uint(&e, 6, 4242);
	put_bytes(&e, 7, cch, sizeof cch);
	put_bytes(&e, 8, proof, sizeof proof);
	raw_frame(fd, e.b, e.n);
	memset(&m, 0, sizeof m);
	memset(got_proof, 0, sizeof got_proof);
	n = raw_read_frame(fd, buf, sizeof buf);
	assert_true(n >= 0 && decode(buf, (size_t)n, &m, on_auth));
	assert_int_equal(m.f[2], ST_OK);
	assert_true(m.f[5] != 0); /* a session */
	assert_int_equal(m.f[8], 32);
	proof_of("objmgr-v1 server", cch, sch, want);
	assert_memory_equal(got_proof, want, 32);
	return fd;
}

/* What a TCP peer cannot do: MAP (no descriptor passes); FORK takes no
 * descriptor, and its hold ends at the first ADOPT. */
static void test_tcp_peer_limits(void **state)
{
	(void)state;
	enum { OP_FORK = 8, OP_ADOPT = 9, OP_MAP = 10 };
	int fd = raw_tcp_session();
	struct enc e;
	struct msg m;
	uint64_t v = raw_open(fd, 1, OM_TYPE_LOCK);
	req(&e, 2, v, OP_MAP);
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	raw_expect_ping(fd, 3);
	req(&e, 4, 0, OP_FORK);
	put_uint(&e, 5, zigzag(0x7e57));
	assert_int_equal(raw_call(fd, &e, &m), ST_OK);
	/* The "child": a session of its own adopts the hold, once. */
	int child = raw_tcp_session();
	req(&e, 1, 0, OP_ADOPT);
	put_uint(&e, 5, zigzag(0x7e57));
	assert_int_equal(raw_call(child, &e, &m), ST_OK);
	req(&e, 2, 0, OP_ADOPT);
	put_uint(&e, 5, zigzag(0x7e57));
	assert_int_equal(raw_call(child, &e, &m), ST_ENOENT);
	close(child);
	close(fd);
}

/* ---------------------------------------------------------- fake server */

/* What the fake server does once it has read the client's Hello. */
enum fake_mode { FAKE_NO_PROOF, FAKE_BAD_PROOF, FAKE_NO_CHALLENGE, FAKES };

struct fake {
	int lfd;
	pid_t client_pid;
};

static bool write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

static bool send_frame(int fd, const struct enc *e)
{
	uint8_t h[4];
	put_hdr(h, (uint32_t)e->n);
	return write_all(fd, h, 4) && write_all(fd, e->b, e->n);
}

/* In a child (no cmocka): play a server that does not hold the key, one
 * connection per mode. 0 if the client behaved: its Hello carried its pid,
 * a 32-byte challenge and a 32-byte proof. */
static int fake_server(void *arg)
{
	const struct fake *f = arg;
	for (int mode = 0; mode < FAKES; mode++) {
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			return 10 + mode;
		struct timeval tv = {.tv_sec = 10};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		uint8_t ch[32];
		memset(ch, mode + 1, sizeof ch);
		struct enc e = {0};
		put_uint(&e, 1, 1);
		if (mode != FAKE_NO_CHALLENGE)
			put_bytes(&e, 7, ch, sizeof ch);
		if (!send_frame(fd, &e))
			return 20 + mode;
		if (mode == FAKE_NO_CHALLENGE) {
			/* The client must not go on: it closes. */
			char b;
			int r = (int)recv(fd, &b, 1, 0) == 0 ? 0 : 30;
			close(fd);
			if (r)
				return r;
			continue;
		}
		struct msg m;
		if (!read_hello(fd, &m))
			return 40 + mode;
		if (m.f[6] != (uint64_t)f->client_pid || m.f[7] != 32 ||
		    m.f[8] != 32)
			return 50 + mode;
		e.n = 0;
		put_uint(&e, 1, 1);
		put_uint(&e, 5, 1); /* a session: the Hello looks accepted */
		if (mode == FAKE_BAD_PROOF)
			put_bytes(&e, 8, ch, sizeof ch);
		if (!send_frame(fd, &e))
			return 60 + mode;
		/* The client must close without sending a request. */
		char b;
		ssize_t r = recv(fd, &b, 1, 0);
		close(fd);
		if (r != 0)
			return 70 + mode;
	}
	return 0;
}

/* A listening socket on a free loopback port, and its address in addr. */
static int listen_any(char *addr, size_t cap)
{
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sa;
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	snprintf(addr, cap, "tcp:127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	return lfd;
}

static void test_fake_server(void **state)
{
	(void)state;
	char addr[64];
	int lfd = listen_any(addr, sizeof addr);
	struct fake f = {lfd, getpid()};
	pid_t pid = spawn_child(fake_server, &f);
	close(lfd);
	static const char *const why[FAKES] = {"did not prove", "did not prove",
	                                       "no challenge"};
	for (int mode = 0; mode < FAKES; mode++) {
		om_client *c = NULL;
		expect_rc(NULL, om_connect_key(addr, KEY, strlen(KEY), &c),
		          OM_EAUTH);
		assert_null(c);
		assert_non_null(strstr(om_errmsg(NULL), why[mode]));
	}
	assert_int_equal(reap(pid, 20), 0);
}

/* -------------------------------------------------------------- sessions */

struct holder {
	int ready; /* write end: a byte once the lock is held */
};

static int hold_lock(void *arg)
{
	const struct holder *h = arg;
	om_client *c = NULL;
	om_lock *l;
	if (om_connect_key(addr4, KEY, strlen(KEY), &c) ||
	    om_lock_open(c, "r.kill", 0, &l) || om_lock_acquire(l, 10))
		return 1;
	send_byte(h->ready);
	pause(); /* until SIGKILL */
	return 2;
}

static void test_kill_remote_holder(void **state)
{
	(void)state;
	om_client *c = remote(addr4);
	om_lock *l;
	expect_ok(c, om_lock_open(c, "r.kill", OM_CREATE, &l));
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct holder h = {p[1]};
	pid_t pid = spawn_child(hold_lock, &h);
	assert_int_equal(wait_byte(p[0], 20), 0);
	expect_rc(c, om_lock_acquire(l, 0), OM_ETIMEOUT);
	kill(pid, SIGKILL);
	assert_int_equal(reap(pid, 20), -1);
	expect_rc(c, om_lock_acquire(l, 10), OM_OWNER_DIED);
	expect_ok(c, om_lock_release(l));
	expect_ok(c, om_unlink(c, "r.kill"));
	om_release(l);
	close(p[0]);
	close(p[1]);
	om_disconnect(c);
}

struct inherited {
	om_dict *d;
	om_lock *l;
	int go; /* read end: the parent has released */
};

/* A forked child of a TCP client: its inherited handles work (its own
 * session over TCP, with the parent's key, ADOPTing the fork hold). */
static int use_inherited(void *arg)
{
	const struct inherited *in = arg;
	if (wait_byte(in->go, 20))
		return 1;
	om_item it;
	if (om_dict_get(in->d, om_str("k"), &it) || it.kind != OM_INT ||
	    it.i != 41)
		return 2;
	if (om_dict_set(in->d, om_str("child"), om_int(getpid())))
		return 3;
	if (om_lock_acquire(in->l, 0) || om_lock_release(in->l))
		return 4;
	return 0;
}

static void test_fork_child(void **state)
{
	(void)state;
	om_client *c = remote(addr4);
	om_dict *d = new_dict(c); /* anonymous: only handles keep it */
	om_lock *l;
	expect_ok(c, om_lock_open(c, NULL, 0, &l));
	expect_ok(c, om_dict_set(d, om_str("k"), om_int(41)));
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct inherited in = {d, l, p[0]};
	/* Kept by the parent, to look at what the child did. */
	om_dict *keep = share(c, d, c);
	pid_t pid = spawn_child(use_inherited, &in);
	/* Released right after fork(), before the child connects: the fork
	 * hold keeps the lock alive for it (the dict has `keep` too). */
	om_release(l);
	send_byte(p[1]);
	assert_int_equal(reap(pid, 30), 0);
	om_item it;
	expect_ok(c, om_dict_get(keep, om_str("child"), &it));
	assert_int_item(&it, pid);
	om_release(d);
	om_release(keep);

	/* Nothing kept at all: an anonymous dict released at once. */
	d = new_dict(c);
	expect_ok(c, om_dict_set(d, om_str("k"), om_int(41)));
	expect_ok(c, om_lock_open(c, NULL, 0, &l));
	in = (struct inherited){d, l, p[0]};
	pid = spawn_child(use_inherited, &in);
	om_release(d);
	om_release(l);
	send_byte(p[1]);
	assert_int_equal(reap(pid, 30), 0);
	close(p[0]);
	close(p[1]);
	om_disconnect(c);
}

static int square(om_task *t, const om_item *args, size_t nargs)
{
	if (nargs != 1 || args[0].kind != OM_INT)
		return om_task_fail(t, "square() takes one int");
	return om_task_return(t, om_int(args[0].i * args[0].i));
}

/* A pool made over TCP: its supervisor and workers are forked children of
 * a TCP client, and reconnect over TCP with its key. */
static void test_pool_over_tcp(void **state)
{
	(void)state;
	static const om_task_def tasks[] = {{"square", square}};
	static const om_pool_config cfg = {.tasks = tasks, .ntasks = 1};
	om_client *c = remote(addr4);
	om_pool *pool;
	expect_ok(c, om_pool_open(c, NULL, 0, 2, &cfg, &pool));
	enum { N = 40 };
	om_item in[N];
	for (int i = 0; i < N; i++)
		in[i] = om_int(i);
	om_items out = {0};
	expect_ok(c, om_pool_map(pool, "square", in, N, 3, &out));
	assert_int_equal(out.n, N);
	for (size_t i = 0; i < out.n; i++)
		assert_int_item(&out.v[i], (int64_t)(i * i));
	om_items_free(&out);
	expect_ok(c, om_pool_close(pool));
	expect_ok(c, om_pool_join(pool, 30));
	om_release(pool);
	om_disconnect(c);
}

/* --keepalive 1: an idle but live peer answers the probes and is never
 * dropped (the server probes it after each second of silence). */
static void test_idle_keepalive(void **state)
{
	(void)state;
	om_client *c = remote(addr4);
	expect_ok(c, om_ping(c));
	om_server_stats before;
	expect_ok(c, om_stats(c, &before));
	sleep(4); /* several keepalive rounds */
	expect_ok(c, om_ping(c));
	om_server_stats after;
	expect_ok(c, om_stats(c, &after));
	assert_int_equal(after.connections, before.connections);
	om_disconnect(c);
}

/* Strangers (TCP peers that have not proved the key) are not counted in
 * --max-connections: however many sit silent, local clients still get in,
 * and so does an authenticated remote one. */
static void test_strangers_not_counted(void **state)
{
	(void)state;
	struct server s = {0};
	const char *extra[] = {"--max-connections", "2", NULL};
	server_start_tcp(&s, KEY "\n", false, extra);
	char a[64];
	server_tcp_address(&s, false, a, sizeof a);
	int fds[4];
	for (int i = 0; i < 4; i++) {
		fds[i] = tcp_connect(a);
		expect_challenge(fds[i]);
	}
	om_client *local = client(&s);
	round_trip(local);
	om_client *c = remote(a);
	round_trip(c);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	om_disconnect(c);
	om_disconnect(local);
	server_stop(&s);
}

/* A listener that accepts (the kernel's backlog does) and never speaks:
 * om_connect_key gives up (OM_ECONN) instead of waiting forever. */
static void test_dial_timeout(void **state)
{
	(void)state;
	char a[64];
	int lfd = listen_any(a, sizeof a);
	om_client *c = NULL;
	assert_int_equal(om_connect_key(a, KEY, strlen(KEY), &c), OM_ECONN);
	assert_non_null(strstr(om_errmsg(NULL), "in time"));
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_tcp_v4),
	        cmocka_unit_test(test_tcp_v6),
	        cmocka_unit_test(test_same_state),
	        cmocka_unit_test(test_wrong_key),
	        cmocka_unit_test(test_no_key),
	        cmocka_unit_test(test_env_key_file),
	        cmocka_unit_test(test_start_refused),
	        cmocka_unit_test(test_silent_peer),
	        cmocka_unit_test(test_garbage_peer),
	        cmocka_unit_test(test_tcp_peer_limits),
	        cmocka_unit_test(test_fake_server),
	        cmocka_unit_test(test_kill_remote_holder),
	        cmocka_unit_test(test_fork_child),
	        cmocka_unit_test(test_pool_over_tcp),
	        cmocka_unit_test(test_idle_keepalive),
	        cmocka_unit_test(test_strangers_not_counted),
	        cmocka_unit_test(test_dial_timeout),
	};
	return RUN(tests, 120, setup, teardown);
}
