/*
 * server/static.h: the web client's files, served from cfg.web_dir.
 *
 * GET and HEAD only; "/" serves index.html. A path with a ".." segment, a
 * NUL, a backslash or a hidden segment is refused with 404 without touching
 * the file system, so nothing outside web_dir can be named.
 */
#ifndef TT_SERVER_STATIC_H
#define TT_SERVER_STATIC_H

#include "server/http.h"

enum MHD_Result static_serve(tt_app *app, const http_request *req);

/* True when path is safe to append to web_dir (exposed for tests). */
int static_path_ok(const char *path);

#endif
