/* server/hub.c: see hub.h. */
#include "server/hub.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "codec/ogg_mux.h"
#include "common/error.h"
#include "engine/drums.h"
#include "engine/sampler.h"
#include "server/app.h"
#include "server/evaluate.h"
#include "server/archive.h"
#include "server/icecast.h"
#include "server/listen.h"
#include "server/live.h"
#include "server/log.h"
#include "server/loop.h"
#include "server/rpc.h"
#include "server/ws_conn.h"

static sampler *bank;        /* the built-in kit, shared by every session */
static int timer_fd = -1;
static tt_app *hub_app;

/* Run progress is stored this often (ticks), so replay knows how far a
 * run went even when the server was killed. */
#define PROGRESS_TICKS 100

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int last_run(const store_run *r, void *arg)
{
	*(store_run *)arg = *r;
	return 0;
}

/* Records the start of a new run of s's render thread. It starts on the
 * session's clock where the wall clock says, and never before the end of
 * the previous run: session time then reads as real time since the first
 * run, with the gaps the server was down in. */
static int begin_run(tt_app *app, live_session *s, int64_t restore_upto)
{
	store_run prev = { 0 }, run = { 0 };
	int rc;

	run.session_id = s->id;
	run.started_ms = wall_ms();
	run.cps = s->cps;
	run.restore_upto = restore_upto;
	pthread_mutex_lock(&app->store_lock);
	rc = store_run_list(app->st, s->id, last_run, &prev);
	if (rc == TT_OK && prev.id) {
		int64_t by_clock = (run.started_ms - prev.started_ms) * (RENDER_RATE / 1000);
		int64_t after = prev.last_frame + RENDER_BLOCK;
		run.start_frame = prev.start_frame + (by_clock > after ? by_clock : after);
	}
	if (rc == TT_OK)
		rc = store_run_begin(app->st, &run);
	if (rc != TT_OK)
		log_error("hub", "%s: the run cannot be recorded (replay will miss it): %s", s->id,
			  store_errmsg(app->st));
	pthread_mutex_unlock(&app->store_lock);
	s->run_id = rc == TT_OK ? run.id : 0;
	s->run_start_frame = run.start_frame;
	s->run_saved_frame = 0;
	return rc;
}

static void save_progress(tt_app *app, live_session *s)
{
	int64_t f = live_frame(s->audio);

	if (!s->run_id || f == s->run_saved_frame)
		return;
	pthread_mutex_lock(&app->store_lock);
	if (store_run_progress(app->st, s->run_id, f) == TT_OK)
		s->run_saved_frame = f;
	pthread_mutex_unlock(&app->store_lock);
}

/* --capture-pcm: the run's rendered mix, block by block at its frame. */
static void open_capture(tt_app *app, live_session *s)
{
	char path[PATH_MAX + 64];

	s->pcm_fd = -1;
	if (!app->cfg.capture_pcm_dir[0])
		return;
	snprintf(path, sizeof path, "%s/%s-%lld.f32", app->cfg.capture_pcm_dir, s->id,
		 (long long)s->run_id);
	s->pcm_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (s->pcm_fd < 0)
		log_error("hub", "%s: --capture-pcm: cannot open %s: %s", s->id, path,
			  strerror(errno));
}

static void drain_pcm(live_session *s)
{
	live_pcm b;

	while (live_pop_pcm(s->audio, &b))
		if (s->pcm_fd >= 0 &&
		    pwrite(s->pcm_fd, b.pcm, sizeof b.pcm, (off_t)b.frame * 2 * sizeof(float)) !=
			    (ssize_t)sizeof b.pcm) {
			log_error("hub", "%s: --capture-pcm: write failed: %s", s->id,
				  strerror(errno));
			close(s->pcm_fd);
			s->pcm_fd = -1;
		}
}

int hub_start(tt_app *app, live_session *s)
{
	oggmux_config mc;
	const uint8_t *head;
	size_t head_len;

	if (s->audio)
		return TT_OK;
	s->cps = evaluate_stored_cps(app, s);
	oggmux_config_default(&mc);
	/* 100 ms pages: listeners' cost is per page, not per byte (bench/fanout:
	 * about a fifth of the CPU and 1.05x wire overhead instead of 1.27x),
	 * and they start 300 ms behind live anyway. */
	mc.page_samples = 4800;
	if (oggmux_new(&mc, &s->mux) != TT_OK)
		return TT_ENOMEM;
	oggmux_headers(s->mux, &head, &head_len);
	s->ogg = stream_ring_new(s->id, "live.ogg", "audio/ogg", head, head_len);
	s->events = stream_ring_new(s->id, "events", "text/event-stream", ":tutti annotations\n\n",
				    20);
	live_config lc = { .bank = bank, .cps = s->cps,
			   .capture_pcm = app->cfg.capture_pcm_dir[0] != '\0' };
	s->pcm_fd = -1;
	if (!s->ogg || !s->events || live_start(&lc, &s->audio) != TT_OK) {
		hub_stop(s);
		return TT_ENOMEM;
	}
	if (!live_realtime(s->audio))
		log_debug("hub", "%s: no real-time priority for the render thread", s->id);
	if (strcmp(app->cfg.icecast_session, s->id) == 0) {
		char err[256];
		if (icecast_start(app->cfg.icecast_url, head, head_len, &s->icecast, err,
				  sizeof err) != TT_OK)
			log_error("hub", "%s: no Icecast output: %s", s->id, err);
	}
	log_info("hub", "%s: sound started at %g cps", s->id, s->cps);
	begin_run(app, s, evaluate_restore(app, s));
	open_capture(app, s);
	s->archive = archive_open(s->id, s->run_id, &mc);
	return TT_OK;
}

