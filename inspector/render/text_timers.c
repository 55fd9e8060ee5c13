/* SPDX-License-Identifier: MIT */
/*
 * Text of `timers` (go.timers): one line per group of timers, the largest first.
 * Reads only the result tree.
 */
#include <stdio.h>

#include "render.h"

#define MAX_LINES 30

static void text_timers(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	(void)opts;
	json_t *t = json_object_get(json_object_get(doc, "go"), "timers");
	json_t *groups = json_object_get(t, "groups");
	fprintf(f, "%" JSON_INTEGER_FORMAT " timers in %" JSON_INTEGER_FORMAT " Ps' heaps (%" JSON_INTEGER_FORMAT
		" deleted, not counted); next firing by the target's clock: ",
		json_integer_value(json_object_get(t, "count")), json_integer_value(json_object_get(t, "ps")),
		json_integer_value(json_object_get(t, "deleted")));
	tli_text_puts_clean(f, json_string_value(json_object_get(t, "now_source")) ?: "?");
	fputc('\n', f);
	if (json_array_size(groups))
		fprintf(f, "  %7s  %-10s %12s %12s  function\n", "count", "kind", "period", "next in");
	size_t i;
	json_t *g;
	json_array_foreach(groups, i, g) {
		if (i >= MAX_LINES) {
			fprintf(f, "  … %zu more groups\n", json_array_size(groups) - i);
			break;
		}
		double per = json_number_value(json_object_get(g, "period_seconds"));
		json_t *nx = json_object_get(g, "next_in_seconds");
		char pb[32] = "-", nb[32] = "?";
		if (per > 0)
			snprintf(pb, sizeof(pb), "%.3fs", per);
		if (json_is_number(nx))
			snprintf(nb, sizeof(nb), "%.3fs", json_number_value(nx));
		fprintf(f, "  %7" JSON_INTEGER_FORMAT "  %-10s %12s %12s  ", json_integer_value(json_object_get(g, "count")),
			json_string_value(json_object_get(g, "kind")) ?: "?", pb, nb);
		tli_text_puts_clean(f, json_string_value(json_object_get(g, "function")) ?: "?");
		const char *cb = json_string_value(json_object_get(g, "callback"));
		if (cb) {
			fputs(" (via ", f);
			tli_text_puts_clean(f, cb);
			fputc(')', f);
		}
		fputc('\n', f);
	}
	json_t *p;
	json_array_foreach(json_object_get(t, "problems"), i, p) {
		fputs("problem: ", f);
		tli_text_puts_clean(f, json_string_value(p) ?: "?");
		fputc('\n', f);
	}
}

const struct tli_text_printer tli_print_timers = { text_timers, true };
