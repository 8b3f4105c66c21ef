/*
 * server/tls_gcm.h: AES-GCM sealing of the TLS front's outgoing records
 * with the processor's AES and carry-less multiply instructions.
 *
 * Why: a listener's stream is almost all bytes going out, and mbedTLS 2.28
 * encrypts AES-GCM one 16-byte block at a time through its cipher layers
 * (about 7 ns a byte here), which made a TLS listener cost twice a plain
 * one. This does eight AES blocks at a time and folds four GHASH blocks
 * into one reduction (well under 1 ns a byte). mbedTLS still does the
 * handshake, everything it receives, and every record of a connection
 * whose suite is not AES-GCM or whose processor lacks the instructions;
 * the keys come from its key-export callback and the record sequence
 * number from its context, which tls.c keeps in step.
 *
 * Thread safety: a tls_gcm is read-only after tls_gcm_init; one may be
 * used by one thread at a time (the front's).
 */
#ifndef TT_SERVER_TLS_GCM_H
#define TT_SERVER_TLS_GCM_H

#include <stddef.h>
#include <stdint.h>

/* Bytes a sealed record adds to its plaintext: header 5, explicit nonce
 * 8, tag 16. */
#define TLS_GCM_OVERHEAD 29

typedef struct tls_gcm {
	uint8_t rk[15][16];  /* AES round keys */
	int rounds;          /* 10 (AES-128) or 14 (AES-256) */
	uint8_t hp[4][16];   /* H, H^2, H^3, H^4, byte-reversed for the multiply */
	uint8_t salt[4];     /* the connection's fixed IV (RFC 5288) */
} tls_gcm;

/* 1 when this processor has what the fast path needs (AES-NI, PCLMULQDQ,
 * SSE4.1); 0 elsewhere, where the other functions must not be called. */
int tls_gcm_available(void);

/* Keys g with a 16- or 32-byte AES key and the 4-byte fixed IV. */
void tls_gcm_init(tls_gcm *g, const uint8_t *key, size_t keylen, const uint8_t salt[4]);

/* Plain AES-GCM (NIST SP 800-38D, 96-bit nonce): out gets n bytes (may be
 * in), tag 16. */
void tls_gcm_encrypt(const tls_gcm *g, const uint8_t nonce[12], const uint8_t *aad,
		     size_t aad_len, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16]);

/* One TLS 1.2 record of content type `type` (RFC 5246 6.2.3.3, RFC 5288):
 * out gets the header, the explicit nonce (the sequence number seq, big-
 * endian, as mbedTLS sends it), the ciphertext and the tag, n +
 * TLS_GCM_OVERHEAD bytes in all; returns that. n <= 16384. */
size_t tls_gcm_seal(const tls_gcm *g, const uint8_t seq[8], uint8_t type, const uint8_t *in,
		    size_t n, uint8_t *out);

/* Overwrites the keys. */
void tls_gcm_wipe(tls_gcm *g);

#endif
