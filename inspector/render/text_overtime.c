/* SPDX-License-Identifier: MIT */
/* Text views of snapshot, diff, watch and metrics (inspector/overtime/): they read only the tree. */
#include "render.h"

#include <math.h>
#include <string.h>

static long long ival(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (long long)json_integer_value(v) : json_is_real(v) ? (long long)json_real_value(v) : 0;
}

static const char *sval(const json_t *o, const char *k, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : dflt;
}

static void rate(FILE *f, const json_t *row)
{
	json_t *pm = json_object_get(row, "per_minute");
	if (json_is_number(pm))
		fprintf(f, " (%+.1f/min)", json_number_value(pm));
}

static void group_key(FILE *f, const json_t *key)
{
	tli_text_puts_clean(f, sval(key, "wait_reason", "?"));
	fputs("  ", f);
	tli_text_puts_clean(f, sval(key, "user", "(no user frame)"));
	const char *cb = sval(key, "created_by", NULL);
	if (cb) {
		fputs("  created by ", f);
		tli_text_puts_clean(f, cb);
	}
	json_t *labels = json_object_get(key, "labels");
	const char *k;
	json_t *v;
	const char *sep = "  labels ";
	json_object_foreach(labels, k, v) {
		fputs(sep, f);
		tli_text_puts_clean(f, k);
		fputc('=', f);
		tli_text_puts_clean(f, json_string_value(v) ? json_string_value(v) : "?");
		sep = ",";
	}
}

/* diff.pools and diff.timers */
static void pools_timers(FILE *f, const json_t *d)
{
	size_t i;
	json_t *r;
	json_t *pools = json_object_get(d, "pools");
	if (json_array_size(pools))
		fputs("\npools (list, root or address: figures that moved):\n", f);
	json_array_foreach(pools, i, r) {
		fputs("  ", f);
		tli_text_puts_clean(f, sval(r, "kind", "?"));
		fputc(' ', f);
		tli_text_puts_clean(f, sval(r, "key", "?"));
		if (json_is_null(json_object_get(r, "before")))
			fputs(" (new)", f);
		else if (json_is_null(json_object_get(r, "after")))
			fputs(" (gone)", f);
		fputc(':', f);
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(r, "delta"), k, v) {
			const json_t *b = json_object_get(r, "before"), *a = json_object_get(r, "after");
			fprintf(f, " %s %lld -> %lld (%+lld)", k, ival(b, k), ival(a, k), (long long)json_integer_value(v));
		}
		fputc('\n', f);
	}
	json_t *t = json_object_get(d, "timers"), *tg = json_object_get(t, "groups");
	if (ival(t, "delta") || json_array_size(tg))
		fprintf(f, "\ntimers: %lld -> %lld (%+lld)\n", ival(t, "before"), ival(t, "after"), ival(t, "delta"));
	json_array_foreach(tg, i, r) {
		fprintf(f, "  %+6lld  %lld -> %lld  %s ", ival(r, "delta"), ival(r, "before"), ival(r, "after"),
			sval(r, "kind", "?"));
		tli_text_puts_clean(f, sval(r, "function", "?"));
		rate(f, r);
		fputc('\n', f);
	}
}

static void text_snapshot(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	(void)opts;
	json_t *go = json_object_get(doc, "go"), *gl = json_object_get(doc, "glibc");
	fputs("snapshot written to ", f);
	tli_text_puts_clean(f, sval(doc, "file", "?"));
	fprintf(f, " (%s)\n", sval(json_object_get(doc, "time"), "utc", "?"));
	if (json_is_object(go))
		fprintf(f, "  Go: %lld goroutines in %zu groups, %zu channels with waiters, %lld live objects "
			"(%lld bytes) of %zu types\n", ival(go, "goroutine_count"),
			json_array_size(json_object_get(go, "goroutine_groups")),
			json_array_size(json_object_get(go, "channels")), ival(go, "live_objects"),
			ival(go, "live_bytes"), json_array_size(json_object_get(go, "types")));
	if (json_is_object(go)) {
		const json_t *p = json_object_get(go, "pools");
		fprintf(f, "  pools: %zu sql.DB, %zu maps, %zu sync.Maps; timers: %lld\n",
			json_array_size(json_object_get(p, "sql_dbs")), json_array_size(json_object_get(p, "maps")),
			json_array_size(json_object_get(p, "sync_maps")), ival(json_object_get(go, "timers"), "count"));
	}
	if (json_is_object(gl))
		fprintf(f, "  glibc: %lld bytes in use, %lld free (mallinfo2)\n",
			ival(json_object_get(gl, "mallinfo2"), "uordblks"), ival(json_object_get(gl, "mallinfo2"), "fordblks"));
}

