/*
 * engine/voice.c: the voice pool (see voice.h for the contract).
 *
 * Design: structure-of-arrays, lanes = voices. TT_MAX_VOICES voices are
 * split into groups of SIMD_LANES; a group's state is one vector per
 * quantity (phase, filter states, envelope...), so each line of the sample
 * loop advances 16 voices at once. Control-rate work (envelopes, filter
 * coefficients) happens every CR frames, per lane in scalar code or across
 * lanes in vectors; audio-rate work is branch-free vector code.
 *
 * Invariants:
 *  1. A lane that is not active has every output gain at 0, so it adds
 *     nothing however its state looks; a lane is reset when it starts.
 *  2. A voice is silent before its onset frame: within the CR block where it
 *     starts, a gate mask holds its phase, noise and envelope still and
 *     zeroes its output until the exact frame (voice_pool_start's offset).
 *     Output therefore does not depend on how a render is cut into blocks.
 *  3. The envelope is a closed-form function of the voice's age in frames,
 *     evaluated at CR boundaries and ramped linearly in between; a voice is
 *     freed when its age passes note-off + release, where the ramp is at 0.
 *  4. A group's 'kinds' and 'flags' are the union over its active lanes; the
 *     sample loop computes only what some lane of the group uses. Voices are
 *     placed in a group of the same source and orbit when one has room, else
 *     in any started group, and only then in an empty one: a group costs
 *     nearly the same with 1 lane as with 16.
 *  5. Filter states are checked every block: a non-finite or runaway lane is
 *     reset and counted (it cannot happen with clamped parameters; this is
 *     the last line of defence for the mix).
 *  6. The common case has its own loop (saw_lp_loop: every lane a sawtooth
 *     through the low-pass, mixed straight into one orbit's dry bus); it
 *     computes exactly what synth_loop would, bit for bit, only with fewer
 *     instructions. Everything else goes through synth_loop.
 */
#include "engine/voice.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "engine/synth_simd.h"

#define LANES SIMD_LANES
#define NGROUPS (TT_MAX_VOICES / LANES)
#define CR 64 /* control period in frames (scsynth's control block too) */
#define SR ((float)SYNTH_RATE)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(TT_DEBUG)
#define VOICE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VOICE_CLONES
#endif

enum {
	F_LP = 1 << 0, F_HP = 1 << 1, F_BP = 1 << 2, F_VOWEL = 1 << 3,
	F_SHAPE = 1 << 4, F_DIST = 1 << 5, F_CRUSH = 1 << 6, F_COARSE = 1 << 7,
	F_DELAY = 1 << 8, F_ROOM = 1 << 9, F_LPENV = 1 << 10,
	F_LPALL = 1 << 11 /* every active lane filters: no select needed */
};

#define OSC_KINDS ((1u << SYNTH_SINE) | (1u << SYNTH_SAW) | (1u << SYNTH_SQUARE) | (1u << SYNTH_TRI))

/* An envelope in frames: segments a, d, r (>= 1) with their reciprocals
 * (multiplying is cheaper than dividing at control rate), sustain level s,
 * and the level reached at note-off. */
typedef struct adsr {
	int64_t a, d, r;
	float ra, rd, rr;
	float s, level_off;
} adsr;

typedef struct lane {
	uint8_t active, src, orbit;
	uint64_t serial;
	int64_t age;            /* frames since onset at the next frame rendered */
	int64_t hold, end;      /* note-off age; age at which the voice is freed */
	adsr env, fenv;         /* amplitude and filter envelopes */
	const float *data;      /* sample source */
	int64_t pos, lo, hi;
	float frac, rate;
} lane;

/* State-variable filter coefficients in the low-latency form of svf_step:
 * from g = tan(pi fc / sr) and k = 1/Q, a1 = 1/(1 + g(g + k)), a2 = g a1,
 * a3 = g a2; c11 = 2a1 - 1, c1x = 2a2, c22 = 1 - 2a3, c2x = 2a3. */
typedef struct svfc {
	vf c11, c1x, c22, c2x;
} svfc;

typedef struct group {
	vf phase, inc, rinc;
	vu rng;
	vf pk0, pk1, pk2, brn;
	vf lp1, lp2, lpk, lpcut, lpenv;
	vf hp1, hp2, hpk;
	svfc hpc;
	vf bp1, bp2, bpk;
	svfc bpc;
	vf vw1[5], vw2[5], vwg[5];
	svfc vwc[5];
	vf env;                 /* envelope x gain: the level before filters */
	vf gain, gl, gr, gld, grd, glr, grr; /* gl/gr: postgain x pan; d/r: sends */
	vf shapek, distd, crushq, held;
	vi ccnt, cn;
	vi m_src[SYNTH_N_SOURCES];
	vi m_lp, m_hp, m_bp, m_vowel, m_shape, m_dist, m_crush, m_coarse;
	uint32_t kinds, flags, orbits;
	int n_active;
	lane l[LANES];
} group;

