/* SPDX-License-Identifier: MIT */
/*
 * core/pagecache: small scattered reads served from whole pages must give every read
 * the same got, err and bytes as tli_target_read_many, and cost far fewer backend
 * calls and iovecs (the reason it exists: sudog walks inside the stop).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pagecache.h"
#include "core/target.h"

/* readable: [0x10000, 0x18000) and [0x20000, 0x21800) (the end is not page aligned:
 * a page read there is short); everything else faults */
static bool readable(uint64_t a)
{
	return (a >= 0x10000 && a < 0x18000) || (a >= 0x20000 && a < 0x21800);
}

static unsigned char pattern(uint64_t a)
{
	return (unsigned char)(a * 13 + (a >> 9) + 1);
}

struct fake {
	size_t calls, iovecs;
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
			if (!readable(a)) {
				r->err = EFAULT;
				break;
			}
			((unsigned char *)r->buf)[r->got++] = pattern(a);
		}
	}
	return NULL;
}

static const struct tli_target_ops fake_ops = { .name = "fake", .read_many = fake_read_many };

static struct tli_target *fake_target(struct fake *f)
{
	struct tli_target *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->ops = &fake_ops;
	t->priv = f;
	t->kind = TLI_TARGET_CORE; /* reads go straight to the backend */
	return t;
}

/* n reads of len bytes from addr on, step apart */
static struct tli_read *reads_at(uint64_t addr, uint64_t step, size_t len, size_t n)
{
	struct tli_read *rs = calloc(n, sizeof(*rs));
	assert_non_null(rs);
	for (size_t i = 0; i < n; i++) {
		rs[i] = (struct tli_read){ .addr = addr + i * step, .len = len, .buf = malloc(len ? len : 1) };
		assert_non_null(rs[i].buf);
	}
	return rs;
}

static void free_reads(struct tli_read *rs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rs[i].buf);
	free(rs);
}

/* through the cache and exactly: the same answer for every read */
static void check_same(uint64_t addr, uint64_t step, size_t len, size_t n)
{
	struct fake fa = { 0 }, fb = { 0 };
	struct tli_target *ta = fake_target(&fa), *tb = fake_target(&fb);
	struct tli_read *a = reads_at(addr, step, len, n), *b = reads_at(addr, step, len, n);
	struct tli_pagecache pc;
	tli_pagecache_init(&pc, 0);
	assert_null(tli_pagecache_read_many(&pc, ta, a, n));
	assert_null(tli_target_read_many(tb, b, n));
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(a[i].got, b[i].got);
		assert_int_equal(a[i].err, b[i].err);
		assert_memory_equal(a[i].buf, b[i].buf, a[i].got);
	}
	tli_pagecache_free(&pc);
	free_reads(a, n);
	free_reads(b, n);
	free(ta);
	free(tb);
}

static void test_same_answers(void **state)
{
	(void)state;
	check_same(0x10000, 96, 88, 300);      /* sudogs side by side, across pages */
	check_same(0x17f00, 40, 88, 10);       /* running off the end of the mapping */
	check_same(0x0f000, 200, 88, 30);      /* starting before it */
	check_same(0x21000, 100, 150, 30);     /* a mapping ending inside a page */
	check_same(0x30000, 8, 8, 5);          /* nothing readable */
	check_same(0x10ff0, 1, 32, 64);        /* every read crossing a page boundary */
	check_same(0x10000, 0, 0, 3);          /* empty reads */
	check_same(0x10000, 0x2000, 70000, 2); /* large reads (read exactly) */
}

static void test_fewer_calls(void **state)
{
	(void)state;
	struct fake f = { 0 };
	struct tli_target *t = fake_target(&f);
	size_t n = 320; /* 96-byte slots over 30 KiB */
	struct tli_read *rs = reads_at(0x10000, 96, 88, n);
	struct tli_pagecache pc;
	tli_pagecache_init(&pc, 0);
	assert_null(tli_pagecache_read_many(&pc, t, rs, n));
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.iovecs, 1); /* the 8 pages are neighbours: one run */
	/* a pointer chase over the same pages: one read at a time, no backend call */
	for (size_t i = 0; i < n; i++) {
		struct tli_read one = { .addr = 0x10000 + (n - 1 - i) * 96, .len = 88, .buf = rs[i].buf };
		assert_null(tli_pagecache_read_many(&pc, t, &one, 1));
		assert_int_equal(one.got, 88);
	}
	assert_int_equal(f.calls, 1);
	tli_pagecache_free(&pc);
	free_reads(rs, n);
	free(t);
}

/* Beyond its limit the cache reads exactly (still the same answers). */
static void test_limit(void **state)
{
	(void)state;
	struct fake f = { 0 };
	struct tli_target *t = fake_target(&f);
	struct tli_read *rs = reads_at(0x10000, 4096, 64, 8);
	struct tli_pagecache pc;
	tli_pagecache_init(&pc, 2 * 4096);
	assert_null(tli_pagecache_read_many(&pc, t, rs, 8));
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(rs[i].got, 64);
		assert_int_equal(((unsigned char *)rs[i].buf)[0], pattern(0x10000 + i * 4096));
	}
	assert_int_equal(f.calls, 2); /* the pages it may hold, then the rest exactly */
	tli_pagecache_free(&pc);
	free_reads(rs, 8);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_answers),
		cmocka_unit_test(test_fewer_calls),
		cmocka_unit_test(test_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
