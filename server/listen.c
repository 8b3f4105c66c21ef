/* server/listen.c: see listen.h for the design and its invariants. */
#include "server/listen.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/limits.h"
#include "server/app.h"
#include "server/auth.h"
#include "server/hub.h"
#include "server/log.h"
#include "server/metrics.h"

/* Units (pages, events) the ring can index: more than the bytes can hold
 * at the smallest page this server writes. */
#define RING_UNITS 16384

/* Batching for listeners over TLS: a suspended one is woken by the first
 * append at least this long after the append that began its batch, so
 * with the hub's 100 ms pages it takes two pages at a time (half a page
 * of margin for the appends' jitter). Each wake
 * costs a TLS listener a hop through the TLS front (a write and a read of
 * the socketpair), a record and a send: about three times what it costs a
 * plain listener (docs/operations.md, "bench/fanout --tls"), so halving
 * the wakes is most of the difference. An HTTP listener plays from a
 * buffer (it starts 300 ms behind live), and performers' low-latency
 * audio goes over WebSocket, which is not batched. */
#define TLS_BATCH_MS 50

typedef struct unit {
	uint64_t off;     /* absolute offset of its first byte */
	int64_t ms;       /* when it was appended (monotonic) */
} unit;

typedef struct listener {
	stream_ring *ring;
	struct MHD_Connection *conn;
	uint64_t pos;         /* absolute offset of the next byte to send */
	size_t head_sent;
	int suspended;
	int64_t batch_ms;     /* 0: wake at every append; else see TLS_BATCH_MS */
	int64_t wake_at;      /* batching: when the batch begun by an append ends */
	struct listener *prev, *next;
} listener;

