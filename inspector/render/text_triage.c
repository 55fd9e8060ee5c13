/* SPDX-License-Identifier: MIT */
/*
 * The first screen's sections after the goroutine summary (overtime.h tli_ot_triage): leaked
 * goroutines, memory (Go memstats, the top live types, glibc), pools (connection pools'
 * saturation, waiters and leaked connections; oversized maps), timers. A fixed number of lines
 * whatever the program's size: at most TRIAGE_LINES. Reads only the result tree.
 */
#include "render.h"

#include <stdio.h>
#include <string.h>

#define TYPES_SHOWN 3
#define POOLS_SHOWN 3
#define TIMERS_SHOWN 3

static long long ival(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (long long)json_integer_value(v) : json_is_array(v) ? (long long)json_array_size(v) : 0;
}

static const char *human(char *buf, size_t cap, double v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", v, units[u]);
	return buf;
}

bool tli_text_triage_present(const json_t *doc)
{
	const json_t *go = json_object_get(doc, "go");
	return json_object_get(go, "leaked_count") || json_object_get(go, "memstats") ||
	       json_object_get(go, "memstats_unreadable");
}

static void memory(FILE *f, const json_t *doc, const json_t *go)
{
	char a[32], b[32], c[32], d[32];
	const json_t *ms = json_object_get(go, "memstats");
	if (ms)
		fprintf(f, "\nmemory: Go heap %s allocated (%lld objects), %s in use, %s from the OS; next GC at %s, %lld GCs\n",
			human(a, sizeof(a), (double)ival(ms, "heap_alloc")), ival(ms, "heap_objects"),
			human(b, sizeof(b), (double)ival(ms, "heap_inuse")), human(c, sizeof(c), (double)ival(ms, "sys")),
			human(d, sizeof(d), (double)ival(ms, "next_gc")), ival(ms, "num_gc"));
	else
		fprintf(f, "\nmemory: Go memstats unreadable: %s\n",
			json_string_value(json_object_get(go, "memstats_unreadable")) ?: "?");
	const json_t *types = json_object_get(go, "types");
	if (json_array_size(types)) {
		fprintf(f, "  live %s in %lld objects; largest types:", human(a, sizeof(a), (double)ival(go, "live_bytes")),
			ival(go, "live_objects"));
		size_t i;
		json_t *t;
		json_array_foreach(types, i, t) {
			if (i >= TYPES_SHOWN)
				break;
			fprintf(f, "%s %s ", i ? "," : "", human(a, sizeof(a), (double)ival(t, "bytes")));
			tli_text_puts_clean(f, json_string_value(json_object_get(t, "type")) ?: "?");
			fprintf(f, " x%lld", ival(t, "objects"));
		}
		fputc('\n', f);
	} else if (json_is_string(json_object_get(go, "types_unreadable"))) {
		fputs("  live types unreadable: ", f);
		tli_text_puts_clean(f, json_string_value(json_object_get(go, "types_unreadable")));
		fputc('\n', f);
	}
	const json_t *mi = json_object_get(json_object_get(doc, "glibc"), "mallinfo2");
	if (mi)
		fprintf(f, "  glibc malloc: %s in use, %s free in the arenas, %s mmapped (%lld chunks)\n",
			human(a, sizeof(a), (double)ival(mi, "uordblks")), human(b, sizeof(b), (double)ival(mi, "fordblks")),
			human(c, sizeof(c), (double)ival(mi, "hblkhd")), ival(mi, "hblks"));
}

