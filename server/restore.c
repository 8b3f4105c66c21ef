/* server/restore.c: see restore.h. */
#include "server/restore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "engine/program.h"

typedef struct restore_ctx {
	store *st;
	int64_t upto;
	int64_t last;
	track_table *table;
} restore_ctx;

static int restore_one(const store_eval *ev, void *arg)
{
	restore_ctx *rc = arg;
	tt_program *p;
	tt_diag d;
	prog_ref *ref;
	track_table *t;
	store_doc doc;
	bool whole;

	if (ev->id > rc->upto)
		return 1;
	rc->last = ev->id;
	if (!ev->ok || program_compile(ev->code, ev->code_len, &p, &d) != TT_OK)
		return 0;
	ref = tracks_prog_new(p);
	if (!ref) {
		program_free(p);
		return 0;
	}
	whole = ev->result && strcmp(ev->result, "whole") == 0;
	if (store_doc_get(rc->st, ev->doc_id, &doc) != TT_OK)
		snprintf(doc.name, sizeof doc.name, "doc%lld", (long long)ev->doc_id);
	t = tracks_build(rc->table, 0, ref, ev->doc_id, doc.name, ev->revision,
			 (uint32_t)ev->range_from, (uint32_t)ev->range_from, ev->id, whole,
			 program_hushed(p));
	if (!t) {
		if (ref->refs == 0) {
			program_free(p);
			free(ref);
		}
		return 0;
	}
	tracks_free(rc->table);
	rc->table = t;
	return 0;
}

int restore_table(store *st, const char *session_id, int64_t upto, track_table **out,
		  int64_t *last)
{
	restore_ctx rc = { st, upto, 0, NULL };
	int err = store_eval_list(st, session_id, 0, 0, restore_one, &rc);

	if (err < 0) {
		tracks_free(rc.table);
		return err;
	}
	*out = rc.table;
	*last = rc.last;
	return TT_OK;
}
