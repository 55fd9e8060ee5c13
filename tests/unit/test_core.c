/* SPDX-License-Identifier: MIT */
/*
 * Core backend tests on a real core written by gdb's gcore from a forked
 * child (oracles: the child's own report of its threads, addresses and
 * patterns; libelf's view of the core and of the executable; our own memory,
 * which is the same binary mapped at the same addresses). Then truncated and
 * corrupted copies: open must fail cleanly or succeed with warnings.
 * gcore missing or failing is a test failure, not a skip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <link.h>
#include <unistd.h>

#include "backend/elfcore.h"
#include "core/target.h"

#define NTHREADS 3
#define HEAP_LEN (64 * 1024)


/* The target's warnings as one newline-separated text (NULL if none); static buffer. */
static const char *warn_text(const struct tli_target *t)
{
	static char buf[1 << 16];
	size_t o = 0;
	buf[0] = 0;
	for (size_t i = 0; i < t->warnings.n && o < sizeof(buf) - 1; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\n", t->warnings.v[i]);
	return t->warnings.n ? buf : NULL;
}

static unsigned char g_pattern[4096];
static pthread_barrier_t g_barrier;

static unsigned char heap_byte(size_t i)
{
	return (unsigned char)(i * 13 + (i >> 7) + 0x41);
}

static void *sleeper(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&g_barrier);
	for (;;)
		pause();
	return NULL;
}

struct report {
	uint64_t heap, global;
};

/* shared state of the group: one core for all tests */
static struct {
	pid_t pid;
	int ntids;
	int tids[64];
	struct report rep;
	char core[256];
	unsigned char *buf; /* the whole core */
	size_t size;
} G;

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static int group_setup(void **state)
{
	(void)state;
	int p[2];
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[0]);
		unsigned char *h = malloc(HEAP_LEN);
		for (size_t i = 0; i < HEAP_LEN; i++)
			h[i] = heap_byte(i);
		for (size_t i = 0; i < sizeof(g_pattern); i++)
			g_pattern[i] = (unsigned char)(0xff - i);
		pthread_barrier_init(&g_barrier, NULL, NTHREADS + 1);
		for (int i = 0; i < NTHREADS; i++) {
			pthread_t th;
			pthread_create(&th, NULL, sleeper, NULL);
		}
		pthread_barrier_wait(&g_barrier);
		struct report r = { (uint64_t)(uintptr_t)h, (uint64_t)(uintptr_t)g_pattern };
		if (write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(2);
		for (;;)
			pause();
	}
	close(p[1]);
	G.pid = pid;
	if (read(p[0], &G.rep, sizeof(G.rep)) != sizeof(G.rep))
		return -1;
	close(p[0]);
	usleep(20000); /* let the threads reach pause() */

	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && G.ntids < 64)
			G.tids[G.ntids++] = atoi(de->d_name);
	if (d)
		closedir(d);
	qsort(G.tids, G.ntids, sizeof(int), cmp_int);

	char cmd[512];
	snprintf(G.core, sizeof(G.core), "/tmp/tli_test_core.%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "gcore -o %s %d >/tmp/tli_test_gcore.log 2>&1", G.core, pid);
	int rc = system(cmd);
	snprintf(G.core + strlen(G.core), sizeof(G.core) - strlen(G.core), ".%d", pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (rc != 0) {
		fprintf(stderr, "gcore failed (exit %d), see /tmp/tli_test_gcore.log: this test needs gdb's gcore\n", rc);
		return -1;
	}
	int fd = open(G.core, O_RDONLY);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		fprintf(stderr, "gcore wrote no %s\n", G.core);
		return -1;
	}
	G.size = (size_t)sb.st_size;
	G.buf = malloc(G.size);
	if (!G.buf || read(fd, G.buf, G.size) != (ssize_t)G.size)
		return -1;
	close(fd);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (G.core[0])
		unlink(G.core);
	free(G.buf);
	return 0;
}

static struct tli_target *open_ok(const struct tli_core_opts *o)
{
	struct tli_target *t = NULL;
	struct tli_error *e = tli_core_open(G.core, o, &t);
	if (e)
		fail_msg("tli_core_open(%s): %s", G.core, e->msg);
	return t;
}

/* ------------------------------------------------------------------ */

