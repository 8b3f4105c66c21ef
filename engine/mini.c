/*
 * engine/mini.c: the mini-notation parser and pattern builder.
 *
 * Grammar (Strudel 1.2.6 krill.pegjs, re-expressed as recursive descent;
 * ws is [ \t\r\n\u00A0]*):
 *   top        = ws choice ws END
 *   choice     = sequence ( ("," sequence)+ | ("|" sequence)+ | ("." sequence)+ )?
 *   sequence   = "^"? element+
 *   element    = slice op*
 *   slice      = step | "[" choice "]" | "{" poly "}" ("%" slice)? | "<" poly ">"
 *   poly       = sequence ("," sequence)*
 *   step       = ws word ws          (word: letters, digits, ~ - # . ^ _; not "." or "_")
 *   op         = ws ("@"|"_") number? | "(" element "," element ","? element? ")"
 *              | "/" slice | "*" slice | ws "!" number? | "?" number?
 *              | ":" slice | ".." slice
 *
 * Invariants:
 *  1. Seeds: every '?' and every '|' or '.' group takes the next value of a
 *     per-string counter at the moment krill would complete it: the ops of
 *     an element when the element ends (in op order), a choice when its
 *     last alternative ends. Inner constructs therefore number first.
 *  2. Every recursive descent passes through enter(): TT_MAX_NESTING bounds
 *     the C stack for parsing and for building.
 *  3. Node indices only grow; a node's children are complete before it is
 *     linked, so the tree is acyclic and mini_build terminates.
 *  4. A leaf's location is [start + leading spaces, end - trailing spaces]
 *     of its step's span (spaces only, not tabs or line breaks), exactly
 *     as Strudel's getLeafLocation computes it.
 */
#include "engine/mini.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"

#define NOMATCH (-1000) /* a soft failure: the alternative does not apply */

typedef enum mkind {
	MK_ATOM, MK_SEQ, MK_STACK, MK_RAND, MK_FEET, MK_POLY, MK_SLOWPOLY,
	MK_ELEM, OP_FAST, OP_SLOW, OP_REPL, OP_EUCLID, OP_DEGRADE, OP_TAIL,
	OP_RANGE
} mkind;

typedef struct mnode {
	mkind kind;
	int first;        /* first child (sequences, stacks) */
	int next;         /* next sibling, or next op of an element */
	int a, b, c;      /* element: a = slice; ops: arguments */
	int ops;          /* element: first op */
	int n_kids;
	double num;       /* op amount; element weight */
	double reps;      /* element: replication count */
	int has_num;
	int seed;
	uint32_t at;      /* byte offset for error messages */
	uint32_t w0, w1;  /* atom: the step's span including spaces */
	uint32_t t0, t1;  /* atom: the word */
} mnode;

struct mini_ast {
	mnode *v;
	int n, cap;
	int root;
	char *s;          /* a copy of the string */
	size_t len;
	uint32_t *u16;    /* UTF-16 offset of every byte offset */
};

typedef struct mp {
	mini_ast *a;
	const char *s;
	size_t len, pos;
	int depth;
	int seed;
	mini_err *err;
} mp;

static int choice(mp *p);
static int slice(mp *p);
static int element(mp *p);

