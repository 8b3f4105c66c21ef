/*
 * server/tls.c: the TLS front (see tls.h for what it is for).
 *
 * One thread, one epoll set, non-blocking sockets. A connection moves
 * through these states:
 *
 *   accept ──► HANDSHAKE ──handshake_step()──► PUMP ──► (freed)
 *                 │  timeout, error, plain HTTP     │  both sides done, an
 *                 ▼                                  │  error, or the linger
 *              (freed; plain HTTP gets a 400 first)  ▼  deadline
 *                                                 conn_free()
 *
 * In PUMP a connection has two descriptors: tcp (the client, TLS) and
 * plain (our end of the socketpair whose other end libmicrohttpd owns).
 *
 * Invariants:
 *  1. Memory per connection is bounded: mbedTLS's record buffers, plus at
 *     most one decrypted record the plain side has not yet taken (in_buf).
 *     Plain→TLS needs at most one record of ours: a record mbedTLS could
 *     not send yet stays in its output buffer (out_pending counts its plain
 *     bytes), the rest of one sealed on the fast path in fast_buf, and
 *     nothing more is read from the plain side until it has gone.
 *  2. A descriptor is in the epoll set exactly when we want an event from
 *     it (want_tcp/want_plain != 0), so a hang-up we cannot act on yet
 *     (EPOLLHUP is reported whatever the mask) never spins the loop.
 *  3. Every connection has a deadline while it is handshaking or lingering
 *     after its HTTP side closed; the loop closes it when that passes.
 *  4. The plain side reads at most TT_TLS_RECORD_BYTES at once and sends
 *     them as one record: a burst of small HTTP writes (an Ogg page, a
 *     chunk header, its trailer) costs one encryption and one send.
 *  5. With an AES-GCM suite on a processor with AES-NI and PCLMULQDQ, the
 *     records going out are sealed by tls_gcm.c (the fast path), not by
 *     mbedTLS, under the keys mbedTLS exported and its sequence number,
 *     which the fast path advances as mbedTLS would. Records stay in
 *     sequence order on the wire: while a sealed record is partly sent,
 *     mbedTLS may not send (bio_send says WANT_WRITE), and nothing is
 *     sealed while mbedTLS holds a record (an alert) it could not send.
 */
#include "server/tls.h"

#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_internal.h> /* mbedtls_ssl_flush_output (invariant 5) */
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>
#include <microhttpd.h>

#include "common/error.h"
#include "common/limits.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/tls_gcm.h"

enum { SIDE_TCP, SIDE_PLAIN, SIDE_LISTEN, SIDE_WAKE };
enum { ST_HANDSHAKE, ST_PUMP };

/* Records handled per connection per wake-up, so one busy connection
 * cannot starve the others (level-triggered epoll brings it back). */
#define PUMP_BUDGET 4
#define ACCEPT_BUDGET 64
#define TICK_MS 250
#define LISTEN_BACKLOG 1024
/* Microseconds the thread rests after a batch of events before it asks
 * epoll again. The HTTP side writes to its listeners in bursts (every
 * stream page goes to all of them at once); waking for each write costs
 * a context switch per page per listener, resting lets one epoll_wait
 * collect the burst. 1 ms is nothing next to a 20 ms audio frame. */
#define COALESCE_US 1000

typedef struct tls_conn tls_conn;

/* What an epoll event points at: a side of a connection, or the front's
 * own descriptors (conn NULL). */
typedef struct tls_end {
	tls_conn *conn;
	int side;
} tls_end;

struct tls_conn {
	tls_front *f;
	int state;
	int tcp, plain;
	uint32_t want_tcp, want_plain;     /* epoll interest (invariant 2) */
	uint32_t reg_tcp, reg_plain;       /* what the epoll set holds now */
	mbedtls_ssl_context ssl;
	int64_t deadline_ms;               /* 0: none (invariant 3) */
	size_t out_pending;                /* plain bytes of a record mbedTLS holds */
	uint8_t *in_buf;                   /* decrypted bytes the plain side refused */
	size_t in_off, in_len;
	int plain_eof, tcp_eof;            /* that side will send nothing more */
	int peeked;                        /* the first byte was looked at */
	int dead;                          /* closed; freed after this batch */
	tls_gcm *gcm;                      /* the fast path's keys (invariant 5), or NULL */
	uint8_t *fast_buf;                 /* a sealed record TCP has not taken in full */
	size_t fast_off, fast_len;
	uint8_t wkey[32], wsalt[4];        /* exported during the handshake, then wiped */
	size_t wkeylen;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	tls_end ends[2];
	tls_conn *prev, *next;
};

