/*
 * pool.c — the client side of the pool type (Python's multiprocessing.Pool);
 * server/pool.c is the other half: the task queue, the leases, the jobs and
 * their results all live in the server (the POOL ops in proto/objmgr.proto).
 * This file is the three programs around it:
 *
 * - The submitter: om_pool_apply/map/starmap/imap send one POOL_SUBMIT and
 *   get a job (an om_async); om_async_get & co. wait in the server
 *   (POOL_GET, POOL_NEXT, POOL_WAIT). Callbacks (om_async_then) are this
 *   process's business: the pool handle keeps the asyncs whose callback has
 *   not run (struct pool_ext), and a waiting call that finds some waits with
 *   POOL_WAIT over its own job and theirs, runs those that come due, and
 *   waits again until its own is ready (await()). Without callbacks due it
 *   is the direct request, one round trip.
 * - The supervisor: the creator forks it (a daemon child, so a creator
 *   killed by SIGKILL takes the pool along); it registers (POOL_SUPERVISE),
 *   forks the workers, tells the creator it is ready (a message on a pipe;
 *   end-of-file means it died) and replaces each worker that ends while the
 *   pool has work for it.
 * - The worker: a daemon child of the supervisor that takes tasks
 *   (POOL_TAKE: one at first, more at once while they are quick), runs
 *   their calls and reports each as it finishes (POOL_DONE, sent without
 *   waiting for its answer): no round trip per task. Which task it was
 *   running when it died the server knows from its lease.
 *
 * The supervisor and the workers are forks taken inside om_pool_open(): the
 * configuration they run is their copy of the caller's memory at that
 * moment, and they never return from om_pool_open() (they _exit).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define OMI_TYPE OM_TYPE_POOL /* the rows' type (OMI_CALL, internal.h) */

/* POOL_SUBMIT kinds (proto/objmgr.proto). */
enum job_kind {
	JOB_APPLY = 0,
	JOB_MAP = 1,
	JOB_STARMAP = 2,
	JOB_IMAP = 3,
	JOB_IMAP_UNORDERED = 4,
};

/* A worker's exit code after maxtasksperchild tasks: any end but 0 (told
 * ECLOSED) is replaced while the pool has work, this one included. */
#define WORKER_RECYCLE 3
/* A worker's exit when its session could not be made or was lost other
 * than by ECLOSED (a server at --max-connections, a server gone): not
 * replaced, or the supervisor would fork forever. */
#define WORKER_NOCONN 4
/* A task function's name, as OPEN takes it. */
#define TASK_NAME_MAX 255
/* A failure message longer than this is cut, with a note, before it is
 * sent: the server's --max-item is 32 MiB by default (a longer message
 * fails the task OM_ETOOBIG instead), and a frame over --max-frame would
 * end the worker's connection. */
#define MSG_SEND_MAX ((32u << 20) - 4096)
/* Tasks a worker takes at once, at most (fewer when the queue is short:
 * the server shares what waits among the workers). Each is reported as
 * it finishes; one round trip per batch. A worker starts with one, as
 * Python's do, and doubles while its tasks are quick (under QUICK
 * seconds each), so trivial tasks cost no round trip each while a slow
 * one never keeps others leased behind it for long. */
#define TAKE_MAX 64
#define QUICK    0.002

/* What a pool handle keeps in this process (omi_handle.ext). */
struct pool_ext {
	pid_t creator;      /* the process that created the pool, or 0 */
	om_process *sup;    /* its supervisor, until joined (creator only) */
	unsigned processes; /* the pool's size, 0 until known */
	om_async *due;      /* asyncs whose callback has not run */
};

struct om_async {
	void *pool; /* the pool handle's value */
	pid_t pid;  /* the submitter: the job is its session's */
	int64_t job;
	int kind;   /* enum job_kind */
	bool ready; /* known to be finished */
	bool known; /* ... and how: rc */
	int rc;
	void (*cb)(int rc, const om_item *result, void *arg);
	void *cb_arg;
	bool linked; /* on its pool_ext's due list */
	om_async *prev, *next;
};

struct om_task {
	const char *fn; /* its function's name, for messages */
	om_item result;
	bool has_result;
	bool failed;
	char *msg; /* om_task_fail's, or NULL */
};

/* What the supervisor and the workers start from: the creator's copy at
 * the fork (om_pool_open's stack, which they never leave). */
struct boot {
	void *pool;
	const om_pool_config *cfg;
	unsigned processes;
	int ready_fd; /* the supervisor's end of the ready pipe, or -1 */
	int ready_rd; /* the creator's end (closed by the children) */
	/* The first workers wait for end-of-file on go_rd before they run
	 * the initializer: one that fails breaks the pool, and the server
	 * then kills the supervisor, which must have told the creator it
	 * started by then. -1 for the workers that replace others. */
	int go_rd, go_wr;
	/* Each worker writes its pid here once its initializer succeeded:
	 * a worker that dies before that (killed or crashed in its
	 * initializer) breaks the pool instead of being replaced forever. */
	int started_rd, started_wr;
};

/* What the supervisor tells the creator: one write, under PIPE_BUF. */
struct ready_msg {
	int rc;
	char msg[256];
};

/* ---------------------------------------------------------------- helpers */

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The timeout left until `end` (negative: forever). */
static double left_until(double end)
{
	if (end < 0)
		return OM_FOREVER;
	double t = end - mono_now();
	return t > 0 ? t : 0;
}

static void pool_fini(struct omi_handle *h, bool live);

/* h's ext: made by om_pool_open, or on first use for a pool handle that
 * om_open_ref() made. NULL when out of memory. */
static struct pool_ext *ext_of(struct omi_handle *h)
{
	if (!h->ext) {
		h->ext = calloc(1, sizeof(struct pool_ext));
		if (h->ext)
			h->ext_fini = pool_fini;
	}
	return h->ext;
}

/* omi_use() of a pool handle, with its ext, for a call that must have its
 * answer now (not in a pipeline). */
static int pool_use(const void *p, double timeout, struct omi_handle **h,
                    struct pool_ext **x)
{
	int rc = omi_use(p, OMI_TYPE, timeout, h);
	if (rc < 0)
		return rc;
	if (omi_piping((*h)->c))
		return omi_fail((*h)->c, OM_EINVAL,
		                "pool calls that wait or submit cannot be "
		                "called in a pipeline");
	if (!(*x = ext_of(*h)))
		return omi_fail((*h)->c, OM_ENOMEM, "out of memory");
	return OM_OK;
}

/* The request a on pool handle h. */
static int pool_rpc(struct omi_handle *h, const struct omi_args *a)
{
	return omi_rpc(h->c, h->id, a);
}

/* Whether a job's status is its outcome (not the call's failure). */
static bool is_outcome(int rc)
{
	return rc == OM_OK || rc == OM_ETASK || rc == OM_EBROKEN ||
	       rc == OM_ECLOSED;
}

