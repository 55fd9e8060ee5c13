/* SPDX-License-Identifier: MIT */
/*
 * Target layer tests: a fake backend over a synthetic memory image (capture
 * merging, gaps, reads across extents, post-release reads, partial results),
 * then the live backend against forked children (stop/registers/memory/
 * release), procmem fault splitting in both modes, refusals, the signal
 * guard, and capture throughput on a 100 MB region (also with the capture memory
 * reserved before a deferred stop, read in place).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/live.h"
#include "backend/procmem.h"
#include "core/bigbuf.h"
#include "core/target.h"

/* ================================================================== */
/* fake backend                                                        */

struct region {
	uint64_t start, end;
};

/* image: A and B touch, C is separate; everything else is a hole */
static const struct region g_regions[] = {
	{ 0x10000, 0x14000 },
	{ 0x14000, 0x18000 },
	{ 0x20000, 0x30000 },
};

static unsigned char pattern(uint64_t a)
{
	return (unsigned char)(a * 7 + (a >> 8) + 3);
}

static const struct region *fake_region(uint64_t a)
{
	for (size_t i = 0; i < sizeof(g_regions) / sizeof(g_regions[0]); i++)
		if (a >= g_regions[i].start && a < g_regions[i].end)
			return &g_regions[i];
	return NULL;
}

struct fake {
	size_t calls, iovecs;
	uint64_t bytes;
};

static struct tli_error *fake_read_many(struct tli_target *t, struct tli_read *reads, size_t n)
{
	struct fake *f = t->priv;
	f->calls++;
	f->iovecs += n;
	for (size_t i = 0; i < n; i++) {
		struct tli_read *r = &reads[i];
		r->got = 0;
		r->err = 0;
		while (r->got < r->len) {
			uint64_t a = r->addr + r->got;
			if (!fake_region(a)) {
				r->err = EFAULT;
				break;
			}
			((unsigned char *)r->buf)[r->got++] = pattern(a);
		}
		f->bytes += r->got;
	}
	return NULL;
}

static void fake_destroy(struct tli_target *t)
{
	free(t->priv);
	t->priv = NULL;
}

static const struct tli_target_ops fake_ops = {
	.name = "fake", .read_many = fake_read_many, .release = NULL, .destroy = fake_destroy,
};

static struct tli_target *fake_target(bool with_maps, enum tli_target_kind kind)
{
	struct tli_target *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->ops = &fake_ops;
	t->priv = calloc(1, sizeof(struct fake));
	t->kind = kind;
	t->stopped = kind == TLI_TARGET_LIVE;
	clock_gettime(CLOCK_MONOTONIC, &t->stop_begin);
	if (with_maps) {
		t->maps = calloc(3, sizeof(*t->maps));
		t->maps[0] = (struct tli_mapping){ 0x10000, 0x14000, 0, TLI_PROT_R | TLI_PROT_X, strdup("/bin/x") };
		t->maps[1] = (struct tli_mapping){ 0x14000, 0x18000, 0, TLI_PROT_R | TLI_PROT_W, NULL };
		t->maps[2] = (struct tli_mapping){ 0x20000, 0x30000, 0, TLI_PROT_R, NULL };
		t->nmaps = 3;
	}
	t->threads = calloc(2, sizeof(*t->threads));
	t->threads[0].tid = 100;
	t->threads[1].tid = 101;
	t->nthreads = 2;
	return t;
}

static struct fake *F(struct tli_target *t)
{
	return t->priv;
}

static void check_pattern(const unsigned char *buf, uint64_t addr, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pattern(addr + i))
			fail_msg("byte at 0x%" PRIx64 " is %02x, expected %02x", addr + i, buf[i],
				 pattern(addr + i));
}

static void test_capture_merges_into_one_call(void **state)
{
	(void)state;
	struct tli_target *t = fake_target(true, TLI_TARGET_LIVE);
	struct tli_range r[] = { { 0x20000, 8 }, { 0x10100, 16 }, { 0x10010, 16 } };
	size_t nfailed = 99;
	assert_null(tli_target_capture(t, r, 3, 0, &nfailed));
	assert_int_equal(nfailed, 0);
	assert_int_equal(F(t)->calls, 1);  /* one backend call ... */
	assert_int_equal(F(t)->iovecs, 2); /* ... two merged extents (gap 4 KiB) */
	assert_true(tli_target_captured(t, 0x10010, 0x100)); /* the gap between them too */
	assert_false(tli_target_captured(t, 0x10000, 0x11));
	assert_int_equal(t->read_calls, 1);
	assert_int_equal(t->bytes_read, 0x100 + 8); /* [0x10010,0x10110) + 8 */
	tli_target_destroy(t);

	/* small gap: nothing merges */
	t = fake_target(true, TLI_TARGET_LIVE);
	assert_null(tli_target_capture(t, r, 3, 16, &nfailed));
	assert_int_equal(F(t)->calls, 1);
	assert_int_equal(F(t)->iovecs, 3);
	assert_false(tli_target_captured(t, 0x10020, 1));
	/* capturing again reads nothing new */
	assert_null(tli_target_capture(t, r, 3, 16, &nfailed));
	assert_int_equal(F(t)->iovecs, 3);
	tli_target_destroy(t);
}

static void test_capture_clipped_to_mappings(void **state)
{
	(void)state;
	struct tli_target *t = fake_target(true, TLI_TARGET_LIVE);
	/* one range from A across the hole into C */
	struct tli_range r[] = { { 0x17000, 0x9010 } };
	size_t nfailed = 0;
	assert_null(tli_target_capture(t, r, 1, 0, &nfailed));
	assert_int_equal(nfailed, 1); /* not fully readable */
	assert_true(tli_target_captured(t, 0x17000, 0x1000));
	assert_true(tli_target_captured(t, 0x20000, 0x10));
	assert_false(tli_target_captured(t, 0x18000, 1));
	/* the hole itself was never requested from the backend by pass 1 */
	assert_int_equal(F(t)->bytes, 0x1000 + 0x10);
	tli_target_destroy(t);
}

