/*
 * engine/sched.c: tempo map and per-block event dispatch (see sched.h).
 *
 * Design:
 *  1. A tempo segment (frame f0, cycle c0, cps) maps frame f to the exact
 *     cycle c0 + (f - f0) * cps / 48000 and cycle c to the exact frame
 *     f0 + (c - c0) * 48000 / cps; both are tt_rat, so cycle(frame) is
 *     reproducible and an onset's frame is the floor of an exact rational
 *     (within one sample of the true time, never after it).
 *  2. A block [F, F+n) is cut at tempo-segment boundaries; each piece [a, b)
 *     queries the cycle span [cycle(a), cycle(b)). Spans of consecutive
 *     pieces and blocks tile the timeline, so every onset is seen exactly
 *     once, whatever the block size. Only events with an onset in the span
 *     start a voice (Strudel's hasOnset).
 *     A source switch (sched_set_source_at) cuts the block the same way.
 *  3. At most TT_MAX_ONSETS_PER_BLOCK onsets per block; the rest are counted
 *     as dropped.
 *  4. A voice's seed is a hash of the event itself (track, whole, fields), so
 *     noise is the same on every render of the same program.
 */
#include "engine/sched.h"

#include <math.h>
#include <string.h>

#include "common/error.h"

void sched_init(sched *s, double cps)
{
	memset(s, 0, sizeof *s);
	s->n_seg = 1;
	s->seg[0].frame = 0;
	s->seg[0].cycle = TT_RAT(0, 1);
	if (!(cps > 0.0) || !isfinite(cps))
		cps = 0.5;
	if (rat_from_double(cps < 0.01 ? 0.01 : cps > 100 ? 100 : cps, 10000, &s->seg[0].cps) < 0 ||
	    s->seg[0].cps.n <= 0)
		s->seg[0].cps = TT_RAT(1, 2);
}

void sched_set_source(sched *s, const sched_source *src)
{
	s->has_next = false; /* an immediate install replaces a pending one */
	if (src)
		s->src = *src;
	else
		memset(&s->src, 0, sizeof s->src);
}

void sched_set_source_at(sched *s, const sched_source *src, int64_t frame)
{
	if (src)
		s->next = *src;
	else
		memset(&s->next, 0, sizeof s->next);
	s->next_frame = frame;
	s->has_next = true;
}

bool sched_switch_pending(const sched *s)
{
	return s->has_next;
}

static int seg_cycle(const sched_segment *g, int64_t frame, tt_rat *out)
{
	tt_rat d;
	int rc = rat_make(frame - g->frame, 1, &d);
	if (rc == TT_OK)
		rc = rat_mul(d, g->cps, &d);
	if (rc == TT_OK)
		rc = rat_div(d, TT_RAT(SCHED_RATE, 1), &d);
	if (rc == TT_OK)
		rc = rat_add(g->cycle, d, out);
	return rc;
}

static const sched_segment *seg_for_frame(const sched *s, int64_t frame)
{
	int i = s->n_seg - 1;
	while (i > 0 && s->seg[i].frame > frame)
		i--;
	return &s->seg[i];
}

static const sched_segment *seg_for_cycle(const sched *s, tt_rat c)
{
	int i = s->n_seg - 1;
	while (i > 0 && rat_cmp(s->seg[i].cycle, c) > 0)
		i--;
	return &s->seg[i];
}

int sched_cycle_at(const sched *s, int64_t frame, tt_rat *cycle)
{
	return seg_cycle(seg_for_frame(s, frame), frame, cycle);
}

int sched_frame_at(const sched *s, tt_rat cycle, int64_t *frame)
{
	const sched_segment *g = seg_for_cycle(s, cycle);
	tt_rat d;
	int rc = rat_sub(cycle, g->cycle, &d);
	if (rc == TT_OK)
		rc = rat_mul(d, TT_RAT(SCHED_RATE, 1), &d);
	if (rc == TT_OK)
		rc = rat_div(d, g->cps, &d);
	if (rc == TT_OK)
		*frame = g->frame + rat_floor(d);
	return rc;
}

