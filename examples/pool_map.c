/*
 * pool_map.c — Python's
 *
 *     def square(x):
 *         return x * x
 *
 *     with Pool(4) as pool:
 *         print(pool.map(square, range(100)))
 *
 * The workers are forked by om_pool_open and run square() on the items,
 * sent to them in chunks (chunksize 0: the pool chooses, as Python does);
 * the results come back in order. The program checks every one of them
 * and prints the list as Python would.
 */
#include <stdio.h>

#include <objmgr.h>

#define N 100

static int square(om_task *t, const om_item *args, size_t nargs)
{
	if (nargs != 1 || args[0].kind != OM_INT)
		return om_task_fail(t, "square() takes one int");
	return om_task_return(t, om_int(args[0].i * args[0].i));
}

static const om_task_def tasks[] = {{"square", square}};
static const om_pool_config cfg = {.tasks = tasks, .ntasks = 1};

int main(void)
{
	om_client *c;
	int rc = om_spawn(NULL, &c); /* a private server, like Manager() */
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
	om_item in[N];
	for (int i = 0; i < N; i++)
		in[i] = om_int(i);
	om_items out = {0};
	int failed = 0;
	if ((rc = om_pool_map(pool, "square", in, N, 0, &out))) {
		fprintf(stderr, "om_pool_map: %s: %s\n", om_strerror(rc),
		        om_errmsg(c));
		failed = 1;
	} else if (out.n != N) {
		fprintf(stderr, "%zu results, expected %d\n", out.n, N);
		failed = 1;
	}
	for (size_t i = 0; i < out.n; i++)
		if (out.v[i].kind != OM_INT || out.v[i].i != (int64_t)(i * i)) {
			fprintf(stderr, "result %zu is wrong\n", i);
			failed = 1;
		}
	printf("[");
	for (size_t i = 0; i < out.n; i++)
		printf("%s%lld", i ? ", " : "", (long long)out.v[i].i);
	printf("]\n");
	om_items_free(&out);
	/* Leaving the with block: terminate (all is done), then join. */
	if (om_pool_terminate(pool) || om_pool_join(pool, OM_FOREVER))
		failed = 1;
	om_release(pool);
	om_disconnect(c); /* also stops the private server */
	return failed;
}
