/*
 * server/app.h: the state of one running tuttid, shared by its parts.
 *
 * Ownership: main.c creates everything here and tears it down in reverse
 * order. The store is used from libmicrohttpd's thread and the WebSocket
 * loop; store_lock serialises them (one SQLite connection, one writer).
 */
#ifndef TT_SERVER_APP_H
#define TT_SERVER_APP_H

#include <pthread.h>
#include <stdint.h>

#include "server/config.h"
#include "storage/store.h"

typedef struct http_server http_server;
typedef struct loop loop;
typedef struct writer writer;

typedef struct tt_app {
	tt_config cfg;
	store *st;
	pthread_mutex_t store_lock;
	int64_t started_ms;    /* monotonic clock at start, for uptime */
	loop *loop;             /* upgraded WebSocket connections */
	writer *writer;         /* commits edit operations (group commit) */
	store_config store_cfg; /* how every store handle is opened */
	http_server *http;
	struct osc_in *osc;     /* --osc-session: OSC /dirt/play input, or NULL */
} tt_app;

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t app_now_ms(void);

#endif
