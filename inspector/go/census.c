/* SPDX-License-Identifier: MIT */
/*
 * The heap census: marking the captured Go heap from the runtime's roots while
 * propagating types through typed pointers (see census.h). Per-object state
 * lives in three flat arrays indexed like the mark bits (objoff[span] + index);
 * the work lists hold object addresses, each object entering the typed list at
 * most once and the untyped list at most once.
 */
#include "census_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/bytes.h"
#include "go/gobin.h"

enum { ST_NONE = 0, ST_UNTYPED = 1, ST_TYPED = 2 };
enum { K_CHAN = 18, K_MAP = 21, K_PTR = 22 };

/* ---- objects ---- */

struct obj {
	struct tli_goheap_span *sp;
	uint64_t base, payload, num;
};

static bool find(const struct tli_go_census *c, uint64_t addr, struct obj *o)
{
	struct tli_goheap_object x;
	if (c->pages) {
		/* one table lookup instead of a binary search over the spans */
		if (addr < c->h->lo || addr >= c->h->hi)
			return false;
		uint32_t si = c->pages[(addr - c->h->lo) >> CENSUS_PAGE_SHIFT];
		if (!si)
			return false;
		struct tli_goheap_span *s = &c->h->spans[si - 1];
		if (addr < s->start || addr >= s->end)
			return false;
		uint64_t idx = (addr - s->start) / s->elemsize;
		if (!tli_goheap_allocated(s, idx))
			return false;
		x = (struct tli_goheap_object){ .span = s, .index = idx, .base = s->start + idx * s->elemsize };
	} else if (!tli_goheap_find_object(c->h, addr, &x)) {
		return false;
	}
	const struct tli_goheap_span *sp = x.span;
	o->sp = x.span;
	o->base = x.base;
	o->num = c->objoff[sp - c->h->spans] + x.index;
	/* objects with a malloc header: the program's pointers point past it */
	bool hdr = c->h->L.typed && sp->sizeclass && !sp->noscan && (int64_t)sp->elemsize > c->h->L.hdr_min;
	o->payload = x.base + (hdr ? (uint64_t)c->h->L.hdr_size : 0);
	return true;
}

/* the type the runtime recorded for o (malloc header, largeType), 0 if none */
static uint64_t header_type(const struct tli_go_census *c, const struct obj *o)
{
	uint64_t payload;
	return o->sp->data ? tli_goheap_object_type(c->h, o->sp, o->base, &payload) : 0;
}

static uint32_t untyped_class(struct tli_go_census *c, const struct tli_goheap_span *sp)
{
	return census_ctype(c, sp->elemsize, CT_UNTYPED);
}

static bool pseudo(uint8_t k)
{
	return k >= CT_HCHAN;
}

/* the census type of o given the edge's type cid (0: untyped) and its recorded type ht */
static uint32_t settle_type(struct tli_go_census *c, const struct obj *o, uint32_t cid, uint64_t ht)
{
	if (!ht)
		return cid;
	if (cid && (pseudo(c->ct.v[cid].kind) ||
		    ((c->ct.v[cid].kind == CT_PLAIN || c->ct.v[cid].kind == CT_ARRAY) && c->ct.v[cid].desc == ht)))
		return cid;
	uint32_t p = census_ctype(c, ht, CT_PLAIN);
	uint64_t sz = p ? c->ct.v[p].size : 0, room = o->base + o->sp->elemsize - o->payload;
	if (!sz)
		return cid;
	return room >= 2 * sz ? census_ctype(c, ht, CT_ARRAY) : p;
}

/* an edge to addr of census type cid (0: untyped) from path node parent, labelled label */
void census_reach(struct tli_go_census *c, uint64_t addr, uint32_t cid, uint32_t parent, uint32_t label)
{
	struct obj o;
	if (addr < c->h->lo || addr >= c->h->hi || !find(c, addr, &o))
		return;
	uint8_t st = c->state[o.num];
	if (st == ST_TYPED)
		return;
	if (cid && addr != o.payload) {
		c->interior++; /* an interior pointer never types its object */
		cid = 0;
	}
	uint64_t ht = c->h->L.typed ? header_type(c, &o) : 0;
	cid = settle_type(c, &o, cid, ht);
	if (!cid) {
		if (st == ST_UNTYPED)
			return;
		c->state[o.num] = ST_UNTYPED;
		c->untyped_edges++;
		if (c->retention)
			c->opath[o.num] = census_child(c, parent, label, untyped_class(c, o.sp));
		if (o.sp->data && !tli_vec_push(&c->uq, o.base))
			c->oom = true;
		return;
	}
	c->retyped += st == ST_UNTYPED;
	c->state[o.num] = ST_TYPED;
	c->otype[o.num] = cid;
	c->typed_edges++;
	if (c->retention)
		c->opath[o.num] = census_child(c, parent, label, cid);
	if (o.sp->data && !tli_vec_push(&c->tq, o.base))
		c->oom = true;
}

