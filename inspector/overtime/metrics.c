/* SPDX-License-Identifier: MIT */
/*
 * `metrics`: a snapshot (and a leaks result) as metric families for Prometheus's text
 * exposition format (render/ prints them). Names follow Prometheus's conventions: prefix
 * tlinspect_, base units (_bytes), counts without unit, one family per meaning, the varying
 * part in labels (state, wait_reason, type).
 */
#include "overtime.h"

#include <string.h>

#define TOP_GROUPS 10
#define TOP_TYPES 10

static json_t *family(json_t *out, const char *name, const char *type, const char *help)
{
	json_t *f = json_object();
	json_object_set_new(f, "name", json_string(name));
	json_object_set_new(f, "type", json_string(type));
	json_object_set_new(f, "help", json_string(help));
	json_object_set_new(f, "samples", json_array());
	json_array_append_new(out, f);
	return f;
}

/* a sample; labels: NULL-terminated name, value pairs (a NULL value is left out) */
static void sample(json_t *fam, double v, const char *const *labels)
{
	json_t *s = json_object(), *l = json_object();
	for (size_t i = 0; labels && labels[i]; i += 2)
		if (labels[i + 1])
			json_object_set_new(l, labels[i], json_string(labels[i + 1]));
	json_object_set_new(s, "labels", l);
	json_object_set_new(s, "value", json_real(v));
	json_array_append_new(json_object_get(fam, "samples"), s);
}

static void one(json_t *out, const char *name, const char *type, const char *help, const json_t *v)
{
	if (!json_is_number(v))
		return;
	sample(family(out, name, type, help), json_number_value(v), NULL);
}

static void goroutines(json_t *out, const json_t *go)
{
	const char *k;
	json_t *v;
	json_t *f = family(out, "tlinspect_go_goroutines", "gauge", "Goroutines by status (system goroutines included).");
	json_object_foreach(json_object_get(go, "by_status"), k, v) {
		const char *l[] = { "state", k, NULL };
		sample(f, json_number_value(v), l);
	}
	f = family(out, "tlinspect_go_goroutines_waiting", "gauge", "Waiting goroutines by wait reason.");
	json_object_foreach(json_object_get(go, "by_wait_reason"), k, v) {
		const char *l[] = { "wait_reason", k, NULL };
		sample(f, json_number_value(v), l);
	}
	one(out, "tlinspect_go_goroutines_system", "gauge", "Runtime-internal (system) goroutines.",
	    json_object_get(go, "system"));
	f = family(out, "tlinspect_go_goroutine_group_goroutines", "gauge",
		   "Goroutines of the largest groups (same wait reason, user frame, creation site and pprof labels).");
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(go, "goroutine_groups"), i, g) {
		if (i >= TOP_GROUPS)
			break;
		json_t *key = json_object_get(g, "key");
		/* groups that differ only by their pprof labels: "k=v,k2=v2" tells them apart */
		char labels[512] = "";
		size_t used = 0;
		const char *lk;
		json_t *lv;
		json_object_foreach(json_object_get(key, "labels"), lk, lv)
			if (used < sizeof(labels))
				used += (size_t)snprintf(labels + used, sizeof(labels) - used, "%s%s=%s", used ? "," : "",
							 lk, json_string_value(lv) ? json_string_value(lv) : "");
		const char *l[] = { "wait_reason", json_string_value(json_object_get(key, "wait_reason")),
				    "user", json_string_value(json_object_get(key, "user")),
				    "created_by", json_string_value(json_object_get(key, "created_by")),
				    "pprof_labels", labels[0] ? labels : NULL, NULL };
		sample(f, json_number_value(json_object_get(g, "count")), l);
	}
}

static void goheap(json_t *out, const json_t *go)
{
	const json_t *ms = json_object_get(go, "memstats");
	static const struct { const char *key, *name, *type, *help; } m[] = {
		{ "heap_alloc", "tlinspect_go_heap_alloc_bytes", "gauge", "Bytes of allocated heap objects (MemStats.HeapAlloc)." },
		{ "heap_inuse", "tlinspect_go_heap_inuse_bytes", "gauge", "Bytes in in-use spans (MemStats.HeapInuse)." },
		{ "heap_sys", "tlinspect_go_heap_sys_bytes", "gauge", "Heap bytes obtained from the OS (MemStats.HeapSys)." },
		{ "heap_objects", "tlinspect_go_heap_objects", "gauge", "Allocated heap objects (MemStats.HeapObjects)." },
		{ "stack_inuse", "tlinspect_go_stack_inuse_bytes", "gauge", "Bytes in stack spans (MemStats.StackInuse)." },
		{ "sys", "tlinspect_go_sys_bytes", "gauge", "Bytes obtained from the OS (MemStats.Sys)." },
		{ "next_gc", "tlinspect_go_next_gc_bytes", "gauge", "Heap size target of the next GC (MemStats.NextGC)." },
		{ "num_gc", "tlinspect_go_gc_cycles_total", "counter", "Completed GC cycles (MemStats.NumGC)." },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		one(out, m[i].name, m[i].type, m[i].help, json_object_get(ms, m[i].key));
	one(out, "tlinspect_go_live_bytes", "gauge", "Bytes of live (reachable) heap objects.", json_object_get(go, "live_bytes"));
	one(out, "tlinspect_go_live_objects", "gauge", "Live (reachable) heap objects.", json_object_get(go, "live_objects"));
	json_t *fb = family(out, "tlinspect_go_type_live_bytes", "gauge", "Bytes of live heap objects of the largest types.");
	json_t *fo = family(out, "tlinspect_go_type_live_objects", "gauge", "Live heap objects of the largest types.");
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(go, "types"), i, t) {
		if (i >= TOP_TYPES)
			break;
		const char *l[] = { "type", json_string_value(json_object_get(t, "type")), NULL };
		sample(fb, json_number_value(json_object_get(t, "bytes")), l);
		sample(fo, json_number_value(json_object_get(t, "objects")), l);
	}
}

