/*
 * storage/store_account.c: accounts, their tokens, session owners and
 * members (see store.h, "Accounts").
 *
 * These statements are prepared per call rather than cached in the
 * handle's table: they run on a login, a membership change or a request
 * that carries an account token, never per edit, and keeping them here
 * leaves store_int.h's shared list alone.
 */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "storage/store_int.h"

/* Prepares sql; NULL on failure (recorded). Finalize with sqlite3_finalize. */
static sqlite3_stmt *prep(store *st, const char *sql)
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

/* Runs a write statement q in its own transaction (or the group's
 * savepoint) and finalizes it. *changes (may be NULL) gets the rows hit. */
static int write_once(store *st, sqlite3_stmt *q, int *changes)
{
	int rc = store__tx_enter(st), ext;

	if (rc != TT_OK) {
		sqlite3_finalize(q);
		return rc;
	}
	rc = sqlite3_step(q);
	ext = sqlite3_extended_errcode(st->db);
	if (rc == SQLITE_DONE) {
		rc = TT_OK;
	} else if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
		rc = store__fail(st, TT_EEXIST, "%s", sqlite3_errmsg(st->db));
	} else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY) {
		rc = store__fail(st, TT_ENOTFOUND, "no such session or account");
	} else {
		rc = store__err(st, rc);
	}
	if (changes)
		*changes = sqlite3_changes(st->db);
	sqlite3_finalize(q);
	return store__tx_leave(st, rc);
}

static int check_account_name(store *st, const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0)
		return store__fail(st, TT_EINVAL, "account name is empty");
	if (n > TT_MAX_ACCOUNT_NAME)
		return store__fail(st, TT_ELIMIT, "account name is %zu bytes, over the limit of %d",
				   n, TT_MAX_ACCOUNT_NAME);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return store__fail(st, TT_EINVAL, "account name may hold only letters, "
					   "digits, '.', '_' and '-'");
	}
	return TT_OK;
}

static int check_hash(store *st, const char *pass_hash)
{
	size_t n = pass_hash ? strlen(pass_hash) : 0;

	if (n == 0)
		return store__fail(st, TT_EINVAL, "empty password hash");
	if (n >= STORE_PASS_HASH_MAX)
		return store__fail(st, TT_ELIMIT, "password hash longer than %d bytes",
				   STORE_PASS_HASH_MAX - 1);
	return TT_OK;
}

#define ACCOUNT_COLUMNS "id, name, role, pass_hash, created_at"

static void read_account(sqlite3_stmt *q, store_account *a)
{
	const char *role = (const char *)sqlite3_column_text(q, 2);

	memset(a, 0, sizeof *a);
	a->id = sqlite3_column_int64(q, 0);
	store__col_copy(q, 1, a->name, sizeof a->name);
	a->admin = role && strcmp(role, "admin") == 0;
	store__col_copy(q, 3, a->pass_hash, sizeof a->pass_hash);
	a->created_at = sqlite3_column_int64(q, 4);
}

/* Steps q for one account row; finalizes q. */
static int one_account(store *st, sqlite3_stmt *q, store_account *out, const char *what)
{
	int rc = sqlite3_step(q);

	if (rc == SQLITE_ROW) {
		read_account(q, out);
		rc = TT_OK;
	} else if (rc == SQLITE_DONE) {
		rc = store__fail(st, TT_ENOTFOUND, "no account %s", what);
	} else {
		rc = store__err(st, rc);
	}
	sqlite3_finalize(q);
	return rc;
}

int store_account_create(store *st, const char *name, bool admin, const char *pass_hash,
			 store_account *out)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = check_account_name(st, name)) != TT_OK || (rc = check_hash(st, pass_hash)) != TT_OK)
		return rc;
	if (!(q = prep(st, "INSERT INTO accounts (name, role, pass_hash, created_at)"
			   " VALUES (?, ?, ?, ?)")))
		return TT_EDB;
	memset(out, 0, sizeof *out);
	snprintf(out->name, sizeof out->name, "%s", name);
	snprintf(out->pass_hash, sizeof out->pass_hash, "%s", pass_hash);
	out->admin = admin;
	out->created_at = store__now_ms();
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, admin ? "admin" : "performer", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, pass_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, out->created_at);
	rc = write_once(st, q, NULL);
	if (rc == TT_EEXIST)
		rc = store__fail(st, TT_EEXIST, "an account named '%s' exists", name);
	if (rc == TT_OK)
		out->id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int store_account_get(store *st, int64_t id, store_account *out)
{
	sqlite3_stmt *q = prep(st, "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id = ?");

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, id);
	return one_account(st, q, out, "with this id");
}

