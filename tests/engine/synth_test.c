/*
 * tests/engine/synth_test.c: the render engine from events to PCM: pitch,
 * silence of rests, onset accuracy, determinism, oscillators, drum kit,
 * absurd controls, voice and onset limits at N and N+1.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"
#include "engine/drums.h"
#include "engine/fx.h"
#include "engine/render.h"
#include "engine/synth_params.h"
#include "tests/engine/synth_events.h"
#include "tests/tap.h"

#define SR 48000

static tsrc *src_new(void)
{
	tsrc *s = calloc(1, sizeof *s);
	s->n = 1;
	return s;
}

/* Renders seconds of s at cps into a new interleaved buffer. */
static float *render_src(tsrc *s, double cps, double seconds, const sampler *bank, int chunk,
			 render_stats *st)
{
	render_config cfg;
	render *r;
	sched_source src = tsrc_source(s);
	int64_t n = (int64_t)(seconds * SR);
	float *out = calloc((size_t)n * 2, sizeof *out);
	render_config_default(&cfg);
	cfg.cps = cps;
	cfg.bank = bank;
	if (render_new(&cfg, &r) < 0)
		return out;
	render_set_source(r, &src);
	for (int64_t f = 0; f < n; f += chunk)
		render_block(r, out + 2 * f, (int)(n - f < chunk ? n - f : chunk));
	if (st)
		render_stats_get(r, st);
	render_free(r);
	return out;
}

static double peak_of(const float *x, int64_t a, int64_t b)
{
	double m = 0;
	for (int64_t i = a; i < b; i++)
		m = fmax(m, fmax(fabs(x[2 * i]), fabs(x[2 * i + 1])));
	return m;
}

static tev *one_note(tsrc *s, const char *sound, const char *note)
{
	tev *e = tseq_add(&s->tr[0], 0, 1, 1, 1);
	tev_str(e, "s", sound);
	tev_str(e, "note", note);
	return e;
}

static void test_pitch(void)
{
	static const char *const osc[] = { "sine", "sawtooth", "square", "triangle" };
	for (int i = 0; i < 4; i++) {
		tsrc *s = src_new();
		float *x;
		double f;
		one_note(s, osc[i], "a4");
		x = render_src(s, 0.5, 1.0, NULL, 480, NULL);
		f = freq_of(x, 4800, 43200);
		ok(fabs(f - 440.0) < 0.5, "note(\"a4\").s(\"%s\") measures %.3f Hz", osc[i], f);
		ok(peak_of(x, 4800, 48000) > 0.2, "%s is audible", osc[i]);
		free(x);
		free(s);
	}
}

/* A DFT bin of the left channel, for purity checks. */
static double dft_mag(const float *x, int64_t a, int64_t n, double f)
{
	double re = 0, im = 0;
	for (int64_t i = 0; i < n; i++) {
		double w = 0.5 - 0.5 * cos(2 * M_PI * (double)i / (double)n);
		re += x[2 * (a + i)] * w * cos(2 * M_PI * f * (double)i / SR);
		im -= x[2 * (a + i)] * w * sin(2 * M_PI * f * (double)i / SR);
	}
	return sqrt(re * re + im * im) / (double)n;
}

static void test_bandlimit(void)
{
	/* A 5 kHz saw: its 5th harmonic (25 kHz) folds to 23 kHz, its 10th to
	 * 2 kHz. Band-limiting keeps the alias at 2 kHz far below the fundamental. */
	tsrc *s = src_new();
	tev *e = tseq_add(&s->tr[0], 0, 1, 1, 1);
	float *x;
	double fund, alias;
	tev_str(e, "s", "sawtooth");
	tev_num(e, "freq", 5000);
	x = render_src(s, 0.5, 0.5, NULL, 256, NULL);
	fund = dft_mag(x, 4800, 8192, 5000);
	alias = dft_mag(x, 4800, 8192, 2000);
	ok(alias < fund * 0.01, "saw at 5 kHz: alias at 2 kHz %.1f dB below the fundamental",
	   20 * log10(fund / (alias + 1e-12)));
	free(x);
	free(s);
}