struct tls_front {
	int listen_fd, ep, wake_fd, port;
	pthread_t thread;
	int started;
	struct MHD_Daemon *daemon;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt cert;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_ticket_context tickets;
	tls_end listen_end, wake_end;
	int64_t accept_paused_until;       /* out of descriptors: retry later */
	tls_conn *conns;
	tls_conn *dead;                    /* closed in this batch of events */
	tls_conn *hs;                      /* whose handshake step runs (for export_keys) */
	int n_conns;
	uint8_t scratch[TT_TLS_RECORD_BYTES];
	uint8_t sealed[TT_TLS_RECORD_BYTES + TLS_GCM_OVERHEAD];
	uint64_t refused;                  /* over TT_MAX_TLS_CONNECTIONS */
};

/* TLS 1.2 suites: ECDHE (forward secrecy) with an AEAD cipher only, in
 * the server's order of preference. Encryption is most of what a TLS
 * listener costs. Where the fast path runs (tls_gcm_available), AES-128-GCM
 * comes first: sealed there it costs well under 1 ns a byte. Elsewhere
 * ChaCha20-Poly1305 does: in Debian's mbedTLS 2.28 it is cheaper than its
 * AES-GCM, which goes one 16-byte block at a time (about 4 and 5 ns a
 * byte here). */
static const int suites_aes_first[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	0,
};

static const int suites[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	0,
};

static const mbedtls_ecp_group_id curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1,
	MBEDTLS_ECP_DP_NONE,
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *mbed_err(int rc, char *buf, size_t cap)
{
	mbedtls_strerror(rc, buf, cap);
	return buf;
}

/* ---- mbedTLS's view of the client socket ---- */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	tls_conn *c = ctx;
	ssize_t n;

	if (c->fast_off < c->fast_len)
		return MBEDTLS_ERR_SSL_WANT_WRITE; /* a sealed record goes first (invariant 5) */
	n = send(c->tcp, buf, len, MSG_NOSIGNAL);

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	tls_conn *c = ctx;
	ssize_t n = recv(c->tcp, buf, len, 0);

	if (n >= 0)
		return (int)n; /* 0: the client closed without close_notify */
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

/* ---- the epoll set (invariant 2) ---- */

