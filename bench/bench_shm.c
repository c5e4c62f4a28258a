/*
 * bench_shm.c — the raw shared memory peer: what the workloads cost with
 * no server at all, the limit objmgr's price is measured against.
 *
 * prepare() (in the parent, before the clients fork) creates a POSIX
 * shared memory segment (shm_open + mmap; named by --address, or
 * /objmgr-bench-<pid>) and lays out in it, behind one
 * PTHREAD_PROCESS_SHARED mutex:
 *   - a small open-addressing hash table (fixed capacity, linear probing,
 *     string keys up to 32 bytes, values up to value_size bytes):
 *     dict_set, dict_get, dict_incr;
 *   - a counter: value_add and locked_rmw;
 *   - a list, an array that wraps when full: list_append;
 *   - a ring buffer: queue_pair (put, then get);
 *   - a 1024-int array: array_add adds 1 to one element all clients share
 *     (BENCH_ARRAY_HOT), under the mutex as a counter there would be;
 *     array_get reads elements with plain atomic loads and no lock;
 * and, for the workloads that measure synchronization itself:
 *   - a robust (PTHREAD_MUTEX_ROBUST) process-shared mutex that lock_pair
 *     takes and releases: what a lock that survives its holder's death
 *     costs without a server, objmgr's lock's equal;
 *   - a process-shared sem_t whose value is the client count: sem_pair's
 *     sem_wait + sem_post, which never has to wait;
 *   - per pair of clients, two events on futex words: event_pingpong.
 * The clients inherit the mapping across fork, so connect() has nothing
 * to open. After the run the parent checks the structures hold what the
 * operations must have left, and unlinks the segment when it exits.
 *
 * There is no request to pipeline without a server, so depth > 1 is
 * reported unsupported rather than run as if it meant something.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"

#define KEY_MAX   32   /* bytes in a key, the longest the table holds */
#define LIST_CAP  4096 /* list entries before appends wrap around */
#define RING_CAP  4096 /* queue entries; more than any client count */
#define MAX_PAIRS 2048 /* event_pingpong pairs: half the most clients */

/* One hash table slot; slots are slot_size bytes apart, the value bytes
 * following the fixed part. */
struct slot {
	uint8_t used;
	uint8_t klen;
	uint32_t vlen;
	char key[KEY_MAX];
	unsigned char val[]; /* value_cap bytes */
};

/* One pair's events, on a cache line of its own so pairs do not share. */
struct pingpong {
	uint32_t ping; /* set by the pair's client 2k, waited on by 2k+1 */
	uint32_t pong; /* the other way */
} __attribute__((aligned(64)));

/* The start of the segment. Offsets, not pointers, locate the table,
 * list and ring, so the layout would be valid at any mapping address. */
struct region {
	pthread_mutex_t mu;      /* guards everything below but lock, sem,
	                            the array's loads and the events */
	pthread_mutex_t lock;    /* lock_pair's robust lock, nothing else */
	sem_t sem;               /* sem_pair's semaphore */
	pthread_cond_t nonempty; /* a queue get waits here when empty */
	int waiters;             /* gets waiting on nonempty */
	int64_t counter;         /* value_add, locked_rmw */
	uint32_t table_cap;      /* slots, a power of two */
	uint32_t value_cap;      /* value bytes per table slot */
	size_t slot_size;
	size_t table_off, list_off, ring_off; /* from the region's start */
	uint64_t list_len;   /* appends so far (the array wraps) */
	uint32_t ring_head;  /* next entry to get */
	uint32_t ring_count; /* entries in the ring */
	size_t entry_size;   /* bytes per list / ring entry */
	int64_t array[BENCH_ARRAY_LEN] __attribute__((aligned(64)));
	struct pingpong pp[MAX_PAIRS];
};

/* Set by prepare() in the parent; the forked clients inherit them. */
static struct region *region;
static char region_name[256];
static pid_t region_owner; /* the parent: only it unlinks */

/* One client process's state. */
struct shm_client {
	int workload;
	int client;
	unsigned char *value; /* value_size bytes, stored by set/append/put */
	unsigned char *out; /* where get copies a value to, as a reader would */
	volatile int64_t sink; /* array_get's loads land here */
};

static unsigned char *at(size_t off)
{
	return (unsigned char *)region + off;
}

static struct slot *slot_at(uint32_t idx)
{
	return (struct slot *)at(region->table_off +
	                         (size_t)idx * region->slot_size);
}

