/* server/osc_event.c: see osc_event.h; the mapping is docs/osc.md's table. */
#include "server/osc_event.h"

#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

/* Keys SuperDirt and tutti's engine both play, with the same meaning and
 * units: copied as they are. */
static const char *const same[] = {
	"pan", "speed", "begin", "end", "cutoff", "hcutoff", "bandf", "bandq", "freq",
	"room", "orbit", "delay", "delaytime", "delayfeedback", "crush", "coarse",
	"shape", "attack", "release",
};

/* Every field osc_event_map can make: the keys a stored event may name.
 * (Static strings: a direct event's keys must outlive it.) */
static const char *const made[] = {
	"s", "n", "note", "gain", "resonance", "hresonance", "roomsize", "vowel",
	"pan", "speed", "begin", "end", "cutoff", "hcutoff", "bandf", "bandq", "freq",
	"room", "orbit", "delay", "delaytime", "delayfeedback", "crush", "coarse",
	"shape", "attack", "release",
};

/* Tutti's oscillators (engine/synth_params.c): every other sound is a
 * sample, whose n picks the file and whose note shifts the pitch. */
static const char *const synths[] = {
	"sine", "sin", "sawtooth", "saw", "square", "sqr", "triangle", "tri",
	"white", "pink", "brown",
};

#define N(a) (sizeof a / sizeof a[0])

static const char *find(const char *const *list, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], key) == 0)
			return list[i];
	return NULL;
}

static bool is_synth(const char *s)
{
	size_t len = strcspn(s, ":");
	for (size_t i = 0; i < N(synths); i++)
		if (strlen(synths[i]) == len && strncmp(synths[i], s, len) == 0)
			return true;
	return false;
}

/* What the pairs said, before it becomes fields. NAN: not given. */
typedef struct dirt {
	const char *s, *vowel;
	double n, note, gain, overgain, resonance, hresonance, size;
	double delta, legato, sustain;
} dirt;

/* Reads one pair into d or straight into ev; false when it is ignored. */
static bool read_pair(const osc_pair *p, dirt *d, direct_event *ev, int *rc)
{
	static const struct { const char *key; size_t off; } nums[] = {
		{ "n", offsetof(dirt, n) }, { "note", offsetof(dirt, note) },
		{ "gain", offsetof(dirt, gain) }, { "overgain", offsetof(dirt, overgain) },
		{ "resonance", offsetof(dirt, resonance) },
		{ "hresonance", offsetof(dirt, hresonance) }, { "size", offsetof(dirt, size) },
		{ "delta", offsetof(dirt, delta) }, { "legato", offsetof(dirt, legato) },
		{ "sustain", offsetof(dirt, sustain) },
	};
	const char *k;

	if (p->is_str) {
		if (strcmp(p->key, "s") == 0 || strcmp(p->key, "sound") == 0)
			d->s = p->str;
		else if (strcmp(p->key, "vowel") == 0)
			d->vowel = p->str;
		else if (strcmp(p->key, "unit") == 0 && strcmp(p->str, "r") == 0)
			; /* SuperDirt's default unit: nothing to do */
		else
			return false;
		return true;
	}
	if (!isfinite(p->num))
		return false;
	if (strcmp(p->key, "cps") == 0 || strcmp(p->key, "cycle") == 0 ||
	    strcmp(p->key, "_id_") == 0)
		return true; /* Tidal's bookkeeping: the session keeps its own clock */
	for (size_t i = 0; i < N(nums); i++)
		if (strcmp(p->key, nums[i].key) == 0) {
			*(double *)((char *)d + nums[i].off) = p->num;
			return true;
		}
	if ((k = find(same, N(same), p->key))) {
		*rc = direct_event_set_num(ev, k, p->num);
		return true;
	}
	return false;
}

/* A SuperDirt resonance (0..1, RLPF's rq from 1 down to 0.001) as a Q. */
static double q_of(double r)
{
	return pow(1000.0, r < 0 ? 0 : r > 1 ? 1 : r);
}

/* Sets a computed value; one that overflowed to an infinity is dropped
 * (counted), so every stored number is finite and JSON can hold it. */
static int set_num(direct_event *ev, const char *key, double v, int *ignored)
{
	if (isfinite(v))
		return direct_event_set_num(ev, key, v);
	(*ignored)++;
	return TT_OK;
}

static int set_derived(const dirt *d, direct_event *ev, int *ignored)
{
	int rc = TT_OK;

	if (is_synth(d->s)) { /* midinote = (note ? n) + 60, as SuperDirt */
		double m = !isnan(d->note) ? d->note : !isnan(d->n) ? d->n : 0;
		rc = set_num(ev, "note", 60 + m, ignored);
	} else {
		if (!isnan(d->n))
			rc = direct_event_set_num(ev, "n", d->n);
		/* tutti's samples play unshifted at note 36 (engine/synth_params.c) */
		if (rc == TT_OK && !isnan(d->note))
			rc = set_num(ev, "note", 36 + d->note, ignored);
	}
	if (rc == TT_OK && (!isnan(d->gain) || !isnan(d->overgain))) {
		/* SuperDirt: amp = (min(gain, 2) + overgain)^4 * 0.4, where gain 1
		 * is its default level; tutti's default level is gain 0.8. */
		double g = (isnan(d->gain) ? 1 : fmin(d->gain, 2)) +
			   (isnan(d->overgain) ? 0 : d->overgain);
		rc = set_num(ev, "gain", 0.8 * pow(fmax(g, 0), 4), ignored);
	}
	if (rc == TT_OK && !isnan(d->resonance))
		rc = direct_event_set_num(ev, "resonance", q_of(d->resonance));
	if (rc == TT_OK && !isnan(d->hresonance))
		rc = direct_event_set_num(ev, "hresonance", q_of(d->hresonance));
	if (rc == TT_OK && !isnan(d->size))
		rc = set_num(ev, "roomsize", d->size * 10, ignored);
	return rc;
}

