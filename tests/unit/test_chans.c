/* SPDX-License-Identifier: MIT */
/*
 * Channel walker over hostile synthetic memory: a fake target backend serving a
 * hand-built memory image, and a fake layout provider describing the structs of
 * that image by name (the walker asks for names, never offsets). Cases: a sudog
 * queue with a cycle, a waiting chain with a cycle, qcount > dataqsiz, sendx
 * outside the ring, a wild elemtype pointer, an unmapped hchan, and a sane
 * buffered channel (wrapped ring) as the control. Every case must end bounded,
 * with a clear message and no crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "core/target.h"
#include "go/chans.h"
#include "go/changlobals.h"
#include "runtime_maps/maps.h"

#include "fake_image.h"


/* ---- the layout of this image (1.26-like: two-word sudog.c / sudog.elem) ---- */
static const struct fm fmembers[] = {
	{ "runtime.hchan", "qcount", 0, 8 },     { "runtime.hchan", "dataqsiz", 8, 8 },
	{ "runtime.hchan", "buf", 16, 8 },       { "runtime.hchan", "elemsize", 24, 2 },
	{ "runtime.hchan", "closed", 28, 4 },    { "runtime.hchan", "elemtype", 32, 8 },
	{ "runtime.hchan", "sendx", 40, 8 },     { "runtime.hchan", "recvx", 48, 8 },
	{ "runtime.hchan", "recvq", 56, 16 },    { "runtime.hchan", "sendq", 72, 16 },
	{ "runtime.waitq", "first", 0, 8 },      { "runtime.waitq", "last", 8, 8 },
	{ "runtime.sudog", "g", 0, 8 },          { "runtime.sudog", "next", 8, 8 },
	{ "runtime.sudog", "prev", 16, 8 },      { "runtime.sudog", "elem", 24, 16 },
	{ "runtime.sudog", "elem.vu", 32, 8 },   { "runtime.sudog", "isSelect", 60, 1 },
	{ "runtime.sudog", "waitlink", 72, 8 },  { "runtime.sudog", "c", 88, 16 },
	{ "runtime.sudog", "c.vu", 96, 8 },      { "runtime.g", "waiting", 64, 8 },
	{ "runtime.g", "selectDone", 72, 4 },    { "internal/abi.Type", "Size_", 0, 8 },
	{ "internal/abi.Type", "TFlag", 20, 1 }, { "internal/abi.Type", "Kind_", 23, 1 },
	{ "internal/abi.Type", "Str", 40, 4 },
};
static const struct fs fsizes[] = { { "runtime.hchan", 96 }, { "runtime.sudog", 104 }, { "runtime.g", 128 },
	       { "internal/abi.Type", 48 } };

static struct fake_layout fake_layout = { fmembers, sizeof(fmembers) / sizeof(fmembers[0]), fsizes,
					   sizeof(fsizes) / sizeof(fsizes[0]) };

static const struct tli_layout_provider_ops fl_ops = { .name = "fake", .member = fl_member,
						       .type_size = fl_size };

/* ---- image addresses ---- */
#define G1      (IMG + 0x0000)
#define G2      (IMG + 0x0100)
#define G3      (IMG + 0x0200)
#define CH      (IMG + 0x1000)   /* channel under test */
#define CH2     (IMG + 0x1100)
#define S1      (IMG + 0x2000)
#define S2      (IMG + 0x2100)
#define S3      (IMG + 0x2200)
#define TYPE    (IMG + 0x3000)
#define BUF     (IMG + 0x4000)
#define WILD    0xdead0000ull

struct fixture {
	struct tli_target *t;
	struct tli_layout *l;
	struct tli_go_chan_g gs[3];
};

static struct fixture *fx_new(void)
{
	memset(img, 0, sizeof(img));
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->t = fake_target();
	assert_null(tli_layout_create(&f->l));
	assert_null(tli_layout_add_provider(f->l, &fl_ops, &fake_layout));
	/* a type descriptor: int, size 8, kind 2 */
	put64(TYPE + 0, 8);
	img[TYPE - IMG + 23] = 2;
	uint64_t gaddr[3] = { G1, G2, G3 };
	for (int i = 0; i < 3; i++)
		f->gs[i] = (struct tli_go_chan_g){ .addr = gaddr[i], .raw = img + (gaddr[i] - IMG), .size = 128,
						   .goid = 18 + i, .waiting = true, .reason = "chan receive" };
	return f;
}

static void fx_free(struct fixture *f)
{
	tli_layout_destroy(f->l);
	tli_target_destroy(f->t);
	free(f);
}

