/* SPDX-License-Identifier: MIT */
/**
 * @file bytes.h
 * Reading little-endian integers out of captured target bytes (x86-64 only).
 */
#ifndef TLI_CORE_BYTES_H
#define TLI_CORE_BYTES_H

#include <stdint.h>
#include <string.h>

/** The 8-byte value at p. */
static inline uint64_t tli_rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/** An n-byte (1..8) unsigned value at p, zero-extended. */
static inline uint64_t tli_rdn(const uint8_t *p, uint32_t n)
{
	uint64_t v = 0;
	memcpy(&v, p, n > 8 ? 8 : n);
	return v;
}

#endif
