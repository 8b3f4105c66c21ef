/* tests/fuzz/server_harness.c: see server_harness.h. */
#include "tests/fuzz/server_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/error.h"
#include "server/app.h"
#include "server/editing.h"
#include "server/http.h"
#include "server/hub.h"
#include "server/log.h"
#include "server/loop.h"
#include "server/session.h"
#include "server/writer.h"
#include "server/ws_conn.h"
#include "server/ws_frame.h"

static tt_app app;
static int port;
static char dir[] = "/tmp/tutti-fuzz-XXXXXX";
static char sid[64], token[256], docid[32];

/* tuttid's main.c defines this; the harness replaces main.c. */
int64_t app_now_ms(void)
{
	return loop_now_ms();
}

void fs_fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz server harness: %s%s%.2000s\n", what, detail ? ": " : "",
		detail ? detail : "");
	abort();
}

static void shutdown_loop(void *arg)
{
	tt_app *a = arg;

	ws_conn_close_all(a);
	writer_stop(a->writer);
	a->writer = NULL;
	sessions_free_all();
}

/* At exit: the same order as tuttid's shutdown, then the folder. */
static void stop(void)
{
	char path[sizeof dir + 32];

	if (app.loop)
		loop_stop(app.loop, shutdown_loop, &app);
	http_stop(app.http);
	hub_fini();
	store_close(app.st);
	for (const char *f = "tutti.db\0tutti.db-wal\0tutti.db-shm\0"; *f; f += strlen(f) + 1) {
		snprintf(path, sizeof path, "%s/%s", dir, f);
		unlink(path);
	}
	rmdir(dir);
}

