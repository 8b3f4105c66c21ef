/*
 * server/ws_handshake.c: the server side of the WebSocket opening handshake.
 *
 * Design. Each rule of RFC 6455 section 4.2.1 is one check with its own
 * reason, tried in the order a client is most likely to get wrong first
 * (method, then the upgrade headers, then version, then key), so a client
 * is told the first thing to fix.
 *
 * Invariants:
 *   1. ws_handshake_check writes accept only when it returns TT_OK.
 *   2. Every rejection has a status and a reason; no input is asserted.
 *   3. A key is accepted only when it is 24 characters of base64 that
 *      decode to exactly 16 bytes; the accept value hashes it as sent.
 */
#include "server/ws_handshake.h"

#include <string.h>
#include <strings.h>

#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>
#include <mbedtls/version.h>

#include "common/error.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_LEN 24 /* base64 of 16 bytes, with "==" */

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

int ws_header_has_token(const char *value, const char *token)
{
	size_t tlen = strlen(token);
	const char *s = value;

	if (!s)
		return 0;
	while (*s) {
		const char *end = strchr(s, ',');
		const char *e = end ? end : s + strlen(s);
		while (s < e && is_ows(*s))
			s++;
		const char *t = e;
		while (t > s && is_ows(t[-1]))
			t--;
		if ((size_t)(t - s) == tlen && strncasecmp(s, token, tlen) == 0)
			return 1;
		if (!end)
			break;
		s = end + 1;
	}
	return 0;
}

/* Copies value without surrounding spaces and tabs into out[0..cap);
 * 0 when it does not fit. */
static int trim_copy(const char *value, char *out, size_t cap)
{
	const char *s = value, *e = value + strlen(value);

	while (s < e && is_ows(*s))
		s++;
	while (e > s && is_ows(e[-1]))
		e--;
	if ((size_t)(e - s) >= cap)
		return 0;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	return 1;
}

static int key_valid(const char *key)
{
	unsigned char raw[18];
	size_t n = 0;

	if (strlen(key) != WS_KEY_LEN)
		return 0;
	for (size_t i = 0; i < WS_KEY_LEN - 2; i++) {
		char c = key[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return 0;
	}
	if (key[22] != '=' || key[23] != '=')
		return 0;
	if (mbedtls_base64_decode(raw, sizeof raw, &n,
				  (const unsigned char *)key, WS_KEY_LEN) != 0)
		return 0;
	return n == 16;
}

int ws_handshake_accept(const char *key, char accept[WS_ACCEPT_LEN + 1])
{
	unsigned char buf[64 + sizeof WS_GUID];
	unsigned char digest[20];
	size_t klen = strlen(key), olen = 0;
	int rc;

	if (klen > 64)
		return TT_EINVAL;
	memcpy(buf, key, klen);
	memcpy(buf + klen, WS_GUID, sizeof WS_GUID - 1);
#if MBEDTLS_VERSION_MAJOR >= 3
	rc = mbedtls_sha1(buf, klen + sizeof WS_GUID - 1, digest);
#else
	rc = mbedtls_sha1_ret(buf, klen + sizeof WS_GUID - 1, digest);
#endif
	if (rc != 0)
		return TT_EINVAL;
	if (mbedtls_base64_encode((unsigned char *)accept, WS_ACCEPT_LEN + 1,
				  &olen, digest, sizeof digest) != 0 ||
	    olen != WS_ACCEPT_LEN)
		return TT_EINVAL;
	accept[WS_ACCEPT_LEN] = '\0';
	return TT_OK;
}

static int reject(int status, const char *why, int *status_out,
		  const char **reason_out)
{
	if (status_out)
		*status_out = status;
	if (reason_out)
		*reason_out = why;
	return status == 426 ? TT_EUNSUPPORTED : TT_EINVAL;
}

int ws_handshake_check(const ws_handshake_request *req,
		       char accept[WS_ACCEPT_LEN + 1], int *status,
		       const char **reason)
{
	char tmp[WS_KEY_LEN + 1];

	if (!req->method || strcmp(req->method, "GET") != 0)
		return reject(405, "a WebSocket upgrade must use GET", status,
			      reason);
	if (!req->upgrade)
		return reject(400, "missing Upgrade header", status, reason);
	if (!ws_header_has_token(req->upgrade, "websocket"))
		return reject(400, "Upgrade header does not name websocket",
			      status, reason);
	if (!req->connection)
		return reject(400, "missing Connection header", status,
			      reason);
	if (!ws_header_has_token(req->connection, "upgrade"))
		return reject(400, "Connection header lacks the upgrade token",
			      status, reason);
	if (!req->version || !trim_copy(req->version, tmp, sizeof tmp) ||
	    strcmp(tmp, "13") != 0)
		return reject(426, "Sec-WebSocket-Version must be 13", status,
			      reason);
	if (!req->key)
		return reject(400, "missing Sec-WebSocket-Key header", status,
			      reason);
	if (!trim_copy(req->key, tmp, sizeof tmp) || !key_valid(tmp))
		return reject(400,
			      "Sec-WebSocket-Key is not base64 of 16 bytes",
			      status, reason);
	if (ws_handshake_accept(tmp, accept) != TT_OK)
		return reject(400, "Sec-WebSocket-Key could not be hashed",
			      status, reason);
	if (status)
		*status = 101;
	if (reason)
		*reason = NULL;
	return TT_OK;
}
