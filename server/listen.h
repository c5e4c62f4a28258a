/* listen.h — the listening sockets (listen.c). */
#ifndef LISTEN_H
#define LISTEN_H

#include <stddef.h>

/* --listen may be given this many times. */
enum { LISTEN_MAX = 16 };

/** Listen on each of addresses[0..n) (omi_parse_address; NULL: the
 *  default): a Unix socket, or TCP on every address a host resolves to.
 *  @return 0, or -1 after logging why (nothing is left listening). */
int listen_start(const char *const *addresses, size_t n);
/** Stop accepting and remove the socket files. */
void listen_stop(void);

#endif /* LISTEN_H */
