/* server/live.c: see live.h for the design and its invariants. */
#include "server/live.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/opus_enc.h"
#include "common/error.h"
#include "engine/fx.h"
#include "engine/render.h"
#include "engine/rtguard.h"
#include "server/control.h"
#include "server/live_direct.h"
#include "server/metrics.h"
#include "server/spsc.h"

/* How far ahead of the clock the thread renders: one 20 ms block (plus the
 * limiter's 1.3 ms look-ahead). Performers hear a change that much sooner;
 * Strudel schedules 100 ms ahead, Tidal 150 to 250 ms. A late block is
 * counted (GET /api/health) and the clients' jitter buffers absorb it. */
#define LEAD_BLOCKS 1
/* Ring sizes: packets and annotations for about 5 s if the loop stalls. */
#define PACKET_SLOTS 256
#define ANNO_SLOTS 4096
#define CMD_SLOTS 64
#define REPORT_SLOTS 256
/* --capture-pcm: about 2.5 s of blocks (15 kB each) if the loop stalls. */
#define PCM_SLOTS 128
/* SCHED_FIFO priority of render threads: above every normal thread, low
 * among real-time ones (audio servers such as JACK use 70 and up). */
#define RENDER_RT_PRIORITY 10

struct live {
	render *r;
	opusenc *enc;
	track_table *cur;          /* installed; the render thread's */
	spsc cmds, reports, packets, annos;
	live_direct *direct;       /* OSC events in and out (live_direct.h) */
	spsc pcms;                 /* capture_pcm only */
	bool capture_pcm;
	bool realtime;
	live_pcm cap;              /* scratch for the capture */
	pthread_t thread;
	atomic_bool running;
	_Atomic int64_t frame;
	live_stats st;             /* written by the render thread */
	track_table *unreturned;   /* a retired table the full ring refused */
	float pcm[2 * RENDER_BLOCK];
	uint8_t pkt[TT_MAX_OPUS_PACKET];
	char value[96];            /* scratch for annotate() */
};

static atomic_uint_fast64_t total_running, total_blocks, total_late, total_dropped;

void live_totals_get(live_totals *out)
{
	out->running = atomic_load_explicit(&total_running, memory_order_relaxed);
	out->blocks = atomic_load_explicit(&total_blocks, memory_order_relaxed);
	out->late_blocks = atomic_load_explicit(&total_late, memory_order_relaxed);
	out->dropped = atomic_load_explicit(&total_dropped, memory_order_relaxed);
}

