/*
 * engine/pattern_time.c: transformations of time (fast, early, rev, zoom,
 * fastGap, repeatCycles) and the time combinators built from them.
 *
 * Invariants:
 *  1. Each query kind does what Strudel's withQueryTime/withHapTime chain
 *     for that function does, in the same order, so that wholes and parts
 *     are the same exact fractions.
 *  2. A factor or offset that cannot be held as a 64-bit fraction ends the
 *     query with TT_ERANGE; nothing wraps.
 */
#include "engine/pattern_internal.h"

#include <math.h>
#include <string.h>

/* ---- span arithmetic helpers ---- */

typedef int (*tfn)(const pat *p, tt_rat t, tt_rat *out);

static int map_span(const pat *p, tfn f, tt_span *s)
{
	int rc;
	if ((rc = f(p, s->begin, &s->begin)) < 0)
		return rc;
	return f(p, s->end, &s->end);
}

static int map_events(const pat *p, tfn f, hlist *l, size_t from)
{
	int rc;
	for (size_t i = from; i < l->n; i++) {
		tt_event *e = &l->v[i];
		if ((rc = map_span(p, f, &e->part)) < 0)
			return rc;
		if (e->has_whole && (rc = map_span(p, f, &e->whole)) < 0)
			return rc;
	}
	return TT_OK;
}

static int t_mul(const pat *p, tt_rat t, tt_rat *o) { return rat_mul(t, p->r1, o); }
static int t_div(const pat *p, tt_rat t, tt_rat *o) { return rat_div(t, p->r1, o); }
static int t_add(const pat *p, tt_rat t, tt_rat *o) { return rat_add(t, p->r1, o); }
static int t_sub(const pat *p, tt_rat t, tt_rat *o) { return rat_sub(t, p->r1, o); }

static int query_fast(qctx *q, const pat *p, tt_span span, hlist *out)
{
	size_t from = out->n;
	int rc;
	if ((rc = map_span(p, t_mul, &span)) < 0 ||
	    (rc = pat__query(q, p->a, span, out)) < 0 ||
	    (rc = pat__tickn(q, out->n - from)) < 0)
		return rc;
	return map_events(p, t_div, out, from);
}

static int query_early(qctx *q, const pat *p, tt_span span, hlist *out)
{
	size_t from = out->n;
	int rc;
	if ((rc = map_span(p, t_add, &span)) < 0 ||
	    (rc = pat__query(q, p->a, span, out)) < 0 ||
	    (rc = pat__tickn(q, out->n - from)) < 0)
		return rc;
	return map_events(p, t_sub, out, from);
}

/* rev, one cycle piece: reflect the span within its cycle, and back. */
static int reflect(tt_rat cycle, tt_span *s)
{
	tt_rat sum, b, e;
	int rc;
	if ((rc = rat_add(cycle, rat_int(1), &sum)) < 0 ||
	    (rc = rat_add(sum, cycle, &sum)) < 0 ||
	    (rc = rat_sub(sum, s->end, &b)) < 0 ||
	    (rc = rat_sub(sum, s->begin, &e)) < 0)
		return rc;
	s->begin = b;
	s->end = e;
	return TT_OK;
}

static int rev_piece(qctx *q, const pat *p, tt_span s, hlist *out)
{
	tt_rat cycle = rat_int(rat_floor(s.begin));
	size_t from = out->n;
	int rc;
	if ((rc = reflect(cycle, &s)) < 0 ||
	    (rc = pat__query(q, p->a, s, out)) < 0)
		return rc;
	if ((rc = pat__tickn(q, out->n - from)) < 0)
		return rc;
	for (size_t i = from; i < out->n; i++) {
		tt_event *e = &out->v[i];
		if ((rc = reflect(cycle, &e->part)) < 0)
			return rc;
		if (e->has_whole && (rc = reflect(cycle, &e->whole)) < 0)
			return rc;
	}
	return TT_OK;
}

