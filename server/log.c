/* server/log.c: see log.h. */
#include "server/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"

static atomic_int current_level = LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(log_level level)
{
	atomic_store(&current_level, (int)level);
}

log_level log_get_level(void)
{
	return (log_level)atomic_load(&current_level);
}

int log_parse_level(const char *name, log_level *out)
{
	for (int i = 0; i <= LOG_DEBUG; i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (log_level)i;
			return TT_OK;
		}
	}
	return TT_EINVAL;
}

void log_msg(log_level level, const char *module, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	int n, m;
	va_list ap;

	if ((int)level > atomic_load(&current_level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		     level_names[level], module);
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	/* A truncated message keeps its start and still ends the line. */
	n = (size_t)(n + m) >= sizeof line - 1 ? (int)sizeof line - 2 : n + m;
	for (int i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return; /* nowhere left to report it */
}
