/* SPDX-License-Identifier: MIT */
/**
 * @file progress.h
 * Progress of long work on stderr (issue 14: a run longer than a second says what it is doing).
 *
 * Off unless the face turns it on (the CLI does when stderr is a terminal, or when
 * TLINSPECT_PROGRESS=1 asks for plain lines in a log). Nothing is printed during the first second
 * of a run, nor more often than five times a second, so short runs stay silent. Never called while
 * a live target is stopped: the stop is for copying only.
 */
#ifndef TLI_CORE_PROGRESS_H
#define TLI_CORE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/** Turn progress on (`tty`: one line rewritten in place; else a plain line per report). */
void tli_progress_enable(FILE *f, bool tty);
/** A phase of `total` steps (0: unknown) begins, e.g. "listing goroutines". */
void tli_progress_begin(const char *what, uint64_t total);
/** `done` steps of the phase are done; cheap enough to call once per goroutine. */
void tli_progress_step(uint64_t done);
/** The phase ended (a terminal's line is cleared). */
void tli_progress_end(void);

#endif
