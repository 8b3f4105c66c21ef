/*
 * engine/sched.h: from pattern time to sample frames.
 *
 * The scheduler owns the tempo map (segments of frame, cycle, cps, exact
 * rationals) and the track flags (mute, solo, hush). Per block of frames it
 * queries every audible track for the block's cycle span and returns the
 * events that start inside the block, each with the exact frame of its
 * onset, its length in seconds and a seed for the voice's noise.
 *
 * The events come through a sched_query_fn of the same shape as
 * program_query(), so a compiled program (engine/sched_program.c) or any
 * other source (tests build events by hand) can feed it.
 *
 * Threads: everything here is for the render thread and allocates nothing;
 * the owner applies tempo, mute/solo and source changes between blocks (the
 * server hands them over through its own queue). One thread per sched.
 */
#ifndef TT_ENGINE_SCHED_H
#define TT_ENGINE_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "engine/arena.h"
#include "engine/event.h"

#define SCHED_RATE 48000

typedef int (*sched_query_fn)(void *ctx, size_t track, tt_span span, tt_arena *arena,
			      tt_event **events, size_t *n_events);
typedef const char *(*sched_name_fn)(void *ctx, size_t track);

/* Where events come from: n_tracks tracks, each queried through query. The
 * caller keeps ctx alive while it is installed. name may be NULL (tracks are
 * then unnamed and can only be hushed, not muted or soloed). */
typedef struct sched_source {
	sched_query_fn query;
	sched_name_fn name;
	void *ctx;
	size_t n_tracks;
} sched_source;

/* One voice to start. ev lives in the block's arena until the next
 * sched_block() call. */
typedef struct sched_onset {
	const tt_event *ev;
	size_t track;
	int offset;        /* frame within the block, 0 .. n-1 */
	int64_t frame;     /* absolute stream frame = floor(exact onset frame) */
	double dur_sec;    /* whole x clip, in seconds at the tempo of the onset */
	bool clipped;      /* the event carried clip (legato) */
	uint32_t seed;     /* a hash of the event: same event, same seed */
} sched_onset;

typedef struct sched_stats {
	uint64_t onsets;         /* onsets returned */
	uint64_t dropped;        /* onsets past TT_MAX_ONSETS_PER_BLOCK */
	uint64_t query_errors;   /* queries that failed or ran out of arena */
	uint64_t time_errors;    /* cycle<->frame conversions that overflowed */
} sched_stats;

typedef struct sched sched;

/* Tempo segments kept ahead of the render position. */
#define SCHED_MAX_SEGMENTS 16

typedef struct sched_segment {
	int64_t frame;
	tt_rat cycle;
	tt_rat cps;
} sched_segment;

typedef struct sched_flag {
	char name[64];
	bool mute, solo;
} sched_flag;

struct sched {
	sched_segment seg[SCHED_MAX_SEGMENTS];
	int n_seg;
	sched_source src;
	sched_source next;       /* installed at next_frame */
	int64_t next_frame;
	bool has_next;
	sched_flag flags[TT_MAX_TRACK_FLAGS];
	int n_flags;
	bool hushed;
	sched_stats st;
};

/* Starts at frame 0, cycle 0, with cps (0.5 when not finite or <= 0). */
void sched_init(sched *s, double cps);
void sched_set_source(sched *s, const sched_source *src);
/* Installs src from stream frame 'frame' on: blocks are cut there, so the
 * previous source plays every frame before it and src every frame from it
 * (an evaluation that lands on a cycle boundary lands exactly). A frame
 * already passed takes effect at the next block. Replaces a pending switch.
 * sched_switch_pending() is true until the switch happened; after that the
 * previous source is no longer used and may be freed (on another thread). */
void sched_set_source_at(sched *s, const sched_source *src, int64_t frame);
bool sched_switch_pending(const sched *s);

/* From frame on (>= the next frame to render), the tempo is cps; the cycle
 * stays continuous. cps is taken as the nearest fraction with denominator
 * <= 10000 and clamped to [0.01, 100]. TT_ELIMIT when too many changes are
 * pending, TT_EINVAL for a frame in the past of the last segment. */
int sched_set_cps(sched *s, int64_t frame, double cps);
/* The same with the tempo exactly cps (n, d > 0), as sched_set_cps chose
 * it: replay (server/replay.h) re-applies a stored tempo change with it. */
int sched_set_cps_exact(sched *s, int64_t frame, tt_rat cps);

/* The exact cycle at frame, and the frame (floor of the exact position) of
 * cycle; TT_ERANGE on overflow. Frames before the first kept segment use it. */
int sched_cycle_at(const sched *s, int64_t frame, tt_rat *cycle);
int sched_frame_at(const sched *s, tt_rat cycle, int64_t *frame);
double sched_cps_at(const sched *s, int64_t frame);

/* Mute or solo the track called name (TT_ELIMIT past TT_MAX_TRACK_FLAGS
 * names); hush silences every track until sched_hush(s, false). */
int sched_mute(sched *s, const char *name, bool on);
int sched_solo(sched *s, const char *name, bool on);
void sched_hush(sched *s, bool on);
bool sched_track_audible(const sched *s, size_t track);

/* Queries frames [frame, frame + n) and writes up to cap onsets, ordered by
 * track then by query order. The arena is reset first. Returns the number of
 * onsets (>= 0). */
size_t sched_block(sched *s, int64_t frame, int n, tt_arena *arena, sched_onset *out,
		   size_t cap);

#endif
