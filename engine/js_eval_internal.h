/*
 * engine/js_eval_internal.h: what js_eval.c (the interpreter) and
 * js_builtins.c (the table binding names to the pattern core) share.
 * Not an API: nothing outside these two files includes it.
 */
#ifndef TT_ENGINE_JS_EVAL_INTERNAL_H
#define TT_ENGINE_JS_EVAL_INTERNAL_H

#include "engine/js_eval.h"

typedef enum jv_kind {
	JV_UNDEF, JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_PAT, JV_ARR, JV_OBJ, JV_FN
} jv_kind;

typedef struct jv jv;
typedef struct js_arr js_arr;
typedef struct js_obj js_obj;
typedef struct js_fn js_fn;
typedef struct js_env js_env;
typedef struct js_builtin js_builtin;
typedef struct js_ev js_ev;

struct jv {
	jv_kind k;
	union {
		double n;
		bool b;
		const char *s;   /* NUL-terminated, in the pool */
		pat *p;
		js_arr *a;
		js_obj *o;
		js_fn *f;
	} u;
};

struct js_arr {
	size_t n;
	jv *v;
};

struct js_obj {
	size_t n;
	const char **keys;
	jv *vals;
};

/* A function value: an arrow function with its scope, or a builtin with
 * arguments already given (Strudel's curried free functions: fast(2)). */
struct js_fn {
	int node;                 /* JS_N_ARROW, or -1 for a builtin */
	js_env *env;
	const js_builtin *bi;
	const char *name;         /* the builtin's name as called (controls) */
	int how;                  /* operator builtins: pat_how (.add.out) */
	bool has_recv;            /* a method taken off a value: p.add */
	jv recv;
	size_t n_bound;
	jv *bound;
};

/* Signatures: P is the pattern the method is called on, A a patterned
 * argument, F a function argument. */
typedef enum js_sig {
	SIG_P, SIG_PA, SIG_PAA, SIG_PAAA, SIG_PAF, SIG_PF, SIG_PFS, SIG_PNF,
	SIG_OP, SIG_UN, SIG_CTOR_A, SIG_CTOR_LIST, SIG_TIMECAT, SIG_CHOOSE,
	SIG_TEMPO, SIG_HUSH, SIG_CTRL, SIG_MATH, SIG_ARRAY, SIG_APPLY
} js_sig;

struct js_builtin {
	const char *name;
	js_sig sig;
	void (*fn)(void); /* the pattern core function, cast per signature */
	int arg;         /* extra: operator kind, unary kind, tempo scale */
};

/* The interpreter's state for one program. */
struct js_ev {
	const tt_srcmap *m;
	const js_ast *ast;
	pat_pool *pool;
	tt_diag *diag;
	bool diag_set;
	long steps;
	int depth;
	size_t bytes;
	js_result *res;
};

/* Pool allocation counted against TT_MAX_EVAL_BYTES (NULL past it, with
 * the diag set at node). */
void *js__alloc(js_ev *ev, size_t size, int node);
/* Records the first error (later ones are consequences) and returns rc. */
int js__error(js_ev *ev, int node, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Byte offset of node for errors (a method call points at its name). */
uint32_t js__node_at(const js_ev *ev, int node);

/* A pattern from any value (numbers, strings, arrays as sequences...). */
int js__reify(js_ev *ev, const jv *v, int node, pat **out);
/* Calls a function value with args. */
int js__call(js_ev *ev, const jv *fn, const jv *args, size_t n, int node, jv *out);
/* A pat_fn that calls the function value fv at build time. */
int js__to_patfn(js_ev *ev, const jv *fv, int node, pat_fn *out);
const char *js__kind_name(const jv *v);

/* The builtin named name, or NULL. */
const js_builtin *js__builtin(const char *name);
/* Calls builtin bi as a method of recv (recv may be NULL for a free call:
 * then the pattern is the last argument, and too few arguments make a
 * partial application). */
int js__call_builtin(js_ev *ev, const js_fn *f, const jv *recv, const jv *args,
		     size_t n, int node, jv *out);
/* Value of a builtin name used as a variable: signals and silence are
 * patterns; functions are function values. TT_ENOTFOUND otherwise. */
int js__builtin_value(js_ev *ev, const char *name, int node, jv *out);
/* The array method name (map), or NULL. */
const js_builtin *js__array_method(const char *name);
/* The known name closest to name (a plausible typo), or NULL. Thread-safe. */
const char *js__suggest_method(const char *name);

#endif
