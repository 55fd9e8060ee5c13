/* SPDX-License-Identifier: MIT */
/* Small scattered reads served from whole pages (see pagecache.h). */
#include "pagecache.h"

#include <stdlib.h>
#include <string.h>

#define PC_PAGE      4096ull
#define PC_CHUNK     (1u << 20)
#define PC_DEFAULT   (256ull << 20)
#define PC_MAX_READ  (64u << 10)   /* larger reads go exact: they gain nothing from pages */

void tli_pagecache_init(struct tli_pagecache *pc, uint64_t max_bytes)
{
	memset(pc, 0, sizeof(*pc));
	pc->limit = (max_bytes ? max_bytes : PC_DEFAULT) / PC_PAGE;
}

void tli_pagecache_free(struct tli_pagecache *pc)
{
	for (size_t i = 0; i < pc->nchunks; i++)
		free(pc->chunks[i]);
	free(pc->chunks);
	free(pc->pages);
	tli_u64map_free(&pc->idx);
	memset(pc, 0, sizeof(*pc));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Memory for a run of npages contiguous pages. */
static unsigned char *run_memory(struct tli_pagecache *pc, size_t npages)
{
	size_t len = npages * PC_PAGE;
	if (pc->nchunks && pc->used + len <= pc->last_len) {
		unsigned char *p = pc->chunks[pc->nchunks - 1] + pc->used;
		pc->used += len;
		return p;
	}
	size_t clen = len > PC_CHUNK ? len : PC_CHUNK;
	unsigned char **nc = realloc(pc->chunks, (pc->nchunks + 1) * sizeof(*nc));
	if (!nc)
		return NULL;
	pc->chunks = nc;
	unsigned char *m = malloc(clen);
	if (!m)
		return NULL;
	pc->chunks[pc->nchunks++] = m;
	pc->last_len = clen;
	pc->used = len;
	return m;
}

static bool add_page(struct tli_pagecache *pc, uint64_t page, unsigned char *mem, bool readable)
{
	if (pc->npages == pc->cap) {
		size_t nc = pc->cap ? pc->cap * 2 : 256;
		unsigned char **np = realloc(pc->pages, nc * sizeof(*np));
		if (!np)
			return false;
		pc->pages = np;
		pc->cap = nc;
	}
	pc->pages[pc->npages] = mem;
	if (!tli_u64map_put(&pc->idx, page, ((uint64_t)pc->npages << 1 | readable) + 1))
		return false;
	pc->npages++;
	return true;
}

/* The page's copy, or NULL if it is not cached or not readable. */
static const unsigned char *page_of(const struct tli_pagecache *pc, uint64_t page)
{
	uint64_t v = tli_u64map_get(&pc->idx, page);
	if (!v || !((v - 1) & 1))
		return NULL;
	return pc->pages[(v - 1) >> 1];
}

/* Is read r worth serving from pages (small, no wrap, page 0 excluded)? */
static bool pageable(const struct tli_read *r)
{
	return r->len && r->len <= PC_MAX_READ && r->addr >= PC_PAGE && r->addr + r->len > r->addr;
}

/* Read the pages in want[0..nw) (sorted, distinct) in runs of neighbours; one call. */
static struct tli_error *fetch(struct tli_pagecache *pc, struct tli_target *t, const uint64_t *want, size_t nw)
{
	struct tli_read *rs = calloc(nw, sizeof(*rs));
	if (!rs)
		return &tli_enomem;
	size_t nr = 0;
	for (size_t i = 0; i < nw;) {
		size_t j = i + 1;
		while (j < nw && want[j] == want[j - 1] + PC_PAGE && j - i < PC_CHUNK / PC_PAGE)
			j++;
		unsigned char *m = run_memory(pc, j - i);
		if (!m) {
			free(rs);
			return &tli_enomem;
		}
		rs[nr++] = (struct tli_read){ .addr = want[i], .buf = m, .len = (j - i) * PC_PAGE };
		i = j;
	}
	struct tli_error *err = tli_target_read_many(t, rs, nr);
	for (size_t k = 0; !err && k < nr; k++)
		for (uint64_t off = 0; off < rs[k].len; off += PC_PAGE)
			if (!add_page(pc, rs[k].addr + off, (unsigned char *)rs[k].buf + off,
				      rs[k].got >= off + PC_PAGE)) {
				err = &tli_enomem;
				break;
			}
	free(rs);
	return err;
}

/* The pages the reads need that are not cached yet (*ret, sorted, distinct). */
static struct tli_error *missing_pages(struct tli_pagecache *pc, const struct tli_read *reads, size_t n,
				       uint64_t **ret, size_t *nret)
{
	size_t cap = 0, nw = 0;
	uint64_t *want = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!pageable(&reads[i]))
			continue;
		uint64_t first = reads[i].addr & ~(PC_PAGE - 1), last = (reads[i].addr + reads[i].len - 1) & ~(PC_PAGE - 1);
		for (uint64_t p = first; p <= last; p += PC_PAGE) {
			/* neighbouring reads share pages: skip the page just wanted without a lookup */
			if ((nw && want[nw - 1] == p) || tli_u64map_get(&pc->idx, p))
				continue;
			if (pc->npages + nw >= pc->limit)
				goto done; /* full: the rest is read exactly */
			if (nw == cap) {
				cap = cap ? cap * 2 : 64;
				uint64_t *nv = realloc(want, cap * sizeof(*nv));
				if (!nv) {
					free(want);
					return &tli_enomem;
				}
				want = nv;
			}
			want[nw++] = p;
		}
	}
