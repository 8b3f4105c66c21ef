/*
 * tests/server/test_writer.c: the writer (server/writer.c) hands every
 * committed batch to its done callback on the loop thread, in order; also
 * the batches it commits while the loop is stopping, when tuttid's stop
 * function calls writer_stop and the loop takes no more tasks. Those used
 * to be freed without their contexts (LeakSanitizer caught edit contexts
 * of ops queued at shutdown in fuzz_rpc_replay).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "server/loop.h"
#include "server/writer.h"
#include "tests/tap.h"

#define EARLY 50  /* submitted while the loop runs */
#define LATE 200  /* submitted by the stop function, before writer_stop */

static char db_path[] = "/tmp/tutti-writer-XXXXXX";
static store_config cfg;
static writer *w;
static loop *lp;
static int64_t doc_id, next_rev = 1;
static int delivered, in_order = 1, off_thread, contexts;
static pthread_t loop_thread;

static void done(writer_item *batch, void *arg)
{
	static int64_t last;

	(void)arg;
	if (!pthread_equal(pthread_self(), loop_thread))
		off_thread++;
	while (batch) {
		writer_item *next = batch->next;
		if (batch->rc != TT_OK || batch->op.revision != last + 1)
			in_order = 0;
		last = batch->op.revision;
		delivered++;
		contexts -= batch->ctx != NULL;
		free(batch->ctx);
		writer_item_free(batch);
		batch = next;
	}
}

static void submit(void)
{
	writer_item *it = calloc(1, sizeof *it);
	char op[32];

	snprintf(op, sizeof op, "[\"x%lld\"]", (long long)next_rev);
	it->op.doc_id = doc_id;
	it->op.revision = next_rev++;
	it->op.author = strdup("t");
	it->op.op = strdup(op);
	it->op.op_len = strlen(op);
	it->ctx = malloc(16);
	contexts++;
	writer_submit(w, it);
}

static void early(void *arg)
{
	(void)arg;
	loop_thread = pthread_self();
	for (int i = 0; i < EARLY; i++)
		submit();
}

/* As tuttid's shutdown_loop: the last ops, then writer_stop. */
static void stop(void *arg)
{
	(void)arg;
	for (int i = 0; i < LATE; i++)
		submit();
	writer_stop(w);
}

int main(void)
{
	store *st;
	store_session s;
	store_doc d;
	char err[256], path[64];
	int rc;

	if (!mkdtemp(db_path))
		return 1;
	snprintf(path, sizeof path, "%s/t.db", db_path);
	store_config_default(&cfg);
	rc = store_open(path, &cfg, &st);
	if (rc == TT_OK)
		rc = store_session_create(st, "w", &s);
	if (rc == TT_OK)
		rc = store_doc_create(st, s.id, "d", &d);
	is_int(rc, TT_OK, "a session and a document to write to");
	doc_id = d.id;
	store_close(st);
	is_int(loop_start(&lp, NULL, NULL, 1000), TT_OK, "the loop starts");
	is_int(writer_start(path, &cfg, lp, done, NULL, &w, err, sizeof err), TT_OK,
	       "the writer starts");
	is_int(loop_post(lp, early, NULL), TT_OK, "ops submitted from the loop thread");
	usleep(200000);
	loop_stop(lp, stop, NULL);
	is_int(delivered, EARLY + LATE, "every op came back to done, those committed while the "
	       "loop stopped too");
	is_int(contexts, 0, "so every context was released");
	ok(in_order, "in submission order, each stored");
	is_int(off_thread, 0, "always on the loop thread");
	rc = store_open(path, &cfg, &st);
	if (rc == TT_OK && store_doc_get(st, doc_id, &d) == TT_OK)
		is_int(d.revision, EARLY + LATE, "and all of them are in the database");
	store_close(st);
	for (const char *f = "t.db\0t.db-wal\0t.db-shm\0"; *f; f += strlen(f) + 1) {
		snprintf(path, sizeof path, "%s/%s", db_path, f);
		unlink(path);
	}
	rmdir(db_path);
	return tap_done();
}
