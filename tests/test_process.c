/*
 * test_process.c — om_process_*, Python's multiprocessing.Process: what
 * applies of CPython's _TestProcess (exit codes from the return value,
 * is_alive, join with and without a deadline, pid, terminate and kill as
 * -SIGTERM and -SIGKILL, children starting children, many children), and
 * what objmgr promises beyond it: joins from several threads; a freed
 * handle's child reaped at the next start; a daemon dies with its parent
 * even by SIGKILL (and even when the parent dies before the daemon set
 * its PDEATHSIG) while a non-daemon lives on; a daemon cannot start
 * processes (a pool's internal start can); at exit() or the return of fn
 * a process terminates its daemons and joins the rest (freed handles
 * too); a plain fork()'s child leaves its siblings alone; stdio buffered
 * at the start is written once; joins with SIGCHLD ignored and without
 * pidfd_open (ENOSYS); every inherited client and handle works in a
 * child; a parent SIGKILLed while holding a lock, whose child never calls
 * the library and lives on, hands the lock over with OM_OWNER_DIED at
 * once, and a parent's disconnect ends its session while such a child
 * lives (the child closed its copies of the parent's sockets at fork
 * time); bad input is OM_EINVAL.
 *
 * The program is a child subreaper (PR_SET_CHILD_SUBREAPER), so the
 * grandchildren of a middle process it kills become its children: it
 * reaps them and sees how they died.
 */
#include "harness.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Not in objmgr.h: the core a pool's supervisor and workers start with
 * (libclient/internal.h), which a daemon may call. */
int omi_process_start(om_target fn, void *arg, int flags, bool internal,
                      om_process **out);

/* ---------------------------------------------------------------- helpers */

/* A pipe, failing the test if there is none. */
static void make_pipe(int p[2])
{
	assert_int_equal(pipe(p), 0);
}

static void close_pipe(int p[2])
{
	close(p[0]);
	close(p[1]);
}

/* Write / read one int on a pipe (children report pids this way). */
static int send_int(int fd, int v)
{
	return write(fd, &v, sizeof v) == (ssize_t)sizeof v ? 0 : -1;
}

static int recv_int(int fd, int seconds)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int v = -1;
	if (poll(&pfd, 1, seconds * 1000) != 1 ||
	    read(fd, &v, sizeof v) != (ssize_t)sizeof v)
		return -1;
	return v;
}

/*
 * Wait (10 s at most) for `pid` to end and reap it: a grandchild that was
 * reparented to this subreaper, or will be as its parent dies (a dying
 * parent's children are reparented before any of them gets its
 * PDEATHSIG). Its raw wait status, or -1 if it did not end or is not
 * ours.
 */
static int reap_raw(pid_t pid)
{
	int fd = (int)pidfd_open(pid, 0);
	if (fd < 0)
		return -1;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int n = poll(&pfd, 1, 10000);
	close(fd);
	if (n != 1)
		return -1;
	int st;
	pid_t r;
	while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	return r == pid ? st : -1;
}

/* Whether `pid` exists (running, or a zombie not yet reaped). */
static bool exists(pid_t pid)
{
	return kill(pid, 0) == 0;
}

/* Join p (10 s at most) and return its exit code, failing the test if it
 * does not end. */
static int join_code(om_process *p)
{
	int rc = om_process_join(p, 10);
	if (rc != OM_OK) {
		om_process_kill(p);
		om_process_join(p, OM_FOREVER);
	}
	assert_int_equal(rc, OM_OK);
	int code = 1000;
	assert_int_equal(om_process_exitcode(p, &code), OM_OK);
	return code;
}

/* ------------------------------------------------------------- children */

/* Return (int)(intptr_t)arg: the exit code. */
static int child_return(void *arg)
{
	return (int)(intptr_t)arg;
}

/* Wait for a byte on fd arg[0], then return arg[1]. */
struct gate {
	int fd;
	int code;
};

static int child_gate(void *arg)
{
	struct gate *g = arg;
	if (wait_byte(g->fd, 30))
		return 99;
	return g->code;
}

/* Sleep until a signal ends it (30 s at most: never outlive the test). */
static int child_sleep(void *arg)
{
	(void)arg;
	sleep(30);
	return 98;
}

/* ---------------------------------------------------------- _TestProcess */

/* test_process: pid, is_alive, exitcode None while running, join. */
static void test_process(void **state)
{
	(void)state;
	int go[2];
	make_pipe(go);
	struct gate g = {.fd = go[0], .code = 5};
	om_process *p;
	assert_int_equal(om_process_start(child_gate, &g, 0, &p), OM_OK);
	int pid = om_process_pid(p);
	assert_true(pid > 0);
	assert_int_not_equal(pid, getpid());
	assert_true(om_process_is_alive(p));
	int code = 1000;
	assert_int_equal(om_process_exitcode(p, &code), OM_EINVAL);
	assert_int_equal(code, 1000); /* untouched */
	/* test_sentinel's analogue: not ready while it runs */
	assert_int_equal(om_process_join(p, 0), OM_ETIMEOUT);
	assert_int_equal(om_process_join(p, 0.05), OM_ETIMEOUT);
	assert_true(om_process_is_alive(p));

	assert_int_equal(send_byte(go[1]), 0);
	assert_int_equal(om_process_join(p, OM_FOREVER), OM_OK);
	assert_false(om_process_is_alive(p));
	assert_int_equal(om_process_exitcode(p, &code), OM_OK);
	assert_int_equal(code, 5);
	/* joined again: at once, the same status (stored once) */
	assert_int_equal(om_process_join(p, 0), OM_OK);
	assert_int_equal(om_process_join(p, OM_FOREVER), OM_OK);
	assert_int_equal(om_process_exitcode(p, &code), OM_OK);
	assert_int_equal(code, 5);
	assert_int_equal(om_process_pid(p), pid);
	/* reaped: it is gone, not a zombie */
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	/* a signal after the end is nothing, and OM_OK */
	assert_int_equal(om_process_terminate(p), OM_OK);
	assert_int_equal(om_process_kill(p), OM_OK);
	assert_int_equal(om_process_exitcode(p, &code), OM_OK);
	assert_int_equal(code, 5);
	om_process_free(p);
	close_pipe(go);
}

