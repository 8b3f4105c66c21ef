/*
 * engine/synth_params.c: event fields to clamped voice parameters.
 *
 * Design:
 *  1. One pass over the event's fields; each known key writes one slot of a
 *     'raw' table (NaN = not given). Unknown keys are ignored, so a control
 *     the engine does not play never stops a sound.
 *  2. Every value is clamped by synth_clamp() to the range in docs/sound.md;
 *     NaN and Inf become the default. The ranges are chosen so the DSP can
 *     neither overflow nor self-oscillate without bound.
 *  3. Envelope defaults follow Strudel's rule: with no ADSR field the synth
 *     envelope is (0.001, 0.05, 1, 0.01); a given decay without sustain
 *     means sustain 0, otherwise sustain 1.
 */
#include "engine/synth_params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"

enum {
	K_N, K_NOTE, K_FREQ, K_GAIN, K_VELOCITY, K_POSTGAIN, K_PAN, K_SPEED,
	K_BEGIN, K_END, K_CUTOFF, K_RESONANCE, K_HCUTOFF, K_HRESONANCE, K_BANDF,
	K_BANDQ, K_ATTACK, K_DECAY, K_SUSTAIN, K_RELEASE, K_LPENV, K_LPATTACK,
	K_LPDECAY, K_LPSUSTAIN, K_LPRELEASE, K_SHAPE, K_DISTORT, K_CRUSH,
	K_COARSE, K_ORBIT, K_DELAY, K_DELAYTIME, K_DELAYFEEDBACK, K_ROOM, K_SIZE,
	K_COUNT
};

static const char *const key_names[K_COUNT] = {
	"n", "note", "freq", "gain", "velocity", "postgain", "pan", "speed",
	"begin", "end", "cutoff", "resonance", "hcutoff", "hresonance", "bandf",
	"bandq", "attack", "decay", "sustain", "release", "lpenv", "lpattack",
	"lpdecay", "lpsustain", "lprelease", "shape", "distort", "crush",
	"coarse", "orbit", "delay", "delaytime", "delayfeedback", "room", "size",
};

double synth_clamp(double x, double lo, double hi, double def)
{
	if (isnan(x))
		return def;
	if (x < lo)
		return lo;
	if (x > hi)
		return hi;
	return x;
}

int synth_note_from_name(const char *s, double *midi)
{
	static const int chroma[7] = { 9, 11, 0, 2, 4, 5, 7 }; /* a..g */
	int c, acc = 0, oct = 3, neg = 0, digits = 0;
	long o = 0;
	if (!s || !*s)
		return TT_EINVAL;
	c = s[0] | 0x20;
	if (c < 'a' || c > 'g')
		return TT_EINVAL;
	s++;
	for (; *s; s++) {
		int ch = *s | 0x20;
		if (*s == '#' || ch == 's')
			acc++;
		else if (ch == 'b' || ch == 'f')
			acc--;
		else
			break;
	}
	if (*s == '-') {
		neg = 1;
		s++;
	}
	for (; *s >= '0' && *s <= '9' && digits < 3; s++, digits++)
		o = o * 10 + (*s - '0');
	if (*s || (neg && !digits))
		return TT_EINVAL;
	if (digits)
		oct = neg ? -(int)o : (int)o;
	*midi = (double)((oct + 1) * 12 + chroma[c - 'a'] + acc);
	return TT_OK;
}

static int key_index(const char *key)
{
	if (strcmp(key, "roomsize") == 0) /* the pattern language's canonical name */
		return K_SIZE;
	for (int i = 0; i < K_COUNT; i++)
		if (strcmp(key, key_names[i]) == 0)
			return i;
	return -1;
}

static int vowel_from(const char *s)
{
	static const char v[] = "aeiou";
	if (!s || !s[0] || s[1])
		return SYNTH_VOWEL_NONE;
	for (int i = 0; i < 5; i++)
		if ((s[0] | 0x20) == v[i])
			return i;
	return SYNTH_VOWEL_NONE;
}

static int source_from(const char *name)
{
	static const struct { const char *n; synth_source s; } t[] = {
		{ "sine", SYNTH_SINE }, { "sin", SYNTH_SINE },
		{ "sawtooth", SYNTH_SAW }, { "saw", SYNTH_SAW },
		{ "square", SYNTH_SQUARE }, { "sqr", SYNTH_SQUARE },
		{ "triangle", SYNTH_TRI }, { "tri", SYNTH_TRI },
		{ "white", SYNTH_WHITE }, { "pink", SYNTH_PINK }, { "brown", SYNTH_BROWN },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(name, t[i].n) == 0)
			return t[i].s;
	return -1;
}

