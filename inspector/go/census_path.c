/* SPDX-License-Identifier: MIT */
/*
 * Retention paths of the heap census: (parent path, edge label, census type)
 * interned into path nodes, so memory is O(distinct paths) whatever the number
 * of objects. A child that repeats one of its ancestors (same label and type:
 * a linked list's main.Node.next chain, a tree) collapses into that ancestor;
 * below MAX_DEPTH every step collapses into the nearest ancestor of the same
 * type, so depth is bounded by the number of types. See census.h.
 */
#include "census_int.h"

#include <stdlib.h>

#define MAX_DEPTH 48

static uint64_t phash(uint32_t p, uint32_t l, uint32_t t)
{
	uint64_t k = ((uint64_t)p << 32 | l) * 0x9e3779b97f4a7c15ull ^ (uint64_t)t * 0xc2b2ae3d27d4eb4full;
	return k ^ (k >> 29);
}

static bool grow(struct tli_go_census *c)
{
	size_t ncap = c->pcap ? c->pcap * 2 : 4096;
	struct pent *nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return false;
	for (size_t i = 0; i < c->pcap; i++) {
		struct pent *e = &c->ptab[i];
		if (!e->node)
			continue;
		size_t j = phash(e->parent, e->label, e->ctype) & (ncap - 1);
		while (nt[j].node)
			j = (j + 1) & (ncap - 1);
		nt[j] = *e;
	}
	free(c->ptab);
	c->ptab = nt;
	c->pcap = ncap;
	return true;
}

bool census_paths_init(struct tli_go_census *c)
{
	struct pnode zero = { 0 };
	return tli_vec_push(&c->nodes, zero) && grow(c);
}

void census_paths_free(struct tli_go_census *c)
{
	free(c->ptab);
	c->ptab = NULL;
	c->pcap = c->pused = 0;
	tli_vec_free(&c->nodes);
}

/* the slot of key (parent, label, ctype): its node, or an empty slot */
static struct pent *lookup(struct tli_go_census *c, uint32_t p, uint32_t l, uint32_t t)
{
	size_t j = phash(p, l, t) & (c->pcap - 1);
	while (c->ptab[j].node && !(c->ptab[j].parent == p && c->ptab[j].label == l && c->ptab[j].ctype == t))
		j = (j + 1) & (c->pcap - 1);
	return &c->ptab[j];
}

/* the ancestor of p (p included) with this label and type; or, below MAX_DEPTH, with this type */
static uint32_t repeat_of(const struct tli_go_census *c, uint32_t p, uint32_t l, uint32_t t, bool deep)
{
	for (int n = 0; p && n < MAX_DEPTH + 64; n++) {
		const struct pnode *a = &c->nodes.v[p];
		if (a->ctype == t && (a->label == l || deep) && a->parent)
			return p;
		p = a->parent;
	}
	return 0;
}

uint32_t census_child(struct tli_go_census *c, uint32_t parent, uint32_t label, uint32_t ctype)
{
	if (!c->retention || c->oom)
		return 0;
	if (c->pused * 2 >= c->pcap && !grow(c)) {
		c->oom = true;
		return parent;
	}
	struct pent *e = lookup(c, parent, label, ctype);
	if (e->node)
		return e->node;
	uint16_t depth = parent ? (uint16_t)(c->nodes.v[parent].depth + 1) : 0;
	uint32_t node = parent ? repeat_of(c, parent, label, ctype, depth > MAX_DEPTH) : 0;
	if (!node) {
		struct pnode n = { .parent = parent, .label = label, .ctype = ctype, .depth = depth };
		if (c->nodes.n >= UINT32_MAX - 1 || !tli_vec_push(&c->nodes, n)) {
			c->oom = true;
			return parent;
		}
		node = (uint32_t)(c->nodes.n - 1);
	}
	*e = (struct pent){ .parent = parent, .label = label, .ctype = ctype, .node = node };
	c->pused++;
	return node;
}

uint32_t census_root(struct tli_go_census *c, const char *text)
{
	if (!c->retention)
		return 0;
	return census_child(c, 0, census_label(c, text), 0);
}
