/* SPDX-License-Identifier: MIT */
/**
 * @file scan.c
 * Credentials in a byte buffer, by shape: JWTs ("eyJ" header.payload.signature in base64url),
 * PEM private keys (BEGIN ... PRIVATE KEY through its END line), Bearer tokens, AWS-style
 * access key ids (AKIA/ASIA + 16), passwords in URLs (scheme://user:PASSWORD@) and in DSNs
 * (password=..., pwd=...). A pure function of the bytes: unit-tested on its own.
 */
#include "secrets.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_PEM 16384
#define MAX_URLPW 256

static const char *const kind_names[TLI_SECRET__N] = {
	"jwt", "pem-private-key", "bearer-token", "aws-access-key", "url-password", "dsn-password",
};

const char *tli_secret_kind_name(enum tli_secret_kind k)
{
	return (unsigned)k < TLI_SECRET__N ? kind_names[k] : "?";
}

static bool b64url(uint8_t c)
{
	return isalnum(c) || c == '-' || c == '_';
}

static bool token_char(uint8_t c)
{
	return isalnum(c) || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=' || c == '-';
}

static size_t run(const uint8_t *b, size_t i, size_t len, bool (*ok)(uint8_t))
{
	size_t j = i;
	while (j < len && ok(b[j]))
		j++;
	return j - i;
}

/* header and payload of a JWT at i: "eyJ<header>.<payload>." (its length, or 0) */
static size_t jwt_head_plain(const uint8_t *b, size_t i, size_t len)
{
	if (len - i < 20 || memcmp(b + i, "eyJ", 3))
		return 0;
	size_t h = run(b, i, len, b64url);
	if (h < 10 || i + h >= len || b[i + h] != '.')
		return 0;
	size_t p0 = i + h + 1, p = run(b, p0, len, b64url);
	if (p < 4 || p0 + p >= len || b[p0 + p] != '.')
		return 0;
	return h + 1 + p + 1;
}

/* jwt_head, refusing a candidate inside whose header or payload a whole JWT head begins: the cut-off
 * front of another token (a stale fragment left in the bytes before a string) must not swallow the
 * token that follows it */
static size_t jwt_head(const uint8_t *b, size_t i, size_t len)
{
	size_t hp = jwt_head_plain(b, i, len);
	size_t p0 = hp ? i + run(b, i, len, b64url) + 1 : 0; /* the payload: JSON too, so it starts "eyJ" */
	for (size_t k = i + 3; hp && k + 3 <= i + hp; k++)
		if (b[k] == 'e' && k != p0 && jwt_head_plain(b, k, len))
			return 0;
	return hp;
}

/* eyJ<header>.<payload>.<signature>: three base64url parts, the header a JSON object ("eyJ" is
 * base64 of '{"'). Memory has no word boundaries: a Go string has no terminator and the object
 * before it may end in a letter, so what precedes "eyJ" is not looked at. The signature ends where
 * another JWT's header begins: a token written right after another (tokens appended to one
 * buffer, or two strings allocated side by side) is two findings. */
static size_t match_jwt(const uint8_t *b, size_t i, size_t len)
{
	size_t hp = jwt_head(b, i, len);
	if (!hp)
		return 0;
	size_t s0 = i + hp, s = run(b, s0, len, b64url);
	for (size_t k = 8; k + 3 <= s; k++)
		if (b[s0 + k] == 'e' && jwt_head_plain(b, s0 + k, len)) {
			s = k;
			break;
		}
	if (s < 8)
		return 0;
	return s0 + s - i;
}

static bool printable(uint8_t c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\r' || c == '\t';
}

static size_t match_pem(const uint8_t *b, size_t i, size_t len)
{
	static const char begin[] = "-----BEGIN ", tail[] = "PRIVATE KEY-----", end[] = "-----END ";
	if (len - i < 40 || memcmp(b + i, begin, sizeof(begin) - 1))
		return 0;
	size_t j = i + sizeof(begin) - 1, lim = j + 32 < len ? j + 32 : len;
	while (j < lim && b[j] != '\n' && memcmp(b + j, tail, len - j < 16 ? len - j : 16))
		j++;
	if (j + 16 > len || memcmp(b + j, tail, 16))
		return 0;
	j += 16;
	size_t stop = len - i > MAX_PEM ? i + MAX_PEM : len;
	for (size_t k = j; k < stop && printable(b[k]); k++)
		if (k + 9 <= stop && !memcmp(b + k, end, 9)) {
			size_t e = k + 9;
			while (e < stop && b[e] != '\n' && printable(b[e]) && e - k < 64)
				e++;
			return e - i;
		}
	size_t k = j; /* no END line here: as far as the text goes */
	while (k < stop && printable(b[k]))
		k++;
	return k - i;
}

