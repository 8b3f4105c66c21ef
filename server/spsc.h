/*
 * server/spsc.h: a single-producer, single-consumer ring of fixed-size
 * slots, lock-free, for talking to and from a render thread.
 *
 * The memory is allocated once (spsc_init); push and pop copy a slot and
 * touch only two atomic indices, so both are safe on the render thread:
 * no allocation, no lock, no system call. Exactly one thread pushes and
 * exactly one pops.
 */
#ifndef TT_SERVER_SPSC_H
#define TT_SERVER_SPSC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

typedef struct spsc {
	unsigned char *slots;
	size_t slot_size;
	size_t cap;            /* a power of two */
	_Atomic size_t head;   /* next to pop; written by the consumer */
	_Atomic size_t tail;   /* next to push; written by the producer */
} spsc;

/* cap is rounded up to a power of two. Not on the render thread. */
static inline int spsc_init(spsc *q, size_t slot_size, size_t cap)
{
	size_t c = 1;
	while (c < cap)
		c <<= 1;
	q->slots = calloc(c, slot_size);
	if (!q->slots)
		return TT_ENOMEM;
	q->slot_size = slot_size;
	q->cap = c;
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	return TT_OK;
}

static inline void spsc_fini(spsc *q)
{
	free(q->slots);
	q->slots = NULL;
}

/* Producer: copies item in; false when the ring is full. */
static inline bool spsc_push(spsc *q, const void *item)
{
	size_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
	size_t h = atomic_load_explicit(&q->head, memory_order_acquire);
	if (t - h == q->cap)
		return false;
	memcpy(q->slots + (t & (q->cap - 1)) * q->slot_size, item, q->slot_size);
	atomic_store_explicit(&q->tail, t + 1, memory_order_release);
	return true;
}

/* Consumer: copies the oldest item out; false when empty. */
static inline bool spsc_pop(spsc *q, void *item)
{
	size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
	size_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
	if (h == t)
		return false;
	memcpy(item, q->slots + (h & (q->cap - 1)) * q->slot_size, q->slot_size);
	atomic_store_explicit(&q->head, h + 1, memory_order_release);
	return true;
}

#endif
