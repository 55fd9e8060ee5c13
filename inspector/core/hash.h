/* SPDX-License-Identifier: MIT */
/**
 * @file hash.h
 * Hashing and hash tables, written once: FNV-1a, a set and a map of non-zero
 * uint64 keys (addresses: cycle detection, de-duplication), and a map from
 * strings to uint64. Open addressing, linear probing, load <= 1/2.
 * Zero-initialize a table to use it; free it with its _free function.
 */
#ifndef TLI_CORE_HASH_H
#define TLI_CORE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The offset basis this project has always used: one digit short of FNV's 14695981039346656037
 * (a typo kept on purpose, since layout-cache file names are derived from it). */
#define TLI_FNV1A_INIT 1469598103934665603ull

/** FNV-1a 64 over n bytes, continuing from h (start with TLI_FNV1A_INIT). */
static inline uint64_t tli_fnv1a_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}
/** FNV-1a 64 of a NUL-terminated string. */
static inline uint64_t tli_fnv1a(const char *s)
{
	uint64_t h = TLI_FNV1A_INIT;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}
/** A 64-bit mixer for integer keys (addresses are poorly distributed in their low bits). */
static inline uint64_t tli_hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

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
/** Room for n keys in all without growing (false on out of memory). */
bool tli_u64map_reserve(struct tli_u64map *m, size_t n);
/** Value, or 0 if absent. */
uint64_t tli_u64map_get(const struct tli_u64map *m, uint64_t key);
/** True and *ret = value if key is present (for maps where 0 is a valid value). */
bool tli_u64map_find(const struct tli_u64map *m, uint64_t key, uint64_t *ret);
void tli_u64map_free(struct tli_u64map *m);

/** String -> uint64 map (indexes of DWARF names, runtime-map entries); keys are copied. */
struct tli_strmap;
struct tli_strmap *tli_strmap_new(void);
/** A map whose keys are not copied: they must outlive it (names inside a mapped file). */
struct tli_strmap *tli_strmap_new_borrowed(void);
void tli_strmap_free(struct tli_strmap *m);
/** Insert or overwrite. Returns false on ENOMEM. */
bool tli_strmap_put(struct tli_strmap *m, const char *key, uint64_t val);
bool tli_strmap_get(const struct tli_strmap *m, const char *key, uint64_t *val);
size_t tli_strmap_count(const struct tli_strmap *m);
/** Calls fn with every key (in table order) until it returns false. */
void tli_strmap_foreach(const struct tli_strmap *m, bool (*fn)(void *arg, const char *key), void *arg);

#endif
