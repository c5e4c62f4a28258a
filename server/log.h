/*
 * log.h — leveled logging to stderr: "objmgrd[pid]: LEVEL: message".
 * The level is set once from --log-level; messages above it cost one
 * integer comparison.
 */
#ifndef LOG_H
#define LOG_H

/* OMI_LOG_*: <syslog.h>'s OMI_LOG_INFO and OMI_LOG_DEBUG must not clash. */
enum log_level { OMI_LOG_ERROR, OMI_LOG_WARN, OMI_LOG_INFO, OMI_LOG_DEBUG };

extern enum log_level omi_log_level;

void log_msg(enum log_level lvl, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/*
 * A warning that a peer can cause over and over (a refused connection, a
 * silent one timing out) is printed at most once a second; the next one
 * printed says how many were left out, so the log stays small and true.
 */
struct log_limit {
	double last;         /* when one was last printed (monotonic s) */
	unsigned suppressed; /* left out since */
};
void log_warn_limited(struct log_limit *l, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/** Parse "error", "warn", "info", "debug". @return 0, or -1 if unknown. */
int log_parse_level(const char *s, enum log_level *out);

#define log_error(...) log_msg(OMI_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)                                       \
	do {                                                \
		if (omi_log_level >= OMI_LOG_WARN)          \
			log_msg(OMI_LOG_WARN, __VA_ARGS__); \
	} while (0)
#define log_info(...)                                       \
	do {                                                \
		if (omi_log_level >= OMI_LOG_INFO)          \
			log_msg(OMI_LOG_INFO, __VA_ARGS__); \
	} while (0)
#define log_debug(...)                                       \
	do {                                                 \
		if (omi_log_level >= OMI_LOG_DEBUG)          \
			log_msg(OMI_LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif /* LOG_H */
