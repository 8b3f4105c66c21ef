/* server/api.c: the JSON API routes; see api.h for the list. */
#include "server/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/limits.h"
#include "server/accounts.h"
#include "server/app.h"
#include "server/archive.h"
#include "server/auth.h"
#include "server/history.h"
#include "server/replay_http.h"
#include "server/export.h"
#include "server/listen.h"
#include "server/metrics.h"
#include "server/live.h"
#include "server/osc.h"
#include "server/writer.h"
#include "server/ws_conn.h"
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
static enum MHD_Result patch_session(tt_app *app, const http_request *req);
static enum MHD_Result create_invite(tt_app *app, const http_request *req);
static enum MHD_Result list_invites(tt_app *app, const http_request *req);
static enum MHD_Result revoke_invite(tt_app *app, const http_request *req);

static const route routes[] = {
	{ "GET", "/api/health", get_health },
	{ "GET", "/api/sessions", list_sessions },
	{ "POST", "/api/sessions", create_session },
	{ "GET", "/api/sessions/{}", get_session },
	{ "PATCH", "/api/sessions/{}", patch_session },
	{ "POST", "/api/sessions/{}/invites", create_invite },
	{ "GET", "/api/sessions/{}/invites", list_invites },
	{ "DELETE", "/api/sessions/{}/invites/{}", revoke_invite },
	{ "POST", "/api/login", accounts_login },
	{ "POST", "/api/logout", accounts_logout },
	{ "GET", "/api/me", accounts_me },
	{ "PUT", "/api/me/password", accounts_password },
	{ "POST", "/api/accounts", accounts_create },
	{ "GET", "/api/sessions/{}/members", accounts_members },
	{ "PUT", "/api/sessions/{}/members/{}", accounts_member_put },
	{ "DELETE", "/api/sessions/{}/members/{}", accounts_member_delete },
	{ "GET", "/api/sessions/{}/timeline", history_timeline },
	{ "GET", "/api/sessions/{}/render.ogg", replay_http_ogg },
	{ "GET", "/api/sessions/{}/render.wav", replay_http_wav },
	{ "GET", "/api/sessions/{}/replay/annotations", replay_http_annotations },
	{ "GET", "/api/sessions/{}/archive", archive_route_list },
	{ "GET", "/api/sessions/{}/archive/{}", archive_route_file },
	{ "GET", "/api/docs/{}/text", history_text },
	{ "GET", "/api/docs/{}/diff", history_diff },
	{ "GET", "/api/docs/{}/blame", history_blame },
	{ "GET", "/api/sessions/{}/export", export_session },
	{ "POST", "/api/sessions/import", export_import },
};

#define N_ROUTES (sizeof routes / sizeof routes[0])

/* Matches path against pattern, where each "{}" matches one non-empty
 * segment; the segments are copied into bufs and pointed at by params. */
static int match(const char *pattern, const char *path, char bufs[2][256],
		 const char *params[2])
{
	int k = 0;

	params[0] = params[1] = NULL;
	while (*pattern && *path) {
		if (pattern[0] == '{' && pattern[1] == '}') {
			size_t seg = strcspn(path, "/");
			if (seg == 0 || seg >= 256 || k == 2)
				return 0;
			memcpy(bufs[k], path, seg);
			bufs[k][seg] = '\0';
			params[k] = bufs[k];
			k++;
			pattern += 2;
			path += seg;
		} else if (*pattern++ != *path++) {
			return 0;
		}
	}
	return *pattern == '\0' && *path == '\0';
}

enum MHD_Result api_dispatch(tt_app *app, const http_request *req)
{
	char allow[64] = "";
	char segs[2][256];
	const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;

