/*
 * value.c — the client side of the value type (Python's manager.Value, a
 * shared cell holding one item); server/value.c is the other half.
 *
 * A mapped value (map.c) holding a number or a bool is read and changed
 * here: its 16-byte cell {payload, kind} is loaded and replaced with
 * compare-and-swap (shm.h, omi_svalue_*), so a get, set, add or cas costs
 * no round trip and no reader sees a torn item. When the cell says the
 * server holds the item (a str, bytes, nil or ref: OMI_SV_SERVER), when a
 * call would store such an item, and in a pipeline, the call is one
 * request (the VALUE_* ops in proto/objmgr.proto) run with omi_call();
 * the server keeps the cell in step. Its completion (done.c) copies what
 * the server answered into the caller's outputs, at once or, in a
 * pipeline, at om_pipeline_end(). Outputs are written only on success;
 * required output pointers that are NULL are OM_EINVAL before anything
 * else.
 */
#include "internal.h"
#include "shm.h"

#define OMI_TYPE OM_TYPE_VALUE /* the rows' type (OMI_CALL, internal.h) */

typedef unsigned __int128 u128;

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
	struct omi_handle *h;
	int rc = omi_local(v, OMI_TYPE, 0, &h);
	if (rc < 0)
		return rc;
	if (h && omi_svalue_unpack(omi_svalue_load(omi_shm_state(h->shm)), out))
		return OM_OK;
	return omi_call_op(v, OMI_TYPE, OBJMGR__OP__VALUE_GET, NULL, 0, 0, 0,
	                   omi_done_item, out);
}

/* v.value = it */
int om_value_set(om_value *v, om_item it)
{
	struct omi_handle *h;
	int rc = omi_local(v, OMI_TYPE, 0, &h);
	if (rc < 0)
		return rc;
	if (h && omi_svalue_fits(&it)) {
		/* A number replaces a number here; over an item the server
		 * holds (whose bytes and references it must free), the
		 * server stores it. */
		struct omi_svalue *w = omi_shm_state(h->shm);
		u128 cur = omi_svalue_peek(w), next = omi_svalue_pack(&it);
		bool sure = false; /* cur was read atomically */
		om_item now;
		for (;;) {
			if (!omi_svalue_unpack(cur, &now)) {
				if (sure)
					break;
				cur = omi_svalue_load(w);
				sure = true;
				continue;
			}
			if (omi_svalue_cas(w, &cur, next)) {
				omi_wrote(h);
				return OM_OK;
			}
			sure = true;
		}
	}
	return omi_call_op(v, OMI_TYPE, OBJMGR__OP__VALUE_SET, &it, 1, 0, 0,
	                   NULL, NULL);
}

/* v.value += delta; *out = v.value (atomic) */
int om_value_add(om_value *v, om_item delta, om_item *out)
{
	struct omi_handle *h;
	int rc = omi_local(v, OMI_TYPE, 0, &h);
	if (rc < 0)
		return rc;
	if (h) {
		if ((rc = omi_check_items(h->c, &delta, 1)))
			return rc;
		struct omi_svalue *w = omi_shm_state(h->shm);
		/* One compare-and-swap per try: the first from a guess (a
		 * torn one only fails), each next from what the failed one
		 * saw. A verdict (not a number, an error) is only ever given
		 * on a cell read atomically. */
		u128 cur = omi_svalue_peek(w);
		bool sure = false;
		om_item now, sum;
		for (;;) {
			bool num = omi_svalue_unpack(cur, &now);
			rc = num ? omi_item_add(&now, &delta, &sum) : OM_OK;
			if (!num || rc) {
				if (!sure) {
					cur = omi_svalue_load(w);
					sure = true;
					continue;
				}
				if (!num)
					break; /* the server holds the item */
				return omi_add_fail(h->c, rc, &now, &delta);
			}
			/* The sum of two numbers is a number: it fits. */
			if (omi_svalue_cas(w, &cur, omi_svalue_pack(&sum))) {
				omi_wrote(h);
				if (out)
					*out = sum;
				return OM_OK;
			}
			sure = true;
		}
	}
	return omi_call_op(v, OMI_TYPE, OBJMGR__OP__VALUE_ADD, &delta, 1, 0, 0,
	                   omi_done_item, out);
}

/* if v.value == expected: v.value = desired; *swapped = whether it did */
int om_value_cas(om_value *v, om_item expected, om_item desired, bool *swapped)
{
	om_item ed[2] = {expected, desired};
	struct omi_handle *h;
	int rc = omi_local(v, OMI_TYPE, 0, &h);
	if (rc < 0)
		return rc;
	if (h) {
		if ((rc = omi_check_items(h->c, ed, 2)))
			return rc;
		struct omi_svalue *w = omi_shm_state(h->shm);
		u128 cur = omi_svalue_load(w);
		om_item now;
		while (omi_svalue_unpack(cur, &now)) {
			if (!omi_item_eq(&now, &expected)) {
				if (swapped)
					*swapped = false;
				return OM_OK;
			}
			if (!omi_svalue_fits(&desired))
				break; /* the server stores it */
			if (omi_svalue_cas(w, &cur,
			                   omi_svalue_pack(&desired))) {
				omi_wrote(h);
				if (swapped)
					*swapped = true;
				return OM_OK;
			}
		}
	}
	return omi_call_op(v, OMI_TYPE, OBJMGR__OP__VALUE_CAS, ed, 2, 0, 0,
	                   omi_done_bool, swapped);
}
