/* SPDX-License-Identifier: MIT */
/* Text printers: chans, chan ADDR, graph, leaks (Go part; the glibc part is the glibc printer). */
#include "text_chans.h"

#include <inttypes.h>
#include <string.h>

#include "render/text_glibc.h"

static const char *js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s;
}

static long long ji(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static void frame_short(FILE *f, json_t *fr)
{
	if (!json_is_object(fr)) {
		fputs("-", f);
		return;
	}
	tli_text_puts_clean(f, js(fr, "function") ? js(fr, "function") : "?");
	fputs(" (", f);
	const char *file = js(fr, "file");
	const char *base = file ? strrchr(file, '/') : NULL;
	tli_text_puts_clean(f, base ? base + 1 : file ? file : "?");
	fprintf(f, ":%lld)", ji(fr, "line"));
}

/* channels listed by default: a service with 20k stuck goroutines has as many channels */
#define CHANS_DEFAULT_TOP 40

void tli_text_chans(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	size_t top = opts && opts->top >= 0 ? (size_t)opts->top : CHANS_DEFAULT_TOP;
	tli_text_header(f, doc);
	json_t *go = json_object_get(doc, "go");
	json_t *list = json_object_get(go, "channels");
	fprintf(f, "%lld channel(s): %lld with waiting goroutines (%lld goroutine(s) waiting), %lld held by globals\n\n",
		ji(go, "channel_count"), ji(go, "channels_with_waiters"), ji(go, "blocked_goroutines"),
		ji(go, "channels_held_by_globals"));
	if (!json_array_size(list))
		return;
	fprintf(f, "%-18s %-24s %9s %7s %7s %9s  %s\n", "ADDRESS", "ELEMTYPE", "LEN/CAP", "CLOSED", "SENDERS",
		"RECEIVERS", "WAITING GOROUTINES / HELD BY");
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c) {
		if (top && i == top) {
			fprintf(f, "... %zu more channel(s) with as many waiters or fewer (--top 0 lists all; --json has every one)\n",
				json_array_size(list) - i);
			break;
		}
		char lc[48];
		if (json_is_integer(json_object_get(c, "len")))
			snprintf(lc, sizeof(lc), "%lld/%lld", ji(c, "len"), ji(c, "cap"));
		else
			snprintf(lc, sizeof(lc), "?");
		char et[25];
		snprintf(et, sizeof(et), "%s", js(c, "elemtype") ? js(c, "elemtype") : "?");
		fprintf(f, "%-18s ", js(c, "address"));
		tli_text_puts_clean(f, et);
		fprintf(f, "%*s %9s %7s %7lld %9lld  ", (int)(24 - strlen(et)), "", lc,
			json_is_true(json_object_get(c, "closed")) ? "yes" : "no", ji(c, "senders"),
			ji(c, "receivers"));
		size_t j;
		json_t *v;
		int n = 0;
		json_array_foreach(json_object_get(c, "sender_ids"), j, v)
			fprintf(f, "%s%lld(send)", n++ ? " " : "", (long long)json_integer_value(v));
		json_array_foreach(json_object_get(c, "receiver_ids"), j, v)
			fprintf(f, "%s%lld(recv)", n++ ? " " : "", (long long)json_integer_value(v));
		json_array_foreach(json_object_get(c, "globals"), j, v) {
			fputs(n++ ? " " : "", f);
			const char *nm = js(v, "name");
			if (nm) {
				fputs("global ", f);
				tli_text_puts_clean(f, nm);
			} else {
				fprintf(f, "global@%s", js(v, "slot") ? js(v, "slot") : "?");
			}
		}
		if (js(c, "unreadable")) {
			fputs("  unreadable: ", f);
			tli_text_puts_clean(f, js(c, "unreadable"));
		}
		fputc('\n', f);
	}
}