/* Timeouts at the edges: -0.0 and a denormal are one try, a negative
 * one or an infinite one wait without limit. */
static void test_join_timeouts(void **state)
{
	(void)state;
	int go[2];
	make_pipe(go);
	struct gate g = {.fd = go[0], .code = 8};
	om_process *p;
	assert_int_equal(om_process_start(child_gate, &g, 0, &p), OM_OK);
	assert_int_equal(om_process_join(p, -0.0), OM_ETIMEOUT);
	assert_int_equal(om_process_join(p, 1e-300), OM_ETIMEOUT);
	assert_int_equal(om_process_join(p, 1e-3), OM_ETIMEOUT);
	assert_int_equal(send_byte(go[1]), 0);
	assert_int_equal(om_process_join(p, INFINITY), OM_OK);
	assert_int_equal(om_process_join(p, -INFINITY), OM_OK);
	assert_int_equal(om_process_join(p, 1e300), OM_OK);
	assert_int_equal(join_code(p), 8);
	om_process_free(p);
	/* a deadline far off, and -1: both return at the end */
	const double waits[] = {1e300, -1};
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(om_process_start(child_gate, &g, 0, &p),
		                 OM_OK);
		assert_int_equal(send_byte(go[1]), 0);
		assert_int_equal(om_process_join(p, waits[i]), OM_OK);
		assert_int_equal(join_code(p), 8);
		om_process_free(p);
	}
	close_pipe(go);
}

/* test_terminate and test_kill: -SIGTERM and -SIGKILL, as Python. */
static void test_terminate_kill(void **state)
{
	(void)state;
	const int sigs[] = {SIGTERM, SIGKILL};
	for (size_t i = 0; i < 2; i++) {
		om_process *p;
		assert_int_equal(om_process_start(child_sleep, NULL, 0, &p),
		                 OM_OK);
		assert_int_equal(om_process_join(p, 0), OM_ETIMEOUT);
		if (sigs[i] == SIGTERM)
			assert_int_equal(om_process_terminate(p), OM_OK);
		else
			assert_int_equal(om_process_kill(p), OM_OK);
		assert_int_equal(join_code(p), -sigs[i]);
		assert_false(om_process_is_alive(p));
		om_process_free(p);
	}
}

/* test_exitcode: the return value is the exit status, & 0xff. */
static void test_exitcode(void **state)
{
	(void)state;
	const int ret[] = {0, 1, 255, 256, 257, -1};
	const int want[] = {0, 1, 255, 0, 1, 255};
	for (size_t i = 0; i < sizeof ret / sizeof *ret; i++) {
		om_process *p;
		assert_int_equal(om_process_start(child_return,
		                                  (void *)(intptr_t)ret[i], 0,
		                                  &p),
		                 OM_OK);
		assert_int_equal(join_code(p), want[i]);
		om_process_free(p);
	}
}

/* test_recursion: children start children (non-daemon), each records its
 * place in the tree in a list inherited from the test; the tree is
 * walked depth-first, each child joining its own before returning. */
struct tree {
	om_list *l;
	int id;
	int depth;
};

static int child_tree(void *arg)
{
	struct tree *t = arg;
	if (om_list_append(t->l, om_int(t->id)) != OM_OK)
		return 1;
	if (t->depth == 0)
		return 0;
	for (int i = 0; i < 2; i++) {
		struct tree sub = {.l = t->l,
		                   .id = t->id * 10 + i + 1,
		                   .depth = t->depth - 1};
		om_process *p;
		if (om_process_start(child_tree, &sub, 0, &p) != OM_OK)
			return 2;
		int code = -1;
		if (om_process_join(p, 30) != OM_OK ||
		    om_process_exitcode(p, &code) != OM_OK || code != 0)
			return 3;
		om_process_free(p);
	}
	return 0;
}

static void test_recursion(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_list *l = new_list(c);
	struct tree t = {.l = l, .id = 0, .depth = 2};
	om_process *p;
	assert_int_equal(om_process_start(child_tree, &t, 0, &p), OM_OK);
	assert_int_equal(join_code(p), 0);
	om_process_free(p);
	/* Python's test_recursion: the same order, by depth-first joins */
	const int want[] = {0, 1, 11, 12, 2, 21, 22};
	size_t n = 0;
	expect_ok(c, om_list_len(l, &n));
	assert_int_equal(n, 7);
	for (size_t i = 0; i < n; i++) {
		om_item it;
		expect_ok(c, om_list_get(l, (int64_t)i, &it));
		assert_int_item(&it, want[i]);
	}
	om_release(l);
	om_disconnect(c);
}

