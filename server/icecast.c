/* server/icecast.c: see icecast.h. */
#include "server/icecast.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <shout/shout.h>

#include "common/error.h"
#include "common/limits.h"
#include "server/log.h"

typedef struct page {
	size_t len;
	uint8_t *data;
} page;

struct icecast_out {
	char user[64], pass[128], host[256], mount[256];
	int port;
	uint8_t *head;
	size_t head_len;
	pthread_t thread;
	pthread_mutex_t lock;    /* guards the queue and stopping */
	pthread_cond_t cond;
	page q[TT_ICECAST_QUEUE];
	size_t q_first, q_count;
	int stopping;
	atomic_int connected;
};

static pthread_once_t shout_once = PTHREAD_ONCE_INIT;

static void shout_global_init(void)
{
	shout_init();
}

static int copy_part(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return TT_EINVAL;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return TT_OK;
}

int icecast_parse_url(const char *url, char *user, size_t ucap, char *pass, size_t pcap,
		      char *host, size_t hcap, int *port, char *mount, size_t mcap)
{
	const char *p, *at, *slash, *colon;

	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "icecast://", 10) != 0)
		return TT_EINVAL;
	p = strstr(url, "://") + 3;
	slash = strchr(p, '/');
	if (!slash || !slash[1])
		return TT_EINVAL; /* a mount point is required */
	at = memchr(p, '@', (size_t)(slash - p));
	snprintf(user, ucap, "source");
	pass[0] = '\0';
	if (at) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (copy_part(user, ucap, p, (size_t)((colon ? colon : at) - p)) != TT_OK ||
		    (colon && copy_part(pass, pcap, colon + 1, (size_t)(at - colon - 1)) != TT_OK))
			return TT_EINVAL;
		p = at + 1;
	}
	colon = memchr(p, ':', (size_t)(slash - p));
	*port = 8000;
	if (colon) {
		char *end;
		long v = strtol(colon + 1, &end, 10);
		if (end != slash || v < 1 || v > 65535)
			return TT_EINVAL;
		*port = (int)v;
	}
	if (copy_part(host, hcap, p, (size_t)((colon ? colon : slash) - p)) != TT_OK || !host[0])
		return TT_EINVAL;
	return copy_part(mount, mcap, slash, strlen(slash));
}

static shout_t *connect_shout(icecast_out *o)
{
	shout_t *s = shout_new();

	if (!s)
		return NULL;
	if (shout_set_host(s, o->host) != SHOUTERR_SUCCESS ||
	    shout_set_port(s, (unsigned short)o->port) != SHOUTERR_SUCCESS ||
	    shout_set_user(s, o->user) != SHOUTERR_SUCCESS ||
	    shout_set_password(s, o->pass) != SHOUTERR_SUCCESS ||
	    shout_set_mount(s, o->mount) != SHOUTERR_SUCCESS ||
	    shout_set_protocol(s, SHOUT_PROTOCOL_HTTP) != SHOUTERR_SUCCESS ||
	    shout_set_content_format(s, SHOUT_FORMAT_OGG, SHOUT_USAGE_AUDIO, NULL) !=
		    SHOUTERR_SUCCESS ||
	    shout_set_meta(s, SHOUT_META_NAME, "tutti") != SHOUTERR_SUCCESS ||
	    shout_open(s) != SHOUTERR_SUCCESS) {
		log_warn("icecast", "cannot connect to %s:%d%s: %s", o->host, o->port, o->mount,
			 shout_get_error(s));
		shout_free(s);
		return NULL;
	}
	log_info("icecast", "on air at http://%s:%d%s", o->host, o->port, o->mount);
	return s;
}

/* Waits up to ms for a page or the stop; returns 0 when stopping. */
static int next_page(icecast_out *o, page *out, int ms)
{
	struct timespec until;
	int have;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&o->lock);
	while (!o->stopping && o->q_count == 0 &&
	       pthread_cond_timedwait(&o->cond, &o->lock, &until) != ETIMEDOUT)
		;
	have = o->q_count > 0;
	if (have) {
		*out = o->q[o->q_first];
		o->q_first = (o->q_first + 1) % TT_ICECAST_QUEUE;
		o->q_count--;
	}
	int stopping = o->stopping;
	pthread_mutex_unlock(&o->lock);
	if (!have)
		out->data = NULL;
	return !stopping;
}

