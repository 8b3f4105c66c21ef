/*
 * collab/ot.c: text operations, their application, composition and
 * transformation.
 *
 * Design note. An operation is an array of components plus one byte buffer
 * holding the inserted texts back to back. The builders are the only code
 * that appends to an operation, so canonical form (see ot.h) is kept in one
 * place: compose and transform just stream components into a builder.
 * Compose and transform walk their inputs with a cursor that can take part
 * of a component; cutting an insert by a number of UTF-16 units maps the cut
 * to a byte offset inside its text.
 *
 * Invariants:
 *  1. Every op built here is canonical (ot.h rules 1-3).
 *  2. base_len, target_len and text_len never exceed TT_MAX_DOC_BYTES and
 *     ncomps never exceeds TT_MAX_OP_COMPONENTS, so no sum overflows.
 *  3. Every insert's text is valid UTF-8 without U+0000, and its n is its
 *     UTF-16 length.
 *  4. ot_text: s[len] == 0, units == utf_units(s, len), mark is a character
 *     boundary of s; none of this changes when ot_text_apply fails.
 */
#include "collab/ot.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "collab/collab_int.h"
#include "common/limits.h"

int collab__fail(int code, char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return code;
}

void ot_op_init(ot_op *op)
{
	memset(op, 0, sizeof *op);
}

void ot_op_fini(ot_op *op)
{
	free(op->comps);
	free(op->text);
	memset(op, 0, sizeof *op);
}

void ot_op_clear(ot_op *op)
{
	op->ncomps = 0;
	op->text_len = 0;
	op->base_len = 0;
	op->target_len = 0;
}

static int reserve_comps(ot_op *op, size_t need)
{
	ot_comp *c;
	size_t cap;

	if (need <= op->comps_cap)
		return TT_OK;
	if (need > TT_MAX_OP_COMPONENTS)
		return TT_ELIMIT;
	cap = op->comps_cap ? op->comps_cap * 2 : 4;
	if (cap < need)
		cap = need;
	if (cap > TT_MAX_OP_COMPONENTS)
		cap = TT_MAX_OP_COMPONENTS;
	c = realloc(op->comps, cap * sizeof *c);
	if (!c)
		return TT_ENOMEM;
	op->comps = c;
	op->comps_cap = cap;
	return TT_OK;
}

static int reserve_text(ot_op *op, size_t need)
{
	char *t;
	size_t cap;

	if (need <= op->text_cap)
		return TT_OK;
	cap = op->text_cap ? op->text_cap * 2 : 16;
	if (cap < need)
		cap = need;
	t = realloc(op->text, cap);
	if (!t)
		return TT_ENOMEM;
	op->text = t;
	op->text_cap = cap;
	return TT_OK;
}

/* Appends a retain or a delete (never an insert). */
static int push_span(ot_op *op, ot_kind kind, size_t n)
{
	ot_comp *last;
	int rc;

	if (n == 0)
		return TT_OK;
	if (n > TT_MAX_DOC_BYTES || op->base_len + n > TT_MAX_DOC_BYTES)
		return TT_ELIMIT;
	if (kind == OT_RETAIN && op->target_len + n > TT_MAX_DOC_BYTES)
		return TT_ELIMIT;
	last = op->ncomps ? &op->comps[op->ncomps - 1] : NULL;
	if (last && last->kind == kind) {
		last->n += n;
	} else {
		rc = reserve_comps(op, op->ncomps + 1);
		if (rc < 0)
			return rc;
		op->comps[op->ncomps++] = (ot_comp){ kind, n, 0, 0 };
	}
	op->base_len += n;
	if (kind == OT_RETAIN)
		op->target_len += n;
	return TT_OK;
}

int ot_op_retain(ot_op *op, size_t n)
{
	return push_span(op, OT_RETAIN, n);
}

int ot_op_delete(ot_op *op, size_t n)
{
	return push_span(op, OT_DELETE, n);
}

/* Appends an insert of already-validated text of the given units. Its text
 * always goes to the end of op->text: no delete carries text, so the
 * insert it merges with or lands before is the last text in the buffer. */
