/* SPDX-License-Identifier: MIT */
/*
 * The glibc malloc walker over synthetic heap images: a healthy heap (numbers
 * checked against what the image was built with), then corruptions — bad
 * size field, fastbin / unsorted / tcache cycles, top outside the heap,
 * garbage everywhere — each must give a problem naming the address, bounded
 * time, no crash. Offsets come from mirror structs of glibc 2.36's malloc.c
 * via offsetof (compiler-computed), not from the walker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "glibc/malloc.h"

/* ---- mirrors of glibc 2.36 malloc structures (x86_64) ---- */
struct m_state {
	int mutex, flags, have_fastchunks;
	uint64_t fastbinsY[10];
	uint64_t top, last_remainder;
	uint64_t bins[128 * 2 - 2];
	unsigned binmap[4];
	uint64_t next, next_free, attached_threads, system_mem, max_system_mem;
};
struct m_par {
	uint64_t trim_threshold, top_pad, mmap_threshold, arena_test, arena_max, thp_pagesize, hp_pagesize;
	int hp_flags, n_mmaps, n_mmaps_max, max_n_mmaps, no_dyn_threshold;
	uint64_t mmapped_mem, max_mmapped_mem, sbrk_base, tcache_bins, tcache_max_bytes, tcache_count,
		tcache_unsorted_limit;
};
struct m_heap_info { uint64_t ar_ptr, prev, size, mprotect_size, pagesize; char pad[8]; };
struct m_tcache { uint16_t counts[64]; uint64_t entries[64]; };
struct m_tentry { uint64_t next, key; };
struct m_chunk { uint64_t prev_size, size, fd, bk, fd_nextsize, bk_nextsize; };

#define BASE 0x10000000ull
#define IMG (1u << 20)
#define ARENA (BASE + 0x1000)
#define MP (BASE + 0x2000)
#define TLS (BASE + 0x3000)      /* the thread's `tcache` variable */
#define HEAP (BASE + 0x10000)    /* sbrk_base */

static uint8_t img[IMG];

static struct tli_error *img_read(struct tli_target *t, struct tli_read *r, size_t n)
{
	(void)t;
	for (size_t i = 0; i < n; i++) {
		r[i].got = 0;
		if (r[i].addr >= BASE && r[i].addr < BASE + IMG) {
			uint64_t avail = BASE + IMG - r[i].addr;
			size_t k = r[i].len < avail ? r[i].len : avail;
			memcpy(r[i].buf, img + (r[i].addr - BASE), k);
			r[i].got = k;
		}
		if (r[i].got < r[i].len)
			r[i].err = 14; /* EFAULT */
	}
	return NULL;
}
static const struct tli_target_ops img_ops = { .name = "image", .read_many = img_read };

static struct tli_target *mk_target(void)
{
	struct tli_target *t = calloc(1, sizeof(*t));
	t->ops = &img_ops;
	t->kind = TLI_TARGET_CORE;
	t->maps = calloc(1, sizeof(*t->maps));
	t->maps[0] = (struct tli_mapping){ BASE, BASE + IMG, 0, TLI_PROT_R | TLI_PROT_W, NULL };
	t->nmaps = 1;
	return t;
}

