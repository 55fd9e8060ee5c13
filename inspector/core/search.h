/* SPDX-License-Identifier: MIT */
/**
 * @file search.h
 * Binary search over any sorted sequence, written once (libdrgn's binary_search.h).
 * The sequence is given by its length and a predicate on the index variable, so the
 * same macro serves arrays of structs, parallel arrays and captured tables:
 *
 *     // first span whose start is > addr, minus one: the span that may contain addr
 *     size_t i = tli_upper_bound(n, k, spans[k].start > addr);
 *     if (i > 0 && addr < spans[i - 1].end) ... spans[i - 1] ...
 *
 *     // first element not less than key
 *     size_t j = tli_lower_bound(n, k, keys[k] < key);
 *
 * `idx` names the index variable the predicate uses (a size_t declared by the macro).
 * The predicate must be monotone: true for a prefix of the sequence, false after.
 */
#ifndef TLI_CORE_SEARCH_H
#define TLI_CORE_SEARCH_H

#include <stddef.h>

/** First index in [0,n) for which `before` (true for a prefix) is false; n if none. */
#define tli_partition_point(n, idx, before) __extension__({ \
	size_t tli_lo_ = 0, tli_hi_ = (n); \
	while (tli_lo_ < tli_hi_) { \
		size_t idx = tli_lo_ + (tli_hi_ - tli_lo_) / 2; \
		if (before) tli_lo_ = idx + 1; else tli_hi_ = idx; \
	} \
	tli_lo_; })

/** First index whose element is not less than the key: `less` = element[idx] < key. */
#define tli_lower_bound(n, idx, less) tli_partition_point((n), idx, (less))
/** First index whose element is greater than the key: `greater` = element[idx] > key. */
#define tli_upper_bound(n, idx, greater) tli_partition_point((n), idx, !(greater))

#endif
