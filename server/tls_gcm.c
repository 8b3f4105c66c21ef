/*
 * server/tls_gcm.c: AES-GCM with AES-NI and PCLMULQDQ (see tls_gcm.h).
 *
 * GHASH works on byte-reversed blocks, so that a block is a 128-bit
 * integer whose bit order matches the carry-less multiply; the product of
 * two such bit-reflected values comes out shifted right by one, which
 * reduce() puts right before reducing modulo x^128 + x^7 + x^2 + x + 1
 * (Gueron and Kounavis, "Intel Carry-Less Multiplication Instruction and
 * its Usage for Computing the GCM Mode", algorithms 2 to 5). Both the
 * shift and the reduction are linear, so four products can be summed
 * before one of each: X' = (X + B1)H^4 + B2 H^3 + B3 H^2 + B4 H.
 *
 * Checked against mbedTLS's own GCM for every length 0..600 and random
 * keys, nonces and additional data (tests/server/test_tls_gcm.c), and by
 * the real TLS clients of tests/server/tls.py, which decrypt its records.
 */
#include "server/tls_gcm.h"

#include <string.h>

#include <mbedtls/platform_util.h>

#if defined(__x86_64__) || defined(__i386__)

#include <cpuid.h>
#include <immintrin.h>

#define TARGET __attribute__((target("aes,pclmul,sse4.1")))

int tls_gcm_available(void)
{
	static int known = -1;
	unsigned a, b, c, d;

	if (known < 0)
		known = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_AES) && (c & bit_PCLMUL) &&
			(c & bit_SSE4_1);
	return known;
}

TARGET static inline __m128i bswap128(__m128i x)
{
	return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
						14, 15));
}

TARGET static inline __m128i ld(const uint8_t *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

TARGET static inline void st(uint8_t *p, __m128i x)
{
	_mm_storeu_si128((__m128i *)(void *)p, x);
}

/* ---- AES ---- */

TARGET static inline __m128i spread(__m128i k)
{
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	return _mm_xor_si128(k, _mm_slli_si128(k, 4));
}

#define NEXT128(k, rcon) _mm_xor_si128(spread(k), _mm_shuffle_epi32( \
	_mm_aeskeygenassist_si128((k), (rcon)), 0xff))

TARGET static void expand128(__m128i *rk, const uint8_t *key)
{
	rk[0] = ld(key);
	rk[1] = NEXT128(rk[0], 0x01);
	rk[2] = NEXT128(rk[1], 0x02);
	rk[3] = NEXT128(rk[2], 0x04);
	rk[4] = NEXT128(rk[3], 0x08);
	rk[5] = NEXT128(rk[4], 0x10);
	rk[6] = NEXT128(rk[5], 0x20);
	rk[7] = NEXT128(rk[6], 0x40);
	rk[8] = NEXT128(rk[7], 0x80);
	rk[9] = NEXT128(rk[8], 0x1b);
	rk[10] = NEXT128(rk[9], 0x36);
}

/* AES-256: even round keys take the rotated, substituted last word of
 * the key before (with rcon), odd ones the substituted word alone. */
#define EVEN256(a, b, rcon) _mm_xor_si128(spread(a), _mm_shuffle_epi32( \
	_mm_aeskeygenassist_si128((b), (rcon)), 0xff))
#define ODD256(a, b) _mm_xor_si128(spread(a), _mm_shuffle_epi32( \
	_mm_aeskeygenassist_si128((b), 0), 0xaa))

TARGET static void expand256(__m128i *rk, const uint8_t *key)
{
	rk[0] = ld(key);
	rk[1] = ld(key + 16);
	rk[2] = EVEN256(rk[0], rk[1], 0x01);
	rk[3] = ODD256(rk[1], rk[2]);
	rk[4] = EVEN256(rk[2], rk[3], 0x02);
	rk[5] = ODD256(rk[3], rk[4]);
	rk[6] = EVEN256(rk[4], rk[5], 0x04);
	rk[7] = ODD256(rk[5], rk[6]);
	rk[8] = EVEN256(rk[6], rk[7], 0x08);
	rk[9] = ODD256(rk[7], rk[8]);
	rk[10] = EVEN256(rk[8], rk[9], 0x10);
	rk[11] = ODD256(rk[9], rk[10]);
	rk[12] = EVEN256(rk[10], rk[11], 0x20);
	rk[13] = ODD256(rk[11], rk[12]);
	rk[14] = EVEN256(rk[12], rk[13], 0x40);
}

