/* SPDX-License-Identifier: MIT */
/**
 * @file malloc.h
 * Internal: the resolved malloc layout and the walker over a captured target.
 * The walker knows no offsets: everything comes from struct tli_gl_layout,
 * which libc.c fills from the libc layout (DWARF / symbols), and which unit
 * tests fill from their own synthetic images.
 */
#ifndef TLI_GLIBC_MALLOC_H
#define TLI_GLIBC_MALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"
#include "core/target.h"

/* x86_64 ABI facts of ptmalloc that are not in any debug info (macros). */
#define TLI_GL_SIZE_SZ 8u
#define TLI_GL_ALIGN 16u
#define TLI_GL_PREV_INUSE 1u
#define TLI_GL_IS_MMAPPED 2u
#define TLI_GL_NON_MAIN 4u
#define TLI_GL_FLAGS 7u
/* malloc_state.flags: the main arena continued in mmapped memory (sysmalloc) */
#define TLI_GL_NONCONTIGUOUS 2u

struct tli_gl_layout {
	/* struct malloc_state */
	uint32_t ms_size, ms_mutex, ms_flags, ms_fastbins, ms_top, ms_last_remainder, ms_bins,
		ms_next, ms_next_free, ms_attached, ms_system_mem, ms_max_system_mem;
	uint32_t nfastbins;  /**< from the size of fastbinsY */
	uint32_t nbins;      /**< NBINS, from the size of bins[] (= size/16 + 1) */
	/* struct malloc_par */
	uint32_t mp_n_mmaps, mp_max_n_mmaps, mp_mmapped_mem, mp_max_mmapped_mem, mp_sbrk_base,
		mp_tcache_count, mp_tcache_bins, mp_hp_pagesize, mp_size;
	bool has_hp_pagesize;
	bool has_tcache_fields;
	/* heap_info */
	uint32_t hi_size, hi_ar_ptr, hi_prev, hi_hsize, hi_mprotect_size;
	/* tcache_perthread_struct */
	bool has_tcache;
	uint32_t tc_size, tc_counts, tc_count_width, tc_entries, tc_nbins;
	uint32_t te_next;
	/* malloc_chunk */
	uint32_t mc_prev_size, mc_size, mc_fd, mc_bk;
	uint64_t heap_max;           /**< HEAP_MAX_SIZE (before hp_pagesize adjustment) */
	int safe_linking;            /**< 1/0 if known, -1: detect from the lists */
	/* addresses in the target */
	uint64_t main_arena, mp;
};

enum tli_gl_kind {
	GLK_INUSE = 0,     /* in use by the program */
	GLK_TCACHE,        /* free, in a thread's tcache (arena: in use) */
	GLK_FAST,          /* free, in a fastbin (arena: in use) */
	GLK_UNSORTED,
	GLK_SMALL,
	GLK_LARGE,
	GLK_TOP,
	GLK_FENCEPOST,     /* 0x10 end-of-heap marker */
	GLK_MMAPPED,       /* found by the mapping scan */
	GLK_FREE_UNBINNED, /* free (next P clear) but in no bin: corruption */
	GLK__N
};
extern const char *const tli_gl_kind_names[GLK__N];

struct tli_gl_chunk {
	uint64_t addr;     /**< chunk address (user pointer = addr + 16) */
	uint64_t size;     /**< chunksize (flags masked) */
	uint8_t kind;      /**< enum tli_gl_kind */
	uint8_t flags;     /**< raw low 3 bits of mchunk_size */
	uint16_t arena;    /**< arena index, 0xffff for mmapped */
	uint32_t aux;      /**< tcache/fast/bin index */
};

struct tli_gl_seg {
	uint64_t start, end;   /**< chunks walked from start; end = heap end */
	uint64_t heap_info;    /**< heap_info address (0: main arena sbrk segment) */
	uint64_t hsize, mprotect_size;
	const uint8_t *buf;    /**< [start, end) as captured (NULL: unreadable): in place in the
				    target's capture when it is contiguous there, else a copy */
	bool buf_owned;        /**< buf is our copy (freed with the heap) */
	uint64_t walked;       /**< bytes covered by chunks */
};

struct tli_gl_binstat { uint64_t count, bytes, raw_bytes, raw_min, raw_max; };

/** How many in-use chunks (program view: GLK_INUSE and GLK_MMAPPED) have one size. */
struct tli_gl_sizecount { uint64_t size, count; };

struct tli_gl_arena {
	uint64_t addr;
	uint64_t top, top_size, last_remainder, system_mem, max_system_mem, next, attached;
	uint32_t mutex, flags;
	struct tli_gl_seg *segs;
	size_t nsegs;
	uint64_t fast_head[16];
	struct tli_gl_binstat fast[16];
	struct tli_gl_binstat bins[256];   /**< index = bin number 1..nbins-1 */
	uint64_t n_kind[GLK__N], b_kind[GLK__N];
	uint64_t overhead;                 /**< system_mem - bytes of chunks walked */
	bool walked_ok;
};

