/*
 * fuzz_server.c — libFuzzer target: a sequence of frames on one connection
 * of a real objmgrd, in process.
 *
 * The input is what a client writes on its socket: frames of a 4-byte
 * little-endian length and a body, the first one normally a Hello. Each
 * input gets a fresh server state on the one libevent base: a socketpair
 * whose one end goes to conn_accept(), the registry, the waiters. The
 * harness writes the input to the other end (never blocking), runs the
 * loop as main.c's run_loop() does (one iteration, then the epilogue
 * obj_reap() + conns_flush()) and reads and discards the answers, until
 * the server is idle; then it lets every deadline pass, closes its end,
 * runs the loop until the connection is gone, and stops the server as
 * main.c's stop_cleanly() does, so LeakSanitizer sees everything freed.
 * A SHUTDOWN request stops the server at once, as in objmgrd.
 *
 * Time is virtual, so a run is deterministic: libevent reads
 * CLOCK_MONOTONIC_COARSE, which this file answers from a counter (every
 * other clock, libFuzzer's included, is the real one). The clock stands
 * still while frames are served; an empty frame (length 0, which the
 * server also gets) is a tick: the harness lets the server go idle and
 * moves the clock on by TICK seconds before writing what follows, so an
 * input can have a parked call time out before its next request. After
 * the last frame the clock jumps past every deadline (timeouts are clamped
 * to 3e9 s in waiter.c).
 *
 * Every loop is bounded (MAX_ITERS), so no input can hang the target.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "conn.h"
#include "log.h"
#include "waiter.h"

enum {
	MAX_ITERS = 4096,    /* loop iterations per phase */
	TICK = 1,            /* seconds an empty frame lets pass */
	FINAL_JUMP = 4000000000, /* seconds: past every deadline */
};

/* ------------------------------------------------------ the virtual clock */

/* The virtual "now", set back to VCLOCK_START for each input (no timer
 * is left between inputs, so libevent never sees it go back). */
#define VCLOCK_START 1000000
static _Atomic uint64_t vclock_sec = VCLOCK_START;
static _Atomic unsigned long vclock_reads;

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

int clock_gettime(clockid_t clk, struct timespec *ts)
{
	if (clk == CLOCK_MONOTONIC_COARSE) {
		vclock_reads++;
		ts->tv_sec = (time_t)vclock_sec;
		ts->tv_nsec = 0;
		return 0;
	}
	static _Atomic(clock_gettime_fn) real;
	clock_gettime_fn f = real;
	if (!f) {
		f = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
		if (!f)
			return (int)syscall(SYS_clock_gettime, clk, ts);
		real = f;
	}
	return f(clk, ts);
}

/* ---------------------------------------------------------------- the loop */

static void epilogue(void)
{
	obj_reap();
	conns_flush();
}

static void run_once(void)
{
	if (event_base_loop(omi_srv.base, EVLOOP_NONBLOCK) < 0) {
		fprintf(stderr, "fuzz_server: event loop failed\n");
		abort();
	}
	epilogue();
}

/* The client's end. */
struct client {
	int fd;
	int server_fd; /* the server's end, until the server closed it */
	bool eof;      /* the server closed its end */
};

/* OBJMGR_FUZZ_TRACE=1: print the answers (to check what a corpus file
 * does). The first frame is the server's Hello. */
static bool trace;
static struct omi_buf trace_in;
static unsigned trace_frames;

static void trace_bytes(const uint8_t *p, size_t n)
{
	if (omi_buf_reserve(&trace_in, n))
		abort();
	memcpy(trace_in.p + trace_in.len, p, n);
	trace_in.len += n;
	const uint8_t *body;
	size_t len;
	while (omi_buf_frame(&trace_in, SIZE_MAX, &body, &len) == 1) {
		trace_in.off += OMI_FRAME_HDR + len;
		if (trace_frames++ == 0) {
			Objmgr__Hello *h = objmgr__hello__unpack(NULL, len, body);
			fprintf(stderr, "< hello status %d %s\n",
			        h ? (int)h->status : -1,
			        h && h->message ? h->message : "");
			objmgr__hello__free_unpacked(h, NULL);
			continue;
		}
		Objmgr__Response *r =
		        objmgr__response__unpack(NULL, len, body);
		if (!r) {
			fprintf(stderr, "< (undecodable)\n");
			continue;
		}
		fprintf(stderr, "< id %llu status %d results %zu num %lld %s\n",
		        (unsigned long long)r->id, (int)r->status,
		        r->n_results, (long long)r->num,
		        r->message ? r->message : "");
		objmgr__response__free_unpacked(r, NULL);
	}
	omi_buf_compact(&trace_in);
}

