/*
 * test_shm.c — shared memory (issue 9): arrays, numeric values, locks,
 * semaphores and events mapped into the clients, with the same API and the
 * same session guarantees as over RPC. What it proves, each across real
 * processes on a real server:
 *
 *  - adds from four processes (inherited handles and own connections) are
 *    exact; a writer SIGKILLed at a random moment never leaves a mixed row,
 *    and the array stays usable by everyone;
 *  - a process killed holding an array lock, a lock or an rlock (depth 3)
 *    hands it over with OM_OWNER_DIED exactly once, its data readable;
 *  - semaphore and event waiters are woken across processes; contended
 *    waits honour their timeouts; om_array_lock keeps other clients'
 *    om_array_read/write out, never single-element calls;
 *  - a shm client and an OBJMGR_SHM=0 (RPC) client exclude each other on
 *    one lock; a condition over a shm lock loses no wake-up;
 *  - om_is_shared per type and per value kind, om_value_get right across
 *    the transitions, om_array_map writes seen by om_array_get;
 *  - segments are freed with their objects (om_stats segments/mapped), and
 *    /dev/shm is never touched;
 *  - a client that ftruncate()s or scribbles over its segments cannot
 *    crash the server.
 *
 * The whole suite also runs with OBJMGR_SHM=0 (tests/run --no-shm): every
 * test then checks the same semantics over RPC, and the assertions about
 * mapping itself are made only when shm_on().
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

/*
 * What a test leaves behind when an assertion fails part-way (cmocka jumps
 * out of it): its clients, its unreaped children, a second server. The
 * per-test teardown (drop_leftovers) ends them, so one failure does not
 * make the later tests fail too (settle() would wait for its connections).
 * Tests open clients with tclient(), fork with tspawn(), and end them as
 * usual with tdisconnect() and reap().
 */
enum { MAXLEFT = 64 };
static om_client *left_clients[MAXLEFT];
static pid_t left_pids[MAXLEFT];
static struct server *left_server;

static om_client *tclient(void)
{
	om_client *c = client(&srv);
	for (size_t i = 0; i < MAXLEFT; i++) {
		if (!left_clients[i]) {
			left_clients[i] = c;
			break;
		}
	}
	return c;
}

static void tdisconnect(om_client *c)
{
	for (size_t i = 0; i < MAXLEFT; i++)
		if (left_clients[i] == c)
			left_clients[i] = NULL;
	om_disconnect(c);
}

static pid_t tspawn(int (*fn)(void *), void *arg)
{
	pid_t pid = spawn_child(fn, arg);
	for (size_t i = 0; i < MAXLEFT; i++) {
		if (left_pids[i] <= 0) {
			left_pids[i] = pid;
			break;
		}
	}
	return pid;
}

static int drop_leftovers(void **state)
{
	(void)state;
	for (size_t i = 0; i < MAXLEFT; i++) {
		pid_t pid = left_pids[i];
		int st;
		left_pids[i] = 0;
		/* still our child, not reaped (so its pid is not reused) */
		if (pid > 0 && waitpid(pid, &st, WNOHANG) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
		}
	}
	for (size_t i = 0; i < MAXLEFT; i++) {
		if (left_clients[i])
			om_disconnect(left_clients[i]);
		left_clients[i] = NULL;
	}
	if (left_server && left_server->pid > 0)
		server_end(left_server);
	left_server = NULL;
	return 0;
}

/* Whether this process's clients map (objmgr.h: OBJMGR_SHM not "0"). */
static bool shm_on(void)
{
	const char *e = getenv("OBJMGR_SHM");
	return !(e && strcmp(e, "0") == 0);
}

/* A child's failure: say what it saw (the test log keeps stderr), and
 * return the code for its exit status. */
#define CHILD_FAIL(code, ...)                                         \
	do {                                                          \
		fprintf(stderr, "child %d, line %d: ", (int)getpid(), \
		        __LINE__);                                    \
		fprintf(stderr, __VA_ARGS__);                         \
		fprintf(stderr, "\n");                                \
		return (code);                                        \
	} while (0)

/* The item is exactly the int v (for children). */
static bool is_int(const om_item *it, int64_t v)
{
	return it->kind == OM_INT && it->i == v;
}

/* Same kind and the same bits: stricter than Python's equality (1 is not
 * 1.0, -0.0 is not 0.0), for checking that a value comes back as set. */
static bool item_same(const om_item *a, const om_item *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case OM_NIL:
		return true;
	case OM_BOOL:
		return a->b == b->b;
	case OM_INT:
		return a->i == b->i;
	case OM_FLOAT:
		return memcmp(&a->f, &b->f, sizeof a->f) == 0;
	case OM_STR:
	case OM_BYTES:
		return a->s.len == b->s.len &&
		       (a->s.len == 0 ||
		        memcmp(a->s.ptr, b->s.ptr, a->s.len) == 0);
	default:
		return false;
	}
}

/* v's value as an int, or INT64_MIN on any failure (for children). */
static int64_t value_int(om_value *v)
{
	om_item it;
	if (om_value_get(v, &it) != OM_OK)
		return INT64_MIN;
	int64_t r = it.kind == OM_INT ? it.i : INT64_MIN;
	om_item_free(&it);
	return r;
}

struct value_want {
	om_value *v;
	int64_t want;
};

static bool value_reached(void *p)
{
	const struct value_want *w = p;
	return value_int(w->v) == w->want;
}

/* Until v holds the int want (bounded): another process's progress. */
static bool wait_value(om_value *v, int64_t want, int seconds)
{
	struct value_want w = {v, want};
	return poll_until(value_reached, &w, seconds);
}

/* The state letter of /proc/PID/stat: 'S' sleeping, 'R' running, 'Z'... ;
 * 0 if it cannot be read (the process is gone). */
static char proc_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *rp = strrchr(buf, ')'); /* the name may hold anything */
	return rp && rp[1] == ' ' ? rp[2] : 0;
}

static bool proc_asleep(void *p)
{
	char s = proc_state(*(pid_t *)p);
	return s == 'S' || s == 'Z' || s == 0;
}

/* Until the child sleeps (blocked in a call: a futex or a socket) or has
 * ended. For making a wake-up test wake a sleeper rather than race it;
 * never a condition of correctness (the outcome is checked regardless). */
static void wait_asleep(pid_t pid)
{
	poll_until(proc_asleep, &pid, 10);
}

/* The child has not ended yet (it is still blocked). Leaves it to be
 * reaped (WNOWAIT). */
static bool still_running(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return false;
	return si.si_pid == 0;
}

struct two_pids {
	pid_t p[2];
};

static bool one_ended(void *p)
{
	const struct two_pids *t = p;
	return !still_running(t->p[0]) || !still_running(t->p[1]);
}

static void sigkill_reap(pid_t pid)
{
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(reap(pid, 30), -1); /* killed by the signal */
}

/* A child that reports once ready (a byte on `fd`) and then waits. */
struct ready {
	int p[2];
};

static void ready_init(struct ready *r)
{
	assert_int_equal(pipe2(r->p, O_CLOEXEC), 0);
}

/* After spawn_child: wait for the child's byte; fail (reaping it) if it
 * does not come. */
static void ready_wait(struct ready *r, pid_t pid)
{
	close(r->p[1]);
	int got = wait_byte(r->p[0], 30);
	close(r->p[0]);
	if (got) {
		print_error("child did not get ready: exit %d\n", reap(pid, 5));
		fail();
	}
}

/* ---------------------------------------------------- exact adds, 4 procs */

enum { NPROC = 4, NADD = 20000, ALEN = 8, AT = 3 };

struct count_arg {
	om_array *a; /* inherited handles, or NULL: connect and open by name */
	om_value *v;
};

static int child_count(void *p)
{
	struct count_arg *ca = p;
	om_array *a = ca->a;
	om_value *v = ca->v;
	om_client *c = NULL;
	if (!a) {
		if (om_connect(srv.path, &c) != OM_OK)
			CHILD_FAIL(1, "om_connect");
		if (om_array_open(c, "shm.count.a", 0, OM_INT, ALEN, &a) ||
		    om_value_open(c, "shm.count.v", 0, om_int(0), &v))
			CHILD_FAIL(2, "open by name");
	}
	if (om_is_shared(a) != shm_on() || om_is_shared(v) != shm_on())
		CHILD_FAIL(3, "om_is_shared: array %d, value %d",
		           om_is_shared(a), om_is_shared(v));
	int64_t last_a = 0, last_v = 0;
	for (int i = 0; i < NADD; i++) {
		om_item out;
		int rc = om_array_add(a, AT, om_int(1), &out);
		if (rc != OM_OK)
			CHILD_FAIL(4, "om_array_add = %d", rc);
		/* each add's result is new: higher than this process's last */
		if (out.kind != OM_INT || out.i <= last_a ||
		    out.i > NPROC * NADD)
			CHILD_FAIL(5,
			           "om_array_add gave %" PRId64
			           " after %" PRId64,
			           out.i, last_a);
		last_a = out.i;
		rc = om_value_add(v, om_int(1), &out);
		if (rc != OM_OK)
			CHILD_FAIL(6, "om_value_add = %d", rc);
		if (out.kind != OM_INT || out.i <= last_v ||
		    out.i > NPROC * NADD)
			CHILD_FAIL(7,
			           "om_value_add gave %" PRId64
			           " after %" PRId64,
			           out.i, last_v);
		last_v = out.i;
	}
	if (c)
		om_disconnect(c);
	return 0;
}

static void test_adds_exact(void **state)
{
	(void)state;
	om_client *c = tclient();
	om_array *a;
	om_value *v;
	expect_ok(c, om_array_open(c, "shm.count.a", OM_CREATE | OM_EXCL,
	                           OM_INT, ALEN, &a));
	expect_ok(c, om_value_open(c, "shm.count.v", OM_CREATE | OM_EXCL,
	                           om_int(0), &v));
	assert_int_equal(om_is_shared(a), shm_on());
	assert_int_equal(om_is_shared(v), shm_on());
	/* two children on inherited handles, two on connections of their own */
	struct count_arg inh = {a, v}, own = {NULL, NULL};
	pid_t pids[NPROC];
	for (int i = 0; i < NPROC; i++)
		pids[i] = tspawn(child_count, i % 2 ? &own : &inh);
	reap_all(pids, NPROC);

	om_items cells;
	expect_ok(c, om_array_read(a, 0, ALEN, &cells));
	assert_int_equal(cells.n, ALEN);
	for (size_t i = 0; i < ALEN; i++)
		assert_int_item(&cells.v[i], i == AT ? NPROC * NADD : 0);
	om_items_free(&cells);
	om_item it;
	expect_ok(c, om_value_get(v, &it));
	assert_int_item(&it, NPROC * NADD);
	om_release(a);
	om_release(v);
	expect_ok(c, om_unlink(c, "shm.count.a"));
	expect_ok(c, om_unlink(c, "shm.count.v"));
	tdisconnect(c);
}

/* ------------------------------------------ a writer killed mid-write */

enum { ROWS = 8, WIDTH = 512, TRIALS = 20 };

struct writer_arg {
	om_array *a;
	int ready;
};

/* Whole rows, row r = k everywhere, k rising: until killed. */
static int child_row_writer(void *p)
{
	struct writer_arg *w = p;
	static om_item row[WIDTH];
	for (int64_t k = 1;; k++) {
		for (size_t i = 0; i < WIDTH; i++)
			row[i] = om_int(k);
		for (size_t r = 0; r < ROWS; r++) {
			int rc = om_array_write(w->a, r * WIDTH, row, WIDTH);
			if (rc != OM_OK)
				CHILD_FAIL(1, "om_array_write = %d", rc);
		}
		if (k == 1 && send_byte(w->ready))
			CHILD_FAIL(2, "send_byte");
	}
}

