/*
 * client.c — connections, the RPC path and the server-level calls of
 * libobjmgr. No object type's code is here: each type's client side,
 * its om_*_open() included, is in a file of its own.
 *
 * One om_client is one connection (one session on the server). omi_rpc()
 * checks a call's items, packs its request into the client's write buffer
 * (built in the client's arena) and hands it to the I/O engine in
 * pipeline.c, which writes it, matches the response to it by id and runs
 * the call's completion (done.c) to fill in the caller's outputs: at once
 * for a synchronous call, at om_pipeline_end() in a pipeline. omi_call()
 * adds the checks of a handle; omi_open() is the OPEN behind every
 * om_*_open(). Calls that need their answer at once (opening objects,
 * shutdown) refuse to be pipelined.
 *
 * fork(): the fork generation (fork.c) is bumped in the child, and the
 * child's copies of the parent's sockets are closed at once (fork_child;
 * the parent's connection is untouched: a close of one descriptor copy
 * sends nothing). A client whose generation is old was inherited: its
 * first call in the child connects anew; a handle whose generation is old
 * first takes the child's own reference (ADDREF).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "auth.h"
#include "internal.h"

/* --------------------------------------------------------------- connect */

/* ----------------------------------------------------------------- forks */

/*
 * fork() without a window (FORK and ADOPT in objmgr.proto): before a fork,
 * each of this process's connections asks the server to hold what it
 * references, under a random token, until a pipe whose write end the child
 * inherits reads end-of-file; the child's first connection ADOPTs the hold
 * and closes its end. So a parent may release a handle right after fork()
 * and the child still finds the object; a child that never connects, or
 * dies, ends the hold by exiting. This costs one round trip per connection
 * per fork(). A client is used by one thread at a time: a client that
 * another thread is inside a call on (its call_mu held) is skipped, since
 * FORK would land in the middle of that call.
 */
static om_client *clients; /* this process's, for the fork handlers */
static pthread_mutex_t clients_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t hold_once = PTHREAD_ONCE_INIT;

static void drop_hold(om_client *c)
{
	if (c->hold_fd >= 0)
		close(c->hold_fd);
	c->hold_fd = -1;
	c->hold_token = 0;
}

/* Ask the server to hold what c references for the child about to be
 * forked. Any failure leaves c without a hold (the child then takes its
 * own references at its first use, as without this). */
static void hold_for_child(om_client *c)
{
	drop_hold(c); /* an older, inherited one is the parent's business */
	uint64_t token;
	int p[2] = {-1, -1};
	if (getrandom(&token, sizeof token, 0) != sizeof token || !token)
		return;
	/* Over TCP no descriptor can pass: the server holds until the
	 * child ADOPTs, or 60 s (objmgr.proto, FORK). */
	if (!c->addr.tcp && pipe2(p, O_CLOEXEC))
		return;
	struct omi_args a = {.op = OBJMGR__OP__FORK,
	                     .num = (int64_t)token,
	                     .pend = OMI_PEND_QUIET};
	c->pass_fd = p[0];
	int rc = omi_rpc(c, 0, &a);
	/* In a pipeline too, the hold must exist before the child can ask
	 * for it: wait for FORK's answer (earlier pipelined answers are
	 * completed as they come). */
	if (rc >= 0 && omi_piping(c))
		rc = omi_pipe_wait_last(c);
	bool sent = c->pass_fd < 0;
	c->pass_fd = -1;
	if (p[0] >= 0)
		close(p[0]);
	if (rc < 0 || !sent) {
		if (p[1] >= 0)
			close(p[1]);
		return;
	}
	c->hold_fd = p[1];
	c->hold_token = token;
}

/* A client's call mutex, recursive: omi_rpc() may run inside another
 * omi_rpc() of the same client (a forked child's first call connects and
 * ADOPTs). */
static void call_mu_init(om_client *c)
{
	pthread_mutexattr_t at;
	pthread_mutexattr_init(&at);
	pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&c->call_mu, &at);
	pthread_mutexattr_destroy(&at);
}