/* Remember how r ended, from a GET or NEXT that said so. */
static void note(om_async *r, int rc)
{
	if (is_outcome(rc)) {
		r->ready = true;
		r->known = true;
		r->rc = rc;
	}
}

static bool is_map(int kind)
{
	return kind == JOB_MAP || kind == JOB_STARMAP;
}

static bool is_imap(int kind)
{
	return kind == JOB_IMAP || kind == JOB_IMAP_UNORDERED;
}

/* --------------------------------------------------------- completions */

/* num -> int64_t *out (a job id) */
static int job_done(const Objmgr__Response *r, void *out, void *out2)
{
	(void)out2;
	*(int64_t *)out = r->num;
	return OM_OK;
}

/* results[i] must be an int: *v. */
static int int_at(const Objmgr__Response *r, size_t i, int64_t *v)
{
	om_item it;
	if (i >= r->n_results || omi_item_from_pb(r->results[i], &it) ||
	    it.kind != OM_INT)
		return OM_EPROTO;
	*v = it.i;
	return OM_OK;
}

/* POOL_WAIT's answer: the ready ids, and whether the pool is joined. */
struct waitres {
	int64_t *ids;
	size_t n;
	bool joined;
};

static int wait_done(const Objmgr__Response *r, void *out, void *out2)
{
	(void)out2;
	struct waitres *w = out;
	int64_t *ids = NULL;
	if (r->n_results && !(ids = calloc(r->n_results, sizeof *ids)))
		return OM_ENOMEM;
	for (size_t i = 0; i < r->n_results; i++)
		if (int_at(r, i, &ids[i])) {
			free(ids);
			return OM_EPROTO;
		}
	w->ids = ids;
	w->n = r->n_results;
	w->joined = r->num == 1;
	return OM_OK;
}

static bool has_id(const struct waitres *w, int64_t id)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->ids[i] == id)
			return true;
	return false;
}

/* POOL_INFO -> om_pool_stats *out, the supervisor's pid -> pid_t *out2 */
static int info_done(const Objmgr__Response *r, void *out, void *out2)
{
	int64_t v[6] = {0};
	if (r->n_results < 5)
		return OM_EPROTO;
	for (size_t i = 0; i < 6 && i < r->n_results; i++)
		if (int_at(r, i, &v[i]) || v[i] < 0)
			return OM_EPROTO;
	om_pool_stats *st = out;
	st->processes = (unsigned)v[0];
	st->workers = (unsigned)v[1];
	st->queued = (size_t)v[2];
	st->running = (size_t)v[3];
	st->closed = v[4] != 0;
	if (out2)
		*(pid_t *)out2 = (pid_t)v[5];
	return OM_OK;
}

/* OPEN: the Ref -> om_item *out, and whether it created -> bool *out2 */
static int open_done(const Objmgr__Response *r, void *out, void *out2)
{
	om_item ref;
	if (r->n_results < 1 || omi_item_from_pb(r->results[0], &ref) ||
	    ref.kind != OM_REF)
		return OM_EPROTO;
	*(om_item *)out = ref;
	*(bool *)out2 = r->num == 1;
	return OM_OK;
}

/* POOL_INFO on h: the stats, and the supervisor's pid if sup. */
static int info(struct omi_handle *h, om_pool_stats *st, pid_t *sup)
{
	struct omi_args a = {.op = OBJMGR__OP__POOL_INFO,
	                     .done = info_done,
	                     .out = st,
	                     .out2 = sup};
	return pool_rpc(h, &a);
}

/* ------------------------------------------------------------ callbacks */

static void due_unlink(struct pool_ext *x, om_async *r)
{
	if (!r->linked)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		x->due = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	r->linked = false;
}

/* This process's asyncs on x->due: a forked child's copy of the list is
 * its parent's, whose callbacks are not its to run. */
static size_t due_count(const struct pool_ext *x, pid_t me)
{
	size_t n = 0;
	for (const om_async *r = x->due; r; r = r->next)
		n += r->pid == me;
	return n;
}

