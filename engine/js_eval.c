/*
 * engine/js_eval.c: the tree-walking interpreter of the host language.
 *
 * Design: eval() computes an expression's value; exec() runs a statement.
 * Scopes are linked environments; an arrow function captures the scope it
 * was made in (closures). Double-quoted and backtick strings become
 * patterns through the mini-notation parser, with locations offset by the
 * string's position, exactly where Strudel's transpiler puts them. Calls of
 * builtins go to js_builtins.c.
 *
 * Top level (the REPL forms): `name: expr` registers a track the way
 * Strudel's Pattern.p does (names starting or ending in '_' are muted, a
 * name containing '$' is numbered: "$0", "$1"; names of more than one
 * character starting with 'S' solo); without labels the last expression
 * statement is the one track.
 *
 * Invariants:
 *  1. Every eval() and every call of the pattern core counts one step;
 *     past TT_MAX_EVAL_STEPS evaluation stops with TT_ELIMIT, so a runaway
 *     program ends in bounded time.
 *  2. eval() recursion (expressions and calls together) is bounded by
 *     TT_MAX_EVAL_DEPTH, so the C stack is bounded.
 *  3. All memory comes from the program's pool, counted against
 *     TT_MAX_EVAL_BYTES; nothing is freed until the program is.
 *  4. The first error fills the diag; errors that follow from it (as it
 *     unwinds through the pattern core) leave it alone.
 */
#include "engine/js_eval_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"
#include "engine/mini.h"

struct js_env {
	js_env *parent;
	size_t n, cap;
	const char **names;
	jv *vals;
	bool *consts;
};

typedef enum ctrl { CTRL_NORMAL, CTRL_RETURN } ctrl;

static int eval(js_ev *ev, js_env *env, int node, jv *out);
static int exec(js_ev *ev, js_env *env, int node, ctrl *c, jv *out);

#define NODE(i) js_ast_node(ev->ast, (i))

/* ---- memory, errors ---- */

void *js__alloc(js_ev *ev, size_t size, int node)
{
	void *p;

	if (size > TT_MAX_EVAL_BYTES - ev->bytes) {
		js__error(ev, node, TT_ELIMIT,
			  "the program's values take more than %d bytes",
			  TT_MAX_EVAL_BYTES);
		return NULL;
	}
	p = pat_pool_alloc(ev->pool, size ? size : 1);
	if (!p) {
		js__error(ev, node, TT_ENOMEM, "out of memory");
		return NULL;
	}
	ev->bytes += size;
	return p;
}

uint32_t js__node_at(const js_ev *ev, int node)
{
	const js_node *n;

	if (node < 0)
		return 0;
	n = js_ast_node(ev->ast, node);
	if (n->kind == JS_N_CALL && n->a >= 0 &&
	    js_ast_node(ev->ast, n->a)->kind == JS_N_MEMBER)
		return (uint32_t)js_ast_node(ev->ast, n->a)->c;
	if (n->kind == JS_N_MEMBER)
		return (uint32_t)n->c;
	return n->start;
}

int js__error(js_ev *ev, int node, int rc, const char *fmt, ...)
{
	va_list ap;
	char msg[sizeof ev->diag->message];

	if (ev->diag_set)
		return rc;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	srcmap_diag(ev->m, js__node_at(ev, node), ev->diag, "%s", msg);
	ev->diag_set = true;
	return rc;
}

const char *js__kind_name(const jv *v)
{
	static const char *const names[] = {
		"undefined", "null", "a boolean", "a number", "a string",
		"a pattern", "an array", "an object", "a function",
	};
	return names[v->k];
}

static char *pool_strdup(js_ev *ev, const char *s, size_t len, int node)
{
	char *d = js__alloc(ev, len + 1, node);
	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

/* ---- environments ---- */

static js_env *env_new(js_ev *ev, js_env *parent, int node)
{
	js_env *e = js__alloc(ev, sizeof *e, node);
	if (e)
		memset(e, 0, sizeof *e);
	if (e)
		e->parent = parent;
	return e;
}

static jv *env_find(js_env *e, const char *name, bool **is_const)
{
	for (; e; e = e->parent)
		for (size_t i = 0; i < e->n; i++)
			if (strcmp(e->names[i], name) == 0) {
				if (is_const)
					*is_const = &e->consts[i];
				return &e->vals[i];
			}
	return NULL;
}

static int env_grow(js_ev *ev, js_env *e, int node)
{
	size_t cap = e->cap ? e->cap * 2 : 8;
	const char **names = js__alloc(ev, cap * sizeof *names, node);
	jv *vals = js__alloc(ev, cap * sizeof *vals, node);
	bool *consts = js__alloc(ev, cap * sizeof *consts, node);

	if (!names || !vals || !consts)
		return TT_ELIMIT;
	if (e->n) {
		memcpy(names, e->names, e->n * sizeof *names);
		memcpy(vals, e->vals, e->n * sizeof *vals);
		memcpy(consts, e->consts, e->n * sizeof *consts);
	}
	e->names = names;
	e->vals = vals;
	e->consts = consts;
	e->cap = cap;
	return TT_OK;
}

static int env_define(js_ev *ev, js_env *e, const char *name, const jv *v,
		      bool is_const, int node)
{
	int rc;

	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->names[i], name) == 0)
			return js__error(ev, node, TT_ESYNTAX,
					 "'%s' has already been declared", name);
	if (e->n == e->cap && (rc = env_grow(ev, e, node)) < 0)
		return rc;
	e->names[e->n] = name;
	e->vals[e->n] = *v;
	e->consts[e->n] = is_const;
	e->n++;
	return TT_OK;
}

