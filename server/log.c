/* log.c — leveled logging to stderr (see log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum log_level omi_log_level = OMI_LOG_INFO;

static const char *const names[] = {"error", "warn", "info", "debug"};

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[1024];
	int n = snprintf(line, sizeof line, "objmgrd[%d]: %s: ", (int)getpid(),
	                 names[lvl]);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	/* One write per line, so lines of concurrent servers do not mix. */
	size_t len = strlen(line);
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

void log_warn_limited(struct log_limit *l, const char *fmt, ...)
{
	if (omi_log_level < OMI_LOG_WARN)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	if (l->last != 0 && now - l->last < 1.0) {
		l->suppressed++;
		return;
	}
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (l->suppressed)
		log_msg(OMI_LOG_WARN, "%s (and %u more like it)", msg,
		        l->suppressed);
	else
		log_msg(OMI_LOG_WARN, "%s", msg);
	l->last = now;
	l->suppressed = 0;
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}
