# common/: the error convention and the limits every module shares.
noinst_LIBRARIES += common/libtt_common.a
common_libtt_common_a_SOURCES = common/error.c common/error.h common/heap.h common/limits.h
common_libtt_common_a_SOURCES += common/utf8.c common/utf8.h
