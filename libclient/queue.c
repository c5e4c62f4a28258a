/*
 * queue.c — the client side of the queue type (Python's queue.Queue,
 * LifoQueue, PriorityQueue and JoinableQueue, plus close); server/queue.c
 * is the other half. Each om_queue_* call packs its item, integers and
 * timeout into one request (see the QUEUE_* ops in proto/objmgr.proto) and
 * runs it with omi_call(), which checks the handle and the item. A blocking
 * call waits in the server, not here: the server answers when it can
 * complete or at the deadline, so the timeout travels in the request.
 * Outputs are written only on success; required output pointers that are
 * NULL, and NaN timeouts, are OM_EINVAL before any round trip.
 */
#include <math.h>
#include <stdint.h>

#include "internal.h"

/* Run `op` on queue q with an optional item, a number and a timeout. */
static int queue_call(om_queue *q, int op, const om_item *it, int64_t num,
                      double timeout, Objmgr__Response **r)
{
	struct omi_args a = {.op = op,
	                     .args = it,
	                     .nargs = it ? 1 : 0,
	                     .num = num,
	                     .timeout = timeout};

	if (isnan(timeout))
		return OM_EINVAL;
	return omi_call(q, OM_TYPE_QUEUE, &a, r);
}

/* Run a query op whose answer is Response.num. */
static int queue_num(om_queue *q, int op, int64_t *out)
{
	Objmgr__Response *r;
	int rc;

	rc = queue_call(q, op, NULL, 0, 0, &r);
	if (rc < 0)
		return rc;
	*out = r->num;
	return OM_OK;
}

/* q.put(it, timeout) */
int om_queue_put(om_queue *q, om_item it, double timeout)
{
	Objmgr__Response *r;

	return queue_call(q, OBJMGR__OP__QUEUE_PUT, &it, 0, timeout, &r);
}

/* q.put((prio, it), timeout) on a priority queue */
int om_queue_put_prio(om_queue *q, int64_t prio, om_item it, double timeout)
{
	Objmgr__Response *r;

	return queue_call(q, OBJMGR__OP__QUEUE_PUT, &it, prio, timeout, &r);
}

/* *out = q.get(timeout) */
int om_queue_get(om_queue *q, om_item *out, double timeout)
{
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = queue_call(q, OBJMGR__OP__QUEUE_GET, NULL, 0, timeout, &r);
	return rc < 0 ? rc : omi_out_item(r, 0, out);
}

/* *n = q.qsize() */
int om_queue_size(om_queue *q, size_t *n)
{
	int64_t v;
	int rc;

	if (!n)
		return OM_EINVAL;
	rc = queue_num(q, OBJMGR__OP__QUEUE_SIZE, &v);
	if (rc < 0)
		return rc;
	if (v < 0 || (uint64_t)v > SIZE_MAX)
		return OM_EPROTO;
	*n = (size_t)v;
	return OM_OK;
}

/* *out = q.empty() */
int om_queue_empty(om_queue *q, bool *out)
{
	int64_t v;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = queue_num(q, OBJMGR__OP__QUEUE_EMPTY, &v);
	if (rc < 0)
		return rc;
	*out = v != 0;
	return OM_OK;
}

/* *out = q.full() */
int om_queue_full(om_queue *q, bool *out)
{
	int64_t v;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = queue_num(q, OBJMGR__OP__QUEUE_FULL, &v);
	if (rc < 0)
		return rc;
	*out = v != 0;
	return OM_OK;
}

/* q.task_done() */
int om_queue_task_done(om_queue *q)
{
	Objmgr__Response *r;

	return queue_call(q, OBJMGR__OP__QUEUE_TASK_DONE, NULL, 0, 0, &r);
}

/* q.join(timeout) */
int om_queue_join(om_queue *q, double timeout)
{
	Objmgr__Response *r;

	return queue_call(q, OBJMGR__OP__QUEUE_JOIN, NULL, 0, timeout, &r);
}

/* q.close(): puts fail from now on, gets drain then fail */
int om_queue_close(om_queue *q)
{
	Objmgr__Response *r;

	return queue_call(q, OBJMGR__OP__QUEUE_CLOSE, NULL, 0, 0, &r);
}
