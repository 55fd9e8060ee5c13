/* SPDX-License-Identifier: MIT */
/*
 * Growth verdicts over a series of snapshots (`watch`, overtime.h). A leak is a slope, not a
 * level: a series is "growing" when, in every run of 4 consecutive intervals (fewer if the
 * series is shorter), it rose in at least 3 and it ended above where it began - the stair-step
 * of a leak, which a pool that merely grows and shrinks (4, 6, 4, 6 ...) can never show. With
 * fewer than 3 intervals the same rule says only "rising" (or "falling").
 */
#include "overtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 4
#define MIN_INTERVALS 3   /* "growing" needs 4 samples or more */

struct series {
	char *id;            /* kind + key, for matching */
	const char *kind;
	json_t *key;
	json_int_t *v;       /* one value per snapshot (absent: 0) */
};

struct book {
	struct series *s;
	size_t n, cap, nsnaps;
	json_t *index;       /* id -> position (integer) */
};

static struct series *series_get(struct book *b, const char *kind, json_t *key)
{
	char *k = json_dumps(key, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (!k)
		return NULL;
	size_t len = strlen(kind) + strlen(k) + 2;
	char *id = malloc(len);
	if (!id) {
		free(k);
		return NULL;
	}
	snprintf(id, len, "%s|%s", kind, k);
	free(k);
	json_t *pos = json_object_get(b->index, id);
	if (pos) {
		free(id);
		return &b->s[json_integer_value(pos)];
	}
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 64;
		struct series *ns = realloc(b->s, nc * sizeof(*ns));
		if (!ns) {
			free(id);
			return NULL;
		}
		b->s = ns;
		b->cap = nc;
	}
	json_int_t *v = calloc(b->nsnaps, sizeof(*v));
	if (!v) {
		free(id);
		return NULL;
	}
	b->s[b->n] = (struct series){ .id = id, .kind = kind, .key = json_incref(key), .v = v };
	json_object_set_new(b->index, id, json_integer((json_int_t)b->n));
	return &b->s[b->n++];
}

static void add(struct book *b, size_t i, const char *kind, json_t *key, json_int_t value)
{
	struct series *s = series_get(b, kind, key);
	if (s)
		s->v[i] += value;
}

static void collect(struct book *b, size_t i, const json_t *snap)
{
	json_t *go = json_object_get(snap, "go");
	json_t *k;
	if (json_is_object(go)) {
		k = json_string("all");
		add(b, i, "goroutines", k, json_integer_value(json_object_get(go, "goroutine_count")));
		json_decref(k);
		size_t j;
		json_t *g;
		json_array_foreach(json_object_get(go, "goroutine_groups"), j, g)
			add(b, i, "goroutine_group", json_object_get(g, "key"), json_integer_value(json_object_get(g, "count")));
		static const char *const lists[] = { "types", "untyped" };
		for (int l = 0; l < 2; l++)
			json_array_foreach(json_object_get(go, lists[l]), j, g)
				add(b, i, "type", json_object_get(g, "type"), json_integer_value(json_object_get(g, "objects")));
		/* connection pools (every list of go.pools whose rows have in_use): in-use connections */
		const char *pk;
		json_t *list;
		json_object_foreach(json_object_get(go, "pools"), pk, list)
			json_array_foreach(list, j, g) {
				json_t *iu = json_object_get(g, "in_use");
				if (!json_is_integer(iu))
					continue;
				json_t *name = json_object_get(g, "name");
				k = json_pack("{s:s, s:O}", "kind", pk, "pool",
					      json_is_string(name) ? name : json_object_get(g, "address"));
				add(b, i, "pool_in_use", k, json_integer_value(iu));
				json_decref(k);
			}
		json_array_foreach(json_object_get(json_object_get(go, "timers"), "groups"), j, g) {
			k = json_pack("{s:O, s:O}", "kind", json_object_get(g, "kind"), "function", json_object_get(g, "function"));
			if (k)
				add(b, i, "timer_group", k, json_integer_value(json_object_get(g, "count")));
			json_decref(k);
		}
		if (json_is_integer(json_object_get(go, "live_bytes"))) {
			k = json_string("live_bytes");
			add(b, i, "go_heap", k, json_integer_value(json_object_get(go, "live_bytes")));
			json_decref(k);
		}
	}
	json_t *mi = json_object_get(json_object_get(snap, "glibc"), "mallinfo2");
	if (json_is_integer(json_object_get(mi, "uordblks"))) {
		k = json_string("mallinfo2.uordblks");
		add(b, i, "glibc", k, json_integer_value(json_object_get(mi, "uordblks")));
		json_decref(k);
	}
}