/* Every row uniform; the rows, written in order with k rising, read
 * v0 >= v1 >= ... >= v0 - 1 (a write is whole or absent, never lost).
 * Returns the first row's value, or fails the test. */
static int64_t check_rows(om_array *a, int trial)
{
	om_items got;
	expect_ok(NULL, om_array_read(a, 0, ROWS * WIDTH, &got));
	assert_int_equal(got.n, ROWS * WIDTH);
	int64_t vals[ROWS];
	for (size_t r = 0; r < ROWS; r++) {
		const om_item *row = &got.v[r * WIDTH];
		assert_int_equal(row[0].kind, OM_INT);
		for (size_t i = 1; i < WIDTH; i++) {
			if (row[i].kind != OM_INT || row[i].i != row[0].i) {
				print_error("trial %d: row %zu mixed: [0] = "
				            "%" PRId64 ", [%zu] = %" PRId64
				            "\n",
				            trial, r, row[0].i, i, row[i].i);
				fail();
			}
		}
		vals[r] = row[0].i;
	}
	om_items_free(&got);
	for (size_t r = 1; r < ROWS; r++) {
		if (vals[r] > vals[r - 1] || vals[r] < vals[0] - 1) {
			print_error(
			        "trial %d: rows out of order: row 0 = %" PRId64
			        ", row %zu = %" PRId64 "\n",
			        trial, vals[0], r, vals[r]);
			fail();
		}
	}
	return vals[0];
}

/* Lock, check, write row 1 all = -2, read it back, unlock: the array is
 * usable by another process after the kill. */
static int child_after_kill(void *p)
{
	om_array *a = p;
	int rc = om_array_lock(a, 10);
	if (rc != OM_OK)
		CHILD_FAIL(1, "om_array_lock = %d", rc);
	om_item row[WIDTH];
	for (size_t i = 0; i < WIDTH; i++)
		row[i] = om_int(-2);
	if ((rc = om_array_write(a, WIDTH, row, WIDTH)) != OM_OK)
		CHILD_FAIL(2, "om_array_write = %d", rc);
	om_items got;
	if ((rc = om_array_read(a, WIDTH, WIDTH, &got)) != OM_OK)
		CHILD_FAIL(3, "om_array_read = %d", rc);
	for (size_t i = 0; i < WIDTH; i++)
		if (!is_int(&got.v[i], -2))
			CHILD_FAIL(4, "row 1 [%zu] not -2", i);
	om_items_free(&got);
	if ((rc = om_array_unlock(a)) != OM_OK)
		CHILD_FAIL(5, "om_array_unlock = %d", rc);
	return 0;
}

static void test_killed_writer_rows(void **state)
{
	(void)state;
	om_client *c = tclient();
	om_array *a;
	expect_ok(c, om_array_open(c, NULL, 0, OM_INT, ROWS * WIDTH, &a));
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	srand(seed);
	static om_item row[WIDTH];
	int mid_rows = 0; /* trials that ended with rows at two values */
	for (int t = 0; t < TRIALS; t++) {
		struct ready r;
		ready_init(&r);
		struct writer_arg w = {a, r.p[1]};
		pid_t pid = tspawn(child_row_writer, &w);
		ready_wait(&r, pid);
		usleep((useconds_t)(rand() % 3000));
		sigkill_reap(pid);

		/* the parent: lock (the dead writer may have held it inside a
		 * write: then it is ours with OM_OWNER_DIED), read, write */
		int rc = om_array_lock(a, 10);
		if (rc != OM_OK && rc != OM_OWNER_DIED)
			fail_msg("trial %d (seed %u): om_array_lock = %d", t,
			         seed, rc);
		int64_t v0 = check_rows(a, t);
		assert_true(v0 >= 1);
		om_item last;
		expect_ok(c, om_array_get(a, ROWS * WIDTH - 1, &last));
		mid_rows += last.i != v0;
		for (size_t i = 0; i < WIDTH; i++)
			row[i] = om_int(-1);
		expect_ok(c, om_array_write(a, 0, row, WIDTH));
		om_items got;
		expect_ok(c, om_array_read(a, 0, WIDTH, &got));
		for (size_t i = 0; i < WIDTH; i++)
			assert_int_item(&got.v[i], -1);
		om_items_free(&got);
		expect_ok(c, om_array_unlock(a));

		/* another process: the notice, if any, was ours */
		pid = tspawn(child_after_kill, a);
		reap_all(&pid, 1);
		om_item it;
		expect_ok(c, om_array_get(a, WIDTH, &it));
		assert_int_item(&it, -2);
		expect_ok(c, om_array_lock(a, 10)); /* no notice left */
		expect_ok(c, om_array_unlock(a));

		/* back to zeros for the next trial */
		for (size_t i = 0; i < WIDTH; i++)
			row[i] = om_int(0);
		for (size_t rr = 0; rr < ROWS; rr++)
			expect_ok(c, om_array_write(a, rr * WIDTH, row, WIDTH));
	}
	print_message("killed writer: %d of %d trials stopped between rows "
	              "(seed %u)\n",
	              mid_rows, TRIALS, seed);
	om_release(a);
	tdisconnect(c);
}

/* --------------------------------------------- holders killed: owner died */

struct holder_arg {
	const char *name; /* NULL: use the inherited handle */
	bool rpc;         /* with name: connect with OBJMGR_SHM=0 */
	om_array *a;
	om_lock *l;
	om_value *v;
	int depth;
	int ready;
};

/* Take the array's lock `depth` times, write 7s (its own writes proceed),
 * read them back, report, wait to be killed. Own connection, by name. */
static int child_hold_array(void *p)
{
	struct holder_arg *h = p;
	om_client *c;
	om_array *a;
	if (om_connect(srv.path, &c) != OM_OK)
		CHILD_FAIL(1, "om_connect");
	if (om_array_open(c, h->name, 0, OM_INT, 0, &a) != OM_OK)
		CHILD_FAIL(2, "om_array_open");
	for (int i = 0; i < h->depth; i++) {
		int rc = om_array_lock(a, 10);
		if (rc != OM_OK)
			CHILD_FAIL(3, "om_array_lock = %d", rc);
	}
	om_item sevens[ALEN];
	for (size_t i = 0; i < ALEN; i++)
		sevens[i] = om_int(7);
	if (om_array_write(a, 0, sevens, ALEN) != OM_OK)
		CHILD_FAIL(4, "own write while holding");
	om_items got;
	if (om_array_read(a, 0, ALEN, &got) != OM_OK || got.n != ALEN ||
	    !is_int(&got.v[ALEN - 1], 7))
		CHILD_FAIL(5, "own read while holding");
	om_items_free(&got);
	if (send_byte(h->ready))
		CHILD_FAIL(6, "send_byte");
	pause(); /* until SIGKILL */
	return 7;
}

static int child_lock_ok(void *p)
{
	om_array *a = p;
	int rc = om_array_lock(a, 10);
	if (rc != OM_OK)
		CHILD_FAIL(1, "om_array_lock = %d (a second notice?)", rc);
	om_items got;
	if (om_array_read(a, 0, ALEN, &got) != OM_OK || !is_int(&got.v[0], 7))
		CHILD_FAIL(2, "read after the holder died");
	om_items_free(&got);
	return om_array_unlock(a) == OM_OK ? 0 : 3;
}

static void test_array_lock_holder_killed(void **state)
{
	(void)state;
	om_client *c = tclient();
	om_array *a;
	expect_ok(c, om_array_open(c, "shm.od.arr", OM_CREATE | OM_EXCL, OM_INT,
	                           ALEN, &a));
	struct ready r;
	ready_init(&r);
	struct holder_arg h = {
	        .name = "shm.od.arr", .depth = 2, .ready = r.p[1]};
	pid_t pid = tspawn(child_hold_array, &h);
	ready_wait(&r, pid);

	/* held by the child: a timed lock times out, single elements pass */
	expect_rc(c, om_array_lock(a, 0.05), OM_ETIMEOUT);
	expect_rc(c, om_array_lock(a, 0), OM_ETIMEOUT);
	expect_rc(c, om_array_unlock(a), OM_ENOTOWNER);
	om_item it;
	expect_ok(c, om_array_get(a, 0, &it));
	assert_int_item(&it, 7);
	expect_ok(c, om_array_add(a, ALEN - 1, om_int(1), &it));
	assert_int_item(&it, 8);

	sigkill_reap(pid);
	expect_rc(c, om_array_lock(a, 10), OM_OWNER_DIED);
	om_items got;
	expect_ok(c, om_array_read(a, 0, ALEN, &got));
	for (size_t i = 0; i < ALEN; i++)
		assert_int_item(&got.v[i], i == ALEN - 1 ? 8 : 7);
	om_items_free(&got);
	expect_ok(c, om_array_unlock(a)); /* ours at depth 1 */
	expect_rc(c, om_array_unlock(a), OM_ENOTOWNER);
	expect_ok(c, om_array_lock(a, 10)); /* told once */
	expect_ok(c, om_array_unlock(a));
	pid = tspawn(child_lock_ok, a);
	reap_all(&pid, 1);
	om_release(a);
	expect_ok(c, om_unlink(c, "shm.od.arr"));
	tdisconnect(c);
}

/* Take the lock `depth` times (inherited handle), set the value to 42
 * under it, report, wait to be killed. */
static int child_hold_lock(void *p)
{
	struct holder_arg *h = p;
	om_lock *l = h->l;
	om_client *c = NULL;
	if (h->name) {
		if (h->rpc)
			setenv("OBJMGR_SHM", "0", 1);
		if (om_connect(srv.path, &c) != OM_OK)
			CHILD_FAIL(1, "om_connect");
		if (om_lock_open(c, h->name, 0, &l) != OM_OK)
			CHILD_FAIL(2, "om_lock_open");
	}
	for (int i = 0; i < h->depth; i++) {
		int rc = om_lock_acquire(l, 10);
		if (rc != OM_OK)
			CHILD_FAIL(3, "om_lock_acquire #%d = %d", i + 1, rc);
	}
	if (h->v && om_value_set(h->v, om_int(42)) != OM_OK)
		CHILD_FAIL(4, "om_value_set");
	if (send_byte(h->ready))
		CHILD_FAIL(5, "send_byte");
	pause();
	return 6;
}

/* exit 42: OM_OWNER_DIED and the holder's data; 43: plain OM_OK */
static int child_lock_waiter(void *p)
{
	struct holder_arg *h = p;
	if (value_int(h->v) != 42) /* connect first, then report */
		CHILD_FAIL(1, "value before waiting");
	if (send_byte(h->ready))
		CHILD_FAIL(2, "send_byte");
	int rc = om_lock_acquire(h->l, 30);
	if (rc != OM_OK && rc != OM_OWNER_DIED)
		CHILD_FAIL(3, "om_lock_acquire = %d", rc);
	if (value_int(h->v) != 42)
		CHILD_FAIL(4, "the holder's value is gone");
	if (om_lock_release(h->l) != OM_OK)
		CHILD_FAIL(5, "om_lock_release");
	return rc == OM_OWNER_DIED ? 42 : 43;
}

