/* SPDX-License-Identifier: MIT */
/*
 * The arithmetic of heap's Go memstats (go/memstats_calc.c) on hand-built inputs:
 * readmemstats_m's sums (consistent stats plus what the mcaches would flush, tiny
 * allocations counted as both allocated and freed, inPtrScalarBits in GCSys and Sys),
 * the heap goal (GOGC goal, sweep-distance and min-runway adjustments, the memory
 * limit's goal with go1.19's fixed and go1.21+'s percentage headroom), and figures
 * whose source was not read being absent with its reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "go/memstats.h"

static void base(struct tli_gomem_raw *r)
{
	memset(r, 0, sizeof(*r));
	r->ok = (1u << TLI_GOMEM_SRC__N) - 1;
	r->nclasses = 4;
	r->sizes[1] = 8, r->sizes[2] = 16, r->sizes[3] = 24;
	r->small_alloc[1] = 10, r->small_alloc[2] = 5, r->small_alloc[3] = 2;
	r->small_free[1] = 4, r->small_free[3] = 1;
	r->large_alloc = 100000, r->large_alloc_count = 2, r->large_free = 40000, r->large_free_count = 1;
	r->tiny = 7;
	r->pend_small[2] = 3, r->pend_tiny = 2, r->pend_bytes = 48;
	r->in_stacks = 32768, r->in_workbufs = 8192, r->in_ptrscalar = 0;
	r->stacks_sys = 4096, r->mspan_sys = 1000, r->mcache_sys = 2000, r->buckhash_sys = 3000;
	r->gcmisc_sys = 5000, r->other_sys = 6000;
	r->heap_inuse = 1 << 20, r->heap_free = 1 << 19, r->heap_released = 1 << 18;
	r->numgc = 3, r->numforcedgc = 1, r->gc_percent = 100, r->memory_limit = INT64_MAX;
	r->pct_goal = 4 << 20, r->triggered = ~0ull, r->headroom_pct_known = true;
	r->headroom_pct = 3, r->headroom_min = 1 << 20;
	r->mapped_ready = 2 << 20, r->total_alloc = 1 << 20, r->total_free = 1 << 19;
}

static void test_sums(void **state)
{
	(void)state;
	struct tli_gomem_raw r;
	struct tli_gomem_stats st;
	base(&r);
	tli_gomem_compute(&r, &st);
	/* mallocs: 2 large + (10 + 5+3 + 2) small + (7+2) tiny; frees: 1 + 5 + 9 */
	assert_int_equal(st.v[TLI_GOMEM_MALLOCS], 2 + 20 + 9);
	assert_int_equal(st.v[TLI_GOMEM_FREES], 1 + 5 + 9);
	assert_int_equal(st.v[TLI_GOMEM_HEAP_OBJECTS], 31 - 15);
	uint64_t ta = 100000 + 10 * 8 + 8 * 16 + 2 * 24, tf = 40000 + 4 * 8 + 1 * 24;
	assert_int_equal(st.v[TLI_GOMEM_TOTAL_ALLOC], ta);
	assert_int_equal(st.v[TLI_GOMEM_HEAP_ALLOC], ta - tf);
	assert_int_equal(st.v[TLI_GOMEM_HEAP_SYS], (1 << 20) + (1 << 19) + (1 << 18));
	assert_int_equal(st.v[TLI_GOMEM_HEAP_IDLE], (1 << 19) + (1 << 18));
	assert_int_equal(st.v[TLI_GOMEM_STACK_SYS], 32768 + 4096);
	assert_int_equal(st.v[TLI_GOMEM_GC_SYS], 5000 + 8192);
	assert_int_equal(st.v[TLI_GOMEM_SYS], (1 << 20) + (1 << 19) + (1 << 18) + 4096 + 1000 + 2000 + 3000 + 5000 +
						      6000 + 32768 + 8192);
	/* go1.19-1.21: the pointer/scalar bits count in GCSys and Sys */
	r.in_ptrscalar = 512;
	tli_gomem_compute(&r, &st);
	assert_int_equal(st.v[TLI_GOMEM_GC_SYS], 5000 + 8192 + 512);
	for (int f = 0; f < TLI_GOMEM__N; f++)
		assert_true(st.ok[f]);
}

static void test_goal(void **state)
{
	(void)state;
	struct tli_gomem_raw r;
	base(&r);
	assert_int_equal(tli_gomem_heap_goal(&r), 4 << 20);           /* GOGC goal */
	r.sweep_dist = 5 << 20;
	assert_int_equal(tli_gomem_heap_goal(&r), 5 << 20);           /* sweep distance */
	r.triggered = (5 << 20) - 1000;
	assert_int_equal(tli_gomem_heap_goal(&r), (5 << 20) - 1000 + (64 << 10));  /* min runway */
	/* a memory limit below: limit - non-heap memory - headroom (3%, at least 1 MiB) */
	base(&r);
	r.memory_limit = 3 << 20;
	/* non-heap = mapped_ready - heap_free - heap_alloc(1 MiB + 48 - 512 KiB) */
	uint64_t heap_alloc = (1 << 20) + 48 - (1 << 19);
	uint64_t non_heap = (2 << 20) - (1 << 19) - heap_alloc;
	uint64_t goal = (3 << 20) - non_heap;
	assert_int_equal(tli_gomem_heap_goal(&r), goal - (1 << 20));
	r.memory_limit = 200ll << 20;
	goal = (200ull << 20) - non_heap;
	/* above the GOGC goal: the GOGC goal stands */
	assert_int_equal(tli_gomem_heap_goal(&r), 4 << 20);
	r.pct_goal = 1ull << 40;
	assert_int_equal(tli_gomem_heap_goal(&r), goal - goal / 100 * 3);
	/* go1.19: a fixed 1 MiB headroom */
	r.headroom_pct_known = false;
	assert_int_equal(tli_gomem_heap_goal(&r), goal - (1 << 20));
	/* never below heapMarked */
	r.heap_marked = 300ull << 20;
	assert_int_equal(tli_gomem_heap_goal(&r), 300ull << 20);
}

static void test_unreadable(void **state)
{
	(void)state;
	struct tli_gomem_raw r;
	struct tli_gomem_stats st;
	base(&r);
	r.ok &= ~(1u << TLI_GOMEM_SRC_MCACHES);
	strcpy(r.why[TLI_GOMEM_SRC_MCACHES], "runtime.allp unknown");
	tli_gomem_compute(&r, &st);
	assert_false(st.ok[TLI_GOMEM_MALLOCS]);
	assert_false(st.ok[TLI_GOMEM_HEAP_ALLOC]);
	assert_false(st.ok[TLI_GOMEM_NEXT_GC]);
	assert_string_equal(st.why[TLI_GOMEM_MALLOCS], "runtime.allp unknown");
	assert_int_equal(st.v[TLI_GOMEM_MALLOCS], 0);
	assert_true(st.ok[TLI_GOMEM_HEAP_INUSE]);
	assert_true(st.ok[TLI_GOMEM_NUM_GC]);
	assert_true(st.ok[TLI_GOMEM_STACK_INUSE]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sums),
		cmocka_unit_test(test_goal),
		cmocka_unit_test(test_unreadable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
