/*
 * tests/server/test_utf8.c: the incremental UTF-8 validator (common/utf8)
 * against a table of valid, incomplete and invalid sequences, in the spirit
 * of the Autobahn test suite's section 6: boundaries, overlongs, surrogates,
 * 5- and 6-byte forms, and sequences cut between two pieces.
 *
 * Each case is checked whole, byte at a time, and split in two at every
 * position: all must agree on the verdict and on the offset of the first
 * bad byte.
 */
#include <string.h>

#include "common/error.h"
#include "common/utf8.h"
#include "tests/tap.h"

enum { VALID, INCOMPLETE, INVALID };

typedef struct ucase {
	const char *name;
	const char *bytes;
	int verdict;
	size_t bad_at; /* INVALID: offset of the first bad byte */
} ucase;

static const ucase cases[] = {
	{ "empty", "", VALID, 0 },
	{ "ascii", "Hello, world", VALID, 0 },
	{ "Latin-1 letters", "Hello-\xC2\xB5@\xC3\x9F\xC3\xB6\xC3\xA4", VALID, 0 },
	{ "Greek kosme", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", VALID, 0 },
	{ "U+0000", "a\0b", VALID, 0 },
	{ "U+007F", "\x7F", VALID, 0 },
	{ "U+0080", "\xC2\x80", VALID, 0 },
	{ "U+07FF", "\xDF\xBF", VALID, 0 },
	{ "U+0800", "\xE0\xA0\x80", VALID, 0 },
	{ "U+D7FF", "\xED\x9F\xBF", VALID, 0 },
	{ "U+E000", "\xEE\x80\x80", VALID, 0 },
	{ "U+FFFD", "\xEF\xBF\xBD", VALID, 0 },
	{ "U+FFFE noncharacter", "\xEF\xBF\xBE", VALID, 0 },
	{ "U+FFFF noncharacter", "\xEF\xBF\xBF", VALID, 0 },
	{ "U+10000", "\xF0\x90\x80\x80", VALID, 0 },
	{ "U+10FFFF", "\xF4\x8F\xBF\xBF", VALID, 0 },
	{ "emoji after 9 ascii", "123456789\xF0\x9F\x8E\xB5", VALID, 0 },
	/* Incomplete: a valid prefix that ends inside a sequence. */
	{ "2-byte cut after lead", "ab\xC2", INCOMPLETE, 0 },
	{ "3-byte cut after lead", "\xE2", INCOMPLETE, 0 },
	{ "3-byte cut after 2", "\xE2\x82", INCOMPLETE, 0 },
	{ "4-byte cut after 3", "\xF0\x90\x80", INCOMPLETE, 0 },
	{ "U+10FFFF cut", "\xF4\x8F\xBF", INCOMPLETE, 0 },
	/* Out of range. */
	{ "U+110000", "\xF4\x90\x80\x80", INVALID, 1 },
	{ "F5 lead", "\xF5\x80\x80\x80", INVALID, 0 },
	{ "U+1FFFFF as F7", "\xF7\xBF\xBF\xBF", INVALID, 0 },
	{ "5-byte form", "\xF8\x88\x80\x80\x80", INVALID, 0 },
	{ "6-byte form", "\xFC\x84\x80\x80\x80\x80", INVALID, 0 },
	{ "FE", "a\xFE", INVALID, 1 },
	{ "FF", "\xFF", INVALID, 0 },
	/* Stray and missing continuation bytes. */
	{ "lone 80", "\x80", INVALID, 0 },
	{ "lone BF after text", "abc\xBF", INVALID, 3 },
	{ "two continuations", "\x80\xBF", INVALID, 0 },
	{ "lead then space", "\xC3 ", INVALID, 1 },
	{ "3-byte lead then ascii", "\xE0\xA0" "a", INVALID, 2 },
	{ "4-byte lead then lead", "\xF0\x90\xF0", INVALID, 2 },
	{ "bad in the middle", "abc\xC3\x28" "def", INVALID, 4 },
	/* Overlongs. */
	{ "overlong / as C0 AF", "\xC0\xAF", INVALID, 0 },
	{ "overlong C1 BF", "\xC1\xBF", INVALID, 0 },
	{ "overlong NUL C0 80", "\xC0\x80", INVALID, 0 },
	{ "overlong / as E0 80 AF", "\xE0\x80\xAF", INVALID, 1 },
	{ "overlong U+07FF E0 9F BF", "\xE0\x9F\xBF", INVALID, 1 },
	{ "overlong / as F0 80 80 AF", "\xF0\x80\x80\xAF", INVALID, 1 },
	{ "overlong U+FFFF F0 8F BF BF", "\xF0\x8F\xBF\xBF", INVALID, 1 },
	{ "overlong 5-byte /", "\xF8\x80\x80\x80\xAF", INVALID, 0 },
	/* UTF-16 surrogates. */
	{ "U+D800", "\xED\xA0\x80", INVALID, 1 },
	{ "U+DB7F", "\xED\xAD\xBF", INVALID, 1 },
	{ "U+DB80", "\xED\xAE\x80", INVALID, 1 },
	{ "U+DBFF", "\xED\xAF\xBF", INVALID, 1 },
	{ "U+DC00", "\xED\xB0\x80", INVALID, 1 },
	{ "U+DFFF", "\xED\xBF\xBF", INVALID, 1 },
	{ "paired surrogates", "\xED\xA0\x80\xED\xB0\x80", INVALID, 1 },
	{ "ascii run then surrogate", "0123456789abcdef\xED\xA0\x80", INVALID, 17 },
};

/* Feeds pieces [0,split) and [split,n); returns the verdict and *bad. */
static int run_split(const char *s, size_t n, size_t split, size_t *bad)
{
	utf8_state st;
	size_t at = 0;

	utf8_init(&st);
	if (utf8_feed(&st, s, split, &at) < 0) {
		*bad = at;
		return INVALID;
	}
	if (utf8_feed(&st, s + split, n - split, &at) < 0) {
		*bad = split + at;
		return INVALID;
	}
	return utf8_complete(&st) ? VALID : INCOMPLETE;
}

static int run_bytes(const char *s, size_t n, size_t *bad)
{
	utf8_state st;

	utf8_init(&st);
	for (size_t i = 0; i < n; i++) {
		if (utf8_feed(&st, s + i, 1, NULL) < 0) {
			*bad = i;
			return INVALID;
		}
	}
	return utf8_complete(&st) ? VALID : INCOMPLETE;
}

static size_t case_len(const ucase *c)
{
	/* "a\0b" is the one case with an embedded NUL. */
	return strcmp(c->name, "U+0000") == 0 ? 3 : strlen(c->bytes);
}

static void check_case(const ucase *c)
{
	size_t n = case_len(c), bad = 0, i;
	int v, agree = 1;

	v = run_split(c->bytes, n, n, &bad);
	is_int(v, c->verdict, "%s: whole verdict", c->name);
	if (c->verdict == INVALID)
		is_int(bad, c->bad_at, "%s: first bad byte", c->name);
	is_int(utf8_valid(c->bytes, n), c->verdict == VALID,
	       "%s: utf8_valid", c->name);
	bad = 0;
	v = run_bytes(c->bytes, n, &bad);
	ok(v == c->verdict && (v != INVALID || bad == c->bad_at),
	   "%s: byte at a time agrees", c->name);
	for (i = 0; i <= n; i++) {
		bad = 0;
		v = run_split(c->bytes, n, i, &bad);
		if (v != c->verdict || (v == INVALID && bad != c->bad_at))
			agree = 0;
	}
	ok(agree, "%s: every split in two agrees", c->name);
}

static void test_sticky(void)
{
	utf8_state st;
	size_t at = 99;

	utf8_init(&st);
	is_int(utf8_feed(&st, "\xFF", 1, &at), TT_EINVAL, "invalid fails");
	is_int(utf8_feed(&st, "a", 1, &at), TT_EINVAL,
	       "after a failure, valid text still fails (sticky)");
	is_int(at, 0, "sticky failure reports offset 0");
	ok(!utf8_complete(&st), "a failed state is not complete");
	utf8_init(&st);
	is_int(utf8_feed(&st, "a", 1, NULL), TT_OK, "init resets the state");
}

static void test_prefix(void)
{
	const char *s = "a\xC3\xA9z"; /* a, e-acute, z */

	is_int(utf8_valid_prefix(s, 4, 4), 4, "prefix: whole fits");
	is_int(utf8_valid_prefix(s, 4, 3), 3, "prefix: cut after e-acute");
	is_int(utf8_valid_prefix(s, 4, 2), 1, "prefix: never splits e-acute");
	is_int(utf8_valid_prefix(s, 4, 0), 0, "prefix: max 0");
	is_int(utf8_valid_prefix("ab\xFF" "cd", 5, 5), 2,
	       "prefix: stops before an invalid byte");
	is_int(utf8_valid_prefix("ab\xE2\x82", 4, 10), 2,
	       "prefix: drops a sequence cut at the end");
}

/* Every 1-, 2- and 3-byte sequence, checked against a direct definition. */
static int reference_valid(const uint8_t *b, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t k;
		if (b[i] < 0x80) {
			i++;
			continue;
		}
		if (b[i] >= 0xC0 && b[i] < 0xE0) { k = 1; cp = b[i] & 0x1F; }
		else if (b[i] >= 0xE0 && b[i] < 0xF0) { k = 2; cp = b[i] & 0x0F; }
		else if (b[i] >= 0xF0 && b[i] < 0xF8) { k = 3; cp = b[i] & 0x07; }
		else return 0;
		if (i + k >= n)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((b[i + j] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (b[i + j] & 0x3F);
		}
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) ||
		    (k == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += k + 1;
	}
	return 1;
}

static void test_exhaustive(void)
{
	uint8_t b[3];
	long mismatches = 0, valid = 0;

	for (uint32_t x = 0; x < (1u << 24); x++) {
		b[0] = (uint8_t)(x >> 16);
		b[1] = (uint8_t)(x >> 8);
		b[2] = (uint8_t)x;
		int got = utf8_valid(b, 3);
		if (got != reference_valid(b, 3))
			mismatches++;
		valid += got;
	}
	is_int(mismatches, 0, "all 2^24 3-byte strings agree with the "
	       "definition by code point");
	ok(valid > 0, "some 3-byte strings are valid (%ld)", valid);
	for (uint32_t x = 0; x < (1u << 16); x++) {
		b[0] = (uint8_t)(x >> 8);
		b[1] = (uint8_t)x;
		if (utf8_valid(b, 2) != reference_valid(b, 2))
			mismatches++;
	}
	is_int(mismatches, 0, "all 2^16 2-byte strings agree too");
}

int main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_case(&cases[i]);
	test_sticky();
	test_prefix();
	test_exhaustive();
	return tap_done();
}
