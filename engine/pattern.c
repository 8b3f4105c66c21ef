/*
 * engine/pattern.c: pools, leaves and the constructors (stack, cat, seq,
 * timeCat, run...). See pattern.h for the contract and
 * pattern_internal.h for the node model.
 *
 * Invariants:
 *  1. A pool owns every byte its builders return; pat_pool_free releases
 *     them all, so a failed compile leaks nothing.
 *  2. Builders never modify their arguments (nodes are shared freely).
 */
#include "engine/pattern_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pool_chunk {
	struct pool_chunk *next;
	size_t used, cap;
	max_align_t data[];
} pool_chunk;

struct pat_pool {
	pool_chunk *head;
	size_t bytes;   /* handed out, at most TT_MAX_PATTERN_BYTES */
	int over;       /* a request passed TT_MAX_PATTERN_BYTES */
	char err[256];
};

#define POOL_CHUNK (64 * 1024)

int pat_pool_new(pat_pool **out)
{
	pat_pool *p = calloc(1, sizeof *p);
	if (!p)
		return TT_ENOMEM;
	*out = p;
	return TT_OK;
}

void pat_pool_free(pat_pool *pool)
{
	if (!pool)
		return;
	pool_chunk *c = pool->head;
	while (c) {
		pool_chunk *next = c->next;
		free(c);
		c = next;
	}
	free(pool);
}

const char *pat_pool_error(const pat_pool *pool)
{
	return pool->err;
}

void *pat_pool_alloc(pat_pool *pool, size_t size)
{
	const size_t align = sizeof(max_align_t);
	if (size > TT_MAX_PATTERN_BYTES - pool->bytes) {
		if (!pool->over)
			snprintf(pool->err, sizeof pool->err, "this pattern needs more than %d MB "
				 "to build (TT_MAX_PATTERN_BYTES)", TT_MAX_PATTERN_BYTES >> 20);
		pool->over = 1;
		return NULL;
	}
	pool->bytes += size;
	size = (size + align - 1) & ~(align - 1);
	pool_chunk *c = pool->head;
	if (!c || c->cap - c->used < size) {
		size_t cap = size > POOL_CHUNK ? size : POOL_CHUNK;
		c = malloc(sizeof *c + cap);
		if (!c)
			return NULL;
		c->cap = cap;
		c->used = 0;
		c->next = pool->head;
		pool->head = c;
	}
	void *r = (char *)c->data + c->used;
	c->used += size;
	memset(r, 0, size);
	return r;
}

const char *pat_pool_strdup(pat_pool *pool, const char *s, size_t len)
{
	char *r = pat_pool_alloc(pool, len + 1);
	if (!r)
		return NULL;
	memcpy(r, s, len);
	r[len] = '\0';
	return r;
}


void *pmem_alloc(pmem *m, size_t size)
{
	if (m->pool)
		return pat_pool_alloc(m->pool, size);
	void *r = arena_alloc(m->arena, size);
	if (r)
		memset(r, 0, size);
	return r;
}

pat *pat__node(pmem *m, int kind)
{
	pat *p = pmem_alloc(m, sizeof *p);
	if (p)
		p->kind = kind;
	return p;
}

int pat__fail(pmem *m, int code, const char *msg)
{
	if (m->pool && msg)
		snprintf(m->pool->err, sizeof m->pool->err, "%s", msg);
	return code;
}

int pat__nomem(pmem *m)
{
	if (m->pool && m->pool->over)
		return TT_ELIMIT; /* pool->err names TT_MAX_PATTERN_BYTES */
	return pat__fail(m, m->pool ? TT_ENOMEM : TT_ELIMIT, "out of memory");
}

int pat__throw(pmem *m, const char *msg)
{
	return pat__fail(m, PAT_ETHROW, msg);
}

static int nomem(pmem *m)
{
	return pat__nomem(m);
}

/* ---- leaves ---- */

static int pure_fields(pmem *m, const tt_field *f, uint32_t n,
		       const tt_loc *loc, pat **out)
{
	pat *p = pat__node(m, K_PURE);
	if (!p)
		return nomem(m);
	p->fields = f;
	p->n_fields = n;
	if (loc) {
		tt_loc *l = pmem_alloc(m, sizeof *l);
		if (!l)
			return nomem(m);
		*l = *loc;
		p->locs = l;
		p->n_locs = 1;
	}
	*out = p;
	return TT_OK;
}

static int one_field(pmem *m, tt_field f, const tt_loc *loc, pat **out)
{
	tt_field *c = pmem_alloc(m, sizeof *c);
	if (!c)
		return nomem(m);
	*c = f;
	return pure_fields(m, c, 1, loc, out);
}

