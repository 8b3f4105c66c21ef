/*
 * collab/ot_json.h: the wire form of an operation (as ot.js writes it).
 *
 * An operation is a JSON array of components, in order from the start of
 * the document:
 *
 *   a positive integer n   retain n UTF-16 code units
 *   a negative integer -n  delete n UTF-16 code units
 *   a non-empty string s   insert s; it counts as many units as the
 *                          JavaScript string s has (s.length)
 *
 * Example: on "hello world", [6, -5, "there"] gives "hello there";
 * on "a😀b" (4 units: the emoji is a surrogate pair), [1, -2, 1] gives "ab".
 * The array covers the whole document: retains and deletes add up to the
 * document's length, so a trailing retain is written out.
 *
 * The decoder accepts any array of such components (adjacent ones of one
 * kind, a delete before an insert) and normalises it; it rejects, with a
 * message naming the component's index:
 *   - anything but an array;
 *   - 0, a float (1.0 included), true/false/null, an object, an array;
 *   - an empty string; a string with invalid UTF-8, an unpaired surrogate
 *     or U+0000;
 *   - with TT_ELIMIT: |n| or an insert's bytes greater than
 *     TT_MAX_DOC_BYTES (no document is that long), lengths or inserts
 *     adding up past it, more than TT_MAX_OP_COMPONENTS components.
 * Everything else fails with TT_EINVAL; a JSON syntax error (including an
 * integer too big for 64 bits) names its line and column. The encoder writes the canonical
 * form (collab/ot.h), so decode(encode(op)) == op.
 *
 * Thread-safe (no shared state); not for the render thread (allocates).
 */
#ifndef TT_COLLAB_OT_JSON_H
#define TT_COLLAB_OT_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "collab/ot.h"

/* Encodes op as a new JSON array (*out: a new reference the caller
 * json_decref()s). TT_ENOMEM on failure. */
int ot_json_encode(const ot_op *op, json_t **out);

/* Decodes JSON value j (borrowed) into *out (initialised; overwritten).
 * On failure err holds what was wrong and where and *out is empty. */
int ot_json_decode(const json_t *j, ot_op *out, char *err, size_t errsz);

/* Parses JSON text buf[0..n) and decodes it as above; a parse error
 * reports its line and column. */
int ot_json_decode_text(const char *buf, size_t n, ot_op *out, char *err,
			size_t errsz);

#endif
