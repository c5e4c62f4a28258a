/*
 * process.c — om_process_*: Python's multiprocessing.Process on fork().
 *
 * Every child this process started is in one process-wide list (children,
 * under children_mu), from om_process_start() until it has been reaped
 * and its handle freed: the list is what the exit handler terminates and
 * joins, so a handle the user freed still has its child joined at exit.
 * A forked child starts with an empty list (the atfork handler): it must
 * neither wait for nor signal its siblings.
 *
 * Waiting is on a pidfd (poll() gives the deadline), each wait its own,
 * opened under the mutex while the child is not reaped (so its pid is
 * still the child's) and closed when the wait ends: another thread's
 * reap cannot close it under a poll(). The status is taken with
 * waitpid(pid, WNOHANG) under the mutex, so two threads never both reap
 * (and a pid is never signalled once reaped, when it may be reused).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "shm.h"

struct om_process {
	pid_t pid;
	bool daemon; /* OM_DAEMON: SIGTERMed at exit */
	bool reaped; /* `code` is its exit code */
	bool freed;  /* om_process_free()d: only the exit handler has it */
	int code;    /* WEXITSTATUS, or -WTERMSIG */
	struct om_process *prev, *next;
};

static struct om_process *children;
static pthread_mutex_t children_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t process_once = PTHREAD_ONCE_INIT;
static bool in_daemon;

bool omi_in_daemon(void)
{
	return in_daemon;
}

/* ------------------------------------------------------------- the list */

static void list_del(struct om_process *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		children = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->prev = p->next = NULL;
}

static void proc_destroy(struct om_process *p)
{
	list_del(p);
	free(p);
}

/* Whether p is a live handle of this process: a freed or foreign pointer
 * is refused without being dereferenced. Called with children_mu held. */
static bool proc_valid(const struct om_process *p)
{
	for (struct om_process *q = children; q; q = q->next)
		if (q == p)
			return !q->freed;
	return false;
}

/* Take p's status if it has exited (never waits). With children_mu held.
 * @return whether p is reaped now. */
