/* server/auth.c: see auth.h. */
#include "server/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <mbedtls/base64.h>
#include <mbedtls/sha256.h>

#include "common/error.h"
#include "server/accounts.h"
#include "server/app.h"

#define SECRET_BYTES 24

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int auth_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	volatile uint8_t diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= (uint8_t)(a[i] ^ b[i]);
	return diff == 0;
}

int auth_hash_secret(const char *secret, size_t len, uint8_t out[STORE_TOKEN_HASH])
{
	return mbedtls_sha256_ret((const unsigned char *)secret, len, out, 0) == 0 ? TT_OK
										   : TT_EIO;
}

/* base64 to base64url, without padding, in place. */
static void to_url64(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == '=')
			continue;
		*w++ = *r == '+' ? '-' : *r == '/' ? '_' : *r;
	}
	*w = '\0';
}

int auth_new_secret(char out[AUTH_SECRET_MAX])
{
	uint8_t raw[SECRET_BYTES];
	size_t n;

	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw ||
	    mbedtls_base64_encode((unsigned char *)out, AUTH_SECRET_MAX, &n, raw, sizeof raw) != 0)
		return TT_EIO;
	out[n] = '\0';
	to_url64(out);
	return TT_OK;
}

int auth_issue(tt_app *app, const char *session_id, store_role role, const char *label,
	       int64_t ttl_s, char out[AUTH_TOKEN_MAX], int64_t *id, int64_t *expires_at)
{
	char secret[AUTH_SECRET_MAX];
	store_token t;
	int rc;

	if ((rc = auth_new_secret(secret)) != TT_OK)
		return rc;
	memset(&t, 0, sizeof t);
	snprintf(t.session_id, sizeof t.session_id, "%s", session_id);
	snprintf(t.label, sizeof t.label, "%s", label ? label : "");
	t.role = role;
	t.created_at = wall_ms();
	t.expires_at = ttl_s > 0 ? t.created_at + ttl_s * 1000 : 0;
	if ((rc = auth_hash_secret(secret, strlen(secret), t.hash)) != TT_OK)
		return rc;
	pthread_mutex_lock(&app->store_lock);
	rc = store_token_create(app->st, &t);
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK)
		return rc;
	snprintf(out, AUTH_TOKEN_MAX, "t%lld.%s", (long long)t.id, secret);
	*id = t.id;
	*expires_at = t.expires_at;
	return TT_OK;
}

store_role auth_check(tt_app *app, const char *session_id, const char *token,
		      int64_t *token_id, const char **why)
{
	const char *dot, *dummy;
	uint8_t h[STORE_TOKEN_HASH];
	store_token t;
	char *end;
	long long id;
	int rc;

	if (!why)
		why = &dummy;
	if (token && token[0] == 'a')
		return accounts_role(app, session_id, token, token_id, why);
	*why = "the token is malformed";
	if (!token || token[0] != 't' || !(dot = strchr(token, '.')) || strlen(dot + 1) == 0 ||
	    strlen(token) >= AUTH_TOKEN_MAX)
		return STORE_ROLE_NONE;
	id = strtoll(token + 1, &end, 10);
	if (end != dot || id <= 0)
		return STORE_ROLE_NONE;
	pthread_mutex_lock(&app->store_lock);
	rc = store_token_get(app->st, id, &t);
	pthread_mutex_unlock(&app->store_lock);
	/* Hash whatever came, found or not, so a miss costs what a hit does. */
	if (auth_hash_secret(dot + 1, strlen(dot + 1), h) != TT_OK)
		return STORE_ROLE_NONE;
	*why = "the token is not valid";
	if (rc != TT_OK || !auth_equal(h, t.hash, sizeof h))
		return STORE_ROLE_NONE;
	if (strcmp(t.session_id, session_id) != 0) {
		*why = "the token is for another session";
		return STORE_ROLE_NONE;
	}
	if (t.revoked_at) {
		*why = "the token was revoked";
		return STORE_ROLE_NONE;
	}
	if (t.expires_at && wall_ms() >= t.expires_at) {
		*why = "the token has expired";
		return STORE_ROLE_NONE;
	}
	if (token_id)
		*token_id = t.id;
	*why = "";
	return t.role;
}

int auth_may_read(tt_app *app, struct MHD_Connection *c, const char *sid, const char **why)
{
	const char *t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "t");
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	const char *dummy;
	store_session ss;
	int rc;

	if (!why)
		why = &dummy;
	pthread_mutex_lock(&app->store_lock);
	rc = store_session_get(app->st, sid, &ss);
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK || ss.listen_public)
		return 1;
	if (!t && h && strncmp(h, "Bearer ", 7) == 0)
		t = h + 7;
	*why = "this session is not public: send a token (?t=TOKEN or Authorization: Bearer)";
	return t && auth_check(app, sid, t, NULL, why) >= STORE_ROLE_LISTENER;
}
