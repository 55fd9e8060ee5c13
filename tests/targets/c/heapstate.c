/* SPDX-License-Identifier: MIT */
/*
 * heapstate: build a deterministic glibc malloc state, record glibc's own view
 * of it (mallinfo2/mallinfo and malloc_info) plus what we deliberately leaked,
 * print "ready", then block forever (raw pause syscalls, no SIGSTOP: ptrace
 * attach works).
 *
 *   heapstate OUTDIR      writes OUTDIR/mallinfo.txt, OUTDIR/malloc_info.xml,
 *                         OUTDIR/expect.txt
 *
 * Build: gcc -O2 -g -pthread -o heapstate heapstate.c   (add -DUSE_MALLINFO
 * when building against a glibc older than 2.33, which has no mallinfo2).
 *
 * State:
 *  - 3 threads, each with its own arena (unless arena_max limits it); thread 0
 *    grows its arena past HEAP_MAX_SIZE (a second heap).
 *  - main arena: tcache (0x30 x7, 0x110 x7), fastbin (0x30 x3), small bin
 *    (0x110), large bin (0x520), unsorted (0x500); an mmapped chunk.
 *  - leaks: main 3 x 0x50, a leaked 0x40 block that points to a 0x60 block
 *    (both unreachable), thread 1: 2 x 0x90.
 *  - reachable only from: a stack slot of main, a register of thread 2 (r12
 *    while in a raw pause syscall), a global, an interior pointer in a global.
 * Pointers we must remember for expect.txt but must not keep reachable are
 * stored XOR-ed with HIDE.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HIDE ((uintptr_t)0xa5a5a5a5a5a5a5a5ull)
#define NTHREADS 3

#ifdef USE_MALLINFO
typedef struct mallinfo mi_t;
# define GET_MI() mallinfo()
# define MI_FMT "%d"
#else
typedef struct mallinfo2 mi_t;
# define GET_MI() mallinfo2()
# define MI_FMT "%zu"
#endif

void *live[2048];                 /* reachable through this global */
static int nlive;
void *global_only;                /* the only reference to one block */
char *interior_only;              /* points 100 bytes into a block */

struct hidden { uintptr_t x; size_t req; const char *kind; };
static struct hidden hidden[64];  /* leaked / special blocks, XOR-ed */
static int nhidden;
static sem_t ready;
static FILE *f_mi, *f_xml, *f_exp;

static void *L(void *p) { live[nlive++] = p; return p; }
static void hide(void *p, size_t req, const char *kind)
{
	hidden[nhidden].x = (uintptr_t)p ^ HIDE;
	hidden[nhidden].req = req;
	hidden[nhidden].kind = kind;
	nhidden++;
}

static __attribute__((noinline)) void leak(size_t n, int count)
{
	for (int i = 0; i < count; i++) {
		void *p = malloc(n);
		memset(p, 0x5a, n);
		hide(p, n, "leak");
	}
}

/* A leaked block pointing to another: both unreachable. */
static __attribute__((noinline)) void leak_pair(void)
{
	void **a = malloc(0x38);
	void *b = malloc(0x58);
	memset(b, 0x11, 0x58);
	a[0] = b;
	memset(a + 1, 0, 0x30);
	hide(a, 0x38, "leak");
	hide(b, 0x58, "leak");
}

static __attribute__((noinline)) void scrub_stack(void)
{
	volatile char buf[32768];
	memset((char *)buf, 0, sizeof(buf));
}

static __attribute__((noinline)) void *alloc_reg(size_t n)
{
	void *p = malloc(n);
	memset(p, 0x33, n);
	hide(p, n, "register");
	return p;
}

/* Block forever (raw pause syscalls) with p only in r12 (and in no memory).
 * The 128-byte red zone below SP is cleared first: leak checkers scan it
 * (valgrind does too) and stale pointers from earlier calls may sit there.
 * arm64 (no red zone, no pause): p only in x19, ppoll(NULL, 0, NULL, NULL). */
static __attribute__((noinline, noreturn)) void block_forever(void *p)
{
#if defined(__aarch64__)
	register void *x19 asm("x19") = p;
	asm volatile("1: mov x0, xzr\n\t"
		     "mov x1, xzr\n\t"
		     "mov x2, xzr\n\t"
		     "mov x3, xzr\n\t"
		     "mov x8, #73\n\t" /* SYS_ppoll */
		     "svc #0\n\t"
		     "b 1b" : : "r"(x19) : "x0", "x1", "x2", "x3", "x8", "memory");
#else
	register void *r12 asm("r12") = p;
	/* clear the red zone: stale copies of p from earlier calls may sit there */
	asm volatile("xor %%eax, %%eax\n\t"
		     "mov $-128, %%rcx\n"
		     "2: mov %%rax, (%%rsp,%%rcx)\n\t"
		     "add $8, %%rcx\n\t"
		     "jnz 2b\n\t"
		     "1: mov $34, %%eax\n\t" /* SYS_pause */
		     "syscall\n\t"
		     "jmp 1b" : : "r"(r12) : "rax", "rcx", "r11", "memory");
#endif
	__builtin_unreachable();
}

