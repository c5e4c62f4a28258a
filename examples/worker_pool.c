/*
 * worker_pool.c — a pool of N forked workers fed from a job queue.
 *
 * The parent queues the jobs 1..100 and then one OM_NIL sentinel per
 * worker (Python's `None` poison pill). Each worker gets jobs until it
 * sees the sentinel and stores job*job in a shared dict under the key job.
 * The parent checks all 100 results and prints their sum.
 */
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <objmgr.h>

#define WORKERS 4
#define JOBS 100

static int work(om_queue *q, om_dict *results)
{
	for (;;) {
		om_item job;
		if (om_queue_get(q, &job, OM_FOREVER))
			return 1;
		if (job.kind == OM_NIL)
			return 0; /* sentinel: no more jobs */
		if (job.kind != OM_INT)
			return 1;
		if (om_dict_set(results, job, om_int(job.i * job.i)))
			return 1;
	}
}

int main(void)
{
	om_client *c;
	om_queue *q;
	om_dict *results;
	int rc = om_spawn(NULL, &c); /* a private server, like Manager() */
	if (rc) {
		fprintf(stderr, "om_spawn: %s\n", om_strerror(rc));
		return 1;
	}
	if ((rc = om_queue_open(c, NULL, 0, 0, &q)) ||
	    (rc = om_dict_open(c, NULL, 0, &results))) {
		fprintf(stderr, "open: %s\n", om_strerror(rc));
		return 1;
	}
	pid_t pids[WORKERS];
	for (int w = 0; w < WORKERS; w++) {
		pids[w] = fork();
		if (pids[w] < 0) {
			perror("fork");
			return 1;
		}
		if (pids[w] == 0)
			_exit(work(q, results));
	}
	for (int j = 1; j <= JOBS; j++)
		if ((rc = om_queue_put(q, om_int(j), OM_FOREVER)))
			goto fail;
	for (int w = 0; w < WORKERS; w++)
		if ((rc = om_queue_put(q, om_nil(), OM_FOREVER)))
			goto fail;

	int failed = 0;
	for (int w = 0; w < WORKERS; w++) {
		int st;
		if (waitpid(pids[w], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			failed = 1;
	}
	long long sum = 0;
	for (int j = 1; j <= JOBS; j++) {
		om_item sq;
		if (om_dict_get(results, om_int(j), &sq) || sq.kind != OM_INT ||
		    sq.i != (int64_t)j * j) {
			fprintf(stderr, "result for job %d missing or wrong\n", j);
			failed = 1;
			continue;
		}
		sum += sq.i;
	}
	size_t n = 0;
	if (om_dict_len(results, &n) || n != JOBS)
		failed = 1;
	printf("%zu results, sum of squares 1..%d = %lld\n", n, JOBS, sum);
	if (sum != (long long)JOBS * (JOBS + 1) * (2 * JOBS + 1) / 6)
		failed = 1;
	om_release(q);
	om_release(results);
	om_disconnect(c); /* also stops the private server */
	return failed;

fail:
	fprintf(stderr, "om_queue_put: %s\n", om_strerror(rc));
	om_disconnect(c);
	return 1;
}
