/*
 * pool.c — the POOL type: Python's multiprocessing.Pool as a server object.
 * libclient/pool.c is the other half (the submitters' calls, and the
 * supervisor and worker processes that this file only sees as sessions).
 *
 * State: one FIFO of tasks (`queue`); per session that plays a part in the
 * pool a `struct member` (in `members`, keyed by its connection): the
 * creator, the supervisor, a worker with its lease (the tasks it has
 * taken, in the order it took them), a submitter with its jobs. A job is
 * one submission (an AsyncResult): one slot per call for the results, the
 * first failure (APPLY, MAP, STARMAP), the imap cursor. Tasks point to
 * their job; a job lives while its submitter keeps it (until FORGET or the
 * session's end) and, detached, until its last task is finished, so a
 * running task always has a job to report to. Ids of tasks and jobs are
 * counters: a job is found only through the connection that owns it.
 *
 * Every member watches the pool (conn_watch), so pool_conn_gone() runs when
 * its session ends, however it ends: a worker's lease is settled (the task
 * it was running fails EBROKEN with the process's fate, the rest go back
 * to the front of the queue), a submitter's jobs and queued tasks go, and a
 * creator's or supervisor's end may break the pool. Nothing waits on a
 * timer or polls: the session's end is the event.
 *
 * Parked calls (waiter.h): TAKE on `takers`, WAIT on `waits`, GET and NEXT
 * on their job's `getters`. Every change ends with settle(), which serves
 * what can now be served: tasks to takers (never to a dead one,
 * wait_list_head_alive), ECLOSED once closed and drained, WAITs whose jobs
 * became ready or whose pool was joined.
 *
 * Memory: every kept item goes through store_item(); tasks, jobs, members,
 * error messages and arrays are charged with store_charge(), so a pool is
 * bounded by --max-memory like any container.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "list.h"
#include "log.h"
#include "obj.h"
#include "waiter.h"

/* Job kinds (POOL_SUBMIT num). */
enum kind { APPLY, MAP, STARMAP, IMAP, IMAP_UNORDERED, NKINDS };

/* Bytes of a Response beyond its items, and of one item beyond its bytes,
 * with room to spare (as queue.c's): a TAKE stops before its answer could
 * go over --max-frame, which would lose the tasks it leased. */
#define RESP_OVERHEAD 64
#define ITEM_OVERHEAD 32

/* OPEN's bounds (objmgr.proto): a pool forks this many workers at most;
 * a function's name is this long at most. */
#define POOL_MAX_PROCESSES 4096
#define POOL_MAX_NAME      255

/* The wire Status of a task's failure in POOL_DONE's num2. */
#define DONE_ETASK 21

/* A failure shared by every slot and job it failed: refcounted, charged. */
struct err {
	int code;
	size_t refs;     /* 0: static (never freed) */
	size_t size;     /* charged */
	const char *msg; /* just after the struct */
};

struct task {
	uint64_t id;
	struct job *job;
	size_t first, ncalls;     /* its calls in the job's slots */
	size_t fn;                /* index in pool->fns */
	size_t wire;              /* bytes it adds to a TAKE answer */
	struct member *worker;    /* leased to; NULL while queued */
	struct task *prev, *next; /* in the queue or in the worker's lease */
	size_t nitems;
	om_item items[]; /* per call: int nargs, the args; kept */
};

struct tlist {
	struct task *head, *tail;
	size_t n;
};

struct slot {
	om_item it;      /* the result, kept */
	struct err *err; /* IMAP: this call failed */
	bool done;       /* IMAP: finished */
};

struct job {
	uint64_t id;
	enum kind kind;
	struct member *owner; /* NULL: detached (forgotten, session gone) */
	size_t ncalls;
	size_t tasks_left;  /* not finished (queued or leased) */
	struct slot *slots; /* ncalls; NULL once detached */
	size_t *order;      /* IMAP_UNORDERED: finished calls, in order */
	size_t nfin;        /* of them */
	size_t taken;       /* IMAP: results taken */
	struct err *err;    /* APPLY, MAP, STARMAP: the first failure */
	om_item list;       /* map_async's LIST (a Ref, kept), or NIL */
	size_t charged;
	struct wait_list getters; /* parked GET and NEXT */
	struct job *prev, *next;  /* in owner's jobs */
};

struct member {
	struct conn *conn;
	bool creator, supervisor, worker;
	struct tlist lease; /* worker: in the order taken */
	struct job *jobs;   /* submitter */
	size_t njobs;
	pid_t pid;
	/* A Unix peer: pid is the kernel's. A TCP peer's pid is only what
	 * its Hello claims, on another machine perhaps: it is shown, never
	 * signalled, opened as a pidfd or looked up in /proc. So a pool made
	 * over TCP cannot kill its workers at terminate() or when it breaks:
	 * they learn it at their next TAKE (ECLOSED) and exit, and one busy
	 * in a task runs it to its end. */
	bool local;
	int pidfd; /* supervisor, worker: -1 if pidfds are unavailable */
};

struct pool {
	struct obj o;
	int64_t processes;
	om_item *fns; /* the function names, sorted (fn_cmp), kept */
	size_t nfns;
	struct tlist queue;
	struct u64map leased;  /* task id -> task, for DONE */
	struct u64map jobs;    /* job id -> job (detached ones too) */
	struct u64map members; /* (uintptr_t)conn -> member */
	size_t nworkers, nrunning;
	struct member *creator, *super;
	pid_t super_pid;
	uint64_t next_task, next_job;
	bool want_creator; /* created, its OPEN not answered yet */
	bool closed, terminated, broken;
	bool joined;       /* as settle() last saw it */
	bool dirty;        /* a job became ready, or went: recheck the WAITs */
	struct err *broke; /* why it broke (EBROKEN), or terminated */
	struct wait_list takers, waits;
};

/* A parked TAKE. */
struct taker {
	struct waiter w;
	size_t max;
};

/* A parked WAIT: its job ids (charged array). */
struct waiting {
	struct waiter w;
	uint64_t *ids; /* n, charged */
	size_t n;
	bool join; /* num = 1: the pool's being joined counts too */
};

/* A parked GET (a Ref with as_list) or NEXT. */
struct getter {
	struct waiter w;
	bool next, as_list;
};

static void settle(struct pool *p);

/* ---------------------------------------------------------------- errors */

static struct err oom_err = {OM_ENOMEM, 0, 0, "out of memory"};

/* A new failure (refs 1): code with its message. Out of memory, the
 * static oom_err: a failure is recorded whatever happens. */
