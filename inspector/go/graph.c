/* SPDX-License-Identifier: MIT */
/*
 * `graph`: the goroutine <-> channel wait-for graph. Goroutine -> channel edges
 * are the channel queues (waits to send / receive); channel -> goroutine edges
 * ("held-by") are the goroutine stacks that hold the channel's address. Cycles
 * among blocked goroutines are listed.
 *
 * A service with 20,000 stuck goroutines has 40,000 nodes, which no layout
 * program draws; most of them are copies of a few shapes (one goroutine per
 * request, each blocked on its own channel). So the graph is also grouped
 * (graph_groups.c): nodes with the same label and the same neighbourhood
 * become one node with a count. `--focus ID|ADDR` keeps what lies within two
 * edges of one goroutine or channel. The renderers draw it (text, dot).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/chans.h"
#include "go/graph.h"
#include "go/waitfor.h"

/* ---- the graph as arrays ---- */

static bool add_node(struct tli_go_graph *gr, enum tli_go_gnode_kind kind, size_t idx)
{
	if (!tli_vec_grow_((void **)&gr->nodes, &gr->capn, gr->nnodes + 1, sizeof(*gr->nodes)))
		return false;
	gr->nodes[gr->nnodes++] = (struct tli_go_gnode){ .kind = kind, .idx = idx, .active = true };
	return true;
}

static bool add_edge(struct tli_go_graph *gr, size_t u, size_t v, enum tli_go_gedge_kind kind, bool sel)
{
	if (!tli_vec_grow_((void **)&gr->edges, &gr->cape, gr->nedges + 1, sizeof(*gr->edges)))
		return false;
	gr->edges[gr->nedges++] = (struct tli_go_gedge){ .u = u, .v = v, .kind = kind, .select = sel };
	return true;
}

/* node of goroutine i (c->gs), created on first use; SIZE_MAX when out of memory */
static size_t gnode_of(struct tli_go_graph *gr, size_t i)
{
	uint64_t n;
	if (tli_u64map_find(&gr->gindex, i + 1, &n))
		return (size_t)n;
	if (!add_node(gr, TLI_GO_GNODE_GOROUTINE, i) || !tli_u64map_put(&gr->gindex, i + 1, gr->nnodes - 1))
		return SIZE_MAX;
	return gr->nnodes - 1;
}

struct tli_error *tli_go_graph_build(const struct tli_go_waitfor *w, struct tli_go_graph *gr)
{
	const struct tli_go_chans *c = w->c;
	gr->w = w;
	struct tli_u64map byid = { 0 }; /* goid + 1 -> goroutine index */
	bool ok = true;
	for (size_t i = 0; i < c->ngs && ok; i++)
		if (!c->gs[i].dead && c->gs[i].goid >= 0)
			ok = tli_u64map_put(&byid, (uint64_t)c->gs[i].goid + 1, i + 1);
	for (size_t k = 0; k < c->nchans && ok; k++) {
		const struct tli_go_chan *ch = &c->chans[k];
		if (!(ok = add_node(gr, TLI_GO_GNODE_CHANNEL, k)))
			break;
		size_t cn = gr->nnodes - 1;
		for (int q = 0; q < 2 && ok; q++) {
			const struct tli_go_sudog *arr = q ? ch->sendq : ch->recvq;
			size_t na = q ? ch->nsendq : ch->nrecvq;
			for (size_t j = 0; j < na && ok; j++) {
				uint64_t gi;
				if (arr[j].stale || arr[j].goid < 0 || !tli_u64map_find(&byid, (uint64_t)arr[j].goid + 1, &gi))
					continue;
				size_t gn = gnode_of(gr, (size_t)gi - 1);
				ok = gn != SIZE_MAX && add_edge(gr, gn, cn, q ? TLI_GO_GEDGE_SEND : TLI_GO_GEDGE_RECV,
								arr[j].is_select);
			}
		}
		const struct tli_go_holders *r = &w->refs[k];
		for (size_t j = 0; j < r->n && ok; j++) {
			size_t gn = gnode_of(gr, r->v[j]);
			ok = gn != SIZE_MAX && add_edge(gr, cn, gn, TLI_GO_GEDGE_HELD_BY, false);
		}
	}
	/* nil-channel / select {} goroutines wait on nothing: nodes of their own */
	for (size_t i = 0; i < c->ngs && ok; i++)
		if (!c->gs[i].dead && w->gi[i].cls == TLI_GO_G_FOREVER)
			ok = gnode_of(gr, i) != SIZE_MAX;
	tli_u64map_free(&byid);
	return ok ? NULL : &tli_enomem;
}

