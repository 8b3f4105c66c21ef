/*
 * storage/store_session.c: sessions and their documents.
 *
 * Invariants:
 *  1. A session id is STORE_ID_LEN characters of RFC 4648 base32 in lower
 *     case ([a-z2-7]), drawn from SQLite's CSPRNG; a collision (2^-50 per
 *     pair) is answered by drawing again.
 *  2. Among a session's live documents (deleted_at IS NULL) names are
 *     unique, enforced by the partial unique index documents_live_name.
 *  3. A deleted document keeps its row, ops, snapshots and evaluations; no
 *     function here returns it.
 */
#include <string.h>

#include "common/error.h"
#include "storage/store_int.h"

/* Attempts at drawing a fresh session id before giving up. */
#define ID_ATTEMPTS 8

static void random_id(char id[STORE_ID_LEN + 1])
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char r[STORE_ID_LEN];
	int i;

	sqlite3_randomness(sizeof r, r);
	for (i = 0; i < STORE_ID_LEN; i++)
		id[i] = alphabet[r[i] & 31];
	id[STORE_ID_LEN] = '\0';
}

static int insert_session(store *st, const store_session *s)
{
	sqlite3_stmt *q = store__stmt(st, SQL_SESSION_INSERT,
		"INSERT INTO sessions (id, name, created_at) VALUES (?, ?, ?)");

	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, s->id, STORE_ID_LEN);
	store__bind_text(q, 2, s->name, strlen(s->name));
	sqlite3_bind_int64(q, 3, s->created_at);
	return store__exec_stmt(st, q);
}

int store_session_create(store *st, const char *name, store_session *out)
{
	store_session s;
	int rc, i;

	if ((rc = store__check_name(st, name, TT_MAX_SESSION_NAME,
				    "session")) != TT_OK)
		return rc;
	memcpy(s.name, name, strlen(name) + 1);
	s.created_at = store__now_ms();
	s.listen_public = true; /* the column's default */
	for (i = 0, rc = TT_EEXIST; i < ID_ATTEMPTS && rc == TT_EEXIST; i++) {
		random_id(s.id);
		if ((rc = store__tx_enter(st)) != TT_OK)
			return rc;
		rc = store__tx_leave(st, insert_session(st, &s));
	}
	if (rc == TT_OK)
		*out = s;
	return rc;
}

static void read_session(sqlite3_stmt *q, store_session *s)
{
	store__col_copy(q, 0, s->id, sizeof s->id);
	store__col_copy(q, 1, s->name, sizeof s->name);
	s->created_at = sqlite3_column_int64(q, 2);
	s->listen_public = sqlite3_column_int(q, 3) != 0;
}

int store_session_get(store *st, const char *id, store_session *out)
{
	sqlite3_stmt *q = store__stmt(st, SQL_SESSION_GET,
		"SELECT id, name, created_at, listen_public FROM sessions WHERE id = ?");
	int rc;

	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, id, id ? strlen(id) : 0);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		read_session(q, out);
		rc = TT_OK;
	} else if (rc == SQLITE_DONE) {
		rc = store__fail(st, TT_ENOTFOUND, "no session '%.*s'",
				 STORE_ID_LEN * 2, id ? id : "");
	} else {
		rc = store__err(st, rc);
	}
	store__done(q);
	return rc;
}

int store_session_list(store *st, int limit, store_session_fn fn, void *ctx)
{
	sqlite3_stmt *q = store__stmt(st, SQL_SESSION_LIST,
		"SELECT id, name, created_at, listen_public FROM sessions"
		" ORDER BY created_at DESC, rowid DESC LIMIT ?");
	store_session s;
	int rc = SQLITE_DONE, stop = 0;

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, limit > 0 ? limit : -1);
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		read_session(q, &s);
		stop = fn(&s, ctx);
	}
	if (!stop)
		rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	store__done(q);
	return stop ? stop : rc;
}

/* ---- documents ---- */

#define DOC_COLUMNS \
	"d.id, d.session_id, d.name, d.created_at," \
	" (SELECT coalesce(max(revision), 0) FROM ops WHERE doc_id = d.id)"

static void read_doc(sqlite3_stmt *q, store_doc *d)
{
	d->id = sqlite3_column_int64(q, 0);
	store__col_copy(q, 1, d->session_id, sizeof d->session_id);
	store__col_copy(q, 2, d->name, sizeof d->name);
	d->created_at = sqlite3_column_int64(q, 3);
	d->revision = sqlite3_column_int64(q, 4);
}

/* Steps a query answering at most one document. */
static int one_doc(store *st, sqlite3_stmt *q, store_doc *out)
{
	int rc = sqlite3_step(q);

	if (rc == SQLITE_ROW) {
		read_doc(q, out);
		rc = TT_OK;
	} else if (rc == SQLITE_DONE) {
		rc = store__fail(st, TT_ENOTFOUND, "no such document");
	} else {
		rc = store__err(st, rc);
	}
	store__done(q);
	return rc;
}

