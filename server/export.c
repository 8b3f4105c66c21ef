/*
 * server/export.c: see export.h.
 *
 * Import runs in two passes over the parsed file:
 *
 *   parse (jansson) ──► check: every row, every reference, every op ──► 400
 *        │                                        (nothing written yet)
 *        ▼
 *   write: store_x_import_begin ─► rows, ids remapped ─► end (commit) ─► owner token ─► 201
 *                  (one transaction; any failure rolls all of it back)
 *
 * Invariants:
 *  1. Nothing is written before the whole file has been checked.
 *  2. Ids of every table come in increasing order in the file, and rows are
 *     written in that order, so new ids keep the old ones' order; a
 *     restore_upto bound therefore maps to the new id of the last
 *     evaluation at or below it.
 */
#include "server/export.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/ot.h"
#include "collab/ot_json.h"
#include "common/error.h"
#include "common/limits.h"
#include "server/app.h"
#include "server/auth.h"
#include "server/log.h"
#include "storage/store_export.h"

#define FORMAT_NAME "tutti-session"
#define FORMAT_VERSION 1

/* ---- export ---- */

static json_t *value_json(const store_xcol *c, const store_xval *v)
{
	switch (v->type) {
	case STORE_XNULL:
		return json_null();
	case STORE_XREAL:
		return json_real(v->r);
	case STORE_XINT:
		return c->kind == STORE_XC_BOOL ? json_boolean(v->i != 0) :
		       c->kind == STORE_XC_REAL ? json_real((double)v->i) : json_integer(v->i);
	default:
		break;
	}
	/* An op is stored as JSON text: exported as the JSON it is. */
	if (strcmp(c->name, "op") == 0) {
		json_t *j = json_loadb(v->s, v->len, 0, NULL);
		if (j)
			return j;
	}
	return json_stringn(v->s, v->len);
}

typedef struct xout {
	store_xtable t;
	json_t *arr;
} xout;

static int row_out(const store_xval *row, void *ctx)
{
	xout *o = ctx;
	size_t n;
	const store_xcol *cols = store_x_columns(o->t, &n);
	json_t *obj = json_object();

	for (size_t i = 0; i < n; i++)
		json_object_set_new(obj, cols[i].name, value_json(&cols[i], &row[i]));
	return json_array_append_new(o->arr, obj) ? TT_ENOMEM : 0;
}

/* The whole session as the export's JSON, read in one read transaction. */
static int export_build(store *st, const store_session *s, json_t **out)
{
	json_t *root = json_pack("{s:s,s:i,s:{s:s,s:I,s:b}}", "format", FORMAT_NAME, "version",
				 FORMAT_VERSION, "session", "name", s->name, "created_at",
				 (json_int_t)s->created_at, "listen_public", s->listen_public);
	xout o = { STORE_XT_DOCUMENTS, json_array() };
	int rc = store_x_read_begin(st);

	if (rc == TT_OK)
		rc = store_x_read(st, STORE_XT_DOCUMENTS, s->id, 0, row_out, &o);
	json_object_set_new(root, "documents", o.arr);
	for (size_t i = 0; rc == TT_OK && i < json_array_size(o.arr); i++) {
		json_t *d = json_array_get(o.arr, i);
		int64_t id = json_integer_value(json_object_get(d, "id"));
		xout snaps = { STORE_XT_SNAPSHOTS, json_array() }, ops = { STORE_XT_OPS, json_array() };
		json_object_set_new(d, "snapshots", snaps.arr);
		json_object_set_new(d, "ops", ops.arr);
		rc = store_x_read(st, STORE_XT_SNAPSHOTS, s->id, id, row_out, &snaps);
		if (rc == TT_OK)
			rc = store_x_read(st, STORE_XT_OPS, s->id, id, row_out, &ops);
	}
	for (int t = STORE_XT_RUNS; rc == TT_OK && t < STORE_XT_COUNT_; t++) {
		xout x = { (store_xtable)t, json_array() };
		json_object_set_new(root, store_x_table_name(x.t), x.arr);
		rc = store_x_read(st, x.t, s->id, 0, row_out, &x);
	}
	store_x_read_end(st);
	if (rc != TT_OK) {
		json_decref(root);
		return rc;
	}
	*out = root;
	return TT_OK;
}

