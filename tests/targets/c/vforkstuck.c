/* SPDX-License-Identifier: MIT */
/*
 * A C target with glibc malloc chunks and one thread that can never be stopped in time: it
 * is blocked in vfork() while its child pauses (the parent of a vfork sleeps until the child
 * execs or exits, and a ptrace interrupt does not end that sleep). Every tlinspect command
 * must then exit 10 (timeout), name the timeout, and leave the process running.
 * Once the child is killed, the thread leaves vfork and lives on (pausing): what a tracer that
 * seized it meanwhile must detach then. Prints "ready PID" when the vfork is pending.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *stuck(void *arg)
{
	(void)arg;
	pid_t c = vfork();
	if (c == 0) {
		pause(); /* the parent thread stays in vfork until we are killed */
		_exit(0);
	}
	for (;;) /* free again once the child is gone: this thread lives on */
		pause();
	return NULL;
}

int main(void)
{
	static void *keep[64];
	for (int i = 0; i < 64; i++) {
		keep[i] = malloc(24 + 16 * (size_t)i);
		memset(keep[i], i, 24);
	}
	pthread_t th;
	if (pthread_create(&th, NULL, stuck, NULL))
		return 1;
	sleep(1); /* the vfork is pending by now */
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
}
