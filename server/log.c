/* log.c — leveled logging to stderr (see log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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
