/*
 * engine/js_lex.c: the tokenizer of the host language.
 *
 * Design: one pass over the bytes, producing the whole token array. Strings
 * are decoded here ("..." and '...' with JavaScript escapes; `...` kept raw,
 * as Strudel's transpiler passes a template's raw text to the mini-notation
 * parser). Comments and white space only set nl_before on the next token,
 * which the parser needs for automatic semicolon insertion.
 *
 * Invariants:
 *  1. Tokens are in source order and never overlap; the last is JS_T_EOF.
 *  2. Every str is NUL-terminated and owned by the token array.
 *  3. Any input ends in tokens or in one error with a position: there is
 *     no input the lexer loops on (every step consumes at least one byte).
 */
#include "engine/js_lex.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

typedef struct lexer {
	const tt_srcmap *m;
	const char *s;
	size_t len;
	size_t pos;
	js_toks *out;
	size_t cap;
	tt_diag *diag;
} lexer;

/* Longest first, so that "===" wins over "==" and "=". */
static const char *const puncts[] = {
	"===", "!==", "...", "**=", "&&=", "||=", "?\?=",
	"=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "**", "++", "--",
	"+=", "-=", "*=", "/=", "%=",
	"(", ")", "[", "]", "{", "}", ",", ";", ":", ".", "?", "=", "+", "-",
	"*", "/", "%", "<", ">", "!", "~", "&", "|", "^",
};

bool js_tok_is(const js_tok *t, const char *p)
{
	return t->kind == JS_T_PUNCT && strcmp(t->punct, p) == 0;
}

static bool is_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c == '$' || c >= 0x80;
}

