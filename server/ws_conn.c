/* server/ws_conn.c: see ws_conn.h for the life of a connection. */
#include "server/ws_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/error.h"
#include "common/limits.h"
#include "server/app.h"
#include "server/http.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/loop.h"
#include "server/rpc.h"
#include "server/ws_frame.h"
#include "server/ws_handshake.h"

typedef struct chunk {
	struct chunk *next;
	size_t len;
	size_t off;
	uint8_t data[];
} chunk;

enum conn_state { ST_OPEN, ST_CLOSING, ST_GONE };

struct ws_conn {
	tt_app *app;
	uint64_t id;
	int fd;
	struct MHD_UpgradeResponseHandle *urh;
	ws_parser parser;
	enum conn_state state;
	int close_after_flush;     /* peer closed first: go once flushed */
	int64_t close_deadline;
	int64_t partial_since;     /* a message began (ms), or 0: TT_WS_MESSAGE_TIMEOUT_S */
	chunk *head, *tail;
	size_t queued;
	int want_out;              /* EPOLLOUT is being watched */
	int busy;                  /* inside a callback: free later */
	int doomed;                /* dropped from a send path: reaped later */
	int lingering;             /* our close is out: draining until EOF */
	uint8_t *early;            /* bytes libmicrohttpd read past the headers */
	size_t early_len;
	rpc_state rpc;
	char addr[INET6_ADDRSTRLEN]; /* the peer, for TT_MAX_WS_PER_ADDRESS */
	ws_conn *prev, *next;
};

static ws_conn *all_conns;         /* loop thread only */

/* Connections per peer address (TT_MAX_WS_PER_ADDRESS), counted from the
 * upgrade (libmicrohttpd's thread) to the end (the loop's). */
typedef struct addr_count {
	char addr[INET6_ADDRSTRLEN];
	int n;
} addr_count;

static pthread_mutex_t addr_lock = PTHREAD_MUTEX_INITIALIZER;
static addr_count *addrs;
static size_t n_addrs, cap_addrs;

static void peer_address(struct MHD_Connection *c, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, cap, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)cap);
}

/* Counts one more connection from addr; TT_ELIMIT past max. */
static int addr_acquire(const char *addr, int max)
{
	int rc = TT_OK;
	size_t i;

	pthread_mutex_lock(&addr_lock);
	for (i = 0; i < n_addrs && strcmp(addrs[i].addr, addr) != 0; i++)
		;
	if (i == n_addrs) {
		if (n_addrs == cap_addrs) {
			size_t cap = cap_addrs ? cap_addrs * 2 : 16;
			addr_count *a = realloc(addrs, cap * sizeof *a);
			if (!a) {
				pthread_mutex_unlock(&addr_lock);
				return TT_ENOMEM;
			}
			addrs = a;
			cap_addrs = cap;
		}
		snprintf(addrs[i].addr, sizeof addrs[i].addr, "%s", addr);
		addrs[i].n = 0;
		n_addrs++;
	}
	if (addrs[i].n >= max)
		rc = TT_ELIMIT;
	else
		addrs[i].n++;
	pthread_mutex_unlock(&addr_lock);
	return rc;
}

static void addr_release(const char *addr)
{
	pthread_mutex_lock(&addr_lock);
	for (size_t i = 0; i < n_addrs; i++) {
		if (strcmp(addrs[i].addr, addr) == 0) {
			if (--addrs[i].n == 0)
				addrs[i] = addrs[--n_addrs];
			break;
		}
	}
	pthread_mutex_unlock(&addr_lock);
}
static atomic_int n_conns;         /* any thread */
static atomic_uint_fast64_t next_id = 1;

int ws_conn_count(void)
{
	return atomic_load(&n_conns);
}

uint64_t ws_conn_id(const ws_conn *wc)
{
	return wc->id;
}

static void conn_destroy(ws_conn *wc)
{
	if (wc->state == ST_GONE)
		return;
	wc->state = ST_GONE;
	loop_unwatch(wc->app->loop, wc->fd);
	MHD_upgrade_action(wc->urh, MHD_UPGRADE_ACTION_CLOSE);
	ws_parser_fini(&wc->parser);
	rpc_fini(&wc->rpc);
	while (wc->head) {
		chunk *c = wc->head;
		wc->head = c->next;
		free(c);
	}
	if (wc->prev)
		wc->prev->next = wc->next;
	else
		all_conns = wc->next;
	if (wc->next)
		wc->next->prev = wc->prev;
	atomic_fetch_sub(&n_conns, 1);
	addr_release(wc->addr);
	log_debug("ws", "ws#%llu closed", (unsigned long long)wc->id);
	free(wc->early);
	wc->early = NULL;
	/* Code up the stack may still look at wc->state: it frees wc. */
	if (!wc->busy && !wc->doomed)
		free(wc);
}

