/* SPDX-License-Identifier: MIT */
/*
 * A second tracer for tests: PTRACE_SEIZE one thread (the thread keeps running; seizing
 * does not stop it), print "held TID", and keep it until killed. What another debugger or
 * another tlinspect that has not finished detaching looks like to a new tlinspect run.
 * Usage: holdthread TID
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	int tid = atoi(argv[1]);
	if (ptrace(PTRACE_SEIZE, tid, 0L, 0L) < 0) {
		fprintf(stderr, "holdthread: PTRACE_SEIZE %d: %s\n", tid, strerror(errno));
		return 1;
	}
	printf("held %d\n", tid);
	fflush(stdout);
	for (;;)
		pause();
}
