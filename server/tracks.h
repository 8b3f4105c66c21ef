/*
 * server/tracks.h: a live session's tracks, as one event source.
 *
 * Every evaluation adds tracks (one per `$:` or `name:` label of its code)
 * and retires the tracks it replaces. A track_table is an immutable list
 * of entries, each a track of a compiled program plus the cycle range in
 * which its events may start: [from, until). Replacing a program at a
 * landing cycle L is then exact whatever the render block grid: the new
 * table holds the old entries with until = L and the new ones with
 * from = L, and both are queried until L has passed.
 *
 * L is only known on the render thread (it depends on where rendering is
 * when the table arrives), so entries can carry from/until "pending": the
 * render thread fills them in (tracks_land) before it installs the table,
 * and reports L back. Nobody else touches a table between its hand-over
 * and that report, which is why the loop never builds a table while the
 * previous one is in flight (server/live.c).
 *
 * Threads: build and free on the loop thread; tracks_land and the query
 * on the render thread (no allocation, no lock).
 */
#ifndef TT_SERVER_TRACKS_H
#define TT_SERVER_TRACKS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/program.h"
#include "engine/sched.h"

/* A compiled program shared by the entries made from it (loop thread
 * counts the references). */
typedef struct prog_ref {
	tt_program *p;
	int refs;
} prog_ref;

typedef struct track_entry {
	prog_ref *prog;
	size_t track;             /* index in the program */
	char name[64];            /* for mute/solo and listings */
	int64_t doc_id;
	int64_t rev;              /* the document revision evaluated */
	uint32_t code_base;       /* UTF-16 offset of the code in the document */
	int64_t eval_id;
	tt_rat from, until;
	bool has_from, has_until;
	bool from_pending, until_pending;
	int64_t until_frame;      /* when until is set: its stream frame */
} track_entry;

typedef struct track_table {
	size_t n;
	track_entry e[];
} track_table;

/* Wraps a freshly compiled program (takes ownership of p). */
prog_ref *tracks_prog_new(tt_program *p);

/* The table that results from evaluating prog (may be NULL for code that
 * only hushes) for document doc_id: the old table's entries still alive at
 * render frame now_frame, with the ones this evaluation replaces marked to
 * end at the landing; then the program's tracks, marked to start there.
 * whole: the code was the whole document (replaces all of its tracks);
 * otherwise only tracks of the same names are replaced. hush_all retires
 * every track. Loop thread. */
track_table *tracks_build(const track_table *old, int64_t now_frame, prog_ref *prog,
			  int64_t doc_id, const char *doc_name, int64_t rev, uint32_t code_base,
			  uint32_t range_from, int64_t eval_id, bool whole, bool hush_all);

/* Frees a table and drops its program references. Loop thread. */
void tracks_free(track_table *t);

/* Render thread: fills every pending from/until with landing cycle L (at
 * stream frame l_frame). */
void tracks_land(track_table *t, tt_rat landing, int64_t l_frame);

/* The sched_source querying t (borrowed; t must stay installed). */
void tracks_source(const track_table *t, sched_source *out);

#endif
