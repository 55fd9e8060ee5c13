/* SPDX-License-Identifier: MIT */
/*
 * Text of the Go heap census (go.types, go.untyped, go.typed_share, go.census):
 * the top types by live bytes, on one screen. Reads only the result tree.
 */
#include <inttypes.h>
#include <stdio.h>

#include "render.h"

static void human(char *buf, size_t cap, double b)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;
	while (b >= 1024 && i < 4) {
		b /= 1024;
		i++;
	}
	snprintf(buf, cap, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

static void table(FILE *f, json_t *rows, size_t max)
{
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		if (i >= max)
			break;
		char b[32];
		human(b, sizeof(b), (double)json_integer_value(json_object_get(r, "bytes")));
		fprintf(f, "  %10s %12" JSON_INTEGER_FORMAT "  ", b, json_integer_value(json_object_get(r, "objects")));
		tli_text_puts_clean(f, json_string_value(json_object_get(r, "type")) ?: "?");
		fputc('\n', f);
	}
}

void tli_text_go_types(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	(void)opts;
	json_t *go = json_object_get(doc, "go"), *st = json_object_get(go, "census");
	char lb[32], tb[32];
	human(lb, sizeof(lb), (double)json_integer_value(json_object_get(st, "live_bytes")));
	human(tb, sizeof(tb), (double)json_integer_value(json_object_get(st, "typed_bytes")));
	fprintf(f, "Go heap: %" JSON_INTEGER_FORMAT " live objects, %s live; typed %s (%.1f%%)\n",
		json_integer_value(json_object_get(st, "live_objects")), lb, tb,
		100.0 * json_real_value(json_object_get(go, "typed_share")));
	fprintf(f, "\nTop types by live bytes:\n  %10s %12s  type\n", "bytes", "objects");
	table(f, json_object_get(go, "types"), 20);
	json_t *u = json_object_get(go, "untyped");
	if (json_array_size(u)) {
		fprintf(f, "\nUntyped (type unknown; by size class):\n");
		table(f, u, 5);
	}
	const char *why = json_string_value(json_object_get(st, "globals_problem"));
	if (why) {
		fprintf(f, "\nGlobals untyped: ");
		tli_text_puts_clean(f, why);
		fputc('\n', f);
	}
}
