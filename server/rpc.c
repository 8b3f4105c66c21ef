/* server/rpc.c: see rpc.h. */
#include "server/rpc.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/error.h"
#include "common/limits.h"
#include "server/app.h"
#include "server/auth.h"
#include "server/editing.h"
#include "server/evaluate.h"
#include "server/hub.h"
#include "server/live.h"
#include "server/log.h"
#include "server/session.h"
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
static void on_join(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);
static void on_leave(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);
static void on_chat(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id);

static const rpc_method methods[] = {
	{ "hello", on_hello },
	{ "ping", on_ping },
	{ "join", on_join },
	{ "leave", on_leave },
	{ "chat", on_chat },
	{ "doc.list", editing_doc_list },
	{ "doc.create", editing_doc_create },
	{ "doc.rename", editing_doc_rename },
	{ "doc.delete", editing_doc_delete },
	{ "doc.open", editing_doc_open },
	{ "doc.close", editing_doc_close },
	{ "op", editing_op },
	{ "presence", editing_presence },
	{ "eval", evaluate_eval },
	{ "tempo", evaluate_tempo },
	{ "hush", evaluate_hush },
	{ "mute", evaluate_mute },
	{ "solo", evaluate_solo },
	{ "audio", evaluate_audio },
};

/* Colours for performers who do not pick one: distinct on a dark editor. */
static const char *const palette[] = {
	"#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4",
	"#46f0f0", "#f032e6", "#bcf60c", "#fabebe", "#008080", "#e6beff",
};

void rpc_init(rpc_state *rs, tt_app *app, ws_conn *wc, int64_t user)
{
	memset(rs, 0, sizeof *rs);
	rs->app = app;
	rs->wc = wc;
	rs->user = user;
	snprintf(rs->name, sizeof rs->name, "guest-%lld", (long long)user);
	snprintf(rs->color, sizeof rs->color, "%s",
		 palette[(size_t)user % (sizeof palette / sizeof palette[0])]);
}

void rpc_fini(rpc_state *rs)
{
	session_leave(rs);
}

void rpc_reply(ws_conn *wc, json_t *id, json_t *msg)
{
	if (!msg) {
		/* json_pack failed: only out of memory or a bug, never input. */
		log_error("rpc", "a reply could not be built");
		msg = json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "code", "internal",
				"message", "the reply could not be built");
		if (!msg)
			return;
	}
	if (id)
		json_object_set(msg, "id", id);
	ws_conn_send_json(wc, msg);
}

/* One performer's windows in a session. */
struct perf_budget {
	char performer[TT_MAX_DISPLAY_NAME + 24];
	rate_window ops, evals;
};

/* The windows of rs's performer, made on first use; NULL for a connection
 * that joined without a token (a listener: it may neither edit nor
 * evaluate) or when memory runs out (the connection's limit still holds). */
static struct perf_budget *budget_of(rpc_state *rs)
{
	live_session *s = rs->session;
	struct perf_budget *b, *oldest = NULL;

	if (!s || !rs->performer[0])
		return NULL;
	for (size_t i = 0; i < s->n_budgets; i++) {
		b = &s->budgets[i];
		if (strcmp(b->performer, rs->performer) == 0)
			return b;
		if (!oldest || (b->ops.start > b->evals.start ? b->ops.start : b->evals.start) <
				       (oldest->ops.start > oldest->evals.start ? oldest->ops.start
										: oldest->evals.start))
			oldest = b;
	}
	if (s->n_budgets == TT_MAX_PERFORMER_BUDGETS) {
		b = oldest;
	} else {
		if (!s->budgets && !(s->budgets = calloc(TT_MAX_PERFORMER_BUDGETS, sizeof *b)))
			return NULL;
		b = &s->budgets[s->n_budgets++];
	}
	memset(b, 0, sizeof *b);
	snprintf(b->performer, sizeof b->performer, "%s", rs->performer);
	return b;
}

