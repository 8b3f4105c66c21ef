# bench/: fan-out and latency of the live streams (issue 5, item 8).
# bench/fanout.sh drives fanout_client (N HTTP listeners in one epoll loop)
# against tuttid and Icecast; bench/latency.sh runs latency.py. Neither is
# a test (they measure); fanout_client_test.py checks the client's counts.
noinst_PROGRAMS += bench/fanout_client
bench_fanout_client_SOURCES = bench/fanout_client.c
bench_fanout_client_LDADD = $(MBEDTLS_LIBS)
TESTS += bench/fanout_client_test.py
EXTRA_DIST += bench/fanout.sh bench/latency.sh bench/latency.py bench/icecast_source.py \
	bench/stream_lib.sh bench/fanout_client_test.py
EXTRA_DIST += bench/replay
# bench/reliability.sh: soak, chaos and overload of tests/load/ in full (issue 11).
EXTRA_DIST += bench/reliability.sh