int store_account_find(store *st, const char *name, store_account *out)
{
	sqlite3_stmt *q = prep(st, "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE name = ?");

	if (!q)
		return TT_EDB;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	return one_account(st, q, out, "with this name");
}

int store_account_set_password(store *st, int64_t id, const char *pass_hash)
{
	sqlite3_stmt *q;
	int rc, n = 0;

	if ((rc = check_hash(st, pass_hash)) != TT_OK)
		return rc;
	if (!(q = prep(st, "UPDATE accounts SET pass_hash = ? WHERE id = ?")))
		return TT_EDB;
	sqlite3_bind_text(q, 1, pass_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, id);
	rc = write_once(st, q, &n);
	if (rc == TT_OK && n == 0)
		rc = store__fail(st, TT_ENOTFOUND, "no account %lld", (long long)id);
	return rc;
}

int store_account_count(store *st, int64_t *n)
{
	sqlite3_stmt *q = prep(st, "SELECT count(*) FROM accounts");
	int rc;

	if (!q)
		return TT_EDB;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*n = sqlite3_column_int64(q, 0);
		rc = TT_OK;
	} else {
		rc = store__err(st, rc);
	}
	sqlite3_finalize(q);
	return rc;
}

/* ---- account tokens: rows of `tokens`, addressed by rowid ---- */

int store_account_token_create(store *st, store_account_token *t)
{
	sqlite3_stmt *q = prep(st, "INSERT INTO tokens (hash, account_id, label, created_at,"
			       " expires_at) VALUES (?, ?, ?, ?, ?)");
	int rc;

	if (!q)
		return TT_EDB;
	sqlite3_bind_blob(q, 1, t->hash, STORE_TOKEN_HASH, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, t->account_id);
	sqlite3_bind_text(q, 3, t->label, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, t->created_at);
	if (t->expires_at)
		sqlite3_bind_int64(q, 5, t->expires_at);
	else
		sqlite3_bind_null(q, 5);
	rc = write_once(st, q, NULL);
	if (rc == TT_OK)
		t->id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int store_account_token_get(store *st, int64_t id, store_account_token *out)
{
	sqlite3_stmt *q = prep(st, "SELECT rowid, account_id, hash, label, created_at,"
			       " expires_at, revoked_at FROM tokens WHERE rowid = ?");
	int rc;

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(q, 2);
		memset(out, 0, sizeof *out);
		out->id = sqlite3_column_int64(q, 0);
		out->account_id = sqlite3_column_int64(q, 1);
		if (h && sqlite3_column_bytes(q, 2) == STORE_TOKEN_HASH)
			memcpy(out->hash, h, STORE_TOKEN_HASH);
		store__col_copy(q, 3, out->label, sizeof out->label);
		out->created_at = sqlite3_column_int64(q, 4);
		out->expires_at = sqlite3_column_int64(q, 5);
		out->revoked_at = sqlite3_column_int64(q, 6);
		rc = TT_OK;
	} else if (rc == SQLITE_DONE) {
		rc = store__fail(st, TT_ENOTFOUND, "no token %lld", (long long)id);
	} else {
		rc = store__err(st, rc);
	}
	sqlite3_finalize(q);
	return rc;
}

int store_account_token_revoke(store *st, int64_t account_id, int64_t id, int64_t now_ms)
{
	sqlite3_stmt *q = prep(st, "UPDATE tokens SET revoked_at = coalesce(revoked_at, ?)"
			       " WHERE rowid = ? AND account_id = ?");
	int rc, n = 0;

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, now_ms);
	sqlite3_bind_int64(q, 2, id);
	sqlite3_bind_int64(q, 3, account_id);
	rc = write_once(st, q, &n);
	if (rc == TT_OK && n == 0)
		rc = store__fail(st, TT_ENOTFOUND, "no token %lld of this account", (long long)id);
	return rc;
}

