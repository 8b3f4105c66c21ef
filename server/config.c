/* server/config.c: see config.h. */
#include "server/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/limits.h"

#define DEFAULT_LISTEN_HOST "127.0.0.1"
#define DEFAULT_LISTEN_PORT 8080
#define DEFAULT_DB_PATH "./var/tutti.db"
#define DEFAULT_WEB_DIR "./clients/web/dist"
/* Where `make install` puts the web client ($(pkgdatadir)/web, set by
 * server/local.mk): the default when ./clients/web/dist is absent, i.e.
 * when tuttid runs outside a source tree. */
#ifndef TT_WEB_INSTALL_DIR
#define TT_WEB_INSTALL_DIR "/usr/local/share/tutti/web"
#endif

static const char usage[] =
	"usage: tuttid [options]\n"
	"       tuttid backup --db FILE -o OUT   (a consistent copy, while running)\n"
	"  --listen HOST:PORT   address to serve on (default 127.0.0.1:8080;\n"
	"                       port 0 picks a free one and logs it)\n"
	"  --db PATH            SQLite database, created and migrated on first\n"
	"                       start (default ./var/tutti.db)\n"
	"  --web DIR            static files of the web client (default\n"
	"                       ./clients/web/dist, else the installed copy in\n"
	"                       " TT_WEB_INSTALL_DIR ")\n"
	"  --log-level LEVEL    error, warn, info or debug (default info)\n"
	"  --no-demo            do not create the demo session on a first start\n"
	"  --no-archive         do not write the sessions' streams to disk\n"
	"  --archive-dir DIR    where the archive goes (default: archive beside\n"
	"                       the database, ./var/archive)\n"
	"  --archive-rotate S   seconds of audio per archive file (default 600)\n"
	"  --archive-keep-days N  delete archive files older than N days\n"
	"                       (default 0: keep everything)\n"
	"  --icecast ID=URL     feed session ID to an Icecast 2 server as a source:\n"
	"                       URL is http://source:PASSWORD@HOST:PORT/MOUNT\n"
	"  --capture-pcm DIR    also write what each session renders, as raw\n"
	"                       float32 stereo DIR/SESSION-RUN.f32 (to check\n"
	"                       replay against it; about 1.4 GB an hour)\n"
	"  --tls-cert FILE      serve HTTPS and WSS only, with this certificate\n"
	"                       (PEM, leaf first, then its chain)\n"
	"  --tls-key FILE       the certificate's private key (PEM, unencrypted)\n"
	"  --osc-session ID     play OSC /dirt/play messages (TidalCycles,\n"
	"                       SuperDirt's protocol) in session ID\n"
	"  --osc-listen ADDR:PORT  where to take them (UDP; default\n"
	"                       127.0.0.1:57120; port 0 picks a free one)\n"
	"  --ws-per-address N   WebSocket connections one address may hold\n"
	"                       (default 64; a load test on loopback needs more)\n"
	"  --pbkdf2-iterations N  password hashing cost (default 600000; less\n"
	"                       only for tests, with a warning)\n"
	"  --config FILE        read settings from FILE (same keys as the\n"
	"                       flags, 'key = value' per line); flags win\n"
	"  --version            print the version and exit\n"
	"  --help               print this and exit\n";

void config_default(tt_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	snprintf(cfg->listen_host, sizeof cfg->listen_host, "%s", DEFAULT_LISTEN_HOST);
	cfg->listen_port = DEFAULT_LISTEN_PORT;
	snprintf(cfg->db_path, sizeof cfg->db_path, "%s", DEFAULT_DB_PATH);
	snprintf(cfg->web_dir, sizeof cfg->web_dir, "%s",
		 access(DEFAULT_WEB_DIR "/index.html", R_OK) == 0 ? DEFAULT_WEB_DIR
								  : TT_WEB_INSTALL_DIR);
	cfg->level = LOG_INFO;
	cfg->demo = 1;
	cfg->archive = 1, cfg->archive_rotate_s = 600; /* server/archive.h */
	cfg->ws_per_address = TT_MAX_WS_PER_ADDRESS;
	snprintf(cfg->osc_host, sizeof cfg->osc_host, "127.0.0.1"), cfg->osc_port = 57120;
	cfg->pbkdf2_iterations = 600000; /* PASSWORD_DEFAULT_ITERATIONS */
}

int config_parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon;
	const char *h = s;
	size_t hl;
	char *end;
	long p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return TT_EINVAL;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return TT_EINVAL;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen)
		return TT_EINVAL;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || p < 0 || p > 65535)
		return TT_EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (int)p;
	return TT_OK;
}

static int set_path(char *dst, size_t cap, const char *value, const char *key,
		    char *err, size_t errlen)
{
	size_t n = strlen(value);
	if (n == 0 || n >= cap) {
		snprintf(err, errlen, "%s: path is empty or longer than %zu bytes", key, cap - 1);
		return TT_EINVAL;
	}
	memcpy(dst, value, n + 1);
	return TT_OK;
}

