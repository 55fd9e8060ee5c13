/* SPDX-License-Identifier: MIT */
/*
 * inspector/overtime on hand-built snapshots: the growth verdicts of `watch` (a stair-step
 * grows, a pool going 4, 6, 4, 6 or a group that wobbles never does), `diff` (matching by key,
 * deltas, growth first) and the checks that refuse what is not a snapshot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overtime/overtime.h"

/* a snapshot at second t with groups (user, count) and one type */
static json_t *snap(int t, const char *const *users, const int *counts, size_t n, int records)
{
	json_t *s = json_pack("{s:s, s:s, s:{s:I, s:s}, s:o, s:n}", "schema", "tlinspect/1", "kind", "snapshot",
			      "time", "unix_ns", (json_int_t)t * 1000000000, "utc", "x", "go", json_object(), "glibc");
	json_t *go = json_object_get(s, "go"), *groups = json_array();
	int total = 0;
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(groups, json_pack("{s:{s:s, s:s, s:n}, s:i}", "key", "wait_reason", "chan receive",
							"user", users[i], "created_by", "count", counts[i]));
		total += counts[i];
	}
	json_object_set_new(go, "goroutine_groups", groups);
	json_object_set_new(go, "goroutine_count", json_integer(total));
	json_object_set_new(go, "types", json_pack("[{s:s, s:i, s:i}]", "type", "main.Rec", "objects", records,
						   "bytes", records * 96));
	return s;
}

static const char *verdict_of(json_t *res, const char *user)
{
	json_t *w = json_object_get(res, "watch");
	const char *lists[] = { "growing", "changing" };
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(w, lists[l]), i, s) {
			json_t *k = json_object_get(s, "key");
			if (json_is_object(k) && !strcmp(json_string_value(json_object_get(k, "user")), user))
				return json_string_value(json_object_get(s, "verdict"));
		}
	}
	return "stable";
}

static void test_watch_verdicts(void **state)
{
	(void)state;
	const char *users[] = { "main.drip a.go:1", "main.pool a.go:2", "main.worker a.go:3", "main.stair a.go:4",
				"main.wobble a.go:5" };
	int drip[] = { 2, 7, 12, 17, 22, 27 }, pool[] = { 4, 6, 4, 6, 4, 6 }, work[] = { 8, 8, 8, 8, 8, 8 };
	int stair[] = { 1, 2, 3, 3, 4, 5 }, wob[] = { 3, 4, 3, 4, 5, 4 };
	json_t *v[6];
	for (int i = 0; i < 6; i++) {
		int c[] = { drip[i], pool[i], work[i], stair[i], wob[i] };
		v[i] = snap(i * 10, users, c, 5, 10 + 3 * i);
	}
	json_t *res = json_object();
	tli_ot_watch(v, 6, false, res);
	assert_string_equal(verdict_of(res, users[0]), "growing");
	assert_string_equal(verdict_of(res, users[1]), "fluctuating");
	assert_string_equal(verdict_of(res, users[2]), "stable");
	assert_string_equal(verdict_of(res, users[3]), "growing");     /* 3 of every 4 */
	assert_string_equal(verdict_of(res, users[4]), "fluctuating"); /* only 2 of 4 in a window */
	json_t *g0 = json_array_get(json_object_get(json_object_get(res, "watch"), "growing"), 0);
	assert_non_null(g0);
	/* 5 goroutines every 10 s: 30 a minute */
	json_t *drip_row = NULL;
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(json_object_get(res, "watch"), "growing"), i, s)
		if (json_is_object(json_object_get(s, "key")) &&
		    !strcmp(json_string_value(json_object_get(json_object_get(s, "key"), "user")), users[0]))
			drip_row = s;
	assert_non_null(drip_row);
	assert_true(json_real_value(json_object_get(drip_row, "slope_per_minute")) > 29.9 &&
		    json_real_value(json_object_get(drip_row, "slope_per_minute")) < 30.1);
	json_decref(res);
	/* two samples: "rising" at most, never "growing" */
	res = json_object();
	tli_ot_watch(v, 2, true, res);
	assert_string_equal(verdict_of(res, users[0]), "rising");
	assert_true(json_is_true(json_object_get(json_object_get(res, "watch"), "interrupted")));
	json_decref(res);
	for (int k = 0; k < 6; k++)
		json_decref(v[k]);
}