struct voice_pool {
	group g[NGROUPS];
	vf acc[TT_MAX_ORBITS][VOICE_N_BUSES][2][VOICE_BLOCK_MAX];
	float bus[TT_MAX_ORBITS][VOICE_N_BUSES][2][VOICE_BLOCK_MAX];
	uint64_t serial;
	voice_stats st;
};

/* Formants of the five vowels: frequency (Hz), level (dB), bandwidth (Hz),
 * textbook values for an adult voice. */
static const float formants[5][5][3] = {
	{ { 800, 0, 80 }, { 1150, -6, 90 }, { 2900, -32, 120 }, { 3900, -20, 130 }, { 4950, -50, 140 } },
	{ { 400, 0, 60 }, { 1600, -24, 80 }, { 2700, -30, 120 }, { 3300, -35, 150 }, { 4950, -60, 200 } },
	{ { 250, 0, 60 }, { 1750, -30, 90 }, { 2600, -16, 100 }, { 3050, -22, 120 }, { 3340, -28, 120 } },
	{ { 400, 0, 40 }, { 750, -11, 80 }, { 2400, -21, 100 }, { 2600, -20, 120 }, { 2900, -40, 120 } },
	{ { 350, 0, 40 }, { 600, -20, 80 }, { 2400, -32, 100 }, { 2675, -28, 120 }, { 2950, -36, 120 } },
};

int voice_pool_new(voice_pool **out)
{
	voice_pool *p = aligned_alloc(64, (sizeof(voice_pool) + 63) / 64 * 64);
	if (!p)
		return TT_ENOMEM;
	memset(p, 0, sizeof *p);
	*out = p;
	return TT_OK;
}

void voice_pool_free(voice_pool *p)
{
	free(p);
}

static inline void lset(vf *v, int i, float x)
{
	((float *)v)[i] = x;
}

static inline void iset(vi *v, int i, int32_t x)
{
	((int32_t *)v)[i] = x;
}

/* ---- envelopes (closed form, invariant 3) ---- */

SIMD_INLINE float ad_at(const adsr *e, int64_t age)
{
	if (age <= 0)
		return 0.0f;
	if (age < e->a)
		return (float)age * e->ra;
	if (age < e->a + e->d)
		return 1.0f - (1.0f - e->s) * (float)(age - e->a) * e->rd;
	return e->s;
}

/* The envelope at age, for a note held until frame 'hold' of the voice. */
SIMD_INLINE float adsr_at(const adsr *e, int64_t hold, int64_t age)
{
	if (age < hold)
		return ad_at(e, age);
	if (age >= hold + e->r)
		return 0.0f;
	return e->level_off * (1.0f - (float)(age - hold) * e->rr);
}

static int64_t frames_of(float sec)
{
	int64_t n = (int64_t)lroundf(sec * SR);
	return n < 1 ? 1 : n;
}

static void adsr_set(adsr *e, const synth_adsr *sec, int64_t hold)
{
	e->a = frames_of(sec->attack);
	e->d = frames_of(sec->decay);
	e->r = frames_of(sec->release);
	e->ra = 1.0f / (float)e->a;
	e->rd = 1.0f / (float)e->d;
	e->rr = 1.0f / (float)e->r;
	e->s = sec->sustain;
	e->level_off = ad_at(e, hold);
}

/* Note-off now (age now, the note was held until hold_then): release from
 * the present level over at most r frames, whatever stage the envelope is in,
 * so the level never jumps. */
static void adsr_release_now(adsr *e, int64_t hold_then, int64_t now, int64_t r)
{
	e->level_off = adsr_at(e, hold_then, now);
	if (r < e->r) {
		e->r = r;
		e->rr = 1.0f / (float)r;
	}
}

/* ---- starting voices ---- */

/* Sets lane i of c for cutoff fc and quality q; returns k = 1/q. */
static float svf_coef(svfc *c, int i, float fc, float q)
{
	float g, k = 1.0f / q, a1, a2, a3;
	fc = fc < 20.0f ? 20.0f : fc > 0.45f * SR ? 0.45f * SR : fc;
	g = tanf((float)M_PI * fc / SR);
	a1 = 1.0f / (1.0f + g * (g + k));
	a2 = g * a1;
	a3 = g * a2;
	((float *)&c->c11)[i] = 2.0f * a1 - 1.0f;
	((float *)&c->c1x)[i] = 2.0f * a2;
	((float *)&c->c22)[i] = 1.0f - 2.0f * a3;
	((float *)&c->c2x)[i] = 2.0f * a3;
	return k;
}