/* test_many_processes: 50 exit codes; then 50 sleepers terminated and 50
 * killed, each with its signal's code. */
enum { NMANY = 50 };

static void test_many_processes(void **state)
{
	(void)state;
	om_process *p[NMANY];
	for (int i = 0; i < NMANY; i++)
		assert_int_equal(om_process_start(child_return,
		                                  (void *)(intptr_t)(i * 5), 0,
		                                  &p[i]),
		                 OM_OK);
	for (int i = 0; i < NMANY; i++) {
		assert_int_equal(join_code(p[i]), i * 5);
		om_process_free(p[i]);
	}
	const int sigs[] = {SIGTERM, SIGKILL};
	for (size_t s = 0; s < 2; s++) {
		for (int i = 0; i < NMANY; i++)
			assert_int_equal(
			        om_process_start(child_sleep, NULL, 0, &p[i]),
			        OM_OK);
		for (int i = 0; i < NMANY; i++)
			assert_int_equal(sigs[s] == SIGTERM
			                         ? om_process_terminate(p[i])
			                         : om_process_kill(p[i]),
			                 OM_OK);
		for (int i = 0; i < NMANY; i++) {
			assert_int_equal(join_code(p[i]), -sigs[s]);
			om_process_free(p[i]);
		}
	}
}

/* Two threads join one child without limit; both see it end. */
struct joiner {
	om_process *p;
	int rc;
};

static void *thread_join(void *arg)
{
	struct joiner *j = arg;
	j->rc = om_process_join(j->p, OM_FOREVER);
	return NULL;
}

static void test_join_two_threads(void **state)
{
	(void)state;
	int go[2];
	make_pipe(go);
	struct gate g = {.fd = go[0], .code = 17};
	om_process *p;
	assert_int_equal(om_process_start(child_gate, &g, 0, &p), OM_OK);
	struct joiner j[2] = {{.p = p, .rc = 1}, {.p = p, .rc = 1}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(
		        pthread_create(&t[i], NULL, thread_join, &j[i]), 0);
	assert_int_equal(send_byte(go[1]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(j[i].rc, OM_OK);
	}
	assert_int_equal(join_code(p), 17);
	om_process_free(p);
	close_pipe(go);
}

/* Threads that start and join children at the same time: each sees
 * its own children's exit codes. */
enum { NTHREADS = 4, PER_THREAD = 10 };

static void *thread_starts(void *arg)
{
	intptr_t base = (intptr_t)arg, bad = 0;
	for (int i = 0; i < PER_THREAD; i++) {
		om_process *p;
		int code = -1, want = (int)base + i;
		if (om_process_start(child_return, (void *)(intptr_t)want, 0,
		                     &p)) {
			bad++;
			continue;
		}
		if (om_process_join(p, 10) || om_process_exitcode(p, &code) ||
		    code != want)
			bad++;
		om_process_free(p);
	}
	return (void *)bad;
}

static void test_threads_start(void **state)
{
	(void)state;
	pthread_t t[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_starts,
		                                (void *)(intptr_t)(i * 20)),
		                 0);
	for (int i = 0; i < NTHREADS; i++) {
		void *bad;
		pthread_join(t[i], &bad);
		assert_int_equal((intptr_t)bad, 0);
	}
}

/* A handle freed while its child runs: the child, once ended, is reaped
 * at the next start (as Python's _cleanup()), not left a zombie until
 * exit. */
static void test_freed_reaped_at_next_start(void **state)
{
	(void)state;
	int go[2];
	make_pipe(go);
	struct gate g = {.fd = go[0], .code = 0};
	om_process *p, *q;
	assert_int_equal(om_process_start(child_gate, &g, 0, &p), OM_OK);
	int pid = om_process_pid(p);
	int fd = (int)pidfd_open(pid, 0);
	assert_true(fd >= 0);
	om_process_free(p);
	assert_int_equal(send_byte(go[1]), 0);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 10000), 1); /* ended: a zombie */
	close(fd);
	assert_true(exists(pid));
	assert_int_equal(om_process_start(child_return, NULL, 0, &q), OM_OK);
	assert_false(exists(pid)); /* reaped */
	assert_int_equal(join_code(q), 0);
	om_process_free(q);
	close_pipe(go);
}

/* ------------------------------------------------------------- daemons */

/* The middle process of test_daemon_dies_with_parent: starts a daemon
 * that reports its pid once running (so after its PDEATHSIG is set) and
 * a non-daemon that waits for a byte, reports the non-daemon's pid and
 * sleeps until killed. */
struct middle {
	int up;  /* the non-daemon's pid goes here */
	int dup; /* the daemon's, from the daemon */
	int go;  /* the non-daemon grandchild waits for a byte here */
};

static int child_daemon_report(void *arg)
{
	struct middle *m = arg;
	if (send_int(m->dup, getpid()))
		return 1;
	sleep(30);
	return 2;
}

static int child_middle(void *arg)
{
	struct middle *m = arg;
	struct gate g = {.fd = m->go, .code = 7};
	om_process *d, *n;
	if (om_process_start(child_daemon_report, m, OM_DAEMON, &d) ||
	    om_process_start(child_gate, &g, 0, &n))
		return 1;
	if (send_int(m->up, om_process_pid(n)))
		return 2;
	sleep(30);
	return 3;
}

