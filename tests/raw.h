/*
 * raw.h — the objmgr protocol by hand, for tests that play a misbehaving
 * peer: frames and protobuf encoded here from objmgr.proto, over raw Unix
 * sockets that fail the test instead of hanging it.
 */
#ifndef RAW_H
#define RAW_H

#include "harness.h"

#include <stdint.h>
#include <sys/types.h>

/* Status and op numbers from objmgr.proto. */
enum {
	ST_OK = 0,
	ST_ETYPE = 4,
	ST_ENOENT = 11,
	ST_EAUTH = 14,
	ST_EPROTO = 15,
	ST_ETOOBIG = 16,
	ST_ENOMEM = 17,
	ST_EINVAL = 18,
};
enum {
	OP_PING = 1,
	OP_OPEN = 4,
	OP_DICT_SET = 100,
	OP_DICT_GET = 101,
	OP_DICT_LEN = 107,
	OP_LIST_LEN = 211,
	OP_QUEUE_GET = 301,
};

struct enc {
	uint8_t b[16384];
	size_t n;
};

struct msg {
	uint64_t f[16];
	size_t nresults;
	uint64_t ref_id;
};

/* Encoding: a message is built field by field into an enc. */
void put_varint(struct enc *e, uint64_t v);
uint64_t zigzag(int64_t v);
/** A varint field (wire type 0). */
void put_uint(struct enc *e, unsigned field, uint64_t v);
/** A length-delimited field (wire type 2). */
void put_bytes(struct enc *e, unsigned field, const void *p, size_t n);
/** A double field (wire type 1). */
void put_double(struct enc *e, unsigned field, double v);
/** Start a Request: id (1, left out if 0), target (2), op (3). */
void req(struct enc *e, uint64_t id, uint64_t target, uint64_t op);
/** Request.args (4): an Item holding str s / int v. */
void arg_str(struct enc *e, const char *s);
void arg_int(struct enc *e, int64_t v);

/* Decoding: a Response or Hello into a struct msg. */
bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);
/** Walk a message: varint fields into m->f[]; each length-delimited field
 *  to on_bytes (may be NULL). @return false if it does not decode. */
bool decode(const uint8_t *p, size_t n, struct msg *m,
            void (*on_bytes)(struct msg *, unsigned, const uint8_t *, size_t));
/** on_bytes for a Response: counts results, takes the first one's ref. */
void on_response(struct msg *m, unsigned field, const uint8_t *p, size_t n);
void on_item(struct msg *m, unsigned field, const uint8_t *p, size_t n);

/* Sockets: every read gives up after 10 s, so a server that never
 * answers fails the test instead of hanging it. */
/** A connected raw socket (closed by raw_close_all at teardown). */
int raw_connect(const char *path);
void raw_close(int fd);
void raw_write(int fd, const void *p, size_t n);
/** A frame header for a body of n bytes. */
void put_hdr(uint8_t *h, uint32_t n);
/** One frame, header and body in one write. */
void raw_frame(int fd, const void *body, size_t n);
bool read_all(int fd, void *p, size_t n);
/** Read one frame into buf (cap bytes): its length, or -1. */
ssize_t raw_read_frame(int fd, uint8_t *buf, size_t cap);
/** Read and decode one Response or Hello; fails the test if none comes. */
void raw_read_msg(int fd, struct msg *m);
/** The server closed the connection: the next read sees end-of-file. */
void expect_closed(int fd);
/** Send Hello{version} and read the server's Hello into m. */
void raw_hello_v(int fd, uint32_t version, struct msg *m);
/** A raw connection to srv (harness.h) past a good Hello. */
int raw_session(void);
/** Send request e and read its response: its status. */
uint64_t raw_call(int fd, const struct enc *e, struct msg *m);
/** OPEN an anonymous object of `type`: its id. */
uint64_t raw_open(int fd, uint64_t id, int type);
/** A PING is still answered OK (the connection stays). */
void raw_expect_ping(int fd, uint64_t id);
/** Close every raw socket still open (a cmocka teardown). */
void raw_close_all(void);

#endif /* RAW_H */
