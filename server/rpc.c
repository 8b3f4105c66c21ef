/* server/rpc.c: see rpc.h. */
#include "server/rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/error.h"
#include "common/limits.h"
#include "server/app.h"
#include "server/log.h"
#include "server/ws_conn.h"

/* The protocol's version: a client sees it in hello and can refuse a
 * server it does not speak. */
#define RPC_PROTOCOL 1

typedef void (*rpc_fn)(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);

typedef struct rpc_method {
	const char *type;
	rpc_fn fn;
} rpc_method;

static void on_hello(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);
static void on_ping(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);

static const rpc_method methods[] = {
	{ "hello", on_hello },
	{ "ping", on_ping },
};

void rpc_init(rpc_state *rs, tt_app *app)
{
	memset(rs, 0, sizeof *rs);
	rs->app = app;
}

void rpc_fini(rpc_state *rs)
{
	(void)rs;
}

/* A reply: msg gains the request's id (when it had one). Steals msg. */
static void reply(ws_conn *wc, json_t *id, json_t *msg)
{
	if (id)
		json_object_set(msg, "id", id);
	ws_conn_send_json(wc, msg);
}

__attribute__((format(printf, 4, 5)))
static void reply_error(ws_conn *wc, json_t *id, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	reply(wc, id, json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "code", code,
				"message", msg));
}

static json_t *capabilities(void)
{
	return json_pack("[s,s]", "ping", "binary-echo");
}

static void on_hello(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	const char *client = json_string_value(json_object_get(req, "client"));

	rs->said_hello = 1;
	if (client)
		snprintf(rs->client, sizeof rs->client, "%s", client);
	reply(wc, id, json_pack("{s:s,s:s,s:s,s:i,s:o}", "type", "hello", "server", "tuttid",
				"version", PACKAGE_VERSION, "protocol", RPC_PROTOCOL,
				"capabilities", capabilities()));
}

static void on_ping(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	struct timespec ts;

	(void)rs;
	(void)req;
	clock_gettime(CLOCK_REALTIME, &ts);
	reply(wc, id, json_pack("{s:s,s:I}", "type", "pong", "time",
				(json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
}

/* An id must be a string or an integer of bounded size; NULL when absent,
 * sets *bad when present but unusable. */
static json_t *request_id(json_t *req, int *bad)
{
	json_t *id = json_object_get(req, "id");

	*bad = 0;
	if (!id)
		return NULL;
	if (json_is_integer(id))
		return id;
	if (json_is_string(id) && json_string_length(id) <= TT_MAX_REQUEST_ID)
		return id;
	*bad = 1;
	return NULL;
}

void rpc_handle_text(rpc_state *rs, ws_conn *wc, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	json_t *id;
	const char *type;
	int bad_id;

	if (!req) {
		reply_error(wc, NULL, "bad_json", "message is not valid JSON: line %d, column %d: %s",
			    jerr.line, jerr.column, jerr.text);
		return;
	}
	if (!json_is_object(req)) {
		reply_error(wc, NULL, "bad_request", "message must be a JSON object");
		goto out;
	}
	id = request_id(req, &bad_id);
	if (bad_id) {
		reply_error(wc, NULL, "bad_request",
			    "\"id\" must be an integer or a string of at most %d bytes",
			    TT_MAX_REQUEST_ID);
		goto out;
	}
	type = json_string_value(json_object_get(req, "type"));
	if (!type) {
		reply_error(wc, id, "bad_request", "message has no string \"type\"");
		goto out;
	}
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		if (strcmp(methods[i].type, type) == 0) {
			methods[i].fn(rs, wc, req, id);
			goto out;
		}
	}
	reply_error(wc, id, "unknown_type", "unknown message type '%.64s'", type);
out:
	json_decref(req);
}
