/* SPDX-License-Identifier: MIT */
/*
 * exitsoon: a glibc heap of NCHUNKS small blocks over NTHREADS arenas, then
 * "pid P" and "ready", then exit(0) by itself DELAY_US microseconds later: a
 * target that goes away while tlinspect attaches, captures or walks it
 * (issue 15 item 4, tests/integration/exitrace.sh).
 *
 *   exitsoon NCHUNKS NTHREADS DELAY_US
 *
 * Build: gcc -O2 -g -pthread -o exitsoon exitsoon.c
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long per_thread;
void **slots[16]; /* reachable through this global */
static pthread_barrier_t built;

static void *fill(void *arg)
{
	long k = (long)arg;
	slots[k] = malloc(per_thread * sizeof(void *));
	for (long i = 0; i < per_thread; i++) {
		slots[k][i] = malloc(16 + (size_t)(i * 37 % 160));
		memset(slots[k][i], 0x11, 16);
	}
	pthread_barrier_wait(&built);
	if (k)
		for (;;)
			pause();
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	long n = atol(argv[1]), nth = atol(argv[2]);
	long delay = atol(argv[3]);
	if (nth < 1 || nth > 16)
		return 2;
	per_thread = n / nth;
	pthread_barrier_init(&built, NULL, (unsigned)nth);
	pthread_t th;
	for (long k = 1; k < nth; k++)
		pthread_create(&th, NULL, fill, (void *)k);
	fill(0);
	printf("pid %d\nready\n", getpid());
	fflush(stdout);
	struct timespec ts = { delay / 1000000, (delay % 1000000) * 1000 };
	nanosleep(&ts, NULL);
	exit(0);
}
