/*
 * engine/pattern_signal.c: continuous signals (sine, saw, ...), run, and
 * the euclidean rhythms (Bjorklund's algorithm as Strudel orders it).
 *
 * Invariants:
 *  1. A signal event has no whole; its part is the query span and its
 *     value is sampled at the span's begin (Strudel's signal()).
 *  2. Floating-point expressions are evaluated in Strudel's order so that
 *     values agree to the last bit where the C library agrees with V8.
 */
#include "engine/pattern_internal.h"

#include <math.h>
#include <string.h>

#define SIG_RANDRUN (PAT_SIG_TIME + 1)

static int push_value(qctx *q, tt_span span, double v, hlist *out)
{
	tt_field *f = pat__qalloc(q, sizeof *f);
	tt_event e = { 0 };
	if (!f)
		return TT_ELIMIT;
	*f = (tt_field){ NULL, TT_V_NUM, v, NULL };
	e.part = span;
	e.fields = f;
	e.n_fields = 1;
	return pat__push(q, out, &e);
}

/* randrun: the permutation of 0..n-1 for the cycle, read at t. */
static int randrun_at(qctx *q, tt_rat t, int n, double *out)
{
	double *r = pat__qalloc(q, sizeof *r * (size_t)n);
	int *idx = pat__qalloc(q, sizeof *idx * (size_t)n);
	tt_rat pos;
	int rc;
	if (!r || !idx)
		return TT_ELIMIT;
	pat__rands_at((double)rat_floor(t) + 0.5, n, r);
	for (int i = 0; i < n; i++) {
		int j = i;
		if ((rc = pat__tick(q)) < 0)
			return rc;
		while (j > 0 && r[idx[j - 1]] > r[i]) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}
	if ((rc = rat_sub(t, rat_int(rat_floor(t)), &pos)) < 0 ||
	    (rc = rat_mul(pos, rat_int(n), &pos)) < 0)
		return rc;
	*out = idx[rat_floor(pos) % n];
	return TT_OK;
}

int pat__query_signal(qctx *q, const pat *p, tt_span span, hlist *out)
{
	double t = rat_to_double(span.begin), v;
	int rc;
	switch (p->sub) {
	case PAT_SIG_SAW: v = fmod(t, 1); break;
	case PAT_SIG_SAW2: v = fmod(t, 1) * 2 - 1; break;
	case PAT_SIG_ISAW: v = 1 - fmod(t, 1); break;
	case PAT_SIG_ISAW2: v = (1 - fmod(t, 1)) * 2 - 1; break;
	case PAT_SIG_SINE2: v = sin(M_PI * 2 * t); break;
	case PAT_SIG_SINE: v = (sin(M_PI * 2 * t) + 1) / 2; break;
	case PAT_SIG_SQUARE: v = floor(fmod(t * 2, 2)); break;
	case PAT_SIG_SQUARE2: v = floor(fmod(t * 2, 2)) * 2 - 1; break;
	case PAT_SIG_TIME: v = t; break;
	case SIG_RANDRUN:
		if ((rc = randrun_at(q, span.begin, p->i1, &v)) < 0)
			return rc;
		break;
	default: return TT_EINVAL;
	}
	return push_value(q, span, v, out);
}

static int sig(pmem *m, int kind, pat **out)
{
	pat *r = pat__node(m, K_SIGNAL);
	if (!r)
		return pat__nomem(m);
	r->sub = kind;
	*out = r;
	return TT_OK;
}

static int fastcat2(pmem *m, int a, int b, pat **out)
{
	pat *k[2], *c;
	int rc;
	if ((rc = sig(m, a, &k[0])) < 0 || (rc = sig(m, b, &k[1])) < 0 ||
	    (rc = pat__cat(m, K_SLOWCAT, k, 2, &c)) < 0)
		return rc;
	return pat__fast_r(m, c, rat_int(2), out);
}

