/* SPDX-License-Identifier: MIT */
/**
 * @file walk.h
 * Internal to the malloc walker: the walk context and what its steps share.
 * walk.c runs the steps in order: arenas (walk.c), heap segments (segments.c),
 * free lists (bins.c), every chunk in address order (chunks.c), then the size
 * statistics (stats.c). The capture (capture.c) runs before, on the stopped
 * target, and shares only the bounds below.
 *
 * Every list walk is bounded and cycle-detected (a chunk met twice in the free
 * lists is a cycle or a double free), every pointer is checked to lie in a heap
 * segment before it is followed, and every inconsistency is recorded as a
 * "problem" {address, arena, what}; the walk goes on where it safely can.
 */
#ifndef TLI_GLIBC_WALK_H
#define TLI_GLIBC_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/hash.h"
#include "core/vec.h"
#include "malloc.h"

#define MAX_ARENAS 4096
#define MAX_HEAPS_PER_ARENA 65536
#define MAX_MMAP_STEPS 1000000
#define MAX_MAIN_SEGS 4096

/* ---- free-list membership (bins.c) ----
 * Every chunk met in a free list gets a mark (kind, arena, bin), appended in list
 * order; a bitmap over its heap segment (one bit per MALLOC_ALIGNMENT bytes) answers
 * "seen before?" (cycle / double free) in O(1). Before the heap walk the marks are
 * sorted by address (radix sort), and the walk meets them in that order. */
struct mark { uint64_t addr; uint8_t kind; uint16_t arena; uint32_t aux; };
/** Bit of mark.arena: the heap walk met this chunk. */
#define MARK_MET 0x8000u
TLI_VEC(markset, struct mark);

/* ---- per-size counts of in-use chunks (stats.c) ---- */
#define SZ_DIRECT 4096 /* sizes below MALLOC_ALIGNMENT * SZ_DIRECT are counted in a plain array */
struct sizetab {
	uint64_t direct[SZ_DIRECT];
	struct tli_u64map big;   /* size -> count, for the larger sizes */
};

/** A heap segment in address order (segments.c). */
struct segref {
	size_t arena, seg;
	uint64_t start, end;
	uint64_t *bits; /* free-list membership, one bit per MALLOC_ALIGNMENT bytes from start (lazy) */
};

struct walk {
	struct tli_target *t;
	const struct tli_gl_layout *L;
	struct tli_gl_heap *h;
	struct segref *segs;  /* sorted by start */
	size_t nsegs;
	struct markset marks; /* sorted by address once the lists are walked */
	bool sorted;
	size_t cur;           /* cursor of the in-order heap walk */
	bool want_chunks;     /* keep every chunk in h->chunks (else only mmapped ones) */
	uint64_t *hinfo;      /* heap_info addresses of the thread heaps, sorted */
	size_t nhinfo;
	struct sizetab *sizes;
};

