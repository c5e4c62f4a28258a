/*
 * harness.c — start and stop real servers, fork and reap children, bound
 * every wait, check items. See harness.h.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct server srv;

int srv_setup(void **state)
{
	(void)state;
	server_start(&srv, NULL);
	return 0;
}

int srv_teardown(void **state)
{
	(void)state;
	server_stop(&srv);
	return 0;
}

bool poll_until(bool (*done)(void *), void *arg, int seconds)
{
	double end = now() + seconds;
	while (!done(arg)) {
		if (now() > end)
			return false;
		usleep(2000);
	}
	return true;
}

struct stat_want {
	om_client *c;
	size_t offset;
	uint64_t want;
	uint64_t got;
	int rc; /* om_stats's, once it fails */
};

static bool stat_reached(void *p)
{
	struct stat_want *w = p;
	om_server_stats st;
	w->rc = om_stats(w->c, &st);
	if (w->rc)
		return true; /* no use polling a server that does not answer */
	memcpy(&w->got, (const char *)&st + w->offset, sizeof w->got);
	return w->got == w->want;
}

bool poll_stat_(om_client *c, size_t offset, uint64_t want, int seconds)
{
	struct stat_want w = {.c = c, .offset = offset, .want = want};
	return poll_until(stat_reached, &w, seconds) && !w.rc;
}

void wait_stat_(om_client *c, size_t offset, const char *name, uint64_t want,
                const char *file, int line)
{
	struct stat_want w = {.c = c, .offset = offset, .want = want};
	if (!poll_until(stat_reached, &w, 10))
		print_error("server %s stays at %llu, expected %llu\n", name,
		            (unsigned long long)w.got,
		            (unsigned long long)want);
	else if (w.rc)
		print_error("om_stats: %s\n", om_strerror(w.rc));
	else
		return;
	_fail(file, line);
}

struct blocked_want {
	struct stat_want st;
	pid_t pid;
};

bool in_futex(pid_t pid)
{
	char path[64], buf[64] = "";
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool yes = fgets(buf, sizeof buf, f) && atol(buf) == SYS_futex;
	fclose(f);
	return yes;
}

static bool blocked(void *p)
{
	struct blocked_want *w = p;
	return in_futex(w->pid) || stat_reached(&w->st);
}

void wait_blocked_(om_client *c, pid_t pid, uint64_t parked, const char *file,
                   int line)
{
	struct blocked_want w = {
	        .st = {.c = c,
	               .offset = offsetof(om_server_stats, parked),
	               .want = parked},
	        .pid = pid};
	if (poll_until(blocked, &w, 10) && !w.st.rc)
		return;
	print_error("process %d never blocked (server parked %llu, "
	            "expected %llu)\n",
	            (int)pid, (unsigned long long)w.st.got,
	            (unsigned long long)parked);
	_fail(file, line);
}

om_server_stats settle(om_client *c)
{
	wait_stat(c, connections, 1);
	om_server_stats st;
	expect_ok(c, om_stats(c, &st));
	return st;
}

