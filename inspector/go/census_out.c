/* SPDX-License-Identifier: MIT */
/*
 * The heap census's result tree: go.types (typed rows by live bytes), go.untyped
 * (by size class), go.typed_share, go.census (how the census went) and, when
 * asked, go.retention: a generic profile whose samples are retention paths,
 * leaf first (the object's type, edge labels and types up to the root). Values
 * are objects and bytes of slots (elemsize), as pprof's inuse_space. See census.h.
 */
#include "census_int.h"

#include <stdlib.h>

static int cmp_bytes(const void *a, const void *b, void *arg)
{
	const struct ctype *ct = arg;
	const struct ctype *x = &ct[*(const uint32_t *)a], *y = &ct[*(const uint32_t *)b];
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return x->objects > y->objects ? -1 : x->objects < y->objects;
}

/* count every live object once, into its census type and its path node */
static void count(struct tli_go_census *c, uint64_t *live_n, uint64_t *live_b, uint64_t *typed_n, uint64_t *typed_b)
{
	const struct tli_goheap *h = c->h;
	for (size_t i = 0; i < h->nspans; i++) {
		const struct tli_goheap_span *sp = &h->spans[i];
		uint32_t ucls = 0;
		for (uint64_t k = 0; k < sp->nelems; k++) {
			uint64_t n = c->objoff[i] + k;
			if (!c->state[n])
				continue;
			uint32_t id = c->otype[n];
			if (!id) {
				if (!ucls)
					ucls = census_ctype(c, sp->elemsize, CT_UNTYPED);
				id = ucls;
			} else {
				(*typed_n)++;
				*typed_b += sp->elemsize;
			}
			(*live_n)++;
			*live_b += sp->elemsize;
			if (id) {
				c->ct.v[id].objects++;
				c->ct.v[id].bytes += sp->elemsize;
			}
			if (c->retention && c->opath[n] < c->nodes.n) {
				c->nodes.v[c->opath[n]].objects++;
				c->nodes.v[c->opath[n]].bytes += sp->elemsize;
			}
		}
	}
}

static json_t *row(const struct ctype *t)
{
	json_t *r = json_object();
	json_object_set_new(r, "type", json_string(t->name ? t->name : "?"));
	json_object_set_new(r, "objects", json_integer((json_int_t)t->objects));
	json_object_set_new(r, "bytes", json_integer((json_int_t)t->bytes));
	if (t->kind == CT_ARRAY)
		json_object_set_new(r, "holds", json_string("backing arrays"));
	return r;
}

static void rows(struct tli_go_census *c, const struct tli_go_census_opts *o, json_t *go)
{
	uint32_t *ids = malloc((c->ct.n ? c->ct.n : 1) * sizeof(*ids));
	size_t n = 0;
	for (size_t i = 1; ids && i < c->ct.n; i++)
		if (c->ct.v[i].objects)
			ids[n++] = (uint32_t)i;
	if (ids)
		qsort_r(ids, n, sizeof(*ids), cmp_bytes, c->ct.v);
	size_t top = !o || o->top == 0 ? 50 : o->top < 0 ? SIZE_MAX : (size_t)o->top;
	json_t *types = json_array(), *untyped = json_array();
	size_t nt = 0, nu = 0, more_t = 0, more_u = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ctype *t = &c->ct.v[ids[i]];
		bool u = t->kind == CT_UNTYPED;
		size_t *k = u ? &nu : &nt;
		if (*k >= top) {
			(*(u ? &more_u : &more_t))++;
			continue;
		}
		(*k)++;
		json_array_append_new(u ? untyped : types, row(t));
	}
	free(ids);
	json_object_set_new(go, "types", types);
	json_object_set_new(go, "untyped", untyped);
	json_object_set_new(go, "types_not_shown", json_integer((json_int_t)more_t));
	json_object_set_new(go, "untyped_not_shown", json_integer((json_int_t)more_u));
}