void hub_stop(live_session *s)
{
	if (s->audio) {
		/* Where the run got to, before its frame counter goes with it
		 * (a block may still follow: replay then stops a block short). */
		if (hub_app)
			save_progress(hub_app, s);
		live_stop(s->audio);
		s->audio = NULL;
	}
	if (s->pcm_fd >= 0)
		close(s->pcm_fd);
	s->pcm_fd = -1;
	s->run_id = 0;
	evaluate_forget(s);
	icecast_stop(s->icecast);
	s->icecast = NULL;
	archive_close(s->archive); /* the writer finishes its file */
	s->archive = NULL;
	stream_ring_close(s->ogg);
	stream_ring_close(s->events);
	s->ogg = s->events = NULL;
	oggmux_free(s->mux);
	s->mux = NULL;
	/* The render thread has let go of everything: the installed table
	 * was freed by live_stop, the newest one is it or was returned. */
	s->table = s->installed = NULL;
}

/* ---- hub_start_wait: from libmicrohttpd's thread ---- */

typedef struct start_req {
	tt_app *app;
	char sid[32];
	int rc;
	int done;
	int refs;               /* the waiter's and the loop task's */
	pthread_mutex_t lock;
	pthread_cond_t cond;
} start_req;

/* Whoever lets go last frees q: the waiter gives up after a second, and
 * the loop may run the task later (the sanitizer build saw the leak). */
static void start_req_unref(start_req *q)
{
	int last;

	pthread_mutex_lock(&q->lock);
	last = --q->refs == 0;
	pthread_mutex_unlock(&q->lock);
	if (last) {
		pthread_mutex_destroy(&q->lock);
		pthread_cond_destroy(&q->cond);
		free(q);
	}
}

static void start_on_loop(void *arg)
{
	start_req *q = arg;
	live_session *s = session_get(q->app, q->sid, &q->rc);

	if (s)
		q->rc = hub_start(q->app, s);
	pthread_mutex_lock(&q->lock);
	q->done = 1;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	start_req_unref(q);
}

int hub_start_wait(tt_app *app, const char *sid)
{
	start_req *q = calloc(1, sizeof *q);
	struct timespec until;
	int rc = TT_EAGAIN, done;

	if (!q)
		return TT_ENOMEM;
	q->app = app;
	q->refs = 2;
	snprintf(q->sid, sizeof q->sid, "%s", sid);
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	if (loop_post(app->loop, start_on_loop, q) != TT_OK) {
		free(q);
		return TT_ECLOSED;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	pthread_mutex_lock(&q->lock);
	while (!q->done && pthread_cond_timedwait(&q->cond, &q->lock, &until) != ETIMEDOUT)
		;
	done = q->done;
	if (done)
		rc = q->rc;
	pthread_mutex_unlock(&q->lock);
	start_req_unref(q);
	return rc;
}

/* ---- the periodic drain ---- */

static void send_audio(live_session *s, const live_packet *p)
{
	uint8_t msg[8 + TT_MAX_OPUS_PACKET];
	uint64_t f = (uint64_t)p->frame;

	for (int i = 0; i < 8; i++)
		msg[i] = (uint8_t)(f >> (8 * i));
	memcpy(msg + 8, p->data, p->len);
	for (rpc_state *m = s->members; m; ) {
		rpc_state *next = m->next_member;
		if (m->audio)
			ws_conn_send_binary(m->wc, msg, 8 + (size_t)p->len);
		m = next;
	}
}

static void drain_packets(live_session *s)
{
	static uint8_t page[OGGMUX_MAX_PUSH_OUT];
	live_packet p;
	size_t n;

	while (live_pop_packet(s->audio, &p)) {
		if (oggmux_push(s->mux, p.data, p.len, p.granule, false, page, sizeof page, &n) ==
		    TT_OK && n > 0) {
			stream_ring_append(s->ogg, page, n);
			if (s->icecast)
				icecast_push(s->icecast, page, n);
		}
		archive_push(s->archive, &p);
		send_audio(s, &p);
	}
}

/* Sends one batch of annotations (one frame) to members and SSE. */
static void flush_annos(live_session *s, json_t *batch, int64_t frame)
{
	json_t *msg;
	char *text;

	if (json_array_size(batch) == 0)
		return;
	msg = json_pack("{s:s,s:I,s:O}", "type", "anno", "frame", (json_int_t)frame, "events",
			batch);
	text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!text)
		return;
	for (rpc_state *m = s->members; m; ) {
		rpc_state *next = m->next_member;
		ws_conn_send_text(m->wc, text, strlen(text));
		m = next;
	}
	{
		size_t len = strlen(text);
		char *sse = malloc(len + 32);
		if (sse) {
			int k = snprintf(sse, len + 32, "event: anno\ndata: %s\n\n", text);
			if (k > 0)
				stream_ring_append(s->events, sse, (size_t)k);
			free(sse);
		}
	}
	free(text);
	json_array_clear(batch);
}

