/* SPDX-License-Identifier: MIT */
/*
 * `graph`: the goroutine <-> channel wait-for graph. Goroutine -> channel edges
 * are the channel queues (waits to send / receive); channel -> goroutine edges
 * ("held-by") are the goroutine stacks that hold the channel's address. Cycles
 * among blocked goroutines are listed. The renderers draw it (text, dot).
 */
#include <inttypes.h>
#include <stdio.h>

#include "go/chans.h"
#include "go/waitfor.h"

/* a channel node, its queue edges (goroutine -> channel) and held-by edges (channel -> goroutine) */
static void channel_node(const struct tli_go_waitfor *w, size_t i, json_t *nodes, json_t *edges,
			 struct tli_u64set *gnodes)
{
	const struct tli_go_chans *c = w->c;
	const struct tli_go_chan *ch = &c->chans[i];
	json_t *n = json_object();
	char id[40];
	snprintf(id, sizeof(id), "c0x%" PRIx64, ch->addr);
	json_object_set_new(n, "id", json_string(id));
	json_object_set_new(n, "kind", json_string("channel"));
	json_object_set_new(n, "address", tli_go_hex(ch->addr));
	json_object_set_new(n, "elemtype", ch->type_name ? json_string(ch->type_name) : json_null());
	json_object_set_new(n, "len", json_integer((json_int_t)ch->qcount));
	json_object_set_new(n, "cap", json_integer((json_int_t)ch->dataqsiz));
	json_object_set_new(n, "closed", json_boolean(ch->closed != 0));
	json_array_append_new(nodes, n);
	for (int q = 0; q < 2; q++) {
		const struct tli_go_sudog *arr = q ? ch->sendq : ch->recvq;
		size_t na = q ? ch->nsendq : ch->nrecvq;
		for (size_t j = 0; j < na; j++) {
			if (arr[j].stale || arr[j].goid < 0)
				continue;
			json_t *e = json_object();
			char gid[32];
			snprintf(gid, sizeof(gid), "g%" PRId64, arr[j].goid);
			json_object_set_new(e, "from", json_string(gid));
			json_object_set_new(e, "to", json_string(id));
			json_object_set_new(e, "kind", json_string(q ? "send" : "recv"));
			if (arr[j].is_select)
				json_object_set_new(e, "select", json_true());
			json_array_append_new(edges, e);
			tli_u64set_add(gnodes, (uint64_t)arr[j].goid + 1);
		}
	}
	const struct tli_go_holders *r = &w->refs[i];
	for (size_t j = 0; j < r->n; j++) {
		json_t *e = json_object();
		char gid[32];
		snprintf(gid, sizeof(gid), "g%" PRId64, c->gs[r->v[j]].goid);
		json_object_set_new(e, "from", json_string(id));
		json_object_set_new(e, "to", json_string(gid));
		json_object_set_new(e, "kind", json_string("held-by"));
		json_array_append_new(edges, e);
		tli_u64set_add(gnodes, (uint64_t)c->gs[r->v[j]].goid + 1);
	}
}

/* a node for every goroutine on an edge, and for nil-channel / select {} goroutines */
static void goroutine_nodes(const struct tli_go_waitfor *w, json_t *gmap, json_t *nodes, struct tli_u64set *gnodes)
{
	const struct tli_go_chans *c = w->c;
	for (size_t i = 0; i < c->ngs; i++)
		if (!c->gs[i].dead && w->gi[i].cls == TLI_GO_G_FOREVER)
			tli_u64set_add(gnodes, (uint64_t)c->gs[i].goid + 1);
	for (size_t i = 0; i < c->ngs; i++) {
		const struct tli_go_chan_g *g = &c->gs[i];
		if (g->dead || !tli_u64set_has(gnodes, (uint64_t)g->goid + 1))
			continue;
		json_t *go = tli_go_gmap_get(gmap, g->goid);
		json_t *n = json_object();
		char gid[32];
		snprintf(gid, sizeof(gid), "g%" PRId64, g->goid);
		json_object_set_new(n, "id", json_string(gid));
		json_object_set_new(n, "kind", json_string("goroutine"));
		json_object_set_new(n, "goroutine", json_integer(g->goid));
		json_object_set_new(n, "status", tli_go_json_member(go, "status"));
		json_object_set_new(n, "wait_reason", g->reason && g->waiting ? json_string(g->reason) : json_null());
		json_object_set_new(n, "user", tli_go_json_member(go, "user"));
		json_array_append_new(nodes, n);
	}
}

struct tli_error *tli_go_cmd_graph(struct tli_session *s, bool dot, json_t *result)
{
	struct tli_go_waitfor w = { .s = s, .heap = false };
	struct tli_error *err = tli_go_waitfor_capture(&w, NULL, NULL);
	if (err) {
		tli_go_waitfor_free(&w);
		return err;
	}
	if ((err = tli_go_waitfor_analyze(&w, result)))
		return err;
	tli_go_waitfor_stack_refs(&w);
	json_t *gmap = tli_go_gmap(result);
	json_t *nodes = json_array(), *edges = json_array();
	struct tli_u64set gnodes = { 0 };
	for (size_t i = 0; i < w.c->nchans; i++)
		channel_node(&w, i, nodes, edges, &gnodes);
	goroutine_nodes(&w, gmap, nodes, &gnodes);
	json_t *graph = json_object();
	json_object_set_new(graph, "nodes", nodes);
	json_object_set_new(graph, "edges", edges);
	json_object_set_new(graph, "cycles", tli_go_waitfor_cycles(&w, false));
	json_object_set_new(graph, "render", json_string(dot ? "dot" : "text"));
	json_object_set_new(result, "graph", graph);
	json_t *goj = json_object_get(result, "go");
	json_object_del(goj, "goroutines");
	json_object_del(goj, "summary");
	tli_u64set_free(&gnodes);
	json_decref(gmap);
	tli_go_waitfor_free(&w);
	return NULL;
}
