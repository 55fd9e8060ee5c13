/* SPDX-License-Identifier: MIT */
/*
 * The roots of the Go heap, captured while the target is stopped: the data and
 * bss of the executable (runtime/mgcmark.go markrootBlock over
 * moduledata.data/bss, go1.23) and the used part of every goroutine's stack
 * (scanstack). One vectored read. Then the Ps' tiny-allocator blocks. See heap.h.
 */
#include "go/heap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/bytes.h"
#include "go/gobin.h"

#define MAX_STACK (1ull << 30)
#define MAX_PS    (1u << 16)   /* len(allp) accepted (GOMAXPROCS) */

/*
 * The pointer masks of data and bss (runtime/symtab.go modulesinit: moduledata.gcdatamask and
 * gcbssmask, bitvectors of one bit per word built at start-up): the runtime scans only those
 * words (markrootBlock), so a stale integer that looks like a heap address keeps nothing
 * alive. Read while stopped (the vectors live in the target's memory). Best effort: without
 * them the segment is scanned word by word.
 */
static void add_masks(struct tli_session *s, struct tli_go_rt *rt, const struct tli_gomoduledata *md,
		      struct tli_goheap_roots *r)
{
	struct tli_layout *l = tli_go_rt_layout(rt);
	static const char *const name[2] = { [TLI_GOHEAP_DATA] = "gcdatamask", [TLI_GOHEAP_BSS] = "gcbssmask" };
	for (int i = 0; i < 2; i++) {
		struct tli_goheap_range *g = &r->globals[i];
		struct tli_member mv;
		uint8_t bv[16];
		if (!g->mem || !tli_layout_has_member(l, "runtime.moduledata", name[i], &mv) || mv.size != 16 ||
		    tli_error_drop(tli_target_read(s->target, md->addr + tli_go_rt_bias(rt) + mv.offset, bv, 16)))
			continue;
		/* bitvector { n int32; bytedata *uint8 } */
		uint64_t n = (uint32_t)tli_rdn(bv, 4), data = tli_rd64(bv + 8), words = (g->hi - g->lo) / 8;
		if (n != words || !data || !tli_target_plausible(s->target, data, (n + 7) / 8))
			continue;
		uint8_t *m = malloc((n + 7) / 8);
		if (m && !tli_error_drop(tli_target_read(s->target, data, m, (n + 7) / 8)))
			g->mask = m;
		else
			free(m);
	}
}

/*
 * Every P's current tiny-allocator block (runtime/mgcmark.go gcMarkTinyAllocs: allp[i].mcache.tiny
 * is greyed at the start of each cycle). Small pointer-free objects (a struct holding only a
 * sync.Mutex, say) share 16-byte blocks; the block a P is still filling is live whatever
 * references it, and so is every semaphore inside it. Three dependent reads (allp, each p.mcache,
 * each mcache.tiny) while stopped; best effort: *why says what was not found.
 */
static void add_tiny(struct tli_session *s, struct tli_go_rt *rt, struct tli_goheap_roots *r)
{
	struct tli_layout *l = tli_go_rt_layout(rt);
	struct tli_global ga;
	struct tli_member pm, tm;
	uint8_t hdr[16];
	if (tli_error_drop(tli_layout_global(l, "runtime.allp", &ga)) ||
	    !tli_layout_has_member(l, "runtime.p", "mcache", &pm) ||
	    !tli_layout_has_member(l, "runtime.mcache", "tiny", &tm) || pm.size != 8 || tm.size != 8 ||
	    tli_error_drop(tli_target_read(s->target, ga.addr, hdr, sizeof(hdr)))) {
		snprintf(r->tiny_problem, sizeof(r->tiny_problem), "runtime.allp / p.mcache / mcache.tiny unknown");
		return;
	}
	uint64_t arr = tli_rd64(hdr), n = tli_rd64(hdr + 8);
	if (!n || n > MAX_PS || !tli_target_plausible(s->target, arr, n * 8)) {
		snprintf(r->tiny_problem, sizeof(r->tiny_problem), "runtime.allp implausible (len %" PRIu64 ")", n);
		return;
	}
	uint64_t *ps = calloc(n, 8), *mc = calloc(n, 8), *tiny = calloc(n, 8);
	struct tli_read *rs = calloc(n, sizeof(*rs));
	bool ok = ps && mc && tiny && rs && !tli_error_drop(tli_target_read(s->target, arr, ps, n * 8));
	for (uint64_t i = 0; ok && i < n; i++)
		rs[i] = (struct tli_read){ .addr = ps[i] + pm.offset, .buf = &mc[i], .len = 8 };
	ok = ok && !tli_error_drop(tli_target_read_many(s->target, rs, n));
	size_t nr = 0;
	for (uint64_t i = 0; ok && i < n; i++)
		if (mc[i])
			rs[nr++] = (struct tli_read){ .addr = mc[i] + tm.offset, .buf = &tiny[i], .len = 8 };
	ok = ok && (!nr || !tli_error_drop(tli_target_read_many(s->target, rs, nr)));
	for (uint64_t i = 0; ok && i < n; i++)
		if ((tiny[i] && !tli_vec_push(&r->tiny, tiny[i])) || (ps[i] && !tli_vec_push(&r->ps, ps[i])))
			ok = false;
	if (!ok)
		snprintf(r->tiny_problem, sizeof(r->tiny_problem), "the Ps' mcaches are unreadable");
	free(ps);
	free(mc);
	free(tiny);
	free(rs);
}

