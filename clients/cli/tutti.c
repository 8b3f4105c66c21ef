/*
 * clients/cli/tutti.c: the tutti command. Each subcommand lives in its own
 * file (clients/cli/commands.h); this file only dispatches.
 */
#include <stdio.h>
#include <string.h>

#include "clients/cli/commands.h"

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
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
	fprintf(f, "usage: tutti COMMAND [ARGS]   (tutti COMMAND --help for its options)\n\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
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
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "tutti: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
