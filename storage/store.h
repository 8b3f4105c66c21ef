/*
 * storage/store.h: tutti's SQLite store.
 *
 * One SQLite database file (WAL) holds everything a session leaves behind:
 * sessions, their documents, every edit operation, snapshots of document
 * text, every evaluation and every tempo change, plus accounts and tokens.
 * The store knows nothing of the server: operations, results and author
 * names are opaque text, stored and returned byte for byte.
 *
 * Conventions (the same for every function below):
 *  - Every function returns TT_OK or a negative tt_err (common/error.h);
 *    results travel through out-parameters. store_errmsg() says why the last
 *    failure happened (SQLite's message or the store's own).
 *    TT_ENOTFOUND: the row asked for does not exist (or is deleted);
 *    TT_EEXIST: a unique name or key is taken; TT_ECONFLICT: an operation's
 *    revision is not the document's next one; TT_ELIMIT: a common/limits.h
 *    limit was passed; TT_EINVAL: a malformed argument; TT_EAGAIN: the
 *    database stayed locked past the busy timeout; TT_EIO: the disk failed;
 *    TT_EFORMAT: the file is not a (sound) database; TT_EUNSUPPORTED: the
 *    schema is newer than this build; TT_EDB: anything else SQLite refused.
 *  - Strings passed in are borrowed for the call. Strings handed to a
 *    callback are borrowed for the duration of that callback only.
 *  - Times are milliseconds since the Unix epoch (UTC).
 *  - List functions call fn(row, ctx) per row; fn returns 0 to continue or
 *    anything else to stop, and then the list function returns that value.
 *
 * Thread safety: a store handle is used by one thread at a time (it caches
 * prepared statements). Several handles on one file are fine, in one process
 * or many: WAL lets readers run beside the one writer, and a writer waits up
 * to busy_timeout_ms for another. The server gives its writer thread one
 * handle and each reader its own.
 * Safe on the render thread: no function here (all do I/O and allocate).
 */
#ifndef TT_STORAGE_STORE_H
#define TT_STORAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

typedef struct store store;

/* ---- Opening, closing, health ---- */

/*
 * How durable a commit is once store_* returns:
 *  FULL   (default): fsync at every commit. A committed transaction survives
 *         a process crash, an OS crash and a power loss. An edit is
 *         acknowledged only after its transaction commits, so this is what
 *         the acknowledgement promises; group commit (store_ops_append with
 *         many ops, or store_tx_*) pays for it.
 *  NORMAL: WAL without fsync at commit (fsync at checkpoints only). A commit
 *         survives a process crash (SIGKILL) but the last transactions may be
 *         lost on power loss or OS crash. For tests and benches, or a
 *         deployment that accepts that.
 */
typedef enum store_sync {
	STORE_SYNC_NORMAL = 1,
	STORE_SYNC_FULL = 2,
} store_sync;

typedef struct store_config {
	store_sync synchronous; /* default STORE_SYNC_FULL */
	int busy_timeout_ms;    /* wait this long for a lock; default 5000 */
	bool read_only;         /* open without writing or migrating; default false */
} store_config;

/* Fills cfg with the defaults above. */
void store_config_default(store_config *cfg);

/*
 * Opens (creating if missing, unless read_only) the database at path, turns
 * on WAL, foreign keys, the busy timeout and the synchronous level, and
 * migrates the schema forward to store_schema_version(), each step in its own
 * transaction. cfg NULL means the defaults.
 * A database whose schema is newer than this build is refused with
 * TT_EUNSUPPORTED; a read-only open of an older schema with TT_EUNSUPPORTED.
 * Like sqlite3_open, *out is set even on failure (unless TT_ENOMEM) so that
 * store_errmsg() can say why; call store_close() on it in every case.
 */
int store_open(const char *path, const store_config *cfg, store **out);

/* Finalizes the cached statements and closes the database; st may be NULL.
 * An open transaction (store_tx_begin) is rolled back. */
void store_close(store *st);

/* The message of the last failure on st ("" when none); borrowed, valid
 * until the next call on st. Never NULL (also for st NULL). */
