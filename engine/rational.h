/*
 * engine/rational.h: exact musical time.
 *
 * A tt_rat is n/d with 64-bit numerator and denominator, always reduced and
 * with d > 0. Arithmetic that would overflow returns TT_ERANGE and leaves the
 * result untouched; nothing ever wraps. Cycle time is a tt_rat everywhere in
 * the engine, so cycle(frame) is exact and reproducible.
 *
 * Safe on the render thread: yes, every function (no allocation, no locks).
 */
#ifndef TT_ENGINE_RATIONAL_H
#define TT_ENGINE_RATIONAL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct tt_rat {
	int64_t n;
	int64_t d; /* > 0; gcd(|n|, d) == 1 */
} tt_rat;

#define TT_RAT(n_, d_) ((tt_rat){ (n_), (d_) }) /* caller guarantees reduced */

/* n/d reduced; TT_EINVAL when d == 0, TT_ERANGE when it cannot be held. */
int rat_make(int64_t n, int64_t d, tt_rat *out);
int rat_add(tt_rat a, tt_rat b, tt_rat *out);
int rat_sub(tt_rat a, tt_rat b, tt_rat *out);
int rat_mul(tt_rat a, tt_rat b, tt_rat *out);
int rat_div(tt_rat a, tt_rat b, tt_rat *out); /* TT_EINVAL when b == 0 */
int rat_cmp(tt_rat a, tt_rat b);              /* <0, 0, >0; never overflows */
bool rat_eq(tt_rat a, tt_rat b);
int64_t rat_floor(tt_rat a);                  /* Strudel's sam() */
int64_t rat_ceil(tt_rat a);
double rat_to_double(tt_rat a);
/* The closest tt_rat to x with denominator at most max_den (as Strudel's
 * Fraction(x) does for decimals); TT_ERANGE for NaN, Inf or huge x. */
int rat_from_double(double x, int64_t max_den, tt_rat *out);
/* Writes "n/d", or "n" when d == 1, NUL-terminated; returns the length or
 * TT_ERANGE when cap is too small. */
int rat_format(tt_rat a, char *buf, int cap);

#endif
