/*
 * test_list.c — the shared list against Python's list: append, extend and
 * insert (clamping); get, set, del and pop with negative indexes and
 * EINDEX; remove, index, count and contains with Python equality (2 ==
 * 2.0, 0.0 == -0.0, True == 1, str never equals bytes) and EVALUE; len,
 * clear, reverse; sort (numbers across int/float/bool, str and bytes
 * bytewise, stable in both directions, ETYPE leaving the list unchanged);
 * slice and splice with Python's clamped bounds; stored refs keeping
 * objects alive; EINVAL for NULL outputs and invalid items; and a run of
 * mixed operations checked step by step against what Python prints.
 */
#include "harness.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- helpers */

/* Append to buf[*len..cap) like snprintf, never past the end. */
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n < cap - *len ? (size_t)n : cap - *len - 1;
}

/* Python's repr() of a float: the shortest form that reads back. */
static void put_float(char *buf, size_t cap, size_t *len, double f)
{
	char t[40];

	if (isnan(f)) {
		put(buf, cap, len, "nan");
		return;
	}
	if (isinf(f)) {
		put(buf, cap, len, f < 0 ? "-inf" : "inf");
		return;
	}
	for (int p = 1; p <= 17; p++) {
		snprintf(t, sizeof t, "%.*g", p, f);
		if (strtod(t, NULL) == f)
			break;
	}
	put(buf, cap, len, "%s%s", t, strpbrk(t, ".e") ? "" : ".0");
}

/* Python's repr() of an item (str/bytes quoted with '...'). */
static void put_item(char *buf, size_t cap, size_t *len, const om_item *it)
{
	bool bytes = it->kind == OM_BYTES;

	switch (it->kind) {
	case OM_NIL:
		put(buf, cap, len, "None");
		return;
	case OM_BOOL:
		put(buf, cap, len, it->b ? "True" : "False");
		return;
	case OM_INT:
		put(buf, cap, len, "%" PRId64, it->i);
		return;
	case OM_FLOAT:
		put_float(buf, cap, len, it->f);
		return;
	case OM_STR:
	case OM_BYTES:
		put(buf, cap, len, bytes ? "b'" : "'");
		for (size_t i = 0; i < it->s.len; i++) {
			unsigned char ch = (unsigned char)it->s.ptr[i];

			if (ch < 0x20 || ch == 0x7f || (bytes && ch > 0x7f))
				put(buf, cap, len, "\\x%02x", ch);
			else if (ch == '\'' || ch == '\\')
				put(buf, cap, len, "\\%c", ch);
			else
				put(buf, cap, len, "%c", ch);
		}
		put(buf, cap, len, "'");
		return;
	case OM_REF:
		put(buf, cap, len, "<ref %d>", it->ref.type);
		return;
	}
	put(buf, cap, len, "<kind %d>", (int)it->kind);
}

/* Python's repr() of a list of items. */
static void repr_items(const om_items *items, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	put(buf, cap, &len, "[");
	for (size_t i = 0; i < items->n; i++) {
		if (i)
			put(buf, cap, &len, ", ");
		put_item(buf, cap, &len, &items->v[i]);
	}
	put(buf, cap, &len, "]");
}

/* repr(l), read with a whole slice and checked against om_list_len. */
static void repr_list(om_list *l, char *buf, size_t cap)
{
	om_items all;
	size_t n;

	assert_int_equal(om_list_slice(l, 0, INT64_MAX, &all), OM_OK);
	assert_int_equal(om_list_len(l, &n), OM_OK);
	assert_int_equal(all.n, n);
	repr_items(&all, buf, cap);
	om_items_free(&all);
}

/* The list must print as Python would print it. */
#define expect_list(l, want)                                                   \
	do {                                                                   \
		char b_[1024];                                                 \
		repr_list(l, b_, sizeof b_);                                   \
		assert_string_equal(b_, want);                                 \
	} while (0)

/* The items must print as Python would print them; frees them. */
#define expect_items(items, want)                                              \
	do {                                                                   \
		char b_[1024];                                                 \
		repr_items(items, b_, sizeof b_);                              \
		om_items_free(items);                                          \
		assert_string_equal(b_, want);                                 \
	} while (0)

/* One item must print as Python would print it; frees it. */
#define expect_item(item, want)                                                \
	do {                                                                   \
		char b_[256];                                                  \
		size_t n_ = 0;                                                 \
		b_[0] = '\0';                                                  \
		put_item(b_, sizeof b_, &n_, item);                            \
		om_item_free(item);                                            \
		assert_string_equal(b_, want);                                 \
	} while (0)

/* A list holding the ints 0..n-1. */
static om_list *int_list(om_client *c, int n)
{
	om_list *l;

	expect_ok(c, om_list_open(c, NULL, 0, &l));
	for (int i = 0; i < n; i++)
		expect_ok(c, om_list_append(l, om_int(i)));
	return l;
}

/* ------------------------------------------------------ adding items */