const char *store_errmsg(const store *st);

/* The schema version this build migrates to. */
int store_schema_version(void);

/* Health: runs a trivial query. TT_OK when the database answers. */
int store_check(store *st);

/* Thorough check: PRAGMA integrity_check and foreign_key_check. TT_OK, or
 * TT_EFORMAT with the first problem in store_errmsg(). Reads the whole file. */
int store_verify(store *st);

/* Bytes SQLite holds on the heap for every handle of the process (its
 * page caches, statements and schemas): sqlite3_memory_used(). */
uint64_t store_memory_used(void);

/* ---- Transactions (group commit) ----
 *
 * Every write function below is atomic on its own (its own transaction).
 * Between store_tx_begin and store_tx_commit, writes join one transaction
 * instead, so that the writer thread commits many at once; each write
 * function still either applies whole or not at all (a savepoint), so a
 * failed write inside a group does not spoil the others. Nothing written in
 * the group is durable, and nothing may be acknowledged, until
 * store_tx_commit returns TT_OK. Groups do not nest.
 */
int store_tx_begin(store *st);      /* BEGIN IMMEDIATE; TT_EINVAL if open */
int store_tx_commit(store *st);     /* on failure the group is rolled back */
void store_tx_rollback(store *st);  /* no-op when no group is open */

/* ---- Sessions ---- */

#define STORE_ID_LEN 10 /* session ids: 10 characters of base32 (50 bits) */

typedef struct store_session {
	char id[STORE_ID_LEN + 1];          /* [a-z2-7], URL-safe */
	char name[TT_MAX_SESSION_NAME + 1]; /* 1..TT_MAX_SESSION_NAME bytes */
	int64_t created_at;                 /* ms since the epoch */
	bool listen_public;                 /* anyone may listen (default) */
} store_session;

/* Creates a session with a fresh random id and the current time. name must
 * be 1..TT_MAX_SESSION_NAME bytes of valid UTF-8 (TT_EINVAL, TT_ELIMIT). */
int store_session_create(store *st, const char *name, store_session *out);

/* TT_ENOTFOUND when no session has this id. */
int store_session_get(store *st, const char *id, store_session *out);

typedef int (*store_session_fn)(const store_session *s, void *ctx);

/* Sessions newest first, at most limit of them (limit <= 0: all). */
int store_session_list(store *st, int limit, store_session_fn fn, void *ctx);

/* Whether anyone may listen to the session, or only token holders. */
int store_session_set_listen_public(store *st, const char *id, bool on);

/* ---- Session tokens (invites) ----
 *
 * A token gives its holder a role in one session. The store keeps only a
 * hash of the token's secret (the server makes and checks secrets); a
 * token can expire and be revoked, and is never deleted, so the author of
 * past edits stays known. */
typedef enum store_role {
	STORE_ROLE_NONE = 0,
	STORE_ROLE_LISTENER = 1,
	STORE_ROLE_PERFORMER = 2,
	STORE_ROLE_OWNER = 3
} store_role;

#define STORE_TOKEN_HASH 32

typedef struct store_token {
	int64_t id;
	char session_id[STORE_ID_LEN + 1];
	store_role role;
	uint8_t hash[STORE_TOKEN_HASH];
	char label[TT_MAX_DISPLAY_NAME + 1];
	int64_t created_at;
	int64_t expires_at;  /* 0: never */
	int64_t revoked_at;  /* 0: not revoked */
} store_token;

/* Stores t (its id is set); TT_ENOTFOUND for an unknown session. */
int store_token_create(store *st, store_token *t);
/* TT_ENOTFOUND when there is no such token. */
int store_token_get(store *st, int64_t id, store_token *out);
/* Marks it revoked at time now_ms; TT_ENOTFOUND when not in the session. */
int store_token_revoke(store *st, const char *session_id, int64_t id, int64_t now_ms);

typedef int (*store_token_fn)(const store_token *t, void *ctx);
/* The session's tokens, oldest first. */
int store_token_list(store *st, const char *session_id, store_token_fn fn, void *ctx);

