/* SPDX-License-Identifier: MIT */
/*
 * Precise goroutine stack scanning (see heap_stack.h), after
 * runtime/mgcmark.go scanstack and scanframeworker and runtime/mgcstack.go
 * (stackScanState: pointers into the stack are queued while frames are
 * scanned, then the stack objects they reach are scanned, which may queue
 * more), go1.19 … go1.27.
 */
#include "go/heap_stack.h"

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "go/stackmap.h"

#define MAX_DEFERS 100000u

struct tli_goheap_precise {
	struct tli_go_rt *rt;
	struct tli_go_stackmaps *sm;
	uint32_t g_ctxt, g_defer, g_panic;
	uint32_t d_fn, d_link, d_heap;
	bool has_defer;
	struct tli_goheap_stack_stats st;
};

struct tli_error *tli_goheap_precise_new(struct tli_session *s, struct tli_go_rt *rt, struct tli_goheap_precise **ret)
{
	*ret = NULL;
	struct tli_goheap_precise *p = calloc(1, sizeof(*p));
	if (!p)
		return &tli_enomem;
	p->rt = rt;
	const struct tli_field_spec specs[] = {
		{ "runtime.g", "sched.ctxt", &p->g_ctxt, NULL, false, NULL },
		{ "runtime.g", "_defer", &p->g_defer, NULL, false, NULL },
		{ "runtime.g", "_panic", &p->g_panic, NULL, false, NULL },
		{ "runtime._defer", "fn", &p->d_fn, NULL, false, NULL },
		{ "runtime._defer", "link", &p->d_link, NULL, false, NULL },
		{ "runtime._defer", "heap", &p->d_heap, NULL, false, NULL },
	};
	struct tli_error *err = tli_layout_resolve(tli_go_rt_layout(rt), specs, sizeof(specs) / sizeof(specs[0]));
	if (!err)
		err = tli_go_stackmaps_new(s, rt, &p->sm);
	if (err) {
		free(p);
		return err;
	}
	*ret = p;
	return NULL;
}

void tli_goheap_precise_destroy(struct tli_goheap_precise *p)
{
	if (!p)
		return;
	tli_go_stackmaps_destroy(p->sm);
	free(p);
}

const struct tli_goheap_stack_stats *tli_goheap_precise_stats(const struct tli_goheap_precise *p)
{
	return p ? &p->st : NULL;
}

/* ---- one goroutine's scan state ---- */

struct sobj {
	uint64_t addr, size, ptrbytes;
	const uint8_t *mask;
	bool scanned;
};
TLI_VEC(sobjs, struct sobj);

struct scan {
	const struct tli_goheap *h;
	tli_goheap_word_fn emit;             /* a heap pointer found, and where it was held */
	void *ctx;
	const struct tli_goheap_range *st;   /* captured [sp, hi) */
	uint64_t lo, hi;                     /* the whole stack: pointers into it are stack pointers */
	struct tli_goheap_addrs ptrs;        /* pointers into the stack, not looked up yet */
	struct sobjs objs;
	uint64_t scanned_bytes;
	bool oom;
};

static bool stack_word(const void *ctx, uint64_t a, uint64_t *v)
{
	const struct tli_goheap_range *st = ctx;
	if (!st->mem || a < st->lo || a + 8 > st->hi || (a & 7))
		return false;
	*v = tli_rd64(st->mem + (a - st->lo));
	return true;
}

/* a word of the stack or of a captured heap object */
static bool any_word(const struct scan *sc, uint64_t a, uint64_t *v)
{
	if (stack_word(sc->st, a, v))
		return true;
	const struct tli_goheap_span *sp = tli_goheap_find_span(sc->h, a);
	if (!sp || !sp->data || a + 8 > sp->end)
		return false;
	*v = tli_rd64(sp->data + (a - sp->start));
	return true;
}

/* one pointer-typed (or conservatively read) word's value v, held at address at (0: off the stack) */
static void found(struct scan *sc, uint64_t at, uint64_t v)
{
	if (v >= sc->lo && v < sc->hi) {
		if (!tli_vec_push(&sc->ptrs, v))
			sc->oom = true;
		return;
	}
	if (v >= sc->h->lo && v < sc->h->hi)
		sc->emit(sc->ctx, at, v);
}

/* scanblock: the words of [b, b + 8n) whose bit is set (every word if bits is NULL) */
static void scan_block(struct scan *sc, uint64_t b, uint64_t nwords, const uint8_t *bits)
{
	for (uint64_t w = 0; w < nwords; w++) {
		uint64_t v;
		if (bits && !(bits[w / 8] >> (w % 8) & 1))
			continue;
		if (stack_word(sc->st, b + 8 * w, &v))
			found(sc, b + 8 * w, v);
	}
	sc->scanned_bytes += 8 * nwords;
}

static void add_object(struct scan *sc, const struct tli_go_stkobj *o)
{
	struct sobj so = { .addr = o->addr, .size = o->size, .ptrbytes = o->ptrbytes, .mask = o->mask };
	if (!tli_vec_push(&sc->objs, so))
		sc->oom = true;
}