static void count(atomic_uint_fast64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static void report(live *l, const live_report *r)
{
	if (!spsc_push(&l->reports, r))
		l->st.dropped_reports++;
}

/* The earliest frame a change can take effect at: the first frame not yet
 * scheduled (the render schedules FX_LIMITER_LOOKAHEAD frames ahead of
 * its output). */
static int64_t earliest(live *l)
{
	return render_frame(l->r) + FX_LIMITER_LOOKAHEAD;
}

/* The landing cycle and frame for a quantum. */
static int landing(live *l, live_quantum q, int64_t every, tt_rat *cyc, int64_t *frame)
{
	sched *s = render_sched(l->r);
	int64_t e = earliest(l);
	tt_rat c;
	int rc = sched_cycle_at(s, e, &c);

	if (rc != TT_OK)
		return rc;
	if (q == LIVE_AT_NOW) {
		*cyc = c;
		*frame = e;
		return TT_OK;
	}
	if (q == LIVE_AT_EVERY && every > 1) {
		int64_t k = rat_ceil(c);
		k = (k + every - 1) / every * every;
		*cyc = TT_RAT(k, 1);
	} else {
		*cyc = TT_RAT(rat_ceil(c), 1);
	}
	rc = sched_frame_at(s, *cyc, frame);
	if (rc == TT_OK && *frame < e)
		*frame = e;
	return rc;
}

static void install_table(live *l, const live_cmd *c)
{
	live_report r = { .kind = LIVE_REP_LANDED, .token = c->token,
			  .applied = render_frame(l->r) };
	sched_source src;

	if (landing(l, c->quantum, c->every, &r.cycle, &r.frame) != TT_OK) {
		r.kind = LIVE_REP_FAILED;
		r.table = c->table; /* give it back unused */
		report(l, &r);
		return;
	}
	tracks_land(c->table, r.cycle, r.frame);
	tracks_source(c->table, &src);
	render_set_source(l->r, &src);
	report(l, &r);
	if (l->cur) {
		live_report back = { .kind = LIVE_REP_RETIRED, .table = l->cur };
		if (!spsc_push(&l->reports, &back))
			l->unreturned = l->cur; /* retried every block (invariant 2) */
	}
	l->cur = c->table;
}

static void set_tempo(live *l, const live_cmd *c)
{
	live_report r = { .kind = LIVE_REP_TEMPO, .token = c->token,
			  .applied = render_frame(l->r) };
	sched *s = render_sched(l->r);

	if (landing(l, LIVE_AT_CYCLE, 0, &r.cycle, &r.frame) != TT_OK ||
	    sched_set_cps(s, r.frame, c->cps) != TT_OK) {
		r.kind = LIVE_REP_FAILED;
		report(l, &r);
		return;
	}
	r.cps = s->seg[s->n_seg - 1].cps;
	report(l, &r);
}

static void apply_commands(live *l)
{
	live_cmd c;

	if (l->unreturned) {
		live_report back = { .kind = LIVE_REP_RETIRED, .table = l->unreturned };
		if (spsc_push(&l->reports, &back))
			l->unreturned = NULL;
	}
	while (!l->unreturned && spsc_pop(&l->cmds, &c)) {
		switch (c.kind) {
		case LIVE_CMD_TABLE:
			install_table(l, &c);
			break;
		case LIVE_CMD_TEMPO:
			set_tempo(l, &c);
			break;
		case LIVE_CMD_HUSH:
		case LIVE_CMD_MUTE:
		case LIVE_CMD_SOLO:
			control_apply(l->r, c.kind == LIVE_CMD_HUSH ? CONTROL_HUSH :
					    c.kind == LIVE_CMD_MUTE ? CONTROL_MUTE : CONTROL_SOLO,
				      c.name, c.on);
			report(l, &(live_report){ .kind = LIVE_REP_CONTROL, .token = c.token,
						  .applied = render_frame(l->r) });
			break;
		}
	}
}

/* A small writer into a fixed buffer, for the render thread: no printf
 * (glibc's float formatting may allocate). ok drops to 0 when full. */
typedef struct jbuf {
	char *p;
	size_t n, cap;
	int ok;
} jbuf;

static void jput(jbuf *b, const char *s, size_t len)
{
	if (!b->ok || b->n + len + 1 > b->cap) {
		b->ok = 0;
		return;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
}

static void jputs(jbuf *b, const char *s)
{
	jput(b, s, strlen(s));
}

static void jint(jbuf *b, uint64_t v)
{
	char d[24];
	int k = 0;
	do {
		d[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k)
		jput(b, &d[--k], 1);
}

/* A number with up to 6 decimals; magnitudes past 1e15 are written as
 * 1e15 (control values that large are clamped by the synth anyway). */
static void jnum(jbuf *b, double x)
{
	uint64_t whole, frac;
	char fd[7];

	if (!isfinite(x))
		x = 0;
	if (x < 0) {
		jput(b, "-", 1);
		x = -x;
	}
	if (x > 1e15)
		x = 1e15;
	whole = (uint64_t)x;
	frac = (uint64_t)((x - (double)whole) * 1e6 + 0.5);
	if (frac >= 1000000) {
		whole++;
		frac -= 1000000;
	}
	jint(b, whole);
	if (frac) {
		for (int i = 5; i >= 0; i--, frac /= 10)
			fd[i] = (char)('0' + frac % 10);
		int k = 6;
		while (fd[k - 1] == '0')
			k--;
		jput(b, ".", 1);
		jput(b, fd, (size_t)k);
	}
}

/* Writes ev's fields as a JSON object into out, as many whole fields as
 * fit; strings that would need escaping are left out. Render thread. */
static void value_json(const tt_event *ev, char *out, size_t cap)
{
	jbuf b = { out, 0, cap - 1, 1 }; /* keeps one byte for the closing brace */
	size_t good;
	int first = 1;

	jput(&b, "{", 1);
	good = b.n;
	for (uint32_t i = 0; i < ev->n_fields && b.ok; i++) {
		const tt_field *f = &ev->fields[i];
		if (!f->key || (f->kind == TT_V_STR && (strpbrk(f->str, "\"\\\n\r\t") ||
						       strlen(f->str) > 40)))
			continue;
		jputs(&b, first ? "\"" : ",\"");
		jputs(&b, f->key);
		jputs(&b, "\":");
		if (f->kind == TT_V_STR) {
			jput(&b, "\"", 1);
			jputs(&b, f->str);
			jput(&b, "\"", 1);
		} else if (f->kind == TT_V_BOOL) {
			jputs(&b, f->num != 0 ? "true" : "false");
		} else {
			jnum(&b, f->num);
		}
		if (b.ok) {
			good = b.n;
			first = 0;
		}
	}
	/* Cut back to the last whole field; room for "}" is always kept. */
	out[good] = '}';
	out[good + 1] = '\0';
}

/* Copies the block's onsets out as annotations, one per source token. */
static void annotate(live *l)
{
	const sched_onset *o;
	size_t n = render_onsets(l->r, &o);

	for (size_t i = 0; i < n && l->cur; i++) {
		const track_entry *e;
		if (o[i].track >= l->cur->n)
			continue;
		e = &l->cur->e[o[i].track];
		value_json(o[i].ev, l->value, sizeof l->value);
		for (uint32_t k = 0; k < o[i].ev->n_locs; k++) {
			live_anno a = {
				.frame = o[i].frame, .doc_id = e->doc_id, .rev = e->rev,
				.eval_id = e->eval_id,
				.start = e->code_base + o[i].ev->locs[k].start,
				.end = e->code_base + o[i].ev->locs[k].end,
				.dur = (float)o[i].dur_sec, .track = (uint16_t)o[i].track,
			};
			memcpy(a.value, l->value, sizeof a.value);
			if (!spsc_push(&l->annos, &a)) {
				l->st.dropped_annos++;
				count(&total_dropped);
			}
		}
	}
}

static void capture(live *l, int64_t frame)
{
	l->cap.frame = frame;
	memcpy(l->cap.pcm, l->pcm, sizeof l->cap.pcm);
	if (!spsc_push(&l->pcms, &l->cap))
		count(&total_dropped);
}

static void encode(live *l)
{
	opusenc_packet p;
	live_packet out;

	if (opusenc_encode(l->enc, l->pcm, l->pkt, sizeof l->pkt, &p) != TT_OK)
		return;
	out.frame = p.frame;
	out.granule = p.granule;
	out.len = (uint16_t)p.len;
	memcpy(out.data, p.data, (size_t)p.len);
	if (!spsc_push(&l->packets, &out)) {
		l->st.dropped_packets++;
		count(&total_dropped);
	}
}

static void add_ns(struct timespec *t, int64_t ns)
{
	t->tv_nsec += ns;
	while (t->tv_nsec >= 1000000000) {
		t->tv_nsec -= 1000000000;
		t->tv_sec++;
	}
}

static void *render_main(void *arg)
{
	live *l = arg;
	struct timespec next, now;
	const int64_t block_ns = (int64_t)RENDER_BLOCK * 1000000000 / RENDER_RATE;

	/* The first LEAD_BLOCKS blocks are rendered at once; from then on
	 * block b is rendered at start + (b - LEAD_BLOCKS) blocks, so the
	 * output stays LEAD_BLOCKS ahead of the clock. */
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (int64_t b = 0; atomic_load(&l->running); b++) {
		if (b >= LEAD_BLOCKS) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > next.tv_sec ||
			    (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec + block_ns)) {
				l->st.late_blocks++;
				count(&total_late);
			}
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
				;
			add_ns(&next, block_ns);
		}
		/* Everything a block does runs under the guard: in a debug build
		 * (--enable-debug links the hooks) malloc, free or a lock here
		 * aborts the server, naming the call. */
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0); /* vDSO: no syscall, no lock */
		rtguard_enter();
		apply_commands(l);
		live_direct_block(l->direct, l->r);
		int64_t f0 = render_frame(l->r);
		render_block(l->r, l->pcm, RENDER_BLOCK);
		annotate(l);
		if (l->capture_pcm)
			capture(l, f0);
		encode(l);
		rtguard_leave();
		clock_gettime(CLOCK_MONOTONIC, &t1);
		metrics_render_busy((uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL +
					       (t1.tv_nsec - t0.tv_nsec)));
		l->st.blocks++;
		count(&total_blocks);
		atomic_store(&l->frame, render_frame(l->r));
	}
	return NULL;
}