const char *store_role_name(store_role r);
store_role store_role_parse(const char *name);

/* ---- Chat ---- */

typedef struct store_chat {
	int64_t id;               /* set by store_chat_append */
	const char *session_id;
	const char *author;
	int64_t time_ms;
	int64_t frame;            /* stream frame when it was said */
	const char *text;         /* 1..TT_MAX_CHAT_BYTES bytes of UTF-8 */
} store_chat;

/* TT_ENOTFOUND (session), TT_EINVAL (empty or not UTF-8), TT_ELIMIT. */
int store_chat_append(store *st, store_chat *c);
typedef int (*store_chat_fn)(const store_chat *c, void *ctx);
/* The session's last `limit` messages, oldest first. */
int store_chat_recent(store *st, const char *session_id, int limit, store_chat_fn fn, void *ctx);

/* ---- Documents ----
 *
 * A document belongs to a session and has a name unique among the
 * session's live documents. Deleting a document only marks it deleted: its
 * operations, snapshots and evaluations stay as history, and its name is
 * free for a new document.
 */
typedef struct store_doc {
	int64_t id;
	char session_id[STORE_ID_LEN + 1];
	char name[TT_MAX_DOC_NAME + 1]; /* 1..TT_MAX_DOC_NAME bytes */
	int64_t created_at;
	int64_t revision; /* head: the highest stored op revision, 0 when none */
} store_doc;

/* TT_ENOTFOUND (no such session), TT_EEXIST (name taken), TT_EINVAL and
 * TT_ELIMIT (name empty, not UTF-8, or too long). */
int store_doc_create(store *st, const char *session_id, const char *name,
		     store_doc *out);

/* A live document by id, or by session and name; TT_ENOTFOUND otherwise. */
int store_doc_get(store *st, int64_t doc_id, store_doc *out);
int store_doc_find(store *st, const char *session_id, const char *name,
		   store_doc *out);

/* TT_ENOTFOUND, TT_EEXIST (another live document has the name). */
int store_doc_rename(store *st, int64_t doc_id, const char *name);

/* Marks the document deleted; TT_ENOTFOUND when it is not live. */
int store_doc_delete(store *st, int64_t doc_id);

typedef int (*store_doc_fn)(const store_doc *d, void *ctx);

/* The session's live documents in order of creation. An unknown session
 * simply has none. */
int store_doc_list(store *st, const char *session_id, store_doc_fn fn,
		   void *ctx);

/* ---- Operations (the edit log) ----
 *
 * Invariant: a document's stored revisions are exactly 1..head, each once.
 * An op whose revision is not head + 1 at the moment it is written is
 * refused with TT_ECONFLICT.
 */
typedef struct store_op {
	int64_t doc_id;
	int64_t revision; /* >= 1 */
	int64_t time_ms;
	const char *author; /* opaque, may be "" */
	const char *op;     /* opaque text (the server's encoding) */
	size_t op_len;      /* bytes of op */
	const char *client_id; /* the sender's own name for itself, or NULL */
	int64_t client_seq;    /* the sender's number for this op (with client_id) */
} store_op;

/*
 * Writes ops[0..n) in one transaction (or, inside store_tx_begin, one
 * savepoint of the group): all of them or none. Ops of one document must come
 * in revision order. On failure, *failed (if not NULL) is the index of the
 * op that was refused (n when the transaction could not begin or commit)
 * and nothing of the batch is stored. Returns only after the commit (when not in a group):
 * the ops are then durable to the configured synchronous level.
 * TT_ENOTFOUND: the document does not exist. TT_ECONFLICT: see above.
 */
int store_ops_append(store *st, const store_op *ops, size_t n, size_t *failed);

typedef int (*store_op_fn)(const store_op *op, void *ctx);

/* The document's ops with revision > after, in revision order. */
int store_ops_since(store *st, int64_t doc_id, int64_t after, store_op_fn fn,
		    void *ctx);

