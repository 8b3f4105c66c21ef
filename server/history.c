/* server/history.c: see history.h. */
#include "server/history.h"

#include <stdlib.h>
#include <string.h>

#include "collab/doc.h"
#include "collab/ot_json.h"
#include "common/error.h"
#include "server/app.h"
#include "server/auth.h"
#include "engine/rational.h"

/* One stored op, decoded. */
typedef struct hop {
	int64_t rev, time_ms;
	char *author;
	ot_op op;
} hop;

typedef struct hops {
	hop *v;
	size_t n, cap;
	int64_t upto;     /* keep ops with rev <= upto */
	int bad;          /* a stored op did not decode */
} hops;

static void hops_free(hops *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].author);
		ot_op_fini(&h->v[i].op);
	}
	free(h->v);
}

static int collect(const store_op *o, void *arg)
{
	hops *h = arg;
	hop *x;

	if (o->revision > h->upto)
		return 1; /* in revision order: nothing later is wanted */
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		hop *v = realloc(h->v, cap * sizeof *v);
		if (!v)
			return TT_ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	x = &h->v[h->n];
	ot_op_init(&x->op);
	if (ot_json_decode_text(o->op, o->op_len, &x->op, NULL, 0) != TT_OK) {
		ot_op_fini(&x->op);
		h->bad = 1;
		return 1;
	}
	x->rev = o->revision;
	x->time_ms = o->time_ms;
	x->author = strdup(o->author);
	h->n++;
	return 0;
}

/* The ops of doc with after < rev <= upto, under the store lock. */
static int load_ops(tt_app *app, int64_t doc_id, int64_t after, int64_t upto, hops *h)
{
	int rc;

	memset(h, 0, sizeof *h);
	h->upto = upto;
	pthread_mutex_lock(&app->store_lock);
	rc = store_ops_since(app->st, doc_id, after, collect, h);
	pthread_mutex_unlock(&app->store_lock);
	if (rc == 1)
		rc = TT_OK;
	return h->bad ? TT_EFORMAT : rc;
}

static const char *arg(const http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* The document named by the route, checked for access; 0 after answering. */
static int open_doc(tt_app *app, const http_request *req, store_doc *d, enum MHD_Result *reply)
{
	char *end;
	long long id = strtoll(req->param, &end, 10);
	int rc = TT_ENOTFOUND;

	if (!*end && id > 0) {
		pthread_mutex_lock(&app->store_lock);
		rc = store_doc_get(app->st, id, d);
		pthread_mutex_unlock(&app->store_lock);
	}
	if (rc != TT_OK) {
		*reply = http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found", "no document %s",
					  req->param);
		return 0;
	}
	if (!auth_may_read(app, req->conn, d->session_id, NULL)) {
		*reply = http_reply_error(req->conn, MHD_HTTP_FORBIDDEN, "forbidden",
					  "this session is not public: send a token (Bearer)");
		return 0;
	}
	return 1;
}

/* A revision argument within 0..head; -1 when absent, -2 when bad. */
static int64_t rev_arg(const http_request *req, const char *name, int64_t head)
{
	const char *v = arg(req, name);
	char *end;
	long long r;

	if (!v)
		return -1;
	r = strtoll(v, &end, 10);
	return (*end || end == v || r < 0 || r > head) ? -2 : r;
}

/* The revision current at time t (ms): the last op at or before it. */
static int64_t rev_at_time(tt_app *app, const store_doc *d, int64_t t)
{
	hops h;
	int64_t rev = 0;

	if (load_ops(app, d->id, 0, d->revision, &h) != TT_OK)
		return -2;
	for (size_t i = 0; i < h.n && h.v[i].time_ms <= t; i++)
		rev = h.v[i].rev;
	hops_free(&h);
	return rev;
}

/* The text of d at revision rev: the latest snapshot at or before it, then
 * the ops after it. *out is a doc the caller frees. */
