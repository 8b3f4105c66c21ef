/*
 * tests/server/test_ws_frame.c: the WebSocket frame codec (server/ws_frame).
 *
 * The RFC 6455 section 5.7 examples byte for byte; every close code the
 * parser can answer with; length encodings at 0/125/126/65535/65536; limits
 * at N and N+1 (a small configured limit, and the real TT_MAX_WS_MESSAGE
 * and TT_MAX_WS_FRAGMENTS); fragmentation with interleaved control frames;
 * and, for every stream, feeding byte at a time (and in other splits) gives
 * the same events as feeding it whole.
 */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"
#include "server/ws_frame.h"
#include "tests/tap.h"

static const uint8_t KEY[4] = { 0x37, 0xfa, 0x21, 0x3d }; /* RFC's key */

/* ---- a growable byte string for building streams ---- */

typedef struct bytes {
	uint8_t *p;
	size_t n, cap;
} bytes;

static void put(bytes *b, const void *s, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	if (n)
		memcpy(b->p + b->n, s, n);
	b->n += n;
}

/* Appends a masked frame, as a client sends it. */
static void frame(bytes *b, unsigned op, int fin, const void *s, size_t n)
{
	size_t cap = n + WS_MAX_HEADER, len = 0;
	uint8_t *tmp = malloc(cap);

	if (!tmp || ws_frame_encode_masked(op, fin, s, n, KEY, tmp, cap,
					   &len) != TT_OK)
		abort();
	put(b, tmp, len);
	free(tmp);
}

static void frame_str(bytes *b, unsigned op, int fin, const char *s)
{
	frame(b, op, fin, s, strlen(s));
}

/* ---- running the parser and recording its events ---- */

typedef struct rec {
	int type;
	int rc;
	unsigned code;
	size_t len;
	uint8_t *data;
} rec;

typedef struct run {
	rec ev[64];
	int n;
	size_t consumed; /* total input consumed */
	int overflow;
} run;

static void run_free(run *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->ev[i].data);
	r->n = 0;
}

/* Feeds [s, s+n) in pieces of chunk bytes (0: whole) into a fresh parser
 * configured by cfg, recording each event until ERROR or the end. */
static void feed_all(const ws_parser_config *cfg, const uint8_t *s, size_t n,
		     size_t chunk, run *r)
{
	ws_parser p;
	size_t off = 0;

	memset(r, 0, sizeof *r);
	ws_parser_init(&p, cfg);
	while (off < n || n == 0) {
		size_t piece = chunk && n - off > chunk ? chunk : n - off;
		const uint8_t *at = s + off;
		size_t left = piece;
		int stop = 0;
		for (;;) {
			ws_event ev;
			size_t used = 0;
			int rc = ws_parser_feed(&p, at, left, &used, &ev);
			at += used;
			left -= used;
			r->consumed += used;
			if (ev.type == WS_EV_NEED_MORE) {
				if (left != 0)
					r->overflow = 1; /* must eat all */
				break;
			}
			if (r->n == 64) {
				r->overflow = 1;
				stop = 1;
				break;
			}
			rec *e = &r->ev[r->n++];
			e->type = ev.type;
			e->rc = rc;
			e->code = ev.close_code;
			e->len = ev.len;
			e->data = malloc(ev.len + 1);
			if (ev.len)
				memcpy(e->data, ev.data, ev.len);
			if (ev.type == WS_EV_ERROR) {
				stop = 1;
				break;
			}
		}
		off += piece;
		if (stop || n == 0)
			break;
	}
	ws_parser_fini(&p);
}

static int same_runs(const run *a, const run *b)
{
	if (a->n != b->n || a->overflow || b->overflow)
		return 0;
	for (int i = 0; i < a->n; i++) {
		const rec *x = &a->ev[i], *y = &b->ev[i];
		if (x->type != y->type || x->rc != y->rc || x->code != y->code ||
		    x->len != y->len || memcmp(x->data, y->data, x->len) != 0)
			return 0;
	}
	return 1;
}

/* The stream gives the same events whole, byte at a time, and in pieces
 * of 2, 3, 7 and 100 bytes; r receives the whole-buffer run. */
static void feed_check(const ws_parser_config *cfg, const bytes *b,
		       const char *name, run *r)
{
	static const size_t chunks[] = { 1, 2, 3, 7, 100 };
	int same = 1;

	feed_all(cfg, b->p, b->n, 0, r);
	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		run other;
		feed_all(cfg, b->p, b->n, chunks[i], &other);
		if (!same_runs(r, &other))
			same = 0;
		run_free(&other);
	}
	ok(same, "%s: byte-at-a-time and other splits equal whole feeding",
	   name);
}

static int ev_is(const run *r, int i, int type, const char *payload)
{
	if (i >= r->n || r->ev[i].type != type)
		return 0;
	if (!payload)
		return 1;
	return r->ev[i].len == strlen(payload) &&
	       memcmp(r->ev[i].data, payload, r->ev[i].len) == 0;
}

