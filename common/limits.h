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

/* The body of POST /api/sessions/import: a whole session exported as one
 * JSON file (server/export.c). A four-hour set of three performers typing
 * makes about 100,000 ops of ~100 bytes, a few thousand evaluations with
 * their code and the snapshots: 15 to 20 MiB. The file is parsed whole
 * (jansson, several times its size in memory), so 32 MiB bounds one
 * import's memory to a few hundred MB. */
#define TT_MAX_IMPORT_BYTES (32 * 1024 * 1024)

/* HTTP connections open at once (WebSocket ones are counted apart, after
 * their upgrade): libmicrohttpd keeps a slot each. TT_MAX_LISTENERS of
 * them may be listeners; 280 more stay for API requests and WebSocket
 * handshakes while the listener slots are all taken (tests/load/overload.py). */
#define TT_MAX_HTTP_CONNECTIONS 1280

/* Seconds an idle HTTP connection is kept open: long enough for a browser's
 * keep-alive, short enough that idle sockets do not pile up. */
#define TT_HTTP_IDLE_TIMEOUT_S 30

/* Seconds a request may take to arrive whole (headers and body), counted
 * from the connection's arrival or the end of its previous request; then
 * it is closed (server/http_guard.h). A client sends a request in
 * milliseconds and a 1 MiB body at 1 Mbit/s in 8 s; a slowloris client
 * that sends a byte every few seconds loses its slot after 10. */
#define TT_HTTP_REQUEST_TIMEOUT_S 10

/* Connections of one address whose request is still arriving: beyond it
 * new connections from that address are refused at accept, so one host
 * trickling requests cannot take TT_MAX_HTTP_CONNECTIONS slots. A browser
 * opens 6 per server and a flash crowd of listeners behind one NAT a few
 * dozen at once; 128 is an eighth of the slots. */
#define TT_MAX_HTTP_PENDING_PER_ADDRESS 128

/* A session name, in bytes of UTF-8: enough for a title, short enough to
 * show in a list. */
#define TT_MAX_SESSION_NAME 200

/* ---- TLS (server/tls.c, with --tls-cert) ---- */

/* TLS connections at once, handshaking or not (HTTP, streams and upgraded
 * WebSocket alike). Each holds about 35 kB of mbedTLS record buffers and
 * three descriptors (the client's socket and both ends of its
 * socketpair): 2048 bound them to about 72 MB and 6144 descriptors. Past
 * it a new connection is accepted and closed at once. */
#define TT_MAX_TLS_CONNECTIONS 2048

/* Milliseconds from accept to a finished handshake. A real client needs
 * two round trips; a slowloris that opens sockets and sends nothing (or a
 * byte at a time) holds a slot at most this long. */
#define TT_TLS_HANDSHAKE_TIMEOUT_MS 10000

/* Milliseconds a connection whose HTTP side has closed may take to
 * deliver the encrypted rest to a client that reads slowly or not at all. */
#define TT_TLS_LINGER_MS 5000

/* Plain bytes read from the HTTP side and sent as one TLS record: the
 * largest record TLS allows, so a burst costs one encryption and one
 * write, whatever the HTTP side's writes were. */
#define TT_TLS_RECORD_BYTES 16384

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

/* Both limits also hold per performer: for all the connections that
 * joined a session with one token (an invite or an account), so opening
 * more connections buys no more. A session keeps the windows of this many
 * performers; past it the one idle longest is forgotten (its window had
 * ended anyway unless every one is busy this very second). */
#define TT_MAX_PERFORMER_BUDGETS 256

/* Seconds one WebSocket message may take to arrive, from its first byte
 * (or the end of the message before it) to its last: a client that stalls
 * mid-frame or between fragments is closed with 1008, so it cannot hold
 * a connection and a reassembly buffer of up to TT_MAX_WS_MESSAGE for
 * ever. A 1 MiB paste at 1 Mbit/s takes 8 s. */
#define TT_WS_MESSAGE_TIMEOUT_S 20

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
 * a libmicrohttpd connection slot (TT_MAX_HTTP_CONNECTIONS bounds them)
 * and about 30 kB. 1,000 is the audience issue 11's soak measures
 * (docs/operations.md, "Guarantees"); a larger one goes through Icecast
 * relays. Past it a listener gets 503 with Retry-After. */
#define TT_MAX_LISTENERS 1000

/* Replays rendering at once for HTTP clients (server/replay_http.h). Each
 * takes a core while its client keeps up (replay runs ~100x real time),
 * so a few are plenty; past this: 503 with Retry-After. */
#define TT_MAX_REPLAYS 4
/* Bytes rendered ahead of a replay's HTTP client: a slow client holds at
 * most this (plus its thread), and the renderer waits. */
#define TT_REPLAY_BUFFER_BYTES (256 * 1024)
/* Annotations kept per 20 ms block of a replay (the rest are dropped): a
 * block has at most TT_MAX_ONSETS_PER_BLOCK onsets, most with a few
 * source locations. */
#define TT_REPLAY_ANNOS_PER_BLOCK 4096

/* Ogg pages waiting for the Icecast connection (100 ms each: 25 s). A
 * stalled Icecast costs at most this; pages past it are dropped. */
