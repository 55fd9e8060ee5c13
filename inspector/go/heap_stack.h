/* SPDX-License-Identifier: MIT */
/**
 * @file heap_stack.h
 * Precise scanning of goroutine stacks as the garbage collector does it
 * (runtime/mgcmark.go scanstack, scanframeworker): per frame the locals and
 * arguments pointer maps at the frame's continuation pc, stack objects
 * (address-taken locals) scanned only when something scanned points at them,
 * g.sched.ctxt, the defer records, the panic record; word by word only where the
 * runtime itself scans so (the asyncPreempt/debugCallV2 frames and the frame
 * below each). Frames whose maps cannot be read, stacks that cannot be unwound,
 * and goroutines running on a thread (stopped at no safe point) are scanned word
 * by word (tli_goheap_mark_stack) and counted as such.
 *
 * Uses the captured stacks of tli_goheap_roots and the goroutine capture
 * (tli_go_rt); works after the target is released.
 */
#ifndef TLI_GO_HEAP_STACK_H
#define TLI_GO_HEAP_STACK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/session.h"
#include "go/goroutines.h"
#include "go/heap.h"

/** What precise scanning did (leak_stats.stack_scan). */
struct tli_goheap_stack_stats {
	uint64_t stacks_precise;        /**< unwound to their end, every frame by its maps or as the runtime */
	uint64_t stacks_conservative;   /**< scanned word by word as a whole */
	uint64_t stacks_partial;        /**< unwinding stopped early: the rest word by word */
	uint64_t frames_precise, frames_conservative;   /**< conservative: by the runtime's rule or as fallback */
	uint64_t frames_fallback;       /**< of frames_conservative: maps unreadable (not the runtime's rule) */
	uint64_t frames_dead;           /**< continpc 0: nothing live */
	uint64_t stack_objects, stack_objects_scanned;
	const char *last_problem;       /**< an example of why a stack or frame fell back */
};

struct tli_goheap_precise;

/**
 * Resolve what precise scanning needs (files and layout only). On error (no
 * funcdata, a layout without the records) every stack stays conservative: the
 * caller says why.
 */
struct tli_error *tli_goheap_precise_new(struct tli_session *s, struct tli_go_rt *rt,
					 struct tli_goheap_precise **ret);
void tli_goheap_precise_destroy(struct tli_goheap_precise *p);
const struct tli_goheap_stack_stats *tli_goheap_precise_stats(const struct tli_goheap_precise *p);

/** A heap pointer v found on a stack, held at address at (0: in a record off the stack). */
typedef void (*tli_goheap_word_fn)(void *ctx, uint64_t at, uint64_t v);

/**
 * Goroutine g's captured stack st as the collector reads it: every pointer into the heap
 * (h's range) that it would scan is given to emit; stack objects are resolved, so their
 * words come too. Where the runtime itself scans word by word, where maps cannot be read,
 * and for a goroutine running on a thread (or p NULL), every word. False unless the whole
 * stack was scanned precisely. The census's view of stacks (census_stack.c).
 */
bool tli_goheap_stack_words(struct tli_goheap_precise *p, const struct tli_goheap *h, const struct tli_goheap_range *st,
			    const struct tli_go_gview *g, tli_goheap_word_fn emit, void *ctx);

/**
 * The heap pointers live in the innermost frame of function func (pclntab name) on goroutine
 * g's stack, by that frame's locals and arguments maps at its continuation pc (stack objects
 * not included): their number, written to out (at most max); -1 if g has no such frame, the
 * frame is not scanned by its maps, or more than max. Finds what a blocked goroutine's own
 * frame holds (e.g. the *sync.Cond of sync.(*Cond).Wait, waitfor.c).
 */
int tli_goheap_frame_ptrs(struct tli_goheap_precise *p, const struct tli_goheap *h, const struct tli_goheap_range *st,
			  const struct tli_go_gview *g, const char *func, uint64_t *out, int max);

/** Goroutine i's stack is a root: scanned precisely where possible (p NULL: word by word). */
void tli_goheap_mark_stack_precise(struct tli_goheap_marker *m, const struct tli_goheap_roots *r, size_t i,
				   struct tli_goheap_precise *p);

#endif
