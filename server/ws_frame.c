/*
 * server/ws_frame.c: the WebSocket frame parser and encoder.
 *
 * Design. The parser is a byte-driven state machine that never looks ahead
 * of what it was given, so any split of the input yields the same events:
 *
 *            +--------- frame complete, no event ---------+
 *            v                                            |
 *   --> HEADER --(header whole and valid)--> PAYLOAD -----+
 *        |  ^                                   |
 *        |  +--- frame complete, event out -----+
 *        |                                      |
 *        +---(violation)--> FAILED <--(violation, e.g. bad UTF-8)
 *   any CLOSE event --> CLOSED (input discarded)
 *
 * read_header() moves HEADER -> PAYLOAD, read_payload() PAYLOAD -> HEADER,
 * end_frame() emits the event, fail() enters FAILED.
 *
 * Invariants:
 *   1. In HEADER, hdr[0..hdr_len) are the bytes of the next frame header
 *      read so far, and those already checkable have been checked (the
 *      first two bytes are checked as soon as they are in, before the
 *      extended length arrives).
 *   2. In PAYLOAD, frame_done <= frame_len; for a data frame,
 *      msg_len + (frame_len - frame_done) <= cfg.max_message, checked from
 *      the header before any payload is stored.
 *   3. msg_opcode != 0 exactly while a data message is open (its first
 *      frame seen, its final frame not yet); fragments counts its frames.
 *   4. For a text message, utf8 has validated msg[0..msg_len): every
 *      payload byte is validated as soon as it is unmasked.
 *   5. msg_len <= msg_cap <= cfg.max_message, and msg_cap grows only when
 *      bytes arrive, to the larger of twice its size and what they need:
 *      a header announcing 4 MiB costs nothing until the 4 MiB come.
 *   6. FAILED and CLOSED are final.
 */
#include "server/ws_frame.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"

enum { ST_HEADER, ST_PAYLOAD, ST_FAILED, ST_CLOSED };

/* A delivered message buffer larger than this is freed rather than kept,
 * so that one large message does not pin memory for a connection's life. */
#define WS_KEEP_BUFFER (64 * 1024)

/* ---- masking ---- */

void ws_mask_copy(uint8_t *dst, const uint8_t *src, size_t n,
		  const uint8_t key[4], uint64_t offset)
{
	uint8_t m8[8];
	uint64_t m;
	size_t i = 0;

	for (int k = 0; k < 8; k++)
		m8[k] = key[(offset + (uint64_t)k) & 3];
	memcpy(&m, m8, 8);
	/* The key repeats every 4 bytes, so an 8-byte window starting at
	 * the same phase is the same in memory order on any endianness. */
	for (; n - i >= 8; i += 8) {
		uint64_t w;
		memcpy(&w, src + i, 8);
		w ^= m;
		memcpy(dst + i, &w, 8);
	}
	for (; i < n; i++)
		dst[i] = src[i] ^ m8[i & 7];
}

/* ---- configuration and lifecycle ---- */

void ws_parser_config_default(ws_parser_config *c)
{
	c->max_message = TT_MAX_WS_MESSAGE;
	c->max_fragments = TT_MAX_WS_FRAGMENTS;
	c->client_mode = 0;
}

void ws_parser_init(ws_parser *p, const ws_parser_config *cfg)
{
	memset(p, 0, sizeof *p);
	ws_parser_config_default(&p->cfg);
	if (cfg) {
		if (cfg->max_message)
			p->cfg.max_message = cfg->max_message;
		if (cfg->max_fragments)
			p->cfg.max_fragments = cfg->max_fragments;
		p->cfg.client_mode = cfg->client_mode ? 1 : 0;
	}
	p->state = ST_HEADER;
	utf8_init(&p->utf8);
}

int ws_parser_mid_message(const ws_parser *p)
{
	return p->state == ST_PAYLOAD || (p->state == ST_HEADER && p->hdr_len > 0) ||
	       (p->state == ST_HEADER && p->msg_opcode != 0);
}

void ws_parser_fini(ws_parser *p)
{
	free(p->msg);
	p->msg = NULL;
	p->msg_cap = 0;
	p->msg_len = 0;
}

/* ---- failure ---- */

static void error_event(const ws_parser *p, ws_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->type = WS_EV_ERROR;
	ev->close_code = p->err_code;
	ev->reason = p->err_reason;
}

