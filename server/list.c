/*
 * list.c — the LIST type: a shared sequence of items with the methods and
 * the index rules of Python's list (negative indexes count from the end,
 * slices clamp, insert clamps, get/set/del/pop out of range is an error).
 *
 * The items live in one dynamic array that grows geometrically, so append
 * and pop at the end cost one item copy and, amortised, no allocation. The
 * array's own bytes are charged to the server's memory budget with
 * store_charge() as it grows and refunded as it shrinks or dies; the items'
 * bytes are charged by store_item() like everywhere else. Updates that add
 * items store every new item first and only then change the list, so a
 * failure (size or memory limit, dead REF) leaves it as it was.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "list.h"
#include "obj.h"

/* Smallest array kept once something was stored; below it we never shrink,
 * so a list that hovers around a few items does not realloc on every op. */
#define LIST_MIN_CAP 8
/* Runs this short are sorted by insertion, which beats merging them. */
#define SORT_RUN 16

struct list {
	struct obj o;
	om_item *v; /* v[0..len) kept with store_item() */
	size_t len, cap;
};

/* ------------------------------------------------------------ the array */

/* Make room for `need` items. Charges the growth before it reallocs, so
 * the budget refuses a list that would go over it before any memory is
 * taken. The list is unchanged on error. */
static int reserve(struct list *l, struct call *c, size_t need)
{
	if (need <= l->cap)
		return OM_OK;
	if (need > SIZE_MAX / 2 / sizeof(om_item))
		return call_err(c, OM_ENOMEM, "list too long");
	size_t ncap = l->cap < LIST_MIN_CAP ? LIST_MIN_CAP : l->cap * 2;
	if (ncap < need)
		ncap = need;
	int rc = store_charge(c, (ncap - l->cap) * sizeof(om_item));
	if (rc != OM_OK)
		return rc;
	om_item *nv = realloc(l->v, ncap * sizeof(om_item));
	if (!nv) {
		store_refund((ncap - l->cap) * sizeof(om_item));
		return call_err(c, OM_ENOMEM, "out of memory growing a list");
	}
	l->v = nv;
	l->cap = ncap;
	return OM_OK;
}

/* Give memory back once the list uses under a quarter of its array. Halving
 * (not fitting) leaves room, so alternating push and pop around the
 * threshold does not realloc each time, and the smallest array is kept, so
 * a queue-like list that empties and refills does not either. A failed
 * realloc keeps the old array. */
static void maybe_shrink(struct list *l)
{
	if (l->cap <= LIST_MIN_CAP || l->len >= l->cap / 4)
		return;
	size_t ncap = l->cap / 2;
	om_item *nv = realloc(l->v, ncap * sizeof(om_item));
	if (!nv)
		return;
	store_refund((l->cap - ncap) * sizeof(om_item));
	l->v = nv;
	l->cap = ncap;
}

/* Drop the item at `pos` (already store_clear()ed or taken) and close the
 * gap. */
static void remove_at(struct list *l, size_t pos)
{
	memmove(&l->v[pos], &l->v[pos + 1],
	        (l->len - pos - 1) * sizeof(om_item));
	l->len--;
	maybe_shrink(l);
}

/* Release every item and the array: the list is empty and holds nothing
 * (LIST_CLEAR gives all its memory back, as destroy does). */
static void release_all(struct list *l)
{
	for (size_t i = 0; i < l->len; i++)
		store_clear(&l->v[i]);
	free(l->v);
	store_refund(l->cap * sizeof(om_item));
	l->v = NULL;
	l->len = l->cap = 0;
}

/* ---------------------------------------------------------------- indexes */

/* Python's item index: negative counts from the end. False if out of range
 * (the caller words the IndexError, as Python's messages differ). */
static bool item_index(const struct list *l, int64_t i, size_t *pos)
{
	int64_t n = (int64_t)l->len;
	if (i < 0)
		i += n;
	if (i < 0 || i >= n)
		return false;
	*pos = (size_t)i;
	return true;
}

