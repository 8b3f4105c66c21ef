/*
 * engine/pattern_query.c: the query engine: budget, event lists, spans,
 * values, and the dispatcher over node kinds (pattern_internal.h).
 *
 * Invariants:
 *  1. Only the caller's arena is allocated from (render-thread safe).
 *  2. Recursion depth is bounded by TT_MAX_QUERY_DEPTH, work (node visits,
 *     loop steps and events made, intermediate ones included) by
 *     TT_MAX_QUERY_WORK per queried cycle, final events by
 *     TT_MAX_EVENTS_PER_CYCLE per cycle.
 *  3. An event's fields and locs arrays are never written after the event
 *     is made; transformations make new arrays. Events themselves belong
 *     to the list holding them and may be rewritten by its owner.
 */
#include "engine/pattern_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

tt_rat rat_int(int64_t n)
{
	return (tt_rat){ n, 1 };
}

void *pat__qalloc(qctx *q, size_t size)
{
	return arena_alloc(q->arena, size);
}

int pat__tick(qctx *q)
{
	if (++q->work > q->budget)
		return TT_ELIMIT;
	return TT_OK;
}

int pat__tickn(qctx *q, size_t n)
{
	q->work += n;
	if (q->work > q->budget)
		return TT_ELIMIT;
	return TT_OK;
}

int pat__push(qctx *q, hlist *l, const tt_event *e)
{
	if (pat__tick(q) < 0)
		return TT_ELIMIT;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		tt_event *v = arena_alloc(q->arena, sizeof *v * cap);
		if (!v)
			return TT_ELIMIT;
		if (l->n)
			memcpy(v, l->v, sizeof *v * l->n);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *e;
	return TT_OK;
}

int pat__locs_union(qctx *q, const tt_event *a, const tt_event *b,
		    const tt_loc **out, uint32_t *n)
{
	if (b->n_locs == 0) {
		*out = a->locs;
		*n = a->n_locs;
		return TT_OK;
	}
	if (a->n_locs == 0) {
		*out = b->locs;
		*n = b->n_locs;
		return TT_OK;
	}
	tt_loc *l = arena_alloc(q->arena, sizeof *l * (a->n_locs + b->n_locs));
	if (!l)
		return TT_ELIMIT;
	memcpy(l, a->locs, sizeof *l * a->n_locs);
	memcpy(l + a->n_locs, b->locs, sizeof *l * b->n_locs);
	*out = l;
	*n = a->n_locs + b->n_locs;
	return TT_OK;
}

/* Strudel's TimeSpan.intersection: a zero-width result at the end of a
 * non-zero-width span does not count. */
bool span_intersect(tt_span a, tt_span b, tt_span *out)
{
	tt_rat lo = rat_cmp(a.begin, b.begin) >= 0 ? a.begin : b.begin;
	tt_rat hi = rat_cmp(a.end, b.end) <= 0 ? a.end : b.end;
	int c = rat_cmp(lo, hi);
	if (c > 0)
		return false;
	if (c == 0) {
		if (rat_eq(lo, a.end) && rat_cmp(a.begin, a.end) < 0)
			return false;
		if (rat_eq(lo, b.end) && rat_cmp(b.begin, b.end) < 0)
			return false;
	}
	out->begin = lo;
	out->end = hi;
	return true;
}

/* ---- values ---- */

static bool str_number(const char *s, double *out)
{
	char *end;
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (*s == '\0') {
		*out = 0;
		return true;
	}
	double x = strtod(s, &end);
	const char *e = end;
	while (*end == ' ' || *end == '\t' || *end == '\n')
		end++;
	if (*end != '\0' || end == s)
		return false;
	/* JavaScript's Number() knows "Infinity" but not strtod's "inf" or
	 * "nan" spellings */
	if (x != x || ((x > 1e308 || x < -1e308) &&
		       !(e - s >= 8 && strncmp(e - 8, "Infinity", 8) == 0)))
		return false;
	*out = x;
	return true;
}

/* A bare numeric value (Number(v) in JavaScript), else false. */
bool value_number(const tt_field *f, uint32_t n, double *out)
{
	if (n != 1 || f[0].key)
		return false;
	if (f[0].kind == TT_V_STR)
		return str_number(f[0].str, out);
	*out = f[0].num;
	return true;
}

bool value_truthy(const tt_field *f, uint32_t n)
{
	if (n != 1 || f[0].key)
		return true; /* objects and arrays */
	if (f[0].kind == TT_V_STR)
		return f[0].str[0] != '\0';
	return f[0].num != 0 && !isnan(f[0].num);
}

