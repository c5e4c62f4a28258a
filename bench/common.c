/*
 * common.c — the benchmark harness behind common.h.
 *
 * bench_main() forks one process per client. Each child connects (through
 * the peer), reports "ready" on a pipe and blocks on a start gate: a second
 * pipe whose write end only the parent holds, so closing it releases every
 * child at the same instant without a shared lock. The children then run
 * their operations in batches of `depth`, time an evenly spread subset of
 * the batches, and leave their samples, CPU time and status in a
 * MAP_SHARED region the parent reads once they have exited.
 *
 * The measured window is the same for every number: from the gate opening
 * to the end of the last batch. Connecting, forking and preloading happen
 * before it and are not counted; the client CPU is each child's own
 * CLOCK_PROCESS_CPUTIME_ID over its run (rather than a RUSAGE_CHILDREN
 * delta, which would also bill fork, connect and exit), and the server's
 * CPU (--server-pid) is read before the gate opens and after the children
 * are gone. Without --server-pid the server CPU is reported as 0.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Latency samples kept per child. Only the sampled batches are timed, so a
 * peer whose operation costs tens of nanoseconds (shared memory) is not
 * dominated by clock reads. */
#define SAMPLES_PER_CHILD 20000
/* How long the children may take to connect, and to finish their run. */
#define READY_TIMEOUT_S 60.0
#define RUN_TIMEOUT_S   300.0

/* Child status codes, kept in struct child_slot.status. */
enum { CHILD_RUNNING = 0, CHILD_OK, CHILD_CONNECT_FAILED, CHILD_RUN_FAILED };

/* What one child leaves for the parent (in the shared mapping). */
struct child_slot {
	int status;
	long failed_op; /* first operation of the failing batch */
	double t_end;   /* bench_now() after its last batch */
	double cpu_s;   /* its CPU time over the run */
	long nsamples;
	double lat_us[SAMPLES_PER_CHILD];
};

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds this process has used (all threads). */
static double self_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * CPU seconds the server has used, all threads: its process CPU clock (in
 * nanoseconds) where the kernel lets us read another process's, else
 * utime + stime from /proc/PID/stat, which counts in clock ticks (10 ms:
 * too coarse for a short run). -1 if neither can be read (no such process).
 */
static double server_cpu(pid_t pid)
{
	clockid_t clk;
	struct timespec ts;
	if (clock_getcpuclockid(pid, &clk) == 0 && clock_gettime(clk, &ts) == 0)
		return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;

	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and parentheses: skip past the last
	 * ')', after which field 3 (state) starts. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	unsigned long long utime, stime;
	/* Fields 3..15: state, then 10 fields we skip, then utime, stime. */
	if (sscanf(p + 1,
	           " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	           &utime, &stime) != 2)
		return -1;
	long hz = sysconf(_SC_CLK_TCK);
	return (double)(utime + stime) / (double)(hz > 0 ? hz : 100);
}

/* ---------------------------------------------------------------- options */

const char *const bench_workload_names[W_COUNT] = {
        [W_DICT_SET] = "dict_set",
        [W_DICT_GET] = "dict_get",
        [W_DICT_INCR] = "dict_incr",
        [W_LIST_APPEND] = "list_append",
        [W_QUEUE_PAIR] = "queue_pair",
        [W_LOCK_PAIR] = "lock_pair",
        [W_VALUE_ADD] = "value_add",
        [W_LOCKED_RMW] = "locked_rmw",
        [W_ARRAY_ADD] = "array_add",
        [W_ARRAY_GET] = "array_get",
        [W_SEM_PAIR] = "sem_pair",
        [W_EVENT_PINGPONG] = "event_pingpong",
        [W_POOL_MAP] = "pool_map",
        [W_APPLY_ASYNC] = "apply_async",
        [W_PIPE_PINGPONG] = "pipe_pingpong",
};

char bench_result_extra[128];

static void usage(const char *argv0, int status)
{
	fprintf(status ? stderr : stdout,
	        "usage: %s --workload W [--clients N] [--depth D] [--ops K]\n"
	        "       [--address A] [--server-pid P] [--keys K]"
	        " [--value-size B] [--peer NAME]\n"
	        "workloads: dict_set dict_get dict_incr list_append "
	        "queue_pair\n"
	        "           lock_pair value_add locked_rmw\n"
	        "           array_add array_get sem_pair event_pingpong\n"
	        "           pool_map apply_async pipe_pingpong\n"
	        "           [--chunksize C] [--processes P] (pool_map, "
	        "apply_async)\n"
	        "defaults: --clients 1 --depth 1 --ops 10000 --keys 1000"
	        " --value-size 16 --chunksize 1 --processes 0 (the CPUs)\n",
	        argv0);
	exit(status);
}

/* The workload named `w`, or -1. */
static int workload_of(const char *w)
{
	for (int i = 0; i < W_COUNT; i++)
		if (strcmp(w, bench_workload_names[i]) == 0)
			return i;
	return -1;
}

/* A whole decimal number in [min, max], or usage. */
static long parse_num(const char *argv0, const char *opt, const char *s,
                      long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "%s: bad --%s '%s' (%ld..%ld)\n", argv0, opt, s,
		        min, max);
		usage(argv0, 2);
	}
	return v;
}

