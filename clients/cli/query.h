/*
 * clients/cli/query.h: `tutti query`, the pattern language from the
 * command line (code on stdin, events as JSON lines on stdout).
 */
#ifndef TT_CLIENTS_CLI_QUERY_H
#define TT_CLIENTS_CLI_QUERY_H

/* argv[0] is "query"; returns the process exit status. */
int cli_query(int argc, char **argv);

#endif