#define TT_ICECAST_QUEUE 256

/* Bytes of Opus packets (with their bookkeeping) waiting for the archive
 * writer, all sessions together: at 128 kbit/s about 250 session-seconds,
 * far past a disk's usual stalls. Past it packets are dropped and counted,
 * and the session's archive starts a new file after the gap. */
#define TT_ARCHIVE_QUEUE_BYTES (4 * 1024 * 1024)

/* Seconds of audio per archive file (--archive-rotate). Below a second a
 * file is mostly its headers; past a day one file is too large to fetch. */
#define TT_MIN_ARCHIVE_ROTATE_S 1
#define TT_MAX_ARCHIVE_ROTATE_S 86400

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

/* Bytes the patterns of one program may take while being built (the
 * pattern pool): a few bytes of mini-notation can ask for a great deal (a
 * euclid of 8,000 steps is 8,000 nodes, and polymeters and repeats build
 * it again), and fuzz_mini found 900 bytes that took 2.5 GB. The demo's
 * programs take under 100 kB; past this the evaluation fails with an
 * error naming the limit. */
#define TT_MAX_PATTERN_BYTES (64 * 1024 * 1024)

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

/* ---- Direct events and OSC input (engine/direct.h, server/osc.c) ---- */

/* Key/value pairs in one /dirt/play message. Tidal sends about seven of
 * its own (s, n, orbit, cps, cycle, delta, _id_) plus one per control a
 * performer stacks; 32 leaves room for a long effect chain. A message with
 * more is refused and counted, so one event's size stays fixed. */
#define TT_MAX_OSC_PARAMS 32

/* Fields of one direct event after mapping: every pair of a full message
 * plus the few the mapping adds (a synth's default note, the sound name). */
#define TT_MAX_DIRECT_FIELDS (TT_MAX_OSC_PARAMS + 4)

/* Bytes of one string value (a sound name, a vowel): SuperDirt's sample
 * folders and synth names are short words; the render looks names up in
 * a 64-byte buffer. A longer string refuses its message. */
#define TT_MAX_OSC_STRING 63

/* Bytes of all string values of one direct event, NULs included: a sound
 * name and a vowel at their longest. */
#define TT_MAX_DIRECT_TEXT (2 * (TT_MAX_OSC_STRING + 1))

/* How far ahead of the clock a timestamped event may be, in ms. Tidal
 * stamps its events 0.1 to 0.5 s ahead (oLatency plus nudge); 2 s leaves
 * room for a slow link, while an event waiting for its frame holds one of
 * the render thread's TT_MAX_DIRECT_PENDING fixed slots only that long.
 * A later one is refused and counted. */
#define TT_MAX_OSC_AHEAD_MS 2000

/* Direct events waiting in a render thread for their frame: 2 s of a
 * dense pattern (16 events a cycle at 4 cycles a second is 128). The ring
 * from the loop holds as many; past them an event is dropped and counted. */
#define TT_MAX_DIRECT_PENDING 256

/* Bundles nested in one OSC packet (a bundle element may be a bundle):
 * Tidal sends one level; the depth bounds the parser's recursion. */
#define TT_MAX_OSC_NESTING 8

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

/* ---- Accounts and logins (server/accounts.c) ---- */

/* An account name: [A-Za-z0-9._-], 1..64 bytes, so it is safe in a URL
 * path segment (PUT /api/sessions/ID/members/NAME) and a log line. */
#define TT_MAX_ACCOUNT_NAME 64

/* A password in bytes: shorter than 8 is guessable offline from a stolen
 * database even through PBKDF2; 1024 holds any passphrase while bounding
 * what one login makes the KDF hash. */
#define TT_MIN_PASSWORD 8
#define TT_MAX_PASSWORD 1024

/* Failed logins counted in one TT_LOGIN_WINDOW_S window. Per account name:
 * 10 guesses per 15 minutes is ~1000 a day, hopeless against a real
 * password, and a person who forgot theirs is not locked out for long.
 * Per client address: 30, so one address cannot spray guesses over many
 * names, while a classroom behind one NAT can still mistype. Past either,
 * logins are refused with 429 and Retry-After before any hashing. */
#define TT_MAX_LOGIN_FAILURES_PER_NAME 10
#define TT_MAX_LOGIN_FAILURES_PER_ADDRESS 30
#define TT_LOGIN_WINDOW_S 900

/* Names and addresses the throttle remembers: a fixed table, so a flood of
 * made-up names costs no memory; when full, the entry whose window is
 * oldest is reused. */
#define TT_LOGIN_THROTTLE_SLOTS 4096

/* Password hashings (login, password change, account creation) waiting
 * for the one KDF thread. At 600,000 iterations one costs ~0.3 s, so 8
 * queued is a wait of ~2.5 s; the ninth is told to retry (503). */
#define TT_MAX_PENDING_LOGINS 8

/* Lifetime of an account token from POST /api/login: a month of use
 * between logins; logout or a password change revokes it sooner. */
#define TT_ACCOUNT_TOKEN_TTL_S (30 * 24 * 3600)

#endif