static void test_diff(void **state)
{
	(void)state;
	const char *ua[] = { "main.worker a.go:3", "main.gone a.go:9" }, *ub[] = { "main.worker a.go:3", "main.leak a.go:7" };
	int ca[] = { 8, 2 }, cb[] = { 8, 37 };
	json_t *a = snap(0, ua, ca, 2, 0), *b = snap(60, ub, cb, 2, 37);
	json_t *res = json_object();
	assert_null(tli_ot_diff(a, b, "a.json", "b.json", res));
	json_t *d = json_object_get(res, "diff");
	json_t *groups = json_object_get(d, "goroutine_groups");
	assert_int_equal(json_array_size(groups), 2); /* the workers did not move */
	json_t *g0 = json_array_get(groups, 0), *g1 = json_array_get(groups, 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(g0, "key"), "user")), "main.leak a.go:7");
	assert_int_equal(json_integer_value(json_object_get(g0, "delta")), 37);
	assert_true(json_real_value(json_object_get(g0, "per_minute")) == 37.0);
	assert_int_equal(json_integer_value(json_object_get(g1, "delta")), -2);
	json_t *t0 = json_array_get(json_object_get(d, "types"), 0);
	assert_string_equal(json_string_value(json_object_get(t0, "type")), "main.Rec");
	assert_int_equal(json_integer_value(json_object_get(t0, "objects_delta")), 37);
	assert_int_equal(json_integer_value(json_object_get(t0, "bytes_delta")), 37 * 96);
	json_decref(res);
	/* a snapshot whose group keys carry "labels": null (newer) against one without (older) */
	json_t *b2 = json_deep_copy(b);
	size_t gi;
	json_t *gr;
	json_array_foreach(json_object_get(json_object_get(b2, "go"), "goroutine_groups"), gi, gr)
		json_object_set_new(json_object_get(gr, "key"), "labels", json_null());
	res = json_object();
	assert_null(tli_ot_diff(a, b2, "a.json", "b2.json", res));
	assert_int_equal(json_array_size(json_object_get(json_object_get(res, "diff"), "goroutine_groups")), 2);
	json_decref(res);
	json_decref(b2);
	/* not snapshots: named in the error, exit status 6 */
	json_object_set_new(b, "kind", json_string("heap"));
	res = json_object();
	struct tli_error *err = tli_ot_diff(a, b, "a.json", "b.json", res);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_BAD_FORMAT);
	assert_non_null(strstr(err->msg, "b.json"));
	tli_error_destroy(err);
	json_object_set_new(b, "schema", json_string("other/2"));
	err = tli_ot_check(b, "b.json");
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "other/2"));
	tli_error_destroy(err);
	json_decref(res);
	json_decref(a);
	json_decref(b);
}

/* diff.pools: any list of go.pools, keyed by root name (name@address when a list shares one),
 * integer figures and list lengths; diff.timers by kind and function */
