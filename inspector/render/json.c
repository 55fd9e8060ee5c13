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
