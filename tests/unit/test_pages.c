/* SPDX-License-Identifier: MIT */
/*
 * Page-request target (backend/pages.c), with a forked child as the process and
 * this test playing gdb: the context is the child's /proc/PID/maps written the
 * way `info proc mappings` prints it, and every `dump binary memory FILE A B` line
 * of request.gdb is executed with process_vm_readv (an unreadable range writes
 * no file, as gdb's swallowed error). Checks: a read names every missing page of
 * its range and nothing outside readable mappings; request lines are runs within
 * one mapping; after "gdb" dumped them the bytes equal the child's memory
 * (process_vm_readv is the oracle); a page requested before and still absent is
 * unreadable and not requested again (rounds are bounded); registers and auxv
 * from the context; a directory others may write is refused; hostile context
 * text and file names do not crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/pages.h"
#include "cli/gdbhint.h"
#include "core/target.h"

#define PG 4096u

static pid_t g_child;
static unsigned char *g_buf;     /* 16 pages in the child (same address after fork) */
static char g_dir[64];

static void kill_child(void)
{
	if (g_child > 0) {
		kill(g_child, SIGKILL);
		waitpid(g_child, NULL, 0);
		g_child = 0;
	}
}

static void rm_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	(void)!system(cmd);
}

static int setup(void **state)
{
	(void)state;
	g_buf = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g_buf != MAP_FAILED);
	for (size_t i = 0; i < 16 * PG; i++)
		g_buf[i] = (unsigned char)(i * 13 + (i >> 12) * 7 + 1);
	/* a guard page inside: page 12 is PROT_NONE, so maps split there */
	assert_int_equal(mprotect(g_buf + 12 * PG, PG, PROT_NONE), 0);
	g_child = fork();
	assert_true(g_child >= 0);
	if (g_child == 0) {
		for (;;)
			pause();
	}
	snprintf(g_dir, sizeof(g_dir), "/tmp/tli-test-pages.XXXXXX");
	assert_non_null(mkdtemp(g_dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	kill_child();
	rm_dir();
	return 0;
}

/* gdb's `info proc mappings` (gdb >= 12: with Perms) from /proc/PID/maps, plus the rest */
static char *make_context(int pid, size_t *len)
{
	char path[64], line[4600];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *out = NULL;
	size_t n = 0;
	FILE *o = open_memstream(&out, &n);
	fprintf(o, "  Num  Description       Connection           Executable        \n"
		   "* 1    process %d     1 (native)           /proc/self/exe\n", pid);
	fprintf(o, "9    AT_ENTRY             Entry point of program         0x55fc4ec95060\n"
		   "3    AT_PHDR              Program headers for program    0x55fc4ec94040\n");
	fprintf(o, "process %d\nMapped address spaces:\n\n"
		   "          Start Addr           End Addr       Size     Offset  Perms  objfile\n", pid);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, e, off;
		char perm[8], file[4096] = "";
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %4095[^\n]", &a, &e, perm, &off, file) < 4)
			continue;
		char h[4][24];
		unsigned long long v[4] = { a, e, e - a, off };
		for (int k = 0; k < 4; k++)
			snprintf(h[k], sizeof(h[k]), "0x%llx", v[k]);
		fprintf(o, "  %18s %18s %10s %10s  %s   %s\n", h[0], h[1], h[2], h[3], perm, file);
	}
	fclose(f);
	fprintf(o, "\nThread 2 (Thread 0x7f36791e06c0 (LWP %d) \"x\"):\n"
		   "rax            0xfffffffffffffdfe  -514\n"
		   "rsp            0x7f36791dfea0      0x7f36791dfea0\n"
		   "rip            0x7f36792b7df2      0x7f36792b7df2 <__libc_pause+50>\n"
		   "fs_base        0x7f36791e06c0      139871936972480\n"
		   "\nThread 1 (LWP %d \"x\"):\n"
		   "rsp            0x7ffee2073f80      0x7ffee2073f80\n"
		   "r14            0xc000002000        824633729024\n"
		   "gs             0x0                 0\n",
		pid + 1, pid);
	fclose(o);
	*len = n;
	return out;
}

