/*
 * tests/collab/test_doc.c: the server-authoritative document: receiving
 * concurrent operations, atomic refusal, the revision window at its limit,
 * reconnect replay, and an in-process simulation of 16 clients editing at
 * once over connections with random delays, all converging on the doc.
 */
#include <stdlib.h>
#include <string.h>

#include "collab/doc.h"
#include "common/error.h"
#include "common/heap.h"
#include "common/limits.h"
#include "tests/collab/oplib.h"
#include "tests/tap.h"

#define EMOJI "\xf0\x9f\x98\x80"

static int receive_json(doc *d, uint64_t base, const char *json, char *err,
			size_t errsz)
{
	ot_op op;
	uint64_t rev = 0;
	int rc;

	oplib_op(&op, json);
	rc = doc_receive(d, base, &op, NULL, &rev, err, errsz);
	ot_op_fini(&op);
	return rc;
}

static void test_receive(void)
{
	doc *d = NULL;
	ot_op op, t;
	uint64_t rev = 0;
	char err[300] = "";

	is_int(doc_new("ab", 2, 7, &d, err, sizeof err), TT_OK, "doc_new");
	is_int(doc_rev(d), 7, "starts at the given revision");
	is_int(doc_oldest_rev(d), 7, "empty window accepts only the head");
	ot_op_init(&t);
	is_int(doc_receive(d, 7, oplib_op(&op, "[1,\"X\",1]"), &t, &rev, err,
			   sizeof err), TT_OK, "op at the head is applied");
	is_int(rev, 8, "new revision 8");
	ok(ot_op_equal(&t, &op), "op at the head is not changed");
	is_str(doc_text(d, NULL), "aXb", "text after revision 8");
	ot_op_fini(&op);
	/* a second client, still at revision 7, inserts at the same place */
	is_int(doc_receive(d, 7, oplib_op(&op, "[1,\"Y\",1]"), &t, &rev, err,
			   sizeof err), TT_OK, "concurrent op is applied");
	is_int(rev, 9, "new revision 9");
	is_str(doc_text(d, NULL), "aXYb",
	       "the op applied first keeps its place at a tie");
	ot_op_fini(&op);
	oplib_op(&op, "[2,\"Y\",1]");
	ok(ot_op_equal(&t, &op), "transformed op is returned for broadcast");
	ot_op_fini(&op);
	is_int(doc_receive(d, 8, oplib_op(&op, "[-3]"), &t, &rev, err,
			   sizeof err), TT_OK, "op based on revision 8");
	is_str(doc_text(d, NULL), "Y", "delete transformed over revision 9");
	is_int(doc_units(d), 1, "one unit left");
	ot_op_fini(&op);
	ot_op_fini(&t);
	doc_free(d);
}

/* Every refusal leaves text, revision and window exactly as they were. */
static void check_refused(doc *d, uint64_t base, const char *json, int code,
			  const char *needle)
{
	char err[300] = "";
	char *before = strdup(doc_text(d, NULL));
	uint64_t rev = doc_rev(d), oldest = doc_oldest_rev(d);

	is_int(receive_json(d, base, json, err, sizeof err), code,
	       "%s at %llu is refused", json, (unsigned long long)base);
	if (!ok(strstr(err, needle) != NULL, "message names '%s'", needle))
		printf("#   message: %s\n", err);
	ok(strcmp(before, doc_text(d, NULL)) == 0 && rev == doc_rev(d) &&
	   oldest == doc_oldest_rev(d), "doc unchanged after refusing %s",
	   json);
	free(before);
}

