/*
 * server/log.h: tuttid's log, one line per event on stderr.
 *
 * A line reads "2026-11-21T15:04:05.123Z info http: GET /api/health 200".
 * Each line is written with a single write(2), so lines from different
 * threads never interleave. Never call from the render thread.
 */
#ifndef TT_SERVER_LOG_H
#define TT_SERVER_LOG_H

typedef enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3
} log_level;

void log_set_level(log_level level);
log_level log_get_level(void);
/* Parses "error", "warn", "info" or "debug"; TT_EINVAL otherwise. */
int log_parse_level(const char *name, log_level *out);

__attribute__((format(printf, 3, 4)))
void log_msg(log_level level, const char *module, const char *fmt, ...);

#define log_error(mod, ...) log_msg(LOG_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOG_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...) log_msg(LOG_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_msg(LOG_DEBUG, mod, __VA_ARGS__)

#endif
