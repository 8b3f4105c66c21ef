/*
 * engine/srcmap.h: positions in program source, and the helpers that make
 * the front end's errors useful (line and column, "did you mean").
 *
 * Strudel reports source locations as offsets in UTF-16 code units (that is
 * how JavaScript strings count), so the front end works on UTF-8 bytes and
 * converts at the edge: a srcmap holds, for every byte offset, the UTF-16
 * offset of the character that starts there.
 *
 * Thread safety: a srcmap is used by one thread; the functions keep no
 * global state. Not for the render thread (srcmap_init allocates).
 */
#ifndef TT_ENGINE_SRCMAP_H
#define TT_ENGINE_SRCMAP_H

#include <stddef.h>
#include <stdint.h>

#include "engine/program.h"

typedef struct tt_srcmap {
	const char *code; /* borrowed */
	size_t len;
	uint32_t *u16;    /* len + 1 entries, owned */
} tt_srcmap;

/* Builds the map for code[0, len). TT_OK or TT_ENOMEM. */
int srcmap_init(tt_srcmap *m, const char *code, size_t len);
void srcmap_fini(tt_srcmap *m);

/* UTF-16 offset of byte offset off (clamped to len). */
uint32_t srcmap_u16(const tt_srcmap *m, size_t off);

/* Fills diag for byte offset off: 1-based line and column (column counts
 * characters), the UTF-16 offset, and the printf-style message. */
void srcmap_diag(const tt_srcmap *m, size_t off, tt_diag *diag,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The name among names[0, n) closest to word by edit distance, when it is
 * close enough to be a plausible typo (distance at most a third of the
 * word's length, at least 1); NULL otherwise. Borrowed from names. */
const char *srcmap_suggest(const char *word, const char *const *names, size_t n);

/* Edit distance (insertions, deletions, substitutions and transpositions of
 * neighbours) between a and b, capped at cap + 1 (cheap when the strings
 * are far apart). */
int srcmap_edit_distance(const char *a, const char *b, int cap);

#endif
