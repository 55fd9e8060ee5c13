/* SPDX-License-Identifier: MIT */
/*
 * The heap segments of each arena: where its chunks lie.
 *
 * A thread arena's heaps are found through their heap_info chain (malloc/arena.c,
 * new_heap / grow_heap): newest (the one holding top) to oldest. The main arena
 * normally has one segment, sbrk_base .. end of top. When sbrk could not extend it
 * (something mapped after the brk end, or a foreign sbrk), sysmalloc (malloc/malloc.c)
 * continued in mmapped regions (the arena is then marked NONCONTIGUOUS) and fenced
 * each old top off with fenceposts: the sbrk heap ends in fenceposts, and the other
 * segments lie in anonymous mappings (maybe sharing a mapping with mmapped chunks
 * and with each other), each a chunk chain that ends in fenceposts, the newest one
 * in top. They are found by scanning those mappings the way mmapped chunks are found.
 */
#include "walk.h"

#include <inttypes.h>
#include <stdlib.h>

#include "core/bytes.h"
#include "core/search.h"

static bool add_seg(struct walk *w, size_t ai, uint64_t start, uint64_t end, uint64_t hinfo,
		    uint64_t hsize, uint64_t mprot)
{
	struct tli_gl_arena *ar = &w->h->arenas[ai];
	if (end <= start || !tli_target_plausible(w->t, start, end - start)) {
		tli_gl_problem(w->h, start, (long)ai, "heap 0x%" PRIx64 "-0x%" PRIx64 " of arena 0x%" PRIx64
			       " is not inside readable mappings; not walked", start, end, ar->addr);
		return false;
	}
	void *nv = realloc(ar->segs, (ar->nsegs + 1) * sizeof(*ar->segs));
	if (!nv)
		return false;
	ar->segs = nv;
	ar->segs[ar->nsegs++] = (struct tli_gl_seg){ .start = start, .end = end, .heap_info = hinfo,
						     .hsize = hsize, .mprotect_size = mprot };
	return true;
}

const struct segref *tli_gl_seg_of(const struct walk *w, uint64_t addr)
{
	size_t lo = tli_upper_bound(w->nsegs, i, w->segs[i].start > addr);
	if (lo == 0)
		return NULL;
	const struct segref *s = &w->segs[lo - 1];
	return addr < s->end ? s : NULL;
}

uint64_t tli_gl_skip_known(const struct walk *w, uint64_t q, uint64_t hmax)
{
	const struct segref *sr = tli_gl_seg_of(w, q);
	if (sr)
		return sr->end;
	size_t lo = tli_lower_bound(w->nhinfo, i, w->hinfo[i] < q);
	if (lo < w->nhinfo && w->hinfo[lo] == q)
		return q + hmax;
	return 0;
}

/*
 * The main arena's chunk chain from start (a segment's first chunk) within
 * [start, lim): the end of the segment, i.e. the end of top if the chain reaches
 * the arena's top (*has_top), or the end of the fencepost pair that sysmalloc
 * leaves at the end of a segment it could not extend (two CHUNK_HDR_SZ in-use
 * chunks; a third when the old top shrank to that size: segment ends are page
 * aligned). 0 if this is not such a chain.
 */
static uint64_t chain_end(struct walk *w, const struct tli_gl_arena *ar, uint64_t start, uint64_t lim,
			  bool *has_top)
{
	const uint64_t fence = TLI_GL_CHUNK_HDR_SZ;
	*has_top = false;
	if (lim <= start || tli_gl_misaligned(start))
		return 0;
	const uint8_t *b = tli_target_captured_ptr(w->t, start, lim - start);
	uint64_t p = start;
	unsigned run = 0;
	for (uint64_t steps = 0; p + fence <= lim && steps <= (lim - start) / fence; steps++) {
		if (p == ar->top && !run) {
			uint64_t e = p + ar->top_size;
			if (e > lim || e <= p)
				return 0;
			*has_top = true;
			return e;
		}
		uint64_t raw = 0;
		if (b)
			raw = tli_rd64(b + (p - start) + w->L->mc_size);
		else if (!tli_gl_rd64(w, p + w->L->mc_size, &raw))
			return 0;
		uint64_t sz = tli_gl_chunksize(raw);
		if (p == start && !(raw & TLI_GL_PREV_INUSE))
			return 0;
		if (sz == fence && !(raw & (TLI_GL_IS_MMAPPED | TLI_GL_NON_MAIN))) {
			run++;
			p += fence;
			if (run >= 2 && !(p & (TLI_GL_PAGESIZE - 1)))
				return p;
			continue;
		}
		if (run >= 2)
			return p;
		if (run || sz < TLI_GL_MINSIZE || tli_gl_misaligned(sz) || (raw & (TLI_GL_IS_MMAPPED | TLI_GL_NON_MAIN)) ||
		    p + sz > lim || p + sz < p)
			return 0;
		p += sz;
	}
	return run >= 2 ? p : 0;
}

