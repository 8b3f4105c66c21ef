/*
 * engine/js_parse.h: the syntax tree of the host language (the JavaScript
 * subset Strudel programs use) and its recursive-descent parser.
 *
 * The tree is an array of nodes referring to each other by index; lists
 * (arguments, array elements, statements) are runs in a side array of
 * indices. Strings point into the token array, which must outlive the tree.
 *
 * Thread safety: none needed (one parse per compile). Not for the render
 * thread (allocates).
 */
#ifndef TT_ENGINE_JS_PARSE_H
#define TT_ENGINE_JS_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/js_lex.h"

typedef enum js_kind {
	/* expressions */
	JS_N_NUM,      /* num */
	JS_N_STR,      /* '...': a plain string (str, len) */
	JS_N_MINI,     /* "..." or `...`: mini-notation (str, len) */
	JS_N_IDENT,    /* str */
	JS_N_ARRAY,    /* list: elements (JS_N_SPREAD allowed) */
	JS_N_OBJECT,   /* list: JS_N_PROP or JS_N_SPREAD */
	JS_N_PROP,     /* str: key; a: value */
	JS_N_SPREAD,   /* a */
	JS_N_CALL,     /* a: callee; list: arguments */
	JS_N_MEMBER,   /* a: object; str: property name; c: the name's byte
			  offset (not a node) */
	JS_N_INDEX,    /* a: object; b: index expression */
	JS_N_UNARY,    /* op; a */
	JS_N_BINARY,   /* op; a, b */
	JS_N_LOGICAL,  /* op ("&&", "||", "??"); a, b */
	JS_N_COND,     /* a ? b : c */
	JS_N_ARROW,    /* list: parameter JS_N_IDENT (flag 1 = rest);
			  a: body; flag 1 when the body is a block */
	JS_N_ASSIGN,   /* op ("=", "+=", ...); a: target; b: value */
	/* statements */
	JS_S_EXPR,     /* a */
	JS_S_DECL,     /* list: JS_N_PROP (str: name, a: init or -1) */
	JS_S_LABEL,    /* str: label; a: statement */
	JS_S_RETURN,   /* a or -1 */
	JS_S_BLOCK,    /* list */
	JS_S_IF,       /* a: condition; b: then; c: else or -1 */
	JS_S_FUNC,     /* function name(...) {...}: str: name; a: JS_N_ARROW
			  (hoisted: defined when its scope is entered) */
	JS_S_EMPTY
} js_kind;

typedef struct js_node {
	js_kind kind;
	int flag;
	char op[5];
	int a, b, c;      /* child node indices, -1 when absent */
	int list;         /* first index into js_ast.kids */
	int n_list;
	uint32_t start;   /* byte offsets of the node's source */
	uint32_t end;
	double num;
	const char *str;  /* borrowed from the tokens */
	size_t len;
} js_node;

/* Nodes live in fixed-size chunks so that their addresses never move
 * while the tree grows (the parser holds pointers across calls). */
#define JS_AST_CHUNK 1024

typedef struct js_ast {
	js_node **chunks;
	size_t n_nodes, n_chunks;
	int *kids;
	size_t n_kids, cap_kids;
	int body;         /* list of top-level statements: kids[list..] */
	int n_body;
} js_ast;

/* Parses the tokens into *ast (free with js_ast_free). Returns TT_OK, or
 * TT_ESYNTAX / TT_ELIMIT (nesting deeper than TT_MAX_NESTING) / TT_ENOMEM
 * with diag filled. */
int js_parse(const tt_srcmap *m, const js_toks *toks, js_ast *ast, tt_diag *diag);
void js_ast_free(js_ast *ast);

/* Node i of the tree. */
static inline js_node *js_ast_node(const js_ast *ast, int i)
{
	return &ast->chunks[(size_t)i / JS_AST_CHUNK][(size_t)i % JS_AST_CHUNK];
}

#endif
