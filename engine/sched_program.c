/*
 * engine/sched_program.c: adapts program_query() to sched_query_fn. Kept
 * apart from sched.c so that the scheduler links without the language
 * front end (tests drive it with hand-built events).
 */
#include "engine/sched_program.h"

static int query(void *ctx, size_t track, tt_span span, tt_arena *arena, tt_event **events,
		 size_t *n_events)
{
	return program_query((const tt_program *)ctx, track, span, arena, events, n_events);
}

static const char *name(void *ctx, size_t track)
{
	return program_track_name((const tt_program *)ctx, track);
}

void sched_source_program(const tt_program *p, sched_source *out)
{
	out->query = query;
	out->name = name;
	out->ctx = (void *)p;
	out->n_tracks = p ? program_track_count(p) : 0;
}
