/*
 * pipe.c — the client side of pipes (Python's multiprocessing.Pipe);
 * server/pipe.c is the other half. Each end is a server object of its own
 * and a handle here like any other: closing an end is releasing its
 * handle, and an end is closed in the server when nothing holds it any
 * more (handles of every process, fork holds, stored Refs, the name), so
 * the fork and session rules give Python's closing semantics with nothing
 * kept in this file. Pipes are not shared-memory types: every call is a
 * request (PIPE_* in proto/objmgr.proto), and a recv or poll waits in the
 * server. NULL outputs, NaN timeouts and invalid items are OM_EINVAL
 * before any round trip.
 */
#include "internal.h"

#define OMI_TYPE OM_TYPE_PIPE /* the rows' type (OMI_CALL, internal.h) */

/* *a, *b = Pipe(duplex = !(flags & OM_SIMPLEX)), or the named one's ends */
int om_pipe_open(om_client *c, const char *name, int flags, om_pipe **a,
                 om_pipe **b)
{
	if (!c || !a || !b)
		return OM_EINVAL;
	return omi_open2(c, name, flags, OM_TYPE_PIPE, NULL, 0, (void **)a,
	                 (void **)b);
}

/* e.send(it) */
OMI_CALL1(om_pipe_send, om_pipe, PIPE_SEND)

/* for it in items: e.send(it), in one round trip */
int om_pipe_send_many(om_pipe *e, const om_item *items, size_t n)
{
	if (!items && n > 0)
		return OM_EINVAL;
	return omi_call_op(e, OMI_TYPE, OBJMGR__OP__PIPE_SEND, items, n, 0, 0,
	                   NULL, NULL);
}

/* *out = e.recv() if e.poll(timeout) */
int om_pipe_recv(om_pipe *e, om_item *out, double timeout)
{
	if (!out)
		return OM_EINVAL;
	return omi_call_op(e, OMI_TYPE, OBJMGR__OP__PIPE_RECV, NULL, 0, 0,
	                   timeout, omi_done_item, out);
}

/* *ready = e.poll(timeout) */
int om_pipe_poll(om_pipe *e, double timeout, bool *ready)
{
	if (!ready)
		return OM_EINVAL;
	return omi_call_op(e, OMI_TYPE, OBJMGR__OP__PIPE_POLL, NULL, 0, 0,
	                   timeout, omi_done_bool, ready);
}

/* e.close(): this process is done with end e */
int om_pipe_close(om_pipe *e)
{
	struct omi_handle *h = omi_handle_get(e);
	if (!h || h->type != OM_TYPE_PIPE)
		return OM_EINVAL;
	om_release(e);
	return OM_OK;
}
