/*
 * tests/storage/test_store.c: unit tests of storage/ against real SQLite
 * files in a fresh temporary directory: opening and migrating, every
 * function's success and failure, limits at N and N+1, group commit.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/limits.h"
#include "storage/store.h"
#include "storage/store_int.h"
#include "tests/tap.h"

static char dir[256];

static const char *path_of(const char *name)
{
	static char buf[512];

	snprintf(buf, sizeof buf, "%s/%s", dir, name);
	return buf;
}

static int pragma_int(store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Runs SQL on a file with plain SQLite, outside the store. */
static int raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static int table_exists(store *st, const char *name)
{
	char sql[200];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_master WHERE "
		 "type = 'table' AND name = '%s'", name);
	return pragma_int(st, sql) == 1;
}

static void test_open_new(void)
{
	store *st = NULL;
	store_config cfg;
	int rc = store_open(path_of("new.db"), NULL, &st);

	is_int(rc, TT_OK, "open creates a new database");
	is_int(pragma_int(st, "PRAGMA user_version"), store_schema_version(),
	       "new database migrated to the latest version");
	ok(store_schema_version() >= 2, "schema has at least 2 versions");
	is_int(pragma_int(st, "PRAGMA foreign_keys"), 1, "foreign keys on");
	is_int(pragma_int(st, "PRAGMA synchronous"), 2, "synchronous FULL by default");
	is_int(pragma_int(st, "PRAGMA busy_timeout"), 5000, "busy timeout 5000 ms");
	ok(pragma_int(st, "SELECT count(*) FROM pragma_journal_mode "
		      "WHERE journal_mode = 'wal'") == 1, "WAL mode");
	ok(table_exists(st, "sessions") && table_exists(st, "documents") &&
	   table_exists(st, "accounts") && table_exists(st, "tokens") &&
	   table_exists(st, "ops") && table_exists(st, "evaluations") &&
	   table_exists(st, "snapshots") && table_exists(st, "tempo"),
	   "every table exists");
	is_int(store_check(st), TT_OK, "store_check on a new database");
	is_int(store_verify(st), TT_OK, "store_verify on a new database");
	is_str(store_errmsg(st), "", "no error message yet");
	store_close(st);

	store_config_default(&cfg);
	cfg.synchronous = STORE_SYNC_NORMAL;
	cfg.busy_timeout_ms = 250;
	rc = store_open(path_of("new.db"), &cfg, &st);
	is_int(rc, TT_OK, "reopen with NORMAL");
	is_int(pragma_int(st, "PRAGMA synchronous"), 1, "synchronous NORMAL when asked");
	is_int(pragma_int(st, "PRAGMA busy_timeout"), 250, "busy timeout as configured");
	store_close(st);
}

static void test_open_empty_file_and_reopen(void)
{
	const char *p = path_of("empty.db");
	store_session s, got;
	store *st = NULL;
	int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0600);

	close(fd);
	is_int(store_open(p, NULL, &st), TT_OK, "open an empty (0 byte) file");
	is_int(pragma_int(st, "PRAGMA user_version"), store_schema_version(),
	       "empty file migrated");
	is_int(store_session_create(st, "kept", &s), TT_OK, "write a session");
	store_close(st);
	is_int(store_open(p, NULL, &st), TT_OK, "reopen is idempotent");
	is_int(pragma_int(st, "PRAGMA user_version"), store_schema_version(),
	       "version unchanged on reopen");
	is_int(store_session_get(st, s.id, &got), TT_OK, "session kept across reopen");
	is_str(got.name, "kept", "its name kept");
	store_close(st);
}

static void test_migrate_from_v1(void)
{
	const char *p = path_of("v1.db");
	store_session s, got;
	store *st = NULL;

	is_int(store__open_at(p, NULL, 1, &st), TT_OK, "build a version 1 database");
	is_int(pragma_int(st, "PRAGMA user_version"), 1, "it is at version 1");
	ok(!table_exists(st, "snapshots"), "no snapshots table at version 1");
	is_int(store_session_create(st, "old", &s), TT_OK, "session at version 1");
	store_close(st);
	is_int(store_open(p, NULL, &st), TT_OK, "open migrates 1 -> latest");
	is_int(pragma_int(st, "PRAGMA user_version"), store_schema_version(),
	       "now at the latest version");
	ok(table_exists(st, "snapshots") && table_exists(st, "tempo"),
	   "migration 2 added snapshots and tempo");
	is_int(store_session_get(st, s.id, &got), TT_OK, "data survives migration");
	store_close(st);

	is_int(store__open_at(p, NULL, store_schema_version() + 1, &st), TT_EINVAL,
	       "migrating to an unknown version is refused");
	store_close(st);
}

static void test_refusals(void)
{
	const char *p = path_of("newer.db");
	store_config cfg;
	store *st = NULL;
	char sql[64];
	FILE *f;

	store_open(p, NULL, &st);
	store_close(st);
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d",
		 store_schema_version() + 1);
	is_int(raw_exec(p, sql), SQLITE_OK, "raise user_version past this build");
	is_int(store_open(p, NULL, &st), TT_EUNSUPPORTED, "newer schema refused");
	ok(strstr(store_errmsg(st), "newer") != NULL, "message says newer: %s",
	   store_errmsg(st));
	store_close(st);

	f = fopen(path_of("garbage.db"), "wb");
	fputs("this is not an SQLite database, not at all, no. 0123456789abcdef"
	      "0123456789abcdef0123456789abcdef0123456789abcdef", f);
	fclose(f);
	is_int(store_open(path_of("garbage.db"), NULL, &st), TT_EFORMAT,
	       "a file that is not a database is refused");
	store_close(st);

	raw_exec(path_of("foreign.db"), "CREATE TABLE t (x)");
	is_int(store_open(path_of("foreign.db"), NULL, &st), TT_EFORMAT,
	       "another program's database is refused");
	ok(strstr(store_errmsg(st), "not a tutti database") != NULL,
	   "message says why: %s", store_errmsg(st));
	store_close(st);

	store_config_default(&cfg);
	cfg.synchronous = 7;
	is_int(store_open(path_of("cfg.db"), &cfg, &st), TT_EINVAL, "bad config refused");
	store_close(st);
	ok(access(path_of("cfg.db"), F_OK) != 0, "no file created for a bad config");
	is_int(store_open(path_of("no/such/dir.db"), NULL, &st), TT_EIO,
	       "unopenable path is TT_EIO");
	ok(strstr(store_errmsg(st), "cannot open") != NULL, "message: %s",
	   store_errmsg(st));
	store_close(st);
	ok(strlen(store_errmsg(NULL)) > 0, "store_errmsg(NULL) is a message");
	store_close(NULL);
}

