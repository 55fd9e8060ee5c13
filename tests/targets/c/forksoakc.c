/* SPDX-License-Identifier: MIT */
/*
 * forksoakc: a busy C process that counts what it lives through, for the --snapshot=fork soak
 * (tests/integration/fork.sh); every thread checks that stops and the clone a fork snapshot
 * makes one of them execute leave it exactly as it was.
 *   - real-time signal 40 (queued by the kernel, never merged) is taken by one thread only,
 *     counted by a handler that also checks its order and payload: the sender numbers them 0, 1, 2, ... (sigqueue), so a
 *     signal lost, duplicated, reordered or with a wrong siginfo makes BAD count;
 *   - a tick thread counts 1 ms ticks (clock_nanosleep) and the longest gap between two;
 *   - two workers malloc, fill, verify and free buffers (BAD on a wrong byte);
 *   - threads with every signal blocked sit in pause(), read() of a silent pipe and 50 ms
 *     nanosleep()s: a stop interrupts these calls and the kernel restarts them; any return of
 *     pause or read, or a nanosleep that returns early or fails, counts BAD.
 * SIGUSR1 (taken by the main thread with sigwaitinfo) writes "SEQ TICKS SIGNALS MAXGAP_NS BAD"
 * to the file named by argv[1]. Prints "ready PID" once every thread runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RTSIG 40

static atomic_ulong g_ticks, g_sigs, g_bad;
/* what went wrong, by kind: signal, memory, pause, read, sleep (reported as BAD=a/b/c/d/e) */
static atomic_ulong g_badk[5];
#define BAD(k) (atomic_fetch_add(&g_bad, 1), atomic_fetch_add(&g_badk[k], 1))
static atomic_long g_maxgap;
static atomic_int g_next; /* payload the next signal must carry */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	int want = atomic_fetch_add(&g_next, 1);
	if (si->si_code != SI_QUEUE || si->si_value.sival_int != want)
		BAD(0);
	atomic_fetch_add(&g_sigs, 1);
}

/* The one thread that takes RTSIG: in pause() between signals (the thread a fork snapshot
 * picks first, the lowest-numbered thread but the main one). */
static void *receiver(void *arg)
{
	(void)arg;
	sigset_t rt;
	sigemptyset(&rt);
	sigaddset(&rt, RTSIG);
	pthread_sigmask(SIG_UNBLOCK, &rt, NULL);
	for (;;)
		pause();
	return NULL;
}

static void *ticker(void *arg)
{
	(void)arg;
	int64_t last = now_ns();
	for (;;) {
		struct timespec d = { 0, 1000000 };
		clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL);
		int64_t n = now_ns();
		if (n - last > atomic_load(&g_maxgap))
			atomic_store(&g_maxgap, n - last);
		last = n;
		atomic_fetch_add(&g_ticks, 1);
	}
	return NULL;
}

static void *worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	unsigned char *ring[32] = { 0 };
	for (unsigned i = 0;; i++) {
		unsigned k = i % 32;
		size_t len = 1024 + (size_t)(k * 997) % 20000;
		if (ring[k]) {
			for (size_t j = 0; j < len; j++)
				if (ring[k][j] != (unsigned char)(id + k + j))
					BAD(1);
			free(ring[k]);
		}
		ring[k] = malloc(len);
		if (!ring[k])
			abort();
		for (size_t j = 0; j < len; j++)
			ring[k][j] = (unsigned char)(id + k + j);
		if (k == 0) {
			struct timespec d = { 0, 300000 };
			nanosleep(&d, NULL);
		}
	}
	return NULL;
}

static void block_all(void)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}

static void *in_pause(void *arg)
{
	(void)arg;
	block_all();
	for (;;) {
		pause();
		BAD(2);
	}
	return NULL;
}

static void *in_read(void *arg)
{
	int fd = (int)(intptr_t)arg;
	block_all();
	for (;;) {
		char c;
		if (read(fd, &c, 1) != 0 || 1)
			BAD(3);
	}
	return NULL;
}

static void *in_sleep(void *arg)
{
	(void)arg;
	block_all();
	for (;;) {
		struct timespec d = { 0, 50000000 };
		int64_t t0 = now_ns();
		if (nanosleep(&d, NULL) != 0 || now_ns() - t0 < 50000000)
			BAD(4);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: forksoakc REPORTFILE\n");
		return 2;
	}
	sigset_t usr, rt;
	sigemptyset(&usr);
	sigaddset(&usr, SIGUSR1);
	sigemptyset(&rt);
	sigaddset(&rt, RTSIG);
	/* inherited: only sigwaitinfo takes SIGUSR1, only the receiver thread RTSIG (one thread
	 * handles them one after the other, so their order can be checked) */
	pthread_sigmask(SIG_BLOCK, &usr, NULL);
	pthread_sigmask(SIG_BLOCK, &rt, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(RTSIG, &sa, NULL);
	int p[2];
	if (pipe(p))
		return 1;
	pthread_t th;
	pthread_create(&th, NULL, receiver, NULL);
	pthread_create(&th, NULL, ticker, NULL);
	pthread_create(&th, NULL, worker, (void *)1);
	pthread_create(&th, NULL, worker, (void *)2);
	pthread_create(&th, NULL, in_pause, NULL);
	pthread_create(&th, NULL, in_read, (void *)(intptr_t)p[0]);
	pthread_create(&th, NULL, in_sleep, NULL);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (unsigned long seq = 1;; seq++) {
		if (sigwaitinfo(&usr, NULL) < 0)
			continue;
		char tmp[4096], line[160];
		snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
		snprintf(line, sizeof(line), "%lu %lu %lu %ld %lu %lu/%lu/%lu/%lu/%lu\n", seq, atomic_load(&g_ticks),
			 atomic_load(&g_sigs), atomic_load(&g_maxgap), atomic_load(&g_bad), atomic_load(&g_badk[0]),
			 atomic_load(&g_badk[1]), atomic_load(&g_badk[2]), atomic_load(&g_badk[3]),
			 atomic_load(&g_badk[4]));
		atomic_store(&g_maxgap, 0);
		FILE *f = fopen(tmp, "w");
		if (f) {
			fputs(line, f);
			fclose(f);
			rename(tmp, argv[1]);
		}
	}
}
