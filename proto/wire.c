/*
 * wire.c — framing, arena, buffers and item semantics shared by objmgrd and
 * libobjmgr. See wire.h for the contract of each function.
 */
#include "wire.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

/* ----------------------------------------------------------------- status */

/* The wire numbers are the negated C codes: checked here, at compile time,
 * from the one error table in objmgr.h, so the two cannot drift. */
#define OMI_CHECK_(name, code, msg)                                            \
	_Static_assert(OBJMGR__STATUS__##name == -(code),                      \
	               "wire status " #name " drifted from OM_" #name);
OM_ERRNO_MAP(OMI_CHECK_)
#undef OMI_CHECK_

int omi_status_to_code(int status)
{
	if (status == OBJMGR__STATUS__OK)
		return OM_OK;
	if (status == OBJMGR__STATUS__OWNER_DIED)
		return OM_OWNER_DIED;
	switch (status) {
#define OMI_CASE_(name, code, msg)                                             \
	case OBJMGR__STATUS__##name:                                           \
		return OM_##name;
		OM_ERRNO_MAP(OMI_CASE_)
#undef OMI_CASE_
	}
	return OM_EPROTO;
}

int omi_code_to_status(int code)
{
	if (code == OM_OWNER_DIED)
		return OBJMGR__STATUS__OWNER_DIED;
	return code <= 0 ? -code : OBJMGR__STATUS__OK;
}

/* ------------------------------------------------------------------ types */

/* The wire's Type numbers are om_type's: checked from the one type table. */
#define OMI_CHECK_(NAME, code, stem)                                           \
	_Static_assert(OBJMGR__TYPE__##NAME == (code),                         \
	               "wire type " #NAME " drifted from OM_TYPE_" #NAME);
OM_TYPE_MAP(OMI_CHECK_)
#undef OMI_CHECK_

bool omi_type_valid(int type)
{
	switch (type) {
#define OMI_CASE_(NAME, code, stem) case OM_TYPE_##NAME:
		OM_TYPE_MAP(OMI_CASE_)
#undef OMI_CASE_
		return true;
	}
	return false;
}

/* -------------------------------------------------------------- addresses */

/* "HOST:PORT" or "[V6]:PORT" (after "tcp:") -> out. */
static int parse_tcp(const char *s, struct omi_addr *out, char *err,
                     size_t errlen)
{
	const char *host = s, *colon;
	size_t hlen;
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':') {
			snprintf(err, errlen, "tcp:[V6ADDR]:PORT: no ']:'");
			return OM_EINVAL;
		}
		host = s + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			snprintf(err, errlen, "tcp:HOST:PORT: no port");
			return OM_EINVAL;
		}
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen)) {
			snprintf(err, errlen,
			         "an IPv6 address needs brackets: "
			         "tcp:[V6ADDR]:PORT");
			return OM_EINVAL;
		}
	}
	if (hlen == 0 || hlen >= sizeof out->host) {
		snprintf(err, errlen, "tcp: %s host",
		         hlen ? "too long a" : "no");
		return OM_EINVAL;
	}
	const char *port = colon + 1;
	size_t plen = strlen(port);
	unsigned long v = 0;
	for (size_t i = 0; i < plen && v <= 65535; i++) {
		if (port[i] < '0' || port[i] > '9') {
			plen = 0;
			break;
		}
		v = v * 10 + (unsigned long)(port[i] - '0');
	}
	if (plen == 0 || plen > 5 || v > 65535) {
		snprintf(err, errlen, "tcp: bad port '%s' (0..65535)", port);
		return OM_EINVAL;
	}
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	snprintf(out->port, sizeof out->port, "%lu", v);
	out->tcp = true;
	return OM_OK;
}

