/* SPDX-License-Identifier: MIT */
/*
 * sigsend PID SIGNO OUTFILE: queues signal SIGNO to PID with payloads 0, 1, 2, ... (sigqueue)
 * every millisecond until SIGTERM, then writes how many were queued to OUTFILE. The sender of
 * the signal soak inside the arm64 machine (tests/integration/arm64vm.sh), where there is no
 * Python; tests/targets/c/forksoakc.c counts and checks what arrives.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_term(int s)
{
	(void)s;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: sigsend PID SIGNO OUTFILE\n");
		return 2;
	}
	pid_t pid = (pid_t)atoi(argv[1]);
	int sig = atoi(argv[2]);
	signal(SIGTERM, on_term);
	long n = 0;
	const struct timespec ms = { 0, 1000000 };
	while (!stop) {
		union sigval v = { .sival_int = (int)n };
		if (sigqueue(pid, sig, v) == 0)
			n++;
		nanosleep(&ms, NULL);
	}
	FILE *f = fopen(argv[3], "w");
	if (!f)
		return 1;
	fprintf(f, "%ld\n", n);
	return fclose(f) ? 1 : 0;
}
