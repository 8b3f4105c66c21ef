/*
 * server/ws_frame.h: the WebSocket frame codec (RFC 6455 section 5), pure.
 *
 * No sockets, no threads, no clocks: bytes in, events out; and frame headers
 * out for the bytes the caller sends. The connection layer (server/ws_conn)
 * reads from the socket, feeds the parser, and queues header + payload; the
 * tutti CLI client uses the same parser in client mode and the masking
 * encoder.
 *
 * Parser: one per connection, fed whatever the socket delivered (any split,
 * down to one byte at a time: the events are the same). Each call returns at
 * most one event:
 *
 *   WS_EV_NEED_MORE  all input consumed, no event yet
 *   WS_EV_TEXT       a whole text message (fragments joined, valid UTF-8)
 *   WS_EV_BINARY     a whole binary message
 *   WS_EV_PING       a ping; answer with a pong carrying the same payload
 *   WS_EV_PONG       a pong
 *   WS_EV_CLOSE      the peer's close: code (1005 when it sent none), reason
 *   WS_EV_ERROR      the peer broke the protocol or a limit: send a close
 *                    frame with ev.close_code and ev.reason, then close.
 *
 * Close codes of WS_EV_ERROR:
 *   1002  protocol violation: unmasked client frame (masked server frame in
 *         client mode), reserved bits without an extension, reserved opcode,
 *         control frame over 125 bytes or fragmented, continuation without a
 *         message, new data frame while a fragmented message is open, close
 *         payload of one byte, invalid close code.
 *   1007  invalid UTF-8 in a text message (found at the first bad byte, even
 *         when its fragment is not complete) or in a close reason.
 *   1009  a message over max_message bytes, known from a frame header before
 *         any of its payload is buffered (so also a 64-bit length of 2^63-1
 *         or with the top bit set); and more than max_fragments frames in
 *         one message. Too many fragments is 1009 rather than 1008 because
 *         it is the same kind of thing as size: a resource ceiling on one
 *         message ("too big to process"), not a rule of our application.
 *
 * Accepted close codes (received, and sendable by ws_close_payload): 1000 to
 * 1003, 1007 to 1014 (1012..1014 are registered with IANA since RFC 6455),
 * and 3000 to 4999. 1004, 1005, 1006, 1015, the rest of 1000..2999, and
 * anything outside 1000..4999 are invalid on the wire.
 *
 * Lengths: a non-minimal length encoding (126 + a 16-bit 5) is accepted; the
 * RFC's "minimal" rule binds the sender and refusing it protects nothing.
 *
 * Thread safety: a ws_parser belongs to one thread at a time. The encoder
 * functions are pure and thread-safe. Safe on the render thread: the
 * encoder functions yes; the parser no (it allocates its message buffer).
 */
#ifndef TT_SERVER_WS_FRAME_H
#define TT_SERVER_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/utf8.h"

enum {
	WS_OP_CONTINUATION = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA
};

/* Largest payload of a control frame (ping, pong, close). */
#define WS_MAX_CONTROL 125
/* Largest close reason: a control payload less the 2-byte code. */
#define WS_MAX_CLOSE_REASON 123
/* Largest frame header: 2 + 8 (64-bit length) + 4 (mask key). */
#define WS_MAX_HEADER 14
/* Largest unmasked (server-to-client) header. */
#define WS_MAX_SERVER_HEADER 10

/* Close codes tutti uses by name. */
enum {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_UNSUPPORTED = 1003,
	WS_CLOSE_NO_STATUS = 1005,  /* reported, never sent */
	WS_CLOSE_BAD_DATA = 1007,
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011
};

typedef enum ws_event_type {
	WS_EV_NEED_MORE = 0,
	WS_EV_TEXT,
	WS_EV_BINARY,
	WS_EV_PING,
	WS_EV_PONG,
	WS_EV_CLOSE,
	WS_EV_ERROR
} ws_event_type;

typedef struct ws_event {
	ws_event_type type;
	/*
	 * TEXT/BINARY: the message; PING/PONG: the payload; CLOSE: the reason
	 * (UTF-8, may be empty). Borrowed from the parser, valid until the
	 * next ws_parser_feed or ws_parser_fini. data[len] is a NUL byte for
	 * CLOSE, PING and PONG (a convenience; len is what counts).
	 */
	const uint8_t *data;
	size_t len;
	/* CLOSE: the peer's code, or 1005 when it sent none. ERROR: the code
	 * to send in our close frame. 0 otherwise. */
	uint16_t close_code;
	/* ERROR: what was wrong, in one English phrase of at most
	 * WS_MAX_CLOSE_REASON bytes (ASCII), to log and to send as the close
	 * reason. Valid like data. NULL otherwise. */
	const char *reason;
} ws_event;

typedef struct ws_parser_config {
	/* Largest message after reassembly (default TT_MAX_WS_MESSAGE). */
	size_t max_message;
	/* Most frames in one message (default TT_MAX_WS_FRAGMENTS). */
	size_t max_fragments;
	/* 0: a server reading client frames, which must be masked (default).
	 * 1: a client reading server frames, which must not be. */
	int client_mode;
} ws_parser_config;

