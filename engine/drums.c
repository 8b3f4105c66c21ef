/*
 * engine/drums.c: the synthesized drum kit (see drums.h).
 *
 * Design: each sound is a small recipe over a handful of primitives (a
 * pitch-swept sine, a band-limited square, seeded noise, state-variable
 * filters, exponential envelopes), rendered once into a sample buffer and
 * handed to the sampler as if it had been loaded from disk. The variants of a
 * sound are the same recipe with different numbers, ordered from the most
 * conventional (n = 0) to the more unusual.
 *
 * Invariants:
 *  1. Each buffer is normalised to its sound's target peak (a kick louder
 *     than a hi-hat, as on a mixed kit), so levels match between variants.
 *  2. Every envelope ends at -80 dB or below, and the last 2 ms fade to 0:
 *     no sample ends with a click.
 */
#include "engine/drums.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define SR 48000.0f
#define TWO_PI 6.28318530717958647f

typedef struct rng {
	uint32_t s;
} rng;

static float noise(rng *r)
{
	uint32_t x = r->s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	r->s = x;
	return (float)(x >> 8) * (2.0f / 16777216.0f) - 1.0f;
}

typedef struct svf {
	float s1, s2, a1, a2, a3, k;
} svf;

static void svf_set(svf *f, float fc, float q)
{
	float g = tanf((float)M_PI * fminf(fc, 0.45f * SR) / SR);
	f->s1 = f->s2 = 0.0f;
	f->k = 1.0f / q;
	f->a1 = 1.0f / (1.0f + g * (g + f->k));
	f->a2 = g * f->a1;
	f->a3 = g * f->a2;
}

/* Returns low-pass; *bp band-pass (unity peak), *hp high-pass. */
static float svf_run(svf *f, float x, float *bp, float *hp)
{
	float v3 = x - f->s2;
	float v1 = f->a1 * f->s1 + f->a2 * v3;
	float v2 = f->s2 + f->a2 * f->s1 + f->a3 * v3;
	f->s1 = 2.0f * v1 - f->s1;
	f->s2 = 2.0f * v2 - f->s2;
	if (bp)
		*bp = f->k * v1;
	if (hp)
		*hp = x - f->k * v1 - v2;
	return v2;
}

static float blep(float t, float dt)
{
	if (t < dt) {
		t /= dt;
		return t + t - t * t - 1.0f;
	}
	if (t > 1.0f - dt) {
		t = (t - 1.0f) / dt;
		return t * t + t + t + 1.0f;
	}
	return 0.0f;
}

/* Band-limited square at phase *ph (turns), advancing by f Hz. */
static float square(float *ph, float f)
{
	float dt = f / SR, t = *ph, t2 = t + 0.5f, y;
	if (t2 >= 1.0f)
		t2 -= 1.0f;
	y = (t < 0.5f ? 1.0f : -1.0f) + blep(t, dt) - blep(t2, dt);
	*ph = t + dt >= 1.0f ? t + dt - 1.0f : t + dt;
	return y;
}

static float decay(float t, float tau)
{
	return expf(-t / tau);
}

typedef struct buf {
	float *d;
	int64_t n;
} buf;

static int buf_new(buf *b, float seconds)
{
	b->n = (int64_t)(seconds * SR);
	b->d = calloc((size_t)b->n + 4, sizeof *b->d);
	return b->d ? TT_OK : TT_ENOMEM;
}

/* Invariants 1 and 2: fade the tail, normalise to peak, hand to the bank. */
static int buf_finish(buf *b, sampler *bank, const char *name, float peak)
{
	float m = 0.0f;
	int64_t fade = (int64_t)(0.002f * SR);
	int rc;
	for (int64_t i = 0; i < fade && i < b->n; i++)
		b->d[b->n - 1 - i] *= (float)i / (float)fade;
	for (int64_t i = 0; i < b->n; i++)
		m = fmaxf(m, fabsf(b->d[i]));
	if (m > 0.0f)
		for (int64_t i = 0; i < b->n; i++)
			b->d[i] *= peak / m;
	rc = sampler_add(bank, name, b->d, b->n);
	if (rc < 0)
		free(b->d);
	b->d = NULL;
	return rc;
}

