/* SPDX-License-Identifier: MIT */
/*
 * The malloc walker: capture (target stopped) and walk (from the capture).
 *
 * Every list walk is bounded and cycle-detected (a chunk met twice in the
 * free lists is a cycle or a double free), every pointer is checked to lie in
 * a heap segment before it is followed, and every inconsistency is recorded
 * as a "problem" {address, arena, what}; the walk goes on where it safely can.
 */
#include "malloc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_ARENAS 4096
#define MAX_HEAPS_PER_ARENA 65536
#define MAX_MMAP_STEPS 1000000

const char *const tli_gl_kind_names[GLK__N] = {
	"in_use", "tcache", "fastbin", "unsorted", "small", "large", "top", "fencepost", "mmapped",
	"free_unbinned",
};

/* ------------------------------------------------------------------ */
/* small helpers                                                        */

static uint64_t align_up16(uint64_t v) { return (v + 15) & ~(uint64_t)15; }

static uint64_t heap_max(const struct tli_gl_layout *L, uint64_t hp_pagesize)
{
	if (L->has_hp_pagesize && hp_pagesize && hp_pagesize < (1ull << 40))
		return 4 * hp_pagesize; /* glibc >= 2.35 with glibc.malloc.hugetlb=<size> */
	return L->heap_max;
}

static uint64_t le(const uint8_t *p, unsigned w)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < w && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* ---- chunk-address hash (free-list membership) ---- */
struct mark { uint64_t addr; uint8_t kind; uint16_t arena; uint32_t aux; };
struct markset { struct mark *v; size_t cap, n; };

static size_t mhash(uint64_t a, size_t cap)
{
	/* high bits of the product: its low bits depend only on a's low bits */
	return (size_t)(((a >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - __builtin_ctzll(cap))) & (cap - 1);
}

static bool ms_grow(struct markset *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 1024;
	struct mark *nv = calloc(ncap, sizeof(*nv));
	if (!nv)
		return false;
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->v[i].addr)
			continue;
		size_t j = mhash(s->v[i].addr, ncap);
		while (nv[j].addr)
			j = (j + 1) & (ncap - 1);
		nv[j] = s->v[i];
	}
	free(s->v);
	s->v = nv;
	s->cap = ncap;
	return true;
}

static struct mark *ms_get(const struct markset *s, uint64_t a)
{
	if (!s->cap || !a)
		return NULL;
	size_t j = mhash(a, s->cap);
	while (s->v[j].addr) {
		if (s->v[j].addr == a)
			return &s->v[j];
		j = (j + 1) & (s->cap - 1);
	}
	return NULL;
}

/* Insert; returns the existing mark if a is already present (cycle/duplicate). */
static struct mark *ms_put(struct markset *s, uint64_t a, uint8_t kind, uint16_t arena, uint32_t aux,
			   bool *added)
{
	*added = false;
	struct mark *m = ms_get(s, a);
	if (m)
		return m;
	if ((s->n + 1) * 2 > s->cap && !ms_grow(s))
		return NULL;
	size_t j = mhash(a, s->cap);
	while (s->v[j].addr)
		j = (j + 1) & (s->cap - 1);
	s->v[j] = (struct mark){ a, kind, arena, aux };
	s->n++;
	*added = true;
	return &s->v[j];
}

/* ------------------------------------------------------------------ */
/* walk context                                                         */

struct segref { size_t arena, seg; uint64_t start, end; };

struct walk {
	struct tli_target *t;
	const struct tli_gl_layout *L;
	struct tli_gl_heap *h;
	struct segref *segs; /* sorted by start */
	size_t nsegs;
	struct markset marks;
	struct mark **sorted; /* the marks by address, for the in-order heap walk */
	size_t nsorted, cur;
};

static int cmp_markp(const void *a, const void *b)
{
	const struct mark *x = *(const struct mark *const *)a, *y = *(const struct mark *const *)b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The mark at address p; p must not decrease between calls (else: hash lookup). */
static struct mark *mark_at(struct walk *w, uint64_t p)
{
	if (!w->sorted)
		return ms_get(&w->marks, p);
	if (w->cur && w->cur <= w->nsorted && w->sorted[w->cur - 1]->addr > p)
		return ms_get(&w->marks, p);
	while (w->cur < w->nsorted && w->sorted[w->cur]->addr < p)
		w->cur++;
	return w->cur < w->nsorted && w->sorted[w->cur]->addr == p ? w->sorted[w->cur] : NULL;
}

/* Heap copies: big, written once: ask for transparent huge pages (fewer faults). */
static uint8_t *seg_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	if (n >= (2u << 20))
		madvise(p, n, MADV_HUGEPAGE);
#endif
	return p;
}