int omi_parse_address(const char *address, struct omi_addr *out, char *err,
                      size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (errlen)
		err[0] = '\0';
	if (!address || !*address)
		address = getenv("OBJMGR_ADDRESS");
	int len;
	if (address && *address) {
		if (!strncmp(address, "tcp:", 4))
			return parse_tcp(address + 4, out, err, errlen);
		if (!strncmp(address, "unix:", 5))
			address += 5;
		else if (strstr(address, "://")) {
			snprintf(err, errlen,
			         "unknown scheme (a path, unix:PATH or "
			         "tcp:HOST:PORT)");
			return OM_EINVAL;
		}
		len = snprintf(out->path, sizeof out->path, "%s", address);
	} else {
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		if (xdg && *xdg)
			len = snprintf(out->path, sizeof out->path,
			               "%s/objmgr.sock", xdg);
		else
			len = snprintf(out->path, sizeof out->path,
			               "/tmp/objmgr-%u/objmgr.sock",
			               (unsigned)geteuid());
	}
	struct sockaddr_un sun;
	_Static_assert(sizeof out->path == sizeof sun.sun_path,
	               "omi_addr.path is a sun_path");
	if (len <= 0 || (size_t)len >= sizeof out->path) {
		snprintf(err, errlen, "%s socket path",
		         len <= 0 ? "an empty" : "too long a");
		return OM_EINVAL;
	}
	return OM_OK;
}

void omi_format_sockaddr(const struct sockaddr *sa, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "";
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		snprintf(buf, cap, "tcp:%s:%u", host,
		         (unsigned)ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		snprintf(buf, cap, "tcp:[%s]:%u", host,
		         (unsigned)ntohs(in6->sin6_port));
	} else {
		snprintf(buf, cap, "unix");
	}
}

/* ---------------------------------------------------------------- buffers */

int omi_buf_reserve(struct omi_buf *b, size_t more)
{
	if (b->cap - b->len >= more)
		return OM_OK;
	if (b->off > 0 && b->off >= b->len / 2) {
		omi_buf_compact(b);
		if (b->cap - b->len >= more)
			return OM_OK;
	}
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < more) {
		if (cap > SIZE_MAX / 2)
			return OM_ENOMEM;
		cap *= 2;
	}
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return OM_ENOMEM;
	b->p = p;
	b->cap = cap;
	return OM_OK;
}

void omi_buf_compact(struct omi_buf *b)
{
	if (b->off == 0)
		return;
	memmove(b->p, b->p + b->off, b->len - b->off);
	b->len -= b->off;
	b->off = 0;
}

void omi_buf_free(struct omi_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

int omi_buf_put_msg(struct omi_buf *b, const ProtobufCMessage *msg,
                    size_t max)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	if (n > max || n > UINT32_MAX)
		return OM_ETOOBIG;
	int rc = omi_buf_reserve(b, OMI_FRAME_HDR + n);
	if (rc)
		return rc;
	uint8_t *p = b->p + b->len;
	p[0] = (uint8_t)n;
	p[1] = (uint8_t)(n >> 8);
	p[2] = (uint8_t)(n >> 16);
	p[3] = (uint8_t)(n >> 24);
	protobuf_c_message_pack(msg, p + OMI_FRAME_HDR);
	b->len += OMI_FRAME_HDR + n;
	return OM_OK;
}

int omi_buf_frame(const struct omi_buf *b, size_t max, const uint8_t **body,
                  size_t *len)
{
	size_t have = b->len - b->off;
	if (have < OMI_FRAME_HDR)
		return 0;
	const uint8_t *p = b->p + b->off;
	size_t n = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 |
	           (size_t)p[3] << 24;
	if (n > max)
		return OM_ETOOBIG;
	if (have - OMI_FRAME_HDR < n)
		return 0;
	*body = p + OMI_FRAME_HDR;
	*len = n;
	return 1;
}

/* ------------------------------------------------------------------ arena */

