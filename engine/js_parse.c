/*
 * engine/js_parse.c: recursive-descent parser for the host language.
 *
 * Grammar (a subset of ECMAScript 2022, what Strudel programs use):
 *   program    = statement*
 *   statement  = ("const"|"let"|"var") IDENT "=" expr ("," IDENT "=" expr)*
 *              | IDENT ":" statement            (labels: $: and name:)
 *              | "return" expr? | "if" "(" expr ")" statement ("else" statement)?
 *              | "function" IDENT "(" params ")" block
 *              | "{" statement* "}" | ";" | expr
 *   expr       = arrow | assignment | conditional
 *   conditional= binary ("?" expr ":" expr)?
 *   binary     = unary (op unary)*           (precedence climbing)
 *   unary      = ("-"|"+"|"!"|"~"|"typeof") unary | postfix
 *   postfix    = primary ("." IDENT | "[" expr "]" | "(" args ")")*
 *   primary    = NUM | STR | TEMPLATE | IDENT | array | object | "(" expr ")"
 * Statements end at ";", a line break, "}" or the end (automatic semicolon
 * insertion, restricted to what live code needs).
 *
 * Invariants:
 *  1. Every recursive entry goes through enter(), which fails with
 *     TT_ELIMIT past TT_MAX_NESTING: no input overflows the C stack.
 *  2. Every loop consumes a token per iteration or stops; the parser
 *     always terminates.
 *  3. On error exactly one diag is filled, at the token that was wrong,
 *     saying what was expected.
 */
#include "engine/js_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"

typedef struct parser {
	const tt_srcmap *m;
	const js_toks *toks;
	size_t pos;
	js_ast *ast;
	tt_diag *diag;
	int depth;
	int fn_depth;  /* inside an arrow function body: return allowed */
} parser;

static int parse_expr(parser *p, int *out);
static int parse_statement(parser *p, int *out);
static int parse_assign(parser *p, int *out);

static const js_tok *peek(const parser *p)
{
	return &p->toks->v[p->pos];
}

static const js_tok *peek_at(const parser *p, size_t k)
{
	size_t i = p->pos + k;
	return &p->toks->v[i < p->toks->n ? i : p->toks->n - 1];
}

static void advance(parser *p)
{
	if (p->toks->v[p->pos].kind != JS_T_EOF)
		p->pos++;
}

static bool is_kw(const js_tok *t, const char *kw)
{
	return t->kind == JS_T_IDENT && strcmp(t->str, kw) == 0;
}

static int error_at(parser *p, const js_tok *t, const char *expected)
{
	char what[48];

	switch (t->kind) {
	case JS_T_EOF: snprintf(what, sizeof what, "end of the code"); break;
	case JS_T_NUM: snprintf(what, sizeof what, "a number"); break;
	case JS_T_STR:
	case JS_T_TEMPLATE: snprintf(what, sizeof what, "a string"); break;
	case JS_T_IDENT: snprintf(what, sizeof what, "'%.40s'", t->str); break;
	case JS_T_PUNCT: snprintf(what, sizeof what, "'%s'", t->punct); break;
	}
	srcmap_diag(p->m, t->start, p->diag, "unexpected %s: expected %s", what,
		    expected);
	return TT_ESYNTAX;
}

static int enter(parser *p)
{
	if (++p->depth > TT_MAX_NESTING) {
		srcmap_diag(p->m, peek(p)->start, p->diag,
			    "code nested deeper than %d levels", TT_MAX_NESTING);
		return TT_ELIMIT;
	}
	return TT_OK;
}

static int leave(parser *p, int rc)
{
	p->depth--;
	return rc;
}

static int new_node(parser *p, js_kind kind, const js_tok *at, int *out)
{
	js_ast *a = p->ast;
	js_node *n;

	if (a->n_nodes == a->n_chunks * JS_AST_CHUNK) {
		js_node **v = realloc(a->chunks, (a->n_chunks + 1) * sizeof *v);
		if (!v)
			return TT_ENOMEM;
		a->chunks = v;
		v[a->n_chunks] = malloc(JS_AST_CHUNK * sizeof **v);
		if (!v[a->n_chunks])
			return TT_ENOMEM;
		a->n_chunks++;
	}
	n = js_ast_node(a, (int)a->n_nodes);
	memset(n, 0, sizeof *n);
	n->kind = kind;
	n->a = n->b = n->c = -1;
	n->start = at->start;
	n->end = at->end;
	*out = (int)a->n_nodes++;
	return TT_OK;
}