int pat_signal(pat_pool *pool, pat_signal_kind kind, pat **out)
{
	pmem m = { pool, NULL };
	pat *s = NULL;
	int rc;
	switch (kind) {
	case PAT_SIG_COSINE: case PAT_SIG_COSINE2:
		if ((rc = sig(&m, kind == PAT_SIG_COSINE ? PAT_SIG_SINE
							: PAT_SIG_SINE2, &s)) < 0)
			return rc;
		return pat__early_r(&m, s, TT_RAT(1, 4), out);
	case PAT_SIG_TRI: return fastcat2(&m, PAT_SIG_SAW, PAT_SIG_ISAW, out);
	case PAT_SIG_TRI2: return fastcat2(&m, PAT_SIG_SAW2, PAT_SIG_ISAW2, out);
	default: return sig(&m, kind, out);
	}
}

int pat_signal_named(pat_pool *pool, const char *name, pat **out)
{
	static const struct { const char *name; pat_signal_kind k; } t[] = {
		{ "sine", PAT_SIG_SINE }, { "cosine", PAT_SIG_COSINE },
		{ "saw", PAT_SIG_SAW }, { "isaw", PAT_SIG_ISAW },
		{ "tri", PAT_SIG_TRI }, { "square", PAT_SIG_SQUARE },
		{ "sine2", PAT_SIG_SINE2 }, { "cosine2", PAT_SIG_COSINE2 },
		{ "saw2", PAT_SIG_SAW2 }, { "isaw2", PAT_SIG_ISAW2 },
		{ "tri2", PAT_SIG_TRI2 }, { "square2", PAT_SIG_SQUARE2 },
		{ "time", PAT_SIG_TIME },
	};
	if (strcmp(name, "rand") == 0)
		return pat_rand(pool, out);
	if (strcmp(name, "perlin") == 0)
		return pat_perlin(pool, out);
	if (strcmp(name, "rand2") == 0) {
		pat *r;
		int rc = pat_rand(pool, &r);
		if (rc < 0)
			return rc;
		return pat_unary(pool, PAT_UN_TO_BIPOLAR, r, out);
	}
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(t[i].name, name) == 0)
			return pat_signal(pool, t[i].k, out);
	return TT_ENOTFOUND;
}

/* run(n) = saw.range(0, n).round().segment(n), n patterned. */
int pat_run(pat_pool *pool, pat *n, pat **out)
{
	pat *s = NULL, *zero = NULL, *r = NULL;
	int rc;
	if ((rc = pat_signal(pool, PAT_SIG_SAW, &s)) < 0 ||
	    (rc = pat_num(pool, 0, NULL, &zero)) < 0 ||
	    (rc = pat_range(pool, s, zero, n, &r)) < 0 ||
	    (rc = pat_unary(pool, PAT_UN_ROUND, r, &r)) < 0)
		return rc;
	return pat_segment(pool, r, n, out);
}

/* ---- euclid ---- */

/* bjorklund(k, n) into bits[0..n), in Strudel's order. Strudel's
 * _bjorklund keeps two lists of sequences and zips them step by step, but
 * every sequence of a list is the same sequence: a list is one sequence x
 * (or y) and a count. A left step (ons > offs) makes x + y the new x and the
 * old x the new y; a right step appends y to x and takes ons from offs, so a
 * run of right steps is one division. That makes it O(n log n) in time and
 * O(n) in memory (the list form took minutes of CPU for a few
 * euclid(3,8212) in one mini-notation string). */
