/*
 * clients/cli/login.c: tutti login and tutti logout.
 *
 *   tutti login --server URL --user NAME [--password-file FILE]
 *   tutti logout --server URL
 *
 * login asks tuttid for an account token (POST /api/login) and stores it
 * for URL (clients/cli/creds.h); the other subcommands then use it when
 * they are given no --token. The password comes from FILE (its first
 * line), else from the terminal with echo off, else, when stdin is not a
 * terminal, from stdin's first line. It is never taken from the command
 * line, where other users could read it in the process list.
 * logout revokes the token on the server (POST /api/logout) and forgets it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "clients/cli/commands.h"
#include "clients/cli/creds.h"
#include "common/error.h"
#include "common/limits.h"

static const char login_usage[] =
	"usage: tutti login --server URL --user NAME [--password-file FILE]\n"
	"  the password is read from FILE, else from the terminal (not echoed),\n"
	"  else from stdin; the token is stored in $XDG_CONFIG_HOME/tutti/credentials\n";
static const char logout_usage[] = "usage: tutti logout --server URL\n";

static int fail(const char *what, const char *why)
{
	fprintf(stderr, "tutti: %s: %s\n", what, why);
	return 1;
}

/* Reads one line (without its newline) from f into buf. */
static int read_line(FILE *f, char *buf, size_t cap)
{
	size_t n;

	if (!fgets(buf, (int)cap, f))
		return TT_EIO;
	n = strlen(buf);
	if (n == cap - 1 && buf[n - 1] != '\n')
		return TT_ELIMIT;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return TT_OK;
}

/* The password from the terminal, echo off, restored whatever happens. */
static int read_tty(const char *user, char *buf, size_t cap)
{
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+");
	int rc;

	if (!tty)
		return TT_EIO;
	fprintf(tty, "password for %s: ", user);
	fflush(tty);
	if (tcgetattr(fileno(tty), &old) != 0) {
		fclose(tty);
		return TT_EIO;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	rc = read_line(tty, buf, cap);
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	return rc;
}

static int read_password(const char *file, const char *user, char *buf, size_t cap)
{
	FILE *f;
	int rc;

	if (file) {
		if (!(f = fopen(file, "r")))
			return fail(file, strerror(errno));
		rc = read_line(f, buf, cap);
		fclose(f);
	} else if (isatty(STDIN_FILENO)) {
		rc = read_tty(user, buf, cap);
	} else {
		rc = read_line(stdin, buf, cap);
	}
	if (rc == TT_ELIMIT)
		return fail("password", "longer than TT_MAX_PASSWORD bytes");
	if (rc != TT_OK || !buf[0])
		return fail("password", "none given");
	return 0;
}

int cli_login(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' }, { "user", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *server = NULL, *user = NULL, *file = NULL, *token, *name;
	char pw[TT_MAX_PASSWORD + 2], err[512], path[4096];
	json_t *body, *reply;
	int o, status, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': server = optarg; break;
		case 'u': user = optarg; break;
		case 'p': file = optarg; break;
		case 'h': fputs(login_usage, stdout); return 0;
		default: fputs(login_usage, stderr); return 2;
		}
	}
	if (!server || !user || optind != argc) {
		fputs(login_usage, stderr);
		return 2;
	}
	if ((rc = read_password(file, user, pw, sizeof pw)) != 0)
		return rc;
	body = json_pack("{s:s,s:s}", "name", user, "password", pw);
	memset(pw, 0, sizeof pw);
	rc = creds_http(server, "POST", "/api/login", body, NULL, &status, &reply, err, sizeof err);
	json_decref(body);
	if (rc != TT_OK)
		return fail(server, err);
	token = json_string_value(json_object_get(reply, "token"));
	name = json_string_value(json_object_get(json_object_get(reply, "account"), "name"));
	if (status != 200 || !token) {
		rc = fail("login", creds_error_message(reply, "the server refused"));
		json_decref(reply);
		return rc;
	}
	if (creds_put(server, token, name ? name : user, err, sizeof err) != TT_OK) {
		json_decref(reply);
		return fail("credentials", err);
	}
	creds_path(path, sizeof path);
	time_t exp = (time_t)(json_integer_value(json_object_get(reply, "expires_at")) / 1000);
	char when[64] = "?";
	strftime(when, sizeof when, "%Y-%m-%d", gmtime(&exp));
	printf("logged in to %s as %s (token stored in %s, valid until %s)\n", server,
	       name ? name : user, path, when);
	json_decref(reply);
	return 0;
}

int cli_logout(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *server = NULL;
	char token[512], err[512];
	json_t *reply = NULL;
	int o, status = 0, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': server = optarg; break;
		case 'h': fputs(logout_usage, stdout); return 0;
		default: fputs(logout_usage, stderr); return 2;
		}
	}
	if (!server || optind != argc) {
		fputs(logout_usage, stderr);
		return 2;
	}
	if (creds_get(server, token, sizeof token, NULL, 0) != TT_OK)
		return fail(server, "not logged in (no stored token)");
	/* Forget it locally whatever the server says: a token the server no
	 * longer knows is of no use either. */
	rc = creds_http(server, "POST", "/api/logout", NULL, token, &status, &reply, err,
			sizeof err);
	memset(token, 0, sizeof token);
	if (creds_remove(server, err, sizeof err) != TT_OK) {
		json_decref(reply);
		return fail("credentials", err);
	}
	if (rc != TT_OK || status != 200) {
		fprintf(stderr, "tutti: logout: forgot the token, but the server did not revoke it: %s\n",
			rc != TT_OK ? err : creds_error_message(reply, "refused"));
		json_decref(reply);
		return 1;
	}
	json_decref(reply);
	printf("logged out of %s\n", server);
	return 0;
}
