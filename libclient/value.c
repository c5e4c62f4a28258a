/*
 * value.c — the client side of the value type (Python's manager.Value, a
 * shared cell holding one item); server/value.c is the other half. Each
 * om_value_* call packs its items into one request (see the VALUE_* ops in
 * proto/objmgr.proto), runs it with omi_call(), which checks the handle and
 * the items, and copies what the server answered into the caller's
 * outputs. Outputs are written only on success; required output pointers
 * that are NULL are OM_EINVAL before any round trip.
 */
#include "internal.h"

/* Run `op` on value v with `nargs` items from `args`. */
static int value_call(om_value *v, int op, const om_item *args,
                      size_t nargs, Objmgr__Response **r)
{
	struct omi_args a = {.op = op, .args = args, .nargs = nargs};

	return omi_call(v, OM_TYPE_VALUE, &a, r);
}

/* *out = v.value */
int om_value_get(om_value *v, om_item *out)
{
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = value_call(v, OBJMGR__OP__VALUE_GET, NULL, 0, &r);
	return rc < 0 ? rc : omi_out_item(r, 0, out);
}

/* v.value = it */
int om_value_set(om_value *v, om_item it)
{
	Objmgr__Response *r;

	return value_call(v, OBJMGR__OP__VALUE_SET, &it, 1, &r);
}

/* v.value += delta; *out = v.value (atomic) */
int om_value_add(om_value *v, om_item delta, om_item *out)
{
	Objmgr__Response *r;
	int rc;

	rc = value_call(v, OBJMGR__OP__VALUE_ADD, &delta, 1, &r);
	if (rc < 0 || !out)
		return rc;
	return omi_out_item(r, 0, out);
}

/* if v.value == expected: v.value = desired; *swapped = whether it did */
int om_value_cas(om_value *v, om_item expected, om_item desired,
                 bool *swapped)
{
	om_item ed[2] = {expected, desired};
	Objmgr__Response *r;
	int rc;

	rc = value_call(v, OBJMGR__OP__VALUE_CAS, ed, 2, &r);
	if (rc < 0)
		return rc;
	if (swapped)
		*swapped = r->num != 0;
	return OM_OK;
}
