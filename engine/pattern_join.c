/*
 * engine/pattern_join.c: how patterns combine: Strudel's register()
 * (patterned arguments), appLeft/appRight/appBoth, squeezeJoin, and the
 * innerJoin select behind when().
 *
 * Invariants:
 *  1. A patterned call queries its first argument over the span, then each
 *     further argument over each tuple's whole (appLeft), builds the plain
 *     pattern for the tuple in the arena and queries it over the tuple's
 *     part (innerJoin): wholes from the inner events, locations outer
 *     first.
 *  2. A function argument is applied once, at build time, to the pattern
 *     Strudel would give it; patterned arguments are accepted only where
 *     that pattern does not depend on them.
 */
#include "engine/pattern_internal.h"

#include <math.h>
#include <string.h>

static bool whole_or_part(const tt_event *e, tt_span *s)
{
	*s = e->has_whole ? e->whole : e->part;
	return true;
}

/* ---- patterned arguments ---- */

typedef struct tuple {
	tt_event e;        /* whole, part, locs of the combined arguments */
	parg args[PAT_MAX_ARGS];
} tuple;

static void to_parg(const tt_event *e, parg *a)
{
	a->f = e->fields;
	a->n = e->n_fields;
	a->is_num = value_number(e->fields, e->n_fields, &a->x);
}

static int tuples_extend(qctx *q, const pat *arg, size_t k, tuple *in,
			 size_t n_in, tuple **out, size_t *n_out)
{
	size_t cap = n_in * 2 + 4, n = 0;
	tuple *t = pat__qalloc(q, sizeof *t * cap);
	int rc;
	if (!t)
		return TT_ELIMIT;
	for (size_t i = 0; i < n_in; i++) {
		hlist vals = { 0 };
		tt_span w;
		whole_or_part(&in[i].e, &w);
		if ((rc = pat__query(q, arg, w, &vals)) < 0)
			return rc;
		for (size_t j = 0; j < vals.n; j++) {
			tt_span part;
			if (!span_intersect(in[i].e.part, vals.v[j].part, &part))
				continue;
			if (n == cap) {
				tuple *g = pat__qalloc(q, sizeof *g * cap * 2);
				if (!g)
					return TT_ELIMIT;
				memcpy(g, t, sizeof *t * n);
				t = g;
				cap *= 2;
			}
			t[n] = in[i];
			t[n].e.part = part;
			to_parg(&vals.v[j], &t[n].args[k]);
			if ((rc = pat__locs_union(q, &vals.v[j], &in[i].e,
						  &t[n].e.locs, &t[n].e.n_locs)) < 0)
				return rc;
			n++;
		}
	}
	*out = t;
	*n_out = n;
	return TT_OK;
}

static int first_tuples(qctx *q, const pat *arg, tt_span span, tuple **out,
			size_t *n_out)
{
	hlist l = { 0 };
	int rc = pat__query(q, arg, span, &l);
	if (rc < 0)
		return rc;
	tuple *t = pat__qalloc(q, sizeof *t * (l.n ? l.n : 1));
	if (!t)
		return TT_ELIMIT;
	for (size_t i = 0; i < l.n; i++) {
		t[i].e = l.v[i];
		to_parg(&l.v[i], &t[i].args[0]);
	}
	*out = t;
	*n_out = l.n;
	return TT_OK;
}

int pat__query_patternify(qctx *q, const pat *p, tt_span span, hlist *out)
{
	tuple *t;
	size_t n;
	pmem m = { NULL, q->arena };
	int rc = first_tuples(q, p->kids[0], span, &t, &n);
	for (size_t k = 1; rc == TT_OK && k < p->n_kids; k++)
		rc = tuples_extend(q, p->kids[k], k, t, n, &t, &n);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		pat *inner;
		const pat *fp = p->b;
		size_t from = out->n;
		if (p->n_t) {
			size_t j = 0;
			while (j < p->n_t && !(t[i].args[0].is_num &&
					       p->tvals[j] == t[i].args[0].x))
				j++;
			if (j == p->n_t)
				continue; /* a value no literal gave: no events */
			fp = p->tfps[j];
		}
		if ((rc = pat__build_plain(&m, p->sub, t[i].args, p->n_kids, p->a,
					   fp, &inner)) < 0)
			return rc;
		if ((rc = pat__query(q, inner, t[i].e.part, out)) < 0)
			return rc;
		if ((rc = pat__tickn(q, out->n - from)) < 0)
			return rc;
		for (size_t j = from; j < out->n; j++)
			if ((rc = pat__locs_union(q, &t[i].e, &out->v[j],
						  &out->v[j].locs,
						  &out->v[j].n_locs)) < 0)
				return rc;
	}
	return TT_OK;
}

