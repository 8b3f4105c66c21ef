# storage/: tutti's SQLite store (docs/storage.md).
noinst_LIBRARIES += storage/libtt_storage.a
storage_libtt_storage_a_SOURCES = \
	storage/store.c storage/store.h storage/store_int.h \
	storage/schema.c storage/store_session.c storage/store_op.c \
	storage/store_eval.c storage/store_token.c storage/store_chat.c \
	storage/store_direct.c \
	storage/store_export.c storage/store_export.h \
	storage/store_account.c \
	storage/store_run.c storage/store_archive.c
storage_libtt_storage_a_CPPFLAGS = $(AM_CPPFLAGS) $(SQLITE_CFLAGS)

STORAGE_TEST_LDADD = storage/libtt_storage.a common/libtt_common.a \
	$(SQLITE_LIBS) -lm

check_PROGRAMS += tests/storage/test_store tests/storage/test_store_crash
TESTS += tests/storage/test_store tests/storage/test_store_crash
tests_storage_test_store_SOURCES = tests/storage/test_store.c
tests_storage_test_store_CPPFLAGS = $(AM_CPPFLAGS) $(SQLITE_CFLAGS)
tests_storage_test_store_LDADD = $(STORAGE_TEST_LDADD)
tests_storage_test_store_crash_SOURCES = tests/storage/test_store_crash.c
tests_storage_test_store_crash_CPPFLAGS = $(AM_CPPFLAGS) $(SQLITE_CFLAGS)
tests_storage_test_store_crash_LDADD = $(STORAGE_TEST_LDADD)
