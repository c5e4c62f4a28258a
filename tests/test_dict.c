/*
 * test_dict.c — the dict type against a real objmgrd: every om_dict_*
 * call (set, get, del, pop, popitem, setdefault, contains, len, keys,
 * values, items, update, clear, incr) and every error each can return
 * (ENOKEY, ETYPE, EVALUE, EINVAL for NULL outputs, bad items and released
 * handles), Python's semantics (insertion order, 1 == 1.0 == true as keys,
 * 0.0 == -0.0, str != bytes, NaN keys, nil and bool keys, embedded NULs,
 * big values, incr's int/float rules), a 10,000-key round trip, and that
 * the server's byte count returns to its baseline once a dict is gone.
 */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- helpers */

static size_t dict_len(om_client *c, om_dict *d)
{
	size_t n = 12345;
	expect_ok(c, om_dict_len(d, &n));
	return n;
}

static bool has(om_client *c, om_dict *d, om_item key)
{
	bool b = false;
	expect_ok(c, om_dict_contains(d, key, &b));
	return b;
}

/* d[key] must be the int v. */
static void expect_get_int(om_client *c, om_dict *d, om_item key, int64_t v)
{
	om_item out;
	expect_ok(c, om_dict_get(d, key, &out));
	assert_int_item(&out, v);
	om_item_free(&out);
}

/* d[key] must be the str s. */
static void expect_get_str(om_client *c, om_dict *d, om_item key,
                           const char *s)
{
	om_item out;
	expect_ok(c, om_dict_get(d, key, &out));
	assert_str_item(&out, s);
	om_item_free(&out);
}

/* keys() must be exactly the str keys in `want`, in that order. */
static void expect_str_keys(om_client *c, om_dict *d, const char *const *want,
                            size_t n)
{
	om_items k;
	expect_ok(c, om_dict_keys(d, &k));
	assert_int_equal(k.n, n);
	for (size_t i = 0; i < n; i++)
		assert_str_item(&k.v[i], want[i]);
	om_items_free(&k);
}

/* An item whose kind is not an om_kind. */
static om_item bad_kind(void)
{
	om_item it;
	memset(&it, 0, sizeof it);
	it.kind = (om_kind)99;
	return it;
}

/* A str item that claims 5 bytes at NULL. */
static om_item bad_str(void)
{
	om_item it;
	memset(&it, 0, sizeof it);
	it.kind = OM_STR;
	it.s.ptr = NULL;
	it.s.len = 5;
	return it;
}

/* --------------------------------------------------------------- tests */

static void test_set_get_del(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);

	assert_int_equal(dict_len(c, d), 0);
	expect_ok(c, om_dict_set(d, om_str("a"), om_int(1)));
	expect_ok(c, om_dict_set(d, om_str("b"), om_str("two")));
	expect_ok(c, om_dict_set(d, om_int(3), om_float(3.5)));
	expect_ok(c, om_dict_set(d, om_str("n"), om_nil()));
	assert_int_equal(dict_len(c, d), 4);

	expect_get_int(c, d, om_str("a"), 1);
	expect_get_str(c, d, om_str("b"), "two");
	om_item out;
	expect_ok(c, om_dict_get(d, om_int(3), &out));
	assert_float_item(&out, 3.5);
	om_item_free(&out);
	expect_ok(c, om_dict_get(d, om_str("n"), &out));
	assert_int_equal(out.kind, OM_NIL);
	om_item_free(&out);
	assert_true(has(c, d, om_str("a")));
	assert_false(has(c, d, om_str("zz")));

	/* overwrite */
	expect_ok(c, om_dict_set(d, om_str("a"), om_int(10)));
	expect_get_int(c, d, om_str("a"), 10);
	assert_int_equal(dict_len(c, d), 4);

	/* ENOKEY; the output is written only on success */
	out = om_int(777);
	expect_rc(c, om_dict_get(d, om_str("missing"), &out), OM_ENOKEY);
	assert_int_item(&out, 777);
	expect_rc(c, om_dict_del(d, om_str("missing")), OM_ENOKEY);
	assert_int_equal(dict_len(c, d), 4);

	/* del */
	expect_ok(c, om_dict_del(d, om_str("a")));
	assert_false(has(c, d, om_str("a")));
	expect_rc(c, om_dict_get(d, om_str("a"), &out), OM_ENOKEY);
	expect_rc(c, om_dict_del(d, om_str("a")), OM_ENOKEY);
	assert_int_equal(dict_len(c, d), 3);

	/* NULL outputs */
	expect_rc(c, om_dict_get(d, om_str("b"), NULL), OM_EINVAL);
	expect_rc(c, om_dict_contains(d, om_str("b"), NULL), OM_EINVAL);
	expect_rc(c, om_dict_len(d, NULL), OM_EINVAL);
	assert_int_equal(dict_len(c, d), 3);

	om_release(d);
	om_disconnect(c);
}

static void test_named_shared(void **state)
{
	(void)state;
	om_client *c1 = client(&srv), *c2 = client(&srv);
	om_dict *d1, *d2;
	expect_ok(c1, om_dict_open(c1, "dict.shared", OM_CREATE, &d1));
	expect_ok(c2, om_dict_open(c2, "dict.shared", 0, &d2));
	expect_ok(c1, om_dict_set(d1, om_str("k"), om_str("v")));
	expect_get_str(c2, d2, om_str("k"), "v");
	expect_ok(c2, om_dict_incr(d2, om_str("n"), om_int(2), NULL));
	expect_get_int(c1, d1, om_str("n"), 2);
	assert_int_equal(dict_len(c1, d1), 2);
	expect_ok(c1, om_unlink(c1, "dict.shared"));
	om_release(d1);
	om_release(d2);
	om_disconnect(c1);
	om_disconnect(c2);
}