static int text_at(tt_app *app, const store_doc *d, int64_t rev, doc **out)
{
	int64_t srev = 0;
	char *text = NULL;
	size_t len = 0;
	hops h;
	uint64_t r;
	int rc;

	pthread_mutex_lock(&app->store_lock);
	rc = store_snapshot_load(app->st, d->id, rev, &srev, &text, &len);
	pthread_mutex_unlock(&app->store_lock);
	if (rc == TT_ENOTFOUND) {
		rc = TT_OK;
		srev = 0;
	}
	if (rc == TT_OK)
		rc = doc_new(text ? text : "", len, (uint64_t)srev, out, NULL, 0);
	free(text);
	if (rc != TT_OK)
		return rc;
	if ((rc = load_ops(app, d->id, srev, rev, &h)) == TT_OK)
		for (size_t i = 0; i < h.n && rc == TT_OK; i++)
			rc = doc_receive(*out, doc_rev(*out), &h.v[i].op, NULL, &r, NULL, 0);
	hops_free(&h);
	if (rc != TT_OK) {
		doc_free(*out);
		*out = NULL;
	}
	return rc;
}

enum MHD_Result history_text(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	store_doc d;
	int64_t rev;
	doc *dd;
	size_t len;
	const char *t;

	if (!open_doc(app, req, &d, &reply))
		return reply;
	rev = rev_arg(req, "rev", d.revision);
	if (rev == -1 && (t = arg(req, "time")))
		rev = rev_at_time(app, &d, strtoll(t, NULL, 10));
	if (rev == -1)
		rev = d.revision;
	if (rev < 0)
		return http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "bad_request",
					"\"rev\" must be a revision in 0..%lld", (long long)d.revision);
	if (text_at(app, &d, rev, &dd) != TT_OK)
		return http_reply_error(req->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
					"the document's history could not be replayed");
	t = doc_text(dd, &len);
	reply = http_reply_json(req->conn, MHD_HTTP_OK,
				json_pack("{s:I,s:s,s:I,s:s%}", "doc", (json_int_t)d.id, "name", d.name,
					  "rev", (json_int_t)rev, "text", t, len));
	doc_free(dd);
	return reply;
}

enum MHD_Result history_diff(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	store_doc d;
	int64_t from, to;
	ot_op acc, tmp;
	json_t *jop = NULL, *authors;
	doc *base;
	hops h;
	int rc = TT_OK;

	if (!open_doc(app, req, &d, &reply))
		return reply;
	from = rev_arg(req, "from", d.revision);
	to = rev_arg(req, "to", d.revision);
	if (to == -1)
		to = d.revision;
	if (from < 0 || to < 0 || from > to)
		return http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "bad_request",
					"diff needs from <= to, revisions in 0..%lld",
					(long long)d.revision);
	if (text_at(app, &d, from, &base) != TT_OK || load_ops(app, d.id, from, to, &h) != TT_OK)
		return http_reply_error(req->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
					"the document's history could not be replayed");
	/* Start from the identity on the text at from, then compose each op. */
	ot_op_init(&acc);
	ot_op_init(&tmp);
	if (doc_units(base))
		rc = ot_op_retain(&acc, doc_units(base));
	authors = json_array();
	for (size_t i = 0; i < h.n && rc == TT_OK; i++) {
		rc = ot_compose(&acc, &h.v[i].op, &tmp, NULL, 0);
		ot_op swap = acc;
		acc = tmp;
		tmp = swap;
		int seen = 0;
		for (size_t k = 0; k < json_array_size(authors); k++)
			seen |= strcmp(json_string_value(json_array_get(authors, k)), h.v[i].author) == 0;
		if (!seen)
			json_array_append_new(authors, json_string(h.v[i].author));
	}
	if (rc == TT_OK)
		rc = ot_json_encode(&acc, &jop);
	ot_op_fini(&acc);
	ot_op_fini(&tmp);
	hops_free(&h);
	doc_free(base);
	if (rc != TT_OK) {
		json_decref(authors);
		return http_reply_error(req->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
					"the changes could not be composed: %s", tt_strerror(rc));
	}
	return http_reply_json(req->conn, MHD_HTTP_OK,
			       json_pack("{s:I,s:I,s:I,s:o,s:o}", "doc", (json_int_t)d.id, "from",
					 (json_int_t)from, "to", (json_int_t)to, "op", jop, "authors",
					 authors));
}

