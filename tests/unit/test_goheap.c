/* SPDX-License-Identifier: MIT */
/*
 * go/types and go/heap without a process: runtime type descriptors in a
 * synthetic memory image (fields, name with TFlagExtraStar and unprintable
 * bytes, pointer bitmap plain / on demand / GC program, the two read policies),
 * and the heap marker over a hand-built heap (conservative and typed scanning,
 * interior pointers, unallocated slots, untraced words, g.stack.hi words).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "go/chans.h"
#include "go/heap.h"
#include "go/types.h"

#include "fake_image.h"

/* ---- go/types ---- */

/* internal/abi.Type as go1.22 lays it out */
static const struct tli_go_type_layout TL = {
	.type_size = 48, .t_size = 0, .t_ptrbytes = 8, .t_tflag = 20, .t_kind = 23, .t_gcdata = 32, .t_str = 40,
	.has_type = true, .has_gcdata = true,
};

#define TYPES  (IMG + 0x1000)     /* the "types section" */
#define T1     (IMG + 0x2000)
#define MASK   (IMG + 0x3000)
#define MASKP  (IMG + 0x3100)

static void put_type(uint64_t at, uint64_t size, uint64_t ptrbytes, uint8_t tflag, uint8_t kind, uint64_t gcdata,
		     int32_t str)
{
	put64(at + TL.t_size, size);
	put64(at + TL.t_ptrbytes, ptrbytes);
	img[at + TL.t_tflag - IMG] = tflag;
	img[at + TL.t_kind - IMG] = kind;
	put64(at + TL.t_gcdata, gcdata);
	put(at + TL.t_str, &str, 4);
}

static void test_type_decode_and_name(void **state)
{
	(void)state;
	memset(img, 0, sizeof(img));
	struct tli_target *t = fake_target();
	struct tli_gomoduledata md = { .types = TYPES, .etypes = TYPES + 0x1000 };
	/* names lie unaligned in the types section: from memory, only MODULE_FILE reads them */
	struct tli_go_type_src src = { .t = t, .md = &md, .L = &TL, .policy = TLI_GO_TYPE_MODULE_FILE };
	/* *main.T\x01 with TFlagExtraStar, kind 25 (struct) | a flag bit above KindMask */
	const char nm[] = "\x01\x08*main.T\x01";
	put(TYPES + 0x40, nm, sizeof(nm) - 1);
	put_type(T1, 24, 16, TLI_GO_TFLAG_EXTRA_STAR | TLI_GO_TFLAG_NAMED, 25 | 0x20, MASK, 0x40);
	struct tli_go_type ty;
	assert_true(tli_go_type_read(&src, T1, &ty));
	assert_int_equal(ty.size, 24);
	assert_int_equal(ty.ptrbytes, 16);
	assert_int_equal(ty.gcdata, MASK);
	assert_int_equal(tli_go_type_kind(&ty), 25);
	char name[64];
	assert_true(tli_go_type_name(&src, &ty, name, sizeof(name)));
	assert_string_equal(name, "main.T?");
	/* too long for the buffer: unknown, not truncated */
	assert_false(tli_go_type_name(&src, &ty, name, 8));
	/* no moduledata: no name */
	src.md = NULL;
	assert_false(tli_go_type_name(&src, &ty, name, sizeof(name)));
	/* unaligned: read from memory under MODULE_FILE, refused under FILE_OR_MEMORY */
	put_type(T1 + 0x101, 8, 0, 0, 2, 0, 0);
	assert_true(tli_go_type_read(&src, T1 + 0x101, &ty));
	assert_int_equal(ty.size, 8);
	src.policy = TLI_GO_TYPE_FILE_OR_MEMORY;
	assert_false(tli_go_type_read(&src, T1 + 0x101, &ty));
	assert_true(tli_go_type_read(&src, T1, &ty));
	/* unmapped, or no layout */
	assert_false(tli_go_type_read(&src, 0xdead0000ull, &ty));
	struct tli_go_type_layout nol = TL;
	nol.has_type = false;
	src.L = &nol;
	assert_false(tli_go_type_layout_ok(&nol));
	assert_false(tli_go_type_read(&src, T1, &ty));
	tli_target_destroy(t);
}

