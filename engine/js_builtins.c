/*
 * engine/js_builtins.c: the names a program can call, bound to the pattern
 * core (engine/pattern.h).
 *
 * Each builtin has a signature saying how its arguments map onto the
 * core's function: P is the pattern it is applied to, A a patterned
 * argument (numbers, strings, arrays and patterns are all accepted and made
 * patterns), F a function argument. A builtin called as a method takes the
 * pattern from the receiver (s("bd").fast(2)); called as a free function it
 * takes it from its last argument (fast(2, s("bd"))), and with fewer
 * arguments it returns the partial application (fast(2) is a function of a
 * pattern), as Strudel's curried functions do. Control names (s, n, lpf,
 * ...) are not in the table: the controls table of the core answers them.
 *
 * Invariants:
 *  1. The table is sorted by nothing and searched linearly: it is small and
 *     only compilation uses it.
 *  2. A method call with fewer arguments than its signature needs is an
 *     error naming the function and the count (Strudel's ".every() expects
 *     2 inputs"), never a partial application.
 */
#include "engine/js_eval_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "engine/srcmap.h"

typedef int (*f_p)(pat_pool *, pat *, pat **);
typedef int (*f_pa)(pat_pool *, pat *, pat *, pat **);
typedef int (*f_paa)(pat_pool *, pat *, pat *, pat *, pat **);
typedef int (*f_paaa)(pat_pool *, pat *, pat *, pat *, pat *, pat **);
typedef int (*f_paf)(pat_pool *, pat *, pat *, pat_fn, pat **);
typedef int (*f_pf)(pat_pool *, pat *, pat_fn, pat **);
typedef int (*f_pfs)(pat_pool *, pat *, const pat_fn *, size_t, pat **);
typedef int (*f_list)(pat_pool *, pat *const *, size_t, pat **);

#define B(name, sig, fn, arg) { name, sig, (void (*)(void))(fn), arg }

enum { LIST_STACK, LIST_SLOWCAT, LIST_FASTCAT, LIST_RANDCAT };

