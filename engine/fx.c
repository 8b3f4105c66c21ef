/*
 * engine/fx.c: per-orbit delay and reverb, master limiter (see fx.h).
 *
 * Design:
 *  1. Delay: a stereo feedback delay line of 2^17 frames (2.7 s) per
 *     channel. The read position glides toward the set time with a one-pole
 *     (no clicks when delaytime changes); the feedback path is damped by a
 *     one-pole low-pass (tape-like repeats) and soft-clipped, so with
 *     feedback <= 0.95 the loop gain stays below 1 at every level.
 *  2. Reverb: a feedback delay network of 8 lines (23 to 60 ms, mutually
 *     prime) mixed by a Householder matrix (orthogonal: energy-preserving),
 *     each line with a damping low-pass and a gain set from RT60, fed
 *     through two input all-passes for early density. Line gains are < 1, so
 *     the network is stable for every size.
 *  3. Limiter: for input frame i the needed gain r[i] = min(1, c/peak);
 *     h = sliding minimum of r over L+1 frames, released slowly upward; the
 *     applied gain is the mean of h over L+1 frames and multiplies the input
 *     delayed by L. Every h in that mean covers frame i-L, so the gain is
 *     <= r[i-L] and the output never exceeds the ceiling c; a final clamp
 *     guards against rounding.
 *  4. An orbit with no input whose output has stayed below 1e-7 for longer
 *     than its longest line is idle and skipped; idling clears its lines, so
 *     the result is the same as if it had run.
 */
#include "engine/fx.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "engine/synth_params.h"

#define DL_SIZE (1 << 17)
#define DL_MASK (DL_SIZE - 1)
#define FDN_N 8
#define FDN_SIZE 4096
#define AP_SIZE 512
#define SR ((float)SYNTH_RATE)

/* The reverb's 8 lines side by side: one vector op advances all of them. */
typedef float v8 __attribute__((vector_size(32)));

static const int fdn_len[FDN_N] = { 1123, 1327, 1559, 1801, 2053, 2311, 2593, 2887 };
static const int ap_len[2] = { 142, 379 };

struct fx_orbit {
	float dl[2][DL_SIZE];
	uint32_t dw;
	float dcur, dtarget, dfb, ddamp[2];
	v8 line[FDN_SIZE];       /* line i's sample at write position w is line[w][i] */
	v8 lgain, ldamp;
	uint32_t lw;
	float ap[2][AP_SIZE];
	uint32_t apw;
	int64_t quiet; /* frames of silence in and out */
	bool idle;
};

int fx_orbit_new(fx_orbit **out)
{
	fx_orbit *o = aligned_alloc(64, (sizeof *o + 63) / 64 * 64); /* vectors inside */
	if (!o)
		return TT_ENOMEM;
	memset(o, 0, sizeof *o);
	o->dcur = o->dtarget = 0.25f * SR;
	o->dfb = 0.5f;
	o->idle = true;
	fx_orbit_set_size(o, 2.0f);
	*out = o;
	return TT_OK;
}

void fx_orbit_free(fx_orbit *o)
{
	free(o);
}

void fx_orbit_set_delay(fx_orbit *o, float time, float feedback)
{
	o->dtarget = (float)synth_clamp(time, 0.001, 2.0, 0.25) * SR;
	o->dfb = (float)synth_clamp(feedback, 0.0, 0.95, 0.5);
}

void fx_orbit_set_size(fx_orbit *o, float size)
{
	float rt60 = 0.2f + 0.5f * (float)synth_clamp(size, 0.0, 10.0, 2.0);
	for (int i = 0; i < FDN_N; i++)
		o->lgain[i] = powf(10.0f, -3.0f * (float)fdn_len[i] / (rt60 * SR));
}

static float soft(float x)
{
	/* Identity below 1, bounded by 2 above: keeps the feedback loop finite. */
	float a = fabsf(x);
	if (a <= 1.0f)
		return x;
	return copysignf(2.0f - 1.0f / a, x);
}

static void delay_frame(fx_orbit *o, float inl, float inr, float *outl, float *outr)
{
	float pos, fr, y[2], in[2] = { inl, inr };
	uint32_t ip;
	o->dcur += (o->dtarget - o->dcur) * 0.0005f;
	pos = (float)o->dw - o->dcur;
	ip = (uint32_t)(int32_t)floorf(pos);
	fr = pos - floorf(pos);
	for (int c = 0; c < 2; c++) {
		float a = o->dl[c][ip & DL_MASK], b = o->dl[c][(ip + 1) & DL_MASK];
		y[c] = a + fr * (b - a);
		o->ddamp[c] += (y[c] - o->ddamp[c]) * 0.45f;
		o->dl[c][o->dw & DL_MASK] = soft(in[c] + o->dfb * o->ddamp[c]);
	}
	o->dw++;
	*outl += y[0];
	*outr += y[1];
}

static float allpass(float *buf, uint32_t w, int len, float x)
{
	float d = buf[(w - (uint32_t)len) & (AP_SIZE - 1)];
	float v = x + 0.6f * d;
	buf[w & (AP_SIZE - 1)] = v;
	return d - 0.6f * v;
}

