/*
 * server/restore.h: the track table a run of a session starts with.
 *
 * When a session's sound starts (a first start, or after a restart) it
 * plays what its stored evaluations left playing: every evaluation that
 * landed, compiled again and folded in order into one table, as live
 * evaluation folds them (server/tracks.h). Live (server/evaluate.c) and
 * replay (server/replay.h) build that table with this one function, so a
 * replayed run starts exactly as the live one did.
 *
 * Threads: any, with the store handle's owner's lock held.
 */
#ifndef TT_SERVER_RESTORE_H
#define TT_SERVER_RESTORE_H

#include <stdint.h>

#include "server/tracks.h"
#include "storage/store.h"

/* The table of the session's landed evaluations with id <= upto (NULL when
 * none sounds), and in *last the highest evaluation id seen (0: none).
 * Evaluations whose code no longer compiles are skipped. TT_OK or a store
 * error. */
int restore_table(store *st, const char *session_id, int64_t upto, track_table **out,
		  int64_t *last);

#endif
