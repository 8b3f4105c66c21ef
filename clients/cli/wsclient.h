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
typedef struct wsc_link wsc_link;

/* How https:// and wss:// connections check the server, for every
 * connection the process makes from then on (tutti.c sets it from
 * --cacert FILE and --insecure). cacert NULL: the system's CA bundle,
 * WSC_DEFAULT_CACERT. insecure: no check at all (still encrypted).
 * The host name of the URL must match the certificate's subjectAltName
 * DNS names or CN (mbedTLS 2.28 does not match IP-address names: use a
 * name, e.g. localhost). The strings are borrowed for the process's life. */
#define WSC_DEFAULT_CACERT "/etc/ssl/certs/ca-certificates.crt"
void wsc_set_tls(const char *cacert, int insecure);

/* A byte stream to URL's host and port: plain TCP for http:// and ws://
 * (port 80 by default), TLS for https:// and wss:// (port 443), with the
 * handshake and the certificate check done. host and port receive the
 * URL's, for a Host header. NULL with err on failure. */
wsc_link *wsc_dial(const char *url, char *host, size_t hostcap, char *port, size_t portcap,
		   char *err, size_t errlen);
/* Sends all of data: TT_OK or TT_EIO. */
int wsc_link_send(wsc_link *l, const void *data, size_t n);
/* Receives up to cap bytes into *got, waiting up to timeout_ms (-1: no
 * limit): TT_OK, TT_EAGAIN on timeout, TT_ECLOSED at the end of the
 * stream, TT_EIO on an error. */
int wsc_link_recv(wsc_link *l, void *buf, size_t cap, int timeout_ms, size_t *got);
/* Ends the stream (TLS: with close_notify) and frees l. NULL is a no-op. */
void wsc_link_close(wsc_link *l);

/* Connects to URL (http://, ws://, https:// or wss://HOST:PORT; the path
 * is /ws) and completes the upgrade. err says why not. */
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
