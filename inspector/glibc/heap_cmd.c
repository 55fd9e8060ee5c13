/* SPDX-License-Identifier: MIT */
/* The glibc commands: heap, arenas, bins, chunk (leaks in leaks.c). */
#include "heap_cmd.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/session.h"
#include "dwarf/dwarf.h"

static double ts_sec(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

json_t *tli_gl_hex(uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	char b[24], *p = b + sizeof(b);
	*--p = 0;
	do
		*--p = hex[v & 15];
	while (v >>= 4);
	*--p = 'x';
	*--p = '0';
	return json_string_nocheck(p);
}

json_t *tli_gl_cb(uint64_t count, uint64_t bytes)
{
	json_t *o = json_object();
	json_object_set_new(o, "count", json_integer((json_int_t)count));
	json_object_set_new(o, "bytes", json_integer((json_int_t)bytes));
	return o;
}

struct tli_error *tli_gl_run(struct tli_session *s, const struct tli_glibc_opts *o,
			     const struct tli_range *extra, size_t nextra,
			     struct tli_gl_ctx **ctx_ret, struct tli_gl_heap **heap_ret)
{
	struct tli_gl_ctx *c = NULL;
	struct timespec t0, t1, t2, t3;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* not stopped yet: capture memory for the heaps now, so that the pause is only the copy */
	uint64_t reserved = 0;
	struct tli_error *err = tli_gl_afford(s->target, false); /* before any stop */
	if (err)
		return err;
	if (s->target->stop_deferred && !s->target->released)
		reserved = tli_gl_reserve(s->target, false);
	err = tli_gl_ctx_open(s, o, &c);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!err)
		err = tli_gl_capture(s->target, &c->L, c->th, c->nth, extra, nextra);
	tli_target_release(s->target);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	if (err) {
		tli_gl_ctx_free(c);
		return err;
	}
	struct tli_gl_heap *h = NULL;
	err = tli_gl_walk_ex(s->target, &c->L, c->th, c->nth, o ? o->max_problems : 0,
			     o && o->no_chunk_list ? TLI_GL_WALK_NO_CHUNKS : 0, &h);
	clock_gettime(CLOCK_MONOTONIC, &t3);
	if (err) {
		tli_gl_ctx_free(c);
		return err;
	}
	if (s->opts.verbose)
		fprintf(stderr, "glibc: reserve (%.0f MiB) + libc layout %.3f s, capture+release %.3f s, walk %.3f s\n",
			(double)reserved / (1 << 20), ts_sec(&t0, &t1), ts_sec(&t1, &t2), ts_sec(&t2, &t3));
	*ctx_ret = c;
	*heap_ret = h;
	return NULL;
}

static json_t *glibc_info(const struct tli_gl_ctx *c, const struct tli_gl_heap *h)
{
	json_t *g = json_object();
	json_object_set_new(g, "libc", json_string(c->libc_path));
	if (c->libc_file) /* a container: where libc was read here */
		json_object_set_new(g, "libc_file", json_string(c->libc_file));
	json_object_set_new(g, "build_id", json_string(c->build_id));
	json_object_set_new(g, "debug_file", c->debug_path ? json_string(c->debug_path) : json_null());
	json_object_set_new(g, "debug_source", json_string(c->dw ? tli_dwarf_debug_method(c->dw) : "none"));
	if (c->dw && tli_dwarf_debuginfod_url(c->dw))
		json_object_set_new(g, "debuginfod_url", json_string(tli_dwarf_debuginfod_url(c->dw)));
	json_object_set_new(g, "bias", tli_gl_hex(c->bias));
	json_object_set_new(g, "main_arena", tli_gl_hex(c->L.main_arena));
	json_object_set_new(g, "mp_", tli_gl_hex(c->L.mp));
	json_object_set_new(g, "safe_linking", json_boolean(h->safe_linking));
	json_object_set_new(g, "safe_linking_source", json_string(c->L.safe_linking < 0 ? "detected" : "layout"));
	json_object_set_new(g, "tcache_tpoff", c->have_tpoff ? json_integer(c->tpoff) : json_null());
	json_object_set_new(g, "heap_max_size", json_integer((json_int_t)c->L.heap_max));
	return g;
}