static void test_daemon_dies_with_parent(void **state)
{
	(void)state;
	int up[2], dup[2], go[2];
	make_pipe(up);
	make_pipe(dup);
	make_pipe(go);
	struct middle m = {.up = up[1], .dup = dup[1], .go = go[0]};
	om_process *mid;
	assert_int_equal(om_process_start(child_middle, &m, 0, &mid), OM_OK);
	int d = recv_int(dup[0], 10), n = recv_int(up[0], 10);
	assert_true(d > 0 && n > 0);
	assert_true(exists(d) && exists(n));

	assert_int_equal(om_process_kill(mid), OM_OK);
	assert_int_equal(join_code(mid), -SIGKILL);
	om_process_free(mid);
	/* the daemon went with its parent, by the PDEATHSIG */
	int st = reap_raw(d);
	assert_true(st != -1 && WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	/* the non-daemon lives on (now ours, the subreaper's) */
	assert_int_equal(waitpid(n, &st, WNOHANG), 0);
	assert_true(exists(n));
	assert_int_equal(send_byte(go[1]), 0);
	st = reap_raw(n);
	assert_true(st != -1 && WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 7);
	close_pipe(up);
	close_pipe(dup);
	close_pipe(go);
}

/* A middle that starts a daemon and is gone at once (_exit, no exit
 * handler): the daemon may not even have set its PDEATHSIG yet. */
static int child_quitter(void *arg)
{
	int up = *(int *)arg;
	om_process *d;
	if (om_process_start(child_sleep, NULL, OM_DAEMON, &d))
		_exit(1);
	send_int(up, om_process_pid(d));
	_exit(0);
}

/* The race of a parent that dies before its daemon child set
 * PR_SET_PDEATHSIG: the daemon sees another parent and leaves at once
 * (exit 1), or was set in time and is killed. Never does it live on. */
static void test_daemon_parent_gone_at_once(void **state)
{
	(void)state;
	int up[2];
	make_pipe(up);
	for (int i = 0; i < 20; i++) {
		om_process *mid;
		assert_int_equal(
		        om_process_start(child_quitter, &up[1], 0, &mid),
		        OM_OK);
		int d = recv_int(up[0], 10);
		assert_true(d > 0);
		assert_int_equal(join_code(mid), 0);
		om_process_free(mid);
		int st = reap_raw(d);
		assert_true(st != -1);
		assert_true((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) ||
		            (WIFEXITED(st) && WEXITSTATUS(st) == 1));
	}
	close_pipe(up);
}

/* A daemon reports what om_process_start (and the internal start a pool
 * uses) answer in it. */
static int child_daemon_starts(void *arg)
{
	(void)arg;
	om_process *p = NULL;
	if (om_process_start(child_return, NULL, 0, &p) != OM_EINVAL || p)
		return 1;
	if (om_process_start(child_return, NULL, OM_DAEMON, &p) != OM_EINVAL)
		return 2;
	/* internal: a pool's supervisor starting its (daemon) workers */
	if (omi_process_start(child_return, (void *)(intptr_t)9, OM_DAEMON,
	                      true, &p) != OM_OK)
		return 3;
	int code = -1;
	if (om_process_join(p, 10) != OM_OK ||
	    om_process_exitcode(p, &code) != OM_OK || code != 9)
		return 4;
	om_process_free(p);
	return 0;
}

static void test_daemon_cannot_start(void **state)
{
	(void)state;
	om_process *p;
	assert_int_equal(
	        om_process_start(child_daemon_starts, NULL, OM_DAEMON, &p),
	        OM_OK);
	assert_int_equal(join_code(p), 0);
	om_process_free(p);
	/* and this (non-daemon) process still may */
	assert_int_equal(
	        om_process_start(child_return, (void *)(intptr_t)3, 0, &p),
	        OM_OK);
	assert_int_equal(join_code(p), 3);
	om_process_free(p);
}

/* ------------------------------------------------------------ exit time */

/* Daemon grandchild: reports SIGTERM on a pipe, then dies of it. */
static int term_fd = -1;

static void on_term(int sig)
{
	char b = 'T';
	if (write(term_fd, &b, 1) < 0) {
		/* nothing to do: the test sees no byte */
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

struct exiter {
	int up;      /* to the test: the middle's 'R', the daemon's 'T' */
	int ready_r; /* the daemon's 'D' to the middle: its handler is set */
	int ready_w;
	int go;   /* the non-daemon grandchild waits for a byte here */
	int done; /* the non-daemon grandchild writes 'G' here, then ends */
	bool by_return; /* the middle returns from its function, not exit() */
};

static int child_term_reporter(void *arg)
{
	struct exiter *e = arg;
	term_fd = e->up;
	signal(SIGTERM, on_term);
	if (send_byte(e->ready_w))
		return 1;
	sleep(30);
	return 2;
}

static int child_late_writer(void *arg)
{
	struct exiter *e = arg;
	if (wait_byte(e->go, 30))
		return 1;
	char b = 'G';
	return write(e->done, &b, 1) == 1 ? 0 : 2;
}

/* Starts both grandchildren, frees the non-daemon's handle, and leaves by
 * exit() or by returning: either way the daemon must be terminated and
 * the other joined (the atexit handler, or the same code after fn). */
static int child_exiter(void *arg)
{
	struct exiter *e = arg;
	om_process *d, *n;
	if (om_process_start(child_term_reporter, e, OM_DAEMON, &d) ||
	    wait_byte(e->ready_r, 10) ||
	    om_process_start(child_late_writer, e, 0, &n))
		exit(1);
	om_process_free(n); /* joined at the end all the same */
	if (e->by_return)
		om_process_free(d); /* and terminated all the same */
	char b = 'R';
	if (write(e->up, &b, 1) != 1)
		exit(2);
	if (e->by_return)
		return 0;
	exit(0);
}

/* Read one byte from fd (10 s at most), or 0. */
static char read_char(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char b = 0;
	if (poll(&pfd, 1, 10000) != 1 || read(fd, &b, 1) != 1)
		return 0;
	return b;
}

/* One middle, leaving by exit() or by return. */
static void exit_case(bool by_return)
{
	int up[2], ready[2], go[2], done[2];
	make_pipe(up);
	make_pipe(ready);
	make_pipe(go);
	make_pipe(done);
	struct exiter e = {.up = up[1],
	                   .ready_r = ready[0],
	                   .ready_w = ready[1],
	                   .go = go[0],
	                   .done = done[1],
	                   .by_return = by_return};
	om_process *mid;
	assert_int_equal(om_process_start(child_exiter, &e, 0, &mid), OM_OK);
	assert_int_equal(read_char(up[0]), 'R');
	/* its end sent the daemon SIGTERM; the non-daemon still waits for
	 * go, so the middle is still joining it */
	assert_int_equal(read_char(up[0]), 'T');
	assert_true(om_process_is_alive(mid));
	struct pollfd pfd = {.fd = done[0], .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_int_equal(send_byte(go[1]), 0);
	assert_int_equal(join_code(mid), 0);
	om_process_free(mid);
	/* the non-daemon's byte came before the middle ended */
	assert_int_equal(poll(&pfd, 1, 0), 1);
	assert_int_equal(read_char(done[0]), 'G');
	close_pipe(up);
	close_pipe(ready);
	close_pipe(go);
	close_pipe(done);
}

static void test_exit_joins_and_terminates(void **state)
{
	(void)state;
	exit_case(false);
}

/* Python's _bootstrap does the same after the target returns. */
static void test_return_joins_and_terminates(void **state)
{
	(void)state;
	exit_case(true);
}

/* A plain fork()'s child has no children of this library: its exit()
 * neither terminates nor waits for its siblings. */
static om_process *sibling;

static int child_plain_fork(void *arg)
{
	(void)arg;
	if (om_process_is_alive(sibling) || om_process_pid(sibling) != 0 ||
	    om_process_join(sibling, 0) != OM_EINVAL)
		exit(1);
	exit(0); /* runs the library's exit handler: nothing to do */
}

static void test_plain_fork_child(void **state)
{
	(void)state;
	int go[2];
	make_pipe(go);
	struct gate g = {.fd = go[0], .code = 4};
	assert_int_equal(om_process_start(child_gate, &g, OM_DAEMON, &sibling),
	                 OM_OK);
	pid_t f = spawn_child(child_plain_fork, NULL);
	assert_int_equal(reap(f, 10), 0);
	assert_true(om_process_is_alive(sibling));
	assert_int_equal(send_byte(go[1]), 0);
	assert_int_equal(join_code(sibling), 4);
	om_process_free(sibling);
	close_pipe(go);
}

/* Output buffered before the start is written once: by the parent. */
struct out_arg {
	FILE *f;
};

static int child_print(void *arg)
{
	struct out_arg *o = arg;
	fputs("c", o->f); /* flushed by the child's own exit */
	return 0;
}

static void test_stdio_once(void **state)
{
	(void)state;
	int p[2];
	make_pipe(p);
	FILE *f = fdopen(p[1], "w");
	assert_non_null(f);
	static char buf[256];
	setvbuf(f, buf, _IOFBF, sizeof buf);
	fputs("x", f);
	struct out_arg o = {.f = f};
	om_process *c;
	assert_int_equal(om_process_start(child_print, &o, 0, &c), OM_OK);
	assert_int_equal(join_code(c), 0);
	om_process_free(c);
	fputs("y", f);
	fclose(f);
	char got[16] = {0};
	ssize_t n = read(p[0], got, sizeof got - 1);
	assert_int_equal(n, 3);
	assert_string_equal(got, "xcy");
	close(p[0]);
}

/* A program that ignores SIGCHLD has its children reaped by the kernel:
 * join still returns at their end (never waits forever), and the status,
 * which is lost, reads as 0 (objmgr.h). */
static void test_sigchld_ignored(void **state)
{
	(void)state;
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;
	assert_int_equal(sigaction(SIGCHLD, &ign, &old), 0);
	int go[2];
	make_pipe(go);
	struct gate g = {.fd = go[0], .code = 3};
	om_process *p;
	assert_int_equal(om_process_start(child_gate, &g, 0, &p), OM_OK);
	assert_true(om_process_is_alive(p));
	assert_int_equal(om_process_join(p, 0), OM_ETIMEOUT);
	assert_int_equal(send_byte(go[1]), 0);
	assert_int_equal(om_process_join(p, 10), OM_OK);
	int code = -1;
	assert_int_equal(om_process_exitcode(p, &code), OM_OK);
	assert_int_equal(code, 0);
	om_process_free(p);
	assert_int_equal(sigaction(SIGCHLD, &old, NULL), 0);
	close_pipe(go);
}

/* Make system calls a and b (b may be a again) fail with errno `err` in
 * this process, by a seccomp filter (every other call is allowed). */
static int deny(long a, long b, int err)
{
	struct sock_filter f[] = {
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	                 offsetof(struct seccomp_data, nr)),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)a, 1, 0),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)b, 0, 1),
	        BPF_STMT(BPF_RET | BPF_K,
	                 SECCOMP_RET_ERRNO | ((unsigned)err & 0xffff)),
	        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof f / sizeof *f, .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return -1;
	return 0;
}

