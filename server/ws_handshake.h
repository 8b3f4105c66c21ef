/*
 * server/ws_handshake.h: checking a WebSocket opening handshake (RFC 6455
 * section 4.2.1) and computing its Sec-WebSocket-Accept.
 *
 * The HTTP layer (libmicrohttpd) hands over the request's method and the
 * header values it found (NULL when absent); ws_handshake_check says whether
 * to upgrade, or which status to answer with and why:
 *
 *   400  a header is missing or malformed (the reason says which)
 *   405  the method is not GET (answer with "Allow: GET")
 *   426  Sec-WebSocket-Version is not 13 (answer with
 *        "Sec-WebSocket-Version: 13", RFC 6455 section 4.4)
 *
 * No subprotocols or extensions are negotiated: tutti speaks plain RFC 6455
 * frames, so Sec-WebSocket-Protocol and Sec-WebSocket-Extensions in the
 * request are ignored and never echoed.
 *
 * Thread safety: pure functions, thread-safe. Safe on the render thread:
 * yes, though it has no reason to be there.
 */
#ifndef TT_SERVER_WS_HANDSHAKE_H
#define TT_SERVER_WS_HANDSHAKE_H

/* Length of a Sec-WebSocket-Accept value (base64 of 20 bytes). */
#define WS_ACCEPT_LEN 28

/* The request's parts; each borrowed, NULL when the header is absent. */
typedef struct ws_handshake_request {
	const char *method;      /* "GET" */
	const char *upgrade;     /* Upgrade */
	const char *connection;  /* Connection */
	const char *version;     /* Sec-WebSocket-Version */
	const char *key;         /* Sec-WebSocket-Key */
} ws_handshake_request;

/*
 * Checks req. On success returns TT_OK and writes the Sec-WebSocket-Accept
 * value, NUL-terminated, into accept (WS_ACCEPT_LEN + 1 bytes). Otherwise
 * returns TT_EINVAL (400 or 405) or TT_EUNSUPPORTED (426), sets *status to
 * the HTTP status to answer with and *reason to a static English sentence
 * for the error body. status and reason may be NULL.
 */
int ws_handshake_check(const ws_handshake_request *req,
		       char accept[WS_ACCEPT_LEN + 1], int *status,
		       const char **reason);

/*
 * Computes Sec-WebSocket-Accept for key (as sent, without surrounding
 * whitespace): base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
 * Returns TT_OK, or TT_EINVAL when key is longer than a valid key can be.
 */
int ws_handshake_accept(const char *key, char accept[WS_ACCEPT_LEN + 1]);

/*
 * 1 when the comma-separated list value contains token, compared without
 * regard to case and ignoring spaces and tabs around each element
 * (RFC 9110 section 5.6.1). value may be NULL (then 0).
 */
int ws_header_has_token(const char *value, const char *token);

#endif