/* zoom, one cycle piece: span.withCycle(t*d + s) then hap withCycle. */
static int zoom_span_in(const pat *p, tt_span *sp)
{
	tt_rat sam = rat_int(rat_floor(sp->begin)), d, t;
	int rc;
	if ((rc = rat_sub(p->r2, p->r1, &d)) < 0)
		return rc;
	tt_rat *ends[2] = { &sp->begin, &sp->end };
	for (int i = 0; i < 2; i++) {
		if ((rc = rat_sub(*ends[i], sam, &t)) < 0 ||
		    (rc = rat_mul(t, d, &t)) < 0 || (rc = rat_add(t, p->r1, &t)) < 0 ||
		    (rc = rat_add(sam, t, ends[i])) < 0)
			return rc;
	}
	return TT_OK;
}

static int zoom_span_out(const pat *p, tt_span *sp)
{
	tt_rat sam = rat_int(rat_floor(sp->begin)), d, t;
	int rc;
	if ((rc = rat_sub(p->r2, p->r1, &d)) < 0)
		return rc;
	tt_rat *ends[2] = { &sp->begin, &sp->end };
	for (int i = 0; i < 2; i++) {
		if ((rc = rat_sub(*ends[i], sam, &t)) < 0 ||
		    (rc = rat_sub(t, p->r1, &t)) < 0 || (rc = rat_div(t, d, &t)) < 0 ||
		    (rc = rat_add(sam, t, ends[i])) < 0)
			return rc;
	}
	return TT_OK;
}

static int zoom_piece(qctx *q, const pat *p, tt_span s, hlist *out)
{
	size_t from = out->n;
	int rc;
	if ((rc = zoom_span_in(p, &s)) < 0 || (rc = pat__query(q, p->a, s, out)) < 0)
		return rc;
	if ((rc = pat__tickn(q, out->n - from)) < 0)
		return rc;
	for (size_t i = from; i < out->n; i++) {
		tt_event *e = &out->v[i];
		if ((rc = zoom_span_out(p, &e->part)) < 0)
			return rc;
		if (e->has_whole && (rc = zoom_span_out(p, &e->whole)) < 0)
			return rc;
	}
	return TT_OK;
}

static tt_rat rmin(tt_rat a, tt_rat b)
{
	return rat_cmp(a, b) <= 0 ? a : b;
}

/* fastGap's hap mapping (Strudel's ef). */
static int fastgap_event(const pat *p, tt_event *e)
{
	tt_rat b = e->part.begin, en = e->part.end;
	tt_rat cycle = rat_int(rat_floor(b)), bp, ep, t;
	tt_span np;
	int rc;
	if ((rc = rat_sub(b, cycle, &bp)) < 0 || (rc = rat_div(bp, p->r1, &bp)) < 0 ||
	    (rc = rat_sub(en, cycle, &ep)) < 0 || (rc = rat_div(ep, p->r1, &ep)) < 0)
		return rc;
	bp = rmin(bp, rat_int(1));
	ep = rmin(ep, rat_int(1));
	if ((rc = rat_add(cycle, bp, &np.begin)) < 0 ||
	    (rc = rat_add(cycle, ep, &np.end)) < 0)
		return rc;
	if (e->has_whole) {
		tt_span w;
		if ((rc = rat_sub(b, e->whole.begin, &t)) < 0 ||
		    (rc = rat_div(t, p->r1, &t)) < 0 ||
		    (rc = rat_sub(np.begin, t, &w.begin)) < 0 ||
		    (rc = rat_sub(e->whole.end, en, &t)) < 0 ||
		    (rc = rat_div(t, p->r1, &t)) < 0 ||
		    (rc = rat_add(np.end, t, &w.end)) < 0)
			return rc;
		e->whole = w;
	}
	e->part = np;
	return TT_OK;
}

