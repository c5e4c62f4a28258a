/*
 * server.c — the server's shared state (server.h): its limits, statistics
 * and loop, and the request to stop.
 */
#include <event2/event.h>

#include "server.h"

/* The defaults of the limits that objmgrd's options set. */
struct omi_server omi_srv = {
        .limits.max_frame = 64u << 20,
        .limits.max_item = 32u << 20,
        .limits.max_memory = (uint64_t)4 << 30,
        .limits.max_conns = 1024,
        .limits.max_inflight = 4096,
        .limits.max_output = 16u << 20,
        .limits.handshake_timeout = 10,
        .keepalive = 30,
};

void server_stop(void)
{
	omi_srv.stopping = true;
	event_base_loopbreak(omi_srv.base);
}