static void test_refusals(void)
{
	doc *d = NULL;
	char err[300];

	doc_new("a" EMOJI, 5, 0, &d, NULL, 0);
	receive_json(d, 0, "[3,\"b\"]", NULL, 0);
	receive_json(d, 1, "[4,\"c\"]", NULL, 0);
	check_refused(d, 3, "[5]", TT_EINVAL, "ahead");
	check_refused(d, 2, "[4]", TT_EINVAL, "base length 4");
	check_refused(d, 0, "[4]", TT_EINVAL, "revision 0");
	check_refused(d, 2, "[2,-1,2]", TT_EINVAL, "surrogate");
	check_refused(d, 0, "[2,\"x\",1]", TT_EINVAL, "surrogate");
	is_int(doc_new("\xc3", 1, 0, &d, err, sizeof err), TT_EINVAL,
	       "doc_new refuses invalid UTF-8");
	doc_free(d);
}

static void test_size_limit(void)
{
	size_t n = TT_MAX_DOC_BYTES;
	char *s = malloc(n + 2);
	char err[300] = "";
	doc *d = NULL, *d2 = NULL;
	ot_op op;

	memset(s, 'x', n + 1);
	s[n + 1] = '\0';
	is_int(doc_new(s, n + 1, 0, &d, err, sizeof err), TT_ELIMIT,
	       "doc of TT_MAX_DOC_BYTES + 1 is TT_ELIMIT");
	is_int(doc_new(s, n - 1, 0, &d, err, sizeof err), TT_OK,
	       "doc of TT_MAX_DOC_BYTES - 1 is accepted");
	ot_op_init(&op);
	ot_op_retain(&op, n - 1);
	ot_op_insert(&op, "\xc3\xa9", 2);
	check_refused(d, 0, "[]", TT_EINVAL, "base length 0");
	is_int(doc_receive(d, 0, &op, NULL, NULL, err, sizeof err), TT_ELIMIT,
	       "growing to TT_MAX_DOC_BYTES + 1 is TT_ELIMIT");
	is_int(doc_rev(d), 0, "refused growth keeps the revision");
	ot_op_clear(&op);
	ot_op_retain(&op, n - 1);
	ot_op_insert(&op, "y", 1);
	is_int(doc_receive(d, 0, &op, NULL, NULL, err, sizeof err), TT_OK,
	       "growing to exactly TT_MAX_DOC_BYTES is accepted");
	is_int(doc_new(s, n, 0, &d2, err, sizeof err), TT_OK,
	       "doc of TT_MAX_DOC_BYTES is accepted");
	ot_op_fini(&op);
	doc_free(d);
	doc_free(d2);
	free(s);
}

/* Pushes k one-character inserts at the head. */
static void push_ops(doc *d, int k)
{
	ot_op op;
	ot_op_init(&op);
	for (int i = 0; i < k; i++) {
		ot_op_clear(&op);
		ot_op_insert(&op, "z", 1);
		ot_op_retain(&op, doc_units(d));
		doc_receive(d, doc_rev(d), &op, NULL, NULL, NULL, 0);
	}
	ot_op_fini(&op);
}

static void test_window(void)
{
	doc *d = NULL;
	const ot_op **ops = calloc(TT_MAX_OT_HISTORY, sizeof *ops);
	char err[300] = "";
	uint64_t head;
	size_t n = 0;

	doc_new("", 0, 0, &d, NULL, 0);
	push_ops(d, TT_MAX_OT_HISTORY + 5);
	head = doc_rev(d);
	is_int(head, TT_MAX_OT_HISTORY + 5, "all ops applied");
	is_int(doc_oldest_rev(d), head - TT_MAX_OT_HISTORY,
	       "window holds TT_MAX_OT_HISTORY ops");
	is_int(doc_ops_since(d, head - TT_MAX_OT_HISTORY, ops,
			     TT_MAX_OT_HISTORY, &n), TT_OK,
	       "replay of TT_MAX_OT_HISTORY ops");
	is_int(n, TT_MAX_OT_HISTORY, "all of them returned");
	is_int(doc_ops_since(d, head - TT_MAX_OT_HISTORY, ops,
			     TT_MAX_OT_HISTORY - 1, &n), TT_ELIMIT,
	       "replay larger than max is TT_ELIMIT");
	is_int(doc_ops_since(d, head - TT_MAX_OT_HISTORY - 1, ops,
			     TT_MAX_OT_HISTORY, &n), TT_ECONFLICT,
	       "replay from before the window is TT_ECONFLICT");
	is_int(doc_ops_since(d, head + 1, ops, TT_MAX_OT_HISTORY, &n),
	       TT_EINVAL, "replay from the future is TT_EINVAL");
	is_int(doc_ops_since(d, head, ops, TT_MAX_OT_HISTORY, &n), TT_OK,
	       "replay from the head");
	is_int(n, 0, "returns nothing");
	check_refused(d, head - TT_MAX_OT_HISTORY - 1, "[\"q\",5]",
		      TT_ECONFLICT, "reload");
	is_int(receive_json(d, head - TT_MAX_OT_HISTORY, "[\"q\",5]", err,
			    sizeof err), TT_OK,
	       "op based TT_MAX_OT_HISTORY revisions back is accepted");
	ok(strncmp(doc_text(d, NULL) + TT_MAX_OT_HISTORY, "q", 1) == 0,
	   "and lands after the inserts made since");
	free(ops);
	doc_free(d);
}

