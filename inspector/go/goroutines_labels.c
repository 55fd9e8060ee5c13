/* SPDX-License-Identifier: MIT */
/*
 * Goroutine labels (runtime/pprof.Do, SetGoroutineLabels): g.labels is an
 * unsafe.Pointer to a runtime/pprof.labelMap, whose representation changed:
 *   go1.19-1.23  type labelMap map[string]string: g.labels -> *labelMap -> hmap
 *                (classic buckets: tophash[bucketCnt], keys, elems, overflow;
 *                a slot is filled when its tophash >= minTopHash, in buckets and
 *                old buckets alike, so a map caught growing counts each entry once)
 *   go1.24-1.25  labelMap{LabelSet{list []label{key, value string}}}
 *   go1.26+      labelMap{label.Set{List []label.Label{Key, Value string}}}
 * Which one a binary has is decided by which members the layout knows, never by
 * its version. Capture: while the target is stopped, rounds of bulk captures
 * follow the pointers level by level (the same decoder, in planning mode, names
 * what is missing); after the release the decoder reads the captured copy.
 */
#include "goroutines_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/jsonstr.h"
#include "core/vec.h"

#define MAX_LABELS    4096          /* labels per goroutine */
#define MAX_STRING    4096          /* bytes of one key or value */
#define MAX_B         12            /* 2^B buckets of a labels map */
#define MAX_OVERFLOW  64            /* overflow buckets followed per bucket */
#define MAX_ROUNDS    8             /* capture rounds (levels of pointers) */
#define GO_STRING     16            /* a Go string header: data, len */

static bool member(struct tli_layout *l, const char *t, const char *m, uint32_t *off)
{
	struct tli_member x;
	if (!tli_layout_has_member(l, t, m, &x))
		return false;
	*off = (uint32_t)x.offset;
	return true;
}

/* The slice form: labelMap.LabelSet.list of label{key, value} (1.24-1.25) or label.Set.List of Label{Key, Value}. */
static bool resolve_slice(struct tli_layout *l, struct go_labels_layout *L)
{
	static const struct { const char *list, *elem, *key, *value; } forms[] = {
		{ "LabelSet.list", "runtime/pprof.label", "key", "value" },
		{ "Set.List", "internal/runtime/pprof/label.Label", "Key", "Value" },
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		uint64_t esize = 0;
		if (member(l, "runtime/pprof.labelMap", forms[i].list, &L->list) &&
		    member(l, forms[i].elem, forms[i].key, &L->key) &&
		    member(l, forms[i].elem, forms[i].value, &L->value) &&
		    !tli_error_drop(tli_layout_type_size(l, forms[i].elem, &esize)) && esize >= 2 * GO_STRING &&
		    esize <= 256) {
			L->esize = (uint32_t)esize;
			return true;
		}
	}
	return false;
}

/* The map form: runtime.hmap and the bucket constants (a map[string]string bucket holds strings). */
static bool resolve_map(struct tli_layout *l, struct go_labels_layout *L)
{
	static const char *const cnt[] = { "internal/abi.MapBucketCount", "runtime.bucketCnt", NULL };
	static const char *const mth[] = { "runtime.minTopHash", NULL };
	bool p1 = false, p2 = false;
	int64_t bc = 0, mt = 0;
	tli_error_drop(tli_go_constant(l, cnt, &bc, true, &p1));
	tli_error_drop(tli_go_constant(l, mth, &mt, true, &p2));
	if (!p1 || !p2 || bc < 1 || bc > 64 || mt < 0 || mt > 255)
		return false;
	L->bucket_cnt = (uint32_t)bc;
	L->min_tophash = (uint32_t)mt;
	if (!member(l, "runtime.hmap", "count", &L->h_count) || !member(l, "runtime.hmap", "B", &L->h_b) ||
	    !member(l, "runtime.hmap", "buckets", &L->h_buckets) ||
	    !member(l, "runtime.hmap", "oldbuckets", &L->h_old))
		return false;
	uint32_t span = L->h_count + 8;
	const uint32_t ends[] = { L->h_b + 1, L->h_buckets + 8, L->h_old + 8 };
	for (size_t i = 0; i < 3; i++)
		span = ends[i] > span ? ends[i] : span;
	L->h_span = span;
	return span <= 256;
}

