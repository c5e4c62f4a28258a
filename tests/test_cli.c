/*
 * test_cli.c — objmgr, the command line, run as a program ($OBJMGR_CLI)
 * against a real server: every command, the exact human output where it
 * is stable, every --json output through `python3 -m json.tool`, exit
 * codes (1 for the server's errors, 2 for usage and for no server), JSON
 * and str arguments, bytes through base64, watch and monitor seeing
 * another process's doing, and shutdown.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long a command or a line may take: only a bound on a hang. */
#define BOUND 20

/* A running objmgr: its pid and the read ends of its stdout and stderr. */
struct proc {
	pid_t pid;
	int out, err;
	char buf[1 << 16]; /* stdout read but not yet taken as lines */
	size_t len;
};

/* Start objmgr with `args` (NULL-terminated), after "-a SOCKET" unless
 * `addr` is false. Its stdin is /dev/null. */
static void proc_start(struct proc *p, const struct server *s, bool addr,
                       const char *const *args)
{
	const char *bin = getenv("OBJMGR_CLI");
	assert_non_null(bin);
	int o[2], e[2];
	assert_int_equal(pipe2(o, O_CLOEXEC), 0);
	assert_int_equal(pipe2(e, O_CLOEXEC), 0);
	const char *argv[64];
	size_t n = 0;
	argv[n++] = bin;
	if (addr) {
		argv[n++] = "-a";
		argv[n++] = s->path;
	}
	for (size_t i = 0; args[i]; i++) {
		assert_true(n < 63);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(o[1], 1);
		dup2(e[1], 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	p->pid = pid;
	p->out = o[0];
	p->err = e[0];
	p->len = 0;
}

/* Read fd to its end into buf (NUL-terminated), for at most BOUND s. */
static size_t drain(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	double end = now() + BOUND;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int left = (int)((end - now()) * 1000);
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			break;
		char tmp[4096];
		ssize_t r = read(fd, tmp, sizeof tmp);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		size_t take =
		        (size_t)r < cap - 1 - len ? (size_t)r : cap - 1 - len;
		memcpy(buf + len, tmp, take);
		len += take;
	}
	buf[len] = 0;
	return len;
}

/* What one run of objmgr printed, and its exit status. */
struct run {
	int status;
	char out[1 << 16];
	char err[4096];
};

/* Run objmgr to its end. Stdout is read first: a command's stderr is
 * short, so it never fills its pipe while stdout waits. */
static int run_args(struct run *r, bool addr, const char *const *args)
{
	static struct proc p;
	proc_start(&p, &srv, addr, args);
	drain(p.out, r->out, sizeof r->out);
	drain(p.err, r->err, sizeof r->err);
	close(p.out);
	close(p.err);
	r->status = reap(p.pid, BOUND);
	return r->status;
}

static struct run R; /* the last run: big, so not on the stack */

#define CLI(...) run_args(&R, true, (const char *const[]){__VA_ARGS__, NULL})
#define CLI_NOADDR(...) \
	run_args(&R, false, (const char *const[]){__VA_ARGS__, NULL})

/* Whether `python3 -m json.tool` accepts text (exit 0). */
static bool json_ok(const char *text)
{
	int in[2];
	assert_int_equal(pipe(in), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);
		dup2(in[0], 0);
		dup2(nul, 1);
		close(in[0]);
		close(in[1]);
		execlp("python3", "python3", "-m", "json.tool", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	size_t n = strlen(text);
	signal(SIGPIPE, SIG_IGN);
	for (size_t off = 0; off < n;) {
		ssize_t w = write(in[1], text + off, n - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(in[1]);
	int st = reap(pid, BOUND);
	if (st != 0)
		print_error("json.tool refused (%d): %s\n", st, text);
	return st == 0;
}

/* The last run must have exited with `status` and printed exactly `out`. */
#define expect_out(status_, out_)                                          \
	do {                                                               \
		if (R.status != (status_) || strcmp(R.out, (out_)))        \
			print_error("exit %d, stdout [%s], stderr [%s]\n", \
			            R.status, R.out, R.err);               \
		assert_int_equal(R.status, (status_));                     \
		assert_string_equal(R.out, (out_));                        \
	} while (0)

/* The last run failed with `status` and stderr starting with `prefix`. */
#define expect_err(status_, prefix)                                        \
	do {                                                               \
		if (R.status != (status_) ||                               \
		    strncmp(R.err, (prefix), strlen(prefix)))              \
			print_error("exit %d, stdout [%s], stderr [%s]\n", \
			            R.status, R.out, R.err);               \
		assert_int_equal(R.status, (status_));                     \
		assert_memory_equal(R.err, (prefix), strlen(prefix));      \
		assert_string_equal(R.out, "");                            \
	} while (0)

/* The last run succeeded and its stdout is one JSON document. */
#define expect_json()                                                   \
	do {                                                            \
		if (R.status != 0)                                      \
			print_error("exit %d, stderr [%s]\n", R.status, \
			            R.err);                             \
		assert_int_equal(R.status, 0);                          \
		assert_true(json_ok(R.out));                            \
	} while (0)

static void test_ping(void **state)
{
	(void)state;
	CLI("ping");
	expect_out(0, "PONG\n");
	CLI("--json", "ping");
	expect_json();
	expect_out(0, "\"PONG\"\n");
	/* $OBJMGR_ADDRESS when there is no -a. */
	setenv("OBJMGR_ADDRESS", srv.path, 1);
	CLI_NOADDR("ping");
	unsetenv("OBJMGR_ADDRESS");
	expect_out(0, "PONG\n");
}

static void test_usage(void **state)
{
	(void)state;
	CLI_NOADDR("--help");
	assert_int_equal(R.status, 0);
	assert_non_null(strstr(R.out, "usage: objmgr"));
	CLI_NOADDR("--version");
	assert_int_equal(R.status, 0);
	assert_memory_equal(R.out, "objmgr ", 7);
	/* No command, an unknown one, wrong argument counts, a bad option:
	 * 2, before any connection is tried (no server needed). */
	static const char *const bad[][8] = {
	        {"-a", "/nonexistent/s", NULL},
	        {"-a", "/nonexistent/s", "frobnicate", NULL},
	        {"-a", "/nonexistent/s", "get", NULL},
	        {"-a", "/nonexistent/s", "ping", "extra", NULL},
	        {"-a", "/nonexistent/s", "set", "d", "k", "v", "extra", NULL},
	        {"--no-such-option", "ping", NULL},
	        {"-a", "/nonexistent/s", "dump", NULL},
	        {"-a", NULL},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		run_args(&R, false, bad[i]);
		if (R.status != 2)
			print_error("case %zu: exit %d [%s]\n", i, R.status,
			            R.err);
		assert_int_equal(R.status, 2);
		assert_string_equal(R.out, "");
		assert_null(strstr(R.err, "ECONN"));
	}
}

static void test_no_server(void **state)
{
	(void)state;
	CLI_NOADDR("-a", "/nonexistent/dir/objmgr.sock", "ping");
	expect_err(2, "objmgr: ECONN: ");
	CLI_NOADDR("-a", "/nonexistent/dir/objmgr.sock", "--json", "ls");
	expect_err(2, "objmgr: ECONN: ");
}

/* The item d[key] must equal `want`. */
static void expect_dict(om_dict *d, om_item key, om_item want)
{
	om_item got;
	expect_ok(NULL, om_dict_get(d, key, &got));
	if (!om_item_eq(&got, &want) || got.kind != want.kind)
		print_error("kind %d, expected kind %d\n", got.kind, want.kind);
	assert_true(om_item_eq(&got, &want));
	assert_int_equal(got.kind, want.kind);
	om_item_free(&got);
}

static void test_dict_set_get(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d;
	expect_ok(c, om_dict_open(c, "cli.d", OM_CREATE, &d));
	CLI("set", "cli.d", "k", "42");
	expect_out(0, "OK\n");
	expect_dict(d, om_str("k"), om_int(42));
	/* JSON where it parses, else a str. */
	CLI("set", "cli.d", "k", "\"42\"");
	expect_out(0, "OK\n");
	expect_dict(d, om_str("k"), om_str("42"));
	CLI("set", "cli.d", "k", "hello world");
	expect_dict(d, om_str("k"), om_str("hello world"));
	CLI("set", "cli.d", "7", "4.5");
	expect_dict(d, om_int(7), om_float(4.5));
	CLI("set", "cli.d", "n", "null");
	expect_dict(d, om_str("n"), om_nil());
	CLI("set", "cli.d", "t", "true");
	expect_dict(d, om_str("t"), om_bool(true));
	CLI("set", "cli.d", "\"7\"", "seven");
	expect_dict(d, om_str("7"), om_str("seven"));

	CLI("get", "cli.d", "k");
	expect_out(0, "'hello world'\n");
	CLI("get", "cli.d", "7");
	expect_out(0, "4.5\n");
	CLI("get", "cli.d", "\"7\"");
	expect_out(0, "'seven'\n");
	CLI("get", "cli.d", "n");
	expect_out(0, "None\n");
	CLI("get", "cli.d", "t");
	expect_out(0, "True\n");
	CLI("--json", "get", "cli.d", "k");
	expect_json();
	expect_out(0, "\"hello world\"\n");
	CLI("--json", "get", "cli.d", "7");
	expect_json();
	expect_out(0, "4.5\n");
	CLI("--json", "set", "cli.d", "j", "1");
	expect_json();
	expect_out(0, "\"OK\"\n");

	/* The server's errors: exit 1, its code's name and message. */
	CLI("get", "cli.d", "missing");
	expect_err(1, "objmgr: ENOKEY: ");
	CLI("get", "cli.nothing", "k");
	expect_err(1, "objmgr: ENOENT: ");
	/* A JSON array is not an item: usage. */
	CLI("set", "cli.d", "k", "[1, 2]");
	expect_err(2, "objmgr: ");
	om_release(d);
	expect_ok(c, om_unlink(c, "cli.d"));
	om_disconnect(c);
}

static void test_missing_creates_nothing(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	CLI("set", "cli.none", "k", "1");
	expect_err(1, "objmgr: ENOENT: ");
	CLI("put", "cli.none", "1");
	expect_err(1, "objmgr: ENOENT: ");
	CLI("incr", "cli.none", "k");
	expect_err(1, "objmgr: ENOENT: ");
	CLI("unlink", "cli.none");
	expect_err(1, "objmgr: ENOENT: ");
	CLI("--json", "set", "cli.none", "k", "1");
	expect_err(1, "objmgr: ENOENT: ");
	void *h;
	expect_rc(c, om_open_any(c, "cli.none", &h), OM_ENOENT);
	om_disconnect(c);
}

static void test_wrong_type(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d;
	om_list *l;
	om_lock *lk;
	expect_ok(c, om_dict_open(c, "cli.td", OM_CREATE, &d));
	expect_ok(c, om_list_open(c, "cli.tl", OM_CREATE, &l));
	expect_ok(c, om_lock_open(c, "cli.tk", OM_CREATE, &lk));
	expect_ok(c, om_dict_set(d, om_str("s"), om_str("text")));
	expect_ok(c, om_list_append(l, om_int(1)));
	CLI("put", "cli.td", "1");
	expect_err(1, "objmgr: ETYPE: ");
	CLI("incr", "cli.td", "s");
	expect_err(1, "objmgr: ETYPE: "); /* the server's: str += 1 */
	expect_dict(d, om_str("s"), om_str("text"));
	CLI("get", "cli.tl", "abc");
	expect_err(1, "objmgr: ETYPE: ");
	CLI("get", "cli.tl", "5");
	expect_err(1, "objmgr: EINDEX: ");
	CLI("set", "cli.tk", "k", "1");
	expect_err(1, "objmgr: ETYPE: ");
	CLI("incr", "cli.tl", "0");
	expect_err(1, "objmgr: ETYPE: ");
	om_release(d);
	om_release(l);
	om_release(lk);
	expect_ok(c, om_unlink(c, "cli.td"));
	expect_ok(c, om_unlink(c, "cli.tl"));
	expect_ok(c, om_unlink(c, "cli.tk"));
	om_disconnect(c);
}

static void test_bytes_base64(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d;
	expect_ok(c, om_dict_open(c, "cli.b", OM_CREATE, &d));
	CLI("set", "cli.b", "b", "{\"bytes\": \"AAEC/w==\"}");
	expect_out(0, "OK\n");
	const char raw[] = {0, 1, 2, (char)0xff};
	expect_dict(d, om_str("b"), om_bytes(raw, 4));
	CLI("get", "cli.b", "b");
	expect_out(0, "b'\\x00\\x01\\x02\\xff'\n");
	CLI("--json", "get", "cli.b", "b");
	expect_json();
	expect_out(0, "{\"bytes\":\"AAEC/w==\"}\n");
	/* Every byte value, out through --json and back in through set. */
	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	expect_ok(c, om_dict_set(d, om_str("all"), om_bytes(all, 256)));
	CLI("--json", "get", "cli.b", "all");
	expect_json();
	char doc[1024];
	snprintf(doc, sizeof doc, "%.*s", (int)strcspn(R.out, "\n"), R.out);
	CLI("set", "cli.b", "back", doc);
	expect_out(0, "OK\n");
	expect_dict(d, om_str("back"), om_bytes(all, 256));
	/* Lengths 1 and 2 past a multiple of 3: the padding is not data. */
	CLI("set", "cli.b", "one", "{\"bytes\": \"/w==\"}");
	expect_dict(d, om_str("one"), om_bytes("\xff", 1));
	CLI("set", "cli.b", "two", "{\"bytes\": \"//8=\"}");
	expect_dict(d, om_str("two"), om_bytes("\xff\xff", 2));
	CLI("set", "cli.b", "e", "{\"bytes\": \"\"}");
	expect_dict(d, om_str("e"), om_bytes("", 0));
	CLI("set", "cli.b", "bad", "{\"bytes\": \"!!!\"}");
	expect_err(2, "objmgr: ");
	om_release(d);
	expect_ok(c, om_unlink(c, "cli.b"));
	om_disconnect(c);
}

/* Python's reprs of items, one list index at a time. */
static void test_reprs(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_list *l;
	om_dict *inner;
	expect_ok(c, om_list_open(c, "cli.r", OM_CREATE, &l));
	expect_ok(c, om_dict_open(c, NULL, 0, &inner));
	const om_item items[] = {
	        om_nil(),
	        om_bool(false),
	        om_int(-12345678901234),
	        om_float(0.1),
	        om_float(1e16),
	        om_float(1e15),
	        om_float(1e-5),
	        om_float(0.0001),
	        om_float(-0.0),
	        om_float(2.5e-300),
	        om_float(1.0 / 3),
	        om_str("it's"),
	        om_str("a\"b'c\n\t\\"),
	        om_str("caf\xc3\xa9 \x01"),
	        om_bytes("x'y\x7f", 4),
	        om_ref(inner),
	};
	const char *want[] = {
	        "None\n",
	        "False\n",
	        "-12345678901234\n",
	        "0.1\n",
	        "1e+16\n",
	        "1000000000000000.0\n",
	        "1e-05\n",
	        "0.0001\n",
	        "-0.0\n",
	        "2.5e-300\n",
	        "0.3333333333333333\n",
	        "\"it's\"\n",
	        "'a\"b\\'c\\n\\t\\\\'\n",
	        "'caf\xc3\xa9 \\x01'\n",
	        "b\"x'y\\x7f\"\n",
	        NULL, /* the ref: its id */
	};
	size_t n = sizeof items / sizeof items[0];
	expect_ok(c, om_list_extend(l, items, n));
	for (size_t i = 0; i < n; i++) {
		char idx[16];
		snprintf(idx, sizeof idx, "%zu", i);
		CLI("get", "cli.r", idx);
		char ref[64];
		if (!want[i]) {
			om_item r = om_ref(inner);
			snprintf(ref, sizeof ref, "<dict ref %llu>\n",
			         (unsigned long long)r.ref.id);
			want[i] = ref;
		}
		expect_out(0, want[i]);
		CLI("--json", "get", "cli.r", idx);
		expect_json();
	}
	/* Negative indexes count from the end, as in Python. */
	CLI("get", "cli.r", "-2");
	expect_out(0, "b\"x'y\\x7f\"\n");
	/* JSON floats read back as the same double. */
	CLI("--json", "get", "cli.r", "10");
	expect_out(0, "0.3333333333333333\n");
	CLI("--json", "get", "cli.r", "3");
	expect_out(0, "0.1\n");
	om_release(inner);
	om_release(l);
	expect_ok(c, om_unlink(c, "cli.r"));
	om_disconnect(c);
}

static void test_incr(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d;
	om_value *v;
	om_array *a;
	expect_ok(c, om_dict_open(c, "cli.i", OM_CREATE, &d));
	expect_ok(c, om_value_open(c, "cli.iv", OM_CREATE, om_int(10), &v));
	expect_ok(c, om_array_open(c, "cli.ia", OM_CREATE, OM_INT, 3, &a));
	CLI("incr", "cli.i", "hits");
	expect_out(0, "1\n");
	CLI("incr", "cli.i", "hits", "41");
	expect_out(0, "42\n");
	CLI("incr", "cli.i", "hits", "0.5");
	expect_out(0, "42.5\n");
	CLI("--json", "incr", "cli.i", "hits", "-2");
	expect_json();
	expect_out(0, "40.5\n");
	expect_dict(d, om_str("hits"), om_float(40.5));
	CLI("incr", "cli.iv");
	expect_out(0, "11\n");
	CLI("incr", "cli.iv", "-11");
	expect_out(0, "0\n");
	CLI("incr", "cli.ia", "-1", "7");
	expect_out(0, "7\n");
	om_item got;
	expect_ok(c, om_array_get(a, 2, &got));
	assert_int_item(&got, 7);
	CLI("incr", "cli.ia", "3");
	expect_err(1, "objmgr: EINDEX: ");
	CLI("incr", "cli.ia", "0", "1.5");
	expect_err(1, "objmgr: ETYPE: ");
	/* A dict needs a KEY. */
	CLI("incr", "cli.i");
	expect_err(2, "objmgr: ");
	om_release(d);
	om_release(v);
	om_release(a);
	expect_ok(c, om_unlink(c, "cli.i"));
	expect_ok(c, om_unlink(c, "cli.iv"));
	expect_ok(c, om_unlink(c, "cli.ia"));
	om_disconnect(c);
}

static void test_set_list_array_value(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_list *l;
	om_array *a;
	om_value *v;
	expect_ok(c, om_list_open(c, "cli.sl", OM_CREATE, &l));
	expect_ok(c, om_array_open(c, "cli.sa", OM_CREATE, OM_FLOAT, 2, &a));
	expect_ok(c, om_value_open(c, "cli.sv", OM_CREATE, om_nil(), &v));
	expect_ok(c, om_list_append(l, om_int(0)));
	expect_ok(c, om_list_append(l, om_int(0)));
	CLI("set", "cli.sl", "-1", "x");
	expect_out(0, "OK\n");
	CLI("get", "cli.sl", "1");
	expect_out(0, "'x'\n");
	CLI("set", "cli.sl", "2", "x");
	expect_err(1, "objmgr: EINDEX: ");
	CLI("set", "cli.sa", "1", "2.25");
	expect_out(0, "OK\n");
	CLI("get", "cli.sa", "-1");
	expect_out(0, "2.25\n");
	CLI("set", "cli.sa", "0", "text");
	expect_err(1, "objmgr: ETYPE: ");
	CLI("set", "cli.sv", "{\"bytes\": \"aGk=\"}");
	expect_out(0, "OK\n");
	om_item got;
	expect_ok(c, om_value_get(v, &got));
	assert_int_equal(got.kind, OM_BYTES);
	assert_int_equal(got.s.len, 2);
	assert_memory_equal(got.s.ptr, "hi", 2);
	om_item_free(&got);
	/* A value takes no KEY; a list needs one. */
	CLI("set", "cli.sv", "k", "1");
	expect_err(2, "objmgr: ");
	CLI("set", "cli.sl", "1");
	expect_err(2, "objmgr: ");
	om_release(l);
	om_release(a);
	om_release(v);
	expect_ok(c, om_unlink(c, "cli.sl"));
	expect_ok(c, om_unlink(c, "cli.sa"));
	expect_ok(c, om_unlink(c, "cli.sv"));
	om_disconnect(c);
}

static void test_put(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_queue *q;
	om_queue *full;
	om_list *l;
	om_pipe *a, *b;
	expect_ok(c, om_queue_open(c, "cli.q", OM_CREATE, 0, &q));
	expect_ok(c, om_queue_open(c, "cli.qf", OM_CREATE, 1, &full));
	expect_ok(c, om_list_open(c, "cli.pl", OM_CREATE, &l));
	expect_ok(c, om_pipe_open(c, "cli.p", OM_CREATE, &a, &b));
	CLI("put", "cli.q", "job 1");
	expect_out(0, "OK\n");
	CLI("--json", "put", "cli.q", "2");
	expect_json();
	om_item got;
	expect_ok(c, om_queue_get(q, &got, 0));
	assert_str_item(&got, "job 1");
	om_item_free(&got);
	expect_ok(c, om_queue_get(q, &got, 0));
	assert_int_item(&got, 2);
	om_item_free(&got);
	/* A full queue is EFULL at once: the command never waits. */
	CLI("put", "cli.qf", "1");
	expect_out(0, "OK\n");
	CLI("put", "cli.qf", "2");
	expect_err(1, "objmgr: EFULL: ");
	CLI("put", "cli.pl", "3");
	expect_out(0, "OK\n");
	expect_ok(c, om_list_get(l, -1, &got));
	assert_int_item(&got, 3);
	om_item_free(&got);
	/* A pipe: sent from end b, received at end a. */
	CLI("put", "cli.p", "msg");
	expect_out(0, "OK\n");
	expect_ok(c, om_pipe_recv(a, &got, 10));
	assert_str_item(&got, "msg");
	om_item_free(&got);
	om_release(q);
	om_release(full);
	om_release(l);
	om_release(a);
	om_release(b);
	expect_ok(c, om_unlink(c, "cli.q"));
	expect_ok(c, om_unlink(c, "cli.qf"));
	expect_ok(c, om_unlink(c, "cli.pl"));
	expect_ok(c, om_unlink(c, "cli.p"));
	om_disconnect(c);
}

static void test_unlink(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d;
	expect_ok(c, om_dict_open(c, "cli.u", OM_CREATE, &d));
	om_release(d);
	CLI("unlink", "cli.u");
	expect_out(0, "OK\n");
	expect_rc(c, om_dict_open(c, "cli.u", 0, &d), OM_ENOENT);
	CLI("--json", "unlink", "cli.u");
	expect_err(1, "objmgr: ENOENT: ");
	om_disconnect(c);
}

static void test_authkey_file(void **state)
{
	(void)state;
	char path[400];
	snprintf(path, sizeof path, "%s/cli.key", srv.dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "secret\n", 7), 7);
	close(fd);
	/* A Unix socket ignores the key. */
	CLI("--authkey-file", path, "ping");
	expect_out(0, "PONG\n");
	/* A key file others may read is refused, before any connection. */
	assert_int_equal(chmod(path, 0644), 0);
	CLI("--authkey-file", path, "ping");
	expect_err(2, "objmgr: ");
	assert_non_null(strstr(R.err, "0600"));
	CLI("--authkey-file", "/nonexistent/key", "ping");
	expect_err(2, "objmgr: ");
	unlink(path);
}

/* A TCP port free on 127.0.0.1 now (the kernel's pick). */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* Write a key file of mode 0600. */
static void write_key(const char *path, const char *key)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, key, strlen(key)), (ssize_t)strlen(key));
	close(fd);
}

