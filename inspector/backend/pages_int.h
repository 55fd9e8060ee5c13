/* SPDX-License-Identifier: MIT */
/**
 * @file pages_int.h
 * Private to the page-request backend (pages.c, pages_dir.c, pages_files.c,
 * pages_request.c, pages_slot.c): its state and the helpers its files share.
 */
#ifndef TLI_BACKEND_PAGES_INT_H
#define TLI_BACKEND_PAGES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/vec.h"
#include "pages.h"

#define PAGE 4096ull
#define PAGE_MASK (~(PAGE - 1))
/** Upper bound of DIR/requested (pages asked for in earlier rounds). */
#define MAX_REQUESTED_FILE (64u << 20)

/** One page file: bytes [addr, addr+len) of the process. */
struct run {
	uint64_t addr, len;
	unsigned char *data;
};

/** Pages [a, b) requested in an earlier round. */
struct span {
	uint64_t a, b;
};

TLI_VEC(run_vec, struct run);
TLI_VEC(span_vec, struct span);
TLI_VEC(page_vec, uint64_t);

struct pages {
	int dirfd;
	char *dir;             /**< absolute path (goes into request.gdb) */
	struct run_vec runs;   /**< sorted by addr, non-overlapping */
	struct span_vec bad;   /**< requested before: sorted, merged */
	struct page_vec miss;  /**< pages missed in this run (unsorted, duplicates) */
	bool miss_truncated;
	bool gdb_managed;      /**< DIR/owner exists: clean up when the command completes */
	uint64_t loaded;       /**< bytes loaded from page files */
};

/* --- pages_dir.c: the directory and its files --- */

/** Read a whole file relative to dirfd, at most max bytes, NUL-terminated. 0 or errno. */
int tli_pages_slurp_at(int dirfd, const char *name, size_t max, char **ret, size_t *len);
/** Write a whole file in dirfd atomically (tmp + rename). 0 or errno. */
int tli_pages_write_at(int dirfd, const char *name, const char *data, size_t len);
/** DIR as an absolute path gdb can read unquoted (*abs), opened and checked private (*dirfd). */
struct tli_error *tli_pages_open_dir(const char *dir, char **abs, int *dirfd);
/** Remove the files of a gdb-managed directory (ours); keep_owner keeps DIR/owner. */
void tli_pages_clear_dir(int dirfd, bool keep_owner);

/* --- pages_files.c: the page files and the pages requested before --- */

/** Load every well-formed DIR/<start>-<len>.bin (bounded), sorted, overlaps dropped. */
struct tli_error *tli_pages_load_runs(struct pages *P);
/** Load DIR/requested into P->bad, sorted and merged. */
struct tli_error *tli_pages_load_requested(struct pages *P);
/** The page file holding addr, or NULL. */
const struct run *tli_pages_find_run(const struct pages *P, uint64_t addr);
/** True if page was requested in an earlier round (and is still absent). */
bool tli_pages_requested_before(const struct pages *P, uint64_t page);

#endif
