/* SPDX-License-Identifier: MIT */
/*
 * Reachability (reach.h). A pointer value is resolved to the chunk holding it
 * through regions: each heap segment has a block table (for every 512-byte block,
 * the last chunk starting at or before it), each mmapped chunk is a region of its
 * own; the chunks are h->chunks itself (sorted). A chunk counts if the value lies in
 * its user part [chunk2mem, addr + size) and it is in use (or mmapped). A marked
 * chunk goes on an explicit work stack, each chunk at most once.
 */
#include "reach.h"

#include <stdlib.h>

#include "core/bigbuf.h"
#include "core/bytes.h"
#include "core/search.h"

#define BLK_SHIFT 9

struct tli_gl_region {
	uint64_t start, end;      /* [start, end) */
	const uint8_t *buf;       /* heap segment bytes (NULL: mmapped chunk or unreadable) */
	uint32_t *first;          /* heap segment: block table; NULL: mmapped chunk */
	size_t chunk;             /* mmapped chunk: its index in h->chunks */
};

static const struct tli_gl_region *region_of(struct tli_gl_reach *k, uint64_t v)
{
	if (!k->nreg)
		return NULL;
	const struct tli_gl_region *r = &k->reg[k->last];
	if (v >= r->start && v < r->end)
		return r;
	size_t lo = tli_upper_bound(k->nreg, i, k->reg[i].start > v);
	if (!lo || v >= k->reg[lo - 1].end)
		return NULL;
	k->last = lo - 1;
	return &k->reg[lo - 1];
}

static inline void consider(struct tli_gl_reach *k, uint64_t v)
{
	if (v < k->lo || v >= k->hi)
		return;
	const struct tli_gl_region *r = region_of(k, v);
	if (!r)
		return;
	size_t i = r->first ? r->first[(v - r->start) >> BLK_SHIFT] : r->chunk;
	if (r->first) /* the last chunk starting at or before v */
		while (i + 1 < k->nch && k->ch[i + 1].addr <= v)
			i++;
	const struct tli_gl_chunk *c = &k->ch[i];
	if (v >= tli_gl_chunk2mem(c->addr) && v - c->addr < c->size && tli_gl_reach_counts(c) && !k->mark[i]) {
		k->mark[i] = 1;
		k->work[k->nwork++] = (uint32_t)i;
	}
}

void tli_gl_reach_value(struct tli_gl_reach *k, uint64_t v)
{
	consider(k, v);
}

static void scan_buf(struct tli_gl_reach *k, const uint8_t *b, size_t len)
{
	for (size_t o = 0; o + 8 <= len; o += 8)
		consider(k, tli_rd64(b + o));
	k->scanned += len;
	/* heaps read in place from a core: about a window of them resident at a time (the
	 * pages come back from the file when touched again; a no-op for copies). Chunks are
	 * scanned in mark order, each on a page of its own as far as residency goes: counted
	 * in scans, not bytes */
	if (++k->nscans - k->dropped_at >= TLI_GL_WINDOW_STEPS) {
		k->dropped_at = k->nscans;
		tli_gl_reach_drop(k);
	}
}

void tli_gl_reach_drop(struct tli_gl_reach *k)
{
	for (size_t i = 0; i < k->nreg; i++)
		if (k->reg[i].buf)
			tli_target_mapped_drop(k->t, k->reg[i].buf, k->reg[i].end - k->reg[i].start);
}

/* Scan [a, e) of target memory (8-aligned), in place from the heaps or the capture. */
void tli_gl_reach_scan(struct tli_gl_reach *k, uint64_t a, uint64_t e)
{
	a = (a + 7) & ~7ull;
	while (a < e) {
		const struct tli_gl_region *r = region_of(k, a);
		if (r && r->buf) {
			uint64_t ee = e < r->end ? e : r->end;
			scan_buf(k, r->buf + (a - r->start), ee - a);
			a = ee;
			continue;
		}
		static uint8_t buf[1 << 20];
		uint64_t n = e - a < sizeof(buf) ? e - a : sizeof(buf);
		const uint8_t *p = tli_target_captured_ptr(k->t, a, n);
		if (p) {
			scan_buf(k, p, n);
			a += n;
			continue;
		}
		if (tli_error_drop(tli_target_read(k->t, a, buf, n))) {
			/* skip to the next page */
			uint64_t next = (a | (TLI_GL_PAGESIZE - 1)) + 1;
			a = next > a ? next : e;
			continue;
		}
		scan_buf(k, buf, n);
		a += n;
	}
}