static int bjorklund(pmem *m, int k, int n, char *bits)
{
	int ons = k < 0 ? -k : k, offs = n - ons, lx = 1, ly = 1, pos = 0;
	char *x = pmem_alloc(m, (size_t)n + 1), *y = pmem_alloc(m, (size_t)n + 1);
	char *t = pmem_alloc(m, (size_t)n + 1);

	if (!x || !y || !t)
		return pat__nomem(m);
	x[0] = 1;
	y[0] = 0;
	while ((ons < offs ? ons : offs) > 1) {
		if (ons > offs) {
			char *old_y = y;
			int o = ons;
			memcpy(t, x, (size_t)lx);
			memcpy(t + lx, y, (size_t)ly);
			y = x;
			x = t;
			t = old_y;
			lx += ly;
			ly = lx - ly;
			ons = offs;
			offs = o - offs;
		} else {
			while ((ons < offs ? ons : offs) > 1 && ons <= offs) {
				memcpy(x + lx, y, (size_t)ly);
				lx += ly;
				offs -= ons;
			}
		}
	}
	for (int i = 0; i < ons; i++, pos += lx)
		memcpy(bits + pos, x, (size_t)lx);
	for (int i = 0; i < offs; i++, pos += ly)
		memcpy(bits + pos, y, (size_t)ly);
	if (k < 0)
		for (int i = 0; i < pos; i++)
			bits[i] = (char)(1 - bits[i]);
	return pos;
}

static int struct_bits(pmem *m, const pat *p, const char *bits, int n, pat **out)
{
	pat **k = pmem_alloc(m, sizeof *k * (size_t)(n ? n : 1)), *c;
	int rc;
	if (!k)
		return pat__nomem(m);
	for (int i = 0; i < n; i++)
		if ((rc = pat__pure_num(m, bits[i], &k[i])) < 0)
			return rc;
	if ((rc = pat__cat(m, K_SLOWCAT, k, (size_t)n, &c)) < 0 ||
	    (n > 1 && (rc = pat__fast_r(m, c, rat_int(n), &c)) < 0))
		return rc;
	return pat__app(m, APP_RIGHT, PAT_OP_KEEPIF, p, c, out);
}

static int euclid_legato(pmem *m, const pat *p, const char *bits, int n,
			 double rot, pat **out)
{
	pat **k = pmem_alloc(m, sizeof *k * (size_t)(n + 1)), *c, *s;
	tt_rat *w = pmem_alloc(m, sizeof *w * (size_t)(n + 1)), tot = rat_int(0);
	tt_rat r;
	int cnt = 0, rc;
	if (!k || !w)
		return pat__nomem(m);
	for (int i = 0; i < n; i++) {
		if (bits[i]) {
			w[cnt] = rat_int(1);
			if ((rc = pat__pure_bool(m, true, &k[cnt++])) < 0)
				return rc;
		} else if (cnt > 0) {
			w[cnt - 1].n++;
		}
	}
	/* timeCat of the gapless steps */
	pat *stk = pat__node(m, K_STACK);
	pat **parts = pmem_alloc(m, sizeof *parts * (size_t)(cnt + 1));
	if (!stk || !parts)
		return pat__nomem(m);
	for (int i = 0; i < cnt; i++)
		if ((rc = rat_add(tot, w[i], &tot)) < 0)
			return rc;
	tt_rat b = rat_int(0);
	for (int i = 0; i < cnt; i++) {
		tt_rat e, bb, ee, d;
		pat *g;
		if ((rc = rat_add(b, w[i], &e)) < 0 || (rc = rat_div(b, tot, &bb)) < 0 ||
		    (rc = rat_div(e, tot, &ee)) < 0 || (rc = rat_sub(ee, bb, &d)) < 0 ||
		    (rc = rat_div(rat_int(1), d, &d)) < 0 ||
		    (rc = pat__fastgap_r(m, k[i], d, &g)) < 0 ||
		    (rc = pat__early_r(m, g, (tt_rat){ -bb.n, bb.d }, &parts[i])) < 0)
			return rc;
		b = e;
	}
	stk->kids = parts;
	stk->n_kids = (size_t)cnt;
	c = cnt == 1 ? parts[0] : stk;
	if (cnt == 1)
		c = k[0];
	if ((rc = pat__app(m, APP_RIGHT, PAT_OP_KEEPIF, p, c, &s)) < 0 ||
	    (rc = rat_from_double(rot, 10000000, &r)) < 0 ||
	    (rc = rat_div(r, rat_int(n), &r)) < 0)
		return rc;
	return pat__early_r(m, s, (tt_rat){ -r.n, r.d }, out);
}

