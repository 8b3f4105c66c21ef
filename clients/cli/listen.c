/*
 * clients/cli/listen.c: tutti listen --server URL --session ID [--token T]
 * [--seconds S] -o FILE
 *
 * Records the session's stream (GET /s/ID/live.ogg, Ogg Opus, playable as
 * is) into FILE until S seconds have passed (default: until interrupted or
 * the server ends the stream).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clients/cli/commands.h"
#include "clients/cli/wsclient.h"
#include "common/error.h"

static const char usage[] =
	"usage: tutti listen --server URL --session ID [--token T] [--seconds S] -o FILE\n";

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the response head; returns the status and leaves any body bytes
 * that came with it in buf[*body_off .. *have). */
static int read_head(int fd, char *buf, size_t cap, size_t *have, size_t *body_off)
{
	char *end;

	*have = 0;
	while (!(end = memmem(buf, *have, "\r\n\r\n", 4))) {
		ssize_t r = recv(fd, buf + *have, cap - *have - 1, 0);
		if (r <= 0 || *have + (size_t)r >= cap - 1)
			return -1;
		*have += (size_t)r;
	}
	buf[*have] = '\0';
	*body_off = (size_t)(end + 4 - buf);
	return *have > 12 ? (int)strtol(buf + 9, NULL, 10) : -1;
}

static int fail(const char *what, const char *why)
{
	fprintf(stderr, "tutti listen: %s: %s\n", what, why);
	return 2;
}

/* Copies the body to out until the deadline (0: none) or the end. */
static int copy_body(int fd, FILE *out, const char *first, size_t n, int64_t deadline,
		     long long *bytes)
{
	char buf[65536];

	if (n && fwrite(first, 1, n, out) != n)
		return TT_EIO;
	*bytes = (long long)n;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int wait = deadline ? (int)(deadline - now_ms()) : 1000;
		ssize_t r;

		if (deadline && wait <= 0)
			return TT_OK;
		if (poll(&p, 1, wait) <= 0)
			continue;
		r = recv(fd, buf, sizeof buf, 0);
		if (r == 0)
			return TT_OK; /* the server ended the stream */
		if (r < 0)
			return errno == EINTR ? TT_OK : TT_EIO;
		if (fwrite(buf, 1, (size_t)r, out) != (size_t)r)
			return TT_EIO;
		*bytes += r;
	}
}

int cli_listen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' }, { "session", required_argument, NULL, 'S' },
		{ "token", required_argument, NULL, 't' }, { "seconds", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *server = NULL, *session = NULL, *token = getenv("TUTTI_TOKEN"), *path = NULL;
	char host[256], port[16], err[256], req[1024], head[16384];
	size_t have, body;
	double seconds = 0;
	long long bytes = 0;
	int o, fd, status, n, rc;
	FILE *out;

	optind = 1;
	while ((o = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (o) {
		case 's': server = optarg; break;
		case 'S': session = optarg; break;
		case 't': token = optarg; break;
		case 'n': seconds = strtod(optarg, NULL); break;
		case 'o': path = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!server || !session || !path || optind != argc || seconds < 0) {
		fputs(usage, stderr);
		return 2;
	}
	fd = wsc_dial(server, host, sizeof host, port, sizeof port, err, sizeof err);
	if (fd < 0)
		return fail(server, err);
	/* HTTP/1.0: the body comes plain, and ends when the stream does. */
	n = snprintf(req, sizeof req, "GET /s/%s/live.ogg%s%s HTTP/1.0\r\nHost: %s:%s\r\n\r\n",
		     session, token ? "?t=" : "", token ? token : "", host, port);
	if (n < 0 || (size_t)n >= sizeof req || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		close(fd);
		return fail(server, "cannot send the request");
	}
	status = read_head(fd, head, sizeof head, &have, &body);
	if (status != 200) {
		close(fd);
		if (status < 0)
			return fail(server, "no HTTP answer");
		return fail(session, strstr(head, "\"message\":\"") ? strstr(head, "\"message\":\"") + 11 :
			    "refused");
	}
	out = fopen(path, "wb");
	if (!out) {
		close(fd);
		return fail(path, strerror(errno));
	}
	rc = copy_body(fd, out, head + body, have - body, seconds > 0 ?
		       now_ms() + (int64_t)(seconds * 1000) : 0, &bytes);
	close(fd);
	if (fclose(out) != 0 || rc != TT_OK)
		return fail(path, "write failed");
	fprintf(stderr, "tutti listen: %lld bytes of Ogg Opus in %s\n", bytes, path);
	return 0;
}