static bool proc_reap(struct om_process *p)
{
	if (p->reaped)
		return true;
	int st;
	pid_t r;
	while ((r = waitpid(p->pid, &st, WNOHANG)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return false;
	if (r < 0) {
		/* ECHILD: someone else reaped it (waitpid(-1), SIGCHLD
		 * ignored); its status is lost (objmgr.h says: don't). */
		p->code = 0;
	} else if (WIFSIGNALED(st)) {
		p->code = -WTERMSIG(st);
	} else if (WIFEXITED(st)) {
		p->code = WEXITSTATUS(st);
	} else {
		return false; /* stopped or continued: still running */
	}
	p->reaped = true;
	return true;
}

/* Milliseconds from now until `at`, for poll() (at least 1 while the
 * deadline is ahead, so a short remainder is not a busy loop). */
static int ms_until(const struct timespec *at)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (double)(at->tv_sec - now.tv_sec) * 1e3 +
	            (double)(at->tv_nsec - now.tv_nsec) / 1e6;
	if (ms <= 0)
		return 0;
	if (ms > 1e9)
		return 1000000000;
	return ms < 1 ? 1 : (int)ms;
}

/* Wait until p has exited and reap it, or until `timeout` (OM_FOREVER:
 * no limit; 0: one try). @return OM_OK or OM_ETIMEOUT. */
static int proc_wait(struct om_process *p, double timeout)
{
	struct timespec at;
	bool limited = omi_deadline(timeout, &at);
	int fd = -1, rc = OM_OK, backoff_us = 1000;
	bool try_pidfd = timeout != 0;
	for (;;) {
		pthread_mutex_lock(&children_mu);
		bool done = proc_reap(p);
		/* A child that has exited is a zombie until reaped, so the
		 * open finds it; on failure the loop polls waitpid(). */
		if (!done && try_pidfd) {
			fd = pidfd_open(p->pid, 0);
			try_pidfd = false;
		}
		pthread_mutex_unlock(&children_mu);
		if (done)
			break;
		if (timeout == 0 || (limited && omi_deadline_passed(&at))) {
			rc = OM_ETIMEOUT;
			break;
		}
		int ms = limited ? ms_until(&at) : -1;
		if (fd >= 0) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			/* EINTR: the loop tries again. Any other failure
			 * would come back at once: the waitpid() loop then. */
			if (poll(&pfd, 1, ms) < 0 && errno != EINTR) {
				close(fd);
				fd = -1;
			}
			continue;
		}
		/* No pidfd (ENOSYS: kernels before 5.3 only; or out of
		 * descriptors): try waitpid() again after a sleep that grows
		 * to 50 ms, cut short by the deadline. */
		if (ms >= 0 && ms < backoff_us / 1000)
			backoff_us = ms * 1000;
		struct timespec d = {.tv_sec = backoff_us / 1000000,
		                     .tv_nsec = (backoff_us % 1000000) * 1000L};
		nanosleep(&d, NULL);
		if (backoff_us < 50000)
			backoff_us *= 2;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ------------------------------------------------------------ exit time */

/* At normal exit, and when a child's fn returns (Python's
 * _exit_function): SIGTERM the daemon children still running, then join
 * every child without limit. A handle the user still has stays valid
 * (an earlier atexit handler may use it); freed ones are let go. */
static void exit_children(void)
{
	pthread_mutex_lock(&children_mu);
	for (struct om_process *p = children; p; p = p->next)
		if (p->daemon && !proc_reap(p))
			kill(p->pid, SIGTERM);
	pthread_mutex_unlock(&children_mu);
	for (;;) {
		pthread_mutex_lock(&children_mu);
		struct om_process *p = children;
		while (p && p->reaped)
			p = p->next;
		pthread_mutex_unlock(&children_mu);
		if (!p)
			break;
		proc_wait(p, OM_FOREVER);
	}
	pthread_mutex_lock(&children_mu);
	for (struct om_process *p = children, *next; p; p = next) {
		next = p->next;
		if (p->freed)
			proc_destroy(p);
	}
	pthread_mutex_unlock(&children_mu);
}

static void fork_prepare(void)
{
	pthread_mutex_lock(&children_mu);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&children_mu);
}

/* The child's list starts empty: its parent's children are its siblings.
 * The nodes are this process's copies, so they are freed here. */
static void fork_child(void)
{
	while (children)
		proc_destroy(children);
	pthread_mutex_unlock(&children_mu);
}

static void process_init(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	atexit(exit_children);
}

/* ------------------------------------------------------------ the child */

/* In the child of om_process_start(): become a daemon if asked, run fn
 * and leave without the parent's atexit handlers. */
static _Noreturn void child_main(om_target fn, void *arg, bool daemon,
                                 pid_t parent)
{
	if (daemon) {
		/* The parent may have died between fork() and prctl(): then
		 * no signal will come, and getppid() is already another. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(1);
		in_daemon = true;
	}
	int rc = fn(arg);
	exit_children();
	fflush(NULL);
	_exit(rc & 0xff);
}

int omi_process_start(om_target fn, void *arg, int flags, bool internal,
                      om_process **out)
{
	if (!fn || !out || (flags & ~OM_DAEMON))
		return OM_EINVAL;
	if (in_daemon && !internal)
		return OM_EINVAL;
	pthread_once(&process_once, process_init);
	struct om_process *p = calloc(1, sizeof *p);
	if (!p)
		return OM_ENOMEM;
	p->daemon = flags & OM_DAEMON;
	/* Output buffered now would be written twice: by us and by the
	 * child's fflush(NULL). */
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		free(p);
		return err == ENOMEM ? OM_ENOMEM : OM_ELIMIT;
	}
	if (pid == 0) {
		free(p);
		child_main(fn, arg, flags & OM_DAEMON, parent);
	}
	p->pid = pid;
	pthread_mutex_lock(&children_mu);
	/* Freed handles of children that have exited are let go now (as
	 * Python's _cleanup() at each start), so a long-running program that
	 * starts and frees many does not keep them all until exit. */
	for (struct om_process *q = children, *next; q; q = next) {
		next = q->next;
		if (q->freed && proc_reap(q))
			proc_destroy(q);
	}
	p->next = children;
	if (children)
		children->prev = p;
	children = p;
	pthread_mutex_unlock(&children_mu);
	*out = p;
	return OM_OK;
}

/* ------------------------------------------------------------ the calls */

int om_process_start(om_target fn, void *arg, int flags, om_process **out)
{
	return omi_process_start(fn, arg, flags, false, out);
}

/* p checked (OM_EINVAL if not a live handle), and whether it has been
 * reaped, after one WNOHANG try. */
static int proc_poll(om_process *p, bool *reaped)
{
	pthread_mutex_lock(&children_mu);
	bool ok = proc_valid(p);
	if (ok)
		*reaped = proc_reap(p);
	pthread_mutex_unlock(&children_mu);
	return ok ? OM_OK : OM_EINVAL;
}

int om_process_join(om_process *p, double timeout)
{
	bool reaped;
	int rc = proc_poll(p, &reaped);
	if (rc || reaped)
		return rc;
	if (timeout != timeout)
		return OM_EINVAL; /* NaN */
	return proc_wait(p, timeout);
}

bool om_process_is_alive(om_process *p)
{
	bool reaped;
	return proc_poll(p, &reaped) == OM_OK && !reaped;
}

int om_process_exitcode(om_process *p, int *code)
{
	bool reaped;
	if (!code)
		return OM_EINVAL;
	int rc = proc_poll(p, &reaped);
	if (rc || !reaped)
		return OM_EINVAL;
	*code = p->code;
	return OM_OK;
}

int om_process_pid(om_process *p)
{
	pthread_mutex_lock(&children_mu);
	int pid = proc_valid(p) ? p->pid : 0;
	pthread_mutex_unlock(&children_mu);
	return pid;
}

/* Send sig to p unless it is reaped (its pid may be another's by then);
 * a zombie not yet reaped keeps its pid, so kill() is safe until then. */
static int proc_signal(om_process *p, int sig)
{
	pthread_mutex_lock(&children_mu);
	bool ok = proc_valid(p);
	if (ok && !p->reaped)
		kill(p->pid, sig);
	pthread_mutex_unlock(&children_mu);
	return ok ? OM_OK : OM_EINVAL;
}

int om_process_terminate(om_process *p)
{
	return proc_signal(p, SIGTERM);
}

int om_process_kill(om_process *p)
{
	return proc_signal(p, SIGKILL);
}

void om_process_free(om_process *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&children_mu);
	if (proc_valid(p)) {
		if (proc_reap(p)) {
			proc_destroy(p);
		} else {
			p->freed = true; /* the exit handler joins it */
		}
	}
	pthread_mutex_unlock(&children_mu);
}
