# server/: tuttid, the server that composes the libraries.
bin_PROGRAMS += server/tuttid
server_tuttid_SOURCES = \
	server/main.c server/app.h \
	server/config.c server/config.h \
	server/log.c server/log.h \
	server/http.c server/http.h \
	server/api.c server/api.h \
	server/static.c server/static.h \
	server/loop.c server/loop.h \
	server/ws_conn.c server/ws_conn.h \
	server/rpc.c server/rpc.h \
	server/session.c server/session.h \
	server/editing.c server/editing.h \
	server/writer.c server/writer.h \
	server/spsc.h \
	server/tracks.c server/tracks.h \
	server/live.c server/live.h \
	server/hub.c server/hub.h \
	server/listen.c server/listen.h \
	server/evaluate.c server/evaluate.h \
	server/demo.c server/demo.h \
	server/auth.c server/auth.h \
	server/history.c server/history.h \
	server/icecast.c server/icecast.h
server_tuttid_CPPFLAGS = $(AM_CPPFLAGS) $(MHD_CFLAGS) $(JANSSON_CFLAGS) $(SQLITE_CFLAGS) \
	$(OPUS_CFLAGS) $(SNDFILE_CFLAGS) $(SHOUT_CFLAGS)
server_tuttid_LDADD = server/libtt_ws.a collab/libtt_collab.a storage/libtt_storage.a \
	engine/libtt_synth.a engine/libtt_pattern.a codec/libtt_codec.a common/libtt_common.a \
	$(MHD_LIBS) $(JANSSON_LIBS) $(SQLITE_LIBS) $(MBEDTLS_LIBS) $(OPUS_LIBS) $(SNDFILE_LIBS) \
	$(SHOUT_LIBS) -lm

# A debug build's tuttid carries the render-thread guard's hooks: malloc,
# free or a lock on a render thread while it renders aborts the server,
# naming the call (engine/rtguard.h). Run the suite on such a build to
# prove the render path clean.
if DEBUG
server_tuttid_SOURCES += engine/rtguard.c
server_tuttid_CPPFLAGS += -DRTGUARD_HOOKS
endif