static void group_refresh(group *g)
{
	vi zero = { 0 };
	g->kinds = g->flags = g->orbits = 0;
	g->n_active = 0;
	for (int s = 0; s < SYNTH_N_SOURCES; s++)
		g->m_src[s] = zero;
	int lp_lanes = 0;
	for (int i = 0; i < LANES; i++) {
		lane *l = &g->l[i];
		if (!l->active)
			continue;
		g->n_active++;
		lp_lanes += g->m_lp[i] != 0;
		g->kinds |= 1u << l->src;
		iset(&g->m_src[l->src], i, -1);
		g->orbits |= 1u << l->orbit;
		if (g->m_lp[i])
			g->flags |= F_LP | (g->lpenv[i] != 0.0f ? F_LPENV : 0);
		g->flags |= (g->m_hp[i] ? F_HP : 0) | (g->m_bp[i] ? F_BP : 0) |
			    (g->m_vowel[i] ? F_VOWEL : 0) | (g->m_shape[i] ? F_SHAPE : 0) |
			    (g->m_dist[i] ? F_DIST : 0) | (g->m_crush[i] ? F_CRUSH : 0) |
			    (g->m_coarse[i] ? F_COARSE : 0) | (g->gld[i] != 0.0f ? F_DELAY : 0) |
			    (g->glr[i] != 0.0f || g->grr[i] != 0.0f ? F_ROOM : 0);
	}
	if (lp_lanes == g->n_active && lp_lanes > 0)
		g->flags |= F_LPALL;
}

static void lane_clear(group *g, int i)
{
	vf *vs[] = { &g->phase, &g->inc, &g->rinc, &g->pk0, &g->pk1, &g->pk2, &g->brn,
		     &g->lp1, &g->lp2, &g->hp1, &g->hp2, &g->bp1, &g->bp2, &g->env,
		     &g->gain, &g->gl, &g->gr, &g->gld, &g->grd, &g->glr, &g->grr,
		     &g->held, &g->lpenv };
	vi *ms[] = { &g->m_lp, &g->m_hp, &g->m_bp, &g->m_vowel, &g->m_shape,
		     &g->m_dist, &g->m_crush, &g->m_coarse, &g->ccnt };
	for (size_t k = 0; k < sizeof vs / sizeof vs[0]; k++)
		lset(vs[k], i, 0.0f);
	for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++)
		iset(ms[k], i, 0);
	for (int f = 0; f < 5; f++) {
		lset(&g->vw1[f], i, 0.0f);
		lset(&g->vw2[f], i, 0.0f);
	}
	memset(&g->l[i], 0, sizeof g->l[i]);
}

static void lane_filters(group *g, int i, const synth_params *sp)
{
	float k;
	iset(&g->m_lp, i, sp->lp ? -1 : 0);
	lset(&g->lpcut, i, sp->cutoff);
	lset(&g->lpk, i, 1.0f / sp->resonance);
	lset(&g->lpenv, i, sp->lp ? sp->lpenv : 0.0f);
	iset(&g->m_hp, i, sp->hp ? -1 : 0);
	lset(&g->hpk, i, svf_coef(&g->hpc, i, sp->hcutoff, sp->hresonance));
	iset(&g->m_bp, i, sp->bp ? -1 : 0);
	lset(&g->bpk, i, svf_coef(&g->bpc, i, sp->bandf, sp->bandq));
	iset(&g->m_vowel, i, sp->vowel != SYNTH_VOWEL_NONE ? -1 : 0);
	for (int f = 0; f < 5 && sp->vowel != SYNTH_VOWEL_NONE; f++) {
		const float *fm = formants[sp->vowel][f];
		k = svf_coef(&g->vwc[f], i, fm[0], fm[0] / fm[2]);
		lset(&g->vwg[f], i, k * powf(10.0f, fm[1] / 20.0f) * 2.0f);
	}
}

static void lane_shapers(group *g, int i, const synth_params *sp)
{
	iset(&g->m_shape, i, sp->shape > 0.0f ? -1 : 0);
	lset(&g->shapek, i, 2.0f * sp->shape / (1.0f - sp->shape));
	iset(&g->m_dist, i, sp->distort > 0.0f ? -1 : 0);
	lset(&g->distd, i, 1.0f + sp->distort * sp->distort);
	iset(&g->m_crush, i, sp->crush > 0 ? -1 : 0);
	lset(&g->crushq, i, sp->crush > 0 ? exp2f((float)(sp->crush - 1)) : 1.0f);
	iset(&g->m_coarse, i, sp->coarse > 1 ? -1 : 0);
	iset(&g->cn, i, sp->coarse);
}

static void lane_source(group *g, int i, const synth_params *sp)
{
	lane *l = &g->l[i];
	float inc = (float)(sp->freq / SYNTH_RATE);
	uint32_t seed = sp->seed * 2654435761u + 0x9e3779b9u;
	if (inc > 0.45f)
		inc = 0.45f;
	lset(&g->phase, i, 0.0f);
	lset(&g->inc, i, inc);
	lset(&g->rinc, i, inc > 0.0f ? 1.0f / inc : 0.0f);
	((uint32_t *)&g->rng)[i] = seed ? seed : 0x12345678u;
	if (sp->source != SYNTH_SAMPLE)
		return;
	{
		int64_t n = sp->sample->frames;
		double span;
		l->data = sp->sample->data;
		l->lo = (int64_t)floor(sp->begin * (double)n);
		l->hi = (int64_t)ceil(sp->end * (double)n);
		if (l->hi > n)
			l->hi = n;
		l->rate = (float)sp->rate;
		l->pos = sp->rate > 0 ? l->lo : l->hi - 1;
		l->frac = 0.0f;
		span = (double)(l->hi - l->lo) / fabs(sp->rate);
		if (l->hold < 0)
			l->hold = (int64_t)ceil(span);
	}
}