void bench_parse(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
	        {"workload", required_argument, NULL, 'w'},
	        {"clients", required_argument, NULL, 'c'},
	        {"depth", required_argument, NULL, 'd'},
	        {"ops", required_argument, NULL, 'n'},
	        {"address", required_argument, NULL, 'a'},
	        {"server-pid", required_argument, NULL, 'p'},
	        {"keys", required_argument, NULL, 'k'},
	        {"value-size", required_argument, NULL, 'v'},
	        {"peer", required_argument, NULL, 'P'},
	        {"chunksize", required_argument, NULL, 'C'},
	        {"processes", required_argument, NULL, 'W'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *argv0 = argv[0];
	*o = (struct bench_opts){
	        .clients = 1,
	        .depth = 1,
	        .ops = 10000,
	        .keys = 1000,
	        .value_size = 16,
	        .chunksize = 1,
	};
	int ch, idx = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		const char *name = longopts[idx].name;
		switch (ch) {
		case 'w':
			o->workload = optarg;
			break;
		case 'c':
			o->clients =
			        (int)parse_num(argv0, name, optarg, 1, 4096);
			break;
		case 'd':
			o->depth =
			        (int)parse_num(argv0, name, optarg, 1, 65536);
			break;
		case 'n':
			o->ops = parse_num(argv0, name, optarg, 1, LONG_MAX);
			break;
		case 'a':
			o->address = optarg;
			break;
		case 'p':
			o->server_pid = (pid_t)parse_num(argv0, name, optarg, 0,
			                                 INT32_MAX);
			break;
		case 'k':
			o->keys = (int)parse_num(argv0, name, optarg, 1,
			                         INT32_MAX);
			break;
		case 'v':
			o->value_size =
			        (int)parse_num(argv0, name, optarg, 0, 1 << 24);
			break;
		case 'P':
			o->peer = optarg;
			break;
		case 'C':
			o->chunksize =
			        parse_num(argv0, name, optarg, 1, INT32_MAX);
			break;
		case 'W':
			o->processes =
			        (int)parse_num(argv0, name, optarg, 0, 4096);
			break;
		case 'h':
			usage(argv0, 0);
			break;
		default:
			usage(argv0, 2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", argv0,
		        argv[optind]);
		usage(argv0, 2);
	}
	if (!o->workload || workload_of(o->workload) < 0) {
		fprintf(stderr, "%s: %s --workload\n", argv0,
		        o->workload ? "unknown" : "missing");
		usage(argv0, 2);
	}
	o->w = (enum bench_workload)workload_of(o->workload);
}

int bench_key(const struct bench_opts *o, int client, long i, char *buf,
              int cap)
{
	/* Client c starts c/clients of the way around the key space, so at
	 * any moment the clients work on different keys (as long as there
	 * are at least as many keys as clients), then walks it in order. */
	long keys = o->keys > 0 ? o->keys : 1;
	long start = o->clients > 0 ? (long)client * keys / o->clients : 0;
	return snprintf(buf, (size_t)cap, "k%ld", (start + i) % keys);
}

int bench_procs_per_op(const struct bench_opts *o)
{
	return bench_paired(o->w) ? 2 : 1;
}

long bench_batch(const struct bench_opts *o)
{
	/* run() takes an int count; a map of more items than that is no
	 * benchmark this harness runs. */
	if (o->w == W_POOL_MAP)
		return o->ops < INT_MAX ? o->ops : INT_MAX;
	return o->depth;
}

double bench_descendants_cpu(void)
{
	/* Walk /proc once, keeping (pid, ppid) of every process, then take
	 * the ones whose parent chain reaches us. A few hundred processes:
	 * this runs outside the measured window, twice per client. */
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	size_t n = 0, cap = 0;
	struct {
		pid_t pid, ppid;
	} *ps = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[288], buf[512];
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		/* After the command name's last ')': state, then ppid. */
		char *p = strrchr(buf, ')');
		int ppid;
		if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 256;
			void *grown = realloc(ps, ncap * sizeof *ps);
			if (!grown)
				break;
			ps = grown;
			cap = ncap;
		}
		ps[n].pid = (pid_t)pid;
		ps[n].ppid = (pid_t)ppid;
		n++;
	}
	closedir(d);
	double sum = 0;
	pid_t self = getpid();
	for (size_t i = 0; i < n; i++) {
		/* Up the chain; pid 1 and unknown parents end it. Bounded by n
		 * steps, in case the snapshot holds a reused pid's loop. */
		pid_t up = ps[i].ppid;
		size_t steps = 0;
		while (up > 1 && up != self && steps++ < n) {
			size_t k = 0;
			while (k < n && ps[k].pid != up)
				k++;
			up = k < n ? ps[k].ppid : 0;
		}
		if (up == self) {
			double c = server_cpu(ps[i].pid);
			if (c > 0)
				sum += c;
		}
	}
	free(ps);
	return sum;
}

