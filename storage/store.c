/*
 * storage/store.c: opening the database, the error convention, the
 * statement cache and transactions. The tables' own functions live in
 * store_session.c (sessions, documents), store_op.c (ops, snapshots) and
 * store_eval.c (evaluations, tempo); the schema in schema.c.
 *
 * Invariants:
 *  1. Every connection runs in WAL mode with foreign_keys=ON, the configured
 *     busy timeout and synchronous level, and at the latest schema version
 *     (or is refused), before store_open returns TT_OK.
 *  2. Every write is atomic: store__tx_enter/leave wrap it in a transaction
 *     of its own, or in a savepoint of the open group.
 *  3. A cached statement is reset with its bindings cleared before the
 *     function that used it returns, so no statement holds a read
 *     transaction open or a pointer to a caller's string.
 *  4. st->errmsg always holds the message of the last failure on st.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/utf8.h"
#include "storage/store_int.h"

void store_config_default(store_config *cfg)
{
	cfg->synchronous = STORE_SYNC_FULL;
	cfg->busy_timeout_ms = 5000;
	cfg->read_only = false;
}

const char *store_errmsg(const store *st)
{
	return st ? st->errmsg : "no database handle";
}

int store_schema_version(void)
{
	return store__schema_latest();
}

int store__fail(store *st, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof st->errmsg, fmt, ap);
	va_end(ap);
	return code;
}

static int map_code(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return TT_EEXIST;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return TT_ENOTFOUND;
	}
	switch (rc & 0xff) {
	case SQLITE_OK: return TT_OK;
	case SQLITE_NOMEM: return TT_ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return TT_EAGAIN;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE: return TT_EINVAL;
	case SQLITE_TOOBIG: return TT_ELIMIT;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB: return TT_EFORMAT;
	case SQLITE_FULL: return TT_EFULL;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM: return TT_EIO;
	}
	return TT_EDB;
}

int store__err(store *st, int rc)
{
	const char *msg = st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);

	/* errmsg of the connection may name an older error when rc came from
	 * elsewhere; prefer the generic text then. */
	if (st->db && (sqlite3_extended_errcode(st->db) & 0xff) != (rc & 0xff))
		msg = sqlite3_errstr(rc);
	snprintf(st->errmsg, sizeof st->errmsg, "%s", msg);
	return map_code(rc);
}

sqlite3_stmt *store__stmt(store *st, int id, const char *sql)
{
	int rc;

	if (st->stmts[id])
		return st->stmts[id];
	rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				&st->stmts[id], NULL);
	if (rc != SQLITE_OK) {
		store__err(st, rc);
		st->stmts[id] = NULL;
	}
	return st->stmts[id];
}

void store__done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

int store__exec_stmt(store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	store__done(s);
	return rc;
}

int store__exec(store *st, const char *sql)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? TT_OK : store__err(st, rc);
}

int store__bind_text(sqlite3_stmt *s, int i, const char *p, size_t len)
{
	if (len > 0x7fffffff)
		return TT_ELIMIT;
	return sqlite3_bind_text(s, i, p ? p : "", p ? (int)len : 0,
				 SQLITE_STATIC) == SQLITE_OK ? TT_OK : TT_EDB;
}

void store__col_copy(sqlite3_stmt *s, int i, char *buf, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	size_t n = t ? (size_t)sqlite3_column_bytes(s, i) : 0;

	if (n >= cap)
		n = cap - 1; /* only a database from a build with larger limits */
	if (n)
		memcpy(buf, t, n);
	buf[n] = '\0';
}

int store__check_name(store *st, const char *name, size_t max,
		      const char *what)
{
	size_t n;

	if (!name || !name[0])
		return store__fail(st, TT_EINVAL, "%s name is empty", what);
	n = strlen(name);
	if (n > max)
		return store__fail(st, TT_ELIMIT,
				   "%s name is %zu bytes, over the limit of %zu",
				   what, n, max);
	if (!utf8_valid(name, n))
		return store__fail(st, TT_EINVAL, "%s name is not valid UTF-8",
				   what);
	return TT_OK;
}

int64_t store__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- transactions ---- */

static void rollback_quietly(store *st, const char *sql)
{
	/* Keeps st->errmsg: the failure that caused the rollback matters. */
	sqlite3_exec(st->db, sql, NULL, NULL, NULL);
}

int store__tx_enter(store *st)
{
	int rc;

	if (!st->in_group)
		return store__exec(st, "BEGIN IMMEDIATE");
	if (sqlite3_get_autocommit(st->db))
		return store__fail(st, TT_EDB, "the group transaction was "
				   "rolled back by an earlier error");
	if ((rc = store__exec(st, "SAVEPOINT w")) == TT_OK)
		st->savepoints++;
	return rc;
}

int store__tx_leave(store *st, int rc)
{
	int c;

	if (!st->in_group) {
		if (rc == TT_OK && (c = store__exec(st, "COMMIT")) != TT_OK)
			rc = c;
		if (rc != TT_OK && !sqlite3_get_autocommit(st->db))
			rollback_quietly(st, "ROLLBACK");
		return rc;
	}
	st->savepoints--;
	if (rc == TT_OK)
		return store__exec(st, "RELEASE w");
	rollback_quietly(st, "ROLLBACK TO w; RELEASE w");
	return rc;
}

