/*
 * tests/collab/oplib.h: helpers shared by the collab tests: a seeded
 * generator of random texts (ASCII, accents, CJK, combining marks, emoji)
 * and of random operations on them, and short ways to build operations.
 */
#ifndef TT_TESTS_COLLAB_OPLIB_H
#define TT_TESTS_COLLAB_OPLIB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/ot.h"
#include "collab/ot_json.h"
#include "common/error.h"

/* xorshift64*: a fixed seed gives the same run everywhere. */
typedef struct rng {
	uint64_t s;
} rng;

__attribute__((unused))
static uint64_t rng_next(rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ULL;
}

/* Uniform-ish in [0, n); n > 0. */
__attribute__((unused))
static size_t rng_below(rng *r, size_t n)
{
	return (size_t)(rng_next(r) >> 11) % n;
}

/* Characters the generators draw from: 1, 2, 3 and 4 UTF-8 bytes, a
 * combining acute accent (U+0301) and two emoji (astral: 2 UTF-16 units). */
static const char *const oplib_chars[] = {
	"a", "b", "x", " ", "\n", "(", "\"", "\xc3\xa9" /* é */,
	"\xe4\xb8\xad" /* 中 */, "\xcc\x81" /* U+0301 */,
	"\xf0\x9f\x98\x80" /* 😀 */, "\xf0\x9f\x8e\xb5" /* 🎵 */,
};

/* Appends n random characters to buf (room for 4 * n + 1 bytes); returns
 * the bytes written and adds their UTF-16 units to *units. */
__attribute__((unused))
static size_t oplib_rand_text(rng *r, char *buf, size_t n, size_t *units)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		const char *c = oplib_chars[rng_below(r, sizeof oplib_chars /
						      sizeof *oplib_chars)];
		size_t len = strlen(c);
		memcpy(buf + w, c, len);
		w += len;
		*units += len == 4 ? 2 : 1;
	}
	buf[w] = '\0';
	return w;
}

/* Bytes and units of the character at s[i]. */
__attribute__((unused))
static size_t oplib_char(const char *s, size_t i, size_t *units)
{
	unsigned char c = (unsigned char)s[i];
	size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
	*units = len == 4 ? 2 : 1;
	return len;
}

/*
 * Builds a random operation on text s[0..len) into op: runs of retained and
 * deleted characters (never splitting a surrogate pair) with random inserts
 * between them. maxrun bounds each run in characters; with maxrun near 3
 * texts keep their length on average, larger values shrink them.
 */
__attribute__((unused))
static void oplib_rand_op(rng *r, const char *s, size_t len, size_t maxrun,
			  ot_op *op)
{
	size_t i = 0;
	char ins[4 * 8 + 1];

	ot_op_clear(op);
	while (i < len || rng_below(r, 3) == 0) {
		unsigned what = (unsigned)rng_below(r, 5);
		if (what == 0 || i >= len) {
			size_t u = 0;
			size_t b = oplib_rand_text(r, ins, 1 + rng_below(r, 4),
						   &u);
			if (ot_op_insert(op, ins, b) < 0)
				abort();
			if (i >= len)
				break;
			continue;
		}
		size_t run = 1 + rng_below(r, maxrun), units = 0;
		while (run-- && i < len) {
			size_t u;
			i += oplib_char(s, i, &u);
			units += u;
		}
		if ((what == 1 ? ot_op_delete(op, units)
			       : ot_op_retain(op, units)) < 0)
			abort();
	}
}

/*
 * Builds a random local edit on s[0..len) into op, as a person typing
 * makes: at a random character boundary, insert a few characters, delete a
 * few, or both (a replacement).
 */
__attribute__((unused))
static void oplib_rand_local_op(rng *r, const char *s, size_t len, ot_op *op)
{
	size_t i = 0, at = 0, units = 0, target = 0, del = 0, u;
	unsigned what = (unsigned)rng_below(r, 3);
	char ins[4 * 4 + 1];

	for (size_t k = 0; k < len; k += oplib_char(s, k, &u))
		units++;          /* characters, not units, in this count */
	target = rng_below(r, units + 1);
	for (size_t c = 0; c < target; c++) {
		i += oplib_char(s, i, &u);
		at += u;
	}
	ot_op_clear(op);
	ot_op_retain(op, at);
	if (what != 1) {
		size_t iu = 0, b = oplib_rand_text(r, ins, 1 + rng_below(r, 4),
						   &iu);
		ot_op_insert(op, ins, b);
	}
	if (what != 0) {
		size_t n = 1 + rng_below(r, 5);
		while (n-- && i < len) {
			i += oplib_char(s, i, &u);
			del += u;
		}
		ot_op_delete(op, del);
	}
	ot_op_retain(op, utf_units(s, len) - at - del);
}

/* Decodes JSON text into op, aborting the test on a decode error: for
 * hand-written operations in tests. */
__attribute__((unused))
static ot_op *oplib_op(ot_op *op, const char *json)
{
	char err[256];
	ot_op_init(op);
	if (ot_json_decode_text(json, strlen(json), op, err, sizeof err) < 0) {
		fprintf(stderr, "bad test op %s: %s\n", json, err);
		abort();
	}
	return op;
}

/* Applies op to NUL-terminated s; returns a new string or NULL on error. */
__attribute__((unused))
static char *oplib_apply(const char *s, const ot_op *op)
{
	char *out = NULL;
	size_t n;
	if (ot_apply(s, strlen(s), op, &out, &n, NULL, 0) < 0)
		return NULL;
	return out;
}

/* 1 when op is in canonical form (collab/ot.h rules 1-3). */
__attribute__((unused))
static int oplib_canonical(const ot_op *op)
{
	for (size_t i = 0; i < op->ncomps; i++) {
		const ot_comp *c = &op->comps[i];
		if (c->n == 0)
			return 0;
		if (i && op->comps[i - 1].kind == c->kind)
			return 0;
		if (i && op->comps[i - 1].kind == OT_DELETE &&
		    c->kind == OT_INSERT)
			return 0;
	}
	return 1;
}

#endif