static void test_append_extend_insert(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_list *l;
	om_item it;

	expect_ok(c, om_list_open(c, NULL, 0, &l));
	expect_list(l, "[]");
	expect_ok(c, om_list_append(l, om_int(1)));
	expect_ok(c, om_list_append(l, om_str("a")));
	expect_ok(c, om_list_append(l, om_nil()));
	expect_list(l, "[1, 'a', None]");

	om_item more[] = {om_float(2.5), om_bool(true), om_bytes("b\0c", 3),
	                  om_strn("d\0e", 3)};
	expect_ok(c, om_list_extend(l, more, 4));
	expect_list(l, "[1, 'a', None, 2.5, True, b'b\\x00c', 'd\\x00e']");
	expect_ok(c, om_list_extend(l, NULL, 0)); /* extend([]) */
	expect_ok(c, om_list_extend(l, more, 0));
	expect_list(l, "[1, 'a', None, 2.5, True, b'b\\x00c', 'd\\x00e']");

	/* strings come back whole, embedded NULs and all, NUL-terminated */
	expect_ok(c, om_list_get(l, -1, &it));
	assert_int_equal(it.kind, OM_STR);
	assert_int_equal(it.s.len, 3);
	assert_memory_equal(it.s.ptr, "d\0e", 4);
	om_item_free(&it);

	/* insert clamps, and a negative index counts from the end */
	expect_ok(c, om_list_clear(l));
	expect_ok(c, om_list_insert(l, 5, om_int(10))); /* empty: goes in */
	expect_list(l, "[10]");
	expect_ok(c, om_list_insert(l, 0, om_int(0)));
	expect_ok(c, om_list_insert(l, 1, om_int(5)));
	expect_list(l, "[0, 5, 10]");
	expect_ok(c, om_list_insert(l, -100, om_str("first")));
	expect_ok(c, om_list_insert(l, 100, om_str("last")));
	expect_list(l, "['first', 0, 5, 10, 'last']");
	expect_ok(c, om_list_insert(l, -1, om_str("x"))); /* before the last */
	expect_list(l, "['first', 0, 5, 10, 'x', 'last']");
	expect_ok(c, om_list_insert(l, -6, om_str("y"))); /* -len: first */
	expect_ok(c, om_list_insert(l, 7, om_str("z")));  /* len: last */
	expect_list(l, "['y', 'first', 0, 5, 10, 'x', 'last', 'z']");
	expect_ok(c, om_list_insert(l, INT64_MIN, om_int(-1)));
	expect_ok(c, om_list_insert(l, INT64_MAX, om_int(99)));
	expect_list(l, "[-1, 'y', 'first', 0, 5, 10, 'x', 'last', 'z', 99]");
	om_release(l);
	om_disconnect(c);
}

/* ----------------------------------------------- get, set, del, pop */

static void test_get_set_del(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_list *l = int_list(c, 5);
	om_item it;

	expect_ok(c, om_list_get(l, 0, &it));
	expect_item(&it, "0");
	expect_ok(c, om_list_get(l, 4, &it));
	expect_item(&it, "4");
	expect_ok(c, om_list_get(l, -1, &it));
	expect_item(&it, "4");
	expect_ok(c, om_list_get(l, -5, &it));
	expect_item(&it, "0");
	it = om_str("untouched");
	expect_rc(c, om_list_get(l, 5, &it), OM_EINDEX);
	expect_rc(c, om_list_get(l, -6, &it), OM_EINDEX);
	expect_rc(c, om_list_get(l, INT64_MAX, &it), OM_EINDEX);
	expect_rc(c, om_list_get(l, INT64_MIN, &it), OM_EINDEX);
	assert_string_equal(it.s.ptr, "untouched"); /* not written */

	expect_ok(c, om_list_set(l, 0, om_str("a")));
	expect_ok(c, om_list_set(l, -1, om_float(4.5)));
	expect_ok(c, om_list_set(l, -4, om_nil()));
	expect_list(l, "['a', None, 2, 3, 4.5]");
	expect_rc(c, om_list_set(l, 5, om_int(9)), OM_EINDEX);
	expect_rc(c, om_list_set(l, -6, om_int(9)), OM_EINDEX);
	expect_list(l, "['a', None, 2, 3, 4.5]");

	expect_ok(c, om_list_del(l, 1));
	expect_list(l, "['a', 2, 3, 4.5]");
	expect_ok(c, om_list_del(l, -1));
	expect_list(l, "['a', 2, 3]");
	expect_ok(c, om_list_del(l, -3));
	expect_list(l, "[2, 3]");
	expect_rc(c, om_list_del(l, 2), OM_EINDEX);
	expect_rc(c, om_list_del(l, -3), OM_EINDEX);
	expect_list(l, "[2, 3]");
	expect_ok(c, om_list_del(l, 0));
	expect_ok(c, om_list_del(l, 0));
	expect_list(l, "[]");

	/* an empty list has no index at all */
	expect_rc(c, om_list_get(l, 0, &it), OM_EINDEX);
	expect_rc(c, om_list_get(l, -1, &it), OM_EINDEX);
	expect_rc(c, om_list_set(l, 0, om_int(1)), OM_EINDEX);
	expect_rc(c, om_list_set(l, -1, om_int(1)), OM_EINDEX);
	expect_rc(c, om_list_del(l, 0), OM_EINDEX);
	expect_rc(c, om_list_del(l, -1), OM_EINDEX);
	expect_list(l, "[]");
	om_release(l);
	om_disconnect(c);
}

static void test_pop(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_list *l = int_list(c, 6);
	om_item it;

	expect_ok(c, om_list_pop(l, -1, &it));
	expect_item(&it, "5");
	expect_ok(c, om_list_pop(l, 0, &it));
	expect_item(&it, "0");
	expect_list(l, "[1, 2, 3, 4]");
	expect_ok(c, om_list_pop(l, -3, &it));
	expect_item(&it, "2");
	expect_list(l, "[1, 3, 4]");
	expect_ok(c, om_list_pop(l, 1, NULL)); /* the item is dropped */
	expect_list(l, "[1, 4]");
	it = om_int(77);
	expect_rc(c, om_list_pop(l, 2, &it), OM_EINDEX);
	expect_rc(c, om_list_pop(l, -3, &it), OM_EINDEX);
	expect_rc(c, om_list_pop(l, INT64_MIN, NULL), OM_EINDEX);
	assert_int_item(&it, 77); /* not written */
	expect_list(l, "[1, 4]");

	/* pop(-1) of the last item, then from the empty list */
	expect_ok(c, om_list_pop(l, -1, &it));
	expect_item(&it, "4");
	expect_ok(c, om_list_pop(l, -1, &it));
	expect_item(&it, "1");
	expect_list(l, "[]");
	expect_rc(c, om_list_pop(l, -1, &it), OM_EINDEX);
	expect_rc(c, om_list_pop(l, 0, &it), OM_EINDEX);
	expect_rc(c, om_list_pop(l, -1, NULL), OM_EINDEX);

	/* a popped string owns its bytes */
	expect_ok(c, om_list_append(l, om_bytes("\x80\x00", 2)));
	expect_ok(c, om_list_pop(l, -1, &it));
	expect_item(&it, "b'\\x80\\x00'");
	om_release(l);
	om_disconnect(c);
}

/* ------------------------------------------------ searching (equality) */