struct tli_gl_tcache {
	int tid;
	uint64_t tp;          /**< fs_base */
	uint64_t slot;        /**< address of the thread's `tcache` variable */
	uint64_t ptr;         /**< tcache_perthread_struct *, 0 if none */
	uint32_t counts[128];
	uint64_t found[128];  /**< entries walked per bin */
	uint64_t bytes[128];
	bool ok;
};

struct tli_gl_heap {
	struct tli_gl_layout L;
	struct tli_gl_arena *arenas;
	size_t narenas;
	struct tli_gl_tcache *tc;
	size_t ntc;
	struct tli_gl_chunk *chunks;   /**< sorted by address: every chunk, or with
					    TLI_GL_WALK_NO_CHUNKS only the mmapped ones */
	size_t nchunks, chunks_cap;
	bool chunks_huge;              /**< chunks is a tli_gl_huge_alloc block of chunks_cap */
	struct tli_gl_sizecount *sizes; /**< in-use chunks per size (program view), by size */
	size_t nsizes;
	uint64_t n_mmaps, max_n_mmaps, mmapped_mem, max_mmapped_mem, sbrk_base, tcache_count,
		tcache_bins, hp_pagesize;
	uint64_t mmapped_found, mmapped_found_bytes;
	int safe_linking;              /**< as used (detected or known) */
	json_t *problems;              /**< array of {address, what, arena} */
	int max_problems;
	uint64_t nproblems;
};

/** Flags of tli_gl_walk_ex(). */
enum {
	/** Keep only mmapped chunks in h->chunks (per-kind totals are in the arenas,
	 *  sizes in h->sizes): for commands that print no per-chunk data. */
	TLI_GL_WALK_NO_CHUNKS = 1,
};

/* A thread as the walker needs it. */
struct tli_gl_thread { int tid; uint64_t tp; uint64_t tcache_slot; };

/**
 * Capture phase (target stopped): arenas, heap_info chain, heap segments,
 * tcache structs and mmapped chunk headers. `extra`/`nextra`: more ranges to
 * capture in the same pass (leaks: the roots). Then walk (after release; reads
 * from the capture). The two are split so that tests can call walk directly
 * on a fake target.
 */
struct tli_error *tli_gl_capture(struct tli_target *t, const struct tli_gl_layout *L,
				 const struct tli_gl_thread *th, size_t nth,
				 const struct tli_range *extra, size_t nextra);
struct tli_error *tli_gl_walk(struct tli_target *t, const struct tli_gl_layout *L,
			      const struct tli_gl_thread *th, size_t nth, int max_problems,
			      struct tli_gl_heap **ret);
/** tli_gl_walk with TLI_GL_WALK_* flags. The heap may point into the target's
 *  capture: free it before destroying the target. */
struct tli_error *tli_gl_walk_ex(struct tli_target *t, const struct tli_gl_layout *L,
				 const struct tli_gl_thread *th, size_t nth, int max_problems,
				 unsigned flags, struct tli_gl_heap **ret);
/**
 * Before a deferred stop: reserve (allocate and pre-fault) capture memory for what
 * tli_gl_capture will read, from the mappings known at open: the [heap] mapping and
 * anonymous mappings that start on a HEAP_MAX_SIZE boundary (thread heaps), or with
 * all_rw every readable+writable mapping (leaks). Returns bytes reserved.
 */
uint64_t tli_gl_reserve(struct tli_target *t, bool all_rw);
void tli_gl_heap_free(struct tli_gl_heap *h);

/** Big arrays (millions of chunks): zeroed, lazily faulted, on transparent huge
 *  pages where possible (page faults and TLB misses are most of their cost
 *  otherwise). NULL on failure. */
void *tli_gl_huge_alloc(size_t bytes);
void tli_gl_huge_free(void *p, size_t bytes);

/** Chunk containing addr (header or body), or NULL. */
const struct tli_gl_chunk *tli_gl_find_chunk(const struct tli_gl_heap *h, uint64_t addr);
/** Segment containing addr, or NULL (arena index in *arena). */
const struct tli_gl_seg *tli_gl_find_seg(const struct tli_gl_heap *h, uint64_t addr, size_t *arena);

/** mallinfo2 as glibc computes it, from the walk. */
json_t *tli_gl_mallinfo2_json(const struct tli_gl_heap *h);
/** Per-arena malloc_info numbers (same names as the XML). */
json_t *tli_gl_malloc_info_json(const struct tli_gl_heap *h, size_t arena);

#endif
