/* SPDX-License-Identifier: MIT */
/*
 * The Go section of `heap` (see heap_cmd.h): memstats as runtime.ReadMemStats would
 * return them (go/memstats.h) and the in-use spans per size class (go/heap.h).
 *
 *   go_heap_prepare   layouts; what the capture must hold          (before the stop)
 *   go_heap_capture   memstats inputs, span headers and allocBits   (stopped)
 *   release
 *   go_heap_analyze   memstats, size classes, [more analyses here]  (after the release)
 */
#include "core/jsonstr.h"
#include "go/heap_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/progress.h"
#include "go/census.h"
#include "go/gobin.h"
#include "go/goroutines.h"
#include "go/heap.h"
#include "go/memstats.h"
#include "go/pools.h"

/* One run of the Go part of `heap`. */
struct tli_go_heap_run {
	struct tli_session *s;
	const struct tli_go_heap_opts *o;
	struct tli_go_rt *rt;
	struct tli_goheap *h;          /* the heap model; NULL if its layout is unknown */
	char heap_problem[160];        /* why h is NULL or its capture failed */
	struct tli_gomem *mem;
	struct tli_go_census *census;  /* live objects by type (o->census), NULL otherwise */
	struct tli_goheap_roots roots; /* data/bss and stacks (census) */
	char census_problem[200];      /* why there is no census */
	/* Analyses that need object memory and specials (types, retention) set this in
	 * go_heap_prepare; size classes and memstats need only span headers and allocBits. */
	bool need_objects;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct tli_error *go_heap_prepare(struct tli_go_heap_run *r)
{
	struct tli_error *err = tli_go_rt_open(r->s, &r->rt);
	if (err)
		return err;
	struct tli_layout *l = tli_go_rt_layout(r->rt);
	if ((err = tli_gomem_new(r->s, l, &r->mem)))
		return err;
	struct tli_error *he = tli_goheap_new(r->s, r->rt, &r->h);
	if (he) {
		snprintf(r->heap_problem, sizeof(r->heap_problem), "%.150s", he->msg);
		tli_error_destroy(he);
		r->h = NULL;
		return NULL;
	}
	if (r->need_objects) {
		struct tli_error *ce = tli_go_census_prepare(r->s, r->rt, &r->census); /* files only */
		if (ce) {
			if (ce->code == TLI_E_NOMEM)
				return ce;
			snprintf(r->census_problem, sizeof(r->census_problem), "%.190s", ce->msg);
			tli_error_destroy(ce);
			r->need_objects = false;
		}
	}
	/* the goroutine capture (census roots, a snapshot's groups) runs after memstats has
	 * stopped the target: what it prepares before a stop is done now */
	if (r->need_objects || r->o->keep_rt)
		tli_go_rt_prepare(r->rt);
	r->h->spans_only = !r->need_objects;
	tli_goheap_reserve(r->h); /* only when objects are captured: a no-op otherwise */
	return tli_goheap_afford(r->h); /* refused while the process runs */
}

static struct tli_error *go_heap_capture(struct tli_go_heap_run *r)
{
	struct tli_error *err = tli_gomem_capture(r->mem);
	if (!err && r->o->keep_rt) {
		/* a snapshot's goroutine groups: every goroutine, census or not, heap or not */
		if ((err = tli_go_rt_capture(r->rt)))
			return err;
		*r->o->keep_rt = r->rt;
	}
	if (err || !r->h)
		return err;
	if (r->census) {
		/* the census's roots: goroutine stacks (the goroutine capture) and data/bss */
		struct tli_error *ce = r->o->keep_rt ? NULL : tli_go_rt_capture(r->rt);
		if (!ce)
			ce = tli_goheap_roots_capture(r->s, r->rt, true, &r->roots);
		if (ce) {
			if (ce->code == TLI_E_NOMEM)
				return ce;
			snprintf(r->census_problem, sizeof(r->census_problem), "roots: %.180s", ce->msg);
			tli_error_destroy(ce);
			tli_go_census_destroy(r->census);
			r->census = NULL;
		}
	}
	struct tli_error *he = tli_goheap_capture(r->h);
	if (he) {
		if (he->code == TLI_E_NOMEM) /* an answer without the spans would be a smaller one */
			return he;
		snprintf(r->heap_problem, sizeof(r->heap_problem), "%.150s", he->msg);
		tli_error_destroy(he);
		tli_goheap_destroy(r->h);
		r->h = NULL;
	} else if (r->census) {
		/* the pointer masks of the types in object headers and large spans, read while
		 * the target is stopped (a live target's memory is gone after the release):
		 * without them those objects are scanned word by word, and a stale word keeps
		 * a dead object alive */
		tli_goheap_prepare_types(r->h, tli_go_census_type_layout(r->census));
	}
	return NULL;
}

/* allocated objects of a span: every one below freeindex, then allocBits */
static uint64_t span_objects(const struct tli_goheap_span *sp)
{
	uint64_t n = sp->freeindex < sp->nelems ? sp->freeindex : sp->nelems;
	for (uint64_t i = n; i < sp->nelems; i++)
		n += (sp->alloc[i / 8] >> (i % 8)) & 1;
	return n;
}

struct class_row {
	uint64_t size, spans, objects, bytes;
};

/* go.size_classes (ascending class; class 0 = large objects, one per span) and go.spans */
static void size_classes_json(const struct tli_go_heap_run *r, json_t *go)
{
	if (!r->h) {
		json_object_set_new(go, "size_classes", json_null());
		json_object_set_new(go, "spans", json_null());
		json_object_set_new(go, "size_classes_unreadable", json_string(r->heap_problem));
		return;
	}
	const struct tli_gomem_raw *raw = tli_gomem_raw(r->mem);
	bool sizes = (raw->ok >> TLI_GOMEM_SRC_SIZES) & 1;
	struct class_row rows[TLI_GOMEM_MAX_CLASSES] = { { 0 } };
	uint64_t nspans = 0, span_bytes = 0, objects = 0, bytes = 0;
	for (size_t i = 0; i < r->h->nspans; i++) {
		const struct tli_goheap_span *sp = &r->h->spans[i];
		if (sp->sizeclass >= TLI_GOMEM_MAX_CLASSES)
			continue;
		struct class_row *c = &rows[sp->sizeclass];
		uint64_t n = span_objects(sp);
		c->size = sp->sizeclass && sizes ? raw->sizes[sp->sizeclass] : sp->sizeclass ? sp->elemsize : 0;
		c->spans++;
		c->objects += n;
		c->bytes += n * sp->elemsize;
		nspans++;
		span_bytes += sp->end - sp->start;
		objects += n;
		bytes += n * sp->elemsize;
	}
	json_t *a = json_array();
	for (unsigned k = 0; k < TLI_GOMEM_MAX_CLASSES; k++) {
		if (!rows[k].spans)
			continue;
		json_t *x = json_object();
		json_object_set_new(x, "class", json_integer(k));
		json_object_set_new(x, "size", json_integer((json_int_t)rows[k].size));
		json_object_set_new(x, "spans", json_integer((json_int_t)rows[k].spans));
		json_object_set_new(x, "objects", json_integer((json_int_t)rows[k].objects));
		json_object_set_new(x, "bytes_inuse", json_integer((json_int_t)rows[k].bytes));
		json_array_append_new(a, x);
	}
	json_object_set_new(go, "size_classes", a);
	json_t *t = json_object();
	json_object_set_new(t, "count", json_integer((json_int_t)nspans));
	json_object_set_new(t, "bytes", json_integer((json_int_t)span_bytes));
	json_object_set_new(t, "objects", json_integer((json_int_t)objects));
	json_object_set_new(t, "bytes_inuse", json_integer((json_int_t)bytes));
	json_object_set_new(go, "spans", t);
}

static struct tli_error *go_heap_analyze(struct tli_go_heap_run *r, json_t *go)
{
	tli_gomem_json(r->mem, go);
	size_classes_json(r, go);
	if (!r->o->census)
		return NULL;
	if (r->census && r->h) {
		if (r->roots.problem[0])
			tli_session_warn(r->s, "%s", r->roots.problem);
		struct tli_go_census_opts co = { .retention = r->o->retention || r->o->pools,
						 .top = r->o->all_types ? -1 : 0 };
		tli_progress_begin("typing the live Go heap", 0);
		struct tli_error *err = tli_go_census_run(r->census, r->h, &r->roots, &co, go);
		tli_progress_end();
		if (!err && r->o->pools)
			tli_go_pools_after_census(r->s, r->rt, r->h, r->census, &r->roots, go);
		if (!r->o->retention)
			json_object_del(go, "retention");
		return err;
	}
	json_object_set_new(go, "types_unreadable",
			    json_string(r->census_problem[0] ? r->census_problem
							      : r->heap_problem[0] ? r->heap_problem : "no Go heap"));
	return NULL;
}

struct tli_error *tli_go_cmd_heap(struct tli_session *s, const struct tli_go_heap_opts *o,
				  bool (*between)(void *arg), void *arg, json_t *result)
{
	struct tli_go_heap_run r = { .s = s, .o = o, .need_objects = o->census };
	struct tli_gobin *gb = NULL;
	struct tli_error *err = tli_session_gobin(s, &gb);
	double t[4] = { now_s() };
	if (!err)
		err = go_heap_prepare(&r);
	t[1] = now_s();
	if (!err)
		err = go_heap_capture(&r);
	t[2] = now_s();
	if (between) /* whatever happened: the other section captures in the same stop */
		between(arg);
	tli_target_release(s->target);
	if (!err) {
		json_t *go = tli_json_child_object(result, "go");
		const char *ver = tli_gobin_version(gb);
		json_object_set_new(go, "go_version", ver ? json_string(ver) : json_null());
		/* tli_session_describe fills in the rest of the target */
		json_object_set_new(tli_json_child_object(result, "target"), "go_version",
				    ver ? json_string(ver) : json_null());
		err = go_heap_analyze(&r, go);
	}
	t[3] = now_s();
	if (!err)
		tli_goheap_capture_report(r.h);
	if (s->opts.verbose && !err)
		fprintf(stderr, "go heap: layout %.3f s, capture %.3f s, release+analysis %.3f s\n", t[1] - t[0],
			t[2] - t[1], t[3] - t[2]);
	tli_go_census_destroy(r.census);
	tli_goheap_roots_free(&r.roots);
	tli_goheap_destroy(r.h);
	tli_gomem_destroy(r.mem);
	if (r.rt && !(o->keep_rt && *o->keep_rt == r.rt))
		tli_go_rt_destroy(r.rt);
	return err;
}
