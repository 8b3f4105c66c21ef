/* server/http_guard.c: see http_guard.h for the rules and the states. */
#include "server/http_guard.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/error.h"
#include "common/limits.h"
#include "server/log.h"

/* One accepted connection; its socket_context. */
typedef struct watched {
	struct watched *prev, *next;
	int fd;
	int pending;          /* its request is not complete yet */
	int final;            /* upgraded: never rearmed */
	int64_t deadline_ms;  /* when pending: closed at this time */
	char addr[INET6_ADDRSTRLEN];
} watched;

/* Pending connections of one address. */
typedef struct addr_count {
	char addr[INET6_ADDRSTRLEN];
	int n;
} addr_count;

struct http_guard {
	pthread_mutex_t lock;   /* everything below */
	pthread_cond_t wake;
	pthread_t thread;
	int stop;
	int max_per_address;
	int max_http, n_http;   /* connections not upgraded */
	int64_t warned_ms;      /* last refusal logged: at most one a second */
	watched *all;
	addr_count *addrs;
	size_t n_addrs, cap_addrs;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void addr_text(const struct sockaddr *sa, char out[INET6_ADDRSTRLEN])
{
	snprintf(out, INET6_ADDRSTRLEN, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
			  INET6_ADDRSTRLEN);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  INET6_ADDRSTRLEN);
}

/* The count of addr (under the lock); NULL when absent and !create. */
static addr_count *count_of(http_guard *g, const char *addr, int create)
{
	for (size_t i = 0; i < g->n_addrs; i++)
		if (strcmp(g->addrs[i].addr, addr) == 0)
			return &g->addrs[i];
	if (!create)
		return NULL;
	if (g->n_addrs == g->cap_addrs) {
		size_t cap = g->cap_addrs ? g->cap_addrs * 2 : 16;
		addr_count *a = realloc(g->addrs, cap * sizeof *a);
		if (!a)
			return NULL;
		g->addrs = a;
		g->cap_addrs = cap;
	}
	addr_count *a = &g->addrs[g->n_addrs++];
	memcpy(a->addr, addr, sizeof a->addr);
	a->n = 0;
	return a;
}

/* Moves w in or out of the pending state (under the lock). */
static void set_pending(http_guard *g, watched *w, int pending)
{
	addr_count *a;

	if (w->pending == pending)
		return;
	w->pending = pending;
	w->deadline_ms = now_ms() + (int64_t)TT_HTTP_REQUEST_TIMEOUT_S * 1000;
	a = count_of(g, w->addr, pending);
	if (!a)
		return; /* out of memory: the address goes uncounted */
	a->n += pending ? 1 : -1;
	if (a->n <= 0)
		*a = g->addrs[--g->n_addrs];
}

enum MHD_Result http_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	http_guard *g = cls;
	char text[INET6_ADDRSTRLEN];
	addr_count *a;
	int refuse, full, quiet;

	(void)addrlen;
	addr_text(addr, text);
	pthread_mutex_lock(&g->lock);
	a = count_of(g, text, 0);
	refuse = g->max_per_address > 0 && a && a->n >= g->max_per_address;
	full = g->n_http >= g->max_http;
	quiet = !(refuse || full) || now_ms() - g->warned_ms < 1000;
	if (!quiet)
		g->warned_ms = now_ms();
	pthread_mutex_unlock(&g->lock);
	if (!quiet && refuse)
		log_warn("http", "%s has %d requests under way (TT_MAX_HTTP_PENDING_PER_ADDRESS): "
			 "refusing another connection", text, g->max_per_address);
	else if (!quiet)
		log_warn("http", "%d HTTP connections are open (TT_MAX_HTTP_CONNECTIONS): refusing "
			 "one from %s", g->max_http, text);
	return refuse || full ? MHD_NO : MHD_YES;
}

void http_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		       enum MHD_ConnectionNotificationCode toe)
{
	http_guard *g = cls;
	watched *w = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ad =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (!(w = calloc(1, sizeof *w)))
			return; /* unwatched; libmicrohttpd's idle timeout still applies */
		w->fd = fd ? fd->connect_fd : -1;
		addr_text(ad ? ad->client_addr : NULL, w->addr);
		pthread_mutex_lock(&g->lock);
		w->next = g->all;
		if (g->all)
			g->all->prev = w;
		g->all = w;
		g->n_http++;
		set_pending(g, w, 1);
		pthread_mutex_unlock(&g->lock);
		*socket_context = w;
		return;
	}
	if (!w)
		return;
	/* Closed: libmicrohttpd closes the socket after this returns, so the
	 * watchdog (which shuts sockets down under the lock) never touches
	 * a descriptor number that was reused. */
	pthread_mutex_lock(&g->lock);
	set_pending(g, w, 0);
	if (!w->final)
		g->n_http--;
	if (w->prev)
		w->prev->next = w->next;
	else
		g->all = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&g->lock);
	free(w);
	*socket_context = NULL;
}

static watched *of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

void http_guard_dispatched(http_guard *g, struct MHD_Connection *c)
{
	watched *w = of(c);

	if (!g || !w)
		return;
	pthread_mutex_lock(&g->lock);
	set_pending(g, w, 0);
	pthread_mutex_unlock(&g->lock);
}

void http_guard_upgraded(http_guard *g, struct MHD_Connection *c)
{
	watched *w = of(c);

	if (!g || !w)
		return;
	pthread_mutex_lock(&g->lock);
	set_pending(g, w, 0);
	if (!w->final)
		g->n_http--;
	w->final = 1;
	pthread_mutex_unlock(&g->lock);
}

void http_guard_request_done(http_guard *g, struct MHD_Connection *c)
{
	watched *w = of(c);

	if (!g || !w)
		return;
	pthread_mutex_lock(&g->lock);
	if (!w->final)
		set_pending(g, w, 1);
	pthread_mutex_unlock(&g->lock);
}

/* Once a second: shuts down the sockets of requests past their deadline. */
static void *watchdog(void *arg)
{
	http_guard *g = arg;
	struct timespec until;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		int64_t now = now_ms();
		for (watched *w = g->all; w; w = w->next) {
			if (w->pending && w->fd >= 0 && now >= w->deadline_ms) {
				log_info("http", "%s: request not complete after %d s "
					 "(TT_HTTP_REQUEST_TIMEOUT_S): closing it", w->addr,
					 TT_HTTP_REQUEST_TIMEOUT_S);
				shutdown(w->fd, SHUT_RDWR);
				w->fd = -1; /* once */
			}
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&g->wake, &g->lock, &until);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

int http_guard_new(int pending_per_address, int max_http, http_guard **out)
{
	http_guard *g = calloc(1, sizeof *g);

	if (!g)
		return TT_ENOMEM;
	g->max_per_address = pending_per_address;
	g->max_http = max_http;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->wake, NULL);
	if (pthread_create(&g->thread, NULL, watchdog, g) != 0) {
		pthread_cond_destroy(&g->wake);
		pthread_mutex_destroy(&g->lock);
		free(g);
		return TT_ENOMEM;
	}
	*out = g;
	return TT_OK;
}

void http_guard_free(http_guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = 1;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	while (g->all) {
		watched *w = g->all;
		g->all = w->next;
		free(w);
	}
	free(g->addrs);
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}
