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
#include <stdint.h>

#include <jansson.h>

#include "common/limits.h"
#include "storage/store.h"

typedef struct tt_app tt_app;
typedef struct ws_conn ws_conn;
typedef struct live_session live_session;
typedef struct doc_sub doc_sub;

/* A one-second flood-limit window: requests counted since start (ms). */
typedef struct rate_window {
	int64_t start;
	int n;
} rate_window;

/* Per-connection protocol state. */
typedef struct rpc_state {
	tt_app *app;
	ws_conn *wc;
	int64_t user;                           /* this connection's user number */
	char name[TT_MAX_DISPLAY_NAME + 1];     /* display name (hello) */
	char color[8];                          /* "#rrggbb" (hello) */
	char client_id[TT_MAX_CLIENT_ID + 1];   /* hello's client_id, or "" */
	char agent[64];                         /* what the client called itself */
	live_session *session;                  /* joined session, or NULL */
	store_role role;                        /* in that session (server/auth.h) */
	struct rpc_state *next_member;          /* in session->members */
	doc_sub *subs;                          /* open documents */
	int n_subs;
	int audio;                              /* wants binary audio packets */
	/* Flood limits: this connection's windows; the performer's (all the
	 * connections that joined with one token) are in the session. */
	rate_window ops, evals;
	char performer[TT_MAX_DISPLAY_NAME + 24]; /* who, for the flood limits:
						 * the join token's public part
						 * and the name ("t12/ann"), or "" */
} rpc_state;

void rpc_init(rpc_state *rs, tt_app *app, ws_conn *wc, int64_t user);
/* Leaves the session and closes documents (tells the others). */
void rpc_fini(rpc_state *rs);

/* The flood limits (TT_MAX_OPS_PER_SECOND, TT_MAX_EVALS_PER_SECOND), per
 * connection and per performer (every connection that joined the session
 * with the same token or account under the same name: an ensemble sharing
 * one invite link keeps a budget per person): 1 when the request may go
 * on, else answers "rate_limited" and returns 0. */
int rpc_allow_op(rpc_state *rs, ws_conn *wc, json_t *id);
int rpc_allow_eval(rpc_state *rs, ws_conn *wc, json_t *id);

/* 1 when rs's role in its session is at least need; else answers
 * "forbidden" naming what was refused and returns 0. */
int rpc_require(rpc_state *rs, ws_conn *wc, json_t *id, store_role need, const char *what);

/* Sends msg (stolen) with the request's id (borrowed, may be NULL). */
void rpc_reply(ws_conn *wc, json_t *id, json_t *msg);
/* Sends {"type":"error","id":id,"error":{"code":code,"message":...}}. */
void rpc_error(ws_conn *wc, json_t *id, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Handles one text message from wc and sends its reply, if any. */
void rpc_handle_text(rpc_state *rs, ws_conn *wc, const char *text, size_t len);

#endif
