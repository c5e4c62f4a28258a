/*
 * bench_raw.c — the "raw round trip" peer: the physical limit for an RPC
 * on this machine, to hold objmgr against.
 *
 *   bench_raw --serve SOCKETPATH    the server: prints "ready" once it
 *                                   listens, runs until SIGTERM/SIGINT
 *   bench_raw --workload W ... --address SOCKETPATH    the clients
 *
 * The server is the least an RPC server can do: a single-threaded,
 * level-triggered epoll loop speaking objmgr's framing (a 4-byte
 * little-endian length, then that many bytes) that echoes every whole
 * frame back. Per wake-up it makes one read and answers everything whole
 * that read brought in one write, so a round trip costs it the three
 * system calls objmgrd cannot go below: epoll_wait, read, write. There is
 * no decoding and no work, so whatever objmgr costs above it is the price
 * of protobuf, dispatch and the objects themselves.
 *
 * The client sends, for each operation, frames the size of a typical
 * objmgr request (--value-size + 24 bytes: ~40 with the default 16-byte
 * values, an id, target, op, a short key and the value), and waits for the
 * echo. queue_pair and lock_pair cost two round trips, as they cost objmgr
 * two RPCs. At depth > 1 a batch's frames go out in one write and the
 * client then reads them all back, as objmgr's pipeline does.
 *
 * pipe_pingpong needs no server: it is the speed limit of a pipe between
 * two processes. The parent makes one socketpair(AF_UNIX, SOCK_STREAM)
 * per pair of clients before it forks them; client 2k writes a
 * --value-size message (stamped with its operation number) on one end and
 * reads the echo, client 2k+1 reads it on the other end and writes it
 * back: one write and one read on each side per round trip, the least a
 * pipe that a server does not relay can cost (what objmgr's pipes would
 * cost if the server handed the two ends a socketpair of their own).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"

/* Bytes of request in a frame beyond the value: header fields and key. */
#define REQUEST_OVERHEAD 24
/* Frames larger than this close the connection (a broken client). */
#define MAX_FRAME (16u << 20)
/* The server's read buffer: one read takes what any batch sends. */
#define READ_BUF (64u << 10)

