/*
 * engine/synth_params.h: from an event's fields to the numbers a voice
 * plays, every control clamped to its documented range (docs/sound.md).
 *
 * Whatever a performer types (gain 1e9, cutoff -5, resonance 1000, speed 0,
 * note 1e6, NaN) becomes a finite value inside the range, so nothing that
 * reaches the DSP can produce NaN, Inf or a runaway level.
 *
 * Safe on the render thread: yes (no allocation, no locks, no I/O).
 */
#ifndef TT_ENGINE_SYNTH_PARAMS_H
#define TT_ENGINE_SYNTH_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/event.h"
#include "engine/sampler.h"

#define SYNTH_RATE 48000

typedef enum synth_source {
	SYNTH_SINE = 0,
	SYNTH_SAW,
	SYNTH_SQUARE,
	SYNTH_TRI,
	SYNTH_WHITE,
	SYNTH_PINK,
	SYNTH_BROWN,
	SYNTH_SAMPLE,
	SYNTH_N_SOURCES
} synth_source;

typedef enum synth_vowel {
	SYNTH_VOWEL_NONE = -1,
	SYNTH_VOWEL_A = 0,
	SYNTH_VOWEL_E,
	SYNTH_VOWEL_I,
	SYNTH_VOWEL_O,
	SYNTH_VOWEL_U
} synth_vowel;

/* An ADSR in seconds (sustain a level 0..1). */
typedef struct synth_adsr {
	float attack, decay, sustain, release;
} synth_adsr;

typedef struct synth_params {
	synth_source source;
	const sampler_sound *sample; /* SYNTH_SAMPLE: borrowed from the bank */
	double freq;                 /* oscillator Hz */
	double rate;                 /* sample frames per output frame, signed */
	double begin, end;           /* sample window, fractions 0..1 */
	float gain;                  /* gain x velocity, before filters */
	float postgain;
	float pan;                   /* 0 left .. 1 right */
	synth_adsr env;
	bool lp, hp, bp;
	float cutoff, resonance;     /* Hz, Q */
	float lpenv;                 /* octaves of filter-envelope sweep */
	synth_adsr lpadsr;
	float hcutoff, hresonance;
	float bandf, bandq;
	synth_vowel vowel;
	float shape;                 /* 0 (off) .. 0.99 */
	float distort;               /* 0 (off) .. 10 */
	int crush;                   /* bits 1..16; 0 off */
	int coarse;                  /* hold every Nth sample 1 (off) .. 64 */
	int orbit;
	float delay, room;           /* sends 0..1 */
	/* Orbit settings carried by the event (applied when it starts). */
	bool has_delaytime, has_delayfeedback, has_size;
	float delaytime, delayfeedback, size;
	int64_t hold;                /* frames from onset to note-off; -1: sample end */
	uint32_t seed;               /* noise seed, from the event */
} synth_params;

/* Fills *out from event e whose note lasts dur_sec seconds (whole x clip
 * already applied by the caller when the event said clip). bank resolves
 * sample names. Returns TT_OK, or TT_ENOTFOUND when s names no synth and no
 * sample (the voice should not start; the caller counts it). seed is mixed
 * into the noise generators. */
int synth_params_from_event(const tt_event *e, const sampler *bank, double dur_sec,
			    bool clipped, uint32_t seed, synth_params *out);

/* MIDI number of a note name: letter a-g, accidentals '#'/'s' (sharp) and
 * 'b'/'f' (flat), optional octave (default 3): "c3" 48, "a4" 69, "eb2" 39.
 * Case-insensitive. Returns TT_EINVAL when s is not a note name. */
int synth_note_from_name(const char *s, double *midi);

/* Clamps x into [lo, hi], mapping NaN to def. */
double synth_clamp(double x, double lo, double hi, double def);

#endif