static int fastgap_piece(qctx *q, const pat *p, tt_span s, hlist *out)
{
	tt_rat cycle = rat_int(rat_floor(s.begin)), bp, ep;
	size_t from = out->n;
	int rc;
	if ((rc = rat_sub(s.begin, cycle, &bp)) < 0 ||
	    (rc = rat_mul(bp, p->r1, &bp)) < 0 ||
	    (rc = rat_sub(s.end, cycle, &ep)) < 0 ||
	    (rc = rat_mul(ep, p->r1, &ep)) < 0)
		return rc;
	bp = rmin(bp, rat_int(1));
	ep = rmin(ep, rat_int(1));
	if (rat_cmp(bp, rat_int(1)) >= 0)
		return TT_OK;
	if ((rc = rat_add(cycle, bp, &s.begin)) < 0 ||
	    (rc = rat_add(cycle, ep, &s.end)) < 0 ||
	    (rc = pat__query(q, p->a, s, out)) < 0)
		return rc;
	if ((rc = pat__tickn(q, out->n - from)) < 0)
		return rc;
	for (size_t i = from; i < out->n; i++)
		if ((rc = fastgap_event(p, &out->v[i])) < 0)
			return rc;
	return TT_OK;
}

/* repeatCycles: cycle c plays source cycle floor(c / n). */
static int repeat_piece(qctx *q, const pat *p, tt_span s, hlist *out)
{
	tt_rat cycle = rat_int(rat_floor(s.begin)), src, delta;
	size_t from = out->n;
	int rc;
	if ((rc = rat_div(cycle, p->r1, &src)) < 0)
		return rc;
	src = rat_int(rat_floor(src));
	if ((rc = rat_sub(cycle, src, &delta)) < 0 ||
	    (rc = rat_sub(s.begin, delta, &s.begin)) < 0 ||
	    (rc = rat_sub(s.end, delta, &s.end)) < 0 ||
	    (rc = pat__query(q, p->a, s, out)) < 0)
		return rc;
	if ((rc = pat__tickn(q, out->n - from)) < 0)
		return rc;
	for (size_t i = from; i < out->n; i++) {
		tt_event *e = &out->v[i];
		if ((rc = rat_add(e->part.begin, delta, &e->part.begin)) < 0 ||
		    (rc = rat_add(e->part.end, delta, &e->part.end)) < 0)
			return rc;
		if (e->has_whole &&
		    ((rc = rat_add(e->whole.begin, delta, &e->whole.begin)) < 0 ||
		     (rc = rat_add(e->whole.end, delta, &e->whole.end)) < 0))
			return rc;
	}
	return TT_OK;
}

int pat__query_time(qctx *q, const pat *p, tt_span span, hlist *out)
{
	switch (p->kind) {
	case K_FAST: return query_fast(q, p, span, out);
	case K_EARLY: return query_early(q, p, span, out);
	case K_REV: return pat__split_each(q, p, span, out, rev_piece);
	case K_ZOOM: return pat__split_each(q, p, span, out, zoom_piece);
	case K_FASTGAP: return pat__split_each(q, p, span, out, fastgap_piece);
	case K_REPEAT: return pat__split_each(q, p, span, out, repeat_piece);
	default: return TT_EINVAL;
	}
}

/* ---- plain builders ---- */

static int node1(pmem *m, int kind, const pat *a, tt_rat r1, tt_rat r2, pat **out)
{
	pat *r = pat__node(m, kind);
	if (!r)
		return pat__nomem(m);
	r->a = (pat *)a;
	r->r1 = r1;
	r->r2 = r2;
	*out = r;
	return TT_OK;
}

int pat__fast_r(pmem *m, const pat *p, tt_rat factor, pat **out)
{
	if (factor.n <= 0)
		return pat__silence(m, out);
	if (rat_eq(factor, rat_int(1))) {
		*out = (pat *)p;
		return TT_OK;
	}
	return node1(m, K_FAST, p, factor, rat_int(0), out);
}

