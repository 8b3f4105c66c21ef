/*
 * engine/pattern_rand.c: randomness exactly as Strudel 1.2.6 computes it
 * (its "legacy" generator): a value is a pure function of cycle time, so a
 * pattern is as repeatable as any other.
 *
 *   seed(t)  = xorwise(trunc(frac(t / 300) * 2^29))     (32-bit int ops)
 *   rand(t)  = |(seed % 2^29) / 2^29|
 *   rands(t, n): successive xorwise of the seed, without the |.|
 *
 * Invariants:
 *  1. Integer steps use int32 wrap-around like JavaScript's << >> ^.
 *  2. Signals sample at the query span's begin, as Strudel's signal().
 */
#include "engine/pattern_internal.h"

#include <math.h>
#include <string.h>

static int32_t xorwise(int32_t x)
{
	int32_t a = (int32_t)((uint32_t)x << 13) ^ x;
	int32_t b = (a >> 17) ^ a;
	return (int32_t)((uint32_t)b << 5) ^ b;
}

static int32_t time_seed(double t)
{
	double x = t / 300;
	double fr = x - trunc(x);
	return xorwise((int32_t)trunc(fr * 536870912.0));
}

static double seed_rand(int32_t s)
{
	return (double)(s % 536870912) / 536870912.0;
}

double pat__rand_at(double t)
{
	return fabs(seed_rand(time_seed(t)));
}

/* getRandsAtTime(t, n) for n > 1 (values may be negative, as Strudel's). */
void pat__rands_at(double t, int n, double *out)
{
	int32_t s = time_seed(t);
	if (n == 1) {
		out[0] = fabs(seed_rand(s));
		return;
	}
	for (int i = 0; i < n; i++) {
		out[i] = seed_rand(s);
		s = xorwise(s);
	}
}

static double perlin_at(double t)
{
	double ta = floor(t), tb = ta + 1, x = t - ta;
	double sm = 6.0 * pow(x, 5) - 15.0 * pow(x, 4) + 10.0 * pow(x, 3);
	double ra = pat__rand_at(ta), rb = pat__rand_at(tb);
	return ra + sm * (rb - ra);
}

static int signal_event(qctx *q, tt_span span, double v, hlist *out)
{
	tt_field *f = pat__qalloc(q, sizeof *f);
	tt_event e = { 0 };
	if (!f)
		return TT_ELIMIT;
	*f = (tt_field){ NULL, TT_V_NUM, v, NULL };
	e.has_whole = false;
	e.part = span;
	e.fields = f;
	e.n_fields = 1;
	return pat__push(q, out, &e);
}

/* degradeByWith: keep events whose random value (from b, sampled over
 * the event's whole) is above x. */
static int query_degrade(qctx *q, const pat *p, tt_span span, hlist *out)
{
	hlist l = { 0 };
	int rc = pat__query(q, p->a, span, &l);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l.n; i++) {
		hlist r = { 0 };
		tt_span w = l.v[i].has_whole ? l.v[i].whole : l.v[i].part;
		if ((rc = pat__query(q, p->b, w, &r)) < 0)
			return rc;
		for (size_t j = 0; j < r.n; j++) {
			double v;
			tt_event e = l.v[i];
			if (!value_number(r.v[j].fields, r.v[j].n_fields, &v))
				continue;
			if (p->i1)
				v = 1 - v;
			if (!(v > p->x) || !span_intersect(l.v[i].part, r.v[j].part,
							   &e.part))
				continue;
			if ((rc = pat__locs_union(q, &r.v[j], &l.v[i], &e.locs,
						  &e.n_locs)) < 0 ||
			    (rc = pat__push(q, out, &e)) < 0)
				return rc;
		}
	}
	return TT_OK;
}

/* Which kid selector value v picks: floor(v * n) clamped (chooseWith), or
 * with cumulative weights the first above v * total (wchooseWith); -1
 * where Strudel would pick undefined. */
static long choose_index(const pat *p, double v)
{
	double n = (double)p->n_kids;
	if (p->dweights) {
		double find = p->x * v;
		for (size_t i = 0; i < p->n_kids; i++)
			if (p->dweights[i] > find)
				return (long)i;
		return -1;
	}
	double k = floor(v * n + 0);
	if (!(k >= 0))
		k = 0;
	if (k > n - 1)
		k = n - 1;
	return (long)k;
}

/* Queries the chosen kid over part and joins it with selector event o:
 * wholes from o (outer join, i1 0) or from the kid (inner join, i1 1). */