struct stream_ring {
	char sid[32];
	char kind[16];
	char ctype[64];
	pthread_mutex_t lock;
	uint8_t *buf;
	uint64_t start, end;  /* bytes [start, end) are held */
	unit units[RING_UNITS];
	size_t u_first, u_count;
	uint8_t *head;
	size_t head_len;
	listener *listeners;
	int n_listeners;
	int refs;             /* the session's, plus one per listener */
	int closed;
	stream_ring *next;    /* in the registry */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static stream_ring *registry;
static atomic_int n_listening;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int listen_count(void)
{
	return atomic_load(&n_listening);
}

stream_ring *stream_ring_new(const char *sid, const char *kind, const char *content_type,
			     const void *head, size_t head_len)
{
	stream_ring *r = calloc(1, sizeof *r);

	if (!r || !(r->buf = malloc(TT_STREAM_RING_BYTES)) ||
	    (head_len && !(r->head = malloc(head_len)))) {
		if (r)
			free(r->buf);
		free(r);
		return NULL;
	}
	snprintf(r->sid, sizeof r->sid, "%s", sid);
	snprintf(r->kind, sizeof r->kind, "%s", kind);
	snprintf(r->ctype, sizeof r->ctype, "%s", content_type);
	if (head_len)
		memcpy(r->head, head, head_len);
	r->head_len = head_len;
	r->refs = 1;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_lock(&registry_lock);
	r->next = registry;
	registry = r;
	pthread_mutex_unlock(&registry_lock);
	return r;
}

static void ring_free(stream_ring *r)
{
	pthread_mutex_destroy(&r->lock);
	free(r->buf);
	free(r->head);
	free(r);
}

/* Drops the oldest units until len more bytes fit. Lock held. */
static void make_room(stream_ring *r, size_t len)
{
	while (r->end + len - r->start > TT_STREAM_RING_BYTES && r->u_count > 0) {
		r->u_first = (r->u_first + 1) % RING_UNITS;
		r->u_count--;
		r->start = r->u_count ? r->units[r->u_first].off : r->end;
	}
}

static void copy_in(stream_ring *r, const uint8_t *p, size_t len)
{
	size_t at = (size_t)(r->end % TT_STREAM_RING_BYTES);
	size_t first = len < TT_STREAM_RING_BYTES - at ? len : TT_STREAM_RING_BYTES - at;

	memcpy(r->buf + at, p, first);
	memcpy(r->buf, p + first, len - first);
	r->end += len;
}

/* Resumes listeners outside ring->lock (see the locking note in listen.h). */
static void resume_all(struct MHD_Connection **conns, int n)
{
	for (int i = 0; i < n; i++)
		MHD_resume_connection(conns[i]);
}

void stream_ring_append(stream_ring *r, const void *data, size_t len)
{
	struct MHD_Connection *wake[TT_MAX_LISTENERS];
	int n_wake = 0;
	int64_t now = mono_ms();

	if (len == 0 || len > TT_STREAM_RING_BYTES / 4)
		return;
	pthread_mutex_lock(&r->lock);
	make_room(r, len);
	if (r->u_count == RING_UNITS) {
		r->u_first = (r->u_first + 1) % RING_UNITS;
		r->u_count--;
		r->start = r->units[r->u_first].off;
	}
	r->units[(r->u_first + r->u_count) % RING_UNITS] = (unit){ r->end, now };
	r->u_count++;
	copy_in(r, data, len);
	for (listener *l = r->listeners; l && n_wake < TT_MAX_LISTENERS; l = l->next) {
		if (!l->suspended)
			continue;
		if (l->batch_ms) {
			if (!l->wake_at)
				l->wake_at = now + l->batch_ms;
			if (now < l->wake_at)
				continue;
		}
		l->suspended = 0;
		l->wake_at = 0;
		wake[n_wake++] = l->conn;
	}
	pthread_mutex_unlock(&r->lock);
	resume_all(wake, n_wake);
}

int stream_ring_listeners(stream_ring *r)
{
	int n;
	pthread_mutex_lock(&r->lock);
	n = r->n_listeners;
	pthread_mutex_unlock(&r->lock);
	return n;
}

void stream_ring_close(stream_ring *r)
{
	struct MHD_Connection *wake[TT_MAX_LISTENERS];
	int n_wake = 0, last;

	if (!r)
		return;
	pthread_mutex_lock(&registry_lock);
	for (stream_ring **p = &registry; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	pthread_mutex_unlock(&registry_lock);
	pthread_mutex_lock(&r->lock);
	r->closed = 1;
	for (listener *l = r->listeners; l && n_wake < TT_MAX_LISTENERS; l = l->next)
		if (l->suspended) {
			l->suspended = 0;
			wake[n_wake++] = l->conn;
		}
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->lock);
	resume_all(wake, n_wake);
	if (last)
		ring_free(r);
}

/* Copies up to max bytes from absolute offset pos. Lock held. */
static size_t copy_out(stream_ring *r, uint64_t pos, char *out, size_t max)
{
	size_t n = r->end - pos < max ? (size_t)(r->end - pos) : max;
	size_t at = (size_t)(pos % TT_STREAM_RING_BYTES);
	size_t first = n < TT_STREAM_RING_BYTES - at ? n : TT_STREAM_RING_BYTES - at;

	memcpy(out, r->buf + at, first);
	memcpy(out + first, r->buf, n - first);
	return n;
}

static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max)
{
	listener *l = cls;
	stream_ring *r = l->ring;
	ssize_t n;

	(void)pos;
	pthread_mutex_lock(&r->lock);
	if (r->closed) {
		pthread_mutex_unlock(&r->lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	if (l->head_sent < r->head_len) {
		n = (ssize_t)(r->head_len - l->head_sent < max ? r->head_len - l->head_sent : max);
		memcpy(out, r->head + l->head_sent, (size_t)n);
		l->head_sent += (size_t)n;
		pthread_mutex_unlock(&r->lock);
		metrics_bytes_out((uint64_t)n);
		return n;
	}
	if (l->pos < r->start)
		l->pos = r->start; /* fell out of the ring: skip to the oldest unit */
	if (l->pos == r->end) {
		/* Caught up: wait without polling until the next append. */
		l->suspended = 1;
		MHD_suspend_connection(l->conn);
		pthread_mutex_unlock(&r->lock);
		return 0;
	}
	n = (ssize_t)copy_out(r, l->pos, out, max);
	l->pos += (uint64_t)n;
	pthread_mutex_unlock(&r->lock);
	metrics_bytes_out((uint64_t)n);
	return n;
}

static void listener_free(void *cls)
{
	listener *l = cls;
	stream_ring *r = l->ring;
	int last;

	pthread_mutex_lock(&r->lock);
	if (l->prev)
		l->prev->next = l->next;
	else
		r->listeners = l->next;
	if (l->next)
		l->next->prev = l->prev;
	r->n_listeners--;
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->lock);
	atomic_fetch_sub(&n_listening, 1);
	free(l);
	if (last)
		ring_free(r);
}

/* The newest unit at least TT_STREAM_START_BEHIND_MS old (the oldest when
 * all are younger). Lock held. */
static uint64_t start_position(stream_ring *r)
{
	int64_t cutoff = mono_ms() - TT_STREAM_START_BEHIND_MS;
	uint64_t pos = r->u_count ? r->units[r->u_first].off : r->end;

	for (size_t i = 0; i < r->u_count; i++) {
		const unit *u = &r->units[(r->u_first + i) % RING_UNITS];
		if (u->ms > cutoff)
			break;
		pos = u->off;
	}
	return pos;
}

/* The ring for session sid and kind with a reference taken, or NULL. */
static stream_ring *find_ring(const char *sid, const char *kind)
{
	stream_ring *r;

	pthread_mutex_lock(&registry_lock);
	for (r = registry; r; r = r->next)
		if (strcmp(r->sid, sid) == 0 && strcmp(r->kind, kind) == 0)
			break;
	if (r) {
		pthread_mutex_lock(&r->lock);
		r->refs++;
		pthread_mutex_unlock(&r->lock);
	}
	pthread_mutex_unlock(&registry_lock);
	return r;
}

static void ring_unref(stream_ring *r)
{
	int last;
	pthread_mutex_lock(&r->lock);
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->lock);
	if (last)
		ring_free(r);
}