enum MHD_Result export_session(tt_app *app, const http_request *req)
{
	const char *why = "";
	store_config cfg = app->store_cfg;
	store_session s;
	store *st = NULL;
	json_t *root = NULL;
	char disp[64];
	int rc;

	if (!auth_may_read(app, req->conn, req->param, &why))
		return http_reply_error(req->conn, MHD_HTTP_FORBIDDEN, "forbidden", "%s", why);
	cfg.read_only = true;
	rc = store_open(app->cfg.db_path, &cfg, &st);
	if (rc == TT_OK)
		rc = store_session_get(st, req->param, &s);
	if (rc == TT_OK)
		rc = export_build(st, &s, &root);
	if (rc == TT_ENOTFOUND) {
		store_close(st);
		return http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found",
					"no session with id '%s'", req->param);
	}
	if (rc != TT_OK) {
		log_error("export", "session %s: %s", req->param, store_errmsg(st));
		store_close(st);
		return http_reply_error(req->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "database",
					"the session could not be read: %s", tt_strerror(rc));
	}
	store_close(st);
	snprintf(disp, sizeof disp, "attachment; filename=\"tutti-%s.json\"", s.id);
	return http_reply_json_hdr(req->conn, MHD_HTTP_OK, root, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
				   disp);
}

/* ---- import: checking ---- */

/* Old ids of one table, in the file's (increasing) order, and their new
 * ones once written. */
typedef struct idmap {
	int64_t *old, *new_;
	size_t n;
} idmap;

