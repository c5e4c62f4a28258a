/*
 * error.c — a client's last error: the code a call returns and the message
 * om_errmsg() gives for it; and the thread's last failed connect, whose
 * client is gone by the time the caller asks (om_errmsg(NULL)).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

int omi_fail(om_client *c, int code, const char *fmt, ...)
{
	if (c) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
		va_end(ap);
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
	return c ? c->errmsg : connect_failure;
}

int omi_lose(om_client *c, const char *what, int err)
{
	c->lost = true;
	return omi_fail(c, OM_ECONN, "connection to %s lost: %s%s%s", c->path,
	                what, err ? ": " : "", err ? strerror(err) : "");
}