/* "Bearer <token>": the token */
static size_t match_bearer(const uint8_t *b, size_t i, size_t len, size_t *tok)
{
	if (len - i < 7 + 16 || strncasecmp((const char *)b + i, "bearer ", 7) || (i && isalnum(b[i - 1])))
		return 0;
	size_t t = run(b, i + 7, len, token_char);
	if (t < 16)
		return 0;
	*tok = i + 7;
	return t;
}

static bool upnum(uint8_t c)
{
	return isupper(c) || isdigit(c);
}

static bool aws_prefix(const uint8_t *b, size_t i, size_t len)
{
	return len - i >= 20 && (!memcmp(b + i, "AKIA", 4) || !memcmp(b + i, "ASIA", 4));
}

/* AKIA/ASIA + 16 upper-case letters or digits; another key may follow at once (keys back to back) */
static size_t match_aws(const uint8_t *b, size_t i, size_t len, bool edge)
{
	if (!aws_prefix(b, i, len) || (i && !edge && upnum(b[i - 1])))
		return 0;
	size_t r = run(b, i + 4, len, upnum);
	if (r < 16 || (r > 16 && !aws_prefix(b, i + 20, len)))
		return 0;
	return 20;
}

static bool url_user(uint8_t c)
{
	return c > 0x20 && c < 0x7f && c != ':' && c != '@' && c != '/';
}

static bool url_pw(uint8_t c)
{
	return c > 0x20 && c < 0x7f && c != '@' && c != '/';
}

/* scheme://user:PASSWORD@host, found at "://" (i): the password */
static size_t match_url(const uint8_t *b, size_t i, size_t len, size_t *pw)
{
	if (len - i < 6 || memcmp(b + i, "://", 3) || !i || !isalpha(b[i - 1]))
		return 0;
	size_t u0 = i + 3, u = run(b, u0, len, url_user);
	if (u0 + u >= len || b[u0 + u] != ':')
		return 0;
	size_t p0 = u0 + u + 1, p = 0;
	while (p0 + p < len && p < MAX_URLPW && url_pw(b[p0 + p]))
		p++;
	if (!p || p0 + p >= len || b[p0 + p] != '@')
		return 0;
	*pw = p0;
	return p;
}

static bool dsn_char(uint8_t c)
{
	return c > 0x20 && c < 0x7f && c != ';' && c != '&' && c != '\'' && c != '"' && c != ',';
}

/* password=VALUE, pwd=VALUE (DSNs, environment strings, config text): VALUE */
static size_t match_dsn(const uint8_t *b, size_t i, size_t len, size_t *val)
{
	size_t k;
	if (len - i >= 13 && !strncasecmp((const char *)b + i, "password=", 9))
		k = 9;
	else if (len - i >= 8 && !strncasecmp((const char *)b + i, "pwd=", 4) && i && b[i - 1] == ';')
		k = 4; /* ODBC's "...;Pwd=...", not the shell's PWD=/dir */
	else
		return 0;
	if (i && (isalnum(b[i - 1]) || b[i - 1] == '_'))
		return 0;
	size_t v = run(b, i + k, len, dsn_char);
	if (v < 4)
		return 0;
	*val = i + k;
	return v;
}

size_t tli_secrets_scan(const uint8_t *buf, size_t len, size_t limit, struct tli_secret_match *out, size_t max)
{
	size_t n = 0, last_end = SIZE_MAX;
	if (limit > len)
		limit = len;
	for (size_t i = 0; i < limit && n < max;) {
		uint8_t c = buf[i];
		size_t at = i, l = 0;
		bool edge = i == last_end;
		enum tli_secret_kind k = TLI_SECRET__N;
		switch (c) {
		case 'e': l = match_jwt(buf, i, len), k = TLI_SECRET_JWT; break;
		case '-': l = match_pem(buf, i, len), k = TLI_SECRET_PEM_KEY; break;
		case 'A': l = match_aws(buf, i, len, edge), k = TLI_SECRET_AWS_KEY; break;
		case 'B': case 'b': l = match_bearer(buf, i, len, &at), k = TLI_SECRET_BEARER; break;
		case ':': l = match_url(buf, i, len, &at), k = TLI_SECRET_URL_PASSWORD; break;
		case 'P': case 'p': l = match_dsn(buf, i, len, &at), k = TLI_SECRET_DSN_PASSWORD; break;
		default: break;
		}
		if (!l) {
			i++;
			continue;
		}
		out[n++] = (struct tli_secret_match){ k, at, l };
		i = last_end = at + l; /* a JWT inside a Bearer token is that token */
	}
	return n;
}

void tli_secret_preview(enum tli_secret_kind k, const uint8_t *s, size_t len, char *out, size_t outsz)
{
	char head[8];
	size_t show = len / 2 < 4 ? len / 2 : 4;
	for (size_t i = 0; i < show; i++)
		head[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	head[show] = 0;
	snprintf(out, outsz, "%s %s... (%zu chars)", tli_secret_kind_name(k), head, len);
}