static void test_rests_silent(void)
{
	tsrc *s = src_new();
	tev *e = tseq_add(&s->tr[0], 0, 1, 1, 8); /* an eighth, then a rest */
	float *x;
	int64_t end;
	tev_str(e, "s", "sawtooth");
	tev_str(e, "note", "c3");
	x = render_src(s, 0.5, 1.9, NULL, 300, NULL);
	/* the note lasts 0.25 s, release 10 ms: from 0.27 s on, exact zeros */
	end = (int64_t)(0.27 * SR);
	ok(peak_of(x, 0, end) > 0.1, "the note sounds");
	ok(peak_of(x, end, (int64_t)(1.9 * SR)) == 0.0, "the rest after it is exactly silent");
	free(x);
	free(s);
}

static int64_t first_sound(const float *x, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		if (x[2 * i] != 0.0f || x[2 * i + 1] != 0.0f)
			return i;
	return -1;
}

static void test_onset_frame(void)
{
	static const struct { int64_t n, d; double cps; } c[] = {
		{ 1, 3, 0.5 }, { 1, 3, 0.7 }, { 5, 7, 0.5625 }, { 1, 1, 1.3 }, { 3, 17, 0.45 },
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		tsrc *s = src_new();
		tev *e = tseq_add(&s->tr[0], c[i].n, c[i].d, c[i].n + c[i].d, c[i].d);
		double exact = (double)c[i].n / (double)c[i].d * SR / c[i].cps;
		float *x;
		int64_t at;
		tev_str(e, "s", "sine");
		tev_num(e, "freq", 1000);
		tev_num(e, "attack", 0.001);
		x = render_src(s, c[i].cps, exact / SR + 0.1, NULL, 128, NULL);
		at = first_sound(x, (int64_t)(exact + 0.1 * SR));
		/* the sine starts at phase 0: the first non-zero is the next frame */
		ok(at >= 0 && fabs((double)(at - 1) - exact) <= 1.0,
		   "onset %lld/%lld at cps %.4f: exact frame %.3f, heard from %lld", (long long)c[i].n,
		   (long long)c[i].d, c[i].cps, exact, (long long)at - 1);
		free(x);
		free(s);
	}
}

typedef struct seen {
	int64_t frame[8];
	int n, played;
} seen;

static void on_onset(void *ctx, const sched_onset *o, bool played)
{
	seen *s = ctx;
	if (s->n < 8)
		s->frame[s->n] = o->frame;
	s->n++;
	s->played += played;
}

static void test_onset_hook(void)
{
	/* The hook reports the output frame at which each onset sounds. */
	tsrc *s = src_new();
	tev *e;
	render *r;
	render_config cfg;
	sched_source src;
	seen sn = { { 0 }, 0, 0 };
	float *x = calloc(2 * 48000, sizeof *x);
	e = tseq_add(&s->tr[0], 1, 3, 2, 3);
	tev_str(e, "s", "sine");
	tev_num(e, "freq", 1000);
	e = tseq_add(&s->tr[0], 2, 3, 1, 1);
	tev_str(e, "s", "no_such");
	render_config_default(&cfg);
	cfg.cps = 0.7;
	render_new(&cfg, &r);
	src = tsrc_source(s);
	render_set_source(r, &src);
	render_set_onset_hook(r, on_onset, &sn);
	render_block(r, x, 48000);
	render_free(r);
	ok(sn.n == 2 && sn.played == 1, "the hook saw 2 onsets, 1 played (%d, %d)", sn.n, sn.played);
	ok(sn.frame[0] == 22857 && first_sound(x, 48000) - 1 == 22857,
	   "the hook's frame (%lld) is where the sound starts", (long long)sn.frame[0]);
	ok(sn.frame[1] == 45714, "the second onset at floor(2/3 / 0.7 * 48000) = %lld",
	   (long long)sn.frame[1]);
	free(x);
	free(s);
}

