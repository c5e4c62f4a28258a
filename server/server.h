/*
 * server.h — what the whole of objmgrd shares: its limits, its statistics,
 * the event loop, and a clean stop (main.c).
 *
 * Concurrency model: objmgrd runs one thread, the libevent loop. Every
 * request, deadline and session end runs to completion on it, one at a
 * time, so no object has a mutex and no count is atomic. (Cross-process
 * locks in shared memory, where clients run concurrently with the server,
 * are a different thing and live with the types that use them.)
 */
#ifndef SERVER_H
#define SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objmgr.h"

struct event_base;

/* The limits an option may set, and the bounds the options clamp to. */
struct server_limits {
	size_t max_frame;         /* largest frame accepted or sent */
	size_t max_item;          /* largest item stored */
	uint64_t max_memory;      /* bytes all stored items may hold */
	unsigned max_conns;       /* connections open at once */
	unsigned max_inflight;    /* parked requests per connection */
	size_t max_output;        /* queued answers before a connection's
	                           * requests wait (its reading pauses) */
	double handshake_timeout; /* seconds to complete the Hello */
};

enum {
	OMI_MAX_COUNT_CAP = 1000000, /* --max-connections, --max-inflight */
	OMI_MAX_FD = 65535,          /* --ready-fd, --parent-fd */
	OMI_MAX_SECONDS = 86400,     /* --handshake-timeout */
	OMI_MAX_KEEPALIVE = 32767,   /* --keepalive: TCP_KEEPIDLE's bound */
};

/* The counters behind STATS (OM_STATS_MAP, objmgr.h). */
struct server_stats {
#define OMI_X_(name, meaning) uint64_t name;
	OM_STATS_MAP(OMI_X_)
#undef OMI_X_
};

struct omi_server {
	struct event_base *base;
	struct server_limits limits;
	struct server_stats stats;
	bool allow_other_users; /* --allow-other-users */
	/* --authkey-file: the key TCP peers prove they hold (auth.h), or
	 * NULL (then there is no TCP listener). */
	const uint8_t *authkey;
	size_t authkey_len;
	unsigned keepalive; /* --keepalive: seconds of silence on TCP */
	bool stopping;      /* server_stop() was called */
};

/** The server (server.c). */
extern struct omi_server omi_srv;

/** Stop the loop at the end of this iteration; main() then stops cleanly
 *  (parked calls answered ESTOPPING, connections closed, socket removed). */
void server_stop(void);

#endif /* SERVER_H */