static void test_capture_without_maps_splits_around_faults(void **state)
{
	(void)state;
	struct tli_target *t = fake_target(false, TLI_TARGET_LIVE);
	/* merged (gap 64 KiB) into one range that faults at 0x18000; the second
	 * requested range lies past the hole and must still be captured */
	struct tli_range r[] = { { 0x17f00, 16 }, { 0x20010, 16 }, { 0x17ff0, 0x20 } };
	size_t nfailed = 0;
	assert_null(tli_target_capture(t, r, 3, 0x10000, &nfailed));
	assert_int_equal(nfailed, 1); /* only 0x17ff0+0x20 crosses into the hole */
	assert_true(tli_target_captured(t, 0x17f00, 16));
	assert_true(tli_target_captured(t, 0x20010, 16));
	assert_true(tli_target_captured(t, 0x17ff0, 0x10));
	assert_false(tli_target_captured(t, 0x17ff0, 0x11));
	assert_int_equal(F(t)->calls, 2); /* merged pass + exact retry pass */
	tli_target_destroy(t);
}

/* Ranges asked out of address order, some over extents of an earlier capture that touch
 * the new ones, some into a hole: each counted once as failed or not. */
static void test_capture_counts_unread_ranges(void **state)
{
	(void)state;
	struct tli_target *t = fake_target(true, TLI_TARGET_LIVE);
	struct tli_range first[] = { { 0x10000, 0x10 } };
	size_t nfailed = 99;
	assert_null(tli_target_capture(t, first, 1, 16, &nfailed));
	assert_int_equal(nfailed, 0);
	struct tli_range r[] = {
		{ 0x20000, 0x10 },  /* readable */
		{ 0x17ff0, 0x20 },  /* runs into the hole at 0x18000 */
		{ 0x10000, 0x30 },  /* the earlier extent, then new bytes touching it */
		{ 0x19000, 0x10 },  /* inside the hole */
		{ 0x10008, 0x08 },  /* inside the earlier extent */
	};
	assert_null(tli_target_capture(t, r, 5, 16, &nfailed));
	assert_int_equal(nfailed, 2);
	assert_true(tli_target_captured(t, 0x10000, 0x30));
	assert_true(tli_target_captured(t, 0x17ff0, 0x10));
	assert_false(tli_target_captured(t, 0x17ff0, 0x11));
	tli_target_destroy(t);
}

static void test_capture_hostile_lengths(void **state)
{
	(void)state;
	struct tli_target *t = fake_target(false, TLI_TARGET_LIVE);
	struct tli_range r[] = { { 0x50000, 1ull << 62 }, { UINT64_MAX - 16, 64 }, { 0x20000, 8 } };
	size_t nfailed = 0;
	assert_null(tli_target_capture(t, r, 3, 0, &nfailed)); /* bounded, no crash */
	assert_int_equal(nfailed, 2);
	assert_true(tli_target_captured(t, 0x20000, 8));
	tli_target_destroy(t);
	t = fake_target(true, TLI_TARGET_LIVE); /* with maps: nothing outside them is read */
	assert_null(tli_target_capture(t, r, 3, 0, &nfailed));
	assert_int_equal(nfailed, 2);
	assert_int_equal(F(t)->bytes, 8); /* only the readable request */
	tli_target_destroy(t);
}

/* Captured bytes in place: only where one buffer holds them; a reservation made
 * before the stop makes later captures inside it one buffer, read nothing itself. */
static void test_reserve_and_captured_ptr(void **state)
{
	(void)state;
	struct tli_target *t = fake_target(true, TLI_TARGET_LIVE);
	struct tli_range a = { 0x20000, 0x4000 }, b = { 0x24000, 0xc000 };
	assert_null(tli_target_capture(t, &a, 1, 0, NULL));
	assert_null(tli_target_capture(t, &b, 1, 0, NULL));
	const unsigned char *p = tli_target_captured_ptr(t, 0x20010, 0x100);
	assert_non_null(p);
	check_pattern(p, 0x20010, 0x100);
	p = tli_target_captured_ptr(t, 0x24000, 0xc000);
	assert_non_null(p);
	check_pattern(p, 0x24000, 0xc000);
	assert_null(tli_target_captured_ptr(t, 0x23ff0, 0x20)); /* two separate buffers */
	assert_true(tli_target_captured(t, 0x23ff0, 0x20));     /* (but captured) */
	assert_null(tli_target_captured_ptr(t, 0x10000, 16));   /* not captured */
	assert_null(tli_target_captured_ptr(t, 0x2fff0, 0x20)); /* runs past the capture */
	assert_null(tli_target_captured_ptr(t, UINT64_MAX - 8, 16));
	tli_target_destroy(t);

	t = fake_target(true, TLI_TARGET_LIVE);
	/* A/B (0x10000-0x18000) are too small to reserve; the hole is not mapped */
	struct tli_range all[] = { { 0x10000, 0x8000 }, { 0x1f000, 0x12000 } };
	assert_int_equal(tli_target_reserve(t, all, 2), 0x10000);
	assert_int_equal(F(t)->calls, 0); /* a reservation reads nothing */
	assert_int_equal(tli_target_reserve(t, all, 2), 0); /* already reserved */
	assert_null(tli_target_capture(t, &a, 1, 0, NULL));
	assert_null(tli_target_capture(t, &b, 1, 0, NULL));
	p = tli_target_captured_ptr(t, 0x20000, 0x10000); /* one buffer now */
	assert_non_null(p);
	check_pattern(p, 0x20000, 0x10000);
	tli_target_release(t);
	assert_int_equal(tli_target_reserve(t, all, 2), 0); /* released: nothing to capture */
	tli_target_destroy(t);

	t = fake_target(true, TLI_TARGET_CORE); /* a core is its own snapshot */
	assert_int_equal(tli_target_reserve(t, all, 2), 0);
	assert_null(tli_target_captured_ptr(t, 0x20000, 16));
	tli_target_destroy(t);
}

