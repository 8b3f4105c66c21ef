/*
 * server/osc.h: TidalCycles over OSC. With --osc-session ID, tuttid takes
 * SuperDirt's /dirt/play messages on UDP (--osc-listen, 127.0.0.1:57120 by
 * default) and plays each in session ID at the stream frame its bundle
 * timestamp names, beside whatever the session's patterns play.
 *
 *   UDP ─► osc thread: OSC packet, bundles (liblo parses each message),
 *          /dirt/play pairs ─► direct event (server/osc_event.c), due time
 *            │ loop_post, one batch per packet
 *            ▼
 *   loop: start the session's sound if needed, send to its render thread
 *          (server/live_direct.h), which starts each at its frame
 *            │ a timer every OSC_DRAIN_MS
 *            ▼
 *   loop: played events ─► direct_events table (one transaction a batch)
 *
 * Time: an OSC timetag is NTP wall-clock time; the osc thread turns it
 * into CLOCK_MONOTONIC (the render thread's clock) with the offset between
 * the two clocks read when the packet arrives. A message outside a bundle,
 * or with the timetag "immediately", plays as soon as possible; one whose
 * time has passed plays as soon as possible and is counted as late; one
 * more than TT_MAX_OSC_AHEAD_MS ahead is refused.
 *
 * Bad input never stops anything: a packet liblo cannot parse, a message
 * with an odd number of arguments or a non-string key, or without a sound,
 * is counted as malformed; a key tutti does not play is ignored and
 * counted; limits (TT_MAX_OSC_PARAMS, TT_MAX_OSC_STRING,
 * TT_MAX_OSC_AHEAD_MS) refuse the message and are counted apart. Events do
 * not carry source code, so they are never annotated.
 *
 * Threads: osc_start, osc_stop and osc_free on the main thread (start
 * after the loop, stop before the loop stops, free after); osc_health_json
 * from any thread (the counters are atomic).
 */
#ifndef TT_SERVER_OSC_H
#define TT_SERVER_OSC_H

#include <jansson.h>
#include <stddef.h>

typedef struct tt_app tt_app;
typedef struct osc_in osc_in;

/* Binds app->cfg.osc_host:osc_port, checks that the session exists, logs
 * the address and starts the thread. On failure err says why. */
int osc_start(tt_app *app, osc_in **out, char *err, size_t errlen);
/* Stops the thread (nothing is posted to the loop after it returns). */
void osc_stop(osc_in *o);
/* Frees the rest; after the loop has stopped. o may be NULL. */
void osc_free(osc_in *o);

/* The UDP port it listens on. */
int osc_port(const osc_in *o);
/* {"session", "listen", "port", "received", "played", ...}: new reference. */
json_t *osc_health_json(const osc_in *o);

#endif
