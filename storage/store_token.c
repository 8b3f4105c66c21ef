/* storage/store_token.c: session access: listen flag and tokens. */
#include <string.h>

#include "common/error.h"
#include "storage/store_int.h"

static const char *const role_names[] = { "none", "listener", "performer", "owner" };

const char *store_role_name(store_role r)
{
	return (unsigned)r < 4 ? role_names[r] : "none";
}

store_role store_role_parse(const char *name)
{
	for (int i = 1; i < 4; i++)
		if (name && strcmp(name, role_names[i]) == 0)
			return (store_role)i;
	return STORE_ROLE_NONE;
}

int store_session_set_listen_public(store *st, const char *id, bool on)
{
	sqlite3_stmt *q = store__stmt(st, SQL_SESSION_SET_LISTEN,
		"UPDATE sessions SET listen_public = ? WHERE id = ?");
	int rc;

	if (!q)
		return TT_EDB;
	sqlite3_bind_int(q, 1, on);
	store__bind_text(q, 2, id, strlen(id));
	if ((rc = store__tx_enter(st)) != TT_OK) {
		store__done(q);
		return rc;
	}
	rc = store__exec_stmt(st, q);
	if (rc == TT_OK && sqlite3_changes(st->db) == 0)
		rc = store__fail(st, TT_ENOTFOUND, "no session '%.20s'", id);
	return store__tx_leave(st, rc);
}

int store_token_create(store *st, store_token *t)
{
	sqlite3_stmt *q;
	int rc;

	if (t->role < STORE_ROLE_LISTENER || t->role > STORE_ROLE_OWNER)
		return store__fail(st, TT_EINVAL, "bad role");
	q = store__stmt(st, SQL_TOKEN_INSERT,
		"INSERT INTO session_tokens (session_id, role, hash, label, created_at, expires_at)"
		" VALUES (?, ?, ?, ?, ?, ?)");
	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, t->session_id, strlen(t->session_id));
	sqlite3_bind_text(q, 2, store_role_name(t->role), -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, t->hash, STORE_TOKEN_HASH, SQLITE_TRANSIENT);
	store__bind_text(q, 4, t->label, strlen(t->label));
	sqlite3_bind_int64(q, 5, t->created_at);
	if (t->expires_at)
		sqlite3_bind_int64(q, 6, t->expires_at);
	else
		sqlite3_bind_null(q, 6);
	if ((rc = store__tx_enter(st)) != TT_OK) {
		store__done(q);
		return rc;
	}
	rc = store__exec_stmt(st, q);
	if (rc == TT_OK)
		t->id = sqlite3_last_insert_rowid(st->db);
	return store__tx_leave(st, rc);
}

static void read_token(sqlite3_stmt *q, store_token *t)
{
	const void *h = sqlite3_column_blob(q, 3);

	memset(t, 0, sizeof *t);
	t->id = sqlite3_column_int64(q, 0);
	store__col_copy(q, 1, t->session_id, sizeof t->session_id);
	t->role = store_role_parse((const char *)sqlite3_column_text(q, 2));
	if (h && sqlite3_column_bytes(q, 3) == STORE_TOKEN_HASH)
		memcpy(t->hash, h, STORE_TOKEN_HASH);
	store__col_copy(q, 4, t->label, sizeof t->label);
	t->created_at = sqlite3_column_int64(q, 5);
	t->expires_at = sqlite3_column_int64(q, 6);
	t->revoked_at = sqlite3_column_int64(q, 7);
}

#define TOKEN_COLUMNS "id, session_id, role, hash, label, created_at, expires_at, revoked_at"

int store_token_get(store *st, int64_t id, store_token *out)
{
	sqlite3_stmt *q = store__stmt(st, SQL_TOKEN_GET,
		"SELECT " TOKEN_COLUMNS " FROM session_tokens WHERE id = ?");
	int rc;

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		read_token(q, out);
		rc = TT_OK;
	} else if (rc == SQLITE_DONE) {
		rc = store__fail(st, TT_ENOTFOUND, "no token %lld", (long long)id);
	} else {
		rc = store__err(st, rc);
	}
	store__done(q);
	return rc;
}

int store_token_revoke(store *st, const char *session_id, int64_t id, int64_t now_ms)
{
	sqlite3_stmt *q = store__stmt(st, SQL_TOKEN_REVOKE,
		"UPDATE session_tokens SET revoked_at = coalesce(revoked_at, ?)"
		" WHERE id = ? AND session_id = ?");
	int rc;

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, now_ms);
	sqlite3_bind_int64(q, 2, id);
	store__bind_text(q, 3, session_id, strlen(session_id));
	if ((rc = store__tx_enter(st)) != TT_OK) {
		store__done(q);
		return rc;
	}
	rc = store__exec_stmt(st, q);
	if (rc == TT_OK && sqlite3_changes(st->db) == 0)
		rc = store__fail(st, TT_ENOTFOUND, "no token %lld in this session", (long long)id);
	return store__tx_leave(st, rc);
}

int store_token_list(store *st, const char *session_id, store_token_fn fn, void *ctx)
{
	sqlite3_stmt *q = store__stmt(st, SQL_TOKEN_LIST,
		"SELECT " TOKEN_COLUMNS " FROM session_tokens WHERE session_id = ? ORDER BY id");
	store_token t;
	int rc = SQLITE_DONE, stop = 0;

	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, session_id, strlen(session_id));
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		read_token(q, &t);
		stop = fn(&t, ctx);
	}
	if (!stop)
		rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	store__done(q);
	return stop ? stop : rc;
}
