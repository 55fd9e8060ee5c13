/* SPDX-License-Identifier: MIT */
/**
 * @file procmem.c
 * Bulk reads of a live process: process_vm_readv with many iovecs per call,
 * splitting around faults, and pread on /proc/PID/mem as a fallback when
 * process_vm_readv is refused (EPERM) or missing (ENOSYS). Never writes.
 */
#include "procmem.h"
#include "live_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif
#define PAGE 4096ull

void tli_procmem_init(struct tli_procmem *pm, int pid)
{
	memset(pm, 0, sizeof(*pm));
	pm->pid = pid;
	pm->memfd = -1;
	pm->mode = TLI_PROCMEM_AUTO;
}

void tli_procmem_close(struct tli_procmem *pm)
{
	if (pm->memfd >= 0)
		close(pm->memfd);
	pm->memfd = -1;
}

/* ---- /proc/PID/mem ---------------------------------------------------- */

static struct tli_error *memfile_open(struct tli_procmem *pm)
{
	if (pm->memfd >= 0)
		return NULL;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", pm->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ESRCH)
			return tli_error_errno(TLI_E_NO_TARGET, e, "process %d is gone (%s)", pm->pid, path);
		if (e == EACCES || e == EPERM)
			return tli_error_errno(TLI_E_PERM, e,
					       "may not read the memory of process %d (%s; check %s)",
					       pm->pid, path, tli_live_perm_checks());
		return tli_error_errno(TLI_E_FAULT, e, "cannot open %s", path);
	}
	pm->memfd = fd;
	return NULL;
}

static void memfile_read_one(struct tli_procmem *pm, struct tli_read *r)
{
	while (r->got < r->len) {
		uint64_t a = r->addr + r->got;
		if (a > (uint64_t)INT64_MAX) { /* off_t cannot express it: not user memory */
			r->err = EFAULT;
			return;
		}
		size_t want = r->len - r->got;
		if (want > (1u << 30))
			want = 1u << 30;
		pm->syscalls++;
		ssize_t k = pread(pm->memfd, (char *)r->buf + r->got, want, (off_t)a);
		if (k > 0) {
			r->got += (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		r->err = k == 0 ? EIO : errno;
		if (r->err == ENOMEM)
			tli_oom_note();
		return;
	}
}

static struct tli_error *memfile_read_many(struct tli_procmem *pm, struct tli_read *reads, size_t n)
{
	struct tli_error *err = memfile_open(pm);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if (reads[i].got < reads[i].len && !reads[i].err)
			memfile_read_one(pm, &reads[i]);
	return NULL;
}

/* ---- process_vm_readv ------------------------------------------------- */

/* One range, page by page from r->got on, until a page fails. */
static int vm_finish_pagewise(struct tli_procmem *pm, struct tli_read *r)
{
	while (r->got < r->len) {
		uint64_t a = r->addr + r->got;
		uint64_t to_page_end = PAGE - (a & (PAGE - 1));
		size_t want = r->len - r->got < to_page_end ? r->len - r->got : (size_t)to_page_end;
		struct iovec l = { (char *)r->buf + r->got, want };
		struct iovec rm = { (void *)(uintptr_t)a, want };
		pm->syscalls++;
		ssize_t k = process_vm_readv(pm->pid, &l, 1, &rm, 1, 0);
		if (k > 0) {
			r->got += (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		int e = k < 0 ? errno : EFAULT;
		if (e == EPERM || e == ENOSYS || e == ESRCH)
			return e; /* whole-call conditions, handled by the caller */
		if (e == ENOMEM)
			tli_oom_note(); /* not a hole in the target: the answer would be short */
		r->err = e;
		return 0;
	}
	return 0;
}

/*
 * Returns 0 when done (per-range results filled), or an errno that applies to
 * the whole process (EPERM/ENOSYS: switch to /proc/PID/mem; ESRCH: gone).
 */
static int vm_read_many(struct tli_procmem *pm, struct tli_read *reads, size_t n)
{
	struct iovec local[IOV_MAX], remote[IOV_MAX];
	size_t i = 0;
	while (i < n) {
		/* gather up to IOV_MAX pending ranges */
		size_t idx[IOV_MAX];
		size_t k = 0;
		for (size_t j = i; j < n && k < IOV_MAX; j++) {
			struct tli_read *r = &reads[j];
			if (r->got >= r->len || r->err)
				continue;
			if (r->addr + r->len < r->addr || r->len > (size_t)SSIZE_MAX / 2) {
				r->err = EFAULT;
				continue;
			}
			local[k].iov_base = (char *)r->buf + r->got;
			local[k].iov_len = r->len - r->got;
			remote[k].iov_base = (void *)(uintptr_t)(r->addr + r->got);
			remote[k].iov_len = r->len - r->got;
			idx[k++] = j;
		}
		if (!k)
			return 0;
		pm->syscalls++;
		ssize_t got = process_vm_readv(pm->pid, local, k, remote, k, 0);
		if (got < 0) {
			int e = errno;
			if (e == EINTR)
				continue;
			if (e == EPERM || e == ENOSYS || e == ESRCH)
				return e;
			got = 0; /* EFAULT/EIO/ENOMEM: the first iovec failed at once */
		}
		/* distribute the bytes over the iovecs in order */
		size_t used = (size_t)got, m = 0;
		for (; m < k; m++) {
			struct tli_read *r = &reads[idx[m]];
			size_t want = local[m].iov_len;
			if (used >= want) {
				r->got += want;
				used -= want;
				continue;
			}
			r->got += used;
			used = 0;
			break;
		}
		if (m == k) { /* everything in this batch was read */
			i = idx[k - 1] + 1;
			continue;
		}
		/* iovec m stopped short: keep its readable prefix, then go on after it */
		int e = vm_finish_pagewise(pm, &reads[idx[m]]);
		if (e)
			return e;
		i = idx[m] + 1;
	}
	return 0;
}

struct tli_error *tli_procmem_read_many(struct tli_procmem *pm, struct tli_read *reads, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		reads[i].got = 0;
		reads[i].err = 0;
	}
	if (pm->mode != TLI_PROCMEM_MEMFILE) {
		int e = vm_read_many(pm, reads, n);
		if (!e)
			return NULL;
		if (e == ESRCH)
			return tli_error_errno(TLI_E_NO_TARGET, e, "process %d is gone", pm->pid);
		if (pm->mode == TLI_PROCMEM_VM)
			return tli_error_errno(e == EPERM ? TLI_E_PERM : TLI_E_UNSUPPORTED, e,
					       "process_vm_readv on pid %d", pm->pid);
		pm->mode = TLI_PROCMEM_MEMFILE; /* EPERM/ENOSYS: fall back for good */
	}
	/* ranges already complete or failed keep their results */
	return memfile_read_many(pm, reads, n);
}
