/*
 * test_value_array.c — the shared value and the typed array. Value:
 * get/set of every kind; add with Python's number rules (int + int stays
 * int, int + float is float, bool counts as int, ETYPE for a non-number on
 * either side and EVALUE on int64 overflow, both leaving the value as it
 * was); compare-and-swap by Python equality; a stored OM_REF keeping its
 * object alive until it is replaced. Array: OM_INT and OM_FLOAT, zero-
 * filled, other kinds EINVAL, length 0; get/set/add with EINDEX at the end
 * and ETYPE for a float into an int array (an int into a float array
 * converts); read and all-or-nothing write of ranges; and four processes
 * adding to one array and one value at once, with exact totals.
 */
#include "harness.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------- helpers */

/* The value must hold an OM_INT equal to v. */
static void value_is_int(om_value *v, int64_t want)
{
	om_item it;

	assert_int_equal(om_value_get(v, &it), OM_OK);
	assert_int_item(&it, want);
}

/* The value must hold the str s. */
static void value_is_str(om_value *v, const char *s)
{
	om_item it;

	assert_int_equal(om_value_get(v, &it), OM_OK);
	assert_str_item(&it, s);
	om_item_free(&it);
}

/* a[0..n) must be the ints want[0..n). */
static void array_is_ints(om_array *a, const int64_t *want, size_t n)
{
	om_items got;
	size_t len;

	assert_int_equal(om_array_len(a, &len), OM_OK);
	assert_int_equal(len, n);
	assert_int_equal(om_array_read(a, 0, n, &got), OM_OK);
	assert_int_equal(got.n, n);
	for (size_t i = 0; i < n; i++)
		assert_int_item(&got.v[i], want[i]);
	om_items_free(&got);
}

/* Server's live object count. */
static uint64_t objects(om_client *c)
{
	om_server_stats st;

	expect_ok(c, om_stats(c, &st));
	return st.objects;
}

/* ---------------------------------------------------------------- value */

static void test_value_kinds(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_value *v;
	om_item it;

	expect_ok(c, om_value_open(c, NULL, 0, om_int(5), &v));
	value_is_int(v, 5);
	expect_ok(c, om_value_set(v, om_int(INT64_MIN)));
	value_is_int(v, INT64_MIN);
	expect_ok(c, om_value_set(v, om_float(2.5)));
	expect_ok(c, om_value_get(v, &it));
	assert_float_item(&it, 2.5);
	expect_ok(c, om_value_set(v, om_float(-0.0)));
	expect_ok(c, om_value_get(v, &it));
	assert_float_item(&it, -0.0);
	expect_ok(c, om_value_set(v, om_str("hello")));
	value_is_str(v, "hello");
	expect_ok(c, om_value_set(v, om_strn("a\0b", 3)));
	expect_ok(c, om_value_get(v, &it));
	assert_int_equal(it.kind, OM_STR);
	assert_int_equal(it.s.len, 3);
	assert_memory_equal(it.s.ptr, "a\0b", 4); /* NUL-terminated too */
	om_item_free(&it);
	expect_ok(c, om_value_set(v, om_str("")));
	value_is_str(v, "");
	expect_ok(c, om_value_set(v, om_bytes("\x00\xff", 2)));
	expect_ok(c, om_value_get(v, &it));
	assert_int_equal(it.kind, OM_BYTES);
	assert_int_equal(it.s.len, 2);
	assert_memory_equal(it.s.ptr, "\x00\xff", 2);
	om_item_free(&it);
	expect_ok(c, om_value_set(v, om_nil()));
	expect_ok(c, om_value_get(v, &it));
	assert_int_equal(it.kind, OM_NIL);
	expect_ok(c, om_value_set(v, om_bool(true)));
	expect_ok(c, om_value_get(v, &it));
	assert_int_equal(it.kind, OM_BOOL);
	assert_true(it.b);
	expect_ok(c, om_value_set(v, om_bool(false)));
	expect_ok(c, om_value_get(v, &it));
	assert_int_equal(it.kind, OM_BOOL);
	assert_false(it.b);

	/* bad arguments change nothing */
	om_item bad = {.kind = OM_STR};
	bad.s.len = 4;
	expect_rc(c, om_value_set(v, bad), OM_EINVAL);
	expect_rc(c, om_value_set(v, (om_item){.kind = (om_kind)42}),
	          OM_EINVAL);
	expect_rc(c, om_value_get(v, NULL), OM_EINVAL);
	expect_ok(c, om_value_get(v, &it));
	assert_int_equal(it.kind, OM_BOOL);
	assert_false(it.b);
	om_value *v2 = NULL;
	expect_rc(c, om_value_open(c, NULL, 0, bad, &v2), OM_EINVAL);
	assert_null(v2);
	expect_rc(c, om_value_get(NULL, &it), OM_EINVAL);
	om_release(v);
	expect_rc(c, om_value_get(v, &it), OM_EINVAL);

	/* a named value is shared; the initial item only counts on create */
	om_client *c2 = client(&srv);
	expect_rc(c, om_value_open(c, "value.named", 0, om_int(1), &v),
	          OM_ENOENT);
	expect_ok(c, om_value_open(c, "value.named", OM_CREATE, om_int(1), &v));
	expect_ok(c2, om_value_open(c2, "value.named", OM_CREATE,
	                            om_str("ignored"), &v2));
	value_is_int(v2, 1);
	expect_ok(c2, om_value_set(v2, om_str("from c2")));
	value_is_str(v, "from c2");
	expect_ok(c, om_unlink(c, "value.named"));
	om_disconnect(c2);
	om_disconnect(c);
}

