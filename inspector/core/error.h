/* SPDX-License-Identifier: MIT */
/**
 * @file error.h
 * Errors as values: every fallible function returns `struct tli_error *`,
 * NULL meaning success. An error carries a code (which maps to the process
 * exit status, see docs/exit-codes.md), an errno, an optional address and a
 * message that names what was being decoded and where.
 */
#ifndef TLI_CORE_ERROR_H
#define TLI_CORE_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

/** Error codes. The numeric value is the process exit status (docs/exit-codes.md). */
enum tli_errcode {
	TLI_OK = 0,
	TLI_E_INTERNAL = 1,     /**< bug or unexpected condition */
	TLI_E_USAGE = 2,        /**< bad command line */
	TLI_E_NO_TARGET = 3,    /**< no such process, file not found */
	TLI_E_PERM = 4,         /**< may not trace / read the target */
	TLI_E_NOT_GO = 5,       /**< target has no Go runtime (or no glibc malloc) */
	TLI_E_BAD_FORMAT = 6,   /**< malformed/truncated ELF, core or table */
	TLI_E_MISMATCH = 7,     /**< executable does not match core (build-id) */
	TLI_E_NO_INFO = 8,      /**< missing debug info / layout / symbol */
	TLI_E_FAULT = 9,        /**< memory the walk needs is unreadable */
	TLI_E_TIMEOUT = 10,     /**< target did not stop in time */
	TLI_E_UNSUPPORTED = 11, /**< version or feature we refuse to guess about */
	TLI_E_CORRUPT = 12,     /**< target data structure is inconsistent */
	TLI_E_NOMEM = 13,       /**< out of memory */
	TLI_E_INTERRUPTED = 130,/**< SIGINT/SIGTERM while working */
};

struct tli_error {
	enum tli_errcode code;
	int err_no;      /**< errno, 0 if none */
	uint64_t addr;   /**< faulting/offending address, 0 if none */
	char msg[768];
};

/** Create an error (never returns NULL; falls back to a static ENOMEM error). */
struct tli_error *tli_error_create(enum tli_errcode code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/** Same, with errno text appended (": <strerror>"); err_no ENOMEM makes it TLI_E_NOMEM. */
struct tli_error *tli_error_errno(enum tli_errcode code, int err_no, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** Same, recording a faulting address. */
struct tli_error *tli_error_fault(uint64_t addr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/** Prefix context onto an existing error ("while X: <old message>"); returns err. */
struct tli_error *tli_error_wrap(struct tli_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/** Free an error (safe on NULL and on the static ENOMEM error). */
void tli_error_destroy(struct tli_error *err);

/**
 * If *err has code `code`, free it, set *err = NULL and return true (libdrgn's
 * drgn_error_catch): "not found is fine, anything else is not" in one line.
 */
bool tli_error_catch(struct tli_error **err, enum tli_errcode code);
/**
 * Drop an error on a path where failure is not fatal (the item degrades or a
 * fallback follows). Returns true if there was an error: `if (tli_error_drop(e)) ...`.
 */
static inline bool tli_error_drop(struct tli_error *err)
{
	if (!err)
		return false;
	tli_error_destroy(err);
	return true;
}

/** Static out-of-memory error, usable without allocating. */
extern struct tli_error tli_enomem;

/**
 * Out-of-memory accounting. Many steps degrade instead of failing when something cannot
 * be had (an item skipped, a set not grown, an error dropped): right for damaged target
 * data, wrong for memory, because the answer would silently be smaller. So running out
 * is noted here, process-wide - tli_error_destroy notes every TLI_E_NOMEM error, reported
 * or dropped (a mapping that failed with ENOMEM becomes one, tli_error_errno) - and the
 * CLI compares the count before and after a command: if it moved, the command exits
 * TLI_E_NOMEM instead of printing an answer (docs/exit-codes.md). In the tlinspect
 * executable a failed malloc never returns at all (cli/main.c: the target is released and
 * the run ends with 13). A best-effort allocation whose failure changes nothing (a
 * reservation before the stop) uses tli_big_alloc (mmap) and creates no error.
 */
void tli_oom_note(void);
/** Failed allocations noted since the process started. */
uint64_t tli_oom_count(void);

/** Human name of a code ("no target", "permission denied", ...). */
const char *tli_errcode_name(enum tli_errcode code);

#endif
