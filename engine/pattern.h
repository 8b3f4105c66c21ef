/*
 * engine/pattern.h: the pattern core of tutti's Strudel-compatible language.
 *
 * A pattern is an immutable tree of nodes, built once when a program is
 * compiled and queried many times afterwards: pat_query(p, span) answers the
 * events (Strudel's "haps") whose parts intersect span, with exactly the
 * wholes, parts, values and source locations Strudel 1.2.6 would give.
 *
 * Building: every constructor and combinator below allocates its node from a
 * pat_pool that the caller (the compiled program) owns; pat_pool_free frees
 * every node at once. Builders run on the compiling (worker) thread only.
 * They return TT_OK and set *out, or a negative code (TT_ENOMEM, TT_EINVAL
 * for an argument Strudel would reject, e.g. an unknown scale name) with a
 * sentence in pat_pool_error(pool). Pattern arguments are borrowed and must
 * come from the same pool (or from pat_pool-independent constants such as
 * pat_silence). Most arguments are patterns, as in Strudel: pass pat_num(2)
 * for a plain 2; "patternified" arguments follow Strudel's register(): when
 * every argument is a pure value the plain function applies (and the
 * arguments' source locations are appended to every event); otherwise the
 * arguments are combined with appLeft and joined with innerJoin (or the join
 * Strudel uses for that function).
 *
 * Functions as arguments (every(3, x => x.fast(2))): the host language
 * passes a pat_fn; the builder calls it, at build time, with the pattern
 * Strudel would pass (e.g. off() calls it with the shifted pattern).
 *
 * Querying: pat_query allocates only from the caller's tt_arena, never
 * calls malloc, takes no lock: safe on the render thread, and safe from
 * several threads at once on the same pattern (each with its own arena).
 * Where Strudel throws while querying, the query answers TT_OK with no
 * events at all, as Strudel's does.
 * It fails with TT_ELIMIT when the arena is full, when nodes nest deeper
 * than TT_MAX_QUERY_DEPTH, when it would make more than
 * TT_MAX_EVENTS_PER_CYCLE events per queried cycle, or when its work
 * (loop steps and intermediate events) passes TT_MAX_QUERY_WORK per cycle,
 * so that fast(1e12) fails in milliseconds; with TT_ERANGE when exact time
 * overflows 64-bit rationals.
 *
 * Values (tt_field arrays in tt_event): a Strudel object value {s:"bd",n:3}
 * is fields with keys; a bare scalar is one field whose key is NULL; an
 * array value (mini-notation "bd:3" before a control names it) is two or
 * more fields whose keys are all NULL; an empty object is zero fields.
 *
 * Implementation status (kept current): everything declared below is
 * implemented and checked against Strudel 1.2.6 (the public corpus and
 * tests/engine/pattern_extra_*.jsonl). Known limits are listed in
 * docs/language.md, "Differences from Strudel".
 */
#ifndef TT_ENGINE_PATTERN_H
#define TT_ENGINE_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/arena.h"
#include "engine/event.h"
#include "engine/rational.h"

typedef struct pat pat;
typedef struct pat_pool pat_pool;

/* ---- pools ---- */

/* A pool of pattern nodes, freed all at once. Not thread-safe: one builder
 * thread at a time; patterns in it may be queried by any thread. */
int pat_pool_new(pat_pool **out);
void pat_pool_free(pat_pool *pool);
/* The sentence describing the last builder failure ("" when none). */
const char *pat_pool_error(const pat_pool *pool);
/* malloc-like allocation from the pool (freed with the pool); NULL when
 * out of memory, or when the pool would hand out more than
 * TT_MAX_PATTERN_BYTES in all (builders then fail with TT_ELIMIT and
 * pat_pool_error names the limit). For the front end's own long-lived
 * data (strings). */
void *pat_pool_alloc(pat_pool *pool, size_t size);
/* A NUL-terminated copy of s[0..len) owned by the pool, or NULL. */
const char *pat_pool_strdup(pat_pool *pool, const char *s, size_t len);

/* A function argument (an arrow function of the host language). call()
 * builds *out from in (both in pool) and returns TT_OK or an error. */
typedef struct pat_fn {
	int (*call)(void *env, pat_pool *pool, pat *in, pat **out);
	void *env;
} pat_fn;

/* ---- leaves and constructors ---- */

/* pure(value): one event per cycle. loc may be NULL (no source token). */
int pat_num(pat_pool *pool, double x, const tt_loc *loc, pat **out);
int pat_str(pat_pool *pool, const char *s, const tt_loc *loc, pat **out);
int pat_bool(pat_pool *pool, bool b, const tt_loc *loc, pat **out);
/* Copies fields (keys and strings are copied into the pool). */
int pat_value(pat_pool *pool, const tt_field *fields, uint32_t n,
	      const tt_loc *loc, pat **out);
