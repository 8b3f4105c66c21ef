/*
 * storage/schema.c: the schema and its migrations.
 *
 * The database's PRAGMA user_version is the number of migrations applied.
 * migrations[i] takes version i to i + 1. Invariants:
 *  1. A migration, once released, is never edited: a change to the schema
 *     is a new entry appended at the end.
 *  2. Each migration runs in its own transaction together with the
 *     user_version update, so a crash leaves the database at version i or
 *     i + 1, never between.
 *  3. A database at a version above the array's length was written by a
 *     newer tutti; it is refused (TT_EUNSUPPORTED), never touched.
 *  4. Limits (name lengths, text sizes) are checked in C, not in CHECK
 *     constraints, so that the schema does not depend on build settings.
 *
 * docs/storage.md describes every table and column.
 */
#include <stdio.h>

#include "common/error.h"
#include "storage/store_int.h"

static const char *const migrations[] = {
	/* 1: the first schema. */
	"CREATE TABLE accounts ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE CHECK (name <> ''),"
	" role TEXT NOT NULL DEFAULT 'performer'"
	"  CHECK (role IN ('admin', 'performer', 'listener')),"
	" pass_hash TEXT,"
	" created_at INTEGER NOT NULL);"
	"CREATE TABLE tokens ("
	" hash BLOB PRIMARY KEY,"
	" account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	" label TEXT NOT NULL DEFAULT '',"
	" created_at INTEGER NOT NULL,"
	" expires_at INTEGER,"
	" last_used_at INTEGER);"
	"CREATE INDEX tokens_account ON tokens(account_id);"
	"CREATE TABLE sessions ("
	" id TEXT PRIMARY KEY CHECK (length(id) = 10),"
	" name TEXT NOT NULL CHECK (name <> ''),"
	" created_at INTEGER NOT NULL);"
	"CREATE INDEX sessions_created ON sessions(created_at);"
	"CREATE TABLE documents ("
	" id INTEGER PRIMARY KEY,"
	" session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL CHECK (name <> ''),"
	" created_at INTEGER NOT NULL,"
	" deleted_at INTEGER);"
	"CREATE UNIQUE INDEX documents_live_name ON documents(session_id, name)"
	" WHERE deleted_at IS NULL;"
	"CREATE INDEX documents_session ON documents(session_id, id);"
	"CREATE TABLE ops ("
	" doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,"
	" revision INTEGER NOT NULL CHECK (revision >= 1),"
	" author TEXT NOT NULL,"
	" time_ms INTEGER NOT NULL,"
	" op TEXT NOT NULL,"
	" PRIMARY KEY (doc_id, revision)) WITHOUT ROWID;"
	"CREATE TABLE evaluations ("
	" id INTEGER PRIMARY KEY,"
	" session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,"
	" revision INTEGER NOT NULL CHECK (revision >= 0),"
	" author TEXT NOT NULL,"
	" time_ms INTEGER NOT NULL,"
	" range_from INTEGER NOT NULL,"
	" range_to INTEGER NOT NULL,"
	" code TEXT NOT NULL,"
	" ok INTEGER NOT NULL CHECK (ok IN (0, 1)),"
	" landing_frame INTEGER NOT NULL,"
	" cycle_n INTEGER NOT NULL,"
	" cycle_d INTEGER NOT NULL CHECK (cycle_d > 0),"
	" cps_n INTEGER NOT NULL,"
	" cps_d INTEGER NOT NULL CHECK (cps_d > 0),"
	" result TEXT);"
	"CREATE INDEX evaluations_session ON evaluations(session_id, id);"
	"CREATE INDEX evaluations_doc ON evaluations(doc_id, revision);"
	"PRAGMA application_id = 1953854580;", /* TT_APP_ID */

	/* 2: snapshots of document text, and the tempo log. */
	"CREATE TABLE snapshots ("
	" doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,"
	" revision INTEGER NOT NULL CHECK (revision >= 0),"
	" text TEXT NOT NULL,"
	" PRIMARY KEY (doc_id, revision)) WITHOUT ROWID;"
	"CREATE TABLE tempo ("
	" id INTEGER PRIMARY KEY,"
	" session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" frame INTEGER NOT NULL CHECK (frame >= 0),"
	" cycle_n INTEGER NOT NULL,"
	" cycle_d INTEGER NOT NULL CHECK (cycle_d > 0),"
	" cps_n INTEGER NOT NULL CHECK (cps_n > 0),"
	" cps_d INTEGER NOT NULL CHECK (cps_d > 0),"
	" time_ms INTEGER NOT NULL,"
	" author TEXT NOT NULL);"
	"CREATE INDEX tempo_session ON tempo(session_id, frame, id);",
	/* 3: who sent each op, as the client named it (client_id, client_seq),
	 * so that an op resent after a lost acknowledgement is recognised and
	 * acknowledged again instead of being applied twice. */
	"ALTER TABLE ops ADD COLUMN client_id TEXT;"
	"ALTER TABLE ops ADD COLUMN client_seq INTEGER;"
	"CREATE UNIQUE INDEX ops_client ON ops(doc_id, client_id, client_seq)"
	" WHERE client_id IS NOT NULL;",
	/* 4: access to a session: whether anyone may listen, and the tokens
	 * (invites) that give a role in it. Only a token's hash is kept. */
	"ALTER TABLE sessions ADD COLUMN listen_public INTEGER NOT NULL DEFAULT 1;"
	"CREATE TABLE session_tokens ("
	" id INTEGER PRIMARY KEY,"
	" session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" role TEXT NOT NULL CHECK (role IN ('owner', 'performer', 'listener')),"
	" hash BLOB NOT NULL,"
	" label TEXT NOT NULL DEFAULT '',"
	" created_at INTEGER NOT NULL,"
	" expires_at INTEGER,"
	" revoked_at INTEGER);"
	"CREATE INDEX session_tokens_session ON session_tokens(session_id);",
	/* 5: the session chat, kept with the session for its history. */
	"CREATE TABLE chat ("
	" id INTEGER PRIMARY KEY,"
	" session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" author TEXT NOT NULL,"
	" time_ms INTEGER NOT NULL,"
	" frame INTEGER NOT NULL,"
	" text TEXT NOT NULL);"
	"CREATE INDEX chat_session ON chat(session_id, id);",
	/* 6: what replay needs to render a session again exactly, and the
	 * archive of its live stream (docs/storage.md, "Replay").
	 * A run is one life of a session's render thread: its frames count
	 * from 0 at the run's start, which sits at start_frame on the
	 * session's own clock. Every change records the run it happened in
	 * and the render block it was applied at (applied_frame); an
	 * evaluation also the frame its table was built at (built_frame).
	 * A run begins by restoring the evaluations up to restore_upto. */
	"CREATE TABLE runs ("
	" id INTEGER PRIMARY KEY,"
	" session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" start_frame INTEGER NOT NULL CHECK (start_frame >= 0),"
	" started_ms INTEGER NOT NULL,"
	" cps REAL NOT NULL CHECK (cps > 0),"
	" restore_upto INTEGER NOT NULL DEFAULT 0,"
	" restore_applied INTEGER,"
	" restore_frame INTEGER,"
	" restore_cycle_n INTEGER,"
	" restore_cycle_d INTEGER CHECK (restore_cycle_d > 0),"
	" last_frame INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX runs_session ON runs(session_id, id);"
	"ALTER TABLE evaluations ADD COLUMN run_id INTEGER REFERENCES runs(id);"
	"ALTER TABLE evaluations ADD COLUMN applied_frame INTEGER;"
	"ALTER TABLE evaluations ADD COLUMN built_frame INTEGER;"
	"ALTER TABLE tempo ADD COLUMN run_id INTEGER REFERENCES runs(id);"
	"ALTER TABLE tempo ADD COLUMN applied_frame INTEGER;"
	"ALTER TABLE chat ADD COLUMN run_id INTEGER REFERENCES runs(id);"
	"CREATE TABLE controls ("
	" id INTEGER PRIMARY KEY,"
	" session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" applied_frame INTEGER NOT NULL CHECK (applied_frame >= 0),"
	" kind TEXT NOT NULL CHECK (kind IN ('hush', 'mute', 'solo')),"
	" track TEXT NOT NULL DEFAULT '',"
	" on_ INTEGER NOT NULL CHECK (on_ IN (0, 1)),"
	" author TEXT NOT NULL,"
	" time_ms INTEGER NOT NULL);"
	"CREATE INDEX controls_session ON controls(session_id, run_id, id);"
	"CREATE TABLE archive_files ("
	" id INTEGER PRIMARY KEY,"
	" session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,"
	" path TEXT NOT NULL,"
	" first_frame INTEGER NOT NULL,"
	" last_frame INTEGER NOT NULL,"
	" started_ms INTEGER NOT NULL,"
	" ended_ms INTEGER,"
	" bytes INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX archive_session ON archive_files(session_id, id);",
	/* accounts (server/accounts.c): which account owns a session, the
	 * roles other accounts hold in it, and revocation of account tokens
	 * (the rows of `tokens` are kept, so logins stay auditable). */
	"ALTER TABLE sessions ADD COLUMN owner_account INTEGER"
	" REFERENCES accounts(id) ON DELETE SET NULL;"
	"ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;"
	"CREATE TABLE session_members ("
	" session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	" role TEXT NOT NULL CHECK (role IN ('owner', 'performer', 'listener')),"
	" PRIMARY KEY (session_id, account_id)) WITHOUT ROWID;"
	"CREATE INDEX session_members_account ON session_members(account_id);",
	/* direct events (server/osc.c): every event played from outside the
	 * patterns (an OSC /dirt/play message), with the run frame it started
	 * at and its fields as JSON, so a replay starts it again exactly. */
	"CREATE TABLE direct_events ("
	" id INTEGER PRIMARY KEY,"
	" session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,"
	" frame INTEGER NOT NULL CHECK (frame >= 0),"
	" source TEXT NOT NULL,"
	" params TEXT NOT NULL,"
	" time_ms INTEGER NOT NULL);"
	"CREATE INDEX direct_events_session ON direct_events(session_id, run_id, frame);",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* PRAGMA application_id of a tutti database: "tutt" in ASCII. */
#define TT_APP_ID 0x74757474

int store__schema_latest(void)
{
	return N_MIGRATIONS;
}

/* Runs a query answering one integer. */
static int read_int(store *st, const char *sql, int *out)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int(s, 0);
		rc = SQLITE_OK;
	}
	rc = rc == SQLITE_OK ? TT_OK : store__err(st, rc);
	sqlite3_finalize(s);
	return rc;
}

