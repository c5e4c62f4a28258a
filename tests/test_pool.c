/*
 * test_pool.c — om_pool_*, om_async_*, om_task_*, end to end with real
 * workers, after CPython's _TestPool (apply, map, starmap, map_async and
 * its callbacks, chunksizes, async timeouts, imap and imap_unordered, a
 * failing item inside imap, bad pool sizes, terminate, empty iterables, a
 * failing map that leaves the pool usable, no leaked results),
 * _TestPoolWorkerLifetime (maxtasksperchild: new worker pids, right
 * results; close early) and _TestPoolWorkerErrors (the error callback gets
 * the failure, its message whole); and what Python's Pool cannot promise:
 * a worker SIGKILLed mid-task fails exactly that task with OM_EBROKEN
 * naming it and the signal, and is replaced; a creator SIGKILLed takes its
 * supervisor and workers along, and a submitter of another process gets
 * an error instead of hanging; an unrelated program submits to a named
 * pool; callbacks run once, in the submitter, before om_async_get returns;
 * om_pool_dispatch; initializers (their state seen by every task; one that
 * fails breaks the pool); processes 0 is the CPU count; close, terminate
 * and join rules; unknown functions; workers hold what they inherit; a
 * creator's om_release stops its pool; a daemon cannot create one.
 *
 * Tasks that must stay running until the test acts wait on an event the
 * test sets (and record their worker's pid in a value first): no sleeps.
 */
#include "harness.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ the tasks */

/* What tasks use, set before om_pool_open (the workers' copy is the
 * creator's memory at that moment). */
static om_event *g_ev;  /* block waits for it */
static om_value *g_pid; /* block writes its worker's pid here */
static om_dict *g_dict; /* dict_get reads it */
static int64_t g_tag;   /* set by the initializer, in each worker */

static int t_square(om_task *t, const om_item *a, size_t n)
{
	if (n != 1 || a[0].kind != OM_INT)
		return om_task_fail(t, "square takes one int, got %zu args", n);
	return om_task_return(t, om_int(a[0].i * a[0].i));
}

static int t_add(om_task *t, const om_item *a, size_t n)
{
	int64_t s = 0;
	for (size_t i = 0; i < n; i++) {
		if (a[i].kind != OM_INT)
			return om_task_fail(t, "add: argument %zu is no int",
			                    i);
		s += a[i].i;
	}
	return om_task_return(t, om_int(s));
}

/* square, but item 5 raises */
static int t_fail5(om_task *t, const om_item *a, size_t n)
{
	if (n == 1 && a[0].kind == OM_INT && a[0].i == 5)
		return om_task_fail(t, "item %lld is bad", (long long)a[0].i);
	return t_square(t, a, n);
}

static int t_pid(om_task *t, const om_item *a, size_t n)
{
	(void)a;
	(void)n;
	return om_task_return(t, om_int(getpid()));
}

static int t_neg(om_task *t, const om_item *a, size_t n)
{
	(void)t;
	(void)a;
	(void)n;
	return OM_EVALUE;
}

static int t_nil(om_task *t, const om_item *a, size_t n)
{
	(void)t;
	(void)a;
	(void)n;
	return 0;
}

static int t_twice(om_task *t, const om_item *a, size_t n)
{
	(void)a;
	(void)n;
	if (om_task_return(t, om_str("first")) != OM_OK)
		return -1;
	int rc = om_task_return(t, om_str("second"));
	return rc == OM_EINVAL ? 0 : om_task_fail(t, "second return: %d", rc);
}

#define BIG_MSG 100000
static int t_bigmsg(om_task *t, const om_item *a, size_t n)
{
	(void)a;
	(void)n;
	char *m = malloc(BIG_MSG + 1);
	if (!m)
		return om_task_fail(t, "no memory");
	memset(m, 'x', BIG_MSG);
	memcpy(m + BIG_MSG - 3, "END", 4);
	om_task_fail(t, "%s", m);
	free(m);
	return OM_ETASK;
}

static int t_block(om_task *t, const om_item *a, size_t n)
{
	(void)a;
	(void)n;
	if (om_value_set(g_pid, om_int(getpid())))
		return om_task_fail(t, "cannot record the pid");
	int rc = om_event_wait(g_ev, OM_FOREVER);
	if (rc)
		return om_task_fail(t, "event wait: %s", om_strerror(rc));
	return om_task_return(t, om_int(getpid()));
}

/* Waits (bounded) for g_ev, which t_set sets: fails if it never is. */
static int t_wait_ev(om_task *t, const om_item *a, size_t n)
{
	(void)a;
	(void)n;
	int rc = om_event_wait(g_ev, 30);
	if (rc)
		return om_task_fail(t, "event wait: %s", om_strerror(rc));
	return om_task_return(t, om_int(getpid()));
}

static int t_set(om_task *t, const om_item *a, size_t n)
{
	(void)a;
	(void)n;
	int rc = om_event_set(g_ev);
	if (rc)
		return om_task_fail(t, "event set: %s", om_strerror(rc));
	return om_task_return(t, om_int(getpid()));
}

static int t_dict_get(om_task *t, const om_item *a, size_t n)
{
	if (n != 1)
		return om_task_fail(t, "dict_get takes a key");
	om_item v;
	int rc = om_dict_get(g_dict, a[0], &v);
	if (rc)
		return om_task_fail(t, "dict_get: %s", om_strerror(rc));
	rc = om_task_return(t, v);
	om_item_free(&v);
	return rc;
}

static int t_tag(om_task *t, const om_item *a, size_t n)
{
	(void)a;
	(void)n;
	return om_task_return(t, om_int(g_tag));
}

static int t_init(om_task *t, const om_item *a, size_t n)
{
	if (n != 1 || a[0].kind != OM_INT)
		return om_task_fail(t, "init takes one int");
	g_tag = a[0].i;
	return 0;
}

/* An initializer that crashes (a signal, not om_task_fail). */
static int t_init_crash(om_task *t, const om_item *a, size_t n)
{
	(void)t;
	(void)a;
	(void)n;
	raise(SIGKILL);
	return 0;
}

static int t_init_fail(om_task *t, const om_item *a, size_t n)
{
	(void)a;
	(void)n;
	return om_task_fail(t, "init failed: no %s", "database");
}

/* echo its arguments' first, after checking that a bad result is
 * refused and the good one then stands */
static int t_echo(om_task *t, const om_item *a, size_t n)
{
	om_item bad = {.kind = 99};
	if (om_task_return(t, bad) != OM_EINVAL ||
	    om_task_return(NULL, om_nil()) != OM_EINVAL ||
	    om_task_fail(NULL, "x") != OM_ETASK)
		return om_task_fail(t, "bad results were taken");
	return om_task_return(t, n ? a[0] : om_nil());
}

/* a Ref to the inherited dict */
static int t_dict_ref(om_task *t, const om_item *a, size_t n)
{
	(void)a;
	(void)n;
	return om_task_return(t, om_ref(g_dict));
}

/* the worker leaves in the middle of its task: _exit(code), or SIGKILL
 * for -1 */
static int t_exit(om_task *t, const om_item *a, size_t n)
{
	if (n != 1 || a[0].kind != OM_INT)
		return om_task_fail(t, "exit takes a code");
	if (a[0].i < 0)
		kill(getpid(), SIGKILL);
	_exit((int)a[0].i);
}

/* a str of a[0] bytes */
static int t_big(om_task *t, const om_item *a, size_t n)
{
	if (n != 1 || a[0].kind != OM_INT || a[0].i < 0 || a[0].i > 1 << 20)
		return om_task_fail(t, "big takes a size");
	char *b = malloc((size_t)a[0].i + 1);
	if (!b)
		return om_task_fail(t, "no memory");
	memset(b, 'b', (size_t)a[0].i);
	int rc = om_task_return(t, om_strn(b, (size_t)a[0].i));
	free(b);
	return rc;
}

static om_list *g_list; /* append adds to it */

static int t_append(om_task *t, const om_item *a, size_t n)
{
	if (n != 1)
		return om_task_fail(t, "append takes an item");
	int rc = om_list_append(g_list, a[0]);
	return rc ? om_task_fail(t, "append: %s", om_strerror(rc)) : 0;
}

static const om_task_def tasks[] = {
        {"square", t_square},     {"add", t_add},         {"fail5", t_fail5},
        {"pid", t_pid},           {"neg", t_neg},         {"nil", t_nil},
        {"twice", t_twice},       {"bigmsg", t_bigmsg},   {"block", t_block},
        {"dict_get", t_dict_get}, {"tag", t_tag},         {"echo", t_echo},
        {"dict_ref", t_dict_ref}, {"exit", t_exit},       {"big", t_big},
        {"append", t_append},     {"wait_ev", t_wait_ev}, {"set", t_set},
};
#define NTASKS (sizeof tasks / sizeof *tasks)

static const om_pool_config cfg = {.tasks = tasks, .ntasks = NTASKS};

/* ---------------------------------------------------------------- helpers */

