/* SPDX-License-Identifier: MIT */
/**
 * @file live.h
 * The live-process backend (live.c): a process of this machine, read through
 * /proc and process_vm_readv while every thread is held stopped with
 * PTRACE_SEIZE + PTRACE_INTERRUPT (or not stopped at all: no_stop).
 * The target it returns is used through core/target.h.
 */
#ifndef TLI_BACKEND_LIVE_H
#define TLI_BACKEND_LIVE_H

#include <stdbool.h>

#include "core/error.h"
#include "core/target.h"

struct tli_live_opts {
	bool no_stop;       /**< do not attach/stop: the caller (a debugger) holds the process */
	bool defer_stop;    /**< open (maps, exe, auxv, permission checks) but stop only on the
			     *   first memory access or tli_target_stop(): whatever needs only
			     *   files (layouts, symbols) then happens before the pause */
	int timeout_ms;     /**< give up stopping after this long (default 2000) */
	bool snapshot_fork; /**< --snapshot=fork: once stopped, read a frozen fork of the process
			     *   (live_fork.c) and let the process go at once */
	/** no_stop: registers of the threads as the debugger holding the process knows them
	 *  (matched by tid; copied). Threads without them have regs_valid false. */
	const struct tli_thread *regs;
	size_t nregs;
};
/** Attach to and stop every thread of pid (unless no_stop). opts may be NULL (defaults). */
struct tli_error *tli_live_open(int pid, const struct tli_live_opts *opts, struct tli_target **ret);

/**
 * Install handlers so that SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGALRM and
 * fatal signals release every stopped live target before the process exits.
 * Called once by the CLI.
 */
void tli_live_install_signal_guard(void);

/**
 * Detach the threads an earlier stop of this process seized but could not stop (a thread
 * blocked in vfork or in the kernel when --timeout ran out), those that have stopped since:
 * until then they stay traced by us and, once out of the kernel, frozen. The CLI exits (the
 * kernel detaches them); a long-lived face (the shell) calls this between and before commands.
 * Returns how many are still pending.
 */
size_t tli_live_reap_pending(void);

/**
 * Release every live target held stopped, now, from anywhere: the guard's raw ptrace
 * detaches over its static table (async-signal-safe, no allocation). For a process about
 * to end without returning (cli/main.c when an allocation fails).
 */
void tli_live_release_all(void);

/**
 * `--exe FILE` given for a live target: FILE must be an x86-64 ELF file whose build-ids match
 * those of the executable the process runs (/proc/PID/exe), else TLI_E_MISMATCH naming both
 * (a foreign-architecture FILE is named as such). Nothing to compare with (no build-id, no
 * access to /proc/PID/exe): accepted.
 */
struct tli_error *tli_live_check_exe(const struct tli_target *t, const char *exe);
/**
 * Whether process pid has exited: no thread of it left but zombies, or no /proc entry. One
 * that is exiting (its memory gone, its threads not yet zombies) is waited for up to
 * wait_ms ms. A failure of a step that reads the process's files is then reported as
 * "no process" (exit 3), not as what the step missed ("pass --exe", "cannot open").
 */
bool tli_live_process_gone(int pid, int wait_ms);
/** "x86-64", "arm64 (aarch64)", ... for an ELF e_machine; NULL if unknown. */
const char *tli_elf_machine_name(unsigned machine);

#endif
