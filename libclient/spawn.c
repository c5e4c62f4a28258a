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

int om_spawn(const char *address, om_client **out)
{
	if (!out)
		return OM_EINVAL;
	int rc = OM_ECONN;
	char *dir = NULL;
	char path[PATH_MAX];
	if (address && *address) {
		if (omi_resolve_address(address, path, sizeof path))
			return OM_EINVAL;
	} else {
		const char *tmp = getenv("TMPDIR");
		char templ[PATH_MAX];
		snprintf(templ, sizeof templ, "%s/objmgr-XXXXXX",
		         tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(templ))
			return OM_ECONN;
		if (!(dir = strdup(templ)))
			goto out_rmdir;
		snprintf(path, sizeof path, "%s/objmgr.sock", dir);
	}

	int ready[2], life[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		goto out_rmdir;
	if (pipe2(life, O_CLOEXEC) < 0)
		goto out_ready;
	char rfd[16], lfd[16];
	snprintf(rfd, sizeof rfd, "%d", ready[1]);
	snprintf(lfd, sizeof lfd, "%d", life[0]);
	const char *bin = server_binary();
	char *argv[] = {(char *)bin, "--socket", path, "--ready-fd", rfd,
	                "--parent-fd", lfd, "--log-level", "warn", NULL};
	pid_t pid = fork();
	if (pid < 0)
		goto out_life;
	if (pid == 0) {
		/* Async-signal-safe calls only until exec. The middle child
		 * exits at once, so the server is nobody's child here. */
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
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	close(ready[1]);
	close(life[0]);
	char buf[8];
	ssize_t n;
	while ((n = read(ready[0], buf, sizeof buf)) < 0 && errno == EINTR)
		;
	close(ready[0]);
	if (n <= 0) {
		/* It exited (or could not exec) before listening. */
		close(life[1]);
		goto out_rmdir;
	}
	om_client *c;
	if ((rc = om_connect(path, &c))) {
		close(life[1]); /* the server sees EOF and stops */
		goto out_rmdir;
	}
	c->spawner = getpid();
	c->spawn_dir = dir;
	omi_life_adopt(c, life[1]);
	*out = c;
	return OM_OK;

out_life:
	close(life[0]);
	close(life[1]);
out_ready:
	close(ready[0]);
	close(ready[1]);
out_rmdir:
	if (dir)
		rmdir(dir);
	free(dir);
	return rc;
}
