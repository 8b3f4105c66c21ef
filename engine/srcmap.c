/*
 * engine/srcmap.c: byte offsets to UTF-16 offsets, lines and columns;
 * edit-distance suggestions for misspelt names.
 *
 * Invariants:
 *  1. u16[i] is the number of UTF-16 code units that code[0, i) decodes
 *     to; continuation bytes share the offset of their lead byte's
 *     successor, so any byte offset maps to a sensible position.
 *  2. Malformed UTF-8 counts one unit per byte: positions stay monotonic
 *     whatever the input.
 */
#include "engine/srcmap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

int srcmap_init(tt_srcmap *m, const char *code, size_t len)
{
	uint32_t units = 0;

	m->code = code;
	m->len = len;
	m->u16 = malloc((len + 1) * sizeof *m->u16);
	if (!m->u16)
		return TT_ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)code[i];
		m->u16[i] = units;
		if ((c & 0xC0) == 0x80)
			continue; /* continuation: counted with its lead */
		units += c >= 0xF0 ? 2 : 1;
	}
	m->u16[len] = units;
	return TT_OK;
}

void srcmap_fini(tt_srcmap *m)
{
	free(m->u16);
	m->u16 = NULL;
}

uint32_t srcmap_u16(const tt_srcmap *m, size_t off)
{
	if (off > m->len)
		off = m->len;
	return m->u16[off];
}

void srcmap_diag(const tt_srcmap *m, size_t off, tt_diag *diag,
		 const char *fmt, ...)
{
	va_list ap;
	int line = 1, col = 1;

	if (off > m->len)
		off = m->len;
	for (size_t i = 0; i < off; i++) {
		unsigned char c = (unsigned char)m->code[i];
		if (c == '\n') {
			line++;
			col = 1;
		} else if ((c & 0xC0) != 0x80) {
			col++;
		}
	}
	diag->line = line;
	diag->col = col;
	diag->offset = srcmap_u16(m, off);
	va_start(ap, fmt);
	vsnprintf(diag->message, sizeof diag->message, fmt, ap);
	va_end(ap);
}

/* Optimal string alignment distance: Levenshtein plus the transposition
 * of two neighbours ("fsat" is one step from "fast"), over three rows. */
int srcmap_edit_distance(const char *a, const char *b, int cap)
{
	size_t la = strlen(a), lb = strlen(b);
	int rows[3][64];
	int *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

	if (lb >= 64 || la >= 64)
		return cap + 1;
	if ((int)(la > lb ? la - lb : lb - la) > cap)
		return cap + 1;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int best = cur[0] = (int)i, *t;
		for (size_t j = 1; j <= lb; j++) {
			int v = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
			if (v < best)
				best = v;
		}
		if (best > cap)
			return cap + 1;
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

const char *srcmap_suggest(const char *word, const char *const *names, size_t n)
{
	int cap = (int)strlen(word) / 3;
	const char *best = NULL;
	int best_d;

	if (cap < 1)
		cap = 1;
	best_d = cap + 1;
	for (size_t i = 0; i < n; i++) {
		int d = srcmap_edit_distance(word, names[i], cap);
		if (d < best_d) {
			best_d = d;
			best = names[i];
		}
	}
	return best;
}
