/*
 * storage/store_run.c: runs of a session's render thread and the log of
 * hush, mute and solo: with the evaluation and tempo logs, all that replay
 * needs to render a session again exactly (docs/storage.md, "Replay").
 *
 * Invariants:
 *  1. Controls are only appended. A run's row is written when it starts
 *     and then only gains its restore landing (once) and its progress.
 *  2. Frames in these rows are run frames (0 at the run's start).
 */
#include <string.h>

#include "common/error.h"
#include "storage/store_int.h"

int store_run_begin(store *st, store_run *r)
{
	sqlite3_stmt *q;
	int rc;

	if (!r->session_id || r->start_frame < 0 || !(r->cps > 0))
		return store__fail(st, TT_EINVAL, "bad run (start frame < 0 or cps <= 0)");
	q = store__stmt(st, SQL_RUN_INSERT,
			"INSERT INTO runs (session_id, start_frame, started_ms, cps, restore_upto)"
			" VALUES (?, ?, ?, ?, ?)");
	if (!q)
		return TT_EDB;
	if ((rc = store__tx_enter(st)) != TT_OK) {
		store__done(q);
		return rc;
	}
	store__bind_text(q, 1, r->session_id, strlen(r->session_id));
	sqlite3_bind_int64(q, 2, r->start_frame);
	sqlite3_bind_int64(q, 3, r->started_ms);
	sqlite3_bind_double(q, 4, r->cps);
	sqlite3_bind_int64(q, 5, r->restore_upto);
	if ((rc = store__exec_stmt(st, q)) == TT_OK)
		r->id = sqlite3_last_insert_rowid(st->db);
	else if (rc == TT_ENOTFOUND)
		store__fail(st, rc, "no session '%.20s'", r->session_id);
	return store__tx_leave(st, rc);
}

int store_run_restored(store *st, int64_t run_id, int64_t applied, int64_t frame,
		       int64_t cycle_n, int64_t cycle_d)
{
	sqlite3_stmt *q;
	int rc;

	if (cycle_d <= 0 || applied < 0 || frame < applied)
		return store__fail(st, TT_EINVAL, "bad restore landing");
	q = store__stmt(st, SQL_RUN_RESTORED,
			"UPDATE runs SET restore_applied = ?, restore_frame = ?,"
			" restore_cycle_n = ?, restore_cycle_d = ?"
			" WHERE id = ? AND restore_applied IS NULL");
	if (!q)
		return TT_EDB;
	if ((rc = store__tx_enter(st)) != TT_OK) {
		store__done(q);
		return rc;
	}
	sqlite3_bind_int64(q, 1, applied);
	sqlite3_bind_int64(q, 2, frame);
	sqlite3_bind_int64(q, 3, cycle_n);
	sqlite3_bind_int64(q, 4, cycle_d);
	sqlite3_bind_int64(q, 5, run_id);
	rc = store__exec_stmt(st, q);
	if (rc == TT_OK && sqlite3_changes(st->db) != 1)
		rc = store__fail(st, TT_ENOTFOUND, "no run %lld waiting for its restore",
				 (long long)run_id);
	return store__tx_leave(st, rc);
}

int store_run_progress(store *st, int64_t run_id, int64_t last_frame)
{
	sqlite3_stmt *q = store__stmt(st, SQL_RUN_PROGRESS,
				      "UPDATE runs SET last_frame = max(last_frame, ?) WHERE id = ?");
	int rc;

	if (!q)
		return TT_EDB;
	if ((rc = store__tx_enter(st)) != TT_OK) {
		store__done(q);
		return rc;
	}
	sqlite3_bind_int64(q, 1, last_frame);
	sqlite3_bind_int64(q, 2, run_id);
	rc = store__exec_stmt(st, q);
	return store__tx_leave(st, rc);
}

