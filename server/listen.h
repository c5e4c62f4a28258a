/* listen.h — the listening socket (listen.c). */
#ifndef LISTEN_H
#define LISTEN_H

/** Resolve `address` (NULL: the default), bind and listen.
 *  @return 0, or -1 after logging why. */
int listen_start(const char *address);
/** Stop accepting and remove the socket file. */
void listen_stop(void);
/** The socket path in use. */
const char *listen_path(void);

#endif /* LISTEN_H */