int store_tx_begin(store *st)
{
	int rc;

	if (st->in_group)
		return store__fail(st, TT_EINVAL, "a group is already open");
	if ((rc = store__exec(st, "BEGIN IMMEDIATE")) == TT_OK)
		st->in_group = 1;
	return rc;
}

int store_tx_commit(store *st)
{
	int rc;

	if (!st->in_group)
		return store__fail(st, TT_EINVAL, "no group is open");
	st->in_group = 0;
	rc = store__exec(st, "COMMIT");
	if (rc != TT_OK && !sqlite3_get_autocommit(st->db))
		rollback_quietly(st, "ROLLBACK");
	return rc;
}

void store_tx_rollback(store *st)
{
	if (!st->in_group)
		return;
	st->in_group = 0;
	if (!sqlite3_get_autocommit(st->db))
		rollback_quietly(st, "ROLLBACK");
}

/* ---- open, close ---- */

/* Runs a pragma that answers one text row and copies the answer. */
static int pragma_text(store *st, const char *sql, char *buf, size_t cap)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		store__col_copy(s, 0, buf, cap);
		rc = SQLITE_OK;
	}
	rc = rc == SQLITE_OK ? TT_OK : store__err(st, rc);
	sqlite3_finalize(s);
	return rc;
}

static int configure(store *st)
{
	char mode[16];
	int rc;

	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, st->cfg.busy_timeout_ms);
	if (!st->cfg.read_only) {
		rc = pragma_text(st, "PRAGMA journal_mode = WAL", mode,
				 sizeof mode);
		if (rc != TT_OK)
			return rc;
		if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0)
			return store__fail(st, TT_EIO, "the database refused "
					   "WAL mode (journal_mode is %s)",
					   mode);
	}
	rc = store__exec(st, st->cfg.synchronous == STORE_SYNC_FULL
			 ? "PRAGMA synchronous = FULL"
			 : "PRAGMA synchronous = NORMAL");
	if (rc == TT_OK)
		rc = store__exec(st, "PRAGMA foreign_keys = ON");
	return rc;
}

int store__open_at(const char *path, const store_config *cfg, int target,
		   store **out)
{
	store *st = calloc(1, sizeof *st);
	int flags, rc;

	*out = st;
	if (!st)
		return TT_ENOMEM;
	if (cfg)
		st->cfg = *cfg;
	else
		store_config_default(&st->cfg);
	if ((st->cfg.synchronous != STORE_SYNC_NORMAL &&
	     st->cfg.synchronous != STORE_SYNC_FULL) ||
	    st->cfg.busy_timeout_ms < 0 || !path)
		return store__fail(st, TT_EINVAL, "bad store configuration");
	flags = st->cfg.read_only ? SQLITE_OPEN_READONLY
				  : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = store__err(st, rc);
		store__fail(st, rc, "cannot open %s: %s", path,
			    st->db ? sqlite3_errmsg(st->db) : "out of memory");
		return rc;
	}
	if ((rc = configure(st)) != TT_OK)
		return rc;
	return store__migrate(st, target);
}

int store_open(const char *path, const store_config *cfg, store **out)
{
	return store__open_at(path, cfg, store__schema_latest(), out);
}

void store_close(store *st)
{
	int i;

	if (!st)
		return;
	for (i = 0; i < SQL_COUNT_; i++)
		sqlite3_finalize(st->stmts[i]);
	if (st->db && !sqlite3_get_autocommit(st->db))
		rollback_quietly(st, "ROLLBACK");
	sqlite3_close_v2(st->db);
	free(st);
}

/* ---- health ---- */

int store_check(store *st)
{
	/* Reads a page of a real table (not only the schema), in constant
	 * time however large the table. */
	sqlite3_stmt *s = store__stmt(st, SQL_CHECK,
				      "SELECT 1 FROM sessions LIMIT 1");
	int rc;

	if (!s)
		return TT_EDB;
	rc = sqlite3_step(s);
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	store__done(s);
	return rc;
}

/* integrity_check's answers hold newlines; a log line must not. */
static int one_line(int code, char *msg)
{
	for (; *msg; msg++)
		if (*msg == '\n' || *msg == '\r')
			*msg = ' ';
	return code;
}

/* Runs a checking pragma; any row other than "ok" is a problem. */
static int verify_pragma(store *st, const char *sql, int ok_row)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	const char *t;

	if (rc != SQLITE_OK)
		return store__err(st, rc);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		t = (const char *)sqlite3_column_text(s, 0);
		if (ok_row && t && strcmp(t, "ok") == 0)
			rc = TT_OK;
		else
			rc = one_line(store__fail(st, TT_EFORMAT, "%s: %s",
					 sql, t ? t : "(null)"), st->errmsg);
	} else {
		rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	}
	sqlite3_finalize(s);
	return rc;
}

uint64_t store_memory_used(void)
{
	return (uint64_t)sqlite3_memory_used();
}

int store_verify(store *st)
{
	int rc = verify_pragma(st, "PRAGMA integrity_check", 1);

	if (rc == TT_OK)
		rc = verify_pragma(st, "PRAGMA foreign_key_check", 0);
	return rc;
}
