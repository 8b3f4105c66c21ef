/*
 * tests/collab/test_ot.c: apply, compose, transform and transform_index on
 * hand-checked cases, with ASCII, accented, CJK, combining and astral text.
 */
#include <stdlib.h>
#include <string.h>

#include "collab/ot.h"
#include "common/error.h"
#include "common/limits.h"
#include "tests/collab/oplib.h"
#include "tests/tap.h"

#define EMOJI "\xf0\x9f\x98\x80"   /* U+1F600, 2 UTF-16 units */
#define NOTE "\xf0\x9f\x8e\xb5"    /* U+1F3B5, 2 UTF-16 units */
#define CJK "\xe4\xb8\xad"         /* U+4E2D, 1 unit */
#define EACUTE "\xc3\xa9"          /* U+00E9, 1 unit */
#define COMB "\xcc\x81"            /* U+0301 combining acute, 1 unit */

/* Applies json op to s and checks the result (want NULL: must fail). */
static void check_apply(const char *s, const char *json, const char *want,
			const char *name)
{
	ot_op op;
	char *got = oplib_apply(s, oplib_op(&op, json));
	is_str(got, want, "apply %s", name);
	free(got);
	ot_op_fini(&op);
}

static void test_apply(void)
{
	char err[200] = "";
	char *out = NULL;
	size_t n = 0;
	ot_op op;

	check_apply("hello world", "[6,-5,\"there\"]", "hello there",
		    "replace a word");
	check_apply("", "[\"abc\"]", "abc", "insert into empty text");
	check_apply("abc", "[]", NULL, "empty op on non-empty text fails");
	check_apply("", "[]", "", "empty op on empty text");
	check_apply("a" EMOJI "b", "[1,-2,1]", "ab", "delete an emoji (2 units)");
	check_apply("a" EMOJI "b", "[2,-1,1]", NULL,
		    "delete half an emoji fails");
	check_apply("a" EMOJI "b", "[2,\"x\",2]", NULL,
		    "insert inside a surrogate pair fails");
	check_apply("a" EMOJI "b", "[3,\"" NOTE "\",1]",
		    "a" EMOJI NOTE "b", "insert an emoji after an emoji");
	check_apply(CJK CJK "x", "[1,\"" EACUTE "\",-1,1]",
		    CJK EACUTE "x", "CJK counts one unit each");
	check_apply("e" COMB "x", "[1,-1,1]", "ex",
		    "combining mark is its own unit and can be deleted");
	check_apply("abc", "[4]", NULL, "base length too long fails");
	check_apply("abc", "[2]", NULL, "base length too short fails");
	check_apply(EMOJI, "[2,\"!\"]", EMOJI "!", "retain a whole emoji");

	oplib_op(&op, "[1,\"x\",2]");
	is_int(ot_apply("abcd", 4, &op, &out, &n, err, sizeof err), TT_EINVAL,
	       "wrong base length is TT_EINVAL");
	ok(strstr(err, "base length 3") != NULL, "message names the length: %s",
	   err);
	ot_op_fini(&op);
	is_int(ot_apply(EMOJI "a", 5, oplib_op(&op, "[1,-2]"), &out, &n, err,
			sizeof err), TT_EINVAL, "split pair is TT_EINVAL");
	ok(strstr(err, "surrogate") != NULL, "message says why: %s", err);
	ot_op_fini(&op);
}

static void test_apply_limit(void)
{
	size_t big = TT_MAX_DOC_BYTES - 1;
	char *s = malloc(big + 1), *out = NULL;
	char err[200];
	size_t n = 0;
	ot_op op;

	memset(s, 'a', big);
	s[big] = '\0';
	ot_op_init(&op);
	ot_op_retain(&op, big);
	ot_op_insert(&op, "b", 1);
	is_int(ot_apply(s, big, &op, &out, &n, err, sizeof err), TT_OK,
	       "result of exactly TT_MAX_DOC_BYTES is accepted");
	is_int(n, TT_MAX_DOC_BYTES, "result has TT_MAX_DOC_BYTES bytes");
	free(out);
	out = NULL;
	ot_op_clear(&op);
	ot_op_retain(&op, big);
	ot_op_insert(&op, EACUTE, 2);
	is_int(ot_apply(s, big, &op, &out, &n, err, sizeof err), TT_ELIMIT,
	       "result of TT_MAX_DOC_BYTES + 1 is TT_ELIMIT");
	ok(strstr(err, "TT_MAX_DOC_BYTES") != NULL, "message names the limit");
	ok(out == NULL, "no result on failure");
	ot_op_fini(&op);
	free(s);
}