/* A new anonymous pool of n workers (cfg: the default one if NULL). */
static om_pool *new_pool(om_client *c, unsigned n, const om_pool_config *conf)
{
	om_pool *p = NULL;
	expect_ok(c, om_pool_open(c, NULL, 0, n, conf ? conf : &cfg, &p));
	return p;
}

/* Close, join (bounded), release. */
static void finish(om_client *c, om_pool *p)
{
	expect_ok(c, om_pool_close(p));
	expect_ok(c, om_pool_join(p, 30));
	om_release(p);
}

/* A fresh event and pid value for t_block, before the pool opens. */
static void block_setup(om_client *c)
{
	expect_ok(c, om_event_open(c, NULL, 0, &g_ev));
	expect_ok(c, om_value_open(c, NULL, 0, om_int(0), &g_pid));
}

static void block_teardown(void)
{
	om_release(g_ev);
	om_release(g_pid);
	g_ev = NULL;
	g_pid = NULL;
}

static bool pid_recorded(void *arg)
{
	(void)arg;
	om_item v;
	if (om_value_get(g_pid, &v))
		return false;
	return v.kind == OM_INT && v.i != 0;
}

/* Wait until a block task runs; its worker's pid. */
static pid_t blocked_pid(void)
{
	assert_true(poll_until(pid_recorded, NULL, 10));
	om_item v;
	assert_int_equal(om_value_get(g_pid, &v), OM_OK);
	return (pid_t)v.i;
}

/* Whether process pid is gone (or a zombie nobody has reaped yet). */
static bool gone(pid_t pid)
{
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t k = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[k] = '\0';
	const char *rp = strrchr(buf, ')');
	return rp && (rp[2] == 'Z' || rp[2] == 'X');
}

/* The parent of process pid (a worker's: its supervisor), from /proc. */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t k = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[k] = '\0';
	int ppid = 0;
	const char *rp = strrchr(buf, ')');
	assert_non_null(rp);
	assert_int_equal(sscanf(rp + 2, "%*c %d", &ppid), 1);
	return (pid_t)ppid;
}

static bool pid_gone(void *arg)
{
	return gone(*(pid_t *)arg);
}

struct want_workers {
	om_pool *p;
	unsigned n;
};

static bool workers_are(void *arg)
{
	struct want_workers *w = arg;
	om_pool_stats st;
	return om_pool_info(w->p, &st) == OM_OK && st.workers == w->n;
}

static void expect_workers(om_pool *p, unsigned n)
{
	struct want_workers w = {p, n};
	assert_true(poll_until(workers_are, &w, 10));
}

static unsigned cpus(void)
{
	cpu_set_t set;
	assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
	return (unsigned)CPU_COUNT(&set);
}

/* ------------------------------------------------------------ _TestPool */

static void test_apply(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	om_item a[3] = {om_int(7), om_int(8), om_int(9)}, r;
	expect_ok(c, om_pool_apply(p, "square", a, 1, &r));
	assert_int_item(&r, 49);
	expect_ok(c, om_pool_apply(p, "add", a, 3, &r));
	assert_int_item(&r, 24);
	expect_ok(c, om_pool_apply(p, "add", NULL, 0, &r));
	assert_int_item(&r, 0);
	expect_ok(c, om_pool_apply(p, "nil", NULL, 0, &r));
	assert_int_equal(r.kind, OM_NIL);
	expect_ok(c, om_pool_apply(p, "twice", NULL, 0, &r));
	assert_str_item(&r, "first");
	om_item_free(&r);
	/* Unknown function, no name, bad arguments. */
	expect_rc(c, om_pool_apply(p, "nosuch", a, 1, &r), OM_EINVAL);
	expect_rc(c, om_pool_apply(p, NULL, a, 1, &r), OM_EINVAL);
	expect_rc(c, om_pool_apply(p, "", a, 1, &r), OM_EINVAL);
	expect_rc(c, om_pool_apply(p, "square", a, 1, NULL), OM_EINVAL);
	expect_rc(c, om_pool_apply(p, "square", NULL, 1, &r), OM_EINVAL);
	om_item bad = {.kind = 99};
	expect_rc(c, om_pool_apply(p, "square", &bad, 1, &r), OM_EINVAL);
	/* A failing task: ETASK and its message. */
	om_item five = om_int(5);
	expect_rc(c, om_pool_apply(p, "fail5", &five, 1, &r), OM_ETASK);
	assert_string_equal(om_errmsg(c), "item 5 is bad");
	expect_rc(c, om_pool_apply(p, "neg", NULL, 0, &r), OM_ETASK);
	char want[200];
	snprintf(want, sizeof want, "task 'neg' returned %d (%s)", OM_EVALUE,
	         om_strerror(OM_EVALUE));
	assert_string_equal(om_errmsg(c), want);
	finish(c, p);
	om_disconnect(c);
}

static void check_squares(const om_items *r, size_t n)
{
	assert_int_equal(r->n, n);
	for (size_t i = 0; i < n; i++)
		assert_int_item(&r->v[i], (int64_t)(i * i));
}

static void test_map(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	om_item in[100];
	for (int i = 0; i < 100; i++)
		in[i] = om_int(i);
	size_t sizes[] = {0, 1, 3, 7, 100, 1000};
	for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		om_items r = {0};
		expect_ok(c, om_pool_map(p, "square", in, 100, sizes[k], &r));
		check_squares(&r, 100);
		om_items_free(&r);
	}
	om_items r = {0};
	expect_rc(c, om_pool_map(p, "square", in, 100, 0, NULL), OM_EINVAL);
	expect_rc(c, om_pool_map(p, "nosuch", in, 100, 0, &r), OM_EINVAL);
	finish(c, p);
	om_disconnect(c);
}

static void test_starmap(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	enum { N = 30 };
	om_item pairs[N][2];
	om_items argv[N];
	for (int i = 0; i < N; i++) {
		pairs[i][0] = om_int(i);
		pairs[i][1] = om_int(1000 * i);
		argv[i] = (om_items){pairs[i], (size_t)(i % 3 == 0 ? 1 : 2)};
	}
	size_t sizes[] = {0, 1, 4};
	for (size_t k = 0; k < 3; k++) {
		om_items r = {0};
		expect_ok(c, om_pool_starmap(p, "add", argv, N, sizes[k], &r));
		assert_int_equal(r.n, N);
		for (int i = 0; i < N; i++)
			assert_int_item(&r.v[i], i % 3 == 0 ? i : 1001 * i);
		om_items_free(&r);
	}
	finish(c, p);
	om_disconnect(c);
}

static void test_map_async(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	om_item in[50];
	for (int i = 0; i < 50; i++)
		in[i] = om_int(i);
	om_async *r;
	expect_ok(c, om_pool_map_async(p, "square", in, 50, 0, &r));
	om_item ref;
	expect_ok(c, om_async_get(r, &ref, 10));
	assert_int_equal(ref.kind, OM_REF);
	assert_int_equal(ref.ref.type, OM_TYPE_LIST);
	om_list *l;
	expect_ok(c, om_open_ref(c, &ref, (void **)&l));
	size_t n = 0;
	expect_ok(c, om_list_len(l, &n));
	assert_int_equal(n, 50);
	om_item x;
	expect_ok(c, om_list_get(l, 49, &x));
	assert_int_item(&x, 49 * 49);
	om_release(l);
	om_items items = {0};
	expect_ok(c, om_async_get_items(r, &items, 0));
	check_squares(&items, 50);
	om_items_free(&items);
	bool b = false;
	expect_ok(c, om_async_ready(r, &b));
	assert_true(b);
	expect_ok(c, om_async_successful(r, &b));
	assert_true(b);
	expect_ok(c, om_async_wait(r, 0));
	/* next is for imap only; get_items of an apply gives one item */
	expect_rc(c, om_async_next(r, &x, 0), OM_EINVAL);
	om_async_free(r);
	expect_ok(c, om_pool_apply_async(p, "square", in + 3, 1, &r));
	expect_ok(c, om_async_get_items(r, &items, 10));
	assert_int_equal(items.n, 1);
	assert_int_item(&items.v[0], 9);
	om_items_free(&items);
	om_async_free(r);
	finish(c, p);
	om_disconnect(c);
}

/* Callbacks record what they saw. */
struct seen {
	int calls;
	int rc;
	pid_t pid;     /* getpid() in the callback */
	int64_t value; /* an int result */
	bool ref;      /* the result was an OM_REF */
	char msg[256]; /* om_errmsg in an error callback */
	om_client *c;
	int order; /* set from a shared counter */
};

static int cb_counter;

static void record(int rc, const om_item *result, void *arg)
{
	struct seen *s = arg;
	s->calls++;
	s->rc = rc;
	s->pid = getpid();
	s->order = ++cb_counter;
	if (result && result->kind == OM_INT)
		s->value = result->i;
	s->ref = result && result->kind == OM_REF;
	if (rc < 0 && s->c)
		snprintf(s->msg, sizeof s->msg, "%s", om_errmsg(s->c));
	if (rc < 0 && result)
		s->calls += 100; /* an error comes with no result */
}

