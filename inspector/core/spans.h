/* SPDX-License-Identifier: MIT */
/**
 * @file spans.h
 * Address spans [a, b) as the capture plans its reads (core/target.c only).
 */
#ifndef TLI_CORE_SPANS_H
#define TLI_CORE_SPANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "target.h"
#include "vec.h"

struct tli_span {
	uint64_t a, b; /* [a, b) */
};

TLI_VEC(tli_spans, struct tli_span);

/** Append [a, b) (nothing if empty), coalescing with a last span it touches. False on out of memory. */
bool tli_spans_push(struct tli_spans *s, uint64_t a, uint64_t b);
/** qsort order: by start, then end. */
int tli_span_cmp(const void *x, const void *y);
/** The non-empty ranges as spans [addr, end) (end saturated at UINT64_MAX), sorted (req is allocated). */
bool tli_spans_from_ranges(const struct tli_range *ranges, size_t n, struct tli_spans *req);
/** Append the sorted spans of in to out, merging those closer than gap (gap 0: overlapping/touching). */
bool tli_spans_merge(const struct tli_spans *in, uint64_t gap, struct tli_spans *out);

#endif