static int push_insert(ot_op *op, const char *s, size_t bytes, size_t units)
{
	ot_comp *c = op->comps;
	size_t k = op->ncomps;
	int rc;

	if (bytes == 0)
		return TT_OK;
	if (bytes > TT_MAX_DOC_BYTES || op->text_len + bytes > TT_MAX_DOC_BYTES
	    || op->target_len + units > TT_MAX_DOC_BYTES)
		return TT_ELIMIT;
	if (k && c[k - 1].kind == OT_DELETE)
		k--;                /* rule 3: the insert goes before it */
	if (!(k && c[k - 1].kind == OT_INSERT)) {
		rc = reserve_comps(op, op->ncomps + 1);
		if (rc < 0)
			return rc;
	}
	rc = reserve_text(op, op->text_len + bytes);
	if (rc < 0)
		return rc;
	c = op->comps;
	memcpy(op->text + op->text_len, s, bytes);
	if (k && c[k - 1].kind == OT_INSERT) {
		c[k - 1].n += units;
		c[k - 1].bytes += bytes;
	} else {
		if (k < op->ncomps)
			c[k + 1] = c[k];    /* move the delete after */
		c[k] = (ot_comp){ OT_INSERT, units, op->text_len, bytes };
		op->ncomps++;
	}
	op->text_len += bytes;
	op->target_len += units;
	return TT_OK;
}

int ot_op_insert(ot_op *op, const char *text, size_t bytes)
{
	size_t units;

	if (bytes > TT_MAX_DOC_BYTES)
		return TT_ELIMIT;
	if (utf_validate(text, bytes, 0, NULL, &units) < 0)
		return TT_EINVAL;
	return push_insert(op, text, bytes, units);
}

int ot_op_copy(ot_op *dst, const ot_op *src)
{
	ot_op_clear(dst);
	if (reserve_comps(dst, src->ncomps) < 0 ||
	    reserve_text(dst, src->text_len) < 0)
		return TT_ENOMEM;
	if (src->ncomps)
		memcpy(dst->comps, src->comps, src->ncomps * sizeof *src->comps);
	if (src->text_len)
		memcpy(dst->text, src->text, src->text_len);
	dst->ncomps = src->ncomps;
	dst->text_len = src->text_len;
	dst->base_len = src->base_len;
	dst->target_len = src->target_len;
	return TT_OK;
}

int ot_op_equal(const ot_op *a, const ot_op *b)
{
	if (a->ncomps != b->ncomps || a->text_len != b->text_len ||
	    a->base_len != b->base_len || a->target_len != b->target_len)
		return 0;
	for (size_t i = 0; i < a->ncomps; i++)
		if (a->comps[i].kind != b->comps[i].kind ||
		    a->comps[i].n != b->comps[i].n)
			return 0;
	return a->text_len == 0 || memcmp(a->text, b->text, a->text_len) == 0;
}

int ot_op_is_noop(const ot_op *op)
{
	return op->ncomps == 0 ||
	       (op->ncomps == 1 && op->comps[0].kind == OT_RETAIN);
}

/* ---- apply ---- */

/* Maps every component start to a byte offset of text (offs[i]) and checks
 * the op against the text; offs[ncomps] is the end. Returns the result's
 * byte length in *new_len. from may be NULL. */
static int map_op(const char *s, size_t len, size_t units, const ot_op *op,
		  const utf_mark *from, size_t *offs, size_t *new_len,
		  char *err, size_t errsz)
{
	utf_mark at = { 0, 0 };
	size_t out = len;
	int rc;

	if (op->base_len != units)
		return collab__fail(TT_EINVAL, err, errsz,
			    "operation's base length %zu differs from the "
			    "document's length %zu (UTF-16 units)",
			    op->base_len, units);
	for (size_t i = 0; i < op->ncomps; i++) {
		const ot_comp *c = &op->comps[i];
		offs[i] = at.byte;
		if (c->kind == OT_INSERT) {
			out += c->bytes;
			continue;
		}
		if (i + 1 == op->ncomps) {
			at.byte = len;  /* base_len == units: ends at the end */
			at.unit = units;
		} else {
			size_t b;
			rc = utf_seek(s, len, units, i ? &at : from,
				      at.unit + c->n, &b);
			if (rc < 0)
				return collab__fail(rc, err, errsz,
					    "component %zu ends at position %zu, "
					    "inside a surrogate pair", i,
					    at.unit + c->n);
			at.byte = b;
			at.unit += c->n;
		}
		if (c->kind == OT_DELETE)
			out -= at.byte - offs[i];
	}
	offs[op->ncomps] = at.byte;
	if (out > TT_MAX_DOC_BYTES)
		return collab__fail(TT_ELIMIT, err, errsz,
			    "result of %zu bytes exceeds TT_MAX_DOC_BYTES (%d)",
			    out, TT_MAX_DOC_BYTES);
	*new_len = out;
	return TT_OK;
}

