/*
 * engine/voice.h: the voice pool, TT_MAX_VOICES voices rendered in lanes.
 *
 * The pool owns every voice's state in structure-of-arrays form: voices are
 * grouped SIMD_LANES at a time and each group is computed one sample at a
 * time for all its lanes at once (lanes = voices). Output goes to the effect
 * buses of each orbit: dry, delay send and reverb send, stereo.
 *
 * Lifecycle: voice_pool_new() allocates everything (worker thread);
 * voice_pool_start(), voice_pool_render(), voice_pool_release_all() and the
 * getters never allocate, lock or do I/O and are for the render thread;
 * voice_pool_free() on any thread once rendering has stopped. Not
 * thread-safe: one thread drives a pool.
 */
#ifndef TT_ENGINE_VOICE_H
#define TT_ENGINE_VOICE_H

#include <stdint.h>

#include "common/limits.h"
#include "engine/synth_params.h"

/* Frames voice_pool_render() computes per call at most. */
#define VOICE_BLOCK_MAX 128

enum { VOICE_BUS_DRY = 0, VOICE_BUS_DELAY = 1, VOICE_BUS_ROOM = 2, VOICE_N_BUSES = 3 };

typedef struct voice_pool voice_pool;

typedef struct voice_stats {
	uint64_t started;  /* voices started */
	uint64_t stolen;   /* voices cut short because the pool was full */
	uint64_t killed;   /* voices reset because their state went non-finite */
	int active;        /* voices sounding now */
} voice_stats;

int voice_pool_new(voice_pool **out);
void voice_pool_free(voice_pool *p);

/* Starts a voice playing sp at frame offset (0 .. VOICE_BLOCK_MAX-1) of the
 * next voice_pool_render() call; when every voice is busy the oldest (a
 * releasing one first) is stolen. sp is copied. */
void voice_pool_start(voice_pool *p, const synth_params *sp, int offset);

/* Renders n frames (1..VOICE_BLOCK_MAX) of every voice into the buses,
 * which it overwrites; returns a bitmask of the buses written, bit
 * (orbit * VOICE_N_BUSES + bus); untouched buses are not cleared. */
uint32_t voice_pool_render(voice_pool *p, int n);

/* Bus samples of the last render (n frames). ch: 0 left, 1 right. */
const float *voice_pool_bus(const voice_pool *p, int orbit, int bus, int ch);

/* Moves every sounding voice into a 50 ms release (hush). */
void voice_pool_release_all(voice_pool *p);

void voice_pool_stats(const voice_pool *p, voice_stats *out);

#endif
