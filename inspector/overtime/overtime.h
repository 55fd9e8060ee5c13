/* SPDX-License-Identifier: MIT */
/**
 * @file overtime.h
 * Leaks over time (issue 13): a snapshot of everything that can grow (goroutine groups under
 * stable keys, channels with waiters, Go memstats and live objects by type, glibc totals), the
 * difference of two snapshots, growth verdicts over a series of them, the goroutine profile
 * pprof would write, and Prometheus metrics. Only snapshot() reads a target; everything else
 * works on result trees (a snapshot file read back is the same tree), so the printers, the
 * tests and a saved file all see one shape (docs/json-schema.md, "Snapshots").
 */
#ifndef TLI_OVERTIME_H
#define TLI_OVERTIME_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/error.h"
#include "core/session.h"

#define TLI_SNAPSHOT_KIND "snapshot"

/**
 * One snapshot of the target in ONE stop: the Go heap pipeline (memstats, census with every
 * type) captures the goroutines too, channels and glibc capture in the same stop; all analysis
 * after the release. Fills result["kind"], ["time"], ["go"] (or null), ["glibc"] (or null) and
 * the reasons a part is missing. No memory contents (no string values, no object bytes).
 */
struct tli_error *tli_ot_snapshot(struct tli_session *s, json_t *result);

/**
 * Read a snapshot file back: TLI_E_BAD_FORMAT naming `path` when it is not JSON (truncated),
 * not of schema tlinspect/1, or not a snapshot ("kind"), or lacks the keys diff needs.
 */
struct tli_error *tli_ot_load(const char *path, json_t **ret);
/** The same checks on a tree already in memory (`name` for the messages). */
struct tli_error *tli_ot_check(const json_t *snap, const char *name);

/** result["diff"]: what grew and shrank from snapshot a to b (both checked). */
struct tli_error *tli_ot_diff(const json_t *a, const json_t *b, const char *name_a, const char *name_b,
			      json_t *result);

/** Seconds from snapshot a to b (their "time"), 0 if unknown. */
double tli_ot_elapsed(const json_t *a, const json_t *b);

/**
 * result["watch"] from a series of snapshots taken in order: per goroutine group, live type
 * and glibc total, its samples, slope per minute and verdict ("growing" when it rose in at
 * least 3 of every 4 intervals and ended higher than it began, over 3 intervals or more;
 * "rising" with fewer; "shrinking"/"falling" the other way; "fluctuating" when it moved but
 * neither; "stable" when it never moved). Needs 2 samples or more.
 */
void tli_ot_watch(json_t *const *snaps, size_t n, bool interrupted, json_t *result);

/**
 * The goroutine profile (pprof debug=0) as a render/pprof.h description, from a `goroutines`
 * result built with every frame (stacks, all_frames): one sample per distinct stack, its count;
 * system goroutines left out as the runtime's profile leaves them out.
 */
struct tli_error *tli_ot_goroutine_profile(const json_t *goroutines_result, json_t **ret);

/** result["metrics"] (families for the Prometheus printer) from a snapshot and a leaks result
 *  (`leaks` may be NULL: then no leaked-goroutine figures). */
void tli_ot_metrics(const json_t *snap, const json_t *leaks, json_t *result);

/**
 * The first screen (`tlinspect --pid P`, no command): the goroutine listing of `goroutines`
 * (go.goroutines, go.summary) plus, from the same single stop, go.leaked_count (as `leaks`
 * judges), go.memstats, the top live types (go.types, go.untyped, live_bytes/objects), go.pools,
 * go.timers and glibc totals when libc is used (triage.c); `top` groups in go.summary (0: all).
 * Errors: TLI_E_NOT_GO.
 */
struct tli_error *tli_ot_triage(struct tli_session *s, int top, json_t *result);

#endif
