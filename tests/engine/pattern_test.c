/*
 * tests/engine/pattern_test.c: the pattern core through its own API
 * (engine/pattern.h), without the front end: event structure, locations,
 * patterned arguments, randomness bit-exact with Strudel 1.2.6, controls,
 * and every query limit at N and N+1.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"
#include "engine/pattern.h"
#include "tests/tap.h"

static pat_pool *pool;
static unsigned char *mem;
static tt_arena arena;
static tt_event *ev;
static size_t n_ev;

#define MEM (64u << 20)

static int query(pat *p, int64_t b, int64_t e)
{
	arena_reset(&arena);
	return pat_query(p, (tt_span){ { b, 1 }, { e, 1 } }, &arena, &ev, &n_ev);
}

static pat *num(double x)
{
	pat *p;
	return pat_num(pool, x, NULL, &p) == TT_OK ? p : NULL;
}

static pat *str_at(const char *s, uint32_t at)
{
	pat *p;
	tt_loc l = { at, at + (uint32_t)strlen(s) };
	return pat_str(pool, s, &l, &p) == TT_OK ? p : NULL;
}

static pat *seq2(pat *a, pat *b)
{
	pat *k[2] = { a, b }, *p;
	return pat_fastcat(pool, k, 2, &p) == TT_OK ? p : NULL;
}

static pat *ctl(const char *name, pat *v)
{
	pat *p;
	return pat_control(pool, name, v, &p) == TT_OK ? p : NULL;
}

static const char *span_str(tt_span s)
{
	static char buf[4][64];
	static int k;
	char a[30], b[30];
	k = (k + 1) % 4;
	rat_format(s.begin, a, sizeof a);
	rat_format(s.end, b, sizeof b);
	snprintf(buf[k], sizeof buf[k], "%s-%s", a, b);
	return buf[k];
}

static void test_sequence(void)
{
	/* s("bd sd") */
	pat *p = ctl("s", seq2(str_at("bd", 3), str_at("sd", 6)));
	is_int(query(p, 0, 1), TT_OK, "query s(\"bd sd\")");
	is_int(n_ev, 2, "two events");
	is_str(span_str(ev[1].whole), "1/2-1", "second whole");
	is_str(event_field(&ev[1], "s")->str, "sd", "value {s: sd}");
	ok(ev[1].n_locs == 1 && ev[1].locs[0].start == 6 && ev[1].locs[0].end == 8,
	   "location of the sd token");
	/* a query across cycles cuts parts, not wholes */
	pat *slow;
	is_int(pat_slow(pool, p, num(3), &slow), TT_OK, "slow(3)");
	arena_reset(&arena);
	is_int(pat_query(slow, (tt_span){ { 1, 1 }, { 2, 1 } }, &arena, &ev, &n_ev),
	       TT_OK, "query cycle 1");
	ok(n_ev == 2 && strcmp(span_str(ev[0].whole), "0-3/2") == 0 &&
	   strcmp(span_str(ev[0].part), "1-3/2") == 0, "fragment keeps its whole");
	ok(!event_has_onset(&ev[0]), "a fragment has no onset");
}

static void test_patterned_arg(void)
{
	/* s("bd sd").fast("<1 2>"): the argument's location joins each event */
	pat *k[2] = { str_at("1", 20), str_at("2", 22) }, *alt, *f;
	pat *p = ctl("s", seq2(str_at("bd", 3), str_at("sd", 6)));
	k[0] = NULL;
	pat_num(pool, 1, &(tt_loc){ 20, 21 }, &k[0]);
	pat_num(pool, 2, &(tt_loc){ 22, 23 }, &k[1]);
	pat_slowcat(pool, k, 2, &alt);
	is_int(pat_fast(pool, p, alt, &f), TT_OK, "fast(\"<1 2>\")");
	is_int(query(f, 1, 2), TT_OK, "query cycle 1");
	is_int(n_ev, 4, "four events in the fast cycle");
	ok(ev[0].n_locs == 2 && ev[0].locs[0].start == 22, "outer location first");
	/* a pure argument with a location: appended after the event's own */
	pat *two, *f2;
	pat_num(pool, 2, &(tt_loc){ 30, 31 }, &two);
	pat_fast(pool, p, two, &f2);
	query(f2, 0, 1);
	ok(n_ev == 4 && ev[0].n_locs == 2 && ev[0].locs[1].start == 30,
	   "pure argument location appended");
}

