/* SPDX-License-Identifier: MIT */
/*
 * `leaks`: conservative reachability over glibc heap chunks (reach.c).
 * Roots: every readable+writable mapping that is not a heap or an mmapped
 * chunk (module .data/.bss, anonymous memory, TLS and struct pthread), but a
 * thread's stack only from its SP up; and every thread's registers. What stays
 * unmarked is reported, grouped by size and by C++ type when the first word
 * points into a `_ZTV…` vtable symbol of some module (vtable.c).
 */
#include <inttypes.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/search.h"
#include "core/session.h"
#include "heap_cmd.h"
#include "reach.h"
#include "vtable.h"

/* ---- leak groups: (size, type) -> count, bytes ---- */

/* One unreachable chunk, and, after grouping, one group. */
struct group { uint64_t size, count, bytes; const char *type; };
TLI_VEC(groupvec, struct group);

struct groups {
	struct groupvec v;      /* one entry per unreachable chunk, then one per group */
	struct tli_strmap *ids; /* interned type names: name -> index in names */
	char **names;
	size_t nnames, cap;
};

/* The interned copy of s (NULL for NULL or on ENOMEM). */
static const char *intern(struct groups *g, const char *s)
{
	if (!s)
		return NULL;
	uint64_t id;
	if (g->ids && tli_strmap_get(g->ids, s, &id))
		return g->names[id];
	if (!g->ids && !(g->ids = tli_strmap_new()))
		return NULL;
	if (g->nnames == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 64;
		char **nv = realloc(g->names, nc * sizeof(*nv));
		if (!nv)
			return NULL;
		g->names = nv;
		g->cap = nc;
	}
	char *copy = strdup(s);
	if (!copy || !tli_strmap_put(g->ids, s, g->nnames)) {
		free(copy);
		return NULL;
	}
	g->names[g->nnames++] = copy;
	return copy;
}

static void group_add(struct groups *g, uint64_t size, const char *type)
{
	if (size) /* out of memory: not grouped */
		tli_vec_push(&g->v, ((struct group){ size, 1, size, type }));
}

static int cmp_size_type(const void *x, const void *y)
{
	const struct group *a = x, *b = y;
	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	uintptr_t p = (uintptr_t)a->type, q = (uintptr_t)b->type;
	return p < q ? -1 : p > q;
}

/* biggest first; then by size, then by type name (NULL first): deterministic */
static int cmp_group(const void *x, const void *y)
{
	const struct group *a = x, *b = y;
	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	if (!a->type || !b->type)
		return !!a->type - !!b->type;
	return strcmp(a->type, b->type);
}

/* The groups as a JSON array, biggest first (the per-chunk entries are merged in place). */
static json_t *groups_json(struct groups *g)
{
	struct group *v = g->v.v;
	size_t n = 0;
	if (g->v.n)
		qsort(v, g->v.n, sizeof(*v), cmp_size_type);
	for (size_t i = 0; i < g->v.n; i++) {
		if (n && v[n - 1].size == v[i].size && v[n - 1].type == v[i].type) {
			v[n - 1].count++;
			v[n - 1].bytes += v[i].size;
		} else {
			v[n++] = v[i];
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_group);
	json_t *ga = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *gr = json_object();
		json_object_set_new(gr, "size", json_integer((json_int_t)v[i].size));
		json_object_set_new(gr, "type", v[i].type ? json_string(v[i].type) : json_null());
		json_object_set_new(gr, "count", json_integer((json_int_t)v[i].count));
		json_object_set_new(gr, "bytes", json_integer((json_int_t)v[i].bytes));
		json_array_append_new(ga, gr);
	}
	return ga;
}

static void groups_free(struct groups *g)
{
	for (size_t i = 0; i < g->nnames; i++)
		free(g->names[i]);
	free(g->names);
	tli_strmap_free(g->ids);
	tli_vec_free(&g->v);
}

/* ---- roots ---- */