static int choose_one(qctx *q, const pat *p, const tt_event *o, const pat *kid,
		      tt_span part, hlist *out)
{
	size_t from = out->n;
	int rc = pat__query(q, kid, part, out);
	if (rc < 0)
		return rc;
	if ((rc = pat__tickn(q, out->n - from)) < 0)
		return rc;
	for (size_t j = from; j < out->n; j++) {
		tt_event *e = &out->v[j];
		if (!p->i1) {
			e->has_whole = o->has_whole;
			e->whole = o->whole;
		}
		if ((rc = pat__locs_union(q, o, e, &e->locs, &e->n_locs)) < 0)
			return rc;
	}
	return TT_OK;
}

/* chooseWith / wchooseWith: each selector event picks a kid. A continuous
 * selector's span is cut at cycle boundaries (Strudel's range() and bind
 * go through a pure, which cuts there), with the one value it sampled. */
static int query_choose(qctx *q, const pat *p, tt_span span, hlist *out)
{
	hlist l = { 0 };
	int rc = pat__query(q, p->a, span, &l);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l.n; i++) {
		const tt_event *o = &l.v[i];
		double v;
		long k;
		if (!value_number(o->fields, o->n_fields, &v))
			continue;
		if ((k = choose_index(p, v)) < 0)
			return PAT_ETHROW;
		if (o->has_whole) {
			if ((rc = choose_one(q, p, o, p->kids[k], o->part, out)) < 0)
				return rc;
			continue;
		}
		tt_rat b = o->part.begin;
		for (;;) {
			tt_span piece = { b, o->part.end };
			int64_t sam = rat_floor(b);
			if ((rc = pat__tick(q)) < 0)
				return rc;
			if (rat_cmp(piece.end, rat_int(sam + 1)) > 0)
				piece.end = rat_int(sam + 1);
			if ((rc = choose_one(q, p, o, p->kids[k], piece, out)) < 0)
				return rc;
			if (rat_cmp(piece.end, o->part.end) >= 0)
				break;
			b = piece.end;
		}
	}
	return TT_OK;
}

/* _rearrangeWith: index events (a) pick kids[i] (zoomed, repeated, fast). */
static int query_shuffle(qctx *q, const pat *p, tt_span span, hlist *out)
{
	hlist l = { 0 };
	int rc;
	if (p->n_kids <= 1 && !p->i1)
		return PAT_ETHROW; /* randrun(1) is a number, not a list */
	if ((rc = pat__query(q, p->a, span, &l)) < 0)
		return rc;
	for (size_t i = 0; i < l.n; i++) {
		const tt_event *o = &l.v[i];
		double v;
		size_t from = out->n;
		if (!value_number(o->fields, o->n_fields, &v) ||
		    !(v >= 0 && v < (double)p->n_kids))
			continue;
		if ((rc = pat__query(q, p->kids[(size_t)v], o->part, out)) < 0)
			return rc;
		if ((rc = pat__tickn(q, out->n - from)) < 0)
			return rc;
		for (size_t j = from; j < out->n; j++)
			if ((rc = pat__locs_union(q, o, &out->v[j], &out->v[j].locs,
						  &out->v[j].n_locs)) < 0)
				return rc;
	}
	return TT_OK;
}

int pat__query_rand(qctx *q, const pat *p, tt_span span, hlist *out)
{
	switch (p->kind) {
	case K_RANDSIG:
		return signal_event(q, span, pat__rand_at(rat_to_double(span.begin)),
				    out);
	case K_PERLIN:
		return signal_event(q, span, perlin_at(rat_to_double(span.begin)),
				    out);
	case K_DEGRADE: return query_degrade(q, p, span, out);
	case K_CHOOSE: return query_choose(q, p, span, out);
	case K_SHUFFLE: return query_shuffle(q, p, span, out);
	default: return TT_EINVAL;
	}
}

/* ---- builders ---- */

int pat__randsig(pmem *m, tt_rat offset, pat **out)
{
	pat *r = pat__node(m, K_RANDSIG);
	if (!r)
		return pat__nomem(m);
	return pat__early_r(m, r, offset, out);
}

int pat__degrade_with(pmem *m, const pat *p, const pat *r, double x, pat **out)
{
	pat *d = pat__node(m, K_DEGRADE);
	if (!d)
		return pat__nomem(m);
	d->a = (pat *)p;
	d->b = (pat *)r;
	d->x = x;
	*out = d;
	return TT_OK;
}

int pat__irand_plain(pmem *m, double n, pat **out)
{
	pat *r;
	int rc = pat__randsig(m, rat_int(0), &r);
	if (rc < 0)
		return rc;
	return pat__fmap(m, r, F_IRAND, n, out);
}

int pat_rand(pat_pool *pool, pat **out)
{
	pmem m = { pool, NULL };
	return pat__randsig(&m, rat_int(0), out);
}

