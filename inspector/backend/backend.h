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

#endif