static void test_type_ptrmask(void **state)
{
	(void)state;
	memset(img, 0, sizeof(img));
	struct tli_target *t = fake_target();
	struct tli_go_type_src src = { .t = t, .L = &TL, .policy = TLI_GO_TYPE_MODULE_FILE };
	const struct tli_go_type_flags f = { .kind_gcprog = 0x40, .tflag_ondemand = 0x10 };
	img[MASK - IMG] = 0x5; /* words 0 and 2 */
	put64(MASKP, MASK);
	struct tli_go_type ty = { .size = 24, .ptrbytes = 24, .gcdata = MASK };
	uint8_t *m = NULL;
	assert_true(tli_go_type_ptrmask(&src, &f, &ty, &m));
	assert_int_equal(m[0], 0x5);
	free(m);
	/* GCData is **byte when the mask is built on demand */
	ty.tflag = 0x10;
	ty.gcdata = MASKP;
	assert_true(tli_go_type_ptrmask(&src, &f, &ty, &m));
	assert_int_equal(m[0], 0x5);
	free(m);
	/* ... and not built yet */
	put64(MASKP, 0);
	assert_false(tli_go_type_ptrmask(&src, &f, &ty, &m));
	assert_null(m);
	/* a GC program, an odd size, ptrbytes beyond size */
	struct tli_go_type prog = { .size = 24, .ptrbytes = 24, .gcdata = MASK, .kind_raw = 0x40 | 25 };
	assert_false(tli_go_type_ptrmask(&src, &f, &prog, &m));
	struct tli_go_type odd = { .size = 20, .ptrbytes = 8, .gcdata = MASK };
	assert_false(tli_go_type_ptrmask(&src, &f, &odd, &m));
	struct tli_go_type big = { .size = 8, .ptrbytes = 16, .gcdata = MASK };
	assert_false(tli_go_type_ptrmask(&src, &f, &big, &m));
	/* no pointers: an empty mask */
	struct tli_go_type flat = { .size = 16 };
	assert_true(tli_go_type_ptrmask(&src, &f, &flat, &m));
	free(m);
	tli_target_destroy(t);
}

/* ---- go/heap: the marker over a hand-built heap ---- */

#define SA 0x10000ull   /* 4 objects of 32 bytes, 0 1 3 allocated */
#define SB 0x20000ull   /* 2 noscan objects of 64 bytes */
#define TP 0x90000ull   /* a type: one pointer word, 8 bytes */

struct hfix {
	struct tli_goheap h;
	struct tli_goheap_span spans[2];
	uint8_t alloc[2];
	uint64_t a[16];          /* span A's memory */
	uint64_t data[2];        /* a data segment */
	struct tli_goheap_roots r;
	struct tli_target t;
};

static void hfix_init(struct hfix *f)
{
	memset(f, 0, sizeof(*f));
	f->alloc[0] = 0x0b;
	f->alloc[1] = 0x03;
	f->spans[0] = (struct tli_goheap_span){ .start = SA, .end = SA + 128, .elemsize = 32, .nelems = 4,
						.sizeclass = 3, .alloc = &f->alloc[0], .data = (uint8_t *)f->a };
	f->spans[1] = (struct tli_goheap_span){ .start = SB, .end = SB + 128, .elemsize = 64, .nelems = 2,
						.sizeclass = 5, .noscan = true, .alloc = &f->alloc[1] };
	f->h.spans = f->spans;
	f->h.nspans = 2;
	f->h.lo = SA;
	f->h.hi = SB + 128;
	f->a[0] = SA + 32 + 8;   /* A0 -> inside A1 */
	f->a[2] = SA + 64;       /* A0 -> A2: not allocated */
	f->a[5] = SB + 64;       /* A1 -> B1 */
	f->data[1] = SA;         /* data -> A0 */
	f->r.globals[TLI_GOHEAP_DATA] = (struct tli_goheap_range){ 0x5000, 0x5010, (uint8_t *)f->data };
}

static bool marked(struct tli_goheap_marker *m, uint64_t p)
{
	bool in_heap;
	return tli_goheap_is_marked(m, p, &in_heap);
}

