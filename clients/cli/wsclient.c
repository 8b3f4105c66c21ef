/* clients/cli/wsclient.c: see wsclient.h. */
#include "clients/cli/wsclient.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/base64.h>

#include "common/error.h"
#include "common/limits.h"
#include "server/ws_frame.h"

typedef struct queued {
	json_t *msg;
	struct queued *next;
} queued;

struct wsc {
	int fd;
	ws_parser parser;
	uint8_t buf[65536];
	size_t have, off;     /* unread bytes buf[off .. have) */
	queued *head, *tail;
	long long next_id;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_url(const char *url, char *host, size_t hcap, char *port, size_t pcap)
{
	const char *p = strstr(url, "://");
	const char *colon, *end;

	p = p ? p + 3 : url;
	end = p + strcspn(p, "/");
	colon = memchr(p, ':', (size_t)(end - p));
	if (!colon) {
		if ((size_t)(end - p) >= hcap)
			return TT_EINVAL;
		memcpy(host, p, (size_t)(end - p));
		host[end - p] = '\0';
		snprintf(port, pcap, "80");
		return TT_OK;
	}
	if ((size_t)(colon - p) >= hcap || (size_t)(end - colon - 1) >= pcap || colon == p)
		return TT_EINVAL;
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = '\0';
	memcpy(port, colon + 1, (size_t)(end - colon - 1));
	port[end - colon - 1] = '\0';
	return TT_OK;
}

static int write_all(int fd, const void *data, size_t n)
{
	const uint8_t *p = data;
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return TT_EIO;
		p += w;
		n -= (size_t)w;
	}
	return TT_OK;
}

static int tcp_connect(const char *host, const char *port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, rc = getaddrinfo(host, port, &hints, &res);

	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "cannot connect to %s:%s: %s", host, port, strerror(errno));
	return fd;
}

int wsc_dial(const char *url, char *host, size_t hostcap, char *port, size_t portcap,
	     char *err, size_t errlen)
{
	if (parse_url(url, host, hostcap, port, portcap) != TT_OK) {
		snprintf(err, errlen, "'%s' is not http://HOST:PORT", url);
		return -1;
	}
	return tcp_connect(host, port, err, errlen);
}

/* Sends the upgrade request and reads the response headers. */
static int handshake(wsc *c, const char *host, const char *port, char *err, size_t errlen)
{
	uint8_t nonce[16];
	unsigned char key[32];
	size_t klen;
	char req[512], *end;
	int n;

	if (getrandom(nonce, sizeof nonce, 0) != sizeof nonce ||
	    mbedtls_base64_encode(key, sizeof key, &klen, nonce, sizeof nonce) != 0)
		return TT_EIO;
	key[klen] = '\0';
	n = snprintf(req, sizeof req, "GET /ws HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
		     host, port, key);
	if (write_all(c->fd, req, (size_t)n) != TT_OK)
		return TT_EIO;
	while (!(end = memmem(c->buf, c->have, "\r\n\r\n", 4))) {
		ssize_t r = recv(c->fd, c->buf + c->have, sizeof c->buf - c->have - 1, 0);
		if (r <= 0 || c->have + (size_t)r >= sizeof c->buf - 1) {
			snprintf(err, errlen, "the server closed the connection during the upgrade");
			return TT_EPROTO;
		}
		c->have += (size_t)r;
	}
	if (c->have < 12 || memcmp(c->buf + 9, "101", 3) != 0) {
		snprintf(err, errlen, "the server refused the upgrade: %.*s", (int)(strcspn(
			 (char *)c->buf, "\r\n")), c->buf);
		return TT_EPROTO;
	}
	c->off = (size_t)(end + 4 - (char *)c->buf);
	return TT_OK;
}

int wsc_connect(const char *url, wsc **out, char *err, size_t errlen)
{
	char host[256], port[16];
	ws_parser_config pc;
	wsc *c;

	if (parse_url(url, host, sizeof host, port, sizeof port) != TT_OK) {
		snprintf(err, errlen, "'%s' is not http://HOST:PORT", url);
		return TT_EINVAL;
	}
	c = calloc(1, sizeof *c);
	if (!c)
		return TT_ENOMEM;
	c->fd = tcp_connect(host, port, err, errlen);
	if (c->fd < 0 || handshake(c, host, port, err, errlen) != TT_OK) {
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return TT_EIO;
	}
	ws_parser_config_default(&pc);
	pc.client_mode = 1;
	ws_parser_init(&c->parser, &pc);
	*out = c;
	return TT_OK;
}

