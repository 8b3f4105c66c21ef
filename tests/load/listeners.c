/*
 * tests/load/listeners.c: many listeners of one live.ogg stream, checked
 * page by page, for the load tests (soak, chaos, overload) and
 * bench/reliability.sh.
 *
 * Usage:
 *   listeners --port P --path /s/ID/live.ogg [--listeners N] [--seconds S]
 *             [--rate R] [--buffer-ms B] [--reconnect 0|1]
 *             [--save DIR] [--save-count K] [--save-pages M]
 *
 * One thread, one epoll set, non-blocking sockets on 127.0.0.1. N
 * connections are opened at R per second (0: all at once) and read for S
 * seconds from the start of the ramp. Each asks with HTTP/1.0, so the body
 * is the Ogg stream unframed. Every page is checked:
 *   - its capture pattern and CRC (Ogg's polynomial 0x04c11db7);
 *   - its sequence number is the previous one's plus one (a gap means the
 *     server skipped this listener forward, or lost a page);
 *   - the first two pages are OpusHead and OpusTags;
 *   - each audio page's granule position is the previous one's plus 960
 *     (20 ms) per packet it ends: the stream as the server produced it has
 *     no gap in stream time.
 *
 * Underruns. Each listener models a player with a buffer of B ms: it
 * starts playing once it holds B ms of audio past where it is, plays at
 * real time, and underruns when its play position passes the end of the
 * audio received (granule positions of complete pages); it then waits for
 * B ms again. Because arrival times are seen by this process, a stall of
 * this process looks like a late server: the longest time the process was
 * itself not looking at its sockets is reported as client_stall_ms.
 *
 * With --reconnect 1 a listener whose connection ends or fails opens a new
 * one after a back-off (100 ms doubling to 2 s); its page checks restart
 * with the new stream. Without it, a connection that ends early counts as
 * closed_early. A refusal (status other than 200) is counted by status,
 * with whether it carried Retry-After.
 *
 * --save DIR writes, for the first K listeners, the header pages and the
 * last M pages of their last connection to DIR/listener-I.ogg, so that a
 * real decoder (tests/server/oggcheck, libopusfile) can check them.
 *
 * Prints one line of key=value pairs (see report()). Nothing grows with
 * time: per listener a fixed struct and, when saved, a fixed page ring.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTENERS 20000
#define HDR_MAX 2048
#define PAGE_MAX (27 + 255 + 255 * 255)
#define SAVE_HEAD_MAX 16384

typedef struct saved {
	uint8_t head[SAVE_HEAD_MAX];  /* OpusHead and OpusTags pages */
	size_t head_len;
	uint8_t **pages;              /* ring of the last M pages */
	size_t *lens;
	size_t next, count;
} saved;

typedef struct conn {
	int fd;
	int state;               /* 0 idle, 1 connecting, 2 header, 3 body */
	int64_t retry_at;        /* reconnect mode: when to open again */
	int64_t backoff_ms;
	char hdr[HDR_MAX];
	size_t hdr_len;
	uint8_t page[PAGE_MAX];  /* the page being collected */
	size_t have, need;
	/* per connection */
	long pages_conn;
	long last_seq;
	int64_t g_recv;          /* granule at the end of the audio received */
	int64_t g_prev;          /* the previous audio page's granule */
	int64_t play_g, play_t;  /* playing from granule play_g since play_t (ns) */
	int playing;
	/* totals over the run */
	long connects, ok_streams, pages, crc_bad, seq_gaps, granule_gaps, bad_head, underruns;
	long closed_early, refused, status503, retry_after;
	uint64_t bytes;
	saved *sv;
} conn;

typedef struct options {
	int port;
	const char *path;
	long listeners;
	double seconds, rate, buffer_ms;
	int reconnect;
	const char *save;
	long save_count, save_pages;
} options;

static uint32_t crc_table[256];
static uint8_t rbuf[256 * 1024];
static int64_t client_stall_ns;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t r = i << 24;
		for (int k = 0; k < 8; k++)
			r = r & 0x80000000u ? (r << 1) ^ 0x04c11db7u : r << 1;
		crc_table[i] = r;
	}
}