static void test_pop(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	expect_ok(c, om_dict_set(d, om_str("x"), om_str("ex")));
	expect_ok(c, om_dict_set(d, om_int(1), om_int(100)));

	om_item out;
	expect_ok(c, om_dict_pop(d, om_str("x"), &out));
	assert_str_item(&out, "ex");
	om_item_free(&out);
	assert_false(has(c, d, om_str("x")));
	assert_int_equal(dict_len(c, d), 1);

	out = om_int(777);
	expect_rc(c, om_dict_pop(d, om_str("x"), &out), OM_ENOKEY);
	assert_int_item(&out, 777);
	expect_rc(c, om_dict_pop(d, om_str("x"), NULL), OM_EINVAL);
	/* a NULL output is refused before anything is removed */
	expect_rc(c, om_dict_pop(d, om_int(1), NULL), OM_EINVAL);
	assert_true(has(c, d, om_int(1)));

	/* pop by an equal key of another kind */
	expect_ok(c, om_dict_pop(d, om_float(1.0), &out));
	assert_int_item(&out, 100);
	om_item_free(&out);
	assert_int_equal(dict_len(c, d), 0);

	om_release(d);
	om_disconnect(c);
}

static void test_popitem(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	om_item k = om_int(777), v = om_int(778);

	expect_rc(c, om_dict_popitem(d, &k, &v), OM_ENOKEY);
	assert_int_item(&k, 777);
	assert_int_item(&v, 778);

	expect_ok(c, om_dict_set(d, om_str("a"), om_int(1)));
	expect_ok(c, om_dict_set(d, om_str("b"), om_int(2)));
	expect_ok(c, om_dict_set(d, om_str("c"), om_int(3)));
	/* updating "a" keeps its place: "c" is still the last inserted */
	expect_ok(c, om_dict_set(d, om_str("a"), om_int(11)));

	expect_rc(c, om_dict_popitem(d, NULL, &v), OM_EINVAL);
	expect_rc(c, om_dict_popitem(d, &k, NULL), OM_EINVAL);
	assert_int_equal(dict_len(c, d), 3);

	expect_ok(c, om_dict_popitem(d, &k, &v));
	assert_str_item(&k, "c");
	assert_int_item(&v, 3);
	om_item_free(&k);
	om_item_free(&v);

	/* delete then re-insert moves "a" to the end */
	expect_ok(c, om_dict_del(d, om_str("a")));
	expect_ok(c, om_dict_set(d, om_str("a"), om_int(12)));
	expect_ok(c, om_dict_popitem(d, &k, &v));
	assert_str_item(&k, "a");
	assert_int_item(&v, 12);
	om_item_free(&k);
	om_item_free(&v);

	expect_ok(c, om_dict_popitem(d, &k, &v));
	assert_str_item(&k, "b");
	assert_int_item(&v, 2);
	om_item_free(&k);
	om_item_free(&v);

	k = om_int(777);
	expect_rc(c, om_dict_popitem(d, &k, &v), OM_ENOKEY);
	assert_int_item(&k, 777);
	assert_int_equal(dict_len(c, d), 0);

	om_release(d);
	om_disconnect(c);
}

static void test_order(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);

	expect_ok(c, om_dict_set(d, om_str("c"), om_int(1)));
	expect_ok(c, om_dict_set(d, om_str("a"), om_int(2)));
	expect_ok(c, om_dict_set(d, om_str("b"), om_int(3)));
	const char *o1[] = {"c", "a", "b"};
	expect_str_keys(c, d, o1, 3);

	/* updating a key keeps its place */
	expect_ok(c, om_dict_set(d, om_str("c"), om_int(9)));
	expect_str_keys(c, d, o1, 3);
	expect_get_int(c, d, om_str("c"), 9);

	/* delete then re-insert moves it to the end */
	expect_ok(c, om_dict_del(d, om_str("c")));
	expect_ok(c, om_dict_set(d, om_str("c"), om_int(4)));
	const char *o2[] = {"a", "b", "c"};
	expect_str_keys(c, d, o2, 3);

	/* pop then re-insert, too */
	om_item out;
	expect_ok(c, om_dict_pop(d, om_str("a"), &out));
	om_item_free(&out);
	expect_ok(c, om_dict_set(d, om_str("a"), om_int(5)));
	const char *o3[] = {"b", "c", "a"};
	expect_str_keys(c, d, o3, 3);

	om_items vals;
	expect_ok(c, om_dict_values(d, &vals));
	assert_int_equal(vals.n, 3);
	assert_int_item(&vals.v[0], 3);
	assert_int_item(&vals.v[1], 4);
	assert_int_item(&vals.v[2], 5);
	om_items_free(&vals);
	assert_null(vals.v);
	assert_int_equal(vals.n, 0);

	om_release(d);
	om_disconnect(c);
}

static void test_numeric_keys(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);

	/* 1, 1.0 and true are one key */
	expect_ok(c, om_dict_set(d, om_int(1), om_str("a")));
	expect_get_str(c, d, om_float(1.0), "a");
	expect_get_str(c, d, om_bool(true), "a");
	assert_true(has(c, d, om_float(1.0)));
	assert_true(has(c, d, om_bool(true)));
	assert_false(has(c, d, om_float(1.5)));
	assert_false(has(c, d, om_bool(false)));

	/* setting with 1.0 keeps the original key 1 (an int) */
	expect_ok(c, om_dict_set(d, om_float(1.0), om_str("b")));
	expect_ok(c, om_dict_set(d, om_bool(true), om_str("c")));
	assert_int_equal(dict_len(c, d), 1);
	om_items k;
	expect_ok(c, om_dict_keys(d, &k));
	assert_int_equal(k.n, 1);
	assert_int_item(&k.v[0], 1);
	om_items_free(&k);
	expect_get_str(c, d, om_int(1), "c");

	/* 0.0 and -0.0 are one key, and equal to 0 and false */
	expect_ok(c, om_dict_set(d, om_float(0.0), om_str("zero")));
	expect_get_str(c, d, om_float(-0.0), "zero");
	expect_get_str(c, d, om_int(0), "zero");
	expect_get_str(c, d, om_bool(false), "zero");
	expect_ok(c, om_dict_set(d, om_float(-0.0), om_str("negzero")));
	assert_int_equal(dict_len(c, d), 2);
	expect_ok(c, om_dict_keys(d, &k));
	assert_int_equal(k.n, 2);
	assert_float_item(&k.v[1], 0.0);
	assert_false(signbit(k.v[1].f)); /* the first key stays */
	om_items_free(&k);
	expect_get_str(c, d, om_float(0.0), "negzero");

	/* del with an equal key of another kind */
	expect_ok(c, om_dict_del(d, om_bool(true)));
	assert_false(has(c, d, om_int(1)));
	assert_int_equal(dict_len(c, d), 1);

	om_release(d);
	om_disconnect(c);
}