static bool is_root_mapping(const struct tli_mapping *m)
{
	if ((m->prot & (TLI_PROT_R | TLI_PROT_W)) != (TLI_PROT_R | TLI_PROT_W))
		return false;
	if (m->path && (!strcmp(m->path, "[vvar]") || !strcmp(m->path, "[vsyscall]") ||
			!strcmp(m->path, "[vvar_vclock]")))
		return false;
	return true;
}

/* Root start for a mapping: the lowest SP of a thread inside it (minus the red zone), else its start. */
static uint64_t root_start(const struct tli_target *t, const struct tli_mapping *m)
{
	uint64_t s = m->start;
	bool stack = false;
	for (size_t i = 0; i < t->nthreads; i++) {
		const struct tli_thread *th = &t->threads[i];
		if (!th->regs_valid)
			continue;
		uint64_t sp = th->regs.sp;
		if (sp >= m->start && sp < m->end) {
			uint64_t r = sp >= m->start + 128 ? sp - 128 : m->start;
			if (!stack || r < s)
				s = r;
			stack = true;
		}
	}
	return s;
}

/* The root ranges of the stopped target (one per root mapping). */
static struct tli_range *root_ranges(const struct tli_target *t, size_t *n)
{
	struct tli_range *roots = calloc(t->nmaps + 1, sizeof(*roots));
	if (!roots)
		return NULL;
	*n = 0;
	for (size_t i = 0; i < t->nmaps; i++) {
		const struct tli_mapping *m = &t->maps[i];
		if (!is_root_mapping(m))
			continue;
		uint64_t a = root_start(t, m);
		roots[(*n)++] = (struct tli_range){ a, m->end - a };
	}
	return roots;
}

/* What is never a root although it is in root mappings. */
struct xr { uint64_t a, e; };
TLI_VEC(xrvec, struct xr);

static int cmp_xr(const void *x, const void *y)
{
	const struct xr *p = x, *q = y;
	return p->a < q->a ? -1 : p->a > q->a;
}

/* The heaps and mmapped chunks (scanned as chunks, when reached), and malloc's own
 * bookkeeping: each arena's malloc_state (its top and last_remainder point just past
 * in-use chunks, i.e. into their usable bytes), the heap_info headers, and mp_.
 * Sorted by start; false on ENOMEM. */
static bool exclusions(const struct tli_gl_heap *h, struct xrvec *ex)
{
	size_t cap = 2;
	for (size_t i = 0; i < h->narenas; i++)
		cap += 2 * h->arenas[i].nsegs + 1;
	for (size_t i = 0; i < h->nchunks; i++)
		cap += h->chunks[i].kind == GLK_MMAPPED;
	if (!tli_vec_reserve(ex, cap))
		return false;
	for (size_t i = 0; i < h->nchunks; i++)
		if (h->chunks[i].kind == GLK_MMAPPED)
			tli_vec_push(ex, ((struct xr){ h->chunks[i].addr, h->chunks[i].addr + h->chunks[i].size }));
	for (size_t i = 0; i < h->narenas; i++) {
		const struct tli_gl_arena *ar = &h->arenas[i];
		if (ar->addr && h->L.ms_size)
			tli_vec_push(ex, ((struct xr){ ar->addr, ar->addr + h->L.ms_size }));
		for (size_t j = 0; j < ar->nsegs; j++)
			if (ar->segs[j].heap_info && ar->segs[j].heap_info < ar->segs[j].start)
				tli_vec_push(ex, ((struct xr){ ar->segs[j].heap_info, ar->segs[j].start }));
	}
	if (h->L.mp && h->L.mp_size)
		tli_vec_push(ex, ((struct xr){ h->L.mp, h->L.mp + h->L.mp_size }));
	for (size_t i = 0; i < h->narenas; i++)
		for (size_t j = 0; j < h->arenas[i].nsegs; j++)
			tli_vec_push(ex, ((struct xr){ h->arenas[i].segs[j].start, h->arenas[i].segs[j].end }));
	qsort(ex->v, ex->n, sizeof(*ex->v), cmp_xr);
	return true;
}