static void sync_fd(tls_front *f, int fd, tls_end *end, uint32_t want, uint32_t *reg)
{
	struct epoll_event ev = { .events = want, .data.ptr = end };

	if (fd < 0 || want == *reg)
		return;
	if (want == 0)
		epoll_ctl(f->ep, EPOLL_CTL_DEL, fd, NULL);
	else
		epoll_ctl(f->ep, *reg ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
	*reg = want;
}

static void sync_interest(tls_conn *c)
{
	sync_fd(c->f, c->tcp, &c->ends[SIDE_TCP], c->want_tcp, &c->reg_tcp);
	sync_fd(c->f, c->plain, &c->ends[SIDE_PLAIN], c->want_plain, &c->reg_plain);
}

/* ---- connections ---- */

/* Closes a connection at once; its memory waits in f->dead until the
 * current batch of epoll events, which may still point at it, is done. */
static void conn_free(tls_conn *c)
{
	tls_front *f = c->f;

	if (c->tcp >= 0)
		close(c->tcp); /* close() also leaves the epoll set */
	if (c->plain >= 0)
		close(c->plain);
	c->tcp = c->plain = -1;
	mbedtls_ssl_free(&c->ssl);
	free(c->in_buf);
	c->in_buf = NULL;
	if (c->gcm)
		tls_gcm_wipe(c->gcm);
	free(c->gcm);
	c->gcm = NULL;
	free(c->fast_buf);
	c->fast_buf = NULL;
	mbedtls_platform_zeroize(c->wkey, sizeof c->wkey);
	if (c->prev)
		c->prev->next = c->next;
	else
		f->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	f->n_conns--;
	metrics_tls_conn(-1);
	c->dead = 1;
	c->next = f->dead;
	f->dead = c;
}

static void free_dead(tls_front *f)
{
	while (f->dead) {
		tls_conn *c = f->dead;
		f->dead = c->next;
		free(c);
	}
}

/* Bytes of records made but not yet taken by TCP: mbedTLS's, and on the
 * fast path the rest of a sealed one. */
static size_t tcp_pending(const tls_conn *c)
{
	if (c->gcm)
		return (c->fast_len - c->fast_off) + c->ssl.out_left;
	return c->out_pending;
}

/* Ends a connection whose HTTP side is done: sends close_notify if the
 * socket takes it now, then closes. */
static void conn_finish(tls_conn *c)
{
	if (c->state == ST_PUMP && !c->tcp_eof && tcp_pending(c) == 0)
		mbedtls_ssl_close_notify(&c->ssl);
	conn_free(c);
}

static void conn_accept(tls_front *f, int fd, const struct sockaddr_storage *ss, socklen_t len)
{
	tls_conn *c;
	char why[128];
	int rc;

	if (f->n_conns >= TT_MAX_TLS_CONNECTIONS) {
		metrics_tls_refused();
		if (f->refused++ % 1000 == 0)
			log_warn("tls", "%d TLS connections open (TT_MAX_TLS_CONNECTIONS): closing new ones",
				 TT_MAX_TLS_CONNECTIONS);
		close(fd);
		return;
	}
	c = calloc(1, sizeof *c);
	if (!c) {
		close(fd);
		return;
	}
	/* mbedTLS sends each handshake message of a flight on its own, and a
	 * record as soon as it is made: with Nagle's algorithm the second
	 * small segment waits for the client's delayed ACK (40 ms), which
	 * held handshakes to 20 a second. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	c->f = f;
	c->tcp = fd;
	c->plain = -1;
	c->state = ST_HANDSHAKE;
	c->deadline_ms = now_ms() + TT_TLS_HANDSHAKE_TIMEOUT_MS;
	memcpy(&c->peer, ss, len);
	c->peer_len = len;
	c->ends[SIDE_TCP] = (tls_end){ c, SIDE_TCP };
	c->ends[SIDE_PLAIN] = (tls_end){ c, SIDE_PLAIN };
	mbedtls_ssl_init(&c->ssl);
	rc = mbedtls_ssl_setup(&c->ssl, &f->conf);
	if (rc != 0) {
		log_warn("tls", "cannot set up a TLS connection: %s", mbed_err(rc, why, sizeof why));
		mbedtls_ssl_free(&c->ssl);
		close(fd);
		free(c);
		return;
	}
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	c->next = f->conns;
	if (f->conns)
		f->conns->prev = c;
	f->conns = c;
	f->n_conns++;
	metrics_tls_conn(1);
	c->want_tcp = EPOLLIN;
	sync_interest(c);
}

/* A client that speaks plain HTTP to the TLS port gets a clear answer
 * rather than a TLS alert it cannot read. Looks at the first byte only:
 * a TLS connection starts with a handshake record (22). */
static int refuse_plain_http(tls_conn *c)
{
	static const char answer[] =
		"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
		"Connection: close\r\nContent-Length: 125\r\n\r\n"
		"{\"error\":{\"status\":400,\"code\":\"tls_required\",\"message\":"
		"\"this port speaks TLS: use https:// or wss:// (plain HTTP)\"}}\n";
	unsigned char b;

	if (recv(c->tcp, &b, 1, MSG_PEEK) != 1 || b == 22 || b < 'A' || b > 'Z')
		return 0;
	if (send(c->tcp, answer, sizeof answer - 1, MSG_NOSIGNAL) < 0)
		(void)0; /* the client is gone: nothing to tell */
	return 1;
}

/* Hands the finished handshake's plain side to libmicrohttpd. */
static int start_pump(tls_conn *c)
{
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) != 0) {
		log_warn("tls", "socketpair: %s", strerror(errno));
		return TT_EIO;
	}
	/* libmicrohttpd owns (and closes) sp[1] from here, even on failure. */
	if (MHD_add_connection(c->f->daemon, sp[1], (const struct sockaddr *)&c->peer,
			       c->peer_len) != MHD_YES) {
		log_warn("tls", "the HTTP daemon refused a connection: %s", strerror(errno));
		close(sp[0]);
		return TT_EIO;
	}
	c->plain = sp[0];
	c->state = ST_PUMP;
	c->deadline_ms = 0;
	return TT_OK;
}