/* Pushes an insert of n 'w's at the start, or a delete of n units. */
static int push_big(doc *d, const char *w, size_t n, int insert)
{
	ot_op op;
	int rc;

	ot_op_init(&op);
	if (insert)
		ot_op_insert(&op, w, n);
	else
		ot_op_delete(&op, n);
	ot_op_retain(&op, doc_units(d) - (insert ? 0 : n));
	rc = doc_receive(d, doc_rev(d), &op, NULL, NULL, NULL, 0);
	ot_op_fini(&op);
	return rc;
}

/* The window fills to exactly TT_MAX_OT_HISTORY_BYTES keeping every op;
 * one byte more drops the oldest. */
static void test_window_bytes(void)
{
	const size_t big = 1000000, budget = TT_MAX_OT_HISTORY_BYTES;
	char *w = malloc(big + 2000);
	size_t c_ins, c_del, left;
	doc *d = NULL;
	int fails = 0;

	memset(w, 'w', big + 2000);
	doc_new("", 0, 0, &d, NULL, 0);
	fails += push_big(d, w, 1, 1) < 0;
	c_ins = doc_window_bytes(d) - 1;        /* an insert costs c_ins + n */
	fails += push_big(d, w, 1, 0) < 0;
	c_del = doc_window_bytes(d) - c_ins - 1;
	while (budget - doc_window_bytes(d) >= 2 * c_ins + big + c_del + 1000) {
		fails += push_big(d, w, big, 1) < 0;
		fails += push_big(d, w, big, 0) < 0;
	}
	left = budget - doc_window_bytes(d) - c_ins;
	fails += push_big(d, w, left, 1) < 0;
	is_int(fails, 0, "large edits applied");
	is_int(doc_window_bytes(d), budget,
	       "window holds exactly TT_MAX_OT_HISTORY_BYTES");
	is_int(doc_oldest_rev(d), 0, "and still every op");
	fails += push_big(d, w, left, 0) < 0;
	ok(doc_oldest_rev(d) > 0, "past TT_MAX_OT_HISTORY_BYTES the oldest "
	   "ops leave (oldest now %llu)",
	   (unsigned long long)doc_oldest_rev(d));
	ok(doc_window_bytes(d) <= budget, "window back under the limit");
	doc_free(d);
	free(w);
}

/* doc_memory_total follows each doc: it grows while a window fills, stays
 * put once the window is full (TT_MAX_OT_HISTORY) and the text is not
 * growing, and drops back when the doc is freed. */