/* A TCP address with --authkey-file: the right key is served, a wrong one
 * and none are EAUTH (exit 1). */
static void test_tcp_authkey(void **state)
{
	(void)state;
	char key[400], wrong[400], tcp[64], port[16];
	snprintf(key, sizeof key, "%s/tcp.key", srv.dir);
	snprintf(wrong, sizeof wrong, "%s/wrong.key", srv.dir);
	write_key(key, "the right key\n");
	write_key(wrong, "another key\n");
	snprintf(port, sizeof port, "%d", free_port());
	snprintf(tcp, sizeof tcp, "tcp:127.0.0.1:%s", port);
	static struct server s;
	const char *const extra[] = {"--listen", tcp, "--authkey-file", key,
	                             NULL};
	server_start(&s, extra);
	unsetenv("OBJMGR_AUTHKEY_FILE");
	CLI_NOADDR("-a", tcp, "--authkey-file", key, "ping");
	expect_out(0, "PONG\n");
	CLI_NOADDR("-a", tcp, "--authkey-file", wrong, "ping");
	expect_err(1, "objmgr: EAUTH: ");
	CLI_NOADDR("-a", tcp, "ping");
	expect_err(1, "objmgr: EAUTH: ");
	/* $OBJMGR_AUTHKEY_FILE without the option. */
	setenv("OBJMGR_AUTHKEY_FILE", key, 1);
	CLI_NOADDR("-a", tcp, "ping");
	unsetenv("OBJMGR_AUTHKEY_FILE");
	expect_out(0, "PONG\n");
	/* The server sees this client as a remote one. */
	CLI_NOADDR("-a", tcp, "--authkey-file", key, "--json", "clients");
	expect_json();
	assert_non_null(strstr(R.out, "\"tcp\""));
	server_stop(&s);
	unlink(key);
	unlink(wrong);
}

