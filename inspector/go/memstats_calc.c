/* SPDX-License-Identifier: MIT */
/*
 * runtime.MemStats from the raw inputs: the arithmetic of readmemstats_m
 * (runtime/mstats.go) and of gcControllerState.heapGoalInternal /
 * memoryLimitHeapGoal (runtime/mgcpacer.go), go1.19-1.27. Pure: no target, no
 * layout (tests/unit/test_gomem.c). See memstats.h.
 */
#include "go/memstats.h"

#include <string.h>

const char *const tli_gomem_names[TLI_GOMEM__N] = {
	"alloc", "total_alloc", "sys", "mallocs", "frees", "heap_alloc", "heap_sys", "heap_idle", "heap_inuse",
	"heap_released", "heap_objects", "stack_inuse", "stack_sys", "mspan_inuse", "mspan_sys", "mcache_inuse",
	"mcache_sys", "buck_hash_sys", "gc_sys", "other_sys", "next_gc", "last_gc", "pause_total_ns", "num_gc",
	"num_forced_gc", "gogc", "memory_limit",
};

#define B(x) (1u << TLI_GOMEM_SRC_##x)
/* the allocation counts: consistent stats, plus what the mcaches hold, weighed by class size */
#define COUNTS (B(HEAPSTATS) | B(MCACHES))
#define BYTES (COUNTS | B(SIZES))

/* the sources each figure needs */
static const unsigned needs[TLI_GOMEM__N] = {
	[TLI_GOMEM_ALLOC] = BYTES,
	[TLI_GOMEM_TOTAL_ALLOC] = BYTES,
	[TLI_GOMEM_SYS] = B(HEAPSTATS) | B(GCC) | B(MSTATS),
	[TLI_GOMEM_MALLOCS] = COUNTS,
	[TLI_GOMEM_FREES] = COUNTS,
	[TLI_GOMEM_HEAP_ALLOC] = BYTES,
	[TLI_GOMEM_HEAP_SYS] = B(GCC),
	[TLI_GOMEM_HEAP_IDLE] = B(GCC),
	[TLI_GOMEM_HEAP_INUSE] = B(GCC),
	[TLI_GOMEM_HEAP_RELEASED] = B(GCC),
	[TLI_GOMEM_HEAP_OBJECTS] = COUNTS,
	[TLI_GOMEM_STACK_INUSE] = B(HEAPSTATS),
	[TLI_GOMEM_STACK_SYS] = B(HEAPSTATS) | B(MSTATS),
	[TLI_GOMEM_MSPAN_INUSE] = B(MHEAP),
	[TLI_GOMEM_MSPAN_SYS] = B(MSTATS),
	[TLI_GOMEM_MCACHE_INUSE] = B(MHEAP),
	[TLI_GOMEM_MCACHE_SYS] = B(MSTATS),
	[TLI_GOMEM_BUCK_HASH_SYS] = B(MSTATS),
	[TLI_GOMEM_GC_SYS] = B(HEAPSTATS) | B(MSTATS),
	[TLI_GOMEM_OTHER_SYS] = B(MSTATS),
	/* the memory-limit goal weighs gcController.totalAlloc plus the mcaches' bytes */
	[TLI_GOMEM_NEXT_GC] = B(GCC) | B(GOAL) | B(MCACHES),
	[TLI_GOMEM_LAST_GC] = B(MSTATS),
	[TLI_GOMEM_PAUSE_TOTAL_NS] = B(MSTATS),
	[TLI_GOMEM_NUM_GC] = B(MSTATS),
	[TLI_GOMEM_NUM_FORCED_GC] = B(MSTATS),
	[TLI_GOMEM_GOGC] = B(GCC),
	[TLI_GOMEM_MEMORY_LIMIT] = B(GCC),
};

/* memoryLimitHeapGoal: the heap goal the memory limit allows */
static uint64_t memory_limit_goal(const struct tli_gomem_raw *r)
{
	uint64_t heap_free = r->heap_free;
	/* gcController.totalAlloc counts a cached span's slots when it is uncached (mcache.go):
	 * the flush that ReadMemStats does first adds pend_bytes */
	uint64_t heap_alloc = r->total_alloc + r->pend_bytes - r->total_free;
	uint64_t mapped = r->mapped_ready;
	uint64_t limit = (uint64_t)r->memory_limit;
	/* the runtime retries until heapFree+heapAlloc <= mappedReady; a stopped target cannot */
	uint64_t non_heap = heap_free + heap_alloc <= mapped ? mapped - heap_free - heap_alloc : 0;
	uint64_t overage = mapped > limit ? mapped - limit : 0;
	if (non_heap + overage >= limit)
		return r->heap_marked;
	uint64_t goal = limit - (non_heap + overage);
	uint64_t headroom = (uint64_t)r->headroom_min;
	if (r->headroom_pct_known) {
		headroom = goal / 100 * (uint64_t)r->headroom_pct;
		if (headroom < (uint64_t)r->headroom_min)
			headroom = (uint64_t)r->headroom_min;
	}
	if (goal < headroom || goal - headroom < headroom)
		goal = headroom;
	else
		goal -= headroom;
	if (goal < r->heap_marked)
		goal = r->heap_marked;
	return goal;
}

