/* server/config.c: see config.h. */
#include "server/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"

#define DEFAULT_LISTEN_HOST "127.0.0.1"
#define DEFAULT_LISTEN_PORT 8080
#define DEFAULT_DB_PATH "./var/tutti.db"
#define DEFAULT_WEB_DIR "./clients/web/dist"

static const char usage[] =
	"usage: tuttid [options]\n"
	"  --listen HOST:PORT   address to serve on (default 127.0.0.1:8080;\n"
	"                       port 0 picks a free one and logs it)\n"
	"  --db PATH            SQLite database, created and migrated on first\n"
	"                       start (default ./var/tutti.db)\n"
	"  --web DIR            static files of the web client\n"
	"                       (default ./clients/web/dist)\n"
	"  --log-level LEVEL    error, warn, info or debug (default info)\n"
	"  --no-demo            do not create the demo session on a first start\n"
	"  --icecast ID=URL     feed session ID to an Icecast 2 server as a source:\n"
	"                       URL is http://source:PASSWORD@HOST:PORT/MOUNT\n"
	"  --ws-per-address N   WebSocket connections one address may hold\n"
	"                       (default 64; a load test on loopback needs more)\n"
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
	snprintf(cfg->web_dir, sizeof cfg->web_dir, "%s", DEFAULT_WEB_DIR);
	cfg->level = LOG_INFO;
	cfg->demo = 1;
	cfg->ws_per_address = TT_MAX_WS_PER_ADDRESS;
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
	if (strcmp(key, "demo") == 0) {
		if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0) {
			cfg->demo = strcmp(value, "yes") == 0;
			return TT_OK;
		}
		snprintf(err, errlen, "demo: '%s' is not yes or no", value);
		return TT_EINVAL;
	}
	snprintf(err, errlen, "unknown setting '%s' (known: listen, db, web, log-level, demo, ws-per-address, icecast)", key);
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
					    "icecast" };
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
