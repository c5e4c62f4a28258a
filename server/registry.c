/*
 * registry.c — every object alive, by id and by name; reference counting
 * and deferred destruction; the OPEN / UNLINK / ADDREF / RELEASE requests;
 * and the stored-item helpers that keep memory accounting and the
 * references held by stored OM_REF items in one place.
 *
 * Lifetimes: an object's refs count the connections holding handles on it,
 * the OM_REF items stored anywhere that name it, the connections watching
 * it (session state), and its name. When the count reaches zero the object
 * goes on the reap list; obj_reap() destroys it after the request that
 * dropped the last reference has been answered, so no type code ever sees
 * an object vanish under it. Destroying may drop further references (the
 * refs a dict stored): obj_reap() loops until nothing is left, without
 * recursion.
 */
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "map.h"
#include "obj.h"

struct server_limits limits = {
	.max_frame = 64u << 20,
	.max_item = 32u << 20,
	.max_memory = (uint64_t)4 << 30,
	.max_conns = 1024,
	.max_inflight = 4096,
};
struct server_stats stats;

static struct u64map by_id;
static struct strmap by_name;
static uint64_t next_id = 1;
static bool teardown; /* registry_free(): destroy all, count nothing */

/* Objects whose count reached zero, waiting for obj_reap(). */
static struct obj **doomed;
static size_t ndoomed, capdoomed;

enum { NAME_MAX_LEN = 1024 };

static const struct type_def *const types[] = {
	[OM_TYPE_DICT] = &dict_type,
	[OM_TYPE_LIST] = &list_type,
	[OM_TYPE_QUEUE] = &queue_type,
	[OM_TYPE_LOCK] = &lock_type,
	[OM_TYPE_SEM] = &sem_type,
	[OM_TYPE_COND] = &cond_type,
	[OM_TYPE_EVENT] = &event_type,
	[OM_TYPE_BARRIER] = &barrier_type,
	[OM_TYPE_VALUE] = &value_type,
	[OM_TYPE_ARRAY] = &array_type,
};

const struct type_def *type_by_id(int type)
{
	if (type <= 0 || (size_t)type >= sizeof types / sizeof types[0])
		return NULL;
	return types[type];
}

void registry_free(void)
{
	teardown = true;
	for (size_t i = 0; by_id.v && i <= by_id.mask; i++) {
		struct obj *o = by_id.v[i].val;
		if (!by_id.v[i].key)
			continue;
		free(o->name);
		o->name = NULL;
		pthread_mutex_destroy(&o->mu);
		o->type->destroy(o);
	}
	u64map_free(&by_id);
	strmap_free(&by_name);
	free(doomed);
	doomed = NULL;
	ndoomed = capdoomed = 0;
}

struct obj *obj_lookup(uint64_t id)
{
	return u64map_get(&by_id, id);
}

void obj_init(struct obj *o, const struct type_def *t)
{
	o->id = 0;
	o->type = t;
	o->name = NULL;
	o->refs = 0;
	pthread_mutex_init(&o->mu, NULL);
}

void obj_incref(struct obj *o)
{
	__atomic_add_fetch(&o->refs, 1, __ATOMIC_RELAXED);
}

