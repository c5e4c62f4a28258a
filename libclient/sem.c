/*
 * sem.c — the client side of the semaphore type; server/sem.c is the
 * other half. A mapped semaphore (map.c) is acquired and released here on
 * its value word (shm.h's rules, omi_ssem_*): no round trip, and a waiter
 * sleeps on the futex. Otherwise, and in a pipeline, each om_sem_* call is
 * one SEM_* request (see proto/objmgr.proto) run with omi_call(); an
 * acquire that must wait is parked in the server, so this process simply
 * waits for the answer (or, in a pipeline, collects it at
 * om_pipeline_end()). Outputs are written only on success.
 */
#include <limits.h>
#include <stdint.h>

#include "internal.h"
#include "shm.h"

#define OMI_TYPE OM_TYPE_SEM /* the rows' type (OMI_CALL, internal.h) */

_Static_assert(UINT_MAX <= UINT32_MAX, "om_sem_release's n fits the word");

/* *out = manager.Semaphore(initial), or the one called `name` */
int om_sem_open(om_client *c, const char *name, int flags, unsigned initial,
                om_sem **out)
{
	om_item p = om_int(initial);
	return omi_open(c, name, flags, OM_TYPE_SEM, &p, 1, (void **)out);
}

/* s.acquire(timeout=timeout) */
int om_sem_acquire(om_sem *s, double timeout)
{
	OMI_LOCAL(h, s, timeout, SEM_ACQUIRE, NULL, 0, 0, NULL, NULL);
	int rc = omi_ssem_acquire(omi_shm_state(h->shm), timeout);
	if (rc >= 0)
		omi_wrote(h);
	if (rc == OM_ETIMEOUT && timeout == 0)
		return omi_fail(h->c, rc, "no permit free");
	return rc < 0 ? omi_local_fail(h->c, rc) : rc;
}

/* s.release(n) */
int om_sem_release(om_sem *s, unsigned n)
{
	OMI_LOCAL(h, s, 0, SEM_RELEASE, NULL, 0, n, NULL, NULL);
	om_client *c = h->c;
	/* The server's checks, in its order and with its words (its
	 * EINVAL above UINT32_MAX cannot happen: see the assertion). */
	if (n < 1)
		return omi_fail(c, OM_EVALUE, "n must be one or more");
	bool bounded = h->shm_flags & OM_BOUNDED;
	uint32_t flags;
	uint32_t bound =
	        h->shm_len > UINT32_MAX ? UINT32_MAX : (uint32_t)h->shm_len;
	int rc = omi_ssem_release(omi_shm_state(h->shm), n, bounded, bound,
	                          &flags);
	if (rc == OM_EVALUE)
		return bounded ? omi_fail(c, rc,
		                          "Semaphore released too many times")
		               : omi_fail(c, rc,
		                          "semaphore value would exceed %lu",
		                          (unsigned long)UINT32_MAX);
	if (flags & OMI_WAIT_SRV)
		omi_kick(c);
	if (rc >= 0)
		omi_wrote(h);
	return rc;
}

/* *v = s._value */
int om_sem_value(om_sem *s, unsigned *v)
{
	if (!v)
		return OM_EINVAL;
	OMI_LOCAL(h, s, 0, SEM_VALUE, NULL, 0, 0, omi_done_unsigned, v);
	*v = omi_ssem_value(omi_shm_state(h->shm));
	return OM_OK;
}
