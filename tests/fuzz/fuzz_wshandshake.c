/*
 * tests/fuzz/fuzz_wshandshake.c: libFuzzer target for the WebSocket opening
 * handshake (server/ws_handshake.c).
 *
 * Input: an HTTP request head as a client sends it ("GET /ws HTTP/1.1",
 * then "Name: value" lines). The harness splits it the way libmicrohttpd
 * hands it to ws_conn_upgrade (method, then the first value of each header,
 * names without regard to case; a header may be absent) and checks the
 * contract of ws_handshake_check:
 *   - TT_OK only with all four headers present, and then the accept value
 *     is 28 characters of base64 and equals ws_handshake_accept of the key
 *     as sent (without surrounding blanks);
 *   - otherwise TT_EINVAL with 400 or 405, or TT_EUNSUPPORTED with 426,
 *     and a non-empty reason.
 * ws_header_has_token is also run over every value with the tokens the
 * server asks for. Any breach aborts, which libFuzzer reports.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "server/ws_handshake.h"

#define MAX_HEAD 8192

static void fail_if(int cond, const char *what)
{
	if (cond) {
		fprintf(stderr, "fuzz_wshandshake: %s\n", what);
		abort();
	}
}

/* Points *slot at value when name is the header wanted and none was seen. */
static void take(const char *name, const char *want, const char *value, const char **slot)
{
	if (!*slot && strcasecmp(name, want) == 0)
		*slot = value;
}

static int is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

static void check_tokens(const char *v)
{
	static const char *const tokens[] = { "upgrade", "websocket", "keep-alive", "" };

	for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
		int r = ws_header_has_token(v, tokens[i]);
		fail_if(r != 0 && r != 1, "has_token returned neither 0 nor 1");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char head[MAX_HEAD + 1];
	ws_handshake_request req;
	char accept[WS_ACCEPT_LEN + 1], again[WS_ACCEPT_LEN + 1], key[64];
	const char *reason = NULL;
	char *line, *save = NULL;
	int status = 0, rc;

	if (size > MAX_HEAD)
		return 0;
	memcpy(head, data, size);
	head[size] = '\0'; /* an embedded NUL ends the head, as in a C string */
	memset(&req, 0, sizeof req);
	line = strtok_r(head, "\r\n", &save);
	if (!line)
		return 0;
	/* The request line: the method is its first word. */
	char *sp = strchr(line, ' ');
	if (sp)
		*sp = '\0';
	req.method = line;
	while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		const char *value = colon + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		check_tokens(value);
		take(line, "Upgrade", value, &req.upgrade);
		take(line, "Connection", value, &req.connection);
		take(line, "Sec-WebSocket-Version", value, &req.version);
		take(line, "Sec-WebSocket-Key", value, &req.key);
	}
	memset(accept, 0, sizeof accept);
	rc = ws_handshake_check(&req, accept, &status, &reason);
	if (rc == TT_OK) {
		fail_if(!req.upgrade || !req.connection || !req.version || !req.key,
			"accepted with a header missing");
		fail_if(strcmp(req.method, "GET") != 0, "accepted a method other than GET");
		fail_if(strlen(accept) != WS_ACCEPT_LEN, "accept value is not 28 characters");
		for (int i = 0; i < WS_ACCEPT_LEN; i++)
			fail_if(!is_b64(accept[i]), "accept value is not base64");
		/* The key as sent, without the blanks around it. */
		const char *k = req.key;
		size_t n = strlen(k);
		while (n && (k[n - 1] == ' ' || k[n - 1] == '\t'))
			n--;
		fail_if(n >= sizeof key, "accepted an over-long key");
		memcpy(key, k, n);
		key[n] = '\0';
		fail_if(ws_handshake_accept(key, again) != TT_OK || strcmp(again, accept) != 0,
			"accept value differs from ws_handshake_accept(key)");
	} else {
		fail_if(rc != TT_EINVAL && rc != TT_EUNSUPPORTED, "unexpected error code");
		fail_if(rc == TT_EINVAL && status != 400 && status != 405, "EINVAL without 400/405");
		fail_if(rc == TT_EUNSUPPORTED && status != 426, "EUNSUPPORTED without 426");
		fail_if(!reason || !reason[0], "rejection without a reason");
		fail_if(accept[0] != '\0', "accept written on a rejection");
	}
	return 0;
}