void tli_go_graph_free(struct tli_go_graph *gr)
{
	free(gr->nodes);
	free(gr->edges);
	free(gr->group_of);
	tli_u64map_free(&gr->gindex);
	memset(gr, 0, sizeof(*gr));
}

/* ---- --focus ---- */

/* the node `focus` names: a goroutine id or a channel address (0x...) */
static struct tli_error *focus_node(const struct tli_go_graph *gr, const char *focus, size_t *ret)
{
	const struct tli_go_chans *c = gr->w->c;
	char *end;
	bool chan = !strncmp(focus, "0x", 2) || !strncmp(focus, "0X", 2);
	unsigned long long v = strtoull(focus, &end, chan ? 16 : 10);
	if (!*focus || *end)
		return tli_error_create(TLI_E_USAGE, "--focus %s: expected a goroutine id or a channel address (0x...)",
					focus);
	for (size_t n = 0; n < gr->nnodes; n++) {
		const struct tli_go_gnode *x = &gr->nodes[n];
		if (chan ? x->kind == TLI_GO_GNODE_CHANNEL && c->chans[x->idx].addr == v
			 : x->kind == TLI_GO_GNODE_GOROUTINE && (unsigned long long)c->gs[x->idx].goid == v) {
			*ret = n;
			return NULL;
		}
	}
	return tli_error_create(TLI_E_NO_TARGET, "--focus %s: no %s %s in the wait-for graph (it has the goroutines "
				"blocked on channels, those holding them, and the channels)", focus,
				chan ? "channel" : "goroutine", focus);
}

/* keep only the nodes within two edges of the focus (either direction) */
static struct tli_error *apply_focus(struct tli_go_graph *gr, const char *focus)
{
	size_t f = 0;
	struct tli_error *err = focus_node(gr, focus, &f);
	if (err)
		return err;
	unsigned char *dist = malloc(gr->nnodes ? gr->nnodes : 1);
	if (!dist)
		return &tli_enomem;
	memset(dist, 0xff, gr->nnodes);
	dist[f] = 0;
	for (unsigned d = 0; d < 2; d++) /* edges are few per node: two sweeps are cheap */
		for (size_t e = 0; e < gr->nedges; e++) {
			size_t u = gr->edges[e].u, v = gr->edges[e].v;
			if (dist[u] == d && dist[v] == 0xff)
				dist[v] = (unsigned char)(d + 1);
			if (dist[v] == d && dist[u] == 0xff)
				dist[u] = (unsigned char)(d + 1);
		}
	for (size_t n = 0; n < gr->nnodes; n++)
		gr->nodes[n].active = dist[n] != 0xff;
	free(dist);
	return NULL;
}

/* ---- JSON ---- */

static const char *edge_kind(enum tli_go_gedge_kind k)
{
	return k == TLI_GO_GEDGE_SEND ? "send" : k == TLI_GO_GEDGE_RECV ? "recv" : "held-by";
}

void tli_go_graph_node_id(const struct tli_go_graph *gr, size_t n, char *buf, size_t cap)
{
	const struct tli_go_gnode *x = &gr->nodes[n];
	if (x->kind == TLI_GO_GNODE_CHANNEL)
		snprintf(buf, cap, "c0x%" PRIx64, gr->w->c->chans[x->idx].addr);
	else
		snprintf(buf, cap, "g%" PRId64, gr->w->c->gs[x->idx].goid);
}

