/* SPDX-License-Identifier: MIT */
/* The JSON printer: the result tree as it is. */
#include "render.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct tli_error *tli_render_json(FILE *f, json_t *doc)
{
	if (!doc)
		return tli_error_create(TLI_E_INTERNAL, "no result to print");
	/* Insertion order is kept (jansson >= 2.8 always preserves it). Reals use
	 * %.12g, so 12.3 prints as 12.3, and jansson keeps a ".0" on integral
	 * reals so they stay reals. No JSON_ENSURE_ASCII: strings are UTF-8. */
	int rc = json_dumpf(doc, f, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
	if (rc == 0)
		rc = fputc('\n', f) == EOF ? -1 : 0;
	if (rc == 0)
		rc = fflush(f);
	if (rc != 0 || ferror(f))
		return tli_error_errno(errno == EPIPE ? TLI_E_INTERRUPTED : TLI_E_INTERNAL,
				       errno ? errno : EIO, "writing JSON output");
	return NULL;
}

/* Length of a valid UTF-8 sequence at s (1..4), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned min;
	if ((c & 0xe0) == 0xc0)
		n = 2, min = 0x80, c &= 0x1f;
	else if ((c & 0xf0) == 0xe0)
		n = 3, min = 0x800, c &= 0x0f;
	else if ((c & 0xf8) == 0xf0)
		n = 4, min = 0x10000, c &= 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

json_t *tli_json_string_lossy(const char *s)
{
	if (!s)
		return json_null();
	json_t *j = json_string(s);
	if (j)
		return j;
	size_t len = strlen(s);
	char *copy = malloc(len + 1);
	if (!copy)
		return NULL;
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	while (*p) {
		size_t n = utf8_seq(p);
		if (n == 0) {
			copy[o++] = '?';
			p++;
		} else {
			memcpy(copy + o, p, n);
			o += n;
			p += n;
		}
	}
	copy[o] = 0;
	j = json_string(copy);
	free(copy);
	return j;
}