typedef struct log_t {
	int64_t frame[64];
	size_t track_ctx[64];
	int n;
} log_t;

static void log_onset(void *ctx, const sched_onset *o, bool played)
{
	log_t *l = ctx;
	const tt_field *f = event_field(o->ev, "freq");
	(void)played;
	if (l->n < 64) {
		l->frame[l->n] = o->frame;
		l->track_ctx[l->n] = f ? (size_t)f->num : 0;
		l->n++;
	}
}

/* An evaluation lands exactly on its frame: the old source before it, the
 * new one from it, even in the middle of a render block. */
static void test_switch_at(void)
{
	tsrc *a = src_new(), *b = src_new();
	sched_source sa, sb;
	render *r;
	render_config cfg;
	log_t lg = { { 0 }, { 0 }, 0 };
	float *x = calloc(2 * 2 * SR, sizeof *x);
	int before = 0, ok_order = 1;
	tev *e = tseq_add(&a->tr[0], 0, 1, 1, 1);
	tev_str(e, "s", "sine");
	tev_num(e, "freq", 440);
	b->tr[0].repeat = 1;
	for (int i = 0; i < 8; i++) {
		e = tseq_add(&b->tr[0], i, 8, i + 1, 8);
		tev_str(e, "s", "sine");
		tev_num(e, "freq", 880);
	}
	sa = tsrc_source(a);
	sb = tsrc_source(b);
	render_config_default(&cfg);
	render_new(&cfg, &r);
	render_set_onset_hook(r, log_onset, &lg);
	render_set_source(r, &sa);
	render_set_source_at(r, &sb, 30000);
	ok(render_switch_pending(r), "the switch is pending");
	render_block(r, x, 2 * SR);
	ok(!render_switch_pending(r), "and has happened after the render");
	for (int i = 0; i < lg.n; i++) {
		if (lg.track_ctx[i] == 880 && lg.frame[i] < 30000)
			before++;
		if (i > 0 && lg.frame[i] < lg.frame[i - 1])
			ok_order = 0;
	}
	ok(lg.n >= 2 && lg.track_ctx[0] == 440 && lg.frame[0] == 0, "the old source played at 0");
	ok(lg.n >= 2 && lg.track_ctx[1] == 880 && lg.frame[1] == 36000 && before == 0 && ok_order,
	   "the new one from its first onset after frame 30000 (%lld)", (long long)lg.frame[1]);
	render_free(r);
	free(x);
	free(a);
	free(b);
}

static void test_determinism(sampler *bank)
{
	tsrc *s = src_new();
	tev *e;
	float *a, *b, *c;
	int64_t n = (int64_t)(3.0 * SR);
	s->n = 2;
	s->tr[0].repeat = s->tr[1].repeat = 1;
	for (int i = 0; i < 4; i++) {
		e = tseq_add(&s->tr[0], i, 4, i + 1, 4);
		tev_str(e, "s", i % 2 ? "sd" : "bd");
		tev_num(e, "room", 0.3);
	}
	for (int i = 0; i < 8; i++) {
		e = tseq_add(&s->tr[1], i, 8, i + 1, 8);
		tev_str(e, "s", i % 3 ? "pink" : "sawtooth");
		tev_num(e, "note", 40 + i * 3);
		tev_num(e, "cutoff", 800 + 200 * i);
		tev_num(e, "delay", 0.4);
		tev_num(e, "crush", 6);
	}
	a = render_src(s, 0.5625, 3.0, bank, 128, NULL);
	b = render_src(s, 0.5625, 3.0, bank, 128, NULL);
	c = render_src(s, 0.5625, 3.0, bank, 77, NULL);
	ok(memcmp(a, b, (size_t)n * 2 * sizeof *a) == 0, "two renders give the same bytes");
	ok(memcmp(a, c, (size_t)n * 2 * sizeof *a) == 0,
	   "rendering in blocks of 77 frames gives the same bytes as 128");
	ok(peak_of(a, 0, n) > 0.1, "the determinism program is not silent");
	free(a);
	free(b);
	free(c);
	free(s);
}

