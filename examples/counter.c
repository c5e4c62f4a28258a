/*
 * counter.c — the README's example: a parent creates a shared dict, forks
 * workers that update it, and prints the result.
 *
 * Every worker uses the handle it inherited through fork(); the library
 * gives each child its own connection on its first call. om_dict_incr is
 * atomic in the server, so no update is lost (unlike `d[k] += 1` on a
 * Python Manager dict).
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <objmgr.h>

#define WORKERS 4
#define ROUNDS 1000

int main(void)
{
	om_client *c;
	om_dict *d;
	int rc = om_spawn(NULL, &c); /* a private server, like Manager() */
	if (rc) {
		fprintf(stderr, "om_spawn: %s\n", om_strerror(rc));
		return 1;
	}
	if ((rc = om_dict_open(c, NULL, 0, &d))) {
		fprintf(stderr, "om_dict_open: %s\n", om_strerror(rc));
		return 1;
	}
	for (int w = 0; w < WORKERS; w++) {
		if (fork() == 0) {
			char key[16];
			snprintf(key, sizeof key, "worker%d", w);
			for (int i = 0; i < ROUNDS; i++) {
				if (om_dict_incr(d, om_str("total"), om_int(1),
				                 NULL) ||
				    om_dict_incr(d, om_str(key), om_int(1), NULL))
					_exit(1);
			}
			_exit(0);
		}
	}
	int st, failed = 0;
	while (wait(&st) > 0)
		failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;

	om_items keys, values;
	if ((rc = om_dict_items(d, &keys, &values))) {
		fprintf(stderr, "om_dict_items: %s\n", om_strerror(rc));
		return 1;
	}
	for (size_t i = 0; i < keys.n; i++) {
		printf("%s = %lld\n", keys.v[i].s.ptr, (long long)values.v[i].i);
		if (i == 0 && values.v[i].i != WORKERS * ROUNDS)
			failed = 1; /* an update was lost: never here */
	}
	om_items_free(&keys);
	om_items_free(&values);
	om_release(d);
	om_disconnect(c); /* also stops the private server */
	return failed;
}