/* Kinds whose function argument sees a pattern derived from the
 * arguments (so they cannot be patterned). */
static bool fn_depends_on_args(int pk)
{
	return pk == P_INSIDE || pk == P_OUTSIDE || pk == P_OFF ||
	       pk == P_JUXBY || pk == P_SOMETIMES || pk == P_SOMECYCLES ||
	       pk == P_CHUNK || pk == P_CHUNK_BACK;
}

/* The pattern Strudel hands the function argument of kind pk. */
static int derive(pmem *m, int pk, const parg *a, const pat *p, pat **out)
{
	tt_rat r;
	int rc;
	if (pk == P_JUXBY)
		return pat__fmap(m, p, F_PAN_OFFSET, a[0].x / 2, out);
	if (pk == P_SOMETIMES) {
		pat *rs;
		if ((rc = pat__randsig(m, rat_int(0), &rs)) < 0 ||
		    (rc = pat__degrade_with(m, p, rs, 1 - a[0].x, out)) < 0)
			return rc;
		(*out)->i1 = 1;
		return TT_OK;
	}
	if (pk == P_SOMECYCLES) {
		pat *rs;
		if ((rc = pat__randsig(m, rat_int(0), &rs)) < 0 ||
		    (rc = pat__segment(m, rs, rat_int(1), &rs)) < 0)
			return rc;
		if ((rc = pat__degrade_with(m, p, rs, 1 - a[0].x, out)) < 0)
			return rc;
		(*out)->i1 = 1;
		return TT_OK;
	}
	if (!fn_depends_on_args(pk)) {
		*out = (pat *)p;
		return TT_OK;
	}
	if (!a[0].is_num || rat_from_double(a[0].x, 10000000, &r) < 0)
		return pat__fail(m, TT_EINVAL, "expected a number");
	switch (pk) {
	case P_INSIDE:
		if (r.n == 0)
			return pat__silence(m, out);
		if ((rc = rat_div(rat_int(1), r, &r)) < 0)
			return rc;
		return pat__fast_r(m, p, r, out);
	case P_OUTSIDE: return pat__fast_r(m, p, r, out);
	case P_OFF: return pat__early_r(m, p, (tt_rat){ -r.n, r.d }, out);
	case P_CHUNK: case P_CHUNK_BACK:
		return pat__repeat(m, p, rat_int(rat_floor(r)), out);
	default: return TT_EINVAL;
	}
}

int pat__build_plain(pmem *m, int pk, const parg *args, size_t n_args,
		     const pat *p, const pat *fp, pat **out)
{
	switch (pk) {
	case P_FAST: case P_SLOW: case P_EARLY: case P_LATE: case P_PLY:
	case P_ITER: case P_ITER_BACK: case P_LINGER: case P_COMPRESS:
	case P_ZOOM: case P_FASTGAP: case P_SEGMENT: case P_REPEAT:
	case P_HURRY: case P_CPM: case P_SWING_BY: case P_FIRST_OF:
	case P_LAST_OF: case P_CHUNK: case P_CHUNK_BACK: case P_FAST_CHUNK:
		return pat__build_time(m, pk, args, p, fp, out);
	default:
		return pat__build_other(m, pk, args, n_args, p, fp, out);
	}
}

/* Appends locs to every event of pattern r (the pure arguments'). */
static int add_locs(pat_pool *pool, pat *r, const tt_loc *locs, uint32_t n,
		    pat **out)
{
	pmem m = { pool, NULL };
	if (n == 0) {
		*out = r;
		return TT_OK;
	}
	pat *w = pat__node(&m, K_WITHLOC);
	if (!w)
		return TT_ENOMEM;
	w->a = r;
	w->locs = locs;
	w->n_locs = n;
	*out = w;
	return TT_OK;
}