/* ---- values ---- */

static bool truthy(const jv *v)
{
	switch (v->k) {
	case JV_UNDEF:
	case JV_NULL: return false;
	case JV_BOOL: return v->u.b;
	case JV_NUM: return v->u.n != 0 && !isnan(v->u.n);
	case JV_STR: return v->u.s[0] != '\0';
	default: return true;
	}
}

static jv num(double x)
{
	jv v = { .k = JV_NUM };
	v.u.n = x;
	return v;
}

static jv boolean(bool b)
{
	jv v = { .k = JV_BOOL };
	v.u.b = b;
	return v;
}

/* JavaScript's shortest round-trip rendering of a number. */
static void num_to_str(double x, char *buf, size_t cap)
{
	if (isnan(x)) {
		snprintf(buf, cap, "NaN");
		return;
	}
	if (isinf(x)) {
		snprintf(buf, cap, x < 0 ? "-Infinity" : "Infinity");
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, x);
		if (strtod(buf, NULL) == x)
			return;
	}
}

static int to_str(js_ev *ev, const jv *v, int node, const char **out)
{
	char buf[40];

	switch (v->k) {
	case JV_STR: *out = v->u.s; return TT_OK;
	case JV_NUM: num_to_str(v->u.n, buf, sizeof buf); break;
	case JV_BOOL: snprintf(buf, sizeof buf, v->u.b ? "true" : "false"); break;
	case JV_UNDEF: snprintf(buf, sizeof buf, "undefined"); break;
	case JV_NULL: snprintf(buf, sizeof buf, "null"); break;
	default:
		return js__error(ev, node, TT_ESYNTAX,
				 "cannot turn %s into a string", js__kind_name(v));
	}
	*out = pool_strdup(ev, buf, strlen(buf), node);
	return *out ? TT_OK : TT_ELIMIT;
}

static bool strict_equal(const jv *a, const jv *b)
{
	if (a->k != b->k)
		return false;
	switch (a->k) {
	case JV_UNDEF:
	case JV_NULL: return true;
	case JV_BOOL: return a->u.b == b->u.b;
	case JV_NUM: return a->u.n == b->u.n;
	case JV_STR: return strcmp(a->u.s, b->u.s) == 0;
	case JV_PAT: return a->u.p == b->u.p;
	case JV_ARR: return a->u.a == b->u.a;
	case JV_OBJ: return a->u.o == b->u.o;
	case JV_FN: return a->u.f == b->u.f;
	}
	return false;
}

/* ---- expressions ---- */

static int eval_mini(js_ev *ev, int node, jv *out)
{
	const js_node *n = NODE(node);
	mini_err err;
	int rc;

	out->k = JV_PAT;
	rc = mini_compile(ev->pool, n->str, n->len, srcmap_u16(ev->m, n->start),
			  &out->u.p, &err);
	if (rc < 0 && !ev->diag_set) {
		size_t at = n->start + 1 + err.at;
		if (at >= n->end)
			at = n->end ? n->end - 1 : 0;
		srcmap_diag(ev->m, at, ev->diag, "mini-notation: %s", err.message);
		ev->diag_set = true;
	}
	return rc;
}

static int eval_ident(js_ev *ev, js_env *env, int node, jv *out)
{
	const char *name = NODE(node)->str;
	const jv *v = env_find(env, name, NULL);
	const char *near;
	int rc;

	if (v) {
		*out = *v;
		return TT_OK;
	}
	if (strcmp(name, "undefined") == 0) {
		out->k = JV_UNDEF;
		return TT_OK;
	}
	if (strcmp(name, "null") == 0 || strcmp(name, "true") == 0 ||
	    strcmp(name, "false") == 0) {
		*out = name[0] == 'n' ? (jv){ .k = JV_NULL } : boolean(name[0] == 't');
		return TT_OK;
	}
	rc = js__builtin_value(ev, name, node, out);
	if (rc != TT_ENOTFOUND)
		return rc;
	near = js__suggest_method(name);
	for (js_env *e = env; e; e = e->parent) { /* the program's own names win */
		const char *mine = srcmap_suggest(name, e->names, e->n);
		if (mine) {
			near = mine;
			break;
		}
	}
	if (near)
		return js__error(ev, node, TT_ESYNTAX,
				 "'%s' is not defined: did you mean '%s'?", name, near);
	return js__error(ev, node, TT_ESYNTAX, "'%s' is not defined", name);
}

/* Evaluates a list of expressions (arguments, array elements) with
 * spreads into a new array. */