static void lane_levels(group *g, int i, const synth_params *sp)
{
	float pan = sp->pan * (float)M_PI * 0.5f;
	float gl = sp->postgain * cosf(pan), gr = sp->postgain * sinf(pan);
	lset(&g->gain, i, sp->gain);
	lset(&g->gl, i, gl);
	lset(&g->gr, i, gr);
	lset(&g->gld, i, gl * sp->delay);
	lset(&g->grd, i, gr * sp->delay);
	lset(&g->glr, i, gl * sp->room);
	lset(&g->grr, i, gr * sp->room);
}

static void lane_envelopes(lane *l, const synth_params *sp)
{
	adsr_set(&l->env, &sp->env, l->hold);
	adsr_set(&l->fenv, &sp->lpadsr, l->hold);
	l->end = l->hold + l->env.r;
}

/* Lane score for a new voice of source src on orbit: lower is better. */
static int64_t slot_score(const voice_pool *p, int gi, int i, int src, int orbit)
{
	const group *g = &p->g[gi];
	const lane *l = &g->l[i];
	if (!l->active) {
		/* A group costs about the same however many lanes it uses, plus a
		 * little per source kind: fill groups of the same sound first, then
		 * any started group, and open an empty group last. */
		if (g->n_active == 0)
			return 2;
		return (g->kinds == (1u << src) && g->orbits == (1u << orbit)) ? 0 : 1;
	}
	/* Stealing: oldest first, releasing voices before held ones. */
	return (int64_t)(l->age >= l->hold ? 0 : 1) * ((int64_t)1 << 62) / 2 +
	       (int64_t)(l->serial & (((uint64_t)1 << 60) - 1)) + 3;
}

void voice_pool_start(voice_pool *p, const synth_params *sp, int offset)
{
	int bg = 0, bi = 0;
	int64_t best = INT64_MAX;
	group *g;
	lane *l;
	for (int gi = 0; gi < NGROUPS && best > 0; gi++)
		for (int i = 0; i < LANES; i++) {
			int64_t s = slot_score(p, gi, i, sp->source, sp->orbit);
			if (s < best) {
				best = s, bg = gi, bi = i;
				if (s == 0)
					break;
			}
		}
	g = &p->g[bg];
	if (g->l[bi].active)
		p->st.stolen++;
	lane_clear(g, bi);
	l = &g->l[bi];
	l->active = 1;
	l->src = (uint8_t)sp->source;
	l->orbit = (uint8_t)sp->orbit;
	l->serial = ++p->serial;
	l->age = -(int64_t)(offset < 0 ? 0 : offset);
	l->hold = sp->hold;
	lane_source(g, bi, sp);
	lane_envelopes(l, sp);
	lane_filters(g, bi, sp);
	lane_shapers(g, bi, sp);
	lane_levels(g, bi, sp);
	p->st.started++;
	group_refresh(g);
}

void voice_pool_release_all(voice_pool *p)
{
	for (int gi = 0; gi < NGROUPS; gi++) {
		group *g = &p->g[gi];
		for (int i = 0; i < LANES; i++) {
			lane *l = &g->l[i];
			if (!l->active)
				continue;
			if (l->age <= 0) {
				lane_clear(g, i);
				continue;
			}
			adsr_release_now(&l->env, l->hold, l->age, frames_of(0.05f));
			adsr_release_now(&l->fenv, l->hold, l->age, frames_of(0.05f));
			l->hold = l->age;
			l->end = l->hold + l->env.r;
		}
		group_refresh(g);
	}
}

void voice_pool_stats(const voice_pool *p, voice_stats *out)
{
	*out = p->st;
	out->active = 0;
	for (int gi = 0; gi < NGROUPS; gi++)
		out->active += p->g[gi].n_active;
}

const float *voice_pool_bus(const voice_pool *p, int orbit, int bus, int ch)
{
	return p->bus[orbit][bus][ch];
}

/* ---- the sample loop ---- */

/* Band-limited sawtooth (PolyBLEP): t phase in turns, rinc = 1 / increment.
 * The residual is -(1-u)^2 just after the wrap (u = t/dt < 1) and (1-w)^2
 * just before it (w = (1-t)/dt < 1); with p = max(1-u, 0), q = max(1-w, 0)
 * their sum is q^2 - p^2 = (q - p)(q + p). */
SIMD_INLINE vf osc_saw(vf t, vf rinc)
{
	vf u = t * rinc, w = rinc - u;
	vf p = vf_pos(1.0f - u), q = vf_pos(1.0f - w);
	return (t + t) - (1.0f + (q - p) * (q + p));
}

/* The integrated PolyBLEP residual (PolyBLAMP) around phase 0. */
SIMD_INLINE vf blamp(vf t, vf rinc)
{
	vf x0 = t * rinc - 1.0f, x1 = (t - 1.0f) * rinc + 1.0f;
	return vf_and(x0 < 0.0f, -(x0 * x0 * x0) * (1.0f / 3.0f)) +
	       vf_and(x1 > 0.0f, x1 * x1 * x1 * (1.0f / 3.0f));
}