static void test_threads_registers_memory(void **state)
{
	(void)state;
	struct tli_target *t = open_ok(NULL);
	assert_int_equal(t->kind, TLI_TARGET_CORE);
	assert_int_equal(t->pid, G.pid);
	assert_int_equal(t->nthreads, (size_t)G.ntids);
	int tids[64];
	for (size_t i = 0; i < t->nthreads; i++)
		tids[i] = t->threads[i].tid;
	qsort(tids, t->nthreads, sizeof(int), cmp_int);
	for (int i = 0; i < G.ntids; i++)
		assert_int_equal(tids[i], G.tids[i]);
	assert_int_equal(t->at_entry, getauxval(AT_ENTRY)); /* same binary, forked */
	assert_int_equal(t->at_phdr, getauxval(AT_PHDR));
	assert_true(t->wall_now_ns > 0);

	/* exe_path is our own executable */
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = 0;
	assert_non_null(t->exe_path);
	assert_string_equal(t->exe_path, self);

	for (size_t i = 0; i < t->nthreads; i++) {
		const struct tli_thread *th = &t->threads[i];
		assert_true(th->regs_valid);
		const struct tli_mapping *m = tli_target_find_mapping(t, th->regs.pc);
		if (!m || !(m->prot & TLI_PROT_X))
			fail_msg("thread %d: rip 0x%" PRIx64 " is not in an executable mapping", th->tid,
				 th->regs.pc);
		assert_non_null(tli_target_find_mapping(t, th->regs.sp));
		assert_true(th->regs.tp != 0);
	}

	unsigned char *buf = malloc(HEAP_LEN);
	assert_null(tli_target_read(t, G.rep.heap, buf, HEAP_LEN));
	for (size_t i = 0; i < HEAP_LEN; i++)
		if (buf[i] != heap_byte(i))
			fail_msg("heap byte %zu differs", i);
	assert_null(tli_target_read(t, G.rep.global, buf, sizeof(g_pattern)));
	for (size_t i = 0; i < sizeof(g_pattern); i++)
		assert_int_equal(buf[i], (unsigned char)(0xff - i));
	/* nothing outside the address space */
	struct tli_error *e = tli_target_read(t, 0x1000, buf, 8);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_FAULT);
	tli_error_destroy(e);
	free(buf);
	if (warn_text(t))
		print_message("warnings: %s", warn_text(t));
	tli_target_destroy(t);
}

/* Program headers of the core as libelf sees them. */
static bool core_covers(uint64_t addr)
{
	elf_version(EV_CURRENT);
	Elf *elf = elf_memory((char *)G.buf, G.size);
	assert_non_null(elf);
	size_t phnum;
	assert_int_equal(elf_getphdrnum(elf, &phnum), 0);
	bool covered = false;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		gelf_getphdr(elf, (int)i, &ph);
		if (ph.p_type == PT_LOAD && addr >= ph.p_vaddr && addr < ph.p_vaddr + ph.p_filesz)
			covered = true;
	}
	elf_end(elf);
	return covered;
}

static void test_text_through_nt_file(void **state)
{
	(void)state;
	uint64_t text = (uint64_t)(uintptr_t)&heap_byte;
	/* gcore leaves read-only file-backed text out of the core */
	assert_false(core_covers(text));
	struct tli_target *t = open_ok(NULL);
	unsigned char got[256];
	uint64_t before = tli_core_file_fallback_reads(t);
	assert_null(tli_target_read(t, text, got, sizeof(got)));
	assert_memory_equal(got, (const void *)(uintptr_t)text, sizeof(got)); /* our own text */
	assert_true(tli_core_file_fallback_reads(t) > before);
	const struct tli_mapping *m = tli_target_find_mapping(t, text);
	assert_non_null(m);
	assert_true(m->prot & TLI_PROT_X); /* from the executable's PT_LOAD flags */
	/* libc text too (a thread's rip is there) */
	uint64_t libc_fn = (uint64_t)(uintptr_t)&pause;
	assert_null(tli_target_read(t, libc_fn, got, 64));
	assert_memory_equal(got, (const void *)(uintptr_t)libc_fn, 64);
	tli_target_destroy(t);

	/* with a sysroot that has no files, the text is unreadable, the heap still is */
	struct tli_core_opts o = { .sysroot = "/nonexistent-sysroot" };
	t = open_ok(&o);
	struct tli_error *e = tli_target_read(t, text, got, 16);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_FAULT);
	tli_error_destroy(e);
	assert_null(tli_target_read(t, G.rep.heap, got, 16));
	assert_null(t->exe_path);
	assert_non_null(warn_text(t));
	assert_non_null(strstr(warn_text(t), "not readable here"));
	tli_target_destroy(t);
}

