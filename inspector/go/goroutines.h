/* SPDX-License-Identifier: MIT */
/**
 * @file goroutines.h
 * The goroutine walker: every g of a Go process, decoded and symbolized the way
 * Go's own traceback (runtime.Stack) shows it.
 *
 * Phases: resolve layouts (no target access) → while the target is stopped,
 * capture allgs, every g, the threads' Ms and each stack window in bulk →
 * release the target → decode, unwind (pcsp), symbolize (pclntab, inlined
 * frames expanded) and build the result tree. goroutines_internal.h names the
 * file of each phase; go/gfacts.h holds the goroutine facts (status constants,
 * wait-reason classes) other walkers share.
 */
#ifndef TLI_GO_GOROUTINES_H
#define TLI_GO_GOROUTINES_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/session.h"
#include "go/pclntab.h"

struct tli_go_opts {
	bool stacks;      /**< include "stack" (frames after Go's hiding rules) */
	bool all_frames;  /**< with stacks: do not hide runtime frames */
	bool system;      /**< (text) list system goroutines too; JSON always has them */
	int top;          /**< number of groups in the summary (default 10, 0 = all) */
	int64_t only_id;  /**< >0: only this goroutine (the `goroutine ID` command) */
	/** with stacks: the frames the runtime's goroutine profile records instead (every frame
	 *  but elided wrappers, as tracebackPCs; no runtime.goexit, as runtime/pprof drops it) */
	bool profile_frames;
	/** only goroutines whose pprof labels hold every one of these "key=value" */
	const char *const *labels;
	size_t nlabels;
};

/**
 * Build result["go"] (and result["target"]["go_version"]) for the goroutine listing.
 * Stops the target (if live), captures, releases it, then analyzes.
 */
struct tli_error *tli_go_goroutines(struct tli_session *s, const struct tli_go_opts *opts,
				    json_t *result);

/*
 * The same in steps, for commands that add their own captures while the target
 * is stopped (channels, leaks):
 *   tli_go_rt_open      resolve layouts and pclntab (files only, before the stop)
 *   tli_go_rt_capture   stop the target (implicitly) and capture allgs, every g,
 *                       the Ms of running gs, each stack window, runtime strings
 *   ... more captures by the caller ...
 *   tli_target_release  end the pause
 *   tli_go_rt_analyze   build result["go"] for the goroutine listing
 */
struct tli_go_rt;

struct tli_error *tli_go_rt_open(struct tli_session *s, struct tli_go_rt **ret);
/** Capture only goroutine `goid` (0 = all; call before tli_go_rt_capture): `goroutine ID`. */
void tli_go_rt_only(struct tli_go_rt *rt, int64_t goid);
/** Also copy the parked goroutines' waiting chains before the stop (call before
 *  tli_go_rt_capture; for channel captures that do not walk queues: goroutines_precopy.c). */
void tli_go_rt_precopy_chains(struct tli_go_rt *rt, bool on);
/** What tli_go_rt_capture prepares before the stop, done now: for a command whose other
 *  walkers stop the target before the goroutine capture runs (`heap` reads memstats first). */
void tli_go_rt_prepare(struct tli_go_rt *rt);
struct tli_error *tli_go_rt_capture(struct tli_go_rt *rt);
struct tli_error *tli_go_rt_analyze(struct tli_go_rt *rt, const struct tli_go_opts *opts,
				    json_t *result);

/*
 * The listing printed as it is built (`goroutines`, issue 14): result["go"] gets the
 * count and the summary as tli_go_rt_analyze makes them, but no "goroutines" array; the
 * goroutine objects are made one at a time afterwards (tli_go_listing_item, the same
 * objects, in the order of go.goroutines - by id, unreadable last - or, text_order, the
 * order the text printer shows them: unreadable first, then by id), so a 100k listing
 * never holds 100k objects. rt and *opts must outlive the listing.
 */
