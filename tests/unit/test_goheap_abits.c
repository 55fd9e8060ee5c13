/* SPDX-License-Identifier: MIT */
/*
 * The arena heap bitmap of go1.19-1.21 (go/heap_bitmap.c) on hand-built bitmaps:
 * both encodings decoded word by word (go1.19's 2 bits per word with its
 * "more pointers" bit, go1.20/1.21's little-endian 1 bit per word), an object's
 * pointer words, the reads planned over arenas (slices of adjacent spans merged,
 * a span across two arenas split, an unknown arena: no bits), and the marker
 * scanning with them (a stale word in a scalar slot keeps nothing alive; bits
 * naming no pointer fall back to word by word and are counted).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "go/heap.h"

static void test_decode_2bit(void **state)
{
	(void)state;
	/* words 0..3: pointer bits 0101 (words 0 and 2), scan bits 0111 (no more after word 2);
	 * words 4..7: pointer 0001, scan 0001; a pointer bit without its scan bit reads "no more" */
	const uint8_t bm[] = { 0x75, 0x11, 0x02 };
	const uint8_t E = TLI_GOHEAP_ABITS_2BIT;
	assert_int_equal(tli_goheap_abits_word(E, bm, 3, 0), 1);
	assert_int_equal(tli_goheap_abits_word(E, bm, 3, 1), 0);
	assert_int_equal(tli_goheap_abits_word(E, bm, 3, 2), 1);
	assert_int_equal(tli_goheap_abits_word(E, bm, 3, 3), -1);
	assert_int_equal(tli_goheap_abits_word(E, bm, 3, 4), 1);
	assert_int_equal(tli_goheap_abits_word(E, bm, 3, 5), -1);
	assert_int_equal(tli_goheap_abits_word(E, bm, 3, 9), -1);   /* 0x02: pointer bit, scan clear */
	assert_int_equal(tli_goheap_abits_word(E, bm, 3, 12), -2);  /* past the slice */
	assert_int_equal(tli_goheap_abits_word(E, bm, 2, 8), -2);
}

static void test_decode_1bit(void **state)
{
	(void)state;
	/* little-endian uintptrs: bit k of the first word is the word at k*8 */
	uint64_t w[2] = { 0x8000000000000005ull, 0x2 };
	uint8_t bm[16];
	for (int i = 0; i < 16; i++)
		bm[i] = (uint8_t)(w[i / 8] >> (8 * (i % 8)));
	const uint8_t E = TLI_GOHEAP_ABITS_1BIT;
	assert_int_equal(tli_goheap_abits_word(E, bm, 16, 0), 1);
	assert_int_equal(tli_goheap_abits_word(E, bm, 16, 1), 0);
	assert_int_equal(tli_goheap_abits_word(E, bm, 16, 2), 1);
	assert_int_equal(tli_goheap_abits_word(E, bm, 16, 63), 1);
	assert_int_equal(tli_goheap_abits_word(E, bm, 16, 64), 0);
	assert_int_equal(tli_goheap_abits_word(E, bm, 16, 65), 1);
	assert_int_equal(tli_goheap_abits_word(E, bm, 16, 128), -2);
	assert_int_equal(tli_goheap_abits_word(TLI_GOHEAP_ABITS_NONE, bm, 16, 0), -2);
}

/* ---- a heap of one span: 8 objects of 48 bytes (6 words) at SA ---- */

#define SA 0x40000ull
#define SB 0x42000ull   /* noscan: 4 objects of 64 bytes */

struct fix {
	struct tli_goheap h;
	struct tli_goheap_span spans[2];
	uint8_t alloc[2];
	uint64_t a[48];
	uint8_t bits[16];
	uint64_t data[1];
	struct tli_goheap_roots r;
	struct tli_target t;
};

