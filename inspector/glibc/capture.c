/* SPDX-License-Identifier: MIT */
/*
 * The capture: what the walker will read is copied while the target is stopped,
 * in a few large vectored reads (tli_target_capture): malloc_state of every arena,
 * mp_, the TLS slots, the heap segments (sbrk heap, thread heaps through their
 * heap_info chain), the tcache structs, the caller's extra ranges, and the headers
 * of mmapped chunks. Before a deferred stop, tli_gl_reserve() pre-faults the
 * capture memory so that the pause is only the copy.
 */
#include "walk.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/memlimit.h"
#include "core/search.h"

TLI_VEC(ranges, struct tli_range);

static void rg_add(struct ranges *r, uint64_t a, uint64_t len)
{
	if (len)
		tli_vec_push(r, ((struct tli_range){ a, len })); /* out of memory: captured less */
}

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
	return !tli_error_drop(tli_target_read_u64(t, addr, v));
}

static int cmp_range(const void *a, const void *b)
{
	const struct tli_range *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/*
 * The first two words of [addr, +16) of a live target that is NOT stopped yet (a hint
 * for what to reserve): tli_target_peek_many, since every other read stops a deferred
 * target first, which would put the libc layout (DWARF indexing) inside the pause this
 * reservation is meant to shorten.
 */
static bool peek_running(struct tli_target *t, uint64_t addr, uint64_t hi[2])
{
	struct tli_read rr = { .addr = addr, .buf = hi, .len = 2 * sizeof(uint64_t) };
	return !tli_error_drop(tli_target_peek_many(t, &rr, 1)) && rr.got == rr.len;
}

/*
 * What the capture of a live target will copy, from the maps alone (nothing stops the
 * target): the [heap] mapping, the thread heaps (anonymous rw mappings starting on a
 * HEAP_MAX_SIZE boundary with a heap_info, peeked at while the process runs: only a
 * hint; other 64 MiB-aligned memory, a Go heap say, is not counted), or with all_rw
 * every readable+writable mapping (leaks: the roots too).
 */
static void capture_ranges(struct tli_target *t, bool all_rw, struct ranges *r)
{
	const uint64_t hmax = 64ull << 20; /* HEAP_MAX_SIZE unless hugetlb */
	for (size_t i = 0; i < t->nmaps; i++) {
		const struct tli_mapping *m = &t->maps[i];
		if ((m->prot & (TLI_PROT_R | TLI_PROT_W)) != (TLI_PROT_R | TLI_PROT_W))
			continue;
		bool heap = m->path && !strcmp(m->path, "[heap]");
		bool theap = false;
		uint64_t hi[2] = { 0, 0 };
		if (!all_rw && !heap && tli_gl_anon_rw(m) && !(m->start & (hmax - 1)) && peek_running(t, m->start, hi))
			theap = hi[0] && !(hi[0] & 7) && (hi[0] & (hmax - 1)) < TLI_GL_PAGESIZE && !(hi[1] & (hmax - 1));
		if (all_rw || heap || theap)
			rg_add(r, m->start, m->end - m->start);
	}
}

uint64_t tli_gl_reserve(struct tli_target *t, bool all_rw)
{
	/* fork mode: the heaps are read in place from the copy after the process runs again */
	if (!t || t->kind != TLI_TARGET_LIVE || t->released || t->fork_asked)
		return 0;
	struct ranges r = { 0 };
	capture_ranges(t, all_rw, &r);
	uint64_t n = tli_target_reserve(t, r.v, r.n);
	tli_vec_free(&r);
	return n;
}

/* Memory fork mode needs for `need` bytes read in place: their views' address space, and a
 * window of them resident. */
static uint64_t fork_resident(uint64_t need)
{
	return need < TLI_TARGET_IN_PLACE_RESIDENT ? need : TLI_TARGET_IN_PLACE_RESIDENT;
}

static bool fork_fits(uint64_t need)
{
	return need <= tli_mem_headroom_of(TLI_MEM_ADDRESS, NULL, 0) &&
	       fork_resident(need) <= tli_mem_headroom_of(TLI_MEM_RESIDENT, NULL, 0);
}

static struct tli_error *refuse(uint64_t need, const char *what, const char *why, uint64_t room, const char *then)
{
	return tli_error_create(TLI_E_NOMEM,
				"out of memory: the glibc capture needs at least %" PRIu64 " MiB (%s) but %s leaves "
				"%" PRIu64 " MiB; %s", need >> 20, what, why, room >> 20, then);
}

/* --snapshot=fork: nothing is copied, the heaps are read in place from the frozen copy */
static struct tli_error *afford_fork(uint64_t need, bool all_rw)
{
	char why[256];
	uint64_t room = tli_mem_headroom_of(TLI_MEM_ADDRESS, why, sizeof(why));
	if (need > room)
		return refuse(need, all_rw ? "address space to read the writable memory in place"
					   : "address space to read the heap segments in place",
			      why, room, "the process was not stopped; raise the limit");
	uint64_t res = fork_resident(need);
	if (res > (room = tli_mem_headroom_of(TLI_MEM_RESIDENT, why, sizeof(why))))
		return refuse(res, "a window of the heap read in place", why, room,
			      "the process was not stopped; raise the limit");
	return NULL;
}

struct tli_error *tli_gl_afford(struct tli_target *t, bool all_rw)
{
	if (!t || t->kind != TLI_TARGET_LIVE || t->released || !t->stop_deferred)
		return NULL;
	struct ranges r = { 0 };
	capture_ranges(t, all_rw, &r);
	uint64_t need = 0;
	for (size_t i = 0; i < r.n; i++)
		need += r.v[i].len;
	tli_vec_free(&r);
	if (t->fork_asked)
		return afford_fork(need, all_rw);
	char why[256];
	uint64_t room = tli_mem_headroom(why, sizeof(why));
	if (need <= room)
		return NULL;
	return refuse(need, all_rw ? "the writable memory to copy (heaps and roots)" : "the heap segments to copy",
		      why, room,
		      fork_fits(need) ? "the process was not stopped; --snapshot=fork reads the heap in place from a "
					"frozen copy of the process instead, with a bounded window of it in memory, and "
					"fits; or raise the limit, or take a core file (gcore) and read that"
				      : "the process was not stopped; raise the limit, or take a core file (gcore) "
					"and read that: a core's heap is read in place, not copied");
}

struct tli_error *tli_gl_afford_bytes(uint64_t need, const char *what, int pid)
{
	char why[256];
	uint64_t room = tli_mem_headroom(why, sizeof(why));
	if (need <= room)
		return NULL;
	return refuse(need, what, why, room,
		      pid ? "the process was not stopped; raise the limit, or take a core file (gcore) "
			    "and read that: a core's heap is read in place, not copied"
			  : "nothing was copied; raise the limit, or read the core where memory allows");
}

/* --snapshot=fork: large ranges the frozen copy shows in place (tli_target_mapped_ptr) are
 * read from it after the release, a bounded window at a time, instead of copied now. */
#define IN_PLACE_MIN (1u << 20)
static void defer_in_place(struct tli_target *t, struct ranges *r)
{
	if (!t->forked)
		return;
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].len < IN_PLACE_MIN || !tli_target_mapped_ptr(t, r->v[i].addr, r->v[i].len))
			r->v[k++] = r->v[i];
	r->n = k;
}