/* Python compares int and float exactly, not through a double. */
static void test_big_numeric_keys(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	const int64_t p53 = (int64_t)1 << 53;

	expect_ok(c, om_dict_set(d, om_int(p53), om_str("p53")));
	expect_get_str(c, d, om_float(9007199254740992.0), "p53");
	/* 2**53 + 1 rounds to 2**53 as a double but is another number */
	om_item out;
	expect_rc(c, om_dict_get(d, om_int(p53 + 1), &out), OM_ENOKEY);
	expect_ok(c, om_dict_set(d, om_int(p53 + 1), om_str("p53+1")));
	assert_int_equal(dict_len(c, d), 2);
	expect_get_str(c, d, om_int(p53), "p53");
	expect_get_str(c, d, om_int(p53 + 1), "p53+1");

	/* INT64_MAX != 2.0**63, INT64_MIN == -2.0**63 */
	expect_ok(c, om_dict_set(d, om_int(INT64_MAX), om_str("max")));
	expect_rc(c, om_dict_get(d, om_float(9223372036854775808.0), &out),
	          OM_ENOKEY);
	expect_ok(c, om_dict_set(d, om_int(INT64_MIN), om_str("min")));
	expect_get_str(c, d, om_float(-9223372036854775808.0), "min");
	expect_get_str(c, d, om_int(INT64_MAX), "max");
	assert_int_equal(dict_len(c, d), 4);

	om_release(d);
	om_disconnect(c);
}

static void test_kinds_as_keys(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);

	/* str "a" and bytes "a" are different keys */
	expect_ok(c, om_dict_set(d, om_str("a"), om_int(1)));
	assert_false(has(c, d, om_bytes("a", 1)));
	om_item out;
	expect_rc(c, om_dict_get(d, om_bytes("a", 1), &out), OM_ENOKEY);
	expect_ok(c, om_dict_set(d, om_bytes("a", 1), om_int(2)));
	assert_int_equal(dict_len(c, d), 2);
	expect_get_int(c, d, om_str("a"), 1);
	expect_get_int(c, d, om_bytes("a", 1), 2);

	/* nil, true and false are valid, distinct keys */
	expect_ok(c, om_dict_set(d, om_nil(), om_int(3)));
	expect_ok(c, om_dict_set(d, om_bool(true), om_int(4)));
	expect_ok(c, om_dict_set(d, om_bool(false), om_int(5)));
	assert_int_equal(dict_len(c, d), 5);
	expect_get_int(c, d, om_nil(), 3);
	expect_get_int(c, d, om_bool(true), 4);
	expect_get_int(c, d, om_bool(false), 5);
	/* true is 1: setting 1 overwrites, and the key stays a bool */
	expect_ok(c, om_dict_set(d, om_int(1), om_int(6)));
	assert_int_equal(dict_len(c, d), 5);

	om_items k;
	expect_ok(c, om_dict_keys(d, &k));
	assert_int_equal(k.n, 5);
	assert_str_item(&k.v[0], "a");
	assert_int_equal(k.v[1].kind, OM_BYTES);
	assert_int_equal(k.v[1].s.len, 1);
	assert_memory_equal(k.v[1].s.ptr, "a", 1);
	assert_int_equal(k.v[2].kind, OM_NIL);
	assert_int_equal(k.v[3].kind, OM_BOOL);
	assert_true(k.v[3].b);
	assert_int_equal(k.v[4].kind, OM_BOOL);
	assert_false(k.v[4].b);
	om_items_free(&k);
	expect_get_int(c, d, om_bool(true), 6);

	/* nil is not 0 or false, and str "1" is not 1 */
	expect_ok(c, om_dict_del(d, om_bool(false)));
	assert_true(has(c, d, om_nil()));
	assert_false(has(c, d, om_int(0)));
	assert_false(has(c, d, om_str("1")));
	expect_ok(c, om_dict_del(d, om_nil()));
	assert_false(has(c, d, om_nil()));
	assert_int_equal(dict_len(c, d), 3);

	om_release(d);
	om_disconnect(c);
}

static void test_nan_key(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);

	expect_ok(c, om_dict_set(d, om_float(NAN), om_int(1)));
	assert_int_equal(dict_len(c, d), 1);
	om_item out = om_int(777);
	expect_rc(c, om_dict_get(d, om_float(NAN), &out), OM_ENOKEY);
	assert_int_item(&out, 777);
	assert_false(has(c, d, om_float(NAN)));
	expect_rc(c, om_dict_del(d, om_float(NAN)), OM_ENOKEY);
	expect_ok(c, om_dict_set(d, om_float(NAN), om_int(2)));
	assert_int_equal(dict_len(c, d), 2);
	expect_ok(c, om_dict_set(d, om_float(NAN), om_int(3)));
	assert_int_equal(dict_len(c, d), 3);

	/* the NaN keys are all there, in order */
	om_items k, v;
	expect_ok(c, om_dict_items(d, &k, &v));
	assert_int_equal(k.n, 3);
	assert_int_equal(v.n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(k.v[i].kind, OM_FLOAT);
		assert_true(isnan(k.v[i].f));
		assert_int_item(&v.v[i], (int64_t)i + 1);
	}
	om_items_free(&k);
	om_items_free(&v);

	/* a NaN value is fine */
	expect_ok(c, om_dict_set(d, om_str("v"), om_float(NAN)));
	expect_ok(c, om_dict_get(d, om_str("v"), &out));
	assert_int_equal(out.kind, OM_FLOAT);
	assert_true(isnan(out.f));
	om_item_free(&out);

	/* popitem takes the last NaN key out */
	expect_ok(c, om_dict_del(d, om_str("v")));
	om_item pk, pv;
	expect_ok(c, om_dict_popitem(d, &pk, &pv));
	assert_true(pk.kind == OM_FLOAT && isnan(pk.f));
	assert_int_item(&pv, 3);
	om_item_free(&pk);
	om_item_free(&pv);
	assert_int_equal(dict_len(c, d), 2);

	om_release(d);
	om_disconnect(c);
}