/* ------------------------------------------------ watch and monitor */

/* The next line objmgr prints (without its newline), waiting at most
 * BOUND s: false if none came. */
static bool read_line(struct proc *p, char *line, size_t cap)
{
	double end = now() + BOUND;
	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		if (nl) {
			size_t n = (size_t)(nl - p->buf);
			snprintf(line, cap, "%.*s", (int)n, p->buf);
			memmove(p->buf, nl + 1, p->len - n - 1);
			p->len -= n + 1;
			return true;
		}
		struct pollfd pfd = {.fd = p->out, .events = POLLIN};
		int left = (int)((end - now()) * 1000);
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return false;
		ssize_t r = read(p->out, p->buf + p->len,
		                 sizeof p->buf - p->len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p->len += (size_t)r;
	}
}

/* Signal objmgr and check it ended with exit 0. */
static void proc_stop(struct proc *p, int sig)
{
	assert_int_equal(kill(p->pid, sig), 0);
	int st = reap(p->pid, BOUND);
	char err[4096];
	drain(p->err, err, sizeof err);
	if (st != 0)
		print_error("exit %d, stderr [%s]\n", st, err);
	assert_int_equal(st, 0);
	close(p->out);
	close(p->err);
}

/* Another process's change: set d[key] = value in a forked child with
 * its own connection. */
