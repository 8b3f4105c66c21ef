/* clients/cli/creds.c: see creds.h. */
#include "clients/cli/creds.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clients/cli/wsclient.h"
#include "common/error.h"

/* The credentials file holds a line per server: far below this. */
#define CREDS_MAX_BYTES (256 * 1024)
/* An HTTP answer the account commands read: a session list, an error. */
#define HTTP_MAX_REPLY (4 * 1024 * 1024)
#define HTTP_TIMEOUT_MS 30000

int creds_path(char *buf, size_t cap)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;

	if (xdg && xdg[0] == '/')
		n = snprintf(buf, cap, "%s/tutti/credentials", xdg);
	else if (home && home[0])
		n = snprintf(buf, cap, "%s/.config/tutti/credentials", home);
	else
		return TT_EINVAL;
	return n > 0 && (size_t)n < cap ? TT_OK : TT_ERANGE;
}

/* server without trailing slashes, into key. */
static void server_key(const char *server, char *key, size_t cap)
{
	size_t n;

	snprintf(key, cap, "%s", server);
	n = strlen(key);
	while (n > 0 && key[n - 1] == '/')
		key[--n] = '\0';
}

/* The whole file, NUL-terminated (malloc'd), or NULL (errno ENOENT when
 * there is none). */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(CREDS_MAX_BYTES + 1);
	n = buf ? fread(buf, 1, CREDS_MAX_BYTES, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

int creds_get(const char *server, char *token, size_t tcap, char *name, size_t ncap)
{
	char path[PATH_MAX], key[1024], *text, *line, *save = NULL;
	int rc = TT_ENOTFOUND;

	if (creds_path(path, sizeof path) != TT_OK || !(text = read_file(path)))
		return TT_ENOTFOUND;
	server_key(server, key, sizeof key);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *t1 = strchr(line, '\t'), *t2;
		if (!t1)
			continue;
		*t1 = '\0';
		if (strcmp(line, key) != 0)
			continue;
		t2 = strchr(t1 + 1, '\t');
		if (t2)
			*t2 = '\0';
		snprintf(token, tcap, "%s", t1 + 1);
		if (name)
			snprintf(name, ncap, "%s", t2 ? t2 + 1 : "");
		rc = TT_OK;
	}
	free(text);
	return rc;
}

const char *creds_token(const char *server, const char *given)
{
	static char token[512];

	if (given)
		return given;
	if (server && creds_get(server, token, sizeof token, NULL, 0) == TT_OK && token[0])
		return token;
	return NULL;
}

/* Creates the directories above path, each 0700 (it holds secrets). */
static int make_dirs(const char *path)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof dir, "%s", path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return TT_EIO;
		*p = '/';
	}
	return TT_OK;
}

/* Rewrites the file without key's line, plus (when token) its new one. */
static int rewrite(const char *server, const char *token, const char *name, int *found,
		   char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], key[1024], *text, *line, *save = NULL;
	FILE *f;
	int fd, bad = 0;

	*found = 0;
	if (creds_path(path, sizeof path) != TT_OK) {
		snprintf(err, errlen, "neither XDG_CONFIG_HOME nor HOME is set");
		return TT_EINVAL;
	}
	if (make_dirs(path) != TT_OK) {
		snprintf(err, errlen, "cannot create the directory of %s: %s", path, strerror(errno));
		return TT_EIO;
	}
	server_key(server, key, sizeof key);
	snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0 || fchmod(fd, 0600) != 0 || !(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return TT_EIO;
	}
	text = read_file(path);
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t k = strlen(key);
		if (strncmp(line, key, k) == 0 && line[k] == '\t') {
			*found = 1;
			continue;
		}
		bad |= fprintf(f, "%s\n", line) < 0;
	}
	free(text);
	if (token)
		bad |= fprintf(f, "%s\t%s\t%s\n", key, token, name ? name : "") < 0;
	bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
	bad |= fclose(f) != 0;
	if (bad || rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return TT_EIO;
	}
	return TT_OK;
}