static js_node *node(parser *p, int i)
{
	return js_ast_node(p->ast, i);
}

/* A growing list of node indices, copied into ast->kids when complete. */
typedef struct idlist {
	int *v;
	int n, cap;
} idlist;

static int idlist_push(idlist *l, int x)
{
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 8;
		int *v = realloc(l->v, (size_t)cap * sizeof *v);
		if (!v)
			return TT_ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = x;
	return TT_OK;
}

static int idlist_commit(parser *p, idlist *l, int *first)
{
	js_ast *a = p->ast;

	while (a->n_kids + (size_t)l->n > a->cap_kids) {
		size_t cap = a->cap_kids ? a->cap_kids * 2 : 128;
		int *v = realloc(a->kids, cap * sizeof *v);
		if (!v)
			return TT_ENOMEM;
		a->kids = v;
		a->cap_kids = cap;
	}
	*first = (int)a->n_kids;
	if (l->n)
		memcpy(a->kids + a->n_kids, l->v, (size_t)l->n * sizeof *l->v);
	a->n_kids += (size_t)l->n;
	return TT_OK;
}

static int expect(parser *p, const char *punct, const char *what)
{
	if (!js_tok_is(peek(p), punct))
		return error_at(p, peek(p), what);
	advance(p);
	return TT_OK;
}

/* Comma-separated expressions up to the closing punctuator; "..." spreads. */
static int parse_list(parser *p, const char *close, int *first, int *count)
{
	idlist l = { 0 };
	int rc = TT_OK, x;
	char what[32];

	snprintf(what, sizeof what, "',' or '%s'", close);
	while (!js_tok_is(peek(p), close)) {
		if (js_tok_is(peek(p), "...")) {
			const js_tok *t = peek(p);
			advance(p);
			if ((rc = new_node(p, JS_N_SPREAD, t, &x)) < 0 ||
			    (rc = parse_assign(p, &node(p, x)->a)) < 0)
				goto out;
		} else if ((rc = parse_assign(p, &x)) < 0) {
			goto out;
		}
		if ((rc = idlist_push(&l, x)) < 0)
			goto out;
		if (js_tok_is(peek(p), ","))
			advance(p);
		else if (!js_tok_is(peek(p), close)) {
			rc = error_at(p, peek(p), what);
			goto out;
		}
	}
	advance(p);
	rc = idlist_commit(p, &l, first);
	*count = l.n;
out:
	free(l.v);
	return rc;
}

static int parse_object(parser *p, int *out)
{
	idlist l = { 0 };
	int rc, x;

	if ((rc = new_node(p, JS_N_OBJECT, peek(p), out)) < 0)
		return rc;
	advance(p); /* { */
	while (!js_tok_is(peek(p), "}")) {
		const js_tok *k = peek(p);
		if (js_tok_is(k, "...")) {
			advance(p);
			if ((rc = new_node(p, JS_N_SPREAD, k, &x)) < 0 ||
			    (rc = parse_assign(p, &node(p, x)->a)) < 0)
				goto out;
		} else if (k->kind == JS_T_IDENT || k->kind == JS_T_STR) {
			if ((rc = new_node(p, JS_N_PROP, k, &x)) < 0)
				goto out;
			node(p, x)->str = k->str;
			node(p, x)->len = k->len;
			advance(p);
			if (js_tok_is(peek(p), ":")) {
				advance(p);
				if ((rc = parse_assign(p, &node(p, x)->a)) < 0)
					goto out;
			} else if (k->kind == JS_T_IDENT) {
				int id;
				if ((rc = new_node(p, JS_N_IDENT, k, &id)) < 0)
					goto out;
				node(p, id)->str = k->str;
				node(p, x)->a = id; /* shorthand {a} */
			} else {
				rc = error_at(p, peek(p), "':'");
				goto out;
			}
		} else {
			rc = error_at(p, k, "a property name or '}'");
			goto out;
		}
		if ((rc = idlist_push(&l, x)) < 0)
			goto out;
		if (js_tok_is(peek(p), ","))
			advance(p);
		else if (!js_tok_is(peek(p), "}")) {
			rc = error_at(p, peek(p), "',' or '}'");
			goto out;
		}
	}
	advance(p);
	rc = idlist_commit(p, &l, &node(p, *out)->list);
	node(p, *out)->n_list = l.n;
out:
	free(l.v);
	return rc;
}