struct change {
	const char *name, *key;
	int64_t value;
};

static int change_child(void *arg)
{
	const struct change *ch = arg;
	om_client *c;
	om_dict *d;
	if (om_connect(srv.path, &c) || om_dict_open(c, ch->name, 0, &d))
		return 1;
	int rc = om_dict_set(d, om_str(ch->key), om_int(ch->value));
	om_disconnect(c);
	return rc ? 2 : 0;
}

static void other_process_sets(const char *name, const char *key, int64_t value)
{
	struct change ch = {name, key, value};
	pid_t pid = spawn_child(change_child, &ch);
	reap_all(&pid, 1);
}

static void test_watch(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d;
	expect_ok(c, om_dict_open(c, "cli.w", OM_CREATE, &d));
	expect_ok(c, om_dict_set(d, om_str("a"), om_int(1)));
	static struct proc p;
	char line[4096];
	proc_start(&p, &srv, true,
	           (const char *const[]){"watch", "cli.w", NULL});
	/* The first line: the state now, once subscribed. */
	assert_true(read_line(&p, line, sizeof line));
	assert_non_null(strstr(line, " WATCH: {'a': 1}"));
	other_process_sets("cli.w", "b", 2);
	assert_true(read_line(&p, line, sizeof line));
	assert_non_null(strstr(line, "DICT_SET client "));
	assert_non_null(strstr(line, ": {'a': 1, 'b': 2}"));
	proc_stop(&p, SIGINT);

	/* --json: one document a line. */
	proc_start(&p, &srv, true,
	           (const char *const[]){"--json", "watch", "cli.w", NULL});
	assert_true(read_line(&p, line, sizeof line));
	assert_true(json_ok(line));
	assert_non_null(strstr(line, "\"state\":{\"a\":1,\"b\":2}"));
	other_process_sets("cli.w", "c", 3);
	assert_true(read_line(&p, line, sizeof line));
	assert_true(json_ok(line));
	assert_non_null(strstr(line, "\"op\":\"DICT_SET\""));
	assert_non_null(strstr(line, "\"state\":{\"a\":1,\"b\":2,\"c\":3}"));
	proc_stop(&p, SIGTERM);

	CLI("watch", "cli.nothing");
	expect_err(1, "objmgr: ENOENT: ");
	om_release(d);
	expect_ok(c, om_unlink(c, "cli.w"));
	om_disconnect(c);
}

