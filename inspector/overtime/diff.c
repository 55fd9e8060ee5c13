/* SPDX-License-Identifier: MIT */
/*
 * Snapshot files read back and checked, and `diff`: what grew and shrank between two snapshots
 * (overtime.h). Rows are matched by their stable key (a goroutine group's {wait_reason, user,
 * created_by}, a type's name, a figure's name); only rows that moved are listed, growth first.
 */
#include "overtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"

#define SNAP_MAX_BYTES (1ull << 31)   /* a snapshot is JSON text: 2 GiB is far beyond any */

struct tli_error *tli_ot_check(const json_t *snap, const char *name)
{
	const char *schema = json_string_value(json_object_get(snap, "schema"));
	if (!json_is_object(snap) || !schema)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: not a tlinspect document (no \"schema\")", name);
	if (strcmp(schema, "tlinspect/1"))
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: schema \"%.60s\", expected \"tlinspect/1\"", name,
					schema);
	const char *kind = json_string_value(json_object_get(snap, "kind"));
	if (!kind || strcmp(kind, TLI_SNAPSHOT_KIND))
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: a tlinspect document but not a snapshot (\"kind\" is %s%.60s%s; "
					"write one with `tlinspect --pid P snapshot -o FILE`)", name, kind ? "\"" : "",
					kind ? kind : "missing", kind ? "\"" : "");
	json_t *go = json_object_get(snap, "go"), *gl = json_object_get(snap, "glibc");
	if (!json_is_integer(json_object_get(json_object_get(snap, "time"), "unix_ns")) ||
	    !(json_is_object(go) || json_is_null(go)) || !(json_is_object(gl) || json_is_null(gl)))
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: snapshot without \"time\", \"go\" or \"glibc\"", name);
	if (json_is_object(go)) {
		json_t *gg = json_object_get(go, "goroutine_groups"), *ty = json_object_get(go, "types");
		if ((gg && !json_is_array(gg)) || (ty && !json_is_array(ty)))
			return tli_error_create(TLI_E_BAD_FORMAT, "%s: snapshot with malformed go.goroutine_groups or "
						"go.types", name);
	}
	return NULL;
}

struct tli_error *tli_ot_load(const char *path, json_t **ret)
{
	*ret = NULL;
	int fd = tli_open_regular(path);
	if (fd < 0) {
		int e = errno;
		return tli_error_create(e == ENOENT ? TLI_E_NO_TARGET : e == EACCES || e == EPERM ? TLI_E_PERM
											    : TLI_E_USAGE,
					"%s: cannot open the snapshot: %s", path,
					e == EINVAL ? "not a regular file" : strerror(e));
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return tli_error_create(TLI_E_NOMEM, "%s: fdopen failed", path);
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && (unsigned long long)st.st_size > SNAP_MAX_BYTES) {
		fclose(f);
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: %lld bytes: too big for a snapshot", path,
					(long long)st.st_size);
	}
	json_error_t je;
	json_t *doc = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	fclose(f);
	if (!doc)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: not a complete snapshot (truncated or not JSON): %s "
					"at line %d, column %d", path, je.text, je.line, je.column);
	struct tli_error *err = tli_ot_check(doc, path);
	if (err) {
		json_decref(doc);
		return err;
	}
	*ret = doc;
	return NULL;
}

double tli_ot_elapsed(const json_t *a, const json_t *b)
{
	json_t *ta = json_object_get(json_object_get(a, "time"), "unix_ns");
	json_t *tb = json_object_get(json_object_get(b, "time"), "unix_ns");
	if (!json_is_integer(ta) || !json_is_integer(tb))
		return 0;
	return (double)(json_integer_value(tb) - json_integer_value(ta)) / 1e9;
}

/* the key of a goroutine group as one string (sorted keys): equal keys, equal strings; "labels":
 * null is left out, so that snapshots written before groups had labels match those after */
