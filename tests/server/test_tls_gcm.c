/*
 * tests/server/test_tls_gcm.c: the TLS front's AES-GCM (server/tls_gcm.c)
 * against mbedTLS's GCM: AES-128 and AES-256, every length 0..600 and a
 * full record, with random keys, nonces and additional data of 0..40
 * bytes; two known answers of the GCM specification (McGrew and Viega,
 * test cases 1 and 2); and a sealed record's framing (header, explicit
 * nonce, and the tag over sequence number, type, version and length, as
 * RFC 5246 6.2.3.3 builds it). The real TLS clients of tls.py decrypt
 * what tuttid seals.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/gcm.h>

#include "server/tls_gcm.h"
#include "tests/tap.h"

#define BIG 16384

static uint64_t rng = 0x9e3779b97f4a7c15u;

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		p[i] = (uint8_t)rng;
	}
}

static int from_hex(const char *h, uint8_t *out)
{
	int n = 0;
	for (; h[0] && h[1]; h += 2)
		out[n++] = (uint8_t)strtol((char[3]){ h[0], h[1], 0 }, NULL, 16);
	return n;
}

/* Ours against mbedTLS for one case; 1 when ciphertext and tag agree. */
static int same(size_t keylen, size_t n, size_t aad_len, uint8_t *in, uint8_t *a, uint8_t *b)
{
	uint8_t key[32], nonce[12], aad[40], salt[4] = { 0 }, ta[16], tb[16];
	mbedtls_gcm_context ref;
	tls_gcm g;
	int rc;

	fill(key, keylen);
	fill(nonce, sizeof nonce);
	fill(aad, aad_len);
	fill(in, n);
	tls_gcm_init(&g, key, keylen, salt);
	tls_gcm_encrypt(&g, nonce, aad, aad_len, in, n, a, ta);
	mbedtls_gcm_init(&ref);
	rc = mbedtls_gcm_setkey(&ref, MBEDTLS_CIPHER_ID_AES, key, (unsigned)keylen * 8);
	if (rc == 0)
		rc = mbedtls_gcm_crypt_and_tag(&ref, MBEDTLS_GCM_ENCRYPT, n, nonce, sizeof nonce, aad,
					       aad_len, in, b, sizeof tb, tb);
	mbedtls_gcm_free(&ref);
	tls_gcm_wipe(&g);
	return rc == 0 && memcmp(a, b, n) == 0 && memcmp(ta, tb, 16) == 0;
}

static void lengths(size_t keylen, uint8_t *in, uint8_t *a, uint8_t *b)
{
	size_t bad = 0, first = 0, cases = 0;

	for (size_t n = 0; n <= 600; n++, cases++)
		if (!same(keylen, n, n % 41, in, a, b) && bad++ == 0)
			first = n;
	for (size_t n = BIG - 1; n <= BIG; n++, cases++)
		if (!same(keylen, n, 13, in, a, b) && bad++ == 0)
			first = n;
	ok(bad == 0, "AES-%zu-GCM: ciphertext and tag equal mbedTLS's for %zu lengths "
	   "(%zu differ, the first at %zu bytes)", keylen * 8, cases, bad, first);
}

static void known_answers(void)
{
	uint8_t key[16] = { 0 }, nonce[12] = { 0 }, salt[4] = { 0 }, zero[16] = { 0 };
	uint8_t out[16], tag[16], want[32];
	tls_gcm g;

	tls_gcm_init(&g, key, sizeof key, salt);
	tls_gcm_encrypt(&g, nonce, NULL, 0, NULL, 0, out, tag);
	from_hex("58e2fccefa7e3061367f1d57a4e7455a", want);
	ok(memcmp(tag, want, 16) == 0, "GCM test case 1: the tag of nothing under a zero key");
	tls_gcm_encrypt(&g, nonce, NULL, 0, zero, sizeof zero, out, tag);
	from_hex("0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf", want);
	ok(memcmp(out, want, 16) == 0 && memcmp(tag, want + 16, 16) == 0,
	   "GCM test case 2: one zero block under a zero key");
}

static void record(uint8_t *in, uint8_t *a, uint8_t *b)
{
	uint8_t key[16], salt[4], seq[8], nonce[12], aad[13], tag[16];
	size_t n = 1000, len;
	tls_gcm g;

	fill(key, sizeof key);
	fill(salt, sizeof salt);
	fill(seq, sizeof seq);
	fill(in, n);
	tls_gcm_init(&g, key, sizeof key, salt);
	len = tls_gcm_seal(&g, seq, 23, in, n, a);
	memcpy(nonce, salt, 4);
	memcpy(nonce + 4, seq, 8);
	memcpy(aad, seq, 8);
	aad[8] = 23;
	aad[9] = 3;
	aad[10] = 3;
	aad[11] = (uint8_t)(n >> 8);
	aad[12] = (uint8_t)n;
	tls_gcm_encrypt(&g, nonce, aad, sizeof aad, in, n, b, tag);
	is_int((long long)len, (long long)(n + TLS_GCM_OVERHEAD), "a sealed record is its "
	       "plaintext and %d bytes", TLS_GCM_OVERHEAD);
	ok(a[0] == 23 && a[1] == 3 && a[2] == 3 && (a[3] << 8 | a[4]) == (int)(n + 24),
	   "its header: application data, TLS 1.2, the length of nonce, ciphertext and tag");
	ok(memcmp(a + 5, seq, 8) == 0, "its explicit nonce is the sequence number");
	ok(memcmp(a + 13, b, n) == 0 && memcmp(a + 13 + n, tag, 16) == 0,
	   "ciphertext and tag: GCM under salt || sequence, over sequence, type, version, length");
	tls_gcm_wipe(&g);
}

int main(void)
{
	uint8_t *in = malloc(BIG), *a = malloc(BIG + TLS_GCM_OVERHEAD), *b = malloc(BIG);

	if (!in || !a || !b)
		return 1;
	if (!tls_gcm_available()) {
		printf("1..0 # SKIP this processor lacks AES-NI, PCLMULQDQ or SSE4.1\n");
		return 0;
	}
	known_answers();
	lengths(16, in, a, b);
	lengths(32, in, a, b);
	record(in, a, b);
	free(in);
	free(a);
	free(b);
	return tap_done();
}
