/*
 * engine/synth_simd.h: lane vectors for the voice-parallel synth.
 *
 * A vf holds one float per voice (lanes = voices), written with GCC's vector
 * extensions so the same source compiles to AVX-512, AVX2 or SSE2. Only
 * IEEE add, sub, mul, div, compare and bit operations are used (and the
 * library is built with -ffp-contract=off), so every instruction set gives
 * bit-identical results: determinism does not depend on the CPU's width.
 *
 * The approximations (sine, tan, exp2) are polynomials and rationals with
 * errors far below 16-bit resolution; see each function.
 *
 * Safe on the render thread: yes, everything here is pure arithmetic.
 */
#ifndef TT_ENGINE_SYNTH_SIMD_H
#define TT_ENGINE_SYNTH_SIMD_H

#include <stdint.h>

#define SIMD_LANES 16

typedef float vf __attribute__((vector_size(4 * SIMD_LANES)));
typedef int32_t vi __attribute__((vector_size(4 * SIMD_LANES)));
typedef uint32_t vu __attribute__((vector_size(4 * SIMD_LANES)));

#define SIMD_INLINE static inline __attribute__((always_inline))

SIMD_INLINE vf vf_set1(float x)
{
	return (vf){ 0 } + x;
}

SIMD_INLINE vf vf_sel(vi m, vf a, vf b) /* m ? a : b, per lane */
{
	return (vf)((m & (vi)a) | (~m & (vi)b));
}

SIMD_INLINE vf vf_and(vi m, vf a) /* m ? a : 0 */
{
	return (vf)(m & (vi)a);
}

SIMD_INLINE vf vf_abs(vf a)
{
	return (vf)((vi)a & 0x7fffffff);
}

SIMD_INLINE vf vf_min(vf a, vf b)
{
	return vf_sel(a < b, a, b);
}

SIMD_INLINE vf vf_max(vf a, vf b)
{
	return vf_sel(a > b, a, b);
}

SIMD_INLINE vf vf_pos(vf a) /* max(a, 0); -0 and NaN become 0 */
{
	return vf_and(a > 0.0f, a);
}

SIMD_INLINE vf vf_clamp(vf x, float lo, float hi)
{
	return vf_min(vf_max(x, vf_set1(lo)), vf_set1(hi));
}

SIMD_INLINE vf vf_lane_get(vf v, int i)
{
	return vf_set1(v[i]);
}

/* sin(2 pi t) for t in [0, 1): fold to [-1/4, 1/4] of a turn and use the
 * odd Taylor series to x^9 (error below 4e-6). */
SIMD_INLINE vf vf_sin_turns(vf t)
{
	vf u = t - 0.5f; /* sin(2 pi t) = -sin(2 pi u) */
	vf half = vf_sel(u < 0.0f, vf_set1(-0.5f), vf_set1(0.5f));
	vf uf = vf_sel(vf_abs(u) > 0.25f, half - u, u);
	vf x = uf * 6.28318530717958647f;
	vf x2 = x * x;
	vf p = vf_set1(1.0f / 362880.0f);
	p = p * x2 - 1.0f / 5040.0f;
	p = p * x2 + 1.0f / 120.0f;
	p = p * x2 - 1.0f / 6.0f;
	p = p * x2 + 1.0f;
	return -(p * x);
}

/* tan(x) for x in [0, 1.3]: a 7th/6th-order Pade approximant (relative
 * error below 1e-6 there). */
SIMD_INLINE vf vf_tan(vf x)
{
	vf x2 = x * x;
	vf num = x * (135135.0f + x2 * (-17325.0f + x2 * (378.0f - x2)));
	vf den = 135135.0f + x2 * (-62370.0f + x2 * (3150.0f - 28.0f * x2));
	return num / den;
}

/* 2^x for x in [-30, 30]: integer part in the exponent bits, fraction by a
 * degree-6 polynomial (relative error below 2e-7). */
SIMD_INLINE vf vf_exp2(vf x)
{
	vf c = vf_clamp(x, -30.0f, 30.0f);
	vi i = __builtin_convertvector(c, vi);
	vi neg = c < __builtin_convertvector(i, vf); /* truncation went up */
	vf f;
	vf p;
	i = i + neg; /* neg lanes are -1: floor */
	f = c - __builtin_convertvector(i, vf);
	p = vf_set1(1.5403530393381606e-4f);
	p = p * f + 1.3333558146428443e-3f;
	p = p * f + 9.6181291076284772e-3f;
	p = p * f + 5.5504108664821580e-2f;
	p = p * f + 2.4022650695910071e-1f;
	p = p * f + 6.9314718055994531e-1f;
	p = p * f + 1.0f;
	return (vf)((vu)p + ((vu)i << 23)); /* unsigned: no signed-shift UB */
}

/* Next white-noise value in [-1, 1) from xorshift32 state s (never 0). */
SIMD_INLINE vf vf_noise(vu *s)
{
	vu x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return (vf)((x >> 9) | 0x40000000u) - 3.0f; /* [2,4) - 3 */
}

#endif