/* The main arena's first segment, the sbrk heap; false: stop here (nothing more to find). */
static bool sbrk_segment(struct walk *w, size_t ai, uint64_t sbrk_base, bool *top_found)
{
	struct tli_gl_heap *h = w->h;
	struct tli_gl_arena *ar = &h->arenas[ai];
	bool noncontig = ar->flags & TLI_GL_NONCONTIGUOUS;
	uint64_t start = tli_gl_align_up(sbrk_base);
	uint64_t end = ar->top + ar->top_size;
	if (sbrk_base && ar->top >= start && end >= ar->top && end - start <= ar->system_mem + TLI_GL_PAGESIZE &&
	    tli_target_plausible(w->t, start, TLI_GL_CHUNK_HDR_SZ)) {
		add_seg(w, ai, start, end, 0, end - start, end - start);
		*top_found = true;
	} else if (!noncontig) {
		tli_gl_problem(h, ar->top, (long)ai,
			       "main arena: top 0x%" PRIx64 " (size 0x%" PRIx64 ") is not inside the sbrk heap "
			       "[0x%" PRIx64 ", +system_mem 0x%" PRIx64 "); walking sbrk_base..+system_mem",
			       ar->top, ar->top_size, sbrk_base, ar->system_mem);
		if (!sbrk_base || !ar->system_mem || ar->system_mem > (1ull << 44))
			return false;
		end = sbrk_base + ar->system_mem;
		add_seg(w, ai, start, end, 0, end - start, end - start);
		return false;
	} else if (sbrk_base) {
		/* the sbrk heap, fenced off */
		const struct tli_mapping *m = tli_target_find_mapping(w->t, start);
		bool ht;
		uint64_t e = m ? chain_end(w, ar, start, m->end, &ht) : 0;
		if (e)
			add_seg(w, ai, start, e, 0, e - start, e - start);
		else
			tli_gl_problem(h, start, (long)ai, "main arena: the sbrk heap at 0x%" PRIx64 " does not end "
				       "in fenceposts (the arena is non-contiguous, its top 0x%" PRIx64 " is elsewhere)",
				       start, ar->top);
	}
	return noncontig;
}

/* Where the scan of a mapping goes on after q when q is in a known heap (0: not known). */
static uint64_t known_next(const struct walk *w, const struct tli_gl_arena *ar, uint64_t q, uint64_t hmax)
{
	uint64_t next = tli_gl_skip_known(w, q, hmax);
	for (size_t k = 0; !next && k < ar->nsegs; k++)
		if (q >= ar->segs[k].start && q < ar->segs[k].end)
			next = ar->segs[k].end;
	return next;
}

/* A non-contiguous main arena's other segments: in [heap] after the sbrk heap, or in
 * anonymous mappings. */
static void mmapped_main_segments(struct walk *w, size_t ai, uint64_t hmax, bool *top_found)
{
	struct tli_gl_arena *ar = &w->h->arenas[ai];
	size_t steps = 0;
	for (size_t mi = 0; mi < w->t->nmaps && steps < MAX_MMAP_STEPS; mi++) {
		const struct tli_mapping *mp = &w->t->maps[mi];
		bool brk = mp->path && !strcmp(mp->path, "[heap]") &&
			   (mp->prot & (TLI_PROT_R | TLI_PROT_W)) == (TLI_PROT_R | TLI_PROT_W);
		if (!tli_gl_anon_rw(mp) && !brk)
			continue;
		uint64_t q = mp->start;
		while (q + TLI_GL_CHUNK_HDR_SZ <= mp->end && steps++ < MAX_MMAP_STEPS && ar->nsegs < MAX_MAIN_SEGS) {
			uint64_t next = known_next(w, ar, q, hmax);
			if (next) {
				if (next <= q)
					break;
				q = next;
				continue;
			}
			uint64_t ps = 0, raw = 0, sz = 0;
			if (!tli_gl_rd64(w, q, &ps) || !tli_gl_rd64(w, q + 8, &raw))
				break;
			if (tli_gl_mmapped_chunk_at(q, ps, raw, mp->end, &sz)) {
				q += sz; /* an mmapped chunk */
				continue;
			}
			bool ht;
			uint64_t e = chain_end(w, ar, q, mp->end, &ht);
			if (!e)
				break;
			add_seg(w, ai, q, e, 0, e - q, e - q);
			*top_found |= ht;
			q = e;
		}
	}
}

static void main_segments(struct walk *w, size_t ai, uint64_t sbrk_base, uint64_t hmax)
{
	struct tli_gl_arena *ar = &w->h->arenas[ai];
	if (!ar->top || ar->top == ar->addr + w->L->ms_top) /* no heap yet */
		return;
	bool top_found = false;
	if (!sbrk_segment(w, ai, sbrk_base, &top_found))
		return;
	mmapped_main_segments(w, ai, hmax, &top_found);
	if (!top_found)
		tli_gl_problem(w->h, ar->top, (long)ai, "main arena (non-contiguous): no heap segment ends in its "
			       "top chunk 0x%" PRIx64, ar->top);
}

/* A thread arena's heaps, newest (the one holding top) to oldest; more than 64: the
 * newest 64, and a problem says so. */