static void test_value_add(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_value *v;
	om_item it;

	expect_ok(c, om_value_open(c, NULL, 0, om_int(5), &v));
	expect_ok(c, om_value_add(v, om_int(3), &it)); /* int + int */
	assert_int_item(&it, 8);
	value_is_int(v, 8);
	expect_ok(c, om_value_add(v, om_int(-10), NULL)); /* out optional */
	value_is_int(v, -2);
	expect_ok(c, om_value_add(v, om_bool(true), &it)); /* bool is an int */
	assert_int_item(&it, -1);
	expect_ok(c, om_value_add(v, om_float(0.5), &it)); /* int + float */
	assert_float_item(&it, -0.5);
	expect_ok(c, om_value_get(v, &it));
	assert_float_item(&it, -0.5);
	expect_ok(c, om_value_add(v, om_int(2), &it)); /* float + int */
	assert_float_item(&it, 1.5);
	expect_ok(c, om_value_add(v, om_float(1e308), NULL));
	expect_ok(c, om_value_add(v, om_float(1e308), &it)); /* as Python */
	assert_float_item(&it, INFINITY);

	/* True + 1 == 2, an int (Python's bool is an int) */
	expect_ok(c, om_value_set(v, om_bool(true)));
	expect_ok(c, om_value_add(v, om_int(1), &it));
	assert_int_item(&it, 2);
	expect_ok(c, om_value_set(v, om_bool(false)));
	expect_ok(c, om_value_add(v, om_bool(false), &it));
	assert_int_item(&it, 0);

	/* a non-number on either side: ETYPE, nothing changes */
	expect_ok(c, om_value_set(v, om_str("a")));
	it = om_int(99);
	expect_rc(c, om_value_add(v, om_int(1), &it), OM_ETYPE);
	expect_rc(c, om_value_add(v, om_str("b"), &it), OM_ETYPE);
	assert_int_item(&it, 99); /* not written */
	value_is_str(v, "a");
	expect_ok(c, om_value_set(v, om_nil()));
	expect_rc(c, om_value_add(v, om_int(1), NULL), OM_ETYPE);
	expect_ok(c, om_value_set(v, om_bytes("1", 1)));
	expect_rc(c, om_value_add(v, om_int(1), NULL), OM_ETYPE);
	expect_ok(c, om_value_set(v, om_int(7)));
	expect_rc(c, om_value_add(v, om_str("1"), &it), OM_ETYPE);
	expect_rc(c, om_value_add(v, om_bytes("1", 1), &it), OM_ETYPE);
	expect_rc(c, om_value_add(v, om_nil(), &it), OM_ETYPE);
	value_is_int(v, 7);

	/* int64 overflow: EVALUE, nothing changes */
	expect_ok(c, om_value_set(v, om_int(INT64_MAX)));
	expect_rc(c, om_value_add(v, om_int(1), &it), OM_EVALUE);
	expect_rc(c, om_value_add(v, om_bool(true), &it), OM_EVALUE);
	value_is_int(v, INT64_MAX);
	expect_ok(c, om_value_add(v, om_int(0), &it));
	assert_int_item(&it, INT64_MAX);
	expect_ok(c, om_value_set(v, om_int(INT64_MIN)));
	expect_rc(c, om_value_add(v, om_int(-1), &it), OM_EVALUE);
	value_is_int(v, INT64_MIN);
	expect_ok(c, om_value_add(v, om_int(INT64_MAX), &it));
	assert_int_item(&it, -1);
	/* with a float it is a float sum, not an overflow */
	expect_ok(c, om_value_set(v, om_int(INT64_MAX)));
	expect_ok(c, om_value_add(v, om_float(1.0), &it));
	assert_float_item(&it, 9223372036854775808.0);

	/* an invalid delta */
	om_item bad = {.kind = OM_BYTES};
	bad.s.len = 2;
	expect_rc(c, om_value_add(v, bad, &it), OM_EINVAL);
	om_release(v);
	om_disconnect(c);
}

static void test_value_cas(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_value *v;
	om_item it;
	bool sw;

	expect_ok(c, om_value_open(c, NULL, 0, om_int(2), &v));
	/* equal by Python equality: 2 == 2.0 */
	sw = false;
	expect_ok(c, om_value_cas(v, om_float(2.0), om_str("two"), &sw));
	assert_true(sw);
	value_is_str(v, "two");
	/* not equal: no swap */
	sw = true;
	expect_ok(c, om_value_cas(v, om_str("TWO"), om_int(3), &sw));
	assert_false(sw);
	sw = true;
	expect_ok(c, om_value_cas(v, om_bytes("two", 3), om_int(3), &sw));
	assert_false(sw);
	sw = true;
	expect_ok(c, om_value_cas(v, om_int(2), om_int(3), &sw));
	assert_false(sw);
	value_is_str(v, "two");
	/* swapped may be NULL */
	expect_ok(c, om_value_cas(v, om_str("two"), om_int(1), NULL));
	value_is_int(v, 1);
	expect_ok(c, om_value_cas(v, om_str("two"), om_int(5), NULL));
	value_is_int(v, 1);
	/* True == 1, None == None, 0.0 == -0.0 == False */
	expect_ok(c, om_value_cas(v, om_bool(true), om_nil(), &sw));
	assert_true(sw);
	expect_ok(c, om_value_cas(v, om_int(0), om_float(0.0), &sw));
	assert_false(sw); /* None != 0 */
	expect_ok(c, om_value_cas(v, om_nil(), om_float(0.0), &sw));
	assert_true(sw);
	expect_ok(c, om_value_cas(v, om_float(-0.0), om_bool(false), &sw));
	assert_true(sw);
	expect_ok(c, om_value_cas(v, om_int(0), om_float(0.25), &sw));
	assert_true(sw);
	expect_ok(c, om_value_get(v, &it));
	assert_float_item(&it, 0.25);
	/* NaN equals nothing, not even NaN */
	expect_ok(c, om_value_set(v, om_float(NAN)));
	expect_ok(c, om_value_cas(v, om_float(NAN), om_int(1), &sw));
	assert_false(sw);
	expect_ok(c, om_value_get(v, &it));
	assert_int_equal(it.kind, OM_FLOAT);
	assert_true(isnan(it.f));
	/* ints beyond 2**53 compare exactly with floats */
	expect_ok(c, om_value_set(v, om_int(9007199254740993LL)));
	expect_ok(c, om_value_cas(v, om_float(9007199254740992.0), om_int(0),
	                          &sw));
	assert_false(sw);
	value_is_int(v, 9007199254740993LL);

	/* invalid items: EINVAL, nothing changes */
	om_item bad = {.kind = (om_kind)-1};
	sw = true;
	expect_rc(c, om_value_cas(v, bad, om_int(0), &sw), OM_EINVAL);
	expect_rc(c, om_value_cas(v, om_int(9007199254740993LL), bad, &sw),
	          OM_EINVAL);
	assert_true(sw); /* not written */
	value_is_int(v, 9007199254740993LL);
	om_release(v);
	om_disconnect(c);
}

