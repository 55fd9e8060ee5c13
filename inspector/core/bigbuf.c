/* SPDX-License-Identifier: MIT */
/* Large buffers (core/bigbuf.h). */
#include "bigbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Huge pages: here (a paravirtualized guest) TLB misses on 4 KiB pages make copying
 * into the capture and walking it several times slower. */
void *tli_big_alloc_lazy(size_t len)
{
	void *m = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	if (len >= (2u << 20))
		madvise(m, len, MADV_HUGEPAGE);
#endif
	return m;
}

void tli_big_populate(void *m, size_t len)
{
	if (madvise(m, len, MADV_POPULATE_WRITE) != 0) {
		/* older kernels: touch every page */
		for (size_t off = 0; off < len; off += 4096)
			((volatile char *)m)[off] = 0;
	}
}

void *tli_big_alloc(size_t len)
{
	void *m = tli_big_alloc_lazy(len);
	if (m)
		tli_big_populate(m, len ? len : 1);
	return m;
}

void tli_big_free(void *p, size_t len)
{
	if (p)
		munmap(p, len ? len : 1);
}

#define HEAP_BLOCK (16u << 20) /* below the mmap threshold set here: these come from the heap */

/* Fault in a heap block: its whole 2 MiB pieces as huge pages (one fault each instead of
 * 512, and fewer TLB misses for the arrays later carved from it while the target is
 * stopped), in one call where the kernel has MADV_POPULATE_WRITE. */
static void prefault_block(char *b, size_t len)
{
	uintptr_t lo = ((uintptr_t)b + 4095) & ~(uintptr_t)4095, hi = ((uintptr_t)b + len) & ~(uintptr_t)4095;
#ifdef MADV_HUGEPAGE
	uintptr_t hlo = ((uintptr_t)b + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1);
	uintptr_t hhi = ((uintptr_t)b + len) & ~(uintptr_t)((2u << 20) - 1);
	if (hhi > hlo)
		madvise((void *)hlo, hhi - hlo, MADV_HUGEPAGE);
#endif
	if (hi <= lo || madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE) != 0)
		for (size_t off = 0; off < len; off += 4096)
			((volatile char *)b)[off] = 0;
}

void tli_heap_prefault(size_t bytes)
{
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
	static int tuned;
	if (!tuned) {
		/* large blocks from the heap too (not fresh mappings), and freed memory kept */
		mallopt(M_MMAP_THRESHOLD, 32 << 20);
		mallopt(M_TRIM_THRESHOLD, 1 << 30);
		tuned = 1;
	}
	size_t n = (bytes + HEAP_BLOCK - 1) / HEAP_BLOCK;
	if (n > 64)
		n = 64; /* 1 GiB at most */
	size_t len = n > 1 ? HEAP_BLOCK : bytes; /* a small target: no 16 MiB */
	void *blocks[64];
	size_t k = 0;
	for (; k < n; k++) {
		char *b = malloc(len);
		if (!b)
			break;
		prefault_block(b, len);
		blocks[k] = b;
	}
	/* freed in reverse: they merge into the top of the heap, which is not trimmed */
	while (k)
		free(blocks[--k]);
#else
	(void)bytes;
#endif
}
