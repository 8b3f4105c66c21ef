/*
 * tests/collab/test_ot_props.c: properties of apply, compose, transform and
 * transform_index over thousands of random operations on random texts
 * (ASCII, accents, CJK, combining marks, emoji) from a fixed seed.
 *
 * Each property is one TAP point that counts its failures and prints the
 * first counterexample.
 */
#include <stdlib.h>
#include <string.h>

#include "collab/ot.h"
#include "collab/ot_json.h"
#include "common/error.h"
#include "tests/collab/oplib.h"
#include "tests/tap.h"

#define ROUNDS 3000
#define MAXCHARS 60

static char *rand_text(rng *r)
{
	char *s = malloc(4 * MAXCHARS + 1);
	size_t u = 0;
	oplib_rand_text(r, s, rng_below(r, MAXCHARS), &u);
	return s;
}

static void show(const char *what, const ot_op *op)
{
	json_t *j = NULL;
	char *txt;
	if (ot_json_encode(op, &j) < 0)
		return;
	txt = json_dumps(j, JSON_COMPACT);
	printf("#   %s = %s\n", what, txt ? txt : "?");
	free(txt);
	json_decref(j);
}

/* TP1: apply(apply(s, a), b') == apply(apply(s, b), a'); both outputs are
 * canonical; asking for one output gives the same op. */
static void prop_convergence(rng *r)
{
	ot_op a, b, ap, bp, only;
	int bad = 0;

	ot_op_init(&a); ot_op_init(&b); ot_op_init(&ap); ot_op_init(&bp);
	ot_op_init(&only);
	for (int i = 0; i < ROUNDS; i++) {
		char *s = rand_text(r), *sa, *sb, *x = NULL, *y = NULL;
		size_t len = strlen(s);
		oplib_rand_op(r, s, len, 6, &a);
		oplib_rand_op(r, s, len, 6, &b);
		int rc = ot_transform(&a, &b, &ap, &bp, NULL, 0);
		int rc2 = ot_transform(&a, &b, NULL, &only, NULL, 0);
		sa = oplib_apply(s, &a);
		sb = oplib_apply(s, &b);
		if (rc == TT_OK && sa && sb) {
			x = oplib_apply(sa, &bp);
			y = oplib_apply(sb, &ap);
		}
		if (rc != TT_OK || rc2 != TT_OK || !x || !y || strcmp(x, y) ||
		    !oplib_canonical(&ap) || !oplib_canonical(&bp) ||
		    !ot_op_equal(&only, &bp)) {
			if (!bad++) {
				printf("#   s = \"%s\"\n", s);
				show("a", &a);
				show("b", &b);
			}
		}
		free(s); free(sa); free(sb); free(x); free(y);
	}
	ok(bad == 0, "TP1 convergence over %d random pairs (%d failed)",
	   ROUNDS, bad);
	ot_op_fini(&a); ot_op_fini(&b); ot_op_fini(&ap); ot_op_fini(&bp);
	ot_op_fini(&only);
}

/* apply(apply(s, a), b) == apply(s, compose(a, b)). */
static void prop_compose(rng *r)
{
	ot_op a, b, c;
	int bad = 0;

	ot_op_init(&a); ot_op_init(&b); ot_op_init(&c);
	for (int i = 0; i < ROUNDS; i++) {
		char *s = rand_text(r), *sa, *sab = NULL, *sc = NULL;
		oplib_rand_op(r, s, strlen(s), 6, &a);
		sa = oplib_apply(s, &a);
		if (sa) {
			oplib_rand_op(r, sa, strlen(sa), 6, &b);
			sab = oplib_apply(sa, &b);
			if (ot_compose(&a, &b, &c, NULL, 0) == TT_OK)
				sc = oplib_apply(s, &c);
		}
		if (!sab || !sc || strcmp(sab, sc) || !oplib_canonical(&c)) {
			if (!bad++) {
				printf("#   s = \"%s\"\n", s);
				show("a", &a);
				show("b", &b);
			}
		}
		free(s); free(sa); free(sab); free(sc);
	}
	ok(bad == 0, "compose matches sequential apply over %d pairs "
	   "(%d failed)", ROUNDS, bad);
	ot_op_fini(&a); ot_op_fini(&b); ot_op_fini(&c);
}

/* Unit position of the first '#' in s (the marker; never generated). */
static size_t marker_at(const char *s)
{
	const char *p = strchr(s, '#');
	return p ? utf_units(s, (size_t)(p - s)) : (size_t)-1;
}