static char *group_key(const json_t *row)
{
	json_t *k = json_object_get(row, "key");
	if (!json_is_object(k) || !json_is_null(json_object_get(k, "labels")))
		return json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_t *c = json_copy(k);
	json_object_del(c, "labels");
	char *s = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_decref(c);
	return s;
}

static json_int_t num(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? json_integer_value(v) : json_is_real(v) ? (json_int_t)json_real_value(v) : 0;
}

static void per_minute(json_t *row, json_int_t delta, double seconds)
{
	json_object_set_new(row, "per_minute", seconds > 0 ? json_real((double)delta * 60.0 / seconds) : json_null());
}

/* growth first (largest delta), then shrinkage (most negative last) */
static int cmp_delta(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	json_int_t da = num(a, "sort_delta"), db = num(b, "sort_delta");
	return da != db ? (da > db ? -1 : 1) : 0;
}

static json_t *sorted(json_t *rows)
{
	size_t n = json_array_size(rows);
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return rows;
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(rows, i);
	qsort(v, n, sizeof(*v), cmp_delta);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++) {
		json_object_del(v[i], "sort_delta");
		json_array_append(out, v[i]);
	}
	free(v);
	json_decref(rows);
	return out;
}

/* diff.goroutine_groups */
static json_t *diff_groups(const json_t *ga, const json_t *gb, double seconds)
{
	json_t *idx = json_object(); /* key string -> {key, before, after} */
	const json_t *sides[2] = { ga, gb };
	for (int s = 0; s < 2; s++) {
		size_t i;
		json_t *g;
		json_array_foreach(sides[s], i, g) {
			char *k = group_key(g);
			if (!k)
				continue;
			json_t *row = json_object_get(idx, k);
			if (!row) {
				row = json_object();
				json_object_set(row, "key", json_object_get(g, "key"));
				json_object_set_new(row, "before", json_integer(0));
				json_object_set_new(row, "after", json_integer(0));
				json_object_set_new(idx, k, row);
			}
			const char *side = s ? "after" : "before";
			json_object_set_new(row, side, json_integer(num(row, side) + num(g, "count")));
			free(k);
		}
	}
	json_t *rows = json_array();
	const char *k;
	json_t *row;
	json_object_foreach(idx, k, row) {
		json_int_t d = num(row, "after") - num(row, "before");
		if (!d)
			continue;
		json_object_set_new(row, "delta", json_integer(d));
		per_minute(row, d, seconds);
		json_object_set_new(row, "sort_delta", json_integer(d));
		json_array_append(rows, row);
	}
	json_decref(idx);
	return sorted(rows);
}

/* diff.types: go.types and go.untyped together, by name */
static json_t *diff_types(const json_t *goa, const json_t *gob, double seconds)
{
	json_t *idx = json_object();
	const json_t *sides[2] = { goa, gob };
	static const char *const lists[] = { "types", "untyped" };
	for (int s = 0; s < 2; s++)
		for (int l = 0; l < 2; l++) {
			size_t i;
			json_t *t;
			json_array_foreach(json_object_get(sides[s], lists[l]), i, t) {
				const char *name = json_string_value(json_object_get(t, "type"));
				if (!name)
					continue;
				json_t *row = json_object_get(idx, name);
				if (!row) {
					row = json_object();
					json_object_set_new(row, "type", json_string(name));
					json_object_set_new(row, "objects_before", json_integer(0));
					json_object_set_new(row, "objects_after", json_integer(0));
					json_object_set_new(row, "bytes_before", json_integer(0));
					json_object_set_new(row, "bytes_after", json_integer(0));
					json_object_set_new(idx, name, row);
				}
				const char *ok = s ? "objects_after" : "objects_before", *bk = s ? "bytes_after" : "bytes_before";
				json_object_set_new(row, ok, json_integer(num(row, ok) + num(t, "objects")));
				json_object_set_new(row, bk, json_integer(num(row, bk) + num(t, "bytes")));
			}
		}
	json_t *rows = json_array();
	const char *k;
	json_t *row;
	json_object_foreach(idx, k, row) {
		json_int_t od = num(row, "objects_after") - num(row, "objects_before");
		json_int_t bd = num(row, "bytes_after") - num(row, "bytes_before");
		if (!od && !bd)
			continue;
		json_object_set_new(row, "objects_delta", json_integer(od));
		json_object_set_new(row, "bytes_delta", json_integer(bd));
		per_minute(row, bd, seconds);
		json_object_set_new(row, "sort_delta", json_integer(bd));
		json_array_append(rows, row);
	}
	json_decref(idx);
	return sorted(rows);
}