/* Scan the roots minus the exclusions; returns the bytes scanned as roots. */
static uint64_t scan_roots(struct tli_gl_reach *k, const struct tli_range *roots, size_t nroots,
			   const struct xrvec *ex)
{
	uint64_t root_bytes = 0;
	for (size_t r = 0; r < nroots; r++) {
		uint64_t a = roots[r].addr, e = roots[r].addr + roots[r].len;
		size_t x = tli_partition_point(ex->n, i, ex->v[i].e <= a); /* first exclusion ending after a */
		for (; x < ex->n && a < e; x++) {
			if (ex->v[x].e <= a || ex->v[x].a >= e)
				continue;
			if (ex->v[x].a > a) {
				tli_gl_reach_scan(k, a, ex->v[x].a);
				root_bytes += ex->v[x].a - a;
			}
			a = ex->v[x].e;
		}
		if (a < e) {
			tli_gl_reach_scan(k, a, e);
			root_bytes += e - a;
		}
	}
	return root_bytes;
}

/* Every register of every thread is a root; returns how many. */
static size_t scan_registers(struct tli_gl_reach *k, const struct tli_target *t)
{
	size_t nregs = 0;
	for (size_t i = 0; i < t->nthreads; i++) {
		const struct tli_thread *th = &t->threads[i];
		if (!th->regs_valid)
			continue;
		const uint64_t *r = (const uint64_t *)&th->regs;
		for (size_t j = 0; j < sizeof(th->regs) / 8; j++, nregs++)
			tli_gl_reach_value(k, r[j]);
	}
	return nregs;
}

/* ---- report ---- */

/* The unreachable chunks as a JSON array, each counted in its group; totals in nun, bun. */
static json_t *unreachable_json(struct tli_gl_reach *k, struct groups *grp, uint64_t *nun, uint64_t *bun)
{
	struct tli_gl_heap *h = k->h;
	struct tli_gl_vtables mc = { 0 };
	json_t *list = json_array();
	*nun = *bun = 0;
	uint64_t steps = 0;
	for (size_t i = 0; i < h->nchunks; i++) {
		const struct tli_gl_chunk *ch = &h->chunks[i];
		if (k->mark[i] || !tli_gl_reach_counts(ch))
			continue;
		uint64_t first = 0, user = tli_gl_chunk2mem(ch->addr);
		if (!(++steps % TLI_GL_WINDOW_STEPS)) /* a core read in place: a window resident */
			tli_gl_reach_drop(k);
		char tb[512];
		const char *type = NULL;
		if (!tli_error_drop(tli_target_read_u64(k->t, user, &first)))
			type = intern(grp, tli_gl_vtable_type(&mc, k->t, first, tb, sizeof(tb)));
		bool mmapped = ch->kind == GLK_MMAPPED;
		json_t *x = json_object();
		json_object_set_new_nocheck(x, "address", tli_gl_hex(user));
		json_object_set_new_nocheck(x, "chunk", tli_gl_hex(ch->addr));
		json_object_set_new_nocheck(x, "size", json_integer((json_int_t)ch->size));
		json_object_set_new_nocheck(x, "usable", json_integer((json_int_t)tli_gl_memsize(ch->size, mmapped)));
		json_object_set_new_nocheck(x, "type", type ? json_string(type) : json_null());
		json_object_set_new_nocheck(x, "arena", ch->arena == TLI_GL_NO_ARENA ? json_null() : json_integer(ch->arena));
		json_object_set_new_nocheck(x, "mmapped", json_boolean(mmapped));
		json_array_append_new(list, x);
		(*nun)++;
		*bun += ch->size;
		group_add(grp, ch->size, type);
	}
	tli_gl_vtables_free(&mc);
	return list;
}

