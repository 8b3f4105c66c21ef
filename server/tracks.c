/* server/tracks.c: see tracks.h. */
#include "server/tracks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

prog_ref *tracks_prog_new(tt_program *p)
{
	prog_ref *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->p = p;
	return r;
}

static void prog_unref(prog_ref *r)
{
	if (r && --r->refs == 0) {
		program_free(r->p);
		free(r);
	}
}

void tracks_free(track_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		prog_unref(t->e[i].prog);
	free(t);
}

/* Whether this evaluation replaces old entry e. */
static bool replaces(const track_entry *e, const prog_ref *prog, int64_t doc_id, bool whole,
		     bool hush_all, const char *const *names, size_t n_names)
{
	if (hush_all)
		return true;
	if (e->doc_id != doc_id)
		return false;
	if (whole)
		return true;
	for (size_t i = 0; i < n_names; i++)
		if (strcmp(e->name, names[i]) == 0)
			return true;
	(void)prog;
	return false;
}

/* A track's public name: its label, or for an unnamed one the document
 * and the place of the code in it, so names stay unique per session. */
static void entry_name(char *out, size_t cap, const char *label, const char *doc_name,
		       uint32_t range_from, size_t i)
{
	if (label[0] && label[0] != '$')
		snprintf(out, cap, "%s", label);
	else
		snprintf(out, cap, "%.40s@%u#%zu", doc_name, (unsigned)range_from, i);
}

track_table *tracks_build(const track_table *old, int64_t now_frame, prog_ref *prog,
			  int64_t doc_id, const char *doc_name, int64_t rev, uint32_t code_base,
			  uint32_t range_from, int64_t eval_id, bool whole, bool hush_all)
{
	size_t n_new = prog ? program_track_count(prog->p) : 0;
	size_t n_old = old ? old->n : 0;
	char names[TT_MAX_TRACK_FLAGS][64];
	const char *name_ptrs[TT_MAX_TRACK_FLAGS];
	track_table *t;
	size_t k = 0;

	if (n_new > TT_MAX_TRACK_FLAGS)
		n_new = TT_MAX_TRACK_FLAGS;
	for (size_t i = 0; i < n_new; i++) {
		entry_name(names[i], sizeof names[i], program_track_name(prog->p, i), doc_name,
			   range_from, i);
		name_ptrs[i] = names[i];
	}
	t = calloc(1, sizeof *t + (n_old + n_new) * sizeof t->e[0]);
	if (!t)
		return NULL;
	for (size_t i = 0; i < n_old; i++) {
		const track_entry *e = &old->e[i];
		if (e->has_until && e->until_frame < now_frame)
			continue; /* ended: none of its events can start any more */
		t->e[k] = *e;
		if (!e->has_until &&
		    replaces(e, prog, doc_id, whole, hush_all, name_ptrs, n_new)) {
			t->e[k].until_pending = true;
		}
		t->e[k].prog->refs++;
		k++;
	}
	for (size_t i = 0; i < n_new; i++) {
		track_entry *e = &t->e[k++];
		memset(e, 0, sizeof *e);
		e->prog = prog;
		prog->refs++;
		e->track = i;
		memcpy(e->name, names[i], sizeof e->name);
		e->doc_id = doc_id;
		e->rev = rev;
		e->code_base = code_base;
		e->eval_id = eval_id;
		e->from_pending = true;
	}
	t->n = k;
	return t;
}

void tracks_land(track_table *t, tt_rat landing, int64_t l_frame)
{
	for (size_t i = 0; i < t->n; i++) {
		track_entry *e = &t->e[i];
		if (e->from_pending) {
			e->from = landing;
			e->has_from = true;
			e->from_pending = false;
		}
		if (e->until_pending) {
			e->until = landing;
			e->has_until = true;
			e->until_frame = l_frame;
			e->until_pending = false;
		}
	}
}

/* The cycle an event starts at (its whole's start; a continuous event's
 * part start). */
static tt_rat onset_of(const tt_event *ev)
{
	return ev->has_whole ? ev->whole.begin : ev->part.begin;
}

static int query(void *ctx, size_t i, tt_span span, tt_arena *arena, tt_event **events,
		 size_t *n_events)
{
	const track_table *t = ctx;
	const track_entry *e = &t->e[i];
	size_t k = 0;
	int rc;

	*events = NULL;
	*n_events = 0;
	if ((e->has_until && rat_cmp(span.begin, e->until) >= 0) ||
	    (e->has_from && rat_cmp(span.end, e->from) <= 0))
		return TT_OK;
	rc = program_query(e->prog->p, e->track, span, arena, events, n_events);
	for (size_t j = 0; j < *n_events; j++) {
		tt_rat on = onset_of(&(*events)[j]);
		if (e->has_from && rat_cmp(on, e->from) < 0)
			continue;
		if (e->has_until && rat_cmp(on, e->until) >= 0)
			continue;
		(*events)[k++] = (*events)[j];
	}
	*n_events = k;
	return rc;
}

static const char *name(void *ctx, size_t i)
{
	const track_table *t = ctx;
	return t->e[i].name;
}

void tracks_source(const track_table *t, sched_source *out)
{
	out->query = query;
	out->name = name;
	out->ctx = (void *)t;
	out->n_tracks = t ? t->n : 0;
}