static void test_strings(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	static const char k1[] = {'a', '\0', 'b'};
	static const char k2[] = {'a', '\0', 'c'};
	static const char v1[] = {'\0', 'x', '\0', 'y', '\0'};

	/* embedded NULs in keys and values */
	expect_ok(c, om_dict_set(d, om_strn(k1, 3), om_strn(v1, 5)));
	expect_ok(c, om_dict_set(d, om_strn(k2, 3), om_int(2)));
	expect_ok(c, om_dict_set(d, om_str("a"), om_int(3)));
	assert_int_equal(dict_len(c, d), 3);
	om_item out;
	expect_ok(c, om_dict_get(d, om_strn(k1, 3), &out));
	assert_strn_item(&out, v1, 5);
	om_item_free(&out);
	assert_int_equal(out.kind, OM_NIL);
	expect_get_int(c, d, om_strn(k2, 3), 2);
	expect_get_int(c, d, om_str("a"), 3);
	expect_get_int(c, d, om_strn("a\0zzz", 1), 3);
	om_items k;
	expect_ok(c, om_dict_keys(d, &k));
	assert_int_equal(k.n, 3);
	assert_strn_item(&k.v[0], k1, 3);
	assert_strn_item(&k.v[1], k2, 3);
	assert_strn_item(&k.v[2], "a", 1);
	om_items_free(&k);

	/* the empty string is a key, unlike empty bytes and nil */
	expect_ok(c, om_dict_set(d, om_str(""), om_str("")));
	expect_get_str(c, d, om_str(""), "");
	expect_get_str(c, d, om_str(NULL), ""); /* NULL: the empty string */
	expect_get_str(c, d, om_strn("", 0), "");
	assert_false(has(c, d, om_bytes("", 0)));
	assert_false(has(c, d, om_nil()));
	expect_ok(c, om_dict_set(d, om_bytes("", 0), om_int(4)));
	assert_int_equal(dict_len(c, d), 5);
	expect_get_str(c, d, om_str(""), "");
	expect_ok(c, om_dict_pop(d, om_str(""), &out));
	assert_str_item(&out, "");
	om_item_free(&out);
	expect_get_int(c, d, om_bytes("", 0), 4);

	/* bytes values with NULs round-trip */
	expect_ok(c, om_dict_set(d, om_str("b"), om_bytes(v1, 5)));
	expect_ok(c, om_dict_get(d, om_str("b"), &out));
	assert_int_equal(out.kind, OM_BYTES);
	assert_int_equal(out.s.len, 5);
	assert_memory_equal(out.s.ptr, v1, 5);
	om_item_free(&out);

	om_release(d);
	om_disconnect(c);
}

static void test_big_values(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	const size_t big = 1 << 20, bigkey = 64 << 10;
	unsigned char *buf = malloc(big);
	assert_non_null(buf);
	for (size_t i = 0; i < big; i++)
		buf[i] = (unsigned char)(i * 131 + (i >> 9));

	expect_ok(c, om_dict_set(d, om_str("big"), om_bytes(buf, big)));
	/* a big key too (a str of printable bytes) */
	char *kb = malloc(bigkey);
	assert_non_null(kb);
	for (size_t i = 0; i < bigkey; i++)
		kb[i] = (char)('a' + i % 26);
	expect_ok(c, om_dict_set(d, om_strn(kb, bigkey), om_int(64)));

	om_item out;
	expect_ok(c, om_dict_get(d, om_str("big"), &out));
	assert_int_equal(out.kind, OM_BYTES);
	assert_int_equal(out.s.len, big);
	assert_memory_equal(out.s.ptr, buf, big);
	om_item_free(&out);
	expect_get_int(c, d, om_strn(kb, bigkey), 64);
	/* one byte shorter is another key */
	assert_false(has(c, d, om_strn(kb, bigkey - 1)));

	om_items k, v;
	expect_ok(c, om_dict_items(d, &k, &v));
	assert_int_equal(k.n, 2);
	assert_strn_item(&k.v[1], kb, bigkey);
	assert_int_equal(v.v[0].s.len, big);
	assert_memory_equal(v.v[0].s.ptr, buf, big);
	om_items_free(&k);
	om_items_free(&v);

	expect_ok(c, om_dict_pop(d, om_str("big"), &out));
	assert_int_equal(out.s.len, big);
	assert_memory_equal(out.s.ptr, buf, big);
	om_item_free(&out);
	assert_int_equal(dict_len(c, d), 1);

	free(buf);
	free(kb);
	om_release(d);
	om_disconnect(c);
}