static json_t *node_json(const struct tli_go_graph *gr, size_t n, json_t *gmap)
{
	const struct tli_go_gnode *x = &gr->nodes[n];
	const struct tli_go_chans *c = gr->w->c;
	json_t *o = json_object();
	char id[40];
	tli_go_graph_node_id(gr, n, id, sizeof(id));
	json_object_set_new(o, "id", json_string(id));
	if (x->kind == TLI_GO_GNODE_CHANNEL) {
		const struct tli_go_chan *ch = &c->chans[x->idx];
		json_object_set_new(o, "kind", json_string("channel"));
		json_object_set_new(o, "address", tli_go_hex(ch->addr));
		json_object_set_new(o, "elemtype", ch->type_name ? json_string(ch->type_name) : json_null());
		json_object_set_new(o, "len", json_integer((json_int_t)ch->qcount));
		json_object_set_new(o, "cap", json_integer((json_int_t)ch->dataqsiz));
		json_object_set_new(o, "closed", json_boolean(ch->closed != 0));
		return o;
	}
	const struct tli_go_chan_g *g = &c->gs[x->idx];
	json_t *go = tli_go_gmap_get(gmap, g->goid);
	json_object_set_new(o, "kind", json_string("goroutine"));
	json_object_set_new(o, "goroutine", json_integer(g->goid));
	json_object_set_new(o, "status", tli_go_json_member(go, "status"));
	json_object_set_new(o, "wait_reason", g->reason && g->waiting ? json_string(g->reason) : json_null());
	json_object_set_new(o, "user", tli_go_json_member(go, "user"));
	if (gr->w->gi[x->idx].leaked)
		json_object_set_new(o, "leaked", json_true());
	return o;
}

static void graph_json(const struct tli_go_graph *gr, json_t *gmap, json_t *graph)
{
	json_t *nodes = json_array(), *edges = json_array();
	for (size_t n = 0; n < gr->nnodes; n++)
		if (gr->nodes[n].active)
			json_array_append_new(nodes, node_json(gr, n, gmap));
	for (size_t k = 0; k < gr->nedges; k++) {
		const struct tli_go_gedge *e = &gr->edges[k];
		if (!gr->nodes[e->u].active || !gr->nodes[e->v].active)
			continue;
		json_t *o = json_object();
		char a[40], b[40];
		tli_go_graph_node_id(gr, e->u, a, sizeof(a));
		tli_go_graph_node_id(gr, e->v, b, sizeof(b));
		json_object_set_new(o, "from", json_string(a));
		json_object_set_new(o, "to", json_string(b));
		json_object_set_new(o, "kind", json_string(edge_kind(e->kind)));
		if (e->select)
			json_object_set_new(o, "select", json_true());
		json_array_append_new(edges, o);
	}
	json_object_set_new(graph, "nodes", nodes);
	json_object_set_new(graph, "edges", edges);
}

struct tli_error *tli_go_cmd_graph(struct tli_session *s, const struct tli_go_graph_opts *o, json_t *result)
{
	struct tli_go_waitfor w = { .s = s, .heap = o->leaks };
	struct tli_error *err = tli_go_waitfor_capture(&w, NULL, NULL);
	if (err) {
		tli_go_waitfor_free(&w);
		return err;
	}
	if ((err = tli_go_waitfor_analyze(&w, result)))
		return err;
	bool reach_ok = false;
	if ((err = tli_go_leaks_classify(&w, &reach_ok))) {
		tli_go_waitfor_free(&w);
		return err;
	}
	tli_go_waitfor_stack_refs(&w);
	struct tli_go_graph gr = { 0 };
	json_t *gmap = tli_go_gmap(result);
	if (!(err = tli_go_graph_build(&w, &gr)) && o->focus)
		err = apply_focus(&gr, o->focus);
	json_t *graph = json_object();
	json_t *cycles = tli_go_waitfor_cycles(&w, false);
	json_object_set_new(graph, "cycles", cycles);
	if (!err) {
		graph_json(&gr, gmap, graph);
		err = tli_go_graph_groups(&gr, gmap, cycles, graph);
	}
	if (err) {
		json_decref(graph);
		json_decref(gmap);
		tli_go_graph_free(&gr);
		tli_go_waitfor_free(&w);
		return err;
	}
	json_object_set_new(graph, "leaks_judged", json_string(reach_ok ? "by reachability (as leaks)"
								    : "only nil-channel and select {} goroutines"));
	if (o->focus)
		json_object_set_new(graph, "focus", json_string(o->focus));
	json_object_set_new(graph, "render", json_string(o->dot ? "dot" : "text"));
	json_object_set_new(result, "graph", graph);
	json_t *goj = json_object_get(result, "go");
	json_object_del(goj, "goroutines");
	json_object_del(goj, "summary");
	json_decref(gmap);
	tli_go_graph_free(&gr);
	tli_go_waitfor_free(&w);
	return NULL;
}
