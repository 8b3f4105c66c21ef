/*
 * engine/js_eval.h: evaluates a parsed program into patterns.
 *
 * The evaluator is a tree-walking interpreter for the host language. Its
 * values are JavaScript's (numbers, strings, booleans, arrays, objects,
 * functions, undefined, null) plus patterns; a double-quoted or backtick
 * string evaluates to the pattern its mini-notation describes, as Strudel's
 * transpiler makes it. Builtins (s, stack, fast, lpf, ...) are bound by
 * name to the pattern core (engine/pattern.h).
 *
 * Everything the evaluation keeps (patterns, strings, track names) lives in
 * the caller's pat_pool; the evaluator's own values do too, counted against
 * TT_MAX_EVAL_BYTES.
 *
 * Thread safety: one evaluation per pool at a time. Not for the render
 * thread (allocates).
 */
#ifndef TT_ENGINE_JS_EVAL_H
#define TT_ENGINE_JS_EVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/js_parse.h"
#include "engine/pattern.h"

typedef struct js_track {
	const char *name;  /* in the pool: "" for a plain expression */
	pat *p;
	uint32_t at;       /* byte offset of the track's statement */
} js_track;

typedef struct js_result {
	js_track *tracks;  /* in the pool */
	size_t n_tracks;
	bool has_cps;
	double cps;
	bool hushed;
} js_result;

/* Runs the program. TT_OK and *res, or an error (TT_ESYNTAX for what a
 * JavaScript engine would reject at run time too: unknown names, wrong
 * argument counts; TT_ELIMIT for a limit; TT_ENOMEM; errors of the pattern
 * core) with diag filled. */
int js_eval(const tt_srcmap *m, const js_ast *ast, pat_pool *pool,
	    js_result *res, tt_diag *diag);

#endif
