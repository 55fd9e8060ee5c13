/* SPDX-License-Identifier: MIT */
/*
 * `heap` on a Go program, for now only the census (census.h): the capture of
 * go/heap.h (as leaks.c does it) and the census after release. The memstats
 * pipeline merges into this one capture.
 */
#include "go/census.h"

#include <stdio.h>
#include <time.h>

#include "go/gobin.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct tli_error *tli_go_heap_census(struct tli_session *s, const struct tli_go_census_opts *o, json_t *result)
{
	struct tli_go_rt *rt = NULL;
	struct tli_goheap *h = NULL;
	struct tli_go_census *c = NULL;
	struct tli_goheap_roots roots = { 0 };
	double t[6] = { now_s() };
	struct tli_error *err = tli_go_rt_open(s, &rt);
	if (!err)
		err = tli_goheap_new(s, rt, &h);
	if (!err)
		err = tli_go_census_prepare(s, rt, &c);   /* files only: before the stop */
	if (!err)
		tli_goheap_reserve(h);
	t[1] = now_s();
	if (!err)
		err = tli_go_rt_capture(rt);             /* the stop */
	if (!err)
		err = tli_goheap_roots_capture(s, rt, true, &roots);
	if (!err)
		err = tli_goheap_capture(h);
	/* no tli_goheap_prepare_types: the census reads descriptors from the file after release */
	t[2] = now_s();
	tli_target_release(s->target);
	t[3] = now_s();
	json_t *go = json_object();
	if (!err && roots.problem[0])
		tli_session_warn(s, "%s", roots.problem);
	if (!err)
		err = tli_go_census_run(c, h, &roots, o, go);
	t[4] = now_s();
	struct tli_gobin *gb = NULL;
	if (!err && !tli_error_drop(tli_session_gobin(s, &gb))) {
		json_t *tg = json_object();   /* tli_session_describe fills in the rest */
		const char *v = tli_gobin_version(gb);
		json_object_set_new(tg, "go_version", v ? json_string(v) : json_null());
		json_object_set_new(result, "target", tg);
	}
	if (!err) {
		json_object_set_new(result, "go", go);
		go = NULL;
	}
	json_decref(go);
	if (s->opts.verbose)
		fprintf(stderr, "go heap census: prepare %.3f s, stop+capture %.3f s, release %.3f s, census %.3f s\n",
			t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3]);
	tli_go_census_destroy(c);
	tli_goheap_roots_free(&roots);
	tli_goheap_destroy(h);
	tli_go_rt_destroy(rt);
	return err;
}
