/*
 * server/accounts.h: accounts, logins and session membership.
 *
 * An account is a name and a PBKDF2 password hash (server/password.h).
 * Logging in (POST /api/login) gives an account token "a<ID>.<SECRET>",
 * kept like a session token (only SHA-256 of SECRET is stored), expiring
 * after TT_ACCOUNT_TOKEN_TTL_S and revocable (POST /api/logout; a password
 * change revokes the account's other tokens). Account tokens work wherever
 * session tokens do, with the role accounts_role gives.
 *
 * Routes (handlers below, listed in server/api.c):
 *   POST   /api/login                       {name, password} -> {token, account, expires_at}
 *   POST   /api/logout                      revokes the bearer account token
 *   GET    /api/me                          the bearer's account
 *   PUT    /api/me/password                 {old_password, password}
 *   POST   /api/accounts                    {name, password, admin?}: admin only
 *   GET    /api/sessions/{id}/members       owner only
 *   PUT    /api/sessions/{id}/members/{name} {role}: owner only
 *   DELETE /api/sessions/{id}/members/{name} owner only
 *
 * Threads. Handlers run on libmicrohttpd's one thread, which also feeds
 * every HTTP listener its stream; a PBKDF2 hashing (~0.3 s at 600,000
 * iterations) there would stall them all. So a handler that must hash
 * suspends its connection, queues the work (at most TT_MAX_PENDING_LOGINS)
 * for the one KDF thread this module starts, and finishes the reply when
 * the KDF thread resumes the connection. The WebSocket loop and render
 * threads never hash a password: an account token costs one SHA-256.
 *
 * Failed logins are throttled per account name and per client address
 * (TT_MAX_LOGIN_FAILURES_PER_*, in a TT_LOGIN_WINDOW_S window), before any
 * hashing: past the limit the answer is 429 with Retry-After.
 */
#ifndef TT_SERVER_ACCOUNTS_H
#define TT_SERVER_ACCOUNTS_H

#include <stdint.h>

#include "server/http.h"
#include "storage/store.h"

typedef struct tt_app tt_app;

/* Starts the KDF thread; warns when the configured iterations are below
 * the default. Call once before serving HTTP. */
int accounts_start(tt_app *app);
/* Fails the queued hashings (503), waits for the one running and stops
 * the thread. Call before http_stop. */
void accounts_stop(void);

/* On a database with no account, arranges for "admin" to be made with a
 * random password: accounts_start queues its hashing first on the KDF
 * thread, which stores the account and then logs the password once (only
 * its hash is kept). tuttid serves meanwhile; the log line comes a moment
 * after "listening on". Main thread, before accounts_start. */
int accounts_first_start(tt_app *app);

/* The role an account token gives in session_id (see auth_check).
 * *token_id (may be NULL) gets the token's id; *why says why NONE. */
store_role accounts_role(tt_app *app, const char *session_id, const char *token,
			 int64_t *token_id, const char **why);

/* When the request carries a valid account token, records its account as
 * the owner of session_id (the creator owns the session). */
void accounts_claim_session(tt_app *app, const http_request *req, const char *session_id);

enum MHD_Result accounts_login(tt_app *app, const http_request *req);
enum MHD_Result accounts_logout(tt_app *app, const http_request *req);
enum MHD_Result accounts_me(tt_app *app, const http_request *req);
enum MHD_Result accounts_password(tt_app *app, const http_request *req);
enum MHD_Result accounts_create(tt_app *app, const http_request *req);
enum MHD_Result accounts_members(tt_app *app, const http_request *req);
enum MHD_Result accounts_member_put(tt_app *app, const http_request *req);
enum MHD_Result accounts_member_delete(tt_app *app, const http_request *req);

#endif