static void drain_annos(live_session *s)
{
	json_t *batch = json_array();
	int64_t frame = -1;
	live_anno a;

	while (live_pop_anno(s->audio, &a)) {
		json_t *value;
		if (a.frame != frame) {
			flush_annos(s, batch, frame);
			frame = a.frame;
		}
		value = json_loads(a.value, 0, NULL);
		json_array_append_new(batch,
				      json_pack("{s:I,s:I,s:I,s:[I,I],s:f,s:i,s:o}", "doc",
						(json_int_t)a.doc_id, "rev", (json_int_t)a.rev, "eval",
						(json_int_t)a.eval_id, "range", (json_int_t)a.start,
						(json_int_t)a.end, "dur", (double)a.dur, "track",
						(int)a.track, "value", value ? value : json_object()));
	}
	flush_annos(s, batch, frame);
	json_decref(batch);
}

static void tell_listener_count(live_session *s)
{
	/* A listener page opens the Ogg stream and the events: count people
	 * by the sound they take. */
	int n = stream_ring_listeners(s->ogg);
	json_t *msg;

	if (n == s->last_listeners)
		return;
	s->last_listeners = n;
	msg = json_pack("{s:s,s:i}", "type", "listeners", "count", n);
	session_broadcast(s, msg, NULL);
	json_decref(msg);
}

static void on_tick(void *arg, uint32_t events)
{
	tt_app *app = arg;
	uint64_t expirations;
	live_report r;
	static uint64_t ticks;

	(void)events;
	if (read(timer_fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
		log_warn("hub", "timer: %s", strerror(errno));
	for (live_session *s = session_all(); s; s = s->next) {
		if (!s->audio)
			continue;
		while (live_pop_report(s->audio, &r))
			evaluate_on_report(app, s, &r);
		drain_packets(s);
		drain_annos(s);
		drain_pcm(s);
		tell_listener_count(s);
		if (ticks % PROGRESS_TICKS == 0)
			save_progress(app, s);
	}
	ticks++;
}

static void install_timer(void *arg)
{
	tt_app *app = arg;
	struct itimerspec its = {
		.it_interval = { 0, HUB_TICK_MS * 1000000L },
		.it_value = { 0, HUB_TICK_MS * 1000000L },
	};

	timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (timer_fd < 0 || timerfd_settime(timer_fd, 0, &its, NULL) != 0 ||
	    loop_watch(app->loop, timer_fd, EPOLLIN, on_tick, app) != TT_OK)
		log_error("hub", "cannot start the hub's timer: %s", strerror(errno));
	if (app->cfg.icecast_session[0]) {
		/* An Icecast output is on air from the start, not on demand. */
		int rc;
		live_session *s = session_get(app, app->cfg.icecast_session, &rc);
		if (!s || hub_start(app, s) != TT_OK)
			log_error("hub", "--icecast: no session '%s' to put on air",
				  app->cfg.icecast_session);
	}
}

int hub_init(tt_app *app)
{
	hub_app = app;
	int rc = sampler_new(&bank);

	if (rc == TT_OK)
		rc = drums_build(bank);
	if (rc != TT_OK) {
		log_error("hub", "cannot build the drum kit: %s", tt_strerror(rc));
		return rc;
	}
	rc = archive_init(app);
	if (rc != TT_OK)
		return rc;
	return loop_post(app->loop, install_timer, app);
}

const sampler *hub_bank(void)
{
	return bank;
}

void hub_fini(void)
{
	archive_fini(); /* the sessions have closed their archives */
	if (timer_fd >= 0)
		close(timer_fd);
	timer_fd = -1;
	sampler_free(bank);
	bank = NULL;
}
