/* SPDX-License-Identifier: MIT */
/**
 * @file malloc.h
 * Internal: ptmalloc's own macros, the resolved malloc layout, and the walker over
 * a captured target (capture.c, then walk.c and its steps, see walk.h).
 * The walker knows no offsets: everything comes from struct tli_gl_layout,
 * which malloc_layout.c fills from libc's layout (DWARF / symbols / runtime map),
 * and which unit tests fill from their own synthetic images.
 */
#ifndef TLI_GLIBC_MALLOC_H
#define TLI_GLIBC_MALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"
#include "core/target.h"

/* ---- ptmalloc's own macros on x86_64 (malloc/malloc.c, glibc 2.36) ----
 * Facts of the allocator that no debug info holds (they are macros). Written once here:
 * the walker, leaks, the commands (and explain) use these names, never the numbers. */
#define TLI_GL_SIZE_SZ 8u            /**< SIZE_SZ: sizeof (INTERNAL_SIZE_T) */
#define TLI_GL_MALLOC_ALIGNMENT 16u  /**< MALLOC_ALIGNMENT (2 * SIZE_SZ) */
#define TLI_GL_MALLOC_ALIGN_MASK (TLI_GL_MALLOC_ALIGNMENT - 1)  /**< MALLOC_ALIGN_MASK */
#define TLI_GL_CHUNK_HDR_SZ (2 * TLI_GL_SIZE_SZ) /**< CHUNK_HDR_SZ: mchunk_prev_size + mchunk_size;
						  also the size of sysmalloc's fenceposts */
#define TLI_GL_MINSIZE 32u           /**< MINSIZE: the smallest chunk */
/** A core's heap read in place stays resident only this much at a time during the walk */
#define TLI_GL_WINDOW (64ull << 20)
/** Random reads into such a heap between two give-backs: a fault on a file mapping maps up to
 *  64 KiB around it (the kernel's fault_around_bytes), so each read may make that resident */
#define TLI_GL_WINDOW_STEPS (TLI_GL_WINDOW / (64u << 10))
#define TLI_GL_PREV_INUSE 1u         /**< PREV_INUSE bit of mchunk_size */
#define TLI_GL_IS_MMAPPED 2u         /**< IS_MMAPPED */
#define TLI_GL_NON_MAIN 4u           /**< NON_MAIN_ARENA */
#define TLI_GL_FLAGS 7u              /**< SIZE_BITS: the flag bits of mchunk_size */
/** NONCONTIGUOUS_BIT of malloc_state.flags: the main arena continued in mmapped memory (sysmalloc) */
#define TLI_GL_NONCONTIGUOUS 2u
/** GLRO (dl_pagesize) on x86_64: mmapped chunks and heap segment ends are page aligned. */
#define TLI_GL_PAGESIZE 4096u

/** chunk2mem: the user pointer of the chunk at p. */
static inline uint64_t tli_gl_chunk2mem(uint64_t p) { return p + TLI_GL_CHUNK_HDR_SZ; }
/** mem2chunk: the chunk of user pointer mem. */
static inline uint64_t tli_gl_mem2chunk(uint64_t mem) { return mem - TLI_GL_CHUNK_HDR_SZ; }
/** chunksize: the mchunk_size word without its flag bits. */
static inline uint64_t tli_gl_chunksize(uint64_t raw) { return raw & ~(uint64_t)TLI_GL_FLAGS; }
/** misaligned_chunk (or !aligned_OK): p is not on a MALLOC_ALIGNMENT boundary. */
static inline bool tli_gl_misaligned(uint64_t p) { return (p & TLI_GL_MALLOC_ALIGN_MASK) != 0; }
/** v rounded up to MALLOC_ALIGNMENT (the first chunk of a heap). */
static inline uint64_t tli_gl_align_up(uint64_t v)
{
	return (v + TLI_GL_MALLOC_ALIGN_MASK) & ~(uint64_t)TLI_GL_MALLOC_ALIGN_MASK;
}
/** memsize: the usable bytes of an in-use chunk of chunksize `size` (musable: an mmapped
 *  chunk has no next chunk whose prev_size it could borrow). */
static inline uint64_t tli_gl_memsize(uint64_t size, bool mmapped)
{
	return size - TLI_GL_CHUNK_HDR_SZ + (mmapped ? 0 : TLI_GL_SIZE_SZ);
}
/** The chunk size tcache bin i holds: request2size (tidx2usize (i)) (csize2tidx inverted). */
static inline uint64_t tli_gl_tidx2csize(uint32_t i)
{
	return (uint64_t)i * TLI_GL_MALLOC_ALIGNMENT + TLI_GL_MINSIZE;
}
/** The chunk size fastbin i holds: fastbin_index (sz) = (sz >> 4) - 2, inverted. */
static inline uint64_t tli_gl_fastbin_csize(uint32_t i) { return ((uint64_t)i + 2) << 4; }
/** REVEAL_PTR (safe-linking, glibc >= 2.32): the pointer PROTECT_PTR stored at address pos. */
static inline uint64_t tli_gl_reveal_ptr(uint64_t pos, uint64_t stored) { return stored ^ (pos >> 12); }

