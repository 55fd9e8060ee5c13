/* SPDX-License-Identifier: MIT */
/**
 * @file pagecache.h
 * Small scattered reads (sudogs, list nodes) served from whole pages.
 *
 * process_vm_readv costs about the same per iovec whether it copies 88 bytes or
 * a page, and a pointer chase costs a system call per step. Objects of one size
 * class sit side by side in spans, so reading the pages that hold them, once,
 * turns 100k tiny iovecs (or 20k one-iovec calls along a list) into a few
 * thousand page runs: this is what keeps such walks short while the target is
 * stopped. A read whose pages are not all readable is retried exactly through
 * tli_target_read_many, so callers see the same got/err as without the cache.
 */
#ifndef TLI_CORE_PAGECACHE_H
#define TLI_CORE_PAGECACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/hash.h"
#include "core/target.h"

struct tli_pagecache {
	struct tli_u64map idx;   /**< page address -> (slot << 1 | readable) + 1 */
	unsigned char **chunks;  /**< page memory, PAGECACHE_CHUNK bytes each (a run may take a larger one) */
	size_t nchunks;
	size_t used;             /**< bytes used in the last chunk */
	size_t last_len;         /**< size of the last chunk */
	unsigned char **pages;   /**< slot -> the page's copy */
	size_t npages, cap;
	uint64_t limit;          /**< pages cached at most (then reads go exact) */
};

/** An empty cache holding at most max_bytes of pages (0: a default of 256 MiB). */
void tli_pagecache_init(struct tli_pagecache *pc, uint64_t max_bytes);
/** Like tli_target_read_many (same got/err per read), through the cache. */
struct tli_error *tli_pagecache_read_many(struct tli_pagecache *pc, struct tli_target *t, struct tli_read *reads,
					  size_t n);
void tli_pagecache_free(struct tli_pagecache *pc);

#endif
