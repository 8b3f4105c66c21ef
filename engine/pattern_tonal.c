/*
 * engine/pattern_tonal.c: scale degrees, transposition and arpeggios, with
 * note spelling as the tonal library Strudel uses computes it.
 *
 * Pitches are coordinates (fifths, octaves) as in tonal: transposing adds
 * an interval's coordinates, and decoding the sum gives the spelled name
 * (C3 + 3m = Eb3, not D#3).
 *
 * Invariants:
 *  1. Names produced are tonal's: upper-case letter, '#'/'b' accidentals,
 *     then the octave when the input had one.
 *  2. An event whose value cannot be handled is dropped (where Strudel
 *     logs an error and removes it) or passed through (where Strudel
 *     passes it through).
 */
#include "engine/pattern_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/scales_table.h"
#include "engine/voicings_table.h"

static const int FIFTHS[7] = { 0, 2, 4, -1, 1, 3, 5 };
static const int STEPS_TO_OCTS[7] = { 0, 1, 2, -1, 0, 1, 2 };
static const int FIFTHS_TO_STEPS[7] = { 3, 0, 4, 1, 5, 2, 6 };
static const int SIZES[7] = { 0, 2, 4, 5, 7, 9, 11 };

typedef struct pitch {
	int f, o;
	bool has_oct;
} pitch;