/* Moves the per-unit attribution through op i: inserted units are op i's,
 * retained ones keep theirs, and the unit after a deletion is marked op
 * i's too (its line changed). */
static int attribute(const ot_op *op, int32_t i, int32_t **who, size_t *n)
{
	int32_t *next = malloc((op->target_len ? op->target_len : 1) * sizeof *next);
	size_t from = 0, to = 0;
	int pending = 0;

	if (!next)
		return TT_ENOMEM;
	for (size_t c = 0; c < op->ncomps; c++) {
		const ot_comp *k = &op->comps[c];
		for (size_t u = 0; k->kind != OT_DELETE && u < k->n; u++) {
			int32_t w = k->kind == OT_INSERT ? i : (*who)[from++];
			next[to++] = pending ? i : w;
			pending = 0;
		}
		if (k->kind == OT_DELETE) {
			from += k->n;
			pending = 1;
		}
	}
	if (pending && to > 0)
		next[to - 1] = i;
	free(*who);
	*who = next;
	*n = to;
	return TT_OK;
}

enum MHD_Result history_blame(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	store_doc d;
	int64_t rev;
	int32_t *who = NULL;
	size_t n = 0, len, unit = 0;
	json_t *lines;
	doc *dd = NULL;
	hops h;
	int rc = TT_OK;

	if (!open_doc(app, req, &d, &reply))
		return reply;
	rev = rev_arg(req, "rev", d.revision);
	if (rev == -1)
		rev = d.revision;
	if (rev < 0)
		return http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "bad_request",
					"\"rev\" must be a revision in 0..%lld", (long long)d.revision);
	/* One pass over the ops from the start gives both the attribution
	 * and the text (no second read through a snapshot). */
	rc = load_ops(app, d.id, 0, rev, &h);
	if (rc == TT_OK)
		rc = doc_new("", 0, 0, &dd, NULL, 0);
	for (size_t i = 0; i < h.n && rc == TT_OK; i++) {
		uint64_t r;
		rc = attribute(&h.v[i].op, (int32_t)i, &who, &n);
		if (rc == TT_OK)
			rc = doc_receive(dd, doc_rev(dd), &h.v[i].op, NULL, &r, NULL, 0);
	}
	if (rc != TT_OK) {
		doc_free(dd);
		free(who);
		hops_free(&h);
		return http_reply_error(req->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
					"the document's history could not be replayed");
	}
	const char *t = doc_text(dd, &len);
	lines = json_array();
	for (size_t b = 0, start = 0; rc == TT_OK && b <= len; ) {
		/* One line: its units [start, unit), newline included. */
		int at_end = b == len;
		size_t cl = at_end ? 0 : ((unsigned char)t[b] < 0x80 ? 1 : (unsigned char)t[b] < 0xE0 ? 2 :
					  (unsigned char)t[b] < 0xF0 ? 3 : 4);
		if (!at_end) {
			unit += cl == 4 ? 2 : 1;
			b += cl;
		}
		if (at_end || t[b - 1] == '\n') {
			int32_t last = -1;
			for (size_t u = start; u < unit && u < n; u++)
				if (who[u] > last)
					last = who[u];
			if (!(at_end && start == unit && json_array_size(lines) > 0))
				json_array_append_new(lines, last < 0 ? json_pack("{s:n,s:n,s:n}", "author",
										 "rev", "time") :
						      json_pack("{s:s,s:I,s:I}", "author", h.v[last].author,
								"rev", (json_int_t)h.v[last].rev, "time",
								(json_int_t)h.v[last].time_ms));
			start = unit;
			if (at_end)
				break;
		}
	}
	free(who);
	hops_free(&h);
	doc_free(dd);
	return http_reply_json(req->conn, MHD_HTTP_OK,
			       json_pack("{s:I,s:I,s:o}", "doc", (json_int_t)d.id, "rev",
					 (json_int_t)rev, "lines", lines));
}