/* Index of the PT_LOAD containing addr in the raw buffer, or -1. */
static int raw_load_index(const unsigned char *buf, uint64_t addr)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(buf + eh->e_phoff + (size_t)i * eh->e_phentsize);
		if (ph->p_type == PT_LOAD && addr >= ph->p_vaddr && addr < ph->p_vaddr + ph->p_memsz)
			return i;
	}
	return -1;
}

static Elf64_Phdr *raw_phdr(unsigned char *buf, int i)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	return (Elf64_Phdr *)(buf + eh->e_phoff + (size_t)i * eh->e_phentsize);
}

static void test_filesz_short_falls_back_or_not_in_core(void **state)
{
	(void)state;
	unsigned char *copy = malloc(G.size);
	memcpy(copy, G.buf, G.size);
	/* the executable's first page (ELF header): file-backed -> read from the file */
	uint64_t ehdr_addr = getauxval(AT_PHDR) & ~4095ull;
	int ie = raw_load_index(copy, ehdr_addr);
	assert_true(ie >= 0);
	raw_phdr(copy, ie)->p_filesz = 0;
	/* the heap buffer: anonymous, no file behind it -> not in core (gdb: "Cannot access
	 * memory"), never zeros */
	int ih = raw_load_index(copy, G.rep.heap);
	assert_true(ih >= 0);
	raw_phdr(copy, ih)->p_filesz = 0;
	uint64_t hvaddr = raw_phdr(copy, ih)->p_vaddr;
	struct tli_target *t = NULL;
	struct tli_error *e = tli_core_open_mem(copy, G.size, "copy", NULL, &t);
	if (e)
		fail_msg("%s", e->msg);
	unsigned char got[64];
	uint64_t before = tli_core_file_fallback_reads(t);
	/* (the header page is gone: the executable is used unverified, with a warning) */
	assert_null(tli_target_read(t, ehdr_addr, got, sizeof(got)));
	assert_memory_equal(got, (const void *)(uintptr_t)ehdr_addr, sizeof(got));
	assert_true(tli_core_file_fallback_reads(t) > before);
	e = tli_target_read(t, G.rep.heap, got, sizeof(got));
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_FAULT);
	assert_int_equal(e->addr, G.rep.heap);
	tli_error_destroy(e);
	/* its mapping says so: no protection, so no walker reads it; a warning names the segment */
	const struct tli_mapping *m = tli_target_find_mapping(t, G.rep.heap);
	assert_non_null(m);
	assert_int_equal(m->prot, 0);
	assert_false(tli_target_plausible(t, G.rep.heap, 8));
	char want[64];
	snprintf(want, sizeof(want), "PT_LOAD at vaddr 0x%" PRIx64 " ", hvaddr);
	assert_non_null(warn_text(t));
	assert_non_null(strstr(warn_text(t), want));
	assert_non_null(strstr(warn_text(t), "not in core"));
	tli_target_destroy(t);
	free(copy);
}