/* A client that another thread is inside a call on is skipped: FORK
 * written now would land in the middle of that call. The child then has
 * no hold from it (it must not use that client anyway: the parent's call
 * is not its). */
static void fork_prepare(void)
{
	pthread_mutex_lock(&clients_mu);
	int saved = errno;
	for (om_client *c = clients; c; c = c->cnext) {
		if (c->gen != omi_fork_gen() || c->lost || c->fd < 0 ||
		    pthread_mutex_trylock(&c->call_mu) != 0)
			continue;
		c->fork_locked = true;
		hold_for_child(c);
	}
	errno = saved;
}

/* In the parent: the child has its copy of each pipe end; ours goes. */
static void fork_parent(void)
{
	for (om_client *c = clients; c; c = c->cnext) {
		if (c->gen == omi_fork_gen())
			drop_hold(c);
		if (c->fork_locked) {
			c->fork_locked = false;
			pthread_mutex_unlock(&c->call_mu);
		}
	}
	pthread_mutex_unlock(&clients_mu);
}

/* In the child: its copies of the parent's sockets go now, not at its
 * first call. A child that never calls the library (or not for long)
 * would otherwise keep the parent's connection open after the parent
 * died, and the server would not see the parent's session end: its locks
 * held, its pipe ends open. Closing a copy sends nothing. fd -1 tells
 * ready() there is nothing left to close (the number may be reused by
 * then). The hold (hold_fd, hold_token) stays: the first call ADOPTs it.
 * Kick sockets stay: the server has one, and the child's mapped calls
 * (on the mappings it inherits) go on kicking it through this copy. */
static void fork_child(void)
{
	for (om_client *c = clients; c; c = c->cnext) {
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		/* Ours, or held by a thread the child does not have. */
		c->fork_locked = false;
		call_mu_init(c);
	}
	pthread_mutex_unlock(&clients_mu);
}

static void register_hold(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static void clients_add(om_client *c)
{
	pthread_mutex_lock(&clients_mu);
	c->cnext = clients;
	if (clients)
		clients->cprev = c;
	clients = c;
	pthread_mutex_unlock(&clients_mu);
}

static void clients_del(om_client *c)
{
	pthread_mutex_lock(&clients_mu);
	if (c->cprev)
		c->cprev->cnext = c->cnext;
	else if (clients == c)
		clients = c->cnext;
	if (c->cnext)
		c->cnext->cprev = c->cprev;
	c->cprev = c->cnext = NULL;
	pthread_mutex_unlock(&clients_mu);
}

/* --------------------------------------------------------------- connect */

/* Connect c->fd to the Unix socket c->addr.path. */
static int dial_unix(om_client *c)
{
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return omi_fail(c, OM_ECONN, "socket: %s", strerror(errno));
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	memcpy(sun.sun_path, c->addr.path, strlen(c->addr.path) + 1);
	while (connect(c->fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		if (errno == EINTR)
			continue;
		return omi_fail(c, errno == EACCES ? OM_EAUTH : OM_ECONN,
		                "cannot connect to %s: %s", c->path,
		                strerror(errno));
	}
	return OM_OK;
}

/* How long a TCP connect and its handshake may take: a host that drops
 * our packets, or a listener that never speaks, is OM_ECONN then, not a
 * hang (a Unix socket's peer is on this machine: it answers or refuses). */
static const struct timeval dial_timeout = {10, 0};

/* Set (or, with tv 0, clear) the socket's send and receive timeouts: while
 * set, connect() and the blocking reads of the handshake give up at them
 * (read_some() takes a timed-out read as the connection lost). */
static void dial_deadline(int fd, const struct timeval *tv)
{
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, tv, sizeof *tv);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, sizeof *tv);
}

/* Connect c->fd to c->addr's host and port: each address it resolves to
 * in turn, each within dial_timeout. No Nagle delay (a request is one
 * small frame), and keepalive, so a server whose machine vanished is
 * noticed (OM_ECONN). */
