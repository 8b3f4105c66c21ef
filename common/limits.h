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

/* HTTP connections open at once (WebSocket ones are counted apart, after
 * their upgrade): libmicrohttpd keeps a slot each. */
#define TT_MAX_HTTP_CONNECTIONS 1024

/* Seconds an idle HTTP connection is kept open: long enough for a browser's
 * keep-alive, short enough that idle sockets do not pile up. */
#define TT_HTTP_IDLE_TIMEOUT_S 30

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
 * for this much output (about 30 s of 128 kbit/s audio plus control) is
 * closed so that nobody else ever waits for it. Twice TT_MAX_WS_MESSAGE, so
 * that a largest message (a document snapshot) always fits behind another. */
#define TT_MAX_WS_SENDQ (2 * TT_MAX_WS_MESSAGE)

/* Open WebSocket connections, whole server: each costs a descriptor and a
 * queue; 4096 stays under a default 'ulimit -n' of 8192 with room for
 * files and HTTP. */
#define TT_MAX_WS_CONNECTIONS 4096

/* WebSocket connections from one address: a performer needs one or two
 * (editor, audio); 64 leaves room for an ensemble behind one NAT while a
 * single host cannot take the whole server's TT_MAX_WS_CONNECTIONS. */
#define TT_MAX_WS_PER_ADDRESS 64

/* Edit operations one connection may send per second (a window that starts
 * at its first op). Typing makes 10 to 30; CodeMirror sends a paste as one
 * op. Past it the op is refused with "rate_limited", so one runaway client
 * cannot flood a document's other editors or the disk. */
#define TT_MAX_OPS_PER_SECOND 200

/* Evaluations, tempo changes, hush/mute/solo per connection per second:
 * each one compiles and queries a program; performers press Ctrl-Enter a
 * few times a minute. */
#define TT_MAX_EVALS_PER_SECOND 10

/* Milliseconds we wait for the peer's close frame after sending ours
 * before dropping the connection (RFC 6455 7.1.1 leaves it to us). */
#define TT_WS_CLOSE_TIMEOUT_MS 5000

/* Bytes read from one socket per wake-up before serving the others, so a
 * fast sender cannot starve the loop. */
#define TT_WS_READ_BUDGET (256 * 1024)

/* A request id echoed in replies (JSON string or number rendered). */
#define TT_MAX_REQUEST_ID 128

/* ---- Streams to listeners (server/listen.c) ---- */

/* Bytes of a session's stream kept for HTTP listeners (Ogg pages, or
 * annotation events): about 2 minutes of 128 kbit/s Opus. A listener that
 * falls further behind is skipped forward to the oldest page kept, so a
 * stalled listener costs the server nothing beyond this ring. */
#define TT_STREAM_RING_BYTES (2 * 1024 * 1024)

/* Where a new listener starts: the newest page boundary at least this far
 * behind live, so its player has something to buffer (the bound is
 * 0.5 s). */
#define TT_STREAM_START_BEHIND_MS 300

/* HTTP listeners (live.ogg and events together), whole server: each holds
 * a libmicrohttpd connection slot, which TT_MAX_HTTP_CONNECTIONS bounds. */
#define TT_MAX_LISTENERS 800

/* Ogg pages waiting for the Icecast connection (100 ms each: 25 s). A
 * stalled Icecast costs at most this; pages past it are dropped. */
#define TT_ICECAST_QUEUE 256

/* ---- Documents and editing (collab/) ---- */

/* One document's text in bytes of UTF-8. A live-coding program is a few
 * kilobytes; 1 MiB is far past any performance and bounds each snapshot. */
#define TT_MAX_DOC_BYTES (1024 * 1024)

/* A document's name within its session, in bytes of UTF-8: a file-like name
 * ("drums", "bass.strudel") shown on a tab; unique per session. */
#define TT_MAX_DOC_NAME 200

/* Components (retain/insert/delete) in one operation. */
#define TT_MAX_OP_COMPONENTS 10000

/* Operations a document keeps in memory to transform late edits against
 * (collab/doc.c). A client's edit is based on the last revision it saw, so
 * it lags by its round trip: 1,000 authors at 5 edits/s make 5,000
 * revisions/s, and 10,000 cover 2 s of lag. An edit older than the window
 * gets TT_ECONFLICT and its client reloads a snapshot. */
#define TT_MAX_OT_HISTORY 10000

/* Bytes (inserted text and components) that window may hold, so that a run
 * of huge pastes cannot pin TT_MAX_OT_HISTORY megabytes per document; past
 * it the oldest operations leave the window early. */