/* True when the tokens at pos start an arrow function's parameter list. */
static bool at_arrow(const parser *p)
{
	const js_tok *t = peek(p);
	int level = 0;

	if (t->kind == JS_T_IDENT)
		return js_tok_is(peek_at(p, 1), "=>");
	if (!js_tok_is(t, "("))
		return false;
	for (size_t k = 0; p->pos + k < p->toks->n; k++) {
		const js_tok *u = peek_at(p, k);
		if (js_tok_is(u, "(") || js_tok_is(u, "[") || js_tok_is(u, "{"))
			level++;
		else if (js_tok_is(u, ")") || js_tok_is(u, "]") || js_tok_is(u, "}"))
			level--;
		else if (u->kind == JS_T_EOF)
			return false;
		if (level == 0)
			return js_tok_is(peek_at(p, k + 1), "=>");
	}
	return false;
}

static int parse_param(parser *p, idlist *l, bool rest)
{
	const js_tok *t = peek(p);
	int x, rc;

	if (t->kind != JS_T_IDENT)
		return error_at(p, t, "a parameter name");
	if ((rc = new_node(p, JS_N_IDENT, t, &x)) < 0)
		return rc;
	node(p, x)->str = t->str;
	node(p, x)->flag = rest;
	advance(p);
	return idlist_push(l, x);
}

static int parse_arrow_body(parser *p, int fn)
{
	int rc, body;

	if (!js_tok_is(peek(p), "{"))
		return parse_assign(p, &node(p, fn)->a);
	p->fn_depth++;
	rc = parse_statement(p, &body);
	p->fn_depth--;
	if (rc < 0)
		return rc;
	node(p, fn)->a = body;
	node(p, fn)->flag = 1;
	return TT_OK;
}

/* function name?(params) { body }: an arrow function with a block body
 * (no `this` or `arguments`, which live code does not use). */
static int parse_function(parser *p, int *out, const char **name)
{
	idlist l = { 0 };
	int rc, body;

	if ((rc = new_node(p, JS_N_ARROW, peek(p), out)) < 0)
		return rc;
	advance(p); /* function */
	*name = NULL;
	if (peek(p)->kind == JS_T_IDENT) {
		*name = peek(p)->str;
		advance(p);
	}
	if ((rc = expect(p, "(", "'('")) < 0)
		goto out;
	while (!js_tok_is(peek(p), ")")) {
		bool rest = js_tok_is(peek(p), "...");
		if (rest)
			advance(p);
		if ((rc = parse_param(p, &l, rest)) < 0)
			goto out;
		if (js_tok_is(peek(p), ","))
			advance(p);
		else if (!js_tok_is(peek(p), ")")) {
			rc = error_at(p, peek(p), "',' or ')'");
			goto out;
		}
	}
	advance(p);
	if (!js_tok_is(peek(p), "{")) {
		rc = error_at(p, peek(p), "'{'");
		goto out;
	}
	if ((rc = idlist_commit(p, &l, &node(p, *out)->list)) < 0)
		goto out;
	node(p, *out)->n_list = l.n;
	p->fn_depth++;
	rc = parse_statement(p, &body);
	p->fn_depth--;
	node(p, *out)->a = body;
	node(p, *out)->flag = 1;
out:
	free(l.v);
	return rc;
}