static void test_check_fails(void)
{
	const char *p = path_of("check.db");
	store *st = NULL;

	store_open(p, NULL, &st);
	is_int(store_check(st), TT_OK, "check passes");
	is_int(raw_exec(p, "DROP TABLE sessions"), SQLITE_OK,
	       "another connection drops a table");
	ok(store_check(st) != TT_OK, "check fails: %s", store_errmsg(st));
	store_close(st);
}

static void test_read_only(void)
{
	const char *p = path_of("ro.db");
	store_session s;
	store_config cfg;
	store *st = NULL;

	store__open_at(p, NULL, 1, &st);
	store_close(st);
	store_config_default(&cfg);
	cfg.read_only = true;
	is_int(store_open(p, &cfg, &st), TT_EUNSUPPORTED,
	       "read-only open of an older schema refused");
	store_close(st);
	store_open(p, NULL, &st);
	store_close(st);
	is_int(store_open(p, &cfg, &st), TT_OK, "read-only open of the latest schema");
	is_int(store_session_create(st, "x", &s), TT_EIO, "a write on a read-only handle fails");
	is_int(store_check(st), TT_OK, "reads work read-only");
	store_close(st);
	is_int(store_open(path_of("ro-missing.db"), &cfg, &st), TT_EIO,
	       "read-only open of a missing file fails");
	store_close(st);
}

static int count_fn(const store_session *s, void *ctx)
{
	(void)s;
	(*(int *)ctx)++;
	return 0;
}

static int stop_fn(const store_session *s, void *ctx)
{
	(void)s;
	(*(int *)ctx)++;
	return 42;
}

static int collect_fn(const store_session *s, void *ctx)
{
	store_session *arr = ctx;
	int i = 0;

	while (arr[i].id[0])
		i++;
	arr[i] = *s;
	return 0;
}