static void test_drum_kit(sampler *bank)
{
	static const char *const kit[] = { "bd", "sd", "hh", "oh", "cp", "rim", "lt", "mt",
					   "ht", "cb", "cr", "rd", "sh" };
	for (size_t i = 0; i < sizeof kit / sizeof kit[0]; i++) {
		tsrc *s = src_new();
		tev *e = tseq_add(&s->tr[0], 0, 1, 1, 4);
		float *x;
		size_t nv = sampler_sound_count(bank, kit[i]);
		tev_str(e, "s", kit[i]);
		tev_num(e, "n", 1);
		x = render_src(s, 0.5, 0.5, bank, 256, NULL);
		ok(nv >= 3 && peak_of(x, 0, SR / 2) > 0.05,
		   "drum %s: %zu variants, n=1 sounds (peak %.2f)", kit[i], nv,
		   peak_of(x, 0, SR / 2));
		free(x);
		free(s);
	}
}

static void add_absurd(tev *e, int i)
{
	static const char *const keys[] = { "gain", "cutoff", "resonance", "speed", "note",
					     "hcutoff", "hresonance", "bandf", "bandq", "shape",
					     "distort", "crush", "coarse", "delayfeedback", "room",
					     "size" };
	static const double vals[] = { 1e9, -5, 1000, 0, 1e6, NAN, INFINITY, -INFINITY, 1e300,
				       -1e9, 5e-324 };
	for (int k = 0; k < 15 && e->nf < TEV_MAX_FIELDS - 1; k++)
		tev_num(e, keys[(k + i) % 16], vals[(k * 7 + i) % 11]);
}

static void test_absurd(sampler *bank)
{
	static const char *const snd[] = { "sawtooth", "square", "bd", "white", "hh", "sine",
					   "brown", "cr" };
	tsrc *s = src_new();
	render_stats st;
	float *x;
	int64_t n = 4 * SR, bad = 0;
	s->tr[0].repeat = 1;
	for (int i = 0; i < 64; i++) {
		tev *e = tseq_add(&s->tr[0], i, 64, i + 1, 64);
		tev_str(e, "s", snd[i % 8]);
		add_absurd(e, i);
	}
	x = render_src(s, 0.5, 4.0, bank, 128, &st);
	for (int64_t i = 0; i < 2 * n; i++)
		bad += !isfinite(x[i]) || fabsf(x[i]) > FX_LIMITER_CEILING;
	is_int(bad, 0, "absurd controls: every sample finite and within the ceiling");
	is_int(st.killed, 0, "absurd controls: no voice state ran away");
	ok(st.voices > 0, "absurd controls: voices still played (%llu)",
	   (unsigned long long)st.voices);
	free(x);
	free(s);
}

static void test_gain_bounded(void)
{
	/* gain 1e9 clamps to 4: a sine at gain 4 is loud but the limiter holds. */
	tsrc *s = src_new();
	tev *e = one_note(s, "sine", "a3");
	render_stats st;
	float *x;
	tev_num(e, "gain", 1e9);
	x = render_src(s, 0.5, 0.5, NULL, 128, &st);
	ok(peak_of(x, 0, SR / 2) <= FX_LIMITER_CEILING, "gain 1e9: peak %.4f within the ceiling",
	   peak_of(x, 0, SR / 2));
	ok(st.min_gain > 0.1, "gain 1e9 is clamped (limiter gain %.3f, not 1e-9)", st.min_gain);
	free(x);
	free(s);
}

static void test_voice_limit(void)
{
	for (int extra = 0; extra <= 1; extra++) {
		tsrc *s = src_new();
		render_stats st;
		float *x;
		for (int i = 0; i < TT_MAX_VOICES + extra; i++) {
			tev *e = tseq_add(&s->tr[0], 0, 1, 1, 1);
			tev_str(e, "s", "sine");
			tev_num(e, "note", 30 + i % 60);
			tev_num(e, "gain", 0.01);
		}
		x = render_src(s, 0.5, 0.05, NULL, 128, &st);
		is_int(st.stolen, extra, "%d simultaneous voices: %d stolen", TT_MAX_VOICES + extra,
		       extra);
		is_int(st.active, TT_MAX_VOICES, "the pool holds %d voices", TT_MAX_VOICES);
		free(x);
		free(s);
	}
}