static void hchan(uint64_t a, uint64_t qcount, uint64_t dataqsiz, uint64_t buf, uint16_t elemsize,
		  uint64_t elemtype, uint64_t sendx, uint64_t recvx, uint64_t recvfirst, uint64_t sendfirst)
{
	put64(a + 0, qcount);
	put64(a + 8, dataqsiz);
	put64(a + 16, buf);
	put(a + 24, &elemsize, 2);
	put64(a + 32, elemtype);
	put64(a + 40, sendx);
	put64(a + 48, recvx);
	put64(a + 56, recvfirst);
	put64(a + 72, sendfirst);
}

static void sudog(uint64_t a, uint64_t g, uint64_t next, uint64_t c, uint64_t waitlink, bool sel)
{
	put64(a + 0, g);
	put64(a + 8, next);
	put64(a + 96, c);      /* c.vu: the authoritative word */
	put64(a + 88, 0);      /* c.vp: nil, as during a leak GC */
	put64(a + 72, waitlink);
	img[a - IMG + 60] = sel;
}

static struct tli_go_chans *snap(struct fixture *f, uint64_t extra, bool values)
{
	struct tli_go_chans_src src = { .t = f->t, .l = f->l, .gs = f->gs, .ngs = 3 };
	struct tli_go_chans_opts o = { .values = values, .queues = true, .buffers = true };
	struct tli_go_chans *c = NULL;
	struct tli_error *err = tli_go_chans_snapshot(&src, extra ? &extra : NULL, extra ? 1 : 0, &o, &c);
	if (err)
		fail_msg("snapshot failed: %s", err->msg);
	return c;
}

/* control: a sane wrapped buffered channel with one receiver; c read through c.vu */
static void test_sane_channel(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	int64_t vals[4] = { 5, 6, 0, 4 }; /* ring: recvx=3 → 4, 5, 6 */
	put(BUF, vals, sizeof(vals));
	hchan(CH, 3, 4, BUF, 8, TYPE, 2, 3, 0, 0);
	/* g1 waits on CH2 (unbuffered), one sudog */
	hchan(CH2, 0, 0, CH2 + 96, 8, TYPE, 0, 0, S1, 0);
	sudog(S1, G1, 0, CH2, 0, false);
	put64(G1 + 64, S1);
	struct tli_go_chans *c = snap(f, CH, false);
	const struct tli_go_chan *ch = tli_go_chans_find(c, CH);
	assert_non_null(ch);
	assert_string_equal(ch->problem, "");
	assert_int_equal(ch->qcount, 3);
	assert_int_equal(ch->kind, 2);
	char ring[256];
	tli_go_chan_ring(ch, c, ring, sizeof(ring));
	assert_string_equal(ring, "[ 5 | 6 | _ | 4 ]  recvx=3 sendx=2");
	json_t *j = tli_go_chan_json(c, ch, NULL);
	json_t *b = json_object_get(j, "buffer");
	assert_int_equal(json_array_size(b), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(b, 0), "value")), 4);
	json_decref(j);
	const struct tli_go_chan *c2 = tli_go_chans_find(c, CH2);
	assert_non_null(c2);
	assert_int_equal(c2->nrecvq, 1);
	assert_int_equal(c2->recvq[0].goid, 18);
	assert_false(c2->recvq[0].stale);
	assert_int_equal(c->gs[0].nsudogs, 1);
	tli_go_chans_destroy(c);
	fx_free(f);
}

/* recvq: S1 -> S2 -> S1 ... */
static void test_queue_cycle(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	hchan(CH, 0, 0, CH + 96, 8, TYPE, 0, 0, S1, 0);
	sudog(S1, G1, S2, CH, 0, false);
	sudog(S2, G2, S1, CH, 0, false);
	put64(G1 + 64, S1);
	put64(G2 + 64, S2);
	struct tli_go_chans *c = snap(f, 0, false);
	const struct tli_go_chan *ch = tli_go_chans_find(c, CH);
	assert_non_null(ch);
	assert_int_equal(ch->nrecvq, 2);
	assert_non_null(strstr(ch->q_problem, "cycle"));
	json_t *j = tli_go_chan_json(c, ch, NULL);
	assert_non_null(strstr(json_string_value(json_object_get(j, "queue_problem")), "revisits sudog"));
	json_decref(j);
	tli_go_chans_destroy(c);
	fx_free(f);
}

