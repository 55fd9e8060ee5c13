/* SPDX-License-Identifier: MIT */
/** @file text_secrets.c  `secrets` as text: counts, then the findings grouped by kind and region. */
#include "render.h"

#include <string.h>


static const char *const regions[] = { "free", "chan-buffer", "stack-dead", "live" };

static void text_secrets(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	json_t *s = json_object_get(doc, "secrets");
	json_t *found = json_object_get(s, "findings");
	bool reveal = json_is_true(json_object_get(s, "revealed"));
	fprintf(f, "secrets: %lld found in %lld bytes of writable memory%s\n",
		(long long)json_integer_value(json_object_get(s, "finding_count")),
		(long long)json_integer_value(json_object_get(s, "scanned_bytes")),
		reveal ? " (values revealed)" : " (redacted: --reveal shows the values)");
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(s, "by_kind"), k, v) {
		for (size_t r = 0; r < sizeof(regions) / sizeof(regions[0]); r++) {
			size_t i, n = 0;
			json_t *x;
			json_array_foreach(found, i, x)
				n += !strcmp(json_string_value(json_object_get(x, "kind")), k) &&
				     !strcmp(json_string_value(json_object_get(x, "region")), regions[r]);
			if (!n)
				continue;
			fprintf(f, "\n%s in %s memory (%zu):\n", k, regions[r], n);
			json_array_foreach(found, i, x) {
				if (strcmp(json_string_value(json_object_get(x, "kind")), k) ||
				    strcmp(json_string_value(json_object_get(x, "region")), regions[r]))
					continue;
				fprintf(f, "  %s  ", json_string_value(json_object_get(x, "address")));
				tli_text_puts_clean(f, json_string_value(json_object_get(x, "preview")));
				fputs("  ", f);
				tli_text_puts_clean(f, json_string_value(json_object_get(x, "owner")));
				json_t *val = json_object_get(x, "value");
				if (json_is_string(val)) {
					fputs("\n      ", f);
					tli_text_puts_clean(f, json_string_value(val));
				}
				fputc('\n', f);
			}
		}
	}
	if (json_is_true(json_object_get(s, "findings_truncated")))
		fprintf(f, "\n(more findings than listed: finding_count is complete)\n");
	(void)opts;
}

const struct tli_text_printer tli_print_secrets = { text_secrets, true };