static void layout(struct tli_gl_layout *L)
{
	memset(L, 0, sizeof(*L));
	L->ms_size = sizeof(struct m_state);
	L->ms_mutex = offsetof(struct m_state, mutex);
	L->ms_flags = offsetof(struct m_state, flags);
	L->ms_fastbins = offsetof(struct m_state, fastbinsY);
	L->ms_top = offsetof(struct m_state, top);
	L->ms_last_remainder = offsetof(struct m_state, last_remainder);
	L->ms_bins = offsetof(struct m_state, bins);
	L->ms_next = offsetof(struct m_state, next);
	L->ms_next_free = offsetof(struct m_state, next_free);
	L->ms_attached = offsetof(struct m_state, attached_threads);
	L->ms_system_mem = offsetof(struct m_state, system_mem);
	L->ms_max_system_mem = offsetof(struct m_state, max_system_mem);
	L->nfastbins = 10;
	L->nbins = 128;
	L->mp_size = sizeof(struct m_par);
	L->mp_n_mmaps = offsetof(struct m_par, n_mmaps);
	L->mp_max_n_mmaps = offsetof(struct m_par, max_n_mmaps);
	L->mp_mmapped_mem = offsetof(struct m_par, mmapped_mem);
	L->mp_max_mmapped_mem = offsetof(struct m_par, max_mmapped_mem);
	L->mp_sbrk_base = offsetof(struct m_par, sbrk_base);
	L->mp_tcache_count = offsetof(struct m_par, tcache_count);
	L->mp_tcache_bins = offsetof(struct m_par, tcache_bins);
	L->mp_hp_pagesize = offsetof(struct m_par, hp_pagesize);
	L->has_hp_pagesize = true;
	L->has_tcache_fields = true;
	L->hi_size = sizeof(struct m_heap_info);
	L->hi_ar_ptr = offsetof(struct m_heap_info, ar_ptr);
	L->hi_prev = offsetof(struct m_heap_info, prev);
	L->hi_hsize = offsetof(struct m_heap_info, size);
	L->hi_mprotect_size = offsetof(struct m_heap_info, mprotect_size);
	L->has_tcache = true;
	L->tc_size = sizeof(struct m_tcache);
	L->tc_counts = offsetof(struct m_tcache, counts);
	L->tc_count_width = sizeof(((struct m_tcache *)0)->counts[0]);
	L->tc_entries = offsetof(struct m_tcache, entries);
	L->tc_nbins = 64;
	L->te_next = offsetof(struct m_tentry, next);
	L->mc_prev_size = offsetof(struct m_chunk, prev_size);
	L->mc_size = offsetof(struct m_chunk, size);
	L->mc_fd = offsetof(struct m_chunk, fd);
	L->mc_bk = offsetof(struct m_chunk, bk);
	L->heap_max = 64ull << 20;
	L->safe_linking = 1;
	L->main_arena = ARENA;
	L->mp = MP;
}

#define AT(T, addr) ((T *)(img + ((addr) - BASE)))
static uint64_t protect(uint64_t pos, uint64_t p) { return (pos >> 12) ^ p; }
static uint64_t bin_at(int i) { return ARENA + offsetof(struct m_state, bins) + 16ull * (i - 1) - 16; }

/* Chunks of the healthy image (chunk addresses). */
#define C_TC (HEAP)                 /* tcache struct, 0x290, in use */
#define C_A (C_TC + 0x290)          /* 0x30 in use */
#define C_F (C_A + 0x30)            /* 0x40 in fastbin 2 */
#define C_T (C_F + 0x40)            /* 0x40 in tcache bin 2 */
#define C_U (C_T + 0x40)            /* 0x100 free in unsorted */
#define C_B (C_U + 0x100)           /* 0x20 in use */
#define C_TOP (C_B + 0x20)
#define SYS 0x21000ull
#define TOPSZ (HEAP + SYS - C_TOP)

