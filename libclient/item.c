/*
 * item.c — om_item constructors and frees, Python equality for users, and
 * om_strerror from the one error table in objmgr.h.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *om_strerror(int code)
{
	switch (code) {
	case OM_OK:
		return "success";
	case OM_OWNER_DIED:
		return "lock acquired; its previous holder died holding it";
#define OMI_MSG_(name, num, msg) \
	case OM_##name:          \
		return msg;
		OM_ERRNO_MAP(OMI_MSG_)
#undef OMI_MSG_
	}
	return "unknown error";
}

om_item om_nil(void)
{
	return (om_item){.kind = OM_NIL};
}

om_item om_bool(bool b)
{
	return (om_item){.kind = OM_BOOL, .b = b};
}

om_item om_int(int64_t i)
{
	return (om_item){.kind = OM_INT, .i = i};
}

om_item om_float(double f)
{
	return (om_item){.kind = OM_FLOAT, .f = f};
}

om_item om_str(const char *cstr)
{
	om_item it = {.kind = OM_STR};
	it.s.ptr = cstr ? cstr : "";
	it.s.len = cstr ? strlen(cstr) : 0;
	return it;
}

om_item om_strn(const char *p, size_t n)
{
	om_item it = {.kind = OM_STR};
	it.s.ptr = p;
	it.s.len = n;
	return it;
}

om_item om_bytes(const void *p, size_t n)
{
	om_item it = {.kind = OM_BYTES};
	it.s.ptr = p;
	it.s.len = n;
	return it;
}

om_item om_ref(const void *handle)
{
	struct omi_handle *h = omi_handle_get(handle);
	om_item it = {.kind = OM_NIL};
	if (h) {
		it.kind = OM_REF;
		it.ref.id = h->id;
		it.ref.type = h->type;
	}
	return it;
}

void om_item_free(om_item *it)
{
	if (!it)
		return;
	omi_item_clear(it);
}

void om_items_free(om_items *items)
{
	if (!items)
		return;
	for (size_t i = 0; i < items->n; i++)
		omi_item_clear(&items->v[i]);
	free(items->v);
	items->v = NULL;
	items->n = 0;
}

bool om_item_eq(const om_item *a, const om_item *b)
{
	if (!a || !b || !omi_item_valid(a) || !omi_item_valid(b))
		return false;
	return omi_item_eq(a, b);
}

bool omi_item_valid(const om_item *it)
{
	switch (it->kind) {
	case OM_NIL:
	case OM_BOOL:
	case OM_INT:
	case OM_FLOAT:
		return true;
	case OM_STR:
	case OM_BYTES:
		return it->s.ptr || it->s.len == 0;
	case OM_REF:
		return it->ref.id != 0 && omi_type_valid(it->ref.type);
	}
	return false;
}
