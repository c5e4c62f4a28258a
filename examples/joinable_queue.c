/*
 * joinable_queue.c — the tutorial's JoinableQueue: producers put buns and
 * wait (q.join()) until every one has been eaten; consumers are daemons
 * that get, eat and task_done forever, and end with the program.
 *
 * Two producers put 10 buns each and join the queue; three daemon
 * consumers record each bun they eat in a shared dict (bun -> count) and
 * call om_queue_task_done. A producer's join returns only once all 20 are
 * done, so when the parent has joined both producers, and then the queue
 * itself, every bun has been eaten exactly once — which it checks. The
 * consumers are never joined by hand: at exit the library terminates its
 * daemon children (SIGTERM) and joins them.
 */
#include <stdio.h>

#include <objmgr.h>

#define PRODUCERS 2
#define CONSUMERS 3
#define BUNS      10

static om_queue *q;
static om_dict *eaten; /* bun -> times eaten */

static int producer(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < BUNS; i++) {
		char bun[32];
		snprintf(bun, sizeof bun, "bun %d.%d", id, i);
		if (om_queue_put(q, om_str(bun), OM_FOREVER))
			return 1;
	}
	return om_queue_join(q, OM_FOREVER) ? 2 : 0;
}

static int consumer(void *arg)
{
	(void)arg;
	for (;;) {
		om_item bun;
		if (om_queue_get(q, &bun, OM_FOREVER))
			return 1;
		int rc = om_dict_incr(eaten, bun, om_int(1), NULL);
		om_item_free(&bun);
		if (rc || om_queue_task_done(q))
			return 2;
	}
}

int main(void)
{
	om_client *c;
	int rc = om_spawn(NULL, &c); /* a private server, like Manager() */
	if (rc) {
		fprintf(stderr, "om_spawn: %s\n", om_strerror(rc));
		return 1;
	}
	if ((rc = om_queue_open(c, NULL, OM_JOINABLE, 0, &q)) ||
	    (rc = om_dict_open(c, NULL, 0, &eaten))) {
		fprintf(stderr, "open: %s\n", om_strerror(rc));
		return 1;
	}
	om_process *prod[PRODUCERS], *cons[CONSUMERS];
	for (int i = 0; i < CONSUMERS; i++)
		if ((rc = om_process_start(consumer, NULL, OM_DAEMON,
		                           &cons[i])))
			goto fail_start;
	for (int i = 0; i < PRODUCERS; i++)
		if ((rc = om_process_start(producer, (void *)(intptr_t)(i + 1),
		                           0, &prod[i])))
			goto fail_start;

	int failed = 0;
	for (int i = 0; i < PRODUCERS; i++) {
		int code = -1;
		if (om_process_join(prod[i], OM_FOREVER) ||
		    om_process_exitcode(prod[i], &code))
			return 1;
		printf("producer %d put %d buns and saw them all eaten "
		       "(exit code %d)\n",
		       i + 1, BUNS, code);
		failed |= code != 0;
		om_process_free(prod[i]);
	}
	rc = om_queue_join(q, 0); /* nothing left undone: at once */
	printf("the parent joins the queue: %s\n", om_strerror(rc));
	failed |= rc != OM_OK;

	size_t n = 0, once = 0;
	om_items vals;
	if (om_dict_len(eaten, &n) || om_dict_values(eaten, &vals))
		return 1;
	for (size_t i = 0; i < vals.n; i++)
		once += vals.v[i].kind == OM_INT && vals.v[i].i == 1;
	om_items_free(&vals);
	printf("buns eaten: %zu, each exactly once: %s\n", n,
	       once == n && n == PRODUCERS * BUNS ? "yes" : "no");
	failed |= once != n || n != PRODUCERS * BUNS;
	bool empty = false;
	om_queue_empty(q, &empty);
	failed |= !empty;

	int alive = 0;
	for (int i = 0; i < CONSUMERS; i++)
		alive += om_process_is_alive(cons[i]);
	printf("consumers still waiting for buns: %d (daemons: they end "
	       "with the program)\n",
	       alive);
	failed |= alive != CONSUMERS;

	om_release(q);
	om_release(eaten);
	om_disconnect(c); /* also stops the private server */
	printf("master\n");
	return failed;

fail_start:
	fprintf(stderr, "om_process_start: %s\n", om_strerror(rc));
	return 1;
}
