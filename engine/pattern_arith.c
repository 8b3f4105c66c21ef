/*
 * engine/pattern_arith.c: values and operators: Strudel's composers (set,
 * add, sub, mul, div, keepif...), value maps (fmap: controls, round,
 * range...), and the arithmetic builders.
 *
 * Invariants:
 *  1. Operators follow Strudel's _composeOp: when either side is an object
 *     the other is wrapped as {value: x} and common keys combine; a bare
 *     {value} right side leaves the left unchanged (Strudel warns and
 *     keeps it). Numeric operators parse note names as MIDI numbers.
 *  2. Results live in the query's arena; inputs are never written.
 */
#include "engine/pattern_internal.h"

#include <math.h>
#include <string.h>

static bool is_object(const tt_field *f, uint32_t n)
{
	return n == 0 || f[0].key != NULL;
}

static bool is_array(const tt_field *f, uint32_t n)
{
	return n > 1 && f[0].key == NULL;
}

/* Note name (c3, eb4, f#2, a) to MIDI, Strudel's noteToMidi; -1 if none. */
static bool note_midi(const char *s, double *out)
{
	static const int chroma[7] = { 9, 11, 0, 2, 4, 5, 7 }; /* a..g */
	int c, acc = 0, oct = 3, sign = 1;
	const char *p = s;
	if (!((*p >= 'a' && *p <= 'g') || (*p >= 'A' && *p <= 'G')))
		return false;
	c = chroma[(*p | 0x20) - 'a'];
	p++;
	while (*p == '#' || *p == 'b' || *p == 's' || *p == 'f') {
		acc += (*p == '#' || *p == 's') ? 1 : -1;
		p++;
	}
	if (*p == '-') {
		sign = -1;
		p++;
	}
	if (*p) {
		oct = 0;
		while (*p >= '0' && *p <= '9') {
			oct = oct * 10 + (*p++ - '0');
			if (oct > 1000)
				return false; /* before it can overflow */
		}
		if (*p)
			return false;
		oct *= sign;
	} else if (sign < 0) {
		return false;
	}
	*out = (oct + 1) * 12 + c + acc;
	return true;
}

/* Strudel's parseNumeral on one scalar field: NaN is not a numeral (it
 * throws there). */
static bool numeral(const tt_field *f, double *out)
{
	if (f->kind == TT_V_STR) {
		if (value_number(f, 1, out) && *out == *out)
			return true;
		return note_midi(f->str, out);
	}
	*out = f->num;
	return f->num == f->num;
}

static double js_mod(double a, double b)
{
	return fmod(fmod(a, b) + b, b);
}

/* JavaScript's Number(v) for a scalar. */
static double js_number(const tt_field *f)
{
	double x;
	if (f->kind != TT_V_STR)
		return f->num;
	return value_number(f, 1, &x) ? x : NAN;
}

/* <, >, <=, >=, ==, != with JavaScript's rules (Strudel compares raw
 * values): two strings compare as strings, anything else as numbers. */
static int compare_op(int op, const tt_field *a, const tt_field *b, tt_field *r)
{
	int c = 0;
	bool res, nan = false;
	if (a->kind == TT_V_STR && b->kind == TT_V_STR) {
		c = strcmp(a->str, b->str);
	} else {
		double x = js_number(a), y = js_number(b);
		nan = x != x || y != y;
		c = x < y ? -1 : x > y ? 1 : 0;
	}
	switch (op) {
	case PAT_OP_LT: res = !nan && c < 0; break;
	case PAT_OP_GT: res = !nan && c > 0; break;
	case PAT_OP_LTE: res = !nan && c <= 0; break;
	case PAT_OP_GTE: res = !nan && c >= 0; break;
	case PAT_OP_EQ: res = !nan && c == 0; break;
	default: res = nan || c != 0; break;
	}
	*r = (tt_field){ NULL, TT_V_BOOL, res, NULL };
	return TT_OK;
}