static void fix_init(struct fix *f, uint8_t enc)
{
	memset(f, 0, sizeof(*f));
	f->alloc[0] = 0x0f;   /* objects 0..3 */
	f->alloc[1] = 0x0f;
	f->h.L.abits_enc = enc;
	f->spans[0] = (struct tli_goheap_span){ .start = SA, .end = SA + 8 * 48, .elemsize = 48, .nelems = 8,
						.sizeclass = 5, .alloc = &f->alloc[0], .data = (uint8_t *)f->a,
						.abits = f->bits, .abits_len = enc == TLI_GOHEAP_ABITS_2BIT ? 12 : 8 };
	f->spans[1] = (struct tli_goheap_span){ .start = SB, .end = SB + 256, .elemsize = 64, .nelems = 4,
						.sizeclass = 6, .noscan = true, .alloc = &f->alloc[1] };
	f->h.spans = f->spans;
	f->h.nspans = 2;
	f->h.lo = SA;
	f->h.hi = SB + 256;
	f->data[0] = SA;   /* data -> object 0 */
	f->r.globals[TLI_GOHEAP_DATA] = (struct tli_goheap_range){ .lo = 0x5000, .hi = 0x5008, .mem = (uint8_t *)f->data };
	/* object 0: word 1 -> object 1 (a pointer slot), word 3 -> object 2 (a scalar slot holding
	 * a stale address), word 5 -> SB (a pointer slot); object 1: word 0 -> object 3, but its
	 * bits name no pointer (implausible: scanned word by word) */
	f->a[1] = SA + 48;
	f->a[3] = SA + 96;
	f->a[5] = SB + 64;
	f->a[6] = SA + 144;
}

/* pointer words 1 and 5 of object 0; none for objects 1..3 */
static void set_bits(struct fix *f, uint8_t enc)
{
	if (enc == TLI_GOHEAP_ABITS_2BIT) {
		/* words 0..3: pointer 0010, scan 1111; words 4..5: pointer 0010, scan 0011 (then object 1) */
		f->bits[0] = 0xf2;
		f->bits[1] = 0x32;
	} else {
		f->bits[0] = 0x22;
	}
}

static void test_object_pointer_words(void **state)
{
	(void)state;
	for (uint8_t enc = TLI_GOHEAP_ABITS_2BIT; enc <= TLI_GOHEAP_ABITS_1BIT; enc++) {
		struct fix *f = calloc(1, sizeof(*f));
		assert_non_null(f);
		fix_init(f, enc);
		set_bits(f, enc);
		const struct tli_goheap_span *sp = &f->spans[0];
		assert_int_equal(tli_goheap_abits_next(&f->h, sp, SA, 0), 1);
		assert_int_equal(tli_goheap_abits_next(&f->h, sp, SA, 2), 5);
		assert_int_equal(tli_goheap_abits_next(&f->h, sp, SA, 6), UINT64_MAX);
		assert_int_equal(tli_goheap_abits_next(&f->h, sp, SA + 48, 0), UINT64_MAX);
		/* a last object whose bits lie past the slice: none */
		f->spans[0].abits_len = 1;
		assert_int_equal(tli_goheap_abits_next(&f->h, sp, SA + 7 * 48, 0), UINT64_MAX);
		f->spans[0].abits = NULL;
		assert_int_equal(tli_goheap_abits_next(&f->h, sp, SA, 0), UINT64_MAX);
		free(f);
	}
}

static bool marked(struct tli_goheap_marker *m, uint64_t p)
{
	bool in_heap;
	return tli_goheap_is_marked(m, p, &in_heap);
}

static void test_marker_with_bitmap(void **state)
{
	(void)state;
	for (uint8_t enc = TLI_GOHEAP_ABITS_2BIT; enc <= TLI_GOHEAP_ABITS_1BIT; enc++) {
		struct fix *f = calloc(1, sizeof(*f));
		assert_non_null(f);
		fix_init(f, enc);
		set_bits(f, enc);
		f->a[6] = SA + 144;   /* object 1, word 0 -> object 3 */
		struct tli_goheap_marker m;
		assert_null(tli_goheap_marker_init(&m, &f->h, NULL, false));
		tli_goheap_mark_from_roots(&m, &f->r, &f->t);
		tli_goheap_drain(&m);
		assert_true(marked(&m, SA));
		assert_true(marked(&m, SA + 48));
		assert_false(marked(&m, SA + 96));     /* only a stale word in a scalar slot */
		assert_true(marked(&m, SB + 64));
		assert_true(marked(&m, SA + 144));     /* object 1 had no pointer bits: word by word */
		assert_int_equal(m.bitmap_objects, 1);
		assert_int_equal(m.bitmap_fallbacks, 2);   /* objects 1 and 3 */
		tli_goheap_marker_free(&m);

		/* no bitmap at all (unreadable): word by word, the stale word keeps object 2 */
		f->spans[0].abits = NULL;
		assert_null(tli_goheap_marker_init(&m, &f->h, NULL, false));
		tli_goheap_mark_from_roots(&m, &f->r, &f->t);
		tli_goheap_drain(&m);
		assert_true(marked(&m, SA + 96));
		assert_int_equal(m.bitmap_objects, 0);
		assert_int_equal(m.bitmap_fallbacks, 4);
		tli_goheap_marker_free(&m);
		free(f);
	}
}

