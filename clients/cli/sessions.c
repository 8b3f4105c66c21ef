/*
 * clients/cli/sessions.c: tutti sessions --server URL [--token T] [--json]
 *
 * Lists the server's sessions (GET /api/sessions), newest first, a line
 * each: id, whether listening is public or token-only, name. The API does
 * not report listener or performer counts per session, so neither does
 * this. --json prints the server's answer as it came.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "clients/cli/commands.h"
#include "clients/cli/creds.h"
#include "common/error.h"

static const char usage[] = "usage: tutti sessions --server URL [--token T] [--json]\n";

int cli_sessions(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' }, { "token", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *server = NULL, *token = getenv("TUTTI_TOKEN");
	char err[512];
	json_t *reply, *list, *s;
	int o, status, as_json = 0;
	size_t i;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': server = optarg; break;
		case 't': token = optarg; break;
		case 'j': as_json = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!server || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	token = creds_token(server, token);
	if (creds_http(server, "GET", "/api/sessions", NULL, token, &status, &reply, err,
		       sizeof err) != TT_OK) {
		fprintf(stderr, "tutti: %s: %s\n", server, err);
		return 1;
	}
	list = json_object_get(reply, "sessions");
	if (status != 200 || !json_is_array(list)) {
		fprintf(stderr, "tutti: sessions: %s\n", creds_error_message(reply, "unexpected answer"));
		json_decref(reply);
		return 1;
	}
	if (as_json) {
		json_dumpf(reply, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		json_array_foreach(list, i, s)
			printf("%s  %-6s  %s\n", json_string_value(json_object_get(s, "id")),
			       json_string_value(json_object_get(s, "listen")),
			       json_string_value(json_object_get(s, "name")));
	}
	json_decref(reply);
	return 0;
}