/* one connection pool: "sql_dbs main.db: 5/5 in use (saturated), 0 idle, 2 waiting, 2 leaked" */
static void pool_line(FILE *f, const char *kind, const json_t *p)
{
	const char *name = json_string_value(json_object_get(p, "name"));
	fputs("  ", f);
	tli_text_puts_clean(f, kind);
	fputc(' ', f);
	tli_text_puts_clean(f, name ? name : json_string_value(json_object_get(p, "address")) ?: "?");
	long long in_use = ival(p, "in_use"), max = ival(p, "max_open");
	fprintf(f, ": %lld", in_use);
	if (max > 0)
		fprintf(f, "/%lld", max);
	fprintf(f, " in use%s, %lld idle, %lld waiting", max > 0 && in_use >= max ? " (saturated)" : "", ival(p, "idle"),
		ival(p, "waiters"));
	json_t *lk = json_object_get(p, "leaked");
	if (json_is_integer(lk))
		fprintf(f, ", %lld leaked", (long long)json_integer_value(lk));
	fputc('\n', f);
}

static void pools(FILE *f, const json_t *go)
{
	const json_t *p = json_object_get(go, "pools");
	if (!json_is_object(p)) {
		fputs("\npools: unreadable\n", f);
		return;
	}
	size_t shown = 0, more = 0, npools = 0;
	const char *kind;
	json_t *list;
	fputs("\npools:", f);
	long long mt = ival(p, "maps_total");
	if (json_is_integer(json_object_get(p, "maps_total")))
		fprintf(f, " %lld maps", mt);
	size_t over = 0;
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(p, "maps"), i, r)
		over += json_is_true(json_object_get(r, "oversized"));
	if (over)
		fprintf(f, " (%zu oversized: `pools`)", over);
	json_object_foreach((json_t *)p, kind, list)
		json_array_foreach(list, i, r)
			npools += json_is_object(r) && json_object_get(r, "in_use");
	fprintf(f, ", %zu connection pool%s\n", npools, npools == 1 ? "" : "s");
	json_object_foreach((json_t *)p, kind, list) {
		json_array_foreach(list, i, r) {
			if (!json_is_object(r) || !json_object_get(r, "in_use"))
				continue;
			if (shown < POOLS_SHOWN) {
				pool_line(f, kind, r);
				shown++;
			} else {
				more++;
			}
		}
	}
	if (more)
		fprintf(f, "  ... %zu more pool(s): `pools`\n", more);
}

static void timers(FILE *f, const json_t *go)
{
	const json_t *t = json_object_get(go, "timers");
	if (!t) {
		fputs("\ntimers: unreadable: ", f);
		tli_text_puts_clean(f, json_string_value(json_object_get(go, "timers_unreadable")) ?: "?");
		fputc('\n', f);
		return;
	}
	const json_t *groups = json_object_get(t, "groups");
	fprintf(f, "\ntimers: %lld in %zu group%s", ival(t, "count"), json_array_size(groups),
		json_array_size(groups) == 1 ? "" : "s");
	size_t i;
	json_t *g;
	json_array_foreach(groups, i, g) {
		if (i >= TIMERS_SHOWN) {
			fputs(", ...", f);
			break;
		}
		fprintf(f, "%s %lld ", i ? "," : ":", ival(g, "count"));
		tli_text_puts_clean(f, json_string_value(json_object_get(g, "kind")) ?: "?");
		fputc(' ', f);
		tli_text_puts_clean(f, json_string_value(json_object_get(g, "function")) ?: "?");
	}
	fputc('\n', f);
}

void tli_text_triage(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	(void)opts;
	const json_t *go = json_object_get(doc, "go");
	json_t *lk = json_object_get(go, "leaked_count");
	if (json_is_integer(lk))
		fprintf(f, "\nleaked: %lld goroutine%s blocked forever%s (`leaks` for the report)\n",
			(long long)json_integer_value(lk), json_integer_value(lk) == 1 ? "" : "s",
			json_object_get(go, "leaked_partial") ? " at least" : "");
	else if (json_is_string(json_object_get(go, "leaked_unreadable")))
		fprintf(f, "\nleaked: not judged: %s\n", json_string_value(json_object_get(go, "leaked_unreadable")));
	memory(f, doc, go);
	pools(f, go);
	timers(f, go);
}