/* pidfd_open(2) fails with ENOSYS in this process, as on a kernel before
 * 5.3. */
static int no_pidfd(void)
{
	if (deny(SYS_pidfd_open, SYS_pidfd_open, ENOSYS))
		return -1;
	return pidfd_open(getpid(), 0) < 0 && errno == ENOSYS ? 0 : -1;
}

/* In a process without pidfd_open: join by the waitpid() fallback, with
 * and without a deadline. */
static int child_no_pidfd(void *arg)
{
	(void)arg;
	if (no_pidfd())
		return 1;
	int go[2];
	if (pipe(go))
		return 2;
	struct gate g = {.fd = go[0], .code = 12};
	om_process *p;
	if (om_process_start(child_gate, &g, 0, &p))
		return 3;
	if (om_process_join(p, 0) != OM_ETIMEOUT ||
	    om_process_join(p, 0.05) != OM_ETIMEOUT || !om_process_is_alive(p))
		return 4;
	if (send_byte(go[1]) || om_process_join(p, OM_FOREVER) != OM_OK)
		return 5;
	int code = -1;
	if (om_process_exitcode(p, &code) || code != 12)
		return 6;
	om_process_free(p);
	if (om_process_start(child_sleep, NULL, 0, &p) || om_process_kill(p) ||
	    om_process_join(p, 10) != OM_OK || om_process_exitcode(p, &code) ||
	    code != -SIGKILL)
		return 7;
	om_process_free(p);
	return 0;
}