#define TT_MAX_OT_HISTORY_BYTES (8 * 1024 * 1024)

/* A performer's display name in bytes, as shown beside their cursor. */
#define TT_MAX_DISPLAY_NAME 64

/* A client's own identifier (hello's client_id), which makes its resent
 * operations recognisable: long enough for a UUID, short enough to store
 * with every operation. */
#define TT_MAX_CLIENT_ID 64

/* One chat message in bytes of UTF-8: a few sentences between pieces. */
#define TT_MAX_CHAT_BYTES 2000

/* Chat messages a joining performer is sent, to catch up. */
#define TT_CHAT_ON_JOIN 50

/* Selections one performer may show in one document (CodeMirror allows
 * many cursors; 32 covers any real use and bounds each presence message). */
#define TT_MAX_SELECTIONS 32

/* Documents one connection may have open at once. */
#define TT_MAX_OPEN_DOCS 64

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

/* Depth of the host language's evaluation (nested expressions plus
 * function calls): deep enough for any hand-written program, shallow
 * enough that the C stack (a few hundred bytes per level) never runs out. */
#define TT_MAX_EVAL_DEPTH 1000

/* Bytes the host language may allocate for its own values (arrays,
 * objects, closures, variables) while evaluating one program: far past
 * what a performer writes, and a doubling array stops here. */
#define TT_MAX_EVAL_BYTES (32 * 1024 * 1024)

/* Tracks ($: and name: labels) of one program: each is queried every
 * render block, and 256 parts is far past any performance. */
#define TT_MAX_TRACKS 256

/* Events one query of one cycle may produce; s("bd*100000000") stops here
 * with an error rather than allocating without end. */
#define TT_MAX_EVENTS_PER_CYCLE 10000

/* Work of one pattern query per queried cycle: node visits, loop steps and
 * events made, intermediate ones included (joins and structure make several
 * per final event). Eight times the event limit leaves room for any sane pattern and
 * ends fast(1e12) in milliseconds. */
#define TT_MAX_QUERY_WORK (8 * TT_MAX_EVENTS_PER_CYCLE)

/* Depth of pattern nodes a query recurses through. One level of source
 * nesting makes a handful of nodes (sequence, fast, location), so 8 per
 * TT_MAX_NESTING level; a query frame is small, so this stays far below
 * any thread's stack. */
#define TT_MAX_QUERY_DEPTH (8 * TT_MAX_NESTING)

/* ---- Render (engine/) ---- */

/* Voices sounding at once per session; past it the oldest voice is stolen. */
#define TT_MAX_VOICES 256

/* Event onsets started in one render block; the rest are dropped and
 * counted, so one pattern cannot stall the render thread. */
#define TT_MAX_ONSETS_PER_BLOCK 512

/* Effect buses (Strudel's orbits) per session: each owns a 2 s stereo delay
 * line and a reverb (about 1 MiB), allocated at set-up; eight cover any
 * arrangement of parts a set uses. An orbit past the last is clamped. */
#define TT_MAX_ORBITS 8

/* Sounds (folders) in one sample bank; Dirt-Samples has about 220. Past it
 * loading fails with TT_ELIMIT naming the folder. */
#define TT_MAX_SAMPLE_BANKS 4096

/* Frames of one sample file after resampling to 48 kHz (10 minutes): a
 * longer file is refused at load rather than filling memory. */
#define TT_MAX_SAMPLE_FRAMES (48000 * 600)

/* Track names one session can hold muted or soloed at once. */
#define TT_MAX_TRACK_FLAGS 64

/* ---- Opus and Ogg (codec/) ---- */

/* Opus bitrate in bits/s: 6 kbit/s is the codec's floor for usable audio and
 * 510 kbit/s its ceiling (RFC 6716); outside it libopus silently clamps, and
 * tutti answers TT_EINVAL instead so a configuration says what it gets. */
#define TT_MIN_OPUS_BITRATE 6000
#define TT_MAX_OPUS_BITRATE 510000

/* Bytes of one encoded Opus packet: libopus's recommended buffer (4000) holds
 * a 60 ms frame at 510 kbit/s (3825 bytes). The encoder is always given
 * exactly this much, so its output never depends on the caller's buffer. */
#define TT_MAX_OPUS_PACKET 4000

/* Bytes of the OpusTags packet (vendor string and comments): it must fit in
 * one Ogg page, and a title, an artist and a session URL take a few hundred
 * bytes; 8 KiB keeps the header pages a late joiner receives small. */
#define TT_MAX_OPUS_TAGS 8192

#endif