static int new_node(mp *p, mkind kind, int *out)
{
	mini_ast *a = p->a;
	if (a->n == a->cap) {
		int cap = a->cap ? a->cap * 2 : 64;
		mnode *v = realloc(a->v, (size_t)cap * sizeof *v);
		if (!v)
			return TT_ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	memset(&a->v[a->n], 0, sizeof a->v[0]);
	a->v[a->n].kind = kind;
	a->v[a->n].first = a->v[a->n].next = a->v[a->n].ops = -1;
	a->v[a->n].a = a->v[a->n].b = a->v[a->n].c = -1;
	a->v[a->n].at = (uint32_t)p->pos;
	*out = a->n++;
	return TT_OK;
}

#define N(i) (p->a->v[(i)])

static int fail(mp *p, size_t at, const char *msg, int rc)
{
	p->err->at = at;
	snprintf(p->err->message, sizeof p->err->message, "%s", msg);
	return rc;
}

/* Describes the byte at pos for an error message. */
static int fail_here(mp *p, const char *expected)
{
	char msg[160];
	if (p->pos >= p->len)
		snprintf(msg, sizeof msg, "expected %s but the string ended", expected);
	else
		snprintf(msg, sizeof msg, "expected %s but found '%c'", expected,
			 p->s[p->pos]);
	return fail(p, p->pos, msg, TT_ESYNTAX);
}

static int enter(mp *p)
{
	char msg[80];

	if (++p->depth <= TT_MAX_NESTING)
		return TT_OK;
	snprintf(msg, sizeof msg, "nested deeper than %d levels",
		 TT_MAX_NESTING);
	return fail(p, p->pos, msg, TT_ELIMIT);
}

static bool at_nbsp(const mp *p)
{
	return p->pos + 1 < p->len && (unsigned char)p->s[p->pos] == 0xC2 &&
	       (unsigned char)p->s[p->pos + 1] == 0xA0;
}

static void ws(mp *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			p->pos++;
		else if (at_nbsp(p))
			p->pos += 2;
		else
			break;
	}
}

static bool peek_is(const mp *p, char c)
{
	return p->pos < p->len && p->s[p->pos] == c;
}

/* Length of the word character at pos (UTF-8 letters count whole), or 0. */
static size_t word_char(const mp *p)
{
	unsigned char c = (unsigned char)p->s[p->pos];
	size_t n = 1;

	if (p->pos >= p->len)
		return 0;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '~' || c == '-' || c == '#' ||
	    c == '.' || c == '^' || c == '_')
		return 1;
	if (c < 0xC0 || at_nbsp(p))
		return 0;
	while (p->pos + n < p->len && ((unsigned char)p->s[p->pos + n] & 0xC0) == 0x80)
		n++;
	return n;
}

static bool digit_at(const mp *p, size_t i)
{
	return i < p->len && p->s[i] >= '0' && p->s[i] <= '9';
}

/* number = "-"? ("0" | [1-9][0-9]*) ("." [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool number(mp *p, double *out)
{
	size_t i = p->pos, j;
	char tmp[64];

	if (i < p->len && p->s[i] == '-')
		i++;
	if (!digit_at(p, i))
		return false;
	if (p->s[i] == '0')
		i++;
	else
		while (digit_at(p, i))
			i++;
	if (i < p->len && p->s[i] == '.' && digit_at(p, i + 1)) {
		i++;
		while (digit_at(p, i))
			i++;
	}
	if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
		j = i + 1;
		if (j < p->len && (p->s[j] == '+' || p->s[j] == '-'))
			j++;
		if (digit_at(p, j)) {
			while (digit_at(p, j))
				j++;
			i = j;
		}
	}
	if (i - p->pos >= sizeof tmp)
		return false;
	memcpy(tmp, p->s + p->pos, i - p->pos);
	tmp[i - p->pos] = '\0';
	*out = strtod(tmp, NULL);
	p->pos = i;
	return true;
}

static int step(mp *p)
{
	size_t start = p->pos, t0, t1, k;
	int x, rc;

	ws(p);
	t0 = p->pos;
	while ((k = word_char(p)) > 0)
		p->pos += k;
	t1 = p->pos;
	if (t1 == t0 || (t1 - t0 == 1 && (p->s[t0] == '.' || p->s[t0] == '_'))) {
		p->pos = start;
		return NOMATCH;
	}
	ws(p);
	if ((rc = new_node(p, MK_ATOM, &x)) < 0)
		return rc;
	N(x).w0 = (uint32_t)start;
	N(x).w1 = (uint32_t)p->pos;
	N(x).t0 = (uint32_t)t0;
	N(x).t1 = (uint32_t)t1;
	N(x).at = (uint32_t)t0;
	return x;
}

/* Links the sequences in kids[] under a new node of kind. */
static int group(mp *p, mkind kind, const int *kids, int n, int *out)
{
	int rc = new_node(p, kind, out);
	if (rc < 0)
		return rc;
	N(*out).first = n ? kids[0] : -1;
	N(*out).n_kids = n;
	for (int i = 0; i + 1 < n; i++)
		N(kids[i]).next = kids[i + 1];
	return TT_OK;
}

