/*
 * server/http.h: the HTTP side of tuttid, on libmicrohttpd.
 *
 * http.c owns the daemon and turns libmicrohttpd's callback protocol into
 * one call per complete request: it collects the body (at most
 * TT_MAX_HTTP_BODY bytes, else 413 before reading it), finds the route, and
 * answers 404/405 itself. Handlers answer through the http_reply_* helpers.
 *
 *   request ──► too large? ──► 413
 *      │
 *      ▼
 *   /ws ──► ws_conn_upgrade (server/ws_conn.c)
 *   /api/... ──► route table (server/api.c) ──► 404 / 405 / handler
 *   anything else (GET, HEAD) ──► static files (server/static.c)
 *
 * Threads: handlers run on libmicrohttpd's internal thread.
 */
#ifndef TT_SERVER_HTTP_H
#define TT_SERVER_HTTP_H

#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

typedef struct tt_app tt_app;
typedef struct http_server http_server;

/* One complete request, as a handler sees it. Everything is borrowed for
 * the duration of the call. */
typedef struct http_request {
	struct MHD_Connection *conn;
	const char *method;
	const char *path;     /* without the query string */
	const char *body;     /* NUL-terminated; body_len excludes the NUL */
	size_t body_len;
	const char *param;    /* the first {} of a route pattern, or NULL */
	const char *param2;   /* the second {}, or NULL */
	void **state;         /* the handler's own slot for this request, NULL
			       * at first and kept across the calls of a request
			       * it suspends (MHD_suspend_connection) and
			       * resumes; http.c free()s what it holds when the
			       * request ends */
} http_request;

/* Starts the daemon on cfg's address. On success *out serves requests on
 * its own thread until http_stop. err says why it could not start. */
int http_start(tt_app *app, http_server **out, char *err, size_t errlen);
/* ws_conn.c, when libmicrohttpd hands an upgraded socket over: the
 * connection leaves the HTTP limits (server/http_guard.h). */
void http_upgraded(tt_app *app, struct MHD_Connection *c);
/* The port actually bound (useful with port 0). */
int http_port(const http_server *h);
void http_stop(http_server *h);

/* Replies; each returns an MHD_Result to hand back to libmicrohttpd. body
 * is stolen (decref'd) by http_reply_json. */
enum MHD_Result http_reply_json(struct MHD_Connection *c, unsigned status, json_t *body);
enum MHD_Result http_reply_json_hdr(struct MHD_Connection *c, unsigned status, json_t *body,
				    const char *header, const char *value);
/* The body of every error reply:
 * {"error": {"status": N, "code": code, "message": message}} */
json_t *http_error_body(unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
enum MHD_Result http_reply_error(struct MHD_Connection *c, unsigned status,
				 const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The request's body parsed as a JSON object, or NULL after answering 400
 * (bad_json saying the line and column, or bad_request) into *reply. */
json_t *http_body_object(const http_request *req, enum MHD_Result *reply);

#endif
