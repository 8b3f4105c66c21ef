/*
 * tests/fuzz/fuzz_wsframe.c: libFuzzer target for the WebSocket frame
 * parser (server/ws_frame).
 *
 * Input layout: byte 0 chooses the configuration (bit 0: client mode; bit 1:
 * small limits taken from byte 1, so that the limit paths are reachable by
 * short inputs), byte 1 seeds the chunk sizes, the rest is the wire stream.
 *
 * The stream is parsed twice, whole and in pseudo-random pieces of 1 to 64
 * bytes, and the two event sequences must be identical. Every event is
 * checked against the parser's contract (NEED_MORE eats all input, text is
 * valid UTF-8, sizes within the limits, close codes sendable, error codes
 * among 1002/1007/1009/1011), and every message is re-encoded and parsed
 * again to the same bytes. Any breach aborts, which libFuzzer reports.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/utf8.h"
#include "server/ws_frame.h"

#define MAX_RECS 8192

typedef struct rec {
	int type;
	unsigned code;
	size_t len;
	uint64_t hash;
} rec;

static rec whole[MAX_RECS], pieces[MAX_RECS];

static void fail_if(int cond, const char *what)
{
	if (cond) {
		fprintf(stderr, "fuzz_wsframe: %s\n", what);
		abort();
	}
}

static uint64_t fnv(const uint8_t *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h;
}

static void check_event(const ws_parser_config *c, const ws_event *ev, int rc)
{
	switch (ev->type) {
	case WS_EV_TEXT:
		fail_if(!utf8_valid(ev->data, ev->len), "text not UTF-8");
		/* fall through */
	case WS_EV_BINARY:
		fail_if(ev->len > c->max_message, "message over the limit");
		fail_if(rc != TT_OK, "message with an error return");
		break;
	case WS_EV_PING:
	case WS_EV_PONG:
		fail_if(ev->len > WS_MAX_CONTROL, "control payload too long");
		fail_if(ev->data[ev->len] != 0, "control payload not NUL-ended");
		break;
	case WS_EV_CLOSE:
		fail_if(ev->close_code != WS_CLOSE_NO_STATUS &&
			!ws_close_code_valid(ev->close_code), "bad close code");
		fail_if(ev->len > WS_MAX_CLOSE_REASON, "close reason too long");
		fail_if(!utf8_valid(ev->data, ev->len), "reason not UTF-8");
		break;
	case WS_EV_ERROR:
		fail_if(ev->close_code != 1002 && ev->close_code != 1007 &&
			ev->close_code != 1009 && ev->close_code != 1011,
			"unexpected error close code");
		fail_if(rc >= 0, "error event with a success return");
		fail_if(!ev->reason || strlen(ev->reason) > WS_MAX_CLOSE_REASON,
			"error reason missing or too long");
		break;
	default:
		fail_if(1, "unknown event type");
	}
}

/* Encodes the message again as its peer would and parses it back. */
static void round_trip(const ws_parser_config *c, const ws_event *ev)
{
	static const uint8_t key[4] = { 0xA5, 0x01, 0xFF, 0x7E };
	unsigned op = ev->type == WS_EV_TEXT ? WS_OP_TEXT : WS_OP_BINARY;
	size_t cap = ev->len + WS_MAX_HEADER, n = 0, used = 0;
	uint8_t *buf = malloc(cap);
	ws_parser p;
	ws_event back;

	fail_if(!buf, "out of memory");
	if (c->client_mode) {
		n = ws_frame_header(op, 1, ev->len, buf);
		if (ev->len)
			memcpy(buf + n, ev->data, ev->len);
		n += ev->len;
	} else {
		fail_if(ws_frame_encode_masked(op, 1, ev->data, ev->len, key, buf,
					       cap, &n) != TT_OK, "encode");
	}
	ws_parser_init(&p, c);
	ws_parser_feed(&p, buf, n, &used, &back);
	fail_if(back.type != ev->type || back.len != ev->len || used != n ||
		(ev->len && memcmp(back.data, ev->data, ev->len) != 0),
		"message does not survive re-encoding");
	ws_parser_fini(&p);
	free(buf);
}

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Parses data in pieces (chunked: pseudo-random sizes; else whole) and
 * records the events into out; returns their count. */
static size_t parse(const ws_parser_config *c, const uint8_t *data,
		    size_t size, int chunked, uint32_t seed, rec *out)
{
	ws_parser p;
	size_t off = 0, nrec = 0;
	int done = 0;

	ws_parser_init(&p, c);
	while (!done && off < size) {
		size_t piece = chunked ? 1 + next_rand(&seed) % 64 : size;
		if (piece > size - off)
			piece = size - off;
		size_t left = piece;
		const uint8_t *at = data + off;
		for (;;) {
			ws_event ev;
			size_t used = 0;
			int rc = ws_parser_feed(&p, at, left, &used, &ev);
			fail_if(used > left, "consumed more than given");
			at += used;
			left -= used;
			if (ev.type == WS_EV_NEED_MORE) {
				fail_if(left != 0, "NEED_MORE left input");
				break;
			}
			check_event(c, &ev, rc);
			if (!chunked && (ev.type == WS_EV_TEXT ||
					 ev.type == WS_EV_BINARY))
				round_trip(c, &ev);
			if (nrec < MAX_RECS) {
				rec *r = &out[nrec++];
				r->type = ev.type;
				r->code = ev.close_code;
				r->len = ev.len;
				r->hash = fnv(ev.data, ev.len);
			}
			if (ev.type == WS_EV_ERROR) {
				done = 1;
				break;
			}
		}
		off += piece;
	}
	ws_parser_fini(&p);
	return nrec;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ws_parser_config c;
	size_t a, b;

	if (size < 2)
		return 0;
	ws_parser_config_default(&c);
	c.client_mode = data[0] & 1;
	if (data[0] & 2) {
		c.max_message = 1 + data[1];
		c.max_fragments = 1 + (data[1] & 7);
	}
	a = parse(&c, data + 2, size - 2, 0, 0, whole);
	b = parse(&c, data + 2, size - 2, 1, 0x9E3779B9u ^ data[1], pieces);
	fail_if(a != b, "split input gives a different number of events");
	for (size_t i = 0; i < a; i++)
		fail_if(whole[i].type != pieces[i].type ||
			whole[i].code != pieces[i].code ||
			whole[i].len != pieces[i].len ||
			whole[i].hash != pieces[i].hash,
			"split input gives a different event");
	return 0;
}
