/* server/evaluate.c: see evaluate.h. */
#include "server/evaluate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/limits.h"
#include "engine/program.h"
#include "server/app.h"
#include "server/editing.h"
#include "server/hub.h"
#include "server/control.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/restore.h"
#include "server/rpc.h"
#include "server/tracks.h"
#include "server/ws_conn.h"

/* The query arena of the dry run: the render thread's size, so a program
 * that passes here fits there. */
#define DRY_RUN_ARENA (4 * 1024 * 1024)
/* Cycles the dry run queries: enough to meet a `<a b c d>` alternation. */
#define DRY_RUN_CYCLES 4

typedef enum pe_kind { PE_EVAL, PE_TEMPO, PE_RESTORE, PE_CONTROL } pe_kind;

struct pending_eval {
	pe_kind kind;
	int64_t token;
	int sent;
	uint64_t conn;            /* the requester's connection, by id */
	json_t *req_id;
	int64_t user;
	char author[TT_MAX_DISPLAY_NAME + 1];
	/* PE_EVAL, PE_RESTORE */
	track_table *table;       /* built at sending time, or (restore) ready */
	prog_ref *prog;
	live_quantum quantum;
	int64_t every;
	int64_t built_frame;      /* the render frame its table was built at */
	int64_t doc_id, rev;
	int64_t range_from, range_to;
	char doc_name[TT_MAX_DOC_NAME + 1];
	char *code;
	size_t code_len;
	const char *what;         /* "whole", "range" or "block" */
	bool hush_all;
	/* PE_TEMPO, or the tempo a program set */
	double cps;
	bool has_cps;
	/* PE_CONTROL: hush, mute or solo, stored once the render thread says
	 * at which block it was applied */
	live_cmd_kind control;
	bool on;
	char track[64];
	int64_t time_ms;
	pending_eval *next;
};

static int64_t next_token = 1;

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A pending evaluation holds a reference to its program of its own (taken
 * in evaluate_eval), so the program outlives the track tables that drop
 * theirs first: at shutdown live_stop frees the render thread's tables
 * before evaluate_forget runs (the sanitizer build found the read after
 * free that checking refs == 0 here used to be). */
static void pe_free(pending_eval *pe)
{
	if (pe->prog && --pe->prog->refs == 0) {
		program_free(pe->prog->p);
		free(pe->prog);
	}
	json_decref(pe->req_id);
	free(pe->code);
	free(pe);
}

void evaluate_forget(live_session *s)
{
	while (s->controls) {
		pending_eval *pe = s->controls;
		s->controls = pe->next;
		pe_free(pe);
	}
	while (s->evals) {
		pending_eval *pe = s->evals;
		s->evals = pe->next;
		if (!pe->sent)
			tracks_free(pe->table);
		pe_free(pe);
	}
	s->in_flight = 0;
}

static ws_conn *member_conn(live_session *s, uint64_t conn)
{
	for (rpc_state *m = s->members; m; m = m->next_member)
		if (ws_conn_id(m->wc) == conn)
			return m->wc;
	return NULL;
}

static void enqueue(live_session *s, pending_eval *pe)
{
	pending_eval **p = &s->evals;
	while (*p)
		p = &(*p)->next;
	*p = pe;
}

/* Sends the first waiting request to the render thread, unless one is in
 * flight (tables go one at a time: see tracks.h). */
