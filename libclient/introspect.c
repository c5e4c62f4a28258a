/*
 * introspect.c — looking inside a server: om_objects, om_clients, om_info,
 * om_dump, and the subscriptions (om_watch, om_monitor, om_event_next).
 *
 * STUBS (the contract is objmgr.h and objmgr.proto): the implementation
 * replaces these.
 */
#include "internal.h"

int om_objects(om_client *c, const char *pattern, om_object_info **out,
               size_t *n)
{
	(void)pattern;
	(void)out;
	(void)n;
	return c ? omi_fail(c, OM_EINVAL, "not implemented") : OM_EINVAL;
}

int om_clients(om_client *c, om_client_info **out, size_t *n)
{
	(void)out;
	(void)n;
	return c ? omi_fail(c, OM_EINVAL, "not implemented") : OM_EINVAL;
}

int om_info(om_client *c, om_items *keys, om_items *values)
{
	(void)keys;
	(void)values;
	return c ? omi_fail(c, OM_EINVAL, "not implemented") : OM_EINVAL;
}

int om_dump(const void *handle, om_items *out)
{
	(void)handle;
	(void)out;
	return OM_EINVAL;
}

int om_watch(const void *handle)
{
	(void)handle;
	return OM_EINVAL;
}

int om_monitor(om_client *c)
{
	return c ? omi_fail(c, OM_EINVAL, "not implemented") : OM_EINVAL;
}

int om_event_next(om_client *c, om_event *ev, double timeout)
{
	(void)ev;
	(void)timeout;
	return c ? omi_fail(c, OM_EINVAL, "not implemented") : OM_EINVAL;
}