static void drop_queue(icecast_out *o)
{
	pthread_mutex_lock(&o->lock);
	while (o->q_count) {
		free(o->q[o->q_first].data);
		o->q_first = (o->q_first + 1) % TT_ICECAST_QUEUE;
		o->q_count--;
	}
	pthread_mutex_unlock(&o->lock);
}

static void *icecast_main(void *arg)
{
	icecast_out *o = arg;
	int backoff = 1000;

	for (;;) {
		page pg;
		shout_t *s = connect_shout(o);

		if (!s) {
			/* Pages queued while away are stale: listeners want live. */
			drop_queue(o);
			if (!next_page(o, &pg, backoff))
				break;
			free(pg.data);
			backoff = backoff < 15000 ? backoff * 2 : 30000;
			continue;
		}
		backoff = 1000;
		drop_queue(o);
		atomic_store(&o->connected, 1);
		int ok = shout_send(s, o->head, o->head_len) == SHOUTERR_SUCCESS;
		while (ok && next_page(o, &pg, 1000)) {
			if (pg.data) {
				ok = shout_send(s, pg.data, pg.len) == SHOUTERR_SUCCESS;
				free(pg.data);
			}
		}
		atomic_store(&o->connected, 0);
		if (!ok)
			log_warn("icecast", "lost http://%s:%d%s: %s; reconnecting", o->host, o->port,
				 o->mount, shout_get_error(s));
		shout_close(s);
		shout_free(s);
		pthread_mutex_lock(&o->lock);
		int stopping = o->stopping;
		pthread_mutex_unlock(&o->lock);
		if (stopping)
			break;
	}
	return NULL;
}

int icecast_start(const char *url, const uint8_t *head, size_t head_len, icecast_out **out,
		  char *err, size_t errlen)
{
	icecast_out *o = calloc(1, sizeof *o);

	if (!o)
		return TT_ENOMEM;
	if (icecast_parse_url(url, o->user, sizeof o->user, o->pass, sizeof o->pass, o->host,
			      sizeof o->host, &o->port, o->mount, sizeof o->mount) != TT_OK) {
		snprintf(err, errlen, "'%s' is not http://[USER[:PASSWORD]@]HOST[:PORT]/MOUNT", url);
		free(o);
		return TT_EINVAL;
	}
	o->head = malloc(head_len);
	if (!o->head) {
		free(o);
		return TT_ENOMEM;
	}
	memcpy(o->head, head, head_len);
	o->head_len = head_len;
	pthread_once(&shout_once, shout_global_init);
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->cond, NULL);
	if (pthread_create(&o->thread, NULL, icecast_main, o) != 0) {
		free(o->head);
		free(o);
		return TT_EIO;
	}
	*out = o;
	return TT_OK;
}

void icecast_push(icecast_out *o, const uint8_t *data, size_t len)
{
	uint8_t *copy;

	if (!atomic_load(&o->connected) || !(copy = malloc(len)))
		return; /* not on air: nothing to keep */
	memcpy(copy, data, len);
	pthread_mutex_lock(&o->lock);
	if (o->q_count == TT_ICECAST_QUEUE) {
		free(o->q[o->q_first].data);
		o->q_first = (o->q_first + 1) % TT_ICECAST_QUEUE;
		o->q_count--;
	}
	o->q[(o->q_first + o->q_count) % TT_ICECAST_QUEUE] = (page){ len, copy };
	o->q_count++;
	pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->lock);
}

int icecast_connected(icecast_out *o)
{
	return atomic_load(&o->connected);
}

void icecast_stop(icecast_out *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->lock);
	o->stopping = 1;
	pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->lock);
	pthread_join(o->thread, NULL);
	drop_queue(o);
	pthread_mutex_destroy(&o->lock);
	pthread_cond_destroy(&o->cond);
	free(o->head);
	free(o);
}
