/* SPDX-License-Identifier: MIT */
/*
 * The JSON printer writes its own bytes (render/json.c, for speed at 100k
 * goroutines); the oracle is jansson's json_dumps with the flags the printer
 * promised to reproduce: every tree here must print byte for byte the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/render.h"

/* tli_render_json's output of doc must be json_dumps' plus a newline. */
static void check_same(json_t *doc)
{
	char *want = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
	assert_non_null(want);
	char *got = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&got, &len);
	assert_non_null(f);
	assert_null(tli_render_json(f, doc));
	fclose(f);
	assert_int_equal(len, strlen(want) + 1);
	assert_memory_equal(got, want, strlen(want));
	assert_int_equal(got[len - 1], '\n');
	free(got);
	free(want);
}

/* ---- items given one at a time (struct tli_render_stream) ---- */

struct fake_stream {
	struct tli_render_stream rs;
	json_t *items;      /* what each() gives, in order */
	size_t fail_at;     /* each() fails before item fail_at (SIZE_MAX: never) */
};

static struct tli_error *fake_each(struct tli_render_stream *st, tli_render_item_fn *fn, void *arg)
{
	struct fake_stream *fs = (struct fake_stream *)st;
	for (size_t i = 0; i < json_array_size(fs->items); i++) {
		if (i == fs->fail_at)
			return tli_error_create(TLI_E_CORRUPT, "item %zu cannot be made", i);
		json_t *copy = json_deep_copy(json_array_get(fs->items, i)); /* made now, released after */
		fn(copy, arg);
		json_decref(copy);
	}
	return NULL;
}

/* The document printed with items given one at a time = the document holding them, printed whole. */
static void check_items(json_t *doc, json_t *items)
{
	struct fake_stream fs = { .rs = { .each = fake_each, .count = json_array_size(items), .in = "go",
					  .as = "goroutines" },
				  .items = items, .fail_at = SIZE_MAX };
	char *got = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&got, &len);
	assert_non_null(f);
	assert_null(tli_render_json_items(f, doc, &fs.rs));
	fclose(f);
	assert_null(fs.rs.err);
	json_t *whole = json_deep_copy(doc);
	json_object_set(json_object_get(whole, "go"), "goroutines", items);
	char *want = json_dumps(whole, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
	assert_int_equal(len, strlen(want) + 1);
	assert_memory_equal(got, want, strlen(want));
	free(got);
	free(want);
	json_decref(whole);
}

static void test_items_streamed(void **state)
{
	(void)state;
	json_t *doc = json_pack("{s:s, s:{s:i, s:{s:i, s:[]}}, s:[s]}", "schema", "tlinspect/1", "go",
				"goroutine_count", 3, "summary", "system", 1, "groups", "warnings", "w");
	json_t *items = json_pack("[{s:i, s:s, s:{s:s, s:n}}, {s:n, s:s}, {s:i, s:[s,s], s:f}]", "id", 1, "status",
				  "waiting", "current", "function", "main.main", "args", "id", "unreadable", "bad g",
				  "id", 7, "blocked_on", "0xc0", "0xc1", "wait_seconds", 1.5);
	check_items(doc, items);
	json_t *none = json_array();
	check_items(doc, none);  /* no item: "goroutines": [] */
	/* an item that cannot be made: its error, for the CLI to report */
	struct fake_stream fs = { .rs = { .each = fake_each, .count = 3, .in = "go", .as = "goroutines" },
				  .items = items, .fail_at = 1 };
	char *got = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&got, &len);
	assert_null(tli_render_json_items(f, doc, &fs.rs));
	fclose(f);
	assert_non_null(fs.rs.err);
	assert_int_equal(fs.rs.err->code, TLI_E_CORRUPT);
	tli_error_destroy(fs.rs.err);
	free(got);
	/* no place for them (no "go", or it already has the array): an internal error, nothing given */
	json_t *nogo = json_pack("{s:s}", "schema", "tlinspect/1");
	fs = (struct fake_stream){ .rs = { .each = fake_each, .count = 3, .in = "go", .as = "goroutines" },
				   .items = items, .fail_at = 0 };
	f = open_memstream(&got, &len);
	struct tli_error *err = tli_render_json_items(f, nogo, &fs.rs);
	fclose(f);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_INTERNAL);
	assert_null(fs.rs.err);
	tli_error_destroy(err);
	free(got);
	json_decref(nogo);
	json_decref(none);
	json_decref(items);
	json_decref(doc);
}

