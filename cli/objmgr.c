/*
 * objmgr.c — the command line: redis-cli for objmgr.
 *
 *   objmgr [-a ADDRESS] [--authkey-file F] [--json] COMMAND [ARGS]
 *
 * A client of the public API only (objmgr.h): it knows nothing of the wire
 * protocol, so what it can do any C program can. Items on the command line
 * are JSON where they parse as JSON, else a str; output is JSON with
 * --json, else Python-like reprs and aligned tables. docs/man/objmgr.1 is
 * its manual: keep the two true to each other.
 *
 * An object's state is first gathered into a tree of nodes (its om_dump
 * items, with refs opened and expanded for `dump`), then printed by one of
 * two renderers, so that `get`, `dump` and `watch` show one object one way
 * in both forms.
 *
 * Exit status: 0 ok, 1 the server answered with an error (printed as
 * "objmgr: NAME: message"), 2 usage errors or no server to talk to.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "objmgr.h"

#ifndef OMI_VERSION
#define OMI_VERSION "unknown"
#endif

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2 };

/* How deep `dump` follows refs before it shows a ref as a ref: nesting
 * that deep is a chain, not a structure anyone reads, and each level is
 * an open handle and a round trip. */
#define MAX_DEPTH 64

/* Largest key file read: a key is a secret, not a document. */
#define MAX_KEY (64 * 1024)

/* ---------------------------------------------------------------- tables */

/* Error names from the one error table: "ENOENT" for OM_ENOENT. */
static const char *err_name(int code)
{
	switch (code) {
#define OM_X_(name, code, msg) \
	case code:             \
		return #name;
		OM_ERRNO_MAP(OM_X_)
#undef OM_X_
	default:
		return "ERROR";
	}
}

/* Type names from the one type table: "dict" for OM_TYPE_DICT, NULL for a
 * number not in it. */
static const char *type_name(int type)
{
	switch (type) {
#define OM_X_(NAME, code, stem) \
	case code:              \
		return #stem;
		OM_TYPE_MAP(OM_X_)
#undef OM_X_
	default:
		return NULL;
	}
}

/* The number of a type name ("dict"), or 0. */
static int type_code(const char *name)
{
#define OM_X_(NAME, code, stem)       \
	if (strcmp(name, #stem) == 0) \
		return code;
	OM_TYPE_MAP(OM_X_)
#undef OM_X_
	return 0;
}

/* ------------------------------------------------------------------ state */

struct cli {
	const char *address;
	const char *keyfile;
	bool json;
	unsigned char *key;
	size_t keylen;
	om_client *c;   /* the connection commands run on */
	om_items *keep; /* every om_dump result a tree borrows from */
	size_t nkeep, capkeep;
	int precision; /* digits the JSON reals need to round-trip */
};

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Say what went wrong on the command line. @return EXIT_USAGE. */
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("objmgr: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(objmgr --help for the commands)\n", stderr);
	return EXIT_USAGE;
}

/* Print a failed call as "objmgr: ENOENT: message" (the server's words
 * when it gave some). @return the exit status: EXIT_USAGE when there is
 * no server to talk to (OM_ECONN), else EXIT_ERR. */
static int fail(const om_client *c, int rc)
{
	const char *msg = om_errmsg(c);
	if (!msg || !*msg)
		msg = om_strerror(rc);
	fprintf(stderr, "objmgr: %s: %s\n", err_name(rc), msg);
	return rc == OM_ECONN ? EXIT_USAGE : EXIT_ERR;
}

/* An error the CLI finds itself about the server's objects (a list index
 * that is not an int): reported like the server's. @return EXIT_ERR. */
static int fail_msg(int rc, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "objmgr: %s: ", err_name(rc));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_ERR;
}

/* Out of memory in the CLI itself. */
static void die_nomem(void)
{
	fputs("objmgr: ENOMEM: out of memory\n", stderr);
	exit(EXIT_ERR);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		die_nomem();
	return p;
}

/* Keep an om_dump result until the end of the command (the nodes built
 * from it borrow its items). Takes ownership of *items. */
static void keep_items(struct cli *cli, om_items *items)
{
	if (cli->nkeep == cli->capkeep) {
		size_t cap = cli->capkeep ? 2 * cli->capkeep : 8;
		om_items *k = realloc(cli->keep, cap * sizeof *k);
		if (!k)
			die_nomem();
		cli->keep = k;
		cli->capkeep = cap;
	}
	cli->keep[cli->nkeep++] = *items;
	*items = (om_items){0};
}

static void cli_free(struct cli *cli)
{
	for (size_t i = 0; i < cli->nkeep; i++)
		om_items_free(&cli->keep[i]);
	free(cli->keep);
	if (cli->key)
		OPENSSL_cleanse(cli->key, cli->keylen);
	free(cli->key);
	om_disconnect(cli->c);
}

/* ------------------------------------------------------------- connecting */

/* Read --authkey-file: its bytes less one trailing newline, refused unless
 * the file is mode 0600 or stricter (as objmgrd refuses its own).
 * @return 0, or an exit status after saying why. */
static int read_key(struct cli *cli)
{
	int status = EXIT_USAGE;
	int fd = open(cli->keyfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "objmgr: %s: %s\n", cli->keyfile,
		        strerror(errno));
		return EXIT_USAGE;
	}
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "objmgr: %s: not a regular file\n",
		        cli->keyfile);
		goto out_close;
	}
	if (st.st_mode & 077) {
		fprintf(stderr,
		        "objmgr: %s: mode %04o: a key file must be 0600 or "
		        "stricter\n",
		        cli->keyfile, (unsigned)(st.st_mode & 07777));
		goto out_close;
	}
	cli->key = xcalloc(MAX_KEY + 1, 1);
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, cli->key + len, MAX_KEY + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "objmgr: %s: %s\n", cli->keyfile,
			        strerror(errno));
			goto out_close;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > MAX_KEY) {
			fprintf(stderr, "objmgr: %s: over %d bytes\n",
			        cli->keyfile, MAX_KEY);
			goto out_close;
		}
	}
	if (len && cli->key[len - 1] == '\n')
		len--;
	if (!len) {
		fprintf(stderr, "objmgr: %s: the key is empty\n", cli->keyfile);
		goto out_close;
	}
	cli->keylen = len;
	status = 0;
out_close:
	close(fd);
	return status;
}

/* A new connection to the server, with the key if one was given.
 * @return 0, or an exit status after saying why. */
static int dial(struct cli *cli, om_client **out)
{
	int rc = cli->key ? om_connect_key(cli->address, cli->key, cli->keylen,
	                                   out)
	                  : om_connect(cli->address, out);
	if (rc == OM_OK)
		return 0;
	const char *msg = om_errmsg(NULL);
	fprintf(stderr, "objmgr: %s: %s\n", err_name(rc),
	        msg && *msg ? msg : om_strerror(rc));
	/* No server there, or no address to look at: nothing answered. */
	return rc == OM_ECONN || rc == OM_EINVAL ? EXIT_USAGE : EXIT_ERR;
}

/* ------------------------------------------------------ items from JSON */

