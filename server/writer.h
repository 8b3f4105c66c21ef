/*
 * server/writer.h: the one thread that commits edit operations (group
 * commit).
 *
 * The event loop applies an operation to its in-memory document, then
 * submits it here; the writer takes everything submitted so far, writes it
 * in one SQLite transaction, and hands the batch back to the loop, which
 * only then acknowledges and broadcasts each operation. So:
 *  1. an operation is acknowledged only after its transaction committed;
 *  2. many connections share one commit (one fsync): under load a batch
 *     holds everything that arrived while the previous commit ran, and an
 *     idle writer commits a lone operation at once;
 *  3. items come back to the loop in the order they were submitted, so the
 *     broadcasts of a document go out in revision order.
 *
 * Threads: writer_submit from the loop thread; the done callback runs on
 * the loop thread (posted). Not for the render thread.
 */
#ifndef TT_SERVER_WRITER_H
#define TT_SERVER_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

typedef struct loop loop;
typedef struct writer writer;

/* One operation to store; every pointer is owned by the item (malloc'd)
 * and freed by writer_item_free. */
typedef struct writer_item {
	store_op op;               /* op.author and op.op owned */
	char *snapshot;            /* non-NULL: also store this snapshot */
	size_t snapshot_len;       /* of the text at op.revision */
	int rc;                    /* set by the writer: TT_OK or the error */
	void *ctx;                 /* the submitter's, untouched */
	struct writer_item *next;
} writer_item;

/* The loop-thread callback for a committed (or failed) batch, in
 * submission order; it owns the list and frees each with writer_item_free. */
typedef void (*writer_done_fn)(writer_item *batch, void *arg);

/* Opens its own store handle on db_path (cfg as for the server's) and
 * starts the thread. */
int writer_start(const char *db_path, const store_config *cfg, loop *l,
		 writer_done_fn done, void *arg, writer **out, char *err, size_t errlen);
/* Queues an item; never blocks on I/O. */
void writer_submit(writer *w, writer_item *item);
/* Commits what is queued, stops the thread, closes its store. Call it
 * from loop_stop's stop function, as tuttid does (the loop has then run
 * every task it took, and takes no more): batches committed since are
 * handed to done here, in order, so every item's context is released.
 * Handing a batch to done never allocates, so none is stored without its
 * submitter hearing. */
void writer_stop(writer *w);

void writer_item_free(writer_item *item);

/* Batches committed and items written so far (for benches and tests). */
void writer_stats(writer *w, uint64_t *batches, uint64_t *items);
/* The same over every writer since the server started (any thread, even
 * while a writer stops). */
void writer_totals(uint64_t *batches, uint64_t *items);

#endif
