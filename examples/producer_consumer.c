/*
 * producer_consumer.c — one producer and three consumers share a bounded
 * queue (maxsize 16), like multiprocessing.Manager().Queue(16).
 *
 * The producer puts 1..1000 and then closes the queue (om_queue_close):
 * consumers drain what is left and stop when om_queue_get returns
 * OM_ECLOSED, so no sentinel items are needed. Each consumer adds what it
 * gets into a shared om_value with the atomic om_value_add. The parent
 * checks that the total is 1 + 2 + ... + 1000 = 500500.
 */
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <objmgr.h>

#define ITEMS 1000
#define CONSUMERS 3

static void producer(om_queue *q)
{
	for (int i = 1; i <= ITEMS; i++)
		if (om_queue_put(q, om_int(i), OM_FOREVER)) /* blocks when full */
			_exit(1);
	_exit(om_queue_close(q) ? 1 : 0);
}

static void consumer(om_queue *q, om_value *sum, int id)
{
	long n = 0;
	for (;;) {
		om_item it;
		int rc = om_queue_get(q, &it, OM_FOREVER);
		if (rc == OM_ECLOSED)
			break; /* closed and drained: done */
		if (rc || it.kind != OM_INT)
			_exit(1);
		if (om_value_add(sum, it, NULL))
			_exit(1);
		n++;
	}
	printf("consumer %d: took %ld items\n", id, n);
	fflush(stdout); /* _exit() does not flush stdio */
	_exit(0);
}

int main(void)
{
	om_client *c;
	om_queue *q;
	om_value *sum;
	int rc = om_spawn(NULL, &c); /* a private server, like Manager() */
	if (rc) {
		fprintf(stderr, "om_spawn: %s\n", om_strerror(rc));
		return 1;
	}
	if ((rc = om_queue_open(c, NULL, 0, 16, &q)) ||
	    (rc = om_value_open(c, NULL, 0, om_int(0), &sum))) {
		fprintf(stderr, "open: %s\n", om_strerror(rc));
		return 1;
	}
	pid_t pids[CONSUMERS + 1];
	for (int i = 0; i <= CONSUMERS; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			return 1;
		}
		if (pids[i] == 0) {
			if (i == 0)
				producer(q);
			consumer(q, sum, i);
		}
	}
	int failed = 0;
	for (int i = 0; i <= CONSUMERS; i++) {
		int st;
		if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			failed = 1;
	}

	om_item total;
	if ((rc = om_value_get(sum, &total))) {
		fprintf(stderr, "om_value_get: %s\n", om_strerror(rc));
		return 1;
	}
	long long want = (long long)ITEMS * (ITEMS + 1) / 2;
	printf("sum = %lld (expected %lld)\n", (long long)total.i, want);
	if (total.kind != OM_INT || total.i != want)
		failed = 1;
	om_item_free(&total);
	om_release(q);
	om_release(sum);
	om_disconnect(c); /* also stops the private server */
	return failed;
}