static int dial_tcp(om_client *c)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM},
	                *res;
	int g = getaddrinfo(c->addr.host, c->addr.port, &hints, &res);
	if (g)
		return omi_fail(c, OM_ECONN, "cannot resolve %s: %s",
		                c->addr.host, gai_strerror(g));
	int err = 0;
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		               ai->ai_protocol);
		if (c->fd < 0) {
			err = errno;
			continue;
		}
		dial_deadline(c->fd, &dial_timeout);
		int rc;
		while ((rc = connect(c->fd, ai->ai_addr, ai->ai_addrlen)) < 0 &&
		       errno == EINTR)
			;
		if (rc == 0)
			break;
		/* SO_SNDTIMEO ends a connect() with EINPROGRESS. */
		err = errno == EINPROGRESS ? ETIMEDOUT : errno;
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (c->fd < 0)
		return omi_fail(c, OM_ECONN, "cannot connect to %s: %s",
		                c->path, strerror(err ? err : ECONNREFUSED));
	int on = 1, idle = 30, intvl = 10, cnt = 3;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
	setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
	return OM_OK;
}

/* Read the server's next Hello into the arena. @return OM_OK, or why
 * not: the connection lost, not a Hello, or the server's refusal. */
static int read_hello(om_client *c, Objmgr__Hello **out)
{
	const uint8_t *body;
	size_t len;
	int rc = omi_pipe_frame(c, &body, &len);
	if (rc)
		return rc;
	omi_arena_reset(&c->arena);
	Objmgr__Hello *in = objmgr__hello__unpack(&c->arena.pb, len, body);
	if (!in)
		return omi_fail(c, OM_EPROTO, "%s: not an objmgr server",
		                c->path);
	if (in->status != OBJMGR__STATUS__OK) {
		rc = omi_status_to_code(in->status);
		return omi_fail(c, rc, "refused by the server: %s",
		                in->message && *in->message ? in->message
		                                            : om_strerror(rc));
	}
	*out = in;
	return OM_OK;
}

/* Open the socket and exchange Hellos; over TCP, authenticate both ways
 * first (objmgr.proto, Authentication): the server's challenge, our
 * Hello with our proof and our challenge, its Hello with its proof. */
static int dial(om_client *c)
{
	int rc = c->addr.tcp ? dial_tcp(c) : dial_unix(c);
	if (rc)
		goto out_close;
	c->rbuf.off = c->rbuf.len = c->wbuf.off = c->wbuf.len = 0;
	omi_pipe_drop_fds(c); /* an inherited connection's */
	c->lost = false;

	Objmgr__Hello hello = OBJMGR__HELLO__INIT, *in;
	hello.version = OMI_PROTO_VERSION;
	hello.pid = (uint32_t)getpid();
	uint8_t sch[OMI_CHALLENGE_LEN], cch[OMI_CHALLENGE_LEN];
	uint8_t proof[OMI_PROOF_LEN];
	if (c->addr.tcp) {
		if ((rc = read_hello(c, &in)))
			goto out_close;
		if (in->challenge.len != OMI_CHALLENGE_LEN) {
			rc = omi_fail(c, OM_EAUTH,
			              "%s: the server sent no challenge: it "
			              "does not authenticate",
			              c->path);
			goto out_close;
		}
		memcpy(sch, in->challenge.data, sizeof sch);
		if (omi_challenge(cch) ||
		    omi_proof(c->key, c->keylen, false, sch, cch, proof)) {
			rc = omi_fail(c, OM_EAUTH,
			              "cannot make a challenge or a proof "
			              "(libcrypto failed)");
			goto out_close;
		}
		hello.challenge = (ProtobufCBinaryData){sizeof cch, cch};
		hello.proof = (ProtobufCBinaryData){sizeof proof, proof};
	}
	if ((rc = omi_buf_put_msg(&c->wbuf, &hello.base, OMI_MAX_FRAME)))
		goto out_close;
	/* A server that refuses us (EAUTH, connection limit) answers and
	 * closes at once: its answer, which says why, is read even if our
	 * write failed. */
	if ((rc = read_hello(c, &in)))
		goto out_close;
	/* Mutual: a server that cannot prove it holds the key is not
	 * trusted with a single request. */
	if (c->addr.tcp && !omi_proof_ok(c->key, c->keylen, true, cch, sch,
	                                 in->proof.data, in->proof.len)) {
		rc = omi_fail(c, OM_EAUTH,
		              "%s: the server did not prove that it holds the "
		              "key",
		              c->path);
		goto out_close;
	}
	if (c->addr.tcp) {
		static const struct timeval none = {0, 0};
		dial_deadline(c->fd,
		              &none); /* calls wait as long as they must */
	}
	c->gen = omi_fork_gen();
	c->session = in->session;
	if (c->hold_token) {
		/* A forked child: take over what the parent held at the fork
		 * (FORK, above), before the hold can end — it ends when we
		 * close our pipe end — so synchronously, even if the child has
		 * begun a pipeline (nothing is queued yet: this is its first
		 * call). Without a hold (the parent could not make one: out
		 * of descriptors, say), an inherited handle's object is not
		 * this session's, and its calls fail with OM_ENOENT. */
		struct omi_args a = {.op = OBJMGR__OP__ADOPT,
		                     .num = (int64_t)c->hold_token,
		                     .pend = OMI_PEND_QUIET};
		bool piping = c->pipe.on;
		c->pipe.on = false;
		omi_rpc(c, 0, &a);
		c->pipe.on = piping;
		drop_hold(c);
	}
	return OM_OK;

out_close:
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->lost = true;
	return rc;
}