/* mbedTLS's key export, called inside mbedtls_ssl_handshake once the keys
 * are derived: keeps the server's write key and fixed IV of an AEAD suite
 * (RFC 5246 6.3: the key block is client MAC key, server MAC key, client
 * key, server key, client IV, server IV; AEAD suites have no MAC keys). */
static int export_keys(void *p, const unsigned char *ms, const unsigned char *kb, size_t maclen,
		       size_t keylen, size_t ivlen, const unsigned char cr[32],
		       const unsigned char sr[32], mbedtls_tls_prf_types prf)
{
	tls_conn *c = ((tls_front *)p)->hs;

	(void)ms;
	(void)cr;
	(void)sr;
	(void)prf;
	if (!c || maclen != 0 || (keylen != 16 && keylen != 32) || ivlen != sizeof c->wsalt)
		return 0;
	memcpy(c->wkey, kb + keylen, keylen);
	memcpy(c->wsalt, kb + 2 * keylen + ivlen, ivlen);
	c->wkeylen = keylen;
	return 0;
}

/* After the handshake: the fast path for an AES-GCM suite (invariant 5). */
static void start_fast(tls_conn *c)
{
	const char *suite = mbedtls_ssl_get_ciphersuite(&c->ssl);

	if (c->wkeylen && tls_gcm_available() && suite && strstr(suite, "-GCM-") &&
	    (c->gcm = malloc(sizeof *c->gcm)))
		tls_gcm_init(c->gcm, c->wkey, c->wkeylen, c->wsalt);
	mbedtls_platform_zeroize(c->wkey, sizeof c->wkey);
	c->wkeylen = 0;
}

static int handshake_step(tls_conn *c)
{
	char why[128];
	int rc;

	if (!c->peeked) {
		c->peeked = 1;
		if (refuse_plain_http(c)) {
			log_debug("tls", "plain HTTP on the TLS port: answered 400");
			return TT_EPROTO;
		}
	}
	c->f->hs = c;
	rc = mbedtls_ssl_handshake(&c->ssl);
	c->f->hs = NULL;
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
		c->want_tcp = rc == MBEDTLS_ERR_SSL_WANT_READ ? EPOLLIN : EPOLLOUT;
		return TT_OK;
	}
	if (rc != 0) {
		log_debug("tls", "handshake failed: %s", mbed_err(rc, why, sizeof why));
		return TT_EPROTO;
	}
	start_fast(c);
	log_debug("tls", "handshake done: %s%s", mbedtls_ssl_get_ciphersuite(&c->ssl),
		  c->gcm ? " (records sealed by tls_gcm)" : "");
	return start_pump(c);
}

/* Sends p[*off..len) on a non-blocking socket until it is all gone or the
 * socket is full, advancing *off; TT_EIO on an error. */
