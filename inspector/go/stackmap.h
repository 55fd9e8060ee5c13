/* SPDX-License-Identifier: MIT */
/**
 * @file stackmap.h
 * The runtime's view of a goroutine's stack frames, for precise stack scanning:
 * the frames as the garbage collector's unwinder produces them (pc, continpc,
 * sp, fp, varp, argp) and, per frame, the locals and arguments pointer bitmaps
 * at the frame's continuation pc and its stack objects (address-taken locals),
 * all read from pclntab and funcdata, so stripped binaries work the same.
 *
 * Upstream (go1.19 … go1.27, same rules): runtime/traceback.go
 * unwinder.resolveInternal/next (frame layout, continpc after sigpanic),
 * runtime/stkframe.go getStackMap and argMapInternal, runtime/symtab.go
 * stackmap/stackmapdata, runtime/stack.go stackObjectRecord, runtime/mgcmark.go
 * scanframeworker (which frames the runtime scans conservatively: asyncPreempt,
 * debugCallV2 and the frame below each).
 *
 * Constants (PCDATA_StackMapIndex, FUNCDATA_*, funcIDs, funcFlags,
 * ArgsSizeUnknown) and the records' members come by name from the layout.
 * Every address in a frame is a target address (biased).
 */
#ifndef TLI_GO_STACKMAP_H
#define TLI_GO_STACKMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/session.h"
#include "go/goroutines.h"
#include "go/pclntab.h"

struct tli_go_stackmaps;

/** Resolve what precise scanning needs (files only). NULL *ret + error if it cannot work here. */
struct tli_error *tli_go_stackmaps_new(struct tli_session *s, struct tli_go_rt *rt, struct tli_go_stackmaps **ret);
void tli_go_stackmaps_destroy(struct tli_go_stackmaps *sm);

/** One physical frame as the runtime's unwinder sees it. */
struct tli_go_sframe {
	struct tli_gofunc fn;       /**< its function (link-time entry/end) */
	uint64_t pc, continpc;      /**< continpc 0: the frame is dead (no live pointers) */
	uint64_t sp, fp, varp, argp, lr;
	bool conservative;          /**< the runtime scans this frame word by word */
	bool first;                 /**< innermost frame */
};

/** Reads a word of the captured stack; false if not captured. */
typedef bool (*tli_go_stack_read_fn)(const void *ctx, uint64_t addr, uint64_t *ret);

/** A frame-by-frame walk of one goroutine's stack. */
struct tli_go_sunwind {
	const struct tli_go_stackmaps *sm;
	tli_go_stack_read_fn read;
	const void *ctx;
	uint64_t stk_hi;
	struct tli_go_sframe frame;
	int64_t callee_fid;         /**< funcID of the frame below (-1: none) */
	bool conservative_next;     /**< the next frame is the parent of an asyncPreempt/debugCall frame */
	bool valid;                 /**< frame holds a frame */
	const char *problem;        /**< why the walk stopped before the top of the stack, or NULL */
	unsigned n;
};

/** Start at (pc, sp) of a stopped goroutine (g.sched or syscallpc/sp). */
void tli_go_sunwind_init(struct tli_go_sunwind *u, const struct tli_go_stackmaps *sm, uint64_t pc, uint64_t sp,
			 uint64_t stk_hi, tli_go_stack_read_fn read, const void *ctx);
/** Move to the caller (u->valid false at the end or on a problem). */
void tli_go_sunwind_next(struct tli_go_sunwind *u);

/** A frame's pointer maps at its continpc (getStackMap). */
struct tli_go_fmaps {
	uint32_t nlocals;           /**< words of locals described, ending at varp */
	const uint8_t *locals;      /**< nlocals bits (NULL if 0) */
	uint32_t nargs;             /**< words of arguments described, from argp */
	const uint8_t *args;
	uint64_t nobjs;             /**< stack object records */
	const uint8_t *objs;
	uint64_t argbytes;          /**< frame.argBytes() (conservative frames) */
};

/**
 * The maps of frame f. False with *why when they cannot be read (the runtime
 * would throw: missing stackmap, index out of range; or a reflect frame whose
 * argument map lives in the target): the caller scans the frame conservatively.
 */
bool tli_go_stackmaps_frame(const struct tli_go_stackmaps *sm, const struct tli_go_sframe *f, struct tli_go_fmaps *ret,
			    const char **why);

/** One stack object of a frame (a stackObjectRecord, decoded). */
struct tli_go_stkobj {
	uint64_t addr;              /**< target address of the object in the frame */
	uint64_t size, ptrbytes;
	const uint8_t *mask;        /**< ptrbytes/8 bits; NULL: scan word by word (GC program or unreadable) */
};

/** Record k of m at frame f; false if unreadable or not allocated in the frame yet (below sp). */
bool tli_go_stackmaps_obj(const struct tli_go_stackmaps *sm, const struct tli_go_sframe *f,
			  const struct tli_go_fmaps *m, uint64_t k, struct tli_go_stkobj *ret);

#endif