/* ---- scanning ---- */

/* [lo, hi) of captured memory mem, word by word: every word into the heap is an untyped edge */
static void scan_words(struct tli_go_census *c, const uint8_t *mem, uint64_t lo, uint64_t hi, uint32_t parent)
{
	for (uint64_t a = lo; a + 8 <= hi; a += 8) {
		uint64_t w = tli_rd64(mem + (a - lo));
		if (w >= c->h->lo && w < c->h->hi)
			census_reach(c, w, 0, parent, c->lab_dots);
	}
}

/* an interface value: its dynamic type types what its data word points to */
static void reach_iface(struct tli_go_census *c, uint64_t w0, uint64_t w1, bool itab, uint32_t parent, uint32_t label)
{
	if (w1 < c->h->lo || w1 >= c->h->hi)
		return;
	uint64_t t = census_iface_type(c, w0, itab);
	uint32_t p = t ? census_ctype(c, t, CT_PLAIN) : 0;
	if (!p || !c->ct.v[p].size) {
		census_reach(c, w1, 0, parent, label);
		return;
	}
	const struct ctype *ty = &c->ct.v[p];
	if (!ty->direct) {
		census_reach(c, w1, p, parent, label);   /* a boxed copy of T */
		return;
	}
	uint64_t e = 0, target = 0;
	uint8_t eb[8];
	if (ty->tkind == K_PTR && c->L.has_ptr && census_read(c, t + c->L.ptr_elem, eb, 8) && (e = tli_rd64(eb)))
		target = census_ctype(c, e, CT_PLAIN);
	else if (ty->tkind == K_MAP && c->L.has_map)
		target = census_ctype(c, t, c->L.swiss ? CT_SMAP : CT_HMAP);
	else if (ty->tkind == K_CHAN)
		target = census_ctype(c, t, CT_HCHAN);
	census_reach(c, w1, (uint32_t)target, parent, label);
}

/* run the slot program of PLAIN type id over one value at a (memory mem) */
static void run_prog(struct tli_go_census *c, uint32_t id, const uint8_t *mem, uint64_t a, uint32_t parent, bool arr)
{
	uint32_t first = c->ct.v[id].prog, n = c->ct.v[id].nprog;
	for (uint32_t i = 0; i < n; i++) {
		const struct slot s = c->slots.v[first + i];
		const uint8_t *p = mem + s.off;
		uint64_t v = tli_rd64(p);
		uint32_t label = arr ? s.alabel : s.label;
		switch (s.kind) {
		case SL_EFACE:
		case SL_IFACE:
			reach_iface(c, v, tli_rd64(p + 8), s.kind == SL_IFACE, parent, label);
			continue;
		case SL_SLICE:   /* cap 0: the pointer may be one past another object */
			census_reach(c, v, tli_rd64(p + 16) ? s.target : 0, parent, label);
			continue;
		case SL_STRING:
			census_reach(c, v, tli_rd64(p + 8) ? s.target : 0, parent, label);
			continue;
		case SL_UNTYPED:
			census_reach(c, v, 0, parent, label);
			continue;
		default:
			census_reach(c, v, s.target, parent, label);
		}
	}
	(void)a;
}

/* a value of PLAIN type id (or an array of them) in [lo, hi) of mem: typed slots, else word by word */
static void scan_values(struct tli_go_census *c, uint32_t id, const uint8_t *mem, uint64_t lo, uint64_t hi,
			uint32_t parent, bool arr)
{
	census_prog(c, id);
	uint64_t sz = c->ct.v[id].size;
	if (!sz || !c->ct.v[id].prog_complete || sz > hi - lo) {
		scan_words(c, mem, lo, hi, parent);
		return;
	}
	if (!c->ct.v[id].nprog)
		return;
	for (uint64_t a = lo; a + sz <= hi; a += sz) {
		run_prog(c, id, mem + (a - lo), a, parent, arr);
		if (!arr)
			break;
	}
}

static uint64_t word_at(const struct obj *o, uint64_t a)
{
	return a + 8 <= o->base + o->sp->elemsize ? tli_rd64(o->sp->data + (a - o->sp->start)) : 0;
}