struct tli_go_listing;
struct tli_error *tli_go_rt_analyze_stream(struct tli_go_rt *rt, const struct tli_go_opts *opts, json_t *result,
					   bool text_order, struct tli_go_listing **ret);
/** Goroutines the listing holds (listed ones: not dead, not filtered out). */
size_t tli_go_listing_count(const struct tli_go_listing *l);
/** Of them, system goroutines (the text printer hides them without --system). */
size_t tli_go_listing_system(const struct tli_go_listing *l);
/** Item k's object (new reference, or NULL past the end). */
struct tli_error *tli_go_listing_item(struct tli_go_listing *l, size_t k, json_t **ret);
/** The object of the goroutine at allgs index gi (new reference; NULL if that g is
 *  unreadable or not listed), made as item k would be: callers that need a few objects
 *  out of many (`leaks` needs its leaked goroutines') make only those. */
struct tli_error *tli_go_listing_item_of(struct tli_go_listing *l, size_t gi, json_t **ret);
void tli_go_listing_free(struct tli_go_listing *l);
void tli_go_rt_destroy(struct tli_go_rt *rt);

/** A captured goroutine, as other walkers see it. */
struct tli_go_gview {
	uint64_t addr;        /**< address of the g */
	const uint8_t *raw;   /**< captured bytes of the g (size bytes), NULL if unreadable */
	uint32_t size;        /**< sizeof(runtime.g) */
	uint64_t status;      /**< atomicstatus without the scan bit */
	bool dead;            /**< idle/dead/unreadable: not a goroutine to report */
	bool waiting;         /**< _Gwaiting (or _Gleaked) */
	uint64_t goid;
	uint64_t waitreason;  /**< raw value; tli_go_rt_wait_reason() names it */
	uint64_t sp, stk_lo, stk_hi; /**< where its stack walk starts, stack bounds */
	uint64_t pc;          /**< the pc its stack walk starts at (with sp) */
	bool trap;            /**< pc/sp are a running thread's registers (not a safe point) */
	const char *problem;  /**< why it could not be decoded, or NULL */
	/* its waiting chain as copied before the stop, when the g is unchanged since
	 * (tli_go_rt_precopy_chains): pre_n sudogs of pre_size bytes */
	const uint64_t *pre_addr;
	const uint8_t *pre_raw;
	uint32_t pre_n, pre_size;
};
size_t tli_go_rt_count(const struct tli_go_rt *rt);
/** The index g address -> goroutine index + 1 (the first goroutine at an address; every
 *  non-zero address), built before the stop when the stopped allgs is the one seen then:
 *  moved into *ret (true), else false and *ret untouched. */
bool tli_go_rt_take_gindex(struct tli_go_rt *rt, struct tli_u64map *ret);
bool tli_go_rt_g(const struct tli_go_rt *rt, size_t i, struct tli_go_gview *ret);
/** The runtime's own string for a wait reason value (NULL if out of range). */
const char *tli_go_rt_wait_reason(const struct tli_go_rt *rt, uint64_t wr);
struct tli_layout *tli_go_rt_layout(const struct tli_go_rt *rt);
const struct tli_pclntab *tli_go_rt_pclntab(const struct tli_go_rt *rt);
uint64_t tli_go_rt_bias(const struct tli_go_rt *rt);
int tli_go_rt_minor(const struct tli_go_rt *rt);
/** After the capture: the target's nanotime() "now" (0 = unknown) and where it came from. */
int64_t tli_go_rt_now(const struct tli_go_rt *rt, const char **src);

/**
 * go.folded: the listing's stacks (go.goroutines[].stack, so the command ran with stacks) as
 * folded stacks for flame-graph tools: [{stack: "outer;...;inner", count}], most goroutines
 * first; system goroutines only if `system`. Goroutines without a stack are left out.
 */
struct tli_error *tli_go_folded(json_t *go, bool system);

#endif
