/*
 * server/export.h: a whole session as one JSON file, and back (issue 8).
 *
 *   GET  /api/sessions/ID/export  -> the file (Content-Disposition:
 *        attachment; filename="tutti-ID.json"); who may read the session's
 *        history may export it
 *   POST /api/sessions/import     body: such a file -> 201, a NEW session
 *        (as POST /api/sessions answers, with its owner token); anyone who
 *        may create a session may import one
 *
 * The file (docs/protocol.md, "Export and import"):
 *
 *   {"format": "tutti-session", "version": 1,
 *    "session": {"name", "created_at", "listen_public"},
 *    "documents": [{"id", "name", "created_at", "deleted_at",
 *                   "snapshots": [{"revision", "text"}...],
 *                   "ops": [{"revision", "author", "time_ms", "op",
 *                            "client_id", "client_seq"}...]}...],
 *    "runs": [...], "evaluations": [...], "tempo": [...],
 *    "controls": [...], "chat": [...], "direct_events": [...]}
 *
 * with every column of those tables (storage/store_export.h), neither the
 * session's tokens nor its archive. Import checks all of it before it
 * writes anything: each field's type, every reference (a document, a run),
 * ids in increasing order, each document's ops applied in turn (revisions
 * 1..n, each fitting the text before it) and each snapshot equal to the
 * text at its revision, the limits of common/limits.h. A bad file is
 * answered 400 saying what and where ("evaluations[3].doc_id: no such
 * document"); a good one is written in one transaction with new ids
 * (documents, runs, evaluations and every reference to them remapped).
 *
 * Threads: libmicrohttpd's. Each request opens a store handle of its own,
 * so a large export or import never holds app->store_lock.
 */
#ifndef TT_SERVER_EXPORT_H
#define TT_SERVER_EXPORT_H

#include "server/http.h"

enum MHD_Result export_session(tt_app *app, const http_request *req);
enum MHD_Result export_import(tt_app *app, const http_request *req);

#endif