/* For each client that sent ops to the document with a client_id, its op
 * with the highest client_seq (fn sees doc_id, revision, client_id and
 * client_seq; author and op are empty). (doc, client_id, client_seq) is
 * unique: storing it twice is refused with TT_EEXIST. */
int store_ops_last_by_client(store *st, int64_t doc_id, store_op_fn fn, void *ctx);

/* ---- Snapshots ----
 *
 * The document's text as of a revision, so that loading replays only the
 * ops after the latest snapshot. When to take one (every N revisions) is
 * the caller's policy.
 */

/* TT_ELIMIT past TT_MAX_DOC_BYTES, TT_EEXIST when (doc, revision) has one,
 * TT_ENOTFOUND for an unknown document. */
int store_snapshot_put(store *st, int64_t doc_id, int64_t revision,
		       const char *text, size_t len);

/*
 * The latest snapshot of the document at or before revision at_most
 * (INT64_MAX: the latest of all). *text is malloc'd, NUL-terminated, and the
 * caller frees it; *len excludes the NUL. TT_ENOTFOUND when there is none.
 */
int store_snapshot_load(store *st, int64_t doc_id, int64_t at_most,
			int64_t *revision, char **text, size_t *len);

/* ---- Evaluations ---- */

typedef struct store_eval {
	int64_t id;             /* set by store_eval_append */
	const char *session_id;
	int64_t doc_id;
	int64_t revision;       /* the document revision evaluated */
	int64_t time_ms;        /* when it was requested */
	const char *author;
	int64_t range_from;     /* the evaluated range of the document, in the */
	int64_t range_to;       /* caller's units (UTF-16 code units) */
	const char *code;       /* the evaluated text */
	size_t code_len;        /* <= TT_MAX_CODE_BYTES */
	bool ok;                /* landed (true) or failed (false) */
	int64_t landing_frame;  /* stream frame it took effect at (when ok) */
	int64_t cycle_n;        /* landing cycle, exact: cycle_n / cycle_d */
	int64_t cycle_d;
	int64_t cps_n;          /* tempo at landing, exact: cps_n / cps_d */
	int64_t cps_d;
	const char *result;     /* error text when !ok; may be NULL or "" */
	/* Replay (migration 6; 0 in older rows): the run it landed in, the
	 * frame of the render block it was applied before, and the render
	 * frame its table was built at. */
	int64_t run_id;
	int64_t applied_frame;
	int64_t built_frame;
} store_eval;

/* Stores ev and sets ev->id. TT_ENOTFOUND (session or document unknown),
 * TT_ELIMIT (code too long), TT_EINVAL (a zero denominator). */
int store_eval_append(store *st, store_eval *ev);

typedef int (*store_eval_fn)(const store_eval *ev, void *ctx);

/* The session's evaluations with id > after_id, in order; at most limit
 * (limit <= 0: all). */
int store_eval_list(store *st, const char *session_id, int64_t after_id,
		    int limit, store_eval_fn fn, void *ctx);

/* ---- Tempo ----
 *
 * Tempo is a list of segments: from stream frame `frame`, which is cycle
 * cycle_n/cycle_d, the clock runs at cps_n/cps_d cycles per second. */
typedef struct store_tempo {
	int64_t id;             /* set by store_tempo_append */
	const char *session_id;
	int64_t frame;
	int64_t cycle_n, cycle_d;
	int64_t cps_n, cps_d;
	int64_t time_ms;
	const char *author;     /* may be "" */
	int64_t run_id;         /* 0 in rows older than migration 6 */
	int64_t applied_frame;
} store_tempo;

/* TT_ENOTFOUND (session unknown), TT_EINVAL (zero denominator, cps <= 0). */
int store_tempo_append(store *st, store_tempo *t);

typedef int (*store_tempo_fn)(const store_tempo *t, void *ctx);

/* The session's segments in the order they were appended. */
int store_tempo_list(store *st, const char *session_id, store_tempo_fn fn,
		     void *ctx);

/* ---- Runs and controls (replay, docs/storage.md) ----
 *
 * A run is one life of a session's render thread. Its frames count from 0;
 * frame f of a run is at start_frame + f on the session's clock. */