__attribute__((format(printf, 4, 5)))
static int fail(ws_parser *p, ws_event *ev, unsigned code,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err_reason, sizeof p->err_reason, fmt, ap);
	va_end(ap);
	p->state = ST_FAILED;
	p->err_code = (uint16_t)code;
	if (code == WS_CLOSE_TOO_BIG)
		p->err_rc = TT_ELIMIT;
	else if (code == WS_CLOSE_INTERNAL)
		p->err_rc = TT_ENOMEM;
	else
		p->err_rc = TT_EPROTO;
	error_event(p, ev);
	return p->err_rc;
}

/* ---- header ---- */

static int is_control(unsigned opcode)
{
	return (opcode & 0x8) != 0;
}

/* Bytes the header needs in all, knowable once two bytes are in. */
static size_t header_size(const uint8_t *hdr)
{
	size_t n = 2;
	unsigned len7 = hdr[1] & 0x7F;

	if (len7 == 126)
		n += 2;
	else if (len7 == 127)
		n += 8;
	if (hdr[1] & 0x80)
		n += 4;
	return n;
}

/* Checks what the first two bytes alone can tell (invariant 1). */
static int check_start(ws_parser *p, ws_event *ev)
{
	unsigned b0 = p->hdr[0], b1 = p->hdr[1];
	unsigned opcode = b0 & 0x0F, len7 = b1 & 0x7F;
	int fin = (b0 & 0x80) != 0, masked = (b1 & 0x80) != 0;

	if (b0 & 0x70)
		return fail(p, ev, WS_CLOSE_PROTOCOL,
			    "reserved bits set without an extension");
	if ((opcode > WS_OP_BINARY && opcode < WS_OP_CLOSE) ||
	    opcode > WS_OP_PONG)
		return fail(p, ev, WS_CLOSE_PROTOCOL, "reserved opcode 0x%X",
			    opcode);
	if (!p->cfg.client_mode && !masked)
		return fail(p, ev, WS_CLOSE_PROTOCOL,
			    "unmasked frame from a client");
	if (p->cfg.client_mode && masked)
		return fail(p, ev, WS_CLOSE_PROTOCOL,
			    "masked frame from a server");
	if (is_control(opcode)) {
		if (!fin)
			return fail(p, ev, WS_CLOSE_PROTOCOL,
				    "fragmented control frame");
		if (len7 > WS_MAX_CONTROL)
			return fail(p, ev, WS_CLOSE_PROTOCOL,
				    "control frame over 125 bytes");
	} else if (opcode == WS_OP_CONTINUATION && !p->msg_opcode) {
		return fail(p, ev, WS_CLOSE_PROTOCOL,
			    "continuation frame without a message to continue");
	} else if (opcode != WS_OP_CONTINUATION && p->msg_opcode) {
		return fail(p, ev, WS_CLOSE_PROTOCOL,
			    "new data frame while a fragmented message is open");
	}
	return TT_OK;
}

/* The header is whole: decode it and check the limits (invariant 2). */
static int check_header(ws_parser *p, ws_event *ev)
{
	unsigned len7 = p->hdr[1] & 0x7F;
	size_t at = 2;
	uint64_t len = len7;

	p->opcode = p->hdr[0] & 0x0F;
	p->fin = (p->hdr[0] & 0x80) != 0;
	p->masked = (p->hdr[1] & 0x80) != 0;
	if (len7 >= 126) {
		size_t n = len7 == 126 ? 2 : 8;
		len = 0;
		for (size_t i = 0; i < n; i++)
			len = (len << 8) | p->hdr[at + i];
		at += n;
	}
	if (p->masked)
		memcpy(p->mask, p->hdr + at, 4);
	p->frame_len = len;
	p->frame_done = 0;
	if (is_control(p->opcode))
		return TT_OK;
	/* len may be anything up to 2^64-1: compare without adding to it. */
	if (len > p->cfg.max_message - p->msg_len)
		return fail(p, ev, WS_CLOSE_TOO_BIG,
			    "message over %zu bytes", p->cfg.max_message);
	if (p->fragments >= p->cfg.max_fragments)
		return fail(p, ev, WS_CLOSE_TOO_BIG,
			    "message in more than %zu fragments",
			    p->cfg.max_fragments);
	if (p->opcode != WS_OP_CONTINUATION) {
		p->msg_opcode = p->opcode;
		p->msg_len = 0;
		utf8_init(&p->utf8);
	}
	p->fragments++;
	return TT_OK;
}