/* Base64 of n bytes (OpenSSL's encoder), NUL-terminated; free() it. */
static char *b64_encode(const void *p, size_t n)
{
	if (n > (SIZE_MAX / 4) * 3 - 3 || n > INT_MAX / 2)
		die_nomem();
	char *out = xcalloc(4 * ((n + 2) / 3) + 1, 1);
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* Decode base64 text (OpenSSL's decoder, which counts the padding as
 * bytes: it is taken off again). @return the bytes (free() them) and *n,
 * or NULL if the text is not base64. */
static unsigned char *b64_decode(const char *s, size_t len, size_t *n)
{
	if (len % 4 || len > INT_MAX)
		return NULL;
	unsigned char *out = xcalloc(len / 4 * 3 + 1, 1);
	int r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (r < 0) {
		free(out);
		return NULL;
	}
	size_t pad = 0;
	if (len && s[len - 1] == '=')
		pad++;
	if (len > 1 && s[len - 2] == '=')
		pad++;
	*n = (size_t)r - pad;
	return out;
}

/* Floats JSON cannot write (nan, inf) are {"float": "nan"} both ways. */
static bool float_word(const char *w, double *f)
{
	if (strcmp(w, "nan") == 0)
		*f = NAN;
	else if (strcmp(w, "inf") == 0)
		*f = INFINITY;
	else if (strcmp(w, "-inf") == 0)
		*f = -INFINITY;
	else
		return false;
	return true;
}

/*
 * A command-line argument as an item: JSON where it parses as JSON (42,
 * 4.5, true, null, "text", {"bytes": "<base64>"}, {"ref": ID, "type":
 * "dict"}), else the argument itself as a str. *buf receives memory the
 * item borrows (free() it after use).
 * @return 0, or EXIT_USAGE after saying why (JSON that is not an item).
 */
static int parse_item(const char *what, const char *arg, om_item *out,
                      void **buf)
{
	*buf = NULL;
	json_error_t err;
	json_t *j = json_loads(arg, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (!j) {
		*out = om_str(arg);
		return 0;
	}
	int status = 0;
	switch (json_typeof(j)) {
	case JSON_NULL:
		*out = om_nil();
		break;
	case JSON_TRUE:
		*out = om_bool(true);
		break;
	case JSON_FALSE:
		*out = om_bool(false);
		break;
	case JSON_INTEGER:
		*out = om_int((int64_t)json_integer_value(j));
		break;
	case JSON_REAL:
		*out = om_float(json_real_value(j));
		break;
	case JSON_STRING: {
		size_t n = json_string_length(j);
		char *s = xcalloc(n + 1, 1);
		memcpy(s, json_string_value(j), n);
		*buf = s;
		*out = om_strn(s, n);
		break;
	}
	case JSON_OBJECT: {
		json_t *b = json_object_get(j, "bytes");
		json_t *f = json_object_get(j, "float");
		json_t *r = json_object_get(j, "ref");
		json_t *t = json_object_get(j, "type");
		double fv;
		if (json_object_size(j) == 1 && json_is_string(b)) {
			size_t n;
			unsigned char *p =
			        b64_decode(json_string_value(b),
			                   json_string_length(b), &n);
			if (!p) {
				status = usage_error("%s: bad base64 in %s",
				                     what, arg);
				break;
			}
			*buf = p;
			*out = om_bytes(p, n);
		} else if (json_object_size(j) == 1 && json_is_string(f) &&
		           float_word(json_string_value(f), &fv)) {
			*out = om_float(fv);
		} else if (json_object_size(j) == 2 && json_is_integer(r) &&
		           json_integer_value(r) > 0 && json_is_string(t) &&
		           type_code(json_string_value(t))) {
			out->kind = OM_REF;
			out->ref.id = (uint64_t)json_integer_value(r);
			out->ref.type = type_code(json_string_value(t));
		} else {
			status = usage_error(
			        "%s: %s: a JSON object is an item only as "
			        "{\"bytes\": BASE64} or {\"ref\": ID, "
			        "\"type\": "
			        "TYPE}",
			        what, arg);
		}
		break;
	}
	case JSON_ARRAY:
		status = usage_error("%s: %s: a JSON array is not an item "
		                     "(nothing is created implicitly)",
		                     what, arg);
		break;
	}
	json_decref(j);
	return status;
}

/* ---------------------------------------------------------------- nodes */

/*
 * An object's state as a tree: items where they are items, dicts and
 * lists where the object is a container, records (named fields) for the
 * state of the other types, and CYCLE where `dump` meets an object it is
 * already inside (Python's [...]).
 */
enum node_kind { N_ITEM, N_DICT, N_LIST, N_RECORD, N_CYCLE };

struct node {
	enum node_kind kind;
	const om_item *item; /* N_ITEM, N_CYCLE (the ref): borrowed */
	struct node *v;      /* N_DICT: 2n (key, value); else n */
	size_t n;
	const char *const *fields; /* N_RECORD: n names */
};

static void node_clear(struct node *nd)
{
	size_t n = nd->kind == N_DICT ? 2 * nd->n : nd->n;
	for (size_t i = 0; i < n; i++)
		node_clear(&nd->v[i]);
	free(nd->v);
	*nd = (struct node){0};
}

/* The ids of the objects `dump` is inside, outermost first. */
struct path {
	uint64_t id[MAX_DEPTH];
	size_t n;
};

static int build_state(struct cli *cli, const void *h, int type,
                       struct path *path, bool expand, struct node *out);

/* A node for one item: with `expand`, a ref is opened and its object's
 * state put in its place. @return OM_OK or the failed call's code. */
static int build_item(struct cli *cli, const om_item *it, struct path *path,
                      bool expand, struct node *out)
{
	*out = (struct node){.kind = N_ITEM, .item = it};
	if (it->kind != OM_REF || !expand || path->n == MAX_DEPTH)
		return OM_OK;
	for (size_t i = 0; i < path->n; i++)
		if (path->id[i] == it->ref.id) {
			out->kind = N_CYCLE;
			return OM_OK;
		}
	void *h;
	int rc = om_open_ref(cli->c, it, &h);
	if (rc == OM_ENOENT)
		return OM_OK; /* gone since it was read: shown as the ref */
	if (rc < 0)
		return rc;
	path->id[path->n++] = it->ref.id;
	rc = build_state(cli, h, it->ref.type, path, expand, out);
	path->n--;
	om_release(h);
	return rc;
}

/* n nodes for the items v[0..n-1]. */
static int build_items(struct cli *cli, const om_item *v, size_t n,
                       struct path *path, bool expand, struct node *out)
{
	out->v = xcalloc(n, sizeof *out->v);
	out->n = n;
	for (size_t i = 0; i < n; i++) {
		int rc = build_item(cli, &v[i], path, expand, &out->v[i]);
		if (rc < 0)
			return rc;
	}
	return OM_OK;
}

static const char *const lock_fields[] = {"holder", "level"};
static const char *const sem_fields[] = {"value"};
static const char *const event_fields[] = {"set"};
static const char *const cond_fields[] = {"lock", "waiters"};
static const char *const barrier_fields[] = {"parties", "waiting", "broken"};
static const char *const pipe_fields[] = {"waiting", "peer_open"};
static const char *const pool_fields[] = {"processes", "workers", "queued",
                                          "running", "closed"};

/*
 * The state of the object behind handle h (of type `type`) as a node, from
 * om_dump (objmgr.h says what it holds for each type): a dict is a dict, a
 * list, array or queue a list, a value its item, and the other types a
 * record of named fields ({'holder': 0, 'level': 0} for a lock). On
 * failure *out may hold a partial tree: node_clear() it either way.
 */
static int build_state(struct cli *cli, const void *h, int type,
                       struct path *path, bool expand, struct node *out)
{
	om_items items = {0};
	int rc = om_dump(h, &items);
	if (rc < 0)
		return rc;
	const om_item *v = items.v;
	size_t n = items.n;
	keep_items(cli, &items);
	const char *const *fields = NULL;
	size_t nfields = 0;
	switch (type) {
	case OM_TYPE_DICT:
		if (n % 2)
			break;
		*out = (struct node){.kind = N_DICT};
		out->v = xcalloc(n, sizeof *out->v);
		out->n = n / 2;
		for (size_t i = 0; i < n; i++) {
			rc = build_item(cli, &v[i], path, expand, &out->v[i]);
			if (rc < 0)
				return rc;
		}
		return OM_OK;
	case OM_TYPE_VALUE:
		if (n != 1)
			break;
		return build_item(cli, &v[0], path, expand, out);
	case OM_TYPE_PIPE: {
		/* The messages waiting at the end, and whether its peer is
		 * open. */
		if (n < 1)
			break;
		*out = (struct node){.kind = N_RECORD, .fields = pipe_fields};
		out->v = xcalloc(2, sizeof *out->v);
		out->n = 2;
		out->v[0].kind = N_LIST;
		rc = build_items(cli, v, n - 1, path, expand, &out->v[0]);
		if (rc < 0)
			return rc;
		return build_item(cli, &v[n - 1], path, expand, &out->v[1]);
	}
#define FIELDS(T, f)                              \
	case OM_TYPE_##T:                         \
		fields = f;                       \
		nfields = sizeof f / sizeof f[0]; \
		break;
		FIELDS(LOCK, lock_fields)
		FIELDS(SEM, sem_fields)
		FIELDS(EVENT, event_fields)
		FIELDS(COND, cond_fields)
		FIELDS(BARRIER, barrier_fields)
		FIELDS(POOL, pool_fields)
#undef FIELDS
	default: /* list, array, queue */
		break;
	}
	/* A record where the items are as many as its fields; anything else
	 * (a list, an array, a queue, a state of an unexpected shape) is a
	 * list of its items. */
	*out = (struct node){.kind = N_LIST};
	if (fields && n == nfields) {
		out->kind = N_RECORD;
		out->fields = fields;
	}
	return build_items(cli, v, n, path, expand, out);
}

/* ------------------------------------------------------ Python's reprs */

/* Python's repr of a float: the shortest digits that read back as f, in
 * fixed notation unless the exponent is below -4 or above 15 ('1e+16',
 * '1e-05'), and '.0' on a whole number. */
static void repr_float(FILE *f, double x)
{
	if (isnan(x)) {
		fputs("nan", f);
		return;
	}
	if (isinf(x)) {
		fputs(x < 0 ? "-inf" : "inf", f);
		return;
	}
	char buf[64];
	for (int p = 0; p < 17; p++) {
		snprintf(buf, sizeof buf, "%.*e", p, x);
		if (strtod(buf, NULL) == x)
			break;
	}
	/* buf: [-]d[.ddd]e±XX; digits without the point and trailing zeros,
	 * and the point's place (x = 0.DIGITS * 10^decpt). */
	const char *s = buf;
	bool neg = *s == '-';
	if (neg)
		s++;
	char digits[32];
	size_t nd = 0;
	for (; *s != 'e'; s++)
		if (*s != '.')
			digits[nd++] = *s;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = 0;
	int decpt = atoi(s + 1) + 1;
	if (neg)
		fputc('-', f);
	if (decpt <= -4 || decpt > 16) {
		int e = decpt - 1;
		fputc(digits[0], f);
		if (nd > 1)
			fprintf(f, ".%s", digits + 1);
		fprintf(f, "e%c%02d", e < 0 ? '-' : '+', abs(e));
	} else if (decpt <= 0) {
		fputs("0.", f);
		for (int i = 0; i < -decpt; i++)
			fputc('0', f);
		fputs(digits, f);
	} else if ((size_t)decpt >= nd) {
		fputs(digits, f);
		for (int i = (int)nd; i < decpt; i++)
			fputc('0', f);
		fputs(".0", f);
	} else {
		fprintf(f, "%.*s.%s", decpt, digits, digits + decpt);
	}
}

/* The length of the UTF-8 sequence at p (of n bytes) and its code point,
 * or 0 if it is not valid UTF-8. */
static size_t utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c = p[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Whether Python's repr shows code point cp (>= U+00A0) as itself: not a
 * separator other than ' ', a format character or a private-use one —
 * the common cases of str.isprintable(); unassigned code points, which
 * change with each Unicode version, are shown as themselves. */
static bool py_printable(uint32_t cp)
{
	static const uint32_t not_printable[][2] = {
	        {0xa0, 0xa0},        {0xad, 0xad},       {0x600, 0x605},
	        {0x61c, 0x61c},      {0x6dd, 0x6dd},     {0x70f, 0x70f},
	        {0x1680, 0x1680},    {0x180e, 0x180e},   {0x2000, 0x200f},
	        {0x2028, 0x202f},    {0x205f, 0x2064},   {0x2066, 0x206f},
	        {0x3000, 0x3000},    {0xe000, 0xf8ff},   {0xfeff, 0xfeff},
	        {0xfff9, 0xfffb},    {0xe0001, 0xe0001}, {0xe0020, 0xe007f},
	        {0xf0000, 0x10ffff},
	};
	for (size_t i = 0; i < sizeof not_printable / sizeof not_printable[0];
	     i++)
		if (cp >= not_printable[i][0] && cp <= not_printable[i][1])
			return false;
	return true;
}

/* Python's repr of a str (is_bytes false) or bytes: single quotes unless
 * the text holds a ' and no ", backslash escapes for the quote, \\, \t,
 * \n, \r and other control bytes; a str shows printable characters beyond
 * ASCII as themselves, bytes never. */
static void repr_text(FILE *f, const char *p, size_t n, bool is_bytes)
{
	const unsigned char *s = (const unsigned char *)p;
	bool squote = memchr(p, '\'', n) != NULL;
	bool dquote = memchr(p, '"', n) != NULL;
	char q = squote && !dquote ? '"' : '\'';
	if (is_bytes)
		fputc('b', f);
	fputc(q, f);
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c == (unsigned)q || c == '\\') {
			fprintf(f, "\\%c", c);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\r') {
			fputs("\\r", f);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\x%02x", c);
		} else if (c >= 0x80) {
			uint32_t cp;
			size_t len = is_bytes ? 0 : utf8_seq(s + i, n - i, &cp);
			if (len > 1 && cp >= 0xa0 && py_printable(cp)) {
				fwrite(s + i, 1, len, f);
				i += len;
				continue;
			}
			if (len <= 1) /* not UTF-8: the byte */
				fprintf(f, "\\x%02x", c);
			else if (cp < 0x100)
				fprintf(f, "\\x%02x", (unsigned)cp);
			else if (cp < 0x10000)
				fprintf(f, "\\u%04x", (unsigned)cp);
			else
				fprintf(f, "\\U%08x", (unsigned)cp);
			i += len > 1 ? len : 1;
			continue;
		} else {
			fputc((int)c, f);
		}
		i++;
	}
	fputc(q, f);
}

/* An item as Python prints it; a ref as <dict ref 12>. */
static void repr_item(FILE *f, const om_item *it)
{
	switch (it->kind) {
	case OM_NIL:
		fputs("None", f);
		break;
	case OM_BOOL:
		fputs(it->b ? "True" : "False", f);
		break;
	case OM_INT:
		fprintf(f, "%" PRId64, it->i);
		break;
	case OM_FLOAT:
		repr_float(f, it->f);
		break;
	case OM_STR:
		repr_text(f, it->s.ptr, it->s.len, false);
		break;
	case OM_BYTES:
		repr_text(f, it->s.ptr, it->s.len, true);
		break;
	case OM_REF: {
		const char *t = type_name(it->ref.type);
		fprintf(f, "<%s ref %" PRIu64 ">", t ? t : "object",
		        it->ref.id);
		break;
	}
	}
}

static void repr_node(FILE *f, const struct node *nd)
{
	switch (nd->kind) {
	case N_ITEM:
		repr_item(f, nd->item);
		break;
	case N_CYCLE:
		fputs(nd->item->ref.type == OM_TYPE_DICT ? "{...}" : "[...]",
		      f);
		break;
	case N_DICT:
		fputc('{', f);
		for (size_t i = 0; i < nd->n; i++) {
			if (i)
				fputs(", ", f);
			repr_node(f, &nd->v[2 * i]);
			fputs(": ", f);
			repr_node(f, &nd->v[2 * i + 1]);
		}
		fputc('}', f);
		break;
	case N_LIST:
		fputc('[', f);
		for (size_t i = 0; i < nd->n; i++) {
			if (i)
				fputs(", ", f);
			repr_node(f, &nd->v[i]);
		}
		fputc(']', f);
		break;
	case N_RECORD:
		fputc('{', f);
		for (size_t i = 0; i < nd->n; i++) {
			if (i)
				fputs(", ", f);
			fprintf(f, "'%s': ", nd->fields[i]);
			repr_node(f, &nd->v[i]);
		}
		fputc('}', f);
		break;
	}
}

/* ------------------------------------------------------------ JSON out */

/* A JSON value that json_dumps cannot fail to hold. */
static json_t *jcheck(json_t *j)
{
	if (!j)
		die_nomem();
	return j;
}

/* Digits needed for x to read back exactly (for JSON_REAL_PRECISION). */
static int float_digits(double x)
{
	char buf[64];
	for (int p = 1; p < 17; p++) {
		snprintf(buf, sizeof buf, "%.*g", p, x);
		if (strtod(buf, NULL) == x)
			return p;
	}
	return 17;
}

/*
 * An item as JSON: null, true/false, numbers, strings; bytes as
 * {"bytes": "<base64>"}, a ref as {"ref": ID, "type": "dict"}, a float
 * JSON cannot write as {"float": "nan"|"inf"|"-inf"}, and a str that is
 * not UTF-8 (JSON strings must be) as {"str_base64": "<base64>"}.
 */
static json_t *json_item(struct cli *cli, const om_item *it)
{
	switch (it->kind) {
	case OM_NIL:
		return jcheck(json_null());
	case OM_BOOL:
		return jcheck(json_boolean(it->b));
	case OM_INT:
		return jcheck(json_integer((json_int_t)it->i));
	case OM_FLOAT:
		if (!isfinite(it->f))
			return jcheck(json_pack("{ss}", "float",
			                        isnan(it->f) ? "nan"
			                        : it->f < 0  ? "-inf"
			                                     : "inf"));
		if (float_digits(it->f) > cli->precision)
			cli->precision = float_digits(it->f);
		return jcheck(json_real(it->f));
	case OM_STR: {
		json_t *j = json_stringn(it->s.ptr, it->s.len);
		if (j)
			return j;
		char *b = b64_encode(it->s.ptr, it->s.len);
		j = jcheck(json_pack("{ss}", "str_base64", b));
		free(b);
		return j;
	}
	case OM_BYTES: {
		char *b = b64_encode(it->s.ptr, it->s.len);
		json_t *j = jcheck(json_pack("{ss}", "bytes", b));
		free(b);
		return j;
	}
	case OM_REF: {
		const char *t = type_name(it->ref.type);
		return jcheck(json_pack("{sIss}", "ref", (json_int_t)it->ref.id,
		                        "type", t ? t : "object"));
	}
	}
	return jcheck(json_null());
}

/* A node as JSON. A dict whose keys are all str is a JSON object; any
 * other dict is a list of [key, value] pairs (JSON keys are strings). A
 * cycle is the ref it would have expanded again. */
static json_t *json_node(struct cli *cli, const struct node *nd)
{
	json_t *j;
	switch (nd->kind) {
	case N_ITEM:
	case N_CYCLE:
		return json_item(cli, nd->item);
	case N_DICT: {
		bool all_str = true;
		for (size_t i = 0; i < nd->n; i++) {
			const struct node *k = &nd->v[2 * i];
			if (k->kind != N_ITEM || k->item->kind != OM_STR)
				all_str = false;
		}
		if (all_str) {
			j = jcheck(json_object());
			for (size_t i = 0; i < nd->n; i++) {
				const om_item *k = nd->v[2 * i].item;
				json_t *val = json_node(cli, &nd->v[2 * i + 1]);
				if (json_object_setn_new(j, k->s.ptr, k->s.len,
				                         val) == 0)
					continue;
				/* Not UTF-8: a key JSON cannot hold. */
				json_decref(j);
				all_str = false;
				break;
			}
			if (all_str)
				return j;
		}
		j = jcheck(json_array());
		for (size_t i = 0; i < nd->n; i++) {
			json_t *pair = jcheck(json_array());
			json_array_append_new(pair,
			                      json_node(cli, &nd->v[2 * i]));
			json_array_append_new(
			        pair, json_node(cli, &nd->v[2 * i + 1]));
			json_array_append_new(j, pair);
		}
		return j;
	}
	case N_LIST:
		j = jcheck(json_array());
		for (size_t i = 0; i < nd->n; i++)
			json_array_append_new(j, json_node(cli, &nd->v[i]));
		return j;
	case N_RECORD:
		j = jcheck(json_object());
		for (size_t i = 0; i < nd->n; i++)
			json_object_set_new(j, nd->fields[i],
			                    json_node(cli, &nd->v[i]));
		return j;
	}
	return jcheck(json_null());
}

/* Print one JSON document on a line of its own, flushed, and free it;
 * reals with the digits that make every one of them read back exactly. */
static void json_print(struct cli *cli, json_t *j)
{
	size_t flags = JSON_ENCODE_ANY | JSON_COMPACT;
	if (cli->precision)
		flags |= JSON_REAL_PRECISION(cli->precision);
	char *s = json_dumps(j, flags);
	if (!s)
		die_nomem();
	puts(s);
	fflush(stdout);
	free(s);
	json_decref(j);
	cli->precision = 0;
}

/* Print a node for people (a repr) or machines (JSON), one line. */
static void print_node(struct cli *cli, const struct node *nd)
{
	if (cli->json) {
		json_print(cli, json_node(cli, nd));
		return;
	}
	repr_node(stdout, nd);
	putchar('\n');
	fflush(stdout);
}

static void print_item(struct cli *cli, const om_item *it)
{
	struct node nd = {.kind = N_ITEM, .item = it};
	print_node(cli, &nd);
}

/* "OK" (or PONG) for a command that has nothing else to say. */
static int print_word(struct cli *cli, const char *word)
{
	if (cli->json)
		json_print(cli, jcheck(json_string(word)));
	else
		puts(word);
	return EXIT_OK;
}

/* ---------------------------------------------------------------- tables */

/* An aligned table: a header row and rows of cells, columns padded to the
 * widest cell; right-aligned where `right` says. Each cell a malloc'd
 * string, freed here. */
struct table {
	size_t ncols, nrows;
	char **cells; /* (nrows + 1) * ncols, the header first */
	const bool *right;
};

static void table_init(struct table *t, const char *const *head,
                       const bool *right, size_t ncols, size_t nrows)
{
	t->ncols = ncols;
	t->nrows = nrows;
	t->right = right;
	t->cells = xcalloc((nrows + 1) * ncols, sizeof *t->cells);
	for (size_t i = 0; i < ncols; i++)
		t->cells[i] = strdup(head[i]);
}

static void table_set(struct table *t, size_t row, size_t col, const char *fmt,
                      ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		die_nomem();
	va_end(ap);
	t->cells[(row + 1) * t->ncols + col] = s;
}

static void table_print(struct table *t)
{
	size_t *w = xcalloc(t->ncols, sizeof *w);
	for (size_t r = 0; r <= t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t len = s ? strlen(s) : 0;
			if (len > w[c])
				w[c] = len;
		}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			bool last = c + 1 == t->ncols;
			if (!s)
				s = "";
			if (t->right[c])
				printf("%*s", (int)w[c], s);
			else if (last)
				fputs(s, stdout);
			else
				printf("%-*s", (int)w[c], s);
			fputs(last ? "\n" : "  ", stdout);
		}
	}
	for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(w);
	fflush(stdout);
}