static struct err *err_new(int code, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static struct err *err_new(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	int n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return &oom_err;
	size_t size = sizeof(struct err) + (size_t)n + 1;
	struct err *e = NULL;
	if (store_charge(NULL, size) == OM_OK && !(e = malloc(size)))
		store_refund(size);
	if (e) {
		e->code = code;
		e->refs = 1;
		e->size = size;
		e->msg = memcpy(e + 1, msg, (size_t)n + 1);
	}
	free(msg);
	return e ? e : &oom_err;
}

/* One more holder of e (a static one is never counted). */
static struct err *err_ref(struct err *e)
{
	if (e->refs)
		e->refs++;
	return e;
}

/* One holder less; the last frees it (NULL is fine). */
static void err_unref(struct err *e)
{
	if (!e || !e->refs || --e->refs)
		return;
	store_refund(e->size);
	free(e);
}

/* Answer c with failure e, its message whole (call_err() would cut a
 * long task message short). */
static int call_fail(struct call *c, const struct err *e)
{
	size_t n = strlen(e->msg) + 1;
	char *msg = call_alloc(c, n);
	if (msg) {
		memcpy(msg, e->msg, n);
		c->resp.message = msg;
	}
	return e->code;
}

/* ------------------------------------------------------------ task lists */

static void tl_push(struct tlist *l, struct task *t)
{
	t->next = NULL;
	t->prev = l->tail;
	if (l->tail)
		l->tail->next = t;
	else
		l->head = t;
	l->tail = t;
	l->n++;
}

/* A lost lease's tasks go back here, before the ones that waited. */
static void tl_push_front(struct tlist *l, struct task *t)
{
	t->prev = NULL;
	t->next = l->head;
	if (l->head)
		l->head->prev = t;
	else
		l->tail = t;
	l->head = t;
	l->n++;
}

/* From anywhere in l: DONE reports tasks in any order. */
static void tl_remove(struct tlist *l, struct task *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		l->head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		l->tail = t->prev;
	t->prev = t->next = NULL;
	l->n--;
}

/* The bytes of a task of nitems items, struct included (charged). */
static size_t task_size(size_t nitems)
{
	return sizeof(struct task) + nitems * sizeof(om_item);
}

/* Release a task that is on no list (its items, its memory). */
static void task_release(struct task *t)
{
	for (size_t i = 0; i < t->nitems; i++)
		store_clear(&t->items[i]);
	store_refund(task_size(t->nitems));
	free(t);
}

/* Take t off the worker that leased it (it stays alive). */
static void unlease(struct pool *p, struct task *t)
{
	tl_remove(&t->worker->lease, t);
	u64map_del(&p->leased, t->id);
	t->worker = NULL;
	p->nrunning--;
}

/* Take t off its list (queue or lease) and free it: one task less for
 * its job. The caller settles the job. */
static void task_free(struct pool *p, struct task *t)
{
	if (t->worker)
		unlease(p, t);
	else
		tl_remove(&p->queue, t);
	t->job->tasks_left--;
	task_release(t);
}

/* ------------------------------------------------------------------ jobs */

static bool is_imap(const struct job *j)
{
	return j->kind == IMAP || j->kind == IMAP_UNORDERED;
}

/* IMAP: the slot the next NEXT takes, or NULL if it must wait (or all
 * were taken). */
static struct slot *next_slot(const struct job *j)
{
	if (j->taken >= j->ncalls)
		return NULL;
	if (j->kind == IMAP_UNORDERED)
		return j->taken < j->nfin ? &j->slots[j->order[j->taken]]
		                          : NULL;
	return j->slots[j->taken].done ? &j->slots[j->taken] : NULL;
}

/* Whether a GET (a NEXT for IMAP) of j would answer at once: what WAIT
 * reports. */
static bool job_ready(const struct job *j)
{
	if (is_imap(j))
		return j->taken >= j->ncalls || next_slot(j);
	return j->err || j->tasks_left == 0;
}

/* The job `id` of c's connection, or NULL. */
static struct job *job_of(struct pool *p, struct conn *conn, uint64_t id)
{
	struct job *j = u64map_get(&p->jobs, id);
	return j && j->owner && j->owner->conn == conn ? j : NULL;
}

/* Drop every result j keeps (detached, or failed). */
static void job_drop_results(struct job *j)
{
	for (size_t i = 0; j->slots && i < j->ncalls; i++) {
		store_clear(&j->slots[i].it);
		err_unref(j->slots[i].err);
		j->slots[i].err = NULL;
	}
	store_clear(&j->list);
}

/* Free a detached job once none of its tasks is left. */
static void job_maybe_free(struct pool *p, struct job *j)
{
	if (j->owner || j->tasks_left)
		return;
	u64map_del(&p->jobs, j->id);
	err_unref(j->err);
	store_refund(j->charged);
	free(j);
}

static void member_maybe_drop(struct pool *p, struct member *m);

/* Take j from its submitter: its results go, its parked GETs and NEXTs
 * (the submitter's) are told ENOENT, its tasks run on (the caller drops
 * the queued ones if they must go). */
static void job_detach(struct pool *p, struct job *j)
{
	struct member *m = j->owner;
	while (j->getters.head)
		waiter_answer_msg(j->getters.head, OM_ENOENT,
		                  "the job was forgotten");
	if (j->prev)
		j->prev->next = j->next;
	else
		m->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	m->njobs--;
	j->owner = NULL;
	job_drop_results(j);
	free(j->slots);
	free(j->order);
	j->slots = NULL;
	j->order = NULL;
	p->dirty = true; /* a WAIT on it answers ENOENT */
	job_maybe_free(p, j);
}

/* Answer parked GET g of ready job j. */
static void answer_get(struct job *j, struct waiter *w);
/* Answer parked NEXT w with the next result (there is one, or none left). */
static void answer_next(struct job *j, struct waiter *w);

/* Serve j's parked GETs and NEXTs that can be answered now. */
static void job_serve(struct job *j)
{
	struct waiter *w;
	if (!is_imap(j)) {
		while (job_ready(j) && (w = j->getters.head))
			answer_get(j, w);
		return;
	}
	while (job_ready(j) && (w = wait_list_head_alive(&j->getters)))
		answer_next(j, w);
}

/* Task t of j failed with e: the job's error (APPLY, MAP, STARMAP: the
 * first one; later results are dropped) or its calls' (IMAP). */
static void job_fail(struct job *j, const struct task *t, struct err *e)
{
	if (!is_imap(j)) {
		if (!j->err) {
			j->err = err_ref(e);
			job_drop_results(j);
		}
		return;
	}
	for (size_t i = t->first; i < t->first + t->ncalls; i++) {
		j->slots[i].err = err_ref(e);
		j->slots[i].done = true;
		if (j->kind == IMAP_UNORDERED)
			j->order[j->nfin++] = i;
	}
}

/* Task t is over: failed with e, or (e NULL) its results are in its job's
 * slots already. Frees it and serves what its job can now answer. */
static void task_finish(struct pool *p, struct task *t, struct err *e)
{
	struct job *j = t->job;
	bool was = j->owner && job_ready(j);
	if (j->owner && e) {
		job_fail(j, t, e);
	} else if (j->owner && is_imap(j)) {
		for (size_t i = t->first; i < t->first + t->ncalls; i++) {
			j->slots[i].done = true;
			if (j->kind == IMAP_UNORDERED)
				j->order[j->nfin++] = i;
		}
	}
	task_free(p, t);
	if (!j->owner) {
		job_maybe_free(p, j);
		return;
	}
	if (job_ready(j)) {
		job_serve(j);
		if (!was)
			p->dirty = true;
	}
}

/* --------------------------------------------------------------- members */

static uint64_t conn_key(const struct conn *conn)
{
	return (uint64_t)(uintptr_t)conn;
}

/* Pidfds the pools hold, over all pools: at most --max-connections (a
 * session could be a worker of any number of pools; past the bound a
 * member goes without, as where pidfds are unavailable), so they cannot
 * take the descriptors connections and segments need. */
static unsigned npidfds;

/* c's member of p, made (and watching p) if it is not one yet. */
static int member_get(struct pool *p, struct call *c, struct member **out)
{
	struct member *m = u64map_get(&p->members, conn_key(c->conn));
	if (m) {
		*out = m;
		return OM_OK;
	}
	int rc = store_charge(c, sizeof *m);
	if (rc)
		return rc;
	if (!(m = calloc(1, sizeof *m)))
		goto out_refund;
	m->conn = c->conn;
	m->pid = c->conn->pid;
	m->local = c->conn->local;
	m->pidfd = -1;
	if (u64map_put(&p->members, conn_key(c->conn), m))
		goto out_free;
	if (conn_watch(c->conn, &p->o)) {
		u64map_del(&p->members, conn_key(c->conn));
		goto out_free;
	}
	*out = m;
	return OM_OK;

out_free:
	free(m);
out_refund:
	store_refund(sizeof *m);
	return call_err(c, OM_ENOMEM, "out of memory");
}

/* Forget member m (its session ended, gone == true: the watch is the
 * session's to drop; or it has nothing left in the pool). */
static void member_free(struct pool *p, struct member *m, bool gone)
{
	if (p->creator == m)
		p->creator = NULL;
	if (m->pidfd >= 0) {
		close(m->pidfd);
		npidfds--;
	}
	u64map_del(&p->members, conn_key(m->conn));
	if (!gone)
		conn_unwatch(m->conn, &p->o);
	store_refund(sizeof *m);
	free(m);
}

/* Whether the creator's session still matters: its end breaks the pool
 * unless the pool is over (terminated, broken, or closed and joined). */
static bool creator_matters(const struct pool *p)
{
	return !p->terminated && !p->broken && !(p->closed && p->joined);
}

/* Let go of a member with nothing left in the pool, so that a session
 * that submitted and forgot does not keep the pool alive. */
static void member_maybe_drop(struct pool *p, struct member *m)
{
	if (m->worker || m->supervisor || m->njobs ||
	    (m->creator && creator_matters(p)))
		return;
	member_free(p, m, false);
}

/* The supervisor or a worker registers: the process to kill later. */
#ifdef SO_PEERPIDFD
#define OMI_SO_PEERPIDFD SO_PEERPIDFD
#else
#define OMI_SO_PEERPIDFD 77 /* <asm-generic/socket.h>, Linux 6.5 */
#endif

static void member_take_pid(struct member *m)
{
	if (!m->local || m->pidfd >= 0 || m->pid <= 0 ||
	    npidfds >= omi_srv.limits.max_conns)
		return;
	/* The peer's own pidfd, taken by the kernel at connect(): exact even
	 * if the process that connected is gone and its pid reused since
	 * (Linux 6.5; older kernels: ENOPROTOOPT, and pidfd_open on the
	 * SO_PEERCRED pid, exact as long as the process lives). */
	socklen_t len = sizeof m->pidfd;
	if (m->conn->local &&
	    getsockopt(m->conn->fd, SOL_SOCKET, OMI_SO_PEERPIDFD, &m->pidfd,
	               &len) == 0 &&
	    m->pidfd >= 0) {
		npidfds++;
		return;
	}
	m->pidfd = -1;
#ifdef SYS_pidfd_open
	m->pidfd = (int)syscall(SYS_pidfd_open, m->pid, 0);
	if (m->pidfd >= 0) {
		fcntl(m->pidfd, F_SETFD, FD_CLOEXEC);
		npidfds++;
	}
#endif
}

/* SIGKILL the process behind m, through its pidfd (which cannot hit a
 * reused pid), or kill() if pidfds are unavailable. Never ourselves (a
 * peer in our own process: the fuzz target's). */
static void member_kill(struct member *m)
{
	if (!m->local || m->pid <= 1 || m->pid == getpid())
		return;
#ifdef SYS_pidfd_send_signal
	if (m->pidfd >= 0) {
		if (syscall(SYS_pidfd_send_signal, m->pidfd, SIGKILL, NULL,
		            0) == 0 ||
		    errno != ENOSYS)
			return;
	}
#endif
	kill(m->pid, SIGKILL);
}

/* PIDFD_GET_INFO (linux/pidfd.h, Linux 6.15): the first 64 bytes of
 * struct pidfd_info, which the kernel extends compatibly. */
struct pidfd_info_v0 {
	uint64_t mask, cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid,
	        fsgid;
	int32_t exit_code;
};
#define PIDFD_INFO_EXIT_ (1UL << 3)
#define PIDFD_GET_INFO_  _IOWR(0xFF, 11, struct pidfd_info_v0)

/* The exit status (waitpid's format) of an exited process, through its
 * pidfd: known even once its parent reaped it. */
static bool pidfd_status(int pidfd, int *status)
{
	struct pidfd_info_v0 info = {.mask = PIDFD_INFO_EXIT_};
	if (pidfd < 0 || ioctl(pidfd, PIDFD_GET_INFO_, &info) < 0 ||
	    !(info.mask & PIDFD_INFO_EXIT_))
		return false;
	*status = info.exit_code;
	return true;
}

/* The exit status from /proc/PID/stat's field 52 (exit_code, waitpid's
 * format, set before the process's files are closed): readable while it
 * is exiting or a zombie. A 0 is an exit status only from a zombie
 * (field 3 'Z'): a live process reads 0 too. */
static bool proc_status(pid_t pid, int *status)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	char *s = strrchr(buf, ')'); /* the name may hold anything */
	if (!s)
		return false;
	/* s + 1 is the space before field 3; each step one field on. */
	s++;
	char state = s[0] == ' ' ? s[1] : '\0';
	for (int field = 3; field < 52 && s; field++)
		s = strchr(s + 1, ' ');
	if (!s)
		return false;
	long v = strtol(s + 1, NULL, 10);
	if (v == 0 && state != 'Z')
		return false;
	*status = (int)v;
	return true;
}

