/*
 * server/live.h: the sound of one live session: its render thread.
 *
 * The render thread renders the session's track table 20 ms at a time,
 * a little ahead of the monotonic clock, encodes each block to one Opus
 * packet and hands packets and annotations (which token of which document
 * starts sounding at which stream frame) to the loop through lock-free
 * rings. The loop talks back through a command ring: a new track table
 * (evaluation), a tempo change, hush, mute, solo. Each command that lands
 * at a musical moment is answered on the report ring with the exact frame
 * and cycle it took, and every table the render thread lets go of is sent
 * back there to be freed.
 *
 *   loop ──cmd──► render thread ──packets, annos, reports──► loop
 *
 * Invariants:
 *  1. The render thread never allocates, locks, logs or does I/O: it only
 *     renders, encodes, and copies slots in and out of the rings. When an
 *     output ring is full it drops the item and counts it.
 *  2. A table is in one place at a time: the loop until it is sent, the
 *     render thread until it is sent back, then the loop, which frees it.
 *
 * Threads: live_start/live_stop and the ring calls marked "loop" on the
 * loop thread.
 */
#ifndef TT_SERVER_LIVE_H
#define TT_SERVER_LIVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/limits.h"
#include "engine/rational.h"
#include "engine/render.h"
#include "engine/sampler.h"
#include "server/tracks.h"

typedef struct live live;

/* Where an evaluation or a tempo change lands. */
typedef enum live_quantum {
	LIVE_AT_CYCLE = 0,   /* the next cycle boundary (default) */
	LIVE_AT_NOW = 1,     /* as soon as possible, mid-cycle */
	LIVE_AT_EVERY = 2    /* the next multiple of `every` cycles */
} live_quantum;

typedef enum live_cmd_kind {
	LIVE_CMD_TABLE, LIVE_CMD_TEMPO, LIVE_CMD_HUSH, LIVE_CMD_MUTE, LIVE_CMD_SOLO
} live_cmd_kind;

typedef struct live_cmd {
	live_cmd_kind kind;
	int64_t token;           /* echoed in the report */
	track_table *table;      /* TABLE: handed over */
	live_quantum quantum;
	int64_t every;           /* LIVE_AT_EVERY: cycles */
	double cps;              /* TEMPO */
	bool on;                 /* HUSH, MUTE, SOLO */
	char name[64];           /* MUTE, SOLO: the track */
} live_cmd;

typedef enum live_report_kind {
	LIVE_REP_LANDED,         /* a table was installed; lands at frame/cycle */
	LIVE_REP_TEMPO,          /* a tempo change lands at frame/cycle */
	LIVE_REP_RETIRED,        /* table is the loop's again: free it */
	LIVE_REP_FAILED,         /* the command could not be applied */
	LIVE_REP_CONTROL         /* hush, mute or solo was applied */
} live_report_kind;

typedef struct live_report {
	live_report_kind kind;
	int64_t token;
	int64_t applied;         /* the first frame of the block the command was
				  * applied before: replay applies it there too */
	int64_t frame;
	tt_rat cycle;
	tt_rat cps;
	track_table *table;
} live_report;

typedef struct live_packet {
	int64_t frame;           /* stream frame of its first decoded sample */
	int64_t granule;         /* Ogg granule position at its end */
	uint16_t len;
	uint8_t data[TT_MAX_OPUS_PACKET];
} live_packet;

/* One token starting to sound. */
typedef struct live_anno {
	int64_t frame;
	int64_t doc_id;
	int64_t rev;
	int64_t eval_id;
	uint32_t start, end;     /* UTF-16 offsets in the document at rev */
	float dur;               /* seconds it sounds */
	uint16_t track;
	char value[96];          /* the event's value as a JSON object, cut short
				  * (to its first fields) when long */
} live_anno;

typedef struct live_stats {
	uint64_t blocks;
	uint64_t late_blocks;    /* rendered after their deadline */
	uint64_t dropped_packets;
	uint64_t dropped_annos;
	uint64_t dropped_reports;
} live_stats;

/* One block of the rendered mix, for --capture-pcm (verification of
 * replay against what was played). */
typedef struct live_pcm {
	int64_t frame;
	float pcm[2 * RENDER_BLOCK];
} live_pcm;

typedef struct live_config {
	const sampler *bank;     /* borrowed; must outlive the live */
	double cps;
	bool capture_pcm;        /* also hand every block's PCM to the loop */
} live_config;

/* Starts a render thread at stream frame 0, cycle 0, cfg->cps. The thread
 * runs at real-time priority (SCHED_FIFO) where the system allows it. */
int live_start(const live_config *cfg, live **out);
/* Stops and joins the thread; frees what it still holds (the installed
 * table and everything in the rings). */
void live_stop(live *l);

/* Loop: false when the command ring is full (try again later). */
bool live_send(live *l, const live_cmd *c);
bool live_pop_packet(live *l, live_packet *p);
bool live_pop_anno(live *l, live_anno *a);
bool live_pop_report(live *l, live_report *r);
/* Loop: the session's direct-event rings (OSC input, server/live_direct.h). */
struct live_direct *live_get_direct(live *l);
/* Loop: the next captured block (capture_pcm only). */
bool live_pop_pcm(live *l, live_pcm *p);
/* Whether the render thread got real-time priority. */
bool live_realtime(const live *l);

/* Totals over every render thread since the server started (any thread;
 * the render threads add to them with relaxed atomic increments). */
typedef struct live_totals {
	uint64_t running;        /* render threads now */
	uint64_t blocks;
	uint64_t late_blocks;    /* rendered after their deadline */
	uint64_t dropped;        /* packets and annotations the loop did not take */
} live_totals;

void live_totals_get(live_totals *out);

/* Any thread: the next stream frame to render, and counters. */
int64_t live_frame(const live *l);
void live_stats_get(const live *l, live_stats *out);

#endif