	for (size_t i = 0; i < N_ROUTES; i++) {
		const char *params[2];
		if (!match(routes[i].pattern, req->path, segs, params))
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			http_request r = *req;
			r.param = params[0];
			r.param2 = params[1];
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
	live_totals lt;
	live_totals_get(&lt);
	return http_reply_json(req->conn, rc == TT_OK ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
			       json_pack("{s:s,s:s,s:I,s:{s:b},s:{s:I,s:I,s:I,s:I},s:i,s:i,s:o?}",
					 "status", rc == TT_OK ? "ok" : "degraded",
					 "version", PACKAGE_VERSION,
					 "uptime_s", (json_int_t)((app_now_ms() - app->started_ms) / 1000),
					 "database", "ok", rc == TT_OK,
					 "render", "sessions", (json_int_t)lt.running,
					 "blocks", (json_int_t)lt.blocks,
					 "late_blocks", (json_int_t)lt.late_blocks,
					 "dropped", (json_int_t)lt.dropped,
					 "websockets", ws_conn_count(), "listeners", listen_count(),
					 "osc", app->osc ? osc_health_json(app->osc) : NULL));
}

static json_t *session_json(const store_session *s)
{
	return json_pack("{s:s,s:s,s:I,s:s}", "id", s->id, "name", s->name,
			 "created_at", (json_int_t)s->created_at, "listen",
			 s->listen_public ? "public" : "token");
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

static enum MHD_Result create_session(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	store_session s;
	json_t *root = http_body_object(req, &reply);
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
	/* Whoever creates a session owns it: its owner token is shown here
	 * once and never again (only its hash is kept). */
	char token[AUTH_TOKEN_MAX], location[128];
	int64_t tid, expires;
	rc = auth_issue(app, s.id, STORE_ROLE_OWNER, "creator", 0, token, &tid, &expires);
	if (rc != TT_OK)
		return db_failure(app, req, rc);
	accounts_claim_session(app, req, s.id); /* an account creating it owns it */
	log_info("api", "created session %s", s.id);
	json_t *body = session_json(&s);
	json_object_set_new(body, "owner_token", json_string(token));
	snprintf(location, sizeof location, "/api/sessions/%s", s.id);
	return http_reply_json_hdr(req->conn, MHD_HTTP_CREATED, body, MHD_HTTP_HEADER_LOCATION,
				   location);
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

/* ---- access: owner-only routes ---- */

/* The bearer token of the request ("Authorization: Bearer T"), or NULL. */
static const char *bearer(const http_request *req)
{
	const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	return h && strncmp(h, "Bearer ", 7) == 0 ? h + 7 : NULL;
}

/* 1 when the caller holds the session's owner role; else answers 401
 * (no or bad token) or 403 (a lesser role) and returns 0. */
static int require_owner(tt_app *app, const http_request *req, enum MHD_Result *reply)
{
	const char *why = "";
	const char *t = bearer(req);
	store_role r = t ? auth_check(app, req->param, t, NULL, &why) : STORE_ROLE_NONE;

	if (r == STORE_ROLE_OWNER)
		return 1;
	if (r == STORE_ROLE_NONE)
		*reply = http_reply_json_hdr(req->conn, MHD_HTTP_UNAUTHORIZED,
					     http_error_body(MHD_HTTP_UNAUTHORIZED, "unauthorized",
							     "%s", t ? why : "this needs the session's "
							     "owner token (Authorization: Bearer TOKEN)"),
					     MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	else
		*reply = http_reply_error(req->conn, MHD_HTTP_FORBIDDEN, "forbidden",
					  "this needs the owner role; the token gives %s",
					  store_role_name(r));
	return 0;
}

static enum MHD_Result patch_session(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	json_t *root, *listen;
	store_session s;
	int rc;

	if (!require_owner(app, req, &reply))
		return reply;
	if (!(root = http_body_object(req, &reply)))
		return reply;
	listen = json_object_get(root, "listen");
	if (!json_is_string(listen) || (strcmp(json_string_value(listen), "public") != 0 &&
					strcmp(json_string_value(listen), "token") != 0)) {
		json_decref(root);
		return http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "bad_request",
					"\"listen\" must be \"public\" or \"token\"");
	}
	pthread_mutex_lock(&app->store_lock);
	rc = store_session_set_listen_public(app->st, req->param,
					     strcmp(json_string_value(listen), "public") == 0);
	if (rc == TT_OK)
		rc = store_session_get(app->st, req->param, &s);
	pthread_mutex_unlock(&app->store_lock);
	json_decref(root);
	if (rc != TT_OK)
		return db_failure(app, req, rc);
	return http_reply_json(req->conn, MHD_HTTP_OK, session_json(&s));
}

/* POST /api/sessions/{id}/invites {"role", "label"?, "expires_in_s"?}. */
static enum MHD_Result create_invite(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	json_t *root, *jttl;
	store_role role;
	char token[AUTH_TOKEN_MAX];
	int64_t tid, expires, ttl = 0;
	const char *label;
	int rc;

	if (!require_owner(app, req, &reply))
		return reply;
	if (!(root = http_body_object(req, &reply)))
		return reply;
	role = store_role_parse(json_string_value(json_object_get(root, "role")));
	label = json_string_value(json_object_get(root, "label"));
	jttl = json_object_get(root, "expires_in_s");
	if (jttl && (!json_is_integer(jttl) || json_integer_value(jttl) <= 0))
		role = STORE_ROLE_NONE;
	ttl = jttl ? json_integer_value(jttl) : 0;
	if (role == STORE_ROLE_NONE || (label && strlen(label) > TT_MAX_DISPLAY_NAME)) {
		json_decref(root);
		return http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "bad_request",
					"an invite needs \"role\": \"owner\", \"performer\" or "
					"\"listener\"; optional \"label\" (at most %d bytes) and "
					"\"expires_in_s\" (> 0)", TT_MAX_DISPLAY_NAME);
	}
	rc = auth_issue(app, req->param, role, label, ttl, token, &tid, &expires);
	json_decref(root);
	if (rc != TT_OK)
		return db_failure(app, req, rc);
	return http_reply_json(req->conn, MHD_HTTP_CREATED,
			       json_pack("{s:I,s:s,s:s,s:o}", "id", (json_int_t)tid, "token", token,
					 "role", store_role_name(role), "expires_at",
					 expires ? json_integer(expires) : json_null()));
}

static int append_invite(const store_token *t, void *arr)
{
	return json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:I,s:o,s:b}", "id",
						    (json_int_t)t->id, "role",
						    store_role_name(t->role), "label", t->label,
						    "created_at", (json_int_t)t->created_at,
						    "expires_at", t->expires_at ?
						    json_integer(t->expires_at) : json_null(),
						    "revoked", t->revoked_at != 0)) ? TT_ENOMEM : 0;
}

