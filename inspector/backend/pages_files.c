/* SPDX-License-Identifier: MIT */
/**
 * @file pages_files.c
 * The page files of the page-request backend: DIR/<start>-<len>.bin (bytes of
 * the process that gdb dumped) and DIR/requested (pages asked for in earlier
 * rounds: still absent means unreadable for good).
 */
#include "pages_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/search.h"

/* bounds: hostile or huge inputs stay bounded */
#define MAX_RUNS (1u << 20)        /* page files loaded */
#define MAX_LOADED (4ull << 30)    /* bytes loaded from page files */
#define MAX_REQUESTED_LINES (1u << 22)

static int runcmp(const void *a, const void *b)
{
	const struct run *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

static int spancmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return (x->a > y->a) - (x->a < y->a);
}

/* "<hex>-<hex>.bin" -> addr, len */
static bool parse_run_name(const char *n, uint64_t *addr, uint64_t *len)
{
	char *e;
	if (!isxdigit((unsigned char)n[0]))
		return false;
	errno = 0;
	unsigned long long a = strtoull(n, &e, 16);
	if (errno || *e != '-' || !isxdigit((unsigned char)e[1]))
		return false;
	unsigned long long l = strtoull(e + 1, &e, 16);
	if (errno || strcmp(e, ".bin") || !l || l > (1ull << 32) || a + l < a || (a & ~PAGE_MASK) ||
	    (l & ~PAGE_MASK))
		return false;
	*addr = a;
	*len = l;
	return true;
}

/* Drop overlapping runs (only written by a hostile directory; keep the first). */
static void drop_overlapping_runs(struct run_vec *runs)
{
	size_t k = 0;
	for (size_t i = 0; i < runs->n; i++) {
		if (k && runs->v[i].addr < runs->v[k - 1].addr + runs->v[k - 1].len) {
			free(runs->v[i].data);
			continue;
		}
		runs->v[k++] = runs->v[i];
	}
	runs->n = k;
}

struct tli_error *tli_pages_load_runs(struct pages *P)
{
	int dfd = dup(P->dirfd);
	if (dfd < 0)
		return tli_error_errno(TLI_E_INTERNAL, errno, "dup");
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return tli_error_errno(TLI_E_INTERNAL, errno, "reading page directory %s", P->dir);
	}
	rewinddir(d);
	struct dirent *de;
	struct tli_error *err = NULL;
	while ((de = readdir(d))) {
		uint64_t a, l;
		if (!parse_run_name(de->d_name, &a, &l))
			continue;
		if (P->runs.n >= MAX_RUNS || P->loaded + l > MAX_LOADED)
			break;
		char *buf;
		size_t got;
		if (tli_pages_slurp_at(P->dirfd, de->d_name, (size_t)l, &buf, &got))
			continue;
		if (got != l) { /* a partial dump: unusable */
			free(buf);
			continue;
		}
		if (!tli_vec_push(&P->runs, ((struct run){ a, l, (unsigned char *)buf }))) {
			free(buf);
			err = &tli_enomem;
			break;
		}
		P->loaded += l;
	}
	closedir(d);
	if (err)
		return err;
	if (P->runs.n)
		qsort(P->runs.v, P->runs.n, sizeof(*P->runs.v), runcmp);
	drop_overlapping_runs(&P->runs);
	return NULL;
}

/* Sort the requested spans and merge the overlapping or adjacent ones. */
static void merge_spans(struct span_vec *bad)
{
	if (bad->n)
		qsort(bad->v, bad->n, sizeof(*bad->v), spancmp);
	size_t k = 0;
	for (size_t i = 0; i < bad->n; i++) {
		if (k && bad->v[i].a <= bad->v[k - 1].b) {
			if (bad->v[i].b > bad->v[k - 1].b)
				bad->v[k - 1].b = bad->v[i].b;
			continue;
		}
		bad->v[k++] = bad->v[i];
	}
	bad->n = k;
}

struct tli_error *tli_pages_load_requested(struct pages *P)
{
	char *buf;
	size_t len;
	int e = tli_pages_slurp_at(P->dirfd, "requested", MAX_REQUESTED_FILE, &buf, &len);
	if (e == ENOENT)
		return NULL;
	if (e)
		return tli_error_errno(TLI_E_INTERNAL, e, "reading %s/requested", P->dir);
	size_t lines = 0;
	char *save = NULL;
	for (char *l = strtok_r(buf, "\n", &save); l && lines < MAX_REQUESTED_LINES;
	     l = strtok_r(NULL, "\n", &save), lines++) {
		char *end;
		errno = 0;
		unsigned long long a = strtoull(l, &end, 16);
		unsigned long long n = strtoull(end, &end, 16);
		if (errno || !n || a + n < a)
			continue;
		if (!tli_vec_push(&P->bad, ((struct span){ a & PAGE_MASK, a + n }))) {
			free(buf);
			return &tli_enomem;
		}
	}
	free(buf);
	merge_spans(&P->bad);
	return NULL;
}

const struct run *tli_pages_find_run(const struct pages *P, uint64_t addr)
{
	size_t i = tli_upper_bound(P->runs.n, k, P->runs.v[k].addr > addr);
	if (i == 0 || addr - P->runs.v[i - 1].addr >= P->runs.v[i - 1].len)
		return NULL;
	return &P->runs.v[i - 1];
}

bool tli_pages_requested_before(const struct pages *P, uint64_t page)
{
	size_t i = tli_upper_bound(P->bad.n, k, P->bad.v[k].a > page);
	return i > 0 && page < P->bad.v[i - 1].b;
}