void tli_go_labels_resolve(struct tli_layout *l, struct go_labels_layout *L)
{
	memset(L, 0, sizeof(*L));
	if (!member(l, "runtime.g", "labels", &L->g_labels)) {
		snprintf(L->problem, sizeof(L->problem), "runtime.g.labels is not known");
		return;
	}
	L->has_g_labels = true;
	if (resolve_slice(l, L))
		L->slice = true;
	else if (resolve_map(l, L))
		L->map = true;
	else
		snprintf(L->problem, sizeof(L->problem), "the layout of runtime/pprof.labelMap is unknown "
			 "(no DWARF, and the runtime maps do not describe it)");
}

/* ---- reading: planning while stopped, decoding after the release ---- */

TLI_VEC(rangevec, struct tli_range);

struct lreader {
	struct tli_target *t;
	bool plan;               /* record what is not captured yet instead of reading it */
	struct rangevec need;
	bool oom;
};

/* n bytes at a; false if unreadable (or, planning, not captured yet: then it is wanted). */
static bool lread(struct lreader *r, uint64_t a, void *buf, size_t n)
{
	if (!n)
		return true;
	if (!tli_target_plausible(r->t, a, n))
		return false;
	if (r->plan && !tli_target_captured(r->t, a, n)) {
		if (!tli_vec_push(&r->need, ((struct tli_range){ a, n })))
			r->oom = true;
		return false;
	}
	return buf && !tli_error_drop(tli_target_read(r->t, a, buf, n));
}

struct kv {
	char *k, *v;
};
TLI_VEC(kvvec, struct kv);

struct ldecode {
	struct lreader *r;
	const struct go_labels_layout *L;
	struct kvvec kv;
	char problem[160];
};

static void problem(struct ldecode *d, const char *what, uint64_t a)
{
	if (!d->problem[0])
		snprintf(d->problem, sizeof(d->problem), "%s at 0x%llx is unreadable", what, (unsigned long long)a);
}

/* A Go string whose header is at hdr (malloc'ed copy, NULL if unreadable). */
static char *read_gostring(struct ldecode *d, const uint8_t *hdr)
{
	uint64_t p = tli_rd64(hdr), n = tli_rd64(hdr + 8);
	if (n > MAX_STRING) {
		if (!d->problem[0])
			snprintf(d->problem, sizeof(d->problem), "implausible string length %llu",
				 (unsigned long long)n);
		return NULL;
	}
	if (d->r->plan) {   /* only wanted: its bytes are not needed before the release */
		lread(d->r, p, NULL, n);
		return NULL;
	}
	char *s = calloc(1, n + 1);
	if (!s) {
		d->r->oom = true;
		return NULL;
	}
	if (!lread(d->r, p, s, n)) {
		free(s);
		if (!d->r->plan)
			problem(d, "label string", p);
		return NULL;
	}
	return s;
}

static void add_pair(struct ldecode *d, const uint8_t *khdr, const uint8_t *vhdr)
{
	char *k = read_gostring(d, khdr), *v = read_gostring(d, vhdr);
	if (k && v && d->kv.n < MAX_LABELS && tli_vec_push(&d->kv, ((struct kv){ k, v })))
		return;
	free(k);
	free(v);
}

static void decode_slice(struct ldecode *d, uint64_t lm)
{
	const struct go_labels_layout *L = d->L;
	uint8_t hdr[24];
	if (!lread(d->r, lm + L->list, hdr, sizeof(hdr))) {
		if (!d->r->plan)
			problem(d, "labelMap", lm);
		return;
	}
	uint64_t arr = tli_rd64(hdr), len = tli_rd64(hdr + 8), cap = tli_rd64(hdr + 16);
	if (len > MAX_LABELS || cap < len) {
		snprintf(d->problem, sizeof(d->problem), "implausible label list (len %llu, cap %llu)",
			 (unsigned long long)len, (unsigned long long)cap);
		return;
	}
	uint8_t *buf = malloc(len * L->esize + 1);
	if (!buf) {
		d->r->oom = true;
		return;
	}
	if (lread(d->r, arr, buf, len * L->esize)) {
		for (uint64_t i = 0; i < len; i++)
			add_pair(d, buf + i * L->esize + L->key, buf + i * L->esize + L->value);
	} else if (!d->r->plan) {
		problem(d, "label list", arr);
	}
	free(buf);
}

