/*
 * list.c — the client side of the list type; server/list.c is the other
 * half. Each om_list_* call packs its items and indexes into one request
 * (see the LIST_* ops in proto/objmgr.proto: indexes in num/num2, items in
 * args), runs it with omi_call(), which checks the handle and the items,
 * and copies what the server answered into the caller's outputs. Python's
 * index rules (negative from the end, clamped slices) are applied by the
 * server. The call's completion (done.c) fills in the outputs, at once
 * or, in a pipeline, at om_pipeline_end(). Outputs are written only on
 * success; required output pointers that are NULL are OM_EINVAL before any
 * round trip.
 */
#include <stdint.h>

#include "internal.h"

#define OMI_TYPE OM_TYPE_LIST /* the rows' type (OMI_CALL, internal.h) */

/* *out = manager.list(), or the one called `name` */
int om_list_open(om_client *c, const char *name, int flags, om_list **out)
{
	return omi_open(c, name, flags, OM_TYPE_LIST, NULL, 0, (void **)out);
}

/* l.append(it) */
OMI_CALL1(om_list_append, om_list, LIST_APPEND)

/* l.extend(items) */
int om_list_extend(om_list *l, const om_item *items, size_t n)
{
	if (!items && n > 0)
		return OM_EINVAL;
	return omi_call_op(l, OMI_TYPE, OBJMGR__OP__LIST_EXTEND, items, n, 0, 0,
	                   NULL, NULL);
}

/* l.insert(i, it) */
int om_list_insert(om_list *l, int64_t i, om_item it)
{
	return omi_call_op(l, OMI_TYPE, OBJMGR__OP__LIST_INSERT, &it, 1, i, 0,
	                   NULL, NULL);
}

/* *out = l[i] */
int om_list_get(om_list *l, int64_t i, om_item *out)
{
	if (!out)
		return OM_EINVAL;
	return omi_call_op(l, OMI_TYPE, OBJMGR__OP__LIST_GET, NULL, 0, i, 0,
	                   omi_done_item, out);
}

/* l[i] = it */
int om_list_set(om_list *l, int64_t i, om_item it)
{
	return omi_call_op(l, OMI_TYPE, OBJMGR__OP__LIST_SET, &it, 1, i, 0,
	                   NULL, NULL);
}

/* del l[i] */
int om_list_del(om_list *l, int64_t i)
{
	return omi_call_op(l, OMI_TYPE, OBJMGR__OP__LIST_DEL, NULL, 0, i, 0,
	                   NULL, NULL);
}

/* *out = l.pop(i) */
int om_list_pop(om_list *l, int64_t i, om_item *out)
{
	return omi_call_op(l, OMI_TYPE, OBJMGR__OP__LIST_POP, NULL, 0, i, 0,
	                   omi_done_item, out);
}

/* l.remove(it) */
OMI_CALL1(om_list_remove, om_list, LIST_REMOVE)

/* *pos = l.index(it) */
OMI_GET1(om_list_index, om_list, int64_t, LIST_INDEX, omi_done_pos)

/* *n = l.count(it) */
OMI_GET1(om_list_count, om_list, size_t, LIST_COUNT, omi_done_size)

/* *out = it in l */
OMI_GET1(om_list_contains, om_list, bool, LIST_CONTAINS, omi_done_bool)

/* *n = len(l) */
OMI_GET(om_list_len, om_list, size_t, LIST_LEN, omi_done_size)

/* l.clear() */
OMI_CALL(om_list_clear, om_list, LIST_CLEAR)

/* l.reverse() */
OMI_CALL(om_list_reverse, om_list, LIST_REVERSE)

/* l.sort(reverse=reverse) */
int om_list_sort(om_list *l, bool reverse)
{
	return omi_call_op(l, OMI_TYPE, OBJMGR__OP__LIST_SORT, NULL, 0,
	                   reverse ? 1 : 0, 0, NULL, NULL);
}

/* *out = l[start:stop] */
int om_list_slice(om_list *l, int64_t start, int64_t stop, om_items *out)
{
	if (!out)
		return OM_EINVAL;
	return omi_call(l, OMI_TYPE,
	                &(struct omi_args){.op = OBJMGR__OP__LIST_SLICE,
	                                   .num = start,
	                                   .num2 = stop,
	                                   .done = omi_done_items,
	                                   .out = out});
}

/* l[start:stop] = items */
int om_list_splice(om_list *l, int64_t start, int64_t stop,
                   const om_item *items, size_t n)
{
	if (!items && n > 0)
		return OM_EINVAL;
	return omi_call(l, OMI_TYPE,
	                &(struct omi_args){.op = OBJMGR__OP__LIST_SPLICE,
	                                   .args = items,
	                                   .nargs = n,
	                                   .num = start,
	                                   .num2 = stop});
}
