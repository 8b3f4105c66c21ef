/*
 * server/icecast.h: a session as a source client of an Icecast 2 server.
 *
 * tuttid's own listeners come from /s/ID/live.ogg; for a large audience a
 * session feeds an Icecast server (and its relays) instead: the same Ogg
 * pages, sent with libshout from a thread of its own, so a slow or absent
 * Icecast never holds up the hub. The thread (re)connects with a back-off
 * (1 s doubling to 30 s), sends the header pages first on each connection,
 * then the live pages. While it is not connected, pages are dropped (a
 * bounded queue of TT_ICECAST_QUEUE pages, about 25 s).
 *
 * Threads: icecast_start/push/stop on the loop thread; libshout only on
 * the icecast thread.
 */
#ifndef TT_SERVER_ICECAST_H
#define TT_SERVER_ICECAST_H

#include <stddef.h>
#include <stdint.h>

typedef struct icecast_out icecast_out;

/* url: http://[USER[:PASSWORD]@]HOST[:PORT]/MOUNT (user "source", port
 * 8000 by default). head: the stream's Ogg header pages (copied). */
int icecast_start(const char *url, const uint8_t *head, size_t head_len, icecast_out **out,
		  char *err, size_t errlen);
/* Queues one Ogg page (copied); drops the oldest when the queue is full. */
void icecast_push(icecast_out *o, const uint8_t *page, size_t len);
/* Stops the thread and closes the connection. */
void icecast_stop(icecast_out *o);
/* Whether it is connected now (any thread). */
int icecast_connected(icecast_out *o);

/* Parses the URL (exposed for tests of the flag). */
int icecast_parse_url(const char *url, char *user, size_t ucap, char *pass, size_t pcap,
		      char *host, size_t hcap, int *port, char *mount, size_t mcap);

#endif
