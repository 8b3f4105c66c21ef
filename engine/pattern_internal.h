/*
 * engine/pattern_internal.h: what the pattern_*.c files share (not an API).
 *
 * A pattern is one generic node (struct pat) whose kind selects the query
 * function; a node's children and plain arguments live in the same struct,
 * so that a node can be made from the pool (compile time) or from the
 * query's arena (patterned arguments build plain nodes while querying).
 *
 * Invariants:
 *  1. Nodes are immutable once returned by a builder.
 *  2. Query code allocates only through qctx (the caller's arena).
 *  3. Every node visit, loop step, event made and event passed through a
 *     transformation ticks the budget (pat__tick, pat__tickn), so a query
 *     ends within TT_MAX_QUERY_WORK steps per queried cycle, however deep
 *     its nesting.
 *  4. An event (a tt_event in an hlist) belongs to the list holding it and
 *     may be rewritten in place; its fields and locs arrays are shared
 *     (with nodes and other events) and never written: a change of value
 *     or locations makes new arrays in the arena.
 */
#ifndef TT_ENGINE_PATTERN_INTERNAL_H
#define TT_ENGINE_PATTERN_INTERNAL_H

#include "engine/pattern.h"

#include "common/error.h"
#include "common/limits.h"

enum pat_kind {
	K_SILENCE, K_PURE, K_WITHLOC, K_STACK, K_SLOWCAT, K_SLOWCAT_PRIME,
	K_FAST, K_EARLY, K_SPLIT, K_REV, K_ZOOM, K_FASTGAP, K_REPEAT,
	K_PATTERNIFY, K_APP, K_SQUEEZE, K_FMAP, K_SIGNAL, K_RANDSIG,
	K_PERLIN, K_DEGRADE, K_CHOOSE, K_TAIL, K_RANGESEQ,
	K_SHUFFLE, K_SCALE, K_VOICING, K_ARP, K_WHEN
};

/* Value transformations for K_FMAP. */
enum fmap_kind {
	F_CONTROL,      /* {name: v} with multi-name arrays */
	F_UNARY,        /* round, floor, ... */
	F_EXP,          /* Math.exp */
	F_PAN_OFFSET,   /* {..., pan: (pan ?? 0.5) + x} (juxBy) */
	F_IRAND         /* trunc(v * x) */
};

/* Internal value operators beyond pat_op_kind. */
enum { OP_TAIL = 100 };

/* How K_APP combines two patterns (appLeft / appRight / appBoth). */
enum app_kind { APP_LEFT, APP_RIGHT, APP_BOTH };

/* Which plain function a K_PATTERNIFY node builds per argument tuple. */
enum plain_kind {
	P_FAST, P_SLOW, P_EARLY, P_LATE, P_PLY, P_ITER, P_ITER_BACK,
	P_LINGER, P_COMPRESS, P_ZOOM, P_FASTGAP, P_SEGMENT, P_REPEAT,
	P_EUCLID, P_EUCLID_ROT, P_EUCLID_LEG, P_EUCLID_LEG_ROT, P_DEGRADE,
	P_UNDEGRADE, P_IRAND, P_RANGE, P_RANGEX, P_RANGE2, P_HURRY,
	P_CPM, P_SWING_BY, P_SHUFFLE, P_SCRAMBLE, P_FIRST_OF, P_LAST_OF,
	P_CHUNK, P_CHUNK_BACK, P_FAST_CHUNK, P_SOMETIMES, P_SOMECYCLES,
	P_INSIDE, P_OUTSIDE, P_OFF, P_JUXBY, P_SCALE, P_TRANSPOSE
};

#define PAT_MAX_ARGS 4

struct pat {
	int kind;
	int sub;               /* fmap_kind / app_kind / plain_kind / op ... */
	int how;
	pat *a, *b, *c;        /* children; meaning per kind */
	pat *const *kids;      /* stack, cats, patternify arguments */
	size_t n_kids;
	tt_rat r1, r2;         /* plain rational arguments */
	double x;              /* a plain numeric argument */
	int i1;                /* a plain integer argument or flag */
	const tt_field *fields;/* K_PURE value */
	uint32_t n_fields;
	const tt_loc *locs;    /* K_PURE / K_WITHLOC locations */
	uint32_t n_locs;
	const double *dweights;/* K_CHOOSE cumulative weights */
	const char *name;      /* control name, scale name... */
	const char *const *names;
	size_t n_names;
	/* A patterned call whose function argument depends on the argument:
	 * the function applied once per literal value the argument can take. */
	const double *tvals;
	pat *const *tfps;
	size_t n_t;
};

/* Where builders allocate: the pool at compile time, the arena while a
 * query builds the plain patterns of patterned arguments. */
typedef struct pmem {
	pat_pool *pool;
	tt_arena *arena;
} pmem;

void *pmem_alloc(pmem *m, size_t size);
pat *pat__node(pmem *m, int kind);
int pat__fail(pmem *m, int code, const char *msg);

/* A growable list of events in the arena. */
typedef struct hlist {
	tt_event *v;
	size_t n, cap;
} hlist;

typedef struct qctx {
	tt_arena *arena;
	int depth;
	uint64_t work, budget;
} qctx;

/* Queries one piece of a span (a part inside one cycle). */
typedef int (*pat_piece_fn)(qctx *q, const pat *p, tt_span piece, hlist *out);
/* Strudel's splitQueries: piece() for each cycle piece of span, in order. */
int pat__split_each(qctx *q, const pat *p, tt_span span, hlist *out,
		    pat_piece_fn piece);

