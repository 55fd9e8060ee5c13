/* SPDX-License-Identifier: MIT */
/**
 * @file pages_request.c
 * The page request of the page-request backend: after a command, the pages it
 * missed become DIR/request.gdb (gdb's `dump binary memory` commands, one per
 * run of consecutive pages inside one mapping) and are added to DIR/requested.
 */
#include "pages_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int u64cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Sort the missed pages and drop the repeats. */
static void unique_misses(struct page_vec *miss)
{
	qsort(miss->v, miss->n, sizeof(*miss->v), u64cmp);
	size_t k = 0;
	for (size_t i = 0; i < miss->n; i++)
		if (!k || miss->v[i] != miss->v[k - 1])
			miss->v[k++] = miss->v[i];
	miss->n = k;
}

/* DIR/requested so far, in a buffer with `room` more bytes for this round's lines. */
static struct tli_error *read_requested(struct pages *P, size_t room, char **ret, size_t *len)
{
	char *old = NULL;
	size_t oldlen = 0;
	int e = tli_pages_slurp_at(P->dirfd, "requested", MAX_REQUESTED_FILE, &old, &oldlen);
	if (e && e != ENOENT)
		return tli_error_errno(TLI_E_INTERNAL, e, "reading %s/requested", P->dir);
	char *req = malloc(oldlen + room);
	if (!req) {
		free(old);
		return &tli_enomem;
	}
	if (old)
		memcpy(req, old, oldlen);
	free(old);
	*ret = req;
	*len = oldlen;
	return NULL;
}

struct tli_error *tli_pages_finish(struct tli_target *t, bool *need_ret)
{
	*need_ret = false;
	if (!tli_pages_is(t))
		return NULL;
	struct pages *P = t->priv;
	if (!P->miss.n) {
		if (P->gdb_managed) { /* done: process memory does not stay on disk */
			tli_pages_clear_dir(P->dirfd, false);
			rmdir(P->dir);
		}
		return NULL;
	}
	unique_misses(&P->miss);
	const uint64_t *miss = P->miss.v;
	size_t nmiss = P->miss.n;
	/* bounds of the lines below: "frame apply ... DIR/<16>-<16>.bin 0x<16> 0x<16>", "<16> <16>" */
	size_t cap = 4096 + nmiss * (strlen(P->dir) + 128), len = 0, rcap = 1024 + nmiss * 40, rlen = 0;
	char *gdb = malloc(cap), *req = NULL;
	struct tli_error *err = read_requested(P, rcap, &req, &rlen);
	if (err || !gdb) {
		free(gdb);
		free(req);
		return err ? err : &tli_enomem;
	}
	size_t rend = rlen + rcap;
	len += (size_t)snprintf(gdb + len, cap - len,
				"# tlinspect page request: %zu page(s) of process %d for %s\n", nmiss,
				t->pid, P->dir);
	/* runs of consecutive pages inside one mapping (gdb's dump fails as a whole) */
	for (size_t i = 0; i < nmiss && len < cap && rlen < rend;) {
		uint64_t a = miss[i], b = a + PAGE;
		const struct tli_mapping *m = tli_target_find_mapping(t, a);
		size_t j = i + 1;
		while (j < nmiss && miss[j] == b && m && b < m->end) {
			b += PAGE;
			j++;
		}
		len += (size_t)snprintf(gdb + len, cap - len,
					"frame apply 1 -s dump binary memory %s/%016" PRIx64 "-%" PRIx64
					".bin 0x%" PRIx64 " 0x%" PRIx64 "\n",
					P->dir, a, b - a, a, b);
		rlen += (size_t)snprintf(req + rlen, rend - rlen, "%" PRIx64 " %" PRIx64 "\n", a, b - a);
		i = j;
	}
	int we = tli_pages_write_at(P->dirfd, "requested", req, rlen);
	if (!we)
		we = tli_pages_write_at(P->dirfd, "request.gdb", gdb, len);
	free(gdb);
	free(req);
	if (we)
		return tli_error_errno(TLI_E_INTERNAL, we, "writing the page request in %s", P->dir);
	*need_ret = true;
	return NULL;
}