/* One scalar operation; *keep false for undefined. */
static int scalar_op(int op, const tt_field *a, const tt_field *b, tt_field *r,
		     bool *keep)
{
	double x, y;
	*keep = true;
	switch (op) {
	case PAT_OP_SET: *r = *b; return TT_OK;
	case PAT_OP_KEEP: *r = *a; return TT_OK;
	case PAT_OP_KEEPIF:
		*r = *a;
		*keep = value_truthy(b, 1);
		return TT_OK;
	case PAT_OP_AND:
		*r = value_truthy(a, 1) ? *b : *a;
		return TT_OK;
	case PAT_OP_OR:
		*r = value_truthy(a, 1) ? *a : *b;
		return TT_OK;
	case PAT_OP_LT: case PAT_OP_GT: case PAT_OP_LTE: case PAT_OP_GTE:
	case PAT_OP_EQ: case PAT_OP_NE:
		return compare_op(op, a, b, r);
	default: break;
	}
	if (!numeral(a, &x) || !numeral(b, &y))
		return TT_EINVAL;
	r->kind = TT_V_NUM;
	r->str = NULL;
	switch (op) {
	case PAT_OP_ADD: r->num = x + y; break;
	case PAT_OP_SUB: r->num = x - y; break;
	case PAT_OP_MUL: r->num = x * y; break;
	case PAT_OP_DIV: r->num = x / y; break;
	case PAT_OP_MOD: r->num = js_mod(x, y); break;
	case PAT_OP_POW: r->num = pow(x, y); break;
	default: return TT_EINVAL;
	}
	return TT_OK;
}

static const tt_field *find(const tt_field *f, uint32_t n, const char *key)
{
	if (!key)
		return NULL;
	for (uint32_t i = 0; i < n; i++)
		if (f[i].key && strcmp(f[i].key, key) == 0)
			return &f[i];
	return NULL;
}

/* Object union: a's keys, then b's new keys; common keys combined. */
static int union_op(qctx *q, int op, const tt_field *a, uint32_t na,
		    const tt_field *b, uint32_t nb, const tt_field **out,
		    uint32_t *n)
{
	tt_field *r = pat__qalloc(q, sizeof *r * (na + nb + 1));
	uint32_t k = 0;
	int rc;
	if (!r)
		return TT_ELIMIT;
	for (uint32_t i = 0; i < na; i++) {
		const tt_field *o = find(b, nb, a[i].key);
		r[k] = a[i];
		if (o) {
			bool keep;
			if ((rc = scalar_op(op, &a[i], o, &r[k], &keep)) < 0)
				return rc;
			r[k].key = a[i].key;
		}
		k++;
	}
	for (uint32_t i = 0; i < nb; i++)
		if (!find(a, na, b[i].key))
			r[k++] = b[i];
	*out = r;
	*n = k;
	return TT_OK;
}

int pat__value_op(qctx *q, int op, const tt_event *ea, const tt_event *eb,
		  const tt_field **f, uint32_t *n, bool *keep)
{
	const tt_field *a = ea->fields, *b = eb->fields;
	uint32_t na = ea->n_fields, nb = eb->n_fields;
	*keep = true;
	if (op == OP_TAIL) {
		tt_field *r = pat__qalloc(q, sizeof *r * (na + nb));
		if (!r)
			return TT_ELIMIT;
		memcpy(r, a, sizeof *r * na);
		memcpy(r + na, b, sizeof *r * nb);
		*f = r;
		*n = na + nb;
		return TT_OK;
	}
	if (op == PAT_OP_KEEPIF) {
		*f = a;
		*n = na;
		*keep = value_truthy(b, nb);
		return TT_OK;
	}
	if (is_object(a, na) || is_object(b, nb)) {
		tt_field wa, wb;
		if (!is_object(b, nb)) {
			/* {value: b} alone: Strudel keeps a unchanged. */
			*f = a;
			*n = na;
			return TT_OK;
		}
		if (!is_object(a, na)) {
			if (na != 1)
				return TT_EINVAL;
			wa = a[0];
			wa.key = "value";
			a = &wa;
		}
		(void)wb;
		return union_op(q, op, a, na, b, nb, f, n);
	}
	if (is_array(a, na) || is_array(b, nb)) {
		if (op == PAT_OP_SET) {
			*f = b;
			*n = nb;
			return TT_OK;
		}
		if (op == PAT_OP_KEEP) {
			*f = a;
			*n = na;
			return TT_OK;
		}
		return TT_EINVAL;
	}
	tt_field *r = pat__qalloc(q, sizeof *r);
	int rc;
	if (!r)
		return TT_ELIMIT;
	if ((rc = scalar_op(op, a, b, r, keep)) < 0)
		return rc;
	r->key = NULL;
	*f = r;
	*n = 1;
	return TT_OK;
}

/* ---- fmap ---- */

