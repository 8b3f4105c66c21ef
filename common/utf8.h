/*
 * common/utf8.h: an incremental UTF-8 validator (RFC 3629).
 *
 * Text arrives in pieces (WebSocket fragments, socket reads), and a code
 * point may be split between two pieces. The validator keeps the few bits of
 * state needed to continue a sequence in the next piece, and fails on the
 * first byte after which no continuation could make the text valid: an
 * invalid prefix is rejected at once, not only at the end.
 *
 * Rejected: stray continuation bytes, overlong forms (C0, C1, E0 80..9F,
 * F0 80..8F), UTF-16 surrogates U+D800..U+DFFF (ED A0..BF), code points
 * above U+10FFFF (F4 90.., F5..FF), and so the old 5- and 6-byte forms.
 *
 * Thread safety: a utf8_state belongs to one thread at a time; the functions
 * keep no other state. Safe on the render thread: yes (no allocation).
 */
#ifndef TT_COMMON_UTF8_H
#define TT_COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Transparent so that callers embed it; touch it only through utf8_*. */
typedef struct utf8_state {
	uint8_t need; /* continuation bytes still expected (0..3) */
	uint8_t lo;   /* the next continuation byte must be in [lo, hi] */
	uint8_t hi;
	uint8_t bad;  /* 1 once an invalid byte was seen (sticky) */
} utf8_state;

/* Starts a new text: no sequence open. */
void utf8_init(utf8_state *st);

/*
 * Validates the next n bytes of the text. Returns TT_OK when everything fed
 * so far is a valid prefix of some UTF-8 text (a sequence may still be open
 * at the end of s), or TT_EINVAL at the first invalid byte; then *bad_at (if
 * not NULL) is that byte's offset in s, and every later call also fails
 * (with *bad_at 0).
 */
int utf8_feed(utf8_state *st, const void *s, size_t n, size_t *bad_at);

/* 1 when the text fed so far is complete, valid UTF-8 (no open sequence). */
int utf8_complete(const utf8_state *st);

/* 1 when [s, s+n) is complete, valid UTF-8. */
int utf8_valid(const void *s, size_t n);

/*
 * The length of the longest prefix of [s, s+n) that is complete, valid UTF-8
 * and at most max bytes long: where to cut a string without splitting a code
 * point (a close reason, a log line).
 */
size_t utf8_valid_prefix(const void *s, size_t n, size_t max);

#endif
