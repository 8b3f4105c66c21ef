/*
 * server/accounts.c: see accounts.h.
 *
 * A route that hashes a password runs in two halves on libmicrohttpd's
 * thread, with the hashing between them on the KDF thread:
 *
 *   handler, 1st call ──► checks, kdf_job queued, connection suspended
 *        (KDF thread: verify and/or hash, job->done = 1, resume)
 *   handler, 2nd call ──► finish_*: store the result, reply
 *
 * Invariants:
 *  1. A job is in *req->state from the moment it is queued; http.c frees
 *     it when the request ends, which cannot happen while it is queued or
 *     being hashed, because its connection is suspended until then and
 *     accounts_stop drains the queue before the daemon stops.
 *  2. The KDF thread touches a job only between dequeuing it and setting
 *     job->done (under kdf.lock); after that it only resumes the
 *     connection it copied out.
 *  3. Every login attempt counts as a failure when it is queued and is
 *     forgiven when it succeeds, so N attempts in flight are N toward the
 *     throttle: the N+1st is refused even before the first has finished.
 */
#include "server/accounts.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/error.h"
#include "common/limits.h"
#include "server/app.h"
#include "server/auth.h"
#include "server/log.h"
#include "server/password.h"

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the KDF thread ---- */

/* JOB_FIRST_ADMIN has no connection: the KDF thread stores the admin
 * account made on a first start and frees the job itself. */
typedef enum job_kind { JOB_LOGIN, JOB_PASSWORD, JOB_CREATE, JOB_FIRST_ADMIN } job_kind;

typedef struct kdf_job {
	struct kdf_job *next;
	struct MHD_Connection *conn;
	job_kind kind;
	int done;
	int rc;       /* TT_OK, or TT_ECLOSED when the server stopped first */
	int verified; /* password matched stored (LOGIN, PASSWORD) */
	char password[TT_MAX_PASSWORD + 1];     /* to verify */
	size_t password_len;
	char new_password[TT_MAX_PASSWORD + 1]; /* to hash (PASSWORD, CREATE) */
	size_t new_len;
	char stored[STORE_PASS_HASH_MAX];       /* "" for an unknown account */
	char new_hash[PASSWORD_HASH_MAX];       /* out */
	/* What the second half needs. */
	int64_t account_id;
	int64_t token_id;
	int admin;
	char name[TT_MAX_ACCOUNT_NAME + 1];
	char addr[INET6_ADDRSTRLEN];
} kdf_job;

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	int running, stopping, pending;
	kdf_job *head, *tail;
	unsigned iterations;
	char dummy[PASSWORD_HASH_MAX]; /* KDF thread only */
	tt_app *app;
	int make_admin;                /* set by accounts_first_start */
} kdf = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

/* The hashing itself. An unknown account is verified against a dummy hash
 * of the same cost, so that a miss takes as long as a wrong password and
 * the timing does not tell which names exist. */
static void work(kdf_job *j)
{
	if (j->kind == JOB_LOGIN || j->kind == JOB_PASSWORD) {
		const char *against = j->stored;
		if (!against[0]) {
			if (!kdf.dummy[0])
				password_hash("-", 1, kdf.iterations, kdf.dummy);
			against = kdf.dummy;
		}
		j->verified = password_verify(j->password, j->password_len, against) == 1 &&
			      j->stored[0];
	}
	if (j->kind == JOB_CREATE || j->kind == JOB_FIRST_ADMIN ||
	    (j->kind == JOB_PASSWORD && j->verified))
		j->rc = password_hash(j->new_password, j->new_len, kdf.iterations, j->new_hash);
	memset(j->password, 0, sizeof j->password);
	memset(j->new_password, 0, sizeof j->new_password);
}

/* The second half of a first start, on the KDF thread: the admin's hash
 * is made, stored, and only then is its password logged. */
static void store_first_admin(kdf_job *j)
{
	tt_app *app = kdf.app;
	store_account a;
	int rc;

	work(j); /* clears j->new_password, so keep the password in j->password */
	if (j->rc == TT_OK) {
		pthread_mutex_lock(&app->store_lock);
		rc = store_account_create(app->st, "admin", true, j->new_hash, &a);
		if (rc != TT_OK)
			log_warn("accounts", "cannot create the admin account: %s",
				 store_errmsg(app->st));
		pthread_mutex_unlock(&app->store_lock);
	} else {
		rc = j->rc;
	}
	if (rc == TT_OK && app->cfg.listen_port)
		log_info("accounts", "first start: created the account 'admin' (owner of every "
			 "session); its password, shown only now: %s ; log in with: tutti login "
			 "--server http://%s:%d --user admin", j->name, app->cfg.listen_host,
			 app->cfg.listen_port);
	else if (rc == TT_OK) /* port 0: the kernel's choice is logged apart */
		log_info("accounts", "first start: created the account 'admin' (owner of every "
			 "session); its password, shown only now: %s ; log in with: tutti login "
			 "--server URL --user admin", j->name);
	memset(j->name, 0, sizeof j->name);
}