/* c's key for a TCP address: the caller's (copied), else the file
 * $OBJMGR_AUTHKEY_FILE's. */
static int take_key(om_client *c, const void *key, size_t keylen)
{
	if (key) {
		if (!(c->key = malloc(keylen)))
			return omi_fail(c, OM_ENOMEM, "out of memory");
		memcpy(c->key, key, keylen);
		c->keylen = keylen;
		return OM_OK;
	}
	const char *file = getenv("OBJMGR_AUTHKEY_FILE");
	if (!file || !*file)
		return omi_fail(c, OM_EAUTH,
		                "%s needs a key (om_connect_key or "
		                "$OBJMGR_AUTHKEY_FILE)",
		                c->path);
	char err[400];
	if (omi_read_key_file(file, &c->key, &c->keylen, err, sizeof err))
		return omi_fail(c, OM_EAUTH, "$OBJMGR_AUTHKEY_FILE: %s", err);
	return OM_OK;
}

/* Where c goes: c->addr, c->path for messages, and a TCP address's key. */
static int set_address(om_client *c, const char *address, const void *key,
                       size_t keylen)
{
	char err[256];
	if (omi_parse_address(address, &c->addr, err, sizeof err))
		return omi_fail(c, OM_EINVAL, "bad address '%s': %s",
		                address ? address : "", err);
	if (!c->addr.tcp) {
		memcpy(c->path, c->addr.path, sizeof c->path);
		return OM_OK;
	}
	bool v6 = strchr(c->addr.host, ':') != NULL;
	snprintf(c->path, sizeof c->path, "tcp:%s%.*s%s:%s", v6 ? "[" : "",
	         (int)(sizeof c->path - 16), c->addr.host, v6 ? "]" : "",
	         c->addr.port);
	return take_key(c, key, keylen);
}

int om_connect(const char *address, om_client **out)
{
	return om_connect_key(address, NULL, 0, out);
}

int om_connect_key(const char *address, const void *key, size_t keylen,
                   om_client **out)
{
	if (!out)
		return OM_EINVAL;
	omi_fork_init();
	pthread_once(&hold_once, register_hold);
	om_client *c = calloc(1, sizeof *c);
	if (!c)
		return OM_ENOMEM;
	c->fd = -1;
	c->life_fd = -1;
	c->pass_fd = -1;
	c->hold_fd = -1;
	c->kick_fd = -1;
	call_mu_init(c);
	omi_arena_init(&c->arena);
	int rc = OM_OK;
	if (key && (keylen == 0 || keylen > OMI_KEY_MAX))
		rc = omi_fail(c, OM_EINVAL, "a key of %zu bytes (1 to %d)",
		              keylen, OMI_KEY_MAX);
	if (!rc)
		rc = set_address(c, address, key, keylen);
	/* A remote client maps nothing: another machine's memory is not
	 * ours (every call takes the RPC path). */
	const char *shm = getenv("OBJMGR_SHM");
	c->may_map = !c->addr.tcp && (!shm || strcmp(shm, "0") != 0);
	if (!rc)
		rc = dial(c);
	if (rc) {
		omi_connect_failed(c);
		omi_key_free(c->key, c->keylen);
		free(c->errlong);
		omi_arena_free(&c->arena);
		omi_buf_free(&c->rbuf);
		omi_buf_free(&c->wbuf);
		pthread_mutex_destroy(&c->call_mu);
		free(c);
		return rc;
	}
	clients_add(c);
	*out = c;
	return OM_OK;
}

