/* server/editing.c: see editing.h for the design and its invariants. */
#include "server/editing.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collab/doc.h"
#include "collab/ot_json.h"
#include "common/error.h"
#include "common/limits.h"
#include "server/app.h"
#include "server/log.h"
#include "server/rpc.h"
#include "server/session.h"
#include "server/ws_conn.h"

/* A snapshot every this many revisions keeps a document's load to at most
 * this many operations replayed after its snapshot. */
#define SNAPSHOT_EVERY 200

/* The last op of one client in one document (invariant 3). */
typedef struct client_mark {
	char id[TT_MAX_CLIENT_ID + 1];
	int64_t seq;
	int64_t rev;
} client_mark;

struct live_doc {
	int64_t id;
	char name[TT_MAX_DOC_NAME + 1];
	live_session *s;
	doc *d;
	uint64_t committed_rev;   /* the highest revision known stored */
	uint64_t gen;             /* bumped when reloaded (invariant 4) */
	int pending;              /* items at the writer */
	int deleted;
	doc_sub *subs;
	client_mark *marks;
	size_t n_marks, cap_marks;
	struct live_doc *next;
};

struct doc_sub {
	live_doc *ld;
	rpc_state *rs;
	uint64_t from_rev;        /* sent everything up to here (invariant 1) */
	long cursor;              /* -1: none shown */
	size_t n_sel;
	size_t sel[2 * TT_MAX_SELECTIONS];
	doc_sub *next_in_doc;
	doc_sub *next_in_conn;
};

/* What travels with an op through the writer. */
typedef struct edit_ctx {
	live_doc *ld;
	uint64_t gen;
	uint64_t conn;            /* the author's connection, by id */
	json_t *req_id;
	json_t *op;               /* the op as applied, to broadcast */
	int64_t user;
	char author[TT_MAX_DISPLAY_NAME + 1];
} edit_ctx;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- loading ---- */

typedef struct load_ctx {
	doc *d;
	int rc;
	char err[256];
} load_ctx;

static int replay_op(const store_op *op, void *arg)
{
	load_ctx *lc = arg;
	ot_op o;
	uint64_t rev;

	ot_op_init(&o);
	lc->rc = ot_json_decode_text(op->op, op->op_len, &o, lc->err, sizeof lc->err);
	if (lc->rc == TT_OK && (uint64_t)op->revision != doc_rev(lc->d) + 1)
		lc->rc = TT_EFORMAT;
	if (lc->rc == TT_OK)
		lc->rc = doc_receive(lc->d, doc_rev(lc->d), &o, NULL, &rev, lc->err,
				     sizeof lc->err);
	ot_op_fini(&o);
	return lc->rc == TT_OK ? 0 : 1;
}

static int add_mark(live_doc *ld, const char *id, int64_t seq, int64_t rev)
{
	for (size_t i = 0; i < ld->n_marks; i++) {
		if (strcmp(ld->marks[i].id, id) == 0) {
			ld->marks[i].seq = seq;
			ld->marks[i].rev = rev;
			return TT_OK;
		}
	}
	if (ld->n_marks == ld->cap_marks) {
		size_t cap = ld->cap_marks ? ld->cap_marks * 2 : 8;
		client_mark *m = realloc(ld->marks, cap * sizeof *m);
		if (!m)
			return TT_ENOMEM;
		ld->marks = m;
		ld->cap_marks = cap;
	}
	snprintf(ld->marks[ld->n_marks].id, sizeof ld->marks[0].id, "%s", id);
	ld->marks[ld->n_marks].seq = seq;
	ld->marks[ld->n_marks].rev = rev;
	ld->n_marks++;
	return TT_OK;
}

static int load_mark(const store_op *op, void *arg)
{
	return add_mark(arg, op->client_id, op->client_seq, op->revision) == TT_OK ? 0 : 1;
}

static client_mark *find_mark(live_doc *ld, const char *id)
{
	for (size_t i = 0; i < ld->n_marks; i++)
		if (strcmp(ld->marks[i].id, id) == 0)
			return &ld->marks[i];
	return NULL;
}