static void problem(struct tli_gl_heap *h, uint64_t addr, long arena, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void problem(struct tli_gl_heap *h, uint64_t addr, long arena, const char *fmt, ...)
{
	h->nproblems++;
	if ((int)json_array_size(h->problems) >= h->max_problems)
		return;
	char msg[512], a[32];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(a, sizeof(a), "0x%" PRIx64, addr);
	json_t *o = json_object();
	json_object_set_new(o, "address", json_string(a));
	json_object_set_new(o, "arena", arena >= 0 ? json_integer(arena) : json_null());
	json_object_set_new(o, "what", json_string(msg));
	json_array_append_new(h->problems, o);
}

static const struct segref *seg_of(const struct walk *w, uint64_t addr)
{
	size_t lo = 0, hi = w->nsegs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (w->segs[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct segref *s = &w->segs[lo - 1];
	return addr < s->end ? s : NULL;
}

/* Read len bytes from a heap segment copy, else from the target (capture). */
static bool rd(const struct walk *w, uint64_t addr, void *buf, size_t len)
{
	const struct segref *s = seg_of(w, addr);
	if (s && addr + len <= s->end) {
		const struct tli_gl_seg *g = &w->h->arenas[s->arena].segs[s->seg];
		if (g->buf) {
			memcpy(buf, g->buf + (addr - g->start), len);
			return true;
		}
	}
	struct tli_error *e = tli_target_read(w->t, addr, buf, len);
	if (e) {
		tli_error_destroy(e);
		return false;
	}
	return true;
}

static bool rd64(const struct walk *w, uint64_t addr, uint64_t *v) { return rd(w, addr, v, 8); }

/* ------------------------------------------------------------------ */
/* capture                                                              */

/* Capture one range; true if it is (now) fully captured. */
static bool cap1(struct tli_target *t, uint64_t addr, uint64_t len)
{
	struct tli_range r = { addr, len };
	size_t nfailed = 0;
	struct tli_error *e = tli_target_capture(t, &r, 1, 0, &nfailed);
	bool ok = !e && !nfailed;
	tli_error_destroy(e);
	return ok;
}

static bool tread64(struct tli_target *t, uint64_t addr, uint64_t *v)
{
	struct tli_error *e = tli_target_read_u64(t, addr, v);
	if (e) {
		tli_error_destroy(e);
		return false;
	}
	return true;
}

struct ranges { struct tli_range *v; size_t n, cap; };
static bool rg_add(struct ranges *r, uint64_t a, uint64_t len)
{
	if (!len)
		return true;
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 64;
		void *nv = realloc(r->v, nc * sizeof(*r->v));
		if (!nv)
			return false;
		r->v = nv;
		r->cap = nc;
	}
	r->v[r->n++] = (struct tli_range){ a, len };
	return true;
}

struct tli_error *tli_gl_capture(struct tli_target *t, const struct tli_gl_layout *L,
				 const struct tli_gl_thread *th, size_t nth,
				 const struct tli_range *extra, size_t nextra)
{
	struct tli_error *err;
	struct ranges r = { 0 };
	/* 1. the fixed objects and the TLS slots */
	rg_add(&r, L->main_arena, L->ms_size);
	rg_add(&r, L->mp, L->mp_size);
	for (size_t i = 0; i < nth; i++)
		if (th[i].tcache_slot)
			rg_add(&r, th[i].tcache_slot, 8);
	err = tli_target_capture(t, r.v, r.n, 0, NULL);
	if (err)
		goto out;
	r.n = 0;
	uint64_t hp = 0, sbrk = 0;
	if (L->has_hp_pagesize)
		tread64(t, L->mp + L->mp_hp_pagesize, &hp);
	tread64(t, L->mp + L->mp_sbrk_base, &sbrk);
	uint64_t hmax = heap_max(L, hp);
	/* 2. the arena list (each arena is in the previous capture's next) */
	uint64_t a = L->main_arena;
	for (int n = 0; n < MAX_ARENAS; n++) {
		uint64_t top = 0, next = 0;
		if (!tread64(t, a + L->ms_top, &top) || !tread64(t, a + L->ms_next, &next))
			break;
		/* top header, then the arena's heaps */
		if (top && cap1(t, top, 16)) {
			uint64_t tsz = 0;
			tread64(t, top + L->mc_size, &tsz);
			tsz &= ~(uint64_t)TLI_GL_FLAGS;
			if (a == L->main_arena) {
				if (sbrk && top >= sbrk && top + tsz > top && top + tsz - sbrk < (1ull << 44))
					rg_add(&r, sbrk, top + tsz - sbrk);
			} else {
				uint64_t hi = top & ~(hmax - 1);
				for (int k = 0; hi && k < MAX_HEAPS_PER_ARENA; k++) {
					uint64_t prev = 0, hsize = 0;
					if (!cap1(t, hi, L->hi_size))
						break;
					if (!tread64(t, hi + L->hi_prev, &prev) ||
					    !tread64(t, hi + L->hi_hsize, &hsize))
						break;
					if (hsize > hmax)
						hsize = hmax;
					rg_add(&r, hi, hsize);
					if (prev == hi)
						break;
					hi = prev;
				}
				/* the arena's own first heap, in case top is bad */
				rg_add(&r, a & ~(hmax - 1), L->hi_size + L->ms_size + 64);
			}
		}
		if (!next || next == L->main_arena || next & 7)
			break;
		if (!cap1(t, next, L->ms_size))
			break;
		a = next;
	}
	/* 3. tcache structs */
	for (size_t i = 0; i < nth; i++) {
		uint64_t p = 0;
		if (th[i].tcache_slot && tread64(t, th[i].tcache_slot, &p) && p && L->has_tcache)
			rg_add(&r, p - 16, L->tc_size + 16);
	}
	for (size_t i = 0; i < nextra; i++)
		rg_add(&r, extra[i].addr, extra[i].len);
	err = tli_target_capture(t, r.v, r.n, 0, NULL);
	if (err)
		goto out;
	/* 4. mmapped chunk headers: anonymous rw mappings, stepping by chunk size */
	size_t steps = 0;
	for (size_t m = 0; m < t->nmaps && steps < MAX_MMAP_STEPS; m++) {
		const struct tli_mapping *mp = &t->maps[m];
		if ((mp->prot & (TLI_PROT_R | TLI_PROT_W)) != (TLI_PROT_R | TLI_PROT_W))
			continue;
		if (mp->path && mp->path[0] && strncmp(mp->path, "[anon", 5))
			continue;
		uint64_t q = mp->start;
		while (q + 16 <= mp->end && steps++ < MAX_MMAP_STEPS) {
			uint64_t hdr[2];
			if (!tli_target_captured(t, q, 16) && !cap1(t, q, 16))
				break;
			if (!tread64(t, q, &hdr[0]) || !tread64(t, q + 8, &hdr[1]))
				break;
			uint64_t sz = hdr[1] & ~(uint64_t)TLI_GL_FLAGS;
			if ((hdr[1] & TLI_GL_FLAGS) != TLI_GL_IS_MMAPPED || !sz || (hdr[0] + sz) & 4095 ||
			    q + sz > mp->end || q + sz < q)
				break;
			q += sz;
		}
	}
out:
	free(r.v);
	return err;
}

/* ------------------------------------------------------------------ */
/* walk                                                                 */

static int cmp_segref(const void *a, const void *b)
{
	const struct segref *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static bool add_seg(struct walk *w, size_t ai, uint64_t start, uint64_t end, uint64_t hinfo,
		    uint64_t hsize, uint64_t mprot)
{
	struct tli_gl_arena *ar = &w->h->arenas[ai];
	if (end <= start || !tli_target_plausible(w->t, start, end - start)) {
		problem(w->h, start, (long)ai, "heap 0x%" PRIx64 "-0x%" PRIx64 " of arena 0x%" PRIx64
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

static bool push_chunk(struct tli_gl_heap *h, uint64_t addr, uint64_t size, uint8_t kind, uint8_t flags,
		       uint16_t arena, uint32_t aux)
{
	if (h->nchunks == h->chunks_cap) {
		size_t nc = h->chunks_cap ? h->chunks_cap * 2 : 4096;
		void *nv = realloc(h->chunks, nc * sizeof(*h->chunks));
		if (!nv)
			return false;
		h->chunks = nv;
		h->chunks_cap = nc;
	}
	h->chunks[h->nchunks++] = (struct tli_gl_chunk){ addr, size, kind, flags, arena, aux };
	return true;
}

/* Find the arena's heap segments. */
static void arena_segments(struct walk *w, size_t ai, uint64_t sbrk_base, uint64_t hmax)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	struct tli_gl_arena *ar = &h->arenas[ai];
	if (ar->addr == L->main_arena) {
		if (!ar->top || ar->top == ar->addr + L->ms_top) /* no heap yet */
			return;
		uint64_t start = align_up16(sbrk_base);
		uint64_t end = ar->top + ar->top_size;
		if (!sbrk_base || ar->top < start || end < ar->top || end - start > ar->system_mem + 4096 ||
		    !tli_target_plausible(w->t, start, 16)) {
			problem(h, ar->top, (long)ai,
				"main arena: top 0x%" PRIx64 " (size 0x%" PRIx64 ") is not inside the sbrk heap "
				"[0x%" PRIx64 ", +system_mem 0x%" PRIx64 "); walking sbrk_base..+system_mem",
				ar->top, ar->top_size, sbrk_base, ar->system_mem);
			if (!sbrk_base || !ar->system_mem || ar->system_mem > (1ull << 44))
				return;
			end = sbrk_base + ar->system_mem;
		}
		add_seg(w, ai, start, end, 0, end - start, end - start);
		return;
	}
	/* thread arena: heap_info chain from the heap that holds top */
	uint64_t first = ar->addr & ~(hmax - 1);
	uint64_t hs[64];
	uint64_t hsz[64], hmp[64];
	size_t n = 0;
	uint64_t hi = ar->top & ~(hmax - 1), ar_ptr = 0;
	bool top_ok = ar->top && rd64(w, hi + L->hi_ar_ptr, &ar_ptr) && ar_ptr == ar->addr;
	if (!top_ok) {
		problem(h, ar->top, (long)ai,
			"arena 0x%" PRIx64 ": top 0x%" PRIx64 " is not in one of its heaps (heap_info at 0x%" PRIx64
			" has ar_ptr 0x%" PRIx64 "); walking only the arena's first heap",
			ar->addr, ar->top, hi, ar_ptr);
		hi = first;
	}
	/* newest to oldest; more than 64 heaps: keep the newest 64 and say so */
	uint64_t total_heaps = 0;
	for (int k = 0; hi && k < MAX_HEAPS_PER_ARENA; k++) {
		uint64_t prev = 0, size = 0, mprot = 0, ap = 0;
		if (!rd64(w, hi + L->hi_ar_ptr, &ap) || !rd64(w, hi + L->hi_prev, &prev) ||
		    !rd64(w, hi + L->hi_hsize, &size) || !rd64(w, hi + L->hi_mprotect_size, &mprot)) {
			problem(h, hi, (long)ai, "heap_info at 0x%" PRIx64 " is unreadable", hi);
			break;
		}
		if (ap != ar->addr) {
			problem(h, hi, (long)ai, "heap_info at 0x%" PRIx64 ": ar_ptr 0x%" PRIx64
				" is not its arena 0x%" PRIx64, hi, ap, ar->addr);
			break;
		}
		if (size > hmax || size < L->hi_size) {
			problem(h, hi, (long)ai, "heap_info at 0x%" PRIx64 ": size 0x%" PRIx64 " out of range",
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
		problem(h, ar->addr, (long)ai, "arena has %" PRIu64 " heaps; only the newest %zu are walked",
			total_heaps, n);
	for (size_t k = n; k-- > 0;) {
		uint64_t start = hs[k] == first ? align_up16(ar->addr + L->ms_size) : align_up16(hs[k] + L->hi_size);
		add_seg(w, ai, start, hs[k] + hsz[k], hs[k], hsz[k], hmp[k]);
	}
}

static int detect_safe_linking(struct walk *w)
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
			if (!rd64(w, tc->ptr + L->tc_entries + 8ull * b, &e) || !e || !rd64(w, e + L->te_next, &raw))
				continue;
			uint64_t pos = e + L->te_next, dm = raw ^ (pos >> 12);
			bool m_ok = dm == 0 || (!(dm & 15) && seg_of(w, dm));
			bool p_ok = raw == 0 || (!(raw & 15) && seg_of(w, raw));
			masked += m_ok && !p_ok;
			plain += p_ok && !m_ok;
		}
	}
	for (size_t ai = 0; ai < h->narenas; ai++) {
		for (uint32_t b = 0; b < L->nfastbins && b < 16; b++) {
			uint64_t p = h->arenas[ai].fast_head[b], raw = 0;
			if (!p || !rd64(w, p + L->mc_fd, &raw))
				continue;
			uint64_t pos = p + L->mc_fd, dm = raw ^ (pos >> 12);
			bool m_ok = dm == 0 || (!(dm & 15) && seg_of(w, dm));
			bool p_ok = raw == 0 || (!(raw & 15) && seg_of(w, raw));
			masked += m_ok && !p_ok;
			plain += p_ok && !m_ok;
		}
	}
	return masked > plain ? 1 : 0;
}

static uint64_t reveal(const struct walk *w, uint64_t pos, uint64_t v)
{
	return w->h->safe_linking ? v ^ (pos >> 12) : v;
}

static void walk_tcache(struct walk *w, struct tli_gl_tcache *tc, size_t ti)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	uint8_t buf[4096];
	if (!tc->ptr)
		return;
	if (L->tc_size > sizeof(buf) || !rd(w, tc->ptr, buf, L->tc_size)) {
		problem(h, tc->ptr, -1, "thread %d: tcache struct at 0x%" PRIx64 " is unreadable", tc->tid, tc->ptr);
		return;
	}
	tc->ok = true;
	for (uint32_t b = 0; b < L->tc_nbins && b < 128; b++) {
		tc->counts[b] = (uint32_t)le(buf + L->tc_counts + (uint64_t)b * L->tc_count_width, L->tc_count_width);
		uint64_t e = le(buf + L->tc_entries + 8ull * b, 8);
		uint64_t limit = (uint64_t)tc->counts[b] + 1;
		if (limit < h->tcache_count + 1)
			limit = h->tcache_count + 1;
		if (limit > 65536)
			limit = 65536;
		uint64_t want = 16ull * b + 0x20; /* chunk size of tcache bin b (tidx2usize) */
		for (uint64_t n = 0; e; n++) {
			if (n >= limit) {
				problem(h, e, -1, "thread %d: tcache bin %u longer than %" PRIu64 " (count %u): cycle?",
					tc->tid, b, limit, tc->counts[b]);
				break;
			}
			uint64_t c = e - 16;
			const struct segref *sr = seg_of(w, c);
			if ((e & 15) || !sr) {
				problem(h, e, -1, "thread %d: tcache bin %u entry 0x%" PRIx64 " is %s", tc->tid, b, e,
					(e & 15) ? "misaligned" : "not in any heap");
				break;
			}
			uint64_t size = 0, raw = 0;
			rd64(w, c + L->mc_size, &size);
			if ((size & ~(uint64_t)TLI_GL_FLAGS) != want)
				problem(h, c, (long)sr->arena, "thread %d: tcache bin %u chunk 0x%" PRIx64
					" has size 0x%" PRIx64 ", expected 0x%" PRIx64, tc->tid, b, c,
					size & ~(uint64_t)TLI_GL_FLAGS, want);
			bool added;
			struct mark *m = ms_put(&w->marks, c, GLK_TCACHE, (uint16_t)sr->arena, b, &added);
			if (m && !added) {
				problem(h, c, (long)sr->arena, "thread %d: tcache bin %u: chunk 0x%" PRIx64
					" already seen in %s list (cycle or double free)", tc->tid, b, c,
					tli_gl_kind_names[m->kind]);
				break;
			}
			tc->found[b]++;
			tc->bytes[b] += size & ~(uint64_t)TLI_GL_FLAGS;
			if (!rd64(w, e + L->te_next, &raw))
				break;
			e = reveal(w, e + L->te_next, raw);
		}
		if (tc->found[b] != tc->counts[b])
			problem(h, tc->ptr, -1, "thread %d: tcache bin %u has count %u but %" PRIu64 " entries",
				tc->tid, b, tc->counts[b], tc->found[b]);
	}
	(void)ti;
}

static void walk_fastbins(struct walk *w, size_t ai)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	struct tli_gl_arena *ar = &h->arenas[ai];
	for (uint32_t b = 0; b < L->nfastbins && b < 16; b++) {
		uint64_t p = ar->fast_head[b];
		uint64_t want = 16ull * b + 0x20; /* fastbin_index(sz) = (sz >> 4) - 2 */
		for (uint64_t n = 0; p; n++) {
			const struct segref *sr = seg_of(w, p);
			if ((p & 15) || !sr) {
				problem(h, p, (long)ai, "fastbin %u: chunk 0x%" PRIx64 " is %s", b, p,
					(p & 15) ? "misaligned" : "not in any heap");
				break;
			}
			if (sr->arena != ai)
				problem(h, p, (long)ai, "fastbin %u: chunk 0x%" PRIx64 " is in a heap of arena %zu",
					b, p, sr->arena);
			uint64_t size = 0, raw = 0;
			rd64(w, p + L->mc_size, &size);
			if ((size & ~(uint64_t)TLI_GL_FLAGS) != want)
				problem(h, p, (long)ai, "fastbin %u: chunk 0x%" PRIx64 " has size 0x%" PRIx64
					", expected 0x%" PRIx64, b, p, size & ~(uint64_t)TLI_GL_FLAGS, want);
			bool added;
			struct mark *m = ms_put(&w->marks, p, GLK_FAST, (uint16_t)ai, b, &added);
			if (m && !added) {
				problem(h, p, (long)ai, "fastbin %u: chunk 0x%" PRIx64 " already seen in %s list "
					"(cycle or double free)", b, p, tli_gl_kind_names[m->kind]);
				break;
			}
			ar->fast[b].count++;
			ar->fast[b].bytes += size & ~(uint64_t)TLI_GL_FLAGS;
			if (!rd64(w, p + L->mc_fd, &raw))
				break;
			p = reveal(w, p + L->mc_fd, raw);
		}
	}
}

static void walk_bins(struct walk *w, size_t ai)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	struct tli_gl_arena *ar = &h->arenas[ai];
	uint32_t nsmall = L->nbins / 2;
	for (uint32_t b = 1; b < L->nbins && b < 256; b++) {
		uint64_t hdr = ar->addr + L->ms_bins + 16ull * (b - 1) - L->mc_fd; /* bin_at() */
		uint64_t p = 0, prev = hdr;
		if (!rd64(w, hdr + L->mc_fd, &p))
			continue;
		uint8_t kind = b == 1 ? GLK_UNSORTED : b < nsmall ? GLK_SMALL : GLK_LARGE;
		struct tli_gl_binstat *st = &ar->bins[b];
		while (p != hdr) {
			const struct segref *sr = seg_of(w, p);
			if ((p & 15) || !sr) {
				problem(h, p, (long)ai, "bin %u: chunk 0x%" PRIx64 " (fd of 0x%" PRIx64 ") is %s", b, p,
					prev, (p & 15) ? "misaligned" : "not in any heap");
				break;
			}
			uint64_t size = 0, fd = 0, bk = 0;
			rd64(w, p + L->mc_size, &size);
			rd64(w, p + L->mc_fd, &fd);
			rd64(w, p + L->mc_bk, &bk);
			if (bk != prev)
				problem(h, p, (long)ai, "bin %u: chunk 0x%" PRIx64 ": bk 0x%" PRIx64
					" does not point back to 0x%" PRIx64, b, p, bk, prev);
			bool added;
			struct mark *m = ms_put(&w->marks, p, kind, (uint16_t)ai, b, &added);
			if (m && !added) {
				problem(h, p, (long)ai, "bin %u: chunk 0x%" PRIx64 " already seen in %s list "
					"(cycle or double free)", b, p, tli_gl_kind_names[m->kind]);
				break;
			}
			uint64_t cs = size & ~(uint64_t)TLI_GL_FLAGS;
			st->count++;
			st->bytes += cs;
			st->raw_bytes += size;
			if (!st->raw_min || size < st->raw_min)
				st->raw_min = size;
			if (size > st->raw_max)
				st->raw_max = size;
			prev = p;
			p = fd;
		}
	}
}

/* Walk one segment chunk by chunk. */
static void walk_seg(struct walk *w, size_t ai, size_t si)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	struct tli_gl_arena *ar = &h->arenas[ai];
	struct tli_gl_seg *g = &ar->segs[si];
	if (!g->buf)
		return;
	bool is_main = ar->addr == L->main_arena;
	bool has_top = ar->top >= g->start && ar->top < g->end;
	uint64_t p = g->start, n = 0;
	const uint8_t *b = g->buf;
	while (p + 16 <= g->end) {
		uint64_t raw = le(b + (p - g->start) + L->mc_size, 8);
		uint64_t sz = raw & ~(uint64_t)TLI_GL_FLAGS;
		uint8_t fl = raw & TLI_GL_FLAGS;
		if (p == ar->top) {
			push_chunk(h, p, sz, GLK_TOP, fl, (uint16_t)ai, 0);
			g->walked += sz;
			ar->n_kind[GLK_TOP]++;
			ar->b_kind[GLK_TOP] += sz;
			if (p + sz != g->end)
				problem(h, p, (long)ai, "top chunk 0x%" PRIx64 " size 0x%" PRIx64 " ends at 0x%" PRIx64
					", heap ends at 0x%" PRIx64, p, sz, p + sz, g->end);
			return;
		}
		if (sz == 0 && !has_top)
			return; /* end marker of an old heap */
		if (sz == 16 && !has_top) {
			push_chunk(h, p, sz, GLK_FENCEPOST, fl, (uint16_t)ai, 0);
			g->walked += sz;
			ar->n_kind[GLK_FENCEPOST]++;
			ar->b_kind[GLK_FENCEPOST] += sz;
			p += 16;
			continue;
		}
		if (sz < 32 || (sz & 15) || p + sz > g->end || p + sz < p) {
			problem(h, p, (long)ai, "chunk 0x%" PRIx64 ": invalid size field 0x%" PRIx64
				" (heap segment 0x%" PRIx64 "-0x%" PRIx64 "); rest of this heap not walked",
				p, raw, g->start, g->end);
			return;
		}
		if (fl & TLI_GL_IS_MMAPPED)
			problem(h, p, (long)ai, "chunk 0x%" PRIx64 " in a heap has IS_MMAPPED set", p);
		if (is_main && (fl & TLI_GL_NON_MAIN))
			problem(h, p, (long)ai, "chunk 0x%" PRIx64 " in the main arena has NON_MAIN_ARENA set", p);
		bool next_p = true;
		uint64_t next_prev_size = 0;
		if (p + sz + 16 <= g->end) {
			next_p = le(b + (p + sz - g->start) + L->mc_size, 8) & TLI_GL_PREV_INUSE;
			next_prev_size = le(b + (p + sz - g->start) + L->mc_prev_size, 8);
		}
		uint8_t kind = next_p ? GLK_INUSE : GLK_FREE_UNBINNED;
		uint32_t aux = 0;
		struct mark *m = mark_at(w, p);
		if (m) {
			m->arena |= 0x8000; /* met by the walk */
			aux = m->aux;
			if (m->kind == GLK_TCACHE || m->kind == GLK_FAST) {
				if (!next_p)
					problem(h, p, (long)ai, "chunk 0x%" PRIx64 " is in a %s list but the next "
						"chunk's PREV_INUSE is clear", p, tli_gl_kind_names[m->kind]);
			} else if (next_p) {
				problem(h, p, (long)ai, "chunk 0x%" PRIx64 " is in %s bin %u but the next chunk's "
					"PREV_INUSE is set", p, tli_gl_kind_names[m->kind], m->aux);
			}
			kind = m->kind;
		} else if (!next_p) {
			problem(h, p, (long)ai, "chunk 0x%" PRIx64 " (size 0x%" PRIx64 ") is free (next chunk's "
				"PREV_INUSE clear) but in no bin", p, sz);
		}
		if (!next_p && next_prev_size != sz)
			problem(h, p, (long)ai, "free chunk 0x%" PRIx64 ": size 0x%" PRIx64 " but next chunk's "
				"prev_size 0x%" PRIx64, p, sz, next_prev_size);
		if (!push_chunk(h, p, sz, kind, fl, (uint16_t)ai, aux))
			return;
		ar->n_kind[kind]++;
		ar->b_kind[kind] += sz;
		g->walked += sz;
		p += sz;
		n++;
	}
	if (has_top)
		problem(h, p, (long)ai, "heap walk of 0x%" PRIx64 "-0x%" PRIx64 " did not reach top 0x%" PRIx64,
			g->start, g->end, ar->top);
}

static void find_mmapped(struct walk *w)
{
	struct tli_target *t = w->t;
	struct tli_gl_heap *h = w->h;
	size_t steps = 0;
	for (size_t m = 0; m < t->nmaps && steps < MAX_MMAP_STEPS; m++) {
		const struct tli_mapping *mp = &t->maps[m];
		if ((mp->prot & (TLI_PROT_R | TLI_PROT_W)) != (TLI_PROT_R | TLI_PROT_W))
			continue;
		if (mp->path && mp->path[0] && strncmp(mp->path, "[anon", 5))
			continue;
		uint64_t q = mp->start;
		while (q + 16 <= mp->end && steps++ < MAX_MMAP_STEPS) {
			if (seg_of(w, q))
				break;
			uint64_t ps = 0, raw = 0;
			if (!rd64(w, q, &ps) || !rd64(w, q + 8, &raw))
				break;
			uint64_t sz = raw & ~(uint64_t)TLI_GL_FLAGS;
			if ((raw & TLI_GL_FLAGS) != TLI_GL_IS_MMAPPED || !sz || (ps + sz) & 4095 || q + sz > mp->end ||
			    q + sz < q)
				break;
			push_chunk(h, q, sz, GLK_MMAPPED, TLI_GL_IS_MMAPPED, 0xffff, 0);
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

/* h->chunks[0, nheap) and [nheap, nchunks) are each meant to be sorted; merge them. */
static void merge_tail(struct tli_gl_heap *h, size_t nheap)
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

struct tli_error *tli_gl_walk(struct tli_target *t, const struct tli_gl_layout *L,
			      const struct tli_gl_thread *th, size_t nth, int max_problems,
			      struct tli_gl_heap **ret)
{
	struct tli_gl_heap *h = calloc(1, sizeof(*h));
	if (!h)
		return &tli_enomem;
	h->L = *L;
	h->problems = json_array();
	h->max_problems = max_problems > 0 ? max_problems : 100;
	struct walk w = { .t = t, .L = &h->L, .h = h };
	struct tli_error *err = NULL;
	uint8_t *abuf = malloc(L->ms_size);
	uint8_t mpb[512];
	if (!abuf)
		return tli_gl_heap_free(h), &tli_enomem;
	if (L->mp_size > sizeof(mpb) || (err = tli_target_read(t, L->mp, mpb, L->mp_size))) {
		err = tli_error_wrap(err ? err : tli_error_create(TLI_E_INTERNAL, "malloc_par too large"),
				     "reading mp_ at 0x%" PRIx64, L->mp);
		goto fail;
	}
	h->n_mmaps = (uint32_t)le(mpb + L->mp_n_mmaps, 4);
	h->max_n_mmaps = (uint32_t)le(mpb + L->mp_max_n_mmaps, 4);
	h->mmapped_mem = le(mpb + L->mp_mmapped_mem, 8);
	h->max_mmapped_mem = le(mpb + L->mp_max_mmapped_mem, 8);
	h->sbrk_base = le(mpb + L->mp_sbrk_base, 8);
	if (L->has_tcache_fields) {
		h->tcache_count = le(mpb + L->mp_tcache_count, 8);
		h->tcache_bins = le(mpb + L->mp_tcache_bins, 8);
	}
	if (L->has_hp_pagesize)
		h->hp_pagesize = le(mpb + L->mp_hp_pagesize, 8);
	uint64_t hmax = heap_max(L, h->hp_pagesize);

	/* arenas */
	uint64_t a = L->main_arena;
	for (;;) {
		if ((err = tli_target_read(t, a, abuf, L->ms_size))) {
			if (a == L->main_arena) {
				err = tli_error_wrap(err, "reading main_arena at 0x%" PRIx64, a);
				goto fail;
			}
			problem(h, a, -1, "arena 0x%" PRIx64 " (in the next list) is unreadable: %s", a, err->msg);
			tli_error_destroy(err);
			err = NULL;
			break;
		}
		void *nv = realloc(h->arenas, (h->narenas + 1) * sizeof(*h->arenas));
		if (!nv) {
			err = &tli_enomem;
			goto fail;
		}
		h->arenas = nv;
		struct tli_gl_arena *ar = &h->arenas[h->narenas++];
		memset(ar, 0, sizeof(*ar));
		ar->addr = a;
		ar->mutex = (uint32_t)le(abuf + L->ms_mutex, 4);
		ar->flags = (uint32_t)le(abuf + L->ms_flags, 4);
		ar->top = le(abuf + L->ms_top, 8);
		ar->last_remainder = le(abuf + L->ms_last_remainder, 8);
		ar->next = le(abuf + L->ms_next, 8);
		ar->attached = le(abuf + L->ms_attached, 8);
		ar->system_mem = le(abuf + L->ms_system_mem, 8);
		ar->max_system_mem = le(abuf + L->ms_max_system_mem, 8);
		for (uint32_t i = 0; i < L->nfastbins && i < 16; i++)
			ar->fast_head[i] = le(abuf + L->ms_fastbins + 8 * i, 8);
		if (ar->mutex)
			problem(h, a, (long)h->narenas - 1, "arena 0x%" PRIx64 " is locked (mutex %u): a thread was "
				"inside malloc; its state may be inconsistent", a, ar->mutex);
		uint64_t raw = 0;
		if (ar->top && !rd64(&w, ar->top + L->mc_size, &raw))
			problem(h, ar->top, (long)h->narenas - 1, "top chunk 0x%" PRIx64 " is unreadable", ar->top);
		ar->top_size = raw & ~(uint64_t)TLI_GL_FLAGS;
		uint64_t next = ar->next;
		if (next == L->main_arena)
			break;
		bool seen = false;
		for (size_t i = 0; i < h->narenas; i++)
			seen |= h->arenas[i].addr == next;
		if (!next || (next & 7) || seen || h->narenas >= MAX_ARENAS) {
			problem(h, a, (long)h->narenas - 1, "arena 0x%" PRIx64 ": next 0x%" PRIx64 " %s", a, next,
				seen ? "loops back to an arena other than main_arena" :
				h->narenas >= MAX_ARENAS ? "(too many arenas)" : "is not a valid arena pointer");
			break;
		}
		a = next;
	}
	/* segments */
	for (size_t i = 0; i < h->narenas; i++)
		arena_segments(&w, i, h->sbrk_base, hmax);
	size_t ns = 0;
	for (size_t i = 0; i < h->narenas; i++)
		ns += h->arenas[i].nsegs;
	w.segs = calloc(ns + 1, sizeof(*w.segs));
	if (!w.segs) {
		err = &tli_enomem;
		goto fail;
	}
	for (size_t i = 0; i < h->narenas; i++)
		for (size_t j = 0; j < h->arenas[i].nsegs; j++) {
			struct tli_gl_seg *g = &h->arenas[i].segs[j];
			w.segs[w.nsegs++] = (struct segref){ i, j, g->start, g->end };
		}
	qsort(w.segs, w.nsegs, sizeof(*w.segs), cmp_segref);
	for (size_t k = 1; k < w.nsegs; k++)
		if (w.segs[k].start < w.segs[k - 1].end) {
			problem(h, w.segs[k].start, (long)w.segs[k].arena,
				"heap 0x%" PRIx64 "-0x%" PRIx64 " overlaps heap 0x%" PRIx64 "-0x%" PRIx64 "; dropped",
				w.segs[k].start, w.segs[k].end, w.segs[k - 1].start, w.segs[k - 1].end);
			memmove(&w.segs[k], &w.segs[k + 1], (w.nsegs - k - 1) * sizeof(*w.segs));
			w.nsegs--;
			k--;
		}
	/* copy each segment out of the capture */
	for (size_t k = 0; k < w.nsegs; k++) {
		struct tli_gl_seg *g = &h->arenas[w.segs[k].arena].segs[w.segs[k].seg];
		g->buf = seg_alloc(g->end - g->start);
		if (!g->buf) {
			problem(h, g->start, (long)w.segs[k].arena, "heap 0x%" PRIx64 "-0x%" PRIx64
				": cannot allocate a copy (%" PRIu64 " bytes); not walked", g->start, g->end,
				g->end - g->start);
			continue;
		}
		struct tli_error *e = tli_target_read(t, g->start, g->buf, g->end - g->start);
		if (e) {
			problem(h, g->start, (long)w.segs[k].arena, "heap 0x%" PRIx64 "-0x%" PRIx64
				" is not readable: %s", g->start, g->end, e->msg);
			tli_error_destroy(e);
			munmap(g->buf, g->end - g->start);
			g->buf = NULL;
		}
	}
	/* tcache per thread */
	h->tc = calloc(nth + 1, sizeof(*h->tc));
	if (!h->tc) {
		err = &tli_enomem;
		goto fail;
	}
	for (size_t i = 0; i < nth; i++) {
		struct tli_gl_tcache *tc = &h->tc[h->ntc++];
		tc->tid = th[i].tid;
		tc->tp = th[i].tp;
		tc->slot = th[i].tcache_slot;
		if (tc->slot && L->has_tcache && !rd64(&w, tc->slot, &tc->ptr))
			problem(h, tc->slot, -1, "thread %d: tcache variable at 0x%" PRIx64 " is unreadable",
				tc->tid, tc->slot);
	}
	h->safe_linking = L->safe_linking >= 0 ? L->safe_linking : detect_safe_linking(&w);
	for (size_t i = 0; i < h->ntc; i++)
		walk_tcache(&w, &h->tc[i], i);
	for (size_t i = 0; i < h->narenas; i++) {
		walk_fastbins(&w, i);
		walk_bins(&w, i);
	}
	/* every chunk, in address order (free-list marks met in the same order) */
	if (w.marks.n && (w.sorted = malloc(w.marks.n * sizeof(*w.sorted)))) {
		for (size_t i = 0; i < w.marks.cap; i++)
			if (w.marks.v[i].addr)
				w.sorted[w.nsorted++] = &w.marks.v[i];
		qsort(w.sorted, w.nsorted, sizeof(*w.sorted), cmp_markp);
	}
	for (size_t k = 0; k < w.nsegs; k++)
		walk_seg(&w, w.segs[k].arena, w.segs[k].seg);
	for (size_t i = 0; i < h->narenas; i++) {
		struct tli_gl_arena *ar = &h->arenas[i];
		uint64_t walked = 0;
		for (size_t j = 0; j < ar->nsegs; j++)
			walked += ar->segs[j].walked;
		ar->overhead = ar->system_mem >= walked ? ar->system_mem - walked : 0;
		ar->walked_ok = ar->nsegs > 0;
	}
	/* free-list chunks the heap walk never met */
	for (size_t i = 0; i < w.marks.cap; i++) {
		struct mark *m = &w.marks.v[i];
		if (m->addr && !(m->arena & 0x8000))
			problem(h, m->addr, m->arena & 0x7fff, "chunk 0x%" PRIx64 " is in a %s list but the heap "
				"walk did not reach it", m->addr, tli_gl_kind_names[m->kind]);
	}
	size_t nheap = h->nchunks;
	find_mmapped(&w);
	/* mmapped chunks were appended after the heap chunks (in address order):
	 * merge the few of them in from the back */
	if (h->nchunks > nheap)
		merge_tail(h, nheap);
	free(w.sorted);
	free(w.segs);
	free(w.marks.v);
	free(abuf);
	*ret = h;
	return NULL;
fail:
	free(w.sorted);
	free(w.segs);
	free(w.marks.v);
	free(abuf);
	tli_gl_heap_free(h);
	return err;
}

void tli_gl_heap_free(struct tli_gl_heap *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->narenas; i++) {
		for (size_t j = 0; j < h->arenas[i].nsegs; j++)
			if (h->arenas[i].segs[j].buf)
				munmap(h->arenas[i].segs[j].buf, h->arenas[i].segs[j].end - h->arenas[i].segs[j].start);
		free(h->arenas[i].segs);
	}
	free(h->arenas);
	free(h->tc);
	free(h->chunks);
	json_decref(h->problems);
	free(h);
}

const struct tli_gl_chunk *tli_gl_find_chunk(const struct tli_gl_heap *h, uint64_t addr)
{
	size_t lo = 0, hi = h->nchunks;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (h->chunks[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	const struct tli_gl_chunk *c = &h->chunks[lo - 1];
	return addr < c->addr + (c->size ? c->size : 16) ? c : NULL;
}

const struct tli_gl_seg *tli_gl_find_seg(const struct tli_gl_heap *h, uint64_t addr, size_t *arena)
{
	for (size_t i = 0; i < h->narenas; i++)
		for (size_t j = 0; j < h->arenas[i].nsegs; j++)
			if (addr >= h->arenas[i].segs[j].start && addr < h->arenas[i].segs[j].end) {
				if (arena)
					*arena = i;
				return &h->arenas[i].segs[j];
			}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* glibc's own statistics, reproduced                                   */

static void arena_avail(const struct tli_gl_heap *h, const struct tli_gl_arena *ar, uint64_t *avail,
			uint64_t *nblocks, uint64_t *nfast, uint64_t *fastavail, uint64_t *rest_raw)
{
	uint64_t fa = 0, nf = 0, bb = 0, bn = 0, braw = 0;
	for (uint32_t i = 0; i < h->L.nfastbins && i < 16; i++) {
		nf += ar->fast[i].count;
		fa += ar->fast[i].bytes;
	}
	for (uint32_t i = 1; i < h->L.nbins && i < 256; i++) {
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

json_t *tli_gl_malloc_info_json(const struct tli_gl_heap *h, size_t ai)
{
	const struct tli_gl_arena *ar = &h->arenas[ai];
	uint64_t avail, nb, nf, fa, rr;
	arena_avail(h, ar, &avail, &nb, &nf, &fa, &rr);
	json_t *o = json_object();
	json_t *sizes = json_array();
	for (uint32_t i = 0; i < h->L.nfastbins && i < 16; i++) {
		if (!ar->fast[i].count)
			continue;
		uint64_t to = 16ull * i + 0x20;
		json_t *s = json_object();
		json_object_set_new(s, "type", json_string("fast"));
		json_object_set_new(s, "from", json_integer((json_int_t)(to - 15)));
		json_object_set_new(s, "to", json_integer((json_int_t)to));
		json_object_set_new(s, "total", json_integer((json_int_t)(to * ar->fast[i].count)));
		json_object_set_new(s, "count", json_integer((json_int_t)ar->fast[i].count));
		json_array_append_new(sizes, s);
	}
	for (uint32_t i = 1; i < h->L.nbins && i < 256; i++) {
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
	json_object_set_new(o, "sizes", sizes);
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
