/*
 * engine/controls.c: Strudel's control names (s, n, note, cutoff...), their
 * aliases (lpf -> cutoff, legato -> clip), and the control functions:
 * s("bd") makes {s: "bd"}; p.lpf(x) is p.set.in(lpf(x)).
 *
 * Invariants:
 *  1. control_aliases is sorted by name (strcmp), so lookup is a binary
 *     search; it and control_multis are constant data, thread-safe.
 *  2. A control's value keeps its type (strings stay strings: note("c3")
 *     is {note: "c3"}, as in Strudel).
 */
#include "engine/pattern_internal.h"

#include <stdlib.h>
#include <string.h>

#include "engine/controls_table.h"

static int alias_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct control_alias *)e)->name);
}

const char *controls_lookup(const char *name)
{
	const struct control_alias *a =
		bsearch(name, control_aliases,
			sizeof control_aliases / sizeof control_aliases[0],
			sizeof control_aliases[0], alias_cmp);
	return a ? a->canonical : NULL;
}

static const char *const *multi_names(const char *canonical, size_t *n)
{
	for (size_t i = 0; i < sizeof control_multis / sizeof control_multis[0];
	     i++)
		if (strcmp(control_multis[i].canonical, canonical) == 0) {
			size_t k = 0;
			while (k < 6 && control_multis[i].names[k])
				k++;
			*n = k;
			return control_multis[i].names;
		}
	*n = 1;
	return NULL;
}

static int control_map(pmem *m, const char *name, const pat *values, pat **out)
{
	const char *canon = controls_lookup(name);
	pat *r;
	if (!canon)
		return pat__fail(m, TT_ENOTFOUND, "not a control name");
	r = pat__node(m, K_FMAP);
	if (!r)
		return pat__nomem(m);
	r->sub = F_CONTROL;
	r->a = (pat *)values;
	r->names = multi_names(canon, &r->n_names);
	if (!r->names) {
		const char **one = pmem_alloc(m, sizeof *one);
		if (!one)
			return pat__nomem(m);
		one[0] = canon;
		r->names = one;
		r->n_names = 1;
	}
	*out = r;
	return TT_OK;
}

int pat_control(pat_pool *pool, const char *name, pat *values, pat **out)
{
	pmem m = { pool, NULL };
	return control_map(&m, name, values, out);
}

int pat_control_set(pat_pool *pool, pat *p, const char *name, pat *values,
		    pat **out)
{
	pmem m = { pool, NULL };
	pat *c;
	int rc = control_map(&m, name, values, &c);
	if (rc < 0)
		return rc;
	return pat__app(&m, APP_LEFT, PAT_OP_SET, p, c, out);
}

/* adsr(v): v (an array "a:d:s:r" or one number) sets the four envelope
 * controls; patterned like Strudel's register() (innerJoin). */
int pat_adsr(pat_pool *pool, pat *p, pat *values, pat **out)
{
	pmem m = { pool, NULL };
	pat *r = pat__node(&m, K_FMAP), *set;
	static const char *const names[4] = { "attack", "decay", "sustain",
					      "release" };
	int rc;
	if (!r)
		return TT_ENOMEM;
	/* the array value becomes {attack, decay, sustain, release} */
	r->sub = F_CONTROL;
	r->a = values;
	r->names = names;
	r->n_names = 4;
	r->i1 = 1; /* always spread, even a single value */
	if ((rc = pat__app(&m, APP_LEFT, PAT_OP_SET, p, r, &set)) < 0)
		return rc;
	*out = set;
	return TT_OK;
}
