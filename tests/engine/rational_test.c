/*
 * tests/engine/rational_test.c: exact time (engine/rational.h): reduction,
 * arithmetic, overflow reported as TT_ERANGE and never wrapped, and the
 * fraction.js-compatible conversion of doubles.
 */
#include <stdint.h>
#include <string.h>

#include "common/error.h"
#include "engine/rational.h"
#include "tests/tap.h"

static const char *fmt(tt_rat r)
{
	static char buf[4][64];
	static int k;
	k = (k + 1) % 4;
	if (rat_format(r, buf[k], sizeof buf[k]) < 0)
		return "(format error)";
	return buf[k];
}

static void test_make(void)
{
	tt_rat r;
	is_int(rat_make(6, -4, &r), TT_OK, "make 6/-4");
	is_str(fmt(r), "-3/2", "6/-4 reduces to -3/2");
	is_int(rat_make(0, 7, &r), TT_OK, "make 0/7");
	is_str(fmt(r), "0", "0/7 is 0 with denominator 1");
	is_int(r.d, 1, "zero has denominator 1");
	is_int(rat_make(1, 0, &r), TT_EINVAL, "denominator 0 is EINVAL");
	is_int(rat_make(INT64_MIN, 1, &r), TT_ERANGE, "INT64_MIN is out of range");
	is_int(rat_make(INT64_MIN, 2, &r), TT_OK, "INT64_MIN/2 reduces");
}

static void test_arith(void)
{
	tt_rat r, big = { INT64_MAX, 1 }, tiny = { 1, INT64_MAX };
	is_int(rat_add(TT_RAT(1, 3), TT_RAT(1, 6), &r), TT_OK, "1/3 + 1/6");
	is_str(fmt(r), "1/2", "1/3 + 1/6 = 1/2");
	is_int(rat_sub(TT_RAT(1, 4), TT_RAT(3, 4), &r), TT_OK, "1/4 - 3/4");
	is_str(fmt(r), "-1/2", "= -1/2");
	is_int(rat_mul(TT_RAT(2, 3), TT_RAT(9, 4), &r), TT_OK, "2/3 * 9/4");
	is_str(fmt(r), "3/2", "= 3/2");
	is_int(rat_div(TT_RAT(1, 2), TT_RAT(0, 1), &r), TT_EINVAL, "divide by 0");
	r = TT_RAT(5, 7);
	is_int(rat_add(big, TT_RAT(1, 1), &r), TT_ERANGE, "INT64_MAX + 1 overflows");
	is_str(fmt(r), "5/7", "an overflowing result leaves *out untouched");
	is_int(rat_add(big, TT_RAT(0, 1), &r), TT_OK, "INT64_MAX + 0 fits");
	is_int(rat_mul(tiny, tiny, &r), TT_ERANGE, "1/MAX * 1/MAX overflows");
	is_int(rat_mul(big, tiny, &r), TT_OK, "MAX * 1/MAX = 1 after reduction");
	is_str(fmt(r), "1", "= 1");
	is_int(rat_cmp(TT_RAT(1, 3), TT_RAT(1, 2)), -1, "1/3 < 1/2");
	is_int(rat_cmp(big, TT_RAT(INT64_MAX - 1, 1)), 1, "cmp near the top");
	ok(rat_eq(TT_RAT(2, 4 / 2), TT_RAT(2, 2)), "eq");
}

static void test_floor(void)
{
	is_int(rat_floor(TT_RAT(7, 2)), 3, "floor 7/2");
	is_int(rat_floor(TT_RAT(-7, 2)), -4, "floor -7/2");
	is_int(rat_floor(TT_RAT(-4, 1)), -4, "floor -4");
	is_int(rat_ceil(TT_RAT(7, 2)), 4, "ceil 7/2");
	is_int(rat_ceil(TT_RAT(-7, 2)), -3, "ceil -7/2");
}

static void test_from_double(void)
{
	static const struct { double x; const char *want; } t[] = {
		{ 0.25, "1/4" }, { 1.5, "3/2" }, { 0.0003, "3/10000" },
		{ 1.0 / 3, "1/3" }, { -0.125, "-1/8" }, { 2, "2" },
		{ 0.1, "1/10" }, { 123.456, "15432/125" }, { 1e-9, "0" },
	};
	tt_rat r;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int rc = rat_from_double(t[i].x, 10000000, &r);
		ok(rc == TT_OK && strcmp(fmt(r), t[i].want) == 0,
		   "from_double(%g) = %s (got %s)", t[i].x, t[i].want, fmt(r));
	}
	is_int(rat_from_double(0.0 / 0.0, 10000000, &r), TT_ERANGE, "NaN");
	is_int(rat_from_double(1e300, 10000000, &r), TT_ERANGE, "huge");
}

static void test_format(void)
{
	char buf[8];
	is_int(rat_format(TT_RAT(-1, 3), buf, sizeof buf), 4, "format -1/3");
	is_str(buf, "-1/3", "text");
	is_int(rat_format(TT_RAT(123456789, 1), buf, sizeof buf), TT_ERANGE,
	       "too small a buffer is ERANGE");
}

int main(void)
{
	test_make();
	test_arith();
	test_floor();
	test_from_double();
	test_format();
	return tap_done();
}
