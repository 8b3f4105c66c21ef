/*
 * server/hub.h: a live session's sound, from its render thread to everyone.
 *
 * hub_start gives a session its render thread (server/live.c), its Ogg
 * muxer and its listener rings. Every HUB_TICK_MS the loop drains each
 * session's rings: each Opus packet goes once into the Ogg muxer and its
 * page into the live.ogg ring (HTTP listeners), and as one binary message
 * to every member that asked for audio; annotations are batched per
 * packet and go to every member and into the events ring (SSE); reports
 * go to server/evaluate.c.
 *
 * Binary audio message (little-endian): int64 stream frame of the
 * packet's first decoded sample, then the raw Opus packet (48 kHz stereo,
 * 20 ms). See docs/protocol.md.
 *
 * Threads: the loop thread, except hub_start_wait (any thread but the
 * loop's: it posts and waits).
 */
#ifndef TT_SERVER_HUB_H
#define TT_SERVER_HUB_H

#include "engine/sampler.h"
#include "server/session.h"

#define HUB_TICK_MS 10

/* Starts the session's sound if it is not running. Loop thread. */
int hub_start(tt_app *app, live_session *s);
/* Stops it (render thread joined, listeners' streams ended). */
void hub_stop(live_session *s);
/* Starts session sid from another thread: TT_ENOTFOUND when there is no
 * such session. Waits at most a second. */
int hub_start_wait(tt_app *app, const char *sid);

/* Installs the hub's timer on the loop (call once, at start-up, on the
 * loop thread) and the shared sample bank. */
int hub_init(tt_app *app);
void hub_fini(void);
/* The built-in kit every session plays (any thread, between hub_init and
 * hub_fini; read-only). */
const sampler *hub_bank(void);

#endif