static void test_setdefault(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	om_item out;

	/* missing: inserts and returns the default */
	expect_ok(c, om_dict_setdefault(d, om_str("k"), om_int(1), &out));
	assert_int_item(&out, 1);
	om_item_free(&out);
	expect_get_int(c, d, om_str("k"), 1);

	/* present: returns the existing value, does not overwrite */
	expect_ok(c, om_dict_setdefault(d, om_str("k"), om_int(2), &out));
	assert_int_item(&out, 1);
	om_item_free(&out);
	expect_get_int(c, d, om_str("k"), 1);
	assert_int_equal(dict_len(c, d), 1);

	/* out may be NULL */
	expect_ok(c, om_dict_setdefault(d, om_str("j"), om_str("jv"), NULL));
	expect_get_str(c, d, om_str("j"), "jv");
	expect_ok(c, om_dict_setdefault(d, om_str("j"), om_str("no"), NULL));
	expect_get_str(c, d, om_str("j"), "jv");

	/* by an equal key of another kind; a nil value is a value */
	expect_ok(c, om_dict_set(d, om_int(5), om_nil()));
	expect_ok(c, om_dict_setdefault(d, om_float(5.0), om_int(9), &out));
	assert_int_equal(out.kind, OM_NIL);
	om_item_free(&out);

	/* it keeps the order: an existing key stays, a new one goes last */
	expect_ok(c, om_dict_setdefault(d, om_str("k"), om_int(3), NULL));
	expect_ok(c, om_dict_setdefault(d, om_str("z"), om_int(3), NULL));
	om_items k;
	expect_ok(c, om_dict_keys(d, &k));
	assert_int_equal(k.n, 4);
	assert_str_item(&k.v[0], "k");
	assert_str_item(&k.v[1], "j");
	assert_int_item(&k.v[2], 5);
	assert_str_item(&k.v[3], "z");
	om_items_free(&k);

	om_release(d);
	om_disconnect(c);
}

static void test_items_keys_values(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	om_items k, v;

	/* empty */
	expect_ok(c, om_dict_keys(d, &k));
	assert_int_equal(k.n, 0);
	om_items_free(&k);
	expect_ok(c, om_dict_values(d, &v));
	assert_int_equal(v.n, 0);
	om_items_free(&v);
	expect_ok(c, om_dict_items(d, &k, &v));
	assert_int_equal(k.n, 0);
	assert_int_equal(v.n, 0);
	om_items_free(&k);
	om_items_free(&v);

	for (int i = 0; i < 20; i++) {
		char key[16];
		snprintf(key, sizeof key, "key%d", i);
		expect_ok(c, om_dict_set(d, om_str(key), om_int(i * i)));
	}
	for (int i = 0; i < 20; i += 3) {
		char key[16];
		snprintf(key, sizeof key, "key%d", i);
		expect_ok(c, om_dict_del(d, om_str(key)));
	}
	expect_ok(c, om_dict_items(d, &k, &v));
	assert_int_equal(k.n, 13);
	assert_int_equal(v.n, 13);
	size_t j = 0;
	for (int i = 0; i < 20; i++) {
		if (i % 3 == 0)
			continue;
		char key[16];
		snprintf(key, sizeof key, "key%d", i);
		assert_str_item(&k.v[j], key);
		assert_int_item(&v.v[j], i * i);
		j++;
	}
	om_items_free(&k);
	om_items_free(&v);

	/* keys() and values() agree with items() */
	om_items k2, v2;
	expect_ok(c, om_dict_items(d, &k, &v));
	expect_ok(c, om_dict_keys(d, &k2));
	expect_ok(c, om_dict_values(d, &v2));
	assert_int_equal(k2.n, k.n);
	assert_int_equal(v2.n, v.n);
	for (size_t i = 0; i < k.n; i++) {
		assert_true(om_item_eq(&k.v[i], &k2.v[i]));
		assert_true(om_item_eq(&v.v[i], &v2.v[i]));
	}
	om_items_free(&k);
	om_items_free(&v);
	om_items_free(&k2);
	om_items_free(&v2);

	/* NULL outputs */
	expect_rc(c, om_dict_keys(d, NULL), OM_EINVAL);
	expect_rc(c, om_dict_values(d, NULL), OM_EINVAL);
	expect_rc(c, om_dict_items(d, NULL, &v), OM_EINVAL);
	expect_rc(c, om_dict_items(d, &k, NULL), OM_EINVAL);
	expect_rc(c, om_dict_items(d, NULL, NULL), OM_EINVAL);

	om_release(d);
	om_disconnect(c);
}

static void test_update(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);

	expect_ok(c, om_dict_set(d, om_str("a"), om_int(1)));
	expect_ok(c, om_dict_set(d, om_str("b"), om_int(2)));

	/* an empty update changes nothing */
	expect_ok(c, om_dict_update(d, NULL, NULL, 0));
	om_item one = om_int(0);
	expect_ok(c, om_dict_update(d, &one, &one, 0));
	assert_int_equal(dict_len(c, d), 2);

	/* NULL arrays with n > 0 */
	om_item ks[4] = {om_str("x"), om_str("y")};
	om_item vs[4] = {om_int(8), om_int(9)};
	expect_rc(c, om_dict_update(d, NULL, vs, 2), OM_EINVAL);
	expect_rc(c, om_dict_update(d, ks, NULL, 2), OM_EINVAL);
	expect_rc(c, om_dict_update(d, NULL, NULL, 1), OM_EINVAL);
	assert_int_equal(dict_len(c, d), 2);

	/* overwrites in place, appends new keys in order */
	ks[0] = om_str("c");
	vs[0] = om_int(3);
	ks[1] = om_str("a");
	vs[1] = om_int(10);
	ks[2] = om_str("d");
	vs[2] = om_int(4);
	ks[3] = om_str("b");
	vs[3] = om_int(20);
	expect_ok(c, om_dict_update(d, ks, vs, 4));
	const char *o[] = {"a", "b", "c", "d"};
	expect_str_keys(c, d, o, 4);
	om_items v;
	expect_ok(c, om_dict_values(d, &v));
	assert_int_equal(v.n, 4);
	assert_int_item(&v.v[0], 10);
	assert_int_item(&v.v[1], 20);
	assert_int_item(&v.v[2], 3);
	assert_int_item(&v.v[3], 4);
	om_items_free(&v);

	/* a key repeated in one update: the last value wins, first key stays */
	om_item rk[3] = {om_int(7), om_float(7.0), om_bool(false)};
	om_item rv[3] = {om_str("first"), om_str("second"), om_str("f")};
	expect_ok(c, om_dict_update(d, rk, rv, 3));
	assert_int_equal(dict_len(c, d), 6);
	expect_get_str(c, d, om_int(7), "second");
	om_items k;
	expect_ok(c, om_dict_keys(d, &k));
	assert_int_equal(k.n, 6);
	assert_int_item(&k.v[4], 7);
	assert_int_equal(k.v[5].kind, OM_BOOL);
	om_items_free(&k);

	om_release(d);
	om_disconnect(c);
}

