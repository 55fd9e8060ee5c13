/* SPDX-License-Identifier: MIT */
/*
 * Every chunk, in address order: each heap segment walked chunk by chunk through
 * the size fields (next_chunk), the free-list marks met in the same order giving
 * each free chunk its kind; then the mmapped chunks found by scanning anonymous
 * mappings. The result is h->chunks, sorted by address.
 */
#include "walk.h"

#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "core/bigbuf.h"
#include "core/bytes.h"
#include "core/search.h"

void tli_gl_chunks_reserve(struct tli_gl_heap *h, size_t cap)
{
	struct tli_gl_chunk *v = tli_big_alloc_lazy(cap * sizeof(*v));
	if (v) {
		h->chunks = v;
		h->chunks_cap = cap;
		h->chunks_huge = true;
	}
}

static bool grow_chunks(struct tli_gl_heap *h)
{
	size_t nc = h->chunks_cap ? h->chunks_cap * 2 : 4096;
	if (h->chunks_huge) {
		/* a tli_big_alloc_lazy block: grown in place or moved by the kernel */
		void *nv = mremap(h->chunks, h->chunks_cap * sizeof(*h->chunks), nc * sizeof(*h->chunks),
				  MREMAP_MAYMOVE);
		if (nv == MAP_FAILED)
			return false;
		h->chunks = nv;
	} else {
		void *nv = realloc(h->chunks, nc * sizeof(*h->chunks));
		if (!nv)
			return false;
		h->chunks = nv;
	}
	h->chunks_cap = nc;
	return true;
}

/* False when the array cannot grow: the chunk list would be short, so the command must not
 * answer (an mremap failure is not seen by the CLI's malloc guard): noted as out of memory. */
static bool push_chunk(struct tli_gl_heap *h, uint64_t addr, uint64_t size, uint8_t kind, uint8_t flags,
		       uint16_t arena, uint32_t aux)
{
	if (h->nchunks == h->chunks_cap && !grow_chunks(h)) {
		tli_oom_note();
		return false;
	}
	h->chunks[h->nchunks++] = (struct tli_gl_chunk){ addr, size, kind, flags, arena, aux };
	return true;
}

const struct tli_gl_chunk *tli_gl_find_chunk(const struct tli_gl_heap *h, uint64_t addr)
{
	size_t lo = tli_upper_bound(h->nchunks, i, h->chunks[i].addr > addr);
	if (!lo)
		return NULL;
	const struct tli_gl_chunk *c = &h->chunks[lo - 1];
	return addr < c->addr + (c->size ? c->size : TLI_GL_CHUNK_HDR_SZ) ? c : NULL;
}

/* Count chunk (p, sz) of kind in arena ai and segment g. */
static void count_chunk(struct tli_gl_arena *ar, struct tli_gl_seg *g, uint8_t kind, uint64_t sz)
{
	ar->n_kind[kind]++;
	ar->b_kind[kind] += sz;
	g->walked += sz;
}

/*
 * The kind of the chunk at p (size sz) that is not top: its free-list mark if it has
 * one (and the mark must agree with the next chunk's PREV_INUSE), else in use, or free
 * in no bin when the next chunk says it is free. *aux: its bin.
 */
static uint8_t chunk_kind(struct walk *w, size_t ai, uint64_t p, uint64_t sz, bool next_p,
			  uint64_t next_prev_size, uint32_t *aux)
{
	struct tli_gl_heap *h = w->h;
	uint8_t kind = next_p ? GLK_INUSE : GLK_FREE_UNBINNED;
	*aux = 0;
	struct mark *m = tli_gl_mark_at(w, p);
	if (m) {
		m->arena |= MARK_MET;
		*aux = m->aux;
		if (m->kind == GLK_TCACHE || m->kind == GLK_FAST) {
			if (!next_p)
				tli_gl_problem(h, p, (long)ai, "chunk 0x%" PRIx64 " is in a %s list but the next "
					       "chunk's PREV_INUSE is clear", p, tli_gl_kind_names[m->kind]);
		} else if (next_p) {
			tli_gl_problem(h, p, (long)ai, "chunk 0x%" PRIx64 " is in %s bin %u but the next chunk's "
				       "PREV_INUSE is set", p, tli_gl_kind_names[m->kind], m->aux);
		}
		kind = m->kind;
	} else if (!next_p) {
		tli_gl_problem(h, p, (long)ai, "chunk 0x%" PRIx64 " (size 0x%" PRIx64 ") is free (next chunk's "
			       "PREV_INUSE clear) but in no bin", p, sz);
	}
	if (!next_p && next_prev_size != sz)
		tli_gl_problem(h, p, (long)ai, "free chunk 0x%" PRIx64 ": size 0x%" PRIx64 " but next chunk's "
			       "prev_size 0x%" PRIx64, p, sz, next_prev_size);
	return kind;
}

/* Walk one segment chunk by chunk: kinds, free-list marks met in address order,
 * per-arena totals and the size statistics in one pass. */
