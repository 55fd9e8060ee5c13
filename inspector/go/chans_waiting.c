/* SPDX-License-Identifier: MIT */
/*
 * Waiting goroutines' sudogs: a goroutine blocked in a channel operation has
 * g.waiting -> its sudog; a select chains one sudog per case through
 * sudog.waitlink (runtime/chan.go chansend/chanrecv, runtime/select.go
 * selectgo, go1.19 … go1.27). Read in pointer-depth rounds, one vectored read
 * per round for all goroutines; every chain is bounded and cycle-checked.
 */
#include "chans_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/hash.h"
#include "core/search.h"
#include "core/vec.h"

#define MAX_CHAIN 4096   /* sudogs on one g's waiting chain (select cases) */

size_t tli_go_snap_g(const struct tli_go_snapctx *x, uint64_t gaddr)
{
	uint64_t v = tli_u64map_get(&x->gindex, gaddr);
	return v ? (size_t)(v - 1) : SIZE_MAX;
}

/* Decode with a guess at the sudog's goroutine: on a g.waiting chain it is almost always
 * the walking goroutine itself, which spares a hash lookup per sudog while the target is
 * stopped. Two goroutines at one address read the same bytes, so the guess answers as
 * the index would. */
static void sudog_decode_hint(const struct tli_go_snapctx *x, uint64_t addr, const uint8_t *raw, size_t hint,
			      struct tli_go_sudog *s);

void tli_go_sudog_decode(const struct tli_go_snapctx *x, uint64_t addr, const uint8_t *raw, struct tli_go_sudog *s)
{
	sudog_decode_hint(x, addr, raw, SIZE_MAX, s);
}

static void sudog_decode_hint(const struct tli_go_snapctx *x, uint64_t addr, const uint8_t *raw, size_t hint,
			      struct tli_go_sudog *s)
{
	const struct tli_go_chan_layout *L = &x->c->L;
	*s = (struct tli_go_sudog){
		.addr = addr,
		.g = tli_rd64(raw + L->s_g),
		.elem = tli_rd64(raw + L->s_elem),
		.c = tli_rd64(raw + L->s_c),
		.is_select = raw[L->s_isselect] != 0,
		.goid = -1,
		.next = tli_rd64(raw + L->s_next),
	};
	size_t gi = !s->g ? SIZE_MAX : hint < x->c->ngs && x->c->gs[hint].addr == s->g ? hint : tli_go_snap_g(x, s->g);
	if (gi != SIZE_MAX) {
		const struct tli_go_chan_g *g = &x->c->gs[gi];
		s->goid = g->goid;
		if (!g->waiting || g->dead)
			s->stale = true;
		else if (s->is_select && L->has_selectdone && g->raw &&
			 tli_rdn(g->raw + L->g_selectdone, L->g_selectdone_size) != 0)
			s->stale = true;
	} else {
		s->stale = true; /* its g is not a goroutine we know */
	}
}

/* One sudog found on goroutine gi's chain, depth links from g.waiting. */
struct chainent {
	size_t gi;
	uint32_t depth;
	struct tli_go_sudog s;
};

/* The walk: the next sudog of each goroutine still walking. */
struct chainwalk {
	uint64_t *cur;              /* sudog to read next */
	size_t *who;                /* its goroutine */
	size_t nact;
	struct tli_read *rs;
	uint8_t *buf;               /* one sudog per goroutine */
	struct tli_u64set seen;
	TLI_VEC(chain_vec, struct chainent) ents;
};

/*
 * The chain of goroutine gi as copied before the stop, if it is the one the walk would read:
 * same head, sudogs of this size, followed through waitlink exactly when the walk does
 * (a select's). Its sudogs are then entries of depth 0.. without a read.
 */
