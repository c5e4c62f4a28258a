/*
 * harness.h — what every test needs: a real objmgrd on a private socket,
 * clients connected to it, forked children that are always reaped, a
 * bound on every wait (a hang fails the test instead of hanging CI), and
 * the assertions and anonymous objects that more than one test file uses
 * (so each has one implementation).
 *
 * The server binary is $OBJMGR_SERVER (meson sets it to the build's). Each
 * server gets a fresh directory under $TMPDIR, so test programs run in
 * parallel without sharing sockets or names.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <setjmp.h> /* cmocka needs these first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdbool.h>
#include <sys/types.h>

#include "objmgr.h"

struct server {
	pid_t pid;
	char dir[256];
	char path[300];
	int nofile; /* the server's limit on open descriptors (0: as ours) */
	bool log;   /* its stderr goes to `dir`/log (server_log) */
	char key_file[300]; /* server_start_tcp: `dir`/key, or "" */
};

/** The program's server: srv_setup/srv_teardown start and stop it as
 *  cmocka group fixtures (RUN(tests, secs, srv_setup, srv_teardown)). */
extern struct server srv;
int srv_setup(void **state);
int srv_teardown(void **state);

/**
 * Start objmgrd with extra arguments (NULL-terminated list, may be NULL)
 * and wait until it is listening (its --ready-fd). Fails the test on error.
 */
void server_start(struct server *s, const char *const *extra);
/** Start objmgrd again on s's socket, in s's directory, once the server
 *  there has died (server_stop removes the directory): what an
 *  administrator does after a crash. As server_start otherwise. */
void server_restart(struct server *s, const char *const *extra);
/** server_start() with a limit on the server's open descriptors (0: as
 *  ours) and, if `log`, its stderr kept for server_log(). */
void server_start_opts(struct server *s, const char *const *extra, int nofile,
                       bool log);
/**
 * server_start_opts (its log kept) for a server that also listens on TCP:
 * 127.0.0.1 and, with `v6`, ::1, on ports the kernel picks (port 0), its
 * key `key` (strlen bytes) in the file s->key_file (mode 0600).
 */
void server_start_tcp(struct server *s, const char *key, bool v6,
                      const char *const *extra);
/** The TCP address s listens on, from its log ("listening on tcp:..."):
 *  "tcp:127.0.0.1:PORT", or with `v6` "tcp:[::1]:PORT". Fails the test if
 *  there is none. */
void server_tcp_address(const struct server *s, bool v6, char *buf, size_t cap);
/** Write `key` to `path` and chmod it to `mode`. */
void write_key_file(const char *path, const char *key, mode_t mode);

/** A handle for client `to` on the object behind `handle` (of client
 *  `from`), passed the way another session must get it: through the server
 *  (stored in a named dict, read back by `to`) — a session reaches only
 *  what it opened, inherited or was handed in an answer. */
void *share(om_client *from, const void *handle, om_client *to);
/** The server's stderr so far (s->log set), NUL-terminated, in buf. */
size_t server_log(const struct server *s, char *buf, size_t cap);
/** SIGTERM it, reap it, check it exited 0 and removed its socket. */
void server_stop(struct server *s);
/** server_stop without the checks: reap()'s status, or -3 if the server
 *  exited 0 but left its socket file. */
int server_end(struct server *s);
/** SIGKILL it, as a crash would (its socket file stays), and reap it:
 *  returns reap()'s status, -1 for a server the signal killed. */
int server_crash(struct server *s);
/** Run objmgrd with exactly these arguments (NULL-terminated), its output
 *  discarded, and return its exit status as reap() does: for options that
 *  make it exit, or a server that must refuse to start. */
int server_run(const char *const *args);
/** om_connect() to s, failing the test if it does not work. */
om_client *client(const struct server *s);

/** A new anonymous dict, list or queue (maxsize 0: unbounded) on c, for a
 *  test about something else: fails the test if it cannot be opened. */
om_dict *new_dict(om_client *c);
om_list *new_list(om_client *c);
om_queue *new_queue(om_client *c, size_t maxsize);

/** fork(): in the child, run fn(arg) and _exit with its return value.
 *  Children must not use cmocka's assertions (they would longjmp into the
 *  parent's copy of the runner): return non-zero to fail instead. */
pid_t spawn_child(int (*fn)(void *), void *arg);
/** waitpid with a bound: returns the exit status, or -1 if the child was
 *  killed by a signal, -2 if it did not end within `seconds` (it is then
 *  killed). */
int reap(pid_t pid, int seconds);
/** reap() n children (60 s each), then fail the test unless every one
 *  exited with 0. */
#define reap_all(pids, n) reap_all_(pids, n, __FILE__, __LINE__)
void reap_all_(const pid_t *pids, int n, const char *file, int line);

