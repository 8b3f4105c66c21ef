/*
 * common/heap.h: what this build's malloc is, for the code that looks
 * behind it.
 *
 * TT_ASAN is defined when AddressSanitizer is built in (gcc or clang): it
 * owns malloc and free itself, so code that interposes them or reads
 * glibc's heap figures leaves that out under it.
 *
 * TT_HEAP_STATS is defined where glibc's mallinfo2 exists and means
 * something (not under TT_ASAN); tt_heap_in_use is then the bytes malloc
 * holds for the program.
 */
#ifndef TT_COMMON_HEAP_H
#define TT_COMMON_HEAP_H

#if defined(__SANITIZE_ADDRESS__)
#define TT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TT_ASAN 1
#endif
#endif

#if defined(HAVE_MALLINFO2) && !defined(TT_ASAN)
#define TT_HEAP_STATS 1
#include <malloc.h>
#include <stddef.h>

/* Bytes allocated with malloc and not freed: uordblks + hblkhd. Walks
 * every arena's free lists under its lock: not for the render thread. */
static inline size_t tt_heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}
#endif

#endif