/* ---- leaf kinds ---- */

/* pure: one event per cycle piece of span (Strudel's spanCycles), whole
 * the piece's cycle. */
static int query_pure(qctx *q, const pat *p, tt_span span, hlist *out)
{
	tt_rat b = span.begin;
	int rc;
	for (;;) {
		tt_span piece, whole;
		tt_event e;
		int64_t sam = rat_floor(b);
		if ((rc = pat__tick(q)) < 0)
			return rc;
		whole.begin = rat_int(sam);
		if (sam == INT64_MAX)
			return TT_ERANGE;
		whole.end = rat_int(sam + 1);
		piece.begin = b;
		piece.end = rat_cmp(span.end, whole.end) < 0 ? span.end : whole.end;
		if (rat_cmp(b, span.end) == 0 && !rat_eq(b, span.begin))
			break;
		e.has_whole = true;
		e.whole = whole;
		e.part = piece;
		e.fields = p->fields;
		e.n_fields = p->n_fields;
		e.locs = p->locs;
		e.n_locs = p->n_locs;
		if ((rc = pat__push(q, out, &e)) < 0)
			return rc;
		if (rat_cmp(piece.end, span.end) >= 0)
			break;
		b = piece.end;
	}
	return TT_OK;
}

static int query_withloc(qctx *q, const pat *p, tt_span span, hlist *out)
{
	size_t from = out->n;
	int rc = pat__query(q, p->a, span, out);
	if (rc < 0)
		return rc;
	if ((rc = pat__tickn(q, out->n - from)) < 0)
		return rc;
	for (size_t i = from; i < out->n; i++) {
		tt_event loc = { .locs = p->locs, .n_locs = p->n_locs };
		if ((rc = pat__locs_union(q, &out->v[i], &loc, &out->v[i].locs,
					  &out->v[i].n_locs)) < 0)
			return rc;
	}
	return TT_OK;
}

static int query_stack(qctx *q, const pat *p, tt_span span, hlist *out)
{
	for (size_t i = 0; i < p->n_kids; i++) {
		int rc = pat__query(q, p->kids[i], span, out);
		if (rc < 0)
			return rc;
	}
	return TT_OK;
}

/* Shifts every event from index from by +off. */
static int shift_events(hlist *l, size_t from, tt_rat off)
{
	int rc;
	for (size_t i = from; i < l->n; i++) {
		tt_event *e = &l->v[i];
		if ((rc = rat_add(e->part.begin, off, &e->part.begin)) < 0 ||
		    (rc = rat_add(e->part.end, off, &e->part.end)) < 0)
			return rc;
		if (e->has_whole &&
		    ((rc = rat_add(e->whole.begin, off, &e->whole.begin)) < 0 ||
		     (rc = rat_add(e->whole.end, off, &e->whole.end)) < 0))
			return rc;
	}
	return TT_OK;
}

/* One cycle piece of slowcat: child (sam mod n), shifted so that no
 * cycle of the child is skipped. */
static int slowcat_piece(qctx *q, const pat *p, tt_span s, hlist *out)
{
	int64_t n = (int64_t)p->n_kids, sam = rat_floor(s.begin);
	int64_t idx = ((sam % n) + n) % n;
	tt_rat bdiv, off;
	tt_span sh;
	int rc;
	size_t from = out->n;
	if (p->kind == K_SLOWCAT_PRIME) {
		if (sam < 0 && sam % n != 0)
			return TT_OK;
		return pat__query(q, p->kids[idx], s, out);
	}
	if ((rc = rat_div(s.begin, rat_int(n), &bdiv)) < 0)
		return rc;
	off = rat_int(sam - rat_floor(bdiv));
	if ((rc = rat_sub(s.begin, off, &sh.begin)) < 0 ||
	    (rc = rat_sub(s.end, off, &sh.end)) < 0)
		return rc;
	if ((rc = pat__query(q, p->kids[idx], sh, out)) < 0 ||
	    (rc = pat__tickn(q, out->n - from)) < 0)
		return rc;
	return shift_events(out, from, off);
}

