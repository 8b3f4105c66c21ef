/*
 * storage/store_export.c: see store_export.h.
 *
 * Invariants:
 *  1. Table and column names in SQL come only from the static descriptions
 *     below, never from the caller, so no caller's text reaches SQL but as
 *     a bound value.
 *  2. An import is one transaction: store_x_import_begin opens it with
 *     store_tx_begin (the session itself is written in a savepoint of it)
 *     and only store_x_import_end closes it.
 */
#include "storage/store_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "storage/store_int.h"

typedef struct xtable {
	const char *name;     /* in an export, and in SQL */
	const char *owner;    /* the column naming the session or document */
	const char *order;    /* ORDER BY */
	const store_xcol *cols;
	size_t ncols;
} xtable;

#define COLS(a) a, sizeof a / sizeof a[0]

static const store_xcol doc_cols[] = {
	{ "id", "id", STORE_XC_ID }, { "name", "name", STORE_XC_TEXT },
	{ "created_at", "created_at", STORE_XC_INT }, { "deleted_at", "deleted_at", STORE_XC_INT_NULL },
};
static const store_xcol snap_cols[] = {
	{ "revision", "revision", STORE_XC_INT }, { "text", "text", STORE_XC_TEXT },
};
static const store_xcol op_cols[] = {
	{ "revision", "revision", STORE_XC_INT }, { "author", "author", STORE_XC_TEXT },
	{ "time_ms", "time_ms", STORE_XC_INT }, { "op", "op", STORE_XC_TEXT },
	{ "client_id", "client_id", STORE_XC_TEXT_NULL },
	{ "client_seq", "client_seq", STORE_XC_INT_NULL },
};
static const store_xcol run_cols[] = {
	{ "id", "id", STORE_XC_ID }, { "start_frame", "start_frame", STORE_XC_INT },
	{ "started_ms", "started_ms", STORE_XC_INT }, { "cps", "cps", STORE_XC_REAL },
	{ "restore_upto", "restore_upto", STORE_XC_EVAL_UPTO },
	{ "restore_applied", "restore_applied", STORE_XC_INT_NULL },
	{ "restore_frame", "restore_frame", STORE_XC_INT_NULL },
	{ "restore_cycle_n", "restore_cycle_n", STORE_XC_INT_NULL },
	{ "restore_cycle_d", "restore_cycle_d", STORE_XC_INT_NULL },
	{ "last_frame", "last_frame", STORE_XC_INT },
};
static const store_xcol eval_cols[] = {
	{ "id", "id", STORE_XC_ID }, { "doc_id", "doc_id", STORE_XC_DOC },
	{ "revision", "revision", STORE_XC_INT }, { "author", "author", STORE_XC_TEXT },
	{ "time_ms", "time_ms", STORE_XC_INT }, { "range_from", "range_from", STORE_XC_INT },
	{ "range_to", "range_to", STORE_XC_INT }, { "code", "code", STORE_XC_TEXT },
	{ "ok", "ok", STORE_XC_BOOL }, { "landing_frame", "landing_frame", STORE_XC_INT },
	{ "cycle_n", "cycle_n", STORE_XC_INT }, { "cycle_d", "cycle_d", STORE_XC_INT },
	{ "cps_n", "cps_n", STORE_XC_INT }, { "cps_d", "cps_d", STORE_XC_INT },
	{ "result", "result", STORE_XC_TEXT_NULL }, { "run_id", "run_id", STORE_XC_RUN_NULL },
	{ "applied_frame", "applied_frame", STORE_XC_INT_NULL },
	{ "built_frame", "built_frame", STORE_XC_INT_NULL },
};
static const store_xcol tempo_cols[] = {
	{ "id", "id", STORE_XC_ID }, { "frame", "frame", STORE_XC_INT },
	{ "cycle_n", "cycle_n", STORE_XC_INT }, { "cycle_d", "cycle_d", STORE_XC_INT },
	{ "cps_n", "cps_n", STORE_XC_INT }, { "cps_d", "cps_d", STORE_XC_INT },
	{ "time_ms", "time_ms", STORE_XC_INT }, { "author", "author", STORE_XC_TEXT },
	{ "run_id", "run_id", STORE_XC_RUN_NULL },
	{ "applied_frame", "applied_frame", STORE_XC_INT_NULL },
};
static const store_xcol control_cols[] = {
	{ "id", "id", STORE_XC_ID }, { "run_id", "run_id", STORE_XC_RUN },
	{ "applied_frame", "applied_frame", STORE_XC_INT }, { "kind", "kind", STORE_XC_TEXT },
	{ "track", "track", STORE_XC_TEXT }, { "on", "on_", STORE_XC_BOOL },
	{ "author", "author", STORE_XC_TEXT }, { "time_ms", "time_ms", STORE_XC_INT },
};
static const store_xcol chat_cols[] = {
	{ "id", "id", STORE_XC_ID }, { "author", "author", STORE_XC_TEXT },
	{ "time_ms", "time_ms", STORE_XC_INT }, { "frame", "frame", STORE_XC_INT },
	{ "text", "text", STORE_XC_TEXT }, { "run_id", "run_id", STORE_XC_RUN_NULL },
};

