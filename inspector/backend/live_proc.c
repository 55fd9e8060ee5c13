/* SPDX-License-Identifier: MIT */
/**
 * @file live_proc.c
 * What the live backend reads from /proc: whole files, thread states and
 * TracerPid, the thread list, the mappings (/proc/PID/maps), AT_ENTRY/AT_PHDR
 * (/proc/PID/auxv) and the executable (/proc/PID/exe). Layouts: proc(5).
 */
#include "live_int.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PROC_FILE (256u << 20)

/* Read a whole /proc file (they report size 0). Returns 0 or errno. */
int tli_live_read_proc_file(const char *path, char **ret, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return ENOMEM;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= MAX_PROC_FILE)
				break;
			cap *= 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				close(fd);
				return ENOMEM;
			}
			buf = nb;
		}
		ssize_t k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return e;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = 0;
	*ret = buf;
	*len = n;
	return 0;
}

/* State letter of /proc/PID/task/TID/stat, 0 if unreadable. */
char tli_live_thread_state(int pid, int tid)
{
	char path[96], *buf;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	if (tli_live_read_proc_file(path, &buf, &len))
		return 0;
	char *p = strrchr(buf, ')');
	char st = (p && p[1] == ' ' && p[2]) ? p[2] : 0;
	free(buf);
	return st;
}

/* TracerPid of a process or thread status file, -1 if unknown. */
int tli_live_tracer_pid(const char *status_path)
{
	char *buf;
	size_t len;
	if (tli_live_read_proc_file(status_path, &buf, &len))
		return -1;
	int tp = -1;
	char *p = strstr(buf, "\nTracerPid:");
	if (p)
		tp = atoi(p + 11);
	free(buf);
	return tp;
}

int tli_live_int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Thread ids of pid, sorted. Returns 0 or errno. */
int tli_live_list_tasks(int pid, int **ret, size_t *n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return errno;
	size_t cap = 16, k = 0;
	int *v = malloc(cap * sizeof(*v));
	if (!v) {
		closedir(d);
		return ENOMEM;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);
		if (*end || tid <= 0 || tid > INT_MAX)
			continue;
		if (k == cap) {
			if (cap > (1u << 22))
				break;
			cap *= 2;
			int *nv = realloc(v, cap * sizeof(*nv));
			if (!nv) {
				free(v);
				closedir(d);
				return ENOMEM;
			}
			v = nv;
		}
		v[k++] = (int)tid;
	}
	closedir(d);
	qsort(v, k, sizeof(*v), tli_live_int_cmp);
	*ret = v;
	*n = k;
	return 0;
}

static int map_cmp(const void *a, const void *b)
{
	const struct tli_mapping *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

struct tli_error *tli_live_parse_maps(struct tli_target *t)
{
	char path[64], *buf;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	int e = tli_live_read_proc_file(path, &buf, &len);
	if (e == EACCES || e == EPERM)
		return tli_error_errno(TLI_E_PERM, e,
				       "may not inspect process %d (reading %s); check %s "
				       "and that the target runs as your user", t->pid, path, tli_live_perm_checks());
	if (e == ENOENT || e == ESRCH)
		return tli_error_create(TLI_E_NO_TARGET, "no process with pid %d", t->pid);
	if (e)
		return tli_error_errno(TLI_E_INTERNAL, e, "cannot read %s", path);
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	t->maps = calloc(lines + 1, sizeof(*t->maps));
	if (!t->maps) {
		free(buf);
		return &tli_enomem;
	}
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = line, *end;
		uint64_t start = strtoull(p, &end, 16);
		if (*end != '-')
			continue;
		uint64_t stop = strtoull(end + 1, &end, 16);
		if (*end != ' ' || stop <= start)
			continue;
		p = end + 1;
		char perms[5] = { 0 };
		for (int i = 0; i < 4 && *p && *p != ' '; i++)
			perms[i] = *p++;
		uint64_t off = strtoull(p, &end, 16);
		/* device (hex major:minor) and inode: which file, whatever its path says here */
		unsigned dmaj = (unsigned)strtoul(end, &p, 16), dmin = 0;
		if (*p == ':')
			dmin = (unsigned)strtoul(p + 1, &p, 16);
		uint64_t ino = strtoull(p, &p, 10);
		while (*p == ' ')
			p++;
		struct tli_mapping *m = &t->maps[t->nmaps];
		m->start = start;
		m->end = stop;
		m->offset = off;
		m->prot = (perms[0] == 'r' ? TLI_PROT_R : 0) | (perms[1] == 'w' ? TLI_PROT_W : 0) |
			  (perms[2] == 'x' ? TLI_PROT_X : 0);
		if (*p) {
			m->path = strdup(p);
			if (!m->path || tli_live_map_file(t, m, dmaj, dmin, ino)) {
				free(buf);
				return &tli_enomem;
			}
		}
		t->nmaps++;
	}
	free(buf);
	qsort(t->maps, t->nmaps, sizeof(*t->maps), map_cmp);
	return NULL;
}

