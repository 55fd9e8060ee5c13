/* SPDX-License-Identifier: MIT */
/**
 * @file chans_internal.h
 * What the files of the channel walker share (not a public API; see chans.h).
 * The capture rounds of tli_go_chans_snapshot, one file each:
 *   chans_waiting.c   each blocked goroutine's sudogs (its g.waiting chain)
 *   semtable.c        semaphore waiters' sudogs in runtime.semtable (Go <= 1.25)
 *   chans.c           the snapshot: which channels, their hchan headers, their
 *                     element types, in order
 *   chans_queues.c    each channel's recvq/sendq (sudog lists)
 *   chans_buffers.c   the ring buffers and their elements
 * and afterwards, on the copy:
 *   chans_json.c      the `chan ADDR` object, blocked_on per goroutine
 *   chans_layout.c    the layout of runtime.hchan, sudog, waitq and the type descriptor
 */
#ifndef TLI_GO_CHANS_INTERNAL_H
#define TLI_GO_CHANS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hash.h"
#include "core/pagecache.h"
#include "core/target.h"
#include "go/chans.h"

/* reflect.Kind values (a stable public API, not a runtime layout) */
enum { K_BOOL = 1, K_INT, K_INT8, K_INT16, K_INT32, K_INT64, K_UINT, K_UINT8, K_UINT16, K_UINT32,
       K_UINT64, K_UINTPTR, K_FLOAT32, K_FLOAT64, K_COMPLEX64, K_COMPLEX128, K_ARRAY, K_CHAN,
       K_FUNC, K_INTERFACE, K_MAP, K_POINTER, K_SLICE, K_STRING, K_STRUCT, K_UNSAFEPOINTER };

/** A pointer worth following: non-nil, 8-aligned, [p, p+len) mapped. */
static inline bool tli_go_chans_ptr_ok(struct tli_target *t, uint64_t p, uint64_t len)
{
	return p && (p & 7) == 0 && p + len > p && tli_target_plausible(t, p, len);
}

/** The capture in progress. */
struct tli_go_snapctx {
	struct tli_go_chans *c;
	struct tli_target *t;
	struct tli_u64map gindex;      /**< g address -> index + 1 (the first goroutine at it) */
	struct tli_pagecache pages;    /**< sudogs are read through whole pages (see core/pagecache.h) */
	bool chan_waits_only;          /**< tli_go_chans_opts.chan_waits_only */
};

/** Add a line to c->warnings (bounded like the text the commands print). */
void tli_go_chans_warn(struct tli_go_chans *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- chans_waiting.c ---- */
/** Index of the goroutine at g address `gaddr` (SIZE_MAX if none). */
size_t tli_go_snap_g(const struct tli_go_snapctx *x, uint64_t gaddr);
/** Decode one captured sudog (L.sudog_size bytes at raw, read from addr); stale if its g no longer waits there. */
void tli_go_sudog_decode(const struct tli_go_snapctx *x, uint64_t addr, const uint8_t *raw, struct tli_go_sudog *s);
/** Every waiting goroutine's g.waiting chain, into c->gsudogs. */
struct tli_error *tli_go_capture_waiting(struct tli_go_snapctx *x);

/* ---- semtable.c ---- */
/** Link semaphore waiters without a sudog to theirs in runtime.semtable (sets c->sema_*). */
struct tli_error *tli_go_capture_semtable(struct tli_go_snapctx *x, struct tli_layout *l);

/* ---- chans_queues.c ---- */
/** Every channel's recvq and sendq. */
struct tli_error *tli_go_capture_queues(struct tli_go_snapctx *x);

/* ---- chans_buffers.c ---- */
/** The ring buffers (and, with o->values, the bytes of string elements). */
struct tli_error *tli_go_capture_buffers(struct tli_go_snapctx *x, const struct tli_go_chans_opts *o);
/** The element in ring slot `slot` as JSON (*ok: it was in the captured ring). */
json_t *tli_go_chan_elem_value(const struct tli_go_chans *c, const struct tli_go_chan *ch, uint64_t slot,
			       bool *ok);

#endif
