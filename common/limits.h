/*
 * common/limits.h: every limit tutti enforces, in one place, each with the
 * reason for its value (after SQLite's sqliteLimit.h). A limit is a promise
 * in both directions: input of exactly N is accepted, N+1 gets a clear error
 * naming the limit; tests check both sides.
 *
 * Values can be raised here at build time; none is a tuning knob at run time.
 */
#ifndef TT_COMMON_LIMITS_H
#define TT_COMMON_LIMITS_H

/* ---- HTTP (server/http.c) ---- */

/* A request body (JSON for the API). The largest legitimate body is a
 * document or session import; 1 MiB keeps a hostile client from holding
 * memory while leaving room for any program a person types. */
#define TT_MAX_HTTP_BODY (1024 * 1024)

/* A session name, in bytes of UTF-8: enough for a title, short enough to
 * show in a list. */
#define TT_MAX_SESSION_NAME 200

/* ---- WebSocket (server/ws*.c) ---- */

/* One WebSocket message after reassembly of its fragments: a whole document
 * snapshot travels in one message, so this follows TT_MAX_DOC_BYTES with room
 * for JSON escaping. Past it the connection is closed with 1009. */
#define TT_MAX_WS_MESSAGE (4 * 1024 * 1024)

/* Fragments in one message: a client that sends a message one byte per frame
 * costs a frame header each; 4096 allows any sane fragmentation. */
#define TT_MAX_WS_FRAGMENTS 4096

/* Bytes queued for sending to one connection. A client that stops reading
 * for this much output (about 15 s of 128 kbit/s audio plus control) is
 * closed so that nobody else ever waits for it. */
#define TT_MAX_WS_SENDQ (4 * 1024 * 1024)

/* Open WebSocket connections, whole server: each costs a descriptor and a
 * queue; 4096 stays under a default 'ulimit -n' of 8192 with room for
 * files and HTTP. */
#define TT_MAX_WS_CONNECTIONS 4096

/* A request id echoed in replies (JSON string or number rendered). */
#define TT_MAX_REQUEST_ID 128

/* ---- Documents and editing (collab/) ---- */

/* One document's text in bytes of UTF-8. A live-coding program is a few
 * kilobytes; 1 MiB is far past any performance and bounds each snapshot. */
#define TT_MAX_DOC_BYTES (1024 * 1024)

/* Components (retain/insert/delete) in one operation. */
#define TT_MAX_OP_COMPONENTS 10000

/* ---- Pattern language (engine/) ---- */

/* Source code of one program in bytes. */
#define TT_MAX_CODE_BYTES (256 * 1024)

/* Nesting depth of the parsers (brackets, calls, expressions) and of
 * pattern structure at query time: 200 as in Lua's parser; deeper input is
 * an error with its position, never a stack overflow. */
#define TT_MAX_NESTING 200

/* Evaluation steps of the host language per program, so that a runaway
 * (self-recursive) function ends with an error instead of a hang. */
#define TT_MAX_EVAL_STEPS 1000000

/* Events one query of one cycle may produce; s("bd*100000000") stops here
 * with an error rather than allocating without end. */
#define TT_MAX_EVENTS_PER_CYCLE 10000

/* ---- Render (engine/) ---- */

/* Voices sounding at once per session; past it the oldest voice is stolen. */
#define TT_MAX_VOICES 256

/* Event onsets started in one render block; the rest are dropped and
 * counted, so one pattern cannot stall the render thread. */
#define TT_MAX_ONSETS_PER_BLOCK 512

#endif