struct omi_chunk {
	struct omi_chunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

enum { ARENA_FIRST = 8192, ARENA_KEEP_MAX = 1 << 20 };

static void *arena_pb_alloc(void *data, size_t n)
{
	return omi_arena_alloc(data, n);
}

static void arena_pb_free(void *data, void *p)
{
	/* Arena memory goes back all at once, in omi_arena_reset(). */
	(void)data;
	(void)p;
}

void omi_arena_init(struct omi_arena *a)
{
	a->head = NULL;
	a->failed = false;
	a->pb.alloc = arena_pb_alloc;
	a->pb.free = arena_pb_free;
	a->pb.allocator_data = a;
}

void *omi_arena_alloc(struct omi_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct omi_chunk *c = a->head;
	if (!c || c->size - c->used < n) {
		size_t size = c ? c->size * 2 : ARENA_FIRST;
		while (size < n)
			size *= 2;
		struct omi_chunk *nc = malloc(sizeof *nc + size);
		if (!nc) {
			a->failed = true;
			return NULL;
		}
		nc->size = size;
		nc->used = 0;
		nc->next = c;
		a->head = c = nc;
	}
	void *p = c->data + c->used;
	c->used += n;
	return p;
}

void omi_arena_reset(struct omi_arena *a)
{
	a->failed = false;
	struct omi_chunk *c = a->head;
	if (!c)
		return;
	/* Chunks double, so the head is the largest: keep it unless a huge
	 * request made it, and free the rest. */
	struct omi_chunk *rest = c->next;
	if (c->size > ARENA_KEEP_MAX) {
		rest = c;
		a->head = NULL;
	} else {
		c->next = NULL;
		c->used = 0;
	}
	while (rest) {
		struct omi_chunk *next = rest->next;
		free(rest);
		rest = next;
	}
}

void omi_arena_free(struct omi_arena *a)
{
	omi_arena_reset(a);
	free(a->head);
	a->head = NULL;
}

/* ------------------------------------------------------------------ items */

int omi_item_from_pb(const Objmgr__Item *pb, om_item *out)
{
	switch (pb->v_case) {
	case OBJMGR__ITEM__V_NIL:
		out->kind = OM_NIL;
		return OM_OK;
	case OBJMGR__ITEM__V_B:
		out->kind = OM_BOOL;
		out->b = pb->b != 0;
		return OM_OK;
	case OBJMGR__ITEM__V_I:
		out->kind = OM_INT;
		out->i = pb->i;
		return OM_OK;
	case OBJMGR__ITEM__V_F:
		out->kind = OM_FLOAT;
		out->f = pb->f;
		return OM_OK;
	case OBJMGR__ITEM__V_S:
	case OBJMGR__ITEM__V_BY: {
		const ProtobufCBinaryData *d =
		        pb->v_case == OBJMGR__ITEM__V_S ? &pb->s : &pb->by;
		out->kind = pb->v_case == OBJMGR__ITEM__V_S ? OM_STR : OM_BYTES;
		out->s.ptr = d->len ? (const char *)d->data : "";
		out->s.len = d->len;
		return OM_OK;
	}
	case OBJMGR__ITEM__V_REF:
		if (!pb->ref || pb->ref->id == 0 ||
		    !omi_type_valid((int)pb->ref->type))
			return OM_EINVAL;
		out->kind = OM_REF;
		out->ref.id = pb->ref->id;
		out->ref.type = (int)pb->ref->type;
		return OM_OK;
	default:
		return OM_EINVAL;
	}
}

void omi_item_to_pb(const om_item *it, Objmgr__Item *pb, Objmgr__Ref *ref)
{
	objmgr__item__init(pb);
	switch (it->kind) {
	case OM_BOOL:
		pb->v_case = OBJMGR__ITEM__V_B;
		pb->b = it->b;
		break;
	case OM_INT:
		pb->v_case = OBJMGR__ITEM__V_I;
		pb->i = it->i;
		break;
	case OM_FLOAT:
		pb->v_case = OBJMGR__ITEM__V_F;
		pb->f = it->f;
		break;
	case OM_STR:
	case OM_BYTES: {
		ProtobufCBinaryData d = {it->s.len, (uint8_t *)it->s.ptr};
		if (it->kind == OM_STR) {
			pb->v_case = OBJMGR__ITEM__V_S;
			pb->s = d;
		} else {
			pb->v_case = OBJMGR__ITEM__V_BY;
			pb->by = d;
		}
		break;
	}
	case OM_REF:
		objmgr__ref__init(ref);
		ref->id = it->ref.id;
		ref->type = (Objmgr__Type)it->ref.type;
		pb->v_case = OBJMGR__ITEM__V_REF;
		pb->ref = ref;
		break;
	case OM_NIL:
	default:
		pb->v_case = OBJMGR__ITEM__V_NIL;
		pb->nil = 1;
		break;
	}
}

Objmgr__Item **omi_items_to_pb(struct omi_arena *a, const om_item *items,
                               size_t n)
{
	if (n == 0)
		return NULL;
	Objmgr__Item **v = omi_arena_alloc(a, n * sizeof *v);
	Objmgr__Item *pbs = omi_arena_alloc(a, n * sizeof *pbs);
	if (!v || !pbs)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		Objmgr__Ref *ref = NULL;
		if (items[i].kind == OM_REF) {
			ref = omi_arena_alloc(a, sizeof *ref);
			if (!ref)
				return NULL;
		}
		omi_item_to_pb(&items[i], &pbs[i], ref);
		v[i] = &pbs[i];
	}
	return v;
}