/* Reads a whole HTTP response (Connection: close) into a new string. */
static char *http_roundtrip(const char *req)
{
	int fd = fs_connect();
	size_t n = 0, cap = 65536;
	char *buf = malloc(cap);
	ssize_t r;

	if (!buf)
		fs_fail("out of memory", NULL);
	fs_write_all(fd, req, strlen(req));
	while ((r = fs_read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	return buf;
}

/* The fixture: a session (its owner token) with one document. */
static void fixture(void)
{
	const char *body = "{\"name\":\"fuzz\"}";
	char req[512], *resp, *json;
	json_t *root, *msg;
	fs_ws *w;
	size_t len;
	const char *text;

	snprintf(req, sizeof req, "POST /api/sessions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		 "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	resp = http_roundtrip(req);
	json = strstr(resp, "\r\n\r\n");
	root = json ? json_loads(json + 4, 0, NULL) : NULL;
	if (!root || !json_string_value(json_object_get(root, "id")))
		fs_fail("cannot create the fixture session", resp);
	snprintf(sid, sizeof sid, "%s", json_string_value(json_object_get(root, "id")));
	snprintf(token, sizeof token, "%s", json_string_value(json_object_get(root, "owner_token")));
	json_decref(root);
	free(resp);

	w = fs_ws_open();
	msg = json_pack("{s:s,s:i,s:s,s:s}", "type", "join", "id", 1, "session", sid, "token", token);
	json = json_dumps(msg, JSON_COMPACT);
	fs_ws_send(w, json, strlen(json));
	free(json);
	json_decref(msg);
	text = "{\"type\":\"doc.create\",\"id\":2,\"name\":\"fuzz\"}";
	fs_ws_send(w, text, strlen(text));
	while ((text = fs_ws_recv(w, &len)) != NULL) {
		root = json_loads(text, 0, NULL);
		json_t *id = json_object_get(root, "id");
		if (json_is_integer(id) && json_integer_value(id) == 2) {
			json_t *d = json_object_get(json_object_get(root, "doc"), "id");
			if (!json_is_integer(d))
				fs_fail("cannot create the fixture document", text);
			snprintf(docid, sizeof docid, "%lld", (long long)json_integer_value(d));
			json_decref(root);
			break;
		}
		json_decref(root);
	}
	if (!docid[0])
		fs_fail("the fixture connection closed", NULL);
	fs_ws_close(w);
}

int fs_start(void)
{
	store_config sc;
	char err[512];

	if (port)
		return port;
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir))
		fs_fail("mkdtemp", strerror(errno));
	memset(&app, 0, sizeof app);
	config_default(&app.cfg);
	snprintf(app.cfg.listen_host, sizeof app.cfg.listen_host, "127.0.0.1");
	app.cfg.listen_port = 0;
	snprintf(app.cfg.db_path, sizeof app.cfg.db_path, "%s/tutti.db", dir);
	snprintf(app.cfg.web_dir, sizeof app.cfg.web_dir, "%s", dir);
	app.cfg.demo = 0;
	app.cfg.archive = 0;
	app.cfg.ws_per_address = 1 << 20; /* one connection per input */
	app.cfg.pbkdf2_iterations = 1000; /* logins are code to cover, not a cost */
	log_set_level(getenv("FUZZ_LOG") ? LOG_DEBUG : LOG_ERROR);
	app.started_ms = app_now_ms();
	pthread_mutex_init(&app.store_lock, NULL);
	store_config_default(&sc);
	/* Fuzzing measures code, not the disk: no fsync anywhere. */
	sc.synchronous = STORE_SYNC_NORMAL;
	app.store_cfg = sc;
	if (store_open(app.cfg.db_path, &sc, &app.st) != TT_OK)
		fs_fail("cannot open the database", app.cfg.db_path);
	if (loop_start(&app.loop, ws_conn_tick, &app, 1000) != TT_OK || hub_init(&app) != TT_OK)
		fs_fail("cannot start the loop or the hub", NULL);
	if (writer_start(app.cfg.db_path, &app.store_cfg, app.loop, editing_on_commit, &app,
			 &app.writer, err, sizeof err) != TT_OK)
		fs_fail("cannot start the writer", err);
	if (http_start(&app, &app.http, err, sizeof err) != TT_OK)
		fs_fail("cannot start the HTTP daemon", err);
	port = http_port(app.http);
	atexit(stop);
	fixture();
	return port;
}

char *fs_expand(const uint8_t *in, size_t n, size_t *out_len)
{
	size_t cap = n * 64 + 1, k = 0; /* the longest value is under 64 bytes */
	char *out = malloc(cap);

	if (!out)
		fs_fail("out of memory", NULL);
	for (size_t i = 0; i < n; i++) {
		const char *v = NULL;
		if (in[i] == '$' && i + 1 < n) {
			v = in[i + 1] == 'S' ? sid : in[i + 1] == 'T' ? token :
			    in[i + 1] == 'D' ? docid : NULL;
		}
		if (v) {
			size_t m = strlen(v);
			memcpy(out + k, v, m);
			k += m;
			i++;
		} else {
			out[k++] = (char)in[i];
		}
	}
	out[k] = '\0';
	*out_len = k;
	return out;
}

int fs_connect(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = FUZZ_REPLY_TIMEOUT_S };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		fs_fail("socket", strerror(errno));
	/* libFuzzer's -timeout ticks with SIGALRM: EINTR is no failure. */
	while (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (errno == EISCONN)
			break;
		if (errno != EINTR && errno != EALREADY && errno != EINPROGRESS)
			fs_fail("cannot connect to the server", strerror(errno));
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	return fd;
}

ssize_t fs_read(int fd, void *buf, size_t n)
{
	ssize_t r;

	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

int fs_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
			return -1;
		if (w < 0)
			fs_fail("write to the server", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- WebSocket client ---- */

struct fs_ws {
	int fd;
	ws_parser parser;
	uint8_t buf[65536];
	size_t have, off;
	char *msg;
	int closed;
};

fs_ws *fs_ws_open(void)
{
	static const char req[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
				  "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
				  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
	fs_ws *w = calloc(1, sizeof *w);
	ws_parser_config c;
	char *end = NULL;

	if (!w)
		fs_fail("out of memory", NULL);
	w->fd = fs_connect();
	fs_write_all(w->fd, req, sizeof req - 1);
	/* The 101 response, then frames (possibly in the same read). */
	while (!end) {
		ssize_t r = fs_read(w->fd, w->buf + w->have, sizeof w->buf - 1 - w->have);
		if (r <= 0)
			fs_fail("no answer to the WebSocket upgrade", strerror(errno));
		w->have += (size_t)r;
		w->buf[w->have] = 0;
		end = strstr((char *)w->buf, "\r\n\r\n");
	}
	if (strncmp((char *)w->buf, "HTTP/1.1 101", 12) != 0)
		fs_fail("the upgrade was refused", (char *)w->buf);
	w->off = (size_t)(end + 4 - (char *)w->buf);
	ws_parser_config_default(&c);
	c.client_mode = 1;
	ws_parser_init(&w->parser, &c);
	return w;
}

int fs_ws_send(fs_ws *w, const char *text, size_t len)
{
	static const uint8_t key[4] = { 0x12, 0x34, 0x56, 0x78 };
	size_t cap = len + ws_frame_masked_size(len), n = 0;
	uint8_t *f = malloc(cap);
	int rc;

	if (!f)
		fs_fail("out of memory", NULL);
	if (ws_frame_encode_masked(WS_OP_TEXT, 1, text, len, key, f, cap, &n) != TT_OK)
		fs_fail("cannot encode a frame", NULL);
	rc = w->closed ? -1 : fs_write_all(w->fd, f, n);
	free(f);
	return rc;
}

const char *fs_ws_recv(fs_ws *w, size_t *len)
{
	for (;;) {
		while (w->off < w->have && !w->closed) {
			ws_event ev;
			size_t used = 0;
			ws_parser_feed(&w->parser, w->buf + w->off, w->have - w->off, &used, &ev);
			w->off += used;
			if (ev.type == WS_EV_TEXT) {
				free(w->msg);
				w->msg = malloc(ev.len + 1);
				if (!w->msg)
					fs_fail("out of memory", NULL);
				memcpy(w->msg, ev.data, ev.len);
				w->msg[ev.len] = '\0';
				*len = ev.len;
				return w->msg;
			}
			if (ev.type == WS_EV_CLOSE)
				w->closed = 1;
			if (ev.type == WS_EV_ERROR)
				fs_fail("the server sent a malformed frame", ev.reason);
			if (ev.type == WS_EV_NEED_MORE)
				break;
		}
		if (w->closed)
			return NULL;
		if (w->off == w->have)
			w->off = w->have = 0;
		ssize_t r = fs_read(w->fd, w->buf + w->have, sizeof w->buf - w->have);
		if (r == 0 || (r < 0 && (errno == ECONNRESET || errno == EPIPE))) {
			w->closed = 1;
			return NULL;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			fs_fail("the server did not answer within FUZZ_REPLY_TIMEOUT_S", NULL);
		if (r < 0)
			fs_fail("read from the server", strerror(errno));
		w->have += (size_t)r;
	}
}

void fs_ws_close(fs_ws *w)
{
	static const uint8_t key[4] = { 1, 2, 3, 4 };
	uint8_t f[32];
	size_t n = 0;

	if (!w->closed &&
	    ws_frame_encode_masked(WS_OP_CLOSE, 1, "\x03\xe8", 2, key, f, sizeof f, &n) == TT_OK)
		fs_write_all(w->fd, f, n);
	close(w->fd);
	ws_parser_fini(&w->parser);
	free(w->msg);
	free(w);
}