/* Read and discard what the server sent. @return whether there was any. */
static bool drain(struct client *cl)
{
	static uint8_t sink[1 << 16];
	bool got = false;
	while (!cl->eof) {
		ssize_t n = recv(cl->fd, sink, sizeof sink, MSG_DONTWAIT);
		if (n > 0) {
			if (trace)
				trace_bytes(sink, (size_t)n);
			got = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		cl->eof = true; /* EOF or ECONNRESET: the server closed it */
		cl->server_fd = -1;
		got = true;
	}
	return got;
}

/* Whether the server has read everything written to it. */
static bool server_read_all(const struct client *cl)
{
	int unread = 0;
	if (cl->eof || cl->server_fd < 0)
		return true;
	if (ioctl(cl->server_fd, FIONREAD, &unread) < 0)
		return true;
	return unread == 0;
}

/* Write data[*off, end) as far as the socket takes it, serve, drain, until
 * it is all written and the server is idle (or gone, or stopping). */
static void feed(struct client *cl, const uint8_t *data, size_t *off,
                 size_t end)
{
	for (int i = 0; i < MAX_ITERS && !omi_srv.stopping; i++) {
		bool progress = false;
		if (*off < end && !cl->eof) {
			ssize_t n = send(cl->fd, data + *off, end - *off,
			                 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				*off += (size_t)n;
				progress = true;
			} else if (n < 0 && errno != EAGAIN &&
			           errno != EWOULDBLOCK && errno != EINTR) {
				*off = end; /* EPIPE: the server closed it */
			}
		}
		if (cl->eof)
			*off = end;
		run_once();
		progress |= drain(cl);
		if (!progress && *off == end && server_read_all(cl))
			return;
	}
}

/* Where the burst that starts at `off` ends: after the next empty frame
 * (a tick), else at the end of the input. */
static size_t burst_end(const uint8_t *data, size_t size, size_t off)
{
	while (size - off >= OMI_FRAME_HDR) {
		uint32_t len = (uint32_t)data[off] | (uint32_t)data[off + 1] << 8 |
		               (uint32_t)data[off + 2] << 16 |
		               (uint32_t)data[off + 3] << 24;
		off += OMI_FRAME_HDR;
		if (len == 0)
			return off;
		if (len > size - off)
			return size;
		off += len;
	}
	return size;
}

/* ------------------------------------------------------------------ setup */

static void init_once(void)
{
	signal(SIGPIPE, SIG_IGN);
	trace = getenv("OBJMGR_FUZZ_TRACE") != NULL;
	const char *lvl = getenv("OBJMGR_FUZZ_LOG");
	omi_log_level = OMI_LOG_ERROR;
	if (lvl && log_parse_level(lvl, &omi_log_level))
		omi_log_level = OMI_LOG_ERROR;
	/* objmgrd with smaller limits (--max-frame 1M --max-item 256K
	 * --max-memory 64M --max-inflight 256): a legitimate request for a
	 * 3 GB array is not a bug, but would trip libFuzzer's -rss_limit_mb. */
	omi_srv.limits.max_frame = 1u << 20;
	omi_srv.limits.max_item = 256u << 10;
	omi_srv.limits.max_memory = 64u << 20;
	omi_srv.limits.max_inflight = 256;
	dispatch_init();
	obj_ids_sequential(true); /* inputs name objects by id */
	struct event_config *cfg = event_config_new();
	if (!cfg)
		abort();
	/* Not EVENT_BASE_FLAG_PRECISE_TIMER: the coarse clock is ours. */
	event_config_avoid_method(cfg, "select");
	event_config_avoid_method(cfg, "poll");
	omi_srv.base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (!omi_srv.base) {
		fprintf(stderr, "fuzz_server: cannot create the event base\n");
		abort();
	}
	if (vclock_reads == 0) {
		fprintf(stderr, "fuzz_server: libevent does not read "
		                "CLOCK_MONOTONIC_COARSE (EVENT_PRECISE_TIMER "
		                "set?): the virtual clock would not work\n");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		init_once();
		ready = true;
	}
	memset(&omi_srv.stats, 0, sizeof omi_srv.stats);
	omi_srv.stopping = false;
	vclock_sec = VCLOCK_START;

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	               sv)) {
		perror("fuzz_server: socketpair");
		abort();
	}
	struct client cl = {.fd = sv[0], .server_fd = sv[1]};
	trace_frames = 0;
	trace_in.off = trace_in.len = 0;
	conn_accept(sv[1]);

	/* The frames, burst by burst; an empty frame ends a burst and lets
	 * TICK seconds pass. */
	size_t off = 0;
	while (off < size && !omi_srv.stopping) {
		size_t end = burst_end(data, size, off);
		feed(&cl, data, &off, end);
		/* The deadlines of the tick fire before the next burst is
		 * written (in one iteration, libevent runs I/O first). */
		vclock_sec += TICK;
		feed(&cl, data, &off, off);
	}
	/* Every deadline passes. */
	if (!omi_srv.stopping) {
		vclock_sec += FINAL_JUMP;
		feed(&cl, data, &off, size);
	}
	/* The client goes away (unless a SHUTDOWN came first: objmgrd then
	 * stops with the connection open). */
	if (!omi_srv.stopping) {
		close(cl.fd);
		cl.fd = -1;
		for (int i = 0; i < MAX_ITERS && omi_srv.stats.connections &&
		                !omi_srv.stopping;
		     i++)
			run_once();
	}
	/* main.c's stop_cleanly(), minus the listener. */
	waiters_stop_all();
	epilogue();
	if (cl.fd >= 0)
		drain(&cl);
	conns_close_all();
	epilogue();
	registry_free();
	if (cl.fd >= 0)
		close(cl.fd);
	/* Nothing of this input may be left for the next. */
	if (omi_srv.stats.connections || omi_srv.stats.parked ||
	    omi_srv.stats.bytes) {
		fprintf(stderr,
		        "fuzz_server: state left after teardown: %llu "
		        "connections, %llu parked, %llu bytes\n",
		        (unsigned long long)omi_srv.stats.connections,
		        (unsigned long long)omi_srv.stats.parked,
		        (unsigned long long)omi_srv.stats.bytes);
		abort();
	}
	return 0;
}