/* Values Strudel 1.2.6 gives for rand.segment(4) over two cycles. */
static void test_rand(void)
{
	static const double want[] = { 0, 0.36975969187915325, 0.2604806162416935,
				       0.19582648016512394, 0.5195421651005745,
				       0.7287282031029463, 0.6084080748260021 };
	pat *r, *s;
	pat_rand(pool, &r);
	pat_segment(pool, r, num(4), &s);
	is_int(query(s, 0, 2), TT_OK, "rand.segment(4)");
	is_int(n_ev, 8, "eight values");
	for (size_t i = 0; i < sizeof want / sizeof want[0] && i < n_ev; i++)
		ok(ev[i].fields[0].num == want[i], "rand value %zu bit-exact", i);
}

/* n(wchoose([0, .25], [2, .5], [7, .25]).segment(4)) in Strudel 1.2.6 */
static void test_wchoose(void)
{
	static const double want[12] = { 0, 2, 2, 0, 2, 2, 2, 0, 7, 2, 2, 2 };
	static const double w[3] = { 0.25, 0.5, 0.25 };
	pat *xs[3] = { num(0), num(2), num(7) }, *r, *s;
	int good = 1;
	is_int(pat_wchoose(pool, xs, w, 3, &r), TT_OK, "wchoose");
	pat_segment(pool, r, num(4), &s);
	is_int(query(s, 0, 3), TT_OK, "query three cycles");
	is_int(n_ev, 12, "twelve events");
	for (size_t i = 0; i < n_ev && i < 12; i++)
		good &= ev[i].fields[0].num == want[i];
	ok(good, "the weighted choices Strudel makes");
}

static void test_degrade(void)
{
	/* s("hh*8?") keeps the events Strudel keeps in cycle 0 */
	pat *h, *d;
	pat_fast(pool, ctl("s", str_at("hh", 3)), num(8), &h);
	is_int(pat_degrade_seed(pool, h, 0.5, 0, &d), TT_OK, "hh*8?");
	is_int(query(d, 0, 1), TT_OK, "query");
	ok(n_ev > 0 && n_ev < 8, "some but not all kept (%zu)", n_ev);
}

static int fn_add7(void *env, pat_pool *pl, pat *in, pat **out)
{
	pat *seven;
	(void)env;
	if (pat_num(pl, 7, NULL, &seven) != TT_OK)
		return TT_ENOMEM;
	return pat_op(pl, PAT_OP_ADD, PAT_HOW_IN, in, seven, out);
}

/* Where Strudel throws: at build time an error, at query time no events. */
static void test_throws(void)
{
	pat *p = seq2(num(0), num(1)), *r, *k[2], *alt;
	pat_fn f = { fn_add7, NULL };
	pat *half;
	pat_num(pool, 0.5, NULL, &half);
	is_int(pat_first_of(pool, p, half, f, &r), TT_EINVAL,
	       "every(0.5, f) fails to build, as in Strudel");
	ok(strlen(pat_pool_error(pool)) > 0, "with a message");
	is_int(pat_shuffle(pool, p, num(1), &r), TT_OK, "shuffle(1) builds");
	is_int(query(r, 0, 1), TT_OK, "and its query answers");
	is_int(n_ev, 0, "with no events (Strudel's query throws)");
	/* a patterned every count of 1.5 throws while querying */
	pat_num(pool, 1.5, &(tt_loc){ 0, 1 }, &k[0]);
	pat_num(pool, 2, &(tt_loc){ 2, 3 }, &k[1]);
	pat_slowcat(pool, k, 2, &alt);
	is_int(pat_first_of(pool, p, alt, f, &r), TT_OK, "every(\"<1.5 2>\", f)");
	is_int(query(r, 0, 2), TT_OK, "query");
	is_int(n_ev, 0, "no events at all");
	/* off with a patterned offset made of literals: f applied per value */
	pat_num(pool, 0.25, &(tt_loc){ 0, 1 }, &k[0]);
	pat_num(pool, 0.125, &(tt_loc){ 2, 3 }, &k[1]);
	pat_slowcat(pool, k, 2, &alt);
	is_int(pat_off(pool, p, alt, f, &r), TT_OK, "off(\"<0.25 0.125>\", f)");
	is_int(query(r, 1, 2), TT_OK, "query cycle 1");
	int shifted = 0;
	for (size_t i = 0; i < n_ev; i++)
		if (ev[i].fields[0].num >= 7 && ev[i].whole.begin.d == 8)
			shifted++;
	ok(shifted > 0, "cycle 1 has events shifted by 1/8 and added to");
	pat *r2;
	is_int(pat_off(pool, p, r, f, &r2), TT_EUNSUPPORTED,
	       "an offset that is not made of literals is refused");
}