int store_account_tokens_revoke_all(store *st, int64_t account_id, int64_t keep_id,
				    int64_t now_ms)
{
	sqlite3_stmt *q = prep(st, "UPDATE tokens SET revoked_at = ? WHERE account_id = ?"
			       " AND rowid <> ? AND revoked_at IS NULL");

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, now_ms);
	sqlite3_bind_int64(q, 2, account_id);
	sqlite3_bind_int64(q, 3, keep_id);
	return write_once(st, q, NULL);
}

/* ---- session owners and members ---- */

int store_session_owner_account(store *st, const char *session_id, int64_t *account_id)
{
	sqlite3_stmt *q = prep(st, "SELECT owner_account FROM sessions WHERE id = ?");
	int rc;

	if (!q)
		return TT_EDB;
	sqlite3_bind_text(q, 1, session_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*account_id = sqlite3_column_int64(q, 0); /* NULL reads as 0 */
		rc = TT_OK;
	} else if (rc == SQLITE_DONE) {
		rc = store__fail(st, TT_ENOTFOUND, "no session '%.20s'", session_id);
	} else {
		rc = store__err(st, rc);
	}
	sqlite3_finalize(q);
	return rc;
}

int store_session_set_owner_account(store *st, const char *session_id, int64_t account_id)
{
	sqlite3_stmt *q = prep(st, "UPDATE sessions SET owner_account = ? WHERE id = ?");
	int rc, n = 0;

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, account_id);
	sqlite3_bind_text(q, 2, session_id, -1, SQLITE_STATIC);
	rc = write_once(st, q, &n);
	if (rc == TT_OK && n == 0)
		rc = store__fail(st, TT_ENOTFOUND, "no session '%.20s'", session_id);
	return rc;
}

int store_member_get(store *st, const char *session_id, int64_t account_id, store_role *out)
{
	sqlite3_stmt *q = prep(st, "SELECT role FROM session_members"
			       " WHERE session_id = ? AND account_id = ?");
	int rc;

	if (!q)
		return TT_EDB;
	sqlite3_bind_text(q, 1, session_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, account_id);
	rc = sqlite3_step(q);
	*out = STORE_ROLE_NONE;
	if (rc == SQLITE_ROW) {
		*out = store_role_parse((const char *)sqlite3_column_text(q, 0));
		rc = TT_OK;
	} else {
		rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	}
	sqlite3_finalize(q);
	return rc;
}

int store_member_set(store *st, const char *session_id, int64_t account_id, store_role role)
{
	sqlite3_stmt *q;

	if (role < STORE_ROLE_LISTENER || role > STORE_ROLE_OWNER)
		return store__fail(st, TT_EINVAL, "bad role");
	if (!(q = prep(st, "INSERT INTO session_members (session_id, account_id, role)"
			   " VALUES (?, ?, ?) ON CONFLICT (session_id, account_id)"
			   " DO UPDATE SET role = excluded.role")))
		return TT_EDB;
	sqlite3_bind_text(q, 1, session_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, account_id);
	sqlite3_bind_text(q, 3, store_role_name(role), -1, SQLITE_STATIC);
	return write_once(st, q, NULL);
}

int store_member_remove(store *st, const char *session_id, int64_t account_id)
{
	sqlite3_stmt *q = prep(st, "DELETE FROM session_members"
			       " WHERE session_id = ? AND account_id = ?");
	int rc, n = 0;

	if (!q)
		return TT_EDB;
	sqlite3_bind_text(q, 1, session_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, account_id);
	rc = write_once(st, q, &n);
	if (rc == TT_OK && n == 0)
		rc = store__fail(st, TT_ENOTFOUND, "that account is not a member of the session");
	return rc;
}

int store_member_list(store *st, const char *session_id, store_member_fn fn, void *ctx)
{
	sqlite3_stmt *q = prep(st, "SELECT a.name, m.role FROM session_members m"
			       " JOIN accounts a ON a.id = m.account_id"
			       " WHERE m.session_id = ? ORDER BY a.name");
	int rc = SQLITE_DONE, stop = 0;

	if (!q)
		return TT_EDB;
	sqlite3_bind_text(q, 1, session_id, -1, SQLITE_STATIC);
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW)
		stop = fn((const char *)sqlite3_column_text(q, 0),
			  store_role_parse((const char *)sqlite3_column_text(q, 1)), ctx);
	if (!stop)
		rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	sqlite3_finalize(q);
	return stop ? stop : rc;
}