static void dispatch(live_session *s)
{
	pending_eval *pe = s->evals;
	live_cmd c;

	if (s->in_flight || !pe || !s->audio)
		return;
	memset(&c, 0, sizeof c);
	c.token = pe->token;
	if (pe->kind == PE_TEMPO) {
		c.kind = LIVE_CMD_TEMPO;
		c.cps = pe->cps;
	} else {
		if (pe->kind == PE_EVAL) {
			pe->built_frame = live_frame(s->audio);
			pe->table = tracks_build(s->table, pe->built_frame, pe->prog, pe->doc_id,
						 pe->doc_name, pe->rev, (uint32_t)pe->range_from,
						 (uint32_t)pe->range_from, pe->token,
						 strcmp(pe->what, "whole") == 0, pe->hush_all);
		}
		if (!pe->table)
			return; /* out of memory: retried at the next report */
		c.kind = LIVE_CMD_TABLE;
		c.table = pe->table;
		c.quantum = pe->quantum;
		c.every = pe->every;
	}
	if (!live_send(s->audio, &c))
		return; /* the ring is full: the next report retries */
	pe->sent = 1;
	s->in_flight = pe->token;
	if (c.kind == LIVE_CMD_TABLE)
		s->table = pe->table;
}

/* ---- positions: UTF-16 units (the wire's) and UTF-8 bytes ---- */

static size_t cp_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* The byte offset of UTF-16 unit u (clamped to the text). */
static size_t byte_at_unit(const char *t, size_t len, size_t u)
{
	size_t b = 0, k = 0;

	while (b < len && k < u) {
		size_t n = cp_len((unsigned char)t[b]);
		k += n == 4 ? 2 : 1;
		b += n;
	}
	return b < len ? b : len;
}

static size_t units_of(const char *t, size_t len)
{
	size_t k = 0;
	for (size_t b = 0; b < len; b += cp_len((unsigned char)t[b]))
		k += cp_len((unsigned char)t[b]) == 4 ? 2 : 1;
	return k;
}