static int parse_arrow(parser *p, int *out)
{
	idlist l = { 0 };
	int rc;

	if ((rc = new_node(p, JS_N_ARROW, peek(p), out)) < 0)
		return rc;
	if (peek(p)->kind == JS_T_IDENT) {
		if ((rc = parse_param(p, &l, false)) < 0)
			goto out;
	} else {
		advance(p); /* ( */
		while (!js_tok_is(peek(p), ")")) {
			bool rest = js_tok_is(peek(p), "...");
			if (rest)
				advance(p);
			if ((rc = parse_param(p, &l, rest)) < 0)
				goto out;
			if (js_tok_is(peek(p), ","))
				advance(p);
			else if (!js_tok_is(peek(p), ")")) {
				rc = error_at(p, peek(p), "',' or ')'");
				goto out;
			}
		}
		advance(p);
	}
	if ((rc = expect(p, "=>", "'=>'")) < 0 ||
	    (rc = idlist_commit(p, &l, &node(p, *out)->list)) < 0)
		goto out;
	node(p, *out)->n_list = l.n;
	rc = parse_arrow_body(p, *out);
out:
	free(l.v);
	return rc;
}

static int parse_primary(parser *p, int *out)
{
	const js_tok *t = peek(p);
	int rc;

	switch (t->kind) {
	case JS_T_NUM:
		if ((rc = new_node(p, JS_N_NUM, t, out)) < 0)
			return rc;
		node(p, *out)->num = t->num;
		advance(p);
		return TT_OK;
	case JS_T_STR:
	case JS_T_TEMPLATE:
		if ((rc = new_node(p, t->quote == '\'' ? JS_N_STR : JS_N_MINI, t, out)) < 0)
			return rc;
		node(p, *out)->str = t->str;
		node(p, *out)->len = t->len;
		advance(p);
		return TT_OK;
	case JS_T_IDENT:
		if (is_kw(t, "function")) {
			const char *name;
			if ((rc = enter(p)) < 0)
				return rc;
			return leave(p, parse_function(p, out, &name));
		}
		if ((rc = new_node(p, JS_N_IDENT, t, out)) < 0)
			return rc;
		node(p, *out)->str = t->str;
		advance(p);
		return TT_OK;
	case JS_T_PUNCT:
		if (js_tok_is(t, "(")) {
			if ((rc = enter(p)) < 0)
				return rc;
			advance(p);
			if ((rc = parse_expr(p, out)) < 0)
				return leave(p, rc);
			return leave(p, expect(p, ")", "')'"));
		}
		if (js_tok_is(t, "[")) {
			if ((rc = enter(p)) < 0)
				return rc;
			if ((rc = new_node(p, JS_N_ARRAY, t, out)) < 0)
				return leave(p, rc);
			advance(p);
			return leave(p, parse_list(p, "]", &node(p, *out)->list,
						   &node(p, *out)->n_list));
		}
		if (js_tok_is(t, "{")) {
			if ((rc = enter(p)) < 0)
				return rc;
			return leave(p, parse_object(p, out));
		}
		break;
	case JS_T_EOF:
		break;
	}
	return error_at(p, t, "an expression");
}

static int parse_postfix(parser *p, int *out)
{
	int rc, x;

	if ((rc = parse_primary(p, out)) < 0)
		return rc;
	for (;;) {
		const js_tok *t = peek(p);
		if (js_tok_is(t, ".") || js_tok_is(t, "?.")) {
			const js_tok *name = peek_at(p, 1);
			if (js_tok_is(t, "?.") && js_tok_is(name, "("))
				return error_at(p, name, "a property name");
			if (name->kind != JS_T_IDENT)
				return error_at(p, name, "a property name");
			if ((rc = new_node(p, JS_N_MEMBER, name, &x)) < 0)
				return rc;
			node(p, x)->a = *out;
			node(p, x)->str = name->str;
			node(p, x)->c = (int)name->start;
			node(p, x)->start = node(p, *out)->start;
			advance(p);
			advance(p);
		} else if (js_tok_is(t, "[")) {
			if ((rc = new_node(p, JS_N_INDEX, t, &x)) < 0)
				return rc;
			advance(p);
			node(p, x)->a = *out;
			if ((rc = enter(p)) < 0)
				return rc;
			if ((rc = parse_expr(p, &node(p, x)->b)) < 0 ||
			    (rc = expect(p, "]", "']'")) < 0)
				return leave(p, rc);
			p->depth--;
		} else if (js_tok_is(t, "(")) {
			if ((rc = new_node(p, JS_N_CALL, t, &x)) < 0)
				return rc;
			advance(p);
			node(p, x)->a = *out;
			if ((rc = enter(p)) < 0)
				return rc;
			if ((rc = parse_list(p, ")", &node(p, x)->list,
					     &node(p, x)->n_list)) < 0)
				return leave(p, rc);
			p->depth--;
		} else {
			return TT_OK;
		}
		node(p, x)->end = p->toks->v[p->pos - 1].end;
		*out = x;
	}
}

