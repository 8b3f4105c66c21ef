/* server/osc.c: see osc.h for the design. */
#include "server/osc.h"

#include <errno.h>
#include <lo/lo_lowlevel.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/limits.h"
#include "common/utf8.h"
#include "server/app.h"
#include "server/hub.h"
#include "server/live.h"
#include "server/live_direct.h"
#include "server/log.h"
#include "server/loop.h"
#include "server/osc_event.h"
#include "server/session.h"

/* How often the loop stores the events the render thread has played: a
 * transaction per 50 ms at most, whatever the event rate. */
#define OSC_DRAIN_MS 50
/* Rows stored in one transaction (the drain repeats until the ring is empty). */
#define OSC_STORE_BATCH 64
/* Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
#define NTP_UNIX_OFFSET 2208988800LL

typedef atomic_uint_fast64_t counter;

struct osc_in {
	tt_app *app;
	int fd, stop_fd, timer_fd;
	pthread_t thread;
	bool running;
	int port;
	/* The osc thread's: the packet being read and the events it makes. */
	uint8_t buf[65536];
	live_direct_msg batch[TT_MAX_DIRECT_PENDING];
	int n_batch;
	char source[48];
	int64_t offset_ns;       /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	int64_t now_mono_ns, now_ms;
	/* The loop's scratch for storing. */
	live_direct_done done;
	char sources[OSC_STORE_BATCH][48];
	/* Counters (GET /api/health). */
	counter received, played, late, immediate, ignored, malformed, other, refused_params,
		refused_string, refused_ahead, dropped, stored, store_errors, unreported;
};