/* Line and column (1-based; columns in characters) of byte b. */
static void line_col(const char *t, size_t b, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < b; i += cp_len((unsigned char)t[i])) {
		if (t[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static bool blank_line(const char *t, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (t[i] != ' ' && t[i] != '\t' && t[i] != '\r')
			return false;
	return true;
}

/* The block around byte b: the run of non-blank lines holding it (or the
 * nearest one above when b is on a blank line), as bytes [*from, *to). */
static bool block_around(const char *t, size_t len, size_t b, size_t *from, size_t *to)
{
	size_t ls = b, le;

	while (ls > 0 && t[ls - 1] != '\n')
		ls--;
	for (;;) {
		le = ls;
		while (le < len && t[le] != '\n')
			le++;
		if (!blank_line(t, ls, le))
			break;
		if (ls == 0)
			return false;
		ls--; /* step onto the previous line's '\n', then to its start */
		while (ls > 0 && t[ls - 1] != '\n')
			ls--;
	}
	*from = ls;
	*to = le;
	while (*from > 0) {          /* extend upwards */
		size_t ps = *from - 1, pe = ps;
		while (ps > 0 && t[ps - 1] != '\n')
			ps--;
		if (blank_line(t, ps, pe))
			break;
		*from = ps;
	}
	while (*to < len) {          /* and downwards */
		size_t ns = *to + 1, ne = ns;
		while (ne < len && t[ne] != '\n')
			ne++;
		if (ns > len || blank_line(t, ns, ne))
			break;
		*to = ne;
	}
	return true;
}

/* ---- eval ---- */

static int parse_quantum(json_t *q, live_quantum *out, int64_t *every)
{
	*every = 0;
	if (!q || (json_is_string(q) && strcmp(json_string_value(q), "cycle") == 0)) {
		*out = LIVE_AT_CYCLE;
		return TT_OK;
	}
	if (json_is_string(q) && strcmp(json_string_value(q), "now") == 0) {
		*out = LIVE_AT_NOW;
		return TT_OK;
	}
	json_t *e = json_object_get(q, "every");
	if (json_is_integer(e) && json_integer_value(e) >= 1 && json_integer_value(e) <= 1024) {
		*out = LIVE_AT_EVERY;
		*every = json_integer_value(e);
		return TT_OK;
	}
	return TT_EINVAL;
}

/* Queries every track for a few cycles in a render-sized arena: a program
 * that would overrun the render thread's budgets is refused here. */
static int dry_run(const tt_program *p, char *why, size_t cap)
{
	static unsigned char *mem;
	tt_arena a;

	if (!mem && !(mem = malloc(DRY_RUN_ARENA)))
		return TT_ENOMEM;
	for (size_t t = 0; t < program_track_count(p); t++) {
		for (int c = 0; c < DRY_RUN_CYCLES; c++) {
			tt_span span = { TT_RAT(c, 1), TT_RAT(c + 1, 1) };
			tt_event *ev;
			size_t n;
			int rc;

			arena_init(&a, mem, DRY_RUN_ARENA);
			rc = program_query(p, t, span, &a, &ev, &n);
			if (rc == TT_ELIMIT) {
				snprintf(why, cap, "track %s makes too many events in cycle %d (at most %d "
					 "per cycle, TT_MAX_EVENTS_PER_CYCLE)",
					 program_track_name(p, t), c, TT_MAX_EVENTS_PER_CYCLE);
				return rc;
			}
			if (rc != TT_OK) {
				snprintf(why, cap, "track %s cannot be queried at cycle %d: %s",
					 program_track_name(p, t), c, tt_strerror(rc));
				return rc;
			}
		}
	}
	return TT_OK;
}

static void store_failed(tt_app *app, live_session *s, int64_t doc, int64_t rev,
			 const rpc_state *rs, size_t ua, size_t ub, const char *code,
			 size_t len, const char *msg)
{
	store_eval ev = {
		.session_id = s->id, .doc_id = doc, .revision = rev, .time_ms = wall_ms(),
		.author = rs->name, .range_from = (int64_t)ua, .range_to = (int64_t)ub,
		.code = code, .code_len = len, .ok = false, .cycle_d = 1, .cps_d = 1,
		.result = msg,
	};
	pthread_mutex_lock(&app->store_lock);
	if (store_eval_append(app->st, &ev) != TT_OK)
		log_warn("eval", "%s: a failed evaluation could not be stored: %s", s->id,
			 store_errmsg(app->st));
	pthread_mutex_unlock(&app->store_lock);
	metrics_evaluation(0);
}

/* Chooses the code: the whole document, a range, or the block at a
 * position; in UTF-16 units [*ua, *ub) and bytes [*ba, *bb). */
static int pick_code(json_t *req, const char *text, size_t len, size_t *pos, int has_range,
		     int has_at, size_t *ua, size_t *ub, size_t *ba, size_t *bb,
		     const char **what, char *why, size_t cap)
{
	size_t units = units_of(text, len);

	if (has_range) {
		if (pos[0] > pos[1] || pos[1] > units) {
			snprintf(why, cap, "\"range\" must be [from, to] within 0..%zu", units);
			return TT_EINVAL;
		}
		*ua = pos[0];
		*ub = pos[1];
		*ba = byte_at_unit(text, len, *ua);
		*bb = byte_at_unit(text, len, *ub);
		*what = "range";
	} else if (has_at) {
		if (pos[0] > units || !block_around(text, len, byte_at_unit(text, len, pos[0]), ba, bb)) {
			snprintf(why, cap, "there is no code around position %zu", pos[0]);
			return TT_EINVAL;
		}
		*ua = units_of(text, *ba);
		*ub = *ua + units_of(text + *ba, *bb - *ba);
		*what = "block";
	} else {
		*ua = *ba = 0;
		*ub = units;
		*bb = len;
		*what = "whole";
	}
	(void)req;
	return TT_OK;
}

static int read_positions(json_t *req, size_t *pos, int *has_range, int *has_at)
{
	json_t *range = json_object_get(req, "range"), *at = json_object_get(req, "at");

	*has_range = *has_at = 0;
	if (range) {
		json_t *a = json_array_get(range, 0), *b = json_array_get(range, 1);
		if (json_array_size(range) != 2 || !json_is_integer(a) || !json_is_integer(b) ||
		    json_integer_value(a) < 0 || json_integer_value(b) < 0)
			return TT_EINVAL;
		pos[0] = (size_t)json_integer_value(a);
		pos[1] = (size_t)json_integer_value(b);
		*has_range = 1;
	} else if (at) {
		if (!json_is_integer(at) || json_integer_value(at) < 0)
			return TT_EINVAL;
		pos[0] = pos[1] = (size_t)json_integer_value(at);
		*has_at = 1;
	}
	return TT_OK;
}

static void reply_compile_error(ws_conn *wc, json_t *id, int64_t doc, uint64_t rev,
				const char *text, size_t ba, const tt_diag *d)
{
	int line0, col0;

	line_col(text, ba, &line0, &col0);
	rpc_reply(wc, id, json_pack("{s:s,s:b,s:I,s:I,s:{s:i,s:i,s:s}}", "type", "eval.result",
				    "ok", 0, "doc", (json_int_t)doc, "rev", (json_int_t)rev, "error",
				    "line", line0 + d->line - 1,
				    "col", d->line == 1 ? col0 + d->col - 1 : d->col,
				    "message", d->message));
}

/*
 * eval {doc, rev?, range?: [from, to] | at?: pos, quantum?: "cycle" | "now"
 * | {"every": N}}: positions in UTF-16 units of the client's revision rev
 * (default: the server's current one).
 */
void evaluate_eval(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	live_session *s = rs->session;
	json_t *jdoc = json_object_get(req, "doc"), *jrev = json_object_get(req, "rev");
	size_t pos[2] = { 0, 0 }, ua, ub, ba, bb, len;
	const char *text, *name, *what;
	int has_range, has_at, rc;
	live_quantum q;
	int64_t every;
	uint64_t rev;
	char why[256];
	tt_program *p = NULL;
	tt_diag diag;
	pending_eval *pe;

	if (!s) {
		rpc_error(wc, id, "not_joined", "join a session first");
		return;
	}
	if (!rpc_require(rs, wc, id, STORE_ROLE_PERFORMER, "evaluating") ||
	    !rpc_allow_eval(rs, wc, id))
		return;
	if (!json_is_integer(jdoc) || (jrev && !json_is_integer(jrev)) ||
	    read_positions(req, pos, &has_range, &has_at) != TT_OK ||
	    parse_quantum(json_object_get(req, "quantum"), &q, &every) != TT_OK) {
		rpc_error(wc, id, "bad_request", "eval takes doc, and optionally rev, range [from, to] "
			  "or at, and quantum \"cycle\", \"now\" or {\"every\": N}");
		return;
	}
	rc = editing_read(rs->app, s, json_integer_value(jdoc), jrev ? json_integer_value(jrev) : -1,
			  pos, 2, &text, &len, &rev, &name);
	if (rc != TT_OK) {
		rpc_error(wc, id, rc == TT_ENOTFOUND ? "not_found" : "resync",
			  "cannot read document %lld: %s", (long long)json_integer_value(jdoc),
			  tt_strerror(rc));
		return;
	}
	if (pick_code(req, text, len, pos, has_range, has_at, &ua, &ub, &ba, &bb, &what, why,
		      sizeof why) != TT_OK) {
		rpc_error(wc, id, "bad_request", "%s", why);
		return;
	}
	if (hub_start(rs->app, s) != TT_OK) {
		rpc_error(wc, id, "internal", "the session's sound cannot start");
		return;
	}
	rc = program_compile(text + ba, bb - ba, &p, &diag);
	if (rc == TT_OK && dry_run(p, why, sizeof why) != TT_OK) {
		program_free(p);
		p = NULL;
		rc = TT_ELIMIT;
		diag.line = diag.col = 1;
		snprintf(diag.message, sizeof diag.message, "%s", why);
	}
	if (rc != TT_OK) {
		reply_compile_error(wc, id, json_integer_value(jdoc), rev, text, ba, &diag);
		store_failed(rs->app, s, json_integer_value(jdoc), (int64_t)rev, rs, ua, ub, text + ba,
			     bb - ba, diag.message);
		return;
	}
	pe = calloc(1, sizeof *pe);
	if (!pe || !(pe->prog = tracks_prog_new(p)) || !(pe->code = malloc(bb - ba + 1))) {
		if (pe && pe->prog)
			free(pe->prog);
		program_free(p);
		free(pe);
		rpc_error(wc, id, "internal", "out of memory");
		return;
	}
	pe->prog->refs = 1; /* the pending evaluation's own (pe_free) */
	memcpy(pe->code, text + ba, bb - ba);
	pe->code[bb - ba] = '\0';
	pe->code_len = bb - ba;
	pe->kind = PE_EVAL;
	pe->token = next_token++;
	pe->conn = ws_conn_id(wc);
	pe->req_id = id ? json_incref(id) : NULL;
	pe->user = rs->user;
	snprintf(pe->author, sizeof pe->author, "%s", rs->name);
	pe->quantum = q;
	pe->every = every;
	pe->doc_id = json_integer_value(jdoc);
	pe->rev = (int64_t)rev;
	pe->range_from = (int64_t)ua;
	pe->range_to = (int64_t)ub;
	snprintf(pe->doc_name, sizeof pe->doc_name, "%s", name);
	pe->what = what;
	pe->hush_all = program_hushed(p);
	pe->has_cps = program_cps(p, &pe->cps);
	enqueue(s, pe);
	dispatch(s);
}

/* ---- the render thread's reports ---- */

static json_t *landing_json(const live_report *r)
{
	char cyc[64];
	rat_format(r->cycle, cyc, sizeof cyc);
	return json_pack("{s:I,s:s}", "frame", (json_int_t)r->frame, "cycle", cyc);
}

static json_t *track_names(const track_table *t, int64_t token)
{
	json_t *arr = json_array();
	for (size_t i = 0; t && i < t->n; i++)
		if (t->e[i].eval_id == token)
			json_array_append_new(arr, json_string(t->e[i].name));
	return arr;
}

static void landed(tt_app *app, live_session *s, pending_eval *pe, const live_report *r)
{
	tt_rat cps;
	store_eval ev;
	ws_conn *wc;
	json_t *note;

	s->installed = pe->table;
	if (pe->kind == PE_RESTORE) {
		if (!s->run_id)
			return;
		pthread_mutex_lock(&app->store_lock);
		if (store_run_restored(app->st, s->run_id, r->applied, r->frame, r->cycle.n,
				       r->cycle.d) != TT_OK)
			log_error("eval", "%s: the restore landing could not be stored: %s",
				  s->id, store_errmsg(app->st));
		pthread_mutex_unlock(&app->store_lock);
		return;
	}
	if (rat_from_double(s->cps, 10000, &cps) != TT_OK)
		cps = TT_RAT(1, 2);
	ev = (store_eval){
		.session_id = s->id, .doc_id = pe->doc_id, .revision = pe->rev, .time_ms = wall_ms(),
		.author = pe->author, .range_from = pe->range_from, .range_to = pe->range_to,
		.code = pe->code, .code_len = pe->code_len, .ok = true, .landing_frame = r->frame,
		.cycle_n = r->cycle.n, .cycle_d = r->cycle.d, .cps_n = cps.n, .cps_d = cps.d,
		.result = pe->what, .run_id = s->run_id, .applied_frame = r->applied,
		.built_frame = pe->built_frame,
	};
	pthread_mutex_lock(&app->store_lock);
	if (store_eval_append(app->st, &ev) != TT_OK)
		log_error("eval", "%s: an evaluation could not be stored: %s", s->id,
			  store_errmsg(app->st));
	pthread_mutex_unlock(&app->store_lock);
	metrics_evaluation(1);
	wc = member_conn(s, pe->conn);
	if (wc)
		rpc_reply(wc, pe->req_id,
			  json_pack("{s:s,s:b,s:I,s:I,s:I,s:o,s:o}", "type", "eval.result", "ok", 1,
				    "doc", (json_int_t)pe->doc_id, "rev", (json_int_t)pe->rev, "eval",
				    (json_int_t)ev.id, "landing", landing_json(r), "tracks",
				    track_names(pe->table, pe->token)));
	note = json_pack("{s:s,s:I,s:s,s:I,s:I,s:[I,I],s:s,s:I,s:o,s:o}", "type", "eval", "by",
			 (json_int_t)pe->user, "name", pe->author, "doc", (json_int_t)pe->doc_id,
			 "rev", (json_int_t)pe->rev, "range", (json_int_t)pe->range_from,
			 (json_int_t)pe->range_to, "what", pe->what, "eval", (json_int_t)ev.id,
			 "landing", landing_json(r), "tracks", track_names(pe->table, pe->token));
	session_broadcast(s, note, NULL);
	json_decref(note);
	if (pe->has_cps) {
		/* setcps/setcpm: a tempo change, from the next cycle boundary. */
		pending_eval *t = calloc(1, sizeof *t);
		if (t) {
			t->kind = PE_TEMPO;
			t->token = next_token++;
			t->conn = 0; /* the eval's reply was the answer */
			t->user = pe->user;
			snprintf(t->author, sizeof t->author, "%s", pe->author);
			t->cps = pe->cps;
			enqueue(s, t);
		}
	}
}

static void tempo_landed(tt_app *app, live_session *s, pending_eval *pe, const live_report *r)
{
	char cps_s[64];
	store_tempo tp = {
		.session_id = s->id, .frame = r->frame, .cycle_n = r->cycle.n, .cycle_d = r->cycle.d,
		.cps_n = r->cps.n, .cps_d = r->cps.d, .time_ms = wall_ms(), .author = pe->author,
		.run_id = s->run_id, .applied_frame = r->applied,
	};
	ws_conn *wc;
	json_t *note;

	s->cps = rat_to_double(r->cps);
	pthread_mutex_lock(&app->store_lock);
	if (store_tempo_append(app->st, &tp) != TT_OK)
		log_error("eval", "%s: a tempo change could not be stored: %s", s->id,
			  store_errmsg(app->st));
	pthread_mutex_unlock(&app->store_lock);
	rat_format(r->cps, cps_s, sizeof cps_s);
	note = json_pack("{s:s,s:f,s:s,s:o,s:I,s:s}", "type", "tempo", "cps", s->cps, "cps_exact",
			 cps_s, "landing", landing_json(r), "by", (json_int_t)pe->user, "name",
			 pe->author);
	wc = pe->conn ? member_conn(s, pe->conn) : NULL;
	if (wc)
		rpc_reply(wc, pe->req_id, json_deep_copy(note));
	session_broadcast(s, note, NULL);
	json_decref(note);
}

/* A hush, mute or solo was applied: log it for replay. */
static void control_applied(tt_app *app, live_session *s, const live_report *r)
{
	pending_eval **pp = &s->controls, *pe;
	store_control c;

	while (*pp && (*pp)->token != r->token)
		pp = &(*pp)->next;
	if (!(pe = *pp))
		return;
	*pp = pe->next;
	c = (store_control){
		.session_id = s->id, .run_id = s->run_id, .applied_frame = r->applied,
		.kind = control_name(pe->control == LIVE_CMD_HUSH ? CONTROL_HUSH :
				     pe->control == LIVE_CMD_MUTE ? CONTROL_MUTE : CONTROL_SOLO), .track = pe->track, .on = pe->on, .author = pe->author,
		.time_ms = pe->time_ms,
	};
	if (s->run_id) {
		pthread_mutex_lock(&app->store_lock);
		if (store_control_append(app->st, &c) != TT_OK)
			log_error("eval", "%s: a %s could not be stored: %s", s->id, c.kind,
				  store_errmsg(app->st));
		pthread_mutex_unlock(&app->store_lock);
	}
	pe_free(pe);
}

void evaluate_on_report(tt_app *app, live_session *s, const live_report *r)
{
	pending_eval **pp = &s->evals, *pe;

	if (r->kind == LIVE_REP_RETIRED) {
		tracks_free(r->table);
		return;
	}
	if (r->kind == LIVE_REP_CONTROL) {
		control_applied(app, s, r);
		return;
	}
	while (*pp && (*pp)->token != r->token)
		pp = &(*pp)->next;
	pe = *pp;
	if (!pe) {
		log_warn("eval", "%s: a report for no request (token %lld)", s->id,
			 (long long)r->token);
		return;
	}
	*pp = pe->next;
	if (s->in_flight == pe->token)
		s->in_flight = 0;
	if (r->kind == LIVE_REP_LANDED) {
		landed(app, s, pe, r);
	} else if (r->kind == LIVE_REP_TEMPO) {
		tempo_landed(app, s, pe, r);
	} else {
		ws_conn *wc = member_conn(s, pe->conn);
		if (r->table) {
			tracks_free(r->table);
			s->table = s->installed;
		}
		if (wc)
			rpc_error(wc, pe->req_id, "not_landed",
				  "the render thread could not place this change (time overflow)");
	}
	pe_free(pe);
	dispatch(s);
}

/* ---- tempo, hush, mute, solo, audio ---- */

/* The session of a control request (tempo, hush, mute, solo, audio),
 * started, or NULL after answering why not. */
static live_session *live_of(rpc_state *rs, ws_conn *wc, json_t *id, store_role need,
			     const char *what)
{
	if (!rs->session) {
		rpc_error(wc, id, "not_joined", "join a session first");
		return NULL;
	}
	if (!rpc_require(rs, wc, id, need, what))
		return NULL;
	if (!rpc_allow_eval(rs, wc, id))
		return NULL;
	if (hub_start(rs->app, rs->session) != TT_OK) {
		rpc_error(wc, id, "internal", "the session's sound cannot start");
		return NULL;
	}
	return rs->session;
}

void evaluate_tempo(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	live_session *s = live_of(rs, wc, id, STORE_ROLE_PERFORMER, "changing the tempo");
	json_t *jc = json_object_get(req, "cps"), *jm = json_object_get(req, "cpm");
	pending_eval *pe;
	double cps;

	if (!s)
		return;
	cps = json_is_number(jc) ? json_number_value(jc) :
	      json_is_number(jm) ? json_number_value(jm) / 60.0 : -1;
	if (!(cps >= 0.01 && cps <= 100)) {
		rpc_error(wc, id, "bad_request", "tempo needs \"cps\" in 0.01..100 (or \"cpm\")");
		return;
	}
	pe = calloc(1, sizeof *pe);
	if (!pe) {
		rpc_error(wc, id, "internal", "out of memory");
		return;
	}
	pe->kind = PE_TEMPO;
	pe->token = next_token++;
	pe->conn = ws_conn_id(wc);
	pe->req_id = id ? json_incref(id) : NULL;
	pe->user = rs->user;
	snprintf(pe->author, sizeof pe->author, "%s", rs->name);
	pe->cps = cps;
	enqueue(s, pe);
	dispatch(s);
}

/* Hush, mute and solo take effect at the next block (20 ms): performers
 * reach for them in a hurry. */
static void send_flag(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id, live_cmd_kind kind,
		      const char *type)
{
	live_session *s = live_of(rs, wc, id, STORE_ROLE_PERFORMER, type);
	json_t *jon = json_object_get(req, "on"), *jt = json_object_get(req, "track");
	live_cmd c;
	json_t *note;
	pending_eval *pe, **tail;

	if (!s)
		return;
	memset(&c, 0, sizeof c);
	c.kind = kind;
	c.token = next_token++;
	c.on = jon ? json_is_true(jon) : true;
	if (kind != LIVE_CMD_HUSH) {
		if (!json_is_string(jt) || json_string_length(jt) == 0 ||
		    json_string_length(jt) >= sizeof c.name) {
			rpc_error(wc, id, "bad_request", "%s needs a \"track\" name (1 to %zu bytes)",
				  type, sizeof c.name - 1);
			return;
		}
		snprintf(c.name, sizeof c.name, "%s", json_string_value(jt));
	}
	if (!(pe = calloc(1, sizeof *pe))) {
		rpc_error(wc, id, "internal", "out of memory");
		return;
	}
	if (!live_send(s->audio, &c)) {
		free(pe);
		rpc_error(wc, id, "retry", "the render thread is busy; send it again");
		return;
	}
	pe->kind = PE_CONTROL;
	pe->token = c.token;
	pe->control = kind;
	pe->on = c.on;
	memcpy(pe->track, c.name, sizeof pe->track);
	snprintf(pe->author, sizeof pe->author, "%s", rs->name);
	pe->time_ms = wall_ms();
	for (tail = &s->controls; *tail; tail = &(*tail)->next)
		;
	*tail = pe;
	note = json_pack("{s:s,s:b,s:I,s:s}", "type", type, "on", c.on, "by",
			 (json_int_t)rs->user, "name", rs->name);
	if (kind != LIVE_CMD_HUSH)
		json_object_set_new(note, "track", json_string(c.name));
	rpc_reply(wc, id, json_deep_copy(note));
	session_broadcast(s, note, rs);
	json_decref(note);
}

void evaluate_hush(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	send_flag(rs, wc, req, id, LIVE_CMD_HUSH, "hush");
}

void evaluate_mute(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	send_flag(rs, wc, req, id, LIVE_CMD_MUTE, "mute");
}

void evaluate_solo(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	send_flag(rs, wc, req, id, LIVE_CMD_SOLO, "solo");
}

/* audio {on}: binary Opus packets on this connection (see hub.h). */
void evaluate_audio(rpc_state *rs, ws_conn *wc, json_t *req, json_t *id)
{
	live_session *s = live_of(rs, wc, id, STORE_ROLE_LISTENER, "listening");
	json_t *jon = json_object_get(req, "on");

	if (!s)
		return;
	rs->audio = jon ? json_is_true(jon) : 1;
	rpc_reply(wc, id, json_pack("{s:s,s:b,s:s,s:i,s:i,s:i,s:i,s:I}", "type", "audio", "on",
				    rs->audio, "codec", "opus", "rate", 48000, "channels", 2,
				    "frame_ms", 20, "pre_skip", 312, "frame",
				    (json_int_t)live_frame(s->audio)));
}

/* ---- restoring after a restart ---- */

/* Replays the stored evaluations (in order) into one table that lands at
 * once: a restarted server plays what was playing. Replaced tracks get a
 * from == until range and never sound. */
int64_t evaluate_restore(tt_app *app, live_session *s)
{
	track_table *t = NULL;
	int64_t last = 0;
	pending_eval *pe;
	int rc;

	pthread_mutex_lock(&app->store_lock);
	rc = restore_table(app->st, s->id, INT64_MAX, &t, &last);
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK)
		log_error("eval", "%s: the stored evaluations cannot be read: %s", s->id,
			  tt_strerror(rc));
	if (!t)
		return last;
	pe = calloc(1, sizeof *pe);
	if (!pe) {
		tracks_free(t);
		return last;
	}
	pe->kind = PE_RESTORE;
	pe->token = next_token++;
	pe->table = t;
	pe->quantum = LIVE_AT_NOW;
	enqueue(s, pe);
	dispatch(s);
	log_info("eval", "%s: restored %zu tracks from stored evaluations", s->id, t->n);
	return last;
}

static int last_tempo(const store_tempo *t, void *arg)
{
	*(double *)arg = (double)t->cps_n / (double)t->cps_d;
	return 0;
}

double evaluate_stored_cps(tt_app *app, live_session *s)
{
	double cps = 0.5;

	pthread_mutex_lock(&app->store_lock);
	store_tempo_list(app->st, s->id, last_tempo, &cps);
	pthread_mutex_unlock(&app->store_lock);
	return cps;
}