static bool is_ident_char(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int push(lexer *lx, js_tok *t)
{
	if (lx->out->n == lx->cap) {
		size_t cap = lx->cap ? lx->cap * 2 : 256;
		js_tok *v = realloc(lx->out->v, cap * sizeof *v);
		if (!v) {
			free(t->str);
			return TT_ENOMEM;
		}
		lx->out->v = v;
		lx->cap = cap;
	}
	lx->out->v[lx->out->n++] = *t;
	return TT_OK;
}

static int fail(lexer *lx, size_t at, const char *what)
{
	srcmap_diag(lx->m, at, lx->diag, "%s", what);
	return TT_ESYNTAX;
}

/* Skips white space and comments; returns whether a line break was seen. */
static int skip_space(lexer *lx, bool *nl)
{
	while (lx->pos < lx->len) {
		const char *s = lx->s + lx->pos;
		if (*s == '\n') {
			*nl = true;
			lx->pos++;
		} else if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\f' ||
			   *s == '\v') {
			lx->pos++;
		} else if ((unsigned char)s[0] == 0xC2 && lx->pos + 1 < lx->len &&
			   (unsigned char)s[1] == 0xA0) {
			lx->pos += 2; /* no-break space */
		} else if (s[0] == '/' && lx->pos + 1 < lx->len && s[1] == '/') {
			while (lx->pos < lx->len && lx->s[lx->pos] != '\n')
				lx->pos++;
		} else if (s[0] == '/' && lx->pos + 1 < lx->len && s[1] == '*') {
			const char *e = memmem(s + 2, lx->len - lx->pos - 2, "*/", 2);
			if (!e)
				return fail(lx, lx->pos, "unterminated comment: expected '*/'");
			if (memchr(s, '\n', (size_t)(e - s)))
				*nl = true;
			lx->pos = (size_t)(e - lx->s) + 2;
		} else {
			break;
		}
	}
	return TT_OK;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Appends code point cp as UTF-8 to buf (room for 4 bytes guaranteed). */
static size_t put_utf8(char *buf, unsigned long cp)
{
	if (cp < 0x80) {
		buf[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		buf[0] = (char)(0xC0 | (cp >> 6));
		buf[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		buf[0] = (char)(0xE0 | (cp >> 12));
		buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		buf[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	buf[0] = (char)(0xF0 | (cp >> 18));
	buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	buf[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decodes the escape at s[*i] (just after the backslash) into buf. */
static int decode_escape(lexer *lx, size_t end, size_t *i, char *buf, size_t *n)
{
	char c = lx->s[*i];
	unsigned long cp = 0;
	int digits = 0;

	(*i)++;
	switch (c) {
	case 'n': buf[(*n)++] = '\n'; return TT_OK;
	case 't': buf[(*n)++] = '\t'; return TT_OK;
	case 'r': buf[(*n)++] = '\r'; return TT_OK;
	case 'b': buf[(*n)++] = '\b'; return TT_OK;
	case 'f': buf[(*n)++] = '\f'; return TT_OK;
	case 'v': buf[(*n)++] = '\v'; return TT_OK;
	case '0': buf[(*n)++] = '\0'; return TT_OK;
	case '\n': return TT_OK; /* line continuation */
	case 'x': digits = 2; break;
	case 'u':
		if (*i < end && lx->s[*i] == '{') {
			(*i)++;
			while (*i < end && lx->s[*i] != '}' && hexval(lx->s[*i]) >= 0 &&
			       cp <= 0x10FFFF)
				cp = cp * 16 + (unsigned long)hexval(lx->s[(*i)++]);
			if (*i >= end || lx->s[*i] != '}' || cp > 0x10FFFF)
				return fail(lx, *i, "bad \\u{...} escape in string");
			(*i)++;
			*n += put_utf8(buf + *n, cp);
			return TT_OK;
		}
		digits = 4;
		break;
	default:
		buf[(*n)++] = c;
		return TT_OK;
	}
	for (int k = 0; k < digits; k++) {
		if (*i >= end || hexval(lx->s[*i]) < 0)
			return fail(lx, *i, "bad escape in string: expected a hex digit");
		cp = cp * 16 + (unsigned long)hexval(lx->s[(*i)++]);
	}
	*n += put_utf8(buf + *n, cp);
	return TT_OK;
}

static int lex_string(lexer *lx, js_tok *t)
{
	char q = lx->s[lx->pos];
	size_t i = lx->pos + 1, n = 0;
	char *buf = malloc(lx->len - lx->pos + 4);
	int rc;

	if (!buf)
		return TT_ENOMEM;
	while (i < lx->len && lx->s[i] != q) {
		if (lx->s[i] == '\n' && q != '`') {
			rc = fail(lx, i, "unterminated string: expected a closing quote");
			goto out;
		}
		if (q == '`' && lx->s[i] == '$' && i + 1 < lx->len && lx->s[i + 1] == '{') {
			rc = fail(lx, i, "template substitutions ${...} are not supported");
			goto out;
		}
		if (lx->s[i] == '\\' && q != '`' && i + 1 < lx->len) {
			i++;
			rc = decode_escape(lx, lx->len, &i, buf, &n);
			if (rc < 0)
				goto out;
			continue;
		}
		if (lx->s[i] == '\\' && q == '`' && i + 1 < lx->len)
			buf[n++] = lx->s[i++]; /* raw: keep the backslash and its char */
		buf[n++] = lx->s[i++];
	}
	if (i >= lx->len) {
		rc = fail(lx, lx->pos, "unterminated string: expected a closing quote");
		goto out;
	}
	buf[n] = '\0';
	t->kind = q == '`' ? JS_T_TEMPLATE : JS_T_STR;
	t->quote = q;
	t->str = buf;
	t->len = n;
	buf = NULL;
	lx->pos = i + 1;
	rc = TT_OK;
out:
	free(buf);
	return rc;
}

static int lex_number(lexer *lx, js_tok *t)
{
	const char *s = lx->s + lx->pos;
	size_t i = 0, avail = lx->len - lx->pos;
	char tmp[128];

	if (avail > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X' || s[1] == 'b' ||
					 s[1] == 'B' || s[1] == 'o' || s[1] == 'O')) {
		int base = (s[1] | 0x20) == 'x' ? 16 : (s[1] | 0x20) == 'b' ? 2 : 8;
		double v = 0;
		i = 2;
		while (i < avail && hexval(s[i]) >= 0 && hexval(s[i]) < base)
			v = v * base + hexval(s[i++]);
		if (i == 2)
			return fail(lx, lx->pos, "malformed number");
		t->num = v;
	} else {
		while (i < avail && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i < avail && s[i] == '.') {
			i++;
			while (i < avail && s[i] >= '0' && s[i] <= '9')
				i++;
		}
		if (i < avail && (s[i] == 'e' || s[i] == 'E')) {
			size_t j = i + 1;
			if (j < avail && (s[j] == '+' || s[j] == '-'))
				j++;
			if (j < avail && s[j] >= '0' && s[j] <= '9') {
				while (j < avail && s[j] >= '0' && s[j] <= '9')
					j++;
				i = j;
			}
		}
		if (i >= sizeof tmp)
			return fail(lx, lx->pos, "number literal too long");
		memcpy(tmp, s, i);
		tmp[i] = '\0';
		t->num = strtod(tmp, NULL);
	}
	if (i < avail && is_ident_char((unsigned char)s[i]))
		return fail(lx, lx->pos + i, "unexpected character after a number");
	t->kind = JS_T_NUM;
	lx->pos += i;
	return TT_OK;
}

static int lex_one(lexer *lx, js_tok *t)
{
	const char *s = lx->s + lx->pos;
	unsigned char c = (unsigned char)*s;

	if (c == '"' || c == '\'' || c == '`')
		return lex_string(lx, t);
	if ((c >= '0' && c <= '9') ||
	    (c == '.' && lx->pos + 1 < lx->len && s[1] >= '0' && s[1] <= '9'))
		return lex_number(lx, t);
	if (is_ident_start(c)) {
		size_t i = lx->pos;
		while (i < lx->len && is_ident_char((unsigned char)lx->s[i]))
			i++;
		t->kind = JS_T_IDENT;
		t->len = i - lx->pos;
		t->str = strndup(s, t->len);
		if (!t->str)
			return TT_ENOMEM;
		lx->pos = i;
		return TT_OK;
	}
	for (size_t k = 0; k < sizeof puncts / sizeof puncts[0]; k++) {
		size_t pl = strlen(puncts[k]);
		if (pl <= lx->len - lx->pos && memcmp(s, puncts[k], pl) == 0) {
			/* "?." followed by a digit is "?" then a number (a?.5:1). */
			if (strcmp(puncts[k], "?.") == 0 && lx->pos + 2 < lx->len &&
			    s[2] >= '0' && s[2] <= '9')
				continue;
			t->kind = JS_T_PUNCT;
			memcpy(t->punct, s, pl);
			t->punct[pl] = '\0';
			lx->pos += pl;
			return TT_OK;
		}
	}
	if (c < 0x20 || c == 0x7F)
		return fail(lx, lx->pos, "unexpected control character");
	srcmap_diag(lx->m, lx->pos, lx->diag, "unexpected character '%c'", c);
	return TT_ESYNTAX;
}

int js_lex(const tt_srcmap *m, js_toks *toks, tt_diag *diag)
{
	lexer lx = { .m = m, .s = m->code, .len = m->len, .out = toks, .diag = diag };
	int rc;

	toks->v = NULL;
	toks->n = 0;
	for (;;) {
		js_tok t;
		bool nl = false;
		memset(&t, 0, sizeof t);
		rc = skip_space(&lx, &nl);
		if (rc < 0)
			goto out;
		t.nl_before = nl;
		t.start = (uint32_t)lx.pos;
		if (lx.pos >= lx.len) {
			t.kind = JS_T_EOF;
			t.end = t.start;
			rc = push(&lx, &t);
			goto out;
		}
		rc = lex_one(&lx, &t);
		if (rc < 0)
			goto out;
		t.end = (uint32_t)lx.pos;
		rc = push(&lx, &t);
		if (rc < 0)
			goto out;
	}
out:
	if (rc < 0)
		js_lex_free(toks);
	return rc;
}

void js_lex_free(js_toks *toks)
{
	for (size_t i = 0; i < toks->n; i++)
		free(toks->v[i].str);
	free(toks->v);
	toks->v = NULL;
	toks->n = 0;
}