static void test_clear(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);

	expect_ok(c, om_dict_clear(d)); /* empty: fine */
	for (int i = 0; i < 100; i++)
		expect_ok(c, om_dict_set(d, om_int(i), om_int(-i)));
	assert_int_equal(dict_len(c, d), 100);
	expect_ok(c, om_dict_clear(d));
	assert_int_equal(dict_len(c, d), 0);
	assert_false(has(c, d, om_int(5)));
	om_items k;
	expect_ok(c, om_dict_keys(d, &k));
	assert_int_equal(k.n, 0);
	om_items_free(&k);
	om_item a, b;
	expect_rc(c, om_dict_popitem(d, &a, &b), OM_ENOKEY);

	/* usable again, with a fresh order */
	expect_ok(c, om_dict_set(d, om_str("z"), om_int(1)));
	expect_ok(c, om_dict_set(d, om_str("y"), om_int(2)));
	const char *o[] = {"z", "y"};
	expect_str_keys(c, d, o, 2);

	om_release(d);
	om_disconnect(c);
}

static void test_incr(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	om_item out;

	/* a missing key counts from 0: int stays int, float gives float */
	expect_ok(c, om_dict_incr(d, om_str("i"), om_int(5), &out));
	assert_int_item(&out, 5);
	om_item_free(&out);
	expect_ok(c, om_dict_incr(d, om_str("f"), om_float(2.5), &out));
	assert_float_item(&out, 2.5);
	om_item_free(&out);
	expect_ok(c, om_dict_incr(d, om_str("i"), om_int(-7), &out));
	assert_int_item(&out, -2);
	om_item_free(&out);
	expect_get_int(c, d, om_str("i"), -2);

	/* int + float is a float, and is stored as one */
	expect_ok(c, om_dict_incr(d, om_str("i"), om_float(0.5), &out));
	assert_float_item(&out, -1.5);
	om_item_free(&out);
	expect_ok(c, om_dict_get(d, om_str("i"), &out));
	assert_float_item(&out, -1.5);
	om_item_free(&out);
	/* float + int stays a float */
	expect_ok(c, om_dict_incr(d, om_str("f"), om_int(1), &out));
	assert_float_item(&out, 3.5);
	om_item_free(&out);

	/* a bool value counts as an int: true + 1 == 2 */
	expect_ok(c, om_dict_set(d, om_str("b"), om_bool(true)));
	expect_ok(c, om_dict_incr(d, om_str("b"), om_int(1), &out));
	assert_int_item(&out, 2);
	om_item_free(&out);
	expect_get_int(c, d, om_str("b"), 2);
	/* and a bool delta too: 0 + True == 1 */
	expect_ok(c, om_dict_incr(d, om_str("bd"), om_bool(true), &out));
	assert_int_item(&out, 1);
	om_item_free(&out);

	/* out may be NULL */
	expect_ok(c, om_dict_incr(d, om_str("n"), om_int(3), NULL));
	expect_ok(c, om_dict_incr(d, om_str("n"), om_int(4), NULL));
	expect_get_int(c, d, om_str("n"), 7);

	/* the key keeps its place */
	om_items k;
	expect_ok(c, om_dict_keys(d, &k));
	assert_int_equal(k.n, 5);
	assert_str_item(&k.v[0], "i");
	assert_str_item(&k.v[4], "n");
	om_items_free(&k);

	/* by an equal key of another kind */
	expect_ok(c, om_dict_set(d, om_int(1), om_int(100)));
	expect_ok(c, om_dict_incr(d, om_float(1.0), om_int(1), &out));
	assert_int_item(&out, 101);
	om_item_free(&out);
	assert_int_equal(dict_len(c, d), 6);

	om_release(d);
	om_disconnect(c);
}

static void test_incr_errors(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	om_item out = om_int(777);

	/* ETYPE on a str value: the value is unchanged */
	expect_ok(c, om_dict_set(d, om_str("s"), om_str("x")));
	expect_rc(c, om_dict_incr(d, om_str("s"), om_int(1), &out), OM_ETYPE);
	assert_int_item(&out, 777);
	expect_get_str(c, d, om_str("s"), "x");
	expect_rc(c, om_dict_incr(d, om_str("s"), om_float(1.0), NULL),
	          OM_ETYPE);
	expect_get_str(c, d, om_str("s"), "x");

	/* on nil and bytes values */
	expect_ok(c, om_dict_set(d, om_str("nil"), om_nil()));
	expect_rc(c, om_dict_incr(d, om_str("nil"), om_int(1), NULL), OM_ETYPE);
	expect_ok(c, om_dict_get(d, om_str("nil"), &out));
	assert_int_equal(out.kind, OM_NIL);
	om_item_free(&out);
	expect_ok(c, om_dict_set(d, om_str("by"), om_bytes("1", 1)));
	expect_rc(c, om_dict_incr(d, om_str("by"), om_int(1), NULL), OM_ETYPE);

	/* ETYPE for a str or nil delta: the int value is unchanged */
	expect_ok(c, om_dict_set(d, om_str("i"), om_int(5)));
	out = om_int(777);
	expect_rc(c, om_dict_incr(d, om_str("i"), om_str("1"), &out), OM_ETYPE);
	assert_int_item(&out, 777);
	expect_rc(c, om_dict_incr(d, om_str("i"), om_nil(), &out), OM_ETYPE);
	expect_rc(c, om_dict_incr(d, om_str("i"), om_bytes("1", 1), NULL),
	          OM_ETYPE);
	expect_get_int(c, d, om_str("i"), 5);

	/* ... and a missing key is not created */
	expect_rc(c, om_dict_incr(d, om_str("new"), om_str("1"), NULL),
	          OM_ETYPE);
	expect_rc(c, om_dict_incr(d, om_str("new"), om_nil(), NULL), OM_ETYPE);
	assert_false(has(c, d, om_str("new")));
	assert_int_equal(dict_len(c, d), 4);

	/* EVALUE on int overflow: nothing changes */
	expect_ok(c, om_dict_set(d, om_str("max"), om_int(INT64_MAX)));
	out = om_int(777);
	expect_rc(c, om_dict_incr(d, om_str("max"), om_int(1), &out),
	          OM_EVALUE);
	assert_int_item(&out, 777);
	expect_get_int(c, d, om_str("max"), INT64_MAX);
	expect_ok(c, om_dict_set(d, om_str("min"), om_int(INT64_MIN)));
	expect_rc(c, om_dict_incr(d, om_str("min"), om_int(-1), NULL),
	          OM_EVALUE);
	expect_get_int(c, d, om_str("min"), INT64_MIN);
	/* the edges themselves are fine */
	expect_ok(c, om_dict_incr(d, om_str("max"), om_int(0), &out));
	assert_int_item(&out, INT64_MAX);
	om_item_free(&out);
	expect_ok(c, om_dict_incr(d, om_str("edge"), om_int(INT64_MAX - 1),
	                          NULL));
	expect_ok(c, om_dict_incr(d, om_str("edge"), om_int(1), &out));
	assert_int_item(&out, INT64_MAX);
	om_item_free(&out);
	/* a float delta does not overflow: the sum is a float */
	expect_ok(c, om_dict_incr(d, om_str("max"), om_float(1.0), &out));
	assert_float_item(&out, 9223372036854775808.0);
	om_item_free(&out);

	om_release(d);
	om_disconnect(c);
}

