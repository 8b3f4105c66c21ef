/*
 * clients/cli/creds.h: the tutti command's stored logins, and the small
 * HTTP/1.1 client its account subcommands (login, logout, sessions) use.
 *
 * `tutti login` keeps one account token per server in
 * $XDG_CONFIG_HOME/tutti/credentials ($HOME/.config/tutti/credentials when
 * XDG_CONFIG_HOME is unset), mode 0600, one line per server:
 *
 *     SERVER_URL <TAB> TOKEN <TAB> ACCOUNT_NAME
 *
 * SERVER_URL is the --server given, without trailing slashes. The file is
 * rewritten whole (a temporary file renamed over it), so a crash never
 * leaves half a line.
 */
#ifndef TT_CLIENTS_CLI_CREDS_H
#define TT_CLIENTS_CLI_CREDS_H

#include <stddef.h>

#include <jansson.h>

/* The token a subcommand talking to server should send: the one given
 * (--token, or $TUTTI_TOKEN, which each command reads itself) when not
 * NULL, else the one `tutti login` stored for server, else NULL. The
 * result is given back or lives in a static buffer. Every subcommand that
 * joins a session calls this, so they all find a login the same way. */
const char *creds_token(const char *server, const char *given);

/* The credentials file's path into buf; TT_OK or TT_ERANGE/TT_EINVAL
 * (no $HOME). */
int creds_path(char *buf, size_t cap);
/* The stored token (and account name, may be NULL) for server: TT_OK or
 * TT_ENOTFOUND. */
int creds_get(const char *server, char *token, size_t tcap, char *name, size_t ncap);
/* Stores (replacing) server's token; creates the directory (0700) and the
 * file (0600). err says why not. */
int creds_put(const char *server, const char *token, const char *name, char *err, size_t errlen);
/* Removes server's line: TT_OK or TT_ENOTFOUND. */
int creds_remove(const char *server, char *err, size_t errlen);

/* One HTTP request to server (http:// or https://, through wsc_dial, so
 * with the same TLS settings): method path, a JSON body (borrowed; may be
 * NULL), a bearer token (may be NULL). *status gets the HTTP status and
 * *reply the parsed JSON body (a new reference; NULL when it was not
 * JSON). err says why a request could not be made at all. */
int creds_http(const char *server, const char *method, const char *path, json_t *body,
	       const char *token, int *status, json_t **reply, char *err, size_t errlen);

/* The "message" of an error reply {"error": {"message"}}, or fallback. */
const char *creds_error_message(json_t *reply, const char *fallback);

#endif
