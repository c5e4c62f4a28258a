/*
 * map.c — a client's mappings of shared-memory segments (see "Shared
 * memory" in docs/DESIGN.md): MAP when a handle is made, the checks a
 * segment passes before any call runs on it, the kick of the server's
 * kick socket, and om_is_shared(). The rules that change a segment's state
 * are proto/shm.c's, shared with the server; each type's file runs them
 * on its mapped handles (value.c, array.c, lock.c, sem.c, event.c) when
 * omi_local() says the call runs here.
 *
 * A mapping is an optimisation, never a requirement: whatever fails on
 * the way (an older server, OBJMGR_SHM=0, no descriptors left, a segment
 * that does not check) leaves the handle unmapped, and its calls go to
 * the server, which applies them to the same state.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "shm.h"

/* MAP's answer as its completion takes it: the segment's size, the
 * object's fixed attributes (the server's copy, never the segment's, which
 * any client that maps it may write) and the two descriptors, found in the
 * client's c->afds (see pipeline.c). */
struct map_out {
	om_client *c;
	size_t size;
	uint64_t len;
	uint32_t kind, flags;
	int seg, ev;
};

/* MAP -> num = size, results [len, kind, flags], fds = [segment, kick
 * socket] -> struct map_out *out */
static int map_done(const Objmgr__Response *r, void *out, void *out2)
{
	(void)out2;
	struct map_out *m = out;
	om_client *c = m->c;
	if (r->fds != 2 || c->n_afds != 2 || r->num < OMI_SHM_DATA ||
	    (uint64_t)r->num > SIZE_MAX || r->n_results != 3)
		return OM_EPROTO;
	int64_t attr[3];
	for (int i = 0; i < 3; i++) {
		const Objmgr__Item *it = r->results[i];
		if (it->v_case != OBJMGR__ITEM__V_I || it->i < 0)
			return OM_EPROTO;
		attr[i] = it->i;
	}
	m->len = (uint64_t)attr[0];
	m->kind = (uint32_t)attr[1];
	m->flags = (uint32_t)attr[2];
	m->size = (size_t)r->num;
	m->seg = c->afds[0];
	m->ev = c->afds[1];
	c->afds[0] = c->afds[1] = -1; /* ours now */
	return OM_OK;
}

/* The types whose state the server keeps in a segment. */
static bool mappable(int type)
{
	switch (type) {
	case OM_TYPE_ARRAY:
	case OM_TYPE_VALUE:
	case OM_TYPE_LOCK:
	case OM_TYPE_SEM:
	case OM_TYPE_EVENT:
		return true;
	default:
		return false;
	}
}

/* Map the segment of answer m (the file must be as large as the answer
 * says: a smaller one would SIGBUS past its end) for handle h: NULL if it
 * cannot be, or if the attributes do not fit it. Those come from the
 * answer, the server's copy: the segment's own header is written by the
 * server but writable by every client that maps it, so nothing is taken
 * from there. */
static void *map_segment(struct omi_handle *h, const struct map_out *m)
{
	struct omi_shm_hdr hdr = {.magic = OMI_SHM_MAGIC,
	                          .type = (uint32_t)h->type,
	                          .id = h->id,
	                          .size = m->size,
	                          .len = m->len,
	                          .kind = m->kind,
	                          .flags = m->flags};
	struct stat st;
	if (!omi_shm_check(&hdr, m->size, h->type, h->id) ||
	    fstat(m->seg, &st) || st.st_size < 0 ||
	    (uint64_t)st.st_size != m->size)
		return NULL;
	void *base = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED,
	                  m->seg, 0);
	if (base == MAP_FAILED)
		return NULL;
	h->shm_len = hdr.len;
	h->shm_kind = (om_kind)hdr.kind;
	h->shm_flags = hdr.flags;
	return base;
}

void omi_map(om_client *c, struct omi_handle *h)
{
	if (!c->may_map || !mappable(h->type))
		return;
	struct map_out m = {.c = c, .seg = -1, .ev = -1};
	struct omi_args a = {
	        .op = OBJMGR__OP__MAP, .done = map_done, .out = &m};
	if (omi_rpc(c, h->id, &a) < 0) {
		c->errmsg[0] = '\0'; /* not mapped is no failure of the open */
		return;
	}
	/* The server has one kick socket: keep the first copy. */
	if (c->kick_fd < 0)
		c->kick_fd = m.ev;
	else
		close(m.ev);
	h->shm = map_segment(h, &m);
	if (h->shm)
		h->shm_size = m.size;
	close(m.seg); /* the mapping keeps the segment */
}

void omi_unmap(struct omi_handle *h)
{
	if (h->shm)
		munmap(h->shm, h->shm_size);
	h->shm = NULL;
}

void omi_kick(om_client *c)
{
	/* Never blocks: a full queue (EAGAIN) means kicks the server has not
	 * read yet, and one read serves them all. */
	if (c->kick_fd >= 0)
		while (send(c->kick_fd, "k", 1, MSG_DONTWAIT | MSG_NOSIGNAL) <
		               0 &&
		       errno == EINTR)
			;
}

void omi_watched_write(struct omi_handle *h)
{
	omi_shm_dirty(h->shm);
	omi_kick(h->c);
}

/* An int operand as Python would print it in the overflow message. */
static long long as_int(const om_item *it)
{
	return it->kind == OM_BOOL ? it->b : (long long)it->i;
}

int omi_add_fail(om_client *c, int rc, const om_item *a, const om_item *b)
{
	if (rc == OM_ETYPE)
		return omi_fail(c, rc, OMI_MSG_ADD_TYPES, omi_kind_name(a),
		                omi_kind_name(b));
	return omi_fail(c, rc, OMI_MSG_OVERFLOW, as_int(a), as_int(b));
}

int omi_shm_lock(om_client *c, struct omi_slock *l, bool recursive,
                 double timeout)
{
	int rc = omi_slock_acquire(l, c->session, recursive, timeout);
	if (rc == OM_EVALUE)
		return omi_fail(c, rc, "lock acquired too often");
	return rc < 0 ? omi_local_fail(c, rc) : rc;
}

int omi_shm_unlock(om_client *c, struct omi_slock *l, bool died)
{
	uint32_t old;
	if (omi_slock_release(l, c->session, died, &old))
		return omi_fail(c, OM_ENOTOWNER,
		                "cannot release un-acquired lock");
	omi_slock_wake(l, old);
	if (old & OMI_LK_SRV)
		omi_kick(c);
	return OM_OK;
}

bool om_is_shared(const void *handle)
{
	struct omi_handle *h = omi_handle_get(handle);
	if (!h || !h->shm || h->c->lost)
		return false;
	if (h->type != OM_TYPE_VALUE)
		return true;
	/* A value is in the cell while it holds a number or a bool. */
	om_item it;
	return omi_svalue_unpack(omi_svalue_load(omi_shm_state(h->shm)), &it);
}