/* least squares slope of v over t (minutes) */
static double slope(const json_int_t *v, const double *t, size_t n)
{
	double st = 0, sv = 0, stt = 0, stv = 0;
	for (size_t i = 0; i < n; i++) {
		st += t[i];
		sv += (double)v[i];
		stt += t[i] * t[i];
		stv += t[i] * (double)v[i];
	}
	double den = (double)n * stt - st * st;
	return den > 0 ? ((double)n * stv - st * sv) / den : 0;
}

/* "growing", "shrinking", "fluctuating" or "stable" (see the top of this file) */
static const char *verdict(const json_int_t *v, size_t n)
{
	size_t intervals = n - 1, w = intervals < WINDOW ? intervals : WINDOW, need = (3 * w + 3) / 4;
	bool up_ok = v[n - 1] > v[0], down_ok = v[n - 1] < v[0], moved = false;
	for (size_t s = 0; s + w <= intervals; s++) {
		size_t ups = 0, downs = 0;
		for (size_t i = s; i < s + w; i++) {
			ups += v[i + 1] > v[i];
			downs += v[i + 1] < v[i];
		}
		moved |= ups || downs;
		up_ok &= ups >= need;
		down_ok &= downs >= need;
	}
	if (intervals < MIN_INTERVALS) /* too short to tell a stair-step from a wobble */
		return up_ok ? "rising" : down_ok ? "falling" : moved ? "fluctuating" : "stable";
	return up_ok ? "growing" : down_ok ? "shrinking" : moved ? "fluctuating" : "stable";
}

void tli_ot_watch(json_t *const *snaps, size_t n, bool interrupted, json_t *result)
{
	json_t *w = json_object();
	json_object_set_new(w, "samples_taken", json_integer((json_int_t)n));
	json_object_set_new(w, "interrupted", json_boolean(interrupted));
	json_t *times = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append(times, json_object_get(json_object_get(snaps[i], "time"), "utc"));
	json_object_set_new(w, "times", times);
	json_object_set_new(w, "seconds", json_real(n > 1 ? tli_ot_elapsed(snaps[0], snaps[n - 1]) : 0));
	json_t *growing = json_array(), *other = json_array();
	size_t nstable = 0;
	struct book b = { .nsnaps = n, .index = json_object() };
	double *t = calloc(n ? n : 1, sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		collect(&b, i, snaps[i]);
		if (t)
			t[i] = tli_ot_elapsed(snaps[0], snaps[i]) / 60.0;
	}
	for (size_t i = 0; n >= 2 && t && i < b.n; i++) {
		struct series *s = &b.s[i];
		const char *vd = verdict(s->v, n);
		if (!strcmp(vd, "stable")) {
			nstable++;
			continue;
		}
		json_t *o = json_object();
		json_object_set_new(o, "kind", json_string(s->kind));
		json_object_set(o, "key", s->key);
		json_t *sa = json_array();
		for (size_t k = 0; k < n; k++)
			json_array_append_new(sa, json_integer(s->v[k]));
		json_object_set_new(o, "samples", sa);
		double sl = slope(s->v, t, n);
		json_object_set_new(o, "slope_per_minute", json_real(isfinite(sl) ? sl : 0));
		json_object_set_new(o, "verdict", json_string(vd));
		json_array_append_new(strcmp(vd, "growing") ? other : growing, o);
	}
	json_object_set_new(w, "growing", growing);
	json_object_set_new(w, "changing", other);
	json_object_set_new(w, "stable_count", json_integer((json_int_t)nstable));
	json_object_set_new(result, "watch", w);
	for (size_t i = 0; i < b.n; i++) {
		free(b.s[i].id);
		free(b.s[i].v);
		json_decref(b.s[i].key);
	}
	free(b.s);
	free(t);
	json_decref(b.index);
}