static void *kdf_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&kdf.lock);
	for (;;) {
		kdf_job *j;
		struct MHD_Connection *c;
		int stopping;

		while (!kdf.head && !kdf.stopping)
			pthread_cond_wait(&kdf.wake, &kdf.lock);
		if (!(j = kdf.head))
			break;
		kdf.head = j->next;
		if (!kdf.head)
			kdf.tail = NULL;
		stopping = kdf.stopping;
		pthread_mutex_unlock(&kdf.lock);
		if (j->kind == JOB_FIRST_ADMIN) {
			if (!stopping)
				store_first_admin(j);
			free(j);
			pthread_mutex_lock(&kdf.lock);
			continue;
		}
		if (stopping)
			j->rc = TT_ECLOSED;
		else
			work(j);
		c = j->conn;
		pthread_mutex_lock(&kdf.lock);
		kdf.pending--;
		j->done = 1; /* invariant 2: j is not touched after this */
		pthread_mutex_unlock(&kdf.lock);
		MHD_resume_connection(c);
		pthread_mutex_lock(&kdf.lock);
	}
	pthread_mutex_unlock(&kdf.lock);
	return NULL;
}

static void queue_first_admin(void);

int accounts_start(tt_app *app)
{
	kdf.app = app;
	kdf.iterations = (unsigned)app->cfg.pbkdf2_iterations;
	if (kdf.iterations < PASSWORD_DEFAULT_ITERATIONS)
		log_warn("accounts", "--pbkdf2-iterations %u is below the default %d: stolen "
			 "password hashes are that much cheaper to crack (use it for tests only)",
			 kdf.iterations, PASSWORD_DEFAULT_ITERATIONS);
	if (pthread_create(&kdf.thread, NULL, kdf_main, NULL) != 0)
		return TT_EIO;
	kdf.running = 1;
	if (kdf.make_admin)
		queue_first_admin();
	return TT_OK;
}

void accounts_stop(void)
{
	if (!kdf.running)
		return;
	pthread_mutex_lock(&kdf.lock);
	kdf.stopping = 1;
	pthread_cond_signal(&kdf.wake);
	pthread_mutex_unlock(&kdf.lock);
	pthread_join(kdf.thread, NULL);
	kdf.running = 0;
}

/* Queues j and suspends the connection (invariant 1); TT_EAGAIN when the
 * queue is full or the server is stopping (j is then freed). */
static int enqueue(const http_request *req, kdf_job *j)
{
	pthread_mutex_lock(&kdf.lock);
	if (!req->state || !kdf.running || kdf.stopping || kdf.pending >= TT_MAX_PENDING_LOGINS) {
		pthread_mutex_unlock(&kdf.lock);
		free(j);
		return TT_EAGAIN;
	}
	j->conn = req->conn;
	*req->state = j;
	MHD_suspend_connection(req->conn);
	if (kdf.tail)
		kdf.tail->next = j;
	else
		kdf.head = j;
	kdf.tail = j;
	kdf.pending++;
	pthread_cond_signal(&kdf.wake);
	pthread_mutex_unlock(&kdf.lock);
	return TT_OK;
}

static enum MHD_Result busy(const http_request *req)
{
	return http_reply_json_hdr(req->conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				   http_error_body(MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
						   "%d password checks are already waiting "
						   "(TT_MAX_PENDING_LOGINS), or the server is stopping: "
						   "retry in a second", TT_MAX_PENDING_LOGINS),
				   MHD_HTTP_HEADER_RETRY_AFTER, "1");
}

/* The job of a resumed request, or NULL on its first call. */
static kdf_job *resumed_job(const http_request *req)
{
	kdf_job *j = req->state ? *req->state : NULL;
	int done;

	if (!j)
		return NULL;
	pthread_mutex_lock(&kdf.lock);
	done = j->done;
	pthread_mutex_unlock(&kdf.lock);
	return done ? j : NULL;
}

/* ---- the login throttle (a fixed table; MHD thread, locked anyway) ---- */

