/*
 * queue.c — the client side of the queue type (Python's queue.Queue,
 * LifoQueue, PriorityQueue and JoinableQueue, plus close and batch
 * put/get); server/queue.c is the other half. Each om_queue_* call packs
 * its items, integers and timeout into one request (see the QUEUE_* ops in
 * proto/objmgr.proto) and runs it with omi_call(), which checks the handle
 * and the items; its completion (done.c) fills in the outputs. A blocking
 * call waits in the server, not here: the server answers when it can
 * complete or at the deadline, so the timeout travels in the request.
 * Outputs are written only on success; required output pointers that are
 * NULL, and NaN timeouts, are OM_EINVAL before any round trip.
 */
#include <stdint.h>

#include "internal.h"

#define OMI_TYPE OM_TYPE_QUEUE /* the rows' type (OMI_CALL, internal.h) */

/* *out = manager.Queue(maxsize), or the one called `name` */
int om_queue_open(om_client *c, const char *name, int flags, size_t maxsize,
                  om_queue **out)
{
	if (maxsize > INT64_MAX)
		return omi_fail(c, OM_EINVAL, "maxsize too large");
	om_item p = om_int((int64_t)maxsize);
	return omi_open(c, name, flags, OM_TYPE_QUEUE, &p, 1, (void **)out);
}

/* q.put(it, timeout) */
int om_queue_put(om_queue *q, om_item it, double timeout)
{
	return omi_call_op(q, OMI_TYPE, OBJMGR__OP__QUEUE_PUT, &it, 1, 0,
	                   timeout, NULL, NULL);
}

/* q.put((prio, it), timeout) on a priority queue */
int om_queue_put_prio(om_queue *q, int64_t prio, om_item it, double timeout)
{
	return omi_call_op(q, OMI_TYPE, OBJMGR__OP__QUEUE_PUT, &it, 1, prio,
	                   timeout, NULL, NULL);
}

/* *out = q.get(timeout) */
int om_queue_get(om_queue *q, om_item *out, double timeout)
{
	if (!out)
		return OM_EINVAL;
	return omi_call_op(q, OMI_TYPE, OBJMGR__OP__QUEUE_GET, NULL, 0, 0,
	                   timeout, omi_done_item, out);
}

/* for it in items: q.put(it, timeout), all or nothing, in one round trip */
int om_queue_put_many(om_queue *q, const om_item *items, size_t n,
                      double timeout)
{
	if (!items && n > 0)
		return OM_EINVAL;
	return omi_call_op(q, OMI_TYPE, OBJMGR__OP__QUEUE_PUT_MANY, items, n, 0,
	                   timeout, NULL, NULL);
}

/* *out = [q.get(timeout)] + up to max - 1 more items already there */
int om_queue_get_many(om_queue *q, size_t max, om_items *out, double timeout)
{
	if (!out || max == 0)
		return OM_EINVAL;
	if (max > INT64_MAX)
		max = INT64_MAX; /* as good as unlimited */
	return omi_call_op(q, OMI_TYPE, OBJMGR__OP__QUEUE_GET_MANY, NULL, 0,
	                   (int64_t)max, timeout, omi_done_items, out);
}

/* *n = q.qsize() */
OMI_GET(om_queue_size, om_queue, size_t, QUEUE_SIZE, omi_done_size)

/* *out = q.empty() */
OMI_GET(om_queue_empty, om_queue, bool, QUEUE_EMPTY, omi_done_bool)

/* *out = q.full() */
OMI_GET(om_queue_full, om_queue, bool, QUEUE_FULL, omi_done_bool)

/* q.task_done() */
OMI_CALL(om_queue_task_done, om_queue, QUEUE_TASK_DONE)

/* q.join(timeout) */
OMI_WAIT(om_queue_join, om_queue, QUEUE_JOIN)

/* q.close(): puts fail from now on, gets drain then fail */
OMI_CALL(om_queue_close, om_queue, QUEUE_CLOSE)