static void test_join_without_pidfd(void **state)
{
	(void)state;
	om_process *p;
	assert_int_equal(om_process_start(child_no_pidfd, NULL, 0, &p), OM_OK);
	assert_int_equal(join_code(p), 0);
	om_process_free(p);
}

/* In a process whose fork() fails (clone and clone3 refused with errno
 * *arg): om_process_start's answer, and nothing handed out. */
static int child_fork_fails(void *arg)
{
	int err = *(int *)arg;
	if (deny(SYS_clone, SYS_clone3, err))
		return 1;
	om_process *p = NULL;
	int rc = om_process_start(child_return, NULL, 0, &p);
	if (p)
		return 2;
	if (rc != (err == ENOMEM ? OM_ENOMEM : OM_ELIMIT))
		return 3;
	return 0;
}

static void test_fork_fails(void **state)
{
	(void)state;
	int errs[] = {EAGAIN, ENOMEM};
	for (size_t i = 0; i < 2; i++) {
		om_process *p;
		assert_int_equal(
		        om_process_start(child_fork_fails, &errs[i], 0, &p),
		        OM_OK);
		assert_int_equal(join_code(p), 0);
		om_process_free(p);
	}
}

/* ------------------------------------------------------ objects in a child */

struct objs {
	om_dict *d;
	om_list *l;
	om_value *v;
	om_lock *k;
};

static int child_objs(void *arg)
{
	struct objs *o = arg;
	if (om_dict_set(o->d, om_str("child"), om_int(getpid())) != OM_OK ||
	    om_list_append(o->l, om_str("from child")) != OM_OK ||
	    om_value_add(o->v, om_int(40), NULL) != OM_OK)
		return 1;
	int rc = om_lock_acquire(o->k, 10);
	if (rc != OM_OK || om_lock_release(o->k) != OM_OK)
		return 2;
	return 0;
}

static void test_inherited_objects(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	struct objs o = {.d = new_dict(c), .l = new_list(c)};
	expect_ok(c, om_value_open(c, NULL, 0, om_int(2), &o.v));
	expect_ok(c, om_lock_open(c, NULL, 0, &o.k));
	om_process *p;
	assert_int_equal(om_process_start(child_objs, &o, 0, &p), OM_OK);
	int pid = om_process_pid(p);
	assert_int_equal(join_code(p), 0);
	om_process_free(p);
	om_item it;
	expect_ok(c, om_dict_get(o.d, om_str("child"), &it));
	assert_int_item(&it, pid);
	expect_ok(c, om_list_get(o.l, 0, &it));
	assert_str_item(&it, "from child");
	om_item_free(&it);
	expect_ok(c, om_value_get(o.v, &it));
	assert_int_item(&it, 42);
	/* the child released the lock: ours at once */
	expect_ok(c, om_lock_acquire(o.k, 0));
	expect_ok(c, om_lock_release(o.k));
	om_release(o.d);
	om_release(o.l);
	om_release(o.v);
	om_release(o.k);
	om_disconnect(c);
}

/* A child parked in the server (a queue get) or asleep on a mapped lock,
 * killed or terminated: its exit code says so, the server lets go of
 * its call, and what it was waiting for is intact. */
struct parked {
	om_queue *q;
	om_lock *k;
};