/* g.waiting: S3 -> S3 (waitlink to itself) */
static void test_waiting_chain_cycle(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	hchan(CH, 0, 0, CH + 96, 8, TYPE, 0, 0, 0, 0);
	sudog(S3, G3, 0, CH, S3, true);
	put64(G3 + 64, S3);
	f->gs[2].reason = "select"; /* only a select chains its sudogs through waitlink */
	struct tli_go_chans *c = snap(f, 0, false);
	assert_int_equal(c->gs[2].nsudogs, 1);
	assert_non_null(strstr(c->gs[2].problem, "cycle"));
	tli_go_chans_destroy(c);
	fx_free(f);
}

static void test_qcount_over_dataqsiz(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	hchan(CH, 1000000, 4, BUF, 8, TYPE, 0, 0, 0, 0);
	struct tli_go_chans *c = snap(f, CH, false);
	const struct tli_go_chan *ch = tli_go_chans_find(c, CH);
	assert_non_null(ch);
	assert_string_equal(ch->problem, "qcount 1000000 > dataqsiz 4");
	assert_null(ch->bufbytes); /* nothing decoded from an inconsistent ring */
	json_t *j = tli_go_chan_json(c, ch, NULL);
	assert_int_equal(json_array_size(json_object_get(j, "buffer")), 0);
	assert_non_null(json_object_get(j, "unreadable"));
	json_decref(j);
	tli_go_chans_destroy(c);
	fx_free(f);
}

static void test_index_outside_ring(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	hchan(CH, 2, 4, BUF, 8, TYPE, 99, 1, 0, 0);
	struct tli_go_chans *c = snap(f, CH, false);
	const struct tli_go_chan *ch = tli_go_chans_find(c, CH);
	assert_non_null(strstr(ch->problem, "outside the ring"));
	char ring[128];
	tli_go_chan_ring(ch, c, ring, sizeof(ring)); /* must not index the ring */
	tli_go_chans_destroy(c);
	fx_free(f);
}

static void test_wild_elemtype(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	hchan(CH, 1, 2, BUF, 8, WILD, 1, 0, 0, 0);
	struct tli_go_chans *c = snap(f, CH, false);
	const struct tli_go_chan *ch = tli_go_chans_find(c, CH);
	assert_non_null(ch);
	assert_null(ch->type_name);
	assert_int_equal(ch->kind, -1);
	assert_non_null(strstr(ch->problem, "element type 0xdead0000 is unreadable"));
	json_t *j = tli_go_chan_json(c, ch, NULL);
	assert_true(json_is_null(json_object_get(j, "elemtype")));
	json_decref(j);
	tli_go_chans_destroy(c);
	fx_free(f);
}

static void test_elemtype_size_mismatch(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	hchan(CH, 1, 2, BUF, 16, TYPE, 1, 0, 0, 0); /* type says 8 bytes */
	struct tli_go_chans *c = snap(f, CH, false);
	const struct tli_go_chan *ch = tli_go_chans_find(c, CH);
	assert_non_null(strstr(ch->problem, "has size 8 but the channel's elemsize is 16"));
	tli_go_chans_destroy(c);
	fx_free(f);
}

static void test_unmapped_hchan_and_sudog(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	/* g1's sudog names a channel outside the image; g2's chain points outside */
	sudog(S1, G1, 0, WILD, 0, false);
	put64(G1 + 64, S1);
	put64(G2 + 64, WILD + 0x100);
	struct tli_go_chans *c = snap(f, 0, false);
	const struct tli_go_chan *ch = tli_go_chans_find(c, WILD);
	assert_non_null(ch);
	assert_false(ch->header_ok);
	assert_non_null(strstr(ch->problem, "not in mapped memory"));
	assert_non_null(strstr(c->gs[1].problem, "not in mapped memory"));
	tli_go_chans_destroy(c);
	fx_free(f);
}

/* a stale select entry (g.selectDone != 0) is listed but not counted as a waiter */
static void test_stale_select(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	hchan(CH, 0, 0, CH + 96, 8, TYPE, 0, 0, S1, 0);
	sudog(S1, G1, 0, CH, 0, true);
	uint32_t one = 1;
	put(G1 + 72, &one, 4);
	struct tli_go_chans *c = snap(f, CH, false);
	const struct tli_go_chan *ch = tli_go_chans_find(c, CH);
	assert_int_equal(ch->nrecvq, 1);
	assert_true(ch->recvq[0].stale);
	assert_int_equal(ch->waiters, 0);
	tli_go_chans_destroy(c);
	fx_free(f);
}

/* the global-channel recogniser: makechan's invariants accept a sane header; every hostile
 * variant (each invariant broken once) is rejected with the rule named, never read past */