static void test_value_ref(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	uint64_t base = objects(c);
	om_value *v;
	om_dict *d;
	om_item it, saved;
	void *h;

	expect_ok(c, om_value_open(c, NULL, 0, om_nil(), &v));
	expect_ok(c, om_dict_open(c, NULL, 0, &d));
	expect_ok(c, om_dict_set(d, om_str("k"), om_int(1)));
	expect_ok(c, om_value_set(v, om_ref(d)));
	assert_int_equal(objects(c), base + 2);
	om_release(d); /* the value keeps the dict alive */
	assert_int_equal(objects(c), base + 2);
	expect_ok(c, om_value_get(v, &saved));
	assert_int_equal(saved.kind, OM_REF);
	assert_int_equal(saved.ref.type, OM_TYPE_DICT);
	expect_ok(c, om_open_ref(c, &saved, &h));
	expect_ok(c, om_dict_get(h, om_str("k"), &it));
	assert_int_item(&it, 1);
	om_release(h);
	assert_int_equal(objects(c), base + 2);

	/* setting it to something else frees the dict */
	expect_ok(c, om_value_set(v, om_int(0)));
	assert_int_equal(objects(c), base + 1);
	expect_rc(c, om_open_ref(c, &saved, &h), OM_ENOENT);
	/* a ref to a dead object is refused and changes nothing */
	expect_rc(c, om_value_set(v, saved), OM_ENOENT);
	bool sw = true;
	expect_rc(c, om_value_cas(v, om_int(0), saved, &sw), OM_ENOENT);
	value_is_int(v, 0);
	om_item_free(&saved);

	/* a ref as the initial item; cas away from it frees the object */
	om_list *l;
	om_value *v2;
	expect_ok(c, om_list_open(c, NULL, 0, &l));
	expect_ok(c, om_value_open(c, NULL, 0, om_ref(l), &v2));
	om_item lref = om_ref(l);
	om_release(l);
	assert_int_equal(objects(c), base + 3);
	expect_ok(c, om_value_cas(v2, lref, om_str("gone"), &sw));
	assert_true(sw);
	assert_int_equal(objects(c), base + 2);

	/* releasing the value frees what it holds */
	expect_ok(c, om_list_open(c, NULL, 0, &l));
	expect_ok(c, om_value_set(v2, om_ref(l)));
	om_release(l);
	assert_int_equal(objects(c), base + 3);
	om_release(v2);
	assert_int_equal(objects(c), base + 1);
	om_release(v);
	assert_int_equal(objects(c), base);
	om_disconnect(c);
}

/* ---------------------------------------------------------------- array */