static int patternify_pure(pat_pool *pool, int pk, pat *const *args,
			   size_t n_args, pat *p, const pat_fn *fn, pat **out)
{
	pmem m = { pool, NULL };
	parg a[PAT_MAX_ARGS];
	uint32_t n_locs = 0;
	tt_loc *locs;
	pat *fp = NULL, *r;
	int rc;
	for (size_t i = 0; i < n_args; i++) {
		tt_event e = { .fields = args[i]->fields,
			       .n_fields = args[i]->n_fields };
		to_parg(&e, &a[i]);
		n_locs += args[i]->n_locs;
	}
	if (fn) {
		pat *d;
		if ((rc = derive(&m, pk, a, p, &d)) < 0 ||
		    (rc = fn->call(fn->env, pool, d, &fp)) < 0)
			return rc;
	}
	if ((rc = pat__build_plain(&m, pk, a, n_args, p, fp, &r)) < 0)
		return rc;
	locs = pat_pool_alloc(pool, sizeof *locs * (n_locs + 1));
	if (!locs)
		return TT_ENOMEM;
	n_locs = 0;
	for (size_t i = 0; i < n_args; i++)
		for (uint32_t j = 0; j < args[i]->n_locs; j++)
			locs[n_locs++] = args[i]->locs[j];
	return add_locs(pool, r, locs, n_locs, out);
}

/* Collects the distinct numeric literals of pattern a (its pure leaves);
 * false when a holds something else that makes values (signals). */
static bool literals(const pat *a, double *vals, size_t *n, size_t cap, int *visits)
{
	/* a bounded walk: shared nodes could make it exponential */
	if (++*visits > TT_MAX_EVENTS_PER_CYCLE)
		return false;
	switch (a->kind) {
	case K_PURE: {
		double x;
		if (!value_number(a->fields, a->n_fields, &x))
			return false;
		for (size_t i = 0; i < *n; i++)
			if (vals[i] == x)
				return true;
		if (*n == cap)
			return false;
		vals[(*n)++] = x;
		return true;
	}
	case K_SILENCE: return true;
	case K_STACK: case K_SLOWCAT: case K_SLOWCAT_PRIME:
		for (size_t i = 0; i < a->n_kids; i++)
			if (!literals(a->kids[i], vals, n, cap, visits))
				return false;
		return true;
	case K_WITHLOC: case K_FAST: case K_EARLY: case K_SPLIT: case K_REV:
	case K_ZOOM: case K_FASTGAP: case K_REPEAT: case K_DEGRADE:
		return literals(a->a, vals, n, cap, visits);
	case K_CHOOSE:
		for (size_t i = 0; i < a->n_kids; i++)
			if (!literals(a->kids[i], vals, n, cap, visits))
				return false;
		return true;
	case K_APP:
		return a->how == PAT_OP_KEEPIF &&
		       literals(a->a, vals, n, cap, visits);
	case K_PATTERNIFY:
		/* only where the plain function moves values in time */
		switch (a->sub) {
		case P_FAST: case P_SLOW: case P_EARLY: case P_LATE: case P_ITER:
		case P_ITER_BACK: case P_LINGER: case P_COMPRESS: case P_ZOOM:
		case P_FASTGAP: case P_SEGMENT: case P_REPEAT: case P_DEGRADE:
		case P_UNDEGRADE: case P_SWING_BY: case P_SHUFFLE:
		case P_SCRAMBLE:
			return a->a && !a->n_t && !a->b &&
			       literals(a->a, vals, n, cap, visits);
		default:
			return false;
		}
	default: return false;
	}
}

#define PAT_MAX_LITERALS 64

static int apply_per_literal(pat_pool *pool, int pk, const pat *arg, pat *p,
			     const pat_fn *fn, pat *r)
{
	pmem m = { pool, NULL };
	double vals[PAT_MAX_LITERALS];
	size_t n = 0;
	int rc;
	int visits = 0;
	if (!literals(arg, vals, &n, PAT_MAX_LITERALS, &visits) || n == 0)
		return TT_EUNSUPPORTED;
	double *tv = pat_pool_alloc(pool, sizeof *tv * n);
	pat **tf = pat_pool_alloc(pool, sizeof *tf * n);
	if (!tv || !tf)
		return TT_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		parg a = { .x = vals[i], .is_num = true };
		pat *d;
		tv[i] = vals[i];
		if ((rc = derive(&m, pk, &a, p, &d)) < 0 ||
		    (rc = fn->call(fn->env, pool, d, &tf[i])) < 0)
			return rc;
	}
	r->tvals = tv;
	r->tfps = tf;
	r->n_t = n;
	return TT_OK;
}

