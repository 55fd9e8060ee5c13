/* SPDX-License-Identifier: MIT */
/*
 * The grouped wait-for graph (graph.h). Each node starts with a key made of its
 * label (a goroutine: wait reason or status, user location, leaked or not; a
 * channel: element type, capacity, closed); then, for a few rounds, a node's key
 * becomes its key mixed with the multiset of (edge kind, direction, neighbour's
 * key). Nodes with equal final keys are one group; edges between groups are
 * counted. Three rounds tell apart "a sender on a channel nobody holds" from "a
 * sender on a channel a blocked receiver holds" and the like; shapes that differ
 * only further away merge (the count says how many).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/chans.h"
#include "go/graph.h"
#include "go/waitfor.h"

#define ROUNDS 3
#define MEMBERS_SHOWN 5

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* the label key of node n */
static uint64_t label_key(const struct tli_go_graph *gr, size_t n, json_t *gmap)
{
	const struct tli_go_gnode *x = &gr->nodes[n];
	const struct tli_go_chans *c = gr->w->c;
	char buf[1024];
	if (x->kind == TLI_GO_GNODE_CHANNEL) {
		const struct tli_go_chan *ch = &c->chans[x->idx];
		snprintf(buf, sizeof(buf), "c|%s|%" PRIu64 "|%d", ch->type_name ? ch->type_name : "?", ch->dataqsiz,
			 ch->closed != 0);
	} else {
		const struct tli_go_chan_g *g = &c->gs[x->idx];
		json_t *user = json_object_get(tli_go_gmap_get(gmap, g->goid), "user");
		json_t *line = json_object_get(user, "line");
		snprintf(buf, sizeof(buf), "g|%s|%s|%lld|%d", g->reason && g->waiting ? g->reason : "-",
			 jstr(user, "function") ? jstr(user, "function") : "-",
			 json_is_integer(line) ? (long long)json_integer_value(line) : -1LL, gr->w->gi[x->idx].leaked);
	}
	return tli_fnv1a(buf);
}

/* keys refined ROUNDS times over the active edges */
static bool refine(const struct tli_go_graph *gr, uint64_t *key)
{
	uint64_t *acc = calloc(gr->nnodes ? gr->nnodes : 1, sizeof(*acc));
	if (!acc)
		return false;
	for (int r = 0; r < ROUNDS; r++) {
		memset(acc, 0, gr->nnodes * sizeof(*acc));
		for (size_t k = 0; k < gr->nedges; k++) {
			const struct tli_go_gedge *e = &gr->edges[k];
			if (!gr->nodes[e->u].active || !gr->nodes[e->v].active)
				continue;
			uint64_t kind = (uint64_t)e->kind * 4 + e->select * 2;
			acc[e->u] += tli_hash_u64(key[e->v] ^ (kind + 1) * 0x9e3779b97f4a7c15ull);
			acc[e->v] += tli_hash_u64(key[e->u] ^ (kind + 2) * 0x9e3779b97f4a7c15ull);
		}
		for (size_t n = 0; n < gr->nnodes; n++)
			key[n] = tli_hash_u64(key[n] * 0x100000001b3ull + acc[n]);
	}
	free(acc);
	return true;
}

struct grp {
	size_t first;        /* first member node */
	size_t count, leaked;
	size_t in_cycle;     /* members in a cycle of blocked goroutines (a deadlock) */
	uint64_t len_total;  /* channels: elements buffered in all members */
	size_t members[MEMBERS_SHOWN];
};

struct gedge {
	size_t u, v;
	enum tli_go_gedge_kind kind;
	size_t count, select;
	size_t seq;          /* first-seen order */
};

struct sortarg {
	const uint64_t *key;
	const struct tli_go_gnode *nodes;
};