typedef struct store_run {
	int64_t id;               /* set by store_run_begin */
	const char *session_id;
	int64_t start_frame;
	int64_t started_ms;
	double cps;               /* the tempo it started at, exactly as used */
	int64_t restore_upto;     /* evaluations up to this id were restored */
	bool restored;            /* the restore table landed: */
	int64_t restore_applied;  /*  the block it was applied before */
	int64_t restore_frame;    /*  and where it landed */
	int64_t restore_cycle_n, restore_cycle_d;
	int64_t last_frame;       /* rendered at least this far (run frames) */
} store_run;

/* Stores a new run (id, start_frame, started_ms, cps, restore_upto read). */
int store_run_begin(store *st, store_run *r);
int store_run_restored(store *st, int64_t run_id, int64_t applied, int64_t frame,
		       int64_t cycle_n, int64_t cycle_d);
/* Records that the run has rendered up to last_frame. */
int store_run_progress(store *st, int64_t run_id, int64_t last_frame);
typedef int (*store_run_fn)(const store_run *r, void *ctx);
/* The session's runs, oldest first. */
int store_run_list(store *st, const char *session_id, store_run_fn fn, void *ctx);

/* ---- Archive files (the live stream on disk, docs/storage.md) ----
 *
 * One row per Ogg file of a session's archive, written when the file is
 * opened and completed when it is closed (ended_ms 0 here, NULL in the
 * table, while it is open or after a crash). Frames are run frames,
 * last_frame exclusive; path is relative to the archive directory. */
#define STORE_ARCHIVE_PATH 256

typedef struct store_archive_file {
	int64_t id;                          /* set by store_archive_begin */
	char session_id[STORE_ID_LEN + 1];
	int64_t run_id;                      /* 0: no run recorded */
	char path[STORE_ARCHIVE_PATH];
	int64_t first_frame, last_frame;
	int64_t started_ms, ended_ms;        /* ended_ms 0: still open */
	int64_t bytes;
} store_archive_file;

/* Stores the row of a file just opened (session_id, run_id, path,
 * first_frame, started_ms read) and sets id; TT_ENOTFOUND for an unknown
 * session or run. */
int store_archive_begin(store *st, store_archive_file *f);
/* Completes row id when its file is closed; TT_ENOTFOUND for no such row. */
int store_archive_finish(store *st, int64_t id, int64_t last_frame, int64_t ended_ms,
			 int64_t bytes);
int store_archive_delete(store *st, int64_t id);
/* TT_ENOTFOUND when there is no such row. */
int store_archive_get(store *st, int64_t id, store_archive_file *out);
typedef int (*store_archive_fn)(const store_archive_file *f, void *ctx);
/* The session's files, oldest first. */
int store_archive_list(store *st, const char *session_id, store_archive_fn fn, void *ctx);
/* Every session's files still open (after a crash), oldest first. */
int store_archive_list_open(store *st, store_archive_fn fn, void *ctx);
/* Every closed file that ended before ended_before_ms (retention). */
int store_archive_list_before(store *st, int64_t ended_before_ms, store_archive_fn fn,
			      void *ctx);

typedef struct store_control {
	int64_t id;
	const char *session_id;
	int64_t run_id;
	int64_t applied_frame;
	const char *kind;         /* "hush", "mute" or "solo" */
	const char *track;        /* "" for hush */
	bool on;
	const char *author;
	int64_t time_ms;
} store_control;

int store_control_append(store *st, store_control *c);
typedef int (*store_control_fn)(const store_control *c, void *ctx);
/* The session's controls in the order they were appended. */
int store_control_list(store *st, const char *session_id, store_control_fn fn, void *ctx);

/* ---- Accounts (storage/store_account.c) ----
 *
 * An account is a name and a password hash (the server's opaque string,
 * "pbkdf2-sha256$..."); an admin account is owner of every session. An
 * account logs in for a token: the store keeps only its hash (like a
 * session token's) and never deletes it, revocation marks it. A session
 * may be owned by the account that created it, and other accounts hold a
 * role in it through membership. */