/* Expects the stream to end in ERROR with code after nev good events. */
static void expect_error(const ws_parser_config *cfg, const bytes *b,
			 unsigned code, int rc, const char *name)
{
	run r;

	feed_check(cfg, b, name, &r);
	ok(r.n >= 1 && r.ev[r.n - 1].type == WS_EV_ERROR, "%s: error event",
	   name);
	if (r.n >= 1) {
		is_int(r.ev[r.n - 1].code, code, "%s: close code %u", name,
		       code);
		is_int(r.ev[r.n - 1].rc, rc, "%s: return code", name);
	}
	run_free(&r);
}

static ws_parser_config client_cfg(void)
{
	ws_parser_config c;
	ws_parser_config_default(&c);
	c.client_mode = 1;
	return c;
}

/* ---- RFC 6455 section 5.7 ---- */

static void test_rfc_examples(void)
{
	static const uint8_t hello_unmasked[] = { 0x81, 0x05, 'H', 'e', 'l',
						  'l', 'o' };
	static const uint8_t hello_masked[] = { 0x81, 0x85, 0x37, 0xfa, 0x21,
						0x3d, 0x7f, 0x9f, 0x4d, 0x51,
						0x58 };
	static const uint8_t frag[] = { 0x01, 0x03, 'H', 'e', 'l',
					0x80, 0x02, 'l', 'o' };
	static const uint8_t ping[] = { 0x89, 0x05, 'H', 'e', 'l', 'l', 'o' };
	static const uint8_t pong_masked[] = { 0x8a, 0x85, 0x37, 0xfa, 0x21,
					       0x3d, 0x7f, 0x9f, 0x4d, 0x51,
					       0x58 };
	ws_parser_config cc = client_cfg();
	uint8_t out[32], h[WS_MAX_SERVER_HEADER];
	size_t len = 0;
	bytes b = { 0 };
	run r;

	ok(ws_frame_encode_masked(WS_OP_TEXT, 1, "Hello", 5, KEY, out,
				  sizeof out, &len) == TT_OK &&
	   len == sizeof hello_masked &&
	   memcmp(out, hello_masked, len) == 0,
	   "encoder: masked \"Hello\" is the RFC's bytes");
	ok(ws_frame_header(WS_OP_TEXT, 1, 5, h) == 2 &&
	   memcmp(h, hello_unmasked, 2) == 0,
	   "encoder: unmasked \"Hello\" header is the RFC's bytes");

	put(&b, hello_masked, sizeof hello_masked);
	feed_check(NULL, &b, "RFC masked Hello", &r);
	ok(r.n == 1 && ev_is(&r, 0, WS_EV_TEXT, "Hello"),
	   "server parses the RFC's masked \"Hello\"");
	run_free(&r);
	b.n = 0;
	put(&b, hello_unmasked, sizeof hello_unmasked);
	feed_check(&cc, &b, "RFC unmasked Hello", &r);
	ok(r.n == 1 && ev_is(&r, 0, WS_EV_TEXT, "Hello"),
	   "client mode parses the RFC's unmasked \"Hello\"");
	run_free(&r);
	b.n = 0;
	put(&b, frag, sizeof frag);
	put(&b, ping, sizeof ping);
	feed_check(&cc, &b, "RFC fragments and ping", &r);
	ok(r.n == 2 && ev_is(&r, 0, WS_EV_TEXT, "Hello") &&
	   ev_is(&r, 1, WS_EV_PING, "Hello"),
	   "client mode: RFC's fragmented \"Hel\"+\"lo\", then its ping");
	run_free(&r);
	b.n = 0;
	put(&b, pong_masked, sizeof pong_masked);
	feed_check(NULL, &b, "RFC masked pong", &r);
	ok(r.n == 1 && ev_is(&r, 0, WS_EV_PONG, "Hello"),
	   "server parses the RFC's masked pong");
	run_free(&r);
	free(b.p);
}

/* ---- lengths ---- */

static void test_lengths(void)
{
	static const size_t sizes[] = { 0, 1, 125, 126, 127, 65535, 65536,
					100000 };
	static const size_t masked_hdr[] = { 6, 6, 6, 8, 8, 8, 14, 14 };
	static const size_t plain_hdr[] = { 2, 2, 2, 4, 4, 4, 10, 10 };

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n = sizes[i];
		uint8_t *pl = malloc(n + 1), h[WS_MAX_SERVER_HEADER];
		bytes b = { 0 };
		run r;
		char name[64];

		for (size_t j = 0; j < n; j++)
			pl[j] = (uint8_t)('a' + j % 26);
		is_int(ws_frame_masked_size(n), masked_hdr[i],
		       "masked header for %zu bytes", n);
		is_int(ws_frame_header(WS_OP_BINARY, 1, n, h), plain_hdr[i],
		       "server header for %zu bytes", n);
		frame(&b, WS_OP_BINARY, 1, pl, n);
		frame(&b, WS_OP_TEXT, 1, pl, n);
		snprintf(name, sizeof name, "%zu-byte messages", n);
		feed_check(NULL, &b, name, &r);
		ok(r.n == 2 && r.ev[0].type == WS_EV_BINARY &&
		   r.ev[0].len == n && memcmp(r.ev[0].data, pl, n) == 0 &&
		   r.ev[1].type == WS_EV_TEXT && r.ev[1].len == n &&
		   memcmp(r.ev[1].data, pl, n) == 0,
		   "%zu-byte binary and text round trip", n);
		run_free(&r);
		/* The same payload behind a server header, in client mode. */
		ws_parser_config cc = client_cfg();
		b.n = 0;
		put(&b, h, ws_frame_header(WS_OP_BINARY, 1, n, h));
		put(&b, pl, n);
		feed_all(&cc, b.p, b.n, 0, &r);
		ok(r.n == 1 && r.ev[0].type == WS_EV_BINARY &&
		   r.ev[0].len == n && memcmp(r.ev[0].data, pl, n) == 0,
		   "%zu bytes behind ws_frame_header parse in client mode", n);
		run_free(&r);
		free(b.p);
		free(pl);
	}
}

