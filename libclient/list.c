/*
 * list.c — the client side of the list type; server/list.c is the other
 * half. Each om_list_* call packs its items and indexes into one request
 * (see the LIST_* ops in proto/objmgr.proto: indexes in num/num2, items in
 * args), runs it with omi_call(), which checks the handle and the items,
 * and copies what the server answered into the caller's outputs. Python's
 * index rules (negative from the end, clamped slices) are applied by the
 * server. Outputs are written only on success; required output pointers
 * that are NULL are OM_EINVAL before any round trip.
 */
#include <stdint.h>

#include "internal.h"

/* Run the request `a` on list l. */
static int list_call(om_list *l, struct omi_args *a, Objmgr__Response **r)
{
	return omi_call(l, OM_TYPE_LIST, a, r);
}

/* A non-negative count in r->num -> *out (OM_EPROTO if it does not fit). */
static int out_size(const Objmgr__Response *r, size_t *out)
{
	if (r->num < 0 || (uint64_t)r->num > SIZE_MAX)
		return OM_EPROTO;
	*out = (size_t)r->num;
	return OM_OK;
}

/* l.append(it) */
int om_list_append(om_list *l, om_item it)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_APPEND, .args = &it,
	                     .nargs = 1};
	Objmgr__Response *r;

	return list_call(l, &a, &r);
}

/* l.extend(items) */
int om_list_extend(om_list *l, const om_item *items, size_t n)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_EXTEND, .args = items,
	                     .nargs = n};
	Objmgr__Response *r;

	if (!items && n > 0)
		return OM_EINVAL;
	return list_call(l, &a, &r);
}

/* l.insert(i, it) */
int om_list_insert(om_list *l, int64_t i, om_item it)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_INSERT, .args = &it,
	                     .nargs = 1, .num = i};
	Objmgr__Response *r;

	return list_call(l, &a, &r);
}

/* *out = l[i] */
int om_list_get(om_list *l, int64_t i, om_item *out)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_GET, .num = i};
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = list_call(l, &a, &r);
	return rc < 0 ? rc : omi_out_item(r, 0, out);
}

/* l[i] = it */
int om_list_set(om_list *l, int64_t i, om_item it)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_SET, .args = &it,
	                     .nargs = 1, .num = i};
	Objmgr__Response *r;

	return list_call(l, &a, &r);
}

/* del l[i] */
int om_list_del(om_list *l, int64_t i)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_DEL, .num = i};
	Objmgr__Response *r;

	return list_call(l, &a, &r);
}

/* *out = l.pop(i) */
int om_list_pop(om_list *l, int64_t i, om_item *out)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_POP, .num = i};
	Objmgr__Response *r;
	int rc;

	rc = list_call(l, &a, &r);
	if (rc < 0 || !out)
		return rc;
	return omi_out_item(r, 0, out);
}

/* l.remove(it) */
int om_list_remove(om_list *l, om_item it)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_REMOVE, .args = &it,
	                     .nargs = 1};
	Objmgr__Response *r;

	return list_call(l, &a, &r);
}

/* *pos = l.index(it) */
int om_list_index(om_list *l, om_item it, int64_t *pos)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_INDEX, .args = &it,
	                     .nargs = 1};
	Objmgr__Response *r;
	int rc;

	if (!pos)
		return OM_EINVAL;
	rc = list_call(l, &a, &r);
	if (rc < 0)
		return rc;
	if (r->num < 0)
		return OM_EPROTO;
	*pos = r->num;
	return OM_OK;
}

/* *n = l.count(it) */
int om_list_count(om_list *l, om_item it, size_t *n)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_COUNT, .args = &it,
	                     .nargs = 1};
	Objmgr__Response *r;
	int rc;

	if (!n)
		return OM_EINVAL;
	rc = list_call(l, &a, &r);
	return rc < 0 ? rc : out_size(r, n);
}

/* *out = it in l */
int om_list_contains(om_list *l, om_item it, bool *out)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_CONTAINS, .args = &it,
	                     .nargs = 1};
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = list_call(l, &a, &r);
	if (rc < 0)
		return rc;
	*out = r->num != 0;
	return OM_OK;
}

/* *n = len(l) */
int om_list_len(om_list *l, size_t *n)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_LEN};
	Objmgr__Response *r;
	int rc;

	if (!n)
		return OM_EINVAL;
	rc = list_call(l, &a, &r);
	return rc < 0 ? rc : out_size(r, n);
}

/* l.clear() */
int om_list_clear(om_list *l)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_CLEAR};
	Objmgr__Response *r;

	return list_call(l, &a, &r);
}

/* l.reverse() */
int om_list_reverse(om_list *l)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_REVERSE};
	Objmgr__Response *r;

	return list_call(l, &a, &r);
}

/* l.sort(reverse=reverse) */
int om_list_sort(om_list *l, bool reverse)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_SORT,
	                     .num = reverse ? 1 : 0};
	Objmgr__Response *r;

	return list_call(l, &a, &r);
}

/* *out = l[start:stop] */
int om_list_slice(om_list *l, int64_t start, int64_t stop, om_items *out)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_SLICE, .num = start,
	                     .num2 = stop};
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = list_call(l, &a, &r);
	return rc < 0 ? rc : omi_out_items(r, 0, 1, out);
}

/* l[start:stop] = items */
int om_list_splice(om_list *l, int64_t start, int64_t stop,
                   const om_item *items, size_t n)
{
	struct omi_args a = {.op = OBJMGR__OP__LIST_SPLICE, .args = items,
	                     .nargs = n, .num = start, .num2 = stop};
	Objmgr__Response *r;

	if (!items && n > 0)
		return OM_EINVAL;
	return list_call(l, &a, &r);
}
