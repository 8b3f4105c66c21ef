/*
 * tests/fuzz/fuzz_rpc.c: libFuzzer target for the WebSocket protocol
 * messages as tuttid's rpc layer dispatches them (server/rpc.c and the
 * handlers it calls: editing, presence, evaluation, tempo, chat, join),
 * through the real server in this process (tests/fuzz/server_harness.h)
 * with a real database, a running render thread and the writer.
 *
 * Input layout: byte 0 chooses the start (bit 0: say hello; bit 1: join
 * the fixture session as its owner; bit 2: open the fixture document);
 * the rest is messages, one per line, each sent as a text frame on a new
 * connection (so the flood limits start afresh per input). A final ping
 * must be answered.
 *
 * Checked: every text message from the server is a JSON object with a
 * string "type"; every error has a string code and message; the final
 * ping is answered unless the server closed the connection (invalid
 * UTF-8 and oversized frames are closed with 1007/1009). A crash or a
 * missing answer is a finding.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/server_harness.h"

#define MAX_INPUT 65536
#define END_ID "fuzz-end"

static void check_message(const char *text)
{
	json_error_t e;
	json_t *m = json_loads(text, JSON_DECODE_ANY, &e);
	const char *type;

	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "< %.300s\n", text);
	if (!json_is_object(m))
		fs_fail("the server sent something other than a JSON object", text);
	type = json_string_value(json_object_get(m, "type"));
	if (!type)
		fs_fail("a message without a string type", text);
	if (strcmp(type, "error") == 0) {
		json_t *err = json_object_get(m, "error");
		if (!json_string_value(json_object_get(err, "code")) ||
		    !json_string_value(json_object_get(err, "message")))
			fs_fail("an error without code and message", text);
	}
	json_decref(m);
}

/* Reads until the reply to END_ID; 0 when the server closed first. */
static int drain(fs_ws *w)
{
	const char *text;
	size_t len;

	while ((text = fs_ws_recv(w, &len)) != NULL) {
		check_message(text);
		if (strstr(text, "\"id\":\"" END_ID "\""))
			return 1;
	}
	return 0;
}

static void send_str(fs_ws *w, const char *s)
{
	fs_ws_send(w, s, strlen(s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char end[] = "{\"type\":\"ping\",\"id\":\"" END_ID "\"}";
	uint8_t flags;
	size_t n;
	char *in, *p;
	fs_ws *w;

	if (size < 1 || size > MAX_INPUT)
		return 0;
	fs_start();
	flags = data[0];
	in = fs_expand(data + 1, size - 1, &n);
	w = fs_ws_open();
	if (flags & 1)
		send_str(w, "{\"type\":\"hello\",\"name\":\"fuzz\",\"client_id\":\"fuzz-1\"}");
	if (flags & 2) {
		const char *tmpl = "{\"type\":\"join\",\"session\":\"$S\",\"token\":\"$T\"}";
		size_t m;
		char *j = fs_expand((const uint8_t *)tmpl, strlen(tmpl), &m);
		fs_ws_send(w, j, m);
		free(j);
	}
	if (flags & 4) {
		const char *tmpl = "{\"type\":\"doc.open\",\"doc\":$D}";
		size_t m;
		char *j = fs_expand((const uint8_t *)tmpl, strlen(tmpl), &m);
		fs_ws_send(w, j, m);
		free(j);
	}
	p = in;
	while (p < in + n) {
		char *nl = memchr(p, '\n', (size_t)(in + n - p));
		size_t k = nl ? (size_t)(nl - p) : (size_t)(in + n - p);
		if (fs_ws_send(w, p, k) != 0)
			break;
		p += k + 1;
	}
	if (fs_ws_send(w, end, sizeof end - 1) == 0)
		drain(w);
	fs_ws_close(w);
	free(in);
	return 0;
}