static int parse_unary(parser *p, int *out)
{
	const js_tok *t = peek(p);
	int rc;

	if (js_tok_is(t, "-") || js_tok_is(t, "+") || js_tok_is(t, "!") ||
	    js_tok_is(t, "~") || is_kw(t, "typeof")) {
		if ((rc = enter(p)) < 0)
			return rc;
		if ((rc = new_node(p, JS_N_UNARY, t, out)) < 0)
			return rc;
		snprintf(node(p, *out)->op, sizeof node(p, *out)->op, "%s",
			 t->kind == JS_T_IDENT ? "t" : t->punct);
		advance(p);
		rc = parse_unary(p, &node(p, *out)->a);
		p->depth--;
		return rc;
	}
	return parse_postfix(p, out);
}

static int binary_prec(const js_tok *t)
{
	static const struct { const char *op; int prec; } ops[] = {
		{ "??", 1 }, { "||", 2 }, { "&&", 3 }, { "|", 4 }, { "^", 5 },
		{ "&", 6 }, { "==", 7 }, { "!=", 7 }, { "===", 7 }, { "!==", 7 },
		{ "<", 8 }, { ">", 8 }, { "<=", 8 }, { ">=", 8 }, { "+", 10 },
		{ "-", 10 }, { "*", 11 }, { "/", 11 }, { "%", 11 }, { "**", 12 },
	};
	if (t->kind != JS_T_PUNCT)
		return 0;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strcmp(t->punct, ops[i].op) == 0)
			return ops[i].prec;
	return 0;
}

static int parse_binary(parser *p, int min_prec, int *out)
{
	int rc, entered = 0;

	if ((rc = parse_unary(p, out)) < 0)
		goto out;
	for (;;) {
		const js_tok *t = peek(p);
		int prec = binary_prec(t), x;
		bool logical;
		if (prec == 0 || prec < min_prec)
			break;
		logical = prec <= 3;
		if ((rc = new_node(p, logical ? JS_N_LOGICAL : JS_N_BINARY, t, &x)) < 0)
			goto out;
		snprintf(node(p, x)->op, sizeof node(p, x)->op, "%s", t->punct);
		node(p, x)->a = *out;
		advance(p);
		/* ** is right-associative (a nesting: counted); the rest
		 * associate left */
		if (prec == 12) {
			if ((rc = enter(p)) < 0)
				goto out;
			entered++;
		}
		if ((rc = parse_binary(p, prec == 12 ? prec : prec + 1,
				       &node(p, x)->b)) < 0)
			goto out;
		*out = x;
	}
out:
	p->depth -= entered;
	return rc;
}

static int parse_cond(parser *p, int *out)
{
	int rc, x;

	if ((rc = parse_binary(p, 1, out)) < 0)
		return rc;
	if (!js_tok_is(peek(p), "?"))
		return TT_OK;
	if ((rc = new_node(p, JS_N_COND, peek(p), &x)) < 0)
		return rc;
	advance(p);
	node(p, x)->a = *out;
	if ((rc = enter(p)) < 0)
		return rc;
	if ((rc = parse_assign(p, &node(p, x)->b)) < 0 ||
	    (rc = expect(p, ":", "':'")) < 0 ||
	    (rc = parse_assign(p, &node(p, x)->c)) < 0)
		return leave(p, rc);
	*out = x;
	return leave(p, TT_OK);
}

static int parse_assign_rhs(parser *p, const char *op, int *out)
{
	int rc, x;

	if (node(p, *out)->kind != JS_N_IDENT)
		return error_at(p, peek(p), "an end of statement (only a variable "
				"can be assigned to)");
	if ((rc = new_node(p, JS_N_ASSIGN, peek(p), &x)) < 0)
		return rc;
	snprintf(node(p, x)->op, sizeof node(p, x)->op, "%s", op);
	node(p, x)->a = *out;
	advance(p);
	if ((rc = enter(p)) < 0)
		return rc;
	rc = parse_assign(p, &node(p, x)->b);
	p->depth--;
	*out = x;
	return rc;
}