uint64_t tli_gomem_heap_goal(const struct tli_gomem_raw *r)
{
	uint64_t goal = r->pct_goal;
	uint64_t ml = memory_limit_goal(r);
	if (ml < goal)
		return ml;
	if (r->sweep_dist > goal)
		goal = r->sweep_dist;
	const uint64_t min_runway = 64 << 10;
	if (r->triggered != ~0ull && goal < r->triggered + min_runway)
		goal = r->triggered + min_runway;
	return goal;
}

static void figures(const struct tli_gomem_raw *r, int64_t *v)
{
	uint64_t total_alloc = r->large_alloc, nmalloc = r->large_alloc_count;
	uint64_t total_free = r->large_free, nfree = r->large_free_count;
	for (uint32_t i = 0; i < r->nclasses && i < TLI_GOMEM_MAX_CLASSES; i++) {
		uint64_t a = r->small_alloc[i] + r->pend_small[i];
		total_alloc += a * r->sizes[i];
		nmalloc += a;
		total_free += r->small_free[i] * r->sizes[i];
		nfree += r->small_free[i];
	}
	/* tiny allocations count as both allocated and freed (mstats.go says why) */
	uint64_t tiny = r->tiny + r->pend_tiny;
	nmalloc += tiny;
	nfree += tiny;
	uint64_t stacks = (uint64_t)r->in_stacks, workbufs = (uint64_t)r->in_workbufs;
	uint64_t ptrscalar = (uint64_t)r->in_ptrscalar; /* 0 where heapStatsDelta has no inPtrScalarBits */
	uint64_t heap_sys = r->heap_inuse + r->heap_free + r->heap_released;
#define SET(f, x) (v[TLI_GOMEM_##f] = (int64_t)(x))
	SET(ALLOC, total_alloc - total_free);
	SET(TOTAL_ALLOC, total_alloc);
	SET(SYS, heap_sys + r->stacks_sys + r->mspan_sys + r->mcache_sys + r->buckhash_sys + r->gcmisc_sys +
		     r->other_sys + stacks + workbufs + ptrscalar);
	SET(MALLOCS, nmalloc);
	SET(FREES, nfree);
	SET(HEAP_ALLOC, total_alloc - total_free);
	SET(HEAP_SYS, heap_sys);
	SET(HEAP_IDLE, r->heap_free + r->heap_released);
	SET(HEAP_INUSE, r->heap_inuse);
	SET(HEAP_RELEASED, r->heap_released);
	SET(HEAP_OBJECTS, nmalloc - nfree);
	SET(STACK_INUSE, stacks);
	SET(STACK_SYS, stacks + r->stacks_sys);
	SET(MSPAN_INUSE, r->spanalloc_inuse);
	SET(MSPAN_SYS, r->mspan_sys);
	SET(MCACHE_INUSE, r->cachealloc_inuse);
	SET(MCACHE_SYS, r->mcache_sys);
	SET(BUCK_HASH_SYS, r->buckhash_sys);
	SET(GC_SYS, r->gcmisc_sys + workbufs + ptrscalar);
	SET(OTHER_SYS, r->other_sys);
	SET(NEXT_GC, tli_gomem_heap_goal(r));
	SET(LAST_GC, r->last_gc_unix);
	SET(PAUSE_TOTAL_NS, r->pause_total_ns);
	SET(NUM_GC, r->numgc);
	SET(NUM_FORCED_GC, r->numforcedgc);
	SET(GOGC, r->gc_percent);
	SET(MEMORY_LIMIT, r->memory_limit);
#undef SET
}

void tli_gomem_compute(const struct tli_gomem_raw *r, struct tli_gomem_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	figures(r, ret->v);
	for (int f = 0; f < TLI_GOMEM__N; f++) {
		unsigned missing = needs[f] & ~r->ok;
		ret->ok[f] = missing == 0;
		if (!missing)
			continue;
		ret->v[f] = 0;
		for (int s = 0; s < TLI_GOMEM_SRC__N; s++)
			if (missing & (1u << s)) {
				ret->why[f] = r->why[s][0] ? r->why[s] : "not read";
				break;
			}
	}
}
