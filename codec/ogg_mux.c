/*
 * codec/ogg_mux.c: Ogg pages for one Opus logical stream.
 *
 * Design. RFC 3533 frames a stream of packets as pages: a 27-byte header
 * ("OggS", version, flags, granule, serial, sequence, CRC, segment count),
 * a lacing table (each packet as runs of 255 ending with a value < 255) and
 * the body. RFC 7845 adds: the first page holds only OpusHead and has the
 * BOS flag; OpusTags ends on its own page; audio starts on a fresh page;
 * a page's granule is the 48 kHz sample count (pre-skip included) at the
 * end of the last packet completed on it; the last page has EOS, and its
 * granule may stop short of its packets' samples to trim padding.
 *
 * Invariants:
 *  1. A page holds whole packets only (no continued packets), so every
 *     page boundary is a join point and every page has a granule.
 *  2. The current page is never empty when a page is written: lacing and
 *     body describe 1..255 lacing values and <= 255*255 body bytes.
 *  3. Sequence numbers count pages written, headers included (0 and 1),
 *     so the first audio page is 2 and numbers never skip.
 *  4. oggmux_push either takes the packet and writes every page it
 *     completes, or (TT_ELIMIT and other errors) changes nothing.
 *  5. Header page bytes are fixed at creation and only read afterwards.
 */
#include "codec/ogg_mux.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define PAGE_HEADER 27
#define MAX_LACING 255
#define MAX_BODY (255 * 255)
#define FLAG_BOS 0x02
#define FLAG_EOS 0x04
#define OPUSHEAD_LEN 19

struct oggmux {
	uint32_t serial;
	int page_samples;
	uint32_t seq;            /* of the next page written (invariant 3) */
	int64_t last_granule;    /* of the last packet taken */
	int64_t page_granule;    /* of the last packet in the current page */
	int64_t prev_end;        /* granule of the last page written */
	bool closed;
	int nlace;
	size_t body_len;
	uint8_t lace[MAX_LACING];
	uint8_t *body;           /* MAX_BODY bytes */
	uint8_t *headers;        /* both header pages */
	size_t headers_len;
	size_t head_page_len;    /* length of the OpusHead page */
};

/* CRC-32 of Ogg: polynomial 0x04c11db7, MSB first, initial value 0, no
 * final inversion. Entry i is the CRC register after shifting byte i
 * through it (generated once with the bitwise definition). */