static void test_reads_across_touching_extents(void **state)
{
	(void)state;
	struct tli_target *t = fake_target(true, TLI_TARGET_LIVE);
	struct tli_range a = { 0x13f00, 0x100 }, b = { 0x14200, 0x100 }, all = { 0x13f00, 0x400 };
	assert_null(tli_target_capture(t, &a, 1, 0, NULL));
	assert_null(tli_target_capture(t, &b, 1, 0, NULL));
	uint64_t before = F(t)->bytes;
	assert_null(tli_target_capture(t, &all, 1, 0, NULL));
	assert_int_equal(F(t)->bytes - before, 0x200); /* only the hole in the middle */
	tli_target_release(t);
	assert_true(t->released);
	unsigned char buf[0x400];
	size_t calls = F(t)->calls;
	assert_null(tli_target_read(t, 0x13f00, buf, sizeof(buf))); /* three touching extents */
	check_pattern(buf, 0x13f00, sizeof(buf));
	assert_null(tli_target_read(t, 0x13ff8, buf, 0x10)); /* crosses the A|B mapping seam */
	check_pattern(buf, 0x13ff8, 0x10);
	uint64_t v;
	assert_null(tli_target_read_u64(t, 0x140fc, &v));
	uint64_t want = 0;
	for (int i = 7; i >= 0; i--)
		want = want << 8 | pattern(0x140fc + i);
	assert_int_equal(v, want);
	uint32_t w;
	assert_null(tli_target_read_u32(t, 0x14000, &w));
	assert_int_equal(w, (uint32_t)pattern(0x14000) | (uint32_t)pattern(0x14001) << 8 |
			    (uint32_t)pattern(0x14002) << 16 | (uint32_t)pattern(0x14003) << 24);
	assert_int_equal(F(t)->calls, calls); /* served from the capture */
	tli_target_destroy(t);
}

/* Bytes copied before the stop and proven unchanged join the capture without a read;
 * out-of-order, overlapping, partly peeked or already-captured ones are refused. */
static void test_adopt_precopied(void **state)
{
	(void)state;
	struct tli_target *t = fake_target(true, TLI_TARGET_LIVE);
	struct tli_range cap = { 0x20800, 0x100 };
	assert_null(tli_target_capture(t, &cap, 1, 0, NULL)); /* already captured: 0x20800..0x20900 */
	size_t len = 0x500;
	unsigned char *mem = tli_big_alloc(len);
	assert_non_null(mem);
	/* the "peeked" copies: the image's bytes, as a peek before the stop would have found them */
	struct tli_read v[6] = {
		{ .addr = 0x20000, .len = 0x100 },  /* adopted */
		{ .addr = 0x20080, .len = 0x100 },  /* overlaps the one before: refused */
		{ .addr = 0x20400, .len = 0x100 },  /* adopted */
		{ .addr = 0x20880, .len = 0x100 },  /* overlaps the captured extent: refused */
		{ .addr = 0x20a00, .len = 0x100 },  /* partly peeked: refused */
		{ .addr = 0x20300, .len = 0x80 },   /* below the one before (not ascending): refused */
	};
	for (size_t i = 0; i < 6; i++) {
		v[i].buf = mem + i * 0x100;
		for (size_t k = 0; k < v[i].len && i * 0x100 + k < len; k++)
			((unsigned char *)v[i].buf)[k] = pattern(v[i].addr + k);
		v[i].got = i == 4 ? 0x80 : v[i].len;
	}
	bool ok[6];
	size_t calls = F(t)->calls;
	assert_int_equal(tli_target_adopt(t, v, 6, mem, len, ok), 2);
	assert_true(ok[0] && !ok[1] && ok[2] && !ok[3] && !ok[4] && !ok[5]);
	assert_int_equal(t->bytes_adopted, 0x200);
	assert_int_equal(F(t)->calls, calls); /* nothing read */
	assert_true(tli_target_captured(t, 0x20000, 0x100));
	assert_true(tli_target_captured(t, 0x20400, 0x100));
	assert_false(tli_target_captured(t, 0x20100, 0x10));
	/* a later capture reads only what is not there yet */
	struct tli_range more = { 0x20000, 0x800 };
	uint64_t before = F(t)->bytes;
	assert_null(tli_target_capture(t, &more, 1, 0, NULL));
	assert_int_equal(F(t)->bytes - before, 0x800 - 0x200);
	tli_target_release(t);
	unsigned char buf[0x900];
	assert_null(tli_target_read(t, 0x20000, buf, sizeof(buf)));
	check_pattern(buf, 0x20000, sizeof(buf));
	tli_target_destroy(t); /* frees mem with the capture */

	/* a target that is not stopped adopts nothing (and frees the memory it was given) */
	t = fake_target(true, TLI_TARGET_CORE);
	mem = tli_big_alloc(0x100);
	struct tli_read one = { .addr = 0x20000, .len = 0x100, .buf = mem, .got = 0x100 };
	assert_int_equal(tli_target_adopt(t, &one, 1, mem, 0x100, ok), 0);
	assert_false(ok[0]);
	tli_target_destroy(t);
}

