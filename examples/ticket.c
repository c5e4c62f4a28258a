/*
 * ticket.c — ten processes race for three tickets.
 *
 * The count lives in a named dict ("tickets" -> {"count": 3}) guarded by a
 * named lock ("tickets.lock"). Each process takes the lock, reads count,
 * takes a ticket if any is left, writes the count back and releases: a
 * read-modify-write that is only safe because of the lock. A process
 * reports through its exit status (0: got a ticket, 2: sold out, 1: error);
 * the parent checks that exactly three succeeded and none are left.
 */
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <objmgr.h>

#define PROCS 10
#define TICKETS 3

static int buy(om_lock *l, om_dict *d)
{
	om_item count;
	int got = 0;
	int rc = om_lock_acquire(l, OM_FOREVER);
	if (rc < 0) /* OM_OWNER_DIED (> 0) would still be success */
		return 1;
	if (om_dict_get(d, om_str("count"), &count) || count.kind != OM_INT)
		rc = -1;
	else if (count.i > 0) {
		usleep(1000); /* widen the window a race would need */
		rc = om_dict_set(d, om_str("count"), om_int(count.i - 1));
		got = 1;
	}
	if (om_lock_release(l) || rc)
		return 1;
	return got ? 0 : 2;
}

int main(void)
{
	om_client *c;
	om_lock *l;
	om_dict *d;
	int rc = om_spawn(NULL, &c); /* a private server, like Manager() */
	if (rc) {
		fprintf(stderr, "om_spawn: %s\n", om_strerror(rc));
		return 1;
	}
	if ((rc = om_lock_open(c, "tickets.lock", OM_CREATE, &l)) ||
	    (rc = om_dict_open(c, "tickets", OM_CREATE, &d)) ||
	    (rc = om_dict_set(d, om_str("count"), om_int(TICKETS)))) {
		fprintf(stderr, "setup: %s\n", om_strerror(rc));
		return 1;
	}
	pid_t pids[PROCS];
	for (int i = 0; i < PROCS; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			return 1;
		}
		if (pids[i] == 0)
			_exit(buy(l, d));
	}
	int winners = 0, failed = 0;
	for (int i = 0; i < PROCS; i++) {
		int st;
		if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) == 1) {
			failed = 1;
			continue;
		}
		if (WEXITSTATUS(st) == 0) {
			printf("process %d (pid %d) got a ticket\n", i,
			       (int)pids[i]);
			winners++;
		}
	}
	om_item left;
	if ((rc = om_dict_get(d, om_str("count"), &left))) {
		fprintf(stderr, "om_dict_get: %s\n", om_strerror(rc));
		return 1;
	}
	printf("%d of %d processes got a ticket, %lld left\n", winners, PROCS,
	       (long long)left.i);
	if (winners != TICKETS || left.kind != OM_INT || left.i != 0)
		failed = 1;
	om_unlink(c, "tickets.lock"); /* named objects live until unlinked */
	om_unlink(c, "tickets");
	om_release(l);
	om_release(d);
	om_disconnect(c); /* also stops the private server */
	return failed;
}
