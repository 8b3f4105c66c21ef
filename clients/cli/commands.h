/*
 * clients/cli/commands.h: the tutti command's subcommands. Each takes the
 * arguments after "tutti" (argv[0] is the subcommand's name) and returns
 * the process exit status.
 */
#ifndef TT_CLIENTS_CLI_COMMANDS_H
#define TT_CLIENTS_CLI_COMMANDS_H

int cli_query(int argc, char **argv);   /* clients/cli/query.c */
int cli_render(int argc, char **argv);  /* clients/cli/render.c */
int cli_eval(int argc, char **argv);    /* clients/cli/eval.c */
int cli_tail(int argc, char **argv);    /* clients/cli/tail.c */
int cli_listen(int argc, char **argv);  /* clients/cli/listen.c */
int cli_edit(int argc, char **argv);    /* clients/cli/edit.c */
int cli_attach(int argc, char **argv);  /* clients/cli/attach.c */
int cli_login(int argc, char **argv);   /* clients/cli/login.c */
int cli_logout(int argc, char **argv);  /* clients/cli/login.c */
int cli_sessions(int argc, char **argv); /* clients/cli/sessions.c */

#endif