/* Python's slice bound with step 1 (and insert's position): negative adds
 * the length, then clamps to [0, len]. */
static size_t clamp_index(const struct list *l, int64_t i)
{
	int64_t n = (int64_t)l->len;
	if (i < 0) {
		i += n;
		if (i < 0)
			i = 0;
	} else if (i > n) {
		i = n;
	}
	return (size_t)i;
}

/* l[start:stop] as positions [*lo, *hi): a stop before the start is the
 * empty slice at the start, as in Python's list_ass_slice(). */
static void slice_bounds(const struct list *l, int64_t start, int64_t stop,
                         size_t *lo, size_t *hi)
{
	*lo = clamp_index(l, start);
	*hi = clamp_index(l, stop);
	if (*hi < *lo)
		*hi = *lo;
}

/* First position holding an item == `it` (Python equality), or -1. */
static int64_t find(const struct list *l, const om_item *it)
{
	for (size_t i = 0; i < l->len; i++)
		if (omi_item_eq(&l->v[i], it))
			return (int64_t)i;
	return -1;
}

/* ------------------------------------------------------------------ sort */

/* Which items can be ordered with which: Python orders numbers with
 * numbers, str with str and bytes with bytes, and nothing else (not even
 * None with None). */
static int order_class(const om_item *it)
{
	if (omi_item_is_num(it))
		return 0;
	if (it->kind == OM_STR)
		return 1;
	if (it->kind == OM_BYTES)
		return 2;
	return -1;
}

/* True if `a` must come before `b`: strictly less (strictly greater when
 * reversed). Equal items never go first, which is what keeps the sort
 * stable in both directions, as Python's reverse=True is. The caller has
 * checked that every pair compares, so an error cannot happen here. */
static bool before(const om_item *a, const om_item *b, bool rev)
{
	int r = 0;
	if (omi_item_cmp(a, b, &r) != OM_OK)
		return false;
	return rev ? r > 0 : r < 0;
}

static void insertion_sort(om_item *a, size_t n, bool rev)
{
	for (size_t i = 1; i < n; i++) {
		om_item x = a[i];
		size_t j = i;
		while (j > 0 && before(&x, &a[j - 1], rev)) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = x;
	}
}

/* Stable merge sort of a[0..n); tmp holds at least n / 2 items. Only the
 * left half is copied out: merging into a[] from the front never overtakes
 * the unread part of the right half. */
static void merge_sort(om_item *a, om_item *tmp, size_t n, bool rev)
{
	if (n <= SORT_RUN) {
		insertion_sort(a, n, rev);
		return;
	}
	size_t h = n / 2, i = 0, j = h, k = 0;
	merge_sort(a, tmp, h, rev);
	merge_sort(a + h, tmp, n - h, rev);
	if (!before(&a[h], &a[h - 1], rev))
		return; /* already in order: common for nearly sorted lists */
	memcpy(tmp, a, h * sizeof(om_item));
	while (i < h && j < n) {
		if (before(&a[j], &tmp[i], rev))
			a[k++] = a[j++];
		else
			a[k++] = tmp[i++];
	}
	while (i < h)
		a[k++] = tmp[i++];
}

/* ------------------------------------------------------------ operations */

/* LIST_APPEND item */
static int list_append(struct obj *o, struct call *c)
{
	struct list *l = (struct list *)o;
	int rc = reserve(l, c, l->len + 1);
	if (rc != OM_OK)
		return rc;
	rc = store_item(c, &l->v[l->len], &c->args[0]);
	if (rc != OM_OK)
		return rc;
	l->len++;
	return OM_OK;
}