static void build(void)
{
	memset(img, 0, sizeof(img));
	struct m_state *a = AT(struct m_state, ARENA);
	a->next = ARENA;
	a->attached_threads = 1;
	a->top = C_TOP;
	a->system_mem = a->max_system_mem = SYS;
	for (int i = 1; i < 128; i++)
		a->bins[2 * (i - 1)] = a->bins[2 * (i - 1) + 1] = bin_at(i);
	struct m_par *mp = AT(struct m_par, MP);
	mp->sbrk_base = HEAP;
	mp->tcache_bins = 64;
	mp->tcache_count = 7;
	*AT(uint64_t, TLS) = C_TC + 16;
	AT(struct m_chunk, C_TC)->size = 0x290 | 1;
	AT(struct m_chunk, C_A)->size = 0x30 | 1;
	AT(struct m_chunk, C_F)->size = 0x40 | 1;
	AT(struct m_chunk, C_F)->fd = protect(C_F + 16, 0);
	a->fastbinsY[2] = C_F;
	AT(struct m_chunk, C_T)->size = 0x40 | 1;
	AT(struct m_tentry, C_T + 16)->next = protect(C_T + 16, 0);
	struct m_tcache *tc = AT(struct m_tcache, C_TC + 16);
	tc->counts[2] = 1;
	tc->entries[2] = C_T + 16;
	AT(struct m_chunk, C_U)->size = 0x100 | 1;
	AT(struct m_chunk, C_U)->fd = AT(struct m_chunk, C_U)->bk = bin_at(1);
	a->bins[0] = a->bins[1] = C_U;
	AT(struct m_chunk, C_B)->prev_size = 0x100;
	AT(struct m_chunk, C_B)->size = 0x20; /* P clear: C_U is free */
	AT(struct m_chunk, C_TOP)->size = TOPSZ | 1;
}

static struct tli_gl_heap *walk(void)
{
	struct tli_target *t = mk_target();
	struct tli_gl_layout L;
	layout(&L);
	struct tli_gl_thread th = { .tid = 1, .tp = TLS, .tcache_slot = TLS };
	struct tli_gl_heap *h = NULL;
	clock_t c0 = clock();
	assert_null(tli_gl_capture(t, &L, &th, 1, NULL, 0));
	struct tli_error *err = tli_gl_walk(t, &L, &th, 1, 50, &h);
	double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
	if (err)
		fail_msg("walk failed: %s", err->msg);
	assert_true(secs < 30.0); /* bounded: a walk that loops runs into this, a loaded machine does not */
	tli_target_destroy(t);
	return h;
}

static bool has_problem(const struct tli_gl_heap *h, uint64_t addr, const char *what)
{
	size_t i;
	json_t *p;
	char a[32];
	snprintf(a, sizeof(a), "0x%llx", (unsigned long long)addr);
	json_array_foreach(h->problems, i, p) {
		if (!strcmp(json_string_value(json_object_get(p, "address")), a) &&
		    strstr(json_string_value(json_object_get(p, "what")), what))
			return true;
	}
	return false;
}

static void dump(const struct tli_gl_heap *h)
{
	char *s = json_dumps(h->problems, JSON_INDENT(1));
	print_message("problems: %s\n", s);
	free(s);
}

static int64_t mi(const struct tli_gl_heap *h, const char *k)
{
	json_t *o = tli_gl_mallinfo2_json(h);
	int64_t v = json_integer_value(json_object_get(o, k));
	json_decref(o);
	return v;
}

static void test_healthy(void **state)
{
	(void)state;
	build();
	struct tli_gl_heap *h = walk();
	if (h->nproblems)
		dump(h);
	assert_int_equal(h->nproblems, 0);
	assert_int_equal(h->narenas, 1);
	assert_int_equal(h->safe_linking, 1);
	/* every chunk, in order, with the state the image was built with */
	uint64_t want[][3] = { { C_TC, 0x290, GLK_INUSE }, { C_A, 0x30, GLK_INUSE }, { C_F, 0x40, GLK_FAST },
			       { C_T, 0x40, GLK_TCACHE }, { C_U, 0x100, GLK_UNSORTED }, { C_B, 0x20, GLK_INUSE },
			       { C_TOP, TOPSZ, GLK_TOP } };
	assert_int_equal(h->nchunks, 7);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(h->chunks[i].addr, want[i][0]);
		assert_int_equal(h->chunks[i].size, want[i][1]);
		assert_int_equal(h->chunks[i].kind, want[i][2]);
	}
	/* mallinfo2 as glibc defines it: fastbin chunks free, tcache chunks in use */
	assert_int_equal(mi(h, "arena"), SYS);
	assert_int_equal(mi(h, "ordblks"), 2);  /* top + unsorted */
	assert_int_equal(mi(h, "smblks"), 1);
	assert_int_equal(mi(h, "fsmblks"), 0x40);
	assert_int_equal(mi(h, "fordblks"), TOPSZ + 0x40 + 0x100);
	assert_int_equal(mi(h, "uordblks"), SYS - (TOPSZ + 0x40 + 0x100));
	assert_int_equal(mi(h, "keepcost"), TOPSZ);
	assert_int_equal(h->tc[0].found[2], 1);
	assert_ptr_not_equal(tli_gl_find_chunk(h, C_A + 0x20), NULL);
	assert_int_equal(tli_gl_find_chunk(h, C_A + 0x20)->addr, C_A);
	tli_gl_heap_free(h);
}