SIMD_INLINE vf wrap1(vf t)
{
	return t - vf_and(t >= 1.0f, vf_set1(1.0f));
}

SIMD_INLINE vf osc_square(vf t, vf rinc)
{
	return osc_saw(t, rinc) - osc_saw(wrap1(t + 0.5f), rinc);
}

SIMD_INLINE vf osc_tri(vf t, vf inc, vf rinc)
{
	vf t2 = wrap1(t + 0.5f);
	vf naive = 1.0f - 4.0f * vf_abs(t - 0.5f);
	return naive + 4.0f * inc * (blamp(t, rinc) - blamp(t2, rinc));
}

/* One step of a trapezoidal state-variable filter; returns the low-pass
 * output and leaves band-pass in *bp. The update is the usual one
 * rearranged into two independent 3-term sums (coefficients in svfc), so
 * the recursion's dependency chain is about 12 cycles instead of 24. */
SIMD_INLINE vf svf_step(vf x, vf *s1, vf *s2, const svfc *c, vf *bp)
{
	vf o1 = *s1, o2 = *s2;
	vf n1 = c->c11 * o1 + c->c1x * (x - o2);
	vf n2 = (c->c22 * o2 + c->c1x * o1) + c->c2x * x;
	*s1 = n1;
	*s2 = n2;
	*bp = (o1 + n1) * 0.5f;
	return (o2 + n2) * 0.5f;
}

/* svf_step's low-pass alone, returning twice the output (the caller folds
 * the 0.5 into a gain, which is exact). */
SIMD_INLINE vf svf2_step(vf x, vf *s1, vf *s2, const svfc *c)
{
	vf o1 = *s1, o2 = *s2;
	*s1 = c->c11 * o1 + c->c1x * (x - o2);
	*s2 = (c->c22 * o2 + c->c1x * o1) + c->c2x * x;
	return o2 + *s2;
}

/* Every source other than the pure-saw fast path; m gates the onset. */
SIMD_INLINE vf sources(group *g, uint32_t kinds, vf ph, vf smp, vi m, int gated)
{
	vf x = { 0 };
	if (kinds & (1u << SYNTH_SAW))
		x = vf_sel(g->m_src[SYNTH_SAW], osc_saw(ph, g->rinc), x);
	if (kinds & (1u << SYNTH_SQUARE))
		x = vf_sel(g->m_src[SYNTH_SQUARE], osc_square(ph, g->rinc), x);
	if (kinds & (1u << SYNTH_TRI))
		x = vf_sel(g->m_src[SYNTH_TRI], osc_tri(ph, g->inc, g->rinc), x);
	if (kinds & (1u << SYNTH_SINE))
		x = vf_sel(g->m_src[SYNTH_SINE], vf_sin_turns(ph), x);
	if (kinds & ((1u << SYNTH_WHITE) | (1u << SYNTH_PINK) | (1u << SYNTH_BROWN))) {
		vu r = g->rng;
		vf w = vf_noise(&r);
		g->rng = gated ? (vu)vf_sel(m, (vf)r, (vf)g->rng) : r;
		w = gated ? vf_and(m, w) : w;
		if (kinds & (1u << SYNTH_WHITE))
			x = vf_sel(g->m_src[SYNTH_WHITE], w, x);
		if (kinds & (1u << SYNTH_PINK)) {
			g->pk0 = 0.99765f * g->pk0 + w * 0.0990460f;
			g->pk1 = 0.96300f * g->pk1 + w * 0.2965164f;
			g->pk2 = 0.57000f * g->pk2 + w * 1.0526913f;
			x = vf_sel(g->m_src[SYNTH_PINK], (g->pk0 + g->pk1 + g->pk2 + w * 0.1848f) * 0.22f, x);
		}
		if (kinds & (1u << SYNTH_BROWN)) {
			g->brn = g->brn * 0.980392f + w * 0.0196078f;
			x = vf_sel(g->m_src[SYNTH_BROWN], g->brn * 3.5f, x);
		}
	}
	if (kinds & (1u << SYNTH_SAMPLE))
		x = vf_sel(g->m_src[SYNTH_SAMPLE], smp, x);
	return x;
}

/* High-pass, band-pass and vowel stages (each only for lanes that use it). */
SIMD_INLINE vf filters_more(group *g, uint32_t flags, vf x)
{
	vf bp, lp;
	if (flags & F_HP) {
		lp = svf_step(x, &g->hp1, &g->hp2, &g->hpc, &bp);
		x = vf_sel(g->m_hp, x - g->hpk * bp - lp, x);
	}
	if (flags & F_BP) {
		svf_step(x, &g->bp1, &g->bp2, &g->bpc, &bp);
		x = vf_sel(g->m_bp, g->bpk * bp, x);
	}
	if (flags & F_VOWEL) {
		vf sum = { 0 };
		for (int f = 0; f < 5; f++) {
			svf_step(x, &g->vw1[f], &g->vw2[f], &g->vwc[f], &bp);
			sum += g->vwg[f] * bp;
		}
		x = vf_sel(g->m_vowel, sum, x);
	}
	return x;
}