static void inc(counter *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t get(const counter *c)
{
	return atomic_load_explicit((counter *)c, memory_order_relaxed);
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- the osc thread: packets to events ---- */

static void malformed(osc_in *o, const char *why)
{
	inc(&o->malformed, 1);
	log_debug("osc", "%s: malformed: %s", o->source, why);
}

/* The pairs of a /dirt/play message; TT_OK, or the counter it fell in. */
static int read_pairs(osc_in *o, lo_message m, osc_pair *pairs, size_t *n)
{
	int argc = lo_message_get_argc(m);
	const char *types = lo_message_get_types(m);
	lo_arg **argv = lo_message_get_argv(m);

	if (argc % 2) {
		malformed(o, "/dirt/play needs key/value pairs (an even number of arguments)");
		return TT_EINVAL;
	}
	if (argc / 2 > TT_MAX_OSC_PARAMS) {
		inc(&o->refused_params, 1);
		log_debug("osc", "%s: refused: %d pairs, more than TT_MAX_OSC_PARAMS (%d)", o->source,
			  argc / 2, TT_MAX_OSC_PARAMS);
		return TT_ELIMIT;
	}
	*n = 0;
	for (int i = 0; i < argc; i += 2) {
		osc_pair *p = &pairs[*n];
		char kt = types[i], vt = types[i + 1];
		if (kt != LO_STRING && kt != LO_SYMBOL) {
			malformed(o, "a key (argument 1, 3, 5...) is not a string");
			return TT_EINVAL;
		}
		/* A string argument starts at its lo_arg; liblo aligns arguments
		 * to 4 bytes, less than the union's own alignment, so the union's
		 * member is not named (UBSan: misaligned member access). */
		p->key = (const char *)argv[i];
		p->is_str = vt == LO_STRING || vt == LO_SYMBOL;
		p->str = p->is_str ? (const char *)argv[i + 1] : NULL;
		if (p->is_str && strlen(p->str) > TT_MAX_OSC_STRING) {
			inc(&o->refused_string, 1);
			log_debug("osc", "%s: refused: the value of '%s' is longer than "
				  "TT_MAX_OSC_STRING (%d bytes)", o->source, p->key, TT_MAX_OSC_STRING);
			return TT_ELIMIT;
		}
		if (p->is_str && !utf8_valid(p->str, strlen(p->str))) {
			malformed(o, "a string value is not UTF-8");
			return TT_EINVAL;
		}
		if (vt == LO_INT32 || vt == LO_INT64 || vt == LO_FLOAT || vt == LO_DOUBLE)
			p->num = (double)lo_hires_val((lo_type)vt, argv[i + 1]);
		else if (!p->is_str) { /* blobs, booleans, nil...: nothing tutti plays */
			inc(&o->ignored, 1);
			continue;
		}
		(*n)++;
	}
	return TT_OK;
}

/* When an event with timetag tt (NULL: not in a bundle) is due, in
 * CLOCK_MONOTONIC ns; 0 for "now"; -1 when it is too far ahead. */
static int64_t due_of(osc_in *o, const lo_timetag *tt)
{
	int64_t unix_ns, mono;

	if (!tt || (tt->sec == 0 && tt->frac == 1)) /* OSC's "immediately" */
		return 0;
	unix_ns = ((int64_t)tt->sec - NTP_UNIX_OFFSET) * 1000000000 +
		  (int64_t)(((uint64_t)tt->frac * 1000000000) >> 32);
	mono = unix_ns - o->offset_ns;
	if (mono - o->now_mono_ns > (int64_t)TT_MAX_OSC_AHEAD_MS * 1000000)
		return -1;
	return mono > 0 ? mono : 1; /* long past: late, as soon as possible */
}

static void play(osc_in *o, lo_message m, const lo_timetag *tt)
{
	osc_pair pairs[TT_MAX_OSC_PARAMS];
	live_direct_msg *msg = &o->batch[o->n_batch];
	size_t n = 0;
	int ignored = 0, rc;
	char err[128];

	inc(&o->received, 1);
	if (read_pairs(o, m, pairs, &n) != TT_OK)
		return;
	if (o->n_batch == TT_MAX_DIRECT_PENDING) {
		inc(&o->dropped, 1);
		return;
	}
	rc = osc_event_map(pairs, n, &msg->ev, &ignored, err, sizeof err);
	inc(&o->ignored, (uint64_t)ignored);
	if (rc == TT_ELIMIT) {
		inc(&o->refused_string, 1);
		log_debug("osc", "%s: refused: %s", o->source, err);
		return;
	}
	if (rc != TT_OK) {
		malformed(o, err);
		return;
	}
	msg->due_ns = due_of(o, tt);
	if (msg->due_ns < 0) {
		inc(&o->refused_ahead, 1);
		log_debug("osc", "%s: refused: timestamp more than TT_MAX_OSC_AHEAD_MS (%d ms) ahead",
			  o->source, TT_MAX_OSC_AHEAD_MS);
		return;
	}
	msg->time_ms = o->now_ms;
	memcpy(msg->source, o->source, sizeof msg->source);
	o->n_batch++;
}

static void message(osc_in *o, const uint8_t *p, size_t n, const lo_timetag *tt)
{
	int res = 0;
	lo_message m = lo_message_deserialise((void *)p, n, &res);

	if (!m) {
		char why[64];
		snprintf(why, sizeof why, "not an OSC message (liblo error %d)", res);
		malformed(o, why);
		return;
	}
	/* A deserialised message starts with its path, NUL-terminated. */
	if (strcmp((const char *)p, "/dirt/play") == 0)
		play(o, m, tt);
	else
		inc(&o->other, 1);
	lo_message_free(m);
}

/* One packet element: a message, or a bundle of elements (OSC 1.0). */
static void element(osc_in *o, const uint8_t *p, size_t n, const lo_timetag *tt, int depth)
{
	lo_timetag t;

	if (n < 8 || memcmp(p, "#bundle", 8) != 0) {
		message(o, p, n, tt);
		return;
	}
	if (depth >= TT_MAX_OSC_NESTING || n < 16) {
		malformed(o, n < 16 ? "a bundle shorter than its header" :
			  "bundles nested deeper than TT_MAX_OSC_NESTING");
		return;
	}
	t.sec = be32(p + 8);
	t.frac = be32(p + 12);
	for (size_t off = 16; off < n;) {
		uint32_t size;
		if (n - off < 4 || (size = be32(p + off)) > n - off - 4 || size % 4) {
			malformed(o, "a bundle element's size runs past the packet");
			return;
		}
		element(o, p + off + 4, size, &t, depth + 1);
		off += 4 + (size_t)size;
	}
}

typedef struct batch {
	osc_in *o;
	int n;
	live_direct_msg m[];
} batch;

static void on_batch(void *arg);

static void packet(osc_in *o, size_t n, const struct sockaddr *from, socklen_t fromlen)
{
	char host[64] = "?", serv[16] = "?";
	batch *b;

	getnameinfo(from, fromlen, host, sizeof host, serv, sizeof serv,
		    NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(o->source, sizeof o->source, "osc %s:%s", host, serv);
	o->now_mono_ns = clock_ns(CLOCK_MONOTONIC);
	o->offset_ns = clock_ns(CLOCK_REALTIME) - o->now_mono_ns;
	o->now_ms = (o->offset_ns + o->now_mono_ns) / 1000000;
	o->n_batch = 0;
	element(o, o->buf, n, NULL, 0);
	if (o->n_batch == 0)
		return;
	b = malloc(sizeof *b + (size_t)o->n_batch * sizeof b->m[0]);
	if (!b) {
		inc(&o->dropped, (uint64_t)o->n_batch);
		return;
	}
	b->o = o;
	b->n = o->n_batch;
	memcpy(b->m, o->batch, (size_t)b->n * sizeof b->m[0]);
	if (loop_post(o->app->loop, on_batch, b) != TT_OK) {
		inc(&o->dropped, (uint64_t)b->n);
		free(b);
	}
}

static void *osc_main(void *arg)
{
	osc_in *o = arg;
	struct pollfd pf[2] = { { o->fd, POLLIN, 0 }, { o->stop_fd, POLLIN, 0 } };

	for (;;) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("osc", "poll: %s", strerror(errno));
			break;
		}
		if (pf[1].revents)
			break;
		for (;;) { /* every datagram waiting */
			struct sockaddr_storage from;
			socklen_t fl = sizeof from;
			ssize_t n = recvfrom(o->fd, o->buf, sizeof o->buf, 0, (struct sockaddr *)&from,
					     &fl);
			if (n < 0)
				break;
			packet(o, (size_t)n, (struct sockaddr *)&from, fl);
		}
	}
	return NULL;
}

/* ---- the loop: into the render thread, and into the database ---- */

static void on_batch(void *arg)
{
	batch *b = arg;
	osc_in *o = b->o;
	int rc = TT_OK;
	live_session *s = session_get(o->app, o->app->cfg.osc_session, &rc);

	if (!s || (rc = hub_start(o->app, s)) != TT_OK) {
		inc(&o->dropped, (uint64_t)b->n);
		log_warn("osc", "session %s cannot play: %s", o->app->cfg.osc_session, tt_strerror(rc));
	} else {
		struct live_direct *d = live_get_direct(s->audio);
		for (int i = 0; i < b->n; i++)
			if (!live_direct_send(d, &b->m[i]))
				inc(&o->dropped, 1);
	}
	free(b);
}

/* Stores up to OSC_STORE_BATCH played events; false when none was left. */
static bool store_some(osc_in *o, live_session *s, struct live_direct *d)
{
	store_direct rows[OSC_STORE_BATCH];
	char *json[OSC_STORE_BATCH];
	size_t n = 0;
	bool any = false;

	while (n < OSC_STORE_BATCH && live_direct_pop(d, &o->done)) {
		any = true;
		if (o->done.dropped) {
			inc(&o->dropped, 1);
			continue;
		}
		inc(&o->played, 1);
		inc(&o->late, o->done.late);
		inc(&o->immediate, o->done.m.due_ns == 0);
		if (!(json[n] = osc_event_json(&o->done.m.ev))) {
			inc(&o->store_errors, 1);
			continue;
		}
		memcpy(o->sources[n], o->done.m.source, sizeof o->sources[n]);
		o->sources[n][sizeof o->sources[n] - 1] = '\0';
		rows[n] = (store_direct){ .session_id = s->id, .run_id = s->run_id,
					  .frame = o->done.frame, .source = o->sources[n],
					  .params = json[n], .time_ms = o->done.m.time_ms };
		n++;
	}
	if (n > 0) {
		pthread_mutex_lock(&o->app->store_lock);
		if (store_direct_append(o->app->st, rows, n) == TT_OK) {
			inc(&o->stored, n);
		} else {
			inc(&o->store_errors, n);
			log_error("osc", "storing %zu direct events: %s", n, store_errmsg(o->app->st));
		}
		pthread_mutex_unlock(&o->app->store_lock);
	}
	for (size_t i = 0; i < n; i++)
		free(json[i]);
	return any;
}

static void on_drain(void *arg, uint32_t events)
{
	osc_in *o = arg;
	uint64_t expirations;
	int rc;
	live_session *s;
	struct live_direct *d;

	(void)events;
	if (read(o->timer_fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
		log_warn("osc", "timer: %s", strerror(errno));
	s = session_get(o->app, o->app->cfg.osc_session, &rc);
	if (!s || !s->audio)
		return;
	d = live_get_direct(s->audio);
	while (store_some(o, s, d))
		;
	atomic_store_explicit(&o->unreported, live_direct_unreported(d), memory_order_relaxed);
}

static void install_timer(void *arg)
{
	osc_in *o = arg;
	struct itimerspec its = {
		.it_interval = { 0, OSC_DRAIN_MS * 1000000L },
		.it_value = { 0, OSC_DRAIN_MS * 1000000L },
	};

	if (timerfd_settime(o->timer_fd, 0, &its, NULL) != 0 ||
	    loop_watch(o->app->loop, o->timer_fd, EPOLLIN, on_drain, o) != TT_OK)
		log_error("osc", "cannot start the timer that stores played events: %s",
			  strerror(errno));
}

/* ---- start and stop ---- */

static int bind_udp(osc_in *o, const char *host, int port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
				  .ai_socktype = SOCK_DGRAM };
	struct addrinfo *ai = NULL;
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	char serv[16];
	int rc;

	snprintf(serv, sizeof serv, "%d", port);
	if ((rc = getaddrinfo(host, serv, &hints, &ai)) != 0) {
		snprintf(err, errlen, "osc-listen %s:%d: %s", host, port, gai_strerror(rc));
		return TT_EINVAL;
	}
	o->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (o->fd < 0 || bind(o->fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    getsockname(o->fd, (struct sockaddr *)&sa, &len) != 0) {
		snprintf(err, errlen, "osc-listen %s:%d: %s", host, port, strerror(errno));
		freeaddrinfo(ai);
		return TT_EIO;
	}
	freeaddrinfo(ai);
	o->port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port :
			((struct sockaddr_in *)&sa)->sin_port);
	return TT_OK;
}

static int session_exists(tt_app *app, char *err, size_t errlen)
{
	store_session ss;
	int rc;

	pthread_mutex_lock(&app->store_lock);
	rc = store_session_get(app->st, app->cfg.osc_session, &ss);
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK)
		snprintf(err, errlen, "osc-session: no session '%s' (%s)", app->cfg.osc_session,
			 tt_strerror(rc));
	return rc;
}

int osc_start(tt_app *app, osc_in **out, char *err, size_t errlen)
{
	osc_in *o;
	int rc;

	if ((rc = session_exists(app, err, errlen)) != TT_OK)
		return rc;
	if (!(o = calloc(1, sizeof *o))) {
		snprintf(err, errlen, "osc: out of memory");
		return TT_ENOMEM;
	}
	o->app = app;
	o->fd = o->stop_fd = o->timer_fd = -1;
	if ((rc = bind_udp(o, app->cfg.osc_host, app->cfg.osc_port, err, errlen)) != TT_OK)
		goto fail;
	o->stop_fd = eventfd(0, EFD_CLOEXEC);
	o->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	rc = TT_EIO;
	if (o->stop_fd < 0 || o->timer_fd < 0)
		goto fail_err;
	rc = TT_ENOMEM;
	if (pthread_create(&o->thread, NULL, osc_main, o) != 0)
		goto fail_err;
	o->running = true;
	/* The loop frees nothing of o's: its timer watch ends with the loop. */
	if ((rc = loop_post(app->loop, install_timer, o)) != TT_OK)
		goto fail_err;
	log_info("osc", "TidalCycles /dirt/play for session %s on udp://%s%s%s:%d",
		 app->cfg.osc_session, strchr(app->cfg.osc_host, ':') ? "[" : "", app->cfg.osc_host,
		 strchr(app->cfg.osc_host, ':') ? "]" : "", o->port);
	*out = o;
	return TT_OK;
fail_err:
	snprintf(err, errlen, "osc: cannot start: %s", tt_strerror(rc));
fail:
	osc_stop(o);
	osc_free(o);
	return rc;
}

void osc_stop(osc_in *o)
{
	uint64_t one = 1;

	if (!o || !o->running)
		return;
	if (write(o->stop_fd, &one, sizeof one) != sizeof one)
		log_error("osc", "cannot stop the osc thread: %s", strerror(errno));
	pthread_join(o->thread, NULL);
	o->running = false;
}

void osc_free(osc_in *o)
{
	if (!o)
		return;
	if (o->fd >= 0)
		close(o->fd);
	if (o->stop_fd >= 0)
		close(o->stop_fd);
	if (o->timer_fd >= 0)
		close(o->timer_fd);
	free(o);
}

int osc_port(const osc_in *o)
{
	return o->port;
}

json_t *osc_health_json(const osc_in *o)
{
	return json_pack("{s:s,s:s,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I},s:I,s:I,s:I,"
			 "s:I}",
			 "session", o->app->cfg.osc_session, "host", o->app->cfg.osc_host,
			 "port", o->port,
			 "received", (json_int_t)get(&o->received),
			 "played", (json_int_t)get(&o->played),
			 "late", (json_int_t)get(&o->late),
			 "immediate", (json_int_t)get(&o->immediate),
			 "ignored_params", (json_int_t)get(&o->ignored),
			 "malformed", (json_int_t)get(&o->malformed),
			 "other_paths", (json_int_t)get(&o->other),
			 "refused", "params", (json_int_t)get(&o->refused_params),
			 "string", (json_int_t)get(&o->refused_string),
			 "ahead", (json_int_t)get(&o->refused_ahead),
			 "dropped", (json_int_t)get(&o->dropped),
			 "stored", (json_int_t)get(&o->stored),
			 "store_errors", (json_int_t)get(&o->store_errors),
			 "unreported", (json_int_t)get(&o->unreported));
}