/* FNV-1a: short keys, no need for anything stronger. */
static uint64_t hash(const char *key, size_t len)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t k = 0; k < len; k++) {
		h ^= (unsigned char)key[k];
		h *= 1099511628211ull;
	}
	return h;
}

/* The slot holding key, or (create) a free slot claimed for it; NULL if
 * absent (and not creating), too long, or the table is full. Called with
 * region->mu held. */
static struct slot *table_find(const char *key, bool create)
{
	size_t len = strlen(key);
	if (len > KEY_MAX)
		return NULL;
	uint32_t mask = region->table_cap - 1;
	uint32_t idx = (uint32_t)hash(key, len) & mask;
	for (uint32_t probe = 0; probe < region->table_cap; probe++) {
		struct slot *s = slot_at((idx + probe) & mask);
		if (!s->used) {
			if (!create)
				return NULL;
			s->used = 1;
			s->klen = (uint8_t)len;
			s->vlen = 0;
			memcpy(s->key, key, len);
			return s;
		}
		if (s->klen == len && memcmp(s->key, key, len) == 0)
			return s;
	}
	return NULL; /* full: prepare() sized it so this cannot happen */
}

static void shm_cleanup(void)
{
	/* atexit handlers survive fork: a client that calls exit() must
	 * not unlink the parent's segment. */
	if (region != NULL && getpid() == region_owner)
		shm_unlink(region_name);
}

static bool shm_supports(const struct bench_opts *o, const char **why)
{
	/* Pools and pipes are measured against Python's multiprocessing
	 * and a raw socketpair (bench_raw), not shared memory. */
	if (bench_proc_workload(o->w)) {
		*why = "a-process-pipe-or-pool-workload";
		return false;
	}
	if (o->depth > 1) {
		*why = "no-pipelining-without-a-server";
		return false;
	}
	if (o->clients > RING_CAP) {
		/* Each client has at most one item in the queue at a time. */
		*why = "more-clients-than-queue-entries";
		return false;
	}
	if (o->w == W_EVENT_PINGPONG && o->clients / 2 > MAX_PAIRS) {
		*why = "more-pairs-than-events";
		return false;
	}
	return true;
}

/* Create, size and map the segment, and initialise everything in it. */
static int shm_prepare(const struct bench_opts *o)
{
	uint32_t cap = 16;
	while (cap < 2u * (uint32_t)o->keys) /* load factor at most 1/2 */
		cap *= 2;
	/* incr stores an int64 in the value bytes. */
	uint32_t value_cap = o->value_size > 8 ? (uint32_t)o->value_size : 8;
	size_t slot_size = (sizeof(struct slot) + value_cap + 7) & ~(size_t)7;
	size_t entry_size = ((size_t)o->value_size + 7) & ~(size_t)7;
	size_t table_off = (sizeof(struct region) + 63) & ~(size_t)63;
	size_t list_off = table_off + (size_t)cap * slot_size;
	size_t ring_off = list_off + LIST_CAP * entry_size;
	size_t size = ring_off + RING_CAP * entry_size;

	if (o->address != NULL)
		snprintf(region_name, sizeof region_name, "%s", o->address);
	else
		snprintf(region_name, sizeof region_name, "/objmgr-bench-%d",
		         (int)getpid());
	/* A segment of that name left by a crashed run is stale: replace. */
	shm_unlink(region_name);
	int fd = shm_open(region_name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		fprintf(stderr, "bench_shm: shm_open %s: %s\n", region_name,
		        strerror(errno));
		return -1;
	}
	region_owner = getpid();
	if (ftruncate(fd, (off_t)size) < 0) {
		fprintf(stderr, "bench_shm: ftruncate: %s\n", strerror(errno));
		close(fd);
		shm_unlink(region_name);
		return -1;
	}
	/* MAP_POPULATE: fault every page in now, not in the timed loop. */
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_POPULATE, fd, 0);
	close(fd); /* the mapping keeps the segment */
	if (m == MAP_FAILED) {
		fprintf(stderr, "bench_shm: mmap: %s\n", strerror(errno));
		shm_unlink(region_name);
		return -1;
	}
	region = m;
	atexit(shm_cleanup);

	/* The segment starts zeroed: only the sync objects and the layout
	 * need setting. */
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	if (pthread_mutex_init(&region->mu, &ma) != 0 ||
	    pthread_cond_init(&region->nonempty, &ca) != 0) {
		fprintf(stderr,
		        "bench_shm: process-shared mutex unavailable\n");
		return -1;
	}
	/* lock_pair's lock is robust: a holder that dies leaves it to the
	 * next locker (EOWNERDEAD), as objmgr's lock does (OM_OWNER_DIED).
	 * That costs the kernel's robust list bookkeeping on every lock. */
	if (pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(&region->lock, &ma) != 0) {
		fprintf(stderr, "bench_shm: robust process-shared mutex "
		                "unavailable\n");
		return -1;
	}
	pthread_mutexattr_destroy(&ma);
	/* No acquire ever waits: as many permits as clients. */
	if (sem_init(&region->sem, 1, (unsigned)o->clients) != 0) {
		fprintf(stderr, "bench_shm: sem_init: %s\n", strerror(errno));
		return -1;
	}
	pthread_condattr_destroy(&ca);
	region->table_cap = cap;
	region->value_cap = value_cap;
	region->slot_size = slot_size;
	region->entry_size = entry_size;
	region->table_off = table_off;
	region->list_off = list_off;
	region->ring_off = ring_off;

	if (o->w == W_DICT_GET) {
		/* bench_key() names keys "k<number>" over o->keys numbers;
		 * dict_get fails on a missing key, so a mismatch shows. */
		char key[KEY_MAX + 1];
		for (int k = 0; k < o->keys; k++) {
			snprintf(key, sizeof key, "k%d", k);
			struct slot *s = table_find(key, true);
			if (s == NULL)
				return -1;
			memset(s->val, 'v', (size_t)o->value_size);
			s->vlen = (uint32_t)o->value_size;
		}
	}
	return 0;
}