static void figures(FILE *f, const char *title, const json_t *rows)
{
	if (!json_array_size(rows))
		return;
	fprintf(f, "\n%s:\n", title);
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		fprintf(f, "  %-28s %lld -> %lld (%+lld)", sval(r, "name", "?"), ival(r, "before"), ival(r, "after"),
			ival(r, "delta"));
		rate(f, r);
		fputc('\n', f);
	}
}

static void text_diff(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	(void)opts;
	json_t *d = json_object_get(doc, "diff");
	json_t *a = json_object_get(d, "before"), *b = json_object_get(d, "after");
	json_t *groups = json_object_get(d, "goroutine_groups"), *types = json_object_get(d, "types");
	fprintf(f, "diff %s (%s) -> %s (%s), %.1f s apart\n", sval(a, "file", "?"), sval(a, "utc", "?"),
		sval(b, "file", "?"), sval(b, "utc", "?"), json_number_value(json_object_get(d, "seconds")));
	if (!json_is_true(json_object_get(d, "same_exe")))
		fputs("note: the snapshots are of different executables\n", f);
	json_t *g0 = json_array_get(groups, 0), *t0 = json_array_get(types, 0);
	if (g0 && ival(g0, "delta") > 0) {
		fprintf(f, "biggest growth: %+lld goroutines", ival(g0, "delta"));
		rate(f, g0);
		fputs(" in ", f);
		group_key(f, json_object_get(g0, "key"));
		fputc('\n', f);
	}
	if (t0 && ival(t0, "bytes_delta") > 0) {
		fprintf(f, "biggest growth: %+lld bytes (%+lld objects)", ival(t0, "bytes_delta"), ival(t0, "objects_delta"));
		rate(f, t0);
		fputs(" of ", f);
		tli_text_puts_clean(f, sval(t0, "type", "?"));
		fputc('\n', f);
	}
	json_t *gd = json_object_get(d, "goroutines");
	if (json_is_integer(json_object_get(a, "goroutines")) || json_is_integer(json_object_get(b, "goroutines"))) {
		fprintf(f, "\ngoroutines: %lld -> %lld (%+lld)", ival(gd, "before"), ival(gd, "after"), ival(gd, "delta"));
		rate(f, gd);
		fputc('\n', f);
	}
	if (!json_array_size(groups) && !json_array_size(types) && !json_array_size(json_object_get(d, "memstats")) &&
	    !json_array_size(json_object_get(d, "glibc")) && !json_array_size(json_object_get(d, "pools")) &&
	    !ival(json_object_get(d, "timers"), "delta") &&
	    !json_array_size(json_object_get(json_object_get(d, "timers"), "groups")))
		fputs("nothing moved\n", f);
	size_t i;
	json_t *r;
	if (json_array_size(groups))
		fputs("\ngoroutine groups (delta, before -> after, wait reason, user frame, creator):\n", f);
	json_array_foreach(groups, i, r) {
		fprintf(f, "  %+6lld  %lld -> %lld  ", ival(r, "delta"), ival(r, "before"), ival(r, "after"));
		group_key(f, json_object_get(r, "key"));
		rate(f, r);
		fputc('\n', f);
	}
	if (json_array_size(types))
		fputs("\nlive Go objects by type (objects, bytes):\n", f);
	json_array_foreach(types, i, r) {
		fprintf(f, "  %+8lld objects %+12lld B  %lld -> %lld  ", ival(r, "objects_delta"), ival(r, "bytes_delta"),
			ival(r, "objects_before"), ival(r, "objects_after"));
		tli_text_puts_clean(f, sval(r, "type", "?"));
		rate(f, r);
		fputc('\n', f);
	}
	pools_timers(f, d);
	figures(f, "Go memstats", json_object_get(d, "memstats"));
	figures(f, "glibc", json_object_get(d, "glibc"));
}

