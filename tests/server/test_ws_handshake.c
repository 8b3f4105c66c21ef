/*
 * tests/server/test_ws_handshake.c: the opening handshake checks and the
 * Sec-WebSocket-Accept computation (server/ws_handshake), starting from the
 * RFC 6455 section 1.3 example key.
 */
#include <string.h>

#include "common/error.h"
#include "server/ws_handshake.h"
#include "tests/tap.h"

static const char *RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
static const char *RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

static ws_handshake_request good_request(void)
{
	ws_handshake_request r = {
		.method = "GET",
		.upgrade = "websocket",
		.connection = "Upgrade",
		.version = "13",
		.key = "dGhlIHNhbXBsZSBub25jZQ==",
	};
	return r;
}

static void test_accept(void)
{
	char acc[WS_ACCEPT_LEN + 1];
	ws_handshake_request r = good_request();
	int status = 0;
	const char *why = "unset";

	is_int(ws_handshake_accept(RFC_KEY, acc), TT_OK, "accept computed");
	is_str(acc, RFC_ACCEPT, "RFC 6455 example key gives its accept");
	is_int(ws_handshake_check(&r, acc, &status, &why), TT_OK,
	       "the RFC's request is accepted");
	is_int(status, 101, "status 101");
	ok(why == NULL, "no reason on success");
	is_str(acc, RFC_ACCEPT, "check writes the RFC's accept value");
	is_int(ws_handshake_accept("x3JJHMbDL1EzLkh9GBhXDw==", acc), TT_OK,
	       "second key");
	is_str(acc, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=",
	       "RFC 6455 section 4.2.2's other example");
}

/* Expects req to be refused with status; reason must mention needle. */
static void refused(const ws_handshake_request *req, int want_status,
		    const char *needle, const char *name)
{
	char acc[WS_ACCEPT_LEN + 1] = "untouched";
	int status = 0;
	const char *why = NULL;
	int rc = ws_handshake_check(req, acc, &status, &why);

	is_int(rc, want_status == 426 ? TT_EUNSUPPORTED : TT_EINVAL,
	       "%s: refused", name);
	is_int(status, want_status, "%s: status %d", name, want_status);
	ok(why && strstr(why, needle) != NULL, "%s: reason '%s' names %s",
	   name, why ? why : "(null)", needle);
	is_str(acc, "untouched", "%s: accept not written", name);
}

static void test_refusals(void)
{
	ws_handshake_request r;

	r = good_request(); r.method = "POST";
	refused(&r, 405, "GET", "POST");
	r = good_request(); r.method = NULL;
	refused(&r, 405, "GET", "no method");
	r = good_request(); r.upgrade = NULL;
	refused(&r, 400, "Upgrade", "no Upgrade");
	r = good_request(); r.upgrade = "h2c";
	refused(&r, 400, "websocket", "Upgrade: h2c");
	r = good_request(); r.upgrade = "websockets";
	refused(&r, 400, "websocket", "Upgrade: websockets");
	r = good_request(); r.connection = NULL;
	refused(&r, 400, "Connection", "no Connection");
	r = good_request(); r.connection = "keep-alive";
	refused(&r, 400, "upgrade", "Connection: keep-alive");
	r = good_request(); r.connection = "keep-alive, upgraded";
	refused(&r, 400, "upgrade", "Connection: upgraded");
	r = good_request(); r.version = NULL;
	refused(&r, 426, "13", "no version");
	r = good_request(); r.version = "8";
	refused(&r, 426, "13", "version 8");
	r = good_request(); r.version = "13, 8";
	refused(&r, 426, "13", "version list");
	r = good_request(); r.version = "130";
	refused(&r, 426, "13", "version 130");
	r = good_request(); r.key = NULL;
	refused(&r, 400, "Sec-WebSocket-Key", "no key");
	r = good_request(); r.key = "";
	refused(&r, 400, "Sec-WebSocket-Key", "empty key");
	r = good_request(); r.key = "dGhlIHNhbXBsZSBub25jZQ";
	refused(&r, 400, "16 bytes", "key without padding");
	r = good_request(); r.key = "dGhlIHNhbXBsZSBub25jZQ==AAAA";
	refused(&r, 400, "16 bytes", "key of 20 bytes");
	r = good_request(); r.key = "dGhlIHNhbXBsZSBub25j";
	refused(&r, 400, "16 bytes", "key of 15 bytes");
	r = good_request(); r.key = "dGhlIHNhbXBsZSBub25jZ*==";
	refused(&r, 400, "16 bytes", "key with a non-base64 character");
	r = good_request(); r.key = "dGhlIHNhbXBs ZSBub25jZQ=";
	refused(&r, 400, "16 bytes", "key with an inner space");
}

static void test_lenient_forms(void)
{
	char acc[WS_ACCEPT_LEN + 1];
	ws_handshake_request r;

	r = good_request(); r.upgrade = "WebSocket";
	is_int(ws_handshake_check(&r, acc, NULL, NULL), TT_OK,
	       "Upgrade compared without case");
	r = good_request(); r.connection = "keep-alive, Upgrade";
	is_int(ws_handshake_check(&r, acc, NULL, NULL), TT_OK,
	       "Connection: keep-alive, Upgrade (Firefox)");
	r = good_request(); r.connection = "UPGRADE,keep-alive";
	is_int(ws_handshake_check(&r, acc, NULL, NULL), TT_OK,
	       "Connection token first, upper case, no space");
	r = good_request(); r.connection = " \tkeep-alive ,\tupgrade\t";
	is_int(ws_handshake_check(&r, acc, NULL, NULL), TT_OK,
	       "Connection with tabs and spaces around tokens");
	r = good_request(); r.version = " 13 ";
	is_int(ws_handshake_check(&r, acc, NULL, NULL), TT_OK,
	       "version with surrounding spaces");
	r = good_request(); r.key = "  dGhlIHNhbXBsZSBub25jZQ== ";
	is_int(ws_handshake_check(&r, acc, NULL, NULL), TT_OK,
	       "key with surrounding spaces");
	is_str(acc, RFC_ACCEPT, "accept hashes the key without the spaces");
}

static void test_tokens(void)
{
	ok(ws_header_has_token("a, b ,c", "b"), "token in the middle");
	ok(ws_header_has_token("a,b,c", "C"), "token last, other case");
	ok(!ws_header_has_token("abc", "b"), "no substring matches");
	ok(!ws_header_has_token("", "b"), "empty list");
	ok(!ws_header_has_token(NULL, "b"), "NULL list");
	ok(!ws_header_has_token(",,", "b"), "only commas");
	ok(ws_header_has_token(",, b,", "b"), "empty elements skipped");
}

int main(void)
{
	test_accept();
	test_refusals();
	test_lenient_forms();
	test_tokens();
	return tap_done();
}