static int parse_assign(parser *p, int *out)
{
	static const char *const ops[] = { "=", "+=", "-=", "*=", "/=", "%=" };
	int rc;

	if (at_arrow(p)) { /* only arrows and assignments nest here */
		if ((rc = enter(p)) < 0)
			return rc;
		return leave(p, parse_arrow(p, out));
	}
	if ((rc = parse_cond(p, out)) < 0)
		return rc;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (js_tok_is(peek(p), ops[i]))
			return parse_assign_rhs(p, ops[i], out);
	return TT_OK;
}

/* expr = assignment ("," assignment)*: the comma operator keeps the last. */
static int parse_expr(parser *p, int *out)
{
	int rc;

	if ((rc = parse_assign(p, out)) < 0)
		return rc;
	while (js_tok_is(peek(p), ",") ) {
		int x, y;
		if ((rc = new_node(p, JS_N_BINARY, peek(p), &x)) < 0)
			return rc;
		advance(p);
		if ((rc = parse_assign(p, &y)) < 0)
			return rc;
		snprintf(node(p, x)->op, sizeof node(p, x)->op, ",");
		node(p, x)->a = *out;
		node(p, x)->b = y;
		*out = x;
	}
	return TT_OK;
}

/* Automatic semicolon insertion: a statement ends at ';', at a line break,
 * before '}' or at the end. */
static int end_statement(parser *p)
{
	const js_tok *t = peek(p);

	if (js_tok_is(t, ";")) {
		advance(p);
		return TT_OK;
	}
	if (t->kind == JS_T_EOF || t->nl_before || js_tok_is(t, "}"))
		return TT_OK;
	return error_at(p, t, "';' or a line break");
}

static int parse_decl(parser *p, int *out)
{
	idlist l = { 0 };
	int rc, x;

	if ((rc = new_node(p, JS_S_DECL, peek(p), out)) < 0)
		return rc;
	advance(p); /* const / let / var */
	do {
		const js_tok *name = peek(p);
		if (name->kind != JS_T_IDENT) {
			rc = error_at(p, name, "a variable name");
			goto out;
		}
		if ((rc = new_node(p, JS_N_PROP, name, &x)) < 0)
			goto out;
		node(p, x)->str = name->str;
		advance(p);
		if (js_tok_is(peek(p), "=")) {
			advance(p);
			if ((rc = parse_assign(p, &node(p, x)->a)) < 0)
				goto out;
		}
		if ((rc = idlist_push(&l, x)) < 0)
			goto out;
	} while (js_tok_is(peek(p), ",") && (advance(p), true));
	if ((rc = idlist_commit(p, &l, &node(p, *out)->list)) < 0)
		goto out;
	node(p, *out)->n_list = l.n;
	rc = end_statement(p);
out:
	free(l.v);
	return rc;
}

static int parse_block(parser *p, int *out)
{
	idlist l = { 0 };
	int rc, x;

	if ((rc = new_node(p, JS_S_BLOCK, peek(p), out)) < 0)
		return rc;
	advance(p); /* { */
	while (!js_tok_is(peek(p), "}")) {
		if (peek(p)->kind == JS_T_EOF) {
			rc = error_at(p, peek(p), "'}'");
			goto out;
		}
		if ((rc = parse_statement(p, &x)) < 0 || (rc = idlist_push(&l, x)) < 0)
			goto out;
	}
	advance(p);
	if ((rc = idlist_commit(p, &l, &node(p, *out)->list)) < 0)
		goto out;
	node(p, *out)->n_list = l.n;
out:
	free(l.v);
	return rc;
}

