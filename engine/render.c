/*
 * engine/render.c: the render loop (see render.h).
 *
 * Design:
 *  1. Time advances in whole blocks of RENDER_BLOCK frames, rendered into
 *     obuf and handed out as the caller asks: whatever n a caller uses, the
 *     scheduler and the voices see the same blocks, so output does not
 *     depend on how a render is cut.
 *  2. Per block: onsets (sched) -> voice parameters (synth_params) -> voices
 *     started at their frame offsets -> voice buses -> orbit effects -> sum
 *     -> limiter. The scheduler runs once per block; voices and effects run
 *     in slices of VOICE_BLOCK_MAX frames (cache-sized). Orbit settings
 *     carried by an event (delaytime, delayfeedback, size) take effect at
 *     the start of its slice.
 *  3. Every buffer is allocated in render_new(); render_block() touches only
 *     memory it owns, and sets flush-to-zero/denormals-are-zero for its
 *     duration (restoring the caller's mode) so no denormal slows the mix.
 *  4. The limiter delays its input by FX_LIMITER_LOOKAHEAD frames, so the
 *     scheduler and voices run that many frames ahead of the output: an
 *     event at stream frame f is heard at output frame f exactly.
 */
#include "engine/render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "common/error.h"
#include "engine/fx.h"
#include "engine/rtguard.h"
#include "engine/synth_params.h"

/* Headroom before the limiter (-4.4 dB): one voice at full gain stays clear
 * of it, and a four-part mix at the default gains is limited only on its
 * peaks, not pumped. */
#define RENDER_MASTER_GAIN 0.6f

struct render {
	sched sch;
	voice_pool *pool;
	fx_orbit *orbit[TT_MAX_ORBITS];
	fx_limiter lim;
	tt_arena arena;
	void *arena_mem;
	const sampler *bank;
	render_onset_fn hook;
	void *hook_ctx;
	sched_onset onsets[TT_MAX_ONSETS_PER_BLOCK];
	size_t n_onsets;           /* of the last block scheduled */
	float mix[2][VOICE_BLOCK_MAX];
	int64_t frame;       /* frames delivered */
	int64_t block_frame; /* first frame of the next block to render */
	float obuf[2 * RENDER_BLOCK];
	int opos;            /* frames of obuf delivered */
	bool primed;
	render_stats st;
	/* Direct events (render_trigger): queued for the next block, and the
	 * copies the onsets of the block scheduled last point at. */
	direct_event dq[RENDER_MAX_DIRECT];
	int64_t dq_frame[RENDER_MAX_DIRECT];
	size_t n_dq;
	direct_event dcur[RENDER_MAX_DIRECT];
	tt_event dview[RENDER_MAX_DIRECT];
	tt_field dfields[RENDER_MAX_DIRECT][TT_MAX_DIRECT_FIELDS];
};

void render_config_default(render_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->cps = 0.5;
	cfg->arena_bytes = 4u << 20;
}

int render_new(const render_config *cfg, render **out)
{
	render_config def;
	render *r;
	int rc = TT_ENOMEM;
	if (!cfg) {
		render_config_default(&def);
		cfg = &def;
	}
	r = calloc(1, sizeof *r);
	if (!r)
		return TT_ENOMEM;
	r->arena_mem = malloc(cfg->arena_bytes ? cfg->arena_bytes : 4u << 20);
	if (!r->arena_mem)
		goto out;
	arena_init(&r->arena, r->arena_mem, cfg->arena_bytes ? cfg->arena_bytes : 4u << 20);
	rc = voice_pool_new(&r->pool);
	for (int o = 0; rc == TT_OK && o < TT_MAX_ORBITS; o++)
		rc = fx_orbit_new(&r->orbit[o]);
	if (rc < 0)
		goto out;
	sched_init(&r->sch, cfg->cps);
	fx_limiter_init(&r->lim);
	r->bank = cfg->bank;
	r->opos = RENDER_BLOCK;
	*out = r;
	return TT_OK;
out:
	render_free(r);
	return rc;
}

void render_free(render *r)
{
	if (!r)
		return;
	voice_pool_free(r->pool);
	for (int o = 0; o < TT_MAX_ORBITS; o++)
		fx_orbit_free(r->orbit[o]);
	free(r->arena_mem);
	free(r);
}