int send_byte(int fd)
{
	ssize_t n;
	while ((n = write(fd, "x", 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? 0 : -1;
}

int wait_byte(int fd, int seconds)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;
	while ((r = poll(&p, 1, seconds * 1000)) < 0 && errno == EINTR)
		;
	if (r <= 0)
		return -1;
	char b;
	ssize_t n;
	while ((n = read(fd, &b, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? 0 : -1;
}

double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the item is, for a failure message. */
static void describe(const om_item *it, char *buf, size_t cap)
{
	switch (it->kind) {
	case OM_NIL:
		snprintf(buf, cap, "nil");
		break;
	case OM_BOOL:
		snprintf(buf, cap, "the bool %s", it->b ? "true" : "false");
		break;
	case OM_INT:
		snprintf(buf, cap, "the int %lld", (long long)it->i);
		break;
	case OM_FLOAT:
		snprintf(buf, cap, "the float %.17g", it->f);
		break;
	case OM_STR:
	case OM_BYTES:
		snprintf(buf, cap, "a %s of %zu bytes \"%.*s\"",
		         it->kind == OM_STR ? "str" : "bytes", it->s.len,
		         it->s.ptr ? (int)(it->s.len < 60 ? it->s.len : 60) : 0,
		         it->s.ptr ? it->s.ptr : "");
		break;
	case OM_REF:
		snprintf(buf, cap, "a ref to object %llu (type %d)",
		         (unsigned long long)it->ref.id, it->ref.type);
		break;
	default:
		snprintf(buf, cap, "an item of kind %d", (int)it->kind);
	}
}

static void item_fail(const om_item *it, const char *file, int line,
                      const char *fmt, ...)
{
	char got[128], want[128];
	describe(it, got, sizeof got);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(want, sizeof want, fmt, ap);
	va_end(ap);
	print_error("the item is %s, expected %s\n", got, want);
	_fail(file, line);
}

void assert_int_item_(const om_item *it, int64_t v, const char *file, int line)
{
	if (it->kind != OM_INT || it->i != v)
		item_fail(it, file, line, "the int %lld", (long long)v);
}

void assert_float_item_(const om_item *it, double v, const char *file, int line)
{
	if (it->kind != OM_FLOAT || !(it->f == v) ||
	    !signbit(it->f) != !signbit(v))
		item_fail(it, file, line, "the float %.17g", v);
}

void assert_strn_item_(const om_item *it, const char *p, size_t n,
                       const char *file, int line)
{
	if (it->kind != OM_STR || it->s.len != n || !it->s.ptr ||
	    memcmp(it->s.ptr, p, n) != 0 || it->s.ptr[n] != '\0')
		item_fail(it, file, line,
		          "a NUL-terminated str of %zu bytes \"%.*s\"", n,
		          (int)(n < 60 ? n : 60), p);
}

void assert_str_item_(const om_item *it, const char *s, const char *file,
                      int line)
{
	assert_strn_item_(it, s, strlen(s), file, line);
}

/* Servers started and not yet stopped: the watchdog kills them, so a
 * timed-out program leaves no orphan holding its output open. */
static volatile pid_t live[16];

static void live_set(pid_t old, pid_t pid)
{
	for (size_t i = 0; i < 16; i++) {
		if (live[i] == old) {
			live[i] = pid;
			return;
		}
	}
}

/* $OBJMGR_SERVER (meson sets it), else objmgrd on $PATH. */
static const char *server_bin(void)
{
	const char *bin = getenv("OBJMGR_SERVER");
	return bin && *bin ? bin : "objmgrd";
}

void server_start(struct server *s, const char *const *extra)
{
	server_start_opts(s, extra, 0, false);
}

void server_start_opts(struct server *s, const char *const *extra, int nofile,
                       bool log)
{
	s->nofile = nofile;
	s->log = log;
	const char *tmp = getenv("TMPDIR");
	snprintf(s->dir, sizeof s->dir, "%s/objmgr-test-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof s->path, "%s/s.sock", s->dir);
	server_restart(s, extra);
}

void write_key_file(const char *path, const char *key, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	size_t n = strlen(key);
	assert_int_equal(write(fd, key, n), (ssize_t)n);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

void server_start_tcp(struct server *s, const char *key, bool v6,
                      const char *const *extra)
{
	s->nofile = 0;
	s->log = true;
	const char *tmp = getenv("TMPDIR");
	snprintf(s->dir, sizeof s->dir, "%s/objmgr-test-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof s->path, "%s/s.sock", s->dir);
	snprintf(s->key_file, sizeof s->key_file, "%s/key", s->dir);
	write_key_file(s->key_file, key, 0600);
	/* info: the "listening on" lines give the ports. */
	const char *args[32] = {"--log-level", "info",     "--authkey-file",
	                        s->key_file,   "--listen", "tcp:127.0.0.1:0"};
	size_t n = 6;
	if (v6) {
		args[n++] = "--listen";
		args[n++] = "tcp:[::1]:0";
	}
	for (size_t i = 0; extra && extra[i] && n < 31; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	server_restart(s, args);
}

void server_tcp_address(const struct server *s, bool v6, char *buf, size_t cap)
{
	static char log[1 << 16];
	server_log(s, log, sizeof log);
	const char *want =
	        v6 ? "listening on tcp:[::1]:" : "listening on tcp:127.0.0.1:";
	const char *p = strstr(log, want);
	if (!p)
		fail_msg("no '%s' in the server's log", want);
	p += strlen("listening on ");
	size_t n = strcspn(p, "\n");
	assert_true(n < cap);
	memcpy(buf, p, n);
	buf[n] = '\0';
}

void server_restart(struct server *s, const char *const *extra)
{
	const char *bin = server_bin();
	int ready[2];
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	char fd[16];
	snprintf(fd, sizeof fd, "%d", ready[1]);
	const char *argv[32] = {bin, "--socket",    s->path, "--ready-fd",
	                        fd,  "--log-level", "error"};
	size_t n = 7;
	for (size_t i = 0; extra && extra[i] && n < 31; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		fcntl(ready[1], F_SETFD, 0);
		if (s->nofile > 0) {
			struct rlimit rl = {(rlim_t)s->nofile,
			                    (rlim_t)s->nofile};
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (s->log) {
			char log[sizeof s->dir + 8];
			snprintf(log, sizeof log, "%s/log", s->dir);
			int lfd =
			        open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
			if (lfd >= 0)
				dup2(lfd, STDERR_FILENO);
		}
		execvp(bin, (char *const *)argv);
		_exit(127);
	}
	close(ready[1]);
	live_set(0, s->pid);
	/* A server that fails exits and so closes the pipe: this read ends
	 * either way (and the program's watchdog bounds it regardless). */
	char buf[8];
	ssize_t r;
	while ((r = read(ready[0], buf, sizeof buf)) < 0 && errno == EINTR)
		;
	close(ready[0]);
	if (r <= 0)
		fail_msg("objmgrd (%s) did not start", bin);
}

void *share(om_client *from, const void *handle, om_client *to)
{
	om_dict *d, *d2;
	expect_ok(from, om_dict_open(from, "harness.share", OM_CREATE, &d));
	expect_ok(from, om_dict_set(d, om_int(0), om_ref(handle)));
	expect_ok(to, om_dict_open(to, "harness.share", 0, &d2));
	om_item ref;
	expect_ok(to, om_dict_pop(d2, om_int(0), &ref));
	void *h;
	expect_ok(to, om_open_ref(to, &ref, &h));
	om_release(d2);
	om_release(d);
	expect_ok(from, om_unlink(from, "harness.share"));
	return h;
}

size_t server_log(const struct server *s, char *buf, size_t cap)
{
	char log[sizeof s->dir + 8];
	snprintf(log, sizeof log, "%s/log", s->dir);
	buf[0] = '\0';
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

void server_stop(struct server *s)
{
	if (s->pid <= 0)
		return;
	int st = server_end(s);
	assert_int_not_equal(st, -3); /* socket removed */
	assert_int_equal(st, 0);
}

int server_end(struct server *s)
{
	if (s->pid <= 0)
		return 0;
	kill(s->pid, SIGTERM);
	live_set(s->pid, 0);
	int st = reap(s->pid, 20);
	s->pid = 0;
	struct stat sb;
	if (st == 0 && stat(s->path, &sb) == 0) {
		unlink(s->path);
		st = -3;
	}
	if (s->log) {
		char log[sizeof s->dir + 8];
		snprintf(log, sizeof log, "%s/log", s->dir);
		unlink(log);
	}
	if (s->key_file[0])
		unlink(s->key_file);
	s->key_file[0] = '\0';
	rmdir(s->dir);
	return st;
}

int server_crash(struct server *s)
{
	assert_true(s->pid > 0);
	kill(s->pid, SIGKILL);
	live_set(s->pid, 0);
	int st = reap(s->pid, 20);
	s->pid = 0;
	return st;
}

int server_run(const char *const *args)
{
	const char *bin = server_bin();
	const char *argv[16] = {bin};
	size_t n = 1;
	for (size_t i = 0; args && args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execvp(bin, (char *const *)argv);
		_exit(127);
	}
	return reap(pid, 20);
}

om_client *client(const struct server *s)
{
	om_client *c = NULL;
	int rc = om_connect(s->path, &c);
	if (rc)
		fail_msg("om_connect(%s) = %s", s->path, om_strerror(rc));
	return c;
}

om_dict *new_dict(om_client *c)
{
	om_dict *d = NULL;
	expect_ok(c, om_dict_open(c, NULL, 0, &d));
	assert_non_null(d);
	return d;
}

om_list *new_list(om_client *c)
{
	om_list *l = NULL;
	expect_ok(c, om_list_open(c, NULL, 0, &l));
	assert_non_null(l);
	return l;
}

om_queue *new_queue(om_client *c, size_t maxsize)
{
	om_queue *q = NULL;
	expect_ok(c, om_queue_open(c, NULL, 0, maxsize, &q));
	assert_non_null(q);
	return q;
}

pid_t spawn_child(int (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(60); /* a child never outlives a stuck test */
		_exit(fn(arg));
	}
	return pid;
}

struct child_end {
	pid_t pid;
	int status;
	bool lost; /* waitpid failed: nothing to wait for */
};

static bool child_ended(void *p)
{
	struct child_end *e = p;
	pid_t r = waitpid(e->pid, &e->status, WNOHANG);
	if (r < 0 && errno != EINTR)
		e->lost = true;
	return r == e->pid || e->lost;
}

int reap(pid_t pid, int seconds)
{
	struct child_end e = {.pid = pid};
	if (!poll_until(child_ended, &e, seconds)) {
		kill(pid, SIGKILL);
		waitpid(pid, &e.status, 0);
		return -2;
	}
	if (e.lost)
		return -1;
	return WIFEXITED(e.status) ? WEXITSTATUS(e.status) : -1;
}

void reap_all_(const pid_t *pids, int n, const char *file, int line)
{
	/* every child is reaped before the test fails: none is left behind
	 * to disturb the next test */
	int bad = 0;
	for (int i = 0; i < n; i++) {
		int st = reap(pids[i], 60);
		if (st != 0) {
			print_error("child %d exited with %d\n", i, st);
			bad++;
		}
	}
	if (bad)
		_fail(file, line);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "test program timed out (watchdog)\n";
	for (size_t i = 0; i < 16; i++)
		if (live[i] > 0)
			kill(live[i], SIGKILL);
	ssize_t w = write(2, msg, sizeof msg - 1);
	(void)w;
	_exit(3);
}

int run_group(const char *name, const struct CMUnitTest *tests, size_t n,
              int seconds, CMFixtureFunction setup, CMFixtureFunction teardown)
{
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	alarm((unsigned)seconds);
	return _cmocka_run_group_tests(name, tests, n, setup, teardown);
}