/* maps and channels: their runtime objects, by the runtime's own layout */
static void scan_pseudo(struct tli_go_census *c, const struct obj *o, const struct ctype *t, uint32_t parent)
{
	const struct census_layout *L = &c->L;
	uint64_t grp = 0, el = 0;
	uint8_t b[8];
	if ((t->kind == CT_HMAP || t->kind == CT_SMAP || t->kind == CT_STABLE || t->kind == CT_SDIR) &&
	    census_read(c, t->desc + L->map_group, b, 8))
		grp = tli_rd64(b);
	switch (t->kind) {
	case CT_HCHAN:
		if (L->has_hchan_buf && census_read(c, t->desc + L->chan_elem, b, 8) && (el = tli_rd64(b)))
			census_reach(c, word_at(o, o->payload + L->hchan_buf), census_ctype(c, el, CT_ARRAY), parent,
			      census_label(c, ".buf"));
		break;
	case CT_HMAP:
		if (grp) {
			uint32_t a = census_ctype(c, grp, CT_ARRAY);
			census_reach(c, word_at(o, o->payload + L->hmap_buckets), a, parent, census_label(c, ".buckets"));
			census_reach(c, word_at(o, o->payload + L->hmap_oldbuckets), a, parent, census_label(c, ".oldbuckets"));
		}
		break;
	case CT_SMAP: {
		uint64_t dp = word_at(o, o->payload + L->smap_dirptr), dl = word_at(o, o->payload + L->smap_dirlen);
		if (dl == 0 && grp)
			census_reach(c, dp, census_ctype(c, grp, CT_PLAIN), parent, census_label(c, ".group"));
		else if (dl > 0)
			census_reach(c, dp, census_ctype(c, t->desc, CT_SDIR), parent, census_label(c, ".directory"));
		return;
	}
	case CT_SDIR: {
		uint32_t tb = census_ctype(c, t->desc, CT_STABLE), lab = census_label(c, "[]");
		for (uint64_t a = o->payload; a + 8 <= o->base + o->sp->elemsize; a += 8)
			census_reach(c, word_at(o, a), tb, parent, lab);
		return;
	}
	case CT_STABLE:
		if (grp)
			census_reach(c, word_at(o, o->payload + L->stable_groups), census_ctype(c, grp, CT_ARRAY), parent,
			      census_label(c, ".groups"));
		return;
	}
	/* the rest (wait queues, overflow lists) word by word */
	scan_words(c, o->sp->data + (o->base - o->sp->start), o->base, o->base + o->sp->elemsize, parent);
}

static void scan_typed(struct tli_go_census *c, uint64_t base)
{
	struct obj o;
	if (!find(c, base, &o) || !o.sp->data)
		return;
	uint32_t id = c->otype[o.num], parent = c->retention ? c->opath[o.num] : 0;
	const struct ctype t = c->ct.v[id];
	uint64_t end = o.base + o.sp->elemsize;
	const uint8_t *mem = o.sp->data + (o.payload - o.sp->start);
	if (t.kind == CT_PLAIN)
		scan_values(c, id, mem, o.payload, end, parent, false);
	else if (t.kind == CT_ARRAY)
		scan_values(c, t.elem, mem, o.payload, end, parent, true);
	else if (pseudo(t.kind))
		scan_pseudo(c, &o, &t, parent);
}

/* an untyped object of go1.19-1.21: the words the arena heap bitmap marks as pointers
 * (heap_bitmap.c); false if it has no usable bits (then word by word) */
static bool scan_abits(struct tli_go_census *c, const struct obj *o, uint32_t parent)
{
	uint64_t w = tli_goheap_abits_next(c->h, o->sp, o->base, 0);
	if (w == UINT64_MAX)
		return false;
	for (; w != UINT64_MAX; w = tli_goheap_abits_next(c->h, o->sp, o->base, w + 1)) {
		uint64_t v = tli_rd64(o->sp->data + (o->base + 8 * w - o->sp->start));
		if (v >= c->h->lo && v < c->h->hi)
			census_reach(c, v, 0, parent, c->lab_dots);
	}
	return true;
}

static void drain(struct tli_go_census *c)
{
	for (;;) {
		if (c->tqh < c->tq.n) {
			scan_typed(c, c->tq.v[c->tqh++]);
			continue;
		}
		if (c->uqh >= c->uq.n)
			break;
		struct obj o;
		uint64_t base = c->uq.v[c->uqh++];
		if (!find(c, base, &o) || c->state[o.num] != ST_UNTYPED)
			continue;
		uint32_t parent = c->retention ? c->opath[o.num] : 0;
		if (!scan_abits(c, &o, parent))
			scan_words(c, o.sp->data + (o.base - o.sp->start), o.base, o.base + o.sp->elemsize, parent);
	}
	/* done with the lists */
	tli_vec_free(&c->tq);
	tli_vec_free(&c->uq);
	c->tqh = c->uqh = 0;
}