int pat__fmap(pmem *m, const pat *p, int fk, double x, pat **out)
{
	pat *r = pat__node(m, K_FMAP);
	if (!r)
		return pat__nomem(m);
	r->a = (pat *)p;
	r->sub = fk;
	r->x = x;
	*out = r;
	return TT_OK;
}

/* Strudel's createParam withVal: v wrapped as {name: v}. */
static int control_value(qctx *q, const pat *p, tt_event *e)
{
	const tt_field *v = e->fields;
	uint32_t n = e->n_fields, nb = 0;
	const tt_field *bag = NULL, *val = v;
	uint32_t nval = n;
	tt_field *r;
	if (is_object(v, n)) {
		const tt_field *vv = find(v, n, "value");
		if (!vv)
			return TT_OK; /* {name: {...}}: cannot be held; unchanged */
		bag = v;
		nb = n;
		val = vv;
		nval = 1;
	}
	r = pat__qalloc(q, sizeof *r * (nb + nval + 1));
	if (!r)
		return TT_ELIMIT;
	uint32_t k = 0;
	for (uint32_t i = 0; i < nb; i++)
		if (bag[i].key && strcmp(bag[i].key, "value") != 0)
			r[k++] = bag[i];
	if (is_array(val, nval) && p->n_names > 1) {
		for (uint32_t i = 0; i < nval && i < p->n_names; i++) {
			r[k] = val[i];
			r[k++].key = p->names[i];
		}
	} else {
		r[k] = val[0];
		r[k++].key = p->names[0];
	}
	e->fields = r;
	e->n_fields = k;
	return TT_OK;
}

/* juxBy's {...v, pan: (v.pan ?? 0.5) + x}; Strudel's 'pan' in v throws
 * for a value that is not an object. */
static int pan_offset(qctx *q, const pat *p, tt_event *e)
{
	if (!is_object(e->fields, e->n_fields))
		return PAT_ETHROW;
	const tt_field *pan = is_object(e->fields, e->n_fields)
		? find(e->fields, e->n_fields, "pan") : NULL;
	uint32_t n = is_object(e->fields, e->n_fields) ? e->n_fields : 0;
	tt_field *r = pat__qalloc(q, sizeof *r * (n + 1));
	double base = 0.5;
	if (!r)
		return TT_ELIMIT;
	if (pan && !numeral(pan, &base))
		return TT_EINVAL;
	memcpy(r, e->fields, sizeof *r * n);
	tt_field nf = { "pan", TT_V_NUM, base + p->x, NULL };
	uint32_t k = n;
	bool done = false;
	for (uint32_t i = 0; i < n; i++)
		if (r[i].key && strcmp(r[i].key, "pan") == 0) {
			r[i] = nf;
			done = true;
		}
	if (!done)
		r[k++] = nf;
	e->fields = r;
	e->n_fields = k;
	return TT_OK;
}

/* Maps a bare number; returns 1 to drop the event. round, floor and ceil
 * parse their value as Strudel's asNumber does, which throws on anything
 * but a number or note name (the whole query then fails, as there). */
static int scalar_map(qctx *q, const pat *p, tt_event *e)
{
	double v;
	tt_field *r;
	bool rounding = p->sub == F_UNARY && (p->i1 == PAT_UN_ROUND ||
		p->i1 == PAT_UN_FLOOR || p->i1 == PAT_UN_CEIL);
	if (e->n_fields != 1 || e->fields[0].key || !numeral(&e->fields[0], &v))
		return rounding ? PAT_ETHROW : 1;
	switch (p->sub) {
	case F_UNARY:
		switch (p->i1) {
		case PAT_UN_ROUND: v = floor(v + 0.5); break;
		case PAT_UN_FLOOR: v = floor(v); break;
		case PAT_UN_CEIL: v = ceil(v); break;
		case PAT_UN_TO_BIPOLAR: v = v * 2 - 1; break;
		case PAT_UN_FROM_BIPOLAR: v = (v + 1) / 2; break;
		default: return TT_EINVAL;
		}
		break;
	case F_EXP: v = exp(v); break;
	case F_IRAND: v = trunc(v * p->x); break;
	default: return TT_EINVAL;
	}
	if (!(r = pat__qalloc(q, sizeof *r)))
		return TT_ELIMIT;
	*r = (tt_field){ NULL, TT_V_NUM, v, NULL };
	e->fields = r;
	e->n_fields = 1;
	return TT_OK;
}

