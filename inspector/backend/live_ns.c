/* SPDX-License-Identifier: MIT */
/**
 * @file live_ns.c
 * A live target in a container: its files as it sees them. /proc/PID/maps and
 * /proc/PID/exe name files by their paths inside the target's mount namespace;
 * the same path on this host may be another file (the host's libc.so.6, another
 * program at /app/server). So a mapped file is opened by its path here only if
 * that path is the very inode the kernel lists for the mapping (device and inode
 * of /proc/PID/maps); otherwise through the target's root (/proc/PID/root/PATH,
 * the same inode checked), else /proc/PID/map_files/START-END (the mapping's own
 * file; needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE), else /proc/PID/root/PATH
 * unverified (the build-id checks of those who read it decide). The executable
 * is /proc/PID/exe itself unless its path here is the same inode. Layouts: proc(5).
 */
#include "live.h"
#include "live_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The last pid of "NSpid:" in /proc/PID/status: the pid in the target's own namespace. */
static int ns_pid(int pid)
{
	char path[64], *buf;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (tli_live_read_proc_file(path, &buf, &len))
		return 0;
	int last = 0;
	char *p = strstr(buf, "\nNSpid:");
	if (p) {
		p += 7;
		for (;;) {
			char *end;
			long v = strtol(p, &end, 10);
			if (end == p || v <= 0 || v > INT_MAX)
				break;
			last = (int)v;
			p = end;
		}
	}
	free(buf);
	return last;
}

void tli_live_read_ns(struct tli_target *t)
{
	char path[64];
	struct stat ours, theirs;
	snprintf(path, sizeof(path), "/proc/%d/root", t->pid);
	/* unreadable (no permission yet): unknown; each mapped file is still checked by inode */
	if (!stat("/", &ours) && !stat(path, &theirs) &&
	    (ours.st_dev != theirs.st_dev || ours.st_ino != theirs.st_ino))
		t->root = strdup(path);
	t->ns_pid = ns_pid(t->pid);
}

static bool same_file(const struct stat *st, uint64_t dev, uint64_t ino)
{
	return (uint64_t)st->st_ino == ino && (uint64_t)st->st_dev == dev;
}

int tli_live_map_file(struct tli_target *t, struct tli_mapping *m, unsigned dmaj, unsigned dmin, uint64_t ino)
{
	if (!m->path || m->path[0] != '/' || !ino)
		return 0;
	/* a file's mappings come one after the other: decide once per file */
	if (t->nmaps && m > t->maps) {
		const struct tli_mapping *p = m - 1;
		if (p->path && !strcmp(p->path, m->path) && p->end <= m->start) {
			if (p->file && !(m->file = strdup(p->file)))
				return -1;
			if (!p->file || strncmp(p->file, "/proc/", 6) || !strstr(p->file, "/map_files/"))
				return 0;
			free(m->file); /* map_files names one mapping: this one's own below */
			m->file = NULL;
		}
	}
	uint64_t dev = makedev(dmaj, dmin);
	struct stat st;
	if (!stat(m->path, &st) && same_file(&st, dev, ino))
		return 0; /* the same inode here */
	char buf[PATH_MAX + 64];
	snprintf(buf, sizeof(buf), "/proc/%d/root%s", t->pid, m->path);
	bool root_ok = !stat(buf, &st) && same_file(&st, dev, ino);
	if (!root_ok) {
		char mf[96];
		snprintf(mf, sizeof(mf), "/proc/%d/map_files/%llx-%llx", t->pid, (unsigned long long)m->start,
			 (unsigned long long)m->end);
		if (!stat(mf, &st) && (uint64_t)st.st_ino == ino)
			snprintf(buf, sizeof(buf), "%s", mf);
	}
	m->file = strdup(buf);
	return m->file ? 0 : -1;
}

struct tli_error *tli_live_read_exe(struct tli_target *t)
{
	char link[64], target[PATH_MAX + 1];
	snprintf(link, sizeof(link), "/proc/%d/exe", t->pid);
	ssize_t k = readlink(link, target, PATH_MAX);
	if (k <= 0) {
		int e = errno;
		char comm[64] = "";
		if (e == ENOENT && tli_live_is_kernel_thread(t->pid, comm, sizeof(comm)))
			return tli_error_create(TLI_E_NOT_GO, "process %d (%s) is a kernel thread: it has no "
						"program or user memory to inspect", t->pid, comm);
		/* exiting since it was found: the link goes when the memory does, a moment before
		 * the last thread is a zombie; say so, not "pass --exe" (issue 15 item 4) */
		if (e == ENOENT && tli_live_process_gone(t->pid, 50))
			return tli_error_create(TLI_E_NO_TARGET, "no process with pid %d (it exited)", t->pid);
		return NULL; /* no permission: unknown */
	}
	target[k] = 0;
	/* the path is the target's; here it may be another file, or none (deleted, replaced by
	 * a deployment, in another mount namespace): then the link itself, that very inode */
	struct stat se, sh;
	bool same = !stat(link, &se) && !stat(target, &sh) && se.st_dev == sh.st_dev && se.st_ino == sh.st_ino &&
		    !access(target, R_OK);
	t->exe_path = strdup(same ? target : link);
	if (!t->exe_path)
		return &tli_enomem;
	if (!same && !(t->exe_name = strdup(target)))
		return &tli_enomem;
	return NULL;
}