/* LIST_EXTEND items... (all or nothing) */
static int list_extend(struct obj *o, struct call *c)
{
	struct list *l = (struct list *)o;
	if (c->nargs == 0)
		return OM_OK;
	if (c->nargs > SIZE_MAX - l->len)
		return call_err(c, OM_ENOMEM, "list too long");
	int rc = reserve(l, c, l->len + c->nargs);
	if (rc != OM_OK)
		return rc;
	/* The slots past len are ours and unseen: stage the items there and
	 * publish them all by moving len at the end. */
	size_t i;
	for (i = 0; i < c->nargs; i++) {
		rc = store_item(c, &l->v[l->len + i], &c->args[i]);
		if (rc != OM_OK)
			goto out_clear_staged;
	}
	l->len += c->nargs;
	return OM_OK;

out_clear_staged:
	while (i-- > 0)
		store_clear(&l->v[l->len + i]);
	return rc;
}

/* LIST_INSERT index item (the index clamps, as in Python) */
static int list_insert(struct obj *o, struct call *c)
{
	struct list *l = (struct list *)o;
	size_t pos = clamp_index(l, c->req->num);
	int rc = reserve(l, c, l->len + 1);
	if (rc != OM_OK)
		return rc;
	om_item tmp;
	rc = store_item(c, &tmp, &c->args[0]);
	if (rc != OM_OK)
		return rc;
	memmove(&l->v[pos + 1], &l->v[pos], (l->len - pos) * sizeof(om_item));
	l->v[pos] = tmp;
	l->len++;
	return OM_OK;
}

/* LIST_GET index -> item | EINDEX */
static int list_get(struct obj *o, struct call *c)
{
	struct list *l = (struct list *)o;
	size_t pos;
	if (!item_index(l, c->req->num, &pos))
		return call_err(c, OM_EINDEX, "list index out of range");
	return call_result(c, &l->v[pos]);
}

/* LIST_SET index item | EINDEX */
static int list_set(struct obj *o, struct call *c)
{
	struct list *l = (struct list *)o;
	size_t pos;
	if (!item_index(l, c->req->num, &pos))
		return call_err(c, OM_EINDEX,
		                "list assignment index out of range");
	return store_replace(c, &l->v[pos], &c->args[0]);
}

/* LIST_DEL index | EINDEX */
static int list_del(struct obj *o, struct call *c)
{
	struct list *l = (struct list *)o;
	size_t pos;
	if (!item_index(l, c->req->num, &pos))
		return call_err(c, OM_EINDEX,
		                "list assignment index out of range");
	store_clear(&l->v[pos]);
	remove_at(l, pos);
	return OM_OK;
}

/* LIST_POP index -> item | EINDEX (the client sends -1 for the last) */
static int list_pop(struct obj *o, struct call *c)
{
	struct list *l = (struct list *)o;
	if (l->len == 0)
		return call_err(c, OM_EINDEX, "pop from empty list");
	size_t pos;
	if (!item_index(l, c->req->num, &pos))
		return call_err(c, OM_EINDEX, "pop index out of range");
	int rc = call_result_take(c, &l->v[pos]);
	if (rc != OM_OK)
		return rc;
	remove_at(l, pos);
	return OM_OK;
}

/* LIST_REMOVE item | EVALUE (the first equal one) */
static int list_remove(struct obj *o, struct call *c)
{
	struct list *l = (struct list *)o;
	int64_t pos = find(l, &c->args[0]);
	if (pos < 0)
		return call_err(c, OM_EVALUE, "list.remove(x): x not in list");
	store_clear(&l->v[pos]);
	remove_at(l, (size_t)pos);
	return OM_OK;
}

/* LIST_INDEX item -> num position | EVALUE */
static int list_index(struct obj *o, struct call *c)
{
	struct list *l = (struct list *)o;
	int64_t pos = find(l, &c->args[0]);
	if (pos < 0)
		return call_err(c, OM_EVALUE, "x is not in list");
	call_num(c, pos);
	return OM_OK;
}

/* LIST_COUNT item -> num */
static int list_count(struct obj *o, struct call *c)
{
	struct list *l = (struct list *)o;
	int64_t n = 0;
	for (size_t i = 0; i < l->len; i++)
		n += omi_item_eq(&l->v[i], &c->args[0]);
	call_num(c, n);
	return OM_OK;
}

