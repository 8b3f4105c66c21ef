/* server/replay.c: see replay.h. */
#include "server/replay.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "engine/fx.h"
#include "engine/program.h"
#include "engine/sched.h"
#include "server/control.h"
#include "server/osc_event.h"
#include "server/restore.h"
#include "server/tracks.h"

/* In the order live applies them within a block: commands (their relative
 * order does not matter, see replay_open), then direct events. */
typedef enum item_kind { ITEM_CONTROL, ITEM_TEMPO, ITEM_EVAL, ITEM_DIRECT } item_kind;

/* One change, applied before the render block at run frame `applied`. */
typedef struct item {
	size_t run;               /* index in rp->runs */
	int64_t applied;
	item_kind kind;
	int64_t id;               /* order among changes of its kind */
	/* ITEM_EVAL: the code; ITEM_DIRECT: the event as JSON (osc_event.h) */
	char *code;
	size_t code_len;
	int64_t doc_id, rev, range_from, built_frame;
	char doc_name[TT_MAX_DOC_NAME + 1];
	bool whole;
	/* ITEM_EVAL (landing), ITEM_TEMPO */
	int64_t frame;
	tt_rat cycle;
	tt_rat cps;
	/* ITEM_CONTROL */
	control_kind control;
	char track[64];
	bool on;
} item;

typedef struct run_span {
	store_run run;
	int64_t frames;           /* how far it rendered (whole blocks) */
	track_table *restore;     /* its start table, or NULL */
} run_span;

typedef struct author_of {
	int64_t eval_id;
	char *author;
} author_of;

struct replay {
	const sampler *bank;
	run_span *runs;
	size_t n_runs;
	item *items;
	size_t n_items;
	author_of *authors;       /* by eval id, ascending */
	size_t n_authors;
	replay_stem stem;
	char *stem_name;
	int64_t from, to, end;

	/* where reading is */
	int64_t pos;              /* next session frame to return */
	size_t ri;                /* run being rendered */
	render *r;
	size_t next_item;
	track_table *full;        /* the table live had, for building the next */
	track_table *installed;   /* what plays: full, or its stem */
	float blk[2 * RENDER_BLOCK];
	int64_t blk_frame;        /* run frame of blk, or -1 */
	int64_t done, total;
};

static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- loading ---- */

typedef struct loader {
	replay *rp;
	store *st;
	int rc;
	size_t cap_items, cap_runs, cap_authors;
} loader;

/* Makes room for one more element of size bytes in *arr (n used, *cap
 * allocated, doubling from first); TT_ENOMEM on failure. */
static int grow(void *arr, size_t n, size_t *cap, size_t size, size_t first)
{
	void **p = arr, *q;
	size_t c;

	if (n < *cap)
		return TT_OK;
	c = *cap ? 2 * *cap : first;
	if (!(q = realloc(*p, c * size)))
		return TT_ENOMEM;
	*p = q;
	*cap = c;
	return TT_OK;
}

static item *new_item(loader *ld)
{
	replay *rp = ld->rp;
	if (grow(&rp->items, rp->n_items, &ld->cap_items, sizeof rp->items[0], 64) != TT_OK)
		return NULL;
	memset(&rp->items[rp->n_items], 0, sizeof rp->items[0]);
	return &rp->items[rp->n_items++];
}

/* The index of run id in rp->runs, or -1. */
static long run_index(const replay *rp, int64_t run_id)
{
	for (size_t i = 0; i < rp->n_runs; i++)
		if (rp->runs[i].run.id == run_id)
			return (long)i;
	return -1;
}

/* A new change of run run_id applied at `applied`, or NULL (with *skip
 * when it belongs to no recorded run, else out of memory). */
static item *add_item(loader *ld, int64_t run_id, int64_t applied, item_kind kind, int64_t id,
		      bool *skip)
{
	long ri = run_id ? run_index(ld->rp, run_id) : -1;
	item *it;

	*skip = ri < 0;
	if (*skip || !(it = new_item(ld)))
		return NULL;
	it->run = (size_t)ri;
	it->applied = applied;
	it->kind = kind;
	it->id = id;
	return it;
}

