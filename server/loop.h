/*
 * server/loop.h: tuttid's own event loop, on epoll, in one thread.
 *
 * Upgraded WebSocket connections live here rather than on libmicrohttpd's
 * threads, so that thousands of long-lived connections cost a descriptor
 * each and nothing blocks: every socket is non-blocking and every write is
 * queued. Other threads reach the loop only through loop_post, which queues
 * a task and wakes the loop through an eventfd.
 *
 * Thread safety: loop_post and loop_stop from any thread; everything else
 * only on the loop thread (from callbacks and posted tasks). Never used on
 * the render thread.
 */
#ifndef TT_SERVER_LOOP_H
#define TT_SERVER_LOOP_H

#include <stdint.h>

typedef struct loop loop;

/* Called on the loop thread with the epoll events (EPOLLIN, EPOLLOUT,
 * EPOLLHUP, EPOLLERR) that fired for fd. */
typedef void (*loop_fd_fn)(void *arg, uint32_t events);
typedef void (*loop_task_fn)(void *arg);

/* Creates the loop and starts its thread. tick is called on the loop thread
 * every tick_ms milliseconds (timeouts, sweeps), may be NULL. */
int loop_start(loop **out, loop_task_fn tick, void *tick_arg, int tick_ms);
/* Asks the loop to run fn(arg) on its thread soon. TT_ECLOSED once the
 * loop is stopping (then fn will never run: the caller keeps arg);
 * TT_ENOMEM when the task cannot be allocated. */
int loop_post(loop *l, loop_task_fn fn, void *arg);

/* A task its caller owns, for loop_post_task: posting it allocates
 * nothing, so only a stopping loop refuses it. The loop owns the fields
 * while it is queued. */
typedef struct loop_task {
	loop_task_fn fn;
	void *arg;
	struct loop_task *next;
	int heap;                  /* allocated by loop_post, freed after fn */
} loop_task;

/* As loop_post, with t for the queue: t must not be queued already and
 * must stay valid until fn has begun (fn may post it again). TT_ECLOSED
 * once the loop is stopping. */
int loop_post_task(loop *l, loop_task *t, loop_task_fn fn, void *arg);
/* Runs fn(arg) on the loop thread, then stops it and joins the thread.
 * fn should close everything the loop watches. Call once, not from the
 * loop thread. */
void loop_stop(loop *l, loop_task_fn fn, void *arg);

/* Loop thread only. */
int loop_watch(loop *l, int fd, uint32_t events, loop_fd_fn fn, void *arg);
int loop_rewatch(loop *l, int fd, uint32_t events, loop_fd_fn fn, void *arg);
void loop_unwatch(loop *l, int fd);
int64_t loop_now_ms(void);

#endif
