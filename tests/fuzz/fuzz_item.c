/*
 * fuzz_item.c — libFuzzer target: the item decoder and Python's item
 * semantics (proto/wire.c).
 *
 * The input is one encoded Item message. It is decoded (objmgr__item__unpack,
 * omi_item_from_pb), and a valid item is put through everything wire.h does
 * with items: a deep copy, equality and hashing (which must agree: a == b
 * implies hash(a) == hash(b)), ordering (antisymmetric), addition, and
 * packing back, whose bytes must decode to an equal item.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define CHECK(cond)                                                     \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "fuzz_item: %s:%d: %s\n",       \
			        __FILE__, __LINE__, #cond);             \
			abort();                                        \
		}                                                       \
	} while (0)

/* A few fixed items to compare and add the decoded one with. */
static om_item fixed(int i)
{
	om_item it = {.kind = OM_NIL};
	switch (i) {
	case 0:
		break;
	case 1:
		it.kind = OM_BOOL;
		it.b = true;
		break;
	case 2:
		it.kind = OM_INT;
		it.i = 1;
		break;
	case 3:
		it.kind = OM_INT;
		it.i = INT64_MAX;
		break;
	case 4:
		it.kind = OM_FLOAT;
		it.f = 1.0;
		break;
	case 5:
		it.kind = OM_FLOAT;
		it.f = NAN;
		break;
	case 6:
		it.kind = OM_STR;
		it.s.ptr = "abc";
		it.s.len = 3;
		break;
	case 7:
		it.kind = OM_BYTES;
		it.s.ptr = "abc";
		it.s.len = 3;
		break;
	default:
		it.kind = OM_REF;
		it.ref.id = 1;
		it.ref.type = OM_TYPE_DICT;
		break;
	}
	return it;
}
enum { NFIXED = 9 };

static bool is_nan(const om_item *it)
{
	return it->kind == OM_FLOAT && isnan(it->f);
}

static void pair(const om_item *a, const om_item *b)
{
	bool eq = omi_item_eq(a, b);
	CHECK(eq == omi_item_eq(b, a));
	if (eq)
		CHECK(omi_item_hash(a) == omi_item_hash(b));
	int r1 = 0, r2 = 0;
	int rc1 = omi_item_cmp(a, b, &r1), rc2 = omi_item_cmp(b, a, &r2);
	CHECK(rc1 == rc2);
	if (rc1 == OM_OK && !is_nan(a) && !is_nan(b)) {
		CHECK((r1 < 0) == (r2 > 0));
		CHECK((r1 == 0) == (r2 == 0));
		if (eq)
			CHECK(r1 == 0);
	}
	om_item sum, sum2;
	int ra = omi_item_add(a, b, &sum), rb = omi_item_add(b, a, &sum2);
	CHECK(ra == rb);
	if (ra == OM_OK) {
		CHECK(omi_item_is_num(&sum));
		if (!is_nan(&sum) && !is_nan(&sum2))
			CHECK(omi_item_eq(&sum, &sum2));
		(void)omi_kind_name(&sum);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Objmgr__Item *pb = objmgr__item__unpack(NULL, size, data);
	if (!pb)
		return 0;
	om_item it;
	if (omi_item_from_pb(pb, &it) != OM_OK) {
		objmgr__item__free_unpacked(pb, NULL);
		return 0;
	}
	(void)omi_kind_name(&it);
	(void)omi_item_extra(&it);

	om_item copy;
	CHECK(omi_item_dup(&copy, &it) == OM_OK);
	CHECK(copy.kind == it.kind);
	if (!is_nan(&it))
		CHECK(omi_item_eq(&it, &copy));
	CHECK(omi_item_hash(&it) == omi_item_hash(&copy));
	if (copy.kind == OM_STR || copy.kind == OM_BYTES)
		CHECK(copy.s.ptr[copy.s.len] == '\0');

	pair(&it, &copy);
	for (int i = 0; i < NFIXED; i++) {
		om_item f = fixed(i);
		pair(&it, &f);
	}

	/* Pack the copy again: it must decode to an equal item. */
	Objmgr__Item out;
	Objmgr__Ref ref;
	omi_item_to_pb(&copy, &out, &ref);
	size_t n = objmgr__item__get_packed_size(&out);
	uint8_t *buf = malloc(n ? n : 1);
	CHECK(buf);
	CHECK(objmgr__item__pack(&out, buf) == n);
	Objmgr__Item *back = objmgr__item__unpack(NULL, n, buf);
	CHECK(back);
	om_item again;
	CHECK(omi_item_from_pb(back, &again) == OM_OK);
	CHECK(again.kind == copy.kind);
	if (!is_nan(&copy))
		CHECK(omi_item_eq(&again, &copy));
	objmgr__item__free_unpacked(back, NULL);
	free(buf);

	omi_item_clear(&copy);
	CHECK(copy.kind == OM_NIL);
	objmgr__item__free_unpacked(pb, NULL);
	return 0;
}