int pat__early_r(pmem *m, const pat *p, tt_rat t, pat **out)
{
	if (t.n == 0) {
		*out = (pat *)p;
		return TT_OK;
	}
	return node1(m, K_EARLY, p, t, rat_int(0), out);
}

int pat__rev(pmem *m, const pat *p, pat **out)
{
	return node1(m, K_REV, p, rat_int(0), rat_int(0), out);
}

int pat__zoom_r(pmem *m, const pat *p, tt_rat s, tt_rat e, pat **out)
{
	if (rat_cmp(s, e) >= 0)
		return pat__silence(m, out);
	return node1(m, K_ZOOM, p, s, e, out);
}

int pat__fastgap_r(pmem *m, const pat *p, tt_rat factor, pat **out)
{
	if (factor.n <= 0)
		return pat__silence(m, out);
	return node1(m, K_FASTGAP, p, factor, rat_int(0), out);
}

int pat__repeat(pmem *m, const pat *p, tt_rat n, pat **out)
{
	if (n.n <= 0)
		return pat__silence(m, out);
	return node1(m, K_REPEAT, p, n, rat_int(0), out);
}

int pat__when(pmem *m, const pat *binary, const pat *yes, const pat *no,
	      pat **out)
{
	pat *r = pat__node(m, K_WHEN);
	if (!r)
		return pat__nomem(m);
	r->a = (pat *)binary;
	r->b = (pat *)yes;
	r->c = (pat *)no;
	*out = r;
	return TT_OK;
}

/* compress(b, e) = fastGap(1/(e-b)).late(b), silence when out of [0, 1]. */
static int compress_r(pmem *m, const pat *p, tt_rat b, tt_rat e, pat **out)
{
	tt_rat w, inv;
	pat *g;
	int rc;
	if (rat_cmp(b, e) > 0 || rat_cmp(b, rat_int(1)) > 0 ||
	    rat_cmp(e, rat_int(1)) > 0 || b.n < 0 || e.n < 0 ||
	    rat_eq(b, e))
		return pat__silence(m, out);
	if ((rc = rat_sub(e, b, &w)) < 0 || (rc = rat_div(rat_int(1), w, &inv)) < 0 ||
	    (rc = pat__fastgap_r(m, p, inv, &g)) < 0)
		return rc;
	return pat__early_r(m, g, (tt_rat){ -b.n, b.d }, out);
}

/* _iter(times, p, back): slowcat of p shifted by i/times for i in
 * 0 .. floor(times)-1 (Strudel's listRange floors a fractional count). */
static int iter_r(pmem *m, const pat *p, tt_rat times, bool back, pat **out)
{
	int64_t n = rat_floor(times);
	pat **k;
	int rc;
	if (n <= 0)
		return pat__silence(m, out);
	if (n > TT_MAX_EVENTS_PER_CYCLE)
		return pat__fail(m, TT_ELIMIT, "iter: too many steps");
	k = pmem_alloc(m, sizeof *k * (size_t)n);
	if (!k)
		return pat__nomem(m);
	for (int64_t i = 0; i < n; i++) {
		tt_rat t;
		if ((rc = rat_div(rat_int(back ? -i : i), times, &t)) < 0 ||
		    (rc = pat__early_r(m, p, t, &k[i])) < 0)
			return rc;
	}
	return pat__cat(m, K_SLOWCAT, k, (size_t)n, out);
}

/* Array(n - 1) in Strudel: n must be a whole number >= 1. */
static int count_arg(pmem *m, double x, const char *what, int64_t *n)
{
	if (x != floor(x) || x < 1)
		return pat__throw(m, what);
	if (x > TT_MAX_EVENTS_PER_CYCLE)
		return pat__fail(m, TT_ELIMIT, "count too large");
	*n = (int64_t)x;
	return TT_OK;
}