static void test_memory_total(void)
{
	size_t before = doc_memory_total(), filled, full;
#ifdef TT_HEAP_STATS
	size_t heap0 = tt_heap_in_use();
#endif
	char text[4096];
	doc *d = NULL, *e = NULL;
	int fails = 0;

	memset(text, 'a', sizeof text);
	doc_new(text, sizeof text, 0, &d, NULL, 0);
	ok(doc_memory_total() >= before + sizeof text,
	   "a new doc counts at least its text (%zu bytes more)", doc_memory_total() - before);
	for (int i = 0; i < TT_MAX_OT_HISTORY; i++)
		fails += push_big(d, "x", 1, i % 2 == 0) < 0;
	filled = doc_memory_total();
	ok(filled > before + sizeof text + TT_MAX_OT_HISTORY * sizeof(ot_op),
	   "a window of TT_MAX_OT_HISTORY ops is counted (%zu bytes)", filled - before);
#ifdef TT_HEAP_STATS
	/* What malloc says the doc took: the count misses only malloc's own
	 * overhead, at most a header and rounding per buffer (2 per op). */
	{
		size_t heap = tt_heap_in_use() - heap0, counted = filled - before;
		ok(heap >= counted && heap - counted <= (size_t)TT_MAX_OT_HISTORY * 2 * 32 + 65536,
		   "the count agrees with malloc's (%zu counted, %zu in use)", counted, heap);
	}
#endif
	/* Full, each new op takes the oldest one's slot and buffers: once
	 * every slot has been reused (two more rounds), the total stays put. */
	for (int i = 0; i < 2 * TT_MAX_OT_HISTORY; i++)
		fails += push_big(d, "x", 1, i % 2 == 0) < 0;
	full = doc_memory_total();
	for (int i = 0; i < TT_MAX_OT_HISTORY; i++)
		fails += push_big(d, "x", 1, i % 2 == 0) < 0;
	is_int(fails, 0, "4 x TT_MAX_OT_HISTORY edits applied");
	is_int(doc_memory_total(), full, "a full window of the same edits: the total stays put");
	doc_new("", 0, 0, &e, NULL, 0);
	fails += push_big(e, "x", 1, 1) < 0;
	ok(doc_memory_total() > full, "a second doc adds its own");
	doc_free(e);
	is_int(doc_memory_total(), full, "freeing it takes its share back");
	doc_free(d);
	is_int(doc_memory_total(), before, "freeing the first: back where it started");
}

/* Loading a snapshot and replaying the window rebuilds the same text. */
static void test_replay(void)
{
	rng r = { 99 };
	doc *d = NULL, *copy = NULL;
	const ot_op **ops = calloc(TT_MAX_OT_HISTORY, sizeof *ops);
	char *snap;
	uint64_t snap_rev;
	size_t n = 0;
	int fails = 0;
	ot_op op;

	ot_op_init(&op);
	doc_new("start " EMOJI, 10, 100, &d, NULL, 0);
	for (int i = 0; i < 50; i++) {
		const char *t = doc_text(d, NULL);
		oplib_rand_op(&r, t, strlen(t), 5, &op);
		fails += doc_receive(d, doc_rev(d), &op, NULL, NULL, NULL, 0) < 0;
	}
	snap = strdup(doc_text(d, NULL));
	snap_rev = doc_rev(d);
	for (int i = 0; i < 50; i++) {
		const char *t = doc_text(d, NULL);
		oplib_rand_op(&r, t, strlen(t), 5, &op);
		fails += doc_receive(d, doc_rev(d), &op, NULL, NULL, NULL, 0) < 0;
	}
	doc_new(snap, strlen(snap), snap_rev, &copy, NULL, 0);
	fails += doc_ops_since(d, snap_rev, ops, TT_MAX_OT_HISTORY, &n) < 0;
	for (size_t i = 0; i < n; i++)
		fails += doc_receive(copy, doc_rev(copy), ops[i], NULL, NULL,
				     NULL, 0) < 0;
	is_int(fails, 0, "random edits and replay all succeed");
	is_int(n, 50, "50 ops since the snapshot");
	is_str(doc_text(copy, NULL), doc_text(d, NULL),
	       "snapshot + replay gives the same text");
	is_int(doc_rev(copy), doc_rev(d), "and the same revision");
	free(snap);
	free(ops);
	ot_op_fini(&op);
	doc_free(d);
	doc_free(copy);
}

