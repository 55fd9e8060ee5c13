/* SPDX-License-Identifier: MIT */
/*
 * Folded stacks (`goroutines --folded`): one line per distinct stack, outermost frame
 * first, frames joined by ';', with the number of goroutines that have it — the input
 * of flame-graph tools (flamegraph.pl, speedscope, inferno). Built from the listing's
 * own stacks, so it shows exactly the frames the listing would. See goroutines.h.
 */
#include "go/goroutines.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/vec.h"

struct fold {
	char *stack;
	json_int_t count;
};
TLI_VEC(folds, struct fold);

static int cmp_fold(const void *a, const void *b)
{
	const struct fold *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->stack, y->stack);
}

static const char *frame_fn(json_t *stack, size_t i)
{
	const char *fn = json_string_value(json_object_get(json_array_get(stack, i), "function"));
	return fn ? fn : "?";
}

/* "a;b;c" from g's stack (innermost first in the listing); NULL if it has none */
static char *fold_of(json_t *g)
{
	json_t *stack = json_object_get(g, "stack");
	size_t n = json_array_size(stack), len = 0;
	if (!n)
		return NULL;
	for (size_t i = 0; i < n; i++)
		len += strlen(frame_fn(stack, i)) + 1;
	char *s = malloc(len), *p = s;
	if (!s)
		return NULL;
	for (size_t i = n; i-- > 0;) {
		for (const char *c = frame_fn(stack, i); *c; c++) /* separators stay separators */
			*p++ = *c == ';' || *c == '\n' || *c == ' ' ? '_' : *c;
		*p++ = i ? ';' : '\0';
	}
	return s;
}

static struct tli_error *collect(json_t *go, bool system, struct folds *v, struct tli_strmap *idx)
{
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(go, "goroutines"), i, g) {
		if (!system && json_is_true(json_object_get(g, "system")))
			continue;
		char *s = fold_of(g);
		if (!s)
			continue;
		uint64_t at;
		if (tli_strmap_get(idx, s, &at)) {
			v->v[at].count++;
			free(s);
		} else if (!tli_strmap_put(idx, s, v->n) || !tli_vec_push(v, ((struct fold){ s, 1 }))) {
			free(s);
			return &tli_enomem;
		}
	}
	return NULL;
}

struct tli_error *tli_go_folded(json_t *go, bool system)
{
	struct folds v = { 0 };
	struct tli_strmap *idx = tli_strmap_new();
	struct tli_error *err = idx ? collect(go, system, &v, idx) : &tli_enomem;
	json_t *arr = err ? NULL : json_array();
	if (!err && !arr)
		err = &tli_enomem;
	if (!err) {
		qsort(v.v, v.n, sizeof(*v.v), cmp_fold);
		for (size_t k = 0; k < v.n && !err; k++) {
			json_t *o = json_pack("{s:s, s:I}", "stack", v.v[k].stack, "count", v.v[k].count);
			if (!o || json_array_append_new(arr, o))
				err = &tli_enomem;
		}
	}
	if (!err && json_object_set_new(go, "folded", arr))
		err = &tli_enomem;
	else if (err)
		json_decref(arr);
	for (size_t k = 0; k < v.n; k++)
		free(v.v[k].stack);
	tli_vec_free(&v);
	if (idx)
		tli_strmap_free(idx);
	return err;
}
