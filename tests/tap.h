/*
 * tests/tap.h: a minimal TAP producer for the C unit tests.
 *
 * Each test program calls ok()/is_int()/is_str() for every check and ends
 * with 'return tap_done();', which prints the plan and returns non-zero when
 * any check failed. Automake's TAP driver counts every point, so the suite's
 * closing 'N passed, N failed' line counts checks, not programs.
 */
#ifndef TT_TESTS_TAP_H
#define TT_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n_;
static int tap_failed_;

__attribute__((format(printf, 2, 3), unused))
static int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	tap_n_++;
	if (!cond)
		tap_failed_++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_n_);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

#define is_int(got, want, ...) \
	tap_is_int_((long long)(got), (long long)(want), #got, __VA_ARGS__)

__attribute__((format(printf, 4, 5), unused))
static int tap_is_int_(long long got, long long want, const char *expr,
		       const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!ok(got == want, "%s", msg))
		printf("#   %s: got %lld, want %lld\n", expr, got, want);
	return got == want;
}

#define is_str(got, want, ...) tap_is_str_((got), (want), __VA_ARGS__)

__attribute__((format(printf, 3, 4), unused))
static int tap_is_str_(const char *got, const char *want, const char *fmt, ...)
{
	char msg[512];
	int same = got && want ? strcmp(got, want) == 0 : got == want;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!ok(same, "%s", msg))
		printf("#   got '%s', want '%s'\n", got ? got : "(null)",
		       want ? want : "(null)");
	return same;
}

__attribute__((unused))
static void tap_diag(const char *msg)
{
	printf("# %s\n", msg);
}

__attribute__((unused))
static int tap_done(void)
{
	printf("1..%d\n", tap_n_);
	return tap_failed_ ? 1 : 0;
}

#endif