/* Takes header bytes from data; *used says how many. 1: header whole. */
static int read_header(ws_parser *p, const uint8_t *data, size_t len,
		       size_t *used, ws_event *ev, int *rc)
{
	size_t i = 0;

	*rc = TT_OK;
	while (i < len) {
		size_t want = p->hdr_len < 2 ? 2 : header_size(p->hdr);
		if (p->hdr_len == want)
			break;
		p->hdr[p->hdr_len++] = data[i++];
		if (p->hdr_len == 2 && (*rc = check_start(p, ev)) < 0) {
			*used = i;
			return 0;
		}
	}
	*used = i;
	if (p->hdr_len < 2 || p->hdr_len < header_size(p->hdr))
		return 0;
	*rc = check_header(p, ev);
	return *rc == TT_OK;
}

/* ---- payload ---- */

/* Makes room for n more message bytes (invariant 5). */
static int grow_message(ws_parser *p, size_t n)
{
	size_t need = p->msg_len + n, cap;
	uint8_t *m;

	if (need <= p->msg_cap)
		return TT_OK;
	/* Double (so many small fragments cost few reallocs), but to hold
	 * no more than what has arrived when that is more (invariant 5). */
	cap = p->msg_cap ? p->msg_cap * 2 : 256;
	if (cap > p->cfg.max_message)
		cap = p->cfg.max_message;
	if (cap < need)
		cap = need;
	m = realloc(p->msg, cap);
	if (!m)
		return TT_ENOMEM;
	p->msg = m;
	p->msg_cap = cap;
	return TT_OK;
}

static void unmask_into(ws_parser *p, uint8_t *dst, const uint8_t *src,
			size_t n)
{
	if (p->masked)
		ws_mask_copy(dst, src, n, p->mask, p->frame_done);
	else
		memcpy(dst, src, n);
}

/* Stores the next n payload bytes of the current frame. */
static int store_payload(ws_parser *p, const uint8_t *src, size_t n,
			 ws_event *ev)
{
	uint8_t *dst;

	if (is_control(p->opcode)) {
		unmask_into(p, p->ctrl + p->frame_done, src, n);
		p->frame_done += n;
		return TT_OK;
	}
	if (grow_message(p, n) < 0)
		return fail(p, ev, WS_CLOSE_INTERNAL,
			    "out of memory for the message");
	dst = p->msg + p->msg_len;
	unmask_into(p, dst, src, n);
	p->msg_len += n;
	p->frame_done += n;
	if (p->msg_opcode == WS_OP_TEXT &&
	    utf8_feed(&p->utf8, dst, n, NULL) < 0)
		return fail(p, ev, WS_CLOSE_BAD_DATA,
			    "invalid UTF-8 in a text message");
	return TT_OK;
}

/* ---- frame ends ---- */

int ws_close_code_valid(unsigned code)
{
	if (code >= 3000 && code <= 4999)
		return 1;
	if (code >= 1000 && code <= 1003)
		return 1;
	return code >= 1007 && code <= 1014;
}

static int end_close(ws_parser *p, ws_event *ev)
{
	size_t n = (size_t)p->frame_len;
	unsigned code;

	if (n == 1)
		return fail(p, ev, WS_CLOSE_PROTOCOL,
			    "close frame with a 1-byte payload");
	code = n ? (unsigned)p->ctrl[0] << 8 | p->ctrl[1] : WS_CLOSE_NO_STATUS;
	if (n && !ws_close_code_valid(code))
		return fail(p, ev, WS_CLOSE_PROTOCOL, "invalid close code %u",
			    code);
	if (n > 2 && !utf8_valid(p->ctrl + 2, n - 2))
		return fail(p, ev, WS_CLOSE_BAD_DATA,
			    "invalid UTF-8 in a close reason");
	p->state = ST_CLOSED;
	ev->type = WS_EV_CLOSE;
	ev->close_code = (uint16_t)code;
	ev->data = n ? p->ctrl + 2 : p->ctrl;
	ev->len = n ? n - 2 : 0;
	return TT_OK;
}

