/* server/api.c: the JSON API routes; see api.h for the list. */
#include "server/api.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"
#include "server/app.h"
#include "server/log.h"

typedef enum MHD_Result (*route_fn)(tt_app *app, const http_request *req);

typedef struct route {
	const char *method;
	const char *pattern; /* "{}" matches one path segment, given as param */
	route_fn fn;
} route;

static enum MHD_Result get_health(tt_app *app, const http_request *req);
static enum MHD_Result list_sessions(tt_app *app, const http_request *req);
static enum MHD_Result create_session(tt_app *app, const http_request *req);
static enum MHD_Result get_session(tt_app *app, const http_request *req);

static const route routes[] = {
	{ "GET", "/api/health", get_health },
	{ "GET", "/api/sessions", list_sessions },
	{ "POST", "/api/sessions", create_session },
	{ "GET", "/api/sessions/{}", get_session },
};

#define N_ROUTES (sizeof routes / sizeof routes[0])

/* Matches path against pattern; on a match with "{}", points *param at a
 * copy of the segment in buf. */
static int match(const char *pattern, const char *path, char *buf, size_t cap,
		 const char **param)
{
	const char *hole = strstr(pattern, "{}");
	size_t pre, seg;

	*param = NULL;
	if (!hole)
		return strcmp(pattern, path) == 0;
	pre = (size_t)(hole - pattern);
	if (strncmp(pattern, path, pre) != 0)
		return 0;
	seg = strcspn(path + pre, "/");
	if (seg == 0 || seg >= cap || strcmp(hole + 2, path + pre + seg) != 0)
		return 0;
	memcpy(buf, path + pre, seg);
	buf[seg] = '\0';
	*param = buf;
	return 1;
}

enum MHD_Result api_dispatch(tt_app *app, const http_request *req)
{
	char allow[64] = "";
	char seg[256];
	const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;

	for (size_t i = 0; i < N_ROUTES; i++) {
		const char *param;
		if (!match(routes[i].pattern, req->path, seg, sizeof seg, &param))
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			http_request r = *req;
			r.param = param;
			return routes[i].fn(app, &r);
		}
		size_t n = strlen(allow);
		snprintf(allow + n, sizeof allow - n, "%s%s", n ? ", " : "", routes[i].method);
	}
	if (allow[0])
		return http_reply_json_hdr(req->conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					   http_error_body(MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
							   "%s is not allowed on %s (allowed: %s)",
							   req->method, req->path, allow),
					   MHD_HTTP_HEADER_ALLOW, allow);
	return http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found",
				"no API route %s", req->path);
}

static enum MHD_Result get_health(tt_app *app, const http_request *req)
{
	int rc;

	pthread_mutex_lock(&app->store_lock);
	rc = store_check(app->st);
	pthread_mutex_unlock(&app->store_lock);
	return http_reply_json(req->conn, rc == TT_OK ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
			       json_pack("{s:s,s:s,s:I,s:{s:b}}",
					 "status", rc == TT_OK ? "ok" : "degraded",
					 "version", PACKAGE_VERSION,
					 "uptime_s", (json_int_t)((app_now_ms() - app->started_ms) / 1000),
					 "database", "ok", rc == TT_OK));
}

static json_t *session_json(const store_session *s)
{
	return json_pack("{s:s,s:s,s:I}", "id", s->id, "name", s->name,
			 "created_at", (json_int_t)s->created_at);
}

static enum MHD_Result db_failure(tt_app *app, const http_request *req, int rc)
{
	log_error("api", "%s %s: database: %s", req->method, req->path, store_errmsg(app->st));
	return http_reply_error(req->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "database",
				"the database failed: %s", tt_strerror(rc));
}

static int append_session(const store_session *s, void *ctx)
{
	return json_array_append_new(ctx, session_json(s)) == 0 ? 0 : TT_ENOMEM;
}

static enum MHD_Result list_sessions(tt_app *app, const http_request *req)
{
	json_t *arr = json_array();
	int rc;

	pthread_mutex_lock(&app->store_lock);
	rc = store_session_list(app->st, 0, append_session, arr);
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK) {
		json_decref(arr);
		return db_failure(app, req, rc);
	}
	return http_reply_json(req->conn, MHD_HTTP_OK, json_pack("{s:o}", "sessions", arr));
}

/* Parses the body as a JSON object or answers 400 saying where it broke. */
static json_t *parse_object(const http_request *req, enum MHD_Result *reply)
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

static enum MHD_Result create_session(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	store_session s;
	json_t *root = parse_object(req, &reply);
	json_t *name;
	int rc;

	if (!root)
		return reply;
	name = json_object_get(root, "name");
	if (!json_is_string(name) || json_string_length(name) == 0) {
		json_decref(root);
		return http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "bad_request",
					"\"name\" must be a non-empty string");
	}
	if (json_string_length(name) > TT_MAX_SESSION_NAME) {
		json_decref(root);
		return http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "too_long",
					"\"name\" is longer than %d bytes (TT_MAX_SESSION_NAME)",
					TT_MAX_SESSION_NAME);
	}
	pthread_mutex_lock(&app->store_lock);
	rc = store_session_create(app->st, json_string_value(name), &s);
	pthread_mutex_unlock(&app->store_lock);
	json_decref(root);
	if (rc != TT_OK)
		return db_failure(app, req, rc);
	log_info("api", "created session %s", s.id);
	char location[128];
	snprintf(location, sizeof location, "/api/sessions/%s", s.id);
	return http_reply_json_hdr(req->conn, MHD_HTTP_CREATED, session_json(&s),
				   MHD_HTTP_HEADER_LOCATION, location);
}

static enum MHD_Result get_session(tt_app *app, const http_request *req)
{
	store_session s;
	int rc;

	pthread_mutex_lock(&app->store_lock);
	rc = store_session_get(app->st, req->param, &s);
	pthread_mutex_unlock(&app->store_lock);
	if (rc == TT_ENOTFOUND)
		return http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found",
					"no session with id '%s'", req->param);
	if (rc != TT_OK)
		return db_failure(app, req, rc);
	return http_reply_json(req->conn, MHD_HTTP_OK, session_json(&s));
}