static int send_rest(int fd, const uint8_t *p, size_t len, size_t *off)
{
	while (*off < len) {
		ssize_t w = send(fd, p + *off, len - *off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? TT_OK : TT_EIO;
		*off += (size_t)w;
	}
	return TT_OK;
}

/* Fast path: sends the rest of a sealed record, then whatever mbedTLS
 * holds. 1 when all went, 0 when TCP is full, TT_EIO on an error. */
static int fast_flush(tls_conn *c)
{
	if (send_rest(c->tcp, c->fast_buf, c->fast_len, &c->fast_off) != TT_OK)
		return TT_EIO;
	if (c->fast_off < c->fast_len)
		return 0;
	c->fast_off = c->fast_len = 0;
	if (c->ssl.out_left) {
		int rc = mbedtls_ssl_flush_output(&c->ssl);
		if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			return 0;
		if (rc != 0)
			return TT_EIO;
	}
	return 1;
}

/* Fast path: seals n bytes of f->scratch as the next record and sends it;
 * what TCP does not take waits in c->fast_buf (invariant 1). */
static int fast_send(tls_conn *c, size_t n)
{
	tls_front *f = c->f;
	size_t len = tls_gcm_seal(c->gcm, c->ssl.cur_out_ctr, MBEDTLS_SSL_MSG_APPLICATION_DATA,
				  f->scratch, n, f->sealed);
	size_t off = 0;

	/* the next record's number, as mbedtls_ssl_write_record counts */
	for (int i = 7; i >= 0 && ++c->ssl.cur_out_ctr[i] == 0; i--)
		;
	if (send_rest(c->tcp, f->sealed, len, &off) != TT_OK)
		return TT_EIO;
	if (off == len)
		return TT_OK;
	if (!c->fast_buf && !(c->fast_buf = malloc(sizeof f->sealed)))
		return TT_ENOMEM;
	memcpy(c->fast_buf, f->sealed + off, len - off);
	c->fast_off = 0;
	c->fast_len = len - off;
	return TT_OK;
}

/* Plain → TLS: flushes a record mbedTLS (or the fast path) holds, then
 * reads what the HTTP side wrote, a record at a time (invariants 1, 4
 * and 5). */
static int pump_out(tls_conn *c)
{
	tls_front *f = c->f;
	int max = mbedtls_ssl_get_max_out_record_payload(&c->ssl);
	size_t cap = max > 0 && (size_t)max < sizeof f->scratch ? (size_t)max : sizeof f->scratch;

	for (int i = 0; i < PUMP_BUDGET; i++) {
		int rc;

		/* first what is held: the rest of a sealed record, or a record
		 * mbedTLS made (same length, any buffer: it flushes what it
		 * holds) */
		if (c->gcm) {
			if ((rc = fast_flush(c)) <= 0)
				return rc;
		} else if (c->out_pending) {
			rc = mbedtls_ssl_write(&c->ssl, f->scratch, c->out_pending);
			if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
				return TT_OK;
			if (rc < 0)
				return TT_EIO;
			c->out_pending = 0;
		}
		if (c->plain_eof)
			return TT_OK;
		ssize_t n = read(c->plain, f->scratch, cap);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return TT_OK;
		if (n <= 0) {
			c->plain_eof = 1;
			return TT_OK;
		}
		if (c->gcm) {
			if (fast_send(c, (size_t)n) != TT_OK)
				return TT_EIO;
			if (c->fast_len)
				return TT_OK;
		} else {
			rc = mbedtls_ssl_write(&c->ssl, f->scratch, (size_t)n);
			if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
				c->out_pending = (size_t)n;
				return TT_OK;
			}
			if (rc < 0)
				return TT_EIO;
		}
		/* A short read emptied the socket: asking again would only
		 * cost a read that says EAGAIN (epoll reports new bytes). */
		if ((size_t)n < cap)
			return TT_OK;
	}
	return TT_OK;
}

/* Writes decrypted bytes to the plain side; keeps what it refuses. */
static int to_plain(tls_conn *c, const uint8_t *p, size_t n)
{
	size_t off = 0;

	if (send_rest(c->plain, p, n, &off) != TT_OK)
		return TT_EIO;
	p += off;
	n -= off;
	if (n == 0)
		return TT_OK;
	if (!c->in_buf && !(c->in_buf = malloc(TT_TLS_RECORD_BYTES)))
		return TT_ENOMEM;
	memmove(c->in_buf, p, n); /* p may point into in_buf itself */
	c->in_off = 0;
	c->in_len = n;
	return TT_OK;
}

/* TLS → plain: what the client sent, decrypted, to libmicrohttpd (or to
 * the loop, after a WebSocket upgrade). */
static int pump_in(tls_conn *c)
{
	tls_front *f = c->f;

	for (int i = 0; i < PUMP_BUDGET; i++) {
		if (c->in_off < c->in_len) {
			size_t left = c->in_len - c->in_off;
			c->in_len = 0;
			if (to_plain(c, c->in_buf + c->in_off, left) != TT_OK)
				return TT_EIO;
			if (c->in_len)
				return TT_OK; /* the plain side is full */
		}
		if (c->tcp_eof)
			return TT_OK;
		int rc = mbedtls_ssl_read(&c->ssl, f->scratch, sizeof f->scratch);
		if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			return TT_OK;
		if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF ||
		    rc == 0) {
			c->tcp_eof = 1;
			shutdown(c->plain, SHUT_WR); /* the HTTP side reads the end */
			return TT_OK;
		}
		if (rc < 0)
			return TT_EIO;
		if (to_plain(c, f->scratch, (size_t)rc) != TT_OK)
			return TT_EIO;
		if (c->in_len)
			return TT_OK;
	}
	return TT_OK;
}

/* After any event of a pumping connection: what it waits for next, and
 * whether it is over. Returns TT_ECLOSED when it was freed. */
