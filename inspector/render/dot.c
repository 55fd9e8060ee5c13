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

/* goroutine nodes: red when leaked or in a cycle */
static void node_attrs(FILE *f, bool red, bool leaked)
{
	if (leaked)
		fputs(", style=filled, fillcolor=\"#f8d0d0\", color=red", f);
	else if (red)
		fputs(", color=red, fontcolor=red", f);
}

static void edge_line(FILE *f, const char *from, const char *to, const char *kind, const char *label)
{
	fputc('\t', f);
	dot_str(f, from);
	fputs(" -> ", f);
	dot_str(f, to);
	fputs(" [label=", f);
	dot_str(f, label);
	if (!strcmp(kind, "held-by"))
		fputs(", style=dashed", f);
	fputs("];\n", f);
}

/* the grouped graph: the `top` largest groups (0 = all) and the edges among them */
static void dot_groups(FILE *f, json_t *groups, int top)
{
	json_t *drawn = json_object();
	size_t i, n = json_array_size(json_object_get(groups, "nodes"));
	json_t *g, *e;
	json_array_foreach(json_object_get(groups, "nodes"), i, g) {
		const char *id = json_string_value(json_object_get(g, "id"));
		const char *kind = json_string_value(json_object_get(g, "kind"));
		if (!id || !kind || (top > 0 && i >= (size_t)top))
			continue;
		char label[800];
		tli_graph_group_label(label, sizeof(label), g, "\n");
		long long cnt = (long long)json_integer_value(json_object_get(g, "count"));
		if (cnt <= 3) { /* a small group: name its members ("g10 g11", "c0xc000...") */
			size_t k, used = strlen(label);
			json_t *m;
			json_array_foreach(json_object_get(g, "members"), k, m)
				if (json_string_value(m) && used + 40 < sizeof(label))
					used += (size_t)snprintf(label + used, sizeof(label) - used, "%s%s", k ? " " : "\n",
								 json_string_value(m));
		}
		fputc('\t', f);
		dot_str(f, id);
		fprintf(f, " [shape=%s, label=", !strcmp(kind, "channel") ? "box" : "ellipse");
		dot_str(f, label);
		node_attrs(f, json_integer_value(json_object_get(g, "in_cycle")) > 0,
			   json_integer_value(json_object_get(g, "leaked")) > 0);
		fputs("];\n", f);
		json_object_set_new(drawn, id, json_true());
	}
	if (top > 0 && n > (size_t)top)
		fprintf(f, "\t\"more\" [shape=note, label=\"%zu more groups\\n(--top 0 draws all)\"];\n",
			n - (size_t)top);
	json_array_foreach(json_object_get(groups, "edges"), i, e) {
		const char *from = json_string_value(json_object_get(e, "from"));
		const char *to = json_string_value(json_object_get(e, "to"));
		const char *kind = json_string_value(json_object_get(e, "kind"));
		if (!from || !to || !kind || !json_object_get(drawn, from) || !json_object_get(drawn, to))
			continue;
		char label[64];
		long long c = (long long)json_integer_value(json_object_get(e, "count"));
		snprintf(label, sizeof(label), "%s%s x%lld", json_integer_value(json_object_get(e, "select")) ? "select " : "",
			 kind, c);
		edge_line(f, from, to, kind, label);
	}
	json_decref(drawn);
}

void tli_dot_graph(FILE *f, json_t *graph, int top)
{
	fputs("digraph waitfor {\n\trankdir=LR;\n\tnode [fontname=\"monospace\", fontsize=10];\n", f);
	json_t *groups = json_object_get(graph, "groups");
	if (!json_string_value(json_object_get(graph, "focus")) && json_is_object(groups)) {
		dot_groups(f, groups, top);
		fputs("}\n", f);
		return;
	}
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
		node_attrs(f, json_object_get(incycle, id) != NULL, json_is_true(json_object_get(n, "leaked")));
		fputs("];\n", f);
	}
	json_t *e;
	json_array_foreach(json_object_get(graph, "edges"), i, e) {
		const char *from = json_string_value(json_object_get(e, "from"));
		const char *to = json_string_value(json_object_get(e, "to"));
		const char *kind = json_string_value(json_object_get(e, "kind"));
		if (!from || !to || !kind)
			continue;
		edge_line(f, from, to, kind,
			  json_is_true(json_object_get(e, "select")) ? (!strcmp(kind, "send") ? "select send" : "select recv")
								    : kind);
	}
	fputs("}\n", f);
	json_decref(incycle);
}