static int sequence(mp *p)
{
	size_t start = p->pos;
	int head = -1, prev = -1, n = 0, x, rc;

	if (peek_is(p, '^'))
		p->pos++;
	for (;;) {
		x = element(p);
		if (x == NOMATCH)
			break;
		if (x < 0)
			return x;
		if (prev < 0)
			head = x;
		else
			N(prev).next = x;
		prev = x;
		n++;
	}
	if (n == 0) {
		p->pos = start;
		return NOMATCH;
	}
	if ((rc = new_node(p, MK_SEQ, &x)) < 0)
		return rc;
	N(x).first = head;
	N(x).n_kids = n;
	N(x).at = (uint32_t)start;
	return x;
}

/* ("sep" sequence)+ after head; *n_out counts all, head included. */
static int tail_list(mp *p, char sep, int **kids, int *n_out)
{
	int n = 1, cap = 8, x;
	int *v = malloc((size_t)cap * sizeof *v);

	if (!v)
		return TT_ENOMEM;
	v[0] = **kids;
	for (;;) {
		size_t save = p->pos;
		ws(p);
		if (!peek_is(p, sep)) {
			p->pos = save;
			break;
		}
		p->pos++;
		ws(p);
		x = sequence(p);
		if (x == NOMATCH) {
			p->pos = save;
			break;
		}
		if (x < 0) {
			free(v);
			return x;
		}
		if (n == cap) {
			int *w = realloc(v, (size_t)(cap *= 2) * sizeof *w);
			if (!w) {
				free(v);
				return TT_ENOMEM;
			}
			v = w;
		}
		v[n++] = x;
	}
	*kids = v;
	*n_out = n;
	return TT_OK;
}

static int choice(mp *p)
{
	static const struct { char sep; mkind kind; } tails[] = {
		{ ',', MK_STACK }, { '|', MK_RAND }, { '.', MK_FEET },
	};
	int head = sequence(p), rc, n, x;
	int *kids = &head;

	if (head < 0)
		return head;
	for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
		if ((rc = tail_list(p, tails[t].sep, &kids, &n)) < 0)
			return rc;
		if (n == 1) {
			free(kids);
			kids = &head;
			continue;
		}
		rc = group(p, tails[t].kind, kids, n, &x);
		free(kids);
		if (rc < 0)
			return rc;
		if (tails[t].kind != MK_STACK)
			N(x).seed = p->seed++;
		return x;
	}
	return head;
}

static int poly(mp *p, mkind kind)
{
	int head = sequence(p), rc, n, x;
	int *kids = &head;

	if (head == NOMATCH)
		return fail_here(p, "a step");
	if (head < 0)
		return head;
	if ((rc = tail_list(p, ',', &kids, &n)) < 0)
		return rc;
	rc = group(p, kind, kids, n, &x);
	free(kids);
	return rc < 0 ? rc : x;
}