static int valid_id(const char *id)
{
	size_t i;

	if (strlen(id) != STORE_ID_LEN)
		return 0;
	for (i = 0; i < STORE_ID_LEN; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz234567", id[i]))
			return 0;
	return 1;
}

static void test_sessions(store *st)
{
	char name[TT_MAX_SESSION_NAME + 2];
	store_session a, b, got, arr[4];
	int64_t now = store__now_ms();
	int n = 0;

	is_int(store_session_create(st, "first set", &a), TT_OK, "create a session");
	ok(valid_id(a.id), "id is 10 chars of base32: %s", a.id);
	is_str(a.name, "first set", "name returned");
	ok(a.created_at >= now - 1000 && a.created_at <= now + 1000,
	   "created_at is now in ms");
	is_int(store_session_get(st, a.id, &got), TT_OK, "get it back");
	is_str(got.id, a.id, "same id");
	is_str(got.name, "first set", "same name");
	is_int(got.created_at, a.created_at, "same created_at");
	is_int(store_session_get(st, "nosuchid00", &got), TT_ENOTFOUND,
	       "unknown id is TT_ENOTFOUND");
	is_int(store_session_get(st, "", &got), TT_ENOTFOUND, "empty id not found");
	is_int(store_session_create(st, "", &b), TT_EINVAL, "empty name refused");
	is_int(store_session_create(st, "bad \xc3(", &b), TT_EINVAL,
	       "invalid UTF-8 refused");
	is_int(store_session_create(st, "Gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x8e\xb5", &b),
	       TT_OK, "UTF-8 name accepted");
	is_int(store_session_get(st, b.id, &got), TT_OK, "get it");
	is_str(got.name, "Gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x8e\xb5", "UTF-8 round-trips");
	memset(name, 'n', sizeof name);
	name[TT_MAX_SESSION_NAME] = '\0';
	is_int(store_session_create(st, name, &b), TT_OK, "name of N bytes accepted");
	is_int((int)strlen(b.name), TT_MAX_SESSION_NAME, "N-byte name kept whole");
	name[TT_MAX_SESSION_NAME] = 'n';
	name[TT_MAX_SESSION_NAME + 1] = '\0';
	is_int(store_session_create(st, name, &b), TT_ELIMIT, "name of N+1 bytes refused");
	ok(strstr(store_errmsg(st), "limit") != NULL, "message names the limit");
	is_int(store_session_create(st, "third", &b), TT_OK, "third session");

	is_int(store_session_list(st, 0, count_fn, &n), TT_OK, "list all");
	is_int(n, 4, "four sessions listed");
	memset(arr, 0, sizeof arr);
	is_int(store_session_list(st, 2, collect_fn, arr), TT_OK, "list 2");
	is_str(arr[0].name, "third", "newest first");
	ok(arr[2].id[0] == '\0', "limit respected");
	n = 0;
	is_int(store_session_list(st, 0, stop_fn, &n), 42, "callback stops the walk");
	is_int(n, 1, "after one row");
}

static void test_session_ids_unique(store *st)
{
	static char ids[300][STORE_ID_LEN + 1];
	store_session s;
	int i, j, dup = 0, bad = 0;

	store_tx_begin(st);
	for (i = 0; i < 300; i++) {
		if (store_session_create(st, "many", &s) != TT_OK)
			bad++;
		memcpy(ids[i], s.id, sizeof ids[i]);
	}
	store_tx_commit(st);
	for (i = 0; i < 300; i++)
		for (j = 0; j < i; j++)
			dup += strcmp(ids[i], ids[j]) == 0;
	is_int(bad, 0, "300 sessions created");
	is_int(dup, 0, "300 distinct ids");
}

static int doc_collect(const store_doc *d, void *ctx)
{
	char *names = ctx; /* 256 bytes */
	size_t n = strlen(names);

	snprintf(names + n, 256 - n, "%s,", d->name);
	return 0;
}

static void test_docs_create(store *st, store_session *s, store_session *s2)
{
	char name[TT_MAX_DOC_NAME + 2];
	store_doc d, e;

	is_int(store_doc_create(st, s->id, "drums", &d), TT_OK, "create a document");
	ok(d.id > 0, "it has an id");
	is_str(d.session_id, s->id, "in its session");
	is_str(d.name, "drums", "with its name");
	is_int(d.revision, 0, "at revision 0");
	is_int(store_doc_create(st, s->id, "drums", &e), TT_EEXIST,
	       "duplicate name in a session is TT_EEXIST");
	ok(strstr(store_errmsg(st), "drums") != NULL, "message names it: %s",
	   store_errmsg(st));
	is_int(store_doc_create(st, s2->id, "drums", &e), TT_OK,
	       "same name in another session is fine");
	is_int(store_doc_create(st, "nosuchid00", "x", &e), TT_ENOTFOUND,
	       "unknown session is TT_ENOTFOUND");
	is_int(store_doc_create(st, "short", "x", &e), TT_ENOTFOUND,
	       "malformed session id is TT_ENOTFOUND");
	is_int(store_doc_create(st, s->id, "", &e), TT_EINVAL, "empty name refused");
	is_int(store_doc_create(st, s->id, "\xff", &e), TT_EINVAL, "non-UTF-8 name refused");
	memset(name, 'd', sizeof name);
	name[TT_MAX_DOC_NAME] = '\0';
	is_int(store_doc_create(st, s->id, name, &e), TT_OK, "name of N bytes accepted");
	name[TT_MAX_DOC_NAME] = 'd';
	name[TT_MAX_DOC_NAME + 1] = '\0';
	is_int(store_doc_create(st, s->id, name, &e), TT_ELIMIT, "name of N+1 refused");
	is_int(store_doc_get(st, d.id, &e), TT_OK, "get by id");
	is_str(e.name, "drums", "right name");
	is_int(e.created_at, d.created_at, "right created_at");
	is_int(store_doc_get(st, 999999, &e), TT_ENOTFOUND, "unknown id not found");
	is_int(store_doc_find(st, s->id, "drums", &e), TT_OK, "find by name");
	is_int(e.id, d.id, "the right one");
	is_int(store_doc_find(st, s->id, "nope", &e), TT_ENOTFOUND, "find unknown");
}

static void test_docs_edit(store *st, store_session *s)
{
	char names[256] = "";
	store_doc d, e, f;

	store_doc_create(st, s->id, "bass", &d);
	store_doc_create(st, s->id, "keys", &e);
	is_int(store_doc_rename(st, d.id, "bass2"), TT_OK, "rename");
	is_int(store_doc_get(st, d.id, &f), TT_OK, "get renamed");
	is_str(f.name, "bass2", "new name");
	is_int(store_doc_find(st, s->id, "bass", &f), TT_ENOTFOUND, "old name gone");
	is_int(store_doc_rename(st, d.id, "keys"), TT_EEXIST, "rename onto a taken name");
	is_int(store_doc_rename(st, 999999, "zz"), TT_ENOTFOUND, "rename unknown");
	is_int(store_doc_rename(st, d.id, ""), TT_EINVAL, "rename to empty");
	is_int(store_doc_delete(st, e.id), TT_OK, "delete");
	is_int(store_doc_get(st, e.id, &f), TT_ENOTFOUND, "deleted is not found");
	is_int(store_doc_find(st, s->id, "keys", &f), TT_ENOTFOUND, "nor by name");
	is_int(store_doc_delete(st, e.id), TT_ENOTFOUND, "delete twice");
	is_int(store_doc_rename(st, e.id, "k2"), TT_ENOTFOUND, "rename deleted");
	is_int(store_doc_rename(st, d.id, "keys"), TT_OK, "deleted doc's name is free");
	is_int(store_doc_create(st, s->id, "bass", &f), TT_OK, "create again");
	is_int(store_doc_list(st, s->id, doc_collect, names), TT_OK, "list");
	ok(strstr(names, "keys,bass,") != NULL && strstr(names, "drums,") == names,
	   "live docs in creation order: %s", names);
	names[0] = '\0';
	is_int(store_doc_list(st, "nosuchid00", doc_collect, names), TT_OK,
	       "list of unknown session");
	is_str(names, "", "is empty");
}

static void test_docs(store *st)
{
	store_session s, s2;

	store_session_create(st, "docs", &s);
	store_session_create(st, "docs2", &s2);
	test_docs_create(st, &s, &s2);
	test_docs_edit(st, &s);
}

struct op_seen {
	int n;
	int64_t revs[16];
	char texts[16][32];
	char authors[16][16];
};

static int op_collect(const store_op *op, void *ctx)
{
	struct op_seen *seen = ctx;

	if (seen->n < 16) {
		seen->revs[seen->n] = op->revision;
		snprintf(seen->texts[seen->n], 32, "%.*s", (int)op->op_len, op->op);
		snprintf(seen->authors[seen->n], 16, "%s", op->author);
	}
	seen->n++;
	return 0;
}

static store_op mkop(int64_t doc, int64_t rev, const char *text)
{
	store_op op = { .doc_id = doc, .revision = rev, .time_ms = 1700000000000 + rev,
			.author = "ann", .op = text, .op_len = strlen(text) };
	return op;
}

static void test_ops(store *st)
{
	store_session s;
	store_doc d, d2;
	struct op_seen seen;
	store_op b[3];
	size_t failed = 99;

	store_session_create(st, "ops", &s);
	store_doc_create(st, s.id, "a", &d);
	store_doc_create(st, s.id, "b", &d2);
	b[0] = mkop(d.id, 1, "[\"x\"]");
	b[1] = mkop(d2.id, 1, "[\"y\"]");
	b[2] = mkop(d.id, 2, "[1,\"\xc3\xa9\xf0\x9f\x8e\xb5\"]");
	is_int(store_ops_append(st, b, 3, &failed), TT_OK, "append a batch across docs");
	is_int((int)failed, 3, "failed = n on success");
	store_doc_get(st, d.id, &d);
	is_int(d.revision, 2, "head revision follows the ops");
	memset(&seen, 0, sizeof seen);
	is_int(store_ops_since(st, d.id, 0, op_collect, &seen), TT_OK, "ops since 0");
	is_int(seen.n, 2, "two ops in doc a");
	ok(seen.revs[0] == 1 && seen.revs[1] == 2, "in revision order");
	is_str(seen.texts[1], "[1,\"\xc3\xa9\xf0\x9f\x8e\xb5\"]", "op text byte for byte");
	is_str(seen.authors[0], "ann", "author kept");
	memset(&seen, 0, sizeof seen);
	store_ops_since(st, d.id, 1, op_collect, &seen);
	ok(seen.n == 1 && seen.revs[0] == 2, "ops since 1 is revision 2 only");

	b[0] = mkop(d.id, 3, "ok");
	b[1] = mkop(d.id, 3, "dup");
	is_int(store_ops_append(st, b, 2, &failed), TT_ECONFLICT, "duplicate revision");
	is_int((int)failed, 1, "failed names the op");
	store_doc_get(st, d.id, &d);
	is_int(d.revision, 2, "the whole batch was refused");
	b[0] = mkop(d.id, 5, "gap");
	is_int(store_ops_append(st, b, 1, &failed), TT_ECONFLICT, "a gap is refused");
	ok(strstr(store_errmsg(st), "revision 2") != NULL, "message: %s", store_errmsg(st));
	b[0] = mkop(d.id, 2, "old");
	is_int(store_ops_append(st, b, 1, NULL), TT_ECONFLICT, "an old revision is refused");
	b[0] = mkop(999999, 1, "x");
	is_int(store_ops_append(st, b, 1, &failed), TT_ENOTFOUND, "unknown document");
	is_int(store_ops_append(st, b, 0, &failed), TT_OK, "empty batch is fine");
	b[0] = mkop(d.id, 3, "x");
	b[0].op = NULL;
	is_int(store_ops_append(st, b, 1, &failed), TT_EINVAL, "NULL op text refused");
}

struct client_seen {
	int n;
	char ids[4][16];
	int64_t seqs[4];
	int64_t revs[4];
};

static int client_collect(const store_op *op, void *ctx)
{
	struct client_seen *c = ctx;
	if (c->n < 4) {
		snprintf(c->ids[c->n], sizeof c->ids[0], "%s", op->client_id);
		c->seqs[c->n] = op->client_seq;
		c->revs[c->n] = op->revision;
	}
	c->n++;
	return 0;
}

/* The client's identity of an op: kept, unique, and its latest findable. */
static void test_ops_client(store *st)
{
	store_session s;
	store_doc d;
	struct client_seen c;
	struct op_seen seen;
	store_op b[4];

	store_session_create(st, "clients", &s);
	store_doc_create(st, s.id, "a", &d);
	for (int i = 0; i < 4; i++)
		b[i] = mkop(d.id, i + 1, "[\"x\"]");
	b[0].client_id = "alice";
	b[0].client_seq = 1;
	b[1].client_id = "bob";
	b[1].client_seq = 7;
	b[2].client_id = "alice";
	b[2].client_seq = 2;
	/* b[3] has no client id, as ops from older clients. */
	is_int(store_ops_append(st, b, 4, NULL), TT_OK, "ops with and without client ids");
	memset(&c, 0, sizeof c);
	is_int(store_ops_last_by_client(st, d.id, client_collect, &c), TT_OK, "last op by client");
	is_int(c.n, 2, "one row per client id");
	for (int i = 0; i < 2 && i < c.n; i++) {
		if (strcmp(c.ids[i], "alice") == 0)
			ok(c.seqs[i] == 2 && c.revs[i] == 3, "alice: seq 2 at revision 3");
		else
			ok(strcmp(c.ids[i], "bob") == 0 && c.seqs[i] == 7 && c.revs[i] == 2,
			   "bob: seq 7 at revision 2");
	}
	memset(&seen, 0, sizeof seen);
	store_ops_since(st, d.id, 0, op_collect, &seen);
	is_int(seen.n, 4, "all four ops stored");
	b[0] = mkop(d.id, 5, "[\"y\"]");
	b[0].client_id = "alice";
	b[0].client_seq = 2;
	is_int(store_ops_append(st, b, 1, NULL), TT_EEXIST, "the same client op twice is refused");
	store_doc_get(st, d.id, &d);
	is_int(d.revision, 4, "and not stored");
}

struct token_seen {
	int n;
	int64_t ids[4];
};

static int token_collect(const store_token *t, void *ctx)
{
	struct token_seen *c = ctx;
	if (c->n < 4)
		c->ids[c->n] = t->id;
	c->n++;
	return 0;
}

/* Session access: the listen flag and tokens (hash kept, revocable). */
static void test_tokens(store *st)
{
	store_session s, s2, got;
	store_token t, back;
	struct token_seen seen;

	store_session_create(st, "gated", &s);
	store_session_create(st, "other", &s2);
	store_session_get(st, s.id, &got);
	ok(got.listen_public, "a new session is public to listen");
	is_int(store_session_set_listen_public(st, s.id, false), TT_OK, "gate listening");
	store_session_get(st, s.id, &got);
	ok(!got.listen_public, "now only token holders listen");
	is_int(store_session_set_listen_public(st, "nosuchsess", false), TT_ENOTFOUND,
	       "unknown session refused");
	memset(&t, 0, sizeof t);
	snprintf(t.session_id, sizeof t.session_id, "%s", s.id);
	t.role = STORE_ROLE_PERFORMER;
	memset(t.hash, 0xab, sizeof t.hash);
	snprintf(t.label, sizeof t.label, "for bo");
	t.created_at = 1000;
	t.expires_at = 5000;
	is_int(store_token_create(st, &t), TT_OK, "create a token");
	ok(t.id > 0, "it has an id");
	is_int(store_token_get(st, t.id, &back), TT_OK, "get it back");
	ok(back.role == STORE_ROLE_PERFORMER && back.hash[0] == 0xab && back.hash[31] == 0xab &&
	   back.expires_at == 5000 && back.revoked_at == 0 && strcmp(back.label, "for bo") == 0 &&
	   strcmp(back.session_id, s.id) == 0, "role, hash, label, expiry kept");
	is_int(store_token_revoke(st, s2.id, t.id, 2000), TT_ENOTFOUND,
	       "another session cannot revoke it");
	is_int(store_token_revoke(st, s.id, t.id, 2000), TT_OK, "revoke it");
	store_token_get(st, t.id, &back);
	is_int(back.revoked_at, 2000, "revoked at the time given");
	t.role = STORE_ROLE_NONE;
	is_int(store_token_create(st, &t), TT_EINVAL, "a token without a role is refused");
	t.role = STORE_ROLE_OWNER;
	snprintf(t.session_id, sizeof t.session_id, "nosuchsess");
	ok(store_token_create(st, &t) != TT_OK, "a token for no session is refused");
	memset(&seen, 0, sizeof seen);
	is_int(store_token_list(st, s.id, token_collect, &seen), TT_OK, "list the session's tokens");
	is_int(seen.n, 1, "one token in it");
	is_int(store_token_get(st, 999999, &back), TT_ENOTFOUND, "unknown token");
	ok(store_role_parse("owner") == STORE_ROLE_OWNER && store_role_parse("x") == STORE_ROLE_NONE &&
	   strcmp(store_role_name(STORE_ROLE_LISTENER), "listener") == 0, "role names");
}

static int chat_collect(const store_chat *c, void *ctx)
{
	char *last = ctx;
	snprintf(last, 32, "%s", c->text);
	return 0;
}

/* The session chat: stored, the most recent ones oldest first, limits. */
static void test_chat(store *st)
{
	store_session s;
	store_chat c;
	char big[TT_MAX_CHAT_BYTES + 2], last[32] = "";

	store_session_create(st, "chat", &s);
	for (int i = 0; i < 5; i++) {
		char text[16];
		snprintf(text, sizeof text, "m%d", i);
		c = (store_chat){ .session_id = s.id, .author = "ann", .time_ms = i, .frame = i,
				  .text = text };
		store_chat_append(st, &c);
	}
	ok(c.id > 0, "chat messages get ids");
	is_int(store_chat_recent(st, s.id, 3, chat_collect, last), TT_OK, "the last three");
	is_str(last, "m4", "oldest first: the newest comes last");
	memset(big, 'x', sizeof big);
	big[TT_MAX_CHAT_BYTES] = '\0';
	c.text = big;
	is_int(store_chat_append(st, &c), TT_OK, "TT_MAX_CHAT_BYTES bytes are stored");
	big[TT_MAX_CHAT_BYTES] = 'x';
	big[TT_MAX_CHAT_BYTES + 1] = '\0';
	is_int(store_chat_append(st, &c), TT_ELIMIT, "one more byte is refused");
	c.text = "\xff";
	is_int(store_chat_append(st, &c), TT_EINVAL, "invalid UTF-8 is refused");
	c.text = "hi";
	c.session_id = "nosuchsess";
	ok(store_chat_append(st, &c) != TT_OK, "a message for no session is refused");
}

/* More documents in one batch than the head cache holds, interleaved. */
static void test_ops_many_docs(store *st)
{
	store_session s;
	store_doc d[20];
	store_op b[60];
	char name[8];
	int i, heads_ok = 1;

	store_session_create(st, "many docs", &s);
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "m%d", i);
		store_doc_create(st, s.id, name, &d[i]);
	}
	for (i = 0; i < 60; i++)
		b[i] = mkop(d[i % 20].id, 1 + i / 20, "x");
	is_int(store_ops_append(st, b, 60, NULL), TT_OK,
	       "60 ops over 20 documents, interleaved");
	for (i = 0; i < 20; i++) {
		store_doc_get(st, d[i].id, &d[i]);
		heads_ok &= d[i].revision == 3;
	}
	ok(heads_ok, "every document at revision 3");
	b[59] = mkop(d[19].id, 3, "x");
	b[0] = mkop(d[0].id, 4, "x");
	for (i = 1; i < 59; i++)
		b[i] = mkop(d[i % 20].id, 4 + i / 20, "x");
	is_int(store_ops_append(st, b, 60, NULL), TT_ECONFLICT,
	       "a stale revision at the end of a long batch");
	store_doc_get(st, d[5].id, &d[5]);
	is_int(d[5].revision, 3, "nothing of it stored");
}

