/* SPDX-License-Identifier: MIT */
/*
 * bigheap: a large glibc heap for benchmarking, plus a 1 ms heartbeat.
 *
 *   bigheap NCHUNKS NTHREADS GAPFILE
 *
 * NTHREADS threads (main included) each malloc NCHUNKS/NTHREADS blocks of
 * 16..176 bytes (deterministic PRNG; ~112-byte chunks on average, so 10M
 * chunks ~ 1.1 GB) in their own arena; the pointers live in one array per
 * thread (reachable from a global). Then every 16th block is freed (tcache,
 * fastbins, unsorted, then small/large after a sorting malloc), every 100th
 * is leaked (its slot cleared). Prints "mallinfo2 ..." (the allocator's totals),
 * "chunks N", "leaked L", "pid P", "ready", and
 * blocks (the allocating threads in pause(), so their tcaches stay).
 *
 * A heartbeat thread ticks every 1 ms (CLOCK_MONOTONIC) and tracks the
 * largest gap between two ticks; on SIGUSR1 it writes "SEQ GAP_NS\n" to
 * GAPFILE and resets: the target's observed pause (tests/bench/README.md, Method).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long per_thread;
void **slots[64];                         /* reachable through this global */
static volatile sig_atomic_t want_report;
static long leaked[64];
static pthread_barrier_t built;
static const char *gapfile;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_usr1(int sig)
{
	(void)sig;
	want_report = 1;
}

static void *heartbeat(void *arg)
{
	(void)arg;
	uint64_t last = now_ns(), maxgap = 0, seq = 0;
	struct timespec d = { 0, 1000000 };
	for (;;) {
		nanosleep(&d, NULL);
		uint64_t t = now_ns();
		if (t - last > maxgap)
			maxgap = t - last;
		last = t;
		if (want_report) {
			want_report = 0;
			char b[64];
			int n = snprintf(b, sizeof(b), "%llu %llu\n", (unsigned long long)++seq,
					 (unsigned long long)maxgap);
			char tmp[4096];
			snprintf(tmp, sizeof(tmp), "%s.tmp", gapfile);
			int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd >= 0) {
				if (write(fd, b, (size_t)n) != n)
					n = -1;
				close(fd);
				rename(tmp, gapfile);
			}
			maxgap = 0;
			last = now_ns();
		}
	}
	return NULL;
}

static void build(long id)
{
	uint64_t x = 0x9E3779B97F4A7C15ull * (uint64_t)(id + 1);
	void **s = malloc((size_t)per_thread * sizeof(void *)); /* an mmapped chunk */
	if (!s) {
		perror("malloc");
		exit(1);
	}
	for (long i = 0; i < per_thread; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		s[i] = malloc(16 + (x % 161));
	}
	for (long i = 7; i < per_thread; i += 16) { /* non-adjacent frees */
		free(s[i]);
		s[i] = NULL;
	}
	free(malloc(4000)); /* sort the unsorted bin into small/large bins */
	for (long i = 3; i < per_thread; i += 100)
		if (s[i]) {
			s[i] = NULL;  /* leaked */
			leaked[id]++;
		}
	slots[id] = s;
}

static void *worker(void *arg)
{
	build((long)arg);
	pthread_barrier_wait(&built);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bigheap NCHUNKS NTHREADS GAPFILE\n");
		return 2;
	}
	long n = atol(argv[1]);
	long nt = atol(argv[2]);
	gapfile = argv[3];
	if (nt < 1 || nt > 64 || n < nt)
		return 2;
	per_thread = n / nt;
	setvbuf(stdout, NULL, _IONBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	pthread_barrier_init(&built, NULL, (unsigned)nt);
	pthread_t th;
	for (long i = 1; i < nt; i++)
		pthread_create(&th, NULL, worker, (void *)i);
	build(0);
	pthread_barrier_wait(&built);
	pthread_create(&th, NULL, heartbeat, NULL);
	long nl = 0;
	for (long i = 0; i < nt; i++)
		nl += leaked[i];
	/* the allocator's own totals, for tests to compare with (every arena; the heartbeat
	 * thread allocates nothing after this) */
	struct mallinfo2 mi = mallinfo2();
	printf("mallinfo2 arena %zu ordblks %zu smblks %zu hblks %zu hblkhd %zu uordblks %zu fordblks %zu "
	       "fsmblks %zu\n", mi.arena, mi.ordblks, mi.smblks, mi.hblks, mi.hblkhd, mi.uordblks, mi.fordblks,
	       mi.fsmblks);
	printf("chunks %ld\nleaked %ld\npid %d\nready\n", per_thread * nt, nl, (int)getpid());
	for (;;)
		pause();
}
