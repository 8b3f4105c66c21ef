/*
 * tests/fuzz/fuzz_oggmux.c: drives the Ogg muxer with arbitrary sequences of
 * pushes and flushes (packet sizes including 0 and too big, granules going
 * backwards, end of stream, buffers too small) and checks what it promises:
 * every byte written is a whole page that parses, with a right CRC, pages
 * numbered without a gap from 2, granules never decreasing, nothing after
 * EOS, and a refused push changes nothing.
 *
 * Input: byte 0 picks page_samples; then 5 bytes per step:
 * op, length (2 bytes), granule step (signed), buffer size class.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/ogg_mux.h"
#include "common/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[OGGMUX_MAX_PUSH_OUT];
static uint8_t pkt[TT_MAX_OPUS_PACKET + 2];

static uint32_t crc_bitwise(const uint8_t *p, size_t len)
{
	uint32_t crc = 0;
	for (size_t i = 0; i < len; i++) {
		crc ^= (uint32_t)((i >= 22 && i < 26) ? 0 : p[i]) << 24;
		for (int k = 0; k < 8; k++)
			crc = crc & 0x80000000u ? (crc << 1) ^ 0x04c11db7u
						: crc << 1;
	}
	return crc;
}

typedef struct state {
	uint32_t next_seq;
	int64_t last_granule;
	int eos_seen;
} state;

static void check_pages(state *s, const uint8_t *p, size_t len)
{
	size_t pos = 0;
	while (pos < len) {
		size_t pl;
		uint32_t seq, crc;
		int64_t gp;
		if (s->eos_seen)
			abort();
		if (oggmux_page_info(p + pos, len - pos, &pl, &seq, &gp))
			abort();
		crc = (uint32_t)p[pos + 22] | (uint32_t)p[pos + 23] << 8 |
		      (uint32_t)p[pos + 24] << 16 | (uint32_t)p[pos + 25] << 24;
		if (crc != crc_bitwise(p + pos, pl) || seq != s->next_seq ||
		    gp < s->last_granule || p[pos + 26] == 0)
			abort();
		s->next_seq++;
		s->last_granule = gp;
		s->eos_seen = (p[pos + 5] & 0x04) != 0;
		pos += pl;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = { 0, 30, 300, 4100, OGGMUX_MAX_PACKET_PAGE,
				       OGGMUX_MAX_PUSH_OUT };
	oggmux_config c;
	oggmux *m = NULL;
	state s = { 2, 0, 0 };
	int64_t granule = 0;

	if (size < 1)
		return 0;
	oggmux_config_default(&c);
	c.page_samples = data[0] * 240;
	if (oggmux_new(&c, &m))
		abort();
	memset(pkt, 0x5a, sizeof pkt);
	for (size_t i = 1; i + 5 <= size; i += 5) {
		uint8_t op = data[i];
		size_t len = ((size_t)data[i + 1] | (size_t)data[i + 2] << 8) %
			     (TT_MAX_OPUS_PACKET + 2);
		size_t cap = caps[data[i + 4] % 6], n = 99;
		uint32_t seq_before = oggmux_next_seq(m);
		int rc;

		granule += (int8_t)data[i + 3] * 60;
		if (op % 8 == 7)
			rc = oggmux_flush(m, out, cap, &n);
		else
			rc = oggmux_push(m, pkt, len, granule, op % 16 == 3,
					 out, cap, &n);
		if (rc && (n != 0 || oggmux_next_seq(m) != seq_before))
			abort();
		if (rc == TT_OK) {
			if (n > cap)
				abort();
			check_pages(&s, out, n);
		}
	}
	oggmux_free(m);
	return 0;
}