static void test_remove_index_equality(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_list *l;
	int64_t pos;

	expect_ok(c, om_list_open(c, NULL, 0, &l));
	om_item v[] = {om_str("a"), om_int(2), om_float(-0.0), om_bool(true),
	               om_bytes("b", 1), om_nil(), om_int(2), om_str("b")};
	expect_ok(c, om_list_extend(l, v, 8));

	/* index: the first position, across numeric kinds */
	expect_ok(c, om_list_index(l, om_int(2), &pos));
	assert_int_equal(pos, 1);
	expect_ok(c, om_list_index(l, om_float(2.0), &pos));
	assert_int_equal(pos, 1);
	expect_ok(c, om_list_index(l, om_float(0.0), &pos)); /* == -0.0 */
	assert_int_equal(pos, 2);
	expect_ok(c, om_list_index(l, om_int(0), &pos));
	assert_int_equal(pos, 2);
	expect_ok(c, om_list_index(l, om_bool(false), &pos));
	assert_int_equal(pos, 2);
	expect_ok(c, om_list_index(l, om_int(1), &pos)); /* True == 1 */
	assert_int_equal(pos, 3);
	expect_ok(c, om_list_index(l, om_float(1.0), &pos));
	assert_int_equal(pos, 3);
	expect_ok(c, om_list_index(l, om_nil(), &pos));
	assert_int_equal(pos, 5);
	expect_ok(c, om_list_index(l, om_str("b"), &pos)); /* not bytes b */
	assert_int_equal(pos, 7);
	expect_ok(c, om_list_index(l, om_bytes("b", 1), &pos));
	assert_int_equal(pos, 4);
	pos = 1234;
	expect_rc(c, om_list_index(l, om_bytes("a", 1), &pos), OM_EVALUE);
	expect_rc(c, om_list_index(l, om_str("A"), &pos), OM_EVALUE);
	expect_rc(c, om_list_index(l, om_float(2.5), &pos), OM_EVALUE);
	expect_rc(c, om_list_index(l, om_float(NAN), &pos), OM_EVALUE);
	expect_rc(c, om_list_index(l, om_strn("a\0", 2), &pos), OM_EVALUE);
	assert_int_equal(pos, 1234); /* not written */

	/* remove: the first match only; EVALUE changes nothing */
	expect_ok(c, om_list_remove(l, om_float(2.0)));
	expect_list(l, "['a', -0.0, True, b'b', None, 2, 'b']");
	expect_ok(c, om_list_remove(l, om_float(1.0))); /* removes True */
	expect_ok(c, om_list_remove(l, om_bool(false))); /* removes -0.0 */
	expect_list(l, "['a', b'b', None, 2, 'b']");
	expect_rc(c, om_list_remove(l, om_bytes("a", 1)), OM_EVALUE);
	expect_rc(c, om_list_remove(l, om_str("B")), OM_EVALUE);
	expect_rc(c, om_list_remove(l, om_int(3)), OM_EVALUE);
	expect_rc(c, om_list_remove(l, om_bool(true)), OM_EVALUE);
	expect_list(l, "['a', b'b', None, 2, 'b']");
	expect_ok(c, om_list_remove(l, om_str("b")));
	expect_list(l, "['a', b'b', None, 2]");
	expect_ok(c, om_list_remove(l, om_nil()));
	expect_rc(c, om_list_remove(l, om_nil()), OM_EVALUE);
	expect_list(l, "['a', b'b', 2]");

	/* ints beyond 2**53 are compared exactly with floats */
	expect_ok(c, om_list_clear(l));
	expect_ok(c, om_list_append(l, om_int(9007199254740993LL)));
	expect_rc(c, om_list_index(l, om_float(9007199254740992.0), &pos),
	          OM_EVALUE);
	expect_ok(c, om_list_index(l, om_int(9007199254740993LL), &pos));
	assert_int_equal(pos, 0);

	/* an empty list contains nothing */
	expect_ok(c, om_list_clear(l));
	expect_rc(c, om_list_index(l, om_nil(), &pos), OM_EVALUE);
	expect_rc(c, om_list_remove(l, om_int(0)), OM_EVALUE);
	om_release(l);
	om_disconnect(c);
}

static void test_count_contains_len(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_list *l;
	size_t n;
	bool in;

	expect_ok(c, om_list_open(c, NULL, 0, &l));
	expect_ok(c, om_list_len(l, &n));
	assert_int_equal(n, 0);
	expect_ok(c, om_list_count(l, om_int(1), &n));
	assert_int_equal(n, 0);
	in = true;
	expect_ok(c, om_list_contains(l, om_nil(), &in));
	assert_false(in);

	om_item v[] = {om_int(1), om_float(1.0), om_bool(true), om_str("1"),
	               om_bytes("1", 1), om_float(0.0), om_float(-0.0),
	               om_bool(false), om_nil(), om_nil(), om_int(1)};
	expect_ok(c, om_list_extend(l, v, 11));
	expect_ok(c, om_list_len(l, &n));
	assert_int_equal(n, 11);
	expect_ok(c, om_list_count(l, om_int(1), &n));
	assert_int_equal(n, 4); /* 1, 1.0, True, 1 */
	expect_ok(c, om_list_count(l, om_bool(true), &n));
	assert_int_equal(n, 4);
	expect_ok(c, om_list_count(l, om_float(-0.0), &n));
	assert_int_equal(n, 3); /* 0.0, -0.0, False */
	expect_ok(c, om_list_count(l, om_str("1"), &n));
	assert_int_equal(n, 1);
	expect_ok(c, om_list_count(l, om_bytes("1", 1), &n));
	assert_int_equal(n, 1);
	expect_ok(c, om_list_count(l, om_nil(), &n));
	assert_int_equal(n, 2);
	expect_ok(c, om_list_count(l, om_int(2), &n));
	assert_int_equal(n, 0);
	expect_ok(c, om_list_count(l, om_str(""), &n));
	assert_int_equal(n, 0);

	expect_ok(c, om_list_contains(l, om_float(1.0), &in));
	assert_true(in);
	expect_ok(c, om_list_contains(l, om_nil(), &in));
	assert_true(in);
	expect_ok(c, om_list_contains(l, om_bytes("1", 1), &in));
	assert_true(in);
	expect_ok(c, om_list_contains(l, om_int(2), &in));
	assert_false(in);
	expect_ok(c, om_list_contains(l, om_str("0"), &in));
	assert_false(in);
	expect_ok(c, om_list_contains(l, om_float(NAN), &in));
	assert_false(in);

	/* clear empties; reverse reverses, also an empty or single list */
	expect_ok(c, om_list_clear(l));
	expect_ok(c, om_list_len(l, &n));
	assert_int_equal(n, 0);
	expect_ok(c, om_list_clear(l)); /* already empty */
	expect_ok(c, om_list_reverse(l));
	expect_list(l, "[]");
	expect_ok(c, om_list_append(l, om_str("only")));
	expect_ok(c, om_list_reverse(l));
	expect_list(l, "['only']");
	expect_ok(c, om_list_extend(l, v, 5));
	expect_ok(c, om_list_reverse(l));
	expect_list(l, "[b'1', '1', True, 1.0, 1, 'only']");
	expect_ok(c, om_list_pop(l, -1, NULL));
	expect_ok(c, om_list_reverse(l)); /* even length */
	expect_list(l, "[1, 1.0, True, '1', b'1']");
	om_release(l);
	om_disconnect(c);
}

