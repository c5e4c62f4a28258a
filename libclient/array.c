/*
 * array.c — the client side of the array type (Python's manager.Array, a
 * fixed-length array of ints or floats); server/array.c is the other half.
 * Each om_array_* call packs its positions and items into one request (see
 * the ARRAY_* ops in proto/objmgr.proto: positions in num/num2, items in
 * args), runs it with omi_call(), which checks the handle and the items,
 * and copies what the server answered into the caller's outputs. Positions
 * are size_t here and int64 on the wire: one that does not fit is past any
 * end, so OM_EINDEX without a round trip. Outputs are written only on
 * success; required output pointers that are NULL are OM_EINVAL before any
 * round trip.
 */
#include <stdint.h>

#include "internal.h"

/* Run the request `a` on array arr. */
static int array_call(om_array *arr, struct omi_args *a,
                      Objmgr__Response **r)
{
	return omi_call(arr, OM_TYPE_ARRAY, a, r);
}

/* *out = a[i] */
int om_array_get(om_array *a, size_t i, om_item *out)
{
	struct omi_args args = {.op = OBJMGR__OP__ARRAY_GET};
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	if (i > INT64_MAX)
		return OM_EINDEX;
	args.num = (int64_t)i;
	rc = array_call(a, &args, &r);
	return rc < 0 ? rc : omi_out_item(r, 0, out);
}

/* a[i] = it */
int om_array_set(om_array *a, size_t i, om_item it)
{
	struct omi_args args = {.op = OBJMGR__OP__ARRAY_SET, .args = &it,
	                        .nargs = 1};
	Objmgr__Response *r;

	if (i > INT64_MAX)
		return OM_EINDEX;
	args.num = (int64_t)i;
	return array_call(a, &args, &r);
}

/* a[i] += delta; *out = a[i] (atomic) */
int om_array_add(om_array *a, size_t i, om_item delta, om_item *out)
{
	struct omi_args args = {.op = OBJMGR__OP__ARRAY_ADD, .args = &delta,
	                        .nargs = 1};
	Objmgr__Response *r;
	int rc;

	if (i > INT64_MAX)
		return OM_EINDEX;
	args.num = (int64_t)i;
	rc = array_call(a, &args, &r);
	if (rc < 0 || !out)
		return rc;
	return omi_out_item(r, 0, out);
}

/* *n = len(a) */
int om_array_len(om_array *a, size_t *n)
{
	struct omi_args args = {.op = OBJMGR__OP__ARRAY_LEN};
	Objmgr__Response *r;
	int rc;

	if (!n)
		return OM_EINVAL;
	rc = array_call(a, &args, &r);
	if (rc < 0)
		return rc;
	if (r->num < 0 || (uint64_t)r->num > SIZE_MAX)
		return OM_EPROTO;
	*n = (size_t)r->num;
	return OM_OK;
}

/* *out = a[start:start + n] */
int om_array_read(om_array *a, size_t start, size_t n, om_items *out)
{
	struct omi_args args = {.op = OBJMGR__OP__ARRAY_READ};
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	if (start > INT64_MAX || n > INT64_MAX)
		return OM_EINDEX;
	args.num = (int64_t)start;
	args.num2 = (int64_t)n;
	rc = array_call(a, &args, &r);
	if (rc < 0)
		return rc;
	if (r->n_results != n)
		return OM_EPROTO;
	return omi_out_items(r, 0, 1, out);
}

/* a[start:start + n] = items (atomic) */
int om_array_write(om_array *a, size_t start, const om_item *items, size_t n)
{
	struct omi_args args = {.op = OBJMGR__OP__ARRAY_WRITE, .args = items,
	                        .nargs = n};
	Objmgr__Response *r;

	if (!items && n > 0)
		return OM_EINVAL;
	if (start > INT64_MAX)
		return OM_EINDEX;
	args.num = (int64_t)start;
	return array_call(a, &args, &r);
}