static json_t *arena_json(const struct tli_gl_heap *h, size_t i)
{
	const struct tli_gl_arena *ar = &h->arenas[i];
	json_t *o = json_object();
	json_object_set_new(o, "index", json_integer((json_int_t)i));
	json_object_set_new(o, "address", tli_gl_hex(ar->addr));
	json_object_set_new(o, "main", json_boolean(ar->addr == h->L.main_arena));
	json_object_set_new(o, "mutex", json_integer(ar->mutex));
	json_object_set_new(o, "flags", json_integer(ar->flags));
	json_object_set_new(o, "attached_threads", json_integer((json_int_t)ar->attached));
	json_object_set_new(o, "system_mem", json_integer((json_int_t)ar->system_mem));
	json_object_set_new(o, "max_system_mem", json_integer((json_int_t)ar->max_system_mem));
	json_object_set_new(o, "top", tli_gl_hex(ar->top));
	json_object_set_new(o, "top_size", json_integer((json_int_t)ar->top_size));
	json_t *hs = json_array();
	for (size_t j = 0; j < ar->nsegs; j++) {
		const struct tli_gl_seg *g = &ar->segs[j];
		json_t *x = json_object();
		json_object_set_new(x, "heap_info", g->heap_info ? tli_gl_hex(g->heap_info) : json_null());
		json_object_set_new(x, "start", tli_gl_hex(g->start));
		json_object_set_new(x, "end", tli_gl_hex(g->end));
		json_object_set_new(x, "size", json_integer((json_int_t)g->hsize));
		json_object_set_new(x, "mprotect_size", json_integer((json_int_t)g->mprotect_size));
		json_object_set_new(x, "walked_bytes", json_integer((json_int_t)g->walked));
		json_object_set_new(x, "readable", json_boolean(g->buf != NULL));
		json_array_append_new(hs, x);
	}
	json_object_set_new(o, "heaps", hs);
	json_t *ch = json_object();
	for (int k = 0; k < GLK__N; k++)
		if (k != GLK_MMAPPED)
			json_object_set_new(ch, tli_gl_kind_names[k], tli_gl_cb(ar->n_kind[k], ar->b_kind[k]));
	json_object_set_new(o, "chunks", ch);
	/* two views: the program's (tcache/fastbin chunks are free) and the arena's (they are in use) */
	uint64_t pin_n = ar->n_kind[GLK_INUSE], pin_b = ar->b_kind[GLK_INUSE];
	uint64_t cache_n = ar->n_kind[GLK_TCACHE] + ar->n_kind[GLK_FAST];
	uint64_t cache_b = ar->b_kind[GLK_TCACHE] + ar->b_kind[GLK_FAST];
	uint64_t bin_n = ar->n_kind[GLK_UNSORTED] + ar->n_kind[GLK_SMALL] + ar->n_kind[GLK_LARGE] +
			 ar->n_kind[GLK_FREE_UNBINNED];
	uint64_t bin_b = ar->b_kind[GLK_UNSORTED] + ar->b_kind[GLK_SMALL] + ar->b_kind[GLK_LARGE] +
			 ar->b_kind[GLK_FREE_UNBINNED];
	json_t *pv = json_object();
	json_object_set_new(pv, "in_use", tli_gl_cb(pin_n, pin_b));
	json_object_set_new(pv, "free", tli_gl_cb(cache_n + bin_n, cache_b + bin_b));
	json_object_set_new(o, "program_view", pv);
	json_t *av = json_object();
	json_object_set_new(av, "in_use", tli_gl_cb(pin_n + ar->n_kind[GLK_TCACHE], pin_b + ar->b_kind[GLK_TCACHE]));
	json_object_set_new(av, "free", tli_gl_cb(bin_n + ar->n_kind[GLK_FAST], bin_b + ar->b_kind[GLK_FAST]));
	json_object_set_new(o, "arena_view", av);
	json_object_set_new(o, "overhead", json_integer((json_int_t)ar->overhead));
	uint64_t body = ar->system_mem > ar->top_size ? ar->system_mem - ar->top_size : 0;
	json_object_set_new(o, "fragmentation", json_real(body ? (double)(cache_b + bin_b) / (double)body : 0.0));
	json_object_set_new(o, "malloc_info", tli_gl_malloc_info_json(h, i));
	return o;
}

json_t *tli_gl_chunk_json(const struct tli_gl_heap *h, const struct tli_gl_chunk *c)
{
	json_t *o = json_object();
	json_object_set_new_nocheck(o, "address", tli_gl_hex(c->addr));
	json_object_set_new_nocheck(o, "user", tli_gl_hex(tli_gl_chunk2mem(c->addr)));
	json_object_set_new_nocheck(o, "size", json_integer((json_int_t)c->size));
	json_object_set_new_nocheck(o, "state", json_string(tli_gl_kind_names[c->kind]));
	json_object_set_new_nocheck(o, "arena", c->arena == TLI_GL_NO_ARENA ? json_null() : json_integer(c->arena));
	if (c->kind == GLK_TCACHE || c->kind == GLK_FAST || c->kind == GLK_UNSORTED || c->kind == GLK_SMALL ||
	    c->kind == GLK_LARGE)
		json_object_set_new_nocheck(o, "bin", json_integer(c->aux));
	(void)h;
	return o;
}

