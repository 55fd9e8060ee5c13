/* SPDX-License-Identifier: MIT */
/**
 * @file gfacts.h
 * Goroutine facts every Go walker and `explain` share, each written once:
 *   - the goroutine status constants (_Gidle, _Grunning, ..., the _Gscan bit),
 *     resolved by name from the layout (DWARF constants or runtime maps), never
 *     typed in (runtime/runtime2.go, the _G* iota block, go1.19 … go1.27);
 *   - the classes of wait reasons, by the strings the runtime prints
 *     (runtime/runtime2.go waitReasonStrings);
 *   - how an address is written in the JSON trees ("0x..." strings).
 */
#ifndef TLI_GO_GFACTS_H
#define TLI_GO_GFACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"
#include "core/layout.h"

/**
 * Value of the first of `names` (NULL-terminated, alternate spellings across
 * releases) the layout knows. If none: *present = false (may be NULL) and, unless
 * `optional`, a TLI_E_NO_INFO error naming names[0].
 */
struct tli_error *tli_go_constant(struct tli_layout *l, const char *const *names, int64_t *ret, bool optional,
				  bool *present);

/** Values of the runtime's goroutine status constants (runtime.g.atomicstatus). */
struct tli_go_gstatus {
	int64_t idle, runnable, running, syscall, waiting, dead, preempted;
	int64_t scan;          /**< _Gscan: the bit ORed into a status while the GC scans the stack */
	int64_t leaked;        /**< _Gleaked (go1.26+: a leaked goroutine caught by the GC) */
	int64_t deadextra;     /**< _Gdeadextra (go1.26+: a dead g attached to an extra M) */
	bool has_leaked, has_deadextra;
};

/**
 * Resolve the status constants by name. Fails (TLI_E_NO_INFO) when a constant
 * every runtime has is unknown; _Gleaked and _Gdeadextra are optional.
 */
struct tli_error *tli_go_gstatus_resolve(struct tli_layout *l, struct tli_go_gstatus *ret);
/** _Gidle, _Gdead or _Gdeadextra (status without the scan bit): not a goroutine to report. */
bool tli_go_gstatus_is_dead(const struct tli_go_gstatus *st, uint64_t status);
/** _Gwaiting or _Gleaked (status without the scan bit): it has a wait reason. */
bool tli_go_gstatus_is_waiting(const struct tli_go_gstatus *st, uint64_t status);
/**
 * The name of the constant whose value is `raw` without the scan bit, with
 * " + _Gscan" when the bit is set ("_Gwaiting", "_Grunnable + _Gscan"). Every
 * _G constant of the runtime is looked up by name in the layout. buf is ""
 * when the layout names no constant with that value.
 */
void tli_go_gstatus_name(struct tli_layout *l, const struct tli_go_gstatus *st, uint64_t raw, char *buf,
			 size_t cap);

/* ---- wait reasons, by the strings the runtime prints (NULL is no reason) ---- */

/** True if the wait reason is a "user" block (channel, select, sync primitive) per Go 1.26's definition. */
bool tli_go_reason_user_blocked(const char *reason);
/** True for chan send/receive/select (with cases). */
bool tli_go_reason_chan(const char *reason);
/** True for the waits that can never end: nil chan, select {}. */
bool tli_go_reason_forever(const char *reason);
/** True for sync.* waits. */
bool tli_go_reason_sync(const char *reason);
/**
 * True for the waits that queue a sudog in runtime.semtable: sync.Mutex.Lock,
 * sync.RWMutex.Lock/RLock, sync.WaitGroup.Wait and the raw "semacquire" (what
 * Go <= 1.23 prints for some of those). Not sync.Cond.Wait (notifyList).
 */
bool tli_go_reason_sema(const char *reason);

/** An address as the JSON trees write it: the string "0x..." (lower-case hex). */
json_t *tli_go_hex(uint64_t v);

/**
 * A group's goroutine ids: keep the `max` smallest, ascending (goroutines are met in allgs
 * order, not by id), so a group always names its oldest members.
 */
void tli_go_ids_keep_smallest(json_t *ids, uint64_t goid, size_t max);

#endif