#define KEY_MAX (4 + TT_MAX_ACCOUNT_NAME + INET6_ADDRSTRLEN) /* "n:NAME" or "a:ADDR" */

typedef struct slot {
	char key[KEY_MAX];
	int64_t start_s;
	int count;
} slot;

static struct {
	pthread_mutex_t lock;
	slot s[TT_LOGIN_THROTTLE_SLOTS];
} thr = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int64_t now_s(void)
{
	return app_now_ms() / 1000;
}

/* The slot of key; with create, a new one in a free, expired or else the
 * oldest slot. */
static slot *find_slot(const char *key, int create)
{
	int64_t now = now_s();
	slot *victim = NULL;

	for (int i = 0; i < TT_LOGIN_THROTTLE_SLOTS; i++) {
		slot *s = &thr.s[i];
		int expired = now - s->start_s >= TT_LOGIN_WINDOW_S;
		if (s->key[0] && strcmp(s->key, key) == 0) {
			if (expired) {
				s->start_s = now;
				s->count = 0;
			}
			return s;
		}
		if (!victim || !s->key[0] || (victim->key[0] && s->start_s < victim->start_s))
			victim = s;
	}
	if (!create)
		return NULL;
	snprintf(victim->key, sizeof victim->key, "%s", key);
	victim->start_s = now;
	victim->count = 0;
	return victim;
}

static void keys(const char *name, const char *addr, char kn[KEY_MAX],
		 char ka[KEY_MAX])
{
	snprintf(kn, KEY_MAX, "n:%s", name);
	snprintf(ka, KEY_MAX, "a:%s", addr);
}

/* Seconds until name and addr may try again; 0 when they may now. */
static int64_t throttled(const char *name, const char *addr)
{
	char kn[KEY_MAX], ka[KEY_MAX];
	int64_t wait = 0, now = now_s();
	slot *s;

	keys(name, addr, kn, ka);
	pthread_mutex_lock(&thr.lock);
	if ((s = find_slot(kn, 0)) && s->count >= TT_MAX_LOGIN_FAILURES_PER_NAME)
		wait = s->start_s + TT_LOGIN_WINDOW_S - now;
	if ((s = find_slot(ka, 0)) && s->count >= TT_MAX_LOGIN_FAILURES_PER_ADDRESS &&
	    s->start_s + TT_LOGIN_WINDOW_S - now > wait)
		wait = s->start_s + TT_LOGIN_WINDOW_S - now;
	pthread_mutex_unlock(&thr.lock);
	return wait > 0 ? wait : 0;
}

/* Counts an attempt (+1) or forgives one (-1), invariant 3. */
static void throttle_add(const char *name, const char *addr, int delta)
{
	char kn[KEY_MAX], ka[KEY_MAX];
	slot *s;

	keys(name, addr, kn, ka);
	pthread_mutex_lock(&thr.lock);
	if ((s = find_slot(kn, delta > 0)) && s->count + delta >= 0)
		s->count += delta;
	if ((s = find_slot(ka, delta > 0)) && s->count + delta >= 0)
		s->count += delta;
	pthread_mutex_unlock(&thr.lock);
}

static enum MHD_Result too_many(const http_request *req, int64_t wait)
{
	char after[24];

	snprintf(after, sizeof after, "%lld", (long long)wait);
	return http_reply_json_hdr(req->conn, MHD_HTTP_TOO_MANY_REQUESTS,
				   http_error_body(MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
						   "too many failed logins for this account name "
						   "(%d, TT_MAX_LOGIN_FAILURES_PER_NAME) or from this "
						   "address (%d, TT_MAX_LOGIN_FAILURES_PER_ADDRESS) in "
						   "%d s: retry in %lld s",
						   TT_MAX_LOGIN_FAILURES_PER_NAME,
						   TT_MAX_LOGIN_FAILURES_PER_ADDRESS, TT_LOGIN_WINDOW_S,
						   (long long)wait),
				   MHD_HTTP_HEADER_RETRY_AFTER, after);
}

static void client_addr(struct MHD_Connection *c, char out[INET6_ADDRSTRLEN])
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, INET6_ADDRSTRLEN, "unknown");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
			  INET6_ADDRSTRLEN);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  INET6_ADDRSTRLEN);
}

/* ---- account tokens ---- */

static const char *bearer(const http_request *req)
{
	const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	return h && strncmp(h, "Bearer ", 7) == 0 ? h + 7 : NULL;
}