/*
 * A model check of the edit log: random batches over a few documents, some
 * with a wrong revision, some inside groups that commit or roll back; the
 * store must agree with a model that applies a batch only when all of its
 * revisions are next, and the failed index must name the first wrong op.
 */
#define MODEL_DOCS 5

typedef struct model {
	int64_t head[MODEL_DOCS];   /* committed */
	int64_t tx_head[MODEL_DOCS]; /* inside the open group */
	int64_t ids[MODEL_DOCS];
	int bad_index, bad_code;
} model;

static int model_batch(store *st, model *m, unsigned *seed)
{
	store_op b[10];
	int64_t h[MODEL_DOCS];
	int i, k = 1 + rand_r(seed) % 10, first_bad = -1, doc;
	size_t failed = 0;
	int rc;

	memcpy(h, m->tx_head, sizeof h);
	for (i = 0; i < k; i++) {
		doc = rand_r(seed) % MODEL_DOCS;
		b[i] = mkop(m->ids[doc], h[doc] + 1, "m");
		if (rand_r(seed) % 20 == 0) {
			b[i].revision += rand_r(seed) % 2 ? 1 : -1;
			if (first_bad < 0)
				first_bad = i;
		} else {
			h[doc]++;
		}
	}
	rc = store_ops_append(st, b, (size_t)k, &failed);
	if (first_bad < 0 && rc == TT_OK)
		memcpy(m->tx_head, h, sizeof h);
	else if (!(first_bad >= 0 && rc == TT_ECONFLICT &&
		   failed == (size_t)first_bad))
		m->bad_index++;
	return rc;
}