static void test_monitor(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d;
	expect_ok(c, om_dict_open(c, "cli.m", OM_CREATE, &d));
	static struct proc p;
	char line[4096];
	for (int json = 0; json < 2; json++) {
		const char *const human[] = {"monitor", NULL};
		const char *const js[] = {"--json", "monitor", NULL};
		proc_start(&p, &srv, true, json ? js : human);
		/* "OK" once subscribed. */
		assert_true(read_line(&p, line, sizeof line));
		assert_string_equal(line, json ? "\"OK\"" : "OK");
		other_process_sets("cli.m", "k", 1);
		/* Other requests (the child's Hello, its OPEN) may come
		 * first: read until the DICT_SET. */
		bool seen = false;
		while (!seen && read_line(&p, line, sizeof line)) {
			if (json)
				assert_true(json_ok(line));
			seen = strstr(line, "DICT_SET") != NULL;
		}
		assert_true(seen);
		if (json) {
			assert_non_null(strstr(line, "\"name\":\"cli.m\""));
			assert_non_null(strstr(line, "\"type\":\"dict\""));
		} else {
			assert_non_null(strstr(line, "] DICT_SET dict:"));
			assert_non_null(strstr(line, " 'cli.m'"));
		}
		proc_stop(&p, json ? SIGTERM : SIGINT);
	}
	om_release(d);
	expect_ok(c, om_unlink(c, "cli.m"));
	om_disconnect(c);
}