static void test_heap_mark_conservative(void **state)
{
	(void)state;
	struct hfix f;
	hfix_init(&f);
	struct tli_goheap_object o;
	assert_true(tli_goheap_find_object(&f.h, SA + 100, &o));
	assert_int_equal(o.index, 3);
	assert_int_equal(o.base, SA + 96);
	assert_false(tli_goheap_find_object(&f.h, SA + 64, &o));    /* free slot */
	assert_false(tli_goheap_find_object(&f.h, SA + 128, &o));   /* between spans */
	assert_null(tli_goheap_find_span(NULL, SA));
	assert_int_equal(tli_goheap_bytes(&f.h), 256);

	struct tli_goheap_marker m;
	assert_null(tli_goheap_marker_init(&m, &f.h, NULL, true));
	tli_goheap_mark_from_roots(&m, &f.r, &f.t);
	tli_goheap_drain(&m);
	assert_true(marked(&m, SA));
	assert_true(marked(&m, SA + 32));
	assert_true(marked(&m, SB + 64));
	assert_false(marked(&m, SA + 96));
	assert_false(marked(&m, SB));
	bool in_heap = true;
	assert_false(tli_goheap_is_marked(&m, SA + 64, &in_heap));
	assert_false(in_heap);
	assert_int_equal(m.marked_objects, 3);
	assert_int_equal(m.scanned_bytes, 16 + 32 + 32);
	/* the trace: who marked whom */
	assert_int_equal(tli_u64map_get(&m.parent, SA), TLI_GOHEAP_ROOT_DATA);
	assert_int_equal(tli_u64map_get(&m.parent, SA + 32), SA);
	assert_int_equal(tli_u64map_get(&m.parent, SB + 64), SA + 32);
	tli_goheap_marker_free(&m);
}

static void test_heap_mark_untraced(void **state)
{
	(void)state;
	struct hfix f;
	hfix_init(&f);
	struct tli_u64set objs = { 0 }, words = { 0 }, hiw = { 0 };
	tli_u64set_add(&objs, SA);
	tli_u64set_add(&words, SA);          /* A0's word 0 (-> A1) is not traced */
	tli_u64set_add(&hiw, 0x5000 + 8);    /* data word 1 (== A0, 2 KiB aligned) is a stack.hi */
	struct tli_goheap_untraced u = { .objs = &objs, .obj_min = 32, .obj_max = 96, .words = &words };
	struct tli_goheap_marker m;
	assert_null(tli_goheap_marker_init(&m, &f.h, &u, false));
	tli_goheap_mark_from_roots(&m, &f.r, &f.t);
	tli_goheap_drain(&m);
	assert_true(marked(&m, SA));
	assert_false(marked(&m, SA + 32));
	tli_goheap_marker_free(&m);
	/* outside the size range the words are traced */
	u.obj_min = 33;
	assert_null(tli_goheap_marker_init(&m, &f.h, &u, false));
	tli_goheap_mark_from_roots(&m, &f.r, &f.t);
	tli_goheap_drain(&m);
	assert_true(marked(&m, SA + 32));
	tli_goheap_marker_free(&m);
	/* a stack.hi word keeps nothing alive */
	u.hi_words = &hiw;
	assert_null(tli_goheap_marker_init(&m, &f.h, &u, false));
	tli_goheap_mark_from_roots(&m, &f.r, &f.t);
	tli_goheap_drain(&m);
	assert_int_equal(m.marked_objects, 0);
	tli_goheap_marker_free(&m);
	tli_u64set_free(&objs);
	tli_u64set_free(&words);
	tli_u64set_free(&hiw);
}

