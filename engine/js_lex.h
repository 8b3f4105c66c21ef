/*
 * engine/js_lex.h: tokens of the JavaScript subset that Strudel programs
 * are written in.
 *
 * The lexer turns the whole program into an array of tokens up front (a
 * program is at most TT_MAX_CODE_BYTES, so this is bounded), which lets the
 * parser look ahead freely, as it must to tell `(a, b) => ...` from a
 * parenthesised expression.
 *
 * Thread safety: none needed (one lexer per compile). Not for the render
 * thread (allocates).
 */
#ifndef TT_ENGINE_JS_LEX_H
#define TT_ENGINE_JS_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/program.h"
#include "engine/srcmap.h"

typedef enum js_tok_kind {
	JS_T_EOF = 0,
	JS_T_NUM,      /* num */
	JS_T_STR,      /* quote is '"' or '\'', str is the decoded value */
	JS_T_TEMPLATE, /* backtick string without ${}: str is the raw text */
	JS_T_IDENT,    /* str is the name (keywords too) */
	JS_T_PUNCT     /* punct holds the operator, e.g. "=>", "...", "(" */
} js_tok_kind;

typedef struct js_tok {
	js_tok_kind kind;
	bool nl_before;     /* a line break separates it from the previous token */
	char quote;
	char punct[5];
	uint32_t start;     /* byte offsets [start, end) in the code */
	uint32_t end;
	double num;
	char *str;          /* owned by the token list; NUL-terminated */
	size_t len;
} js_tok;

typedef struct js_toks {
	js_tok *v;
	size_t n;
} js_toks;

/* Tokenizes code (m describes it). On success fills *toks (free with
 * js_lex_free); on failure returns TT_ESYNTAX / TT_ENOMEM and fills diag. */
int js_lex(const tt_srcmap *m, js_toks *toks, tt_diag *diag);
void js_lex_free(js_toks *toks);

/* True when t is the punctuator p. */
bool js_tok_is(const js_tok *t, const char *p);

#endif
