/*
 * storage/store_export.h: a whole session's rows out of the database and
 * into it again (export and import, server/export.c).
 *
 * The store knows the tables a session leaves behind and their columns; it
 * hands rows out and takes them back as arrays of plain values, in the
 * column order store_x_columns() gives. What a row means (which values are
 * valid, how ids are remapped) is the caller's: the store only checks what
 * its schema checks, and reports a refused row with SQLite's reason.
 *
 * Import writes through a store_ximport on a handle of its own: one
 * transaction (BEGIN IMMEDIATE) from store_x_import_begin to
 * store_x_import_end, so a failure anywhere leaves nothing behind.
 *
 * Threads: like every store function, one thread per handle. Not for the
 * render thread (I/O, allocation).
 */
#ifndef TT_STORAGE_STORE_EXPORT_H
#define TT_STORAGE_STORE_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

/* The tables of a session, in the order an import must write them (a row
 * refers only to rows of earlier tables, except runs.restore_upto: see
 * store_x_import_restore). */
typedef enum store_xtable {
	STORE_XT_DOCUMENTS,
	STORE_XT_SNAPSHOTS,   /* per document */
	STORE_XT_OPS,         /* per document */
	STORE_XT_RUNS,
	STORE_XT_EVALUATIONS,
	STORE_XT_TEMPO,
	STORE_XT_CONTROLS,
	STORE_XT_CHAT,
	STORE_XT_DIRECT,      /* direct_events (OSC input) */
	STORE_XT_COUNT_
} store_xtable;

/* What a column holds, so that the caller can check and remap it. */
typedef enum store_xkind {
	STORE_XC_ID,        /* INTEGER PRIMARY KEY: a new one is given on import */
	STORE_XC_INT,       /* INTEGER NOT NULL */
	STORE_XC_INT_NULL,  /* INTEGER, may be NULL */
	STORE_XC_BOOL,      /* INTEGER 0 or 1 */
	STORE_XC_REAL,      /* REAL NOT NULL */
	STORE_XC_TEXT,      /* TEXT NOT NULL */
	STORE_XC_TEXT_NULL, /* TEXT, may be NULL */
	STORE_XC_DOC,       /* a documents.id of the session */
	STORE_XC_RUN,       /* a runs.id of the session */
	STORE_XC_RUN_NULL,  /* a runs.id of the session, or NULL */
	STORE_XC_EVAL_UPTO, /* an evaluations.id bound (runs.restore_upto) */
} store_xkind;

typedef struct store_xcol {
	const char *name;   /* the field's name in an export (the column's, */
	const char *sql;    /* except where SQL needs another: on_) */
	store_xkind kind;
} store_xcol;

/* One value of a row. Text is borrowed (for a callback's duration, or for
 * the call that takes it). */
typedef enum store_xtype { STORE_XNULL, STORE_XINT, STORE_XREAL, STORE_XTEXT } store_xtype;

typedef struct store_xval {
	store_xtype type;
	int64_t i;
	double r;
	const char *s;
	size_t len;
} store_xval;

/* The table's name in an export ("documents", "ops", ...). */
const char *store_x_table_name(store_xtable t);

/* The table's columns, in row order; *n their number. The session column
 * is not among them, nor doc_id for snapshots and ops (they are read and
 * written per document). Static; never freed. */
const store_xcol *store_x_columns(store_xtable t, size_t *n);

/* Upper bound of store_x_columns()'s n, for arrays on the stack. */
#define STORE_X_MAX_COLS 20

typedef int (*store_xrow_fn)(const store_xval *row, void *ctx);

/*
 * Calls fn for every row of table t of the session (or, for snapshots and
 * ops, of document doc_id), in the order of their ids (revisions for
 * snapshots and ops). Documents include deleted ones. fn returns 0 to go
 * on; anything else stops and is returned.
 */
int store_x_read(store *st, store_xtable t, const char *session_id, int64_t doc_id,
		 store_xrow_fn fn, void *ctx);

/* A read transaction around several store_x_read calls, so that they see
 * one state of the database. */
int store_x_read_begin(store *st);
void store_x_read_end(store *st);

typedef struct store_ximport store_ximport;

/*
 * Begins an import: opens a transaction on st (which must not have a group
 * open) and creates the session: a fresh id, s->name, s->created_at and
 * s->listen_public. *out_session is the new session. On failure nothing is
 * written and *out is NULL.
 */
int store_x_import_begin(store *st, const store_session *s, store_session *out_session,
			 store_ximport **out);

/*
 * Writes one row of table t (doc_id: the new id of the document, for
 * snapshots and ops; ignored otherwise). row follows store_x_columns(t);
 * its references (STORE_XC_DOC, _RUN) must already be the new ids; an
 * STORE_XC_ID value is ignored and *new_id (may be NULL) receives the id
 * the row was given. An error leaves the transaction open for
 * store_x_import_end to roll back; store_errmsg() says why.
 */
int store_x_import_row(store_ximport *im, store_xtable t, int64_t doc_id, const store_xval *row,
		       int64_t *new_id);

/* Sets restore_upto of (new) run run_id, once the evaluations are in. */
int store_x_import_restore(store_ximport *im, int64_t run_id, int64_t upto);

/* Commits (commit nonzero) or rolls back, and frees im. A failed commit
 * rolls back and returns its error. */
int store_x_import_end(store_ximport *im, int commit);

/* Deletes a session and, by the schema's cascades, everything it holds
 * (an import whose owner token could not be made). */
int store_x_session_delete(store *st, const char *session_id);

#endif
