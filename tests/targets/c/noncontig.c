/* SPDX-License-Identifier: MIT */
/*
 * noncontig: force glibc's main arena onto non-contiguous memory, then record
 * glibc's own view of it, like heapstate.c does.
 *
 *   noncontig OUTDIR      writes OUTDIR/mallinfo.txt, OUTDIR/malloc_info.xml,
 *                         OUTDIR/expect.txt, then prints "ready PID" and blocks
 *                         (raw pause syscalls: ptrace attach works)
 *
 * How: once the main arena has its sbrk heap, a PROT_NONE page is mapped right
 * at the program break (MAP_FIXED_NOREPLACE), so brk() can no longer grow it.
 * The next allocations that do not fit in top make sysmalloc fall back to
 * mmap: the main arena becomes NONCONTIGUOUS, the old top is fenced off with
 * fenceposts, and the heap goes on in mmapped regions (at least 1 MiB each);
 * allocating ~5 MiB in small blocks fills several of them. Then a
 * deterministic set is freed (tcache, fastbins, unsorted, small and large
 * bins), some blocks are leaked (pointers kept only XOR-ed), and a thread
 * arena and an mmapped chunk exist too.
 *
 * Build: gcc -O2 -g -pthread -o noncontig noncontig.c
 * Exit status 3 if the condition could not be forced (then nothing is tested).
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HIDE ((uintptr_t)0x5a5a5a5a5a5a5a5aull)
#define NBLK 4000

void *live[NBLK + 64];                /* reachable through this global */
static int nlive;
static uintptr_t hidden[64];          /* leaked blocks, XOR-ed */
static size_t hidden_req[64];
static int nhidden;
static sem_t ready;

static void *L(void *p) { live[nlive++] = p; return p; }

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	setvbuf(f, NULL, _IONBF, 0); /* no stdio buffer: printing does not malloc */
	return f;
}

static __attribute__((noinline, noreturn)) void block_forever(void)
{
	for (;;)
		asm volatile("mov $34, %%eax\n\tsyscall" : : : "rax", "rcx", "r11", "memory"); /* SYS_pause */
}

static __attribute__((noinline)) void scrub_stack(void)
{
	volatile char buf[32768];
	memset((char *)buf, 0, sizeof(buf));
}

static void *thr(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++)
		L(malloc(0x100 + 16 * i));
	for (int i = 0; i < 10; i++)
		free(malloc(0x48));
	scrub_stack();
	sem_post(&ready);
	block_forever();
}

static void write_mi(FILE *f, const struct mallinfo2 *m)
{
	fprintf(f, "arena=%zu\nordblks=%zu\nsmblks=%zu\nhblks=%zu\nhblkhd=%zu\nusmblks=%zu\nfsmblks=%zu\n"
		"uordblks=%zu\nfordblks=%zu\nkeepcost=%zu\n",
		m->arena, m->ordblks, m->smblks, m->hblks, m->hblkhd, m->usmblks, m->fsmblks, m->uordblks,
		m->fordblks, m->keepcost);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	setvbuf(stdout, NULL, _IONBF, 0);
	FILE *f_mi = open_out(dir, "mallinfo.txt");
	FILE *f_xml = open_out(dir, "malloc_info.xml");
	FILE *f_exp = open_out(dir, "expect.txt");
	sem_init(&ready, 0, 0);

	pthread_t th;                    /* a thread arena besides the main one */
	pthread_create(&th, NULL, thr, NULL);
	sem_wait(&ready);

	L(malloc(100));                  /* the main arena's sbrk heap exists */
	char *brk_end = sbrk(0);
	void *fence = mmap(brk_end, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (fence != brk_end) {
		fprintf(stderr, "noncontig: cannot map a page at the break %p\n", (void *)brk_end);
		return 3;
	}

	/* ~5 MiB in blocks below the mmap threshold: several mmapped segments */
	static void *blk[NBLK];
	uint64_t x = 0x2545F4914F6CDD1Dull;
	for (int i = 0; i < NBLK; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		blk[i] = malloc(24 + x % 2500);
	}
	int outside = 0;                 /* blocks beyond the blocked break */
	for (int i = 0; i < NBLK; i++)
		outside += (char *)blk[i] > brk_end + 4096 || (char *)blk[i] < (char *)sbrk(0) - (64 << 20);
	if (outside < NBLK / 2) {
		fprintf(stderr, "noncontig: only %d of %d blocks left the sbrk heap\n", outside, NBLK);
		return 3;
	}
	void *mm = L(malloc(300000));    /* an mmapped chunk */
	(void)mm;
	/* frees: every 5th (tcache first, then fastbins / unsorted), a run of
	 * neighbours (coalesced), then a sorting malloc (small and large bins) */
	for (int i = 2; i < NBLK; i += 5) {
		free(blk[i]);
		blk[i] = NULL;
	}
	for (int i = 1000; i < 1010; i++) {
		free(blk[i]);
		blk[i] = NULL;
	}
	L(malloc(3000));
	for (int i = 3; i < NBLK; i += 97)
		if (blk[i]) {
			free(blk[i]);
			blk[i] = NULL;
		}
	/* leaks: pointers kept only XOR-ed */
	for (int i = 11; i < NBLK && nhidden < 40; i += 101)
		if (blk[i]) {
			hidden[nhidden] = (uintptr_t)blk[i] ^ HIDE;
			hidden_req[nhidden] = malloc_usable_size(blk[i]);
			nhidden++;
			blk[i] = NULL;
		}
	for (int i = 0; i < NBLK; i++)
		if (blk[i])
			L(blk[i]);
	memset(blk, 0, sizeof(blk));

	struct mallinfo2 a = mallinfo2();
	write_mi(f_mi, &a);
	malloc_info(0, f_xml);
	for (int i = 0; i < nhidden; i++) /* usable size - 8 + 8: check.py's req2size gives the chunk size */
		fprintf(f_exp, "leak 0x%lx %zu\n", (unsigned long)(hidden[i] ^ HIDE), hidden_req[i] - 8);
	fprintf(f_exp, "pid %d\n", (int)getpid());
	struct mallinfo2 b = mallinfo2();
	if (memcmp(&a, &b, sizeof(a)))
		fprintf(f_exp, "CHANGED while printing\n");
	scrub_stack();
	printf("ready %d\n", (int)getpid());
	block_forever();
}