static int count_contiguous(const store_op *op, void *ctx)
{
	int64_t *next = ctx;

	if (op->revision == *next)
		(*next)++;
	else
		*next = -1000000;
	return 0;
}

/* Ends the open group: rolls back or commits, and the model follows. */
static void model_end_group(store *st, model *m, int commit)
{
	if (!commit) {
		store_tx_rollback(st);
		memcpy(m->tx_head, m->head, sizeof m->head);
	} else if (store_tx_commit(st) == TT_OK) {
		memcpy(m->head, m->tx_head, sizeof m->head);
	} else {
		m->bad_code++;
	}
}

static void test_ops_model(store *st)
{
	unsigned seed = 7;
	store_session s;
	store_doc d;
	model m;
	int i, in_group = 0, heads_ok = 1;
	int64_t next;
	char name[8];

	memset(&m, 0, sizeof m);
	store_session_create(st, "model", &s);
	for (i = 0; i < MODEL_DOCS; i++) {
		snprintf(name, sizeof name, "m%d", i);
		store_doc_create(st, s.id, name, &d);
		m.ids[i] = d.id;
	}
	for (i = 0; i < 3000; i++) {
		if (!in_group && rand_r(&seed) % 10 == 0)
			in_group = store_tx_begin(st) == TT_OK;
		model_batch(st, &m, &seed);
		if (!in_group)
			memcpy(m.head, m.tx_head, sizeof m.head);
		else if (rand_r(&seed) % 5 == 0) {
			model_end_group(st, &m, rand_r(&seed) % 3 != 0);
			in_group = 0;
		}
	}
	if (in_group)
		model_end_group(st, &m, 1);
	is_int(m.bad_index, 0, "3000 random batches: every outcome as the model says");
	is_int(m.bad_code, 0, "every group commit succeeded");
	for (i = 0; i < MODEL_DOCS; i++) {
		next = 1;
		store_doc_get(st, m.ids[i], &d);
		store_ops_since(st, m.ids[i], 0, count_contiguous, &next);
		heads_ok &= d.revision == m.head[i] && next == m.head[i] + 1;
	}
	ok(heads_ok, "heads and logs equal the model's (%lld %lld %lld %lld %lld)",
	   (long long)m.head[0], (long long)m.head[1], (long long)m.head[2],
	   (long long)m.head[3], (long long)m.head[4]);
}