static const uint32_t crc_table[256] = {
	0x00000000, 0x04c11db7, 0x09823b6e, 0x0d4326d9,
	0x130476dc, 0x17c56b6b, 0x1a864db2, 0x1e475005,
	0x2608edb8, 0x22c9f00f, 0x2f8ad6d6, 0x2b4bcb61,
	0x350c9b64, 0x31cd86d3, 0x3c8ea00a, 0x384fbdbd,
	0x4c11db70, 0x48d0c6c7, 0x4593e01e, 0x4152fda9,
	0x5f15adac, 0x5bd4b01b, 0x569796c2, 0x52568b75,
	0x6a1936c8, 0x6ed82b7f, 0x639b0da6, 0x675a1011,
	0x791d4014, 0x7ddc5da3, 0x709f7b7a, 0x745e66cd,
	0x9823b6e0, 0x9ce2ab57, 0x91a18d8e, 0x95609039,
	0x8b27c03c, 0x8fe6dd8b, 0x82a5fb52, 0x8664e6e5,
	0xbe2b5b58, 0xbaea46ef, 0xb7a96036, 0xb3687d81,
	0xad2f2d84, 0xa9ee3033, 0xa4ad16ea, 0xa06c0b5d,
	0xd4326d90, 0xd0f37027, 0xddb056fe, 0xd9714b49,
	0xc7361b4c, 0xc3f706fb, 0xceb42022, 0xca753d95,
	0xf23a8028, 0xf6fb9d9f, 0xfbb8bb46, 0xff79a6f1,
	0xe13ef6f4, 0xe5ffeb43, 0xe8bccd9a, 0xec7dd02d,
	0x34867077, 0x30476dc0, 0x3d044b19, 0x39c556ae,
	0x278206ab, 0x23431b1c, 0x2e003dc5, 0x2ac12072,
	0x128e9dcf, 0x164f8078, 0x1b0ca6a1, 0x1fcdbb16,
	0x018aeb13, 0x054bf6a4, 0x0808d07d, 0x0cc9cdca,
	0x7897ab07, 0x7c56b6b0, 0x71159069, 0x75d48dde,
	0x6b93dddb, 0x6f52c06c, 0x6211e6b5, 0x66d0fb02,
	0x5e9f46bf, 0x5a5e5b08, 0x571d7dd1, 0x53dc6066,
	0x4d9b3063, 0x495a2dd4, 0x44190b0d, 0x40d816ba,
	0xaca5c697, 0xa864db20, 0xa527fdf9, 0xa1e6e04e,
	0xbfa1b04b, 0xbb60adfc, 0xb6238b25, 0xb2e29692,
	0x8aad2b2f, 0x8e6c3698, 0x832f1041, 0x87ee0df6,
	0x99a95df3, 0x9d684044, 0x902b669d, 0x94ea7b2a,
	0xe0b41de7, 0xe4750050, 0xe9362689, 0xedf73b3e,
	0xf3b06b3b, 0xf771768c, 0xfa325055, 0xfef34de2,
	0xc6bcf05f, 0xc27dede8, 0xcf3ecb31, 0xcbffd686,
	0xd5b88683, 0xd1799b34, 0xdc3abded, 0xd8fba05a,
	0x690ce0ee, 0x6dcdfd59, 0x608edb80, 0x644fc637,
	0x7a089632, 0x7ec98b85, 0x738aad5c, 0x774bb0eb,
	0x4f040d56, 0x4bc510e1, 0x46863638, 0x42472b8f,
	0x5c007b8a, 0x58c1663d, 0x558240e4, 0x51435d53,
	0x251d3b9e, 0x21dc2629, 0x2c9f00f0, 0x285e1d47,
	0x36194d42, 0x32d850f5, 0x3f9b762c, 0x3b5a6b9b,
	0x0315d626, 0x07d4cb91, 0x0a97ed48, 0x0e56f0ff,
	0x1011a0fa, 0x14d0bd4d, 0x19939b94, 0x1d528623,
	0xf12f560e, 0xf5ee4bb9, 0xf8ad6d60, 0xfc6c70d7,
	0xe22b20d2, 0xe6ea3d65, 0xeba91bbc, 0xef68060b,
	0xd727bbb6, 0xd3e6a601, 0xdea580d8, 0xda649d6f,
	0xc423cd6a, 0xc0e2d0dd, 0xcda1f604, 0xc960ebb3,
	0xbd3e8d7e, 0xb9ff90c9, 0xb4bcb610, 0xb07daba7,
	0xae3afba2, 0xaafbe615, 0xa7b8c0cc, 0xa379dd7b,
	0x9b3660c6, 0x9ff77d71, 0x92b45ba8, 0x9675461f,
	0x8832161a, 0x8cf30bad, 0x81b02d74, 0x857130c3,
	0x5d8a9099, 0x594b8d2e, 0x5408abf7, 0x50c9b640,
	0x4e8ee645, 0x4a4ffbf2, 0x470cdd2b, 0x43cdc09c,
	0x7b827d21, 0x7f436096, 0x7200464f, 0x76c15bf8,
	0x68860bfd, 0x6c47164a, 0x61043093, 0x65c52d24,
	0x119b4be9, 0x155a565e, 0x18197087, 0x1cd86d30,
	0x029f3d35, 0x065e2082, 0x0b1d065b, 0x0fdc1bec,
	0x3793a651, 0x3352bbe6, 0x3e119d3f, 0x3ad08088,
	0x2497d08d, 0x2056cd3a, 0x2d15ebe3, 0x29d4f654,
	0xc5a92679, 0xc1683bce, 0xcc2b1d17, 0xc8ea00a0,
	0xd6ad50a5, 0xd26c4d12, 0xdf2f6bcb, 0xdbee767c,
	0xe3a1cbc1, 0xe760d676, 0xea23f0af, 0xeee2ed18,
	0xf0a5bd1d, 0xf464a0aa, 0xf9278673, 0xfde69bc4,
	0x89b8fd09, 0x8d79e0be, 0x803ac667, 0x84fbdbd0,
	0x9abc8bd5, 0x9e7d9662, 0x933eb0bb, 0x97ffad0c,
	0xafb010b1, 0xab710d06, 0xa6322bdf, 0xa2f33668,
	0xbcb4666d, 0xb8757bda, 0xb5365d03, 0xb1f740b4,
};