int omi_item_dup(om_item *dst, const om_item *src)
{
	*dst = *src;
	if (src->kind != OM_STR && src->kind != OM_BYTES)
		return OM_OK;
	char *p = malloc(src->s.len + 1);
	if (!p) {
		dst->kind = OM_NIL;
		return OM_ENOMEM;
	}
	if (src->s.len)
		memcpy(p, src->s.ptr, src->s.len);
	p[src->s.len] = '\0';
	dst->s.ptr = p;
	return OM_OK;
}

void omi_item_clear(om_item *it)
{
	if (it->kind == OM_STR || it->kind == OM_BYTES)
		free((void *)it->s.ptr);
	memset(it, 0, sizeof *it);
	it->kind = OM_NIL;
}

const char *omi_kind_name(const om_item *it)
{
	switch (it->kind) {
	case OM_NIL:
		return "NoneType";
	case OM_BOOL:
		return "bool";
	case OM_INT:
		return "int";
	case OM_FLOAT:
		return "float";
	case OM_STR:
		return "str";
	case OM_BYTES:
		return "bytes";
	case OM_REF:
		return "ref";
	}
	return "?";
}

bool omi_item_is_num(const om_item *it)
{
	return it->kind == OM_BOOL || it->kind == OM_INT ||
	       it->kind == OM_FLOAT;
}

/* bool counts as int 0/1, as in Python. */
static int64_t as_int(const om_item *it)
{
	return it->kind == OM_BOOL ? (int64_t)it->b : it->i;
}

/* Exact comparison of an int64 with a double (no rounding of the int).
 * *res is <0, 0, >0; returns false if f is NaN (unordered). */
static bool cmp_int_float(int64_t i, double f, int *res)
{
	if (isnan(f))
		return false;
	if (f >= 9223372036854775808.0) {
		*res = -1;
		return true;
	}
	if (f < -9223372036854775808.0) {
		*res = 1;
		return true;
	}
	double t = trunc(f);
	int64_t ti = (int64_t)t;
	if (i != ti)
		*res = i < ti ? -1 : 1;
	else
		*res = f > t ? -1 : (f < t ? 1 : 0);
	return true;
}

/* Numbers: false if unordered (NaN involved). */
static bool cmp_num(const om_item *a, const om_item *b, int *res)
{
	bool af = a->kind == OM_FLOAT, bf = b->kind == OM_FLOAT;
	if (!af && !bf) {
		int64_t x = as_int(a), y = as_int(b);
		*res = (x > y) - (x < y);
		return true;
	}
	if (af && bf) {
		if (isnan(a->f) || isnan(b->f))
			return false;
		*res = (a->f > b->f) - (a->f < b->f);
		return true;
	}
	if (af) {
		if (!cmp_int_float(as_int(b), a->f, res))
			return false;
		*res = -*res;
		return true;
	}
	return cmp_int_float(as_int(a), b->f, res);
}

