/* SPDX-License-Identifier: MIT */
/**
 * @file goroutines.h
 * The goroutine walker: every g of a Go process, decoded and symbolized the way
 * Go's own traceback (runtime.Stack) shows it.
 *
 * Phases: resolve layouts (no target access) → while the target is stopped,
 * capture allgs, every g, the threads' Ms and each stack window in bulk →
 * release the target → decode, unwind (pcsp), symbolize (pclntab, inlined
 * frames expanded) and build the result tree.
 */
#ifndef TLI_GO_GOROUTINES_H
#define TLI_GO_GOROUTINES_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"
#include "core/session.h"

struct tli_go_opts {
	bool stacks;      /**< include "stack" (frames after Go's hiding rules) */
	bool all_frames;  /**< with stacks: do not hide runtime frames */
	bool system;      /**< (text) list system goroutines too; JSON always has them */
	int top;          /**< number of groups in the summary (default 10, 0 = all) */
	int64_t only_id;  /**< >0: only this goroutine (the `goroutine ID` command) */
};

/**
 * Build result["go"] (and result["target"]["go_version"]) for the goroutine listing.
 * Stops the target (if live), captures, releases it, then analyzes.
 */
struct tli_error *tli_go_goroutines(struct tli_session *s, const struct tli_go_opts *opts,
				    json_t *result);

#endif