/* The binary pattern of chunk: true then n-1 falses, iterated. */
static int chunk_r(pmem *m, const pat *p, int64_t n, const pat *fp, bool back,
		   bool fast, pat **out)
{
	pat **k, *seq, *bin, *src = (pat *)p;
	int rc;
	k = pmem_alloc(m, sizeof *k * (size_t)n);
	if (!k)
		return pat__nomem(m);
	for (int64_t i = 0; i < n; i++)
		if ((rc = pat__pure_bool(m, i == 0, &k[i])) < 0)
			return rc;
	if ((rc = pat__cat(m, K_SLOWCAT, k, (size_t)n, &seq)) < 0 ||
	    (rc = pat__fast_r(m, seq, rat_int(n), &seq)) < 0 ||
	    (rc = iter_r(m, seq, rat_int(n), !back, &bin)) < 0)
		return rc;
	if (!fast && (rc = pat__repeat(m, p, rat_int(n), &src)) < 0)
		return rc;
	return pat__when(m, bin, fp, src, out);
}

static int firstof_r(pmem *m, const pat *p, int64_t n, const pat *fp, bool last,
		     pat **out)
{
	pat **k = pmem_alloc(m, sizeof *k * (size_t)n);
	if (!k)
		return pat__nomem(m);
	for (int64_t i = 0; i < n; i++)
		k[i] = (pat *)p;
	k[last ? n - 1 : 0] = (pat *)fp;
	return pat__cat(m, K_SLOWCAT_PRIME, k, (size_t)n, out);
}

static int arg_rat(const parg *a, tt_rat *out)
{
	if (!a->is_num)
		return TT_EINVAL;
	return rat_from_double(a->x, 10000000, out);
}

static int linger_r(pmem *m, const pat *p, tt_rat t, pat **out)
{
	pat *z;
	int rc;
	tt_rat inv;
	if (t.n == 0)
		return pat__silence(m, out);
	if (t.n < 0) {
		tt_rat s;
		if ((rc = rat_add(t, rat_int(1), &s)) < 0 ||
		    (rc = pat__zoom_r(m, p, s, rat_int(1), &z)) < 0)
			return rc;
	} else if ((rc = pat__zoom_r(m, p, rat_int(0), t, &z)) < 0) {
		return rc;
	}
	/* _slow(t) = _fast(1/t); Strudel slows by a negative t too. */
	if ((rc = rat_div(rat_int(1), t, &inv)) < 0)
		return rc;
	return pat__fast_r(m, z, inv, out);
}

/* swingBy(x, n) = inside(n, late(seq(0, x/2))). */
static int swing_r(pmem *m, const pat *p, double x, tt_rat n, pat **out)
{
	pat *s, *shifted, *ks[2], *lat;
	tt_rat inv;
	int rc;
	if (n.n <= 0)
		return pat__silence(m, out);
	if ((rc = pat__pure_num(m, 0, &ks[0])) < 0 ||
	    (rc = pat__pure_num(m, x / 2, &ks[1])) < 0 ||
	    (rc = pat__cat(m, K_SLOWCAT, ks, 2, &lat)) < 0 ||
	    (rc = pat__fast_r(m, lat, rat_int(2), &lat)) < 0)
		return rc;
	if ((rc = rat_div(rat_int(1), n, &inv)) < 0 ||
	    (rc = pat__fast_r(m, p, inv, &s)) < 0)
		return rc;
	/* late with a patterned offset: the plain late per value. */
	pat *r = pat__node(m, K_PATTERNIFY);
	pat **kk = pmem_alloc(m, sizeof *kk);
	if (!r || !kk)
		return pat__nomem(m);
	kk[0] = lat;
	r->kids = kk;
	r->n_kids = 1;
	r->a = s;
	r->sub = P_LATE;
	shifted = r;
	return pat__fast_r(m, shifted, n, out);
}

