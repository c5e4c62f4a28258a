/*
 * array.c — the client side of the array type (Python's manager.Array, a
 * fixed-length array of ints or floats); server/array.c is the other half.
 * Each om_array_* call packs its positions and items into one request (see
 * the ARRAY_* ops in proto/objmgr.proto: positions in num/num2, items in
 * args) and runs it with omi_call(), which checks the handle and the
 * items; its completion (done.c) copies what the server answered into the
 * caller's outputs, at once or, in a pipeline, at om_pipeline_end().
 * Positions are size_t here and int64 on the wire: one that does not fit is
 * past any end, so OM_EINDEX without a round trip. Outputs are written only on
 * success; required output pointers that are NULL are OM_EINVAL before any
 * round trip.
 */
#include <stdint.h>

#include "internal.h"

#define OMI_TYPE OM_TYPE_ARRAY /* the rows' type (OMI_CALL, internal.h) */

/* *out = manager.Array(kind, [0] * length), or the one called `name` */
int om_array_open(om_client *c, const char *name, int flags, om_kind kind,
                  size_t length, om_array **out)
{
	if (kind != OM_INT && kind != OM_FLOAT)
		return omi_fail(c, OM_EINVAL,
		                "array kind must be OM_INT or OM_FLOAT");
	if (length > INT64_MAX)
		return omi_fail(c, OM_EINVAL, "array length too large");
	om_item p[2] = {om_int(kind), om_int((int64_t)length)};
	return omi_open(c, name, flags, OM_TYPE_ARRAY, p, 2, (void **)out);
}

/* *out = a[i] */
int om_array_get(om_array *a, size_t i, om_item *out)
{
	if (!out)
		return OM_EINVAL;
	if (i > INT64_MAX)
		return OM_EINDEX;
	return omi_call_op(a, OMI_TYPE, OBJMGR__OP__ARRAY_GET, NULL, 0,
	                   (int64_t)i, 0, omi_done_item, out);
}

/* a[i] = it */
int om_array_set(om_array *a, size_t i, om_item it)
{
	if (i > INT64_MAX)
		return OM_EINDEX;
	return omi_call_op(a, OMI_TYPE, OBJMGR__OP__ARRAY_SET, &it, 1,
	                   (int64_t)i, 0, NULL, NULL);
}

/* a[i] += delta; *out = a[i] (atomic) */
int om_array_add(om_array *a, size_t i, om_item delta, om_item *out)
{
	if (i > INT64_MAX)
		return OM_EINDEX;
	return omi_call_op(a, OMI_TYPE, OBJMGR__OP__ARRAY_ADD, &delta, 1,
	                   (int64_t)i, 0, omi_done_item, out);
}

/* *n = len(a) */
OMI_GET(om_array_len, om_array, size_t, ARRAY_LEN, omi_done_size)

/* *out = a[start:start + n] */
int om_array_read(om_array *a, size_t start, size_t n, om_items *out)
{
	if (!out)
		return OM_EINVAL;
	if (start > INT64_MAX || n > INT64_MAX)
		return OM_EINDEX;
	/* out2 carries the count the answer must have. */
	struct omi_args args = {.op = OBJMGR__OP__ARRAY_READ,
	                        .num = (int64_t)start,
	                        .num2 = (int64_t)n,
	                        .done = omi_done_items_n,
	                        .out = out,
	                        .out2 = (void *)(uintptr_t)n};
	return omi_call(a, OMI_TYPE, &args);
}

/* a[start:start + n] = items (atomic) */
int om_array_write(om_array *a, size_t start, const om_item *items, size_t n)
{
	if (!items && n > 0)
		return OM_EINVAL;
	if (start > INT64_MAX)
		return OM_EINDEX;
	return omi_call_op(a, OMI_TYPE, OBJMGR__OP__ARRAY_WRITE, items, n,
	                   (int64_t)start, 0, NULL, NULL);
}
