/* SPDX-License-Identifier: MIT */
/*
 * Statistics from the walk: the per-size counts of in-use chunks (gathered during
 * the walk), glibc's own numbers reproduced (mallinfo2 and malloc_info, as
 * malloc/malloc.c int_mallinfo / __malloc_info compute them, glibc 2.36), the
 * size-class histogram and the top sizes.
 */
#include "walk.h"

#include <stdlib.h>

/* ---- per-size counts of in-use chunks ---- */

void tli_gl_sizes_add(struct sizetab *t, uint64_t size)
{
	if (size / TLI_GL_MALLOC_ALIGNMENT < SZ_DIRECT) {
		t->direct[size / TLI_GL_MALLOC_ALIGNMENT]++;
		return;
	}
	tli_u64map_put(&t->big, size, tli_u64map_get(&t->big, size) + 1); /* out of memory: not counted */
}

static int cmp_sizecount(const void *a, const void *b)
{
	const struct tli_gl_sizecount *x = a, *y = b;
	return x->size < y->size ? -1 : x->size > y->size;
}

void tli_gl_sizes_finish(struct sizetab *t, struct tli_gl_heap *h)
{
	size_t n = t->big.n;
	for (size_t i = 0; i < SZ_DIRECT; i++)
		n += t->direct[i] != 0;
	h->sizes = calloc(n + 1, sizeof(*h->sizes));
	if (h->sizes) {
		for (size_t i = 0; i < SZ_DIRECT; i++)
			if (t->direct[i])
				h->sizes[h->nsizes++] = (struct tli_gl_sizecount){ (uint64_t)TLI_GL_MALLOC_ALIGNMENT * i, t->direct[i] };
		for (size_t i = 0; i < t->big.cap; i++)
			if (t->big.keys[i])
				h->sizes[h->nsizes++] = (struct tli_gl_sizecount){ t->big.keys[i], t->big.vals[i] };
		qsort(h->sizes, h->nsizes, sizeof(*h->sizes), cmp_sizecount);
	}
	tli_u64map_free(&t->big);
}

void tli_gl_sizes_free(struct sizetab *t)
{
	if (t)
		tli_u64map_free(&t->big);
}

/* ---- glibc's own statistics, reproduced ---- */

static void arena_avail(const struct tli_gl_heap *h, const struct tli_gl_arena *ar, uint64_t *avail,
			uint64_t *nblocks, uint64_t *nfast, uint64_t *fastavail, uint64_t *rest_raw)
{
	uint64_t fa = 0, nf = 0, bb = 0, bn = 0, braw = 0;
	for (uint32_t i = 0; i < h->L.nfastbins && i < TLI_GL_MAX_FASTBINS; i++) {
		nf += ar->fast[i].count;
		fa += ar->fast[i].bytes;
	}
	for (uint32_t i = 1; i < h->L.nbins && i < TLI_GL_MAX_BINS; i++) {
		bn += ar->bins[i].count;
		bb += ar->bins[i].bytes;
		braw += ar->bins[i].raw_bytes;
	}
	*avail = ar->top_size + fa + bb;
	*nblocks = 1 + bn;
	*nfast = nf;
	*fastavail = fa;
	*rest_raw = ar->top_size + braw;
}

json_t *tli_gl_mallinfo2_json(const struct tli_gl_heap *h)
{
	uint64_t arena = 0, ordblks = 0, smblks = 0, fsmblks = 0, uord = 0, ford = 0, keep = 0;
	for (size_t i = 0; i < h->narenas; i++) {
		const struct tli_gl_arena *ar = &h->arenas[i];
		uint64_t avail, nb, nf, fa, rr;
		arena_avail(h, ar, &avail, &nb, &nf, &fa, &rr);
		arena += ar->system_mem;
		ordblks += nb;
		smblks += nf;
		fsmblks += fa;
		ford += avail;
		uord += ar->system_mem - avail;
		if (ar->addr == h->L.main_arena)
			keep = ar->top_size;
	}
	json_t *o = json_object();
	json_object_set_new(o, "arena", json_integer((json_int_t)arena));
	json_object_set_new(o, "ordblks", json_integer((json_int_t)ordblks));
	json_object_set_new(o, "smblks", json_integer((json_int_t)smblks));
	json_object_set_new(o, "hblks", json_integer((json_int_t)h->n_mmaps));
	json_object_set_new(o, "hblkhd", json_integer((json_int_t)h->mmapped_mem));
	json_object_set_new(o, "usmblks", json_integer(0));
	json_object_set_new(o, "fsmblks", json_integer((json_int_t)fsmblks));
	json_object_set_new(o, "uordblks", json_integer((json_int_t)uord));
	json_object_set_new(o, "fordblks", json_integer((json_int_t)ford));
	json_object_set_new(o, "keepcost", json_integer((json_int_t)keep));
	return o;
}