int pat__pure_num(pmem *m, double x, pat **out)
{
	return one_field(m, (tt_field){ NULL, TT_V_NUM, x, NULL }, NULL, out);
}

int pat__pure_bool(pmem *m, bool b, pat **out)
{
	return one_field(m, (tt_field){ NULL, TT_V_BOOL, b, NULL }, NULL, out);
}

int pat_num(pat_pool *pool, double x, const tt_loc *loc, pat **out)
{
	pmem m = { pool, NULL };
	return one_field(&m, (tt_field){ NULL, TT_V_NUM, x, NULL }, loc, out);
}

int pat_str(pat_pool *pool, const char *s, const tt_loc *loc, pat **out)
{
	pmem m = { pool, NULL };
	const char *c = pat_pool_strdup(pool, s, strlen(s));
	if (!c)
		return nomem(&m);
	return one_field(&m, (tt_field){ NULL, TT_V_STR, 0, c }, loc, out);
}

int pat_bool(pat_pool *pool, bool b, const tt_loc *loc, pat **out)
{
	pmem m = { pool, NULL };
	return one_field(&m, (tt_field){ NULL, TT_V_BOOL, b, NULL }, loc, out);
}

int pat_value(pat_pool *pool, const tt_field *fields, uint32_t n,
	      const tt_loc *loc, pat **out)
{
	pmem m = { pool, NULL };
	tt_field *c = pat_pool_alloc(pool, sizeof *c * (n ? n : 1));
	if (!c)
		return nomem(&m);
	for (uint32_t i = 0; i < n; i++) {
		c[i] = fields[i];
		if (fields[i].key &&
		    !(c[i].key = pat_pool_strdup(pool, fields[i].key,
						 strlen(fields[i].key))))
			return nomem(&m);
		if (fields[i].kind == TT_V_STR &&
		    !(c[i].str = pat_pool_strdup(pool, fields[i].str,
						 strlen(fields[i].str))))
			return nomem(&m);
	}
	return pure_fields(&m, c, n, loc, out);
}

int pat__silence(pmem *m, pat **out)
{
	pat *p = pat__node(m, K_SILENCE);
	if (!p)
		return nomem(m);
	*out = p;
	return TT_OK;
}

int pat_silence(pat_pool *pool, pat **out)
{
	pmem m = { pool, NULL };
	return pat__silence(&m, out);
}

bool pat_is_pure(const pat *p, const tt_field **fields, uint32_t *n)
{
	if (p->kind != K_PURE)
		return false;
	if (fields)
		*fields = p->fields;
	if (n)
		*n = p->n_fields;
	return true;
}

int pat_with_loc(pat_pool *pool, pat *p, tt_loc loc, pat **out)
{
	pmem m = { pool, NULL };
	tt_loc *l;
	pat *r;
	if (p->kind == K_PURE) {
		/* Keeps the node pure (Strudel's __pure/__pure_loc). */
		r = pat__node(&m, K_PURE);
		l = pat_pool_alloc(pool, sizeof *l * (p->n_locs + 1));
		if (!r || !l)
			return nomem(&m);
		*r = *p;
		if (p->n_locs)
			memcpy(l, p->locs, sizeof *l * p->n_locs);
		l[p->n_locs] = loc;
		r->locs = l;
		r->n_locs = p->n_locs + 1;
		*out = r;
		return TT_OK;
	}
	r = pat__node(&m, K_WITHLOC);
	l = pat_pool_alloc(pool, sizeof *l);
	if (!r || !l)
		return nomem(&m);
	*l = loc;
	r->a = p;
	r->locs = l;
	r->n_locs = 1;
	*out = r;
	return TT_OK;
}

/* ---- constructors ---- */

int pat__stack2(pmem *m, const pat *a, const pat *b, pat **out)
{
	pat **k = pmem_alloc(m, sizeof *k * 2);
	pat *p = pat__node(m, K_STACK);
	if (!k || !p)
		return nomem(m);
	k[0] = (pat *)a;
	k[1] = (pat *)b;
	p->kids = k;
	p->n_kids = 2;
	*out = p;
	return TT_OK;
}

int pat_stack(pat_pool *pool, pat *const *ps, size_t n, pat **out)
{
	pmem m = { pool, NULL };
	pat **k = pat_pool_alloc(pool, sizeof *k * (n ? n : 1));
	pat *p = pat__node(&m, K_STACK);
	if (!k || !p)
		return nomem(&m);
	if (n)
		memcpy(k, ps, sizeof *k * n);
	p->kids = k;
	p->n_kids = n;
	*out = p;
	return TT_OK;
}

