/*
 * collab/utf.c: UTF-8 validation and UTF-8 <-> UTF-16 position mapping.
 *
 * Design note. Text is kept as UTF-8 everywhere in tutti; only positions are
 * UTF-16. Mapping a position is a scan, so utf_seek starts from the nearest
 * known point (a caller's mark, the start or the end) and walks forwards or
 * backwards a character at a time. Pure ASCII text (bytes == units) maps by
 * identity without a scan.
 *
 * Invariants:
 *  1. Functions other than utf_validate assume their text already passed
 *     utf_validate; they never read outside s[0..n) even so.
 *  2. A character of 4 bytes counts 2 units; every other character 1.
 */
#include "collab/utf.h"

#include <stdint.h>

#include "common/error.h"

/* Units of the character whose lead byte is c (continuation bytes: 0). */
static size_t lead_units(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c < 0xC0)
		return 0;
	return c >= 0xF0 ? 2 : 1;
}

/* Length of a well-formed sequence starting at s[i], or 0 if malformed. */
static size_t seq_len(const unsigned char *s, size_t n, size_t i)
{
	unsigned char c = s[i];
	size_t len, k;
	unsigned char lo = 0x80, hi = 0xBF;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;          /* overlong */
	else if (c == 0xED)
		hi = 0x9F;          /* encoded surrogates */
	else if (c == 0xF0)
		lo = 0x90;          /* overlong */
	else if (c == 0xF4)
		hi = 0x8F;          /* above U+10FFFF */
	if (n - i < len)
		return 0;
	if (s[i + 1] < lo || s[i + 1] > hi)
		return 0;
	for (k = 2; k < len; k++)
		if (s[i + k] < 0x80 || s[i + k] > 0xBF)
			return 0;
	return len;
}

int utf_validate(const char *s, size_t n, int allow_nul, size_t *bad,
		 size_t *units)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, count = 0;

	while (i < n) {
		size_t len;
		if (u[i] < 0x80) {
			if (u[i] == 0 && !allow_nul)
				goto fail;
			i++;
			count++;
			continue;
		}
		len = seq_len(u, n, i);
		if (len == 0)
			goto fail;
		count += len == 4 ? 2 : 1;
		i += len;
	}
	if (units)
		*units = count;
	return TT_OK;
fail:
	if (bad)
		*bad = i;
	return TT_EINVAL;
}

size_t utf_units(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += lead_units(u[i]);
	return count;
}

/* Walks forward from (b, at) to unit target. */
static int seek_forward(const unsigned char *u, size_t n, size_t b,
			size_t at, size_t target, size_t *byte)
{
	while (at < target) {
		unsigned char c;
		if (b >= n)
			return TT_EINVAL;
		c = u[b];
		if (c < 0x80) {
			b++;
			at++;
			continue;
		}
		if (c >= 0xF0) {
			if (at + 1 == target)
				return TT_EINVAL; /* would split a pair */
			b += 4;
			at += 2;
		} else {
			b += c >= 0xE0 ? 3 : 2;
			at++;
		}
	}
	*byte = b < n ? b : n;
	return TT_OK;
}

/* Walks backward from (b, at) to unit target. */
static int seek_backward(const unsigned char *u, size_t b, size_t at,
			 size_t target, size_t *byte)
{
	while (at > target) {
		size_t start;
		if (b == 0)
			return TT_EINVAL;   /* a mark that lied about its unit */
		start = b - 1;
		while (start > 0 && (u[start] & 0xC0) == 0x80)
			start--;
		if (u[start] >= 0xF0) {
			if (at - 1 == target)
				return TT_EINVAL; /* would split a pair */
			at -= 2;
		} else {
			at--;
		}
		b = start;
	}
	*byte = b;
	return TT_OK;
}

int utf_seek(const char *s, size_t n, size_t total, const utf_mark *from,
	     size_t unit, size_t *byte)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t best_b = 0, best_u = 0, dist;

	if (unit > total)
		return TT_EINVAL;
	if (n == total) {           /* pure ASCII: identity */
		*byte = unit;
		return TT_OK;
	}
	dist = unit;
	if (total - unit < dist) {
		best_b = n;
		best_u = total;
		dist = total - unit;
	}
	if (from && from->unit <= total && from->byte <= n) {
		size_t d = from->unit > unit ? from->unit - unit
					     : unit - from->unit;
		if (d < dist) {
			best_b = from->byte;
			best_u = from->unit;
		}
	}
	if (best_u <= unit)
		return seek_forward(u, n, best_b, best_u, unit, byte);
	return seek_backward(u, best_b, best_u, unit, byte);
}

size_t utf_unit_of(const char *s, size_t n, size_t byte)
{
	return utf_units(s, byte < n ? byte : n);
}
