/* SPDX-License-Identifier: MIT */
/** @file changlobals.h  Channels held by globals (data/bss pointer words that point at an hchan). */
#ifndef TLI_GO_CHANGLOBALS_H
#define TLI_GO_CHANGLOBALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "go/chans.h"

#define TLI_CHAN_GLOBALS_MAX 100000

struct tli_go_chan_global {
	uint64_t chan;   /**< the hchan */
	uint64_t slot;   /**< the data/bss word holding it */
	char name[128];  /**< "main.jobs", "main.pool+0x8", or "" without a symbol table */
};

struct tli_go_chan_globals {
	struct tli_go_chan_global *v; /**< sorted by chan, then slot */
	size_t n;
	bool truncated;               /**< more than TLI_CHAN_GLOBALS_MAX slots */
};

/** How the validator learns about a type descriptor (the unit tests fake it). */
struct tli_go_type_probe {
	uint64_t types_lo, types_hi;  /**< [types, etypes) of the module, runtime addresses */
	bool have_ptrbytes;           /**< ptrbytes is meaningful */
	bool (*type_info)(void *ctx, uint64_t addr, uint64_t *size, uint64_t *ptrbytes, int *kind);
	void *ctx;
};

/**
 * Is the `L.hchan_size` bytes at `raw`, read from `addr`, a channel makechan
 * could have made? `wq_last` = offset of runtime.waitq.last. `why` (may be
 * NULL) receives the first rule that failed.
 */
bool tli_go_hchan_plausible(const struct tli_go_chan_layout *L, uint32_t wq_last, uint64_t addr,
			    const uint8_t *raw, const struct tli_go_type_probe *tp, char *why, size_t whylen);

/** Scan the executable's data and bss (target stopped). */
struct tli_error *tli_go_chan_globals_find(struct tli_session *s, struct tli_layout *l, uint64_t bias,
					   struct tli_go_chan_globals *ret);
void tli_go_chan_globals_free(struct tli_go_chan_globals *g);
/** Number of slots holding `chan`; *first = index of the first. */
size_t tli_go_chan_globals_of(const struct tli_go_chan_globals *g, uint64_t chan, size_t *first);

#endif
