/*
 * engine/arena.h: a bump allocator over memory the caller owns.
 *
 * Pattern queries allocate their temporary structures and their events here,
 * so that the render thread can query without calling malloc: it owns one
 * arena, made before rendering starts, and resets it every block. An
 * allocation past the end fails (NULL) and the query answers TT_ELIMIT.
 *
 * Safe on the render thread: arena_alloc and arena_reset, yes.
 */
#ifndef TT_ENGINE_ARENA_H
#define TT_ENGINE_ARENA_H

#include <stddef.h>

typedef struct tt_arena {
	unsigned char *base;
	size_t cap;
	size_t used;
	size_t high_water; /* the most ever used, for sizing */
} tt_arena;

/* Uses [mem, mem+cap) until the caller frees mem; does not allocate. */
void arena_init(tt_arena *a, void *mem, size_t cap);
/* size bytes aligned for any type, or NULL when the arena is full. */
void *arena_alloc(tt_arena *a, size_t size);
void arena_reset(tt_arena *a);

#endif
