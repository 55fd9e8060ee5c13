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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