/* coarse, crush, shape, distort. */
SIMD_INLINE vf shapers(group *g, uint32_t flags, vf x)
{
	if (flags & F_COARSE) {
		vi take = g->ccnt == 0;
		g->held = vf_sel(take, x, g->held);
		g->ccnt = g->ccnt + 1;
		g->ccnt = (vi)vf_sel(g->ccnt >= g->cn, (vf)(vi){ 0 }, (vf)g->ccnt);
		x = vf_sel(g->m_coarse, g->held, x);
	}
	if (flags & F_CRUSH) {
		vf c = vf_clamp(x, -4.0f, 4.0f) * g->crushq;
		vf h = vf_sel(c < 0.0f, vf_set1(-0.5f), vf_set1(0.5f));
		vf r = __builtin_convertvector(__builtin_convertvector(c + h, vi), vf);
		x = vf_sel(g->m_crush, r / g->crushq, x);
	}
	if (flags & F_SHAPE)
		x = vf_sel(g->m_shape, (1.0f + g->shapek) * x / (1.0f + g->shapek * vf_abs(x)), x);
	if (flags & F_DIST) {
		vf z = vf_clamp(x * g->distd, -3.0f, 3.0f), z2 = z * z;
		x = vf_sel(g->m_dist, z * (27.0f + z2) / (27.0f + 9.0f * z2), x);
	}
	return x;
}

typedef struct ctl {
	vi so;          /* frames to wait for the onset in this CR block */
	vf envinc;
	svfc lp;        /* low-pass coefficients for this CR block */
	int gated;
} ctl;

/* The reference voice's path (every lane a sawtooth through the low-pass,
 * no onset in this CR block): the loop the voice benchmark measures. */
SIMD_INLINE void saw_lp_loop(group *g, int len, vf *restrict xs, const ctl *c, vf *restrict L,
			     vf *restrict R)
{
	/* svf2 returns twice the low-pass output; halving the gains instead
	 * is exact (a power of two), so this path matches synth_loop's bits. */
	const vf glh = g->gl * 0.5f, grh = g->gr * 0.5f;
	vf phase = g->phase, env = g->env, s1 = g->lp1, s2 = g->lp2;
	const vf inc = g->inc, rinc = g->rinc, envinc = c->envinc;
	const svfc f = c->lp;
	for (int t = 0; t < len; t++) {
		vf ph = phase, x;
		phase = wrap1(ph + inc);
		env = env + envinc;
		x = svf2_step(osc_saw(ph, rinc) * env, &s1, &s2, &f);
		if (L) { /* one orbit, no sends: mix here */
			L[t] += x * glh;
			R[t] += x * grh;
		} else {
			xs[t] = x * 0.5f;
		}
	}
	g->phase = phase;
	g->env = env;
	g->lp1 = s1;
	g->lp2 = s2;
}

SIMD_INLINE void synth_loop(group *g, int len, vf *restrict xs, const vf *smp, const ctl *c,
			    const int gated)
{
	const uint32_t kinds = g->kinds, flags = g->flags;
	vf phase = g->phase, env = g->env, lp1 = g->lp1, lp2 = g->lp2;
	const vf inc = g->inc, envinc = c->envinc;
	const svfc f = c->lp;
	const vi so = c->so, m_lp = g->m_lp;
	const vi all = (vi){ 0 } - 1;
	for (int t = 0; t < len; t++) {
		vi m = gated ? so <= ((vi){ 0 } + t) : all;
		vf ph = phase, x;
		if (kinds & OSC_KINDS) {
			vf np = wrap1(ph + inc);
			phase = gated ? vf_sel(m, np, ph) : np;
		}
		x = sources(g, kinds, ph, smp[t], m, gated);
		env = gated ? env + vf_and(m, envinc) : env + envinc;
		x = x * env;
		if (flags & F_LP) {
			vf y = svf2_step(x, &lp1, &lp2, &f) * 0.5f;
			x = (flags & F_LPALL) ? y : vf_sel(m_lp, y, x);
		}
		if (flags & (F_HP | F_BP | F_VOWEL))
			x = filters_more(g, flags, x);
		if (flags & (F_COARSE | F_CRUSH | F_SHAPE | F_DIST))
			x = shapers(g, flags, x);
		xs[t] = gated ? vf_and(m, x) : x;
	}
	g->phase = phase;
	g->env = env;
	g->lp1 = lp1;
	g->lp2 = lp2;
}

/* Control-rate work for one CR block: envelopes per lane (scalar), low-pass
 * coefficients across lanes (vectors). */