/* GNU build-id of an ELF file, via libelf. */
static size_t libelf_build_id(const char *path, unsigned char *out, size_t max)
{
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	size_t len = 0;
	Elf_Scn *scn = NULL;
	while (!len && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		gelf_getshdr(scn, &sh);
		if (sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t off = 0, noff, doff;
		GElf_Nhdr nh;
		while ((off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0)
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((char *)d->d_buf + noff, "GNU", 4) && nh.n_descsz <= max) {
				memcpy(out, (char *)d->d_buf + doff, nh.n_descsz);
				len = nh.n_descsz;
				break;
			}
	}
	elf_end(elf);
	close(fd);
	return len;
}

static void test_build_id_check(void **state)
{
	(void)state;
	/* matching --exe: verified, no warning */
	struct tli_core_opts o = { .exe = "/proc/self/exe" };
	struct tli_target *t = open_ok(&o);
	assert_string_equal(t->exe_path, "/proc/self/exe");
	if (warn_text(t))
		assert_null(strstr(warn_text(t), "could not verify"));
	tli_target_destroy(t);

	/* another executable: mismatch, naming both build-ids as libelf reads them */
	const char *other = "/usr/bin/gdb";
	unsigned char id_self[64], id_other[64];
	size_t ls = libelf_build_id("/proc/self/exe", id_self, sizeof(id_self));
	size_t lo = libelf_build_id(other, id_other, sizeof(id_other));
	assert_true(ls > 0 && lo > 0);
	char hs[129] = "", ho[129] = "";
	for (size_t i = 0; i < ls; i++)
		sprintf(hs + 2 * i, "%02x", id_self[i]);
	for (size_t i = 0; i < lo; i++)
		sprintf(ho + 2 * i, "%02x", id_other[i]);
	o.exe = other;
	t = (void *)1;
	struct tli_error *e = tli_core_open(G.core, &o, &t);
	assert_non_null(e);
	assert_null(t);
	assert_int_equal(e->code, TLI_E_MISMATCH);
	assert_non_null(strstr(e->msg, hs));
	assert_non_null(strstr(e->msg, ho));
	assert_non_null(strstr(e->msg, "does not match"));
	tli_error_destroy(e);

	/* --exe that does not exist */
	o.exe = "/nonexistent/exe";
	e = tli_core_open(G.core, &o, &t);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_NO_TARGET);
	tli_error_destroy(e);

	/* core without the exe's header page: the right executable is accepted with a warning */
	unsigned char *copy = malloc(G.size);
	memcpy(copy, G.buf, G.size);
	uint64_t ehdr_addr = getauxval(AT_PHDR) & ~4095ull;
	int ie = raw_load_index(copy, ehdr_addr);
	assert_true(ie >= 0);
	raw_phdr(copy, ie)->p_filesz = 0;
	o.exe = "/proc/self/exe";
	e = tli_core_open_mem(copy, G.size, "copy", &o, &t);
	if (e)
		fail_msg("%s", e->msg);
	assert_non_null(warn_text(t));
	assert_non_null(strstr(warn_text(t), "could not verify that --exe"));
	tli_target_destroy(t);
	/* ... another one is refused by where the process started: AT_ENTRY is at another offset
	 * of the core's executable than the file's entry point */
	o.exe = other;
	e = tli_core_open_mem(copy, G.size, "copy", &o, &t);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_MISMATCH);
	assert_non_null(strstr(e->msg, "does not match the core copy"));
	assert_non_null(strstr(e->msg, "AT_ENTRY"));
	assert_non_null(strstr(e->msg, "Pass the program the core was made from as --exe"));
	tli_error_destroy(e);
	free(copy);
}


/* --- no NT_FILE: the libraries from the dynamic linker's list (elfcore_rdebug.c) --- */

/* The core's PT_NOTE and PT_LOAD headers of the copy b. */
static Elf64_Phdr *phdrs_of(unsigned char *b, size_t *n)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	*n = eh->e_phnum;
	return (Elf64_Phdr *)(b + eh->e_phoff);
}

/* Retype the NT_FILE note (as a core from a tool that writes none); true if there was one. */
static bool drop_nt_file(unsigned char *b)
{
	size_t n;
	Elf64_Phdr *ph = phdrs_of(b, &n);
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		if (ph[i].p_type != PT_NOTE)
			continue;
		for (uint64_t p = ph[i].p_offset; p + 12 <= ph[i].p_offset + ph[i].p_filesz;) {
			uint32_t *w = (uint32_t *)(b + p);
			if (w[2] == 0x46494c45) {
				w[2] = 0x7fff0000;
				found = true;
			}
			p += 12 + ((w[0] + 3) & ~3u) + ((w[1] + 3) & ~3u);
		}
	}
	return found;
}

/* Where the child's address a is in the core copy (the child is a fork of us: same addresses). */
static uint64_t *core_word(unsigned char *b, uint64_t a)
{
	size_t n;
	Elf64_Phdr *ph = phdrs_of(b, &n);
	for (size_t i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && a >= ph[i].p_vaddr && a + 8 <= ph[i].p_vaddr + ph[i].p_filesz)
			return (uint64_t *)(b + ph[i].p_offset + (a - ph[i].p_vaddr));
	return NULL;
}

static bool maps_name(const struct tli_target *t, const char *needle)
{
	for (size_t i = 0; i < t->nmaps; i++)
		if (t->maps[i].path && strstr(t->maps[i].path, needle))
			return true;
	return false;
}

static void test_link_map_without_nt_file(void **state)
{
	(void)state;
	unsigned char *copy = malloc(G.size);
	assert_non_null(copy);
	memcpy(copy, G.buf, G.size);
	assert_true(drop_nt_file(copy));
	struct tli_core_opts o = { .exe = "/proc/self/exe" };
	struct tli_target *t = NULL;
	struct tli_error *e = tli_core_open_mem(copy, G.size, "nofile", &o, &t);
	assert_null(e);
	/* libc found through r_debug, mapped where our own (the same addresses: a fork) is */
	assert_true(maps_name(t, "libc.so"));
	const char *w = warn_text(t);
	assert_true(!w || !strstr(w, "dynamic linker's list"));
	tli_target_destroy(t);

	/* no DT_DEBUG in the core (zeroed): ld.so's own _r_debug at AT_BASE gives the same list */
	uint64_t *dbg = NULL;
	for (ElfW(Dyn) *d = _DYNAMIC; d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_DEBUG)
			dbg = core_word(copy, (uint64_t)(uintptr_t)&d->d_un.d_ptr);
	assert_non_null(dbg);
	uint64_t saved = *dbg;
	*dbg = 0;
	assert_null(tli_core_open_mem(copy, G.size, "nodebug", &o, &t));
	assert_true(maps_name(t, "libc.so"));
	w = warn_text(t);
	assert_true(!w || !strstr(w, "dynamic linker"));
	tli_target_destroy(t);
	*dbg = saved;

	/* hostile lists: the last entry pointing back to the first (a cycle), then into nowhere */
	struct link_map *first = _r_debug.r_map, *last = first;
	size_t len = 0;
	while (last->l_next && len++ < 100)
		last = last->l_next;
	uint64_t *next = core_word(copy, (uint64_t)(uintptr_t)&last->l_next);
	assert_non_null(next);
	*next = (uint64_t)(uintptr_t)first;
	assert_null(tli_core_open_mem(copy, G.size, "cycle", &o, &t));
	assert_non_null(strstr(warn_text(t), "the dynamic linker's list loops"));
	assert_true(maps_name(t, "libc.so"));
	tli_target_destroy(t);
	*next = 0xdead00000000ull;
	assert_null(tli_core_open_mem(copy, G.size, "wild", &o, &t));
	assert_non_null(strstr(warn_text(t), "is not readable in the core"));
	assert_true(maps_name(t, "libc.so"));
	tli_target_destroy(t);
	/* the executable's own entry (the first) pointing into nowhere: every library is unknown, and the
	 * warnings say so */
	uint64_t *head = core_word(copy, (uint64_t)(uintptr_t)&first->l_next);
	assert_non_null(head);
	*head = 0xdead00000000ull;
	assert_null(tli_core_open_mem(copy, G.size, "wildhead", &o, &t));
	assert_non_null(strstr(warn_text(t), "the libraries from there on are unknown"));
	assert_false(maps_name(t, "libc.so"));
	tli_target_destroy(t);
	free(copy);
}

static void test_not_a_core(void **state)
{
	(void)state;
	struct tli_target *t = NULL;
	struct tli_error *e = tli_core_open("/proc/self/exe", NULL, &t);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_BAD_FORMAT);
	/* the type libelf reports */
	elf_version(EV_CURRENT);
	int fd = open("/proc/self/exe", O_RDONLY);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	GElf_Ehdr eh;
	gelf_getehdr(elf, &eh);
	const char *want = eh.e_type == ET_DYN ? "is not a core file (ELF type ET_DYN)"
			   : eh.e_type == ET_EXEC ? "is not a core file (ELF type ET_EXEC)" : "?";
	elf_end(elf);
	close(fd);
	assert_non_null(strstr(e->msg, want));
	tli_error_destroy(e);

	e = tli_core_open("/nonexistent/core", NULL, &t);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_NO_TARGET);
	tli_error_destroy(e);
	/* a FIFO (e.g. named by a crafted NT_FILE note or by the user) is refused, never waited on */
	char fifo[64];
	snprintf(fifo, sizeof(fifo), "/tmp/tli-test-fifo.%d", (int)getpid());
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	e = tli_core_open(fifo, NULL, &t);
	unlink(fifo);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_BAD_FORMAT);
	tli_error_destroy(e);
	e = tli_core_open("/dev/null", NULL, &t);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_BAD_FORMAT);
	tli_error_destroy(e);
	e = tli_core_open("/etc/hostname", NULL, &t);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_BAD_FORMAT);
	tli_error_destroy(e);
}

