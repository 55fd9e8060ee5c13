/* SPDX-License-Identifier: MIT */
/**
 * @file u64set.h
 * Small open-addressing hash set / map of non-zero uint64 keys (addresses),
 * used for cycle detection and de-duplication by the channel and leak walkers.
 * Zero-initialize to use; free with the _free function.
 */
#ifndef TLI_GO_U64SET_H
#define TLI_GO_U64SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tli_u64set {
	uint64_t *keys;
	size_t cap, n;
};
/** Add key (non-zero). Returns true if it was newly added, false if present OR out of memory
 *  (tell them apart with tli_u64set_has). */
bool tli_u64set_add(struct tli_u64set *s, uint64_t key);
bool tli_u64set_has(const struct tli_u64set *s, uint64_t key);
void tli_u64set_free(struct tli_u64set *s);

struct tli_u64map {
	uint64_t *keys, *vals;
	size_t cap, n;
};
/** Insert or replace (key non-zero). False on out of memory. */
bool tli_u64map_put(struct tli_u64map *m, uint64_t key, uint64_t val);
/** Value, or 0 if absent. */
uint64_t tli_u64map_get(const struct tli_u64map *m, uint64_t key);
void tli_u64map_free(struct tli_u64map *m);

#endif
