/*
 * server/replay.h: a past session rendered again, exactly.
 *
 * Live, a session's render thread applies changes (track tables from
 * evaluations, tempo, hush/mute/solo) before a render block and reports
 * the block; the store keeps each change with its run and that block
 * (migration 6, storage/store.h "Runs and controls"). Replay walks the
 * same log through the same engine: for each run it starts a render as
 * live_start did (the run's tempo, the built-in kit), installs the same
 * restore table (server/restore.h), then before each 20 ms block applies
 * the changes live applied there, rebuilding every table the way live
 * built it (tracks_build at the frame live built it) and landing it where
 * live reported it landed. The PCM of any span is then the live PCM of
 * that span, bit for bit (tests/server/replay.py checks this against
 * tuttid --capture-pcm).
 *
 * Session time: frame f of a run is at run.start_frame + f on the
 * session's clock (48 kHz). Between runs (the server was down) replay
 * gives silence. A span inside a run is rendered from the run's start,
 * because voices and effects carry state; the frames before the span are
 * rendered and dropped (they are not encoded).
 *
 * Stems: only the tracks of one document (by name) or of one performer
 * (the author of the evaluation that made the track) sound; everything
 * else (tempo, hush, mute, solo) is applied as in the mix.
 *
 * Rows older than migration 6 carry no run and are not replayed.
 *
 * Threads: one replay is used by one thread; it only reads the store
 * while opening (replay_open), so the handle may then be closed.
 */
#ifndef TT_SERVER_REPLAY_H
#define TT_SERVER_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "engine/render.h"
#include "engine/sampler.h"
#include "storage/store.h"

typedef enum replay_stem { REPLAY_MIX, REPLAY_STEM_DOC, REPLAY_STEM_AUTHOR } replay_stem;

typedef struct replay_config {
	store *st;                /* read while opening only */
	const char *session_id;
	const sampler *bank;      /* the sounds live used (the built-in kit) */
	int64_t from;             /* session frames; from >= 0 */
	int64_t to;               /* < 0: the end of the last run */
	replay_stem stem;
	const char *stem_name;    /* document name or author, for a stem */
} replay_config;

typedef struct replay replay;

/* One token sounding, as live annotations give it (server/live.h), at a
 * session frame. */
typedef struct replay_anno {
	int64_t frame;
	int64_t doc_id, rev, eval_id;
	uint32_t start, end;
	double dur;
} replay_anno;

/* Loads the session's log. TT_ENOTFOUND (no such session, or nothing to
 * replay: err says which), TT_EINVAL (a span outside the session, or a
 * stem no track matches), a store error, TT_ENOMEM; err says what. */
int replay_open(const replay_config *cfg, replay **out, char *err, size_t errlen);
void replay_free(replay *rp);

/* The span, in session frames: [from, to). */
int64_t replay_from(const replay *rp);
int64_t replay_to(const replay *rp);
/* The session's end: the last frame any run reached. */
int64_t replay_session_end(const replay *rp);
/* Frames rendered so far, counting those before the span that had to be
 * rendered to reach it, and the total that will be: progress. */
void replay_progress(const replay *rp, int64_t *done, int64_t *total);

/* Renders the next frames of the span, at most max, into pcm (stereo,
 * interleaved); *n is 0 at the end. When annos is not NULL, the onsets of
 * the frames returned are added to it (up to cap; *n_annos counts them).
 * TT_OK or TT_ENOMEM (a table could not be built). */
int replay_read(replay *rp, float *pcm, size_t max, size_t *n, replay_anno *annos, size_t cap,
		size_t *n_annos);

#endif
