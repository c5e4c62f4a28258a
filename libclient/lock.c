/*
 * lock.c — the client side of the lock type (Python's Lock and RLock);
 * server/lock.c is the other half. The holder is this client's
 * connection: the server releases the lock when it ends, and tells the
 * next acquirer OM_OWNER_DIED.
 *
 * A mapped lock (map.c) is taken and released here, on its lock word, as
 * this connection's session token (shm.h's rules, omi_slock_*): an
 * uncontended acquire or release is one atomic instruction. Otherwise,
 * and in a pipeline, each call is one request (the LOCK_* ops in
 * proto/objmgr.proto) run with omi_call(); the server applies it to the
 * same word.
 */
#include "internal.h"
#include "shm.h"

#define OMI_TYPE OM_TYPE_LOCK /* the rows' type (OMI_CALL, internal.h) */

/* *out = manager.Lock(), or the one called `name` */
int om_lock_open(om_client *c, const char *name, int flags, om_lock **out)
{
	return omi_open(c, name, flags, OM_TYPE_LOCK, NULL, 0, (void **)out);
}

/* l.acquire(timeout) -> OK | OWNER_DIED | ETIMEOUT */
int om_lock_acquire(om_lock *l, double timeout)
{
	OMI_LOCAL(h, l, timeout, LOCK_ACQUIRE, NULL, 0, 0, NULL, NULL);
	int rc = omi_shm_lock(h->c, omi_shm_state(h->shm),
	                      h->shm_flags & OM_RECURSIVE, timeout);
	if (rc >= 0)
		omi_wrote(h);
	return rc;
}

/* l.release() | ENOTOWNER */
int om_lock_release(om_lock *l)
{
	OMI_LOCAL(h, l, 0, LOCK_RELEASE, NULL, 0, 0, NULL, NULL);
	int rc = omi_shm_unlock(h->c, omi_shm_state(h->shm), false);
	if (rc >= 0)
		omi_wrote(h);
	return rc;
}

/* *out = l.locked() */
int om_lock_locked(om_lock *l, bool *out)
{
	if (!out)
		return OM_EINVAL;
	OMI_LOCAL(h, l, 0, LOCK_LOCKED, NULL, 0, 0, omi_done_bool, out);
	*out = omi_slock_owner(omi_shm_state(h->shm)) != 0;
	return OM_OK;
}