static void test_controls(void)
{
	is_str(controls_lookup("lpf"), "cutoff", "lpf -> cutoff");
	is_str(controls_lookup("legato"), "clip", "legato -> clip");
	is_str(controls_lookup("size"), "roomsize", "size -> roomsize");
	is_str(controls_lookup("s"), "s", "s is itself");
	ok(controls_lookup("fast") == NULL, "fast is not a control");
	/* the ends of the sorted table (a binary search would miss them if
	 * the table were out of order) */
	is_str(controls_lookup("FXr"), "FXrelease", "first entry");
	is_str(controls_lookup("zzfx"), "zzfx", "last entry");
	is_str(controls_lookup("fm11"), "fmi11", "generated fm aliases");
	ok(controls_lookup("") == NULL && controls_lookup("LPF") == NULL,
	   "names are case-sensitive");
	/* s("bd:3") spreads an array over s and n */
	pat *t, *c;
	pat_tail(pool, str_at("bd", 3), num(3), &t);
	c = ctl("s", t);
	query(c, 0, 1);
	ok(n_ev == 1 && event_field(&ev[0], "n") && event_field(&ev[0], "n")->num == 3,
	   "bd:3 -> {s: bd, n: 3}");
	/* n("0 1").add(10): a bare number cannot change a control value */
	pat *nn = ctl("n", seq2(num(0), num(1))), *a;
	pat_op(pool, PAT_OP_ADD, PAT_HOW_IN, nn, num(10), &a);
	query(a, 0, 1);
	ok(n_ev == 2 && event_field(&ev[1], "n")->num == 1, "n(...).add(10) unchanged");
}

static void test_scale(void)
{
	pat *p = ctl("n", seq2(num(0), num(2))), *s, *name;
	pat_str(pool, "C:minor", NULL, &name);
	is_int(pat_scale(pool, p, name, &s), TT_OK, "scale(C:minor)");
	query(s, 0, 1);
	ok(n_ev == 2 && strcmp(event_field(&ev[1], "note")->str, "Eb3") == 0,
	   "degree 2 of C minor is Eb3");
}

static pat *bd_times(double k)
{
	pat *f;
	return pat_fast(pool, ctl("s", str_at("bd", 3)), num(k), &f) == TT_OK ? f : NULL;
}

/* TT_MAX_PATTERN_BYTES: a pool hands out N bytes, not N + 1; a builder
 * that needs more fails with TT_ELIMIT and a sentence naming the limit. */
static void test_pool_limit(void)
{
	pat_pool *p;
	pat *e, *f;

	pat_pool_new(&p);
	ok(pat_pool_alloc(p, TT_MAX_PATTERN_BYTES - 16) != NULL && pat_pool_alloc(p, 16) != NULL,
	   "a pool hands out TT_MAX_PATTERN_BYTES in all");
	ok(pat_pool_alloc(p, 1) == NULL && strstr(pat_pool_error(p), "TT_MAX_PATTERN_BYTES"),
	   "one byte more is refused, naming the limit: %s", pat_pool_error(p));
	pat_pool_free(p);
	pat_pool_new(&p);
	ok(pat_pool_alloc(p, (size_t)TT_MAX_PATTERN_BYTES + 1) == NULL,
	   "so is TT_MAX_PATTERN_BYTES + 1 at once");
	pat_pool_free(p);
	/* a builder near the limit: euclid(1, 9000) builds 9,000 steps */
	pat_pool_new(&p);
	ok(pat_pool_alloc(p, TT_MAX_PATTERN_BYTES - 4096) != NULL, "a pool almost full");
	pat *k, *n;
	pat_num(p, 1, NULL, &e);
	pat_num(p, 1, NULL, &k);
	pat_num(p, 9000, NULL, &n);
	int rc = pat_euclid(p, e, k, n, &f);
	ok(rc == TT_ELIMIT && strstr(pat_pool_error(p), "TT_MAX_PATTERN_BYTES"),
	   "then euclid(1, 9000) fails with TT_ELIMIT naming the limit (%d: %s)", rc,
	   pat_pool_error(p));
	pat_pool_free(p);
}