int pat_perlin(pat_pool *pool, pat **out)
{
	pmem m = { pool, NULL };
	pat *r = pat__node(&m, K_PERLIN);
	if (!r)
		return TT_ENOMEM;
	*out = r;
	return TT_OK;
}

/* irand(n) = reify(n).fmap(_irand).innerJoin(): always joined, even when
 * n is a plain number (so events split at cycles like Strudel's). */
int pat_irand(pat_pool *pool, pat *n, pat **out)
{
	pmem m = { pool, NULL };
	pat *r = pat__node(&m, K_PATTERNIFY), **k = pat_pool_alloc(pool, sizeof *k);
	if (!r || !k)
		return TT_ENOMEM;
	k[0] = n;
	r->kids = k;
	r->n_kids = 1;
	r->sub = P_IRAND;
	*out = r;
	return TT_OK;
}

int pat_degrade_by(pat_pool *pool, pat *p, pat *amount, pat **out)
{
	pat *args[1] = { amount };
	return pat__patternify(pool, P_DEGRADE, args, 1, p, NULL, out);
}

int pat_undegrade_by(pat_pool *pool, pat *p, pat *amount, pat **out)
{
	pat *args[1] = { amount };
	return pat__patternify(pool, P_UNDEGRADE, args, 1, p, NULL, out);
}

int pat_degrade(pat_pool *pool, pat *p, pat **out)
{
	pmem m = { pool, NULL };
	pat *rs;
	int rc = pat__randsig(&m, rat_int(0), &rs);
	if (rc < 0)
		return rc;
	return pat__degrade_with(&m, p, rs, 0.5, out);
}

/* rand.early(0.0003 * seed), as the mini-notation parser makes it. */
static int seeded_rand(pmem *m, int seed, pat **out)
{
	tt_rat off;
	int rc = rat_from_double(0.0003 * seed, 10000000, &off);
	if (rc < 0)
		return pat__fail(m, rc, "random seed out of range");
	return pat__randsig(m, off, out);
}

int pat_degrade_seed(pat_pool *pool, pat *p, double amount, int seed, pat **out)
{
	pmem m = { pool, NULL };
	pat *rs;
	int rc = seeded_rand(&m, seed, &rs);
	if (rc < 0)
		return rc;
	return pat__degrade_with(&m, p, rs, amount, out);
}

static int choose_node(pmem *m, const pat *sel, pat *const *xs, size_t n,
		       bool inner, pat **out)
{
	pat *r, **k;
	if (n == 0)
		return pat__silence(m, out);
	r = pat__node(m, K_CHOOSE);
	k = pmem_alloc(m, sizeof *k * n);
	if (!r || !k)
		return pat__nomem(m);
	memcpy(k, xs, sizeof *k * n);
	r->a = (pat *)sel;
	r->kids = k;
	r->n_kids = n;
	r->i1 = inner;
	*out = r;
	return TT_OK;
}

int pat_randcat_seed(pat_pool *pool, pat *const *ps, size_t n, int seed, pat **out)
{
	pmem m = { pool, NULL };
	pat *rs;
	int rc;
	if ((rc = seeded_rand(&m, seed, &rs)) < 0 ||
	    (rc = pat__segment(&m, rs, rat_int(1), &rs)) < 0)
		return rc;
	return choose_node(&m, rs, ps, n, true, out);
}

int pat_randcat(pat_pool *pool, pat *const *ps, size_t n, pat **out)
{
	pmem m = { pool, NULL };
	pat *rs;
	int rc;
	if ((rc = pat__randsig(&m, rat_int(0), &rs)) < 0 ||
	    (rc = pat__segment(&m, rs, rat_int(1), &rs)) < 0)
		return rc;
	return choose_node(&m, rs, ps, n, true, out);
}

int pat_choose(pat_pool *pool, pat *const *xs, size_t n, pat **out)
{
	pmem m = { pool, NULL };
	pat *rs;
	int rc = pat__randsig(&m, rat_int(0), &rs);
	if (rc < 0)
		return rc;
	return choose_node(&m, rs, xs, n, false, out);
}

/* Cumulative weights, summed in Strudel's order (pure(0).add(w)...). */
static int weighted(pmem *m, pat *sel, pat *const *xs, const double *w,
		    size_t n, bool inner, pat **out)
{
	double *cum, total = 0;
	int rc;
	if (n == 0)
		return pat__silence(m, out);
	if (!(cum = pmem_alloc(m, sizeof *cum * n)))
		return pat__nomem(m);
	for (size_t i = 0; i < n; i++)
		cum[i] = total = total + w[i];
	if ((rc = choose_node(m, sel, xs, n, inner, out)) < 0)
		return rc;
	(*out)->dweights = cum;
	(*out)->x = total;
	return TT_OK;
}