/* How m's process ended, for a message: "was killed by signal 9
 * (SIGKILL)", "exited with status 3", or "'s session ended". */
static void describe_end(const struct member *m, char *buf, size_t cap)
{
	int st = 0;
	bool known = m->local &&
	             (pidfd_status(m->pidfd, &st) || proc_status(m->pid, &st) ||
	              pidfd_status(m->pidfd, &st)); /* reaped
	                                             * meanwhile */
	if (known && WIFSIGNALED(st)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(st));
		snprintf(buf, cap, " %d was killed by signal %d (SIG%s)",
		         (int)m->pid, WTERMSIG(st), abbrev ? abbrev : "?");
	} else if (known && WIFEXITED(st)) {
		snprintf(buf, cap, " %d exited with status %d", (int)m->pid,
		         WEXITSTATUS(st));
	} else {
		snprintf(buf, cap, " %d's session ended", (int)m->pid);
	}
}

/* A worker's session ended: the first task it had not reported (the one
 * it was running) fails EBROKEN, the others go back to the front of the
 * queue, in order. */
static void lease_lost(struct pool *p, struct member *m)
{
	struct task *t = m->lease.head;
	if (!t)
		return;
	while (m->lease.tail != t) {
		struct task *x = m->lease.tail;
		unlease(p, x);
		tl_push_front(&p->queue, x);
	}
	char how[128];
	describe_end(m, how, sizeof how);
	const om_item *fn = &p->fns[t->fn];
	struct err *e =
	        err_new(OM_EBROKEN, "worker%s while running task '%.*s'", how,
	                (int)fn->s.len, fn->s.ptr);
	task_finish(p, t, e);
	err_unref(e);
}

/* ------------------------------------------------------------- the pool */

static bool pool_joined(const struct pool *p)
{
	return p->closed && p->nworkers == 0 && !p->super;
}

/* Why submissions and TAKEs are refused now. */
static const char *closed_msg(const struct pool *p)
{
	if (p->broken)
		return p->broke->msg;
	return p->terminated ? "the pool was terminated" : "the pool is closed";
}

/* Fail every queued and leased task with e. */
static void fail_all(struct pool *p, struct err *e)
{
	while (p->queue.head)
		task_finish(p, p->queue.head, e);
	for (size_t i = 0; p->leased.v && i <= p->leased.mask;) {
		if (p->leased.v[i].key)
			task_finish(p, p->leased.v[i].val, e); /* shifts */
		else
			i++;
	}
}

/* Terminate (ECLOSED) or break (EBROKEN) the pool: every task not
 * finished fails with that, the supervisor and the workers are killed,
 * parked TAKEs are told ECLOSED, later submissions too. */