/* ------------------------------------------ ls, get, dump, info, clients */

static void test_ls(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d;
	om_list *l;
	expect_ok(c, om_dict_open(c, "cli.ls.dict", OM_CREATE, &d));
	expect_ok(c, om_list_open(c, "cli.ls.list", OM_CREATE, &l));
	expect_ok(c, om_dict_set(d, om_str("k"), om_int(1)));
	om_item r = om_ref(d);
	expect_ok(c, om_list_append(l, om_int(1)));
	expect_ok(c, om_list_append(l, om_int(2)));
	CLI("ls", "cli.ls.*");
	assert_int_equal(R.status, 0);
	/* Header, then the two rows in name order, columns aligned. */
	char *row1 = strchr(R.out, '\n');
	assert_non_null(row1);
	assert_memory_equal(R.out, "NAME         TYPE  ", 19);
	assert_memory_equal(row1 + 1, "cli.ls.dict  dict  ", 19);
	char *row2 = strchr(row1 + 1, '\n');
	assert_non_null(row2);
	assert_memory_equal(row2 + 1, "cli.ls.list  list  ", 19);
	assert_int_equal(strlen(R.out), 3 * (size_t)(row1 - R.out + 1));
	char id[32];
	snprintf(id, sizeof id, " %llu ", (unsigned long long)r.ref.id);
	assert_non_null(strstr(row1, id));
	CLI("ls", "cli.nothing.*");
	assert_int_equal(R.status, 0);
	assert_null(strchr(strchr(R.out, '\n') + 1, '\n'));
	CLI("--json", "ls", "cli.ls.*");
	expect_json();
	assert_memory_equal(R.out,
	                    "[{\"name\":\"cli.ls.dict\",\"type\":\"dict\"", 36);
	assert_non_null(strstr(R.out, "\"name\":\"cli.ls.list\",\"type\":"
	                              "\"list\""));
	assert_non_null(strstr(R.out, "\"length\":2"));
	CLI("--json", "ls", "cli.nothing.*");
	expect_json();
	expect_out(0, "[]\n");
	om_release(d);
	om_release(l);
	expect_ok(c, om_unlink(c, "cli.ls.dict"));
	expect_ok(c, om_unlink(c, "cli.ls.list"));
	om_disconnect(c);
}