/* Bounds of the layouts this walker accepts (malloc_layout.c checks them): NFASTBINS is 10
 * and NBINS 128 on x86_64, TCACHE_MAX_BINS 64 (tcache_perthread_struct: 640 bytes). */
#define TLI_GL_MAX_FASTBINS 16u
#define TLI_GL_MAX_BINS 256u
#define TLI_GL_MAX_TCACHE_BINS 128u
#define TLI_GL_MAX_TCACHE_SIZE 4096u
#define TLI_GL_MAX_MP_SIZE 512u        /**< struct malloc_par (about 140 bytes) */

/** tli_gl_chunk.arena of a chunk that belongs to no arena (mmapped). */
#define TLI_GL_NO_ARENA 0xffffu

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
	uint64_t addr;     /**< chunk address (user pointer: tli_gl_chunk2mem) */
	uint64_t size;     /**< chunksize (flags masked) */
	uint8_t kind;      /**< enum tli_gl_kind */
	uint8_t flags;     /**< raw low 3 bits of mchunk_size */
	uint16_t arena;    /**< arena index, TLI_GL_NO_ARENA for mmapped */
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
	uint64_t fast_head[TLI_GL_MAX_FASTBINS];
	struct tli_gl_binstat fast[TLI_GL_MAX_FASTBINS];
	struct tli_gl_binstat bins[TLI_GL_MAX_BINS];   /**< index = bin number 1..nbins-1 */
	uint64_t n_kind[GLK__N], b_kind[GLK__N];
	uint64_t overhead;                 /**< system_mem - bytes of chunks walked */
	bool walked_ok;
};

struct tli_gl_tcache {
	int tid;
	uint64_t tp;          /**< fs_base */
	uint64_t slot;        /**< address of the thread's `tcache` variable */
	uint64_t ptr;         /**< tcache_perthread_struct *, 0 if none */
	uint32_t counts[TLI_GL_MAX_TCACHE_BINS];
	uint64_t found[TLI_GL_MAX_TCACHE_BINS];  /**< entries walked per bin */
	uint64_t bytes[TLI_GL_MAX_TCACHE_BINS];
	bool ok;
	bool by_content;      /**< found by its content (tcache_scan.c): owner thread unknown, tid 0 */
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
	bool chunks_huge;              /**< chunks is a tli_big_alloc_lazy block of chunks_cap */
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
/**
 * Said up front (issue 15 item 2): a live target not stopped yet whose capture (the
 * same ranges as tli_gl_reserve) cannot fit in what this process may still have
 * (core/memlimit.h) gives TLI_E_NOMEM naming the need and the limit, and the target
 * is never stopped. NULL when it fits (or is not a deferred live target).
 */
struct tli_error *tli_gl_afford(struct tli_target *t, bool all_rw);
/** The same test for `need` bytes of `what` (pid 0: a core file). */
struct tli_error *tli_gl_afford_bytes(uint64_t need, const char *what, int pid);
void tli_gl_heap_free(struct tli_gl_heap *h);

/** Chunk containing addr (header or body), or NULL. */
const struct tli_gl_chunk *tli_gl_find_chunk(const struct tli_gl_heap *h, uint64_t addr);
/** Segment containing addr, or NULL (arena index in *arena). */
const struct tli_gl_seg *tli_gl_find_seg(const struct tli_gl_heap *h, uint64_t addr, size_t *arena);

/** mallinfo2 as glibc computes it (malloc/malloc.c int_mallinfo), from the walk. */
json_t *tli_gl_mallinfo2_json(const struct tli_gl_heap *h);
/* ---- statistics from the walk (stats.c) ---- */
/** Per-arena malloc_info numbers (same names as the XML). */
json_t *tli_gl_malloc_info_json(const struct tli_gl_heap *h, size_t arena);
/** malloc_info's <total> lines: the arenas' numbers summed, plus the mmapped chunks. */
json_t *tli_gl_malloc_info_total_json(const struct tli_gl_heap *h);
/** In-use chunks (program view) by power-of-two size class: [{from, to, count, bytes}]. */
json_t *tli_gl_histogram_json(const struct tli_gl_heap *h);
/** The `top` sizes (0: 10, <0: all) with the most in-use bytes: [{size, count, bytes}]. */
json_t *tli_gl_top_sizes_json(const struct tli_gl_heap *h, int top);

#endif