/* POOL_WAIT on h for ids[0..n) (and the join, if join) up to timeout. */
static int pool_wait(struct omi_handle *h, const int64_t *ids, size_t n,
                     bool join, double timeout, struct waitres *w)
{
	om_item stack[16], *args = stack;
	if (n > sizeof stack / sizeof *stack &&
	    !(args = calloc(n, sizeof *args)))
		return omi_fail(h->c, OM_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		args[i] = om_int(ids[i]);
	struct omi_args a = {.op = OBJMGR__OP__POOL_WAIT,
	                     .args = args,
	                     .nargs = n,
	                     .num = join,
	                     .timeout = timeout,
	                     .done = wait_done,
	                     .out = w};
	int rc = pool_rpc(h, &a);
	if (args != stack)
		free(args);
	return rc;
}

/* POOL_GET of r's result, as its callback and om_async_get give it: the
 * result (APPLY) or the Ref to the list of results (MAP, STARMAP). */
static int fetch(struct omi_handle *h, om_async *r, om_item *out,
                 double timeout)
{
	struct omi_args a = {.op = OBJMGR__OP__POOL_GET,
	                     .num = r->job,
	                     .num2 = is_map(r->kind),
	                     .timeout = timeout,
	                     .done = omi_done_item,
	                     .out = out};
	int rc = pool_rpc(h, &a);
	note(r, rc);
	return rc;
}

/* Run the callbacks of pool pv's due asyncs whose jobs are in w (each
 * once: it leaves the list before it runs). A callback may call anything,
 * releasing the pool or freeing asyncs included, so the list and the
 * handle are looked up again after each. @return how many ran. */
static int run_due(void *pv, const struct waitres *w)
{
	int ran = 0;
	pid_t me = getpid();
	for (size_t i = 0; i < w->n; i++) {
		struct omi_handle *h = omi_handle_get(pv);
		if (!h || !h->ext)
			break;
		struct pool_ext *x = h->ext;
		om_async *r = x->due;
		while (r && (r->job != w->ids[i] || r->pid != me))
			r = r->next;
		if (!r)
			continue;
		due_unlink(x, r);
		om_item res = om_nil();
		int rc = fetch(h, r, &res, 0);
		void (*cb)(int, const om_item *, void *) = r->cb;
		void *arg = r->cb_arg;
		cb(rc, rc >= 0 ? &res : NULL, arg); /* r may be gone now */
		om_item_free(&res);
		ran++;
	}
	return ran;
}

/*
 * Wait up to `timeout` until job r is ready (r NULL: none), or, with
 * `join`, the pool is joined, running the callbacks that come due
 * meanwhile; with `dispatch`, until at least one callback has run.
 * @return OM_OK, OM_ETIMEOUT, or the failure of a request.
 */
static int await(void *pv, om_async *r, bool join, bool dispatch,
                 double timeout)
{
	double end = timeout < 0 ? -1 : mono_now() + timeout;
	pid_t me = getpid();
	for (;;) {
		struct omi_handle *h = omi_handle_get(pv);
		if (!h || !h->ext)
			return OM_EINVAL; /* released by a callback */
		struct pool_ext *x = h->ext;
		size_t n = due_count(x, me) + (r != NULL);
		int64_t stack[32], *ids = stack;
		if (n > sizeof stack / sizeof *stack &&
		    !(ids = calloc(n, sizeof *ids)))
			return omi_fail(h->c, OM_ENOMEM, "out of memory");
		size_t k = 0;
		if (r)
			ids[k++] = r->job;
		for (om_async *d = x->due; d; d = d->next)
			if (d->pid == me && d != r)
				ids[k++] = d->job;
		if (!k && !join) {
			/* A callback took the last of them away meanwhile
			 * (freed its async, say): nothing left to wait for. */
			if (ids != stack)
				free(ids);
			return omi_fail(h->c, OM_ETIMEOUT,
			                "no callback is waiting");
		}
		struct waitres w = {0};
		int rc = pool_wait(h, ids, k, join, left_until(end), &w);
		if (ids != stack)
			free(ids);
		if (rc < 0)
			return rc;
		bool mine = r && has_id(&w, r->job);
		if (mine)
			r->ready = true;
		bool joined = w.joined, none = !w.n && !joined;
		int ran = run_due(pv, &w);
		free(w.ids);
		if (mine || (join && joined) || (dispatch && ran))
			return OM_OK;
		if (none) /* OK for nothing: looping would spin */
			return omi_fail(
			        h->c, OM_EPROTO,
			        "POOL_WAIT answered with nothing ready");
	}
}

/* ---------------------------------------------------------------- asyncs */

/* The pool handle and ext behind async r, for a call by this process. */
static int async_use(om_async *r, double timeout, struct omi_handle **h,
                     struct pool_ext **x)
{
	if (!r)
		return OM_EINVAL;
	int rc = pool_use(r->pool, timeout, h, x);
	if (rc < 0)
		return rc;
	if (r->pid != getpid())
		return omi_fail((*h)->c, OM_EINVAL,
		                "an async belongs to the process that "
		                "submitted it");
	return OM_OK;
}

/* om_async_get / _get_items: the result as one item (out) or as items. */
static int get(om_async *r, om_item *out, om_items *items, double timeout)
{
	struct omi_handle *h;
	struct pool_ext *x;
	int rc = async_use(r, timeout, &h, &x);
	if (rc < 0)
		return rc;
	if (is_imap(r->kind))
		return omi_fail(h->c, OM_EINVAL,
		                "an imap's results are taken with "
		                "om_async_next");
	if (due_count(x, r->pid)) {
		if ((rc = await(r->pool, r, false, false, timeout)) < 0)
			return rc;
		if (!(h = omi_handle_get(r->pool)))
			return OM_EINVAL;
		timeout = 0;
	}
	if (out)
		return fetch(h, r, out, timeout);
	struct omi_args a = {.op = OBJMGR__OP__POOL_GET,
	                     .num = r->job,
	                     .timeout = timeout,
	                     .done = omi_done_items,
	                     .out = items};
	rc = pool_rpc(h, &a);
	note(r, rc);
	return rc;
}

int om_async_get(om_async *r, om_item *out, double timeout)
{
	if (!out)
		return OM_EINVAL;
	return get(r, out, NULL, timeout);
}

int om_async_get_items(om_async *r, om_items *out, double timeout)
{
	if (!out)
		return OM_EINVAL;
	return get(r, NULL, out, timeout);
}

int om_async_wait(om_async *r, double timeout)
{
	struct omi_handle *h;
	struct pool_ext *x;
	int rc = async_use(r, timeout, &h, &x);
	if (rc < 0)
		return rc;
	if (due_count(x, r->pid))
		return await(r->pool, r, false, false, timeout);
	if (r->ready)
		return OM_OK;
	struct waitres w = {0};
	rc = pool_wait(h, &r->job, 1, false, timeout, &w);
	if (rc == OM_OK && has_id(&w, r->job))
		r->ready = true;
	free(w.ids);
	return rc;
}

int om_async_ready(om_async *r, bool *ready)
{
	if (!ready)
		return OM_EINVAL;
	struct omi_handle *h;
	struct pool_ext *x;
	int rc = async_use(r, 0, &h, &x);
	if (rc < 0)
		return rc;
	if (!r->ready) {
		struct waitres w = {0};
		rc = pool_wait(h, &r->job, 1, false, 0, &w);
		if (rc == OM_OK && has_id(&w, r->job))
			r->ready = true;
		free(w.ids);
		if (rc < 0 && rc != OM_ETIMEOUT)
			return rc;
		h->c->errmsg[0] = '\0'; /* not ready is an answer */
	}
	*ready = r->ready;
	return OM_OK;
}

int om_async_successful(om_async *r, bool *ok)
{
	if (!ok)
		return OM_EINVAL;
	bool ready;
	int rc = om_async_ready(r, &ready);
	if (rc < 0)
		return rc;
	struct omi_handle *h = omi_handle_get(r->pool);
	if (is_imap(r->kind))
		return omi_fail(h->c, OM_EINVAL,
		                "an imap's results are taken with "
		                "om_async_next");
	if (!ready)
		return omi_fail(h->c, OM_EINVAL, "the result is not ready");
	if (!r->known) {
		om_item res = om_nil();
		rc = fetch(h, r, &res, 0);
		om_item_free(&res);
		if (!r->known)
			return rc;
	}
	h->c->errmsg[0] = '\0';
	*ok = r->rc == OM_OK;
	return OM_OK;
}

int om_async_then(om_async *r,
                  void (*cb)(int rc, const om_item *result, void *arg),
                  void *arg)
{
	struct omi_handle *h;
	struct pool_ext *x;
	int rc = async_use(r, 0, &h, &x);
	if (rc < 0)
		return rc;
	if (!cb)
		return omi_fail(h->c, OM_EINVAL, "no callback");
	if (r->cb)
		return omi_fail(h->c, OM_EINVAL, "a callback is set already");
	if (is_imap(r->kind))
		return omi_fail(h->c, OM_EINVAL,
		                "an imap has no callback: its results are "
		                "taken with om_async_next");
	r->cb = cb;
	r->cb_arg = arg;
	r->prev = NULL;
	r->next = x->due;
	if (x->due)
		x->due->prev = r;
	x->due = r;
	r->linked = true;
	return OM_OK;
}

void om_async_free(om_async *r)
{
	if (!r)
		return;
	struct omi_handle *h = omi_handle_get(r->pool);
	if (h && h->ext && r->linked)
		due_unlink(h->ext, r);
	if (h && r->pid == getpid() && h->gen == omi_fork_gen()) {
		/* After om_pool_apply's failure, say: its message stays. */
		om_client *c = h->c;
		char msg[sizeof c->errmsg];
		char *whole = c->errlong;
		memcpy(msg, c->errmsg, sizeof msg);
		c->errlong = NULL;
		struct omi_args a = {.op = OBJMGR__OP__POOL_FORGET,
		                     .num = r->job,
		                     .pend = OMI_PEND_QUIET};
		/* Nothing to wait for: its answer is read with the next
		 * call's (in a pipeline, it is queued). */
		if (omi_piping(c))
			omi_rpc(c, h->id, &a);
		else
			omi_rpc_later(c, h->id, &a);
		memcpy(c->errmsg, msg, sizeof msg);
		free(c->errlong);
		c->errlong = whole;
	}
	free(r);
}

int om_async_next(om_async *r, om_item *out, double timeout)
{
	if (!out)
		return OM_EINVAL;
	struct omi_handle *h;
	struct pool_ext *x;
	int rc = async_use(r, timeout, &h, &x);
	if (rc < 0)
		return rc;
	if (!is_imap(r->kind))
		return omi_fail(h->c, OM_EINVAL,
		                "om_async_next is for om_pool_imap's results");
	if (due_count(x, r->pid)) {
		if ((rc = await(r->pool, r, false, false, timeout)) < 0)
			return rc;
		if (!(h = omi_handle_get(r->pool)))
			return OM_EINVAL;
		timeout = 0;
		r->ready = false; /* an imap is ready again and again */
	}
	struct omi_args a = {.op = OBJMGR__OP__POOL_NEXT,
	                     .num = r->job,
	                     .timeout = timeout,
	                     .done = omi_done_item,
	                     .out = out};
	return pool_rpc(h, &a);
}

/* ------------------------------------------------------------ submitting */

/* The pool's size (for map's chunksize): known at creation, else asked. */
static int pool_size(struct omi_handle *h, struct pool_ext *x, unsigned *n)
{
	if (!x->processes) {
		om_pool_stats st;
		int rc = info(h, &st, NULL);
		if (rc < 0)
			return rc;
		x->processes = st.processes ? st.processes : 1;
	}
	*n = x->processes;
	return OM_OK;
}

/* POOL_SUBMIT of `kind` with args [fn, payload[0..n)]: *out, its async. */
static int submit(om_pool *p, int kind, const char *fn, const om_item *payload,
                  size_t n, size_t chunksize, om_async **out)
{
	if (!out)
		return OM_EINVAL;
	struct omi_handle *h;
	struct pool_ext *x;
	int rc = pool_use(p, 0, &h, &x);
	if (rc < 0)
		return rc;
	om_client *c = h->c;
	if (!fn || !*fn)
		return omi_fail(c, OM_EINVAL, "no function name");
	if (n && !payload)
		return omi_fail(c, OM_EINVAL, "items is NULL");
	if (is_map(kind) && chunksize == 0) {
		/* Python's chunksize=None: len / (4 * processes), rounded
		 * up. */
		unsigned procs;
		if ((rc = pool_size(h, x, &procs)) < 0)
			return rc;
		size_t per = (size_t)procs * 4;
		chunksize = n / per + (n % per != 0);
	}
	if (chunksize == 0)
		chunksize = 1;
	if (chunksize > INT64_MAX)
		chunksize = INT64_MAX;
	om_async *r = calloc(1, sizeof *r);
	om_item *args = n < SIZE_MAX / sizeof *args - 1
	                        ? malloc((n + 1) * sizeof *args)
	                        : NULL;
	if (!r || !args) {
		free(r);
		free(args);
		return omi_fail(c, OM_ENOMEM, "out of memory");
	}
	args[0] = om_str(fn);
	if (n)
		memcpy(args + 1, payload, n * sizeof *args);
	struct omi_args a = {.op = OBJMGR__OP__POOL_SUBMIT,
	                     .args = args,
	                     .nargs = n + 1,
	                     .num = kind,
	                     .num2 = (int64_t)chunksize,
	                     .done = job_done,
	                     .out = &r->job};
	rc = pool_rpc(h, &a);
	free(args);
	if (rc < 0) {
		free(r);
		return rc;
	}
	r->pool = p;
	r->pid = getpid();
	r->kind = kind;
	*out = r;
	return OM_OK;
}

int om_pool_apply_async(om_pool *p, const char *fn, const om_item *args,
                        size_t n, om_async **out)
{
	return submit(p, JOB_APPLY, fn, args, n, 1, out);
}

int om_pool_map_async(om_pool *p, const char *fn, const om_item *items,
                      size_t n, size_t chunksize, om_async **out)
{
	return submit(p, JOB_MAP, fn, items, n, chunksize, out);
}

int om_pool_imap(om_pool *p, const char *fn, const om_item *items, size_t n,
                 size_t chunksize, int flags, om_async **out)
{
	struct omi_handle *h = omi_handle_get(p);
	if (flags & ~OM_UNORDERED)
		return h ? omi_fail(h->c, OM_EINVAL, "unknown flags")
		         : OM_EINVAL;
	return submit(p, flags & OM_UNORDERED ? JOB_IMAP_UNORDERED : JOB_IMAP,
	              fn, items, n, chunksize ? chunksize : 1, out);
}

int om_pool_apply(om_pool *p, const char *fn, const om_item *args, size_t n,
                  om_item *out)
{
	if (!out)
		return OM_EINVAL;
	om_async *r;
	int rc = om_pool_apply_async(p, fn, args, n, &r);
	if (rc < 0)
		return rc;
	rc = om_async_get(r, out, OM_FOREVER);
	om_async_free(r);
	return rc;
}

int om_pool_map(om_pool *p, const char *fn, const om_item *items, size_t n,
                size_t chunksize, om_items *out)
{
	if (!out)
		return OM_EINVAL;
	om_async *r;
	int rc = om_pool_map_async(p, fn, items, n, chunksize, &r);
	if (rc < 0)
		return rc;
	rc = om_async_get_items(r, out, OM_FOREVER);
	om_async_free(r);
	return rc;
}

int om_pool_starmap(om_pool *p, const char *fn, const om_items *argv, size_t n,
                    size_t chunksize, om_items *out)
{
	struct omi_handle *h;
	struct pool_ext *x;
	int rc = pool_use(p, 0, &h, &x);
	if (rc < 0)
		return rc;
	if (!out || (n && !argv))
		return omi_fail(h->c, OM_EINVAL, "argv or out is NULL");
	/* STARMAP's payload: [int nargs, that many args] per call. */
	size_t total = n;
	for (size_t i = 0; i < n; i++) {
		if (argv[i].n && !argv[i].v)
			return omi_fail(h->c, OM_EINVAL,
			                "argv[%zu] has no items", i);
		if (argv[i].n > SIZE_MAX / 2 - total)
			return omi_fail(h->c, OM_EINVAL, "too many arguments");
		total += argv[i].n;
	}
	om_item *pay = total ? malloc(total * sizeof *pay) : NULL;
	if (total && !pay)
		return omi_fail(h->c, OM_ENOMEM, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		pay[k++] = om_int((int64_t)argv[i].n);
		for (size_t j = 0; j < argv[i].n; j++)
			pay[k++] = argv[i].v[j];
	}
	if (chunksize == 0) {
		/* Python's rule counts calls, not payload items. */
		unsigned procs;
		if ((rc = pool_size(h, x, &procs)) < 0) {
			free(pay);
			return rc;
		}
		size_t per = (size_t)procs * 4;
		chunksize = n / per + (n % per != 0);
		if (!chunksize)
			chunksize = 1;
	}
	om_async *r;
	rc = submit(p, JOB_STARMAP, fn, pay, total, chunksize, &r);
	free(pay);
	if (rc < 0)
		return rc;
	rc = om_async_get_items(r, out, OM_FOREVER);
	om_async_free(r);
	return rc;
}

/* ------------------------------------------------------------ pool calls */

int om_pool_dispatch(om_pool *p, double timeout)
{
	struct omi_handle *h;
	struct pool_ext *x;
	int rc = pool_use(p, timeout, &h, &x);
	if (rc < 0)
		return rc;
	/* Nothing can come due: waiting would only sleep. */
	if (!due_count(x, getpid()))
		return omi_fail(h->c, OM_ETIMEOUT, "no callback is waiting");
	return await(p, NULL, false, true, timeout);
}

/* pool.close() */
OMI_CALL(om_pool_close, om_pool, POOL_CLOSE)

/* pool.terminate() */
OMI_CALL(om_pool_terminate, om_pool, POOL_TERMINATE)

int om_pool_join(om_pool *p, double timeout)
{
	struct omi_handle *h;
	struct pool_ext *x;
	int rc = pool_use(p, timeout, &h, &x);
	if (rc < 0)
		return rc;
	double end = timeout < 0 ? -1 : mono_now() + timeout;
	if (due_count(x, getpid())) {
		rc = await(p, NULL, true, false, timeout);
	} else {
		struct waitres w = {0};
		rc = pool_wait(h, NULL, 0, true, timeout, &w);
		free(w.ids);
	}
	if (rc < 0)
		return rc;
	/* The supervisor's session has ended; reap the process. */
	if (!(h = omi_handle_get(p)) || !(x = h->ext))
		return OM_OK;
	if (x->sup && x->creator == getpid()) {
		if ((rc = om_process_join(x->sup, left_until(end))) < 0)
			return omi_fail(h->c, rc,
			                "the pool's supervisor has not exited");
		om_process_free(x->sup);
		x->sup = NULL;
	}
	return OM_OK;
}

int om_pool_info(om_pool *p, om_pool_stats *out)
{
	if (!out)
		return OM_EINVAL;
	struct omi_args a = {
	        .op = OBJMGR__OP__POOL_INFO, .done = info_done, .out = out};
	return omi_call(p, OMI_TYPE, &a);
}

/* The handle's end in this process: a creator that lets go of a pool it
 * has not joined terminates it, as Python's Pool finalizer does, and
 * reaps the supervisor (killed, it takes the workers along). */
static void pool_fini(struct omi_handle *h, bool live)
{
	struct pool_ext *x = h->ext;
	h->ext = NULL;
	if (!x)
		return;
	for (om_async *r = x->due, *next; r; r = next) {
		next = r->next;
		r->linked = false;
		r->prev = r->next = NULL;
	}
	if (x->sup && x->creator == getpid()) {
		if (live && h->gen == omi_fork_gen() && !h->c->lost) {
			struct omi_args a = {.op = OBJMGR__OP__POOL_TERMINATE,
			                     .pend = OMI_PEND_QUIET};
			omi_rpc(h->c, h->id, &a);
		}
		om_process_kill(x->sup);
		om_process_join(x->sup, OM_FOREVER);
		om_process_free(x->sup);
	}
	free(x);
}

/* ----------------------------------------------------------------- tasks */

int om_task_return(om_task *t, om_item result)
{
	if (!t || t->has_result || !omi_item_valid(&result))
		return OM_EINVAL;
	int rc = omi_item_dup(&t->result, &result);
	if (rc < 0)
		return rc;
	t->has_result = true;
	return OM_OK;
}

int om_task_fail(om_task *t, const char *fmt, ...)
{
	if (!t || t->failed)
		return OM_ETASK; /* the first failure stands */
	t->failed = true;
	if (!fmt)
		return OM_ETASK;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&t->msg, fmt, ap) < 0)
		t->msg = NULL; /* "failed" with no text (see task_message) */
	va_end(ap);
	return OM_ETASK;
}