static void test_lock_holder_killed(void **state)
{
	(void)state;
	om_client *c = tclient();
	om_lock *l;
	om_value *v;
	expect_ok(c, om_lock_open(c, NULL, 0, &l));
	expect_ok(c, om_value_open(c, NULL, 0, om_int(0), &v));
	struct ready r;
	ready_init(&r);
	struct holder_arg h = {.l = l, .v = v, .depth = 1, .ready = r.p[1]};
	pid_t holder = tspawn(child_hold_lock, &h);
	ready_wait(&r, holder);
	bool locked = false;
	expect_ok(c, om_lock_locked(l, &locked));
	assert_true(locked);
	expect_rc(c, om_lock_acquire(l, 0.05), OM_ETIMEOUT);
	expect_rc(c, om_lock_release(l), OM_ENOTOWNER);

	/* a waiter blocked (or about to block) behind the holder is the next
	 * acquirer: it gets the notice */
	ready_init(&r);
	h.ready = r.p[1];
	pid_t waiter = tspawn(child_lock_waiter, &h);
	ready_wait(&r, waiter);
	wait_asleep(waiter);
	sigkill_reap(holder);
	assert_int_equal(reap(waiter, 30), 42);
	expect_ok(c, om_lock_acquire(l, 10)); /* told once */
	om_item it;
	expect_ok(c, om_value_get(v, &it));
	assert_int_item(&it, 42);
	expect_ok(c, om_lock_release(l));
	expect_ok(c, om_lock_locked(l, &locked));
	assert_false(locked);

	/* and without a waiter: the parent is the next acquirer */
	ready_init(&r);
	h.ready = r.p[1];
	holder = tspawn(child_hold_lock, &h);
	ready_wait(&r, holder);
	sigkill_reap(holder);
	expect_rc(c, om_lock_acquire(l, 10), OM_OWNER_DIED);
	expect_ok(c, om_lock_release(l));
	expect_ok(c, om_lock_acquire(l, 10));
	expect_ok(c, om_lock_release(l));
	om_release(l);
	om_release(v);
	tdisconnect(c);
}

static void test_rlock_holder_killed(void **state)
{
	(void)state;
	om_client *c = tclient();
	om_lock *l;
	om_value *v;
	expect_ok(c, om_lock_open(c, "shm.od.rlock",
	                          OM_CREATE | OM_EXCL | OM_RECURSIVE, &l));
	expect_ok(c, om_value_open(c, NULL, 0, om_int(0), &v));
	struct ready r;
	ready_init(&r);
	/* its own connection, by name; the value is inherited */
	struct holder_arg h = {
	        .name = "shm.od.rlock", .v = v, .depth = 3, .ready = r.p[1]};
	pid_t pid = tspawn(child_hold_lock, &h);
	ready_wait(&r, pid);
	expect_rc(c, om_lock_acquire(l, 0.05), OM_ETIMEOUT);
	sigkill_reap(pid);
	expect_rc(c, om_lock_acquire(l, 10), OM_OWNER_DIED);
	om_item it;
	expect_ok(c, om_value_get(v, &it));
	assert_int_item(&it, 42);
	expect_ok(c, om_lock_release(l)); /* depth 1: ours alone */
	expect_rc(c, om_lock_release(l), OM_ENOTOWNER);
	bool locked = true;
	expect_ok(c, om_lock_locked(l, &locked));
	assert_false(locked);
	expect_ok(c, om_lock_acquire(l, 10)); /* told once */
	expect_ok(c, om_lock_acquire(l, 0));  /* recursive */
	expect_ok(c, om_lock_release(l));
	expect_ok(c, om_lock_release(l));
	om_release(l);
	om_release(v);
	expect_ok(c, om_unlink(c, "shm.od.rlock"));
	tdisconnect(c);
}

/* --------------------------------------------- waiters woken across procs */

struct wake_arg {
	om_sem *s;
	om_event *e;
	double timeout;
	int ready;
};

static int child_sem_waiter(void *p)
{
	struct wake_arg *w = p;
	unsigned v = 99;
	if (om_sem_value(w->s, &v) != OM_OK || v != 0)
		CHILD_FAIL(1, "om_sem_value: %u", v);
	if (send_byte(w->ready))
		CHILD_FAIL(2, "send_byte");
	int rc = om_sem_acquire(w->s, w->timeout);
	if (rc != OM_OK)
		CHILD_FAIL(3, "om_sem_acquire = %d", rc);
	return 0;
}

static int child_event_waiter(void *p)
{
	struct wake_arg *w = p;
	bool set = true;
	if (om_event_is_set(w->e, &set) != OM_OK || set)
		CHILD_FAIL(1, "om_event_is_set");
	if (send_byte(w->ready))
		CHILD_FAIL(2, "send_byte");
	int rc = om_event_wait(w->e, w->timeout);
	if (rc != OM_OK)
		CHILD_FAIL(3, "om_event_wait = %d", rc);
	if (om_event_is_set(w->e, &set) != OM_OK || !set)
		CHILD_FAIL(4, "not set after the wait");
	return 0;
}

/* A sem waiter on its own connection (the named semaphore). */
static int child_sem_waiter_own(void *p)
{
	struct wake_arg w = *(struct wake_arg *)p;
	om_client *c;
	if (om_connect(srv.path, &c) != OM_OK)
		CHILD_FAIL(1, "om_connect");
	if (om_sem_open(c, "shm.wake.sem", 0, 0, &w.s) != OM_OK)
		CHILD_FAIL(2, "om_sem_open");
	return child_sem_waiter(&w);
}

enum { NWAKE = 2 };

static void test_waiters_woken(void **state)
{
	(void)state;
	om_client *c = tclient();
	struct wake_arg w;
	expect_ok(c,
	          om_sem_open(c, "shm.wake.sem", OM_CREATE | OM_EXCL, 0, &w.s));
	expect_ok(c, om_event_open(c, NULL, 0, &w.e));
	assert_int_equal(om_is_shared(w.s), shm_on());
	assert_int_equal(om_is_shared(w.e), shm_on());
	pid_t pids[3 * NWAKE];
	int (*fns[3])(void *) = {child_sem_waiter, child_sem_waiter_own,
	                         child_event_waiter};
	for (int i = 0; i < 3 * NWAKE; i++) {
		struct ready r;
		ready_init(&r);
		w.ready = r.p[1];
		w.timeout = i % 2 ? 30 : OM_FOREVER;
		pids[i] = tspawn(fns[i / NWAKE], &w);
		ready_wait(&r, pids[i]);
	}
	for (int i = 0; i < 3 * NWAKE; i++)
		wait_asleep(pids[i]);
	/* nobody passed a semaphore at 0 or a clear event */
	for (int i = 0; i < 3 * NWAKE; i++)
		if (!still_running(pids[i]))
			fail_msg("waiter %d returned before the release", i);
	unsigned v = 99;
	expect_ok(c, om_sem_value(w.s, &v));
	assert_int_equal(v, 0);

	expect_ok(c, om_sem_release(w.s, 2 * NWAKE));
	expect_ok(c, om_event_set(w.e));
	reap_all(pids, 3 * NWAKE);
	expect_ok(c, om_sem_value(w.s, &v));
	assert_int_equal(v, 0); /* each waiter took exactly one */
	expect_rc(c, om_sem_acquire(w.s, 0), OM_ETIMEOUT);

	/* one permit for two waiters: exactly one passes */
	for (int i = 0; i < 2; i++) {
		struct ready r;
		ready_init(&r);
		w.ready = r.p[1];
		w.timeout = 30;
		pids[i] = tspawn(child_sem_waiter, &w);
		ready_wait(&r, pids[i]);
		wait_asleep(pids[i]);
	}
	expect_ok(c, om_sem_release(w.s, 1));
	struct two_pids t = {{pids[0], pids[1]}};
	assert_true(poll_until(one_ended, &t, 30));
	int first = still_running(pids[0]) ? 1 : 0;
	assert_true(still_running(pids[!first])); /* one permit, one pass */
	assert_int_equal(reap(pids[first], 30), 0);
	expect_ok(c, om_sem_release(w.s, 1));
	assert_int_equal(reap(pids[!first], 30), 0);
	expect_ok(c, om_sem_value(w.s, &v));
	assert_int_equal(v, 0);
	om_release(w.s);
	om_release(w.e);
	expect_ok(c, om_unlink(c, "shm.wake.sem"));
	tdisconnect(c);
}

/* ------------------------------------------------ timeouts when contended */

struct contend_arg {
	om_lock *l;
	om_array *a;
	om_sem *s;
	int ready; /* child -> parent: holding */
	int go;    /* parent -> child: let go */
};

/* Hold the lock, the array's lock and the only permit until told. */
static int child_contend(void *p)
{
	struct contend_arg *ca = p;
	int rc;
	if ((rc = om_lock_acquire(ca->l, 10)) != OM_OK)
		CHILD_FAIL(1, "om_lock_acquire = %d", rc);
	if ((rc = om_array_lock(ca->a, 10)) != OM_OK)
		CHILD_FAIL(2, "om_array_lock = %d", rc);
	if ((rc = om_sem_acquire(ca->s, 10)) != OM_OK)
		CHILD_FAIL(3, "om_sem_acquire = %d", rc);
	if (send_byte(ca->ready))
		CHILD_FAIL(4, "send_byte");
	if (wait_byte(ca->go, 30))
		CHILD_FAIL(5, "wait_byte");
	if (om_array_unlock(ca->a) != OM_OK || om_lock_release(ca->l) != OM_OK)
		CHILD_FAIL(6, "release");
	return 0;
}

static void test_timeouts_contended(void **state)
{
	(void)state;
	om_client *c = tclient();
	struct contend_arg ca;
	om_event *e;
	expect_ok(c, om_lock_open(c, NULL, 0, &ca.l));
	expect_ok(c, om_array_open(c, NULL, 0, OM_FLOAT, 4, &ca.a));
	expect_ok(c, om_sem_open(c, NULL, 0, 1, &ca.s));
	expect_ok(c, om_event_open(c, NULL, 0, &e));
	int go[2];
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	struct ready r;
	ready_init(&r);
	ca.ready = r.p[1];
	ca.go = go[0];
	pid_t pid = tspawn(child_contend, &ca);
	close(go[0]);
	ready_wait(&r, pid);

	/* every contended wait gives up at its deadline; no durations are
	 * asserted, only that they return, and with what */
	for (int i = 0; i < 3; i++) {
		expect_rc(c, om_lock_acquire(ca.l, 0.05), OM_ETIMEOUT);
		expect_rc(c, om_lock_acquire(ca.l, 0), OM_ETIMEOUT);
		expect_rc(c, om_array_lock(ca.a, 0.05), OM_ETIMEOUT);
		expect_rc(c, om_array_lock(ca.a, 0), OM_ETIMEOUT);
		expect_rc(c, om_sem_acquire(ca.s, 0.05), OM_ETIMEOUT);
		expect_rc(c, om_sem_acquire(ca.s, 0), OM_ETIMEOUT);
		expect_rc(c, om_event_wait(e, 0.05), OM_ETIMEOUT);
		expect_rc(c, om_event_wait(e, 0), OM_ETIMEOUT);
	}
	/* a timed-out waiter took nothing: the state is as the holder left */
	bool locked = false;
	expect_ok(c, om_lock_locked(ca.l, &locked));
	assert_true(locked);
	unsigned v = 99;
	expect_ok(c, om_sem_value(ca.s, &v));
	assert_int_equal(v, 0);
	expect_rc(c, om_lock_release(ca.l), OM_ENOTOWNER);
	expect_rc(c, om_array_unlock(ca.a), OM_ENOTOWNER);

	assert_int_equal(send_byte(go[1]), 0);
	close(go[1]);
	/* the holder lets go: a long timeout gets them */
	expect_ok(c, om_lock_acquire(ca.l, 10));
	expect_ok(c, om_array_lock(ca.a, 10));
	reap_all(&pid, 1);
	expect_ok(c, om_sem_release(ca.s, 1));
	expect_ok(c, om_sem_acquire(ca.s, 10));
	expect_ok(c, om_event_set(e));
	expect_ok(c, om_event_wait(e, 0.05));
	expect_ok(c, om_event_clear(e));
	expect_rc(c, om_event_wait(e, 0.05), OM_ETIMEOUT);
	expect_ok(c, om_array_unlock(ca.a));
	expect_ok(c, om_lock_release(ca.l));
	om_release(ca.l);
	om_release(ca.a);
	om_release(ca.s);
	om_release(e);
	tdisconnect(c);
}

