/*
 * auth.c — key files, challenges and proofs for TCP connections. See
 * auth.h; the protocol is objmgr.proto's "Authentication".
 */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

int omi_read_key_file(const char *path, uint8_t **key, size_t *len, char *err,
                      size_t errlen)
{
	*key = NULL;
	*len = 0;
	uint8_t *buf = NULL;
	/* O_NOFOLLOW | O_NONBLOCK: the checks are on what is opened (fstat),
	 * not on a name that could change, and a FIFO cannot stall us. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "key file %s is not a regular file",
		         path);
		goto out_close;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
		         "key file %s has mode %04o: group or others may "
		         "read it (chmod 600)",
		         path, (unsigned)(st.st_mode & 07777));
		goto out_close;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "key file %s is owned by uid %u, not %u",
		         path, (unsigned)st.st_uid, (unsigned)geteuid());
		goto out_close;
	}
	if (st.st_size > OMI_KEY_MAX + 1) {
		snprintf(err, errlen, "key file %s is over %d bytes", path,
		         OMI_KEY_MAX);
		goto out_close;
	}
	/* One byte more than the largest key and its newline: a file that
	 * grew since fstat is still caught. */
	size_t cap = OMI_KEY_MAX + 2, n = 0;
	if (!(buf = malloc(cap))) {
		snprintf(err, errlen, "out of memory for the key");
		goto out_close;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "key file %s: %s", path,
			         strerror(errno));
			goto out_free;
		}
		if (r == 0 || (n += (size_t)r) == cap)
			break;
	}
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n == 0 || n > OMI_KEY_MAX) {
		snprintf(err, errlen, "key file %s is %s", path,
		         n ? "over 64 KiB" : "empty");
		goto out_free;
	}
	close(fd);
	*key = buf;
	*len = n;
	return 0;

out_free:
	omi_key_free(buf, cap);
out_close:
	close(fd);
	return -1;
}

void omi_key_free(uint8_t *key, size_t len)
{
	if (!key)
		return;
	OPENSSL_cleanse(key, len);
	free(key);
}

int omi_challenge(uint8_t *out)
{
	return RAND_bytes(out, OMI_CHALLENGE_LEN) == 1 ? 0 : -1;
}

int omi_proof(const uint8_t *key, size_t keylen, bool server,
              const uint8_t *first, const uint8_t *second, uint8_t *out)
{
	static const char client_label[] = "objmgr-v1 client";
	static const char server_label[] = "objmgr-v1 server";
	enum { LABEL = sizeof client_label - 1 };
	_Static_assert(sizeof client_label == sizeof server_label,
	               "labels of one length");
	uint8_t msg[LABEL + 2 * OMI_CHALLENGE_LEN];
	memcpy(msg, server ? server_label : client_label, LABEL);
	memcpy(msg + LABEL, first, OMI_CHALLENGE_LEN);
	memcpy(msg + LABEL + OMI_CHALLENGE_LEN, second, OMI_CHALLENGE_LEN);
	unsigned n = 0;
	if (keylen > (size_t)OMI_KEY_MAX ||
	    !HMAC(EVP_sha256(), key, (int)keylen, msg, sizeof msg, out, &n) ||
	    n != OMI_PROOF_LEN)
		return -1;
	return 0;
}

bool omi_proof_ok(const uint8_t *key, size_t keylen, bool server,
                  const uint8_t *first, const uint8_t *second,
                  const uint8_t *proof, size_t len)
{
	uint8_t want[OMI_PROOF_LEN];
	if (len != OMI_PROOF_LEN ||
	    omi_proof(key, keylen, server, first, second, want))
		return false;
	bool ok = CRYPTO_memcmp(want, proof, OMI_PROOF_LEN) == 0;
	OPENSSL_cleanse(want, sizeof want);
	return ok;
}
