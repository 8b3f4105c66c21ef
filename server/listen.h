/*
 * server/listen.h: long-lived HTTP streams to listeners: a session's Ogg
 * Opus (GET /s/{id}/live.ogg) and its annotations as Server-Sent Events
 * (GET /s/{id}/events).
 *
 * A stream_ring holds the last TT_STREAM_RING_BYTES of one stream and the
 * offsets where its units (Ogg pages, SSE events) begin, so a reader can
 * always start or resume on a unit boundary. The hub (loop thread) appends;
 * libmicrohttpd's thread reads for each listener from the listener's own
 * position. A listener that has caught up is suspended (it costs no
 * polling) and resumed by the next append (over TLS, by the first append
 * 50 ms or more after the one that began a batch, so two pages at a time:
 * TLS_BATCH_MS, listen.c);
 * one that fell out of the ring is skipped forward to the oldest unit
 * kept. So:
 *  1. one copy of the stream exists, whatever the number of listeners;
 *  2. a slow listener never slows the hub or another listener, and costs
 *     at most the ring.
 *
 * Locking: ring->lock guards the bytes and the listener list. libmicrohttpd
 * calls our reader with its own locks held, so the hub never calls into
 * libmicrohttpd (resume) while holding ring->lock.
 */
#ifndef TT_SERVER_LISTEN_H
#define TT_SERVER_LISTEN_H

#include <stddef.h>
#include <stdint.h>

#include "server/http.h"

typedef struct stream_ring stream_ring;

/* A ring for session sid; head (may be NULL) is sent first to every
 * listener (the Ogg header pages). content_type as served. Loop thread. */
stream_ring *stream_ring_new(const char *sid, const char *kind, const char *content_type,
			     const void *head, size_t head_len);
/* Appends one unit and wakes the listeners waiting for it. Loop thread. */
void stream_ring_append(stream_ring *r, const void *data, size_t len);
/* Ends the stream for every listener and drops the session's reference;
 * the ring goes when its last listener does. Loop thread. */
void stream_ring_close(stream_ring *r);
/* Listeners now, and their total since the start. */
int stream_ring_listeners(stream_ring *r);

/* Serves GET /s/{id}/live.ogg and /s/{id}/events: 404 when the session
 * has no live stream, 503 with Retry-After past TT_MAX_LISTENERS. */
enum MHD_Result listen_serve(tt_app *app, const http_request *req);

/* Listeners on all rings (any thread). */
int listen_count(void);

#endif
