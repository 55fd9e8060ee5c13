/* SPDX-License-Identifier: MIT */
/**
 * @file graph.h
 * The goroutine <-> channel wait-for graph of `graph` (graph.c) and its grouped
 * form (graph_groups.c): nodes with the same label and the same neighbourhood,
 * refined over a few rounds as in Weisfeiler-Lehman colour refinement, become one
 * node with a count, so that 20,000 copies of "a request goroutine blocked
 * sending on its own channel" are drawn as one pair of nodes and one edge.
 */
#ifndef TLI_GO_GRAPH_H
#define TLI_GO_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/session.h"

struct tli_go_waitfor;

enum tli_go_gnode_kind { TLI_GO_GNODE_GOROUTINE, TLI_GO_GNODE_CHANNEL };
enum tli_go_gedge_kind { TLI_GO_GEDGE_RECV, TLI_GO_GEDGE_SEND, TLI_GO_GEDGE_HELD_BY };

struct tli_go_gnode {
	enum tli_go_gnode_kind kind;
	size_t idx;       /**< into waitfor's c->gs (goroutine) or c->chans (channel) */
	bool active;      /**< inside --focus (all are without it) */
};

struct tli_go_gedge {
	size_t u, v;      /**< node indices: goroutine -> channel (recv/send), channel -> goroutine (held-by) */
	enum tli_go_gedge_kind kind;
	bool select;
};

struct tli_go_graph {
	const struct tli_go_waitfor *w;
	struct tli_go_gnode *nodes;
	size_t nnodes, capn;
	struct tli_go_gedge *edges;
	size_t nedges, cape;
	struct tli_u64map gindex;   /**< goroutine index + 1 -> node */
	size_t *group_of;           /**< per node: its group (tli_go_graph_groups) */
};

/** Nodes and edges from an analysed wait-for capture (stack refs filled). */
struct tli_error *tli_go_graph_build(const struct tli_go_waitfor *w, struct tli_go_graph *gr);
void tli_go_graph_free(struct tli_go_graph *gr);
/** "g18" or "c0xc000012345": the id of node n in the result tree. */
void tli_go_graph_node_id(const struct tli_go_graph *gr, size_t n, char *buf, size_t cap);
/**
 * Group the active nodes and put graph["groups"] = {"nodes": [...], "edges": [...]}
 * into `graph`: group nodes (largest first) with their count, a few member ids and
 * the label they share, "in_cycle" when members are in one of `cycles`
 * (tli_go_waitfor_cycles); group edges with their count. gmap: tli_go_gmap.
 */
struct tli_error *tli_go_graph_groups(struct tli_go_graph *gr, json_t *gmap, json_t *cycles, json_t *graph);

#endif
