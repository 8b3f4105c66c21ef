/*
 * storage/store_int.h: what the files of storage/ share, and nothing else
 * includes (tests may, to reach store__open_at()).
 *
 * The handle caches one prepared statement per entry of store__stmt_id,
 * prepared on first use with SQLITE_PREPARE_PERSISTENT and reset after each
 * use, so that the hot paths (ops append) never parse SQL again.
 */
#ifndef TT_STORAGE_STORE_INT_H
#define TT_STORAGE_STORE_INT_H

#include <sqlite3.h>

#include "storage/store.h"

enum store__stmt_id {
	SQL_SESSION_INSERT,
	SQL_SESSION_GET,
	SQL_SESSION_LIST,
	SQL_DOC_INSERT,
	SQL_DOC_GET,
	SQL_DOC_FIND,
	SQL_DOC_RENAME,
	SQL_DOC_DELETE,
	SQL_DOC_LIST,
	SQL_OP_HEAD,
	SQL_OP_INSERT,
	SQL_OP_SINCE,
	SQL_OP_LAST_BY_CLIENT,
	SQL_TOKEN_INSERT,
	SQL_TOKEN_GET,
	SQL_TOKEN_REVOKE,
	SQL_TOKEN_LIST,
	SQL_SESSION_SET_LISTEN,
	SQL_CHAT_INSERT,
	SQL_CHAT_RECENT,
	SQL_SNAP_INSERT,
	SQL_SNAP_LOAD,
	SQL_EVAL_INSERT,
	SQL_EVAL_LIST,
	SQL_TEMPO_INSERT,
	SQL_TEMPO_LIST,
	SQL_RUN_INSERT,
	SQL_RUN_RESTORED,
	SQL_RUN_PROGRESS,
	SQL_RUN_LIST,
	SQL_CONTROL_INSERT,
	SQL_CONTROL_LIST,
	SQL_DIRECT_INSERT,
	SQL_DIRECT_LIST,
	SQL_CHECK,
	SQL_COUNT_
};

struct store {
	sqlite3 *db;
	store_config cfg;
	int in_group;     /* store_tx_begin is open */
	int savepoints;   /* depth of store__tx_enter inside a group */
	char errmsg[512];
	sqlite3_stmt *stmts[SQL_COUNT_];
};

/* Opens like store_open but migrates only up to version target (tests use it
 * to build an older database). */
int store__open_at(const char *path, const store_config *cfg, int target,
		   store **out);

/* Applies the migrations after the database's user_version up to target,
 * each in its own transaction (storage/schema.c). */
int store__migrate(store *st, int target);
int store__schema_latest(void);

/* Maps an SQLite result code to a tt_err and records SQLite's message. */
int store__err(store *st, int sqlite_rc);

/* Records a message of our own and returns code. */
__attribute__((format(printf, 3, 4)))
int store__fail(store *st, int code, const char *fmt, ...);

/* The cached statement id, preparing sql on first use; NULL on failure
 * (recorded). The statement must be released with store__done(). */
sqlite3_stmt *store__stmt(store *st, int id, const char *sql);

/* Resets s and clears its bindings, so it holds no borrowed pointers. */
void store__done(sqlite3_stmt *s);

/* Steps s once expecting SQLITE_DONE, releases it; TT_OK or the mapped
 * error. */
int store__exec_stmt(store *st, sqlite3_stmt *s);

/* Runs SQL text with no results (pragmas, BEGIN, migrations). */
int store__exec(store *st, const char *sql);

/* Makes one write atomic: a transaction of its own, or a savepoint when a
 * group (store_tx_begin) is open. store__tx_leave commits on rc == TT_OK,
 * rolls back otherwise, and returns rc (or the commit's failure). */
int store__tx_enter(store *st);
int store__tx_leave(store *st, int rc);

/* Binds text of len bytes (SQLITE_STATIC: the caller keeps it alive until
 * store__done). */
int store__bind_text(sqlite3_stmt *s, int i, const char *p, size_t len);

/* Copies column i into buf (cap bytes with the NUL), truncating never: the
 * schema's CHECKs bound every column copied this way. */
void store__col_copy(sqlite3_stmt *s, int i, char *buf, size_t cap);

/* Checks a name: 1..max bytes of valid UTF-8; TT_EINVAL or TT_ELIMIT
 * (recorded). */
int store__check_name(store *st, const char *name, size_t max,
		      const char *what);

/* Milliseconds since the epoch. */
int64_t store__now_ms(void);

#endif