/* Open an image; on success exercise reads of every mapping. Returns the error code. */
static int try_image(const unsigned char *buf, size_t len, char **warnings)
{
	struct tli_target *t = NULL;
	struct tli_core_opts o = { .sysroot = "/nonexistent-sysroot" };
	struct tli_error *e = tli_core_open_mem(buf, len, "mutant", &o, &t);
	if (e) {
		int code = e->code;
		tli_error_destroy(e);
		assert_null(t);
		return code;
	}
	unsigned char tmp[64];
	for (size_t i = 0; i < t->nmaps && i < 256; i++) {
		struct tli_error *r = tli_target_read(t, t->maps[i].start, tmp, sizeof(tmp));
		tli_error_destroy(r);
		r = tli_target_read(t, t->maps[i].end - 8, tmp, 16); /* across the end */
		tli_error_destroy(r);
	}
	for (size_t i = 0; i < t->nthreads; i++)
		(void)tli_target_find_mapping(t, t->threads[i].regs.pc);
	if (warnings)
		*warnings = warn_text(t) ? strdup(warn_text(t)) : NULL;
	tli_target_destroy(t);
	return 0;
}

static void test_truncated(void **state)
{
	(void)state;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)G.buf;
	size_t ph_end = eh->e_phoff + (size_t)eh->e_phnum * eh->e_phentsize;
	size_t note_off = 0, note_len = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = raw_phdr(G.buf, i);
		if (ph->p_type == PT_NOTE) {
			note_off = ph->p_offset;
			note_len = ph->p_filesz;
		}
	}
	assert_true(note_len > 0);
	/* cut inside the heap buffer's segment data */
	int ih = raw_load_index(G.buf, G.rep.heap);
	const Elf64_Phdr *hp = raw_phdr(G.buf, ih);
	size_t heap_off = hp->p_offset + (G.rep.heap - hp->p_vaddr);

	/* inside the ELF header and the program headers: fatal */
	size_t fatal[] = { 0, 1, 4, 16, 63, 64, 65, 64 + 56, ph_end - 1 };
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		int code = try_image(G.buf, fatal[i], NULL);
		if (code != TLI_E_BAD_FORMAT)
			fail_msg("cut at %zu: code %d, want BAD_FORMAT", fatal[i], code);
	}
	/* a cut in the middle of the heap data: opens, warns, keeps the prefix */
	size_t cut = heap_off + 1000;
	if (note_off + note_len <= cut) {
		struct tli_target *t = NULL;
		struct tli_error *e = tli_core_open_mem(G.buf, cut, "cut", NULL, &t);
		if (e)
			fail_msg("cut inside PT_LOAD data: %s", e->msg);
		assert_non_null(warn_text(t));
		assert_non_null(strstr(warn_text(t), "core truncated: PT_LOAD at vaddr"));
		unsigned char b[1000];
		assert_null(tli_target_read(t, G.rep.heap, b, sizeof(b)));
		for (size_t i = 0; i < sizeof(b); i++)
			assert_int_equal(b[i], heap_byte(i));
		struct tli_error *r = tli_target_read(t, G.rep.heap + 990, b, 20);
		assert_non_null(r);
		/* bytes lost to the cut: malformed input, naming the address */
		assert_int_equal(r->code, TLI_E_BAD_FORMAT);
		assert_non_null(strstr(r->msg, "is truncated"));
		assert_int_equal(r->addr, G.rep.heap + 1000);
		tli_error_destroy(r);
		tli_target_destroy(t);
	}
	/* cuts through the notes and everywhere else: never crash */
	size_t cuts[] = { ph_end, ph_end + 1, note_off, note_off + 1, note_off + 12, note_off + 20,
			  note_off + 100, note_off + note_len / 2, note_off + note_len - 1,
			  G.size / 3, G.size / 2, G.size - 1 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		if (cuts[i] > G.size)
			continue;
		char *w = NULL;
		int code = try_image(G.buf, cuts[i], &w);
		assert_true(code == 0 || code == TLI_E_BAD_FORMAT);
		/* a cut through the notes loses threads, registers and mappings: refused (issue 15) */
		if (cuts[i] < note_off + note_len && code != TLI_E_BAD_FORMAT)
			fail_msg("cut at %zu, inside or before the notes [%zu, %zu): code %d, want BAD_FORMAT",
				 cuts[i], note_off, note_off + note_len, code);
		if (code == 0 && cuts[i] < G.size)
			assert_non_null(w); /* something was cut: it must say so */
		free(w);
	}
	/* the same through a real truncated file */
	char path[300];
	snprintf(path, sizeof(path), "%s.trunc", G.core);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, G.buf, G.size / 2), (ssize_t)(G.size / 2));
	close(fd);
	struct tli_target *t = NULL;
	struct tli_error *e = tli_core_open(path, NULL, &t);
	if (!e) {
		assert_non_null(strstr(warn_text(t), "core truncated"));
		tli_target_destroy(t);
	} else {
		assert_int_equal(e->code, TLI_E_BAD_FORMAT);
		tli_error_destroy(e);
	}
	assert_int_equal(truncate(path, 30), 0);
	e = tli_core_open(path, NULL, &t);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_BAD_FORMAT);
	assert_non_null(strstr(e->msg, "truncated"));
	tli_error_destroy(e);
	unlink(path);
}