/* data and bss from the moduledata (link-time, plus the load bias) */
static struct tli_error *add_globals(struct tli_session *s, struct tli_go_rt *rt, struct tli_goheap_roots *r,
				     struct tli_read *rs, size_t *nr)
{
	struct tli_gobin *gb = NULL;
	if (tli_error_drop(tli_session_gobin(s, &gb)))
		return NULL;
	const struct tli_gomoduledata *md = tli_gobin_moduledata(gb);
	if (!md) {
		snprintf(r->problem, sizeof(r->problem), "no moduledata (data/bss roots unknown)");
		return NULL;
	}
	uint64_t bias = tli_go_rt_bias(rt);
	const uint64_t seg[2][2] = { [TLI_GOHEAP_DATA] = { md->data, md->edata },
				     [TLI_GOHEAP_BSS] = { md->bss, md->ebss } };
	for (int i = 0; i < 2; i++) {
		uint64_t lo = seg[i][0] + bias, hi = seg[i][1] + bias;
		if (hi <= lo || hi - lo > (1ull << 32))
			continue;
		struct tli_goheap_range *g = &r->globals[i];
		g->lo = lo;
		g->hi = hi;
		g->mem = calloc(1, hi - lo);
		if (!g->mem)
			return &tli_enomem;
		rs[(*nr)++] = (struct tli_read){ .addr = lo, .buf = g->mem, .len = hi - lo };
	}
	return NULL;
}

/* [sp, stack.hi) of every live goroutine (the whole stack if sp is outside it) */
static struct tli_error *add_stacks(struct tli_go_rt *rt, struct tli_goheap_roots *r, struct tli_read *rs,
				    size_t *nr)
{
	for (size_t i = 0; i < r->nstacks; i++) {
		struct tli_go_gview v;
		if (!tli_go_rt_g(rt, i, &v) || v.dead)
			continue;
		uint64_t lo = v.sp >= v.stk_lo && v.sp < v.stk_hi ? v.sp : v.stk_lo, hi = v.stk_hi;
		lo &= ~7ull;
		if (!lo || hi <= lo || hi - lo > MAX_STACK)
			continue;
		struct tli_goheap_range *st = &r->stacks[i];
		st->lo = lo;
		st->hi = hi;
		st->running = v.trap;
		st->mem = calloc(1, hi - lo);
		if (!st->mem)
			return &tli_enomem;
		rs[(*nr)++] = (struct tli_read){ .addr = lo, .buf = st->mem, .len = hi - lo };
	}
	return NULL;
}

struct tli_error *tli_goheap_roots_capture(struct tli_session *s, struct tli_go_rt *rt, bool globals,
					   struct tli_goheap_roots *r)
{
	size_t n = tli_go_rt_count(rt);
	r->nstacks = n;
	r->stacks = calloc(n ? n : 1, sizeof(*r->stacks));
	struct tli_read *rs = calloc(n + 3, sizeof(*rs));
	struct tli_error *err = NULL;
	size_t nr = 0;
	if (!r->stacks || !rs)
		err = &tli_enomem;
	if (!err && globals)
		err = add_globals(s, rt, r, rs, &nr);
	if (!err)
		err = add_stacks(rt, r, rs, &nr);
	if (!err && nr)
		err = tli_target_read_many(s->target, rs, nr);
	free(rs);
	struct tli_gobin *gb = NULL;
	if (!err && globals && !tli_error_drop(tli_session_gobin(s, &gb)) && tli_gobin_moduledata(gb))
		add_masks(s, rt, tli_gobin_moduledata(gb), r);
	if (!err && globals)
		add_tiny(s, rt, r);
	return err;
}

void tli_goheap_roots_free(struct tli_goheap_roots *r)
{
	for (size_t i = 0; r->stacks && i < r->nstacks; i++)
		free(r->stacks[i].mem);
	free(r->stacks);
	for (int i = 0; i < 2; i++) {
		free(r->globals[i].mem);
		free(r->globals[i].mask);
	}
	tli_vec_free(&r->tiny);
	tli_vec_free(&r->ps);
	*r = (struct tli_goheap_roots){ 0 };
}