/* "[" choice "]", "{" poly "}" ("%" slice)?, "<" poly ">" */
static int bracketed(mp *p, char open)
{
	int x, rc;

	p->pos++;
	ws(p);
	if (open == '[') {
		x = choice(p);
		if (x == NOMATCH)
			return fail_here(p, "a step");
	} else {
		x = poly(p, open == '{' ? MK_POLY : MK_SLOWPOLY);
	}
	if (x < 0)
		return x;
	ws(p);
	if (!peek_is(p, open == '[' ? ']' : open == '{' ? '}' : '>'))
		return fail_here(p, open == '[' ? "']'" : open == '{' ? "'}'" : "'>'");
	p->pos++;
	if (open == '{' && peek_is(p, '%')) {
		p->pos++;
		rc = slice(p);
		if (rc == NOMATCH)
			return fail_here(p, "a step count after '%'");
		if (rc < 0)
			return rc;
		N(x).a = rc;
	}
	ws(p);
	return x;
}

static int slice(mp *p)
{
	size_t start = p->pos;
	int x, rc;

	x = step(p);
	if (x == NOMATCH) {
		ws(p);
		if (peek_is(p, '[') || peek_is(p, '{') || peek_is(p, '<')) {
			if ((rc = enter(p)) < 0)
				return rc;
			x = bracketed(p, p->s[p->pos]);
			p->depth--;
		} else {
			p->pos = start;
		}
	}
	return x;
}

static int add_op(mp *p, int elem, mkind kind, int a, int *out)
{
	int x, rc = new_node(p, kind, &x), *link;

	if (rc < 0)
		return rc;
	N(x).a = a;
	for (link = &N(elem).ops; *link >= 0; link = &N(*link).next)
		;
	*link = x;
	*out = x;
	return TT_OK;
}

/* "(" element "," element ","? element? ")" */
static int op_euclid_args(mp *p, int elem)
{
	int args[3] = { -1, -1, -1 }, x, rc;

	p->pos++;
	for (int i = 0; i < 3; i++) {
		ws(p);
		args[i] = element(p);
		if (args[i] == NOMATCH && i == 2)
			break;
		if (args[i] == NOMATCH)
			return fail_here(p, "a euclid argument");
		if (args[i] < 0)
			return args[i];
		ws(p);
		if (i == 0 && !peek_is(p, ','))
			return fail_here(p, "','");
		if (peek_is(p, ',') && i < 2)
			p->pos++;
	}
	ws(p);
	if (!peek_is(p, ')'))
		return fail_here(p, "')'");
	p->pos++;
	if ((rc = add_op(p, elem, OP_EUCLID, args[0], &x)) < 0)
		return rc;
	N(x).b = args[1];
	N(x).c = args[2];
	return TT_OK;
}

/* Euclid's parentheses nest like brackets: a(b(c,1),2) recurses. */
static int op_euclid(mp *p, int elem)
{
	int rc = enter(p);

	if (rc < 0)
		return rc;
	rc = op_euclid_args(p, elem);
	p->depth--;
	return rc;
}

static int op_replicate(mp *p, int elem)
{
	double amount;
	int has = number(p, &amount), x, rc, *link;

	N(elem).reps += (has ? amount : 2) - 1;
	for (link = &N(elem).ops; *link >= 0;) {
		if (N(*link).kind == OP_REPL)
			*link = N(*link).next;
		else
			link = &N(*link).next;
	}
	if ((rc = add_op(p, elem, OP_REPL, -1, &x)) < 0)
		return rc;
	N(x).num = N(elem).reps;
	N(elem).num = N(elem).reps;
	return TT_OK;
}