static void test_get_dump_nested(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d, *inner;
	om_list *l;
	expect_ok(c, om_dict_open(c, "cli.n", OM_CREATE, &d));
	expect_ok(c, om_dict_open(c, NULL, 0, &inner));
	expect_ok(c, om_list_open(c, NULL, 0, &l));
	expect_ok(c, om_dict_set(d, om_str("a"), om_int(1)));
	expect_ok(c, om_list_append(l, om_int(2)));
	expect_ok(c, om_list_append(l, om_int(3)));
	expect_ok(c, om_dict_set(d, om_str("b"), om_ref(l)));
	expect_ok(c, om_dict_set(inner, om_str("x"), om_str("y")));
	expect_ok(c, om_dict_set(d, om_str("in"), om_ref(inner)));
	/* A cycle: the inner dict refers to the outer one. */
	expect_ok(c, om_dict_set(inner, om_str("up"), om_ref(d)));
	char want[256];
	snprintf(want, sizeof want,
	         "{'a': 1, 'b': <list ref %llu>, 'in': <dict ref %llu>}\n",
	         (unsigned long long)om_ref(l).ref.id,
	         (unsigned long long)om_ref(inner).ref.id);
	CLI("get", "cli.n");
	expect_out(0, want);
	CLI("dump", "cli.n");
	expect_out(0, "{'a': 1, 'b': [2, 3], 'in': {'x': 'y', 'up': {...}}}\n");
	CLI("--json", "dump", "cli.n");
	expect_json();
	snprintf(
	        want, sizeof want,
	        "{\"a\":1,\"b\":[2,3],\"in\":{\"x\":\"y\",\"up\":{\"ref\":%llu,"
	        "\"type\":\"dict\"}}}\n",
	        (unsigned long long)om_ref(d).ref.id);
	expect_out(0, want);
	CLI("--json", "get", "cli.n");
	expect_json();
	/* A dict with a key that is not a str: [[key, value], ...]. */
	expect_ok(c, om_dict_set(inner, om_int(5), om_bytes("z", 1)));
	expect_ok(c, om_dict_del(inner, om_str("up")));
	CLI("--json", "dump", "cli.n");
	expect_json();
	assert_non_null(strstr(R.out, "\"in\":[[\"x\",\"y\"],[5,{\"bytes\":"
	                              "\"eg==\"}]]"));
	CLI("dump", "cli.n");
	expect_out(0, "{'a': 1, 'b': [2, 3], 'in': {'x': 'y', 5: b'z'}}\n");
	/* Other types: a list, a lock, a value. */
	om_lock *lk;
	om_value *v;
	expect_ok(c, om_lock_open(c, "cli.nl", OM_CREATE, &lk));
	expect_ok(c, om_value_open(c, "cli.nv", OM_CREATE, om_float(2.5), &v));
	CLI("get", "cli.nl");
	expect_out(0, "{'holder': 0, 'level': 0}\n");
	CLI("--json", "dump", "cli.nl");
	expect_json();
	expect_out(0, "{\"holder\":0,\"level\":0}\n");
	CLI("get", "cli.nv");
	expect_out(0, "2.5\n");
	om_release(lk);
	om_release(v);
	om_release(d);
	om_release(inner);
	om_release(l);
	expect_ok(c, om_unlink(c, "cli.n"));
	expect_ok(c, om_unlink(c, "cli.nl"));
	expect_ok(c, om_unlink(c, "cli.nv"));
	om_disconnect(c);
}