/* Whether window w (one second, starting at its first request: exact at
 * N and N+1, unlike a token bucket that refills while a test sends) has
 * room; *wait is when it has again. */
static int has_room(rate_window *w, int max, int64_t now, int64_t *wait)
{
	if (now - w->start >= 1000) {
		w->start = now;
		w->n = 0;
	}
	if (w->n < max)
		return 1;
	*wait = w->start + 1000 - now;
	return 0;
}

static int allow(rpc_state *rs, rate_window *conn, size_t perf_off, int max, ws_conn *wc,
		 json_t *id, const char *what, const char *limit)
{
	struct perf_budget *pb = budget_of(rs);
	rate_window *perf = pb ? (rate_window *)((char *)pb + perf_off) : NULL;
	int64_t now = app_now_ms(), wait = 0;
	char msg[200];

	if (has_room(conn, max, now, &wait) && (!perf || has_room(perf, max, now, &wait))) {
		conn->n++;
		if (perf)
			perf->n++;
		return 1;
	}
	snprintf(msg, sizeof msg, "more than %d %s per second from this %s (%s)", max, what,
		 conn->n >= max ? "connection" : "performer (your connections with this token and name)",
		 limit);
	rpc_reply(wc, id, json_pack("{s:s,s:{s:s,s:s,s:I}}", "type", "error", "error", "code",
				    "rate_limited", "message", msg, "retry_after_ms",
				    (json_int_t)wait));
	return 0;
}

int rpc_require(rpc_state *rs, ws_conn *wc, json_t *id, store_role need, const char *what)
{
	if (rs->role >= need)
		return 1;
	rpc_error(wc, id, "forbidden", "%s needs the %s role; you are %s here (ask the session's "
		  "owner for an invite)", what, store_role_name(need),
		  rs->role ? store_role_name(rs->role) : "not joined");
	return 0;
}

int rpc_allow_op(rpc_state *rs, ws_conn *wc, json_t *id)
{
	return allow(rs, &rs->ops, offsetof(struct perf_budget, ops), TT_MAX_OPS_PER_SECOND, wc, id,
		     "edit operations", "TT_MAX_OPS_PER_SECOND");
}

int rpc_allow_eval(rpc_state *rs, ws_conn *wc, json_t *id)
{
	return allow(rs, &rs->evals, offsetof(struct perf_budget, evals), TT_MAX_EVALS_PER_SECOND,
		     wc, id, "evaluations and controls", "TT_MAX_EVALS_PER_SECOND");
}

static void reply(ws_conn *wc, json_t *id, json_t *msg)
{
	rpc_reply(wc, id, msg);
}

void rpc_error(ws_conn *wc, json_t *id, const char *code, const char *fmt, ...)
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
	return json_pack("[s,s,s,s,s]", "ping", "binary-echo", "editing", "eval", "audio");
}

static int valid_color(const char *c)
{
	if (strlen(c) != 7 || c[0] != '#')
		return 0;
	for (int i = 1; i < 7; i++)
		if (!strchr("0123456789abcdefABCDEF", c[i]))
			return 0;
	return 1;
}

static int valid_client_id(const char *c)
{
	size_t n = strlen(c);
	if (n == 0 || n > TT_MAX_CLIENT_ID)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(c[i] == '-' || c[i] == '_' || (c[i] >= '0' && c[i] <= '9') ||
		      (c[i] >= 'a' && c[i] <= 'z') || (c[i] >= 'A' && c[i] <= 'Z')))
			return 0;
	return 1;
}

/* hello may name the performer ("name", "color") and the client
 * ("client": free text; "client_id": its stable identifier). */
