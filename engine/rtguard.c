/*
 * engine/rtguard.c: the render-thread guard (see rtguard.h).
 *
 * Design:
 *  1. The mark is a thread-local depth counter, so other threads (a worker compiling
 *     the next program, libsndfile loading samples) allocate freely.
 *  2. With RTGUARD_HOOKS this file defines malloc, calloc, realloc, free and
 *     pthread_mutex_lock itself. Symbols defined in the executable take
 *     precedence over libc's for every caller, libc's own internal calls
 *     included, so anything the render path reaches is caught. The hooks
 *     forward to glibc's __libc_* entry points (and to the versioned
 *     __pthread_mutex_lock) when the flag is clear.
 *  3. On a violation the hook writes a fixed message with write(2) (no stdio:
 *     it may allocate) and calls abort().
 */
#include "engine/rtguard.h"

#include "common/heap.h"

static _Thread_local int rendering;

/* Marks nest (a test may guard a stretch that calls render_block, which
 * marks itself in debug builds): the guard holds until the outermost leave. */
void rtguard_enter(void)
{
	rendering++;
}

void rtguard_leave(void)
{
	if (rendering > 0)
		rendering--;
}

bool rtguard_active(void)
{
	return rendering != 0;
}

/* AddressSanitizer owns malloc and free itself: the hooks would hand its
 * blocks to glibc's free. Under it they are left out (rtguard_hooked()
 * answers false and the test says it skipped). */
#if defined(RTGUARD_HOOKS) && !defined(TT_ASAN)
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);
int rtguard_real_lock(pthread_mutex_t *m);
__asm__(".symver rtguard_real_lock, __pthread_mutex_lock@GLIBC_2.2.5");

bool rtguard_hooked(void)
{
	return true;
}

static void violation(const char *what)
{
	static const char pre[] = "rtguard: ";
	static const char post[] = " called on the render thread while rendering\n";
	rendering = 0;
	(void)!write(2, pre, sizeof pre - 1);
	(void)!write(2, what, strlen(what));
	(void)!write(2, post, sizeof post - 1);
	abort();
}

void *malloc(size_t n)
{
	if (rendering)
		violation("malloc");
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	if (rendering)
		violation("calloc");
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	if (rendering)
		violation("realloc");
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (rendering)
		violation("free");
	__libc_free(p);
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
	if (rendering)
		violation("pthread_mutex_lock");
	return rtguard_real_lock(m);
}
#else
bool rtguard_hooked(void)
{
	return false;
}
#endif