static void print_queue(FILE *f, const char *name, json_t *q)
{
	fprintf(f, "%s: %zu\n", name, json_array_size(q));
	size_t i;
	json_t *s;
	json_array_foreach(q, i, s) {
		json_t *g = json_object_get(s, "goroutine");
		if (json_is_integer(g))
			fprintf(f, "  goroutine %-6lld ", (long long)json_integer_value(g));
		else
			fputs("  goroutine ?      ", f);
		fprintf(f, "sudog %s  elem %s%s%s  ", js(s, "sudog") ?: "?", js(s, "elem") ?: "nil",
			json_is_true(json_object_get(s, "is_select")) ? "  select" : "",
			json_is_true(json_object_get(s, "stale")) ? "  (stale: its select already fired)" : "");
		frame_short(f, json_object_get(s, "user"));
		fputc('\n', f);
	}
}

void tli_text_chan(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	(void)opts;
	tli_text_header(f, doc);
	json_t *c = json_object_get(doc, "channel");
	fprintf(f, "channel %s: chan ", js(c, "address") ?: "?");
	tli_text_puts_clean(f, js(c, "elemtype") ? js(c, "elemtype") : "?");
	fprintf(f, " (elemsize %lld)%s%s\n", ji(c, "elemsize"), json_is_true(json_object_get(c, "closed")) ? ", closed" : "",
		json_is_true(json_object_get(c, "timer")) ? ", timer channel" : "");
	fprintf(f, "len %lld / cap %lld, buf %s\n", ji(c, "qcount"), ji(c, "dataqsiz"), js(c, "buf") ?: "?");
	if (js(c, "ring")) {
		fputs("ring: ", f);
		tli_text_puts_clean(f, js(c, "ring"));
		fputc('\n', f);
	}
	json_t *b = json_object_get(c, "buffer");
	if (json_array_size(b)) {
		fputs("buffered (oldest first):\n", f);
		size_t i;
		json_t *e;
		json_array_foreach(b, i, e) {
			json_t *v = json_object_get(e, "value");
			fprintf(f, "  [%lld] ", ji(e, "slot"));
			char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			tli_text_puts_clean(f, d ? d : "?");
			free(d);
			fputc('\n', f);
		}
	}
	print_queue(f, "recvq", json_object_get(c, "recvq"));
	print_queue(f, "sendq", json_object_get(c, "sendq"));
	if (js(c, "unreadable")) {
		fputs("unreadable: ", f);
		tli_text_puts_clean(f, js(c, "unreadable"));
		fputc('\n', f);
	}
	if (js(c, "queue_problem")) {
		fputs("queue problem: ", f);
		tli_text_puts_clean(f, js(c, "queue_problem"));
		fputc('\n', f);
	}
}

