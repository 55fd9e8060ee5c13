/* SPDX-License-Identifier: MIT */
/**
 * @file census.h
 * Live Go heap objects by type (`jmap -histo:live` for Go) and who retains them,
 * computed on a heap already captured by go/heap.h, after the target is released.
 *
 * Live: marked from the roots the runtime uses (data, bss, every goroutine's
 * used stack, thread registers, finalizer/cleanup specials, the Ps' current
 * tiny-allocator blocks); garbage not yet
 * swept is not live.
 *
 * Types propagate through the runtime's own type descriptors (internal/abi.Type
 * and its PtrType, StructType, ArrayType, SliceType, ChanType, MapType,
 * InterfaceType, ITab; runtime.ptrtype ... on go1.19), so stripped binaries are
 * typed wherever a typed pointer reaches an object:
 *   - the malloc header / mspan.largeType of an object (go1.22+);
 *   - a typed pointer to an object's first byte, from a typed object or root
 *     (pointer fields, slice backing arrays counted as "[]T", string bytes as
 *     "string data", channel buffers, map buckets/groups, interface values);
 *   - typed roots: with DWARF, every global variable and its type's runtime
 *     descriptor (DW_AT_go_runtime_type).
 * Interior pointers never type an object. Typed work runs before untyped work,
 * and an object first reached untyped is re-typed (once) when a typed edge
 * reaches it later; every live object is counted once. Objects whose type stays
 * unknown are grouped by size class, and the share of live bytes left untyped is
 * reported.
 *
 * Retention: each live object is attributed to the root reaching it first and
 * the path of edge labels from there, interned into path nodes (memory
 * O(distinct paths), repeats such as linked lists collapsed, depth bounded);
 * the result is a generic profile (sample_types inuse_objects/inuse_space,
 * samples with a leaf-first stack: type, labels, ..., root).
 *
 * Per-object state lives in flat arrays indexed like the mark bits: no
 * per-object allocation. Everything reads the captured copy and the executable
 * file; descriptors built at run time that were not captured stay unknown.
 *
 * Phases (see go/heap.h for the capture):
 *   tli_go_census_prepare   files only (before the stop): descriptor layouts, DWARF globals
 *   ... heap capture, roots capture, tli_target_release ...
 *   tli_go_census_run       after release: adds types/untyped/typed_share (and retention) to go
 */
#ifndef TLI_GO_CENSUS_H
#define TLI_GO_CENSUS_H

#include <jansson.h>
#include <stdbool.h>

#include "core/error.h"
#include "core/session.h"
#include "go/goroutines.h"
#include "go/heap.h"

struct tli_go_census;

struct tli_go_census_opts {
	bool retention;   /**< build go.retention (the profile; can be big) */
	int top;          /**< rows of go.types kept (0: 50, < 0: all) */
};

/** Before the stop: descriptor layouts, DWARF globals with their runtime types. */
struct tli_error *tli_go_census_prepare(struct tli_session *s, struct tli_go_rt *rt, struct tli_go_census **ret);
/** After release: go.types, go.untyped, go.typed_share, go.census (and go.retention if asked). */
struct tli_error *tli_go_census_run(struct tli_go_census *c, struct tli_goheap *h, const struct tli_goheap_roots *r,
				    const struct tli_go_census_opts *o, json_t *go);
void tli_go_census_destroy(struct tli_go_census *c);
struct tli_go_type_layout;
/** The type descriptor layout the census reads (for tli_goheap_prepare_types). */
const struct tli_go_type_layout *tli_go_census_type_layout(const struct tli_go_census *c);


#endif
