/* SPDX-License-Identifier: MIT */
/*
 * `leaks --explain ID`: why one goroutine is (or is not) judged leaked.
 *
 * A leaked goroutine: the objects it waits on, none marked from any root. A
 * goroutine blocked on a channel/semaphore that is not leaked: the chain the
 * leak marker itself followed (tli_goheap_marker with `trace`: parent maps each
 * marked object to the object that marked it, or to a root tag), from a root to
 * the object it waits on. The chain is the marker's own, so it is the reason of
 * the verdict, not merely some path. Each step's pointer field is found again in
 * the captured parent object; a global root is named from .symtab (stripped: by
 * its address), a stack root by goroutine and the frame holding the word
 * (pcsp unwinding of the captured stack, as census_stack.c does).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/bytes.h"
#include "dwarf/elfsym.h"
#include "go/chans.h"
#include "go/gfacts.h"
#include "go/heap.h"
#include "go/heap_stack.h"
#include "go/pclntab.h"
#include "go/waitfor.h"

#define MAX_DEPTH 64
#define MAX_FRAMES 128

/* the first captured word of [lo, hi) (mem) pointing into [b, e); 0 if none */
static uint64_t find_word(const uint8_t *mem, uint64_t lo, uint64_t hi, const uint8_t *mask, uint64_t b, uint64_t e)
{
	for (uint64_t a = (lo + 7) & ~7ull; mem && a + 8 <= hi; a += 8) {
		uint64_t k = (a - lo) / 8;
		if (mask && !(mask[k / 8] >> (k % 8) & 1))
			continue;
		uint64_t v = tli_rd64(mem + (a - lo));
		if (v >= b && v < e)
			return a;
	}
	return 0;
}

static json_t *step(const char *kind, const char *name, uint64_t addr)
{
	json_t *o = json_object();
	json_object_set_new(o, "kind", json_string(kind));
	json_object_set_new(o, "name", name ? json_string(name) : json_null());
	json_object_set_new(o, "address", addr ? tli_go_hex(addr) : json_null());
	json_object_set_new(o, "type", json_null());
	json_object_set_new(o, "offset", json_null());
	return o;
}

/* a data/bss root: the word pointing at [b, e), named from .symtab when there is one */
static json_t *global_root(struct tli_go_waitfor *w, int which, uint64_t b, uint64_t e)
{
	const struct tli_goheap_range *r = &w->roots.globals[which];
	uint64_t slot = find_word(r->mem, r->lo, r->hi, r->mask, b, e);
	char name[300];
	snprintf(name, sizeof(name), "%s word (no symbol table: named by address)", which == TLI_GOHEAP_DATA ? "data" : "bss");
	struct tli_elfsym *sym = NULL;
	if (slot && w->s->target->exe_path && !tli_error_drop(tli_elfsym_open(w->s->target->exe_path, &sym)) &&
	    !strcmp(tli_elfsym_table(sym), ".symtab")) {
		struct tli_sym sy;
		uint64_t off = 0;
		if (!tli_error_drop(tli_elfsym_lookup_addr(sym, slot - tli_go_rt_bias(w->rt), &sy, &off)) && sy.name)
			snprintf(name, sizeof(name), off ? "%s+0x%" PRIx64 : "%s", sy.name, off);
	}
	if (sym)
		tli_elfsym_close(sym);
	return step("global", name, slot);
}

/* the function of the frame of goroutine v's stack st holding address at (NULL: unknown) */
static const char *frame_of(struct tli_go_waitfor *w, const struct tli_go_gview *v,
			    const struct tli_goheap_range *st, uint64_t at)
{
	const struct tli_pclntab *t = tli_go_rt_pclntab(w->rt);
	uint64_t bias = tli_go_rt_bias(w->rt), pc = v->pc, sp = v->sp;
	const char *func = NULL;
	for (size_t n = 0; t && pc && n < MAX_FRAMES && sp >= st->lo && sp < st->hi && sp <= at; n++) {
		struct tli_gofunc f;
		int32_t d = 0;
		if (tli_error_drop(tli_pclntab_find(t, pc - bias, &f)))
			break;
		func = f.name; /* frames grow upwards from sp: the holder is the last one starting at or below at */
		if (tli_error_drop(tli_pclntab_spdelta(t, &f, pc - bias, &d)) || d < 0 || (uint64_t)d > (1u << 24))
			break;
		struct tli_arch_goframe af; /* a parked goroutine's LR is on its stack */
		tli_arch_go_frame(w->s->target->arch, sp, (uint64_t)d, n == 0, 0, &af);
		if (af.fp <= sp || af.ret_at < st->lo || af.ret_at + 8 > st->hi)
			break;
		pc = tli_rd64(st->mem + (af.ret_at - st->lo));
		sp = af.fp;
	}
	return func;
}

