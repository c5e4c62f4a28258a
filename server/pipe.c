/*
 * pipe.c — the PIPE type (being written).
 */
#include "obj.h"

struct pipe {
	struct obj o;
};

static int pipe_todo(struct obj *o, struct call *c)
{
	(void)o;
	return call_err(c, OM_EINVAL, "not yet");
}

static const struct op_def pipe_ops[] = {
        OP(PIPE_POLL, pipe_todo, 0, 0),
};

TYPE_DEF(pipe, PIPE, "pipe", struct pipe, 0, 0, NULL, NULL, NULL, NULL, NULL);
