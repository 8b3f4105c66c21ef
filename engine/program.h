/*
 * engine/program.h: a compiled program, the unit that is evaluated,
 * handed to the render thread, and queried there.
 *
 * A program is the result of evaluating one piece of code: zero or more
 * tracks (one per `$:` or `name:` label, or one unnamed track for a plain
 * expression), plus what the code said about tempo (setcps/setcpm) and
 * hush(). Once compiled it is immutable, so the render thread may query it
 * while another thread compiles the next one.
 *
 *   program_compile   worker thread: parses, evaluates, allocates (malloc)
 *   program_query     render thread: allocates only from the given arena
 *   program_free      worker thread, never the render thread
 */
#ifndef TT_ENGINE_PROGRAM_H
#define TT_ENGINE_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/arena.h"
#include "engine/event.h"

typedef struct tt_program tt_program;

/* Where and why code was rejected. line and col are 1-based; col counts
 * characters. message says what was expected and, for an unknown name, may
 * suggest the closest known one. */
typedef struct tt_diag {
	int line;
	int col;
	uint32_t offset;  /* character offset into the code */
	char message[256];
} tt_diag;

/* Compiles code (UTF-8, len bytes). On success *out owns a new program; on
 * failure returns TT_ESYNTAX, TT_EINVAL, TT_ELIMIT... and fills diag. */
int program_compile(const char *code, size_t len, tt_program **out, tt_diag *diag);
void program_free(tt_program *p);

size_t program_track_count(const tt_program *p);
/* The label of track i ("$" plus index for anonymous `$:` tracks, "" for a
 * plain expression). Borrowed: lives as long as p. */
const char *program_track_name(const tt_program *p, size_t i);

/* Tempo the code set with setcps/setcpm; returns false when it set none. */
bool program_cps(const tt_program *p, double *cps);
/* True when the code called hush(): silence every track. */
bool program_hushed(const tt_program *p);

/* Events of track i whose parts intersect [begin, end), in the arena.
 * Returns TT_OK, or TT_ELIMIT when the arena or TT_MAX_EVENTS_PER_CYCLE
 * ran out (the events found so far are returned), or TT_ERANGE on a time
 * overflow. Safe on the render thread. */
int program_query(const tt_program *p, size_t i, tt_span span, tt_arena *arena,
		  tt_event **events, size_t *n_events);

#endif
