/* server/password.c: see password.h. */
#include "server/password.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>

#include "common/error.h"

#define PREFIX "pbkdf2-sha256$"

int password_pbkdf2(const void *pw, size_t pw_len, const void *salt, size_t salt_len,
		    unsigned iterations, uint8_t *out, size_t out_len)
{
	mbedtls_md_context_t md;
	int rc;

	if (iterations == 0 || out_len == 0)
		return TT_EINVAL;
	mbedtls_md_init(&md);
	rc = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
	if (rc == 0)
		rc = mbedtls_pkcs5_pbkdf2_hmac(&md, pw, pw_len, salt, salt_len, iterations,
					       (uint32_t)out_len, out);
	mbedtls_md_free(&md);
	return rc == 0 ? TT_OK : TT_EIO;
}

int password_hash(const char *pw, size_t pw_len, unsigned iterations,
		  char out[PASSWORD_HASH_MAX])
{
	uint8_t salt[PASSWORD_SALT_BYTES], key[PASSWORD_KEY_BYTES];
	char salt64[32], key64[64];
	size_t n1, n2;
	int rc, k;

	if (getrandom(salt, sizeof salt, 0) != (ssize_t)sizeof salt)
		return TT_EIO;
	if ((rc = password_pbkdf2(pw, pw_len, salt, sizeof salt, iterations, key,
				  sizeof key)) != TT_OK)
		return rc;
	if (mbedtls_base64_encode((unsigned char *)salt64, sizeof salt64, &n1, salt,
				  sizeof salt) != 0 ||
	    mbedtls_base64_encode((unsigned char *)key64, sizeof key64, &n2, key, sizeof key) != 0)
		return TT_EIO;
	salt64[n1] = key64[n2] = '\0';
	k = snprintf(out, PASSWORD_HASH_MAX, PREFIX "%u$%s$%s", iterations, salt64, key64);
	memset(key, 0, sizeof key);
	return k > 0 && k < PASSWORD_HASH_MAX ? TT_OK : TT_ERANGE;
}

/* Decodes the base64 field that starts at s and ends at '$' or NUL. */
static int field(const char *s, size_t len, uint8_t *out, size_t cap, size_t *n)
{
	return mbedtls_base64_decode(out, cap, n, (const unsigned char *)s, len) == 0 ? TT_OK
										       : TT_EINVAL;
}

int password_verify(const char *pw, size_t pw_len, const char *stored)
{
	uint8_t salt[64], want[64], got[64];
	const char *p, *d1, *d2;
	unsigned long long iter;
	size_t ns, nk;
	volatile uint8_t diff = 0;
	char *end;

	if (!stored || strncmp(stored, PREFIX, strlen(PREFIX)) != 0)
		return TT_EINVAL;
	p = stored + strlen(PREFIX);
	iter = strtoull(p, &end, 10);
	if (end == p || *end != '$' || iter == 0 || iter > PASSWORD_MAX_ITERATIONS)
		return TT_EINVAL;
	d1 = end + 1;
	if (!(d2 = strchr(d1, '$')))
		return TT_EINVAL;
	if (field(d1, (size_t)(d2 - d1), salt, sizeof salt, &ns) != TT_OK || ns == 0 ||
	    field(d2 + 1, strlen(d2 + 1), want, sizeof want, &nk) != TT_OK || nk < 16)
		return TT_EINVAL;
	if (password_pbkdf2(pw, pw_len, salt, ns, (unsigned)iter, got, nk) != TT_OK)
		return TT_EINVAL;
	for (size_t i = 0; i < nk; i++)
		diff |= (uint8_t)(got[i] ^ want[i]);
	memset(got, 0, sizeof got);
	return diff == 0;
}