static uint32_t page_crc(const uint8_t *p, size_t n)
{
	uint32_t crc = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = (i >= 22 && i < 26) ? 0 : p[i];  /* the CRC field counts as 0 */
		crc = (crc << 8) ^ crc_table[((crc >> 24) & 0xff) ^ b];
	}
	return crc;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t le64(const uint8_t *p)
{
	return (int64_t)((uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32);
}

/* ---- the player model ---- */

static void player_tick(conn *c, const options *o, int64_t t)
{
	int64_t buf = (int64_t)(o->buffer_ms * 48);

	if (c->pages_conn < 3)
		return;
	if (c->playing) {
		int64_t pos = c->play_g + (t - c->play_t) * 48 / 1000000;
		if (pos > c->g_recv) {
			c->underruns++;
			c->playing = 0;
			c->play_g = c->g_recv;  /* it stalls where the audio ends */
		}
	} else if (c->g_recv - c->play_g >= buf) {
		c->playing = 1;
		c->play_t = t;
	}
}

/* ---- saving pages for a decoder ---- */

static void save_page(conn *c, const uint8_t *p, size_t n, const options *o)
{
	saved *s = c->sv;

	if (!s)
		return;
	if (c->pages_conn <= 2) {
		if (c->pages_conn == 1)
			s->head_len = s->count = s->next = 0;  /* a new stream */
		if (s->head_len + n <= SAVE_HEAD_MAX) {
			memcpy(s->head + s->head_len, p, n);
			s->head_len += n;
		}
		return;
	}
	uint8_t *copy = realloc(s->pages[s->next], n);
	if (!copy)
		return;
	memcpy(copy, p, n);
	s->pages[s->next] = copy;
	s->lens[s->next] = n;
	s->next = (s->next + 1) % (size_t)o->save_pages;
	if (s->count < (size_t)o->save_pages)
		s->count++;
}

static void write_saved(const conn *c, long i, const options *o)
{
	char path[4096];
	FILE *f;
	const saved *s = c->sv;

	if (!s)
		return;
	snprintf(path, sizeof path, "%s/listener-%ld.ogg", o->save, i);
	if (!(f = fopen(path, "wb")))
		return;
	fwrite(s->head, 1, s->head_len, f);
	for (size_t k = 0; k < s->count; k++) {
		size_t at = (s->next + (size_t)o->save_pages - s->count + k) % (size_t)o->save_pages;
		fwrite(s->pages[at], 1, s->lens[at], f);
	}
	fclose(f);
}

/* ---- parsing what arrives ---- */

static void on_page(conn *c, const options *o, int64_t t)
{
	const uint8_t *p = c->page;
	long seq = (long)le32(p + 18);

	c->pages++;
	c->pages_conn++;
	if (le32(p + 22) != page_crc(p, c->need)) {
		c->crc_bad++;
		return;
	}
	/* The first audio page follows the headers with whatever number it
	 * has in the stream (a listener joins mid-stream); from then on each
	 * page is the next. */
	if ((c->pages_conn == 2 || c->pages_conn > 3) && seq != c->last_seq + 1)
		c->seq_gaps++;
	c->last_seq = seq;
	if ((c->pages_conn == 1 && (c->need < 27 + 1 + 8 || memcmp(p + 27 + p[26], "OpusHead", 8))) ||
	    (c->pages_conn == 2 && (c->need < 27 + 1 + 8 || memcmp(p + 27 + p[26], "OpusTags", 8))))
		c->bad_head++;
	if (c->pages_conn >= 3) {
		int64_t g = le64(p + 6);
		if (c->pages_conn == 3) {
			c->play_g = g;  /* the player starts from the first audio page */
			c->playing = 0;
		}
		/* One Opus packet of 20 ms per lacing run ending below 255:
		 * consecutive audio pages advance the granule by exactly that. */
		int64_t packets = 0;
		for (int i = 0; i < p[26]; i++)
			packets += p[27 + i] < 255;
		if (c->pages_conn > 3 && g - c->g_prev != 960 * packets)
			c->granule_gaps++;
		c->g_prev = g;
		if (g >= 0)
			c->g_recv = g;
		if (c->pages_conn == 3)
			c->ok_streams++;
	}
	save_page(c, p, c->need, o);
	player_tick(c, o, t);
}

static void ogg_feed(conn *c, const uint8_t *p, size_t n, const options *o, int64_t t)
{
	while (n > 0) {
		if (c->need == 0)
			c->need = 27;
		size_t k = c->need - c->have < n ? c->need - c->have : n;
		memcpy(c->page + c->have, p, k);
		c->have += k;
		p += k;
		n -= k;
		if (c->have < c->need)
			return;
		if (c->need == 27) {
			if (memcmp(c->page, "OggS", 4) != 0) {
				c->crc_bad++;  /* lost framing: count it and resync by closing */
				c->have = c->need = 0;
				c->state = -1;
				return;
			}
			c->need = 27 + c->page[26];
			continue;
		}
		if (c->need == 27 + (size_t)c->page[26]) {
			size_t body = 0;
			for (size_t i = 0; i < c->page[26]; i++)
				body += c->page[27 + i];
			if (body) {
				c->need += body;
				continue;
			}
		}
		on_page(c, o, t);
		c->have = c->need = 0;
	}
}

/* Collects the response head; returns the bytes of p that were head. */
static size_t head_feed(conn *c, const uint8_t *p, size_t n)
{
	size_t take = n < HDR_MAX - 1 - c->hdr_len ? n : HDR_MAX - 1 - c->hdr_len;
	char *end;
	int status = 0;

	memcpy(c->hdr + c->hdr_len, p, take);
	c->hdr_len += take;
	c->hdr[c->hdr_len] = '\0';
	if (!(end = strstr(c->hdr, "\r\n\r\n"))) {
		if (c->hdr_len == HDR_MAX - 1)
			c->state = -1;
		return take;
	}
	*end = '\0';
	if (strncmp(c->hdr, "HTTP/1.", 7) == 0 && strlen(c->hdr) > 12)
		status = (int)strtol(c->hdr + 9, NULL, 10);
	if (status != 200) {
		c->refused++;
		c->status503 += status == 503;
		c->retry_after += strcasestr(c->hdr, "\r\nretry-after:") != NULL;
		c->state = -2;
		return take;
	}
	c->state = 3;
	c->pages_conn = 0;
	c->have = c->need = 0;
	return take - (c->hdr_len - (size_t)(end + 4 - c->hdr));
}

/* ---- connections ---- */

static void conn_close(conn *c, int ep, const options *o, int64_t t, int early)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	if (early && !o->reconnect)
		c->closed_early++;
	c->state = 0;
	c->playing = 0;
	c->backoff_ms = c->backoff_ms ? (c->backoff_ms * 2 > 2000 ? 2000 : c->backoff_ms * 2) : 100;
	c->retry_at = o->reconnect ? t + c->backoff_ms * 1000000 : INT64_MAX;
}