double sched_cps_at(const sched *s, int64_t frame)
{
	return rat_to_double(seg_for_frame(s, frame)->cps);
}

int sched_set_cps(sched *s, int64_t frame, double cps)
{
	tt_rat r;
	int rc;
	if (!(cps > 0.0) || !isfinite(cps))
		return TT_EINVAL;
	rc = rat_from_double(cps < 0.01 ? 0.01 : cps > 100 ? 100 : cps, 10000, &r);
	if (rc < 0)
		return rc;
	return sched_set_cps_exact(s, frame, r);
}

int sched_set_cps_exact(sched *s, int64_t frame, tt_rat cps)
{
	sched_segment g;
	sched_segment *last = &s->seg[s->n_seg - 1];
	int rc;
	if (cps.n <= 0 || cps.d <= 0)
		return TT_EINVAL;
	if (frame < last->frame)
		return TT_EINVAL;
	g.frame = frame;
	g.cps = cps;
	rc = seg_cycle(last, frame, &g.cycle);
	if (rc < 0) /* exactness lost to overflow: keep time continuous anyway */
		rc = rat_from_double(rat_to_double(last->cycle) + (double)(frame - last->frame) *
				     rat_to_double(last->cps) / SCHED_RATE, 1 << 20, &g.cycle);
	if (rc < 0)
		return rc;
	if (frame == last->frame) {
		*last = g;
		return TT_OK;
	}
	if (s->n_seg >= SCHED_MAX_SEGMENTS)
		return TT_ELIMIT;
	s->seg[s->n_seg++] = g;
	return TT_OK;
}

/* ---- tracks ---- */

static sched_flag *flag_get(sched *s, const char *name, bool create)
{
	for (int i = 0; i < s->n_flags; i++)
		if (strcmp(s->flags[i].name, name) == 0)
			return &s->flags[i];
	if (!create || s->n_flags >= TT_MAX_TRACK_FLAGS || strlen(name) >= sizeof s->flags[0].name)
		return NULL;
	memset(&s->flags[s->n_flags], 0, sizeof s->flags[0]);
	strncpy(s->flags[s->n_flags].name, name, sizeof s->flags[0].name - 1);
	return &s->flags[s->n_flags++];
}

static int set_flag(sched *s, const char *name, bool on, bool solo)
{
	sched_flag *f = flag_get(s, name, on);
	if (!f)
		return on ? TT_ELIMIT : TT_OK;
	if (solo)
		f->solo = on;
	else
		f->mute = on;
	if (!f->mute && !f->solo) /* keep the table small: drop cleared names */
		*f = s->flags[--s->n_flags];
	return TT_OK;
}

int sched_mute(sched *s, const char *name, bool on)
{
	return set_flag(s, name, on, false);
}

int sched_solo(sched *s, const char *name, bool on)
{
	return set_flag(s, name, on, true);
}

void sched_hush(sched *s, bool on)
{
	s->hushed = on;
}

bool sched_track_audible(const sched *s, size_t track)
{
	const char *name = s->src.name ? s->src.name(s->src.ctx, track) : NULL;
	bool any_solo = false;
	if (s->hushed)
		return false;
	for (int i = 0; i < s->n_flags; i++)
		any_solo |= s->flags[i].solo;
	for (int i = 0; name && i < s->n_flags; i++)
		if (strcmp(s->flags[i].name, name) == 0)
			return any_solo ? s->flags[i].solo : !s->flags[i].mute;
	return !any_solo;
}

/* ---- blocks ---- */

static uint32_t mix32(uint32_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (uint32_t)(v >> (8 * i)) & 0xffu;
		h *= 16777619u;
	}
	return h;
}