/* malloc_info's <sizes>: one per non-empty fastbin (from = to - MALLOC_ALIGN_MASK), then
 * one per non-empty bin (raw sizes, as __malloc_info reads them). */
static json_t *malloc_info_sizes(const struct tli_gl_heap *h, const struct tli_gl_arena *ar)
{
	json_t *sizes = json_array();
	for (uint32_t i = 0; i < h->L.nfastbins && i < TLI_GL_MAX_FASTBINS; i++) {
		if (!ar->fast[i].count)
			continue;
		uint64_t to = tli_gl_fastbin_csize(i);
		json_t *s = json_object();
		json_object_set_new(s, "type", json_string("fast"));
		json_object_set_new(s, "from", json_integer((json_int_t)(to - TLI_GL_MALLOC_ALIGN_MASK)));
		json_object_set_new(s, "to", json_integer((json_int_t)to));
		json_object_set_new(s, "total", json_integer((json_int_t)(to * ar->fast[i].count)));
		json_object_set_new(s, "count", json_integer((json_int_t)ar->fast[i].count));
		json_array_append_new(sizes, s);
	}
	for (uint32_t i = 1; i < h->L.nbins && i < TLI_GL_MAX_BINS; i++) {
		const struct tli_gl_binstat *b = &ar->bins[i];
		if (!b->count)
			continue;
		json_t *s = json_object();
		json_object_set_new(s, "type", json_string(i == 1 ? "unsorted" : "bin"));
		json_object_set_new(s, "bin", json_integer(i));
		json_object_set_new(s, "from", json_integer((json_int_t)b->raw_min));
		json_object_set_new(s, "to", json_integer((json_int_t)b->raw_max));
		json_object_set_new(s, "total", json_integer((json_int_t)b->raw_bytes));
		json_object_set_new(s, "count", json_integer((json_int_t)b->count));
		json_array_append_new(sizes, s);
	}
	return sizes;
}

json_t *tli_gl_malloc_info_json(const struct tli_gl_heap *h, size_t ai)
{
	const struct tli_gl_arena *ar = &h->arenas[ai];
	uint64_t avail, nb, nf, fa, rr;
	arena_avail(h, ar, &avail, &nb, &nf, &fa, &rr);
	json_t *o = json_object();
	json_object_set_new(o, "sizes", malloc_info_sizes(h, ar));
	json_object_set_new(o, "fast_count", json_integer((json_int_t)nf));
	json_object_set_new(o, "fast_size", json_integer((json_int_t)fa));
	json_object_set_new(o, "rest_count", json_integer((json_int_t)nb));
	json_object_set_new(o, "rest_size", json_integer((json_int_t)rr));
	json_object_set_new(o, "system_current", json_integer((json_int_t)ar->system_mem));
	json_object_set_new(o, "system_max", json_integer((json_int_t)ar->max_system_mem));
	uint64_t at = 0, am = 0;
	if (ar->addr == h->L.main_arena) {
		at = am = ar->system_mem;
	} else {
		for (size_t j = 0; j < ar->nsegs; j++) {
			at += ar->segs[j].hsize;
			am += ar->segs[j].mprotect_size;
		}
		json_object_set_new(o, "subheaps", json_integer((json_int_t)ar->nsegs));
	}
	json_object_set_new(o, "aspace_total", json_integer((json_int_t)at));
	json_object_set_new(o, "aspace_mprotect", json_integer((json_int_t)am));
	return o;
}

