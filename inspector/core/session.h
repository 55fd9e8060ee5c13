/* SPDX-License-Identifier: MIT */
/**
 * @file session.h
 * A session = one opened target + the knowledge needed to read it: the
 * executable, its load bias and the layout resolver (DWARF, ELF symbols,
 * runtime maps). Every command runs against a session; walkers read through it.
 * Opening and destroying one is the floor above (session/open.h): the CLI, the
 * shell and the debugger faces all open one the same way.
 */
#ifndef TLI_CORE_SESSION_H
#define TLI_CORE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "layout.h"
#include "liblayout.h"
#include "target.h"
#include "warnings.h"

struct tli_gobin;  /* go/gobin.h: tli_session_gobin() */
struct tli_pages_process;

struct tli_session_opts {
	int pid;               /**< live target (0 = none) */
	const char *core;      /**< core file (NULL = none) */
	const char *exe;       /**< executable override (--exe) */
	const char *sysroot;   /**< --sysroot */
	bool no_stop;          /**< --no-stop */
	bool no_dwarf;         /**< --no-dwarf */
	bool verbose;          /**< -v */
	int timeout_ms;        /**< --timeout (0 = default) */
	bool snapshot_fork;    /**< --snapshot=fork */
	const char *pages;     /**< --pages DIR: memory from page files (backend/pages.c) */
	const struct tli_pages_process *pages_process; /**< --pages: the process as the face parsed it */
	/** --no-stop: the threads' registers as the debugger holding the process knows them
	 *  (tid, regs, regs_valid); threads not listed have none */
	const struct tli_thread *regs;
	size_t nregs;
};

struct tli_session {
	struct tli_session_opts opts;
	struct tli_target *target;
	struct tli_layout *layout;   /**< layout of the main executable */
	uint64_t exe_bias;           /**< load bias of the main executable (PIE), 0 otherwise */
	struct tli_gobin *gobin;     /**< Go metadata of the executable (lazily opened) */
	bool gobin_tried;
	const struct tli_lib_layout_finder *lib_layout; /**< libc's layout (glibc commands): maps/chain_glibc.c */
	char *exe_path_pre;          /**< executable chosen before the target was opened */
	struct tli_warnings warnings; /**< shown in every result (tli_session_warn) */
	struct timespec t_open;      /**< when the session was opened (for -v timings) */
	/* layout cache (session/cache.c) */
	bool cache_on;               /**< TLINSPECT_LAYOUT_CACHE: answers loaded/saved */
	char *cache_path, *cache_stamp;
	size_t cache_loaded;         /**< answers loaded from the cache */
};

/** Add a warning (printf-style) to the session's warning list. */
void tli_session_warn(struct tli_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Fill result["target"] (kind, pid, exe, core, threads, pause, bytes read) and result["warnings"]. */
void tli_session_describe(struct tli_session *s, json_t *result);

/** Seconds since the session was opened (for -v timings). */
double tli_session_elapsed(const struct tli_session *s);

#endif
