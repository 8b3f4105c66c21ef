/*
 * server/http_guard.h: slow and piled-up HTTP requests (slowloris).
 *
 * libmicrohttpd's own timeout (TT_HTTP_IDLE_TIMEOUT_S) only closes a
 * connection that sends nothing at all: one that sends a byte of its
 * request every few seconds keeps its slot for ever, and enough of them
 * take every slot. The guard adds two rules for the time between a
 * connection's arrival (or the end of its previous request) and its
 * request being complete, headers and body:
 *
 *  1. Deadline: a request not complete TT_HTTP_REQUEST_TIMEOUT_S after it
 *     began is closed (a watchdog thread shuts its socket down once a
 *     second; libmicrohttpd then closes it as if the peer had gone).
 *  2. Per address: at most TT_MAX_HTTP_PENDING_PER_ADDRESS connections of
 *     one peer address may be in that state; more are refused at accept.
 *  3. In all: at most TT_MAX_HTTP_CONNECTIONS connections that are not
 *     upgraded WebSockets; more are refused at accept. (libmicrohttpd's
 *     own limit counts upgraded sockets too, so it is set to the sum of
 *     both limits and this one keeps HTTP to its share.)
 *
 * A connection whose request is complete is no longer watched: a listener
 * may stream for hours, an upgraded WebSocket belongs to the loop (which
 * has its own limits). Honest clients send a request in milliseconds.
 *
 *   accepted ──http_guard_notify──► PENDING ──http_guard_dispatched──► SERVED
 *      ▲                              │ deadline: socket shut down       │  │
 *      └─────────── http_guard_request_done (keep-alive) ────────────────┘  │
 *                                         UPGRADED ◄──http_guard_upgraded──┘
 *
 * Threads: the callbacks run on libmicrohttpd's thread; the watchdog is the
 * guard's own. Never on the render thread.
 */
#ifndef TT_SERVER_HTTP_GUARD_H
#define TT_SERVER_HTTP_GUARD_H

#include <microhttpd.h>

typedef struct http_guard http_guard;

/* Starts the watchdog. pending_per_address 0 means no per-address limit;
 * max_http caps connections that are not upgraded. */
int http_guard_new(int pending_per_address, int max_http, http_guard **out);
/* Stops the watchdog; after MHD_stop_daemon. NULL is fine. */
void http_guard_free(http_guard *g);

/* MHD_OPTION_ACCEPT_POLICY_CALLBACK (cls: the guard). */
enum MHD_Result http_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);
/* MHD_OPTION_NOTIFY_CONNECTION (cls: the guard). */
void http_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		       enum MHD_ConnectionNotificationCode toe);

/* The request on c is complete (it is being answered): stop watching. */
void http_guard_dispatched(http_guard *g, struct MHD_Connection *c);
/* c became a WebSocket: never watched again, and no longer HTTP. */
void http_guard_upgraded(http_guard *g, struct MHD_Connection *c);
/* The request on c ended; a kept-alive connection waits for the next one
 * under the same rules. */
void http_guard_request_done(http_guard *g, struct MHD_Connection *c);

#endif
