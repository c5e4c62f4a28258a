/*
 * semaphore_limit.c — Semaphore(3) lets at most three of ten workers in
 * at once, as the tutorial's toilet with three stalls.
 *
 * A worker acquires the semaphore, counts itself in (running, and the
 * highest running seen, in a dict under a condition's lock), waits until
 * the parent opens the gate (an event), counts itself out and releases.
 * The parent waits on the condition until three are in, checks that the
 * semaphore is then at 0 (the other seven are waiting for it), opens the
 * gate and joins everyone: the highest count seen must be exactly 3 —
 * never more, since the semaphore lets no fourth in while three hold it.
 */
#include <stdio.h>

#include <objmgr.h>

#define WORKERS 10
#define LIMIT   3

static om_sem *sem;
static om_cond *cv; /* its lock guards the dict's counters */
static om_dict *st; /* running, max, done */
static om_event *gate;

/* st[key] += delta under cv's lock; *now = the new value. */
static int count(const char *key, int delta, int64_t *now)
{
	om_item it;
	if (om_dict_incr(st, om_str(key), om_int(delta), &it))
		return -1;
	*now = it.i;
	return 0;
}

static int worker(void *arg)
{
	(void)arg;
	int64_t running, max, done;
	if (om_sem_acquire(sem, OM_FOREVER))
		return 1;
	if (om_cond_acquire(cv, OM_FOREVER) || count("running", 1, &running))
		return 2;
	om_item it;
	if (om_dict_get(st, om_str("max"), &it))
		return 3;
	max = it.i;
	if (running > max && om_dict_set(st, om_str("max"), om_int(running)))
		return 4;
	if (om_cond_notify_all(cv) || om_cond_release(cv))
		return 5;

	if (om_event_wait(gate, OM_FOREVER))
		return 6;

	if (om_cond_acquire(cv, OM_FOREVER) || count("running", -1, &running) ||
	    count("done", 1, &done) || om_cond_release(cv))
		return 7;
	return om_sem_release(sem, 1) ? 8 : 0;
}

/* st[key], or -1. */
static int64_t get(const char *key)
{
	om_item it;
	return om_dict_get(st, om_str(key), &it) ? -1 : it.i;
}

int main(void)
{
	om_client *c;
	int rc = om_spawn(NULL, &c); /* a private server, like Manager() */
	if (rc) {
		fprintf(stderr, "om_spawn: %s\n", om_strerror(rc));
		return 1;
	}
	if ((rc = om_sem_open(c, NULL, 0, LIMIT, &sem)) ||
	    (rc = om_cond_open(c, NULL, 0, NULL, &cv)) ||
	    (rc = om_dict_open(c, NULL, 0, &st)) ||
	    (rc = om_event_open(c, NULL, 0, &gate)) ||
	    (rc = om_dict_set(st, om_str("running"), om_int(0))) ||
	    (rc = om_dict_set(st, om_str("max"), om_int(0))) ||
	    (rc = om_dict_set(st, om_str("done"), om_int(0)))) {
		fprintf(stderr, "open: %s\n", om_strerror(rc));
		return 1;
	}
	om_process *p[WORKERS];
	for (int i = 0; i < WORKERS; i++) {
		if ((rc = om_process_start(worker, NULL, 0, &p[i]))) {
			fprintf(stderr, "om_process_start: %s\n",
			        om_strerror(rc));
			return 1;
		}
	}
	printf("%d workers share a semaphore of %d\n", WORKERS, LIMIT);

	int failed = 0;
	if (om_cond_acquire(cv, OM_FOREVER))
		return 1;
	while (get("running") < LIMIT)
		if (om_cond_wait(cv, OM_FOREVER) < 0)
			return 1;
	int64_t in = get("running");
	om_cond_release(cv);
	unsigned v = 99;
	om_sem_value(sem, &v);
	printf("in at once: %lld; semaphore value: %u (the other %d wait)\n",
	       (long long)in, v, WORKERS - LIMIT);
	failed |= in != LIMIT || v != 0;

	om_event_set(gate);
	int bad = 0;
	for (int i = 0; i < WORKERS; i++) {
		int code = -1;
		if (om_process_join(p[i], OM_FOREVER) ||
		    om_process_exitcode(p[i], &code) || code != 0)
			bad++;
		om_process_free(p[i]);
	}
	int64_t max = get("max"), done = get("done");
	om_sem_value(sem, &v);
	printf("workers done: %lld, failed: %d\n", (long long)done, bad);
	printf("most running at once: %lld (limit %d)\n", (long long)max,
	       LIMIT);
	printf("semaphore value at the end: %u\n", v);
	failed |= bad || done != WORKERS || max != LIMIT || v != LIMIT;

	om_release(sem);
	om_release(cv);
	om_release(st);
	om_release(gate);
	om_disconnect(c); /* also stops the private server */
	return failed;
}
