/*
 * array.c — the client side of the array type (Python's manager.Array, a
 * fixed-length array of ints or floats); server/array.c is the other half.
 *
 * A mapped array (map.c) is read and changed here: its elements are
 * 8-byte words loaded, stored and added to atomically (shm.h,
 * omi_sarray_*), with the server's checks and messages. A range read
 * holds the array's own lock (a lock word in the segment, recursive:
 * om_array_lock's) while it copies, so it never sees half of a range
 * write. A range write is always the server's (ARRAY_WRITE), done under
 * the same lock: a writer killed half-way through its own copy would leave
 * a mixed range, and the server is never killed half-way through a
 * request. Unmapped, and in a pipeline, each call packs its positions and
 * items into one request (see the ARRAY_* ops in proto/objmgr.proto:
 * positions in num/num2, items in args) and runs it with omi_call(); its
 * completion (done.c) copies what the server answered into the caller's
 * outputs, at once or, in a pipeline, at om_pipeline_end().
 *
 * Positions are size_t here and int64 on the wire: one that does not fit
 * is past any end, so OM_EINDEX without a round trip. Outputs are written
 * only on success; required output pointers that are NULL are OM_EINVAL
 * before anything else.
 */
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"
#include "shm.h"

#define OMI_TYPE OM_TYPE_ARRAY /* the rows' type (OMI_CALL, internal.h) */

/* *out = manager.Array(kind, [0] * length), or the one called `name` */
int om_array_open(om_client *c, const char *name, int flags, om_kind kind,
                  size_t length, om_array **out)
{
	if (kind != OM_INT && kind != OM_FLOAT)
		return omi_fail(c, OM_EINVAL,
		                "array kind must be OM_INT or OM_FLOAT");
	if (length > INT64_MAX)
		return omi_fail(c, OM_EINVAL, "array length too large");
	om_item p[2] = {om_int(kind), om_int((int64_t)length)};
	return omi_open(c, name, flags, OM_TYPE_ARRAY, p, 2, (void **)out);
}

/* `it` as an element of mapped array h, or OM_ETYPE with the server's
 * message (its to_elem()). */
static int to_elem(struct omi_handle *h, const om_item *it, uint64_t *bits)
{
	int rc = omi_sarray_elem(h->shm_kind, it, bits);
	if (rc == OM_OK)
		return rc;
	return omi_fail(h->c, rc,
	                h->shm_kind == OM_INT ? OMI_MSG_NOT_INT
	                                      : OMI_MSG_NOT_REAL,
	                omi_kind_name(it));
}

/* *out = a[i] */
int om_array_get(om_array *a, size_t i, om_item *out)
{
	if (!out)
		return OM_EINVAL;
	if (i > INT64_MAX)
		return OM_EINDEX;
	OMI_LOCAL(h, a, 0, ARRAY_GET, NULL, 0, (int64_t)i, omi_done_item, out);
	if (i >= h->shm_len)
		return omi_fail(h->c, OM_EINDEX,
		                "array index %lld out of range", (long long)i);
	*out = omi_sarray_get(h->shm, h->shm_kind, i);
	return OM_OK;
}

/* a[i] = it */
int om_array_set(om_array *a, size_t i, om_item it)
{
	if (i > INT64_MAX)
		return OM_EINDEX;
	OMI_LOCAL(h, a, 0, ARRAY_SET, &it, 1, (int64_t)i, NULL, NULL);
	int rc = omi_check_items(h->c, &it, 1);
	if (rc)
		return rc;
	if (i >= h->shm_len)
		return omi_fail(h->c, OM_EINDEX,
		                "array assignment index %lld out of range",
		                (long long)i);
	uint64_t bits;
	if ((rc = to_elem(h, &it, &bits)))
		return rc;
	omi_sarray_put(h->shm, i, bits);
	omi_wrote(h);
	return OM_OK;
}

/* a[i] += delta; *out = a[i] (atomic) */
int om_array_add(om_array *a, size_t i, om_item delta, om_item *out)
{
	if (i > INT64_MAX)
		return OM_EINDEX;
	OMI_LOCAL(h, a, 0, ARRAY_ADD, &delta, 1, (int64_t)i, omi_done_item,
	          out);
	om_client *c = h->c;
	int rc = omi_check_items(c, &delta, 1);
	if (rc)
		return rc;
	if (i >= h->shm_len)
		return omi_fail(c, OM_EINDEX, "array index %lld out of range",
		                (long long)i);
	om_item sum;
	rc = omi_sarray_add(h->shm, h->shm_kind, i, &delta, &sum);
	if (rc == OM_OK) {
		omi_wrote(h);
		if (out)
			*out = sum;
		return OM_OK;
	}
	/* The element as the server's message shows it (clients may have
	 * moved it since). A number that fails is a float sum that an int
	 * array cannot hold. */
	om_item cur = omi_sarray_get(h->shm, h->shm_kind, i);
	if (rc == OM_ETYPE && omi_item_is_num(&delta))
		return omi_fail(c, rc, OMI_MSG_NOT_INT, "float");
	return omi_add_fail(c, rc, &cur, &delta);
}

