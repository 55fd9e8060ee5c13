/* SPDX-License-Identifier: MIT */
/*
 * Progress on stderr (core/progress.h, issue 14): silent during a run's first second, then
 * "tlinspect: WHAT: DONE of TOTAL (P%)" as plain lines (a log) or one line rewritten in place
 * (a terminal, cleared at the end); silent when never enabled.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/progress.h"

static char *contents(FILE *f)
{
	fflush(f);
	long n = ftell(f);
	char *s = calloc(1, (size_t)n + 1);
	rewind(f);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	return s;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void test_progress_lines(void **state)
{
	(void)state;
	FILE *f = tmpfile();
	assert_non_null(f);
	tli_progress_enable(f, false);
	tli_progress_begin("listing goroutines", 200000);
	for (uint64_t i = 0; i < 200000; i++)
		tli_progress_step(i);
	tli_progress_end();
	char *s = contents(f);
	assert_string_equal(s, ""); /* a short run says nothing */
	free(s);
	sleep_ms(1050);
	tli_progress_begin("listing goroutines", 300000);
	for (uint64_t i = 0; i < 150000; i++)
		tli_progress_step(i);
	tli_progress_end();
	s = contents(f);
	assert_non_null(strstr(s, "tlinspect: listing goroutines: 0 of 300000 (0%)\n"));
	assert_null(strchr(s, '\r'));
	free(s);
	fclose(f);
}

static void test_progress_tty(void **state)
{
	(void)state;
	FILE *f = tmpfile();
	assert_non_null(f);
	tli_progress_enable(f, true);
	sleep_ms(1050);
	tli_progress_begin("writing JSON", 0);
	tli_progress_end();
	char *s = contents(f);
	assert_string_equal(s, "\rtlinspect: writing JSON ...\033[K\r\033[K");
	free(s);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_progress_lines),
		cmocka_unit_test(test_progress_tty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
