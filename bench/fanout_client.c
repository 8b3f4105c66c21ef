/*
 * bench/fanout_client.c: many HTTP listeners of one Ogg stream, for
 * bench/fanout.sh (tuttid's /s/ID/live.ogg and an Icecast mount alike).
 *
 * Usage:
 *   fanout_client --port P --path /s/ID/live.ogg [--listeners N]
 *                 [--seconds S] [--rate R] [--pid PID] [--baseline S0]
 *                 [--window-at W] [--tls 1]
 *
 * One thread, one epoll set, non-blocking sockets on 127.0.0.1 only. The
 * run has four phases, each bounded in time:
 *   1. baseline: with no listener, the server's CPU and RSS growth over
 *      S0 seconds (its render thread and encoder run, and its stream rings
 *      fill, whether anyone listens or not): both are subtracted;
 *   2. ramp: N connections opened at R per second (a flash crowd), until
 *      each has its first body byte or failed, at most 20 s (60 s with
 *      --tls);
 *   3. settle: one second, so the start-up bursts are over, or until W
 *      seconds after the ramp began if that is later;
 *   4. measure: S seconds; the server's CPU and RSS before and after.
 * Every read is discarded after two small parsers look at it: HTTP/1.1
 * chunked framing (tuttid) or none (Icecast's HTTP/1.0), then Ogg pages,
 * whose lacing values give the Opus payload bytes (pages after the two
 * header pages). TCP_INFO gives each socket's bytes and segments received,
 * so the bytes on the wire count the TCP/IP headers too.
 *
 * With --tls 1 every listener speaks TLS (mbedTLS, no certificate check:
 * only the server's cost is measured): the handshake runs inside the
 * ramp, and the parsers see the decrypted bytes.
 *
 * Prints one line of key=value pairs (see report()). A listener is
 * dropped when its connection failed, its answer was not 200, or it was
 * closed before the end of the run.
 *
 * Invariants:
 *  1. Nothing grows with time: per listener a fixed struct, one shared
 *     read buffer; the run ends after a fixed time whatever happens.
 *  2. Gaps count only arrivals inside the measure window, plus the time
 *     from each listener's last arrival to the window's end.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/tcp.h>   /* tcp_info with bytes and segments received */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>

#define MAX_LISTENERS 100000
#define HDR_MAX 4096
#define RAMP_TIMEOUT_NS (20LL * 1000000000)
/* With --tls every listener first costs the server a full handshake; on
 * a loaded machine a crowd's handshakes outlast 20 s, and those still
 * running would be counted in the window as if listening cost them. */
#define RAMP_TIMEOUT_TLS_NS (60LL * 1000000000)

typedef enum body_state {
	B_HEADER, B_CHUNK_SIZE, B_CHUNK_EXT, B_CHUNK_DATA, B_CHUNK_CR, B_PLAIN, B_DONE
} body_state;

typedef struct ogg_state {
	uint8_t hdr[27 + 255];   /* the page header being collected */
	size_t have;             /* bytes of it collected */
	size_t need;             /* 27, then 27 + segments */
	uint64_t skip;           /* page body bytes still to skip */
	uint64_t pages;
	uint64_t payload;        /* Opus bytes in pages after the headers */
} ogg_state;

typedef struct conn {
	int fd;
	int status;              /* HTTP status, 0 until the header is in */
	int closed;              /* 1: closed early or failed */
	int first_body;          /* a body byte has arrived */
	body_state bs;
	uint64_t chunk_left;
	char hdr[HDR_MAX];
	size_t hdr_len;
	int64_t last_ns;         /* last arrival */
	int64_t worst_gap_ns;
	uint64_t bytes;          /* bytes read, header and framing included */
	uint64_t wire_bytes;     /* from TCP_INFO at the end, headers added */
	ogg_state ogg;
	int connected;           /* the TCP connection is up */
	int hs_done;             /* TLS: the handshake is over, request sent */
	mbedtls_ssl_context *ssl; /* with --tls */
} conn;