static void test_header_bytes(void)
{
	uint8_t h[WS_MAX_SERVER_HEADER];
	static const uint8_t h256[] = { 0x82, 0x7E, 0x01, 0x00 };
	static const uint8_t h64k[] = { 0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0 };

	ok(ws_frame_header(WS_OP_BINARY, 1, 256, h) == 4 &&
	   memcmp(h, h256, 4) == 0, "RFC: 256-byte binary header");
	ok(ws_frame_header(WS_OP_BINARY, 1, 65536, h) == 10 &&
	   memcmp(h, h64k, 10) == 0, "RFC: 64 KiB binary header");
	ws_frame_header(WS_OP_TEXT, 0, 3, h);
	is_int(h[0], 0x01, "fin 0 text header byte");
	ws_frame_header(WS_OP_CONTINUATION, 1, 3, h);
	is_int(h[0], 0x80, "fin 1 continuation header byte");
}

static void test_nonminimal_length(void)
{
	/* A 5-byte masked text frame whose length uses the 16-bit form. */
	uint8_t f[] = { 0x81, 0x80 | 126, 0x00, 0x05, 0, 0, 0, 0,
			'h', 'e', 'l', 'l', 'o' };
	bytes b = { 0 };
	run r;

	put(&b, f, sizeof f);
	feed_check(NULL, &b, "non-minimal length", &r);
	ok(r.n == 1 && ev_is(&r, 0, WS_EV_TEXT, "hello"),
	   "a non-minimal length encoding is accepted");
	run_free(&r);
	free(b.p);
}

/* ---- fragmentation ---- */

static void test_fragments(void)
{
	bytes b = { 0 };
	run r;

	frame_str(&b, WS_OP_TEXT, 0, "Hel");
	frame_str(&b, WS_OP_PING, 1, "p1");
	frame_str(&b, WS_OP_CONTINUATION, 0, "lo, ");
	frame_str(&b, WS_OP_PONG, 1, "");
	frame_str(&b, WS_OP_PING, 1, "p2");
	frame_str(&b, WS_OP_CONTINUATION, 1, "world");
	frame_str(&b, WS_OP_BINARY, 0, "\xFF");
	frame_str(&b, WS_OP_CONTINUATION, 0, "");
	frame_str(&b, WS_OP_CONTINUATION, 1, "\xFE");
	frame_str(&b, WS_OP_TEXT, 0, "");
	frame_str(&b, WS_OP_CONTINUATION, 1, "");
	frame_str(&b, WS_OP_TEXT, 1, "");
	frame(&b, WS_OP_CLOSE, 1, "\x03\xE8" "bye", 5);
	frame_str(&b, WS_OP_TEXT, 1, "after close: ignored");
	feed_check(NULL, &b, "fragments with pings", &r);
	is_int(r.n, 8, "fragments: event count");
	ok(ev_is(&r, 0, WS_EV_PING, "p1"), "ping inside a text message");
	ok(ev_is(&r, 1, WS_EV_PONG, ""), "empty pong inside it");
	ok(ev_is(&r, 2, WS_EV_PING, "p2"), "second ping inside it");
	ok(ev_is(&r, 3, WS_EV_TEXT, "Hello, world"),
	   "text reassembled from three fragments around control frames");
	ok(ev_is(&r, 4, WS_EV_BINARY, "\xFF\xFE"),
	   "binary from fragments, one of them empty");
	ok(ev_is(&r, 5, WS_EV_TEXT, ""), "empty fragmented text");
	ok(ev_is(&r, 6, WS_EV_TEXT, ""), "empty single-frame text");
	ok(ev_is(&r, 7, WS_EV_CLOSE, "bye") && r.ev[7].code == 1000,
	   "close 1000 \"bye\"; nothing after it is parsed");
	is_int(r.consumed, b.n, "bytes after the close are consumed");
	run_free(&r);
	free(b.p);
}

