/*
 * engine/arena.c: a bump allocator over caller-owned memory (see arena.h).
 *
 * Invariants: 1. used <= cap; 2. every pointer handed out is aligned to
 * max_align_t; 3. high_water >= used at all times.
 */
#include "engine/arena.h"

#include <stdalign.h>

void arena_init(tt_arena *a, void *mem, size_t cap)
{
	a->base = mem;
	a->cap = mem ? cap : 0;
	a->used = 0;
	a->high_water = 0;
}

void *arena_alloc(tt_arena *a, size_t size)
{
	const size_t align = alignof(max_align_t);
	size_t start = (a->used + align - 1) & ~(align - 1);
	if (start > a->cap || size > a->cap - start)
		return NULL;
	a->used = start + size;
	if (a->used > a->high_water)
		a->high_water = a->used;
	return a->base + start;
}

void arena_reset(tt_arena *a)
{
	a->used = 0;
}
