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

/* Run `op` on value v with `nargs` items from `args`; `done` converts the
 * answer into *out. */
static int value_call(om_value *v, int op, const om_item *args, size_t nargs,
                      omi_done_fn *done, void *out)
{
	struct omi_args a = {.op = op,
	                     .args = args,
	                     .nargs = nargs,
	                     .done = done,
	                     .out = out};

	return omi_call(v, OM_TYPE_VALUE, &a);
}

/* *out = manager.Value(initial), or the one called `name` */
int om_value_open(om_client *c, const char *name, int flags, om_item initial,
                  om_value **out)
{
	return omi_open(c, name, flags, OM_TYPE_VALUE, &initial, 1,
	                (void **)out);
}

/* *out = v.value */
int om_value_get(om_value *v, om_item *out)
{
	if (!out)
		return OM_EINVAL;
	return value_call(v, OBJMGR__OP__VALUE_GET, NULL, 0, omi_done_item,
	                  out);
}

/* v.value = it */
int om_value_set(om_value *v, om_item it)
{
	return value_call(v, OBJMGR__OP__VALUE_SET, &it, 1, NULL, NULL);
}

/* v.value += delta; *out = v.value (atomic) */
int om_value_add(om_value *v, om_item delta, om_item *out)
{
	return value_call(v, OBJMGR__OP__VALUE_ADD, &delta, 1, omi_done_item,
	                  out);
}

/* if v.value == expected: v.value = desired; *swapped = whether it did */
int om_value_cas(om_value *v, om_item expected, om_item desired, bool *swapped)
{
	om_item ed[2] = {expected, desired};

	return value_call(v, OBJMGR__OP__VALUE_CAS, ed, 2, omi_done_bool,
	                  swapped);
}