#define STORE_PASS_HASH_MAX 160

typedef struct store_account {
	int64_t id;
	char name[TT_MAX_ACCOUNT_NAME + 1];
	bool admin;
	char pass_hash[STORE_PASS_HASH_MAX];
	int64_t created_at;
} store_account;

/* TT_EEXIST when the name is taken; TT_EINVAL for an empty name or hash,
 * TT_ELIMIT past TT_MAX_ACCOUNT_NAME or STORE_PASS_HASH_MAX. */
int store_account_create(store *st, const char *name, bool admin, const char *pass_hash,
			 store_account *out);
/* TT_ENOTFOUND when there is no such account. */
int store_account_get(store *st, int64_t id, store_account *out);
int store_account_find(store *st, const char *name, store_account *out);
int store_account_set_password(store *st, int64_t id, const char *pass_hash);
/* How many accounts exist (0 on a first start). */
int store_account_count(store *st, int64_t *n);

typedef struct store_account_token {
	int64_t id;
	int64_t account_id;
	uint8_t hash[STORE_TOKEN_HASH];
	char label[TT_MAX_DISPLAY_NAME + 1];
	int64_t created_at;
	int64_t expires_at;  /* 0: never */
	int64_t revoked_at;  /* 0: not revoked */
} store_account_token;

/* Stores t and sets t->id; TT_ENOTFOUND for an unknown account. */
int store_account_token_create(store *st, store_account_token *t);
int store_account_token_get(store *st, int64_t id, store_account_token *out);
/* Revokes token id of account_id (TT_ENOTFOUND when it is not theirs). */
int store_account_token_revoke(store *st, int64_t account_id, int64_t id, int64_t now_ms);
/* Revokes every token of the account except keep_id (0: all). */
int store_account_tokens_revoke_all(store *st, int64_t account_id, int64_t keep_id,
				    int64_t now_ms);

/* The account that owns the session (0: none; made before accounts, or by
 * an anonymous request). TT_ENOTFOUND for an unknown session. */
int store_session_owner_account(store *st, const char *session_id, int64_t *account_id);
int store_session_set_owner_account(store *st, const char *session_id, int64_t account_id);

/* The account's role in the session through membership, STORE_ROLE_NONE
 * when it has none. */
int store_member_get(store *st, const char *session_id, int64_t account_id, store_role *out);
/* Adds or changes a membership (role >= LISTENER); TT_ENOTFOUND for an
 * unknown session or account. */
int store_member_set(store *st, const char *session_id, int64_t account_id, store_role role);
/* TT_ENOTFOUND when the account was not a member. */
int store_member_remove(store *st, const char *session_id, int64_t account_id);

typedef int (*store_member_fn)(const char *account_name, store_role role, void *ctx);
/* The session's members by account name. */
int store_member_list(store *st, const char *session_id, store_member_fn fn, void *ctx);


/* ---- Direct events (OSC input, server/osc.c) ----
 *
 * Every event played in a session from outside its patterns, with the run
 * and the run frame it started at: replay starts it again there. params
 * is the event as JSON (opaque here), source says where it came from. */
typedef struct store_direct {
	int64_t id;               /* set by store_direct_append */
	const char *session_id;
	int64_t run_id;           /* 0: no run recorded (stored as NULL) */
	int64_t frame;            /* run frame it started at, >= 0 */
	const char *source;
	const char *params;
	int64_t time_ms;          /* when it arrived */
} store_direct;

/* Stores rows[0..n) in one transaction (or one savepoint of a group), all
 * or none, and sets their ids. TT_ENOTFOUND for an unknown session or run,
 * TT_EINVAL for a negative frame. */
int store_direct_append(store *st, store_direct *rows, size_t n);

typedef int (*store_direct_fn)(const store_direct *d, void *ctx);
/* The session's direct events with id > after_id, in order of id. */
int store_direct_list(store *st, const char *session_id, int64_t after_id,
		      store_direct_fn fn, void *ctx);

#endif
