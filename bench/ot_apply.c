/*
 * bench/ot_apply.c: how fast the OT core applies a realistic editing trace.
 *
 * It first records a trace from a fixed seed: a performer writing a
 * live-coding program of a few kilobytes: typing runs a character at a
 * time, backspacing, jumping the cursor, deleting selections and pasting
 * lines, with accented letters, CJK and emoji (2 UTF-16 units) among the
 * code. Each edit is one operation as an editor sends it: retain up to the
 * cursor, insert or delete, retain the rest.
 *
 * Then it replays the trace through doc_receive on a fresh doc (as the
 * server does: validate, apply, keep the window, hand back the op to
 * broadcast), checks the final text against the recorded one, and prints
 *
 *   ot: apply_ops_per_s=N
 *
 * where N is operations per second of process CPU time, best of 3 passes.
 * Exit status 1 if the replay disagrees with the recording.
 *
 * On stderr it adds the server's cost under concurrency: AUTHORS people
 * typing and backspacing at once in a 3 KB text, each op based on the
 * revision its author last saw, so that doc_receive transforms it over the
 * ops of everyone else meanwhile.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collab/doc.h"
#include "collab/ot.h"
#include "common/error.h"

#define TRACE_OPS 120000
#define PASSES 3

static const char *const lines[] = {
	"s(\"bd*2 [~ bd] sd\").bank(\"RolandTR909\")\n",
	"note(\"c3 e3 g3 <b3 d4>\").s(\"sawtooth\").lpf(800)\n",
	"stack(s(\"hh*8\").gain(.6), s(\"~ cp\"))\n",
	"// caf\xc3\xa9 set \xe2\x99\xaa tempo \xf0\x9f\x8e\xb5\n",
	"n(\"0 2 4 <7 9>\").scale(\"C:minor\").room(.3)\n",
	"// \xe9\x9f\xb3\xe6\xa5\xbd \xf0\x9f\x98\x80 e\xcc\x81\n",
	"$: sound(\"arpy*4\").speed(\"<1 2 1.5>\")\n",
	"setcps(0.6)\n",
};

typedef struct gen {
	uint64_t seed;
	ot_text t;          /* the text as recorded so far */
	size_t cursor;      /* UTF-16 units */
	ot_op *ops;
	size_t nops;
} gen;

static uint64_t next(gen *g)
{
	g->seed ^= g->seed >> 12;
	g->seed ^= g->seed << 25;
	g->seed ^= g->seed >> 27;
	return g->seed * 2685821657736338717ULL;
}

static size_t below(gen *g, size_t n)
{
	return (size_t)(next(g) >> 11) % n;
}

/* Byte offset of unit position u (a character boundary). */
static size_t byte_at(gen *g, size_t u)
{
	size_t b = 0;
	if (utf_seek(g->t.s, g->t.len, g->t.units, &g->t.mark, u, &b) < 0)
		abort();
	return b;
}

/* Records one edit: at the cursor, delete del units, insert ins. */
static void record(gen *g, size_t del, const char *ins, size_t ins_len)
{
	ot_op *op = &g->ops[g->nops];
	size_t units_before = g->t.units;

	ot_op_init(op);
	ot_op_retain(op, g->cursor);
	ot_op_insert(op, ins, ins_len);
	ot_op_delete(op, del);
	ot_op_retain(op, units_before - g->cursor - del);
	if (ot_text_apply(&g->t, op, NULL, 0) < 0)
		abort();
	g->cursor += g->t.units + del - units_before;
	g->nops++;
}

/* UTF-16 width of the character starting at byte b. */
static size_t width_at(const gen *g, size_t b)
{
	return (unsigned char)g->t.s[b] >= 0xF0 ? 2 : 1;
}

static void type_run(gen *g)
{
	const char *line = lines[below(g, sizeof lines / sizeof *lines)];
	size_t i = 0, n = strlen(line), stop = 3 + below(g, 40);

	while (i < n && stop-- && g->nops < TRACE_OPS) {
		unsigned char c = (unsigned char)line[i];
		size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		record(g, 0, line + i, len);
		i += len;
	}
}

static void backspace_run(gen *g)
{
	size_t k = 1 + below(g, 6);

	while (k-- && g->cursor > 0 && g->nops < TRACE_OPS) {
		size_t b = byte_at(g, g->cursor), start = b - 1, w;
		while (start > 0 && ((unsigned char)g->t.s[start] & 0xC0) == 0x80)
			start--;
		w = width_at(g, start);
		g->cursor -= w;
		record(g, w, "", 0);
	}
}

/* Moves the cursor to a random character boundary. */
static void jump(gen *g)
{
	size_t u = below(g, g->t.units + 1), b;
	while (utf_seek(g->t.s, g->t.len, g->t.units, &g->t.mark, u, &b) < 0)
		u++;
	g->cursor = u;
}