typedef struct raw {
	double v[K_COUNT];
	const char *s, *note_str, *vowel, *bank;
} raw;

static void raw_read(const tt_event *e, raw *r)
{
	for (int i = 0; i < K_COUNT; i++)
		r->v[i] = NAN;
	r->s = r->note_str = r->vowel = r->bank = NULL;
	for (uint32_t i = 0; i < e->n_fields; i++) {
		const tt_field *f = &e->fields[i];
		int k;
		if (!f->key) { /* a bare value: a string names a sound, a number a note */
			if (f->kind == TT_V_STR)
				r->s = f->str;
			else
				r->v[K_NOTE] = f->num;
			continue;
		}
		if (strcmp(f->key, "s") == 0) {
			r->s = f->kind == TT_V_STR ? f->str : NULL;
			continue;
		}
		if (strcmp(f->key, "bank") == 0) {
			r->bank = f->kind == TT_V_STR ? f->str : NULL;
			continue;
		}
		if (strcmp(f->key, "vowel") == 0) {
			r->vowel = f->kind == TT_V_STR ? f->str : NULL;
			continue;
		}
		k = key_index(f->key);
		if (k < 0)
			continue;
		if (f->kind == TT_V_STR) {
			if (k == K_NOTE)
				r->note_str = f->str;
			continue;
		}
		r->v[k] = isfinite(f->num) ? f->num : NAN;
	}
}

static void read_adsr(const raw *r, int k0, synth_adsr def, synth_adsr *out)
{
	const double *v = &r->v[k0];
	bool any = !isnan(v[0]) || !isnan(v[1]) || !isnan(v[2]) || !isnan(v[3]);
	if (!any) {
		*out = def;
		return;
	}
	out->attack = (float)synth_clamp(v[0], 0.001, 10.0, def.attack);
	out->decay = (float)synth_clamp(v[1], 0.0, 10.0, def.decay);
	out->sustain = (float)synth_clamp(v[2], 0.0, 1.0, isnan(v[1]) ? 1.0 : 0.0);
	out->release = (float)synth_clamp(v[3], 0.001, 10.0, def.release);
}

/* The note as MIDI, or NaN when none was given or it was not a name. */
static double note_of(const raw *r)
{
	double m = r->v[K_NOTE];
	if (r->note_str && synth_note_from_name(r->note_str, &m) < 0)
		return NAN;
	return m;
}

static int pick_source(const raw *r, const sampler *bank, synth_params *p)
{
	char name[64];
	const char *colon;
	int64_t idx = 0;
	int src;
	const char *s = r->s ? r->s : "triangle";
	colon = strchr(s, ':');
	if (colon) {
		size_t len = (size_t)(colon - s);
		if (len >= sizeof name)
			return TT_ENOTFOUND;
		memcpy(name, s, len);
		name[len] = '\0';
		idx = strtoll(colon + 1, NULL, 10);
	} else {
		size_t len = strlen(s);
		if (len >= sizeof name)
			return TT_ENOTFOUND;
		memcpy(name, s, len + 1);
		if (!isnan(r->v[K_N]))
			idx = (int64_t)floor(synth_clamp(r->v[K_N], -1e9, 1e9, 0));
	}
	src = source_from(name);
	if (src >= 0) {
		p->source = (synth_source)src;
		return TT_OK;
	}
	p->sample = NULL;
	if (bank && r->bank) { /* .bank("RolandTR909") plays RolandTR909_bd */
		char full[128];
		int w = snprintf(full, sizeof full, "%s_%s", r->bank, name);
		if (w > 0 && (size_t)w < sizeof full)
			p->sample = sampler_find(bank, full, idx);
	}
	if (!p->sample && bank)
		p->sample = sampler_find(bank, name, idx);
	if (!p->sample || p->sample->frames <= 0)
		return TT_ENOTFOUND;
	p->source = SYNTH_SAMPLE;
	return TT_OK;
}

