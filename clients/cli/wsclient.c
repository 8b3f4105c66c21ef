/* clients/cli/wsclient.c: see wsclient.h. */
#include "clients/cli/wsclient.h"

#include <errno.h>
#include <fcntl.h>
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
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "common/error.h"
#include "common/limits.h"
#include "server/ws_frame.h"

typedef struct queued {
	json_t *msg;
	struct queued *next;
} queued;

struct wsc {
	wsc_link *link;
	ws_parser parser;
	uint8_t buf[65536];
	size_t have, off;     /* unread bytes buf[off .. have) */
	queued *head, *tail;
	long long next_id;
};

/* One connection, plain or TLS. The socket is non-blocking; every wait
 * is a poll with a deadline. */
struct wsc_link {
	int fd;
	int tls;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

/* Milliseconds a connection (TCP and TLS handshake) may take. */
#define DIAL_TIMEOUT_MS 10000

/* X25519 first, as browsers and curl offer it: mbedTLS's own default
 * order starts with P-521 and P-384, the slowest. */
static const mbedtls_ecp_group_id curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1,
	MBEDTLS_ECP_DP_NONE,
};

static const char *tls_cacert;
static int tls_insecure;

void wsc_set_tls(const char *cacert, int insecure)
{
	tls_cacert = cacert;
	tls_insecure = insecure;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Splits SCHEME://HOST[:PORT][/...]; *tls says whether the scheme is
 * https or wss. Without a scheme, http. */
static int parse_url(const char *url, char *host, size_t hcap, char *port, size_t pcap, int *tls)
{
	const char *p = strstr(url, "://");
	const char *colon, *end;

	*tls = 0;
	if (p) {
		size_t n = (size_t)(p - url);
		if ((n == 5 && strncmp(url, "https", 5) == 0) || (n == 3 && strncmp(url, "wss", 3) == 0))
			*tls = 1;
		else if (!(n == 4 && strncmp(url, "http", 4) == 0) && !(n == 2 && strncmp(url, "ws", 2) == 0))
			return TT_EINVAL;
	}
	p = p ? p + 3 : url;
	end = p + strcspn(p, "/");
	colon = memchr(p, ':', (size_t)(end - p));
	if (!colon) {
		if ((size_t)(end - p) >= hcap || end == p)
			return TT_EINVAL;
		memcpy(host, p, (size_t)(end - p));
		host[end - p] = '\0';
		snprintf(port, pcap, "%s", *tls ? "443" : "80");
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

/* Waits until fd is ready for events or the deadline (-1: none). */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { fd, events, 0 };
		int wait = deadline < 0 ? -1 : (int)(deadline - now_ms());
		int rc;
		if (deadline >= 0 && wait <= 0)
			return TT_EAGAIN;
		rc = poll(&p, 1, wait);
		if (rc > 0)
			return TT_OK;
		if (rc < 0 && errno != EINTR)
			return TT_EIO;
	}
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
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to %s:%s: %s", host, port, strerror(errno));
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	ssize_t n = send(*(int *)ctx, buf, len, MSG_NOSIGNAL);
	if (n >= 0)
		return (int)n;
	return errno == EAGAIN || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_WRITE
						 : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	ssize_t n = recv(*(int *)ctx, buf, len, 0);
	if (n >= 0)
		return (int)n;
	return errno == EAGAIN || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ
						 : MBEDTLS_ERR_NET_RECV_FAILED;
}

/* Polls for what mbedTLS asked for (rc is WANT_READ or WANT_WRITE). */
static int tls_wait(wsc_link *l, int rc, int64_t deadline)
{
	return wait_fd(l->fd, rc == MBEDTLS_ERR_SSL_WANT_WRITE ? POLLOUT : POLLIN, deadline);
}

/* Explains a failed certificate check in a user's terms. */
static void verify_error(wsc_link *l, const char *host, char *err, size_t errlen)
{
	uint32_t flags = mbedtls_ssl_get_verify_result(&l->ssl);

	if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
		snprintf(err, errlen, "the server's certificate is not for '%s'", host);
	else if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		snprintf(err, errlen, "the server's certificate is not signed by a CA in %s "
			 "(--cacert FILE names another; --insecure skips the check)",
			 tls_cacert ? tls_cacert : WSC_DEFAULT_CACERT);
	else if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
		snprintf(err, errlen, "the server's certificate has expired");
	else if (flags & MBEDTLS_X509_BADCERT_FUTURE)
		snprintf(err, errlen, "the server's certificate is not valid yet");
	else
		snprintf(err, errlen, "the server's certificate does not verify (flags 0x%x)",
			 (unsigned)flags);
}

static int tls_start(wsc_link *l, const char *host, char *err, size_t errlen)
{
	static const char pers[] = "tutti cli";
	const char *ca = tls_cacert ? tls_cacert : WSC_DEFAULT_CACERT;
	int64_t deadline = now_ms() + DIAL_TIMEOUT_MS;
	char why[160];
	int rc;

	l->tls = 1;
	mbedtls_ssl_init(&l->ssl);
	mbedtls_ssl_config_init(&l->conf);
	mbedtls_x509_crt_init(&l->ca);
	mbedtls_entropy_init(&l->entropy);
	mbedtls_ctr_drbg_init(&l->drbg);
	if (!tls_insecure && (rc = mbedtls_x509_crt_parse_file(&l->ca, ca)) < 0) {
		snprintf(err, errlen, "--cacert %s: %s", ca, access(ca, R_OK) != 0 ? strerror(errno) :
			 "no PEM certificate in it");
		return TT_EINVAL;
	}
	if ((rc = mbedtls_ctr_drbg_seed(&l->drbg, mbedtls_entropy_func, &l->entropy,
					(const unsigned char *)pers, sizeof pers - 1)) != 0 ||
	    (rc = mbedtls_ssl_config_defaults(&l->conf, MBEDTLS_SSL_IS_CLIENT,
					      MBEDTLS_SSL_TRANSPORT_STREAM,
					      MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
		goto fail;
	mbedtls_ssl_conf_rng(&l->conf, mbedtls_ctr_drbg_random, &l->drbg);
	mbedtls_ssl_conf_min_version(&l->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_authmode(&l->conf, tls_insecure ? MBEDTLS_SSL_VERIFY_NONE
							 : MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&l->conf, &l->ca, NULL);
	mbedtls_ssl_conf_curves(&l->conf, curves);
	if ((rc = mbedtls_ssl_setup(&l->ssl, &l->conf)) != 0 ||
	    (rc = mbedtls_ssl_set_hostname(&l->ssl, host)) != 0)
		goto fail;
	mbedtls_ssl_set_bio(&l->ssl, &l->fd, bio_send, bio_recv, NULL);
	while ((rc = mbedtls_ssl_handshake(&l->ssl)) != 0) {
		if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
			verify_error(l, host, err, errlen);
			return TT_EPROTO;
		}
		if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE)
			goto fail;
		if (tls_wait(l, rc, deadline) != TT_OK) {
			snprintf(err, errlen, "the TLS handshake with %s did not finish", host);
			return TT_EIO;
		}
	}
	return TT_OK;
fail:
	mbedtls_strerror(rc, why, sizeof why);
	snprintf(err, errlen, "TLS with %s failed: %s", host, why);
	return TT_EPROTO;
}

void wsc_link_close(wsc_link *l)
{
	if (!l)
		return;
	if (l->tls) {
		mbedtls_ssl_close_notify(&l->ssl); /* once, without waiting */
		mbedtls_ssl_free(&l->ssl);
		mbedtls_ssl_config_free(&l->conf);
		mbedtls_x509_crt_free(&l->ca);
		mbedtls_ctr_drbg_free(&l->drbg);
		mbedtls_entropy_free(&l->entropy);
	}
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

wsc_link *wsc_dial(const char *url, char *host, size_t hostcap, char *port, size_t portcap,
		   char *err, size_t errlen)
{
	wsc_link *l;
	int tls;

	if (parse_url(url, host, hostcap, port, portcap, &tls) != TT_OK) {
		snprintf(err, errlen, "'%s' is not http(s)://HOST:PORT or ws(s)://HOST:PORT", url);
		return NULL;
	}
	l = calloc(1, sizeof *l);
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->fd = tcp_connect(host, port, err, errlen);
	if (l->fd < 0 || (tls && tls_start(l, host, err, errlen) != TT_OK)) {
		wsc_link_close(l);
		return NULL;
	}
	return l;
}

int wsc_link_send(wsc_link *l, const void *data, size_t n)
{
	const uint8_t *p = data;

	while (n > 0) {
		if (l->tls) {
			int rc = mbedtls_ssl_write(&l->ssl, p, n);
			if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
				if (tls_wait(l, rc, -1) != TT_OK)
					return TT_EIO;
				continue;
			}
			if (rc < 0)
				return TT_EIO;
			p += rc;
			n -= (size_t)rc;
			continue;
		}
		ssize_t w = send(l->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
			if (wait_fd(l->fd, POLLOUT, -1) != TT_OK)
				return TT_EIO;
			continue;
		}
		if (w <= 0)
			return TT_EIO;
		p += w;
		n -= (size_t)w;
	}
	return TT_OK;
}

int wsc_link_recv(wsc_link *l, void *buf, size_t cap, int timeout_ms, size_t *got)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;

	*got = 0;
	for (;;) {
		if (l->tls) {
			int rc = mbedtls_ssl_read(&l->ssl, buf, cap);
			if (rc > 0) {
				*got = (size_t)rc;
				return TT_OK;
			}
			if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ||
			    rc == MBEDTLS_ERR_SSL_CONN_EOF)
				return TT_ECLOSED;
			if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE)
				return TT_EIO;
			rc = tls_wait(l, rc, deadline);
			if (rc != TT_OK)
				return rc;
			continue;
		}
		ssize_t r = recv(l->fd, buf, cap, 0);
		if (r > 0) {
			*got = (size_t)r;
			return TT_OK;
		}
		if (r == 0)
			return TT_ECLOSED;
		if (errno != EAGAIN && errno != EINTR)
			return TT_EIO;
		int rc = wait_fd(l->fd, POLLIN, deadline);
		if (rc != TT_OK)
			return rc;
	}
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
	if (wsc_link_send(c->link, req, (size_t)n) != TT_OK)
		return TT_EIO;
	while (!(end = memmem(c->buf, c->have, "\r\n\r\n", 4))) {
		size_t r;
		if (wsc_link_recv(c->link, c->buf + c->have, sizeof c->buf - c->have - 1,
				  DIAL_TIMEOUT_MS, &r) != TT_OK ||
		    c->have + r >= sizeof c->buf - 1) {
			snprintf(err, errlen, "the server closed the connection during the upgrade");
			return TT_EPROTO;
		}
		c->have += r;
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

	c = calloc(1, sizeof *c);
	if (!c)
		return TT_ENOMEM;
	c->link = wsc_dial(url, host, sizeof host, port, sizeof port, err, errlen);
	if (!c->link || handshake(c, host, port, err, errlen) != TT_OK) {
		wsc_link_close(c->link);
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
		wsc_link_send(c->link, frame, n);
	wsc_link_close(c->link);
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
		rc = wsc_link_send(c->link, frame, n);
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
		int wait = (int)(deadline - now_ms());
		size_t r;
		if (wait <= 0)
			return TT_EAGAIN;
		int rc = wsc_link_recv(c->link, c->buf, sizeof c->buf, wait, &r);
		if (rc == TT_EAGAIN)
			return TT_EAGAIN;
		if (rc != TT_OK) {
			snprintf(err, errlen, "the server closed the connection");
			return TT_ECLOSED;
		}
		c->have = r;
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