int pat__query_fmap(qctx *q, const pat *p, tt_span span, hlist *out)
{
	size_t from = out->n, k = from;
	int rc = pat__query(q, p->a, span, out);
	if (rc < 0)
		return rc;
	if ((rc = pat__tickn(q, out->n - from)) < 0)
		return rc;
	for (size_t i = from; i < out->n; i++) {
		tt_event e = out->v[i];
		switch (p->sub) {
		case F_CONTROL: rc = control_value(q, p, &e); break;
		case F_PAN_OFFSET: rc = pan_offset(q, p, &e); break;
		default: rc = scalar_map(q, p, &e); break;
		}
		if (rc < 0)
			return rc;
		if (rc == 1)
			continue; /* a value JavaScript would make NaN of: dropped */
		out->v[k++] = e;
	}
	out->n = k;
	return TT_OK;
}

/* ---- public builders ---- */

int pat_op(pat_pool *pool, pat_op_kind op, pat_how how, pat *a, pat *b, pat **out)
{
	pmem m = { pool, NULL };
	pat *r;
	switch (how) {
	case PAT_HOW_IN: return pat__app(&m, APP_LEFT, op, a, b, out);
	case PAT_HOW_OUT: return pat__app(&m, APP_RIGHT, op, a, b, out);
	case PAT_HOW_MIX: return pat__app(&m, APP_BOTH, op, a, b, out);
	case PAT_HOW_SQUEEZE:
	case PAT_HOW_SQUEEZEOUT:
		r = pat__node(&m, K_SQUEEZE);
		if (!r)
			return TT_ENOMEM;
		r->sub = how == PAT_HOW_SQUEEZE ? 0 : 3;
		r->how = op;
		r->a = how == PAT_HOW_SQUEEZE ? a : b;
		r->b = how == PAT_HOW_SQUEEZE ? b : a;
		*out = r;
		return TT_OK;
	}
	return TT_EINVAL;
}

int pat_op_lookup(const char *name, pat_op_kind *op)
{
	static const struct { const char *name; pat_op_kind op; } t[] = {
		{ "set", PAT_OP_SET }, { "keep", PAT_OP_KEEP },
		{ "keepif", PAT_OP_KEEPIF }, { "add", PAT_OP_ADD },
		{ "sub", PAT_OP_SUB }, { "mul", PAT_OP_MUL }, { "div", PAT_OP_DIV },
		{ "mod", PAT_OP_MOD }, { "pow", PAT_OP_POW }, { "lt", PAT_OP_LT },
		{ "gt", PAT_OP_GT }, { "lte", PAT_OP_LTE }, { "gte", PAT_OP_GTE },
		{ "eq", PAT_OP_EQ }, { "ne", PAT_OP_NE }, { "and", PAT_OP_AND },
		{ "or", PAT_OP_OR },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(t[i].name, name) == 0) {
			*op = t[i].op;
			return TT_OK;
		}
	return TT_ENOTFOUND;
}

int pat_unary(pat_pool *pool, pat_unary_kind kind, pat *p, pat **out)
{
	pmem m = { pool, NULL };
	int rc = pat__fmap(&m, p, F_UNARY, 0, out);
	if (rc == TT_OK)
		(*out)->i1 = kind;
	return rc;
}

/* range(lo, hi) = mul(hi - lo).add(lo), each an appLeft with a pure. */
int pat__range_plain(pmem *m, const pat *p, double lo, double hi, pat **out)
{
	pat *d, *l, *x;
	int rc;
	if ((rc = pat__pure_num(m, hi - lo, &d)) < 0 ||
	    (rc = pat__pure_num(m, lo, &l)) < 0 ||
	    (rc = pat__app(m, APP_LEFT, PAT_OP_MUL, p, d, &x)) < 0)
		return rc;
	return pat__app(m, APP_LEFT, PAT_OP_ADD, x, l, out);
}

int pat_range(pat_pool *pool, pat *p, pat *lo, pat *hi, pat **out)
{
	pat *args[2] = { lo, hi };
	return pat__patternify(pool, P_RANGE, args, 2, p, NULL, out);
}

int pat_rangex(pat_pool *pool, pat *p, pat *lo, pat *hi, pat **out)
{
	pat *args[2] = { lo, hi };
	return pat__patternify(pool, P_RANGEX, args, 2, p, NULL, out);
}

int pat_range2(pat_pool *pool, pat *p, pat *lo, pat *hi, pat **out)
{
	pat *args[2] = { lo, hi };
	return pat__patternify(pool, P_RANGE2, args, 2, p, NULL, out);
}