static void test_utf8_across_fragments(void)
{
	bytes b = { 0 };
	run r;

	/* The euro sign E2 82 AC cut 2 + 1 across fragments, and 1 + 1 + 1. */
	frame_str(&b, WS_OP_TEXT, 0, "\xE2\x82");
	frame_str(&b, WS_OP_CONTINUATION, 1, "\xAC");
	frame_str(&b, WS_OP_TEXT, 0, "\xE2");
	frame_str(&b, WS_OP_CONTINUATION, 0, "\x82");
	frame_str(&b, WS_OP_PING, 1, "");
	frame_str(&b, WS_OP_CONTINUATION, 1, "\xAC!");
	feed_check(NULL, &b, "UTF-8 across fragments", &r);
	ok(r.n == 3 && ev_is(&r, 0, WS_EV_TEXT, "\xE2\x82\xAC") &&
	   ev_is(&r, 2, WS_EV_TEXT, "\xE2\x82\xAC!"),
	   "a code point cut between fragments is completed by the next");
	run_free(&r);
	b.n = 0;
	frame_str(&b, WS_OP_TEXT, 0, "ok \xE2\x82");
	frame_str(&b, WS_OP_CONTINUATION, 1, "");
	expect_error(NULL, &b, 1007, TT_EPROTO,
		     "text ending inside a code point");
	b.n = 0;
	/* Fail fast: the first fragment's bad byte fails before any more. */
	frame_str(&b, WS_OP_TEXT, 0, "ab\xC0\xAF");
	expect_error(NULL, &b, 1007, TT_EPROTO,
		     "overlong in an unfinished first fragment");
	b.n = 0;
	frame_str(&b, WS_OP_TEXT, 0, "\xF4");
	frame_str(&b, WS_OP_CONTINUATION, 0, "\x90");
	expect_error(NULL, &b, 1007, TT_EPROTO,
		     "U+110000 split across unfinished fragments");
	b.n = 0;
	frame_str(&b, WS_OP_TEXT, 1, "\xED\xA0\x80");
	expect_error(NULL, &b, 1007, TT_EPROTO, "surrogate in a text frame");
	b.n = 0;
	frame_str(&b, WS_OP_BINARY, 1, "\xED\xA0\x80\xFF");
	feed_all(NULL, b.p, b.n, 0, &r);
	ok(r.n == 1 && r.ev[0].type == WS_EV_BINARY,
	   "binary messages are not checked for UTF-8");
	run_free(&r);
	free(b.p);
}

static void test_utf8_fail_fast_in_frame(void)
{
	/* Header of a 100-byte text frame and only its first 3 bytes: the
	 * parser must fail on the third without waiting for the rest. */
	uint8_t pl[100], out[128];
	size_t len = 0, used = 0;
	ws_parser p;
	ws_event ev;

	memset(pl, 'a', sizeof pl);
	pl[2] = 0xFF;
	ws_frame_encode_masked(WS_OP_TEXT, 1, pl, sizeof pl, KEY, out,
			       sizeof out, &len);
	ws_parser_init(&p, NULL);
	ws_parser_feed(&p, out, 8 + 3, &used, &ev);
	ok(ev.type == WS_EV_ERROR && ev.close_code == 1007,
	   "invalid UTF-8 is reported before its frame is complete");
	ok(ev.reason && strstr(ev.reason, "UTF-8") != NULL,
	   "the reason names UTF-8 (%s)", ev.reason ? ev.reason : "");
	ws_parser_feed(&p, out + 11, len - 11, &used, &ev);
	ok(ev.type == WS_EV_ERROR && ev.close_code == 1007 && used == 0,
	   "the error is sticky and consumes nothing more");
	ws_parser_fini(&p);
}

/* ---- protocol errors (1002) ---- */