static json_t *retention(struct tli_go_census *c)
{
	json_t *p = json_object(), *st = json_array(), *samples = json_array();
	json_t *a = json_object(), *b = json_object();
	json_object_set_new(a, "type", json_string("inuse_objects"));
	json_object_set_new(a, "unit", json_string("count"));
	json_object_set_new(b, "type", json_string("inuse_space"));
	json_object_set_new(b, "unit", json_string("bytes"));
	json_array_append_new(st, a);
	json_array_append_new(st, b);
	json_object_set_new(p, "sample_types", st);
	json_object_set_new(p, "default_sample_type", json_string("inuse_space"));
	/* every live object is counted (no sampling): as a heap profile with a period of one byte */
	json_object_set_new(p, "period_type", json_pack("{s:s,s:s}", "type", "space", "unit", "bytes"));
	json_object_set_new(p, "period", json_integer(1));
	json_object_set_new(p, "comments", json_pack("[s]", "tlinspect: live Go heap objects; each stack is a "
							   "retention path, leaf (the objects' type) first, root last"));
	for (size_t i = 1; i < c->nodes.n; i++) {
		const struct pnode *nd = &c->nodes.v[i];
		if (!nd->objects)
			continue;
		json_t *stack = json_array(), *s = json_object(), *v = json_array();
		uint32_t k = (uint32_t)i;
		for (int d = 0; k && d < 4096; d++) {
			const struct pnode *x = &c->nodes.v[k];
			if (x->ctype)
				json_array_append_new(stack, json_string(c->ct.v[x->ctype].name ?: "?"));
			if (x->label && x->label < c->labels.n)
				json_array_append_new(stack, json_string(c->labels.v[x->label]));
			k = x->parent;
		}
		json_array_append_new(v, json_integer((json_int_t)nd->objects));
		json_array_append_new(v, json_integer((json_int_t)nd->bytes));
		json_object_set_new(s, "stack", stack);
		json_object_set_new(s, "values", v);
		json_array_append_new(samples, s);
	}
	json_object_set_new(p, "samples", samples);
	return p;
}

void census_output(struct tli_go_census *c, const struct tli_go_census_opts *o, json_t *go)
{
	uint64_t live_n = 0, live_b = 0, typed_n = 0, typed_b = 0;
	count(c, &live_n, &live_b, &typed_n, &typed_b);
	census_name_all(c);   /* untyped classes created while counting */
	rows(c, o, go);
	json_object_set_new(go, "typed_share", json_real(live_b ? (double)typed_b / (double)live_b : 0.0));
	json_t *st = json_object();
	json_object_set_new(st, "live_objects", json_integer((json_int_t)live_n));
	json_object_set_new(st, "live_bytes", json_integer((json_int_t)live_b));
	json_object_set_new(st, "typed_objects", json_integer((json_int_t)typed_n));
	json_object_set_new(st, "typed_bytes", json_integer((json_int_t)typed_b));
	json_object_set_new(st, "heap_slots", json_integer((json_int_t)c->nobj));
	json_object_set_new(st, "retyped", json_integer((json_int_t)c->retyped));
	json_object_set_new(st, "interior_edges", json_integer((json_int_t)c->interior));
	json_object_set_new(st, "typed_globals", json_integer((json_int_t)c->globals.n));
	json_object_set_new(st, "census_types", json_integer((json_int_t)(c->ct.n - 1)));
	if (c->dwarf_problem[0])
		json_object_set_new(st, "globals_problem", json_string(c->dwarf_problem));
	const struct tli_goheap_stack_stats *ss = tli_goheap_precise_stats(c->precise);
	json_object_set_new(st, "stacks_precise", json_integer(ss ? (json_int_t)ss->stacks_precise : 0));
	json_object_set_new(st, "stacks_word_by_word",
			    json_integer(ss ? (json_int_t)(ss->stacks_conservative + ss->stacks_partial) : 0));
	if (c->stack_problem[0])
		json_object_set_new(st, "stacks_problem", json_string(c->stack_problem));
	if (c->retention)
		json_object_set_new(st, "path_nodes", json_integer((json_int_t)(c->nodes.n - 1)));
	json_object_set_new(go, "census", st);
	if (c->retention)
		json_object_set_new(go, "retention", retention(c));
}