/* Little-endian 32-bit load/store, independent of the host's order. */
static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static int set_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa->sun_path) {
		fprintf(stderr, "bench_raw: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

/* ---------------------------------------------------------------- server */

struct conn {
	int fd;
	unsigned char *in; /* bytes read, a partial frame at most left over */
	size_t in_len, in_cap;
	unsigned char *out; /* echo that a write could not take yet */
	size_t out_len, out_cap;
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void conn_close(struct conn *k)
{
	close(k->fd); /* also takes it out of the epoll set */
	free(k->in);
	free(k->out);
	free(k);
}

/* Append to the pending output. */
static int out_append(struct conn *k, const unsigned char *p, size_t n)
{
	if (k->out_len + n > k->out_cap) {
		size_t cap = (k->out_len + n) * 2;
		unsigned char *o = realloc(k->out, cap);
		if (!o)
			return -1;
		k->out = o;
		k->out_cap = cap;
	}
	memcpy(k->out + k->out_len, p, n);
	k->out_len += n;
	return 0;
}

/* Write the pending output; watch for writability only while some is left
 * (armed all the time it would wake the loop for nothing). */
static int flush_out(int ep, struct conn *k)
{
	ssize_t w = write(k->fd, k->out, k->out_len);
	if (w < 0 && errno != EAGAIN && errno != EINTR)
		return -1;
	if (w > 0) {
		memmove(k->out, k->out + w, k->out_len - (size_t)w);
		k->out_len -= (size_t)w;
	}
	struct epoll_event ev = {
	        .events = EPOLLIN | (k->out_len ? EPOLLOUT : 0),
	        .data.ptr = k,
	};
	return epoll_ctl(ep, EPOLL_CTL_MOD, k->fd, &ev);
}

/* The connection is readable: one read, then echo every whole frame. */
static int on_readable(int ep, struct conn *k)
{
	ssize_t r = read(k->fd, k->in + k->in_len, k->in_cap - k->in_len);
	if (r == 0)
		return -1;
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	k->in_len += (size_t)r;

	/* The whole frames at the front. */
	size_t whole = 0;
	uint32_t flen = 0;
	while (k->in_len - whole >= 4) {
		flen = get_le32(k->in + whole);
		if (flen > MAX_FRAME)
			return -1;
		if (k->in_len - whole - 4 < flen)
			break;
		whole += 4 + flen;
	}
	if (whole) {
		if (k->out_len) {
			/* Earlier output is still queued: keep the order. */
			if (out_append(k, k->in, whole) < 0)
				return -1;
		} else {
			/* The common case: echo straight from the read buffer,
			 * keeping only what the socket would not take. */
			ssize_t w = write(k->fd, k->in, whole);
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				return -1;
			size_t done = w > 0 ? (size_t)w : 0;
			if (done < whole) {
				if (out_append(k, k->in + done, whole - done) <
				    0)
					return -1;
				if (flush_out(ep, k) < 0)
					return -1;
			}
		}
		memmove(k->in, k->in + whole, k->in_len - whole);
		k->in_len -= whole;
	}
	/* Room for the rest of a frame larger than the buffer. */
	if (k->in_len >= 4 && 4 + (size_t)flen > k->in_cap) {
		unsigned char *in = realloc(k->in, 4 + (size_t)flen);
		if (!in)
			return -1;
		k->in = in;
		k->in_cap = 4 + (size_t)flen;
	}
	return 0;
}

static void on_accept(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN: all taken; else try next wake-up */
		struct conn *k = calloc(1, sizeof *k);
		if (k)
			k->in = malloc(READ_BUF);
		if (!k || !k->in) {
			if (k)
				free(k);
			close(fd);
			continue;
		}
		k->fd = fd;
		k->in_cap = READ_BUF;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = k};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			conn_close(k);
	}
}

static int serve(const char *path)
{
	struct sockaddr_un sa;
	if (set_addr(&sa, path) < 0)
		return 1;
	/* SIGTERM/SIGINT are blocked except inside epoll_pwait, so a signal
	 * can never slip in between the check of `stopping` and the wait. */
	sigset_t block, waitmask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	struct sigaction act = {.sa_handler = on_signal};
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);

	int lfd =
	        socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	unlink(path); /* a stale socket from an earlier run */
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(lfd, SOMAXCONN) < 0) {
		perror("bench_raw: listen");
		return 1;
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) {
		perror("bench_raw: epoll");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	struct epoll_event evs[256];
	while (!stopping) {
		int n = epoll_pwait(ep, evs, 256, -1, &waitmask);
		for (int i = 0; i < n; i++) {
			struct conn *k = evs[i].data.ptr;
			if (!k) {
				on_accept(ep, lfd);
				continue;
			}
			int rc = 0;
			if (evs[i].events & EPOLLOUT)
				rc = flush_out(ep, k);
			if (rc == 0 &&
			    evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				rc = on_readable(ep, k);
			if (rc < 0)
				conn_close(k);
		}
	}
	/* Open connections die with the process. */
	close(lfd);
	unlink(path);
	return 0;
}

/* ---------------------------------------------------------------- client */

struct raw_ctx {
	int fd;
	int client;          /* pipe_pingpong: which side of its pair */
	int frames_per_op;   /* round trips objmgr needs for one operation */
	size_t frame;        /* bytes per frame, header included */
	unsigned char *send; /* depth * frames_per_op frames, ready to go */
	unsigned char *recv;
};

/* The workloads objmgr serves with two calls (put+get, acquire+release). */
static bool pair_workload(enum bench_workload w)
{
	return w == W_QUEUE_PAIR || w == W_LOCK_PAIR;
}

/* pipe_pingpong: the socketpairs, one per pair of clients, made by the
 * parent in prepare() so that the forked clients inherit them. */
static int (*pairs)[2];

static int prepare(const struct bench_opts *o)
{
	if (o->w != W_PIPE_PINGPONG)
		return 0;
	int n = o->clients / 2;
	pairs = calloc((size_t)n, sizeof *pairs);
	if (!pairs)
		return -1;
	for (int k = 0; k < n; k++)
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, pairs[k]) < 0) {
			perror("bench_raw: socketpair");
			return -1;
		}
	return 0;
}

static bool supports(const struct bench_opts *o, const char **why)
{
	if (o->w == W_PIPE_PINGPONG) {
		if (o->depth > 1) {
			*why = "one-call-at-a-time";
			return false;
		}
		return true;
	}
	/* A pool's workloads have no raw counterpart: Python's Pool is
	 * their peer. */
	if (bench_proc_workload(o->w)) {
		*why = "no-raw-pool";
		return false;
	}
	if (!o->address) {
		*why = "no-address";
		return false;
	}
	/* The shared-memory workloads are measured against raw shared
	 * memory (bench_shm), not a round trip. */
	if (bench_shm_only(o->w)) {
		*why = "a-shared-memory-workload";
		return false;
	}
	/* As for objmgr: pipelined lock pairs mean nothing, and there is no
	 * objmgr figure to compare with. */
	if (o->w == W_LOCK_PAIR && o->depth > 1) {
		*why = "lock-pairs-cannot-pipeline";
		return false;
	}
	return true;
}

/* pipe_pingpong: client's end of its pair's socketpair, and a buffer for
 * the message. */