int pat__patternify(pat_pool *pool, int pk, pat *const *args, size_t n_args,
		    pat *p, const pat_fn *fn, pat **out)
{
	pmem m = { pool, NULL };
	bool all_pure = true;
	pat *r, **k;
	int rc;
	if (n_args == 0 || n_args > PAT_MAX_ARGS)
		return pat__fail(&m, TT_EINVAL, "wrong number of arguments");
	/* Strudel's __pure: a pure node, with or without the location of its
	 * mini-notation atom ("bd*1.5" passes the atom 1.5 itself). A whole
	 * mini-notation string is never pure, even "2": Strudel builds every
	 * sequence with timeCat, and pat_timecat of one pattern keeps that. */
	for (size_t i = 0; i < n_args; i++)
		if (args[i]->kind != K_PURE)
			all_pure = false;
	if (all_pure)
		return patternify_pure(pool, pk, args, n_args, p, fn, out);
	r = pat__node(&m, K_PATTERNIFY);
	k = pat_pool_alloc(pool, sizeof *k * n_args);
	if (!r || !k)
		return TT_ENOMEM;
	memcpy(k, args, sizeof *k * n_args);
	r->kids = k;
	r->n_kids = n_args;
	r->a = p;
	r->sub = pk;
	if (fn && fn_depends_on_args(pk)) {
		if (n_args != 1 || (rc = apply_per_literal(pool, pk, args[0], p, fn, r)) < 0)
			return pat__fail(&m, TT_EUNSUPPORTED,
					 "a patterned first argument here must be "
					 "made of plain numbers (like \"<2 4>\")");
	} else if (fn && (rc = fn->call(fn->env, pool, p, &r->b)) < 0) {
		return rc;
	}
	*out = r;
	return TT_OK;
}

/* ---- applicative combination ---- */

int pat__app(pmem *m, int how, int op, const pat *a, const pat *b, pat **out)
{
	pat *r = pat__node(m, K_APP);
	if (!r)
		return pat__nomem(m);
	r->sub = how;
	r->how = op;
	r->a = (pat *)a;
	r->b = (pat *)b;
	*out = r;
	return TT_OK;
}

/* Pushes the combination of structure event s (whole from it), function
 * event f and value event v over part. */
static int push_combined(qctx *q, hlist *out, int op, const tt_event *fe,
			 const tt_event *ve, bool has_whole, tt_span whole,
			 tt_span part)
{
	tt_event e;
	bool keep = true;
	int rc;
	e.has_whole = has_whole;
	e.whole = whole;
	e.part = part;
	if ((rc = pat__value_op(q, op, fe, ve, &e.fields, &e.n_fields, &keep)) < 0)
		return rc;
	if (!keep)
		return TT_OK;
	if ((rc = pat__locs_union(q, ve, fe, &e.locs, &e.n_locs)) < 0)
		return rc;
	return pat__push(q, out, &e);
}

static int app_left(qctx *q, const pat *p, tt_span span, hlist *out, bool left)
{
	hlist outer = { 0 };
	const pat *first = left ? p->a : p->b, *second = left ? p->b : p->a;
	int op = p->kind == K_TAIL ? OP_TAIL : p->how;
	int rc = pat__query(q, first, span, &outer);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < outer.n; i++) {
		hlist inner = { 0 };
		tt_event one;
		tt_span w;
		whole_or_part(&outer.v[i], &w);
		if (second->kind == K_PURE && rat_floor(w.begin) == rat_ceil(w.end) - 1) {
			/* A pure over a span inside one cycle: its one event,
			 * without a query (the common a.add(1) / .s("x")). */
			int64_t sam = rat_floor(w.begin);
			one = (tt_event){ true, { rat_int(sam), rat_int(sam + 1) }, w,
					  second->fields, second->n_fields,
					  second->locs, second->n_locs };
			inner.v = &one;
			inner.n = 1;
			if ((rc = pat__tick(q)) < 0)
				return rc;
		} else if ((rc = pat__query(q, second, w, &inner)) < 0) {
			return rc;
		}
		for (size_t j = 0; j < inner.n; j++) {
			tt_span part;
			const tt_event *fe = left ? &outer.v[i] : &inner.v[j];
			const tt_event *ve = left ? &inner.v[j] : &outer.v[i];
			if (!span_intersect(fe->part, ve->part, &part))
				continue;
			if ((rc = push_combined(q, out, op, fe, ve,
						outer.v[i].has_whole,
						outer.v[i].whole, part)) < 0)
				return rc;
		}
	}
	return TT_OK;
}

