/* SPDX-License-Identifier: MIT */
/*
 * ctrinit: what a container runtime does to start a container's process, and no more,
 * for tests/integration/containers.sh. Run inside fresh namespaces (unshare -m [-p -f]):
 *   ctrinit ROOT [-b HOSTDIR DIR]... [-p] -- PROG ARGS...
 * makes every mount private (nothing reaches the host), bind-mounts ROOT onto itself and
 * each HOSTDIR onto ROOT/DIR, pivot_roots into ROOT, detaches the old root (the process
 * sees nothing of the host's files), with -p mounts a /proc of its own pid namespace,
 * then execs PROG, looked up in the new root. The mounts die with the mount namespace.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "ctrinit: %s %s: %m\n", what, arg ? arg : "");
	exit(125);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: ctrinit ROOT [-b HOSTDIR DIR]... [-p] -- PROG ARGS...\n");
		return 125;
	}
	const char *root = argv[1];
	int i = 2, proc = 0;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		die("making mounts private", NULL);
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL))
		die("bind-mounting", root);
	for (; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "-p")) {
			proc = 1;
		} else if (!strcmp(argv[i], "-b") && i + 2 < argc) {
			char dst[4096];
			snprintf(dst, sizeof(dst), "%s/%s", root, argv[i + 2]);
			mkdir(dst, 0755);
			if (mount(argv[i + 1], dst, NULL, MS_BIND, NULL))
				die("bind-mounting", argv[i + 1]);
			i += 2;
		} else {
			fprintf(stderr, "ctrinit: unknown argument %s\n", argv[i]);
			return 125;
		}
	}
	if (i + 1 >= argc)
		die("no program", NULL);
	if (chdir(root))
		die("chdir", root);
	mkdir("old", 0700);
	if (syscall(SYS_pivot_root, ".", "old"))
		die("pivot_root into", root);
	if (chdir("/") || umount2("/old", MNT_DETACH))
		die("detaching the old root", NULL);
	rmdir("/old");
	if (proc) {
		mkdir("/proc", 0555);
		if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
			die("mounting /proc", NULL);
	}
	execv(argv[i + 1], argv + i + 1);
	die("exec", argv[i + 1]);
}