static void task_clear(om_task *t)
{
	om_item_free(&t->result);
	free(t->msg);
	*t = (om_task){0};
}

/* The failure message of task t whose function returned rc: its own text
 * (taken out of t), or one made from rc. Never NULL but out of memory. */
static char *task_message(om_task *t, int rc)
{
	char *m = t->msg;
	t->msg = NULL;
	if (m)
		return m;
	if (t->failed && asprintf(&m, "task '%s' failed", t->fn) < 0)
		m = NULL;
	else if (!t->failed && asprintf(&m, "task '%s' returned %d (%s)", t->fn,
	                                rc, om_strerror(rc)) < 0)
		m = NULL;
	return m;
}

/* ---------------------------------------------------------------- worker */

/* A parsed task of a TAKE answer: [int id, str fn, int ncalls, then per
 * call int nargs, the args]. */
struct task {
	int64_t id;
	const char *fn;
	size_t ncalls;
	size_t at;  /* the first call's nargs */
	size_t end; /* just past its last call */
};

/* Parse the task at v[*pos] and move *pos past it. @return OM_OK or
 * OM_EPROTO. */
static int parse_task(const om_items *v, size_t *pos, struct task *t)
{
	size_t i = *pos;
	if (v->n - i < 3 || v->v[i].kind != OM_INT ||
	    v->v[i + 1].kind != OM_STR || v->v[i + 2].kind != OM_INT ||
	    v->v[i + 2].i < 0)
		return OM_EPROTO;
	t->id = v->v[i].i;
	t->fn = v->v[i + 1].s.ptr;
	t->ncalls = (size_t)v->v[i + 2].i;
	i += 3;
	t->at = i;
	for (size_t k = 0; k < t->ncalls; k++) {
		if (i >= v->n || v->v[i].kind != OM_INT || v->v[i].i < 0 ||
		    (uint64_t)v->v[i].i > v->n - i - 1)
			return OM_EPROTO;
		i += 1 + (size_t)v->v[i].i;
	}
	t->end = i;
	*pos = i;
	return OM_OK;
}

