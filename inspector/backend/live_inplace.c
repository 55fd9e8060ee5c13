/* SPDX-License-Identifier: MIT */
/**
 * @file live_inplace.c
 * --snapshot=fork: the frozen copy's memory seen in place, the way a core's PT_LOAD data is
 * (tli_target_mapped_ptr / tli_target_mapped_drop), so that the heap walkers read it in
 * bounded windows instead of copying the heap into our memory (issue 15 item 2).
 *
 * A view is an anonymous read-only mapping of the copy's mappings that hold the bytes asked
 * for, registered with userfaultfd: nothing is read until a page is touched. A server thread
 * then reads the block around it from the copy (/proc/PID/mem, see tli_live_inplace_new) and
 * puts it in place (UFFDIO_COPY). Residency is bounded here, not by the walkers: once the
 * window (resident_max: a quarter of the memory tlinspect may still use when the copy is
 * made, at least TLI_TARGET_IN_PLACE_RESIDENT) is filled, the oldest blocks are given back
 * (MADV_DONTNEED) and fault in again when touched. The copy is frozen, so a block read twice has the same bytes; a walker holding a
 * pointer into a view never sees a difference. Walkers may also give pages back themselves
 * (mapped_drop, as behind a core walk); while the window has room such drops are ignored
 * (the pages stay, so that a heap that fits is read once).
 *
 * The views take address space (RLIMIT_AS counts them) but only the window's bytes of memory;
 * they are PROT_READ, so RLIMIT_DATA does not count them. No userfaultfd (an old kernel, a
 * seccomp filter, vm.unprivileged_userfaultfd for a non-root user without UFFD_USER_MODE_ONLY):
 * no view, and the walkers copy as in copy mode.
 */
#include "live_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procmem.h"

#define PAGE 4096ull
#define BLOCK_MIN (16ull << 10)        /* bytes read for a fault away from the last one */
#define BLOCK (1ull << 20)             /* ... at most, when faults go on where the last ended */
#define MAX_VIEWS 4096
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

struct view {
	uint8_t *base;     /* our mapping */
	uint64_t addr;     /* the copy's address of base */
	uint64_t len;
};

struct tli_live_inplace {
	int child;
	int uffd;
	pthread_t server;
	bool running, start_failed;
	struct view views[MAX_VIEWS];
	_Atomic size_t nviews;       /* published after views[n] is filled (the server reads them) */
	/* the copy's own mappings (a fork leaves MADV_DONTFORK memory out): readable [a, b) */
	uint64_t (*cmaps)[2];
	size_t ncmaps;
	/* the server's: filled blocks in fill order, a ring */
	struct block { uint8_t *p; uint64_t len; } *ring;
	size_t ring_cap, ring_head, ring_n;
	_Atomic uint64_t resident;   /* filled by the server; read by walkers dropping pages */
	uint64_t resident_max;
	uint8_t *last_start, *last_end; /* the last block filled */
	uint64_t ra;                 /* its length: doubled while faults go on from there */
	struct tli_procmem pm;
	uint8_t *bounce;
	_Atomic int lost;            /* errno of a read of the copy that failed (0: none) */
	_Atomic uint64_t faults, bytes;
};

/* ---- the copy's mappings ---- */

static bool read_child_maps(struct tli_live_inplace *ip)
{
	char path[64], *text = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", ip->child);
	if (tli_live_read_proc_file(path, &text, &len))
		return false;
	size_t cap = 0;
	for (char *l = text; l && *l;) {
		char *nl = strchr(l, '\n');
		unsigned long long a, b;
		char perm[5];
		if (sscanf(l, "%llx-%llx %4s", &a, &b, perm) == 3 && perm[0] == 'r') {
			if (ip->ncmaps && ip->cmaps[ip->ncmaps - 1][1] == a) {
				ip->cmaps[ip->ncmaps - 1][1] = b; /* readable and touching: one run */
			} else {
				if (ip->ncmaps == cap) {
					cap = cap ? cap * 2 : 64;
					void *nv = realloc(ip->cmaps, cap * sizeof(*ip->cmaps));
					if (!nv)
						break;
					ip->cmaps = nv;
				}
				ip->cmaps[ip->ncmaps][0] = a;
				ip->cmaps[ip->ncmaps++][1] = b;
			}
		}
		l = nl ? nl + 1 : NULL;
	}
	free(text);
	return ip->ncmaps > 0;
}