static void test_info_clients(void **state)
{
	(void)state;
	CLI("info");
	assert_int_equal(R.status, 0);
	assert_memory_equal(R.out, "version:", 8);
	assert_non_null(strstr(R.out, "\nuptime:"));
	assert_non_null(strstr(R.out, "\nobjects.dict:"));
	char pid[32];
	snprintf(pid, sizeof pid, "\npid:%d\n", (int)srv.pid);
	assert_non_null(strstr(R.out, pid));
	CLI("--json", "info");
	expect_json();
	assert_memory_equal(R.out, "{\"version\":\"", 12);
	assert_non_null(strstr(R.out, "\"listen\":["));

	om_client *c = client(&srv);
	CLI("clients");
	assert_int_equal(R.status, 0);
	/* The header: ID is right-aligned over its column, PID's width is
	 * its widest pid's. */
	assert_non_null(strstr(R.out, "ID"));
	assert_non_null(strstr(R.out, "  PID  UID  ADDR  SINCE"));
	assert_non_null(strstr(R.out, "FLAGS\n"));
	assert_non_null(strstr(R.out, " self\n"));
	char me[32];
	snprintf(me, sizeof me, " %d ", (int)getpid());
	assert_non_null(strstr(R.out, me));
	CLI("--json", "clients");
	expect_json();
	assert_non_null(strstr(R.out, "\"flags\":[\"self\"]"));
	om_disconnect(c);
}

/* Whether the process *arg has exited (not reaped: WNOWAIT). */
static bool exited(void *arg)
{
	siginfo_t si = {0};
	return waitid(P_PID, (id_t) * (pid_t *)arg, &si,
	              WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       si.si_pid != 0;
}

/* Last: stops a server of its own. */
static void test_shutdown(void **state)
{
	(void)state;
	static struct server s;
	server_start(&s, NULL);
	static struct proc p;
	char out[256];
	proc_start(&p, &s, true, (const char *const[]){"shutdown", NULL});
	drain(p.out, out, sizeof out);
	close(p.out);
	close(p.err);
	assert_int_equal(reap(p.pid, BOUND), 0);
	assert_string_equal(out, "OK\n");
	/* The server exits of its own accord (waited for without reaping,
	 * so no signal of server_end's could have stopped it), with 0 and
	 * its socket removed. */
	assert_true(poll_until(exited, &s.pid, BOUND));
	assert_int_equal(server_end(&s), 0);
	proc_start(&p, &s, true, (const char *const[]){"ping", NULL});
	drain(p.out, out, sizeof out);
	close(p.out);
	close(p.err);
	assert_int_equal(reap(p.pid, BOUND), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ping),
	        cmocka_unit_test(test_usage),
	        cmocka_unit_test(test_no_server),
	        cmocka_unit_test(test_dict_set_get),
	        cmocka_unit_test(test_missing_creates_nothing),
	        cmocka_unit_test(test_wrong_type),
	        cmocka_unit_test(test_bytes_base64),
	        cmocka_unit_test(test_reprs),
	        cmocka_unit_test(test_incr),
	        cmocka_unit_test(test_set_list_array_value),
	        cmocka_unit_test(test_put),
	        cmocka_unit_test(test_unlink),
	        cmocka_unit_test(test_authkey_file),
	        cmocka_unit_test(test_tcp_authkey),
	        cmocka_unit_test(test_ls),
	        cmocka_unit_test(test_get_dump_nested),
	        cmocka_unit_test(test_info_clients),
	        cmocka_unit_test(test_watch),
	        cmocka_unit_test(test_monitor),
	        cmocka_unit_test(test_shutdown),
	};
	return RUN(tests, 120, srv_setup, srv_teardown);
}
