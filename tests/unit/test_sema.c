/* SPDX-License-Identifier: MIT */
/*
 * runtime.semtable walk (Go <= 1.25 semaphore waits, runtime/sema.go semaRoot) over
 * hand-built memory: a fake target serving one image and a fake layout
 * describing a 1.24-like sudog/semaRoot by name. The image is built from the
 * runtime's rules (bucket = (addr >> 3) % 251, treap children prev/next with
 * parent back-pointers, same-address waiters on waitlink), independently of the
 * walker. Cases: a sane treap (root, a left child, a waitlink waiter), a cycle,
 * a child whose parent pointer disagrees, a node in the wrong bucket, an
 * unmapped table, a wild treap pointer, and a runtime that already links the
 * sudog from g.waiting (no walk).
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

#include "fake_image.h"

static uint64_t semtable_addr;

/* go1.24 amd64 offsets (runtime-maps/go/1.24.map) */
static const struct fm fmembers[] = {
	{ "runtime.hchan", "qcount", 0, 8 },     { "runtime.hchan", "dataqsiz", 8, 8 },
	{ "runtime.hchan", "buf", 16, 8 },       { "runtime.hchan", "elemsize", 24, 2 },
	{ "runtime.hchan", "closed", 28, 4 },    { "runtime.hchan", "elemtype", 32, 8 },
	{ "runtime.hchan", "sendx", 40, 8 },     { "runtime.hchan", "recvx", 48, 8 },
	{ "runtime.hchan", "recvq", 56, 16 },    { "runtime.hchan", "sendq", 72, 16 },
	{ "runtime.waitq", "first", 0, 8 },      { "runtime.sudog", "g", 0, 8 },
	{ "runtime.sudog", "next", 8, 8 },       { "runtime.sudog", "prev", 16, 8 },
	{ "runtime.sudog", "elem", 24, 8 },      { "runtime.sudog", "isSelect", 52, 1 },
	{ "runtime.sudog", "parent", 56, 8 },    { "runtime.sudog", "waitlink", 64, 8 },
	{ "runtime.sudog", "waittail", 72, 8 },  { "runtime.sudog", "c", 80, 8 },
	{ "runtime.g", "waiting", 64, 8 },       { "runtime.semaRoot", "treap", 8, 8 },
	{ "runtime.semaRoot", "nwait", 16, 4 },
};
static const struct fs fsizes[] = { { "runtime.hchan", 96 }, { "runtime.sudog", 88 }, { "runtime.g", 128 },
	       { "runtime.semaRoot", 24 } };

static struct fake_layout fake_layout = { fmembers, sizeof(fmembers) / sizeof(fmembers[0]), fsizes,
					   sizeof(fsizes) / sizeof(fsizes[0]) };

static struct tli_error *fl_global(void *p, const char *name, struct tli_global *ret)
{
	(void)p;
	if (!strcmp(name, "runtime.semtable")) {
		ret->addr = semtable_addr;
		ret->size = 251 * 64;
		return NULL;
	}
	return tli_error_create(TLI_E_NO_INFO, "fake layout: no global %s", name);
}

static const struct tli_layout_provider_ops fl_ops = { .name = "fake", .member = fl_member,
						       .type_size = fl_size, .global = fl_global };

#define G1   (IMG + 0x0000)
#define G2   (IMG + 0x0100)
#define G3   (IMG + 0x0200)
#define S1   (IMG + 0x2000)
#define S2   (IMG + 0x2100)
#define S3   (IMG + 0x2200)
#define TAB  (IMG + 0x8000)
#define A1   0xc000012340ull           /* semaphore addresses (need not be mapped) */
#define A2   (A1 + 8 * 251)            /* same bucket as A1 */

static uint64_t bucket(uint64_t a)
{
	return (a >> 3) % 251;
}

static void node(uint64_t s, uint64_t g, uint64_t elem, uint64_t prev, uint64_t next, uint64_t parent,
		 uint64_t waitlink)
{
	put64(s + 0, g);
	put64(s + 8, next);
	put64(s + 16, prev);
	put64(s + 24, elem);
	put64(s + 56, parent);
	put64(s + 64, waitlink);
}

struct fixture {
	struct tli_target *t;
	struct tli_layout *l;
	struct tli_go_chan_g gs[3];
};

static struct fixture *fx_new(void)
{
	memset(img, 0, sizeof(img));
	semtable_addr = TAB;
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->t = fake_target();
	assert_null(tli_layout_create(&f->l));
	assert_null(tli_layout_add_provider(f->l, &fl_ops, &fake_layout));
	static const char *const reasons[] = { "sync.Mutex.Lock", "semacquire", "sync.WaitGroup.Wait" };
	uint64_t gaddr[3] = { G1, G2, G3 };
	for (int i = 0; i < 3; i++)
		f->gs[i] = (struct tli_go_chan_g){ .addr = gaddr[i], .raw = img + (gaddr[i] - IMG), .size = 128,
						   .goid = 30 + i, .waiting = true, .reason = reasons[i] };
	/* root A1 in its bucket, left child A2 (same bucket), a second waiter on A1 */
	put64(TAB + bucket(A1) * 64 + 8, S1);
	node(S1, G1, A1, S2, 0, 0, S3);
	node(S2, G2, A2, 0, 0, S1, 0);
	node(S3, G3, A1, 0, 0, 0, 0);
	return f;
}

