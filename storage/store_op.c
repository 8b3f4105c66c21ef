/*
 * storage/store_op.c: the operation log and snapshots.
 *
 * Invariants:
 *  1. A document's ops are revisions 1..head, each exactly once: the
 *     primary key (doc_id, revision) refuses a second copy, and
 *     store_ops_append refuses any revision but head + 1 (TT_ECONFLICT).
 *  2. A batch is one transaction (or one savepoint of a group): it is
 *     stored whole or not at all, so an acknowledgement sent after the
 *     commit covers every op of the batch.
 *  3. Ops and snapshots are opaque: stored and returned byte for byte.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "storage/store_int.h"

/* Whether the document exists (live or deleted) and its head revision. */
static int doc_head(store *st, int64_t doc_id, int *exists, int64_t *head)
{
	sqlite3_stmt *q = store__stmt(st, SQL_OP_HEAD,
		"SELECT (SELECT count(*) FROM documents WHERE id = ?1),"
		" (SELECT coalesce(max(revision), 0) FROM ops WHERE doc_id = ?1)");
	int rc;

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, doc_id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*exists = sqlite3_column_int(q, 0) > 0;
		*head = sqlite3_column_int64(q, 1);
		rc = TT_OK;
	} else {
		rc = store__err(st, rc);
	}
	store__done(q);
	return rc;
}

/*
 * Heads of the documents a batch touched, valid only inside the batch's
 * transaction (which holds the write lock, so nobody else moves them): a
 * batch of many ops per document asks the database for each head once.
 */
#define HEAD_CACHE 16

typedef struct head_cache {
	int64_t doc[HEAD_CACHE];
	int64_t head[HEAD_CACHE];
	int n, next;
} head_cache;

static int64_t *cached_head(head_cache *c, int64_t doc)
{
	int i;

	for (i = 0; i < c->n; i++)
		if (c->doc[i] == doc)
			return &c->head[i];
	return NULL;
}

static void cache_head(head_cache *c, int64_t doc, int64_t head)
{
	int i = c->n < HEAD_CACHE ? c->n++ : c->next++ % HEAD_CACHE;

	c->doc[i] = doc;
	c->head[i] = head;
}

/* The head of op's document: from the cache, or asked and then cached. */
static int batch_head(store *st, head_cache *c, int64_t doc, int64_t *head)
{
	int64_t *h = cached_head(c, doc);
	int exists = 0, rc;

	if (h) {
		*head = *h;
		return TT_OK;
	}
	if ((rc = doc_head(st, doc, &exists, head)) != TT_OK)
		return rc;
	if (!exists)
		return store__fail(st, TT_ENOTFOUND, "no document %lld",
				   (long long)doc);
	cache_head(c, doc, *head);
	return TT_OK;
}

static int append_one(store *st, head_cache *c, const store_op *op)
{
	sqlite3_stmt *q;
	int64_t head = 0;
	int rc;

	if (!op->op || op->op_len > INT_MAX)
		return store__fail(st, op->op ? TT_ELIMIT : TT_EINVAL,
				   "bad operation text");
	if ((rc = batch_head(st, c, op->doc_id, &head)) != TT_OK)
		return rc;
	if (op->revision != head + 1)
		return store__fail(st, TT_ECONFLICT, "document %lld is at "
				   "revision %lld: op revision %lld is not the "
				   "next", (long long)op->doc_id,
				   (long long)head, (long long)op->revision);
	q = store__stmt(st, SQL_OP_INSERT, "INSERT INTO ops"
			" (doc_id, revision, author, time_ms, op, client_id, client_seq)"
			" VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, op->doc_id);
	sqlite3_bind_int64(q, 2, op->revision);
	store__bind_text(q, 3, op->author, op->author ? strlen(op->author) : 0);
	sqlite3_bind_int64(q, 4, op->time_ms);
	store__bind_text(q, 5, op->op, op->op_len);
	if (op->client_id) {
		store__bind_text(q, 6, op->client_id, strlen(op->client_id));
		sqlite3_bind_int64(q, 7, op->client_seq);
	} else {
		sqlite3_bind_null(q, 6);
		sqlite3_bind_null(q, 7);
	}
	if ((rc = store__exec_stmt(st, q)) == TT_OK)
		*cached_head(c, op->doc_id) = op->revision;
	return rc;
}

int store_ops_append(store *st, const store_op *ops, size_t n, size_t *failed)
{
	head_cache c;
	size_t i;
	int rc;

	c.n = c.next = 0;
	if (failed)
		*failed = n;
	if (n == 0)
		return TT_OK;
	if ((rc = store__tx_enter(st)) != TT_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if ((rc = append_one(st, &c, &ops[i])) != TT_OK) {
			if (failed)
				*failed = i;
			break;
		}
	}
	return store__tx_leave(st, rc);
}

int store_ops_since(store *st, int64_t doc_id, int64_t after, store_op_fn fn,
		    void *ctx)
{
	sqlite3_stmt *q = store__stmt(st, SQL_OP_SINCE,
		"SELECT revision, time_ms, author, op, client_id, client_seq FROM ops"
		" WHERE doc_id = ? AND revision > ? ORDER BY revision");
	store_op op;
	int rc = SQLITE_DONE, stop = 0;

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, doc_id);
	sqlite3_bind_int64(q, 2, after);
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		op.doc_id = doc_id;
		op.revision = sqlite3_column_int64(q, 0);
		op.time_ms = sqlite3_column_int64(q, 1);
		op.author = (const char *)sqlite3_column_text(q, 2);
		op.op = (const char *)sqlite3_column_text(q, 3);
		op.op_len = (size_t)sqlite3_column_bytes(q, 3);
		if (!op.author)
			op.author = "";
		if (!op.op)
			op.op = "";
		op.client_id = (const char *)sqlite3_column_text(q, 4);
		op.client_seq = sqlite3_column_int64(q, 5);
		stop = fn(&op, ctx);
	}
	if (!stop)
		rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	store__done(q);
	return stop ? stop : rc;
}

