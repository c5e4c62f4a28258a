/*
 * registry.c — every object alive, by id and by name; reference counting
 * and deferred destruction; the type table. A leaf: it knows no connection
 * and answers no request (dispatch.c serves OPEN and the rest on top).
 *
 * Lifetimes: an object's refs count the connections holding handles on it,
 * the OM_REF items stored anywhere that name it, the connections watching
 * it (session state), and its name. When the count reaches zero the object
 * goes on the reap list; obj_reap() destroys it at the end of the loop
 * iteration, after every callback of that iteration has run, so no type
 * code ever sees an object vanish under it. Destroying may drop further
 * references (the refs a dict stored): obj_reap() loops until nothing is
 * left, without recursion. Objects that keep each other alive through
 * stored refs, and nothing else, are found by the cycle collector (gc.c),
 * which obj_reap() runs once the reap list is empty.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "map.h"
#include "obj.h"

static struct u64map by_id;
static struct strmap by_name;
static uint64_t next_id = 1; /* obj_ids_sequential() only */
static bool sequential;
static bool teardown; /* registry_free(): destroy all, count nothing */

/* Objects whose count reached zero, waiting for obj_reap(): linked
 * through obj.reap_next, so a reference can always be dropped. */
static struct obj *doomed;

/* The type table, from the one list of types (OM_TYPE_MAP, objmgr.h). */
static const struct type_def *const types[] = {
#define OMI_X_(NAME, code, stem) [OM_TYPE_##NAME] = &stem##_type,
        OM_TYPE_MAP(OMI_X_)
#undef OMI_X_
};

const struct type_def *type_by_id(int type)
{
	if (type <= 0 || (size_t)type >= ARRAY_LEN(types))
		return NULL;
	return types[type];
}

/* Release what o holds, then o. */
static void destroy(struct obj *o)
{
	if (o->type->fini)
		o->type->fini(o);
	free(o);
}

void registry_free(void)
{
	teardown = true;
	gc_free();
	for (size_t i = 0; by_id.v && i <= by_id.mask; i++) {
		struct obj *o = by_id.v[i].val;
		if (!by_id.v[i].key)
			continue;
		free(o->name);
		o->name = NULL;
		destroy(o);
	}
	u64map_free(&by_id);
	strmap_free(&by_name);
	doomed = NULL;
	/* Empty and usable again, ids from 1: the fuzz target (tests/fuzz)
	 * runs a whole server per input in one process. */
	teardown = false;
	next_id = 1;
}

struct obj *obj_iter(size_t *pos)
{
	for (; by_id.v && *pos <= by_id.mask; (*pos)++)
		if (by_id.v[*pos].key)
			return by_id.v[(*pos)++].val;
	return NULL;
}

struct obj *obj_lookup(uint64_t id)
{
	return u64map_get(&by_id, id);
}

struct obj *obj_named(const char *name)
{
	return strmap_get(&by_name, name);
}

void obj_ids_sequential(bool on)
{
	sequential = on;
}

/* A new object's id: random 63 bits from the kernel's generator, so ids are
 * not guesses (a session reaches only what it was given: dispatch.c), and
 * unique among live objects. 63, not 64: an id is then a positive int64,
 * which every JSON library and every language's integers hold (objmgr
 * --json prints refs as {"ref": ID}). Drawn 64 at a time: one getrandom(2)
 * per 64 objects made. */
static uint64_t new_id(void)
{
	static uint64_t pool[64];
	static size_t left;
	for (;;) {
		uint64_t id;
		if (sequential) {
			id = next_id++;
		} else {
			if (left == 0) {
				if (getrandom(pool, sizeof pool, 0) !=
				    sizeof pool) {
					log_error(
					        "getrandom: no ids: sequential "
					        "from now on");
					sequential = true;
					continue;
				}
				left = ARRAY_LEN(pool);
			}
			id = pool[--left] >> 1;
		}
		if (id != 0 && !obj_lookup(id))
			return id;
	}
}

int obj_register(struct obj *o, const char *name)
{
	o->id = new_id();
	if (name && !(o->name = strdup(name)))
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
	omi_srv.stats.objects++;
	log_debug("object %llu (%s%s%s) created", (unsigned long long)o->id,
	          o->type->name, o->name ? " " : "", o->name ? o->name : "");
	return OM_OK;

out_destroy:
	free(o->name);
	o->name = NULL;
	destroy(o);
	return OM_ENOMEM;
}

struct obj *obj_unname(const char *name)
{
	struct obj *o = strmap_del(&by_name, name);
	if (!o)
		return NULL;
	free(o->name);
	o->name = NULL;
	if (o->type->hooks && o->type->hooks->unnamed)
		o->type->hooks->unnamed(o);
	obj_decref(o); /* the name's reference */
	return o;
}

void obj_incref(struct obj *o)
{
	o->refs++;
}

void obj_decref(struct obj *o)
{
	if (teardown)
		return;
	if (--o->refs != 0) {
		gc_note_drop(o);
		return;
	}
	if (o->doomed)
		return;
	o->reap_next = doomed;
	doomed = o;
	o->doomed = true;
}

/* Destroy what the reap list holds, and what that dooms in turn. */
static void reap_doomed(void)
{
	while (doomed) {
		struct obj *o = doomed;
		doomed = o->reap_next;
		o->doomed = false;
		if (o->refs)
			continue; /* revived (ADDREF in the same iteration) */
		u64map_del(&by_id, o->id);
		log_debug("object %llu (%s) freed", (unsigned long long)o->id,
		          o->type->name);
		omi_srv.stats.objects--;
		destroy(o); /* may doom more: the loop takes them */
	}
}

void obj_reap(void)
{
	reap_doomed();
	if (gc_maybe_collect())
		reap_doomed();
}