/* figures (all integers of an object, e.g. memstats, mallinfo2): {name, before, after, delta} */
static void diff_figures(json_t *rows, const char *prefix, const json_t *a, const json_t *b, double seconds)
{
	const char *k;
	json_t *vb;
	json_object_foreach((json_t *)b, k, vb) {
		json_t *va = json_object_get(a, k);
		if (json_is_object(vb) && json_is_object(va)) { /* totals: {count, bytes} per kind */
			char sub[160];
			snprintf(sub, sizeof(sub), "%s%s.", prefix, k);
			diff_figures(rows, sub, va, vb, seconds);
			continue;
		}
		if (!json_is_integer(va) || !json_is_integer(vb))
			continue;
		json_int_t d = json_integer_value(vb) - json_integer_value(va);
		if (!d)
			continue;
		char name[200];
		snprintf(name, sizeof(name), "%s%s", prefix, k);
		json_t *row = json_object();
		json_object_set_new(row, "name", json_string(name));
		json_object_set(row, "before", va);
		json_object_set(row, "after", vb);
		json_object_set_new(row, "delta", json_integer(d));
		per_minute(row, d, seconds);
		json_array_append_new(rows, row);
	}
}

/* A pool row's figures: its integers, and the length of its lists (waiters, held_by, ...);
 * what a row says about itself (problems) and the non-integer fields are not figures. Every pool
 * kind `pools` lists goes through here, whatever its fields. */
static json_t *pool_figures(const json_t *row)
{
	json_t *o = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)row, k, v) {
		if (!strcmp(k, "problems"))
			continue;
		if (json_is_integer(v))
			json_object_set(o, k, v);
		else if (json_is_array(v))
			json_object_set_new(o, k, json_integer((json_int_t)json_array_size(v)));
	}
	return o;
}

/* the key of a pool row: its root name, else its address; a name that several rows of a list
 * share (in either snapshot: maps a pool keeps) is followed by the address */
static void pool_key(const json_t *row, const json_t *shared, char *buf, size_t cap)
{
	const char *name = json_string_value(json_object_get(row, "name"));
	const char *addr = json_string_value(json_object_get(row, "address"));
	if (name && addr && json_object_get(shared, name))
		snprintf(buf, cap, "%s@%s", name, addr);
	else
		snprintf(buf, cap, "%s", name ? name : addr ? addr : "?");
}

/* names more than one row of list `kind` has, in either snapshot's go.pools */
static json_t *shared_names(const json_t *pa, const json_t *pb, const char *kind)
{
	json_t *shared = json_object();
	const json_t *sides[2] = { pa, pb };
	for (int s = 0; s < 2; s++) {
		json_t *seen = json_object();
		size_t i;
		json_t *row;
		json_array_foreach(json_object_get(sides[s], kind), i, row) {
			const char *name = json_string_value(json_object_get(row, "name"));
			if (!name)
				continue;
			if (json_object_get(seen, name))
				json_object_set_new(shared, name, json_true());
			json_object_set_new(seen, name, json_true());
		}
		json_decref(seen);
	}
	return shared;
}

static int cmp_abs(const void *x, const void *y)
{
	json_int_t a = num(*(json_t *const *)x, "sort_delta"), b = num(*(json_t *const *)y, "sort_delta");
	return a != b ? (a > b ? -1 : 1) : 0;
}

/* diff.pools: per pool (kind = its list in go.pools: sql_dbs, maps, sync_maps, ...), the figures
 * that moved; largest move first */