static void on_hello(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	json_t *name = json_object_get(req, "name");
	json_t *color = json_object_get(req, "color");
	json_t *cid = json_object_get(req, "client_id");
	const char *agent = json_string_value(json_object_get(req, "client"));

	if (name && (!json_is_string(name) || json_string_length(name) == 0 ||
		     json_string_length(name) > TT_MAX_DISPLAY_NAME)) {
		rpc_error(wc, id, "bad_request", "\"name\" must be a string of 1 to %d bytes",
			  TT_MAX_DISPLAY_NAME);
		return;
	}
	if (color && (!json_is_string(color) || !valid_color(json_string_value(color)))) {
		rpc_error(wc, id, "bad_request", "\"color\" must be \"#rrggbb\"");
		return;
	}
	if (cid && (!json_is_string(cid) || !valid_client_id(json_string_value(cid)))) {
		rpc_error(wc, id, "bad_request",
			  "\"client_id\" must be 1 to %d characters of [A-Za-z0-9_-]",
			  TT_MAX_CLIENT_ID);
		return;
	}
	if (name)
		snprintf(rs->name, sizeof rs->name, "%s", json_string_value(name));
	if (color)
		snprintf(rs->color, sizeof rs->color, "%s", json_string_value(color));
	if (cid)
		snprintf(rs->client_id, sizeof rs->client_id, "%s", json_string_value(cid));
	if (agent)
		snprintf(rs->agent, sizeof rs->agent, "%s", agent);
	reply(wc, id, json_pack("{s:s,s:s,s:s,s:i,s:o,s:I,s:s,s:s}", "type", "hello",
				"server", "tuttid", "version", PACKAGE_VERSION,
				"protocol", RPC_PROTOCOL, "capabilities", capabilities(),
				"user", (json_int_t)rs->user, "name", rs->name,
				"color", rs->color));
}

static json_t *members_json(const live_session *s)
{
	json_t *arr = json_array();
	for (const rpc_state *m = s->members; m; m = m->next_member)
		json_array_append_new(arr, session_member_json(m));
	return arr;
}

/* The role a join gets: its token's, or listener in a public session. */
static store_role join_role(rpc_state *rs, live_session *s, json_t *token, const char **why)
{
	store_session ss;
	int rc;

	if (token) {
		store_role r = auth_check(rs->app, s->id, json_string_value(token), NULL, why);
		return json_is_string(token) ? r : STORE_ROLE_NONE;
	}
	pthread_mutex_lock(&rs->app->store_lock);
	rc = store_session_get(rs->app->st, s->id, &ss);
	pthread_mutex_unlock(&rs->app->store_lock);
	*why = "this session is not public: join it with a token";
	return rc == TT_OK && ss.listen_public ? STORE_ROLE_LISTENER : STORE_ROLE_NONE;
}

static json_t *chat_json(const store_chat *c)
{
	return json_pack("{s:s,s:I,s:s,s:s,s:I,s:I}", "type", "chat", "chat", (json_int_t)c->id,
			 "name", c->author, "text", c->text, "time", (json_int_t)c->time_ms,
			 "frame", (json_int_t)c->frame);
}

static int append_chat(const store_chat *c, void *arr)
{
	return json_array_append_new(arr, chat_json(c)) ? TT_ENOMEM : 0;
}

/* The session's last TT_CHAT_ON_JOIN messages, oldest first. */
static json_t *recent_chat(tt_app *app, live_session *s)
{
	json_t *arr = json_array();

	pthread_mutex_lock(&app->store_lock);
	store_chat_recent(app->st, s->id, TT_CHAT_ON_JOIN, append_chat, arr);
	pthread_mutex_unlock(&app->store_lock);
	return arr;
}