static om_task_fn find_fn(const om_pool_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ntasks; i++)
		if (strcmp(cfg->tasks[i].name, name) == 0)
			return cfg->tasks[i].fn;
	return NULL;
}

/* A task's report: its results, or its failure. */
struct report {
	int64_t id;
	const char *fn;
	om_item *results;
	size_t n;
	char *msg; /* the failure, or NULL */
	bool failed;
};

static void report_clear(struct report *d)
{
	for (size_t i = 0; i < d->n; i++)
		om_item_free(&d->results[i]);
	free(d->results);
	free(d->msg);
	*d = (struct report){0};
}

/* Fail d with a message of our own (the function's failed to be sent). */
static void report_fail(struct report *d, char *msg)
{
	for (size_t i = 0; i < d->n; i++)
		om_item_free(&d->results[i]);
	free(d->results);
	d->results = NULL;
	d->n = 0;
	free(d->msg);
	d->msg = msg;
	d->failed = true;
}

/* Run every call of task t (batch v), stopping at the first that fails,
 * as Python's chunk (one list(map(fn, chunk))) does. */
static void run_task(const om_pool_config *cfg, const om_items *v,
                     const struct task *t, struct report *d)
{
	*d = (struct report){.id = t->id, .fn = t->fn};
	om_task_fn fn = find_fn(cfg, t->fn);
	if (!fn) {
		char *m = NULL;
		if (asprintf(&m, "no task '%s' in this worker", t->fn) < 0)
			m = NULL;
		report_fail(d, m);
		return;
	}
	if (t->ncalls &&
	    !(d->results = calloc(t->ncalls, sizeof *d->results))) {
		report_fail(d, NULL);
		return;
	}
	size_t i = t->at;
	for (size_t k = 0; k < t->ncalls; k++) {
		size_t nargs = (size_t)v->v[i].i;
		const om_item *args = &v->v[i + 1];
		i += 1 + nargs;
		om_task task = {.fn = t->fn, .result = om_nil()};
		int rc = fn(&task, args, nargs);
		if (task.failed || rc < 0) {
			report_fail(d, task_message(&task, rc));
			task_clear(&task);
			return;
		}
		d->results[k] = task.result; /* nil without om_task_return */
		task.result = om_nil();
		d->n++;
		task_clear(&task);
	}
}