static void conn_open(conn *c, int ep, const options *o)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.ptr = c };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->connects++;
	c->hdr_len = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	c->state = 1;
	if (c->fd < 0 ||
	    (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		c->state = -1;
}

static void conn_event(conn *c, int ep, uint32_t events, const options *o, int64_t t)
{
	if (c->state == 1) {
		char req[512];
		int k = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n"
				 "User-Agent: tutti-load\r\n\r\n", o->path, o->port);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		int err = 0;
		socklen_t len = sizeof err;

		if (!(events & EPOLLOUT))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err ||
		    write(c->fd, req, (size_t)k) != k || epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
			conn_close(c, ep, o, t, 1);
			return;
		}
		c->state = 2;
		return;
	}
	for (;;) {
		ssize_t r = read(c->fd, rbuf, sizeof rbuf);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(c, ep, o, t, c->state != -2);
			return;
		}
		if (r < 0)
			return;
		c->bytes += (uint64_t)r;
		size_t off = 0;
		if (c->state == 2)
			off = head_feed(c, rbuf, (size_t)r);
		if (c->state == 3) {
			ogg_feed(c, rbuf + off, (size_t)r - off, o, t);
			if (c->pages_conn > 3)
				c->backoff_ms = 0;  /* a working stream resets the back-off */
		}
		if (c->state < 0) {
			conn_close(c, ep, o, t, c->state != -2);
			return;
		}
	}
}

static void report(conn *cs, const options *o, double secs)
{
	long ok = 0, refused = 0, s503 = 0, retry = 0, early = 0, connects = 0, pages = 0, crc = 0;
	long gaps = 0, ggaps = 0, head = 0, under = 0, under_l = 0, streams = 0;
	uint64_t bytes = 0;

	for (long i = 0; i < o->listeners; i++) {
		conn *c = &cs[i];
		int good = c->ok_streams > 0 && !c->crc_bad && !c->bad_head &&
			   (o->reconnect || (!c->closed_early && c->fd >= 0 && c->state == 3));
		ok += good;
		refused += c->refused > 0;
		s503 += c->status503;
		retry += c->retry_after;
		early += c->closed_early;
		connects += c->connects;
		pages += c->pages;
		crc += c->crc_bad;
		gaps += c->seq_gaps;
		ggaps += c->granule_gaps;
		head += c->bad_head;
		under += c->underruns;
		under_l += c->underruns > 0;
		streams += c->ok_streams;
		bytes += c->bytes;
	}
	printf("listeners=%ld ok=%ld refused=%ld status503=%ld retry_after=%ld closed_early=%ld "
	       "connects=%ld streams=%ld pages=%ld crc_bad=%ld seq_gaps=%ld granule_gaps=%ld "
	       "bad_head=%ld "
	       "underruns=%ld underrun_listeners=%ld buffer_ms=%.0f client_stall_ms=%.1f "
	       "seconds=%.1f mb=%.1f\n",
	       o->listeners, ok, refused, s503, retry, early, connects, streams, pages, crc, gaps,
	       ggaps, head, under, under_l, o->buffer_ms, (double)client_stall_ns / 1e6, secs,
	       (double)bytes / 1e6);
	fflush(stdout);
}