static void test_map_async_callbacks(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	om_item in[20];
	for (int i = 0; i < 20; i++)
		in[i] = om_int(i);
	om_async *ok, *bad;
	struct seen s_ok = {.c = c}, s_bad = {.c = c};
	expect_ok(c, om_pool_map_async(p, "square", in, 20, 0, &ok));
	expect_ok(c, om_async_then(ok, record, &s_ok));
	expect_rc(c, om_async_then(ok, record, &s_ok), OM_EINVAL);
	expect_ok(c, om_pool_map_async(p, "fail5", in, 20, 1, &bad));
	expect_ok(c, om_async_then(bad, record, &s_bad));
	expect_ok(c, om_async_wait(ok, 10));
	expect_ok(c, om_async_wait(bad, 10));
	assert_int_equal(s_ok.calls, 1);
	assert_int_equal(s_ok.rc, OM_OK);
	assert_true(s_ok.ref);
	assert_int_equal(s_bad.calls, 1);
	assert_int_equal(s_bad.rc, OM_ETASK);
	assert_string_equal(s_bad.msg, "item 5 is bad");
	bool b = true;
	expect_ok(c, om_async_successful(bad, &b));
	assert_false(b);
	om_items items;
	expect_rc(c, om_async_get_items(bad, &items, 0), OM_ETASK);
	assert_string_equal(om_errmsg(c), "item 5 is bad");
	assert_int_equal(s_bad.calls, 1); /* once */
	om_async_free(ok);
	om_async_free(bad);
	finish(c, p);
	om_disconnect(c);
}

static void test_async(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	om_item a = om_int(12), r;
	om_async *as;
	expect_ok(c, om_pool_apply_async(p, "square", &a, 1, &as));
	expect_ok(c, om_async_get(as, &r, 10));
	assert_int_item(&r, 144);
	expect_ok(c, om_async_get(as, &r, 0)); /* again: the same */
	assert_int_item(&r, 144);
	bool b = false;
	expect_ok(c, om_async_successful(as, &b));
	assert_true(b);
	expect_rc(c, om_async_get(NULL, &r, 0), OM_EINVAL);
	expect_rc(c, om_async_get(as, NULL, 0), OM_EINVAL);
	om_async_free(as);
	om_async_free(NULL);
	finish(c, p);
	om_disconnect(c);
}

static void test_async_timeout(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	block_setup(c);
	om_pool *p = new_pool(c, 2, NULL);
	om_async *as;
	expect_ok(c, om_pool_apply_async(p, "block", NULL, 0, &as));
	blocked_pid();
	om_item r;
	expect_rc(c, om_async_get(as, &r, 0.05), OM_ETIMEOUT);
	expect_rc(c, om_async_get(as, &r, 0), OM_ETIMEOUT);
	expect_rc(c, om_async_wait(as, 0.01), OM_ETIMEOUT);
	bool b = true;
	expect_ok(c, om_async_ready(as, &b));
	assert_false(b);
	expect_rc(c, om_async_successful(as, &b), OM_EINVAL);
	expect_ok(c, om_event_set(g_ev));
	expect_ok(c, om_async_get(as, &r, 10));
	assert_int_equal(r.kind, OM_INT);
	expect_ok(c, om_async_ready(as, &b));
	assert_true(b);
	om_async_free(as);
	finish(c, p);
	block_teardown();
	om_disconnect(c);
}

static void test_imap(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	om_item in[40];
	for (int i = 0; i < 40; i++)
		in[i] = om_int(i);
	size_t sizes[] = {0, 1, 3, 50};
	for (size_t k = 0; k < 4; k++) {
		om_async *it;
		expect_ok(c,
		          om_pool_imap(p, "square", in, 40, sizes[k], 0, &it));
		for (int i = 0; i < 40; i++) {
			om_item r;
			expect_ok(c, om_async_next(it, &r, 10));
			assert_int_item(&r, i * i);
		}
		om_item r;
		expect_rc(c, om_async_next(it, &r, 10), OM_ECLOSED);
		expect_rc(c, om_async_next(it, &r, 0), OM_ECLOSED);
		expect_rc(c, om_async_get(it, &r, 0), OM_EINVAL);
		om_async_free(it);
	}
	om_async *it;
	expect_rc(c, om_pool_imap(p, "square", in, 40, 1, 0x4000, &it),
	          OM_EINVAL);
	finish(c, p);
	om_disconnect(c);
}

static void test_imap_unordered(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	enum { N = 60 };
	om_item in[N];
	for (int i = 0; i < N; i++)
		in[i] = om_int(i);
	om_async *it;
	expect_ok(c, om_pool_imap(p, "square", in, N, 0, OM_UNORDERED, &it));
	bool got[N] = {0};
	for (int i = 0; i < N; i++) {
		om_item r;
		expect_ok(c, om_async_next(it, &r, 10));
		assert_int_equal(r.kind, OM_INT);
		int64_t root = 0;
		while (root * root < r.i)
			root++;
		assert_true(root < N && root * root == r.i && !got[root]);
		got[root] = true;
	}
	om_item r;
	expect_rc(c, om_async_next(it, &r, 10), OM_ECLOSED);
	om_async_free(it);
	finish(c, p);
	om_disconnect(c);
}

/* test_imap_handle_iterable_exception's analogue: a failing item's error
 * in its place, then the rest. */
static void test_imap_failure(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	om_item in[10];
	for (int i = 0; i < 10; i++)
		in[i] = om_int(i);
	om_async *it;
	expect_ok(c, om_pool_imap(p, "fail5", in, 10, 1, 0, &it));
	for (int i = 0; i < 10; i++) {
		om_item r;
		if (i == 5) {
			expect_rc(c, om_async_next(it, &r, 10), OM_ETASK);
			assert_string_equal(om_errmsg(c), "item 5 is bad");
			continue;
		}
		expect_ok(c, om_async_next(it, &r, 10));
		assert_int_item(&r, i * i);
	}
	om_item r;
	expect_rc(c, om_async_next(it, &r, 10), OM_ECLOSED);
	om_async_free(it);
	finish(c, p);
	om_disconnect(c);
}

static void test_make_pool(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = NULL;
	expect_rc(c, om_pool_open(c, NULL, 0, 2, NULL, &p), OM_EINVAL);
	om_pool_config bad = cfg;
	bad.ntasks = 0;
	expect_rc(c, om_pool_open(c, NULL, 0, 2, &bad, &p), OM_EINVAL);
	bad.tasks = NULL;
	bad.ntasks = 1;
	expect_rc(c, om_pool_open(c, NULL, 0, 2, &bad, &p), OM_EINVAL);
	om_task_def dup[] = {{"a", t_square}, {"b", t_add}, {"a", t_pid}};
	bad = (om_pool_config){.tasks = dup, .ntasks = 3};
	expect_rc(c, om_pool_open(c, NULL, 0, 2, &bad, &p), OM_EINVAL);
	assert_non_null(strstr(om_errmsg(c), "'a'"));
	om_task_def nofn[] = {{"a", NULL}};
	bad = (om_pool_config){.tasks = nofn, .ntasks = 1};
	expect_rc(c, om_pool_open(c, NULL, 0, 2, &bad, &p), OM_EINVAL);
	om_task_def noname[] = {{"", t_square}};
	bad = (om_pool_config){.tasks = noname, .ntasks = 1};
	expect_rc(c, om_pool_open(c, NULL, 0, 2, &bad, &p), OM_EINVAL);
	noname[0].name = NULL;
	expect_rc(c, om_pool_open(c, NULL, 0, 2, &bad, &p), OM_EINVAL);
	char longname[300];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	om_task_def lng[] = {{longname, t_square}};
	bad = (om_pool_config){.tasks = lng, .ntasks = 1};
	expect_rc(c, om_pool_open(c, NULL, 0, 2, &bad, &p), OM_EINVAL);
	bad = (om_pool_config){.tasks = tasks, .ntasks = 1, .ninitargs = 2};
	expect_rc(c, om_pool_open(c, NULL, 0, 2, &bad, &p), OM_EINVAL);
	/* Too many processes: the server's bound (Python: ValueError for
	 * processes < 1; unsigned wraps a -1 to this). */
	expect_rc(c, om_pool_open(c, NULL, 0, (unsigned)-1, &cfg, &p),
	          OM_EINVAL);
	expect_rc(c, om_pool_open(c, NULL, 0, 5000, &cfg, &p), OM_EINVAL);
	expect_rc(c, om_pool_open(c, NULL, 0, 4097, &cfg, &p), OM_EINVAL);
	expect_rc(c, om_pool_open(c, "", 0, 2, &cfg, &p), OM_EINVAL);
	expect_rc(c, om_pool_open(c, "pool.none", 0, 0, NULL, &p), OM_ENOENT);
	expect_rc(c, om_pool_open(NULL, NULL, 0, 2, &cfg, &p), OM_EINVAL);
	expect_rc(c, om_pool_open(c, NULL, 0, 2, &cfg, NULL), OM_EINVAL);
	assert_null(p);
	/* Opening another type's name as a pool. */
	om_dict *d;
	expect_ok(c, om_dict_open(c, "pool.adict", OM_CREATE, &d));
	expect_rc(c, om_pool_open(c, "pool.adict", 0, 0, NULL, &p), OM_ETYPE);
	expect_ok(c, om_unlink(c, "pool.adict"));
	om_release(d);
	om_disconnect(c);
}