/* What live_start made, freed (the thread is not running). */
static void free_parts(live *l)
{
	render_free(l->r);
	opusenc_free(l->enc);
	spsc_fini(&l->cmds);
	spsc_fini(&l->reports);
	spsc_fini(&l->packets);
	spsc_fini(&l->annos);
	spsc_fini(&l->pcms);
	live_direct_free(l->direct);
	free(l);
}

/* Starts the render thread at SCHED_FIFO priority where allowed (root or
 * CAP_SYS_NICE, and RLIMIT_RTPRIO), else as a normal thread. */
static int start_thread(live *l)
{
	pthread_attr_t at;
	struct sched_param sp = { .sched_priority = RENDER_RT_PRIORITY };
	int rc = -1;

	if (pthread_attr_init(&at) == 0) {
		if (pthread_attr_setinheritsched(&at, PTHREAD_EXPLICIT_SCHED) == 0 &&
		    pthread_attr_setschedpolicy(&at, SCHED_FIFO) == 0 &&
		    pthread_attr_setschedparam(&at, &sp) == 0)
			rc = pthread_create(&l->thread, &at, render_main, l);
		pthread_attr_destroy(&at);
	}
	l->realtime = rc == 0;
	if (rc != 0)
		rc = pthread_create(&l->thread, NULL, render_main, l);
	return rc;
}