/*
 * Our close frame has been written: half-close and read (discarding) until
 * the peer closes too, or TT_WS_CLOSE_TIMEOUT_MS. Closing at once would
 * make the kernel answer the peer's unread input with a reset, which
 * destroys the close frame still in the peer's receive buffer: the peer
 * would see 1006 instead of our code.
 */
static void linger_start(ws_conn *wc)
{
	if (wc->lingering)
		return;
	shutdown(wc->fd, SHUT_WR);
	wc->lingering = 1;
	wc->close_after_flush = 0;
	wc->state = ST_CLOSING;
	wc->close_deadline = loop_now_ms() + TT_WS_CLOSE_TIMEOUT_MS;
}

static void reap(void *arg)
{
	ws_conn *wc = arg;

	conn_destroy(wc);
	free(wc);
}

/*
 * Drops a connection from inside a send. Sends happen while the caller
 * walks lists of members and subscribers, so the connection is only marked
 * here (it refuses further sends) and destroyed by a task the loop runs
 * next, when no walk is under way: a drop never shortens a list that is
 * being broadcast to.
 */
static void conn_doom(ws_conn *wc)
{
	if (wc->doomed || wc->state == ST_GONE)
		return;
	wc->doomed = 1;
	wc->state = ST_CLOSING;
	wc->close_after_flush = 0;
	if (loop_post(wc->app->loop, reap, wc) != TT_OK)
		wc->doomed = 0; /* the loop is stopping: close_all destroys it */
}

/* Brackets every entry from the loop, so that a connection destroyed deep
 * inside (a full queue while replying) is freed only on the way out. */
static void enter(ws_conn *wc)
{
	wc->busy++;
}

static void leave(ws_conn *wc)
{
	if (--wc->busy == 0 && wc->state == ST_GONE && !wc->doomed)
		free(wc);
}

static void on_io(void *arg, uint32_t events);

static void watch_output(ws_conn *wc, int on)
{
	if (wc->want_out == on)
		return;
	wc->want_out = on;
	loop_rewatch(wc->app->loop, wc->fd, EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0), on_io, wc);
}

/* Writes what the socket takes. Returns TT_OK, TT_EIO when the socket
 * failed, or TT_ECLOSED when our close went out after the peer's; in both
 * the caller ends the connection (destroy at top level, doom in a send). */
static int flush(ws_conn *wc)
{
	while (wc->head) {
		struct iovec iov[16];
		int n = 0;
		ssize_t w;

		for (chunk *c = wc->head; c && n < 16; c = c->next, n++) {
			iov[n].iov_base = c->data + c->off;
			iov[n].iov_len = c->len - c->off;
		}
		w = writev(wc->fd, iov, n);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			watch_output(wc, 1);
			return TT_OK;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return TT_EIO;
		wc->queued -= (size_t)w;
		metrics_bytes_out((uint64_t)w);
		while (w > 0) {
			chunk *c = wc->head;
			size_t left = c->len - c->off;
			if ((size_t)w < left) {
				c->off += (size_t)w;
				break;
			}
			w -= (ssize_t)left;
			wc->head = c->next;
			free(c);
		}
		if (!wc->head)
			wc->tail = NULL;
	}
	watch_output(wc, 0);
	return wc->close_after_flush ? TT_ECLOSED : TT_OK;
}

