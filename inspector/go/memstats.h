/* SPDX-License-Identifier: MIT */
/**
 * @file memstats.h
 * runtime.MemStats of a stopped Go process or core, computed from outside the way
 * runtime.readmemstats_m computes it (runtime/mstats.go), without its flush:
 *   - the consistent heap stats memstats.heapStats (every slot summed, as unsafeRead),
 *   - plus what flushallmcaches would still move into them from each P's mcache
 *     (runtime/mcache.go, releaseAll: allocCount - allocCountBeforeCache of every
 *     cached span, and mcache.tinyAllocs),
 *   - gcController.heapInUse/heapFree/heapReleased, the *_sys stats, GC counts,
 *   - next_gc = gcController.heapGoal() (runtime/mgcpacer.go, heapGoalInternal and
 *     memoryLimitHeapGoal), GOGC (gcPercent) and the memory limit.
 * Every offset comes by name from the layout; members and constants a runtime lacks
 * are branched on by presence.
 *
 * Phases: tli_gomem_new (layouts, before the stop), tli_gomem_capture (target
 * stopped: copies only, one vectored read per pointer depth), tli_gomem_json (after
 * the release). The arithmetic is tli_gomem_compute, a pure function of
 * struct tli_gomem_raw (unit-tested).
 */
#ifndef TLI_GO_MEMSTATS_H
#define TLI_GO_MEMSTATS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"
#include "core/session.h"

/** Most size classes we accept (Go has 68). */
#define TLI_GOMEM_MAX_CLASSES 256

/** Where each input comes from; a figure needing a source that failed is unreadable. */
enum tli_gomem_src {
	TLI_GOMEM_SRC_HEAPSTATS,   /**< memstats.heapStats */
	TLI_GOMEM_SRC_SIZES,       /**< the size class table (class_to_size / gc.SizeClassToSize) */
	TLI_GOMEM_SRC_MCACHES,     /**< allp[i].mcache: what a flush would add */
	TLI_GOMEM_SRC_MSTATS,      /**< memstats: *_sys, GC counts and times */
	TLI_GOMEM_SRC_GCC,         /**< gcController: heap in use/free/released, GOGC, memory limit */
	TLI_GOMEM_SRC_GOAL,        /**< gcController pacer state and constants of the heap goal */
	TLI_GOMEM_SRC_MHEAP,       /**< mheap_.spanalloc.inuse, mheap_.cachealloc.inuse */
	TLI_GOMEM_SRC__N
};

/** The inputs of readmemstats_m, as read from the target (all sums already taken). */
struct tli_gomem_raw {
	unsigned ok;                         /**< bit per enum tli_gomem_src: read */
	char why[TLI_GOMEM_SRC__N][120];     /**< why a source is not read */
	/* memstats.heapStats, all slots summed */
	int64_t committed, released, in_heap, in_stacks, in_workbufs, in_ptrscalar;
	uint64_t tiny, large_alloc, large_alloc_count, large_free, large_free_count;
	uint32_t nclasses;
	uint64_t small_alloc[TLI_GOMEM_MAX_CLASSES], small_free[TLI_GOMEM_MAX_CLASSES];
	uint64_t sizes[TLI_GOMEM_MAX_CLASSES];
	/* what flushallmcaches would add */
	uint64_t pend_small[TLI_GOMEM_MAX_CLASSES], pend_tiny, pend_bytes;
	/* memstats */
	uint64_t stacks_sys, mspan_sys, mcache_sys, buckhash_sys, gcmisc_sys, other_sys;
	uint64_t last_gc_unix, pause_total_ns, numgc, numforcedgc;
	/* gcController */
	int64_t gc_percent, memory_limit;
	uint64_t heap_inuse, heap_free, heap_released, total_alloc, total_free, mapped_ready;
	uint64_t pct_goal, sweep_dist, triggered, heap_marked;
	bool headroom_pct_known;             /**< memoryLimitHeapGoalHeadroomPercent exists (go1.21+) */
	int64_t headroom_pct, headroom_min;  /**< percent, minimum (or the fixed headroom of go1.19) */
	/* mheap_ */
	uint64_t spanalloc_inuse, cachealloc_inuse;
};

/** The figures, in runtime.MemStats order (snake_case names: tli_gomem_names). */
enum tli_gomem_field {
	TLI_GOMEM_ALLOC, TLI_GOMEM_TOTAL_ALLOC, TLI_GOMEM_SYS, TLI_GOMEM_MALLOCS, TLI_GOMEM_FREES,
	TLI_GOMEM_HEAP_ALLOC, TLI_GOMEM_HEAP_SYS, TLI_GOMEM_HEAP_IDLE, TLI_GOMEM_HEAP_INUSE,
	TLI_GOMEM_HEAP_RELEASED, TLI_GOMEM_HEAP_OBJECTS, TLI_GOMEM_STACK_INUSE, TLI_GOMEM_STACK_SYS,
	TLI_GOMEM_MSPAN_INUSE, TLI_GOMEM_MSPAN_SYS, TLI_GOMEM_MCACHE_INUSE, TLI_GOMEM_MCACHE_SYS,
	TLI_GOMEM_BUCK_HASH_SYS, TLI_GOMEM_GC_SYS, TLI_GOMEM_OTHER_SYS, TLI_GOMEM_NEXT_GC, TLI_GOMEM_LAST_GC,
	TLI_GOMEM_PAUSE_TOTAL_NS, TLI_GOMEM_NUM_GC, TLI_GOMEM_NUM_FORCED_GC, TLI_GOMEM_GOGC,
	TLI_GOMEM_MEMORY_LIMIT,
	TLI_GOMEM__N
};

extern const char *const tli_gomem_names[TLI_GOMEM__N];

struct tli_gomem_stats {
	int64_t v[TLI_GOMEM__N];   /**< unsigned figures stored as their bits; gogc and memory_limit signed */
	bool ok[TLI_GOMEM__N];     /**< readable (every source it needs was read) */
	const char *why[TLI_GOMEM__N];  /**< if not: the first missing source's reason (points into raw) */
};

/** The arithmetic of readmemstats_m on `raw` (pure). */
void tli_gomem_compute(const struct tli_gomem_raw *raw, struct tli_gomem_stats *ret);
/** gcController.heapGoal() on `raw` (pure; GOAL, GCC and MCACHES sources). */
uint64_t tli_gomem_heap_goal(const struct tli_gomem_raw *raw);

struct tli_gomem;

/** Resolve the layouts (files only, before the stop). Never fails for a missing part:
 *  what cannot be resolved becomes a source's reason. */
struct tli_error *tli_gomem_new(struct tli_session *s, struct tli_layout *l, struct tli_gomem **ret);
/** While the target is stopped: copy what the figures need (per-source failures are kept). */
struct tli_error *tli_gomem_capture(struct tli_gomem *m);
/** After the release: the raw inputs (sums of the captured copies). */
const struct tli_gomem_raw *tli_gomem_raw(struct tli_gomem *m);
/** {memstats: {...}, memstats_unreadable: [{field, reason}]} set into `go`. */
void tli_gomem_json(struct tli_gomem *m, json_t *go);
void tli_gomem_destroy(struct tli_gomem *m);

#endif