/* Strudel's splitQueries: calls piece() for each cycle piece of span. */
int pat__split_each(qctx *q, const pat *p, tt_span span, hlist *out,
		    pat_piece_fn piece)
{
	tt_rat b = span.begin;
	int rc;
	if (rat_eq(span.begin, span.end))
		return piece(q, p, span, out);
	while (rat_cmp(span.end, b) > 0) {
		tt_span s;
		int64_t sam = rat_floor(b);
		if ((rc = pat__tick(q)) < 0)
			return rc;
		if (sam == INT64_MAX)
			return TT_ERANGE;
		s.begin = b;
		s.end = rat_floor(span.end) == sam ? span.end : rat_int(sam + 1);
		if (rat_floor(span.end) == sam) {
			s.end = span.end;
			return piece(q, p, s, out);
		}
		if ((rc = piece(q, p, s, out)) < 0)
			return rc;
		b = s.end;
	}
	return TT_OK;
}

static int split_piece(qctx *q, const pat *p, tt_span s, hlist *out)
{
	return pat__query(q, p->a, s, out);
}

static int query_split(qctx *q, const pat *p, tt_span span, hlist *out)
{
	return pat__split_each(q, p, span, out, split_piece);
}

static int query_slowcat(qctx *q, const pat *p, tt_span span, hlist *out)
{
	return pat__split_each(q, p, span, out, slowcat_piece);
}

/* Split helper for other files: query child a of p per cycle piece. */
int pat__split(pmem *m, const pat *p, pat **out)
{
	pat *r = pat__node(m, K_SPLIT);
	if (!r)
		return m->pool ? TT_ENOMEM : TT_ELIMIT;
	r->a = (pat *)p;
	*out = r;
	return TT_OK;
}

int pat__query(qctx *q, const pat *p, tt_span span, hlist *out)
{
	int rc;
	if (rat_cmp(span.begin, span.end) > 0)
		return TT_OK;
	/* Every visit is work: a pattern that shares one node many times
	 * (stack(a, a, a) nested) would otherwise take exponential time. */
	if ((rc = pat__tick(q)) < 0)
		return rc;
	if (++q->depth > TT_MAX_QUERY_DEPTH) {
		q->depth--;
		return TT_ELIMIT;
	}
	switch (p->kind) {
	case K_SILENCE: rc = TT_OK; break;
	case K_PURE: rc = query_pure(q, p, span, out); break;
	case K_WITHLOC: rc = query_withloc(q, p, span, out); break;
	case K_STACK: rc = query_stack(q, p, span, out); break;
	case K_SLOWCAT:
	case K_SLOWCAT_PRIME: rc = query_slowcat(q, p, span, out); break;
	case K_SPLIT: rc = query_split(q, p, span, out); break;
	case K_FAST: case K_EARLY: case K_REV: case K_ZOOM: case K_FASTGAP:
	case K_REPEAT:
		rc = pat__query_time(q, p, span, out); break;
	case K_WHEN: rc = pat__query_when(q, p, span, out); break;
	case K_APP: case K_TAIL:
		rc = pat__query_app(q, p, span, out); break;
	case K_FMAP: rc = pat__query_fmap(q, p, span, out); break;
	case K_PATTERNIFY: rc = pat__query_patternify(q, p, span, out); break;
	case K_SQUEEZE: case K_RANGESEQ:
		rc = pat__query_squeeze(q, p, span, out); break;
	case K_SIGNAL:
		rc = pat__query_signal(q, p, span, out); break;
	case K_RANDSIG: case K_PERLIN: case K_DEGRADE: case K_CHOOSE:
	case K_SHUFFLE:
		rc = pat__query_rand(q, p, span, out); break;
	case K_SCALE: case K_VOICING: case K_ARP:
		rc = pat__query_tonal(q, p, span, out); break;
	default: rc = TT_EINVAL; break;
	}
	q->depth--;
	return rc;
}

int pat_query(const pat *p, tt_span span, tt_arena *arena, tt_event **events,
	      size_t *n_events)
{
	qctx q = { .arena = arena };
	hlist l = { 0 };
	tt_rat len;
	int64_t cycles = 1;
	int rc;
	*events = NULL;
	*n_events = 0;
	if ((rc = rat_sub(span.end, span.begin, &len)) < 0)
		return rc;
	if (rat_ceil(len) > 1)
		cycles = rat_ceil(len);
	if (cycles > INT64_MAX / TT_MAX_QUERY_WORK)
		return TT_ELIMIT;
	q.budget = (uint64_t)cycles * TT_MAX_QUERY_WORK;
	rc = pat__query(&q, p, span, &l);
	if (rc == PAT_ETHROW) {
		/* Strudel threw while querying and answers nothing at all. */
		l.n = 0;
		rc = TT_OK;
	}
	if (rc == TT_OK && l.n > (uint64_t)cycles * TT_MAX_EVENTS_PER_CYCLE)
		rc = TT_ELIMIT;
	*events = l.v;
	*n_events = l.n;
	return rc;
}
