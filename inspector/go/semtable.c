/* SPDX-License-Identifier: MIT */
/*
 * Semaphore waiters' sudogs, from runtime.semtable.
 *
 * Go <= 1.25 does not set g.waiting for semaphore waits (sync.Mutex, RWMutex,
 * WaitGroup: runtime/sema.go semacquire1, go1.19 … go1.25). The sudog is only
 * reachable from runtime.semtable: semTabSize roots (semTable, rootFor: bucket
 * = (addr >> 3) % semTabSize), each a treap of sudogs (semaRoot.queue: one
 * node per semaphore address, prev = left, next = right, parent), further
 * waiters on the same address chained through waitlink. We read the table,
 * then the treaps in breadth-first rounds (one vectored read per round), every
 * node cycle-checked, the walk bounded by the number of goroutines, children
 * checked against their parent pointer, every node's elem against its bucket.
 * A goroutine we cannot link stays without a sudog (the leak finder then
 * treats it as unsure).
 */
#include "chans_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/bytes.h"
#include "core/hash.h"

#define SEMTAB_DEFAULT 251   /* semTabSize when the layout does not say */
#define SEMTAB_STRIDE  64    /* one root per cache line when the table's size is unknown */

static bool wants_sema(const struct tli_go_chan_g *g)
{
	return g->raw && !g->dead && g->waiting && !g->nsudogs && !g->problem[0] &&
	       tli_go_reason_sema(g->reason);
}

