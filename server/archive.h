/*
 * server/archive.h: every live session's stream, also written to disk.
 *
 * While a session plays, its Opus packets go to the archive too: the hub
 * (loop thread) copies each packet into one bounded queue, and one archive
 * writer thread, shared by every session, muxes them into Ogg Opus files
 * and keeps their index in SQLite (archive_files, storage/store.h):
 *
 *   loop: drain_packets ──archive_push──► queue (TT_ARCHIVE_QUEUE_BYTES)
 *        ──► writer thread: muxer per file ──► DIR/SESSION/RUN-SEQ.ogg
 *                                           └─► archive_files row
 *
 * One thread for all sessions: a session makes about 16 KB/s, so one
 * thread keeps up with hundreds; it holds the archive's one store handle
 * and meets every disk failure in one place. A thread per session would
 * buy nothing but threads, as the files share one disk anyway.
 *
 * Invariants:
 *  1. The loop never touches a file or the database for the archive: it
 *     only copies packets into the queue (dropped and counted when full).
 *  2. Each file is a whole Ogg Opus stream of its own: OpusHead and
 *     OpusTags (a fresh serial per file), then audio pages with the run's
 *     granule positions, ended by an EOS page; so any file plays alone.
 *  3. Files of a run are contiguous: a file ends (its EOS granule trims
 *     the last packet) exactly where the next one's audio begins, and the
 *     next one starts with that same packet, whose first pre-skip samples
 *     the decoder drops as warm-up. In the index, each file's first_frame
 *     is the last_frame of the one before (run frames, last exclusive).
 *     A gap in the packets (a full queue) ends the file at the gap.
 *  4. A failed write or open (disk full, no permission) is logged once,
 *     ends archiving of that session for its run, and is counted; the
 *     stream itself never waits for or notices the disk.
 *  5. A file's row is written when it opens and completed when it closes;
 *     on start the writer completes rows a crash left open from their
 *     files (cut to their last whole page).
 *
 * Threads: archive_init/archive_fini on the main thread (from hub_init and
 * hub_fini); archive_open/push/close on the loop thread; the routes on
 * libmicrohttpd's; archive_totals_get anywhere. None is for the render
 * thread.
 */
#ifndef TT_SERVER_ARCHIVE_H
#define TT_SERVER_ARCHIVE_H

#include <stdint.h>

#include "codec/ogg_mux.h"
#include "server/http.h"
#include "server/live.h"

typedef struct tt_app tt_app;
typedef struct archive_sess archive_sess;

/* Finds the archive directory (--archive-dir, else "archive" beside the
 * database) and, unless --no-archive, creates it and starts the writer
 * thread. A directory that cannot be made is logged, not fatal: the
 * server runs without an archive. TT_OK or TT_ENOMEM / TT_EIO (no thread). */
int archive_init(tt_app *app);
/* Writes what is queued, closes every file and stops the thread; call
 * after every archive_sess was closed (after the loop stopped). */
void archive_fini(void);

/* A run of session sid starts: its archive, or NULL when archiving is off.
 * mc is the hub's muxer configuration (channels, pre-skip), borrowed. */
archive_sess *archive_open(const char *sid, int64_t run_id, const oggmux_config *mc);
/* Queues a copy of one packet for the writer (a NULL a is fine). Takes the
 * queue's lock briefly, never waits for the disk. */
void archive_push(archive_sess *a, const live_packet *p);
/* The run ends: the writer finishes the file; a belongs to it from here
 * on (a NULL a is fine). */
void archive_close(archive_sess *a);

typedef struct archive_totals {
	uint64_t files;           /* files completed */
	uint64_t bytes;           /* bytes written */
	uint64_t failures;        /* session runs whose archiving stopped on an error */
	uint64_t dropped;         /* packets the full queue could not take */
} archive_totals;

void archive_totals_get(archive_totals *out);

/* GET /api/sessions/{id}/archive: the session's files, oldest first. */
enum MHD_Result archive_route_list(tt_app *app, const http_request *req);
/* GET /api/sessions/{id}/archive/{file}.ogg: one file. Both need the same
 * access as the live stream (auth_may_read). */
enum MHD_Result archive_route_file(tt_app *app, const http_request *req);

#endif
