/*
 * tests/server/test_loop.c: the event loop's task queue (server/loop.c).
 * Tasks run on the loop thread in the order posted; a caller-owned task
 * (loop_post_task) allocates nothing, so it is taken even when malloc
 * fails, and can be posted again from its own function; loop_stop runs its
 * stop function after every task posted before it, also when malloc fails,
 * and the loop refuses tasks from then on.
 *
 * Built with -Wl,--wrap=malloc: malloc from loop.c and this file goes
 * through wrap_malloc below, which fails while fail_malloc is set.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/error.h"
#include "server/loop.h"
#include "tests/tap.h"

#define POSTS 1000

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);

static atomic_int fail_malloc;

void *__wrap_malloc(size_t n)
{
	if (atomic_load(&fail_malloc))
		return NULL;
	return __real_malloc(n);
}

static loop *lp;
static pthread_t loop_thread;
static atomic_int ran, off_thread, out_of_order, reposts;
static loop_task own;

static void note_thread(void *arg)
{
	(void)arg;
	loop_thread = pthread_self();
}

static void count(void *arg)
{
	int i = (int)(intptr_t)arg;

	if (!pthread_equal(pthread_self(), loop_thread))
		atomic_fetch_add(&off_thread, 1);
	if (i != atomic_load(&ran))
		atomic_fetch_add(&out_of_order, 1);
	atomic_fetch_add(&ran, 1);
}

/* Posts itself again until it has run POSTS times. */
static void again(void *arg)
{
	(void)arg;
	if (atomic_fetch_add(&reposts, 1) + 1 < POSTS &&
	    loop_post_task(lp, &own, again, NULL) != TT_OK)
		atomic_store(&reposts, -1000000);
}

/* Waits (at most 10 s) for *v to reach want. */
static int wait_for(atomic_int *v, int want)
{
	for (int i = 0; i < 10000 && atomic_load(v) < want; i++)
		usleep(1000);
	return atomic_load(v) >= want;
}

static atomic_int stop_ran, stop_saw_all, stop_post, stop_post_task;

static void stop_fn(void *arg)
{
	static loop_task late;

	(void)arg;
	atomic_store(&stop_ran, 1);
	atomic_store(&stop_saw_all, atomic_load(&ran) == 2 * POSTS + 1);
	atomic_store(&fail_malloc, 0);   /* so that only the stop can refuse */
	atomic_store(&stop_post, loop_post(lp, count, NULL));
	atomic_store(&stop_post_task, loop_post_task(lp, &late, count, NULL));
}

int main(void)
{
	int rc, fails = 0;
	static loop_task last;

	rc = loop_start(&lp, NULL, NULL, 0);
	is_int(rc, TT_OK, "the loop starts");
	loop_post(lp, note_thread, NULL);

	for (int i = 0; i < POSTS; i++)
		fails += loop_post(lp, count, (void *)(intptr_t)i) != TT_OK;
	is_int(fails, 0, "%d tasks posted from another thread", POSTS);
	ok(wait_for(&ran, POSTS), "all ran");
	is_int(atomic_load(&out_of_order), 0, "in the order posted");
	is_int(atomic_load(&off_thread), 0, "each on the loop thread");

	is_int(loop_post_task(lp, &own, again, NULL), TT_OK, "a caller-owned task is taken");
	rc = wait_for(&reposts, POSTS);
	ok(rc, "posted again from its own function, it ran %d times", atomic_load(&reposts));

	atomic_store(&fail_malloc, 1);
	is_int(loop_post(lp, count, NULL), TT_ENOMEM,
	       "malloc failing: loop_post says TT_ENOMEM");
	fails = 0;
	for (int i = 0; i < POSTS; i++) {
		static loop_task mine[POSTS];
		fails += loop_post_task(lp, &mine[i], count,
					(void *)(intptr_t)(POSTS + i)) != TT_OK;
	}
	is_int(fails, 0, "malloc failing: %d caller-owned tasks are taken all the same", POSTS);
	rc = wait_for(&ran, 2 * POSTS);
	ok(rc, "and run, in order (%d of %d out of order)", atomic_load(&out_of_order), 2 * POSTS);

	/* The last task before the stop; the stop function must see it run. */
	loop_post_task(lp, &last, count, (void *)(intptr_t)(2 * POSTS));
	loop_stop(lp, stop_fn, NULL);
	ok(atomic_load(&stop_ran), "malloc failing: loop_stop still runs its stop function");
	ok(atomic_load(&stop_saw_all), "after every task posted before it");
	is_int(atomic_load(&stop_post), TT_ECLOSED, "then loop_post is refused (TT_ECLOSED)");
	is_int(atomic_load(&stop_post_task), TT_ECLOSED, "and so is loop_post_task");
	is_int(atomic_load(&out_of_order), 0, "no task ran out of order");
	return tap_done();
}
