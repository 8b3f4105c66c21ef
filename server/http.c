/*
 * server/http.c: libmicrohttpd daemon, body collection and dispatch.
 *
 * libmicrohttpd calls the access handler several times per request: first
 * with the headers (we allocate a req_state), then once per chunk of body,
 * then once with no data, when we dispatch. Invariants:
 *  1. A request whose Content-Length exceeds TT_MAX_HTTP_BODY is answered
 *     413 on the first call, before any of its body is read.
 *  2. A chunked body that grows past the limit is discarded as it arrives
 *     (memory stays bounded) and answered 413 at the end.
 *  3. Every response that reports an error has a JSON body saying why.
 */
#include "server/http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/error.h"
#include "common/limits.h"
#include "server/api.h"
#include "server/app.h"
#include "server/http_guard.h"
#include "server/log.h"
#include "server/listen.h"
#include "server/static.h"
#include "server/tls.h"
#include "server/ws_conn.h"

struct http_server {
	tt_app *app;
	struct MHD_Daemon *daemon;
	tls_front *tls;      /* with --tls-cert: it listens, the daemon does not */
	http_guard *guard;   /* slow requests (server/http_guard.h) */
	int port;
};

typedef struct req_state {
	char *body;
	size_t len;
	size_t cap;
	int too_large;
	void *handler_state; /* http_request.state */
	size_t limit;           /* the route's body limit (body_limit) */
	const char *limit_name; /* its name in common/limits.h */
} req_state;

/* The body limit of a route: TT_MAX_HTTP_BODY, but a whole session's
 * import (server/export.c) is larger. */
static void body_limit(req_state *rs, const char *url, const char *method)
{
	int import = strcmp(method, "POST") == 0 && strcmp(url, "/api/sessions/import") == 0;

	rs->limit = import ? TT_MAX_IMPORT_BYTES : TT_MAX_HTTP_BODY;
	rs->limit_name = import ? "TT_MAX_IMPORT_BYTES" : "TT_MAX_HTTP_BODY";
}

enum MHD_Result http_reply_json(struct MHD_Connection *c, unsigned status, json_t *body)
{
	return http_reply_json_hdr(c, status, body, NULL, NULL);
}

enum MHD_Result http_reply_json_hdr(struct MHD_Connection *c, unsigned status, json_t *body,
				    const char *header, const char *value)
{
	char *text = json_dumps(body, JSON_COMPACT);
	struct MHD_Response *r;
	enum MHD_Result ret;

	json_decref(body);
	if (!text)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (header)
		MHD_add_response_header(r, header, value);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

json_t *http_error_body(unsigned status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return json_pack("{s:{s:i,s:s,s:s}}", "error", "status", (int)status, "code", code,
			 "message", msg);
}

enum MHD_Result http_reply_error(struct MHD_Connection *c, unsigned status,
				 const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return http_reply_json(c, status, http_error_body(status, code, "%s", msg));
}

/* Grows the body buffer; past the limit it only counts, keeping memory
 * bounded (invariant 2). */
static void body_append(req_state *rs, const char *data, size_t n)
{
	if (rs->too_large || rs->len + n > rs->limit) {
		rs->too_large = 1;
		return;
	}
	if (rs->len + n + 1 > rs->cap) {
		size_t cap = rs->cap ? rs->cap : 4096;
		while (cap < rs->len + n + 1)
			cap *= 2;
		char *b = realloc(rs->body, cap);
		if (!b) {
			rs->too_large = 1;
			return;
		}
		rs->body = b;
		rs->cap = cap;
	}
	memcpy(rs->body + rs->len, data, n);
	rs->len += n;
	rs->body[rs->len] = '\0';
}

static int declared_too_large(struct MHD_Connection *c, size_t limit)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	char *end;
	unsigned long long n;

	if (!cl)
		return 0;
	n = strtoull(cl, &end, 10);
	return end != cl && n > limit;
}

static enum MHD_Result dispatch(http_server *h, struct MHD_Connection *c,
				const char *url, const char *method, req_state *rs)
{
	http_request req = {
		.conn = c, .method = method, .path = url,
		.body = rs->body ? rs->body : "", .body_len = rs->len,
		.state = &rs->handler_state,
	};

	if (strcmp(url, "/ws") == 0)
		return ws_conn_upgrade(h->app, c, method);
	if (strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0)
		return api_dispatch(h->app, &req);
	if (strncmp(url, "/s/", 3) == 0)
		return listen_serve(h->app, &req);
	if (strcmp(url, "/metrics") == 0)
		return api_metrics(h->app, &req);
	return static_serve(h->app, &req);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **req_cls)
{
	http_server *h = cls;
	req_state *rs = *req_cls;

	(void)version;
	if (!rs) {
		rs = calloc(1, sizeof *rs);
		if (!rs)
			return MHD_NO;
		*req_cls = rs;
		body_limit(rs, url, method);
		if (declared_too_large(c, rs->limit))
			return http_reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
						"request body exceeds the limit of %zu bytes (%s)",
						rs->limit, rs->limit_name);
		return MHD_YES;
	}
	if (*upload_size) {
		body_append(rs, upload_data, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	http_guard_dispatched(h->guard, c);
	if (rs->too_large)
		return http_reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
					"request body exceeds the limit of %zu bytes (%s)",
					rs->limit, rs->limit_name);
	return dispatch(h, c, url, method, rs);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	http_server *h = cls;
	req_state *rs = *req_cls;

	(void)toe;
	http_guard_request_done(h->guard, c);
	if (rs) {
		free(rs->handler_state);
		free(rs->body);
		free(rs);
		*req_cls = NULL;
	}
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
	http_server *h = cls;
	char msg[512];

	/* Behind the TLS front libmicrohttpd's sockets are socketpair ends
	 * (server/tls.h) that it takes for TCP, as it only knows them by the
	 * client's address: it tries TCP_NODELAY and TCP_CORK on every write
	 * and says so when the kernel refuses. Nothing is wrong; the
	 * messages (several per Ogg page per listener) would cost more than
	 * the page itself. */
	if (h->tls && (strncmp(fmt, "Setting %s option to %s state failed", 36) == 0 ||
		       strncmp(fmt, "Failed to push the data from buffers", 36) == 0))
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	log_warn("http", "%s", msg);
}