int creds_put(const char *server, const char *token, const char *name, char *err, size_t errlen)
{
	int found;

	if (strpbrk(server, "\t\n") || strpbrk(token, "\t\n") || (name && strpbrk(name, "\t\n"))) {
		snprintf(err, errlen, "a server, token or name with a tab or newline");
		return TT_EINVAL;
	}
	return rewrite(server, token, name, &found, err, errlen);
}

int creds_remove(const char *server, char *err, size_t errlen)
{
	int found = 0, rc = rewrite(server, NULL, NULL, &found, err, errlen);

	if (rc == TT_OK && !found) {
		snprintf(err, errlen, "no login stored for %s", server);
		return TT_ENOTFOUND;
	}
	return rc;
}

const char *creds_error_message(json_t *reply, const char *fallback)
{
	const char *m = json_string_value(json_object_get(json_object_get(reply, "error"),
							  "message"));
	return m ? m : fallback;
}

/* Sends the request and reads the whole answer into *out (malloc'd). */
static int exchange(wsc_link *l, const char *head, const char *body, size_t blen, char **out,
		    size_t *n, char *err, size_t errlen)
{
	size_t cap = 16384, got;
	char *buf;
	int rc;

	if (wsc_link_send(l, head, strlen(head)) != TT_OK ||
	    (blen && wsc_link_send(l, body, blen) != TT_OK)) {
		snprintf(err, errlen, "the server closed the connection while we sent");
		return TT_EIO;
	}
	if (!(buf = malloc(cap + 1)))
		return TT_ENOMEM;
	*n = 0;
	for (;;) {
		if (*n == cap) {
			char *b = cap >= HTTP_MAX_REPLY ? NULL : realloc(buf, cap * 2 + 1);
			if (!b) {
				free(buf);
				snprintf(err, errlen, "the answer is larger than %d bytes", HTTP_MAX_REPLY);
				return TT_ELIMIT;
			}
			buf = b;
			cap *= 2;
		}
		rc = wsc_link_recv(l, buf + *n, cap - *n, HTTP_TIMEOUT_MS, &got);
		if (rc == TT_ECLOSED)
			break;
		if (rc != TT_OK) {
			free(buf);
			snprintf(err, errlen, rc == TT_EAGAIN ? "no answer within %d s"
				 : "the connection failed", HTTP_TIMEOUT_MS / 1000);
			return rc;
		}
		*n += got;
	}
	buf[*n] = '\0';
	*out = buf;
	return TT_OK;
}

int creds_http(const char *server, const char *method, const char *path, json_t *body,
	       const char *token, int *status, json_t **reply, char *err, size_t errlen)
{
	char host[256], port[16], head[2048], auth[600] = "";
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL, *answer = NULL, *sep;
	size_t blen = text ? strlen(text) : 0, n = 0;
	wsc_link *l;
	int rc, k;

	*reply = NULL;
	*status = 0;
	if (token)
		snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
	if (!(l = wsc_dial(server, host, sizeof host, port, sizeof port, err, errlen))) {
		free(text);
		return TT_EIO;
	}
	k = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n"
		     "Accept: application/json\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\n%s\r\n", method, path, host, port, blen, auth);
	if (k < 0 || (size_t)k >= sizeof head) {
		snprintf(err, errlen, "the request is too long");
		rc = TT_ERANGE;
	} else {
		rc = exchange(l, head, text, blen, &answer, &n, err, errlen);
	}
	wsc_link_close(l);
	free(text);
	if (rc != TT_OK)
		return rc;
	if (sscanf(answer, "HTTP/1.%*d %d", status) != 1 || !(sep = strstr(answer, "\r\n\r\n"))) {
		snprintf(err, errlen, "the answer is not HTTP");
		free(answer);
		return TT_EPROTO;
	}
	*reply = json_loads(sep + 4, 0, NULL);
	free(answer);
	return TT_OK;
}