static uint32_t event_seed(const tt_event *e, size_t track)
{
	uint32_t h = 2166136261u;
	h = mix32(h, track);
	h = mix32(h, (uint64_t)e->whole.begin.n);
	h = mix32(h, (uint64_t)e->whole.begin.d);
	h = mix32(h, (uint64_t)e->whole.end.n);
	h = mix32(h, (uint64_t)e->whole.end.d);
	for (uint32_t i = 0; i < e->n_fields; i++) {
		const tt_field *f = &e->fields[i];
		uint64_t bits;
		memcpy(&bits, &f->num, sizeof bits);
		h = mix32(h, f->kind == TT_V_STR ? 0 : bits);
		for (const char *p = f->kind == TT_V_STR && f->str ? f->str : ""; *p; p++)
			h = mix32(h, (unsigned char)*p);
	}
	return h;
}

static void fill_onset(sched *s, const tt_event *e, size_t track, int64_t a, int64_t b,
		       int64_t block, sched_onset *o)
{
	const tt_field *clip = event_field(e, "clip");
	double len, c = 1.0;
	int64_t x;
	if (!clip)
		clip = event_field(e, "legato");
	if (clip && clip->kind != TT_V_STR && isfinite(clip->num))
		c = clip->num < 0 ? 0 : clip->num > 1000 ? 1000 : clip->num;
	if (sched_frame_at(s, e->whole.begin, &x) < 0) {
		s->st.time_errors++;
		x = a;
	}
	x = x < a ? a : x >= b ? b - 1 : x; /* rounding can only be off by one */
	len = rat_to_double(e->whole.end) - rat_to_double(e->whole.begin);
	o->ev = e;
	o->track = track;
	o->frame = x;
	o->offset = (int)(x - block);
	o->dur_sec = len * c / sched_cps_at(s, x);
	o->clipped = clip != NULL;
	o->seed = event_seed(e, track);
}

static size_t query_piece(sched *s, int64_t a, int64_t b, int64_t block, tt_arena *arena,
			  sched_onset *out, size_t n, size_t cap)
{
	tt_span span;
	if (sched_cycle_at(s, a, &span.begin) < 0 || sched_cycle_at(s, b, &span.end) < 0) {
		s->st.time_errors++;
		return n;
	}
	for (size_t t = 0; t < s->src.n_tracks; t++) {
		tt_event *ev = NULL;
		size_t ne = 0;
		int rc;
		if (!sched_track_audible(s, t))
			continue;
		rc = s->src.query(s->src.ctx, t, span, arena, &ev, &ne);
		if (rc < 0) {
			s->st.query_errors++;
			if (rc != TT_ELIMIT)
				continue;
		}
		for (size_t i = 0; i < ne; i++) {
			if (!event_has_onset(&ev[i]))
				continue;
			if (n >= cap) {
				s->st.dropped++;
				continue;
			}
			fill_onset(s, &ev[i], t, a, b, block, &out[n++]);
		}
	}
	return n;
}

size_t sched_block(sched *s, int64_t frame, int n, tt_arena *arena, sched_onset *out,
		   size_t cap)
{
	size_t got = 0;
	int64_t a = frame, end = frame + n;
	if (cap > TT_MAX_ONSETS_PER_BLOCK)
		cap = TT_MAX_ONSETS_PER_BLOCK;
	/* Forget segments wholly in the past. */
	while (s->n_seg > 1 && s->seg[1].frame <= frame) {
		memmove(&s->seg[0], &s->seg[1], (size_t)(s->n_seg - 1) * sizeof s->seg[0]);
		s->n_seg--;
	}
	arena_reset(arena);
	if (n <= 0)
		return 0;
	while (a < end) {
		int64_t b = end;
		if (s->has_next && s->next_frame <= a) { /* a pending source lands */
			s->src = s->next;
			s->has_next = false;
		}
		if (s->has_next && s->next_frame > a && s->next_frame < b)
			b = s->next_frame;
		for (int i = 0; i < s->n_seg; i++)
			if (s->seg[i].frame > a && s->seg[i].frame < b)
				b = s->seg[i].frame;
		if (s->src.query)
			got = query_piece(s, a, b, frame, arena, out, got, cap);
		a = b;
	}
	s->st.onsets += got;
	return got;
}