int pat_wchoose(pat_pool *pool, pat *const *xs, const double *weights, size_t n,
		pat **out)
{
	pmem m = { pool, NULL };
	pat *rs;
	int rc = pat__randsig(&m, rat_int(0), &rs);
	if (rc < 0)
		return rc;
	return weighted(&m, rs, xs, weights, n, false, out);
}

int pat_wrandcat(pat_pool *pool, pat *const *xs, const double *weights, size_t n,
		 pat **out)
{
	pmem m = { pool, NULL };
	pat *rs;
	int rc;
	if ((rc = pat__randsig(&m, rat_int(0), &rs)) < 0 ||
	    (rc = pat__segment(&m, rs, rat_int(1), &rs)) < 0)
		return rc;
	return weighted(&m, rs, xs, weights, n, true, out);
}

static int sometimes_call(pat_pool *pool, int pk, pat *p, pat *amount,
			  pat_fn f, pat **out)
{
	pat *args[1] = { amount };
	return pat__patternify(pool, pk, args, 1, p, &f, out);
}

int pat_sometimes_by(pat_pool *pool, pat *p, pat *amount, pat_fn f, pat **out)
{
	return sometimes_call(pool, P_SOMETIMES, p, amount, f, out);
}

int pat_some_cycles_by(pat_pool *pool, pat *p, pat *amount, pat_fn f, pat **out)
{
	return sometimes_call(pool, P_SOMECYCLES, p, amount, f, out);
}

int pat_sometimes_named(pat_pool *pool, pat *p, const char *name, pat_fn f,
			pat **out)
{
	static const struct { const char *name; double x; int pk; } t[] = {
		{ "sometimes", 0.5, P_SOMETIMES }, { "often", 0.75, P_SOMETIMES },
		{ "rarely", 0.25, P_SOMETIMES }, { "almostNever", 0.1, P_SOMETIMES },
		{ "almostAlways", 0.9, P_SOMETIMES },
		{ "someCycles", 0.5, P_SOMECYCLES },
	};
	pat *x;
	int rc;
	if (strcmp(name, "always") == 0)
		return f.call(f.env, pool, p, out);
	if (strcmp(name, "never") == 0) {
		*out = p;
		return TT_OK;
	}
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(t[i].name, name) == 0) {
			if ((rc = pat_num(pool, t[i].x, NULL, &x)) < 0)
				return rc;
			return sometimes_call(pool, t[i].pk, p, x, f, out);
		}
	return TT_ENOTFOUND;
}

int pat__shuffle_plain(pmem *m, const pat *p, int64_t n, bool scramble, pat **out)
{
	pat *r, **k, *idx;
	int rc;
	if (n < 0)
		return pat__throw(m, "shuffle: the number of parts must be a whole "
				  "number");
	if (n == 0 && scramble)
		return pat__silence(m, out);
	if (n > 4096)
		return pat__fail(m, TT_ELIMIT, "shuffle: too many parts");
	k = pmem_alloc(m, sizeof *k * (size_t)n);
	r = pat__node(m, K_SHUFFLE);
	if (!k || !r)
		return pat__nomem(m);
	for (int64_t i = 0; i < n; i++) {
		pat *z;
		tt_rat b, e;
		if ((rc = rat_make(i, n, &b)) < 0 || (rc = rat_make(i + 1, n, &e)) < 0 ||
		    (rc = pat__zoom_r(m, p, b, e, &z)) < 0 ||
		    (rc = pat__repeat(m, z, rat_int(n), &z)) < 0 ||
		    (rc = pat__fast_r(m, z, rat_int(n), &k[i])) < 0)
			return rc;
	}
	if (scramble) {
		if ((rc = pat__irand_plain(m, (double)n, &idx)) < 0)
			return rc;
	} else {
		idx = pat__node(m, K_SIGNAL);
		if (!idx)
			return pat__nomem(m);
		idx->sub = PAT_SIG_TIME + 1; /* randrun */
		idx->i1 = (int)n;
	}
	if ((rc = pat__segment(m, idx, rat_int(n), &idx)) < 0)
		return rc;
	r->a = idx;
	r->kids = k;
	r->n_kids = (size_t)n;
	r->i1 = scramble;
	*out = r;
	return TT_OK;
}

int pat_shuffle(pat_pool *pool, pat *p, pat *n, pat **out)
{
	pat *args[1] = { n };
	return pat__patternify(pool, P_SHUFFLE, args, 1, p, NULL, out);
}

int pat_scramble(pat_pool *pool, pat *p, pat *n, pat **out)
{
	pat *args[1] = { n };
	return pat__patternify(pool, P_SCRAMBLE, args, 1, p, NULL, out);
}