/* -------------------------------------------------------------- commands */

/* A command: its name, arguments allowed, and what runs it (argv[0] is
 * the first argument after the command's name). */
struct command {
	const char *name;
	int min, max;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *args, *help;
};

/* PING */
static int cmd_ping(struct cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int rc = om_ping(cli->c);
	if (rc < 0)
		return fail(cli->c, rc);
	return print_word(cli, "PONG");
}

/* LS [PATTERN] */
static int cmd_ls(struct cli *cli, int argc, char **argv)
{
	om_object_info *objs;
	size_t n;
	int rc = om_objects(cli->c, argc ? argv[0] : NULL, &objs, &n);
	if (rc < 0)
		return fail(cli->c, rc);
	if (cli->json) {
		json_t *a = jcheck(json_array());
		for (size_t i = 0; i < n; i++) {
			const char *t = type_name(objs[i].type);
			json_array_append_new(
			        a,
			        jcheck(json_pack(
			                "{sssssIsIsIsI}", "name", objs[i].name,
			                "type", t ? t : "object", "id",
			                (json_int_t)objs[i].id, "length",
			                (json_int_t)objs[i].length, "bytes",
			                (json_int_t)objs[i].bytes, "refs",
			                (json_int_t)objs[i].refs)));
		}
		json_print(cli, a);
	} else {
		static const char *const head[] = {"NAME",   "TYPE",  "ID",
		                                   "LENGTH", "BYTES", "REFS"};
		static const bool right[] = {false, false, true,
		                             true,  true,  true};
		struct table t;
		table_init(&t, head, right, 6, n);
		for (size_t i = 0; i < n; i++) {
			const char *ty = type_name(objs[i].type);
			table_set(&t, i, 0, "%s", objs[i].name);
			table_set(&t, i, 1, "%s", ty ? ty : "?");
			table_set(&t, i, 2, "%" PRIu64, objs[i].id);
			table_set(&t, i, 3, "%" PRIu64, objs[i].length);
			table_set(&t, i, 4, "%" PRIu64, objs[i].bytes);
			table_set(&t, i, 5, "%" PRIu64, objs[i].refs);
		}
		table_print(&t);
	}
	free(objs);
	return EXIT_OK;
}