int store_doc_get(store *st, int64_t doc_id, store_doc *out)
{
	sqlite3_stmt *q = store__stmt(st, SQL_DOC_GET, "SELECT " DOC_COLUMNS
		" FROM documents d WHERE d.id = ? AND d.deleted_at IS NULL");

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, doc_id);
	return one_doc(st, q, out);
}

int store_doc_find(store *st, const char *session_id, const char *name,
		   store_doc *out)
{
	sqlite3_stmt *q = store__stmt(st, SQL_DOC_FIND, "SELECT " DOC_COLUMNS
		" FROM documents d WHERE d.session_id = ? AND d.name = ?"
		" AND d.deleted_at IS NULL");

	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, session_id, session_id ? strlen(session_id) : 0);
	store__bind_text(q, 2, name, name ? strlen(name) : 0);
	return one_doc(st, q, out);
}

/* Maps the unique index's refusal to a message that names the name. */
static int name_taken(store *st, int rc, const char *name)
{
	if (rc == TT_EEXIST)
		store__fail(st, rc, "a document named '%s' exists in this "
			    "session", name);
	else if (rc == TT_ENOTFOUND)
		store__fail(st, rc, "no such session");
	return rc;
}

static int insert_doc(store *st, store_doc *d)
{
	sqlite3_stmt *q = store__stmt(st, SQL_DOC_INSERT,
		"INSERT INTO documents (session_id, name, created_at)"
		" VALUES (?, ?, ?)");
	int rc;

	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, d->session_id, strlen(d->session_id));
	store__bind_text(q, 2, d->name, strlen(d->name));
	sqlite3_bind_int64(q, 3, d->created_at);
	if ((rc = store__exec_stmt(st, q)) == TT_OK)
		d->id = sqlite3_last_insert_rowid(st->db);
	return name_taken(st, rc, d->name);
}

int store_doc_create(store *st, const char *session_id, const char *name,
		     store_doc *out)
{
	store_doc d;
	int rc;

	if ((rc = store__check_name(st, name, TT_MAX_DOC_NAME, "document"))
	    != TT_OK)
		return rc;
	if (!session_id || strlen(session_id) != STORE_ID_LEN)
		return store__fail(st, TT_ENOTFOUND, "no such session");
	memset(&d, 0, sizeof d);
	memcpy(d.session_id, session_id, STORE_ID_LEN + 1);
	memcpy(d.name, name, strlen(name) + 1);
	d.created_at = store__now_ms();
	if ((rc = store__tx_enter(st)) != TT_OK)
		return rc;
	rc = store__tx_leave(st, insert_doc(st, &d));
	if (rc == TT_OK)
		*out = d;
	return rc;
}

/* Runs an UPDATE of one live document inside its own transaction;
 * TT_ENOTFOUND when it touched no row. */
static int update_doc(store *st, sqlite3_stmt *q, const char *name)
{
	int rc = store__tx_enter(st);

	if (rc != TT_OK) {
		store__done(q);
		return rc;
	}
	rc = name_taken(st, store__exec_stmt(st, q), name);
	if (rc == TT_OK && sqlite3_changes(st->db) == 0)
		rc = store__fail(st, TT_ENOTFOUND, "no such document");
	return store__tx_leave(st, rc);
}

int store_doc_rename(store *st, int64_t doc_id, const char *name)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = store__check_name(st, name, TT_MAX_DOC_NAME, "document"))
	    != TT_OK)
		return rc;
	q = store__stmt(st, SQL_DOC_RENAME, "UPDATE documents SET name = ?"
			" WHERE id = ? AND deleted_at IS NULL");
	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, name, strlen(name));
	sqlite3_bind_int64(q, 2, doc_id);
	return update_doc(st, q, name);
}

int store_doc_delete(store *st, int64_t doc_id)
{
	sqlite3_stmt *q = store__stmt(st, SQL_DOC_DELETE,
		"UPDATE documents SET deleted_at = ?"
		" WHERE id = ? AND deleted_at IS NULL");

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, store__now_ms());
	sqlite3_bind_int64(q, 2, doc_id);
	return update_doc(st, q, "");
}

int store_doc_list(store *st, const char *session_id, store_doc_fn fn,
		   void *ctx)
{
	sqlite3_stmt *q = store__stmt(st, SQL_DOC_LIST, "SELECT " DOC_COLUMNS
		" FROM documents d WHERE d.session_id = ?"
		" AND d.deleted_at IS NULL ORDER BY d.id");
	store_doc d;
	int rc = SQLITE_DONE, stop = 0;

	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, session_id, session_id ? strlen(session_id) : 0);
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		read_doc(q, &d);
		stop = fn(&d, ctx);
	}
	if (!stop)
		rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	store__done(q);
	return stop ? stop : rc;
}