size_t bench_array_index(const struct bench_opts *o, int client, long i)
{
	long start = o->clients > 0
	                     ? (long)client * BENCH_ARRAY_LEN / o->clients
	                     : 0;
	return (size_t)((start + i) % BENCH_ARRAY_LEN);
}

/* ----------------------------------------------------------------- child */

/* Write one byte to a pipe (a single byte is never written partly). */
static void write_byte(int fd, char c)
{
	while (write(fd, &c, 1) < 0 && errno == EINTR)
		;
}

/* The body of client process `client`; never returns. */
static void run_child(const struct bench_opts *o, const struct bench_peer *p,
                      int client, struct child_slot *slot, int ready_fd,
                      int gate_fd)
{
	void *ctx = p->connect(o, client);
	if (!ctx) {
		slot->status = CHILD_CONNECT_FAILED;
		write_byte(ready_fd, '!');
		_exit(1);
	}
	/* What the processes this client started (pool workers) have used
	 * so far, before the window opens; -1 with none (the usual case),
	 * so the second walk of /proc is skipped too. */
	double kids0 = bench_proc_workload(o->w) ? bench_descendants_cpu() : -1;
	/* ready_fd stays open until exit: its end-of-file tells the parent
	 * that every child is gone, without polling. */
	write_byte(ready_fd, '.');

	/* The gate: read() returns 0 when the parent closes the write end. */
	char c;
	while (read(gate_fd, &c, 1) < 0 && errno == EINTR)
		;
	close(gate_fd);

	/* Time every stride-th batch so at most SAMPLES_PER_CHILD are kept,
	 * spread evenly over the whole run. */
	long batch = bench_batch(o);
	long batches = (o->ops + batch - 1) / batch;
	long stride = (batches + SAMPLES_PER_CHILD - 1) / SAMPLES_PER_CHILD;
	double cpu0 = self_cpu() + (kids0 > 0 ? kids0 : 0);
	long b = 0;
	for (long i = 0; i < o->ops; i += batch, b++) {
		int n = (int)(o->ops - i < batch ? o->ops - i : batch);
		bool timed =
		        b % stride == 0 && slot->nsamples < SAMPLES_PER_CHILD;
		double t = timed ? bench_now() : 0;
		if (p->run(ctx, o, i, n) < 0) {
			slot->failed_op = i;
			slot->status = CHILD_RUN_FAILED;
			break;
		}
		if (timed)
			slot->lat_us[slot->nsamples++] =
			        (bench_now() - t) * 1e6;
	}
	slot->t_end = bench_now();
	slot->cpu_s = self_cpu() - cpu0;
	if (kids0 >= 0)
		slot->cpu_s += bench_descendants_cpu();
	if (slot->status == CHILD_RUNNING)
		slot->status = CHILD_OK;
	p->disconnect(ctx);
	_exit(slot->status == CHILD_OK ? 0 : 1);
}