/* The readable run of the copy holding [addr, addr+len), as [*a, *b); false if none. */
static bool child_run(const struct tli_live_inplace *ip, uint64_t addr, uint64_t len, uint64_t *a, uint64_t *b)
{
	for (size_t i = 0; i < ip->ncmaps; i++)
		if (addr >= ip->cmaps[i][0] && addr + len <= ip->cmaps[i][1]) {
			*a = ip->cmaps[i][0];
			*b = ip->cmaps[i][1];
			return true;
		}
	return false;
}

/* ---- the server thread ---- */

/* Give back the oldest blocks until `more` bytes fit. */
static void evict(struct tli_live_inplace *ip, uint64_t more)
{
	while (ip->ring_n && (ip->resident + more > ip->resident_max || ip->ring_n == ip->ring_cap)) {
		struct block *b = &ip->ring[ip->ring_head];
		madvise(b->p, b->len, MADV_DONTNEED);
		ip->resident -= b->len;
		ip->ring_head = (ip->ring_head + 1) % ip->ring_cap;
		ip->ring_n--;
	}
}

static void note_lost(struct tli_live_inplace *ip, int why)
{
	int zero = 0;
	atomic_compare_exchange_strong(&ip->lost, &zero, why);
}

/* Put [dst, dst+len) of view v in place from the bounce buffer; pages already there are
 * skipped. If the kernel cannot (ENOMEM: no page for it), the view is given up: unregistered,
 * which wakes the faulting thread, whose missing pages then read as zeros; the loss is noted
 * (the command then fails, live.c), so no thread ever waits for a page that cannot come. */
static void place(struct tli_live_inplace *ip, const struct view *v, uint8_t *dst, uint64_t len)
{
	uint64_t done = 0;
	int why = EAGAIN;
	for (int tries = 0; done < len && tries < 4096; tries++) {
		struct uffdio_copy c = { .dst = (uintptr_t)(dst + done), .src = (uintptr_t)(ip->bounce + done),
					 .len = len - done, .mode = 0 };
		if (!ioctl(ip->uffd, UFFDIO_COPY, &c))
			return;
		if (c.copy > 0)
			done += (uint64_t)c.copy;
		else if (errno == EEXIST)
			done += PAGE; /* that page is in place already (a walker dropped part of a block) */
		else if (errno != EAGAIN) {
			why = errno;
			break;
		}
	}
	if (done >= len)
		return;
	note_lost(ip, why);
	struct uffdio_range r = { .start = (uintptr_t)v->base, .len = v->len };
	ioctl(ip->uffd, UFFDIO_UNREGISTER, &r);
}