static int eval_list(js_ev *ev, js_env *env, int first, int count, int node,
		     jv **out, size_t *n_out)
{
	size_t n = 0, cap = (size_t)count + 4;
	jv *v = js__alloc(ev, cap * sizeof *v, node), x;
	int rc;

	if (!v)
		return TT_ELIMIT;
	for (int i = 0; i < count; i++) {
		int k = ev->ast->kids[first + i];
		bool spread = NODE(k)->kind == JS_N_SPREAD;
		if ((rc = eval(ev, env, spread ? NODE(k)->a : k, &x)) < 0)
			return rc;
		if (spread && x.k != JV_ARR)
			return js__error(ev, k, TT_ESYNTAX, "only an array can be "
					 "spread with '...', not %s", js__kind_name(&x));
		size_t add = spread ? x.u.a->n : 1;
		if (n + add > cap) {
			jv *w;
			cap = (n + add) * 2;
			if (!(w = js__alloc(ev, cap * sizeof *w, node)))
				return TT_ELIMIT;
			memcpy(w, v, n * sizeof *v);
			v = w;
		}
		if (spread)
			memcpy(v + n, x.u.a->v, add * sizeof *v);
		else
			v[n] = x;
		n += add;
	}
	*out = v;
	*n_out = n;
	return TT_OK;
}

static int eval_array(js_ev *ev, js_env *env, int node, jv *out)
{
	js_arr *a = js__alloc(ev, sizeof *a, node);
	int rc;

	if (!a)
		return TT_ELIMIT;
	if ((rc = eval_list(ev, env, NODE(node)->list, NODE(node)->n_list, node,
			    &a->v, &a->n)) < 0)
		return rc;
	out->k = JV_ARR;
	out->u.a = a;
	return TT_OK;
}

static int obj_set(js_ev *ev, js_obj *o, const char *key, const jv *v, size_t cap)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->keys[i], key) == 0) {
			o->vals[i] = *v;
			return TT_OK;
		}
	if (o->n >= cap)
		return TT_EINVAL;
	(void)ev;
	o->keys[o->n] = key;
	o->vals[o->n++] = *v;
	return TT_OK;
}

static int eval_object(js_ev *ev, js_env *env, int node, jv *out)
{
	const js_node *n = NODE(node);
	size_t cap = (size_t)n->n_list;
	js_obj *o = js__alloc(ev, sizeof *o, node);
	jv v;
	int rc;

	if (!o)
		return TT_ELIMIT;
	/* spreads may add keys: size for them on a first pass */
	for (int i = 0; i < n->n_list; i++) {
		int k = ev->ast->kids[n->list + i];
		if (NODE(k)->kind == JS_N_SPREAD) {
			if ((rc = eval(ev, env, NODE(k)->a, &v)) < 0)
				return rc;
			cap += v.k == JV_OBJ ? v.u.o->n : 0;
		}
	}
	o->n = 0;
	o->keys = js__alloc(ev, (cap + 1) * sizeof *o->keys, node);
	o->vals = js__alloc(ev, (cap + 1) * sizeof *o->vals, node);
	if (!o->keys || !o->vals)
		return TT_ELIMIT;
	for (int i = 0; i < n->n_list; i++) {
		int k = ev->ast->kids[n->list + i];
		if ((rc = eval(ev, env, NODE(k)->a, &v)) < 0)
			return rc;
		if (NODE(k)->kind == JS_N_SPREAD) {
			for (size_t j = 0; v.k == JV_OBJ && j < v.u.o->n; j++)
				obj_set(ev, o, v.u.o->keys[j], &v.u.o->vals[j], cap);
			continue;
		}
		obj_set(ev, o, pool_strdup(ev, NODE(k)->str, strlen(NODE(k)->str), k),
			&v, cap);
	}
	out->k = JV_OBJ;
	out->u.o = o;
	return TT_OK;
}

static int make_fn(js_ev *ev, js_env *env, int node, jv *out)
{
	js_fn *f = js__alloc(ev, sizeof *f, node);

	if (!f)
		return TT_ELIMIT;
	memset(f, 0, sizeof *f);
	f->node = node;
	f->env = env;
	out->k = JV_FN;
	out->u.f = f;
	return TT_OK;
}

static int member_of_fn(js_ev *ev, const jv *obj, const char *name, int node,
			jv *out)
{
	static const char *const hows[] = { "in", "out", "mix", "squeeze",
					    "squeezeout" };
	const js_fn *f = obj->u.f;

	for (int h = 0; h < 5; h++) {
		if (strcmp(name, hows[h]) != 0 || !f->bi || f->bi->sig != SIG_OP)
			continue;
		js_fn *g = js__alloc(ev, sizeof *g, node);
		if (!g)
			return TT_ELIMIT;
		*g = *f;
		g->how = h;
		out->k = JV_FN;
		out->u.f = g;
		return TT_OK;
	}
	return js__error(ev, node, TT_ESYNTAX, "a function has no property '%s'",
			 name);
}