static int child_get_forever(void *arg)
{
	struct parked *a = arg;
	om_item it;
	int rc = om_queue_get(a->q, &it, OM_FOREVER);
	return rc == OM_OK ? 1 : 2; /* never: the test kills it first */
}

static int child_acquire_forever(void *arg)
{
	struct parked *a = arg;
	return om_lock_acquire(a->k, OM_FOREVER) >= 0 ? 1 : 2;
}

static void test_kill_blocked_child(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	struct parked a = {.q = new_queue(c, 0)};
	expect_ok(c, om_lock_open(c, NULL, 0, &a.k));
	expect_ok(c, om_lock_acquire(a.k, 0));
	om_target fns[] = {child_get_forever, child_acquire_forever};
	const int sigs[] = {SIGKILL, SIGTERM};
	for (size_t f = 0; f < 2; f++) {
		for (size_t s = 0; s < 2; s++) {
			om_process *p;
			assert_int_equal(om_process_start(fns[f], &a, 0, &p),
			                 OM_OK);
			wait_blocked(c, om_process_pid(p), base.parked + 1);
			assert_int_equal(sigs[s] == SIGKILL
			                         ? om_process_kill(p)
			                         : om_process_terminate(p),
			                 OM_OK);
			assert_int_equal(join_code(p), -sigs[s]);
			om_process_free(p);
			wait_stat(c, parked, base.parked);
		}
	}
	/* nothing was taken: the queue still hands out, the lock is ours */
	expect_ok(c, om_queue_put(a.q, om_int(5), 0));
	om_item it;
	expect_ok(c, om_queue_get(a.q, &it, 0));
	assert_int_item(&it, 5);
	expect_ok(c, om_lock_release(a.k));
	expect_ok(c, om_lock_acquire(a.k, 0));
	expect_ok(c, om_lock_release(a.k));
	om_release(a.q);
	om_release(a.k);
	om_disconnect(c);
}

/* ------------------------------------------------- the inherited socket */

/* A parent with its own session: takes the lock, starts a child that
 * never calls the library and waits for a byte, reports, sleeps. */
struct holder {
	const char *name;
	int up, go;
};

static int child_holder(void *arg)
{
	struct holder *h = arg;
	om_client *c;
	om_lock *k;
	if (om_connect(srv.path, &c) || om_lock_open(c, h->name, 0, &k))
		return 1;
	int rc = om_lock_acquire(k, 10);
	if (rc != OM_OK)
		return 2;
	struct gate g = {.fd = h->go, .code = 6};
	om_process *p;
	if (om_process_start(child_gate, &g, 0, &p) ||
	    send_int(h->up, om_process_pid(p)))
		return 3;
	sleep(30);
	return 4;
}

static void test_parent_killed_child_lives(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	settle(c);
	const char *name = "test_process.held";
	om_lock *k;
	expect_ok(c, om_lock_open(c, name, OM_CREATE, &k));
	int up[2], go[2];
	make_pipe(up);
	make_pipe(go);
	struct holder h = {.name = name, .up = up[1], .go = go[0]};
	om_process *mid;
	assert_int_equal(om_process_start(child_holder, &h, 0, &mid), OM_OK);
	int gc = recv_int(up[0], 10);
	assert_true(gc > 0);
	/* held by the middle's session */
	expect_rc(c, om_lock_acquire(k, 0), OM_ETIMEOUT);
	assert_int_equal(om_process_kill(mid), OM_OK);
	assert_int_equal(join_code(mid), -SIGKILL);
	om_process_free(mid);
	/* The grandchild lives on, having never called the library; the
	 * middle's session ended all the same: the lock is handed over
	 * (the 10 s are a bound on a hang, not a wait for the child). */
	assert_true(exists(gc));
	expect_rc(c, om_lock_acquire(k, 10), OM_OWNER_DIED);
	assert_true(exists(gc));
	assert_int_equal(waitpid(gc, NULL, WNOHANG), 0);
	expect_ok(c, om_lock_release(k));
	assert_int_equal(send_byte(go[1]), 0);
	int st = reap_raw(gc);
	assert_true(st != -1 && WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 6);
	expect_ok(c, om_unlink(c, name));
	om_release(k);
	om_disconnect(c);
	close_pipe(up);
	close_pipe(go);
}

/* A child that never calls the library holds no connection of the
 * parent's: the server counts only the parent's while it runs. */
static void test_child_holds_no_connection(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	assert_int_equal(base.connections, 1);
	int go[2];
	make_pipe(go);
	struct gate g = {.fd = go[0], .code = 0};
	om_process *p;
	assert_int_equal(om_process_start(child_gate, &g, 0, &p), OM_OK);
	/* Our disconnect must end our session while the child lives: a
	 * second client sees one connection, its own. */
	om_disconnect(c);
	om_client *c2 = client(&srv);
	wait_stat(c2, connections, 1);
	assert_true(om_process_is_alive(p));
	assert_int_equal(send_byte(go[1]), 0);
	assert_int_equal(join_code(p), 0);
	om_process_free(p);
	om_disconnect(c2);
	close_pipe(go);
}

/* ------------------------------------------------------------ bad input */

