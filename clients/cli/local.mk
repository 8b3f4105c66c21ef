# clients/cli/: the tutti command-line tool.
bin_PROGRAMS += clients/cli/tutti
clients_cli_tutti_SOURCES = clients/cli/tutti.c