static void read_filters(const raw *r, synth_params *p)
{
	static const synth_adsr fdef = { 0.005f, 0.14f, 0.0f, 0.1f };
	p->lp = !isnan(r->v[K_CUTOFF]);
	p->cutoff = (float)synth_clamp(r->v[K_CUTOFF], 20, 20000, 20000);
	p->resonance = (float)synth_clamp(r->v[K_RESONANCE], 0.5, 40, 1);
	p->lpenv = (float)synth_clamp(r->v[K_LPENV], -10, 10, 0);
	read_adsr(r, K_LPATTACK, fdef, &p->lpadsr);
	p->hp = !isnan(r->v[K_HCUTOFF]);
	p->hcutoff = (float)synth_clamp(r->v[K_HCUTOFF], 20, 20000, 20);
	p->hresonance = (float)synth_clamp(r->v[K_HRESONANCE], 0.5, 40, 1);
	p->bp = !isnan(r->v[K_BANDF]);
	p->bandf = (float)synth_clamp(r->v[K_BANDF], 20, 20000, 1000);
	p->bandq = (float)synth_clamp(r->v[K_BANDQ], 0.5, 40, 1);
	p->vowel = (synth_vowel)vowel_from(r->vowel);
}

static void read_levels(const raw *r, synth_params *p)
{
	p->gain = (float)(synth_clamp(r->v[K_GAIN], 0, 4, 0.8) *
			  synth_clamp(r->v[K_VELOCITY], 0, 1, 1));
	p->postgain = (float)synth_clamp(r->v[K_POSTGAIN], 0, 4, 1);
	p->pan = (float)synth_clamp(r->v[K_PAN], 0, 1, 0.5);
	p->shape = (float)synth_clamp(r->v[K_SHAPE], 0, 0.99, 0);
	p->distort = (float)synth_clamp(r->v[K_DISTORT], 0, 10, 0);
	p->crush = (int)synth_clamp(r->v[K_CRUSH], 0, 16, 0);
	if (p->crush > 0 && p->crush < 1)
		p->crush = 1;
	p->coarse = (int)synth_clamp(r->v[K_COARSE], 1, 64, 1);
	p->orbit = (int)synth_clamp(r->v[K_ORBIT], 0, TT_MAX_ORBITS - 1, 0);
	p->delay = (float)synth_clamp(r->v[K_DELAY], 0, 1, 0);
	p->room = (float)synth_clamp(r->v[K_ROOM], 0, 1, 0);
	p->has_delaytime = !isnan(r->v[K_DELAYTIME]);
	p->delaytime = (float)synth_clamp(r->v[K_DELAYTIME], 0.001, 2.0, 0.25);
	p->has_delayfeedback = !isnan(r->v[K_DELAYFEEDBACK]);
	p->delayfeedback = (float)synth_clamp(r->v[K_DELAYFEEDBACK], 0, 0.95, 0.5);
	p->has_size = !isnan(r->v[K_SIZE]);
	p->size = (float)synth_clamp(r->v[K_SIZE], 0, 10, 2);
}

int synth_params_from_event(const tt_event *e, const sampler *bank, double dur_sec,
			    bool clipped, uint32_t seed, synth_params *out)
{
	static const synth_adsr edef = { 0.001f, 0.05f, 1.0f, 0.01f };
	raw r;
	double note, dur;
	int rc;

	memset(out, 0, sizeof *out);
	raw_read(e, &r);
	rc = pick_source(&r, bank, out);
	if (rc < 0)
		return rc;
	note = note_of(&r);
	if (out->source == SYNTH_SAMPLE) {
		double speed = synth_clamp(r.v[K_SPEED], -16, 16, 1);
		double semis = isnan(note) ? 0.0 : synth_clamp(note, 0, 127, 36) - 36.0;
		if (fabs(speed) < 1e-3)
			return TT_ERANGE; /* a frozen sample would be a DC offset */
		out->rate = speed * exp2(semis / 12.0);
		out->begin = synth_clamp(r.v[K_BEGIN], 0, 1, 0);
		out->end = synth_clamp(r.v[K_END], 0, 1, 1);
		if (out->end <= out->begin)
			return TT_ERANGE;
	} else {
		double f = r.v[K_FREQ];
		if (isnan(f))
			f = 440.0 * exp2((synth_clamp(note, 0, 127, 36) - 69.0) / 12.0);
		out->freq = synth_clamp(f, 1, 20000, 65.4);
	}
	read_adsr(&r, K_ATTACK, edef, &out->env);
	read_filters(&r, out);
	read_levels(&r, out);
	dur = synth_clamp(dur_sec, 0, 3600, 0);
	out->hold = (out->source == SYNTH_SAMPLE && !clipped) ? -1
		    : (int64_t)llround(dur * SYNTH_RATE);
	if (out->hold == 0)
		out->hold = 1;
	out->seed = seed;
	return TT_OK;
}