static int cmp_bytes(const om_item *a, const om_item *b)
{
	size_t n = a->s.len < b->s.len ? a->s.len : b->s.len;
	int r = n ? memcmp(a->s.ptr, b->s.ptr, n) : 0;
	if (r)
		return r < 0 ? -1 : 1;
	return (a->s.len > b->s.len) - (a->s.len < b->s.len);
}

bool omi_item_eq(const om_item *a, const om_item *b)
{
	if (omi_item_is_num(a) && omi_item_is_num(b)) {
		int r;
		return cmp_num(a, b, &r) && r == 0;
	}
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case OM_NIL:
		return true;
	case OM_STR:
	case OM_BYTES:
		return a->s.len == b->s.len &&
		       (a->s.len == 0 || !memcmp(a->s.ptr, b->s.ptr, a->s.len));
	case OM_REF:
		return a->ref.id == b->ref.id;
	default:
		return false;
	}
}

static uint64_t mix64(uint64_t x)
{
	/* splitmix64's finaliser: cheap, and every input bit moves every
	 * output bit, which open addressing with masks needs. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t hash_bytes(const char *p, size_t n, uint64_t seed)
{
	/* FNV-1a over 8-byte words, finished with mix64: keys are short. */
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
	}
	for (; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return mix64(h ^ n);
}

uint64_t omi_item_hash(const om_item *it)
{
	switch (it->kind) {
	case OM_NIL:
		return 0x6e696c6e696cULL;
	case OM_BOOL:
	case OM_INT:
		return mix64((uint64_t)as_int(it));
	case OM_FLOAT: {
		double f = it->f;
		/* Integral floats hash as the int they equal (and -0.0 as 0). */
		if (f == trunc(f) && f >= -9223372036854775808.0 &&
		    f < 9223372036854775808.0)
			return mix64((uint64_t)(int64_t)f);
		uint64_t bits;
		memcpy(&bits, &f, sizeof bits);
		return mix64(bits ^ 0x5555555555555555ULL);
	}
	case OM_STR:
		return hash_bytes(it->s.ptr, it->s.len, 's');
	case OM_BYTES:
		return hash_bytes(it->s.ptr, it->s.len, 'b');
	case OM_REF:
		return mix64(it->ref.id ^ 0x7265667265660000ULL);
	}
	return 0;
}

int omi_item_cmp(const om_item *a, const om_item *b, int *res)
{
	if (omi_item_is_num(a) && omi_item_is_num(b)) {
		/* NaN is unordered: Python's sort treats every comparison with
		 * it as false, which is "equal" for a stable sort. */
		if (!cmp_num(a, b, res))
			*res = 0;
		return OM_OK;
	}
	if ((a->kind == OM_STR || a->kind == OM_BYTES) && a->kind == b->kind) {
		*res = cmp_bytes(a, b);
		return OM_OK;
	}
	return OM_ETYPE;
}

int omi_item_add(const om_item *a, const om_item *b, om_item *out)
{
	if (!omi_item_is_num(a) || !omi_item_is_num(b))
		return OM_ETYPE;
	if (a->kind == OM_FLOAT || b->kind == OM_FLOAT) {
		double x = a->kind == OM_FLOAT ? a->f : (double)as_int(a);
		double y = b->kind == OM_FLOAT ? b->f : (double)as_int(b);
		*out = (om_item){.kind = OM_FLOAT, .f = x + y};
		return OM_OK;
	}
	int64_t r;
	if (__builtin_add_overflow(as_int(a), as_int(b), &r))
		return OM_EVALUE;
	*out = (om_item){.kind = OM_INT, .i = r};
	return OM_OK;
}

void omi_recv_fds(const struct msghdr *msg, void (*take)(void *arg, int fd),
                  void *arg)
{
	for (struct cmsghdr *h = CMSG_FIRSTHDR(msg); h;
	     h = CMSG_NXTHDR((struct msghdr *)msg, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(h) + i * sizeof fd, sizeof fd);
			take(arg, fd);
		}
	}
}