static void test_bad_size(void **state)
{
	(void)state;
	build();
	AT(struct m_chunk, C_A)->size = 0x7; /* overwritten size field */
	struct tli_gl_heap *h = walk();
	if (!has_problem(h, C_A, "invalid size"))
		dump(h);
	assert_true(has_problem(h, C_A, "invalid size"));
	/* the walk stopped there but the bins were still walked and reported */
	assert_true(has_problem(h, C_F, "did not reach"));
	assert_int_equal(h->arenas[0].fast[2].count, 1);
	assert_int_equal(h->arenas[0].bins[1].count, 1);
	tli_gl_heap_free(h);
}

static void test_huge_size(void **state)
{
	(void)state;
	build();
	AT(struct m_chunk, C_B)->size = 0x7ffffffffff0ull; /* runs past the heap */
	struct tli_gl_heap *h = walk();
	assert_true(has_problem(h, C_B, "invalid size"));
	tli_gl_heap_free(h);
}

static void test_fastbin_cycle(void **state)
{
	(void)state;
	build();
	AT(struct m_chunk, C_F)->fd = protect(C_F + 16, C_F); /* points to itself */
	struct tli_gl_heap *h = walk();
	if (!has_problem(h, C_F, "cycle"))
		dump(h);
	assert_true(has_problem(h, C_F, "cycle"));
	assert_int_equal(h->arenas[0].fast[2].count, 1);
	tli_gl_heap_free(h);
}

static void test_unsorted_cycle(void **state)
{
	(void)state;
	build();
	/* C_U -> C_A -> C_U -> ...: C_A is in use, and the list never returns to the header */
	AT(struct m_chunk, C_U)->fd = C_A;
	AT(struct m_chunk, C_A)->fd = C_U;
	AT(struct m_chunk, C_A)->bk = C_U;
	struct tli_gl_heap *h = walk();
	if (!has_problem(h, C_U, "cycle"))
		dump(h);
	assert_true(has_problem(h, C_U, "cycle"));
	assert_true(has_problem(h, C_A, "PREV_INUSE is set")); /* an in-use chunk in a bin */
	tli_gl_heap_free(h);
}

static void test_tcache_cycle_and_bad_count(void **state)
{
	(void)state;
	build();
	AT(struct m_tentry, C_T + 16)->next = protect(C_T + 16, C_T + 16); /* self loop */
	AT(struct m_tcache, C_TC + 16)->counts[2] = 7;
	struct tli_gl_heap *h = walk();
	if (!has_problem(h, C_T, "cycle"))
		dump(h);
	assert_true(has_problem(h, C_T, "cycle"));
	assert_true(has_problem(h, C_TC + 16, "count 7 but 1 entries"));
	tli_gl_heap_free(h);
}

static void test_top_outside(void **state)
{
	(void)state;
	build();
	AT(struct m_state, ARENA)->top = 0xdead0000ull;
	struct tli_gl_heap *h = walk();
	if (!has_problem(h, 0xdead0000ull, "not inside the sbrk heap"))
		dump(h);
	assert_true(has_problem(h, 0xdead0000ull, "not inside the sbrk heap"));
	/* it still walks sbrk_base .. +system_mem and finds the chunks before top */
	assert_true(h->nchunks >= 6);
	assert_int_equal(h->chunks[1].addr, C_A);
	tli_gl_heap_free(h);
}