static void *connect_pair(const struct bench_opts *o, int client)
{
	struct raw_ctx *x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->client = client;
	x->frame = (size_t)o->value_size;
	x->send = calloc(1, x->frame + 1);
	x->recv = calloc(1, x->frame + 1);
	if (!x->send || !x->recv) {
		free(x->send);
		free(x->recv);
		free(x);
		return NULL;
	}
	memset(x->send, 'p', x->frame);
	x->fd = pairs[client / 2][bench_pinger(client) ? 0 : 1];
	return x;
}

/* Write all of buf[0..len), or -1. */
static int write_all(int fd, const unsigned char *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			perror("bench_raw: write");
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

/* Read exactly len bytes into buf, or -1 (an error, or the other side
 * gone). */
static int read_all(int fd, unsigned char *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t r = read(fd, buf + off, len - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "bench_raw: read: %s\n",
			        r ? strerror(errno) : "other side closed");
			return -1;
		}
		off += (size_t)r;
	}
	return 0;
}

/* One round trip of the pair (see the top of the file). */
static int pingpong(struct raw_ctx *x, long i)
{
	if (!bench_pinger(x->client))
		return read_all(x->fd, x->recv, x->frame) < 0 ||
		                       write_all(x->fd, x->recv, x->frame) < 0
		               ? -1
		               : 0;
	if (x->frame >= sizeof i)
		memcpy(x->send, &i, sizeof i);
	if (write_all(x->fd, x->send, x->frame) < 0 ||
	    read_all(x->fd, x->recv, x->frame) < 0)
		return -1;
	if (memcmp(x->send, x->recv, x->frame) != 0) {
		fprintf(stderr, "bench_raw: wrong echo\n");
		return -1;
	}
	return 0;
}

static void *connect_client(const struct bench_opts *o, int client)
{
	if (o->w == W_PIPE_PINGPONG)
		return connect_pair(o, client);
	struct sockaddr_un sa;
	if (set_addr(&sa, o->address) < 0)
		return NULL;
	struct raw_ctx *x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->frames_per_op = pair_workload(o->w) ? 2 : 1;
	size_t payload = (size_t)o->value_size + REQUEST_OVERHEAD;
	x->frame = 4 + payload;
	size_t bytes = x->frame * (size_t)o->depth * (size_t)x->frames_per_op;
	x->send = malloc(bytes);
	x->recv = malloc(bytes);
	x->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!x->send || !x->recv || x->fd < 0 ||
	    connect(x->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		perror("bench_raw: connect");
		if (x->fd >= 0)
			close(x->fd);
		free(x->send);
		free(x->recv);
		free(x);
		return NULL;
	}
	/* Distinct payload bytes per frame, so a misordered or mixed-up
	 * echo shows up in the comparison. */
	for (size_t f = 0; f < bytes / x->frame; f++) {
		unsigned char *p = x->send + f * x->frame;
		put_le32(p, (uint32_t)payload);
		memset(p + 4, 'a' + (int)(f % 26), payload);
	}
	return x;
}

/* Send the first `frames` frames in one write (looping only if the socket
 * takes part), read them all back, and check the echo. */
static int round_trip(struct raw_ctx *x, int frames)
{
	size_t len = x->frame * (size_t)frames;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(x->fd, x->send + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			perror("bench_raw: write");
			return -1;
		}
		off += (size_t)w;
	}
	for (size_t off = 0; off < len;) {
		ssize_t r = read(x->fd, x->recv + off, len - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "bench_raw: read: %s\n",
			        r ? strerror(errno) : "server closed");
			return -1;
		}
		off += (size_t)r;
	}
	if (memcmp(x->send, x->recv, len) != 0) {
		fprintf(stderr, "bench_raw: echo differs\n");
		return -1;
	}
	return 0;
}

static int run(void *ctx, const struct bench_opts *o, long i, int n)
{
	struct raw_ctx *x = ctx;
	if (o->w == W_PIPE_PINGPONG)
		return pingpong(x, i);
	/* One operation alone waits for each answer before the next request,
	 * as objmgr's unpipelined calls do; a batch goes out at once. */
	if (n == 1) {
		for (int k = 0; k < x->frames_per_op; k++)
			if (round_trip(x, 1) < 0)
				return -1;
		return 0;
	}
	return round_trip(x, n * x->frames_per_op);
}

static void disconnect(void *ctx)
{
	struct raw_ctx *x = ctx;
	close(x->fd);
	free(x->send);
	free(x->recv);
	free(x);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--serve") == 0) {
		if (argc != 3) {
			fprintf(stderr, "usage: %s --serve SOCKETPATH\n",
			        argv[0]);
			return 2;
		}
		return serve(argv[2]);
	}
	struct bench_opts o;
	bench_parse(argc, argv, &o);
	o.peer = "raw";
	struct bench_peer p = {
	        .name = "raw",
	        .connect = connect_client,
	        .run = run,
	        .disconnect = disconnect,
	        .supports = supports,
	        .prepare = prepare,
	};
	return bench_main(&o, &p);
}