/* ---------------------------------------------------------------- parent */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The q-quantile (0..1) of sorted v[0..n-1], nearest rank. */
static double quantile(const double *v, size_t n, double q)
{
	if (n == 0)
		return 0;
	size_t k = (size_t)(q * (double)n);
	return v[k < n ? k : n - 1];
}

/* Kill and reap every child still running. */
static void kill_children(const pid_t *pids, bool *reaped, int n)
{
	for (int i = 0; i < n; i++)
		if (!reaped[i])
			kill(pids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		if (!reaped[i]) {
			while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
				;
			reaped[i] = true;
		}
}

/* Reap the children that have exited; return how many are still alive. */
static int reap(const pid_t *pids, bool *reaped, int n)
{
	int alive = 0;
	for (int i = 0; i < n; i++) {
		if (reaped[i])
			continue;
		if (waitpid(pids[i], NULL, WNOHANG) == pids[i])
			reaped[i] = true;
		else
			alive++;
	}
	return alive;
}

int bench_main(const struct bench_opts *o, const struct bench_peer *p)
{
	const char *peer = o->peer ? o->peer : p->name;
	const char *why = NULL;
	bool ok = true;
	if (bench_paired(o->w) && o->clients % 2 != 0) {
		why = "needs-an-even-number-of-clients";
		ok = false;
	} else if (p->supports) {
		ok = p->supports(o, &why);
	}
	if (!ok) {
		printf("SKIP peer=%s workload=%s clients=%d depth=%d "
		       "reason=%s\n",
		       peer, o->workload, o->clients, o->depth,
		       why ? why : "unsupported");
		return 0;
	}
#define FAIL(...)                                                             \
	do {                                                                  \
		printf("FAIL peer=%s workload=%s clients=%d depth=%d ", peer, \
		       o->workload, o->clients, o->depth);                    \
		printf(__VA_ARGS__);                                          \
		printf("\n");                                                 \
		fflush(stdout);                                               \
	} while (0)

	/* A client writing to a connection the server has dropped must get
	 * EPIPE (and report it), not die of the signal. */
	signal(SIGPIPE, SIG_IGN);

	if (p->prepare && p->prepare(o) < 0) {
		FAIL("reason=prepare");
		return 1;
	}

	size_t map_len = sizeof(struct child_slot) * (size_t)o->clients;
	struct child_slot *slots = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
	                                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t *pids = calloc((size_t)o->clients, sizeof *pids);
	bool *reaped = calloc((size_t)o->clients, sizeof *reaped);
	int ready[2], gate[2];
	if (slots == MAP_FAILED || !pids || !reaped) {
		FAIL("reason=out-of-memory");
		return 1;
	}
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(gate, O_CLOEXEC) < 0) {
		FAIL("reason=pipe");
		return 1;
	}

	/* Unflushed output would be written again by every child. */
	fflush(stdout);
	fflush(stderr);
	int forked = 0;
	for (; forked < o->clients; forked++) {
		pid_t pid = fork();
		if (pid < 0)
			break;
		if (pid == 0) {
			close(ready[0]);
			close(gate[1]);
			free(pids);
			free(reaped);
			run_child(o, p, forked, &slots[forked], ready[1],
			          gate[0]);
		}
		pids[forked] = pid;
	}
	close(ready[1]);
	close(gate[0]);
	int rc = 1;
	if (forked < o->clients) {
		FAIL("reason=fork");
		goto out_kill;
	}

	/* Wait for every child to report connected ('.') or failed ('!'),
	 * watching for children that die without a word. */
	int nready = 0;
	double deadline = bench_now() + READY_TIMEOUT_S;
	while (nready < o->clients) {
		struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
		int r = poll(&pfd, 1, 200);
		if (r > 0) {
			char buf[256];
			ssize_t n = read(ready[0], buf, sizeof buf);
			if (n <= 0) {
				FAIL("reason=client-died-connecting");
				goto out_kill;
			}
			if (memchr(buf, '!', (size_t)n)) {
				FAIL("reason=connect");
				goto out_kill;
			}
			nready += (int)n;
		} else if (r < 0 && errno != EINTR) {
			FAIL("reason=poll");
			goto out_kill;
		}
		if (reap(pids, reaped, o->clients) < o->clients) {
			FAIL("reason=client-died-connecting");
			goto out_kill;
		}
		if (bench_now() > deadline) {
			FAIL("reason=connect-timeout");
			goto out_kill;
		}
	}

	double srv0 = o->server_pid ? server_cpu(o->server_pid) : 0;
	double t0 = bench_now();
	close(gate[1]); /* go */
	gate[1] = -1;

	/* Wait for all of them, within the bound: the ready pipe reads
	 * end-of-file once the last child has exited. The parent sleeps in
	 * poll() meanwhile, so it takes no CPU from the clients. */
	deadline = t0 + RUN_TIMEOUT_S;
	for (;;) {
		double left = deadline - bench_now();
		if (left <= 0) {
			FAIL("reason=timeout-%.0fs", RUN_TIMEOUT_S);
			goto out_kill;
		}
		struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
		int r = poll(&pfd, 1, (int)(left * 1000) + 1);
		char buf[256];
		if (r > 0 && read(ready[0], buf, sizeof buf) == 0)
			break;
		if (r < 0 && errno != EINTR) {
			FAIL("reason=poll");
			goto out_kill;
		}
	}
	for (int i = 0; i < o->clients; i++) {
		while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
			;
		reaped[i] = true;
	}
	double srv1 = o->server_pid ? server_cpu(o->server_pid) : 0;

	double t_end = t0, client_cpu = 0;
	size_t nsamples = 0;
	for (int i = 0; i < o->clients; i++) {
		struct child_slot *s = &slots[i];
		if (s->status != CHILD_OK) {
			if (s->status == CHILD_RUN_FAILED)
				FAIL("reason=run-error client=%d op=%ld", i,
				     s->failed_op);
			else
				FAIL("reason=client-crashed client=%d", i);
			goto out;
		}
		if (s->t_end > t_end)
			t_end = s->t_end;
		client_cpu += s->cpu_s;
		nsamples += (size_t)s->nsamples;
	}
	if (o->server_pid && (srv0 < 0 || srv1 < 0)) {
		FAIL("reason=server-gone pid=%d", (int)o->server_pid);
		goto out;
	}

	/* Merge the samples: every child ran as many batches with the same
	 * stride, so each sample carries the same weight. */
	double *lat = malloc((nsamples ? nsamples : 1) * sizeof *lat);
	if (!lat) {
		FAIL("reason=out-of-memory");
		goto out;
	}
	size_t k = 0;
	for (int i = 0; i < o->clients; i++) {
		memcpy(lat + k, slots[i].lat_us,
		       (size_t)slots[i].nsamples * sizeof *lat);
		k += (size_t)slots[i].nsamples;
	}
	qsort(lat, nsamples, sizeof *lat, cmp_double);

	/* Operations done, counted as round trips for the ping-pongs. */
	double total =
	        (double)o->clients * (double)o->ops / bench_procs_per_op(o);
	double wall = t_end - t0;
	double srv_cpu = srv1 - srv0;
	printf("RESULT peer=%s workload=%s clients=%d depth=%d ops=%.0f"
	       " ops_per_s=%.0f p50_us=%.2f p99_us=%.2f cpu_us_per_op=%.3f"
	       " server_cpu_us_per_op=%.3f%s\n",
	       peer, o->workload, o->clients, o->depth, total,
	       wall > 0 ? total / wall : 0, quantile(lat, nsamples, 0.50),
	       quantile(lat, nsamples, 0.99),
	       (client_cpu + srv_cpu) * 1e6 / total, srv_cpu * 1e6 / total,
	       bench_result_extra);
	fflush(stdout);
	free(lat);
	rc = 0;
	goto out;

out_kill:
	kill_children(pids, reaped, forked);
out:
	if (gate[1] >= 0)
		close(gate[1]);
	close(ready[0]);
	munmap(slots, map_len);
	free(pids);
	free(reaped);
	return rc;
#undef FAIL
}