static void put_problems(const struct tli_gl_heap *h, json_t *g)
{
	json_object_set(g, "problems", h->problems);
	json_object_set_new(g, "problems_total", json_integer((json_int_t)h->nproblems));
}

static void mmapped_json(const struct tli_gl_heap *h, json_t *g)
{
	json_t *m = json_object();
	json_object_set_new(m, "n_mmaps", json_integer((json_int_t)h->n_mmaps));
	json_object_set_new(m, "mmapped_mem", json_integer((json_int_t)h->mmapped_mem));
	json_object_set_new(m, "max_n_mmaps", json_integer((json_int_t)h->max_n_mmaps));
	json_object_set_new(m, "max_mmapped_mem", json_integer((json_int_t)h->max_mmapped_mem));
	json_t *f = json_array();
	for (size_t i = 0; i < h->nchunks; i++)
		if (h->chunks[i].kind == GLK_MMAPPED && json_array_size(f) < 1000)
			json_array_append_new(f, tli_gl_chunk_json(h, &h->chunks[i]));
	json_object_set_new(m, "found", f);
	json_object_set_new(m, "found_count", json_integer((json_int_t)h->mmapped_found));
	json_object_set_new(m, "found_bytes", json_integer((json_int_t)h->mmapped_found_bytes));
	json_object_set_new(g, "mmapped", m);
}

struct tli_error *tli_glibc_heap(struct tli_session *s, const struct tli_glibc_opts *o, json_t *result)
{
	struct tli_gl_ctx *c;
	struct tli_gl_heap *h;
	struct tli_glibc_opts oo = o ? *o : (struct tli_glibc_opts){ 0 };
	oo.no_chunk_list = !oo.chunks;
	struct tli_error *err = tli_gl_run(s, &oo, NULL, 0, &c, &h);
	if (err)
		return err;
	json_t *g = glibc_info(c, h);
	json_object_set_new(g, "mallinfo2", tli_gl_mallinfo2_json(h));
	json_t *mi = json_object();
	json_t *mia = json_array();
	for (size_t i = 0; i < h->narenas; i++)
		json_array_append_new(mia, tli_gl_malloc_info_json(h, i));
	json_object_set_new(mi, "heaps", mia);
	json_object_set_new(mi, "total", tli_gl_malloc_info_total_json(h));
	json_object_set_new(g, "malloc_info", mi);
	json_t *ars = json_array();
	for (size_t i = 0; i < h->narenas; i++) {
		json_t *a = arena_json(h, i);
		json_object_del(a, "malloc_info");
		json_array_append_new(ars, a);
	}
	json_object_set_new(g, "arenas", ars);
	mmapped_json(h, g);
	/* per kind: the arenas' counts from the walk, plus the mmapped chunks */
	uint64_t kn[GLK__N] = { 0 }, kb[GLK__N] = { 0 }, nall = 0;
	for (size_t i = 0; i < h->narenas; i++)
		for (int k = 0; k < GLK__N; k++) {
			kn[k] += h->arenas[i].n_kind[k];
			kb[k] += h->arenas[i].b_kind[k];
		}
	for (size_t i = 0; i < h->nchunks; i++)
		if (h->chunks[i].kind == GLK_MMAPPED) {
			kn[GLK_MMAPPED]++;
			kb[GLK_MMAPPED] += h->chunks[i].size;
		}
	for (int k = 0; k < GLK__N; k++)
		nall += kn[k];
	json_t *tot = json_object();
	json_object_set_new(tot, "chunks", json_integer((json_int_t)nall));
	for (int k = 0; k < GLK__N; k++)
		json_object_set_new(tot, tli_gl_kind_names[k], tli_gl_cb(kn[k], kb[k]));
	json_object_set_new(g, "totals", tot);
	json_object_set_new(g, "histogram", tli_gl_histogram_json(h));
	json_object_set_new(g, "top_sizes", tli_gl_top_sizes_json(h, o ? o->top : 0));
	if (o && o->chunks) {
		json_t *all = json_array();
		for (size_t i = 0; i < h->nchunks; i++)
			json_array_append_new(all, tli_gl_chunk_json(h, &h->chunks[i]));
		json_object_set_new(g, "chunks", all);
	}
	put_problems(h, g);
	json_object_set_new(result, "glibc", g);
	tli_gl_heap_free(h);
	tli_gl_ctx_free(c);
	return NULL;
}

