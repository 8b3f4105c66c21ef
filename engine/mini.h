/*
 * engine/mini.h: Strudel's mini-notation ("bd*2 [sd cp] <hh oh>?") parsed
 * into a tree and built into a pattern.
 *
 * The grammar and every numbering follow Strudel 1.2.6's krill parser, so
 * that the same string gives the same events: the seeds of '?' and '|'
 * count in the order krill completes them, weights and replication follow
 * its arithmetic, and each leaf's source location is computed the way
 * Strudel's getLeafLocation does (the step's span without its spaces).
 *
 * Two stages: mini_parse (no pattern library needed: the fuzz target and
 * the syntax tests use it alone) and mini_build (into a pat_pool).
 *
 * Thread safety: none needed (one compile per thread). Not for the render
 * thread (allocates).
 */
#ifndef TT_ENGINE_MINI_H
#define TT_ENGINE_MINI_H

#include <stddef.h>
#include <stdint.h>

#include "engine/pattern.h"

typedef struct mini_ast mini_ast;

/* Where and why a mini-notation string was rejected: at is the byte offset
 * into the string. */
typedef struct mini_err {
	size_t at;
	char message[200];
} mini_err;

/* Parses s[0, len) (the string's value, without quotes). On success *out
 * owns a tree (free with mini_free). Errors: TT_ESYNTAX, TT_ELIMIT (nesting
 * deeper than TT_MAX_NESTING), TT_ENOMEM; err says where and why. */
int mini_parse(const char *s, size_t len, mini_ast **out, mini_err *err);
void mini_free(mini_ast *ast);

/* Number of leaves (atoms) in the tree, for tests. */
size_t mini_leaf_count(const mini_ast *ast);

/* Builds the pattern. quote is the UTF-16 offset of the string's opening
 * quote in the program: a leaf at UTF-16 index i of the value gets the
 * location quote + 1 + i, as Strudel's transpiler computes it. Errors from
 * the pattern core (pat_pool_error says why) or TT_EINVAL for a weight
 * Strudel cannot use; err->at then points at the token concerned. */
int mini_build(const mini_ast *ast, pat_pool *pool, uint32_t quote, pat **out,
	       mini_err *err);

/* mini_parse then mini_build. */
int mini_compile(pat_pool *pool, const char *s, size_t len, uint32_t quote,
		 pat **out, mini_err *err);

/* JavaScript's Number(text) for a mini-notation word: true and *out when
 * the word is a number ("1", "-2.5", ".25", "1e3", "0x10", "Infinity"). */
bool mini_word_number(const char *s, size_t len, double *out);

#endif