/* *m cut to MSG_SEND_MAX bytes, with a note saying so, if it is longer
 * (left as it is if there is no memory for the cut one). */
static void cut_message(char **m)
{
	size_t len = *m ? strlen(*m) : 0;
	char *cut;
	if (len <= MSG_SEND_MAX)
		return;
	if (asprintf(&cut, "%.*s... (message of %zu bytes cut to fit an item)",
	             (int)(MSG_SEND_MAX - 64), *m, len) < 0)
		return;
	free(*m);
	*m = cut;
}

/* d as POOL_DONE's arguments: the request a, with `one` as the message
 * item's storage. */
static void done_args(const struct report *d, struct omi_args *a, om_item *one)
{
	*a = (struct omi_args){.op = OBJMGR__OP__POOL_DONE, .num = d->id};
	if (d->failed) {
		const char *m =
		        d->msg ? d->msg
		               : "the task failed (out of memory for its "
		                 "message)";
		size_t len = strlen(m);
		*one = om_strn(m, len < MSG_SEND_MAX ? len : MSG_SEND_MAX);
		a->args = one; /* cut_message() made it fit, or no memory */
		a->nargs = 1;
		a->num2 = OBJMGR__STATUS__ETASK;
	} else {
		a->args = d->results;
		a->nargs = d->n;
	}
}

/* POOL_TAKE of up to max tasks, forever: *out the batch. */
static int take(void *pool, size_t max, om_items *out)
{
	struct omi_args a = {.op = OBJMGR__OP__POOL_TAKE,
	                     .num2 = (int64_t)max,
	                     .timeout = OM_FOREVER,
	                     .done = omi_done_items,
	                     .out = out};
	return omi_call(pool, OMI_TYPE, &a);
}

/* Report d, without waiting for the answer (read with the next
 * request's): the server has it before this worker can die in its next
 * task, so the lease knows which task it was running. A report the server
 * cannot keep (a result over --max-item, a Ref this session cannot reach)
 * fails the task there with why. @return OM_OK, or OM_ECONN (the worker
 * leaves). */
static int report(void *pool, struct report *d)
{
	struct omi_handle *h = omi_handle_get(pool);
	struct omi_args a;
	om_item one;
	if (d->failed)
		cut_message(&d->msg);
	done_args(d, &a, &one);
	return omi_rpc_later(h->c, h->id, &a);
}

/* The initializer, if any: OM_OK, or the pool is told it failed. */
static int run_initializer(void *pool, const om_pool_config *cfg)
{
	if (!cfg->initializer)
		return OM_OK;
	om_task t = {.fn = "initializer", .result = om_nil()};
	int rc = cfg->initializer(&t, cfg->initargs, cfg->ninitargs);
	if (!t.failed && rc >= 0) {
		task_clear(&t);
		return OM_OK;
	}
	char *m = task_message(&t, rc);
	task_clear(&t);
	cut_message(&m);
	size_t len = m ? strlen(m) : 0;
	om_item msg = m ? om_strn(m, len < MSG_SEND_MAX ? len : MSG_SEND_MAX)
	                : om_str("the initializer failed");
	omi_call_op(pool, OMI_TYPE, OBJMGR__OP__POOL_INIT_FAILED, &msg, 1, 0, 0,
	            NULL, NULL);
	free(m);
	return OM_ETASK;
}

/* A worker: its initializer, then tasks until told ECLOSED (exit 0) or
 * maxtasksperchild (WORKER_RECYCLE). A worker never runs callbacks: the
 * due lists it inherited are its parent's. */
