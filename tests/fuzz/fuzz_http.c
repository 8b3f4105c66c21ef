/*
 * tests/fuzz/fuzz_http.c: libFuzzer target for tuttid's HTTP side: route
 * matching, query strings, headers (Authorization), every JSON body parser
 * and the handlers behind them, through the real server in this process
 * (tests/fuzz/server_harness.h) with a real database.
 *
 * Input layout, one request:
 *   METHOD\n
 *   TARGET\n                       path and query string, sent as given
 *   Name: value\n ...              headers, until an empty line
 *   \n
 *   BODY                           the rest
 * The harness adds Host, Content-Length and Connection: close (and drops
 * those the input names), so every request is complete and answered.
 *
 * Checked: every request gets a well-formed status line; no 5xx (the
 * database does not fail on input); every /api error is a JSON body with
 * "error". A crash or a missing answer is a finding.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tests/fuzz/server_harness.h"

#define MAX_INPUT 65536

/* Appends s (n bytes) to the request being built. */
static void put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		while (*len + n + 1 > *cap)
			*cap *= 2;
		*buf = realloc(*buf, *cap);
		if (!*buf)
			fs_fail("out of memory", NULL);
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static int header_is(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);
	return n > k && line[k] == ':' && strncasecmp(line, name, k) == 0;
}

/* Reads the answer: the status line and headers, then the body when it
 * has a Content-Length (streams and upgrades are left after their head). */
static void check_answer(int fd, const char *target, int head_only)
{
	static char buf[1 << 20];
	size_t n = 0;
	char *head_end = NULL;
	long clen = -1;

	while (!head_end || (clen >= 0 && n < (size_t)(head_end + 4 - buf) + (size_t)clen)) {
		ssize_t r = fs_read(fd, buf + n, sizeof buf - 1 - n);
		if (r == 0)
			break;
		if (r < 0)
			fs_fail("no complete answer within FUZZ_REPLY_TIMEOUT_S (or a reset)", target);
		n += (size_t)r;
		buf[n] = '\0';
		if (!head_end && (head_end = strstr(buf, "\r\n\r\n")) != NULL) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			clen = cl && cl < head_end ? strtol(cl + 17, NULL, 10) : -1;
			if (clen < 0 || head_only || strncmp(buf + 9, "1", 1) == 0 ||
			    strncmp(buf + 9, "204", 3) == 0 || strncmp(buf + 9, "304", 3) == 0)
				break; /* a stream, an upgrade, HEAD: its head is enough */
		}
		if (n == sizeof buf - 1)
			break;
	}
	if (n == 0)
		return; /* closed without an answer: libmicrohttpd on a malformed head */
	if (n < 12 || strncmp(buf, "HTTP/1.1 ", 9) != 0 || buf[9] < '1' || buf[9] > '5')
		fs_fail("malformed status line", buf);
	if (buf[9] == '5' && strncmp(buf + 9, "503", 3) != 0)
		fs_fail("a server error on input", buf);
	/* libmicrohttpd answers a malformed head itself, in HTML, before any
	 * handler runs: only answers that reached tuttid must be JSON. */
	if (head_end && !head_only && strncmp(target, "/api/", 5) == 0 && buf[9] == '4' &&
	    strncmp(head_end + 4, "<html>", 6) != 0 && !strstr(head_end, "\"error\""))
		fs_fail("an /api error without a JSON error body", buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n, len = 0, cap = 1024;
	char *in, *p, *nl, *req, *target;
	char clen[64];
	int fd;

	if (size > MAX_INPUT)
		return 0;
	fs_start();
	in = fs_expand(data, size, &n);
	req = malloc(cap);
	if (!req)
		fs_fail("out of memory", NULL);
	req[0] = '\0';
	p = in;
	/* Request line: METHOD TARGET HTTP/1.1 */
	if (!(nl = memchr(p, '\n', n - (size_t)(p - in))))
		goto out;
	put(&req, &len, &cap, p, (size_t)(nl - p));
	put(&req, &len, &cap, " ", 1);
	p = nl + 1;
	if (!(nl = memchr(p, '\n', n - (size_t)(p - in))))
		goto out;
	target = p;
	put(&req, &len, &cap, p, (size_t)(nl - p));
	*nl = '\0';
	put(&req, &len, &cap, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", 46);
	p = nl + 1;
	/* Headers until an empty line (or the end). */
	while ((size_t)(p - in) < n && *p != '\n') {
		nl = memchr(p, '\n', n - (size_t)(p - in));
		size_t k = nl ? (size_t)(nl - p) : n - (size_t)(p - in);
		if (!header_is(p, k, "Host") && !header_is(p, k, "Content-Length") &&
		    !header_is(p, k, "Connection") && !header_is(p, k, "Transfer-Encoding")) {
			put(&req, &len, &cap, p, k);
			put(&req, &len, &cap, "\r\n", 2);
		}
		p += k + (nl ? 1 : 0);
	}
	if ((size_t)(p - in) < n)
		p++; /* the empty line */
	snprintf(clen, sizeof clen, "Content-Length: %zu\r\n\r\n", n - (size_t)(p - in));
	put(&req, &len, &cap, clen, strlen(clen));
	put(&req, &len, &cap, p, n - (size_t)(p - in));
	fd = fs_connect();
	if (fs_write_all(fd, req, len) == 0)
		check_answer(fd, target, strncmp(req, "HEAD ", 5) == 0);
	close(fd);
out:
	free(req);
	free(in);
	return 0;
}