static void test_heap_mark_typed(void **state)
{
	(void)state;
	struct hfix f;
	hfix_init(&f);
	/* malloc headers above 16 bytes: A0 = {TP, A3 (traced), 0x1234, A1+8}, tiled 8-byte type */
	f.h.L.typed = true;
	f.h.L.hdr_min = 16;
	f.h.L.hdr_size = 8;
	f.a[0] = TP;
	f.a[1] = SA + 96;
	f.a[2] = 0x1234;
	f.a[3] = SA + 40;
	f.a[4] = 0;              /* A1: no header, scanned word by word */
	static uint8_t mask1 = 1;
	struct tli_goheap_tinfo ti = { .ok = true, .size = 8, .ptrbytes = 8, .mask = &mask1 };
	assert_true(tli_vec_push(&f.h.tinfo, ti));
	assert_true(tli_u64map_put(&f.h.tcache, TP, 1));
	struct tli_goheap_object o = { 0 };
	assert_true(tli_goheap_find_object(&f.h, SA, &o));
	uint64_t payload = 0;
	assert_int_equal(tli_goheap_object_type(&f.h, o.span, o.base, &payload), TP);
	assert_int_equal(payload, SA + 8);
	struct tli_goheap_marker m;
	assert_null(tli_goheap_marker_init(&m, &f.h, NULL, false));
	tli_goheap_mark_from_roots(&m, &f.r, &f.t);
	tli_goheap_drain(&m);
	assert_true(marked(&m, SA + 96));
	assert_true(marked(&m, SA + 32));
	assert_true(marked(&m, SB + 64));   /* through A1, scanned conservatively */
	assert_int_equal(m.typed_objects, 1);
	assert_int_equal(m.typed_fallbacks, 2);   /* A1 and A3: header 0 */
	tli_goheap_marker_free(&m);
	tli_u64map_free(&f.h.tcache);
	tli_vec_free(&f.h.tinfo);
}

/* ---- go/heap: the copy reserved before the stop (tli_goheap_reserve) ---- */

#define ALLSPANS (IMG + 0x400)   /* mheap_.allspans: {array, len, cap} */
#define SPANARR  (IMG + 0x500)
#define MSPAN1   (IMG + 0x600)   /* mspan headers of the fake layout below, 64 bytes */
#define MSPAN2   (IMG + 0x700)
#define ABITS    (IMG + 0x800)
#define SPAN1    (IMG + 0x8000)  /* scannable: 64 objects of 64 bytes */
#define SPAN2    (IMG + 0xa000)  /* noscan: 32 objects of 128 bytes */

static const struct tli_goheap_layout HL = {
	.mheap = ALLSPANS, .allspans_off = 0, .mspan_size = 64,
	.sp_start = 0, .sp_nelems = 8, .sp_nelems_sz = 8, .sp_freeindex = 16, .sp_freeindex_sz = 8,
	.sp_allocbits = 24, .sp_state = 32, .sp_elemsize = 40, .sp_spanclass = 48, .sp_specials = 56,
	.span_inuse = 1,
};

static int fake_stops;

static struct tli_error *fake_stop(struct tli_target *t)
{
	(void)t;
	fake_stops++;
	return NULL;
}

static void fake_release(struct tli_target *t)
{
	(void)t;
}

static const struct tli_target_ops live_ops = {
	.name = "fake-live", .read_many = fake_read_many, .stop = fake_stop, .release = fake_release,
};

static void put_mspan(uint64_t at, uint64_t start, uint64_t nelems, uint64_t elemsize, uint8_t spanclass)
{
	put64(at + HL.sp_start, start);
	put64(at + HL.sp_nelems, nelems);
	put64(at + HL.sp_freeindex, nelems);
	put64(at + HL.sp_allocbits, ABITS);
	img[at + HL.sp_state - IMG] = 1;
	put64(at + HL.sp_elemsize, elemsize);
	img[at + HL.sp_spanclass - IMG] = spanclass;
}

/* a running process opened with a deferred stop, its heap two spans */
static struct tli_goheap *reserve_fixture(struct tli_session *s)
{
	memset(img, 0, sizeof(img));
	put64(ALLSPANS, SPANARR);
	put64(ALLSPANS + 8, 2);
	put64(ALLSPANS + 16, 2);
	put64(SPANARR, MSPAN1);
	put64(SPANARR + 8, MSPAN2);
	put_mspan(MSPAN1, SPAN1, 64, 64, 5 << 1);
	put_mspan(MSPAN2, SPAN2, 32, 128, 6 << 1 | 1);
	for (uint64_t a = SPAN1; a < SPAN1 + 4096; a += 8)
		put64(a, a * 3);
	struct tli_target *t = fake_target();
	assert_non_null(t);
	t->ops = &live_ops;
	t->kind = TLI_TARGET_LIVE;
	t->stop_deferred = true;
	*s = (struct tli_session){ .target = t };
	struct tli_goheap *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	h->s = s;
	h->L = HL;
	fake_stops = 0;
	return h;
}

