/*
 * main.c — objmgrd: options, signals, the event loop, a clean stop.
 *
 * objmgrd runs in the foreground, logs to stderr, and stops on SIGINT,
 * SIGTERM or a client's SHUTDOWN request: parked calls are answered with
 * ESTOPPING, connections closed, and the socket file removed.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conn.h"
#include "listen.h"
#include "log.h"
#include "waiter.h"

struct event_base *base;
bool allow_other_users;

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: objmgrd [options]\n"
	        "Serve shared objects (dict, list, queue, lock, ...) to "
	        "libobjmgr clients.\n\n"
	        "  --socket PATH         socket path or unix:PATH (default: "
	        "$OBJMGR_ADDRESS,\n"
	        "                        $XDG_RUNTIME_DIR/objmgr.sock, "
	        "/tmp/objmgr-$UID/objmgr.sock)\n"
	        "  --log-level LEVEL     error, warn, info (default) or debug\n"
	        "  --max-frame BYTES     largest message accepted or sent "
	        "(default 64M)\n"
	        "  --max-item BYTES      largest str/bytes item stored "
	        "(default 32M)\n"
	        "  --max-memory BYTES    bytes all stored items may hold "
	        "(default 4G)\n"
	        "  --max-connections N   connections open at once (default "
	        "1024)\n"
	        "  --max-inflight N      parked requests per connection "
	        "(default 4096)\n"
	        "  --allow-other-users   accept peers of any uid (default: "
	        "only the server's)\n"
	        "  --ready-fd FD         write \"ready\\n\" to FD once "
	        "listening, then close it\n"
	        "  --parent-fd FD        stop when FD reaches end-of-file "
	        "(om_spawn's life pipe)\n"
	        "  --help, --version\n"
	        "BYTES take a K, M or G suffix.\n");
}

/* "64M" -> 67108864. @return 0, or -1 if malformed or zero. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end || v == 0 || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* The spawner's life pipe: any read event is its end (EOF) or garbage. */
static void on_parent(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	(void)arg;
	char b[64];
	if (read(fd, b, sizeof b) > 0)
		return;
	log_info("spawner gone: stopping");
	server_stop();
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	log_info("signal %d: stopping", (int)sig);
	server_stop();
}

void server_stop(void)
{
	event_base_loopexit(base, NULL);
}

int main(int argc, char **argv)
{
	enum {
		O_SOCKET = 256, O_LOG, O_MAXFRAME, O_MAXITEM, O_MAXMEM,
		O_MAXCONN, O_MAXINFL, O_ALLOW, O_READY, O_PARENT, O_HELP,
		O_VERSION,
	};
	static const struct option opts[] = {
		{"socket", required_argument, NULL, O_SOCKET},
		{"log-level", required_argument, NULL, O_LOG},
		{"max-frame", required_argument, NULL, O_MAXFRAME},
		{"max-item", required_argument, NULL, O_MAXITEM},
		{"max-memory", required_argument, NULL, O_MAXMEM},
		{"max-connections", required_argument, NULL, O_MAXCONN},
		{"max-inflight", required_argument, NULL, O_MAXINFL},
		{"allow-other-users", no_argument, NULL, O_ALLOW},
		{"ready-fd", required_argument, NULL, O_READY},
		{"parent-fd", required_argument, NULL, O_PARENT},
		{"help", no_argument, NULL, O_HELP},
		{"version", no_argument, NULL, O_VERSION},
		{NULL, 0, NULL, 0},
	};
	const char *address = NULL;
	int ready_fd = -1, parent_fd = -1;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		uint64_t v = 0;
		const char *arg = optarg;
		switch (opt) {
		case O_SOCKET:
			address = arg;
			break;
		case O_LOG:
			if (log_parse_level(arg, &log_level)) {
				fprintf(stderr, "objmgrd: unknown log level "
				                "'%s'\n", arg);
				return 2;
			}
			break;
		case O_MAXFRAME:
		case O_MAXITEM:
		case O_MAXMEM:
		case O_MAXCONN:
		case O_MAXINFL:
		case O_READY:
		case O_PARENT:
			if (parse_size(arg, &v) &&
			    !((opt == O_READY || opt == O_PARENT) &&
			      !strcmp(arg, "0"))) {
				fprintf(stderr, "objmgrd: bad number '%s' for "
				                "--%s\n", arg, opts[opt - O_SOCKET].name);
				return 2;
			}
			if (opt == O_MAXFRAME)
				limits.max_frame = v > UINT32_MAX ? UINT32_MAX : v;
			else if (opt == O_MAXITEM)
				limits.max_item = v;
			else if (opt == O_MAXMEM)
				limits.max_memory = v;
			else if (opt == O_MAXCONN)
				limits.max_conns = v > 1000000 ? 1000000 : (unsigned)v;
			else if (opt == O_MAXINFL)
				limits.max_inflight = v > 1000000 ? 1000000 : (unsigned)v;
			else if (opt == O_READY)
				ready_fd = v > 65535 ? -1 : (int)v;
			else
				parent_fd = v > 65535 ? -1 : (int)v;
			break;
		case O_ALLOW:
			allow_other_users = true;
			break;
		case O_HELP:
		case 'h':
			usage(stdout);
			return 0;
		case O_VERSION:
			printf("objmgrd %s (protocol %u)\n", OMI_VERSION,
			       OMI_PROTO_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "objmgrd: unexpected argument '%s'\n",
		        argv[optind]);
		usage(stderr);
		return 2;
	}

	signal(SIGPIPE, SIG_IGN);
	int status = 1;
	base = event_base_new();
	if (!base) {
		log_error("cannot create the event loop");
		return 1;
	}
	struct event *sigint = evsignal_new(base, SIGINT, on_signal, NULL);
	struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
	if (!sigint || !sigterm || event_add(sigint, NULL) ||
	    event_add(sigterm, NULL)) {
		log_error("cannot watch signals");
		goto out_base;
	}
	if (listen_start(address))
		goto out_base;
	struct event *parent = NULL;
	if (parent_fd >= 0) {
		parent = event_new(base, parent_fd, EV_READ | EV_PERSIST,
		                   on_parent, NULL);
		if (!parent || event_add(parent, NULL)) {
			log_error("cannot watch --parent-fd %d", parent_fd);
			goto out_base;
		}
	}
	if (ready_fd >= 0) {
		ssize_t w = write(ready_fd, "ready\n", 6);
		(void)w;
		close(ready_fd);
	}
	event_base_dispatch(base);
	/* Stopping: a second SIGINT/SIGTERM must not cut the clean stop
	 * short (the socket file would stay, parked calls go unanswered). */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	log_info("stopping: %llu objects, %llu connections",
	         (unsigned long long)stats.objects,
	         (unsigned long long)stats.connections);
	listen_stop();
	waiters_stop_all();
	conns_close_all();
	registry_free();
	status = 0;
	if (parent)
		event_free(parent);

out_base:
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	event_base_free(base);
	libevent_global_shutdown();
	return status;
}