static int app_both(qctx *q, const pat *p, tt_span span, hlist *out)
{
	hlist fl = { 0 }, vl = { 0 };
	int rc;
	if ((rc = pat__query(q, p->a, span, &fl)) < 0 ||
	    (rc = pat__query(q, p->b, span, &vl)) < 0)
		return rc;
	for (size_t i = 0; i < fl.n; i++)
		for (size_t j = 0; j < vl.n; j++) {
			tt_span part, whole = { { 0, 1 }, { 0, 1 } };
			bool hw = fl.v[i].has_whole && vl.v[j].has_whole;
			if ((rc = pat__tick(q)) < 0)
				return rc;
			if (!span_intersect(fl.v[i].part, vl.v[j].part, &part))
				continue;
			if (hw && !span_intersect(fl.v[i].whole, vl.v[j].whole,
						  &whole))
				continue;
			if ((rc = push_combined(q, out, p->how, &fl.v[i], &vl.v[j],
						hw, whole, part)) < 0)
				return rc;
		}
	return TT_OK;
}

int pat__query_app(qctx *q, const pat *p, tt_span span, hlist *out)
{
	if (p->kind == K_TAIL)
		return app_left(q, p, span, out, true);
	switch (p->sub) {
	case APP_LEFT: return app_left(q, p, span, out, true);
	case APP_RIGHT: return app_left(q, p, span, out, false);
	default: return app_both(q, p, span, out);
	}
}

/* ---- when: innerJoin over a boolean pattern choosing b or c ---- */

int pat__query_when(qctx *q, const pat *p, tt_span span, hlist *out)
{
	hlist bin = { 0 };
	int rc = pat__query(q, p->a, span, &bin);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < bin.n; i++) {
		const tt_event *h = &bin.v[i];
		const pat *br = value_truthy(h->fields, h->n_fields) ? p->b : p->c;
		size_t from = out->n;
		if ((rc = pat__query(q, br, h->part, out)) < 0)
			return rc;
		if ((rc = pat__tickn(q, out->n - from)) < 0)
			return rc;
		for (size_t j = from; j < out->n; j++)
			if ((rc = pat__locs_union(q, h, &out->v[j], &out->v[j].locs,
						  &out->v[j].n_locs)) < 0)
				return rc;
	}
	return TT_OK;
}

/* ---- squeeze ---- */

/* focus(b, e): early(sam b).fast(1/(e-b)).late(b), built in the arena. */
static int focus(pmem *m, const pat *p, tt_span s, pat **out)
{
	tt_rat d, inv;
	pat *x;
	int rc;
	if ((rc = rat_sub(s.end, s.begin, &d)) < 0)
		return rc;
	if (d.n <= 0)
		return pat__silence(m, out);
	if ((rc = rat_div(rat_int(1), d, &inv)) < 0 ||
	    (rc = pat__early_r(m, p, rat_int(rat_floor(s.begin)), &x)) < 0 ||
	    (rc = pat__fast_r(m, x, inv, &x)) < 0)
		return rc;
	return pat__early_r(m, x, (tt_rat){ -s.begin.n, s.begin.d }, out);
}

/* Munges inner event j with outer event o (Strudel's squeezeJoin). */
static int squeeze_push(qctx *q, hlist *out, const tt_event *o, const tt_event *in,
			int op, bool swap)
{
	tt_event e = *in;
	int rc;
	bool keep = true;
	if (in->has_whole && o->has_whole) {
		if (!span_intersect(in->whole, o->whole, &e.whole))
			return TT_OK;
	} else {
		e.has_whole = false;
	}
	if (!span_intersect(in->part, o->part, &e.part))
		return TT_OK;
	if (op >= 0 &&
	    (rc = pat__value_op(q, op, swap ? in : o, swap ? o : in, &e.fields,
				&e.n_fields, &keep)) < 0)
		return rc;
	if (!keep)
		return TT_OK;
	if ((rc = pat__locs_union(q, in, o, &e.locs, &e.n_locs)) < 0)
		return rc;
	return pat__push(q, out, &e);
}

