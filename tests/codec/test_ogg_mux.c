/*
 * tests/codec/test_ogg_mux.c: the Ogg muxer's bytes. Header pages field by
 * field (RFC 7845 section 5), lacing, the flush policies, a full lacing
 * table, end of stream, every limit at N and N+1, and each
 * page's CRC against a bitwise implementation of RFC 3533's definition
 * (the decoding tests check the same CRC with libopusfile).
 */
#include <stdlib.h>
#include <string.h>

#include "codec/ogg_mux.h"
#include "common/error.h"
#include "tests/tap.h"

static uint8_t out[OGGMUX_MAX_PUSH_OUT];

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* RFC 3533's CRC computed bit by bit, with the CRC field taken as zero. */
static int crc_ok(const uint8_t *page, size_t len)
{
	uint32_t crc = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t b = (i >= 22 && i < 26) ? 0 : page[i];
		crc ^= (uint32_t)b << 24;
		for (int k = 0; k < 8; k++)
			crc = crc & 0x80000000u ? (crc << 1) ^ 0x04c11db7u
						: crc << 1;
	}
	return crc == rd32(page + 22);
}

/* Checks every page in data: parses, CRC right; returns the page count or
 * -1. */
static int pages_ok(const uint8_t *data, size_t len)
{
	size_t pos = 0;
	int n = 0;
	while (pos < len) {
		size_t pl;
		if (oggmux_page_info(data + pos, len - pos, &pl, NULL, NULL) ||
		    !crc_ok(data + pos, pl))
			return -1;
		pos += pl;
		n++;
	}
	return n;
}

static int try_new(oggmux_config *c)
{
	oggmux *m = NULL;
	int rc = oggmux_new(c, &m);
	if ((rc == TT_OK) != (m != NULL))
		return 99;
	oggmux_free(m);
	return rc;
}

static void check_config(void)
{
	oggmux_config c;
	const char *good[] = { "TITLE=x", "ARTIST=y" };
	const char *noeq[] = { "TITLE" };
	const char *empty_key[] = { "=x" };
	static char vendor[TT_MAX_OPUS_TAGS];

	oggmux_config_default(&c);
	ok(c.channels == 2 && c.pre_skip == 312 && c.page_samples == 0 &&
	   c.input_rate == 48000 && c.serial == 0x74757474u,
	   "defaults: stereo, pre-skip 312, a page per packet");
	is_int(try_new(&c), TT_OK, "defaults accepted");
	c.channels = 0;
	is_int(try_new(&c), TT_EINVAL, "0 channels refused");
	c.channels = 3;
	is_int(try_new(&c), TT_EINVAL, "3 channels refused");
	oggmux_config_default(&c);
	c.pre_skip = 65535;
	is_int(try_new(&c), TT_OK, "pre-skip 65535 accepted");
	c.pre_skip = 65536;
	is_int(try_new(&c), TT_EINVAL, "pre-skip 65536 refused");
	c.pre_skip = -1;
	is_int(try_new(&c), TT_EINVAL, "pre-skip -1 refused");
	oggmux_config_default(&c);
	c.page_samples = -1;
	is_int(try_new(&c), TT_EINVAL, "negative page_samples refused");
	oggmux_config_default(&c);
	c.comments = good;
	c.ncomments = 2;
	is_int(try_new(&c), TT_OK, "KEY=value comments accepted");
	c.comments = noeq;
	c.ncomments = 1;
	is_int(try_new(&c), TT_EINVAL, "a comment without '=' refused");
	c.comments = empty_key;
	is_int(try_new(&c), TT_EINVAL, "a comment with an empty key refused");

	/* OpusTags = 8 magic + 4 + vendor + 4 count: 16 + vendor bytes. */
	oggmux_config_default(&c);
	memset(vendor, 'v', TT_MAX_OPUS_TAGS - 16);
	vendor[TT_MAX_OPUS_TAGS - 16] = 0;
	c.vendor = vendor;
	is_int(try_new(&c), TT_OK, "OpusTags of TT_MAX_OPUS_TAGS bytes accepted");
	vendor[TT_MAX_OPUS_TAGS - 16] = 'v';
	vendor[TT_MAX_OPUS_TAGS - 15] = 0;
	is_int(try_new(&c), TT_ELIMIT,
	       "OpusTags of TT_MAX_OPUS_TAGS + 1 bytes: TT_ELIMIT");
}