static void *shm_connect(const struct bench_opts *o, int client)
{
	if (region == NULL) {
		/* Only possible if the harness forked before prepare(). */
		fprintf(stderr, "bench_shm: segment not mapped\n");
		return NULL;
	}
	struct shm_client *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->workload = o->w;
	c->client = client;
	c->value = malloc((size_t)o->value_size + 1);
	c->out = malloc(region->value_cap);
	if (c->value == NULL || c->out == NULL) {
		free(c->value);
		free(c->out);
		free(c);
		return NULL;
	}
	memset(c->value, 'v', (size_t)o->value_size);
	return c;
}

/* dict_set, dict_get, dict_incr on key; region->mu held. */
static int dict_op(struct shm_client *c, const struct bench_opts *o,
                   const char *key)
{
	struct slot *s = table_find(key, c->workload != W_DICT_GET);
	if (s == NULL) {
		fprintf(stderr, "bench_shm: key %s: %s\n", key,
		        c->workload == W_DICT_GET ? "not found"
		                                  : "too long or table full");
		return -1;
	}
	int64_t n;
	switch (c->workload) {
	case W_DICT_SET:
		memcpy(s->val, c->value, (size_t)o->value_size);
		s->vlen = (uint32_t)o->value_size;
		break;
	case W_DICT_GET:
		/* Copy it out: a reader must, before the lock is released. */
		memcpy(c->out, s->val, s->vlen);
		break;
	case W_DICT_INCR:
		/* A new key counts from 0, as with Redis's INCR. */
		n = 0;
		if (s->vlen == sizeof n)
			memcpy(&n, s->val, sizeof n);
		n++;
		memcpy(s->val, &n, sizeof n);
		s->vlen = sizeof n;
		break;
	}
	return 0;
}

/* queue_pair: put this client's value, then get the oldest entry. Each
 * client puts before it gets, so a get finds the ring empty only if the
 * harness changes; it then waits for a put, as a queue's get would. */
static int queue_pair(struct shm_client *c, const struct bench_opts *o)
{
	size_t es = region->entry_size;

	if (pthread_mutex_lock(&region->mu) != 0)
		return -1;
	if (region->ring_count == RING_CAP) { /* supports() rules it out */
		pthread_mutex_unlock(&region->mu);
		return -1;
	}
	uint32_t tail = (region->ring_head + region->ring_count) % RING_CAP;
	memcpy(at(region->ring_off + tail * es), c->value,
	       (size_t)o->value_size);
	region->ring_count++;
	/* Signal only when someone waits: no syscall otherwise. */
	if (region->waiters > 0)
		pthread_cond_signal(&region->nonempty);
	pthread_mutex_unlock(&region->mu);

	/* A separate critical section: put and get are two operations. */
	if (pthread_mutex_lock(&region->mu) != 0)
		return -1;
	while (region->ring_count == 0) {
		region->waiters++;
		pthread_cond_wait(&region->nonempty, &region->mu);
		region->waiters--;
	}
	memcpy(c->out, at(region->ring_off + region->ring_head * es),
	       (size_t)o->value_size);
	region->ring_head = (region->ring_head + 1) % RING_CAP;
	region->ring_count--;
	pthread_mutex_unlock(&region->mu);
	return 0;
}

