/*
 * clients/cli/wsclient.h: a small blocking WebSocket client speaking
 * tuttid's JSON protocol, for the tutti command (and any tool like it).
 *
 * One connection, one thread. Messages that arrive while waiting for a
 * reply are kept in order and handed out by wsc_next.
 */
#ifndef TT_CLIENTS_CLI_WSCLIENT_H
#define TT_CLIENTS_CLI_WSCLIENT_H

#include <stddef.h>

#include <jansson.h>

typedef struct wsc wsc;

/* A TCP connection to URL's host and port (http://HOST:PORT), for plain
 * HTTP requests; the fd is the caller's to close, -1 with err on failure. */
int wsc_dial(const char *url, char *host, size_t hostcap, char *port, size_t portcap,
	     char *err, size_t errlen);

/* Connects to URL (http://HOST:PORT or ws://HOST:PORT; the path is /ws)
 * and completes the upgrade. err says why not. */
int wsc_connect(const char *url, wsc **out, char *err, size_t errlen);
void wsc_close(wsc *c);

/* Sends msg (borrowed) as a text message. */
int wsc_send(wsc *c, json_t *msg);
/* Sends msg (stolen: released here) with a fresh "id" and waits up to
 * timeout_ms for the reply carrying it; *reply is a new reference. Other
 * messages are queued. */
int wsc_request(wsc *c, json_t *msg, int timeout_ms, json_t **reply, char *err, size_t errlen);
/* The next message (queued first, then from the socket), waiting up to
 * timeout_ms; TT_EAGAIN on timeout. */
int wsc_next(wsc *c, int timeout_ms, json_t **msg, char *err, size_t errlen);

#endif