static void test_group(store *st)
{
	store_session s, got;
	store_doc d;
	store_op b[1];

	store_session_create(st, "group", &s);
	store_doc_create(st, s.id, "g", &d);
	is_int(store_tx_begin(st), TT_OK, "begin a group");
	is_int(store_tx_begin(st), TT_EINVAL, "groups do not nest");
	b[0] = mkop(d.id, 1, "one");
	is_int(store_ops_append(st, b, 1, NULL), TT_OK, "append in group");
	b[0] = mkop(d.id, 9, "bad");
	is_int(store_ops_append(st, b, 1, NULL), TT_ECONFLICT, "a bad append in the group");
	b[0] = mkop(d.id, 2, "two");
	is_int(store_ops_append(st, b, 1, NULL), TT_OK, "group goes on after it");
	is_int(store_tx_commit(st), TT_OK, "commit the group");
	store_doc_get(st, d.id, &d);
	is_int(d.revision, 2, "both good appends committed");
	is_int(store_tx_commit(st), TT_EINVAL, "commit without a group");

	store_tx_begin(st);
	b[0] = mkop(d.id, 3, "three");
	store_ops_append(st, b, 1, NULL);
	store_session_create(st, "rolled back", &s);
	store_tx_rollback(st);
	store_doc_get(st, d.id, &d);
	is_int(d.revision, 2, "rollback drops the group's ops");
	is_int(store_session_get(st, s.id, &got), TT_ENOTFOUND, "and its session");
	store_tx_rollback(st); /* no group: a no-op */
	is_int(store_check(st), TT_OK, "handle fine after rollbacks");
}

static void test_snapshots(store *st)
{
	static char big[TT_MAX_DOC_BYTES + 1];
	store_session s;
	store_doc d;
	int64_t rev = -1;
	char *text = NULL;
	size_t len = 0;

	store_session_create(st, "snap", &s);
	store_doc_create(st, s.id, "s", &d);
	is_int(store_snapshot_put(st, d.id, 0, "", 0), TT_OK, "empty snapshot at 0");
	is_int(store_snapshot_put(st, d.id, 10, "ten", 3), TT_OK, "snapshot at 10");
	is_int(store_snapshot_put(st, d.id, 20, "twenty\0x", 8), TT_OK, "snapshot at 20");
	is_int(store_snapshot_put(st, d.id, 10, "again", 5), TT_EEXIST, "duplicate is TT_EEXIST");
	is_int(store_snapshot_put(st, 999999, 1, "x", 1), TT_ENOTFOUND, "unknown doc");
	is_int(store_snapshot_load(st, d.id, INT64_MAX, &rev, &text, &len), TT_OK, "load latest");
	is_int(rev, 20, "latest is 20");
	ok(len == 8 && memcmp(text, "twenty\0x", 8) == 0 && text[8] == '\0',
	   "text byte for byte, NUL-terminated");
	free(text);
	is_int(store_snapshot_load(st, d.id, 15, &rev, &text, &len), TT_OK, "load at most 15");
	ok(rev == 10 && strcmp(text, "ten") == 0, "gives revision 10");
	free(text);
	is_int(store_snapshot_load(st, d.id, -1, &rev, &text, &len), TT_ENOTFOUND,
	       "none at or before -1");
	is_int(store_snapshot_load(st, 999999, INT64_MAX, &rev, &text, &len),
	       TT_ENOTFOUND, "none for unknown doc");
	memset(big, 'a', sizeof big);
	is_int(store_snapshot_put(st, d.id, 30, big, TT_MAX_DOC_BYTES), TT_OK,
	       "snapshot of TT_MAX_DOC_BYTES accepted");
	is_int(store_snapshot_put(st, d.id, 31, big, TT_MAX_DOC_BYTES + 1), TT_ELIMIT,
	       "snapshot of TT_MAX_DOC_BYTES + 1 refused");
	is_int(store_snapshot_load(st, d.id, INT64_MAX, &rev, &text, &len), TT_OK, "load big");
	ok(rev == 30 && len == TT_MAX_DOC_BYTES, "big snapshot whole");
	free(text);
}