/* a stack root (tag index ti = goroutine index & 0xeff): the goroutine whose stack holds a word into [b, e) */
static json_t *stack_root(struct tli_go_waitfor *w, size_t ti, uint64_t b, uint64_t e)
{
	for (size_t i = ti; i < w->c->ngs && i < w->roots.nstacks; i++) {
		if ((i & 0xeff) != ti) /* the tag keeps only these bits of the index */
			continue;
		const struct tli_goheap_range *st = &w->roots.stacks[i];
		uint64_t at = find_word(st->mem, st->lo, st->hi, NULL, b, e);
		if (!at)
			continue;
		struct tli_go_gview v;
		const char *fn = tli_go_rt_g(w->rt, i, &v) ? frame_of(w, &v, st, at) : NULL;
		char name[400];
		snprintf(name, sizeof(name), "goroutine %" PRId64 " frame %s%s", w->c->gs[i].goid, fn ? fn : "?",
			 w->gi[i].cls == TLI_GO_G_CHAN || w->gi[i].cls == TLI_GO_G_SYNC
				 ? " (itself blocked, judged able to run)" : "");
		return step("stack", name, at);
	}
	char name[64];
	snprintf(name, sizeof(name), "stack of goroutine index %zu", ti);
	return step("stack", name, 0);
}

static json_t *root_step(struct tli_go_waitfor *w, uint64_t tag, uint64_t b, uint64_t e)
{
	switch (tag) {
	case TLI_GOHEAP_ROOT_DATA:
		return global_root(w, TLI_GOHEAP_DATA, b, e);
	case TLI_GOHEAP_ROOT_BSS:
		return global_root(w, TLI_GOHEAP_BSS, b, e);
	case TLI_GOHEAP_ROOT_REGISTERS:
		return step("registers", "a thread's registers", 0);
	case TLI_GOHEAP_ROOT_SPECIALS:
		return step("special", "a finalizer or cleanup special", 0);
	case TLI_GOHEAP_ROOT_TINY:
		return step("tiny", "a P's current tiny-allocator block", 0);
	default:
		return tag >= TLI_GOHEAP_ROOT_STACK ? stack_root(w, tag - TLI_GOHEAP_ROOT_STACK, b, e)
						    : step("unknown", NULL, 0);
	}
}

/* a heap object on the path; child = the next object's [b, e) (0: none, the end) */
static json_t *object_step(struct tli_go_waitfor *w, const struct tli_goheap_object *o, uint64_t b, uint64_t e)
{
	struct tli_goheap *h = w->h;
	const struct tli_goheap_span *sp = o->span;
	json_t *s = step("object", NULL, o->base);
	json_object_set_new(s, "size", json_integer((json_int_t)sp->elemsize));
	uint64_t payload = 0, tp = tli_goheap_object_type(h, sp, o->base, &payload);
	struct tli_go_type ty;
	char tn[256];
	if (tp && tli_go_type_read(&h->types, tp, &ty) && tli_go_type_name(&h->types, &ty, tn, sizeof(tn)) && tn[0])
		json_object_set_new(s, "type", json_string(tn));
	if (e && sp->data) {
		uint64_t at = find_word(sp->data + (o->base - sp->start), o->base, o->base + sp->elemsize, NULL, b, e);
		if (at)
			json_object_set_new(s, "offset", json_integer((json_int_t)(at - o->base)));
	}
	return s;
}

/* root -> objects -> obj, as the marker went; NULL if obj was not marked */
static json_t *path_to(struct tli_go_waitfor *w, const struct tli_goheap_marker *m, uint64_t obj, const char *kind)
{
	struct tli_goheap_object chain[MAX_DEPTH];
	size_t n = 0;
	uint64_t p = 0;
	if (!tli_goheap_find_object(w->h, obj, &chain[0]))
		return NULL;
	for (n = 1; n <= MAX_DEPTH; n++) {
		p = tli_u64map_get(&m->parent, chain[n - 1].base);
		if (!p || p < TLI_GOHEAP_ROOT_TAG_END || n == MAX_DEPTH || !tli_goheap_find_object(w->h, p, &chain[n]))
			break;
	}
	if (!p)
		return NULL;
	json_t *path = json_array();
	if (p < TLI_GOHEAP_ROOT_TAG_END) {
		const struct tli_goheap_object *top = &chain[n - 1];
		json_array_append_new(path, root_step(w, p, top->base, top->base + top->span->elemsize));
	} else {
		json_array_append_new(path, step("truncated", n == MAX_DEPTH ? "longer than 64 objects"
									      : "marked by a word outside the captured heap", p));
	}
	for (size_t k = n; k-- > 0;) {
		const struct tli_goheap_object *nx = k ? &chain[k - 1] : NULL;
		json_array_append_new(path, object_step(w, &chain[k], nx ? nx->base : 0,
							nx ? nx->base + nx->span->elemsize : 0));
	}
	/* the last step is the object waited on; a channel's type from the channel walker */
	json_t *last = json_array_get(path, json_array_size(path) - 1);
	json_object_set_new(last, "kind", json_string(kind));
	const struct tli_go_chan *ch = tli_go_chans_find(w->c, obj);
	char tn[300];
	if (ch && ch->type_name && json_is_null(json_object_get(last, "type"))) {
		snprintf(tn, sizeof(tn), "chan %s", ch->type_name);
		json_object_set_new(last, "type", json_string(tn));
	}
	return path;
}