/* Every filled slot of one bucket chain (b: the bucket's bytes, bsize of them). */
static void decode_bucket(struct ldecode *d, uint8_t *b, size_t bsize)
{
	const struct go_labels_layout *L = d->L;
	size_t n = L->bucket_cnt, koff = (n + 7) & ~(size_t)7, voff = koff + n * GO_STRING;
	for (int hop = 0; hop <= MAX_OVERFLOW; hop++) {
		for (size_t i = 0; i < n; i++)
			if (b[i] >= L->min_tophash)
				add_pair(d, b + koff + i * GO_STRING, b + voff + i * GO_STRING);
		uint64_t ovf = tli_rd64(b + bsize - 8);
		if (!ovf)
			return;
		if (!lread(d->r, ovf, b, bsize)) {
			if (!d->r->plan)
				problem(d, "overflow bucket", ovf);
			return;
		}
	}
	snprintf(d->problem, sizeof(d->problem), "more than %d overflow buckets (a cycle?)", MAX_OVERFLOW);
}

static void decode_buckets(struct ldecode *d, uint64_t arr, uint64_t nb)
{
	const struct go_labels_layout *L = d->L;
	size_t bsize = ((L->bucket_cnt + 7) & ~(size_t)7) + 2 * L->bucket_cnt * GO_STRING + 8;
	uint8_t *all = malloc(nb * bsize), *one = malloc(bsize);
	if (!all || !one) {
		d->r->oom = true;
	} else if (lread(d->r, arr, all, nb * bsize)) {
		for (uint64_t i = 0; i < nb; i++) {
			memcpy(one, all + i * bsize, bsize);
			decode_bucket(d, one, bsize);
		}
	} else if (!d->r->plan) {
		problem(d, "map buckets", arr);
	}
	free(all);
	free(one);
}

static void decode_map(struct ldecode *d, uint64_t lm, int64_t *count)
{
	const struct go_labels_layout *L = d->L;
	uint8_t w[8];
	if (!lread(d->r, lm, w, 8)) {
		if (!d->r->plan)
			problem(d, "labelMap", lm);
		return;
	}
	uint64_t h = tli_rd64(w);
	if (!h)
		return;
	uint8_t hdr[256];   /* the members read, in one piece (h_span bytes) */
	if (!lread(d->r, h, hdr, L->h_span)) {
		if (!d->r->plan)
			problem(d, "map header", h);
		return;
	}
	*count = (int64_t)tli_rd64(hdr + L->h_count);
	uint8_t b = hdr[L->h_b];
	uint64_t bk = tli_rd64(hdr + L->h_buckets), old = tli_rd64(hdr + L->h_old);
	if (b > MAX_B) {
		snprintf(d->problem, sizeof(d->problem), "implausible bucket count 2^%u", b);
		return;
	}
	if (bk)
		decode_buckets(d, bk, (uint64_t)1 << b);
	if (old && b > 0)   /* growing: the buckets not yet evacuated */
		decode_buckets(d, old, (uint64_t)1 << (b - 1));
}

static int cmp_kv(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->k, ((const struct kv *)b)->k);
}

static void kv_free(struct kvvec *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->v[i].k);
		free(v->v[i].v);
	}
	tli_vec_free(v);
}

/* Decode the labelMap at lm into d->kv (or d->problem). */
static void decode(struct ldecode *d, uint64_t lm)
{
	int64_t count = -1;
	if (d->L->slice)
		decode_slice(d, lm);
	else if (d->L->map)
		decode_map(d, lm, &count);
	if (!d->r->plan && !d->problem[0] && count >= 0 && (uint64_t)count != d->kv.n)
		snprintf(d->problem, sizeof(d->problem), "the labels map counts %lld entries, %zu found",
			 (long long)count, d->kv.n);
}

