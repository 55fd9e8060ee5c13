/* SPDX-License-Identifier: MIT */
/* The Go section of `heap` as text: memstats in a few lines, then the top size classes. */
#include "render/text_goheap.h"

#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "render.h"

/* "3.6 MiB" */
static const char *human(char *buf, size_t cap, double v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	int u = 0;
	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, cap, "%.0f B", v);
	else
		snprintf(buf, cap, "%.1f %s", v, units[u]);
	return buf;
}

/* a memstats figure; false if absent (unreadable) */
static bool fig(json_t *ms, const char *k, double *v)
{
	json_t *x = json_object_get(ms, k);
	if (!json_is_integer(x))
		return false;
	*v = (double)json_integer_value(x);
	return true;
}

/* " label SIZE" or " label ?" */
static void size_item(FILE *f, json_t *ms, const char *label, const char *k)
{
	char b[32];
	double v;
	fprintf(f, "%s %s", label, fig(ms, k, &v) ? human(b, sizeof(b), v) : "?");
}

static void count_item(FILE *f, json_t *ms, const char *label, const char *k)
{
	double v;
	if (fig(ms, k, &v))
		fprintf(f, "%s%.0f", label, v);
	else
		fprintf(f, "%s?", label);
}

static void memstats_lines(FILE *f, json_t *go)
{
	json_t *ms = json_object_get(go, "memstats");
	const char *ver = json_string_value(json_object_get(go, "go_version"));
	char b[32];
	double v;
	fprintf(f, "Go heap (%s):", ver ? ver : "go version unknown");
	size_item(f, ms, "", "heap_alloc");
	count_item(f, ms, " in ", "heap_objects");
	fputs(" objects;", f);
	size_item(f, ms, " in use", "heap_inuse");
	size_item(f, ms, ", idle", "heap_idle");
	size_item(f, ms, " (released", "heap_released");
	size_item(f, ms, "), heap sys", "heap_sys");
	size_item(f, ms, "; total sys", "sys");
	fputc('\n', f);
	count_item(f, ms, "  GC: ", "num_gc");
	count_item(f, ms, " cycles (", "num_forced_gc");
	double nx;
	if (fig(ms, "next_gc", &nx) && nx >= 4.6e18) /* no goal (GOGC off, no memory limit): about 2^63 */
		fputs(" forced), no next GC", f);
	else
		size_item(f, ms, " forced), next GC at", "next_gc");
	if (fig(ms, "gogc", &v) && v < 0)
		fputs(", GOGC off", f);
	else
		count_item(f, ms, ", GOGC ", "gogc");
	if (fig(ms, "memory_limit", &v) && v >= 9.2e18)
		fputs(", no memory limit", f);
	else
		size_item(f, ms, ", memory limit", "memory_limit");
	if (fig(ms, "pause_total_ns", &v))
		fprintf(f, ", pauses %.3f ms", v / 1e6);
	if (fig(ms, "last_gc", &v) && v > 0) {
		time_t t = (time_t)(v / 1e9);
		struct tm tm;
		if (gmtime_r(&t, &tm) && strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S", &tm))
			fprintf(f, ", last %s UTC", b);
	}
	fputc('\n', f);
	size_item(f, ms, "  allocated", "total_alloc");
	count_item(f, ms, " in total: ", "mallocs");
	count_item(f, ms, " mallocs, ", "frees");
	fputs(" frees\n", f);
	size_item(f, ms, "  stacks", "stack_inuse");
	size_item(f, ms, " (sys", "stack_sys");
	size_item(f, ms, "), mspan", "mspan_inuse");
	size_item(f, ms, " (sys", "mspan_sys");
	size_item(f, ms, "), mcache", "mcache_inuse");
	size_item(f, ms, " (sys", "mcache_sys");
	size_item(f, ms, "), profiling", "buck_hash_sys");
	size_item(f, ms, ", GC", "gc_sys");
	size_item(f, ms, ", other", "other_sys");
	fputc('\n', f);
	json_t *un = json_object_get(go, "memstats_unreadable"), *u;
	size_t i;
	json_array_foreach(un, i, u) {
		fputs("  unreadable: ", f);
		tli_text_puts_clean(f, json_string_value(json_object_get(u, "field")));
		fputs(" (", f);
		tli_text_puts_clean(f, json_string_value(json_object_get(u, "reason")));
		fputs(")\n", f);
	}
}

static json_int_t ival(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static int by_bytes(const void *a, const void *b)
{
	json_int_t x = ival(*(json_t *const *)a, "bytes_inuse"), y = ival(*(json_t *const *)b, "bytes_inuse");
	return x < y ? 1 : x > y ? -1 : 0;
}

static void classes_table(FILE *f, json_t *go, int top)
{
	json_t *sc = json_object_get(go, "size_classes"), *sp = json_object_get(go, "spans");
	char b[32], c[32];
	if (!json_is_array(sc)) {
		fputs("  size classes: unreadable (", f);
		tli_text_puts_clean(f, json_string_value(json_object_get(go, "size_classes_unreadable")));
		fputs(")\n", f);
		return;
	}
	size_t n = json_array_size(sc), shown = top < 0 ? 10 : top == 0 ? n : (size_t)top;
	json_t **rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows)
		return;
	for (size_t i = 0; i < n; i++)
		rows[i] = json_array_get(sc, i);
	qsort(rows, n, sizeof(*rows), by_bytes);
	fprintf(f, "\n  in-use spans: %" JSON_INTEGER_FORMAT " (%s), %" JSON_INTEGER_FORMAT " objects, %s in use\n",
		ival(sp, "count"), human(b, sizeof(b), (double)ival(sp, "bytes")), ival(sp, "objects"),
		human(c, sizeof(c), (double)ival(sp, "bytes_inuse")));
	fprintf(f, "  top size classes by bytes in use (%zu of %zu):\n", shown < n ? shown : n, n);
	fprintf(f, "  %5s  %8s  %7s  %9s  %10s\n", "class", "size", "spans", "objects", "in use");
	for (size_t i = 0; i < n && i < shown; i++) {
		json_t *r = rows[i];
		json_int_t cls = ival(r, "class");
		if (cls == 0)
			snprintf(c, sizeof(c), "large");
		else
			snprintf(c, sizeof(c), "%" JSON_INTEGER_FORMAT, ival(r, "size"));
		fprintf(f, "  %5" JSON_INTEGER_FORMAT "  %8s  %7" JSON_INTEGER_FORMAT "  %9" JSON_INTEGER_FORMAT "  %10s\n",
			cls, c, ival(r, "spans"), ival(r, "objects"), human(b, sizeof(b), (double)ival(r, "bytes_inuse")));
	}
	free(rows);
}

void tli_goheap_render_text(FILE *f, json_t *doc, int top)
{
	json_t *go = json_object_get(doc, "go");
	if (!go)
		return;
	memstats_lines(f, go);
	classes_table(f, go, top);
}
