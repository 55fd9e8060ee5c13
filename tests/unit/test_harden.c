/* SPDX-License-Identifier: MIT */
/*
 * Issue 15's small defects, each pinned: --exe on a live target checked by build-id and
 * machine, a kernel thread named as such, a FIFO or device given as an ELF file named "not a
 * regular file". Each failed on the main before the fix (wrong code or "Invalid argument").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/live.h"
#include "core/target.h"
#include "dwarf/elfsym.h"

static char *self_exe(void)
{
	static char p[4096];
	ssize_t n = readlink("/proc/self/exe", p, sizeof(p) - 1);
	assert_true(n > 0);
	p[n] = 0;
	return p;
}

static void test_exe_same(void **state)
{
	(void)state;
	struct tli_target t = { .pid = getpid() };
	struct tli_error *e = tli_live_check_exe(&t, self_exe());
	if (e)
		fail_msg("own executable refused: %s", e->msg);
}

static void test_exe_other(void **state)
{
	(void)state;
	struct tli_target t = { .pid = getpid() };
	struct tli_error *e = tli_live_check_exe(&t, "/bin/true");
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_MISMATCH);
	assert_non_null(strstr(e->msg, "is not the one process"));
	tli_error_destroy(e);
}

/* an ELF header for aarch64 (e_machine 183), nothing else: the machine is read first */
static void test_exe_foreign(void **state)
{
	(void)state;
	char path[] = "/tmp/tli-harden-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unsigned char h[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	h[16] = 2;   /* ET_EXEC */
	h[18] = 183; /* EM_AARCH64 */
	assert_int_equal(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
	close(fd);
	struct tli_target t = { .pid = getpid() };
	struct tli_error *e = tli_live_check_exe(&t, path);
	unlink(path);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_MISMATCH);
	assert_non_null(strstr(e->msg, "arm64"));
	tli_error_destroy(e);
}

static void test_kernel_thread(void **state)
{
	(void)state;
	struct tli_live_opts o = { .defer_stop = true };
	struct tli_target *t = NULL;
	struct tli_error *e = tli_live_open(2, &o, &t); /* kthreadd */
	if (!e) {
		tli_target_destroy(t);
		fail_msg("pid 2 opened");
	}
	if (e->code == TLI_E_PERM) { /* not root: cannot tell */
		tli_error_destroy(e);
		skip();
	}
	assert_int_equal(e->code, TLI_E_NOT_GO);
	assert_non_null(strstr(e->msg, "kernel thread"));
	tli_error_destroy(e);
}

static void test_not_regular(void **state)
{
	(void)state;
	struct tli_elfinfo info;
	struct tli_error *e = tli_elf_read_info("/dev/zero", &info);
	assert_non_null(e);
	assert_non_null(strstr(e->msg, "not a regular file"));
	tli_error_destroy(e);
	char dir[] = "/tmp/tli-fifo-XXXXXX", fifo[64];
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/libc.so.6", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	e = tli_elf_read_info(fifo, &info); /* must not block on the FIFO either */
	unlink(fifo);
	rmdir(dir);
	assert_non_null(e);
	assert_non_null(strstr(e->msg, "not a regular file"));
	tli_error_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exe_same),
		cmocka_unit_test(test_exe_other),
		cmocka_unit_test(test_exe_foreign),
		cmocka_unit_test(test_kernel_thread),
		cmocka_unit_test(test_not_regular),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
