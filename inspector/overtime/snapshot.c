/* SPDX-License-Identifier: MIT */
/*
 * `snapshot`: one stop, everything that can grow, under keys that stay the same from one
 * snapshot to the next (overtime.h). The Go heap pipeline (go/heap_cmd.h) drives the stop: it
 * captures memstats, the heap and every goroutine and hands the runtime over; channels and
 * glibc capture in its `between` callback, still stopped; all decoding after the release.
 */
#include "overtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "go/chans.h"
#include "go/gobin.h"
#include "go/goroutines.h"
#include "go/heap_cmd.h"
#include "go/timers.h"
#include "glibc/glibc.h"

struct snap_run {
	struct tli_session *s;
	struct tli_go_rt *rt;            /* handed over by the heap pipeline, ours to destroy */
	struct tli_go_chans *chans;
	struct tli_go_timers *timers;    /* prepared before the stop, NULL without the layouts */
	char timers_problem[200];
	json_t *glibc_doc;               /* a `heap` result holding "glibc", or NULL */
	struct tli_error *glibc_err;
	bool glibc_ran;
};

static bool snap_between(void *arg)
{
	struct snap_run *r = arg;
	if (r->rt) {
		struct tli_go_chans_opts co = { .queues = true };
		struct tli_error *ce = tli_go_chans_capture(r->s, r->rt, NULL, 0, &co, &r->chans);
		if (ce) {
			tli_session_warn(r->s, "channels not decoded: %s", ce->msg);
			tli_error_destroy(ce);
			r->chans = NULL;
		}
		struct tli_error *te = r->timers ? tli_go_timers_capture(r->s->target, r->timers) : NULL;
		if (te) {
			snprintf(r->timers_problem, sizeof(r->timers_problem), "%.190s", te->msg);
			tli_error_destroy(te);
			tli_go_timers_destroy(r->timers);
			r->timers = NULL;
		}
	}
	struct tli_glibc_opts go = { .top = -1 };
	r->glibc_ran = true;
	r->glibc_doc = json_object();
	r->glibc_err = tli_glibc_heap(r->s, &go, r->glibc_doc);
	return true;
}

/* "main.worker /src/main.go:60" from a frame object; null stays null */
static json_t *where_key(const json_t *fr)
{
	if (!json_is_object(fr))
		return json_null();
	const char *fn = json_string_value(json_object_get(fr, "function"));
	const char *file = json_string_value(json_object_get(fr, "file"));
	json_t *line = json_object_get(fr, "line");
	char buf[1024];
	if (file && json_is_integer(line))
		snprintf(buf, sizeof(buf), "%s %s:%lld", fn ? fn : "?", file, (long long)json_integer_value(line));
	else
		snprintf(buf, sizeof(buf), "%s", fn ? fn : "?");
	return json_string(buf);
}

static int cmp_count(const void *x, const void *y)
{
	json_int_t a = json_integer_value(json_object_get(*(json_t *const *)x, "count"));
	json_int_t b = json_integer_value(json_object_get(*(json_t *const *)y, "count"));
	return a != b ? (a > b ? -1 : 1) : 0;
}

/* go.goroutine_groups: the user goroutines of the listing grouped by wait reason (or the status
 * of goroutines that do not wait), user frame and creation site as "FUNC FILE:LINE" strings, and
 * pprof labels (null without); goroutines that differ only by status (running/runnable at one
 * place) merge. */