static void test_processes_default(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 0, NULL);
	om_pool_stats st;
	expect_ok(c, om_pool_info(p, &st));
	assert_int_equal(st.processes, cpus());
	assert_false(st.closed);
	expect_workers(p, cpus());
	expect_rc(c, om_pool_info(p, NULL), OM_EINVAL);
	finish(c, p);
	om_disconnect(c);
}

static void test_terminate(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	block_setup(c);
	om_pool *p = new_pool(c, 2, NULL);
	enum { N = 6 };
	om_async *as[N];
	for (int i = 0; i < N; i++)
		expect_ok(c, om_pool_apply_async(p, "block", NULL, 0, &as[i]));
	pid_t w = blocked_pid();
	expect_ok(c, om_pool_terminate(p));
	for (int i = 0; i < N; i++) {
		om_item r;
		expect_rc(c, om_async_get(as[i], &r, 10), OM_ECLOSED);
		om_async_free(as[i]);
	}
	om_pool_stats st;
	expect_ok(c, om_pool_info(p, &st));
	assert_true(st.closed);
	expect_ok(c, om_pool_join(p, 30));
	assert_true(poll_until(pid_gone, &w, 10));
	om_async *late;
	expect_rc(c, om_pool_apply_async(p, "square", NULL, 0, &late),
	          OM_ECLOSED);
	expect_ok(c, om_pool_join(p, 0)); /* joined stays joined */
	om_release(p);
	block_teardown();
	om_disconnect(c);
}

static void test_empty_iterable(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	om_items r = {0};
	expect_ok(c, om_pool_map(p, "square", NULL, 0, 0, &r));
	assert_int_equal(r.n, 0);
	om_items_free(&r);
	expect_ok(c, om_pool_starmap(p, "add", NULL, 0, 0, &r));
	assert_int_equal(r.n, 0);
	om_items_free(&r);
	om_async *as;
	expect_ok(c, om_pool_map_async(p, "square", NULL, 0, 0, &as));
	expect_ok(c, om_async_get_items(as, &r, 10));
	assert_int_equal(r.n, 0);
	om_async_free(as);
	expect_ok(c, om_pool_imap(p, "square", NULL, 0, 0, 0, &as));
	om_item x;
	expect_rc(c, om_async_next(as, &x, 10), OM_ECLOSED);
	om_async_free(as);
	finish(c, p);
	om_disconnect(c);
}

/* test_map_no_failfast: a map that fails still lets the pool finish (and
 * be joined) with every other task run. */
static void test_map_no_failfast(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	om_item in[40];
	for (int i = 0; i < 40; i++)
		in[i] = om_int(i);
	om_items r = {0};
	expect_rc(c, om_pool_map(p, "fail5", in, 40, 1, &r), OM_ETASK);
	assert_string_equal(om_errmsg(c), "item 5 is bad");
	assert_int_equal(r.n, 0);
	expect_ok(c, om_pool_map(p, "square", in, 40, 2, &r));
	check_squares(&r, 40);
	om_items_free(&r);
	finish(c, p);
	om_disconnect(c);
}

/* test_release_task_refs' analogue: once a pool is joined and released,
 * with its results taken or dropped, nothing of it is left. */
static void test_no_leak(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	om_pool *p = new_pool(c, 2, NULL);
	om_item in[30];
	for (int i = 0; i < 30; i++)
		in[i] = om_str("a string result, stored");
	om_async *as[4];
	expect_ok(c, om_pool_map_async(p, "square", in, 30, 1, &as[0]));
	for (int i = 0; i < 30; i++)
		in[i] = om_int(i);
	expect_ok(c, om_pool_map_async(p, "square", in, 30, 3, &as[1]));
	om_item ref;
	expect_ok(c, om_async_get(as[1], &ref, 10)); /* its list made */
	expect_ok(c, om_pool_imap(p, "square", in, 30, 1, 0, &as[2]));
	expect_ok(c, om_pool_apply_async(p, "square", in + 2, 1, &as[3]));
	om_items r = {0};
	expect_ok(c, om_pool_map(p, "square", in, 30, 0, &r));
	om_items_free(&r);
	expect_ok(c, om_async_wait(as[2], 10));
	for (int i = 0; i < 4; i++)
		om_async_free(as[i]);
	finish(c, p);
	om_server_stats after = settle(c);
	assert_int_equal(after.objects, base.objects);
	assert_int_equal(after.bytes, base.bytes);
	om_disconnect(c);
}

/* ------------------------------------------------ _TestPoolWorkerLifetime */

static void test_maxtasksperchild(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool_config conf = cfg;
	conf.maxtasksperchild = 2;
	om_pool *p = new_pool(c, 2, &conf);
	enum { N = 20 };
	om_item in[N];
	for (int i = 0; i < N; i++)
		in[i] = om_int(i);
	om_items r = {0};
	expect_ok(c, om_pool_map(p, "pid", in, N, 1, &r));
	assert_int_equal(r.n, N);
	/* Each worker ran at most 2 tasks: at least N / 2 pids. */
	int distinct = 0;
	for (int i = 0; i < N; i++) {
		assert_int_equal(r.v[i].kind, OM_INT);
		bool seen = false;
		for (int j = 0; j < i; j++)
			seen |= r.v[j].i == r.v[i].i;
		distinct += !seen;
	}
	assert_true(distinct >= N / 2);
	om_items_free(&r);
	expect_ok(c, om_pool_map(p, "square", in, N, 1, &r));
	check_squares(&r, N);
	om_items_free(&r);
	expect_workers(p, 2);
	finish(c, p);
	om_disconnect(c);
}

/* test_worker_finalization / early close: close at once after
 * submitting to workers that each run one task; every result comes. */
static void test_maxtasks_early_close(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool_config conf = cfg;
	conf.maxtasksperchild = 1;
	om_pool *p = new_pool(c, 2, &conf);
	enum { N = 8 };
	om_async *as[N];
	for (int i = 0; i < N; i++) {
		om_item a = om_int(i);
		expect_ok(c, om_pool_apply_async(p, "square", &a, 1, &as[i]));
	}
	expect_ok(c, om_pool_close(p));
	expect_ok(c, om_pool_join(p, 30));
	for (int i = 0; i < N; i++) {
		om_item r;
		expect_ok(c, om_async_get(as[i], &r, 0));
		assert_int_item(&r, i * i);
		om_async_free(as[i]);
	}
	om_release(p);
	om_disconnect(c);
}

/* --------------------------------------------------- _TestPoolWorkerErrors */

static void test_error_callback(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	om_item five = om_int(5);
	om_async *as;
	struct seen s = {.c = c};
	expect_ok(c, om_pool_apply_async(p, "fail5", &five, 1, &as));
	expect_ok(c, om_async_then(as, record, &s));
	om_item r;
	expect_rc(c, om_async_get(as, &r, 10), OM_ETASK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.rc, OM_ETASK);
	assert_string_equal(s.msg, "item 5 is bad");
	assert_string_equal(om_errmsg(c), "item 5 is bad");
	om_async_free(as);
	/* A message of 100 000 bytes arrives whole. */
	expect_rc(c, om_pool_apply(p, "bigmsg", NULL, 0, &r), OM_ETASK);
	const char *m = om_errmsg(c);
	assert_int_equal(strlen(m), BIG_MSG);
	assert_string_equal(m + BIG_MSG - 3, "END");
	assert_int_equal(strspn(m, "x"), BIG_MSG - 3);
	finish(c, p);
	om_disconnect(c);
}

/* ------------------------------------------------ what Python's Pool lacks */

static void test_worker_killed(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	block_setup(c);
	om_pool *p = new_pool(c, 2, NULL);
	expect_workers(p, 2);
	om_async *as, *next[4];
	expect_ok(c, om_pool_apply_async(p, "block", NULL, 0, &as));
	pid_t w = blocked_pid();
	om_item a = om_int(3);
	for (int i = 0; i < 4; i++)
		expect_ok(c, om_pool_apply_async(p, "square", &a, 1, &next[i]));
	assert_int_equal(kill(w, SIGKILL), 0);
	om_item r;
	expect_rc(c, om_async_get(as, &r, 10), OM_EBROKEN);
	char pidstr[32];
	snprintf(pidstr, sizeof pidstr, "%d", (int)w);
	const char *m = om_errmsg(c);
	if (!strstr(m, pidstr) ||
	    !(strstr(m, "SIGKILL") || strstr(m, "signal 9")))
		print_error("om_errmsg: %s\n", m);
	assert_non_null(strstr(m, pidstr));
	assert_true(strstr(m, "SIGKILL") || strstr(m, "signal 9"));
	assert_non_null(strstr(m, "block"));
	om_async_free(as);
	for (int i = 0; i < 4; i++) {
		expect_ok(c, om_async_get(next[i], &r, 10));
		assert_int_item(&r, 9);
		om_async_free(next[i]);
	}
	expect_workers(p, 2); /* replaced */
	expect_ok(c, om_pool_apply(p, "square", &a, 1, &r));
	assert_int_item(&r, 9);
	finish(c, p);
	block_teardown();
	om_disconnect(c);
}