static json_t *diff_pools(const json_t *pa, const json_t *pb)
{
	json_t *idx = json_object(); /* "kind\tkey" -> {kind, key, before, after} */
	const json_t *sides[2] = { pa, pb };
	for (int s = 0; s < 2; s++) {
		const char *kind;
		json_t *list;
		json_object_foreach((json_t *)sides[s], kind, list) {
			if (!json_is_array(list))
				continue;
			json_t *shared = shared_names(pa, pb, kind);
			size_t i;
			json_t *row;
			json_array_foreach(list, i, row) {
				if (!json_is_object(row))
					continue;
				char key[300], ik[400];
				pool_key(row, shared, key, sizeof(key));
				snprintf(ik, sizeof(ik), "%s\t%s", kind, key);
				json_t *d = json_object_get(idx, ik);
				if (!d) {
					d = json_object();
					json_object_set_new(d, "kind", json_string(kind));
					json_object_set_new(d, "key", json_string(key));
					json_object_set_new(d, "before", json_null());
					json_object_set_new(d, "after", json_null());
					json_object_set_new(idx, ik, d);
				}
				json_object_set_new(d, s ? "after" : "before", pool_figures(row));
			}
			json_decref(shared);
		}
	}
	json_t *rows = json_array();
	const char *k;
	json_t *d;
	json_object_foreach(idx, k, d) {
		json_t *b = json_object_get(d, "before"), *a = json_object_get(d, "after");
		json_t *delta = json_object();
		json_int_t most = 0;
		const json_t *both[2] = { a, b };
		for (int s = 0; s < 2; s++) {
			const char *f;
			json_t *v;
			json_object_foreach((json_t *)both[s], f, v) {
				if (json_object_get(delta, f))
					continue;
				json_int_t x = num(b, f), y = num(a, f);
				if (x == y)
					continue;
				json_object_set_new(delta, f, json_integer(y - x));
				/* order: leaked first, then the largest count that moved (not bytes) */
				json_int_t m = y > x ? y - x : x - y;
				if (!strcmp(f, "leaked"))
					m += (json_int_t)1 << 40;
				else if (strstr(f, "bytes") || !strcmp(f, "capacity_slots"))
					m = 0;
				if (m > most)
					most = m;
			}
		}
		if (!json_object_size(delta)) {
			json_decref(delta);
			continue;
		}
		json_object_set_new(d, "delta", delta);
		json_object_set_new(d, "sort_delta", json_integer(most));
		json_array_append(rows, d);
	}
	json_decref(idx);
	size_t n = json_array_size(rows);
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return rows;
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(rows, i);
	qsort(v, n, sizeof(*v), cmp_abs);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++) {
		json_object_del(v[i], "sort_delta");
		json_array_append(out, v[i]);
	}
	free(v);
	json_decref(rows);
	return out;
}

/* diff.timers: timer groups (go.timers.groups) by kind and function, count deltas */
static json_t *diff_timers(const json_t *ta, const json_t *tb, double seconds)
{
	json_t *idx = json_object();
	const json_t *sides[2] = { ta, tb };
	for (int s = 0; s < 2; s++) {
		size_t i;
		json_t *g;
		json_array_foreach(json_object_get(sides[s], "groups"), i, g) {
			const char *fn = json_string_value(json_object_get(g, "function"));
			const char *kind = json_string_value(json_object_get(g, "kind"));
			char key[600];
			snprintf(key, sizeof(key), "%s\t%s", kind ? kind : "?", fn ? fn : "?");
			json_t *row = json_object_get(idx, key);
			if (!row) {
				row = json_object();
				json_object_set_new(row, "function", json_string(fn ? fn : "?"));
				json_object_set_new(row, "kind", json_string(kind ? kind : "?"));
				json_object_set_new(row, "before", json_integer(0));
				json_object_set_new(row, "after", json_integer(0));
				json_object_set_new(idx, key, row);
			}
			const char *side = s ? "after" : "before";
			json_object_set_new(row, side, json_integer(num(row, side) + num(g, "count")));
		}
	}
	json_t *rows = json_array();
	const char *k;
	json_t *row;
	json_object_foreach(idx, k, row) {
		json_int_t d = num(row, "after") - num(row, "before");
		if (!d)
			continue;
		json_object_set_new(row, "delta", json_integer(d));
		per_minute(row, d, seconds);
		json_object_set_new(row, "sort_delta", json_integer(d));
		json_array_append(rows, row);
	}
	json_decref(idx);
	return sorted(rows);
}

