/*
 * log.h — leveled logging to stderr: "objmgrd[pid]: LEVEL: message".
 * The level is set once from --log-level; messages above it cost one
 * integer comparison.
 */
#ifndef LOG_H
#define LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_level;

void log_msg(enum log_level lvl, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/** Parse "error", "warn", "info", "debug". @return 0, or -1 if unknown. */
int log_parse_level(const char *s, enum log_level *out);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)                                                          \
	do {                                                                   \
		if (log_level >= LOG_WARN)                                     \
			log_msg(LOG_WARN, __VA_ARGS__);                        \
	} while (0)
#define log_info(...)                                                          \
	do {                                                                   \
		if (log_level >= LOG_INFO)                                     \
			log_msg(LOG_INFO, __VA_ARGS__);                        \
	} while (0)
#define log_debug(...)                                                         \
	do {                                                                   \
		if (log_level >= LOG_DEBUG)                                    \
			log_msg(LOG_DEBUG, __VA_ARGS__);                       \
	} while (0)

#endif /* LOG_H */