/* ------------------------------------- om_array_lock keeps writers out */

struct excl_arg {
	om_array *a;
	int ready, go;
	int64_t seen; /* reader: what it must see */
};

/* Hold the array's lock; write 1s; report; when told, write 2s, unlock. */
static int child_array_holder(void *p)
{
	struct excl_arg *x = p;
	om_item items[ALEN];
	if (om_array_lock(x->a, 10) != OM_OK)
		CHILD_FAIL(1, "om_array_lock");
	for (size_t i = 0; i < ALEN; i++)
		items[i] = om_int(1);
	if (om_array_write(x->a, 0, items, ALEN) != OM_OK)
		CHILD_FAIL(2, "write 1s");
	if (om_array_lock(x->a, 0) != OM_OK) /* recursive: its own again */
		CHILD_FAIL(3, "om_array_lock again");
	if (send_byte(x->ready))
		CHILD_FAIL(4, "send_byte");
	if (wait_byte(x->go, 30))
		CHILD_FAIL(5, "wait_byte");
	for (size_t i = 0; i < ALEN; i++)
		items[i] = om_int(2);
	if (om_array_write(x->a, 0, items, ALEN) != OM_OK)
		CHILD_FAIL(6, "write 2s");
	if (om_array_unlock(x->a) != OM_OK || om_array_unlock(x->a) != OM_OK)
		CHILD_FAIL(7, "unlock");
	if (om_array_unlock(x->a) != OM_ENOTOWNER)
		CHILD_FAIL(8, "unlock past depth");
	return 0;
}

/* Read the whole array (waits while the holder holds the lock): it must
 * be all 2s, the holder's last write, or all 3s, the blocked writer's
 * (which may go first once the lock is free) — never the 1s the holder
 * wrote before, nor a mix. */
static int child_array_reader(void *p)
{
	struct excl_arg *x = p;
	size_t n;
	if (om_array_len(x->a, &n) != OM_OK || n != ALEN)
		CHILD_FAIL(1, "om_array_len");
	if (send_byte(x->ready))
		CHILD_FAIL(2, "send_byte");
	om_items got;
	int rc = om_array_read(x->a, 0, ALEN, &got);
	if (rc != OM_OK)
		CHILD_FAIL(3, "om_array_read = %d", rc);
	int64_t want = got.v[0].i == 3 ? 3 : 2;
	for (size_t i = 0; i < ALEN; i++)
		if (!is_int(&got.v[i], want))
			CHILD_FAIL(4,
			           "a[%zu] = %" PRId64 " (kind %d): read "
			           "while another held the lock",
			           i, got.v[i].i, (int)got.v[i].kind);
	om_items_free(&got);
	return 0;
}

/* Write 3s (waits for the holder), then return. */
static int child_array_writer(void *p)
{
	struct excl_arg *x = p;
	size_t n;
	if (om_array_len(x->a, &n) != OM_OK)
		CHILD_FAIL(1, "om_array_len");
	if (send_byte(x->ready))
		CHILD_FAIL(2, "send_byte");
	om_item items[ALEN];
	for (size_t i = 0; i < ALEN; i++)
		items[i] = om_int(3);
	int rc = om_array_write(x->a, 0, items, ALEN);
	if (rc != OM_OK)
		CHILD_FAIL(3, "om_array_write = %d", rc);
	return 0;
}

static void test_array_lock_excludes(void **state)
{
	(void)state;
	om_client *c = tclient();
	struct excl_arg x;
	expect_ok(c, om_array_open(c, NULL, 0, OM_INT, ALEN, &x.a));
	int go[2];
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	struct ready r;
	ready_init(&r);
	x.ready = r.p[1];
	x.go = go[0];
	pid_t holder = tspawn(child_array_holder, &x);
	ready_wait(&r, holder);

	ready_init(&r);
	x.ready = r.p[1];
	pid_t reader = tspawn(child_array_reader, &x);
	ready_wait(&r, reader);
	wait_asleep(reader);
	ready_init(&r);
	x.ready = r.p[1];
	pid_t writer = tspawn(child_array_writer, &x);
	ready_wait(&r, writer);
	wait_asleep(writer);
	assert_true(still_running(reader));
	assert_true(still_running(writer));

	/* single-element calls never wait; they see the holder's writes */
	om_item it;
	expect_ok(c, om_array_get(x.a, 0, &it));
	assert_int_item(&it, 1);
	expect_ok(c, om_array_set(x.a, ALEN - 1, om_int(1)));
	expect_ok(c, om_array_add(x.a, ALEN - 1, om_int(0), &it));
	assert_int_item(&it, 1);
	assert_true(still_running(reader));
	assert_true(still_running(writer));

	assert_int_equal(send_byte(go[1]), 0);
	close(go[1]);
	close(go[0]);
	assert_int_equal(reap(holder, 30), 0);
	assert_int_equal(reap(reader, 30), 0);
	assert_int_equal(reap(writer, 30), 0);
	/* the writer's 3s came after the holder's 2s, whole */
	om_items got;
	expect_ok(c, om_array_read(x.a, 0, ALEN, &got));
	for (size_t i = 0; i < ALEN; i++)
		assert_int_item(&got.v[i], 3);
	om_items_free(&got);
	om_release(x.a);
	tdisconnect(c);
}

/* ------------------------------- a shm client and an RPC client, one lock */

enum { NMIX = 2000 };

struct mix_arg {
	bool rpc;   /* setenv OBJMGR_SHM=0, then a connection of its own */
	om_lock *l; /* inherited (rpc false) */
	om_value *v;
	int ready, go;
};

/* N times: acquire, get, yield, set get+1, release — a plain counter whose
 * updates are lost unless the lock excludes. */
static int count_under_lock(om_lock *l, om_value *v)
{
	for (int i = 0; i < NMIX; i++) {
		int rc = om_lock_acquire(l, 30);
		if (rc != OM_OK)
			CHILD_FAIL(101, "om_lock_acquire = %d", rc);
		int64_t n = value_int(v);
		if (n < 0)
			CHILD_FAIL(102, "om_value_get");
		if (i % 8 == 0)
			sched_yield();
		if (om_value_set(v, om_int(n + 1)) != OM_OK)
			CHILD_FAIL(103, "om_value_set");
		if (om_lock_release(l) != OM_OK)
			CHILD_FAIL(104, "om_lock_release");
	}
	return 0;
}

static int child_mix(void *p)
{
	struct mix_arg *m = p;
	om_lock *l = m->l;
	om_value *v = m->v;
	if (m->rpc) {
		om_client *c;
		setenv("OBJMGR_SHM", "0", 1);
		if (om_connect(srv.path, &c) != OM_OK)
			CHILD_FAIL(1, "om_connect");
		if (om_lock_open(c, "shm.mix.lock", 0, &l) != OM_OK ||
		    om_value_open(c, "shm.mix.value", 0, om_int(0), &v) !=
		            OM_OK)
			CHILD_FAIL(2, "open by name");
		if (om_is_shared(l) || om_is_shared(v))
			CHILD_FAIL(3,
			           "OBJMGR_SHM=0 yet shared: lock %d value %d",
			           om_is_shared(l), om_is_shared(v));
		void *base = NULL;
		size_t n = 0;
		om_array *a;
		if (om_array_open(c, NULL, 0, OM_INT, 4, &a) != OM_OK)
			CHILD_FAIL(4, "om_array_open");
		if (om_array_map(a, &base, &n) != OM_EINVAL)
			CHILD_FAIL(5, "om_array_map with OBJMGR_SHM=0");
		om_release(a);
	} else if (om_is_shared(l) != shm_on()) {
		CHILD_FAIL(6, "om_is_shared(lock) = %d", om_is_shared(l));
	}
	if (m->ready >= 0) {
		/* the exclusion, step by step, against the parent */
		bool locked = false;
		if (om_lock_locked(l, &locked) != OM_OK || !locked)
			CHILD_FAIL(7, "the parent's hold not seen");
		int rc = om_lock_acquire(l, 0.05);
		if (rc != OM_ETIMEOUT)
			CHILD_FAIL(8,
			           "om_lock_acquire while the parent holds: %d",
			           rc);
		if (om_lock_release(l) != OM_ENOTOWNER)
			CHILD_FAIL(9, "release of the parent's hold");
		if (send_byte(m->ready) || wait_byte(m->go, 30))
			CHILD_FAIL(10, "pipes");
		if ((rc = om_lock_acquire(l, 10)) != OM_OK)
			CHILD_FAIL(11, "om_lock_acquire = %d", rc);
		if (send_byte(m->ready) || wait_byte(m->go, 30))
			CHILD_FAIL(12, "pipes");
		if (om_lock_release(l) != OM_OK)
			CHILD_FAIL(13, "om_lock_release");
		if (send_byte(m->ready) || wait_byte(m->go, 30))
			CHILD_FAIL(14, "pipes");
	}
	return count_under_lock(l, v);
}

static void test_shm_and_rpc_clients(void **state)
{
	(void)state;
	om_client *c = tclient();
	om_lock *l;
	om_value *v;
	expect_ok(c, om_lock_open(c, "shm.mix.lock", OM_CREATE | OM_EXCL, &l));
	expect_ok(c, om_value_open(c, "shm.mix.value", OM_CREATE | OM_EXCL,
	                           om_int(0), &v));
	assert_int_equal(om_is_shared(l), shm_on());
	assert_int_equal(om_is_shared(v), shm_on());

	/* one on one: each sees the other's hold */
	int up[2], down[2];
	assert_int_equal(pipe2(up, O_CLOEXEC), 0);
	assert_int_equal(pipe2(down, O_CLOEXEC), 0);
	struct mix_arg m = {.rpc = true, .ready = up[1], .go = down[0]};
	expect_ok(c, om_lock_acquire(l, 10));
	pid_t rpc = tspawn(child_mix, &m);
	close(up[1]);
	close(down[0]);
	assert_int_equal(wait_byte(up[0], 30), 0); /* it timed out on us */
	expect_ok(c, om_lock_release(l));
	assert_int_equal(send_byte(down[1]), 0);
	assert_int_equal(wait_byte(up[0], 30), 0); /* it holds */
	bool locked = false;
	expect_ok(c, om_lock_locked(l, &locked));
	assert_true(locked);
	expect_rc(c, om_lock_acquire(l, 0.05), OM_ETIMEOUT);
	expect_rc(c, om_lock_release(l), OM_ENOTOWNER);
	assert_int_equal(send_byte(down[1]), 0);
	assert_int_equal(wait_byte(up[0], 30), 0); /* it let go */
	expect_ok(c, om_lock_acquire(l, 0));
	expect_ok(c, om_lock_release(l));

	/* then all at once: the RPC child, a shm child on inherited handles,
	 * and the parent count under the lock */
	struct mix_arg inh = {.rpc = false, .l = l, .v = v, .ready = -1};
	pid_t shm = tspawn(child_mix, &inh);
	assert_int_equal(send_byte(down[1]), 0);
	int rc = count_under_lock(l, v);
	if (rc)
		fail_msg("the parent's count failed (%d)", rc);
	assert_int_equal(reap(rpc, 60), 0);
	assert_int_equal(reap(shm, 60), 0);
	close(up[0]);
	close(down[1]);
	om_item it;
	expect_ok(c, om_value_get(v, &it));
	assert_int_item(&it, 3 * NMIX);

	/* an RPC holder killed: the shm acquirer is told */
	struct ready r;
	ready_init(&r);
	struct holder_arg h = {
	        .name = "shm.mix.lock", .depth = 1, .ready = r.p[1]};
	h.rpc = true;
	pid_t holder = tspawn(child_hold_lock, &h);
	ready_wait(&r, holder);
	sigkill_reap(holder);
	expect_rc(c, om_lock_acquire(l, 10), OM_OWNER_DIED);
	expect_ok(c, om_lock_release(l));
	expect_ok(c, om_lock_acquire(l, 10));
	expect_ok(c, om_lock_release(l));

	om_release(l);
	om_release(v);
	expect_ok(c, om_unlink(c, "shm.mix.lock"));
	expect_ok(c, om_unlink(c, "shm.mix.value"));
	tdisconnect(c);
}