int store_run_list(store *st, const char *session_id, store_run_fn fn, void *ctx)
{
	sqlite3_stmt *q = store__stmt(st, SQL_RUN_LIST,
		"SELECT id, start_frame, started_ms, cps, restore_upto, restore_applied,"
		" restore_frame, restore_cycle_n, restore_cycle_d, last_frame"
		" FROM runs WHERE session_id = ? ORDER BY id");
	store_run r;
	int rc = SQLITE_DONE, stop = 0;

	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, session_id, session_id ? strlen(session_id) : 0);
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		memset(&r, 0, sizeof r);
		r.id = sqlite3_column_int64(q, 0);
		r.session_id = session_id;
		r.start_frame = sqlite3_column_int64(q, 1);
		r.started_ms = sqlite3_column_int64(q, 2);
		r.cps = sqlite3_column_double(q, 3);
		r.restore_upto = sqlite3_column_int64(q, 4);
		r.restored = sqlite3_column_type(q, 5) != SQLITE_NULL;
		r.restore_applied = sqlite3_column_int64(q, 5);
		r.restore_frame = sqlite3_column_int64(q, 6);
		r.restore_cycle_n = sqlite3_column_int64(q, 7);
		r.restore_cycle_d = sqlite3_column_int64(q, 8);
		r.last_frame = sqlite3_column_int64(q, 9);
		stop = fn(&r, ctx);
	}
	if (!stop)
		rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	store__done(q);
	return stop ? stop : rc;
}

int store_control_append(store *st, store_control *c)
{
	sqlite3_stmt *q;
	int rc;

	if (!c->session_id || !c->kind || c->run_id <= 0 || c->applied_frame < 0)
		return store__fail(st, TT_EINVAL, "bad control (kind, run or frame)");
	q = store__stmt(st, SQL_CONTROL_INSERT,
			"INSERT INTO controls (session_id, run_id, applied_frame, kind, track, on_,"
			" author, time_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
	if (!q)
		return TT_EDB;
	if ((rc = store__tx_enter(st)) != TT_OK) {
		store__done(q);
		return rc;
	}
	store__bind_text(q, 1, c->session_id, strlen(c->session_id));
	sqlite3_bind_int64(q, 2, c->run_id);
	sqlite3_bind_int64(q, 3, c->applied_frame);
	store__bind_text(q, 4, c->kind, strlen(c->kind));
	store__bind_text(q, 5, c->track ? c->track : "", c->track ? strlen(c->track) : 0);
	sqlite3_bind_int(q, 6, c->on ? 1 : 0);
	store__bind_text(q, 7, c->author ? c->author : "", c->author ? strlen(c->author) : 0);
	sqlite3_bind_int64(q, 8, c->time_ms);
	if ((rc = store__exec_stmt(st, q)) == TT_OK)
		c->id = sqlite3_last_insert_rowid(st->db);
	return store__tx_leave(st, rc);
}

int store_control_list(store *st, const char *session_id, store_control_fn fn, void *ctx)
{
	sqlite3_stmt *q = store__stmt(st, SQL_CONTROL_LIST,
		"SELECT id, run_id, applied_frame, kind, track, on_, author, time_ms"
		" FROM controls WHERE session_id = ? ORDER BY id");
	store_control c;
	int rc = SQLITE_DONE, stop = 0;

	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, session_id, session_id ? strlen(session_id) : 0);
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		memset(&c, 0, sizeof c);
		c.id = sqlite3_column_int64(q, 0);
		c.session_id = session_id;
		c.run_id = sqlite3_column_int64(q, 1);
		c.applied_frame = sqlite3_column_int64(q, 2);
		c.kind = (const char *)sqlite3_column_text(q, 3);
		c.track = (const char *)sqlite3_column_text(q, 4);
		c.on = sqlite3_column_int(q, 5) != 0;
		c.author = (const char *)sqlite3_column_text(q, 6);
		c.time_ms = sqlite3_column_int64(q, 7);
		if (!c.track)
			c.track = "";
		if (!c.author)
			c.author = "";
		stop = fn(&c, ctx);
	}
	if (!stop)
		rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	store__done(q);
	return stop ? stop : rc;
}
