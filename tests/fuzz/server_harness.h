/*
 * tests/fuzz/server_harness.h: the real tuttid, started inside a fuzz
 * target's process, and a small blocking client for it.
 *
 * fuzz_http and fuzz_rpc drive the whole server (libmicrohttpd, the route
 * table, every body and query parser, auth, history, the WebSocket codec,
 * rpc dispatch, editing, evaluation) against a real SQLite database in a
 * temporary folder, over loopback, so no handler needs a fake connection.
 * The server starts on the first input and stops at exit. A crash on any
 * of its threads is a finding; so is a reply that never comes
 * (FUZZ_REPLY_TIMEOUT_S), which libFuzzer would otherwise see as a hang.
 *
 * Inputs may name the fixture with placeholders, replaced before sending:
 * "$S" the session's id, "$T" its owner token, "$D" its document's id.
 */
#ifndef TT_TESTS_FUZZ_SERVER_HARNESS_H
#define TT_TESTS_FUZZ_SERVER_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Seconds a reply may take before the harness calls it a hang. */
#define FUZZ_REPLY_TIMEOUT_S 10

/* Starts the server and its fixture once; returns its port. */
int fs_start(void);

/* A copy of in (n bytes) with the placeholders replaced; *out_len set.
 * The caller frees it. */
char *fs_expand(const uint8_t *in, size_t n, size_t *out_len);

/* Aborts with a message: a finding. */
void fs_fail(const char *what, const char *detail) __attribute__((noreturn));

/* A TCP connection to the server, with FUZZ_REPLY_TIMEOUT_S on reads. */
int fs_connect(void);
/* Writes everything (aborts on failure other than the peer's close);
 * returns 0, or -1 when the peer closed. */
int fs_write_all(int fd, const void *buf, size_t n);

/* read(), again after EINTR (libFuzzer's timer interrupts it). */
ssize_t fs_read(int fd, void *buf, size_t n);

/* A WebSocket client connection (RFC 6455, masked frames). */
typedef struct fs_ws fs_ws;
fs_ws *fs_ws_open(void);
/* Sends one text message; -1 when the server has closed. */
int fs_ws_send(fs_ws *w, const char *text, size_t len);
/* The next text message, NUL-terminated and owned by w until the next
 * call; NULL when the connection closed (close frame or EOF). Binary
 * messages (audio) are skipped. Aborts on a timeout. */
const char *fs_ws_recv(fs_ws *w, size_t *len);
void fs_ws_close(fs_ws *w);

#endif