static void thread_segments(struct walk *w, size_t ai, uint64_t hmax)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	struct tli_gl_arena *ar = &h->arenas[ai];
	uint64_t first = ar->addr & ~(hmax - 1);
	uint64_t hs[64], hsz[64], hmp[64];
	size_t n = 0;
	uint64_t hi = ar->top & ~(hmax - 1), ar_ptr = 0;
	bool top_ok = ar->top && tli_gl_rd64(w, hi + L->hi_ar_ptr, &ar_ptr) && ar_ptr == ar->addr;
	if (!top_ok) {
		tli_gl_problem(h, ar->top, (long)ai,
			       "arena 0x%" PRIx64 ": top 0x%" PRIx64 " is not in one of its heaps (heap_info at 0x%"
			       PRIx64 " has ar_ptr 0x%" PRIx64 "); walking only the arena's first heap",
			       ar->addr, ar->top, hi, ar_ptr);
		hi = first;
	}
	uint64_t total_heaps = 0;
	for (int k = 0; hi && k < MAX_HEAPS_PER_ARENA; k++) {
		uint64_t prev = 0, size = 0, mprot = 0, ap = 0;
		if (!tli_gl_rd64(w, hi + L->hi_ar_ptr, &ap) || !tli_gl_rd64(w, hi + L->hi_prev, &prev) ||
		    !tli_gl_rd64(w, hi + L->hi_hsize, &size) || !tli_gl_rd64(w, hi + L->hi_mprotect_size, &mprot)) {
			tli_gl_problem(h, hi, (long)ai, "heap_info at 0x%" PRIx64 " is unreadable", hi);
			break;
		}
		if (ap != ar->addr) {
			tli_gl_problem(h, hi, (long)ai, "heap_info at 0x%" PRIx64 ": ar_ptr 0x%" PRIx64
				       " is not its arena 0x%" PRIx64, hi, ap, ar->addr);
			break;
		}
		if (size > hmax || size < L->hi_size) {
			tli_gl_problem(h, hi, (long)ai, "heap_info at 0x%" PRIx64 ": size 0x%" PRIx64 " out of range",
				       hi, size);
			break;
		}
		total_heaps++;
		if (n < 64) {
			hs[n] = hi;
			hsz[n] = size;
			hmp[n] = mprot;
			n++;
		}
		if (!top_ok || prev == hi || (prev & (hmax - 1)))
			break;
		hi = prev;
	}
	if (total_heaps > n)
		tli_gl_problem(h, ar->addr, (long)ai, "arena has %" PRIu64 " heaps; only the newest %zu are walked",
			       total_heaps, n);
	for (size_t k = n; k-- > 0;) {
		/* the first heap holds the arena itself after its heap_info */
		uint64_t start = hs[k] == first ? tli_gl_align_up(ar->addr + L->ms_size)
						: tli_gl_align_up(hs[k] + L->hi_size);
		add_seg(w, ai, start, hs[k] + hsz[k], hs[k], hsz[k], hmp[k]);
	}
}

void tli_gl_arena_segments(struct walk *w, size_t ai, uint64_t sbrk_base, uint64_t hmax)
{
	if (w->h->arenas[ai].addr == w->L->main_arena)
		main_segments(w, ai, sbrk_base, hmax);
	else
		thread_segments(w, ai, hmax);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_segref(const void *a, const void *b)
{
	const struct segref *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

bool tli_gl_build_segrefs(struct walk *w, bool report)
{
	struct tli_gl_heap *h = w->h;
	free(w->segs);
	free(w->hinfo);
	w->segs = NULL;
	w->hinfo = NULL;
	w->nsegs = w->nhinfo = 0;
	size_t ns = 0;
	for (size_t i = 0; i < h->narenas; i++)
		ns += h->arenas[i].nsegs;
	w->segs = calloc(ns + 1, sizeof(*w->segs));
	w->hinfo = calloc(ns + 1, sizeof(*w->hinfo));
	if (!w->segs || !w->hinfo)
		return false;
	for (size_t i = 0; i < h->narenas; i++)
		for (size_t j = 0; j < h->arenas[i].nsegs; j++) {
			struct tli_gl_seg *g = &h->arenas[i].segs[j];
			w->segs[w->nsegs++] = (struct segref){ i, j, g->start, g->end, NULL };
			if (g->heap_info)
				w->hinfo[w->nhinfo++] = g->heap_info;
		}
	qsort(w->segs, w->nsegs, sizeof(*w->segs), cmp_segref);
	qsort(w->hinfo, w->nhinfo, sizeof(*w->hinfo), cmp_u64);
	size_t k = 0;
	for (size_t i = 0; i < w->nsegs; i++) {
		if (k && w->segs[i].start < w->segs[k - 1].end) {
			if (report)
				tli_gl_problem(h, w->segs[i].start, (long)w->segs[i].arena,
					       "heap 0x%" PRIx64 "-0x%" PRIx64 " overlaps heap 0x%" PRIx64 "-0x%"
					       PRIx64 "; dropped", w->segs[i].start, w->segs[i].end,
					       w->segs[k - 1].start, w->segs[k - 1].end);
			continue;
		}
		w->segs[k++] = w->segs[i];
	}
	w->nsegs = k;
	return true;
}