static void test_post_release_reads(void **state)
{
	(void)state;
	struct tli_target *t = fake_target(true, TLI_TARGET_LIVE);
	struct tli_range r = { 0x20000, 0x100 };
	assert_null(tli_target_capture(t, &r, 1, 0, NULL));
	tli_target_release(t);
	assert_true(t->pause_ms >= 0);
	size_t calls = F(t)->calls;
	unsigned char buf[16];
	assert_null(tli_target_read(t, 0x200f0, buf, 16));
	check_pattern(buf, 0x200f0, 16);
	struct tli_error *e = tli_target_read(t, 0x200f8, buf, 16); /* half captured */
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_FAULT);
	assert_int_equal(e->addr, 0x20100);
	assert_non_null(strstr(e->msg, "address 0x20100 was not captured while the target was stopped"));
	tli_error_destroy(e);
	e = tli_target_read(t, 0x10000, buf, 4); /* mapped, readable, but not captured */
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_FAULT);
	tli_error_destroy(e);
	assert_int_equal(F(t)->calls, calls); /* never went to the backend */
	e = tli_target_capture(t, &r, 1, 0, NULL);
	assert_non_null(e); /* capture after release is a bug in the caller */
	tli_error_destroy(e);
	tli_target_release(t); /* idempotent */
	tli_target_destroy(t);
}

static void test_read_many_partial(void **state)
{
	(void)state;
	struct tli_target *t = fake_target(true, TLI_TARGET_LIVE);
	unsigned char b1[16], b2[8], b3[8], b4[16];
	struct tli_read rd[] = {
		{ .addr = 0x17ff8, .buf = b1, .len = 16 }, /* runs into the hole */
		{ .addr = 0x20000, .buf = b2, .len = 8 },
		{ .addr = 0x50000, .buf = b3, .len = 8 },  /* unmapped */
		{ .addr = 0x10000, .buf = b4, .len = 16 },
	};
	assert_null(tli_target_read_many(t, rd, 4));
	assert_int_equal(rd[0].got, 8);
	assert_int_equal(rd[0].err, EFAULT);
	check_pattern(b1, 0x17ff8, 8);
	assert_int_equal(rd[1].got, 8);
	assert_int_equal(rd[1].err, 0);
	assert_int_equal(rd[2].got, 0);
	assert_int_equal(rd[2].err, EFAULT);
	assert_int_equal(rd[3].got, 16);
	struct tli_error *e = tli_target_read(t, 0x17ffc, b1, 8);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_FAULT);
	assert_int_equal(e->addr, 0x18000);
	tli_error_destroy(e);

	/* after release: captured prefix only */
	struct tli_range cr = { 0x10000, 8 };
	assert_null(tli_target_capture(t, &cr, 1, 1, NULL));
	tli_target_release(t);
	assert_null(tli_target_read_many(t, rd, 4));
	assert_int_equal(rd[3].got, 8);
	assert_int_equal(rd[3].err, EFAULT);
	check_pattern(b4, 0x10000, 8);
	assert_int_equal(rd[1].got, 0);
	tli_target_destroy(t);
}

static void test_core_kind_and_lookups(void **state)
{
	(void)state;
	struct tli_target *t = fake_target(true, TLI_TARGET_CORE);
	struct tli_range r = { 0x20000, 0x100 };
	assert_null(tli_target_capture(t, &r, 1, 0, NULL));
	assert_int_equal(F(t)->calls, 0); /* no-op on cores */
	unsigned char buf[32];
	assert_null(tli_target_read(t, 0x10000, buf, 32));
	check_pattern(buf, 0x10000, 32);
	tli_target_release(t);
	assert_null(tli_target_read(t, 0x10000, buf, 32)); /* cores stay readable */

	assert_ptr_equal(tli_target_find_mapping(t, 0x10000), &t->maps[0]);
	assert_ptr_equal(tli_target_find_mapping(t, 0x17fff), &t->maps[1]);
	assert_null(tli_target_find_mapping(t, 0x18000));
	assert_null(tli_target_find_mapping(t, 0xffff));
	assert_ptr_equal(tli_target_find_mapping(t, 0x2ffff), &t->maps[2]);
	assert_null(tli_target_find_mapping(t, 0x30000));
	assert_true(tli_target_plausible(t, 0x13ff0, 0x100)); /* across touching maps */
	assert_false(tli_target_plausible(t, 0x17ff0, 0x20));
	assert_false(tli_target_plausible(t, UINT64_MAX - 4, 16));
	assert_non_null(tli_target_thread(t, 101));
	assert_null(tli_target_thread(t, 102));
	tli_target_warn(t, "first %d", 1);
	tli_target_warn(t, "second");
	assert_int_equal(t->warnings.n, 2);
	assert_string_equal(t->warnings.v[0], "first 1");
	assert_string_equal(t->warnings.v[1], "second");
	tli_target_destroy(t);
	tli_target_destroy(NULL);
}

/* ================================================================== */
/* live children                                                       */

#define NTHREADS 3
static volatile uint64_t g_value;
static volatile uint64_t g_other = 0x1111;
static volatile uint64_t g_thread_self[NTHREADS + 1];
static volatile int g_spin = 1;
static pthread_barrier_t g_barrier;

static void *child_thread(void *arg)
{
	long i = (long)arg;
	g_thread_self[i + 1] = (uint64_t)pthread_self();
	pthread_barrier_wait(&g_barrier);
	if (i == 0) {
		while (g_spin) /* one busy thread */
			__asm__ volatile("" ::: "memory");
	}
	for (;;)
		usleep(1000);
	return NULL;
}

struct report {
	uint64_t value_addr, value;
	uint64_t other_addr;
	uint64_t self[NTHREADS + 1];
	uint64_t big_addr, big_len;
};