/* ---- the timeline ---- */

#define EDIT_BUCKET_MS 10000 /* edit activity is counted per 10 s */

/* An exact stored fraction as "n/d" (or "n"); "" if it cannot be written. */
static json_t *frac(int64_t n, int64_t d)
{
	char buf[48];
	tt_rat r = { n, d };
	return json_string(rat_format(r, buf, sizeof buf) < 0 ? "" : buf);
}

static int eval_item(const store_eval *e, void *arr)
{
	json_t *o = json_pack("{s:I,s:I,s:I,s:s,s:I,s:b,s:[I,I]}", "id", (json_int_t)e->id, "doc",
			      (json_int_t)e->doc_id, "rev", (json_int_t)e->revision, "author",
			      e->author, "time", (json_int_t)e->time_ms, "ok", e->ok, "range",
			      (json_int_t)e->range_from, (json_int_t)e->range_to);
	if (e->ok)
		json_object_set_new(o, "landing", json_pack("{s:I,s:o,s:o}", "frame",
							    (json_int_t)e->landing_frame, "cycle",
							    frac(e->cycle_n, e->cycle_d), "cps",
							    frac(e->cps_n, e->cps_d)));
	else
		json_object_set_new(o, "error", json_string(e->result ? e->result : ""));
	json_object_set_new(o, "run", json_integer(e->run_id)); /* 0: before runs were kept */
	return json_array_append_new(arr, o) ? TT_ENOMEM : 0;
}

static int tempo_item(const store_tempo *t, void *arr)
{
	return json_array_append_new(arr, json_pack("{s:I,s:o,s:o,s:s,s:I,s:I}", "frame",
						    (json_int_t)t->frame, "cycle",
						    frac(t->cycle_n, t->cycle_d), "cps",
						    frac(t->cps_n, t->cps_d),
						    "author", t->author, "time",
						    (json_int_t)t->time_ms, "run",
						    (json_int_t)t->run_id)) ? TT_ENOMEM : 0;
}

/* Runs put the frames above on the session's clock: frame f of run R is
 * at session frame R.start_frame + f (what the history page draws). */
static int run_item(const store_run *r, void *arr)
{
	return json_array_append_new(arr, json_pack("{s:I,s:I,s:I,s:I}", "id", (json_int_t)r->id,
						    "start_frame", (json_int_t)r->start_frame,
						    "started_ms", (json_int_t)r->started_ms,
						    "last_frame", (json_int_t)r->last_frame)) ?
	       TT_ENOMEM : 0;
}

static int control_item(const store_control *c, void *arr)
{
	return json_array_append_new(arr, json_pack("{s:s,s:s,s:b,s:s,s:I,s:I,s:I}", "kind", c->kind,
						    "track", c->track, "on", c->on, "author",
						    c->author, "time", (json_int_t)c->time_ms, "run",
						    (json_int_t)c->run_id, "frame",
						    (json_int_t)c->applied_frame)) ? TT_ENOMEM : 0;
}

static int chat_item(const store_chat *c, void *arr)
{
	return json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:I}", "name", c->author, "text",
						    c->text, "time", (json_int_t)c->time_ms,
						    "frame", (json_int_t)c->frame)) ? TT_ENOMEM : 0;
}

typedef struct edits_ctx {
	json_t *arr;     /* buckets: {author, doc, from, ops} */
	int64_t doc;
	json_t *last;    /* the bucket being counted */
} edits_ctx;

