/*
 * server/ws_conn.h: WebSocket connections after the HTTP upgrade.
 *
 * A connection is born on libmicrohttpd's thread (ws_conn_upgrade answers
 * 101 and hands the socket over), then lives on the server's own event loop
 * (server/loop.c) until it closes. Its life:
 *
 *   OPEN ──peer close──► (echo close) ──flushed──► gone
 *     │  ──protocol error / limit──► CLOSING (our close sent)
 *     │  ──ws_conn_close──────────► CLOSING
 *     │  ──send queue over TT_MAX_WS_SENDQ──► gone (dropped, logged)
 *   CLOSING ──peer's close, or TT_WS_CLOSE_TIMEOUT_MS──► gone
 *
 * Invariants:
 *  1. Nothing blocks: sockets are non-blocking and all output goes through a
 *     per-connection queue of at most TT_MAX_WS_SENDQ bytes. A client that
 *     stops reading is dropped when its queue would pass the ceiling;
 *     nobody else ever waits for it.
 *  2. After our close frame is queued nothing else is sent, and input other
 *     than the peer's close is ignored.
 *
 * Threads: ws_conn_upgrade on libmicrohttpd's thread; everything else on
 * the loop thread. Never on the render thread.
 */
#ifndef TT_SERVER_WS_CONN_H
#define TT_SERVER_WS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

typedef struct tt_app tt_app;
typedef struct ws_conn ws_conn;

/* Validates the upgrade request and answers it: 101 and the connection
 * moves to the loop, or 400/426/503 with a JSON body saying why. */
enum MHD_Result ws_conn_upgrade(tt_app *app, struct MHD_Connection *c, const char *method);

/* Queues a text message (JSON is serialised compactly). Loop thread only.
 * Returns TT_OK, TT_ECLOSED when the connection is closing, or TT_ELIMIT
 * when the queue ceiling was passed (the connection is then dropped). */
int ws_conn_send_text(ws_conn *wc, const char *text, size_t len);
int ws_conn_send_json(ws_conn *wc, json_t *msg); /* steals msg */
int ws_conn_send_binary(ws_conn *wc, const void *data, size_t len);

/* Starts the closing handshake with code and reason. */
void ws_conn_close(ws_conn *wc, unsigned code, const char *reason);

/* Connections open now (any thread; approximate while they change). */
int ws_conn_count(void);

/* Loop thread: closes every connection with 1001 (server going away);
 * called by loop_stop at shutdown. arg is the tt_app. */
void ws_conn_close_all(void *arg);
/* Loop thread: the periodic sweep (closing-handshake timeouts). */
void ws_conn_tick(void *arg);

/* A short identifier for logs ("ws#12"). */
uint64_t ws_conn_id(const ws_conn *wc);

#endif