static void test_array_open(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_array *a, *f, *z;
	om_items got;
	om_item it;
	size_t n;

	/* zero-filled, with items of the array's kind */
	expect_ok(c, om_array_open(c, NULL, 0, OM_INT, 4, &a));
	expect_ok(c, om_array_len(a, &n));
	assert_int_equal(n, 4);
	for (size_t i = 0; i < 4; i++) {
		expect_ok(c, om_array_get(a, i, &it));
		assert_int_item(&it, 0);
	}
	expect_ok(c, om_array_open(c, NULL, 0, OM_FLOAT, 3, &f));
	expect_ok(c, om_array_len(f, &n));
	assert_int_equal(n, 3);
	expect_ok(c, om_array_read(f, 0, 3, &got));
	assert_int_equal(got.n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_float_item(&got.v[i], 0.0);
	om_items_free(&got);

	/* only OM_INT and OM_FLOAT */
	static const om_kind bad[] = {OM_NIL, OM_BOOL, OM_STR, OM_BYTES,
	                              OM_REF, (om_kind)42};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		z = NULL;
		expect_rc(c, om_array_open(c, NULL, 0, bad[i], 4, &z),
		          OM_EINVAL);
		assert_null(z);
	}
	expect_rc(c, om_array_open(c, "array.bad", OM_CREATE, OM_STR, 4, &z),
	          OM_EINVAL);
	expect_rc(c, om_array_open(c, "array.bad", 0, OM_INT, 4, &z),
	          OM_ENOENT); /* the failed create made nothing */
	expect_rc(c, om_array_open(c, NULL, 0, OM_INT, 4, NULL), OM_EINVAL);

	/* length 0 */
	expect_ok(c, om_array_open(c, NULL, 0, OM_FLOAT, 0, &z));
	expect_ok(c, om_array_len(z, &n));
	assert_int_equal(n, 0);
	expect_rc(c, om_array_get(z, 0, &it), OM_EINDEX);
	expect_rc(c, om_array_set(z, 0, om_float(1)), OM_EINDEX);
	expect_rc(c, om_array_add(z, 0, om_float(1), NULL), OM_EINDEX);
	expect_ok(c, om_array_read(z, 0, 0, &got));
	assert_int_equal(got.n, 0);
	om_items_free(&got);
	expect_rc(c, om_array_read(z, 0, 1, &got), OM_EINDEX);
	expect_ok(c, om_array_write(z, 0, NULL, 0));
	om_item one = om_float(1);
	expect_rc(c, om_array_write(z, 0, &one, 1), OM_EINDEX);
	om_release(z);

	/* a named array: kind and length only count on create */
	expect_ok(c, om_array_open(c, "array.named", OM_CREATE, OM_INT, 3, &z));
	expect_ok(c, om_array_set(z, 2, om_int(9)));
	om_array *z2;
	expect_ok(c, om_array_open(c, "array.named", OM_CREATE, OM_FLOAT, 10,
	                           &z2));
	expect_ok(c, om_array_len(z2, &n));
	assert_int_equal(n, 3);
	expect_ok(c, om_array_get(z2, 2, &it));
	assert_int_item(&it, 9);
	expect_ok(c, om_unlink(c, "array.named"));
	om_release(z2);
	om_release(z);

	expect_rc(c, om_array_len(a, NULL), OM_EINVAL);
	expect_rc(c, om_array_len(NULL, &n), OM_EINVAL);
	om_release(a);
	expect_rc(c, om_array_len(a, &n), OM_EINVAL);
	om_release(f);
	om_disconnect(c);
}