/* An open object: its handle and type; a pipe opens both its ends. */
struct target {
	void *h;
	int type;
	om_pipe *a, *b;
};

static void target_close(struct target *t)
{
	om_release(t->h);
	om_release(t->a);
	om_release(t->b);
	*t = (struct target){0};
}

/* Open the object named `name`, whatever its type. @return 0 or the exit
 * status after saying why. */
static int open_target(struct cli *cli, const char *name, struct target *t)
{
	*t = (struct target){0};
	int rc = om_open_any(cli->c, name, &t->h);
	if (rc < 0)
		return fail(cli->c, rc);
	om_item r = om_ref(t->h);
	t->type = r.kind == OM_REF ? r.ref.type : 0;
	if (t->type == OM_TYPE_PIPE) {
		om_release(t->h);
		t->h = NULL;
		rc = om_pipe_open(cli->c, name, 0, &t->a, &t->b);
		if (rc < 0)
			return fail(cli->c, rc);
	}
	return 0;
}

/* An INDEX argument: an int (a list takes negatives as they are; arrays
 * go through array_pos). @return 0, or EXIT_ERR after saying why. */
static int parse_index(const om_item *it, const char *arg, int64_t *out)
{
	if (it->kind != OM_INT)
		return fail_msg(OM_ETYPE, "indices are ints, not %s", arg);
	*out = it->i;
	return 0;
}