/* obj.name: a property, or a method bound to obj. */
static int member(js_ev *ev, const jv *obj, const char *name, int node, jv *out)
{
	const js_builtin *bi;
	js_fn *f;

	if (obj->k == JV_OBJ) {
		for (size_t i = 0; i < obj->u.o->n; i++)
			if (strcmp(obj->u.o->keys[i], name) == 0) {
				*out = obj->u.o->vals[i];
				return TT_OK;
			}
	}
	if (obj->k == JV_ARR && js__array_method(name)) {
		if (!(f = js__alloc(ev, sizeof *f, node)))
			return TT_ELIMIT;
		memset(f, 0, sizeof *f);
		f->node = -1;
		f->bi = js__array_method(name);
		f->has_recv = true;
		f->recv = *obj;
		out->k = JV_FN;
		out->u.f = f;
		return TT_OK;
	}
	if ((obj->k == JV_ARR || obj->k == JV_STR) && strcmp(name, "length") == 0) {
		*out = num(obj->k == JV_ARR ? (double)obj->u.a->n
					    : (double)strlen(obj->u.s));
		return TT_OK;
	}
	if (obj->k == JV_FN)
		return member_of_fn(ev, obj, name, node, out);
	if (obj->k == JV_OBJ) {
		out->k = JV_UNDEF;
		return TT_OK;
	}
	bi = js__builtin(name);
	if (!bi || obj->k == JV_UNDEF || obj->k == JV_NULL) {
		const char *near = js__suggest_method(name);
		if (obj->k == JV_UNDEF || obj->k == JV_NULL)
			return js__error(ev, node, TT_ESYNTAX, "cannot read '%s' of %s",
					 name, js__kind_name(obj));
		if (near)
			return js__error(ev, node, TT_ESYNTAX, "unknown function '%s': "
					 "did you mean '%s'?", name, near);
		return js__error(ev, node, TT_ESYNTAX,
				 "%s has no method '%s'", js__kind_name(obj), name);
	}
	if (!(f = js__alloc(ev, sizeof *f, node)))
		return TT_ELIMIT;
	memset(f, 0, sizeof *f);
	f->node = -1;
	f->bi = bi;
	f->name = name;
	f->has_recv = true;
	f->recv = *obj;
	out->k = JV_FN;
	out->u.f = f;
	return TT_OK;
}

static int eval_member(js_ev *ev, js_env *env, int node, jv *out)
{
	jv obj, idx;
	int rc;

	if ((rc = eval(ev, env, NODE(node)->a, &obj)) < 0)
		return rc;
	if (NODE(node)->kind == JS_N_MEMBER)
		return member(ev, &obj, NODE(node)->str, node, out);
	if ((rc = eval(ev, env, NODE(node)->b, &idx)) < 0)
		return rc;
	if (obj.k == JV_ARR && idx.k == JV_NUM) {
		double i = idx.u.n;
		if (i >= 0 && i < (double)obj.u.a->n && i == floor(i))
			*out = obj.u.a->v[(size_t)i];
		else
			out->k = JV_UNDEF;
		return TT_OK;
	}
	if (idx.k == JV_STR)
		return member(ev, &obj, idx.u.s, node, out);
	return js__error(ev, node, TT_ESYNTAX, "cannot index %s with %s",
			 js__kind_name(&obj), js__kind_name(&idx));
}

static int eval_call(js_ev *ev, js_env *env, int node, jv *out)
{
	const js_node *n = NODE(node);
	jv callee, *args;
	size_t nargs;
	int rc;

	if ((rc = eval(ev, env, n->a, &callee)) < 0)
		return rc;
	if (callee.k != JV_FN) {
		const js_node *c = NODE(n->a);
		if (c->kind == JS_N_IDENT || c->kind == JS_N_MEMBER)
			return js__error(ev, node, TT_ESYNTAX, "'%s' is %s, not a "
					 "function", c->str, js__kind_name(&callee));
		return js__error(ev, node, TT_ESYNTAX, "%s is not a function",
				 js__kind_name(&callee));
	}
	if ((rc = eval_list(ev, env, n->list, n->n_list, node, &args, &nargs)) < 0)
		return rc;
	return js__call(ev, &callee, args, nargs, node, out);
}

/* JavaScript's ToInt32: NaN and the infinities are 0, anything else its
 * integer part modulo 2^32 as a signed 32-bit value (a cast of a double
 * out of int64_t's range, as in 1e50 & 1, is undefined in C). */
static int32_t to_int32(double x)
{
	double m;

	if (!isfinite(x))
		return 0;
	m = fmod(trunc(x), 4294967296.0);
	if (m < 0)
		m += 4294967296.0;
	return (int32_t)(uint32_t)m;
}

static int arith(js_ev *ev, const char *op, double a, double b, int node, jv *out)
{
	switch (op[0]) {
	case '+': *out = num(a + b); return TT_OK;
	case '-': *out = num(a - b); return TT_OK;
	case '*': *out = num(op[1] == '*' ? pow(a, b) : a * b); return TT_OK;
	case '/': *out = num(a / b); return TT_OK;
	case '%': *out = num(fmod(a, b)); return TT_OK;
	case '<': *out = boolean(op[1] == '=' ? a <= b : a < b); return TT_OK;
	case '>': *out = boolean(op[1] == '=' ? a >= b : a > b); return TT_OK;
	case '&': *out = num((double)(to_int32(a) & to_int32(b))); return TT_OK;
	case '|': *out = num((double)(to_int32(a) | to_int32(b))); return TT_OK;
	case '^': *out = num((double)(to_int32(a) ^ to_int32(b))); return TT_OK;
	}
	return js__error(ev, node, TT_ESYNTAX, "operator '%s' is not supported", op);
}