SIMD_INLINE void control(group *g, int len, ctl *c)
{
	vf fexp = { 0 };
	c->so = (vi){ 0 };
	c->envinc = (vf){ 0 };
	c->gated = 0;
	for (int i = 0; i < LANES; i++) {
		lane *l = &g->l[i];
		float e1;
		if (!l->active)
			continue;
		if (l->age + len <= 0) {
			iset(&c->so, i, len);
			c->gated = 1;
			continue;
		}
		e1 = adsr_at(&l->env, l->hold, l->age + len) * g->gain[i]; /* g->env holds env x gain */
		if (l->age < 0) {
			iset(&c->so, i, (int32_t)-l->age);
			lset(&g->env, i, 0.0f);
			lset(&c->envinc, i, e1 / (float)(len + l->age));
			c->gated = 1;
		} else {
			lset(&c->envinc, i, (e1 - g->env[i]) / (float)len);
		}
		if (g->flags & F_LPENV)
			lset(&fexp, i, g->lpenv[i] * adsr_at(&l->fenv, l->hold, l->age + len / 2));
	}
	if (g->flags & F_LP) {
		vf fc = g->lpcut;
		vf gg, k = g->lpk;
		if (g->flags & F_LPENV)
			fc = fc * vf_exp2(fexp);
		fc = vf_clamp(fc, 20.0f, 20000.0f);
		gg = vf_tan(fc * ((float)M_PI / SR));
		vf a1 = 1.0f / (1.0f + gg * (gg + k)), a2 = gg * a1, a3 = gg * a2;
		c->lp.c11 = 2.0f * a1 - 1.0f;
		c->lp.c1x = 2.0f * a2;
		c->lp.c22 = 1.0f - 2.0f * a3;
		c->lp.c2x = 2.0f * a3;
	}
}

/* One lane's sample frames for this CR block, at any rate (interpolated). */
static void lane_samples(lane *l, int from, int len, float *o)
{
	for (int t = from; t < len; t++) {
		float v = 0.0f, fl;
		if (l->pos >= l->lo && l->pos < l->hi) {
			const float *d = l->data + l->pos;
			v = d[0] + l->frac * (d[1] - d[0]);
		}
		o[t * LANES] = v;
		l->frac += l->rate;
		fl = floorf(l->frac);
		l->pos += (int64_t)fl;
		l->frac -= fl;
	}
}

static void fill_samples(group *g, int len, const ctl *c, vf *smp)
{
	memset(smp, 0, sizeof(vf) * (size_t)len);
	for (int i = 0; i < LANES; i++) {
		lane *l = &g->l[i];
		float *o = (float *)smp + i;
		int from = c->so[i];
		if (!l->active || l->src != SYNTH_SAMPLE || l->pos >= l->hi)
			continue;
		if (l->rate == 1.0f && l->frac == 0.0f && l->pos >= l->lo) {
			/* The common case, speed 1: a plain copy up to the end. */
			int64_t k = l->hi - l->pos < len - from ? l->hi - l->pos : len - from;
			const float *d = l->data + l->pos;
			for (int64_t t = 0; t < k; t++)
				o[(from + t) * LANES] = d[t];
			l->pos += len - from;
			continue;
		}
		lane_samples(l, from, len, o);
	}
}

SIMD_INLINE vf *acc_bus(voice_pool *p, int o, int bus, int ch, int n, uint32_t *used)
{
	uint32_t bit = 1u << (o * VOICE_N_BUSES + bus);
	if (!(*used & bit)) {
		memset(p->acc[o][bus][0], 0, sizeof(vf) * (size_t)n);
		memset(p->acc[o][bus][1], 0, sizeof(vf) * (size_t)n);
		*used |= bit;
	}
	return p->acc[o][bus][ch];
}

SIMD_INLINE void mix_pair(vf *L, vf *R, const vf *xs, int len, vf gl, vf gr)
{
	for (int t = 0; t < len; t++) {
		L[t] += xs[t] * gl;
		R[t] += xs[t] * gr;
	}
}

SIMD_INLINE void mix(voice_pool *p, group *g, int n, int sb, int len, const vf *xs, uint32_t *used)
{
	for (int o = 0; o < TT_MAX_ORBITS; o++) {
		vi mo = (vi){ 0 } - 1;
		if (!(g->orbits & (1u << o)))
			continue;
		if (g->orbits != (1u << o))
			for (int i = 0; i < LANES; i++)
				iset(&mo, i, g->l[i].orbit == o ? -1 : 0);
		acc_bus(p, o, VOICE_BUS_DRY, 0, n, used);
		mix_pair(p->acc[o][VOICE_BUS_DRY][0] + sb, p->acc[o][VOICE_BUS_DRY][1] + sb, xs, len,
			 vf_and(mo, g->gl), vf_and(mo, g->gr));
		if (g->flags & F_DELAY) {
			acc_bus(p, o, VOICE_BUS_DELAY, 0, n, used);
			mix_pair(p->acc[o][VOICE_BUS_DELAY][0] + sb, p->acc[o][VOICE_BUS_DELAY][1] + sb,
				 xs, len, vf_and(mo, g->gld), vf_and(mo, g->grd));
		}
		if (g->flags & F_ROOM) {
			acc_bus(p, o, VOICE_BUS_ROOM, 0, n, used);
			mix_pair(p->acc[o][VOICE_BUS_ROOM][0] + sb, p->acc[o][VOICE_BUS_ROOM][1] + sb,
				 xs, len, vf_and(mo, g->glr), vf_and(mo, g->grr));
		}
	}
}

