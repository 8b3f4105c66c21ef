/*
 * engine/direct.h: an event that comes from outside the pattern language
 * (an OSC /dirt/play message), to be started at an exact stream frame.
 *
 * A pattern event lives in the query arena and points at its program; a
 * direct event must cross threads through fixed-size ring slots and wait
 * in a render thread's fixed list for its frame, so it is plain data: its
 * fields are copied in, string values into its own text buffer, and every
 * key points at a string with static storage (a literal or a name from
 * the controls table), never at memory that may be freed.
 *
 * Invariants:
 *  1. n_fields <= TT_MAX_DIRECT_FIELDS, text_len <= TT_MAX_DIRECT_TEXT, and
 *     each string field's str is the offset of a NUL-terminated string
 *     inside text.
 *  2. A key occurs at most once (setting it again replaces the value).
 *  3. The struct can be copied with memcpy (no pointers into itself).
 *
 * Threads: every function is safe on the render thread (no allocation,
 * no lock, no I/O).
 */
#ifndef TT_ENGINE_DIRECT_H
#define TT_ENGINE_DIRECT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/limits.h"
#include "engine/event.h"

typedef struct direct_field {
	const char *key;   /* static storage (invariant 3 holds for the struct) */
	tt_vkind kind;
	double num;        /* TT_V_NUM, TT_V_BOOL */
	uint16_t str;      /* TT_V_STR: offset into text */
} direct_field;

typedef struct direct_event {
	double dur_sec;    /* how long the note lasts, in seconds */
	bool clipped;      /* dur_sec is the note's length (legato, sustain);
			    * false: a sample plays to its end, a synth dur_sec */
	uint16_t n_fields;
	uint16_t text_len;
	direct_field fields[TT_MAX_DIRECT_FIELDS];
	char text[TT_MAX_DIRECT_TEXT];
} direct_event;

/* An event with no fields, lasting dur_sec (not clipped). */
void direct_event_init(direct_event *e, double dur_sec);

/* Sets key (static storage: see above) to a number, a boolean or a copy
 * of a string. TT_ELIMIT past TT_MAX_DIRECT_FIELDS fields or
 * TT_MAX_DIRECT_TEXT bytes of strings; TT_EINVAL for a NULL key or a
 * string longer than TT_MAX_OSC_STRING bytes. On failure e is unchanged. */
int direct_event_set_num(direct_event *e, const char *key, double v);
int direct_event_set_bool(direct_event *e, const char *key, bool v);
int direct_event_set_str(direct_event *e, const char *key, const char *s);

/* The field called key, or NULL. */
const direct_field *direct_event_get(const direct_event *e, const char *key);
/* A string field's value (NULL when f is not a string). */
const char *direct_field_str(const direct_event *e, const direct_field *f);

/* Makes ev a view of e for the synth: fields (an array of at least
 * TT_MAX_DIRECT_FIELDS) is filled and ev points at it and at e's text, so
 * both stay valid while e and fields do. The event spans cycle [0, 1). */
void direct_event_view(const direct_event *e, tt_event *ev, tt_field *fields);

/* A hash of the fields and of frame: the voice's noise seed, so a replay
 * of the same event at the same frame sounds the same. */
uint32_t direct_event_seed(const direct_event *e, int64_t frame);

#endif