/* ----------------------------------------------------------------- sort */

static void test_sort_kinds(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_list *l;

	expect_ok(c, om_list_open(c, NULL, 0, &l));
	expect_ok(c, om_list_sort(l, false)); /* empty */
	expect_list(l, "[]");

	/* numbers: numerically across int, float and bool */
	om_item nums[] = {om_int(3),     om_float(1.5), om_bool(true),
	                  om_int(-2),    om_float(2.5), om_bool(false),
	                  om_float(-0.5)};
	expect_ok(c, om_list_extend(l, nums, 7));
	expect_ok(c, om_list_sort(l, false));
	expect_list(l, "[-2, -0.5, False, True, 1.5, 2.5, 3]");
	expect_ok(c, om_list_sort(l, true));
	expect_list(l, "[3, 2.5, 1.5, True, False, -0.5, -2]");

	/* exact int/float order beyond 2**53 (and stable among equals) */
	expect_ok(c, om_list_clear(l));
	om_item big[] = {om_int(9007199254740993LL),
	                 om_float(9007199254740992.0),
	                 om_int(9007199254740992LL), om_int(INT64_MIN),
	                 om_float(-INFINITY), om_float(INFINITY),
	                 om_int(INT64_MAX)};
	expect_ok(c, om_list_extend(l, big, 7));
	expect_ok(c, om_list_sort(l, false));
	expect_list(l, "[-inf, -9223372036854775808, 9007199254740992.0, "
	               "9007199254740992, 9007199254740993, "
	               "9223372036854775807, inf]");

	/* str: bytewise (so UTF-8 sorts by code point) */
	expect_ok(c, om_list_clear(l));
	om_item strs[] = {om_str("b"),         om_str("a"),
	                  om_str("B"),         om_str("ab"),
	                  om_str(""),          om_strn("a\0b", 3),
	                  om_strn("a\0", 2),   om_str("\xc3\xa9"),
	                  om_str("z")};
	expect_ok(c, om_list_extend(l, strs, 9));
	expect_ok(c, om_list_sort(l, false));
	expect_list(l, "['', 'B', 'a', 'a\\x00', 'a\\x00b', 'ab', 'b', 'z', "
	               "'\xc3\xa9']");
	expect_ok(c, om_list_sort(l, true));
	expect_list(l, "['\xc3\xa9', 'z', 'b', 'ab', 'a\\x00b', 'a\\x00', "
	               "'a', 'B', '']");

	/* bytes: bytewise, unsigned */
	expect_ok(c, om_list_clear(l));
	om_item bytes[] = {om_bytes("\x80", 1), om_bytes("\x01", 1),
	                   om_bytes("\x01\x00", 2), om_bytes("", 0),
	                   om_bytes("\x7f", 1)};
	expect_ok(c, om_list_extend(l, bytes, 5));
	expect_ok(c, om_list_sort(l, false));
	expect_list(l, "[b'', b'\\x01', b'\\x01\\x00', b'\\x7f', b'\\x80']");
	om_release(l);
	om_disconnect(c);
}

/* Forms of the numbers 0..3 that are equal but tell apart: which one an
 * item is shows where it came from, so stability can be checked. */
static om_item form(int value, int which)
{
	switch (value) {
	case 0: {
		om_item f[] = {om_int(0), om_float(0.0), om_bool(false),
		               om_float(-0.0)};
		return f[which % 4];
	}
	case 1: {
		om_item f[] = {om_int(1), om_float(1.0), om_bool(true)};
		return f[which % 3];
	}
	default:
		return which % 2 ? om_float(value) : om_int(value);
	}
}

static double num(const om_item *it)
{
	if (it->kind == OM_BOOL)
		return it->b;
	return it->kind == OM_INT ? (double)it->i : it->f;
}

/* Same kind and same bits: the very item, not just an equal one. */
static bool same(const om_item *a, const om_item *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == OM_FLOAT)
		return a->f == b->f && signbit(a->f) == signbit(b->f);
	return om_item_eq(a, b);
}

/* Stable insertion sort, the reference: Python keeps equal items in their
 * original order in both directions. */