static const store_xcol direct_cols[] = {
	{ "id", "id", STORE_XC_ID }, { "run_id", "run_id", STORE_XC_RUN_NULL },
	{ "frame", "frame", STORE_XC_INT }, { "source", "source", STORE_XC_TEXT },
	{ "params", "params", STORE_XC_TEXT }, { "time_ms", "time_ms", STORE_XC_INT },
};

static const xtable tables[STORE_XT_COUNT_] = {
	[STORE_XT_DOCUMENTS] = { "documents", "session_id", "id", COLS(doc_cols) },
	[STORE_XT_SNAPSHOTS] = { "snapshots", "doc_id", "revision", COLS(snap_cols) },
	[STORE_XT_OPS] = { "ops", "doc_id", "revision", COLS(op_cols) },
	[STORE_XT_RUNS] = { "runs", "session_id", "id", COLS(run_cols) },
	[STORE_XT_EVALUATIONS] = { "evaluations", "session_id", "id", COLS(eval_cols) },
	[STORE_XT_TEMPO] = { "tempo", "session_id", "id", COLS(tempo_cols) },
	[STORE_XT_CONTROLS] = { "controls", "session_id", "id", COLS(control_cols) },
	[STORE_XT_CHAT] = { "chat", "session_id", "id", COLS(chat_cols) },
	[STORE_XT_DIRECT] = { "direct_events", "session_id", "id", COLS(direct_cols) },
};

const char *store_x_table_name(store_xtable t)
{
	return tables[t].name;
}

const store_xcol *store_x_columns(store_xtable t, size_t *n)
{
	*n = tables[t].ncols;
	return tables[t].cols;
}

static int per_doc(store_xtable t)
{
	return t == STORE_XT_SNAPSHOTS || t == STORE_XT_OPS;
}

/* Appends s to buf (cap bytes); 0 when it does not fit. */
static int add(char *buf, size_t cap, size_t *n, const char *s)
{
	size_t k = strlen(s);
	if (*n + k + 1 > cap)
		return 0;
	memcpy(buf + *n, s, k + 1);
	*n += k;
	return 1;
}

/* "SELECT c1, c2 FROM t WHERE owner = ? ORDER BY order". */
static int select_sql(const xtable *x, char *buf, size_t cap)
{
	size_t n = 0;
	int ok = add(buf, cap, &n, "SELECT ");
	for (size_t i = 0; i < x->ncols; i++)
		ok = ok && add(buf, cap, &n, i ? ", " : "") && add(buf, cap, &n, x->cols[i].sql);
	ok = ok && add(buf, cap, &n, " FROM ") && add(buf, cap, &n, x->name) &&
	     add(buf, cap, &n, " WHERE ") && add(buf, cap, &n, x->owner) &&
	     add(buf, cap, &n, " = ? ORDER BY ") && add(buf, cap, &n, x->order);
	return ok;
}