static void test_protocol_errors(void)
{
	ws_parser_config cc = client_cfg();
	bytes b = { 0 };
	uint8_t raw[16];

	raw[0] = 0x81; raw[1] = 0x02; raw[2] = 'h'; raw[3] = 'i';
	put(&b, raw, 4);
	expect_error(NULL, &b, 1002, TT_EPROTO, "unmasked client frame");
	b.n = 0;
	frame_str(&b, WS_OP_TEXT, 1, "hi");
	expect_error(&cc, &b, 1002, TT_EPROTO,
		     "masked server frame in client mode");
	for (unsigned rsv = 0x10; rsv <= 0x40; rsv <<= 1) {
		b.n = 0;
		frame_str(&b, WS_OP_TEXT, 1, "hi");
		b.p[0] |= (uint8_t)rsv;
		expect_error(NULL, &b, 1002, TT_EPROTO,
			     rsv == 0x40 ? "RSV1 set" :
			     rsv == 0x20 ? "RSV2 set" : "RSV3 set");
	}
	for (unsigned op = 3; op <= 0xF; op++) {
		char name[32];
		if (op >= WS_OP_CLOSE && op <= WS_OP_PONG)
			continue;
		b.n = 0;
		frame_str(&b, op, 1, "x");
		snprintf(name, sizeof name, "reserved opcode 0x%X", op);
		expect_error(NULL, &b, 1002, TT_EPROTO, name);
	}
	b.n = 0;
	raw[0] = 0x89; raw[1] = 0x80 | 126; raw[2] = 0; raw[3] = 126;
	put(&b, raw, 4);
	put(&b, KEY, 4);
	expect_error(NULL, &b, 1002, TT_EPROTO, "ping of 126 bytes");
	b.n = 0;
	raw[0] = 0x88; raw[1] = 0x80 | 127;
	put(&b, raw, 2);
	expect_error(NULL, &b, 1002, TT_EPROTO,
		     "close with a 64-bit length, told from 2 bytes");
	b.n = 0;
	frame_str(&b, WS_OP_PING, 0, "frag");
	expect_error(NULL, &b, 1002, TT_EPROTO, "fragmented ping");
	b.n = 0;
	frame_str(&b, WS_OP_CONTINUATION, 1, "lost");
	expect_error(NULL, &b, 1002, TT_EPROTO, "continuation without start");
	b.n = 0;
	frame_str(&b, WS_OP_TEXT, 1, "done");
	frame_str(&b, WS_OP_CONTINUATION, 1, "more");
	expect_error(NULL, &b, 1002, TT_EPROTO,
		     "continuation after a finished message");
	b.n = 0;
	frame_str(&b, WS_OP_TEXT, 0, "open");
	frame_str(&b, WS_OP_BINARY, 1, "new");
	expect_error(NULL, &b, 1002, TT_EPROTO,
		     "new data frame inside a fragmented message");
	b.n = 0;
	frame_str(&b, WS_OP_BINARY, 0, "open");
	frame_str(&b, WS_OP_TEXT, 0, "new");
	expect_error(NULL, &b, 1002, TT_EPROTO,
		     "new text frame inside a fragmented binary message");
	free(b.p);
}

static void test_ping_125(void)
{
	char pl[126];
	bytes b = { 0 };
	run r;

	memset(pl, 'p', 125);
	pl[125] = 0;
	frame_str(&b, WS_OP_PING, 1, pl);
	frame_str(&b, WS_OP_PONG, 1, pl);
	feed_check(NULL, &b, "125-byte ping", &r);
	ok(r.n == 2 && ev_is(&r, 0, WS_EV_PING, pl) &&
	   ev_is(&r, 1, WS_EV_PONG, pl),
	   "control frames of exactly 125 bytes are accepted");
	run_free(&r);
	free(b.p);
}

/* ---- close frames ---- */

static void test_close(void)
{
	static const unsigned good[] = { 1000, 1001, 1002, 1003, 1007, 1008,
					 1009, 1010, 1011, 1012, 1013, 1014,
					 3000, 3999, 4000, 4999 };
	static const unsigned bad[] = { 0, 1, 999, 1004, 1005, 1006, 1015,
					1016, 1100, 2000, 2999, 5000, 65535 };
	bytes b = { 0 };
	run r;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		uint8_t pl[2] = { (uint8_t)(good[i] >> 8), (uint8_t)good[i] };
		b.n = 0;
		frame(&b, WS_OP_CLOSE, 1, pl, 2);
		feed_all(NULL, b.p, b.n, 0, &r);
		ok(r.n == 1 && r.ev[0].type == WS_EV_CLOSE &&
		   r.ev[0].code == good[i] && r.ev[0].len == 0,
		   "close code %u accepted", good[i]);
		run_free(&r);
		ok(ws_close_code_valid(good[i]), "%u is sendable", good[i]);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t pl[2] = { (uint8_t)(bad[i] >> 8), (uint8_t)bad[i] };
		char name[48];
		b.n = 0;
		frame(&b, WS_OP_CLOSE, 1, pl, 2);
		snprintf(name, sizeof name, "close code %u", bad[i]);
		expect_error(NULL, &b, 1002, TT_EPROTO, name);
		ok(!ws_close_code_valid(bad[i]), "%u is not sendable", bad[i]);
	}
	b.n = 0;
	frame(&b, WS_OP_CLOSE, 1, "", 0);
	feed_all(NULL, b.p, b.n, 0, &r);
	ok(r.n == 1 && r.ev[0].type == WS_EV_CLOSE && r.ev[0].code == 1005,
	   "empty close reports 1005 (no status)");
	run_free(&r);
	b.n = 0;
	frame(&b, WS_OP_CLOSE, 1, "\x03", 1);
	expect_error(NULL, &b, 1002, TT_EPROTO, "close with 1-byte payload");
	{
		ws_parser p;
		ws_event ev;
		size_t used;
		ws_parser_init(&p, NULL);
		ws_parser_feed(&p, b.p, b.n, &used, &ev);
		ok(ev.reason && strstr(ev.reason, "1-byte"),
		   "1-byte close: the reason says so (%s)",
		   ev.reason ? ev.reason : "(null)");
		ws_parser_fini(&p);
	}
	b.n = 0;
	frame(&b, WS_OP_CLOSE, 1, "\x03\xE8\xCE\xBA\xCE", 5);
	expect_error(NULL, &b, 1007, TT_EPROTO,
		     "close reason with a cut code point");
	b.n = 0;
	frame(&b, WS_OP_CLOSE, 1, "\x03\xE8\xED\xA0\x80", 5);
	expect_error(NULL, &b, 1007, TT_EPROTO, "close reason surrogate");
	b.n = 0;
	frame(&b, WS_OP_CLOSE, 1, "\x0F\xA0\xCE\xBA\xE1\xBD\xB9", 7);
	feed_all(NULL, b.p, b.n, 0, &r);
	ok(r.n == 1 && ev_is(&r, 0, WS_EV_CLOSE, "\xCE\xBA\xE1\xBD\xB9") &&
	   r.ev[0].code == 4000, "close 4000 with a UTF-8 reason");
	run_free(&r);
	free(b.p);
}

