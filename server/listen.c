/*
 * listen.c — the listening sockets: for a Unix address, make the socket's
 * directory (0700) and the socket (0600), replace a stale socket file but
 * refuse to start beside a live server; for a TCP one, a socket on every
 * address its host resolves to. Accept connections on all of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
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

/* One per socket: a TCP host may resolve to several addresses. */
enum { LISTENERS_MAX = 4 * LISTEN_MAX };
struct listener {
	int fd;
	struct event *ev;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* Unix */
};
static struct listener lsn[LISTENERS_MAX];
static size_t nlsn;
/* A descriptor kept in reserve: at the descriptor limit, accept() fails
 * and the connection would stay in the backlog, the event firing again at
 * once — a spin. Closing the spare lets us accept it, refuse it with a
 * clear answer and close it, and take the spare again (libevent and
 * nginx do the same). */
static int spare_fd = -1;
static struct log_limit fd_refusals;

/* Create the directory of `path` (and its parents) if missing: new
 * directories are 0700, so only this user reaches the socket. */
static int make_dirs(const char *path)
{
	char dir[sizeof lsn[0].path];
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
	for (size_t i = 0; i < nlsn; i++)
		event_add(lsn[i].ev, NULL);
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
		for (size_t i = 0; i < nlsn; i++)
			event_del(lsn[i].ev);
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

/* Watch a listening socket. @return 0, or -1 after logging why. */
static int watch(int fd, const char *path)
{
	if (nlsn == LISTENERS_MAX) {
		log_error("too many listening sockets (at most %d)",
		          LISTENERS_MAX);
		return -1;
	}
	struct listener *l = &lsn[nlsn];
	l->ev = event_new(omi_srv.base, fd, EV_READ | EV_PERSIST, on_accept,
	                  NULL);
	if (!l->ev || event_add(l->ev, NULL)) {
		if (l->ev)
			event_free(l->ev);
		l->ev = NULL;
		log_error("cannot watch a listening socket");
		return -1;
	}
	l->fd = fd;
	snprintf(l->path, sizeof l->path, "%s", path ? path : "");
	nlsn++;
	return 0;
}

static int listen_unix(const char *sock_path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", sock_path);
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
	int lfd =
	        socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
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
	if (watch(lfd, sock_path))
		goto out_unlink;
	log_info("listening on %s", sock_path);
	return 0;

out_unlink:
	unlink(sock_path);
out_close:
	close(lfd);
	return -1;
}

/* One TCP socket on `ai`. @return 0, or -1 after logging why. */
static int listen_one_tcp(const struct addrinfo *ai)
{
	char name[80];
	omi_format_sockaddr(ai->ai_addr, name, sizeof name);
	int fd = socket(ai->ai_family,
	                ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                ai->ai_protocol);
	if (fd < 0) {
		log_error("socket for %s: %s", name, strerror(errno));
		return -1;
	}
	int on = 1;
	/* A restarted server rebinds its port at once, past TIME_WAIT; a v6
	 * socket takes only v6 (a name resolving to both gets two). */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		log_error("bind %s: %s", name, strerror(errno));
		goto out_close;
	}
	if (listen(fd, SOMAXCONN) < 0) {
		log_error("listen %s: %s", name, strerror(errno));
		goto out_close;
	}
	/* Port 0 is the kernel's pick: say the real one. */
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		omi_format_sockaddr((struct sockaddr *)&ss, name, sizeof name);
	if (watch(fd, NULL))
		goto out_close;
	log_info("listening on %s", name);
	return 0;

out_close:
	close(fd);
	return -1;
}

static int listen_tcp(const struct omi_addr *a)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_ADDRCONFIG},
	                *res;
	int rc = getaddrinfo(a->host, a->port, &hints, &res);
	if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME) {
		/* AI_ADDRCONFIG hides loopback-only families (::1 on a host
		 * with no v6 address but lo's): ask again without it. */
		hints.ai_flags = AI_PASSIVE;
		rc = getaddrinfo(a->host, a->port, &hints, &res);
	}
	if (rc) {
		log_error("cannot resolve %s: %s", a->host, gai_strerror(rc));
		return -1;
	}
	rc = 0;
	for (const struct addrinfo *ai = res; ai && !rc; ai = ai->ai_next)
		rc = listen_one_tcp(ai);
	freeaddrinfo(res);
	return rc;
}

int listen_start(const char *const *addresses, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct omi_addr a;
		char err[256];
		if (omi_parse_address(addresses[i], &a, err, sizeof err)) {
			log_error("bad address '%s': %s",
			          addresses[i] ? addresses[i] : "", err);
			goto out_stop;
		}
		if (a.tcp ? listen_tcp(&a) : listen_unix(a.path))
			goto out_stop;
	}
	take_spare();
	return 0;

out_stop:
	listen_stop();
	return -1;
}

void listen_stop(void)
{
	if (spare_fd >= 0)
		close(spare_fd);
	spare_fd = -1;
	for (size_t i = 0; i < nlsn; i++) {
		event_free(lsn[i].ev);
		close(lsn[i].fd);
		if (lsn[i].path[0])
			unlink(lsn[i].path);
	}
	nlsn = 0;
}