/* The inner pattern of a squeeze for outer event o. */
static int squeeze_inner(qctx *q, pmem *m, const pat *p, const tt_event *o,
			 const pat **inner, int *op)
{
	int rc;
	*op = -1;
	if (p->kind == K_RANGESEQ) {
		pat *r = pat__node(m, K_SQUEEZE);
		if (!r)
			return TT_ELIMIT;
		r->sub = 2; /* range bind */
		r->a = p->b;
		r->fields = o->fields;
		r->n_fields = o->n_fields;
		*inner = r;
		return TT_OK;
	}
	if (p->sub == 1) { /* ply: pure(x).fast(n) */
		pat *x = pat__node(m, K_PURE), *f;
		if (!x)
			return TT_ELIMIT;
		x->fields = o->fields;
		x->n_fields = o->n_fields;
		if ((rc = pat__fast_r(m, x, p->r1, &f)) < 0)
			return rc;
		*inner = f;
		return TT_OK;
	}
	(void)q;
	*inner = p->b; /* op squeeze: values combined with o's */
	*op = p->how;
	return TT_OK;
}

/* bpat.bind(b => fastcat(a..b)) for a = the node's value (mini "a .. b"). */
static int range_bind(qctx *q, const pat *p, tt_span span, hlist *out)
{
	hlist bl = { 0 };
	pmem m = { NULL, q->arena };
	double a, b;
	int rc = pat__query(q, p->a, span, &bl);
	if (rc < 0)
		return rc;
	if (!value_number(p->fields, p->n_fields, &a))
		return TT_OK;
	for (size_t i = 0; i < bl.n; i++) {
		hlist il = { 0 };
		double len;
		size_t n;
		pat **k, *seq;
		if (!value_number(bl.v[i].fields, bl.v[i].n_fields, &b))
			continue;
		len = (b > a ? b - a : a - b) + 1;
		if (len > TT_MAX_EVENTS_PER_CYCLE)
			return TT_ELIMIT;
		n = len >= 1 ? (size_t)len : 0; /* NaN: Array.from makes none */
		if (!(k = pat__qalloc(q, sizeof *k * (n ? n : 1))))
			return TT_ELIMIT;
		for (size_t j = 0; j < n; j++)
			if ((rc = pat__pure_num(&m, a < b ? a + (double)j
							  : a - (double)j,
						&k[j])) < 0)
				return rc;
		if ((rc = pat__cat(&m, K_SLOWCAT, k, n, &seq)) < 0 ||
		    (n > 1 && (rc = pat__fast_r(&m, seq, rat_int((int64_t)n), &seq)) < 0) ||
		    (rc = pat__query(q, seq, bl.v[i].part, &il)) < 0)
			return rc;
		for (size_t j = 0; j < il.n; j++) {
			tt_event e = il.v[j];
			if (e.has_whole && bl.v[i].has_whole) {
				if (!span_intersect(e.whole, bl.v[i].whole, &e.whole))
					continue;
			} else {
				e.has_whole = false;
			}
			if ((rc = pat__locs_union(q, &bl.v[i], &il.v[j], &e.locs,
						  &e.n_locs)) < 0 ||
			    (rc = pat__push(q, out, &e)) < 0)
				return rc;
		}
	}
	return TT_OK;
}

int pat__query_squeeze(qctx *q, const pat *p, tt_span span, hlist *out)
{
	hlist ol = { 0 };
	pmem m = { NULL, q->arena };
	int rc;
	if (p->kind == K_SQUEEZE && p->sub == 2)
		return range_bind(q, p, span, out);
	if ((rc = pat__query(q, p->a, span, &ol)) < 0)
		return rc;
	for (size_t i = 0; i < ol.n; i++) {
		const tt_event *o = &ol.v[i];
		const pat *inner;
		pat *f;
		hlist il = { 0 };
		int op;
		if (!o->has_whole)
			continue;
		if ((rc = squeeze_inner(q, &m, p, o, &inner, &op)) < 0 ||
		    (rc = focus(&m, inner, o->whole, &f)) < 0 ||
		    (rc = pat__query(q, f, o->part, &il)) < 0)
			return rc;
		for (size_t j = 0; j < il.n; j++)
			if ((rc = squeeze_push(q, out, o, &il.v[j], op, p->sub == 3)) < 0)
				return rc;
	}
	return TT_OK;
}