static const js_builtin table[] = {
	/* constructors */
	B("stack", SIG_CTOR_LIST, NULL, LIST_STACK),
	B("cat", SIG_CTOR_LIST, NULL, LIST_SLOWCAT),
	B("slowcat", SIG_CTOR_LIST, NULL, LIST_SLOWCAT),
	B("seq", SIG_CTOR_LIST, NULL, LIST_FASTCAT),
	B("fastcat", SIG_CTOR_LIST, NULL, LIST_FASTCAT),
	B("sequence", SIG_CTOR_LIST, NULL, LIST_FASTCAT),
	B("randcat", SIG_CTOR_LIST, NULL, LIST_RANDCAT),
	B("chooseCycles", SIG_CTOR_LIST, NULL, LIST_RANDCAT),
	B("timeCat", SIG_TIMECAT, NULL, 0),
	B("timecat", SIG_TIMECAT, NULL, 0),
	B("choose", SIG_CHOOSE, NULL, 0),
	B("pure", SIG_CTOR_A, NULL, 0),
	B("run", SIG_CTOR_A, pat_run, 0),
	B("irand", SIG_CTOR_A, pat_irand, 0),
	/* REPL */
	B("setcps", SIG_TEMPO, NULL, 1),
	B("setCps", SIG_TEMPO, NULL, 1),
	B("setcpm", SIG_TEMPO, NULL, 60),
	B("setCpm", SIG_TEMPO, NULL, 60),
	B("hush", SIG_HUSH, NULL, 0),
	B("apply", SIG_APPLY, NULL, 0),
	/* time */
	B("fast", SIG_PA, pat_fast, 0),
	B("slow", SIG_PA, pat_slow, 0),
	B("sparsity", SIG_PA, pat_slow, 0),
	B("hurry", SIG_PA, pat_hurry, 0),
	B("cpm", SIG_PA, pat_cpm, 0),
	B("early", SIG_PA, pat_early, 0),
	B("late", SIG_PA, pat_late, 0),
	B("rev", SIG_P, pat_rev, 0),
	B("iter", SIG_PA, pat_iter, 0),
	B("iterBack", SIG_PA, pat_iter_back, 0),
	B("iterback", SIG_PA, pat_iter_back, 0),
	B("palindrome", SIG_P, pat_palindrome, 0),
	B("ply", SIG_PA, pat_ply, 0),
	B("off", SIG_PAF, pat_off, 0),
	B("superimpose", SIG_PFS, pat_superimpose, 0),
	B("layer", SIG_PFS, pat_layer, 0),
	B("jux", SIG_PF, pat_jux, 0),
	B("juxBy", SIG_PAF, pat_jux_by, 0),
	B("juxby", SIG_PAF, pat_jux_by, 0),
	B("chunk", SIG_PAF, pat_chunk, 0),
	B("slowChunk", SIG_PAF, pat_chunk, 0),
	B("slowchunk", SIG_PAF, pat_chunk, 0),
	B("chunkBack", SIG_PAF, pat_chunk_back, 0),
	B("chunkback", SIG_PAF, pat_chunk_back, 0),
	B("fastChunk", SIG_PAF, pat_fast_chunk, 0),
	B("fastchunk", SIG_PAF, pat_fast_chunk, 0),
	B("every", SIG_PAF, pat_first_of, 0),
	B("firstOf", SIG_PAF, pat_first_of, 0),
	B("lastOf", SIG_PAF, pat_last_of, 0),
	B("when", SIG_PAF, pat_when, 0),
	B("linger", SIG_PA, pat_linger, 0),
	B("compress", SIG_PAA, pat_compress, 0),
	B("zoom", SIG_PAA, pat_zoom, 0),
	B("fastGap", SIG_PA, pat_fast_gap, 0),
	B("fastgap", SIG_PA, pat_fast_gap, 0),
	B("inside", SIG_PAF, pat_inside, 0),
	B("outside", SIG_PAF, pat_outside, 0),
	B("swingBy", SIG_PAA, pat_swing_by, 0),
	B("swing", SIG_PA, pat_swing, 0),
	B("brak", SIG_P, pat_brak, 0),
	B("segment", SIG_PA, pat_segment, 0),
	B("seg", SIG_PA, pat_segment, 0),
	B("struct", SIG_PA, pat_struct, 0),
	B("mask", SIG_PA, pat_mask, 0),
	B("euclid", SIG_PAA, pat_euclid, 0),
	B("euclidRot", SIG_PAAA, pat_euclid_rot, 0),
	B("euclidrot", SIG_PAAA, pat_euclid_rot, 0),
	B("euclidLegato", SIG_PAA, pat_euclid_legato, 0),
	B("euclidLegatoRot", SIG_PAAA, pat_euclid_legato_rot, 0),
	B("repeatCycles", SIG_PA, pat_repeat_cycles, 0),
	/* randomness */
	B("degradeBy", SIG_PA, pat_degrade_by, 0),
	B("degrade", SIG_P, pat_degrade, 0),
	B("undegradeBy", SIG_PA, pat_undegrade_by, 0),
	B("sometimesBy", SIG_PAF, pat_sometimes_by, 0),
	B("sometimes", SIG_PNF, NULL, 0),
	B("often", SIG_PNF, NULL, 0),
	B("rarely", SIG_PNF, NULL, 0),
	B("almostNever", SIG_PNF, NULL, 0),
	B("almostAlways", SIG_PNF, NULL, 0),
	B("always", SIG_PNF, NULL, 0),
	B("never", SIG_PNF, NULL, 0),
	B("someCyclesBy", SIG_PAF, pat_some_cycles_by, 0),
	B("someCycles", SIG_PNF, NULL, 0),
	B("shuffle", SIG_PA, pat_shuffle, 0),
	B("scramble", SIG_PA, pat_scramble, 0),
	/* signals */
	B("range", SIG_PAA, pat_range, 0),
	B("rangex", SIG_PAA, pat_rangex, 0),
	B("range2", SIG_PAA, pat_range2, 0),
	/* arithmetic */
	B("add", SIG_OP, NULL, PAT_OP_ADD),
	B("sub", SIG_OP, NULL, PAT_OP_SUB),
	B("mul", SIG_OP, NULL, PAT_OP_MUL),
	B("div", SIG_OP, NULL, PAT_OP_DIV),
	B("mod", SIG_OP, NULL, PAT_OP_MOD),
	B("pow", SIG_OP, NULL, PAT_OP_POW),
	B("lt", SIG_OP, NULL, PAT_OP_LT),
	B("gt", SIG_OP, NULL, PAT_OP_GT),
	B("lte", SIG_OP, NULL, PAT_OP_LTE),
	B("gte", SIG_OP, NULL, PAT_OP_GTE),
	B("eq", SIG_OP, NULL, PAT_OP_EQ),
	B("ne", SIG_OP, NULL, PAT_OP_NE),
	B("and", SIG_OP, NULL, PAT_OP_AND),
	B("or", SIG_OP, NULL, PAT_OP_OR),
	B("set", SIG_OP, NULL, PAT_OP_SET),
	B("keep", SIG_OP, NULL, PAT_OP_KEEP),
	B("keepif", SIG_OP, NULL, PAT_OP_KEEPIF),
	B("round", SIG_UN, NULL, PAT_UN_ROUND),
	B("floor", SIG_UN, NULL, PAT_UN_FLOOR),
	B("ceil", SIG_UN, NULL, PAT_UN_CEIL),
	B("toBipolar", SIG_UN, NULL, PAT_UN_TO_BIPOLAR),
	B("fromBipolar", SIG_UN, NULL, PAT_UN_FROM_BIPOLAR),
	/* controls with their own shape, tonal */
	B("adsr", SIG_PA, pat_adsr, 0),
	B("scale", SIG_PA, pat_scale, 0),
	B("transpose", SIG_PA, pat_transpose, 0),
	B("trans", SIG_PA, pat_transpose, 0),
	B("voicing", SIG_P, pat_voicing, 0),
	B("arp", SIG_PA, pat_arp, 0),
};