static int floordiv(int a, int b)
{
	int q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* tonal's note(): letter, accidentals (#, b or x), octave; nothing else. */
static bool parse_note(const char *s, pitch *out)
{
	static const int letter_step[7] = { 5, 6, 0, 1, 2, 3, 4 }; /* a..g */
	int step, alt = 0;
	char c = (char)(*s | 0x20);
	if (c < 'a' || c > 'g')
		return false;
	step = letter_step[c - 'a'];
	s++;
	if (*s == '#' || *s == 'x') {
		while (*s == '#' || *s == 'x')
			alt += *s++ == 'x' ? 2 : 1;
	} else {
		while (*s == 'b') {
			alt--;
			s++;
		}
	}
	out->f = FIFTHS[step] + 7 * alt;
	out->has_oct = false;
	out->o = 0;
	if (*s) {
		char *end;
		long oct = strtol(s, &end, 10);
		if (*end || end == s || oct > 1000 || oct < -1000)
			return false;
		out->has_oct = true;
		out->o = (int)oct - STEPS_TO_OCTS[step] - 4 * alt;
	}
	return true;
}

static void pitch_name(pitch p, char *buf, size_t cap)
{
	int i = (p.f + 1) % 7;
	int step = FIFTHS_TO_STEPS[i < 0 ? i + 7 : i];
	int alt = floordiv(p.f + 1, 7);
	char acc[16];
	int k = 0;
	for (int j = 0; j < abs(alt) && k < 15; j++)
		acc[k++] = alt > 0 ? '#' : 'b';
	acc[k] = '\0';
	if (p.has_oct)
		snprintf(buf, cap, "%c%s%d", "CDEFGAB"[step], acc,
			 p.o + 4 * alt + STEPS_TO_OCTS[step]);
	else
		snprintf(buf, cap, "%c%s", "CDEFGAB"[step], acc);
}

typedef struct interval {
	int f, o, semis;
} interval;

static bool quality_alt(const char *q, size_t len, bool perfect, int *alt)
{
	if (len == 0)
		return false;
	if (len == 1 && q[0] == 'P' && perfect)
		return (*alt = 0, true);
	if (len == 1 && q[0] == 'M' && !perfect)
		return (*alt = 0, true);
	if (len == 1 && q[0] == 'm' && !perfect)
		return (*alt = -1, true);
	for (size_t i = 0; i < len; i++)
		if (q[i] != q[0] || (q[0] != 'A' && q[0] != 'd'))
			return false;
	if (q[0] == 'A')
		*alt = (int)len;
	else
		*alt = perfect ? -(int)len : -(int)len - 1;
	return true;
}

/* tonal's interval(): "3M", "-2m", "8P" (or "M3"). */
static bool parse_interval(const char *s, interval *out)
{
	const char *num = s, *q;
	size_t qlen;
	char *end;
	long n;
	if ((*s >= '0' && *s <= '9') || *s == '-' || *s == '+') {
		n = strtol(s, &end, 10);
		q = end;
		qlen = strlen(q);
	} else {
		q = s;
		while (*num && !(*num >= '0' && *num <= '9') && *num != '-' &&
		       *num != '+')
			num++;
		qlen = (size_t)(num - s);
		n = strtol(num, &end, 10);
		if (*end)
			return false;
	}
	if (n == 0 || n > 1000 || n < -1000)
		return false;
	int dir = n < 0 ? -1 : 1, an = (int)labs(n);
	int step = (an - 1) % 7, oct = (an - 1) / 7, alt;
	bool perfect = step == 0 || step == 3 || step == 4;
	if (!quality_alt(q, qlen, perfect, &alt))
		return false;
	out->f = dir * (FIFTHS[step] + 7 * alt);
	out->o = dir * (oct - STEPS_TO_OCTS[step] - 4 * alt);
	out->semis = dir * (SIZES[step] + alt + 12 * oct);
	return true;
}

/* tonal's Interval.fromSemitones. */
static void interval_semis(int semis, interval *out)
{
	static const int IN[12] = { 1, 2, 2, 3, 3, 4, 5, 5, 6, 6, 7, 7 };
	static const char *const IQ[12] = { "P", "m", "M", "m", "M", "P",
					    "d", "P", "m", "M", "m", "M" };
	int d = semis < 0 ? -1 : 1, n = abs(semis);
	char buf[32];
	snprintf(buf, sizeof buf, "%d%s", d * (IN[n % 12] + 7 * (n / 12)),
		 IQ[n % 12]);
	if (!parse_interval(buf, out))
		*out = (interval){ 0, 0, 0 };
}

static pitch transpose(pitch p, interval i)
{
	p.f += i.f;
	if (p.has_oct)
		p.o += i.o;
	return p;
}

/* ---- scales ---- */

typedef struct scale {
	bool has_tonic;
	pitch tonic;          /* with octave 3 when the name gave none */
	interval iv[16];
	int n;
} scale;

static bool parse_scale(const char *name, scale *sc)
{
	char buf[128], *type = buf;
	size_t len = strlen(name);
	if (len >= sizeof buf)
		return false;
	for (size_t i = 0; i <= len; i++)
		buf[i] = name[i] == ':' ? ' ' : name[i];
	sc->has_tonic = false;
	char *sp = strchr(buf, ' ');
	if (sp) {
		*sp = '\0';
		if (parse_note(buf, &sc->tonic)) {
			sc->has_tonic = true;
			type = sp + 1;
		} else {
			*sp = ' ';
		}
	}
	if (!sc->has_tonic && parse_note(buf, &sc->tonic))
		return false; /* a tonic without a scale type */
	for (size_t i = 0; i < sizeof scale_defs / sizeof scale_defs[0]; i++) {
		if (strcmp(scale_defs[i].name, type) != 0)
			continue;
		const char *s = scale_defs[i].intervals;
		sc->n = 0;
		while (*s && sc->n < 16) {
			char iv[8];
			size_t k = 0;
			while (*s && *s != ' ' && k < 7)
				iv[k++] = *s++;
			iv[k] = '\0';
			while (*s == ' ')
				s++;
			if (!parse_interval(iv, &sc->iv[sc->n++]))
				return false;
		}
		if (!sc->has_tonic)
			parse_note("C", &sc->tonic);
		if (!sc->tonic.has_oct) {
			pitch t = sc->tonic;
			char nb[16];
			pitch_name(t, nb, sizeof nb);
			size_t l = strlen(nb);
			snprintf(nb + l, sizeof nb - l, "3");
			parse_note(nb, &sc->tonic);
		}
		return true;
	}
	return false;
}

static bool scale_step(const scale *sc, double stepd, char *out, size_t cap)
{
	int step = (int)ceil(pat__clamp(stepd, 1e6));
	int oo = floordiv(step, sc->n), idx = step - oo * sc->n;
	pitch p = transpose(sc->tonic, sc->iv[idx]);
	interval octs;
	char buf[16];
	/* octavesInterval: (oo <= 0 ? -1 : 1) + oo * 7, perfect */
	snprintf(buf, sizeof buf, "%dP", (oo <= 0 ? -1 : 1) + oo * 7);
	if (!parse_interval(buf, &octs))
		return false;
	p = transpose(p, octs);
	pitch_name(p, out, cap);
	return true;
}

/* Strudel's _convertStepToNumberAndOffset: "3", "1#", "-2b". */
static bool step_of(const tt_field *f, double *num, int *offset)
{
	*offset = 0;
	if (f->kind != TT_V_STR) {
		*num = f->num;
		return true;
	}
	if (value_number(f, 1, num))
		return true;
	char *end;
	long n = strtol(f->str, &end, 10);
	if (end == f->str)
		return false;
	for (; *end; end++) {
		if (*end == '#' || *end == 's')
			(*offset)++;
		else if (*end == 'b' || *end == 'f')
			(*offset)--;
		else
			return false;
	}
	*num = (double)n;
	return true;
}

static const char *astrdup(qctx *q, const char *s)
{
	size_t n = strlen(s) + 1;
	char *r = pat__qalloc(q, n);
	if (r)
		memcpy(r, s, n);
	return r;
}

/* Replaces the value of e by note (object: {..., note}, else the name). */
static int set_note(qctx *q, tt_event *e, const tt_field *nf, bool obj,
		    const char *drop1, const char *drop2)
{
	tt_field *r = pat__qalloc(q, sizeof *r * (e->n_fields + 1));
	uint32_t k = 0;
	if (!r)
		return TT_ELIMIT;
	if (obj)
		for (uint32_t i = 0; i < e->n_fields; i++) {
			const char *key = e->fields[i].key;
			if (!key || !strcmp(key, "note") || (drop1 && !strcmp(key, drop1)) ||
			    (drop2 && !strcmp(key, drop2)))
				continue;
			r[k++] = e->fields[i];
		}
	r[k] = *nf;
	r[k++].key = obj ? "note" : NULL;
	e->fields = r;
	e->n_fields = k;
	return TT_OK;
}

static const tt_field *key_field(const tt_event *e, const char *key)
{
	return event_field(e, key);
}

static bool strudel_is_note(const char *s);
static bool note_to_midi(const char *s, int dflt_oct, double *out);

/* Strudel's _getNearestScaleNote: the scale note nearest to a note name
 * (ties go to the higher), keeping the note's octave. */
static bool nearest_scale_note(const scale *sc, const char *note, char *out,
			       size_t cap)
{
	double nm, mid[17] = { 0 };
	char names[17][16];
	pitch root = sc->tonic, p;
	int n = sc->n + 1, best = 0, od;
	double bd = INFINITY;
	interval oct;
	if (!note_to_midi(note, 3, &nm))
		return false;
	/* the tonic's pitch class at octave 0 */
	root.has_oct = false;
	pitch_name(root, names[0], sizeof names[0]);
	size_t l = strlen(names[0]);
	snprintf(names[0] + l, sizeof names[0] - l, "0");
	parse_note(names[0], &root);
	for (int i = 0; i < n; i++) {
		interval iv;
		if (i < sc->n)
			iv = sc->iv[i];
		else if (!parse_interval("8P", &iv))
			return false;
		pitch_name(transpose(root, iv), names[i], sizeof names[i]);
		if (!note_to_midi(names[i], 3, &mid[i]))
			return false;
	}
	od = (int)floor((nm - mid[0]) / 12);
	for (int i = 0; i < n; i++) {
		double d = fabs(mid[i] + 12 * od - nm);
		if (d <= bd) {
			bd = d;
			best = i;
		}
	}
	if (!parse_note(names[best], &p))
		return false;
	interval_semis(12 * od, &oct);
	pitch_name(transpose(p, oct), out, cap);
	return true;
}

static int scale_event(qctx *q, const scale *sc, tt_event *e, bool *keep)
{
	bool obj = e->n_fields == 0 || e->fields[0].key;
	const tt_field *v;
	double num;
	int off;
	char name[32];
	*keep = true;
	if (obj) {
		v = key_field(e, "note");
		if (!v)
			v = key_field(e, "n");
		if (!v)
			v = key_field(e, "value");
		if (!v)
			return TT_OK; /* passed through unchanged */
	} else {
		if (e->n_fields != 1)
			return (*keep = false, TT_OK);
		v = &e->fields[0];
	}
	if (v->kind == TT_V_STR && strudel_is_note(v->str)) {
		if (!nearest_scale_note(sc, v->str, name, sizeof name))
			return (*keep = false, TT_OK);
		tt_field nn = { NULL, TT_V_STR, 0, astrdup(q, name) };
		if (!nn.str)
			return TT_ELIMIT;
		return set_note(q, e, &nn, obj, "n", "value");
	}
	if (!step_of(v, &num, &off) || isnan(num)) {
		*keep = false;
		return TT_OK;
	}
	if (!scale_step(sc, num, name, sizeof name)) {
		*keep = false;
		return TT_OK;
	}
	if (off) {
		pitch p;
		interval iv;
		parse_note(name, &p);
		interval_semis(off, &iv);
		pitch_name(transpose(p, iv), name, sizeof name);
	}
	tt_field nf = { NULL, TT_V_STR, 0, astrdup(q, name) };
	if (!nf.str)
		return TT_ELIMIT;
	return set_note(q, e, &nf, obj, "n", "value");
}

/* Strudel's isNote: /^[a-gA-G][#bsf]*-?[0-9]*$/ */
static bool strudel_is_note(const char *s)
{
	if (!((*s >= 'a' && *s <= 'g') || (*s >= 'A' && *s <= 'G')))
		return false;
	s++;
	while (*s == '#' || *s == 'b' || *s == 's' || *s == 'f')
		s++;
	if (*s == '-')
		s++;
	while (*s >= '0' && *s <= '9')
		s++;
	return *s == '\0';
}

static int transpose_event(qctx *q, const pat *p, tt_event *e)
{
	bool obj = e->n_fields == 0 || e->fields[0].key;
	const tt_field *v = obj ? key_field(e, "note")
				: (e->n_fields == 1 ? &e->fields[0] : NULL);
	tt_field nf;
	if (!v)
		return TT_OK;
	if (v->kind == TT_V_NUM) {
		double semis = p->x;
		if (p->name) {
			interval iv;
			semis = parse_interval(p->name, &iv) ? iv.semis : 0;
		}
		nf = (tt_field){ NULL, TT_V_NUM, v->num + semis, NULL };
		return set_note(q, e, &nf, obj, NULL, NULL);
	}
	if (v->kind != TT_V_STR || !strudel_is_note(v->str))
		return TT_OK;
	interval iv;
	pitch pt;
	char name[32] = "";
	if (p->name ? !parse_interval(p->name, &iv) : false)
		iv = (interval){ 0, 0, 0 };
	if (!p->name)
		interval_semis((int)pat__clamp(p->x, 1e6), &iv);
	if (parse_note(v->str, &pt) && !(p->name && !parse_interval(p->name, &iv)))
		pitch_name(transpose(pt, iv), name, sizeof name);
	nf = (tt_field){ NULL, TT_V_STR, 0, astrdup(q, name) };
	if (!nf.str)
		return TT_ELIMIT;
	return set_note(q, e, &nf, obj, NULL, NULL);
}

static int query_scale(qctx *q, const pat *p, tt_span span, hlist *out)
{
	size_t from = out->n, k = from;
	scale sc;
	int rc = pat__query(q, p->a, span, out);
	if (rc < 0)
		return rc;
	if (p->i1 == 0 && !parse_scale(p->name, &sc)) {
		out->n = from; /* every event fails in Strudel: all removed */
		return TT_OK;
	}
	if ((rc = pat__tickn(q, out->n - from)) < 0)
		return rc;
	for (size_t i = from; i < out->n; i++) {
		tt_event e = out->v[i];
		bool keep = true;
		rc = p->i1 == 0 ? scale_event(q, &sc, &e, &keep)
				: transpose_event(q, p, &e);
		if (rc < 0)
			return rc;
		if (keep)
			out->v[k++] = e;
	}
	out->n = k;
	return TT_OK;
}

/* ---- arp: choose among events with the same whole ---- */

static bool same_whole(const tt_event *a, const tt_event *b)
{
	if (!a->has_whole || !b->has_whole)
		return a->has_whole == b->has_whole;
	return rat_eq(a->whole.begin, b->whole.begin) &&
	       rat_eq(a->whole.end, b->whole.end);
}

static int query_arp(qctx *q, const pat *p, tt_span span, hlist *out)
{
	hlist l = { 0 };
	int rc = pat__query(q, p->a, span, &l);
	bool *used;
	size_t *grp;
	if (rc < 0)
		return rc;
	used = pat__qalloc(q, sizeof *used * (l.n + 1));
	grp = pat__qalloc(q, sizeof *grp * (l.n + 1));
	if (!used || !grp)
		return TT_ELIMIT;
	memset(used, 0, sizeof *used * (l.n + 1));
	for (size_t i = 0; i < l.n; i++) {
		size_t n = 0;
		hlist il = { 0 };
		if (used[i])
			continue;
		for (size_t j = i; j < l.n; j++)
			if (!used[j] && same_whole(&l.v[i], &l.v[j])) {
				used[j] = true;
				grp[n++] = j;
			}
		if ((rc = pat__query(q, p->b, l.v[i].part, &il)) < 0)
			return rc;
		for (size_t j = 0; j < il.n; j++) {
			double x;
			tt_event e = il.v[j];
			if (!value_number(e.fields, e.n_fields, &x) || !(fabs(x) < 1e15))
				continue;
			long k = (long)x % (long)n;
			if (k < 0 || x != floor(x))
				return PAT_ETHROW; /* haps[i] is undefined: Strudel throws */
			const tt_event *ch = &l.v[grp[k]];
			e.fields = ch->fields;
			e.n_fields = ch->n_fields;
			if ((rc = pat__locs_union(q, &il.v[j], ch, &e.locs,
						  &e.n_locs)) < 0 ||
			    (rc = pat__push(q, out, &e)) < 0)
				return rc;
		}
	}
	return TT_OK;
}

/* ---- voicing: chord symbols to stacked notes (Strudel's renderVoicing) ---- */

/* Strudel's noteToMidi with a default octave. */
static bool note_to_midi(const char *s, int dflt_oct, double *out)
{
	static const int chroma[7] = { 9, 11, 0, 2, 4, 5, 7 };
	int acc = 0, c;
	char *end;
	if (!((*s >= 'a' && *s <= 'g') || (*s >= 'A' && *s <= 'G')))
		return false;
	c = chroma[(*s | 0x20) - 'a'];
	s++;
	while (*s == '#' || *s == 'b' || *s == 's' || *s == 'f')
		acc += (*s == '#' || *s == 's') ? 1 : -1, s++;
	long oct = dflt_oct;
	if (*s) {
		oct = strtol(s, &end, 10);
		if (*end || end == s || oct > 1000 || oct < -1000)
			return false;
	}
	*out = (double)((oct + 1) * 12 + c + acc);
	return true;
}

static const char *field_str(const tt_event *e, const char *key)
{
	const tt_field *f = event_field(e, key);
	return f && f->kind == TT_V_STR ? f->str : NULL;
}

typedef struct voicing_req {
	const char *chord, *dict, *mode;
	double anchor, offset, n, octaves;
	bool has_n;
} voicing_req;

static bool voicing_request(const tt_event *e, voicing_req *r)
{
	const tt_field *f;
	r->dict = "ireal";
	r->mode = NULL;
	r->anchor = -1;
	r->offset = 0;
	r->octaves = 1;
	r->has_n = false;
	if (e->n_fields == 1 && !e->fields[0].key) {
		if (e->fields[0].kind != TT_V_STR)
			return false;
		r->chord = e->fields[0].str;
		return true;
	}
	r->chord = field_str(e, "chord");
	if (field_str(e, "dictionary"))
		r->dict = field_str(e, "dictionary");
	r->mode = field_str(e, "mode");
	if ((f = event_field(e, "anchor"))) {
		if (f->kind == TT_V_STR) {
			if (!note_to_midi(f->str, 4, &r->anchor))
				return false;
		} else {
			r->anchor = f->num;
		}
	}
	if ((f = event_field(e, "offset")) && f->kind == TT_V_NUM)
		r->offset = f->num;
	if ((f = event_field(e, "octaves")) && f->kind == TT_V_NUM)
		r->octaves = f->num;
	if ((f = event_field(e, "n")) && f->kind == TT_V_NUM) {
		r->n = f->num;
		r->has_n = true;
	}
	return r->chord != NULL;
}

static int mod12(int x)
{
	return ((x % 12) + 12) % 12;
}

/* The voicings of symbol in dictionary di, as semitone lists. */
static int voicing_list(int di, const char *symbol, int v[][12], int *len)
{
	int nv = 0;
	for (size_t i = 0; i < sizeof voicing_entries / sizeof voicing_entries[0];
	     i++) {
		if (voicing_entries[i].dict != di ||
		    strcmp(voicing_entries[i].symbol, symbol) != 0)
			continue;
		const char *s = voicing_entries[i].voicings;
		while (*s && nv < 16) {
			len[nv] = 0;
			while (*s && *s != '|') {
				char tok[12];
				size_t k = 0;
				interval iv;
				while (*s && *s != ' ' && *s != '|' && k < 11)
					tok[k++] = *s++;
				tok[k] = '\0';
				while (*s == ' ')
					s++;
				if (len[nv] < 12 && parse_interval(tok, &iv))
					v[nv][len[nv]++] = iv.semis;
			}
			if (*s == '|')
				s++;
			nv++;
		}
		return nv;
	}
	return 0;
}

static int target_of(const char *mode, const int *v, int len)
{
	return (!strcmp(mode, "above") || !strcmp(mode, "root")) ? v[0] : v[len - 1];
}

/* renderVoicing: midi notes of the chord into midi[], count returned. */
static int render_voicing(const voicing_req *r, int *midi)
{
	static const char *const pcs = "c d ef g a b";
	int v[16][12], len[16], nv, di = -1, best = 0, min = 99, diffs[16];
	char root[8], symbol[32];
	const char *c = r->chord, *mode = r->mode, *sl;
	size_t k = 0;
	double anchor = pat__clamp(r->anchor, 1e6);
	for (size_t i = 0; i < sizeof voicing_dicts / sizeof voicing_dicts[0]; i++)
		if (!strcmp(voicing_dicts[i].name, r->dict))
			di = (int)i;
	if (di < 0 || !(*c >= 'A' && *c <= 'G'))
		return -1;
	/* Strudel spreads the value's (often undefined) mode and anchor over
	 * the dictionary's, so renderVoicing's defaults win: below, c5. */
	if (!mode)
		mode = "below";
	if (anchor < 0 && !note_to_midi("c5", 4, &anchor))
		return -1;
	root[k++] = *c++;
	while ((*c == 'b' || *c == '#') && k < 7)
		root[k++] = *c++;
	root[k] = '\0';
	sl = strchr(c, '/');
	k = sl ? (size_t)(sl - c) : strlen(c);
	if (k >= sizeof symbol)
		return -1;
	memcpy(symbol, c, k);
	symbol[k] = '\0';
	int rc_ = (int)(strchr(pcs, root[0] | 0x20) - pcs);
	for (const char *a = root + 1; *a; a++)
		rc_ += *a == '#' ? 1 : -1;
	if ((nv = voicing_list(di, symbol, v, len)) <= 0)
		return -1;
	int ac = mod12((int)anchor);
	for (int i = 0; i < nv; i++) {
		diffs[i] = mod12(ac - target_of(mode, v[i], len[i]) - rc_);
		if (diffs[i] < min) {
			min = diffs[i];
			best = i;
		}
	}
	if (!strcmp(mode, "root"))
		best = 0;
	double offd = pat__clamp(r->offset, 1e6);
	int off = (int)offd;
	int octdiff = (int)ceil(offd / nv) * 12;
	int idx = ((best + off) % nv + nv) % nv;
	int am = (int)anchor - diffs[idx] + octdiff;
	int tgt = target_of(mode, v[idx], len[idx]), n = 0;
	for (int i = 0; i < len[idx]; i++) {
		int mm = am - tgt + v[idx][i];
		if (!strcmp(mode, "duck") && mm == (int)anchor)
			continue;
		midi[n++] = mm;
	}
	return n;
}

static const char *midi_name(qctx *q, int midi)
{
	static const char *const flats[12] = { "C", "Db", "D", "Eb", "E", "F",
					       "Gb", "G", "Ab", "A", "Bb", "B" };
	char buf[16];
	snprintf(buf, sizeof buf, "%s%d", flats[mod12(midi)], floordiv(midi, 12) - 1);
	return astrdup(q, buf);
}

static bool voicing_key(const char *k)
{
	static const char *const keys[] = { "dictionary", "chord", "anchor",
					    "offset", "mode", "n", "octaves" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (!strcmp(keys[i], k))
			return true;
	return false;
}

static int voicing_event(qctx *q, const tt_event *o, const tt_field *nf,
			 tt_span part, hlist *out)
{
	tt_field *r = pat__qalloc(q, sizeof *r * (o->n_fields + 1));
	uint32_t k = 0;
	tt_event e = *o;
	bool obj = !(o->n_fields == 1 && !o->fields[0].key);
	if (!r)
		return TT_ELIMIT;
	r[k++] = *nf;
	if (obj)
		for (uint32_t i = 0; i < o->n_fields; i++) {
			if (!o->fields[i].key || voicing_key(o->fields[i].key))
				continue;
			if (!strcmp(o->fields[i].key, "note"))
				r[0] = o->fields[i]; /* set(rest) wins */
			else
				r[k++] = o->fields[i];
		}
	e.fields = r;
	e.n_fields = k;
	e.part = part;
	return pat__push(q, out, &e);
}

static int query_voicing(qctx *q, const pat *p, tt_span span, hlist *out)
{
	hlist l = { 0 };
	int rc = pat__query(q, p->a, span, &l), midi[16];
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l.n; i++) {
		voicing_req r;
		int n;
		if (!voicing_request(&l.v[i], &r) || (n = render_voicing(&r, midi)) <= 0)
			continue; /* unknown chord: silence, as Strudel */
		/* each note is a pure, so its parts split at cycle boundaries */
		tt_rat b = l.v[i].part.begin;
		for (;;) {
			tt_span piece = { b, l.v[i].part.end };
			int64_t sam = rat_floor(b);
			if (rat_cmp(piece.end, rat_int(sam + 1)) > 0)
				piece.end = rat_int(sam + 1);
			if (r.has_n) {
				double rn = pat__clamp(r.n, 1e6);
				int cnt = n, oo = (int)floor(rn / cnt);
				int idx = ((int)rn % cnt + cnt) % cnt;
				tt_field nf = { "note", TT_V_NUM,
						midi[idx] + oo * r.octaves * 12, NULL };
				if ((rc = voicing_event(q, &l.v[i], &nf, piece, out)) < 0)
					return rc;
			} else {
				for (int j = 0; j < n; j++) {
					tt_field nf = { "note", TT_V_STR, 0,
							midi_name(q, midi[j]) };
					if (!nf.str)
						return TT_ELIMIT;
					if ((rc = voicing_event(q, &l.v[i], &nf, piece,
								out)) < 0)
						return rc;
				}
			}
			if (rat_cmp(piece.end, l.v[i].part.end) >= 0)
				break;
			b = piece.end;
		}
	}
	return TT_OK;
}

int pat_voicing(pat_pool *pool, pat *p, pat **out)
{
	pmem m = { pool, NULL };
	pat *r = pat__node(&m, K_VOICING);
	if (!r)
		return TT_ENOMEM;
	r->a = p;
	*out = r;
	return TT_OK;
}

int pat__query_tonal(qctx *q, const pat *p, tt_span span, hlist *out)
{
	switch (p->kind) {
	case K_SCALE: return query_scale(q, p, span, out);
	case K_ARP: return query_arp(q, p, span, out);
	case K_VOICING: return query_voicing(q, p, span, out);
	default: return TT_EINVAL;
	}
}

/* The name an argument value spells: an array joins with ' '. */
static const char *arg_name(pmem *m, const parg *a)
{
	char buf[128];
	size_t k = 0;
	for (uint32_t i = 0; i < a->n; i++) {
		char one[48];
		if (a->f[i].kind == TT_V_STR)
			snprintf(one, sizeof one, "%s", a->f[i].str);
		else
			snprintf(one, sizeof one, "%.17g", a->f[i].num);
		int w = snprintf(buf + k, sizeof buf - k, "%s%s", i ? " " : "", one);
		if (w < 0 || (size_t)w >= sizeof buf - k)
			return NULL;
		k += (size_t)w;
	}
	buf[k] = '\0';
	char *r = pmem_alloc(m, k + 1);
	if (r)
		memcpy(r, buf, k + 1);
	return r;
}

int pat__tonal_plain(pmem *m, int pk, const parg *a, const pat *p, pat **out)
{
	pat *r = pat__node(m, K_SCALE);
	if (!r)
		return pat__nomem(m);
	r->a = (pat *)p;
	r->i1 = pk == P_TRANSPOSE;
	if (pk == P_TRANSPOSE && a->is_num && (a->n != 1 || a->f[0].kind != TT_V_STR)) {
		r->x = a->x;
	} else {
		r->name = arg_name(m, a);
		if (!r->name)
			return pat__silence(m, out);
		if (pk == P_TRANSPOSE && a->is_num) {
			r->x = a->x;
			r->name = NULL;
		}
	}
	*out = r;
	return TT_OK;
}

int pat_scale(pat_pool *pool, pat *p, pat *name, pat **out)
{
	pat *args[1] = { name };
	return pat__patternify(pool, P_SCALE, args, 1, p, NULL, out);
}

int pat_transpose(pat_pool *pool, pat *p, pat *amount, pat **out)
{
	pat *args[1] = { amount };
	return pat__patternify(pool, P_TRANSPOSE, args, 1, p, NULL, out);
}

int pat_arp(pat_pool *pool, pat *p, pat *indices, pat **out)
{
	pmem m = { pool, NULL };
	pat *r = pat__node(&m, K_ARP);
	if (!r)
		return TT_ENOMEM;
	r->a = p;
	r->b = indices;
	*out = r;
	return TT_OK;
}