static void test_arena_loop(void **state)
{
	(void)state;
	build();
	/* a second "arena" whose next points to itself, not back to main_arena */
	uint64_t a2 = BASE + 0x40000;
	AT(struct m_state, ARENA)->next = a2;
	AT(struct m_state, a2)->next = a2;
	struct tli_gl_heap *h = walk();
	assert_int_equal(h->narenas, 2);
	assert_true(has_problem(h, a2, "loops back"));
	tli_gl_heap_free(h);
}

/*
 * The main arena continued in mmapped memory (sysmalloc when brk cannot grow):
 * flags NONCONTIGUOUS; the sbrk heap [HEAP, +0x2000) ends with the old top
 * (freed, unsorted) and two fenceposts; an anonymous mapping holds an mmapped
 * chunk, then the second segment with top.
 */
#define NC_FLAGS 2                  /* NONCONTIGUOUS_BIT */
#define N_A (C_TC + 0x290)          /* 0x100 in use */
#define N_B (N_A + 0x100)           /* 0x200 free, unsorted */
#define N_C (N_B + 0x200)           /* 0x100 in use (P clear) */
#define N_OT (N_C + 0x100)          /* the old top, shrunk and freed: unsorted */
#define N_FP1 (HEAP + 0x2000 - 0x20)
#define N_FP2 (HEAP + 0x2000 - 0x10)
#define N_MAP (BASE + 0x40000)      /* anonymous mapping, 0x10000 */
#define N_MM N_MAP                  /* mmapped chunk 0x2000 */
#define N_D (N_MAP + 0x2000)        /* segment 2: 0x300 in use */
#define N_E (N_D + 0x300)           /* 0x40 in tcache */
#define N_F (N_E + 0x40)            /* 0x100 in use */
#define N_TOP (N_F + 0x100)
#define N_TOPSZ (N_MAP + 0x10000 - N_TOP)

static void build_noncontig(void)
{
	memset(img, 0, sizeof(img));
	struct m_state *a = AT(struct m_state, ARENA);
	a->next = ARENA;
	a->flags = NC_FLAGS;
	a->attached_threads = 1;
	a->top = N_TOP;
	a->system_mem = a->max_system_mem = 0x2000 + 0xe000;
	for (int i = 1; i < 128; i++)
		a->bins[2 * (i - 1)] = a->bins[2 * (i - 1) + 1] = bin_at(i);
	struct m_par *mp = AT(struct m_par, MP);
	mp->sbrk_base = HEAP;
	mp->tcache_bins = 64;
	mp->tcache_count = 7;
	mp->n_mmaps = mp->max_n_mmaps = 1;
	mp->mmapped_mem = mp->max_mmapped_mem = 0x2000;
	*AT(uint64_t, TLS) = C_TC + 16;
	AT(struct m_chunk, C_TC)->size = 0x290 | 1;
	AT(struct m_chunk, N_A)->size = 0x100 | 1;
	AT(struct m_chunk, N_B)->size = 0x200 | 1;
	AT(struct m_chunk, N_C)->prev_size = 0x200;
	AT(struct m_chunk, N_C)->size = 0x100;
	uint64_t otsz = N_FP1 - N_OT;
	AT(struct m_chunk, N_OT)->size = otsz | 1;
	AT(struct m_chunk, N_FP1)->prev_size = otsz;
	AT(struct m_chunk, N_FP1)->size = 0x10;     /* P clear: the old top is free */
	AT(struct m_chunk, N_FP2)->size = 0x10 | 1;
	/* unsorted: header -> B -> OT -> header */
	a->bins[0] = N_B;
	a->bins[1] = N_OT;
	AT(struct m_chunk, N_B)->fd = N_OT;
	AT(struct m_chunk, N_B)->bk = bin_at(1);
	AT(struct m_chunk, N_OT)->fd = bin_at(1);
	AT(struct m_chunk, N_OT)->bk = N_B;
	AT(struct m_chunk, N_MM)->size = 0x2000 | 2;
	AT(struct m_chunk, N_D)->size = 0x300 | 1;
	AT(struct m_chunk, N_E)->size = 0x40 | 1;
	AT(struct m_tentry, N_E + 16)->next = protect(N_E + 16, 0);
	struct m_tcache *tc = AT(struct m_tcache, C_TC + 16);
	tc->counts[2] = 1;
	tc->entries[2] = N_E + 16;
	AT(struct m_chunk, N_F)->size = 0x100 | 1;
	AT(struct m_chunk, N_TOP)->size = N_TOPSZ | 1;
}