/*
 * The parser's state. Declared here so that callers can embed it without an
 * allocation; its fields are private to ws_frame.c.
 */
typedef struct ws_parser {
	ws_parser_config cfg;
	int state;
	uint8_t hdr[WS_MAX_HEADER];
	uint8_t hdr_len;
	/* the frame being read */
	uint8_t opcode;
	uint8_t fin;
	uint8_t masked;
	uint8_t mask[4];
	uint64_t frame_len;
	uint64_t frame_done;
	/* the message being reassembled (msg_opcode 0: none open) */
	uint8_t msg_opcode;
	uint8_t msg_delivered;
	size_t msg_len;
	size_t msg_cap;
	size_t fragments;
	uint8_t *msg;
	utf8_state utf8;
	/* the control frame being read, with room for a NUL */
	uint8_t ctrl[WS_MAX_CONTROL + 1];
	/* the sticky failure */
	int err_rc;
	uint16_t err_code;
	char err_reason[WS_MAX_CLOSE_REASON + 1];
} ws_parser;

/* 1 while a frame, or a fragmented message, has begun and not ended:
 * what a connection stalled mid-message looks like (TT_WS_MESSAGE_TIMEOUT_S,
 * server/ws_conn.c). */
int ws_parser_mid_message(const ws_parser *p);

/* Fills c with the defaults above. */
void ws_parser_config_default(ws_parser_config *c);

/*
 * Readies p to read a new connection; cfg NULL means the defaults, and
 * cfg->max_message / max_fragments of 0 mean their defaults too. Does not
 * allocate. Pair with ws_parser_fini.
 */
void ws_parser_init(ws_parser *p, const ws_parser_config *cfg);

/* Frees the message buffer. p may be re-initialised afterwards. */
void ws_parser_fini(ws_parser *p);

/*
 * Reads from [data, data+len): sets *consumed to the bytes used and *ev to
 * one event. WS_EV_NEED_MORE always consumes everything; other events may
 * leave bytes for the next call, so the caller loops until NEED_MORE:
 *
 *   while (ws_parser_feed(p, buf, n, &used, &ev), ev.type != WS_EV_NEED_MORE)
 *   { handle ev (stop on CLOSE/ERROR); buf += used; n -= used; }
 *
 * Returns TT_OK with every event but WS_EV_ERROR, which returns TT_EPROTO
 * (1002, 1007), TT_ELIMIT (1009) or TT_ENOMEM (1011: the message buffer
 * could not grow). After an ERROR every call repeats the same error and
 * consumes nothing; after a CLOSE every call consumes and discards all its
 * input (nothing may follow a close frame) and returns NEED_MORE.
 *
 * Memory: the message buffer grows as payload bytes arrive (never ahead of
 * them, so a header announcing a large message costs nothing until the data
 * comes), up to max_message; a buffer over 64 KiB is released after its
 * message has been delivered.
 */
int ws_parser_feed(ws_parser *p, const void *data, size_t len,
		   size_t *consumed, ws_event *ev);

/*
 * Writes the header of an unmasked (server-to-client) frame carrying
 * payload_len bytes into out, and returns its length (2, 4 or 10). fin is
 * 0 or 1; opcode one of WS_OP_*. The payload follows as is (no copy needed).
 */
size_t ws_frame_header(unsigned opcode, int fin, uint64_t payload_len,
		       uint8_t out[WS_MAX_SERVER_HEADER]);

/*
 * Writes a close payload (2-byte code, then reason) into out[0..cap) and
 * returns its length, or TT_EINVAL when code is not a valid code to send,
 * or TT_ERANGE when cap is too small for the code. code 0 means "no code":
 * an empty payload. The reason (NUL-terminated, may be NULL) is cut to
 * WS_MAX_CLOSE_REASON bytes, and to fit cap, at a code point boundary;
 * invalid UTF-8 is cut off at its first bad byte.
 */
int ws_close_payload(unsigned code, const char *reason, uint8_t *out,
		     size_t cap);

/* 1 when code may travel in a close frame (see the list above). */
int ws_close_code_valid(unsigned code);

/*
 * Encodes a whole masked (client-to-server) frame: header, then payload
 * XORed with mask_key, into out[0..cap); sets *out_len. Returns TT_OK, or
 * TT_ERANGE when cap is too small (needs len + ws_frame_masked_size(len)).
 * The caller picks mask_key (random for a real client, fixed in tests).
 */
int ws_frame_encode_masked(unsigned opcode, int fin, const void *payload,
			   size_t len, const uint8_t mask_key[4], uint8_t *out,
			   size_t cap, size_t *out_len);

/* Bytes of header that ws_frame_encode_masked adds to len (6, 8 or 14). */
size_t ws_frame_masked_size(uint64_t len);

/*
 * XORs [src, src+n) with the mask key rotated by offset (the payload
 * position of src[0]) into dst, a word at a time; dst may equal src.
 */
void ws_mask_copy(uint8_t *dst, const uint8_t *src, size_t n,
		  const uint8_t key[4], uint64_t offset);

#endif
