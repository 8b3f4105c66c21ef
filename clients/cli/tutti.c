/*
 * clients/cli/tutti.c: the tutti command. Each subcommand lives in its own
 * file (clients/cli/commands.h); this file only dispatches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/cli/commands.h"
#include "clients/cli/wsclient.h"

typedef struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} command;

static const command commands[] = {
	{ "query", cli_query, "print the events code makes (JSON lines): tutti query --cycles N < code" },
	{ "render", cli_render, "render code to a WAV or Ogg Opus file" },
	{ "eval", cli_eval, "put a file into a session's document and evaluate it" },
	{ "tail", cli_tail, "print what happens in a session, a line per event" },
	{ "listen", cli_listen, "record a session's stream to an Ogg Opus file" },
	{ "edit", cli_edit, "keep a local file and a shared document the same, both ways" },
	{ "attach", cli_attach, "a JSON-lines pipe to a session, for editor plugins" },
	{ "login", cli_login, "log in to a server; later commands use the stored token" },
	{ "logout", cli_logout, "revoke and forget the stored token of a server" },
	{ "sessions", cli_sessions, "list a server's sessions" },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
	fprintf(f, "usage: tutti COMMAND [ARGS]   (tutti COMMAND --help for its options)\n\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nWith an https:// or wss:// --server, every command also takes:\n"
		"  --cacert FILE   trust the CAs in FILE (default: $TUTTI_CACERT, else %s)\n"
		"  --insecure      do not check the server's certificate\n", WSC_DEFAULT_CACERT);
}

/* Takes --cacert FILE (or --cacert=FILE) and --insecure out of argv,
 * wherever they are, for the connection code (clients/cli/wsclient.h):
 * every command that connects then understands them. Returns the new
 * argc, or -1 when --cacert has no FILE. */
static int take_tls_options(int argc, char **argv)
{
	const char *cacert = getenv("TUTTI_CACERT");
	int insecure = 0, n = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				argv[n++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--insecure") == 0) {
			insecure = 1;
		} else if (strncmp(argv[i], "--cacert=", 9) == 0) {
			cacert = argv[i] + 9;
		} else if (strcmp(argv[i], "--cacert") == 0) {
			if (i + 1 >= argc)
				return -1;
			cacert = argv[++i];
		} else {
			argv[n++] = argv[i];
		}
	}
	argv[n] = NULL;
	wsc_set_tls(cacert, insecure);
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("tutti %s\n", PACKAGE_VERSION);
		return 0;
	}
	if ((argc = take_tls_options(argc, argv)) < 2) {
		fprintf(stderr, "tutti: --cacert needs a FILE\n");
		return 2;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "tutti: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