static void test_onset_limit(void)
{
	for (int extra = 0; extra <= 1; extra++) {
		tsrc *s = src_new();
		render_stats st;
		float *x;
		s->n = 1;
		for (int i = 0; i < TT_MAX_ONSETS_PER_BLOCK + extra; i++) {
			tev *e = tseq_add(&s->tr[0], 0, 1, 1, 1);
			tev_str(e, "s", "sine");
			tev_num(e, "gain", 0.001);
		}
		x = render_src(s, 0.5, 0.01, NULL, 128, &st);
		is_int(st.sched.dropped, extra, "%d onsets in one block: %d dropped",
		       TT_MAX_ONSETS_PER_BLOCK + extra, extra);
		free(x);
		free(s);
	}
}

static void test_no_retrigger(void)
{
	/* A two-cycle note: queried block by block, it starts one voice only. */
	tsrc *s = src_new();
	render_stats st;
	float *x;
	tev *e = tseq_add(&s->tr[0], 0, 1, 2, 1);
	tev_str(e, "s", "triangle");
	x = render_src(s, 1.0, 1.5, NULL, 100, &st);
	is_int(st.voices, 1, "an event spanning many blocks starts exactly one voice");
	free(x);
	free(s);
}

static void test_missing(sampler *bank)
{
	tsrc *s = src_new();
	render_stats st;
	float *x;
	tev *e = tseq_add(&s->tr[0], 0, 1, 1, 2);
	tev_str(e, "s", "no_such_sound:3");
	x = render_src(s, 0.5, 1.0, bank, 128, &st);
	is_int(st.missing, 1, "a missing sound is counted");
	ok(peak_of(x, 0, SR) == 0.0, "a missing sound is silent");
	free(x);
	free(s);
}

static void test_notes(void)
{
	static const struct { const char *s; double m; } t[] = {
		{ "c3", 48 }, { "a4", 69 }, { "eb2", 39 }, { "C#4", 61 }, { "cs4", 61 },
		{ "bb3", 58 }, { "e", 52 }, { "g-1", 7 }, { "fb4", 64 },
	};
	double m;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int rc = synth_note_from_name(t[i].s, &m);
		ok(rc == TT_OK && m == t[i].m, "note name %s is MIDI %g", t[i].s, t[i].m);
	}
	is_int(synth_note_from_name("h2", &m), TT_EINVAL, "h2 is not a note name");
	is_int(synth_note_from_name("c3x", &m), TT_EINVAL, "c3x is not a note name");
	is_int(synth_note_from_name("", &m), TT_EINVAL, "empty is not a note name");
}

static double energy(const float *x, int64_t a, int64_t b)
{
	double e = 0;
	for (int64_t i = a; i < b; i++)
		e += (double)x[2 * i] * x[2 * i] + (double)x[2 * i + 1] * x[2 * i + 1];
	return e;
}

