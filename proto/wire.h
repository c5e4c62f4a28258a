/*
 * wire.h — what the server and the client share: framing, a bump arena for
 * protobuf decoding, byte buffers, the om_item <-> protobuf conversion, and
 * Python's semantics for items (equality, hashing, ordering, addition).
 *
 * Written once here and linked into both objmgrd and libobjmgr (as the
 * static library libomwire), so the two sides cannot disagree. Nothing here
 * is exported from libobjmgr: the omi_ prefix marks it internal.
 */
#ifndef OMI_WIRE_H
#define OMI_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objmgr.h"
#include "objmgr.pb-c.h"

#define OMI_PROTO_VERSION 1u
#define OMI_FRAME_HDR     4u

/* ----------------------------------------------------------------- status */

/** Wire status -> C return code (OM_OK, OM_E*, OM_OWNER_DIED). */
int omi_status_to_code(int status);
/** C return code -> wire status. */
int omi_code_to_status(int code);

/* ------------------------------------------------------------------ types */

/** Whether `type` is an om_type (a row of OM_TYPE_MAP). */
bool omi_type_valid(int type);

/* -------------------------------------------------------------- addresses */

/* A parsed address: a Unix socket path, or a TCP host and port. */
struct omi_addr {
	bool tcp;
	char path[108]; /* Unix: the socket path (sizeof sun_path) */
	char host[256]; /* TCP: a name or a literal (no brackets) */
	char port[8];   /* TCP: decimal, 0..65535 */
};

/**
 * Parse an address, the same way on both sides (server, client, spawn):
 * a path, "unix:PATH", "tcp:HOST:PORT", "tcp:[V6ADDR]:PORT", or NULL/""
 * for the default ($OBJMGR_ADDRESS, else $XDG_RUNTIME_DIR/objmgr.sock,
 * else /tmp/objmgr-$UID/objmgr.sock).
 * @return OM_OK, or OM_EINVAL with why in err (a path too long for a Unix
 *         socket, an empty host, a bad port, another scheme).
 */
int omi_parse_address(const char *address, struct omi_addr *out, char *err,
                      size_t errlen);

struct sockaddr;
/** "tcp:1.2.3.4:5678", "tcp:[::1]:5678" for an inet address, "unix" for
 *  anything else, in buf (cap bytes, always terminated). */
void omi_format_sockaddr(const struct sockaddr *sa, char *buf, size_t cap);

/* ---------------------------------------------------------------- buffers */

/* A growable byte buffer: bytes [off, len) are pending. */
struct omi_buf {
	uint8_t *p;
	size_t off, len, cap;
};

/** Make room for `more` bytes after len. @return 0 or OM_ENOMEM. */
int omi_buf_reserve(struct omi_buf *b, size_t more);
/** Drop consumed bytes [0, off) by moving the pending ones to the front. */
void omi_buf_compact(struct omi_buf *b);
void omi_buf_free(struct omi_buf *b);

/**
 * Append one frame holding `msg` to `b`: the length header, then the packed
 * message. @return 0, OM_ENOMEM, or OM_ETOOBIG if it is over `max` bytes.
 */
int omi_buf_put_msg(struct omi_buf *b, const ProtobufCMessage *msg, size_t max);

/**
 * Look for a whole frame in b's pending bytes.
 * @return 1 and set *body and *len if one is there (the caller consumes it by
 *         advancing b->off by OMI_FRAME_HDR + *len), 0 if more bytes are
 *         needed, OM_ETOOBIG if the header announces more than `max`.
 */
int omi_buf_frame(const struct omi_buf *b, size_t max, const uint8_t **body,
                  size_t *len);

/* ------------------------------------------------------------------ arena */

/*
 * A bump allocator for the short-lived memory of one request: protobuf-c
 * decodes into it (no malloc per field) and response messages are built in
 * it. Reset after each request; the first chunk is kept, so a steady
 * workload allocates nothing.
 */
struct omi_arena {
	struct omi_chunk *head; /* current chunk; older ones follow */
	ProtobufCAllocator pb;  /* hands out arena memory to protobuf-c */
	bool failed; /* an allocation failed since the last reset: an unpack
	              * that returned NULL ran out of memory */
};

void omi_arena_init(struct omi_arena *a);
/** @return 16-byte aligned memory, or NULL when malloc fails. */
void *omi_arena_alloc(struct omi_arena *a, size_t n);
/** Free everything allocated since the last reset (keeps one chunk). */
void omi_arena_reset(struct omi_arena *a);
void omi_arena_free(struct omi_arena *a);

/* ------------------------------------------------------------------ items */

/**
 * Borrow a protobuf Item as an om_item (bytes point into `pb`).
 * @return OM_OK, or OM_EINVAL for an Item with no field set or a bad Ref.
 */
int omi_item_from_pb(const Objmgr__Item *pb, om_item *out);

/**
 * Fill `pb` (already initialised or not) from `it`, borrowing its bytes;
 * `ref` is storage for the Ref sub-message of an OM_REF item.
 */
void omi_item_to_pb(const om_item *it, Objmgr__Item *pb, Objmgr__Ref *ref);

/**
 * Build `n` protobuf Items for `items` in the arena: an array of pointers
 * for a repeated field. @return the array, or NULL when out of memory.
 */
Objmgr__Item **omi_items_to_pb(struct omi_arena *a, const om_item *items,
                               size_t n);

/** A deep copy of `src` into `dst`: STR/BYTES get their own NUL-terminated
 *  copy. @return OM_OK or OM_ENOMEM (dst is then OM_NIL). */
int omi_item_dup(om_item *dst, const om_item *src);
/** Free what omi_item_dup() allocated; leaves OM_NIL. */
void omi_item_clear(om_item *it);

/** Python's type name for an item's kind ("int", "NoneType", ...), for
 *  error messages that read like Python's. */
const char *omi_kind_name(const om_item *it);
/** True for OM_BOOL, OM_INT and OM_FLOAT (Python's numbers). */
bool omi_item_is_num(const om_item *it);
/** Python ==. */
bool omi_item_eq(const om_item *a, const om_item *b);
/** A hash consistent with omi_item_eq (1, 1.0 and true hash alike). */
uint64_t omi_item_hash(const om_item *it);
/**
 * Python ordering: numbers numerically, str with str and bytes with bytes
 * bytewise. Sets *res to <0, 0 or >0. @return OM_OK, or OM_ETYPE for kinds
 * that cannot be ordered (nil, refs, str with bytes, number with str).
 */
int omi_item_cmp(const om_item *a, const om_item *b, int *res);
/**
 * Python a + b on numbers: bool and int add as int (OM_EVALUE on int64
 * overflow), anything with a float gives a float.
 * @return OM_OK, or OM_ETYPE if either is not a number.
 */
int omi_item_add(const om_item *a, const om_item *b, om_item *out);

struct msghdr;
/** Call take(arg, fd) for each descriptor recvmsg() brought in `msg`
 *  (SCM_RIGHTS), in the order they were sent. */
void omi_recv_fds(const struct msghdr *msg, void (*take)(void *arg, int fd),
                  void *arg);

/** Bytes an item holds beyond its struct (for memory accounting). */
static inline size_t omi_item_extra(const om_item *it)
{
	return (it->kind == OM_STR || it->kind == OM_BYTES) ? it->s.len + 1 : 0;
}

#endif /* OMI_WIRE_H */