/* Strudel's silence. */
int pat_silence(pat_pool *pool, pat **out);
/* withLoc(start, end): appends a source location to every event. */
int pat_with_loc(pat_pool *pool, pat *p, tt_loc loc, pat **out);
/* True when p is pure(v) (a plain literal); fields and n describe v. */
bool pat_is_pure(const pat *p, const tt_field **fields, uint32_t *n);

int pat_stack(pat_pool *pool, pat *const *ps, size_t n, pat **out);
int pat_slowcat(pat_pool *pool, pat *const *ps, size_t n, pat **out);   /* cat */
int pat_fastcat(pat_pool *pool, pat *const *ps, size_t n, pat **out);   /* seq */
/* timeCat([w0, p0], [w1, p1]...): weights are exact and positive. With
 * n == 1 the result has ps[0]'s events but is not pure: Strudel builds
 * every mini-notation sequence with timeCat, so a whole string such as
 * "2" or "x" is never pure and, as an argument, takes the joined path
 * (.fast("2") splits events at cycles; .fast("x") gives no events where
 * a plain 'x' fails to compile). The front end should therefore make a
 * one-element sequence with pat_timecat, not return the element. */
int pat_timecat(pat_pool *pool, const tt_rat *weights, pat *const *ps,
		size_t n, pat **out);
/* run(n): 0 .. n-1 in one cycle; n patterned. */
int pat_run(pat_pool *pool, pat *n, pat **out);
/* Mini-notation "a .. b": apat.squeezeBind(a => bpat.bind(b => fastcat
 * of the integers from a to b)). */
int pat_range_seq(pat_pool *pool, pat *a, pat *b, pat **out);
/* Mini-notation "a:b": values combined into an array value (appLeft). */
int pat_tail(pat_pool *pool, pat *a, pat *b, pat **out);
/* Mini-notation "a!n" / "a!": repeatCycles(n) then fast(n) (n plain). */
int pat_replicate(pat_pool *pool, pat *p, tt_rat n, pat **out);
int pat_repeat_cycles(pat_pool *pool, pat *p, pat *n, pat **out);

/* ---- time ---- */

int pat_fast(pat_pool *pool, pat *p, pat *factor, pat **out);
int pat_slow(pat_pool *pool, pat *p, pat *factor, pat **out);
int pat_hurry(pat_pool *pool, pat *p, pat *factor, pat **out);
int pat_cpm(pat_pool *pool, pat *p, pat *cpm, pat **out);
int pat_early(pat_pool *pool, pat *p, pat *t, pat **out);
int pat_late(pat_pool *pool, pat *p, pat *t, pat **out);
int pat_rev(pat_pool *pool, pat *p, pat **out);
int pat_iter(pat_pool *pool, pat *p, pat *n, pat **out);
int pat_iter_back(pat_pool *pool, pat *p, pat *n, pat **out);
int pat_palindrome(pat_pool *pool, pat *p, pat **out);
int pat_ply(pat_pool *pool, pat *p, pat *factor, pat **out);
/* For off, inside, outside, chunk, chunkBack, juxBy, sometimesBy and
 * someCyclesBy the function sees a pattern that depends on the first
 * argument; when that argument is patterned it must be made of plain
 * numbers ("<0.25 0.5>"): f is applied once per number here, and anything
 * else is TT_EUNSUPPORTED. */