/* Checks an account token "a<ID>.<SECRET>" and loads its account. */
static int token_account(tt_app *app, const char *token, store_account *a, int64_t *tid,
			 const char **why)
{
	uint8_t h[STORE_TOKEN_HASH];
	store_account_token t;
	const char *dot;
	char *end;
	long long id;
	int rc;

	*why = "the token is malformed";
	if (!token || token[0] != 'a' || !(dot = strchr(token, '.')) || !dot[1] ||
	    strlen(token) >= AUTH_TOKEN_MAX)
		return TT_EINVAL;
	id = strtoll(token + 1, &end, 10);
	if (end != dot || id <= 0)
		return TT_EINVAL;
	pthread_mutex_lock(&app->store_lock);
	rc = store_account_token_get(app->st, id, &t);
	pthread_mutex_unlock(&app->store_lock);
	/* Hash whatever came, found or not, so a miss costs what a hit does. */
	if (auth_hash_secret(dot + 1, strlen(dot + 1), h) != TT_OK)
		return TT_EIO;
	*why = "the token is not valid";
	if (rc != TT_OK || !auth_equal(h, t.hash, sizeof h))
		return TT_EPERM;
	if (t.revoked_at) {
		*why = "the token was revoked (logged out)";
		return TT_EPERM;
	}
	if (t.expires_at && wall_ms() >= t.expires_at) {
		*why = "the token has expired: log in again";
		return TT_EPERM;
	}
	pthread_mutex_lock(&app->store_lock);
	rc = store_account_get(app->st, t.account_id, a);
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK)
		return TT_EPERM;
	*tid = t.id;
	*why = "";
	return TT_OK;
}

store_role accounts_role(tt_app *app, const char *session_id, const char *token,
			 int64_t *token_id, const char **why)
{
	store_account a;
	store_session ss;
	store_role r = STORE_ROLE_NONE;
	int64_t tid, owner = 0;
	int rc;

	if (token_account(app, token, &a, &tid, why) != TT_OK)
		return STORE_ROLE_NONE;
	if (token_id)
		*token_id = tid;
	if (a.admin)
		return STORE_ROLE_OWNER;
	pthread_mutex_lock(&app->store_lock);
	rc = store_session_get(app->st, session_id, &ss);
	if (rc == TT_OK)
		rc = store_session_owner_account(app->st, session_id, &owner);
	if (rc == TT_OK && owner == a.id)
		r = STORE_ROLE_OWNER;
	else if (rc == TT_OK && store_member_get(app->st, session_id, a.id, &r) != TT_OK)
		r = STORE_ROLE_NONE;
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK) {
		*why = "no such session";
		return STORE_ROLE_NONE;
	}
	/* Logged in is never less than anonymous: a public session is open
	 * to listen. */
	if (r == STORE_ROLE_NONE && ss.listen_public)
		r = STORE_ROLE_LISTENER;
	if (r == STORE_ROLE_NONE)
		*why = "your account has no role in this session (its owner can add you: "
		       "PUT /api/sessions/ID/members/NAME)";
	return r;
}

void accounts_claim_session(tt_app *app, const http_request *req, const char *session_id)
{
	const char *t = bearer(req), *why;
	store_account a;
	int64_t tid;

	if (!t || t[0] != 'a' || token_account(app, t, &a, &tid, &why) != TT_OK)
		return;
	pthread_mutex_lock(&app->store_lock);
	if (store_session_set_owner_account(app->st, session_id, a.id) != TT_OK)
		log_warn("accounts", "session %s: cannot record its owner %s: %s", session_id,
			 a.name, store_errmsg(app->st));
	pthread_mutex_unlock(&app->store_lock);
}

