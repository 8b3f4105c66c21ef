/*
 * server/osc_event.h: SuperDirt's /dirt/play arguments to a direct event
 * (engine/direct.h), and a direct event to and from the JSON that
 * direct_events.params stores for replay.
 *
 * SuperDirt's meaning of each key is kept where tutti's engine differs
 * (docs/osc.md has the table): note 0 is middle C for synths and "no
 * shift" for samples, n picks a sample or is the note of a synth, gain is
 * SuperDirt's curve (gain^4), resonance 0..1 becomes a filter Q, size
 * 0..1 a room size, and delta, legato and sustain give the note's length
 * in seconds. Tidal's bookkeeping keys (cps, cycle, delta, _id_) are used
 * or consumed; every other key is ignored and counted.
 *
 * Pure functions (no I/O, no globals): any thread; not the render thread
 * (the JSON functions allocate).
 */
#ifndef TT_SERVER_OSC_EVENT_H
#define TT_SERVER_OSC_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/direct.h"

/* One key/value pair of a message: a number, or a string (is_str). */
typedef struct osc_pair {
	const char *key;
	bool is_str;
	double num;
	const char *str;
} osc_pair;

/* Maps pairs[0..n) to *ev. *ignored counts keys tutti does not play (and
 * values of the wrong type or not finite). TT_EINVAL with a message in err
 * when there is no sound name (s), TT_ELIMIT when the strings or fields do
 * not fit the event's limits. */
int osc_event_map(const osc_pair *pairs, size_t n, direct_event *ev, int *ignored, char *err,
		  size_t errlen);

/* {"fields": {"s": "bd", "n": 1, ...}, "dur": 0.5, "clipped": false}: every
 * number with 17 significant digits, so from_json gives the same bits.
 * malloc'd; NULL when out of memory or a number is not finite (never for
 * what osc_event_map makes: it keeps every number finite). */
char *osc_event_json(const direct_event *ev);

/* The reverse of osc_event_json. TT_EINVAL with a message in err for text
 * that is not such an object or names a field osc_event_map never makes. */
int osc_event_from_json(const char *json, direct_event *ev, char *err, size_t errlen);

#endif