int pat__euclid_plain(pmem *m, int pk, const parg *a, const pat *p, pat **out)
{
	double k = a[0].x, n = a[1].x, rot = 0;
	char *bits, *rb;
	int len, r;
	if (pk == P_EUCLID_ROT || pk == P_EUCLID_LEG_ROT)
		rot = a[2].x;
	if (rot != rot)
		return pat__throw(m, "euclid: the rotation must be a number");
	/* a rotation past the length acts like the length (slice semantics) */
	rot = pat__clamp(rot, 2.0 * TT_MAX_EVENTS_PER_CYCLE);
	if ((pk == P_EUCLID_LEG || pk == P_EUCLID_LEG_ROT) && k < 1)
		return pat__silence(m, out);
	if (n > TT_MAX_EVENTS_PER_CYCLE || k > TT_MAX_EVENTS_PER_CYCLE ||
	    k < -TT_MAX_EVENTS_PER_CYCLE)
		return pat__fail(m, TT_ELIMIT, "euclid: too many steps");
	/* Strudel's Array(pulses) and Array(steps - pulses) */
	if (n < fabs(k) || k != floor(k) || n != floor(n) || rot != rot)
		return pat__throw(m, "euclid: pulses and steps must be whole "
				  "numbers, with no more pulses than steps");
	bits = pmem_alloc(m, (size_t)n + 1);
	rb = pmem_alloc(m, (size_t)n + 1);
	if (!bits || !rb)
		return pat__nomem(m);
	if ((len = bjorklund(m, (int)k, (int)n, bits)) < 0)
		return len;
	if (pk == P_EUCLID_LEG || pk == P_EUCLID_LEG_ROT)
		return euclid_legato(m, p, bits, len, rot, out);
	/* rotate(b, -rot): JavaScript slice semantics */
	r = (int)-rot;
	int start = r < 0 ? (len + r > 0 ? len + r : 0) : (r < len ? r : len);
	if (rot == 0)
		start = 0;
	for (int i = 0; i < len; i++)
		rb[i] = bits[(start + i) % (len ? len : 1)];
	return struct_bits(m, p, rb, len, out);
}

int pat_euclid(pat_pool *pool, pat *p, pat *k, pat *n, pat **out)
{
	pat *args[2] = { k, n };
	return pat__patternify(pool, P_EUCLID, args, 2, p, NULL, out);
}

int pat_euclid_rot(pat_pool *pool, pat *p, pat *k, pat *n, pat *r, pat **out)
{
	pat *args[3] = { k, n, r };
	return pat__patternify(pool, P_EUCLID_ROT, args, 3, p, NULL, out);
}

int pat_euclid_legato(pat_pool *pool, pat *p, pat *k, pat *n, pat **out)
{
	pat *args[2] = { k, n };
	return pat__patternify(pool, P_EUCLID_LEG, args, 2, p, NULL, out);
}

int pat_euclid_legato_rot(pat_pool *pool, pat *p, pat *k, pat *n, pat *r,
			  pat **out)
{
	pat *args[3] = { k, n, r };
	return pat__patternify(pool, P_EUCLID_LEG_ROT, args, 3, p, NULL, out);
}

int pat_struct(pat_pool *pool, pat *p, pat *bools, pat **out)
{
	return pat_op(pool, PAT_OP_KEEPIF, PAT_HOW_OUT, p, bools, out);
}

int pat_mask(pat_pool *pool, pat *p, pat *bools, pat **out)
{
	return pat_op(pool, PAT_OP_KEEPIF, PAT_HOW_IN, p, bools, out);
}