void wsc_close(wsc *c)
{
	uint8_t frame[32], payload[2], mask[4] = { 0, 0, 0, 0 };
	size_t n;

	if (!c)
		return;
	ws_close_payload(WS_CLOSE_NORMAL, NULL, payload, sizeof payload);
	if (getrandom(mask, sizeof mask, 0) == sizeof mask &&
	    ws_frame_encode_masked(WS_OP_CLOSE, 1, payload, 2, mask, frame, sizeof frame, &n) == TT_OK)
		write_all(c->fd, frame, n);
	close(c->fd);
	ws_parser_fini(&c->parser);
	while (c->head) {
		queued *q = c->head;
		c->head = q->next;
		json_decref(q->msg);
		free(q);
	}
	free(c);
}

static int send_frame(wsc *c, unsigned op, const void *data, size_t len)
{
	uint8_t mask[4];
	size_t cap = len + WS_MAX_HEADER, n;
	uint8_t *frame = malloc(cap);
	int rc;

	if (!frame)
		return TT_ENOMEM;
	if (getrandom(mask, sizeof mask, 0) != sizeof mask) {
		free(frame);
		return TT_EIO;
	}
	rc = ws_frame_encode_masked(op, 1, data, len, mask, frame, cap, &n);
	if (rc == TT_OK)
		rc = write_all(c->fd, frame, n);
	free(frame);
	return rc;
}

int wsc_send(wsc *c, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	int rc;

	if (!text)
		return TT_ENOMEM;
	rc = send_frame(c, WS_OP_TEXT, text, strlen(text));
	free(text);
	return rc;
}

/* Reads until one text message is parsed (into *msg) or the deadline. */
static int read_message(wsc *c, int64_t deadline, json_t **msg, char *err, size_t errlen)
{
	for (;;) {
		while (c->off < c->have) {
			ws_event ev;
			size_t used;
			ws_parser_feed(&c->parser, c->buf + c->off, c->have - c->off, &used, &ev);
			c->off += used;
			if (ev.type == WS_EV_TEXT) {
				*msg = json_loadb((const char *)ev.data, ev.len, 0, NULL);
				if (*msg)
					return TT_OK;
			} else if (ev.type == WS_EV_PING) {
				send_frame(c, WS_OP_PONG, ev.data, ev.len);
			} else if (ev.type == WS_EV_CLOSE || ev.type == WS_EV_ERROR) {
				snprintf(err, errlen, "the server closed the connection (%u %s)",
					 ev.close_code, ev.reason ? ev.reason : "");
				return TT_ECLOSED;
			} else if (ev.type == WS_EV_NEED_MORE) {
				break;
			}
		}
		c->off = c->have = 0;
		struct pollfd p = { c->fd, POLLIN, 0 };
		int wait = (int)(deadline - now_ms());
		if (wait <= 0 || poll(&p, 1, wait) <= 0)
			return TT_EAGAIN;
		ssize_t r = recv(c->fd, c->buf, sizeof c->buf, 0);
		if (r <= 0) {
			snprintf(err, errlen, "the server closed the connection");
			return TT_ECLOSED;
		}
		c->have = (size_t)r;
	}
}

int wsc_next(wsc *c, int timeout_ms, json_t **msg, char *err, size_t errlen)
{
	if (c->head) {
		queued *q = c->head;
		c->head = q->next;
		if (!c->head)
			c->tail = NULL;
		*msg = q->msg;
		free(q);
		return TT_OK;
	}
	return read_message(c, now_ms() + timeout_ms, msg, err, errlen);
}

int wsc_request(wsc *c, json_t *msg, int timeout_ms, json_t **reply, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + timeout_ms;
	long long id = ++c->next_id;
	int rc;

	json_object_set_new(msg, "id", json_integer(id));
	rc = wsc_send(c, msg);
	json_decref(msg);
	while (rc == TT_OK) {
		json_t *m;
		rc = read_message(c, deadline, &m, err, errlen);
		if (rc != TT_OK)
			break;
		if (json_integer_value(json_object_get(m, "id")) == id) {
			*reply = m;
			return TT_OK;
		}
		queued *q = malloc(sizeof *q);
		if (!q) {
			json_decref(m);
			return TT_ENOMEM;
		}
		q->msg = m;
		q->next = NULL;
		if (c->tail)
			c->tail->next = q;
		else
			c->head = q;
		c->tail = q;
	}
	if (rc == TT_EAGAIN)
		snprintf(err, errlen, "no reply within %d ms", timeout_ms);
	return rc;
}