static const js_builtin control = B("(control)", SIG_CTRL, NULL, 0);

/* Math.*: plain numbers in, a number out (no Math.random: programs are
 * deterministic). */
enum { M_FLOOR, M_CEIL, M_ROUND, M_ABS, M_SQRT, M_MIN, M_MAX, M_POW, M_SIN,
       M_COS, M_LOG, M_EXP, M_TRUNC, M_SIGN };
static const js_builtin math[] = {
	B("floor", SIG_MATH, NULL, M_FLOOR), B("ceil", SIG_MATH, NULL, M_CEIL),
	B("round", SIG_MATH, NULL, M_ROUND), B("abs", SIG_MATH, NULL, M_ABS),
	B("sqrt", SIG_MATH, NULL, M_SQRT), B("min", SIG_MATH, NULL, M_MIN),
	B("max", SIG_MATH, NULL, M_MAX), B("pow", SIG_MATH, NULL, M_POW),
	B("sin", SIG_MATH, NULL, M_SIN), B("cos", SIG_MATH, NULL, M_COS),
	B("log", SIG_MATH, NULL, M_LOG), B("exp", SIG_MATH, NULL, M_EXP),
	B("trunc", SIG_MATH, NULL, M_TRUNC), B("sign", SIG_MATH, NULL, M_SIGN),
};

/* Array methods: xs.map(f) calls f(x, i) for each element. */
static const js_builtin array_map = B("map", SIG_ARRAY, NULL, 0);

/* Names that are values rather than functions, for suggestions. */
static const char *const value_names[] = {
	"Math", "silence", "sine", "cosine", "saw", "isaw", "tri", "square", "sine2",
	"cosine2", "saw2", "isaw2", "tri2", "square2", "rand", "perlin", "time",
	"s", "sound", "n", "note", "gain", "pan", "speed", "lpf", "cutoff", "hpf",
	"bank", "room", "delay", "vowel", "orbit", "velocity", "chord", "dict",
	"clip", "legato", "crush", "coarse", "shape", "attack", "decay",
	"sustain", "release", "begin", "end", "cps", "resonance", "lpq",
};

#define N_TABLE (sizeof table / sizeof table[0])
#define N_VALUES (sizeof value_names / sizeof value_names[0])