/* ---- kick: a sine swept down in pitch, a click, some drive ---- */

typedef struct kick_v {
	float f0, f1, ptau, atau, click, drive;
} kick_v;

static int make_kick(sampler *bank, const kick_v *v)
{
	buf b;
	float ph = 0.0f, norm = tanhf(v->drive);
	rng r = { 0x1234567u };
	svf hp;
	int rc = buf_new(&b, fminf(7.0f * v->atau, 3.0f));
	if (rc < 0)
		return rc;
	svf_set(&hp, 3000.0f, 0.7f);
	for (int64_t i = 0; i < b.n; i++) {
		float t = (float)i / SR, h;
		float f = v->f1 + (v->f0 - v->f1) * decay(t, v->ptau);
		float body = sinf(TWO_PI * ph) * decay(t, v->atau) * fminf(1.0f, t / 0.0005f);
		svf_run(&hp, noise(&r), NULL, &h);
		ph += f / SR;
		ph -= floorf(ph);
		body += v->click * h * decay(t, 0.004f);
		b.d[i] = tanhf(v->drive * body) / norm;
	}
	return buf_finish(&b, bank, "bd", 0.95f);
}

/* ---- snare: two damped tones and filtered noise ---- */

typedef struct snare_v {
	float f0, tone_tau, noise_fc, noise_tau, noise_mix;
} snare_v;

static int make_snare(sampler *bank, const snare_v *v)
{
	buf b;
	float p1 = 0.0f, p2 = 0.0f;
	rng r = { 0x2468acfu };
	svf bp, hp;
	int rc = buf_new(&b, 7.0f * fmaxf(v->tone_tau, v->noise_tau));
	if (rc < 0)
		return rc;
	svf_set(&bp, v->noise_fc, 0.8f);
	svf_set(&hp, 900.0f, 0.7f);
	for (int64_t i = 0; i < b.n; i++) {
		float t = (float)i / SR, nb, nh;
		float drop = 1.0f + 0.5f * decay(t, 0.01f);
		float tone = (0.7f * sinf(TWO_PI * p1) + 0.35f * sinf(TWO_PI * p2)) * decay(t, v->tone_tau);
		float n = noise(&r);
		svf_run(&bp, n, &nb, NULL);
		svf_run(&hp, nb + 0.3f * n, NULL, &nh);
		p1 += v->f0 * drop / SR;
		p2 += v->f0 * 1.78f * drop / SR;
		p1 -= floorf(p1);
		p2 -= floorf(p2);
		b.d[i] = (tone + v->noise_mix * nh * decay(t, v->noise_tau)) * fminf(1.0f, t / 0.0005f);
	}
	return buf_finish(&b, bank, "sd", 0.9f);
}

/* ---- metal: six detuned squares (the classic analogue hat), filtered ---- */

typedef struct metal_v {
	const char *name;
	float base, tau, fc, q, noise_mix, peak, seconds;
} metal_v;

static int make_metal(sampler *bank, const metal_v *v)
{
	static const float ratio[6] = { 1.0f, 1.4827f, 1.8003f, 2.5462f, 2.6304f, 3.8968f };
	float ph[6] = { 0.0f, 0.13f, 0.37f, 0.51f, 0.71f, 0.89f };
	buf b;
	rng r = { 0x55aa1234u };
	svf bp, hp;
	int rc = buf_new(&b, fminf(7.0f * v->tau, v->seconds));
	if (rc < 0)
		return rc;
	svf_set(&bp, v->fc, v->q);
	svf_set(&hp, v->fc * 0.7f, 0.7f);
	for (int64_t i = 0; i < b.n; i++) {
		float t = (float)i / SR, m = 0.0f, y, h;
		for (int k = 0; k < 6; k++)
			m += square(&ph[k], v->base * ratio[k]);
		m = m / 6.0f + v->noise_mix * noise(&r);
		svf_run(&bp, m, &y, NULL);
		svf_run(&hp, y, NULL, &h);
		b.d[i] = h * decay(t, v->tau) * fminf(1.0f, t / 0.0003f);
	}
	return buf_finish(&b, bank, v->name, v->peak);
}