static void glibc(json_t *out, const json_t *gl)
{
	const json_t *mi = json_object_get(gl, "mallinfo2");
	static const struct { const char *key, *name, *help; } m[] = {
		{ "arena", "tlinspect_glibc_arena_bytes", "Bytes of the arenas' heaps (mallinfo2 arena)." },
		{ "uordblks", "tlinspect_glibc_inuse_bytes", "Bytes in allocated chunks (mallinfo2 uordblks)." },
		{ "fordblks", "tlinspect_glibc_free_bytes", "Bytes in free chunks (mallinfo2 fordblks)." },
		{ "hblkhd", "tlinspect_glibc_mmapped_bytes", "Bytes in mmapped chunks (mallinfo2 hblkhd)." },
		{ "hblks", "tlinspect_glibc_mmapped_chunks", "Mmapped chunks (mallinfo2 hblks)." },
		{ "keepcost", "tlinspect_glibc_top_releasable_bytes", "Releasable bytes at the top (mallinfo2 keepcost)." },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		one(out, m[i].name, "gauge", m[i].help, json_object_get(mi, m[i].key));
}

/* a figure of a pool row: an integer, or the length of a list (waiters: goroutine ids) */
static bool pool_figure(const json_t *row, const char *k, double *v)
{
	json_t *x = json_object_get(row, k);
	if (json_is_integer(x))
		*v = (double)json_integer_value(x);
	else if (json_is_array(x))
		*v = (double)json_array_size(x);
	else
		return false;
	return true;
}

/* every list of go.pools whose rows have connections (sql_dbs, and whatever kind comes next
 * with in_use/idle/waiters/leaked): one sample per pool, labelled by list and root (or address) */
static void pools(json_t *out, const json_t *go)
{
	json_t *fc = family(out, "tlinspect_go_pool_connections", "gauge",
			    "Connections of a pool by state (in_use, idle).");
	json_t *fw = family(out, "tlinspect_go_pool_waiters", "gauge", "Goroutines waiting for a connection of a pool.");
	json_t *fl = family(out, "tlinspect_go_pool_leaked_connections", "gauge",
			    "In-use connections of a pool that only the pool's own bookkeeping still reaches.");
	const char *kind;
	json_t *list;
	json_object_foreach(json_object_get(go, "pools"), kind, list) {
		size_t i;
		json_t *row;
		json_array_foreach(list, i, row) {
			double v;
			if (!json_is_object(row) || !pool_figure(row, "in_use", &v))
				continue;
			const char *name = json_string_value(json_object_get(row, "name"));
			const char *pool = name ? name : json_string_value(json_object_get(row, "address"));
			const char *in[] = { "kind", kind, "pool", pool, "state", "in_use", NULL };
			sample(fc, v, in);
			if (pool_figure(row, "idle", &v)) {
				const char *id[] = { "kind", kind, "pool", pool, "state", "idle", NULL };
				sample(fc, v, id);
			}
			const char *l[] = { "kind", kind, "pool", pool, NULL };
			if (pool_figure(row, "waiters", &v))
				sample(fw, v, l);
			if (pool_figure(row, "leaked", &v))
				sample(fl, v, l);
		}
	}
}

/* go.timers: the total and the groups (by function and kind) */
static void timers(json_t *out, const json_t *go)
{
	const json_t *t = json_object_get(go, "timers");
	one(out, "tlinspect_go_timers", "gauge", "Timers in the Ps' timer heaps (AfterFunc, timers, tickers, sleeps).",
	    json_object_get(t, "count"));
	json_t *f = family(out, "tlinspect_go_timer_group_timers", "gauge", "Timers by function and kind.");
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(t, "groups"), i, g) {
		if (i >= TOP_GROUPS)
			break;
		const char *l[] = { "function", json_string_value(json_object_get(g, "function")),
				    "kind", json_string_value(json_object_get(g, "kind")), NULL };
		sample(f, json_number_value(json_object_get(g, "count")), l);
	}
}

void tli_ot_metrics(const json_t *snap, const json_t *leaks, json_t *result)
{
	json_t *out = json_array();
	json_t *go = json_object_get(snap, "go");
	if (json_is_object(go)) {
		goroutines(out, go);
		one(out, "tlinspect_go_goroutines_leaked", "gauge",
		    "Goroutines blocked forever (nothing able to run can reach what they wait on).",
		    json_object_get(json_object_get(leaks, "go"), "leaked_count"));
		goheap(out, go);
		pools(out, go);
		timers(out, go);
	}
	json_t *gl = json_object_get(snap, "glibc");
	if (json_is_object(gl)) {
		glibc(out, gl);
		json_t *un = json_object_get(json_object_get(leaks, "heap"), "unreachable");
		one(out, "tlinspect_glibc_leaked_chunks", "gauge", "Allocated chunks no root reaches.",
		    json_object_get(un, "count"));
		one(out, "tlinspect_glibc_leaked_bytes", "gauge", "Bytes of allocated chunks no root reaches.",
		    json_object_get(un, "bytes"));
	}
	/* families without samples are left out (a type list that was unreadable) */
	json_t *kept = json_array();
	size_t i;
	json_t *f;
	json_array_foreach(out, i, f)
		if (json_array_size(json_object_get(f, "samples")))
			json_array_append(kept, f);
	json_decref(out);
	json_object_set_new(result, "metrics", kept);
}
