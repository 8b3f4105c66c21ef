/*
 * server/history.h: reading a session's past (issue 8's API): its
 * timeline, a document's text at any revision or time, the change between
 * two revisions, and who last changed each line.
 *
 *   GET /api/sessions/ID/timeline
 *   GET /api/docs/DOC/text?rev=N | ?time=MS
 *   GET /api/docs/DOC/diff?from=A&to=B
 *   GET /api/docs/DOC/blame[?rev=N]
 *
 * Everything is computed from the stored log (snapshots, operations,
 * evaluations, tempo, chat) with collab/'s OT, on libmicrohttpd's thread.
 * A session that is not public to listen needs a token (Bearer).
 */
#ifndef TT_SERVER_HISTORY_H
#define TT_SERVER_HISTORY_H

#include "server/http.h"

enum MHD_Result history_timeline(tt_app *app, const http_request *req);
enum MHD_Result history_text(tt_app *app, const http_request *req);
enum MHD_Result history_diff(tt_app *app, const http_request *req);
enum MHD_Result history_blame(tt_app *app, const http_request *req);

#endif