/* ---- roots ---- */

static const struct tli_goheap_range *range_of(const struct tli_goheap_roots *r, uint64_t a, uint64_t n)
{
	for (int i = 0; i < 2; i++)
		if (r->globals[i].mem && a >= r->globals[i].lo && a + n <= r->globals[i].hi && a + n >= a)
			return &r->globals[i];
	return NULL;
}

static uint32_t global_root(struct tli_go_census *c, struct census_global *g)
{
	if (!g->root && c->retention) {
		char n[600];
		snprintf(n, sizeof(n), "global %s", g->name);
		g->root = census_root(c, n);
	}
	return g->root;
}

/* DWARF globals, typed by their runtime descriptors */
static void mark_typed_globals(struct tli_go_census *c, const struct tli_goheap_roots *r)
{
	for (size_t i = 0; i < c->globals.n; i++) {
		struct census_global *g = &c->globals.v[i];
		const struct tli_goheap_range *rg = range_of(r, g->addr, g->size);
		if (!rg || (!g->rtype && !g->slice_elem))
			continue;
		if (!g->rtype && g->slice_elem && g->size == 24) {
			/* a slice: its backing array holds elements of slice_elem */
			const uint8_t *m = rg->mem + (g->addr - rg->lo);
			uint64_t data = tli_rd64(m), cap = tli_rd64(m + 16);
			census_reach(c, data, cap ? census_ctype(c, g->slice_elem, CT_ARRAY) : 0, global_root(c, g),
			      census_label(c, ""));
			continue;
		}
		uint32_t id = census_ctype(c, g->rtype, CT_PLAIN);
		if (!id || c->ct.v[id].size != g->size)
			continue;
		scan_values(c, id, rg->mem + (g->addr - rg->lo), g->addr, g->addr + g->size, global_root(c, g), false);
	}
}

/* the global holding a (binary search in the sorted globals), or NULL */
static struct census_global *global_at(struct tli_go_census *c, uint64_t a)
{
	size_t lo = 0, hi = c->globals.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->globals.v[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && a < c->globals.v[lo - 1].addr + c->globals.v[lo - 1].size)
		return &c->globals.v[lo - 1];
	return NULL;
}

static void mark_untyped_globals(struct tli_go_census *c, const struct tli_goheap_roots *r)
{
	for (int i = 0; i < 2; i++) {
		const struct tli_goheap_range *g = &r->globals[i];
		uint32_t anon = census_root(c, i == TLI_GOHEAP_DATA ? "data" : "bss");
		for (uint64_t a = g->lo; g->mem && a + 8 <= g->hi; a += 8) {
			uint64_t wi = (a - g->lo) / 8; /* the runtime's pointer mask, when read: only its words */
			if (g->mask && !(g->mask[wi / 8] >> (wi % 8) & 1))
				continue;
			uint64_t w = tli_rd64(g->mem + (a - g->lo));
			if (w < c->h->lo || w >= c->h->hi)
				continue;
			struct census_global *gl = c->retention ? global_at(c, a) : NULL;
			census_reach(c, w, 0, gl ? global_root(c, gl) : anon, c->lab_dots);
		}
	}
}

static void mark_stacks(struct tli_go_census *c, const struct tli_goheap_roots *r)
{
	if (!c->precise_tried && c->rt && r->nstacks) { /* files and layout only: once per census */
		c->precise_tried = true;
		struct tli_error *e = tli_goheap_precise_new(c->s, c->rt, &c->precise);
		if (e)
			snprintf(c->stack_problem, sizeof(c->stack_problem), "%.150s", e->msg);
		tli_error_destroy(e);
	}
	for (size_t i = 0; i < r->nstacks; i++) {
		const struct tli_goheap_range *st = &r->stacks[i];
		struct tli_go_gview v;
		if (!st->mem || !tli_go_rt_g(c->rt, i, &v))
			continue;
		census_mark_stack(c, st, &v);
	}
}

static void mark_registers(struct tli_go_census *c, const struct tli_goheap_roots *r)
{
	const struct tli_target *t = c->s->target;
	uint32_t root = census_root(c, "registers");
	for (size_t i = 0; i < t->nthreads; i++) {
		const struct tli_regs *rg = &t->threads[i].regs;
		bool on = false;   /* only threads running goroutine code, as heap_mark.c */
		for (size_t g = 0; g < r->nstacks && !on; g++)
			on = r->stacks[g].hi && r->stacks[g].running && rg->sp >= r->stacks[g].lo - 4096 &&
			     rg->sp < r->stacks[g].hi;
		if (!t->threads[i].regs_valid || !on)
			continue;
		for (unsigned j = 0; j < rg->ngpr; j++) /* every general register of the architecture */
			census_reach(c, rg->gpr[j], 0, root, c->lab_dots);
	}
}