/* What the capture has learned so far. */
struct cap {
	struct tli_target *t;
	const struct tli_gl_layout *L;
	struct ranges r;      /* to capture in the next pass */
	struct ranges known;  /* heap ranges: the mmapped-chunk scan skips them */
	uint64_t hmax;
	uint64_t sbrk;
	bool noncontig;       /* the main arena is NONCONTIGUOUS */
};

/* The main arena's sbrk heap: sbrk_base to the end of top (or, non-contiguous, its mapping). */
static void main_heap_ranges(struct cap *c, uint64_t a, uint64_t top, uint64_t tsz)
{
	uint32_t fl = 0;
	struct tli_error *fe = tli_target_read_u32(c->t, a + c->L->ms_flags, &fl);
	c->noncontig = !tli_error_drop(fe) && (fl & TLI_GL_NONCONTIGUOUS);
	uint64_t sbrk = c->sbrk;
	if (sbrk && top >= sbrk && top + tsz > top && top + tsz - sbrk < (1ull << 44)) {
		rg_add(&c->r, sbrk, top + tsz - sbrk);
		rg_add(&c->known, sbrk, top + tsz - sbrk);
	} else if (sbrk && c->noncontig) {
		/* the sbrk heap ends in fenceposts: its whole mapping */
		const struct tli_mapping *m = tli_target_find_mapping(c->t, sbrk);
		if (m)
			rg_add(&c->r, sbrk, m->end - sbrk);
	}
}

/* A thread arena's heaps: the heap_info chain from the heap holding top (malloc/arena.c). */
static void thread_heap_ranges(struct cap *c, uint64_t a, uint64_t top)
{
	const struct tli_gl_layout *L = c->L;
	uint64_t hmax = c->hmax;
	uint64_t hi = top & ~(hmax - 1);
	for (int k = 0; hi && k < MAX_HEAPS_PER_ARENA; k++) {
		uint64_t prev = 0, hsize = 0;
		if (!cap1(c->t, hi, L->hi_size))
			break;
		if (!tread64(c->t, hi + L->hi_prev, &prev) || !tread64(c->t, hi + L->hi_hsize, &hsize))
			break;
		if (hsize > hmax)
			hsize = hmax;
		rg_add(&c->r, hi, hsize);
		rg_add(&c->known, hi, hmax);
		if (prev == hi)
			break;
		hi = prev;
	}
	/* the arena's own first heap, in case top is bad */
	rg_add(&c->r, a & ~(hmax - 1), L->hi_size + L->ms_size + 64);
}