/* *n = len(a) */
int om_array_len(om_array *a, size_t *n)
{
	if (!n)
		return OM_EINVAL;
	OMI_LOCAL(h, a, 0, ARRAY_LEN, NULL, 0, 0, omi_done_size, n);
	*n = (size_t)h->shm_len;
	return OM_OK;
}

/* a[start:start + n] of mapped array h -> *out, under the array's lock. */
static int read_local(struct omi_handle *h, size_t start, size_t n,
                      om_items *out)
{
	om_client *c = h->c;
	if (start > h->shm_len || n > h->shm_len - start)
		return omi_fail(c, OM_EINDEX,
		                "array read of %lld items at %lld out of range "
		                "(length %zu)",
		                (long long)n, (long long)start,
		                (size_t)h->shm_len);
	om_items res = {NULL, 0};
	if (n == 0) {
		*out = res;
		return OM_OK;
	}
	if (!(res.v = calloc(n, sizeof *res.v)))
		return omi_fail(c, OM_ENOMEM, "out of memory for %lld items",
		                (long long)n);
	/* A holder that died is no concern of a reader's: the warning is
	 * left for the next om_array_lock(). */
	struct omi_slock *l = omi_shm_state(h->shm);
	int rc = omi_shm_lock(c, l, true, OM_FOREVER);
	if (rc == OM_EVALUE)
		omi_fail(c, rc, "array lock acquired too often");
	if (rc < 0)
		goto out_free;
	bool died = rc == OM_OWNER_DIED;
	for (size_t k = 0; k < n; k++)
		res.v[k] = omi_sarray_get(h->shm, h->shm_kind, start + k);
	res.n = n;
	omi_shm_unlock(c, l, died);
	*out = res;
	return OM_OK;

out_free:
	free(res.v);
	return rc;
}

/* *out = a[start:start + n] */
int om_array_read(om_array *a, size_t start, size_t n, om_items *out)
{
	if (!out)
		return OM_EINVAL;
	if (start > INT64_MAX || n > INT64_MAX)
		return OM_EINDEX;
	struct omi_handle *h;
	int rc = omi_local(a, OMI_TYPE, 0, &h);
	if (rc < 0)
		return rc;
	if (h)
		return read_local(h, start, n, out);
	/* out2 carries the count the answer must have. */
	struct omi_args args = {.op = OBJMGR__OP__ARRAY_READ,
	                        .num = (int64_t)start,
	                        .num2 = (int64_t)n,
	                        .done = omi_done_items_n,
	                        .out = out,
	                        .out2 = (void *)(uintptr_t)n};
	return omi_call(a, OMI_TYPE, &args);
}

/* a[start:start + n] = items (atomic); always the server's (see above) */
int om_array_write(om_array *a, size_t start, const om_item *items, size_t n)
{
	if (!items && n > 0)
		return OM_EINVAL;
	if (start > INT64_MAX)
		return OM_EINDEX;
	return omi_call_op(a, OMI_TYPE, OBJMGR__OP__ARRAY_WRITE, items, n,
	                   (int64_t)start, 0, NULL, NULL);
}

/* a.get_lock().acquire(timeout) -> OK | OWNER_DIED | ETIMEOUT */
int om_array_lock(om_array *a, double timeout)
{
	OMI_LOCAL(h, a, timeout, ARRAY_LOCK, NULL, 0, 0, NULL, NULL);
	int rc = omi_shm_lock(h->c, omi_shm_state(h->shm), true, timeout);
	if (rc >= 0)
		omi_wrote(h);
	return rc;
}

/* a.get_lock().release() | ENOTOWNER */
int om_array_unlock(om_array *a)
{
	OMI_LOCAL(h, a, 0, ARRAY_UNLOCK, NULL, 0, 0, NULL, NULL);
	int rc = omi_shm_unlock(h->c, omi_shm_state(h->shm), false);
	if (rc >= 0)
		omi_wrote(h);
	return rc;
}

/* *base, *n = the mapped elements (Python: the Array's buffer) */
int om_array_map(om_array *a, void **base, size_t *n)
{
	if (!base || !n)
		return OM_EINVAL;
	struct omi_handle *h;
	int rc = omi_use(a, OMI_TYPE, 0, &h);
	if (rc < 0)
		return rc;
	if (!h->shm)
		return omi_fail(h->c, OM_EINVAL,
		                "the array is not in shared memory (a remote "
		                "client, or OBJMGR_SHM=0)");
	*base = omi_shm_data(h->shm);
	*n = (size_t)h->shm_len;
	return OM_OK;
}