/* The current frame is complete: emit its event, if it has one. */
static int end_frame(ws_parser *p, ws_event *ev)
{
	p->state = ST_HEADER;
	p->hdr_len = 0;
	if (is_control(p->opcode)) {
		p->ctrl[p->frame_len] = 0;
		if (p->opcode == WS_OP_CLOSE)
			return end_close(p, ev);
		ev->type = p->opcode == WS_OP_PING ? WS_EV_PING : WS_EV_PONG;
		ev->data = p->ctrl;
		ev->len = (size_t)p->frame_len;
		return TT_OK;
	}
	if (!p->fin)
		return TT_OK;
	if (p->msg_opcode == WS_OP_TEXT && !utf8_complete(&p->utf8))
		return fail(p, ev, WS_CLOSE_BAD_DATA,
			    "text message ends inside a UTF-8 sequence");
	ev->type = p->msg_opcode == WS_OP_TEXT ? WS_EV_TEXT : WS_EV_BINARY;
	ev->data = p->msg ? p->msg : p->ctrl;
	ev->len = p->msg_len;
	p->msg_opcode = 0;
	p->fragments = 0;
	p->msg_delivered = 1;
	return TT_OK;
}

/* Forgets a message delivered by the previous call (its pointer expires). */
static void release_delivered(ws_parser *p)
{
	if (!p->msg_delivered)
		return;
	p->msg_delivered = 0;
	p->msg_len = 0;
	if (p->msg_cap > WS_KEEP_BUFFER) {
		free(p->msg);
		p->msg = NULL;
		p->msg_cap = 0;
	}
}

/* ---- the feed loop ---- */

int ws_parser_feed(ws_parser *p, const void *data, size_t len,
		   size_t *consumed, ws_event *ev)
{
	static const uint8_t none[1];
	const uint8_t *in = len ? data : none; /* no arithmetic on NULL */
	size_t pos = 0;
	int rc = TT_OK;

	memset(ev, 0, sizeof *ev);
	*consumed = 0;
	if (p->state == ST_FAILED) {
		error_event(p, ev);
		return p->err_rc;
	}
	if (p->state == ST_CLOSED) {
		*consumed = len;
		return TT_OK;
	}
	release_delivered(p);
	for (;;) {
		if (p->state == ST_HEADER) {
			size_t used;
			int whole = read_header(p, in + pos, len - pos, &used,
						ev, &rc);
			pos += used;
			if (rc < 0 || !whole)
				break;
			p->state = ST_PAYLOAD;
		}
		if (p->frame_done < p->frame_len) {
			size_t n = len - pos;
			if (n > p->frame_len - p->frame_done)
				n = (size_t)(p->frame_len - p->frame_done);
			if (n == 0)
				break;
			rc = store_payload(p, in + pos, n, ev);
			pos += n;
			if (rc < 0 || p->frame_done < p->frame_len)
				break;
		}
		rc = end_frame(p, ev);
		if (rc < 0 || ev->type != WS_EV_NEED_MORE)
			break;
	}
	*consumed = pos;
	return rc;
}

/* ---- encoder ---- */

static size_t put_length(uint8_t *out, unsigned mask_bit, uint64_t len)
{
	if (len <= 125) {
		out[1] = (uint8_t)(mask_bit | len);
		return 2;
	}
	if (len <= 0xFFFF) {
		out[1] = (uint8_t)(mask_bit | 126);
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = (uint8_t)(mask_bit | 127);
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

size_t ws_frame_header(unsigned opcode, int fin, uint64_t payload_len,
		       uint8_t out[WS_MAX_SERVER_HEADER])
{
	out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
	return put_length(out, 0, payload_len);
}

size_t ws_frame_masked_size(uint64_t len)
{
	return len <= 125 ? 6 : len <= 0xFFFF ? 8 : 14;
}

int ws_frame_encode_masked(unsigned opcode, int fin, const void *payload,
			   size_t len, const uint8_t mask_key[4], uint8_t *out,
			   size_t cap, size_t *out_len)
{
	size_t h = ws_frame_masked_size(len);

	*out_len = 0;
	if (cap < h || cap - h < len)
		return TT_ERANGE;
	out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
	put_length(out, 0x80, len);
	memcpy(out + h - 4, mask_key, 4);
	if (len)
		ws_mask_copy(out + h, payload, len, mask_key, 0);
	*out_len = h + len;
	return TT_OK;
}

int ws_close_payload(unsigned code, const char *reason, uint8_t *out,
		     size_t cap)
{
	size_t n;

	if (code == 0)
		return 0;
	if (!ws_close_code_valid(code))
		return TT_EINVAL;
	if (cap < 2)
		return TT_ERANGE;
	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	if (!reason)
		return 2;
	n = cap - 2 < WS_MAX_CLOSE_REASON ? cap - 2 : WS_MAX_CLOSE_REASON;
	n = utf8_valid_prefix(reason, strnlen(reason, n + 1), n);
	memcpy(out + 2, reason, n);
	return (int)(2 + n);
}
