/*
 * main.c — objmgrd: options, signals, the event loop, a clean stop.
 *
 * Concurrency model: one thread, the libevent loop; nothing else runs in
 * the server. Every callback — a connection's read, a parked call's
 * deadline, a signal — runs to completion before the next, so objects have
 * no mutexes and counts are plain integers. Each iteration of the loop
 * ends with one epilogue (as Redis's beforeSleep): destroy the objects
 * whose last reference went, then write every connection's answers, so a
 * burst of requests costs one write per connection.
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
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "auth.h"
#include "conn.h"
#include "fault.h"
#include "hold.h"
#include "listen.h"
#include "log.h"
#include "segment.h"
#include "waiter.h"

/* ---------------------------------------------------------------- options */

/* --listen's addresses (at most LISTEN_MAX: listen.h). */
struct addr_list {
	const char *v[LISTEN_MAX];
	size_t n;
};

struct config {
	const char *address; /* --socket */
	struct addr_list listen;
	const char *authkey_file;
	int ready_fd, parent_fd;
};

/* What an option's argument is, and where it goes. */
enum opt_kind {
	OPT_STR,
	OPT_LEVEL,
	OPT_SIZE,
	OPT_COUNT,
	OPT_FD,
	OPT_FLAG,
	OPT_SECONDS,
	OPT_LIST, /* repeatable: each one appended to a struct addr_list */
};

struct opt_def {
	const char *name;
	enum opt_kind kind;
	const char *arg, *help; /* for --help */
	size_t off;             /* where the value goes in struct setting */
	uint64_t max;           /* OPT_SIZE, OPT_COUNT, OPT_FD: clamped */
};

/* Every place an option may write, so one table can name them. */
struct setting {
	struct server_limits limits;
	struct config cfg;
	bool allow_other_users;
	unsigned keepalive;
	enum log_level level;
};

#define AT(field) offsetof(struct setting, field)
static const struct opt_def opt_table[] = {
        {"socket", OPT_STR, "PATH",
         "socket path or unix:PATH (default: $OBJMGR_ADDRESS,\n"
         "                        $XDG_RUNTIME_DIR/objmgr.sock, "
         "/tmp/objmgr-$UID/objmgr.sock)",
         AT(cfg.address), 0},
        {"listen", OPT_LIST, "ADDR",
         "listen there: unix:PATH, tcp:HOST:PORT, tcp:[V6ADDR]:PORT;\n"
         "                        repeatable; with it, only where told\n"
         "                        (TCP needs --authkey-file)",
         AT(cfg.listen), 0},
        {"authkey-file", OPT_STR, "FILE",
         "the key TCP peers must prove they hold (mode 0600\n"
         "                        or stricter, ours; one trailing newline "
         "dropped)",
         AT(cfg.authkey_file), 0},
        {"keepalive", OPT_COUNT, "SECONDS",
         "end a TCP session whose peer stops answering after\n"
         "                        about twice this silence (default 30)",
         AT(keepalive), OMI_MAX_KEEPALIVE},
        {"log-level", OPT_LEVEL, "LEVEL",
         "error, warn, info (default) or debug", AT(level), 0},
        {"max-frame", OPT_SIZE, "BYTES",
         "largest message accepted or sent (default 64M)", AT(limits.max_frame),
         UINT32_MAX},
        {"max-item", OPT_SIZE, "BYTES",
         "largest str/bytes item stored (default 32M)", AT(limits.max_item),
         SIZE_MAX},
        {"max-memory", OPT_SIZE, "BYTES",
         "bytes all stored items may hold (default 4G)", AT(limits.max_memory),
         UINT64_MAX},
        {"max-connections", OPT_COUNT, "N",
         "connections open at once (default 1024)", AT(limits.max_conns),
         OMI_MAX_COUNT_CAP},
        {"max-inflight", OPT_COUNT, "N",
         "parked requests per connection (default 4096)",
         AT(limits.max_inflight), OMI_MAX_COUNT_CAP},
        {"max-output", OPT_SIZE, "BYTES",
         "queued answers a connection may have before its\n"
         "                        requests wait (default 16M)",
         AT(limits.max_output), SIZE_MAX},
        {"handshake-timeout", OPT_SECONDS, "SECONDS",
         "close a connection without a Hello by then (default 10)",
         AT(limits.handshake_timeout), OMI_MAX_SECONDS},
        {"allow-other-users", OPT_FLAG, NULL,
         "accept peers of any uid (default: only the server's)",
         AT(allow_other_users), 0},
        {"ready-fd", OPT_FD, "FD",
         "write \"ready\\n\" to FD once listening, then close it",
         AT(cfg.ready_fd), OMI_MAX_FD},
        {"parent-fd", OPT_FD, "FD",
         "stop when FD reaches end-of-file (om_spawn's life pipe)",
         AT(cfg.parent_fd), OMI_MAX_FD},
};
#undef AT

enum { OPT_HELP = ARRAY_LEN(opt_table), OPT_VERSION };