struct tli_error *tli_glibc_arenas(struct tli_session *s, const struct tli_glibc_opts *o, json_t *result)
{
	struct tli_gl_ctx *c;
	struct tli_gl_heap *h;
	struct tli_glibc_opts oo = o ? *o : (struct tli_glibc_opts){ 0 };
	oo.no_chunk_list = true;
	struct tli_error *err = tli_gl_run(s, &oo, NULL, 0, &c, &h);
	if (err)
		return err;
	json_t *g = glibc_info(c, h);
	json_t *ars = json_array();
	for (size_t i = 0; i < h->narenas; i++)
		json_array_append_new(ars, arena_json(h, i));
	json_object_set_new(g, "arenas", ars);
	put_problems(h, g);
	json_object_set_new(result, "glibc", g);
	tli_gl_heap_free(h);
	tli_gl_ctx_free(c);
	return NULL;
}

/* One thread's tcache: its non-empty bins and their total. */
static json_t *tcache_json(const struct tli_gl_heap *h, const struct tli_gl_tcache *tc)
{
	json_t *t = json_object();
	json_object_set_new(t, "tid", json_integer(tc->tid));
	json_object_set_new(t, "fs_base", tli_gl_hex(tc->tp));
	json_object_set_new(t, "tcache", tc->ptr ? tli_gl_hex(tc->ptr) : json_null());
	json_object_set_new(t, "found_by", json_string(tc->by_content ? "content" : "thread_pointer"));
	if (tc->by_content) /* the tid is 0: no thread pointer says whose it is */
		json_object_set_new(t, "owner", json_string("unknown (a thread whose thread pointer the core lacks)"));
	else if (!tc->tp) /* no registers, or no thread pointer among them: the session warns */
		json_object_set_new(t, "unknown", json_string("thread pointer not known"));
	json_t *bins = json_array();
	uint64_t tn = 0, tb = 0;
	for (uint32_t b = 0; tc->ok && b < h->L.tc_nbins && b < TLI_GL_MAX_TCACHE_BINS; b++) {
		if (!tc->counts[b] && !tc->found[b])
			continue;
		json_t *x = json_object();
		json_object_set_new(x, "index", json_integer(b));
		json_object_set_new(x, "chunk_size", json_integer((json_int_t)tli_gl_tidx2csize(b)));
		json_object_set_new(x, "count", json_integer(tc->counts[b]));
		json_object_set_new(x, "found", json_integer((json_int_t)tc->found[b]));
		json_object_set_new(x, "bytes", json_integer((json_int_t)tc->bytes[b]));
		json_array_append_new(bins, x);
		tn += tc->found[b];
		tb += tc->bytes[b];
	}
	json_object_set_new(t, "bins", bins);
	json_object_set_new(t, "total", tli_gl_cb(tn, tb));
	return t;
}

/* One arena's free lists: fastbins, unsorted, small and large bins. */
static json_t *arena_bins_json(const struct tli_gl_heap *h, size_t i)
{
	const struct tli_gl_arena *ar = &h->arenas[i];
	json_t *a = json_object();
	json_object_set_new(a, "index", json_integer((json_int_t)i));
	json_object_set_new(a, "address", tli_gl_hex(ar->addr));
	json_t *fb = json_array();
	for (uint32_t b = 0; b < h->L.nfastbins && b < TLI_GL_MAX_FASTBINS; b++) {
		if (!ar->fast[b].count)
			continue;
		json_t *x = tli_gl_cb(ar->fast[b].count, ar->fast[b].bytes);
		json_object_set_new(x, "index", json_integer(b));
		json_object_set_new(x, "chunk_size", json_integer((json_int_t)tli_gl_fastbin_csize(b)));
		json_array_append_new(fb, x);
	}
	json_object_set_new(a, "fastbins", fb);
	json_object_set_new(a, "unsorted", tli_gl_cb(ar->bins[1].count, ar->bins[1].bytes));
	json_t *sm = json_array(), *lg = json_array();
	for (uint32_t b = 2; b < h->L.nbins && b < TLI_GL_MAX_BINS; b++) {
		const struct tli_gl_binstat *st = &ar->bins[b];
		if (!st->count)
			continue;
		json_t *x = tli_gl_cb(st->count, st->bytes);
		json_object_set_new(x, "index", json_integer(b));
		json_object_set_new(x, "min_size", json_integer((json_int_t)tli_gl_chunksize(st->raw_min)));
		json_object_set_new(x, "max_size", json_integer((json_int_t)tli_gl_chunksize(st->raw_max)));
		json_array_append_new(b < h->L.nbins / 2 ? sm : lg, x);
	}
	json_object_set_new(a, "small", sm);
	json_object_set_new(a, "large", lg);
	json_object_set_new(a, "top_size", json_integer((json_int_t)ar->top_size));
	return a;
}