/* One op after an element; NOMATCH when none applies. */
static int op(mp *p, int elem)
{
	size_t save = p->pos;
	int x, rc, arg;
	double amount;
	char c;

	ws(p);
	if (peek_is(p, '@') || peek_is(p, '_')) {
		p->pos++;
		N(elem).num += (number(p, &amount) ? amount : 2) - 1;
		return TT_OK;
	}
	if (peek_is(p, '!')) {
		p->pos++;
		return op_replicate(p, elem);
	}
	p->pos = save;
	if (p->pos >= p->len)
		return NOMATCH;
	c = p->s[p->pos];
	if (c == '(')
		return op_euclid(p, elem);
	if (c == '?') {
		p->pos++;
		if ((rc = add_op(p, elem, OP_DEGRADE, -1, &x)) < 0)
			return rc;
		N(x).has_num = number(p, &N(x).num);
		return TT_OK;
	}
	if (c == '/' || c == '*' || c == ':' ||
	    (c == '.' && p->pos + 1 < p->len && p->s[p->pos + 1] == '.')) {
		p->pos += c == '.' ? 2 : 1;
		arg = slice(p);
		if (arg == NOMATCH && c == '.') {
			p->pos = save; /* ".." without a slice is a word */
			return NOMATCH;
		}
		if (arg == NOMATCH)
			return fail_here(p, "a step");
		if (arg < 0)
			return arg;
		return add_op(p, elem, c == '/' ? OP_SLOW : c == '*' ? OP_FAST :
				  c == ':' ? OP_TAIL : OP_RANGE, arg, &x);
	}
	return NOMATCH;
}

static int element(mp *p)
{
	int s, x, rc;

	s = slice(p);
	if (s < 0)
		return s;
	if ((rc = new_node(p, MK_ELEM, &x)) < 0)
		return rc;
	N(x).a = s;
	N(x).num = 1;
	N(x).reps = 1;
	N(x).at = N(s).at;
	while ((rc = op(p, x)) != NOMATCH)
		if (rc < 0)
			return rc;
	for (int o = N(x).ops; o >= 0; o = N(o).next)
		if (N(o).kind == OP_DEGRADE)
			N(o).seed = p->seed++;
	return x;
}

static int build_u16(mini_ast *a)
{
	uint32_t units = 0;

	a->u16 = malloc((a->len + 1) * sizeof *a->u16);
	if (!a->u16)
		return TT_ENOMEM;
	for (size_t i = 0; i < a->len; i++) {
		unsigned char c = (unsigned char)a->s[i];
		a->u16[i] = units;
		if ((c & 0xC0) != 0x80)
			units += c >= 0xF0 ? 2 : 1;
	}
	a->u16[a->len] = units;
	return TT_OK;
}

int mini_parse(const char *s, size_t len, mini_ast **out, mini_err *err)
{
	mini_ast *a = calloc(1, sizeof *a);
	mp p = { .a = a, .s = s, .len = len, .err = err };
	int rc;

	err->at = 0;
	err->message[0] = '\0';
	if (!a)
		return TT_ENOMEM;
	a->s = malloc(len + 1);
	if (!a->s) {
		rc = TT_ENOMEM;
		goto out;
	}
	memcpy(a->s, s, len);
	a->s[len] = '\0';
	a->len = len;
	if ((rc = build_u16(a)) < 0)
		goto out;
	p.s = a->s;
	ws(&p);
	rc = choice(&p);
	if (rc == NOMATCH) {
		rc = fail_here(&p, "a step");
		goto out;
	}
	if (rc < 0)
		goto out;
	a->root = rc;
	ws(&p);
	if (p.pos < len) {
		rc = fail_here(&p, "a step, an operator or the end of the string");
		goto out;
	}
	*out = a;
	return TT_OK;
out:
	mini_free(a);
	return rc;
}

void mini_free(mini_ast *ast)
{
	if (!ast)
		return;
	free(ast->v);
	free(ast->s);
	free(ast->u16);
	free(ast);
}

size_t mini_leaf_count(const mini_ast *ast)
{
	size_t n = 0;
	for (int i = 0; i < ast->n; i++)
		n += ast->v[i].kind == MK_ATOM;
	return n;
}


/* ---- building ---- */

typedef struct bctx {
	const mini_ast *a;
	pat_pool *pool;
	uint32_t quote;
	mini_err *err;
	int depth;
} bctx;

static int build(bctx *b, int i, pat **out);

#define BN(i) (b->a->v[(i)])

