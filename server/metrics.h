/*
 * server/metrics.h: counters for GET /metrics that no other module keeps
 * (server/api.c prints them with the others, docs/operations.md lists all).
 *
 * Each is a relaxed atomic: any thread may count, the render thread too
 * (metrics_render_busy: one atomic add, no lock, no allocation, no I/O).
 */
#ifndef TT_SERVER_METRICS_H
#define TT_SERVER_METRICS_H

#include <stdint.h>

#include "storage/store.h"

typedef struct metrics_totals {
	uint64_t bytes_out;       /* to WebSocket clients and HTTP stream listeners */
	uint64_t evals_ok;        /* evaluations that landed */
	uint64_t evals_failed;    /* evaluations answered with an error */
	uint64_t render_busy_ns;  /* render threads' time spent rendering blocks */
	int64_t members[4];       /* joined WebSocket members by store_role */
	int64_t tls_conns;        /* connections the TLS front holds */
	uint64_t tls_refused;     /* TLS connections refused at TT_MAX_TLS_CONNECTIONS */
	uint64_t tls_resumed;     /* TLS sessions resumed with a ticket */
} metrics_totals;

/* Bytes handed to the kernel for a client (any thread). */
void metrics_bytes_out(uint64_t n);
/* An evaluation was stored, landed (ok) or failed. */
void metrics_evaluation(int ok);
/* A member with role r joined (delta +1) or left (-1) a session. */
void metrics_member(store_role r, int delta);
/* Render thread: ns spent on one block. Safe on the audio thread. */
void metrics_render_busy(uint64_t ns);

/* The TLS front: a connection taken (+1) or freed (-1); one refused. */
void metrics_tls_conn(int delta);
void metrics_tls_refused(void);
void metrics_tls_resumed(void);

void metrics_get(metrics_totals *out);

typedef struct tt_app tt_app;
/* Appends this module's metrics in the Prometheus text format to buf
 * (cap bytes, NUL not needed); returns the bytes written. HTTP thread
 * (counts the stored sessions under app->store_lock). */
size_t metrics_format(tt_app *app, char *buf, size_t cap);

#endif
