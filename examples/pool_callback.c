/*
 * pool_callback.c — Python's
 *
 *     results = []
 *     def collect(result):
 *         results.append(result)
 *
 *     pool = Pool(4)
 *     for i in range(10):
 *         pool.apply_async(square, (i,), callback=collect)
 *     pool.close()
 *     pool.join()
 *     print(sorted(results))
 *
 * The callback runs in this process (never in a worker), once per task,
 * inside the pool calls that wait: here om_pool_join, which returns once
 * the workers have exited and every callback that came due has run. The
 * results arrive in the order the tasks finish, so the program sorts them
 * (as the Python one does), checks them and prints them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <objmgr.h>

#define N 10

static int square(om_task *t, const om_item *args, size_t nargs)
{
	if (nargs != 1 || args[0].kind != OM_INT)
		return om_task_fail(t, "square() takes one int");
	return om_task_return(t, om_int(args[0].i * args[0].i));
}

static const om_task_def tasks[] = {{"square", square}};
static const om_pool_config cfg = {.tasks = tasks, .ntasks = 1};

static int64_t results[N];
static size_t nresults;
static int bad_calls; /* errors, or a callback not run by this process */
static pid_t me;

static void collect(int rc, const om_item *result, void *arg)
{
	(void)arg;
	if (rc != OM_OK || !result || result->kind != OM_INT ||
	    getpid() != me || nresults == N) {
		bad_calls++;
		return;
	}
	results[nresults++] = result->i;
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int main(void)
{
	me = getpid();
	om_client *c;
	int rc = om_spawn(NULL, &c);
	if (rc) {
		fprintf(stderr, "om_spawn: %s\n", om_strerror(rc));
		return 1;
	}
	om_pool *pool;
	if ((rc = om_pool_open(c, NULL, 0, 4, &cfg, &pool))) {
		fprintf(stderr, "om_pool_open: %s: %s\n", om_strerror(rc),
		        om_errmsg(c));
		om_disconnect(c);
		return 1;
	}
	om_async *jobs[N];
	int failed = 0;
	for (int i = 0; i < N; i++) {
		om_item arg = om_int(i);
		if ((rc = om_pool_apply_async(pool, "square", &arg, 1,
		                              &jobs[i])) ||
		    (rc = om_async_then(jobs[i], collect, NULL))) {
			fprintf(stderr, "apply_async: %s\n", om_strerror(rc));
			om_disconnect(c);
			return 1;
		}
	}
	if ((rc = om_pool_close(pool)) ||
	    (rc = om_pool_join(pool, OM_FOREVER))) {
		fprintf(stderr, "close/join: %s\n", om_strerror(rc));
		failed = 1;
	}
	for (int i = 0; i < N; i++)
		om_async_free(jobs[i]);
	qsort(results, nresults, sizeof *results, cmp);
	if (nresults != N || bad_calls)
		failed = 1;
	for (size_t i = 0; i < nresults; i++)
		if (results[i] != (int64_t)(i * i))
			failed = 1;
	printf("[");
	for (size_t i = 0; i < nresults; i++)
		printf("%s%lld", i ? ", " : "", (long long)results[i]);
	printf("]\n");
	om_release(pool);
	om_disconnect(c);
	return failed;
}