static json_t *groups_json(const json_t *listing)
{
	json_t *out = json_array();
	json_t *idx = json_object(); /* key as JSON text -> row */
	json_t *list = json_object_get(json_object_get(listing, "go"), "goroutines");
	size_t i;
	json_t *g;
	json_array_foreach(list, i, g) {
		if (json_is_true(json_object_get(g, "system")))
			continue;
		json_t *wr = json_object_get(g, "wait_reason");
		json_t *key = json_object();
		json_object_set(key, "wait_reason", json_is_string(wr) ? wr : json_object_get(g, "status"));
		json_object_set_new(key, "user", where_key(json_object_get(g, "user")));
		json_object_set_new(key, "created_by", where_key(json_object_get(g, "created_by")));
		json_t *labels = json_object_get(g, "labels");
		json_object_set(key, "labels", json_is_object(labels) ? labels : json_null());
		char *ks = json_dumps(key, JSON_COMPACT | JSON_SORT_KEYS);
		json_t *row = ks ? json_object_get(idx, ks) : NULL;
		if (row) {
			json_object_set_new(row, "count", json_integer(json_integer_value(json_object_get(row, "count")) + 1));
			json_decref(key);
			free(ks);
			continue;
		}
		row = json_object();
		json_object_set_new(row, "key", key);
		json_object_set_new(row, "count", json_integer(1));
		json_object_set(row, "status", json_object_get(g, "status"));
		json_array_append_new(out, row);
		if (ks)
			json_object_set(idx, ks, row);
		free(ks);
	}
	json_decref(idx);
	/* largest first, as the listing's groups */
	size_t n = json_array_size(out);
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return out;
	for (size_t k = 0; k < n; k++)
		v[k] = json_array_get(out, k);
	qsort(v, n, sizeof(*v), cmp_count);
	json_t *sorted = json_array();
	for (size_t k = 0; k < n; k++)
		json_array_append(sorted, v[k]);
	free(v);
	json_decref(out);
	return sorted;
}

/* go.channels: channels some goroutine waits on; never their contents */
static json_t *chans_json(const struct tli_go_chans *c)
{
	json_t *a = json_array();
	for (size_t i = 0; c && i < c->nchans; i++) {
		const struct tli_go_chan *ch = &c->chans[i];
		size_t ns = 0, nr = 0;
		for (size_t k = 0; k < ch->nsendq; k++)
			ns += !ch->sendq[k].stale;
		for (size_t k = 0; k < ch->nrecvq; k++)
			nr += !ch->recvq[k].stale;
		if (!ns && !nr)
			continue;
		json_t *o = json_object();
		char addr[32];
		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)ch->addr);
		json_object_set_new(o, "address", json_string(addr));
		json_object_set_new(o, "elemtype", ch->type_name ? json_string(ch->type_name) : json_null());
		json_object_set_new(o, "len", json_integer((json_int_t)ch->qcount));
		json_object_set_new(o, "cap", json_integer((json_int_t)ch->dataqsiz));
		json_object_set_new(o, "closed", json_boolean(ch->closed != 0));
		json_object_set_new(o, "senders", json_integer((json_int_t)ns));
		json_object_set_new(o, "receivers", json_integer((json_int_t)nr));
		if (ch->problem[0])
			json_object_set_new(o, "unreadable", json_string(ch->problem));
		json_array_append_new(a, o);
	}
	return a;
}

/* the heap result's go section, minus what a snapshot does not need */
static void go_json(struct snap_run *r, json_t *heapdoc, json_t *result)
{
	json_t *hgo = json_object_get(heapdoc, "go");
	json_t *go = json_object();
	json_object_set(go, "go_version", json_object_get(hgo, "go_version"));
	if (r->rt) {
		json_t *listing = json_object();
		struct tli_go_opts lo = { .top = 0 };
		struct tli_error *err = tli_go_rt_analyze(r->rt, &lo, listing);
		if (err) {
			json_object_set_new(go, "goroutines_unreadable", json_string(err->msg));
			tli_error_destroy(err);
		} else {
			json_t *lgo = json_object_get(listing, "go"), *sum = json_object_get(lgo, "summary");
			json_object_set(go, "goroutine_count", json_object_get(lgo, "goroutine_count"));
			json_object_set(go, "by_status", json_object_get(sum, "by_status"));
			json_object_set(go, "by_wait_reason", json_object_get(sum, "by_wait_reason"));
			json_object_set(go, "system", json_object_get(sum, "system"));
			json_object_set_new(go, "goroutine_groups", groups_json(listing));
		}
		json_decref(listing);
		json_object_set_new(go, "channels", chans_json(r->chans));
	}
	static const char *const keep[] = { "memstats", "memstats_unreadable", "spans", "types", "untyped",
					    "typed_share", "types_unreadable" };
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *v = json_object_get(hgo, keep[i]);
		if (v)
			json_object_set(go, keep[i], v);
	}
	json_t *pools = json_object_get(hgo, "pools");
	json_object_set(go, "pools", pools ? pools : json_null());
	if (r->timers)
		json_object_set_new(go, "timers", tli_go_timers_json(r->rt, r->timers));
	else
		json_object_set_new(go, "timers_unreadable", json_string(r->timers_problem[0] ? r->timers_problem
										   : "no goroutine capture"));
	json_t *census = json_object_get(hgo, "census");
	if (census) {
		json_object_set(go, "live_objects", json_object_get(census, "live_objects"));
		json_object_set(go, "live_bytes", json_object_get(census, "live_bytes"));
	}
	json_object_set_new(result, "go", go);
}

