/*
 * tests/server/test_osc_event.c: SuperDirt's /dirt/play pairs to direct
 * events (server/osc_event.c), row by row of docs/osc.md's table, and the
 * JSON that direct_events.params stores: parsing it back gives the same
 * event, bit for bit (what replay needs).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "server/osc_event.h"
#include "tests/tap.h"

#define NUM(k, v) { k, false, v, NULL }
#define STR(k, v) { k, true, 0, v }
#define MAP(ev, ignored, ...) map(ev, ignored, (osc_pair[]){ __VA_ARGS__ }, \
				  sizeof (osc_pair[]){ __VA_ARGS__ } / sizeof(osc_pair))

static char err[256];

static int map(direct_event *ev, int *ignored, const osc_pair *p, size_t n)
{
	*ignored = 0;
	return osc_event_map(p, n, ev, ignored, err, sizeof err);
}

static double num(const direct_event *ev, const char *key)
{
	const direct_field *f = direct_event_get(ev, key);
	return f && f->kind == TT_V_NUM ? f->num : NAN;
}

static const char *str(const direct_event *ev, const char *key)
{
	return direct_field_str(ev, direct_event_get(ev, key));
}

static int near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

static void test_sounds(void)
{
	direct_event ev;
	int ig;

	is_int(MAP(&ev, &ig, STR("s", "bd")), TT_OK, "s bd maps");
	ok(strcmp(str(&ev, "s"), "bd") == 0 && ev.n_fields == 1 && !ev.clipped &&
	   ev.dur_sec == 1.0, "to {s: bd}, 1 s, played to the sample's end");
	MAP(&ev, &ig, STR("sound", "drum:3"));
	ok(strcmp(str(&ev, "s"), "drum:3") == 0, "sound is s; name:index is the engine's to split");
	MAP(&ev, &ig, STR("s", "bd"), NUM("n", 3), NUM("note", 12));
	ok(num(&ev, "n") == 3 && num(&ev, "note") == 48,
	   "a sample: n picks the file, note 12 is an octave up (engine note 36 + 12)");
	MAP(&ev, &ig, STR("s", "sine"));
	ok(num(&ev, "note") == 60 && isnan(num(&ev, "n")), "a synth without a note is middle C (60)");
	MAP(&ev, &ig, STR("s", "saw"), NUM("n", 7));
	ok(num(&ev, "note") == 67, "a synth's n is its note (60 + n)");
	MAP(&ev, &ig, STR("s", "square"), NUM("n", 7), NUM("note", -12));
	ok(num(&ev, "note") == 48, "note wins over n, as SuperDirt's (note ? n) + 60");
	is_int(MAP(&ev, &ig, NUM("n", 1)), TT_EINVAL, "no s: TT_EINVAL");
	ok(strstr(err, "no sound") != NULL, "saying so: %s", err);
	is_int(MAP(&ev, &ig, NUM("s", 1)), TT_EINVAL, "a number as s is no sound either");
	is_int(ig, 1, "and is counted as ignored");
}

static void test_controls(void)
{
	direct_event ev;
	int ig;

	MAP(&ev, &ig, STR("s", "bd"), NUM("gain", 1));
	ok(near(num(&ev, "gain"), 0.8), "gain 1 (SuperDirt's default) is tutti's default 0.8");
	MAP(&ev, &ig, STR("s", "bd"), NUM("gain", 1.2));
	ok(near(num(&ev, "gain"), 0.8 * pow(1.2, 4)), "gain follows SuperDirt's curve, gain^4");
	MAP(&ev, &ig, STR("s", "bd"), NUM("gain", 5), NUM("overgain", 0.5));
	ok(near(num(&ev, "gain"), 0.8 * pow(2.5, 4)), "gain is capped at 2 before overgain is added");
	MAP(&ev, &ig, STR("s", "bd"), NUM("resonance", 0.5), NUM("hresonance", 0));
	ok(near(num(&ev, "resonance"), sqrt(1000)) && near(num(&ev, "hresonance"), 1),
	   "resonance 0..1 is a filter Q 1..1000 (RLPF's rq 1..0.001)");
	MAP(&ev, &ig, STR("s", "bd"), NUM("size", 0.3));
	ok(near(num(&ev, "roomsize"), 3), "size 0..1 is roomsize 0..10");
	MAP(&ev, &ig, STR("s", "bd"), NUM("pan", 0.25), NUM("speed", -1), NUM("cutoff", 800),
	    NUM("room", 0.4), NUM("orbit", 2), NUM("crush", 4), STR("vowel", "o"));
	ok(num(&ev, "pan") == 0.25 && num(&ev, "speed") == -1 && num(&ev, "cutoff") == 800 &&
	   num(&ev, "room") == 0.4 && num(&ev, "orbit") == 2 && num(&ev, "crush") == 4 &&
	   strcmp(str(&ev, "vowel"), "o") == 0 && ig == 0, "the shared controls are copied");
	MAP(&ev, &ig, STR("s", "bd"), NUM("cps", 0.5), NUM("cycle", 3), NUM("_id_", 1),
	    STR("unit", "r"), NUM("accelerate", 1), NUM("cut", 1), STR("unit", "c"),
	    NUM("pan", NAN));
	ok(ev.n_fields == 1 && ig == 4, "cps, cycle, _id_, unit r are consumed; accelerate, cut, "
	   "unit c and a NaN are ignored and counted (%d)", ig);
	MAP(&ev, &ig, STR("s", "bd"), NUM("overgain", 1e300), NUM("size", 1e308),
	    NUM("delta", 1e300), NUM("legato", 1e300));
	ok(ev.n_fields == 1 && ig == 2 && ev.dur_sec == 3600,
	   "a gain or room size that overflows is dropped and counted; a length is at most 1 h");
	{
		char *text = osc_event_json(&ev);
		ok(text != NULL, "so the event still has JSON");
		free(text);
	}
}

static void test_length(void)
{
	direct_event ev;
	int ig;

	MAP(&ev, &ig, STR("s", "sine"), NUM("delta", 0.25));
	ok(ev.dur_sec == 0.25 && !ev.clipped, "delta alone: a synth lasts delta");
	MAP(&ev, &ig, STR("s", "sine"), NUM("delta", 0.25), NUM("legato", 2));
	ok(ev.dur_sec == 0.5 && ev.clipped, "legato: delta x legato");
	MAP(&ev, &ig, STR("s", "sine"), NUM("delta", 0.25), NUM("legato", 2), NUM("sustain", 0.1));
	ok(ev.dur_sec == 0.1 && ev.clipped, "sustain wins: the length in seconds");
	ok(isnan(num(&ev, "sustain")), "sustain is a length here, not the envelope's level");
}

static void test_json(void)
{
	direct_event ev, back;
	char *text;
	int ig, same = 1;

	MAP(&ev, &ig, STR("s", "saw"), NUM("note", 0.1), NUM("gain", 1.1), NUM("pan", 1.0 / 3),
	    NUM("resonance", 0.37), STR("vowel", "a \"quoted\" \\ name"), NUM("legato", 0.7),
	    NUM("delta", 0.123456789));
	text = osc_event_json(&ev);
	ok(text != NULL, "an event becomes JSON: %s", text ? text : "(null)");
	is_int(osc_event_from_json(text, &back, err, sizeof err), TT_OK, "and back");
	same = back.n_fields == ev.n_fields && back.dur_sec == ev.dur_sec &&
	       back.clipped == ev.clipped;
	for (uint16_t i = 0; same && i < ev.n_fields; i++) {
		const direct_field *a = &ev.fields[i], *b = &back.fields[i];
		same = strcmp(a->key, b->key) == 0 && a->kind == b->kind &&
		       (a->kind == TT_V_STR ? strcmp(direct_field_str(&ev, a),
						   direct_field_str(&back, b)) == 0
					    : memcmp(&a->num, &b->num, sizeof a->num) == 0);
	}
	ok(same, "the same fields in the same order, the same bits");
	ok(direct_event_seed(&ev, 4800) == direct_event_seed(&back, 4800),
	   "so the same voice seed");
	free(text);
	is_int(osc_event_from_json("{\"fields\":{\"warp\":1},\"dur\":1,\"clipped\":false}", &back,
				   err, sizeof err), TT_EINVAL, "an unknown field is refused");
	ok(strstr(err, "warp") != NULL, "naming it: %s", err);
	is_int(osc_event_from_json("[1,2", &back, err, sizeof err), TT_EINVAL, "broken JSON too");
	is_int(osc_event_from_json("{\"fields\":{},\"dur\":\"x\",\"clipped\":false}", &back, err,
				   sizeof err), TT_EINVAL, "and a dur that is not a number");
}

int main(void)
{
	test_sounds();
	test_controls();
	test_length();
	test_json();
	return tap_done();
}
