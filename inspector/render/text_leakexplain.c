/* SPDX-License-Identifier: MIT */
/* Text of go.explain (`leaks --explain ID`): the verdict and the root path. */
#include "text_chans.h"

#include <string.h>

static const char *js(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

void tli_text_leak_explain(FILE *f, json_t *e)
{
	if (!json_is_object(e))
		return;
	fprintf(f, "\ngoroutine %lld", (long long)json_integer_value(json_object_get(e, "goroutine")));
	if (js(e, "wait_reason")) {
		fputs(" [", f);
		tli_text_puts_clean(f, js(e, "wait_reason"));
		fputc(']', f);
	}
	fprintf(f, ": %s\n  why: ", js(e, "verdict") ?: "?");
	tli_text_puts_clean(f, js(e, "why") ?: "?");
	fputc('\n', f);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(e, "waits_on"), i, v)
		fprintf(f, "  waits on %s %s\n", js(v, "kind") ?: "?", js(v, "address") ?: "?");
	json_t *path = json_object_get(e, "path");
	if (json_array_size(path))
		fputs("  kept alive by:\n", f);
	json_array_foreach(path, i, v) {
		fprintf(f, "    %s %s", i ? "->" : "  ", js(v, "kind") ?: "?");
		if (js(v, "name")) {
			fputc(' ', f);
			tli_text_puts_clean(f, js(v, "name"));
		}
		if (js(v, "address"))
			fprintf(f, " %s", js(v, "address"));
		if (js(v, "type")) {
			fputs(" (", f);
			tli_text_puts_clean(f, js(v, "type"));
			fputc(')', f);
		}
		if (json_is_integer(json_object_get(v, "offset")))
			fprintf(f, " field +%lld", (long long)json_integer_value(json_object_get(v, "offset")));
		fputc('\n', f);
	}
}
