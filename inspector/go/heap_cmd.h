/* SPDX-License-Identifier: MIT */
/**
 * @file heap_cmd.h
 * The Go section of `heap`: result.go = {go_version, memstats, memstats_unreadable,
 * size_classes, spans} (docs/json-schema.md).
 *
 * One pipeline (heap_cmd.c): resolve the layouts (before the stop), capture the
 * memstats inputs and the Go heap model (go/heap.h) while stopped, release, then
 * analyze the copies. Analyses that need more of the capture (object memory, types,
 * roots) say so in struct tli_go_heap_run before the stop and add their part of the
 * tree in go_heap_analyze.
 */
#ifndef TLI_GO_HEAP_CMD_H
#define TLI_GO_HEAP_CMD_H

#include <stdbool.h>

#include <jansson.h>

#include "core/error.h"
#include "core/session.h"

struct tli_go_heap_opts {
	int top;          /**< size classes the text shows (0 = default 10, <0 = all); JSON has them all */
	bool census;      /**< live objects by type (go/census.h): captures object memory and roots */
	bool retention;   /**< with census: go.retention, the retention profile */
	/** Snapshots: also capture every goroutine (with or without the census) and hand the
	 *  runtime over in *keep_rt as soon as it is captured, still stopped (so `between` can
	 *  capture more from it: channels); the caller analyzes it after the release
	 *  (tli_go_rt_analyze) and destroys it. NULL: the runtime stays private. */
	struct tli_go_rt **keep_rt;
	bool all_types;   /**< with census: every row of go.types/go.untyped (else the census's 50) */
	/** with census: also go.pools (go/pools.h, from this capture; the census then keeps
	 *  retention paths for the pools' root names, go.retention only if .retention) */
	bool pools;
};

/**
 * `heap` on a Go program. `between(arg)`, if given, runs while the target is still
 * stopped after the Go capture (the glibc section captures there; it runs also when the
 * Go part failed), then the target is released. Errors: TLI_E_NOT_GO if the target is
 * not a Go program.
 */
struct tli_error *tli_go_cmd_heap(struct tli_session *s, const struct tli_go_heap_opts *o,
				  bool (*between)(void *arg), void *arg, json_t *result);

#endif
