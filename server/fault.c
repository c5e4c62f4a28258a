/*
 * fault.c — make the Nth allocation fail, to prove that objmgrd survives
 * running out of memory anywhere (tests/test_faults.c walks N). Built
 * only with meson -Dfault_injection=true.
 *
 * In the style of SQLite's test_malloc.c: every allocation after the
 * server is ready (fault_ready(), once it has written its --ready-fd) is
 * counted, and the environment says which one fails:
 *
 *   OBJMGR_FAIL_ALLOC=N         the Nth counted allocation returns NULL
 *                               (one-shot: later ones succeed again)
 *   OBJMGR_FAIL_ALLOC_REPEAT=1  ... and so does every one after it
 *                               (persistent)
 *   OBJMGR_FAULT_REPORT=PATH    at exit, write "counted C failed F" to
 *                               PATH (a walk over N stops once C < N),
 *                               and " at FILE+0xOFFSET", where the Nth
 *                               was called from (addr2line -e FILE)
 *
 * What is counted: malloc, calloc, realloc and strdup called from the
 * server's own objects and from libomwire's (proto/wire.c: buffers, items,
 * the arena, and through the arena every protobuf-c allocation of an
 * unpack), because meson links objmgrd with -Wl,--wrap for each of them
 * when the option is on; and libevent's own allocations (events, timers,
 * its maps and change lists), routed here with event_set_mem_functions()
 * before the loop is created. libc's and ASan's internal allocations are
 * not: they do not go through the wrapped symbols. And the making of each
 * shared-memory segment counts as one (segment_fail_hook): failing it
 * makes the segment in private memory, as when memfd_create fails.
 *
 * Hand-written because no library does this: malloc-failure injectors
 * (failmalloc, libfiu) preload into the whole process, so they would fail
 * the sanitizer's and libc's allocations too, and cannot start counting at
 * a point the server chooses. The server is single-threaded (server.h),
 * so the counters are plain integers.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "fault.h"
#include "segment.h"

/* The real allocators (ld's --wrap names them __real_*), and ours. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static bool armed;       /* fault_ready() was called */
static bool repeat;      /* OBJMGR_FAIL_ALLOC_REPEAT: fail every one after */
static uint64_t fail_at; /* OBJMGR_FAIL_ALLOC: 0 fails none */
static uint64_t counted, failed;
static void *site;         /* the return address of the Nth */
static const char *report; /* OBJMGR_FAULT_REPORT */

/* Count one allocation, called from `ra`: true if it must fail. */
static bool fail_now(void *ra)
{
	if (!armed)
		return false;
	counted++;
	if (!fail_at || counted < fail_at || (counted > fail_at && !repeat))
		return false;
	if (!failed++)
		site = ra;
	errno = ENOMEM;
	return true;
}

#define RA __builtin_return_address(0)

void *__wrap_malloc(size_t n)
{
	return fail_now(RA) ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now(RA) ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_now(RA) ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return fail_now(RA) ? NULL : __real_strdup(s);
}

/* A segment to be made (segment.c): true makes it private memory. */
static bool fail_segment(void)
{
	return fail_now(RA);
}

static void write_report(void)
{
	FILE *f = fopen(report, "w");
	if (!f)
		return;
	fprintf(f, "counted %llu failed %llu", (unsigned long long)counted,
	        (unsigned long long)failed);
	Dl_info di;
	if (site && dladdr(site, &di) && di.dli_fname)
		fprintf(f, " at %s+%#lx", di.dli_fname,
		        (unsigned long)((char *)site - 1 -
		                        (char *)di.dli_fbase));
	fputc('\n', f);
	fclose(f);
}

static uint64_t env_num(const char *name)
{
	const char *s = getenv(name);
	return s && *s ? strtoull(s, NULL, 10) : 0;
}

void fault_init(void)
{
	fail_at = env_num("OBJMGR_FAIL_ALLOC");
	repeat = env_num("OBJMGR_FAIL_ALLOC_REPEAT") != 0;
	report = getenv("OBJMGR_FAULT_REPORT");
	if (report && *report)
		atexit(write_report);
	/* libevent frees with free(); its mallocs and reallocs are counted.
	 * Before event_base_new(): libevent must free with the functions
	 * that allocated. */
	event_set_mem_functions(__wrap_malloc, __wrap_realloc, free);
	segment_fail_hook = fail_segment;
}

void fault_ready(void)
{
	armed = true;
}