/* Make c usable in this process: after a fork, a connection of our own. */
static int ready(om_client *c)
{
	if (c->gen != omi_fork_gen()) {
		/* Inherited: our copy of the parent's socket went at fork
		 * time (fork_child, so c->fd is -1); dial anew. */
		if (c->pipe.gen != omi_fork_gen())
			omi_pipe_discard(c); /* the parent's, if any */
		return dial(c);
	}
	if (c->lost)
		return omi_fail(c, OM_ECONN, "connection to %s was lost",
		                c->path);
	return OM_OK;
}

/* ------------------------------------------------------------------- RPC */

/* Check a's items and pack its request for `target` into c->wbuf.
 * *id gets the request's id. The arena is reset: the request is built in
 * it, and it is no longer needed once packed. */
static int pack_request(om_client *c, uint64_t target, const struct omi_args *a,
                        uint64_t *id)
{
	int rc = omi_check_items(c, a->args, a->nargs);
	if (rc)
		return rc;
	omi_arena_reset(&c->arena);
	Objmgr__Request req = OBJMGR__REQUEST__INIT;
	req.id = c->next_id + 1;
	req.target = target;
	req.op = (Objmgr__Op)a->op;
	req.num = a->num;
	req.num2 = a->num2;
	req.timeout = a->timeout;
	if (a->name) {
		req.name.data = (uint8_t *)a->name;
		req.name.len = strlen(a->name);
	}
	if (a->nargs) {
		req.args = omi_items_to_pb(&c->arena, a->args, a->nargs);
		if (!req.args)
			return omi_fail(c, OM_ENOMEM, "out of memory");
		req.n_args = a->nargs;
	}
	rc = omi_buf_put_msg(&c->wbuf, &req.base, OMI_MAX_FRAME);
	if (rc)
		return omi_fail(c, rc,
		                rc == OM_ENOMEM ? "out of memory"
		                                : "request too large to send");
	*id = ++c->next_id;
	return OM_OK;
}

int omi_check_items(om_client *c, const om_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!omi_item_valid(&items[i]))
			return omi_fail(c, OM_EINVAL,
			                "argument %zu is not a valid item", i);
	return OM_OK;
}

int omi_rpc(om_client *c, uint64_t target, const struct omi_args *a)
{
	pthread_mutex_lock(&c->call_mu);
	c->errmsg[0] = '\0';
	int rc = ready(c);
	if (rc)
		goto out;
	if (c->sub && omi_sub_refuses(c, a->op)) {
		rc = OM_EINVAL;
		goto out;
	}
	size_t mark = c->wbuf.len;
	uint64_t id = 0;
	if ((rc = pack_request(c, target, a, &id)))
		goto out;
	rc = omi_pipe_run(c, id, mark, a);
out:
	pthread_mutex_unlock(&c->call_mu);
	return rc;
}

int omi_rpc_later(om_client *c, uint64_t target, const struct omi_args *a)
{
	if (omi_piping(c))
		return omi_fail(c, OM_EINVAL,
		                "a request sent for later "
		                "cannot be made in a pipeline");
	struct omi_args later = *a;
	later.pend = OMI_PEND_LATER;
	return omi_rpc(c, target, &later);
}

