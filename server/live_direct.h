/*
 * server/live_direct.h: direct events (OSC /dirt/play) into a live
 * session's render thread, at the frame their timestamp names, and back.
 *
 *   loop ──in ring──► render thread: pending list ──► render_trigger
 *                                        │ (at the block whose window
 *   loop ◄──out ring── (frame it started) ┘  holds the event's frame)
 *
 * The loop sends each event with the CLOCK_MONOTONIC time it should sound
 * at. The render thread maps time to stream frames as server/live.c paces
 * it: frame f sounds at start + f / 48 kHz, where start is the monotonic
 * time its first block was rendered (block b is rendered at start +
 * (b - 1) * 20 ms, one block ahead of the clock). It keeps up to
 * TT_MAX_DIRECT_PENDING events until their frame's block, starts each at
 * that exact frame (engine/render.h, render_trigger), and sends it back
 * with the frame it started at, so the loop can store it for replay.
 *
 * Invariants:
 *  1. Every event the loop sent comes back exactly once on the out ring
 *     (played, or dropped because the pending list was full), unless the
 *     out ring is full at that moment: then it is counted as unreported.
 *  2. An event due before the next block's window, or without a due time,
 *     starts at the window's first frame (the earliest possible); one due
 *     in the past is marked late.
 *
 * Threads: live_direct_block on the render thread only (no allocation, no
 * lock, no I/O); send, pop and the counters on the loop; new and free
 * while no render thread uses it.
 */
#ifndef TT_SERVER_LIVE_DIRECT_H
#define TT_SERVER_LIVE_DIRECT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/limits.h"
#include "engine/direct.h"
#include "engine/render.h"

typedef struct live_direct live_direct;

/* One event on its way in. */
typedef struct live_direct_msg {
	direct_event ev;
	int64_t due_ns;           /* CLOCK_MONOTONIC ns it should sound at; 0: now */
	int64_t time_ms;          /* wall-clock ms it arrived (stored with it) */
	char source[48];          /* where it came from ("osc 127.0.0.1:57121") */
} live_direct_msg;

/* One event on its way back. */
typedef struct live_direct_done {
	live_direct_msg m;
	int64_t frame;            /* the stream frame it started at */
	bool late;                /* it was due before that frame (by > 1 frame) */
	bool dropped;             /* not played: the pending list was full */
} live_direct_done;

int live_direct_new(live_direct **out);
void live_direct_free(live_direct *d);

/* Render thread, before each render_block of RENDER_BLOCK frames. */
void live_direct_block(live_direct *d, render *r);

/* Loop: false when the ring is full (the event is not sent). */
bool live_direct_send(live_direct *d, const live_direct_msg *m);
/* Loop: the next event that was played or dropped. */
bool live_direct_pop(live_direct *d, live_direct_done *out);
/* Any thread: events played but not reported (the out ring was full). */
uint64_t live_direct_unreported(const live_direct *d);

/* The frame of monotonic time due_ns for a thread that started at
 * start_ns (exposed for tests): nearest frame, never below 0. */
int64_t live_direct_frame_at(int64_t start_ns, int64_t due_ns);

#endif