static uint64_t g_labels(const struct tli_go_rt *w, const struct gcap *g)
{
	const struct go_labels_layout *L = &w->lab;
	if (!L->has_g_labels || !g->raw || tli_go_rt_dead(w, g->status))
		return 0;
	return tli_rd64(g->raw + L->g_labels);
}

struct tli_error *tli_go_labels_capture(struct tli_go_rt *w)
{
	const struct go_labels_layout *L = &w->lab;
	if (w->t->kind != TLI_TARGET_LIVE || (!L->slice && !L->map))
		return NULL;   /* a core is its own snapshot */
	struct lreader r = { .t = w->t, .plan = true };
	struct tli_error *err = NULL;
	/* labelMaps are shared (a goroutine inherits its creator's): each is planned once a
	 * round, and not again once a round found all of it captured */
	struct tli_u64set done = { 0 };
	for (int round = 0; round < MAX_ROUNDS && !err; round++) {
		r.need.n = 0;
		struct tli_u64set seen = { 0 };
		for (uint64_t i = 0; i < w->ngs && !r.oom; i++) {
			uint64_t lm = g_labels(w, &w->gs[i]);
			if (!lm || tli_u64set_has(&done, lm) || tli_u64set_has(&seen, lm))
				continue;
			size_t before = r.need.n;
			struct ldecode d = { .r = &r, .L = L };
			decode(&d, lm);
			kv_free(&d.kv);
			bool ok = tli_u64set_add(&seen, lm) && (r.need.n > before || tli_u64set_add(&done, lm));
			r.oom |= !ok;
		}
		tli_u64set_free(&seen);
		if (r.oom)
			err = &tli_enomem;
		else if (!r.need.n)
			break;
		else
			err = tli_target_capture(w->t, r.need.v, r.need.n, 0, NULL);
	}
	tli_vec_free(&r.need);
	tli_u64set_free(&done);
	return err ? tli_error_wrap(err, "capturing goroutine labels") : NULL;
}

/* Do the labels (an object) hold every key=value of the filter? */
static bool matches(const struct tli_go_opts *o, json_t *labels)
{
	for (size_t i = 0; i < o->nlabels; i++) {
		const char *f = o->labels[i], *eq = strchr(f, '=');
		if (!eq)
			return false;
		char key[512];
		size_t kl = (size_t)(eq - f);
		if (kl >= sizeof(key))
			return false;
		memcpy(key, f, kl);
		key[kl] = 0;
		json_t *v = labels ? json_object_get(labels, key) : NULL;
		if (!json_is_string(v) || strcmp(json_string_value(v), eq + 1))
			return false;
	}
	return true;
}

bool tli_go_labels_set(struct tli_go_rt *w, const struct gcap *g, json_t *o)
{
	const struct go_labels_layout *L = &w->lab;
	uint64_t lm = g_labels(w, g);
	json_t *labels = NULL;
	if (lm && !L->slice && !L->map) {
		json_object_set_new_nocheck(o, "labels_unreadable", json_string(L->problem));
	} else if (lm) {
		struct lreader r = { .t = w->t };
		struct ldecode d = { .r = &r, .L = L };
		decode(&d, lm);
		if (d.problem[0] || r.oom) {
			json_object_set_new_nocheck(o, "labels_unreadable",
						    json_string(r.oom ? "out of memory" : d.problem));
		} else if (d.kv.n) {
			qsort(d.kv.v, d.kv.n, sizeof(*d.kv.v), cmp_kv);
			labels = json_object();
			for (size_t i = 0; i < d.kv.n; i++)
				json_object_set_new(labels, d.kv.v[i].k, tli_json_string_lossy(d.kv.v[i].v));
			json_object_set_new_nocheck(o, "labels", labels);
		}
		kv_free(&d.kv);
	}
	return matches(w->opts, labels);
}
