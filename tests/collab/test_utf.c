/*
 * tests/collab/test_utf.c: UTF-8 validation and UTF-16 position mapping.
 */
#include <string.h>

#include "collab/utf.h"
#include "common/error.h"
#include "tests/collab/oplib.h"
#include "tests/tap.h"

static int valid(const char *s, size_t n)
{
	return utf_validate(s, n, 0, NULL, NULL) == TT_OK;
}

static void test_validate(void)
{
	size_t bad = 99, units = 0;

	ok(valid("", 0), "empty text is valid");
	ok(valid("abc", 3), "ASCII is valid");
	ok(valid("\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80", 9),
	   "2-, 3- and 4-byte characters are valid");
	ok(!valid("\xc0\xaf", 2), "overlong 2-byte form is rejected");
	ok(!valid("\xe0\x80\xaf", 3), "overlong 3-byte form is rejected");
	ok(!valid("\xf0\x80\x80\xaf", 4), "overlong 4-byte form is rejected");
	ok(!valid("\xed\xa0\x80", 3), "encoded high surrogate is rejected");
	ok(!valid("\xed\xbf\xbf", 3), "encoded low surrogate is rejected");
	ok(valid("\xed\x9f\xbf", 3), "U+D7FF just below surrogates is valid");
	ok(valid("\xf4\x8f\xbf\xbf", 4), "U+10FFFF is valid");
	ok(!valid("\xf4\x90\x80\x80", 4), "above U+10FFFF is rejected");
	ok(!valid("\xf0\x9f\x98", 3), "truncated sequence is rejected");
	ok(!valid("\x80", 1), "lone continuation byte is rejected");
	ok(!valid("\xff", 1), "byte 0xFF is rejected");
	ok(!valid("a\0b", 3), "U+0000 is rejected when not allowed");
	ok(utf_validate("a\0b", 3, 1, NULL, NULL) == TT_OK,
	   "U+0000 is accepted when allowed");
	is_int(utf_validate("ab\xc3(", 4, 0, &bad, NULL), TT_EINVAL,
	       "bad sequence gives TT_EINVAL");
	is_int(bad, 2, "offset of the first bad byte is reported");
	utf_validate("a\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80", 10, 0, NULL,
		     &units);
	is_int(units, 5, "units: a(1) e-acute(1) CJK(1) emoji(2)");
}

static void test_units(void)
{
	is_int(utf_units("", 0), 0, "no units in empty text");
	is_int(utf_units("e\xcc\x81", 3), 2,
	       "e + combining acute is 2 units (2 code points)");
	is_int(utf_units("\xf0\x9f\x8e\xb5\xf0\x9f\x8e\xb5", 8), 4,
	       "two emoji are 4 units");
}

static void test_seek(void)
{
	/* "a😀中b": units a=0, 😀=1..2, 中=3, b=4, end=5 */
	const char *s = "a\xf0\x9f\x98\x80\xe4\xb8\xad" "b";
	size_t n = strlen(s), b = 0;
	utf_mark m = { 5, 3 };

	is_int(utf_seek(s, n, 5, NULL, 0, &b), TT_OK, "seek to 0");
	is_int(b, 0, "position 0 is byte 0");
	utf_seek(s, n, 5, NULL, 1, &b);
	is_int(b, 1, "position 1 is the emoji's first byte");
	is_int(utf_seek(s, n, 5, NULL, 2, &b), TT_EINVAL,
	       "position 2 splits the surrogate pair");
	utf_seek(s, n, 5, NULL, 3, &b);
	is_int(b, 5, "position 3 is byte 5 (after the emoji)");
	utf_seek(s, n, 5, NULL, 4, &b);
	is_int(b, 8, "position 4 is byte 8 (after CJK)");
	utf_seek(s, n, 5, NULL, 5, &b);
	is_int(b, 9, "position 5 is the end");
	is_int(utf_seek(s, n, 5, NULL, 6, &b), TT_EINVAL,
	       "position past the end is refused");
	is_int(utf_seek(s, n, 5, &m, 2, &b), TT_EINVAL,
	       "splitting the pair is refused when scanning backwards");
	utf_seek(s, n, 5, &m, 1, &b);
	is_int(b, 1, "backward scan from a mark finds position 1");
	utf_seek(s, n, 5, &m, 4, &b);
	is_int(b, 8, "forward scan from a mark finds position 4");
	is_int(utf_unit_of(s, n, 8), 4, "byte 8 is position 4");
}

/* Every seek, from every mark, agrees with a plain count. */
static void test_seek_random(void)
{
	rng r = { 42 };
	char buf[4 * 300 + 1];
	int bad = 0, checks = 0;

	for (int round = 0; round < 200; round++) {
		size_t units = 0, n = oplib_rand_text(&r, buf, rng_below(&r, 300),
						      &units);
		utf_mark m = { 0, 0 };
		for (size_t b = 0; b <= n; b++) {
			size_t want_u = utf_units(buf, b), got = 0;
			if (b < n && ((unsigned char)buf[b] & 0xC0) == 0x80)
				continue;
			if (rng_below(&r, 3) == 0) {
				m.byte = b;
				m.unit = want_u;
			}
			checks++;
			if (utf_seek(buf, n, units, &m, want_u, &got) < 0 ||
			    got != b)
				bad++;
		}
	}
	ok(bad == 0 && checks > 1000, "%d random seeks agree with counting "
	   "(%d wrong)", checks, bad);
}

int main(void)
{
	test_validate();
	test_units();
	test_seek();
	test_seek_random();
	return tap_done();
}
