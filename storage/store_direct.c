/* storage/store_direct.c: direct events (OSC input), for replay. */
#include <string.h>

#include "common/error.h"
#include "storage/store_int.h"

static int insert(store *st, sqlite3_stmt *q, store_direct *d)
{
	int rc;

	if (d->frame < 0 || !d->session_id || !d->source || !d->params)
		return store__fail(st, TT_EINVAL, "a direct event needs a session, a source, "
				   "params and a frame >= 0");
	store__bind_text(q, 1, d->session_id, strlen(d->session_id));
	if (d->run_id > 0)
		sqlite3_bind_int64(q, 2, d->run_id);
	else
		sqlite3_bind_null(q, 2);
	sqlite3_bind_int64(q, 3, d->frame);
	store__bind_text(q, 4, d->source, strlen(d->source));
	store__bind_text(q, 5, d->params, strlen(d->params));
	sqlite3_bind_int64(q, 6, d->time_ms);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc != SQLITE_DONE)
		return store__err(st, rc);
	d->id = sqlite3_last_insert_rowid(st->db);
	return TT_OK;
}

int store_direct_append(store *st, store_direct *rows, size_t n)
{
	sqlite3_stmt *q = store__stmt(st, SQL_DIRECT_INSERT,
		"INSERT INTO direct_events (session_id, run_id, frame, source, params, time_ms)"
		" VALUES (?, ?, ?, ?, ?, ?)");
	int rc;

	if (!q)
		return TT_EDB;
	if ((rc = store__tx_enter(st)) != TT_OK) {
		store__done(q);
		return rc;
	}
	for (size_t i = 0; i < n && rc == TT_OK; i++)
		rc = insert(st, q, &rows[i]);
	store__done(q);
	return store__tx_leave(st, rc);
}

int store_direct_list(store *st, const char *session_id, int64_t after_id,
		      store_direct_fn fn, void *ctx)
{
	sqlite3_stmt *q = store__stmt(st, SQL_DIRECT_LIST,
		"SELECT id, session_id, coalesce(run_id, 0), frame, source, params, time_ms"
		" FROM direct_events WHERE session_id = ? AND id > ? ORDER BY id");
	store_direct d;
	int rc = SQLITE_DONE, stop = 0;

	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, session_id, strlen(session_id));
	sqlite3_bind_int64(q, 2, after_id);
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		d.id = sqlite3_column_int64(q, 0);
		d.session_id = (const char *)sqlite3_column_text(q, 1);
		d.run_id = sqlite3_column_int64(q, 2);
		d.frame = sqlite3_column_int64(q, 3);
		d.source = (const char *)sqlite3_column_text(q, 4);
		d.params = (const char *)sqlite3_column_text(q, 5);
		d.time_ms = sqlite3_column_int64(q, 6);
		stop = fn(&d, ctx);
	}
	if (!stop)
		rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	store__done(q);
	return stop ? stop : rc;
}
