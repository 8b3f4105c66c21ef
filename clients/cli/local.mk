# clients/cli/: the tutti command-line tool.
bin_PROGRAMS += clients/cli/tutti
clients_cli_tutti_SOURCES = clients/cli/tutti.c clients/cli/commands.h \
	clients/cli/query.c clients/cli/query.h \
	clients/cli/render.c \
	clients/cli/eval.c clients/cli/tail.c clients/cli/listen.c clients/cli/edit.c clients/cli/attach.c \
	clients/cli/wsclient.c clients/cli/wsclient.h \
	clients/cli/creds.c clients/cli/creds.h clients/cli/login.c clients/cli/sessions.c
clients_cli_tutti_CPPFLAGS = $(AM_CPPFLAGS) $(SQLITE_CFLAGS) $(JANSSON_CFLAGS) $(OPUS_CFLAGS) $(SNDFILE_CFLAGS)
clients_cli_tutti_LDADD = server/libtt_replay.a storage/libtt_storage.a engine/libtt_synth.a engine/libtt_pattern.a codec/libtt_codec.a \
	collab/libtt_collab.a \
	server/libtt_ws.a common/libtt_common.a \
	$(JANSSON_LIBS) $(OPUS_LIBS) $(SNDFILE_LIBS) $(MBEDTLS_LIBS) $(SQLITE_LIBS) -lm