void tli_gl_reach_drain(struct tli_gl_reach *k)
{
	while (k->nwork) {
		const struct tli_gl_chunk *wc = &k->ch[k->work[--k->nwork]];
		tli_gl_reach_scan(k, tli_gl_chunk2mem(wc->addr), wc->addr + wc->size);
	}
}

static int cmp_region(const void *x, const void *y)
{
	const struct tli_gl_region *p = x, *q = y;
	return p->start < q->start ? -1 : p->start > q->start;
}

/* The region of heap segment g with its block table (false on ENOMEM; nothing walked: no region). */
static bool segment_region(struct tli_gl_reach *k, const struct tli_gl_seg *g)
{
	/* the segment's chunks: [c0, c1) of h->chunks */
	size_t lo = tli_lower_bound(k->nch, i, k->ch[i].addr < g->start);
	if (lo == k->nch || k->ch[lo].addr >= g->end)
		return true; /* nothing walked here */
	struct tli_gl_region *r = &k->reg[k->nreg++];
	*r = (struct tli_gl_region){ g->start, g->end, g->buf, NULL, 0 };
	size_t nb = (size_t)(((g->end - g->start) >> BLK_SHIFT) + 1);
	r->first = malloc(nb * sizeof(*r->first));
	if (!r->first)
		return false;
	size_t c = lo; /* a merge sweep: last chunk starting at or before each block */
	for (size_t b = 0; b < nb; b++) {
		uint64_t bs = g->start + ((uint64_t)b << BLK_SHIFT);
		while (c + 1 < k->nch && k->ch[c + 1].addr <= bs)
			c++;
		r->first[b] = (uint32_t)c;
	}
	return true;
}

/* Regions for the heap segments and mmapped chunks; false on ENOMEM. */
static bool build_regions(struct tli_gl_reach *k)
{
	struct tli_gl_heap *h = k->h;
	size_t nseg = 0, nmm = 0;
	for (size_t i = 0; i < h->narenas; i++)
		nseg += h->arenas[i].nsegs;
	for (size_t i = 0; i < k->nch; i++)
		nmm += k->ch[i].kind == GLK_MMAPPED;
	k->reg = calloc(nseg + nmm + 1, sizeof(*k->reg));
	if (!k->reg)
		return false;
	for (size_t i = 0; i < h->narenas; i++)
		for (size_t j = 0; j < h->arenas[i].nsegs; j++)
			if (h->arenas[i].segs[j].end > h->arenas[i].segs[j].start &&
			    !segment_region(k, &h->arenas[i].segs[j]))
				return false;
	for (size_t i = 0; i < k->nch; i++)
		if (k->ch[i].kind == GLK_MMAPPED)
			k->reg[k->nreg++] = (struct tli_gl_region){ k->ch[i].addr, k->ch[i].addr + k->ch[i].size,
								    NULL, NULL, i };
	qsort(k->reg, k->nreg, sizeof(*k->reg), cmp_region);
	/* overlapping regions (a corrupt heap): keep the first of each overlap */
	size_t w = 0;
	for (size_t i = 0; i < k->nreg; i++) {
		if (w && k->reg[i].start < k->reg[w - 1].end) {
			free(k->reg[i].first);
			continue;
		}
		k->reg[w++] = k->reg[i];
	}
	k->nreg = w;
	k->lo = w ? k->reg[0].start : 0;
	k->hi = w ? k->reg[w - 1].end : 0;
	return true;
}

struct tli_error *tli_gl_reach_init(struct tli_gl_reach *k, struct tli_target *t, struct tli_gl_heap *h)
{
	*k = (struct tli_gl_reach){ .t = t, .h = h, .ch = h->chunks, .nch = h->nchunks };
	for (size_t i = 0; i < h->nchunks; i++)
		k->ncounted += tli_gl_reach_counts(&h->chunks[i]);
	k->mark = tli_big_alloc_lazy(h->nchunks + 1);
	k->work = tli_big_alloc_lazy((k->ncounted + 1) * sizeof(uint32_t));
	if (!k->mark || !k->work || !build_regions(k))
		return &tli_enomem;
	return NULL;
}

void tli_gl_reach_free(struct tli_gl_reach *k)
{
	for (size_t i = 0; i < k->nreg; i++)
		free(k->reg[i].first);
	free(k->reg);
	tli_big_free(k->mark, k->nch + 1);
	tli_big_free(k->work, (k->ncounted + 1) * sizeof(uint32_t));
	k->reg = NULL;
	k->mark = NULL;
	k->work = NULL;
	k->nreg = 0;
}