/* ------------------------------------------ a condition over a shm lock */

enum { CROUNDS = 30, NCW = 3 };

struct cond_arg {
	om_lock *l;
	om_cond *cv;
	om_value *waiting, *go;
	int depth; /* how often the waiter takes the (recursive) lock */
};

/* Each round: take the lock, say "waiting = r" under it, wait until
 * go >= r. A lost wake-up is a wait that times out. */
static int child_cond_rounds(void *p)
{
	struct cond_arg *a = p;
	for (int64_t r = 1; r <= CROUNDS; r++) {
		int rc;
		for (int i = 0; i < a->depth; i++)
			if ((rc = om_lock_acquire(a->l, 10)) != OM_OK)
				CHILD_FAIL(1, "om_lock_acquire = %d", rc);
		if (om_value_set(a->waiting, om_int(r)) != OM_OK)
			CHILD_FAIL(2, "om_value_set");
		while (value_int(a->go) < r) {
			rc = om_cond_wait(a->cv, 10);
			if (rc == OM_ETIMEOUT)
				CHILD_FAIL(3, "round %" PRId64 ": lost wake-up",
				           r);
			if (rc != OM_OK)
				CHILD_FAIL(4, "om_cond_wait = %d", rc);
		}
		/* held again, as deep as before the wait */
		for (int i = 0; i < a->depth; i++)
			if (om_lock_release(a->l) != OM_OK)
				CHILD_FAIL(5, "release %d of %d", i + 1,
				           a->depth);
		if (om_lock_release(a->l) != OM_ENOTOWNER)
			CHILD_FAIL(6, "released past its depth");
	}
	return 0;
}

static void cond_rounds(om_client *c, int flags, int depth)
{
	struct cond_arg a = {.depth = depth};
	expect_ok(c, om_lock_open(c, NULL, flags, &a.l));
	expect_ok(c, om_cond_open(c, NULL, 0, a.l, &a.cv));
	expect_ok(c, om_value_open(c, NULL, 0, om_int(0), &a.waiting));
	expect_ok(c, om_value_open(c, NULL, 0, om_int(0), &a.go));
	assert_int_equal(om_is_shared(a.l), shm_on());
	assert_false(om_is_shared(a.cv));
	pid_t pid = tspawn(child_cond_rounds, &a);
	for (int64_t r = 1; r <= CROUNDS; r++) {
		/* "waiting = r" was set under the lock, which the waiter lets
		 * go only inside om_cond_wait: once we hold the lock it is
		 * registered, and this notify must reach it */
		if (!wait_value(a.waiting, r, 10)) {
			print_error("round %d: the waiter did not come\n",
			            (int)r);
			break;
		}
		expect_ok(c, om_lock_acquire(a.l, 10)); /* wholly released */
		expect_ok(c, om_value_set(a.go, om_int(r)));
		expect_ok(c, om_cond_notify(a.cv, 1));
		expect_ok(c, om_lock_release(a.l));
	}
	assert_int_equal(reap(pid, 30), 0);
	om_release(a.cv);
	om_release(a.l);
	om_release(a.waiting);
	om_release(a.go);
}

/* notify_all: NCW waiters count themselves in under the lock, then wait. */
static int child_cond_all(void *p)
{
	struct cond_arg *a = p;
	int rc;
	if ((rc = om_cond_acquire(a->cv, 10)) != OM_OK)
		CHILD_FAIL(1, "om_cond_acquire = %d", rc);
	if (om_value_add(a->waiting, om_int(1), NULL) != OM_OK)
		CHILD_FAIL(2, "om_value_add");
	while (value_int(a->go) < 1) {
		rc = om_cond_wait(a->cv, 10);
		if (rc != OM_OK)
			CHILD_FAIL(3, "om_cond_wait = %d", rc);
	}
	if (om_cond_release(a->cv) != OM_OK)
		CHILD_FAIL(4, "om_cond_release");
	return 0;
}

static void test_cond_over_shm_lock(void **state)
{
	(void)state;
	om_client *c = tclient();
	cond_rounds(c, 0, 1);
	cond_rounds(c, OM_RECURSIVE, 2); /* the wait releases it wholly */

	struct cond_arg a;
	expect_ok(c, om_lock_open(c, NULL, 0, &a.l));
	expect_ok(c, om_cond_open(c, NULL, 0, a.l, &a.cv));
	expect_ok(c, om_value_open(c, NULL, 0, om_int(0), &a.waiting));
	expect_ok(c, om_value_open(c, NULL, 0, om_int(0), &a.go));
	pid_t pids[NCW];
	for (int i = 0; i < NCW; i++)
		pids[i] = tspawn(child_cond_all, &a);
	assert_true(wait_value(a.waiting, NCW, 10));
	expect_ok(c, om_cond_acquire(a.cv, 10));
	/* every waiter is in om_cond_wait: the lock is ours, not theirs */
	bool locked = false;
	expect_ok(c, om_lock_locked(a.l, &locked));
	assert_true(locked);
	expect_ok(c, om_value_set(a.go, om_int(1)));
	expect_ok(c, om_cond_notify_all(a.cv));
	expect_ok(c, om_cond_release(a.cv));
	reap_all(pids, NCW);
	expect_ok(c, om_lock_acquire(a.l, 0)); /* all let go */
	expect_ok(c, om_lock_release(a.l));
	om_release(a.cv);
	om_release(a.l);
	om_release(a.waiting);
	om_release(a.go);
	tdisconnect(c);
}

/* ------------------------------------------------------ om_is_shared */

static void test_is_shared_types(void **state)
{
	(void)state;
	om_client *c = tclient();
	bool on = shm_on();
	om_array *ai, *af;
	om_lock *l, *rl;
	om_sem *s;
	om_event *e;
	om_value *vi, *vf, *vb, *vs;
	expect_ok(c, om_array_open(c, NULL, 0, OM_INT, 3, &ai));
	expect_ok(c, om_array_open(c, NULL, 0, OM_FLOAT, 3, &af));
	expect_ok(c, om_lock_open(c, NULL, 0, &l));
	expect_ok(c, om_lock_open(c, NULL, OM_RECURSIVE, &rl));
	expect_ok(c, om_sem_open(c, NULL, OM_BOUNDED, 2, &s));
	expect_ok(c, om_event_open(c, NULL, 0, &e));
	expect_ok(c, om_value_open(c, NULL, 0, om_int(1), &vi));
	expect_ok(c, om_value_open(c, NULL, 0, om_float(1.5), &vf));
	expect_ok(c, om_value_open(c, NULL, 0, om_bool(true), &vb));
	expect_ok(c, om_value_open(c, NULL, 0, om_str("s"), &vs));
	const void *shared[] = {ai, af, l, rl, s, e, vi, vf, vb};
	for (size_t i = 0; i < sizeof shared / sizeof *shared; i++) {
		if (om_is_shared(shared[i]) != on)
			fail_msg("handle %zu: om_is_shared = %d", i,
			         om_is_shared(shared[i]));
	}
	assert_false(om_is_shared(vs)); /* a str is the server's */

	om_dict *d = new_dict(c);
	om_list *li = new_list(c);
	om_queue *q = new_queue(c, 0);
	om_cond *cv, *cvl;
	om_barrier *b;
	expect_ok(c, om_cond_open(c, NULL, 0, NULL, &cv));
	expect_ok(c, om_cond_open(c, NULL, 0, l, &cvl));
	expect_ok(c, om_barrier_open(c, NULL, 0, 2, &b));
	const void *rpc[] = {d, li, q, cv, cvl, b};
	for (size_t i = 0; i < sizeof rpc / sizeof *rpc; i++)
		if (om_is_shared(rpc[i]))
			fail_msg("RPC-only handle %zu says shared", i);

	/* the shared ones work as before */
	expect_ok(c, om_sem_acquire(s, 0));
	expect_rc(c, om_sem_release(s, 2), OM_EVALUE); /* bounded */
	expect_ok(c, om_sem_release(s, 1));
	expect_ok(c, om_lock_acquire(rl, 0));
	expect_ok(c, om_lock_acquire(rl, 0));
	expect_ok(c, om_lock_acquire(l, 0));
	expect_rc(c, om_lock_acquire(l, 0), OM_ETIMEOUT); /* not recursive */
	expect_ok(c, om_lock_release(l));
	expect_ok(c, om_lock_release(rl));
	expect_ok(c, om_lock_release(rl));
	expect_rc(c, om_lock_release(rl), OM_ENOTOWNER);

	om_release(ai);
	om_release(af);
	om_release(l);
	om_release(rl);
	om_release(s);
	om_release(e);
	om_release(vi);
	om_release(vf);
	om_release(vb);
	om_release(vs);
	om_release(d);
	om_release(li);
	om_release(q);
	om_release(cv);
	om_release(cvl);
	om_release(b);
	tdisconnect(c);
}

/* The steps of a value's life: who sets it (0 parent, 1 child), to what,
 * and whether it is then in shared memory. */
static const char bytes_nul[] = {'\0', 'x'};
static const struct step {
	int setter;
	om_item it;
	bool shared;
} steps[] = {
        {0, {.kind = OM_INT, .i = 5}, true},
        {1, {.kind = OM_STR, .s = {"hello", 5}}, false},
        {0, {.kind = OM_FLOAT, .f = -0.0}, true},
        {1, {.kind = OM_BYTES, .s = {bytes_nul, 2}}, false},
        {0, {.kind = OM_NIL}, false},
        {1, {.kind = OM_BOOL, .b = true}, true},
        {0, {.kind = OM_STR, .s = {"", 0}}, false},
        {1, {.kind = OM_INT, .i = -7}, true},
        {0, {.kind = OM_INT, .i = INT64_MAX}, true},
        {1, {.kind = OM_FLOAT, .f = 2.5}, true},
        {0, {.kind = OM_STR, .s = {"back to the server", 18}}, false},
        {1, {.kind = OM_INT, .i = INT64_MIN}, true},
};
enum { NSTEP = sizeof steps / sizeof *steps };

struct steps_arg {
	om_value *v;
	int to_other, from_other; /* the child's ends */
};

/* The value holds step k's item, and is shared as it says: 0, else what
 * differs (1 the item, 2 om_is_shared, 3 the get). */
static int step_check(om_value *v, int k)
{
	om_item it;
	if (om_value_get(v, &it) != OM_OK)
		return 3;
	bool same = item_same(&it, &steps[k].it);
	om_item_free(&it);
	if (!same)
		return 1;
	if (om_is_shared(v) != (steps[k].shared && shm_on()))
		return 2;
	return 0;
}