static int resolve(const char *host, int port, struct sockaddr_storage *ss,
		   char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICSERV | AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char portstr[8];
	int rc;

	snprintf(portstr, sizeof portstr, "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve listen host '%s': %s", host, gai_strerror(rc));
		return TT_EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return TT_OK;
}

int http_start(tt_app *app, http_server **out, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	http_server *h;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_UPGRADE |
			 MHD_USE_ERROR_LOG | MHD_USE_ITC; /* ITC: listeners are suspended */
	const union MHD_DaemonInfo *di;

	memset(&ss, 0, sizeof ss);
	if (resolve(app->cfg.listen_host, app->cfg.listen_port, &ss, err, errlen) != TT_OK)
		return TT_EINVAL;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h = calloc(1, sizeof *h);
	if (!h || http_guard_new(TT_MAX_HTTP_PENDING_PER_ADDRESS,
						TT_MAX_HTTP_CONNECTIONS, &h->guard) != TT_OK) {
		free(h);
		return TT_ENOMEM;
	}
	h->app = app;
	if (app->cfg.tls_cert[0] || app->cfg.tls_key[0]) {
		if (!app->cfg.tls_cert[0] || !app->cfg.tls_key[0]) {
			snprintf(err, errlen, "--tls-cert and --tls-key go together: %s is missing",
				 app->cfg.tls_cert[0] ? "--tls-key" : "--tls-cert");
			http_guard_free(h->guard);
			free(h);
			return TT_EINVAL;
		}
		if (tls_front_new(app->cfg.tls_cert, app->cfg.tls_key, (struct sockaddr *)&ss,
				  ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
				  sizeof(struct sockaddr_in), &h->tls, err, errlen) != TT_OK) {
			http_guard_free(h->guard);
			free(h);
			return TT_EINVAL;
		}
		/* Connections come from the TLS front (MHD_add_connection). */
		flags |= MHD_USE_NO_LISTEN_SOCKET;
	}
	h->daemon = MHD_start_daemon(flags, 0, http_guard_accept, h->guard, on_request, h,
				     MHD_OPTION_EXTERNAL_LOGGER, on_log, h,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)TT_HTTP_IDLE_TIMEOUT_S,
				     /* Upgraded WebSockets stay on libmicrohttpd's books
				      * until they close, so they count here as well. */
				     MHD_OPTION_CONNECTION_LIMIT,
				     (unsigned)(TT_MAX_HTTP_CONNECTIONS + TT_MAX_WS_CONNECTIONS),
				     MHD_OPTION_NOTIFY_CONNECTION, http_guard_notify, h->guard,
				     MHD_OPTION_END);
	if (!h->daemon) {
		snprintf(err, errlen, "cannot listen on %s:%d (address in use, or not permitted)",
			 app->cfg.listen_host, app->cfg.listen_port);
		tls_front_free(h->tls);
		http_guard_free(h->guard);
		free(h);
		return TT_EIO;
	}
	if (h->tls) {
		if (tls_front_start(h->tls, h->daemon, err, errlen) != TT_OK) {
			tls_front_free(h->tls);
			MHD_stop_daemon(h->daemon);
			http_guard_free(h->guard);
			free(h);
			return TT_EIO;
		}
		h->port = tls_front_port(h->tls);
		*out = h;
		return TT_OK;
	}
	di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = di ? di->port : app->cfg.listen_port;
	*out = h;
	return TT_OK;
}

void http_upgraded(tt_app *app, struct MHD_Connection *c)
{
	if (app->http)
		http_guard_upgraded(app->http->guard, c);
}

int http_port(const http_server *h)
{
	return h->port;
}

void http_stop(http_server *h)
{
	if (!h)
		return;
	tls_front_free(h->tls); /* first: it hands connections to the daemon */
	MHD_stop_daemon(h->daemon);
	http_guard_free(h->guard); /* after: the daemon notifies it to the end */
	free(h);
}

json_t *http_body_object(const http_request *req, enum MHD_Result *reply)
{
	json_error_t jerr;
	json_t *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);

	if (!root) {
		*reply = http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "bad_json",
					  "body is not valid JSON: line %d, column %d: %s",
					  jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		*reply = http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "bad_request",
					  "body must be a JSON object");
		return NULL;
	}
	return root;
}