static int pump_settle(tls_conn *c)
{
	int in_blocked = c->in_off < c->in_len;
	size_t pending = tcp_pending(c);

	if (c->plain_eof && pending == 0)
		goto done; /* the HTTP side is done and all it said is sent */
	if (c->tcp_eof && c->plain_eof)
		goto done;
	if ((c->plain_eof || c->tcp_eof) && !c->deadline_ms)
		c->deadline_ms = now_ms() + TT_TLS_LINGER_MS;
	c->want_tcp = (!c->tcp_eof && !in_blocked ? EPOLLIN : 0) | (pending ? EPOLLOUT : 0);
	c->want_plain = (!c->plain_eof && !pending ? EPOLLIN : 0) |
			(in_blocked ? EPOLLOUT : 0);
	sync_interest(c);
	return TT_OK;
done:
	conn_finish(c);
	return TT_ECLOSED;
}

static void conn_event(tls_conn *c, int side, uint32_t events)
{
	int rc = TT_OK;

	if (c->state == ST_HANDSHAKE) {
		if (handshake_step(c) != TT_OK) {
			conn_free(c);
			return;
		}
		if (c->state == ST_HANDSHAKE) {
			sync_interest(c);
			return;
		}
		side = SIDE_TCP; /* the request may already be waiting */
		events = EPOLLIN;
	}
	if (side == SIDE_TCP) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			rc = pump_out(c);
		if (rc == TT_OK && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
			rc = pump_in(c);
	} else {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			rc = pump_in(c);
		if (rc == TT_OK && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
			rc = pump_out(c);
	}
	if (rc != TT_OK) {
		conn_free(c); /* a socket error: nothing more can be said */
		return;
	}
	pump_settle(c);
}

static void accept_some(tls_front *f)
{
	for (int i = 0; i < ACCEPT_BUDGET; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		int fd = accept4(f->listen_fd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			conn_accept(f, fd, &ss, len);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* The pending connection stays queued: stop listening for a
			 * moment instead of spinning on it. */
			log_warn("tls", "accept: %s: pausing new connections", strerror(errno));
			epoll_ctl(f->ep, EPOLL_CTL_DEL, f->listen_fd, NULL);
			f->accept_paused_until = now_ms() + 100;
		}
		return;
	}
}

static void expire(tls_front *f, int64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &f->listen_end };
	tls_conn *c = f->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->deadline_ms && now >= c->deadline_ms) {
			log_debug("tls", "%s timed out", c->state == ST_HANDSHAKE ?
				  "a handshake" : "a closing connection");
			conn_free(c);
		}
	}
	if (f->accept_paused_until && now >= f->accept_paused_until) {
		f->accept_paused_until = 0;
		epoll_ctl(f->ep, EPOLL_CTL_ADD, f->listen_fd, &ev);
	}
}

/* At shutdown: whatever the HTTP side has written already goes out if the
 * socket takes it now (the WebSocket close frames, mostly); no waiting. */
static void flush_all(tls_front *f)
{
	while (f->conns) {
		tls_conn *c = f->conns;
		if (c->state == ST_PUMP)
			pump_out(c);
		conn_finish(c);
	}
	free_dead(f);
}

static void *front_main(void *arg)
{
	tls_front *f = arg;
	struct epoll_event evs[256];
	int64_t last_tick = now_ms();

	for (;;) {
		int n = epoll_wait(f->ep, evs, 256, TICK_MS);
		for (int i = 0; i < n; i++) {
			tls_end *e = evs[i].data.ptr;
			if (e->side == SIDE_WAKE) {
				flush_all(f);
				return NULL;
			}
			if (e->side == SIDE_LISTEN) {
				accept_some(f);
				continue;
			}
			/* An earlier event of this batch may have closed the
			 * connection (invariant: freed only after the batch). */
			if (e->conn->dead)
				continue;
			conn_event(e->conn, e->side, evs[i].events);
		}
		free_dead(f);
		if (n > 0) {
			struct timespec rest = { 0, COALESCE_US * 1000L };
			nanosleep(&rest, NULL);
		}
		int64_t now = now_ms();
		if (now - last_tick >= TICK_MS) {
			expire(f, now);
			free_dead(f);
			last_tick = now;
		}
	}
}

/* ---- set-up ---- */

