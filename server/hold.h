/* hold.h — fork() without a window: FORK and ADOPT (hold.c). */
#ifndef HOLD_H
#define HOLD_H

#include "obj.h"

/** FORK num=token + a passed pipe descriptor: hold what c->conn
 *  references until the pipe reads end-of-file. */
int serve_fork(struct obj *unused, struct call *c);
/** ADOPT num=token: c->conn takes a reference on what the hold holds. */
int serve_adopt(struct obj *unused, struct call *c);
/** Drop every hold (server stopping). */
void holds_free_all(void);

#endif /* HOLD_H */