/* libc's data, the sbrk heap, the blocked page after it, the anonymous mapping */
static struct tli_target *mk_target_noncontig(void)
{
	struct tli_target *t = mk_target();
	free(t->maps);
	t->maps = calloc(4, sizeof(*t->maps));
	t->maps[0] = (struct tli_mapping){ BASE, BASE + 0x10000, 0, TLI_PROT_R | TLI_PROT_W, strdup("/lib/libc.so.6") };
	t->maps[1] = (struct tli_mapping){ HEAP, HEAP + 0x2000, 0, TLI_PROT_R | TLI_PROT_W, strdup("[heap]") };
	t->maps[2] = (struct tli_mapping){ HEAP + 0x2000, HEAP + 0x3000, 0, 0, NULL };
	t->maps[3] = (struct tli_mapping){ N_MAP, N_MAP + 0x10000, 0, TLI_PROT_R | TLI_PROT_W, NULL };
	t->nmaps = 4;
	return t;
}

static struct tli_gl_heap *walk_noncontig(unsigned flags)
{
	struct tli_target *t = mk_target_noncontig();
	struct tli_gl_layout L;
	layout(&L);
	struct tli_gl_thread th = { .tid = 1, .tp = TLS, .tcache_slot = TLS };
	struct tli_gl_heap *h = NULL;
	clock_t c0 = clock();
	assert_null(tli_gl_capture(t, &L, &th, 1, NULL, 0));
	struct tli_error *err = tli_gl_walk_ex(t, &L, &th, 1, 50, flags, &h);
	if (err)
		fail_msg("walk failed: %s", err->msg);
	assert_true((double)(clock() - c0) / CLOCKS_PER_SEC < 2.0);
	tli_target_destroy(t); /* frees the maps and their paths */
	return h;
}