static void write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t k = write(fd, c, n);
		if (k <= 0)
			_exit(3);
		c += k;
		n -= (size_t)k;
	}
}

static void read_all(int fd, void *p, size_t n)
{
	char *c = p;
	while (n) {
		ssize_t k = read(fd, c, n);
		assert_true(k > 0);
		c += k;
		n -= (size_t)k;
	}
}

static pid_t g_children[64];
static int g_nchildren;

static void track(pid_t pid)
{
	if (g_nchildren < 64)
		g_children[g_nchildren++] = pid;
}

/* teardown: no child outlives a failed test */
static int kill_children(void **state)
{
	(void)state;
	for (int i = 0; i < g_nchildren; i++) {
		kill(g_children[i], SIGKILL);
		waitpid(g_children[i], NULL, 0);
	}
	g_nchildren = 0;
	return 0;
}

/* Fork a child with NTHREADS extra threads; optionally a big region filled with a pattern. */
static pid_t spawn_child(struct report *rep, size_t big_len)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		g_value = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ 0xa5a5a5a5ull;
		struct report r = { 0 };
		if (big_len) {
			uint64_t *big = mmap(NULL, big_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (big == MAP_FAILED)
				_exit(4);
			for (size_t i = 0; i < big_len / 8; i++)
				big[i] = (uint64_t)(uintptr_t)&big[i] ^ 0x5a5a5a5a12345678ull;
			r.big_addr = (uint64_t)(uintptr_t)big;
			r.big_len = big_len;
		}
		pthread_barrier_init(&g_barrier, NULL, NTHREADS + 1);
		g_thread_self[0] = (uint64_t)pthread_self();
		for (long i = 0; i < NTHREADS; i++) {
			pthread_t th;
			if (pthread_create(&th, NULL, child_thread, (void *)i))
				_exit(5);
		}
		pthread_barrier_wait(&g_barrier);
		r.value_addr = (uint64_t)(uintptr_t)&g_value;
		r.value = g_value;
		r.other_addr = (uint64_t)(uintptr_t)&g_other;
		for (int i = 0; i <= NTHREADS; i++)
			r.self[i] = g_thread_self[i];
		write_all(p[1], &r, sizeof(r));
		close(p[1]);
		for (;;)
			pause();
	}
	track(pid);
	close(p[1]);
	read_all(p[0], rep, sizeof(*rep));
	close(p[0]);
	return pid;
}

static void kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
}

static int task_list(pid_t pid, int *tids, int max)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && n < max)
			tids[n++] = atoi(de->d_name);
	closedir(d);
	return n;
}

static char proc_state(pid_t pid, int tid)
{
	char path[96], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] ? p[2] : 0;
}

/* true when no thread of pid is in ptrace-stop ('t') */
static bool none_traced_stopped(pid_t pid, int wait_ms)
{
	for (int k = 0; k <= wait_ms; k++) {
		int tids[64];
		int n = task_list(pid, tids, 64);
		bool any = false;
		for (int i = 0; i < n; i++)
			if (proc_state(pid, tids[i]) == 't')
				any = true;
		if (!any)
			return true;
		usleep(1000);
	}
	return false;
}

static void test_live_stop_read_release(void **state)
{
	(void)state;
	struct report rep;
	pid_t pid = spawn_child(&rep, 0);
	int tids[64];
	int ntask = task_list(pid, tids, 64);
	assert_int_equal(ntask, NTHREADS + 1);

	struct tli_target *t = NULL;
	struct tli_error *e = tli_live_open(pid, NULL, &t);
	if (e)
		fail_msg("tli_live_open: %s", e->msg);
	assert_int_equal(t->kind, TLI_TARGET_LIVE);
	assert_true(t->stopped);
	assert_int_equal(t->pid, pid);
	assert_int_equal(t->nthreads, (size_t)ntask);
	assert_int_equal(t->threads[0].tid, pid); /* main thread first */
	for (int i = 0; i < ntask; i++) {
		assert_int_equal(proc_state(pid, tids[i]), 't');
		assert_non_null(tli_target_thread(t, tids[i]));
	}
	assert_true(t->mono_now_ns > 0);
	assert_true(t->wall_now_ns > 0);
	assert_true(t->nmaps > 0);
	assert_non_null(t->exe_path);
	assert_int_equal(t->at_entry, getauxval(AT_ENTRY)); /* same binary, forked */
	assert_int_equal(t->at_phdr, getauxval(AT_PHDR));

	/* registers: rip in executable code, fs_base == the thread's pthread_self() */
	for (size_t i = 0; i < t->nthreads; i++) {
		const struct tli_thread *th = &t->threads[i];
		assert_true(th->regs_valid);
		const struct tli_mapping *m = tli_target_find_mapping(t, th->regs.pc);
		assert_non_null(m);
		assert_true(m->prot & TLI_PROT_X);
		assert_non_null(tli_target_find_mapping(t, th->regs.sp));
		bool found = false;
		for (int k = 0; k <= NTHREADS; k++)
			if (rep.self[k] == th->regs.tp)
				found = true;
		assert_true(found);
	}

	uint64_t v = 0;
	assert_null(tli_target_read_u64(t, rep.value_addr, &v));
	assert_int_equal(v, rep.value);
	struct tli_range r = { rep.value_addr, 8 };
	size_t nfailed = 9;
	assert_null(tli_target_capture(t, &r, 1, 1, &nfailed));
	assert_int_equal(nfailed, 0);
	tli_target_release(t);
	assert_false(t->stopped);
	assert_true(t->pause_ms > 0);
	assert_true(none_traced_stopped(pid, 1000));
	v = 0;
	assert_null(tli_target_read_u64(t, rep.value_addr, &v));
	assert_int_equal(v, rep.value);
	e = tli_target_read_u64(t, rep.other_addr + 4096 * 4, &v);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_FAULT);
	tli_error_destroy(e);
	/* the child still runs: it answers to a signal 0 and is not a zombie */
	assert_int_equal(kill(pid, 0), 0);
	tli_target_destroy(t);
	kill_child(pid);
}