/* Writes the result of op on s into dst (room for the result). */
static void build_into(char *dst, const char *s, const ot_op *op,
		       const size_t *offs)
{
	size_t w = 0;

	for (size_t i = 0; i < op->ncomps; i++) {
		const ot_comp *c = &op->comps[i];
		if (c->kind == OT_INSERT) {
			memcpy(dst + w, op->text + c->off, c->bytes);
			w += c->bytes;
		} else if (c->kind == OT_RETAIN) {
			memcpy(dst + w, s + offs[i], offs[i + 1] - offs[i]);
			w += offs[i + 1] - offs[i];
		}
	}
	dst[w] = '\0';
}

int ot_apply(const char *text, size_t len, const ot_op *op, char **out,
	     size_t *out_len, char *err, size_t errsz)
{
	size_t *offs = malloc((op->ncomps + 1) * sizeof *offs);
	size_t new_len = 0;
	char *dst = NULL;
	int rc;

	if (!offs) {
		rc = collab__fail(TT_ENOMEM, err, errsz, "out of memory");
		goto out;
	}
	rc = map_op(text, len, utf_units(text, len), op, NULL, offs, &new_len,
		    err, errsz);
	if (rc < 0)
		goto out;
	dst = malloc(new_len + 1);
	if (!dst) {
		rc = collab__fail(TT_ENOMEM, err, errsz, "out of memory");
		goto out;
	}
	build_into(dst, text, op, offs);
	*out = dst;
	*out_len = new_len;
out:
	free(offs);
	return rc;
}

/* ---- ot_text: in-place application ---- */

int ot_text_init(ot_text *t, const char *text, size_t len, char *err,
		 size_t errsz)
{
	size_t bad = 0, units = 0;

	memset(t, 0, sizeof *t);
	if (len > TT_MAX_DOC_BYTES)
		return collab__fail(TT_ELIMIT, err, errsz,
			    "text of %zu bytes exceeds TT_MAX_DOC_BYTES (%d)",
			    len, TT_MAX_DOC_BYTES);
	if (utf_validate(text, len, 0, &bad, &units) < 0)
		return collab__fail(TT_EINVAL, err, errsz,
			    "text is not valid UTF-8 (or holds U+0000) at "
			    "byte %zu", bad);
	t->cap = len + 64;
	t->s = malloc(t->cap);
	if (!t->s)
		return collab__fail(TT_ENOMEM, err, errsz, "out of memory");
	if (len)
		memcpy(t->s, text, len);
	t->s[len] = '\0';
	t->len = len;
	t->units = units;
	return TT_OK;
}

void ot_text_fini(ot_text *t)
{
	free(t->s);
	free(t->offs);
	memset(t, 0, sizeof *t);
}

/* Applies a mapped op by moving the tail once per changed component: cheap
 * for the usual edit of one or two components on a short text. */
static void edit_in_place(ot_text *t, const ot_op *op, const size_t *offs)
{
	size_t delta_b = 0, delta_u = 0, u = 0; /* deltas modulo size_t */

	for (size_t i = 0; i < op->ncomps; i++) {
		const ot_comp *c = &op->comps[i];
		size_t at = offs[i] + delta_b;
		if (c->kind == OT_RETAIN) {
			u += c->n;
			continue;
		}
		if (c->kind == OT_INSERT) {
			memmove(t->s + at + c->bytes, t->s + at, t->len - at);
			memcpy(t->s + at, op->text + c->off, c->bytes);
			t->len += c->bytes;
			delta_b += c->bytes;
			delta_u += c->n;
		} else {
			size_t d = offs[i + 1] - offs[i];
			memmove(t->s + at, t->s + at + d, t->len - at - d);
			t->len -= d;
			delta_b -= d;
			delta_u -= c->n;
			u += c->n;
		}
		t->mark.byte = offs[i + 1] + delta_b;
		t->mark.unit = u + delta_u;
	}
	t->s[t->len] = '\0';
}

