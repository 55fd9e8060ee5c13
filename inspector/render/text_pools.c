/* SPDX-License-Identifier: MIT */
/*
 * Text of `pools` (go.pools): one block per database/sql.DB, the largest Go
 * maps, the sync.Maps and the net/http.Transports, on one screen.
 * Reads only the result tree.
 */
#include <stdio.h>
#include <string.h>

#include "render.h"

#define MAX_IDS 12

static void print_ids(FILE *f, json_t *a)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (i >= MAX_IDS) {
			fprintf(f, " … (%zu)", json_array_size(a));
			break;
		}
		fprintf(f, " %" JSON_INTEGER_FORMAT, json_integer_value(v));
	}
}

static void num(FILE *f, const char *label, json_t *v)
{
	if (json_is_integer(v))
		fprintf(f, "%s %" JSON_INTEGER_FORMAT, label, json_integer_value(v));
	else
		fprintf(f, "%s ?", label);
}

static void one_db(FILE *f, json_t *d)
{
	const char *name = json_string_value(json_object_get(d, "name"));
	fprintf(f, "database/sql.DB ");
	tli_text_puts_clean(f, name ? name : "(no global)");
	fprintf(f, " at %s%s\n", json_string_value(json_object_get(d, "address")) ?: "?",
		json_is_true(json_object_get(d, "closed")) ? " (closed)" : "");
	fputs("  ", f);
	num(f, "max_open", json_object_get(d, "max_open"));
	num(f, "  open", json_object_get(d, "open"));
	num(f, "  in_use", json_object_get(d, "in_use"));
	num(f, "  idle", json_object_get(d, "idle"));
	num(f, "  wait_count", json_object_get(d, "wait_count"));
	json_t *wd = json_object_get(d, "wait_duration_seconds");
	if (json_is_number(wd))
		fprintf(f, "  waited %.3fs", json_number_value(wd));
	fputc('\n', f);
	fputs("  closed by", f);
	num(f, " max_idle", json_object_get(d, "max_idle_closed"));
	num(f, "  max_idle_time", json_object_get(d, "max_idle_time_closed"));
	num(f, "  max_lifetime", json_object_get(d, "max_lifetime_closed"));
	fputc('\n', f);
	json_t *w = json_object_get(d, "waiters");
	fprintf(f, "  waiters %zu", json_array_size(w));
	if (json_array_size(w)) {
		fputs(" (goroutines", f);
		print_ids(f, w);
		fputc(')', f);
	}
	fputc('\n', f);
	json_t *lk = json_object_get(d, "leaked"), *h = json_object_get(d, "held_by");
	fprintf(f, "  in-use connections: %" JSON_INTEGER_FORMAT " found; leaked ",
		json_integer_value(json_object_get(d, "in_use_found")));
	if (json_is_integer(lk))
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(lk));
	else
		fputs("?", f);
	fprintf(f, "; held by %zu goroutines", json_array_size(h));
	if (json_array_size(h)) {
		fputc(':', f);
		print_ids(f, h);
	}
	json_int_t g = json_integer_value(json_object_get(d, "held_by_globals"));
	if (g)
		fprintf(f, ", %" JSON_INTEGER_FORMAT " by globals", g);
	fputc('\n', f);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(d, "connections"), i, c) {
		if (!json_is_true(json_object_get(c, "leaked")))
			continue;
		fprintf(f, "    leaked %s (reached only by the pool's bookkeeping)\n",
			json_string_value(json_object_get(c, "address")) ?: "?");
	}
	json_t *p;
	json_array_foreach(json_object_get(d, "problems"), i, p) {
		fputs("  problem: ", f);
		tli_text_puts_clean(f, json_string_value(p) ?: "?");
		fputc('\n', f);
	}
}

static void maps(FILE *f, json_t *pools)
{
	json_t *a = json_object_get(pools, "maps");
	if (!json_is_array(a)) {
		fputs("\nGo maps: unreadable: ", f);
		tli_text_puts_clean(f, json_string_value(json_object_get(pools, "maps_unreadable")) ?: "?");
		fputc('\n', f);
		return;
	}
	fprintf(f, "\nGo maps: %" JSON_INTEGER_FORMAT " typed, %" JSON_INTEGER_FORMAT " bytes; largest:\n",
		json_integer_value(json_object_get(pools, "maps_total")),
		json_integer_value(json_object_get(pools, "maps_bytes")));
	fprintf(f, "  %10s %10s %12s  map\n", "len", "slots", "bytes");
	size_t i;
	json_t *m;
	json_array_foreach(a, i, m) {
		if (i >= 8)
			break;
		const char *name = json_string_value(json_object_get(m, "name"));
		const char *why = json_string_value(json_object_get(m, "unreadable"));
		if (why)
			fprintf(f, "  %10s %10s %12s  ", "?", "?", "?");
		else
			fprintf(f, "  %10" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT " %12" JSON_INTEGER_FORMAT "  ",
				json_integer_value(json_object_get(m, "len")),
				json_integer_value(json_object_get(m, "capacity_slots")),
				json_integer_value(json_object_get(m, "bytes")));
		tli_text_puts_clean(f, name ? name : json_string_value(json_object_get(m, "address")) ?: "?");
		fputc(' ', f);
		tli_text_puts_clean(f, json_string_value(json_object_get(m, "type")) ?: "?");
		if (json_is_true(json_object_get(m, "oversized")))
			fputs("  (oversized: never shrinks)", f);
		if (why) {
			fputs("  unreadable: ", f);
			tli_text_puts_clean(f, why);
		}
		fputc('\n', f);
	}
}