static int run(conn *cs, const options *o)
{
	struct epoll_event evs[256];
	int64_t t0 = now_ns(), end = t0 + (int64_t)(o->seconds * 1e9), last = t0;
	int64_t next_tick = t0;
	long opened = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -1;
	for (;;) {
		int64_t t = now_ns();
		if (t >= end)
			break;
		/* The ramp: open the connections due by now. */
		long due = o->rate > 0 ? (long)((double)(t - t0) / 1e9 * o->rate) + 1 : o->listeners;
		while (opened < o->listeners && opened < due)
			conn_open(&cs[opened++], ep, o);
		if (t >= next_tick) {
			for (long i = 0; i < opened; i++) {
				conn *c = &cs[i];
				if (c->state == 3)
					player_tick(c, o, t);
				else if (c->state == 0 && t >= c->retry_at)
					conn_open(c, ep, o);
				if (c->state == -1)
					conn_close(c, ep, o, t, 1);
			}
			next_tick = t + 10000000;
		}
		int k = epoll_wait(ep, evs, 256, 5);
		t = now_ns();
		/* epoll_wait sleeps at most 5 ms; beyond that this process was
		 * busy or not scheduled. */
		if (t - last - 5000000 > client_stall_ns && t - t0 > 2000000000)
			client_stall_ns = t - last - 5000000;
		last = t;
		for (int i = 0; i < k; i++)
			conn_event(evs[i].data.ptr, ep, evs[i].events, o, t);
	}
	for (long i = 0; i < o->listeners; i++) {
		if (cs[i].state != 3 && cs[i].state != 0 && !o->reconnect)
			cs[i].closed_early++;  /* still connecting at the end */
		write_saved(&cs[i], i, o);
	}
	report(cs, o, (double)(now_ns() - t0) / 1e9);
	for (long i = 0; i < o->listeners; i++)
		if (cs[i].fd >= 0)
			close(cs[i].fd);
	close(ep);
	return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		char *end;
		double d;
		if (strcmp(k, "--path") == 0) {
			o->path = v;
			continue;
		}
		if (strcmp(k, "--save") == 0) {
			o->save = v;
			continue;
		}
		errno = 0;
		d = strtod(v, &end);
		if (errno || end == v || *end || d < 0)
			return -1;
		if (strcmp(k, "--port") == 0 && d >= 1 && d <= 65535)
			o->port = (int)d;
		else if (strcmp(k, "--listeners") == 0 && d >= 1 && d <= MAX_LISTENERS)
			o->listeners = (long)d;
		else if (strcmp(k, "--seconds") == 0 && d > 0 && d <= 7200)
			o->seconds = d;
		else if (strcmp(k, "--rate") == 0)
			o->rate = d;
		else if (strcmp(k, "--buffer-ms") == 0 && d <= 60000)
			o->buffer_ms = d;
		else if (strcmp(k, "--reconnect") == 0)
			o->reconnect = d != 0;
		else if (strcmp(k, "--save-count") == 0 && d <= MAX_LISTENERS)
			o->save_count = (long)d;
		else if (strcmp(k, "--save-pages") == 0 && d >= 1 && d <= 100000)
			o->save_pages = (long)d;
		else
			return -1;
	}
	return argc % 2 == 1 && o->port > 0 && o->path && o->path[0] == '/' &&
	       strlen(o->path) < 400 ? 0 : -1;
}

int main(int argc, char **argv)
{
	options o = { .listeners = 100, .seconds = 10, .rate = 1000, .buffer_ms = 200,
		      .save_pages = 250 };
	struct rlimit rl;
	conn *cs;
	int rc;

	if (parse_args(argc, argv, &o) != 0) {
		fprintf(stderr, "usage: listeners --port P --path /PATH [--listeners N] [--seconds S] "
				"[--rate R] [--buffer-ms B] [--reconnect 0|1] [--save DIR] "
				"[--save-count K] [--save-pages M]\n");
		return 2;
	}
	/* A descriptor per listener. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	crc_init();
	if (!(cs = calloc((size_t)o.listeners, sizeof *cs))) {
		fprintf(stderr, "listeners: out of memory\n");
		return 1;
	}
	for (long i = 0; i < o.listeners; i++) {
		cs[i].fd = -1;
		cs[i].retry_at = INT64_MAX;
		if (o.save && i < o.save_count) {
			cs[i].sv = calloc(1, sizeof *cs[i].sv);
			if (cs[i].sv) {
				cs[i].sv->pages = calloc((size_t)o.save_pages, sizeof *cs[i].sv->pages);
				cs[i].sv->lens = calloc((size_t)o.save_pages, sizeof *cs[i].sv->lens);
			}
			if (!cs[i].sv || !cs[i].sv->pages || !cs[i].sv->lens) {
				fprintf(stderr, "listeners: out of memory\n");
				return 1;
			}
		}
	}
	rc = run(cs, &o);
	return rc == 0 ? 0 : 1;
}