/* Deletes a selection of about n units from the cursor. */
static void delete_selection(gen *g, size_t n)
{
	size_t b = byte_at(g, g->cursor), del = 0;
	while (del < n && b < g->t.len) {
		size_t w = width_at(g, b);
		unsigned char c = (unsigned char)g->t.s[b];
		b += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		del += w;
	}
	if (del)
		record(g, del, "", 0);
}

static void record_trace(gen *g)
{
	while (g->nops < TRACE_OPS) {
		size_t what = below(g, 100);
		if (g->t.len > 6000)
			delete_selection(g, 200 + below(g, 1500));
		else if (what < 60)
			type_run(g);
		else if (what < 75)
			backspace_run(g);
		else if (what < 92)
			jump(g);
		else if (what < 96)
			delete_selection(g, 3 + below(g, 40));
		else {
			const char *l = lines[below(g, sizeof lines /
						    sizeof *lines)];
			record(g, 0, l, strlen(l));
		}
	}
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Replays the trace through a fresh doc; returns CPU seconds, or -1 when
 * the result differs from the recording. */
static double replay(const gen *g, const char *start)
{
	doc *d = NULL;
	ot_op t;
	char err[256];
	double t0, t1;
	int bad = 0;

	ot_op_init(&t);
	if (doc_new(start, strlen(start), 0, &d, err, sizeof err) < 0)
		return -1;
	t0 = cpu_now();
	for (size_t i = 0; i < g->nops; i++)
		bad |= doc_receive(d, doc_rev(d), &g->ops[i], &t, NULL, err,
				   sizeof err) < 0;
	t1 = cpu_now();
	bad |= strcmp(doc_text(d, NULL), g->t.s) != 0;
	doc_free(d);
	ot_op_fini(&t);
	return bad ? -1 : t1 - t0;
}

/* ---- concurrent authors: the server's transform work ---- */

#define AUTHORS 64
#define CONC_OPS 100000

/* One author, modelled by the length of their text and their cursor (they
 * type ASCII, so any position is a character boundary), with the usual
 * client state: one op sent and unacknowledged, edits buffered since. */
typedef struct author {
	size_t units, cursor;
	uint64_t rev;
	int has_out, has_buf;
	ot_op out, buf;
} author;

typedef struct sent {
	uint64_t base;
	ot_op op;
	int who;
} sent;

static void author_type(author *a, gen *g, sent *q, size_t *nq, int who)
{
	ot_op op, c;
	char ch = (char)('a' + below(g, 26));

	ot_op_init(&op);
	ot_op_init(&c);
	if (a->cursor > 0 && below(g, 2) == 0) {        /* backspace */
		ot_op_retain(&op, a->cursor - 1);
		ot_op_delete(&op, 1);
		ot_op_retain(&op, a->units - a->cursor);
		a->units--;
		a->cursor--;
	} else {
		ot_op_retain(&op, a->cursor);
		ot_op_insert(&op, &ch, 1);
		ot_op_retain(&op, a->units - a->cursor);
		a->units++;
		a->cursor++;
	}
	if (!a->has_out) {
		q[*nq].base = a->rev;
		q[*nq].who = who;
		ot_op_init(&q[*nq].op);
		ot_op_copy(&q[(*nq)++].op, &op);
		ot_op_copy(&a->out, &op);
		a->has_out = 1;
	} else if (a->has_buf) {
		ot_compose(&a->buf, &op, &c, NULL, 0);
		ot_op_copy(&a->buf, &c);
	} else {
		ot_op_copy(&a->buf, &op);
		a->has_buf = 1;
	}
	ot_op_fini(&op);
	ot_op_fini(&c);
}

/* An author sees someone else's op h (at revision rev). */
static void author_remote(author *a, const ot_op *op, uint64_t rev,
			  ot_op *h, ot_op *t1, ot_op *t2)
{
	ot_op_copy(h, op);
	if (a->has_out) {
		ot_transform(h, &a->out, t1, t2, NULL, 0);
		ot_op_copy(&a->out, t2);
		ot_op_copy(h, t1);
	}
	if (a->has_buf) {
		ot_transform(h, &a->buf, t1, t2, NULL, 0);
		ot_op_copy(&a->buf, t2);
		ot_op_copy(h, t1);
	}
	a->cursor = ot_transform_index(a->cursor, h, 0);
	a->units = h->target_len;
	a->rev = rev;
}

/* Records what the server receives from AUTHORS typing at once, each
 * message based on the revision its author had seen at the last round. */
static size_t record_concurrent(gen *g, sent *log, const char *start)
{
	author *au = calloc(AUTHORS, sizeof *au);
	sent *q = calloc(AUTHORS, sizeof *q);
	size_t nlog = 0, nq = 0, len = strlen(start);
	doc *d = NULL;
	ot_op t, h, t1, t2;

	ot_op_init(&t); ot_op_init(&h); ot_op_init(&t1); ot_op_init(&t2);
	doc_new(start, len, 0, &d, NULL, 0);
	for (int k = 0; k < AUTHORS; k++) {
		au[k].units = len;
		au[k].cursor = below(g, len + 1);
		ot_op_init(&au[k].out);
		ot_op_init(&au[k].buf);
	}
	while (nlog < CONC_OPS) {
		for (int k = 0; k < AUTHORS; k++)
			author_type(&au[k], g, q, &nq, k);
		for (size_t i = 0; i < nq && nlog < CONC_OPS; i++) {
			uint64_t rev;
			if (doc_receive(d, q[i].base, &q[i].op, &t, &rev, NULL,
					0) < 0)
				abort();
			log[nlog].base = q[i].base;
			ot_op_init(&log[nlog].op);
			ot_op_copy(&log[nlog++].op, &q[i].op);
			for (int k = 0; k < AUTHORS; k++) {
				author *a = &au[k];
				if (k != q[i].who) {
					author_remote(a, &t, rev, &h, &t1, &t2);
					continue;
				}
				a->rev = rev;      /* the ack */
				ot_op_copy(&a->out, &a->buf);
				a->has_out = a->has_buf;
				a->has_buf = 0;
			}
		}
		for (size_t i = 0; i < nq; i++)
			ot_op_fini(&q[i].op);
		nq = 0;
		for (int k = 0; k < AUTHORS; k++)   /* send what was acked */
			if (au[k].has_out && au[k].rev == doc_rev(d) &&
			    nq < AUTHORS) {
				q[nq].base = au[k].rev;
				q[nq].who = k;
				ot_op_init(&q[nq].op);
				ot_op_copy(&q[nq++].op, &au[k].out);
			}
	}
	for (size_t i = 0; i < nq; i++)
		ot_op_fini(&q[i].op);
	for (int k = 0; k < AUTHORS; k++) {
		ot_op_fini(&au[k].out);
		ot_op_fini(&au[k].buf);
	}
	free(au);
	free(q);
	doc_free(d);
	ot_op_fini(&t); ot_op_fini(&h); ot_op_fini(&t1); ot_op_fini(&t2);
	return nlog;
}

/* About 3 KB of ASCII code for the authors to share. */
static const char *ascii_start(void)
{
	static char buf[3200];
	size_t n = 0;
	for (int i = 0; n + 60 < sizeof buf; i++) {
		const char *l = lines[(size_t)i % 3];   /* the ASCII lines */
		memcpy(buf + n, l, strlen(l));
		n += strlen(l);
	}
	buf[n] = '\0';
	return buf;
}

static void bench_concurrent(gen *g, const char *start)
{
	sent *log = calloc(CONC_OPS, sizeof *log);
	size_t n = record_concurrent(g, log, start);
	double lag = 0, t0, t1;
	doc *d = NULL;
	ot_op t;

	ot_op_init(&t);
	doc_new(start, strlen(start), 0, &d, NULL, 0);
	t0 = cpu_now();
	for (size_t i = 0; i < n; i++) {
		lag += (double)(doc_rev(d) - log[i].base);
		if (doc_receive(d, log[i].base, &log[i].op, &t, NULL, NULL, 0) < 0)
			abort();
	}
	t1 = cpu_now();
	fprintf(stderr, "ot: concurrent authors=%d ops=%zu mean_lag_revs=%.1f "
		"receive_ops_per_s=%.0f\n", AUTHORS, n, lag / (double)n,
		(double)n / (t1 - t0));
	for (size_t i = 0; i < n; i++)
		ot_op_fini(&log[i].op);
	free(log);
	ot_op_fini(&t);
	doc_free(d);
}

int main(void)
{
	const char *start = "// tutti\nsetcps(0.5)\n";
	gen g = { .seed = 0x6f74617070ULL };
	double best = 0;

	g.ops = calloc(TRACE_OPS, sizeof *g.ops);
	if (!g.ops || ot_text_init(&g.t, start, strlen(start), NULL, 0) < 0)
		return 1;
	record_trace(&g);
	for (int p = 0; p < PASSES; p++) {
		double s = replay(&g, start);
		if (s < 0) {
			fprintf(stderr, "ot: replay differs from the recording\n");
			return 1;
		}
		if (best == 0 || s < best)
			best = s;
	}
	printf("ot: apply_ops_per_s=%.0f\n", (double)g.nops / best);
	fflush(stdout);
	fprintf(stderr, "ot: %zu ops, final text %zu bytes (%zu units)\n",
		g.nops, g.t.len, g.t.units);
	bench_concurrent(&g, ascii_start());
	for (size_t i = 0; i < g.nops; i++)
		ot_op_fini(&g.ops[i]);
	free(g.ops);
	ot_text_fini(&g.t);
	return 0;
}
