/* storage/store_chat.c: the session chat. */
#include <string.h>

#include "common/error.h"
#include "common/limits.h"
#include "common/utf8.h"
#include "storage/store_int.h"

int store_chat_append(store *st, store_chat *c)
{
	sqlite3_stmt *q;
	size_t n = c->text ? strlen(c->text) : 0;
	int rc;

	if (n == 0 || !utf8_valid(c->text, n))
		return store__fail(st, TT_EINVAL, "a chat message must be 1 or more bytes of UTF-8");
	if (n > TT_MAX_CHAT_BYTES)
		return store__fail(st, TT_ELIMIT, "a chat message has at most %d bytes",
				   TT_MAX_CHAT_BYTES);
	q = store__stmt(st, SQL_CHAT_INSERT,
		"INSERT INTO chat (session_id, author, time_ms, frame, text) VALUES (?, ?, ?, ?, ?)");
	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, c->session_id, strlen(c->session_id));
	store__bind_text(q, 2, c->author, strlen(c->author));
	sqlite3_bind_int64(q, 3, c->time_ms);
	sqlite3_bind_int64(q, 4, c->frame);
	store__bind_text(q, 5, c->text, n);
	if ((rc = store__tx_enter(st)) != TT_OK) {
		store__done(q);
		return rc;
	}
	rc = store__exec_stmt(st, q);
	if (rc == TT_OK)
		c->id = sqlite3_last_insert_rowid(st->db);
	return store__tx_leave(st, rc);
}

int store_chat_recent(store *st, const char *session_id, int limit, store_chat_fn fn, void *ctx)
{
	sqlite3_stmt *q = store__stmt(st, SQL_CHAT_RECENT,
		"SELECT id, session_id, author, time_ms, frame, text FROM"
		" (SELECT * FROM chat WHERE session_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id");
	store_chat c;
	int rc = SQLITE_DONE, stop = 0;

	if (!q)
		return TT_EDB;
	store__bind_text(q, 1, session_id, strlen(session_id));
	sqlite3_bind_int(q, 2, limit);
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		c.id = sqlite3_column_int64(q, 0);
		c.session_id = (const char *)sqlite3_column_text(q, 1);
		c.author = (const char *)sqlite3_column_text(q, 2);
		c.time_ms = sqlite3_column_int64(q, 3);
		c.frame = sqlite3_column_int64(q, 4);
		c.text = (const char *)sqlite3_column_text(q, 5);
		stop = fn(&c, ctx);
	}
	if (!stop)
		rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	store__done(q);
	return stop ? stop : rc;
}