static int child_steps(void *p)
{
	struct steps_arg *a = p;
	for (int k = 0; k < NSTEP; k++) {
		int rc;
		if (steps[k].setter == 1) {
			if (om_value_set(a->v, steps[k].it) != OM_OK)
				CHILD_FAIL(1, "step %d: om_value_set", k);
			if ((rc = step_check(a->v, k)))
				CHILD_FAIL(2, "step %d (own set): check %d", k,
				           rc);
			if (send_byte(a->to_other) ||
			    wait_byte(a->from_other, 30))
				CHILD_FAIL(3, "step %d: pipes", k);
		} else {
			if (wait_byte(a->from_other, 30))
				CHILD_FAIL(4, "step %d: pipes", k);
			if ((rc = step_check(a->v, k)))
				CHILD_FAIL(5,
				           "step %d (parent's set): check %d",
				           k, rc);
			if (send_byte(a->to_other))
				CHILD_FAIL(6, "step %d: pipes", k);
		}
	}
	return 0;
}

static void test_value_transitions(void **state)
{
	(void)state;
	om_client *c = tclient();
	om_value *v;
	expect_ok(c, om_value_open(c, NULL, 0, om_int(0), &v));
	int up[2], down[2];
	assert_int_equal(pipe2(up, O_CLOEXEC), 0);
	assert_int_equal(pipe2(down, O_CLOEXEC), 0);
	struct steps_arg a = {v, up[1], down[0]};
	pid_t pid = tspawn(child_steps, &a);
	close(up[1]);
	close(down[0]);
	for (int k = 0; k < NSTEP; k++) {
		if (steps[k].setter == 0) {
			expect_ok(c, om_value_set(v, steps[k].it));
			if (step_check(v, k))
				fail_msg("step %d (own set): check %d", k,
				         step_check(v, k));
			assert_int_equal(send_byte(down[1]), 0);
			if (wait_byte(up[0], 30))
				fail_msg("step %d: the child failed: exit %d",
				         k, reap(pid, 10));
		} else {
			if (wait_byte(up[0], 30))
				fail_msg("step %d: the child failed: exit %d",
				         k, reap(pid, 10));
			if (step_check(v, k))
				fail_msg("step %d (child's set): check %d", k,
				         step_check(v, k));
			assert_int_equal(send_byte(down[1]), 0);
		}
	}
	assert_int_equal(reap(pid, 30), 0);
	close(up[0]);
	close(down[1]);

	/* add and cas move it between the two homes too */
	om_item it;
	bool swapped = false;
	expect_ok(c, om_value_set(v, om_str("x")));
	expect_rc(c, om_value_add(v, om_int(1), NULL), OM_ETYPE);
	expect_ok(c, om_value_cas(v, om_str("x"), om_int(40), &swapped));
	assert_true(swapped);
	assert_int_equal(om_is_shared(v), shm_on());
	expect_ok(c, om_value_add(v, om_int(2), &it));
	assert_int_item(&it, 42);
	expect_ok(c, om_value_add(v, om_float(0.5), &it));
	assert_float_item(&it, 42.5);
	assert_int_equal(om_is_shared(v), shm_on());
	expect_ok(c, om_value_cas(v, om_int(1), om_str("no"), &swapped));
	assert_false(swapped);
	expect_ok(c, om_value_cas(v, om_float(42.5), om_str("yes"), &swapped));
	assert_true(swapped);
	assert_false(om_is_shared(v));
	expect_ok(c, om_value_get(v, &it));
	assert_str_item(&it, "yes");
	om_item_free(&it);
	om_release(v);
	tdisconnect(c);
}

/* ---------------------------------------------------------- om_array_map */

enum { MAPN = 64 };

struct map_arg {
	om_array *ai, *af; /* inherited; or by name: "shm.map.i" */
	bool own;
};

static int child_map_write(void *p)
{
	struct map_arg *m = p;
	om_array *ai = m->ai, *af = m->af;
	if (m->own) {
		om_client *c;
		if (om_connect(srv.path, &c) != OM_OK)
			CHILD_FAIL(1, "om_connect");
		if (om_array_open(c, "shm.map.i", 0, OM_INT, 0, &ai) != OM_OK ||
		    om_array_open(c, "shm.map.f", 0, OM_FLOAT, 0, &af) != OM_OK)
			CHILD_FAIL(2, "open by name");
	}
	void *bi, *bf;
	size_t ni = 0, nf = 0;
	int rc = om_array_map(ai, &bi, &ni);
	if (rc != OM_OK || ni != MAPN)
		CHILD_FAIL(3, "om_array_map = %d, n %zu", rc, ni);
	if ((rc = om_array_map(af, &bf, &nf)) != OM_OK || nf != MAPN)
		CHILD_FAIL(4, "om_array_map(float) = %d, n %zu", rc, nf);
	int64_t *vi = bi;
	double *vf = bf;
	/* the parent's om_array_set is there */
	if (vi[0] != 11 || vf[0] != 0.25)
		CHILD_FAIL(5, "the parent's set: %" PRId64 " %g", vi[0], vf[0]);
	if ((rc = om_array_lock(ai, 10)) != OM_OK)
		CHILD_FAIL(6, "om_array_lock = %d", rc);
	if ((rc = om_array_lock(af, 10)) != OM_OK)
		CHILD_FAIL(7, "om_array_lock = %d", rc);
	int64_t k = m->own ? 1000 : 0;
	for (size_t i = 0; i < MAPN; i++) {
		vi[i] = k + (int64_t)(i * i);
		vf[i] = (double)k + (double)i + 0.5;
	}
	if (om_array_unlock(af) != OM_OK || om_array_unlock(ai) != OM_OK)
		CHILD_FAIL(8, "om_array_unlock");
	return 0;
}

static void test_array_map(void **state)
{
	(void)state;
	om_client *c = tclient();
	struct map_arg m = {.own = false};
	expect_ok(c, om_array_open(c, "shm.map.i", OM_CREATE | OM_EXCL, OM_INT,
	                           MAPN, &m.ai));
	expect_ok(c, om_array_open(c, "shm.map.f", OM_CREATE | OM_EXCL,
	                           OM_FLOAT, MAPN, &m.af));
	void *base = (void *)1;
	size_t n = 0;
	if (!shm_on()) {
		expect_rc(c, om_array_map(m.ai, &base, &n), OM_EINVAL);
		expect_rc(c, om_array_map(m.af, &base, &n), OM_EINVAL);
		om_release(m.ai);
		om_release(m.af);
		expect_ok(c, om_unlink(c, "shm.map.i"));
		expect_ok(c, om_unlink(c, "shm.map.f"));
		tdisconnect(c);
		return;
	}
	expect_ok(c, om_array_set(m.ai, 0, om_int(11)));
	expect_ok(c, om_array_set(m.af, 0, om_float(0.25)));
	for (int own = 0; own < 2; own++) {
		m.own = own;
		pid_t pid = tspawn(child_map_write, &m);
		reap_all(&pid, 1);
		int64_t k = own ? 1000 : 0;
		for (size_t i = 0; i < MAPN; i++) {
			om_item it;
			expect_ok(c, om_array_get(m.ai, i, &it));
			assert_int_item(&it, k + (int64_t)(i * i));
			expect_ok(c, om_array_get(m.af, i, &it));
			assert_float_item(&it, (double)k + (double)i + 0.5);
		}
		expect_ok(c, om_array_set(m.ai, 0, om_int(11)));
		expect_ok(c, om_array_set(m.af, 0, om_float(0.25)));
	}
	/* our own mapping sees the same memory, both ways */
	expect_ok(c, om_array_map(m.ai, &base, &n));
	assert_int_equal(n, MAPN);
	int64_t *vi = base;
	assert_int_equal(vi[0], 11);
	assert_int_equal(vi[MAPN - 1], 1000 + (MAPN - 1) * (MAPN - 1));
	expect_ok(c, om_array_lock(m.ai, 10));
	vi[5] = -5;
	expect_ok(c, om_array_unlock(m.ai));
	om_item it;
	expect_ok(c, om_array_get(m.ai, 5, &it));
	assert_int_item(&it, -5);
	expect_ok(c, om_array_add(m.ai, 5, om_int(-1), NULL));
	assert_int_equal(vi[5], -6);
	/* a client with OBJMGR_SHM=0 cannot map (child_mix checks it), and
	 * neither can a released handle */
	om_release(m.ai);
	om_release(m.af);
	expect_rc(c, om_array_map(m.ai, &base, &n), OM_EINVAL);
	expect_ok(c, om_unlink(c, "shm.map.i"));
	expect_ok(c, om_unlink(c, "shm.map.f"));
	tdisconnect(c);
}

/* ------------------------------------------------ segments are freed */

enum { BIGN = 1 << 20 };

struct seg_arg {
	int ready;
};

/* Open shm objects of its own (own connection), use them, report, wait
 * to be killed: its anonymous objects and their segments must go. */
static int child_seg_hoard(void *p)
{
	struct seg_arg *s = p;
	om_client *c;
	if (om_connect(srv.path, &c) != OM_OK)
		CHILD_FAIL(1, "om_connect");
	om_array *a;
	om_lock *l;
	om_sem *sem;
	om_event *e;
	om_value *v;
	if (om_array_open(c, NULL, 0, OM_INT, 4096, &a) ||
	    om_lock_open(c, NULL, OM_RECURSIVE, &l) ||
	    om_sem_open(c, NULL, 0, 1, &sem) || om_event_open(c, NULL, 0, &e) ||
	    om_value_open(c, NULL, 0, om_float(1), &v))
		CHILD_FAIL(2, "open");
	if (om_array_set(a, 4095, om_int(1)) || om_lock_acquire(l, 0) ||
	    om_sem_acquire(sem, 0) || om_event_set(e) ||
	    om_value_add(v, om_int(1), NULL))
		CHILD_FAIL(3, "use");
	if (send_byte(s->ready))
		CHILD_FAIL(4, "send_byte");
	pause();
	return 5;
}

/* Use every handle once (inherited), so the child maps them too. */
struct use_arg {
	om_array *a;
	om_lock *l;
	om_sem *s;
	om_event *e;
	om_value *v;
};

static int child_seg_use(void *p)
{
	struct use_arg *u = p;
	om_item it;
	if (om_array_add(u->a, BIGN - 1, om_int(1), &it) || !is_int(&it, 2))
		CHILD_FAIL(1, "array");
	if (om_lock_acquire(u->l, 10) || om_lock_release(u->l))
		CHILD_FAIL(2, "lock");
	if (om_sem_acquire(u->s, 10) || om_sem_release(u->s, 1))
		CHILD_FAIL(3, "sem");
	if (om_event_wait(u->e, 10))
		CHILD_FAIL(4, "event");
	if (om_value_add(u->v, om_int(1), &it) || !is_int(&it, 2))
		CHILD_FAIL(5, "value");
	return 0;
}

static void expect_shm_base(om_client *c, const om_server_stats *base)
{
	wait_stat(c, objects, base->objects);
	wait_stat(c, segments, base->segments);
	wait_stat(c, mapped, base->mapped);
}

