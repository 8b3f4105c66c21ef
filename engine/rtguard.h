/*
 * engine/rtguard.h: proof that the render path neither allocates nor locks.
 *
 * A thread marks the stretch where it renders with rtguard_enter() and
 * rtguard_leave(); render_block() does so itself in debug builds (TT_DEBUG,
 * configure --enable-debug). In a binary that is linked with the hooks
 * (engine/rtguard.c compiled with -DRTGUARD_HOOKS, as tests/engine does),
 * malloc, calloc, realloc, free and pthread_mutex_lock abort the process
 * when called by a thread inside such a stretch, naming the call on stderr.
 * Without the hooks the marks cost one thread-local store.
 *
 * Safe on the render thread: yes (that is its purpose).
 */
#ifndef TT_ENGINE_RTGUARD_H
#define TT_ENGINE_RTGUARD_H

#include <stdbool.h>

void rtguard_enter(void);
void rtguard_leave(void);
bool rtguard_active(void);
/* True when this binary carries the aborting hooks. */
bool rtguard_hooked(void);

#endif