/* The creator, forked, makes a named pool whose task blocks, and waits to
 * be killed. */
static int creator_child(void *arg)
{
	int fd = *(int *)arg;
	om_client *c;
	if (om_connect(srv.path, &c))
		return 1;
	om_event *ev;
	om_value *pidv;
	if (om_event_open(c, NULL, 0, &ev) ||
	    om_value_open(c, "pool.orphan.pid", OM_CREATE, om_int(0), &pidv))
		return 2;
	g_ev = ev;
	g_pid = pidv;
	om_pool *p;
	if (om_pool_open(c, "pool.orphan", OM_CREATE | OM_EXCL, 2, &cfg, &p))
		return 3;
	om_async *as;
	if (om_pool_apply_async(p, "block", NULL, 0, &as))
		return 4;
	send_byte(fd);
	pause(); /* until SIGKILL */
	return 5;
}

static void test_creator_killed(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	int pp[2];
	assert_int_equal(pipe(pp), 0);
	pid_t creator = spawn_child(creator_child, &pp[1]);
	assert_int_equal(wait_byte(pp[0], 10), 0);
	close(pp[0]);
	close(pp[1]);
	om_pool *p;
	expect_ok(c, om_pool_open(c, "pool.orphan", 0, 0, NULL, &p));
	om_value *pidv;
	expect_ok(c, om_value_open(c, "pool.orphan.pid", 0, om_nil(), &pidv));
	g_pid = pidv;
	pid_t w = blocked_pid();
	om_pool_stats st;
	expect_ok(c, om_pool_info(p, &st));
	assert_int_equal(st.processes, 2);
	om_async *as;
	om_item a = om_int(4), r;
	expect_ok(c, om_pool_apply_async(p, "square", &a, 1, &as));
	expect_ok(c, om_async_get(as, &r, 10)); /* the other worker */
	assert_int_item(&r, 16);
	om_async_free(as);
	om_async *mine;
	expect_ok(c, om_pool_apply_async(p, "block", NULL, 0, &mine));
	assert_int_equal(kill(creator, SIGKILL), 0);
	assert_int_equal(reap(creator, 10), -1);
	int rc = om_async_get(mine, &r, 20);
	assert_true(rc == OM_EBROKEN || rc == OM_ECLOSED);
	om_async_free(mine);
	expect_rc(c, om_pool_apply_async(p, "square", &a, 1, &as), OM_ECLOSED);
	assert_true(poll_until(pid_gone, &w, 10));
	expect_ok(c, om_pool_info(p, &st));
	assert_true(st.closed);
	expect_workers(p, 0);
	expect_ok(c, om_pool_join(p, 10));
	om_release(p);
	om_release(pidv);
	g_pid = NULL;
	expect_ok(c, om_unlink(c, "pool.orphan"));
	expect_ok(c, om_unlink(c, "pool.orphan.pid"));
	om_disconnect(c);
}

/* An unrelated program: its own connection, the pool by name. */
static int submitter_child(void *arg)
{
	(void)arg;
	om_client *c;
	if (om_connect(srv.path, &c))
		return 1;
	om_pool *p;
	if (om_pool_open(c, "pool.named", 0, 0, NULL, &p))
		return 2;
	om_item in[25];
	for (int i = 0; i < 25; i++)
		in[i] = om_int(i);
	om_items r = {0};
	if (om_pool_map(p, "square", in, 25, 0, &r) || r.n != 25)
		return 3;
	for (int i = 0; i < 25; i++)
		if (r.v[i].kind != OM_INT || r.v[i].i != i * i)
			return 4;
	om_items_free(&r);
	om_item x;
	if (om_pool_apply(p, "nosuch", NULL, 0, &x) != OM_EINVAL)
		return 5;
	/* Not the creator: its release leaves the pool running. */
	om_release(p);
	om_disconnect(c);
	return 0;
}

static void test_named_pool_other_program(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p;
	expect_ok(c, om_pool_open(c, "pool.named", OM_CREATE | OM_EXCL, 2, &cfg,
	                          &p));
	om_pool *again;
	expect_rc(c,
	          om_pool_open(c, "pool.named", OM_CREATE | OM_EXCL, 2, &cfg,
	                       &again),
	          OM_EEXIST);
	pid_t kids[2];
	for (int i = 0; i < 2; i++)
		kids[i] = spawn_child(submitter_child, NULL);
	reap_all(kids, 2);
	om_item a = om_int(6), r;
	expect_ok(c, om_pool_apply(p, "square", &a, 1, &r));
	assert_int_item(&r, 36);
	expect_ok(c, om_unlink(c, "pool.named"));
	finish(c, p);
	om_disconnect(c);
}

static void test_callbacks_in_submitter(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	enum { N = 6 };
	om_async *as[N];
	struct seen s[N];
	for (int i = 0; i < N; i++) {
		s[i] = (struct seen){.c = c};
		expect_ok(c, om_pool_apply_async(p, "pid", NULL, 0, &as[i]));
		expect_ok(c, om_async_then(as[i], record, &s[i]));
	}
	/* Each get returns after its own callback ran. */
	for (int i = 0; i < N; i++) {
		om_item r;
		expect_ok(c, om_async_get(as[i], &r, 10));
		assert_int_equal(s[i].calls, 1);
		assert_int_equal(s[i].rc, OM_OK);
		assert_int_equal(s[i].pid, getpid());
		assert_int_equal(s[i].value, r.i);
		assert_true(r.i != getpid());
	}
	/* ... and never again. */
	for (int i = 0; i < N; i++) {
		om_item r;
		expect_ok(c, om_async_get(as[i], &r, 0));
		assert_int_equal(s[i].calls, 1);
		om_async_free(as[i]);
	}
	finish(c, p);
	om_disconnect(c);
}

static void test_dispatch(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	block_setup(c);
	om_pool *p = new_pool(c, 2, NULL);
	expect_rc(c, om_pool_dispatch(p, 0), OM_ETIMEOUT);
	expect_rc(c, om_pool_dispatch(p, 0.01), OM_ETIMEOUT);
	om_async *a1, *a2;
	struct seen s1 = {.c = c}, s2 = {.c = c};
	om_item x = om_int(5);
	expect_ok(c, om_pool_apply_async(p, "square", &x, 1, &a1));
	expect_ok(c, om_async_then(a1, record, &s1));
	expect_ok(c, om_pool_apply_async(p, "block", NULL, 0, &a2));
	expect_ok(c, om_async_then(a2, record, &s2));
	expect_ok(c, om_pool_dispatch(p, 10));
	assert_int_equal(s1.calls, 1);
	assert_int_equal(s1.value, 25);
	assert_int_equal(s2.calls, 0);
	expect_rc(c, om_pool_dispatch(p, 0), OM_ETIMEOUT);
	blocked_pid();
	expect_ok(c, om_event_set(g_ev));
	expect_ok(c, om_pool_dispatch(p, 10));
	assert_int_equal(s2.calls, 1);
	assert_int_equal(s1.calls, 1);
	expect_rc(c, om_pool_dispatch(p, 0), OM_ETIMEOUT);
	/* A callback on a finished async runs at the next waiting call;
	 * join runs the callbacks that come due. */
	om_async *a3;
	struct seen s3 = {.c = c};
	expect_ok(c, om_pool_apply_async(p, "square", &x, 1, &a3));
	om_item r;
	expect_ok(c, om_async_get(a3, &r, 10));
	expect_ok(c, om_async_then(a3, record, &s3));
	assert_int_equal(s3.calls, 0);
	expect_ok(c, om_pool_close(p));
	expect_ok(c, om_pool_join(p, 30));
	assert_int_equal(s3.calls, 1);
	om_async_free(a1);
	om_async_free(a2);
	om_async_free(a3);
	om_release(p);
	block_teardown();
	om_disconnect(c);
}

/* A callback's async freed before it ran: it never runs. */
static void test_freed_callback(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	om_async *a1, *a2;
	struct seen s1 = {.c = c}, s2 = {.c = c};
	om_item x = om_int(2);
	expect_ok(c, om_pool_apply_async(p, "square", &x, 1, &a1));
	expect_ok(c, om_async_then(a1, record, &s1));
	om_async_free(a1);
	expect_ok(c, om_pool_apply_async(p, "square", &x, 1, &a2));
	expect_ok(c, om_async_then(a2, record, &s2));
	om_item r;
	expect_ok(c, om_async_get(a2, &r, 10));
	assert_int_equal(s2.calls, 1);
	assert_int_equal(s1.calls, 0);
	om_async_free(a2);
	finish(c, p);
	om_disconnect(c);
}