static int parse_if(parser *p, int *out)
{
	int rc;

	if ((rc = new_node(p, JS_S_IF, peek(p), out)) < 0)
		return rc;
	advance(p);
	if ((rc = expect(p, "(", "'('")) < 0 ||
	    (rc = parse_expr(p, &node(p, *out)->a)) < 0 ||
	    (rc = expect(p, ")", "')'")) < 0 ||
	    (rc = parse_statement(p, &node(p, *out)->b)) < 0)
		return rc;
	if (is_kw(peek(p), "else")) {
		advance(p);
		return parse_statement(p, &node(p, *out)->c);
	}
	return TT_OK;
}

static int parse_return(parser *p, int *out)
{
	const js_tok *t = peek(p);
	int rc;

	if (p->fn_depth == 0) {
		srcmap_diag(p->m, t->start, p->diag, "'return' outside of a function");
		return TT_ESYNTAX;
	}
	if ((rc = new_node(p, JS_S_RETURN, t, out)) < 0)
		return rc;
	advance(p);
	t = peek(p);
	if (!(js_tok_is(t, ";") || js_tok_is(t, "}") || t->kind == JS_T_EOF ||
	      t->nl_before))
		if ((rc = parse_expr(p, &node(p, *out)->a)) < 0)
			return rc;
	return end_statement(p);
}

static int parse_statement_inner(parser *p, int *out)
{
	const js_tok *t = peek(p);
	int rc;

	if (is_kw(t, "const") || is_kw(t, "let") || is_kw(t, "var"))
		return parse_decl(p, out);
	if (is_kw(t, "return"))
		return parse_return(p, out);
	if (is_kw(t, "if"))
		return parse_if(p, out);
	if (is_kw(t, "function") && peek_at(p, 1)->kind == JS_T_IDENT) {
		const char *name;
		int fn;
		if ((rc = new_node(p, JS_S_FUNC, t, out)) < 0 ||
		    (rc = parse_function(p, &fn, &name)) < 0)
			return rc;
		node(p, *out)->str = name;
		node(p, *out)->a = fn;
		return TT_OK;
	}
	if (js_tok_is(t, "{"))
		return parse_block(p, out);
	if (js_tok_is(t, ";")) {
		advance(p);
		return new_node(p, JS_S_EMPTY, t, out);
	}
	if (t->kind == JS_T_IDENT && js_tok_is(peek_at(p, 1), ":")) {
		if ((rc = new_node(p, JS_S_LABEL, t, out)) < 0)
			return rc;
		node(p, *out)->str = t->str;
		advance(p);
		advance(p);
		return parse_statement(p, &node(p, *out)->a);
	}
	if ((rc = new_node(p, JS_S_EXPR, t, out)) < 0 ||
	    (rc = parse_expr(p, &node(p, *out)->a)) < 0)
		return rc;
	node(p, *out)->end = p->toks->v[p->pos ? p->pos - 1 : 0].end;
	return end_statement(p);
}

static int parse_statement(parser *p, int *out)
{
	const js_tok *t = peek(p);
	bool nests = js_tok_is(t, "{") || is_kw(t, "if") || is_kw(t, "function") ||
		     (t->kind == JS_T_IDENT && js_tok_is(peek_at(p, 1), ":"));
	int rc;

	if (!nests)
		return parse_statement_inner(p, out);
	if ((rc = enter(p)) < 0)
		return rc;
	return leave(p, parse_statement_inner(p, out));
}

int js_parse(const tt_srcmap *m, const js_toks *toks, js_ast *ast, tt_diag *diag)
{
	parser p = { .m = m, .toks = toks, .ast = ast, .diag = diag };
	idlist l = { 0 };
	int rc = TT_OK, x;

	memset(ast, 0, sizeof *ast);
	while (peek(&p)->kind != JS_T_EOF) {
		if ((rc = parse_statement(&p, &x)) < 0 || (rc = idlist_push(&l, x)) < 0)
			goto out;
	}
	if ((rc = idlist_commit(&p, &l, &ast->body)) < 0)
		goto out;
	ast->n_body = l.n;
out:
	free(l.v);
	if (rc < 0)
		js_ast_free(ast);
	return rc;
}

void js_ast_free(js_ast *ast)
{
	for (size_t i = 0; i < ast->n_chunks; i++)
		free(ast->chunks[i]);
	free(ast->chunks);
	free(ast->kids);
	memset(ast, 0, sizeof *ast);
}
