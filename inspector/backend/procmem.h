/* SPDX-License-Identifier: MIT */
/**
 * @file procmem.h
 * Bulk reads of a live pid (procmem.c), never writes. Private to the live
 * backend (live.c) and its unit test (tests/unit/test_target.c).
 */
#ifndef TLI_BACKEND_PROCMEM_H
#define TLI_BACKEND_PROCMEM_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/target.h"

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

#endif