/* Delay repeats at delaytime; reverb tails grow with size and die away. */
static void test_effects(sampler *bank)
{
	tsrc *s = src_new();
	tev *e = tseq_add(&s->tr[0], 0, 1, 1, 64); /* a 31 ms blip at cps 0.5 */
	float *x;
	double small, big, late;
	tev_str(e, "s", "sine");
	tev_num(e, "freq", 1000);
	tev_num(e, "delay", 0.8);
	tev_num(e, "delaytime", 0.25);
	tev_num(e, "delayfeedback", 0.5);
	x = render_src(s, 0.5, 1.0, bank, 128, NULL);
	ok(energy(x, 4000, 11000) < 1e-6 && energy(x, 12000, 13500) > 1.0,
	   "the echo arrives 0.25 s after the blip, not before");
	ok(energy(x, 24000, 25500) > 0.1 && energy(x, 24000, 25500) < energy(x, 12000, 13500),
	   "and repeats quieter at 0.5 s");
	free(x);
	free(s);
	s = src_new();
	e = tseq_add(&s->tr[0], 0, 1, 1, 64);
	tev_str(e, "s", "cp");
	tev_num(e, "room", 1);
	tev_num(e, "size", 0);
	x = render_src(s, 0.5, 2.0, bank, 128, NULL);
	small = energy(x, 48000, 96000);
	free(x);
	s->tr[0].ev[0].f[2].num = 8;
	x = render_src(s, 0.5, 2.0, bank, 128, NULL);
	big = energy(x, 48000, 96000);
	free(x);
	s->tr[0].ev[0].f[2].num = 10;
	x = render_src(s, 0.025, 30.0, bank, 128, NULL); /* one clap, then 30 s */
	late = energy(x, 28 * 48000, 30 * 48000);
	ok(big > 100 * small, "size 8 rings far longer than size 0 (%.3g vs %.3g)", big, small);
	ok(late < 1e-6, "even size 10 dies away (energy %.3g after 28 s)", late);
	free(x);
	free(s);
}

/* Renders one 1-cycle note (cps 0.5: 2 s) of sound at note with one extra
 * control; NULL key for none. */
static float *one(const char *sound, double note, const char *key, double v, const char *skey,
		  const char *sv, double seconds)
{
	tsrc *s = src_new();
	tev *e = tseq_add(&s->tr[0], 0, 1, 1, 1);
	float *x;
	tev_str(e, "s", sound);
	tev_num(e, "note", note);
	tev_num(e, "gain", 0.5);
	if (key)
		tev_num(e, key, v);
	if (skey)
		tev_str(e, skey, sv);
	x = render_src(s, 0.5, seconds, NULL, 128, NULL);
	free(s);
	return x;
}

static double chan_peak(const float *x, int ch, int64_t a, int64_t b)
{
	double m = 0;
	for (int64_t i = a; i < b; i++)
		m = fmax(m, fabs(x[2 * i + ch]));
	return m;
}

/* Every control changes the sound the way docs/sound.md says. */
static void test_controls_level(void)
{
	float *c = one("sine", 57, NULL, 0, NULL, NULL, 0.5);
	float *l = one("sine", 57, "pan", 0, NULL, NULL, 0.5);
	float *v = one("sine", 57, "velocity", 0.5, NULL, NULL, 0.5);
	float *p = one("sine", 57, "postgain", 1.5, NULL, NULL, 0.5);
	float *a = one("sine", 57, "attack", 0.3, NULL, NULL, 0.5);
	double pc = chan_peak(c, 0, 4800, 24000);
	ok(chan_peak(l, 1, 0, 24000) < 1e-6 && chan_peak(l, 0, 4800, 24000) > pc * 1.3,
	   "pan 0: all left, louder than centre (constant power)");
	ok(fabs(chan_peak(v, 0, 4800, 24000) / pc - 0.5) < 0.01, "velocity 0.5 halves the level");
	ok(fabs(chan_peak(p, 0, 4800, 24000) / pc - 1.5) < 0.02, "postgain 1.5 raises it by half");
	ok(chan_peak(a, 0, 0, 2400) < 0.2 * pc, "attack 0.3: the first 50 ms are soft");
	free(c), free(l), free(v), free(p), free(a);
}