/* Items of no valid kind, or a str with no bytes, are EINVAL everywhere. */
static void test_bad_items(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	expect_ok(c, om_dict_set(d, om_str("k"), om_int(1)));
	const om_item bads[] = {bad_kind(), bad_str()};

	for (size_t i = 0; i < 2; i++) {
		om_item bad = bads[i], out = om_int(777);
		bool b = true;
		expect_rc(c, om_dict_set(d, bad, om_int(1)), OM_EINVAL);
		expect_rc(c, om_dict_set(d, om_str("k"), bad), OM_EINVAL);
		expect_rc(c, om_dict_set(d, om_str("new"), bad), OM_EINVAL);
		expect_rc(c, om_dict_get(d, bad, &out), OM_EINVAL);
		expect_rc(c, om_dict_del(d, bad), OM_EINVAL);
		expect_rc(c, om_dict_pop(d, bad, &out), OM_EINVAL);
		expect_rc(c, om_dict_setdefault(d, bad, om_int(1), &out),
		          OM_EINVAL);
		expect_rc(c, om_dict_setdefault(d, om_str("new"), bad, &out),
		          OM_EINVAL);
		expect_rc(c, om_dict_contains(d, bad, &b), OM_EINVAL);
		expect_rc(c, om_dict_incr(d, bad, om_int(1), &out), OM_EINVAL);
		expect_rc(c, om_dict_incr(d, om_str("k"), bad, &out),
		          OM_EINVAL);
		assert_int_item(&out, 777);
		assert_true(b);

		/* update is atomic: a bad pair anywhere changes nothing */
		om_item ks[2] = {om_str("u"), bad};
		om_item vs[2] = {om_int(1), om_int(2)};
		expect_rc(c, om_dict_update(d, ks, vs, 2), OM_EINVAL);
		ks[1] = om_str("w");
		vs[1] = bad;
		expect_rc(c, om_dict_update(d, ks, vs, 2), OM_EINVAL);

		assert_int_equal(dict_len(c, d), 1);
		expect_get_int(c, d, om_str("k"), 1);
		assert_false(has(c, d, om_str("new")));
		assert_false(has(c, d, om_str("u")));
	}

	om_release(d);
	om_disconnect(c);
}

static void test_released_handle(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	expect_ok(c, om_dict_set(d, om_str("k"), om_int(1)));
	om_release(d);

	om_item out = om_int(777), out2 = om_int(778);
	om_items ks = {NULL, 0}, vs = {NULL, 0};
	om_item k1 = om_str("k"), v1 = om_int(2);
	bool b = false;
	size_t n = 99;
	assert_int_equal(om_dict_set(d, k1, v1), OM_EINVAL);
	assert_int_equal(om_dict_get(d, k1, &out), OM_EINVAL);
	assert_int_equal(om_dict_del(d, k1), OM_EINVAL);
	assert_int_equal(om_dict_pop(d, k1, &out), OM_EINVAL);
	assert_int_equal(om_dict_popitem(d, &out, &out2), OM_EINVAL);
	assert_int_equal(om_dict_setdefault(d, k1, v1, &out), OM_EINVAL);
	assert_int_equal(om_dict_contains(d, k1, &b), OM_EINVAL);
	assert_int_equal(om_dict_len(d, &n), OM_EINVAL);
	assert_int_equal(om_dict_keys(d, &ks), OM_EINVAL);
	assert_int_equal(om_dict_values(d, &vs), OM_EINVAL);
	assert_int_equal(om_dict_items(d, &ks, &vs), OM_EINVAL);
	assert_int_equal(om_dict_update(d, &k1, &v1, 1), OM_EINVAL);
	assert_int_equal(om_dict_update(d, NULL, NULL, 0), OM_EINVAL);
	assert_int_equal(om_dict_clear(d), OM_EINVAL);
	assert_int_equal(om_dict_incr(d, k1, v1, &out), OM_EINVAL);
	assert_int_item(&out, 777);
	assert_int_item(&out2, 778);
	assert_false(b);
	assert_int_equal(n, 99);
	assert_null(ks.v);
	assert_null(vs.v);

	/* a NULL handle likewise */
	assert_int_equal(om_dict_set(NULL, k1, v1), OM_EINVAL);
	assert_int_equal(om_dict_get(NULL, k1, &out), OM_EINVAL);
	assert_int_equal(om_dict_del(NULL, k1), OM_EINVAL);
	assert_int_equal(om_dict_pop(NULL, k1, &out), OM_EINVAL);
	assert_int_equal(om_dict_popitem(NULL, &out, &out2), OM_EINVAL);
	assert_int_equal(om_dict_setdefault(NULL, k1, v1, NULL), OM_EINVAL);
	assert_int_equal(om_dict_contains(NULL, k1, &b), OM_EINVAL);
	assert_int_equal(om_dict_len(NULL, &n), OM_EINVAL);
	assert_int_equal(om_dict_keys(NULL, &ks), OM_EINVAL);
	assert_int_equal(om_dict_values(NULL, &vs), OM_EINVAL);
	assert_int_equal(om_dict_items(NULL, &ks, &vs), OM_EINVAL);
	assert_int_equal(om_dict_update(NULL, &k1, &v1, 1), OM_EINVAL);
	assert_int_equal(om_dict_clear(NULL), OM_EINVAL);
	assert_int_equal(om_dict_incr(NULL, k1, v1, NULL), OM_EINVAL);

	/* the client itself still works */
	expect_ok(c, om_ping(c));
	om_disconnect(c);
}

