/*
 * tests/server/test_password.c: the PBKDF2-HMAC-SHA256 wrapper
 * (server/password.c) against published known answers, and the stored
 * hash format: hash, verify, wrong passwords, malformed hashes.
 *
 * Vectors: RFC 7914 section 11 (the two PBKDF2-HMAC-SHA256 ones), and the
 * RFC 6070 inputs with SHA-256 in place of SHA-1 (their answers are the
 * widely published ones, e.g. in Go's and Python's test suites).
 */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "server/password.h"
#include "tests/tap.h"

typedef struct vector {
	const char *pw;
	size_t pw_len;
	const char *salt;
	size_t salt_len;
	unsigned iterations;
	const char *hex;
} vector;

#define S(x) x, sizeof x - 1

static const vector vectors[] = {
	{ S("passwd"), S("salt"), 1,
	  "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
	  "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783" },
	{ S("Password"), S("NaCl"), 80000,
	  "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
	  "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d" },
	{ S("password"), S("salt"), 1,
	  "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b" },
	{ S("password"), S("salt"), 2,
	  "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43" },
	{ S("password"), S("salt"), 4096,
	  "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a" },
	{ S("passwordPASSWORDpassword"), S("saltSALTsaltSALTsaltSALTsaltSALTsalt"), 4096,
	  "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9" },
	{ S("pass\0word"), S("sa\0lt"), 4096, "89b69d0516f829893c696226650a8687" },
};

static void to_hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * n] = '\0';
}

int main(void)
{
	uint8_t out[64];
	char hex[129], h[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX], bad[PASSWORD_HASH_MAX];

	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		const vector *v = &vectors[i];
		size_t n = strlen(v->hex) / 2;
		int rc = password_pbkdf2(v->pw, v->pw_len, v->salt, v->salt_len, v->iterations,
					 out, n);
		to_hex(out, n, hex);
		ok(rc == TT_OK && strcmp(hex, v->hex) == 0,
		   "PBKDF2-HMAC-SHA256 known answer %zu (c=%u, dkLen=%zu)", i + 1, v->iterations, n);
	}
	is_int(password_pbkdf2("a", 1, "b", 1, 0, out, 32), TT_EINVAL, "0 iterations is refused");

	is_int(password_hash("correct horse", 13, 1000, h), TT_OK, "hash a password");
	ok(strncmp(h, "pbkdf2-sha256$1000$", 19) == 0, "stored as pbkdf2-sha256$ITER$SALT$HASH: %s", h);
	is_int(password_verify("correct horse", 13, h), 1, "the right password verifies");
	is_int(password_verify("correct horsf", 13, h), 0, "a wrong one does not");
	is_int(password_verify("correct hors", 12, h), 0, "nor a prefix of it");
	is_int(password_hash("correct horse", 13, 1000, h2), TT_OK, "hash it again");
	ok(strcmp(h, h2) != 0, "a fresh salt each time: two hashes of one password differ");
	is_int(password_verify("correct horse", 13, h2), 1, "and both verify");

	/* A hash made by an independent implementation (Python's hashlib,
	 * salt "0123456789abcdef", 1000 iterations) verifies here. */
	is_int(password_verify("correct horse", 13,
			       "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg==$"
			       "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M="), 1,
	       "a hash from Python's hashlib.pbkdf2_hmac verifies");

	const char *malformed[] = {
		"", "sha1$1000$AAAA$AAAA", "pbkdf2-sha256$", "pbkdf2-sha256$0$MDEy$AAAA",
		"pbkdf2-sha256$x$MDEy$AAAA", "pbkdf2-sha256$1000$MDEy", "pbkdf2-sha256$1000$$AAAA",
		"pbkdf2-sha256$1000$!!!!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"pbkdf2-sha256$1000000000$MDEy$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	};
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
		is_int(password_verify("x", 1, malformed[i]), TT_EINVAL,
		       "malformed stored hash '%s' is refused", malformed[i]);
	snprintf(bad, sizeof bad, "%s", h);
	bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
	is_int(password_verify("correct horse", 13, bad), 0, "a changed stored hash does not verify");
	return tap_done();
}