/* The index of old id v, or -1. */
static long idmap_find(const idmap *m, int64_t v)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->old[mid] == v)
			return (long)mid;
		if (m->old[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

typedef struct ictx {
	char err[512];
	idmap docs, runs, evals;
	int64_t *doc_heads;     /* per document (file order): its last revision */
	char **texts;           /* op texts written on the second pass, to free */
} ictx;

__attribute__((format(printf, 2, 3)))
static int fail(ictx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	return TT_EINVAL;
}

static int get_int(json_t *v, int64_t *out)
{
	if (!json_is_integer(v))
		return 0;
	*out = json_integer_value(v);
	return 1;
}

/*
 * Reads one row of table t from obj (at path p) into row, checking each
 * field's type, that no field is unknown, and the references (documents,
 * runs) against the maps built so far. Text values borrow obj's strings;
 * an op (JSON array) is checked by ot_json_decode and given as "" here
 * (the writer dumps it). A document's nested "snapshots" and "ops" are
 * left to check_doc_history.
 */
static int read_row(ictx *c, store_xtable t, json_t *obj, const char *p, store_xval *row)
{
	size_t n;
	const store_xcol *cols = store_x_columns(t, &n);
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return fail(c, "%s: must be an object", p);
	json_object_foreach(obj, key, v) {
		int known = t == STORE_XT_DOCUMENTS &&
			    (strcmp(key, "snapshots") == 0 || strcmp(key, "ops") == 0);
		for (size_t i = 0; i < n && !known; i++)
			known = strcmp(cols[i].name, key) == 0;
		if (!known)
			return fail(c, "%s.%s: unknown field", p, key);
	}
	for (size_t i = 0; i < n; i++) {
		const store_xcol *k = &cols[i];
		store_xval *x = &row[i];
		v = json_object_get(obj, k->name);
		memset(x, 0, sizeof *x);
		x->type = STORE_XINT;
		int nullable = k->kind == STORE_XC_INT_NULL || k->kind == STORE_XC_TEXT_NULL ||
			       k->kind == STORE_XC_RUN_NULL;
		if (!v && !nullable)
			return fail(c, "%s.%s: missing", p, k->name);
		if (!v || json_is_null(v)) {
			if (!nullable)
				return fail(c, "%s.%s: must not be null", p, k->name);
			x->type = STORE_XNULL;
			continue;
		}
		switch (k->kind) {
		case STORE_XC_BOOL:
			if (!json_is_boolean(v))
				return fail(c, "%s.%s: must be true or false", p, k->name);
			x->i = json_is_true(v);
			break;
		case STORE_XC_REAL:
			if (!json_is_number(v) || !isfinite(json_number_value(v)))
				return fail(c, "%s.%s: must be a number", p, k->name);
			x->type = STORE_XREAL;
			x->r = json_number_value(v);
			break;
		case STORE_XC_TEXT:
		case STORE_XC_TEXT_NULL:
			if (t == STORE_XT_OPS && strcmp(k->name, "op") == 0) {
				ot_op op;
				char why[256];
				ot_op_init(&op);
				int rc = ot_json_decode(v, &op, why, sizeof why);
				ot_op_fini(&op);
				if (rc != TT_OK)
					return fail(c, "%s.op: not an operation: %s", p, why);
				x->type = STORE_XTEXT;
				x->s = "";
				break;
			}
			if (!json_is_string(v))
				return fail(c, "%s.%s: must be a string", p, k->name);
			x->type = STORE_XTEXT;
			x->s = json_string_value(v);
			x->len = json_string_length(v);
			break;
		case STORE_XC_DOC:
			if (!get_int(v, &x->i) || idmap_find(&c->docs, x->i) < 0)
				return fail(c, "%s.%s: no such document", p, k->name);
			break;
		case STORE_XC_RUN:
		case STORE_XC_RUN_NULL:
			if (!get_int(v, &x->i) || idmap_find(&c->runs, x->i) < 0)
				return fail(c, "%s.%s: no such run", p, k->name);
			break;
		case STORE_XC_ID:
			if (!get_int(v, &x->i) || x->i <= 0)
				return fail(c, "%s.%s: must be an integer > 0", p, k->name);
			break;
		default: /* INT, INT_NULL, EVAL_UPTO */
			if (!get_int(v, &x->i))
				return fail(c, "%s.%s: must be an integer", p, k->name);
			break;
		}
	}
	return TT_OK;
}

/* The value of column name in row (of table t). */
static const store_xval *col(store_xtable t, const store_xval *row, const char *name)
{
	size_t n;
	const store_xcol *cols = store_x_columns(t, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(cols[i].name, name) == 0)
			return &row[i];
	abort(); /* a name below that the table does not have: a bug here */
}

#define COL(t, row, name) col(STORE_XT_##t, row, name)

/* A text field of at most max bytes, non-empty when min is 1. */
static int check_text(ictx *c, const store_xval *v, const char *p, const char *name, size_t min,
		      size_t max, const char *limit)
{
	if (v->type != STORE_XTEXT)
		return TT_OK;
	if (v->len < min)
		return fail(c, "%s.%s: must not be empty", p, name);
	if (v->len > max)
		return fail(c, "%s.%s: longer than %zu bytes (%s)", p, name, max, limit);
	if (memchr(v->s, '\0', v->len))
		return fail(c, "%s.%s: holds a NUL character", p, name);
	return TT_OK;
}

/* The array field name of obj, at path p. */
static json_t *array_of(ictx *c, json_t *obj, const char *name, const char *p)
{
	json_t *a = json_object_get(obj, name);
	if (!json_is_array(a)) {
		if (p[0])
			fail(c, "%s.%s: must be an array", p, name);
		else
			fail(c, "%s: must be an array", name);
		return NULL;
	}
	return a;
}

/* Builds map m from the "id" field of every element of arr (already read
 * as rows of t), requiring them increasing. */
static int collect_ids(ictx *c, json_t *arr, const char *what, idmap *m)
{
	size_t n = json_array_size(arr);
	m->old = calloc(n ? n : 1, sizeof *m->old);
	m->new_ = calloc(n ? n : 1, sizeof *m->new_);
	if (!m->old || !m->new_)
		return fail(c, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_t *id = json_object_get(json_array_get(arr, i), "id");
		if (!json_is_integer(id) || json_integer_value(id) <= 0)
			return fail(c, "%s[%zu].id: must be an integer > 0", what, i);
		m->old[i] = json_integer_value(id);
		if (i && m->old[i] <= m->old[i - 1])
			return fail(c, "%s[%zu].id: ids must increase (%lld after %lld)", what, i,
				    (long long)m->old[i], (long long)m->old[i - 1]);
	}
	m->n = n;
	return TT_OK;
}

/* One document's ops and snapshots: revisions 1..n, each op fitting the
 * text before it, each snapshot the text at its revision. */
static int check_doc_history(ictx *c, json_t *d, const char *p, int64_t *head)
{
	json_t *ops = array_of(c, d, "ops", p), *snaps = array_of(c, d, "snapshots", p);
	store_xval row[STORE_X_MAX_COLS];
	char q[128], why[256];
	size_t next_snap = 0;
	int64_t last_snap = -1;
	ot_text text;
	int rc = TT_OK;

	if (!ops || !snaps)
		return TT_EINVAL;
	if ((rc = ot_text_init(&text, "", 0, why, sizeof why)) != TT_OK)
		return fail(c, "%s: %s", p, why);
	for (size_t i = 0; rc == TT_OK && i <= json_array_size(ops); i++) {
		int64_t rev = (int64_t)i;
		if (i > 0) {
			json_t *o = json_array_get(ops, i - 1);
			ot_op op;
			snprintf(q, sizeof q, "%s.ops[%zu]", p, i - 1);
			if ((rc = read_row(c, STORE_XT_OPS, o, q, row)) != TT_OK)
				break;
			if (COL(OPS, row, "revision")->i != rev) {
				rc = fail(c, "%s.revision: must be %lld (revisions count 1, 2, 3...)", q,
					  (long long)rev);
				break;
			}
			if ((rc = check_text(c, COL(OPS, row, "author"), q, "author", 0,
					     TT_MAX_DISPLAY_NAME, "TT_MAX_DISPLAY_NAME")) != TT_OK ||
			    (rc = check_text(c, COL(OPS, row, "client_id"), q, "client_id", 1,
					     TT_MAX_CLIENT_ID, "TT_MAX_CLIENT_ID")) != TT_OK)
				break;
			ot_op_init(&op);
			rc = ot_json_decode(json_object_get(o, "op"), &op, why, sizeof why);
			if (rc == TT_OK)
				rc = ot_text_apply(&text, &op, why, sizeof why);
			ot_op_fini(&op);
			if (rc != TT_OK) {
				rc = fail(c, "%s.op: does not apply to revision %lld: %s", q,
					  (long long)(rev - 1), why);
				break;
			}
		}
		/* Every snapshot at this revision must be this text. */
		while (rc == TT_OK && next_snap < json_array_size(snaps)) {
			snprintf(q, sizeof q, "%s.snapshots[%zu]", p, next_snap);
			if ((rc = read_row(c, STORE_XT_SNAPSHOTS, json_array_get(snaps, next_snap), q,
					   row)) != TT_OK)
				break;
			int64_t srev = COL(SNAPSHOTS, row, "revision")->i;
			const store_xval *st = COL(SNAPSHOTS, row, "text");
			if (srev <= last_snap) {
				rc = fail(c, "%s.revision: snapshots must be in increasing revisions", q);
				break;
			}
			if (srev > (int64_t)json_array_size(ops)) {
				rc = fail(c, "%s.revision: %lld is past the document's last op (%zu)", q,
					  (long long)srev, json_array_size(ops));
				break;
			}
			if (srev != rev)
				break;
			if (st->len != text.len || memcmp(st->s, text.s, text.len) != 0)
				rc = fail(c, "%s.text: is not the document's text at revision %lld", q,
					  (long long)srev);
			last_snap = srev;
			next_snap++;
		}
	}
	ot_text_fini(&text);
	*head = (int64_t)json_array_size(ops);
	return rc;
}

static int check_documents(ictx *c, json_t *docs)
{
	store_xval row[STORE_X_MAX_COLS];
	char p[64];
	int rc;

	if ((rc = collect_ids(c, docs, "documents", &c->docs)) != TT_OK)
		return rc;
	if (!(c->doc_heads = calloc(c->docs.n ? c->docs.n : 1, sizeof *c->doc_heads)))
		return fail(c, "out of memory");
	for (size_t i = 0; i < c->docs.n; i++) {
		json_t *d = json_array_get(docs, i);
		snprintf(p, sizeof p, "documents[%zu]", i);
		if ((rc = read_row(c, STORE_XT_DOCUMENTS, d, p, row)) != TT_OK)
			return rc;
		const store_xval *name = COL(DOCUMENTS, row, "name");
		if ((rc = check_text(c, name, p, "name", 1, TT_MAX_DOC_NAME, "TT_MAX_DOC_NAME")) != TT_OK)
			return rc;
		/* Live documents' names are unique in a session. */
		for (size_t k = 0; k < i && COL(DOCUMENTS, row, "deleted_at")->type == STORE_XNULL; k++) {
			json_t *o = json_array_get(docs, k);
			json_t *del = json_object_get(o, "deleted_at");
			if ((!del || json_is_null(del)) &&
			    strcmp(json_string_value(json_object_get(o, "name")), name->s) == 0)
				return fail(c, "%s.name: '%s' is also documents[%zu]'s (live names are "
					    "unique)", p, name->s, k);
		}
		if ((rc = check_doc_history(c, d, p, &c->doc_heads[i])) != TT_OK)
			return rc;
	}
	return TT_OK;
}

/* The checks of one row beyond its types. */
static int check_row(ictx *c, store_xtable t, const store_xval *row, const char *p)
{
	int rc = TT_OK;

	switch (t) {
	case STORE_XT_RUNS:
		if (COL(RUNS, row, "cps")->r <= 0)
			return fail(c, "%s.cps: must be > 0", p);
		if (COL(RUNS, row, "start_frame")->i < 0)
			return fail(c, "%s.start_frame: must be >= 0", p);
		if (COL(RUNS, row, "restore_cycle_d")->type != STORE_XNULL &&
		    COL(RUNS, row, "restore_cycle_d")->i <= 0)
			return fail(c, "%s.restore_cycle_d: must be > 0", p);
		if (COL(RUNS, row, "restore_upto")->i < 0)
			return fail(c, "%s.restore_upto: must be >= 0", p);
		break;
	case STORE_XT_EVALUATIONS: {
		long d = idmap_find(&c->docs, COL(EVALUATIONS, row, "doc_id")->i);
		int64_t rev = COL(EVALUATIONS, row, "revision")->i;
		if (rev < 0 || rev > c->doc_heads[d])
			return fail(c, "%s.revision: %lld is not a revision of document %lld (0..%lld)",
				    p, (long long)rev, (long long)c->docs.old[d],
				    (long long)c->doc_heads[d]);
		if (COL(EVALUATIONS, row, "cycle_d")->i <= 0 || COL(EVALUATIONS, row, "cps_d")->i <= 0)
			return fail(c, "%s: cycle_d and cps_d must be > 0", p);
		if (COL(EVALUATIONS, row, "range_from")->i < 0 ||
		    COL(EVALUATIONS, row, "range_to")->i < COL(EVALUATIONS, row, "range_from")->i)
			return fail(c, "%s: the range must have 0 <= range_from <= range_to", p);
		rc = check_text(c, COL(EVALUATIONS, row, "code"), p, "code", 0, TT_MAX_CODE_BYTES,
				"TT_MAX_CODE_BYTES");
		if (rc == TT_OK)
			rc = check_text(c, COL(EVALUATIONS, row, "author"), p, "author", 0,
					TT_MAX_DISPLAY_NAME, "TT_MAX_DISPLAY_NAME");
		break;
	}
	case STORE_XT_TEMPO:
		if (COL(TEMPO, row, "frame")->i < 0)
			return fail(c, "%s.frame: must be >= 0", p);
		if (COL(TEMPO, row, "cycle_d")->i <= 0 || COL(TEMPO, row, "cps_n")->i <= 0 ||
		    COL(TEMPO, row, "cps_d")->i <= 0)
			return fail(c, "%s: cycle_d, cps_n and cps_d must be > 0", p);
		rc = check_text(c, COL(TEMPO, row, "author"), p, "author", 0, TT_MAX_DISPLAY_NAME,
				"TT_MAX_DISPLAY_NAME");
		break;
	case STORE_XT_CONTROLS: {
		const store_xval *k = COL(CONTROLS, row, "kind");
		if (strcmp(k->s, "hush") != 0 && strcmp(k->s, "mute") != 0 && strcmp(k->s, "solo") != 0)
			return fail(c, "%s.kind: must be \"hush\", \"mute\" or \"solo\"", p);
		if (COL(CONTROLS, row, "applied_frame")->i < 0)
			return fail(c, "%s.applied_frame: must be >= 0", p);
		rc = check_text(c, COL(CONTROLS, row, "track"), p, "track", 0, TT_MAX_DOC_NAME,
				"TT_MAX_DOC_NAME");
		if (rc == TT_OK)
			rc = check_text(c, COL(CONTROLS, row, "author"), p, "author", 0,
					TT_MAX_DISPLAY_NAME, "TT_MAX_DISPLAY_NAME");
		break;
	}
	case STORE_XT_DIRECT:
		if (COL(DIRECT, row, "frame")->i < 0)
			return fail(c, "%s.frame: must be >= 0", p);
		{
			/* The event's fields as JSON text (server/osc.c), an object. */
			const store_xval *pv = COL(DIRECT, row, "params");
			json_t *o = json_loadb(pv->s, pv->len, 0, NULL);
			int obj = json_is_object(o);
			json_decref(o);
			if (!obj)
				return fail(c, "%s.params: must be a JSON object in a string", p);
		}
		rc = check_text(c, COL(DIRECT, row, "source"), p, "source", 0,
					TT_MAX_DISPLAY_NAME, "TT_MAX_DISPLAY_NAME");
		break;
	case STORE_XT_CHAT:
		rc = check_text(c, COL(CHAT, row, "text"), p, "text", 1, TT_MAX_CHAT_BYTES,
				"TT_MAX_CHAT_BYTES");
		if (rc == TT_OK)
			rc = check_text(c, COL(CHAT, row, "author"), p, "author", 0,
					TT_MAX_DISPLAY_NAME, "TT_MAX_DISPLAY_NAME");
		break;
	default:
		break;
	}
	return rc;
}

/* Checks the whole file; TT_OK or TT_EINVAL with c->err. */
static int import_check(ictx *c, json_t *root, store_session *s)
{
	json_t *fmt = json_object_get(root, "format"), *ver = json_object_get(root, "version");
	json_t *sess = json_object_get(root, "session"), *v;
	static const char *const top[] = { "format", "version", "session", "documents", "runs",
					   "evaluations", "tempo", "controls", "chat",
					   "direct_events" };
	store_xval row[STORE_X_MAX_COLS];
	const char *key;
	char p[64];
	int rc;

	if (!json_is_string(fmt) || strcmp(json_string_value(fmt), FORMAT_NAME) != 0)
		return fail(c, "format: must be \"" FORMAT_NAME "\" (a file made by "
			    "GET /api/sessions/ID/export)");
	if (!json_is_integer(ver) || json_integer_value(ver) != FORMAT_VERSION)
		return fail(c, "version: this server reads version %d", FORMAT_VERSION);
	json_object_foreach(root, key, v) {
		int known = 0;
		for (size_t i = 0; i < sizeof top / sizeof top[0] && !known; i++)
			known = strcmp(top[i], key) == 0;
		if (!known)
			return fail(c, "%s: unknown field", key);
	}
	if (!json_is_object(sess))
		return fail(c, "session: must be an object");
	json_t *name = json_object_get(sess, "name"), *created = json_object_get(sess, "created_at");
	json_t *pub = json_object_get(sess, "listen_public");
	if (!json_is_string(name) || json_string_length(name) == 0)
		return fail(c, "session.name: must be a non-empty string");
	if (json_string_length(name) > TT_MAX_SESSION_NAME)
		return fail(c, "session.name: longer than %d bytes (TT_MAX_SESSION_NAME)",
			    TT_MAX_SESSION_NAME);
	if (!json_is_integer(created))
		return fail(c, "session.created_at: must be an integer (ms since the epoch)");
	if (!json_is_boolean(pub))
		return fail(c, "session.listen_public: must be true or false");
	memset(s, 0, sizeof *s);
	memcpy(s->name, json_string_value(name), json_string_length(name));
	s->created_at = json_integer_value(created);
	s->listen_public = json_is_true(pub);

	json_t *docs = array_of(c, root, "documents", "");
	if (!docs)
		return TT_EINVAL;
	for (size_t i = 0; i < json_array_size(docs); i++)
		if (!json_is_object(json_array_get(docs, i)))
			return fail(c, "documents[%zu]: must be an object", i);
	if ((rc = check_documents(c, docs)) != TT_OK)
		return rc;
	for (int t = STORE_XT_RUNS; t < STORE_XT_COUNT_; t++) {
		const char *tn = store_x_table_name((store_xtable)t);
		json_t *arr = array_of(c, root, tn, "");
		if (!arr)
			return TT_EINVAL;
		for (size_t i = 0; i < json_array_size(arr); i++)
			if (!json_is_object(json_array_get(arr, i)))
				return fail(c, "%s[%zu]: must be an object", tn, i);
		idmap m = { 0 };
		if ((rc = collect_ids(c, arr, tn, &m)) != TT_OK) {
			free(m.old), free(m.new_);
			return rc;
		}
		if (t == STORE_XT_RUNS)
			c->runs = m;
		else if (t == STORE_XT_EVALUATIONS)
			c->evals = m;
		else
			free(m.old), free(m.new_);
		for (size_t i = 0; i < json_array_size(arr); i++) {
			snprintf(p, sizeof p, "%s[%zu]", tn, i);
			if ((rc = read_row(c, (store_xtable)t, json_array_get(arr, i), p, row)) !=
			    TT_OK ||
			    (rc = check_row(c, (store_xtable)t, row, p)) != TT_OK)
				return rc;
		}
	}
	return TT_OK;
}

/* ---- import: writing ---- */

/* Writes one row (already checked), its references remapped. */
static int write_row(ictx *c, store_ximport *im, store_xtable t, json_t *obj, int64_t doc_id,
		     int64_t *new_id)
{
	store_xval row[STORE_X_MAX_COLS];
	size_t n;
	const store_xcol *cols = store_x_columns(t, &n);
	char *op = NULL;
	int rc = read_row(c, t, obj, "", row); /* checked before: cannot fail */

	if (rc != TT_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		store_xval *v = &row[i];
		if (v->type == STORE_XNULL)
			continue;
		if (cols[i].kind == STORE_XC_DOC)
			v->i = c->docs.new_[idmap_find(&c->docs, v->i)];
		else if (cols[i].kind == STORE_XC_RUN || cols[i].kind == STORE_XC_RUN_NULL)
			v->i = c->runs.new_[idmap_find(&c->runs, v->i)];
		else if (cols[i].kind == STORE_XC_EVAL_UPTO)
			v->i = 0; /* set by store_x_import_restore once evaluations are in */
		else if (t == STORE_XT_OPS && strcmp(cols[i].name, "op") == 0) {
			if (!(op = json_dumps(json_object_get(obj, "op"), JSON_COMPACT)))
				return TT_ENOMEM;
			v->s = op;
			v->len = strlen(op);
		}
	}
	rc = store_x_import_row(im, t, doc_id, row, new_id);
	free(op);
	return rc;
}

/* The new id of the last evaluation whose old id is <= upto, or 0. */
static int64_t map_upto(const idmap *e, int64_t upto)
{
	int64_t r = 0;
	for (size_t i = 0; i < e->n && e->old[i] <= upto; i++)
		r = e->new_[i];
	return r;
}

static int import_write(ictx *c, store *st, json_t *root, const store_session *s,
			store_session *out, char *where, size_t wlen)
{
	json_t *docs = json_object_get(root, "documents");
	store_ximport *im;
	int rc = store_x_import_begin(st, s, out, &im);

	snprintf(where, wlen, "session");
	for (size_t i = 0; rc == TT_OK && i < c->docs.n; i++) {
		json_t *d = json_array_get(docs, i);
		json_t *snaps = json_object_get(d, "snapshots"), *ops = json_object_get(d, "ops");
		snprintf(where, wlen, "documents[%zu]", i);
		rc = write_row(c, im, STORE_XT_DOCUMENTS, d, 0, &c->docs.new_[i]);
		for (size_t k = 0; rc == TT_OK && k < json_array_size(ops); k++) {
			snprintf(where, wlen, "documents[%zu].ops[%zu]", i, k);
			rc = write_row(c, im, STORE_XT_OPS, json_array_get(ops, k), c->docs.new_[i],
				       NULL);
		}
		for (size_t k = 0; rc == TT_OK && k < json_array_size(snaps); k++) {
			snprintf(where, wlen, "documents[%zu].snapshots[%zu]", i, k);
			rc = write_row(c, im, STORE_XT_SNAPSHOTS, json_array_get(snaps, k),
				       c->docs.new_[i], NULL);
		}
	}
	for (int t = STORE_XT_RUNS; rc == TT_OK && t < STORE_XT_COUNT_; t++) {
		const char *tn = store_x_table_name((store_xtable)t);
		json_t *arr = json_object_get(root, tn);
		for (size_t i = 0; rc == TT_OK && i < json_array_size(arr); i++) {
			int64_t id;
			snprintf(where, wlen, "%s[%zu]", tn, i);
			rc = write_row(c, im, (store_xtable)t, json_array_get(arr, i), 0, &id);
			if (t == STORE_XT_RUNS)
				c->runs.new_[i] = id;
			else if (t == STORE_XT_EVALUATIONS)
				c->evals.new_[i] = id;
		}
		if (t == STORE_XT_EVALUATIONS)
			for (size_t i = 0; rc == TT_OK && i < c->runs.n; i++) {
				json_t *r = json_array_get(json_object_get(root, "runs"), i);
				snprintf(where, wlen, "runs[%zu].restore_upto", i);
				rc = store_x_import_restore(im, c->runs.new_[i],
							    map_upto(&c->evals, json_integer_value(
								     json_object_get(r, "restore_upto"))));
			}
	}
	if (rc == TT_OK)
		snprintf(where, wlen, "commit");
	return store_x_import_end(im, rc == TT_OK) == TT_OK && rc == TT_OK ? TT_OK :
	       (rc != TT_OK ? rc : TT_EDB);
}

static void ictx_free(ictx *c)
{
	free(c->docs.old), free(c->docs.new_);
	free(c->runs.old), free(c->runs.new_);
	free(c->evals.old), free(c->evals.new_);
	free(c->doc_heads);
}

enum MHD_Result export_import(tt_app *app, const http_request *req)
{
	json_error_t jerr;
	store_session s, made;
	ictx c;
	store *st = NULL;
	char where[96], token[AUTH_TOKEN_MAX], location[128];
	int64_t tid, expires;
	json_t *root, *body;
	int rc;

	memset(&c, 0, sizeof c);
	root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "bad_json",
					"the file is not valid JSON: line %d, column %d: %s",
					jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root))
		rc = fail(&c, "the file must be a JSON object");
	else
		rc = import_check(&c, root, &s);
	if (rc != TT_OK) {
		json_decref(root);
		ictx_free(&c);
		return http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "bad_import", "%s", c.err);
	}
	rc = store_open(app->cfg.db_path, &app->store_cfg, &st);
	if (rc == TT_OK)
		rc = import_write(&c, st, root, &s, &made, where, sizeof where);
	json_decref(root);
	ictx_free(&c);
	if (rc != TT_OK) {
		char msg[256];
		snprintf(msg, sizeof msg, "%s", store_errmsg(st));
		store_close(st);
		/* A constraint of the schema that the checks above do not
		 * repeat (say two ops with one client_id and client_seq) is
		 * the file's fault, said where; anything else is ours. */
		if (rc == TT_EEXIST || rc == TT_ENOTFOUND || rc == TT_EINVAL || rc == TT_ELIMIT)
			return http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "bad_import",
						"%s: the database refused it: %s", where, msg);
		log_error("export", "import failed at %s: %s", where, msg);
		return http_reply_error(req->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "database",
					"the import failed at %s, nothing was kept: %s", where, msg);
	}
	/* The owner token, as for a created session; without one the session
	 * would belong to nobody, so it goes again. */
	rc = auth_issue(app, made.id, STORE_ROLE_OWNER, "importer", 0, token, &tid, &expires);
	if (rc != TT_OK) {
		store_x_session_delete(st, made.id);
		store_close(st);
		return http_reply_error(req->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "database",
					"the owner token could not be made: %s; nothing was kept",
					tt_strerror(rc));
	}
	store_close(st);
	log_info("export", "imported session %s", made.id);
	body = json_pack("{s:s,s:s,s:I,s:s,s:s}", "id", made.id, "name", made.name, "created_at",
			 (json_int_t)made.created_at, "listen", made.listen_public ? "public" : "token",
			 "owner_token", token);
	snprintf(location, sizeof location, "/api/sessions/%s", made.id);
	return http_reply_json_hdr(req->conn, MHD_HTTP_CREATED, body, MHD_HTTP_HEADER_LOCATION,
				   location);
}