/* 1 with the bearer's account, else answers 401 and returns 0. */
static int require_account(tt_app *app, const http_request *req, store_account *a,
			   int64_t *tid, enum MHD_Result *reply)
{
	const char *why = "this needs an account token (POST /api/login, then "
			  "Authorization: Bearer TOKEN)";
	const char *t = bearer(req);

	if (t && token_account(app, t, a, tid, &why) == TT_OK)
		return 1;
	if (!t)
		why = "this needs an account token (POST /api/login, then "
		      "Authorization: Bearer TOKEN)";
	*reply = http_reply_json_hdr(req->conn, MHD_HTTP_UNAUTHORIZED,
				     http_error_body(MHD_HTTP_UNAUTHORIZED, "unauthorized", "%s", why),
				     MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	return 0;
}

/* ---- helpers for the handlers ---- */

static json_t *account_json(const store_account *a)
{
	return json_pack("{s:I,s:s,s:b,s:I}", "id", (json_int_t)a->id, "name", a->name, "admin",
			 a->admin, "created_at", (json_int_t)a->created_at);
}

static enum MHD_Result db_failure(tt_app *app, const http_request *req, int rc)
{
	log_error("accounts", "%s %s: database: %s", req->method, req->path,
		  store_errmsg(app->st));
	return http_reply_error(req->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "database",
				"the database failed: %s", tt_strerror(rc));
}

static int valid_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > TT_MAX_ACCOUNT_NAME)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static enum MHD_Result bad_name(const http_request *req, const char *field)
{
	return http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "bad_request",
				"\"%s\" must be 1 to %d characters of [A-Za-z0-9._-] "
				"(TT_MAX_ACCOUNT_NAME)", field, TT_MAX_ACCOUNT_NAME);
}

/* Copies a password field, checking its length: on login only the upper
 * bound (a stored password may predate a higher minimum). Answers 400 and
 * returns 0 when it does not fit. */
static int take_password(const http_request *req, json_t *root, const char *field, int new_one,
			 char out[TT_MAX_PASSWORD + 1], size_t *len, enum MHD_Result *reply)
{
	json_t *p = json_object_get(root, field);
	size_t n = json_is_string(p) ? json_string_length(p) : 0;

	if (!json_is_string(p) || n == 0 || n > TT_MAX_PASSWORD ||
	    (new_one && n < TT_MIN_PASSWORD) || strlen(json_string_value(p)) != n) {
		*reply = http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "bad_request",
					  "\"%s\" must be a string of %d to %d bytes "
					  "(TT_MIN_PASSWORD, TT_MAX_PASSWORD)", field,
					  new_one ? TT_MIN_PASSWORD : 1, TT_MAX_PASSWORD);
		return 0;
	}
	memcpy(out, json_string_value(p), n + 1);
	*len = n;
	return 1;
}

/* ---- POST /api/login ---- */

static enum MHD_Result finish_login(tt_app *app, const http_request *req, kdf_job *j)
{
	char secret[AUTH_SECRET_MAX], token[AUTH_TOKEN_MAX];
	store_account_token t;
	store_account a;
	int rc;

	if (j->rc != TT_OK)
		return busy(req);
	if (!j->verified) {
		log_info("accounts", "failed login as '%s' from %s", j->name, j->addr);
		return http_reply_error(req->conn, MHD_HTTP_UNAUTHORIZED, "unauthorized",
					"wrong account name or password");
	}
	throttle_add(j->name, j->addr, -1);
	memset(&t, 0, sizeof t);
	t.account_id = j->account_id;
	snprintf(t.label, sizeof t.label, "login from %s", j->addr);
	t.created_at = wall_ms();
	t.expires_at = t.created_at + (int64_t)TT_ACCOUNT_TOKEN_TTL_S * 1000;
	if ((rc = auth_new_secret(secret)) != TT_OK ||
	    (rc = auth_hash_secret(secret, strlen(secret), t.hash)) != TT_OK)
		return db_failure(app, req, rc);
	pthread_mutex_lock(&app->store_lock);
	rc = store_account_token_create(app->st, &t);
	if (rc == TT_OK)
		rc = store_account_get(app->st, j->account_id, &a);
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK)
		return db_failure(app, req, rc);
	snprintf(token, sizeof token, "a%lld.%s", (long long)t.id, secret);
	log_info("accounts", "%s logged in from %s", a.name, j->addr);
	return http_reply_json(req->conn, MHD_HTTP_OK,
			       json_pack("{s:s,s:o,s:I}", "token", token, "account", account_json(&a),
					 "expires_at", (json_int_t)t.expires_at));
}

