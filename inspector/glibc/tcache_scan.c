/* SPDX-License-Identifier: MIT */
/*
 * Tcaches found by their content, for threads whose thread pointer is unknown.
 *
 * A thread's tcache is found through its thread pointer (the `tcache` TLS variable:
 * libc.c). qemu-user's arm64 cores carry no NT_ARM_TLS, and cores of other tools may
 * lack the thread pointer too: then the chunks sitting in those tcaches would count
 * as in use. But every tcache_perthread_struct is itself a chunk in an arena (the
 * first allocation of its thread: tcache_init), of the size request2size(sizeof
 * (tcache_perthread_struct)), and what it holds is checkable to the last entry:
 *   - counts[b] <= mp_.tcache_count, and entries[b] == NULL exactly when counts[b] == 0;
 *   - entries[b] and the counts[b] - 1 entries its next links lead to (revealed with
 *     safe-linking on or off: a list decides which, its last link must end at NULL)
 *     are user pointers of chunks in an arena heap of bin b's chunk size, each once;
 *   - at least one entry (an empty tcache holds nothing to find, and an all-zero
 *     program object of that size would look like one).
 * A chunk that passes all of it is taken for a tcache whose owner thread is unknown
 * (tid 0, found_by "content"); the ordinary walk of tli_gl_walk_tcache then takes its
 * entries as tcache chunks. Bounded: headers of the heap segments only, at most
 * MAX_FOUND tcaches, lists no longer than their counts, BUDGET entries in all.
 */
#include "walk.h"

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"

#define MAX_FOUND 1024u
#define MAX_TCACHE_COUNT 65535u   /* counts are uint16_t (MAX_TCACHE_COUNT in malloc.c) */
#define BUDGET (1u << 20)         /* list entries followed over all candidates (crafted cores) */

/* bin b's list from e under safe-linking mode sl: exactly n entries of the right size, ending at NULL */
static bool list_ok(const struct walk *w, uint32_t b, uint64_t e, uint64_t n, int sl, uint64_t *seen, size_t *nseen,
		    size_t cap, uint64_t *budget)
{
	const struct tli_gl_layout *L = w->L;
	for (uint64_t k = 0; k < n; k++) {
		if (!*budget)
			return false;
		--*budget;
		uint64_t c = tli_gl_mem2chunk(e), size = 0, raw = 0;
		if (!e || tli_gl_misaligned(e) || !tli_gl_seg_of(w, c) || !tli_gl_rd64(w, c + L->mc_size, &size) ||
		    tli_gl_chunksize(size) != tli_gl_tidx2csize(b))
			return false;
		for (size_t i = 0; i < *nseen; i++)
			if (seen[i] == c)
				return false; /* a cycle, or a chunk in two lists */
		if (*nseen < cap)
			seen[(*nseen)++] = c;
		if (!tli_gl_rd64(w, e + L->te_next, &raw))
			return false;
		e = sl ? tli_gl_reveal_ptr(e + L->te_next, raw) : raw;
	}
	return e == 0;
}

/* the user pointer mem looks like a tcache_perthread_struct with at least one entry */
static bool looks_like_tcache(const struct walk *w, uint64_t mem, uint64_t *budget)
{
	const struct tli_gl_layout *L = w->L;
	uint8_t buf[TLI_GL_MAX_TCACHE_SIZE];
	uint64_t maxcount = w->h->tcache_count ? w->h->tcache_count : 7; /* glibc's default when mp_ is unread */
	if (maxcount > MAX_TCACHE_COUNT)
		maxcount = MAX_TCACHE_COUNT;
	if (L->tc_size > sizeof(buf) || !tli_gl_rd(w, mem, buf, L->tc_size))
		return false;
	uint64_t total = 0;
	for (uint32_t b = 0; b < L->tc_nbins && b < TLI_GL_MAX_TCACHE_BINS; b++) {
		uint64_t n = tli_rdn(buf + L->tc_counts + (uint64_t)b * L->tc_count_width, L->tc_count_width);
		uint64_t e = tli_rd64(buf + L->tc_entries + 8ull * b);
		if (n > maxcount || (n == 0) != (e == 0))
			return false;
		if (!n)
			continue;
		uint64_t seen[64];
		size_t nseen = 0;
		if (!list_ok(w, b, e, n, 1, seen, &nseen, 64, budget)) {
			nseen = 0;
			if (!list_ok(w, b, e, n, 0, seen, &nseen, 64, budget))
				return false;
		}
		total += n;
	}
	return total > 0;
}

/* a thread without its tcache pointer: no thread pointer, or no TLS offset of `tcache` */
static bool some_tcache_unknown(const struct tli_gl_heap *h)
{
	for (size_t i = 0; i < h->ntc; i++)
		if (!h->tc[i].ptr && (!h->tc[i].tp || !h->tc[i].slot))
			return true;
	return false;
}

static bool known(const struct tli_gl_heap *h, uint64_t mem)
{
	for (size_t i = 0; i < h->ntc; i++)
		if (h->tc[i].ptr == mem)
			return true;
	return false;
}

static bool add(struct tli_gl_heap *h, uint64_t mem)
{
	struct tli_gl_tcache *tc = realloc(h->tc, (h->ntc + 1) * sizeof(*tc));
	if (!tc)
		return false;
	h->tc = tc;
	memset(&tc[h->ntc], 0, sizeof(*tc));
	tc[h->ntc].ptr = mem;
	tc[h->ntc].by_content = true;
	h->ntc++;
	return true;
}

/* the allocated chunks of one heap segment (headers only) that hold a tcache */
static void scan_seg(struct walk *w, const struct segref *sr, uint64_t csize, unsigned *found, uint64_t *budget)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	const uint64_t top = h->arenas[sr->arena].top;
	for (uint64_t p = sr->start, raw = 0; p + TLI_GL_CHUNK_HDR_SZ <= sr->end && p != top; p += tli_gl_chunksize(raw)) {
		if (!tli_gl_rd64(w, p + L->mc_size, &raw))
			return;
		uint64_t sz = tli_gl_chunksize(raw), next = 0;
		if (sz < TLI_GL_CHUNK_HDR_SZ || tli_gl_misaligned(sz) || p + sz > sr->end)
			return; /* the walk proper names what is wrong */
		if (sz != csize || !tli_gl_rd64(w, p + sz + L->mc_size, &next) || !(next & TLI_GL_PREV_INUSE))
			continue;
		uint64_t mem = p + TLI_GL_CHUNK_HDR_SZ;
		if (*found < MAX_FOUND && !known(h, mem) && looks_like_tcache(w, mem, budget) && add(h, mem))
			(*found)++;
	}
}

void tli_gl_find_tcaches_by_content(struct walk *w)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	if (!L->has_tcache || !L->tc_size || !some_tcache_unknown(h))
		return;
	uint64_t csize = tli_gl_align_up(L->tc_size + TLI_GL_SIZE_SZ); /* request2size */
	if (csize < TLI_GL_MINSIZE)
		csize = TLI_GL_MINSIZE;
	unsigned found = 0;
	uint64_t budget = BUDGET;
	for (size_t k = 0; k < w->nsegs; k++)
		scan_seg(w, &w->segs[k], csize, &found, &budget);
}