/* OSC input (server/osc.h): osc-session ID, osc-listen ADDR:PORT. */
static int set_osc(tt_config *cfg, const char *key, const char *value, char *err,
		   size_t errlen)
{
	if (strcmp(key, "osc-listen") == 0) {
		if (config_parse_listen(value, cfg->osc_host, sizeof cfg->osc_host,
					&cfg->osc_port) != TT_OK) {
			snprintf(err, errlen, "osc-listen: '%s' is not ADDR:PORT with a port 0-65535",
				 value);
			return TT_EINVAL;
		}
		return TT_OK;
	}
	if (strcmp(key, "osc-session") == 0) {
		size_t n = strlen(value);
		if (n == 0 || n >= sizeof cfg->osc_session) {
			snprintf(err, errlen, "osc-session: '%s' is not a session id", value);
			return TT_EINVAL;
		}
		memcpy(cfg->osc_session, value, n + 1);
		return TT_OK;
	}
	snprintf(err, errlen, "unknown setting '%s' (known: osc-session, osc-listen)", key);
	return TT_EINVAL;
}

/* The archive's settings: archive (yes/no), archive-dir, archive-rotate,
 * archive-keep-days. */
static int set_archive(tt_config *cfg, const char *key, const char *value, char *err,
		       size_t errlen)
{
	long n, lo = 0, hi = 36500;
	char *end;

	if (strcmp(key, "archive") == 0) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0) {
			snprintf(err, errlen, "archive: '%s' is not yes or no", value);
			return TT_EINVAL;
		}
		cfg->archive = strcmp(value, "yes") == 0;
		return TT_OK;
	}
	if (strcmp(key, "archive-dir") == 0)
		return set_path(cfg->archive_dir, sizeof cfg->archive_dir, value, key, err, errlen);
	if (strcmp(key, "archive-rotate") == 0)
		lo = TT_MIN_ARCHIVE_ROTATE_S, hi = TT_MAX_ARCHIVE_ROTATE_S;
	else if (strcmp(key, "archive-keep-days") != 0) {
		snprintf(err, errlen, "unknown setting '%s' (known: archive, archive-dir, "
			 "archive-rotate, archive-keep-days)", key);
		return TT_EINVAL;
	}
	errno = 0;
	n = strtol(value, &end, 10);
	if (errno || *end || end == value || n < lo || n > hi) {
		snprintf(err, errlen, "%s: '%s' is not a number of %s in %ld..%ld", key, value,
			 lo ? "seconds" : "days", lo, hi);
		return TT_EINVAL;
	}
	if (lo)
		cfg->archive_rotate_s = (int)n;
	else
		cfg->archive_keep_days = (int)n;
	return TT_OK;
}

int config_set(tt_config *cfg, const char *key, const char *value, char *err,
	       size_t errlen)
{
	if (strcmp(key, "listen") == 0) {
		if (config_parse_listen(value, cfg->listen_host, sizeof cfg->listen_host,
					&cfg->listen_port) != TT_OK) {
			snprintf(err, errlen, "listen: '%s' is not HOST:PORT with a port 0-65535", value);
			return TT_EINVAL;
		}
		return TT_OK;
	}
	if (strcmp(key, "db") == 0)
		return set_path(cfg->db_path, sizeof cfg->db_path, value, key, err, errlen);
	if (strcmp(key, "web") == 0)
		return set_path(cfg->web_dir, sizeof cfg->web_dir, value, key, err, errlen);
	if (strcmp(key, "tls-cert") == 0)
		return set_path(cfg->tls_cert, sizeof cfg->tls_cert, value, key, err, errlen);
	if (strcmp(key, "tls-key") == 0)
		return set_path(cfg->tls_key, sizeof cfg->tls_key, value, key, err, errlen);
	if (strcmp(key, "capture-pcm") == 0)
		return set_path(cfg->capture_pcm_dir, sizeof cfg->capture_pcm_dir, value, key, err,
				errlen);
	if (strcmp(key, "log-level") == 0) {
		if (log_parse_level(value, &cfg->level) != TT_OK) {
			snprintf(err, errlen, "log-level: '%s' is not error, warn, info or debug", value);
			return TT_EINVAL;
		}
		return TT_OK;
	}
	if (strcmp(key, "ws-per-address") == 0) {
		char *end;
		long n = strtol(value, &end, 10);
		if (*end || end == value || n < 1 || n > TT_MAX_WS_CONNECTIONS) {
			snprintf(err, errlen, "ws-per-address: '%s' is not a number in 1..%d", value,
				 TT_MAX_WS_CONNECTIONS);
			return TT_EINVAL;
		}
		cfg->ws_per_address = (int)n;
		return TT_OK;
	}
	if (strcmp(key, "pbkdf2-iterations") == 0) {
		char *end;
		long n = strtol(value, &end, 10);
		if (*end || end == value || n < 1 || n > 100000000) {
			snprintf(err, errlen, "pbkdf2-iterations: '%s' is not a number in 1..100000000", value);
			return TT_EINVAL;
		}
		cfg->pbkdf2_iterations = (int)n;
		return TT_OK;
	}
	if (strcmp(key, "icecast") == 0) {
		const char *eq = strchr(value, '=');
		if (!eq || eq == value || (size_t)(eq - value) >= sizeof cfg->icecast_session ||
		    strlen(eq + 1) >= sizeof cfg->icecast_url || strncmp(eq + 1, "http://", 7) != 0) {
			snprintf(err, errlen, "icecast: '%s' is not SESSION_ID=http://...", value);
			return TT_EINVAL;
		}
		memcpy(cfg->icecast_session, value, (size_t)(eq - value));
		cfg->icecast_session[eq - value] = '\0';
		snprintf(cfg->icecast_url, sizeof cfg->icecast_url, "%s", eq + 1);
		return TT_OK;
	}
	if (strncmp(key, "archive", 7) == 0)
		return set_archive(cfg, key, value, err, errlen);
	if (strncmp(key, "osc-", 4) == 0)
		return set_osc(cfg, key, value, err, errlen);
	if (strcmp(key, "demo") == 0) {
		if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0) {
			cfg->demo = strcmp(value, "yes") == 0;
			return TT_OK;
		}
		snprintf(err, errlen, "demo: '%s' is not yes or no", value);
		return TT_EINVAL;
	}
	snprintf(err, errlen, "unknown setting '%s' (known: listen, db, web, log-level, demo, archive, archive-dir, archive-rotate, archive-keep-days, ws-per-address, icecast, osc-session, osc-listen, capture-pcm, tls-cert, tls-key)", key);
	return TT_EINVAL;
}