static void test_heap_reserve_before_stop(void **state)
{
	(void)state;
	struct tli_session s;
	struct tli_goheap *h = reserve_fixture(&s);
	/* sized from the running process (peeked: not stopped), allocated and faulted */
	assert_true(tli_goheap_reserve(h) >= 4096);
	assert_int_equal(fake_stops, 0);
	assert_true(s.target->stop_deferred);
	uint8_t *resv = h->resv;
	assert_non_null(resv);
	/* the capture stops the target and copies into the reserved memory */
	assert_null(tli_goheap_capture(h));
	assert_int_equal(fake_stops, 1);
	assert_int_equal(h->nspans, 2);
	assert_ptr_equal(h->copy, resv);
	assert_null(h->resv);
	assert_ptr_equal(h->spans[0].data, resv);
	assert_memory_equal(h->spans[0].data, img + (SPAN1 - IMG), 4096);
	assert_null(h->spans[1].data); /* noscan: not copied */
	tli_goheap_destroy(h);
	tli_target_destroy(s.target);
	tli_warnings_free(&s.warnings);
}

/* gcMarkTinyAllocs: a P's current tiny block is a root (a lone sync.Mutex in it keeps its waiters
 * runnable) whatever references it; only that block, nothing else of its span */
static void test_heap_mark_tiny_block(void **state)
{
	(void)state;
	struct hfix f;
	hfix_init(&f);
	f.r.globals[TLI_GOHEAP_DATA].mem = NULL; /* no other root */
	struct tli_goheap_marker m;
	assert_null(tli_goheap_marker_init(&m, &f.h, NULL, true));
	tli_goheap_mark_from_roots(&m, &f.r, &f.t);
	tli_goheap_drain(&m);
	assert_false(marked(&m, SB));
	tli_goheap_marker_free(&m);

	assert_true(tli_vec_push(&f.r.tiny, SB));
	assert_null(tli_goheap_marker_init(&m, &f.h, NULL, true));
	tli_goheap_mark_from_roots(&m, &f.r, &f.t);
	tli_goheap_drain(&m);
	assert_true(marked(&m, SB + 4));   /* an object inside the block */
	assert_false(marked(&m, SB + 64));
	assert_false(marked(&m, SA));
	assert_int_equal(tli_u64map_get(&m.parent, SB), TLI_GOHEAP_ROOT_TINY);
	tli_goheap_marker_free(&m);
	tli_vec_free(&f.r.tiny);
}

static void test_heap_reserve_outgrown(void **state)
{
	(void)state;
	struct tli_session s;
	struct tli_goheap *h = reserve_fixture(&s);
	assert_true(tli_goheap_reserve(h) > 0);
	/* between the peek and the stop the span grew past the reservation: a copy of its own */
	put64(MSPAN1 + HL.sp_elemsize, 8u << 20);
	put64(MSPAN1 + HL.sp_nelems, 1);
	put64(MSPAN1 + HL.sp_freeindex, 1);
	assert_null(tli_goheap_capture(h));
	assert_null(h->resv);
	assert_non_null(h->spans[0].data);
	assert_int_equal(h->copy_len, 8u << 20);
	assert_memory_equal(h->spans[0].data, img + (SPAN1 - IMG), IMGSZ - (SPAN1 - IMG));
	tli_goheap_destroy(h);
	tli_target_destroy(s.target);
	tli_warnings_free(&s.warnings);
	/* a core (or a target already stopped): nothing to reserve */
	h = reserve_fixture(&s);
	s.target->kind = TLI_TARGET_CORE;
	s.target->stop_deferred = false;
	assert_int_equal(tli_goheap_reserve(h), 0);
	assert_null(h->resv);
	tli_goheap_destroy(h);
	tli_target_destroy(s.target);
}

int main(void)
{
	(void)fl_member; /* fake_image.h's layout provider: not needed here */
	(void)fl_size;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_decode_and_name),
		cmocka_unit_test(test_type_ptrmask),
		cmocka_unit_test(test_heap_mark_conservative),
		cmocka_unit_test(test_heap_mark_tiny_block),
		cmocka_unit_test(test_heap_mark_untraced),
		cmocka_unit_test(test_heap_mark_typed),
		cmocka_unit_test(test_heap_reserve_before_stop),
		cmocka_unit_test(test_heap_reserve_outgrown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
