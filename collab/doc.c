/*
 * collab/doc.c: the server-authoritative document and its window of recent
 * operations.
 *
 * Design note. The window is a ring of ot_op values. Receiving an op
 * transforms it through the window's tail into two scratch ops used in
 * turn, then swaps the result into the ring: the slot it replaces (the
 * oldest op, once the ring is full) becomes scratch, so in steady state an
 * edit allocates nothing. Every step that can fail runs before the first
 * change to the doc, which is what makes doc_receive atomic.
 *
 * Invariants:
 *  1. Revision r is the composition of operations 1..r applied to the
 *     initial text; the text is always the text at revision rev.
 *  2. The window holds operations rev-count+1 .. rev, in order, at
 *     ring[(start + j) % ring_cap] for j in 0..count-1.
 *  3. count <= TT_MAX_OT_HISTORY; bytes (the window's size by op_size) is
 *     at most TT_MAX_OT_HISTORY_BYTES unless count == 1.
 *  4. Every op in the window has base length = the text length at the
 *     revision before it.
 *  5. ring_caps is the sum of op_buffers over every slot of the ring
 *     (slots outside the window hold none), and after each doc_new and
 *     doc_receive counted = doc_memory(d), this doc's share of
 *     docs_memory.
 */
#include "collab/doc.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "collab/collab_int.h"
#include "common/limits.h"

struct doc {
	ot_text text;
	uint64_t rev;
	ot_op *ring;
	size_t ring_cap;
	size_t start;
	size_t count;
	size_t bytes;
	ot_op scratch[2];
	size_t ring_caps;        /* the ring's ops' buffers, by capacity */
	size_t counted;          /* this doc's share of docs_memory */
};

/* What all docs hold, for doc_memory_total: kept as each doc changes, so
 * reading it needs neither the docs nor their threads. */
static atomic_size_t docs_memory;

/* The buffers an op holds, by capacity. */
static size_t op_buffers(const ot_op *op)
{
	return op->comps_cap * sizeof *op->comps + op->text_cap;
}

/* The memory a doc holds, as doc_memory_total counts it: every buffer by
 * its capacity, malloc's own overhead aside. Ops only move between the
 * ring and the scratch ops, so the ring's share is kept as they move
 * (ring_caps) and the scratch ops' is read. */
static size_t doc_memory(const doc *d)
{
	return sizeof *d + d->text.cap + d->text.offs_cap * sizeof *d->text.offs +
	       d->ring_cap * sizeof *d->ring + d->ring_caps +
	       op_buffers(&d->scratch[0]) + op_buffers(&d->scratch[1]);
}

static void recount(doc *d)
{
	size_t now = doc_memory(d);

	if (now >= d->counted)
		atomic_fetch_add_explicit(&docs_memory, now - d->counted, memory_order_relaxed);
	else
		atomic_fetch_sub_explicit(&docs_memory, d->counted - now, memory_order_relaxed);
	d->counted = now;
}

size_t doc_memory_total(void)
{
	return atomic_load_explicit(&docs_memory, memory_order_relaxed);
}

static size_t op_size(const ot_op *op)
{
	return sizeof *op + op->text_len + op->ncomps * sizeof(ot_comp);
}

int doc_new(const char *text, size_t len, uint64_t rev, doc **out,
	    char *err, size_t errsz)
{
	doc *d = calloc(1, sizeof *d);
	int rc;

	if (!d)
		return collab__fail(TT_ENOMEM, err, errsz, "out of memory");
	rc = ot_text_init(&d->text, text, len, err, errsz);
	if (rc < 0) {
		free(d);
		return rc;
	}
	d->rev = rev;
	ot_op_init(&d->scratch[0]);
	ot_op_init(&d->scratch[1]);
	recount(d);
	*out = d;
	return TT_OK;
}

void doc_free(doc *d)
{
	if (!d)
		return;
	atomic_fetch_sub_explicit(&docs_memory, d->counted, memory_order_relaxed);
	for (size_t i = 0; i < d->ring_cap; i++)
		ot_op_fini(&d->ring[i]);
	free(d->ring);
	ot_op_fini(&d->scratch[0]);
	ot_op_fini(&d->scratch[1]);
	ot_text_fini(&d->text);
	free(d);
}

const char *doc_text(const doc *d, size_t *len)
{
	if (len)
		*len = d->text.len;
	return d->text.s;
}

size_t doc_units(const doc *d)
{
	return d->text.units;
}

uint64_t doc_rev(const doc *d)
{
	return d->rev;
}

uint64_t doc_oldest_rev(const doc *d)
{
	return d->rev - d->count;
}

size_t doc_window_bytes(const doc *d)
{
	return d->bytes;
}

static const ot_op *window_at(const doc *d, size_t j)
{
	return &d->ring[(d->start + j) % d->ring_cap];
}

/* Makes room for one more op in the ring when it is not yet at its
 * maximum size. */
