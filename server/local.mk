# server/: tuttid, the server that composes the libraries.
bin_PROGRAMS += server/tuttid
server_tuttid_SOURCES = server/main.c