static void fill(struct tli_live_inplace *ip, uint64_t at)
{
	size_t n = atomic_load_explicit(&ip->nviews, memory_order_acquire);
	const struct view *v = NULL;
	for (size_t i = 0; i < n && !v; i++)
		if (at >= (uintptr_t)ip->views[i].base && at - (uintptr_t)ip->views[i].base < ip->views[i].len)
			v = &ip->views[i];
	if (!v)
		return; /* not ours: cannot happen */
	/* a fault reported again for a page already placed (the faulting thread retried before
	 * it was woken, e.g. for a signal): wake it, read nothing */
	unsigned char in = 0;
	uint8_t *fp = (uint8_t *)(uintptr_t)(at & ~(PAGE - 1));
	if (!mincore(fp, PAGE, &in) && (in & 1)) {
		struct uffdio_range r = { .start = (uintptr_t)fp, .len = PAGE };
		ioctl(ip->uffd, UFFDIO_WAKE, &r);
		return;
	}
	/* while the window has room for it, the aligned BLOCK around the fault: a heap that
	 * fits is read once, in few faults, whatever the order of the walk (1 GiB heap: 27k
	 * faults of ~37 KiB became ~1,500 of 1 MiB; 256 KiB blocks read 14 % less and took
	 * longer). Then like the kernel's readahead: a fault where the last block ended reads
	 * twice as much (a walk in address order), any other a small block (a list followed
	 * at random) */
	uint8_t *page = (uint8_t *)(uintptr_t)(at & ~(PAGE - 1));
	uint64_t off, len;
	if (ip->resident + BLOCK <= ip->resident_max) {
		ip->ra = BLOCK;
		off = (at - (uintptr_t)v->base) & ~(BLOCK - 1);
		len = v->len - off < BLOCK ? v->len - off : BLOCK;
	} else if (page == ip->last_end && ip->ra) {
		ip->ra = ip->ra * 2 > BLOCK ? BLOCK : ip->ra * 2;
		off = (uint64_t)(page - v->base);
		len = v->len - off < ip->ra ? v->len - off : ip->ra;
	} else if (page + PAGE == ip->last_start && ip->ra && page >= v->base) {
		/* going down (a list built by pushing at its head): the block below */
		ip->ra = ip->ra * 2 > BLOCK ? BLOCK : ip->ra * 2;
		uint64_t top = (uint64_t)(page - v->base) + PAGE;
		off = top > ip->ra ? top - ip->ra : 0;
		len = top - off;
	} else {
		ip->ra = BLOCK_MIN;
		off = (at - (uintptr_t)v->base) & ~(BLOCK_MIN - 1);
		len = v->len - off < ip->ra ? v->len - off : ip->ra;
	}
	evict(ip, len);
	struct tli_read r = { .addr = v->addr + off, .buf = ip->bounce, .len = len };
	struct tli_error *e = tli_procmem_read_many(&ip->pm, &r, 1);
	if (e || r.got < len) {
		/* the copy's maps said readable: it is gone (killed), or the kernel refused */
		int why = e ? (e->err_no ? e->err_no : ESRCH) : (r.err ? r.err : EFAULT);
		tli_error_destroy(e);
		note_lost(ip, why);
		memset(ip->bounce + r.got, 0, len - r.got);
	}
	place(ip, v, v->base + off, len);
	atomic_fetch_add(&ip->faults, 1);
	atomic_fetch_add(&ip->bytes, len);
	ip->ring[(ip->ring_head + ip->ring_n) % ip->ring_cap] = (struct block){ v->base + off, len };
	ip->ring_n++;
	ip->resident += len;
	ip->last_end = v->base + off + len;
	ip->last_start = v->base + off;
}

/* A blocking read per fault (no poll: a system call less each); ended by pthread_cancel. */
static void *serve(void *arg)
{
	struct tli_live_inplace *ip = arg;
	for (;;) {
		struct uffd_msg msg;
		ssize_t r = read(ip->uffd, &msg, sizeof(msg));
		if (r < 0 && errno != EINTR && errno != EAGAIN)
			break;
		if (r != (ssize_t)sizeof(msg))
			continue;
		int old;
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old); /* a fill is never cut short */
		if (msg.event == UFFD_EVENT_PAGEFAULT)
			fill(ip, msg.arg.pagefault.address);
		pthread_setcancelstate(old, NULL);
	}
	return NULL;
}

/* ---- views ---- */