/* Says why a file cannot be used before mbedTLS tries (its own message
 * for a missing file is only "file read error"). */
static int check_readable(const char *what, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");

	if (!fp) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return TT_EIO;
	}
	fclose(fp);
	return TT_OK;
}

static int load_pair(tls_front *f, const char *cert_path, const char *key_path, char *err,
		     size_t errlen)
{
	char why[160];
	int rc;

	if (check_readable("--tls-cert", cert_path, err, errlen) != TT_OK ||
	    check_readable("--tls-key", key_path, err, errlen) != TT_OK)
		return TT_EIO;
	rc = mbedtls_x509_crt_parse_file(&f->cert, cert_path);
	if (rc != 0) {
		snprintf(err, errlen, "--tls-cert %s: not a PEM or DER certificate (%s)", cert_path,
			 mbed_err(rc, why, sizeof why));
		return TT_EINVAL;
	}
	rc = mbedtls_pk_parse_keyfile(&f->key, key_path, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "--tls-key %s: not an unencrypted PEM or DER private key (%s)",
			 key_path, mbed_err(rc, why, sizeof why));
		return TT_EINVAL;
	}
	rc = mbedtls_pk_check_pair(&f->cert.pk, &f->key);
	if (rc != 0) {
		snprintf(err, errlen, "--tls-key %s does not belong to the certificate in --tls-cert %s",
			 key_path, cert_path);
		return TT_EINVAL;
	}
	return TT_OK;
}

/* Session tickets (RFC 5077): a client that comes back within
 * TLS_TICKET_SECONDS resumes its session with a ticket only this server
 * can read, and skips the key exchange and the certificate signature, most
 * of a full handshake's CPU: what a crowd of listeners reconnecting after
 * a network blip costs the TLS thread. The ticket key is random, lives in
 * memory only (a restart ends every session), and changes every
 * TLS_TICKET_SECONDS, which bounds how long a stolen key could decrypt
 * recorded sessions. */
#define TLS_TICKET_SECONDS 3600

static int ticket_write(void *p, const mbedtls_ssl_session *session, unsigned char *start,
			const unsigned char *end, size_t *tlen, uint32_t *lifetime)
{
	return mbedtls_ssl_ticket_write(&((tls_front *)p)->tickets, session, start, end, tlen,
					lifetime);
}

static int ticket_parse(void *p, mbedtls_ssl_session *session, unsigned char *buf, size_t len)
{
	int rc = mbedtls_ssl_ticket_parse(&((tls_front *)p)->tickets, session, buf, len);

	if (rc == 0)
		metrics_tls_resumed();
	return rc;
}