static int concat(js_ev *ev, const jv *a, const jv *b, int node, jv *out)
{
	const char *sa, *sb;
	size_t la, lb;
	char *s;
	int rc;

	if ((rc = to_str(ev, a, node, &sa)) < 0 || (rc = to_str(ev, b, node, &sb)) < 0)
		return rc;
	la = strlen(sa);
	lb = strlen(sb);
	if (!(s = js__alloc(ev, la + lb + 1, node)))
		return TT_ELIMIT;
	memcpy(s, sa, la);
	memcpy(s + la, sb, lb + 1);
	out->k = JV_STR;
	out->u.s = s;
	return TT_OK;
}

static int binary(js_ev *ev, const char *op, const jv *a, const jv *b, int node,
		  jv *out)
{
	if (strcmp(op, ",") == 0) {
		*out = *b;
		return TT_OK;
	}
	if (strcmp(op, "===") == 0 || strcmp(op, "!==") == 0 ||
	    strcmp(op, "==") == 0 || strcmp(op, "!=") == 0) {
		bool eq = strict_equal(a, b);
		if (op[2] == '\0' && !eq)
			eq = (a->k == JV_UNDEF || a->k == JV_NULL) &&
			     (b->k == JV_UNDEF || b->k == JV_NULL);
		*out = boolean(op[0] == '=' ? eq : !eq);
		return TT_OK;
	}
	if (op[0] == '+' && (a->k == JV_STR || b->k == JV_STR))
		return concat(ev, a, b, node, out);
	if ((op[0] == '<' || op[0] == '>') && a->k == JV_STR && b->k == JV_STR) {
		int c = strcmp(a->u.s, b->u.s);
		*out = boolean(op[0] == '<' ? (op[1] ? c <= 0 : c < 0)
					    : (op[1] ? c >= 0 : c > 0));
		return TT_OK;
	}
	if ((a->k != JV_NUM && a->k != JV_BOOL) || (b->k != JV_NUM && b->k != JV_BOOL))
		return js__error(ev, node, TT_ESYNTAX, "operator '%s' needs numbers, "
				 "not %s and %s (for patterns use .add(), .mul()...)",
				 op, js__kind_name(a), js__kind_name(b));
	return arith(ev, op, a->k == JV_NUM ? a->u.n : a->u.b,
		     b->k == JV_NUM ? b->u.n : b->u.b, node, out);
}

static int eval_binary(js_ev *ev, js_env *env, int node, jv *out)
{
	const js_node *n = NODE(node);
	jv a, b;
	int rc;

	if ((rc = eval(ev, env, n->a, &a)) < 0)
		return rc;
	if (n->kind == JS_N_LOGICAL) {
		bool take_a = strcmp(n->op, "&&") == 0 ? !truthy(&a)
			    : strcmp(n->op, "||") == 0 ? truthy(&a)
			    : (a.k != JV_UNDEF && a.k != JV_NULL);
		if (take_a) {
			*out = a;
			return TT_OK;
		}
		return eval(ev, env, n->b, out);
	}
	if ((rc = eval(ev, env, n->b, &b)) < 0)
		return rc;
	return binary(ev, n->op, &a, &b, node, out);
}

static int eval_unary(js_ev *ev, js_env *env, int node, jv *out)
{
	const js_node *n = NODE(node);
	jv a;
	int rc;

	if ((rc = eval(ev, env, n->a, &a)) < 0)
		return rc;
	switch (n->op[0]) {
	case '!': *out = boolean(!truthy(&a)); return TT_OK;
	case 't': {
		static const char *const t[] = { "undefined", "object", "boolean",
			"number", "string", "object", "object", "object", "function" };
		out->k = JV_STR;
		out->u.s = t[a.k];
		return TT_OK;
	}
	}
	if (a.k != JV_NUM && a.k != JV_BOOL)
		return js__error(ev, node, TT_ESYNTAX, "operator '%s' needs a number, "
				 "not %s", n->op, js__kind_name(&a));
	double x = a.k == JV_NUM ? a.u.n : a.u.b;
	*out = num(n->op[0] == '-' ? -x : n->op[0] == '~' ? (double)~to_int32(x) : x);
	return TT_OK;
}

static int eval_assign(js_ev *ev, js_env *env, int node, jv *out)
{
	const js_node *n = NODE(node);
	bool *is_const = NULL;
	jv *slot = env_find(env, NODE(n->a)->str, &is_const), v;
	char op[3] = { n->op[0], '\0', '\0' };
	int rc;

	if (!slot)
		return js__error(ev, n->a, TT_ESYNTAX, "'%s' is not defined",
				 NODE(n->a)->str);
	if (*is_const)
		return js__error(ev, node, TT_ESYNTAX, "assignment to constant '%s'",
				 NODE(n->a)->str);
	if ((rc = eval(ev, env, n->b, &v)) < 0)
		return rc;
	if (n->op[1] == '=' && (rc = binary(ev, op, slot, &v, node, &v)) < 0)
		return rc;
	*slot = v;
	*out = v;
	return TT_OK;
}