static void check_headers(void)
{
	const char *comments[] = { "TITLE=test" };
	oggmux_config c;
	oggmux *m = NULL;
	const uint8_t *h, *t;
	size_t hl, p0, p1;
	uint32_t seq;
	int64_t gp;

	oggmux_config_default(&c);
	c.serial = 0x01020304u;
	c.pre_skip = 312;
	c.comments = comments;
	c.ncomments = 1;
	oggmux_new(&c, &m);
	oggmux_headers(m, &h, &hl);
	is_int(pages_ok(h, hl), 2, "two header pages, CRCs right");
	oggmux_page_info(h, hl, &p0, &seq, &gp);
	ok(memcmp(h, "OggS", 4) == 0 && h[4] == 0 && h[5] == 0x02 &&
	   gp == 0 && seq == 0 && rd32(h + 14) == 0x01020304u,
	   "page 0: OggS v0, BOS only, granule 0, seq 0, our serial");
	ok(h[26] == 1 && h[27] == 19 && p0 == 27 + 1 + 19,
	   "page 0 holds one 19-byte packet");
	ok(memcmp(h + 28, "OpusHead", 8) == 0 && h[36] == 1 && h[37] == 2 &&
	   (h[38] | h[39] << 8) == 312 && rd32(h + 40) == 48000 &&
	   h[44] == 0 && h[45] == 0 && h[46] == 0,
	   "OpusHead: version 1, 2 channels, pre-skip 312, 48000 Hz, "
	   "gain 0, family 0");
	oggmux_page_info(h + p0, hl - p0, &p1, &seq, &gp);
	t = h + p0 + 27 + h[p0 + 26];
	ok(h[p0 + 5] == 0 && seq == 1 && gp == 0 && p0 + p1 == hl,
	   "page 1: no flags, seq 1, granule 0, ends the headers");
	ok(memcmp(t, "OpusTags", 8) == 0 && rd32(t + 8) == 5 &&
	   memcmp(t + 12, "tutti", 5) == 0 && rd32(t + 17) == 1 &&
	   rd32(t + 21) == 10 && memcmp(t + 25, "TITLE=test", 10) == 0,
	   "OpusTags: vendor 'tutti', one comment TITLE=test");
	is_int(oggmux_next_seq(m), 2, "audio starts at page 2");
	oggmux_free(m);
}

static oggmux *mux_with(int page_samples)
{
	oggmux_config c;
	oggmux *m = NULL;
	oggmux_config_default(&c);
	c.page_samples = page_samples;
	oggmux_new(&c, &m);
	return m;
}

static void check_push(void)
{
	static uint8_t pkt[TT_MAX_OPUS_PACKET + 1];
	oggmux *m = mux_with(0);
	size_t n = 99, pl;
	uint32_t seq;
	int64_t gp;

	memset(pkt, 0xab, sizeof pkt);
	is_int(oggmux_push(m, pkt, 0, 960, false, out, sizeof out, &n),
	       TT_EINVAL, "a 0-byte packet refused");
	is_int(oggmux_push(m, pkt, TT_MAX_OPUS_PACKET + 1, 960, false, out,
			   sizeof out, &n),
	       TT_EINVAL, "a packet of TT_MAX_OPUS_PACKET + 1 bytes refused");
	is_int(oggmux_push(m, pkt, 255, 960, false, out, sizeof out, &n),
	       TT_OK, "a 255-byte packet");
	oggmux_page_info(out, n, &pl, &seq, &gp);
	ok(n == pl && pl == 27 + 2 + 255 && out[26] == 2 && out[27] == 255 &&
	   out[28] == 0 && seq == 2 && gp == 960 && out[5] == 0,
	   "one page: lacing 255,0; seq 2; granule 960");
	ok(crc_ok(out, n), "its CRC is right");
	is_int(oggmux_push(m, pkt, TT_MAX_OPUS_PACKET, 1920, false, out,
			   sizeof out, &n),
	       TT_OK, "a packet of TT_MAX_OPUS_PACKET bytes accepted");
	oggmux_page_info(out, n, &pl, &seq, &gp);
	ok(out[26] == TT_MAX_OPUS_PACKET / 255 + 1 && seq == 3 &&
	   gp == 1920 && crc_ok(out, n), "its lacing has %d values, seq 3",
	   TT_MAX_OPUS_PACKET / 255 + 1);
	is_int(oggmux_push(m, pkt, 10, 1919, false, out, sizeof out, &n),
	       TT_EINVAL, "a granule going backwards refused");
	is_int(oggmux_push(m, pkt, 10, 1920, true, out, sizeof out, &n),
	       TT_OK, "a last packet at the same granule (end trimming)");
	ok(out[5] == 0x04 && crc_ok(out, n), "the last page has EOS");
	is_int(oggmux_push(m, pkt, 10, 2000, false, out, sizeof out, &n),
	       TT_ECLOSED, "push after EOS: TT_ECLOSED");
	oggmux_free(m);
}

