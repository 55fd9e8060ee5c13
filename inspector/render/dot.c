/* SPDX-License-Identifier: MIT */
/* graphviz DOT for the goroutine <-> channel wait-for graph. */
#include "text_chans.h"

#include <string.h>

/* a DOT double-quoted string: escape quotes and backslashes, drop control characters */
static void dot_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fputc('\\', f), fputc(c, f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c >= 0x20 && c != 0x7f)
			fputc(c, f);
	}
	fputc('"', f);
}

void tli_dot_graph(FILE *f, json_t *graph)
{
	fputs("digraph waitfor {\n\trankdir=LR;\n\tnode [fontname=\"monospace\", fontsize=10];\n", f);
	/* members of cycles are drawn red */
	json_t *incycle = json_object();
	size_t i, j;
	json_t *cy, *v;
	json_array_foreach(json_object_get(graph, "cycles"), i, cy) {
		json_array_foreach(json_object_get(cy, "goroutines"), j, v) {
			char k[32];
			snprintf(k, sizeof(k), "g%lld", (long long)json_integer_value(v));
			json_object_set_new(incycle, k, json_true());
		}
		json_array_foreach(json_object_get(cy, "channels"), j, v) {
			char k[64];
			snprintf(k, sizeof(k), "c%s", json_string_value(v) ? json_string_value(v) : "");
			json_object_set_new(incycle, k, json_true());
		}
	}
	json_t *n;
	json_array_foreach(json_object_get(graph, "nodes"), i, n) {
		const char *id = json_string_value(json_object_get(n, "id"));
		const char *kind = json_string_value(json_object_get(n, "kind"));
		if (!id || !kind)
			continue;
		char label[600];
		if (!strcmp(kind, "channel")) {
			const char *et = json_string_value(json_object_get(n, "elemtype"));
			snprintf(label, sizeof(label), "chan %s\n%s\nlen %lld / cap %lld%s", et ? et : "?",
				 json_string_value(json_object_get(n, "address")) ?: "?",
				 (long long)json_integer_value(json_object_get(n, "len")),
				 (long long)json_integer_value(json_object_get(n, "cap")),
				 json_is_true(json_object_get(n, "closed")) ? ", closed" : "");
		} else {
			const char *wr = json_string_value(json_object_get(n, "wait_reason"));
			const char *st = json_string_value(json_object_get(n, "status"));
			const char *fn = json_string_value(json_object_get(json_object_get(n, "user"), "function"));
			snprintf(label, sizeof(label), "goroutine %lld\n[%s]\n%s",
				 (long long)json_integer_value(json_object_get(n, "goroutine")), wr ? wr : st ? st : "?",
				 fn ? fn : "");
		}
		fputc('\t', f);
		dot_str(f, id);
		fputs(" [shape=", f);
		fputs(!strcmp(kind, "channel") ? "box" : "ellipse", f);
		fputs(", label=", f);
		dot_str(f, label);
		if (json_object_get(incycle, id))
			fputs(", color=red, fontcolor=red", f);
		fputs("];\n", f);
	}
	json_t *e;
	json_array_foreach(json_object_get(graph, "edges"), i, e) {
		const char *from = json_string_value(json_object_get(e, "from"));
		const char *to = json_string_value(json_object_get(e, "to"));
		const char *kind = json_string_value(json_object_get(e, "kind"));
		if (!from || !to || !kind)
			continue;
		fputc('\t', f);
		dot_str(f, from);
		fputs(" -> ", f);
		dot_str(f, to);
		fputs(" [label=", f);
		dot_str(f, json_is_true(json_object_get(e, "select")) ? (!strcmp(kind, "send") ? "select send" : "select recv")
								     : kind);
		if (!strcmp(kind, "held-by"))
			fputs(", style=dashed", f);
		fputs("];\n", f);
	}
	fputs("}\n", f);
	json_decref(incycle);
}
