/*
 * storage/store_archive.c: the index of the live stream's archive files
 * (table archive_files, migration 6; docs/storage.md, "Archive").
 *
 * Invariants:
 *  1. A row is written when its file is opened (ended_ms NULL, bytes 0)
 *     and completed once, when the file is closed; so after a crash the
 *     rows with ended_ms NULL are exactly the files that were being
 *     written, and the server completes them from the files on start.
 *  2. Frames are run frames (0 at the run's start); last_frame is
 *     exclusive, so a run's files are contiguous when each one's
 *     first_frame is the last_frame of the one before.
 *  3. path is relative to the archive directory, so the directory can be
 *     moved with its index.
 *
 * These statements run once per archive file (minutes apart), so they are
 * prepared per call rather than given a slot in the handle's cache.
 */
#include <string.h>

#include "common/error.h"
#include "storage/store_int.h"

/* Prepares sql on st; NULL with the failure recorded. */
static sqlite3_stmt *prepare(store *st, const char *sql)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);

	if (rc != SQLITE_OK) {
		store__err(st, rc);
		sqlite3_finalize(q);
		return NULL;
	}
	return q;
}

/* Steps a write once inside its own transaction (or the group's
 * savepoint) and finalizes it. */
static int run_write(store *st, sqlite3_stmt *q)
{
	int rc = store__tx_enter(st);

	if (rc != TT_OK) {
		sqlite3_finalize(q);
		return rc;
	}
	rc = sqlite3_step(q);
	rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	sqlite3_finalize(q);
	return store__tx_leave(st, rc);
}

int store_archive_begin(store *st, store_archive_file *f)
{
	size_t n = strlen(f->path);
	sqlite3_stmt *q;
	int rc;

	if (!f->session_id[0] || n == 0 || n >= sizeof f->path || f->run_id < 0)
		return store__fail(st, TT_EINVAL, "bad archive file (empty session or path)");
	q = prepare(st, "INSERT INTO archive_files (session_id, run_id, path, first_frame,"
			" last_frame, started_ms, ended_ms, bytes) VALUES (?, ?, ?, ?, ?, ?, NULL, 0)");
	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, f->session_id, strlen(f->session_id));
	if (f->run_id)
		sqlite3_bind_int64(q, 2, f->run_id);
	else
		sqlite3_bind_null(q, 2); /* no run recorded: the column may be NULL */
	store__bind_text(q, 3, f->path, n);
	sqlite3_bind_int64(q, 4, f->first_frame);
	sqlite3_bind_int64(q, 5, f->first_frame);
	sqlite3_bind_int64(q, 6, f->started_ms);
	rc = run_write(st, q);
	if (rc == TT_OK) {
		f->id = sqlite3_last_insert_rowid(st->db);
		f->last_frame = f->first_frame;
		f->ended_ms = 0;
		f->bytes = 0;
	} else if (rc == TT_ENOTFOUND) {
		store__fail(st, rc, "no session '%.20s' or run %lld", f->session_id,
			    (long long)f->run_id);
	}
	return rc;
}

int store_archive_finish(store *st, int64_t id, int64_t last_frame, int64_t ended_ms,
			 int64_t bytes)
{
	sqlite3_stmt *q;
	int rc;

	if (ended_ms <= 0 || bytes < 0)
		return store__fail(st, TT_EINVAL, "bad archive file end (time or size)");
	q = prepare(st, "UPDATE archive_files SET last_frame = max(first_frame, ?),"
			" ended_ms = ?, bytes = ? WHERE id = ?");
	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, last_frame);
	sqlite3_bind_int64(q, 2, ended_ms);
	sqlite3_bind_int64(q, 3, bytes);
	sqlite3_bind_int64(q, 4, id);
	rc = run_write(st, q);
	if (rc == TT_OK && sqlite3_changes(st->db) != 1)
		rc = store__fail(st, TT_ENOTFOUND, "no archive file %lld", (long long)id);
	return rc;
}

int store_archive_delete(store *st, int64_t id)
{
	sqlite3_stmt *q = prepare(st, "DELETE FROM archive_files WHERE id = ?");

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, id);
	return run_write(st, q);
}

#define COLUMNS "id, session_id, run_id, path, first_frame, last_frame, started_ms," \
		" ended_ms, bytes"

static void read_row(sqlite3_stmt *q, store_archive_file *f)
{
	f->id = sqlite3_column_int64(q, 0);
	store__col_copy(q, 1, f->session_id, sizeof f->session_id);
	f->run_id = sqlite3_column_int64(q, 2); /* NULL reads as 0 */
	store__col_copy(q, 3, f->path, sizeof f->path);
	f->first_frame = sqlite3_column_int64(q, 4);
	f->last_frame = sqlite3_column_int64(q, 5);
	f->started_ms = sqlite3_column_int64(q, 6);
	f->ended_ms = sqlite3_column_int64(q, 7);
	f->bytes = sqlite3_column_int64(q, 8);
}

/* Calls fn per row of q (bound), then finalizes q. */
static int each_row(store *st, sqlite3_stmt *q, store_archive_fn fn, void *ctx)
{
	store_archive_file f;
	int rc, stop = 0;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		read_row(q, &f);
		if ((stop = fn(&f, ctx)) != 0)
			break;
	}
	if (!stop)
		rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	sqlite3_finalize(q);
	return stop ? stop : rc;
}

int store_archive_list(store *st, const char *session_id, store_archive_fn fn, void *ctx)
{
	sqlite3_stmt *q = prepare(st, "SELECT " COLUMNS " FROM archive_files"
				      " WHERE session_id = ? ORDER BY id");

	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, session_id, strlen(session_id));
	return each_row(st, q, fn, ctx);
}

int store_archive_list_open(store *st, store_archive_fn fn, void *ctx)
{
	sqlite3_stmt *q = prepare(st, "SELECT " COLUMNS " FROM archive_files"
				      " WHERE ended_ms IS NULL ORDER BY id");

	if (!q)
		return TT_EDB;
	return each_row(st, q, fn, ctx);
}

int store_archive_list_before(store *st, int64_t ended_before_ms, store_archive_fn fn,
			      void *ctx)
{
	sqlite3_stmt *q = prepare(st, "SELECT " COLUMNS " FROM archive_files"
				      " WHERE ended_ms IS NOT NULL AND ended_ms < ? ORDER BY id");

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, ended_before_ms);
	return each_row(st, q, fn, ctx);
}

static int copy_one(const store_archive_file *f, void *ctx)
{
	*(store_archive_file *)ctx = *f;
	return 1;
}

int store_archive_get(store *st, int64_t id, store_archive_file *out)
{
	sqlite3_stmt *q = prepare(st, "SELECT " COLUMNS " FROM archive_files WHERE id = ?");
	int rc;

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, id);
	rc = each_row(st, q, copy_one, out);
	if (rc == 1)
		return TT_OK;
	if (rc == TT_OK)
		rc = store__fail(st, TT_ENOTFOUND, "no archive file %lld", (long long)id);
	return rc;
}