static void series(FILE *f, const json_t *s)
{
	const char *kind = sval(s, "kind", "?");
	json_t *key = json_object_get(s, "key");
	fprintf(f, "  %-8s %-15s ", sval(s, "verdict", "?"), kind);
	if (json_is_object(key))
		group_key(f, key);
	else
		tli_text_puts_clean(f, json_string_value(key) ? json_string_value(key) : "?");
	fprintf(f, "\n           %+.1f/min, samples", json_number_value(json_object_get(s, "slope_per_minute")));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(s, "samples"), i, v) {
		if (i >= 20) {
			fputs(" ...", f);
			break;
		}
		fprintf(f, " %lld", (long long)json_integer_value(v));
	}
	fputc('\n', f);
}

static void text_watch(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	(void)opts;
	json_t *w = json_object_get(doc, "watch");
	fprintf(f, "watch: %lld samples over %.1f s%s\n", ival(w, "samples_taken"),
		json_number_value(json_object_get(w, "seconds")),
		json_is_true(json_object_get(w, "interrupted")) ? " (interrupted)" : "");
	json_t *g = json_object_get(w, "growing"), *c = json_object_get(w, "changing");
	size_t i;
	json_t *s;
	if (!json_array_size(g))
		fputs("nothing grew steadily\n", f);
	else
		fputs("growing (rose in at least 3 of every 4 intervals):\n", f);
	json_array_foreach(g, i, s)
		series(f, s);
	if (json_array_size(c))
		fputs("\nchanging but not growing:\n", f);
	json_array_foreach(c, i, s) {
		if (i >= 20) {
			fprintf(f, "  ... %zu more\n", json_array_size(c) - 20);
			break;
		}
		series(f, s);
	}
	fprintf(f, "%lld series stable\n", ival(w, "stable_count"));
}

/* label values: backslash, double quote and newline escaped (exposition format) */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f), fputc(*s, f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void text_metrics(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	(void)opts;
	size_t i;
	json_t *fam;
	json_array_foreach(json_object_get(doc, "metrics"), i, fam) {
		const char *name = sval(fam, "name", "tlinspect_unknown");
		fprintf(f, "# HELP %s ", name);
		for (const char *h = sval(fam, "help", ""); *h; h++)
			if (*h == '\\')
				fputs("\\\\", f);
			else if (*h == '\n')
				fputs("\\n", f);
			else
				fputc(*h, f);
		fprintf(f, "\n# TYPE %s %s\n", name, sval(fam, "type", "untyped"));
		size_t k;
		json_t *smp;
		json_array_foreach(json_object_get(fam, "samples"), k, smp) {
			fputs(name, f);
			json_t *labels = json_object_get(smp, "labels");
			if (json_object_size(labels)) {
				const char *ln;
				json_t *lv;
				bool first = true;
				fputc('{', f);
				json_object_foreach(labels, ln, lv) {
					fprintf(f, "%s%s=\"", first ? "" : ",", ln);
					label_value(f, json_string_value(lv) ? json_string_value(lv) : "");
					fputc('"', f);
					first = false;
				}
				fputc('}', f);
			}
			double v = json_number_value(json_object_get(smp, "value"));
			if (v == floor(v) && fabs(v) < 9e15)
				fprintf(f, " %.0f\n", v);
			else
				fprintf(f, " %.17g\n", v);
		}
	}
}

const struct tli_text_printer tli_print_snapshot = { text_snapshot, true };
const struct tli_text_printer tli_print_diff = { text_diff, true };
const struct tli_text_printer tli_print_watch = { text_watch, true };
const struct tli_text_printer tli_print_metrics = { text_metrics, true };