static void column_value(sqlite3_stmt *q, int i, store_xval *v)
{
	memset(v, 0, sizeof *v);
	switch (sqlite3_column_type(q, i)) {
	case SQLITE_NULL:
		v->type = STORE_XNULL;
		break;
	case SQLITE_FLOAT:
		v->type = STORE_XREAL;
		v->r = sqlite3_column_double(q, i);
		break;
	case SQLITE_INTEGER:
		v->type = STORE_XINT;
		v->i = sqlite3_column_int64(q, i);
		v->r = (double)v->i;
		break;
	default:
		v->type = STORE_XTEXT;
		v->s = (const char *)sqlite3_column_text(q, i);
		v->len = (size_t)sqlite3_column_bytes(q, i);
		if (!v->s)
			v->s = "";
		break;
	}
}

int store_x_read(store *st, store_xtable t, const char *session_id, int64_t doc_id,
		 store_xrow_fn fn, void *ctx)
{
	const xtable *x = &tables[t];
	store_xval row[STORE_X_MAX_COLS];
	sqlite3_stmt *q = NULL;
	char sql[1024];
	int rc;

	if (!select_sql(x, sql, sizeof sql))
		return store__fail(st, TT_ELIMIT, "the query for %s does not fit", x->name);
	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL)) != SQLITE_OK)
		return store__err(st, rc);
	if (per_doc(t))
		sqlite3_bind_int64(q, 1, doc_id);
	else
		sqlite3_bind_text(q, 1, session_id, -1, SQLITE_TRANSIENT);
	rc = TT_OK;
	while (rc == TT_OK) {
		int s = sqlite3_step(q);
		if (s == SQLITE_DONE)
			break;
		if (s != SQLITE_ROW) {
			rc = store__err(st, s);
			break;
		}
		for (size_t i = 0; i < x->ncols; i++)
			column_value(q, (int)i, &row[i]);
		rc = fn(row, ctx);
	}
	sqlite3_finalize(q);
	return rc;
}

int store_x_read_begin(store *st)
{
	return store__exec(st, "BEGIN");
}

void store_x_read_end(store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
}

/* ---- import ---- */

struct store_ximport {
	store *st;
	char session_id[STORE_ID_LEN + 1];
	sqlite3_stmt *insert[STORE_XT_COUNT_]; /* prepared on first use */
};

/* "INSERT INTO t (owner, c...) VALUES (?, ?...)", without the id column. */
static int insert_sql(const xtable *x, char *buf, size_t cap)
{
	size_t n = 0;
	int ok = add(buf, cap, &n, "INSERT INTO ") && add(buf, cap, &n, x->name) &&
		 add(buf, cap, &n, " (") && add(buf, cap, &n, x->owner);
	size_t k = 1;
	for (size_t i = 0; i < x->ncols; i++) {
		if (x->cols[i].kind == STORE_XC_ID)
			continue;
		ok = ok && add(buf, cap, &n, ", ") && add(buf, cap, &n, x->cols[i].sql);
		k++;
	}
	ok = ok && add(buf, cap, &n, ") VALUES (?");
	for (size_t i = 1; i < k; i++)
		ok = ok && add(buf, cap, &n, ", ?");
	return ok && add(buf, cap, &n, ")");
}

