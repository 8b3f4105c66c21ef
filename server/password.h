/*
 * server/password.h: password hashing with PBKDF2-HMAC-SHA256 (mbedTLS).
 *
 * A stored hash reads "pbkdf2-sha256$ITER$SALT$HASH": ITER the iteration
 * count in decimal, SALT 16 random bytes (getrandom) and HASH 32 derived
 * bytes, both in standard base64. The iteration count travels with each
 * hash, so raising the server's count later leaves old hashes verifiable.
 * One hashing at 600,000 iterations costs ~0.3 s of CPU: callers run it on
 * the KDF thread (server/accounts.c), never on the HTTP or WebSocket
 * threads. No function here is safe on the render thread.
 */
#ifndef TT_SERVER_PASSWORD_H
#define TT_SERVER_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

/* Room for a stored hash with its NUL. */
#define PASSWORD_HASH_MAX 128
#define PASSWORD_SALT_BYTES 16
#define PASSWORD_KEY_BYTES 32
/* OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256; the default. */
#define PASSWORD_DEFAULT_ITERATIONS 600000
#define PASSWORD_MAX_ITERATIONS 100000000

/* Raw PBKDF2-HMAC-SHA256 (RFC 8018): out gets out_len derived bytes.
 * TT_OK or TT_EINVAL (iterations 0) / TT_EIO (mbedTLS failed). */
int password_pbkdf2(const void *pw, size_t pw_len, const void *salt, size_t salt_len,
		    unsigned iterations, uint8_t *out, size_t out_len);

/* Hashes pw (pw_len bytes) with a fresh random salt into out. */
int password_hash(const char *pw, size_t pw_len, unsigned iterations,
		  char out[PASSWORD_HASH_MAX]);

/* 1 when pw matches stored, 0 when not, TT_EINVAL when stored is not a
 * hash this module wrote. The comparison of the derived keys takes the
 * same time wherever they differ. */
int password_verify(const char *pw, size_t pw_len, const char *stored);

#endif
