/*
 * common/utf8.c: the incremental UTF-8 validator.
 *
 * Design. The well-formed byte sequences of RFC 3629 (table 3-7 of the
 * Unicode standard) differ only in the number of continuation bytes and in
 * the range allowed for the *first* continuation byte after the lead byte:
 *
 *   lead      count  first continuation   excludes
 *   00..7F    0      -
 *   C2..DF    1      80..BF
 *   E0        2      A0..BF               overlongs below U+0800
 *   E1..EC    2      80..BF
 *   ED        2      80..9F               surrogates U+D800..U+DFFF
 *   EE..EF    2      80..BF
 *   F0        3      90..BF               overlongs below U+10000
 *   F1..F3    3      80..BF
 *   F4        3      80..8F               code points above U+10FFFF
 *   C0, C1, F5..FF and a stray 80..BF: never valid.
 *
 * So the state is (need, lo, hi): how many continuation bytes remain and the
 * range the next one must fall in.
 *
 * Invariants:
 *   1. need == 0 exactly when the bytes fed so far end on a code point
 *      boundary; then lo/hi are unused.
 *   2. When need > 0, [lo, hi] is a subrange of 80..BF; after the first
 *      continuation byte it is all of 80..BF.
 *   3. bad is sticky: once set, nothing fed later is accepted.
 *
 * Plain ASCII is checked eight bytes at a time while no sequence is open.
 */
#include "common/utf8.h"

#include <string.h>

#include "common/error.h"

void utf8_init(utf8_state *st)
{
	st->need = 0;
	st->lo = 0x80;
	st->hi = 0xBF;
	st->bad = 0;
}

/* Opens a sequence at lead byte c; 0 when c cannot start one. */
static int start_sequence(utf8_state *st, uint8_t c)
{
	st->lo = 0x80;
	st->hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		st->need = 1;
	} else if (c >= 0xE0 && c <= 0xEF) {
		st->need = 2;
		if (c == 0xE0)
			st->lo = 0xA0;
		else if (c == 0xED)
			st->hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		st->need = 3;
		if (c == 0xF0)
			st->lo = 0x90;
		else if (c == 0xF4)
			st->hi = 0x8F;
	} else {
		return 0;
	}
	return 1;
}

/* Skips the run of ASCII bytes at s[i..n), eight at a time. */
static size_t skip_ascii(const uint8_t *s, size_t i, size_t n)
{
	while (n - i >= 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if (w & 0x8080808080808080ull)
			break;
		i += 8;
	}
	while (i < n && s[i] < 0x80)
		i++;
	return i;
}

int utf8_feed(utf8_state *st, const void *s, size_t n, size_t *bad_at)
{
	const uint8_t *b = s;
	size_t i = 0;

	if (st->bad) {
		if (bad_at)
			*bad_at = 0;
		return TT_EINVAL;
	}
	while (i < n) {
		uint8_t c;
		if (st->need == 0) {
			i = skip_ascii(b, i, n);
			if (i == n)
				break;
			c = b[i];
			if (!start_sequence(st, c))
				goto fail;
			i++;
			continue;
		}
		c = b[i];
		if (c < st->lo || c > st->hi)
			goto fail;
		st->lo = 0x80;
		st->hi = 0xBF;
		st->need--;
		i++;
	}
	return TT_OK;
fail:
	st->bad = 1;
	st->need = 0;
	if (bad_at)
		*bad_at = i;
	return TT_EINVAL;
}

int utf8_complete(const utf8_state *st)
{
	return !st->bad && st->need == 0;
}

int utf8_valid(const void *s, size_t n)
{
	utf8_state st;
	utf8_init(&st);
	return utf8_feed(&st, s, n, NULL) == TT_OK && utf8_complete(&st);
}

size_t utf8_valid_prefix(const void *s, size_t n, size_t max)
{
	const uint8_t *b = s;
	utf8_state st;
	size_t i, good = 0;

	if (n > max)
		n = max;
	utf8_init(&st);
	for (i = 0; i < n; i++) {
		if (utf8_feed(&st, b + i, 1, NULL) != TT_OK)
			break;
		if (st.need == 0)
			good = i + 1;
	}
	return good;
}
