/*
 * collab/ot_json.c: operations to and from their JSON wire form.
 *
 * Design note. Decoding checks each array element for its JSON type and
 * range before it reaches the ot.h builders, so that every refusal can say
 * which component was wrong and why; the builders then normalise. The
 * component count is checked on the array before anything is built.
 *
 * Invariants:
 *  1. On failure the output op is empty and err names the component.
 *  2. The encoder emits exactly the op's canonical components.
 */
#include "collab/ot_json.h"

#include <stdarg.h>
#include <stdio.h>

#include "collab/utf.h"
#include "common/error.h"
#include "collab/collab_int.h"
#include "common/limits.h"

static json_t *encode_comp(const ot_op *op, const ot_comp *c)
{
	switch (c->kind) {
	case OT_RETAIN:
		return json_integer((json_int_t)c->n);
	case OT_DELETE:
		return json_integer(-(json_int_t)c->n);
	case OT_INSERT:
		return json_stringn_nocheck(op->text + c->off, c->bytes);
	}
	return NULL;
}

int ot_json_encode(const ot_op *op, json_t **out)
{
	json_t *arr = json_array();

	if (!arr)
		return TT_ENOMEM;
	for (size_t i = 0; i < op->ncomps; i++) {
		if (json_array_append_new(arr, encode_comp(op, &op->comps[i]))) {
			json_decref(arr);
			return TT_ENOMEM;
		}
	}
	*out = arr;
	return TT_OK;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a float";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	}
	return "an unknown value";
}

static int decode_string(const json_t *v, size_t i, ot_op *out, char *err,
			 size_t errsz)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), bad = 0;
	int rc;

	if (n == 0)
		return collab__fail(TT_EINVAL, err, errsz,
			    "component %zu: empty insert", i);
	if (n > TT_MAX_DOC_BYTES)
		return collab__fail(TT_ELIMIT, err, errsz, "component %zu: insert of "
			    "%zu bytes exceeds TT_MAX_DOC_BYTES (%d)", i, n,
			    TT_MAX_DOC_BYTES);
	if (utf_validate(s, n, 0, &bad, NULL) < 0)
		return collab__fail(TT_EINVAL, err, errsz, "component %zu: insert is "
			    "not valid UTF-8 or holds U+0000 (byte %zu)", i,
			    bad);
	rc = ot_op_insert(out, s, n);
	if (rc < 0)
		return collab__fail(rc, err, errsz, "component %zu: %s", i,
			    rc == TT_ELIMIT ? "the operation's inserts exceed "
			    "TT_MAX_DOC_BYTES" : tt_strerror(rc));
	return TT_OK;
}

static int decode_integer(const json_t *v, size_t i, ot_op *out, char *err,
			  size_t errsz)
{
	json_int_t n = json_integer_value(v);
	int rc;

	if (n == 0)
		return collab__fail(TT_EINVAL, err, errsz, "component %zu: 0 is not a "
			    "component (retain n > 0, delete -n < 0)", i);
	if (n > TT_MAX_DOC_BYTES || n < -(json_int_t)TT_MAX_DOC_BYTES)
		return collab__fail(TT_ELIMIT, err, errsz, "component %zu: length %lld "
			    "is beyond TT_MAX_DOC_BYTES (%d)", i, (long long)n,
			    TT_MAX_DOC_BYTES);
	rc = n > 0 ? ot_op_retain(out, (size_t)n)
		   : ot_op_delete(out, (size_t)-n);
	if (rc < 0)
		return collab__fail(rc, err, errsz, "component %zu: %s", i,
			    rc == TT_ELIMIT ? "the operation's length exceeds "
			    "TT_MAX_DOC_BYTES" : tt_strerror(rc));
	return TT_OK;
}

int ot_json_decode(const json_t *j, ot_op *out, char *err, size_t errsz)
{
	size_t count;
	int rc = TT_OK;

	ot_op_clear(out);
	if (!json_is_array(j))
		return collab__fail(TT_EINVAL, err, errsz, "an operation must be a JSON "
			    "array, not %s", j ? type_name(j) : "nothing");
	count = json_array_size(j);
	if (count > TT_MAX_OP_COMPONENTS)
		return collab__fail(TT_ELIMIT, err, errsz, "operation has %zu components,"
			    " more than TT_MAX_OP_COMPONENTS (%d)", count,
			    TT_MAX_OP_COMPONENTS);
	for (size_t i = 0; i < count && rc == TT_OK; i++) {
		const json_t *v = json_array_get(j, i);
		if (json_is_string(v))
			rc = decode_string(v, i, out, err, errsz);
		else if (json_is_integer(v))
			rc = decode_integer(v, i, out, err, errsz);
		else
			rc = collab__fail(TT_EINVAL, err, errsz, "component %zu: expected "
				  "an integer or a string, got %s", i,
				  type_name(v));
	}
	if (rc < 0)
		ot_op_clear(out);
	return rc;
}

int ot_json_decode_text(const char *buf, size_t n, ot_op *out, char *err,
			size_t errsz)
{
	json_error_t je;
	json_t *j;
	int rc;

	ot_op_clear(out);
	j = json_loadb(buf, n, JSON_DECODE_ANY, &je);
	if (!j)
		return collab__fail(TT_EINVAL, err, errsz, "line %d, column %d: %s",
			    je.line, je.column, je.text);
	rc = ot_json_decode(j, out, err, errsz);
	json_decref(j);
	return rc;
}