static int worker_main(void *arg)
{
	struct boot *b = arg;
	if (b->ready_fd >= 0)
		close(b->ready_fd); /* the creator waits for its EOF */
	if (b->go_wr >= 0)
		close(b->go_wr);
	if (b->go_rd >= 0) {
		char x;
		while (read(b->go_rd, &x, 1) < 0 && errno == EINTR)
			;
		close(b->go_rd);
	}
	const om_pool_config *cfg = b->cfg;
	if (run_initializer(b->pool, cfg) < 0)
		return 0; /* the pool is broken: not to be replaced */
	if (b->started_wr >= 0) {
		pid_t me = getpid(); /* under PIPE_BUF: one atomic write */
		while (write(b->started_wr, &me, sizeof me) < 0 &&
		       errno == EINTR)
			;
		close(b->started_wr);
	}
	unsigned ran = 0;
	size_t want = 1; /* tasks to take next */
	for (;;) {
		size_t max = want;
		if (cfg->maxtasksperchild && cfg->maxtasksperchild - ran < max)
			max = cfg->maxtasksperchild - ran;
		om_items batch = {0};
		int trc = take(b->pool, max, &batch);
		if (trc == OM_ECLOSED)
			return 0; /* closed and drained, terminated, broken */
		if (trc < 0)
			return WORKER_NOCONN;
		double t0 = mono_now();
		unsigned ran0 = ran;
		size_t pos = 0;
		while (pos < batch.n) {
			struct task t;
			if (parse_task(&batch, &pos, &t) < 0) {
				fprintf(stderr,
				        "objmgr pool worker %d: a task "
				        "it cannot read\n",
				        (int)getpid());
				om_items_free(&batch);
				return 1; /* the server fails its lease */
			}
			struct report d;
			run_task(cfg, &batch, &t, &d);
			ran++;
			struct omi_handle *h = omi_handle_get(b->pool);
			if (h && omi_piping(h->c))
				om_pipeline_end(h->c, NULL, 0); /* the task's */
			int rc = report(b->pool, &d);
			report_clear(&d);
			if (rc == OM_ECONN) {
				om_items_free(&batch);
				return WORKER_NOCONN;
			}
		}
		om_items_free(&batch);
		if (mono_now() - t0 < QUICK * (ran - ran0))
			want = want * 2 > TAKE_MAX ? TAKE_MAX : want * 2;
		else
			want = 1;
		/* Its reports are written: the server reads them before it
		 * sees this session end. */
		if (cfg->maxtasksperchild && ran >= cfg->maxtasksperchild)
			return WORKER_RECYCLE;
	}
}

/* ------------------------------------------------------------ supervisor */

/* Tell the creator how the start went (once). */
static void tell_creator(struct boot *b, int rc, const char *msg)
{
	if (b->ready_fd < 0)
		return;
	struct ready_msg m = {.rc = rc};
	snprintf(m.msg, sizeof m.msg, "%s", msg ? msg : "");
	ssize_t k;
	do
		k = write(b->ready_fd, &m, sizeof m);
	while (k < 0 && errno == EINTR);
	close(b->ready_fd);
	b->ready_fd = -1;
}

/* Whether a worker that ended should be replaced: while the pool is open
 * or has tasks queued or running (maxtasksperchild after close; a killed
 * worker's lease, running until the server has seen its session end and
 * then queued again: closed pools keep their workers until then). Not when it
 * cannot be asked (the server is gone). */
static bool needs_worker(void *pool)
{
	struct omi_handle *h = omi_handle_get(pool);
	om_pool_stats st;
	if (!h || info(h, &st, NULL) < 0)
		return false;
	return !st.closed || st.queued > 0 || st.running > 0;
}

/* Why worker `pid`, which ended with `code` (om_process_exitcode), must
 * not be replaced but break the pool: it died before its initializer
 * succeeded (`up` false: it would die again, forever), or it could not
 * keep a session. Writes the reason into msg and returns true. */
static bool early_death(pid_t pid, int code, bool up, char *msg, size_t len)
{
	if (code == WORKER_NOCONN) {
		snprintf(msg, len,
		         "pool worker %d could not keep a connection to the "
		         "server (at its --max-connections?)",
		         (int)pid);
		return true;
	}
	if (up || code == 0)
		return false;
	if (code < 0)
		snprintf(msg, len,
		         "pool worker %d was killed by signal %d (%s) before "
		         "its first task, in its initializer",
		         (int)pid, -code, strsignal(-code));
	else
		snprintf(msg, len,
		         "pool worker %d exited with status %d before its "
		         "first task, in its initializer",
		         (int)pid, code);
	return true;
}

/* Mark the workers that wrote their pid on the started pipe. */
static void note_started(int fd, om_process **kids, bool *up, size_t n)
{
	pid_t pid;
	while (read(fd, &pid, sizeof pid) == (ssize_t)sizeof pid)
		for (size_t i = 0; i < n; i++)
			if (om_process_pid(kids[i]) == pid)
				up[i] = true;
}

static int supervisor_main(void *arg)
{
	struct boot *b = arg;
	close(b->ready_rd);
	b->ready_rd = -1;
	/* The creator's dispositions are not ours: a creator that ignores
	 * SIGTERM must still be able to stop us at its exit, and waitid()
	 * needs SIGCHLD's default. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigset_t unblock;
	sigemptyset(&unblock);
	sigaddset(&unblock, SIGTERM);
	sigaddset(&unblock, SIGCHLD);
	sigprocmask(SIG_UNBLOCK, &unblock, NULL);
	om_process **kids = calloc(b->processes, sizeof *kids);
	bool *up = calloc(b->processes, sizeof *up);
	int started[2] = {-1, -1};
	if (!up || pipe2(started, O_CLOEXEC) < 0 ||
	    fcntl(started[0], F_SETFL, O_NONBLOCK) < 0) {
		tell_creator(b, OM_ENOMEM, "cannot start the supervisor");
		return 1;
	}
	b->started_rd = started[0];
	b->started_wr = started[1];
	int rc = kids ? omi_call_op(b->pool, OMI_TYPE,
	                            OBJMGR__OP__POOL_SUPERVISE, NULL, 0, 0, 0,
	                            NULL, NULL)
	              : OM_ENOMEM;
	struct omi_handle *h = omi_handle_get(b->pool);
	if (rc < 0) {
		tell_creator(b, rc, h ? om_errmsg(h->c) : "out of memory");
		return 1;
	}
	int go[2];
	if (pipe2(go, O_CLOEXEC) < 0) {
		tell_creator(b, OM_ELIMIT, strerror(errno));
		return 1;
	}
	b->go_rd = go[0];
	b->go_wr = go[1];
	size_t n = 0;
	for (; n < b->processes; n++)
		if ((rc = omi_process_start(worker_main, b, OM_DAEMON, true,
		                            &kids[n])) < 0) {
			tell_creator(b, rc, "cannot fork a pool worker");
			return 1; /* the workers die with us (daemons) */
		}
	tell_creator(b, OM_OK, NULL);
	close(go[1]); /* go, workers */
	close(go[0]);
	b->go_rd = b->go_wr = -1;
	bool broken = false;
	while (n) {
		siginfo_t si = {0};
		/* WNOWAIT: om_process_join() reaps it, so the process
		 * module keeps its books. */
		if (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		size_t i = 0;
		while (i < n && om_process_pid(kids[i]) != si.si_pid)
			i++;
		if (i == n) {
			waitpid(si.si_pid, NULL, 0); /* not a worker */
			continue;
		}
		note_started(b->started_rd, kids, up, n);
		om_process_join(kids[i], OM_FOREVER);
		int code = 0;
		om_process_exitcode(kids[i], &code);
		char why[256];
		if (!broken &&
		    early_death(si.si_pid, code, up[i], why, sizeof why)) {
			/* The server breaks the pool and stops the rest. */
			om_item msg = om_str(why);
			omi_call_op(b->pool, OMI_TYPE,
			            OBJMGR__OP__POOL_INIT_FAILED, &msg, 1, 0, 0,
			            NULL, NULL);
			broken = true;
		}
		om_process_free(kids[i]);
		n--;
		kids[i] = kids[n];
		up[i] = up[n];
		up[n] = false;
		if (!broken && needs_worker(b->pool) &&
		    omi_process_start(worker_main, b, OM_DAEMON, true,
		                      &kids[n]) == OM_OK)
			n++;
	}
	free(kids);
	free(up);
	return 0;
}

