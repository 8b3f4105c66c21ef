/*
 * engine/render.h: the render loop, events in, stereo float PCM out.
 *
 * A render owns a scheduler (tempo, tracks), a voice pool, the per-orbit
 * effect buses, the master limiter and the arena pattern queries use. Per
 * block of at most RENDER_BLOCK frames it asks the scheduler for onsets,
 * starts a voice at the exact frame of each, renders the voices into the
 * orbit buses, runs delay and reverb, sums, limits, and writes interleaved
 * float stereo at 48 kHz. The same source, tempo calls and bank give the
 * same bytes on every run, whatever n each render_block() call asks for.
 *
 * Lifecycle and threads:
 *   render_new, render_free     worker thread (allocate / free)
 *   everything else             the render thread: no allocation, no lock,
 *                               no I/O (proved by engine/rtguard in tests)
 * The bank is borrowed and must outlive the render and not change while it
 * renders.
 *
 * Timing: render_block() hands out frames of an internal block of
 * RENDER_BLOCK frames, rendered when the previous one is used up; control
 * calls (source, tempo, hush, mute) act from the next internal block, that is
 * within 20 ms, except render_set_source_at(), which lands on its frame. Not thread-safe: the owner serialises calls (the server's render
 * thread applies control messages between blocks).
 */
#ifndef TT_ENGINE_RENDER_H
#define TT_ENGINE_RENDER_H

#include <stdint.h>

#include "engine/direct.h"
#include "engine/sampler.h"
#include "engine/sched.h"
#include "engine/voice.h"

#define RENDER_RATE 48000
/* Frames per scheduling block: one 20 ms Opus frame. The patterns are
 * queried once per block; voices run in slices of VOICE_BLOCK_MAX. */
#define RENDER_BLOCK 960

typedef struct render render;

typedef struct render_config {
	const sampler *bank;  /* may be NULL: synths only */
	double cps;           /* starting tempo, cycles per second (0.5) */
	size_t arena_bytes;   /* query arena (4 MiB) */
} render_config;

typedef struct render_stats {
	uint64_t frames;         /* frames rendered */
	uint64_t voices;         /* voices started */
	uint64_t missing;        /* onsets whose sound was not found (silent) */
	uint64_t unplayable;     /* onsets with nothing to play (speed 0, end <= begin) */
	uint64_t stolen;         /* voices stolen from the full pool */
	uint64_t killed;         /* voices reset by the state guard */
	int active;              /* voices sounding now */
	float min_gain;          /* the limiter's deepest gain reduction (1 = none) */
	sched_stats sched;
} render_stats;

void render_config_default(render_config *cfg);
int render_new(const render_config *cfg, render **out);
void render_free(render *r);

/* Installs (or with NULL removes) the event source from the next block on.
 * The caller keeps what it points to alive until it is replaced. */
void render_set_source(render *r, const sched_source *src);

/* Called on the render thread for every onset the scheduler returns, in
 * order, before its voice starts: o->frame is the output frame at which it
 * sounds (what annotations carry), o->ev its event (fields, locs: valid only
 * during the call), o->track its track. played is false when the sound was
 * not found or has nothing to play. The hook must not allocate, lock or
 * block (push into a ring buffer). */
typedef void (*render_onset_fn)(void *ctx, const sched_onset *o, bool played);

/* Installs (fn NULL: removes) the onset hook. */
void render_set_onset_hook(render *r, render_onset_fn fn, void *ctx);

/* Installs src from stream frame 'frame' on, exactly (see
 * sched_set_source_at): the way an evaluation lands on its quantized frame.
 * render_switch_pending() turns false once the previous source is no longer
 * used (then it may be freed, off the render thread). */
void render_set_source_at(render *r, const sched_source *src, int64_t frame);
bool render_switch_pending(const render *r);

/* Tempo from the first frame not yet rendered on: at most RENDER_BLOCK +
 * FX_LIMITER_LOOKAHEAD frames after render_frame() (see sched_set_cps). */
int render_set_cps(render *r, double cps);

/* Silences every track and releases every voice over 50 ms (on = true);
 * off lets the tracks play again. */
void render_hush(render *r, bool on);

/* The scheduler, for mute/solo and time conversions. */
sched *render_sched(render *r);

/* Next frame to render (the stream position). */
int64_t render_frame(const render *r);

/* Renders n frames into out (2n floats, interleaved L R), every sample in
 * [-1, 1] and finite. */
void render_block(render *r, float *out, int n);

void render_stats_get(const render *r, render_stats *out);

/* ---- Direct events (engine/direct.h): events from outside the patterns,
 * such as OSC /dirt/play, started at an exact frame alongside the
 * pattern events. The owner keeps the events that are not due yet and
 * hands each over in time (before the block whose window holds its frame).
 * Render thread: no allocation, no lock. */

/* At most this many direct events start in one block; the owner holds the
 * rest for the next block (they sound up to 20 ms late). */
#define RENDER_MAX_DIRECT 32
/* The track of a direct event's onset (render_onsets, the onset hook):
 * past every real track, so it is never annotated as pattern code. */
#define RENDER_DIRECT_TRACK ((size_t)-1)

/* The stream frames the next render block schedules: [*from, *to). A
 * direct event for a frame in it can be given now (render_trigger). */
void render_window(const render *r, int64_t *from, int64_t *to);

/* Queues a copy of ev to start at stream frame `frame` in the next block;
 * a frame before the window starts at the window's first frame. *at (may
 * be NULL) is the frame it will sound at. TT_EAGAIN when frame is past the
 * window (give it again before a later block), TT_ELIMIT when
 * RENDER_MAX_DIRECT events are queued for this block. */
int render_trigger(render *r, const direct_event *ev, int64_t frame, int64_t *at);

/* The onsets of the block scheduled last (by the latest render_block that
 * needed a new block), for annotations: which event starts at which frame.
 * Valid until the next render_block. Safe on the render thread. */
size_t render_onsets(const render *r, const sched_onset **out);

#endif