enum MHD_Result accounts_login(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	kdf_job *j = resumed_job(req);
	json_t *root, *name;
	store_account a;
	int64_t wait;
	int rc;

	if (j)
		return finish_login(app, req, j);
	if (!(root = http_body_object(req, &reply)))
		return reply;
	name = json_object_get(root, "name");
	if (!json_is_string(name) || !valid_name(json_string_value(name))) {
		json_decref(root);
		return bad_name(req, "name");
	}
	if (!(j = calloc(1, sizeof *j))) {
		json_decref(root);
		return MHD_NO;
	}
	j->kind = JOB_LOGIN;
	snprintf(j->name, sizeof j->name, "%s", json_string_value(name));
	if (!take_password(req, root, "password", 0, j->password, &j->password_len, &reply)) {
		json_decref(root);
		free(j);
		return reply;
	}
	json_decref(root);
	client_addr(req->conn, j->addr);
	if ((wait = throttled(j->name, j->addr)) > 0) {
		log_info("accounts", "login as '%s' from %s refused: too many failures", j->name,
			 j->addr);
		free(j);
		return too_many(req, wait);
	}
	pthread_mutex_lock(&app->store_lock);
	rc = store_account_find(app->st, j->name, &a);
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK && rc != TT_ENOTFOUND) {
		free(j);
		return db_failure(app, req, rc);
	}
	if (rc == TT_OK) {
		snprintf(j->stored, sizeof j->stored, "%s", a.pass_hash);
		j->account_id = a.id;
	}
	char name_copy[TT_MAX_ACCOUNT_NAME + 1], addr_copy[INET6_ADDRSTRLEN];
	snprintf(name_copy, sizeof name_copy, "%s", j->name);
	snprintf(addr_copy, sizeof addr_copy, "%s", j->addr);
	throttle_add(name_copy, addr_copy, +1); /* invariant 3 */
	if (enqueue(req, j) != TT_OK) {
		throttle_add(name_copy, addr_copy, -1);
		return busy(req);
	}
	return MHD_YES;
}

/* ---- POST /api/logout, GET /api/me ---- */

enum MHD_Result accounts_logout(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	store_account a;
	int64_t tid;
	int rc;

	if (!require_account(app, req, &a, &tid, &reply))
		return reply;
	pthread_mutex_lock(&app->store_lock);
	rc = store_account_token_revoke(app->st, a.id, tid, wall_ms());
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK)
		return db_failure(app, req, rc);
	return http_reply_json(req->conn, MHD_HTTP_OK, json_pack("{s:I}", "revoked",
								(json_int_t)tid));
}

enum MHD_Result accounts_me(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	store_account a;
	int64_t tid;

	if (!require_account(app, req, &a, &tid, &reply))
		return reply;
	return http_reply_json(req->conn, MHD_HTTP_OK,
			       json_pack("{s:o,s:{s:I}}", "account", account_json(&a), "token", "id",
					 (json_int_t)tid));
}

/* ---- PUT /api/me/password {old_password, password} ---- */

static enum MHD_Result finish_password(tt_app *app, const http_request *req, kdf_job *j)
{
	int rc;

	if (j->rc != TT_OK)
		return busy(req);
	if (!j->verified)
		return http_reply_error(req->conn, MHD_HTTP_FORBIDDEN, "forbidden",
					"\"old_password\" is not this account's password");
	throttle_add(j->name, j->addr, -1);
	pthread_mutex_lock(&app->store_lock);
	rc = store_account_set_password(app->st, j->account_id, j->new_hash);
	if (rc == TT_OK)
		rc = store_account_tokens_revoke_all(app->st, j->account_id, j->token_id, wall_ms());
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK)
		return db_failure(app, req, rc);
	log_info("accounts", "%s changed their password (their other tokens are revoked)",
		 j->name);
	return http_reply_json(req->conn, MHD_HTTP_OK, json_pack("{s:b,s:b}", "changed", 1,
								"other_tokens_revoked", 1));
}

enum MHD_Result accounts_password(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	kdf_job *j = resumed_job(req);
	store_account a;
	json_t *root;
	int64_t tid, wait;

	if (j)
		return finish_password(app, req, j);
	if (!require_account(app, req, &a, &tid, &reply))
		return reply;
	if (!(root = http_body_object(req, &reply)))
		return reply;
	if (!(j = calloc(1, sizeof *j))) {
		json_decref(root);
		return MHD_NO;
	}
	if (!take_password(req, root, "old_password", 0, j->password, &j->password_len, &reply) ||
	    !take_password(req, root, "password", 1, j->new_password, &j->new_len, &reply)) {
		json_decref(root);
		free(j);
		return reply;
	}
	json_decref(root);
	j->kind = JOB_PASSWORD;
	j->account_id = a.id;
	j->token_id = tid;
	snprintf(j->name, sizeof j->name, "%s", a.name);
	snprintf(j->stored, sizeof j->stored, "%s", a.pass_hash);
	client_addr(req->conn, j->addr);
	/* A stolen token must not become a way to guess the password. */
	if ((wait = throttled(j->name, j->addr)) > 0) {
		free(j);
		return too_many(req, wait);
	}
	throttle_add(a.name, j->addr, +1);
	char addr_copy[INET6_ADDRSTRLEN];
	snprintf(addr_copy, sizeof addr_copy, "%s", j->addr);
	if (enqueue(req, j) != TT_OK) {
		throttle_add(a.name, addr_copy, -1);
		return busy(req);
	}
	return MHD_YES;
}