TARGET static inline __m128i aes(const tls_gcm *g, __m128i x)
{
	x = _mm_xor_si128(x, ld(g->rk[0]));
	for (int r = 1; r < g->rounds; r++)
		x = _mm_aesenc_si128(x, ld(g->rk[r]));
	return _mm_aesenclast_si128(x, ld(g->rk[g->rounds]));
}

/* Counter block ctr of nonce (its last four bytes big-endian). */
TARGET static inline __m128i counter(__m128i base, uint32_t ctr)
{
	return _mm_insert_epi32(base, (int)__builtin_bswap32(ctr), 3);
}

/* CTR mode from counter ctr: out = in ^ keystream, n bytes. */
TARGET static void ctr_xor(const tls_gcm *g, __m128i base, uint32_t ctr, const uint8_t *in,
			   uint8_t *out, size_t n)
{
	__m128i rk[15];
	int nr = g->rounds;

	for (int r = 0; r <= nr; r++)
		rk[r] = ld(g->rk[r]);
	while (n >= 128) {
		__m128i b[8];
		for (int k = 0; k < 8; k++)
			b[k] = _mm_xor_si128(counter(base, ctr + (uint32_t)k), rk[0]);
		for (int r = 1; r < nr; r++)
			for (int k = 0; k < 8; k++)
				b[k] = _mm_aesenc_si128(b[k], rk[r]);
		for (int k = 0; k < 8; k++) {
			b[k] = _mm_aesenclast_si128(b[k], rk[nr]);
			st(out + 16 * k, _mm_xor_si128(b[k], ld(in + 16 * k)));
		}
		ctr += 8;
		in += 128;
		out += 128;
		n -= 128;
	}
	while (n >= 16) {
		st(out, _mm_xor_si128(aes(g, counter(base, ctr++)), ld(in)));
		in += 16;
		out += 16;
		n -= 16;
	}
	if (n) {
		uint8_t ks[16];
		st(ks, aes(g, counter(base, ctr)));
		for (size_t i = 0; i < n; i++)
			out[i] = in[i] ^ ks[i];
	}
}

/* ---- GHASH ---- */

/* The 256-bit carry-less product of a and b, as lo and hi halves. */
TARGET static inline void clmul(__m128i a, __m128i b, __m128i *lo, __m128i *hi)
{
	__m128i ll = _mm_clmulepi64_si128(a, b, 0x00);
	__m128i mid = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x10),
				    _mm_clmulepi64_si128(a, b, 0x01));
	__m128i hh = _mm_clmulepi64_si128(a, b, 0x11);

	*lo = _mm_xor_si128(ll, _mm_slli_si128(mid, 8));
	*hi = _mm_xor_si128(hh, _mm_srli_si128(mid, 8));
}

/* A (sum of) product(s) of bit-reflected values, shifted left by one and
 * reduced modulo the GCM polynomial. */
TARGET static inline __m128i reduce(__m128i lo, __m128i hi)
{
	__m128i clo = _mm_srli_epi32(lo, 31), chi = _mm_srli_epi32(hi, 31);
	__m128i top = _mm_srli_si128(clo, 12), a, b;

	lo = _mm_or_si128(_mm_slli_epi32(lo, 1), _mm_slli_si128(clo, 4));
	hi = _mm_or_si128(_mm_or_si128(_mm_slli_epi32(hi, 1), _mm_slli_si128(chi, 4)), top);
	a = _mm_xor_si128(_mm_xor_si128(_mm_slli_epi32(lo, 31), _mm_slli_epi32(lo, 30)),
			  _mm_slli_epi32(lo, 25));
	b = _mm_srli_si128(a, 4);
	lo = _mm_xor_si128(lo, _mm_slli_si128(a, 12));
	a = _mm_xor_si128(_mm_xor_si128(_mm_srli_epi32(lo, 1), _mm_srli_epi32(lo, 2)),
			  _mm_xor_si128(_mm_srli_epi32(lo, 7), b));
	return _mm_xor_si128(hi, _mm_xor_si128(lo, a));
}

TARGET static inline __m128i gfmul(__m128i a, __m128i b)
{
	__m128i lo, hi;

	clmul(a, b, &lo, &hi);
	return reduce(lo, hi);
}