static int brak_r(pmem *m, const pat *p, pat **out)
{
	/* when(slowcat(false, true), x => fastcat(x, silence).late(0.25)) */
	pat *b[2], *bin = NULL, *sil = NULL, *ks[2], *cat = NULL, *y = NULL;
	int rc;
	if ((rc = pat__pure_bool(m, false, &b[0])) < 0 ||
	    (rc = pat__pure_bool(m, true, &b[1])) < 0 ||
	    (rc = pat__cat(m, K_SLOWCAT, b, 2, &bin)) < 0 ||
	    (rc = pat__silence(m, &sil)) < 0)
		return rc;
	ks[0] = (pat *)p;
	ks[1] = sil;
	if ((rc = pat__cat(m, K_SLOWCAT, ks, 2, &cat)) < 0 ||
	    (rc = pat__fast_r(m, cat, rat_int(2), &cat)) < 0 ||
	    (rc = pat__early_r(m, cat, TT_RAT(-1, 4), &y)) < 0)
		return rc;
	return pat__when(m, bin, y, p, out);
}

/* ply(n) = fmap(x => pure(x).fast(n)).squeezeJoin(). */
static int ply_r(pmem *m, const pat *p, tt_rat n, pat **out)
{
	pat *r = pat__node(m, K_SQUEEZE);
	if (!r)
		return pat__nomem(m);
	r->a = (pat *)p;
	r->r1 = n;
	r->sub = 1; /* ply */
	*out = r;
	return TT_OK;
}

int pat__segment(pmem *m, const pat *p, tt_rat n, pat **out)
{
	pat *t, *f;
	int rc;
	if ((rc = pat__pure_bool(m, true, &t)) < 0 ||
	    (rc = pat__fast_r(m, t, n, &f)) < 0)
		return rc;
	/* struct = keepif.out */
	return pat__app(m, APP_RIGHT, PAT_OP_KEEPIF, p, f, out);
}

/* The time kinds of pat__build_plain; the others are in pattern_join.c. */
int pat__build_time(pmem *m, int pk, const parg *a, const pat *p, const pat *fp,
		    pat **out)
{
	tt_rat r, r2;
	int rc;
	if ((rc = arg_rat(&a[0], &r)) < 0)
		return pat__throw(m, "expected a number");
	switch (pk) {
	case P_FAST: return pat__fast_r(m, p, r, out);
	case P_SLOW:
		if (r.n == 0)
			return pat__silence(m, out);
		if ((rc = rat_div(rat_int(1), r, &r)) < 0)
			return rc;
		return pat__fast_r(m, p, r, out);
	case P_EARLY: return pat__early_r(m, p, r, out);
	case P_LATE: return pat__early_r(m, p, (tt_rat){ -r.n, r.d }, out);
	case P_PLY: return ply_r(m, p, r, out);
	case P_ITER: case P_ITER_BACK:
		return iter_r(m, p, r, pk == P_ITER_BACK, out);
	case P_LINGER:
		/* Strudel 1.2.6 fails on a negative plain linger (t.add is not
		 * a function) and yields nothing for a patterned one. */
		if (r.n < 0)
			return m->pool ? pat__fail(m, TT_EINVAL, "linger: negative "
						   "values fail in Strudel 1.2.6")
				       : pat__silence(m, out);
		return linger_r(m, p, r, out);
	case P_COMPRESS: case P_ZOOM:
		if ((rc = arg_rat(&a[1], &r2)) < 0)
			return pat__throw(m, "expected a number");
		return pk == P_ZOOM ? pat__zoom_r(m, p, r, r2, out)
				    : compress_r(m, p, r, r2, out);
	case P_FASTGAP: return pat__fastgap_r(m, p, r, out);
	case P_SEGMENT: return pat__segment(m, p, r, out);
	case P_REPEAT: return pat__repeat(m, p, r, out);
	case P_HURRY: {
		pat *f, *sp;
		tt_field *fl = pmem_alloc(m, sizeof *fl);
		if (!fl)
			return pat__nomem(m);
		*fl = (tt_field){ "speed", TT_V_NUM, a[0].x, NULL };
		if ((rc = pat__fast_r(m, p, r, &f)) < 0)
			return rc;
		sp = pat__node(m, K_PURE);
		if (!sp)
			return pat__nomem(m);
		sp->fields = fl;
		sp->n_fields = 1;
		return pat__app(m, APP_LEFT, PAT_OP_MUL, f, sp, out);
	}
	case P_CPM:
		if ((rc = rat_from_double(a[0].x / 60 / 1, 10000000, &r)) < 0)
			return rc;
		return pat__fast_r(m, p, r, out);
	case P_SWING_BY:
		if ((rc = arg_rat(&a[1], &r2)) < 0)
			return pat__throw(m, "expected a number");
		return swing_r(m, p, a[0].x, r2, out);
	case P_FIRST_OF: case P_LAST_OF: {
		int64_t n = 0;
		if ((rc = count_arg(m, a[0].x, "every: the count must be a whole "
				    "number of at least 1", &n)) < 0)
			return rc;
		return firstof_r(m, p, n, fp, pk == P_LAST_OF, out);
	}
	case P_CHUNK: case P_CHUNK_BACK: case P_FAST_CHUNK: {
		int64_t n = 0;
		if ((rc = count_arg(m, a[0].x, "chunk: the count must be a whole "
				    "number of at least 1", &n)) < 0)
			return rc;
		return chunk_r(m, p, n, fp, pk == P_CHUNK_BACK, pk == P_FAST_CHUNK,
			       out);
	}
	default: return TT_EINVAL;
	}
}