/* An array position from an INDEX (negative from the end, as Python's). */
static int array_pos(struct cli *cli, om_array *a, int64_t i, size_t *pos)
{
	if (i >= 0) {
		*pos = (size_t)i;
		return 0;
	}
	size_t len;
	int rc = om_array_len(a, &len);
	if (rc < 0)
		return fail(cli->c, rc);
	if ((uint64_t)-i > len)
		return fail_msg(OM_EINDEX, "index %" PRId64 " out of range", i);
	*pos = len - (size_t)-i;
	return 0;
}

/* The whole state of a target: a pipe as its two ends. */
static int target_state(struct cli *cli, struct target *t, bool expand,
                        struct node *out)
{
	struct path path = {.n = 0};
	if (t->type != OM_TYPE_PIPE) {
		om_item r = om_ref(t->h);
		path.id[path.n++] = r.ref.id;
		return build_state(cli, t->h, t->type, &path, expand, out);
	}
	static const char *const ends[] = {"a", "b"};
	*out = (struct node){.kind = N_RECORD, .fields = ends};
	out->v = xcalloc(2, sizeof *out->v);
	out->n = 2;
	int rc =
	        build_state(cli, t->a, OM_TYPE_PIPE, &path, expand, &out->v[0]);
	if (rc >= 0)
		rc = build_state(cli, t->b, OM_TYPE_PIPE, &path, expand,
		                 &out->v[1]);
	return rc;
}

/* Show a target's whole state: refs shown (get) or expanded (dump). */
static int show_state(struct cli *cli, struct target *t, bool expand)
{
	struct node nd = {0};
	int rc = target_state(cli, t, expand, &nd);
	if (rc >= 0)
		print_node(cli, &nd);
	node_clear(&nd);
	return rc < 0 ? fail(cli->c, rc) : EXIT_OK;
}