/* Invariant 5: reset lanes whose state ran away; flush tiny values. */
SIMD_INLINE void guard_states(voice_pool *p, group *g)
{
	vf *st[] = { &g->lp1, &g->lp2, &g->hp1, &g->hp2, &g->bp1, &g->bp2, &g->pk0,
		     &g->pk1, &g->pk2, &g->brn, &g->env, &g->held };
	vi bad = { 0 };
	for (size_t k = 0; k < sizeof st / sizeof st[0]; k++) {
		vf a = vf_abs(*st[k]);
		bad |= ~(a < 1e4f);
		*st[k] = vf_and(a > 1e-20f, *st[k]);
	}
	for (int f = 0; f < 5 && (g->flags & F_VOWEL); f++) {
		bad |= ~(vf_abs(g->vw1[f]) < 1e4f) | ~(vf_abs(g->vw2[f]) < 1e4f);
	}
	for (int i = 0; i < LANES; i++)
		if (bad[i] && g->l[i].active) {
			lane_clear(g, i);
			p->st.killed++;
			group_refresh(g);
		}
}

static void advance(group *g, int len)
{
	int freed = 0;
	for (int i = 0; i < LANES; i++) {
		lane *l = &g->l[i];
		if (!l->active)
			continue;
		l->age += len;
		if (l->age >= l->end) {
			lane_clear(g, i);
			freed = 1;
		}
	}
	if (freed)
		group_refresh(g);
}

VOICE_CLONES
static void render_group(voice_pool *p, group *g, int n, uint32_t *used)
{
	vf xs[CR], smp[CR];
	ctl c;
	for (int sb = 0; sb < n && g->n_active; sb += CR) {
		int len = n - sb < CR ? n - sb : CR;
		control(g, len, &c);
		if (g->kinds & (1u << SYNTH_SAMPLE))
			fill_samples(g, len, &c, smp);
		if (c.gated)
			synth_loop(g, len, xs, smp, &c, 1);
		else if (g->kinds == (1u << SYNTH_SAW) && g->flags & F_LPALL &&
			 !(g->flags & (F_HP | F_BP | F_VOWEL | F_COARSE | F_CRUSH | F_SHAPE | F_DIST))) {
			if (!(g->flags & (F_DELAY | F_ROOM)) && (g->orbits & (g->orbits - 1)) == 0) {
				int o = __builtin_ctz(g->orbits);
				vf *L = acc_bus(p, o, VOICE_BUS_DRY, 0, n, used);
				saw_lp_loop(g, len, xs, &c, L + sb, p->acc[o][VOICE_BUS_DRY][1] + sb);
				advance(g, len);
				continue;
			}
			saw_lp_loop(g, len, xs, &c, NULL, NULL);
		} else {
			synth_loop(g, len, xs, smp, &c, 0);
		}
		mix(p, g, n, sb, len, xs, used);
		advance(g, len);
	}
	guard_states(p, g);
}

typedef float vf16 __attribute__((vector_size(64)));
typedef float vf8 __attribute__((vector_size(32)));
typedef float vf4 __attribute__((vector_size(16)));

/* out[t] = the sum of acc[t]'s lanes, as a balanced tree of halves: fixed
 * order (the same bits on every CPU), a few wide adds per frame. */
VOICE_CLONES
static void reduce_lanes(const vf *acc, float *out, int n)
{
	for (int t = 0; t < n; t++) {
		const vf16 *half = (const vf16 *)&acc[t];
		vf16 a = half[0];
		vf8 h;
		vf4 q;
		for (int k = 1; k < LANES / 16; k++)
			a += half[k];
		h = __builtin_shufflevector(a, a, 0, 1, 2, 3, 4, 5, 6, 7) +
		    __builtin_shufflevector(a, a, 8, 9, 10, 11, 12, 13, 14, 15);
		q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
		out[t] = (q[0] + q[2]) + (q[1] + q[3]);
	}
}

uint32_t voice_pool_render(voice_pool *p, int n)
{
	uint32_t used = 0;
	if (n < 1)
		return 0;
	if (n > VOICE_BLOCK_MAX)
		n = VOICE_BLOCK_MAX;
	for (int gi = 0; gi < NGROUPS; gi++)
		if (p->g[gi].n_active)
			render_group(p, &p->g[gi], n, &used);
	for (int b = 0; b < TT_MAX_ORBITS * VOICE_N_BUSES; b++) {
		if (!(used & (1u << b)))
			continue;
		for (int ch = 0; ch < 2; ch++) {
			const vf *a = p->acc[b / VOICE_N_BUSES][b % VOICE_N_BUSES][ch];
			float *o = p->bus[b / VOICE_N_BUSES][b % VOICE_N_BUSES][ch];
			reduce_lanes(a, o, n);
		}
	}
	return used;
}
