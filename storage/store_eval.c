/*
 * storage/store_eval.c: the evaluation log and the tempo log, the raw
 * material from which a session is re-rendered exactly.
 *
 * Invariants:
 *  1. Rows are only appended, never changed: ids grow in order of
 *     appending, so "evaluations after id X" is a stable cursor.
 *  2. Times on the musical clock are exact: cycles and cps are stored as
 *     reduced-or-not fractions n/d with d > 0, never as floating point.
 *  3. An evaluation's document belongs to its session (checked on append).
 */
#include <string.h>

#include "common/error.h"
#include "storage/store_int.h"

static int check_eval(store *st, const store_eval *ev)
{
	if (!ev->session_id || !ev->code)
		return store__fail(st, TT_EINVAL, "evaluation without session "
				   "or code");
	if (ev->code_len > TT_MAX_CODE_BYTES)
		return store__fail(st, TT_ELIMIT, "evaluated code of %zu bytes "
				   "is over the limit of %d bytes",
				   ev->code_len, TT_MAX_CODE_BYTES);
	if (ev->cycle_d <= 0 || ev->cps_d <= 0 || ev->revision < 0)
		return store__fail(st, TT_EINVAL, "evaluation with a zero "
				   "denominator or a negative revision");
	return TT_OK;
}

/* TT_ENOTFOUND unless the document exists in the session. */
static int doc_in_session(store *st, int64_t doc_id, const char *session_id)
{
	store_doc d;
	int rc = store_doc_get(st, doc_id, &d);

	if (rc == TT_OK && strcmp(d.session_id, session_id) != 0)
		rc = store__fail(st, TT_ENOTFOUND, "document %lld is not in "
				 "session '%.20s'", (long long)doc_id,
				 session_id);
	return rc;
}

static int insert_eval(store *st, store_eval *ev)
{
	sqlite3_stmt *q = store__stmt(st, SQL_EVAL_INSERT,
		"INSERT INTO evaluations (session_id, doc_id, revision, author,"
		" time_ms, range_from, range_to, code, ok, landing_frame,"
		" cycle_n, cycle_d, cps_n, cps_d, result, run_id, applied_frame,"
		" built_frame)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	int rc;

	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, ev->session_id, strlen(ev->session_id));
	sqlite3_bind_int64(q, 2, ev->doc_id);
	sqlite3_bind_int64(q, 3, ev->revision);
	store__bind_text(q, 4, ev->author, ev->author ? strlen(ev->author) : 0);
	sqlite3_bind_int64(q, 5, ev->time_ms);
	sqlite3_bind_int64(q, 6, ev->range_from);
	sqlite3_bind_int64(q, 7, ev->range_to);
	store__bind_text(q, 8, ev->code, ev->code_len);
	sqlite3_bind_int(q, 9, ev->ok ? 1 : 0);
	sqlite3_bind_int64(q, 10, ev->landing_frame);
	sqlite3_bind_int64(q, 11, ev->cycle_n);
	sqlite3_bind_int64(q, 12, ev->cycle_d);
	sqlite3_bind_int64(q, 13, ev->cps_n);
	sqlite3_bind_int64(q, 14, ev->cps_d);
	if (ev->result)
		store__bind_text(q, 15, ev->result, strlen(ev->result));
	if (ev->run_id > 0) {
		sqlite3_bind_int64(q, 16, ev->run_id);
		sqlite3_bind_int64(q, 17, ev->applied_frame);
		sqlite3_bind_int64(q, 18, ev->built_frame);
	}
	if ((rc = store__exec_stmt(st, q)) == TT_OK)
		ev->id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int store_eval_append(store *st, store_eval *ev)
{
	int rc;

	if ((rc = check_eval(st, ev)) != TT_OK)
		return rc;
	if ((rc = store__tx_enter(st)) != TT_OK)
		return rc;
	rc = doc_in_session(st, ev->doc_id, ev->session_id);
	if (rc == TT_OK)
		rc = insert_eval(st, ev);
	return store__tx_leave(st, rc);
}

static void read_eval(sqlite3_stmt *q, store_eval *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->id = sqlite3_column_int64(q, 0);
	ev->session_id = (const char *)sqlite3_column_text(q, 1);
	ev->doc_id = sqlite3_column_int64(q, 2);
	ev->revision = sqlite3_column_int64(q, 3);
	ev->author = (const char *)sqlite3_column_text(q, 4);
	ev->time_ms = sqlite3_column_int64(q, 5);
	ev->range_from = sqlite3_column_int64(q, 6);
	ev->range_to = sqlite3_column_int64(q, 7);
	ev->code = (const char *)sqlite3_column_text(q, 8);
	ev->code_len = (size_t)sqlite3_column_bytes(q, 8);
	ev->ok = sqlite3_column_int(q, 9) != 0;
	ev->landing_frame = sqlite3_column_int64(q, 10);
	ev->cycle_n = sqlite3_column_int64(q, 11);
	ev->cycle_d = sqlite3_column_int64(q, 12);
	ev->cps_n = sqlite3_column_int64(q, 13);
	ev->cps_d = sqlite3_column_int64(q, 14);
	ev->result = (const char *)sqlite3_column_text(q, 15);
	ev->run_id = sqlite3_column_int64(q, 16);
	ev->applied_frame = sqlite3_column_int64(q, 17);
	ev->built_frame = sqlite3_column_int64(q, 18);
	if (!ev->author)
		ev->author = "";
	if (!ev->code)
		ev->code = "";
}

int store_eval_list(store *st, const char *session_id, int64_t after_id,
		    int limit, store_eval_fn fn, void *ctx)
{
	sqlite3_stmt *q = store__stmt(st, SQL_EVAL_LIST,
		"SELECT id, session_id, doc_id, revision, author, time_ms,"
		" range_from, range_to, code, ok, landing_frame, cycle_n,"
		" cycle_d, cps_n, cps_d, result, run_id, applied_frame, built_frame"
		" FROM evaluations"
		" WHERE session_id = ? AND id > ? ORDER BY id LIMIT ?");
	store_eval ev;
	int rc = SQLITE_DONE, stop = 0;

	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, session_id, session_id ? strlen(session_id) : 0);
	sqlite3_bind_int64(q, 2, after_id);
	sqlite3_bind_int64(q, 3, limit > 0 ? limit : -1);
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		read_eval(q, &ev);
		stop = fn(&ev, ctx);
	}
	if (!stop)
		rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	store__done(q);
	return stop ? stop : rc;
}

