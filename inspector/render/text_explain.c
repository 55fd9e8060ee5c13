/* SPDX-License-Identifier: MIT */
/*
 * Text printer of `explain` (the tree inspector/explain builds, see
 * render/text_explain.h): the title, the field table in memory order, the
 * sections, the notes.
 */
#include "text_explain.h"

#include <string.h>

void tli_explain_render_text(FILE *f, json_t *doc)
{
	json_t *ex = json_object_get(doc, "explain");
	const char *title = json_string_value(json_object_get(ex, "title"));
	const char *type = json_string_value(json_object_get(ex, "type"));
	const char *addr = json_string_value(json_object_get(ex, "address"));
	const char *src = json_string_value(json_object_get(ex, "layout_source"));
	json_t *size = json_object_get(ex, "size");
	if (title)
		fprintf(f, "%s\n", title);
	fprintf(f, "%s at %s, %lld bytes (layout: %s)\n\n", type ? type : "?", addr ? addr : "?",
		json_is_integer(size) ? (long long)json_integer_value(size) : -1LL, src ? src : "?");
	size_t i;
	json_t *fl;
	int nw = 5;
	json_array_foreach(json_object_get(ex, "fields"), i, fl) {
		const char *nm = json_string_value(json_object_get(fl, "name"));
		if (nm && (int)strlen(nm) > nw && strlen(nm) < 40)
			nw = (int)strlen(nm);
	}
	fprintf(f, "  %-8s %-4s %-*s %-34s %s\n", "OFFSET", "SIZE", nw, "FIELD", "VALUE", "MEANING");
	json_array_foreach(json_object_get(ex, "fields"), i, fl) {
		const char *v = json_string_value(json_object_get(fl, "value"));
		const char *d = json_string_value(json_object_get(fl, "decoded"));
		char val[320];
		snprintf(val, sizeof(val), "%s%s%s%s", v ? v : "-", d ? " (" : "", d ? d : "", d ? ")" : "");
		for (char *c = val; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?'; /* names come from the target's files */
		const char *nm = json_string_value(json_object_get(fl, "name"));
		const char *mn = json_string_value(json_object_get(fl, "meaning"));
		fprintf(f, "  +0x%-5llx %-4lld %-*s ", (unsigned long long)json_integer_value(json_object_get(fl, "offset")),
			(long long)json_integer_value(json_object_get(fl, "size")), nw, nm ? nm : "?");
		if (strlen(val) > 34) /* long value: the meaning goes on its own line */
			fprintf(f, "%s\n  %*s %s\n", val, 8 + 1 + 4 + 1 + nw + 1 + 34, "", mn ? mn : "");
		else
			fprintf(f, "%-34s %s\n", val, mn ? mn : "");
	}
	json_t *sec, *ln;
	json_array_foreach(json_object_get(ex, "sections"), i, sec) {
		fprintf(f, "\n%s\n", json_string_value(json_object_get(sec, "title")));
		size_t j;
		json_array_foreach(json_object_get(sec, "lines"), j, ln)
			fprintf(f, "  %s\n", json_string_value(ln));
	}
	json_t *n;
	json_array_foreach(json_object_get(ex, "notes"), i, n)
		fprintf(f, "%s%s\n", i == 0 ? "\n" : "", json_string_value(n));
}
