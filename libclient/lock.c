/*
 * lock.c — the client side of the lock type (Python's Lock and RLock);
 * server/lock.c is the other half. Each call is one request (the LOCK_*
 * ops in proto/objmgr.proto) run with omi_call(), which checks the handle.
 * The holder is this client's connection: the server releases the lock
 * when it ends, and tells the next acquirer OM_OWNER_DIED.
 */
#include "internal.h"

#define OMI_TYPE OM_TYPE_LOCK /* the rows' type (OMI_CALL, internal.h) */

/* *out = manager.Lock(), or the one called `name` */
int om_lock_open(om_client *c, const char *name, int flags, om_lock **out)
{
	return omi_open(c, name, flags, OM_TYPE_LOCK, NULL, 0, (void **)out);
}

/* l.acquire(timeout) -> OK | OWNER_DIED | ETIMEOUT */
OMI_WAIT(om_lock_acquire, om_lock, LOCK_ACQUIRE)

/* l.release() | ENOTOWNER */
OMI_CALL(om_lock_release, om_lock, LOCK_RELEASE)

/* *out = l.locked() */
OMI_GET(om_lock_locked, om_lock, bool, LOCK_LOCKED, omi_done_bool)