/* by (key, kind, node): a group's members are adjacent, in node order */
static int cmp_key(const void *a, const void *b, void *arg)
{
	const struct sortarg *sa = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	if (sa->key[x] != sa->key[y])
		return sa->key[x] < sa->key[y] ? -1 : 1;
	if (sa->nodes[x].kind != sa->nodes[y].kind)
		return sa->nodes[x].kind < sa->nodes[y].kind ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int cmp_gedge(const void *a, const void *b)
{
	const struct gedge *x = a, *y = b; /* equal counts: first seen first (seq) */
	return x->count != y->count ? (x->count < y->count ? 1 : -1) : x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_grp(const void *a, const void *b)
{
	const struct grp *x = a, *y = b;
	return x->count != y->count ? (x->count < y->count ? 1 : -1) : x->first < y->first ? -1 : x->first > y->first;
}

/* nodes -> groups, largest first; gr->group_of set; *ret (free it) and *nret */
static bool make_groups(struct tli_go_graph *gr, const uint64_t *key, const struct tli_u64set *cyc,
			struct grp **ret, size_t *nret)
{
	size_t na = 0;
	size_t *order = malloc((gr->nnodes ? gr->nnodes : 1) * sizeof(*order));
	struct grp *g = calloc(gr->nnodes ? gr->nnodes : 1, sizeof(*g));
	gr->group_of = malloc((gr->nnodes ? gr->nnodes : 1) * sizeof(*gr->group_of));
	if (!order || !g || !gr->group_of) {
		free(order);
		free(g);
		return false;
	}
	for (size_t n = 0; n < gr->nnodes; n++)
		if (gr->nodes[n].active)
			order[na++] = n;
	struct sortarg sa = { key, gr->nodes };
	qsort_r(order, na, sizeof(*order), cmp_key, &sa);
	size_t ng = 0;
	for (size_t i = 0; i < na; i++) {
		size_t n = order[i];
		if (!i || key[n] != key[order[i - 1]] || gr->nodes[n].kind != gr->nodes[order[i - 1]].kind)
			g[ng++] = (struct grp){ .first = n };
		struct grp *x = &g[ng - 1];
		if (x->count < MEMBERS_SHOWN)
			x->members[x->count] = n;
		x->count++;
		const struct tli_go_gnode *nd = &gr->nodes[n];
		if (nd->kind == TLI_GO_GNODE_GOROUTINE) {
			x->leaked += gr->w->gi[nd->idx].leaked;
			x->in_cycle += tli_u64set_has(cyc, (uint64_t)gr->w->c->gs[nd->idx].goid * 2 + 1);
		} else {
			x->len_total += gr->w->c->chans[nd->idx].qcount;
			x->in_cycle += tli_u64set_has(cyc, gr->w->c->chans[nd->idx].addr * 2);
		}
	}
	qsort(g, ng, sizeof(*g), cmp_grp);
	for (size_t n = 0; n < gr->nnodes; n++)
		gr->group_of[n] = SIZE_MAX;
	/* every member takes its group (after the sort by size) through its key */
	struct tli_u64map first = { 0 };
	bool ok = true;
	for (size_t k = 0; k < ng && ok; k++)
		ok = tli_u64map_put(&first, key[g[k].first] ^ (uint64_t)gr->nodes[g[k].first].kind, k + 1);
	for (size_t i = 0; i < na && ok; i++) {
		size_t n = order[i];
		uint64_t k1;
		if (tli_u64map_find(&first, key[n] ^ (uint64_t)gr->nodes[n].kind, &k1))
			gr->group_of[n] = (size_t)k1 - 1;
	}
	tli_u64map_free(&first);
	free(order);
	if (!ok) {
		free(g);
		return false;
	}
	*ret = g;
	*nret = ng;
	return true;
}

static json_t *group_json(const struct tli_go_graph *gr, const struct grp *g, size_t k, json_t *gmap)
{
	const struct tli_go_gnode *x = &gr->nodes[g->first];
	const struct tli_go_chans *c = gr->w->c;
	json_t *o = json_object();
	char id[32];
	snprintf(id, sizeof(id), "%s%zu", x->kind == TLI_GO_GNODE_CHANNEL ? "C" : "G", k + 1);
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "kind", json_string(x->kind == TLI_GO_GNODE_CHANNEL ? "channel" : "goroutine"));
	json_object_set_new(o, "count", json_integer((json_int_t)g->count));
	json_t *mem = json_array();
	for (size_t i = 0; i < g->count && i < MEMBERS_SHOWN; i++) {
		char nid[40];
		tli_go_graph_node_id(gr, g->members[i], nid, sizeof(nid));
		json_array_append_new(mem, json_string(nid));
	}
	json_object_set_new(o, "members", mem);
	if (g->in_cycle)
		json_object_set_new(o, "in_cycle", json_integer((json_int_t)g->in_cycle));
	if (x->kind == TLI_GO_GNODE_CHANNEL) {
		const struct tli_go_chan *ch = &c->chans[x->idx];
		json_object_set_new(o, "elemtype", ch->type_name ? json_string(ch->type_name) : json_null());
		json_object_set_new(o, "cap", json_integer((json_int_t)ch->dataqsiz));
		json_object_set_new(o, "closed", json_boolean(ch->closed != 0));
		json_object_set_new(o, "len_total", json_integer((json_int_t)g->len_total));
		return o;
	}
	const struct tli_go_chan_g *gg = &c->gs[x->idx];
	json_t *go = tli_go_gmap_get(gmap, gg->goid);
	json_object_set_new(o, "status", tli_go_json_member(go, "status"));
	json_object_set_new(o, "wait_reason", gg->reason && gg->waiting ? json_string(gg->reason) : json_null());
	json_object_set_new(o, "user", tli_go_json_member(go, "user"));
	json_object_set_new(o, "leaked", json_integer((json_int_t)g->leaked));
	return o;
}

/* edges between groups, counted (first-seen order) */
static bool group_edges(const struct tli_go_graph *gr, struct gedge **ret, size_t *nret)
{
	struct gedge *v = NULL;
	size_t n = 0, cap = 0;
	struct tli_u64map idx = { 0 };
	bool ok = true;
	for (size_t k = 0; k < gr->nedges && ok; k++) {
		const struct tli_go_gedge *e = &gr->edges[k];
		if (!gr->nodes[e->u].active || !gr->nodes[e->v].active)
			continue;
		size_t gu = gr->group_of[e->u], gv = gr->group_of[e->v];
		uint64_t h = tli_hash_u64(((uint64_t)gu << 34) ^ ((uint64_t)gv << 2) ^ e->kind), at;
		for (;; h++) { /* open addressing over the hash: equal triples share a slot */
			if (!tli_u64map_find(&idx, h, &at)) {
				if (!(ok = tli_vec_grow_((void **)&v, &cap, n + 1, sizeof(*v)) &&
					   tli_u64map_put(&idx, h, n + 1)))
					break;
				v[n] = (struct gedge){ .u = gu, .v = gv, .kind = e->kind, .seq = n };
				n++;
				at = n;
			}
			struct gedge *x = &v[at - 1];
			if (x->u == gu && x->v == gv && x->kind == e->kind) {
				x->count++;
				x->select += e->select;
				break;
			}
		}
	}
	tli_u64map_free(&idx);
	if (!ok) {
		free(v);
		return false;
	}
	qsort(v, n, sizeof(*v), cmp_gedge); /* largest first */
	*ret = v;
	*nret = n;
	return true;
}

/* members of cycles: goroutine id * 2 + 1, channel address * 2 */
static bool cycle_set(json_t *cycles, struct tli_u64set *set)
{
	size_t i, j;
	json_t *cy, *v;
	json_array_foreach(cycles, i, cy) {
		json_array_foreach(json_object_get(cy, "goroutines"), j, v)
			if (json_is_integer(v) && !tli_u64set_add(set, (uint64_t)json_integer_value(v) * 2 + 1))
				return false;
		json_array_foreach(json_object_get(cy, "channels"), j, v) {
			const char *a = json_string_value(v);
			if (a && !tli_u64set_add(set, strtoull(a, NULL, 16) * 2))
				return false;
		}
	}
	return true;
}

struct tli_error *tli_go_graph_groups(struct tli_go_graph *gr, json_t *gmap, json_t *cycles, json_t *graph)
{
	uint64_t *key = malloc((gr->nnodes ? gr->nnodes : 1) * sizeof(*key));
	if (!key)
		return &tli_enomem;
	for (size_t n = 0; n < gr->nnodes; n++)
		key[n] = label_key(gr, n, gmap);
	struct grp *g = NULL;
	struct gedge *ge = NULL;
	size_t ng = 0, nge = 0;
	struct tli_u64set cyc = { 0 };
	if (!cycle_set(cycles, &cyc) || !refine(gr, key) || !make_groups(gr, key, &cyc, &g, &ng) ||
	    !group_edges(gr, &ge, &nge)) {
		tli_u64set_free(&cyc);
		free(key);
		free(g);
		return &tli_enomem;
	}
	tli_u64set_free(&cyc);
	json_t *nodes = json_array(), *edges = json_array();
	for (size_t k = 0; k < ng; k++)
		json_array_append_new(nodes, group_json(gr, &g[k], k, gmap));
	for (size_t k = 0; k < nge; k++) {
		json_t *o = json_object();
		const char *fu = json_string_value(json_object_get(json_array_get(nodes, ge[k].u), "id"));
		const char *fv = json_string_value(json_object_get(json_array_get(nodes, ge[k].v), "id"));
		json_object_set_new(o, "from", json_string(fu ? fu : "?"));
		json_object_set_new(o, "to", json_string(fv ? fv : "?"));
		json_object_set_new(o, "kind", json_string(ge[k].kind == TLI_GO_GEDGE_SEND   ? "send"
							   : ge[k].kind == TLI_GO_GEDGE_RECV ? "recv"
											     : "held-by"));
		json_object_set_new(o, "count", json_integer((json_int_t)ge[k].count));
		if (ge[k].select)
			json_object_set_new(o, "select", json_integer((json_int_t)ge[k].select));
		json_array_append_new(edges, o);
	}
	json_t *groups = json_object();
	json_object_set_new(groups, "nodes", nodes);
	json_object_set_new(groups, "edges", edges);
	json_object_set_new(graph, "groups", groups);
	free(key);
	free(g);
	free(ge);
	return NULL;
}