static void test_segments_freed(void **state)
{
	(void)state;
	om_client *c = tclient();
	om_server_stats base = settle(c), st;
	bool on = shm_on();

	struct use_arg u;
	om_value *vs;
	expect_ok(c, om_array_open(c, NULL, 0, OM_INT, BIGN, &u.a));
	expect_ok(c, om_lock_open(c, NULL, 0, &u.l));
	expect_ok(c, om_sem_open(c, NULL, 0, 1, &u.s));
	expect_ok(c, om_event_open(c, NULL, 0, &u.e));
	expect_ok(c, om_value_open(c, NULL, 0, om_int(1), &u.v));
	expect_ok(c, om_value_open(c, NULL, 0, om_int(1), &vs));
	expect_ok(c, om_value_set(vs, om_str("a str now")));
	expect_ok(c, om_array_set(u.a, BIGN - 1, om_int(1)));
	expect_ok(c, om_event_set(u.e));
	expect_ok(c, om_stats(c, &st));
	if (on) {
		/* the server maps every segment, the big array's 8 MiB too */
		assert_true(st.segments > base.segments);
		assert_true(st.mapped >= base.mapped + (uint64_t)BIGN * 8);
	}
	pid_t pid = tspawn(child_seg_use, &u);
	reap_all(&pid, 1);
	settle(c);
	om_release(u.a);
	om_release(u.l);
	om_release(u.s);
	om_release(u.e);
	om_release(u.v);
	om_release(vs);
	expect_shm_base(c, &base);

	/* a named one lives until unlinked, then goes */
	om_array *na;
	expect_ok(c, om_array_open(c, "shm.seg.named", OM_CREATE | OM_EXCL,
	                           OM_FLOAT, 1000, &na));
	expect_ok(c, om_array_set(na, 999, om_float(9.5)));
	om_release(na);
	wait_stat(c, objects, base.objects + 1);
	expect_ok(c, om_array_open(c, "shm.seg.named", 0, OM_FLOAT, 0, &na));
	om_item it;
	expect_ok(c, om_array_get(na, 999, &it));
	assert_float_item(&it, 9.5);
	om_release(na);
	expect_ok(c, om_unlink(c, "shm.seg.named"));
	expect_shm_base(c, &base);

	/* a SIGKILLed client's objects and segments */
	struct ready r;
	ready_init(&r);
	struct seg_arg sa = {r.p[1]};
	pid = tspawn(child_seg_hoard, &sa);
	ready_wait(&r, pid);
	expect_ok(c, om_stats(c, &st));
	assert_int_equal(st.objects, base.objects + 5);
	if (on)
		assert_true(st.segments > base.segments);
	sigkill_reap(pid);
	expect_shm_base(c, &base);

	/* many opened and released in turn: nothing accumulates */
	for (int i = 0; i < 200; i++) {
		om_lock *l;
		om_array *a;
		expect_ok(c, om_lock_open(c, NULL, 0, &l));
		expect_ok(c, om_array_open(c, NULL, 0, OM_INT, 100, &a));
		expect_ok(c, om_lock_acquire(l, 0));
		expect_ok(c, om_array_lock(a, 0));
		expect_ok(c, om_lock_release(l));
		expect_ok(c, om_array_unlock(a));
		om_release(l);
		om_release(a);
	}
	expect_shm_base(c, &base);
	tdisconnect(c);
}

/* -------------------------------------------------- nothing in /dev/shm */

static char devshm_before[8192];

/* The sorted names in /dev/shm, one a line ("<none>" without it). */
static void devshm_list(char *buf, size_t cap)
{
	DIR *d = opendir("/dev/shm");
	buf[0] = '\0';
	if (!d) {
		snprintf(buf, cap, "<none>\n");
		return;
	}
	char *names[512];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 512) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	for (size_t i = 1; i < n; i++) /* insertion sort: a few names */
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0;
		     j--) {
			char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		if (len + strlen(names[i]) + 2 < cap)
			len += (size_t)snprintf(buf + len, cap - len, "%s\n",
			                        names[i]);
		free(names[i]);
	}
}

static void expect_devshm_unchanged(const char *when)
{
	char now_[sizeof devshm_before];
	devshm_list(now_, sizeof now_);
	if (strcmp(now_, devshm_before) != 0) {
		print_error("/dev/shm changed (%s): before:\n%safter:\n%s",
		            when, devshm_before, now_);
		fail();
	}
}

/* Whether /proc/PID/maps has a line containing `what`. */
static bool maps_have(pid_t pid, const char *what)
{
	char path[64], line[1024];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, what) != NULL;
	fclose(f);
	return found;
}

static void test_no_dev_shm(void **state)
{
	(void)state;
	om_client *c = tclient();
	om_array *a;
	om_lock *l;
	om_sem *s;
	om_event *e;
	om_value *v;
	expect_ok(c,
	          om_array_open(c, "shm.devshm.a", OM_CREATE, OM_INT, 100, &a));
	expect_ok(c, om_lock_open(c, NULL, 0, &l));
	expect_ok(c, om_sem_open(c, NULL, 0, 0, &s));
	expect_ok(c, om_event_open(c, NULL, 0, &e));
	expect_ok(c, om_value_open(c, NULL, 0, om_int(3), &v));
	expect_ok(c, om_array_set(a, 1, om_int(1)));
	expect_ok(c, om_lock_acquire(l, 0));
	expect_ok(c, om_sem_release(s, 1));
	expect_ok(c, om_event_set(e));
	/* with segments alive: none of them is a file under /dev/shm */
	expect_devshm_unchanged("with objects alive");
	assert_false(maps_have(srv.pid, "/dev/shm/"));
	assert_false(maps_have(getpid(), "/dev/shm/"));
	if (shm_on()) {
		/* memfd segments, mapped by both sides */
		assert_true(maps_have(srv.pid, "memfd:"));
		assert_true(maps_have(getpid(), "memfd:"));
	} else {
		assert_false(maps_have(getpid(), "memfd:"));
	}
	expect_ok(c, om_lock_release(l));
	om_release(a);
	om_release(l);
	om_release(s);
	om_release(e);
	om_release(v);
	expect_ok(c, om_unlink(c, "shm.devshm.a"));
	tdisconnect(c);
}

/* Last: after every other test (and its children) in this program. */
static void test_dev_shm_unchanged(void **state)
{
	(void)state;
	om_client *c = tclient();
	settle(c);
	tdisconnect(c);
	expect_devshm_unchanged("at the end");
}

/* ------------------------------------- a client that abuses its segments */

/* The objects a hostile round abuses: fresh ones each round (a segment
 * whose header is garbage is never mapped again: its clients use RPC). */
static const char *const hostile_names[] = {"arr", "lock", "rlock",
                                            "sem", "ev",   "val"};
enum { NHOSTILE = sizeof hostile_names / sizeof *hostile_names };

struct hostile_objs {
	om_array *a;
	om_lock *l, *rl;
	om_sem *s;
	om_event *e;
	om_value *v;
};

static const char *hostile_name(int round, int i)
{
	static char buf[NHOSTILE][32];
	snprintf(buf[i], sizeof buf[i], "h%d.%s", round, hostile_names[i]);
	return buf[i];
}

static int hostile_open(om_client *c, int flags, int round,
                        struct hostile_objs *o)
{
	return om_array_open(c, hostile_name(round, 0), flags, OM_INT, 256,
	                     &o->a) ||
	       om_lock_open(c, hostile_name(round, 1), flags, &o->l) ||
	       om_lock_open(c, hostile_name(round, 2), flags | OM_RECURSIVE,
	                    &o->rl) ||
	       om_sem_open(c, hostile_name(round, 3), flags, 1, &o->s) ||
	       om_event_open(c, hostile_name(round, 4), flags, &o->e) ||
	       om_value_open(c, hostile_name(round, 5), flags, om_int(5),
	                     &o->v);
}

static void hostile_release(struct hostile_objs *o)
{
	om_release(o->a);
	om_release(o->l);
	om_release(o->rl);
	om_release(o->s);
	om_release(o->e);
	om_release(o->v);
}

/* What the hostile child did, for the parent's assertions. */
struct hostile_report {
	int mappings;     /* memfd mappings in /proc/self/maps */
	int fds;          /* memfd descriptors it could get */
	int grow_refused; /* ftruncate larger: EPERM */
	int shrink_refused;
	int truncated;   /* ftruncate that worked (must stay 0) */
	int scribbled;   /* regions overwritten with garbage */
	int kicks;       /* kick sockets flooded (and found unreadable) */
	long long bytes; /* bytes of garbage written */
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void scribble(void *p, size_t n, uint64_t *seed)
{
	unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)xorshift(seed);
}

/* A memfd's descriptor, whatever its name: a link "/memfd:NAME (deleted)"
 * under /proc/self/fd. */
static bool link_has(const char *path, const char *what)
{
	char target[512];
	ssize_t n = readlink(path, target, sizeof target - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	return strstr(target, what) != NULL;
}

static bool is_memfd_link(const char *path)
{
	return link_has(path, "memfd:");
}

/* The server's kick socket (the wake-up for parked RPC callers: a
 * datagram socket, where the connection is a stream): flood it, clear its
 * O_NONBLOCK (shared by every client's copy), and try to read what others
 * send on it (nothing: that goes to the server's end). */
static void hostile_kick(int fd, struct hostile_report *r)
{
	int type = 0;
	socklen_t len = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    type != SOCK_DGRAM)
		return;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	char junk[512] = {0};
	for (int i = 0; i < 2000; i++)
		if (send(fd, junk, sizeof junk, MSG_DONTWAIT) < 0)
			break;
	char buf[64];
	if (recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0)
		r->kicks++;
}

static void hostile_fd(int fd, struct hostile_report *r, uint64_t *seed)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0 || sb.st_size <= 0)
		return;
	r->fds++;
	/* sealed against growing and shrinking */
	if (ftruncate(fd, sb.st_size + 4096) == 0)
		r->truncated++;
	else if (errno == EPERM)
		r->grow_refused++;
	if (ftruncate(fd, 0) == 0)
		r->truncated++;
	else if (errno == EPERM)
		r->shrink_refused++;
	/* garbage over the whole segment, by a mapping of our own */
	void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE,
	               MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return;
	scribble(p, (size_t)sb.st_size, seed);
	r->scribbled++;
	r->bytes += sb.st_size;
	munmap(p, (size_t)sb.st_size);
}

struct hostile_arg {
	const char *path;
	int round;
	int report; /* write end */
};

/* Open and use everything (taking the locks and the permit and keeping
 * them), then: ftruncate every memfd it has, and overwrite every segment
 * (through its descriptors, else /proc/self/map_files, else its own
 * mappings) with garbage; flood the server's kick socket; report, and exit
 * holding the locks. */