static void test_array_int(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_array *a;
	om_item it;

	expect_ok(c, om_array_open(c, NULL, 0, OM_INT, 5, &a));
	expect_ok(c, om_array_set(a, 0, om_int(7)));
	expect_ok(c, om_array_set(a, 4, om_int(-3)));
	expect_ok(c, om_array_set(a, 1, om_bool(true))); /* stored as 1 */
	expect_ok(c, om_array_set(a, 3, om_int(INT64_MAX)));
	array_is_ints(a, (int64_t[]){7, 1, 0, INT64_MAX, -3}, 5);
	expect_ok(c, om_array_get(a, 1, &it));
	assert_int_item(&it, 1);

	/* index == length and beyond: EINDEX */
	it = om_int(55);
	expect_rc(c, om_array_get(a, 5, &it), OM_EINDEX);
	expect_rc(c, om_array_get(a, SIZE_MAX, &it), OM_EINDEX);
	assert_int_item(&it, 55); /* not written */
	expect_rc(c, om_array_set(a, 5, om_int(1)), OM_EINDEX);
	expect_rc(c, om_array_set(a, SIZE_MAX, om_int(1)), OM_EINDEX);
	expect_rc(c, om_array_add(a, 5, om_int(1), &it), OM_EINDEX);
	expect_rc(c, om_array_add(a, SIZE_MAX, om_int(1), NULL), OM_EINDEX);

	/* a float (even a whole one) or a non-number: ETYPE, unchanged */
	expect_rc(c, om_array_set(a, 2, om_float(2.5)), OM_ETYPE);
	expect_rc(c, om_array_set(a, 2, om_float(2.0)), OM_ETYPE);
	expect_rc(c, om_array_set(a, 2, om_str("2")), OM_ETYPE);
	expect_rc(c, om_array_set(a, 2, om_bytes("2", 1)), OM_ETYPE);
	expect_rc(c, om_array_set(a, 2, om_nil()), OM_ETYPE);
	array_is_ints(a, (int64_t[]){7, 1, 0, INT64_MAX, -3}, 5);

	/* add: int deltas stay int; a float delta is ETYPE */
	expect_ok(c, om_array_add(a, 0, om_int(3), &it));
	assert_int_item(&it, 10);
	expect_ok(c, om_array_add(a, 0, om_int(-20), &it));
	assert_int_item(&it, -10);
	expect_ok(c, om_array_add(a, 0, om_bool(true), &it));
	assert_int_item(&it, -9);
	expect_ok(c, om_array_add(a, 2, om_int(4), NULL)); /* out optional */
	it = om_int(55);
	expect_rc(c, om_array_add(a, 0, om_float(1.5), &it), OM_ETYPE);
	expect_rc(c, om_array_add(a, 0, om_float(1.0), &it), OM_ETYPE);
	expect_rc(c, om_array_add(a, 0, om_str("1"), &it), OM_ETYPE);
	expect_rc(c, om_array_add(a, 0, om_nil(), &it), OM_ETYPE);
	assert_int_item(&it, 55);
	/* overflow: EVALUE, unchanged */
	expect_rc(c, om_array_add(a, 3, om_int(1), &it), OM_EVALUE);
	expect_ok(c, om_array_set(a, 4, om_int(INT64_MIN)));
	expect_rc(c, om_array_add(a, 4, om_int(-1), &it), OM_EVALUE);
	array_is_ints(a, (int64_t[]){-9, 1, 4, INT64_MAX, INT64_MIN}, 5);

	/* bad arguments */
	om_item bad = {.kind = OM_STR};
	bad.s.len = 1;
	expect_rc(c, om_array_get(a, 0, NULL), OM_EINVAL);
	expect_rc(c, om_array_set(a, 0, bad), OM_EINVAL);
	expect_rc(c, om_array_add(a, 0, bad, NULL), OM_EINVAL);
	array_is_ints(a, (int64_t[]){-9, 1, 4, INT64_MAX, INT64_MIN}, 5);
	om_release(a);
	om_disconnect(c);
}

static void test_array_float(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_array *a;
	om_item it;

	expect_ok(c, om_array_open(c, NULL, 0, OM_FLOAT, 3, &a));
	/* an int (or bool) written into a float array is converted */
	expect_ok(c, om_array_set(a, 0, om_int(2)));
	expect_ok(c, om_array_get(a, 0, &it));
	assert_float_item(&it, 2.0);
	expect_ok(c, om_array_set(a, 1, om_float(-1.5)));
	expect_ok(c, om_array_set(a, 2, om_bool(true)));
	expect_ok(c, om_array_get(a, 2, &it));
	assert_float_item(&it, 1.0);
	expect_ok(c, om_array_set(a, 2, om_float(-0.0)));
	expect_ok(c, om_array_get(a, 2, &it));
	assert_float_item(&it, -0.0);
	/* non-numbers: ETYPE, unchanged */
	expect_rc(c, om_array_set(a, 1, om_str("1.0")), OM_ETYPE);
	expect_rc(c, om_array_set(a, 1, om_nil()), OM_ETYPE);
	expect_ok(c, om_array_get(a, 1, &it));
	assert_float_item(&it, -1.5);
	expect_rc(c, om_array_get(a, 3, &it), OM_EINDEX);
	expect_rc(c, om_array_set(a, 3, om_float(1)), OM_EINDEX);

	/* add: any number, the result is a float */
	expect_ok(c, om_array_add(a, 0, om_int(1), &it));
	assert_float_item(&it, 3.0);
	expect_ok(c, om_array_add(a, 0, om_float(0.25), &it));
	assert_float_item(&it, 3.25);
	expect_ok(c, om_array_add(a, 1, om_bool(true), &it));
	assert_float_item(&it, -0.5);
	expect_rc(c, om_array_add(a, 1, om_nil(), &it), OM_ETYPE);
	expect_rc(c, om_array_add(a, 1, om_bytes("x", 1), &it), OM_ETYPE);
	expect_rc(c, om_array_add(a, 3, om_float(1), &it), OM_EINDEX);
	expect_ok(c, om_array_get(a, 1, &it));
	assert_float_item(&it, -0.5);
	om_release(a);
	om_disconnect(c);
}

