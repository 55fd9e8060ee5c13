/* SPDX-License-Identifier: MIT */
/**
 * @file reach.h
 * Internal (leaks): conservative reachability over the chunks of a walked heap.
 * Any 8-byte-aligned word that points into the user part of an in-use chunk
 * (interior pointers count) marks it; marked chunks are scanned in turn. Free
 * chunks (bins, fastbins, tcache) are never scanned.
 */
#ifndef TLI_GLIBC_REACH_H
#define TLI_GLIBC_REACH_H

#include "malloc.h"

struct tli_gl_region;

struct tli_gl_reach {
	struct tli_target *t;
	struct tli_gl_heap *h;
	const struct tli_gl_chunk *ch;  /**< h->chunks */
	size_t nch;
	uint8_t *mark;                  /**< per chunk of h->chunks: reached */
	uint32_t *work;                 /**< stack of chunk indexes to scan */
	size_t nwork, ncounted;
	uint64_t lo, hi;                /**< span of all regions */
	uint64_t scanned;               /**< bytes scanned */
	uint64_t nscans, dropped_at;    /**< scans; nscans when a core's in-place heap pages were last given back */
	struct tli_gl_region *reg;      /**< sorted by start, disjoint */
	size_t nreg;
	size_t last;                    /**< region of the previous lookup */
};

/** A chunk that can be reached and leaked: in use by the program (or mmapped). */
static inline bool tli_gl_reach_counts(const struct tli_gl_chunk *c)
{
	return c->kind == GLK_INUSE || c->kind == GLK_MMAPPED;
}

/** Set up over h (sorted chunks, fewer than UINT32_MAX); TLI_E_NOMEM on failure
 *  (then tli_gl_reach_free() is still needed). */
struct tli_error *tli_gl_reach_init(struct tli_gl_reach *k, struct tli_target *t, struct tli_gl_heap *h);
/** Give back the resident pages of heaps read in place from a core (no-op for copies). */
void tli_gl_reach_drop(struct tli_gl_reach *k);
/** Scan [a, e) of target memory (a root or a chunk): every word is a possible pointer. */
void tli_gl_reach_scan(struct tli_gl_reach *k, uint64_t a, uint64_t e);
/** One possible pointer (a register). */
void tli_gl_reach_value(struct tli_gl_reach *k, uint64_t v);
/** Scan the chunks marked so far, and those they mark, until none is left. */
void tli_gl_reach_drain(struct tli_gl_reach *k);
void tli_gl_reach_free(struct tli_gl_reach *k);

#endif
