/*
 * server/config.h: tuttid's settings, from defaults, a config file and the
 * command line, in that order of precedence (the command line wins).
 *
 * The config file holds the same settings as the flags, one per line:
 *
 *     # comments start with '#'
 *     listen = 127.0.0.1:8080
 *     db = ./var/tutti.db
 *     log-level = info
 *     web = ./clients/web/dist
 *     demo = yes
 *     ws-per-address = 64
 *     icecast = SESSION_ID=http://source:PASSWORD@HOST:8000/MOUNT
 *     osc-session = SESSION_ID
 *     osc-listen = 127.0.0.1:57120
 *     archive = yes
 *     archive-dir = ./var/archive
 *     archive-rotate = 600
 *     archive-keep-days = 0
 *     tls-cert = /etc/tutti/cert.pem
 *     tls-key = /etc/tutti/key.pem
 */
#ifndef TT_SERVER_CONFIG_H
#define TT_SERVER_CONFIG_H

#include <limits.h>
#include <stddef.h>

#include "server/log.h"

typedef struct tt_config {
	char listen_host[256];
	int listen_port;          /* 0 asks the kernel for a free port */
	char db_path[PATH_MAX];
	char web_dir[PATH_MAX];   /* static files for the web client */
	log_level level;
	int demo;                 /* seed a demo session on first start */
	int ws_per_address;       /* WebSocket connections per peer address */
	char icecast_session[32]; /* a session to put on an Icecast server ... */
	char icecast_url[512];    /* ... at this source URL (server/icecast.h) */
	char osc_session[32];     /* play OSC /dirt/play in this session ... */
	char osc_host[256];       /* ... taken on UDP here (server/osc.h) */
	int osc_port;
	int archive;              /* write each session's stream to disk (server/archive.h) */
	char archive_dir[PATH_MAX]; /* where; "" means "archive" beside the database */
	int archive_rotate_s;     /* seconds of audio per archive file */
	int archive_keep_days;    /* delete archive files older than this; 0 keeps all */
	char tls_cert[PATH_MAX];  /* with tls_key: serve HTTPS only (server/tls.h) */
	char tls_key[PATH_MAX];
	int pbkdf2_iterations;    /* password hashing cost (server/password.h) */
	char capture_pcm_dir[PATH_MAX]; /* --capture-pcm: each run's rendered mix
				 * as raw float32 stereo, for checking replay */
} tt_config;

void config_default(tt_config *cfg);

/* Applies argv (after config_default); a --config FILE among them is read
 * first, so that the other flags override it. On a bad flag or file returns
 * TT_EINVAL with a message in err. Sets *exit_now for --help/--version,
 * after printing what they print to stdout. */
int config_from_args(tt_config *cfg, int argc, char **argv, int *exit_now,
		     char *err, size_t errlen);

/* Applies one "key = value" setting; the same keys as the long flags. */
int config_set(tt_config *cfg, const char *key, const char *value, char *err,
	       size_t errlen);

/* Reads a config file. err names the file and line of a bad setting. */
int config_load_file(tt_config *cfg, const char *path, char *err, size_t errlen);

/* Splits "HOST:PORT" ("[::1]:8080" for IPv6). */
int config_parse_listen(const char *s, char *host, size_t hostlen, int *port);

#endif
