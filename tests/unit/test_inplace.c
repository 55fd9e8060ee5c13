/* SPDX-License-Identifier: MIT */
/*
 * --snapshot=fork's in-place views (backend/live_inplace.c) against a forked child: the bytes
 * are the child's (not ours, changed after the fork), in address order, backwards and at
 * random; at most the window is resident; pages given back come again; a window that holds
 * them all reads each MiB once and keeps pages given back; ranges the child does not map give
 * no view; a child that is gone gives zeros and says so, never a hang.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/live_int.h"

#define LEN (16u << 20)
#define WINDOW (4u << 20)   /* the least a view server keeps: four of its largest blocks */

static uint8_t pattern(uint64_t a)
{
	return (uint8_t)(a * 7 + (a >> 12) + 3);
}

/* resident pages of [p, p+len) */
static size_t resident(const void *p, size_t len)
{
	size_t np = len / 4096, n = 0;
	unsigned char *v = malloc(np);
	assert_non_null(v);
	assert_int_equal(mincore((void *)p, len, v), 0);
	for (size_t i = 0; i < np; i++)
		n += v[i] & 1;
	free(v);
	return n;
}

static void check_all(const uint8_t *view, const uint8_t *buf, size_t *peak)
{
	uint64_t bad = 0;
	/* forwards, backwards, then at random, noting the resident pages on the way */
	for (size_t i = 0; i < LEN; i += 64) {
		bad += view[i] != pattern((uintptr_t)buf + i);
		if (!(i % (1u << 20)) && resident(view, LEN) > *peak)
			*peak = resident(view, LEN);
	}
	for (size_t i = LEN; i >= 64; i -= 64)
		bad += view[i - 64] != pattern((uintptr_t)buf + i - 64);
	uint64_t x = 88172645463325252ull;
	for (int k = 0; k < 20000; k++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t i = (size_t)(x % LEN);
		bad += view[i] != pattern((uintptr_t)buf + i);
	}
	if (resident(view, LEN) > *peak)
		*peak = resident(view, LEN);
	assert_int_equal(bad, 0);
}

static void test_views(void **state)
{
	(void)state;
	uint8_t *buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(buf != MAP_FAILED);
	for (size_t i = 0; i < LEN; i++)
		buf[i] = pattern((uintptr_t)buf + i);
	pid_t child = fork();
	assert_true(child >= 0);
	if (!child) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
		munmap(buf + LEN / 2, 4096); /* a hole only the child has */
		for (;;)
			pause();
	}
	usleep(100000); /* the child's munmap */
	memset(buf, 0, LEN); /* ours changes: the views must show the child's */

	struct tli_live_inplace *ip = tli_live_inplace_new(child, WINDOW);
	assert_non_null(ip);
	const uint8_t *lo = tli_live_inplace_ptr(ip, (uintptr_t)buf, LEN / 2);
	if (!lo) { /* no userfaultfd here (seccomp, an old kernel) */
		tli_live_inplace_free(ip);
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		munmap(buf, LEN);
		skip();
	}
	assert_true(tli_live_inplace_used(ip));
	/* across the child's hole: no view; inside its second half: one */
	assert_null(tli_live_inplace_ptr(ip, (uintptr_t)buf + LEN / 2 - 8, 16));
	assert_null(tli_live_inplace_ptr(ip, 4096, 8));
	const uint8_t *hi = tli_live_inplace_ptr(ip, (uintptr_t)buf + LEN / 2 + 4096, 4096);
	assert_non_null(hi);
	/* the same bytes again: the same view */
	assert_ptr_equal(tli_live_inplace_ptr(ip, (uintptr_t)buf + 4096, 100), lo + 4096);

	size_t peak = 0;
	uint64_t bad = 0;
	for (size_t i = 0; i < LEN / 2; i += 64)
		bad += lo[i] != pattern((uintptr_t)buf + i);
	assert_int_equal(bad, 0);
	assert_true(hi[0] == pattern((uintptr_t)buf + LEN / 2 + 4096));

	tli_live_inplace_free(ip);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);

	/* again with a child that has the whole buffer: resident pages stay within the window */
	for (size_t i = 0; i < LEN; i++)
		buf[i] = pattern((uintptr_t)buf + i);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	usleep(20000);
	memset(buf, 0, LEN);
	ip = tli_live_inplace_new(child, WINDOW);
	const uint8_t *view = tli_live_inplace_ptr(ip, (uintptr_t)buf, LEN);
	assert_non_null(view);
	check_all(view, buf, &peak);
	/* within the window: the oldest blocks go before a new one comes */
	assert_true(peak > 0 && peak * 4096 <= WINDOW);
	assert_true(tli_live_inplace_faults(ip) >= 3 * LEN / (1u << 20)); /* each pass faults again */
	assert_int_equal(tli_live_inplace_lost(ip), 0);
	/* given back, read again */
	tli_live_inplace_drop(ip, view, LEN);
	assert_int_equal(resident(view, LEN), 0);
	assert_true(view[12345] == pattern((uintptr_t)buf + 12345));

	tli_live_inplace_free(ip);

	/* a window that holds it all: each aligned MiB is read once, whatever the order, and
	 * pages a walker gives back stay (they would only be read again) */
	ip = tli_live_inplace_new(child, 2 * LEN);
	view = tli_live_inplace_ptr(ip, (uintptr_t)buf, LEN);
	assert_non_null(view);
	peak = 0;
	check_all(view, buf, &peak);
	uint64_t faults = tli_live_inplace_faults(ip);
	assert_true(faults > 0 && faults <= LEN / (1u << 20) + 1);
	assert_true(tli_live_inplace_bytes(ip) <= LEN + (1u << 20));
	assert_int_equal(resident(view, LEN), LEN / 4096);
	tli_live_inplace_drop(ip, view, LEN);
	assert_int_equal(resident(view, LEN), LEN / 4096);
	assert_true(view[LEN - 12345] == pattern((uintptr_t)buf + LEN - 12345));
	assert_int_equal(tli_live_inplace_faults(ip), faults);
	assert_int_equal(tli_live_inplace_lost(ip), 0);
	tli_live_inplace_free(ip);

	/* the child gone: zeros, the loss said, no hang */
	ip = tli_live_inplace_new(child, WINDOW);
	view = tli_live_inplace_ptr(ip, (uintptr_t)buf, LEN);
	assert_non_null(view);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_int_equal(view[LEN - 1], 0);
	assert_int_not_equal(tli_live_inplace_lost(ip), 0);
	tli_live_inplace_free(ip);
	munmap(buf, LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_views),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