/* The query dispatcher: appends p's events over span to out. */
int pat__query(qctx *q, const pat *p, tt_span span, hlist *out);
int pat__push(qctx *q, hlist *l, const tt_event *e);
int pat__tick(qctx *q);
/* n steps at once: a pass over n events costs n. */
int pat__tickn(qctx *q, size_t n);
void *pat__qalloc(qctx *q, size_t size);
/* Concatenates a's and b's locations into the arena (Strudel's
 * combineContext); *out shares a or b when the other is empty. */
int pat__locs_union(qctx *q, const tt_event *a, const tt_event *b,
		    const tt_loc **out, uint32_t *n);

/* Spans. */
bool span_intersect(tt_span a, tt_span b, tt_span *out);
tt_rat rat_int(int64_t n);

/* x clamped to [-lim, lim], NaN as 0: makes any user number safe to
 * convert to an integer (such values are far outside any sane pattern). */
static inline double pat__clamp(double x, double lim)
{
	if (x != x)
		return 0;
	return x < -lim ? -lim : x > lim ? lim : x;
}

/* Strudel's legacy random generator (pattern_rand.c): rand at time t, and
 * the n successive values getRandsAtTime(t, n) gives. */
double pat__rand_at(double t);
void pat__rands_at(double t, int n, double *out);
int pat__range_plain(pmem *m, const pat *p, double lo, double hi, pat **out);

/* Value helpers. */
bool value_number(const tt_field *f, uint32_t n, double *out);
bool value_truthy(const tt_field *f, uint32_t n);

/* Per-theme query functions (one per kind family). */
int pat__query_time(qctx *q, const pat *p, tt_span span, hlist *out);
int pat__query_app(qctx *q, const pat *p, tt_span span, hlist *out);
int pat__query_fmap(qctx *q, const pat *p, tt_span span, hlist *out);
int pat__query_patternify(qctx *q, const pat *p, tt_span span, hlist *out);
int pat__query_rand(qctx *q, const pat *p, tt_span span, hlist *out);
int pat__query_signal(qctx *q, const pat *p, tt_span span, hlist *out);
int pat__query_tonal(qctx *q, const pat *p, tt_span span, hlist *out);
int pat__query_squeeze(qctx *q, const pat *p, tt_span span, hlist *out);

/* One argument value of a patterned call: its number (when numeric) and
 * its fields. */
typedef struct parg {
	double x;
	bool is_num;
	const tt_field *f;
	uint32_t n;
} parg;

/* Builds the plain pattern of kind pk (enum plain_kind) from argument
 * values and p; fp is the function argument already applied (or NULL). */
int pat__build_plain(pmem *m, int pk, const parg *args, size_t n_args,
		     const pat *p, const pat *fp, pat **out);

/* Internal plain builders shared by the theme files. */
int pat__fast_r(pmem *m, const pat *p, tt_rat factor, pat **out);
int pat__early_r(pmem *m, const pat *p, tt_rat t, pat **out);
int pat__split(pmem *m, const pat *p, pat **out);
int pat__stack2(pmem *m, const pat *a, const pat *b, pat **out);
int pat__cat(pmem *m, int kind, pat *const *ps, size_t n, pat **out);
int pat__fmap(pmem *m, const pat *p, int fk, double x, pat **out);
int pat__pure_num(pmem *m, double x, pat **out);
int pat__pure_bool(pmem *m, bool b, pat **out);
int pat__app(pmem *m, int how, int op, const pat *a, const pat *b, pat **out);
int pat__zoom_r(pmem *m, const pat *p, tt_rat s, tt_rat e, pat **out);
int pat__repeat(pmem *m, const pat *p, tt_rat n, pat **out);
int pat__degrade_with(pmem *m, const pat *p, const pat *r, double x, pat **out);
int pat__when(pmem *m, const pat *binary, const pat *yes, const pat *no,
	      pat **out);
int pat__nomem(pmem *m);
/* Where Strudel throws: at build time an error with msg (the program is
 * rejected, as Strudel's evaluation fails); while querying PAT_ETHROW, which
 * makes the whole query answer no events (Strudel's queryArc catches the
 * exception and returns []). */
#define PAT_ETHROW TT_EINVAL
int pat__throw(pmem *m, const char *msg);
int pat__randsig(pmem *m, tt_rat offset, pat **out);
int pat__segment(pmem *m, const pat *p, tt_rat n, pat **out);
int pat__fastgap_r(pmem *m, const pat *p, tt_rat factor, pat **out);
int pat__rev(pmem *m, const pat *p, pat **out);
int pat__silence(pmem *m, pat **out);
/* Strudel's register(): plain call when every argument is pure (their
 * locations appended), else appLeft over the arguments and innerJoin.
 * fn (may be NULL) is applied at build time: with_fn tells whether the
 * kind takes it. */
int pat__patternify(pat_pool *pool, int pk, pat *const *args, size_t n_args,
		    pat *p, const pat_fn *fn, pat **out);
int pat__euclid_plain(pmem *m, int pk, const parg *a, const pat *p, pat **out);
int pat__irand_plain(pmem *m, double n, pat **out);
int pat__shuffle_plain(pmem *m, const pat *p, int64_t n, bool scramble,
		       pat **out);
int pat__tonal_plain(pmem *m, int pk, const parg *a, const pat *p, pat **out);
int pat__query_when(qctx *q, const pat *p, tt_span span, hlist *out);
int pat__build_time(pmem *m, int pk, const parg *a, const pat *p, const pat *fp,
		    pat **out);
int pat__build_other(pmem *m, int pk, const parg *a, size_t n_args,
		     const pat *p, const pat *fp, pat **out);
/* Combines two values with op (Strudel's _composeOp); *keep false when the
 * result is undefined (keepif). */
int pat__value_op(qctx *q, int op, const tt_event *a, const tt_event *b,
		  const tt_field **f, uint32_t *n, bool *keep);

#endif