static void test_diff_pools_timers(void **state)
{
	(void)state;
	const char *u[] = { "main.worker a.go:3" };
	int c[] = { 8 };
	json_t *a = snap(0, u, c, 1, 0), *b = snap(60, u, c, 1, 0);
	json_object_set_new(json_object_get(a, "go"), "pools", json_pack(
		"{s:[{s:s, s:s, s:i, s:i, s:i, s:[], s:i, s:[s]}], s:[{s:s, s:s, s:i}, {s:s, s:s, s:i}],"
		" s:[{s:s, s:s, s:i}], s:i}",
		"sql_dbs", "name", "main.db", "address", "0x10", "open", 1, "in_use", 0, "idle", 1, "waiters", "leaked", 0,
		"problems", "x",
		"maps", "name", "main.db", "address", "0x20", "len", 1, "name", "main.db", "address", "0x30", "len", 5,
		"http_transports", "name", "main.tr", "address", "0x40", "in_use", 2, "maps_total", 3));
	json_object_set_new(json_object_get(b, "go"), "pools", json_pack(
		"{s:[{s:s, s:s, s:i, s:i, s:i, s:[i,i], s:i, s:[]}], s:[{s:s, s:s, s:i}],"
		" s:[{s:s, s:s, s:i}], s:i}",
		"sql_dbs", "name", "main.db", "address", "0x10", "open", 4, "in_use", 4, "idle", 0, "waiters", 7, 8,
		"leaked", 3, "problems",
		"maps", "name", "main.db", "address", "0x30", "len", 5,
		"http_transports", "name", "main.tr", "address", "0x40", "in_use", 5, "maps_total", 9));
	json_object_set_new(json_object_get(a, "go"), "timers", json_pack("{s:i, s:[{s:s, s:s, s:i}]}", "count", 1,
		"groups", "function", "main.tick", "kind", "ticker", "count", 1));
	json_object_set_new(json_object_get(b, "go"), "timers", json_pack("{s:i, s:[{s:s, s:s, s:i}, {s:s, s:s, s:i}]}",
		"count", 5, "groups", "function", "main.tick", "kind", "ticker", "count", 1,
		"function", "main.later", "kind", "after_func", "count", 4));
	json_t *res = json_object();
	assert_null(tli_ot_diff(a, b, "a.json", "b.json", res));
	json_t *d = json_object_get(res, "diff"), *pools = json_object_get(d, "pools");
	/* sql (leaked first), the transport, the map that went away; not the map that did not move */
	assert_int_equal(json_array_size(pools), 3);
	json_t *p0 = json_array_get(pools, 0), *dl = json_object_get(p0, "delta");
	assert_string_equal(json_string_value(json_object_get(p0, "kind")), "sql_dbs");
	assert_string_equal(json_string_value(json_object_get(p0, "key")), "main.db");
	assert_int_equal(json_integer_value(json_object_get(dl, "in_use")), 4);
	assert_int_equal(json_integer_value(json_object_get(dl, "open")), 3);
	assert_int_equal(json_integer_value(json_object_get(dl, "idle")), -1);
	assert_int_equal(json_integer_value(json_object_get(dl, "waiters")), 2);
	assert_int_equal(json_integer_value(json_object_get(dl, "leaked")), 3);
	assert_null(json_object_get(dl, "problems"));
	bool tr = false, gone = false;
	for (size_t i = 1; i < 3; i++) {
		json_t *p = json_array_get(pools, i);
		const char *k = json_string_value(json_object_get(p, "key"));
		if (!strcmp(k, "main.tr"))
			tr = json_integer_value(json_object_get(json_object_get(p, "delta"), "in_use")) == 3;
		if (!strcmp(k, "main.db@0x20"))
			gone = json_is_null(json_object_get(p, "after")) &&
			       json_integer_value(json_object_get(json_object_get(p, "delta"), "len")) == -1;
	}
	assert_true(tr);
	assert_true(gone);
	json_t *t = json_object_get(d, "timers"), *tg = json_object_get(t, "groups");
	assert_int_equal(json_integer_value(json_object_get(t, "delta")), 4);
	assert_int_equal(json_array_size(tg), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(tg, 0), "function")), "main.later");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(tg, 0), "delta")), 4);
	/* metrics: every list with in_use, labelled by kind and pool */
	json_t *m = json_object();
	tli_ot_metrics(b, NULL, m);
	char *txt = json_dumps(m, JSON_COMPACT);
	assert_non_null(strstr(txt, "\"kind\":\"http_transports\",\"pool\":\"main.tr\",\"state\":\"in_use\"},\"value\":5.0"));
	assert_non_null(strstr(txt, "tlinspect_go_pool_leaked_connections"));
	assert_non_null(strstr(txt, "\"function\":\"main.later\",\"kind\":\"after_func\"},\"value\":4.0"));
	free(txt);
	json_decref(m);
	/* watch follows connection pools and timer groups too */
	json_t *v[2] = { a, b }, *w = json_object();
	tli_ot_watch(v, 2, false, w);
	txt = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(txt, "\"key\":{\"kind\":\"http_transports\",\"pool\":\"main.tr\"},\"kind\":\"pool_in_use\""));
	assert_non_null(strstr(txt, "\"key\":{\"function\":\"main.later\",\"kind\":\"after_func\"},\"kind\":\"timer_group\""));
	free(txt);
	json_decref(w);
	json_decref(res);
	json_decref(a);
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watch_verdicts),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_diff_pools_timers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