/* Queues one frame; enforces the send-queue ceiling (invariant 1). */
static int queue_frame(ws_conn *wc, unsigned opcode, const void *data, size_t len)
{
	uint8_t hdr[WS_MAX_SERVER_HEADER];
	size_t hl = ws_frame_header(opcode, 1, len, hdr);
	chunk *c;

	if (wc->doomed)
		return TT_ECLOSED;
	if (wc->queued + hl + len > TT_MAX_WS_SENDQ) {
		log_warn("ws", "ws#%llu is not reading: %zu bytes queued (TT_MAX_WS_SENDQ); dropping it",
			 (unsigned long long)wc->id, wc->queued);
		conn_doom(wc);
		return TT_ELIMIT;
	}
	c = malloc(sizeof *c + hl + len);
	if (!c) {
		conn_doom(wc);
		return TT_ENOMEM;
	}
	c->next = NULL;
	c->len = hl + len;
	c->off = 0;
	memcpy(c->data, hdr, hl);
	if (len)
		memcpy(c->data + hl, data, len);
	if (wc->tail)
		wc->tail->next = c;
	else
		wc->head = c;
	wc->tail = c;
	wc->queued += c->len;
	if (wc->want_out)
		return TT_OK;
	switch (flush(wc)) {
	case TT_OK:
		return TT_OK;
	case TT_ECLOSED:
		linger_start(wc);
		return TT_ECLOSED;
	default:
		conn_doom(wc);
		return TT_ECLOSED;
	}
}

static int send_data(ws_conn *wc, unsigned opcode, const void *data, size_t len)
{
	if (wc->state != ST_OPEN)
		return TT_ECLOSED;
	return queue_frame(wc, opcode, data, len);
}

int ws_conn_send_text(ws_conn *wc, const char *text, size_t len)
{
	return send_data(wc, WS_OP_TEXT, text, len);
}

int ws_conn_send_binary(ws_conn *wc, const void *data, size_t len)
{
	return send_data(wc, WS_OP_BINARY, data, len);
}

int ws_conn_send_json(ws_conn *wc, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	int rc;

	json_decref(msg);
	if (!text)
		return TT_ENOMEM;
	rc = ws_conn_send_text(wc, text, strlen(text));
	free(text);
	return rc;
}

void ws_conn_close(ws_conn *wc, unsigned code, const char *reason)
{
	uint8_t payload[WS_MAX_CONTROL];
	int n;

	if (wc->state != ST_OPEN)
		return;
	n = ws_close_payload(code, reason, payload, sizeof payload);
	if (n < 0)
		n = 0;
	wc->state = ST_CLOSING;
	wc->close_deadline = loop_now_ms() + TT_WS_CLOSE_TIMEOUT_MS;
	queue_frame(wc, WS_OP_CLOSE, payload, (size_t)n);
}

/* The peer sent its close: echo it (RFC 6455 5.5.1) unless we already sent
 * ours, then close once the queue is flushed. */
static void on_peer_close(ws_conn *wc, const ws_event *ev)
{
	if (wc->state == ST_CLOSING) {
		conn_destroy(wc);
		return;
	}
	uint8_t payload[2];
	int n = ev->close_code == WS_CLOSE_NO_STATUS ? 0 :
		ws_close_payload(ev->close_code, NULL, payload, sizeof payload);
	wc->state = ST_CLOSING;
	wc->close_after_flush = 1;
	wc->close_deadline = loop_now_ms() + TT_WS_CLOSE_TIMEOUT_MS;
	queue_frame(wc, WS_OP_CLOSE, payload, n > 0 ? (size_t)n : 0);
}

/* Handles one parser event; returns TT_OK to keep reading. */
static int handle_event(ws_conn *wc, const ws_event *ev)
{
	if (ev->type != WS_EV_NEED_MORE)
		wc->partial_since = 0; /* a whole message or control frame came */
	switch (ev->type) {
	case WS_EV_TEXT:
		if (wc->state == ST_OPEN)
			rpc_handle_text(&wc->rpc, wc, (const char *)ev->data, ev->len);
		break;
	case WS_EV_BINARY:
		/* Binary messages are echoed, so a client can measure its round
		 * trip on the connection that carries its audio. */
		if (wc->state == ST_OPEN)
			ws_conn_send_binary(wc, ev->data, ev->len);
		break;
	case WS_EV_PING:
		if (wc->state == ST_OPEN)
			queue_frame(wc, WS_OP_PONG, ev->data, ev->len);
		break;
	case WS_EV_PONG:
	case WS_EV_NEED_MORE:
		break;
	case WS_EV_CLOSE:
		on_peer_close(wc, ev);
		return TT_ECLOSED;
	case WS_EV_ERROR:
		log_info("ws", "ws#%llu: protocol error, closing with %u: %s",
			 (unsigned long long)wc->id, ev->close_code, ev->reason);
		/* Fail the connection (RFC 6455 7.1.7): our close, then TCP close
		 * once it is written; the parser will read nothing more. */
		wc->close_after_flush = 1;
		ws_conn_close(wc, ev->close_code, ev->reason);
		return TT_ECLOSED;
	}
	return wc->state == ST_GONE ? TT_ECLOSED : TT_OK;
}

