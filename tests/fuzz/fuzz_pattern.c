/*
 * tests/fuzz/fuzz_pattern.c: the pattern core through its API, without the
 * front end. The input is a small stack program: each byte picks an
 * operation (push a leaf, combine, transform with an argument taken from
 * the stack or the next byte), so the fuzzer reaches deep and odd
 * compositions (zero and negative factors, huge counts, tiny offsets)
 * quickly. The resulting pattern is queried over a span chosen by the
 * input, in a small arena. Any crash, sanitizer report or hang is a bug;
 * errors (TT_ELIMIT, TT_ERANGE, rejected arguments) are fine.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "engine/pattern.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STACK 16
#define STEPS 48

typedef struct vm {
	pat_pool *pool;
	pat *st[STACK];
	int n;
	const uint8_t *d;
	size_t len, pos;
} vm;

static uint8_t next(vm *v)
{
	return v->pos < v->len ? v->d[v->pos++] : 0;
}

static const double nums[16] = { 0, 1, 2, 3, 4, 0.5, 0.25, 1.5, -1, -0.25,
				 8, 16, 1e9, 1e-9, 1.0 / 3, 100 };
static const char *const strs[8] = { "bd", "c3", "C:minor", "x", "3M",
				     "0", "C^7", "" };

static void push(vm *v, pat *p)
{
	if (p && v->n < STACK)
		v->st[v->n++] = p;
}

static pat *pop(vm *v)
{
	pat *p;
	if (v->n > 0)
		return v->st[--v->n];
	return pat_num(v->pool, 1, NULL, &p) == TT_OK ? p : NULL;
}

static pat *arg(vm *v)
{
	pat *p;
	uint8_t b = next(v);
	if (b & 0x80)
		return pop(v);
	return pat_num(v->pool, nums[b & 15], NULL, &p) == TT_OK ? p : NULL;
}

static int fn_rev(void *env, pat_pool *pool, pat *in, pat **out)
{
	(void)env;
	return pat_rev(pool, in, out);
}

static int fn_fast(void *env, pat_pool *pool, pat *in, pat **out)
{
	pat *two;
	int rc = pat_num(pool, 2, NULL, &two);
	(void)env;
	return rc < 0 ? rc : pat_fast(pool, in, two, out);
}

typedef int (*unary)(pat_pool *, pat *, pat *, pat **);
static const unary unaries[] = {
	pat_fast, pat_slow, pat_hurry, pat_cpm, pat_early, pat_late, pat_iter,
	pat_iter_back, pat_ply, pat_linger, pat_fast_gap, pat_segment,
	pat_repeat_cycles, pat_degrade_by, pat_undegrade_by, pat_shuffle,
	pat_scramble, pat_struct, pat_mask, pat_scale, pat_transpose, pat_arp,
	pat_swing,
};

typedef int (*with_fn)(pat_pool *, pat *, pat *, pat_fn, pat **);
static const with_fn fns[] = {
	pat_off, pat_chunk, pat_chunk_back, pat_fast_chunk, pat_first_of,
	pat_last_of, pat_inside, pat_outside, pat_jux_by, pat_sometimes_by,
	pat_some_cycles_by, pat_when,
};

/* The operations of two or more operands, and the rarer ones. */
static pat *step_more(vm *v, uint8_t op)
{
	pat *a, *b, *r = NULL, *k[3];
	switch (op % 16) {
	case 9:
		a = pop(v);
		b = arg(v);
		switch (next(v) % 6) {
		case 0: pat_euclid(v->pool, a, b, arg(v), &r); break;
		case 1: pat_euclid_legato(v->pool, a, b, arg(v), &r); break;
		case 2: pat_compress(v->pool, a, b, arg(v), &r); break;
		case 3: pat_zoom(v->pool, a, b, arg(v), &r); break;
		case 4: pat_range(v->pool, a, b, arg(v), &r); break;
		default: pat_euclid_rot(v->pool, a, b, arg(v), arg(v), &r); break;
		}
		break;
	case 10:
		a = pop(v);
		b = pop(v);
		pat_op(v->pool, (pat_op_kind)(next(v) % 17), (pat_how)(next(v) % 5), a, b, &r);
		break;
	case 11: {
		static const char *const names[] = { "s", "n", "note", "lpf", "gain",
						     "chord", "pan", "room" };
		pat_control(v->pool, names[next(v) % 8], pop(v), &r);
		break;
	}
	case 12:
		a = pop(v);
		switch (next(v) % 5) {
		case 0: pat_rev(v->pool, a, &r); break;
		case 1: pat_palindrome(v->pool, a, &r); break;
		case 2: pat_brak(v->pool, a, &r); break;
		case 3: pat_degrade(v->pool, a, &r); break;
		default: pat_voicing(v->pool, a, &r); break;
		}
		break;
	case 13:
		a = pop(v);
		b = pop(v);
		if (next(v) & 1)
			pat_tail(v->pool, a, b, &r);
		else
			pat_range_seq(v->pool, a, b, &r);
		break;
	case 14:
		a = pop(v);
		if (next(v) & 1)
			pat_degrade_seed(v->pool, a, nums[next(v) & 15], next(v), &r);
		else {
			k[0] = a;
			k[1] = pop(v);
			pat_randcat_seed(v->pool, k, 2, next(v), &r);
		}
		break;
	default: {
		tt_rat w[2] = { { 1 + next(v) % 4, 1 }, { next(v) % 3, 1 } };
		k[0] = pop(v);
		k[1] = pop(v);
		pat_timecat(v->pool, w, k, 2, &r);
		break;
	}
	}
	return r;
}