static void test_array_ranges(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_array *a, *f;
	om_items got;
	size_t n;

	expect_ok(c, om_array_open(c, NULL, 0, OM_INT, 5, &a));
	om_item v[] = {om_int(1), om_int(2), om_int(3), om_int(4), om_int(5)};
	expect_ok(c, om_array_write(a, 0, v, 5));
	array_is_ints(a, (int64_t[]){1, 2, 3, 4, 5}, 5);

	/* read: up to the end is fine, past it is EINDEX */
	expect_ok(c, om_array_read(a, 2, 3, &got)); /* start + n == len */
	assert_int_equal(got.n, 3);
	assert_int_item(&got.v[0], 3);
	assert_int_item(&got.v[2], 5);
	om_items_free(&got);
	expect_ok(c, om_array_read(a, 4, 1, &got));
	assert_int_equal(got.n, 1);
	assert_int_item(&got.v[0], 5);
	om_items_free(&got);
	expect_ok(c, om_array_read(a, 5, 0, &got));
	assert_int_equal(got.n, 0);
	om_items_free(&got);
	got.v = NULL;
	got.n = 12345;
	expect_rc(c, om_array_read(a, 3, 3, &got), OM_EINDEX);
	expect_rc(c, om_array_read(a, 0, 6, &got), OM_EINDEX);
	expect_rc(c, om_array_read(a, 5, 1, &got), OM_EINDEX);
	expect_rc(c, om_array_read(a, 1, SIZE_MAX, &got), OM_EINDEX);
	expect_rc(c, om_array_read(a, SIZE_MAX, 1, &got), OM_EINDEX);
	assert_int_equal(got.n, 12345); /* not written */
	expect_rc(c, om_array_read(a, 0, 1, NULL), OM_EINVAL);

	/* write is all or nothing: a wrong kind last, or past the end */
	om_item w1[] = {om_int(10), om_int(11), om_float(12.5)};
	expect_rc(c, om_array_write(a, 1, w1, 3), OM_ETYPE);
	array_is_ints(a, (int64_t[]){1, 2, 3, 4, 5}, 5);
	om_item w2[] = {om_int(7), om_int(8), om_int(9)};
	expect_rc(c, om_array_write(a, 3, w2, 3), OM_EINDEX);
	expect_rc(c, om_array_write(a, 5, w2, 1), OM_EINDEX);
	expect_rc(c, om_array_write(a, SIZE_MAX, w2, 1), OM_EINDEX);
	array_is_ints(a, (int64_t[]){1, 2, 3, 4, 5}, 5);
	om_item bad = {.kind = OM_BYTES};
	bad.s.len = 3;
	om_item w3[] = {om_int(7), bad};
	expect_rc(c, om_array_write(a, 0, w3, 2), OM_EINVAL);
	expect_rc(c, om_array_write(a, 0, NULL, 2), OM_EINVAL);
	array_is_ints(a, (int64_t[]){1, 2, 3, 4, 5}, 5);
	/* in range, ending at the end */
	expect_ok(c, om_array_write(a, 2, w2, 3));
	array_is_ints(a, (int64_t[]){1, 2, 7, 8, 9}, 5);
	om_item w4[] = {om_bool(true), om_int(-6)};
	expect_ok(c, om_array_write(a, 0, w4, 2));
	array_is_ints(a, (int64_t[]){1, -6, 7, 8, 9}, 5);
	expect_ok(c, om_array_write(a, 5, NULL, 0)); /* nothing, at the end */
	expect_ok(c, om_array_len(a, &n));
	assert_int_equal(n, 5);

	/* a float array takes any number, converted */
	expect_ok(c, om_array_open(c, NULL, 0, OM_FLOAT, 4, &f));
	om_item w5[] = {om_int(1), om_float(2.5), om_bool(false),
	                om_float(-0.0)};
	expect_ok(c, om_array_write(f, 0, w5, 4));
	om_item w6[] = {om_float(9), om_float(9), om_str("9")};
	expect_rc(c, om_array_write(f, 1, w6, 3), OM_ETYPE);
	expect_ok(c, om_array_read(f, 0, 4, &got));
	assert_int_equal(got.n, 4);
	assert_float_item(&got.v[0], 1.0);
	assert_float_item(&got.v[1], 2.5);
	assert_float_item(&got.v[2], 0.0);
	assert_float_item(&got.v[3], -0.0);
	om_items_free(&got);
	om_release(f);
	om_release(a);
	om_disconnect(c);
}