static json_t *side_json(const json_t *s, const char *name)
{
	json_t *o = json_object();
	json_t *tg = json_object_get(s, "target");
	json_object_set_new(o, "file", json_string(name));
	json_object_set(o, "utc", json_object_get(json_object_get(s, "time"), "utc"));
	json_object_set(o, "pid", tg ? json_object_get(tg, "pid") : json_null());
	json_object_set(o, "exe", tg ? json_object_get(tg, "exe") : json_null());
	json_object_set(o, "goroutines", json_object_get(json_object_get(s, "go"), "goroutine_count"));
	return o;
}

struct tli_error *tli_ot_diff(const json_t *a, const json_t *b, const char *name_a, const char *name_b,
			      json_t *result)
{
	struct tli_error *err = tli_ot_check(a, name_a);
	if (!err)
		err = tli_ot_check(b, name_b);
	if (err)
		return err;
	double seconds = tli_ot_elapsed(a, b);
	json_t *d = json_object();
	json_object_set_new(d, "before", side_json(a, name_a));
	json_object_set_new(d, "after", side_json(b, name_b));
	json_object_set_new(d, "seconds", json_real(seconds));
	const char *ea = json_string_value(json_object_get(json_object_get(a, "target"), "exe"));
	const char *eb = json_string_value(json_object_get(json_object_get(b, "target"), "exe"));
	json_object_set_new(d, "same_exe", json_boolean(ea && eb && !strcmp(ea, eb)));
	json_t *goa = json_object_get(a, "go"), *gob = json_object_get(b, "go");
	json_t *gd = json_object();
	json_int_t na = num(goa, "goroutine_count"), nb = num(gob, "goroutine_count");
	json_object_set_new(gd, "before", json_integer(na));
	json_object_set_new(gd, "after", json_integer(nb));
	json_object_set_new(gd, "delta", json_integer(nb - na));
	per_minute(gd, nb - na, seconds);
	json_object_set_new(d, "goroutines", gd);
	json_object_set_new(d, "goroutine_groups", diff_groups(json_object_get(goa, "goroutine_groups"),
							       json_object_get(gob, "goroutine_groups"), seconds));
	json_object_set_new(d, "types", diff_types(goa, gob, seconds));
	json_object_set_new(d, "pools", diff_pools(json_object_get(goa, "pools"), json_object_get(gob, "pools")));
	json_t *ta = json_object_get(goa, "timers"), *tb = json_object_get(gob, "timers");
	json_t *td = json_object();
	json_object_set_new(td, "before", json_integer(num(ta, "count")));
	json_object_set_new(td, "after", json_integer(num(tb, "count")));
	json_object_set_new(td, "delta", json_integer(num(tb, "count") - num(ta, "count")));
	json_object_set_new(td, "groups", diff_timers(ta, tb, seconds));
	json_object_set_new(d, "timers", td);
	json_t *ms = json_array();
	diff_figures(ms, "", json_object_get(goa, "memstats"), json_object_get(gob, "memstats"), seconds);
	json_object_set_new(d, "memstats", ms);
	json_t *gl = json_array();
	json_t *la = json_object_get(a, "glibc"), *lb = json_object_get(b, "glibc");
	diff_figures(gl, "mallinfo2.", json_object_get(la, "mallinfo2"), json_object_get(lb, "mallinfo2"), seconds);
	diff_figures(gl, "totals.", json_object_get(la, "totals"), json_object_get(lb, "totals"), seconds);
	json_object_set_new(d, "glibc", gl);
	json_object_set_new(result, "diff", d);
	return NULL;
}