int ot_text_apply(ot_text *t, const ot_op *op, char *err, size_t errsz)
{
	size_t new_len = 0, edits = 0;
	int rc;

	if (op->ncomps + 1 > t->offs_cap) {
		size_t cap = op->ncomps + 16;
		size_t *o = realloc(t->offs, cap * sizeof *o);
		if (!o)
			return collab__fail(TT_ENOMEM, err, errsz, "out of memory");
		t->offs = o;
		t->offs_cap = cap;
	}
	rc = map_op(t->s, t->len, t->units, op, &t->mark, t->offs, &new_len,
		    err, errsz);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < op->ncomps; i++)
		edits += op->comps[i].kind != OT_RETAIN;
	/* In place needs room for every insert before any delete. */
	if (edits <= 8 && t->len + op->text_len < t->cap) {
		edit_in_place(t, op, t->offs);
	} else {
		size_t cap = new_len + new_len / 2 + 64;
		char *dst = malloc(cap);
		if (!dst)
			return collab__fail(TT_ENOMEM, err, errsz, "out of memory");
		build_into(dst, t->s, op, t->offs);
		free(t->s);
		t->s = dst;
		t->cap = cap;
		t->len = new_len;
		t->mark.byte = 0;
		t->mark.unit = 0;
	}
	t->units = op->target_len;
	return TT_OK;
}

/* ---- compose and transform ---- */

/* Walks an op's components, able to take part of one. */
typedef struct cursor {
	const ot_op *op;
	size_t i;      /* current component */
	size_t used;   /* units of it already taken */
	size_t used_b; /* bytes of it already taken (inserts) */
} cursor;

static const ot_comp *cur_comp(const cursor *c)
{
	return c->i < c->op->ncomps ? &c->op->comps[c->i] : NULL;
}

static size_t cur_left(const cursor *c)
{
	return c->op->comps[c->i].n - c->used;
}

/* Takes k units of the current component; for an insert, returns its text
 * piece. TT_EINVAL when k units cut an astral character of the insert. */
