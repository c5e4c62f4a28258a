/*
 * fault.h — allocation failure injection, for tests (fault.c). Built only
 * with meson -Dfault_injection=true; otherwise these are empty and nothing
 * is compiled in.
 */
#ifndef FAULT_H
#define FAULT_H

#ifdef OMI_FAULT_INJECTION
/** Read the environment and route libevent's allocations through the
 *  counter: before any libevent call. */
void fault_init(void);
/** The server is ready: count (and fail) allocations from now on. */
void fault_ready(void);
#else
static inline void fault_init(void)
{
}
static inline void fault_ready(void)
{
}
#endif

#endif /* FAULT_H */