/* first note header in the note segment, and the NT_FILE descriptor */
static unsigned char *find_note(unsigned char *buf, uint32_t type, uint32_t *descsz)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = raw_phdr(buf, i);
		if (ph->p_type != PT_NOTE)
			continue;
		size_t p = ph->p_offset, end = ph->p_offset + ph->p_filesz;
		while (p + 12 <= end) {
			uint32_t nsz, dsz, ty;
			memcpy(&nsz, buf + p, 4);
			memcpy(&dsz, buf + p + 4, 4);
			memcpy(&ty, buf + p + 8, 4);
			if (ty == type) {
				*descsz = dsz;
				return buf + p;
			}
			p += 12 + ((nsz + 3) & ~3u) + ((dsz + 3) & ~3u);
		}
	}
	return NULL;
}

static void test_corrupted(void **state)
{
	(void)state;
	unsigned char *c = malloc(G.size);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)c;
#define RESET() memcpy(c, G.buf, G.size)
	RESET();
	eh->e_phoff = 0xffffffffffff0000ull;
	assert_int_equal(try_image(c, G.size, NULL), TLI_E_BAD_FORMAT);
	RESET();
	eh->e_phnum = 0xfffe; /* reads garbage as headers if the file is large enough */
	{
		int code = try_image(c, G.size, NULL);
		if (64 + 0xfffeull * 56 > G.size)
			assert_int_equal(code, TLI_E_BAD_FORMAT);
		else
			assert_true(code == 0 || code == TLI_E_BAD_FORMAT);
	}
	RESET();
	eh->e_phoff = G.size - 100; /* table runs past the end */
	assert_int_equal(try_image(c, G.size, NULL), TLI_E_BAD_FORMAT);
	RESET();
	eh->e_phnum = PN_XNUM;
	eh->e_shoff = 0x7fffffffffffffffull;
	assert_int_equal(try_image(c, G.size, NULL), TLI_E_BAD_FORMAT);
	RESET();
	eh->e_phentsize = 8;
	assert_int_equal(try_image(c, G.size, NULL), TLI_E_BAD_FORMAT);
	RESET();
	eh->e_machine = EM_RISCV; /* a machine we do not read (arm64 we do: test_arch.c) */
	assert_int_equal(try_image(c, G.size, NULL), TLI_E_UNSUPPORTED);
	RESET();
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	assert_int_equal(try_image(c, G.size, NULL), TLI_E_UNSUPPORTED);
	RESET();
	eh->e_ident[EI_DATA] = ELFDATA2MSB;
	assert_int_equal(try_image(c, G.size, NULL), TLI_E_UNSUPPORTED);
	RESET();
	eh->e_type = ET_EXEC;
	assert_int_equal(try_image(c, G.size, NULL), TLI_E_BAD_FORMAT);

	uint32_t dsz;
	unsigned char *n;
	uint32_t huge = 0xffffffffu, big = 0xfffffff0u;
	const uint32_t types[] = { NT_PRPSINFO, NT_PRSTATUS, NT_AUXV, 0x46494c45 /* NT_FILE */ };
	for (size_t k = 0; k < 4; k++) {
		char *w = NULL;
		RESET();
		n = find_note(c, types[k], &dsz);
		assert_non_null(n);
		memcpy(n, &huge, 4); /* namesz */
		int code = try_image(c, G.size, &w);
		assert_true(code == 0 || code == TLI_E_BAD_FORMAT);
		if (!code)
			assert_non_null(w);
		free(w);
		w = NULL;
		RESET();
		n = find_note(c, types[k], &dsz);
		memcpy(n + 4, &big, 4); /* descsz */
		code = try_image(c, G.size, &w);
		assert_true(code == 0 || code == TLI_E_BAD_FORMAT);
		if (!code)
			assert_non_null(w);
		free(w);
	}
	/* NT_FILE: absurd count, strings without NUL, page size overflow */
	RESET();
	n = find_note(c, 0x46494c45, &dsz);
	unsigned char *desc = n + 12 + 8; /* "CORE\0" padded to 8 */
	uint64_t v = 1ull << 62;
	memcpy(desc, &v, 8);
	char *w = NULL;
	assert_int_equal(try_image(c, G.size, &w), 0);
	assert_non_null(w);
	assert_non_null(strstr(w, "NT_FILE claims"));
	free(w);
	RESET();
	uint64_t cnt;
	memcpy(&cnt, desc, 8);
	memset(desc + 16 + cnt * 24, 'A', dsz - 16 - cnt * 24);
	w = NULL;
	assert_int_equal(try_image(c, G.size, &w), 0);
	assert_non_null(strstr(w, "not NUL-terminated"));
	free(w);
	RESET();
	v = 1ull << 40;
	memcpy(desc + 8, &v, 8); /* page size */
	assert_int_equal(try_image(c, G.size, NULL), 0);

	/* PT_LOAD fields */
	int ih = raw_load_index(c, G.rep.heap);
	RESET();
	raw_phdr(c, ih)->p_offset = 0xfffffffffffff000ull;
	w = NULL;
	assert_int_equal(try_image(c, G.size, &w), 0);
	assert_non_null(strstr(w, "core truncated: PT_LOAD"));
	free(w);
	RESET();
	raw_phdr(c, ih)->p_filesz = raw_phdr(c, ih)->p_memsz + 4096;
	assert_int_equal(try_image(c, G.size, NULL), 0);
	RESET();
	raw_phdr(c, ih)->p_memsz = 0xfffffffffffff000ull;
	assert_int_equal(try_image(c, G.size, NULL), 0);
	RESET();
	raw_phdr(c, ih)->p_vaddr = 0; /* overlaps nothing, but moves the heap */
	assert_int_equal(try_image(c, G.size, NULL), 0);
	RESET();
	for (int i = 0; i < eh->e_phnum; i++) /* all segments at one address */
		raw_phdr(c, i)->p_vaddr = 0x400000;
	assert_int_equal(try_image(c, G.size, NULL), 0);

	/* random byte corruption of the headers and notes (fixed seed) */
	size_t ph_end = eh->e_phoff + (size_t)eh->e_phnum * eh->e_phentsize;
	size_t note_off = 0, note_len = 0;
	RESET();
	for (int i = 0; i < eh->e_phnum; i++)
		if (raw_phdr(c, i)->p_type == PT_NOTE) {
			note_off = raw_phdr(c, i)->p_offset;
			note_len = raw_phdr(c, i)->p_filesz;
		}
	srand(12345);
	int opened = 0, failed = 0;
	for (int iter = 0; iter < 3000; iter++) {
		size_t offs[8];
		int k = 1 + rand() % 8;
		for (int j = 0; j < k; j++) {
			size_t o = (rand() % 2) ? (size_t)rand() % ph_end : note_off + (size_t)rand() % note_len;
			offs[j] = o;
			c[o] = (rand() % 4 == 0) ? 0xff : (unsigned char)rand();
		}
		if (try_image(c, G.size, NULL))
			failed++;
		else
			opened++;
		for (int j = 0; j < k; j++)
			c[offs[j]] = G.buf[offs[j]];
	}
	print_message("random corruption: %d opened (with damage), %d refused, 0 crashes\n", opened, failed);
	free(c);
#undef RESET
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_registers_memory),
		cmocka_unit_test(test_text_through_nt_file),
		cmocka_unit_test(test_filesz_short_falls_back_or_not_in_core),
		cmocka_unit_test(test_build_id_check),
		cmocka_unit_test(test_link_map_without_nt_file),
		cmocka_unit_test(test_not_a_core),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupted),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