int pat_off(pat_pool *pool, pat *p, pat *t, pat_fn f, pat **out);
/* superimpose(f...) = stack(p, f(p)...); layer(f...) = stack(f(p)...). */
int pat_superimpose(pat_pool *pool, pat *p, const pat_fn *fs, size_t n, pat **out);
int pat_layer(pat_pool *pool, pat *p, const pat_fn *fs, size_t n, pat **out);
int pat_jux(pat_pool *pool, pat *p, pat_fn f, pat **out);
int pat_jux_by(pat_pool *pool, pat *p, pat *by, pat_fn f, pat **out);
int pat_chunk(pat_pool *pool, pat *p, pat *n, pat_fn f, pat **out);
int pat_chunk_back(pat_pool *pool, pat *p, pat *n, pat_fn f, pat **out);
int pat_fast_chunk(pat_pool *pool, pat *p, pat *n, pat_fn f, pat **out);
/* every = firstOf. */
int pat_first_of(pat_pool *pool, pat *p, pat *n, pat_fn f, pat **out);
int pat_last_of(pat_pool *pool, pat *p, pat *n, pat_fn f, pat **out);
/* when(binary, f): f(p) where binary is true, p elsewhere. */
int pat_when(pat_pool *pool, pat *p, pat *binary, pat_fn f, pat **out);
int pat_linger(pat_pool *pool, pat *p, pat *t, pat **out);
int pat_compress(pat_pool *pool, pat *p, pat *b, pat *e, pat **out);
int pat_zoom(pat_pool *pool, pat *p, pat *b, pat *e, pat **out);
int pat_fast_gap(pat_pool *pool, pat *p, pat *factor, pat **out);
int pat_inside(pat_pool *pool, pat *p, pat *factor, pat_fn f, pat **out);
int pat_outside(pat_pool *pool, pat *p, pat *factor, pat_fn f, pat **out);
int pat_swing_by(pat_pool *pool, pat *p, pat *x, pat *n, pat **out);
int pat_swing(pat_pool *pool, pat *p, pat *n, pat **out);
int pat_brak(pat_pool *pool, pat *p, pat **out);
int pat_segment(pat_pool *pool, pat *p, pat *n, pat **out);
/* struct: structure from the boolean pattern (keepif.out); mask: keepif.in. */
int pat_struct(pat_pool *pool, pat *p, pat *bools, pat **out);
int pat_mask(pat_pool *pool, pat *p, pat *bools, pat **out);
int pat_euclid(pat_pool *pool, pat *p, pat *k, pat *n, pat **out);
int pat_euclid_rot(pat_pool *pool, pat *p, pat *k, pat *n, pat *r, pat **out);
int pat_euclid_legato(pat_pool *pool, pat *p, pat *k, pat *n, pat **out);
int pat_euclid_legato_rot(pat_pool *pool, pat *p, pat *k, pat *n, pat *r,
			  pat **out);

/* ---- randomness, bit-exact with Strudel ---- */

/* The continuous signals rand and perlin; irand(n) is rand.fmap(trunc(x*n))
 * joined over n, always (so its events split at cycles, as Strudel's). */
int pat_rand(pat_pool *pool, pat **out);
int pat_perlin(pat_pool *pool, pat **out);
int pat_irand(pat_pool *pool, pat *n, pat **out);
int pat_degrade_by(pat_pool *pool, pat *p, pat *amount, pat **out);
int pat_degrade(pat_pool *pool, pat *p, pat **out);
int pat_undegrade_by(pat_pool *pool, pat *p, pat *amount, pat **out);
/* Mini-notation "a?" / "a?0.3": the seed is the count of '?' before it in
 * the program's mini-notation, as Strudel's parser numbers them; amount is
 * 0.5 when the token gives none. */
int pat_degrade_seed(pat_pool *pool, pat *p, double amount, int seed, pat **out);
/* Mini-notation "a | b | c" with its seed (counted like '?'). */
int pat_randcat_seed(pat_pool *pool, pat *const *ps, size_t n, int seed, pat **out);
/* randcat(...) (chooseCycles). */
int pat_randcat(pat_pool *pool, pat *const *ps, size_t n, pat **out);
/* choose(...xs): a continuous pattern picking xs by rand. The items are
 * patterns (plain values via pat_num...). */
int pat_choose(pat_pool *pool, pat *const *xs, size_t n, pat **out);
/* wchoose([x, w]...): choose with weights (plain numbers);
 * wrandcat / wchooseCycles([x, w]...): randcat with weights. */
int pat_wchoose(pat_pool *pool, pat *const *xs, const double *weights, size_t n,
		pat **out);
int pat_wrandcat(pat_pool *pool, pat *const *xs, const double *weights, size_t n,
		 pat **out);
int pat_sometimes_by(pat_pool *pool, pat *p, pat *amount, pat_fn f, pat **out);
/* Named frequencies: "sometimes" 0.5, "often" 0.75, "rarely" 0.25,
 * "almostNever" 0.1, "almostAlways" 0.9, "always" 1, "never" 0;
 * TT_ENOTFOUND for another name. Same for someCyclesBy ("someCycles"). */
int pat_sometimes_named(pat_pool *pool, pat *p, const char *name, pat_fn f,
			pat **out);
int pat_some_cycles_by(pat_pool *pool, pat *p, pat *amount, pat_fn f, pat **out);
int pat_shuffle(pat_pool *pool, pat *p, pat *n, pat **out);
int pat_scramble(pat_pool *pool, pat *p, pat *n, pat **out);

/* ---- signals ---- */

typedef enum pat_signal_kind {
	PAT_SIG_SINE, PAT_SIG_COSINE, PAT_SIG_SAW, PAT_SIG_ISAW, PAT_SIG_TRI,
	PAT_SIG_SQUARE, PAT_SIG_SINE2, PAT_SIG_COSINE2, PAT_SIG_SAW2,
	PAT_SIG_ISAW2, PAT_SIG_TRI2, PAT_SIG_SQUARE2, PAT_SIG_TIME
} pat_signal_kind;

