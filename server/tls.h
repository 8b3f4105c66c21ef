/*
 * server/tls.h: TLS termination in front of libmicrohttpd (mbedTLS).
 *
 * With --tls-cert and --tls-key, tuttid's HTTP daemon does not listen
 * itself. A TLS front, on a thread of its own with its own epoll set,
 * accepts on the port, runs each mbedTLS handshake without blocking, then
 * makes a socketpair, hands one end to libmicrohttpd with
 * MHD_add_connection (with the peer's real address, so per-address limits
 * still see the client) and pumps bytes between the TLS socket and the
 * other end in both directions. Everything above it (the API, static
 * files, the Ogg stream and SSE, the WebSocket upgrade and the loop that
 * serves upgraded sockets) works on the plain end unchanged.
 *
 *   client ══TLS══ [front: tcp fd ⇄ mbedTLS ⇄ plain fd] ──unix── [MHD end]
 *
 * Protocol policy: TLS 1.2 only (Debian's mbedTLS 2.28 has TLS 1.3 only
 * behind an experimental build flag), ECDHE key exchange with AEAD
 * ciphers only (AES-GCM, ChaCha20-Poly1305), no renegotiation, no
 * compression. Limits (common/limits.h): TT_MAX_TLS_CONNECTIONS at once,
 * TT_TLS_HANDSHAKE_TIMEOUT_MS per handshake, TT_TLS_LINGER_MS to deliver
 * what remains after the HTTP side closed.
 *
 * Threads: tls_front_new and tls_front_free run on the main thread; the
 * rest happens on the front's own thread. Nothing here is safe on the
 * audio thread (it allocates, locks inside libmicrohttpd, and does I/O).
 */
#ifndef TT_SERVER_TLS_H
#define TT_SERVER_TLS_H

#include <stddef.h>
#include <sys/socket.h>

struct MHD_Daemon;
typedef struct tls_front tls_front;

/* Loads and checks the certificate chain (PEM or DER) and private key,
 * refusing a missing, unreadable, unparsable or mismatched pair, and binds
 * and listens on sa. err says what was wrong and with which file. On
 * success *out is ready for tls_front_start. */
int tls_front_new(const char *cert_path, const char *key_path, const struct sockaddr *sa,
		  socklen_t salen, tls_front **out, char *err, size_t errlen);

/* The port bound (useful with port 0). */
int tls_front_port(const tls_front *f);

/* Starts the front's thread; handshaken connections go to daemon, which
 * must have been started with MHD_USE_ITC (MHD_add_connection from
 * another thread) and may use MHD_USE_NO_LISTEN_SOCKET. */
int tls_front_start(tls_front *f, struct MHD_Daemon *daemon, char *err, size_t errlen);

/* Stops the thread (what the HTTP side already wrote is encrypted and
 * sent as far as the sockets take it without waiting), closes every
 * connection and frees f. Call before MHD_stop_daemon. NULL is a no-op. */
void tls_front_free(tls_front *f);

#endif
