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

#include "core/bytes.h"

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

/* ---- free-list membership ----
 * Every chunk met in a free list gets a mark (kind, arena, bin), appended in list
 * order; a bitmap over its heap segment (one bit per 16 bytes) answers "seen
 * before?" (cycle / double free) in O(1). Before the heap walk the marks are
 * sorted by address (radix sort), and the walk meets them in that order. */
struct mark { uint64_t addr; uint8_t kind; uint16_t arena; uint32_t aux; };
struct markset { struct mark *v; size_t cap, n; };

static struct mark *ms_append(struct markset *s, uint64_t a, uint8_t kind, uint16_t arena, uint32_t aux)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 1024;
		struct mark *nv = realloc(s->v, nc * sizeof(*nv));
		if (!nv)
			return NULL;
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n] = (struct mark){ a, kind, arena, aux };
	return &s->v[s->n++];
}

static int cmp_mark(const void *a, const void *b)
{
	const struct mark *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* LSD radix sort of the marks by address (bytes that are equal everywhere are skipped). */
static void ms_sort(struct markset *s)
{
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

/* ---- per-size counts of in-use chunks (the walk's size statistics) ---- */
#define SZ_DIRECT 4096 /* sizes below 16 * SZ_DIRECT are counted in a plain array */
struct sizetab {
	uint64_t direct[SZ_DIRECT];
	struct tli_gl_sizecount *big; /* open addressing, size 0 = empty */
	size_t bigcap, nbig;
};

static void sz_add(struct sizetab *t, uint64_t size)
{
	if (size / 16 < SZ_DIRECT) {
		t->direct[size / 16]++;
		return;
	}
	if ((t->nbig + 1) * 2 > t->bigcap) {
		size_t nc = t->bigcap ? t->bigcap * 2 : 256;
		struct tli_gl_sizecount *nv = calloc(nc, sizeof(*nv));
		if (!nv)
			return;
		for (size_t i = 0; i < t->bigcap; i++) {
			if (!t->big[i].size)
				continue;
			size_t j = (size_t)((t->big[i].size >> 4) * 0x9E3779B97F4A7C15ull >> 20) & (nc - 1);
			while (nv[j].size)
				j = (j + 1) & (nc - 1);
			nv[j] = t->big[i];
		}
		free(t->big);
		t->big = nv;
		t->bigcap = nc;
	}
	size_t j = (size_t)((size >> 4) * 0x9E3779B97F4A7C15ull >> 20) & (t->bigcap - 1);
	while (t->big[j].size && t->big[j].size != size)
		j = (j + 1) & (t->bigcap - 1);
	if (!t->big[j].size) {
		t->big[j].size = size;
		t->nbig++;
	}
	t->big[j].count++;
}

static int cmp_sizecount(const void *a, const void *b)
{
	const struct tli_gl_sizecount *x = a, *y = b;
	return x->size < y->size ? -1 : x->size > y->size;
}

/* The table as a sorted array in h->sizes. */
static void sz_finish(struct sizetab *t, struct tli_gl_heap *h)
{
	size_t n = t->nbig;
	for (size_t i = 0; i < SZ_DIRECT; i++)
		n += t->direct[i] != 0;
	h->sizes = calloc(n + 1, sizeof(*h->sizes));
	if (h->sizes) {
		for (size_t i = 0; i < SZ_DIRECT; i++)
			if (t->direct[i])
				h->sizes[h->nsizes++] = (struct tli_gl_sizecount){ 16ull * i, t->direct[i] };
		for (size_t i = 0; i < t->bigcap; i++)
			if (t->big[i].size)
				h->sizes[h->nsizes++] = t->big[i];
		qsort(h->sizes, h->nsizes, sizeof(*h->sizes), cmp_sizecount);
	}
	free(t->big);
	t->big = NULL;
	t->bigcap = t->nbig = 0;
}

/* ------------------------------------------------------------------ */
/* walk context                                                         */

struct segref {
	size_t arena, seg;
	uint64_t start, end;
	uint64_t *bits; /* free-list membership, one bit per 16 bytes from start (lazy) */
};

struct walk {
	struct tli_target *t;
	const struct tli_gl_layout *L;
	struct tli_gl_heap *h;
	struct segref *segs; /* sorted by start */
	size_t nsegs;
	struct markset marks; /* sorted by address once the lists are walked */
	bool sorted;
	size_t cur;           /* cursor of the in-order heap walk */
	bool want_chunks;     /* keep every chunk in h->chunks (else only mmapped ones) */
	uint64_t *hinfo;      /* heap_info addresses of the thread heaps, sorted */
	size_t nhinfo;
	struct sizetab *sizes;
};

/* The mark at address p (marks sorted); p should not decrease between calls
 * (then this is a cursor step), else a binary search. */
static struct mark *mark_at(struct walk *w, uint64_t p)
{
	const struct markset *m = &w->marks;
	if (!w->sorted || !m->n)
		return NULL;
	if (w->cur && w->cur <= m->n && m->v[w->cur - 1].addr > p) {
		size_t lo = 0, hi = m->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (m->v[mid].addr < p)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo < m->n && m->v[lo].addr == p ? &m->v[lo] : NULL;
	}
	while (w->cur < m->n && m->v[w->cur].addr < p)
		w->cur++;
	return w->cur < m->n && m->v[w->cur].addr == p ? &m->v[w->cur] : NULL;
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

/*
 * Record chunk c (in segment sr, 16-aligned) as met in a free list. NULL if it is
 * new; else the name of the list it was met in before (a cycle or a double free;
 * the walk of that list must stop).
 */
static const char *mark_put(struct walk *w, const struct segref *sr, uint64_t c, uint8_t kind,
			    uint16_t arena, uint32_t aux)
{
	struct segref *g = &w->segs[sr - w->segs];
	uint64_t slot = (c - g->start) >> 4;
	if (!g->bits) {
		g->bits = calloc(((g->end - g->start) / 16 + 64) / 64, sizeof(uint64_t));
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
	if (!ms_append(&w->marks, c, kind, arena, aux))
		return "some (out of memory)";
	g->bits[slot >> 6] |= bit;
	return NULL;
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

/* true if err is an error (destroyed) */
static bool failed_destroyed(struct tli_error *err)
{
	if (!err)
		return false;
	tli_error_destroy(err);
	return true;
}

static int cmp_range(const void *a, const void *b)
{
	const struct tli_range *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static bool anon_rw(const struct tli_mapping *mp)
{
	if ((mp->prot & (TLI_PROT_R | TLI_PROT_W)) != (TLI_PROT_R | TLI_PROT_W))
		return false;
	return !mp->path || !mp->path[0] || !strncmp(mp->path, "[anon", 5);
}

uint64_t tli_gl_reserve(struct tli_target *t, bool all_rw)
{
	if (!t || t->kind != TLI_TARGET_LIVE || t->released)
		return 0;
	struct ranges r = { 0 };
	const uint64_t hmax = 64ull << 20; /* HEAP_MAX_SIZE unless hugetlb */
	for (size_t i = 0; i < t->nmaps; i++) {
		const struct tli_mapping *m = &t->maps[i];
		if ((m->prot & (TLI_PROT_R | TLI_PROT_W)) != (TLI_PROT_R | TLI_PROT_W))
			continue;
		bool heap = m->path && !strcmp(m->path, "[heap]");
		/* thread heaps start on a HEAP_MAX_SIZE boundary with a heap_info whose
		 * ar_ptr (its first field) is an arena at the start of such a heap.
		 * Peeked at while the process runs: only a hint of what to reserve
		 * (other 64 MiB-aligned memory, a Go heap say, is not worth pre-faulting) */
		bool theap = false;
		if (!all_rw && !heap && anon_rw(m) && !(m->start & (hmax - 1)) && t->ops && t->ops->read_many) {
			uint64_t hi[2] = { 0, 0 };
			struct tli_read rr = { .addr = m->start, .buf = hi, .len = sizeof(hi) };
			if (!failed_destroyed(t->ops->read_many(t, &rr, 1)) && rr.got == sizeof(hi))
				theap = hi[0] && !(hi[0] & 7) && (hi[0] & (hmax - 1)) < 4096 && !(hi[1] & (hmax - 1));
		}
		if (all_rw || heap || theap)
			rg_add(&r, m->start, m->end - m->start);
	}
	uint64_t n = tli_target_reserve(t, r.v, r.n);
	free(r.v);
	return n;
}

struct tli_error *tli_gl_capture(struct tli_target *t, const struct tli_gl_layout *L,
				 const struct tli_gl_thread *th, size_t nth,
				 const struct tli_range *extra, size_t nextra)
{
	struct tli_error *err;
	struct ranges r = { 0 }, known = { 0 };
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
	bool noncontig = false;
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
				uint32_t fl = 0;
				struct tli_error *fe = tli_target_read_u32(t, a + L->ms_flags, &fl);
				tli_error_destroy(fe);
				noncontig = !fe && (fl & TLI_GL_NONCONTIGUOUS);
				if (sbrk && top >= sbrk && top + tsz > top && top + tsz - sbrk < (1ull << 44)) {
					rg_add(&r, sbrk, top + tsz - sbrk);
					rg_add(&known, sbrk, top + tsz - sbrk);
				} else if (sbrk && noncontig) {
					/* the sbrk heap ends in fenceposts: its whole mapping */
					const struct tli_mapping *m = tli_target_find_mapping(t, sbrk);
					if (m)
						rg_add(&r, sbrk, m->end - sbrk);
				}
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
					rg_add(&known, hi, hmax);
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
	qsort(known.v, known.n, sizeof(*known.v), cmp_range);
	/* 4. mmapped chunk headers: anonymous rw mappings, stepping by chunk size, past the
	 *    heaps found above; a non-contiguous main arena's other segments lie in such
	 *    mappings too (and in [heap] after the sbrk heap): then the rest of the mapping
	 *    from the first thing that is not an mmapped chunk is captured whole */
	r.n = 0;
	size_t steps = 0;
	for (size_t m = 0; m < t->nmaps && steps < MAX_MMAP_STEPS; m++) {
		const struct tli_mapping *mp = &t->maps[m];
		bool brk = mp->path && !strcmp(mp->path, "[heap]") && (mp->prot & TLI_PROT_R);
		if (!anon_rw(mp) && !(noncontig && brk))
			continue;
		uint64_t q = mp->start;
		while (q + 16 <= mp->end && steps++ < MAX_MMAP_STEPS) {
			size_t lo = 0, hi = known.n; /* known ranges: skip them */
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				if (known.v[mid].addr <= q)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo && q - known.v[lo - 1].addr < known.v[lo - 1].len &&
			    known.v[lo - 1].addr + known.v[lo - 1].len > q) {
				q = known.v[lo - 1].addr + known.v[lo - 1].len;
				continue;
			}
			uint64_t hdr[2];
			if (!tli_target_captured(t, q, 16) && !cap1(t, q, 16))
				break;
			if (!tread64(t, q, &hdr[0]) || !tread64(t, q + 8, &hdr[1]))
				break;
			uint64_t sz = hdr[1] & ~(uint64_t)TLI_GL_FLAGS;
			if ((hdr[1] & TLI_GL_FLAGS) != TLI_GL_IS_MMAPPED || !sz || (hdr[0] + sz) & 4095 ||
			    q + sz > mp->end || q + sz < q) {
				if (noncontig)
					rg_add(&r, q, mp->end - q);
				break;
			}
			q += sz;
		}
	}
	if (r.n)
		err = tli_target_capture(t, r.v, r.n, 0, NULL);
out:
	free(r.v);
	free(known.v);
	return err;
}

/* ------------------------------------------------------------------ */
/* walk                                                                 */

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

void *tli_gl_huge_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	if (bytes >= (2u << 20))
		madvise(p, bytes, MADV_HUGEPAGE);
#endif
	return p;
}

void tli_gl_huge_free(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes ? bytes : 1);
}

static bool grow_chunks(struct tli_gl_heap *h)
{
	size_t nc = h->chunks_cap ? h->chunks_cap * 2 : 4096;
	if (h->chunks_huge) {
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

static bool push_chunk(struct tli_gl_heap *h, uint64_t addr, uint64_t size, uint8_t kind, uint8_t flags,
		       uint16_t arena, uint32_t aux)
{
	if (h->nchunks == h->chunks_cap && !grow_chunks(h))
		return false;
	h->chunks[h->nchunks++] = (struct tli_gl_chunk){ addr, size, kind, flags, arena, aux };
	return true;
}

/* Where the chunk scan of an anonymous mapping goes on after q, when q lies in a
 * heap segment (its end) or is a thread heap's heap_info (the end of that heap's
 * reservation); 0 if q is neither. */
static uint64_t skip_known(const struct walk *w, uint64_t q, uint64_t hmax)
{
	const struct segref *sr = seg_of(w, q);
	if (sr)
		return sr->end;
	size_t lo = 0, hi = w->nhinfo;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->hinfo[mid] < q)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < w->nhinfo && w->hinfo[lo] == q)
		return q + hmax;
	return 0;
}

/*
 * The main arena's chunk chain from start (a segment's first chunk) within
 * [start, lim): the end of the segment, i.e. the end of top if the chain reaches
 * the arena's top (*has_top), or the end of the fencepost pair that sysmalloc
 * leaves at the end of a segment it could not extend (two 16-byte in-use
 * chunks; a third when the old top shrank to 16 bytes: segment ends are page
 * aligned). 0 if this is not such a chain.
 */
static uint64_t chain_end(struct walk *w, const struct tli_gl_arena *ar, uint64_t start, uint64_t lim,
			  bool *has_top)
{
	*has_top = false;
	if (lim <= start || start & 15)
		return 0;
	const uint8_t *b = tli_target_captured_ptr(w->t, start, lim - start);
	uint64_t p = start;
	unsigned run = 0;
	for (uint64_t steps = 0; p + 16 <= lim && steps <= (lim - start) / 16; steps++) {
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
		else if (!rd64(w, p + w->L->mc_size, &raw))
			return 0;
		uint64_t sz = raw & ~(uint64_t)TLI_GL_FLAGS;
		if (p == start && !(raw & TLI_GL_PREV_INUSE))
			return 0;
		if (sz == 16 && !(raw & (TLI_GL_IS_MMAPPED | TLI_GL_NON_MAIN))) {
			run++;
			p += 16;
			if (run >= 2 && !(p & 4095))
				return p;
			continue;
		}
		if (run >= 2)
			return p;
		if (run || sz < 32 || (sz & 15) || (raw & (TLI_GL_IS_MMAPPED | TLI_GL_NON_MAIN)) || p + sz > lim ||
		    p + sz < p)
			return 0;
		p += sz;
	}
	return run >= 2 ? p : 0;
}

#define MAX_MAIN_SEGS 4096

/*
 * The main arena's segments. Normally one: sbrk_base .. end of top. When sbrk
 * could not extend it (something mapped after the brk end, or a foreign sbrk),
 * sysmalloc continued in mmapped regions (the arena is then marked
 * NONCONTIGUOUS) and fenced each old top off with fenceposts: the sbrk heap
 * ends in fenceposts, and the other segments lie in anonymous mappings (maybe
 * sharing a mapping with mmapped chunks and with each other), each a chunk
 * chain that ends in fenceposts, the newest one in top. They are found by
 * scanning those mappings the way mmapped chunks are found.
 */
/* Is the chunk header (prev_size ps, size word raw) at q an mmapped chunk that fits in
 * [q, end)? mmap'd chunks have only IS_MMAPPED set and prev_size + size page-aligned. */
static bool mmapped_chunk_at(uint64_t q, uint64_t ps, uint64_t raw, uint64_t end, uint64_t *sz)
{
	*sz = raw & ~(uint64_t)TLI_GL_FLAGS;
	return (raw & TLI_GL_FLAGS) == TLI_GL_IS_MMAPPED && *sz && !((ps + *sz) & 4095) && q + *sz <= end &&
	       q + *sz > q;
}

static void main_segments(struct walk *w, size_t ai, uint64_t sbrk_base, uint64_t hmax)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	struct tli_gl_arena *ar = &h->arenas[ai];
	if (!ar->top || ar->top == ar->addr + L->ms_top) /* no heap yet */
		return;
	bool noncontig = ar->flags & TLI_GL_NONCONTIGUOUS;
	uint64_t start = align_up16(sbrk_base);
	uint64_t end = ar->top + ar->top_size;
	bool top_found = false;
	if (sbrk_base && ar->top >= start && end >= ar->top && end - start <= ar->system_mem + 4096 &&
	    tli_target_plausible(w->t, start, 16)) {
		add_seg(w, ai, start, end, 0, end - start, end - start);
		top_found = true;
	} else if (!noncontig) {
		problem(h, ar->top, (long)ai,
			"main arena: top 0x%" PRIx64 " (size 0x%" PRIx64 ") is not inside the sbrk heap "
			"[0x%" PRIx64 ", +system_mem 0x%" PRIx64 "); walking sbrk_base..+system_mem",
			ar->top, ar->top_size, sbrk_base, ar->system_mem);
		if (!sbrk_base || !ar->system_mem || ar->system_mem > (1ull << 44))
			return;
		end = sbrk_base + ar->system_mem;
		add_seg(w, ai, start, end, 0, end - start, end - start);
		return;
	} else if (sbrk_base) {
		/* the sbrk heap, fenced off */
		const struct tli_mapping *m = tli_target_find_mapping(w->t, start);
		bool ht;
		uint64_t e = m ? chain_end(w, ar, start, m->end, &ht) : 0;
		if (e)
			add_seg(w, ai, start, e, 0, e - start, e - start);
		else
			problem(h, start, (long)ai, "main arena: the sbrk heap at 0x%" PRIx64 " does not end in "
				"fenceposts (the arena is non-contiguous, its top 0x%" PRIx64 " is elsewhere)",
				start, ar->top);
	}
	if (!noncontig)
		return;
	/* the other segments: in [heap] after the sbrk heap, or in anonymous mappings */
	size_t steps = 0;
	for (size_t mi = 0; mi < w->t->nmaps && steps < MAX_MMAP_STEPS; mi++) {
		const struct tli_mapping *mp = &w->t->maps[mi];
		if ((mp->prot & (TLI_PROT_R | TLI_PROT_W)) != (TLI_PROT_R | TLI_PROT_W))
			continue;
		if (mp->path && mp->path[0] && strncmp(mp->path, "[anon", 5) && strcmp(mp->path, "[heap]"))
			continue;
		uint64_t q = mp->start;
		while (q + 16 <= mp->end && steps++ < MAX_MMAP_STEPS && ar->nsegs < MAX_MAIN_SEGS) {
			uint64_t next = skip_known(w, q, hmax);
			for (size_t k = 0; !next && k < ar->nsegs; k++)
				if (q >= ar->segs[k].start && q < ar->segs[k].end)
					next = ar->segs[k].end;
			if (next) {
				if (next <= q)
					break;
				q = next;
				continue;
			}
			uint64_t ps = 0, raw = 0, sz = 0;
			if (!rd64(w, q, &ps) || !rd64(w, q + 8, &raw))
				break;
			if (mmapped_chunk_at(q, ps, raw, mp->end, &sz)) {
				q += sz; /* an mmapped chunk */
				continue;
			}
			bool ht;
			uint64_t e = chain_end(w, ar, q, mp->end, &ht);
			if (!e)
				break;
			add_seg(w, ai, q, e, 0, e - q, e - q);
			top_found |= ht;
			q = e;
		}
	}
	if (!top_found)
		problem(h, ar->top, (long)ai, "main arena (non-contiguous): no heap segment ends in its top chunk "
			"0x%" PRIx64, ar->top);
}

/* Find the arena's heap segments. */
static void arena_segments(struct walk *w, size_t ai, uint64_t sbrk_base, uint64_t hmax)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	struct tli_gl_arena *ar = &h->arenas[ai];
	if (ar->addr == L->main_arena) {
		main_segments(w, ai, sbrk_base, hmax);
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
			const char *seen = mark_put(w, sr, c, GLK_TCACHE, (uint16_t)sr->arena, b);
			if (seen) {
				problem(h, c, (long)sr->arena, "thread %d: tcache bin %u: chunk 0x%" PRIx64
					" already seen in %s list (cycle or double free)", tc->tid, b, c, seen);
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
			const char *seen = mark_put(w, sr, p, GLK_FAST, (uint16_t)ai, b);
			if (seen) {
				problem(h, p, (long)ai, "fastbin %u: chunk 0x%" PRIx64 " already seen in %s list "
					"(cycle or double free)", b, p, seen);
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
			const char *seen = mark_put(w, sr, p, kind, (uint16_t)ai, b);
			if (seen) {
				problem(h, p, (long)ai, "bin %u: chunk 0x%" PRIx64 " already seen in %s list "
					"(cycle or double free)", b, p, seen);
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

/* Walk one segment chunk by chunk: kinds, free-list marks met in address order,
 * per-arena totals and the size statistics in one pass. */
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
	const bool keep = w->want_chunks;
	const uint32_t o_size = L->mc_size, o_prev = L->mc_prev_size;
	uint64_t p = g->start;
	const uint8_t *b = g->buf - g->start; /* b + address = the byte at that address */
	while (p + 16 <= g->end) {
		uint64_t raw = tli_rd64(b + p + o_size);
		uint64_t sz = raw & ~(uint64_t)TLI_GL_FLAGS;
		uint8_t fl = raw & TLI_GL_FLAGS;
		if (p == ar->top) {
			if (keep)
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
		if (sz == 16 && (!has_top || is_main)) { /* main arena: fenceposts between segments */
			if (keep)
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
			next_p = tli_rd64(b + p + sz + o_size) & TLI_GL_PREV_INUSE;
			next_prev_size = tli_rd64(b + p + sz + o_prev);
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
		if (keep && !push_chunk(h, p, sz, kind, fl, (uint16_t)ai, aux))
			return;
		if (kind == GLK_INUSE)
			sz_add(w->sizes, sz);
		ar->n_kind[kind]++;
		ar->b_kind[kind] += sz;
		g->walked += sz;
		p += sz;
	}
	if (has_top)
		problem(h, p, (long)ai, "heap walk of 0x%" PRIx64 "-0x%" PRIx64 " did not reach top 0x%" PRIx64,
			g->start, g->end, ar->top);
}

static void find_mmapped(struct walk *w, uint64_t hmax)
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
			uint64_t next = skip_known(w, q, hmax);
			if (next) { /* heaps of the main arena may share a mapping with mmapped chunks */
				if (next <= q)
					break;
				q = next;
				continue;
			}
			uint64_t ps = 0, raw = 0, sz = 0;
			if (!rd64(w, q, &ps) || !rd64(w, q + 8, &raw))
				break;
			if (!mmapped_chunk_at(q, ps, raw, mp->end, &sz))
				break;
			push_chunk(h, q, sz, GLK_MMAPPED, TLI_GL_IS_MMAPPED, 0xffff, 0);
			sz_add(w->sizes, sz);
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

/* The segments of every arena, sorted by address, overlaps dropped (reported when
 * `report`), and the thread heaps' heap_info addresses. */
static bool build_segrefs(struct walk *w, bool report)
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
				problem(h, w->segs[i].start, (long)w->segs[i].arena,
					"heap 0x%" PRIx64 "-0x%" PRIx64 " overlaps heap 0x%" PRIx64 "-0x%" PRIx64
					"; dropped", w->segs[i].start, w->segs[i].end, w->segs[k - 1].start,
					w->segs[k - 1].end);
			continue;
		}
		w->segs[k++] = w->segs[i];
	}
	w->nsegs = k;
	return true;
}

static void walk_free(struct walk *w)
{
	for (size_t k = 0; k < w->nsegs; k++)
		free(w->segs[k].bits);
	free(w->segs);
	free(w->hinfo);
	free(w->marks.v);
	if (w->sizes)
		free(w->sizes->big);
	free(w->sizes);
}

struct tli_error *tli_gl_walk(struct tli_target *t, const struct tli_gl_layout *L,
			      const struct tli_gl_thread *th, size_t nth, int max_problems,
			      struct tli_gl_heap **ret)
{
	return tli_gl_walk_ex(t, L, th, nth, max_problems, 0, ret);
}

struct tli_error *tli_gl_walk_ex(struct tli_target *t, const struct tli_gl_layout *L,
				 const struct tli_gl_thread *th, size_t nth, int max_problems,
				 unsigned flags, struct tli_gl_heap **ret)
{
	struct tli_gl_heap *h = calloc(1, sizeof(*h));
	if (!h)
		return &tli_enomem;
	h->L = *L;
	h->problems = json_array();
	h->max_problems = max_problems > 0 ? max_problems : 100;
	struct walk w = { .t = t, .L = &h->L, .h = h, .want_chunks = !(flags & TLI_GL_WALK_NO_CHUNKS) };
	struct tli_error *err = NULL;
	w.sizes = calloc(1, sizeof(*w.sizes));
	if (!w.sizes)
		return tli_gl_heap_free(h), &tli_enomem;
	uint8_t *abuf = malloc(L->ms_size);
	uint8_t mpb[512];
	if (!abuf) {
		err = &tli_enomem;
		goto fail;
	}
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
	/* segments: thread arenas first, the main arena's may be found around them */
	for (size_t i = 0; i < h->narenas; i++)
		if (h->arenas[i].addr != L->main_arena)
			arena_segments(&w, i, h->sbrk_base, hmax);
	if (!build_segrefs(&w, false)) {
		err = &tli_enomem;
		goto fail;
	}
	for (size_t i = 0; i < h->narenas; i++)
		if (h->arenas[i].addr == L->main_arena)
			arena_segments(&w, i, h->sbrk_base, hmax);
	if (!build_segrefs(&w, true)) {
		err = &tli_enomem;
		goto fail;
	}
	/* each segment: in place in the capture, else a copy */
	uint64_t seg_bytes = 0;
	for (size_t k = 0; k < w.nsegs; k++) {
		struct tli_gl_seg *g = &h->arenas[w.segs[k].arena].segs[w.segs[k].seg];
		seg_bytes += g->end - g->start;
		g->buf = tli_target_captured_ptr(t, g->start, g->end - g->start);
		if (g->buf)
			continue;
		uint8_t *copy = seg_alloc(g->end - g->start);
		if (!copy) {
			problem(h, g->start, (long)w.segs[k].arena, "heap 0x%" PRIx64 "-0x%" PRIx64
				": cannot allocate a copy (%" PRIu64 " bytes); not walked", g->start, g->end,
				g->end - g->start);
			continue;
		}
		struct tli_error *e = tli_target_read(t, g->start, copy, g->end - g->start);
		if (e) {
			problem(h, g->start, (long)w.segs[k].arena, "heap 0x%" PRIx64 "-0x%" PRIx64
				" is not readable: %s", g->start, g->end, e->msg);
			tli_error_destroy(e);
			munmap(copy, g->end - g->start);
			continue;
		}
		g->buf = copy;
		g->buf_owned = true;
	}
	/* room for every chunk at once (at least 32 bytes each): untouched pages cost nothing */
	if (w.want_chunks && seg_bytes / 32 + 4096 < ((size_t)-1 / 2) / sizeof(*h->chunks)) {
		size_t cap = (size_t)(seg_bytes / 32) + 4096;
		struct tli_gl_chunk *v = tli_gl_huge_alloc(cap * sizeof(*v));
		if (v) {
			h->chunks = v;
			h->chunks_cap = cap;
			h->chunks_huge = true;
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
	ms_sort(&w.marks);
	w.sorted = true;
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
	for (size_t i = 0; i < w.marks.n; i++) {
		struct mark *m = &w.marks.v[i];
		if (!(m->arena & 0x8000))
			problem(h, m->addr, m->arena & 0x7fff, "chunk 0x%" PRIx64 " is in a %s list but the heap "
				"walk did not reach it", m->addr, tli_gl_kind_names[m->kind]);
	}
	size_t nheap = h->nchunks;
	find_mmapped(&w, hmax);
	/* mmapped chunks were appended after the heap chunks (in address order):
	 * merge the few of them in from the back */
	if (h->nchunks > nheap)
		merge_tail(h, nheap);
	sz_finish(w.sizes, h);
	walk_free(&w);
	free(abuf);
	*ret = h;
	return NULL;
fail:
	walk_free(&w);
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
			if (h->arenas[i].segs[j].buf && h->arenas[i].segs[j].buf_owned)
				munmap((void *)h->arenas[i].segs[j].buf,
				       h->arenas[i].segs[j].end - h->arenas[i].segs[j].start);
		free(h->arenas[i].segs);
	}
	free(h->arenas);
	free(h->tc);
	if (h->chunks_huge)
		tli_gl_huge_free(h->chunks, h->chunks_cap * sizeof(*h->chunks));
	else
		free(h->chunks);
	free(h->sizes);
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