static void test_live_destroy_without_release(void **state)
{
	(void)state;
	struct report rep;
	pid_t pid = spawn_child(&rep, 0);
	struct tli_target *t = NULL;
	struct tli_error *e = tli_live_open(pid, &(struct tli_live_opts){ .timeout_ms = 5000 }, &t);
	if (e)
		fail_msg("tli_live_open: %s", e->msg);
	assert_false(none_traced_stopped(pid, 0));
	tli_target_destroy(t); /* must detach */
	assert_true(none_traced_stopped(pid, 1000));
	kill_child(pid);
}

static void test_live_no_stop(void **state)
{
	(void)state;
	struct report rep;
	pid_t pid = spawn_child(&rep, 0);
	struct tli_target *t = NULL;
	struct tli_error *e = tli_live_open(pid, &(struct tli_live_opts){ .no_stop = true }, &t);
	if (e)
		fail_msg("tli_live_open(no_stop): %s", e->msg);
	assert_true(t->no_stop);
	assert_false(t->stopped);
	assert_int_equal(t->nthreads, NTHREADS + 1);
	for (size_t i = 0; i < t->nthreads; i++)
		assert_false(t->threads[i].regs_valid);
	assert_true(none_traced_stopped(pid, 0));
	uint64_t v;
	assert_null(tli_target_read_u64(t, rep.value_addr, &v));
	assert_int_equal(v, rep.value);
	tli_target_destroy(t);
	kill_child(pid);
}

static void test_live_dead_pid(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	int st;
	waitpid(pid, &st, 0);
	struct tli_target *t = (void *)1;
	struct tli_error *e = tli_live_open(pid, NULL, &t);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_NO_TARGET);
	assert_non_null(strstr(e->msg, "no process with pid"));
	assert_null(t);
	tli_error_destroy(e);
}

static void test_live_already_traced(void **state)
{
	(void)state;
	struct report rep;
	pid_t pid = spawn_child(&rep, 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t tracer = fork();
	if (tracer == 0) {
		close(p[0]);
		char ok = ptrace(PTRACE_SEIZE, pid, 0L, 0L) == 0 ? 'y' : 'n';
		write_all(p[1], &ok, 1);
		/* a debugger, not another tlinspect: another executable (the tracer stays the tracer
		 * across exec), else the engine says "busy, retry" */
		execl("/bin/sleep", "sleep", "1000", (char *)NULL);
		for (;;)
			pause();
	}
	track(tracer);
	close(p[1]);
	char ok;
	read_all(p[0], &ok, 1);
	close(p[0]);
	assert_int_equal(ok, 'y');
	char exe[64], lnk[64];
	snprintf(exe, sizeof(exe), "/proc/%d/exe", tracer);
	for (int i = 0; i < 200; i++) { /* until the exec happened */
		ssize_t n = readlink(exe, lnk, sizeof(lnk) - 1);
		if (n > 0 && (lnk[n] = 0, strstr(lnk, "sleep")))
			break;
		usleep(5000);
	}
	struct tli_target *t = NULL;
	struct tli_error *e = tli_live_open(pid, NULL, &t);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_PERM);
	char want[64];
	snprintf(want, sizeof(want), "already traced by pid %d (TracerPid)", tracer);
	assert_non_null(strstr(e->msg, want));
	assert_non_null(strstr(e->msg, "--no-stop"));
	tli_error_destroy(e);
	/* --no-stop still works */
	e = tli_live_open(pid, &(struct tli_live_opts){ .no_stop = true }, &t);
	assert_null(e);
	uint64_t v;
	assert_null(tli_target_read_u64(t, rep.value_addr, &v));
	assert_int_equal(v, rep.value);
	tli_target_destroy(t);
	kill_child(tracer);
	kill_child(pid);
}

/* an unprivileged inspector may not stop a root process */
static void test_live_permission_denied(void **state)
{
	(void)state;
	struct report rep;
	pid_t pid = spawn_child(&rep, 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t insp = fork();
	if (insp == 0) {
		close(p[0]);
		char msg[800] = "setuid failed";
		int code = -1;
		if (setgid(65534) == 0 && setuid(65534) == 0) {
			struct tli_target *t = NULL;
			struct tli_error *e = tli_live_open(pid, NULL, &t);
			code = e ? (int)e->code : 0;
			snprintf(msg, sizeof(msg), "%s", e ? e->msg : "opened");
		}
		write_all(p[1], &code, sizeof(code));
		write_all(p[1], msg, sizeof(msg));
		_exit(0);
	}
	track(insp);
	close(p[1]);
	int code;
	char msg[800];
	read_all(p[0], &code, sizeof(code));
	read_all(p[0], msg, sizeof(msg));
	close(p[0]);
	if (code != TLI_E_PERM)
		fail_msg("code %d: %s", code, msg);
	/* Yama is named only on kernels that have it */
	bool yama = access("/proc/sys/kernel/yama/ptrace_scope", F_OK) == 0;
	assert_true((strstr(msg, "/proc/sys/kernel/yama/ptrace_scope") != NULL) == yama);
	assert_non_null(strstr(msg, "CAP_SYS_PTRACE"));
	assert_true(none_traced_stopped(pid, 0));
	kill_child(pid);
}

/* threads that come and go while we attach: skipped, never fatal, never left stopped */
static void *churn_thread(void *arg)
{
	(void)arg;
	return NULL;
}

static void test_live_thread_churn(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		write_all(p[1], "x", 1);
		for (;;) {
			pthread_t th;
			pthread_attr_t a;
			pthread_attr_init(&a);
			pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
			pthread_create(&th, &a, churn_thread, NULL);
			pthread_attr_destroy(&a);
		}
	}
	track(pid);
	close(p[1]);
	char x;
	read_all(p[0], &x, 1);
	close(p[0]);
	usleep(50000);
	for (int round = 0; round < 10; round++) {
		struct tli_target *t = NULL;
		struct tli_error *e = tli_live_open(pid, NULL, &t);
		if (e)
			fail_msg("round %d: %s", round, e->msg);
		assert_true(t->nthreads >= 1);
		for (size_t i = 0; i < t->nthreads; i++) {
			assert_int_equal(proc_state(pid, t->threads[i].tid), 't');
			assert_true(t->threads[i].regs_valid);
		}
		tli_target_destroy(t);
		assert_true(none_traced_stopped(pid, 1000));
	}
	kill_child(pid);
}