/* LIST_CONTAINS item -> num 0/1 */
static int list_contains(struct obj *o, struct call *c)
{
	struct list *l = (struct list *)o;
	call_num(c, find(l, &c->args[0]) >= 0);
	return OM_OK;
}

/* LIST_LEN -> num */
static int list_len(struct obj *o, struct call *c)
{
	struct list *l = (struct list *)o;
	call_num(c, (int64_t)l->len);
	return OM_OK;
}

/* LIST_CLEAR */
static int list_clear(struct obj *o, struct call *c)
{
	(void)c;
	release_all((struct list *)o);
	return OM_OK;
}

/* LIST_REVERSE */
static int list_reverse(struct obj *o, struct call *c)
{
	(void)c;
	struct list *l = (struct list *)o;
	for (size_t i = 0, j = l->len; i + 1 < j; i++, j--) {
		om_item t = l->v[i];
		l->v[i] = l->v[j - 1];
		l->v[j - 1] = t;
	}
	return OM_OK;
}

/* LIST_SORT reverse(num 0/1) | ETYPE (the list is then unchanged) */
static int list_sort(struct obj *o, struct call *c)
{
	struct list *l = (struct list *)o;
	bool rev = c->req->num != 0;
	if (l->len < 2)
		return OM_OK; /* Python compares nothing: any kinds sort */
	/* Check every pair can be compared before moving anything, so a
	 * TypeError leaves the list as it was (Python may leave it half
	 * sorted; unchanged is the stronger promise). The classes are an
	 * equivalence, so comparing each item with the first is enough. */
	int cls = order_class(&l->v[0]);
	for (size_t i = 1; i < l->len; i++) {
		if (cls >= 0 && order_class(&l->v[i]) == cls)
			continue;
		return call_err(c, OM_ETYPE,
		                "'<' not supported between instances of "
		                "'%s' and '%s'",
		                omi_kind_name(&l->v[i]),
		                omi_kind_name(&l->v[0]));
	}
	om_item *tmp = NULL;
	if (l->len > SORT_RUN) {
		tmp = malloc(l->len / 2 * sizeof(om_item));
		if (!tmp)
			return call_err(c, OM_ENOMEM,
			                "out of memory sorting a list");
	}
	merge_sort(l->v, tmp, l->len, rev);
	free(tmp);
	return OM_OK;
}

/* LIST_SLICE start stop -> items l[start:stop] */
static int list_slice(struct obj *o, struct call *c)
{
	struct list *l = (struct list *)o;
	size_t lo, hi;
	slice_bounds(l, c->req->num, c->req->num2, &lo, &hi);
	if (hi == lo)
		return OM_OK;
	return call_results(c, &l->v[lo], hi - lo);
}

/* LIST_SPLICE start stop items...: l[start:stop] = items (all or nothing;
 * no items deletes; stop before start inserts at start) */
static int list_splice(struct obj *o, struct call *c)
{
	struct list *l = (struct list *)o;
	size_t lo, hi, k = c->nargs, i = 0;
	slice_bounds(l, c->req->num, c->req->num2, &lo, &hi);
	if (k > SIZE_MAX - l->len)
		return call_err(c, OM_ENOMEM, "list too long");
	size_t nlen = l->len - (hi - lo) + k;
	om_item *tmp = NULL;
	int rc = OM_OK;
	if (k > 0) {
		if (k > SIZE_MAX / sizeof(om_item))
			return call_err(c, OM_ENOMEM, "list too long");
		tmp = call_alloc(c, k * sizeof(om_item));
		if (!tmp)
			return call_err(c, OM_ENOMEM,
			                "out of memory in list splice");
		for (i = 0; i < k; i++) {
			rc = store_item(c, &tmp[i], &c->args[i]);
			if (rc != OM_OK)
				goto out_clear_new;
		}
	}
	rc = reserve(l, c, nlen);
	if (rc != OM_OK)
		goto out_clear_new;
	/* Nothing can fail from here on. */
	for (size_t j = lo; j < hi; j++)
		store_clear(&l->v[j]);
	if (hi < l->len) /* l->v may be NULL when nothing moves */
		memmove(&l->v[lo + k], &l->v[hi],
		        (l->len - hi) * sizeof(om_item));
	if (k > 0)
		memcpy(&l->v[lo], tmp, k * sizeof(om_item));
	l->len = nlen;
	maybe_shrink(l);
	return OM_OK;

out_clear_new:
	while (i-- > 0)
		store_clear(&tmp[i]);
	return rc;
}