void tli_text_leaks(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	(void)opts;
	json_t *go = json_object_get(doc, "go");
	if (json_is_object(go) && json_object_get(go, "leaked_goroutines")) {
		tli_text_header(f, doc);
		json_t *st = json_object_get(go, "leak_stats");
		fprintf(f, "Go: %lld leaked goroutine(s) in %lld group(s) (method: %s", ji(go, "leaked_count"),
			ji(go, "leak_group_count"), js(st, "method") ?: "?");
		if (js(st, "why_no_reachability"))
			fprintf(f, ": %s", js(st, "why_no_reachability"));
		fprintf(f, "; %lld spans, %lld heap bytes, %lld objects reached, %lld fixpoint round(s))\n",
			ji(st, "spans"), ji(st, "heap_bytes"), ji(st, "marked_objects"), ji(st, "iterations"));
		json_t *sm = json_object_get(st, "semtable");
		if (json_is_object(sm)) {
			/* Go <= 1.25: semaphore waiters are found only through runtime.semtable */
			fprintf(f, "semaphore waits (sync.Mutex/RWMutex/WaitGroup): %lld goroutine(s) linked to their "
				"object through runtime.semtable", ji(sm, "linked_goroutines"));
			if (js(sm, "problem")) {
				fputs(" (", f);
				tli_text_puts_clean(f, js(sm, "problem"));
				fputc(')', f);
			}
			fputc('\n', f);
		}
		size_t i;
		json_t *g;
		json_array_foreach(json_object_get(go, "leak_groups"), i, g) {
			fprintf(f, "\n%lld x [", ji(g, "count"));
			tli_text_puts_clean(f, js(g, "wait_reason"));
			fputs("]\n  at         ", f);
			frame_short(f, json_object_get(g, "user"));
			fputs("\n  created by ", f);
			frame_short(f, json_object_get(g, "created_by"));
			fputs("\n  goroutines", f);
			size_t j;
			json_t *v;
			json_array_foreach(json_object_get(g, "ids"), j, v)
				fprintf(f, " %lld", (long long)json_integer_value(v));
			if ((size_t)ji(g, "count") > json_array_size(json_object_get(g, "ids")))
				fputs(" ...", f);
			fputs("\n  why:       ", f);
			tli_text_puts_clean(f, js(g, "evidence"));
			fputc('\n', f);
			if (ji(g, "alike_reachable"))
				fprintf(f, "  and %lld more blocked at the same place whose object is still reachable "
					"(listed under \"not judged\")\n", ji(g, "alike_reachable"));
		}
		json_t *dl = json_object_get(go, "deadlocks");
		json_array_foreach(dl, i, g) {
			fputs("\ndeadlock: goroutines", f);
			size_t j;
			json_t *v;
			json_array_foreach(json_object_get(g, "goroutines"), j, v)
				fprintf(f, " %lld", (long long)json_integer_value(v));
			fputs(" wait on each other through channels", f);
			json_array_foreach(json_object_get(g, "channels"), j, v)
				fprintf(f, " %s", json_string_value(v));
			fputc('\n', f);
		}
		json_t *un = json_object_get(go, "uncertain");
		if (json_array_size(un)) {
			fprintf(f, "\n%zu blocked goroutine(s) not judged (treated as able to run):\n", json_array_size(un));
			json_array_foreach(un, i, g) {
				if (i >= 10) {
					fputs("  ...\n", f);
					break;
				}
				fprintf(f, "  goroutine %lld [", ji(g, "id"));
				tli_text_puts_clean(f, js(g, "wait_reason"));
				fputs("]: ", f);
				tli_text_puts_clean(f, js(g, "why"));
				fputc('\n', f);
			}
		}
		tli_text_leak_explain(f, json_object_get(go, "explain"));
	}
	if (json_object_get(doc, "heap")) {
		if (go)
			fputc('\n', f);
		tli_glibc_render_text(f, "leaks", doc);
	}
}

void tli_graph_group_label(char *buf, size_t cap, json_t *g, const char *sep)
{
	long long n = ji(g, "count");
	const char *kind = js(g, "kind") ? js(g, "kind") : "?";
	if (!strcmp(kind, "channel")) {
		snprintf(buf, cap, "%lld channel%s%schan %s%s(cap %lld%s)", n, n == 1 ? "" : "s", sep,
			 js(g, "elemtype") ? js(g, "elemtype") : "?", sep, ji(g, "cap"),
			 json_is_true(json_object_get(g, "closed")) ? ", closed" : "");
		return;
	}
	json_t *u = json_object_get(g, "user");
	const char *file = js(u, "file");
	const char *base = file ? strrchr(file, '/') : NULL;
	long long leaked = ji(g, "leaked");
	char lk[48] = "";
	if (leaked)
		snprintf(lk, sizeof(lk), "%sleaked: %lld", sep, leaked);
	snprintf(buf, cap, "%lld goroutine%s%s[%s]%s%s (%s:%lld)%s", n, n == 1 ? "" : "s", sep,
		 js(g, "wait_reason") ? js(g, "wait_reason") : js(g, "status") ? js(g, "status") : "?", sep,
		 js(u, "function") ? js(u, "function") : "-", base ? base + 1 : file ? file : "?", ji(u, "line"), lk);
}