/* transform_index agrees with transforming an inserted marker: with the op
 * first at a tie the marker lands after the op's insert (is_own), with the
 * marker first before it. */
static void prop_index(rng *r)
{
	ot_op op, m, mp;
	int bad = 0;

	ot_op_init(&op); ot_op_init(&m); ot_op_init(&mp);
	for (int i = 0; i < ROUNDS; i++) {
		char *s = rand_text(r), *so;
		size_t len = strlen(s), units = utf_units(s, len), b = 0, pos;
		oplib_rand_op(r, s, len, 6, &op);
		do {
			pos = rng_below(r, units + 1);
		} while (utf_seek(s, len, units, NULL, pos, &b) < 0);
		ot_op_clear(&m);
		ot_op_retain(&m, pos);
		ot_op_insert(&m, "#", 1);
		ot_op_retain(&m, units - pos);
		so = oplib_apply(s, &op);
		for (int own = 0; own < 2; own++) {
			char *x = NULL;
			if (own)
				ot_transform(&op, &m, NULL, &mp, NULL, 0);
			else
				ot_transform(&m, &op, &mp, NULL, NULL, 0);
			if (so)
				x = oplib_apply(so, &mp);
			if (!x || marker_at(x) != ot_transform_index(pos, &op, own))
				bad++;
			free(x);
		}
		free(s);
		free(so);
	}
	ok(bad == 0, "transform_index agrees with a transformed marker over "
	   "%d cases (%d failed)", 2 * ROUNDS, bad);
	ot_op_fini(&op); ot_op_fini(&m); ot_op_fini(&mp);
}

/* ot_text_apply (in place, cached positions) gives what ot_apply gives,
 * over long chains of edits, and fails atomically on a bad op. */
static void prop_text_apply(rng *r)
{
	ot_op op, wrong;
	int bad = 0, steps = 0;

	ot_op_init(&op);
	ot_op_init(&wrong);
	for (int chain = 0; chain < 60; chain++) {
		char *s = rand_text(r);
		ot_text t;
		ot_text_init(&t, s, strlen(s), NULL, 0);
		for (int k = 0; k < 100; k++, steps++) {
			char *want;
			/* mostly small edits (in place), some large (rebuild) */
			oplib_rand_op(r, s, strlen(s), k % 5 ? 40 : 3, &op);
			want = oplib_apply(s, &op);
			ot_op_copy(&wrong, &op);
			ot_op_retain(&wrong, 1);
			if (ot_text_apply(&t, &wrong, NULL, 0) == TT_OK ||
			    strcmp(t.s, s) != 0)
				bad++;
			if (!want || ot_text_apply(&t, &op, NULL, 0) < 0 ||
			    strcmp(t.s, want) != 0 || t.len != strlen(want) ||
			    t.units != utf_units(want, strlen(want)))
				bad++;
			free(s);
			s = want ? want : strdup("");
		}
		ot_text_fini(&t);
		free(s);
	}
	ok(bad == 0, "in-place apply matches ot_apply over %d edits "
	   "(%d failed)", steps, bad);
	ot_op_fini(&op);
	ot_op_fini(&wrong);
}

/* decode(encode(op)) == op for random canonical ops. */
static void prop_json(rng *r)
{
	ot_op op, back;
	int bad = 0;

	ot_op_init(&op);
	ot_op_init(&back);
	for (int i = 0; i < ROUNDS; i++) {
		char *s = rand_text(r), *txt = NULL;
		json_t *j = NULL;
		oplib_rand_op(r, s, strlen(s), 6, &op);
		if (ot_json_encode(&op, &j) == TT_OK)
			txt = json_dumps(j, JSON_COMPACT);
		if (!txt || ot_json_decode_text(txt, strlen(txt), &back, NULL,
						0) < 0 ||
		    !ot_op_equal(&op, &back))
			bad++;
		free(txt);
		json_decref(j);
		free(s);
	}
	ok(bad == 0, "JSON round trip over %d ops (%d failed)", ROUNDS, bad);
	ot_op_fini(&op);
	ot_op_fini(&back);
}

int main(void)
{
	rng r = { 0x7475747469ULL };   /* "tutti" */

	prop_convergence(&r);
	prop_compose(&r);
	prop_index(&r);
	prop_text_apply(&r);
	prop_json(&r);
	return tap_done();
}