/* Play gdb: run the dump lines of request.gdb with process_vm_readv. Returns runs dumped. */
static int play_gdb(int pid, int skip_page_index)
{
	char path[128], line[4600];
	snprintf(path, sizeof(path), "%s/request.gdb", g_dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int dumped = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		char file[4096];
		unsigned long long a, b;
		assert_int_equal(sscanf(line, "frame apply 1 -s dump binary memory %4095s 0x%llx 0x%llx", file, &a, &b),
				 3);
		assert_true(b > a && (a % PG) == 0 && (b % PG) == 0);
		if (skip_page_index >= 0 && a <= (uint64_t)(uintptr_t)(g_buf + skip_page_index * PG) &&
		    (uint64_t)(uintptr_t)(g_buf + skip_page_index * PG) < b)
			continue; /* "gdb could not read it" */
		unsigned char *tmp = malloc(b - a);
		struct iovec l = { tmp, b - a }, r = { (void *)(uintptr_t)a, b - a };
		ssize_t k = process_vm_readv(pid, &l, 1, &r, 1, 0);
		if (k == (ssize_t)(b - a)) { /* gdb's dump: whole range or nothing */
			FILE *o = fopen(file, "w");
			assert_non_null(o);
			assert_int_equal(fwrite(tmp, 1, b - a, o), b - a);
			fclose(o);
			dumped++;
		}
		free(tmp);
	}
	fclose(f);
	return dumped;
}

static struct tli_target *open_pages(const char *ctx, size_t len)
{
	struct tli_pages_process proc;
	assert_null(tli_gdb_process_parse(ctx, len, &proc));
	struct tli_pages_opts po = { .dir = g_dir, .process = &proc };
	struct tli_target *t = NULL;
	struct tli_error *err = tli_pages_open(&po, &t);
	tli_pages_process_free(&proc);
	if (err)
		fail_msg("tli_pages_open: %s", err->msg);
	assert_true(tli_pages_is(t));
	return t;
}

static void test_rounds_against_the_process(void **state)
{
	(void)state;
	size_t clen;
	char *ctx = make_context(g_child, &clen);
	uint64_t base = (uint64_t)(uintptr_t)g_buf;

	/* round 1: nothing present */
	struct tli_target *t = open_pages(ctx, clen);
	assert_int_equal(t->pid, g_child);
	assert_true(t->nmaps > 3);
	assert_int_equal(t->at_entry, 0x55fc4ec95060ull);
	assert_int_equal(t->at_phdr, 0x55fc4ec94040ull);
	assert_int_equal(t->nthreads, 2);
	assert_int_equal(t->threads[0].tid, g_child); /* main thread first */
	assert_true(t->threads[0].regs_valid);
	assert_int_equal(tli_arch_go_g(&tli_arch_x86_64, &t->threads[0].regs), 0xc000002000ull);
	assert_int_equal(t->threads[1].regs.tp, 0x7f36791e06c0ull);
	assert_int_equal(t->threads[1].regs.pc, 0x7f36792b7df2ull);
	const struct tli_mapping *guard = tli_target_find_mapping(t, base + 12 * PG);
	assert_non_null(guard);
	assert_false(guard->prot & TLI_PROT_R);

	unsigned char out[16 * PG];
	struct tli_read r[3] = {
		{ .addr = base + 100, .buf = out, .len = 3 * PG },            /* pages 0..3 */
		{ .addr = base + 10 * PG, .buf = out, .len = 4 * PG },        /* 10, 11, guard 12: stop */
		{ .addr = 0x10, .buf = out, .len = 8 },                       /* unmapped */
	};
	assert_null(tli_target_read_many(t, r, 3));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r[i].got, 0);
		assert_int_equal(r[i].err, EFAULT);
	}
	bool need = false;
	assert_null(tli_pages_finish(t, &need));
	assert_true(need);
	tli_target_destroy(t);
	/* two runs: pages 0..3 and 10..11 (the guard page and address 0x10 are never asked for) */
	char path[128];
	snprintf(path, sizeof(path), "%s/request.gdb", g_dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[4600];
	int runs = 0;
	char want1[64], want2[64];
	snprintf(want1, sizeof(want1), "0x%" PRIx64 " 0x%" PRIx64 "\n", base, base + 4 * PG);
	snprintf(want2, sizeof(want2), "0x%" PRIx64 " 0x%" PRIx64 "\n", base + 10 * PG, base + 12 * PG);
	bool saw1 = false, saw2 = false;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		runs++;
		size_t ll = strlen(line);
		saw1 |= ll > strlen(want1) && !strcmp(line + ll - strlen(want1), want1);
		saw2 |= ll > strlen(want2) && !strcmp(line + ll - strlen(want2), want2);
	}
	fclose(f);
	assert_int_equal(runs, 2);
	assert_true(saw1 && saw2);

	/* "gdb" dumps everything except the run holding page 10 */
	assert_int_equal(play_gdb(g_child, 10), 1);

	/* round 2: pages 0..3 equal the child's memory; 10..11 are unreadable for good */
	t = open_pages(ctx, clen);
	struct tli_read r2[2] = {
		{ .addr = base + 100, .buf = out, .len = 3 * PG },
		{ .addr = base + 10 * PG, .buf = out + 3 * PG, .len = 8 },
	};
	assert_null(tli_target_read_many(t, r2, 2));
	assert_int_equal(r2[0].got, 3 * PG);
	unsigned char oracle[3 * PG];
	struct iovec l = { oracle, sizeof(oracle) }, rr = { g_buf + 100, sizeof(oracle) };
	assert_int_equal(process_vm_readv(g_child, &l, 1, &rr, 1, 0), (ssize_t)sizeof(oracle));
	assert_memory_equal(out, oracle, sizeof(oracle));
	assert_int_equal(r2[1].got, 0);
	assert_int_equal(r2[1].err, EFAULT);
	/* a read over a present page and a never-requested one names only the latter */
	struct tli_read r3 = { .addr = base + 3 * PG, .buf = out, .len = 2 * PG };
	assert_null(tli_target_read_many(t, &r3, 1));
	assert_int_equal(r3.got, PG);
	assert_null(tli_pages_finish(t, &need));
	assert_true(need);
	tli_target_destroy(t);
	assert_int_equal(play_gdb(g_child, -1), 1);

	/* round 3: complete; the error of the pages requested before stays */
	t = open_pages(ctx, clen);
	struct tli_read r4[2] = {
		{ .addr = base, .buf = out, .len = 5 * PG },
		{ .addr = base + 11 * PG, .buf = out + 5 * PG, .len = 8 },
	};
	assert_null(tli_target_read_many(t, r4, 2));
	assert_int_equal(r4[0].got, 5 * PG);
	assert_memory_equal(out, g_buf, 5 * PG);
	assert_int_equal(r4[1].err, EFAULT);
	assert_null(tli_pages_finish(t, &need));
	assert_false(need);
	tli_target_destroy(t);
	free(ctx);
}

