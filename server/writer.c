/* server/writer.c: see writer.h. */
#include "server/writer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"
#include "server/log.h"
#include "server/loop.h"

struct writer {
	store *st;
	loop *loop;
	writer_done_fn done;
	void *done_arg;
	pthread_t thread;
	pthread_mutex_t lock;     /* guards head, tail, stopping, done_* */
	pthread_cond_t cond;
	writer_item *head, *tail;
	int stopping;
	/* Committed, for done on the loop thread, in order. One task of the
	 * writer's own carries them (no allocation, so no batch is ever
	 * stored without its submitter hearing): posted when the list stops
	 * being empty, unless it is already queued. If the loop refuses it
	 * (its stop function is running writer_stop), writer_stop hands the
	 * list to done itself. */
	writer_item *done_head, *done_tail;
	int done_posted;
	loop_task done_task;
	atomic_uint_fast64_t batches;
	atomic_uint_fast64_t items;
};

/* Totals over the server's life, for /metrics (any thread). */
static atomic_uint_fast64_t total_batches, total_items;

void writer_totals(uint64_t *batches, uint64_t *items)
{
	*batches = atomic_load(&total_batches);
	*items = atomic_load(&total_items);
}

void writer_item_free(writer_item *item)
{
	if (!item)
		return;
	free((char *)item->op.author);
	free((char *)item->op.op);
	free((char *)item->op.client_id);
	free(item->snapshot);
	free(item);
}

/* Appends the list first..last to the list at *head, *tail. */
static void append(writer_item **head, writer_item **tail, writer_item *first,
		   writer_item *last)
{
	if (*tail)
		(*tail)->next = first;
	else
		*head = first;
	*tail = last;
}

/* Takes the committed list; its items, in order, or NULL. */
static writer_item *take_done(writer *w)
{
	writer_item *items;

	pthread_mutex_lock(&w->lock);
	items = w->done_head;
	w->done_head = w->done_tail = NULL;
	w->done_posted = 0;
	pthread_mutex_unlock(&w->lock);
	return items;
}

static void run_done(void *arg)
{
	writer *w = arg;
	writer_item *items = take_done(w);

	if (items)
		w->done(items, w->done_arg);
}

/* Writes one item inside the open group; a failed item spoils only itself
 * (store_ops_append uses a savepoint). */
static void write_item(writer *w, writer_item *it)
{
	it->rc = store_ops_append(w->st, &it->op, 1, NULL);
	if (it->rc != TT_OK) {
		log_error("writer", "doc %lld rev %lld not stored: %s",
			  (long long)it->op.doc_id, (long long)it->op.revision, store_errmsg(w->st));
		return;
	}
	if (it->snapshot) {
		int rc = store_snapshot_put(w->st, it->op.doc_id, it->op.revision, it->snapshot,
					    it->snapshot_len);
		/* A missing snapshot costs loading time, never data. */
		if (rc != TT_OK && rc != TT_EEXIST)
			log_warn("writer", "snapshot of doc %lld at %lld: %s",
				 (long long)it->op.doc_id, (long long)it->op.revision,
				 store_errmsg(w->st));
	}
}

static void commit_batch(writer *w, writer_item *batch)
{
	int rc = store_tx_begin(w->st);
	uint64_t n = 0;

	if (rc == TT_OK) {
		for (writer_item *it = batch; it; it = it->next, n++)
			write_item(w, it);
		rc = store_tx_commit(w->st);
	}
	if (rc != TT_OK) {
		log_error("writer", "commit of %llu operations failed: %s (%s)",
			  (unsigned long long)n, tt_strerror(rc), store_errmsg(w->st));
		for (writer_item *it = batch; it; it = it->next)
			if (it->rc == TT_OK)
				it->rc = rc;
	}
	atomic_fetch_add(&w->batches, 1);
	atomic_fetch_add(&w->items, n);
	atomic_fetch_add(&total_batches, 1);
	atomic_fetch_add(&total_items, n);
}

static void *writer_main(void *arg)
{
	writer *w = arg;

	for (;;) {
		writer_item *batch, *last;
		int post;

		pthread_mutex_lock(&w->lock);
		while (!w->head && !w->stopping)
			pthread_cond_wait(&w->cond, &w->lock);
		batch = w->head;
		last = w->tail;
		w->head = w->tail = NULL;
		pthread_mutex_unlock(&w->lock);
		if (!batch)
			break; /* stopping, and nothing left */
		commit_batch(w, batch);
		pthread_mutex_lock(&w->lock);
		append(&w->done_head, &w->done_tail, batch, last);
		post = !w->done_posted;
		w->done_posted = 1;
		pthread_mutex_unlock(&w->lock);
		/* Refused only while the loop stops: writer_stop takes over. */
		if (post)
			loop_post_task(w->loop, &w->done_task, run_done, w);
	}
	return NULL;
}

int writer_start(const char *db_path, const store_config *cfg, loop *l,
		 writer_done_fn done, void *arg, writer **out, char *err, size_t errlen)
{
	writer *w = calloc(1, sizeof *w);
	int rc;

	if (!w)
		return TT_ENOMEM;
	rc = store_open(db_path, cfg, &w->st);
	if (rc != TT_OK) {
		snprintf(err, errlen, "writer cannot open %s: %s", db_path, store_errmsg(w->st));
		store_close(w->st);
		free(w);
		return rc;
	}
	w->loop = l;
	w->done = done;
	w->done_arg = arg;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		store_close(w->st);
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		free(w);
		return TT_EIO;
	}
	*out = w;
	return TT_OK;
}

void writer_submit(writer *w, writer_item *item)
{
	item->next = NULL;
	item->rc = TT_OK;
	pthread_mutex_lock(&w->lock);
	append(&w->head, &w->tail, item, item);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void writer_stop(writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	run_done(w);
	store_close(w->st);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}

void writer_stats(writer *w, uint64_t *batches, uint64_t *items)
{
	*batches = atomic_load(&w->batches);
	*items = atomic_load(&w->items);
}