/* (Re)loads the text from the latest snapshot and the ops after it. */
static int load_doc(tt_app *app, live_doc *ld)
{
	load_ctx lc = { .rc = TT_OK };
	int64_t rev = 0;
	char *text = NULL;
	size_t len = 0;
	int rc;

	pthread_mutex_lock(&app->store_lock);
	rc = store_snapshot_load(app->st, ld->id, INT64_MAX, &rev, &text, &len);
	if (rc == TT_ENOTFOUND) {
		rc = TT_OK;
		rev = 0;
	}
	if (rc == TT_OK)
		rc = doc_new(text ? text : "", len, (uint64_t)rev, &lc.d, lc.err, sizeof lc.err);
	free(text);
	if (rc == TT_OK) {
		rc = store_ops_since(app->st, ld->id, rev, replay_op, &lc);
		if (rc == 1)
			rc = lc.rc;
	}
	ld->n_marks = 0;
	if (rc == TT_OK && store_ops_last_by_client(app->st, ld->id, load_mark, ld) != TT_OK)
		rc = TT_ENOMEM;
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK) {
		log_error("edit", "cannot load doc %lld: %s %s", (long long)ld->id, tt_strerror(rc),
			  lc.err);
		doc_free(lc.d);
		return rc;
	}
	doc_free(ld->d);
	ld->d = lc.d;
	ld->committed_rev = doc_rev(ld->d);
	ld->gen++;
	return TT_OK;
}

/* The loaded document id of session s, loading it on first use. */
static live_doc *get_doc(tt_app *app, live_session *s, int64_t id, int *rc)
{
	store_doc sd;
	live_doc *ld;

	for (ld = s->docs; ld; ld = ld->next)
		if (ld->id == id && !ld->deleted) {
			*rc = TT_OK;
			return ld;
		}
	pthread_mutex_lock(&app->store_lock);
	*rc = store_doc_get(app->st, id, &sd);
	pthread_mutex_unlock(&app->store_lock);
	if (*rc != TT_OK)
		return NULL;
	if (strcmp(sd.session_id, s->id) != 0) {
		*rc = TT_ENOTFOUND; /* another session's document is not visible */
		return NULL;
	}
	ld = calloc(1, sizeof *ld);
	if (!ld) {
		*rc = TT_ENOMEM;
		return NULL;
	}
	ld->id = id;
	ld->s = s;
	memcpy(ld->name, sd.name, sizeof ld->name);
	*rc = load_doc(app, ld);
	if (*rc != TT_OK) {
		free(ld);
		return NULL;
	}
	ld->next = s->docs;
	s->docs = ld;
	return ld;
}

static void free_doc(live_doc *ld)
{
	doc_free(ld->d);
	free(ld->marks);
	free(ld);
}

void editing_free_docs(live_session *s)
{
	while (s->docs) {
		live_doc *ld = s->docs;
		s->docs = ld->next;
		while (ld->subs) {
			doc_sub *sub = ld->subs;
			ld->subs = sub->next_in_doc;
			free(sub);
		}
		free_doc(ld);
	}
}

/* ---- helpers for the request handlers ---- */

/* The request's "doc" as a document of rs's session, or NULL after
 * answering the error. */
static live_doc *req_doc(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	json_t *jd = json_object_get(req, "doc");
	live_doc *ld;
	int rc;

	if (!rs->session) {
		rpc_error(wc, id, "not_joined", "join a session first");
		return NULL;
	}
	if (!json_is_integer(jd)) {
		rpc_error(wc, id, "bad_request", "\"doc\" must be a document id (integer)");
		return NULL;
	}
	ld = get_doc(rs->app, rs->session, json_integer_value(jd), &rc);
	if (!ld) {
		if (rc == TT_ENOTFOUND)
			rpc_error(wc, id, "not_found", "no document %lld in this session",
				  (long long)json_integer_value(jd));
		else
			rpc_error(wc, id, "internal", "cannot load document: %s", tt_strerror(rc));
	}
	return ld;
}

static doc_sub *find_sub(rpc_state *rs, const live_doc *ld)
{
	for (doc_sub *sub = rs->subs; sub; sub = sub->next_in_conn)
		if (sub->ld == ld)
			return sub;
	return NULL;
}

static json_t *doc_json(const store_doc *d)
{
	return json_pack("{s:I,s:s,s:I}", "id", (json_int_t)d->id, "name", d->name,
			 "revision", (json_int_t)d->revision);
}

static int doc_name_ok(ws_conn *wc, json_t *id, json_t *name)
{
	if (!json_is_string(name) || json_string_length(name) == 0) {
		rpc_error(wc, id, "bad_request", "\"name\" must be a non-empty string");
		return 0;
	}
	if (json_string_length(name) > TT_MAX_DOC_NAME) {
		rpc_error(wc, id, "too_long", "\"name\" is longer than %d bytes (TT_MAX_DOC_NAME)",
			  TT_MAX_DOC_NAME);
		return 0;
	}
	return 1;
}

static void store_failure(rpc_state *rs, ws_conn *wc, json_t *id, int rc, const char *what)
{
	if (rc == TT_EEXIST)
		rpc_error(wc, id, "name_taken", "a document of this session is already named so");
	else if (rc == TT_ENOTFOUND)
		rpc_error(wc, id, "not_found", "no such document in this session");
	else
		rpc_error(wc, id, "internal", "%s failed: %s (%s)", what, tt_strerror(rc),
			  store_errmsg(rs->app->st));
}