static bool probe_type(void *ctx, uint64_t addr, uint64_t *size, uint64_t *ptrbytes, int *kind)
{
	(void)ctx;
	if (addr < IMG || addr + 48 > IMG + sizeof(img))
		return false;
	memcpy(size, img + (addr - IMG), 8);
	*ptrbytes = 0;
	*kind = img[addr - IMG + 23] & 0x1f;
	return true;
}

static void test_global_recogniser(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	struct tli_go_chan_layout L;
	assert_null(tli_go_chan_layout_resolve(f->l, &L));
	struct tli_go_type_probe tp = { .types_lo = TYPE, .types_hi = TYPE + 0x100, .have_ptrbytes = true,
					.type_info = probe_type };
	char why[160];
	const uint8_t *raw = img + (CH - IMG);
	struct {
		const char *what;
		uint64_t qcount, dataqsiz, buf, elemtype, sendx, recvx, rfirst, rlast;
		uint16_t elemsize;
		uint32_t closed;
		bool ok;
	} cases[] = {
		{ "buffered, no pointers: ring after the header", 3, 4, CH + 96, TYPE, 2, 3, 0, 0, 8, 0, true },
		{ "unbuffered: buf = &hchan.buf", 0, 0, CH + 16, TYPE, 0, 0, S1, S1, 8, 1, true },
		{ "qcount > dataqsiz", 5, 4, CH + 96, TYPE, 0, 0, 0, 0, 8, 0, false },
		{ "sendx outside the ring", 1, 4, CH + 96, TYPE, 9, 0, 0, 0, 8, 0, false },
		{ "unbuffered with a recvx", 0, 0, CH + 16, TYPE, 0, 1, 0, 0, 8, 0, false },
		{ "closed = 7", 0, 0, CH + 16, TYPE, 0, 0, 0, 0, 8, 7, false },
		{ "recvq first without last", 0, 0, CH + 16, TYPE, 0, 0, S1, 0, 8, 0, false },
		{ "wild elemtype", 0, 0, CH + 16, WILD, 0, 0, 0, 0, 8, 0, false },
		{ "elemtype not 8-aligned", 0, 0, CH + 16, TYPE + 3, 0, 0, 0, 0, 8, 0, false },
		{ "elemsize disagrees with the type", 1, 2, CH + 96, TYPE, 1, 0, 0, 0, 16, 0, false },
		{ "buffered ring elsewhere for a pointer-free type", 1, 2, BUF, TYPE, 1, 0, 0, 0, 8, 0, false },
		{ "huge dataqsiz", 0, 1ull << 50, CH + 96, TYPE, 0, 0, 0, 0, 8, 0, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(img + (CH - IMG), 0, 96);
		hchan(CH, cases[i].qcount, cases[i].dataqsiz, cases[i].buf, cases[i].elemsize, cases[i].elemtype,
		      cases[i].sendx, cases[i].recvx, cases[i].rfirst, 0);
		put64(CH + 64, cases[i].rlast);
		put(CH + 28, &cases[i].closed, 4);
		why[0] = 0;
		bool got = tli_go_hchan_plausible(&L, 8, CH, raw, &tp, why, sizeof(why));
		if (got != cases[i].ok)
			fail_msg("%s: recogniser said %s (%s)", cases[i].what, got ? "channel" : "not a channel", why);
		if (!got)
			assert_true(why[0] != 0);
	}
	/* a random image never crashes it */
	srand(7);
	for (int k = 0; k < 20000; k++) {
		for (int j = 0; j < 96; j++)
			img[CH - IMG + j] = (uint8_t)rand();
		(void)tli_go_hchan_plausible(&L, 8, CH, raw, &tp, why, sizeof(why));
	}
	fx_free(f);
}

/* a layout that puts an hchan field outside sizeof(runtime.hchan) (crafted DWARF or layout
 * cache) is refused before any buffer is indexed with it */
static void test_layout_outside_hchan(void **state)
{
	(void)state;
	static const struct fm bad[] = {
		{ "runtime.hchan", "qcount", 0, 8 },     { "runtime.hchan", "dataqsiz", 8, 8 },
		{ "runtime.hchan", "buf", 16, 8 },       { "runtime.hchan", "elemsize", 24, 2 },
		{ "runtime.hchan", "closed", 28, 4 },    { "runtime.hchan", "elemtype", 32, 8 },
		{ "runtime.hchan", "sendx", 40, 8 },     { "runtime.hchan", "recvx", 48, 8 },
		{ "runtime.hchan", "recvq", 56, 16 },    { "runtime.hchan", "sendq", 72, 16 },
		{ "runtime.waitq", "first", 100000, 8 }, { "runtime.waitq", "last", 8, 8 },
		{ "runtime.sudog", "g", 0, 8 },          { "runtime.sudog", "next", 8, 8 },
		{ "runtime.sudog", "prev", 16, 8 },      { "runtime.sudog", "elem", 24, 16 },
		{ "runtime.sudog", "elem.vu", 32, 8 },   { "runtime.sudog", "isSelect", 60, 1 },
		{ "runtime.sudog", "waitlink", 72, 8 },  { "runtime.sudog", "c", 88, 16 },
		{ "runtime.sudog", "c.vu", 96, 8 },      { "runtime.g", "waiting", 64, 8 },
	};
	struct fake_layout fl = { bad, sizeof(bad) / sizeof(bad[0]), fsizes, sizeof(fsizes) / sizeof(fsizes[0]) };
	struct tli_layout *l;
	assert_null(tli_layout_create(&l));
	assert_null(tli_layout_add_provider(l, &fl_ops, &fl));
	struct tli_go_chan_layout L;
	struct tli_error *e = tli_go_chan_layout_resolve(l, &L);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_CORRUPT);
	assert_non_null(strstr(e->msg, "outside"));
	tli_error_destroy(e);
	tli_layout_destroy(l);
}

