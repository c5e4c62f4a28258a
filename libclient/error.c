/*
 * error.c — a client's last error: the code a call returns and the message
 * om_errmsg() gives for it; and the thread's last failed connect, whose
 * client is gone by the time the caller asks (om_errmsg(NULL)).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int omi_fail(om_client *c, int code, const char *fmt, ...)
{
	if (c) {
		/* The old long text may be an argument: freed only after. */
		char *old = c->errlong;
		c->errlong = NULL;
		va_list ap, again;
		va_start(ap, fmt);
		va_copy(again, ap);
		int n = vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
		va_end(ap);
		if (n >= (int)sizeof c->errmsg &&
		    (c->errlong = malloc((size_t)n + 1)))
			vsnprintf(c->errlong, (size_t)n + 1, fmt, again);
		va_end(again);
		free(old);
	}
	return code;
}

static _Thread_local char connect_failure[sizeof((om_client *)0)->errmsg];

void omi_connect_failed(const om_client *c)
{
	memcpy(connect_failure, c->errmsg, sizeof connect_failure);
}

const char *om_errmsg(const om_client *c)
{
	if (!c)
		return connect_failure;
	/* errmsg is cleared (or rewritten) without omi_fail() too: the long
	 * text counts only while errmsg still begins it. */
	if (c->errlong && c->errmsg[0] &&
	    strncmp(c->errlong, c->errmsg, sizeof c->errmsg - 1) == 0)
		return c->errlong;
	return c->errmsg;
}

int omi_lose(om_client *c, const char *what, int err)
{
	c->lost = true;
	return omi_fail(c, OM_ECONN, "connection to %s lost: %s%s%s", c->path,
	                what, err ? ": " : "", err ? strerror(err) : "");
}
