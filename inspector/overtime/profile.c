/* SPDX-License-Identifier: MIT */
/*
 * `goroutines --pprof`: the goroutine profile the runtime's own pprof.Lookup("goroutine")
 * .WriteTo(w, 0) writes (runtime/mprof.go goroutineProfileWithLabels, runtime/pprof
 * printCountProfile): one sample per distinct stack with the number of goroutines on it,
 * every frame of the stack (runtime frames and inlined frames included, innermost first, down
 * to runtime.goexit, as tracebackPCs records them), system goroutines left out
 * (isSystemGoroutine), a goroutine's pprof labels as the sample's string labels (a stack with
 * two label sets is two samples, as in the runtime's profile). Built from a `goroutines` result with every frame; render/pprof.h
 * writes it.
 */
#include "overtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *frame(const json_t *f)
{
	json_t *o = json_object();
	json_t *fn = json_object_get(f, "function");
	json_object_set_new(o, "function", json_is_string(fn) ? json_incref(fn) : json_string("?"));
	if (json_is_string(json_object_get(f, "file")))
		json_object_set(o, "file", json_object_get(f, "file"));
	if (json_is_integer(json_object_get(f, "line")))
		json_object_set(o, "line", json_object_get(f, "line"));
	return o;
}

struct tli_error *tli_ot_goroutine_profile(const json_t *res, json_t **ret)
{
	*ret = NULL;
	json_t *list = json_object_get(json_object_get(res, "go"), "goroutines");
	if (!json_is_array(list))
		return tli_error_create(TLI_E_NO_INFO, "no goroutines to profile");
	json_t *by_stack = json_object(); /* stack (JSON text) -> sample */
	json_t *samples = json_array();
	size_t i, skipped = 0;
	json_t *g;
	json_array_foreach(list, i, g) {
		if (json_is_true(json_object_get(g, "system")))
			continue;
		json_t *st = json_object_get(g, "stack");
		if (!json_is_array(st) || !json_array_size(st)) {
			skipped++; /* unreadable: no stack to attribute it to */
			continue;
		}
		json_t *stack = json_array();
		size_t k;
		json_t *f;
		json_array_foreach(st, k, f)
			json_array_append_new(stack, frame(f));
		/* the runtime's profile counts a stack once per distinct label set (profileBuilder,
		 * runtime/pprof printCountProfile keys by stack and labels) */
		json_t *labels = json_object_get(g, "labels");
		json_t *kobj = json_pack("[O,O]", stack, json_is_object(labels) ? labels : json_null());
		char *key = kobj ? json_dumps(kobj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(kobj);
		json_t *s = key ? json_object_get(by_stack, key) : NULL;
		if (s) {
			json_t *v = json_array_get(json_object_get(s, "values"), 0);
			json_integer_set(v, json_integer_value(v) + 1);
			json_decref(stack);
		} else {
			s = json_object();
			json_object_set_new(s, "stack", stack);
			if (json_is_object(labels) && json_object_size(labels))
				json_object_set(s, "labels", labels);
			json_t *vals = json_array();
			json_array_append_new(vals, json_integer(1));
			json_object_set_new(s, "values", vals);
			json_array_append_new(samples, s);
			if (key)
				json_object_set(by_stack, key, s);
		}
		free(key);
	}
	json_decref(by_stack);
	json_t *p = json_object();
	json_t *types = json_array(), *t = json_object(), *pt = json_object();
	json_object_set_new(t, "type", json_string("goroutine"));
	json_object_set_new(t, "unit", json_string("count"));
	json_array_append_new(types, t);
	json_object_set_new(p, "sample_types", types);
	json_object_set_new(pt, "type", json_string("goroutine"));
	json_object_set_new(pt, "unit", json_string("count"));
	json_object_set_new(p, "period_type", pt);
	json_object_set_new(p, "period", json_integer(1));
	json_t *c = json_array();
	json_array_append_new(c, json_string("tlinspect goroutines --pprof"));
	if (skipped) {
		char buf[96];
		snprintf(buf, sizeof(buf), "%zu goroutine(s) without a readable stack left out", skipped);
		json_array_append_new(c, json_string(buf));
	}
	json_object_set_new(p, "comments", c);
	json_object_set_new(p, "samples", samples);
	*ret = p;
	return NULL;
}
