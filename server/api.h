/*
 * server/api.h: the JSON API under /api.
 *
 *   GET  /api/health          {"status","version","uptime_s","database":{"ok"}}
 *   GET  /api/sessions        {"sessions": [session...]}
 *   POST /api/sessions        body {"name": "..."} -> 201, the session
 *   GET  /api/sessions/{id}   the session, or 404
 *
 * A session is {"id", "name", "created_at"} (created_at: ms since the Unix
 * epoch). Errors are JSON bodies (see http_error_body) with status 400 for a
 * malformed body, 404 for an unknown path or id, 405 (with Allow) for a known
 * path and the wrong method, 413 for an oversized body.
 */
#ifndef TT_SERVER_API_H
#define TT_SERVER_API_H

#include "server/http.h"

enum MHD_Result api_dispatch(tt_app *app, const http_request *req);

/* GET /metrics: counters and gauges in the Prometheus text format
 * (uptime, render threads, blocks, late blocks, drops, connections,
 * listeners, writer commits and stored ops). */
enum MHD_Result api_metrics(tt_app *app, const http_request *req);

#endif
