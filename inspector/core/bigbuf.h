/* SPDX-License-Identifier: MIT */
/**
 * @file bigbuf.h
 * Large buffers (captures, heap copies, mark bitmaps): anonymous mappings with
 * transparent huge pages, because page faults and TLB misses on fresh 4 KiB pages
 * are a large part of a stop and of a heap walk otherwise. One allocator for all.
 */
#ifndef TLI_CORE_BIGBUF_H
#define TLI_CORE_BIGBUF_H

#include <stddef.h>

/** A zeroed buffer, pre-faulted (no page fault on first touch). NULL on failure. */
void *tli_big_alloc(size_t len);
/** A zeroed buffer faulted in on first touch (written once, e.g. a heap copy). NULL on failure. */
void *tli_big_alloc_lazy(size_t len);
/** Fault in [m, m+len) now (MADV_POPULATE_WRITE, or touching every page on older kernels). */
void tli_big_populate(void *m, size_t len);
/** Free a buffer of either kind (len as allocated). Safe on NULL. */
void tli_big_free(void *p, size_t len);
/**
 * Fault in `bytes` of malloc's heap now and keep them for later allocations: called
 * before a stop, so that the many ordinary allocations of a capture (arrays per
 * goroutine, sudog buffers) take pages already faulted in instead of zeroing fresh
 * ones while the target is stopped. glibc only (allocations below 32 MiB then come
 * from the heap, and freed heap memory is kept); elsewhere a no-op.
 */
void tli_heap_prefault(size_t bytes);

#endif