static bool chain_precopied(const struct tli_go_snapctx *x, struct chainwalk *cw, size_t gi, uint64_t head,
			    bool *ok)
{
	const struct tli_go_chans *c = x->c;
	const struct tli_go_chan_g *g = &c->gs[gi];
	const struct tli_go_chan_layout *L = &c->L;
	if (!g->pre_n || g->pre_size != L->sudog_size || g->pre_addr[0] != head)
		return false;
	bool select = g->reason && !strcmp(g->reason, "select");
	for (uint32_t d = 0; d < g->pre_n; d++) {
		const uint8_t *raw = g->pre_raw + (size_t)d * g->pre_size;
		uint64_t link = tli_rd64(raw + L->s_waitlink);
		bool follows = select && link;
		if ((d + 1 < g->pre_n) != follows || (follows && g->pre_addr[d + 1] != link))
			return false;
	}
	for (uint32_t d = 0; d < g->pre_n; d++) {
		struct chainent *e = tli_vec_append(&cw->ents);
		if (!e) {
			*ok = false;
			return true;
		}
		e->gi = gi;
		e->depth = d;
		sudog_decode_hint(x, g->pre_addr[d], g->pre_raw + (size_t)d * g->pre_size, gi, &e->s);
	}
	return true;
}

/* The heads: g.waiting of every waiting goroutine (chains copied before the stop are taken whole). */
static bool chain_heads(const struct tli_go_snapctx *x, struct chainwalk *cw)
{
	struct tli_go_chans *c = x->c;
	bool ok = true;
	size_t npre = 0;
	for (size_t i = 0; i < c->ngs; i++)
		npre += c->gs[i].pre_n;
	if (npre && !tli_vec_reserve(&cw->ents, npre + c->ngs / 4 + 16))
		return false;
	cw->nact = 0;
	for (size_t i = 0; i < c->ngs && ok; i++) {
		struct tli_go_chan_g *g = &c->gs[i];
		if (!g->raw || g->dead || !g->waiting || (x->chan_waits_only && !tli_go_reason_chan(g->reason)))
			continue;
		/* an unchanged g's g.waiting is the head its chain was peeked from (no look at
		 * its bytes: one cache miss less per goroutine while stopped) */
		uint64_t w = g->pre_n ? g->pre_addr[0] : tli_rd64(g->raw + c->L.g_waiting);
		if (w && chain_precopied(x, cw, i, w, &ok)) {
			c->pre_chains++;
			continue;
		}
		if (!w)
			continue;
		cw->cur[cw->nact] = w;
		cw->who[cw->nact++] = i;
	}
	return ok;
}

/* Queue the reads of this depth (*nr of them), dropping bad pointers and cycles. */
static struct tli_error *chain_plan(struct tli_go_snapctx *x, struct chainwalk *cw, size_t *nr)
{
	struct tli_go_chans *c = x->c;
	uint32_t sz = c->L.sudog_size;
	*nr = 0;
	for (size_t k = 0; k < cw->nact; k++) {
		struct tli_go_chan_g *g = &c->gs[cw->who[k]];
		if (!tli_go_chans_ptr_ok(x->t, cw->cur[k], sz)) {
			snprintf(g->problem, sizeof(g->problem),
				 "sudog 0x%" PRIx64 " on its waiting chain is not in mapped memory", cw->cur[k]);
			continue;
		}
		if (tli_u64set_has(&cw->seen, cw->cur[k])) {
			snprintf(g->problem, sizeof(g->problem), "waiting chain revisits sudog 0x%" PRIx64 " (cycle)",
				 cw->cur[k]);
			continue;
		}
		if (!tli_u64set_add(&cw->seen, cw->cur[k]))
			return &tli_enomem;
		cw->rs[*nr] = (struct tli_read){ .addr = cw->cur[k], .buf = cw->buf + *nr * sz, .len = sz };
		cw->who[*nr] = cw->who[k];
		(*nr)++;
	}
	return NULL;
}

