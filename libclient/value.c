/*
 * value.c — the client side of the value type (Python's manager.Value, a
 * shared cell holding one item); server/value.c is the other half. Each
 * om_value_* call packs its items into one request (see the VALUE_* ops in
 * proto/objmgr.proto) and runs it with omi_call(), which checks the handle
 * and the items; its completion (done.c) copies what the server answered
 * into the caller's outputs, at once or, in a pipeline, at
 * om_pipeline_end(). Outputs are written only on success; required output
 * pointers that are NULL are OM_EINVAL before any round trip.
 */
#include "internal.h"

#define OMI_TYPE OM_TYPE_VALUE /* the rows' type (OMI_CALL, internal.h) */

/* *out = manager.Value(initial), or the one called `name` */
int om_value_open(om_client *c, const char *name, int flags, om_item initial,
                  om_value **out)
{
	return omi_open(c, name, flags, OM_TYPE_VALUE, &initial, 1,
	                (void **)out);
}

/* *out = v.value */
OMI_GET(om_value_get, om_value, om_item, VALUE_GET, omi_done_item)

/* v.value = it */
OMI_CALL1(om_value_set, om_value, VALUE_SET)

/* v.value += delta; *out = v.value (atomic) */
int om_value_add(om_value *v, om_item delta, om_item *out)
{
	return omi_call_op(v, OMI_TYPE, OBJMGR__OP__VALUE_ADD, &delta, 1, 0, 0,
	                   omi_done_item, out);
}

/* if v.value == expected: v.value = desired; *swapped = whether it did */
int om_value_cas(om_value *v, om_item expected, om_item desired, bool *swapped)
{
	om_item ed[2] = {expected, desired};

	return omi_call_op(v, OMI_TYPE, OBJMGR__OP__VALUE_CAS, ed, 2, 0, 0,
	                   omi_done_bool, swapped);
}
