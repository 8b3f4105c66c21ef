/*
 * engine/sampler.h: sample banks in the Dirt-Samples layout.
 *
 * A bank maps a sound name ("bd", "casio") to its variants, mono float PCM
 * at 48 kHz. The built-in drum kit (engine/drums.c) is added at start-up;
 * sampler_load_dir() adds a folder per sound from disk, each folder's audio
 * files sorted by name, so s("name:3") and .n(3) pick the fourth file
 * (modulo the count, as in Strudel). A folder of the same name as a built-in
 * sound replaces it.
 *
 * Ownership and threads: the sampler owns every buffer. Building it
 * (sampler_new, sampler_add, sampler_load_dir, sampler_free) allocates and
 * must happen before rendering or on a worker thread; sampler_find and
 * sampler_sound_count allocate nothing and are safe on the render thread
 * once the bank is no longer being modified.
 */
#ifndef TT_ENGINE_SAMPLER_H
#define TT_ENGINE_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#define SAMPLER_RATE 48000

typedef struct sampler sampler;

/* One variant: frames mono samples at 48 kHz, followed by 4 zero guard
 * samples so interpolation can read past the end without a branch. */
typedef struct sampler_sound {
	const float *data;
	int64_t frames;
} sampler_sound;

int sampler_new(sampler **out);
void sampler_free(sampler *s);

/* Appends a variant to the bank called name (created when absent), taking
 * ownership of data, which must come from malloc with frames + 4 floats
 * (the last 4 zero). name: 1..63 bytes. Worker thread only. */
int sampler_add(sampler *s, const char *name, float *data, int64_t frames);

/* Loads every sub-folder of dir as a sound: audio files libsndfile reads
 * (.wav .aif .aiff .flac .ogg), sorted by file name, downmixed to mono and
 * resampled to 48 kHz. A file that cannot be decoded fails the whole load
 * with TT_EFORMAT and its path in err; a missing dir is TT_ENOTFOUND. A file
 * that fails to decode leaves the bank as it was; running out of memory or
 * of TT_MAX_SAMPLE_BANKS while merging may leave the folders before it
 * added. Worker thread only. */
int sampler_load_dir(sampler *s, const char *dir, char *err, size_t errcap);

/* Loads one audio file (any rate libsndfile reads) as mono 48 kHz into a new
 * malloc'ed buffer with the 4 guard samples; TT_EFORMAT when unreadable. */
int sampler_load_file(const char *path, float **data, int64_t *frames);
/* The same for a file already in memory (buf: len bytes, borrowed), read
 * through libsndfile's virtual I/O; tests/fuzz/fuzz_sample.c drives it.
 * Memory used follows the audio actually decoded, not what a header says. */
int sampler_load_memory(const void *buf, size_t len, float **data, int64_t *frames);

/* Variant n (modulo the count, negative n wraps too) of sound name, or NULL
 * when there is no such sound. Render-thread safe. */
const sampler_sound *sampler_find(const sampler *s, const char *name, int64_t n);
/* Variants of sound name (0 when absent). Render-thread safe. */
size_t sampler_sound_count(const sampler *s, const char *name);
size_t sampler_bank_count(const sampler *s);
/* Name of bank i in sorted order, or NULL past the end. */
const char *sampler_bank_name(const sampler *s, size_t i);

#endif