static void test_refuses_shared_directory(void **state)
{
	(void)state;
	assert_int_equal(chmod(g_dir, 0777), 0);
	struct tli_pages_opts po = { .dir = g_dir, .process = &(struct tli_pages_process){ 0 } };
	struct tli_target *t = NULL;
	struct tli_error *err = tli_pages_open(&po, &t);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_PERM);
	assert_null(t);
	tli_error_destroy(err);
	assert_int_equal(chmod(g_dir, 0700), 0);
}

static void test_hostile_context_and_names(void **state)
{
	(void)state;
	/* page files with bad names/sizes are ignored */
	static const char *names[] = { "zz-1000.bin", "1000-0.bin", "1001-1000.bin", "1000-1000.bi",
				       "ffffffffffffff000-2000.bin", "2000-1000.bin" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char p[256];
		snprintf(p, sizeof(p), "%s/%s", g_dir, names[i]);
		FILE *f = fopen(p, "w");
		assert_non_null(f);
		fputs("short", f); /* wrong size for every well-formed name */
		fclose(f);
	}
	srand(7);
	char buf[8192];
	for (int round = 0; round < 300; round++) {
		size_t n = (size_t)(rand() % (int)sizeof(buf));
		for (size_t i = 0; i < n; i++) {
			static const char alpha[] = "0x123456789abcdef \n\t-(LWP )ThreadAT_ENTRYrsprip*process rwxp";
			buf[i] = round % 3 ? alpha[rand() % (int)(sizeof(alpha) - 1)] : (char)rand();
		}
		struct tli_pages_process proc;
		struct tli_error *err = tli_gdb_process_parse(buf, n, &proc);
		if (err) {
			tli_error_destroy(err);
			continue;
		}
		struct tli_pages_opts po = { .dir = g_dir, .process = &proc };
		struct tli_target *t = NULL;
		err = tli_pages_open(&po, &t);
		tli_pages_process_free(&proc);
		if (err) {
			tli_error_destroy(err);
			continue;
		}
		unsigned char out[64];
		struct tli_read r = { .addr = (uint64_t)rand() << 12, .buf = out, .len = sizeof(out) };
		assert_null(tli_target_read_many(t, &r, 1));
		for (size_t i = 1; i < t->nmaps; i++)
			assert_true(t->maps[i - 1].end <= t->maps[i].start);
		tli_target_destroy(t);
	}
	char p[256];
	snprintf(p, sizeof(p), "%s/2000-1000.bin", g_dir);
	struct tli_pages_opts po = { .dir = g_dir };
	struct tli_target *t = NULL;
	assert_null(tli_pages_open(&po, &t));
	unsigned char out[8];
	struct tli_read r = { .addr = 0x2000, .buf = out, .len = 8 };
	assert_null(tli_target_read_many(t, &r, 1));
	assert_int_equal(r.got, 0); /* 5 bytes for a 4 KiB page: not used */
	tli_target_destroy(t);
	unlink(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rounds_against_the_process),
		cmocka_unit_test(test_refuses_shared_directory),
		cmocka_unit_test(test_hostile_context_and_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
