/*
 * clients/cli/listen.c: tutti listen --server URL --session ID [--token T]
 * [--seconds S] [--no-reconnect] -o FILE
 *
 * Records the session's stream (GET /s/ID/live.ogg, Ogg Opus, playable as
 * is) into FILE until S seconds have passed (default: until interrupted).
 *
 * When the stream ends or the connection breaks (a restarted server, a
 * lost network), it connects again after a back-off: 0.5 s doubling to
 * 5 s, or what a 503's Retry-After asks (at most 30 s), and back to 0.5 s
 * once a stream delivered pages. Each new stream is appended as a new link
 * of a chained Ogg file (see pager below), so the file stays playable.
 * A 4xx answer (no such session, no right to listen) ends the command at
 * once; --no-reconnect ends it at the first end of the stream.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clients/cli/commands.h"
#include "clients/cli/creds.h"
#include "clients/cli/wsclient.h"
#include "common/error.h"

static const char usage[] =
	"usage: tutti listen --server URL --session ID [--token T] [--seconds S] [--no-reconnect]\n"
	"                    -o FILE\n";

/* Reconnecting: the first wait, its ceiling as it doubles, and the most a
 * server's Retry-After may make us wait. */
#define LISTEN_BACKOFF_MIN_MS 500
#define LISTEN_BACKOFF_MAX_MS 5000
#define LISTEN_RETRY_AFTER_MAX_MS 30000

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the response head; returns the status and leaves any body bytes
 * that came with it in buf[*body_off .. *have). */
static int read_head(wsc_link *l, char *buf, size_t cap, size_t *have, size_t *body_off)
{
	char *end;

	*have = 0;
	while (!(end = memmem(buf, *have, "\r\n\r\n", 4))) {
		size_t r;
		if (wsc_link_recv(l, buf + *have, cap - *have - 1, 10000, &r) != TT_OK ||
		    *have + r >= cap - 1)
			return -1;
		*have += r;
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

/* ---- the recording, a whole Ogg page at a time ---- */

/* Collects pages, so that a connection cut in the middle of one leaves no
 * torn page in the file. Link k (the k-th successful connection, from 0)
 * has its serial number changed to serial + k and the CRC recomputed:
 * tuttid gives every stream of a session the same serial, and a file of
 * several streams is then a chained Ogg stream (RFC 3533, section 4) whose
 * links each have their own serial, which players and libopusfile read as
 * one recording with a gap at each reconnect. */
typedef struct pager {
	uint8_t page[27 + 255 + 255 * 255];
	size_t have, need;
	uint32_t link;
	long long bytes, pages;
} pager;

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t r = i << 24;
		for (int k = 0; k < 8; k++)
			r = r & 0x80000000u ? (r << 1) ^ 0x04c11db7u : r << 1;
		crc_table[i] = r;
	}
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void reserial(uint8_t *p, size_t n, uint32_t link)
{
	uint32_t serial = (uint32_t)p[14] | (uint32_t)p[15] << 8 | (uint32_t)p[16] << 16 |
			  (uint32_t)p[17] << 24, crc = 0;

	put32(p + 14, serial + link);
	put32(p + 22, 0);
	for (size_t i = 0; i < n; i++)
		crc = (crc << 8) ^ crc_table[((crc >> 24) & 0xff) ^ p[i]];
	put32(p + 22, crc);
}

/* Feeds body bytes; writes each complete page. TT_EFORMAT when the body
 * is not Ogg, TT_EIO when the file cannot be written. */
static int pager_feed(pager *pg, FILE *out, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t k;

		if (pg->need == 0)
			pg->need = 27;
		k = pg->need - pg->have < n ? pg->need - pg->have : n;
		memcpy(pg->page + pg->have, p, k);
		pg->have += k;
		p += k;
		n -= k;
		if (pg->have < pg->need)
			return TT_OK;
		if (pg->need == 27) {
			if (memcmp(pg->page, "OggS", 4) != 0)
				return TT_EFORMAT;
			pg->need += pg->page[26];
			continue;
		}
		if (pg->need == 27 + (size_t)pg->page[26]) {
			size_t body = 0;
			for (size_t i = 0; i < pg->page[26]; i++)
				body += pg->page[27 + i];
			pg->need += body;
			if (body)
				continue;
		}
		if (pg->link > 0)
			reserial(pg->page, pg->need, pg->link);
		if (fwrite(pg->page, 1, pg->need, out) != pg->need)
			return TT_EIO;
		pg->bytes += (long long)pg->need;
		pg->pages++;
		pg->have = pg->need = 0;
	}
	return TT_OK;
}

/* ---- one connection ---- */

typedef struct attempt {
	int status;           /* HTTP status, -1 when none came */
	int retry_after_s;    /* from a 503's Retry-After, else 0 */
	char why[256];        /* what ended it */
} attempt;

/* Copies the body until the deadline (0: none) or the end of the stream.
 * TT_OK at the deadline, TT_ECLOSED when the stream ended or broke,
 * TT_EIO when the file could not be written. */
static int copy_body(wsc_link *l, FILE *out, pager *pg, const char *first, size_t n,
		     int64_t deadline, attempt *a)
{
	char buf[65536];
	int rc;

	if (n && (rc = pager_feed(pg, out, (const uint8_t *)first, n)) != TT_OK)
		goto bad;
	for (;;) {
		int wait = deadline ? (int)(deadline - now_ms()) : 1000;
		size_t r;

		if (deadline && wait <= 0)
			return TT_OK;
		rc = wsc_link_recv(l, buf, sizeof buf, wait, &r);
		if (rc == TT_EAGAIN)
			continue;
		if (rc != TT_OK) {
			snprintf(a->why, sizeof a->why, "%s", rc == TT_ECLOSED ?
				 "the server ended the stream" : "the connection broke");
			return TT_ECLOSED;
		}
		if ((rc = pager_feed(pg, out, (const uint8_t *)buf, r)) != TT_OK)
			goto bad;
	}
bad:
	snprintf(a->why, sizeof a->why, "%s", rc == TT_EIO ? "write failed" :
		 "the stream is not Ogg");
	return rc;
}