/* ---- the plain functions outside time ---- */

static int fn_combine(pmem *m, int pk, const parg *a, const pat *p,
		      const pat *fp, pat **out)
{
	pat *x, *rs;
	tt_rat r;
	int rc;
	switch (pk) {
	case P_INSIDE: case P_OUTSIDE:
		if (!a[0].is_num || rat_from_double(a[0].x, 10000000, &r) < 0)
			return pat__silence(m, out);
		if (pk == P_OUTSIDE) {
			if (r.n == 0)
				return pat__silence(m, out);
			if ((rc = rat_div(rat_int(1), r, &r)) < 0)
				return rc;
		}
		return pat__fast_r(m, fp, r, out);
	case P_OFF: return pat__stack2(m, p, fp, out);
	case P_JUXBY:
		if ((rc = pat__fmap(m, p, F_PAN_OFFSET, -a[0].x / 2, &x)) < 0)
			return rc;
		return pat__stack2(m, x, fp, out);
	case P_SOMETIMES:
		if ((rc = pat__randsig(m, rat_int(0), &rs)) < 0 ||
		    (rc = pat__degrade_with(m, p, rs, a[0].x, &x)) < 0 ||
		    (rc = pat__stack2(m, x, fp, &x)) < 0)
			return rc;
		return pat__split(m, x, out);
	case P_SOMECYCLES:
		if ((rc = pat__randsig(m, rat_int(0), &rs)) < 0 ||
		    (rc = pat__segment(m, rs, rat_int(1), &rs)) < 0 ||
		    (rc = pat__degrade_with(m, p, rs, a[0].x, &x)) < 0 ||
		    (rc = pat__stack2(m, x, fp, &x)) < 0)
			return rc;
		return pat__split(m, x, out);
	default: return TT_EINVAL;
	}
}

int pat__build_other(pmem *m, int pk, const parg *a, size_t n_args,
		     const pat *p, const pat *fp, pat **out)
{
	pat *x, *rs;
	int rc;
	for (size_t i = 0; i < n_args; i++) {
		if (a[i].is_num || pk == P_SCALE || pk == P_TRANSPOSE)
			continue;
		if (pk == P_EUCLID || pk == P_EUCLID_ROT || pk == P_EUCLID_LEG ||
		    pk == P_EUCLID_LEG_ROT || pk == P_SHUFFLE || pk == P_SCRAMBLE)
			return pat__throw(m, "expected a number");
		return pat__silence(m, out);
	}
	switch (pk) {
	case P_RANGE: return pat__range_plain(m, p, a[0].x, a[1].x, out);
	case P_RANGEX:
		if ((rc = pat__range_plain(m, p, log(a[0].x), log(a[1].x), &x)) < 0)
			return rc;
		return pat__fmap(m, x, F_EXP, 0, out);
	case P_RANGE2:
		if ((rc = pat__fmap(m, p, F_UNARY, 0, &x)) < 0)
			return rc;
		x->i1 = PAT_UN_FROM_BIPOLAR;
		return pat__range_plain(m, x, a[0].x, a[1].x, out);
	case P_DEGRADE: case P_UNDEGRADE:
		if ((rc = pat__randsig(m, rat_int(0), &rs)) < 0 ||
		    (rc = pat__degrade_with(m, p, rs, a[0].x, out)) < 0)
			return rc;
		(*out)->i1 = pk == P_UNDEGRADE;
		return TT_OK;
	case P_EUCLID: case P_EUCLID_ROT: case P_EUCLID_LEG: case P_EUCLID_LEG_ROT:
		return pat__euclid_plain(m, pk, a, p, out);
	case P_IRAND: return pat__irand_plain(m, a[0].x, out);
	case P_SHUFFLE: case P_SCRAMBLE:
		if (a[0].x != floor(a[0].x))
			return pat__throw(m, "shuffle: the number of parts must "
					  "be a whole number");
		if (fabs(a[0].x) > 4096)
			return pat__fail(m, TT_ELIMIT, "shuffle: too many parts");
		return pat__shuffle_plain(m, p, (int64_t)a[0].x, pk == P_SCRAMBLE, out);
	case P_SCALE: case P_TRANSPOSE:
		return pat__tonal_plain(m, pk, a, p, out);
	default: return fn_combine(m, pk, a, p, fp, out);
	}
}
