/*
 * server/rpc.h: the JSON request/reply layer on WebSocket text messages.
 *
 * Every message is a JSON object with a "type". A request may carry an "id"
 * (a string or an integer, at most TT_MAX_REQUEST_ID bytes as text); its
 * reply carries the same "id", so a client can match replies without
 * tracking order. Messages the server sends on its own (broadcasts) carry no
 * "id". A request that cannot be served is answered with
 *   {"type":"error","id":...,"error":{"code":"...","message":"..."}}
 * and the connection stays open. docs/protocol.md lists every type.
 *
 * Threads: the WebSocket loop only.
 */
#ifndef TT_SERVER_RPC_H
#define TT_SERVER_RPC_H

#include <stddef.h>

typedef struct tt_app tt_app;
typedef struct ws_conn ws_conn;

/* Per-connection protocol state. */
typedef struct rpc_state {
	tt_app *app;
	int said_hello;
	char client[64]; /* what the client called itself in hello */
} rpc_state;

void rpc_init(rpc_state *rs, tt_app *app);
void rpc_fini(rpc_state *rs);

/* Handles one text message from wc and sends its reply, if any. */
void rpc_handle_text(rpc_state *rs, ws_conn *wc, const char *text, size_t len);

#endif