const js_builtin *js__builtin(const char *name)
{
	for (size_t i = 0; i < N_TABLE; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	if (controls_lookup(name))
		return &control;
	return NULL;
}

const char *js__suggest_method(const char *name)
{
	int cap = (int)strlen(name) / 3, best_d;
	const char *best = NULL;

	if (cap < 1)
		cap = 1;
	best_d = cap + 1;
	for (size_t i = 0; i < N_TABLE + N_VALUES; i++) {
		const char *cand = i < N_TABLE ? table[i].name : value_names[i - N_TABLE];
		int d = srcmap_edit_distance(name, cand, cap);
		if (d < best_d) {
			best_d = d;
			best = cand;
		}
	}
	return best;
}

static int core_error(js_ev *ev, int node, const char *name, int rc)
{
	const char *why = pat_pool_error(ev->pool);
	if (why && *why)
		return js__error(ev, node, rc, "%s(): %s", name, why);
	return js__error(ev, node, rc, "%s(): %s", name, tt_strerror(rc));
}

static int reify_fields(js_ev *ev, const js_obj *o, int node, pat **out)
{
	tt_field *f = js__alloc(ev, (o->n + 1) * sizeof *f, node);

	if (!f)
		return TT_ELIMIT;
	for (size_t i = 0; i < o->n; i++) {
		const jv *v = &o->vals[i];
		f[i].key = controls_lookup(o->keys[i]) ? controls_lookup(o->keys[i])
						       : o->keys[i];
		if (v->k == JV_NUM || v->k == JV_BOOL) {
			f[i].kind = v->k == JV_NUM ? TT_V_NUM : TT_V_BOOL;
			f[i].num = v->k == JV_NUM ? v->u.n : v->u.b;
		} else if (v->k == JV_STR) {
			f[i].kind = TT_V_STR;
			f[i].str = v->u.s;
		} else {
			return js__error(ev, node, TT_EINVAL, "an object in a pattern may "
					 "hold numbers and strings, not %s",
					 js__kind_name(v));
		}
	}
	return pat_value(ev->pool, f, (uint32_t)o->n, NULL, out);
}

int js__reify(js_ev *ev, const jv *v, int node, pat **out)
{
	int rc;

	ev->steps++;
	switch (v->k) {
	case JV_PAT: *out = v->u.p; return TT_OK;
	case JV_NUM: rc = pat_num(ev->pool, v->u.n, NULL, out); break;
	case JV_BOOL: rc = pat_bool(ev->pool, v->u.b, NULL, out); break;
	case JV_STR: rc = pat_str(ev->pool, v->u.s, NULL, out); break;
	case JV_OBJ: rc = reify_fields(ev, v->u.o, node, out); break;
	case JV_ARR: {
		pat **ps;
		if (v->u.a->n == 0)
			return pat_silence(ev->pool, out);
		if (!(ps = js__alloc(ev, v->u.a->n * sizeof *ps, node)))
			return TT_ELIMIT;
		for (size_t i = 0; i < v->u.a->n; i++)
			if ((rc = js__reify(ev, &v->u.a->v[i], node, &ps[i])) < 0)
				return rc;
		rc = pat_fastcat(ev->pool, ps, v->u.a->n, out);
		break;
	}
	default:
		return js__error(ev, node, TT_ESYNTAX, "expected a pattern, got %s",
				 js__kind_name(v));
	}
	return rc < 0 ? core_error(ev, node, "pattern", rc) : rc;
}

/* Patterns from args[0, n); one pattern per argument. */
static int reify_all(js_ev *ev, const jv *args, size_t n, int node, pat ***out)
{
	pat **ps = js__alloc(ev, (n + 1) * sizeof *ps, node);
	int rc;

	if (!ps)
		return TT_ELIMIT;
	for (size_t i = 0; i < n; i++)
		if ((rc = js__reify(ev, &args[i], node, &ps[i])) < 0)
			return rc;
	*out = ps;
	return TT_OK;
}

/* One pattern from several arguments: a sequence when more than one. */
static int reify_seq(js_ev *ev, const jv *args, size_t n, int node, pat **out)
{
	pat **ps;
	int rc;

	if (n == 1)
		return js__reify(ev, &args[0], node, out);
	if ((rc = reify_all(ev, args, n, node, &ps)) < 0)
		return rc;
	return pat_fastcat(ev->pool, ps, n, out);
}


static int arity(js_sig sig)
{
	switch (sig) {
	case SIG_P: case SIG_UN: return 0;
	case SIG_PA: case SIG_PF: case SIG_PNF: case SIG_OP: return 1;
	case SIG_PAA: case SIG_PAF: return 2;
	case SIG_PAAA: return 3;
	default: return 1;
	}
}

static int partial(js_ev *ev, const js_fn *f, const jv *args, size_t n, int node,
		   jv *out)
{
	js_fn *g = js__alloc(ev, sizeof *g, node);
	jv *bound = js__alloc(ev, (n + 1) * sizeof *bound, node);

	if (!g || !bound)
		return TT_ELIMIT;
	*g = *f;
	if (n)
		memcpy(bound, args, n * sizeof *bound);
	g->bound = bound;
	g->n_bound = n;
	g->has_recv = false;
	out->k = JV_FN;
	out->u.f = g;
	return TT_OK;
}

static int call_timecat(js_ev *ev, const jv *args, size_t n, int node, pat **out)
{
	pat **ps = js__alloc(ev, (n + 1) * sizeof *ps, node);
	tt_rat *ws = js__alloc(ev, (n + 1) * sizeof *ws, node);
	int rc;

	if (!ps || !ws)
		return TT_ELIMIT;
	for (size_t i = 0; i < n; i++) {
		const jv *a = &args[i], *p = a;
		double w = 1;
		if (a->k == JV_ARR && a->u.a->n >= 2 && a->u.a->v[0].k == JV_NUM) {
			w = a->u.a->v[0].u.n;
			p = &a->u.a->v[1];
		}
		if (!(w > 0) || rat_from_double(w, 1000000, &ws[i]) < 0 || ws[i].n <= 0)
			return js__error(ev, node, TT_EINVAL, "timeCat(): a weight "
					 "must be a positive number");
		if ((rc = js__reify(ev, p, node, &ps[i])) < 0)
			return rc;
	}
	if (n == 0)
		return pat_silence(ev->pool, out);
	return pat_timecat(ev->pool, ws, ps, n, out);
}

static int call_ctor(js_ev *ev, const js_builtin *bi, const jv *args, size_t n,
		     int node, pat **out)
{
	static const f_list lists[] = { pat_stack, pat_slowcat, pat_fastcat,
					pat_randcat };
	pat **ps, *p;
	int rc;

	switch (bi->sig) {
	case SIG_CTOR_LIST:
		if ((rc = reify_all(ev, args, n, node, &ps)) < 0)
			return rc;
		return n ? lists[bi->arg](ev->pool, ps, n, out) : pat_silence(ev->pool, out);
	case SIG_TIMECAT:
		return call_timecat(ev, args, n, node, out);
	case SIG_CHOOSE:
		if ((rc = reify_all(ev, args, n, node, &ps)) < 0)
			return rc;
		return pat_choose(ev->pool, ps, n, out);
	default: /* SIG_CTOR_A; run() reads its missing argument as silence */
		if (n < 1)
			return pat_silence(ev->pool, out);
		if ((rc = js__reify(ev, &args[0], node, &p)) < 0)
			return rc;
		if (!bi->fn) { /* pure */
			*out = p;
			return TT_OK;
		}
		return ((f_p)bi->fn)(ev->pool, p, out);
	}
}

static int call_repl(js_ev *ev, const js_builtin *bi, const jv *recv,
		     const jv *args, size_t n, int node, pat **out)
{
	if (bi->sig == SIG_HUSH && recv) /* p.hush() mutes p only */
		return pat_silence(ev->pool, out);
	if (bi->sig == SIG_HUSH) {
		ev->res->hushed = true;
		ev->res->n_tracks = 0;
		return pat_silence(ev->pool, out);
	}
	if (n < 1 || args[0].k != JV_NUM || !(args[0].u.n > 0) || isinf(args[0].u.n))
		return js__error(ev, node, TT_EINVAL, "%s() expects a positive "
				 "number", bi->name);
	ev->res->has_cps = true;
	ev->res->cps = args[0].u.n / bi->arg;
	return pat_silence(ev->pool, out);
}

static int fn_args(js_ev *ev, const jv *args, size_t n, int node, pat_fn **out)
{
	pat_fn *fs = js__alloc(ev, (n + 1) * sizeof *fs, node);
	int rc;

	if (!fs)
		return TT_ELIMIT;
	for (size_t i = 0; i < n; i++)
		if ((rc = js__to_patfn(ev, &args[i], node, &fs[i])) < 0)
			return rc;
	*out = fs;
	return TT_OK;
}

/* The signatures that apply to a pattern p with arguments a. */
static int call_method(js_ev *ev, const js_fn *f, pat *p, const jv *a, size_t n,
		       int node, pat **out)
{
	const js_builtin *bi = f->bi;
	pat *x = NULL, *y = NULL, *z = NULL;
	pat_fn fn, *fs;
	int rc;

	if (bi->sig == SIG_PAF && (rc = js__to_patfn(ev, &a[1], node, &fn)) < 0)
		return rc;
	if ((bi->sig == SIG_PF || bi->sig == SIG_PNF) &&
	    (rc = js__to_patfn(ev, &a[0], node, &fn)) < 0)
		return rc;
	rc = TT_OK;
	if ((bi->sig == SIG_OP || bi->sig == SIG_PA) && n == 0)
		rc = pat_silence(ev->pool, &x);
	else if (bi->sig == SIG_OP || bi->sig == SIG_PA)
		rc = reify_seq(ev, a, n, node, &x);
	else if (bi->sig == SIG_PAA || bi->sig == SIG_PAAA || bi->sig == SIG_PAF)
		rc = js__reify(ev, &a[0], node, &x);
	if (rc < 0 || ((bi->sig == SIG_PAA || bi->sig == SIG_PAAA) &&
		       (rc = js__reify(ev, &a[1], node, &y)) < 0) ||
	    (bi->sig == SIG_PAAA && (rc = js__reify(ev, &a[2], node, &z)) < 0))
		return rc;
	switch (bi->sig) {
	case SIG_P: return ((f_p)bi->fn)(ev->pool, p, out);
	case SIG_PA: return ((f_pa)bi->fn)(ev->pool, p, x, out);
	case SIG_PAA: return ((f_paa)bi->fn)(ev->pool, p, x, y, out);
	case SIG_PAAA: return ((f_paaa)bi->fn)(ev->pool, p, x, y, z, out);
	case SIG_PAF: return ((f_paf)bi->fn)(ev->pool, p, x, fn, out);
	case SIG_PF: return ((f_pf)bi->fn)(ev->pool, p, fn, out);
	case SIG_PNF: return pat_sometimes_named(ev->pool, p, bi->name, fn, out);
	case SIG_PFS:
		if ((rc = fn_args(ev, a, n, node, &fs)) < 0)
			return rc;
		return ((f_pfs)bi->fn)(ev->pool, p, fs, n, out);
	case SIG_OP:
		return pat_op(ev->pool, (pat_op_kind)bi->arg, (pat_how)f->how, p, x, out);
	case SIG_UN:
		return pat_unary(ev->pool, (pat_unary_kind)bi->arg, p, out);
	default:
		return TT_EINVAL;
	}
}

static int call_control(js_ev *ev, const js_fn *f, const jv *recv, const jv *args,
			size_t n, int node, pat **out)
{
	pat *v, *p;
	int rc;

	if (n < 1 && recv) { /* "c3 e3".note(): the values become the control */
		if ((rc = js__reify(ev, recv, node, &p)) < 0)
			return rc;
		return pat_control(ev->pool, f->name, p, out);
	}
	if (n < 1)
		return js__error(ev, node, TT_ESYNTAX, "%s() expects a value",
				 f->name);
	if ((rc = reify_seq(ev, args, n, node, &v)) < 0)
		return rc;
	if (!recv)
		return pat_control(ev->pool, f->name, v, out);
	if ((rc = js__reify(ev, recv, node, &p)) < 0)
		return rc;
	return pat_control_set(ev->pool, p, f->name, v, out);
}

/* A pattern method called free: the pattern is the argument after the
 * method's own; fewer arguments make a partial application. */
static int split_free(const js_fn *f, const jv *args, size_t n, const jv **recv,
		      size_t *nm)
{
	if (f->bi->sig == SIG_PFS) {
		if (n < 2 || args[n - 1].k != JV_PAT)
			return 0;
		*recv = &args[n - 1];
		*nm = n - 1;
		return 1;
	}
	if (n < (size_t)arity(f->bi->sig) + 1)
		return 0;
	*recv = &args[arity(f->bi->sig)];
	*nm = (size_t)arity(f->bi->sig);
	return 1;
}

/* Strudel's rule for a method's argument count: one that takes a single
 * argument sequences several (p.fast(1, 2) is p.fast("1 2")) and reads none
 * as silence, so its result is empty; any other needs exactly its count.
 * Returns 1 to go on, TT_OK with *out set to silence, or an error. */
static int check_count(js_ev *ev, const js_fn *f, size_t n, int node, pat **out)
{
	const char *name = f->name ? f->name : f->bi->name;
	js_sig sig = f->bi->sig;
	int k = arity(sig);

	if (sig == SIG_PFS || (n == (size_t)k && sig != SIG_PF && sig != SIG_PNF))
		return 1;
	if (sig == SIG_PA || sig == SIG_OP)
		return 1; /* call_method sequences the arguments */
	if ((sig == SIG_PF || sig == SIG_PNF) && n == 1)
		return 1;
	if ((sig == SIG_PF || sig == SIG_PNF) && n == 0)
		return pat_silence(ev->pool, out);
	return js__error(ev, node, TT_ESYNTAX, "%s() expects %d argument%s but got "
			 "%zu", name, k, k == 1 ? "" : "s", n);
}

static int call_pattern_fn(js_ev *ev, const js_fn *f, const jv *recv,
			   const jv *args, size_t n, int node, pat **out, jv *res)
{
	size_t nm = n;
	pat *p;
	int rc;

	if (!recv) {
		if (!split_free(f, args, n, &recv, &nm))
			return partial(ev, f, args, n, node, res);
	} else if ((rc = check_count(ev, f, n, node, out)) != 1) {
		return rc;
	}
	if ((rc = js__reify(ev, recv, node, &p)) < 0)
		return rc;
	return call_method(ev, f, p, args, nm, node, out);
}

static int call_math(js_ev *ev, const js_builtin *bi, const jv *args, size_t n,
		     int node, jv *out)
{
	double x[2] = { NAN, NAN }, r;

	for (size_t i = 0; i < n && i < 2; i++) {
		if (args[i].k != JV_NUM)
			return js__error(ev, node, TT_ESYNTAX, "Math.%s() expects numbers, "
					 "not %s", bi->name, js__kind_name(&args[i]));
		x[i] = args[i].u.n;
	}
	switch (bi->arg) {
	case M_FLOOR: r = floor(x[0]); break;
	case M_CEIL: r = ceil(x[0]); break;
	case M_ROUND: r = floor(x[0] + 0.5); break;
	case M_ABS: r = fabs(x[0]); break;
	case M_SQRT: r = sqrt(x[0]); break;
	case M_MIN: r = n == 0 ? INFINITY : n == 1 ? x[0] : fmin(x[0], x[1]); break;
	case M_MAX: r = n == 0 ? -INFINITY : n == 1 ? x[0] : fmax(x[0], x[1]); break;
	case M_POW: r = pow(x[0], x[1]); break;
	case M_SIN: r = sin(x[0]); break;
	case M_COS: r = cos(x[0]); break;
	case M_LOG: r = log(x[0]); break;
	case M_EXP: r = exp(x[0]); break;
	case M_TRUNC: r = trunc(x[0]); break;
	default: r = x[0] > 0 ? 1 : x[0] < 0 ? -1 : x[0]; break;
	}
	out->k = JV_NUM;
	out->u.n = r;
	return TT_OK;
}

static int call_map(js_ev *ev, const jv *recv, const jv *args, size_t n, int node,
		    jv *out)
{
	js_arr *a;
	int rc;

	if (!recv || recv->k != JV_ARR || n < 1)
		return js__error(ev, node, TT_ESYNTAX, "map() expects a function");
	if (!(a = js__alloc(ev, sizeof *a, node)) ||
	    !(a->v = js__alloc(ev, (recv->u.a->n + 1) * sizeof *a->v, node)))
		return TT_ELIMIT;
	a->n = recv->u.a->n;
	for (size_t i = 0; i < a->n; i++) {
		jv xi[2] = { recv->u.a->v[i], { .k = JV_NUM } };
		xi[1].u.n = (double)i;
		if ((rc = js__call(ev, &args[0], xi, 2, node, &a->v[i])) < 0)
			return rc;
	}
	out->k = JV_ARR;
	out->u.a = a;
	return TT_OK;
}

/* The Math object: its functions and constants. */
static int math_object(js_ev *ev, int node, jv *out)
{
	size_t nf = sizeof math / sizeof math[0], k = 0;
	js_obj *o = js__alloc(ev, sizeof *o, node);

	if (!o || !(o->keys = js__alloc(ev, (nf + 2) * sizeof *o->keys, node)) ||
	    !(o->vals = js__alloc(ev, (nf + 2) * sizeof *o->vals, node)))
		return TT_ELIMIT;
	for (; k < nf; k++) {
		js_fn *f = js__alloc(ev, sizeof *f, node);
		if (!f)
			return TT_ELIMIT;
		memset(f, 0, sizeof *f);
		f->node = -1;
		f->bi = &math[k];
		o->keys[k] = math[k].name;
		o->vals[k].k = JV_FN;
		o->vals[k].u.f = f;
	}
	o->keys[k] = "PI";
	o->vals[k].k = JV_NUM;
	o->vals[k++].u.n = M_PI;
	o->keys[k] = "E";
	o->vals[k].k = JV_NUM;
	o->vals[k++].u.n = M_E;
	o->n = k;
	out->k = JV_OBJ;
	out->u.o = o;
	return TT_OK;
}

const js_builtin *js__array_method(const char *name)
{
	return strcmp(name, "map") == 0 ? &array_map : NULL;
}

int js__call_builtin(js_ev *ev, const js_fn *f, const jv *recv, const jv *args,
		     size_t n, int node, jv *out)
{
	const js_builtin *bi = f->bi;
	const char *name = f->name ? f->name : bi->name;
	jv *all;
	pat *p = NULL;
	int rc;

	ev->steps++;
	out->k = JV_UNDEF;
	switch (bi->sig) {
	case SIG_CTOR_LIST:
	case SIG_TIMECAT:
	case SIG_CHOOSE:
	case SIG_CTOR_A:
		if (recv) { /* p.stack(q) = stack(p, q) */
			if (!(all = js__alloc(ev, (n + 1) * sizeof *all, node)))
				return TT_ELIMIT;
			all[0] = *recv;
			if (n)
				memcpy(all + 1, args, n * sizeof *all);
			args = all;
			n++;
		}
		rc = call_ctor(ev, bi, args, n, node, &p);
		break;
	case SIG_TEMPO:
	case SIG_HUSH:
		rc = call_repl(ev, bi, recv, args, n, node, &p);
		break;
	case SIG_CTRL:
		rc = call_control(ev, f, recv, args, n, node, &p);
		break;
	case SIG_MATH:
		return call_math(ev, bi, args, n, node, out);
	case SIG_APPLY: /* p.apply(f) = f(p); apply(f, p) */
		if (n < (recv ? 1u : 2u))
			return js__error(ev, node, TT_ESYNTAX, "apply() expects a function");
		return js__call(ev, &args[0], recv ? recv : &args[1], 1, node, out);
	case SIG_ARRAY:
		return call_map(ev, recv, args, n, node, out);
	default:
		rc = call_pattern_fn(ev, f, recv, args, n, node, &p, out);
		break;
	}
	if (rc < 0)
		return core_error(ev, node, name, rc);
	if (p) {
		out->k = JV_PAT;
		out->u.p = p;
	}
	return TT_OK;
}

int js__builtin_value(js_ev *ev, const char *name, int node, jv *out)
{
	const js_builtin *bi;
	js_fn *f;
	int rc;

	if (strcmp(name, "Math") == 0)
		return math_object(ev, node, out);
	if (strcmp(name, "silence") == 0) {
		out->k = JV_PAT;
		return pat_silence(ev->pool, &out->u.p);
	}
	rc = pat_signal_named(ev->pool, name, &out->u.p);
	if (rc == TT_OK) {
		out->k = JV_PAT;
		return TT_OK;
	}
	if (rc != TT_ENOTFOUND)
		return core_error(ev, node, name, rc);
	if (!(bi = js__builtin(name)))
		return TT_ENOTFOUND;
	if (!(f = js__alloc(ev, sizeof *f, node)))
		return TT_ELIMIT;
	memset(f, 0, sizeof *f);
	f->node = -1;
	f->bi = bi;
	f->name = name;
	out->k = JV_FN;
	out->u.f = f;
	return TT_OK;
}