/* GET NAME [KEY|INDEX] */
static int cmd_get(struct cli *cli, int argc, char **argv)
{
	struct target t;
	int status = open_target(cli, argv[0], &t);
	if (status)
		return status;
	if (argc == 1) {
		status = show_state(cli, &t, false);
		goto out_close;
	}
	om_item key, out = {.kind = OM_NIL};
	void *buf;
	status = parse_item("KEY", argv[1], &key, &buf);
	if (status)
		goto out_close;
	int rc = OM_OK;
	int64_t i = 0;
	size_t pos = 0;
	switch (t.type) {
	case OM_TYPE_DICT:
		rc = om_dict_get(t.h, key, &out);
		break;
	case OM_TYPE_LIST:
		status = parse_index(&key, argv[1], &i);
		if (!status)
			rc = om_list_get(t.h, i, &out);
		break;
	case OM_TYPE_ARRAY:
		status = parse_index(&key, argv[1], &i);
		if (!status)
			status = array_pos(cli, t.h, i, &pos);
		if (!status)
			rc = om_array_get(t.h, pos, &out);
		break;
	default:
		status = fail_msg(OM_ETYPE, "a %s has no keys or indices",
		                  type_name(t.type));
		break;
	}
	if (!status && rc < 0)
		status = fail(cli->c, rc);
	else if (!status)
		print_item(cli, &out);
	om_item_free(&out);
	free(buf);
out_close:
	target_close(&t);
	return status;
}

/* DUMP NAME */
static int cmd_dump(struct cli *cli, int argc, char **argv)
{
	(void)argc;
	struct target t;
	int status = open_target(cli, argv[0], &t);
	if (status)
		return status;
	status = show_state(cli, &t, true);
	target_close(&t);
	return status;
}

/* SET NAME KEY VALUE (dict, list, array) · SET NAME VALUE (value) */
static int cmd_set(struct cli *cli, int argc, char **argv)
{
	struct target t;
	int status = open_target(cli, argv[0], &t);
	if (status)
		return status;
	bool keyed = t.type == OM_TYPE_DICT || t.type == OM_TYPE_LIST ||
	             t.type == OM_TYPE_ARRAY;
	if (t.type == OM_TYPE_VALUE && argc != 2) {
		status = usage_error("set: a value takes set NAME VALUE");
		goto out_close;
	}
	if (keyed && argc != 3) {
		status = usage_error("set: a %s takes set NAME KEY VALUE",
		                     type_name(t.type));
		goto out_close;
	}
	if (!keyed && t.type != OM_TYPE_VALUE) {
		status = fail_msg(OM_ETYPE, "set: a %s holds no items",
		                  type_name(t.type));
		goto out_close;
	}
	om_item key = om_nil(), val;
	void *kbuf = NULL, *vbuf = NULL;
	status = parse_item("VALUE", argv[argc - 1], &val, &vbuf);
	if (!status && keyed)
		status = parse_item("KEY", argv[1], &key, &kbuf);
	int rc = OM_OK;
	int64_t i = 0;
	size_t pos = 0;
	if (status)
		goto out_free;
	switch (t.type) {
	case OM_TYPE_DICT:
		rc = om_dict_set(t.h, key, val);
		break;
	case OM_TYPE_LIST:
		status = parse_index(&key, argv[1], &i);
		if (!status)
			rc = om_list_set(t.h, i, val);
		break;
	case OM_TYPE_ARRAY:
		status = parse_index(&key, argv[1], &i);
		if (!status)
			status = array_pos(cli, t.h, i, &pos);
		if (!status)
			rc = om_array_set(t.h, pos, val);
		break;
	default:
		rc = om_value_set(t.h, val);
		break;
	}
	if (!status)
		status = rc < 0 ? fail(cli->c, rc) : print_word(cli, "OK");
out_free:
	free(kbuf);
	free(vbuf);
out_close:
	target_close(&t);
	return status;
}

/* PUT NAME VALUE: a queue's put (never waits: a full queue is EFULL), a
 * list's append, a pipe's send from its end b (the item waits at end a,
 * the receiving end of a simplex pipe). */
static int cmd_put(struct cli *cli, int argc, char **argv)
{
	(void)argc;
	struct target t;
	int status = open_target(cli, argv[0], &t);
	if (status)
		return status;
	om_item val;
	void *buf;
	status = parse_item("VALUE", argv[1], &val, &buf);
	if (status)
		goto out_close;
	int rc = OM_OK;
	switch (t.type) {
	case OM_TYPE_QUEUE:
		rc = om_queue_put(t.h, val, 0);
		break;
	case OM_TYPE_LIST:
		rc = om_list_append(t.h, val);
		break;
	case OM_TYPE_PIPE:
		rc = om_pipe_send(t.b, val);
		break;
	default:
		status = fail_msg(OM_ETYPE,
		                  "put: a %s is not a queue, list or "
		                  "pipe",
		                  type_name(t.type));
		break;
	}
	if (!status)
		status = rc < 0 ? fail(cli->c, rc) : print_word(cli, "OK");
	free(buf);
out_close:
	target_close(&t);
	return status;
}

/* INCR NAME KEY [DELTA] (dict, array) · INCR NAME [DELTA] (value): add
 * DELTA (default 1) atomically and print the new value. */
static int cmd_incr(struct cli *cli, int argc, char **argv)
{
	struct target t;
	int status = open_target(cli, argv[0], &t);
	if (status)
		return status;
	bool keyed = t.type == OM_TYPE_DICT || t.type == OM_TYPE_ARRAY;
	if (!keyed && t.type != OM_TYPE_VALUE) {
		status = fail_msg(OM_ETYPE, "incr: a %s holds no numbers",
		                  type_name(t.type));
		goto out_close;
	}
	if (keyed && argc < 2) {
		status = usage_error("incr: a %s takes incr NAME KEY [DELTA]",
		                     type_name(t.type));
		goto out_close;
	}
	if (!keyed && argc > 2) {
		status = usage_error("incr: a value takes incr NAME [DELTA]");
		goto out_close;
	}
	om_item key = om_nil(), delta = om_int(1), out = {.kind = OM_NIL};
	void *kbuf = NULL, *dbuf = NULL;
	int di = keyed ? 2 : 1;
	if (argc > di)
		status = parse_item("DELTA", argv[di], &delta, &dbuf);
	if (!status && keyed)
		status = parse_item("KEY", argv[1], &key, &kbuf);
	int rc = OM_OK;
	int64_t i = 0;
	size_t pos = 0;
	if (status)
		goto out_free;
	switch (t.type) {
	case OM_TYPE_DICT:
		rc = om_dict_incr(t.h, key, delta, &out);
		break;
	case OM_TYPE_ARRAY:
		status = parse_index(&key, argv[1], &i);
		if (!status)
			status = array_pos(cli, t.h, i, &pos);
		if (!status)
			rc = om_array_add(t.h, pos, delta, &out);
		break;
	default:
		rc = om_value_add(t.h, delta, &out);
		break;
	}
	if (!status && rc < 0)
		status = fail(cli->c, rc);
	else if (!status)
		print_item(cli, &out);
	om_item_free(&out);
out_free:
	free(kbuf);
	free(dbuf);
out_close:
	target_close(&t);
	return status;
}

/* UNLINK NAME */
static int cmd_unlink(struct cli *cli, int argc, char **argv)
{
	(void)argc;
	int rc = om_unlink(cli->c, argv[0]);
	if (rc < 0)
		return fail(cli->c, rc);
	return print_word(cli, "OK");
}

/* An INFO value as text: a str as itself, numbers as Python prints them. */
static void print_plain(FILE *f, const om_item *it)
{
	if (it->kind == OM_STR)
		fwrite(it->s.ptr, 1, it->s.len, f);
	else
		repr_item(f, it);
}

/* INFO: "key:value" lines as Redis's INFO; with --json one object, where
 * a key the server gives more than once ("listen") is a list, and
 * "listen" always is. */