static char *trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int config_load_file(tt_config *cfg, const char *path, char *err, size_t errlen)
{
	char line[PATH_MAX + 64];
	char why[PATH_MAX + 128];
	int lineno = 0;
	int rc = TT_OK;
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "config %s: %s", path, strerror(errno));
		return TT_EIO;
	}
	while (fgets(line, sizeof line, f)) {
		char *eq, *key, *s;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "config %s line %d: line too long", path, lineno);
			rc = TT_EINVAL;
			goto out;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "config %s line %d: expected 'key = value'", path, lineno);
			rc = TT_EINVAL;
			goto out;
		}
		*eq = '\0';
		key = trim(s);
		if (config_set(cfg, key, trim(eq + 1), why, sizeof why) != TT_OK) {
			snprintf(err, errlen, "config %s line %d: %s", path, lineno, why);
			rc = TT_EINVAL;
			goto out;
		}
	}
out:
	fclose(f);
	return rc;
}

/* Maps "--db" to "db"; NULL when arg is not a known valued flag. */
static const char *flag_key(const char *arg)
{
	static const char *const keys[] = { "listen", "db", "web", "log-level", "ws-per-address",
					    "icecast", "pbkdf2-iterations", "capture-pcm",
					    "archive-dir", "archive-rotate", "archive-keep-days",
					    "tls-cert", "tls-key", "osc-session", "osc-listen" };
	if (strncmp(arg, "--", 2) != 0)
		return NULL;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(arg + 2, keys[i]) == 0)
			return keys[i];
	return NULL;
}

int config_from_args(tt_config *cfg, int argc, char **argv, int *exit_now,
		     char *err, size_t errlen)
{
	*exit_now = 0;
	/* The config file first, so that flags override what it says. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "--config needs a FILE");
				return TT_EINVAL;
			}
			int rc = config_load_file(cfg, argv[i + 1], err, errlen);
			if (rc != TT_OK)
				return rc;
		}
	}
	for (int i = 1; i < argc; i++) {
		const char *key = flag_key(argv[i]);
		if (strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			*exit_now = 1;
			return TT_OK;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("tuttid %s\n", PACKAGE_VERSION);
			*exit_now = 1;
			return TT_OK;
		}
		if (strcmp(argv[i], "--config") == 0) {
			i++;
			continue;
		}
		if (strcmp(argv[i], "--no-demo") == 0) {
			cfg->demo = 0;
			continue;
		}
		if (strcmp(argv[i], "--no-archive") == 0) {
			cfg->archive = 0;
			continue;
		}
		if (!key) {
			snprintf(err, errlen, "unknown option '%s' (see tuttid --help)", argv[i]);
			return TT_EINVAL;
		}
		if (i + 1 >= argc) {
			snprintf(err, errlen, "%s needs a value", argv[i]);
			return TT_EINVAL;
		}
		int rc = config_set(cfg, key, argv[++i], err, errlen);
		if (rc != TT_OK)
			return rc;
	}
	return TT_OK;
}