static int bfail(bctx *b, int i, int rc)
{
	const char *why = pat_pool_error(b->pool);
	b->err->at = BN(i).at;
	snprintf(b->err->message, sizeof b->err->message, "%s",
		 why && *why ? why : tt_strerror(rc));
	return rc;
}

static bool word_is(const mini_ast *a, const mnode *n, const char *w)
{
	size_t l = strlen(w);
	return n->t1 - n->t0 == l && memcmp(a->s + n->t0, w, l) == 0;
}

static tt_loc atom_loc(const bctx *b, const mnode *n)
{
	uint32_t lead = 0, trail = 0;
	tt_loc loc;

	for (uint32_t k = n->w0; k < n->t0; k++)
		lead += b->a->s[k] == ' ';
	for (uint32_t k = n->t1; k < n->w1; k++)
		trail += b->a->s[k] == ' ';
	loc.start = b->quote + 1 + b->a->u16[n->w0] + lead;
	loc.end = b->quote + 1 + b->a->u16[n->w1] - trail;
	return loc;
}

static int build_atom(bctx *b, int i, pat **out)
{
	const mnode *n = &BN(i);
	tt_loc loc;
	double v;
	const char *s;

	if (word_is(b->a, n, "~") || word_is(b->a, n, "-"))
		return pat_silence(b->pool, out);
	loc = atom_loc(b, n);
	if (mini_word_number(b->a->s + n->t0, n->t1 - n->t0, &v))
		return pat_num(b->pool, v, &loc, out);
	s = pat_pool_strdup(b->pool, b->a->s + n->t0, n->t1 - n->t0);
	if (!s)
		return TT_ENOMEM;
	return pat_str(b->pool, s, &loc, out);
}

/* The children of a group node, built, in a new array (caller frees). */
static int build_kids(bctx *b, int i, pat ***out)
{
	pat **ps = calloc((size_t)BN(i).n_kids + 1, sizeof *ps);
	int k = 0, rc;

	if (!ps)
		return TT_ENOMEM;
	for (int c = BN(i).first; c >= 0; c = BN(c).next, k++) {
		if ((rc = build(b, c, &ps[k])) < 0) {
			free(ps);
			return rc;
		}
	}
	*out = ps;
	return TT_OK;
}

static int apply_op(bctx *b, int o, pat *p, pat **out)
{
	const mnode *n = &BN(o);
	pat *x = NULL, *y = NULL, *z = NULL;
	tt_rat r;
	int rc;

	if (n->a >= 0 && (rc = build(b, n->a, &x)) < 0)
		return rc;
	switch (n->kind) {
	case OP_FAST: return pat_fast(b->pool, p, x, out);
	case OP_SLOW: return pat_slow(b->pool, p, x, out);
	case OP_TAIL: return pat_tail(b->pool, p, x, out);
	case OP_RANGE: return pat_range_seq(b->pool, p, x, out);
	case OP_DEGRADE:
		return pat_degrade_seed(b->pool, p, n->has_num ? n->num : 0.5,
					n->seed, out);
	case OP_REPL:
		if ((rc = rat_from_double(n->num, 1000000, &r)) < 0)
			return rc;
		if (r.n <= 0)
			return TT_EINVAL;
		return pat_replicate(b->pool, p, r, out);
	case OP_EUCLID:
		if ((rc = build(b, n->b, &y)) < 0)
			return rc;
		if (n->c < 0)
			return pat_euclid(b->pool, p, x, y, out);
		if ((rc = build(b, n->c, &z)) < 0)
			return rc;
		return pat_euclid_rot(b->pool, p, x, y, z, out);
	default:
		return TT_EINVAL;
	}
}

static int build_elem_ops(bctx *b, int e, pat **out)
{
	pat *p;
	int rc = build(b, BN(e).a, &p);

	for (int o = BN(e).ops; rc >= 0 && o >= 0; o = BN(o).next) {
		rc = apply_op(b, o, p, &p);
		if (rc < 0)
			return bfail(b, o, rc);
	}
	*out = p;
	return rc;
}