struct eval_seen {
	int n;
	int64_t ids[8];
	store_eval last;
	char code[64];
	char result[64];
};

static int eval_collect(const store_eval *ev, void *ctx)
{
	struct eval_seen *seen = ctx;

	if (seen->n < 8)
		seen->ids[seen->n] = ev->id;
	seen->n++;
	seen->last = *ev;
	snprintf(seen->code, sizeof seen->code, "%.*s", (int)ev->code_len, ev->code);
	snprintf(seen->result, sizeof seen->result, "%s", ev->result ? ev->result : "(null)");
	seen->last.code = seen->last.result = seen->last.author = NULL;
	seen->last.session_id = NULL;
	return 0;
}

static store_eval mkeval(const store_session *s, const store_doc *d)
{
	store_eval ev;

	memset(&ev, 0, sizeof ev);
	ev.session_id = s->id;
	ev.doc_id = d->id;
	ev.revision = 3;
	ev.time_ms = 1700000000123;
	ev.author = "bo";
	ev.range_from = 0;
	ev.range_to = 16;
	ev.code = "note(\"a4\").s(\"sine\")";
	ev.code_len = strlen(ev.code);
	ev.ok = true;
	ev.landing_frame = 96000;
	ev.cycle_n = 2;
	ev.cycle_d = 1;
	ev.cps_n = 1;
	ev.cps_d = 2;
	return ev;
}

static void test_eval_limits(store *st, const store_session *s, const store_doc *d)
{
	static char code[TT_MAX_CODE_BYTES + 1];
	store_eval ev = mkeval(s, d);

	memset(code, 'x', sizeof code);
	ev.code = code;
	ev.code_len = TT_MAX_CODE_BYTES;
	is_int(store_eval_append(st, &ev), TT_OK, "code of TT_MAX_CODE_BYTES accepted");
	ev.code_len = TT_MAX_CODE_BYTES + 1;
	is_int(store_eval_append(st, &ev), TT_ELIMIT, "code of N+1 bytes refused");
	ev = mkeval(s, d);
	ev.cps_d = 0;
	is_int(store_eval_append(st, &ev), TT_EINVAL, "zero denominator refused");
	ev = mkeval(s, d);
	ev.doc_id = 999999;
	is_int(store_eval_append(st, &ev), TT_ENOTFOUND, "unknown document");
}

static void test_eval_cursor(store *st, const store_session *s)
{
	struct eval_seen all, seen;

	memset(&all, 0, sizeof all);
	memset(&seen, 0, sizeof seen);
	store_eval_list(st, s->id, 0, 0, eval_collect, &all);
	is_int(store_eval_list(st, s->id, all.ids[0], 0, eval_collect, &seen),
	       TT_OK, "list after the first id");
	ok(seen.n == 1 && seen.ids[0] == all.ids[1], "after_id is a cursor");
}

static void test_evals(store *st)
{
	store_session s, s2;
	store_doc d, d2;
	store_eval ev;
	struct eval_seen seen;

	store_session_create(st, "evals", &s);
	store_session_create(st, "evals2", &s2);
	store_doc_create(st, s.id, "e", &d);
	store_doc_create(st, s2.id, "e", &d2);
	ev = mkeval(&s, &d);
	is_int(store_eval_append(st, &ev), TT_OK, "append an evaluation");
	ok(ev.id > 0, "it gets an id");
	ev = mkeval(&s, &d);
	ev.ok = false;
	ev.result = "line 1, col 3: unknown function 'nte'";
	ev.landing_frame = -1;
	is_int(store_eval_append(st, &ev), TT_OK, "append a failed evaluation");
	ev = mkeval(&s, &d2);
	is_int(store_eval_append(st, &ev), TT_ENOTFOUND,
	       "document of another session refused");
	ev = mkeval(&s2, &d);
	ev.session_id = "nosuchid00";
	is_int(store_eval_append(st, &ev), TT_ENOTFOUND, "unknown session refused");
	memset(&seen, 0, sizeof seen);
	is_int(store_eval_list(st, s.id, 0, 0, eval_collect, &seen), TT_OK, "list");
	is_int(seen.n, 2, "two evaluations");
	ok(seen.ids[0] < seen.ids[1], "in order");
	ok(!seen.last.ok && seen.last.landing_frame == -1, "failure kept as failure");
	is_str(seen.result, "line 1, col 3: unknown function 'nte'", "error text kept");
	ok(seen.last.cps_n == 1 && seen.last.cps_d == 2 && seen.last.cycle_n == 2 &&
	   seen.last.cycle_d == 1 && seen.last.revision == 3 &&
	   seen.last.range_to == 16 && seen.last.time_ms == 1700000000123,
	   "numbers round-trip");
	is_str(seen.code, "note(\"a4\").s(\"sine\")", "code round-trips");
	memset(&seen, 0, sizeof seen);
	store_eval_list(st, s.id, 0, 1, eval_collect, &seen);
	is_int(seen.n, 1, "limit 1");
	is_str(seen.result, "(null)", "no result for a success");
	test_eval_cursor(st, &s);
	test_eval_limits(st, &s, &d);
}

