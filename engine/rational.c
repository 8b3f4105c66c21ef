/*
 * engine/rational.c: exact musical time (see rational.h).
 *
 * Design:
 *  1. Every result is computed in 128-bit integers, reduced by the gcd, and
 *     only then narrowed to 64 bits; a result that does not fit is
 *     TT_ERANGE and *out is left untouched.
 *  2. INT64_MIN is never produced as a numerator or denominator, so that
 *     negation and absolute values never overflow.
 *  3. rat_from_double follows fraction.js 5 (what Strudel's Fraction(x)
 *     does with a JavaScript number) step for step, so that decimal
 *     arguments become the very same fractions as in Strudel.
 */
#include "engine/rational.h"

#include <math.h>
#include <stdio.h>

#include "common/error.h"

typedef __int128 i128;

static i128 gcd128(i128 a, i128 b)
{
	if (a < 0)
		a = -a;
	if (b < 0)
		b = -b;
	while (b != 0) {
		i128 t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
	int shift;
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	shift = __builtin_ctzll(a | b);
	a >>= __builtin_ctzll(a);
	do {
		b >>= __builtin_ctzll(b);
		if (a > b) {
			uint64_t t = a;
			a = b;
			b = t;
		}
		b -= a;
	} while (b != 0);
	return a << shift;
}

/* Reduces n/d (d != 0) and narrows it; invariant 1. Most results fit in
 * 64 bits before reduction, where a binary gcd is far cheaper. */
static int narrow(i128 n, i128 d, tt_rat *out)
{
	i128 g;
	if (d < 0) {
		n = -n;
		d = -d;
	}
	if (d == 1) {
		if (n > INT64_MAX || n < -INT64_MAX)
			return TT_ERANGE;
		out->n = (int64_t)n;
		out->d = 1;
		return TT_OK;
	}
	if (n <= INT64_MAX && n >= -INT64_MAX && d <= INT64_MAX) {
		uint64_t un = (uint64_t)(n < 0 ? -n : n);
		uint64_t g64 = gcd64(un, (uint64_t)d);
		if (n == 0) {
			out->n = 0;
			out->d = 1;
			return TT_OK;
		}
		if (g64 == 1) {
			out->n = (int64_t)n;
			out->d = (int64_t)d;
		} else {
			out->n = (int64_t)n / (int64_t)g64;
			out->d = (int64_t)d / (int64_t)g64;
		}
		return TT_OK;
	}
	g = gcd128(n, d);
	if (g > 1) {
		n /= g;
		d /= g;
	}
	if (n == 0)
		d = 1;
	if (n > INT64_MAX || n < -INT64_MAX || d > INT64_MAX)
		return TT_ERANGE;
	out->n = (int64_t)n;
	out->d = (int64_t)d;
	return TT_OK;
}

int rat_make(int64_t n, int64_t d, tt_rat *out)
{
	if (d == 0)
		return TT_EINVAL;
	return narrow(n, d, out);
}

int rat_add(tt_rat a, tt_rat b, tt_rat *out)
{
	if (a.d == b.d)
		return narrow((i128)a.n + b.n, a.d, out);
	return narrow((i128)a.n * b.d + (i128)b.n * a.d, (i128)a.d * b.d, out);
}

int rat_sub(tt_rat a, tt_rat b, tt_rat *out)
{
	if (a.d == b.d)
		return narrow((i128)a.n - b.n, a.d, out);
	return narrow((i128)a.n * b.d - (i128)b.n * a.d, (i128)a.d * b.d, out);
}

int rat_mul(tt_rat a, tt_rat b, tt_rat *out)
{
	return narrow((i128)a.n * b.n, (i128)a.d * b.d, out);
}

int rat_div(tt_rat a, tt_rat b, tt_rat *out)
{
	if (b.n == 0)
		return TT_EINVAL;
	return narrow((i128)a.n * b.d, (i128)a.d * b.n, out);
}

int rat_cmp(tt_rat a, tt_rat b)
{
	i128 l = (i128)a.n * b.d, r = (i128)b.n * a.d;
	return l < r ? -1 : l > r ? 1 : 0;
}

bool rat_eq(tt_rat a, tt_rat b)
{
	return a.n == b.n && a.d == b.d;
}

int64_t rat_floor(tt_rat a)
{
	int64_t q = a.n / a.d;
	if (a.n % a.d != 0 && a.n < 0)
		q--;
	return q;
}

int64_t rat_ceil(tt_rat a)
{
	int64_t q = a.n / a.d;
	if (a.n % a.d != 0 && a.n > 0)
		q++;
	return q;
}

double rat_to_double(tt_rat a)
{
	return (double)a.n / (double)a.d;
}

/* fraction.js's Farey search for 0 < x < 1 with denominators up to max. */
static void farey(double x, double max, double *num, double *den)
{
	double a = 0, b = 1, c = 1, d = 1;
	*num = 0;
	*den = 1;
	while (b <= max && d <= max) {
		double m = (a + c) / (b + d);
		if (x == m) {
			if (b + d <= max) {
				*num = a + c;
				*den = b + d;
			} else if (d > b) {
				*num = c;
				*den = d;
			} else {
				*num = a;
				*den = b;
			}
			break;
		}
		if (x > m) {
			a += c;
			b += d;
			/* Skip ahead along a run of same-direction steps, stopping
			 * a few short of its computed end so that the exact
			 * comparisons still decide where it ends. */
			double t = (a - x * b) / (x * d - c), k = floor(t) - 3;
			k = fmin(k, floor((max - b) / d));
			if (k > 0) {
				a += k * c;
				b += k * d;
			}
		} else {
			c += a;
			d += b;
			double t = (c - x * d) / (x * b - a), k = floor(t) - 3;
			k = fmin(k, floor((max - d) / b));
			if (k > 0) {
				c += k * a;
				d += k * b;
			}
		}
		if (b > max) {
			*num = c;
			*den = d;
		} else {
			*num = a;
			*den = b;
		}
	}
}

int rat_from_double(double x, int64_t max_den, tt_rat *out)
{
	double num, den, z = 1;
	int neg = 0;
	if (isnan(x) || isinf(x) || fabs(x) >= 9.2e18)
		return TT_ERANGE;
	if (x < 0) {
		neg = 1;
		x = -x;
	}
	if (fmod(x, 1.0) == 0)
		return narrow(neg ? -(i128)(int64_t)x : (i128)(int64_t)x, 1, out);
	if (x >= 1) {
		z = pow(10, floor(1 + log10(x)));
		x /= z;
	}
	farey(x, (double)max_den, &num, &den);
	if (num * z >= 9.2e18)
		return TT_ERANGE;
	return narrow((neg ? -1 : 1) * (i128)(int64_t)num * (i128)(int64_t)z,
		      (i128)(int64_t)den, out);
}

int rat_format(tt_rat a, char *buf, int cap)
{
	int len;
	if (a.d == 1)
		len = snprintf(buf, (size_t)cap, "%lld", (long long)a.n);
	else
		len = snprintf(buf, (size_t)cap, "%lld/%lld", (long long)a.n,
			       (long long)a.d);
	if (len < 0 || len >= cap)
		return TT_ERANGE;
	return len;
}