/* A process that stops a target and then crashes must not leave it stopped. */
static void guard_case(int how)
{
	struct report rep;
	pid_t pid = spawn_child(&rep, 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t insp = fork();
	if (insp == 0) {
		close(p[0]);
		tli_live_install_signal_guard();
		struct tli_target *t = NULL;
		struct tli_error *e = tli_live_open(pid, NULL, &t);
		char ok = e ? 'n' : 'y';
		write_all(p[1], &ok, 1);
		if (how == 0)
			raise(SIGSEGV); /* a crash */
		else if (how == 1)
			for (;;)
				pause(); /* killed by SIGTERM from the parent */
		else
			exit(0); /* atexit */
		_exit(9);
	}
	track(insp);
	close(p[1]);
	char ok = 0;
	read_all(p[0], &ok, 1);
	close(p[0]);
	assert_int_equal(ok, 'y');
	if (how == 1) {
		assert_false(none_traced_stopped(pid, 0));
		kill(insp, SIGTERM);
	}
	int st;
	waitpid(insp, &st, 0);
	if (how == 0)
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
	if (how == 1)
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	assert_true(none_traced_stopped(pid, 1000));
	/* and it keeps running: the busy thread accumulates CPU time */
	kill_child(pid);
}

static void test_signal_guard(void **state)
{
	(void)state;
	guard_case(0);
	guard_case(1);
	guard_case(2);
}

/* procmem: ranges around an unmapped page, in both modes, > IOV_MAX ranges */
static void test_procmem_fault_splitting(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		unsigned char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		for (int i = 0; i < 3 * 4096; i++)
			m[i] = pattern((uint64_t)(uintptr_t)m + i);
		munmap(m + 4096, 4096);
		uint64_t a = (uint64_t)(uintptr_t)m;
		write_all(p[1], &a, 8);
		for (;;)
			pause();
	}
	track(pid);
	close(p[1]);
	uint64_t base;
	read_all(p[0], &base, 8);
	close(p[0]);
	for (int mode = TLI_PROCMEM_VM; mode <= TLI_PROCMEM_MEMFILE; mode++) {
		struct tli_procmem pm;
		tli_procmem_init(&pm, pid);
		pm.mode = mode;
		enum { N = 2500 };
		static unsigned char bufs[N][16];
		static struct tli_read rd[N];
		for (int i = 0; i < N; i++) {
			/* alternate: page 0 (ok), straddling 0|1 (8 ok), page 1 (bad), page 2 (ok) */
			uint64_t a = (i % 4 == 0) ? base + 16 * (i % 200)
				   : (i % 4 == 1) ? base + 4096 - 8
				   : (i % 4 == 2) ? base + 4096 + 64
						  : base + 8192 + 16 * (i % 200);
			rd[i] = (struct tli_read){ .addr = a, .buf = bufs[i], .len = 16 };
		}
		struct tli_error *e = tli_procmem_read_many(&pm, rd, N);
		if (e)
			fail_msg("procmem mode %d: %s", mode, e->msg);
		for (int i = 0; i < N; i++) {
			size_t want = (i % 4 == 1) ? 8 : (i % 4 == 2) ? 0 : 16;
			if (rd[i].got != want)
				fail_msg("mode %d read %d at 0x%" PRIx64 ": got %zu, want %zu", mode, i,
					 rd[i].addr, rd[i].got, want);
			if (want < 16)
				assert_true(rd[i].err != 0);
			check_pattern(bufs[i], rd[i].addr, rd[i].got);
		}
		/* readable ranges are batched: up to IOV_MAX per process_vm_readv */
		for (int i = 0; i < N; i++)
			rd[i] = (struct tli_read){ .addr = base + 16 * (i % 256), .buf = bufs[i], .len = 16 };
		uint64_t calls = pm.syscalls;
		assert_null(tli_procmem_read_many(&pm, rd, N));
		for (int i = 0; i < N; i++) {
			assert_int_equal(rd[i].got, 16);
			check_pattern(bufs[i], rd[i].addr, 16);
		}
		if (mode == TLI_PROCMEM_VM)
			assert_true(pm.syscalls - calls <= 3); /* 2500 ranges, IOV_MAX 1024 */
		/* a single range over all three pages keeps its readable prefix */
		static unsigned char big[3 * 4096];
		struct tli_read one = { .addr = base, .buf = big, .len = sizeof(big) };
		assert_null(tli_procmem_read_many(&pm, &one, 1));
		assert_int_equal(one.got, 4096);
		check_pattern(big, base, 4096);
		tli_procmem_close(&pm);
	}
	kill_child(pid);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_capture_throughput_100mb(void **state)
{
	(void)state;
	struct report rep;
	size_t len = 100u << 20;
	pid_t pid = spawn_child(&rep, len);
	assert_int_equal(rep.big_len, len);
	struct tli_target *t = NULL;
	struct tli_error *e = tli_live_open(pid, NULL, &t);
	if (e)
		fail_msg("tli_live_open: %s", e->msg);
	/* 25600 page-sized ranges, as a walker would ask for them */
	size_t n = len / 4096;
	struct tli_range *r = calloc(n, sizeof(*r));
	for (size_t i = 0; i < n; i++)
		r[i] = (struct tli_range){ rep.big_addr + i * 4096, 4096 };
	double t0 = now_s();
	size_t nfailed = 1;
	assert_null(tli_target_capture(t, r, n, 0, &nfailed));
	double dt = now_s() - t0;
	assert_int_equal(nfailed, 0);
	tli_target_release(t);
	const uint64_t *dummy = NULL;
	(void)dummy;
	for (size_t i = 0; i < len / 8; i += 4099) {
		uint64_t a = rep.big_addr + i * 8, v;
		assert_null(tli_target_read_u64(t, a, &v));
		assert_int_equal(v, a ^ 0x5a5a5a5a12345678ull);
	}
	print_message("capture of 100 MiB (%zu ranges): %.1f ms, %.0f MiB/s, %" PRIu64
		      " backend calls, pause %.1f ms\n", n, dt * 1e3, 100 / dt, t->read_calls, t->pause_ms);
	tli_target_destroy(t);

	/* the same with a deferred stop and the memory reserved before it: the pause is
	 * only the copy, and the capture is one buffer, read in place */
	struct tli_live_opts lo = { .defer_stop = true };
	e = tli_live_open(pid, &lo, &t);
	if (e)
		fail_msg("tli_live_open (deferred): %s", e->msg);
	t0 = now_s();
	struct tli_range whole = { rep.big_addr, len };
	assert_true(tli_target_reserve(t, &whole, 1) >= len);
	assert_false(t->stopped);
	double dres = now_s() - t0;
	t0 = now_s();
	assert_null(tli_target_capture(t, r, n, 0, &nfailed)); /* stops the target first */
	dt = now_s() - t0;
	assert_int_equal(nfailed, 0);
	tli_target_release(t);
	const uint64_t *w = tli_target_captured_ptr(t, rep.big_addr, len);
	assert_non_null(w);
	for (size_t i = 0; i < len / 8; i += 4099)
		assert_int_equal(w[i], (rep.big_addr + i * 8) ^ 0x5a5a5a5a12345678ull);
	print_message("reserved before the stop (%.1f ms): capture of 100 MiB %.1f ms, pause %.1f ms\n",
		      dres * 1e3, dt * 1e3, t->pause_ms);
	tli_target_destroy(t);
	free(r);

	/* the /proc/PID/mem path on the same region */
	struct tli_procmem pm;
	tli_procmem_init(&pm, pid);
	pm.mode = TLI_PROCMEM_MEMFILE;
	void *buf = malloc(len);
	struct tli_read rd = { .addr = rep.big_addr, .buf = buf, .len = len };
	t0 = now_s();
	assert_null(tli_procmem_read_many(&pm, &rd, 1));
	dt = now_s() - t0;
	assert_int_equal(rd.got, len);
	assert_int_equal(((uint64_t *)buf)[12345], (rep.big_addr + 12345 * 8) ^ 0x5a5a5a5a12345678ull);
	print_message("/proc/PID/mem read of 100 MiB: %.1f ms, %.0f MiB/s\n", dt * 1e3, 100 / dt);
	tli_procmem_close(&pm);
	/* process_vm_readv into an already-faulted buffer: the syscall's own speed */
	tli_procmem_init(&pm, pid);
	pm.mode = TLI_PROCMEM_VM;
	t0 = now_s();
	assert_null(tli_procmem_read_many(&pm, &rd, 1));
	dt = now_s() - t0;
	assert_int_equal(rd.got, len);
	print_message("process_vm_readv of 100 MiB into a warm buffer: %.1f ms, %.0f MiB/s\n",
		      dt * 1e3, 100 / dt);
	tli_procmem_close(&pm);
	free(buf);
	kill_child(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_merges_into_one_call),
		cmocka_unit_test(test_capture_clipped_to_mappings),
		cmocka_unit_test(test_capture_without_maps_splits_around_faults),
		cmocka_unit_test(test_capture_counts_unread_ranges),
		cmocka_unit_test(test_capture_hostile_lengths),
		cmocka_unit_test(test_reserve_and_captured_ptr),
		cmocka_unit_test(test_reads_across_touching_extents),
		cmocka_unit_test(test_adopt_precopied),
		cmocka_unit_test(test_post_release_reads),
		cmocka_unit_test(test_read_many_partial),
		cmocka_unit_test(test_core_kind_and_lookups),
		cmocka_unit_test_teardown(test_live_stop_read_release, kill_children),
		cmocka_unit_test_teardown(test_live_destroy_without_release, kill_children),
		cmocka_unit_test_teardown(test_live_no_stop, kill_children),
		cmocka_unit_test_teardown(test_live_dead_pid, kill_children),
		cmocka_unit_test_teardown(test_live_already_traced, kill_children),
		cmocka_unit_test_teardown(test_live_permission_denied, kill_children),
		cmocka_unit_test_teardown(test_live_thread_churn, kill_children),
		cmocka_unit_test_teardown(test_signal_guard, kill_children),
		cmocka_unit_test_teardown(test_procmem_fault_splitting, kill_children),
		cmocka_unit_test_teardown(test_capture_throughput_100mb, kill_children),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
