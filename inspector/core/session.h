/* SPDX-License-Identifier: MIT */
/**
 * @file session.h
 * A session = one opened target + the knowledge needed to read it: the
 * executable, its load bias and the layout resolver (DWARF, ELF symbols, and
 * later runtime-maps). Every command runs against a session; the CLI, the
 * shell and the debugger faces all create one the same way.
 */
#ifndef TLI_CORE_SESSION_H
#define TLI_CORE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "layout.h"
#include "target.h"

struct tli_gobin;
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
	const char *pages;     /**< --pages DIR: memory from page files (backend/pages.c) */
	const struct tli_pages_process *pages_process; /**< --pages: the process as the face parsed it */
};

struct tli_session {
	struct tli_session_opts opts;
	struct tli_target *target;
	struct tli_layout *layout;   /**< layout of the main executable */
	uint64_t exe_bias;           /**< load bias of the main executable (PIE), 0 otherwise */
	struct tli_gobin *gobin;     /**< Go metadata of the executable (lazily opened) */
	bool gobin_tried;
	char *exe_path_pre;          /**< executable chosen before the target was opened */
	json_t *warnings;            /**< array of strings, shown in every result */
	struct timespec t_open;      /**< when the session was opened (for -v timings) */
	/* layout cache (session_cache.c) */
	bool cache_on;               /**< TLINSPECT_LAYOUT_CACHE: answers loaded/saved */
	char *cache_path, *cache_stamp;
	size_t cache_loaded;         /**< answers loaded from the cache */
};

struct tli_error *tli_session_open(const struct tli_session_opts *o, struct tli_session **ret);
void tli_session_destroy(struct tli_session *s);

/** Add a warning (printf-style) to the session's warning list. */
void tli_session_warn(struct tli_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Fill result["target"] (kind, pid, exe, core, threads, pause, bytes read) and result["warnings"]. */
void tli_session_describe(struct tli_session *s, json_t *result);

/** The Go metadata of the executable (TLI_E_NOT_GO if it is not a Go program). */
struct tli_error *tli_session_gobin(struct tli_session *s, struct tli_gobin **ret);

/** Add the runtime-maps provider (+ global finder) for exe to the layout (session_maps.c). */
struct tli_error *tli_session_add_maps(struct tli_session *s, const char *exe);

/** Seconds since the session was opened (for -v timings). */
double tli_session_elapsed(const struct tli_session *s);

/* ---- the layout cache (session_cache.c) ---- */
/** TLINSPECT_LAYOUT_CACHE is set (and not "0"). */
bool tli_session_cache_wanted(void);
/** Saved answers for `exe` with this binary's stamp (malloc'd text), or NULL. */
char *tli_session_cache_read(struct tli_session *s, const char *exe, size_t *len);
/** Write the layout's answers if it learned any beyond those loaded. Silent on failure. */
void tli_session_cache_save(struct tli_session *s);

#endif
