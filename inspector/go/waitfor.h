/* SPDX-License-Identifier: MIT */
/**
 * @file waitfor.h
 * What `leaks` and `graph` share: one capture of goroutines, channels (with
 * their queues), every goroutine's stack and optionally the heap; then each
 * goroutine classified by what it waits on, the stacks that hold each channel,
 * and the cycles of the goroutine wait-for graph.
 *
 * Classification follows the definition of Go 1.26's goroutineleak profile
 * (design: golang.org/issue/74609, "goroutine leak detection via garbage
 * collection"): a goroutine
 * blocked on a channel, select or sync primitive may be leaked; one in a nil
 * channel operation or select {} is leaked by definition; anything else
 * (or anything we are unsure about) is treated as runnable: its stack is a root.
 */
#ifndef TLI_GO_WAITFOR_H
#define TLI_GO_WAITFOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"
#include "core/session.h"
#include "core/vec.h"
#include "go/chans.h"
#include "go/heap.h"
#include "go/heap_stack.h"

/** What a goroutine's wait means for reachability. */
enum tli_go_gclass {
	TLI_GO_G_ROOT,       /**< not blocked for user reasons, or unsure: its stack is a root */
	TLI_GO_G_FOREVER,    /**< nil channel / select {}: leaked by definition */
	TLI_GO_G_CHAN,       /**< blocked on channels: runnable if any is reachable */
	TLI_GO_G_SYNC,       /**< blocked on a sync primitive with a known object */
};

/** One goroutine, classified. */
struct tli_go_ginfo {
	enum tli_go_gclass cls;
	bool runnable;              /**< (leaks) one of its objects was reached */
	bool leaked;                /**< (leaks) reported */
	uint64_t *objs;             /**< channels (CHAN) or semaphore objects (SYNC) it waits on */
	size_t nobjs;
	const char *why_root;       /**< why a user-blocked g was treated as a root (unsure) */
};

/** Goroutine indices whose stack holds one channel's address. */
TLI_VEC(tli_go_holders, size_t);

struct tli_go_waitfor {
	struct tli_session *s;
	struct tli_go_rt *rt;
	struct tli_go_chans *c;
	bool heap;                        /**< capture the heap and data/bss too (leaks) */
	struct tli_goheap *h;             /**< NULL without the heap */
	struct tli_goheap_roots roots;    /**< stacks always, data/bss with the heap */
	struct tli_goheap_precise *precise; /**< (leaks) precise stack scanning, NULL: word by word */
	char precise_problem[800];        /**< why stacks are scanned word by word, "" if precise */
	struct tli_go_ginfo *gi;          /**< per goroutine (c->gs) */
	struct tli_go_holders *refs;      /**< per channel (c->chans), filled by tli_go_waitfor_stack_refs */
	char problem[256];                /**< why reachability cannot be judged, "" if it can */
	/* words the runtime does not trace while it looks for leaks (tli_goheap_untraced) */
	uint32_t s_c_base, s_c_words;     /**< sudog.c (two words, {vp, vu}, in go1.26+) */
	uint32_t s_elem_base, s_elem_words; /**< sudog.elem (likewise) */
	struct tli_u64set untraced_objs;  /**< the sudogs of goroutines classified CHAN or SYNC, g objects, Ps */
	struct tli_u64set untraced_words; /**< their c and elem words, g slack, P non-pointer words */
	struct tli_u64set stackhi;        /**< the g.stack.hi word of every g */
	uint64_t untraced_min, untraced_max; /**< object sizes [min, max) of untraced g and P objects (0: none) */
	/* (leaks) result["go"] gets the listing's count and summary, no goroutine objects: they
	 * are made one at a time for the goroutines reported (tli_go_waitfor_gobj) */
	bool objects_on_demand;
	struct tli_go_opts gopts;         /**< the listing's options (it points to them) */
	struct tli_go_listing *listing;   /**< with objects_on_demand */
	struct tli_error *obj_err;        /**< the first object tli_go_waitfor_gobj could not make */
};

/**
 * Open the runtime and capture everything while the target is stopped, call
 * `between` (may be NULL) and release the target. Prints the verbose timing line
 * and forwards the channel walker's warnings to the session.
 */
struct tli_error *tli_go_waitfor_capture(struct tli_go_waitfor *w, bool (*between)(void *), void *arg);
/**
 * After the capture: the goroutine listing into `result` (tli_go_rt_analyze)
 * and every goroutine classified (gi, and refs zeroed). On failure w is freed.
 */
struct tli_error *tli_go_waitfor_analyze(struct tli_go_waitfor *w, json_t *result);
/**
 * (objects_on_demand, after tli_go_waitfor_analyze) the listing object of goroutine i
 * (w->c->gs[i]), made now: a new reference, NULL if that g is unreadable or on failure; an
 * object that could not be made (out of memory) is kept in w->obj_err, which the caller
 * must fail with.
 */
json_t *tli_go_waitfor_gobj(struct tli_go_waitfor *w, size_t i);
/**
 * (leaks, once w->precise exists) sync.Cond waiters on Go <= 1.25, which g.waiting does not
 * link to their notifyList (Go 1.26 sets sudog.elem to it): the object they wait on is the
 * *sync.Cond live in their own sync.(*Cond).Wait frame (the object holding the notifyList),
 * found by the frame's pointer maps; such a goroutine becomes SYNC and is judged like a
 * semaphore waiter. Those whose frame gives no single pointer stay unjudged.
 */
void tli_go_waitfor_cond(struct tli_go_waitfor *w);
/** refs: for each channel, the goroutines whose captured stack holds its address. */
void tli_go_waitfor_stack_refs(struct tli_go_waitfor *w);
/**
 * Cycles of blocked goroutines (g -> g' if g waits on a channel whose holders
 * include g') that involve at least two channels; with only_leaked, among
 * leaked goroutines only. An array of {"goroutines": [...], "channels": [...]}.
 */
json_t *tli_go_waitfor_cycles(const struct tli_go_waitfor *w, bool only_leaked);
void tli_go_waitfor_free(struct tli_go_waitfor *w);
/**
 * (leaks.c) Set gi[i].leaked as `leaks` judges it: nil-channel and select {} goroutines
 * always (but main in select {}); with the heap captured (w->heap), goroutines blocked on
 * objects nothing runnable reaches. *reach_ok: reachability could be judged.
 */
struct tli_error *tli_go_leaks_classify(struct tli_go_waitfor *w, bool *reach_ok);
/** (leaks.c) Mark the Go heap from every root as `leaks` does (after tli_go_waitfor_analyze):
 *  m then tells reachable objects from unreachable ones (free it with tli_goheap_marker_free). */
struct tli_error *tli_go_leaks_mark(struct tli_go_waitfor *w, struct tli_goheap_marker *m, bool *reach_ok);

/** (leaks_explain.c) go.explain of goroutine goid: its verdict, what it waits on and, when it
 *  is not leaked, the marker's chain from a root to that object (m traced parents). */
json_t *tli_go_leaks_explain(struct tli_go_waitfor *w, const struct tli_goheap_marker *m, bool reach_ok, int64_t goid);

/** The goroutine object with this id in a gmap (tli_go_gmap), borrowed, or NULL. */
json_t *tli_go_gmap_get(json_t *gmap, int64_t id);
/** o[k] as a new reference, JSON null if o or the member is missing. */
json_t *tli_go_json_member(json_t *o, const char *k);

#endif
