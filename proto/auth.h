/*
 * auth.h — the authentication of TCP connections (objmgr.proto,
 * "Authentication"), shared by objmgrd and libobjmgr: the key file's rules,
 * fresh challenges, and the HMAC-SHA256 proofs, all through OpenSSL's
 * libcrypto (no crypto is written here).
 */
#ifndef OMI_AUTH_H
#define OMI_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	OMI_CHALLENGE_LEN = 32,
	OMI_PROOF_LEN = 32,      /* SHA-256 */
	OMI_KEY_MAX = 64 * 1024, /* a key file's bytes, at most */
	/* The largest frame a TCP peer may send before its Hello is
	 * accepted (a Hello is about 100 bytes): a stranger cannot make the
	 * server buffer --max-frame. */
	OMI_STRANGER_FRAME = 4096,
};

/**
 * Read a key file: refused unless it is a regular file owned by this
 * process's euid with no group or other permission bits (0600 or
 * stricter); the key is its bytes less one trailing newline, 1 to
 * OMI_KEY_MAX bytes. *key is malloc'd (free it with omi_key_free).
 * @return 0, or -1 with why in err.
 */
int omi_read_key_file(const char *path, uint8_t **key, size_t *len, char *err,
                      size_t errlen);
/** Wipe and free a key from omi_read_key_file (or any malloc'd key). */
void omi_key_free(uint8_t *key, size_t len);

/** Fill out with OMI_CHALLENGE_LEN fresh random bytes (RAND_bytes).
 *  @return 0, or -1 if the generator failed. */
int omi_challenge(uint8_t *out);

/**
 * The proof of side `server` (false: the client's): HMAC-SHA256(key,
 * label || first || second), the label "objmgr-v1 client" or "objmgr-v1
 * server"; first/second are the challenges in the order the .proto gives
 * (the client's proof: server's, then client's; the server's: client's,
 * then server's). @return 0, or -1 if libcrypto failed.
 */
int omi_proof(const uint8_t *key, size_t keylen, bool server,
              const uint8_t *first, const uint8_t *second, uint8_t *out);

/** Whether `proof` (len bytes) is the expected one, compared in constant
 *  time; false for a wrong length or if the expected cannot be made. */
bool omi_proof_ok(const uint8_t *key, size_t keylen, bool server,
                  const uint8_t *first, const uint8_t *second,
                  const uint8_t *proof, size_t len);

#endif /* OMI_AUTH_H */