static void mark_specials(struct tli_go_census *c)
{
	const struct tli_goheap *h = c->h;
	uint32_t root = census_root(c, "finalizer");
	for (size_t i = 0; i < h->special_roots.n; i++)
		census_reach(c, h->special_roots.v[i], 0, root, c->lab_dots);
	for (size_t i = 0; i < h->special_words.n; i++)
		census_reach(c, h->special_words.v[i], 0, root, c->lab_dots);
	for (size_t i = 0; h->specials_coarse && i < h->nspans; i++) {
		const struct tli_goheap_span *sp = &h->spans[i];
		for (uint64_t o = 0; sp->specials && o < sp->nelems; o++)
			census_reach(c, sp->start + o * sp->elemsize, 0, root, c->lab_dots);
	}
}

/* each P's current tiny-allocator block: the runtime greys it at every cycle
 * (mgcmark.go gcMarkTinyAllocs), so what lives in it is live, as leaks.c has it */
static void mark_tiny(struct tli_go_census *c, const struct tli_goheap_roots *r)
{
	uint32_t root = census_root(c, "tiny block");
	for (size_t i = 0; i < r->tiny.n; i++)
		census_reach(c, r->tiny.v[i], 0, root, c->lab_dots);
}

/* ---- run ---- */

static struct tli_error *alloc_state(struct tli_go_census *c)
{
	struct tli_goheap *h = c->h;
	c->objoff = calloc(h->nspans + 1, sizeof(*c->objoff));
	if (!c->objoff)
		return &tli_enomem;
	for (size_t i = 0; i < h->nspans; i++) {
		c->objoff[i] = c->nobj;
		c->nobj += h->spans[i].nelems;
	}
	/* page -> span table when the heap's address range is not absurdly sparse (Go's spans
	 * start on 8 KiB pages); otherwise find() searches the spans */
	uint64_t npages = h->nspans ? ((h->hi - h->lo) >> CENSUS_PAGE_SHIFT) + 1 : 0;
	if (npages && npages <= (1u << 26) && h->nspans < UINT32_MAX &&
	    (c->pages = calloc(npages, sizeof(*c->pages)))) {
		for (size_t i = 0; i < h->nspans; i++) {
			const struct tli_goheap_span *sp = &h->spans[i];
			for (uint64_t a = sp->start & ~((1ull << CENSUS_PAGE_SHIFT) - 1); c->pages && a < sp->end;
			     a += 1ull << CENSUS_PAGE_SHIFT) {
				uint32_t *pg = &c->pages[(a - h->lo) >> CENSUS_PAGE_SHIFT];
				if (*pg) {   /* two spans on one page: never in Go; search instead */
					free(c->pages);
					c->pages = NULL;
					break;
				}
				*pg = (uint32_t)(i + 1);
			}
		}
	}
	size_t n = c->nobj ? (size_t)c->nobj : 1;
	c->state = calloc(n, 1);
	c->otype = calloc(n, sizeof(uint32_t));
	c->opath = c->retention ? calloc(n, sizeof(uint32_t)) : NULL;
	if (!c->state || !c->otype || (c->retention && (!c->opath || !census_paths_init(c))))
		return tli_error_create(TLI_E_NOMEM, "out of memory for the census of %" PRIu64 " heap objects",
					c->nobj);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct tli_error *tli_go_census_run(struct tli_go_census *c, struct tli_goheap *h, const struct tli_goheap_roots *r,
				    const struct tli_go_census_opts *o, json_t *go)
{
	double t0 = now_s();
	c->h = h;
	c->retention = o && o->retention;
	struct tli_error *err = alloc_state(c);
	if (err)
		return err;
	c->lab_dots = census_label(c, "?");
	c->lab_arr = census_label(c, "[]");
	/* typed roots first, fully: what they reach is attributed to them and typed */
	mark_typed_globals(c, r);
	drain(c);
	mark_untyped_globals(c, r);
	mark_stacks(c, r);
	mark_registers(c, r);
	mark_specials(c);
	mark_tiny(c, r);
	drain(c);
	if (c->oom)
		return tli_error_create(TLI_E_NOMEM, "out of memory during the Go heap census");
	census_name_all(c);
	census_output(c, o, go);
	json_t *st = json_object_get(go, "census");
	if (st)
		json_object_set_new(st, "seconds", json_real(now_s() - t0));
	return NULL;
}