/* Sum of a sequence's weights (Strudel's __weight). */
static double seq_weight(const bctx *b, int seq)
{
	double w = 0;
	for (int e = BN(seq).first; e >= 0; e = BN(e).next)
		w += BN(e).num != 0 ? BN(e).num : 1;
	return w;
}

static int build_seq(bctx *b, int i, pat **out)
{
	int n = BN(i).n_kids, k = 0, rc = TT_OK;
	pat **ps = calloc((size_t)n, sizeof *ps);
	tt_rat *ws = calloc((size_t)n, sizeof *ws);
	bool weighted = false;

	if (!ps || !ws) {
		rc = TT_ENOMEM;
		goto out;
	}
	for (int e = BN(i).first; e >= 0; e = BN(e).next, k++) {
		double w = BN(e).num != 0 ? BN(e).num : 1;
		weighted |= BN(e).num != 0;
		if ((rc = build_elem_ops(b, e, &ps[k])) < 0)
			goto out;
		if (w < 0 || rat_from_double(w, 1000000, &ws[k]) < 0 || ws[k].n <= 0) {
			b->err->at = BN(e).at;
			snprintf(b->err->message, sizeof b->err->message,
				 "a weight must be positive");
			rc = TT_EINVAL;
			goto out;
		}
	}
	/* Strudel builds every sequence with timeCat, even of one element, so
	 * a whole string is never a plain value (see pat_timecat). */
	if (n == 1 || weighted)
		rc = pat_timecat(b->pool, ws, ps, (size_t)n, out);
	else
		rc = pat_fastcat(b->pool, ps, (size_t)n, out);
out:
	free(ps);
	free(ws);
	return rc;
}

/* {a b, c d e}%n: each sequence fast(steps / its weight). */
static int poly_factor(bctx *b, int i, int seq, pat **out)
{
	double w = seq_weight(b, seq), v;
	int steps = BN(i).a, rc;
	pat *sp, *wp;

	if (steps < 0)
		return pat_num(b->pool, seq_weight(b, BN(i).first) / w, NULL, out);
	if (BN(steps).kind == MK_ATOM &&
	    mini_word_number(b->a->s + BN(steps).t0,
			     BN(steps).t1 - BN(steps).t0, &v)) {
		tt_loc loc = atom_loc(b, &BN(steps));
		return pat_num(b->pool, v / w, &loc, out);
	}
	if ((rc = build(b, steps, &sp)) < 0 ||
	    (rc = pat_num(b->pool, w, NULL, &wp)) < 0)
		return rc;
	return pat_op(b->pool, PAT_OP_DIV, PAT_HOW_IN, sp, wp, out);
}

static int build_poly(bctx *b, int i, pat **out)
{
	pat **ps = NULL;
	int k = 0, rc;

	if ((rc = build_kids(b, i, &ps)) < 0)
		return rc;
	for (int c = BN(i).first; c >= 0; c = BN(c).next, k++) {
		pat *f;
		if (BN(i).kind == MK_POLY)
			rc = poly_factor(b, i, c, &f);
		else
			rc = pat_num(b->pool, seq_weight(b, c), NULL, &f);
		if (rc < 0)
			break;
		rc = BN(i).kind == MK_POLY ? pat_fast(b->pool, ps[k], f, &ps[k])
					   : pat_slow(b->pool, ps[k], f, &ps[k]);
		if (rc < 0)
			break;
	}
	if (rc >= 0)
		rc = k == 1 ? (*out = ps[0], TT_OK)
			    : pat_stack(b->pool, ps, (size_t)k, out);
	free(ps);
	return rc;
}