static int cmd_info(struct cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	om_items keys, vals;
	int rc = om_info(cli->c, &keys, &vals);
	if (rc < 0)
		return fail(cli->c, rc);
	size_t n = keys.n < vals.n ? keys.n : vals.n;
	if (!cli->json) {
		for (size_t i = 0; i < n; i++) {
			print_plain(stdout, &keys.v[i]);
			putchar(':');
			print_plain(stdout, &vals.v[i]);
			putchar('\n');
		}
		fflush(stdout);
		goto out_free;
	}
	json_t *o = jcheck(json_object());
	for (size_t i = 0; i < n; i++) {
		if (keys.v[i].kind != OM_STR)
			continue;
		char *k = strndup(keys.v[i].s.ptr, keys.v[i].s.len);
		if (!k)
			die_nomem();
		json_t *v = json_item(cli, &vals.v[i]);
		json_t *had = json_object_get(o, k);
		if (json_is_array(had)) {
			json_array_append_new(had, v);
		} else if (had) {
			json_t *a = jcheck(json_array());
			json_array_append(a, had);
			json_array_append_new(a, v);
			json_object_set_new(o, k, a);
		} else if (strcmp(k, "listen") == 0) {
			json_t *a = jcheck(json_array());
			json_array_append_new(a, v);
			json_object_set_new(o, k, a);
		} else {
			json_object_set_new(o, k, v);
		}
		free(k);
	}
	if (!json_object_get(o, "listen"))
		json_object_set_new(o, "listen", jcheck(json_array()));
	json_print(cli, o);
out_free:
	om_items_free(&keys);
	om_items_free(&vals);
	return EXIT_OK;
}

/* om_client_info.flags as words: "self,watch". */
static void client_flags(unsigned flags, char *buf, size_t cap)
{
	static const struct {
		unsigned bit;
		const char *word;
	} words[] = {{OM_CLIENT_SELF, "self"},
	             {OM_CLIENT_WATCH, "watch"},
	             {OM_CLIENT_MONITOR, "monitor"},
	             {OM_CLIENT_TCP, "tcp"}};
	buf[0] = 0;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (flags & words[i].bit) {
			if (buf[0])
				strncat(buf, ",", cap - strlen(buf) - 1);
			strncat(buf, words[i].word, cap - strlen(buf) - 1);
		}
	if (!buf[0])
		snprintf(buf, cap, "-");
}

/* Local time to the second: "2026-12-02 19:40:01". */
static void format_time(double t, char *buf, size_t cap, bool with_ms)
{
	time_t s = (time_t)t;
	struct tm tm;
	localtime_r(&s, &tm);
	if (!with_ms) {
		strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
		return;
	}
	char hms[16];
	strftime(hms, sizeof hms, "%H:%M:%S", &tm);
	snprintf(buf, cap, "%s.%03d", hms,
	         (int)((t - (double)s) * 1000) % 1000);
}

/* CLIENTS */
static int cmd_clients(struct cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	om_client_info *cs;
	size_t n;
	int rc = om_clients(cli->c, &cs, &n);
	if (rc < 0)
		return fail(cli->c, rc);
	if (cli->json) {
		json_t *a = jcheck(json_array());
		for (size_t i = 0; i < n; i++) {
			char fl[64];
			client_flags(cs[i].flags, fl, sizeof fl);
			json_t *flags = jcheck(json_array());
			for (char *save, *w = strtok_r(fl, ",", &save);
			     w && strcmp(w, "-");
			     w = strtok_r(NULL, ",", &save))
				json_array_append_new(flags,
				                      jcheck(json_string(w)));
			json_t *o = jcheck(json_pack(
			        "{sIsIsIsfsIsIsIsIss}", "id",
			        (json_int_t)cs[i].id, "pid",
			        (json_int_t)cs[i].pid, "uid",
			        (json_int_t)cs[i].uid, "since", cs[i].since,
			        "refs", (json_int_t)cs[i].refs, "locks",
			        (json_int_t)cs[i].locks, "parked",
			        (json_int_t)cs[i].parked, "requests",
			        (json_int_t)cs[i].requests, "addr",
			        cs[i].addr));
			json_object_set_new(o, "flags", flags);
			json_array_append_new(a, o);
		}
		/* Times to the microsecond, not %.17g's noise. */
		cli->precision = 16;
		json_print(cli, a);
	} else {
		static const char *const head[] = {
		        "ID",   "PID",   "UID",    "ADDR",     "SINCE",
		        "REFS", "LOCKS", "PARKED", "REQUESTS", "FLAGS"};
		static const bool right[] = {true, true, true, false, false,
		                             true, true, true, true,  false};
		struct table t;
		table_init(&t, head, right, 10, n);
		for (size_t i = 0; i < n; i++) {
			char since[32], fl[64];
			format_time(cs[i].since, since, sizeof since, false);
			client_flags(cs[i].flags, fl, sizeof fl);
			table_set(&t, i, 0, "%" PRIu64, cs[i].id);
			if (cs[i].pid > 0)
				table_set(&t, i, 1, "%" PRId64, cs[i].pid);
			else
				table_set(&t, i, 1, "-");
			if (cs[i].uid >= 0)
				table_set(&t, i, 2, "%" PRId64, cs[i].uid);
			else
				table_set(&t, i, 2, "-");
			table_set(&t, i, 3, "%.*s", (int)sizeof cs[i].addr,
			          cs[i].addr);
			table_set(&t, i, 4, "%s", since);
			table_set(&t, i, 5, "%" PRIu64, cs[i].refs);
			table_set(&t, i, 6, "%" PRIu64, cs[i].locks);
			table_set(&t, i, 7, "%" PRIu64, cs[i].parked);
			table_set(&t, i, 8, "%" PRIu64, cs[i].requests);
			table_set(&t, i, 9, "%s", fl);
		}
		table_print(&t);
	}
	free(cs);
	return EXIT_OK;
}

/* SIGINT and SIGTERM end watch and monitor (exit 0): they only set a flag
 * that the event loop looks at between waits. */