static int read_version(store *st, int *out)
{
	return read_int(st, "PRAGMA user_version", out);
}

/* A database at version 0 must be empty (new); above 0 it must carry our
 * application id: tutti never migrates another program's database. */
static int check_ours(store *st, int v)
{
	int n = 0, rc;

	if (v == 0)
		rc = read_int(st, "SELECT count(*) FROM sqlite_master", &n);
	else
		rc = read_int(st, "PRAGMA application_id", &n);
	if (rc != TT_OK)
		return rc;
	if ((v == 0 && n != 0) || (v != 0 && n != TT_APP_ID))
		return store__fail(st, TT_EFORMAT, "not a tutti database "
				   "(it has tables but not tutti's)");
	return TT_OK;
}

static int too_new(store *st, int version)
{
	return store__fail(st, TT_EUNSUPPORTED,
			   "database schema version %d is newer than this "
			   "build of tutti knows (%d): use a newer tutti",
			   version, N_MIGRATIONS);
}

/* One step, version v to v + 1, inside the caller's transaction. */
static int apply_step(store *st, int v)
{
	char sql[64];
	int rc = store__exec(st, migrations[v]);

	if (rc != TT_OK)
		return rc;
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
	return store__exec(st, sql);
}

int store__migrate(store *st, int target)
{
	int v = 0, rc;

	if (target < 0 || target > N_MIGRATIONS)
		return store__fail(st, TT_EINVAL, "no schema version %d", target);
	if ((rc = read_version(st, &v)) != TT_OK)
		return rc;
	if ((rc = check_ours(st, v)) != TT_OK)
		return rc;
	if (v > N_MIGRATIONS)
		return too_new(st, v);
	if (st->cfg.read_only && v < target)
		return store__fail(st, TT_EUNSUPPORTED,
				   "database schema version %d is older than "
				   "this build's (%d) and a read-only open "
				   "cannot migrate it", v, target);
	while (v < target) {
		/* Re-read under the write lock: another process may have
		 * migrated since. */
		if ((rc = store__exec(st, "BEGIN IMMEDIATE")) != TT_OK)
			return rc;
		if ((rc = read_version(st, &v)) == TT_OK && v > N_MIGRATIONS)
			rc = too_new(st, v);
		if (rc == TT_OK && v < target)
			rc = apply_step(st, v);
		if (rc != TT_OK) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return rc;
		}
		if ((rc = store__exec(st, "COMMIT")) != TT_OK) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return rc;
		}
		if ((rc = read_version(st, &v)) != TT_OK)
			return rc;
	}
	return TT_OK;
}