static void test_canonical(void)
{
	ot_op a, b;

	ot_op_init(&a);
	ot_op_retain(&a, 2);
	ot_op_retain(&a, 0);
	ot_op_retain(&a, 1);
	ot_op_delete(&a, 2);
	ot_op_insert(&a, "x", 1);
	ot_op_delete(&a, 1);
	ot_op_insert(&a, "y", 1);
	ot_op_retain(&a, 1);
	oplib_op(&b, "[3,\"xy\",-3,1]");
	ok(ot_op_equal(&a, &b),
	   "builder merges and puts inserts before deletes");
	is_int(a.ncomps, 4, "four components after normalising");
	is_int(a.base_len, 7, "base length 3 + 3 + 1");
	is_int(a.target_len, 6, "target length 3 + 2 + 1");
	is_int(ot_op_insert(&a, "\xc3", 1), TT_EINVAL,
	       "insert of invalid UTF-8 is refused");
	is_int(ot_op_insert(&a, "a\0b", 3), TT_EINVAL,
	       "insert holding U+0000 is refused");
	ok(ot_op_equal(&a, &b), "refused inserts leave the op unchanged");
	ot_op_clear(&a);
	ok(ot_op_is_noop(&a), "a cleared op is a no-op");
	ot_op_retain(&a, 5);
	ok(ot_op_is_noop(&a), "a pure retain is a no-op");
	ok(!ot_op_is_noop(&b), "an edit is not a no-op");
	ot_op_fini(&a);
	ot_op_fini(&b);
}

static void test_limits(void)
{
	ot_op op;
	int rc = TT_OK;

	ot_op_init(&op);
	for (int i = 0; i < TT_MAX_OP_COMPONENTS && rc == TT_OK; i++)
		rc = i % 2 ? ot_op_retain(&op, 1) : ot_op_delete(&op, 1);
	is_int(rc, TT_OK, "TT_MAX_OP_COMPONENTS components are accepted");
	is_int(op.ncomps, TT_MAX_OP_COMPONENTS, "op holds them all");
	is_int(ot_op_delete(&op, 1), TT_ELIMIT,
	       "component TT_MAX_OP_COMPONENTS + 1 is TT_ELIMIT");
	is_int(op.ncomps, TT_MAX_OP_COMPONENTS, "op unchanged after refusal");
	is_int(ot_op_retain(&op, 3), TT_OK,
	       "merging into the last component still works");
	ot_op_clear(&op);
	is_int(ot_op_retain(&op, TT_MAX_DOC_BYTES), TT_OK,
	       "retain of TT_MAX_DOC_BYTES is accepted");
	is_int(ot_op_retain(&op, 1), TT_ELIMIT,
	       "base length past TT_MAX_DOC_BYTES is TT_ELIMIT");
	ot_op_fini(&op);
}

/* compose(a, b) on s equals applying a then b, and the op is as expected. */
static void check_compose(const char *s, const char *ja, const char *jb,
			  const char *jwant, const char *name)
{
	ot_op a, b, want, got;
	char *s1, *s2, *s3;

	oplib_op(&a, ja);
	oplib_op(&b, jb);
	oplib_op(&want, jwant);
	ot_op_init(&got);
	is_int(ot_compose(&a, &b, &got, NULL, 0), TT_OK, "compose %s", name);
	ok(ot_op_equal(&got, &want), "compose %s gives %s", name, jwant);
	s1 = oplib_apply(s, &a);
	s2 = s1 ? oplib_apply(s1, &b) : NULL;
	s3 = oplib_apply(s, &got);
	is_str(s3, s2, "compose %s: same text as a then b", name);
	free(s1);
	free(s2);
	free(s3);
	ot_op_fini(&a);
	ot_op_fini(&b);
	ot_op_fini(&want);
	ot_op_fini(&got);
}