/* --------------------------------------------------------------- opening */

/* The CPUs this process may run on (Python's os.process_cpu_count). */
static unsigned cpu_count(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static int check_config(om_client *c, const om_pool_config *cfg)
{
	if (!cfg)
		return omi_fail(
		        c, OM_EINVAL,
		        "creating a pool needs a config with its tasks");
	if (!cfg->tasks || cfg->ntasks == 0)
		return omi_fail(c, OM_EINVAL, "a pool needs at least one task");
	if (cfg->ntasks > 65536)
		return omi_fail(c, OM_EINVAL, "too many tasks (%zu)",
		                cfg->ntasks);
	for (size_t i = 0; i < cfg->ntasks; i++) {
		const om_task_def *t = &cfg->tasks[i];
		if (!t->name || !*t->name)
			return omi_fail(c, OM_EINVAL, "task %zu has no name",
			                i);
		if (strlen(t->name) > TASK_NAME_MAX)
			return omi_fail(
			        c, OM_EINVAL,
			        "task %zu's name is longer than %d bytes", i,
			        TASK_NAME_MAX);
		if (!t->fn)
			return omi_fail(c, OM_EINVAL,
			                "task '%s' has no function", t->name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->tasks[j].name, t->name) == 0)
				return omi_fail(c, OM_EINVAL,
				                "two tasks are named '%s'",
				                t->name);
	}
	if (cfg->ninitargs && !cfg->initargs)
		return omi_fail(c, OM_EINVAL, "initargs is NULL");
	for (size_t i = 0; i < cfg->ninitargs; i++)
		if (!omi_item_valid(&cfg->initargs[i]))
			return omi_fail(c, OM_EINVAL,
			                "initargs[%zu] is not a valid item", i);
	return OM_OK;
}

/* Fork pool h's supervisor and wait until it has started the workers. */
static int start(struct omi_handle *h, struct pool_ext *x,
                 const om_pool_config *cfg, unsigned processes)
{
	om_client *c = h->c;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return omi_fail(c, OM_ELIMIT, "pipe: %s", strerror(errno));
	struct boot b = {.pool = h->value,
	                 .cfg = cfg,
	                 .processes = processes,
	                 .ready_fd = fds[1],
	                 .ready_rd = fds[0],
	                 .go_rd = -1,
	                 .go_wr = -1,
	                 .started_rd = -1,
	                 .started_wr = -1};
	int rc = omi_process_start(supervisor_main, &b, OM_DAEMON, true,
	                           &x->sup);
	close(fds[1]);
	if (rc < 0) {
		close(fds[0]);
		return omi_fail(c, rc, "cannot fork the pool's supervisor");
	}
	x->creator = getpid();
	struct ready_msg m;
	size_t got = 0;
	while (got < sizeof m) {
		ssize_t k = read(fds[0], (char *)&m + got, sizeof m - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fds[0]);
	if (got < sizeof m)
		return omi_fail(c, OM_EBROKEN,
		                "the pool's supervisor (pid %d) died before it "
		                "started the workers",
		                om_process_pid(x->sup));
	if (m.rc < 0) {
		m.msg[sizeof m.msg - 1] = '\0';
		return omi_fail(c, m.rc, "the pool's supervisor failed: %s",
		                m.msg);
	}
	return OM_OK;
}

int om_pool_open(om_client *c, const char *name, int flags, unsigned processes,
                 const om_pool_config *cfg, om_pool **out)
{
	if (!c || !out)
		return OM_EINVAL;
	if (name && !*name)
		return omi_fail(c, OM_EINVAL, "empty object name");
	if (omi_piping(c))
		return omi_fail(c, OM_EINVAL,
		                "opening an object cannot be called in a "
		                "pipeline");
	bool may_create = !name || (flags & OM_CREATE);
	om_item *params = NULL;
	size_t np = 0;
	if (may_create) {
		int rc = check_config(c, cfg);
		if (rc < 0)
			return rc;
		if (omi_in_daemon())
			return omi_fail(c, OM_EINVAL,
			                "a daemon process (a pool worker too) "
			                "cannot create a pool: it cannot start "
			                "processes");
		if (processes == 0) /* within OPEN's bound of 4096 */
			processes = cpu_count() < 4096 ? cpu_count() : 4096;
		np = 2 + cfg->ntasks;
		if (!(params = malloc(np * sizeof *params)))
			return omi_fail(c, OM_ENOMEM, "out of memory");
		params[0] = om_int(processes);
		params[1] = om_int(cfg->maxtasksperchild);
		for (size_t i = 0; i < cfg->ntasks; i++)
			params[2 + i] = om_str(cfg->tasks[i].name);
	}
	om_item ref;
	bool created = false;
	struct omi_args a = {.op = OBJMGR__OP__OPEN,
	                     .args = params,
	                     .nargs = np,
	                     .num = OM_TYPE_POOL,
	                     .num2 = flags,
	                     .name = name,
	                     .done = open_done,
	                     .out = &ref,
	                     .out2 = &created};
	int rc = omi_rpc(c, 0, &a);
	free(params);
	if (rc < 0)
		return rc;
	void *p = omi_handle_new(c, ref.ref.id, OM_TYPE_POOL, omi_fork_gen());
	struct omi_handle *h = p ? omi_handle_get(p) : NULL;
	if (!h || !ext_of(h)) {
		if (h)
			omi_handle_free(h);
		struct omi_args rel = {.op = OBJMGR__OP__RELEASE};
		omi_rpc(c, ref.ref.id, &rel);
		return omi_fail(c, OM_ENOMEM, "out of memory");
	}
	if (created) {
		struct pool_ext *x = h->ext;
		x->processes = processes;
		if ((rc = start(h, x, cfg, processes)) < 0) {
			char *msg = strdup(om_errmsg(c));
			/* A pool with no workers must not stay open for others
			 * to submit to: terminated (whether or not a supervisor
			 * ran), and its name, which this call made, removed. */
			omi_call_op(p, OMI_TYPE, OBJMGR__OP__POOL_TERMINATE,
			            NULL, 0, 0, 0, NULL, NULL);
			if (name)
				om_unlink(c, name);
			om_release(p); /* reaps the supervisor, if any */
			omi_fail(c, rc, "%s", msg ? msg : om_strerror(rc));
			free(msg);
			return rc;
		}
	}
	*out = p;
	return OM_OK;
}