static void list_fini(struct obj *o)
{
	release_all((struct list *)o);
}

static void list_traverse(struct obj *o, visit_fn visit, void *arg)
{
	struct list *l = (struct list *)o;
	for (size_t i = 0; i < l->len; i++)
		store_visit(&l->v[i], visit, arg);
}

static uint64_t list_length(const struct obj *o)
{
	return ((const struct list *)o)->len;
}

/* The array and every item's bytes. */
static uint64_t list_bytes(const struct obj *o)
{
	const struct list *l = (const struct list *)o;
	uint64_t n = l->cap * sizeof(om_item);
	for (size_t i = 0; i < l->len; i++)
		n += omi_item_extra(&l->v[i]);
	return n;
}

static int list_dump(struct obj *o, struct call *c)
{
	struct list *l = (struct list *)o;
	return call_results(c, l->v, l->len);
}

static const struct type_look list_look = {list_length, list_bytes, list_dump};

/* Tables indented with tabs like the rest of the file. */
static const struct op_def list_ops[] = {
        OP(LIST_APPEND, list_append, 1, OPF_CHANGES),
        OP(LIST_EXTEND, list_extend, OP_VARARGS, OPF_CHANGES),
        OP(LIST_INSERT, list_insert, 1, OPF_CHANGES),
        OP(LIST_GET, list_get, 0, 0),
        OP(LIST_SET, list_set, 1, OPF_CHANGES),
        OP(LIST_DEL, list_del, 0, OPF_CHANGES),
        OP(LIST_POP, list_pop, 0, OPF_CHANGES),
        OP(LIST_REMOVE, list_remove, 1, OPF_CHANGES),
        OP(LIST_INDEX, list_index, 1, 0),
        OP(LIST_COUNT, list_count, 1, 0),
        OP(LIST_CONTAINS, list_contains, 1, 0),
        OP(LIST_LEN, list_len, 0, 0),
        OP(LIST_CLEAR, list_clear, 0, OPF_CHANGES),
        OP(LIST_REVERSE, list_reverse, 0, OPF_CHANGES),
        OP(LIST_SORT, list_sort, 0, OPF_CHANGES),
        OP(LIST_SLICE, list_slice, 0, 0),
        OP(LIST_SPLICE, list_splice, OP_VARARGS, OPF_CHANGES),
};

TYPE_DEF(list, LIST, "list", struct list, 0, 0, NULL, list_fini, NULL,
         list_traverse, list_fini);

int list_make(struct call *c, const om_item *items, size_t n, struct obj **out)
{
	struct list *l = calloc(1, sizeof *l);
	if (!l)
		return call_err(c, OM_ENOMEM, "out of memory for a list");
	l->o.type = &list_type;
	int rc = reserve(l, c, n);
	for (size_t i = 0; rc == OM_OK && i < n; i++)
		if ((rc = store_item(c, &l->v[i], &items[i])) == OM_OK)
			l->len++;
	if (rc != OM_OK) {
		release_all(l);
		free(l);
		return rc;
	}
	if (obj_register(&l->o, NULL)) /* destroys it on failure */
		return call_err(c, OM_ENOMEM, "out of memory for a list");
	obj_incref(&l->o);
	*out = &l->o;
	return OM_OK;
}
