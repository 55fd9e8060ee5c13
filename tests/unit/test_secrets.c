/* SPDX-License-Identifier: MIT */
/*
 * The credential matchers of `secrets` (inspector/secrets/scan.c, issue 15): each kind found
 * with its exact bounds, near misses refused, and tokens lying back to back in memory (a Go
 * string has no terminator: strings allocated side by side, tokens appended to one buffer)
 * found as separate findings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "secrets/secrets.h"

#define JWT1 "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlMDEyMzQ1Njc4OWFiY2RlZg"
#define JWT2 "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_"

struct want {
	enum tli_secret_kind kind;
	const char *text; /* the matched bytes */
};

static void expect(const char *buf, const struct want *w, size_t nw)
{
	struct tli_secret_match m[16];
	size_t n = tli_secrets_scan((const uint8_t *)buf, strlen(buf), strlen(buf), m, 16);
	assert_int_equal(n, nw);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(m[i].kind, w[i].kind);
		assert_int_equal(m[i].len, strlen(w[i].text));
		assert_memory_equal(buf + m[i].off, w[i].text, m[i].len);
	}
}

static void test_jwt(void **state)
{
	(void)state;
	expect("token=" JWT1 "\n", (struct want[]){ { TLI_SECRET_JWT, JWT1 } }, 1);
	/* back to back: the first signature ends where the second header begins */
	expect(JWT1 JWT2, (struct want[]){ { TLI_SECRET_JWT, JWT1 }, { TLI_SECRET_JWT, JWT2 } }, 2);
	/* a stale, cut-off front of a token right before a whole one does not swallow it */
	expect("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJDSEFO" JWT1 " ", (struct want[]){ { TLI_SECRET_JWT, JWT1 } }, 1);
	expect("eyJhbGciOiJIUzI1" JWT1 " ", (struct want[]){ { TLI_SECRET_JWT, JWT1 } }, 1);
	/* whatever precedes it: in memory the object before a string may end in a letter */
	expect("x" JWT1 " ", (struct want[]){ { TLI_SECRET_JWT, JWT1 } }, 1);
	expect("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.short", NULL, 0);          /* signature < 8 */
	expect("eyJhbGciOiJIUzI1NiJ9-eyJzdWIiOiJhbGljZSJ9", NULL, 0);                  /* no dots */
}

static void test_aws(void **state)
{
	(void)state;
	expect("id AKIAIOSFODNN7EXAMPLE ok", (struct want[]){ { TLI_SECRET_AWS_KEY, "AKIAIOSFODNN7EXAMPLE" } }, 1);
	expect("AKIAIOSFODNN7EXAMPLEASIA0123456789ABCDEF",
	       (struct want[]){ { TLI_SECRET_AWS_KEY, "AKIAIOSFODNN7EXAMPLE" },
				{ TLI_SECRET_AWS_KEY, "ASIA0123456789ABCDEF" } }, 2);
	expect("AKIAIOSFODNN7EXAMPLEX", NULL, 0);  /* 17 characters: not a key */
	expect("XAKIAIOSFODNN7EXAMPLE", NULL, 0);  /* inside a longer word */
	expect("AKIAIOSFODNN7EXAMPL", NULL, 0);    /* 15 */
}

static void test_bearer_url_dsn(void **state)
{
	(void)state;
	expect("Authorization: Bearer abcdefghijklmnop0123.x~y\r\n",
	       (struct want[]){ { TLI_SECRET_BEARER, "abcdefghijklmnop0123.x~y" } }, 1);
	expect("Bearer short", NULL, 0);
	expect("postgres://app:s3cr3t!pw@db:5432/x", (struct want[]){ { TLI_SECRET_URL_PASSWORD, "s3cr3t!pw" } }, 1);
	expect("http://host:8080/path", NULL, 0); /* a port, not a password */
	expect("host=db password=hunter22 dbname=x", (struct want[]){ { TLI_SECRET_DSN_PASSWORD, "hunter22" } }, 1);
	expect("Server=x;Uid=u;Pwd=Tr0ub4dor;", (struct want[]){ { TLI_SECRET_DSN_PASSWORD, "Tr0ub4dor" } }, 1);
	expect("PWD=/home/user", NULL, 0);        /* the shell's working directory */
	expect("old_password=abcdefgh", NULL, 0); /* part of another name */
}

static void test_pem(void **state)
{
	(void)state;
	const char *key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy\n"
			  "-----END RSA PRIVATE KEY-----";
	char buf[256];
	snprintf(buf, sizeof(buf), "%s\n", key);
	expect(buf, (struct want[]){ { TLI_SECRET_PEM_KEY, key } }, 1);
	expect("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", NULL, 0);
}

/* a match that starts before `limit` is kept whole even if it runs past it (scanning windows) */
static void test_limit(void **state)
{
	(void)state;
	const char *buf = "....AKIAIOSFODNN7EXAMPLE";
	struct tli_secret_match m[4];
	assert_int_equal(tli_secrets_scan((const uint8_t *)buf, strlen(buf), 5, m, 4), 1);
	assert_int_equal(m[0].len, 20);
	assert_int_equal(tli_secrets_scan((const uint8_t *)buf, strlen(buf), 4, m, 4), 0);
	char preview[96];
	tli_secret_preview(TLI_SECRET_AWS_KEY, (const uint8_t *)buf + 4, 20, preview, sizeof(preview));
	assert_string_equal(preview, "aws-access-key AKIA... (20 chars)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwt),
		cmocka_unit_test(test_aws),
		cmocka_unit_test(test_bearer_url_dsn),
		cmocka_unit_test(test_pem),
		cmocka_unit_test(test_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