static void test_initializer(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_item init = om_int(42);
	om_pool_config conf = cfg;
	conf.initializer = t_init;
	conf.initargs = &init;
	conf.ninitargs = 1;
	om_pool *p = new_pool(c, 2, &conf);
	om_item in[16];
	for (int i = 0; i < 16; i++)
		in[i] = om_int(i);
	om_items r = {0};
	expect_ok(c, om_pool_map(p, "tag", in, 16, 1, &r));
	assert_int_equal(r.n, 16);
	for (int i = 0; i < 16; i++)
		assert_int_item(&r.v[i], 42);
	om_items_free(&r);
	assert_int_equal(g_tag, 0); /* the creator's own is untouched */
	finish(c, p);
	om_disconnect(c);
}

static void test_initializer_fails(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool_config conf = cfg;
	conf.initializer = t_init_fail;
	om_pool *p = new_pool(c, 2, &conf);
	om_item a = om_int(2), r;
	int rc = om_pool_apply(p, "square", &a, 1, &r);
	if (rc == OM_EBROKEN)
		assert_non_null(
		        strstr(om_errmsg(c), "init failed: no database"));
	else
		expect_rc(c, rc, OM_ECLOSED); /* broken before the submit */
	expect_rc(c, om_pool_apply(p, "square", &a, 1, &r), OM_ECLOSED);
	om_pool_stats st;
	expect_ok(c, om_pool_info(p, &st));
	assert_true(st.closed);
	expect_ok(c, om_pool_join(p, 30));
	om_release(p);
	om_disconnect(c);
}

static void test_close_then_submit(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	om_item a = om_int(3), r;
	expect_rc(c, om_pool_join(p, 0), OM_EINVAL); /* still open */
	expect_rc(c, om_pool_join(p, 1), OM_EINVAL);
	om_async *as;
	expect_ok(c, om_pool_apply_async(p, "square", &a, 1, &as));
	expect_ok(c, om_pool_close(p));
	om_async *late;
	expect_rc(c, om_pool_apply_async(p, "square", &a, 1, &late),
	          OM_ECLOSED);
	om_items items;
	expect_rc(c, om_pool_map(p, "square", &a, 1, 0, &items), OM_ECLOSED);
	expect_ok(c, om_pool_join(p, 30));
	expect_ok(c, om_async_get(as, &r, 0)); /* drained before the end */
	assert_int_item(&r, 9);
	om_async_free(as);
	expect_ok(c, om_pool_close(p)); /* again: nothing changes */
	om_release(p);
	om_disconnect(c);
}

static void test_inherited_handles(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	expect_ok(c, om_dict_set(d, om_str("k"), om_str("inherited")));
	g_dict = d;
	om_pool *p = new_pool(c, 2, NULL);
	om_release(d); /* the workers still hold it */
	om_item k = om_str("k"), r;
	for (int i = 0; i < 4; i++) {
		expect_ok(c, om_pool_apply(p, "dict_get", &k, 1, &r));
		assert_str_item(&r, "inherited");
		om_item_free(&r);
	}
	g_dict = NULL;
	finish(c, p);
	om_disconnect(c);
}

/* The creator's om_release of a running pool stops it: the task running
 * fails, its worker is gone. */
static void test_release_stops(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_client *c2 = client(&srv);
	block_setup(c);
	om_pool *p;
	expect_ok(c, om_pool_open(c, "pool.released", OM_CREATE, 2, &cfg, &p));
	om_pool *p2;
	expect_ok(c2, om_pool_open(c2, "pool.released", 0, 0, NULL, &p2));
	om_async *as;
	expect_ok(c2, om_pool_apply_async(p2, "block", NULL, 0, &as));
	pid_t w = blocked_pid();
	om_release(p);
	om_item r;
	expect_rc(c2, om_async_get(as, &r, 10), OM_ECLOSED);
	om_async_free(as);
	assert_true(poll_until(pid_gone, &w, 10));
	expect_rc(c2, om_pool_apply(p2, "square", NULL, 0, &r), OM_ECLOSED);
	expect_ok(c2, om_unlink(c2, "pool.released"));
	om_release(p2);
	block_teardown();
	om_disconnect(c2);
	om_disconnect(c);
}

static int daemon_creates(void *arg)
{
	(void)arg;
	om_client *c;
	if (om_connect(srv.path, &c))
		return 1;
	om_pool *p = NULL;
	int rc = om_pool_open(c, NULL, 0, 1, &cfg, &p);
	om_disconnect(c);
	return rc == OM_EINVAL && !p ? 0 : 2;
}

static void test_daemon_cannot_create(void **state)
{
	(void)state;
	om_process *d;
	assert_int_equal(om_process_start(daemon_creates, NULL, OM_DAEMON, &d),
	                 OM_OK);
	assert_int_equal(om_process_join(d, 20), OM_OK);
	int code = -100;
	assert_int_equal(om_process_exitcode(d, &code), OM_OK);
	assert_int_equal(code, 0);
	om_process_free(d);
}

/* Calls on a pool from inside a pipeline are refused, not queued. */
static void test_pipeline_refused(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 1, NULL);
	expect_ok(c, om_pipeline_begin(c));
	om_item r;
	expect_rc(c, om_pool_apply(p, "nil", NULL, 0, &r), OM_EINVAL);
	om_pool *q;
	expect_rc(c, om_pool_open(c, NULL, 0, 1, &cfg, &q), OM_EINVAL);
	expect_ok(c, om_pipeline_end(c, NULL, 0));
	finish(c, p);
	om_disconnect(c);
}

/* Items go and come back as they are: bytes with NULs, floats, strings,
 * nil, bools; a task's result may be a Ref the submitter opens. */
static void test_items_and_refs(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	expect_ok(c, om_dict_set(d, om_int(1), om_str("one")));
	g_dict = d;
	om_pool *p = new_pool(c, 2, NULL);
	om_item in[] = {om_bytes("a\0b", 3), om_float(-0.5),
	                om_str("str"),       om_nil(),
	                om_bool(true),       om_int(INT64_MIN)};
	for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
		om_item r;
		expect_ok(c, om_pool_apply(p, "echo", &in[i], 1, &r));
		assert_true(om_item_eq(&r, &in[i]));
		assert_int_equal(r.kind, in[i].kind);
		om_item_free(&r);
	}
	om_item ref;
	expect_ok(c, om_pool_apply(p, "dict_ref", NULL, 0, &ref));
	assert_int_equal(ref.kind, OM_REF);
	om_dict *d2;
	expect_ok(c, om_open_ref(c, &ref, (void **)&d2));
	om_item v;
	expect_ok(c, om_dict_get(d2, om_int(1), &v));
	assert_str_item(&v, "one");
	om_item_free(&v);
	om_release(d2);
	om_release(d);
	g_dict = NULL;
	finish(c, p);
	om_disconnect(c);
}

/* Bad handles and arguments: errors, never a crash. */
static void test_bad_args(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 1, NULL);
	om_dict *d = new_dict(c);
	om_pool_stats st;
	expect_rc(c, om_pool_info((om_pool *)d, &st), OM_ETYPE);
	expect_rc(c, om_pool_close((om_pool *)d), OM_ETYPE);
	om_async *as = NULL;
	expect_rc(c, om_pool_apply_async((om_pool *)d, "square", NULL, 0, &as),
	          OM_ETYPE);
	expect_rc(c, om_pool_apply_async(NULL, "square", NULL, 0, &as),
	          OM_EINVAL);
	expect_rc(c, om_pool_apply_async(p, "square", NULL, 0, NULL),
	          OM_EINVAL);
	expect_rc(c, om_pool_join(NULL, 0), OM_EINVAL);
	expect_rc(c, om_pool_dispatch(NULL, 0), OM_EINVAL);
	expect_rc(c, om_pool_terminate(NULL), OM_EINVAL);
	om_items items;
	expect_rc(c, om_pool_starmap(p, "add", NULL, 3, 0, &items), OM_EINVAL);
	om_items holes[1] = {{NULL, 2}};
	expect_rc(c, om_pool_starmap(p, "add", holes, 1, 0, &items), OM_EINVAL);
	bool b;
	expect_rc(c, om_async_ready(NULL, &b), OM_EINVAL);
	expect_rc(c, om_async_successful(NULL, &b), OM_EINVAL);
	expect_rc(c, om_async_wait(NULL, 0), OM_EINVAL);
	expect_rc(c, om_async_then(NULL, NULL, NULL), OM_EINVAL);
	om_item x = om_int(2), r;
	expect_ok(c, om_pool_apply_async(p, "square", &x, 1, &as));
	expect_rc(c, om_async_then(as, NULL, NULL), OM_EINVAL);
	expect_rc(c, om_async_get(as, &r, 0.0 / 0.0), OM_EINVAL);
	expect_rc(c, om_async_wait(as, 0.0 / 0.0), OM_EINVAL);
	expect_rc(c, om_async_ready(as, NULL), OM_EINVAL);
	expect_rc(c, om_async_get_items(as, NULL, 0), OM_EINVAL);
	expect_ok(c, om_async_get(as, &r, 10));
	assert_int_item(&r, 4);
	om_async_free(as);
	expect_rc(c, om_pool_join(p, 0.0 / 0.0), OM_EINVAL);
	/* A released pool handle is invalid. */
	om_pool *gone_p = p;
	finish(c, p);
	expect_rc(c, om_pool_info(gone_p, &st), OM_EINVAL);
	expect_rc(c, om_pool_apply(gone_p, "square", &x, 1, &r), OM_EINVAL);
	om_release(d);
	om_disconnect(c);
}

