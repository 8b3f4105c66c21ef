/*
 * tests/fuzz/fuzz_synth.c: whatever a performer types, the render engine
 * gives finite samples within the limiter's ceiling and never crashes.
 *
 * The input is read as a little program of events: each byte pair picks a
 * control and a value (numbers from a table of extremes, NaN and Inf
 * included, or raw bytes as a double; strings for s, note, vowel, bank),
 * placed at fractions of a cycle on one of two tracks. The events render for
 * a quarter of a second through the real scheduler, voices, effects and
 * limiter with the built-in drum kit. Any non-finite or out-of-range sample
 * aborts (a crash for libFuzzer).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/drums.h"
#include "engine/fx.h"
#include "engine/render.h"
#include "tests/engine/synth_events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = {
	"gain", "velocity", "postgain", "pan", "speed", "begin", "end", "note", "n", "freq",
	"cutoff", "resonance", "hcutoff", "hresonance", "bandf", "bandq", "attack", "decay",
	"sustain", "release", "lpenv", "lpattack", "lpdecay", "lpsustain", "lprelease", "shape",
	"distort", "crush", "coarse", "orbit", "delay", "delaytime", "delayfeedback", "room",
	"roomsize", "clip",
};
static const char *const sounds[] = {
	"sine", "sawtooth", "square", "triangle", "white", "pink", "brown", "bd", "sd:3", "hh",
	"oh", "cp", "rim", "lt", "mt", "ht", "cb", "cr", "rd", "sh", "nope", "bd:-7", "", "tri",
};
static const char *const strs[] = { "a", "e", "i", "o", "u", "c3", "eb2", "x", "a#-1", "g9",
				    "RolandTR909", "" };
static const double vals[] = { 0, 1, -1, 0.5, 1e9, -1e9, 1e300, -1e300, 5e-324, NAN, INFINITY,
			       -INFINITY, 0.99, 2, 20000, 20, 440, 127, 1e6, -5, 1000, 0.001 };

static tsrc src;
static sampler *bank;

static double value_of(const uint8_t *p, size_t left, size_t *used)
{
	double v;
	if (p[0] < 200 || left < 9) {
		*used = 1;
		return vals[p[0] % (sizeof vals / sizeof vals[0])];
	}
	memcpy(&v, p + 1, sizeof v);
	*used = 9;
	return v;
}

static void build(const uint8_t *d, size_t n)
{
	size_t i = 0;
	memset(&src, 0, sizeof src);
	src.n = 2;
	src.tr[0].repeat = 1;
	while (i + 4 <= n && src.tr[0].n + src.tr[1].n < 200) {
		tseq *t = &src.tr[d[i] & 1];
		int64_t b = d[i + 1] % 16, len = 1 + d[i + 2] % 16;
		tev *e = tseq_add(t, b, 16, b + len, 16);
		tev_str(e, "s", sounds[d[i + 3] % (sizeof sounds / sizeof sounds[0])]);
		i += 4; /* header: track, begin, length, sound */
		while (i + 2 <= n && e->nf < TEV_MAX_FIELDS && d[i] != 0xff) {
			uint8_t k = d[i++];
			size_t used;
			if (k >= 0xf0) {
				static const char *const skeys[] = { "note", "vowel", "bank", "s" };
				tev_str(e, skeys[k & 3], strs[d[i++] % (sizeof strs / sizeof strs[0])]);
				continue;
			}
			tev_num(e, keys[k % (sizeof keys / sizeof keys[0])], value_of(d + i, n - i, &used));
			i += used;
		}
		i++; /* the 0xff separator */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static float out[2 * 12000];
	render_config cfg;
	render *r;
	sched_source ss;
	if (!bank) {
		sampler_new(&bank);
		drums_build(bank);
	}
	build(data, size);
	ss = tsrc_source(&src);
	render_config_default(&cfg);
	cfg.bank = bank;
	cfg.cps = data && size ? 0.1 + data[0] / 64.0 : 0.5;
	if (render_new(&cfg, &r) < 0)
		return 0;
	render_set_source(r, &ss);
	render_block(r, out, 12000);
	for (int i = 0; i < 2 * 12000; i++)
		if (!isfinite(out[i]) || fabsf(out[i]) > FX_LIMITER_CEILING)
			abort();
	render_free(r);
	return 0;
}