/* The first problem of the walk (the later ones follow from it). */
static void sema_problem(struct tli_go_chans *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sema_problem(struct tli_go_chans *c, const char *fmt, ...)
{
	if (c->sema_problem[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->sema_problem, sizeof(c->sema_problem), fmt, ap);
	va_end(ap);
}

/* Where the table is and how its nodes link. */
struct semlayout {
	struct tli_global tab;
	uint64_t treap, prev, parent;   /* semaRoot.treap, sudog.prev, sudog.parent */
	uint64_t nroots, stride;
};

/* False (c->sema_problem set) if the table cannot be walked. */
static bool sema_layout(struct tli_go_chans *c, struct tli_layout *l, struct semlayout *sl)
{
	const struct tli_go_chan_layout *L = &c->L;
	struct tli_member treap, prev, parent;
	struct tli_error *e = tli_layout_global(l, "runtime.semtable", &sl->tab);
	if (!e)
		e = tli_layout_member(l, "runtime.semaRoot", "treap", &treap);
	if (!e)
		e = tli_layout_member(l, "runtime.sudog", "prev", &prev);
	if (!e)
		e = tli_layout_member(l, "runtime.sudog", "parent", &parent);
	if (e) {
		sema_problem(c, "runtime.semtable cannot be walked: %s", e->msg);
		tli_error_destroy(e);
		return false;
	}
	int64_t nroots = 0;
	if (tli_error_drop(tli_layout_constant(l, "runtime.semTabSize", &nroots)) || nroots <= 0 || nroots > 4096)
		nroots = SEMTAB_DEFAULT;
	uint64_t stride = SEMTAB_STRIDE, tsize = sl->tab.size;
	if (tsize && tsize % (uint64_t)nroots == 0 && tsize / (uint64_t)nroots >= 24 &&
	    tsize / (uint64_t)nroots <= 4096)
		stride = tsize / (uint64_t)nroots;
	if (treap.offset + 8 > stride || prev.offset + 8 > L->sudog_size || parent.offset + 8 > L->sudog_size ||
	    L->s_waitlink + 8 > L->sudog_size) {
		sema_problem(c, "implausible semaRoot/sudog layout (treap@%" PRIu64 ", stride %" PRIu64 ")",
			     treap.offset, stride);
		return false;
	}
	*sl = (struct semlayout){ .tab = sl->tab, .treap = treap.offset, .prev = prev.offset,
				  .parent = parent.offset, .nroots = (uint64_t)nroots, .stride = stride };
	return true;
}

/* A sudog to read and what it must satisfy. */
struct semfront {
	uint64_t addr;
	uint64_t want_parent; /* 0: not a treap child */
	uint64_t want_elem;   /* waitlink member: the head's elem; 0: any */
	uint32_t bucket;
};

struct semwalk {
	struct semlayout sl;
	size_t maxnodes;               /* bound: goroutines + 64 */
	struct semfront *cur, *nxt;    /* this round's nodes, the next round's */
	size_t ncur, total;
	struct tli_read *rs;
	uint8_t *buf;
	struct tli_go_sudog *found;    /* every node read, decoded */
	size_t nfound;
	struct tli_u64set seen;
};

/* Every non-empty root of the table's copy tb is a node of the first round. */
static void add_roots(struct tli_go_chans *c, struct semwalk *sw, const uint8_t *tb)
{
	for (uint64_t b = 0; b < sw->sl.nroots; b++) {
		uint64_t root = tli_rd64(tb + b * sw->sl.stride + sw->sl.treap);
		if (!root)
			continue;
		if (sw->ncur == sw->maxnodes) {
			sema_problem(c, "more semaphore treaps than goroutines: walk truncated");
			break;
		}
		sw->cur[sw->ncur++] = (struct semfront){ .addr = root, .bucket = (uint32_t)b };
	}
}

/* The table itself, then its roots (none if the table cannot be read). */
static struct tli_error *read_roots(struct tli_go_snapctx *x, struct semwalk *sw)
{
	struct tli_go_chans *c = x->c;
	uint64_t addr = sw->sl.tab.addr, tlen = sw->sl.stride * sw->sl.nroots;
	if (!tli_go_chans_ptr_ok(x->t, addr, tlen)) {
		sema_problem(c, "runtime.semtable at 0x%" PRIx64 " is not in mapped memory", addr);
		return NULL;
	}
	uint8_t *tb = malloc(tlen);
	if (!tb)
		return &tli_enomem;
	struct tli_read tr = { .addr = addr, .buf = tb, .len = tlen };
	struct tli_error *err = tli_target_read_many(x->t, &tr, 1);
	if (!err && tr.got < tlen)
		sema_problem(c, "runtime.semtable at 0x%" PRIx64 " is unreadable", addr);
	else if (!err)
		add_roots(c, sw, tb);
	free(tb);
	return err;
}

/* Queue this round's reads (*nr), dropping bad pointers and cycles; cur[0..nr) are the nodes read. */
static struct tli_error *round_plan(struct tli_go_snapctx *x, struct semwalk *sw, size_t *nr)
{
	struct tli_go_chans *c = x->c;
	uint32_t sz = c->L.sudog_size;
	*nr = 0;
	for (size_t k = 0; k < sw->ncur; k++) {
		const struct semfront *f = &sw->cur[k];
		if (sw->total + *nr >= sw->maxnodes) {
			sema_problem(c, "runtime.semtable holds more sudogs than there are goroutines "
				     "(%zu): walk truncated", c->ngs);
			break;
		}
		if (!tli_go_chans_ptr_ok(x->t, f->addr, sz)) {
			sema_problem(c, "sudog 0x%" PRIx64 " in runtime.semtable[%u] is not in mapped memory",
				     f->addr, f->bucket);
			continue;
		}
		if (tli_u64set_has(&sw->seen, f->addr)) {
			sema_problem(c, "runtime.semtable[%u] revisits sudog 0x%" PRIx64 " (cycle)", f->bucket,
				     f->addr);
			continue;
		}
		if (!tli_u64set_add(&sw->seen, f->addr))
			return &tli_enomem;
		sw->cur[*nr] = *f;
		sw->rs[*nr] = (struct tli_read){ .addr = f->addr, .buf = sw->buf + *nr * sz, .len = sz };
		(*nr)++;
	}
	return NULL;
}

/* Is the node read for f where it claims to be? */
static bool node_ok(struct tli_go_chans *c, const struct semwalk *sw, const struct semfront *f,
		    const uint8_t *raw, uint64_t elem)
{
	uint64_t parent = tli_rd64(raw + sw->sl.parent);
	if (f->want_parent && parent != f->want_parent) {
		sema_problem(c, "sudog 0x%" PRIx64 " in runtime.semtable[%u]: parent 0x%" PRIx64
			     " is not the node that links it (treap in flux?)", f->addr, f->bucket, parent);
		return false;
	}
	if (f->want_elem ? elem != f->want_elem : (elem >> 3) % sw->sl.nroots != f->bucket) {
		sema_problem(c, "sudog 0x%" PRIx64 " in runtime.semtable[%u]: semaphore 0x%" PRIx64
			     " does not belong there", f->addr, f->bucket, elem);
		return false;
	}
	return true;
}

/* Decode this round's nr nodes; their children and waitlink members are the next round. */
static void round_take(struct tli_go_snapctx *x, struct semwalk *sw, size_t nr)
{
	struct tli_go_chans *c = x->c;
	size_t nn = 0;
	for (size_t k = 0; k < nr; k++) {
		const struct semfront *f = &sw->cur[k];
		if (sw->rs[k].got < sw->rs[k].len) {
			sema_problem(c, "sudog 0x%" PRIx64 " in runtime.semtable[%u] is unreadable", f->addr,
				     f->bucket);
			continue;
		}
		const uint8_t *raw = sw->rs[k].buf;
		uint64_t elem = tli_rd64(raw + c->L.s_elem);
		if (!node_ok(c, sw, f, raw, elem))
			continue;
		tli_go_sudog_decode(x, f->addr, raw, &sw->found[sw->nfound]);
		sw->found[sw->nfound++].elem = elem;
		uint64_t kids[3] = { tli_rd64(raw + sw->sl.prev), tli_rd64(raw + c->L.s_next),
				     tli_rd64(raw + c->L.s_waitlink) };
		for (int j = 0; j < 3; j++) {
			if (!kids[j] || nn == sw->maxnodes)
				continue;
			/* waitlink members share the head's address; the treap children are
			 * only followed from treap nodes (not from waitlink members) */
			if (j < 2 && f->want_elem)
				continue;
			sw->nxt[nn++] = (struct semfront){ .addr = kids[j], .bucket = f->bucket,
							   .want_parent = j < 2 ? f->addr : 0,
							   .want_elem = j == 2 ? elem : 0 };
		}
	}
	struct semfront *tmp = sw->cur;
	sw->cur = sw->nxt;
	sw->nxt = tmp;
	sw->ncur = nn;
}

/* Link each semaphore waiter to its one sudog (hit[gi] = index into found). */
static struct tli_error *link_waiters(struct tli_go_snapctx *x, struct semwalk *sw, size_t *hit)
{
	struct tli_go_chans *c = x->c;
	for (size_t i = 0; i < c->ngs; i++)
		hit[i] = SIZE_MAX;
	for (size_t k = 0; k < sw->nfound; k++) {
		size_t gi = sw->found[k].g ? tli_go_snap_g(x, sw->found[k].g) : SIZE_MAX;
		if (gi == SIZE_MAX || !wants_sema(&c->gs[gi]))
			continue;
		if (hit[gi] != SIZE_MAX) {
			snprintf(c->gs[gi].problem, sizeof(c->gs[gi].problem),
				 "its goroutine has two sudogs in runtime.semtable (0x%" PRIx64 ", 0x%" PRIx64 ")",
				 sw->found[hit[gi]].addr, sw->found[k].addr);
			continue;
		}
		hit[gi] = k;
	}
	size_t nlink = 0;
	for (size_t i = 0; i < c->ngs; i++)
		nlink += hit[i] != SIZE_MAX && !c->gs[i].problem[0];
	if (nlink) {
		struct tli_go_sudog *ns = realloc(c->gsudogs, (c->ngsudogs + nlink) * sizeof(*ns));
		if (!ns)
			return &tli_enomem;
		c->gsudogs = ns;
		for (size_t i = 0; i < c->ngs; i++) {
			if (hit[i] == SIZE_MAX || c->gs[i].problem[0])
				continue;
			c->gs[i].first_sudog = c->ngsudogs;
			c->gs[i].nsudogs = 1;
			c->gs[i].sema = true;
			c->gsudogs[c->ngsudogs++] = sw->found[hit[i]];
		}
	}
	c->sema_linked = nlink;
	return NULL;
}

static struct tli_error *walk(struct tli_go_snapctx *x, struct semwalk *sw, size_t *hit)
{
	struct tli_error *err = read_roots(x, sw);
	while (!err && sw->ncur) {
		size_t nr = 0;
		if ((err = round_plan(x, sw, &nr)) || !nr)
			break;
		if ((err = tli_pagecache_read_many(&x->pages, x->t, sw->rs, nr)))
			break;
		sw->total += nr;
		round_take(x, sw, nr);
	}
	if (err)
		return err;
	x->c->sema_nodes = sw->nfound;
	return link_waiters(x, sw, hit);
}

struct tli_error *tli_go_capture_semtable(struct tli_go_snapctx *x, struct tli_layout *l)
{
	struct tli_go_chans *c = x->c;
	size_t need = 0;
	for (size_t i = 0; i < c->ngs; i++)
		need += wants_sema(&c->gs[i]);
	if (!need)
		return NULL;
	c->sema_walked = true;
	struct semwalk sw = { .maxnodes = c->ngs + 64 };
	if (!sema_layout(c, l, &sw.sl))
		return NULL;
	/* every entry is written before it is read: no zeroing while the target is stopped */
	sw.cur = malloc(sw.maxnodes * sizeof(*sw.cur));
	sw.nxt = malloc(sw.maxnodes * sizeof(*sw.nxt));
	sw.rs = malloc(sw.maxnodes * sizeof(*sw.rs));
	sw.buf = malloc(sw.maxnodes * (size_t)c->L.sudog_size);
	sw.found = malloc(sw.maxnodes * sizeof(*sw.found));
	size_t *hit = malloc((c->ngs ? c->ngs : 1) * sizeof(size_t));
	struct tli_error *err = NULL;
	if (!sw.cur || !sw.nxt || !sw.rs || !sw.buf || !sw.found || !hit)
		err = &tli_enomem;
	else
		err = walk(x, &sw, hit);
	tli_u64set_free(&sw.seen);
	free(sw.cur);
	free(sw.nxt);
	free(sw.rs);
	free(sw.buf);
	free(sw.found);
	free(hit);
	return err;
}