static void test_noncontiguous_main_arena(void **state)
{
	(void)state;
	build_noncontig();
	struct tli_gl_heap *h = walk_noncontig(0);
	if (h->nproblems)
		dump(h);
	assert_int_equal(h->nproblems, 0);
	const struct tli_gl_arena *ar = &h->arenas[0];
	assert_int_equal(ar->nsegs, 2);
	assert_int_equal(ar->segs[0].start, HEAP);
	assert_int_equal(ar->segs[0].end, HEAP + 0x2000);
	assert_int_equal(ar->segs[1].start, N_D);
	assert_int_equal(ar->segs[1].end, N_MAP + 0x10000);
	assert_int_equal(ar->overhead, 0); /* the two segments are all of system_mem */
	uint64_t want[][3] = { { C_TC, 0x290, GLK_INUSE }, { N_A, 0x100, GLK_INUSE }, { N_B, 0x200, GLK_UNSORTED },
			       { N_C, 0x100, GLK_INUSE }, { N_OT, N_FP1 - N_OT, GLK_UNSORTED },
			       { N_FP1, 0x10, GLK_FENCEPOST }, { N_FP2, 0x10, GLK_FENCEPOST },
			       { N_MM, 0x2000, GLK_MMAPPED }, { N_D, 0x300, GLK_INUSE }, { N_E, 0x40, GLK_TCACHE },
			       { N_F, 0x100, GLK_INUSE }, { N_TOP, N_TOPSZ, GLK_TOP } };
	size_t nwant = sizeof(want) / sizeof(want[0]);
	assert_int_equal(h->nchunks, nwant);
	for (size_t i = 0; i < nwant; i++) {
		assert_int_equal(h->chunks[i].addr, want[i][0]);
		assert_int_equal(h->chunks[i].size, want[i][1]);
		assert_int_equal(h->chunks[i].kind, want[i][2]);
	}
	assert_int_equal(h->mmapped_found, 1);
	assert_int_equal(ar->bins[1].count, 2);
	assert_int_equal(mi(h, "arena"), 0x10000);
	assert_int_equal(mi(h, "fordblks"), 0x200 + (N_FP1 - N_OT) + N_TOPSZ);
	assert_int_equal(mi(h, "keepcost"), N_TOPSZ);
	/* without the chunk list: the same statistics, only the mmapped chunk kept */
	struct tli_gl_heap *s = walk_noncontig(TLI_GL_WALK_NO_CHUNKS);
	assert_int_equal(s->nproblems, 0);
	assert_int_equal(s->nchunks, 1);
	assert_int_equal(s->chunks[0].addr, N_MM);
	assert_memory_equal(s->arenas[0].n_kind, ar->n_kind, sizeof(ar->n_kind));
	assert_memory_equal(s->arenas[0].b_kind, ar->b_kind, sizeof(ar->b_kind));
	/* in-use sizes (program view): 0x100 x3, 0x290, 0x300, the mmapped 0x2000 */
	uint64_t sz[][2] = { { 0x100, 3 }, { 0x290, 1 }, { 0x300, 1 }, { 0x2000, 1 } };
	assert_int_equal(s->nsizes, 4);
	assert_int_equal(h->nsizes, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(s->sizes[i].size, sz[i][0]);
		assert_int_equal(s->sizes[i].count, sz[i][1]);
		assert_int_equal(h->sizes[i].count, sz[i][1]);
	}
	tli_gl_heap_free(s);
	tli_gl_heap_free(h);

	/* without the NONCONTIGUOUS flag, a top outside the sbrk heap stays a problem */
	build_noncontig();
	AT(struct m_state, ARENA)->flags = 0;
	h = walk_noncontig(0);
	assert_true(has_problem(h, N_TOP, "not inside the sbrk heap"));
	tli_gl_heap_free(h);
	/* a broken fencepost: the sbrk heap is reported, the other segment still found */
	build_noncontig();
	AT(struct m_chunk, N_FP2)->size = 0x7;
	h = walk_noncontig(0);
	assert_true(has_problem(h, HEAP, "does not end in fenceposts"));
	assert_int_equal(h->arenas[0].nsegs, 1);
	assert_int_equal(h->arenas[0].segs[0].start, N_D);
	tli_gl_heap_free(h);
	/* garbage in the second segment and the mapping: bounded, no crash */
	for (unsigned seed = 1; seed <= 20; seed++) {
		build_noncontig();
		srand(seed);
		for (uint64_t a = N_MAP; a < N_MAP + 0x10000; a += 8)
			if (rand() % 4 == 0) {
				uint64_t v = rand() % 2 ? (uint64_t)rand() : N_MAP + ((uint64_t)rand() % 0x10000 & ~15ull) + 1;
				memcpy(img + (a - BASE), &v, 8);
			}
		h = walk_noncontig(seed % 2 ? TLI_GL_WALK_NO_CHUNKS : 0);
		assert_true(json_array_size(h->problems) <= 50);
		tli_gl_heap_free(h);
	}
}