/* The supervisor SIGKILLed: its workers die with it (daemons), and with
 * no one left to replace them the pool breaks: no caller waits forever. */
static void test_supervisor_killed(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	block_setup(c);
	om_pool *p = new_pool(c, 2, NULL);
	om_async *as;
	expect_ok(c, om_pool_apply_async(p, "block", NULL, 0, &as));
	pid_t w = blocked_pid();
	pid_t sup = parent_of(w);
	assert_true(sup > 1 && sup != getpid());
	assert_int_equal(kill(sup, SIGKILL), 0);
	om_item r;
	int rc = om_async_get(as, &r, 20);
	assert_true(rc == OM_EBROKEN);
	om_async_free(as);
	assert_true(poll_until(pid_gone, &w, 10));
	om_pool_stats st;
	expect_ok(c, om_pool_info(p, &st));
	assert_true(st.closed);
	expect_ok(c, om_pool_join(p, 10));
	om_release(p);
	block_teardown();
	om_disconnect(c);
}

/* om_disconnect of the creator's client stops the pool: its worker is
 * gone, another client's submissions get OM_ECLOSED. */
static void test_creator_disconnects(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_client *c2 = client(&srv);
	block_setup(c2);
	om_pool *p;
	expect_ok(c, om_pool_open(c, "pool.disc", OM_CREATE, 2, &cfg, &p));
	om_pool *p2;
	expect_ok(c2, om_pool_open(c2, "pool.disc", 0, 0, NULL, &p2));
	om_async *as;
	expect_ok(c2, om_pool_apply_async(p2, "block", NULL, 0, &as));
	pid_t w = blocked_pid();
	om_disconnect(c);
	om_item r;
	int rc = om_async_get(as, &r, 10);
	assert_true(rc == OM_EBROKEN || rc == OM_ECLOSED);
	om_async_free(as);
	assert_true(poll_until(pid_gone, &w, 10));
	expect_rc(c2, om_pool_apply(p2, "square", NULL, 0, &r), OM_ECLOSED);
	expect_ok(c2, om_unlink(c2, "pool.disc"));
	om_release(p2);
	block_teardown();
	om_disconnect(c2);
}

/* A callback comes due while om_async_next waits for an imap: it runs
 * then, and the imap's results still come in order. */
static void test_callback_during_next(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	om_item x = om_int(9);
	om_async *a, *it;
	struct seen s = {.c = c};
	expect_ok(c, om_pool_apply_async(p, "square", &x, 1, &a));
	expect_ok(c, om_async_then(a, record, &s));
	om_item in[12];
	for (int i = 0; i < 12; i++)
		in[i] = om_int(i);
	expect_ok(c, om_pool_imap(p, "square", in, 12, 1, 0, &it));
	for (int i = 0; i < 12; i++) {
		om_item r;
		expect_ok(c, om_async_next(it, &r, 10));
		assert_int_item(&r, i * i);
	}
	om_item r;
	expect_rc(c, om_async_next(it, &r, 10), OM_ECLOSED);
	/* The apply was done before the imap's last result. */
	expect_ok(c, om_async_wait(a, 10));
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.value, 81);
	expect_rc(c, om_async_then(it, record, &s), OM_EINVAL);
	om_async_free(it);
	om_async_free(a);
	finish(c, p);
	om_disconnect(c);
}

/* A task whose worker leaves in its middle (exit(7), exit(0) — which a
 * worker told to stop also uses —, or a signal it sends itself) fails
 * OM_EBROKEN with how it ended; the worker is replaced each time. */
static void test_worker_exits_in_task(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	/* An exit status of 0 reads in /proc as that of a live process: the
	 * server may not tell it from a session that just ended. */
	struct {
		int64_t code;
		const char *says, *or_says;
	} ends[] = {{7, "exited with status 7", NULL},
	            {0, "exited with status 0", "'s session ended"},
	            {-1, "signal 9", NULL}};
	for (size_t i = 0; i < 3; i++) {
		om_item a = om_int(ends[i].code), r;
		expect_rc(c, om_pool_apply(p, "exit", &a, 1, &r), OM_EBROKEN);
		const char *m = om_errmsg(c);
		bool said = strstr(m, ends[i].says) ||
		            (ends[i].or_says && strstr(m, ends[i].or_says));
		if (!said)
			print_error("end %zu: om_errmsg: %s\n", i, m);
		assert_true(said);
		assert_non_null(strstr(om_errmsg(c), "'exit'"));
		expect_workers(p, 2);
	}
	om_item a = om_int(11), r;
	expect_ok(c, om_pool_apply(p, "square", &a, 1, &r));
	assert_int_item(&r, 121);
	finish(c, p);
	om_disconnect(c);
}

/* A callback may free its own async and call the pool again (a nested
 * waiting call, which runs the other callbacks that are due). */
struct nested {
	om_async *self;
	om_pool *p;
	int rc;
	int64_t got;
	int calls;
};

static void nested_cb(int rc, const om_item *result, void *arg)
{
	(void)rc;
	(void)result;
	struct nested *n = arg;
	n->calls++;
	om_async_free(n->self);
	n->self = NULL;
	om_item a = om_int(6), r = om_nil();
	n->rc = om_pool_apply(n->p, "square", &a, 1, &r);
	n->got = r.kind == OM_INT ? r.i : -1;
}

static void test_callback_reenters(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool *p = new_pool(c, 2, NULL);
	struct nested n = {.p = p};
	struct seen other = {.c = c};
	om_item x = om_int(1);
	om_async *o;
	expect_ok(c, om_pool_apply_async(p, "square", &x, 1, &n.self));
	expect_ok(c, om_async_then(n.self, nested_cb, &n));
	expect_ok(c, om_pool_apply_async(p, "square", &x, 1, &o));
	expect_ok(c, om_async_then(o, record, &other));
	expect_ok(c, om_pool_dispatch(p, 10));
	while (n.calls == 0 || other.calls == 0)
		expect_ok(c, om_pool_dispatch(p, 10));
	assert_int_equal(n.calls, 1);
	assert_int_equal(other.calls, 1);
	assert_null(n.self);
	expect_ok(c, n.rc);
	assert_int_equal(n.got, 36);
	expect_rc(c, om_pool_dispatch(p, 0), OM_ETIMEOUT);
	om_async_free(o);
	finish(c, p);
	om_disconnect(c);
}

/* The server dies under a running pool: calls fail OM_ECONN, its workers
 * and supervisor leave (they cannot reach it: none is replaced), and
 * releasing the pool does not hang. */
static void test_server_dies(void **state)
{
	(void)state;
	struct server s2;
	server_start(&s2, NULL);
	om_client *c = client(&s2);
	om_pool *p = new_pool(c, 2, NULL);
	om_item a = om_int(5), r;
	expect_ok(c, om_pool_apply(p, "pid", &a, 1, &r));
	pid_t w = (pid_t)r.i, sup = parent_of(w);
	server_crash(&s2);
	assert_true(poll_until(pid_gone, &w, 10));
	assert_true(poll_until(pid_gone, &sup, 10)); /* it left by itself */
	expect_rc(c, om_pool_apply(p, "square", &a, 1, &r), OM_ECONN);
	expect_rc(c, om_pool_join(p, 1), OM_ECONN);
	om_release(p); /* reaps the supervisor */
	om_disconnect(c);
	server_restart(&s2, NULL); /* to remove its directory */
	server_stop(&s2);
}

/* A creator that exits (exit(), not _exit) without closing or joining:
 * at exit its daemon supervisor is stopped, and the workers with it. */
static int creator_exits(void *arg)
{
	(void)arg;
	om_client *c;
	if (om_connect(srv.path, &c))
		return 1;
	om_value *v;
	om_pool *p;
	if (om_value_open(c, "pool.exit.pid", OM_CREATE, om_int(0), &v) ||
	    om_pool_open(c, NULL, 0, 2, &cfg, &p))
		return 2;
	om_item r;
	if (om_pool_apply(p, "pid", NULL, 0, &r) || om_value_set(v, r))
		return 3;
	exit(0); /* atexit: the process module stops the supervisor */
}

static void test_creator_exits(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	pid_t kid = spawn_child(creator_exits, NULL);
	assert_int_equal(reap(kid, 20), 0);
	om_value *v;
	expect_ok(c, om_value_open(c, "pool.exit.pid", 0, om_nil(), &v));
	om_item r;
	expect_ok(c, om_value_get(v, &r));
	assert_int_equal(r.kind, OM_INT);
	pid_t w = (pid_t)r.i;
	assert_true(w > 0);
	assert_true(poll_until(pid_gone, &w, 10));
	expect_ok(c, om_unlink(c, "pool.exit.pid"));
	om_release(v);
	om_disconnect(c);
}