/* chat {text}: said to the session, stored with it (for its history). */
static void on_chat(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	json_t *text = json_object_get(req, "text"), *msg;
	struct timespec ts;
	store_chat c;
	int rc;

	if (!rs->session) {
		rpc_error(wc, id, "not_joined", "join a session first");
		return;
	}
	if (!rpc_require(rs, wc, id, STORE_ROLE_PERFORMER, "chatting") ||
	    !rpc_allow_eval(rs, wc, id))
		return;
	if (!json_is_string(text) || json_string_length(text) == 0 ||
	    json_string_length(text) > TT_MAX_CHAT_BYTES ||
	    strlen(json_string_value(text)) != json_string_length(text)) {
		rpc_error(wc, id, "bad_request", "\"text\" must be 1 to %d bytes (TT_MAX_CHAT_BYTES)",
			  TT_MAX_CHAT_BYTES);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	c = (store_chat){ .session_id = rs->session->id, .author = rs->name,
			  .time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
			  .frame = rs->session->audio ? live_frame(rs->session->audio) : 0,
			  .text = json_string_value(text) };
	pthread_mutex_lock(&rs->app->store_lock);
	rc = store_chat_append(rs->app->st, &c);
	pthread_mutex_unlock(&rs->app->store_lock);
	if (rc != TT_OK) {
		rpc_error(wc, id, "internal", "the message could not be stored: %s", tt_strerror(rc));
		return;
	}
	msg = chat_json(&c);
	json_object_set_new(msg, "by", json_integer(rs->user));
	json_object_set_new(msg, "color", json_string(rs->color));
	rpc_reply(wc, id, json_deep_copy(msg));
	session_broadcast(rs->session, msg, rs);
	json_decref(msg);
}

static void on_join(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	const char *sid = json_string_value(json_object_get(req, "session"));
	const char *why = "";
	store_role role;
	live_session *s;
	int rc;

	if (!sid) {
		rpc_error(wc, id, "bad_request", "join needs a string \"session\"");
		return;
	}
	s = session_get(rs->app, sid, &rc);
	if (!s) {
		if (rc == TT_ENOTFOUND)
			rpc_error(wc, id, "not_found", "no session with id '%.64s'", sid);
		else
			rpc_error(wc, id, "internal", "cannot load session: %s", tt_strerror(rc));
		return;
	}
	role = join_role(rs, s, json_object_get(req, "token"), &why);
	if (role == STORE_ROLE_NONE) {
		rpc_error(wc, id, "forbidden", "%s", why);
		return;
	}
	/* The performer, for the flood limits: the token's public part
	 * ("t12.SECRET" -> "t12"), which only its holders can claim, and the
	 * name they go by. */
	{
		const char *tok = json_string_value(json_object_get(req, "token"));
		int n = tok ? (int)strcspn(tok, ".") : 0;
		if (n > 20)
			n = 20;
		if (tok)
			snprintf(rs->performer, sizeof rs->performer, "%.*s/%s", n, tok, rs->name);
		else
			rs->performer[0] = '\0';
	}
	session_join(s, rs, role);
	hub_start(rs->app, s); /* a performer who joins wants to hear */
	reply(wc, id, json_pack("{s:s,s:{s:s,s:s},s:I,s:o,s:f,s:s,s:o}", "type", "joined", "session",
				"id", s->id, "name", s->name, "user", (json_int_t)rs->user,
				"members", members_json(s), "cps", s->cps, "role",
				store_role_name(rs->role), "chat", recent_chat(rs->app, s)));
}

static void on_leave(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	(void)req;
	session_leave(rs);
	reply(wc, id, json_pack("{s:s}", "type", "left"));
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
		rpc_error(wc, NULL, "bad_json", "message is not valid JSON: line %d, column %d: %s",
			    jerr.line, jerr.column, jerr.text);
		return;
	}
	if (!json_is_object(req)) {
		rpc_error(wc, NULL, "bad_request", "message must be a JSON object");
		goto out;
	}
	id = request_id(req, &bad_id);
	if (bad_id) {
		rpc_error(wc, NULL, "bad_request",
			    "\"id\" must be an integer or a string of at most %d bytes",
			    TT_MAX_REQUEST_ID);
		goto out;
	}
	type = json_string_value(json_object_get(req, "type"));
	if (!type) {
		rpc_error(wc, id, "bad_request", "message has no string \"type\"");
		goto out;
	}
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		if (strcmp(methods[i].type, type) == 0) {
			methods[i].fn(rs, wc, req, id);
			goto out;
		}
	}
	rpc_error(wc, id, "unknown_type", "unknown message type '%.64s'", type);
out:
	json_decref(req);
}
