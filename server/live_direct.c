/* server/live_direct.c: see live_direct.h for the design and invariants. */
#include "server/live_direct.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "common/error.h"
#include "server/spsc.h"

/* The rings hold as many events as the pending list: a burst the size of
 * the list fits in whole before the render thread takes it. */
#define RING_SLOTS TT_MAX_DIRECT_PENDING

typedef struct pending {
	live_direct_msg m;
	int64_t frame;             /* the frame it is due at */
} pending;

struct live_direct {
	spsc in, out;
	/* The render thread's. */
	pending p[TT_MAX_DIRECT_PENDING];
	int n;
	bool started;
	int64_t start_ns;
	live_direct_done done;     /* scratch for a report */
	atomic_uint_fast64_t unreported;
};

int live_direct_new(live_direct **out)
{
	live_direct *d = calloc(1, sizeof *d);

	if (!d)
		return TT_ENOMEM;
	if (spsc_init(&d->in, sizeof(live_direct_msg), RING_SLOTS) != TT_OK ||
	    spsc_init(&d->out, sizeof(live_direct_done), RING_SLOTS) != TT_OK) {
		live_direct_free(d);
		return TT_ENOMEM;
	}
	*out = d;
	return TT_OK;
}

void live_direct_free(live_direct *d)
{
	if (!d)
		return;
	spsc_fini(&d->in);
	spsc_fini(&d->out);
	free(d);
}

int64_t live_direct_frame_at(int64_t start_ns, int64_t due_ns)
{
	int64_t d = due_ns - start_ns;

	if (d <= 0)
		return 0;
	return d / 1000000000 * RENDER_RATE + (d % 1000000000 * RENDER_RATE + 500000000) / 1000000000;
}

static void report(live_direct *d, const live_direct_msg *m, int64_t frame, bool late,
		   bool dropped)
{
	d->done.m = *m;
	d->done.frame = frame;
	d->done.late = late;
	d->done.dropped = dropped;
	if (!spsc_push(&d->out, &d->done))
		atomic_fetch_add_explicit(&d->unreported, 1, memory_order_relaxed);
}

/* Moves new events from the ring into the pending list, each with the
 * frame it is due at (invariant 2: 0 for "now", which the window raises). */
static void take_new(live_direct *d)
{
	pending *p;

	while (d->n < TT_MAX_DIRECT_PENDING && spsc_pop(&d->in, &d->p[d->n].m)) {
		p = &d->p[d->n++];
		p->frame = p->m.due_ns ? live_direct_frame_at(d->start_ns, p->m.due_ns) : 0;
	}
	/* The list is full: what else waits is dropped, and said so. */
	while (d->n == TT_MAX_DIRECT_PENDING && spsc_pop(&d->in, &d->done.m)) {
		live_direct_msg m = d->done.m;
		report(d, &m, 0, false, true);
	}
}

void live_direct_block(live_direct *d, render *r)
{
	int64_t from, to, at;

	if (!d->started) { /* the first block: the clock's origin (see the header) */
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		d->start_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
		d->started = true;
	}
	take_new(d);
	render_window(r, &from, &to);
	for (int i = 0; i < d->n;) {
		pending *p = &d->p[i];
		int rc;
		if (p->frame >= to) {
			i++;
			continue;
		}
		rc = render_trigger(r, &p->m.ev, p->frame, &at);
		if (rc == TT_ELIMIT)
			break; /* RENDER_MAX_DIRECT this block: the rest go next block */
		report(d, &p->m, at, p->m.due_ns != 0 && at > p->frame, false);
		*p = d->p[--d->n]; /* order in the list does not matter */
	}
}

bool live_direct_send(live_direct *d, const live_direct_msg *m)
{
	return spsc_push(&d->in, m);
}

bool live_direct_pop(live_direct *d, live_direct_done *out)
{
	return spsc_pop(&d->out, out);
}

uint64_t live_direct_unreported(const live_direct *d)
{
	return atomic_load_explicit(&((live_direct *)d)->unreported, memory_order_relaxed);
}