done:
	if (nw)
		qsort(want, nw, sizeof(*want), cmp_u64);
	size_t u = 0;
	for (size_t i = 0; i < nw; i++)
		if (!u || want[u - 1] != want[i])
			want[u++] = want[i];
	*ret = want;
	*nret = u;
	return NULL;
}

/* Copy read r out of the cache; false if a page of it is missing or unreadable. */
static bool serve(const struct tli_pagecache *pc, struct tli_read *r)
{
	if (!pageable(r))
		return false;
	size_t done = 0;
	while (done < r->len) {
		uint64_t a = r->addr + done, page = a & ~(PC_PAGE - 1);
		const unsigned char *p = page_of(pc, page);
		if (!p)
			return false;
		size_t take = PC_PAGE - (a - page);
		if (take > r->len - done)
			take = r->len - done;
		memcpy((unsigned char *)r->buf + done, p + (a - page), take);
		done += take;
	}
	r->got = r->len;
	r->err = 0;
	return true;
}

struct tli_error *tli_pagecache_read_many(struct tli_pagecache *pc, struct tli_target *t, struct tli_read *reads,
					  size_t n)
{
	uint64_t *want = NULL;
	size_t nw = 0;
	struct tli_error *err = missing_pages(pc, reads, n, &want, &nw);
	if (!err && nw)
		err = fetch(pc, t, want, nw);
	free(want);
	if (err)
		return err;
	/* the reads the pages cannot serve (unreadable pages, large reads) are read exactly */
	struct tli_read *rest = NULL;
	size_t *at = NULL, nrest = 0;
	for (size_t i = 0; i < n; i++) {
		if (serve(pc, &reads[i]))
			continue;
		if (!rest) {
			rest = malloc(n * sizeof(*rest));
			at = malloc(n * sizeof(*at));
			if (!rest || !at) {
				free(rest);
				free(at);
				return &tli_enomem;
			}
		}
		rest[nrest] = reads[i];
		at[nrest++] = i;
	}
	if (nrest) {
		err = tli_target_read_many(t, rest, nrest);
		for (size_t k = 0; !err && k < nrest; k++) {
			reads[at[k]].got = rest[k].got;
			reads[at[k]].err = rest[k].err;
		}
	}
	free(rest);
	free(at);
	return err;
}