/* ---- documents ---- */

static int append_doc(const store_doc *d, void *arr)
{
	return json_array_append_new(arr, doc_json(d)) == 0 ? 0 : TT_ENOMEM;
}

void editing_doc_list(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	json_t *arr;
	int rc;

	(void)req;
	if (!rs->session) {
		rpc_error(wc, id, "not_joined", "join a session first");
		return;
	}
	arr = json_array();
	pthread_mutex_lock(&rs->app->store_lock);
	rc = store_doc_list(rs->app->st, rs->session->id, append_doc, arr);
	pthread_mutex_unlock(&rs->app->store_lock);
	if (rc != TT_OK) {
		json_decref(arr);
		store_failure(rs, wc, id, rc, "listing documents");
		return;
	}
	rpc_reply(wc, id, json_pack("{s:s,s:o}", "type", "doc.list", "docs", arr));
}

void editing_doc_create(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	json_t *name = json_object_get(req, "name");
	store_doc d;
	json_t *note;
	int rc;

	if (!rs->session) {
		rpc_error(wc, id, "not_joined", "join a session first");
		return;
	}
	if (!rpc_require(rs, wc, id, STORE_ROLE_PERFORMER, "creating a document") ||
	    !doc_name_ok(wc, id, name))
		return;
	pthread_mutex_lock(&rs->app->store_lock);
	rc = store_doc_create(rs->app->st, rs->session->id, json_string_value(name), &d);
	pthread_mutex_unlock(&rs->app->store_lock);
	if (rc != TT_OK) {
		store_failure(rs, wc, id, rc, "creating the document");
		return;
	}
	rpc_reply(wc, id, json_pack("{s:s,s:o}", "type", "doc.created", "doc", doc_json(&d)));
	note = json_pack("{s:s,s:o,s:I}", "type", "doc.created", "doc", doc_json(&d), "by",
			 (json_int_t)rs->user);
	session_broadcast(rs->session, note, rs);
	json_decref(note);
}

void editing_doc_rename(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	json_t *name = json_object_get(req, "name");
	live_doc *ld = req_doc(rs, wc, req, id);
	json_t *note;
	int rc;

	if (!ld || !rpc_require(rs, wc, id, STORE_ROLE_PERFORMER, "renaming a document") ||
	    !doc_name_ok(wc, id, name))
		return;
	pthread_mutex_lock(&rs->app->store_lock);
	rc = store_doc_rename(rs->app->st, ld->id, json_string_value(name));
	pthread_mutex_unlock(&rs->app->store_lock);
	if (rc != TT_OK) {
		store_failure(rs, wc, id, rc, "renaming the document");
		return;
	}
	snprintf(ld->name, sizeof ld->name, "%s", json_string_value(name));
	note = json_pack("{s:s,s:I,s:s,s:I}", "type", "doc.renamed", "doc", (json_int_t)ld->id,
			 "name", ld->name, "by", (json_int_t)rs->user);
	rpc_reply(wc, id, json_deep_copy(note));
	session_broadcast(rs->session, note, rs);
	json_decref(note);
}

static void unsubscribe(doc_sub *sub, int tell_others);

void editing_doc_delete(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	live_doc *ld = req_doc(rs, wc, req, id);
	json_t *note;
	int rc;

	if (!ld || !rpc_require(rs, wc, id, STORE_ROLE_OWNER, "deleting a document"))
		return;
	pthread_mutex_lock(&rs->app->store_lock);
	rc = store_doc_delete(rs->app->st, ld->id);
	pthread_mutex_unlock(&rs->app->store_lock);
	if (rc != TT_OK) {
		store_failure(rs, wc, id, rc, "deleting the document");
		return;
	}
	/* Kept in memory, marked, until its pending ops come back. */
	ld->deleted = 1;
	while (ld->subs)
		unsubscribe(ld->subs, 0);
	note = json_pack("{s:s,s:I,s:I}", "type", "doc.deleted", "doc", (json_int_t)ld->id,
			 "by", (json_int_t)rs->user);
	rpc_reply(wc, id, json_deep_copy(note));
	session_broadcast(rs->session, note, rs);
	json_decref(note);
}

/* ---- subscriptions and presence ---- */

