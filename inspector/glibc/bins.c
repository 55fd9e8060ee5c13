/* SPDX-License-Identifier: MIT */
/*
 * The free lists: each thread's tcache, each arena's fastbins and its bins
 * (unsorted, small, large), walked from their heads (malloc/malloc.c, glibc 2.36:
 * tcache_perthread_struct, fastbinsY, bins[] through bin_at). Every chunk met gets
 * a mark (walk.h); a chunk met twice ends that list with a problem.
 */
#include "walk.h"

#include <inttypes.h>
#include <stdlib.h>

#include "core/bytes.h"
#include "core/search.h"

static int cmp_mark(const void *a, const void *b)
{
	const struct mark *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* LSD radix sort of the marks by address (bytes that are equal everywhere are skipped). */
void tli_gl_marks_sort(struct walk *w)
{
	struct markset *s = &w->marks;
	w->sorted = true;
	if (s->n < 2)
		return;
	struct mark *tmp = malloc(s->n * sizeof(*tmp));
	if (!tmp) {
		qsort(s->v, s->n, sizeof(*s->v), cmp_mark);
		return;
	}
	uint64_t all_or = 0, all_and = ~0ull;
	for (size_t i = 0; i < s->n; i++) {
		all_or |= s->v[i].addr;
		all_and &= s->v[i].addr;
	}
	uint64_t differ = all_or ^ all_and;
	struct mark *src = s->v, *dst = tmp;
	for (unsigned shift = 0; shift < 64; shift += 8) {
		if (!((differ >> shift) & 0xff))
			continue;
		size_t cnt[256] = { 0 };
		for (size_t i = 0; i < s->n; i++)
			cnt[(src[i].addr >> shift) & 0xff]++;
		size_t sum = 0;
		for (int b = 0; b < 256; b++) {
			size_t c = cnt[b];
			cnt[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < s->n; i++)
			dst[cnt[(src[i].addr >> shift) & 0xff]++] = src[i];
		struct mark *x = src;
		src = dst;
		dst = x;
	}
	if (src != s->v)
		memcpy(s->v, src, s->n * sizeof(*src));
	free(tmp);
}

/* The mark at address p (marks sorted); p should not decrease between calls
 * (then this is a cursor step), else a binary search. */
struct mark *tli_gl_mark_at(struct walk *w, uint64_t p)
{
	const struct markset *m = &w->marks;
	if (!w->sorted || !m->n)
		return NULL;
	if (w->cur && w->cur <= m->n && m->v[w->cur - 1].addr > p) {
		size_t lo = tli_lower_bound(m->n, i, m->v[i].addr < p);
		return lo < m->n && m->v[lo].addr == p ? &m->v[lo] : NULL;
	}
	while (w->cur < m->n && m->v[w->cur].addr < p)
		w->cur++;
	return w->cur < m->n && m->v[w->cur].addr == p ? &m->v[w->cur] : NULL;
}

/*
 * Record chunk c (in segment sr, aligned) as met in a free list. NULL if it is
 * new; else the name of the list it was met in before (a cycle or a double free;
 * the walk of that list must stop).
 */
static const char *mark_put(struct walk *w, const struct segref *sr, uint64_t c, uint8_t kind,
			    uint16_t arena, uint32_t aux)
{
	struct segref *g = &w->segs[sr - w->segs];
	uint64_t slot = (c - g->start) / TLI_GL_MALLOC_ALIGNMENT;
	if (!g->bits) {
		g->bits = calloc(((g->end - g->start) / TLI_GL_MALLOC_ALIGNMENT + 64) / 64, sizeof(uint64_t));
		if (!g->bits)
			return "some (out of memory)";
	}
	uint64_t bit = 1ull << (slot & 63);
	if (g->bits[slot >> 6] & bit) {
		/* the earlier list, for the report (reports are bounded, so is this search) */
		if ((int)json_array_size(w->h->problems) < w->h->max_problems)
			for (size_t i = 0; i < w->marks.n; i++)
				if (w->marks.v[i].addr == c)
					return tli_gl_kind_names[w->marks.v[i].kind];
		return "a free";
	}
	if (!tli_vec_push(&w->marks, ((struct mark){ c, kind, arena, aux })))
		return "some (out of memory)";
	/* a list step reads the heap somewhere else: a core read in place keeps about a
	 * window of TLI_GL_WINDOW resident, not the whole heap */
	if (!(w->marks.n % TLI_GL_WINDOW_STEPS))
		tli_gl_drop_in_place(w);
	g->bits[slot >> 6] |= bit;
	return NULL;
}

/* One vote: does the link word `raw` stored at pos look masked (PROTECT_PTR) or plain? */
static void vote_link(const struct walk *w, uint64_t pos, uint64_t raw, int *masked, int *plain)
{
	uint64_t dm = tli_gl_reveal_ptr(pos, raw);
	bool m_ok = dm == 0 || (!tli_gl_misaligned(dm) && tli_gl_seg_of(w, dm));
	bool p_ok = raw == 0 || (!tli_gl_misaligned(raw) && tli_gl_seg_of(w, raw));
	*masked += m_ok && !p_ok;
	*plain += p_ok && !m_ok;
}

int tli_gl_detect_safe_linking(struct walk *w)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	int masked = 0, plain = 0;
	/* (pos, raw) pairs: tcache heads' next, fastbin heads' fd */
	for (size_t i = 0; i < h->ntc; i++) {
		const struct tli_gl_tcache *tc = &h->tc[i];
		if (!tc->ptr)
			continue;
		for (uint32_t b = 0; b < L->tc_nbins; b++) {
			uint64_t e = 0, raw = 0;
			if (!tli_gl_rd64(w, tc->ptr + L->tc_entries + 8ull * b, &e) || !e ||
			    !tli_gl_rd64(w, e + L->te_next, &raw))
				continue;
			vote_link(w, e + L->te_next, raw, &masked, &plain);
		}
	}
	for (size_t ai = 0; ai < h->narenas; ai++) {
		for (uint32_t b = 0; b < L->nfastbins && b < TLI_GL_MAX_FASTBINS; b++) {
			uint64_t p = h->arenas[ai].fast_head[b], raw = 0;
			if (!p || !tli_gl_rd64(w, p + L->mc_fd, &raw))
				continue;
			vote_link(w, p + L->mc_fd, raw, &masked, &plain);
		}
	}
	return masked > plain ? 1 : 0;
}

/* The next pointer stored at pos, revealed when safe-linking is on. */
static uint64_t reveal(const struct walk *w, uint64_t pos, uint64_t v)
{
	return w->h->safe_linking ? tli_gl_reveal_ptr(pos, v) : v;
}

/* The entries of tcache bin b, from its head e; the count says how many to expect. */
static void walk_tcache_bin(struct walk *w, struct tli_gl_tcache *tc, uint32_t b, uint64_t e)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	uint64_t limit = (uint64_t)tc->counts[b] + 1;
	if (limit < h->tcache_count + 1)
		limit = h->tcache_count + 1;
	if (limit > 65536)
		limit = 65536;
	uint64_t want = tli_gl_tidx2csize(b);
	for (uint64_t n = 0; e; n++) {
		if (n >= limit) {
			tli_gl_problem(h, e, -1, "thread %d: tcache bin %u longer than %" PRIu64 " (count %u): cycle?",
				       tc->tid, b, limit, tc->counts[b]);
			break;
		}
		uint64_t c = tli_gl_mem2chunk(e); /* entries are user pointers */
		const struct segref *sr = tli_gl_seg_of(w, c);
		if (tli_gl_misaligned(e) || !sr) {
			tli_gl_problem(h, e, -1, "thread %d: tcache bin %u entry 0x%" PRIx64 " is %s", tc->tid, b, e,
				       tli_gl_misaligned(e) ? "misaligned" : "not in any heap");
			break;
		}
		uint64_t size = 0, raw = 0;
		tli_gl_rd64(w, c + L->mc_size, &size);
		if (tli_gl_chunksize(size) != want)
			tli_gl_problem(h, c, (long)sr->arena, "thread %d: tcache bin %u chunk 0x%" PRIx64
				       " has size 0x%" PRIx64 ", expected 0x%" PRIx64, tc->tid, b, c,
				       tli_gl_chunksize(size), want);
		const char *seen = mark_put(w, sr, c, GLK_TCACHE, (uint16_t)sr->arena, b);
		if (seen) {
			tli_gl_problem(h, c, (long)sr->arena, "thread %d: tcache bin %u: chunk 0x%" PRIx64
				       " already seen in %s list (cycle or double free)", tc->tid, b, c, seen);
			break;
		}
		tc->found[b]++;
		tc->bytes[b] += tli_gl_chunksize(size);
		if (!tli_gl_rd64(w, e + L->te_next, &raw))
			break;
		e = reveal(w, e + L->te_next, raw);
	}
	if (tc->found[b] != tc->counts[b])
		tli_gl_problem(h, tc->ptr, -1, "thread %d: tcache bin %u has count %u but %" PRIu64 " entries",
			       tc->tid, b, tc->counts[b], tc->found[b]);
}