static void sync_maps(FILE *f, json_t *pools)
{
	json_t *a = json_object_get(pools, "sync_maps");
	const char *note = json_string_value(json_object_get(pools, "sync_maps_note"));
	if (!json_is_array(a)) {
		fputs("\nsync.Map: unreadable: ", f);
		tli_text_puts_clean(f, json_string_value(json_object_get(pools, "sync_maps_unreadable")) ?: "?");
		fputc('\n', f);
		return;
	}
	fprintf(f, "\nsync.Map: %zu found\n", json_array_size(a));
	size_t i;
	json_t *m;
	json_array_foreach(a, i, m) {
		if (i >= 6) {
			fprintf(f, "  … %zu more\n", json_array_size(a) - i);
			break;
		}
		const char *name = json_string_value(json_object_get(m, "name"));
		const char *why = json_string_value(json_object_get(m, "unreadable"));
		fputs("  ", f);
		tli_text_puts_clean(f, name ? name : json_string_value(json_object_get(m, "address")) ?: "?");
		if (why) {
			fputs(": unreadable: ", f);
			tli_text_puts_clean(f, why);
		} else {
			num(f, ": entries", json_object_get(m, "entries"));
			if (json_object_get(m, "depth")) {
				num(f, "  depth", json_object_get(m, "depth"));
			} else {
				num(f, "  read", json_object_get(m, "read_size"));
				num(f, "  dirty", json_object_get(m, "dirty_size"));
				num(f, "  misses", json_object_get(m, "misses"));
				num(f, "  expunged", json_object_get(m, "expunged"));
				num(f, "  deleted", json_object_get(m, "deleted"));
				if (json_is_true(json_object_get(m, "amended")))
					fputs("  amended", f);
			}
		}
		fputc('\n', f);
	}
	if (note) {
		fputs("  note: ", f);
		tli_text_puts_clean(f, note);
		fputc('\n', f);
	}
}

/* one line per Transport, one per host; the loop goroutines of in-use connections */
static void http_transports(FILE *f, json_t *pools)
{
	json_t *a = json_object_get(pools, "http_transports");
	if (!json_is_array(a)) {
		fputs("\nnet/http.Transport: unreadable: ", f);
		tli_text_puts_clean(f, json_string_value(json_object_get(pools, "http_unreadable")) ?: "?");
		fputc('\n', f);
		return;
	}
	fprintf(f, "\nnet/http.Transport: %zu found\n", json_array_size(a));
	size_t i, k, j;
	json_t *t, *h, *c, *p;
	json_array_foreach(a, i, t) {
		if (i >= 6) {
			fprintf(f, "  … %zu more\n", json_array_size(a) - i);
			break;
		}
		const char *name = json_string_value(json_object_get(t, "name"));
		const char *why = json_string_value(json_object_get(t, "unreadable"));
		fputs("  ", f);
		tli_text_puts_clean(f, name ? name : "(no global)");
		fprintf(f, " at %s:", json_string_value(json_object_get(t, "address")) ?: "?");
		num(f, " idle", json_object_get(t, "idle"));
		num(f, "  in_use", json_object_get(t, "in_use"));
		if (why) {
			fputs("  unreadable: ", f);
			tli_text_puts_clean(f, why);
		}
		fputc('\n', f);
		json_array_foreach(json_object_get(t, "hosts"), k, h) {
			if (k >= 8) {
				fprintf(f, "    … %zu more hosts\n", json_array_size(json_object_get(t, "hosts")) - k);
				break;
			}
			fputs("    ", f);
			tli_text_puts_clean(f, json_string_value(json_object_get(h, "scheme")) ?: "?");
			fputs("://", f);
			tli_text_puts_clean(f, json_string_value(json_object_get(h, "host")) ?: "?");
			num(f, "  idle", json_object_get(h, "idle"));
			num(f, "  in_use", json_object_get(h, "in_use"));
			size_t n = 0;
			json_array_foreach(json_object_get(h, "connections"), j, c) {
				if (strcmp(json_string_value(json_object_get(c, "state")) ?: "", "in_use"))
					continue;
				if (!n++)
					fputs("  (readLoop goroutines", f);
				if (n <= MAX_IDS)
					num(f, "", json_object_get(c, "read_loop"));
			}
			fputs(n ? ")\n" : "\n", f);
		}
		json_array_foreach(json_object_get(t, "problems"), k, p) {
			fputs("    problem: ", f);
			tli_text_puts_clean(f, json_string_value(p) ?: "?");
			fputc('\n', f);
		}
	}
	const char *note = json_string_value(json_object_get(pools, "http_transports_note"));
	if (note) {
		fputs("  note: ", f);
		tli_text_puts_clean(f, note);
		fputc('\n', f);
	}
}

void tli_text_pools(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	(void)opts;
	json_t *pools = json_object_get(json_object_get(doc, "go"), "pools");
	const char *why = json_string_value(json_object_get(pools, "unreadable"));
	if (why) {
		fputs("Go pools unreadable: ", f);
		tli_text_puts_clean(f, why);
		fputc('\n', f);
		return;
	}
	json_t *dbs = json_object_get(pools, "sql_dbs");
	if (!json_is_array(dbs)) {
		fputs("database/sql: unreadable: ", f);
		tli_text_puts_clean(f, json_string_value(json_object_get(pools, "sql_unreadable")) ?: "?");
		fputc('\n', f);
	}
	if (json_is_array(dbs) && !json_array_size(dbs))
		fputs("No database/sql.DB found in the Go heap.\n", f);
	size_t i;
	json_t *d;
	json_array_foreach(dbs, i, d) {
		if (i)
			fputc('\n', f);
		one_db(f, d);
	}
	maps(f, pools);
	sync_maps(f, pools);
	http_transports(f, pools);
}