/* ---- simulation: clients over ordered connections with random delays ---- */

typedef struct msg {
	int ack;        /* 1: ack of the client's op; 0: someone's op */
	uint64_t rev;   /* revision after the op; for up messages the base */
	ot_op op;
} msg;

typedef struct queue {
	msg *m;
	size_t head, n, cap;
} queue;

typedef struct client {
	char *text;
	uint64_t rev;
	int has_out, has_buf;   /* op sent and unacknowledged; op not sent */
	ot_op out, buf;
	queue up, down;         /* to the server; from the server */
} client;

static void q_push(queue *q, int ack, uint64_t rev, const ot_op *op)
{
	msg *m;
	if (q->head + q->n == q->cap) {
		if (q->head) {
			memmove(q->m, q->m + q->head, q->n * sizeof *q->m);
			q->head = 0;
		} else {
			q->cap = q->cap ? 2 * q->cap : 16;
			q->m = realloc(q->m, q->cap * sizeof *q->m);
		}
	}
	m = &q->m[q->head + q->n++];
	m->ack = ack;
	m->rev = rev;
	ot_op_init(&m->op);
	if (op)
		ot_op_copy(&m->op, op);
}

static msg *q_front(queue *q)
{
	return q->n ? &q->m[q->head] : NULL;
}

static void q_pop(queue *q)
{
	ot_op_fini(&q->m[q->head].op);
	q->head++;
	q->n--;
}

static void set_text(client *c, char *t)
{
	free(c->text);
	c->text = t ? t : strdup("<apply failed>");
}

/* The client edits its own text and sends or buffers the op. */
static void client_edit(client *c, rng *r, int *fails)
{
	ot_op op, comp;
	ot_op_init(&op);
	ot_op_init(&comp);
	if (rng_below(r, 20) == 0)   /* now and then a scattered edit */
		oplib_rand_op(r, c->text, strlen(c->text), 12, &op);
	else
		oplib_rand_local_op(r, c->text, strlen(c->text), &op);
	set_text(c, oplib_apply(c->text, &op));
	if (!c->has_out) {
		q_push(&c->up, 0, c->rev, &op);
		ot_op_copy(&c->out, &op);
		c->has_out = 1;
	} else if (c->has_buf) {
		char e[300];
		if (ot_compose(&c->buf, &op, &comp, e, sizeof e) < 0 &&
		    !(*fails)++)
			printf("#   compose: %s\n", e);
		ot_op_copy(&c->buf, &comp);
	} else {
		ot_op_copy(&c->buf, &op);
		c->has_buf = 1;
	}
	ot_op_fini(&op);
	ot_op_fini(&comp);
}

/* The client takes one message from the server. */
static void client_take(client *c, int *fails)
{
	msg *m = q_front(&c->down);
	ot_op h, tmp, next;

	c->rev = m->rev;
	if (m->ack) {
		if (c->has_buf)
			q_push(&c->up, 0, c->rev, &c->buf);
		ot_op_copy(&c->out, &c->buf);
		c->has_out = c->has_buf;
		c->has_buf = 0;
		q_pop(&c->down);
		return;
	}
	ot_op_init(&h);
	ot_op_init(&tmp);
	ot_op_init(&next);
	ot_op_copy(&h, &m->op);
	if (c->has_out) {   /* the server's op was applied first: it is left */
		char e[300];
		if (ot_transform(&h, &c->out, &next, &tmp, e, sizeof e) < 0 &&
		    !(*fails)++)
			printf("#   transform: %s\n", e);
		ot_op_copy(&c->out, &tmp);
		ot_op_copy(&h, &next);
	}
	if (c->has_buf) {
		char e[300];
		if (ot_transform(&h, &c->buf, &next, &tmp, e, sizeof e) < 0 &&
		    !(*fails)++)
			printf("#   transform: %s\n", e);
		ot_op_copy(&c->buf, &tmp);
		ot_op_copy(&h, &next);
	}
	set_text(c, oplib_apply(c->text, &h));
	if (!strcmp(c->text, "<apply failed>") && !(*fails)++)
		printf("#   apply failed\n");
	q_pop(&c->down);
	ot_op_fini(&h);
	ot_op_fini(&tmp);
	ot_op_fini(&next);
}

