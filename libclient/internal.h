/*
 * internal.h — libobjmgr's insides: the client, handles, and the one RPC
 * path every public call goes through. Nothing here is exported.
 *
 * Handles are not pointers to memory: a handle value encodes a slot in a
 * process-wide table plus the slot's generation (handle.c), so a released
 * or garbage handle is detected (OM_EINVAL) instead of being dereferenced.
 */
#ifndef OMI_INTERNAL_H
#define OMI_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "objmgr.h"
#include "wire.h"

struct omi_handle;

struct om_client {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint64_t gen;      /* fork generation of the connection */
	uint64_t next_id;  /* request ids */
	bool lost;         /* the connection failed: OM_ECONN from now on */
	struct omi_buf rbuf, wbuf;
	struct omi_arena arena; /* one call's request and response */
	char errmsg[512];
	int life_fd;       /* om_spawn: write end of the server's life pipe */
	pid_t spawner;     /* the process that spawned the server */
	char *spawn_dir;   /* private socket directory to remove */
	struct omi_handle *handles; /* every handle handed out (a list) */
};

struct omi_handle {
	om_client *c;
	uint64_t id;
	int type;
	uint64_t gen; /* fork generation whose connection holds the reference */
	struct omi_handle *prev, *next;
	void *value;  /* the encoded handle given to the user */
};

/* ---------------------------------------------------------------- forks */

/** The current fork generation: bumped in every child (pthread_atfork). */
uint64_t omi_fork_gen(void);
/** Keep `fd`, the write end of a spawned server's life pipe, in c; forked
 *  children close their copy at fork time, so only the spawner keeps the
 *  server alive. */
void omi_life_adopt(om_client *c, int fd);

/* --------------------------------------------------------------- handles */

/** Register a new handle for object (id, type) of client c.
 *  @return the value to give the user, or NULL when out of memory. */
void *omi_handle_new(om_client *c, uint64_t id, int type, uint64_t gen);
/** The handle behind a user's value, or NULL if invalid or released. */
struct omi_handle *omi_handle_get(const void *value);
/** Invalidate and free a handle (no RPC). */
void omi_handle_free(struct omi_handle *h);

/* ------------------------------------------------------------------- RPC */

/** Set c's last error message (printf-style) and return `code`. */
int omi_fail(om_client *c, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/**
 * The arguments of one call. `args`/`nargs` are borrowed for the call.
 */
struct omi_args {
	int op;              /* OBJMGR__OP__* */
	const om_item *args; /* items */
	size_t nargs;
	int64_t num, num2;
	double timeout;
	const char *name;    /* OPEN, UNLINK */
};

/**
 * Run one request on client c against object `target` (0: the server) and
 * wait for its response, valid until the next call on c.
 * Handles fork (reconnects in a child) and a lost connection (OM_ECONN).
 * @return the response's status as a C code (its message in c->errmsg).
 */
int omi_rpc(om_client *c, uint64_t target, const struct omi_args *a,
            Objmgr__Response **resp);

/**
 * Run one request on the object behind `handle`, which must be of `type`:
 * OM_EINVAL for a NULL, released or garbage handle, OM_ETYPE for one of
 * another type. In a forked child, first takes the child's reference.
 */
int omi_call(const void *handle, int type, const struct omi_args *a,
             Objmgr__Response **resp);

/* --------------------------------------------------------------- outputs */

/** Copy results[i] to *out (owned by the caller). OM_EPROTO if absent. */
int omi_out_item(const Objmgr__Response *r, size_t i, om_item *out);
/**
 * Copy every `step`-th result starting at `first` into *out (owned).
 * (step 2 splits a key/value list.)
 */
int omi_out_items(const Objmgr__Response *r, size_t first, size_t step,
                  om_items *out);
/** A user item, checked: a known kind, bytes present when len > 0. */
bool omi_item_valid(const om_item *it);

#endif /* OMI_INTERNAL_H */
