/*
 * tests/fuzz/fuzz_opjson.c: fuzz target for the operation decoder.
 *
 * Input: one selector byte, then JSON text. The selector picks a small
 * document (ASCII, accented, CJK, combining, emoji). The JSON is decoded as
 * an operation; when it decodes, it is applied by ot_apply, in place
 * (ot_text_apply) and through a doc (doc_receive), which must agree; it
 * must survive an encode/decode round trip unchanged; and, when it fits
 * the document, it is transformed against itself, and both sides must
 * converge. Any disagreement traps.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collab/doc.h"
#include "collab/ot.h"
#include "collab/ot_json.h"
#include "common/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const docs[] = {
	"",
	"abc",
	"a\360\237\230\200b",                      /* a😀b (octal) */
	"s(\"bd sd\")\n// caf\xc3\xa9 \xe4\xb8\xad e\xcc\x81",
	"\xf0\x9f\x8e\xb5\xf0\x9f\x8e\xb5",          /* 🎵🎵 */
};

static void check(int cond)
{
	if (!cond)
		__builtin_trap();
}

static void check_round_trip(const ot_op *op)
{
	json_t *j = NULL;
	ot_op back;
	char *txt;

	ot_op_init(&back);
	if (ot_json_encode(op, &j) == TT_OK) {
		txt = json_dumps(j, JSON_COMPACT);
		if (txt)
			check(ot_json_decode_text(txt, strlen(txt), &back, NULL,
						  0) == TT_OK &&
			      ot_op_equal(op, &back));
		free(txt);
		json_decref(j);
	}
	ot_op_fini(&back);
}

/* The server's path gives the same result and changes nothing on error. */
static void check_doc(const char *s, const ot_op *op, int want_rc,
		      const char *want, size_t want_len)
{
	doc *d = NULL;
	uint64_t rev = 0;
	size_t len = 0;
	int rc;

	check(doc_new(s, strlen(s), 5, &d, NULL, 0) == TT_OK);
	rc = doc_receive(d, 5, op, NULL, &rev, NULL, 0);
	check(rc == want_rc);
	if (rc == TT_OK)
		check(rev == 6 && doc_text(d, &len) && len == want_len &&
		      memcmp(doc_text(d, NULL), want, len) == 0);
	else
		check(doc_rev(d) == 5 && strcmp(doc_text(d, NULL), s) == 0);
	doc_free(d);
}

static void check_apply(const char *s, const ot_op *op)
{
	char *out = NULL, *x = NULL, *y = NULL;
	size_t n = 0, nx = 0, ny = 0;
	ot_op ap, bp;
	ot_text t;
	int rc;

	rc = ot_apply(s, strlen(s), op, &out, &n, NULL, 0);
	check(ot_text_init(&t, s, strlen(s), NULL, 0) == TT_OK);
	check(ot_text_apply(&t, op, NULL, 0) == rc);
	if (rc == TT_OK)
		check(t.len == n && memcmp(t.s, out, n) == 0);
	else
		check(strcmp(t.s, s) == 0);
	ot_text_fini(&t);
	check_doc(s, op, rc, out, n);
	if (rc != TT_OK)
		return;
	ot_op_init(&ap);
	ot_op_init(&bp);
	if (ot_transform(op, op, &ap, &bp, NULL, 0) == TT_OK &&
	    ot_apply(out, n, &bp, &x, &nx, NULL, 0) == TT_OK &&
	    ot_apply(out, n, &ap, &y, &ny, NULL, 0) == TT_OK)
		check(nx == ny && memcmp(x, y, nx) == 0);
	free(x);
	free(y);
	free(out);
	ot_op_fini(&ap);
	ot_op_fini(&bp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	ot_op op;

	if (size < 1)
		return 0;
	ot_op_init(&op);
	if (ot_json_decode_text((const char *)data + 1, size - 1, &op, err,
				sizeof err) == TT_OK) {
		check_round_trip(&op);
		check_apply(docs[data[0] % (sizeof docs / sizeof *docs)], &op);
	} else {
		check(op.ncomps == 0 && err[0] != '\0');
	}
	ot_op_fini(&op);
	return 0;
}
