/*
 * collab/doc.h: the server-authoritative shared document.
 *
 * A doc holds the current text, its revision r (revision r is the text
 * after operations 1..r), and a window of the most recent operations. A
 * client sends an operation made against the revision it last saw; the doc
 * transforms it over every operation applied since, applies the result and
 * returns it, so the caller can store it, acknowledge it and broadcast it.
 *
 * The window holds at most TT_MAX_OT_HISTORY operations and
 * TT_MAX_OT_HISTORY_BYTES bytes; an operation based on a revision older
 * than the window is refused with TT_ECONFLICT, and that client must reload
 * a snapshot. No I/O: persistence is the caller's.
 *
 * Thread safety: none; one doc belongs to one thread (or one lock) at a
 * time. Not for the render thread (allocates).
 */
#ifndef TT_COLLAB_DOC_H
#define TT_COLLAB_DOC_H

#include <stddef.h>
#include <stdint.h>

#include "collab/ot.h"

typedef struct doc doc;

/*
 * Creates a doc holding text[0..len) (valid UTF-8 without U+0000, at most
 * TT_MAX_DOC_BYTES) at revision rev, with an empty window: the way to load
 * a stored snapshot, after which stored operations are replayed with
 * doc_receive(d, doc_rev(d), ...). Errors: TT_EINVAL, TT_ELIMIT, TT_ENOMEM,
 * with a message in err (may be NULL). The caller frees *out with doc_free.
 */
int doc_new(const char *text, size_t len, uint64_t rev, doc **out,
	    char *err, size_t errsz);
void doc_free(doc *d);

/* The current text, NUL-terminated, borrowed until the next doc_receive;
 * its byte length in *len (len may be NULL). */
const char *doc_text(const doc *d, size_t *len);
/* The current text's length in UTF-16 units. */
size_t doc_units(const doc *d);
/* The current revision. */
uint64_t doc_rev(const doc *d);
/* The oldest base revision doc_receive and doc_ops_since still accept. */
uint64_t doc_oldest_rev(const doc *d);

/* Bytes the window holds, as counted against TT_MAX_OT_HISTORY_BYTES
 * (each op: its struct, its components and its inserted text). */
size_t doc_window_bytes(const doc *d);

/* Bytes all docs of the process hold: their texts, rings and ops, each
 * buffer by its capacity (malloc's own overhead aside). Bounded
 * per doc by TT_MAX_DOC_BYTES, TT_MAX_OT_HISTORY and
 * TT_MAX_OT_HISTORY_BYTES; /metrics shows it so that a soak can tell this
 * bounded growth from a leak. Safe from any thread. */
size_t doc_memory_total(void);

/*
 * Receives op, made against revision base_rev. On success the doc is at
 * revision *new_rev (== old revision + 1), and *transformed (an initialised
 * op, overwritten; may be NULL) holds the op as applied: the one to store,
 * acknowledge and broadcast. Errors, with a message in err:
 *   TT_EINVAL    base_rev is ahead of the doc, or op does not fit the text
 *                at base_rev (length, surrogate pair);
 *   TT_ECONFLICT base_rev is older than the window (resync by snapshot);
 *   TT_ELIMIT    the result would exceed TT_MAX_DOC_BYTES, or the
 *                transformed op a builder limit;
 *   TT_ENOMEM.
 * Atomic: on any error the doc (text, revision, window) is unchanged.
 * op is borrowed.
 */
int doc_receive(doc *d, uint64_t base_rev, const ot_op *op,
		ot_op *transformed, uint64_t *new_rev, char *err,
		size_t errsz);

/*
 * The operations after revision rev, for a reconnecting client to replay:
 * fills ops[0..*n) with borrowed pointers (valid until the next
 * doc_receive) to operations rev+1 .. doc_rev(d), in order. Errors:
 * TT_EINVAL when rev is ahead of the doc, TT_ECONFLICT when rev is older
 * than the window (send a snapshot instead), TT_ELIMIT when more than max
 * operations would be returned (max = TT_MAX_OT_HISTORY always suffices).
 */
int doc_ops_since(const doc *d, uint64_t rev, const ot_op **ops, size_t max,
		  size_t *n);

#endif