void render_set_onset_hook(render *r, render_onset_fn fn, void *ctx)
{
	r->hook = fn;
	r->hook_ctx = ctx;
}

void render_set_source(render *r, const sched_source *src)
{
	sched_set_source(&r->sch, src);
}

void render_set_source_at(render *r, const sched_source *src, int64_t frame)
{
	sched_set_source_at(&r->sch, src, frame);
}

bool render_switch_pending(const render *r)
{
	return sched_switch_pending(&r->sch);
}

int render_set_cps(render *r, double cps)
{
	return sched_set_cps(&r->sch, r->block_frame + FX_LIMITER_LOOKAHEAD, cps);
}

void render_hush(render *r, bool on)
{
	sched_hush(&r->sch, on);
	if (on)
		voice_pool_release_all(r->pool);
}

sched *render_sched(render *r)
{
	return &r->sch;
}

int64_t render_frame(const render *r)
{
	return r->frame;
}

/* Starts the voices of the onsets whose offset is in [from, to), at their
 * offset within that slice. */
static void start_voices(render *r, size_t n, int from, int to)
{
	for (size_t i = 0; i < n; i++) {
		const sched_onset *o = &r->onsets[i];
		synth_params sp;
		int rc;
		if (o->offset < from || o->offset >= to)
			continue;
		rc = synth_params_from_event(o->ev, r->bank, o->dur_sec, o->clipped, o->seed, &sp);
		if (r->hook)
			r->hook(r->hook_ctx, o, rc == TT_OK);
		if (rc == TT_ENOTFOUND) {
			r->st.missing++;
			continue;
		}
		if (rc < 0) {
			r->st.unplayable++;
			continue;
		}
		if (sp.has_delaytime || sp.has_delayfeedback)
			fx_orbit_set_delay(r->orbit[sp.orbit], sp.delaytime, sp.delayfeedback);
		if (sp.has_size)
			fx_orbit_set_size(r->orbit[sp.orbit], sp.size);
		voice_pool_start(r->pool, &sp, o->offset - from);
		r->st.voices++;
	}
}

/* Sums the orbits' dry buses and effect returns of the last voice slice
 * (n frames) into out, interleaved. */
static void mix_orbits(render *r, uint32_t used, int n, float *out)
{
	memset(r->mix, 0, sizeof r->mix);
	for (int o = 0; o < TT_MAX_ORBITS; o++) {
		uint32_t b = used >> (o * VOICE_N_BUSES);
		const float *dl = NULL, *dr = NULL, *rl = NULL, *rr = NULL;
		if (b & (1u << VOICE_BUS_DRY)) {
			const float *l = voice_pool_bus(r->pool, o, VOICE_BUS_DRY, 0);
			const float *rt = voice_pool_bus(r->pool, o, VOICE_BUS_DRY, 1);
			for (int t = 0; t < n; t++) {
				r->mix[0][t] += l[t];
				r->mix[1][t] += rt[t];
			}
		}
		if (b & (1u << VOICE_BUS_DELAY)) {
			dl = voice_pool_bus(r->pool, o, VOICE_BUS_DELAY, 0);
			dr = voice_pool_bus(r->pool, o, VOICE_BUS_DELAY, 1);
		}
		if (b & (1u << VOICE_BUS_ROOM)) {
			rl = voice_pool_bus(r->pool, o, VOICE_BUS_ROOM, 0);
			rr = voice_pool_bus(r->pool, o, VOICE_BUS_ROOM, 1);
		}
		fx_orbit_process(r->orbit[o], dl, dr, rl, rr, n, r->mix[0], r->mix[1]);
	}
	for (int t = 0; t < n; t++) {
		out[2 * t] = r->mix[0][t] * RENDER_MASTER_GAIN;
		out[2 * t + 1] = r->mix[1][t] * RENDER_MASTER_GAIN;
	}
}

void render_window(const render *r, int64_t *from, int64_t *to)
{
	*from = r->block_frame + FX_LIMITER_LOOKAHEAD;
	*to = *from + RENDER_BLOCK;
}

int render_trigger(render *r, const direct_event *ev, int64_t frame, int64_t *at)
{
	int64_t from, to;

	render_window(r, &from, &to);
	if (frame >= to)
		return TT_EAGAIN;
	if (r->n_dq >= RENDER_MAX_DIRECT)
		return TT_ELIMIT;
	if (frame < from)
		frame = from;
	r->dq[r->n_dq] = *ev;
	r->dq_frame[r->n_dq++] = frame;
	if (at)
		*at = frame;
	return TT_OK;
}