int live_start(const live_config *cfg, live **out)
{
	live *l = calloc(1, sizeof *l);
	render_config rc;
	opusenc_config oc;

	if (!l)
		return TT_ENOMEM;
	render_config_default(&rc);
	rc.bank = cfg->bank;
	rc.cps = cfg->cps;
	l->capture_pcm = cfg->capture_pcm;
	opusenc_config_default(&oc);
	if (render_new(&rc, &l->r) != TT_OK || opusenc_new(&oc, &l->enc) != TT_OK ||
	    spsc_init(&l->cmds, sizeof(live_cmd), CMD_SLOTS) != TT_OK ||
	    spsc_init(&l->reports, sizeof(live_report), REPORT_SLOTS) != TT_OK ||
	    spsc_init(&l->packets, sizeof(live_packet), PACKET_SLOTS) != TT_OK ||
	    spsc_init(&l->annos, sizeof(live_anno), ANNO_SLOTS) != TT_OK ||
	    live_direct_new(&l->direct) != TT_OK ||
	    (l->capture_pcm && spsc_init(&l->pcms, sizeof(live_pcm), PCM_SLOTS) != TT_OK))
		goto fail;
	atomic_store(&l->running, true);
	if (start_thread(l) != 0)
		goto fail;
	count(&total_running);
	*out = l;
	return TT_OK;
fail:
	free_parts(l);
	return TT_ENOMEM;
}

void live_stop(live *l)
{
	live_cmd c;
	live_report r;

	if (!l)
		return;
	atomic_store(&l->running, false);
	pthread_join(l->thread, NULL);
	atomic_fetch_sub_explicit(&total_running, 1, memory_order_relaxed);
	/* Everything the thread held is the loop's now (invariant 2). */
	while (spsc_pop(&l->cmds, &c))
		if (c.kind == LIVE_CMD_TABLE)
			tracks_free(c.table);
	while (spsc_pop(&l->reports, &r))
		if (r.kind == LIVE_REP_RETIRED || r.kind == LIVE_REP_FAILED)
			tracks_free(r.table);
	tracks_free(l->unreturned);
	tracks_free(l->cur);
	free_parts(l);
}

bool live_send(live *l, const live_cmd *c)
{
	return spsc_push(&l->cmds, c);
}

bool live_pop_packet(live *l, live_packet *p)
{
	return spsc_pop(&l->packets, p);
}

bool live_pop_anno(live *l, live_anno *a)
{
	return spsc_pop(&l->annos, a);
}

bool live_pop_report(live *l, live_report *r)
{
	return spsc_pop(&l->reports, r);
}

live_direct *live_get_direct(live *l)
{
	return l->direct;
}

bool live_pop_pcm(live *l, live_pcm *p)
{
	return l->capture_pcm && spsc_pop(&l->pcms, p);
}

bool live_realtime(const live *l)
{
	return l->realtime;
}

int64_t live_frame(const live *l)
{
	return atomic_load(&((live *)l)->frame);
}

void live_stats_get(const live *l, live_stats *out)
{
	*out = l->st;
}