static int load_run(const store_run *r, void *arg)
{
	loader *ld = arg;
	replay *rp = ld->rp;

	if (grow(&rp->runs, rp->n_runs, &ld->cap_runs, sizeof rp->runs[0], 8) != TT_OK)
		return ld->rc = TT_ENOMEM;
	memset(&rp->runs[rp->n_runs], 0, sizeof rp->runs[0]);
	rp->runs[rp->n_runs].run = *r;
	rp->runs[rp->n_runs].run.session_id = NULL;
	/* Live renders whole blocks: a run ends at a block boundary. */
	rp->runs[rp->n_runs].frames = (r->last_frame + RENDER_BLOCK - 1) / RENDER_BLOCK *
				      RENDER_BLOCK;
	rp->n_runs++;
	return 0;
}

static int load_eval(const store_eval *ev, void *arg)
{
	loader *ld = arg;
	replay *rp = ld->rp;
	store_doc doc;
	bool skip;
	item *it;

	if (grow(&rp->authors, rp->n_authors, &ld->cap_authors, sizeof rp->authors[0], 64) !=
	    TT_OK)
		return ld->rc = TT_ENOMEM;
	rp->authors[rp->n_authors].eval_id = ev->id;
	if (!(rp->authors[rp->n_authors].author = strdup(ev->author)))
		return ld->rc = TT_ENOMEM;
	rp->n_authors++;
	if (!ev->ok)
		return 0;
	if (!(it = add_item(ld, ev->run_id, ev->applied_frame, ITEM_EVAL, ev->id, &skip)))
		return skip ? 0 : (ld->rc = TT_ENOMEM);
	if (!(it->code = malloc(ev->code_len + 1))) {
		rp->n_items--;
		return ld->rc = TT_ENOMEM;
	}
	memcpy(it->code, ev->code, ev->code_len);
	it->code[ev->code_len] = '\0';
	it->code_len = ev->code_len;
	it->doc_id = ev->doc_id;
	it->rev = ev->revision;
	it->range_from = ev->range_from;
	it->built_frame = ev->built_frame;
	it->whole = ev->result && strcmp(ev->result, "whole") == 0;
	it->frame = ev->landing_frame;
	it->cycle = TT_RAT(ev->cycle_n, ev->cycle_d);
	if (store_doc_get(ld->st, ev->doc_id, &doc) == TT_OK)
		snprintf(it->doc_name, sizeof it->doc_name, "%s", doc.name);
	else
		snprintf(it->doc_name, sizeof it->doc_name, "doc%lld", (long long)ev->doc_id);
	return 0;
}

static int load_tempo(const store_tempo *t, void *arg)
{
	loader *ld = arg;
	bool skip;
	item *it = add_item(ld, t->run_id, t->applied_frame, ITEM_TEMPO, t->id, &skip);

	if (!it)
		return skip ? 0 : (ld->rc = TT_ENOMEM);
	it->frame = t->frame;
	it->cps = TT_RAT(t->cps_n, t->cps_d);
	return 0;
}

static int load_control(const store_control *c, void *arg)
{
	loader *ld = arg;
	int k = control_parse(c->kind);
	bool skip;
	item *it;

	if (k < 0)
		return 0;
	if (!(it = add_item(ld, c->run_id, c->applied_frame, ITEM_CONTROL, c->id, &skip)))
		return skip ? 0 : (ld->rc = TT_ENOMEM);
	it->control = (control_kind)k;
	snprintf(it->track, sizeof it->track, "%s", c->track);
	it->on = c->on;
	return 0;
}

/* An event played from outside the patterns (OSC): live gave it to the
 * render (render_trigger) before the block whose window holds the frame it
 * sounded at. */
