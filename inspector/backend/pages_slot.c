/* SPDX-License-Identifier: MIT */
/**
 * @file pages_slot.c
 * The gdb face's page directories, TLI_PAGES_GDB_PREFIX<slot> (0700): each gdb
 * claims one by writing DIR/owner (its pid and start time) exclusively; a
 * directory whose owner is gone is stale and may be claimed again.
 */
#include "pages_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* pid and start time of a process ("PID STARTTIME"), false if gone/unreadable */
static bool proc_identity(int pid, char *out, size_t cap, int *ppid, char *comm, size_t ccap)
{
	char path[64], *buf;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (tli_pages_slurp_at(AT_FDCWD, path, 4096, &buf, &len))
		return false;
	/* "pid (comm) state ppid ... starttime(22)" */
	char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
	if (!lp || !rp || rp < lp) {
		free(buf);
		return false;
	}
	if (comm) {
		size_t n = (size_t)(rp - lp - 1);
		if (n >= ccap)
			n = ccap - 1;
		memcpy(comm, lp + 1, n);
		comm[n] = 0;
	}
	char *f = rp + 2;
	unsigned long long start = 0;
	long pp = 0;
	for (int field = 3; field <= 22 && f && *f; field++) {
		if (field == 4)
			pp = strtol(f, NULL, 10);
		if (field == 22)
			start = strtoull(f, NULL, 10);
		f = strchr(f, ' ');
		if (f)
			f++;
	}
	free(buf);
	if (ppid)
		*ppid = (int)pp;
	snprintf(out, cap, "%d %llu\n", pid, start);
	return start != 0;
}

/* The gdb that runs us: the first ancestor that is not a shell. */
static bool gdb_identity(char *out, size_t cap)
{
	int pid = getppid();
	for (int depth = 0; depth < 4 && pid > 1; depth++) {
		char comm[64] = "";
		int pp = 0;
		if (!proc_identity(pid, out, cap, &pp, comm, sizeof(comm)))
			return false;
		if (strcmp(comm, "sh") && strcmp(comm, "dash") && strcmp(comm, "bash") && strcmp(comm, "busybox"))
			return true;
		pid = pp;
	}
	return false;
}

/* owner file content still names a live process? */
static bool owner_alive(const char *owner)
{
	int pid = atoi(owner);
	char now[64];
	if (pid <= 0 || !proc_identity(pid, now, sizeof(now), NULL, NULL, 0))
		return false;
	return !strcmp(now, owner);
}

/* Claim a page directory: create DIR/owner exclusively (two gdbs racing for the same
 * slot: exactly one wins, the other sees EEXIST and moves on). 0 or errno. */
static int claim_owner(int dirfd, const char *me)
{
	int fd = openat(dirfd, "owner", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno;
	size_t len = strlen(me), n = 0;
	int e = 0;
	while (n < len) {
		ssize_t k = write(fd, me + n, len - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			e = k < 0 ? errno : EIO;
			break;
		}
		n += (size_t)k;
	}
	if (close(fd) < 0 && !e)
		e = errno;
	if (e)
		unlinkat(dirfd, "owner", 0);
	return e;
}

struct tli_error *tli_pages_gdb_slot(int *ret)
{
	char me[64];
	if (!gdb_identity(me, sizeof(me)))
		return tli_error_create(TLI_E_NO_TARGET, "cannot identify the gdb that runs tlinspect "
					"(--pages-slot is for gdb-ext/tlinspect.gdb)");
	for (int pass = 0; pass < 2; pass++)
		for (int s = 0; s < TLI_PAGES_SLOTS; s++) {
			char path[64];
			snprintf(path, sizeof(path), "%s%d", TLI_PAGES_GDB_PREFIX, s);
			if (pass == 1 && mkdir(path, 0700) == 0) {
				int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (fd < 0)
					continue;
				int we = claim_owner(fd, me);
				close(fd);
				if (we) {
					rmdir(path); /* fails (not empty) if another gdb claimed it first */
					continue;
				}
				*ret = s;
				return NULL;
			}
			int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				continue;
			struct stat st;
			if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077)) {
				close(fd); /* someone else's (or not private): never touch it */
				continue;
			}
			char *owner = NULL;
			size_t olen;
			bool mine = false, stale = false;
			if (!tli_pages_slurp_at(fd, "owner", 128, &owner, &olen)) {
				mine = !strcmp(owner, me);
				stale = !mine && !owner_alive(owner);
			} else {
				stale = true; /* ours but unclaimed (half-made): reusable */
			}
			free(owner);
			if (pass == 0 && mine) {
				tli_pages_clear_dir(fd, true);
				close(fd);
				*ret = s;
				return NULL;
			}
			if (pass == 1 && stale) {
				tli_pages_clear_dir(fd, false);
				int we = claim_owner(fd, me);
				close(fd);
				if (!we) {
					*ret = s;
					return NULL;
				}
				continue;
			}
			close(fd);
		}
	return tli_error_create(TLI_E_INTERNAL, "no free page directory %s0..%d for gdb's page requests",
				TLI_PAGES_GDB_PREFIX, TLI_PAGES_SLOTS - 1);
}
