/*
 * engine/program.c: compiles code into a program (engine/program.h).
 *
 * Stages, each failing with a position: lex (js_lex) -> parse (js_parse)
 * -> evaluate (js_eval, which builds the patterns through the mini-notation
 * parser and the pattern core) -> a dry-run query of every track's first
 * cycle, so that a pattern that cannot be played (more events than
 * TT_MAX_EVENTS_PER_CYCLE, time that overflows) is rejected here, on the
 * worker thread, and never reaches the render thread.
 *
 * Invariants:
 *  1. A compiled program owns every byte it refers to: one pat_pool holds
 *     the patterns, the track names and the evaluator's values; tokens and
 *     the syntax tree are freed before program_compile returns.
 *  2. After program_compile returns a program, nothing mutates it, so
 *     queries from any thread (each with its own arena) are safe.
 */
#include "engine/program.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"
#include "engine/js_eval.h"
#include "engine/js_lex.h"
#include "engine/js_parse.h"
#include "engine/pattern.h"
#include "engine/srcmap.h"

/* Arena of the dry run: ample for TT_MAX_EVENTS_PER_CYCLE events with
 * their fields and locations and the query's temporaries. */
#define DRY_RUN_ARENA (64u * 1024 * 1024)

struct tt_program {
	pat_pool *pool;
	js_result res;
};

static int dry_run(const tt_srcmap *m, const tt_program *p, tt_diag *diag)
{
	tt_span span = { TT_RAT(0, 1), TT_RAT(1, 1) };
	void *mem = malloc(DRY_RUN_ARENA);
	tt_arena arena;
	int rc = TT_OK;

	if (!mem)
		return TT_ENOMEM;
	for (size_t i = 0; i < p->res.n_tracks && rc == TT_OK; i++) {
		tt_event *ev;
		size_t n;
		arena_init(&arena, mem, DRY_RUN_ARENA);
		rc = pat_query(p->res.tracks[i].p, span, &arena, &ev, &n);
		if (rc == TT_ELIMIT)
			srcmap_diag(m, p->res.tracks[i].at, diag, "this pattern makes "
				    "more than %d events in a cycle, or nests deeper "
				    "than %d levels", TT_MAX_EVENTS_PER_CYCLE,
				    TT_MAX_NESTING);
		else if (rc < 0)
			srcmap_diag(m, p->res.tracks[i].at, diag, "this pattern cannot "
				    "be played: %s (exact time overflows)",
				    tt_strerror(rc));
	}
	free(mem);
	return rc;
}

static int compile_into(const tt_srcmap *m, tt_program *p, tt_diag *diag)
{
	js_toks toks = { 0 };
	js_ast ast;
	int rc;

	if ((rc = js_lex(m, &toks, diag)) < 0)
		return rc;
	if ((rc = js_parse(m, &toks, &ast, diag)) < 0)
		goto out;
	rc = js_eval(m, &ast, p->pool, &p->res, diag);
	js_ast_free(&ast);
	if (rc >= 0)
		rc = dry_run(m, p, diag);
out:
	js_lex_free(&toks);
	return rc;
}

int program_compile(const char *code, size_t len, tt_program **out, tt_diag *diag)
{
	tt_program *p = NULL;
	tt_srcmap m = { 0 };
	int rc;

	memset(diag, 0, sizeof *diag);
	diag->line = diag->col = 1;
	*out = NULL;
	if (len > TT_MAX_CODE_BYTES) {
		snprintf(diag->message, sizeof diag->message, "the code is %zu bytes, "
			 "more than the limit of %d", len, TT_MAX_CODE_BYTES);
		return TT_ELIMIT;
	}
	if ((rc = srcmap_init(&m, code, len)) < 0)
		goto out;
	if (!(p = calloc(1, sizeof *p)) || (rc = pat_pool_new(&p->pool)) < 0) {
		rc = TT_ENOMEM;
		goto out;
	}
	rc = compile_into(&m, p, diag);
out:
	if (rc < 0 && diag->message[0] == '\0')
		snprintf(diag->message, sizeof diag->message, "%s", tt_strerror(rc));
	if (rc < 0) {
		program_free(p);
		p = NULL;
	}
	srcmap_fini(&m);
	*out = p;
	return rc < 0 ? rc : TT_OK;
}

void program_free(tt_program *p)
{
	if (!p)
		return;
	if (p->pool)
		pat_pool_free(p->pool);
	free(p);
}

size_t program_track_count(const tt_program *p)
{
	return p->res.n_tracks;
}

const char *program_track_name(const tt_program *p, size_t i)
{
	return i < p->res.n_tracks ? p->res.tracks[i].name : NULL;
}

bool program_cps(const tt_program *p, double *cps)
{
	if (p->res.has_cps)
		*cps = p->res.cps;
	return p->res.has_cps;
}

bool program_hushed(const tt_program *p)
{
	return p->res.hushed;
}

int program_query(const tt_program *p, size_t i, tt_span span, tt_arena *arena,
		  tt_event **events, size_t *n_events)
{
	*events = NULL;
	*n_events = 0;
	if (i >= p->res.n_tracks)
		return TT_EINVAL;
	return pat_query(p->res.tracks[i].p, span, arena, events, n_events);
}