int store_ops_last_by_client(store *st, int64_t doc_id, store_op_fn fn, void *ctx)
{
	/* SQLite takes the bare column 'revision' from the row holding the max. */
	sqlite3_stmt *q = store__stmt(st, SQL_OP_LAST_BY_CLIENT,
		"SELECT client_id, max(client_seq), revision FROM ops"
		" WHERE doc_id = ? AND client_id IS NOT NULL GROUP BY client_id");
	store_op op;
	int rc = SQLITE_DONE, stop = 0;

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, doc_id);
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		memset(&op, 0, sizeof op);
		op.doc_id = doc_id;
		op.author = "";
		op.op = "";
		op.client_id = (const char *)sqlite3_column_text(q, 0);
		op.client_seq = sqlite3_column_int64(q, 1);
		op.revision = sqlite3_column_int64(q, 2);
		stop = fn(&op, ctx);
	}
	if (!stop)
		rc = rc == SQLITE_DONE ? TT_OK : store__err(st, rc);
	store__done(q);
	return stop ? stop : rc;
}

/* ---- snapshots ---- */

int store_snapshot_put(store *st, int64_t doc_id, int64_t revision,
		       const char *text, size_t len)
{
	sqlite3_stmt *q;
	int rc;

	if (!text || revision < 0)
		return store__fail(st, TT_EINVAL, "bad snapshot");
	if (len > TT_MAX_DOC_BYTES)
		return store__fail(st, TT_ELIMIT, "snapshot of %zu bytes is over"
				   " the document limit of %d bytes", len,
				   TT_MAX_DOC_BYTES);
	q = store__stmt(st, SQL_SNAP_INSERT, "INSERT INTO snapshots"
			" (doc_id, revision, text) VALUES (?, ?, ?)");
	if (!q)
		return TT_EDB;
	if ((rc = store__tx_enter(st)) != TT_OK)
		return rc;
	sqlite3_bind_int64(q, 1, doc_id);
	sqlite3_bind_int64(q, 2, revision);
	store__bind_text(q, 3, text, len);
	rc = store__exec_stmt(st, q);
	if (rc == TT_ENOTFOUND)
		store__fail(st, rc, "no document %lld", (long long)doc_id);
	else if (rc == TT_EEXIST)
		store__fail(st, rc, "document %lld has a snapshot at revision "
			    "%lld", (long long)doc_id, (long long)revision);
	return store__tx_leave(st, rc);
}

static int copy_text(store *st, sqlite3_stmt *q, int col, char **text,
		     size_t *len)
{
	const unsigned char *t = sqlite3_column_text(q, col);
	size_t n = (size_t)sqlite3_column_bytes(q, col);
	char *buf = malloc(n + 1);

	if (!buf)
		return store__fail(st, TT_ENOMEM, "out of memory");
	if (n)
		memcpy(buf, t, n);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return TT_OK;
}

int store_snapshot_load(store *st, int64_t doc_id, int64_t at_most,
			int64_t *revision, char **text, size_t *len)
{
	sqlite3_stmt *q = store__stmt(st, SQL_SNAP_LOAD,
		"SELECT revision, text FROM snapshots WHERE doc_id = ?"
		" AND revision <= ? ORDER BY revision DESC LIMIT 1");
	int rc;

	if (!q)
		return TT_EDB;
	sqlite3_bind_int64(q, 1, doc_id);
	sqlite3_bind_int64(q, 2, at_most);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*revision = sqlite3_column_int64(q, 0);
		rc = copy_text(st, q, 1, text, len);
	} else if (rc == SQLITE_DONE) {
		rc = store__fail(st, TT_ENOTFOUND, "document %lld has no "
				 "snapshot", (long long)doc_id);
	} else {
		rc = store__err(st, rc);
	}
	store__done(q);
	return rc;
}