/* ---- POST /api/accounts {name, password, admin?} (admin only) ---- */

static enum MHD_Result finish_create(tt_app *app, const http_request *req, kdf_job *j)
{
	store_account a;
	int rc;

	if (j->rc != TT_OK)
		return busy(req);
	pthread_mutex_lock(&app->store_lock);
	rc = store_account_create(app->st, j->name, j->admin, j->new_hash, &a);
	pthread_mutex_unlock(&app->store_lock);
	if (rc == TT_EEXIST)
		return http_reply_error(req->conn, MHD_HTTP_CONFLICT, "exists",
					"an account named '%s' exists", j->name);
	if (rc != TT_OK)
		return db_failure(app, req, rc);
	log_info("accounts", "created the account %s%s", a.name, a.admin ? " (admin)" : "");
	return http_reply_json(req->conn, MHD_HTTP_CREATED, account_json(&a));
}

enum MHD_Result accounts_create(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	kdf_job *j = resumed_job(req);
	store_account a, other;
	json_t *root, *name, *admin;
	int64_t tid;
	int rc;

	if (j)
		return finish_create(app, req, j);
	if (!require_account(app, req, &a, &tid, &reply))
		return reply;
	if (!a.admin)
		return http_reply_error(req->conn, MHD_HTTP_FORBIDDEN, "forbidden",
					"only an admin account may create accounts; %s is not one",
					a.name);
	if (!(root = http_body_object(req, &reply)))
		return reply;
	name = json_object_get(root, "name");
	admin = json_object_get(root, "admin");
	if (!json_is_string(name) || !valid_name(json_string_value(name))) {
		json_decref(root);
		return bad_name(req, "name");
	}
	if (admin && !json_is_boolean(admin)) {
		json_decref(root);
		return http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "bad_request",
					"\"admin\" must be true or false");
	}
	if (!(j = calloc(1, sizeof *j))) {
		json_decref(root);
		return MHD_NO;
	}
	j->kind = JOB_CREATE;
	j->admin = json_is_true(admin);
	snprintf(j->name, sizeof j->name, "%s", json_string_value(name));
	if (!take_password(req, root, "password", 1, j->new_password, &j->new_len, &reply)) {
		json_decref(root);
		free(j);
		return reply;
	}
	json_decref(root);
	pthread_mutex_lock(&app->store_lock);
	rc = store_account_find(app->st, j->name, &other);
	pthread_mutex_unlock(&app->store_lock);
	if (rc == TT_OK) { /* answer now rather than after a hashing */
		reply = http_reply_error(req->conn, MHD_HTTP_CONFLICT, "exists",
					 "an account named '%s' exists", j->name);
		free(j);
		return reply;
	}
	if (enqueue(req, j) != TT_OK)
		return busy(req);
	return MHD_YES;
}

/* ---- /api/sessions/{id}/members[/{name}] (owner only) ---- */

/* 1 when the bearer holds the owner role in req->param (a session token or
 * an account's); else answers 404, 401 or 403 and returns 0. */
static int require_owner(tt_app *app, const http_request *req, enum MHD_Result *reply)
{
	const char *why = "", *t = bearer(req);
	store_session ss;
	store_role r;
	int rc;

	pthread_mutex_lock(&app->store_lock);
	rc = store_session_get(app->st, req->param, &ss);
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK) {
		*reply = http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found",
					  "no session with id '%s'", req->param);
		return 0;
	}
	r = t ? auth_check(app, req->param, t, NULL, &why) : STORE_ROLE_NONE;
	if (r == STORE_ROLE_OWNER)
		return 1;
	if (r == STORE_ROLE_NONE)
		*reply = http_reply_json_hdr(req->conn, MHD_HTTP_UNAUTHORIZED,
					     http_error_body(MHD_HTTP_UNAUTHORIZED, "unauthorized",
							     "%s", t ? why : "this needs the session's "
							     "owner (Authorization: Bearer TOKEN)"),
					     MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	else
		*reply = http_reply_error(req->conn, MHD_HTTP_FORBIDDEN, "forbidden",
					  "this needs the owner role; the token gives %s",
					  store_role_name(r));
	return 0;
}

