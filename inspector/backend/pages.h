/* SPDX-License-Identifier: MIT */
/**
 * @file pages.h
 * The page-request backend (pages*.c): a live process that a debugger holds
 * stopped and may read when the kernel refuses us (the gdb face's fallback).
 * Memory comes only from page files the debugger dumps into a directory; a
 * run that misses pages writes the debugger commands that dump them. The
 * target it returns is used through core/target.h.
 */
#ifndef TLI_BACKEND_PAGES_H
#define TLI_BACKEND_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/target.h"

/** Exit status of a run that needs more pages: DIR/request.gdb names them. */
#define TLI_EXIT_NEED_PAGES 20
/** `tlinspect --pages-slot` exits with TLI_PAGES_SLOT_BASE + slot (gdb's page directory). */
#define TLI_PAGES_SLOT_BASE 100
#define TLI_PAGES_SLOTS 100
/** gdb-managed page directories are TLI_PAGES_GDB_PREFIX<slot> (0700, one per gdb). */
#define TLI_PAGES_GDB_PREFIX "/tmp/tlinspect-gdb."

/**
 * The process as the debugger describes it: plain data that the face extracts
 * from the debugger's own text (the CLI parses gdb's). Untrusted: the
 * target sorts the mappings and drops overlapping ones, and keeps each thread
 * once (the main thread first). Release with tli_pages_process_free.
 */
struct tli_pages_process {
	int pid;                     /**< 0: unknown */
	char *exe;                   /**< the debugger's executable, NULL: unknown */
	uint64_t at_entry, at_phdr;  /**< AT_ENTRY / AT_PHDR of the auxiliary vector, 0: unknown */
	struct tli_mapping *maps;    /**< in the debugger's order; paths owned */
	size_t nmaps;
	struct tli_thread *threads;  /**< tid, regs and regs_valid; the target marks them stopped ('t') */
	size_t nthreads;
};
void tli_pages_process_free(struct tli_pages_process *p);

struct tli_pages_opts {
	const char *dir;      /**< page directory (--pages DIR) */
	const struct tli_pages_process *process; /**< the process (copied); NULL: nothing known */
	int pid;              /**< 0: process->pid */
	const char *exe;      /**< NULL: process->exe */
};
/**
 * The text of DIR/context.txt, a description of the process written next to the
 * pages for tools other than the gdb face (*text = NULL when there is none; free
 * it). Fails as tli_pages_open would on DIR itself (missing, shared with others,
 * a path gdb cannot read unquoted), or when the file is unreadable.
 */
struct tli_error *tli_pages_read_description(const char *dir, char **text, size_t *len);
/**
 * Open a target whose memory is read only from DIR's page files (a live process
 * that gdb holds stopped). Missing pages are recorded; see tli_pages_finish.
 */
struct tli_error *tli_pages_open(const struct tli_pages_opts *o, struct tli_target **ret);
/** True if t was opened by tli_pages_open. */
bool tli_pages_is(const struct tli_target *t);
/**
 * After a command ran on a pages target: if pages were missing, write
 * DIR/request.gdb (gdb commands that dump them) and add them to DIR/requested,
 * and set *need_ret. Otherwise a gdb-managed directory is removed.
 */
struct tli_error *tli_pages_finish(struct tli_target *t, bool *need_ret);
/** Pages loaded from DIR and pages missed so far (statistics for -v). */
void tli_pages_stats(const struct tli_target *t, size_t *present, size_t *missing);
/**
 * The gdb face's page directory: find the one of the gdb running us (our
 * ancestor), or claim a free or stale one; it is emptied. *ret = slot number.
 */
struct tli_error *tli_pages_gdb_slot(int *ret);

#endif