void tli_gl_walk_seg(struct walk *w, size_t ai, size_t si)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	struct tli_gl_arena *ar = &h->arenas[ai];
	struct tli_gl_seg *g = &ar->segs[si];
	if (!g->buf)
		return;
	bool is_main = ar->addr == L->main_arena;
	bool has_top = ar->top >= g->start && ar->top < g->end;
	const bool keep = w->want_chunks;
	const uint32_t o_size = L->mc_size, o_prev = L->mc_prev_size;
	const uint64_t hdr = TLI_GL_CHUNK_HDR_SZ;
	uint64_t p = g->start;
	const uint8_t *b = g->buf - g->start; /* b + address = the byte at that address */
	uint64_t kept = p; /* a core read in place: pages below this were given back */
	while (p + hdr <= g->end) {
		if (p - kept >= TLI_GL_WINDOW && !g->buf_owned) { /* only a window stays resident */
			tli_target_mapped_drop(w->t, b + kept, p - kept);
			kept = p;
		}
		uint64_t raw = tli_rd64(b + p + o_size);
		uint64_t sz = tli_gl_chunksize(raw);
		uint8_t fl = raw & TLI_GL_FLAGS;
		if (p == ar->top) {
			if (keep)
				push_chunk(h, p, sz, GLK_TOP, fl, (uint16_t)ai, 0);
			count_chunk(ar, g, GLK_TOP, sz);
			if (p + sz != g->end)
				tli_gl_problem(h, p, (long)ai, "top chunk 0x%" PRIx64 " size 0x%" PRIx64 " ends at 0x%"
					       PRIx64 ", heap ends at 0x%" PRIx64, p, sz, p + sz, g->end);
			return;
		}
		if (sz == 0 && !has_top)
			return; /* end marker of an old heap */
		if (sz == hdr && (!has_top || is_main)) { /* main arena: fenceposts between segments */
			if (keep)
				push_chunk(h, p, sz, GLK_FENCEPOST, fl, (uint16_t)ai, 0);
			count_chunk(ar, g, GLK_FENCEPOST, sz);
			p += hdr;
			continue;
		}
		if (sz < TLI_GL_MINSIZE || tli_gl_misaligned(sz) || p + sz > g->end || p + sz < p) {
			tli_gl_problem(h, p, (long)ai, "chunk 0x%" PRIx64 ": invalid size field 0x%" PRIx64
				       " (heap segment 0x%" PRIx64 "-0x%" PRIx64 "); rest of this heap not walked",
				       p, raw, g->start, g->end);
			return;
		}
		if (fl & TLI_GL_IS_MMAPPED)
			tli_gl_problem(h, p, (long)ai, "chunk 0x%" PRIx64 " in a heap has IS_MMAPPED set", p);
		if (is_main && (fl & TLI_GL_NON_MAIN))
			tli_gl_problem(h, p, (long)ai, "chunk 0x%" PRIx64 " in the main arena has NON_MAIN_ARENA set", p);
		bool next_p = true;
		uint64_t next_prev_size = 0;
		if (p + sz + hdr <= g->end) {
			next_p = tli_rd64(b + p + sz + o_size) & TLI_GL_PREV_INUSE;
			next_prev_size = tli_rd64(b + p + sz + o_prev);
		}
		uint32_t aux;
		uint8_t kind = chunk_kind(w, ai, p, sz, next_p, next_prev_size, &aux);
		if (keep && !push_chunk(h, p, sz, kind, fl, (uint16_t)ai, aux))
			return;
		if (kind == GLK_INUSE)
			tli_gl_sizes_add(w->sizes, sz);
		count_chunk(ar, g, kind, sz);
		p += sz;
	}
	if (has_top)
		tli_gl_problem(h, p, (long)ai, "heap walk of 0x%" PRIx64 "-0x%" PRIx64 " did not reach top 0x%" PRIx64,
			       g->start, g->end, ar->top);
}

void tli_gl_find_mmapped(struct walk *w, uint64_t hmax)
{
	struct tli_target *t = w->t;
	struct tli_gl_heap *h = w->h;
	size_t steps = 0;
	for (size_t m = 0; m < t->nmaps && steps < MAX_MMAP_STEPS; m++) {
		const struct tli_mapping *mp = &t->maps[m];
		if (!tli_gl_anon_rw(mp))
			continue;
		uint64_t q = mp->start;
		while (q + TLI_GL_CHUNK_HDR_SZ <= mp->end && steps++ < MAX_MMAP_STEPS) {
			uint64_t next = tli_gl_skip_known(w, q, hmax);
			if (next) { /* heaps of the main arena may share a mapping with mmapped chunks */
				if (next <= q)
					break;
				q = next;
				continue;
			}
			uint64_t ps = 0, raw = 0, sz = 0;
			if (!tli_gl_rd64(w, q, &ps) || !tli_gl_rd64(w, q + 8, &raw))
				break;
			if (!tli_gl_mmapped_chunk_at(q, ps, raw, mp->end, &sz))
				break;
			push_chunk(h, q, sz, GLK_MMAPPED, TLI_GL_IS_MMAPPED, TLI_GL_NO_ARENA, 0);
			tli_gl_sizes_add(w->sizes, sz);
			h->mmapped_found++;
			h->mmapped_found_bytes += ps + sz;
			q += sz;
		}
	}
}

static int cmp_chunk(const void *a, const void *b)
{
	const struct tli_gl_chunk *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static bool sorted_chunks(const struct tli_gl_chunk *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (v[i].addr < v[i - 1].addr)
			return false;
	return true;
}

void tli_gl_merge_tail(struct tli_gl_heap *h, size_t nheap)
{
	struct tli_gl_chunk *v = h->chunks;
	size_t m = h->nchunks - nheap;
	struct tli_gl_chunk *tail = malloc(m * sizeof(*tail));
	if (!tail || !sorted_chunks(v, nheap)) {
		free(tail);
		qsort(v, h->nchunks, sizeof(*v), cmp_chunk);
		return;
	}
	memcpy(tail, v + nheap, m * sizeof(*tail));
	qsort(tail, m, sizeof(*tail), cmp_chunk);
	size_t i = nheap, j = m, k = h->nchunks;
	while (j) {
		if (i && v[i - 1].addr > tail[j - 1].addr)
			v[--k] = v[--i];
		else
			v[--k] = tail[--j];
	}
	free(tail);
}