/* Feeds bytes to the parser and handles its events. The connection may be
 * destroyed inside: returns TT_ECLOSED then, or when no more input
 * should be read. */
static int feed(ws_conn *wc, const uint8_t *buf, size_t n)
{
	for (;;) {
		ws_event ev;
		size_t used = 0;
		ws_parser_feed(&wc->parser, buf, n, &used, &ev);
		if (ev.type == WS_EV_NEED_MORE)
			return TT_OK;
		if (handle_event(wc, &ev) != TT_OK)
			return TT_ECLOSED;
		buf += used;
		n -= used;
	}
}

static void on_readable(ws_conn *wc)
{
	uint8_t buf[16384];
	size_t budget = TT_WS_READ_BUDGET;

	while (budget > 0) {
		ssize_t r = read(wc->fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			/* EOF or reset: the peer is gone (or done, when lingering). */
			conn_destroy(wc);
			return;
		}
		budget -= (size_t)r < budget ? (size_t)r : budget;
		if (wc->lingering)
			continue; /* discard: only the EOF matters now */
		if (feed(wc, buf, (size_t)r) != TT_OK)
			return;
		if (!ws_parser_mid_message(&wc->parser))
			wc->partial_since = 0;
		else if (!wc->partial_since)
			wc->partial_since = loop_now_ms();
	}
}