/**
 * Poll done(arg) until it returns true, for up to `seconds`: true if it
 * did, false if the time ran out. For waiting on state that another process
 * or the server changes on its own time, never for time to pass. Asserts
 * nothing, so children may use it too.
 */
bool poll_until(bool (*done)(void *), void *arg, int seconds);

/**
 * Wait until the server's statistic `field` equals `want`, polling for up to
 * 10 s and failing the test if it never does. This waits for server state
 * (a dead peer's connection is noticed on the server's own time; a child's
 * call is parked once it is counted), never for time to pass:
 * wait_stat(c, connections, 1), wait_stat(c, parked, 3). A failure names
 * the caller's line.
 */
#define wait_stat(c, field, want)                                     \
	wait_stat_(c, offsetof(om_server_stats, field), #field, want, \
	           __FILE__, __LINE__)
void wait_stat_(om_client *c, size_t offset, const char *name, uint64_t want,
                const char *file, int line);
/** wait_stat for children: true once `field` equals `want`, false if it
 *  does not within `seconds` or om_stats fails. */
#define poll_stat(c, field, want, seconds) \
	poll_stat_(c, offsetof(om_server_stats, field), want, seconds)
bool poll_stat_(om_client *c, size_t offset, uint64_t want, int seconds);

/**
 * Wait until process `pid` waits in a blocking call: parked in the server
 * (its statistic `parked` reaches `parked`) or asleep on a futex of a
 * mapped object (shared memory: the server does not see it wait). For
 * making a test kill or wake a waiter rather than race it; fails the test
 * after 10 s.
 */
/** Whether process (or thread) `pid` is in futex(2) now: asleep on a
 *  mapped object's word (/proc/PID/syscall names the call). */
bool in_futex(pid_t pid);
#define wait_blocked(c, pid, parked) \
	wait_blocked_(c, pid, parked, __FILE__, __LINE__)
void wait_blocked_(om_client *c, pid_t pid, uint64_t parked, const char *file,
                   int line);

/**
 * Wait until c is the server's only connection (the server notices that
 * children and earlier tests have closed theirs on its own time), and
 * return its statistics then: a baseline for a test to come back to.
 */
om_server_stats settle(om_client *c);

/** Pipes between a test and its children: send_byte() writes one byte;
 *  wait_byte() waits up to `seconds` for one and reads it. Both return 0,
 *  or -1 (closed, timed out, failed). Safe to use in children. */
int send_byte(int fd);
int wait_byte(int fd, int seconds);

/** Seconds since some fixed point (CLOCK_MONOTONIC). */
double now(void);

/**
 * The item must be of this kind and hold exactly this value: an int, a
 * float (0.0 and -0.0 differ), a str of strlen(s) bytes, or a str of the n
 * bytes at p (NULs allowed). A str must also be NUL-terminated, as the
 * library promises. A failure names the caller's line and what the item was.
 */
#define assert_int_item(it, v)   assert_int_item_(it, v, __FILE__, __LINE__)
#define assert_float_item(it, v) assert_float_item_(it, v, __FILE__, __LINE__)
#define assert_str_item(it, s)   assert_str_item_(it, s, __FILE__, __LINE__)
#define assert_strn_item(it, p, n) \
	assert_strn_item_(it, p, n, __FILE__, __LINE__)
void assert_int_item_(const om_item *it, int64_t v, const char *file, int line);
void assert_float_item_(const om_item *it, double v, const char *file,
                        int line);
void assert_str_item_(const om_item *it, const char *s, const char *file,
                      int line);
void assert_strn_item_(const om_item *it, const char *p, size_t n,
                       const char *file, int line);

/** Expect `call` to return `rc`, printing om_errmsg on mismatch. */
#define expect_rc(c, call, rc)                                                \
	do {                                                                  \
		int rc_ = (call);                                             \
		if (rc_ != (rc))                                              \
			print_error("%s = %d (%s: %s), expected %d\n", #call, \
			            rc_, om_strerror(rc_), om_errmsg(c),      \
			            (int)(rc));                               \
		assert_int_equal(rc_, (rc));                                  \
	} while (0)

#define expect_ok(c, call) expect_rc(c, call, OM_OK)

/** Run the cmocka group (with group setup/teardown, may be NULL) under a
 *  watchdog: the whole program is killed by SIGALRM after `seconds`. */
int run_group(const char *name, const struct CMUnitTest *tests, size_t n,
              int seconds, CMFixtureFunction setup, CMFixtureFunction teardown);
#define RUN(tests, seconds, setup, teardown)                           \
	run_group(__FILE__, tests, sizeof(tests) / sizeof((tests)[0]), \
	          seconds, setup, teardown)

#endif /* HARNESS_H */