void tli_gl_walk_tcache(struct walk *w, struct tli_gl_tcache *tc)
{
	const struct tli_gl_layout *L = w->L;
	uint8_t buf[TLI_GL_MAX_TCACHE_SIZE];
	if (!tc->ptr)
		return;
	if (L->tc_size > sizeof(buf) || !tli_gl_rd(w, tc->ptr, buf, L->tc_size)) {
		tli_gl_problem(w->h, tc->ptr, -1, "thread %d: tcache struct at 0x%" PRIx64 " is unreadable", tc->tid,
			       tc->ptr);
		return;
	}
	tc->ok = true;
	for (uint32_t b = 0; b < L->tc_nbins && b < TLI_GL_MAX_TCACHE_BINS; b++) {
		tc->counts[b] = (uint32_t)tli_rdn(buf + L->tc_counts + (uint64_t)b * L->tc_count_width,
						  L->tc_count_width);
		walk_tcache_bin(w, tc, b, tli_rd64(buf + L->tc_entries + 8ull * b));
	}
}

void tli_gl_walk_fastbins(struct walk *w, size_t ai)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	struct tli_gl_arena *ar = &h->arenas[ai];
	for (uint32_t b = 0; b < L->nfastbins && b < TLI_GL_MAX_FASTBINS; b++) {
		uint64_t p = ar->fast_head[b];
		uint64_t want = tli_gl_fastbin_csize(b);
		for (uint64_t n = 0; p; n++) {
			const struct segref *sr = tli_gl_seg_of(w, p);
			if (tli_gl_misaligned(p) || !sr) {
				tli_gl_problem(h, p, (long)ai, "fastbin %u: chunk 0x%" PRIx64 " is %s", b, p,
					       tli_gl_misaligned(p) ? "misaligned" : "not in any heap");
				break;
			}
			if (sr->arena != ai)
				tli_gl_problem(h, p, (long)ai, "fastbin %u: chunk 0x%" PRIx64 " is in a heap of arena %zu",
					       b, p, sr->arena);
			uint64_t size = 0, raw = 0;
			tli_gl_rd64(w, p + L->mc_size, &size);
			if (tli_gl_chunksize(size) != want)
				tli_gl_problem(h, p, (long)ai, "fastbin %u: chunk 0x%" PRIx64 " has size 0x%" PRIx64
					       ", expected 0x%" PRIx64, b, p, tli_gl_chunksize(size), want);
			const char *seen = mark_put(w, sr, p, GLK_FAST, (uint16_t)ai, b);
			if (seen) {
				tli_gl_problem(h, p, (long)ai, "fastbin %u: chunk 0x%" PRIx64 " already seen in %s list "
					       "(cycle or double free)", b, p, seen);
				break;
			}
			ar->fast[b].count++;
			ar->fast[b].bytes += tli_gl_chunksize(size);
			if (!tli_gl_rd64(w, p + L->mc_fd, &raw))
				break;
			p = reveal(w, p + L->mc_fd, raw);
		}
	}
}

