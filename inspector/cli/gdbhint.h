/* SPDX-License-Identifier: MIT */
/**
 * @file gdbhint.h
 * gdb's text, parsed for the CLI (the gdb face pipes it to our stdin).
 *
 * How the engine learns gdb's target. The gdb command file
 * (gdb-ext/tlinspect.gdb) pipes the output of `info inferiors` and
 * `info target` into `tlinspect --gdb-hint ...`; this parses it:
 *
 *   * 1    process 18153     1 (native)           /path/exe      <- live: pid
 *   * 1    process 18153     1 (core)             /path/exe      <- core: exe
 *   Local core dump file:
 *   	`/tmp/core.18153', file type elf64-x86-64.                  <- core: path
 *
 * The current inferior is the row that starts with '*'. The text is
 * untrusted (it contains target-chosen file names): bounded, no crash.
 */
#ifndef TLI_CLI_GDBHINT_H
#define TLI_CLI_GDBHINT_H

#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>

#include "backend/pages.h"
#include "core/error.h"

struct tli_gdb_hint {
	int pid;      /**< live process (connection "native"), 0 otherwise */
	char *core;   /**< core file path (connection "core"), NULL otherwise */
	char *exe;    /**< executable of the current inferior, NULL if gdb showed none */
};

/** Upper bound of the hint text read from stdin. */
#define TLI_GDB_HINT_MAX (8u << 20)

/**
 * Parse the hint. TLI_E_NO_TARGET when gdb has no live process or core
 * (e.g. `gdb prog` before `run`), TLI_E_UNSUPPORTED for remote connections.
 * Release with tli_gdb_hint_free.
 */
struct tli_error *tli_gdb_hint_parse(const char *text, size_t len, struct tli_gdb_hint *ret);
/** Read all of f (up to TLI_GDB_HINT_MAX, the rest is drained) and parse it. */
struct tli_error *tli_gdb_hint_read(FILE *f, struct tli_gdb_hint *ret);
void tli_gdb_hint_free(struct tli_gdb_hint *h);

/** Next line of the text [*p, end) (not NUL-terminated): ls and ll = the line without its
 *  newline, p advanced past it. false at the end. */
bool tli_next_line(const char **p, const char *end, const char **ls, size_t *ll);

/**
 * The process for the page-request target (backend/pages.h), from gdb's output of
 * `info inferiors`, `info target`, `info auxv`, `info proc mappings` and
 * `thread apply all -s tl-internal pages-regs` (`info registers` plus fs_base and
 * gs_base): pid and executable (as tli_gdb_hint_parse finds them; none when it
 * refuses the text), AT_ENTRY/AT_PHDR, the mappings and every thread's
 * registers, in gdb's order. The text is untrusted: bounded, no crash; lines
 * that do not parse are skipped. Fails only when out of memory. Release with
 * tli_pages_process_free.
 */
struct tli_error *tli_gdb_process_parse(const char *text, size_t len, struct tli_pages_process *ret);
/**
 * The process for `--pages DIR`: parsed from `text` (gdb's output on stdin) when
 * it is not NULL, else from DIR/context.txt when that exists (else nothing is
 * known: all zero).
 */
struct tli_error *tli_gdb_pages_process(const char *dir, const char *text, size_t len,
					struct tli_pages_process *ret);

#endif