static uint32_t ogg_crc(const uint8_t *p, size_t n)
{
	uint32_t crc = 0;
	for (size_t i = 0; i < n; i++)
		crc = (crc << 8) ^ crc_table[((crc >> 24) ^ p[i]) & 0xff];
	return crc;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Sets the sequence number of a whole page at p and recomputes its CRC. */
static void page_seal(uint8_t *p, size_t len, uint32_t seq)
{
	put32(p + 18, seq);
	put32(p + 22, 0);
	put32(p + 22, ogg_crc(p, len));
}

/* Writes a page header for nlace lacing values; returns its length. */
static size_t page_header(uint8_t *p, int flags, int64_t granule,
			  uint32_t serial, const uint8_t *lace, int nlace)
{
	memcpy(p, "OggS", 4);
	p[4] = 0;
	p[5] = (uint8_t)flags;
	put64(p + 6, (uint64_t)granule);
	put32(p + 14, serial);
	put32(p + 18, 0);
	put32(p + 22, 0);
	p[26] = (uint8_t)nlace;
	memcpy(p + PAGE_HEADER, lace, (size_t)nlace);
	return PAGE_HEADER + (size_t)nlace;
}

static int lace_count(size_t len)
{
	return (int)(len / 255) + 1;
}

static void lace_fill(uint8_t *lace, size_t len)
{
	int n = lace_count(len);
	for (int i = 0; i < n - 1; i++)
		lace[i] = 255;
	lace[n - 1] = (uint8_t)(len % 255);
}

/* A page holding exactly one packet, as the headers need (len <= 255*255
 * is guaranteed by TT_MAX_OPUS_TAGS). Returns the page length. */
static size_t single_page(uint8_t *p, int flags, uint32_t serial,
			  uint32_t seq, const uint8_t *data, size_t len)
{
	uint8_t lace[MAX_LACING];
	size_t h;

	lace_fill(lace, len);
	h = page_header(p, flags, 0, serial, lace, lace_count(len));
	memcpy(p + h, data, len);
	page_seal(p, h + len, seq);
	return h + len;
}

void oggmux_config_default(oggmux_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->serial = 0x74757474u;
	cfg->channels = 2;
	cfg->pre_skip = 312;
	cfg->input_rate = 48000;
	cfg->output_gain = 0;
	cfg->page_samples = 0;
	cfg->vendor = NULL;
	cfg->comments = NULL;
	cfg->ncomments = 0;
}

static int check_config(const oggmux_config *cfg)
{
	if (cfg->channels != 1 && cfg->channels != 2)
		return TT_EINVAL;
	if (cfg->pre_skip < 0 || cfg->pre_skip > 65535)
		return TT_EINVAL;
	if (cfg->page_samples < 0 || cfg->ncomments < 0)
		return TT_EINVAL;
	if (cfg->ncomments > 0 && !cfg->comments)
		return TT_EINVAL;
	for (int i = 0; i < cfg->ncomments; i++)
		if (!cfg->comments[i] || !strchr(cfg->comments[i], '=') ||
		    cfg->comments[i][0] == '=')
			return TT_EINVAL;
	return TT_OK;
}

/* Size of the OpusTags packet for cfg, or 0 past TT_MAX_OPUS_TAGS. */
static size_t tags_size(const oggmux_config *cfg, const char *vendor)
{
	size_t n = 8 + 4 + strlen(vendor) + 4;
	for (int i = 0; i < cfg->ncomments; i++) {
		n += 4 + strlen(cfg->comments[i]);
		if (n > TT_MAX_OPUS_TAGS)
			return 0;
	}
	return n > TT_MAX_OPUS_TAGS ? 0 : n;
}

static void tags_fill(uint8_t *p, const oggmux_config *cfg,
		      const char *vendor)
{
	size_t vl = strlen(vendor), off;

	memcpy(p, "OpusTags", 8);
	put32(p + 8, (uint32_t)vl);
	memcpy(p + 12, vendor, vl);
	off = 12 + vl;
	put32(p + off, (uint32_t)cfg->ncomments);
	off += 4;
	for (int i = 0; i < cfg->ncomments; i++) {
		size_t cl = strlen(cfg->comments[i]);
		put32(p + off, (uint32_t)cl);
		memcpy(p + off + 4, cfg->comments[i], cl);
		off += 4 + cl;
	}
}

static void head_fill(uint8_t *p, const oggmux_config *cfg)
{
	memcpy(p, "OpusHead", 8);
	p[8] = 1;
	p[9] = (uint8_t)cfg->channels;
	put16(p + 10, (uint32_t)cfg->pre_skip);
	put32(p + 12, cfg->input_rate);
	put16(p + 16, (uint16_t)cfg->output_gain);
	p[18] = 0; /* mapping family 0: mono or stereo, no table */
}

/* Builds both header pages into m->headers (invariant 5). */
static int build_headers(oggmux *m, const oggmux_config *cfg)
{
	const char *vendor = cfg->vendor ? cfg->vendor : "tutti";
	uint8_t head[OPUSHEAD_LEN];
	uint8_t *tags = NULL;
	size_t tl = tags_size(cfg, vendor);
	int rc = TT_OK;

	if (tl == 0)
		return TT_ELIMIT;
	tags = malloc(tl);
	m->headers = malloc(OGGMUX_MAX_HEADERS);
	if (!tags || !m->headers) {
		rc = TT_ENOMEM;
		goto out;
	}
	head_fill(head, cfg);
	tags_fill(tags, cfg, vendor);
	m->head_page_len = single_page(m->headers, FLAG_BOS, m->serial, 0,
				       head, sizeof head);
	m->headers_len = m->head_page_len +
			 single_page(m->headers + m->head_page_len, 0,
				     m->serial, 1, tags, tl);
	m->seq = 2;
out:
	free(tags);
	return rc;
}

int oggmux_new(const oggmux_config *cfg, oggmux **out)
{
	oggmux *m = NULL;
	int rc;

	*out = NULL;
	rc = check_config(cfg);
	if (rc)
		goto out;
	m = calloc(1, sizeof *m);
	if (!m) {
		rc = TT_ENOMEM;
		goto out;
	}
	m->serial = cfg->serial;
	m->page_samples = cfg->page_samples;
	m->body = malloc(MAX_BODY);
	if (!m->body) {
		rc = TT_ENOMEM;
		goto out;
	}
	rc = build_headers(m, cfg);
	if (rc)
		goto out;
	*out = m;
	m = NULL;
out:
	oggmux_free(m);
	return rc;
}

void oggmux_free(oggmux *m)
{
	if (!m)
		return;
	free(m->body);
	free(m->headers);
	free(m);
}

void oggmux_headers(const oggmux *m, const uint8_t **data, size_t *len)
{
	*data = m->headers;
	*len = m->headers_len;
}

static size_t current_page_len(const oggmux *m)
{
	return PAGE_HEADER + (size_t)m->nlace + m->body_len;
}

/* Writes the current page to out and starts an empty one (invariant 2). */
static size_t page_emit(oggmux *m, int flags, uint8_t *out)
{
	size_t h = page_header(out, flags, m->page_granule, m->serial,
			       m->lace, m->nlace);
	size_t total = h + m->body_len;

	memcpy(out + h, m->body, m->body_len);
	page_seal(out, total, m->seq++);
	m->prev_end = m->page_granule;
	m->nlace = 0;
	m->body_len = 0;
	return total;
}

static bool packet_fits(const oggmux *m, size_t len)
{
	return m->nlace + lace_count(len) <= MAX_LACING &&
	       m->body_len + len <= MAX_BODY;
}

int oggmux_push(oggmux *m, const uint8_t *packet, size_t len, int64_t granule,
		bool eos, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t need = 0, after;
	int64_t start;
	bool flush_first, flush_after;

	if (!m || !packet || !out || !out_len)
		return TT_EINVAL;
	*out_len = 0;
	if (m->closed)
		return TT_ECLOSED;
	if (len < 1 || len > TT_MAX_OPUS_PACKET)
		return TT_EINVAL;
	if (granule < m->last_granule)
		return TT_EINVAL;
	/* Decide everything first, so a short buffer changes nothing
	 * (invariant 4). */
	flush_first = m->nlace > 0 && !packet_fits(m, len);
	if (flush_first)
		need += current_page_len(m);
	start = flush_first ? m->page_granule : m->prev_end;
	after = flush_first ? PAGE_HEADER + (size_t)lace_count(len) + len
			    : current_page_len(m) + (size_t)lace_count(len) +
				      len;
	flush_after = eos || m->page_samples == 0 ||
		      granule - start >= m->page_samples;
	if (flush_after)
		need += after;
	if (cap < need)
		return TT_ELIMIT;
	if (flush_first)
		*out_len += page_emit(m, 0, out);
	lace_fill(m->lace + m->nlace, len);
	m->nlace += lace_count(len);
	memcpy(m->body + m->body_len, packet, len);
	m->body_len += len;
	m->page_granule = granule;
	m->last_granule = granule;
	if (flush_after)
		*out_len += page_emit(m, eos ? FLAG_EOS : 0, out + *out_len);
	if (eos)
		m->closed = true;
	return TT_OK;
}

int oggmux_flush(oggmux *m, uint8_t *out, size_t cap, size_t *out_len)
{
	if (!m || !out || !out_len)
		return TT_EINVAL;
	*out_len = 0;
	if (m->nlace == 0)
		return TT_OK;
	if (cap < current_page_len(m))
		return TT_ELIMIT;
	*out_len = page_emit(m, 0, out);
	return TT_OK;
}

uint32_t oggmux_next_seq(const oggmux *m)
{
	return m->seq;
}

int oggmux_page_info(const uint8_t *data, size_t len, size_t *page_len,
		     uint32_t *seq, int64_t *granule)
{
	size_t body = 0, nseg;

	if (!data || len < PAGE_HEADER || memcmp(data, "OggS", 4) != 0 ||
	    data[4] != 0)
		return TT_EFORMAT;
	nseg = data[26];
	if (len < PAGE_HEADER + nseg)
		return TT_EFORMAT;
	for (size_t i = 0; i < nseg; i++)
		body += data[PAGE_HEADER + i];
	if (len < PAGE_HEADER + nseg + body)
		return TT_EFORMAT;
	if (page_len)
		*page_len = PAGE_HEADER + nseg + body;
	if (seq)
		*seq = get32(data + 18);
	if (granule)
		*granule = (int64_t)((uint64_t)get32(data + 6) |
				     (uint64_t)get32(data + 10) << 32);
	return TT_OK;
}
