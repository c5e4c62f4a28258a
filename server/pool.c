/*
 * pool.c — the POOL type (being written).
 */
#include "obj.h"

struct pool {
	struct obj o;
};

static int pool_todo(struct obj *o, struct call *c)
{
	(void)o;
	return call_err(c, OM_EINVAL, "not yet");
}

static const struct op_def pool_ops[] = {
        OP(POOL_INFO, pool_todo, 0, 0),
};

TYPE_DEF(pool, POOL, "pool", struct pool, 0, 0, NULL, NULL, NULL, NULL, NULL);