int store_x_import_begin(store *st, const store_session *s, store_session *out_session,
			 store_ximport **out)
{
	store_ximport *im;
	sqlite3_stmt *q = NULL;
	int rc;

	*out = NULL;
	if (!(im = calloc(1, sizeof *im)))
		return TT_ENOMEM;
	im->st = st;
	if ((rc = store_tx_begin(st)) != TT_OK) {
		free(im);
		return rc;
	}
	rc = store_session_create(st, s->name, out_session);
	if (rc == TT_OK) {
		int s_rc = sqlite3_prepare_v2(st->db, "UPDATE sessions SET created_at = ?, "
					      "listen_public = ? WHERE id = ?", -1, &q, NULL);
		if (s_rc == SQLITE_OK) {
			sqlite3_bind_int64(q, 1, s->created_at);
			sqlite3_bind_int(q, 2, s->listen_public ? 1 : 0);
			sqlite3_bind_text(q, 3, out_session->id, -1, SQLITE_TRANSIENT);
			s_rc = sqlite3_step(q);
		}
		rc = s_rc == SQLITE_DONE ? TT_OK : store__err(st, s_rc);
		sqlite3_finalize(q);
	}
	if (rc != TT_OK) {
		store_tx_rollback(st);
		free(im);
		return rc;
	}
	out_session->created_at = s->created_at;
	out_session->listen_public = s->listen_public;
	memcpy(im->session_id, out_session->id, sizeof im->session_id);
	*out = im;
	return TT_OK;
}

static int bind_value(sqlite3_stmt *q, int i, const store_xval *v)
{
	switch (v->type) {
	case STORE_XNULL:
		return sqlite3_bind_null(q, i);
	case STORE_XINT:
		return sqlite3_bind_int64(q, i, v->i);
	case STORE_XREAL:
		return sqlite3_bind_double(q, i, v->r);
	default:
		return sqlite3_bind_text(q, i, v->s, (int)v->len, SQLITE_STATIC);
	}
}

int store_x_import_row(store_ximport *im, store_xtable t, int64_t doc_id, const store_xval *row,
		       int64_t *new_id)
{
	const xtable *x = &tables[t];
	store *st = im->st;
	sqlite3_stmt *q = im->insert[t];
	char sql[1024];
	int rc, k = 1;

	if (!q) {
		if (!insert_sql(x, sql, sizeof sql))
			return store__fail(st, TT_ELIMIT, "the insert for %s does not fit", x->name);
		if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL)) != SQLITE_OK)
			return store__err(st, rc);
		im->insert[t] = q;
	}
	if (per_doc(t))
		sqlite3_bind_int64(q, k++, doc_id);
	else
		sqlite3_bind_text(q, k++, im->session_id, -1, SQLITE_STATIC);
	for (size_t i = 0; i < x->ncols; i++)
		if (x->cols[i].kind != STORE_XC_ID)
			bind_value(q, k++, &row[i]);
	rc = sqlite3_step(q);
	rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	if (rc == TT_OK && new_id)
		*new_id = sqlite3_last_insert_rowid(st->db);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc;
}

int store_x_import_restore(store_ximport *im, int64_t run_id, int64_t upto)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(im->st->db, "UPDATE runs SET restore_upto = ? WHERE id = ?", -1,
				    &q, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, upto);
		sqlite3_bind_int64(q, 2, run_id);
		rc = sqlite3_step(q);
	}
	rc = rc == SQLITE_DONE ? TT_OK : store__err(im->st, rc);
	sqlite3_finalize(q);
	return rc;
}

int store_x_import_end(store_ximport *im, int commit)
{
	int rc = TT_OK;

	if (!im)
		return TT_OK;
	for (int t = 0; t < STORE_XT_COUNT_; t++)
		sqlite3_finalize(im->insert[t]);
	if (commit)
		rc = store_tx_commit(im->st);
	else
		store_tx_rollback(im->st);
	free(im);
	return rc;
}

int store_x_session_delete(store *st, const char *session_id)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(st->db, "DELETE FROM sessions WHERE id = ?", -1, &q, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_text(q, 1, session_id, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(q);
	}
	rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	sqlite3_finalize(q);
	return rc;
}
