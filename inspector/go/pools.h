/* SPDX-License-Identifier: MIT */
/**
 * @file pools.h
 * `pools`: long-lived pools found in the Go heap, from outside. For every
 * database/sql.DB reachable from the program (go.pools.sql_dbs): the figures
 * db.Stats() would return, the goroutines waiting in (*DB).conn for a
 * connection, the in-use connections that only the pool's own bookkeeping
 * still reaches (leaked: an *sql.Rows dropped without Close) and the
 * goroutines whose stacks reach an in-use connection (held_by).
 *
 * One pipeline (pools_cmd.c): layouts before the stop; goroutines, roots and
 * the Go heap (go/heap.h) captured while stopped; after the release the heap
 * census (go/census.h) types and names the objects and the pool walkers
 * (pools_sql.c) read them from the copy. docs/json-schema.md has the keys.
 */
#ifndef TLI_GO_POOLS_H
#define TLI_GO_POOLS_H

#include <jansson.h>

#include "core/error.h"
#include "core/session.h"

struct tli_go_pools_opts {
	int unused;   /**< no options yet */
};

/** result.go.pools. Errors: TLI_E_NOT_GO if the target is not a Go program. */
struct tli_error *tli_go_cmd_pools(struct tli_session *s, const struct tli_go_pools_opts *o, json_t *result);

struct tli_go_rt;
struct tli_goheap;
struct tli_go_census;
struct tli_goheap_roots;

/**
 * go.pools from another pipeline's capture (the heap pipeline of `snapshot` and the first
 * screen: go/heap_cmd.h with .pools): after the release, once that census ran with
 * retention (root names). Every pool kind `pools` lists, from the same walkers.
 */
void tli_go_pools_after_census(struct tli_session *s, struct tli_go_rt *rt, struct tli_goheap *h,
			       struct tli_go_census *census, struct tli_goheap_roots *roots, json_t *go);

#endif