int omi_use(const void *handle, int type, double timeout,
            struct omi_handle **out)
{
	struct omi_handle *h = omi_handle_get(handle);
	if (!h)
		return OM_EINVAL;
	om_client *c = h->c;
	/* Checked before anything else, so a NaN is refused the same way
	 * for every type, in a pipeline or not, mapped or not, and costs no
	 * round trip. */
	if (isnan(timeout))
		return omi_fail(c, OM_EINVAL, "timeout is NaN");
	if (h->type != type)
		return omi_fail(c, OM_ETYPE,
		                "handle is not of the expected type");
	if (h->gen != omi_fork_gen()) {
		/* First use in a forked child: the child's own reference. In
		 * a pipeline it is sent ahead of the call, and undone (so
		 * the next use tries again) if it fails. */
		struct omi_args ar = {.op = OBJMGR__OP__ADDREF,
		                      .out = h->value,
		                      .pend = OMI_PEND_ADDREF};
		int rc = omi_rpc(c, h->id, &ar);
		if (rc < 0)
			return rc;
		h->gen = omi_fork_gen();
	}
	*out = h;
	return OM_OK;
}

int omi_local(const void *handle, int type, double timeout,
              struct omi_handle **out)
{
	struct omi_handle *h;
	int rc = omi_use(handle, type, timeout, &h);
	if (rc < 0)
		return rc;
	om_client *c = h->c;
	/* A lost connection's token may be another session's by now: only
	 * a live connection of this process writes it into a lock word.
	 * The request path reports the loss (and a subscriber's refusal). */
	if (h->shm && !c->lost && !c->sub && c->gen == omi_fork_gen() &&
	    !omi_piping(c)) {
		c->errmsg[0] = '\0';
		*out = h;
	} else {
		*out = NULL;
	}
	return OM_OK;
}

int omi_local_fail(om_client *c, int rc)
{
	return omi_fail(c, rc, "%s", om_strerror(rc));
}

int omi_call(const void *handle, int type, const struct omi_args *a)
{
	struct omi_handle *h;
	int rc = omi_use(handle, type, a->timeout, &h);
	if (rc < 0)
		return rc;
	return omi_rpc(h->c, h->id, a);
}

int omi_call_op(const void *handle, int type, int op, const om_item *items,
                size_t n, int64_t num, double timeout, omi_done_fn *done,
                void *out)
{
	struct omi_args a = {.op = op,
	                     .args = items,
	                     .nargs = n,
	                     .num = num,
	                     .timeout = timeout,
	                     .done = done,
	                     .out = out};
	return omi_call(handle, type, &a);
}

/* ------------------------------------------------------ server requests */

/* OM_EINVAL for a call that cannot be pipelined, made in a pipeline. */
static int not_in_pipeline(om_client *c, const char *what)
{
	return omi_fail(c, OM_EINVAL, "%s cannot be called in a pipeline",
	                what);
}

int om_ping(om_client *c)
{
	if (!c)
		return OM_EINVAL;
	struct omi_args a = {.op = OBJMGR__OP__PING};
	return omi_rpc(c, 0, &a);
}

/* STATS results, in OM_STATS_MAP's order -> om_server_stats *out (a field
 * an older server does not send stays 0) */
static int stats_done(const Objmgr__Response *r, void *out, void *out2)
{
	(void)out2;
	om_server_stats *st = out;
	uint64_t *fields[] = {
#define OMI_X_(name, meaning) &st->name,
	        OM_STATS_MAP(OMI_X_)
#undef OMI_X_
	};
	*st = (om_server_stats){0};
	for (size_t i = 0;
	     i < sizeof fields / sizeof *fields && i < r->n_results; i++) {
		om_item it;
		if (omi_item_from_pb(r->results[i], &it) || it.kind != OM_INT)
			return OM_EPROTO;
		*fields[i] = (uint64_t)it.i;
	}
	return OM_OK;
}

int om_stats(om_client *c, om_server_stats *out)
{
	if (!c || !out)
		return OM_EINVAL;
	struct omi_args a = {
	        .op = OBJMGR__OP__STATS, .done = stats_done, .out = out};
	return omi_rpc(c, 0, &a);
}

/* Whether c is the spawner's own client of a server it started. */
static bool is_spawner(const om_client *c)
{
	return c->spawner && c->spawner == getpid() && c->gen == omi_fork_gen();
}