static void glibc_json(struct snap_run *r, json_t *result)
{
	json_t *g = r->glibc_doc ? json_object_get(r->glibc_doc, "glibc") : NULL;
	if (!g || r->glibc_err) {
		json_object_set_new(result, "glibc", json_null());
		if (r->glibc_err && r->glibc_err->code != TLI_E_NOT_GO) /* no libc: no section, no reason */
			json_object_set_new(result, "glibc_unreadable", json_string(r->glibc_err->msg));
		return;
	}
	json_t *o = json_object();
	static const char *const keep[] = { "mallinfo2", "totals", "top_sizes" };
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		json_object_set(o, keep[i], json_object_get(g, keep[i]));
	json_object_set_new(result, "glibc", o);
}

static void time_json(const struct tli_session *s, json_t *result)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (s->target && s->target->wall_now_ns) /* when the memory was captured, as the target knows it */
		ns = s->target->wall_now_ns;
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;
	char iso[40];
	gmtime_r(&sec, &tm);
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *t = json_object();
	json_object_set_new(t, "unix_ns", json_integer(ns));
	json_object_set_new(t, "utc", json_string(iso));
	json_object_set_new(result, "time", t);
}

struct tli_error *tli_ot_snapshot(struct tli_session *s, json_t *result)
{
	struct snap_run r = { .s = s };
	json_object_set_new(result, "kind", json_string(TLI_SNAPSHOT_KIND));
	struct tli_gobin *gb = NULL;
	struct tli_error *err = tli_session_gobin(s, &gb);
	if (err) { /* not a Go program: glibc only */
		tli_error_destroy(err);
		snap_between(&r);
		tli_target_release(s->target);
		time_json(s, result);
		json_object_set_new(result, "go", json_null());
		glibc_json(&r, result);
		err = r.glibc_err ? tli_error_create(r.glibc_err->code, "snapshot: %s", r.glibc_err->msg) : NULL;
		tli_error_destroy(r.glibc_err);
		json_decref(r.glibc_doc);
		return err;
	}
	err = s->layout ? tli_go_timers_prepare(s->layout, &r.timers) : NULL; /* layouts: before the stop */
	if (err) {
		snprintf(r.timers_problem, sizeof(r.timers_problem), "%.190s", err->msg);
		tli_error_destroy(err);
	}
	json_t *heapdoc = json_object();
	struct tli_go_heap_opts ho = { .census = true, .all_types = true, .keep_rt = &r.rt, .pools = true };
	err = tli_go_cmd_heap(s, &ho, snap_between, &r, heapdoc);
	if (!r.glibc_ran)
		snap_between(&r);
	tli_target_release(s->target);
	time_json(s, result);
	if (!err) {
		go_json(&r, heapdoc, result);
		json_t *tg = json_object_get(heapdoc, "target");
		if (tg)
			json_object_set(result, "target", tg);
		glibc_json(&r, result);
	}
	tli_go_chans_report_warnings(s, r.chans, true);
	tli_go_chans_destroy(r.chans);
	tli_go_timers_destroy(r.timers);
	if (r.rt)
		tli_go_rt_destroy(r.rt);
	tli_error_destroy(r.glibc_err);
	json_decref(r.glibc_doc);
	json_decref(heapdoc);
	return err;
}