void obj_decref(struct obj *o)
{
	if (teardown)
		return;
	if (__atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (ndoomed == capdoomed) {
		size_t cap = capdoomed ? capdoomed * 2 : 64;
		struct obj **d = realloc(doomed, cap * sizeof *d);
		if (!d) {
			/* Cannot queue it: keep it alive (a leak, logged)
			 * rather than destroy it under a caller. */
			log_error("out of memory: object %llu not freed",
			          (unsigned long long)o->id);
			o->refs = 1;
			return;
		}
		doomed = d;
		capdoomed = cap;
	}
	doomed[ndoomed++] = o;
}

void obj_reap(void)
{
	while (ndoomed) {
		struct obj *o = doomed[--ndoomed];
		if (o->refs)
			continue; /* revived (ADDREF raced in the same burst) */
		u64map_del(&by_id, o->id);
		log_debug("object %llu (%s) freed", (unsigned long long)o->id,
		          o->type->name);
		stats.objects--;
		pthread_mutex_destroy(&o->mu);
		o->type->destroy(o); /* may doom more: the loop takes them */
	}
}

/* ------------------------------------------------------------ requests */

static int result_ref(struct call *c, const struct obj *o)
{
	om_item ref = {.kind = OM_REF};
	ref.ref.id = o->id;
	ref.ref.type = o->type->type;
	return call_result(c, &ref);
}

/* OPEN name type flags params... -> Ref */
int registry_open(struct call *c)
{
	const char *name = c->req->name;
	int64_t flags = c->req->num2;
	const struct type_def *t = type_by_id((int)c->req->num);
	if (c->req->num < 0 || c->req->num > 255 || !t)
		return call_err(c, OM_EINVAL, "unknown object type %lld",
		                (long long)c->req->num);
	if (flags & ~(int64_t)0x7f)
		return call_err(c, OM_EINVAL, "unknown flags 0x%llx",
		                (unsigned long long)flags);
	if ((flags & OM_EXCL) && !(flags & OM_CREATE))
		return call_err(c, OM_EINVAL, "OM_EXCL needs OM_CREATE");
	size_t nlen = name ? strlen(name) : 0;
	if (nlen > NAME_MAX_LEN)
		return call_err(c, OM_EINVAL, "name longer than %d bytes",
		                NAME_MAX_LEN);

	struct obj *o = nlen ? strmap_get(&by_name, name) : NULL;
	if (o) {
		if (flags & OM_EXCL)
			return call_err(c, OM_EEXIST, "object '%s' exists",
			                name);
		if (o->type != t)
			return call_err(c, OM_ETYPE, "object '%s' is a %s, not a %s",
			                name, o->type->name, t->name);
		int rc = conn_ref_add(c->conn, o);
		return rc ? call_err(c, rc, "out of memory") : result_ref(c, o);
	}
	if (nlen && !(flags & OM_CREATE))
		return call_err(c, OM_ENOENT, "no object named '%s'", name);

	int rc = t->create(c, &o);
	if (rc)
		return rc;
	o->id = next_id++;
	if (nlen && !(o->name = strdup(name)))
		goto out_destroy;
	if (u64map_put(&by_id, o->id, o))
		goto out_destroy;
	if (o->name) {
		if (strmap_put(&by_name, o->name, o)) {
			u64map_del(&by_id, o->id);
			goto out_destroy;
		}
		o->refs = 1; /* the name's reference */
	}
	stats.objects++;
	if (conn_ref_add(c->conn, o)) {
		/* Cannot hand it out: undo, through the normal path. */
		if (o->name)
			strmap_del(&by_name, o->name);
		free(o->name);
		o->name = NULL;
		o->refs = 1;
		obj_decref(o);
		return call_err(c, OM_ENOMEM, "out of memory");
	}
	log_debug("object %llu (%s%s%s) created", (unsigned long long)o->id,
	          t->name, o->name ? " " : "", o->name ? o->name : "");
	return result_ref(c, o);

out_destroy:
	free(o->name);
	o->name = NULL;
	pthread_mutex_destroy(&o->mu);
	t->destroy(o);
	return call_err(c, OM_ENOMEM, "out of memory");
}

/* UNLINK name */
int registry_unlink(struct call *c)
{
	const char *name = c->req->name;
	struct obj *o = name && *name ? strmap_del(&by_name, name) : NULL;
	if (!o)
		return call_err(c, OM_ENOENT, "no object named '%s'",
		                name ? name : "");
	free(o->name);
	o->name = NULL;
	obj_decref(o); /* the name's reference */
	return OM_OK;
}

/* ADDREF target -> Ref */
int registry_addref(struct call *c)
{
	struct obj *o = obj_lookup(c->req->target);
	if (!o)
		return call_err(c, OM_ENOENT, "no object with id %llu",
		                (unsigned long long)c->req->target);
	if (!conn_ref_adopt(c->conn, o) && conn_ref_add(c->conn, o))
		return call_err(c, OM_ENOMEM, "out of memory");
	return result_ref(c, o);
}

/* RELEASE target */
int registry_release(struct call *c)
{
	struct obj *o = obj_lookup(c->req->target);
	if (!o || conn_ref_drop(c->conn, o))
		return call_err(c, OM_EINVAL,
		                "this connection holds no reference on object %llu",
		                (unsigned long long)c->req->target);
	return OM_OK;
}

/* --------------------------------------------------------- stored items */

int store_charge(struct call *c, size_t n)
{
	if (stats.bytes + n > limits.max_memory || stats.bytes + n < n) {
		if (c)
			call_err(c, OM_ENOMEM,
			         "server memory limit (%llu bytes) reached",
			         (unsigned long long)limits.max_memory);
		return OM_ENOMEM;
	}
	stats.bytes += n;
	return OM_OK;
}

void store_refund(size_t n)
{
	stats.bytes -= n < stats.bytes ? n : stats.bytes;
}

int store_check(struct call *c, const om_item *it)
{
	switch (it->kind) {
	case OM_STR:
	case OM_BYTES:
		if (it->s.len > limits.max_item)
			return call_err(c, OM_ETOOBIG,
			                "item of %zu bytes over the limit of %zu",
			                it->s.len, limits.max_item);
		break;
	case OM_REF: {
		struct obj *o = obj_lookup(it->ref.id);
		if (!o)
			return call_err(c, OM_ENOENT,
			                "referenced object %llu does not exist",
			                (unsigned long long)it->ref.id);
		if (o->type->type != it->ref.type)
			return call_err(c, OM_EINVAL,
			                "reference to object %llu has the wrong type",
			                (unsigned long long)it->ref.id);
		break;
	}
	case OM_NIL:
	case OM_BOOL:
	case OM_INT:
	case OM_FLOAT:
		break;
	default:
		return call_err(c, OM_EINVAL, "bad item kind %d", (int)it->kind);
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
	if (src->kind == OM_REF)
		obj_incref(obj_lookup(src->ref.id));
	return OM_OK;
}

void store_clear(om_item *it)
{
	if (it->kind == OM_REF) {
		struct obj *o = obj_lookup(it->ref.id);
		if (o)
			obj_decref(o);
	}
	if (!teardown)
		store_refund(omi_item_extra(it));
	omi_item_clear(it);
}