/* ---- clap: bursts of band-passed noise, then a tail ---- */

static int make_clap(sampler *bank, float fc, float gap, int bursts, float tail)
{
	buf b;
	rng r = { 0x0badf00du };
	svf bp;
	int rc = buf_new(&b, 0.05f + 7.0f * tail);
	if (rc < 0)
		return rc;
	svf_set(&bp, fc, 2.0f);
	for (int64_t i = 0; i < b.n; i++) {
		float t = (float)i / SR, y, env = 0.0f;
		for (int k = 0; k < bursts; k++) {
			float tk = t - (float)k * gap;
			if (tk >= 0.0f && k < bursts - 1)
				env = fmaxf(env, decay(tk, 0.0035f));
		}
		if (t >= (float)(bursts - 1) * gap)
			env = fmaxf(env, decay(t - (float)(bursts - 1) * gap, tail));
		svf_run(&bp, noise(&r), &y, NULL);
		b.d[i] = y * env;
	}
	return buf_finish(&b, bank, "cp", 0.85f);
}

/* ---- tonal percussion: toms, rim, cowbell, bell-like ride ---- */

typedef struct tone_v {
	const char *name;
	float f, sweep, tau, noise_mix, peak;
	int partials; /* 1: sine tom; >1 inharmonic partials */
} tone_v;

static int make_tone(sampler *bank, const tone_v *v)
{
	static const float pr[5] = { 1.0f, 1.5f, 2.09f, 2.56f, 3.76f };
	float ph[5] = { 0 };
	buf b;
	rng r = { 0x7777u };
	svf hp;
	int rc = buf_new(&b, fminf(7.0f * v->tau, 3.0f));
	if (rc < 0)
		return rc;
	svf_set(&hp, 2500.0f, 0.7f);
	for (int64_t i = 0; i < b.n; i++) {
		float t = (float)i / SR, y = 0.0f, h;
		float f = v->f * (1.0f + v->sweep * decay(t, 0.04f));
		for (int k = 0; k < v->partials; k++) {
			y += sinf(TWO_PI * ph[k]) * decay(t, v->tau / (1.0f + 0.6f * (float)k)) / (1.0f + (float)k * 0.5f);
			ph[k] += f * pr[k] / SR;
			ph[k] -= floorf(ph[k]);
		}
		svf_run(&hp, noise(&r), NULL, &h);
		y += v->noise_mix * h * decay(t, 0.006f);
		b.d[i] = y * fminf(1.0f, t / 0.0004f);
	}
	return buf_finish(&b, bank, v->name, v->peak);
}

static int make_cowbell(sampler *bank, float f1, float f2, float tau)
{
	float p1 = 0.0f, p2 = 0.0f;
	buf b;
	svf bp;
	int rc = buf_new(&b, 7.0f * tau);
	if (rc < 0)
		return rc;
	svf_set(&bp, 2.6f * f1, 1.5f);
	for (int64_t i = 0; i < b.n; i++) {
		float t = (float)i / SR, y;
		float x = square(&p1, f1) + square(&p2, f2);
		float env = 0.7f * decay(t, 0.015f) + 0.3f * decay(t, tau);
		svf_run(&bp, x, &y, NULL);
		b.d[i] = (y + 0.25f * x) * env * fminf(1.0f, t / 0.0003f);
	}
	return buf_finish(&b, bank, "cb", 0.7f);
}

/* ---- shaker: band-passed noise with a soft attack ---- */

