/*
 * store.c — the items objects keep: size limits, memory accounting, and
 * the references held by stored OM_REF items, in one place (obj.h).
 */
#include "obj.h"

/* OM_REF items kept now (store_item to store_clear): the collector's
 * cue that cycles may exist at all. */
static uint64_t nrefs;

uint64_t store_ref_count(void)
{
	return nrefs;
}

void store_visit(const om_item *it, visit_fn visit, void *arg)
{
	if (it->kind != OM_REF)
		return;
	struct obj *o = obj_lookup(it->ref.id);
	if (o)
		visit(o, arg);
}

int store_charge(struct call *c, size_t n)
{
	struct server_stats *st = &omi_srv.stats;
	if (st->bytes + n > omi_srv.limits.max_memory || st->bytes + n < n) {
		if (c)
			call_err(c, OM_ENOMEM,
			         "server memory limit (%llu bytes) reached",
			         (unsigned long long)omi_srv.limits.max_memory);
		return OM_ENOMEM;
	}
	st->bytes += n;
	return OM_OK;
}

void store_refund(size_t n)
{
	struct server_stats *st = &omi_srv.stats;
	st->bytes -= n < st->bytes ? n : st->bytes;
}

int store_check(struct call *c, const om_item *it)
{
	switch (it->kind) {
	case OM_STR:
	case OM_BYTES:
		if (it->s.len > omi_srv.limits.max_item)
			return call_err(
			        c, OM_ETOOBIG,
			        "item of %zu bytes over the limit of %zu",
			        it->s.len, omi_srv.limits.max_item);
		break;
	case OM_REF: {
		/* Only a ref this session may reach can be stored. */
		struct obj *o = call_reach(c, it->ref.id);
		if (!o)
			return call_err(c, OM_ENOENT,
			                "referenced object %llu does not exist",
			                (unsigned long long)it->ref.id);
		if (o->type->type != it->ref.type)
			return call_err(
			        c, OM_EINVAL,
			        "reference to object %llu has the wrong "
			        "type",
			        (unsigned long long)it->ref.id);
		break;
	}
	case OM_NIL:
	case OM_BOOL:
	case OM_INT:
	case OM_FLOAT:
		break;
	default:
		return call_err(c, OM_EINVAL, "bad item kind %d",
		                (int)it->kind);
	}
	return OM_OK;
}

int store_item(struct call *c, om_item *dst, const om_item *src)
{
	dst->kind = OM_NIL;
	int rc = store_check(c, src);
	if (rc)
		return rc;
	size_t extra = omi_item_extra(src);
	if (extra && (rc = store_charge(c, extra)))
		return rc;
	if ((rc = omi_item_dup(dst, src))) {
		store_refund(extra);
		return call_err(c, rc, "out of memory");
	}
	if (src->kind == OM_REF) {
		obj_incref(obj_lookup(src->ref.id));
		nrefs++;
	}
	return OM_OK;
}

/* Copy first, then drop the old item: *dst stays as it was on failure. */
int store_replace(struct call *c, om_item *dst, const om_item *src)
{
	om_item v;
	int rc = store_item(c, &v, src);
	if (rc != OM_OK)
		return rc;
	store_clear(dst);
	*dst = v;
	return OM_OK;
}

void store_clear(om_item *it)
{
	if (it->kind == OM_REF) {
		struct obj *o = obj_lookup(it->ref.id);
		nrefs--;
		if (o)
			obj_decref(o);
	}
	store_refund(omi_item_extra(it));
	omi_item_clear(it);
}