static json_t *presence_json(const doc_sub *sub)
{
	json_t *sels = json_array();
	json_t *msg;

	for (size_t i = 0; i < sub->n_sel; i++)
		json_array_append_new(sels, json_pack("[I,I]", (json_int_t)sub->sel[2 * i],
						      (json_int_t)sub->sel[2 * i + 1]));
	msg = json_pack("{s:s,s:I,s:I,s:I,s:s,s:s,s:o,s:o}", "type", "presence",
			"doc", (json_int_t)sub->ld->id, "rev", (json_int_t)doc_rev(sub->ld->d),
			"user", (json_int_t)sub->rs->user, "name", sub->rs->name,
			"color", sub->rs->color,
			"cursor", sub->cursor < 0 ? json_null() : json_integer(sub->cursor),
			"selections", sels);
	return msg;
}

/* Sends msg (borrowed) to every subscriber of ld but except. */
static void doc_broadcast(live_doc *ld, json_t *msg, const doc_sub *except)
{
	char *text = json_dumps(msg, JSON_COMPACT);

	if (!text)
		return;
	for (doc_sub *sub = ld->subs; sub; ) {
		doc_sub *next = sub->next_in_doc;
		if (sub != except)
			ws_conn_send_text(sub->rs->wc, text, strlen(text));
		sub = next;
	}
	free(text);
}

static void unsubscribe(doc_sub *sub, int tell_others)
{
	live_doc *ld = sub->ld;
	rpc_state *rs = sub->rs;

	for (doc_sub **p = &ld->subs; *p; p = &(*p)->next_in_doc)
		if (*p == sub) {
			*p = sub->next_in_doc;
			break;
		}
	for (doc_sub **p = &rs->subs; *p; p = &(*p)->next_in_conn)
		if (*p == sub) {
			*p = sub->next_in_conn;
			break;
		}
	rs->n_subs--;
	if (tell_others && sub->cursor >= 0) {
		sub->cursor = -1;
		sub->n_sel = 0;
		json_t *gone = presence_json(sub);
		doc_broadcast(ld, gone, NULL);
		json_decref(gone);
	}
	free(sub);
}

void editing_close_all(rpc_state *rs)
{
	while (rs->subs)
		unsubscribe(rs->subs, 1);
}

