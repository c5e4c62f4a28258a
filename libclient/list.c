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

/* Run the request `a` on list l. */
static int list_call(om_list *l, const struct omi_args *a)
{
	return omi_call(l, OM_TYPE_LIST, a);
}

/* *out = manager.list(), or the one called `name` */
int om_list_open(om_client *c, const char *name, int flags, om_list **out)
{
	return omi_open(c, name, flags, OM_TYPE_LIST, NULL, 0, (void **)out);
}

/* l.append(it) */
int om_list_append(om_list *l, om_item it)
{
	struct omi_args a = {
	        .op = OBJMGR__OP__LIST_APPEND, .args = &it, .nargs = 1};

	return list_call(l, &a);
}

/* l.extend(items) */
int om_list_extend(om_list *l, const om_item *items, size_t n)
{
	struct omi_args a = {
	        .op = OBJMGR__OP__LIST_EXTEND, .args = items, .nargs = n};

	if (!items && n > 0)
		return OM_EINVAL;
	return list_call(l, &a);
}

/* l.insert(i, it) */
int om_list_insert(om_list *l, int64_t i, om_item it)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_INSERT,
	                     .args = &it,
	                     .nargs = 1,
	                     .num = i};

	return list_call(l, &a);
}

/* *out = l[i] */
int om_list_get(om_list *l, int64_t i, om_item *out)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_GET,
	                     .num = i,
	                     .done = omi_done_item,
	                     .out = out};

	if (!out)
		return OM_EINVAL;
	return list_call(l, &a);
}

/* l[i] = it */
int om_list_set(om_list *l, int64_t i, om_item it)
{
	struct omi_args a = {
	        .op = OBJMGR__OP__LIST_SET, .args = &it, .nargs = 1, .num = i};

	return list_call(l, &a);
}

/* del l[i] */
int om_list_del(om_list *l, int64_t i)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_DEL, .num = i};

	return list_call(l, &a);
}

/* *out = l.pop(i) */
int om_list_pop(om_list *l, int64_t i, om_item *out)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_POP,
	                     .num = i,
	                     .done = omi_done_item,
	                     .out = out};

	return list_call(l, &a);
}

/* l.remove(it) */
int om_list_remove(om_list *l, om_item it)
{
	struct omi_args a = {
	        .op = OBJMGR__OP__LIST_REMOVE, .args = &it, .nargs = 1};

	return list_call(l, &a);
}

/* *pos = l.index(it) */
int om_list_index(om_list *l, om_item it, int64_t *pos)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_INDEX,
	                     .args = &it,
	                     .nargs = 1,
	                     .done = omi_done_pos,
	                     .out = pos};

	if (!pos)
		return OM_EINVAL;
	return list_call(l, &a);
}

/* *n = l.count(it) */
int om_list_count(om_list *l, om_item it, size_t *n)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_COUNT,
	                     .args = &it,
	                     .nargs = 1,
	                     .done = omi_done_size,
	                     .out = n};

	if (!n)
		return OM_EINVAL;
	return list_call(l, &a);
}

/* *out = it in l */
int om_list_contains(om_list *l, om_item it, bool *out)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_CONTAINS,
	                     .args = &it,
	                     .nargs = 1,
	                     .done = omi_done_bool,
	                     .out = out};

	if (!out)
		return OM_EINVAL;
	return list_call(l, &a);
}

/* *n = len(l) */
int om_list_len(om_list *l, size_t *n)
{
	struct omi_args a = {
	        .op = OBJMGR__OP__LIST_LEN, .done = omi_done_size, .out = n};

	if (!n)
		return OM_EINVAL;
	return list_call(l, &a);
}

/* l.clear() */
int om_list_clear(om_list *l)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_CLEAR};

	return list_call(l, &a);
}

/* l.reverse() */
int om_list_reverse(om_list *l)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_REVERSE};

	return list_call(l, &a);
}

/* l.sort(reverse=reverse) */
int om_list_sort(om_list *l, bool reverse)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_SORT,
	                     .num = reverse ? 1 : 0};

	return list_call(l, &a);
}

/* *out = l[start:stop] */
int om_list_slice(om_list *l, int64_t start, int64_t stop, om_items *out)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_SLICE,
	                     .num = start,
	                     .num2 = stop,
	                     .done = omi_done_items,
	                     .out = out};

	if (!out)
		return OM_EINVAL;
	return list_call(l, &a);
}

/* l[start:stop] = items */
int om_list_splice(om_list *l, int64_t start, int64_t stop,
                   const om_item *items, size_t n)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_SPLICE,
	                     .args = items,
	                     .nargs = n,
	                     .num = start,
	                     .num2 = stop};

	if (!items && n > 0)
		return OM_EINVAL;
	return list_call(l, &a);
}
