/* SPDX-License-Identifier: MIT */
/**
 * @file memlimit.h
 * How much more memory this process can have: the smallest of the host's
 * MemAvailable (+ SwapFree), RLIMIT_AS and RLIMIT_DATA less what we use, and the
 * memory limit of our own cgroup (and its ancestors; v1 or v2) less its usage.
 * Used before a capture, so that a capture that cannot fit is refused before the
 * target is stopped (issue 15 item 2) instead of failing half way through.
 */
#ifndef TLI_CORE_MEMLIMIT_H
#define TLI_CORE_MEMLIMIT_H

#include <stddef.h>
#include <stdint.h>

/**
 * Bytes this process may still allocate (UINT64_MAX: no limit found). The limit
 * that gives it is named in why ("ulimit -v 800000 kB (RLIMIT_AS), 95 MiB of it in
 * use"); why may be NULL.
 */
uint64_t tli_mem_headroom(char *why, size_t whylen);

/** Which limits tli_mem_headroom_of looks at. */
enum {
	TLI_MEM_ADDRESS = 1,  /**< RLIMIT_AS: address space (a view read in place takes it too) */
	TLI_MEM_RESIDENT = 2, /**< RLIMIT_DATA, MemAvailable + SwapFree, the cgroup: memory used */
};
/** tli_mem_headroom over the limits in `which` (TLI_MEM_*) only. */
uint64_t tli_mem_headroom_of(unsigned which, char *why, size_t whylen);

#endif
