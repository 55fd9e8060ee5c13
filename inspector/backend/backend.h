/* SPDX-License-Identifier: MIT */
/**
 * @file backend.h
 * Private interfaces shared by the target backends (live.c, procmem.c,
 * core.c), their unit tests and the core-parser fuzz harness.
 * Not part of the public contract (that is core/target.h).
 */
#ifndef TLI_BACKEND_BACKEND_H
#define TLI_BACKEND_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/target.h"

/* --- procmem.c: bulk reads of a live pid (never writes) --- */

enum tli_procmem_mode {
	TLI_PROCMEM_AUTO = 0, /**< process_vm_readv, falling back to /proc/PID/mem */
	TLI_PROCMEM_VM,       /**< process_vm_readv only */
	TLI_PROCMEM_MEMFILE,  /**< pread on /proc/PID/mem only */
};

struct tli_procmem {
	int pid;
	int memfd;                  /**< /proc/PID/mem, -1 until opened */
	enum tli_procmem_mode mode; /**< AUTO switches itself to MEMFILE on EPERM/ENOSYS */
	uint64_t syscalls;          /**< statistics: read syscalls issued */
};

void tli_procmem_init(struct tli_procmem *pm, int pid);
/**
 * Read every range (per-range got/err). process_vm_readv with up to IOV_MAX
 * iovecs per call; a fault ends one iovec (its readable prefix is kept, read
 * page by page) and the next iovecs are read anyway. Returns an error only
 * when nothing can be read at all (process gone, no permission).
 */
struct tli_error *tli_procmem_read_many(struct tli_procmem *pm, struct tli_read *reads, size_t n);
void tli_procmem_close(struct tli_procmem *pm);

/* --- core.c --- */

/**
 * Parse a core image that is already in memory (used by tli_core_open and by
 * the fuzz harness). `data` must stay valid until the target is destroyed;
 * it is not freed. `name` is used in messages and as core_path.
 * Backing files named in NT_FILE are opened (prefixed by opts->sysroot).
 */
struct tli_error *tli_core_open_mem(const void *data, size_t size, const char *name,
				    const struct tli_core_opts *opts, struct tli_target **ret);

/** Statistics of a core target: reads served from NT_FILE backing files. */
uint64_t tli_core_file_fallback_reads(const struct tli_target *t);

/* --- pages.c: page-request target (the gdb face when the kernel refuses us the process) --- */

/** Exit status of a run that needs more pages: DIR/request.gdb names them. */
#define TLI_EXIT_NEED_PAGES 20
/** `tlinspect --pages-slot` exits with TLI_PAGES_SLOT_BASE + slot (gdb's page directory). */
#define TLI_PAGES_SLOT_BASE 100
#define TLI_PAGES_SLOTS 100
/** gdb-managed page directories are TLI_PAGES_GDB_PREFIX<slot> (0700, one per gdb). */
#define TLI_PAGES_GDB_PREFIX "/tmp/tlinspect-gdb."

struct tli_pages_opts {
	const char *dir;      /**< page directory (--pages DIR) */
	const char *context;  /**< gdb's `info inferiors`, `info target`, `info auxv`, `info proc
	                           mappings`, `thread apply all -s tl-pages-regs` output; NULL:
	                           DIR/context.txt if present */
	size_t context_len;
	int pid;              /**< 0: from the context */
	const char *exe;      /**< NULL: from the context (gdb's executable) */
};
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
