/*
 * gc.c — the cycle collector. Reference counting never frees objects that
 * keep each other alive through stored OM_REF items (a dict that stores a
 * ref to itself, two lists that store each other, a ring of a hundred),
 * once nothing else refers to them. The server knows every reference, so
 * it can find them, with the algorithm of CPython's Modules/gcmodule.c:
 *
 *  1. For every object, gc_refs = refs.
 *  2. For every object, for every OM_REF item it stores (its type's
 *     traverse()), decrement the target's gc_refs. What is left counts the
 *     references from outside the object graph: a name, a connection's
 *     handle, taken or watch reference, a parked waiter's kept item (a
 *     queue's putters are not traversed: their items are roots).
 *  3. Objects with gc_refs > 0 are roots; mark everything reachable from
 *     them (an explicit stack threaded through obj->gc_next, so a ring of
 *     a million objects needs no recursion and no allocation).
 *  4. The unmarked rest is garbage: take a reference on each (so none dies
 *     while the others are cleared), call its type's clear() (which drops
 *     its stored items, decrefing the others), then drop that reference.
 *     Each count reaches 0 and obj_reap() destroys them as usual.
 *
 * Nothing in a garbage set can be reached by a client (no handle, no
 * name, no parked call), so freeing it changes nothing anyone can see
 * except om_stats.
 *
 * When: a collection is pending once obj_decref() drops a reference from
 * an object that can store references and stays alive while some OM_REF
 * item is stored anywhere (store_ref_count()). A set of objects becomes
 * unreachable only when the last reference into it from outside goes, and
 * that reference's target is on the path, so a container; without stored
 * refs there is no cycle at all. A pending collection runs from obj_reap()
 * once at least GC_MIN_GAP has passed since the previous one, and at least
 * GC_COST_FACTOR times as long as that one took, so collecting costs at
 * most a tenth of the loop's time however many objects there are, and a
 * server that stores no refs never collects. A timer brings the loop round
 * when a pending collection falls due while the server is idle.
 */
#include <event2/event.h>
#include <time.h>

#include "log.h"
#include "obj.h"

/* Marks an object reached from a root (step 3); never a real count. */
#define GC_REACHED UINT64_MAX
/* Seconds between collections, at the least. */
#define GC_MIN_GAP 0.1
/* A collection that took t seconds is followed by at least t * this. */
#define GC_COST_FACTOR 9.0

static bool pending;    /* references dropped since the last collection */
static bool collecting; /* inside gc_collect(): its own drops are not news */
static double next_due; /* monotonic seconds: no collection before */
static struct event *timer; /* wakes an idle loop when one falls due */

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void gc_note_drop(const struct obj *o)
{
	if (!collecting && o->type->traverse && store_ref_count() > 0)
		pending = true;
}

/* Step 2: a stored reference to t, accounted for inside the graph. */
static void subtract(struct obj *t, void *arg)
{
	if (t->gc_refs == 0)
		*(bool *)arg = false; /* more stored refs than refs: a bug */
	else
		t->gc_refs--;
}

/* Step 3: push t on the stack of reached objects still to traverse. */
static void reach(struct obj *t, void *arg)
{
	struct obj **stack = arg;
	if (t->gc_refs == GC_REACHED)
		return;
	t->gc_refs = GC_REACHED;
	t->gc_next = *stack;
	*stack = t;
}

static void traverse(struct obj *o, visit_fn visit, void *arg)
{
	if (o->type->traverse)
		o->type->traverse(o, visit, arg);
}

/* A full collection over the *nobjs objects alive. @return the objects
 * found to be garbage (doomed: the next reap destroys them). */
static size_t gc_collect(size_t *nobjs)
{
	struct obj *o, *stack = NULL, *garbage = NULL;
	size_t pos, ngarbage = 0;
	bool consistent = true;

	for (pos = 0; (o = obj_iter(&pos));) {
		o->gc_refs = o->refs;
		o->gc_next = NULL;
		(*nobjs)++;
	}
	for (pos = 0; (o = obj_iter(&pos));)
		traverse(o, subtract, &consistent);
	if (!consistent) {
		log_error("gc: stored references exceed reference counts; "
		          "not collecting");
		return 0;
	}
	for (pos = 0; (o = obj_iter(&pos));)
		if (o->gc_refs > 0 && o->gc_refs != GC_REACHED)
			reach(o, &stack);
	while ((o = stack)) {
		stack = o->gc_next;
		traverse(o, reach, &stack);
	}
	for (pos = 0; (o = obj_iter(&pos));) {
		if (o->gc_refs == GC_REACHED)
			continue;
		o->gc_next = garbage;
		garbage = o;
		ngarbage++;
	}
	/* Step 4. No object dies before the last decref: obj_decref() only
	 * dooms, and obj_reap() destroys after we return. */
	collecting = true;
	for (o = garbage; o; o = o->gc_next)
		obj_incref(o);
	for (o = garbage; o; o = o->gc_next)
		if (o->type->clear)
			o->type->clear(o);
	for (o = garbage; o; o = o->gc_next)
		obj_decref(o);
	collecting = false;
	return ngarbage;
}

/* The timer's only job is to end the loop's wait: obj_reap() runs next. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Make the loop iterate again in `secs` (if the server is otherwise idle,
 * nothing else would). Failing to is harmless: the next event does it. */
static void arm_timer(double secs)
{
	if (!timer && omi_srv.base)
		timer = evtimer_new(omi_srv.base, on_timer, NULL);
	if (!timer || evtimer_pending(timer, NULL))
		return;
	long usec = (long)(secs * 1e6) + 1;
	struct timeval tv = {.tv_sec = usec / 1000000,
	                     .tv_usec = usec % 1000000};
	evtimer_add(timer, &tv);
}

bool gc_maybe_collect(void)
{
	if (!pending)
		return false;
	double start = now_mono();
	if (start < next_due) {
		arm_timer(next_due - start);
		return false;
	}
	pending = false;
	size_t nobjs = 0, n = gc_collect(&nobjs);
	double end = now_mono(), gap = (end - start) * GC_COST_FACTOR;
	next_due = end + (gap > GC_MIN_GAP ? gap : GC_MIN_GAP);
	log_debug("gc: freed %zu of %zu objects in %.3f ms", n, nobjs,
	          (end - start) * 1e3);
	return n > 0;
}

void gc_free(void)
{
	if (timer)
		event_free(timer);
	timer = NULL;
	pending = false;
}