static void test_compose(void)
{
	ot_op a, b, c;
	char err[200] = "";

	check_compose("abc", "[1,\"xy\",2]", "[2,-2,1]", "[1,\"x\",-1,1]",
		      "delete part of an insert and some text");
	check_compose("ab", "[\"" EMOJI "\",2]", "[2,\"!\",2]",
		      "[\"" EMOJI "!\",2]", "insert after an inserted emoji");
	check_compose(CJK "a", "[-1,1]", "[\"" CJK "\",1]",
		      "[\"" CJK "\",-1,1]", "delete then reinsert");
	check_compose("", "[\"a" EMOJI "b\"]", "[1,-2,1]", "[\"ab\"]",
		      "remove an emoji the first op inserted");

	oplib_op(&a, "[\"" EMOJI "\"]");
	oplib_op(&b, "[1,-1]");
	ot_op_init(&c);
	is_int(ot_compose(&a, &b, &c, err, sizeof err), TT_EINVAL,
	       "compose refuses to split an inserted emoji");
	ot_op_fini(&b);
	oplib_op(&b, "[3]");
	is_int(ot_compose(&a, &b, &c, err, sizeof err), TT_EINVAL,
	       "compose refuses mismatched lengths");
	ok(strstr(err, "target length 2") != NULL, "message says so: %s", err);
	ot_op_fini(&a);
	ot_op_fini(&b);
	ot_op_fini(&c);
}

/* transform(a, b) on s: both orders converge to want. */
static void check_transform(const char *s, const char *ja, const char *jb,
			    const char *want, const char *name)
{
	ot_op a, b, ap, bp;
	char *sa, *sb, *sab, *sba;

	oplib_op(&a, ja);
	oplib_op(&b, jb);
	ot_op_init(&ap);
	ot_op_init(&bp);
	is_int(ot_transform(&a, &b, &ap, &bp, NULL, 0), TT_OK, "transform %s",
	       name);
	sa = oplib_apply(s, &a);
	sb = oplib_apply(s, &b);
	sab = sa ? oplib_apply(sa, &bp) : NULL;
	sba = sb ? oplib_apply(sb, &ap) : NULL;
	is_str(sab, want, "transform %s: a then b'", name);
	is_str(sba, want, "transform %s: b then a'", name);
	free(sa);
	free(sb);
	free(sab);
	free(sba);
	ot_op_fini(&a);
	ot_op_fini(&b);
	ot_op_fini(&ap);
	ot_op_fini(&bp);
}

static void test_transform(void)
{
	ot_op a, b, ap;
	char err[200] = "";

	check_transform("ab", "[1,\"X\",1]", "[1,\"Y\",1]", "aXYb",
			"tie: first argument's insert goes first");
	check_transform("ab", "[1,\"Y\",1]", "[1,\"X\",1]", "aYXb",
			"tie the other way round");
	check_transform("abcdef", "[1,-3,2]", "[2,-3,1]", "af",
			"overlapping deletes");
	check_transform("abcdef", "[1,-4,1]", "[3,\"Z\",3]", "aZf",
			"insert inside a deleted range survives");
	check_transform("a" EMOJI "b", "[1,-2,1]", "[3,\"" NOTE "\",1]",
			"a" NOTE "b", "delete an emoji, insert another after it");
	check_transform(CJK EACUTE "e" COMB, "[\"" EMOJI "\",4]",
			"[2,-2]", EMOJI CJK EACUTE,
			"emoji insert against deleting a combined letter");
	check_transform("xyz", "[-3]", "[-3]", "", "both delete everything");

	oplib_op(&a, "[2]");
	oplib_op(&b, "[3]");
	ot_op_init(&ap);
	is_int(ot_transform(&a, &b, &ap, NULL, err, sizeof err), TT_EINVAL,
	       "transform refuses different base lengths");
	ot_op_fini(&a);
	ot_op_fini(&b);
	ot_op_fini(&ap);
}

static void test_transform_index(void)
{
	ot_op op;

	oplib_op(&op, "[2,\"" EMOJI "\",3]");
	is_int(ot_transform_index(1, &op, 0), 1, "cursor before an insert");
	is_int(ot_transform_index(2, &op, 0), 2,
	       "another's insert at the cursor leaves it before");
	is_int(ot_transform_index(2, &op, 1), 4,
	       "own insert at the cursor carries it past the emoji (2 units)");
	is_int(ot_transform_index(3, &op, 0), 5, "cursor after moves by 2");
	ot_op_fini(&op);
	oplib_op(&op, "[1,-3,2]");
	is_int(ot_transform_index(0, &op, 0), 0, "cursor before a delete");
	is_int(ot_transform_index(2, &op, 0), 1,
	       "cursor inside a delete goes to its start");
	is_int(ot_transform_index(4, &op, 0), 1, "cursor at the delete's end");
	is_int(ot_transform_index(6, &op, 0), 3, "cursor at the end");
	is_int(ot_transform_index(9, &op, 0), 3, "past the end is clamped");
	ot_op_fini(&op);
}

int main(void)
{
	test_apply();
	test_apply_limit();
	test_canonical();
	test_limits();
	test_compose();
	test_transform();
	test_transform_index();
	return tap_done();
}
