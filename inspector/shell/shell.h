/* SPDX-License-Identifier: MIT */
/**
 * @file shell.h
 * The interactive shell (`tlinspect --pid N shell`, `--core F shell`): a
 * readline prompt with history (~/.tlinspect_history) and tab completion.
 * Every engine command of the table runs through the same parser and runner
 * as the command line (tli_cli_parse + tli_cli_run_ex); the shell adds
 *   x ADDR [N]        hex dump of N bytes (default 64) of target memory
 *   dis ADDR|FUNC [N] N instructions (default 16; capstone), symbolized with pclntab
 *   ptype NAME        the members of a struct type (DWARF): offset, size, type
 *   quit              (also exit, q, Ctrl-D)
 * On a live target every command opens a fresh session: the process is
 * stopped only while a command runs (the prompt says "(running)").
 */
#ifndef TLI_SHELL_SHELL_H
#define TLI_SHELL_SHELL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

struct tli_cli_opts;
struct tli_session;
struct tli_pclntab;
struct tli_shsyms;

/** What completion knows. Everything is optional. */
struct tli_shell_names {
	const int64_t *ids;              /**< goroutine ids of the last listing */
	size_t nids;
	const struct tli_pclntab *pcln;  /**< Go function names */
	struct tli_shsyms *syms;         /**< C globals and DWARF type names (shell_syms.h) */
};

/** Shell-only commands (NULL-terminated). */
extern const char *const tli_shell_builtins[];

/**
 * Completion candidates for the word `word` that starts at byte `start` of
 * `line` (readline's rl_line_buffer): the first word completes to command
 * names (the table and the builtins); after `goroutine` / `explain g`
 * goroutine ids; after `dis`/`x` function names; after `help` command names;
 * a word starting with '-' to the options of the command. Returns a
 * NULL-terminated malloc'ed array of malloc'ed strings (at most `max`
 * entries), or NULL if there is none.
 */
char **tli_shell_complete(const struct tli_shell_names *n, const char *line, size_t start, const char *word,
			  size_t max);
void tli_shell_free_matches(char **m);

/** Split a line into words (blanks separate; '…' and "…" quote). *ret is NULL-terminated. */
struct tli_error *tli_shell_split(const char *line, char ***ret, int *argc);

/**
 * Run the shell for the target of `cli` (session: the one the CLI opened
 * without stopping the target; used for the executable's metadata).
 * Returns when the user quits.
 */
struct tli_error *tli_shell_main(const struct tli_cli_opts *cli, struct tli_session *session);

#endif
