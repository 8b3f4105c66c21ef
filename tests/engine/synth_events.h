/*
 * tests/engine/synth_events.h: hand-built event sources for the render
 * tests, answering through the same callback shape as program_query().
 *
 * A track is a list of events placed in cycle 0 (times as exact fractions);
 * with 'repeat' the list repeats every cycle, as a one-cycle pattern does.
 * A query returns every event whose whole intersects the span, with part =
 * whole intersected with the span, allocated in the arena: exactly what a
 * pattern query returns, so onset detection and no-retrigger are tested for
 * real.
 */
#ifndef TT_TESTS_SYNTH_EVENTS_H
#define TT_TESTS_SYNTH_EVENTS_H

#include <math.h>
#include <string.h>

#include "common/error.h"
#include "engine/arena.h"
#include "engine/event.h"
#include "engine/rational.h"
#include "engine/sched.h"

#define TEV_MAX_FIELDS 16
#define TSEQ_MAX 1100

typedef struct tev {
	int64_t bn, bd, en, ed; /* whole = [bn/bd, en/ed) */
	int nf;
	tt_field f[TEV_MAX_FIELDS];
} tev;

typedef struct tseq {
	tev ev[TSEQ_MAX];
	int n;
	int repeat;
	const char *name;
} tseq;

typedef struct tsrc {
	tseq tr[4];
	size_t n;
} tsrc;

__attribute__((unused))
static tev *tseq_add(tseq *s, int64_t bn, int64_t bd, int64_t en, int64_t ed)
{
	tev *e = &s->ev[s->n++];
	memset(e, 0, sizeof *e);
	e->bn = bn, e->bd = bd, e->en = en, e->ed = ed;
	return e;
}

__attribute__((unused))
static void tev_num(tev *e, const char *key, double v)
{
	tt_field *f = &e->f[e->nf++];
	f->key = key;
	f->kind = TT_V_NUM;
	f->num = v;
	f->str = NULL;
}

__attribute__((unused))
static void tev_str(tev *e, const char *key, const char *v)
{
	tt_field *f = &e->f[e->nf++];
	f->key = key;
	f->kind = TT_V_STR;
	f->num = 0;
	f->str = v;
}

static int tsrc_emit(const tev *t, int64_t cyc, tt_span span, tt_arena *a, tt_event *out,
		     int *emitted)
{
	tt_rat b, e, c;
	*emitted = 0;
	if (rat_make(cyc, 1, &c) < 0 || rat_make(t->bn, t->bd, &b) < 0 ||
	    rat_make(t->en, t->ed, &e) < 0 || rat_add(b, c, &b) < 0 || rat_add(e, c, &e) < 0)
		return TT_ERANGE;
	if (rat_cmp(e, span.begin) <= 0 || rat_cmp(b, span.end) >= 0)
		return TT_OK;
	out->has_whole = true;
	out->whole.begin = b;
	out->whole.end = e;
	out->part.begin = rat_cmp(b, span.begin) > 0 ? b : span.begin;
	out->part.end = rat_cmp(e, span.end) < 0 ? e : span.end;
	out->fields = arena_alloc(a, sizeof(tt_field) * (size_t)(t->nf ? t->nf : 1));
	if (!out->fields)
		return TT_ELIMIT;
	memcpy((void *)out->fields, t->f, sizeof(tt_field) * (size_t)t->nf);
	out->n_fields = (uint32_t)t->nf;
	out->locs = NULL;
	out->n_locs = 0;
	*emitted = 1;
	return TT_OK;
}

__attribute__((unused))
static int tsrc_query(void *ctx, size_t track, tt_span span, tt_arena *a, tt_event **events,
		      size_t *n_events)
{
	const tseq *s = &((tsrc *)ctx)->tr[track];
	int64_t c0 = s->repeat ? rat_floor(span.begin) : 0;
	int64_t c1 = s->repeat ? rat_ceil(span.end) : 1;
	size_t cap = (size_t)s->n * (size_t)(c1 - c0 + 1) + 1, n = 0;
	tt_event *ev = arena_alloc(a, cap * sizeof *ev);
	if (!ev)
		return TT_ELIMIT;
	for (int64_t c = c0; c < c1; c++)
		for (int i = 0; i < s->n; i++) {
			int got, rc = tsrc_emit(&s->ev[i], c, span, a, &ev[n], &got);
			if (rc < 0)
				return rc;
			n += (size_t)got;
		}
	*events = ev;
	*n_events = n;
	return TT_OK;
}

__attribute__((unused))
static const char *tsrc_name(void *ctx, size_t track)
{
	const char *n = ((tsrc *)ctx)->tr[track].name;
	return n ? n : "";
}

__attribute__((unused))
static sched_source tsrc_source(tsrc *s)
{
	sched_source src = { tsrc_query, tsrc_name, s, s->n };
	return src;
}

/* Frequency from upward zero crossings of the left channel of interleaved
 * stereo x in frames [a, b), interpolated to a fraction of a sample. */
__attribute__((unused))
static double freq_of(const float *x, int64_t a, int64_t b)
{
	double first = -1, last = -1;
	int n = 0;
	for (int64_t i = a + 1; i < b; i++) {
		float p = x[2 * (i - 1)], q = x[2 * i];
		if (p < 0 && q >= 0) {
			double at = (double)(i - 1) + p / (p - q);
			if (first < 0)
				first = at;
			else
				n++;
			last = at;
		}
	}
	return n > 0 ? n * 48000.0 / (last - first) : 0;
}

#endif