/* ---- tempo ---- */

int store_tempo_append(store *st, store_tempo *t)
{
	sqlite3_stmt *q;
	int rc;

	if (!t->session_id || t->cycle_d <= 0 || t->cps_d <= 0 ||
	    t->cps_n <= 0 || t->frame < 0)
		return store__fail(st, TT_EINVAL, "bad tempo segment (cps must "
				   "be > 0, denominators > 0, frame >= 0)");
	q = store__stmt(st, SQL_TEMPO_INSERT, "INSERT INTO tempo (session_id,"
			" frame, cycle_n, cycle_d, cps_n, cps_d, time_ms,"
			" author, run_id, applied_frame)"
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!q)
		return TT_EDB;
	if ((rc = store__tx_enter(st)) != TT_OK)
		return rc;
	store__bind_text(q, 1, t->session_id, strlen(t->session_id));
	sqlite3_bind_int64(q, 2, t->frame);
	sqlite3_bind_int64(q, 3, t->cycle_n);
	sqlite3_bind_int64(q, 4, t->cycle_d);
	sqlite3_bind_int64(q, 5, t->cps_n);
	sqlite3_bind_int64(q, 6, t->cps_d);
	sqlite3_bind_int64(q, 7, t->time_ms);
	store__bind_text(q, 8, t->author, t->author ? strlen(t->author) : 0);
	if (t->run_id > 0) {
		sqlite3_bind_int64(q, 9, t->run_id);
		sqlite3_bind_int64(q, 10, t->applied_frame);
	}
	if ((rc = store__exec_stmt(st, q)) == TT_OK)
		t->id = sqlite3_last_insert_rowid(st->db);
	else if (rc == TT_ENOTFOUND)
		store__fail(st, rc, "no session '%.20s'", t->session_id);
	return store__tx_leave(st, rc);
}

int store_tempo_list(store *st, const char *session_id, store_tempo_fn fn,
		     void *ctx)
{
	sqlite3_stmt *q = store__stmt(st, SQL_TEMPO_LIST,
		"SELECT id, frame, cycle_n, cycle_d, cps_n, cps_d, time_ms,"
		" author, run_id, applied_frame FROM tempo WHERE session_id = ?"
		" ORDER BY id");
	store_tempo t;
	int rc = SQLITE_DONE, stop = 0;

	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, session_id, session_id ? strlen(session_id) : 0);
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		t.id = sqlite3_column_int64(q, 0);
		t.session_id = session_id;
		t.frame = sqlite3_column_int64(q, 1);
		t.cycle_n = sqlite3_column_int64(q, 2);
		t.cycle_d = sqlite3_column_int64(q, 3);
		t.cps_n = sqlite3_column_int64(q, 4);
		t.cps_d = sqlite3_column_int64(q, 5);
		t.time_ms = sqlite3_column_int64(q, 6);
		t.author = (const char *)sqlite3_column_text(q, 7);
		t.run_id = sqlite3_column_int64(q, 8);
		t.applied_frame = sqlite3_column_int64(q, 9);
		if (!t.author)
			t.author = "";
		stop = fn(&t, ctx);
	}
	if (!stop)
		rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	store__done(q);
	return stop ? stop : rc;
}
