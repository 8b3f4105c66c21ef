/*
 * server/replay_http.h: a past session rendered again, over HTTP.
 *
 *   GET /api/sessions/{id}/render.ogg   Ogg Opus (128 kbit/s), streamed
 *   GET /api/sessions/{id}/render.wav   WAV, 16-bit (bits=16, default) or
 *                                       32-bit float (bits=32f), with its
 *                                       Content-Length (a download shows
 *                                       its progress)
 *   GET /api/sessions/{id}/replay/annotations
 *        {"from":s,"to":s,"annotations":[{"t","frame","doc","rev","eval",
 *         "start","end","dur"}]}: which token sounds when, for a player
 *
 * Query: from, to (seconds of session time; default the whole session),
 * stem=doc:NAME or stem=author:NAME. Access: as the session's streams
 * (auth_may_read). Headers X-Tutti-Duration (of the span) and
 * X-Tutti-Session-End, in seconds.
 *
 * Each request renders on a thread of its own (server/replay.h) into a
 * bounded buffer that libmicrohttpd drains; the connection is suspended
 * while the buffer is empty, and the renderer waits while it is full, so
 * a slow client costs a thread and TT_REPLAY_BUFFER_BYTES, not CPU. At
 * most TT_MAX_REPLAYS render at once; past that, 503 with Retry-After.
 * Errors (unknown session, a span outside it, a stem nothing matches)
 * are answered before any audio, as JSON errors.
 *
 * Threads: handlers on libmicrohttpd's thread.
 */
#ifndef TT_SERVER_REPLAY_HTTP_H
#define TT_SERVER_REPLAY_HTTP_H

#include "server/http.h"

enum MHD_Result replay_http_ogg(tt_app *app, const http_request *req);
enum MHD_Result replay_http_wav(tt_app *app, const http_request *req);
enum MHD_Result replay_http_annotations(tt_app *app, const http_request *req);

#endif
