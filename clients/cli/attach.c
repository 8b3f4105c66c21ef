/*
 * clients/cli/attach.c: tutti attach --server URL --session ID [--token T]
 * [--name N] [--client C]
 *
 * A pipe between a program and a session, for editor plugins (Emacs,
 * Neovim) that have no WebSocket client of their own: every text message
 * the server sends is written to stdout as one line of compact JSON, and
 * every line read from stdin is sent as one text message. The plugin then
 * speaks the protocol of docs/protocol.md itself; attach only owns the
 * connection: the transport (wsclient.c, TLS included), the token, and
 * reconnecting.
 *
 * Invariants:
 *   1. stdout carries only whole lines, each one JSON object: the server's
 *      messages unchanged, and attach's own notes, whose types start with
 *      "attach." (attach.error, attach.lost, attach.reconnected).
 *   2. A stdin line is sent only when it is valid JSON and at most
 *      TT_MAX_WS_MESSAGE bytes (what the server would accept); any other
 *      line is answered with an attach.error naming the line, and dropped.
 *   3. attach sends hello (with one client_id for its whole life, so the
 *      server recognises resent ops) and join itself, and writes both
 *      replies; it never sends anything else on its own.
 *
 *   start --join_session ok--> attached --socket closed--> lost
 *     ^                           |                          |
 *     |                      stdin EOF: exit 0          reattach (backoff
 *   join refused: exit 2                                 0.25 s .. 5 s)
 *                                                            |
 *            attached <--hello+join ok, "attach.reconnected"-+
 *
 * While lost, stdin is not read: lines wait in the pipe and are sent after
 * the reconnect, after attach.reconnected. docs/editors.md describes what a
 * plugin does then (resend its unacknowledged op, reopen its documents).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clients/cli/commands.h"
#include "clients/cli/creds.h"
#include "clients/cli/wsclient.h"
#include "common/error.h"
#include "common/limits.h"

/* How long attach waits on stdin, then on the socket, per turn: the most
 * a message waits in attach before it moves on. */
#define POLL_MS 10
#define REPLY_MS 10000
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000

static const char usage[] =
	"usage: tutti attach --server URL --session ID [--token T] [--name N] [--client C]\n"
	"  Writes the session's messages to stdout, one JSON line each, and sends\n"
	"  each stdin line as a message (for editor plugins; docs/editors.md).\n"
	"  --token T   a performer's or owner's token (default: $TUTTI_TOKEN)\n"
	"  --name N    the name shown beside your cursor\n";

typedef struct attach {
	const char *server, *session, *token, *name, *client;
	char client_id[32];
	wsc *c;             /* NULL while the connection is lost */
	char *line;         /* stdin bytes read, not yet ending in a newline */
	size_t len, cap;
	int skipping;       /* discarding the rest of an over-long line */
	long long lineno;   /* stdin lines seen, for error messages */
} attach;

/* One JSON line on stdout (invariant 1). */
static void emit(json_t *m)
{
	json_dumpf(m, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	fflush(stdout);
}

static void note(const char *type, const char *message)
{
	json_t *m = json_pack("{s:s,s:s}", "type", type, "message", message);
	if (m)
		emit(m);
	json_decref(m);
}

/* Sends msg (stolen) and waits for its reply, which is written out too. */
static int ask(attach *a, json_t *msg, json_t **reply, char *err, size_t errlen)
{
	int rc = wsc_request(a->c, msg, REPLY_MS, reply, err, errlen);
	if (rc == TT_OK)
		emit(*reply);
	return rc;
}

/* Connects, says hello and joins (invariant 3). TT_EPERM when the server
 * refuses the join (bad token, unknown session): retrying cannot help. */
static int join_session(attach *a, char *err, size_t errlen)
{
	json_t *hello, *join, *r = NULL;
	int rc;

	if ((rc = wsc_connect(a->server, &a->c, err, errlen)) != TT_OK) {
		a->c = NULL;
		return rc;
	}
	hello = json_pack("{s:s,s:s,s:s}", "type", "hello", "client", a->client, "client_id",
			  a->client_id);
	if (a->name)
		json_object_set_new(hello, "name", json_string(a->name));
	join = json_pack("{s:s,s:s}", "type", "join", "session", a->session);
	if (a->token)
		json_object_set_new(join, "token", json_string(a->token));
	rc = ask(a, hello, &r, err, errlen);
	json_decref(r);
	r = NULL;
	if (rc == TT_OK)
		rc = ask(a, join, &r, err, errlen);
	else
		json_decref(join);
	if (rc == TT_OK && !json_is_string(json_object_get(r, "type")))
		rc = TT_EPROTO;
	if (rc == TT_OK && strcmp(json_string_value(json_object_get(r, "type")), "joined") != 0) {
		const char *why = json_string_value(json_object_get(json_object_get(r, "error"),
								     "message"));
		snprintf(err, errlen, "join %s: %s", a->session, why ? why : "refused");
		rc = TT_EPERM;
	}
	json_decref(r);
	if (rc != TT_OK) {
		wsc_close(a->c);
		a->c = NULL;
	}
	return rc;
}

/* One complete stdin line: sent when it is JSON (invariant 2). */
static void send_line(attach *a, const char *text, size_t len)
{
	json_error_t je;
	json_t *m;
	char msg[400];

	a->lineno++;
	if (len == 0)
		return;
	m = json_loadb(text, len, 0, &je);
	if (!m) {
		snprintf(msg, sizeof msg, "stdin line %lld, column %d: %s", a->lineno, je.column,
			 je.text);
		note("attach.error", msg);
		return;
	}
	if (wsc_send(a->c, m) != TT_OK) {
		snprintf(msg, sizeof msg, "stdin line %lld: not sent, the connection failed", a->lineno);
		note("attach.error", msg);
	}
	json_decref(m);
}

static void too_long(attach *a)
{
	char msg[200];
	snprintf(msg, sizeof msg, "stdin line %lld: longer than %d bytes, dropped", a->lineno + 1,
		 TT_MAX_WS_MESSAGE);
	note("attach.error", msg);
}

/* Takes the bytes of one read(): whole lines are sent, the rest kept. */
static int take_input(attach *a, const char *data, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t k = nl ? (size_t)(nl - data) : n;

		if (!a->skipping && a->len + k > TT_MAX_WS_MESSAGE) {
			too_long(a);
			a->skipping = 1;
			a->len = 0;
		}
		if (!a->skipping) {
			if (a->len + k > a->cap) {
				size_t cap = a->cap ? a->cap : 4096;
				while (cap < a->len + k)
					cap *= 2;
				char *b = realloc(a->line, cap);
				if (!b)
					return TT_ENOMEM;
				a->line = b;
				a->cap = cap;
			}
			memcpy(a->line + a->len, data, k);
			a->len += k;
		}
		if (!nl)
			break;
		if (a->skipping)
			a->lineno++;
		else
			send_line(a, a->line, a->len);
		a->skipping = 0;
		a->len = 0;
		data += k + 1;
		n -= k + 1;
	}
	return TT_OK;
}