struct tli_error *tli_glibc_bins(struct tli_session *s, const struct tli_glibc_opts *o, json_t *result)
{
	struct tli_gl_ctx *c;
	struct tli_gl_heap *h;
	struct tli_glibc_opts oo = o ? *o : (struct tli_glibc_opts){ 0 };
	oo.no_chunk_list = true;
	struct tli_error *err = tli_gl_run(s, &oo, NULL, 0, &c, &h);
	if (err)
		return err;
	json_t *g = glibc_info(c, h);
	json_t *tcs = json_array();
	for (size_t i = 0; i < h->ntc; i++)
		json_array_append_new(tcs, tcache_json(h, &h->tc[i]));
	json_object_set_new(g, "tcache", tcs);
	json_t *ars = json_array();
	for (size_t i = 0; i < h->narenas; i++)
		json_array_append_new(ars, arena_bins_json(h, i));
	json_object_set_new(g, "arenas", ars);
	put_problems(h, g);
	json_object_set_new(result, "glibc", g);
	tli_gl_heap_free(h);
	tli_gl_ctx_free(c);
	return NULL;
}

struct tli_error *tli_glibc_chunk(struct tli_session *s, const struct tli_glibc_opts *o, uint64_t addr,
				  json_t *result)
{
	struct tli_gl_ctx *c;
	struct tli_gl_heap *h;
	struct tli_error *err = tli_gl_run(s, o, NULL, 0, &c, &h);
	if (err)
		return err;
	const struct tli_gl_chunk *ch = tli_gl_find_chunk(h, addr);
	if (!ch) {
		err = tli_error_create(TLI_E_NO_TARGET, "0x%" PRIx64 " is not inside any chunk of the glibc heaps",
				       addr);
		tli_gl_heap_free(h);
		tli_gl_ctx_free(c);
		return err;
	}
	json_t *g = glibc_info(c, h);
	json_t *x = tli_gl_chunk_json(h, ch);
	json_object_set_new(x, "query", tli_gl_hex(addr));
	json_object_set_new(x, "offset", json_integer((json_int_t)(addr - ch->addr)));
	uint64_t raw = 0, prev_size = 0;
	tli_error_drop(tli_target_read_u64(s->target, ch->addr + c->L.mc_size, &raw));
	tli_error_drop(tli_target_read_u64(s->target, ch->addr + c->L.mc_prev_size, &prev_size));
	json_object_set_new(x, "raw_size", tli_gl_hex(raw));
	json_t *fl = json_object();
	json_object_set_new(fl, "prev_inuse", json_boolean(ch->flags & TLI_GL_PREV_INUSE));
	json_object_set_new(fl, "is_mmapped", json_boolean(ch->flags & TLI_GL_IS_MMAPPED));
	json_object_set_new(fl, "non_main_arena", json_boolean(ch->flags & TLI_GL_NON_MAIN));
	json_object_set_new(x, "flags", fl);
	json_object_set_new(x, "prev_size", json_integer((json_int_t)prev_size));
	json_object_set_new(x, "usable", json_integer((json_int_t)(ch->size >= TLI_GL_CHUNK_HDR_SZ ? ch->size - TLI_GL_SIZE_SZ : 0)));
	if (ch > h->chunks && ch[-1].addr + ch[-1].size == ch->addr)
		json_object_set_new(x, "prev", tli_gl_chunk_json(h, &ch[-1]));
	if (ch + 1 < h->chunks + h->nchunks && ch->addr + ch->size == ch[1].addr)
		json_object_set_new(x, "next", tli_gl_chunk_json(h, &ch[1]));
	bool program_free = ch->kind != GLK_INUSE && ch->kind != GLK_MMAPPED;
	json_object_set_new(x, "program_view", json_string(program_free ? "free" : "in use"));
	json_object_set_new(x, "arena_view", json_string(ch->kind == GLK_INUSE || ch->kind == GLK_TCACHE ||
							 ch->kind == GLK_MMAPPED || ch->kind == GLK_FENCEPOST
							 ? "in use" : "free"));
	json_object_set_new(g, "chunk", x);
	put_problems(h, g);
	json_object_set_new(result, "glibc", g);
	tli_gl_heap_free(h);
	tli_gl_ctx_free(c);
	return NULL;
}