static const char *edge_verb(const char *k)
{
	return !strcmp(k, "held-by") ? "is held by" : !strcmp(k, "send") ? "sends to" : "receives from";
}

/* the grouped graph: one line per edge between groups, largest first, then lone groups */
static void text_groups(FILE *f, json_t *gr, int top)
{
	json_t *groups = json_object_get(gr, "groups");
	json_t *gn = json_object_get(groups, "nodes"), *ge = json_object_get(groups, "edges");
	json_t *byid = json_object(), *linked = json_object();
	size_t i;
	json_t *g, *e;
	json_array_foreach(gn, i, g)
		if (js(g, "id"))
			json_object_set(byid, js(g, "id"), g);
	fprintf(f, "%zu node(s), %zu edge(s) in %zu group(s) of the same shape:\n",
		json_array_size(json_object_get(gr, "nodes")), json_array_size(json_object_get(gr, "edges")),
		json_array_size(gn));
	size_t shown = 0, n = json_array_size(ge);
	json_array_foreach(ge, i, e) {
		json_t *a = json_object_get(byid, js(e, "from") ? js(e, "from") : "");
		json_t *b = json_object_get(byid, js(e, "to") ? js(e, "to") : "");
		if (!a || !b)
			continue;
		json_object_set_new(linked, js(e, "from"), json_true());
		json_object_set_new(linked, js(e, "to"), json_true());
		if (top > 0 && shown >= (size_t)top)
			continue;
		char la[600], lb[600];
		tli_graph_group_label(la, sizeof(la), a, " ");
		tli_graph_group_label(lb, sizeof(lb), b, " ");
		fprintf(f, "  %s: ", js(a, "id"));
		tli_text_puts_clean(f, la);
		fprintf(f, "\n      %s (%lld edge%s)  %s: ", edge_verb(js(e, "kind") ? js(e, "kind") : "?"), ji(e, "count"),
			ji(e, "count") == 1 ? "" : "s", js(b, "id"));
		tli_text_puts_clean(f, lb);
		fputc('\n', f);
		shown++;
	}
	if (shown < n)
		fprintf(f, "  ... %zu more edge group(s) (--top 0 shows all)\n", n - shown);
	json_array_foreach(gn, i, g) {
		if (json_object_get(linked, js(g, "id") ? js(g, "id") : ""))
			continue;
		char l[600];
		tli_graph_group_label(l, sizeof(l), g, " ");
		fprintf(f, "  %s: ", js(g, "id") ? js(g, "id") : "?");
		tli_text_puts_clean(f, l);
		fputs("  (waits on nothing)\n", f);
	}
	json_decref(byid);
	json_decref(linked);
}

void tli_text_graph(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	json_t *gr = json_object_get(doc, "graph");
	int top = opts->top < 0 ? TLI_GRAPH_DEFAULT_TOP : opts->top;
	const char *r = js(gr, "render");
	if (r && !strcmp(r, "dot")) {
		tli_dot_graph(f, gr, top);
		return;
	}
	tli_text_header(f, doc);
	size_t i;
	json_t *e;
	if (!js(gr, "focus") && json_is_object(json_object_get(gr, "groups"))) {
		text_groups(f, gr, top);
	} else {
		fprintf(f, "%zu node(s), %zu edge(s)\n", json_array_size(json_object_get(gr, "nodes")),
			json_array_size(json_object_get(gr, "edges")));
		json_array_foreach(json_object_get(gr, "edges"), i, e) {
			const char *k = js(e, "kind") ?: "?";
			fprintf(f, "  %-20s %-14s %s\n", js(e, "from") ?: "?", edge_verb(k), js(e, "to") ?: "?");
		}
	}
	json_array_foreach(json_object_get(gr, "cycles"), i, e) {
		fputs("cycle (possible deadlock): goroutines", f);
		size_t j;
		json_t *v;
		json_array_foreach(json_object_get(e, "goroutines"), j, v)
			fprintf(f, " %lld", (long long)json_integer_value(v));
		fputc('\n', f);
	}
}
