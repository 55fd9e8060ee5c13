/* SPDX-License-Identifier: MIT */
/*
 * The first screen (overtime.h, tli_ot_triage): the three leaks on one screen from ONE stop.
 *
 *   before    layouts: goroutines and channels (waitfor), memstats, timers
 *   stopped   `leaks`'s capture (go/waitfor.h: goroutines, channels, stacks, data/bss, the Go
 *             heap with its objects), then in its `between`: memstats inputs, the timer heaps,
 *             glibc's arenas
 *   release
 *   after     the goroutine listing and which goroutines are leaked (as `leaks` judges them);
 *             the census of that same heap copy (live objects by type, root names), the pools
 *             walkers on it; memstats; timers
 */
#include "overtime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/jsonstr.h"
#include "core/progress.h"
#include "glibc/glibc.h"
#include "go/census.h"
#include "go/gobin.h"
#include "go/goroutines.h"
#include "go/memstats.h"
#include "go/pools.h"
#include "go/timers.h"
#include "go/waitfor.h"

#define TRIAGE_TYPES 5

struct triage {
	struct tli_session *s;
	struct tli_go_waitfor w;
	struct tli_gomem *mem;
	struct tli_go_timers *timers;
	char mem_problem[200], timers_problem[200];
	json_t *glibc_doc;
	struct tli_error *glibc_err;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void keep_problem(char *buf, size_t cap, struct tli_error *e)
{
	snprintf(buf, cap, "%.190s", e->msg);
	tli_error_destroy(e);
}

/* still stopped, after the goroutines, stacks and heap: the small captures */
static bool triage_between(void *arg)
{
	struct triage *t = arg;
	struct tli_error *e;
	if (t->mem && (e = tli_gomem_capture(t->mem))) {
		keep_problem(t->mem_problem, sizeof(t->mem_problem), e);
		tli_gomem_destroy(t->mem);
		t->mem = NULL;
	}
	if (t->timers && (e = tli_go_timers_capture(t->s->target, t->timers))) {
		keep_problem(t->timers_problem, sizeof(t->timers_problem), e);
		tli_go_timers_destroy(t->timers);
		t->timers = NULL;
	}
	struct tli_glibc_opts go = { .top = 0 };
	t->glibc_doc = json_object();
	t->glibc_err = tli_glibc_heap(t->s, &go, t->glibc_doc);
	return true;
}

/* go.leaked_count: goroutines blocked forever, as `leaks` judges them */
static void leaked_json(struct triage *t, json_t *go)
{
	bool reach_ok = false;
	struct tli_error *e = tli_go_leaks_classify(&t->w, &reach_ok);
	if (e) {
		json_object_set_new(go, "leaked_unreadable", json_string(e->msg));
		tli_error_destroy(e);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < t->w.c->ngs; i++)
		n += !t->w.c->gs[i].dead && t->w.gi[i].leaked;
	json_object_set_new(go, "leaked_count", json_integer((json_int_t)n));
	if (!reach_ok)
		json_object_set_new(go, "leaked_partial", json_string(t->w.problem[0] ? t->w.problem
									: "reachability not judged"));
}

/* go.types/untyped (top few), live_*, typed_share and go.pools from the same heap copy */
static void census_json(struct triage *t, json_t *go)
{
	if (!t->w.h) {
		json_object_set_new(go, "types_unreadable", json_string("no Go heap"));
		json_object_set_new(go, "pools", json_null());
		return;
	}
	struct tli_go_census *census = NULL;
	struct tli_error *e = tli_go_census_prepare(t->s, t->w.rt, &census); /* files only */
	json_t *scratch = json_object();
	if (!e) {
		struct tli_go_census_opts co = { .retention = true, .top = TRIAGE_TYPES }; /* root names */
		tli_progress_begin("typing the live Go heap", 0);
		e = tli_go_census_run(census, t->w.h, &t->w.roots, &co, scratch);
		tli_progress_end();
	}
	if (e) {
		json_object_set_new(go, "types_unreadable", json_string(e->msg));
		json_object_set_new(go, "pools", json_null());
		tli_error_destroy(e);
	} else {
		static const char *const keep[] = { "types", "untyped", "typed_share" };
		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			if (json_object_get(scratch, keep[i]))
				json_object_set(go, keep[i], json_object_get(scratch, keep[i]));
		json_t *c = json_object_get(scratch, "census");
		json_object_set(go, "live_objects", json_object_get(c, "live_objects"));
		json_object_set(go, "live_bytes", json_object_get(c, "live_bytes"));
		tli_go_pools_after_census(t->s, t->w.rt, t->w.h, census, &t->w.roots, go);
	}
	json_decref(scratch);
	tli_go_census_destroy(census);
}

static void glibc_json(struct triage *t, json_t *result)
{
	json_t *g = t->glibc_doc ? json_object_get(t->glibc_doc, "glibc") : NULL;
	if (!g || t->glibc_err) { /* a static Go program has no libc: no section */
		if (t->glibc_err && t->glibc_err->code != TLI_E_NOT_GO)
			json_object_set_new(result, "glibc_unreadable", json_string(t->glibc_err->msg));
		return;
	}
	json_t *o = json_object();
	json_object_set(o, "mallinfo2", json_object_get(g, "mallinfo2"));
	json_object_set(o, "totals", json_object_get(g, "totals"));
	json_object_set_new(result, "glibc", o);
}

struct tli_error *tli_ot_triage(struct tli_session *s, int top, json_t *result)
{
	struct tli_gobin *gb = NULL;
	struct tli_error *err = tli_session_gobin(s, &gb);
	if (err)
		return err;
	struct triage t = { .s = s, .w = { .s = s, .heap = true } };
	double t0 = now_s();
	struct tli_error *e = s->layout ? tli_gomem_new(s, s->layout, &t.mem) : NULL;
	if (e)
		keep_problem(t.mem_problem, sizeof(t.mem_problem), e);
	if (s->layout && (e = tli_go_timers_prepare(s->layout, &t.timers)))
		keep_problem(t.timers_problem, sizeof(t.timers_problem), e);
	err = tli_go_waitfor_capture(&t.w, triage_between, &t);
	double t1 = now_s();
	if (!err)
		err = tli_go_waitfor_analyze(&t.w, result); /* frees w on failure */
	else
		tli_go_waitfor_free(&t.w);
	double t2 = now_s(), t3 = t2;
	if (!err) {
		json_t *go = json_object_get(result, "go");
		/* the summary's groups as `goroutines --top` has them (waitfor keeps every group) */
		json_t *groups = json_object_get(json_object_get(go, "summary"), "groups");
		while (top > 0 && json_array_size(groups) > (size_t)top)
			json_array_remove(groups, json_array_size(groups) - 1);
		leaked_json(&t, go);
		t3 = now_s();
		if (t.mem)
			tli_gomem_json(t.mem, go);
		else
			json_object_set_new(go, "memstats_unreadable", json_string(t.mem_problem));
		census_json(&t, go);
		if (t.timers)
			json_object_set_new(go, "timers", tli_go_timers_json(t.w.rt, t.timers));
		else
			json_object_set_new(go, "timers_unreadable", json_string(t.timers_problem));
		glibc_json(&t, result);
		tli_go_waitfor_free(&t.w);
		if (s->opts.verbose)
			fprintf(stderr, "first screen: capture %.3f s, listing %.3f s, leaks %.3f s, census+pools+rest %.3f s\n",
				t1 - t0, t2 - t1, t3 - t2, now_s() - t3);
	}
	tli_gomem_destroy(t.mem);
	tli_go_timers_destroy(t.timers);
	tli_error_destroy(t.glibc_err);
	json_decref(t.glibc_doc);
	return err;
}
