/*
 * server/editing.h: collaborative editing over the WebSocket protocol.
 *
 * Documents of a live session are loaded into memory on first use (latest
 * snapshot plus the operations after it) as collab/doc objects; clients
 * that open a document subscribe to it. An operation from a client is
 * transformed and applied at once (collab/doc), handed to the writer
 * (server/writer.c), and acknowledged to its author and broadcast to the
 * other subscribers only when its transaction has committed.
 *
 * Invariants:
 *  1. A subscriber that opened the document at revision r (its snapshot or
 *     replay included every operation up to r) is sent exactly the
 *     operations after r, each once, in revision order.
 *  2. An operation that failed to parse, to fit the text, or a limit is
 *     answered with an error, changes nothing, and reaches no one.
 *  3. An operation with a (client_id, seq) already applied is not applied
 *     again: it is acknowledged with the revision it got the first time.
 *  4. If a commit fails, the document is reloaded from the store and every
 *     subscriber gets a fresh snapshot (marked "reset").
 *
 * Threads: the loop thread only (the writer's results are posted to it).
 */
#ifndef TT_SERVER_EDITING_H
#define TT_SERVER_EDITING_H

#include <jansson.h>

#include "server/writer.h"

typedef struct rpc_state rpc_state;
typedef struct tt_app tt_app;
typedef struct live_session live_session;
typedef struct ws_conn ws_conn;

/* The writer's done callback (arg: the tt_app). */
void editing_on_commit(writer_item *batch, void *arg);

/* Request handlers; see docs/protocol.md for each message. */
void editing_doc_list(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);
void editing_doc_create(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);
void editing_doc_rename(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);
void editing_doc_delete(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);
void editing_doc_open(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);
void editing_doc_close(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);
void editing_op(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);
void editing_presence(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);

/* The current text of a document of session s (loaded if need be), for
 * evaluation: *text borrowed until the document next changes. The n_pos
 * positions in pos, given in the client's revision client_rev (-1: the
 * current one), are moved to the current revision. TT_ENOTFOUND,
 * TT_ECONFLICT (client_rev older than the window), TT_EINVAL (ahead). */
int editing_read(tt_app *app, live_session *s, int64_t doc_id, int64_t client_rev,
		 size_t *pos, size_t n_pos, const char **text, size_t *len, uint64_t *rev,
		 const char **name);

/* Closes every document rs has open (on leaving a session). */
void editing_close_all(rpc_state *rs);
/* Frees the session's loaded documents (shutdown). */
void editing_free_docs(live_session *s);

#endif