/* ---- public builders ---- */

#define PF1(name, pk) \
	int name(pat_pool *pool, pat *p, pat *x, pat **out) \
	{ \
		pat *args[1] = { x }; \
		return pat__patternify(pool, pk, args, 1, p, NULL, out); \
	}

PF1(pat_fast, P_FAST)
PF1(pat_slow, P_SLOW)
PF1(pat_hurry, P_HURRY)
PF1(pat_cpm, P_CPM)
PF1(pat_early, P_EARLY)
PF1(pat_late, P_LATE)
PF1(pat_iter, P_ITER)
PF1(pat_iter_back, P_ITER_BACK)
PF1(pat_ply, P_PLY)
PF1(pat_linger, P_LINGER)
PF1(pat_fast_gap, P_FASTGAP)
PF1(pat_segment, P_SEGMENT)
PF1(pat_repeat_cycles, P_REPEAT)

int pat_compress(pat_pool *pool, pat *p, pat *b, pat *e, pat **out)
{
	pat *args[2] = { b, e };
	return pat__patternify(pool, P_COMPRESS, args, 2, p, NULL, out);
}

int pat_zoom(pat_pool *pool, pat *p, pat *b, pat *e, pat **out)
{
	pat *args[2] = { b, e };
	return pat__patternify(pool, P_ZOOM, args, 2, p, NULL, out);
}

int pat_swing_by(pat_pool *pool, pat *p, pat *x, pat *n, pat **out)
{
	pat *args[2] = { x, n };
	return pat__patternify(pool, P_SWING_BY, args, 2, p, NULL, out);
}

int pat_swing(pat_pool *pool, pat *p, pat *n, pat **out)
{
	pat *x;
	int rc = pat_num(pool, 1.0 / 3, NULL, &x);
	if (rc < 0)
		return rc;
	return pat_swing_by(pool, p, x, n, out);
}

int pat_rev(pat_pool *pool, pat *p, pat **out)
{
	pmem m = { pool, NULL };
	return pat__rev(&m, p, out);
}

int pat_palindrome(pat_pool *pool, pat *p, pat **out)
{
	/* lastOf(2, rev) */
	pmem m = { pool, NULL };
	pat *r;
	int rc = pat__rev(&m, p, &r);
	if (rc < 0)
		return rc;
	return firstof_r(&m, p, 2, r, true, out);
}

