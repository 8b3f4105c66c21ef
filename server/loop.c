/*
 * server/loop.c: see loop.h.
 *
 * Invariants:
 *  1. Every watched fd has one registration record, owned by the loop,
 *     found through epoll's data pointer; unwatching frees it only after
 *     the current batch of events is handled (a callback may unwatch an fd
 *     whose event is still pending in the same batch).
 *  2. Tasks posted before loop_stop run before the stop function; tasks
 *     posted after it are refused (TT_ECLOSED), so none is leaked silently.
 */
#include "server/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "server/log.h"

typedef struct watch {
	int fd;
	loop_fd_fn fn;
	void *arg;
	int dead;
	struct watch *next_dead;
} watch;

struct loop {
	int epfd;
	int wakefd;
	pthread_t thread;
	pthread_mutex_t lock;   /* guards tasks, tail and stopping */
	loop_task *tasks, *tail;
	int stopping;
	_Atomic int running;   /* read by the loop, cleared by stop */
	watch **by_fd;          /* registration per fd, for unwatch */
	int n_by_fd;
	watch *dead;            /* freed after the batch (invariant 1) */
	loop_task_fn tick;
	void *tick_arg;
	int tick_ms;
};

int64_t loop_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int grow_index(loop *l, int fd)
{
	int n;
	watch **b;

	if (fd < l->n_by_fd)
		return TT_OK;
	n = l->n_by_fd ? l->n_by_fd : 64;
	while (n <= fd)
		n *= 2;
	b = realloc(l->by_fd, (size_t)n * sizeof *b);
	if (!b)
		return TT_ENOMEM;
	memset(b + l->n_by_fd, 0, (size_t)(n - l->n_by_fd) * sizeof *b);
	l->by_fd = b;
	l->n_by_fd = n;
	return TT_OK;
}

int loop_watch(loop *l, int fd, uint32_t events, loop_fd_fn fn, void *arg)
{
	struct epoll_event ev = { .events = events };
	watch *w;

	if (fd < 0 || grow_index(l, fd) != TT_OK)
		return TT_ENOMEM;
	w = calloc(1, sizeof *w);
	if (!w)
		return TT_ENOMEM;
	w->fd = fd;
	w->fn = fn;
	w->arg = arg;
	ev.data.ptr = w;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		free(w);
		return TT_EIO;
	}
	l->by_fd[fd] = w;
	return TT_OK;
}

int loop_rewatch(loop *l, int fd, uint32_t events, loop_fd_fn fn, void *arg)
{
	struct epoll_event ev = { .events = events };
	watch *w = fd >= 0 && fd < l->n_by_fd ? l->by_fd[fd] : NULL;

	if (!w)
		return TT_ENOTFOUND;
	w->fn = fn;
	w->arg = arg;
	ev.data.ptr = w;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) == 0 ? TT_OK : TT_EIO;
}

void loop_unwatch(loop *l, int fd)
{
	watch *w = fd >= 0 && fd < l->n_by_fd ? l->by_fd[fd] : NULL;

	if (!w)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->by_fd[fd] = NULL;
	w->dead = 1;
	w->next_dead = l->dead;
	l->dead = w;
}