/* bin_at (m, i): the fake chunk whose fd/bk are bins[2(i-1)], bins[2(i-1)+1]. */
static uint64_t bin_at(const struct tli_gl_layout *L, uint64_t arena, uint32_t i)
{
	return arena + L->ms_bins + 2 * sizeof(uint64_t) * (i - 1) - L->mc_fd;
}

/* Bin b of arena ai, doubly linked through fd/bk from its header. */
static void walk_bin(struct walk *w, size_t ai, uint32_t b)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	struct tli_gl_arena *ar = &h->arenas[ai];
	uint64_t hdr = bin_at(L, ar->addr, b);
	uint64_t p = 0, prev = hdr;
	if (!tli_gl_rd64(w, hdr + L->mc_fd, &p))
		return;
	uint8_t kind = b == 1 ? GLK_UNSORTED : b < L->nbins / 2 ? GLK_SMALL : GLK_LARGE;
	struct tli_gl_binstat *st = &ar->bins[b];
	while (p != hdr) {
		const struct segref *sr = tli_gl_seg_of(w, p);
		if (tli_gl_misaligned(p) || !sr) {
			tli_gl_problem(h, p, (long)ai, "bin %u: chunk 0x%" PRIx64 " (fd of 0x%" PRIx64 ") is %s", b, p,
				       prev, tli_gl_misaligned(p) ? "misaligned" : "not in any heap");
			break;
		}
		uint64_t size = 0, fd = 0, bk = 0;
		tli_gl_rd64(w, p + L->mc_size, &size);
		tli_gl_rd64(w, p + L->mc_fd, &fd);
		tli_gl_rd64(w, p + L->mc_bk, &bk);
		if (bk != prev)
			tli_gl_problem(h, p, (long)ai, "bin %u: chunk 0x%" PRIx64 ": bk 0x%" PRIx64
				       " does not point back to 0x%" PRIx64, b, p, bk, prev);
		const char *seen = mark_put(w, sr, p, kind, (uint16_t)ai, b);
		if (seen) {
			tli_gl_problem(h, p, (long)ai, "bin %u: chunk 0x%" PRIx64 " already seen in %s list "
				       "(cycle or double free)", b, p, seen);
			break;
		}
		st->count++;
		st->bytes += tli_gl_chunksize(size);
		st->raw_bytes += size;
		if (!st->raw_min || size < st->raw_min)
			st->raw_min = size;
		if (size > st->raw_max)
			st->raw_max = size;
		prev = p;
		p = fd;
	}
}

void tli_gl_walk_bins(struct walk *w, size_t ai)
{
	for (uint32_t b = 1; b < w->L->nbins && b < TLI_GL_MAX_BINS; b++)
		walk_bin(w, ai, b);
}