static void test_bad_input(void **state)
{
	(void)state;
	om_process *p = NULL;
	assert_int_equal(om_process_start(NULL, NULL, 0, &p), OM_EINVAL);
	assert_null(p);
	assert_int_equal(om_process_start(child_return, NULL, 0, NULL),
	                 OM_EINVAL);
	const int flags[] = {1, OM_DAEMON | 1, -1, 0x200, OM_DAEMON << 1};
	for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
		assert_int_equal(
		        om_process_start(child_return, NULL, flags[i], &p),
		        OM_EINVAL);
		assert_null(p);
	}
	int code = 1000;
	assert_int_equal(om_process_join(NULL, 0), OM_EINVAL);
	assert_int_equal(om_process_join(NULL, OM_FOREVER), OM_EINVAL);
	assert_false(om_process_is_alive(NULL));
	assert_int_equal(om_process_exitcode(NULL, &code), OM_EINVAL);
	assert_int_equal(om_process_pid(NULL), 0);
	assert_int_equal(om_process_terminate(NULL), OM_EINVAL);
	assert_int_equal(om_process_kill(NULL), OM_EINVAL);
	om_process_free(NULL);
	/* a pointer that is no handle of ours */
	om_process *bogus = (om_process *)&code;
	assert_int_equal(om_process_join(bogus, 0), OM_EINVAL);
	assert_false(om_process_is_alive(bogus));
	assert_int_equal(om_process_pid(bogus), 0);
	assert_int_equal(om_process_kill(bogus), OM_EINVAL);
	om_process_free(bogus);
	assert_int_equal(code, 1000);

	/* a running child: NULL output, NaN timeout */
	assert_int_equal(om_process_start(child_sleep, NULL, 0, &p), OM_OK);
	assert_int_equal(om_process_exitcode(p, NULL), OM_EINVAL);
	assert_int_equal(om_process_join(p, NAN), OM_EINVAL);
	/* freed while it runs: the handle is no longer valid (the child is
	 * still joined at exit, so it is killed first here) */
	int pid = om_process_pid(p);
	assert_true(pid > 0);
	assert_int_equal(om_process_kill(p), OM_OK);
	om_process_free(p);
	assert_int_equal(om_process_join(p, 0), OM_EINVAL);
	assert_int_equal(om_process_pid(p), 0);
	assert_int_equal(om_process_terminate(p), OM_EINVAL);
	assert_false(om_process_is_alive(p));
	om_process_free(p); /* twice: nothing */
}

static int setup(void **state)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		return -1;
	return srv_setup(state);
}

/* fork() in one thread while another is blocked in a call on its own
 * client (one client per thread): the forking thread skips that client
 * (FORK would land inside the other thread's call), so neither hangs and
 * the blocked call gets its item. */
struct blocked_get {
	om_queue *q;
	int rc;
	int64_t got;
};

static void *thread_get(void *arg)
{
	struct blocked_get *g = arg;
	om_item it;
	g->rc = om_queue_get(g->q, &it, 60);
	if (g->rc == OM_OK)
		g->got = it.i;
	return NULL;
}

static void test_fork_beside_blocked_thread(void **state)
{
	(void)state;
	om_client *c2 = client(&srv);
	om_server_stats base = settle(c2);
	om_client *c1 = client(&srv);
	om_queue *q1, *q2;
	expect_ok(c1, om_queue_open(c1, "fork-beside", OM_CREATE, 0, &q1));
	expect_ok(c2, om_queue_open(c2, "fork-beside", 0, 0, &q2));
	struct blocked_get g = {.q = q1};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, thread_get, &g), 0);
	wait_stat(c2, parked, base.parked + 1);
	om_process *p;
	assert_int_equal(om_process_start(child_return, NULL, 0, &p), OM_OK);
	assert_int_equal(om_process_join(p, 30), OM_OK);
	om_process_free(p);
	expect_ok(c2, om_queue_put(q2, om_int(7), 10));
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(g.rc, OM_OK);
	assert_int_equal(g.got, 7);
	expect_ok(c2, om_unlink(c2, "fork-beside"));
	om_release(q1);
	om_release(q2);
	om_disconnect(c1);
	om_disconnect(c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_process),
	        cmocka_unit_test(test_join_timeouts),
	        cmocka_unit_test(test_terminate_kill),
	        cmocka_unit_test(test_exitcode),
	        cmocka_unit_test(test_recursion),
	        cmocka_unit_test(test_many_processes),
	        cmocka_unit_test(test_join_two_threads),
	        cmocka_unit_test(test_threads_start),
	        cmocka_unit_test(test_freed_reaped_at_next_start),
	        cmocka_unit_test(test_daemon_dies_with_parent),
	        cmocka_unit_test(test_daemon_parent_gone_at_once),
	        cmocka_unit_test(test_daemon_cannot_start),
	        cmocka_unit_test(test_exit_joins_and_terminates),
	        cmocka_unit_test(test_return_joins_and_terminates),
	        cmocka_unit_test(test_plain_fork_child),
	        cmocka_unit_test(test_stdio_once),
	        cmocka_unit_test(test_sigchld_ignored),
	        cmocka_unit_test(test_join_without_pidfd),
	        cmocka_unit_test(test_fork_fails),
	        cmocka_unit_test(test_inherited_objects),
	        cmocka_unit_test(test_kill_blocked_child),
	        cmocka_unit_test(test_parent_killed_child_lives),
	        cmocka_unit_test(test_child_holds_no_connection),
	        cmocka_unit_test(test_bad_input),
	        cmocka_unit_test(test_fork_beside_blocked_thread),
	};
	return RUN(tests, 110, setup, srv_teardown);
}
