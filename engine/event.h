/*
 * engine/event.h: what a pattern query yields and the scheduler consumes.
 *
 * This header is the contract between the pattern language (engine/pattern*,
 * engine/lang*, engine/mini*) and the render engine (engine/sched*,
 * engine/synth*). Events live in the arena the query was given; they stay
 * valid until the caller resets that arena.
 *
 * An event's value is a set of named fields, like Strudel's value objects:
 * {s: "bd", n: 3, gain: 0.8}. Keys are canonical control names (aliases are
 * resolved at compile time: lpf -> cutoff, legato -> clip). A pattern whose
 * values are bare scalars (a plain "1 2 3" string) yields one field whose
 * key is NULL.
 */
#ifndef TT_ENGINE_EVENT_H
#define TT_ENGINE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/rational.h"

typedef struct tt_span {
	tt_rat begin;
	tt_rat end;
} tt_span;

typedef enum tt_vkind {
	TT_V_NUM = 0,  /* num holds the value */
	TT_V_STR = 1,  /* str holds the value, NUL-terminated */
	TT_V_BOOL = 2  /* num is 0 or 1 */
} tt_vkind;

typedef struct tt_field {
	const char *key;  /* canonical control name, or NULL for a bare value */
	tt_vkind kind;
	double num;
	const char *str;
} tt_field;

/* [start, end) character offsets into the program's source: the token that
 * made this event, for highlighting and for conformance 'locs'. */
typedef struct tt_loc {
	uint32_t start;
	uint32_t end;
} tt_loc;

typedef struct tt_event {
	bool has_whole;    /* false for continuous (signal) events */
	tt_span whole;     /* valid when has_whole */
	tt_span part;      /* the fragment of whole inside the query span */
	const tt_field *fields;
	uint32_t n_fields;
	const tt_loc *locs;
	uint32_t n_locs;
} tt_event;

/* Returns true when the event starts inside its part (Strudel's
 * hasOnset()): only such events trigger a voice. */
static inline bool event_has_onset(const tt_event *e)
{
	return e->has_whole && e->whole.begin.n == e->part.begin.n &&
	       e->whole.begin.d == e->part.begin.d;
}

/* The field named key, or NULL. Safe on the render thread. */
const tt_field *event_field(const tt_event *e, const char *key);

#endif