/* The server takes one op from client k and acks and broadcasts it. */
static void server_take(doc *d, client *cl, int nc, int k, int *fails)
{
	msg *m = q_front(&cl[k].up);
	ot_op t;
	uint64_t rev = 0;
	char err[300];

	ot_op_init(&t);
	if (doc_receive(d, m->rev, &m->op, &t, &rev, err, sizeof err) < 0) {
		if (!(*fails)++)
			printf("#   doc_receive: %s\n", err);
	} else {
		for (int i = 0; i < nc; i++)
			q_push(&cl[i].down, i == k, rev, i == k ? NULL : &t);
	}
	q_pop(&cl[k].up);
	ot_op_fini(&t);
}

/* One tick: every connection delivers its next message with probability
 * 1/4 (order kept, delay random); clients edit while edits remain. */
static int sim_tick(doc *d, client *cl, int nc, rng *r, int *edits,
		    int *fails)
{
	int busy = 0;
	for (int k = 0; k < nc; k++) {
		if (*edits > 0 && rng_below(r, 8) == 0) {
			client_edit(&cl[k], r, fails);
			(*edits)--;
		}
		if (cl[k].up.n && (*edits <= 0 || rng_below(r, 4) == 0))
			server_take(d, cl, nc, k, fails);
		if (cl[k].down.n && (*edits <= 0 || rng_below(r, 4) == 0))
			client_take(&cl[k], fails);
		busy |= cl[k].up.n || cl[k].down.n;
	}
	return busy || *edits > 0;
}

static void test_simulation(int nc, int edits, uint64_t seed)
{
	rng r = { seed };
	client *cl = calloc((size_t)nc, sizeof *cl);
	const char *start = "s(\"bd sd\") // \xf0\x9f\x8e\xb5 caf\xc3\xa9";
	int fails = 0, same = 1, total = edits, idle = 1;
	doc *d = NULL;

	doc_new(start, strlen(start), 0, &d, NULL, 0);
	for (int k = 0; k < nc; k++) {
		cl[k].text = strdup(start);
		ot_op_init(&cl[k].out);
		ot_op_init(&cl[k].buf);
	}
	while (sim_tick(d, cl, nc, &r, &edits, &fails))
		;
	for (int k = 0; k < nc; k++) {
		same &= strcmp(cl[k].text, doc_text(d, NULL)) == 0 &&
			cl[k].rev == doc_rev(d);
		idle &= !cl[k].has_out && !cl[k].has_buf;
	}
	is_int(fails, 0, "%d clients, %d edits: every op accepted", nc, total);
	ok(idle, "%d clients: every op acknowledged", nc);
	ok(same, "%d clients converge on the doc's text (%zu units) and "
	   "revision %llu", nc, doc_units(d), (unsigned long long)doc_rev(d));
	ok(doc_rev(d) > 0 && doc_rev(d) <= (uint64_t)total,
	   "%d clients: revisions counted (%llu for %d edits, buffered "
	   "edits composed)", nc, (unsigned long long)doc_rev(d), total);
	for (int k = 0; k < nc; k++) {
		free(cl[k].text);
		ot_op_fini(&cl[k].out);
		ot_op_fini(&cl[k].buf);
		free(cl[k].up.m);
		free(cl[k].down.m);
	}
	free(cl);
	doc_free(d);
}

int main(void)
{
	test_receive();
	test_refusals();
	test_size_limit();
	test_window();
	test_window_bytes();
	test_memory_total();
	test_replay();
	test_simulation(16, 3000, 0x5eed1ULL);
	test_simulation(5, 5000, 0x5eed2ULL);
	return tap_done();
}