static int enqueue(loop *l, loop_task *t, loop_task_fn fn, void *arg, int stop)
{
	uint64_t one = 1;

	t->fn = fn;
	t->arg = arg;
	t->next = NULL;
	pthread_mutex_lock(&l->lock);
	if (l->stopping) {
		pthread_mutex_unlock(&l->lock);
		return TT_ECLOSED;
	}
	l->stopping = stop;
	if (l->tail)
		l->tail->next = t;
	else
		l->tasks = t;
	l->tail = t;
	pthread_mutex_unlock(&l->lock);
	if (write(l->wakefd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_warn("loop", "wake: %s", strerror(errno));
	return TT_OK;
}

int loop_post(loop *l, loop_task_fn fn, void *arg)
{
	loop_task *t = malloc(sizeof *t);
	int rc;

	if (!t)
		return TT_ENOMEM;
	t->heap = 1;
	rc = enqueue(l, t, fn, arg, 0);
	if (rc != TT_OK)
		free(t);
	return rc;
}

int loop_post_task(loop *l, loop_task *t, loop_task_fn fn, void *arg)
{
	t->heap = 0;
	return enqueue(l, t, fn, arg, 0);
}

/* Runs the tasks queued so far, in order. */
static void run_tasks(loop *l)
{
	loop_task *t;
	uint64_t n;

	if (read(l->wakefd, &n, sizeof n) < 0 && errno != EAGAIN)
		log_warn("loop", "wake read: %s", strerror(errno));
	pthread_mutex_lock(&l->lock);
	t = l->tasks;
	l->tasks = l->tail = NULL;
	pthread_mutex_unlock(&l->lock);
	/* Next and heap are read before fn runs: a caller-owned task may be
	 * posted again from fn, or by another thread once fn has begun. */
	while (t) {
		loop_task *next = t->next;
		int heap = t->heap;

		t->fn(t->arg);
		if (heap)
			free(t);
		t = next;
	}
}

static void reap(loop *l)
{
	while (l->dead) {
		watch *w = l->dead;
		l->dead = w->next_dead;
		free(w);
	}
}

static void *loop_main(void *arg)
{
	loop *l = arg;
	struct epoll_event evs[64];
	int64_t next_tick = loop_now_ms() + l->tick_ms;

	while (l->running) {
		int timeout = l->tick ? (int)(next_tick - loop_now_ms()) : -1;
		int n = epoll_wait(l->epfd, evs, 64, timeout < 0 && l->tick ? 0 : timeout);
		if (n < 0 && errno != EINTR) {
			log_error("loop", "epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			watch *w = evs[i].data.ptr;
			if (w == NULL)
				run_tasks(l);
			else if (!w->dead)
				w->fn(w->arg, evs[i].events);
		}
		reap(l);
		if (l->tick && loop_now_ms() >= next_tick) {
			l->tick(l->tick_arg);
			reap(l);
			next_tick = loop_now_ms() + l->tick_ms;
		}
	}
	return NULL;
}

int loop_start(loop **out, loop_task_fn tick, void *tick_arg, int tick_ms)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	loop *l = calloc(1, sizeof *l);

	if (!l)
		return TT_ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&l->lock, NULL);
	l->tick = tick;
	l->tick_arg = tick_arg;
	l->tick_ms = tick_ms > 0 ? tick_ms : 1000;
	l->running = 1;
	if (l->epfd < 0 || l->wakefd < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) != 0 ||
	    pthread_create(&l->thread, NULL, loop_main, l) != 0) {
		if (l->epfd >= 0)
			close(l->epfd);
		if (l->wakefd >= 0)
			close(l->wakefd);
		pthread_mutex_destroy(&l->lock);
		free(l);
		return TT_EIO;
	}
	*out = l;
	return TT_OK;
}

typedef struct stop_req {
	loop_task task;
	loop *l;
	loop_task_fn fn;
	void *arg;
} stop_req;

static void stop_task(void *arg)
{
	stop_req *s = arg;
	if (s->fn)
		s->fn(s->arg);
	s->l->running = 0;
}

void loop_stop(loop *l, loop_task_fn fn, void *arg)
{
	stop_req s = { .l = l, .fn = fn, .arg = arg };

	if (!l)
		return;
	/* The stop task is the last one ever queued (invariant 2); it lives
	 * here, so stopping allocates nothing and cannot fail. */
	s.task.heap = 0;
	if (enqueue(l, &s.task, stop_task, &s, 1) != TT_OK)
		l->running = 0; /* stopped twice: the first stop function ran */
	pthread_join(l->thread, NULL);
	reap(l);
	/* Watches still registered (timers, sockets nobody closed) end here. */
	for (int fd = 0; fd < l->n_by_fd; fd++)
		free(l->by_fd[fd]);
	free(l->by_fd);
	close(l->epfd);
	close(l->wakefd);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