/* Reads stdin for up to POLL_MS. TT_ECLOSED at its end. */
static int pump_stdin(attach *a)
{
	struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
	char buf[65536];
	ssize_t n;

	if (poll(&p, 1, POLL_MS) <= 0)
		return TT_OK;
	n = read(STDIN_FILENO, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return TT_OK;
	if (n <= 0) {
		if (a->len > 0 && !a->skipping)
			send_line(a, a->line, a->len);
		return TT_ECLOSED;
	}
	return take_input(a, buf, (size_t)n);
}

/* Writes out what the server sent within POLL_MS; TT_ECLOSED (with err)
 * when the connection ended. */
static int pump_server(attach *a, char *err, size_t errlen)
{
	int wait = POLL_MS;
	for (;;) {
		json_t *m;
		int rc = wsc_next(a->c, wait, &m, err, errlen);
		if (rc == TT_EAGAIN)
			return TT_OK;
		if (rc != TT_OK)
			return TT_ECLOSED;
		emit(m);
		json_decref(m);
		wait = 1;
	}
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* After a lost connection: tries again, waiting longer each time, until
 * joined (TT_OK) or refused (TT_EPERM). */
static int reattach(attach *a, char *err, size_t errlen)
{
	int backoff = BACKOFF_MIN_MS, rc;

	for (;;) {
		sleep_ms(backoff);
		rc = join_session(a, err, errlen);
		if (rc == TT_OK) {
			note("attach.reconnected", a->server);
			return TT_OK;
		}
		if (rc == TT_EPERM)
			return rc;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
}

static int run(attach *a)
{
	char err[512];
	int rc;

	for (;;) {
		if ((rc = pump_stdin(a)) != TT_OK)
			return rc == TT_ECLOSED ? 0 : 1;
		if (pump_server(a, err, sizeof err) == TT_OK)
			continue;
		note("attach.lost", err);
		wsc_close(a->c);
		a->c = NULL;
		if (reattach(a, err, sizeof err) != TT_OK) {
			note("attach.error", err);
			fprintf(stderr, "tutti attach: %s\n", err);
			return 2;
		}
	}
}

int cli_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' }, { "session", required_argument, NULL, 'S' },
		{ "token", required_argument, NULL, 't' }, { "name", required_argument, NULL, 'N' },
		{ "client", required_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	attach a = { .token = getenv("TUTTI_TOKEN"), .client = "tutti-attach" };
	uint8_t id[6];
	char err[512];
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': a.server = optarg; break;
		case 'S': a.session = optarg; break;
		case 't': a.token = optarg; break;
		case 'N': a.name = optarg; break;
		case 'c': a.client = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!a.server || !a.session || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	a.token = creds_token(a.server, a.token); /* --token, $TUTTI_TOKEN, tutti login's */
	if (getrandom(id, sizeof id, 0) != sizeof id) {
		fprintf(stderr, "tutti attach: random: %s\n", strerror(errno));
		return 2;
	}
	snprintf(a.client_id, sizeof a.client_id, "attach-%02x%02x%02x%02x%02x%02x", id[0], id[1],
		 id[2], id[3], id[4], id[5]);
	if (join_session(&a, err, sizeof err) != TT_OK) {
		note("attach.error", err);
		fprintf(stderr, "tutti attach: %s\n", err);
		return 2;
	}
	rc = run(&a);
	wsc_close(a.c);
	free(a.line);
	return rc;
}