int pat_signal(pat_pool *pool, pat_signal_kind kind, pat **out);
/* Signal names ("sine", "saw2", "rand", "perlin", ...) -> pattern;
 * TT_ENOTFOUND when name is not one. */
int pat_signal_named(pat_pool *pool, const char *name, pat **out);
int pat_range(pat_pool *pool, pat *p, pat *lo, pat *hi, pat **out);
int pat_rangex(pat_pool *pool, pat *p, pat *lo, pat *hi, pat **out);
int pat_range2(pat_pool *pool, pat *p, pat *lo, pat *hi, pat **out);

/* ---- arithmetic and value operators ---- */

typedef enum pat_op_kind {
	PAT_OP_SET, PAT_OP_KEEP, PAT_OP_KEEPIF, PAT_OP_ADD, PAT_OP_SUB,
	PAT_OP_MUL, PAT_OP_DIV, PAT_OP_MOD, PAT_OP_POW, PAT_OP_LT, PAT_OP_GT,
	PAT_OP_LTE, PAT_OP_GTE, PAT_OP_EQ, PAT_OP_NE, PAT_OP_AND, PAT_OP_OR
} pat_op_kind;

/* How structure is taken (Strudel's op.in / .out / .mix / .squeeze /
 * .squeezeout); the plain method (a.add(b)) is PAT_HOW_IN. */
typedef enum pat_how {
	PAT_HOW_IN, PAT_HOW_OUT, PAT_HOW_MIX, PAT_HOW_SQUEEZE, PAT_HOW_SQUEEZEOUT
} pat_how;

/* a.<op>.<how>(b). For several arguments the caller makes b a fastcat of
 * them first, as Strudel does. Arithmetic parses note names as MIDI
 * numbers; comparisons follow JavaScript (strings compare as strings). A
 * value arithmetic cannot use (a word) makes the whole query empty, as
 * Strudel's query fails. */
int pat_op(pat_pool *pool, pat_op_kind op, pat_how how, pat *a, pat *b, pat **out);
/* Name ("add", "sub", ...) -> op; TT_ENOTFOUND when not an operator. */
int pat_op_lookup(const char *name, pat_op_kind *op);

typedef enum pat_unary_kind {
	PAT_UN_ROUND, PAT_UN_FLOOR, PAT_UN_CEIL, PAT_UN_TO_BIPOLAR,
	PAT_UN_FROM_BIPOLAR
} pat_unary_kind;
int pat_unary(pat_pool *pool, pat_unary_kind kind, pat *p, pat **out);

/* ---- controls ---- */

/* Canonical name of a control or alias ("lpf" -> "cutoff"), or NULL when
 * name is not a control. The returned string is static. Thread-safe. */
const char *controls_lookup(const char *name);
/* The constructor form s("bd") / n(pat): values wrapped in {name: v};
 * an array value fills the control's multi-name list (s: s, n, gain).
 * name may be an alias. TT_ENOTFOUND when it is not a control. */
int pat_control(pat_pool *pool, const char *name, pat *values, pat **out);
/* The method form p.lpf(values) = p.set.in(lpf(values)). */
int pat_control_set(pat_pool *pool, pat *p, const char *name, pat *values,
		    pat **out);
/* adsr(".1:.2:.5:1") sets attack, decay, sustain, release (a single
 * number sets attack only). */
int pat_adsr(pat_pool *pool, pat *p, pat *values, pat **out);

/* ---- tonal ---- */

/* n("0 2 4").scale("C:minor"): scale degrees (or note names, moved to the
 * nearest scale note) to note names. An unknown scale name yields no
 * events (Strudel logs an error and drops them). name may be an array
 * value ("C:minor" in mini-notation): its parts are joined with spaces. */
int pat_scale(pat_pool *pool, pat *p, pat *name, pat **out);
/* transpose(semitones or interval name like "3M"). */
int pat_transpose(pat_pool *pool, pat *p, pat *amount, pat **out);
/* chord("C^7 Dm7") is pat_control(pool, "chord", ...); voicing() turns
 * {chord} (and {dict}, {anchor}, {mode}...) into stacked {note} events. */
int pat_voicing(pat_pool *pool, pat *p, pat **out);
/* arp(indices): picks among the events stacked at the same time. */
int pat_arp(pat_pool *pool, pat *p, pat *indices, pat **out);

/* ---- querying ---- */

/* Events of p whose parts intersect span, in arena (valid until the arena
 * is reset). Errors as described at the top; on TT_ELIMIT *events holds
 * the events found before the limit (possibly none). Render-thread safe. */
int pat_query(const pat *p, tt_span span, tt_arena *arena, tt_event **events,
	      size_t *n_events);

#endif