static int make_shaker(sampler *bank, float fc, float att, float tau)
{
	buf b;
	rng r = { 0x3141592u };
	svf bp;
	int rc = buf_new(&b, att + 7.0f * tau);
	if (rc < 0)
		return rc;
	svf_set(&bp, fc, 1.2f);
	for (int64_t i = 0; i < b.n; i++) {
		float t = (float)i / SR, y;
		float env = t < att ? t / att : decay(t - att, tau);
		svf_run(&bp, noise(&r), &y, NULL);
		b.d[i] = y * env * env;
	}
	return buf_finish(&b, bank, "sh", 0.6f);
}

static int build_skins(sampler *bank)
{
	static const kick_v kicks[] = {
		{ 160, 52, 0.030f, 0.16f, 0.5f, 1.6f }, { 120, 45, 0.050f, 0.55f, 0.1f, 1.0f },
		{ 200, 60, 0.020f, 0.08f, 0.8f, 2.5f }, { 100, 38, 0.060f, 0.30f, 0.2f, 1.2f },
		{ 250, 50, 0.015f, 0.20f, 1.0f, 4.0f }, { 90, 50, 0.040f, 0.14f, 0.0f, 1.0f },
	};
	static const snare_v snares[] = {
		{ 185, 0.10f, 5000, 0.14f, 1.0f }, { 200, 0.06f, 7000, 0.09f, 1.3f },
		{ 160, 0.15f, 3500, 0.22f, 0.8f }, { 230, 0.05f, 9000, 0.06f, 1.6f },
		{ 140, 0.20f, 2500, 0.30f, 0.6f },
	};
	int rc = TT_OK;
	for (size_t i = 0; rc == TT_OK && i < sizeof kicks / sizeof kicks[0]; i++)
		rc = make_kick(bank, &kicks[i]);
	for (size_t i = 0; rc == TT_OK && i < sizeof snares / sizeof snares[0]; i++)
		rc = make_snare(bank, &snares[i]);
	for (int i = 0; rc == TT_OK && i < 4; i++)
		rc = make_clap(bank, 1100.0f + 300.0f * (float)i, 0.009f + 0.002f * (float)i,
			       4 - (i == 3), 0.08f + 0.04f * (float)i);
	return rc;
}

/* Ride: the hat's metal, brighter and long, over a quiet inharmonic bell. */
static int make_ride(sampler *bank, float base, float tau, float bell)
{
	static const float ratio[6] = { 1.0f, 1.4827f, 1.8003f, 2.5462f, 2.6304f, 3.8968f };
	static const float pr[4] = { 1.0f, 2.09f, 2.56f, 3.76f };
	float ph[6] = { 0.0f, 0.13f, 0.37f, 0.51f, 0.71f, 0.89f }, bp[4] = { 0 };
	buf b;
	svf band, hp;
	int rc = buf_new(&b, fminf(7.0f * tau, 5.0f));
	if (rc < 0)
		return rc;
	svf_set(&band, 9000.0f, 0.8f);
	svf_set(&hp, 5000.0f, 0.7f);
	for (int64_t i = 0; i < b.n; i++) {
		float t = (float)i / SR, m = 0.0f, y, h, ring = 0.0f;
		for (int k = 0; k < 6; k++)
			m += square(&ph[k], base * ratio[k]);
		svf_run(&band, m / 6.0f, &y, NULL);
		svf_run(&hp, y, NULL, &h);
		for (int k = 0; k < 4; k++) {
			ring += sinf(TWO_PI * bp[k]) / (1.0f + (float)k);
			bp[k] += 2.0f * base * pr[k] / SR;
			bp[k] -= floorf(bp[k]);
		}
		b.d[i] = (h * (0.6f * decay(t, 0.02f) + 0.4f) + bell * ring * decay(t, 0.3f)) *
			 decay(t, tau) * fminf(1.0f, t / 0.0003f);
	}
	return buf_finish(&b, bank, "rd", 0.45f);
}

