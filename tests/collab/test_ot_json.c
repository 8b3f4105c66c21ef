/*
 * tests/collab/test_ot_json.c: the operation wire format: encoding, and the
 * decoder's refusal of every kind of malformed input with a message naming
 * what and where.
 */
#include <stdlib.h>
#include <string.h>

#include "collab/ot_json.h"
#include "common/error.h"
#include "common/limits.h"
#include "tests/collab/oplib.h"
#include "tests/tap.h"

/* Decodes json and checks the code and that the message holds needle. */
static void check_bad(const char *json, int code, const char *needle)
{
	char err[300] = "";
	ot_op op;
	int rc;

	ot_op_init(&op);
	ot_op_retain(&op, 1);
	rc = ot_json_decode_text(json, strlen(json), &op, err, sizeof err);
	is_int(rc, code, "%s is refused with %s", json, tt_strerror(code));
	if (!ok(strstr(err, needle) != NULL, "message for %s names '%s'", json,
		needle))
		printf("#   message: %s\n", err);
	ok(op.ncomps == 0, "op is empty after refusing %s", json);
	ot_op_fini(&op);
}

static void check_good(const char *json, const char *canonical)
{
	char err[300] = "";
	ot_op op;
	json_t *j = NULL;
	char *txt = NULL;

	ot_op_init(&op);
	is_int(ot_json_decode_text(json, strlen(json), &op, err, sizeof err),
	       TT_OK, "%s decodes", json);
	if (ot_json_encode(&op, &j) == TT_OK)
		txt = json_dumps(j, JSON_COMPACT);
	is_str(txt, canonical, "%s encodes canonically", json);
	free(txt);
	json_decref(j);
	ot_op_fini(&op);
}

static void test_good(void)
{
	check_good("[]", "[]");
	check_good("[3, \"ab\", -2, 1]", "[3,\"ab\",-2,1]");
	check_good("[1, 2, -1, -1, \"a\", \"b\"]", "[3,\"ab\",-2]");
	check_good("[\"\\ud83d\\ude00\", 5]", "[\"\xf0\x9f\x98\x80\",5]");
	check_good("[-2, \"x\"]", "[\"x\",-2]");
	check_good("[1048576]", "[1048576]");
}

static void test_units(void)
{
	ot_op op;

	oplib_op(&op, "[\"a\\ud83c\\udfb5\\u4e2d\"]");
	is_int(op.target_len, 4, "emoji counts 2 units, CJK 1 (as in JS)");
	is_int(op.text_len, 8, "stored as 8 bytes of UTF-8");
	ot_op_fini(&op);
}

static void test_bad(void)
{
	check_bad("{\"retain\": 1}", TT_EINVAL, "must be a JSON array");
	check_bad("5", TT_EINVAL, "not an integer");
	check_bad("[1, 0, 2]", TT_EINVAL, "component 1: 0");
	check_bad("[1, 2.5]", TT_EINVAL, "component 1: expected an integer or "
		  "a string, got a float");
	check_bad("[1.0]", TT_EINVAL, "component 0");
	check_bad("[1e3]", TT_EINVAL, "a float");
	check_bad("[2, true]", TT_EINVAL, "component 1");
	check_bad("[null]", TT_EINVAL, "got null");
	check_bad("[[1]]", TT_EINVAL, "got an array");
	check_bad("[{}]", TT_EINVAL, "got an object");
	check_bad("[1, \"\"]", TT_EINVAL, "component 1: empty insert");
	check_bad("[1048577]", TT_ELIMIT, "component 0: length 1048577");
	check_bad("[-1048577]", TT_ELIMIT, "beyond TT_MAX_DOC_BYTES");
	check_bad("[3, 9223372036854775807]", TT_ELIMIT, "component 1");
	check_bad("[99999999999999999999999]", TT_EINVAL, "too big");
	check_bad("[1048576, 1]", TT_ELIMIT, "component 1");
	check_bad("[\"\\ud800\"]", TT_EINVAL, "nvalid Unicode");
	check_bad("[\"a\\udc00b\"]", TT_EINVAL, "nvalid Unicode");
	check_bad("[\"\\u0000\"]", TT_EINVAL, "column");
	check_bad("[1, \"\xc3\x28\"]", TT_EINVAL, "column");
	check_bad("[1, 2", TT_EINVAL, "line 1");
	check_bad("", TT_EINVAL, "line");
}