/* "/s/ID/live.ogg" -> sid "ID", kind "live.ogg". */
static int parse_path(const char *path, char *sid, size_t sidcap, const char **kind)
{
	const char *p = path + 3, *slash = strchr(p, '/');

	if (strncmp(path, "/s/", 3) != 0 || !slash || slash == p || (size_t)(slash - p) >= sidcap)
		return 0;
	memcpy(sid, p, (size_t)(slash - p));
	sid[slash - p] = '\0';
	*kind = slash + 1;
	return strcmp(*kind, "live.ogg") == 0 || strcmp(*kind, "events") == 0;
}

enum MHD_Result listen_serve(tt_app *app, const http_request *req)
{
	const char *why = "";
	char sid[32];
	const char *kind;
	stream_ring *r;
	listener *l;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!parse_path(req->path, sid, sizeof sid, &kind))
		return http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found", "no stream %s",
					req->path);
	if (strcmp(req->method, "GET") != 0)
		return http_reply_json_hdr(req->conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					   http_error_body(MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
							   "%s is not allowed on %s (allowed: GET)",
							   req->method, req->path),
					   MHD_HTTP_HEADER_ALLOW, "GET");
	if (!auth_may_read(app, req->conn, sid, &why))
		return http_reply_error(req->conn, MHD_HTTP_FORBIDDEN, "forbidden", "%s", why);
	r = find_ring(sid, kind);
	if (!r && hub_start_wait(app, sid) == TT_OK)
		r = find_ring(sid, kind);
	if (!r)
		return http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found",
					"no session with id '%s'", sid);
	if (atomic_fetch_add(&n_listening, 1) >= TT_MAX_LISTENERS) {
		atomic_fetch_sub(&n_listening, 1);
		ring_unref(r);
		return http_reply_json_hdr(req->conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					   http_error_body(MHD_HTTP_SERVICE_UNAVAILABLE, "too_many",
							   "the server has %d listeners (TT_MAX_LISTENERS)",
							   TT_MAX_LISTENERS),
					   MHD_HTTP_HEADER_RETRY_AFTER, "10");
	}
	l = calloc(1, sizeof *l);
	resp = l ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, reader, l,
						     listener_free) : NULL;
	if (!resp) {
		free(l);
		atomic_fetch_sub(&n_listening, 1);
		ring_unref(r);
		return MHD_NO;
	}
	l->ring = r;
	l->conn = req->conn;
	l->batch_ms = app->cfg.tls_cert[0] ? TLS_BATCH_MS : 0;
	pthread_mutex_lock(&r->lock);
	l->pos = start_position(r);
	l->next = r->listeners;
	if (r->listeners)
		r->listeners->prev = l;
	r->listeners = l;
	r->n_listeners++;
	pthread_mutex_unlock(&r->lock);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, no-store");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
	ret = MHD_queue_response(req->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	log_debug("listen", "%s/%s: listener joined", sid, kind);
	return ret;
}