/* The note's length: SuperDirt's sustain, else delta x legato; without
 * either a sample plays to its end and a synth lasts delta (1 s if Tidal
 * did not say). At most an hour, as the engine plays it (and finite). */
static void set_length(const dirt *d, direct_event *ev)
{
	double delta = isnan(d->delta) || d->delta < 0 ? 1.0 : d->delta;

	ev->dur_sec = delta;
	ev->clipped = false;
	if (!isnan(d->sustain) && d->sustain >= 0) {
		ev->dur_sec = d->sustain;
		ev->clipped = true;
	} else if (!isnan(d->legato) && d->legato >= 0) {
		ev->dur_sec = delta * d->legato;
		ev->clipped = true;
	}
	ev->dur_sec = fmin(ev->dur_sec, 3600);
}

int osc_event_map(const osc_pair *pairs, size_t n, direct_event *ev, int *ignored, char *err,
		  size_t errlen)
{
	dirt d = { NULL, NULL, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN };
	int rc = TT_OK;

	direct_event_init(ev, 1.0);
	for (size_t i = 0; i < n && rc == TT_OK; i++)
		if (!read_pair(&pairs[i], &d, ev, &rc))
			(*ignored)++;
	if (rc == TT_OK && !d.s) {
		snprintf(err, errlen, "no sound: a /dirt/play message needs s (or sound)");
		return TT_EINVAL;
	}
	if (rc == TT_OK)
		rc = direct_event_set_str(ev, "s", d.s);
	if (rc == TT_OK && d.vowel)
		rc = direct_event_set_str(ev, "vowel", d.vowel);
	if (rc == TT_OK)
		rc = set_derived(&d, ev, ignored);
	if (rc != TT_OK) {
		snprintf(err, errlen, "%s", rc == TT_ELIMIT ? "more fields or string bytes than "
			 "one event holds" : "a string value is longer than TT_MAX_OSC_STRING");
		return rc;
	}
	set_length(&d, ev);
	return TT_OK;
}

char *osc_event_json(const direct_event *ev)
{
	json_t *fields = json_object(), *o;
	char *text = NULL;

	for (uint16_t i = 0; fields && i < ev->n_fields; i++) {
		const direct_field *f = &ev->fields[i];
		/* json_real refuses NaN and infinities: then no JSON at all,
		 * rather than an event that replays differently. */
		if (json_object_set_new(fields, f->key,
					f->kind == TT_V_STR ? json_string(direct_field_str(ev, f)) :
					f->kind == TT_V_BOOL ? json_boolean(f->num != 0) :
					json_real(f->num)) != 0) {
			json_decref(fields);
			return NULL;
		}
	}
	if (!fields)
		return NULL;
	o = json_pack("{s:o,s:f,s:b}", "fields", fields, "dur", ev->dur_sec, "clipped",
		      ev->clipped);
	if (o)
		text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(o);
	return text;
}

static int field_from_json(const char *key, json_t *v, direct_event *ev, char *err,
			   size_t errlen)
{
	const char *k = find(made, N(made), key);
	int rc;

	if (!k) {
		snprintf(err, errlen, "params: unknown field '%s'", key);
		return TT_EINVAL;
	}
	if (json_is_string(v))
		rc = direct_event_set_str(ev, k, json_string_value(v));
	else if (json_is_boolean(v))
		rc = direct_event_set_bool(ev, k, json_is_true(v));
	else if (json_is_number(v))
		rc = direct_event_set_num(ev, k, json_number_value(v));
	else
		rc = TT_EINVAL;
	if (rc != TT_OK)
		snprintf(err, errlen, "params: field '%s' is not a number, a boolean or a short "
			 "string, or the event is full", key);
	return rc;
}

int osc_event_from_json(const char *json, direct_event *ev, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o = json_loads(json, 0, &je), *fields, *dur, *clipped, *v;
	const char *key;
	int rc = TT_OK;

	fields = o ? json_object_get(o, "fields") : NULL;
	dur = o ? json_object_get(o, "dur") : NULL;
	clipped = o ? json_object_get(o, "clipped") : NULL;
	if (!json_is_object(fields) || !json_is_number(dur) || !json_is_boolean(clipped)) {
		snprintf(err, errlen, "params: not {\"fields\": {...}, \"dur\": N, \"clipped\": B}%s%s",
			 o ? "" : ": ", o ? "" : je.text);
		json_decref(o);
		return TT_EINVAL;
	}
	direct_event_init(ev, json_number_value(dur));
	ev->clipped = json_is_true(clipped);
	json_object_foreach(fields, key, v) {
		if ((rc = field_from_json(key, v, ev, err, errlen)) != TT_OK)
			break;
	}
	json_decref(o);
	return rc;
}
