/*
 * engine/fx.h: the effect buses (per-orbit delay and reverb) and the master
 * limiter. The per-voice filters and shapers (cutoff, hcutoff, bandf, vowel,
 * shape, distort, crush, coarse) run inside the voice lanes, in
 * engine/voice.c, because they hold per-voice state.
 *
 * Lifecycle: fx_orbit_new() and fx_limiter_init() allocate/prepare on a
 * worker thread; every other function is safe on the render thread (no
 * allocation, no locks, no I/O). One thread drives an object.
 */
#ifndef TT_ENGINE_FX_H
#define TT_ENGINE_FX_H

#include <stdbool.h>
#include <stdint.h>

typedef struct fx_orbit fx_orbit;

int fx_orbit_new(fx_orbit **out);
void fx_orbit_free(fx_orbit *o);

/* Delay time in seconds (0.001..2, glides over ~40 ms to avoid clicks) and
 * feedback (0..0.95); out-of-range and NaN values are clamped. */
void fx_orbit_set_delay(fx_orbit *o, float time, float feedback);
/* Reverb size 0..10: the decay time RT60 is 0.2 + 0.5 x size seconds. */
void fx_orbit_set_size(fx_orbit *o, float size);

/* Runs n frames: dl/dr feed the delay and rl/rr the reverb (either pair may
 * be NULL for silence); the wet output is added to outl/outr. Skips the work
 * once the tails have died away and no input arrives. */
void fx_orbit_process(fx_orbit *o, const float *dl, const float *dr, const float *rl,
		      const float *rr, int n, float *outl, float *outr);

/* The master limiter: a look-ahead (64 frames, 1.3 ms) peak limiter whose
 * output never exceeds its ceiling (0.891, -1 dBFS), by construction and by a
 * final clamp; NaN and Inf inputs become silence. */
#define FX_LIMITER_LOOKAHEAD 64
#define FX_LIMITER_CEILING 0.89125f
#define FX_LIMITER_RING 128 /* a power of two > look-ahead + 1 */

typedef struct fx_limiter {
	float delay[2][FX_LIMITER_LOOKAHEAD];      /* the input, L frames late */
	float hold[FX_LIMITER_RING];      /* released hold values, for the mean */
	float dq_val[FX_LIMITER_RING];    /* monotonic queue of gain needs */
	uint64_t dq_idx[FX_LIMITER_RING];
	unsigned dq_head, dq_len;
	double sum;
	float released;
	float release_coef;
	uint64_t idx;
	float min_gain;   /* the lowest gain applied since init, for tests */
	uint64_t clamped; /* samples the final clamp had to cut: 0 if the math holds */
} fx_limiter;

void fx_limiter_init(fx_limiter *l);
/* Limits interleaved stereo in place (n frames). */
void fx_limiter_process(fx_limiter *l, float *interleaved, int n);

#endif