static void reverb_frame(fx_orbit *o, float inl, float inr, float *outl, float *outr)
{
	static const v8 sign = { 0.5f, -0.5f, 0.5f, -0.5f, 0.5f, -0.5f, 0.5f, -0.5f };
	float x = 0.5f * (inl + inr), sum, l, r;
	v8 y;
	x = allpass(o->ap[0], o->apw, ap_len[0], x);
	x = allpass(o->ap[1], o->apw, ap_len[1], x);
	o->apw++;
	for (int i = 0; i < FDN_N; i++)
		y[i] = o->line[(o->lw - (uint32_t)fdn_len[i]) & (FDN_SIZE - 1)][i];
	l = (y[0] + y[2]) + (y[4] + y[6]);
	r = (y[1] + y[3]) + (y[5] + y[7]);
	sum = (l + r) * (2.0f / FDN_N);
	o->ldamp += ((y - sum) * o->lgain - o->ldamp) * 0.55f;
	o->line[o->lw & (FDN_SIZE - 1)] = o->ldamp + sign * x;
	o->lw++;
	*outl += 0.35f * l;
	*outr += 0.35f * r;
}

static void orbit_clear(fx_orbit *o)
{
	memset(o->dl, 0, sizeof o->dl);
	memset(o->line, 0, sizeof o->line);
	memset(o->ap, 0, sizeof o->ap);
	memset(o->ddamp, 0, sizeof o->ddamp);
	o->ldamp = (v8){ 0 };
	o->dcur = o->dtarget;
}

void fx_orbit_process(fx_orbit *o, const float *dl, const float *dr, const float *rl,
		      const float *rr, int n, float *outl, float *outr)
{
	bool in = dl || rl;
	if (!in && o->idle)
		return;
	o->idle = false;
	for (int t = 0; t < n; t++) {
		float l = 0.0f, r = 0.0f;
		delay_frame(o, dl ? dl[t] : 0.0f, dr ? dr[t] : 0.0f, &l, &r);
		reverb_frame(o, rl ? rl[t] : 0.0f, rr ? rr[t] : 0.0f, &l, &r);
		outl[t] += l;
		outr[t] += r;
		if (in || fabsf(l) > 1e-7f || fabsf(r) > 1e-7f)
			o->quiet = 0;
		else
			o->quiet++;
	}
	if (!in && o->quiet > DL_SIZE + FDN_SIZE) {
		orbit_clear(o);
		o->idle = true;
	}
}

/* ---- limiter ---- */

#define LW (FX_LIMITER_LOOKAHEAD + 1)
#define RMASK (FX_LIMITER_RING - 1)

void fx_limiter_init(fx_limiter *l)
{
	memset(l, 0, sizeof *l);
	for (int i = 0; i < FX_LIMITER_RING; i++)
		l->hold[i] = 1.0f;
	l->sum = LW;
	l->released = 1.0f;
	l->release_coef = 1.0f - expf(-1.0f / (0.15f * SR));
	l->min_gain = 1.0f;
}

static float sane(float x)
{
	return isfinite(x) ? x : 0.0f;
}

static float clampc(float x, float c)
{
	return x > c ? c : x < -c ? -c : x;
}

/* Sliding minimum over the last LW needs (invariant 3): a monotonic queue,
 * the expired front dropped before the push so it never holds more than LW
 * entries. */
static float window_min(fx_limiter *l, float need)
{
	if (l->dq_len > 0 && l->dq_idx[l->dq_head & RMASK] + LW <= l->idx) {
		l->dq_head++;
		l->dq_len--;
	}
	while (l->dq_len > 0 && l->dq_val[(l->dq_head + l->dq_len - 1) & RMASK] >= need)
		l->dq_len--;
	l->dq_val[(l->dq_head + l->dq_len) & RMASK] = need;
	l->dq_idx[(l->dq_head + l->dq_len) & RMASK] = l->idx;
	l->dq_len++;
	return l->dq_val[l->dq_head & RMASK];
}

void fx_limiter_process(fx_limiter *l, float *x, int n)
{
	const float c = FX_LIMITER_CEILING;
	for (int t = 0; t < n; t++) {
		float a = sane(x[2 * t]), b = sane(x[2 * t + 1]);
		float peak = fabsf(a) > fabsf(b) ? fabsf(a) : fabsf(b);
		float need = peak > c ? c / peak : 1.0f, h, g;
		unsigned slot = (unsigned)(l->idx & RMASK);
		int dslot = (int)(l->idx % FX_LIMITER_LOOKAHEAD);
		h = window_min(l, need);
		l->released += (1.0f - l->released) * l->release_coef;
		if (h < l->released)
			l->released = h;
		/* the mean of the last LW released values */
		l->sum += (double)l->released - l->hold[(l->idx - LW) & RMASK];
		l->hold[slot] = l->released;
		if (slot == 0) { /* recompute exactly now and then: no drift */
			double s = 0.0;
			for (uint64_t i = 0; i < LW; i++)
				s += l->hold[(l->idx - i) & RMASK];
			l->sum = s;
		}
		g = (float)(l->sum / LW);
		if (g > 1.0f)
			g = 1.0f;
		if (g < l->min_gain)
			l->min_gain = g;
		/* dslot holds the input from exactly L frames ago. */
		{
			float ya = l->delay[0][dslot] * g, yb = l->delay[1][dslot] * g;
			/* beyond rounding (1e-6), a cut would mean a wrong gain */
			l->clamped += fabsf(ya) > c * 1.000001f || fabsf(yb) > c * 1.000001f;
			x[2 * t] = clampc(ya, c);
			x[2 * t + 1] = clampc(yb, c);
		}
		l->delay[0][dslot] = a;
		l->delay[1][dslot] = b;
		l->idx++;
	}
}