static void test_scalars_and_nesting(void **state)
{
	(void)state;
	json_t *doc = json_object();
	json_object_set_new(doc, "empty_obj", json_object());
	json_object_set_new(doc, "empty_arr", json_array());
	json_object_set_new(doc, "t", json_true());
	json_object_set_new(doc, "f", json_false());
	json_object_set_new(doc, "n", json_null());
	json_object_set_new(doc, "i", json_integer(-9223372036854775807LL - 1));
	json_object_set_new(doc, "u", json_integer(18446744073709551LL));
	json_t *deep = json_array();
	json_t *cur = deep;
	for (int i = 0; i < 40; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "level", json_integer(i));
		json_object_set_new(o, "a", json_array());
		json_array_append_new(cur, o);
		cur = json_object_get(o, "a");
		json_array_append_new(cur, json_string("x"));
	}
	json_object_set_new(doc, "deep", deep);
	/* insertion order, not key order */
	json_object_set_new(doc, "zz", json_integer(1));
	json_object_set_new(doc, "aa", json_integer(2));
	check_same(doc);
	json_decref(doc);
}

static void test_reals(void **state)
{
	(void)state;
	static const double v[] = { 0.0, -0.0, 1.0, 5.0, 12.3, 183.2, 0.1, 1e-7, 1.5e-300, 1e21, 1e300, -2.5e+17,
				    123456789012.0, 1234567890123.0, 3.14159265358979, 1e100, 2.2250738585072014e-308,
				    999999999999.5, 0.000123456789012345 };
	json_t *doc = json_object();
	json_t *arr = json_array();
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		json_array_append_new(arr, json_real(v[i]));
	json_object_set_new(doc, "reals", arr);
	check_same(doc);
	json_decref(doc);
}

static void test_strings(void **state)
{
	(void)state;
	json_t *doc = json_object();
	char ctl[40];
	for (int i = 1; i < 32; i++)
		ctl[i - 1] = (char)i;
	ctl[31] = 0;
	json_object_set_new(doc, "controls", json_string(ctl));
	json_object_set_new(doc, "quotes", json_string("say \"hi\" \\ back\\slash / slash"));
	json_object_set_new(doc, "utf8", json_string("main.Ünïcode[...] 日本 \xf0\x9f\x98\x80 \x7f"));
	json_object_set_new(doc, "with\nnewline \"key\"", json_string(""));
	json_object_set_new(doc, "nul", json_stringn("a\0b", 3));
	json_object_setn_nocheck(doc, "k\0ey", 4, json_integer(7));
	char *big = malloc(200001);
	assert_non_null(big);
	for (size_t i = 0; i < 200000; i++)
		big[i] = (char)('a' + i % 26);
	big[200000] = 0;
	big[70000] = '"';
	json_object_set_new(doc, "big", json_string(big));
	free(big);
	check_same(doc);
	json_decref(doc);
}

/* Larger than the printer's buffer, many small tokens (the 100k goroutines case). */
static void test_many_objects(void **state)
{
	(void)state;
	json_t *doc = json_object();
	json_t *arr = json_array();
	for (int i = 0; i < 20000; i++) {
		json_t *g = json_object();
		json_object_set_new(g, "id", json_integer(i));
		json_object_set_new(g, "state", json_string(i % 3 ? "waiting" : "runnable"));
		json_object_set_new(g, "wait_seconds", json_real(i * 0.25));
		json_object_set_new(g, "frames", json_array());
		json_array_append_new(arr, g);
	}
	json_object_set_new(doc, "goroutines", arr);
	check_same(doc);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars_and_nesting),
		cmocka_unit_test(test_reals),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_many_objects),
		cmocka_unit_test(test_items_streamed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