static int ring_reserve(doc *d)
{
	size_t cap;
	ot_op *r;

	if (d->count < d->ring_cap || d->ring_cap == TT_MAX_OT_HISTORY)
		return TT_OK;
	cap = d->ring_cap ? d->ring_cap * 2 : 16;
	if (cap > TT_MAX_OT_HISTORY)
		cap = TT_MAX_OT_HISTORY;
	r = calloc(cap, sizeof *r);
	if (!r)
		return TT_ENOMEM;
	for (size_t j = 0; j < d->count; j++)
		r[j] = *window_at(d, j);
	free(d->ring);
	d->ring = r;
	d->ring_cap = cap;
	d->start = 0;
	return TT_OK;
}

/* Moves *op's contents into the window as the newest operation; *op gets
 * the replaced slot's (empty or oldest) op for reuse. Cannot fail. */
static void window_push(doc *d, ot_op *op)
{
	size_t slot;
	ot_op tmp;

	d->ring_caps += op_buffers(op);
	if (d->count == d->ring_cap) {      /* full at TT_MAX_OT_HISTORY */
		slot = d->start;
		d->bytes -= op_size(&d->ring[slot]);
		d->start = (d->start + 1) % d->ring_cap;
		d->count--;
	} else {
		slot = (d->start + d->count) % d->ring_cap;
	}
	tmp = d->ring[slot];
	d->ring[slot] = *op;
	*op = tmp;
	d->ring_caps -= op_buffers(op);
	d->count++;
	d->bytes += op_size(&d->ring[slot]);
	while (d->bytes > TT_MAX_OT_HISTORY_BYTES && d->count > 1) {
		ot_op *old = &d->ring[d->start];
		d->bytes -= op_size(old);
		d->ring_caps -= op_buffers(old);
		ot_op_fini(old);
		d->start = (d->start + 1) % d->ring_cap;
		d->count--;
	}
}

/* Checks base_rev and op's base length against the text at base_rev. */
static int check_base(const doc *d, uint64_t base_rev, const ot_op *op,
		      char *err, size_t errsz)
{
	size_t want;

	if (base_rev > d->rev)
		return collab__fail(TT_EINVAL, err, errsz,
			    "base revision %llu is ahead of the document "
			    "(revision %llu)", (unsigned long long)base_rev,
			    (unsigned long long)d->rev);
	if (base_rev < d->rev - d->count)
		return collab__fail(TT_ECONFLICT, err, errsz,
			    "base revision %llu is older than the oldest "
			    "revision kept (%llu): reload the document",
			    (unsigned long long)base_rev,
			    (unsigned long long)(d->rev - d->count));
	want = base_rev == d->rev ? d->text.units
		: window_at(d, d->count - (size_t)(d->rev - base_rev))->base_len;
	if (op->base_len != want)
		return collab__fail(TT_EINVAL, err, errsz,
			    "operation's base length %zu differs from the "
			    "document's length %zu at revision %llu",
			    op->base_len, want, (unsigned long long)base_rev);
	return TT_OK;
}

/* Transforms op over the window's operations after base_rev into one of
 * the scratch ops; *res points at it. */
static int transform_over(doc *d, uint64_t base_rev, const ot_op *op,
			  ot_op **res, char *err, size_t errsz)
{
	size_t first = d->count - (size_t)(d->rev - base_rev);
	const ot_op *cur = op;
	int which = 0, rc;

	for (size_t j = first; j < d->count; j++) {
		ot_op *next = &d->scratch[which];
		rc = ot_transform(window_at(d, j), cur, NULL, next, err, errsz);
		if (rc < 0)
			return rc;
		cur = next;
		which ^= 1;
	}
	if (cur == op) {
		rc = ot_op_copy(&d->scratch[0], op);
		if (rc < 0)
			return collab__fail(rc, err, errsz, "out of memory");
		cur = &d->scratch[0];
	}
	*res = (ot_op *)cur;
	return TT_OK;
}

int doc_receive(doc *d, uint64_t base_rev, const ot_op *op,
		ot_op *transformed, uint64_t *new_rev, char *err,
		size_t errsz)
{
	ot_op *res = NULL;
	int rc;

	rc = check_base(d, base_rev, op, err, errsz);
	if (rc < 0)
		goto out;
	rc = transform_over(d, base_rev, op, &res, err, errsz);
	if (rc < 0)
		goto out;
	rc = ring_reserve(d);
	if (rc == TT_OK && transformed)
		rc = ot_op_copy(transformed, res);
	if (rc < 0) {
		rc = collab__fail(rc, err, errsz, "out of memory");
		goto out;
	}
	rc = ot_text_apply(&d->text, res, err, errsz);
	if (rc < 0)
		goto out;
	window_push(d, res);
	d->rev++;
	if (new_rev)
		*new_rev = d->rev;
out:
	if (rc < 0 && transformed)
		ot_op_clear(transformed);
	recount(d);         /* the ring or the text may have grown, even on error */
	return rc;
}

int doc_ops_since(const doc *d, uint64_t rev, const ot_op **ops, size_t max,
		  size_t *n)
{
	size_t k;

	if (rev > d->rev)
		return TT_EINVAL;
	if (rev < d->rev - d->count)
		return TT_ECONFLICT;
	k = (size_t)(d->rev - rev);
	if (k > max)
		return TT_ELIMIT;
	for (size_t j = 0; j < k; j++)
		ops[j] = window_at(d, d->count - k + j);
	*n = k;
	return TT_OK;
}