static void check_policy(void)
{
	uint8_t pkt[300];
	oggmux *m = mux_with(1920);
	size_t n = 0, pl;
	uint32_t seq;
	int64_t gp;

	memset(pkt, 1, sizeof pkt);
	oggmux_push(m, pkt, 300, 960, false, out, sizeof out, &n);
	is_int(n, 0, "40 ms pages: the first 20 ms packet waits");
	oggmux_push(m, pkt, 300, 1920, false, out, sizeof out, &n);
	oggmux_page_info(out, n, &pl, &seq, &gp);
	ok(n == pl && out[26] == 4 && gp == 1920 && seq == 2,
	   "the second completes a page of two packets at granule 1920");
	oggmux_push(m, pkt, 300, 2880, false, out, sizeof out, &n);
	is_int(n, 0, "the third waits again");
	is_int(oggmux_flush(m, out, sizeof out, &n), TT_OK, "flush");
	oggmux_page_info(out, n, &pl, &seq, &gp);
	ok(n == pl && gp == 2880 && seq == 3 && crc_ok(out, n),
	   "flush completes the waiting page");
	oggmux_flush(m, out, sizeof out, &n);
	is_int(n, 0, "flush with nothing waiting writes nothing");
	oggmux_free(m);
}

/* 4000-byte packets take 16 lacing values: 15 fill 240 of 255, the 16th
 * starts a new page. */
static void check_full_page(void)
{
	static uint8_t pkt[4000];
	oggmux *m = mux_with(1 << 30);
	size_t n = 0, pl = 0;
	int waited = 0;
	uint32_t seq;
	int64_t gp;

	for (int k = 0; k < 15; k++) {
		oggmux_push(m, pkt, sizeof pkt, (k + 1) * 960, false, out,
			    sizeof out, &n);
		waited += n == 0;
	}
	is_int(waited, 15, "15 big packets fit one page");
	oggmux_push(m, pkt, sizeof pkt, 16 * 960, false, out, sizeof out, &n);
	oggmux_page_info(out, n, &pl, &seq, &gp);
	ok(n == pl && out[26] == 240 && gp == 15 * 960 && crc_ok(out, n),
	   "the 16th would overflow the lacing table: the page of 15 is out");
	oggmux_free(m);
}

/* A short buffer changes nothing: the same pushes with room afterwards give
 * the same bytes as a muxer that never saw a short buffer. */
static void check_short_buffer(void)
{
	static uint8_t small[64], ref[OGGMUX_MAX_PUSH_OUT];
	uint8_t pkt[200];
	oggmux *a = mux_with(0), *b = mux_with(0);
	size_t n = 0, rn = 0;

	memset(pkt, 7, sizeof pkt);
	is_int(oggmux_push(a, pkt, sizeof pkt, 960, false, small, sizeof small,
			   &n),
	       TT_ELIMIT, "a buffer too small for the page: TT_ELIMIT");
	oggmux_push(a, pkt, sizeof pkt, 960, false, out, sizeof out, &n);
	oggmux_push(b, pkt, sizeof pkt, 960, false, ref, sizeof ref, &rn);
	ok(n == rn && n > 0 && memcmp(out, ref, n) == 0,
	   "after TT_ELIMIT the retry writes exactly the normal page");
	oggmux_free(a);
	oggmux_free(b);
}

/* A page per packet: the largest packet's page is OGGMUX_MAX_PACKET_PAGE. */
static void check_packet_page_bound(void)
{
	static uint8_t pkt[TT_MAX_OPUS_PACKET];
	oggmux *m = mux_with(0);
	size_t n = 0;

	is_int(oggmux_push(m, pkt, sizeof pkt, 960, false, out,
			   OGGMUX_MAX_PACKET_PAGE - 1, &n),
	       TT_ELIMIT, "largest packet, OGGMUX_MAX_PACKET_PAGE - 1 bytes "
	       "of room: TT_ELIMIT");
	is_int(oggmux_push(m, pkt, sizeof pkt, 960, false, out,
			   OGGMUX_MAX_PACKET_PAGE, &n),
	       TT_OK, "OGGMUX_MAX_PACKET_PAGE bytes of room suffice");
	is_int(n, OGGMUX_MAX_PACKET_PAGE, "and the page fills them exactly");
	oggmux_free(m);
}

static void check_page_info(void)
{
	oggmux *m = mux_with(0);
	const uint8_t *h;
	size_t hl, pl;
	uint8_t bad[64];

	oggmux_headers(m, &h, &hl);
	is_int(oggmux_page_info(h, 26, &pl, NULL, NULL), TT_EFORMAT,
	       "page_info: 26 bytes is no page header");
	is_int(oggmux_page_info(h, 27 + 1 + 18, &pl, NULL, NULL), TT_EFORMAT,
	       "page_info: a page one byte short");
	is_int(oggmux_page_info(h, 27 + 1 + 19, &pl, NULL, NULL), TT_OK,
	       "page_info: the whole page");
	memcpy(bad, h, sizeof bad);
	bad[0] = 'X';
	is_int(oggmux_page_info(bad, sizeof bad, &pl, NULL, NULL), TT_EFORMAT,
	       "page_info: a wrong capture pattern");
	oggmux_free(m);
}

int main(void)
{
	check_config();
	check_headers();
	check_push();
	check_policy();
	check_full_page();
	check_short_buffer();
	check_packet_page_bound();
	check_page_info();
	return tap_done();
}
