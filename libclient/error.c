/*
 * error.c — a client's last error: the code a call returns and the message
 * om_errmsg() gives for it.
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

const char *om_errmsg(const om_client *c)
{
	return c ? c->errmsg : "";
}

int omi_lose(om_client *c, const char *what, int err)
{
	c->lost = true;
	return omi_fail(c, OM_ECONN, "connection to %s lost: %s%s%s", c->path,
	                what, err ? ": " : "", err ? strerror(err) : "");
}