static void test_controls_filters(void)
{
	float *raw = one("sawtooth", 45, NULL, 0, NULL, NULL, 0.5); /* 110 Hz */
	float *lp = one("sawtooth", 45, "cutoff", 300, NULL, NULL, 0.5);
	float *hp = one("sawtooth", 45, "hcutoff", 2000, NULL, NULL, 0.5);
	float *bp = one("sawtooth", 45, "bandf", 1100, NULL, NULL, 0.5);
	float *va = one("sawtooth", 45, NULL, 0, "vowel", "a", 0.5);
	float *vi = one("sawtooth", 45, NULL, 0, "vowel", "i", 0.5);
	double r_hi = dft_mag(raw, 4800, 8192, 3300), r_lo = dft_mag(raw, 4800, 8192, 110);
	ok(dft_mag(lp, 4800, 8192, 3300) < 0.01 * r_hi, "cutoff 300 removes 3.3 kHz");
	ok(dft_mag(hp, 4800, 8192, 110) < 0.01 * r_lo, "hcutoff 2000 removes 110 Hz");
	ok(dft_mag(bp, 4800, 8192, 1100) / dft_mag(bp, 4800, 8192, 110) >
	   5 * dft_mag(raw, 4800, 8192, 1100) / r_lo,
	   "bandf 1100 lifts 1.1 kHz over the fundamental");
	ok(dft_mag(va, 4800, 8192, 770) > 3 * dft_mag(vi, 4800, 8192, 770) &&
	   dft_mag(vi, 4800, 8192, 2530) > dft_mag(va, 4800, 8192, 2530),
	   "vowel a is open (770 Hz), vowel i is bright (2.5 kHz)");
	free(raw), free(lp), free(hp), free(bp), free(va), free(vi);
}

static void test_controls_shapers(void)
{
	float *c = one("sine", 57, NULL, 0, NULL, NULL, 0.5);
	float *sh = one("sine", 57, "shape", 0.9, NULL, NULL, 0.5);
	float *di = one("sine", 57, "distort", 5, NULL, NULL, 0.5);
	float *cr = one("sine", 57, "crush", 2, NULL, NULL, 0.5);
	float *co = one("sine", 57, "coarse", 8, NULL, NULL, 0.5);
	double h3 = dft_mag(c, 4800, 8192, 660);
	int levels = 0, runs = 1;
	ok(dft_mag(sh, 4800, 8192, 660) > 100 * h3 + 1e-4, "shape adds the 3rd harmonic");
	ok(dft_mag(di, 4800, 8192, 660) > 100 * h3 + 1e-4, "distort adds the 3rd harmonic");
	for (int64_t i = 9601; i < 14400; i++) {
		levels += cr[2 * i] != cr[2 * i - 2] && fabs(cr[2 * i] - cr[2 * i - 2]) > 0.05;
		runs += co[2 * i] != co[2 * i - 2];
	}
	ok(levels > 10 && levels < 200, "crush 2 leaves a few big steps (%d)", levels);
	ok(abs(runs - 4800 / 8) < 20, "coarse 8 holds each sample 8 frames (%d changes)", runs);
	free(c), free(sh), free(di), free(cr), free(co);
}

/* The limiter's gain covers every peak by itself (the final clamp never has
 * to act), on signals built to break a sliding-window minimum. */
static void test_limiter(void)
{
	static float x[2 * 20000];
	fx_limiter l;
	uint32_t r = 12345;
	double mx = 0;
	fx_limiter_init(&l);
	for (int i = 0; i < 20000; i++) {
		float v;
		r = r * 1103515245u + 12345u;
		if (i < 4000) /* a loud decay: the need rises every frame */
			v = 100.0f * expf(-(float)i / 300.0f) * (i & 1 ? 1.0f : -1.0f);
		else if (i < 8000) /* isolated impulses */
			v = i % 97 == 0 ? 50.0f : 0.01f;
		else if (i < 12000) /* noise of random loudness */
			v = ((float)(r >> 8) / 8388608.0f - 1.0f) * (float)(1 + (r >> 28));
		else /* a slow swell past the ceiling */
			v = sinf((float)i * 0.05f) * (float)(i - 12000) / 2000.0f;
		x[2 * i] = v;
		x[2 * i + 1] = -0.5f * v;
	}
	x[2 * 5000] = NAN;
	x[2 * 5001 + 1] = INFINITY;
	fx_limiter_process(&l, x, 20000);
	for (int i = 0; i < 40000; i++)
		mx = fmax(mx, isfinite(x[i]) ? fabs(x[i]) : 1e9);
	is_int(l.clamped, 0, "the limiter's gain alone keeps every peak under the ceiling");
	ok(mx <= FX_LIMITER_CEILING, "output peak %.5f <= ceiling, NaN and Inf silenced", mx);
	ok(fabs(x[2 * (4000 + FX_LIMITER_LOOKAHEAD + 1)]) < 0.02,
	   "quiet input right after a loud passage is not boosted");
}