static void test_close_payload(void)
{
	uint8_t out[200];
	char reason[201];

	is_int(ws_close_payload(1000, "bye", out, sizeof out), 5,
	       "close payload 1000 bye: length");
	ok(memcmp(out, "\x03\xE8" "bye", 5) == 0,
	   "close payload 1000 bye: bytes");
	is_int(ws_close_payload(0, "x", out, sizeof out), 0,
	       "code 0: empty payload");
	is_int(ws_close_payload(1009, NULL, out, sizeof out), 2,
	       "no reason: code only");
	is_int(ws_close_payload(1005, "x", out, sizeof out), TT_EINVAL,
	       "1005 may not be sent");
	is_int(ws_close_payload(1006, NULL, out, sizeof out), TT_EINVAL,
	       "1006 may not be sent");
	is_int(ws_close_payload(1000, "x", out, 1), TT_ERANGE,
	       "no room for the code");
	memset(reason, 'r', 200);
	reason[200] = 0;
	is_int(ws_close_payload(1000, reason, out, sizeof out), 125,
	       "a long reason is cut to 123 bytes");
	memset(reason, 'r', 122);
	memcpy(reason + 122, "\xC3\xA9", 3);
	is_int(ws_close_payload(1000, reason, out, sizeof out), 124,
	       "the cut never splits a code point (122 + e-acute)");
	memset(reason, 'r', 121);
	memcpy(reason + 121, "\xC3\xA9", 3);
	is_int(ws_close_payload(1000, reason, out, sizeof out), 125,
	       "121 + e-acute fits exactly");
	is_int(ws_close_payload(1000, "ab\xFF" "cd", out, sizeof out), 4,
	       "invalid UTF-8 in a reason is cut off");
	is_int(ws_close_payload(1000, "abcdef", out, 5), 5,
	       "the reason is cut to fit cap");
}

/* ---- limits (1009) ---- */

static void test_size_limit_small(void)
{
	ws_parser_config c;
	uint8_t *pl = malloc(1001);
	bytes b = { 0 };
	run r;

	ws_parser_config_default(&c);
	c.max_message = 1000;
	memset(pl, 'x', 1001);
	frame(&b, WS_OP_TEXT, 1, pl, 1000);
	frame(&b, WS_OP_TEXT, 0, pl, 500);
	frame(&b, WS_OP_PING, 1, "", 0);
	frame(&b, WS_OP_CONTINUATION, 1, pl, 500);
	feed_check(&c, &b, "messages of exactly the limit", &r);
	ok(r.n == 3 && r.ev[0].len == 1000 && r.ev[2].len == 1000 &&
	   r.ev[2].type == WS_EV_TEXT,
	   "a 1000-byte message at limit 1000 is accepted, whole or in parts");
	run_free(&r);
	b.n = 0;
	frame(&b, WS_OP_BINARY, 1, pl, 1001);
	expect_error(&c, &b, 1009, TT_ELIMIT, "1001 bytes at limit 1000");
	b.n = 0;
	frame(&b, WS_OP_TEXT, 0, pl, 500);
	frame(&b, WS_OP_CONTINUATION, 1, pl, 501);
	expect_error(&c, &b, 1009, TT_ELIMIT, "500 + 501 fragments at 1000");
	/* The limit is seen in the header, before any payload. */
	{
		ws_parser p;
		ws_event ev;
		size_t used = 0;
		b.n = 0;
		frame(&b, WS_OP_BINARY, 1, pl, 1001);
		ws_parser_init(&p, &c);
		ws_parser_feed(&p, b.p, 8, &used, &ev);
		ok(ev.type == WS_EV_ERROR && ev.close_code == 1009 &&
		   used == 8, "1009 from the header alone (8 bytes consumed)");
		ws_parser_fini(&p);
	}
	free(pl);
	free(b.p);
}