/* A json_t string made without jansson's checks (as another program could
 * hand over) is still validated. */
static void test_unchecked_string(void)
{
	char err[300] = "";
	json_t *arr = json_array();
	ot_op op;

	json_array_append_new(arr, json_integer(2));
	json_array_append_new(arr, json_stringn_nocheck("a\xed\xa0\x80", 4));
	ot_op_init(&op);
	is_int(ot_json_decode(arr, &op, err, sizeof err), TT_EINVAL,
	       "encoded surrogate in an insert is refused");
	ok(strstr(err, "component 1") && strstr(err, "byte 1"),
	   "message names component and byte: %s", err);
	json_decref(arr);
	arr = json_array();
	json_array_append_new(arr, json_stringn_nocheck("a\0b", 3));
	is_int(ot_json_decode(arr, &op, err, sizeof err), TT_EINVAL,
	       "U+0000 in an insert is refused");
	json_decref(arr);
	is_int(ot_json_decode(NULL, &op, err, sizeof err), TT_EINVAL,
	       "NULL is refused");
	ot_op_fini(&op);
}

/* TT_MAX_OP_COMPONENTS components decode; one more is TT_ELIMIT. */
static void test_component_limit(void)
{
	json_t *arr = json_array();
	char err[300] = "";
	ot_op op;

	for (int i = 0; i < TT_MAX_OP_COMPONENTS; i++)
		json_array_append_new(arr, i % 2 ? json_integer(1)
						 : json_string("x"));
	ot_op_init(&op);
	is_int(ot_json_decode(arr, &op, err, sizeof err), TT_OK,
	       "TT_MAX_OP_COMPONENTS components are accepted");
	is_int(op.ncomps, TT_MAX_OP_COMPONENTS, "all of them kept");
	json_array_append_new(arr, json_string("x"));
	is_int(ot_json_decode(arr, &op, err, sizeof err), TT_ELIMIT,
	       "TT_MAX_OP_COMPONENTS + 1 components are TT_ELIMIT");
	ok(strstr(err, "TT_MAX_OP_COMPONENTS") != NULL,
	   "message names the limit: %s", err);
	json_decref(arr);
	ot_op_fini(&op);
}

/* An insert of TT_MAX_DOC_BYTES bytes decodes; one byte more does not. */
static void test_insert_limit(void)
{
	size_t n = TT_MAX_DOC_BYTES;
	char *s = malloc(n + 1), err[300] = "";
	json_t *arr;
	ot_op op;

	memset(s, 'a', n + 1);
	ot_op_init(&op);
	arr = json_array();
	json_array_append_new(arr, json_stringn(s, n));
	is_int(ot_json_decode(arr, &op, err, sizeof err), TT_OK,
	       "insert of TT_MAX_DOC_BYTES bytes is accepted");
	json_decref(arr);
	arr = json_array();
	json_array_append_new(arr, json_stringn(s, n + 1));
	is_int(ot_json_decode(arr, &op, err, sizeof err), TT_ELIMIT,
	       "insert of TT_MAX_DOC_BYTES + 1 bytes is TT_ELIMIT");
	ok(strstr(err, "component 0") && strstr(err, "TT_MAX_DOC_BYTES"),
	   "message names component and limit: %s", err);
	json_decref(arr);
	arr = json_array();
	json_array_append_new(arr, json_stringn(s, n));
	json_array_append_new(arr, json_string("b"));
	is_int(ot_json_decode(arr, &op, err, sizeof err), TT_ELIMIT,
	       "inserts adding up past TT_MAX_DOC_BYTES are TT_ELIMIT");
	ok(strstr(err, "component 1") != NULL, "at component 1: %s", err);
	json_decref(arr);
	ot_op_fini(&op);
	free(s);
}

int main(void)
{
	test_good();
	test_units();
	test_bad();
	test_unchecked_string();
	test_component_limit();
	test_insert_limit();
	return tap_done();
}