static void pool_end(struct pool *p, struct err *why)
{
	p->closed = true;
	if (why->code == OM_EBROKEN)
		p->broken = true;
	else
		p->terminated = true;
	p->broke = err_ref(why);
	fail_all(p, why);
	for (size_t i = 0; p->members.v && i <= p->members.mask; i++) {
		struct member *m = p->members.v[i].val;
		if (p->members.v[i].key && (m->worker || m->supervisor))
			member_kill(m);
	}
	log_info("pool %llu: %s", (unsigned long long)p->o.id, why->msg);
}

/* Break the pool: `fmt` says why ("the pool broke: " before it). */
static void pool_break(struct pool *p, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void pool_break(struct pool *p, const char *fmt, ...)
{
	if (p->terminated || p->broken)
		return;
	char why[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	struct err *e = err_new(OM_EBROKEN, "the pool broke: %s", why);
	pool_end(p, e);
	err_unref(e);
}

/* Lease up to `max` tasks (the queue is not empty) to worker m as c's
 * results: a share of what waits, within --max-frame. Room for the answer
 * is made first, so leased tasks always reach the worker. */
static int lease(struct pool *p, struct member *m, struct call *c, size_t max)
{
	size_t share = (p->queue.n + p->nworkers - 1) / p->nworkers;
	size_t k = 0, bytes = RESP_OVERHEAD;
	const char *msg = c->resp.message;
	if (share > max)
		share = max;
	struct job *first = p->queue.head->job;
	for (struct task *t = p->queue.head; t && k < share; t = t->next) {
		if (k > 0 && bytes + t->wire > omi_srv.limits.max_frame)
			break;
		/* Tasks taken together run one after the other in one worker,
		 * where no idle worker can take them: only chunks of one map
		 * go together (as one bigger chunk would), never separate
		 * submissions, one of which may wait for another. */
		if (k > 0 && (t->job != first || first->kind == APPLY))
			break;
		bytes += t->wire;
		k++;
	}
	if (conn_reserve(c->conn, bytes))
		return call_err(c, OM_ENOMEM, "out of memory for the answer");
	size_t done = 0;
	for (; done < k; done++) {
		struct task *t = p->queue.head;
		om_item head[3] = {
		        {.kind = OM_INT, .i = (int64_t)t->id},
		        p->fns[t->fn],
		        {.kind = OM_INT, .i = (int64_t)t->ncalls},
		};
		size_t n0 = c->resp.n_results;
		if (u64map_put(&p->leased, t->id, t))
			break;
		if (call_results(c, head, 3) ||
		    call_results(c, t->items, t->nitems)) {
			u64map_del(&p->leased, t->id);
			c->resp.n_results = n0;
			break;
		}
		tl_remove(&p->queue, t);
		t->worker = m;
		tl_push(&m->lease, t);
		p->nrunning++;
	}
	if (done == 0)
		return call_err(c, OM_ENOMEM, "out of memory leasing tasks");
	c->resp.message = (char *)msg;
	return OM_OK;
}

/* Hand tasks to parked TAKE w (the queue is not empty; w is alive). */
static void serve_taker(struct pool *p, struct waiter *w)
{
	struct member *m = u64map_get(&p->members, conn_key(w->conn));
	struct call c;
	waiter_call(w, &c);
	int rc = lease(p, m, &c, container_of(w, struct taker, w)->max);
	waiter_finish(w, &c, rc);
}

/* The ids of parked WAIT w's jobs that are ready, as c's results; ENOENT
 * if one is gone (forgotten meanwhile). */
static int wait_results(struct pool *p, struct call *c, const uint64_t *ids,
                        size_t n, size_t *nready)
{
	*nready = 0;
	for (size_t i = 0; i < n; i++) {
		struct job *j = job_of(p, c->conn, ids[i]);
		if (!j)
			return call_err(c, OM_ENOENT, "no job %llu",
			                (unsigned long long)ids[i]);
		if (!job_ready(j))
			continue;
		om_item id = {.kind = OM_INT, .i = (int64_t)ids[i]};
		int rc = call_result(c, &id);
		if (rc)
			return rc;
		++*nready;
	}
	call_num(c, pool_joined(p));
	return OM_OK;
}

/* Whether a WAIT on ids (and, with join, on the pool's being joined)
 * answers now: a job ready, the pool joined, or a job gone (ENOENT). */
static bool wait_due(struct pool *p, struct conn *conn, const uint64_t *ids,
                     size_t n, bool join)
{
	if (join && pool_joined(p))
		return true;
	for (size_t i = 0; i < n; i++) {
		struct job *j = job_of(p, conn, ids[i]);
		if (!j || job_ready(j))
			return true;
	}
	return false;
}

/* Answer parked WAIT w if it is due. */
static void check_wait(struct pool *p, struct waiter *w)
{
	struct waiting *wt = container_of(w, struct waiting, w);
	if (!wait_due(p, w->conn, wt->ids, wt->n, wt->join))
		return;
	struct call c;
	size_t nready;
	waiter_call(w, &c);
	int rc = wait_results(p, &c, wt->ids, wt->n, &nready);
	waiter_finish(w, &c, rc);
}

/* Serve what the last change made possible (see the top). */
static void settle(struct pool *p)
{
	struct waiter *w;
	while (p->queue.n && (w = wait_list_head_alive(&p->takers)))
		serve_taker(p, w);
	/* Closed: workers leave once nothing is queued or running, since
	 * a running task's worker may die and its lease come back. */
	if (p->closed && !p->queue.n && !p->nrunning)
		while (p->takers.head)
			waiter_answer_msg(p->takers.head, OM_ECLOSED,
			                  closed_msg(p));
	bool joined = pool_joined(p);
	if (joined != p->joined) {
		p->joined = joined;
		p->dirty = true;
	}
	if (p->dirty) {
		p->dirty = false;
		for (struct waiter *x = p->waits.head, *next; x; x = next) {
			next = x->next;
			check_wait(p, x);
		}
	}
	if (p->creator)
		member_maybe_drop(p, p->creator);
}

/* ------------------------------------------------------------- answers */

/* Make map_async's LIST of j's results once (the job keeps a Ref to it).
 * The results' own Refs are handed to c's session with it: it reads them
 * through the list anyway. */
static int make_list(struct job *j, struct call *c)
{
	om_item *items = call_alloc(c, j->ncalls * sizeof *items);
	if (!items)
		return call_err(c, OM_ENOMEM, "out of memory");
	for (size_t i = 0; i < j->ncalls; i++) {
		items[i] = j->slots[i].it;
		if (items[i].kind == OM_REF)
			conn_saw(c->conn, items[i].ref.id);
	}
	struct obj *l;
	int rc = list_make(c, items, j->ncalls, &l);
	if (rc)
		return rc;
	om_item ref = {.kind = OM_REF};
	ref.ref.id = l->id;
	ref.ref.type = OM_TYPE_LIST;
	conn_saw(c->conn, l->id);
	rc = store_item(c, &j->list, &ref);
	obj_decref(l); /* the job's Ref holds it now, or it goes */
	return rc;
}

/* The answer to a GET of ready job j: its error, or its results. */
static int get_results(struct job *j, struct call *c, bool as_list)
{
	if (j->err)
		return call_fail(c, j->err);
	if (j->kind == APPLY)
		return call_result(c, &j->slots[0].it);
	if (as_list) {
		int rc = j->list.kind == OM_NIL ? make_list(j, c) : OM_OK;
		return rc ? rc : call_result(c, &j->list);
	}
	om_item *items = call_alloc(c, j->ncalls * sizeof *items);
	if (!items)
		return call_err(c, OM_ENOMEM, "out of memory");
	for (size_t i = 0; i < j->ncalls; i++)
		items[i] = j->slots[i].it;
	return call_results(c, items, j->ncalls);
}

/* The answer to a NEXT of imap job j, which is ready: the next result
 * (taken), its error, or ECLOSED once all were taken. */
static int take_next(struct job *j, struct call *c)
{
	struct slot *s = next_slot(j);
	if (!s)
		return call_err(c, OM_ECLOSED, "every result was taken");
	if (s->err) {
		int rc = call_fail(c, s->err);
		err_unref(s->err);
		s->err = NULL;
		j->taken++;
		return rc;
	}
	int rc = call_result_take(c, &s->it);
	if (rc == OM_OK)
		j->taken++;
	return rc;
}

static void answer_get(struct job *j, struct waiter *w)
{
	struct call c;
	waiter_call(w, &c);
	int rc = get_results(j, &c, container_of(w, struct getter, w)->as_list);
	waiter_finish(w, &c, rc);
}

static void answer_next(struct job *j, struct waiter *w)
{
	struct call c;
	waiter_call(w, &c);
	int rc = take_next(j, &c);
	waiter_finish(w, &c, rc);
}

/* Deadlines: a status and a message, nothing else changes. */
static void taker_timeout(struct obj *o, struct waiter *w)
{
	(void)o;
	waiter_answer_msg(w, OM_ETIMEOUT, "no task was queued by the deadline");
}

static void getter_timeout(struct obj *o, struct waiter *w)
{
	(void)o;
	waiter_answer_msg(w, OM_ETIMEOUT,
	                  container_of(w, struct getter, w)->next
	                          ? "no result was ready by the deadline"
	                          : "the job was not ready by the deadline");
}

static void waiting_timeout(struct obj *o, struct waiter *w)
{
	(void)o;
	waiter_answer_msg(w, OM_ETIMEOUT, "no job was ready by the deadline");
}

/* A parked WAIT's ids go with it, answered or not. */
static void waiting_free(struct waiter *w)
{
	struct waiting *wt = container_of(w, struct waiting, w);
	store_refund(wt->n * sizeof *wt->ids);
	free(wt->ids);
}

/* ------------------------------------------------------------ submitting */

/* Order of function names: by length, then bytes (bsearch's too). */
static int fn_cmp(const void *a, const void *b)
{
	const om_item *x = a, *y = b;
	if (x->s.len != y->s.len)
		return x->s.len < y->s.len ? -1 : 1;
	return x->s.len ? memcmp(x->s.ptr, y->s.ptr, x->s.len) : 0;
}

/* STARMAP's payload is [int nargs, that many args] per call: its count of
 * calls, or EINVAL. */
static int starmap_calls(struct call *c, const om_item *pay, size_t n,
                         size_t *ncalls)
{
	size_t k = 0;
	for (size_t i = 0; i < n; k++) {
		if (pay[i].kind != OM_INT || pay[i].i < 0 ||
		    (uint64_t)pay[i].i > n - i - 1)
			return call_err(
			        c, OM_EINVAL,
			        "malformed STARMAP payload: argument %zu "
			        "must count call %zu's arguments (an int "
			        "from 0 to %zu)",
			        i + 1, k, n - i - 1);
		i += 1 + (size_t)pay[i].i;
	}
	*ncalls = k;
	return OM_OK;
}

/* A new job of c's connection with room for ncalls results (not linked
 * anywhere yet). */
static int job_new(struct pool *p, struct call *c, enum kind kind,
                   size_t ncalls, struct job **out)
{
	size_t charged = sizeof(struct job) + ncalls * sizeof(struct slot);
	if (kind == IMAP_UNORDERED)
		charged += ncalls * sizeof(size_t);
	int rc = store_charge(c, charged);
	if (rc)
		return rc;
	struct job *j = calloc(1, sizeof *j);
	if (j)
		j->slots = calloc(ncalls ? ncalls : 1, sizeof *j->slots);
	if (j && kind == IMAP_UNORDERED)
		j->order = calloc(ncalls ? ncalls : 1, sizeof *j->order);
	if (!j || !j->slots || (kind == IMAP_UNORDERED && !j->order)) {
		if (j) {
			free(j->slots);
			free(j->order);
		}
		free(j);
		store_refund(charged);
		return call_err(c, OM_ENOMEM, "out of memory for a job");
	}
	j->id = ++p->next_job;
	j->kind = kind;
	j->ncalls = ncalls;
	j->charged = charged;
	*out = j;
	return OM_OK;
}

/* Free a job that was never linked (a submission that failed). */
static void job_discard(struct job *j)
{
	free(j->slots);
	free(j->order);
	store_refund(j->charged);
	free(j);
}

/* Keep src as t's item i; the task's wire size grows by it. */
static int task_keep(struct call *c, struct task *t, size_t i,
                     const om_item *src)
{
	int rc = store_item(c, &t->items[i], src);
	t->wire += omi_item_extra(src) + ITEM_OVERHEAD;
	return rc;
}

/* Task of job j for calls [first, first + ncalls) of fn, whose items are
 * made from the payload (see POOL_SUBMIT): APPLY's one call, MAP's one arg
 * per call, STARMAP's [nargs, args] per call from *pos on. */
static int task_new(struct pool *p, struct call *c, struct job *j, size_t fn,
                    size_t first, size_t ncalls, const om_item *pay,
                    size_t npay, size_t *pos, struct task **out)
{
	size_t nitems;
	if (j->kind == APPLY) {
		nitems = 1 + npay;
	} else if (j->kind == STARMAP) {
		size_t end = *pos;
		for (size_t k = 0; k < ncalls; k++)
			end += 1 + (size_t)pay[end].i;
		nitems = end - *pos;
	} else {
		nitems = 2 * ncalls;
	}
	int rc = store_charge(c, task_size(nitems));
	if (rc)
		return rc;
	struct task *t = calloc(1, task_size(nitems)); /* items OM_NIL */
	if (!t) {
		store_refund(task_size(nitems));
		return call_err(c, OM_ENOMEM, "out of memory for a task");
	}
	t->id = ++p->next_task;
	t->job = j;
	t->first = first;
	t->ncalls = ncalls;
	t->fn = fn;
	t->nitems = nitems;
	t->wire = p->fns[fn].s.len + 3 * ITEM_OVERHEAD; /* id, fn, ncalls */
	om_item one = {.kind = OM_INT, .i = 1};
	om_item nargs = {.kind = OM_INT, .i = (int64_t)npay};
	for (size_t i = 0; rc == OM_OK && i < nitems; i++) {
		const om_item *src = j->kind == APPLY
		                             ? (i ? &pay[i - 1] : &nargs)
		                     : j->kind == STARMAP ? &pay[*pos + i]
		                     : i % 2              ? &pay[first + i / 2]
		                                          : &one;
		rc = task_keep(c, t, i, src);
	}
	if (rc == OM_OK && RESP_OVERHEAD + t->wire > omi_srv.limits.max_frame)
		rc = call_err(c, OM_ETOOBIG,
		              "a task of %zu bytes could not be sent to a "
		              "worker within the frame limit of %zu bytes: "
		              "use a smaller chunksize",
		              t->wire, omi_srv.limits.max_frame);
	if (rc) {
		task_release(t);
		return rc;
	}
	if (j->kind == STARMAP)
		*pos += nitems;
	*out = t;
	return OM_OK;
}

/* POOL_SUBMIT num = kind, num2 = chunksize, args [str fn, payload...]
 * -> num = job id | EINVAL, ECLOSED, ETOOBIG */
static int pool_submit(struct obj *o, struct call *c)
{
	struct pool *p = (struct pool *)o;
	int64_t kind = c->req->num, chunk = c->req->num2;
	if (kind < 0 || kind >= NKINDS)
		return call_err(c, OM_EINVAL, "unknown job kind %lld",
		                (long long)kind);
	if (p->closed)
		return call_err(c, OM_ECLOSED, "%s", closed_msg(p));
	if (c->nargs == 0 || c->args[0].kind != OM_STR)
		return call_err(c, OM_EINVAL,
		                "a submission's first argument is the "
		                "function's name (a str)");
	const om_item *name =
	        bsearch(&c->args[0], p->fns, p->nfns, sizeof *p->fns, fn_cmp);
	if (!name)
		return call_err(c, OM_EINVAL, "no function '%.*s' in this pool",
		                (int)c->args[0].s.len, c->args[0].s.ptr);
	if (kind != APPLY && chunk < 1)
		return call_err(c, OM_EINVAL,
		                "chunksize %lld: it must be at least 1",
		                (long long)chunk);
	const om_item *pay = c->args + 1;
	size_t npay = c->nargs - 1, ncalls = npay, pos = 0;
	int rc = OM_OK;
	if (kind == APPLY)
		ncalls = 1;
	else if (kind == STARMAP && (rc = starmap_calls(c, pay, npay, &ncalls)))
		return rc;
	size_t per = kind == APPLY || (uint64_t)chunk > ncalls ? ncalls
	                                                       : (size_t)chunk;

	struct member *m;
	struct job *j = NULL;
	struct tlist tasks = {0};
	if ((rc = member_get(p, c, &m)))
		return rc;
	if ((rc = job_new(p, c, (enum kind)kind, ncalls, &j)))
		goto out_drop;
	for (size_t first = 0; first < ncalls; first += per) {
		struct task *t = NULL;
		size_t n = ncalls - first < per ? ncalls - first : per;
		rc = task_new(p, c, j, (size_t)(name - p->fns), first, n, pay,
		              npay, &pos, &t);
		if (rc)
			goto out_tasks;
		tl_push(&tasks, t);
	}
	if (u64map_put(&p->jobs, j->id, j)) {
		rc = call_err(c, OM_ENOMEM, "out of memory");
		goto out_tasks;
	}
	j->owner = m;
	j->next = m->jobs;
	if (m->jobs)
		m->jobs->prev = j;
	m->jobs = j;
	m->njobs++;
	j->tasks_left = tasks.n;
	while (tasks.head) {
		struct task *t = tasks.head;
		tl_remove(&tasks, t);
		tl_push(&p->queue, t);
	}
	call_num(c, (int64_t)j->id);
	settle(p);
	return OM_OK;

out_tasks:
	while (tasks.head) {
		struct task *t = tasks.head;
		tl_remove(&tasks, t);
		task_release(t);
	}
	job_discard(j);
out_drop:
	member_maybe_drop(p, m);
	return rc;
}

/* ------------------------------------------------------ submitters' ops */

/* POOL_GET num = job id, num2 = 1 for a Ref to a LIST, timeout
 * -> [result] or [results...] or [Ref] | ETIMEOUT, the job's error */
static int pool_get(struct obj *o, struct call *c)
{
	struct pool *p = (struct pool *)o;
	struct job *j = job_of(p, c->conn, (uint64_t)c->req->num);
	if (!j)
		return call_err(c, OM_ENOENT, "no job %lld on this connection",
		                (long long)c->req->num);
	if (is_imap(j))
		return call_err(c, OM_EINVAL,
		                "an imap job's results are taken with "
		                "POOL_NEXT");
	if (c->req->num2 != 0 && c->req->num2 != 1)
		return call_err(c, OM_EINVAL, "POOL_GET num2 must be 0 or 1");
	bool as_list = c->req->num2 == 1;
	if (as_list && j->kind == APPLY)
		return call_err(c, OM_EINVAL,
		                "a list of results is for map and starmap "
		                "jobs, not apply");
	if (job_ready(j))
		return get_results(j, c, as_list);
	if (c->req->timeout == 0)
		return call_err(c, OM_ETIMEOUT, "the job is not ready");
	struct waiter *w;
	int rc = waiter_park(c, o, &j->getters, c->req->timeout, getter_timeout,
	                     sizeof(struct getter), &w);
	if (rc == CALL_PARKED)
		container_of(w, struct getter, w)->as_list = as_list;
	return rc;
}

/* POOL_NEXT num = job id, timeout -> [result] | ETIMEOUT, ECLOSED, the
 * result's error */
static int pool_next(struct obj *o, struct call *c)
{
	struct pool *p = (struct pool *)o;
	struct job *j = job_of(p, c->conn, (uint64_t)c->req->num);
	if (!j)
		return call_err(c, OM_ENOENT, "no job %lld on this connection",
		                (long long)c->req->num);
	if (!is_imap(j))
		return call_err(c, OM_EINVAL,
		                "POOL_NEXT is for imap jobs: use POOL_GET");
	if (job_ready(j) && !j->getters.head)
		return take_next(j, c);
	if (c->req->timeout == 0)
		return call_err(c, OM_ETIMEOUT, "no result is ready");
	struct waiter *w;
	int rc = waiter_park(c, o, &j->getters, c->req->timeout, getter_timeout,
	                     sizeof(struct getter), &w);
	if (rc == CALL_PARKED)
		container_of(w, struct getter, w)->next = true;
	return rc;
}

/* POOL_WAIT args [int job ids...], num = 1 to wait for the join too,
 * timeout -> [ids of the ready jobs], num = joined | ETIMEOUT */
static int pool_wait(struct obj *o, struct call *c)
{
	struct pool *p = (struct pool *)o;
	int64_t join = c->req->num;
	if (join != 0 && join != 1)
		return call_err(c, OM_EINVAL, "POOL_WAIT num must be 0 or 1");
	if (join && !p->closed)
		return call_err(c, OM_EINVAL,
		                "the pool is still open: close or terminate "
		                "it before joining");
	if (!join && c->nargs == 0)
		return call_err(c, OM_EINVAL, "POOL_WAIT for nothing");
	size_t n = c->nargs;
	uint64_t *ids = call_alloc(c, n * sizeof *ids);
	if (!ids)
		return call_err(c, OM_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (c->args[i].kind != OM_INT)
			return call_err(c, OM_EINVAL,
			                "argument %zu is not a job id (an int)",
			                i);
		ids[i] = (uint64_t)c->args[i].i;
		if (!job_of(p, c->conn, ids[i]))
			return call_err(c, OM_ENOENT,
			                "no job %lld on this connection",
			                (long long)c->args[i].i);
	}
	size_t nready;
	if (wait_due(p, c->conn, ids, n, join))
		return wait_results(p, c, ids, n, &nready);
	if (c->req->timeout == 0)
		return call_err(c, OM_ETIMEOUT, "no job is ready");
	int rc = store_charge(c, n * sizeof *ids);
	if (rc)
		return rc;
	uint64_t *kept = malloc(n ? n * sizeof *ids : 1);
	if (!kept) {
		store_refund(n * sizeof *ids);
		return call_err(c, OM_ENOMEM, "out of memory");
	}
	memcpy(kept, ids, n * sizeof *ids);
	struct waiter *w;
	rc = waiter_park(c, o, &p->waits, c->req->timeout, waiting_timeout,
	                 sizeof(struct waiting), &w);
	if (rc != CALL_PARKED) {
		free(kept);
		store_refund(n * sizeof *ids);
		return rc;
	}
	struct waiting *wt = container_of(w, struct waiting, w);
	wt->ids = kept;
	wt->n = n;
	wt->join = join;
	w->on_free = waiting_free;
	return rc;
}

/* POOL_FORGET num = job id | ENOENT: its tasks run on, their results go */
static int pool_forget(struct obj *o, struct call *c)
{
	struct pool *p = (struct pool *)o;
	struct job *j = job_of(p, c->conn, (uint64_t)c->req->num);
	if (!j)
		return call_err(c, OM_ENOENT, "no job %lld on this connection",
		                (long long)c->req->num);
	struct member *m = j->owner;
	job_detach(p, j);
	member_maybe_drop(p, m);
	settle(p);
	return OM_OK;
}

/* POOL_CLOSE: no more submissions; TAKEs get ECLOSED once nothing is
 * queued or running */
static int pool_close(struct obj *o, struct call *c)
{
	(void)c;
	struct pool *p = (struct pool *)o;
	p->closed = true;
	settle(p);
	return OM_OK;
}

/* POOL_TERMINATE: unfinished tasks fail ECLOSED, processes are killed */
static int pool_terminate(struct obj *o, struct call *c)
{
	(void)c;
	struct pool *p = (struct pool *)o;
	if (!p->terminated && !p->broken) {
		struct err *e = err_new(OM_ECLOSED, "the pool was terminated");
		pool_end(p, e);
		err_unref(e);
	}
	settle(p);
	return OM_OK;
}

/* POOL_INFO -> [processes, workers, queued, running, closed, supervisor] */
static int pool_info(struct obj *o, struct call *c)
{
	struct pool *p = (struct pool *)o;
	om_item v[] = {
	        {.kind = OM_INT, .i = p->processes},
	        {.kind = OM_INT, .i = (int64_t)p->nworkers},
	        {.kind = OM_INT, .i = (int64_t)p->queue.n},
	        {.kind = OM_INT, .i = (int64_t)p->nrunning},
	        {.kind = OM_INT, .i = p->closed},
	        {.kind = OM_INT, .i = p->super ? p->super_pid : 0},
	};
	return call_results(c, v, ARRAY_LEN(v));
}

/* ---------------------------------------------------------- workers' ops */

/* POOL_SUPERVISE | EEXIST, ECLOSED */
static int pool_supervise(struct obj *o, struct call *c)
{
	struct pool *p = (struct pool *)o;
	if (p->terminated || p->broken)
		return call_err(c, OM_ECLOSED, "%s", closed_msg(p));
	if (p->super)
		return call_err(c, OM_EEXIST,
		                "the pool has a supervisor (pid %d)",
		                (int)p->super_pid);
	struct member *m;
	int rc = member_get(p, c, &m);
	if (rc)
		return rc;
	m->supervisor = true;
	member_take_pid(m);
	p->super = m;
	p->super_pid = m->pid;
	settle(p);
	return OM_OK;
}

/* POOL_TAKE num2 = max, timeout -> [tasks...] | ECLOSED, ETIMEOUT */
static int pool_take(struct obj *o, struct call *c)
{
	struct pool *p = (struct pool *)o;
	if (c->req->num2 < 1)
		return call_err(c, OM_EINVAL,
		                "a take of %lld tasks: at least 1",
		                (long long)c->req->num2);
	if (p->terminated || p->broken)
		return call_err(c, OM_ECLOSED, "%s", closed_msg(p));
	struct member *m;
	int rc = member_get(p, c, &m);
	if (rc)
		return rc;
	if (!m->worker) {
		m->worker = true;
		p->nworkers++;
		member_take_pid(m);
		settle(p); /* a worker more: the pool is not joined */
	}
	size_t max = (uint64_t)c->req->num2 < SIZE_MAX ? (size_t)c->req->num2
	                                               : SIZE_MAX;
	if (p->queue.n)
		return lease(p, m, c, max);
	if (p->closed && !p->nrunning)
		return call_err(c, OM_ECLOSED, "%s", closed_msg(p));
	if (c->req->timeout == 0)
		return call_err(c, OM_ETIMEOUT, "no task is queued");
	struct waiter *w;
	rc = waiter_park(c, o, &p->takers, c->req->timeout, taker_timeout,
	                 sizeof(struct taker), &w);
	if (rc == CALL_PARKED)
		container_of(w, struct taker, w)->max = max;
	return rc;
}

/* Keep the results of task t (one per call, in c's args) in its job. */
static int store_results(struct call *c, struct task *t)
{
	struct slot *s = &t->job->slots[t->first];
	for (size_t i = 0; i < t->ncalls; i++) {
		int rc = store_item(c, &s[i].it, &c->args[i]);
		if (rc) {
			while (i-- > 0)
				store_clear(&s[i].it);
			return rc;
		}
	}
	return OM_OK;
}

/* POOL_DONE num = task id, num2 = 0 with [results...] or 21 (ETASK)
 * with [str message] | ENOENT; a report that is malformed, or whose
 * results cannot be kept, fails the task with that error (and says so). */
static int pool_done(struct obj *o, struct call *c)
{
	struct pool *p = (struct pool *)o;
	struct task *t = u64map_get(&p->leased, (uint64_t)c->req->num);
	if (!t || t->worker->conn != c->conn)
		return call_err(c, OM_ENOENT,
		                "task %lld is not leased to this session",
		                (long long)c->req->num);
	const om_item *fn = &p->fns[t->fn];
	int fl = (int)fn->s.len;
	int pid = (int)t->worker->pid;
	struct job *j = t->job;
	struct err *e = NULL;
	int rc = OM_OK;
	bool stored = false; /* store_item() said why */
	if (c->req->num2 == DONE_ETASK) {
		if (c->nargs == 1 && c->args[0].kind == OM_STR)
			e = err_new(OM_ETASK, "%.*s", (int)c->args[0].s.len,
			            c->args[0].s.ptr);
		else
			e = err_new(rc = OM_EINVAL,
			            "worker %d reported task '%.*s' as failed "
			            "without its message (one str)",
			            pid, fl, fn->s.ptr);
	} else if (c->req->num2 != 0) {
		e = err_new(rc = OM_EINVAL,
		            "worker %d reported task '%.*s' with status %lld "
		            "(0 or 21 expected)",
		            pid, fl, fn->s.ptr, (long long)c->req->num2);
	} else if (c->nargs != t->ncalls) {
		e = err_new(rc = OM_EINVAL,
		            "worker %d reported %zu results for the %zu calls "
		            "of task '%.*s'",
		            pid, c->nargs, t->ncalls, fl, fn->s.ptr);
	} else if (j->owner && !j->err && (rc = store_results(c, t))) {
		stored = true;
		e = err_new(rc, "a result of task '%.*s' could not be kept: %s",
		            fl, fn->s.ptr,
		            c->resp.message ? c->resp.message : "");
	}
	if (rc && !stored)
		call_fail(c, e);
	task_finish(p, t, e);
	err_unref(e);
	settle(p);
	return rc;
}

/* POOL_INIT_FAILED args [str message]: the pool breaks */
static int pool_init_failed(struct obj *o, struct call *c)
{
	struct pool *p = (struct pool *)o;
	const om_item *msg = &c->args[0];
	if (msg->kind != OM_STR)
		return call_err(c, OM_EINVAL,
		                "POOL_INIT_FAILED takes the message (a str)");
	pool_break(p, "a worker's initializer failed: %.*s", (int)msg->s.len,
	           msg->s.ptr);
	settle(p);
	return OM_OK;
}

/* ------------------------------------------------------------ life cycle */

/* OPEN creation: args [int processes, int maxtasksperchild, str function
 * names...] */
static int pool_init(struct obj *o, struct call *c)
{
	struct pool *p = (struct pool *)o;
	if (c->nargs < 3)
		return call_err(c, OM_EINVAL,
		                "a pool takes [processes, maxtasksperchild, "
		                "function names...]: %zu arguments",
		                c->nargs);
	const om_item *a = c->args;
	if (a[0].kind != OM_INT || a[0].i < 1 || a[0].i > POOL_MAX_PROCESSES)
		return call_err(
		        c, OM_EINVAL,
		        "a pool's processes must be an int from 1 to %d",
		        POOL_MAX_PROCESSES);
	if (a[1].kind != OM_INT || a[1].i < 0 || a[1].i > UINT32_MAX)
		return call_err(c, OM_EINVAL,
		                "a pool's maxtasksperchild must be an int from "
		                "0 to %u",
		                UINT32_MAX);
	size_t n = c->nargs - 2;
	om_item *names = call_alloc(c, n * sizeof *names);
	if (!names)
		return call_err(c, OM_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		names[i] = a[2 + i];
		if (names[i].kind != OM_STR || names[i].s.len == 0 ||
		    names[i].s.len > POOL_MAX_NAME)
			return call_err(
			        c, OM_EINVAL,
			        "function name %zu is not a str of 1 to "
			        "%d bytes",
			        i, POOL_MAX_NAME);
	}
	qsort(names, n, sizeof *names, fn_cmp);
	for (size_t i = 1; i < n; i++)
		if (fn_cmp(&names[i - 1], &names[i]) == 0)
			return call_err(c, OM_EINVAL,
			                "two functions named '%.*s'",
			                (int)names[i].s.len, names[i].s.ptr);
	int rc = store_charge(c, n * sizeof *p->fns);
	if (rc)
		return rc;
	if (!(p->fns = calloc(n, sizeof *p->fns))) {
		store_refund(n * sizeof *p->fns);
		return call_err(c, OM_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if ((rc = store_item(c, &p->fns[i], &names[i]))) {
			while (i-- > 0)
				store_clear(&p->fns[i]);
			free(p->fns);
			store_refund(n * sizeof *p->fns);
			return rc;
		}
	}
	p->nfns = n;
	p->processes = a[0].i;
	p->want_creator = true;
	return OM_OK;
}

/* The OPEN that created the pool made its connection the creator. */
static int pool_opened(struct obj *o, struct call *c)
{
	struct pool *p = (struct pool *)o;
	if (!p->want_creator)
		return OM_OK;
	p->want_creator = false;
	struct member *m;
	int rc = member_get(p, c, &m);
	if (rc)
		return rc;
	m->creator = true;
	p->creator = m;
	return OM_OK;
}

/* A member's session ended (see the top). */
static void pool_conn_gone(struct obj *o, struct conn *conn)
{
	struct pool *p = (struct pool *)o;
	wait_list_drop_conn(&p->takers, conn);
	wait_list_drop_conn(&p->waits, conn);
	struct member *m = u64map_get(&p->members, conn_key(conn));
	if (!m) {
		settle(p);
		return;
	}
	for (struct job *j = m->jobs; j; j = j->next)
		wait_list_drop_conn(&j->getters, conn);
	if (m->worker) {
		lease_lost(p, m);
		m->worker = false;
		p->nworkers--;
	}
	for (struct task *t = p->queue.head, *next; m->njobs && t; t = next) {
		next = t->next;
		if (t->job->owner == m)
			task_free(p, t);
	}
	while (m->jobs)
		job_detach(p, m->jobs);
	bool creator = m->creator && creator_matters(p), super = m->supervisor;
	char how[128] = "";
	if (super) {
		describe_end(m, how, sizeof how);
		p->super = NULL;
	}
	member_free(p, m, true);
	if (super && (!p->closed || p->queue.n || p->nrunning))
		pool_break(p, "its supervisor%s", how);
	if (creator)
		pool_break(p, "its creator's session ended");
	settle(p);
}

/* Drop every task and job (the collector's clear, and fini's first step):
 * nothing is answered, as nothing can be waiting. */
static void pool_clear(struct obj *o)
{
	struct pool *p = (struct pool *)o;
	while (p->queue.head)
		task_free(p, p->queue.head);
	for (size_t i = 0; p->leased.v && i <= p->leased.mask;) {
		if (p->leased.v[i].key)
			task_free(p, p->leased.v[i].val); /* shifts */
		else
			i++;
	}
	for (size_t i = 0; p->jobs.v && i <= p->jobs.mask;) {
		struct job *j = p->jobs.v[i].val;
		uint64_t id = p->jobs.v[i].key;
		if (!id) {
			i++;
			continue;
		}
		if (j->owner)
			job_detach(p, j); /* frees it: no task is left */
		else
			job_maybe_free(p, j);
		if (p->jobs.v[i].key == id)
			i++; /* cannot happen: not freed */
	}
}

/* The last reference went: fail and free what is left. */
static void pool_fini(struct obj *o)
{
	struct pool *p = (struct pool *)o;
	/* Waiters and members watch the pool, so none is left unless the
	 * server is stopping; end them anyway rather than leave them. */
	wait_list_answer_all(&p->takers, OM_ECLOSED);
	wait_list_answer_all(&p->waits, OM_ECLOSED);
	pool_clear(o);
	for (size_t i = 0; p->members.v && i <= p->members.mask;) {
		struct member *m = p->members.v[i].val;
		if (!p->members.v[i].key) {
			i++;
			continue;
		}
		if (m->worker || m->supervisor)
			member_kill(m);
		member_free(p, m, true); /* shifts */
	}
	for (size_t i = 0; i < p->nfns; i++)
		store_clear(&p->fns[i]);
	store_refund(p->nfns * sizeof *p->fns);
	free(p->fns);
	u64map_free(&p->leased);
	u64map_free(&p->jobs);
	u64map_free(&p->members);
	err_unref(p->broke);
}

/* Every kept item: the tasks' arguments, the jobs' results and lists. */
static void pool_traverse(struct obj *o, visit_fn visit, void *arg)
{
	struct pool *p = (struct pool *)o;
	for (struct task *t = p->queue.head; t; t = t->next)
		for (size_t i = 0; i < t->nitems; i++)
			store_visit(&t->items[i], visit, arg);
	for (size_t i = 0; p->leased.v && i <= p->leased.mask; i++) {
		struct task *t = p->leased.v[i].val;
		for (size_t k = 0; p->leased.v[i].key && k < t->nitems; k++)
			store_visit(&t->items[k], visit, arg);
	}
	for (size_t i = 0; p->jobs.v && i <= p->jobs.mask; i++) {
		struct job *j = p->jobs.v[i].val;
		if (!p->jobs.v[i].key || !j->slots)
			continue;
		for (size_t k = 0; k < j->ncalls; k++)
			store_visit(&j->slots[k].it, visit, arg);
		store_visit(&j->list, visit, arg);
	}
}

static const struct op_def pool_ops[] = {
        OP(POOL_SUBMIT, pool_submit, OP_VARARGS, 0),
        OP(POOL_GET, pool_get, 0, OPF_TIMEOUT),
        OP(POOL_WAIT, pool_wait, OP_VARARGS, OPF_TIMEOUT),
        OP(POOL_NEXT, pool_next, 0, OPF_TIMEOUT),
        OP(POOL_FORGET, pool_forget, 0, 0),
        OP(POOL_CLOSE, pool_close, 0, 0),
        OP(POOL_TERMINATE, pool_terminate, 0, 0),
        OP(POOL_INFO, pool_info, 0, 0),
        OP(POOL_SUPERVISE, pool_supervise, 0, 0),
        OP(POOL_TAKE, pool_take, 0, OPF_TIMEOUT),
        OP(POOL_DONE, pool_done, OP_VARARGS, 0),
        OP(POOL_INIT_FAILED, pool_init_failed, 1, 0),
};

static const struct type_hooks pool_hooks = {.opened = pool_opened};

TYPE_DEF_HOOKS(pool, POOL, "pool", struct pool, OP_VARARGS, 0, pool_init,
               pool_fini, pool_conn_gone, pool_traverse, pool_clear,
               &pool_hooks);