static int build_metals(sampler *bank)
{
	static const metal_v m[] = {
		{ "hh", 205, 0.045f, 10000, 1.2f, 0.3f, 0.55f, 0.35f },
		{ "hh", 230, 0.030f, 12000, 1.0f, 0.2f, 0.5f, 0.25f },
		{ "hh", 180, 0.070f, 8500, 1.4f, 0.4f, 0.55f, 0.5f },
		{ "hh", 260, 0.020f, 14000, 0.9f, 0.5f, 0.5f, 0.2f },
		{ "oh", 205, 0.35f, 10000, 1.2f, 0.3f, 0.5f, 2.5f },
		{ "oh", 230, 0.22f, 12000, 1.0f, 0.2f, 0.5f, 1.6f },
		{ "oh", 180, 0.55f, 8500, 1.4f, 0.4f, 0.5f, 3.5f },
		{ "cr", 310, 0.9f, 7000, 0.7f, 0.8f, 0.55f, 6.5f },
		{ "cr", 270, 1.3f, 6000, 0.6f, 0.7f, 0.55f, 6.5f },
		{ "cr", 350, 0.6f, 9000, 0.8f, 0.9f, 0.55f, 6.5f },
	};
	int rc = TT_OK;
	for (size_t i = 0; rc == TT_OK && i < sizeof m / sizeof m[0]; i++)
		rc = make_metal(bank, &m[i]);
	if (rc == TT_OK)
		rc = make_ride(bank, 420.0f, 0.9f, 0.15f);
	if (rc == TT_OK)
		rc = make_ride(bank, 470.0f, 1.3f, 0.3f);
	if (rc == TT_OK)
		rc = make_ride(bank, 380.0f, 0.6f, 0.08f);
	return rc;
}

static int build_tones(sampler *bank)
{
	static const tone_v t[] = {
		{ "lt", 90, 0.5f, 0.30f, 1.0f, 0.85f, 2 }, { "lt", 75, 0.7f, 0.45f, 0.7f, 0.85f, 2 },
		{ "lt", 105, 0.3f, 0.22f, 1.4f, 0.85f, 2 },
		{ "mt", 130, 0.5f, 0.25f, 1.0f, 0.8f, 2 }, { "mt", 115, 0.7f, 0.35f, 0.7f, 0.8f, 2 },
		{ "mt", 150, 0.3f, 0.18f, 1.4f, 0.8f, 2 },
		{ "ht", 190, 0.5f, 0.20f, 1.0f, 0.75f, 2 }, { "ht", 170, 0.7f, 0.28f, 0.7f, 0.75f, 2 },
		{ "ht", 220, 0.3f, 0.15f, 1.4f, 0.75f, 2 },
		{ "rim", 1700, 0.1f, 0.012f, 0.8f, 0.7f, 2 }, { "rim", 1400, 0.1f, 0.02f, 0.5f, 0.7f, 2 },
		{ "rim", 2100, 0.05f, 0.008f, 1.0f, 0.7f, 2 },
	};
	int rc = TT_OK;
	for (size_t i = 0; rc == TT_OK && i < sizeof t / sizeof t[0]; i++)
		rc = make_tone(bank, &t[i]);
	for (int i = 0; rc == TT_OK && i < 3; i++)
		rc = make_cowbell(bank, 540.0f + 40.0f * (float)i, 800.0f + 45.0f * (float)i,
				  0.12f + 0.08f * (float)i);
	for (int i = 0; rc == TT_OK && i < 4; i++)
		rc = make_shaker(bank, 5000.0f + 1200.0f * (float)i, 0.012f + 0.004f * (float)i,
				 0.035f + 0.015f * (float)i);
	return rc;
}

int drums_build(sampler *bank)
{
	int rc = build_skins(bank);
	if (rc == TT_OK)
		rc = build_metals(bank);
	if (rc == TT_OK)
		rc = build_tones(bank);
	return rc;
}