/* A result the server cannot keep (over its --max-item) fails its task
 * with the server's reason; the worker goes on with the next. */
static void test_result_too_big(void **state)
{
	(void)state;
	struct server s2;
	const char *const opts[] = {"--max-item", "1000", NULL};
	server_start(&s2, opts);
	om_client *c = client(&s2);
	om_pool *p = new_pool(c, 1, NULL);
	om_item a = om_int(900), r;
	expect_ok(c, om_pool_apply(p, "big", &a, 1, &r));
	assert_int_equal(r.kind, OM_STR);
	assert_int_equal(r.s.len, 900);
	om_item_free(&r);
	a = om_int(5000);
	expect_rc(c, om_pool_apply(p, "big", &a, 1, &r), OM_ETOOBIG);
	om_item in[3] = {om_int(10), om_int(5000), om_int(20)};
	om_items items;
	expect_rc(c, om_pool_map(p, "big", in, 3, 1, &items), OM_ETOOBIG);
	a = om_int(4);
	expect_ok(c, om_pool_apply(p, "square", &a, 1, &r));
	assert_int_item(&r, 16);
	finish(c, p);
	om_disconnect(c);
	server_stop(&s2);
}

/* One worker runs the tasks in the order they were submitted, whichever
 * way they were. */
static void test_submission_order(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	g_list = new_list(c);
	om_pool *p = new_pool(c, 1, NULL);
	enum { N = 30 };
	om_async *as[N];
	for (int i = 0; i < N; i++) {
		om_item a = om_int(i);
		expect_ok(c, om_pool_apply_async(p, "append", &a, 1, &as[i]));
	}
	om_item in[N];
	for (int i = 0; i < N; i++)
		in[i] = om_int(N + i);
	om_items r = {0};
	expect_ok(c, om_pool_map(p, "append", in, N, 4, &r));
	assert_int_equal(r.n, N);
	om_items_free(&r);
	for (int i = 0; i < N; i++)
		om_async_free(as[i]);
	om_items all = {0};
	expect_ok(c, om_list_slice(g_list, 0, 1000, &all));
	assert_int_equal(all.n, 2 * N);
	for (int i = 0; i < 2 * N; i++)
		assert_int_item(&all.v[i], i);
	om_items_free(&all);
	finish(c, p);
	om_release(g_list);
	g_list = NULL;
	om_disconnect(c);
}

/* join's deadline: a closed pool whose task still runs is not joined;
 * once it ends, it is, and its result is there. */
static void test_join_timeout(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	block_setup(c);
	om_pool *p = new_pool(c, 2, NULL);
	om_async *as;
	expect_ok(c, om_pool_apply_async(p, "block", NULL, 0, &as));
	blocked_pid();
	expect_ok(c, om_pool_close(p));
	expect_rc(c, om_pool_join(p, 0), OM_ETIMEOUT);
	expect_rc(c, om_pool_join(p, 0.05), OM_ETIMEOUT);
	expect_ok(c, om_event_set(g_ev));
	expect_ok(c, om_pool_join(p, 30));
	om_item r;
	expect_ok(c, om_async_get(as, &r, 0));
	assert_int_equal(r.kind, OM_INT);
	om_async_free(as);
	om_release(p);
	block_teardown();
	om_disconnect(c);
}

/* Separate submissions are never taken together by one worker: a task
 * that waits for a later one's effect runs beside it, even after a burst
 * of quick tasks made the workers take many at once. */
static void test_no_hoarding(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	block_setup(c);
	om_pool *p = new_pool(c, 2, NULL);
	enum { N = 5000 };
	static om_item xs[N];
	for (int i = 0; i < N; i++)
		xs[i] = om_int(i);
	for (int round = 0; round < 3; round++) {
		expect_ok(c, om_event_clear(g_ev));
		om_async *burst, *burst2, *ra, *rb;
		om_item x = om_int(0);
		expect_ok(c, om_pool_map_async(p, "square", xs, N, 1, &burst));
		expect_ok(c, om_pool_apply_async(p, "wait_ev", &x, 1, &ra));
		expect_ok(c, om_pool_apply_async(p, "set", &x, 1, &rb));
		expect_ok(c, om_pool_map_async(p, "square", xs, N, 1, &burst2));
		om_item oa, ob;
		expect_ok(c, om_async_get(ra, &oa, 60));
		expect_ok(c, om_async_get(rb, &ob, 60));
		assert_int_not_equal(oa.i, ob.i); /* two workers */
		om_items all;
		expect_ok(c, om_async_get_items(burst, &all, 60));
		check_squares(&all, N);
		om_items_free(&all);
		expect_ok(c, om_async_get_items(burst2, &all, 60));
		check_squares(&all, N);
		om_items_free(&all);
		om_async_free(burst);
		om_async_free(burst2);
		om_async_free(ra);
		om_async_free(rb);
	}
	finish(c, p);
	block_teardown();
	om_disconnect(c);
}

/* An initializer that crashes breaks the pool with how its worker died,
 * instead of having workers replaced forever (Python's Pool restarts them
 * without end). */
static void test_initializer_crashes(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pool_config conf = cfg;
	conf.initializer = t_init_crash;
	om_pool *p = new_pool(c, 2, &conf);
	om_item a = om_int(2), r;
	int rc = om_pool_apply(p, "square", &a, 1, &r);
	if (rc == OM_EBROKEN)
		assert_non_null(strstr(om_errmsg(c), "before its first task"));
	else
		expect_rc(c, rc, OM_ECLOSED); /* broken before the submit */
	om_pool_stats st;
	expect_ok(c, om_pool_info(p, &st));
	assert_true(st.closed);
	expect_ok(c, om_pool_join(p, 30));
	om_release(p);
	om_disconnect(c);
}

/* A creator that ignores SIGTERM and leaves with its pool open still
 * exits: its supervisor does not inherit the disposition. */
static int child_ignores_sigterm(void *arg)
{
	(void)arg;
	signal(SIGTERM, SIG_IGN);
	om_client *c;
	om_pool *p;
	if (om_connect(srv.path, &c) || om_pool_open(c, NULL, 0, 2, &cfg, &p))
		return 1;
	om_item a = om_int(3), r;
	if (om_pool_apply(p, "square", &a, 1, &r) || r.i != 9)
		return 2;
	exit(0); /* the exit handler stops the supervisor */
}

static void test_creator_ignores_sigterm(void **state)
{
	(void)state;
	pid_t pid = spawn_child(child_ignores_sigterm, NULL);
	assert_int_equal(reap(pid, 60), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_apply),
	        cmocka_unit_test(test_map),
	        cmocka_unit_test(test_starmap),
	        cmocka_unit_test(test_map_async),
	        cmocka_unit_test(test_map_async_callbacks),
	        cmocka_unit_test(test_async),
	        cmocka_unit_test(test_async_timeout),
	        cmocka_unit_test(test_imap),
	        cmocka_unit_test(test_imap_unordered),
	        cmocka_unit_test(test_imap_failure),
	        cmocka_unit_test(test_make_pool),
	        cmocka_unit_test(test_processes_default),
	        cmocka_unit_test(test_terminate),
	        cmocka_unit_test(test_empty_iterable),
	        cmocka_unit_test(test_map_no_failfast),
	        cmocka_unit_test(test_no_leak),
	        cmocka_unit_test(test_maxtasksperchild),
	        cmocka_unit_test(test_maxtasks_early_close),
	        cmocka_unit_test(test_error_callback),
	        cmocka_unit_test(test_worker_killed),
	        cmocka_unit_test(test_creator_killed),
	        cmocka_unit_test(test_named_pool_other_program),
	        cmocka_unit_test(test_callbacks_in_submitter),
	        cmocka_unit_test(test_dispatch),
	        cmocka_unit_test(test_freed_callback),
	        cmocka_unit_test(test_initializer),
	        cmocka_unit_test(test_initializer_fails),
	        cmocka_unit_test(test_close_then_submit),
	        cmocka_unit_test(test_inherited_handles),
	        cmocka_unit_test(test_release_stops),
	        cmocka_unit_test(test_daemon_cannot_create),
	        cmocka_unit_test(test_pipeline_refused),
	        cmocka_unit_test(test_items_and_refs),
	        cmocka_unit_test(test_bad_args),
	        cmocka_unit_test(test_supervisor_killed),
	        cmocka_unit_test(test_creator_disconnects),
	        cmocka_unit_test(test_callback_during_next),
	        cmocka_unit_test(test_worker_exits_in_task),
	        cmocka_unit_test(test_callback_reenters),
	        cmocka_unit_test(test_server_dies),
	        cmocka_unit_test(test_creator_exits),
	        cmocka_unit_test(test_result_too_big),
	        cmocka_unit_test(test_submission_order),
	        cmocka_unit_test(test_join_timeout),
	        cmocka_unit_test(test_no_hoarding),
	        cmocka_unit_test(test_initializer_crashes),
	        cmocka_unit_test(test_creator_ignores_sigterm),
	};
	return RUN(tests, 170, srv_setup, srv_teardown);
}