/* The ops after rev as JSON, or NULL when rev is outside the window. */
static json_t *ops_since_json(live_doc *ld, uint64_t rev)
{
	/* Static: the loop is one thread, and the window can be 10,000 ops. */
	static const ot_op *ops[TT_MAX_OT_HISTORY];
	json_t *arr;
	size_t n;

	if (doc_ops_since(ld->d, rev, ops, TT_MAX_OT_HISTORY, &n) != TT_OK)
		return NULL;
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = NULL;
		if (ot_json_encode(ops[i], &o) != TT_OK) {
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *presence_list(live_doc *ld, const doc_sub *except)
{
	json_t *arr = json_array();
	for (doc_sub *sub = ld->subs; sub; sub = sub->next_in_doc)
		if (sub != except && sub->cursor >= 0)
			json_array_append_new(arr, presence_json(sub));
	return arr;
}

/*
 * doc.open {doc, rev?}: subscribes. With a rev inside the document's window
 * the answer is "doc.ops", the ops after rev (a reconnecting client keeps
 * its text); otherwise "doc.snapshot", the whole text.
 */
void editing_doc_open(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	live_doc *ld = req_doc(rs, wc, req, id);
	json_t *jrev = json_object_get(req, "rev");
	json_t *ops = NULL, *msg;
	doc_sub *sub;
	size_t len;

	if (!ld)
		return;
	if (jrev && (!json_is_integer(jrev) || json_integer_value(jrev) < 0)) {
		rpc_error(wc, id, "bad_request", "\"rev\" must be a revision (integer >= 0)");
		return;
	}
	sub = find_sub(rs, ld);
	if (!sub) {
		if (rs->n_subs >= TT_MAX_OPEN_DOCS) {
			rpc_error(wc, id, "too_many", "a connection may have %d documents open "
				  "(TT_MAX_OPEN_DOCS)", TT_MAX_OPEN_DOCS);
			return;
		}
		sub = calloc(1, sizeof *sub);
		if (!sub) {
			rpc_error(wc, id, "internal", "out of memory");
			return;
		}
		sub->ld = ld;
		sub->rs = rs;
		sub->cursor = -1;
		sub->next_in_doc = ld->subs;
		ld->subs = sub;
		sub->next_in_conn = rs->subs;
		rs->subs = sub;
		rs->n_subs++;
	}
	sub->from_rev = doc_rev(ld->d);
	if (jrev && (uint64_t)json_integer_value(jrev) <= doc_rev(ld->d))
		ops = ops_since_json(ld, (uint64_t)json_integer_value(jrev));
	if (ops) {
		msg = json_pack("{s:s,s:I,s:s,s:I,s:I,s:o}", "type", "doc.ops", "doc",
				(json_int_t)ld->id, "name", ld->name, "from",
				json_integer_value(jrev), "rev", (json_int_t)doc_rev(ld->d), "ops", ops);
	} else {
		const char *text = doc_text(ld->d, &len);
		msg = json_pack("{s:s,s:I,s:s,s:I,s:s%}", "type", "doc.snapshot", "doc",
				(json_int_t)ld->id, "name", ld->name, "rev",
				(json_int_t)doc_rev(ld->d), "text", text, len);
	}
	json_object_set_new(msg, "presence", presence_list(ld, sub));
	rpc_reply(wc, id, msg);
}

void editing_doc_close(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	live_doc *ld = req_doc(rs, wc, req, id);
	doc_sub *sub = ld ? find_sub(rs, ld) : NULL;

	if (!ld)
		return;
	if (sub)
		unsubscribe(sub, 1);
	rpc_reply(wc, id, json_pack("{s:s,s:I}", "type", "doc.closed", "doc", (json_int_t)ld->id));
}

/* Reads [[anchor, head], ...] into sub, each within units; 0 on error. */
static int read_selections(json_t *jsel, size_t units, size_t *out, size_t *n, char *why,
			   size_t whylen)
{
	size_t i;
	json_t *pair;

	if (!json_is_array(jsel) || json_array_size(jsel) > TT_MAX_SELECTIONS) {
		snprintf(why, whylen, "\"selections\" must be an array of at most %d [anchor, head] "
			 "pairs (TT_MAX_SELECTIONS)", TT_MAX_SELECTIONS);
		return 0;
	}
	json_array_foreach(jsel, i, pair) {
		json_t *a = json_array_get(pair, 0), *h = json_array_get(pair, 1);
		if (json_array_size(pair) != 2 || !json_is_integer(a) || !json_is_integer(h) ||
		    json_integer_value(a) < 0 || json_integer_value(h) < 0 ||
		    (size_t)json_integer_value(a) > units || (size_t)json_integer_value(h) > units) {
			snprintf(why, whylen, "selection %zu is not [anchor, head] within 0..%zu", i,
				 units);
			return 0;
		}
		out[2 * i] = (size_t)json_integer_value(a);
		out[2 * i + 1] = (size_t)json_integer_value(h);
	}
	*n = json_array_size(jsel);
	return 1;
}

/* presence {doc, rev, cursor, selections}: positions in UTF-16 units of
 * the document at the server's current revision. */
void editing_presence(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	live_doc *ld = req_doc(rs, wc, req, id);
	doc_sub *sub = ld ? find_sub(rs, ld) : NULL;
	json_t *jc = json_object_get(req, "cursor");
	json_t *jsel = json_object_get(req, "selections");
	size_t units, sel[2 * TT_MAX_SELECTIONS], n_sel = 0;
	char why[160];
	json_t *msg;

	if (!ld || !rpc_require(rs, wc, id, STORE_ROLE_PERFORMER, "showing a cursor"))
		return;
	if (!sub) {
		rpc_error(wc, id, "not_open", "open the document before sending presence");
		return;
	}
	units = doc_units(ld->d);
	if (!json_is_null(jc) && (!json_is_integer(jc) || json_integer_value(jc) < 0 ||
				  (size_t)json_integer_value(jc) > units)) {
		rpc_error(wc, id, "bad_request", "\"cursor\" must be null or a position in 0..%zu",
			  units);
		return;
	}
	if (jsel && !read_selections(jsel, units, sel, &n_sel, why, sizeof why)) {
		rpc_error(wc, id, "bad_request", "%s", why);
		return;
	}
	sub->cursor = json_is_integer(jc) ? (long)json_integer_value(jc) : -1;
	memcpy(sub->sel, sel, n_sel * 2 * sizeof sel[0]);
	sub->n_sel = n_sel;
	msg = presence_json(sub);
	doc_broadcast(ld, msg, sub);
	json_decref(msg);
	if (id)
		rpc_reply(wc, id, json_pack("{s:s,s:I}", "type", "presence.ok", "rev",
					    (json_int_t)doc_rev(ld->d)));
}

/* Moves every shown position of the document through op. */
static void move_presence(live_doc *ld, const ot_op *op, const rpc_state *author)
{
	for (doc_sub *sub = ld->subs; sub; sub = sub->next_in_doc) {
		int own = sub->rs == author;
		if (sub->cursor >= 0)
			sub->cursor = (long)ot_transform_index((size_t)sub->cursor, op, own);
		for (size_t i = 0; i < 2 * sub->n_sel; i++)
			sub->sel[i] = ot_transform_index(sub->sel[i], op, own);
	}
}

/* ---- operations ---- */

/* Invariant 3: 1 when the op was handled as a duplicate (answered). */
static int answer_duplicate(rpc_state *rs, ws_conn *wc, json_t *id, live_doc *ld,
			    int64_t seq)
{
	client_mark *m = find_mark(ld, rs->client_id);

	if (!m || seq > m->seq)
		return 0;
	if (seq < m->seq) {
		rpc_error(wc, id, "stale_seq", "seq %lld is older than this client's last op (%lld)",
			  (long long)seq, (long long)m->seq);
		return 1;
	}
	if ((uint64_t)m->rev > ld->committed_rev) {
		/* The first copy is still being stored: acknowledging now would
		 * promise what the disk has not. */
		rpc_error(wc, id, "retry", "the first copy of this op is being stored; send it again");
		return 1;
	}
	rpc_reply(wc, id, json_pack("{s:s,s:I,s:I,s:b}", "type", "ack", "doc", (json_int_t)ld->id,
				    "rev", (json_int_t)m->rev, "duplicate", 1));
	return 1;
}

static writer_item *make_item(rpc_state *rs, live_doc *ld, const char *text, uint64_t rev,
			      int64_t seq)
{
	writer_item *it = calloc(1, sizeof *it);
	size_t len;

	if (!it)
		return NULL;
	it->op.doc_id = ld->id;
	it->op.revision = (int64_t)rev;
	it->op.time_ms = now_ms();
	it->op.author = strdup(rs->name);
	it->op.op = strdup(text);
	it->op.op_len = strlen(text);
	if (rs->client_id[0] && seq > 0) {
		it->op.client_id = strdup(rs->client_id);
		it->op.client_seq = seq;
	}
	if (rev % SNAPSHOT_EVERY == 0) {
		const char *t = doc_text(ld->d, &len);
		it->snapshot = malloc(len + 1);
		if (it->snapshot) {
			memcpy(it->snapshot, t, len + 1);
			it->snapshot_len = len;
		}
	}
	if (!it->op.author || !it->op.op || (rs->client_id[0] && seq > 0 && !it->op.client_id)) {
		writer_item_free(it);
		return NULL;
	}
	return it;
}

static void op_error(ws_conn *wc, json_t *id, int rc, const char *err)
{
	if (rc == TT_ECONFLICT)
		rpc_error(wc, id, "resync", "%s: open the document again for a fresh snapshot", err);
	else if (rc == TT_ELIMIT)
		rpc_error(wc, id, "too_large", "%s", err);
	else if (rc == TT_ENOMEM)
		rpc_error(wc, id, "internal", "out of memory");
	else
		rpc_error(wc, id, "bad_op", "%s", err);
}

/* Hands the applied op to the writer; acks and broadcasts follow commit. */
static int submit(rpc_state *rs, json_t *id, live_doc *ld, const ot_op *applied,
		  uint64_t rev, int64_t seq)
{
	edit_ctx *ctx = calloc(1, sizeof *ctx);
	json_t *jop = NULL;
	char *text = NULL;
	writer_item *it = NULL;

	if (!ctx || ot_json_encode(applied, &jop) != TT_OK ||
	    !(text = json_dumps(jop, JSON_COMPACT)) || !(it = make_item(rs, ld, text, rev, seq))) {
		free(ctx);
		json_decref(jop);
		free(text);
		return TT_ENOMEM;
	}
	free(text);
	ctx->ld = ld;
	ctx->gen = ld->gen;
	ctx->conn = ws_conn_id(rs->wc);
	ctx->req_id = id ? json_incref(id) : NULL;
	ctx->op = jop;
	ctx->user = rs->user;
	snprintf(ctx->author, sizeof ctx->author, "%s", rs->name);
	it->ctx = ctx;
	ld->pending++;
	writer_submit(rs->app->writer, it);
	return TT_OK;
}

/* op {doc, rev, op, seq?}: rev is the revision the op was made against. */
void editing_op(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	live_doc *ld = req_doc(rs, wc, req, id);
	json_t *jrev = json_object_get(req, "rev");
	json_t *jseq = json_object_get(req, "seq");
	int64_t seq = 0;
	char err[256];
	ot_op op, applied;
	uint64_t rev;
	int rc;

	if (!ld || !rpc_require(rs, wc, id, STORE_ROLE_PERFORMER, "editing") ||
	    !rpc_allow_op(rs, wc, id))
		return;
	if (jseq && (!json_is_integer(jseq) || json_integer_value(jseq) <= 0)) {
		rpc_error(wc, id, "bad_request", "\"seq\" must be a positive integer");
		return;
	}
	seq = jseq ? json_integer_value(jseq) : 0;
	/* Before the open check: a client back from a lost connection first
	 * asks whether its unacknowledged op arrived (docs/protocol.md). */
	if (seq && rs->client_id[0] && answer_duplicate(rs, wc, id, ld, seq))
		return;
	if (!find_sub(rs, ld)) {
		rpc_error(wc, id, "not_open", "open the document before editing it");
		return;
	}
	if (!json_is_integer(jrev) || json_integer_value(jrev) < 0) {
		rpc_error(wc, id, "bad_request", "\"rev\" must be the revision the op is based on");
		return;
	}
	ot_op_init(&op);
	ot_op_init(&applied);
	rc = ot_json_decode(json_object_get(req, "op"), &op, err, sizeof err);
	if (rc == TT_OK)
		rc = doc_receive(ld->d, (uint64_t)json_integer_value(jrev), &op, &applied, &rev, err,
				 sizeof err);
	if (rc != TT_OK) {
		op_error(wc, id, rc, err);
		goto out;
	}
	if (seq && rs->client_id[0])
		add_mark(ld, rs->client_id, seq, (int64_t)rev);
	move_presence(ld, &applied, rs);
	if (submit(rs, id, ld, &applied, rev, seq) != TT_OK) {
		/* Applied in memory but not on its way to disk: reload to the
		 * stored state rather than diverge from it (invariant 4). */
		rpc_error(wc, id, "internal", "out of memory");
		load_doc(rs->app, ld);
	}
out:
	ot_op_fini(&op);
	ot_op_fini(&applied);
}

static doc_sub *sub_of_conn(live_doc *ld, uint64_t conn)
{
	for (doc_sub *sub = ld->subs; sub; sub = sub->next_in_doc)
		if (ws_conn_id(sub->rs->wc) == conn)
			return sub;
	return NULL;
}

/* A growing byte buffer for the coalesced messages below. */
typedef struct outbuf {
	char *p;
	size_t len, cap;
	int failed;
} outbuf;

static void out_add(outbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->failed = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* One committed op of a batch, encoded once for every subscriber. */
typedef struct committed {
	edit_ctx *ctx;
	int64_t rev;
	char *json;               /* {"rev":..,"op":..,"user":..,"author":..} */
} committed;

static void flush_run(ws_conn *wc, live_doc *ld, outbuf *run, int *n_in_run)
{
	char head[64];
	int n;

	if (*n_in_run == 0)
		return;
	n = snprintf(head, sizeof head, "{\"type\":\"ops\",\"doc\":%lld,\"ops\":[",
		     (long long)ld->id);
	out_add(run, "]}", 2);
	if (!run->failed) {
		/* head + run in one message, without a second copy of run */
		outbuf msg = { 0 };
		out_add(&msg, head, (size_t)n);
		out_add(&msg, run->p, run->len);
		if (!msg.failed)
			ws_conn_send_text(wc, msg.p, msg.len);
		free(msg.p);
	}
	run->len = 0;
	run->failed = 0;
	*n_in_run = 0;
}

/*
 * Delivers a batch's committed ops of one document to its subscribers, in
 * revision order, coalesced: for each subscriber, consecutive ops of others
 * travel as one "ops" message, and its own op as its "ack" between them
 * (invariant 1). Every op is encoded once, so a batch costs one message
 * per run per subscriber instead of one per op: with many authors on one
 * document the fan-out grows with the batches, not with the ops.
 */
static void deliver(live_doc *ld, committed *ops, size_t n)
{
	outbuf run = { 0 };

	for (doc_sub *sub = ld->subs; sub; ) {
		doc_sub *next = sub->next_in_doc;
		uint64_t me = ws_conn_id(sub->rs->wc);
		int in_run = 0;

		for (size_t i = 0; i < n; i++) {
			if (sub->from_rev >= (uint64_t)ops[i].rev)
				continue; /* its snapshot had this op */
			if (ops[i].ctx->conn == me) {
				flush_run(sub->rs->wc, ld, &run, &in_run);
				rpc_reply(sub->rs->wc, ops[i].ctx->req_id,
					  json_pack("{s:s,s:I,s:I}", "type", "ack", "doc",
						    (json_int_t)ld->id, "rev", (json_int_t)ops[i].rev));
				continue;
			}
			if (in_run++)
				out_add(&run, ",", 1);
			out_add(&run, ops[i].json, strlen(ops[i].json));
		}
		flush_run(sub->rs->wc, ld, &run, &in_run);
		sub = next;
	}
	free(run.p);
}

/* A commit failed: the memory holds ops the disk does not (invariant 4). */
static void reset_doc(tt_app *app, live_doc *ld, edit_ctx *ctx, int rc)
{
	doc_sub *author = sub_of_conn(ld, ctx->conn);

	if (author)
		rpc_error(author->rs->wc, ctx->req_id, "store_failed",
			  "the operation could not be stored (%s); the document was reset",
			  tt_strerror(rc));
	if (load_doc(app, ld) != TT_OK)
		return;
	for (doc_sub *sub = ld->subs; sub; ) {
		doc_sub *next = sub->next_in_doc;
		size_t len;
		const char *text = doc_text(ld->d, &len);
		sub->from_rev = doc_rev(ld->d);
		ws_conn_send_json(sub->rs->wc,
				  json_pack("{s:s,s:I,s:s,s:I,s:s%,s:b}", "type", "doc.snapshot",
					    "doc", (json_int_t)ld->id, "name", ld->name, "rev",
					    (json_int_t)doc_rev(ld->d), "text", text, len, "reset", 1));
		sub = next;
	}
}

/* Delivers the committed ops gathered for ld so far and frees them. */
static void deliver_pending(live_doc *ld, committed *ops, size_t *n)
{
	if (*n && ld)
		deliver(ld, ops, *n);
	for (size_t i = 0; i < *n; i++)
		free(ops[i].json);
	*n = 0;
}

static void free_ctx(edit_ctx *ctx)
{
	json_decref(ctx->req_id);
	json_decref(ctx->op);
	free(ctx);
}

void editing_on_commit(writer_item *batch, void *arg)
{
	tt_app *app = arg;
	committed *ops = NULL;
	size_t n = 0, cap = 0;
	live_doc *cur = NULL;        /* the document ops[] belong to */
	writer_item *done = batch;   /* freed at the end: ops[] borrows ctx */

	for (writer_item *it = batch; it; it = it->next) {
		edit_ctx *ctx = it->ctx;
		live_doc *ld = ctx->ld;

		ld->pending--;
		if (ld != cur) {
			deliver_pending(cur, ops, &n);
			cur = ld;
		}
		if (ctx->gen != ld->gen) {
			doc_sub *author = sub_of_conn(ld, ctx->conn);
			if (author)
				rpc_error(author->rs->wc, ctx->req_id, "resync",
					  "the document was reset before this op was stored");
			continue;
		}
		if (it->rc != TT_OK) {
			deliver_pending(cur, ops, &n);
			reset_doc(app, ld, ctx, it->rc);
			continue;
		}
		ld->committed_rev = (uint64_t)it->op.revision;
		if (n == cap) {
			size_t c2 = cap ? cap * 2 : 64;
			committed *o = realloc(ops, c2 * sizeof *o);
			if (!o) {
				/* Cannot tell the subscribers: they must reload. */
				deliver_pending(cur, ops, &n);
				reset_doc(app, ld, ctx, TT_ENOMEM);
				continue;
			}
			ops = o;
			cap = c2;
		}
		json_t *j = json_pack("{s:I,s:O,s:I,s:s}", "rev", (json_int_t)it->op.revision,
				      "op", ctx->op, "user", (json_int_t)ctx->user, "author", ctx->author);
		ops[n].ctx = ctx;
		ops[n].rev = it->op.revision;
		ops[n].json = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (ops[n].json) {
			n++;
		} else {
			deliver_pending(cur, ops, &n);
			reset_doc(app, ld, ctx, TT_ENOMEM);
		}
	}
	deliver_pending(cur, ops, &n);
	free(ops);
	while (done) {
		writer_item *next = done->next;
		free_ctx(done->ctx);
		writer_item_free(done);
		done = next;
	}
}

/* ---- for evaluation (server/evaluate.c) ---- */

int editing_read(tt_app *app, live_session *s, int64_t doc_id, int64_t client_rev,
		 size_t *pos, size_t n_pos, const char **text, size_t *len, uint64_t *rev,
		 const char **name)
{
	static const ot_op *ops[TT_MAX_OT_HISTORY];
	live_doc *ld;
	size_t n = 0;
	int rc;

	ld = get_doc(app, s, doc_id, &rc);
	if (!ld)
		return rc;
	if (client_rev >= 0 && (uint64_t)client_rev != doc_rev(ld->d)) {
		rc = doc_ops_since(ld->d, (uint64_t)client_rev, ops, TT_MAX_OT_HISTORY, &n);
		if (rc != TT_OK)
			return rc;
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < n_pos; k++)
				pos[k] = ot_transform_index(pos[k], ops[i], 0);
	}
	*text = doc_text(ld->d, len);
	*rev = doc_rev(ld->d);
	*name = ld->name;
	return TT_OK;
}