static enum MHD_Result list_invites(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	json_t *arr;
	int rc;

	if (!require_owner(app, req, &reply))
		return reply;
	arr = json_array();
	pthread_mutex_lock(&app->store_lock);
	rc = store_token_list(app->st, req->param, append_invite, arr);
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK) {
		json_decref(arr);
		return db_failure(app, req, rc);
	}
	return http_reply_json(req->conn, MHD_HTTP_OK, json_pack("{s:o}", "invites", arr));
}

static enum MHD_Result revoke_invite(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	char *end;
	long long tid = strtoll(req->param2, &end, 10);
	struct timespec ts;
	int rc;

	if (!require_owner(app, req, &reply))
		return reply;
	if (*end || tid <= 0)
		return http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found",
					"no invite '%s'", req->param2);
	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&app->store_lock);
	rc = store_token_revoke(app->st, req->param, tid,
				(int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	pthread_mutex_unlock(&app->store_lock);
	if (rc == TT_ENOTFOUND)
		return http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found",
					"no invite %lld in this session", tid);
	if (rc != TT_OK)
		return db_failure(app, req, rc);
	return http_reply_json(req->conn, MHD_HTTP_OK, json_pack("{s:I}", "revoked",
								(json_int_t)tid));
}

/* ---- /metrics: the Prometheus text format, for the operator's monitoring ---- */

static void metric(char *buf, size_t cap, size_t *n, const char *name, const char *type,
		   const char *help, unsigned long long v)
{
	int k = snprintf(buf + *n, cap - *n, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help,
			 name, type, name, v);
	if (k > 0 && (size_t)k < cap - *n)
		*n += (size_t)k;
}

enum MHD_Result api_metrics(tt_app *app, const http_request *req)
{
	char buf[8192];
	size_t n = 0;
	live_totals lt;
	uint64_t batches, items;
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
		return http_reply_json_hdr(req->conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					   http_error_body(MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
							   "%s is not allowed on /metrics (allowed: GET)",
							   req->method),
					   MHD_HTTP_HEADER_ALLOW, "GET");
	live_totals_get(&lt);
	writer_totals(&batches, &items);
	metric(buf, sizeof buf, &n, "tutti_uptime_seconds", "gauge", "Seconds since tuttid started.",
	       (unsigned long long)((app_now_ms() - app->started_ms) / 1000));
	metric(buf, sizeof buf, &n, "tutti_render_threads", "gauge",
	       "Live sessions rendering now (one thread each).", lt.running);
	metric(buf, sizeof buf, &n, "tutti_render_blocks_total", "counter",
	       "20 ms blocks rendered.", lt.blocks);
	metric(buf, sizeof buf, &n, "tutti_render_late_blocks_total", "counter",
	       "Blocks rendered after their deadline (missed render deadlines).", lt.late_blocks);
	metric(buf, sizeof buf, &n, "tutti_render_dropped_total", "counter",
	       "Packets and annotations the hub could not take from a render thread.", lt.dropped);
	metric(buf, sizeof buf, &n, "tutti_websocket_connections", "gauge",
	       "Open WebSocket connections.", (unsigned long long)ws_conn_count());
	metric(buf, sizeof buf, &n, "tutti_listeners", "gauge",
	       "HTTP listeners of live streams and events.", (unsigned long long)listen_count());
	metric(buf, sizeof buf, &n, "tutti_edit_commits_total", "counter",
	       "Transactions the writer committed (group commit).", batches);
	metric(buf, sizeof buf, &n, "tutti_edit_ops_total", "counter",
	       "Edit operations stored (each acknowledged after its commit).", items);
	archive_totals at;
	archive_totals_get(&at);
	metric(buf, sizeof buf, &n, "tutti_archive_files_total", "counter",
	       "Archive files completed.", at.files);
	metric(buf, sizeof buf, &n, "tutti_archive_bytes_total", "counter",
	       "Bytes written to archive files.", at.bytes);
	metric(buf, sizeof buf, &n, "tutti_archive_failures_total", "counter",
	       "Session runs whose archiving stopped on a failed write (disk full, permissions).",
	       at.failures);
	metric(buf, sizeof buf, &n, "tutti_archive_dropped_total", "counter",
	       "Packets the archive queue could not take (its files have a gap there).", at.dropped);
	n += metrics_format(app, buf + n, sizeof buf - n); /* server/metrics.h */
	r = MHD_create_response_from_buffer(n, buf, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
	ret = MHD_queue_response(req->conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}