/* After SHUTDOWN: wait until the server has closed our connection (it
 * removes its socket before closing connections), then tidy up. */
static void reap_spawned(om_client *c)
{
	if (!is_spawner(c))
		return;
	if (c->fd >= 0) {
		char b[256];
		while (recv(c->fd, b, sizeof b, 0) > 0 || errno == EINTR)
			;
	}
	omi_life_drop(c);
	if (c->spawn_dir) {
		unlink(c->path);
		rmdir(c->spawn_dir);
	}
	c->spawner = 0;
}

int om_shutdown(om_client *c)
{
	if (!c)
		return OM_EINVAL;
	if (omi_piping(c))
		return not_in_pipeline(c, "om_shutdown");
	struct omi_args a = {.op = OBJMGR__OP__SHUTDOWN};
	int rc = omi_rpc(c, 0, &a);
	if (rc < 0)
		return rc;
	c->lost = true; /* the server is going */
	reap_spawned(c);
	return OM_OK;
}

void om_disconnect(om_client *c)
{
	if (!c)
		return;
	/* A pipeline still open is dropped: its outputs are never written,
	 * and the server's answers to it are skipped by the SHUTDOWN below. */
	omi_pipe_discard(c);
	omi_sub_free(c); /* a subscriber may still stop its server */
	if (is_spawner(c)) {
		struct omi_args a = {.op = OBJMGR__OP__SHUTDOWN};
		if (!c->lost)
			omi_rpc(c, 0, &a);
		reap_spawned(c);
	}
	omi_life_drop(c);
	clients_del(c);
	drop_hold(c);
	if (c->fd >= 0)
		close(c->fd); /* the server drops this session's references */
	while (c->handles)
		omi_handle_free(c->handles);
	omi_pipe_drop_fds(c);
	if (c->kick_fd >= 0)
		close(c->kick_fd);
	omi_pipe_discard(c); /* the entry array, which SHUTDOWN used too */
	omi_arena_free(&c->arena);
	omi_buf_free(&c->rbuf);
	omi_buf_free(&c->wbuf);
	free(c->spawn_dir);
	free(c->errlong);
	omi_key_free(c->key, c->keylen);
	pthread_mutex_destroy(&c->call_mu);
	free(c);
}

/* --------------------------------------------------------------- objects */

/* OPEN / ADDREF: the one result must be a Ref -> om_item *out; with out2
 * (a pipe's OPEN), exactly two Refs -> *out, *out2. */
static int ref_done(const Objmgr__Response *r, void *out, void *out2)
{
	om_item ref[2];
	size_t n = out2 ? 2 : 1;
	if (r->n_results != n)
		return OM_EPROTO;
	for (size_t i = 0; i < n; i++)
		if (omi_item_from_pb(r->results[i], &ref[i]) ||
		    ref[i].kind != OM_REF)
			return OM_EPROTO;
	*(om_item *)out = ref[0]; /* a ref owns no memory */
	if (out2)
		*(om_item *)out2 = ref[1];
	return OM_OK;
}

/* A handle on object `id` (of `type`) for c, with its segment mapped if
 * it has one (omi_map). If there is no memory for one, the reference just
 * taken is given back. */
static int adopt(om_client *c, uint64_t id, int type, void **out)
{
	void *h = omi_handle_new(c, id, type, omi_fork_gen());
	if (!h) {
		struct omi_args rel = {.op = OBJMGR__OP__RELEASE};
		omi_rpc(c, id, &rel);
		return omi_fail(c, OM_ENOMEM, "out of memory");
	}
	omi_map(c, omi_handle_get(h));
	*out = h;
	return OM_OK;
}

int omi_open(om_client *c, const char *name, int flags, int type,
             const om_item *params, size_t nparams, void **out)
{
	return omi_open2(c, name, flags, type, params, nparams, out, NULL);
}