static void on_io(void *arg, uint32_t events)
{
	ws_conn *wc = arg;

	enter(wc);
	if (wc->doomed)
		goto out;
	if (events & EPOLLOUT) {
		int rc = flush(wc);
		if (rc == TT_ECLOSED) {
			linger_start(wc);
		} else if (rc != TT_OK) {
			conn_destroy(wc);
			goto out;
		}
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		on_readable(wc);
out:
	leave(wc);
}

/* Loop thread: the connection arrives from libmicrohttpd's thread. */
static void adopt(void *arg)
{
	ws_conn *wc = arg;
	int fl = fcntl(wc->fd, F_GETFL);

	fcntl(wc->fd, F_SETFL, fl | O_NONBLOCK);
	/* libmicrohttpd leaves Nagle on after the upgrade: a small ack queued
	 * behind other data would wait for the peer's delayed ACK (~40 ms). */
	setsockopt(wc->fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	wc->next = all_conns;
	if (all_conns)
		all_conns->prev = wc;
	all_conns = wc;
	if (loop_watch(wc->app->loop, wc->fd, EPOLLIN | EPOLLRDHUP, on_io, wc) != TT_OK) {
		log_error("ws", "ws#%llu: cannot watch its socket", (unsigned long long)wc->id);
		conn_destroy(wc);
		return;
	}
	log_debug("ws", "ws#%llu open", (unsigned long long)wc->id);
	if (wc->early_len) {
		enter(wc);
		feed(wc, wc->early, wc->early_len);
		leave(wc);
	}
}

static void on_upgraded(void *cls, struct MHD_Connection *c, void *req_cls,
			const char *extra_in, size_t extra_in_size, MHD_socket sock,
			struct MHD_UpgradeResponseHandle *urh)
{
	tt_app *app = cls;
	ws_conn *wc = calloc(1, sizeof *wc);

	char addr[INET6_ADDRSTRLEN];

	(void)req_cls;
	http_upgraded(app, c);
	peer_address(c, addr, sizeof addr);
	if (!wc || (extra_in_size && !(wc->early = malloc(extra_in_size)))) {
		free(wc);
		atomic_fetch_sub(&n_conns, 1);
		addr_release(addr);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		return;
	}
	memcpy(wc->addr, addr, sizeof wc->addr);
	wc->app = app;
	wc->id = atomic_fetch_add(&next_id, 1);
	wc->fd = sock;
	wc->urh = urh;
	ws_parser_init(&wc->parser, NULL);
	rpc_init(&wc->rpc, app, wc, (int64_t)wc->id);
	if (extra_in_size) {
		memcpy(wc->early, extra_in, extra_in_size);
		wc->early_len = extra_in_size;
	}
	if (loop_post(app->loop, adopt, wc) != TT_OK) {
		ws_parser_fini(&wc->parser);
		rpc_fini(&wc->rpc);
		free(wc->early);
		free(wc);
		atomic_fetch_sub(&n_conns, 1);
		addr_release(addr);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	}
}

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

enum MHD_Result ws_conn_upgrade(tt_app *app, struct MHD_Connection *c, const char *method)
{
	ws_handshake_request hs = {
		.method = method,
		.upgrade = header(c, "Upgrade"),
		.connection = header(c, "Connection"),
		.version = header(c, "Sec-WebSocket-Version"),
		.key = header(c, "Sec-WebSocket-Key"),
	};
	char accept[WS_ACCEPT_LEN + 1];
	const char *reason = "";
	int status = 400;
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (ws_handshake_check(&hs, accept, &status, &reason) != TT_OK) {
		if (status == 426)
			return http_reply_json_hdr(c, 426,
						   http_error_body(426, "upgrade_required", "%s", reason),
						   "Sec-WebSocket-Version", "13");
		if (status == 405)
			return http_reply_json_hdr(c, 405,
						   http_error_body(405, "method_not_allowed", "%s", reason),
						   MHD_HTTP_HEADER_ALLOW, "GET");
		return http_reply_error(c, (unsigned)status, "bad_upgrade", "%s", reason);
	}
	char addr[INET6_ADDRSTRLEN];

	peer_address(c, addr, sizeof addr);
	if (addr_acquire(addr, app->cfg.ws_per_address) != TT_OK)
		return http_reply_json_hdr(c, MHD_HTTP_SERVICE_UNAVAILABLE,
					   http_error_body(MHD_HTTP_SERVICE_UNAVAILABLE, "too_many",
							   "%s has %d WebSocket connections open "
							   "(ws-per-address, default TT_MAX_WS_PER_ADDRESS)",
							   addr, app->cfg.ws_per_address),
					   MHD_HTTP_HEADER_RETRY_AFTER, "10");
	if (atomic_fetch_add(&n_conns, 1) >= TT_MAX_WS_CONNECTIONS) {
		atomic_fetch_sub(&n_conns, 1);
		addr_release(addr);
		return http_reply_json_hdr(c, MHD_HTTP_SERVICE_UNAVAILABLE,
					   http_error_body(MHD_HTTP_SERVICE_UNAVAILABLE, "too_many",
							   "the server holds %d WebSocket connections (TT_MAX_WS_CONNECTIONS)",
							   TT_MAX_WS_CONNECTIONS),
					   MHD_HTTP_HEADER_RETRY_AFTER, "10");
	}
	r = MHD_create_response_for_upgrade(on_upgraded, app);
	if (!r) {
		atomic_fetch_sub(&n_conns, 1);
		addr_release(addr);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "websocket");
	MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
	ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, r);
	MHD_destroy_response(r);
	if (ret != MHD_YES) {
		atomic_fetch_sub(&n_conns, 1);
		addr_release(addr);
	}
	return ret;
}

void ws_conn_close_all(void *arg)
{
	(void)arg;
	while (all_conns) {
		ws_conn *wc = all_conns;
		uint8_t payload[32];
		int n = ws_close_payload(WS_CLOSE_GOING_AWAY, "server shutting down", payload,
					 sizeof payload);
		if (wc->state == ST_OPEN)
			queue_frame(wc, WS_OP_CLOSE, payload, n > 0 ? (size_t)n : 0);
		if (all_conns == wc)
			conn_destroy(wc);
	}
}

void ws_conn_tick(void *arg)
{
	int64_t now = loop_now_ms();
	ws_conn *wc = all_conns;

	(void)arg;
	while (wc) {
		ws_conn *next = wc->next;
		if (wc->state == ST_CLOSING && now >= wc->close_deadline) {
			conn_destroy(wc);
		} else if (wc->state == ST_OPEN && wc->partial_since &&
			   now - wc->partial_since >= (int64_t)TT_WS_MESSAGE_TIMEOUT_S * 1000) {
			log_info("ws", "ws#%llu: a message not complete after %d s, closing with 1008",
				 (unsigned long long)wc->id, TT_WS_MESSAGE_TIMEOUT_S);
			wc->partial_since = 0;
			wc->close_after_flush = 1;
			ws_conn_close(wc, 1008, "message not complete within "
				      "TT_WS_MESSAGE_TIMEOUT_S");
		}
		wc = next;
	}
}