static double ts_sec(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Reachability from the roots over the walked heap h, and the report into result["heap"]. */
static struct tli_error *find_leaks(struct tli_session *s, struct tli_gl_heap *h, const struct tli_range *roots,
				    size_t nroots, json_t *result)
{
	struct tli_target *t = s->target;
	struct tli_gl_reach k = { 0 };
	struct xrvec ex = { 0 };
	struct groups grp = { 0 };
	struct timespec tw0, tw1, tw2;
	clock_gettime(CLOCK_MONOTONIC, &tw0);
	struct tli_error *err = NULL;
	if (h->nchunks >= UINT32_MAX) {
		err = tli_error_create(TLI_E_INTERNAL, "leaks: %zu chunks are too many", h->nchunks);
		goto out;
	}
	if ((err = tli_gl_reach_init(&k, t, h)) || !exclusions(h, &ex)) {
		err = &tli_enomem;
		goto out;
	}
	uint64_t root_bytes = scan_roots(&k, roots, nroots, &ex);
	size_t nregs = scan_registers(&k, t);
	size_t noregs = tli_target_threads_without_regs(t);
	if (noregs)
		tli_session_warn(s, "registers of %zu of %zu threads unknown (%s): a chunk only a register points "
				 "to is reported as unreachable; the result is uncertain", noregs, t->nthreads,
				 t->no_stop ? "read with --no-stop and no registers from the debugger" : "not in the core");
	tli_gl_reach_drain(&k);
	clock_gettime(CLOCK_MONOTONIC, &tw1);
	uint64_t nun, bun;
	json_t *hp = json_object();
	json_object_set_new(hp, "unreachable_chunks", unreachable_json(&k, &grp, &nun, &bun));
	json_object_set_new(hp, "groups", groups_json(&grp));
	json_object_set_new(hp, "unreachable", tli_gl_cb(nun, bun));
	json_object_set_new(hp, "in_use_chunks", json_integer((json_int_t)k.ncounted));
	json_object_set_new(hp, "root_bytes", json_integer((json_int_t)root_bytes));
	json_object_set_new(hp, "root_registers", json_integer((json_int_t)nregs));
	json_object_set_new(hp, "scanned_bytes", json_integer((json_int_t)k.scanned));
	json_object_set_new(hp, "problems", json_incref(h->problems));
	json_object_set_new(result, "heap", hp);
	clock_gettime(CLOCK_MONOTONIC, &tw2);
	if (s->opts.verbose)
		fprintf(stderr, "glibc leaks: reachability %.3f s, report %.3f s\n", ts_sec(&tw0, &tw1),
			ts_sec(&tw1, &tw2));
out:
	groups_free(&grp);
	tli_gl_reach_free(&k);
	tli_vec_free(&ex);
	return err;
}

struct tli_error *tli_glibc_leaks(struct tli_session *s, const struct tli_glibc_opts *o, json_t *result)
{
	struct tli_target *t = s->target;
	/* Live and not stopped yet: resolve libc's layout first (DWARF indexing,
	 * the slow part), so the target's pause is only the capture. */
	bool prepared = tli_glibc_prepared_early(); /* then dropped here too */
	if (s->opts.pid && t->stop_deferred && !t->stopped) {
		/* a capture that cannot fit is refused before the stop */
		struct tli_error *aerr = tli_gl_afford(t, true);
		if (aerr) {
			if (prepared)
				tli_glibc_unprepare();
			return aerr;
		}
		/* capture memory for every root and heap, pre-faulted meanwhile */
		tli_gl_reserve(t, true);
		if (!prepared)
			prepared = !tli_error_drop(tli_glibc_prepare(s, o));
	}
	/* the roots need every thread's registers and the maps at the stop */
	struct tli_error *err = tli_target_stop(t);
	struct tli_range *roots = NULL;
	size_t nroots = 0;
	if (!err && !(roots = root_ranges(t, &nroots)))
		err = &tli_enomem;
	struct tli_gl_ctx *c = NULL;
	struct tli_gl_heap *h = NULL;
	if (!err)
		err = tli_gl_run(s, o, roots, nroots, &c, &h);
	if (!err) {
		err = find_leaks(s, h, roots, nroots, result);
		tli_gl_heap_free(h);
		tli_gl_ctx_free(c);
	}
	free(roots);
	if (prepared)
		tli_glibc_unprepare();
	return err;
}