/* Decode the nr sudogs read at this depth; the chains that go on become the next round. */
static struct tli_error *chain_take(struct tli_go_snapctx *x, struct chainwalk *cw, size_t nr, uint32_t depth)
{
	struct tli_go_chans *c = x->c;
	size_t next = 0;
	for (size_t k = 0; k < nr; k++) {
		struct tli_go_chan_g *g = &c->gs[cw->who[k]];
		if (cw->rs[k].got < cw->rs[k].len) {
			snprintf(g->problem, sizeof(g->problem), "sudog 0x%" PRIx64 " is unreadable", cw->rs[k].addr);
			continue;
		}
		struct chainent *e = tli_vec_append(&cw->ents);
		if (!e)
			return &tli_enomem;
		e->gi = cw->who[k];
		e->depth = depth;
		const uint8_t *raw = (const uint8_t *)cw->rs[k].buf;
		sudog_decode_hint(x, cw->rs[k].addr, raw, cw->who[k], &e->s);
		/* only a select chains several sudogs of its own; for semaphore waits
		 * (1.26+) waitlink leads to OTHER goroutines' sudogs */
		uint64_t link = g->reason && !strcmp(g->reason, "select") ? tli_rd64(raw + c->L.s_waitlink) : 0;
		if (link) {
			cw->cur[next] = link;
			cw->who[next++] = cw->who[k];
		}
	}
	cw->nact = next;
	return NULL;
}

/*
 * The sudogs, each goroutine's together in chain order, into c->gsudogs: ordered by
 * (goroutine, depth). The entries were appended depth by depth, each depth in goroutine
 * order, so placing them by goroutine in append order (a counting sort, no compare)
 * gives that order; the whole capture runs while the target is stopped.
 */
static struct tli_error *chain_store(struct tli_go_chans *c, struct chainwalk *cw)
{
	c->gsudogs = calloc(cw->ents.n ? cw->ents.n : 1, sizeof(*c->gsudogs));
	if (!c->gsudogs)
		return &tli_enomem;
	for (size_t i = 0; i < c->ngs; i++) {
		c->gs[i].first_sudog = SIZE_MAX;
		c->gs[i].nsudogs = 0;
	}
	for (size_t i = 0; i < cw->ents.n; i++)
		c->gs[cw->ents.v[i].gi].nsudogs++;
	size_t at = 0;
	for (size_t i = 0; i < c->ngs; i++) {
		if (!c->gs[i].nsudogs)
			continue;
		c->gs[i].first_sudog = at;
		at += c->gs[i].nsudogs;
		c->gs[i].nsudogs = 0; /* counts again as the entries are placed */
	}
	for (size_t i = 0; i < cw->ents.n; i++) {
		struct tli_go_chan_g *g = &c->gs[cw->ents.v[i].gi];
		c->gsudogs[g->first_sudog + g->nsudogs++] = cw->ents.v[i].s;
	}
	c->ngsudogs = cw->ents.n;
	return NULL;
}

struct tli_error *tli_go_capture_waiting(struct tli_go_snapctx *x)
{
	struct tli_go_chans *c = x->c;
	size_t n = c->ngs ? c->ngs : 1;
	struct chainwalk cw = {
		.cur = calloc(n, 8), .who = calloc(n, sizeof(size_t)), .rs = calloc(n, sizeof(struct tli_read)),
		.buf = malloc(n * (size_t)c->L.sudog_size),
	};
	struct tli_error *err = NULL;
	if (!cw.cur || !cw.who || !cw.rs || !cw.buf)
		err = &tli_enomem;
	else {
		/* room for every head and some select cases: no regrowth while stopped */
		if (!chain_heads(x, &cw) || !tli_vec_reserve(&cw.ents, cw.ents.n + cw.nact + cw.nact / 4 + 16))
			err = &tli_enomem;
	}
	for (uint32_t depth = 0; !err && cw.nact && depth < MAX_CHAIN; depth++) {
		size_t nr = 0;
		if ((err = chain_plan(x, &cw, &nr)) || !nr)
			break;
		if ((err = tli_pagecache_read_many(&x->pages, x->t, cw.rs, nr)) || (err = chain_take(x, &cw, nr, depth)))
			break;
		if (depth + 1 == MAX_CHAIN && cw.nact)
			for (size_t k = 0; k < cw.nact; k++)
				snprintf(c->gs[cw.who[k]].problem, sizeof(c->gs[0].problem),
					 "waiting chain longer than %d sudogs: truncated", MAX_CHAIN);
	}
	if (!err)
		err = chain_store(c, &cw);
	tli_u64set_free(&cw.seen);
	free(cw.cur);
	free(cw.who);
	free(cw.rs);
	free(cw.buf);
	tli_vec_free(&cw.ents);
	return err;
}