static int open_uffd(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (fd < 0 && errno == EINVAL) /* before Linux 5.11 */
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	if (ioctl(fd, UFFDIO_API, &api)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The server: started at the first view. False if userfaultfd cannot be had. */
#define RING_MAX (1u << 20) /* blocks tracked at most (16 GiB of the smallest): then evict() makes room */
static bool start(struct tli_live_inplace *ip)
{
	if (ip->running)
		return true;
	if (ip->start_failed) /* once: a retry would re-read the maps over the first attempt's */
		return false;
	ip->start_failed = true;
	uint64_t nring = ip->resident_max / BLOCK_MIN + 1;
	ip->ring_cap = nring < RING_MAX ? (size_t)nring : RING_MAX;
	ip->ring = calloc(ip->ring_cap, sizeof(*ip->ring));
	ip->bounce = malloc(BLOCK);
	if (!ip->ring || !ip->bounce || !read_child_maps(ip))
		return false;
	if ((ip->uffd = open_uffd()) < 0)
		return false;
	/* every signal blocked in the server: they are the main thread's (the guard) */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ip->running = !pthread_create(&ip->server, NULL, serve, ip);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ip->start_failed = !ip->running;
	return ip->running;
}

struct tli_live_inplace *tli_live_inplace_new(int child, uint64_t resident_max)
{
	struct tli_live_inplace *ip = calloc(1, sizeof(*ip));
	if (!ip)
		return NULL;
	ip->child = child;
	ip->uffd = -1;
	ip->resident_max = resident_max < 4 * BLOCK ? 4 * BLOCK : resident_max;
	tli_procmem_init(&ip->pm, child);
	/* /proc/PID/mem, not process_vm_readv: the latter pins the pages it reads, and a pin of
	 * a page the copy shares with the process copies it (the kernel's COW unsharing), so
	 * reading the whole heap would make the copy a second heap in the host's memory */
	ip->pm.mode = TLI_PROCMEM_MEMFILE;
	return ip;
}

const void *tli_live_inplace_ptr(struct tli_live_inplace *ip, uint64_t addr, uint64_t len)
{
	if (!ip || !len || addr + len < addr)
		return NULL;
	size_t n = atomic_load_explicit(&ip->nviews, memory_order_acquire);
	for (size_t i = 0; i < n; i++) {
		const struct view *v = &ip->views[i];
		if (addr >= v->addr && addr + len <= v->addr + v->len)
			return v->base + (addr - v->addr);
	}
	if (n >= MAX_VIEWS || (!ip->running && !start(ip)))
		return NULL;
	uint64_t a, b;
	if (!child_run(ip, addr, len, &a, &b))
		return NULL;
	void *m = mmap(NULL, b - a, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	struct uffdio_register reg = { .range = { .start = (uintptr_t)m, .len = b - a },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	if (ioctl(ip->uffd, UFFDIO_REGISTER, &reg)) {
		munmap(m, b - a);
		return NULL;
	}
	ip->views[n] = (struct view){ m, a, b - a };
	atomic_store_explicit(&ip->nviews, n + 1, memory_order_release);
	return (uint8_t *)m + (addr - a);
}

void tli_live_inplace_drop(struct tli_live_inplace *ip, const void *p, uint64_t len)
{
	/* while the window has room, pages stay: a walker that gives its pages back behind it
	 * (as behind a core walk) and touches them again later would have them read again,
	 * a whole block each time (glibc leaks on a 250 MB heap: 2.1 GB read instead of 0.6) */
	if (!ip || atomic_load(&ip->resident) + BLOCK <= ip->resident_max)
		return;
	uint64_t a = ((uintptr_t)p + PAGE - 1) & ~(PAGE - 1), b = ((uintptr_t)p + len) & ~(PAGE - 1);
	if (b > a)
		madvise((void *)(uintptr_t)a, b - a, MADV_DONTNEED);
}

bool tli_live_inplace_used(const struct tli_live_inplace *ip)
{
	return ip && atomic_load(&ip->nviews) > 0;
}

int tli_live_inplace_lost(const struct tli_live_inplace *ip)
{
	return ip ? atomic_load(&ip->lost) : 0;
}

uint64_t tli_live_inplace_faults(const struct tli_live_inplace *ip)
{
	return ip ? atomic_load(&ip->faults) : 0;
}

uint64_t tli_live_inplace_bytes(const struct tli_live_inplace *ip)
{
	return ip ? atomic_load(&ip->bytes) : 0;
}

void tli_live_inplace_free(struct tli_live_inplace *ip)
{
	if (!ip)
		return;
	if (ip->running) { /* waiting in read(), or finishing a fill with cancellation off */
		pthread_cancel(ip->server);
		pthread_join(ip->server, NULL);
	}
	size_t n = atomic_load(&ip->nviews);
	for (size_t i = 0; i < n; i++)
		munmap(ip->views[i].base, ip->views[i].len);
	if (ip->uffd >= 0)
		close(ip->uffd);
	tli_procmem_close(&ip->pm);
	free(ip->cmaps);
	free(ip->ring);
	free(ip->bounce);
	free(ip);
}