/* Appends the queued direct events to the block's onsets (after the
 * pattern's, up to TT_MAX_ONSETS_PER_BLOCK; the rest are counted as the
 * scheduler's drops) and empties the queue. */
static size_t add_direct(render *r, int64_t sf, size_t got)
{
	for (size_t i = 0; i < r->n_dq; i++) {
		sched_onset *o = &r->onsets[got];
		if (got >= TT_MAX_ONSETS_PER_BLOCK) {
			r->sch.st.dropped++;
			continue;
		}
		r->dcur[i] = r->dq[i];
		direct_event_view(&r->dcur[i], &r->dview[i], r->dfields[i]);
		o->ev = &r->dview[i];
		o->track = RENDER_DIRECT_TRACK;
		o->frame = r->dq_frame[i];
		o->offset = (int)(o->frame - sf);
		o->dur_sec = r->dcur[i].dur_sec;
		o->clipped = r->dcur[i].clipped;
		o->seed = direct_event_seed(&r->dcur[i], o->frame);
		got++;
	}
	r->n_dq = 0;
	return got;
}

/* Runs the scheduler once for stream frames [sf, sf + n), the voices in
 * slices of VOICE_BLOCK_MAX frames, and pushes the mix through the limiter
 * into out (which lags by the look-ahead). direct: this is the block
 * render_window() announced, which starts the queued direct events. */
static void render_stage(render *r, int64_t sf, float *out, int n, bool direct)
{
	size_t got = sched_block(&r->sch, sf, n, &r->arena, r->onsets, TT_MAX_ONSETS_PER_BLOCK);
	if (direct)
		got = add_direct(r, sf, got);
	r->n_onsets = got;
	for (int s0 = 0; s0 < n; s0 += VOICE_BLOCK_MAX) {
		int k = n - s0 < VOICE_BLOCK_MAX ? n - s0 : VOICE_BLOCK_MAX;
		uint32_t used;
		start_voices(r, got, s0, s0 + k);
		used = voice_pool_render(r->pool, k);
		mix_orbits(r, used, k, out + 2 * s0);
	}
	fx_limiter_process(&r->lim, out, n);
}

/* Renders the next whole block into r->obuf (invariant 1). */
static void render_next(render *r)
{
	if (!r->primed) { /* invariant 4: fill the look-ahead with frames 0..L-1 */
		float pre[2 * FX_LIMITER_LOOKAHEAD];
		render_stage(r, 0, pre, FX_LIMITER_LOOKAHEAD, false);
		r->primed = true;
	}
	render_stage(r, r->block_frame + FX_LIMITER_LOOKAHEAD, r->obuf, RENDER_BLOCK, true);
	r->block_frame += RENDER_BLOCK;
	r->opos = 0;
}

void render_block(render *r, float *out, int n)
{
#if defined(__SSE__)
	unsigned int csr = _mm_getcsr();
	_mm_setcsr(csr | 0x8040); /* FTZ | DAZ */
#endif
#ifdef TT_DEBUG
	rtguard_enter();
#endif
	while (n > 0) {
		int k;
		if (r->opos == RENDER_BLOCK)
			render_next(r);
		k = RENDER_BLOCK - r->opos < n ? RENDER_BLOCK - r->opos : n;
		memcpy(out, r->obuf + 2 * r->opos, sizeof(float) * 2 * (size_t)k);
		r->opos += k;
		r->frame += k;
		r->st.frames += (uint64_t)k;
		out += 2 * k;
		n -= k;
	}
#ifdef TT_DEBUG
	rtguard_leave();
#endif
#if defined(__SSE__)
	_mm_setcsr(csr);
#endif
}

void render_stats_get(const render *r, render_stats *out)
{
	voice_stats vs;
	*out = r->st;
	voice_pool_stats(r->pool, &vs);
	out->stolen = vs.stolen;
	out->killed = vs.killed;
	out->active = vs.active;
	out->min_gain = r->lim.min_gain;
	out->sched = r->sch.st;
}

size_t render_onsets(const render *r, const sched_onset **out)
{
	*out = r->onsets;
	return r->n_onsets;
}
