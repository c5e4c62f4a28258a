/*
 * listen.c — the listening socket: resolve the address, make the socket's
 * directory (0700) and the socket (0600), replace a stale socket file but
 * refuse to start beside a live server, and accept connections.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "conn.h"
#include "listen.h"
#include "log.h"

static int lfd = -1;
static struct event *lev;
/* A descriptor kept in reserve: at the descriptor limit, accept() fails
 * and the connection would stay in the backlog, the event firing again at
 * once — a spin. Closing the spare lets us accept it, refuse it with a
 * clear answer and close it, and take the spare again (libevent and
 * nginx do the same). */
static int spare_fd = -1;
static struct log_limit fd_refusals;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

/* Create the directory of `path` (and its parents) if missing: new
 * directories are 0700, so only this user reaches the socket. */
static int make_dirs(const char *path)
{
	char dir[sizeof sock_path];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Is a server answering on `path`? */
static bool live_server(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool live = connect(fd, (const struct sockaddr *)sun, sizeof *sun) == 0;
	close(fd);
	return live;
}

static void take_spare(void)
{
	if (spare_fd < 0)
		spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	take_spare();
	if (lev)
		event_add(lev, NULL);
}

/* Out of descriptors: accept one connection with the spare and refuse it.
 * With no spare either, stop accepting for a moment rather than spin.
 * @return whether to go on accepting now. */
static bool refuse_one(int fd)
{
	if (spare_fd < 0) {
		static const struct timeval pause = {0, 100 * 1000};
		log_warn_limited(&fd_refusals,
		                 "out of file descriptors: not accepting for "
		                 "100 ms");
		event_del(lev);
		event_base_once(omi_srv.base, -1, EV_TIMEOUT, on_resume, NULL,
		                &pause);
		return false;
	}
	close(spare_fd);
	spare_fd = -1;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd >= 0) {
		log_warn_limited(
		        &fd_refusals,
		        "refused a connection: out of file descriptors");
		conn_refuse(cfd, OM_ELIMIT,
		            "the server is out of file descriptors");
	}
	take_spare();
	return true;
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	(void)arg;
	for (int i = 0; i < 64; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			conn_accept(cfd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if ((errno == EMFILE || errno == ENFILE) && refuse_one(fd))
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			log_warn_limited(&fd_refusals, "accept: %s",
			                 strerror(errno));
		break;
	}
}

int listen_start(const char *address)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (omi_resolve_address(address, sun.sun_path, sizeof sun.sun_path)) {
		log_error("bad address '%s' (a socket path or unix:PATH)",
		          address ? address : "");
		return -1;
	}
	snprintf(sock_path, sizeof sock_path, "%s", sun.sun_path);
	if (make_dirs(sock_path) < 0) {
		log_error("cannot create the directory of %s: %s", sock_path,
		          strerror(errno));
		return -1;
	}
	struct stat st;
	if (lstat(sock_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("%s exists and is not a socket", sock_path);
			return -1;
		}
		if (live_server(&sun)) {
			log_error("another objmgrd is already serving %s",
			          sock_path);
			return -1;
		}
		log_info("replacing stale socket %s", sock_path);
		unlink(sock_path);
	}
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		log_error("socket: %s", strerror(errno));
		return -1;
	}
	/* The umask makes the socket 0600 from birth: no window in which
	 * another user could connect before a chmod. */
	mode_t old = umask(0177);
	int rc = bind(lfd, (struct sockaddr *)&sun, sizeof sun);
	umask(old);
	if (rc < 0) {
		log_error("bind %s: %s", sock_path, strerror(errno));
		goto out_close;
	}
	chmod(sock_path, 0600);
	if (listen(lfd, SOMAXCONN) < 0) {
		log_error("listen: %s", strerror(errno));
		goto out_unlink;
	}
	lev = event_new(omi_srv.base, lfd, EV_READ | EV_PERSIST, on_accept,
	                NULL);
	if (!lev || event_add(lev, NULL)) {
		log_error("cannot watch the listening socket");
		goto out_unlink;
	}
	take_spare();
	log_info("listening on %s", sock_path);
	return 0;

out_unlink:
	unlink(sock_path);
out_close:
	close(lfd);
	lfd = -1;
	return -1;
}

void listen_stop(void)
{
	if (spare_fd >= 0)
		close(spare_fd);
	spare_fd = -1;
	if (lev) {
		event_free(lev);
		lev = NULL;
	}
	if (lfd >= 0) {
		close(lfd);
		lfd = -1;
		unlink(sock_path);
	}
}

const char *listen_path(void)
{
	return sock_path;
}
