/* SPDX-License-Identifier: MIT */
/**
 * @file elfcore.h
 * The ELF core backend (elfcore*.c): an x86_64 ELF core file as a target.
 * Memory comes from the core's PT_LOAD data and, where the core has none, from
 * the files its NT_FILE note names; threads and registers from NT_PRSTATUS;
 * AT_ENTRY/AT_PHDR from NT_AUXV. The target it returns is used through
 * core/target.h.
 */
#ifndef TLI_BACKEND_ELFCORE_H
#define TLI_BACKEND_ELFCORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "core/target.h"

struct tli_core_opts {
	const char *exe;      /**< executable (--exe); NULL = take the path from NT_FILE */
	const char *sysroot;  /**< root for file paths named in the core (--sysroot): they are
	                           resolved inside it, symlinks and ".." included */
	FILE *verbose;        /**< -v: which file backs which range, and why one does not (NULL: quiet) */
};
/** Open an ELF core file. opts may be NULL. */
struct tli_error *tli_core_open(const char *core, const struct tli_core_opts *opts,
				struct tli_target **ret);

/**
 * Parse a core image that is already in memory (used by tli_core_open, the unit
 * tests and the fuzz harness). `data` must stay valid until the target is
 * destroyed; it is not freed. `name` is used in messages and as core_path.
 * Backing files named in NT_FILE are opened (prefixed by opts->sysroot).
 */
struct tli_error *tli_core_open_mem(const void *data, size_t size, const char *name,
				    const struct tli_core_opts *opts, struct tli_target **ret);

/** Statistics of a core target: reads served from NT_FILE backing files. */
uint64_t tli_core_file_fallback_reads(const struct tli_target *t);

#endif