static int eval_inner(js_ev *ev, js_env *env, int node, jv *out)
{
	const js_node *n = NODE(node);
	jv c;
	int rc;

	switch (n->kind) {
	case JS_N_NUM: *out = num(n->num); return TT_OK;
	case JS_N_STR:
		out->k = JV_STR;
		out->u.s = pool_strdup(ev, n->str, n->len, node);
		return out->u.s ? TT_OK : TT_ELIMIT;
	case JS_N_MINI: return eval_mini(ev, node, out);
	case JS_N_IDENT: return eval_ident(ev, env, node, out);
	case JS_N_ARRAY: return eval_array(ev, env, node, out);
	case JS_N_OBJECT: return eval_object(ev, env, node, out);
	case JS_N_CALL: return eval_call(ev, env, node, out);
	case JS_N_MEMBER:
	case JS_N_INDEX: return eval_member(ev, env, node, out);
	case JS_N_UNARY: return eval_unary(ev, env, node, out);
	case JS_N_BINARY:
	case JS_N_LOGICAL: return eval_binary(ev, env, node, out);
	case JS_N_ARROW: return make_fn(ev, env, node, out);
	case JS_N_ASSIGN: return eval_assign(ev, env, node, out);
	case JS_N_COND:
		if ((rc = eval(ev, env, n->a, &c)) < 0)
			return rc;
		return eval(ev, env, truthy(&c) ? n->b : n->c, out);
	default:
		return js__error(ev, node, TT_ESYNTAX, "'...' is only allowed in "
				 "arrays and argument lists");
	}
}

static int count_step(js_ev *ev, int node)
{
	if (++ev->steps > TT_MAX_EVAL_STEPS)
		return js__error(ev, node, TT_ELIMIT, "evaluation took more than %d "
				 "steps (a function that calls itself without end?)",
				 TT_MAX_EVAL_STEPS);
	return TT_OK;
}

static int eval(js_ev *ev, js_env *env, int node, jv *out)
{
	int rc;

	if ((rc = count_step(ev, node)) < 0)
		return rc;
	if (++ev->depth > TT_MAX_EVAL_DEPTH) {
		ev->depth--;
		return js__error(ev, node, TT_ELIMIT, "evaluation nested deeper than "
				 "%d levels (a function that calls itself without end?)",
				 TT_MAX_EVAL_DEPTH);
	}
	out->k = JV_UNDEF;
	rc = eval_inner(ev, env, node, out);
	ev->depth--;
	return rc;
}

/* ---- functions ---- */

static int bind_params(js_ev *ev, js_env *scope, const js_node *fn,
		       const jv *args, size_t n, int node)
{
	int rc;

	for (int i = 0; i < fn->n_list; i++) {
		const js_node *p = NODE(ev->ast->kids[fn->list + i]);
		jv v = { .k = JV_UNDEF };
		if (p->flag) { /* ...rest */
			js_arr *a = js__alloc(ev, sizeof *a, node);
			if (!a)
				return TT_ELIMIT;
			a->n = n > (size_t)i ? n - (size_t)i : 0;
			/* a copy: args may live on the caller's stack */
			if (!(a->v = js__alloc(ev, (a->n + 1) * sizeof *a->v, node)))
				return TT_ELIMIT;
			if (a->n)
				memcpy(a->v, args + i, a->n * sizeof *a->v);
			v.k = JV_ARR;
			v.u.a = a;
		} else if ((size_t)i < n) {
			v = args[i];
		}
		if ((rc = env_define(ev, scope, p->str, &v, false, node)) < 0)
			return rc;
	}
	return TT_OK;
}

int js__call(js_ev *ev, const jv *fv, const jv *args, size_t n, int node, jv *out)
{
	const js_fn *f = fv->u.f;
	const js_node *fn;
	js_env *scope;
	ctrl c = CTRL_NORMAL;
	int rc;

	if (fv->k != JV_FN)
		return js__error(ev, node, TT_ESYNTAX, "%s is not a function",
				 js__kind_name(fv));
	if (f->node < 0) {
		if (f->n_bound) {
			jv *all = js__alloc(ev, (f->n_bound + n) * sizeof *all, node);
			if (!all)
				return TT_ELIMIT;
			memcpy(all, f->bound, f->n_bound * sizeof *all);
			if (n)
				memcpy(all + f->n_bound, args, n * sizeof *all);
			args = all;
			n += f->n_bound;
		}
		return js__call_builtin(ev, f, f->has_recv ? &f->recv : NULL, args,
					n, node, out);
	}
	fn = NODE(f->node);
	if (!(scope = env_new(ev, f->env, node)))
		return TT_ELIMIT;
	if ((rc = bind_params(ev, scope, fn, args, n, node)) < 0)
		return rc;
	if (!fn->flag)
		return eval(ev, scope, fn->a, out);
	out->k = JV_UNDEF;
	if ((rc = count_step(ev, node)) < 0)
		return rc;
	if (++ev->depth > TT_MAX_EVAL_DEPTH) {
		ev->depth--;
		return js__error(ev, node, TT_ELIMIT, "evaluation nested deeper than "
				 "%d levels (a function that calls itself without end?)",
				 TT_MAX_EVAL_DEPTH);
	}
	rc = exec(ev, scope, fn->a, &c, out);
	ev->depth--;
	if (rc >= 0 && c != CTRL_RETURN)
		out->k = JV_UNDEF;
	return rc;
}