/* ---- walk.c ---- */
/** Record a problem {address, arena (-1: none), what} (bounded by h->max_problems). */
void tli_gl_problem(struct tli_gl_heap *h, uint64_t addr, long arena, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/** Read len bytes from a heap segment copy, else from the target (capture). */
bool tli_gl_rd(const struct walk *w, uint64_t addr, void *buf, size_t len);
/* Give back the resident pages of segments read in place from a core (tli_target_mapped_ptr);
 * they are read again from the file when touched. No-op for copies and live captures. */
void tli_gl_drop_in_place(struct walk *w);
static inline bool tli_gl_rd64(const struct walk *w, uint64_t addr, uint64_t *v)
{
	return tli_gl_rd(w, addr, v, 8);
}
/** HEAP_MAX_SIZE of this process (malloc/arena.c; 4 * hp_pagesize with glibc.malloc.hugetlb). */
uint64_t tli_gl_heap_max(const struct tli_gl_layout *L, uint64_t hp_pagesize);
/** A readable+writable anonymous mapping (where thread heaps and mmapped chunks live). */
static inline bool tli_gl_anon_rw(const struct tli_mapping *mp)
{
	if ((mp->prot & (TLI_PROT_R | TLI_PROT_W)) != (TLI_PROT_R | TLI_PROT_W))
		return false;
	return !mp->path || !mp->path[0] || !strncmp(mp->path, "[anon", 5);
}
/** Is the chunk header (prev_size ps, size word raw) at q an mmapped chunk that fits in
 *  [q, end)? mmap'd chunks have only IS_MMAPPED set and prev_size + size page-aligned. */
static inline bool tli_gl_mmapped_chunk_at(uint64_t q, uint64_t ps, uint64_t raw, uint64_t end, uint64_t *sz)
{
	*sz = tli_gl_chunksize(raw);
	return (raw & TLI_GL_FLAGS) == TLI_GL_IS_MMAPPED && *sz && !((ps + *sz) & (TLI_GL_PAGESIZE - 1)) &&
	       q + *sz <= end && q + *sz > q;
}

/* ---- segments.c ---- */
/** Find the heap segments of arena ai (main: the sbrk heap and, non-contiguous, the others). */
void tli_gl_arena_segments(struct walk *w, size_t ai, uint64_t sbrk_base, uint64_t hmax);
/** w->segs / w->hinfo from the arenas' segments, sorted, overlaps dropped (reported when
 *  `report`). False on ENOMEM. */
bool tli_gl_build_segrefs(struct walk *w, bool report);
/** The segment containing addr, or NULL. */
const struct segref *tli_gl_seg_of(const struct walk *w, uint64_t addr);
/** Where a scan of an anonymous mapping goes on after q when q is in a heap segment or
 *  is a thread heap's heap_info; 0 otherwise. */
uint64_t tli_gl_skip_known(const struct walk *w, uint64_t q, uint64_t hmax);

/* ---- tcache_scan.c ---- */
/** When a thread's tcache pointer is unknown (no thread pointer in the core): add the
 *  allocated chunks whose content is a valid tcache_perthread_struct to h->tc. */
void tli_gl_find_tcaches_by_content(struct walk *w);

/* ---- bins.c ---- */
/** Safe-linking on (1) or off (0), voted by the heads of the tcache bins and fastbins. */
int tli_gl_detect_safe_linking(struct walk *w);
void tli_gl_walk_tcache(struct walk *w, struct tli_gl_tcache *tc);
void tli_gl_walk_fastbins(struct walk *w, size_t ai);
void tli_gl_walk_bins(struct walk *w, size_t ai);
/** Sort the marks by address: the heap walk then meets them in order. */
void tli_gl_marks_sort(struct walk *w);
/** The mark at address p (marks sorted), or NULL. */
struct mark *tli_gl_mark_at(struct walk *w, uint64_t p);

/* ---- chunks.c ---- */
/** Room for `cap` chunks in h->chunks, lazily faulted (best effort). */
void tli_gl_chunks_reserve(struct tli_gl_heap *h, size_t cap);
/** Walk one segment chunk by chunk (kinds, marks, per-arena totals, sizes). */
void tli_gl_walk_seg(struct walk *w, size_t ai, size_t si);
/** Scan anonymous mappings for mmapped chunks (appended to h->chunks). */
void tli_gl_find_mmapped(struct walk *w, uint64_t hmax);
/** h->chunks[0, nheap) and [nheap, nchunks) are each meant to be sorted; merge them. */
void tli_gl_merge_tail(struct tli_gl_heap *h, size_t nheap);

/* ---- stats.c ---- */
/** Count one in-use chunk of this size. */
void tli_gl_sizes_add(struct sizetab *t, uint64_t size);
/** The counts as a sorted array in h->sizes; the table is emptied. */
void tli_gl_sizes_finish(struct sizetab *t, struct tli_gl_heap *h);
/** Free the table's storage. */
void tli_gl_sizes_free(struct sizetab *t);

#endif
