/* SPDX-License-Identifier: MIT */
/*
 * What this process may still have (core/memlimit.h) and the glibc capture's up-front
 * refusal (tli_gl_afford_bytes): a soft RLIMIT_AS / RLIMIT_DATA set 64 MiB above what is
 * in use is found, named and counted; a need above it is TLI_E_NOMEM naming both numbers,
 * one below it passes. The soft limits are put back after each test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "core/memlimit.h"
#include "glibc/malloc.h"

static uint64_t status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long kb = 0;
	size_t kl = strlen(key);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && sscanf(line + kl + 1, "%llu", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return (uint64_t)kb << 10;
}

static void limited(int res, const char *key, const char *name)
{
	struct rlimit old;
	assert_int_equal(getrlimit(res, &old), 0);
	uint64_t used = status_kb(key);
	assert_true(used > 0);
	struct rlimit rl = old;
	rl.rlim_cur = used + (64u << 20);
	if (old.rlim_max != RLIM_INFINITY && rl.rlim_cur > old.rlim_max)
		skip();
	assert_int_equal(setrlimit(res, &rl), 0);
	char why[256];
	uint64_t room = tli_mem_headroom(why, sizeof(why));
	struct tli_error *big = tli_gl_afford_bytes(200u << 20, "the heap segments to copy", 42);
	struct tli_error *small = tli_gl_afford_bytes(1u << 20, "the heap segments to copy", 42);
	setrlimit(res, &old);
	assert_true(room <= (64u << 20) && room > (32u << 20));
	assert_non_null(strstr(why, name));
	assert_non_null(big);
	assert_int_equal(big->code, TLI_E_NOMEM);
	assert_non_null(strstr(big->msg, "needs at least 200 MiB"));
	assert_non_null(strstr(big->msg, name));
	assert_non_null(strstr(big->msg, "was not stopped"));
	assert_null(small);
	tli_error_destroy(big);
}

static void test_rlimit_as(void **state)
{
	(void)state;
	limited(RLIMIT_AS, "VmSize:", "RLIMIT_AS");
}

static void test_rlimit_data(void **state)
{
	(void)state;
	limited(RLIMIT_DATA, "VmData:", "RLIMIT_DATA");
}

/* no rlimit: the host's memory (or a cgroup) bounds it, and a need of 1 PiB is refused */
static void test_host(void **state)
{
	(void)state;
	char why[256];
	uint64_t room = tli_mem_headroom(why, sizeof(why));
	assert_true(room > 0);
	struct tli_error *e = tli_gl_afford_bytes(1ull << 50, "the heap segments to copy", 0);
	assert_non_null(e);
	assert_non_null(strstr(e->msg, "nothing was copied"));
	tli_error_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rlimit_as),
		cmocka_unit_test(test_rlimit_data),
		cmocka_unit_test(test_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