/* slowcat (K_SLOWCAT, split at cycles) or slowcatPrime (K_SLOWCAT_PRIME). */
int pat__cat(pmem *m, int kind, pat *const *ps, size_t n, pat **out)
{
	if (n == 0)
		return pat__silence(m, out);
	if (n == 1 && kind == K_SLOWCAT) {
		*out = ps[0];
		return TT_OK;
	}
	pat **k = pmem_alloc(m, sizeof *k * n);
	pat *p = pat__node(m, kind);
	if (!k || !p)
		return nomem(m);
	memcpy(k, ps, sizeof *k * n);
	p->kids = k;
	p->n_kids = n;
	*out = p;
	return TT_OK;
}

int pat_slowcat(pat_pool *pool, pat *const *ps, size_t n, pat **out)
{
	pmem m = { pool, NULL };
	return pat__cat(&m, K_SLOWCAT, ps, n, out);
}

int pat_fastcat(pat_pool *pool, pat *const *ps, size_t n, pat **out)
{
	pmem m = { pool, NULL };
	pat *c;
	int rc = pat__cat(&m, K_SLOWCAT, ps, n, &c);
	if (rc < 0 || n <= 1) {
		if (rc == 0)
			*out = c;
		return rc;
	}
	return pat__fast_r(&m, c, rat_int((int64_t)n), out);
}

/* timeCat: each pattern compressed into its share of the cycle. */
int pat_timecat(pat_pool *pool, const tt_rat *weights, pat *const *ps,
		size_t n, pat **out)
{
	pmem m = { pool, NULL };
	tt_rat total = rat_int(0), begin = rat_int(0);
	pat **k;
	int rc;
	if (n == 1) {
		/* Strudel's stepcat of one pattern: the same events, but no
		 * longer pure (a one-kid stack). */
		return pat_stack(pool, ps, 1, out);
	}
	for (size_t i = 0; i < n; i++)
		if ((rc = rat_add(total, weights[i], &total)) < 0)
			return pat__fail(&m, rc, "timeCat: weights too large");
	if (n == 0 || total.n <= 0)
		return pat__silence(&m, out);
	k = pat_pool_alloc(pool, sizeof *k * n);
	if (!k)
		return nomem(&m);
	for (size_t i = 0; i < n; i++) {
		tt_rat end, b, e, w;
		if ((rc = rat_add(begin, weights[i], &end)) < 0 ||
		    (rc = rat_div(begin, total, &b)) < 0 ||
		    (rc = rat_div(end, total, &e)) < 0 ||
		    (rc = rat_sub(e, b, &w)) < 0)
			return pat__fail(&m, rc, "timeCat: weights too large");
		/* compress(b, e) = fastGap(1 / (e - b)) then late(b). */
		pat *g;
		tt_rat inv, nb;
		if (w.n <= 0) {
			if ((rc = pat__silence(&m, &k[i])) < 0)
				return rc;
			begin = end;
			continue;
		}
		if ((rc = rat_div(rat_int(1), w, &inv)) < 0 ||
		    (rc = pat__fastgap_r(&m, ps[i], inv, &g)) < 0)
			return rc;
		nb = (tt_rat){ -b.n, b.d };
		if ((rc = pat__early_r(&m, g, nb, &k[i])) < 0)
			return rc;
		begin = end;
	}
	pat *p = pat__node(&m, K_STACK);
	if (!p)
		return nomem(&m);
	p->kids = k;
	p->n_kids = n;
	*out = p;
	return TT_OK;
}

int pat_tail(pat_pool *pool, pat *a, pat *b, pat **out)
{
	pmem m = { pool, NULL };
	pat *p = pat__node(&m, K_TAIL);
	if (!p)
		return nomem(&m);
	p->a = a;
	p->b = b;
	*out = p;
	return TT_OK;
}

int pat_range_seq(pat_pool *pool, pat *a, pat *b, pat **out)
{
	pmem m = { pool, NULL };
	pat *p = pat__node(&m, K_RANGESEQ);
	if (!p)
		return nomem(&m);
	p->a = a;
	p->b = b;
	*out = p;
	return TT_OK;
}

int pat_replicate(pat_pool *pool, pat *p, tt_rat n, pat **out)
{
	pmem m = { pool, NULL };
	pat *r;
	int rc = pat__repeat(&m, p, n, &r);
	if (rc < 0)
		return rc;
	return pat__fast_r(&m, r, n, out);
}
