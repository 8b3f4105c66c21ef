/*
 * server/evaluate.h: evaluation, tempo, hush, mute, solo and audio
 * requests of a live session, and the render thread's answers.
 *
 * An evaluation is parsed and compiled here, on the loop thread, then
 * dry-run against the query budgets; a program that fails either is
 * answered with its error (document line and column) and the old sound
 * keeps playing. A good one becomes a new track table (server/tracks.c)
 * sent to the render thread, which picks the landing (next cycle, now, or
 * the next multiple of N cycles) and reports it; only then is the
 * evaluation stored, answered and announced to the session, with its exact
 * landing frame and cycle. Tables go one at a time: an evaluation that
 * arrives while another is in flight waits for its report (a few ms).
 *
 * Threads: the loop thread.
 */
#ifndef TT_SERVER_EVALUATE_H
#define TT_SERVER_EVALUATE_H

#include <jansson.h>

#include "server/live.h"
#include "server/session.h"

typedef struct ws_conn ws_conn;

void evaluate_eval(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);
void evaluate_tempo(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);
void evaluate_hush(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);
void evaluate_mute(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);
void evaluate_solo(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);
void evaluate_audio(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);

/* A report from the session's render thread (server/hub.c drains them). */
void evaluate_on_report(tt_app *app, live_session *s, const live_report *r);

/* Rebuilds the session's tracks from its stored evaluations (after a
 * restart), landing at once; returns the last evaluation id it read (the
 * run's restore_upto, server/restore.h). */
int64_t evaluate_restore(tt_app *app, live_session *s);

/* The tempo the session had when it last ran (0.5 for a new one). */
double evaluate_stored_cps(tt_app *app, live_session *s);

/* Drops the session's waiting requests (when its sound stops). */
void evaluate_forget(live_session *s);

#endif