json_t *tli_gl_malloc_info_total_json(const struct tli_gl_heap *h)
{
	json_t *t = json_object();
	uint64_t fc = 0, fs = 0, rc = 0, rs = 0, sc = 0, sm = 0, at = 0, am = 0;
	for (size_t i = 0; i < h->narenas; i++) {
		json_t *a = tli_gl_malloc_info_json(h, i);
		fc += json_integer_value(json_object_get(a, "fast_count"));
		fs += json_integer_value(json_object_get(a, "fast_size"));
		rc += json_integer_value(json_object_get(a, "rest_count"));
		rs += json_integer_value(json_object_get(a, "rest_size"));
		sc += json_integer_value(json_object_get(a, "system_current"));
		sm += json_integer_value(json_object_get(a, "system_max"));
		at += json_integer_value(json_object_get(a, "aspace_total"));
		am += json_integer_value(json_object_get(a, "aspace_mprotect"));
		json_decref(a);
	}
	json_object_set_new(t, "fast_count", json_integer((json_int_t)fc));
	json_object_set_new(t, "fast_size", json_integer((json_int_t)fs));
	json_object_set_new(t, "rest_count", json_integer((json_int_t)rc));
	json_object_set_new(t, "rest_size", json_integer((json_int_t)rs));
	json_object_set_new(t, "mmap_count", json_integer((json_int_t)h->n_mmaps));
	json_object_set_new(t, "mmap_size", json_integer((json_int_t)h->mmapped_mem));
	json_object_set_new(t, "system_current", json_integer((json_int_t)sc));
	json_object_set_new(t, "system_max", json_integer((json_int_t)sm));
	json_object_set_new(t, "aspace_total", json_integer((json_int_t)at));
	json_object_set_new(t, "aspace_mprotect", json_integer((json_int_t)am));
	return t;
}

/* ---- size statistics (from the walk's per-size counts) ---- */

struct szent { uint64_t size, count, bytes; };
static int cmp_szent_bytes(const void *a, const void *b)
{
	const struct szent *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return x->size < y->size ? -1 : x->size > y->size;
}

json_t *tli_gl_top_sizes_json(const struct tli_gl_heap *h, int top)
{
	struct szent *v = calloc(h->nsizes + 1, sizeof(*v));
	if (!v)
		return json_array();
	for (size_t i = 0; i < h->nsizes; i++)
		v[i] = (struct szent){ h->sizes[i].size, h->sizes[i].count, h->sizes[i].size * h->sizes[i].count };
	size_t k = h->nsizes;
	qsort(v, k, sizeof(*v), cmp_szent_bytes);
	json_t *a = json_array();
	size_t lim = top < 0 ? k : (size_t)(top ? top : 10);
	for (size_t i = 0; i < k && i < lim; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "size", json_integer((json_int_t)v[i].size));
		json_object_set_new(o, "count", json_integer((json_int_t)v[i].count));
		json_object_set_new(o, "bytes", json_integer((json_int_t)v[i].bytes));
		json_array_append_new(a, o);
	}
	free(v);
	return a;
}

json_t *tli_gl_histogram_json(const struct tli_gl_heap *h)
{
	uint64_t cnt[64] = { 0 }, by[64] = { 0 };
	for (size_t i = 0; i < h->nsizes; i++) {
		int b = 63 - __builtin_clzll(h->sizes[i].size | 1);
		cnt[b] += h->sizes[i].count;
		by[b] += h->sizes[i].size * h->sizes[i].count;
	}
	json_t *a = json_array();
	for (int b = 0; b < 64; b++) {
		if (!cnt[b])
			continue;
		json_t *o = json_object();
		json_object_set_new(o, "from", json_integer((json_int_t)(1ull << b)));
		json_object_set_new(o, "to", json_integer((json_int_t)((b < 63 ? (1ull << (b + 1)) : 0) - 1)));
		json_object_set_new(o, "count", json_integer((json_int_t)cnt[b]));
		json_object_set_new(o, "bytes", json_integer((json_int_t)by[b]));
		json_array_append_new(a, o);
	}
	return a;
}
