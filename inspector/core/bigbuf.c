/* SPDX-License-Identifier: MIT */
/* Large buffers (core/bigbuf.h). */
#include "bigbuf.h"

#include <stdint.h>
#include <sys/mman.h>

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