static void test_garbage(void **state)
{
	(void)state;
	/* random bytes everywhere, with plausible pointers sprinkled in: must terminate, no crash */
	for (unsigned seed = 1; seed <= 40; seed++) {
		build();
		srand(seed);
		for (size_t i = 0x1000; i < 0x40000; i += 8) {
			uint64_t v = ((uint64_t)rand() << 32) ^ (uint64_t)rand();
			if (rand() % 3 == 0)
				v = BASE + ((uint64_t)rand() % IMG & ~15ull) + (rand() % 2 ? 1 : 0);
			if (i < 0x1000 + sizeof(struct m_state) && (i == 0x1000 + offsetof(struct m_state, next)))
				continue;
			if (i >= 0x2000 && i < 0x2000 + sizeof(struct m_par) && rand() % 2)
				continue;
			memcpy(img + i, &v, 8);
		}
		struct tli_gl_heap *h = walk();
		assert_true(h->narenas >= 1);
		assert_true(json_array_size(h->problems) <= 50);
		tli_gl_heap_free(h);
	}
}

/* ---- allocation failures (issue 15 item 1) ----
 * Interposed over glibc: with a threshold set, larger malloc/realloc and mmap/mremap
 * requests fail, as they do under `ulimit -v`. The CLI's own malloc guard exits 13 on a
 * malloc failure, but nothing sees a failed mmap (a segment copy) or mremap (the chunk
 * array): the walk must note it (tli_oom_count), never hand back a shorter heap quietly. */
extern void *__libc_malloc(size_t);
extern void *__libc_realloc(void *, size_t);
static size_t fail_malloc_from, fail_mmap_from; /* 0: off */

void *malloc(size_t n)
{
	return fail_malloc_from && n >= fail_malloc_from ? NULL : __libc_malloc(n);
}

void *realloc(void *p, size_t n)
{
	return fail_malloc_from && n >= fail_malloc_from ? NULL : __libc_realloc(p, n);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (fail_mmap_from && len >= fail_mmap_from)
		return MAP_FAILED;
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

void *mremap(void *old, size_t olen, size_t nlen, int flags, ...)
{
	if (fail_mmap_from && nlen >= fail_mmap_from)
		return MAP_FAILED;
	return (void *)syscall(SYS_mremap, old, olen, nlen, flags, NULL);
}

/* The walk under those limits: out of memory reported or noted, or the whole heap. */
static void walk_short_of_memory(size_t malloc_from, size_t mmap_from)
{
	build();
	struct tli_target *t = mk_target(); /* a core: each segment is copied (tli_big_alloc_lazy) */
	struct tli_gl_layout L;
	layout(&L);
	struct tli_gl_thread th = { .tid = 1, .tp = TLS, .tcache_slot = TLS };
	struct tli_gl_heap *h = NULL;
	uint64_t base = tli_oom_count();
	fail_malloc_from = malloc_from;
	fail_mmap_from = mmap_from;
	struct tli_error *err = tli_gl_walk(t, &L, &th, 1, 50, &h);
	fail_malloc_from = fail_mmap_from = 0;
	bool noted = tli_oom_count() != base || (err && err->code == TLI_E_NOMEM);
	if (!noted) {
		assert_null(err);
		if (h->nchunks != 7)
			dump(h);
		assert_int_equal(h->nchunks, 7); /* else it had to say it ran out */
	}
	tli_error_destroy(err);
	tli_gl_heap_free(h);
	tli_target_destroy(t);
}

static void test_segment_copy_fails(void **state)
{
	(void)state;
	walk_short_of_memory(0, 64 << 10); /* the 132 KiB segment cannot be copied */
}

static void test_chunk_array_fails(void **state)
{
	(void)state;
	/* the copy (132 KiB) is made, the chunk array's reservation (~200 KiB) and its
	 * first growth (96 KiB) are not */
	walk_short_of_memory(64 << 10, 160 << 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_bad_size),
		cmocka_unit_test(test_huge_size),
		cmocka_unit_test(test_fastbin_cycle),
		cmocka_unit_test(test_unsorted_cycle),
		cmocka_unit_test(test_tcache_cycle_and_bad_count),
		cmocka_unit_test(test_top_outside),
		cmocka_unit_test(test_arena_loop),
		cmocka_unit_test(test_noncontiguous_main_arena),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_segment_copy_fails),
		cmocka_unit_test(test_chunk_array_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