/* the reads of the capture: arenas of 16 KiB at base 0x40000 (test layout), heapArena
 * records at HA0/HA1 (h.arenas: index + 1), bitmap at offset 16 of each */
#define HA0 0x900000ull
#define HA1 0x980000ull

static void test_plan_reads(void **state)
{
	(void)state;
	struct tli_goheap h;
	memset(&h, 0, sizeof(h));
	struct tli_goheap_span sp[4] = {
		/* arena 0 (0x40000): two adjacent spans of 8 KiB, then one crossing into arena 1 */
		{ .start = 0x40000, .end = 0x42000, .elemsize = 64, .nelems = 128, .sizeclass = 6 },
		{ .start = 0x42000, .end = 0x43000, .elemsize = 512, .nelems = 8, .sizeclass = 9 },
		{ .start = 0x43000, .end = 0x47000, .elemsize = 0x4000, .nelems = 1 },
		/* noscan: nothing */
		{ .start = 0x48000, .end = 0x49000, .elemsize = 64, .nelems = 64, .sizeclass = 6, .noscan = true },
	};
	h.spans = sp;
	h.nspans = 4;
	h.L = (struct tli_goheap_layout){ .abits_enc = TLI_GOHEAP_ABITS_2BIT, .arena_bytes = 0x4000,
					  .arena_base = 0x40000, .ha_bitmap_off = 16, .ha_bitmap_size = 0x4000 / 32 };
	assert_true(tli_u64map_put(&h.arenas, 1, HA0));
	assert_true(tli_u64map_put(&h.arenas, 2, HA1));
	assert_int_equal(tli_goheap_abits_len(&h.L, &sp[0]), 0x2000 / 32);
	assert_int_equal(tli_goheap_abits_len(&h.L, &sp[3]), 0);
	assert_int_equal(tli_goheap_abits_nreads(&h), 4);
	uint8_t buf[0x400];
	struct tli_read rs[4];
	size_t first[4], last[4];
	size_t n = tli_goheap_abits_plan(&h, buf, rs, first, last);
	/* spans 0, 1 and the first part of 2 are one slice of arena 0; the rest of 2 in arena 1 */
	assert_int_equal(n, 2);
	assert_int_equal(rs[0].addr, HA0 + 16);
	assert_int_equal(rs[0].len, 0x4000 / 32);
	assert_ptr_equal(rs[0].buf, buf);
	assert_int_equal(rs[1].addr, HA1 + 16);
	assert_int_equal(rs[1].len, 0x3000 / 32);
	assert_ptr_equal(rs[1].buf, buf + 0x4000 / 32);
	assert_ptr_equal(sp[1].abits, buf + 0x2000 / 32);
	assert_int_equal(first[2], 0);
	assert_int_equal(last[2], 2);
	assert_null(sp[3].abits);

	/* go1.21's encoding: one bit per word, whole uintptrs; an unknown arena: no bits */
	h.L.abits_enc = TLI_GOHEAP_ABITS_1BIT;
	h.L.ha_bitmap_size = 0x4000 / 64;
	tli_u64map_free(&h.arenas);
	assert_true(tli_u64map_put(&h.arenas, 1, HA0));
	sp[1].end = 0x42000 + 8 * 17;   /* 17 words: rounded up to one uintptr */
	assert_int_equal(tli_goheap_abits_len(&h.L, &sp[1]), 8);
	n = tli_goheap_abits_plan(&h, buf, rs, first, last);
	assert_int_equal(n, 2);
	assert_int_equal(rs[0].len, 0x2000 / 64 + 8);
	assert_int_equal(rs[1].addr, HA0 + 16 + 0x3000 / 64);
	assert_null(sp[2].abits);            /* its second arena is unknown */
	assert_int_equal(h.abits_missing, 1);
	tli_u64map_free(&h.arenas);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_2bit),
		cmocka_unit_test(test_decode_1bit),
		cmocka_unit_test(test_object_pointer_words),
		cmocka_unit_test(test_marker_with_bitmap),
		cmocka_unit_test(test_plan_reads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