static void *thr(void *arg)
{
	long id = (long)arg;
	void *f[10];
	for (int i = 0; i < 3 + id; i++)
		L(malloc(0x18));                /* 0x20 chunks */
	for (int i = 0; i < 3; i++)
		L(malloc(0x200));               /* 0x210 */
	for (int i = 0; i < 9; i++)
		f[i] = malloc(0x38);            /* 0x40: 7 -> tcache, 2 -> fastbin */
	L(malloc(0x18));
	if (id == 1)
		leak(0x88, 2);                  /* 2 x 0x90 leaked in this arena */
	for (int i = 0; i < 9; i++)
		free(f[i]);
	if (id == 0)                            /* > 64 MiB: a second heap */
		for (int i = 0; i < 700; i++)
			L(malloc(100000));
	if (id == 2) {
		void *p = alloc_reg(0xe8);      /* 0xf0 chunk */
		scrub_stack();
		sem_post(&ready);
		block_forever(p);
	}
	scrub_stack();
	sem_post(&ready);
	block_forever(NULL);
}

static __attribute__((noinline)) void write_expect(void)
{
	for (int i = 0; i < nhidden; i++)
		fprintf(f_exp, "%s 0x%lx %zu\n", hidden[i].kind, (unsigned long)(hidden[i].x ^ HIDE),
			hidden[i].req);
	fprintf(f_exp, "global 0x%lx\n", (unsigned long)(uintptr_t)global_only);
	fprintf(f_exp, "interior 0x%lx\n", (unsigned long)(uintptr_t)(interior_only - 100));
	fprintf(f_exp, "pid %d\n", (int)getpid());
}

static void write_mi(FILE *f, const mi_t *m)
{
	fprintf(f, "arena=" MI_FMT "\nordblks=" MI_FMT "\nsmblks=" MI_FMT "\nhblks=" MI_FMT
		"\nhblkhd=" MI_FMT "\nusmblks=" MI_FMT "\nfsmblks=" MI_FMT "\nuordblks=" MI_FMT
		"\nfordblks=" MI_FMT "\nkeepcost=" MI_FMT "\n",
		m->arena, m->ordblks, m->smblks, m->hblks, m->hblkhd, m->usmblks, m->fsmblks,
		m->uordblks, m->fordblks, m->keepcost);
}

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

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	setvbuf(stdout, NULL, _IONBF, 0);
	f_mi = open_out(dir, "mallinfo.txt");
	f_xml = open_out(dir, "malloc_info.xml");
	f_exp = open_out(dir, "expect.txt");
	sem_init(&ready, 0, 0);

	/* threads first: pthread_create callocs each thread's DTV in this arena */
	pthread_t th[NTHREADS];
	for (long i = 0; i < NTHREADS; i++) {
		pthread_create(&th[i], NULL, thr, (void *)i);
		sem_wait(&ready);
	}

	void *t[10], *sm[8];
	for (int i = 0; i < 10; i++) L(malloc(24));
	for (int i = 0; i < 10; i++) L(malloc(100));
	for (int i = 0; i < 5; i++) L(malloc(1000));
	for (int i = 0; i < 3; i++) L(malloc(5000));
	L(malloc(300000));                               /* mmapped */
	global_only = malloc(0x78);                      /* 0x80, only from a global */
	interior_only = (char *)malloc(0x1f8) + 100;     /* 0x200, only interior */
	void *volatile on_stack = malloc(0x98);          /* 0xa0, only main's stack */
	leak(0x48, 3);
	leak_pair();
	scrub_stack();
	/* everything that will be freed is allocated before the first free */
	for (int i = 0; i < 10; i++) t[i] = malloc(0x28);  /* 0x30 */
	L(malloc(0x18));
	for (int i = 0; i < 8; i++) { sm[i] = malloc(0x100); L(malloc(0x18)); } /* 0x110 */
	void *lg = malloc(0x510); L(malloc(0x18));        /* 0x520 */
	void *us = malloc(0x4f0); L(malloc(0x18));        /* 0x500 */
	for (int i = 0; i < 8; i++) free(sm[i]);          /* 7 tcache, 1 unsorted */
	free(lg);                                         /* unsorted */
	L(malloc(0x600));     /* sorts unsorted: 0x110 -> small, 0x520 -> large */
	free(us);                                         /* 0x500 -> unsorted */
	for (int i = 0; i < 10; i++) free(t[i]);          /* 7 tcache, 3 fastbin */

	mi_t a = GET_MI();
	write_mi(f_mi, &a);
	malloc_info(0, f_xml);
	write_expect();
	fprintf(f_exp, "stack 0x%lx\n", (unsigned long)(uintptr_t)on_stack);
	mi_t b = GET_MI();
	if (memcmp(&a, &b, sizeof(a)))
		fprintf(f_exp, "CHANGED while printing\n");
	scrub_stack();
	printf("ready %d\n", (int)getpid());
	block_forever(NULL);
}