static int cmp_sobj(const void *a, const void *b)
{
	const struct sobj *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* the stack objects reached from the queued pointers, transitively */
static void scan_objects(struct tli_goheap_precise *p, struct scan *sc)
{
	if (sc->objs.n > 1)
		qsort(sc->objs.v, sc->objs.n, sizeof(*sc->objs.v), cmp_sobj);
	p->st.stack_objects += sc->objs.n;
	while (sc->ptrs.n) {
		uint64_t q = sc->ptrs.v[--sc->ptrs.n];
		size_t i = tli_upper_bound(sc->objs.n, k, sc->objs.v[k].addr > q);
		if (!i)
			continue;
		struct sobj *o = &sc->objs.v[i - 1];
		if (q >= o->addr + o->size || o->scanned)
			continue;
		o->scanned = true;
		p->st.stack_objects_scanned++;
		if (o->mask)
			scan_block(sc, o->addr, o->ptrbytes / 8, o->mask);
		else
			scan_block(sc, o->addr, o->size / 8, NULL); /* GC program or unreadable mask */
	}
}

/* a frame the runtime scans conservatively (or whose maps we cannot read) */
static void frame_words(struct scan *sc, const struct tli_go_sframe *f, uint64_t argbytes)
{
	if (f->varp > f->sp)
		scan_block(sc, f->sp, (f->varp - f->sp) / 8, NULL);
	if (argbytes)
		scan_block(sc, f->argp, argbytes / 8, NULL);
}

static void fallback_frame(struct tli_goheap_precise *p, struct scan *sc, const struct tli_go_sframe *f,
			   const char *why)
{
	p->st.frames_conservative++;
	p->st.frames_fallback++;
	p->st.last_problem = why;
	/* the whole frame: locals, saved registers, and what lies up to its caller's frame */
	scan_block(sc, f->sp, (f->fp - f->sp) / 8, NULL);
}

static void scan_frame(struct tli_goheap_precise *p, struct scan *sc, const struct tli_go_sframe *f)
{
	struct tli_go_fmaps fm;
	const char *why = NULL;
	if (!tli_go_stackmaps_frame(p->sm, f, &fm, &why)) {
		fallback_frame(p, sc, f, why);
		return;
	}
	if (f->conservative) {
		p->st.frames_conservative++;
		frame_words(sc, f, fm.argbytes);
		return;
	}
	p->st.frames_precise++;
	if (f->continpc == 0) {
		p->st.frames_dead++;
		return;
	}
	if (fm.nlocals)
		scan_block(sc, f->varp - 8ull * fm.nlocals, fm.nlocals, fm.locals);
	if (fm.nargs)
		scan_block(sc, f->argp, fm.nargs, fm.args);
	for (uint64_t k = 0; k < fm.nobjs; k++) {
		struct tli_go_stkobj o;
		if (tli_go_stackmaps_obj(p->sm, f, &fm, k, &o))
			add_object(sc, &o);
	}
}

/* g.sched.ctxt, the defer records (fn, link, heap records themselves), the panic record */
static void scan_g_extras(struct tli_goheap_precise *p, struct scan *sc, const struct tli_go_gview *g)
{
	if (p->g_ctxt + 8 <= g->size)
		found(sc, 0, tli_rd64(g->raw + p->g_ctxt));
	uint64_t d = p->g_defer + 8 <= g->size ? tli_rd64(g->raw + p->g_defer) : 0;
	for (unsigned n = 0; d && n < MAX_DEFERS; n++) {
		uint64_t fn = 0, link = 0, heapw = 0;
		bool ok = any_word(sc, d + p->d_fn, &fn) && any_word(sc, d + p->d_link, &link) &&
			  any_word(sc, d + (p->d_heap & ~7u), &heapw);
		if (!ok)
			break; /* a heap record is still marked through the chain's previous link */
		if (fn)
			found(sc, 0, fn);
		if (link)
			found(sc, 0, link);
		if ((heapw >> (8 * (p->d_heap & 7))) & 0xff)
			found(sc, 0, d);
		d = link;
	}
	uint64_t pn = p->g_panic + 8 <= g->size ? tli_rd64(g->raw + p->g_panic) : 0;
	if (pn)
		found(sc, 0, pn);
}

/* the frames of goroutine g; false if the walk stopped before the top (the rest is then scanned word by word) */
static bool scan_frames(struct tli_goheap_precise *p, struct scan *sc, const struct tli_go_gview *g)
{
	struct tli_go_sunwind u;
	uint64_t lastsp = g->sp;
	tli_go_sunwind_init(&u, p->sm, g->pc, g->sp, g->stk_hi, stack_word, sc->st);
	for (; u.valid; tli_go_sunwind_next(&u)) {
		scan_frame(p, sc, &u.frame);
		lastsp = u.frame.fp;
	}
	if (!u.problem)
		return true;
	p->st.last_problem = u.problem;
	if (lastsp < sc->st->hi)
		scan_block(sc, lastsp, (sc->st->hi - lastsp) / 8, NULL);
	return false;
}

/* a goroutine the runtime would scan precisely: not running on a thread (stopped at no safe
 * point; its registers are roots already), its captured stack starting at g.sched.sp */
static bool scannable(const struct tli_goheap_precise *p, const struct tli_goheap_range *st,
		      const struct tli_go_gview *g)
{
	return p && st->mem && !g->dead && g->raw && !g->trap && g->sp == st->lo && g->pc;
}

/* the precise scan of a scannable goroutine; false if part of it was word by word */
static bool scan_precise(struct tli_goheap_precise *p, struct scan *sc, const struct tli_go_gview *g)
{
	bool whole = scan_frames(p, sc, g);
	scan_g_extras(p, sc, g);
	scan_objects(p, sc);
	if (sc->oom) /* out of memory: be safe, every word */
		whole = false;
	if (whole)
		p->st.stacks_precise++;
	else
		p->st.stacks_partial++;
	tli_vec_free(&sc->ptrs);
	tli_vec_free(&sc->objs);
	return whole && !sc->oom;
}

static void mark_word(void *ctx, uint64_t at, uint64_t v)
{
	(void)at;
	tli_goheap_mark_ptr(ctx, v);
}

void tli_goheap_mark_stack_precise(struct tli_goheap_marker *m, const struct tli_goheap_roots *r, size_t i,
				   struct tli_goheap_precise *p)
{
	const struct tli_goheap_range *st = &r->stacks[i];
	struct tli_go_gview g;
	if (!p || !tli_go_rt_g(p->rt, i, &g) || !scannable(p, st, &g)) {
		if (p && st->mem)
			p->st.stacks_conservative++;
		tli_goheap_mark_stack(m, r, i);
		return;
	}
	m->src = TLI_GOHEAP_ROOT_STACK + (i & 0xeff);
	struct scan sc = { .h = m->h, .emit = mark_word, .ctx = m, .st = st, .lo = g.stk_lo, .hi = g.stk_hi };
	bool oom = false;
	if (!scan_precise(p, &sc, &g))
		oom = sc.oom;
	m->scanned_bytes += sc.scanned_bytes;
	if (oom)
		tli_goheap_mark_stack(m, r, i);
}

bool tli_goheap_stack_words(struct tli_goheap_precise *p, const struct tli_goheap *h, const struct tli_goheap_range *st,
			    const struct tli_go_gview *g, tli_goheap_word_fn emit, void *ctx)
{
	struct scan sc = { .h = h, .emit = emit, .ctx = ctx, .st = st, .lo = g->stk_lo, .hi = g->stk_hi };
	if (scannable(p, st, g)) {
		if (scan_precise(p, &sc, g))
			return true;
		if (!sc.oom)
			return false; /* the unreadable part was scanned word by word already */
	} else if (p && st->mem) {
		p->st.stacks_conservative++;
	}
	for (uint64_t a = st->lo; st->mem && a + 8 <= st->hi; a += 8) {
		uint64_t v = tli_rd64(st->mem + (a - st->lo));
		if (v >= h->lo && v < h->hi)
			emit(ctx, a, v);
	}
	return false;
}

/* collects the heap pointers of one frame (tli_goheap_frame_ptrs) */
struct frame_ptrs {
	uint64_t *out;
	int n, max;
};

static void frame_ptr(void *ctx, uint64_t at, uint64_t v)
{
	(void)at;
	struct frame_ptrs *fp = ctx;
	if (fp->n < fp->max)
		fp->out[fp->n] = v;
	fp->n++;
}

int tli_goheap_frame_ptrs(struct tli_goheap_precise *p, const struct tli_goheap *h, const struct tli_goheap_range *st,
			  const struct tli_go_gview *g, const char *func, uint64_t *out, int max)
{
	if (!scannable(p, st, g))
		return -1;
	struct frame_ptrs fp = { .out = out, .max = max };
	struct scan sc = { .h = h, .emit = frame_ptr, .ctx = &fp, .st = st, .lo = g->stk_lo, .hi = g->stk_hi };
	struct tli_go_sunwind u;
	int ret = -1;
	tli_go_sunwind_init(&u, p->sm, g->pc, g->sp, g->stk_hi, stack_word, st);
	for (; u.valid; tli_go_sunwind_next(&u)) {
		const struct tli_go_sframe *f = &u.frame;
		struct tli_go_fmaps fm;
		const char *why = NULL;
		if (!f->fn.name || strcmp(f->fn.name, func))
			continue;
		/* only a frame the runtime scans by its maps, stopped at a call */
		if (f->conservative || !f->continpc || !tli_go_stackmaps_frame(p->sm, f, &fm, &why))
			break;
		if (fm.nlocals)
			scan_block(&sc, f->varp - 8ull * fm.nlocals, fm.nlocals, fm.locals);
		if (fm.nargs)
			scan_block(&sc, f->argp, fm.nargs, fm.args);
		ret = fp.n <= max ? fp.n : -1;
		break;
	}
	tli_vec_free(&sc.ptrs);
	return ret;
}