/* ------------------------------------------------------ multi-process */

#define CHILDREN 4
#define ADDS 2000
#define LEN 7

struct shared {
	om_array *a;
	om_array *f;
	om_value *v;
};

/* Child: ADDS atomic increments on the array, the float array and the
 * value, through the handles inherited from the parent. The value's
 * result must grow at every step (others only add to it). */
static int adder(void *arg)
{
	struct shared *s = arg;
	int64_t last = -1;
	om_item it;

	for (int i = 0; i < ADDS; i++) {
		if (om_array_add(s->a, (size_t)(i % LEN), om_int(1), NULL))
			return 1;
		if (om_array_add(s->f, (size_t)(i % 3), om_float(0.5), NULL))
			return 2;
		if (om_value_add(s->v, om_int(1), &it))
			return 3;
		if (it.kind != OM_INT || it.i <= last)
			return 4;
		last = it.i;
	}
	return 0;
}

static void test_multiproc_adds(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	struct shared s;
	pid_t pids[CHILDREN];
	om_items got;
	om_item it;

	expect_ok(c, om_array_open(c, NULL, 0, OM_INT, LEN, &s.a));
	expect_ok(c, om_array_open(c, NULL, 0, OM_FLOAT, 3, &s.f));
	expect_ok(c, om_value_open(c, NULL, 0, om_int(0), &s.v));
	for (int k = 0; k < CHILDREN; k++)
		pids[k] = spawn_child(adder, &s);
	reap_all(pids, CHILDREN);

	expect_ok(c, om_array_read(s.a, 0, LEN, &got));
	assert_int_equal(got.n, LEN);
	for (int k = 0; k < LEN; k++) {
		int64_t per_child = ADDS / LEN + (k < ADDS % LEN);

		assert_int_item(&got.v[k], CHILDREN * per_child);
	}
	om_items_free(&got);
	expect_ok(c, om_array_read(s.f, 0, 3, &got));
	assert_int_equal(got.n, 3);
	for (int k = 0; k < 3; k++) {
		double per_child = 0.5 * (ADDS / 3 + (k < ADDS % 3));

		assert_float_item(&got.v[k], CHILDREN * per_child);
	}
	om_items_free(&got);
	expect_ok(c, om_value_get(s.v, &it));
	assert_int_item(&it, CHILDREN * ADDS);
	om_release(s.a);
	om_release(s.f);
	om_release(s.v);
	om_disconnect(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_kinds),
		cmocka_unit_test(test_value_add),
		cmocka_unit_test(test_value_cas),
		cmocka_unit_test(test_value_ref),
		cmocka_unit_test(test_array_open),
		cmocka_unit_test(test_array_int),
		cmocka_unit_test(test_array_float),
		cmocka_unit_test(test_array_ranges),
		cmocka_unit_test(test_multiproc_adds),
	};
	return RUN(tests, 60, srv_setup, srv_teardown);
}