/* The arena list (each arena is in the previous capture's next) and each arena's heaps. */
static void arena_ranges(struct cap *c)
{
	const struct tli_gl_layout *L = c->L;
	uint64_t a = L->main_arena;
	for (int n = 0; n < MAX_ARENAS; n++) {
		uint64_t top = 0, next = 0;
		if (!tread64(c->t, a + L->ms_top, &top) || !tread64(c->t, a + L->ms_next, &next))
			break;
		/* top header, then the arena's heaps */
		if (top && cap1(c->t, top, TLI_GL_CHUNK_HDR_SZ)) {
			uint64_t tsz = 0;
			tread64(c->t, top + L->mc_size, &tsz);
			tsz = tli_gl_chunksize(tsz);
			if (a == L->main_arena)
				main_heap_ranges(c, a, top, tsz);
			else
				thread_heap_ranges(c, a, top);
		}
		if (!next || next == L->main_arena || next & 7)
			break;
		if (!cap1(c->t, next, L->ms_size))
			break;
		a = next;
	}
}

/* The known heap range containing q: where the scan goes on (0: none). */
static uint64_t known_end(const struct ranges *known, uint64_t q)
{
	size_t lo = tli_upper_bound(known->n, i, known->v[i].addr > q);
	if (lo && q - known->v[lo - 1].addr < known->v[lo - 1].len && known->v[lo - 1].addr + known->v[lo - 1].len > q)
		return known->v[lo - 1].addr + known->v[lo - 1].len;
	return 0;
}

/*
 * Mmapped chunk headers: anonymous rw mappings, stepping by chunk size, past the heaps
 * found above; a non-contiguous main arena's other segments lie in such mappings too
 * (and in [heap] after the sbrk heap): then the rest of the mapping from the first
 * thing that is not an mmapped chunk is captured whole (into c->r).
 */
static void mmapped_headers(struct cap *c)
{
	struct tli_target *t = c->t;
	size_t steps = 0;
	c->r.n = 0;
	for (size_t m = 0; m < t->nmaps && steps < MAX_MMAP_STEPS; m++) {
		const struct tli_mapping *mp = &t->maps[m];
		bool brk = mp->path && !strcmp(mp->path, "[heap]") && (mp->prot & TLI_PROT_R);
		if (!tli_gl_anon_rw(mp) && !(c->noncontig && brk))
			continue;
		uint64_t q = mp->start;
		while (q + TLI_GL_CHUNK_HDR_SZ <= mp->end && steps++ < MAX_MMAP_STEPS) {
			uint64_t skip = known_end(&c->known, q);
			if (skip) {
				q = skip;
				continue;
			}
			uint64_t hdr[2], sz;
			if (!tli_target_captured(t, q, TLI_GL_CHUNK_HDR_SZ) && !cap1(t, q, TLI_GL_CHUNK_HDR_SZ))
				break;
			if (!tread64(t, q, &hdr[0]) || !tread64(t, q + 8, &hdr[1]))
				break;
			if (!tli_gl_mmapped_chunk_at(q, hdr[0], hdr[1], mp->end, &sz)) {
				if (c->noncontig)
					rg_add(&c->r, q, mp->end - q);
				break;
			}
			q += sz;
		}
	}
}

struct tli_error *tli_gl_capture(struct tli_target *t, const struct tli_gl_layout *L,
				 const struct tli_gl_thread *th, size_t nth,
				 const struct tli_range *extra, size_t nextra)
{
	struct cap c = { .t = t, .L = L };
	/* 1. the fixed objects and the TLS slots */
	rg_add(&c.r, L->main_arena, L->ms_size);
	rg_add(&c.r, L->mp, L->mp_size);
	for (size_t i = 0; i < nth; i++)
		if (th[i].tcache_slot)
			rg_add(&c.r, th[i].tcache_slot, 8);
	struct tli_error *err = tli_target_capture(t, c.r.v, c.r.n, 0, NULL);
	if (err)
		goto out;
	c.r.n = 0;
	uint64_t hp = 0;
	if (L->has_hp_pagesize)
		tread64(t, L->mp + L->mp_hp_pagesize, &hp);
	tread64(t, L->mp + L->mp_sbrk_base, &c.sbrk);
	c.hmax = tli_gl_heap_max(L, hp);
	/* 2. the arena list and the heaps */
	arena_ranges(&c);
	/* 3. tcache structs (the chunk holding each), the caller's ranges */
	for (size_t i = 0; i < nth; i++) {
		uint64_t p = 0;
		if (th[i].tcache_slot && tread64(t, th[i].tcache_slot, &p) && p && L->has_tcache)
			rg_add(&c.r, tli_gl_mem2chunk(p), L->tc_size + TLI_GL_CHUNK_HDR_SZ);
	}
	for (size_t i = 0; i < nextra; i++)
		rg_add(&c.r, extra[i].addr, extra[i].len);
	defer_in_place(t, &c.r);
	err = tli_target_capture(t, c.r.v, c.r.n, 0, NULL);
	if (err)
		goto out;
	qsort(c.known.v, c.known.n, sizeof(*c.known.v), cmp_range);
	/* 4. mmapped chunk headers (and the non-contiguous main arena's other segments) */
	mmapped_headers(&c);
	defer_in_place(t, &c.r);
	if (c.r.n)
		err = tli_target_capture(t, c.r.v, c.r.n, 0, NULL);
out:
	tli_vec_free(&c.r);
	tli_vec_free(&c.known);
	return err;
}