/* hush: every voice fades out over 50 ms, without a jump, and the tracks
 * stay silent until unhushed. */
static void test_hush(void)
{
	tsrc *s = src_new();
	tev *e = one_note(s, "sine", "a3");
	render *r;
	render_config cfg;
	sched_source src;
	float *x = calloc(2 * 2 * SR, sizeof *x);
	double jump = 0;
	tev_num(e, "gain", 1);
	render_config_default(&cfg);
	cfg.cps = 0.25; /* the note lasts 4 s */
	render_new(&cfg, &r);
	src = tsrc_source(s);
	render_set_source(r, &src);
	render_block(r, x, SR / 2);
	render_hush(r, true);
	render_block(r, x + SR, SR * 3 / 2);
	render_free(r);
	for (int64_t i = SR / 2; i < 2 * SR; i++)
		jump = fmax(jump, fabs(x[2 * i] - x[2 * i - 2]));
	ok(peak_of(x, (int64_t)(0.6 * SR), 2 * SR) == 0.0, "after hush the output is silent");
	ok(jump < 0.06, "the fade-out has no jump (largest step %.4f)", jump);
	free(x);
	free(s);
}

/* TT_MAX_ORBITS: orbit N-1 is the last bus, orbit N plays on it too. */
static void test_orbit_limit(void)
{
	tt_field f[2] = { { "s", TT_V_STR, 0, "sine" }, { "orbit", TT_V_NUM, 0, NULL } };
	tt_event e = { .has_whole = true, .fields = f, .n_fields = 2 };
	synth_params sp;
	f[1].num = TT_MAX_ORBITS - 1;
	ok(synth_params_from_event(&e, NULL, 1, false, 1, &sp) == TT_OK &&
	   sp.orbit == TT_MAX_ORBITS - 1, "orbit %d is its own bus", TT_MAX_ORBITS - 1);
	f[1].num = TT_MAX_ORBITS;
	ok(synth_params_from_event(&e, NULL, 1, false, 1, &sp) == TT_OK &&
	   sp.orbit == TT_MAX_ORBITS - 1, "orbit %d plays on bus %d", TT_MAX_ORBITS,
	   TT_MAX_ORBITS - 1);
	{ /* and a voice on the last orbit with delay and reverb sounds */
		tsrc *s = src_new();
		tev *ev = one_note(s, "sine", "a4");
		float *x;
		tev_num(ev, "orbit", TT_MAX_ORBITS - 1);
		tev_num(ev, "delay", 0.5);
		tev_num(ev, "room", 0.5);
		x = render_src(s, 0.5, 0.5, NULL, 256, NULL);
		ok(peak_of(x, 0, SR / 2) > 0.1, "the last orbit's buses play");
		free(x);
		free(s);
	}
}

int main(void)
{
	sampler *bank = NULL;
	int rc = sampler_new(&bank);
	if (rc == TT_OK)
		rc = drums_build(bank);
	is_int(rc, TT_OK, "the drum kit builds");
	test_notes();
	test_pitch();
	test_bandlimit();
	test_rests_silent();
	test_onset_frame();
	test_onset_hook();
	test_switch_at();
	test_determinism(bank);
	test_drum_kit(bank);
	test_absurd(bank);
	test_gain_bounded();
	test_voice_limit();
	test_orbit_limit();
	test_hush();
	test_limiter();
	test_controls_level();
	test_controls_filters();
	test_controls_shapers();
	test_effects(bank);
	test_onset_limit();
	test_no_retrigger();
	test_missing(bank);
	sampler_free(bank);
	return tap_done();
}