static int append_member(const char *name, store_role role, void *arr)
{
	return json_array_append_new(arr, json_pack("{s:s,s:s}", "name", name, "role",
						    store_role_name(role))) ? TT_ENOMEM : 0;
}

enum MHD_Result accounts_members(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	json_t *arr;
	int rc;

	if (!require_owner(app, req, &reply))
		return reply;
	arr = json_array();
	pthread_mutex_lock(&app->store_lock);
	rc = store_member_list(app->st, req->param, append_member, arr);
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK) {
		json_decref(arr);
		return db_failure(app, req, rc);
	}
	return http_reply_json(req->conn, MHD_HTTP_OK, json_pack("{s:o}", "members", arr));
}

/* The account named by the second path segment, or answers 404. */
static int member_account(tt_app *app, const http_request *req, store_account *a,
			  enum MHD_Result *reply)
{
	int rc = TT_ENOTFOUND;

	if (valid_name(req->param2)) {
		pthread_mutex_lock(&app->store_lock);
		rc = store_account_find(app->st, req->param2, a);
		pthread_mutex_unlock(&app->store_lock);
	}
	if (rc == TT_OK)
		return 1;
	*reply = rc == TT_ENOTFOUND
		 ? http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found",
				    "no account named '%s'", req->param2)
		 : db_failure(app, req, rc);
	return 0;
}

enum MHD_Result accounts_member_put(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	store_account a;
	store_role role;
	json_t *root;
	int rc;

	if (!require_owner(app, req, &reply) || !member_account(app, req, &a, &reply))
		return reply;
	if (!(root = http_body_object(req, &reply)))
		return reply;
	role = store_role_parse(json_string_value(json_object_get(root, "role")));
	json_decref(root);
	if (role == STORE_ROLE_NONE)
		return http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "bad_request",
					"a member needs \"role\": \"owner\", \"performer\" or "
					"\"listener\"");
	pthread_mutex_lock(&app->store_lock);
	rc = store_member_set(app->st, req->param, a.id, role);
	pthread_mutex_unlock(&app->store_lock);
	if (rc != TT_OK)
		return db_failure(app, req, rc);
	return http_reply_json(req->conn, MHD_HTTP_OK, json_pack("{s:s,s:s}", "name", a.name,
								"role", store_role_name(role)));
}

enum MHD_Result accounts_member_delete(tt_app *app, const http_request *req)
{
	enum MHD_Result reply;
	store_account a;
	int rc;

	if (!require_owner(app, req, &reply) || !member_account(app, req, &a, &reply))
		return reply;
	pthread_mutex_lock(&app->store_lock);
	rc = store_member_remove(app->st, req->param, a.id);
	pthread_mutex_unlock(&app->store_lock);
	if (rc == TT_ENOTFOUND)
		return http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found",
					"%s is not a member of this session", a.name);
	if (rc != TT_OK)
		return db_failure(app, req, rc);
	return http_reply_json(req->conn, MHD_HTTP_OK, json_pack("{s:s}", "removed", a.name));
}

/* ---- first start ---- */

/* Queues the admin's hashing for the KDF thread (it is not counted in
 * TT_MAX_PENDING_LOGINS: nobody waits for it). The password is kept in
 * the job's name field, which JOB_FIRST_ADMIN does not otherwise use,
 * because work() clears new_password once hashed. */
static void queue_first_admin(void)
{
	char pw[AUTH_SECRET_MAX];
	kdf_job *j;

	if (auth_new_secret(pw) != TT_OK || !(j = calloc(1, sizeof *j))) {
		log_warn("accounts", "cannot make the admin account's password");
		return;
	}
	j->kind = JOB_FIRST_ADMIN;
	j->new_len = strlen(pw);
	memcpy(j->new_password, pw, j->new_len + 1);
	snprintf(j->name, sizeof j->name, "%s", pw);
	memset(pw, 0, sizeof pw);
	pthread_mutex_lock(&kdf.lock);
	if (kdf.tail)
		kdf.tail->next = j;
	else
		kdf.head = j;
	kdf.tail = j;
	pthread_cond_signal(&kdf.wake);
	pthread_mutex_unlock(&kdf.lock);
}

int accounts_first_start(tt_app *app)
{
	int64_t n = 0;
	int rc = store_account_count(app->st, &n);

	/* The hashing (~0.3 s or more) runs on the KDF thread once it starts,
	 * so that tuttid serves at once; the password is logged when the
	 * account is stored. */
	kdf.make_admin = rc == TT_OK && n == 0;
	return rc;
}