static void test_limits(void)
{
	is_int(query(bd_times(TT_MAX_EVENTS_PER_CYCLE), 0, 1), TT_OK,
	       "TT_MAX_EVENTS_PER_CYCLE events are fine");
	is_int(n_ev, TT_MAX_EVENTS_PER_CYCLE, "all of them");
	is_int(query(bd_times(TT_MAX_EVENTS_PER_CYCLE + 1), 0, 1), TT_ELIMIT,
	       "one more is TT_ELIMIT");
	is_int(query(bd_times(1e8), 0, 1), TT_ELIMIT, "bd*100000000 is TT_ELIMIT");
	is_int(query(bd_times(1e12), 0, 1), TT_ELIMIT, "fast(1e12) is TT_ELIMIT");
	/* slow(1e-12) overflows exact time rather than wrapping */
	pat *q;
	pat_fast(pool, bd_times(1e12), num(1e12), &q);
	int rc = query(q, 0, 1);
	ok(rc == TT_ELIMIT || rc == TT_ERANGE, "fast(1e24) fails cleanly (%d)", rc);

	/* nesting: TT_MAX_QUERY_DEPTH nodes deep is fine, one more is not */
	pat *p = num(1);
	for (int i = 1; i < TT_MAX_QUERY_DEPTH; i++)
		pat_with_loc(pool, p, (tt_loc){ 0, 1 }, &p);
	/* with_loc on a pure keeps it a leaf: use rev to nest nodes */
	p = num(1);
	for (int i = 1; i < TT_MAX_QUERY_DEPTH; i++)
		pat_rev(pool, p, &p);
	is_int(query(p, 0, 1), TT_OK, "depth TT_MAX_QUERY_DEPTH answers");
	pat_rev(pool, p, &p);
	is_int(query(p, 0, 1), TT_ELIMIT, "one level deeper is TT_ELIMIT");

	/* work: a stack of k silences costs 1 + k node visits */
	pat *sil, **many = malloc(sizeof *many * TT_MAX_QUERY_WORK);
	pat_silence(pool, &sil);
	for (int i = 0; i < TT_MAX_QUERY_WORK; i++)
		many[i] = sil;
	pat *st;
	pat_stack(pool, many, TT_MAX_QUERY_WORK - 1, &st);
	is_int(query(st, 0, 1), TT_OK, "TT_MAX_QUERY_WORK steps are fine");
	pat_stack(pool, many, TT_MAX_QUERY_WORK, &st);
	is_int(query(st, 0, 1), TT_ELIMIT, "one step more is TT_ELIMIT");
	free(many);

	/* a full arena is TT_ELIMIT, never a crash */
	unsigned char small[4096];
	tt_arena a;
	arena_init(&a, small, sizeof small);
	is_int(pat_query(bd_times(64), (tt_span){ { 0, 1 }, { 1, 1 } }, &a, &ev, &n_ev),
	       TT_ELIMIT, "a full arena is TT_ELIMIT");
	ok(a.used <= a.cap, "the arena was not overrun");
}

int main(void)
{
	mem = malloc(MEM);
	if (!mem || pat_pool_new(&pool) != TT_OK)
		return 1;
	arena_init(&arena, mem, MEM);
	test_sequence();
	test_patterned_arg();
	test_rand();
	test_wchoose();
	test_degrade();
	test_throws();
	test_controls();
	test_scale();
	test_limits();
	test_pool_limit();
	pat_pool_free(pool);
	free(mem);
	return tap_done();
}
