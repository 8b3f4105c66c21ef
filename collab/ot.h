/*
 * collab/ot.h: operational transformation on plain Unicode text.
 *
 * An operation (ot_op) walks over a whole document from its start and is a
 * sequence of components:
 *
 *   retain(n)     keep the next n UTF-16 code units unchanged
 *   insert(text)  insert text (UTF-8, its length counted in UTF-16 units)
 *   delete(n)     remove the next n UTF-16 code units
 *
 * Lengths count UTF-16 code units as browsers and CodeMirror do (see
 * collab/utf.h): an astral character such as an emoji counts 2, and a
 * component boundary that would fall between the two halves of a surrogate
 * pair makes the operation invalid for that text.
 *
 * The base length of an operation (retains + deletes) must equal the length
 * of the text it applies to; its target length (retains + inserts) is the
 * length of the result. A trailing retain is therefore part of an operation.
 *
 * Canonical form. The builder functions (ot_op_retain/insert/delete) keep
 * every operation canonical, so two operations with the same effect compare
 * equal with ot_op_equal:
 *   1. no component is empty (n > 0, insert text non-empty);
 *   2. no two adjacent components have the same kind (they are merged);
 *   3. an insert never directly follows a delete: at one place the insert
 *      comes first (insert("x") delete(2) rather than delete(2) insert("x")).
 *
 * Tie-break. ot_transform(a, b) puts a's insert first when a and b insert
 * at the same position ("left first"). The server transforms an incoming
 * client operation as the right-hand side against the operations it already
 * applied, so the operation the server applied first wins the tie, and every
 * client computes the same order.
 *
 * Ownership: an ot_op owns its arrays; ot_op_init/ot_op_fini pair its
 * lifecycle and ot_op_clear empties it keeping its memory for reuse.
 * Thread safety: none inside one ot_op; distinct ops are independent.
 * Render thread: not safe (builders allocate).
 */
#ifndef TT_COLLAB_OT_H
#define TT_COLLAB_OT_H

#include <stddef.h>

#include "collab/utf.h"

typedef enum ot_kind {
	OT_RETAIN = 0,
	OT_INSERT = 1,
	OT_DELETE = 2
} ot_kind;

/* One component. For an insert, its text is op->text[off .. off + bytes)
 * and n is that text's length in UTF-16 units; off and bytes are 0 for
 * retain and delete. */
typedef struct ot_comp {
	ot_kind kind;
	size_t n;
	size_t off;
	size_t bytes;
} ot_comp;

/* Fields are readable; change an op only through the functions below. The
 * inserts' texts are stored back to back in text, in component order. */
typedef struct ot_op {
	ot_comp *comps;
	size_t ncomps;
	size_t comps_cap;
	char *text;
	size_t text_len;
	size_t text_cap;
	size_t base_len;   /* UTF-16 units the op applies to */
	size_t target_len; /* UTF-16 units of the result */
} ot_op;

void ot_op_init(ot_op *op);
void ot_op_fini(ot_op *op);
/* Empties op (the no-op on the empty text) and keeps its memory. */
void ot_op_clear(ot_op *op);

/*
 * Builders: append one component, keeping canonical form. n == 0 and empty
 * text are accepted and do nothing. ot_op_insert validates text (UTF-8, no
 * U+0000) and fails with TT_EINVAL otherwise. All fail with TT_ELIMIT when
 * the op would exceed TT_MAX_OP_COMPONENTS components, when its base or
 * target length or its inserted bytes would exceed TT_MAX_DOC_BYTES (no
 * document can be that long), and with TT_ENOMEM. On failure op is
 * unchanged.
 */
int ot_op_retain(ot_op *op, size_t n);
int ot_op_insert(ot_op *op, const char *text, size_t bytes);
int ot_op_delete(ot_op *op, size_t n);

/* Makes dst (initialised, not src itself) a copy of src, reusing dst's
 * memory. On failure dst is left empty. */
int ot_op_copy(ot_op *dst, const ot_op *src);

/* 1 when a and b are the same canonical operation, else 0. */
int ot_op_equal(const ot_op *a, const ot_op *b);

/* 1 when op changes nothing (only retains, or empty). */
int ot_op_is_noop(const ot_op *op);

/*
 * Applies op to valid UTF-8 text[0..len) and returns the new text in *out
 * (NUL-terminated, caller frees with free()) and its byte length in
 * *out_len. Fails, writing a message into err (may be NULL), with
 * TT_EINVAL when op's base length differs from the text's UTF-16 length or
 * a component boundary splits a surrogate pair, TT_ELIMIT when the result
 * would exceed TT_MAX_DOC_BYTES, TT_ENOMEM. Pure; thread-safe.
 */
int ot_apply(const char *text, size_t len, const ot_op *op, char **out,
	     size_t *out_len, char *err, size_t errsz);

/*
 * Composes a then b into *out (initialised; overwritten) so that applying
 * out equals applying a then b. Needs a's target length == b's base length
 * (else TT_EINVAL). TT_EINVAL also when b cuts an astral character that a
 * inserted; TT_ELIMIT when the result exceeds a builder limit.
 */
int ot_compose(const ot_op *a, const ot_op *b, ot_op *out, char *err,
	       size_t errsz);

/*
 * Transforms concurrent a and b (same base length, else TT_EINVAL) into
 * a_prime and b_prime such that apply(apply(s, a), b_prime) ==
 * apply(apply(s, b), a_prime). At a tie a's insert goes first. Either
 * output may be NULL when the caller needs only the other. Outputs are
 * initialised ops, overwritten; they must not alias a or b.
 */
int ot_transform(const ot_op *a, const ot_op *b, ot_op *a_prime,
		 ot_op *b_prime, char *err, size_t errsz);

/*
 * Moves position pos (UTF-16 units in op's base text, pos <= base length)
 * through op: text inserted before pos and text deleted before pos shift
 * it. Text inserted exactly at pos goes before the position when is_own is
 * nonzero (a performer's own typing carries their cursor along) and after
 * it otherwise (someone else's typing leaves it where it was). A position
 * inside a deleted range moves to the start of the deletion. The result is
 * clamped to op's target length.
 */
size_t ot_transform_index(size_t pos, const ot_op *op, int is_own);

/*
 * A document text held for repeated in-place edits: UTF-8 bytes s[0..len)
 * (always NUL-terminated), its UTF-16 length, and a mark at the last edit
 * so that the next nearby edit maps its positions with a short scan.
 */
typedef struct ot_text {
	char *s;
	size_t len;
	size_t cap;
	size_t units;
	utf_mark mark;
	size_t *offs;      /* scratch: byte offset of each component */
	size_t offs_cap;
} ot_text;

/* Copies text[0..len), which must be valid UTF-8 without U+0000 (TT_EINVAL)
 * and at most TT_MAX_DOC_BYTES (TT_ELIMIT). */
int ot_text_init(ot_text *t, const char *text, size_t len, char *err,
		 size_t errsz);
void ot_text_fini(ot_text *t);

/* Applies op in place; same checks and errors as ot_apply. Atomic: on any
 * error t is unchanged. */
int ot_text_apply(ot_text *t, const ot_op *op, char *err, size_t errsz);

#endif