static int setup_conf(tls_front *f, char *err, size_t errlen)
{
	static const char pers[] = "tuttid tls";
	char why[160];
	int rc;

	rc = mbedtls_ctr_drbg_seed(&f->drbg, mbedtls_entropy_func, &f->entropy,
				   (const unsigned char *)pers, sizeof pers - 1);
	if (rc == 0)
		rc = mbedtls_ssl_config_defaults(&f->conf, MBEDTLS_SSL_IS_SERVER,
						 MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc == 0)
		rc = mbedtls_ssl_ticket_setup(&f->tickets, mbedtls_ctr_drbg_random, &f->drbg,
					      MBEDTLS_CIPHER_AES_256_GCM, TLS_TICKET_SECONDS);
	if (rc != 0) {
		snprintf(err, errlen, "cannot set up TLS: %s", mbed_err(rc, why, sizeof why));
		return TT_EIO;
	}
	mbedtls_ssl_conf_rng(&f->conf, mbedtls_ctr_drbg_random, &f->drbg);
	mbedtls_ssl_conf_min_version(&f->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_ciphersuites(&f->conf, tls_gcm_available() ? suites_aes_first : suites);
	mbedtls_ssl_conf_export_keys_ext_cb(&f->conf, export_keys, f);
	mbedtls_ssl_conf_session_tickets_cb(&f->conf, ticket_write, ticket_parse, f);
	mbedtls_ssl_conf_curves(&f->conf, curves);
	mbedtls_ssl_conf_renegotiation(&f->conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	mbedtls_ssl_conf_legacy_renegotiation(&f->conf, MBEDTLS_SSL_LEGACY_NO_RENEGOTIATION);
	rc = mbedtls_ssl_conf_own_cert(&f->conf, &f->cert, &f->key);
	if (rc != 0) {
		snprintf(err, errlen, "cannot use the certificate: %s", mbed_err(rc, why, sizeof why));
		return TT_EIO;
	}
	return TT_OK;
}

static int setup_listen(tls_front *f, const struct sockaddr *sa, socklen_t salen, char *err,
			size_t errlen)
{
	struct sockaddr_storage bound;
	socklen_t blen = sizeof bound;
	int one = 1;

	f->listen_fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->listen_fd < 0 ||
	    setsockopt(f->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(f->listen_fd, sa, salen) != 0 || listen(f->listen_fd, LISTEN_BACKLOG) != 0 ||
	    getsockname(f->listen_fd, (struct sockaddr *)&bound, &blen) != 0) {
		snprintf(err, errlen, "cannot listen for TLS: %s", strerror(errno));
		return TT_EIO;
	}
	f->port = bound.ss_family == AF_INET6 ?
		  ntohs(((struct sockaddr_in6 *)&bound)->sin6_port) :
		  ntohs(((struct sockaddr_in *)&bound)->sin_port);
	return TT_OK;
}

int tls_front_new(const char *cert_path, const char *key_path, const struct sockaddr *sa,
		  socklen_t salen, tls_front **out, char *err, size_t errlen)
{
	tls_front *f = calloc(1, sizeof *f);
	int rc;

	if (!f)
		return TT_ENOMEM;
	f->listen_fd = f->ep = f->wake_fd = -1;
	mbedtls_ssl_config_init(&f->conf);
	mbedtls_x509_crt_init(&f->cert);
	mbedtls_pk_init(&f->key);
	mbedtls_entropy_init(&f->entropy);
	mbedtls_ctr_drbg_init(&f->drbg);
	mbedtls_ssl_ticket_init(&f->tickets);
	f->listen_end = (tls_end){ NULL, SIDE_LISTEN };
	f->wake_end = (tls_end){ NULL, SIDE_WAKE };
	rc = load_pair(f, cert_path, key_path, err, errlen);
	if (rc == TT_OK)
		rc = setup_conf(f, err, errlen);
	if (rc == TT_OK)
		rc = setup_listen(f, sa, salen, err, errlen);
	if (rc != TT_OK) {
		tls_front_free(f);
		return rc;
	}
	*out = f;
	return TT_OK;
}

int tls_front_port(const tls_front *f)
{
	return f->port;
}

int tls_front_start(tls_front *f, struct MHD_Daemon *daemon, char *err, size_t errlen)
{
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = &f->listen_end };
	struct epoll_event wev = { .events = EPOLLIN, .data.ptr = &f->wake_end };

	f->daemon = daemon;
	f->ep = epoll_create1(EPOLL_CLOEXEC);
	f->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->ep < 0 || f->wake_fd < 0 ||
	    epoll_ctl(f->ep, EPOLL_CTL_ADD, f->listen_fd, &lev) != 0 ||
	    epoll_ctl(f->ep, EPOLL_CTL_ADD, f->wake_fd, &wev) != 0) {
		snprintf(err, errlen, "cannot start the TLS front: %s", strerror(errno));
		return TT_EIO;
	}
	if (pthread_create(&f->thread, NULL, front_main, f) != 0) {
		snprintf(err, errlen, "cannot start the TLS thread");
		return TT_EIO;
	}
	f->started = 1;
	return TT_OK;
}

void tls_front_free(tls_front *f)
{
	if (!f)
		return;
	if (f->started) {
		uint64_t one = 1;
		if (write(f->wake_fd, &one, sizeof one) != sizeof one)
			log_warn("tls", "cannot wake the TLS thread: %s", strerror(errno));
		pthread_join(f->thread, NULL);
	}
	while (f->conns)
		conn_free(f->conns);
	free_dead(f);
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	if (f->wake_fd >= 0)
		close(f->wake_fd);
	if (f->ep >= 0)
		close(f->ep);
	mbedtls_ssl_config_free(&f->conf);
	mbedtls_ssl_ticket_free(&f->tickets);
	mbedtls_x509_crt_free(&f->cert);
	mbedtls_pk_free(&f->key);
	mbedtls_ctr_drbg_free(&f->drbg);
	mbedtls_entropy_free(&f->entropy);
	free(f);
}