static void ref_sort(om_item *v, size_t n, bool rev)
{
	for (size_t i = 1; i < n; i++) {
		om_item x = v[i];
		size_t j = i;

		while (j > 0 && (rev ? num(&x) > num(&v[j - 1])
		                     : num(&x) < num(&v[j - 1]))) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/* Sort n mixed forms of 0..3 on the server and compare item by item. */
static void check_stable(om_client *c, size_t n, bool rev)
{
	om_item want[100];
	om_items got;
	om_list *l;

	assert_true(n <= 100);
	for (size_t i = 0; i < n; i++)
		want[i] = form((int)((i * 7 + i / 5) % 4), (int)(i / 4));
	expect_ok(c, om_list_open(c, NULL, 0, &l));
	expect_ok(c, om_list_extend(l, want, n));
	expect_ok(c, om_list_sort(l, rev));
	ref_sort(want, n, rev);
	expect_ok(c, om_list_slice(l, 0, (int64_t)n, &got));
	assert_int_equal(got.n, n);
	for (size_t i = 0; i < n; i++) {
		if (!same(&got.v[i], &want[i]))
			print_error("n=%zu rev=%d: item %zu is kind %d %g, "
			            "expected kind %d %g\n",
			            n, rev, i, (int)got.v[i].kind,
			            num(&got.v[i]), (int)want[i].kind,
			            num(&want[i]));
		assert_true(same(&got.v[i], &want[i]));
	}
	om_items_free(&got);
	om_release(l);
}

static void test_sort_stable(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_list *l;

	/* sorted([1, 1.0, True, 0]) == [0, 1, 1.0, True], kinds in order */
	expect_ok(c, om_list_open(c, NULL, 0, &l));
	om_item v[] = {om_int(1), om_float(1.0), om_bool(true), om_int(0)};
	expect_ok(c, om_list_extend(l, v, 4));
	expect_ok(c, om_list_sort(l, false));
	expect_list(l, "[0, 1, 1.0, True]");
	/* sorted([True, 1.0, 1, 0], reverse=True) == [True, 1.0, 1, 0] */
	expect_ok(c, om_list_clear(l));
	om_item w[] = {om_bool(true), om_float(1.0), om_int(1), om_int(0)};
	expect_ok(c, om_list_extend(l, w, 4));
	expect_ok(c, om_list_sort(l, true));
	expect_list(l, "[True, 1.0, 1, 0]");
	/* sorted([1, 1.0, 2], reverse=True) == [2, 1, 1.0] */
	expect_ok(c, om_list_clear(l));
	om_item x[] = {om_int(1), om_float(1.0), om_int(2)};
	expect_ok(c, om_list_extend(l, x, 3));
	expect_ok(c, om_list_sort(l, true));
	expect_list(l, "[2, 1, 1.0]");
	/* sorting a sorted list changes nothing */
	expect_ok(c, om_list_sort(l, true));
	expect_list(l, "[2, 1, 1.0]");
	expect_ok(c, om_list_sort(l, false));
	expect_list(l, "[1, 1.0, 2]");
	om_release(l);

	/* short and long lists (past any small-run cut-off), both ways */
	static const size_t sizes[] = {2, 5, 16, 17, 33, 64, 100};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		check_stable(c, sizes[i], false);
		check_stable(c, sizes[i], true);
	}
	om_disconnect(c);
}

static void test_sort_errors(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_list *l;

	expect_ok(c, om_list_open(c, NULL, 0, &l));
	/* str and int do not order: ETYPE, and the list is unchanged */
	om_item v[] = {om_int(3), om_str("a"), om_int(1), om_str("b")};
	expect_ok(c, om_list_extend(l, v, 4));
	expect_rc(c, om_list_sort(l, false), OM_ETYPE);
	expect_list(l, "[3, 'a', 1, 'b']");
	expect_rc(c, om_list_sort(l, true), OM_ETYPE);
	expect_list(l, "[3, 'a', 1, 'b']");

	/* the odd one out at the end of a long sortable run */
	expect_ok(c, om_list_clear(l));
	for (int i = 40; i > 0; i--)
		expect_ok(c, om_list_append(l, om_int(i)));
	expect_ok(c, om_list_append(l, om_bytes("x", 1)));
	expect_rc(c, om_list_sort(l, false), OM_ETYPE);
	om_item it;
	expect_ok(c, om_list_get(l, 0, &it));
	expect_item(&it, "40");
	expect_ok(c, om_list_get(l, 39, &it));
	expect_item(&it, "1");

	/* str and bytes do not order either */
	expect_ok(c, om_list_clear(l));
	expect_ok(c, om_list_append(l, om_str("b")));
	expect_ok(c, om_list_append(l, om_bytes("a", 1)));
	expect_rc(c, om_list_sort(l, false), OM_ETYPE);
	expect_list(l, "['b', b'a']");

	/* None does not order, not even with None */
	expect_ok(c, om_list_clear(l));
	expect_ok(c, om_list_append(l, om_nil()));
	expect_ok(c, om_list_sort(l, false)); /* one item: nothing compared */
	expect_list(l, "[None]");
	expect_ok(c, om_list_append(l, om_nil()));
	expect_rc(c, om_list_sort(l, false), OM_ETYPE);
	expect_list(l, "[None, None]");
	expect_ok(c, om_list_set(l, 0, om_int(1)));
	expect_rc(c, om_list_sort(l, false), OM_ETYPE);
	expect_list(l, "[1, None]");

	/* refs do not order */
	om_list *inner = new_list(c);
	expect_ok(c, om_list_clear(l));
	expect_ok(c, om_list_append(l, om_ref(inner)));
	expect_ok(c, om_list_sort(l, false));
	expect_ok(c, om_list_append(l, om_ref(inner)));
	expect_rc(c, om_list_sort(l, false), OM_ETYPE);
	om_release(inner);
	om_release(l);
	om_disconnect(c);
}

/* ------------------------------------------------------- slice, splice */

static void test_slice(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_list *l = int_list(c, 10);
	om_items s;

	expect_ok(c, om_list_slice(l, -100, 100, &s));
	expect_items(&s, "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]");
	expect_ok(c, om_list_slice(l, INT64_MIN, INT64_MAX, &s));
	expect_items(&s, "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]");
	expect_ok(c, om_list_slice(l, 2, 5, &s));
	expect_items(&s, "[2, 3, 4]");
	expect_ok(c, om_list_slice(l, 3, 1, &s));
	expect_items(&s, "[]");
	expect_ok(c, om_list_slice(l, 4, 4, &s));
	expect_items(&s, "[]");
	expect_ok(c, om_list_slice(l, -3, -1, &s));
	expect_items(&s, "[7, 8]");
	expect_ok(c, om_list_slice(l, -2, 10, &s));
	expect_items(&s, "[8, 9]");
	expect_ok(c, om_list_slice(l, -100, 2, &s));
	expect_items(&s, "[0, 1]");
	expect_ok(c, om_list_slice(l, 8, 100, &s));
	expect_items(&s, "[8, 9]");
	expect_ok(c, om_list_slice(l, 1, -8, &s));
	expect_items(&s, "[1]");
	expect_ok(c, om_list_slice(l, -1, -3, &s));
	expect_items(&s, "[]");
	expect_ok(c, om_list_slice(l, 10, 20, &s));
	expect_items(&s, "[]");
	expect_ok(c, om_list_slice(l, -100, -50, &s));
	expect_items(&s, "[]");
	expect_ok(c, om_list_slice(l, 0, -10, &s));
	expect_items(&s, "[]");

	/* an empty list slices to nothing, whatever the bounds */
	expect_ok(c, om_list_clear(l));
	expect_ok(c, om_list_slice(l, 0, 0, &s));
	expect_items(&s, "[]");
	expect_ok(c, om_list_slice(l, -5, 5, &s));
	expect_items(&s, "[]");

	/* a slice is a copy: it outlives changes to the list */
	expect_ok(c, om_list_append(l, om_str("keep")));
	expect_ok(c, om_list_slice(l, 0, 1, &s));
	expect_ok(c, om_list_clear(l));
	expect_items(&s, "['keep']");
	om_release(l);
	om_disconnect(c);
}

static void test_splice(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_list *l = int_list(c, 6);
	om_item abc[] = {om_str("a"), om_str("b"), om_str("c")};

	/* a middle range replaced by more items, then by fewer */
	expect_ok(c, om_list_splice(l, 2, 4, abc, 3));
	expect_list(l, "[0, 1, 'a', 'b', 'c', 4, 5]");
	expect_ok(c, om_list_splice(l, 1, 6, abc + 2, 1));
	expect_list(l, "[0, 'c', 5]");
	/* the same length */
	expect_ok(c, om_list_splice(l, 0, 2, abc, 2));
	expect_list(l, "['a', 'b', 5]");
	/* n = 0 deletes */
	expect_ok(c, om_list_splice(l, 0, 2, NULL, 0));
	expect_list(l, "[5]");
	expect_ok(c, om_list_splice(l, 0, 100, abc, 0));
	expect_list(l, "[]");

	/* stop < start inserts at start */
	om_release(l);
	l = int_list(c, 6);
	expect_ok(c, om_list_splice(l, 3, 1, abc, 1));
	expect_list(l, "[0, 1, 2, 'a', 3, 4, 5]");
	expect_ok(c, om_list_splice(l, 2, 2, abc + 1, 2)); /* empty range */
	expect_list(l, "[0, 1, 'b', 'c', 2, 'a', 3, 4, 5]");
	/* negative bounds, and bounds that clamp */
	expect_ok(c, om_list_splice(l, -2, INT64_MAX, abc, 1));
	expect_list(l, "[0, 1, 'b', 'c', 2, 'a', 3, 'a']");
	expect_ok(c, om_list_splice(l, -100, -6, abc + 2, 1));
	expect_list(l, "['c', 'b', 'c', 2, 'a', 3, 'a']");
	expect_ok(c, om_list_splice(l, -3, -1, NULL, 0));
	expect_list(l, "['c', 'b', 'c', 2, 'a']");
	expect_ok(c, om_list_splice(l, 100, 200, abc, 3)); /* appends */
	expect_list(l, "['c', 'b', 'c', 2, 'a', 'a', 'b', 'c']");
	expect_ok(c, om_list_splice(l, -1, -5, abc, 1)); /* before the last */
	expect_list(l, "['c', 'b', 'c', 2, 'a', 'a', 'b', 'a', 'c']");
	expect_ok(c, om_list_splice(l, INT64_MIN, INT64_MAX, abc + 1, 1));
	expect_list(l, "['b']");
	expect_ok(c, om_list_splice(l, 5, 1, NULL, 0)); /* deletes nothing */
	expect_list(l, "['b']");

	/* on an empty list */
	expect_ok(c, om_list_clear(l));
	expect_ok(c, om_list_splice(l, 0, 0, abc, 2));
	expect_list(l, "['a', 'b']");
	expect_ok(c, om_list_clear(l));
	expect_ok(c, om_list_splice(l, 5, 10, abc + 2, 1));
	expect_list(l, "['c']");
	expect_ok(c, om_list_clear(l));
	expect_ok(c, om_list_splice(l, -1, -1, abc, 3));
	expect_list(l, "['a', 'b', 'c']");
	expect_ok(c, om_list_clear(l));
	expect_ok(c, om_list_splice(l, 0, 10, NULL, 0));
	expect_list(l, "[]");
	om_release(l);
	om_disconnect(c);
}

/* --------------------------------------------------- refs in a list */

static void test_refs(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats st0, st1;
	om_list *l, *inner;
	om_item ref, it;
	size_t n;

	expect_ok(c, om_list_open(c, NULL, 0, &l));
	expect_ok(c, om_stats(c, &st0));
	expect_ok(c, om_list_open(c, NULL, 0, &inner));
	expect_ok(c, om_list_append(inner, om_int(42)));
	expect_ok(c, om_list_append(l, om_ref(inner)));
	expect_ok(c, om_list_append(l, om_ref(inner)));
	expect_ok(c, om_list_get(l, 0, &ref));
	assert_int_equal(ref.kind, OM_REF);
	assert_int_equal(ref.ref.type, OM_TYPE_LIST);
	expect_ok(c, om_list_count(l, ref, &n)); /* refs equal by object */
	assert_int_equal(n, 2);
	om_release(inner); /* stored twice: stays alive */
	expect_ok(c, om_stats(c, &st1));
	assert_int_equal(st1.objects, st0.objects + 1);

	void *h;
	expect_ok(c, om_open_ref(c, &ref, &h));
	expect_ok(c, om_list_get(h, 0, &it));
	expect_item(&it, "42");
	om_release(h);

	expect_ok(c, om_list_del(l, 0)); /* one stored ref left */
	expect_ok(c, om_stats(c, &st1));
	assert_int_equal(st1.objects, st0.objects + 1);
	/* The server may hold a popped ref for the popping connection (so
	 * it cannot die before that client opens it), at most until that
	 * connection ends: once it has, the object is gone. */
	om_client *cp = client(&srv);
	om_list *hp = share(c, l, cp);
	expect_ok(cp, om_list_pop(hp, -1, &it));
	assert_int_equal(it.kind, OM_REF);
	assert_true(om_item_eq(&it, &ref));
	om_item_free(&it);
	om_release(hp);
	expect_ok(c, om_list_len(l, &n));
	assert_int_equal(n, 0);
	om_disconnect(cp);
	/* the server sees cp's close on its own socket, and then inner goes */
	wait_stat(c, objects, st0.objects);

	/* a dead ref is refused and adds nothing, even inside an extend */
	expect_rc(c, om_list_append(l, ref), OM_ENOENT);
	om_item v[] = {om_int(1), ref, om_int(2)};
	expect_rc(c, om_list_extend(l, v, 3), OM_ENOENT);
	expect_rc(c, om_list_splice(l, 0, 0, v, 3), OM_ENOENT);
	expect_list(l, "[]");
	om_item_free(&ref);

	/* clear and set drop stored refs too */
	expect_ok(c, om_list_open(c, NULL, 0, &inner));
	expect_ok(c, om_list_append(l, om_ref(inner)));
	expect_ok(c, om_list_append(l, om_ref(inner)));
	om_release(inner);
	expect_ok(c, om_list_set(l, 0, om_nil()));
	expect_ok(c, om_stats(c, &st1));
	assert_int_equal(st1.objects, st0.objects + 1);
	expect_ok(c, om_list_clear(l));
	expect_ok(c, om_stats(c, &st1));
	assert_int_equal(st1.objects, st0.objects);
	om_release(l);
	om_disconnect(c);
}

/* ----------------------------------------------------- bad arguments */

static void test_einval(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_list *l = int_list(c, 3);
	om_item it;
	om_items s;
	int64_t pos;
	size_t n;
	bool in;

	/* NULL outputs (pop's is optional) */
	expect_rc(c, om_list_get(l, 0, NULL), OM_EINVAL);
	expect_rc(c, om_list_index(l, om_int(1), NULL), OM_EINVAL);
	expect_rc(c, om_list_count(l, om_int(1), NULL), OM_EINVAL);
	expect_rc(c, om_list_contains(l, om_int(1), NULL), OM_EINVAL);
	expect_rc(c, om_list_len(l, NULL), OM_EINVAL);
	expect_rc(c, om_list_slice(l, 0, 3, NULL), OM_EINVAL);

	/* items NULL with n > 0 */
	expect_rc(c, om_list_extend(l, NULL, 1), OM_EINVAL);
	expect_rc(c, om_list_splice(l, 0, 1, NULL, 2), OM_EINVAL);
	expect_list(l, "[0, 1, 2]");

	/* invalid items: an unknown kind, a str or bytes with no bytes, a
	 * ref to no object */
	om_item bad_kind = {.kind = (om_kind)42};
	om_item bad_str = {.kind = OM_STR};
	om_item bad_bytes = {.kind = OM_BYTES};
	om_item bad_ref = {.kind = OM_REF};
	bad_str.s.len = 3;
	bad_bytes.s.len = 1;
	bad_ref.ref.type = OM_TYPE_LIST;
	om_item bads[] = {bad_kind, bad_str, bad_bytes, bad_ref};
	for (size_t i = 0; i < 4; i++) {
		om_item b = bads[i];
		om_item mix[] = {om_int(7), b, om_int(8)};

		expect_rc(c, om_list_append(l, b), OM_EINVAL);
		expect_rc(c, om_list_insert(l, 0, b), OM_EINVAL);
		expect_rc(c, om_list_set(l, 0, b), OM_EINVAL);
		expect_rc(c, om_list_extend(l, mix, 3), OM_EINVAL);
		expect_rc(c, om_list_splice(l, 0, 3, mix, 3), OM_EINVAL);
		expect_rc(c, om_list_remove(l, b), OM_EINVAL);
		expect_rc(c, om_list_index(l, b, &pos), OM_EINVAL);
		expect_rc(c, om_list_count(l, b, &n), OM_EINVAL);
		expect_rc(c, om_list_contains(l, b, &in), OM_EINVAL);
		expect_list(l, "[0, 1, 2]");
	}
	/* an empty str with no pointer is fine */
	om_item empty = {.kind = OM_STR};
	expect_ok(c, om_list_append(l, empty));
	expect_list(l, "[0, 1, 2, '']");

	/* a NULL or released handle */
	expect_rc(c, om_list_len(NULL, &n), OM_EINVAL);
	expect_rc(c, om_list_append(NULL, om_int(1)), OM_EINVAL);
	om_list *gone = new_list(c);
	om_release(gone);
	expect_rc(c, om_list_append(gone, om_int(1)), OM_EINVAL);
	expect_rc(c, om_list_get(gone, 0, &it), OM_EINVAL);
	expect_rc(c, om_list_slice(gone, 0, 1, &s), OM_EINVAL);
	expect_rc(c, om_list_sort(gone, false), OM_EINVAL);

	/* a list handle is not a dict, and a dict handle is not a list */
	om_dict *d = new_dict(c);
	expect_rc(c, om_list_len((om_list *)d, &n), OM_ETYPE);
	expect_rc(c, om_list_append((om_list *)d, om_int(1)), OM_ETYPE);
	om_release(d);
	om_release(l);
	om_disconnect(c);
}

/* --------------------------------------------- shared by name, opened twice */

static void test_named_shared(void **state)
{
	(void)state;
	om_client *c1 = client(&srv), *c2 = client(&srv);
	om_list *a, *b;
	om_item it;

	expect_ok(c1, om_list_open(c1, "list.shared", OM_CREATE | OM_EXCL, &a));
	expect_ok(c2, om_list_open(c2, "list.shared", 0, &b));
	expect_ok(c1, om_list_append(a, om_str("from a")));
	expect_ok(c2, om_list_insert(b, 0, om_str("from b")));
	expect_list(a, "['from b', 'from a']");
	expect_ok(c2, om_list_pop(b, -1, &it));
	expect_item(&it, "'from a'");
	expect_list(a, "['from b']");
	expect_ok(c1, om_unlink(c1, "list.shared"));
	om_release(a);
	om_release(b);
	om_disconnect(c1);
	om_disconnect(c2);
}

/* --------------------------------------------- a run against Python */

/* Every step and what Python 3 prints for it, written out by hand:
 *   l = []; l.append(1); ...; print(l) after each line. */
static void test_python_sequence(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_list *l;
	om_item it;
	om_items s;
	int64_t pos;
	size_t n;
	bool in;

	expect_ok(c, om_list_open(c, NULL, 0, &l));
	/* 1 */ expect_ok(c, om_list_append(l, om_int(1)));
	expect_list(l, "[1]");
	/* 2 */ expect_ok(c, om_list_append(l, om_str("a")));
	expect_list(l, "[1, 'a']");
	/* 3 */ {
		om_item v[] = {om_float(2.5), om_nil(), om_bool(true)};
		expect_ok(c, om_list_extend(l, v, 3));
	}
	expect_list(l, "[1, 'a', 2.5, None, True]");
	/* 4 */ expect_ok(c, om_list_insert(l, 0, om_bytes("x", 1)));
	expect_list(l, "[b'x', 1, 'a', 2.5, None, True]");
	/* 5 */ expect_ok(c, om_list_insert(l, -2, om_int(7)));
	expect_list(l, "[b'x', 1, 'a', 2.5, 7, None, True]");
	/* 6 */ expect_ok(c, om_list_insert(l, 100, om_str("z")));
	expect_list(l, "[b'x', 1, 'a', 2.5, 7, None, True, 'z']");
	/* 7 */ expect_ok(c, om_list_set(l, 1, om_int(3)));
	expect_list(l, "[b'x', 3, 'a', 2.5, 7, None, True, 'z']");
	/* 8 */ expect_ok(c, om_list_set(l, -1, om_str("y")));
	expect_list(l, "[b'x', 3, 'a', 2.5, 7, None, True, 'y']");
	/* 9 */ expect_ok(c, om_list_del(l, 2));
	expect_list(l, "[b'x', 3, 2.5, 7, None, True, 'y']");
	/* 10 */ expect_ok(c, om_list_pop(l, -1, &it));
	expect_item(&it, "'y'");
	expect_list(l, "[b'x', 3, 2.5, 7, None, True]");
	/* 11 */ expect_ok(c, om_list_pop(l, 0, &it));
	expect_item(&it, "b'x'");
	expect_list(l, "[3, 2.5, 7, None, True]");
	/* 12 */ expect_ok(c, om_list_remove(l, om_int(1)));
	expect_list(l, "[3, 2.5, 7, None]");
	/* 13 */ expect_ok(c, om_list_index(l, om_float(7.0), &pos));
	assert_int_equal(pos, 2);
	/* 14 */ expect_ok(c, om_list_append(l, om_float(3.0)));
	expect_list(l, "[3, 2.5, 7, None, 3.0]");
	/* 15 */ expect_ok(c, om_list_count(l, om_int(3), &n));
	assert_int_equal(n, 2);
	/* 16 */ expect_ok(c, om_list_contains(l, om_nil(), &in));
	assert_true(in);
	/* 17 */ expect_ok(c, om_list_remove(l, om_nil()));
	expect_list(l, "[3, 2.5, 7, 3.0]");
	/* 18 */ expect_ok(c, om_list_sort(l, false));
	expect_list(l, "[2.5, 3, 3.0, 7]");
	/* 19 */ expect_ok(c, om_list_reverse(l));
	expect_list(l, "[7, 3.0, 3, 2.5]");
	/* 20 */ {
		om_item v[] = {om_bool(false), om_int(-1)};
		expect_ok(c, om_list_splice(l, 1, 3, v, 2));
	}
	expect_list(l, "[7, False, -1, 2.5]");
	/* 21 */ expect_ok(c, om_list_sort(l, true));
	expect_list(l, "[7, 2.5, False, -1]");
	/* 22 */ expect_ok(c, om_list_splice(l, -1, INT64_MAX, NULL, 0));
	expect_list(l, "[7, 2.5, False]");
	/* 23 */ {
		om_item v[] = {om_str("p"), om_str("q")};
		expect_ok(c, om_list_splice(l, 0, 0, v, 2));
	}
	expect_list(l, "['p', 'q', 7, 2.5, False]");
	/* 24 */ expect_ok(c, om_list_index(l, om_int(0), &pos));
	assert_int_equal(pos, 4);
	/* 25 */ expect_ok(c, om_list_pop(l, -2, &it));
	expect_item(&it, "2.5");
	expect_list(l, "['p', 'q', 7, False]");
	/* 26 */ expect_ok(c, om_list_insert(l, -100, om_float(0.5)));
	expect_list(l, "[0.5, 'p', 'q', 7, False]");
	/* 27 */ expect_ok(c, om_list_slice(l, 1, 3, &s));
	expect_items(&s, "['p', 'q']");
	/* 28 */ expect_ok(c, om_list_splice(l, 1, 3, NULL, 0));
	expect_list(l, "[0.5, 7, False]");
	/* 29 */ expect_ok(c, om_list_sort(l, false));
	expect_list(l, "[False, 0.5, 7]");
	/* 30 */ expect_ok(c, om_list_len(l, &n));
	assert_int_equal(n, 3);
	/* 31 */ expect_ok(c, om_list_count(l, om_float(0.0), &n));
	assert_int_equal(n, 1);
	/* 32 */ {
		om_item v[] = {om_str("w")};
		expect_ok(c, om_list_splice(l, 5, 1, v, 1));
	}
	expect_list(l, "[False, 0.5, 7, 'w']");
	/* 33 */ expect_ok(c, om_list_slice(l, -2, INT64_MAX, &s));
	expect_items(&s, "[7, 'w']");
	/* 34 */ expect_ok(c, om_list_clear(l));
	expect_list(l, "[]");
	/* 35 */ expect_rc(c, om_list_pop(l, -1, &it), OM_EINDEX);
	om_release(l);
	om_disconnect(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_extend_insert),
		cmocka_unit_test(test_get_set_del),
		cmocka_unit_test(test_pop),
		cmocka_unit_test(test_remove_index_equality),
		cmocka_unit_test(test_count_contains_len),
		cmocka_unit_test(test_sort_kinds),
		cmocka_unit_test(test_sort_stable),
		cmocka_unit_test(test_sort_errors),
		cmocka_unit_test(test_slice),
		cmocka_unit_test(test_splice),
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_einval),
		cmocka_unit_test(test_named_shared),
		cmocka_unit_test(test_python_sequence),
	};
	return RUN(tests, 60, srv_setup, srv_teardown);
}
