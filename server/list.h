/*
 * list.h — what other types need of the LIST type: a new list made from
 * items (a pool's map_async result).
 */
#ifndef LIST_H
#define LIST_H

#include <stddef.h>

#include "obj.h"

/**
 * A new anonymous LIST holding copies of items[0..n) (store_item()), with
 * one reference held for the caller, who hands it on (store_item() of a
 * Ref to it) and drops it with obj_decref(). @return OM_OK with *out set,
 * or an error set on c (memory, an item that cannot be stored): nothing
 * is left behind.
 */
int list_make(struct call *c, const om_item *items, size_t n, struct obj **out);

#endif /* LIST_H */