int omi_open2(om_client *c, const char *name, int flags, int type,
              const om_item *params, size_t nparams, void **out, void **out2)
{
	if (!c || !out)
		return OM_EINVAL;
	if (name && !*name)
		return omi_fail(c, OM_EINVAL, "empty object name");
	if (omi_piping(c))
		return not_in_pipeline(c, "opening an object");
	om_item ref, ref2;
	struct omi_args a = {
	        .op = OBJMGR__OP__OPEN,
	        .args = params,
	        .nargs = nparams,
	        .num = type,
	        .num2 = flags,
	        .name = name,
	        .done = ref_done,
	        .out = &ref,
	        .out2 = out2 ? &ref2 : NULL,
	};
	int rc = omi_rpc(c, 0, &a);
	if (rc < 0)
		return rc;
	if (!out2)
		return adopt(c, ref.ref.id, type, out);
	void *h;
	if ((rc = adopt(c, ref.ref.id, type, &h)))
		goto out_release2;
	if ((rc = adopt(c, ref2.ref.id, ref2.ref.type, out2))) {
		om_release(h); /* adopt() gave the second back */
		return rc;
	}
	*out = h;
	return OM_OK;

out_release2:;
	struct omi_args rel = {.op = OBJMGR__OP__RELEASE,
	                       .pend = OMI_PEND_QUIET};
	omi_rpc(c, ref2.ref.id, &rel);
	return rc;
}
int om_open_any(om_client *c, const char *name, void **out)
{
	if (!c || !out)
		return OM_EINVAL;
	if (!name || !*name)
		return omi_fail(c, OM_EINVAL, "no object name");
	if (omi_piping(c))
		return not_in_pipeline(c, "opening an object");
	om_item ref;
	struct omi_args a = {.op = OBJMGR__OP__OPEN,
	                     .num = OBJMGR__TYPE__TYPE_NONE,
	                     .name = name,
	                     .done = ref_done,
	                     .out = &ref};
	int rc = omi_rpc(c, 0, &a);
	if (rc < 0)
		return rc;
	return adopt(c, ref.ref.id, ref.ref.type, out);
}

int om_unlink(om_client *c, const char *name)
{
	if (!c || !name || !*name)
		return c ? omi_fail(c, OM_EINVAL, "no name") : OM_EINVAL;
	struct omi_args a = {.op = OBJMGR__OP__UNLINK, .name = name};
	return omi_rpc(c, 0, &a);
}

int om_open_ref(om_client *c, const om_item *ref, void **out)
{
	if (!c || !ref || !out)
		return OM_EINVAL;
	if (ref->kind != OM_REF || !omi_item_valid(ref))
		return omi_fail(c, OM_EINVAL, "item is not an OM_REF");
	if (omi_piping(c))
		return not_in_pipeline(c, "om_open_ref");
	om_item got; /* the server's word on the type, not the item's */
	struct omi_args a = {
	        .op = OBJMGR__OP__ADDREF, .done = ref_done, .out = &got};
	int rc = omi_rpc(c, ref->ref.id, &a);
	if (rc < 0)
		return rc;
	return adopt(c, ref->ref.id, got.ref.type, out);
}

void om_release(void *handle)
{
	struct omi_handle *h = omi_handle_get(handle);
	if (!h)
		return;
	om_client *c = h->c;
	/* A handle inherited by fork() and never used here is held for this
	 * process by the fork hold (or, once this process's session has
	 * adopted the hold, by that session) until it exits: take it over
	 * first (omi_use: connect, ADOPT, ADDREF), so that the RELEASE below
	 * lets go of it now — a child closing its copy of the parent's pipe
	 * end must let the parent see EOF. If that fails there is nothing
	 * this process can give back. In a pipeline the RELEASE waits its
	 * turn (after the calls already made on the handle). */
	struct omi_handle *used;
	if (h->gen != omi_fork_gen() && omi_use(handle, h->type, 0, &used) < 0)
		goto out_free;
	omi_handle_ext_fini(h, true); /* a pool's creator terminates it */
	if (h->gen == omi_fork_gen() && c->gen == omi_fork_gen() && !c->lost) {
		struct omi_args a = {.op = OBJMGR__OP__RELEASE,
		                     .pend = OMI_PEND_QUIET};
		omi_rpc(c, h->id, &a);
	}
out_free:
	omi_handle_free(h);
}