static void usage(FILE *f)
{
	fprintf(f, "usage: objmgrd [options]\n"
	           "Serve shared objects (dict, list, queue, lock, ...) to "
	           "libobjmgr clients.\n\n");
	for (size_t i = 0; i < ARRAY_LEN(opt_table); i++) {
		const struct opt_def *d = &opt_table[i];
		char left[64];
		snprintf(left, sizeof left, "--%s%s%s", d->name,
		         d->arg ? " " : "", d->arg ? d->arg : "");
		fprintf(f, "  %-20s  %s\n", left, d->help);
	}
	fprintf(f, "  --help, --version\n"
	           "BYTES take a K, M or G suffix.\n");
}

/* "64M" -> 67108864 (a suffix only with `suffix`). @return 0, or -1 if
 * malformed. */
static int parse_num(const char *s, bool suffix, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	unsigned shift = 0;
	if (suffix) {
		switch (*end) {
		case 'k':
		case 'K':
			shift = 10;
			end++;
			break;
		case 'm':
		case 'M':
			shift = 20;
			end++;
			break;
		case 'g':
		case 'G':
			shift = 30;
			end++;
			break;
		}
	}
	if (*end || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Store option d's argument into *set. @return 0, or -1 after saying why. */
static int apply_opt(const struct opt_def *d, const char *arg,
                     struct setting *set)
{
	char *at = (char *)set + d->off;
	uint64_t v = 0;
	switch (d->kind) {
	case OPT_STR:
		*(const char **)at = arg;
		return 0;
	case OPT_FLAG:
		*(bool *)at = true;
		return 0;
	case OPT_LIST: {
		struct addr_list *l = (struct addr_list *)at;
		if (l->n == LISTEN_MAX) {
			fprintf(stderr, "objmgrd: at most %d --%s options\n",
			        LISTEN_MAX, d->name);
			return -1;
		}
		l->v[l->n++] = arg;
		return 0;
	}
	case OPT_SECONDS: {
		char *end;
		double t = strtod(arg, &end);
		if (end == arg || *end || !(t > 0) || t > (double)d->max) {
			fprintf(stderr,
			        "objmgrd: bad number of seconds '%s' for "
			        "--%s\n",
			        arg, d->name);
			return -1;
		}
		*(double *)at = t;
		return 0;
	}
	case OPT_LEVEL:
		if (log_parse_level(arg, (enum log_level *)at) == 0)
			return 0;
		fprintf(stderr, "objmgrd: unknown log level '%s'\n", arg);
		return -1;
	case OPT_SIZE:
	case OPT_COUNT:
	case OPT_FD:
		/* Sizes and counts are at least 1; a descriptor may be 0. */
		if (parse_num(arg, d->kind == OPT_SIZE, &v) ||
		    (v == 0 && d->kind != OPT_FD)) {
			fprintf(stderr, "objmgrd: bad number '%s' for --%s\n",
			        arg, d->name);
			return -1;
		}
		break;
	}
	if (v > d->max)
		v = d->kind == OPT_FD ? (uint64_t)-1 : d->max;
	switch (d->kind) {
	case OPT_SIZE:
		if (d->off == offsetof(struct setting, limits.max_memory))
			*(uint64_t *)at = v;
		else
			*(size_t *)at = (size_t)v;
		break;
	case OPT_COUNT:
		*(unsigned *)at = (unsigned)v;
		break;
	default:
		*(int *)at = (int)v; /* OPT_FD: -1 when out of range */
		break;
	}
	return 0;
}

/* @return -1 to go on, or the exit status (0 for --help and --version). */
static int parse_args(int argc, char **argv, struct setting *set)
{
	struct option longopts[ARRAY_LEN(opt_table) + 3];
	for (size_t i = 0; i < ARRAY_LEN(opt_table); i++)
		longopts[i] = (struct option){opt_table[i].name,
		                              opt_table[i].kind == OPT_FLAG
		                                      ? no_argument
		                                      : required_argument,
		                              NULL, (int)i};
	longopts[OPT_HELP] =
	        (struct option){"help", no_argument, NULL, OPT_HELP};
	longopts[OPT_VERSION] =
	        (struct option){"version", no_argument, NULL, OPT_VERSION};
	longopts[OPT_VERSION + 1] = (struct option){NULL, 0, NULL, 0};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == OPT_HELP || opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (opt == OPT_VERSION) {
			printf("objmgrd %s (protocol %u)\n", OMI_VERSION,
			       OMI_PROTO_VERSION);
			return 0;
		}
		if (opt < 0 || opt >= (int)ARRAY_LEN(opt_table)) {
			usage(stderr);
			return 2;
		}
		if (apply_opt(&opt_table[opt], optarg, set))
			return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "objmgrd: unexpected argument '%s'\n",
		        argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

/* Where to listen: every --listen, and --socket as one more Unix address;
 * with neither, the default address (NULL). A TCP address needs a key.
 * @return -1 to go on, or the exit status after saying why. */
static int check_listen(const struct config *cfg, const char **addrs, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < cfg->listen.n; i++)
		addrs[(*n)++] = cfg->listen.v[i];
	if (cfg->address || *n == 0)
		addrs[(*n)++] = cfg->address; /* NULL: the default */
	for (size_t i = 0; i < *n; i++) {
		struct omi_addr a;
		char err[256];
		if (omi_parse_address(addrs[i], &a, err, sizeof err)) {
			fprintf(stderr, "objmgrd: bad address '%s': %s\n",
			        addrs[i] ? addrs[i] : "", err);
			return 2;
		}
		if (a.tcp && !cfg->authkey_file) {
			fprintf(stderr,
			        "objmgrd: refusing to listen on %s without a "
			        "key: TCP peers are authenticated with "
			        "--authkey-file FILE\n",
			        addrs[i]);
			return 2;
		}
	}
	return -1;
}

/* ------------------------------------------------------------------- loop */

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

/* Every shared object keeps its segment's descriptor (segment.c), so use
 * as many as the hard limit allows: the soft limit is often 1024, and an
 * object past it is kept in private memory, which no client can map. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		log_warn("cannot raise the descriptor limit to %llu: %s",
		         (unsigned long long)rl.rlim_max, strerror(errno));
}

/* The end of every loop iteration (and of the clean stop). */
static void epilogue(void)
{
	obj_reap();
	conns_flush();
}

static void run_loop(void)
{
	while (!omi_srv.stopping) {
		if (event_base_loop(omi_srv.base, EVLOOP_ONCE) < 0) {
			log_error("event loop failed");
			break;
		}
		epilogue();
	}
}

/* A clean stop: a second SIGINT/SIGTERM must not cut it short (the socket
 * file would stay, parked calls go unanswered). */
static void stop_cleanly(void)
{
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	log_info("stopping: %llu objects, %llu connections",
	         (unsigned long long)omi_srv.stats.objects,
	         (unsigned long long)omi_srv.stats.connections);
	listen_stop();
	waiters_stop_all();
	epilogue();
	conns_close_all();
	holds_free_all();
	epilogue();
	registry_free();
	segments_stop();
}

int main(int argc, char **argv)
{
	struct setting set = {
	        .limits = omi_srv.limits,
	        .cfg = {.ready_fd = -1, .parent_fd = -1},
	        .keepalive = omi_srv.keepalive,
	        .level = omi_log_level,
	};
	int status = parse_args(argc, argv, &set);
	if (status >= 0)
		return status;
	omi_srv.limits = set.limits;
	omi_srv.allow_other_users = set.allow_other_users;
	omi_srv.keepalive = set.keepalive;
	omi_log_level = set.level;
	const char *addrs[LISTEN_MAX + 1];
	size_t naddrs;
	if ((status = check_listen(&set.cfg, addrs, &naddrs)) >= 0)
		return status;
	uint8_t *key = NULL;
	size_t keylen = 0;
	if (set.cfg.authkey_file) {
		char err[512];
		if (omi_read_key_file(set.cfg.authkey_file, &key, &keylen, err,
		                      sizeof err)) {
			fprintf(stderr, "objmgrd: %s\n", err);
			return 1;
		}
		omi_srv.authkey = key;
		omi_srv.authkey_len = keylen;
	}

	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	fault_init();
	dispatch_init();
	status = 1;
	struct event *sigint = NULL, *sigterm = NULL, *parent = NULL;
	/* Deadlines by CLOCK_MONOTONIC, not libevent's default coarse clock,
	 * which lags by up to a tick: a timed wait must never be answered
	 * ETIMEOUT before its timeout has passed. */
	struct event_config *cfg = event_config_new();
	if (cfg)
		event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	omi_srv.base = cfg ? event_base_new_with_config(cfg) : NULL;
	if (cfg)
		event_config_free(cfg);
	if (!omi_srv.base) {
		log_error("cannot create the event loop");
		return 1;
	}
	sigint = evsignal_new(omi_srv.base, SIGINT, on_signal, NULL);
	sigterm = evsignal_new(omi_srv.base, SIGTERM, on_signal, NULL);
	if (!sigint || !sigterm || event_add(sigint, NULL) ||
	    event_add(sigterm, NULL)) {
		log_error("cannot watch signals");
		goto out_base;
	}
	if (listen_start(addrs, naddrs))
		goto out_base;
	if (set.cfg.parent_fd >= 0) {
		parent = event_new(omi_srv.base, set.cfg.parent_fd,
		                   EV_READ | EV_PERSIST, on_parent, NULL);
		if (!parent || event_add(parent, NULL)) {
			log_error("cannot watch --parent-fd %d",
			          set.cfg.parent_fd);
			listen_stop();
			goto out_base;
		}
	}
	if (set.cfg.ready_fd >= 0) {
		ssize_t w = write(set.cfg.ready_fd, "ready\n", 6);
		(void)w;
		close(set.cfg.ready_fd);
	}
	fault_ready();
	run_loop();
	stop_cleanly();
	status = 0;

out_base:
	if (parent)
		event_free(parent);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	event_base_free(omi_srv.base);
	libevent_global_shutdown();
	omi_key_free(key, keylen);
	return status;
}