static json_t *explain_blocked(struct tli_go_waitfor *w, const struct tli_goheap_marker *m, size_t i, json_t *e)
{
	const struct tli_go_ginfo *x = &w->gi[i];
	if (x->leaked) {
		json_object_set_new(e, "verdict", json_string("leaked"));
		json_object_set_new(e, "why", json_string("no root reaches any object it waits on (marked from data/bss, "
							  "registers, specials, tiny blocks and the stacks of "
							  "goroutines able to run, to a fixed point)"));
		return e;
	}
	json_object_set_new(e, "verdict", json_string("reachable"));
	for (size_t q = 0; q < x->nobjs; q++) {
		bool in_heap = false;
		if (!tli_goheap_is_marked(m, x->objs[q], &in_heap) && in_heap)
			continue;
		json_t *path = in_heap ? path_to(w, m, x->objs[q], x->cls == TLI_GO_G_SYNC ? "semaphore_object"
											: "channel") : NULL;
		json_object_set_new(e, "object", tli_go_hex(x->objs[q]));
		json_object_set_new(e, "why", json_string(!in_heap ? "it waits on an object outside the Go heap (a "
								     "global or unknown): treated as reachable"
							  : path ? "a root reaches an object it waits on"
								 : "marked, but the marker's trace has no parent"));
		json_object_set_new(e, "path", path ? path : json_array());
		return e;
	}
	json_object_set_new(e, "why", json_string("judged able to run, but none of its objects is marked"));
	return e;
}

json_t *tli_go_leaks_explain(struct tli_go_waitfor *w, const struct tli_goheap_marker *m, bool reach_ok, int64_t goid)
{
	json_t *e = json_object();
	json_object_set_new(e, "goroutine", json_integer(goid));
	size_t i = 0;
	while (i < w->c->ngs && (w->c->gs[i].dead || w->c->gs[i].goid != goid))
		i++;
	if (i == w->c->ngs) {
		json_object_set_new(e, "verdict", json_string("not_found"));
		json_object_set_new(e, "why", json_string("no live goroutine with this id"));
		return e;
	}
	const struct tli_go_chan_g *g = &w->c->gs[i];
	const struct tli_go_ginfo *x = &w->gi[i];
	json_object_set_new(e, "wait_reason", g->reason ? json_string(g->reason) : json_null());
	json_t *objs = json_array();
	for (size_t q = 0; q < x->nobjs; q++) {
		json_t *o = json_object();
		json_object_set_new(o, "address", tli_go_hex(x->objs[q]));
		json_object_set_new(o, "kind", json_string(x->cls == TLI_GO_G_SYNC ? "semaphore" : "channel"));
		json_array_append_new(objs, o);
	}
	json_object_set_new(e, "waits_on", objs);
	json_object_set_new(e, "path", json_array());
	if (x->cls == TLI_GO_G_FOREVER) {
		json_object_set_new(e, "verdict", json_string(x->leaked ? "leaked" : "not_reported"));
		json_object_set_new(e, "why", json_string(x->leaked ? "blocked on a nil channel or select {}: can never proceed"
								    : "main in select {} is not reported (Go's rule)"));
	} else if (x->cls == TLI_GO_G_ROOT) {
		json_object_set_new(e, "verdict", json_string("not_judged"));
		json_object_set_new(e, "why", json_string(x->why_root ? x->why_root
						 : !g->waiting ? "not blocked (running or runnable): its stack is a root"
							       : "its wait is not leak-eligible: its stack is a root"));
	} else if (!reach_ok) {
		json_object_set_new(e, "verdict", json_string("not_judged"));
		json_object_set_new(e, "why", json_string("reachability could not be judged (see leak_stats)"));
	} else {
		explain_blocked(w, m, i, e);
	}
	return e;
}