void tli_live_read_auxv(struct tli_target *t)
{
	char path[64], *buf;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/auxv", t->pid);
	if (tli_live_read_proc_file(path, &buf, &len))
		return;
	for (size_t off = 0; off + 16 <= len; off += 16) {
		uint64_t k, v;
		memcpy(&k, buf + off, 8);
		memcpy(&v, buf + off + 8, 8);
		if (k == AT_NULL)
			break;
		if (k == AT_ENTRY)
			t->at_entry = v;
		else if (k == AT_PHDR)
			t->at_phdr = v;
	}
	free(buf);
}

/* No thread of the process is left but zombies (or /proc has no entry). A zombie leader
 * alone is not enough: its other threads may run on after pthread_exit. */
static bool process_gone(int pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT || errno == ESRCH;
	bool gone = true;
	struct dirent *de;
	while (gone && (de = readdir(d))) {
		int tid = atoi(de->d_name);
		if (tid <= 0)
			continue;
		char st = tli_live_thread_state(pid, tid);
		if (st && st != 'Z' && st != 'X')
			gone = false;
	}
	closedir(d);
	return gone;
}

bool tli_live_process_gone(int pid, int wait_ms)
{
	for (int i = 0;; i++) {
		if (process_gone(pid))
			return true;
		if (i >= wait_ms)
			return false;
		usleep(1000); /* exiting: its memory (and /proc/PID/exe) goes before its threads do */
	}
}

/* A kernel thread (PF_KTHREAD in the flags, field 9 of /proc/PID/stat) has no executable and
 * no user memory: say so rather than "pass --exe". */
bool tli_live_is_kernel_thread(int pid, char *comm, size_t commsz)
{
	char path[64], *buf = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (tli_live_read_proc_file(path, &buf, &len))
		return false;
	bool kthread = false;
	char *open_p = memchr(buf, '(', len), *close_p = buf + len;
	while (close_p > buf && close_p[-1] != ')')
		close_p--;
	if (open_p && close_p > open_p + 1) {
		snprintf(comm, commsz, "%.*s", (int)(close_p - 1 - open_p - 1), open_p + 1);
		unsigned long flags = 0;
		/* after ") ": state ppid pgrp session tty_nr tpgid flags */
		if (sscanf(close_p, " %*c %*d %*d %*d %*d %*d %lu", &flags) == 1)
			kthread = (flags & 0x00200000ul) != 0; /* PF_KTHREAD */
	}
	free(buf);
	return kthread;
}

const char *tli_live_perm_checks(void)
{
	return access("/proc/sys/kernel/yama/ptrace_scope", F_OK) == 0
		? "/proc/sys/kernel/yama/ptrace_scope, the CAP_SYS_PTRACE capability"
		: "the CAP_SYS_PTRACE capability";
}