int pat_brak(pat_pool *pool, pat *p, pat **out)
{
	pmem m = { pool, NULL };
	return brak_r(&m, p, out);
}

int pat_first_of(pat_pool *pool, pat *p, pat *n, pat_fn f, pat **out)
{
	pat *args[1] = { n };
	return pat__patternify(pool, P_FIRST_OF, args, 1, p, &f, out);
}

int pat_last_of(pat_pool *pool, pat *p, pat *n, pat_fn f, pat **out)
{
	pat *args[1] = { n };
	return pat__patternify(pool, P_LAST_OF, args, 1, p, &f, out);
}

int pat_chunk(pat_pool *pool, pat *p, pat *n, pat_fn f, pat **out)
{
	pat *args[1] = { n };
	return pat__patternify(pool, P_CHUNK, args, 1, p, &f, out);
}

int pat_chunk_back(pat_pool *pool, pat *p, pat *n, pat_fn f, pat **out)
{
	pat *args[1] = { n };
	return pat__patternify(pool, P_CHUNK_BACK, args, 1, p, &f, out);
}

int pat_fast_chunk(pat_pool *pool, pat *p, pat *n, pat_fn f, pat **out)
{
	pat *args[1] = { n };
	return pat__patternify(pool, P_FAST_CHUNK, args, 1, p, &f, out);
}

int pat_inside(pat_pool *pool, pat *p, pat *factor, pat_fn f, pat **out)
{
	pat *args[1] = { factor };
	return pat__patternify(pool, P_INSIDE, args, 1, p, &f, out);
}

int pat_outside(pat_pool *pool, pat *p, pat *factor, pat_fn f, pat **out)
{
	pat *args[1] = { factor };
	return pat__patternify(pool, P_OUTSIDE, args, 1, p, &f, out);
}

int pat_off(pat_pool *pool, pat *p, pat *t, pat_fn f, pat **out)
{
	pat *args[1] = { t };
	return pat__patternify(pool, P_OFF, args, 1, p, &f, out);
}

int pat_when(pat_pool *pool, pat *p, pat *binary, pat_fn f, pat **out)
{
	pmem m = { pool, NULL };
	pat *fp;
	int rc = f.call(f.env, pool, p, &fp);
	if (rc < 0)
		return rc;
	return pat__when(&m, binary, fp, p, out);
}

static int layer_list(pat_pool *pool, pat *p, const pat_fn *fs, size_t n,
		      bool keep, pat **out)
{
	pat **k = pat_pool_alloc(pool, sizeof *k * (n + 1));
	size_t m = 0;
	int rc;
	if (!k)
		return TT_ENOMEM;
	if (keep)
		k[m++] = p;
	for (size_t i = 0; i < n; i++, m++)
		if ((rc = fs[i].call(fs[i].env, pool, p, &k[m])) < 0)
			return rc;
	return pat_stack(pool, k, m, out);
}

int pat_superimpose(pat_pool *pool, pat *p, const pat_fn *fs, size_t n, pat **out)
{
	return layer_list(pool, p, fs, n, true, out);
}

int pat_layer(pat_pool *pool, pat *p, const pat_fn *fs, size_t n, pat **out)
{
	return layer_list(pool, p, fs, n, false, out);
}

int pat_jux_by(pat_pool *pool, pat *p, pat *by, pat_fn f, pat **out)
{
	pat *args[1] = { by };
	return pat__patternify(pool, P_JUXBY, args, 1, p, &f, out);
}

int pat_jux(pat_pool *pool, pat *p, pat_fn f, pat **out)
{
	pat *one;
	int rc = pat_num(pool, 1, NULL, &one);
	if (rc < 0)
		return rc;
	return pat_jux_by(pool, p, one, f, out);
}
