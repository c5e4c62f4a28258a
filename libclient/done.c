/*
 * done.c — completions: the code that turns a server's answer into a
 * caller's outputs, shared by every om_* wrapper.
 *
 * A wrapper names one of these in its struct omi_args together with the
 * caller's output pointers; omi_rpc() runs it right after the response
 * arrives, or om_pipeline_end() runs it for a pipelined call. A completion
 * writes its outputs only when it succeeds, so a caller's outputs are
 * untouched by a failed call. Items and lists it hands out are owned by
 * the caller (om_item_free / om_items_free).
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

int omi_out_item(const Objmgr__Response *r, size_t i, om_item *out)
{
	om_item it;
	if (i >= r->n_results || omi_item_from_pb(r->results[i], &it))
		return OM_EPROTO;
	om_item copy;
	int rc = omi_item_dup(&copy, &it);
	if (rc == OM_OK)
		*out = copy; /* outputs are written only on success */
	return rc;
}

int omi_out_items(const Objmgr__Response *r, size_t first, size_t step,
                  om_items *out)
{
	size_t n = r->n_results > first
	                   ? (r->n_results - first + step - 1) / step
	                   : 0;
	om_items res = {NULL, 0};
	if (n && !(res.v = calloc(n, sizeof *res.v)))
		return OM_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int rc = omi_out_item(r, first + i * step, &res.v[i]);
		if (rc) {
			om_items_free(&res);
			return rc;
		}
		res.n++;
	}
	*out = res;
	return OM_OK;
}

int omi_done_item(const Objmgr__Response *r, void *out, void *out2)
{
	(void)out2;
	if (!out)
		return r->n_results >= 1 ? OM_OK : OM_EPROTO;
	return omi_out_item(r, 0, out);
}

int omi_done_item2(const Objmgr__Response *r, void *out, void *out2)
{
	om_item a;
	int rc = omi_out_item(r, 0, &a);
	if (rc < 0)
		return rc;
	om_item b;
	rc = omi_out_item(r, 1, &b);
	if (rc < 0) {
		om_item_free(&a);
		return rc;
	}
	*(om_item *)out = a;
	*(om_item *)out2 = b;
	return OM_OK;
}

int omi_done_items(const Objmgr__Response *r, void *out, void *out2)
{
	if (out2 && (r->num < 0 || (uint64_t)r->num > SIZE_MAX))
		return OM_EPROTO;
	int rc = omi_out_items(r, 0, 1, out);
	if (rc == OM_OK && out2)
		*(size_t *)out2 = (size_t)r->num;
	return rc;
}

int omi_done_items_n(const Objmgr__Response *r, void *out, void *out2)
{
	if (r->n_results != (size_t)(uintptr_t)out2)
		return OM_EPROTO;
	return omi_out_items(r, 0, 1, out);
}

int omi_done_split(const Objmgr__Response *r, void *out, void *out2)
{
	if (r->n_results % 2)
		return OM_EPROTO;
	om_items k;
	int rc = omi_out_items(r, 0, 2, &k);
	if (rc < 0)
		return rc;
	om_items v;
	rc = omi_out_items(r, 1, 2, &v);
	if (rc < 0) {
		om_items_free(&k);
		return rc;
	}
	*(om_items *)out = k;
	*(om_items *)out2 = v;
	return OM_OK;
}

/* The counts and positions in Response.num: 0 to `max`, written as type T
 * (out NULL: checked only). One definition for the three of them. */
#define OMI_DONE_COUNT(name, T, max)                               \
	int name(const Objmgr__Response *r, void *out, void *out2) \
	{                                                          \
		(void)out2;                                        \
		if (r->num < 0 || (uint64_t)r->num > (max))        \
			return OM_EPROTO;                          \
		if (out)                                           \
			*(T *)out = (T)r->num;                     \
		return OM_OK;                                      \
	}
OMI_DONE_COUNT(omi_done_size, size_t, SIZE_MAX)
OMI_DONE_COUNT(omi_done_pos, int64_t, INT64_MAX)
OMI_DONE_COUNT(omi_done_unsigned, unsigned, UINT_MAX)

int omi_done_bool(const Objmgr__Response *r, void *out, void *out2)
{
	(void)out2;
	if (out)
		*(bool *)out = r->num != 0;
	return OM_OK;
}