static int child_hostile(void *p)
{
	struct hostile_arg *h = p;
	struct hostile_report r = {0};
	uint64_t seed = 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	om_client *c;
	struct hostile_objs o;
	if (om_connect(h->path, &c) != OM_OK)
		CHILD_FAIL(1, "om_connect");
	if (hostile_open(c, 0, h->round, &o))
		CHILD_FAIL(2, "open");
	/* any code will do: after an earlier round's garbage, the locks
	 * may not be to be had */
	om_item it;
	(void)om_array_set(o.a, 7, om_int(7));
	(void)om_array_get(o.a, 7, &it);
	(void)om_array_lock(o.a, 0.5);
	(void)om_lock_acquire(o.l, 0.5);
	(void)om_lock_acquire(o.rl, 0.5);
	(void)om_lock_acquire(o.rl, 0.5);
	(void)om_sem_acquire(o.s, 0.5);
	(void)om_event_set(o.e);
	(void)om_value_add(o.v, om_int(1), NULL);

	/* the descriptors */
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		struct dirent *de;
		int dfd = dirfd(d);
		while ((de = readdir(d))) {
			char path[300];
			int fd = atoi(de->d_name);
			if (de->d_name[0] == '.' || fd == dfd)
				continue;
			snprintf(path, sizeof path, "/proc/self/fd/%s",
			         de->d_name);
			if (is_memfd_link(path))
				hostile_fd(fd, &r, &seed);
			else if (link_has(path, "socket:"))
				hostile_kick(fd, &r);
		}
		closedir(d);
	}
	bool had_fds = r.fds > 0;
	/* the mappings */
	FILE *f = fopen("/proc/self/maps", "re");
	char line[1024];
	struct {
		unsigned long lo, hi;
		char perms[8];
	} maps[256];
	int nmaps = 0;
	while (f && fgets(line, sizeof line, f) && nmaps < 256) {
		if (!strstr(line, "memfd:"))
			continue;
		if (sscanf(line, "%lx-%lx %7s", &maps[nmaps].lo,
		           &maps[nmaps].hi, maps[nmaps].perms) == 3)
			nmaps++;
	}
	if (f)
		fclose(f);
	r.mappings = nmaps;
	/* the library may close a segment's descriptor once mapped: then
	 * reopen each mapping (needs CAP_SYS_ADMIN; test_shm_server.c
	 * truncates MAP's own descriptor regardless) */
	for (int i = 0; i < nmaps && !had_fds; i++) {
		char path[128];
		snprintf(path, sizeof path, "/proc/self/map_files/%lx-%lx",
		         maps[i].lo, maps[i].hi);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			hostile_fd(fd, &r, &seed);
			close(fd);
		}
	}
	if (r.scribbled == 0) {
		for (int i = 0; i < nmaps; i++) {
			void *lo = (void *)maps[i].lo;
			size_t n = maps[i].hi - maps[i].lo;
			if (maps[i].perms[1] != 'w' &&
			    mprotect(lo, n, PROT_READ | PROT_WRITE) != 0)
				continue;
			scribble(lo, n, &seed);
			r.scribbled++;
			r.bytes += (long long)n;
		}
	}
	if (write(h->report, &r, sizeof r) != (ssize_t)sizeof r)
		return 4;
	return 0; /* _exit: no release, no disconnect */
}

/* Another client, after the abuse: every call returns (any code). Before
 * each call it writes the call's number to h->report, so that a call that
 * hangs is named. */
#define STEP(call)                                        \
	do {                                              \
		unsigned char n_ = (unsigned char)step++; \
		if (write(h->report, &n_, 1) != 1)        \
			return 100;                       \
		(void)(call);                             \
	} while (0)

static const char *const after_steps[] = {
        "om_connect",
        "open",
        "om_array_get",
        "om_array_set",
        "om_array_add",
        "om_array_len",
        "om_array_map",
        "om_array_lock(0.1)",
        "om_array_unlock",
        "om_lock_acquire(0.1)",
        "om_lock_release",
        "om_lock_locked",
        "om_lock_acquire(rlock, 0.1)",
        "om_lock_release",
        "om_sem_acquire(0.1)",
        "om_sem_release",
        "om_sem_value",
        "om_event_wait(0.1)",
        "om_event_clear",
        "om_event_set",
        "om_event_is_set",
        "om_value_get",
        "om_value_add",
        "om_value_set",
        "om_value_cas",
        "om_value_set",
        "om_array_write",
        "om_array_read",
        "om_disconnect",
        "(done)",
};

static int child_after_hostile(void *p)
{
	struct hostile_arg *h = p;
	om_client *c = NULL;
	struct hostile_objs o;
	om_item it = {0};
	om_items items = {0};
	bool b;
	unsigned u;
	size_t n;
	void *base;
	int step = 0, rc = -1;
	STEP(rc = om_connect(h->path, &c));
	if (rc != OM_OK)
		CHILD_FAIL(1, "om_connect = %d", rc);
	STEP(rc = hostile_open(c, 0, h->round, &o));
	if (rc)
		CHILD_FAIL(2, "open");
	STEP(om_array_get(o.a, 7, &it));
	STEP(om_array_set(o.a, 7, om_int(1)));
	STEP(om_array_add(o.a, 7, om_int(1), NULL));
	STEP(om_array_len(o.a, &n));
	STEP(om_array_map(o.a, &base, &n));
	STEP(rc = om_array_lock(o.a, 0.1));
	STEP(rc >= 0 ? om_array_unlock(o.a) : 0);
	STEP(rc = om_lock_acquire(o.l, 0.1));
	STEP(rc >= 0 ? om_lock_release(o.l) : 0);
	STEP(om_lock_locked(o.l, &b));
	STEP(rc = om_lock_acquire(o.rl, 0.1));
	STEP(rc >= 0 ? om_lock_release(o.rl) : 0);
	STEP(rc = om_sem_acquire(o.s, 0.1));
	STEP(rc >= 0 ? om_sem_release(o.s, 1) : 0);
	STEP(om_sem_value(o.s, &u));
	STEP(om_event_wait(o.e, 0.1));
	STEP(om_event_clear(o.e));
	STEP(om_event_set(o.e));
	STEP(om_event_is_set(o.e, &b));
	STEP(rc = om_value_get(o.v, &it));
	if (rc == OM_OK)
		om_item_free(&it);
	STEP(om_value_add(o.v, om_int(1), NULL));
	STEP(om_value_set(o.v, om_int(1)));
	STEP(om_value_cas(o.v, om_int(1), om_str("s"), &b));
	STEP(om_value_set(o.v, om_int(2)));
	/* last, the calls without a timeout */
	om_item row[4] = {om_int(1), om_int(2), om_int(3), om_int(4)};
	STEP(om_array_write(o.a, 0, row, 4));
	STEP(rc = om_array_read(o.a, 0, 256, &items));
	if (rc == OM_OK)
		om_items_free(&items);
	STEP(om_disconnect(c));
	STEP(0);
	return 0;
}

/* Two rounds, on a server of its own: a hostile client abuses fresh
 * objects and exits; the server is up, answers, and another client's
 * calls on those objects all return; new objects work; the server exits 0
 * at the end. */
static void test_hostile_segments(void **state)
{
	(void)state;
	static struct server hs;
	memset(&hs, 0, sizeof hs);
	server_start(&hs, NULL); /* its own: the garbage stays there */
	left_server = &hs;
	om_client *c = client(&hs);
	left_clients[MAXLEFT - 1] = c;
	struct hostile_objs o;
	for (int round = 0; round < 2; round++) {
		/* the parent keeps no handle whose mapping the child will
		 * scribble over */
		assert_int_equal(
		        hostile_open(c, OM_CREATE | OM_EXCL, round, &o), 0);
		hostile_release(&o);
		int rp[2];
		assert_int_equal(pipe2(rp, O_CLOEXEC), 0);
		struct hostile_arg h = {hs.path, round, rp[1]};
		pid_t pid = tspawn(child_hostile, &h);
		close(rp[1]);
		assert_int_equal(reap(pid, 30), 0);
		struct hostile_report r;
		ssize_t got = read(rp[0], &r, sizeof r);
		close(rp[0]);
		assert_int_equal(got, (ssize_t)sizeof r);
		print_message("hostile: %d memfd mappings, %d descriptors, "
		              "ftruncate refused %d+%d, allowed %d; %d regions "
		              "(%lld bytes) scribbled, %d kick sockets flooded\n",
		              r.mappings, r.fds, r.grow_refused,
		              r.shrink_refused, r.truncated, r.scribbled,
		              r.bytes, r.kicks);
		assert_int_equal(r.truncated, 0);
		assert_int_equal(r.grow_refused, r.fds);
		assert_int_equal(r.shrink_refused, r.fds);
		if (shm_on()) {
			assert_true(r.mappings >= 1);
			assert_true(r.scribbled >= 1);
		} else {
			assert_int_equal(r.mappings, 0); /* RPC maps nothing */
		}

		/* the server is up and answers */
		expect_ok(c, om_ping(c));
		om_server_stats st;
		expect_ok(c, om_stats(c, &st));
		/* another client uses the abused objects: calls return */
		assert_int_equal(pipe2(rp, O_CLOEXEC), 0);
		h.report = rp[1];
		pid = tspawn(child_after_hostile, &h);
		close(rp[1]);
		int status = reap(pid, 10);
		unsigned char steps_done[64];
		ssize_t ns = read(rp[0], steps_done, sizeof steps_done);
		close(rp[0]);
		size_t last = ns > 0 ? steps_done[ns - 1] : 0;
		size_t nnames = sizeof after_steps / sizeof *after_steps;
		if (status != 0)
			fail_msg("round %d: a client of the abused objects: "
			         "exit "
			         "%d (-1: killed by a signal, -2: hung) in %s",
			         round, status,
			         last < nnames ? after_steps[last] : "?");
		assert_int_equal(last, nnames - 1);
		expect_ok(c, om_ping(c));
		expect_ok(c, om_stats(c, &st));
	}

	/* and still serves new objects */
	om_array *a;
	om_lock *l;
	expect_ok(c, om_array_open(c, NULL, 0, OM_INT, 16, &a));
	expect_ok(c, om_array_set(a, 15, om_int(15)));
	om_item it;
	expect_ok(c, om_array_get(a, 15, &it));
	assert_int_item(&it, 15);
	expect_ok(c, om_lock_open(c, NULL, 0, &l));
	expect_ok(c, om_lock_acquire(l, 0));
	expect_rc(c, om_lock_acquire(l, 0), OM_ETIMEOUT);
	expect_ok(c, om_lock_release(l));
	om_release(a);
	om_release(l);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < NHOSTILE; i++)
			expect_ok(c, om_unlink(c, hostile_name(round, i)));
	tdisconnect(c);
	left_server = NULL;
	server_stop(&hs); /* exits 0: it never crashed */
}

/* ------------------------------------------------------------------ main */

static int shm_setup(void **state)
{
	devshm_list(devshm_before, sizeof devshm_before);
	return srv_setup(state);
}

static int shm_teardown(void **state)
{
	srv_teardown(state);
	char now_[sizeof devshm_before];
	devshm_list(now_, sizeof now_);
	if (strcmp(now_, devshm_before) != 0) {
		print_error(
		        "/dev/shm changed by the run: before:\n%safter:\n%s",
		        devshm_before, now_);
		return -1;
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_teardown(test_adds_exact, drop_leftovers),
	        cmocka_unit_test_teardown(test_killed_writer_rows,
	                                  drop_leftovers),
	        cmocka_unit_test_teardown(test_array_lock_holder_killed,
	                                  drop_leftovers),
	        cmocka_unit_test_teardown(test_lock_holder_killed,
	                                  drop_leftovers),
	        cmocka_unit_test_teardown(test_rlock_holder_killed,
	                                  drop_leftovers),
	        cmocka_unit_test_teardown(test_waiters_woken, drop_leftovers),
	        cmocka_unit_test_teardown(test_timeouts_contended,
	                                  drop_leftovers),
	        cmocka_unit_test_teardown(test_array_lock_excludes,
	                                  drop_leftovers),
	        cmocka_unit_test_teardown(test_shm_and_rpc_clients,
	                                  drop_leftovers),
	        cmocka_unit_test_teardown(test_cond_over_shm_lock,
	                                  drop_leftovers),
	        cmocka_unit_test_teardown(test_is_shared_types, drop_leftovers),
	        cmocka_unit_test_teardown(test_value_transitions,
	                                  drop_leftovers),
	        cmocka_unit_test_teardown(test_array_map, drop_leftovers),
	        cmocka_unit_test_teardown(test_segments_freed, drop_leftovers),
	        cmocka_unit_test_teardown(test_no_dev_shm, drop_leftovers),
	        cmocka_unit_test_teardown(test_hostile_segments,
	                                  drop_leftovers),
	        cmocka_unit_test_teardown(test_dev_shm_unchanged,
	                                  drop_leftovers),
	};
	return RUN(tests, 110, shm_setup, shm_teardown);
}