static int cur_take(cursor *c, size_t k, const char **s, size_t *bytes)
{
	const ot_comp *comp = &c->op->comps[c->i];
	size_t b = 0;

	if (comp->kind == OT_INSERT) {
		const char *piece = c->op->text + comp->off + c->used_b;
		size_t left_b = comp->bytes - c->used_b;
		if (k == cur_left(c))
			b = left_b;
		else if (utf_seek(piece, left_b, cur_left(c), NULL, k, &b) < 0)
			return TT_EINVAL;
		*s = piece;
		*bytes = b;
	}
	c->used += k;
	c->used_b += b;
	if (c->used == comp->n) {
		c->i++;
		c->used = 0;
		c->used_b = 0;
	}
	return TT_OK;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* One step of compose where a is retain/insert and b is retain/delete. */
static int compose_step(cursor *ca, cursor *cb, ot_op *out)
{
	ot_kind ka = cur_comp(ca)->kind, kb = cur_comp(cb)->kind;
	size_t k = min_size(cur_left(ca), cur_left(cb));
	const char *s = NULL;
	size_t bytes = 0;
	int rc;

	rc = cur_take(ca, k, &s, &bytes);
	if (rc == TT_OK)
		rc = cur_take(cb, k, NULL, NULL);
	if (rc < 0)
		return rc;
	if (ka == OT_RETAIN && kb == OT_RETAIN)
		return ot_op_retain(out, k);
	if (ka == OT_RETAIN && kb == OT_DELETE)
		return ot_op_delete(out, k);
	if (ka == OT_INSERT && kb == OT_RETAIN)
		return push_insert(out, s, bytes, k);
	return TT_OK;   /* a inserted what b deletes: both vanish */
}

int ot_compose(const ot_op *a, const ot_op *b, ot_op *out, char *err,
	       size_t errsz)
{
	cursor ca = { a, 0, 0, 0 }, cb = { b, 0, 0, 0 };
	int rc = TT_OK;

	ot_op_clear(out);
	if (a->target_len != b->base_len)
		return collab__fail(TT_EINVAL, err, errsz,
			    "cannot compose: first operation's target length "
			    "%zu differs from second's base length %zu",
			    a->target_len, b->base_len);
	while (rc == TT_OK && (cur_comp(&ca) || cur_comp(&cb))) {
		const ot_comp *x = cur_comp(&ca), *y = cur_comp(&cb);
		const char *s = NULL;
		size_t bytes = 0, k;
		if (x && x->kind == OT_DELETE) {
			k = cur_left(&ca);
			cur_take(&ca, k, NULL, NULL);
			rc = ot_op_delete(out, k);
		} else if (y && y->kind == OT_INSERT) {
			k = cur_left(&cb);
			cur_take(&cb, k, &s, &bytes);
			rc = push_insert(out, s, bytes, k);
		} else {
			rc = compose_step(&ca, &cb, out);
		}
	}
	if (rc == TT_EINVAL)
		return collab__fail(rc, err, errsz, "cannot compose: the second "
			    "operation splits a surrogate pair the first "
			    "inserted");
	if (rc < 0)
		return collab__fail(rc, err, errsz, "cannot compose: %s",
			    tt_strerror(rc));
	return TT_OK;
}

/* Builders that accept a NULL op (a transform output nobody wants). */
static int opt_retain(ot_op *op, size_t n)
{
	return op ? ot_op_retain(op, n) : TT_OK;
}

static int opt_delete(ot_op *op, size_t n)
{
	return op ? ot_op_delete(op, n) : TT_OK;
}

static int opt_insert(ot_op *op, const ot_op *src, const ot_comp *c)
{
	return op ? push_insert(op, src->text + c->off, c->bytes, c->n) : TT_OK;
}

/* One step of transform where neither side inserts. */
static int transform_step(cursor *ca, cursor *cb, ot_op *ap, ot_op *bp)
{
	ot_kind ka = cur_comp(ca)->kind, kb = cur_comp(cb)->kind;
	size_t k = min_size(cur_left(ca), cur_left(cb));

	cur_take(ca, k, NULL, NULL);
	cur_take(cb, k, NULL, NULL);
	if (ka == OT_RETAIN && kb == OT_RETAIN) {
		int rc = opt_retain(ap, k);
		return rc < 0 ? rc : opt_retain(bp, k);
	}
	if (ka == OT_DELETE && kb == OT_RETAIN)
		return opt_delete(ap, k);
	if (ka == OT_RETAIN && kb == OT_DELETE)
		return opt_delete(bp, k);
	return TT_OK;   /* both deleted the same text */
}

int ot_transform(const ot_op *a, const ot_op *b, ot_op *a_prime,
		 ot_op *b_prime, char *err, size_t errsz)
{
	cursor ca = { a, 0, 0, 0 }, cb = { b, 0, 0, 0 };
	int rc = TT_OK;

	if (a_prime)
		ot_op_clear(a_prime);
	if (b_prime)
		ot_op_clear(b_prime);
	if (a->base_len != b->base_len)
		return collab__fail(TT_EINVAL, err, errsz,
			    "cannot transform: base lengths %zu and %zu differ",
			    a->base_len, b->base_len);
	while (rc == TT_OK && (cur_comp(&ca) || cur_comp(&cb))) {
		const ot_comp *x = cur_comp(&ca), *y = cur_comp(&cb);
		if (x && x->kind == OT_INSERT) {      /* a first at a tie */
			rc = opt_insert(a_prime, a, x);
			if (rc == TT_OK)
				rc = opt_retain(b_prime, x->n);
			ca.i++;
		} else if (y && y->kind == OT_INSERT) {
			rc = opt_retain(a_prime, y->n);
			if (rc == TT_OK)
				rc = opt_insert(b_prime, b, y);
			cb.i++;
		} else {
			rc = transform_step(&ca, &cb, a_prime, b_prime);
		}
	}
	if (rc < 0)
		return collab__fail(rc, err, errsz, "cannot transform: %s",
			    tt_strerror(rc));
	return TT_OK;
}

size_t ot_transform_index(size_t pos, const ot_op *op, int is_own)
{
	size_t at = 0, out = pos;

	for (size_t i = 0; i < op->ncomps && at <= pos; i++) {
		const ot_comp *c = &op->comps[i];
		if (c->kind == OT_RETAIN) {
			at += c->n;
		} else if (c->kind == OT_INSERT) {
			if (at < pos || is_own)
				out += c->n;
		} else {
			if (at < pos)
				out -= min_size(c->n, pos - at);
			at += c->n;
		}
	}
	return out < op->target_len ? out : op->target_len;
}