static int edit_item(const store_op *o, void *arg)
{
	edits_ctx *c = arg;
	int64_t from = o->time_ms - o->time_ms % EDIT_BUCKET_MS;

	if (c->last && json_integer_value(json_object_get(c->last, "from")) == from &&
	    strcmp(json_string_value(json_object_get(c->last, "author")), o->author) == 0) {
		json_object_set_new(c->last, "ops",
				    json_integer(json_integer_value(json_object_get(c->last, "ops")) + 1));
		return 0;
	}
	c->last = json_pack("{s:s,s:I,s:I,s:i}", "author", o->author, "doc", (json_int_t)c->doc,
			    "from", (json_int_t)from, "ops", 1);
	return json_array_append_new(c->arr, c->last) ? TT_ENOMEM : 0;
}

static int doc_collect(const store_doc *d, void *arr)
{
	return json_array_append_new(arr, json_pack("{s:I,s:s}", "id", (json_int_t)d->id, "name",
						    d->name)) ? TT_ENOMEM : 0;
}

static int doc_edits(const store_doc *d, void *arg)
{
	edits_ctx *c = arg;
	c->doc = d->id;
	c->last = NULL;
	return 0;
}

enum MHD_Result history_timeline(tt_app *app, const http_request *req)
{
	json_t *evals = json_array(), *tempo = json_array(), *chat = json_array();
	json_t *runs = json_array(), *controls = json_array(), *documents = json_array(), *body;
	edits_ctx ec = { json_array(), 0, NULL };
	int64_t docs[256];
	size_t n_docs = 0;
	store_session s;
	int rc;

	if (!auth_may_read(app, req->conn, req->param, NULL)) {
		json_decref(evals), json_decref(tempo), json_decref(chat), json_decref(ec.arr);
		json_decref(runs), json_decref(controls), json_decref(documents);
		return http_reply_error(req->conn, MHD_HTTP_FORBIDDEN, "forbidden",
					"this session is not public: send a token (Bearer)");
	}
	pthread_mutex_lock(&app->store_lock);
	rc = store_session_get(app->st, req->param, &s);
	if (rc == TT_OK)
		rc = store_eval_list(app->st, s.id, 0, 0, eval_item, evals);
	if (rc == TT_OK)
		rc = store_tempo_list(app->st, s.id, tempo_item, tempo);
	if (rc == TT_OK)
		rc = store_chat_recent(app->st, s.id, -1, chat_item, chat);
	if (rc == TT_OK)
		rc = store_run_list(app->st, s.id, run_item, runs);
	if (rc == TT_OK)
		rc = store_control_list(app->st, s.id, control_item, controls);
	if (rc == TT_OK) {
		/* Edit activity per document, per author, per 10 s. */
		rc = store_doc_list(app->st, s.id, doc_collect, documents);
		for (size_t i = 0; rc == TT_OK && i < json_array_size(documents) && n_docs < 256; i++)
			docs[n_docs++] = json_integer_value(
				json_object_get(json_array_get(documents, i), "id"));
		for (size_t i = 0; rc == TT_OK && i < n_docs; i++) {
			store_doc d = { .id = docs[i] };
			doc_edits(&d, &ec);
			rc = store_ops_since(app->st, docs[i], 0, edit_item, &ec);
		}
	}
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK) {
		json_decref(evals), json_decref(tempo), json_decref(chat), json_decref(ec.arr);
		json_decref(runs), json_decref(controls), json_decref(documents);
		if (rc == TT_ENOTFOUND)
			return http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found",
						"no session with id '%s'", req->param);
		return http_reply_error(req->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
					"the timeline could not be read: %s", tt_strerror(rc));
	}
	body = json_pack("{s:s,s:o,s:o,s:o,s:o}", "session", s.id, "evaluations", evals, "tempo",
			 tempo, "chat", chat, "edits", ec.arr);
	json_object_set_new(body, "runs", runs);
	json_object_set_new(body, "controls", controls);
	json_object_set_new(body, "documents", documents); /* the live ones: {id, name} */
	return http_reply_json(req->conn, MHD_HTTP_OK, body);
}