typedef struct fn_env {
	js_ev *ev;
	jv fn;
	int node;
} fn_env;

static int call_from_core(void *env, pat_pool *pool, pat *in, pat **out)
{
	fn_env *e = env;
	jv arg = { .k = JV_PAT }, r;
	int rc;

	(void)pool;
	arg.u.p = in;
	if ((rc = js__call(e->ev, &e->fn, &arg, 1, e->node, &r)) < 0)
		return rc;
	return js__reify(e->ev, &r, e->node, out);
}

int js__to_patfn(js_ev *ev, const jv *fv, int node, pat_fn *out)
{
	fn_env *e;

	if (fv->k != JV_FN)
		return js__error(ev, node, TT_ESYNTAX, "expected a function, got %s",
				 js__kind_name(fv));
	if (!(e = js__alloc(ev, sizeof *e, node)))
		return TT_ELIMIT;
	e->ev = ev;
	e->fn = *fv;
	e->node = node;
	out->call = call_from_core;
	out->env = e;
	return TT_OK;
}

/* ---- statements ---- */

static int exec_decl(js_ev *ev, js_env *env, int node)
{
	const js_node *n = NODE(node);
	bool is_const = ev->m->code[n->start] == 'c';
	int rc;

	for (int i = 0; i < n->n_list; i++) {
		int d = ev->ast->kids[n->list + i];
		jv v = { .k = JV_UNDEF };
		if (NODE(d)->a >= 0 && (rc = eval(ev, env, NODE(d)->a, &v)) < 0)
			return rc;
		if (is_const && NODE(d)->a < 0)
			return js__error(ev, d, TT_ESYNTAX, "missing initializer in "
					 "const declaration");
		if ((rc = env_define(ev, env, NODE(d)->str, &v, is_const, d)) < 0)
			return rc;
	}
	return TT_OK;
}

/* Function declarations are hoisted: defined before their scope runs. */
static int hoist(js_ev *ev, js_env *env, int first, int count)
{
	int rc;

	for (int i = 0; i < count; i++) {
		int st = ev->ast->kids[first + i];
		jv f;
		if (NODE(st)->kind != JS_S_FUNC)
			continue;
		if ((rc = make_fn(ev, env, NODE(st)->a, &f)) < 0 ||
		    (rc = env_define(ev, env, NODE(st)->str, &f, false, st)) < 0)
			return rc;
	}
	return TT_OK;
}

static int exec_block(js_ev *ev, js_env *env, int node, ctrl *c, jv *out)
{
	const js_node *n = NODE(node);
	js_env *scope = env_new(ev, env, node);
	int rc;

	if (!scope)
		return TT_ELIMIT;
	if ((rc = hoist(ev, scope, n->list, n->n_list)) < 0)
		return rc;
	for (int i = 0; i < n->n_list && *c == CTRL_NORMAL; i++)
		if ((rc = exec(ev, scope, ev->ast->kids[n->list + i], c, out)) < 0)
			return rc;
	return TT_OK;
}

static int exec(js_ev *ev, js_env *env, int node, ctrl *c, jv *out)
{
	const js_node *n = NODE(node);
	jv v;
	int rc;

	if ((rc = count_step(ev, node)) < 0)
		return rc;
	switch (n->kind) {
	case JS_S_EXPR: return eval(ev, env, n->a, &v);
	case JS_S_DECL: return exec_decl(ev, env, node);
	case JS_S_BLOCK: return exec_block(ev, env, node, c, out);
	case JS_S_EMPTY:
	case JS_S_FUNC: return TT_OK; /* hoisted */
	case JS_S_RETURN:
		out->k = JV_UNDEF;
		if (n->a >= 0 && (rc = eval(ev, env, n->a, out)) < 0)
			return rc;
		*c = CTRL_RETURN;
		return TT_OK;
	case JS_S_IF:
		if ((rc = eval(ev, env, n->a, &v)) < 0)
			return rc;
		if (truthy(&v))
			return exec(ev, env, n->b, c, out);
		return n->c >= 0 ? exec(ev, env, n->c, c, out) : TT_OK;
	case JS_S_LABEL:
		return js__error(ev, node, TT_ESYNTAX, "a label ('%s:') may only start "
				 "a top-level statement", n->str);
	default:
		return js__error(ev, node, TT_ESYNTAX, "unexpected statement");
	}
}

/* ---- the program ---- */

