# server/: tuttid, the server that composes the libraries.

# Track tables and exact replay: shared by tuttid (live and the render
# routes) and `tutti render --db` (server/replay.h).
noinst_LIBRARIES += server/libtt_replay.a
server_libtt_replay_a_SOURCES = \
	server/tracks.c server/tracks.h \
	server/restore.c server/restore.h \
	server/control.c server/control.h \
	server/replay.c server/replay.h \
	server/osc_event.c server/osc_event.h
server_libtt_replay_a_CPPFLAGS = $(AM_CPPFLAGS) $(SQLITE_CFLAGS) $(JANSSON_CFLAGS)
bin_PROGRAMS += server/tuttid
server_tuttid_SOURCES = \
	server/main.c server/app.h \
	server/config.c server/config.h \
	server/log.c server/log.h \
	server/http.c server/http.h \
	server/http_guard.c server/http_guard.h \
	server/tls.c server/tls.h server/tls_gcm.c server/tls_gcm.h \
	server/api.c server/api.h \
	server/static.c server/static.h \
	server/loop.c server/loop.h \
	server/ws_conn.c server/ws_conn.h \
	server/rpc.c server/rpc.h \
	server/session.c server/session.h \
	server/editing.c server/editing.h \
	server/writer.c server/writer.h \
	server/spsc.h \
	server/live.c server/live.h \
	server/live_direct.c server/live_direct.h \
	server/osc.c server/osc.h \
	server/hub.c server/hub.h \
	server/archive.c server/archive.h \
	server/listen.c server/listen.h \
	server/evaluate.c server/evaluate.h \
	server/demo.c server/demo.h \
	server/auth.c server/auth.h \
	server/accounts.c server/accounts.h server/password.c server/password.h \
	server/backup.c server/backup.h server/metrics.c server/metrics.h \
	server/history.c server/history.h \
	server/export.c server/export.h \
	server/icecast.c server/icecast.h
server_tuttid_CPPFLAGS = $(AM_CPPFLAGS) $(MHD_CFLAGS) $(JANSSON_CFLAGS) $(SQLITE_CFLAGS) \
	$(OPUS_CFLAGS) $(SNDFILE_CFLAGS) $(SHOUT_CFLAGS) $(LO_CFLAGS)
server_tuttid_LDADD = server/libtt_replay.a server/libtt_ws.a collab/libtt_collab.a \
	storage/libtt_storage.a \
	engine/libtt_synth.a engine/libtt_pattern.a codec/libtt_codec.a common/libtt_common.a \
	$(MHD_LIBS) $(JANSSON_LIBS) $(SQLITE_LIBS) $(MBEDTLS_LIBS) $(OPUS_LIBS) $(SNDFILE_LIBS) \
	$(SHOUT_LIBS) $(LO_LIBS) -lm
# make install puts the web client here; tuttid's default --web outside a
# source tree (server/config.c).
server_tuttid_CPPFLAGS += -DTT_WEB_INSTALL_DIR='"$(pkgdatadir)/web"'

# A debug build's tuttid carries the render-thread guard's hooks: malloc,
# free or a lock on a render thread while it renders aborts the server,
# naming the call (engine/rtguard.h). Run the suite on such a build to
# prove the render path clean.
if DEBUG
server_tuttid_SOURCES += engine/rtguard.c
server_tuttid_CPPFLAGS += -DRTGUARD_HOOKS
endif

# The PBKDF2 wrapper against published known answers (server/password.c).
check_PROGRAMS += tests/server/test_password
TESTS += tests/server/test_password
tests_server_test_password_SOURCES = tests/server/test_password.c tests/tap.h \
	server/password.c server/password.h
tests_server_test_password_LDADD = common/libtt_common.a $(MBEDTLS_LIBS)
server_tuttid_SOURCES += server/replay_http.c server/replay_http.h

# The writer hands every batch back, also at shutdown (server/writer.c).
check_PROGRAMS += tests/server/test_writer
TESTS += tests/server/test_writer
tests_server_test_writer_SOURCES = tests/server/test_writer.c tests/tap.h \
	server/writer.c server/writer.h server/loop.c server/loop.h server/log.c server/log.h
tests_server_test_writer_CPPFLAGS = $(AM_CPPFLAGS) $(SQLITE_CFLAGS)
tests_server_test_writer_LDADD = storage/libtt_storage.a common/libtt_common.a $(SQLITE_LIBS) -lm

# The loop's task queue, with malloc failing (server/loop.c).
check_PROGRAMS += tests/server/test_loop
TESTS += tests/server/test_loop
tests_server_test_loop_SOURCES = tests/server/test_loop.c tests/tap.h \
	server/loop.c server/loop.h server/log.c server/log.h
tests_server_test_loop_LDFLAGS = -Wl,--wrap=malloc
tests_server_test_loop_LDADD = common/libtt_common.a

# The TLS front's AES-GCM against mbedTLS's (server/tls_gcm.c).
check_PROGRAMS += tests/server/test_tls_gcm
TESTS += tests/server/test_tls_gcm
tests_server_test_tls_gcm_SOURCES = tests/server/test_tls_gcm.c tests/tap.h \
	server/tls_gcm.c server/tls_gcm.h
tests_server_test_tls_gcm_LDADD = $(MBEDTLS_LIBS)

# SuperDirt's /dirt/play to direct events, and their JSON (tests/server/osc.py
# runs the whole path against the real tuttid).
check_PROGRAMS += tests/server/test_osc_event
TESTS += tests/server/test_osc_event
tests_server_test_osc_event_SOURCES = tests/server/test_osc_event.c tests/tap.h \
	server/osc_event.c server/osc_event.h
tests_server_test_osc_event_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
tests_server_test_osc_event_LDADD = engine/libtt_synth.a common/libtt_common.a $(JANSSON_LIBS) -lm