/* One connection: asks for the stream, opens *out on the first 200, and
 * records until the deadline or the end. TT_OK at the deadline. */
static int listen_once(const char *server, const char *session, const char *token,
		       const char *path, FILE **out, pager *pg, int64_t deadline, attempt *a)
{
	char host[256], port[16], req[1024], head[16384];
	size_t have, body;
	const char *msg, *ra;
	wsc_link *l;
	int n, rc;

	a->status = -1;
	a->retry_after_s = 0;
	l = wsc_dial(server, host, sizeof host, port, sizeof port, a->why, sizeof a->why);
	if (!l)
		return TT_ECLOSED;
	/* HTTP/1.0: the body comes plain, and ends when the stream does. */
	n = snprintf(req, sizeof req, "GET /s/%s/live.ogg%s%s HTTP/1.0\r\nHost: %s:%s\r\n\r\n",
		     session, token ? "?t=" : "", token ? token : "", host, port);
	if (n < 0 || (size_t)n >= sizeof req || wsc_link_send(l, req, (size_t)n) != TT_OK) {
		wsc_link_close(l);
		snprintf(a->why, sizeof a->why, "cannot send the request");
		return TT_ECLOSED;
	}
	a->status = read_head(l, head, sizeof head, &have, &body);
	if (a->status != 200) {
		wsc_link_close(l);
		msg = strstr(head, "\"message\":\"");
		if (a->status < 0)
			snprintf(a->why, sizeof a->why, "no HTTP answer");
		else
			snprintf(a->why, sizeof a->why, "%s", msg ? msg + 11 : "refused");
		if ((ra = strcasestr(head, "\r\nRetry-After:")))
			a->retry_after_s = (int)strtol(ra + 14, NULL, 10);
		return TT_ECLOSED;
	}
	if (!*out && !(*out = fopen(path, "wb"))) {
		wsc_link_close(l);
		snprintf(a->why, sizeof a->why, "%s", strerror(errno));
		return TT_EIO;
	}
	pg->have = pg->need = 0;  /* a torn page of the last connection is dropped */
	rc = copy_body(l, *out, pg, head + body, have - body, deadline, a);
	wsc_link_close(l);
	return rc;
}

int cli_listen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' }, { "session", required_argument, NULL, 'S' },
		{ "token", required_argument, NULL, 't' }, { "seconds", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' }, { "no-reconnect", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *server = NULL, *session = NULL, *token = getenv("TUTTI_TOKEN"), *path = NULL;
	double seconds = 0;
	int o, rc, reconnect = 1, backoff = LISTEN_BACKOFF_MIN_MS;
	int64_t deadline;
	long long pages_before = 0;
	static pager pg;
	attempt a;
	FILE *out = NULL;

	optind = 1;
	while ((o = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (o) {
		case 's': server = optarg; break;
		case 'S': session = optarg; break;
		case 't': token = optarg; break;
		case 'n': seconds = strtod(optarg, NULL); break;
		case 'o': path = optarg; break;
		case 'R': reconnect = 0; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!server || !session || !path || optind != argc || seconds < 0) {
		fputs(usage, stderr);
		return 2;
	}
	token = creds_token(server, token); /* --token, $TUTTI_TOKEN, or tutti login's */
	crc_init();
	memset(&pg, 0, sizeof pg);
	deadline = seconds > 0 ? now_ms() + (int64_t)(seconds * 1000) : 0;
	for (;;) {
		rc = listen_once(server, session, token, path, &out, &pg, deadline, &a);
		if (rc == TT_OK)
			break;  /* the deadline */
		if (rc != TT_ECLOSED) {
			rc = fail(path, a.why);
			goto out;
		}
		/* A refusal that waiting cannot change (no such session, no
		 * right to listen) ends the command; so does any end when
		 * reconnecting is off or nothing was ever recorded. */
		if ((a.status >= 400 && a.status < 500) || !reconnect ||
		    (!out && a.status != 503)) {
			if (out && a.status == 200)
				break;  /* the stream ended: what came is recorded */
			rc = fail(a.status > 0 ? session : server, a.why);
			goto out;
		}
		if (pg.pages > pages_before)
			backoff = LISTEN_BACKOFF_MIN_MS;  /* it was working: start the back-off again */
		pages_before = pg.pages;
		int wait = a.retry_after_s > 0 ? a.retry_after_s * 1000 : backoff;
		if (wait > LISTEN_RETRY_AFTER_MAX_MS)
			wait = LISTEN_RETRY_AFTER_MAX_MS;
		if (deadline && now_ms() + wait >= deadline)
			break;
		fprintf(stderr, "tutti listen: %s; reconnecting in %d ms\n", a.why, wait);
		usleep((useconds_t)wait * 1000);
		backoff = backoff * 2 > LISTEN_BACKOFF_MAX_MS ? LISTEN_BACKOFF_MAX_MS : backoff * 2;
		if (pg.pages > 0)
			pg.link++;  /* the next stream is a new link of the file */
	}
	rc = 0;
	if (!out)
		rc = fail(server, "no stream was recorded");
out:
	if (out && fclose(out) != 0)
		rc = fail(path, "write failed");
	if (rc == 0)
		fprintf(stderr, "tutti listen: %lld bytes of Ogg Opus in %s (%u reconnect%s)\n",
			pg.bytes, path, pg.link, pg.link == 1 ? "" : "s");
	return rc;
}
