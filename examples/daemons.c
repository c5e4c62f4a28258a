/*
 * daemons.c — Process(daemon=True) beside ordinary processes, as in the
 * tutorial's foo/bar program, with every step made to print the same
 * lines on every run.
 *
 * bar, an ordinary child, adds 1..100 into a shared value and is joined.
 * foo, a daemon, says it is up (an event), tries to start a process of
 * its own (a daemon may not: OM_EINVAL, Python's AssertionError), and
 * runs until the parent terminates it (exit code -SIGTERM, as Python).
 * manager, an ordinary child, starts a daemon of its own, baz, and
 * returns: a process that ends takes its daemons with it (SIGTERM, then
 * joined), so baz is gone once manager has been joined. Whatever daemons
 * are still running when main returns are terminated the same way.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <objmgr.h>

static om_event *ready;   /* foo is running */
static om_value *sum;     /* bar's work */
static om_value *foo_rc;  /* what om_process_start answered foo */
static om_value *baz_pid; /* manager's daemon */

static int bar(void *arg)
{
	(void)arg;
	for (int i = 1; i <= 100; i++)
		if (om_value_add(sum, om_int(i), NULL))
			return 1;
	return 0;
}

static int never(void *arg)
{
	(void)arg;
	return 0;
}

static int foo(void *arg)
{
	(void)arg;
	om_process *p;
	int rc = om_process_start(never, NULL, 0, &p);
	if (om_value_set(foo_rc, om_int(rc)) || om_event_set(ready))
		return 1;
	pause(); /* until terminated: SIGTERM's default action ends it */
	return 0;
}

static int baz(void *arg)
{
	(void)arg;
	pause();
	return 0;
}

static int manager(void *arg)
{
	(void)arg;
	om_process *b;
	if (om_process_start(baz, NULL, OM_DAEMON, &b) ||
	    om_value_set(baz_pid, om_int(om_process_pid(b))))
		return 1;
	return 0; /* baz is terminated and joined as manager ends */
}

/* Join p and return its exit code (-1000 if that fails). */
static int finish(om_process *p)
{
	int code = -1000;
	if (om_process_join(p, OM_FOREVER) || om_process_exitcode(p, &code))
		return -1000;
	return code;
}

int main(void)
{
	om_client *c;
	int rc = om_spawn(NULL, &c); /* a private server, like Manager() */
	if (rc) {
		fprintf(stderr, "om_spawn: %s\n", om_strerror(rc));
		return 1;
	}
	if ((rc = om_event_open(c, NULL, 0, &ready)) ||
	    (rc = om_value_open(c, NULL, 0, om_int(0), &sum)) ||
	    (rc = om_value_open(c, NULL, 0, om_int(0), &foo_rc)) ||
	    (rc = om_value_open(c, NULL, 0, om_int(0), &baz_pid))) {
		fprintf(stderr, "open: %s\n", om_strerror(rc));
		return 1;
	}
	om_process *pfoo, *pbar, *pman;
	if ((rc = om_process_start(foo, NULL, OM_DAEMON, &pfoo)) ||
	    (rc = om_process_start(bar, NULL, 0, &pbar))) {
		fprintf(stderr, "om_process_start: %s\n", om_strerror(rc));
		return 1;
	}
	int failed = 0;
	om_item it;

	if (om_event_wait(ready, OM_FOREVER) || om_value_get(foo_rc, &it))
		return 1;
	printf("foo (daemon) is running; it may not start processes: %s\n",
	       om_strerror((int)it.i));
	failed |= it.i != OM_EINVAL;

	int code = finish(pbar);
	if (om_value_get(sum, &it))
		return 1;
	printf("bar exited with %d; sum of 1..100 = %lld\n", code,
	       (long long)it.i);
	failed |= code != 0 || it.i != 5050;

	bool alive = om_process_is_alive(pfoo);
	printf("foo is still running: %s\n", alive ? "yes" : "no");
	failed |= !alive;
	om_process_terminate(pfoo);
	code = finish(pfoo);
	printf("foo terminated: exit code %d (-SIGTERM)\n", code);
	failed |= code != -SIGTERM;

	if ((rc = om_process_start(manager, NULL, 0, &pman))) {
		fprintf(stderr, "om_process_start: %s\n", om_strerror(rc));
		return 1;
	}
	code = finish(pman);
	if (om_value_get(baz_pid, &it))
		return 1;
	/* manager reaped baz: its pid no longer names a process */
	bool gone = it.i > 0 && kill((pid_t)it.i, 0) < 0 && errno == ESRCH;
	printf("manager exited with %d; its daemon baz went with it: %s\n",
	       code, gone ? "yes" : "no");
	failed |= code != 0 || !gone;

	om_process_free(pfoo);
	om_process_free(pbar);
	om_process_free(pman);
	om_release(ready);
	om_release(sum);
	om_release(foo_rc);
	om_release(baz_pid);
	om_disconnect(c); /* also stops the private server */
	printf("main-------\n");
	return failed;
}
