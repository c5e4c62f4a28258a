/*
 * spawn.c — om_spawn(): start a private objmgrd, like Python's Manager().
 *
 * The server is started on a socket in a fresh private directory (or the
 * given address) through a double fork, so it is not the caller's child: a
 * program's own `while (wait(&st) > 0)` loop over its workers must not wait
 * for the server. It reports readiness on a pipe (--ready-fd), so nothing
 * polls or sleeps. Its life is tied to a second pipe (--parent-fd) whose
 * write end only the spawner holds (forked children close their copy in
 * the atfork handler): when the spawner exits or is killed, the server sees
 * end-of-file and stops. om_shutdown()/om_disconnect() stop it explicitly.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

#ifndef OMI_BUILD_SERVER
#define OMI_BUILD_SERVER ""
#endif
#ifndef OMI_INSTALL_SERVER
#define OMI_INSTALL_SERVER "/usr/local/bin/objmgrd"
#endif

/* The server binary: $OBJMGR_SERVER, the build's, the installed one, or
 * "objmgrd" to be found on $PATH. */
static const char *server_binary(void)
{
	const char *env = getenv("OBJMGR_SERVER");
	if (env && *env)
		return env;
	if (*OMI_BUILD_SERVER && access(OMI_BUILD_SERVER, X_OK) == 0)
		return OMI_BUILD_SERVER;
	if (access(OMI_INSTALL_SERVER, X_OK) == 0)
		return OMI_INSTALL_SERVER;
	return "objmgrd";
}

/* The socket path for `address` or, for none, one in a fresh private
 * directory: *dir, to remove when done (NULL for a given address). */
static int socket_path(const char *address, char *path, size_t n, char **dir)
{
	*dir = NULL;
	if (address && *address) {
		/* A spawned server is this process's private one: a Unix
		 * socket only (objmgrd --listen serves TCP). */
		struct omi_addr a;
		char err[256];
		if (omi_parse_address(address, &a, err, sizeof err) || a.tcp)
			return OM_EINVAL;
		snprintf(path, n, "%s", a.path);
		return OM_OK;
	}
	const char *tmp = getenv("TMPDIR");
	char templ[PATH_MAX];
	snprintf(templ, sizeof templ, "%s/objmgr-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(templ))
		return OM_ECONN;
	if (!(*dir = strdup(templ))) {
		rmdir(templ);
		return OM_ECONN;
	}
	snprintf(path, n, "%s/objmgr.sock", *dir);
	return OM_OK;
}

/* In the child of fork(): exec the server as a grandchild, so that it is
 * nobody's child (this child exits at once and is reaped). Only
 * async-signal-safe calls until exec. */
static _Noreturn void exec_server(const char *bin, char **argv,
                                  const int ready[2], const int life[2])
{
	if (fork() != 0)
		_exit(0);
	close(life[1]);
	fcntl(ready[1], F_SETFD, 0);
	fcntl(life[0], F_SETFD, 0);
	if (strchr(bin, '/'))
		execv(bin, argv);
	else
		execvp(bin, argv);
	_exit(127);
}

/* Start a server on `path` and wait until it listens. @return OM_OK and
 * in *life_w the write end of its life pipe, or OM_ECONN. */
static int start_server(const char *path, int *life_w)
{
	int fds[4] = {-1, -1, -1, -1};
	int *ready = fds, *life = fds + 2;
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(life, O_CLOEXEC) < 0)
		goto out_close;
	char rfd[16], lfd[16];
	snprintf(rfd, sizeof rfd, "%d", ready[1]);
	snprintf(lfd, sizeof lfd, "%d", life[0]);
	const char *bin = server_binary();
	char *argv[] = {(char *)bin, "--socket",    (char *)path, "--ready-fd",
	                rfd,         "--parent-fd", lfd,          "--log-level",
	                "warn",      NULL};
	pid_t pid = fork();
	if (pid < 0)
		goto out_close;
	if (pid == 0)
		exec_server(bin, argv, ready, life);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	/* Only the server holds these now: the read below sees end-of-file
	 * if it exits (or could not exec) before listening. */
	close(ready[1]);
	close(life[0]);
	ready[1] = life[0] = -1;
	char buf[8];
	ssize_t n;
	while ((n = read(ready[0], buf, sizeof buf)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		goto out_close; /* closing life[1] stops it, if it runs */
	close(ready[0]);
	*life_w = life[1];
	return OM_OK;

out_close:
	for (size_t i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return OM_ECONN;
}

int om_spawn(const char *address, om_client **out)
{
	if (!out)
		return OM_EINVAL;
	char path[PATH_MAX];
	char *dir;
	int rc = socket_path(address, path, sizeof path, &dir);
	if (rc)
		return rc;
	int life_w;
	om_client *c;
	if ((rc = start_server(path, &life_w)))
		goto out_rmdir;
	if ((rc = om_connect(path, &c))) {
		close(life_w); /* the server sees end-of-file and stops */
		goto out_rmdir;
	}
	c->spawner = getpid();
	c->spawn_dir = dir;
	omi_life_adopt(c, life_w);
	*out = c;
	return OM_OK;

out_rmdir:
	if (dir)
		rmdir(dir);
	free(dir);
	return rc;
}