/*
 * The events of event_pingpong, each one futex word: 0 clear, 1 set,
 * 2 clear with a sleeper on it. A set wakes the sleepers (a system call
 * only when there is one); a wait sleeps on the word until it is 1. It is
 * the least an event can be: a wait returns only while the event is set
 * (no generation count, unlike objmgr's or Python's), which is all a
 * ping-pong needs, as each side clears only the event it waits on.
 * The words are in MAP_SHARED memory: the futex calls are not private.
 */
static long futex(uint32_t *word, int op, uint32_t val)
{
	return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static void event_set(uint32_t *w)
{
	if (__atomic_exchange_n(w, 1, __ATOMIC_SEQ_CST) == 2)
		futex(w, FUTEX_WAKE, INT_MAX);
}

static void event_clear(uint32_t *w)
{
	uint32_t set = 1;
	/* From 2 (clear, sleepers) it stays 2: clear, and they still sleep. */
	__atomic_compare_exchange_n(w, &set, 0, false, __ATOMIC_SEQ_CST,
	                            __ATOMIC_SEQ_CST);
}

static void event_wait(uint32_t *w)
{
	for (;;) {
		uint32_t v = __atomic_load_n(w, __ATOMIC_SEQ_CST);
		if (v == 1)
			return;
		/* Mark the sleeper before sleeping, so a set between the
		 * load and the futex wait is seen (the word is then 1, not
		 * 2, and FUTEX_WAIT returns at once). */
		if (v == 0 && !__atomic_compare_exchange_n(w, &v, 2, false,
		                                           __ATOMIC_SEQ_CST,
		                                           __ATOMIC_SEQ_CST))
			continue;
		futex(w, FUTEX_WAIT, 2);
	}
}

/* lock_pair's acquire + release of the robust mutex. */
static int robust_pair(void)
{
	int rv = pthread_mutex_lock(&region->lock);
	if (rv == EOWNERDEAD) /* a client died holding it: it is ours now */
		rv = pthread_mutex_consistent(&region->lock);
	if (rv != 0)
		return -1;
	pthread_mutex_unlock(&region->lock);
	return 0;
}

/* sem_pair: sem_wait + sem_post. */
static int sem_pair(void)
{
	while (sem_wait(&region->sem) != 0)
		if (errno != EINTR)
			return -1;
	return sem_post(&region->sem);
}

/* event_pingpong: one round trip, from either side of pair client / 2. */
static void pingpong(int client)
{
	struct pingpong *pp = &region->pp[client / 2];
	if (bench_pinger(client)) {
		event_set(&pp->ping);
		event_wait(&pp->pong);
		event_clear(&pp->pong);
	} else {
		event_wait(&pp->ping);
		event_clear(&pp->ping);
		event_set(&pp->pong);
	}
}

static int shm_run(void *ctx, const struct bench_opts *o, long i, int n)
{
	struct shm_client *c = ctx;
	char key[64];

	/* n is 1: depth > 1 is unsupported, but loop in case. */
	for (int k = 0; k < n; k++) {
		int rv = 0;
		switch (c->workload) {
		case W_DICT_SET:
		case W_DICT_GET:
		case W_DICT_INCR:
			/* The key is made outside the lock, as a client
			 * would make it before its request. */
			bench_key(o, c->client, i + k, key, sizeof key);
			if (pthread_mutex_lock(&region->mu) != 0)
				return -1;
			rv = dict_op(c, o, key);
			pthread_mutex_unlock(&region->mu);
			break;
		case W_LIST_APPEND:
			if (pthread_mutex_lock(&region->mu) != 0)
				return -1;
			memcpy(at(region->list_off +
			          (region->list_len % LIST_CAP) *
			                  region->entry_size),
			       c->value, (size_t)o->value_size);
			region->list_len++;
			pthread_mutex_unlock(&region->mu);
			break;
		case W_QUEUE_PAIR:
			rv = queue_pair(c, o);
			break;
		case W_LOCK_PAIR:
			rv = robust_pair();
			break;
		case W_VALUE_ADD:
			/* A mutex and an add, as a Value guarded by a lock.
			 * A lone counter needs no mutex at all: an atomic
			 * __atomic_fetch_add(&region->counter, 1,
			 * __ATOMIC_RELAXED) is several times faster still,
			 * the true floor; the mutex keeps this comparable
			 * with the other workloads' shared-structure cost. */
			if (pthread_mutex_lock(&region->mu) != 0)
				return -1;
			region->counter += 1;
			pthread_mutex_unlock(&region->mu);
			break;
		case W_LOCKED_RMW: {
			/* Python's `with lock: v.value += 1` spelled out:
			 * take the lock, read, modify, write, release. In
			 * shared memory that is the same work as value_add. */
			if (pthread_mutex_lock(&region->mu) != 0)
				return -1;
			int64_t v = region->counter;
			region->counter = v + 1;
			pthread_mutex_unlock(&region->mu);
			break;
		}
		case W_ARRAY_ADD:
			/* The mutex guarding the update, as for value_add. */
			if (pthread_mutex_lock(&region->mu) != 0)
				return -1;
			region->array[BENCH_ARRAY_HOT] += 1;
			pthread_mutex_unlock(&region->mu);
			break;
		case W_ARRAY_GET:
			/* An aligned 8-byte load is atomic: no lock to read. */
			c->sink = __atomic_load_n(
			        &region->array[bench_array_index(o, c->client,
			                                         i + k)],
			        __ATOMIC_RELAXED);
			break;
		case W_SEM_PAIR:
			rv = sem_pair();
			break;
		case W_EVENT_PINGPONG:
			pingpong(c->client);
			break;
		}
		if (rv < 0)
			return -1;
	}
	return 0;
}

static void shm_disconnect(void *ctx)
{
	struct shm_client *c = ctx;
	/* The mapping itself goes with the process (and is the parent's). */
	free(c->value);
	free(c->out);
	free(c);
}

/* After the run, in the parent: check the shared structures hold what
 * clients * ops operations must have left, so a broken lock or layout
 * cannot pass for speed. 0, or -1 after a message. */
static int shm_verify(const struct bench_opts *o)
{
	int64_t want = (int64_t)o->clients * o->ops, got = want;

	switch (o->w) {
	case W_DICT_INCR:
		got = 0;
		for (uint32_t idx = 0; idx < region->table_cap; idx++) {
			struct slot *s = slot_at(idx);
			int64_t n;
			if (s->used && s->vlen == sizeof n) {
				memcpy(&n, s->val, sizeof n);
				got += n;
			}
		}
		break;
	case W_LIST_APPEND:
		got = (int64_t)region->list_len;
		break;
	case W_QUEUE_PAIR:
		want = 0; /* every put was got */
		got = region->ring_count;
		break;
	case W_VALUE_ADD:
	case W_LOCKED_RMW:
		got = region->counter;
		break;
	case W_ARRAY_ADD:
		got = region->array[BENCH_ARRAY_HOT];
		break;
	case W_SEM_PAIR: {
		int v = -1;
		sem_getvalue(&region->sem, &v);
		want = o->clients; /* every permit back */
		got = v;
		break;
	}
	default:
		break;
	}
	if (got != want) {
		fprintf(stderr, "bench_shm: %s left %lld, expected %lld\n",
		        o->workload, (long long)got, (long long)want);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct bench_peer peer = {
	        .name = "shm",
	        .connect = shm_connect,
	        .run = shm_run,
	        .disconnect = shm_disconnect,
	        .supports = shm_supports,
	        .prepare = shm_prepare,
	};
	struct bench_opts o = {0};

	bench_parse(argc, argv, &o);
	if (o.peer == NULL)
		o.peer = peer.name;
	int status = bench_main(&o, &peer);
	/* region is NULL when the workload was skipped. */
	if (status == 0 && region != NULL && shm_verify(&o) < 0) {
		printf("FAIL peer=%s workload=%s clients=%d depth=%d"
		       " reason=verify\n",
		       o.peer, o.workload, o.clients, o.depth);
		status = 1;
	}
	return status;
}