/* 10,000 keys, inserted in a scrambled order, round-trip in that order. */
static void test_many_keys(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	enum { N = 10000 };
	char key[32];

	/* 7919 is prime to N: i -> i * 7919 % N is a permutation */
	for (int i = 0; i < N; i++) {
		int p = (int)((i * 7919L) % N);
		snprintf(key, sizeof key, "key-%d", p);
		expect_ok(c, om_dict_set(d, om_str(key), om_int(p * 3L)));
	}
	assert_int_equal(dict_len(c, d), N);

	om_items k, v;
	expect_ok(c, om_dict_keys(d, &k));
	expect_ok(c, om_dict_values(d, &v));
	assert_int_equal(k.n, N);
	assert_int_equal(v.n, N);
	for (int i = 0; i < N; i++) {
		int p = (int)((i * 7919L) % N);
		snprintf(key, sizeof key, "key-%d", p);
		assert_str_item(&k.v[i], key);
		assert_int_item(&v.v[i], p * 3L);
	}
	om_items_free(&k);
	om_items_free(&v);

	/* every lookup finds its own value */
	for (int p = 0; p < N; p += 97) {
		snprintf(key, sizeof key, "key-%d", p);
		expect_get_int(c, d, om_str(key), p * 3L);
	}

	/* delete every other one by insertion position; order survives */
	for (int i = 0; i < N; i += 2) {
		int p = (int)((i * 7919L) % N);
		snprintf(key, sizeof key, "key-%d", p);
		expect_ok(c, om_dict_del(d, om_str(key)));
	}
	assert_int_equal(dict_len(c, d), N / 2);
	expect_ok(c, om_dict_items(d, &k, &v));
	assert_int_equal(k.n, N / 2);
	for (int i = 1, j = 0; i < N; i += 2, j++) {
		int p = (int)((i * 7919L) % N);
		snprintf(key, sizeof key, "key-%d", p);
		assert_str_item(&k.v[j], key);
		assert_int_item(&v.v[j], p * 3L);
	}
	om_items_free(&k);
	om_items_free(&v);
	snprintf(key, sizeof key, "key-%d", 0); /* position 0 was deleted */
	assert_false(has(c, d, om_str(key)));

	om_release(d);
	om_disconnect(c);
}

/* The server's byte count goes back to its baseline once a dict is gone. */
static void test_memory_accounting(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats st0, st1;
	expect_ok(c, om_stats(c, &st0));

	om_dict *d = new_dict(c);
	const size_t big = 1 << 20;
	char *buf = calloc(1, big);
	assert_non_null(buf);
	expect_ok(c, om_dict_set(d, om_str("big"), om_bytes(buf, big)));
	for (int i = 0; i < 1000; i++) {
		char key[32];
		snprintf(key, sizeof key, "some key number %d", i);
		expect_ok(c, om_dict_set(d, om_str(key), om_str(key)));
	}
	/* overwriting and popping must not leak accounting either */
	expect_ok(c, om_dict_set(d, om_str("big"), om_bytes(buf, big / 2)));
	om_item out;
	expect_ok(c, om_dict_pop(d, om_str("some key number 7"), &out));
	om_item_free(&out);
	expect_ok(c, om_dict_incr(d, om_str("ctr"), om_int(1), NULL));
	expect_ok(c, om_dict_setdefault(d, om_str("sd"), om_str("abc"), NULL));
	expect_ok(c, om_stats(c, &st1));
	assert_true(st1.bytes >= st0.bytes + big / 2);

	expect_ok(c, om_dict_clear(d));
	expect_ok(c, om_stats(c, &st1));
	assert_true(st1.bytes < st0.bytes + big / 2);
	om_release(d);
	expect_ok(c, om_stats(c, &st1));
	assert_int_equal(st1.bytes, st0.bytes);
	assert_int_equal(st1.objects, st0.objects);

	/* released without a clear: the same */
	d = new_dict(c);
	expect_ok(c, om_dict_set(d, om_str("big"), om_bytes(buf, big)));
	om_item ks[2] = {om_str("a"), om_bytes("b", 1)};
	om_item vs[2] = {om_str("x"), om_bytes(buf, 1000)};
	expect_ok(c, om_dict_update(d, ks, vs, 2));
	om_release(d);
	expect_ok(c, om_stats(c, &st1));
	assert_int_equal(st1.bytes, st0.bytes);

	free(buf);
	om_disconnect(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_get_del),
		cmocka_unit_test(test_named_shared),
		cmocka_unit_test(test_pop),
		cmocka_unit_test(test_popitem),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_numeric_keys),
		cmocka_unit_test(test_big_numeric_keys),
		cmocka_unit_test(test_kinds_as_keys),
		cmocka_unit_test(test_nan_key),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_big_values),
		cmocka_unit_test(test_setdefault),
		cmocka_unit_test(test_items_keys_values),
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_incr),
		cmocka_unit_test(test_incr_errors),
		cmocka_unit_test(test_bad_items),
		cmocka_unit_test(test_released_handle),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_memory_accounting),
	};
	return RUN(tests, 60, srv_setup, srv_teardown);
}