struct tempo_seen {
	int n;
	int64_t frames[8];
	int64_t cps_n[8];
};

static int tempo_collect(const store_tempo *t, void *ctx)
{
	struct tempo_seen *seen = ctx;

	if (seen->n < 8) {
		seen->frames[seen->n] = t->frame;
		seen->cps_n[seen->n] = t->cps_n;
	}
	seen->n++;
	return 0;
}

static void test_tempo(store *st)
{
	store_session s;
	store_tempo t = { .cycle_d = 1, .cps_n = 1, .cps_d = 2, .author = "ann" };
	struct tempo_seen seen;

	store_session_create(st, "tempo", &s);
	t.session_id = s.id;
	t.frame = 96000;
	t.cycle_n = 1;
	is_int(store_tempo_append(st, &t), TT_OK, "append a tempo segment");
	ok(t.id > 0, "with an id");
	t.frame = 0;
	t.cycle_n = 0;
	t.cps_n = 3;
	t.run_id = 0;
	is_int(store_tempo_append(st, &t), TT_OK,
	       "append one at an earlier frame (of a later run: frames restart per run)");
	t.cps_n = 0;
	is_int(store_tempo_append(st, &t), TT_EINVAL, "cps 0 refused");
	t.cps_n = 1;
	t.cycle_d = 0;
	is_int(store_tempo_append(st, &t), TT_EINVAL, "zero denominator refused");
	t.cycle_d = 1;
	t.session_id = "nosuchid00";
	is_int(store_tempo_append(st, &t), TT_ENOTFOUND, "unknown session");
	memset(&seen, 0, sizeof seen);
	is_int(store_tempo_list(st, s.id, tempo_collect, &seen), TT_OK, "list tempo");
	is_int(seen.n, 2, "two segments");
	ok(seen.frames[0] == 96000 && seen.frames[1] == 0 && seen.cps_n[1] == 3,
	   "in the order they were appended");
}

/* A writer waits busy_timeout_ms for another's lock, then TT_EAGAIN. */
static void test_busy(store *st)
{
	store_config cfg;
	store *st2 = NULL;
	store_session s;

	store_config_default(&cfg);
	cfg.busy_timeout_ms = 50;
	store_open(path_of("main.db"), &cfg, &st2);
	is_int(store_tx_begin(st), TT_OK, "first handle takes the write lock");
	is_int(store_session_create(st2, "blocked", &s), TT_EAGAIN,
	       "second writer gets TT_EAGAIN after its timeout");
	ok(strlen(store_errmsg(st2)) > 0, "message: %s", store_errmsg(st2));
	is_int(store_tx_begin(st2), TT_EAGAIN, "a group cannot start either");
	store_tx_commit(st);
	is_int(store_session_create(st2, "unblocked", &s), TT_OK,
	       "it writes once the lock is free");
	store_close(st2);
}

static void test_second_handle(store *st)
{
	store *st2 = NULL;
	store_session s, got;

	is_int(store_open(path_of("main.db"), NULL, &st2), TT_OK, "a second handle");
	is_int(store_session_create(st, "seen by two", &s), TT_OK, "write on the first");
	is_int(store_session_get(st2, s.id, &got), TT_OK, "read on the second");
	store_tx_begin(st);
	is_int(store_session_create(st, "uncommitted", &s), TT_OK, "write in a group");
	is_int(store_session_get(st2, s.id, &got), TT_ENOTFOUND,
	       "uncommitted write invisible to the second handle");
	store_tx_commit(st);
	is_int(store_session_get(st2, s.id, &got), TT_OK, "visible after commit");
	store_close(st2);
	test_busy(st);
}

static void test_corruption(void)
{
	const char *p = path_of("corrupt.db");
	char junk[4096];
	store_session s;
	store *st = NULL;
	int i, fd, rc;

	store_open(p, NULL, &st);
	store_tx_begin(st);
	for (i = 0; i < 2000; i++)
		store_session_create(st, "filler filler filler filler filler", &s);
	store_tx_commit(st);
	store_close(st); /* the last close checkpoints the WAL into the file */
	memset(junk, 0x5a, sizeof junk);
	fd = open(p, O_WRONLY);
	rc = pwrite(fd, junk, sizeof junk, 8 * 4096) == (ssize_t)sizeof junk;
	close(fd);
	ok(rc, "overwrite a page of the file");
	rc = store_open(p, NULL, &st);
	if (rc == TT_OK)
		rc = store_verify(st);
	is_int(rc, TT_EFORMAT, "a corrupt page is found: %s", store_errmsg(st));
	store_close(st);
}

int main(void)
{
	store_config cfg;
	store *st = NULL;
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof dir, "%s/tt-store-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	test_open_new();
	test_open_empty_file_and_reopen();
	test_migrate_from_v1();
	test_refusals();
	test_read_only();
	test_check_fails();
	/* NORMAL: these tests check logic, not fsync (test_store_crash
	 * checks durability), and thousands of fsyncs would take seconds. */
	store_config_default(&cfg);
	cfg.synchronous = STORE_SYNC_NORMAL;
	is_int(store_open(path_of("main.db"), &cfg, &st), TT_OK, "open main");
	test_sessions(st);
	test_session_ids_unique(st);
	test_docs(st);
	test_ops(st);
	test_ops_client(st);
	test_tokens(st);
	test_chat(st);
	test_ops_many_docs(st);
	test_ops_model(st);
	test_group(st);
	test_snapshots(st);
	test_evals(st);
	test_tempo(st);
	test_second_handle(st);
	is_int(store_verify(st), TT_OK, "database verifies after all tests");
	store_close(st);
	test_corruption();
	if (!getenv("TT_KEEP_TMP")) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			tap_diag("could not remove the temporary directory");
	}
	return tap_done();
}
