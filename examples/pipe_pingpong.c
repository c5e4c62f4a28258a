/*
 * pipe_pingpong.c — a parent and its child play ping-pong over a pipe, as
 * the Python tutorials do with `conn1, conn2 = Pipe()`:
 *
 *     def child(conn1, conn2):
 *         conn2.close()                  # the parent's end: not ours
 *         while True:
 *             try:
 *                 msg = conn1.recv()
 *             except EOFError:           # the parent closed its end
 *                 break
 *             conn1.send(msg.replace('ping', 'pong'))
 *
 *     conn1, conn2 = Pipe()
 *     Process(target=child, args=(conn1, conn2)).start()
 *     conn1.close()                      # the child's end: not ours
 *     for i in range(1, 6):
 *         conn2.send('ping %d' % i); print(conn2.recv())
 *     conn2.close()
 *
 * Each side closes the end it does not use right after the fork, so when
 * the parent closes its own end the child's recv returns OM_ECLOSED (the
 * EOFError) and the child leaves. Both print; each flushes before it
 * sends, so the output is in the order of the game. The parent checks
 * every reply and the child's exit status, and exits non-zero if any is
 * wrong.
 */
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <objmgr.h>

#define ROUNDS 5

/* The child's side: answer every "ping N" with "pong N" until EOF. */
static int child(om_pipe *mine, om_pipe *theirs)
{
	om_pipe_close(theirs);
	int n = 0;
	for (;;) {
		om_item msg;
		int rc = om_pipe_recv(mine, &msg, OM_FOREVER);
		if (rc == OM_ECLOSED)
			break;
		if (rc || msg.kind != OM_STR || strncmp(msg.s.ptr, "ping ", 5))
			return 1;
		char reply[64];
		snprintf(reply, sizeof reply, "pong %s", msg.s.ptr + 5);
		printf("child:  got '%s', sending '%s'\n", msg.s.ptr, reply);
		fflush(stdout);
		om_item_free(&msg);
		if (om_pipe_send(mine, om_str(reply)))
			return 1;
		n++;
	}
	printf("child:  EOF after %d pings, bye\n", n);
	fflush(stdout);
	/* The parent's end is closed: sending is OM_ECLOSED too. */
	return n == ROUNDS && om_pipe_send(mine, om_str("?")) == OM_ECLOSED ? 0
	                                                                    : 1;
}

int main(void)
{
	om_client *c;
	om_pipe *mine, *theirs;
	int rc = om_spawn(NULL, &c); /* a private server, like Manager() */
	if (rc) {
		fprintf(stderr, "om_spawn: %s\n", om_strerror(rc));
		return 1;
	}
	if ((rc = om_pipe_open(c, NULL, 0, &mine, &theirs))) {
		fprintf(stderr, "om_pipe_open: %s\n", om_strerror(rc));
		return 1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0)
		_exit(child(theirs, mine));
	om_pipe_close(theirs);

	int failed = 0;
	for (int i = 1; i <= ROUNDS && !failed; i++) {
		char ping[32], want[32];
		snprintf(ping, sizeof ping, "ping %d", i);
		snprintf(want, sizeof want, "pong %d", i);
		printf("parent: sending '%s'\n", ping);
		fflush(stdout);
		om_item reply;
		if ((rc = om_pipe_send(mine, om_str(ping))) ||
		    (rc = om_pipe_recv(mine, &reply, 10))) {
			fprintf(stderr, "round %d: %s\n", i, om_strerror(rc));
			failed = 1;
			break;
		}
		if (reply.kind != OM_STR || strcmp(reply.s.ptr, want) != 0)
			failed = 1;
		else
			printf("parent: got '%s'\n", reply.s.ptr);
		om_item_free(&reply);
	}
	fflush(stdout);
	om_pipe_close(mine); /* the child's recv: EOF */
	int st = 0;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		failed = 1;
	printf("parent: child exited with %d\n",
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	om_disconnect(c); /* also stops the private server */
	return failed;
}