static int load_direct(const store_direct *d, void *arg)
{
	loader *ld = arg;
	int64_t b = (d->frame - FX_LIMITER_LOOKAHEAD) / RENDER_BLOCK * RENDER_BLOCK;
	bool skip;
	item *it = add_item(ld, d->run_id, b > 0 ? b : 0, ITEM_DIRECT, d->id, &skip);

	if (!it)
		return skip ? 0 : (ld->rc = TT_ENOMEM);
	it->frame = d->frame;
	if (!(it->code = strdup(d->params))) {
		ld->rp->n_items--;
		return ld->rc = TT_ENOMEM;
	}
	return 0;
}

static int item_cmp(const void *a, const void *b)
{
	const item *x = a, *y = b;
	if (x->run != y->run)
		return x->run < y->run ? -1 : 1;
	if (x->applied != y->applied)
		return x->applied < y->applied ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static const char *author_of_eval(const replay *rp, int64_t eval_id)
{
	size_t lo = 0, hi = rp->n_authors;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (rp->authors[mid].eval_id < eval_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rp->n_authors && rp->authors[lo].eval_id == eval_id ? rp->authors[lo].author
									 : NULL;
}

/* Whether an entry of the mix sounds in the stem. */
static bool in_stem(const replay *rp, const track_entry *e)
{
	if (rp->stem == REPLAY_MIX)
		return true;
	if (rp->stem == REPLAY_STEM_AUTHOR) {
		const char *a = author_of_eval(rp, e->eval_id);
		return a && strcmp(a, rp->stem_name) == 0;
	}
	/* REPLAY_STEM_DOC: the entry's document had the stem's name when it
	 * was evaluated (any evaluation of that document says so). */
	for (size_t i = 0; i < rp->n_items; i++)
		if (rp->items[i].kind == ITEM_EVAL && rp->items[i].doc_id == e->doc_id)
			return strcmp(rp->items[i].doc_name, rp->stem_name) == 0;
	return false;
}

static bool stem_matches_something(const replay *rp)
{
	if (rp->stem == REPLAY_MIX)
		return true;
	for (size_t i = 0; i < rp->n_items; i++) {
		const item *it = &rp->items[i];
		if (it->kind != ITEM_EVAL)
			continue;
		if (rp->stem == REPLAY_STEM_DOC && strcmp(it->doc_name, rp->stem_name) == 0)
			return true;
		if (rp->stem == REPLAY_STEM_AUTHOR) {
			const char *a = author_of_eval(rp, it->id);
			if (a && strcmp(a, rp->stem_name) == 0)
				return true;
		}
	}
	return false;
}

int replay_open(const replay_config *cfg, replay **out, char *err, size_t errlen)
{
	replay *rp = calloc(1, sizeof *rp);
	loader ld = { rp, cfg->st, TT_OK, 0, 0, 0 };
	store_session sess;
	int rc;

	if (!rp)
		return fail(err, errlen, TT_ENOMEM, "out of memory");
	*out = NULL;
	rp->bank = cfg->bank;
	rp->stem = cfg->stem;
	rp->blk_frame = -1;
	if (cfg->stem != REPLAY_MIX &&
	    (!cfg->stem_name || !(rp->stem_name = strdup(cfg->stem_name)))) {
		replay_free(rp);
		return fail(err, errlen, TT_EINVAL, "a stem needs a name");
	}
	rc = store_session_get(cfg->st, cfg->session_id, &sess);
	if (rc != TT_OK) {
		replay_free(rp);
		return fail(err, errlen, rc, "no session '%s'", cfg->session_id);
	}
	rc = store_run_list(cfg->st, cfg->session_id, load_run, &ld);
	if (rc == TT_OK && ld.rc == TT_OK)
		rc = store_eval_list(cfg->st, cfg->session_id, 0, 0, load_eval, &ld);
	if (rc == TT_OK && ld.rc == TT_OK)
		rc = store_tempo_list(cfg->st, cfg->session_id, load_tempo, &ld);
	if (rc == TT_OK && ld.rc == TT_OK)
		rc = store_control_list(cfg->st, cfg->session_id, load_control, &ld);
	if (rc == TT_OK && ld.rc == TT_OK)
		rc = store_direct_list(cfg->st, cfg->session_id, 0, load_direct, &ld);
	if (rc == TT_OK)
		rc = ld.rc;
	if (rc != TT_OK) {
		replay_free(rp);
		return fail(err, errlen, rc, "the session's log cannot be read: %s",
			    store_errmsg(cfg->st));
	}
	if (rp->n_runs == 0) {
		replay_free(rp);
		return fail(err, errlen, TT_ENOTFOUND,
			    "session '%s' has never played (no recorded run)", cfg->session_id);
	}
	qsort(rp->items, rp->n_items, sizeof rp->items[0], item_cmp);
	for (size_t i = 0; i < rp->n_runs; i++) {
		run_span *rs = &rp->runs[i];
		int64_t last;
		if (!rs->run.restored)
			continue;
		rc = restore_table(cfg->st, cfg->session_id, rs->run.restore_upto, &rs->restore,
				   &last);
		if (rc != TT_OK) {
			replay_free(rp);
			return fail(err, errlen, rc, "run %lld's start cannot be rebuilt",
				    (long long)rs->run.id);
		}
	}
	{
		const run_span *lr = &rp->runs[rp->n_runs - 1];
		rp->end = lr->run.start_frame + lr->frames;
	}
	rp->from = cfg->from;
	rp->to = cfg->to < 0 ? rp->end : cfg->to;
	if (rp->from < 0 || rp->from >= rp->to || rp->to > rp->end) {
		int64_t end = rp->end;
		replay_free(rp);
		return fail(err, errlen, TT_EINVAL,
			    "the span %.3f s .. %.3f s is not inside the session (0 .. %.3f s)",
			    (double)cfg->from / RENDER_RATE,
			    cfg->to < 0 ? (double)end / RENDER_RATE : (double)cfg->to / RENDER_RATE,
			    (double)end / RENDER_RATE);
	}
	if (!stem_matches_something(rp)) {
		char name[128];
		snprintf(name, sizeof name, "%s", rp->stem_name);
		replay_stem stem = rp->stem;
		replay_free(rp);
		return fail(err, errlen, TT_EINVAL, "no evaluation of %s '%s' in this session",
			    stem == REPLAY_STEM_DOC ? "document" : "performer", name);
	}
	/* Progress: every frame rendered, those before the span included. */
	for (size_t i = 0; i < rp->n_runs; i++) {
		const run_span *rs = &rp->runs[i];
		int64_t a = rs->run.start_frame, b = a + rs->frames;
		if (b <= rp->from || a >= rp->to)
			continue;
		rp->total += (b < rp->to ? b : rp->to) - a;
	}
	rp->pos = rp->from;
	rp->done = 0;
	*out = rp;
	return TT_OK;
}

void replay_free(replay *rp)
{
	if (!rp)
		return;
	render_free(rp->r);
	if (rp->installed != rp->full)
		tracks_free(rp->installed);
	tracks_free(rp->full);
	for (size_t i = 0; i < rp->n_runs; i++)
		tracks_free(rp->runs[i].restore);
	for (size_t i = 0; i < rp->n_items; i++)
		free(rp->items[i].code);
	for (size_t i = 0; i < rp->n_authors; i++)
		free(rp->authors[i].author);
	free(rp->runs);
	free(rp->items);
	free(rp->authors);
	free(rp->stem_name);
	free(rp);
}

int64_t replay_from(const replay *rp)
{
	return rp->from;
}

int64_t replay_to(const replay *rp)
{
	return rp->to;
}

int64_t replay_session_end(const replay *rp)
{
	return rp->end;
}

void replay_progress(const replay *rp, int64_t *done, int64_t *total)
{
	*done = rp->done;
	*total = rp->total;
}

/* ---- rendering ---- */

/* The stem of t: a table of its entries that sound in the stem. */
static track_table *stem_of(const replay *rp, const track_table *t)
{
	size_t n = 0;
	track_table *s;

	for (size_t i = 0; i < t->n; i++)
		n += in_stem(rp, &t->e[i]);
	s = calloc(1, sizeof *s + n * sizeof s->e[0]);
	if (!s)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		if (in_stem(rp, &t->e[i])) {
			s->e[s->n] = t->e[i];
			s->e[s->n].prog->refs++;
			s->n++;
		}
	return s;
}

/* Installs t (a landed table of the mix; the replay owns it) as live did. */
static int install(replay *rp, track_table *t)
{
	track_table *play = rp->stem == REPLAY_MIX ? t : stem_of(rp, t);
	sched_source src;

	if (!play) {
		tracks_free(t);
		return TT_ENOMEM;
	}
	tracks_source(play, &src);
	render_set_source(rp->r, &src);
	if (rp->installed != rp->full)
		tracks_free(rp->installed);
	tracks_free(rp->full);
	rp->full = t;
	rp->installed = play;
	return TT_OK;
}

static int apply_eval(replay *rp, const item *it)
{
	tt_program *p;
	tt_diag d;
	prog_ref *ref;
	track_table *t;

	/* Live compiled this code and it landed; the same compiler accepts it
	 * again. Were it to fail (a compiler changed since), live's table
	 * cannot be rebuilt: keep playing what was playing. */
	if (program_compile(it->code, it->code_len, &p, &d) != TT_OK)
		return TT_OK;
	if (!(ref = tracks_prog_new(p))) {
		program_free(p);
		return TT_ENOMEM;
	}
	t = tracks_build(rp->full, it->built_frame, ref, it->doc_id, it->doc_name, it->rev,
			 (uint32_t)it->range_from, (uint32_t)it->range_from, it->id, it->whole,
			 program_hushed(p));
	if (!t) {
		if (ref->refs == 0) {
			program_free(p);
			free(ref);
		}
		return TT_ENOMEM;
	}
	tracks_land(t, it->cycle, it->frame);
	return install(rp, t);
}

static void apply_direct(replay *rp, const item *it)
{
	direct_event ev;
	char err[128];

	/* Stored by live from the event it played: it parses (a row that
	 * does not was not written by tuttid and is skipped). */
	if (osc_event_from_json(it->code, &ev, err, sizeof err) == TT_OK)
		render_trigger(rp->r, &ev, it->frame, NULL);
}

/* Applies the changes live applied before the block at run frame f. */
static int apply_items(replay *rp, int64_t f)
{
	while (rp->next_item < rp->n_items) {
		const item *it = &rp->items[rp->next_item];
		int rc = TT_OK;
		if (it->run != rp->ri || it->applied > f)
			break;
		rp->next_item++;
		if (it->kind == ITEM_EVAL)
			rc = apply_eval(rp, it);
		else if (it->kind == ITEM_TEMPO)
			sched_set_cps_exact(render_sched(rp->r), it->frame, it->cps);
		else if (it->kind == ITEM_DIRECT)
			apply_direct(rp, it);
		else
			control_apply(rp->r, it->control, it->track, it->on);
		if (rc != TT_OK)
			return rc;
	}
	return TT_OK;
}

static void stop_run(replay *rp)
{
	render_free(rp->r);
	rp->r = NULL;
	if (rp->installed != rp->full)
		tracks_free(rp->installed);
	tracks_free(rp->full);
	rp->installed = rp->full = NULL;
	rp->blk_frame = -1;
}

/* Starts run ri as live_start and the restore did. */
static int start_run(replay *rp)
{
	run_span *rs = &rp->runs[rp->ri];
	render_config rc;

	render_config_default(&rc);
	rc.bank = rp->bank;
	rc.cps = rs->run.cps;
	if (render_new(&rc, &rp->r) != TT_OK)
		return TT_ENOMEM;
	/* Skip the changes of runs before this one (a span starting late). */
	while (rp->next_item < rp->n_items && rp->items[rp->next_item].run < rp->ri)
		rp->next_item++;
	return TT_OK;
}

/* The restore table lands before the block at restore_applied. */
static int maybe_restore(replay *rp, int64_t f)
{
	run_span *rs = &rp->runs[rp->ri];
	track_table *t;

	if (!rs->restore || rs->run.restore_applied != f)
		return TT_OK;
	t = rs->restore;
	rs->restore = NULL; /* the replay owns it now; a run is rendered once */
	tracks_land(t, TT_RAT(rs->run.restore_cycle_n, rs->run.restore_cycle_d),
		    rs->run.restore_frame);
	return install(rp, t);
}

static void collect(replay *rp, int64_t base, replay_anno *annos, size_t cap, size_t *n_annos)
{
	const sched_onset *o;
	size_t n = render_onsets(rp->r, &o);
	const track_table *t = rp->installed;

	for (size_t i = 0; i < n && t; i++) {
		const track_entry *e;
		int64_t frame = base + o[i].frame;
		if (o[i].track >= t->n || frame < rp->from || frame >= rp->to)
			continue;
		e = &t->e[o[i].track];
		for (uint32_t k = 0; k < o[i].ev->n_locs && *n_annos < cap; k++) {
			replay_anno *a = &annos[(*n_annos)++];
			a->frame = frame;
			a->doc_id = e->doc_id;
			a->rev = e->rev;
			a->eval_id = e->eval_id;
			a->start = e->code_base + o[i].ev->locs[k].start;
			a->end = e->code_base + o[i].ev->locs[k].end;
			a->dur = o[i].dur_sec;
		}
	}
}

/* Renders the next block of the current run into rp->blk. */
static int next_block(replay *rp, replay_anno *annos, size_t cap, size_t *n_annos)
{
	int64_t f = render_frame(rp->r);
	int rc;

	if ((rc = maybe_restore(rp, f)) != TT_OK || (rc = apply_items(rp, f)) != TT_OK)
		return rc;
	render_block(rp->r, rp->blk, RENDER_BLOCK);
	rp->blk_frame = f;
	rp->done += RENDER_BLOCK;
	if (annos)
		collect(rp, rp->runs[rp->ri].run.start_frame, annos, cap, n_annos);
	return TT_OK;
}

int replay_read(replay *rp, float *pcm, size_t max, size_t *n, replay_anno *annos, size_t cap,
		size_t *n_annos)
{
	size_t got = 0;

	if (n_annos)
		*n_annos = 0;
	while (got < max && rp->pos < rp->to) {
		run_span *rs = rp->ri < rp->n_runs ? &rp->runs[rp->ri] : NULL;
		int64_t want = (int64_t)(max - got);
		if (rs && rp->pos >= rs->run.start_frame + rs->frames) {
			stop_run(rp);
			rp->ri++;
			continue;
		}
		if (!rs || rp->pos < rs->run.start_frame) {
			/* Between runs, or before the first: the server was down. */
			int64_t until = rs ? rs->run.start_frame : rp->to;
			if (until > rp->to)
				until = rp->to;
			if (want > until - rp->pos)
				want = until - rp->pos;
			memset(pcm + 2 * got, 0, (size_t)want * 2 * sizeof(float));
			got += (size_t)want;
			rp->pos += want;
			continue;
		}
		if (!rp->r) {
			int rc = start_run(rp);
			if (rc != TT_OK)
				return rc;
		}
		int64_t rf = rp->pos - rs->run.start_frame;
		if (rp->blk_frame < 0 || rf >= rp->blk_frame + RENDER_BLOCK) {
			int rc = next_block(rp, annos, cap, n_annos);
			if (rc != TT_OK)
				return rc;
			if (rf >= rp->blk_frame + RENDER_BLOCK)
				continue; /* before the span: rendered for its state, dropped */
		}
		int64_t off = rf - rp->blk_frame;
		int64_t avail = RENDER_BLOCK - off;
		int64_t left_in_span = rp->to - rp->pos;
		if (want > avail)
			want = avail;
		if (want > left_in_span)
			want = left_in_span;
		memcpy(pcm + 2 * got, rp->blk + 2 * off, (size_t)want * 2 * sizeof(float));
		got += (size_t)want;
		rp->pos += want;
	}
	*n = got;
	return TT_OK;
}