/* x folded with the n bytes at p (the last block zero-padded). */
TARGET static __m128i ghash(const tls_gcm *g, __m128i x, const uint8_t *p, size_t n)
{
	__m128i h1 = ld(g->hp[0]), h2 = ld(g->hp[1]), h3 = ld(g->hp[2]), h4 = ld(g->hp[3]);

	while (n >= 64) {
		__m128i lo, hi, l, h;
		clmul(_mm_xor_si128(x, bswap128(ld(p))), h4, &lo, &hi);
		clmul(bswap128(ld(p + 16)), h3, &l, &h);
		lo = _mm_xor_si128(lo, l);
		hi = _mm_xor_si128(hi, h);
		clmul(bswap128(ld(p + 32)), h2, &l, &h);
		lo = _mm_xor_si128(lo, l);
		hi = _mm_xor_si128(hi, h);
		clmul(bswap128(ld(p + 48)), h1, &l, &h);
		x = reduce(_mm_xor_si128(lo, l), _mm_xor_si128(hi, h));
		p += 64;
		n -= 64;
	}
	while (n >= 16) {
		x = gfmul(_mm_xor_si128(x, bswap128(ld(p))), h1);
		p += 16;
		n -= 16;
	}
	if (n) {
		uint8_t last[16] = { 0 };
		memcpy(last, p, n);
		x = gfmul(_mm_xor_si128(x, bswap128(ld(last))), h1);
	}
	return x;
}

TARGET void tls_gcm_init(tls_gcm *g, const uint8_t *key, size_t keylen, const uint8_t salt[4])
{
	__m128i rk[15], h[4];

	memset(g, 0, sizeof *g);
	if (keylen == 32) {
		expand256(rk, key);
		g->rounds = 14;
	} else {
		expand128(rk, key);
		g->rounds = 10;
	}
	for (int r = 0; r <= g->rounds; r++)
		st(g->rk[r], rk[r]);
	h[0] = bswap128(aes(g, _mm_setzero_si128()));
	for (int i = 1; i < 4; i++)
		h[i] = gfmul(h[i - 1], h[0]);
	for (int i = 0; i < 4; i++)
		st(g->hp[i], h[i]);
	memcpy(g->salt, salt, 4);
	mbedtls_platform_zeroize(rk, sizeof rk);
}

TARGET void tls_gcm_encrypt(const tls_gcm *g, const uint8_t nonce[12], const uint8_t *aad,
			    size_t aad_len, const uint8_t *in, size_t n, uint8_t *out,
			    uint8_t tag[16])
{
	uint8_t b[16] = { 0 };
	__m128i base, x;

	memcpy(b, nonce, 12);
	base = ld(b);
	ctr_xor(g, base, 2, in, out, n);
	x = ghash(g, _mm_setzero_si128(), aad, aad_len);
	x = ghash(g, x, out, n);
	/* len(A) || len(C) in bits, byte-reversed like every block */
	x = _mm_xor_si128(x, _mm_set_epi64x((long long)(aad_len * 8), (long long)(n * 8)));
	x = bswap128(gfmul(x, ld(g->hp[0])));
	st(tag, _mm_xor_si128(x, aes(g, counter(base, 1))));
}

#else /* no x86: tls.c keeps every record with mbedTLS */

int tls_gcm_available(void)
{
	return 0;
}

void tls_gcm_init(tls_gcm *g, const uint8_t *key, size_t keylen, const uint8_t salt[4])
{
	(void)key;
	(void)keylen;
	(void)salt;
	memset(g, 0, sizeof *g);
}

void tls_gcm_encrypt(const tls_gcm *g, const uint8_t nonce[12], const uint8_t *aad,
		     size_t aad_len, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16])
{
	(void)g;
	(void)nonce;
	(void)aad;
	(void)aad_len;
	(void)in;
	(void)n;
	(void)out;
	(void)tag;
}

#endif

size_t tls_gcm_seal(const tls_gcm *g, const uint8_t seq[8], uint8_t type, const uint8_t *in,
		    size_t n, uint8_t *out)
{
	uint8_t nonce[12], aad[13];
	size_t body = 8 + n + 16;

	out[0] = type;
	out[1] = 3; /* TLS 1.2 */
	out[2] = 3;
	out[3] = (uint8_t)(body >> 8);
	out[4] = (uint8_t)body;
	memcpy(out + 5, seq, 8);
	memcpy(nonce, g->salt, 4);
	memcpy(nonce + 4, seq, 8);
	memcpy(aad, seq, 8);
	aad[8] = type;
	aad[9] = 3;
	aad[10] = 3;
	aad[11] = (uint8_t)(n >> 8);
	aad[12] = (uint8_t)n;
	tls_gcm_encrypt(g, nonce, aad, sizeof aad, in, n, out + 13, out + 13 + n);
	return n + TLS_GCM_OVERHEAD;
}

void tls_gcm_wipe(tls_gcm *g)
{
	mbedtls_platform_zeroize(g, sizeof *g);
}