static void step(vm *v)
{
	uint8_t op = next(v);
	pat *a, *r = NULL, *k[3];
	pat_fn f = { (next(v) & 1) ? fn_rev : fn_fast, NULL };
	switch (op % 16) {
	case 0: push(v, arg(v)); return;
	case 1: {
		pat *p;
		uint8_t i = next(v);
		tt_loc l = { i, i + 2u };
		if (pat_str(v->pool, strs[i & 7], &l, &p) == TT_OK)
			push(v, p);
		return;
	}
	case 2: pat_signal(v->pool, (pat_signal_kind)(next(v) % 13), &r); break;
	case 3: pat_rand(v->pool, &r); break;
	case 4: case 5: case 6:
		k[0] = pop(v);
		k[1] = pop(v);
		k[2] = pop(v);
		if (op % 16 == 4)
			pat_fastcat(v->pool, k, 1 + next(v) % 3, &r);
		else if (op % 16 == 5)
			pat_slowcat(v->pool, k, 1 + next(v) % 3, &r);
		else
			pat_stack(v->pool, k, 1 + next(v) % 3, &r);
		break;
	case 7:
		a = pop(v);
		unaries[next(v) % (sizeof unaries / sizeof unaries[0])](v->pool, a, arg(v), &r);
		break;
	case 8:
		a = pop(v);
		fns[next(v) % (sizeof fns / sizeof fns[0])](v->pool, a, arg(v), f, &r);
		break;
	default:
		r = step_more(v, op);
		break;
	}
	push(v, r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char mem[1 << 20];
	vm v = { .d = data, .len = size };
	tt_arena arena;
	tt_event *ev;
	size_t n;
	if (pat_pool_new(&v.pool) != TT_OK)
		return 0;
	for (int i = 0; i < STEPS && v.pos < v.len; i++)
		step(&v);
	if (v.n > 0) {
		int64_t b = (int64_t)(int8_t)next(&v), d = 1 + next(&v) % 8;
		int64_t len = 1 + next(&v) % 16;
		tt_span span = { { b, d }, { b + len, d } };
		if (rat_make(b, d, &span.begin) == TT_OK &&
		    rat_make(b + len, d, &span.end) == TT_OK) {
			arena_init(&arena, mem, sizeof mem);
			(void)pat_query(v.st[v.n - 1], span, &arena, &ev, &n);
		}
	}
	pat_pool_free(v.pool);
	return 0;
}