/* Feeds a masked header announcing len bytes and nothing else. */
static void header_only(uint64_t len, ws_event *ev, size_t *cap)
{
	uint8_t h[WS_MAX_HEADER];
	ws_parser p;
	size_t used = 0;

	h[0] = 0x82;
	h[1] = 0x80 | 127;
	for (int i = 0; i < 8; i++)
		h[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	memcpy(h + 10, KEY, 4);
	ws_parser_init(&p, NULL);
	ws_parser_feed(&p, h, sizeof h, &used, ev);
	*cap = p.msg_cap;
	ws_parser_fini(&p);
}

static void test_size_limit_real(void)
{
	ws_event ev;
	size_t cap = 1;

	header_only(TT_MAX_WS_MESSAGE, &ev, &cap);
	ok(ev.type == WS_EV_NEED_MORE, "header for TT_MAX_WS_MESSAGE bytes: "
	   "waits for the payload");
	is_int(cap, 0, "and has allocated nothing ahead of the data");
	header_only((uint64_t)TT_MAX_WS_MESSAGE + 1, &ev, &cap);
	ok(ev.type == WS_EV_ERROR && ev.close_code == 1009,
	   "header for TT_MAX_WS_MESSAGE + 1 bytes: 1009");
	header_only(0x7FFFFFFFFFFFFFFFull, &ev, &cap);
	ok(ev.type == WS_EV_ERROR && ev.close_code == 1009,
	   "64-bit length 2^63-1: 1009");
	header_only(0x8000000000000000ull, &ev, &cap);
	ok(ev.type == WS_EV_ERROR && ev.close_code == 1009,
	   "64-bit length with the top bit set: 1009");
	header_only(0xFFFFFFFFFFFFFFFFull, &ev, &cap);
	ok(ev.type == WS_EV_ERROR && ev.close_code == 1009,
	   "64-bit length 2^64-1: 1009");
}

static void test_size_limit_real_full(void)
{
	size_t n = TT_MAX_WS_MESSAGE;
	uint8_t *pl = malloc(n + 1);
	bytes b = { 0 };
	run r;

	for (size_t i = 0; i < n; i++)
		pl[i] = (uint8_t)(i * 7);
	frame(&b, WS_OP_BINARY, 0, pl, n / 2);
	frame(&b, WS_OP_CONTINUATION, 1, pl + n / 2, n - n / 2);
	feed_all(NULL, b.p, b.n, 0, &r);
	ok(r.n == 1 && r.ev[0].type == WS_EV_BINARY && r.ev[0].len == n &&
	   memcmp(r.ev[0].data, pl, n) == 0,
	   "a message of exactly TT_MAX_WS_MESSAGE bytes is delivered");
	run_free(&r);
	feed_all(NULL, b.p, b.n, 65536, &r);
	ok(r.n == 1 && r.ev[0].len == n && memcmp(r.ev[0].data, pl, n) == 0,
	   "and the same fed in 64 KiB reads");
	run_free(&r);
	b.n = 0;
	frame(&b, WS_OP_BINARY, 0, pl, n / 2);
	frame(&b, WS_OP_CONTINUATION, 1, pl, n - n / 2 + 1);
	feed_all(NULL, b.p, b.n, 0, &r);
	ok(r.n == 1 && r.ev[0].type == WS_EV_ERROR && r.ev[0].code == 1009,
	   "TT_MAX_WS_MESSAGE + 1 bytes over two fragments: 1009");
	run_free(&r);
	free(pl);
	free(b.p);
}

static void fragments_stream(bytes *b, size_t frames)
{
	for (size_t i = 0; i < frames; i++)
		frame(b, i == 0 ? WS_OP_TEXT : WS_OP_CONTINUATION,
		      i + 1 == frames, "f", 1);
}

static void test_fragment_limit(void)
{
	ws_parser_config c;
	bytes b = { 0 };
	run r;

	ws_parser_config_default(&c);
	c.max_fragments = 4;
	fragments_stream(&b, 4);
	fragments_stream(&b, 4);
	feed_check(&c, &b, "4 fragments at limit 4", &r);
	ok(r.n == 2 && ev_is(&r, 0, WS_EV_TEXT, "ffff") &&
	   ev_is(&r, 1, WS_EV_TEXT, "ffff"),
	   "messages of exactly 4 fragments at limit 4 (count restarts)");
	run_free(&r);
	b.n = 0;
	fragments_stream(&b, 5);
	expect_error(&c, &b, 1009, TT_ELIMIT, "5 fragments at limit 4");
	b.n = 0;
	fragments_stream(&b, TT_MAX_WS_FRAGMENTS);
	feed_all(NULL, b.p, b.n, 0, &r);
	ok(r.n == 1 && r.ev[0].type == WS_EV_TEXT &&
	   r.ev[0].len == TT_MAX_WS_FRAGMENTS,
	   "TT_MAX_WS_FRAGMENTS fragments are accepted");
	run_free(&r);
	b.n = 0;
	fragments_stream(&b, TT_MAX_WS_FRAGMENTS + 1);
	feed_all(NULL, b.p, b.n, 0, &r);
	ok(r.n == 1 && r.ev[0].type == WS_EV_ERROR && r.ev[0].code == 1009,
	   "TT_MAX_WS_FRAGMENTS + 1 fragments: 1009");
	run_free(&r);
	free(b.p);
}

/* ---- parser lifecycle ---- */

static void test_after_close_and_error(void)
{
	bytes b = { 0 };
	ws_parser p;
	ws_event ev;
	size_t used = 0;
	int rc;

	frame(&b, WS_OP_CLOSE, 1, "\x03\xE8", 2);
	frame_str(&b, WS_OP_TEXT, 1, "late");
	ws_parser_init(&p, NULL);
	rc = ws_parser_feed(&p, b.p, b.n, &used, &ev);
	ok(rc == TT_OK && ev.type == WS_EV_CLOSE && used == 8,
	   "close event consumes its own frame only");
	rc = ws_parser_feed(&p, b.p + used, b.n - used, &used, &ev);
	ok(rc == TT_OK && ev.type == WS_EV_NEED_MORE && used == 10,
	   "input after a close is discarded");
	ws_parser_fini(&p);
	ws_parser_init(&p, NULL);
	rc = ws_parser_feed(&p, "\x81\x01x", 3, &used, &ev);
	ok(rc == TT_EPROTO && ev.type == WS_EV_ERROR && used == 2,
	   "unmasked frame fails after its two header bytes");
	ok(ev.reason && strstr(ev.reason, "unmasked"), "reason: %s",
	   ev.reason ? ev.reason : "(null)");
	rc = ws_parser_feed(&p, "", 0, &used, &ev);
	ok(rc == TT_EPROTO && ev.type == WS_EV_ERROR && ev.close_code == 1002,
	   "an error repeats on the next feed");
	ws_parser_fini(&p);
	free(b.p);
}

static void test_buffer_release(void)
{
	size_t n = 200000;
	uint8_t *pl = calloc(1, n);
	bytes b = { 0 };
	ws_parser p;
	ws_event ev;
	size_t used = 0, off = 0;
	uint8_t *first;

	frame(&b, WS_OP_BINARY, 1, pl, n);
	frame(&b, WS_OP_BINARY, 1, "ab", 2);
	ws_parser_init(&p, NULL);
	ws_parser_feed(&p, b.p, b.n, &used, &ev);
	ok(ev.type == WS_EV_BINARY && ev.len == n, "large message delivered");
	ok(p.msg_cap == n, "its buffer grew to exactly the frame (%zu)",
	   p.msg_cap);
	off = used;
	ws_parser_feed(&p, b.p + off, b.n - off, &used, &ev);
	ok(ev.type == WS_EV_BINARY && ev.len == 2 && memcmp(ev.data, "ab", 2)
	   == 0, "next message delivered");
	ok(p.msg_cap < 65536, "the large buffer was released (cap %zu)",
	   p.msg_cap);
	first = p.msg;
	b.n = 0;
	frame(&b, WS_OP_BINARY, 1, "cd", 2);
	ws_parser_feed(&p, b.p, b.n, &used, &ev);
	ok(ev.type == WS_EV_BINARY && p.msg == first,
	   "a small buffer is kept for the next message");
	ws_parser_fini(&p);
	ok(p.msg == NULL && p.msg_cap == 0, "fini frees the buffer");
	free(pl);
	free(b.p);
}

static void test_mask_copy(void)
{
	uint8_t src[64], dst[64], want[64];
	int good = 1;

	for (int i = 0; i < 64; i++)
		src[i] = (uint8_t)(i * 31 + 5);
	for (uint64_t off = 0; off < 9; off++) {
		for (size_t n = 0; n <= 40; n++) {
			for (size_t i = 0; i < n; i++)
				want[i] = src[i] ^ KEY[(off + i) % 4];
			ws_mask_copy(dst, src, n, KEY, off);
			if (memcmp(dst, want, n) != 0)
				good = 0;
			memcpy(dst, src, n);
			ws_mask_copy(dst, dst, n, KEY, off);
			if (memcmp(dst, want, n) != 0)
				good = 0;
		}
	}
	ok(good, "word-at-a-time masking equals byte masking at every "
	   "offset and length, in place too");
}

static void test_encode_masked_cap(void)
{
	uint8_t out[16];
	size_t len = 99;

	is_int(ws_frame_encode_masked(WS_OP_TEXT, 1, "0123456789", 10, KEY,
				      out, 15, &len), TT_ERANGE,
	       "encode into too small a buffer: TT_ERANGE");
	is_int(len, 0, "and no length");
	is_int(ws_frame_encode_masked(WS_OP_TEXT, 1, "0123456789", 10, KEY,
				      out, 16, &len), TT_OK,
	       "exactly enough room");
	is_int(len, 16, "16 bytes written");
}

int main(void)
{
	test_rfc_examples();
	test_header_bytes();
	test_lengths();
	test_nonminimal_length();
	test_fragments();
	test_utf8_across_fragments();
	test_utf8_fail_fast_in_frame();
	test_protocol_errors();
	test_ping_125();
	test_close();
	test_close_payload();
	test_size_limit_small();
	test_size_limit_real();
	test_size_limit_real_full();
	test_fragment_limit();
	test_after_close_and_error();
	test_buffer_release();
	test_mask_copy();
	test_encode_masked_cap();
	return tap_done();
}