/* Registers a labelled pattern as Strudel's Pattern.p(id) does. */
static int add_track(js_ev *ev, const char *label, pat *p, int node, int *anon)
{
	js_result *r = ev->res;
	size_t len = strlen(label);
	char name[96];
	js_track *v;

	if (len == 0 || label[0] == '_' || label[len - 1] == '_')
		return TT_OK; /* muted */
	if (strchr(label, '$'))
		snprintf(name, sizeof name, "%s%d", label, (*anon)++);
	else
		snprintf(name, sizeof name, "%s", label);
	for (size_t i = 0; i < r->n_tracks; i++)
		if (strcmp(r->tracks[i].name, name) == 0) {
			r->tracks[i].p = p;
			return TT_OK;
		}
	if (r->n_tracks >= TT_MAX_TRACKS)
		return js__error(ev, node, TT_ELIMIT, "more than %d tracks in one "
				 "program", TT_MAX_TRACKS);
	if (!(v = js__alloc(ev, (r->n_tracks + 1) * sizeof *v, node)))
		return TT_ELIMIT;
	if (r->n_tracks)
		memcpy(v, r->tracks, r->n_tracks * sizeof *v);
	v[r->n_tracks].name = pool_strdup(ev, name, strlen(name), node);
	v[r->n_tracks].p = p;
	v[r->n_tracks].at = NODE(node)->start;
	if (!v[r->n_tracks].name)
		return TT_ELIMIT;
	r->tracks = v;
	r->n_tracks++;
	return TT_OK;
}

/* Keeps only soloed tracks (a name of two or more characters starting
 * with 'S'), when there are any. */
static void apply_solo(js_result *r)
{
	size_t k = 0;
	bool solo = false;

	for (size_t i = 0; i < r->n_tracks; i++)
		solo |= strlen(r->tracks[i].name) > 1 && r->tracks[i].name[0] == 'S';
	if (!solo)
		return;
	for (size_t i = 0; i < r->n_tracks; i++)
		if (strlen(r->tracks[i].name) > 1 && r->tracks[i].name[0] == 'S')
			r->tracks[k++] = r->tracks[i];
	r->n_tracks = k;
}

static int run_label(js_ev *ev, js_env *env, int st, int *anon)
{
	const js_node *n = NODE(st);
	jv v;
	int rc;

	if (NODE(n->a)->kind != JS_S_EXPR)
		return js__error(ev, n->a, TT_ESYNTAX, "expected an expression after "
				 "the label '%s:'", n->str);
	if ((rc = eval(ev, env, NODE(n->a)->a, &v)) < 0)
		return rc;
	if (v.k != JV_PAT)
		return js__error(ev, n->a, TT_ESYNTAX, "'%s:' needs a pattern, got %s",
				 n->str, js__kind_name(&v));
	return add_track(ev, n->str, v.u.p, st, anon);
}

static int run_program(js_ev *ev, js_env *env)
{
	const js_ast *ast = ev->ast;
	int anon = 0, rc, last = -1;
	bool labelled = false;
	ctrl c = CTRL_NORMAL;
	jv v = { .k = JV_UNDEF };

	if ((rc = hoist(ev, env, ast->body, ast->n_body)) < 0)
		return rc;
	for (int i = 0; i < ast->n_body; i++) {
		int st = ast->kids[ast->body + i];
		last = st;
		if (NODE(st)->kind == JS_S_LABEL) {
			labelled = true;
			rc = run_label(ev, env, st, &anon);
		} else if (NODE(st)->kind == JS_S_EXPR && i == ast->n_body - 1) {
			rc = eval(ev, env, NODE(st)->a, &v);
		} else {
			rc = exec(ev, env, st, &c, &v);
		}
		if (rc < 0)
			return rc;
	}
	if (last < 0)
		return TT_OK; /* nothing to play */
	if (NODE(last)->kind != JS_S_EXPR && NODE(last)->kind != JS_S_LABEL)
		return js__error(ev, last, TT_ESYNTAX, "the program must end with an "
				 "expression (the pattern to play)");
	if (labelled || ev->res->n_tracks > 0)
		return TT_OK;
	if (v.k != JV_PAT)
		return js__error(ev, last, TT_ESYNTAX, "the program's value is %s, not "
				 "a pattern", js__kind_name(&v));
	return add_track(ev, "-", v.u.p, last, &anon);
}

int js_eval(const tt_srcmap *m, const js_ast *ast, pat_pool *pool,
	    js_result *res, tt_diag *diag)
{
	js_ev ev = { .m = m, .ast = ast, .pool = pool, .diag = diag, .res = res };
	js_env *global;
	int rc;

	memset(res, 0, sizeof *res);
	if (!(global = env_new(&ev, NULL, -1)))
		return TT_ELIMIT;
	rc = run_program(&ev, global);
	if (rc < 0) {
		if (!ev.diag_set)
			js__error(&ev, -1, rc, "%s", tt_strerror(rc));
		return rc;
	}
	/* the plain expression's track is named "" */
	if (res->n_tracks == 1 && strcmp(res->tracks[0].name, "-") == 0)
		res->tracks[0].name = "";
	apply_solo(res);
	return TT_OK;
}