static int build_group(bctx *b, int i, pat **out)
{
	pat **ps = NULL;
	size_t n = (size_t)BN(i).n_kids;
	int rc;

	if ((rc = build_kids(b, i, &ps)) < 0)
		return rc;
	switch (BN(i).kind) {
	case MK_STACK: rc = pat_stack(b->pool, ps, n, out); break;
	case MK_FEET: rc = pat_fastcat(b->pool, ps, n, out); break;
	default: rc = pat_randcat_seed(b->pool, ps, n, BN(i).seed, out); break;
	}
	free(ps);
	return rc;
}

static int build(bctx *b, int i, pat **out)
{
	int rc;

	/* the parser bounded the nesting already; this only guards the
	 * C stack should that ever change (a few build levels per bracket) */
	if (++b->depth > 8 * TT_MAX_NESTING) {
		b->err->at = BN(i).at;
		snprintf(b->err->message, sizeof b->err->message,
			 "nested deeper than %d levels", 8 * TT_MAX_NESTING);
		return TT_ELIMIT;
	}
	switch (BN(i).kind) {
	case MK_ATOM: rc = build_atom(b, i, out); break;
	case MK_SEQ: rc = build_seq(b, i, out); break;
	case MK_STACK:
	case MK_RAND:
	case MK_FEET: rc = build_group(b, i, out); break;
	case MK_POLY:
	case MK_SLOWPOLY: rc = build_poly(b, i, out); break;
	case MK_ELEM: rc = build(b, BN(i).a, out); break;
	default: rc = TT_EINVAL; break;
	}
	b->depth--;
	if (rc < 0 && b->err->message[0] == '\0')
		return bfail(b, i, rc);
	return rc;
}

int mini_build(const mini_ast *ast, pat_pool *pool, uint32_t quote, pat **out,
	       mini_err *err)
{
	bctx b = { .a = ast, .pool = pool, .quote = quote, .err = err };

	err->at = 0;
	err->message[0] = '\0';
	return build(&b, ast->root, out);
}

int mini_compile(pat_pool *pool, const char *s, size_t len, uint32_t quote,
		 pat **out, mini_err *err)
{
	mini_ast *ast;
	int rc = mini_parse(s, len, &ast, err);

	if (rc < 0)
		return rc;
	rc = mini_build(ast, pool, quote, out, err);
	mini_free(ast);
	return rc;
}

static bool all_digits(const char *s, size_t len, int base)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0'
		      : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
		      : 99;
		if (v >= base)
			return false;
	}
	return true;
}

bool mini_word_number(const char *s, size_t len, double *out)
{
	char tmp[64];
	size_t i = 0, digits = 0;

	if (len == 0 || len >= sizeof tmp)
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (len > 2 && tmp[0] == '0' && strchr("xXoObB", tmp[1])) {
		int base = (tmp[1] | 0x20) == 'x' ? 16 : (tmp[1] | 0x20) == 'o' ? 8 : 2;
		if (!all_digits(tmp + 2, len - 2, base))
			return false;
		*out = (double)strtoull(tmp + 2, NULL, base);
		return true;
	}
	if (tmp[i] == '-' || tmp[i] == '+')
		i++;
	if (strcmp(tmp + i, "Infinity") == 0) {
		*out = tmp[0] == '-' ? -INFINITY : INFINITY;
		return true;
	}
	for (; tmp[i] >= '0' && tmp[i] <= '9'; i++)
		digits++;
	if (tmp[i] == '.')
		for (i++; tmp[i] >= '0' && tmp[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return false;
	if (tmp[i] == 'e' || tmp[i] == 'E') {
		size_t j = i + 1;
		if (tmp[j] == '+' || tmp[j] == '-')
			j++;
		if (!(tmp[j] >= '0' && tmp[j] <= '9'))
			return false;
		while (tmp[j] >= '0' && tmp[j] <= '9')
			j++;
		i = j;
	}
	if (tmp[i] != '\0')
		return false;
	*out = strtod(tmp, NULL);
	return true;
}