static void catch_stop(void)
{
	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* How long one wait for an event lasts: only how soon a SIGINT is seen
 * while nothing happens (the events themselves are pushed by the server;
 * nothing is polled). */
#define EVENT_WAIT 0.2

/* The next event, or the exit status: 0 once SIGINT/SIGTERM came. */
static int next_event(om_client *sub, om_notice *ev, bool *got)
{
	*got = false;
	while (!stopping) {
		int rc = om_notice_next(sub, ev, EVENT_WAIT);
		if (rc == OM_ETIMEOUT)
			continue;
		if (rc < 0)
			return fail(sub, rc);
		*got = true;
		return EXIT_OK;
	}
	return EXIT_OK;
}

/* One watch line: the time, the change (op, client) and the state. */
static int watch_line(struct cli *cli, struct target *t, const om_notice *ev,
                      double when)
{
	struct node nd = {0};
	int rc = target_state(cli, t, false, &nd);
	if (rc < 0) {
		node_clear(&nd);
		return fail(cli->c, rc);
	}
	const char *op = ev ? ev->op : "WATCH";
	uint64_t client = ev ? ev->client : 0;
	if (cli->json) {
		json_t *o = jcheck(json_pack("{sfsssI}", "time", when, "op", op,
		                             "client", (json_int_t)client));
		json_object_set_new(o, "state", json_node(cli, &nd));
		if (cli->precision < 16)
			cli->precision = 16;
		json_print(cli, o);
	} else {
		char tbuf[32];
		format_time(when, tbuf, sizeof tbuf, true);
		printf("%s %s", tbuf, op);
		if (client)
			printf(" client %" PRIu64, client);
		fputs(": ", stdout);
		repr_node(stdout, &nd);
		putchar('\n');
		fflush(stdout);
	}
	node_clear(&nd);
	return EXIT_OK;
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* WATCH NAME: the state now, then again at each change. The subscriber
 * connection only reads events; the state is read on cli->c. */
static int cmd_watch(struct cli *cli, int argc, char **argv)
{
	(void)argc;
	struct target t;
	om_client *sub = NULL;
	int status = open_target(cli, argv[0], &t);
	if (status)
		return status;
	status = dial(cli, &sub);
	if (status)
		goto out_close;
	void *h = NULL;
	int rc = om_open_any(sub, argv[0], &h);
	if (rc >= 0)
		rc = om_watch(h);
	if (rc < 0) {
		status = fail(sub, rc);
		goto out_close;
	}
	catch_stop();
	/* Subscribed first, so the first line promises that every later
	 * change is seen. */
	status = watch_line(cli, &t, NULL, wall_now());
	while (!status && !stopping) {
		om_notice ev;
		bool got;
		status = next_event(sub, &ev, &got);
		if (!status && got)
			status = watch_line(cli, &t, &ev, ev.time);
	}
out_close:
	om_disconnect(sub);
	target_close(&t);
	return status;
}

/* MONITOR: every request the server serves, one line each (as Redis's
 * MONITOR: the time, [client], then the op and its object). */
static int cmd_monitor(struct cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int rc = om_monitor(cli->c);
	if (rc < 0)
		return fail(cli->c, rc);
	catch_stop();
	if (!cli->json) {
		puts("OK");
		fflush(stdout);
	} else {
		print_word(cli, "OK");
	}
	int status = EXIT_OK;
	while (!status && !stopping) {
		om_notice ev;
		bool got;
		status = next_event(cli->c, &ev, &got);
		if (status || !got)
			break;
		const char *t = type_name(ev.type);
		if (cli->json) {
			json_t *o = jcheck(json_pack(
			        "{sfsIsssI}", "time", ev.time, "client",
			        (json_int_t)ev.client, "op", ev.op, "target",
			        (json_int_t)ev.target));
			json_object_set_new(o, "type",
			                    t ? jcheck(json_string(t))
			                      : jcheck(json_null()));
			json_t *nm = ev.name[0] ? json_string(ev.name) : NULL;
			json_object_set_new(o, "name",
			                    nm ? nm : jcheck(json_null()));
			cli->precision = 16;
			json_print(cli, o);
			continue;
		}
		printf("%.6f [%" PRIu64 "] %s", ev.time, ev.client, ev.op);
		if (ev.target)
			printf(" %s:%" PRIu64, t ? t : "object", ev.target);
		if (ev.name[0]) {
			putchar(' ');
			repr_text(stdout, ev.name, strlen(ev.name), false);
		}
		putchar('\n');
		fflush(stdout);
	}
	return status;
}

/* SHUTDOWN */
static int cmd_shutdown(struct cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int rc = om_shutdown(cli->c);
	if (rc < 0)
		return fail(cli->c, rc);
	return print_word(cli, "OK");
}

static const struct command commands[] = {
        {"ping", 0, 0, cmd_ping, "", "PONG if a server answers"},
        {"ls", 0, 1, cmd_ls, "[PATTERN]",
         "named objects (shell glob): name, type, id, length, bytes, refs"},
        {"get", 1, 2, cmd_get, "NAME [KEY|INDEX]",
         "an item, or the whole object (stored refs as refs)"},
        {"dump", 1, 1, cmd_dump, "NAME", "the whole object, refs expanded"},
        {"set", 2, 3, cmd_set, "NAME [KEY|INDEX] VALUE",
         "d[KEY] = VALUE, l[INDEX] = VALUE; a value: its VALUE"},
        {"put", 2, 2, cmd_put, "NAME VALUE",
         "a queue's put, a list's append, a pipe's send"},
        {"incr", 1, 3, cmd_incr, "NAME [KEY|INDEX] [DELTA]",
         "add DELTA (1) atomically; prints the new value"},
        {"unlink", 1, 1, cmd_unlink, "NAME", "remove a name"},
        {"info", 0, 0, cmd_info, "", "the server's INFO"},
        {"clients", 0, 0, cmd_clients, "", "the connections"},
        {"watch", 1, 1, cmd_watch, "NAME",
         "print the object now and at each change"},
        {"monitor", 0, 0, cmd_monitor, "", "print every request served"},
        {"shutdown", 0, 0, cmd_shutdown, "", "stop the server"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
	fputs("usage: objmgr [-a ADDRESS] [--authkey-file FILE] [--json] "
	      "COMMAND [ARGS]\n"
	      "Look inside, and change, a running objmgrd.\n\n",
	      f);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		char left[64];
		snprintf(left, sizeof left, "%s %s", commands[i].name,
		         commands[i].args);
		fprintf(f, "  %-32s %s\n", left, commands[i].help);
	}
	fputs("\n"
	      "  -a, --address ADDRESS   socket path, unix:PATH or "
	      "tcp:HOST:PORT\n"
	      "                          (default: as om_connect, "
	      "$OBJMGR_ADDRESS, ...)\n"
	      "  --authkey-file FILE     the key for a TCP address (mode "
	      "0600)\n"
	      "  --json                  JSON output (one document; one a "
	      "line for\n"
	      "                          watch and monitor)\n"
	      "  -h, --help, --version\n"
	      "KEY, INDEX and VALUE are JSON where they parse (42, \"42\", "
	      "{\"bytes\": \"AAE=\"}),\n"
	      "else a str. Exit status: 0 ok, 1 the server answered an "
	      "error, 2 usage or\n"
	      "no server. See objmgr(1).\n",
	      f);
}

enum { OPT_AUTHKEY = 256, OPT_JSON, OPT_VERSION };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"address", required_argument, NULL, 'a'},
	        {"authkey-file", required_argument, NULL, OPT_AUTHKEY},
	        {"json", no_argument, NULL, OPT_JSON},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, OPT_VERSION},
	        {NULL, 0, NULL, 0},
	};
	struct cli cli = {0};
	int opt;
	/* "+": options end at COMMAND, so `get l -1` is an index. */
	while ((opt = getopt_long(argc, argv, "+a:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			cli.address = optarg;
			break;
		case OPT_AUTHKEY:
			cli.keyfile = optarg;
			break;
		case OPT_JSON:
			cli.json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case OPT_VERSION:
			printf("objmgr %s\n", OMI_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error("no command");
	const char *name = argv[optind];
	const struct command *cmd = NULL;
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			cmd = &commands[i];
	if (!cmd)
		return usage_error("unknown command '%s'", name);
	int nargs = argc - optind - 1;
	if (nargs < cmd->min || nargs > cmd->max)
		return usage_error("usage: objmgr %s %s", cmd->name, cmd->args);
	int status = cli.keyfile ? read_key(&cli) : 0;
	if (!status)
		status = dial(&cli, &cli.c);
	if (!status)
		status = cmd->run(&cli, nargs, argv + optind + 1);
	cli_free(&cli);
	return status;
}
