/*
 * server/auth.h: who may do what in a session.
 *
 * Roles, per session: owner > performer > listener. A role comes from a
 * token (an invite): "t<ID>.<SECRET>", where SECRET is 24 random bytes
 * (getrandom) in base64url. The store keeps only SHA-256(SECRET) (mbedTLS);
 * a check loads the token by ID and compares hashes in constant time, then
 * refuses it when revoked, expired, or of another session. Whoever creates
 * a session gets its owner token (the only time it is shown); the owner
 * mints invites for others. Without a token a connection may listen to a
 * public session and nothing more.
 *
 * Account tokens ("a<ID>.<SECRET>", from POST /api/login) are accepted
 * wherever session tokens are: auth_check hands them to accounts_role
 * (server/accounts.h), which gives an admin owner of every session, the
 * account that created a session its owner, and other accounts the role
 * of their membership (or listener in a public session).
 *
 * Threads: any thread that may use app->st (takes app->store_lock).
 */
#ifndef TT_SERVER_AUTH_H
#define TT_SERVER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "storage/store.h"

typedef struct tt_app tt_app;

/* Room for a token string with its NUL. */
#define AUTH_TOKEN_MAX 64
/* Room for a token's secret (24 random bytes in base64url) with its NUL. */
#define AUTH_SECRET_MAX 48

/* A fresh random secret (getrandom), base64url without padding. */
int auth_new_secret(char out[AUTH_SECRET_MAX]);
/* SHA-256 of a secret: what the store keeps of a token. */
int auth_hash_secret(const char *secret, size_t len, uint8_t out[STORE_TOKEN_HASH]);

/* Makes a token for session_id with role; ttl_s 0 means it never expires.
 * Writes the token into out; *id and *expires_at (0: never) describe it. */
int auth_issue(tt_app *app, const char *session_id, store_role role, const char *label,
	       int64_t ttl_s, char out[AUTH_TOKEN_MAX], int64_t *id, int64_t *expires_at);

/* The role token gives in session_id, or STORE_ROLE_NONE (malformed,
 * unknown, wrong secret, revoked, expired, another session). *why (may be
 * NULL) says which, for the error a client sees. */
store_role auth_check(tt_app *app, const char *session_id, const char *token,
		      int64_t *token_id, const char **why);

/* Whether an HTTP request may read session sid (its streams, its history):
 * the session is public to listen, or the request carries a token of any
 * role in it, as ?t=TOKEN (what an <audio> element can carry) or as
 * "Authorization: Bearer TOKEN". An unknown session is allowed: the caller
 * answers 404. When refused, *why (may be NULL) says what is missing. */
int auth_may_read(tt_app *app, struct MHD_Connection *c, const char *sid, const char **why);

/* 1 when a and b (n bytes) are equal, in time independent of where they
 * differ. */
int auth_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif
