/* SPDX-License-Identifier: MIT */
/*
 * seccompexec: run a program under a seccomp filter that allows every system call (so that
 * /proc/PID/status says "Seccomp: 2" and nothing else changes). tests/integration/fork.sh
 * checks that --snapshot=fork then refuses to clone and reads in copy mode.
 *   seccompexec PROGRAM [ARGS...]
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: seccompexec PROGRAM [ARGS...]\n");
		return 2;
	}
	struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { 1, allow };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("seccompexec: prctl");
		return 1;
	}
	execv(argv[1], argv + 1);
	perror("seccompexec: execv");
	return 127;
}