static void fx_free(struct fixture *f)
{
	tli_layout_destroy(f->l);
	tli_target_destroy(f->t);
	free(f);
}

static struct tli_go_chans *snap(struct fixture *f)
{
	struct tli_go_chans_src src = { .t = f->t, .l = f->l, .gs = f->gs, .ngs = 3 };
	struct tli_go_chans_opts o = { .queues = true };
	struct tli_go_chans *c = NULL;
	struct tli_error *err = tli_go_chans_snapshot(&src, NULL, 0, &o, &c);
	if (err)
		fail_msg("snapshot: %s", err->msg);
	return c;
}

static uint64_t elem_of(const struct tli_go_chans *c, int gi)
{
	const struct tli_go_chan_g *g = &c->gs[gi];
	if (!g->sema || g->nsudogs != 1)
		return 0;
	return c->gsudogs[g->first_sudog].elem;
}

static void test_sane(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	struct tli_go_chans *c = snap(f);
	assert_true(c->sema_walked);
	assert_string_equal(c->sema_problem, "");
	assert_int_equal(c->sema_nodes, 3);
	assert_int_equal(c->sema_linked, 3);
	assert_int_equal(elem_of(c, 0), A1);
	assert_int_equal(elem_of(c, 1), A2);
	assert_int_equal(elem_of(c, 2), A1);
	assert_int_equal(c->gsudogs[c->gs[2].first_sudog].addr, S3);
	assert_int_equal(c->nchans, 0); /* a semaphore is no channel */
	tli_go_chans_destroy(c);
	fx_free(f);
}

static void test_cycle(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	node(S3, G3, A1, 0, 0, 0, S1); /* waitlink back to the root */
	struct tli_go_chans *c = snap(f);
	assert_non_null(strstr(c->sema_problem, "cycle"));
	assert_int_equal(c->sema_linked, 3); /* everything before the cycle still counts */
	tli_go_chans_destroy(c);
	fx_free(f);
}

static void test_bad_parent(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	node(S2, G2, A2, 0, 0, S3, 0); /* claims another parent */
	struct tli_go_chans *c = snap(f);
	assert_non_null(strstr(c->sema_problem, "parent"));
	assert_false(c->gs[1].sema);
	assert_int_equal(c->gs[1].nsudogs, 0);
	assert_true(c->gs[0].sema);
	tli_go_chans_destroy(c);
	fx_free(f);
}

static void test_wrong_bucket(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	node(S2, G2, A2 + 8, 0, 0, S1, 0); /* belongs to the next bucket */
	struct tli_go_chans *c = snap(f);
	assert_non_null(strstr(c->sema_problem, "does not belong"));
	assert_false(c->gs[1].sema);
	tli_go_chans_destroy(c);
	fx_free(f);
}

static void test_unmapped_table_and_wild_node(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	semtable_addr = 0xdead0000ull;
	struct tli_go_chans *c = snap(f);
	assert_non_null(strstr(c->sema_problem, "not in mapped memory"));
	assert_int_equal(c->sema_linked, 0);
	tli_go_chans_destroy(c);
	semtable_addr = TAB;
	put64(TAB + bucket(A1) * 64 + 8, 0xdead0000ull);
	c = snap(f);
	assert_non_null(strstr(c->sema_problem, "not in mapped memory"));
	assert_int_equal(c->sema_linked, 0);
	tli_go_chans_destroy(c);
	fx_free(f);
}

static void test_no_walk_when_linked(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	/* a 1.26-like runtime: g.waiting points at the sudog already */
	for (int i = 0; i < 3; i++) {
		uint64_t s = (uint64_t[]){ S1, S2, S3 }[i];
		put64(f->gs[i].addr + 64, s);
	}
	struct tli_go_chans *c = snap(f);
	assert_false(c->sema_walked);
	for (int i = 0; i < 3; i++) {
		assert_false(c->gs[i].sema);
		assert_int_equal(c->gs[i].nsudogs, 1);
	}
	tli_go_chans_destroy(c);
	fx_free(f);
}

static void test_reason(void **state)
{
	(void)state;
	assert_true(tli_go_reason_sema("semacquire"));
	assert_true(tli_go_reason_sema("sync.RWMutex.RLock"));
	assert_false(tli_go_reason_sema("sync.Cond.Wait"));
	assert_false(tli_go_reason_sema("chan receive"));
	assert_false(tli_go_reason_sema(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sane),
		cmocka_unit_test(test_cycle),
		cmocka_unit_test(test_bad_parent),
		cmocka_unit_test(test_wrong_bucket),
		cmocka_unit_test(test_unmapped_table_and_wild_node),
		cmocka_unit_test(test_no_walk_when_linked),
		cmocka_unit_test(test_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
