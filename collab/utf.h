/*
 * collab/utf.h: UTF-8 validation and the mapping between UTF-8 byte offsets
 * and UTF-16 code-unit positions.
 *
 * Document text is stored as UTF-8, but positions on the wire count UTF-16
 * code units, because that is how browsers (JavaScript strings) and
 * CodeMirror count: a character of the Basic Multilingual Plane is one unit,
 * an astral character (U+10000 and above, such as most emoji) is two units,
 * a surrogate pair. A position between the two halves of a pair names no
 * place in the UTF-8 text and is rejected with TT_EINVAL.
 *
 * Every function here is pure, allocation-free and thread-safe; all are safe
 * on the render thread (though none is meant for it).
 */
#ifndef TT_COLLAB_UTF_H
#define TT_COLLAB_UTF_H

#include <stddef.h>

/*
 * Checks that s[0..n) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * encoded surrogates U+D800..U+DFFF, nothing above U+10FFFF) and, when
 * allow_nul is 0, contains no U+0000. Returns TT_OK, or TT_EINVAL with the
 * offset of the first bad byte in *bad (bad may be NULL). When units is not
 * NULL it receives the text's length in UTF-16 code units (on success).
 */
int utf_validate(const char *s, size_t n, int allow_nul, size_t *bad,
		 size_t *units);

/* Length of valid UTF-8 text s[0..n) in UTF-16 code units. */
size_t utf_units(const char *s, size_t n);

/*
 * A known correspondence between a byte offset and a UTF-16 position in one
 * text, used as a starting point for seeks so that local edits on a long
 * text cost a short scan, not a scan from the start.
 */
typedef struct utf_mark {
	size_t byte;
	size_t unit;
} utf_mark;

/*
 * Finds the byte offset of UTF-16 position unit in valid UTF-8 text s[0..n)
 * whose length in units is total, scanning from whichever of *from, the
 * start and the end is nearest (from may be NULL). Returns TT_OK and the
 * offset in *byte; TT_EINVAL when unit > total or unit falls between the
 * halves of a surrogate pair.
 */
int utf_seek(const char *s, size_t n, size_t total, const utf_mark *from,
	     size_t unit, size_t *byte);

/* UTF-16 position of byte offset byte (which must start a character or be
 * n) in valid UTF-8 text s[0..n). */
size_t utf_unit_of(const char *s, size_t n, size_t byte);

#endif