typedef struct options {
	int port;
	const char *path;
	long listeners;
	double seconds, rate, baseline, window_at;
	long pid;
	int tls;
} options;

static mbedtls_ssl_config tls_conf;
static mbedtls_entropy_context tls_entropy;
static mbedtls_ctr_drbg_context tls_drbg;

static uint8_t rbuf[256 * 1024];
static int64_t window_start, window_end;
/* The longest this client itself went between two looks at its sockets
 * inside the window: a gap no longer than this may be the client's own
 * (a loaded machine), not the server's. */
static int64_t client_stall_ns;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the server's CPU and memory, from /proc ---- */

/* utime + stime of pid in microseconds, or -1. */
static int64_t proc_cpu_us(long pid)
{
	char path[64], buf[4096];
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;
	char *p;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name (which may hold spaces): state is
	 * field 3, utime 14, stime 15. */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (int64_t)((ut + st) * 1000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* VmRSS of pid in kB, or -1. */
static long proc_rss_kb(long pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* ---- parsing what arrives ---- */

/* Feeds stream bytes (the response body, unframed) to the Ogg page
 * parser: it collects each page's header and segment table, adds the
 * lacing values of audio pages to payload, and skips page bodies. */
static void ogg_feed(ogg_state *o, const uint8_t *p, size_t n)
{
	while (n > 0) {
		if (o->skip > 0) {
			size_t k = o->skip < n ? (size_t)o->skip : n;
			o->skip -= k;
			p += k;
			n -= k;
			continue;
		}
		if (o->need == 0)
			o->need = 27;
		while (n > 0 && o->have < o->need) {
			o->hdr[o->have++] = *p++;
			n--;
		}
		if (o->have < o->need)
			return;
		if (o->need == 27) {
			o->need = 27 + (size_t)o->hdr[26];
			if (o->need > 27)
				continue;
		}
		uint64_t body = 0;
		for (size_t i = 27; i < o->need; i++)
			body += o->hdr[i];
		if (o->pages >= 2)
			o->payload += body; /* pages 0 and 1: OpusHead, OpusTags */
		o->pages++;
		o->skip = body;
		o->have = o->need = 0;
	}
}

/* Reads the status line and picks the body framing once the header is
 * complete; returns the bytes of p that were header. */
static size_t header_feed(conn *c, const uint8_t *p, size_t n)
{
	size_t take = n < HDR_MAX - 1 - c->hdr_len ? n : HDR_MAX - 1 - c->hdr_len;
	char *end;
	size_t used;

	memcpy(c->hdr + c->hdr_len, p, take);
	c->hdr_len += take;
	c->hdr[c->hdr_len] = '\0';
	if (!(end = strstr(c->hdr, "\r\n\r\n"))) {
		if (c->hdr_len == HDR_MAX - 1)
			c->closed = 1; /* a header this long is not a stream's */
		return take;
	}
	used = take - (c->hdr_len - (size_t)(end + 4 - c->hdr));
	*end = '\0';
	if (strncmp(c->hdr, "HTTP/1.", 7) == 0 && strlen(c->hdr) > 12)
		c->status = (int)strtol(c->hdr + 9, NULL, 10);
	for (char *q = c->hdr; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	c->bs = strstr(c->hdr, "transfer-encoding: chunked") ? B_CHUNK_SIZE : B_PLAIN;
	if (c->status != 200)
		c->closed = 1;
	return used;
}

/* Strips chunked framing (RFC 9112 7.1) and passes the data to Ogg. */
static void chunked_feed(conn *c, const uint8_t *p, size_t n)
{
	while (n > 0 && c->bs != B_DONE) {
		if (c->bs == B_CHUNK_DATA) {
			size_t k = c->chunk_left < n ? (size_t)c->chunk_left : n;
			ogg_feed(&c->ogg, p, k);
			c->chunk_left -= k;
			p += k;
			n -= k;
			if (c->chunk_left == 0)
				c->bs = B_CHUNK_CR;
			continue;
		}
		uint8_t ch = *p++;
		n--;
		if (c->bs == B_CHUNK_SIZE && isxdigit(ch)) {
			c->chunk_left = c->chunk_left * 16 +
					(uint64_t)(isdigit(ch) ? ch - '0' : (tolower(ch) - 'a' + 10));
		} else if (c->bs == B_CHUNK_SIZE || c->bs == B_CHUNK_EXT) {
			c->bs = ch == '\n' ? (c->chunk_left ? B_CHUNK_DATA : B_DONE) : B_CHUNK_EXT;
		} else if (c->bs == B_CHUNK_CR && ch == '\n') {
			c->bs = B_CHUNK_SIZE;
		}
	}
}

static void on_bytes(conn *c, const uint8_t *p, size_t n, int64_t t)
{
	c->bytes += n;
	if (c->bs == B_HEADER) {
		size_t used = header_feed(c, p, n);
		p += used;
		n -= used;
		if (c->bs == B_HEADER || c->closed)
			return;
	}
	if (n == 0)
		return;
	if (t >= window_start && window_start > 0 && c->last_ns > 0 &&
	    t - c->last_ns > c->worst_gap_ns)
		c->worst_gap_ns = t - c->last_ns;
	c->last_ns = t;
	c->first_body = 1;
	if (c->bs == B_PLAIN)
		ogg_feed(&c->ogg, p, n);
	else
		chunked_feed(c, p, n);
}

/* ---- connections ---- */

static int conn_open(conn *c, int ep, const options *o)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.ptr = c };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	if ((connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

/* Sends the request once the connection is up (it fits in one write). */
static void conn_send_request(conn *c, int ep, const options *o)
{
	char req[512];
	int k = snprintf(req, sizeof req,
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: tutti-fanout\r\n"
			 "Accept: */*\r\n\r\n", o->path, o->port);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	if (k <= 0 || (size_t)k >= sizeof req ||
	    (c->ssl ? mbedtls_ssl_write(c->ssl, (const unsigned char *)req, (size_t)k)
		    : write(c->fd, req, (size_t)k)) != k ||
	    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		c->closed = 1;
}

/* ---- TLS (--tls 1) ---- */

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

static const mbedtls_ecp_group_id curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_NONE,
};

static int tls_init(void)
{
	mbedtls_ssl_config_init(&tls_conf);
	mbedtls_entropy_init(&tls_entropy);
	mbedtls_ctr_drbg_init(&tls_drbg);
	if (mbedtls_ctr_drbg_seed(&tls_drbg, mbedtls_entropy_func, &tls_entropy, NULL, 0) != 0 ||
	    mbedtls_ssl_config_defaults(&tls_conf, MBEDTLS_SSL_IS_CLIENT,
					MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT) != 0)
		return -1;
	mbedtls_ssl_conf_rng(&tls_conf, mbedtls_ctr_drbg_random, &tls_drbg);
	mbedtls_ssl_conf_authmode(&tls_conf, MBEDTLS_SSL_VERIFY_NONE);
	/* X25519 first, as browsers, curl and Node offer it (mbedTLS's own
	 * default order starts with P-521 and P-384). */
	mbedtls_ssl_conf_curves(&tls_conf, curves);
	return 0;
}

/* One step of the handshake; when it is done, the request goes out. */
static void conn_tls_step(conn *c, int ep, const options *o)
{
	struct epoll_event ev = { .data.ptr = c };
	int rc;

	if (!c->ssl) {
		c->ssl = malloc(sizeof *c->ssl);
		if (!c->ssl) {
			c->closed = 1;
			return;
		}
		mbedtls_ssl_init(c->ssl);
		if (mbedtls_ssl_setup(c->ssl, &tls_conf) != 0) {
			c->closed = 1;
			return;
		}
		mbedtls_ssl_set_bio(c->ssl, &c->fd, bio_send, bio_recv, NULL);
	}
	rc = mbedtls_ssl_handshake(c->ssl);
	if (rc == 0) {
		c->hs_done = 1;
		conn_send_request(c, ep, o);
		return;
	}
	if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) {
		c->closed = 1;
		return;
	}
	ev.events = rc == MBEDTLS_ERR_SSL_WANT_READ ? EPOLLIN : EPOLLOUT;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		c->closed = 1;
}

/* Reads decrypted bytes, like read(2): -1 with errno EAGAIN when none. */
static ssize_t conn_read(conn *c, uint8_t *buf, size_t cap)
{
	int rc;

	if (!c->ssl)
		return read(c->fd, buf, cap);
	rc = mbedtls_ssl_read(c->ssl, buf, cap);
	if (rc >= 0)
		return rc;
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return 0;
	errno = EIO;
	return -1;
}

static void conn_readable(conn *c, int64_t t)
{
	for (;;) {
		ssize_t n = conn_read(c, rbuf, sizeof rbuf);
		if (n > 0) {
			on_bytes(c, rbuf, (size_t)n, t);
			if (c->closed)
				return;
			/* mbedTLS hands out one record at a time: read on until
			 * it says the socket is empty. */
			if ((size_t)n < sizeof rbuf && !c->ssl)
				return;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			return;
		} else {
			c->closed = 1; /* EOF or error before the end */
			return;
		}
	}
}

static void conn_event(conn *c, int ep, uint32_t events, const options *o, int64_t t)
{
	if (c->closed)
		return;
	if (!c->connected && (events & EPOLLOUT)) {
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
			c->closed = 1;
		} else {
			c->connected = 1;
			if (o->tls)
				conn_tls_step(c, ep, o);
			else
				conn_send_request(c, ep, o);
			if (c->closed)
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			return;
		}
	} else if (c->connected && o->tls && !c->hs_done) {
		conn_tls_step(c, ep, o);
		if (c->closed)
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		return;
	}
	if (!c->closed && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		conn_readable(c, t);
	if (c->closed)
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
}

/* TCP payload received plus an IP and TCP header per segment. */
static void conn_wire(conn *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	uint64_t hdr = 20 + 20;

	if (c->fd < 0 || getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return;
	if (ti.tcpi_options & TCPI_OPT_TIMESTAMPS)
		hdr += 12;
	c->wire_bytes = ti.tcpi_bytes_received + (uint64_t)ti.tcpi_segs_in * hdr;
}

/* ---- the run ---- */

/* Runs the event loop until the time `until`; opens connections as the
 * ramp allows (want(t) of them by time t). */
static void run_until(conn *cs, long n, long *opened, int ep, const options *o, int64_t t0,
		      int64_t until, int stop_when_started)
{
	struct epoll_event evs[512];
	int64_t last_return = 0;

	for (;;) {
		int64_t t = now_ns();
		long due = o->rate > 0 ? (long)((double)(t - t0) / 1e9 * o->rate) + 1 : n;
		if (t >= until)
			return;
		for (; *opened < n && *opened < due; (*opened)++)
			if (conn_open(&cs[*opened], ep, o) != 0)
				cs[*opened].closed = 1;
		if (stop_when_started && *opened == n) {
			long pending = 0;
			for (long i = 0; i < n; i++)
				pending += !cs[i].closed && !cs[i].first_body;
			if (pending == 0)
				return;
		}
		int k = epoll_wait(ep, evs, 512, 2);
		t = now_ns();
		/* epoll_wait sleeps at most 2 ms: the rest of the time between two
		 * returns the client was busy or not running. */
		if (window_start > 0 && last_return >= window_start &&
		    t - last_return - 2000000 > client_stall_ns)
			client_stall_ns = t - last_return - 2000000;
		last_return = t;
		for (int i = 0; i < k; i++)
			conn_event(evs[i].data.ptr, ep, evs[i].events, o, t);
	}
}

/* What /proc says about the server over the run. */
typedef struct server_stats {
	int64_t cpu_us;          /* over the window, or -1 */
	double base_us_s;        /* CPU per second with no listener */
	long rss0, rss1;         /* kB before the ramp, at the window's end */
	double drift_kb;         /* RSS the server would have grown anyway
				  * (its stream rings filling), over that span */
} server_stats;

static void report(const conn *cs, long n, const server_stats *st)
{
	double secs = (double)(window_end - window_start) / 1e9;
	long alive = 0, dropped = 0, over50 = 0;
	uint64_t bytes = 0, wire = 0, payload = 0;
	int64_t worst = 0;
	double per, kb;

	long before = 0, waiting = 0, cut = 0;

	for (long i = 0; i < n; i++) {
		const conn *c = &cs[i];
		if (c->closed || !c->first_body) {
			dropped++;
			before += c->closed && !c->first_body;
			waiting += !c->closed && !c->first_body;
			cut += c->closed && c->first_body;
			continue;
		}
		alive++;
		bytes += c->bytes;
		wire += c->wire_bytes;
		payload += c->ogg.payload;
		if (c->worst_gap_ns > worst)
			worst = c->worst_gap_ns;
		over50 += c->worst_gap_ns > 50000000;
	}
	per = alive && secs > 0 && st->cpu_us >= 0 ?
	      ((double)st->cpu_us - st->base_us_s * secs) / ((double)alive * secs) : -1;
	kb = alive && st->rss0 >= 0 ?
	     ((double)(st->rss1 - st->rss0) - st->drift_kb) / (double)alive : -1;
	if (dropped)
		fprintf(stderr, "fanout_client: dropped %ld: failed before the stream %ld (connect, "
			"handshake or status), still waiting for it %ld, cut off in it %ld\n",
			dropped, before, waiting, cut);
	printf("listeners=%ld alive=%ld dropped=%ld seconds=%.2f worst_gap_ms=%.1f "
	       "gap_over_50ms=%ld client_stall_ms=%.1f cpu_us=%lld base_cpu_us_per_s=%.0f "
	       "cpu_us_per_listener_s=%.2f rss_kb_before=%ld rss_kb_after=%ld "
	       "rss_drift_kb=%.0f kb_per_listener=%.2f bytes_per_listener=%.0f "
	       "payload_per_listener=%.0f wire_per_listener=%.0f body_overhead=%.3f "
	       "wire_overhead=%.3f\n",
	       n, alive, dropped, secs, (double)worst / 1e6, over50, (double)client_stall_ns / 1e6,
	       (long long)st->cpu_us, st->base_us_s, per, st->rss0, st->rss1, st->drift_kb, kb,
	       alive ? (double)bytes / (double)alive : 0, alive ? (double)payload / (double)alive : 0,
	       alive ? (double)wire / (double)alive : 0,
	       payload ? (double)bytes / (double)payload : 0,
	       payload ? (double)wire / (double)payload : 0);
}

/* With no listener yet: the server's CPU per second and RSS growth per
 * second over o->baseline seconds. */
static void baseline(const options *o, double *cpu_us_s, double *rss_kb_s)
{
	int64_t c0 = proc_cpu_us(o->pid), t0 = now_ns();
	long r0 = proc_rss_kb(o->pid);
	double secs;

	usleep((useconds_t)(o->baseline * 1e6));
	secs = (double)(now_ns() - t0) / 1e9;
	*cpu_us_s = (double)(proc_cpu_us(o->pid) - c0) / secs;
	*rss_kb_s = (double)(proc_rss_kb(o->pid) - r0) / secs;
}

static int measure(conn *cs, const options *o)
{
	long n = o->listeners, opened = 0;
	server_stats st = { .cpu_us = -1, .rss0 = -1, .rss1 = -1 };
	int64_t t0, cpu0 = -1;
	double rss_rate = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -1;
	if (o->pid > 0 && o->baseline > 0)
		baseline(o, &st.base_us_s, &rss_rate);
	if (o->pid > 0)
		st.rss0 = proc_rss_kb(o->pid);
	t0 = now_ns();
	run_until(cs, n, &opened, ep, o, t0, t0 + (o->tls ? RAMP_TIMEOUT_TLS_NS : RAMP_TIMEOUT_NS), 1);
	fprintf(stderr, "fanout_client: %ld connections opened in %.2f s\n", opened,
		(double)(now_ns() - t0) / 1e9);
	for (; opened < n; opened++)
		cs[opened].closed = 1; /* the ramp timed out */
	/* Settle for a second, or until --window-at (so that two clients
	 * started together measure over the same seconds). */
	run_until(cs, n, &opened, ep, o, t0, now_ns() + 1000000000, 0);
	if (now_ns() < t0 + (int64_t)(o->window_at * 1e9))
		run_until(cs, n, &opened, ep, o, t0, t0 + (int64_t)(o->window_at * 1e9), 0);
	window_start = now_ns();
	cpu0 = o->pid > 0 ? proc_cpu_us(o->pid) : -1;
	run_until(cs, n, &opened, ep, o, t0, window_start + (int64_t)(o->seconds * 1e9), 0);
	window_end = now_ns();
	if (o->pid > 0) {
		int64_t cpu1 = proc_cpu_us(o->pid);
		st.cpu_us = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
		st.rss1 = proc_rss_kb(o->pid);
		st.drift_kb = rss_rate * (double)(window_end - t0) / 1e9;
	}
	for (long i = 0; i < n; i++) {
		conn *c = &cs[i];
		if (!c->closed && c->last_ns > 0 && window_end - c->last_ns > c->worst_gap_ns)
			c->worst_gap_ns = window_end - c->last_ns;
		conn_wire(c);
	}
	report(cs, n, &st);
	for (long i = 0; i < n; i++) {
		if (cs[i].fd >= 0)
			close(cs[i].fd);
		if (cs[i].ssl) {
			mbedtls_ssl_free(cs[i].ssl);
			free(cs[i].ssl);
		}
	}
	close(ep);
	return 0;
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		double d;
		if (strcmp(k, "--path") == 0) {
			o->path = v;
			continue;
		}
		if (parse_num(v, 0, 1e9, &d) != 0)
			return -1;
		if (strcmp(k, "--port") == 0 && d >= 1 && d <= 65535)
			o->port = (int)d;
		else if (strcmp(k, "--listeners") == 0 && d >= 1 && d <= MAX_LISTENERS)
			o->listeners = (long)d;
		else if (strcmp(k, "--seconds") == 0 && d > 0 && d <= 600)
			o->seconds = d;
		else if (strcmp(k, "--rate") == 0)
			o->rate = d;
		else if (strcmp(k, "--pid") == 0)
			o->pid = (long)d;
		else if (strcmp(k, "--baseline") == 0 && d <= 60)
			o->baseline = d;
		else if (strcmp(k, "--window-at") == 0 && d <= 600)
			o->window_at = d;
		else if (strcmp(k, "--tls") == 0 && d <= 1)
			o->tls = (int)d;
		else
			return -1;
	}
	return argc % 2 == 1 && o->port > 0 && o->path && o->path[0] == '/' &&
	       strlen(o->path) < 256 ? 0 : -1;
}

int main(int argc, char **argv)
{
	options o = { .listeners = 100, .seconds = 10, .rate = 2000 };
	conn *cs;
	int rc;

	if (parse_args(argc, argv, &o) != 0) {
		fprintf(stderr, "usage: fanout_client --port P --path /PATH [--listeners N] "
				"[--seconds S] [--rate R/s, 0: all at once] [--pid PID] "
				"[--baseline S0] [--window-at W] [--tls 0|1]\n");
		return 2;
	}
	if (o.tls && tls_init() != 0) {
		fprintf(stderr, "fanout_client: cannot set up TLS\n");
		return 1;
	}
	if (!(cs = calloc((size_t)o.listeners, sizeof *cs))) {
		fprintf(stderr, "fanout_client: out of memory\n");
		return 1;
	}
	for (long i = 0; i < o.listeners; i++)
		cs[i].fd = -1;
	rc = measure(cs, &o);
	free(cs);
	return rc == 0 ? 0 : 1;
}