static void test_reasons(void **state)
{
	(void)state;
	assert_true(tli_go_reason_forever("select (no cases)"));
	assert_true(tli_go_reason_forever("chan receive (nil chan)"));
	assert_false(tli_go_reason_forever("chan receive"));
	assert_true(tli_go_reason_user_blocked("sync.WaitGroup.Wait"));
	assert_false(tli_go_reason_user_blocked("semacquire"));
	assert_false(tli_go_reason_user_blocked("sleep"));
	assert_false(tli_go_reason_user_blocked(NULL));
}

/* a layout served by one shipped runtime map */
static struct tli_error *map_member(void *p, const char *type, const char *member, struct tli_member *ret)
{
	return tli_map_member(p, type, member, ret);
}
static struct tli_error *map_size(void *p, const char *type, uint64_t *ret)
{
	return tli_map_type_size(p, type, ret);
}
static const struct tli_layout_provider_ops map_ops = { .name = "map", .member = map_member, .type_size = map_size };

/* sudog.c and sudog.elem are read at the word the runtime keeps while it hides the object from a
 * goroutine-leak collection: go1.26+ maybeTraceable{Ptr,Chan} {vp, vu} (vp is nil then, vu never);
 * before, the pointer itself. sudog.c's vu is inside an embedded struct (c.maybeTraceablePtr.vu). */
static void test_sudog_words_of_every_map(void **state)
{
	(void)state;
	static const char *const vers[] = { "1.19", "1.21", "1.22", "1.23", "1.24", "1.25", "1.26", "1.27" };
	unsigned two_word = 0;
	for (size_t i = 0; i < sizeof(vers) / sizeof(vers[0]); i++) {
		char path[64];
		snprintf(path, sizeof(path), "runtime-maps/go/%s.map", vers[i]);
		struct tli_map *m;
		assert_null(tli_map_load(path, &m));
		struct tli_member c, elem;
		assert_null(tli_map_member(m, "runtime.sudog", "c", &c));
		assert_null(tli_map_member(m, "runtime.sudog", "elem", &elem));
		struct tli_layout *l;
		assert_null(tli_layout_create(&l));
		assert_null(tli_layout_add_provider(l, &map_ops, m));
		struct tli_go_chan_layout L;
		struct tli_error *err = tli_go_chan_layout_resolve(l, &L);
		if (err)
			fail_msg("go%s: %s", vers[i], err->msg);
		/* the pointer is the last word of the member: one word, or vu of {vp, vu} */
		assert_int_equal(L.s_c, c.offset + c.size - 8);
		assert_int_equal(L.s_elem, elem.offset + elem.size - 8);
		two_word += c.size == 16;
		tli_layout_destroy(l);
		tli_map_free(m);
	}
	assert_true(two_word >= 2); /* 1.26 and 1.27 at least */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sane_channel),
		cmocka_unit_test(test_queue_cycle),
		cmocka_unit_test(test_waiting_chain_cycle),
		cmocka_unit_test(test_qcount_over_dataqsiz),
		cmocka_unit_test(test_index_outside_ring),
		cmocka_unit_test(test_wild_elemtype),
		cmocka_unit_test(test_elemtype_size_mismatch),
		cmocka_unit_test(test_unmapped_hchan_and_sudog),
		cmocka_unit_test(test_stale_select),
		cmocka_unit_test(test_global_recogniser),
		cmocka_unit_test(test_layout_outside_hchan),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_sudog_words_of_every_map),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
