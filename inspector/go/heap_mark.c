/* SPDX-License-Identifier: MIT */
/*
 * Marking the captured Go heap from roots, as the garbage collector would
 * (runtime/mgcmark.go markroot, scanobject, scanblock; go1.23): objects are
 * scanned precisely where the runtime's pointer bits can be had (small objects
 * of go1.22+ by their span's heap bits, objects with a type by its pointer
 * bitmap tiled over the object, objects of go1.19-1.21 by the arena heap
 * bitmap: heap_bitmap.c); every other object, and every root range, word by
 * word. See heap.h.
 */
#include "go/heap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/bytes.h"

struct tli_error *tli_goheap_marker_init(struct tli_goheap_marker *m, struct tli_goheap *h,
					 const struct tli_goheap_untraced *untraced, bool trace)
{
	*m = (struct tli_goheap_marker){ .h = h, .trace = trace };
	if (untraced)
		m->untraced = *untraced;
	m->bitoff = calloc(h->nspans ? h->nspans : 1, sizeof(*m->bitoff));
	size_t total = 0;
	for (size_t i = 0; m->bitoff && i < h->nspans; i++) {
		m->bitoff[i] = total;
		total += (size_t)((h->spans[i].nelems + 7) / 8);
	}
	m->bits = calloc(1, total ? total : 1);
	if (!m->bitoff || !m->bits) {
		tli_goheap_marker_free(m);
		return &tli_enomem;
	}
	return NULL;
}

void tli_goheap_marker_free(struct tli_goheap_marker *m)
{
	free(m->bits);
	free(m->bitoff);
	tli_vec_free(&m->work);
	tli_u64map_free(&m->parent);
	m->bits = NULL;
	m->bitoff = NULL;
}

static uint8_t *mark_byte(const struct tli_goheap_marker *m, const struct tli_goheap_object *o)
{
	return &m->bits[m->bitoff[o->span - m->h->spans] + o->index / 8];
}

void tli_goheap_mark_ptr(struct tli_goheap_marker *m, uint64_t p)
{
	struct tli_goheap_object o;
	if (!tli_goheap_find_object(m->h, p, &o))
		return;
	uint8_t *b = mark_byte(m, &o), bit = (uint8_t)(1u << (o.index % 8));
	if (*b & bit)
		return;
	*b |= bit;
	m->marked_objects++;
	if (m->trace)
		tli_u64map_put(&m->parent, o.base, m->src);
	if (o.span->noscan || !o.span->data)
		return;
	if (!tli_vec_push(&m->work, o.base))
		m->oom = true;
}

bool tli_goheap_is_marked(const struct tli_goheap_marker *m, uint64_t p, bool *in_heap)
{
	struct tli_goheap_object o;
	*in_heap = tli_goheap_find_object(m->h, p, &o);
	return *in_heap && (*mark_byte(m, &o) & (1u << (o.index % 8)));
}

/* the object obj (size bytes) has words the caller does not want traced */
static bool has_untraced(const struct tli_goheap_marker *m, uint64_t obj, uint64_t size)
{
	const struct tli_goheap_untraced *u = &m->untraced;
	return u->objs && u->words && u->objs->n && size >= u->obj_min && size < u->obj_max && tli_u64set_has(u->objs, obj);
}

/* the pointer word at a of a heap object (its span's copy) is an edge unless it points
 * outside the heap or the caller keeps it untraced (check: the object has such words) */
static inline void edge(struct tli_goheap_marker *m, const struct tli_goheap_span *sp, uint64_t a, bool check)
{
	uint64_t v = tli_rd64(sp->data + (a - sp->start));
	if (v < m->h->lo || v >= m->h->hi)
		return;
	if (check && tli_u64set_has(m->untraced.words, a))
		return;
	tli_goheap_mark_ptr(m, v);
}

/* word by word: every aligned word pointing into an allocated object is an edge */
static void scan_words(struct tli_goheap_marker *m, const uint8_t *mem, uint64_t lo, uint64_t hi, bool object)
{
	const struct tli_goheap *h = m->h;
	const struct tli_u64set *hiw = m->untraced.hi_words;
	bool check = object && has_untraced(m, lo, hi - lo);
	for (uint64_t a = lo; a + 8 <= hi; a += 8) {
		uint64_t w = tli_rd64(mem + (a - lo));
		if (w < h->lo || w >= h->hi)
			continue;
		if (check && tli_u64set_has(m->untraced.words, a))
			continue;
		/* stack.hi is at least 2 KiB aligned: one cheap test before the set */
		if (!(w & 2047) && hiw && hiw->n && tli_u64set_has(hiw, a))
			continue;
		tli_goheap_mark_ptr(m, w);
	}
	m->scanned_bytes += hi - lo;
}

/* typed scan: the type's pointer words, tiled over the object (arrays) */
static bool scan_typed(struct tli_goheap_marker *m, const struct tli_goheap_span *sp, uint64_t obj)
{
	struct tli_goheap *h = m->h;
	uint64_t payload = 0, tp = tli_goheap_object_type(h, sp, obj, &payload);
	uint64_t end = obj + sp->elemsize;
	if (!tp)
		return false;
	const struct tli_goheap_tinfo *ti = tli_goheap_type_info(h, tp);
	bool usable = ti && ti->ok && ti->size <= end - payload;
	if (m->trace && !usable)
		fprintf(stderr, "trace: object 0x%" PRIx64 " (%" PRIu64 "B): type 0x%" PRIx64 " not usable (%s, size %" PRIu64 ")\n",
			obj, sp->elemsize, tp, ti && ti->ok ? "too big" : "unreadable or unusual", ti ? ti->size : 0);
	if (!usable)
		return false;
	m->typed_objects++;
	bool check = has_untraced(m, obj, sp->elemsize);
	for (uint64_t base = payload; base + ti->size <= end; base += ti->size) {
		for (uint64_t w = 0; w < ti->ptrbytes / 8; w++) {
			if (!(ti->mask[w / 8] >> (w % 8) & 1))
				continue;
			edge(m, sp, base + 8 * w, check);
		}
		if (!ti->ptrbytes)
			break;
	}
	m->scanned_bytes += sp->elemsize;
	return true;
}

/* a small object (go1.22+): the words its span's heap bits mark as pointers, as the
 * runtime's scanobject does through typePointersOfUnchecked */
static void scan_hbits(struct tli_goheap_marker *m, const struct tli_goheap_span *sp, uint64_t obj)
{
	bool check = has_untraced(m, obj, sp->elemsize);
	uint64_t w0 = (obj - sp->start) / 8;
	for (uint64_t w = 0; w < sp->elemsize / 8; w++) {
		uint64_t bit = w0 + w;
		if (sp->hbits[bit / 8] >> (bit % 8) & 1)
			edge(m, sp, obj + 8 * w, check);
	}
	m->typed_objects++;
	m->scanned_bytes += sp->elemsize;
}

/* an object of go1.19-1.21: the words its arena's heap bitmap marks as pointers, as the
 * runtime's scanobject does (2-bit: until the scan bit says no more pointers); false if
 * the bits name no pointer at all (every object of a scannable span has one: the bits
 * are implausible, the caller scans it word by word) */
static bool scan_abits(struct tli_goheap_marker *m, const struct tli_goheap_span *sp, uint64_t obj)
{
	const struct tli_goheap *h = m->h;
	uint64_t w = tli_goheap_abits_next(h, sp, obj, 0);
	if (w == UINT64_MAX)
		return false;
	bool check = has_untraced(m, obj, sp->elemsize);
	for (; w != UINT64_MAX; w = tli_goheap_abits_next(h, sp, obj, w + 1))
		edge(m, sp, obj + 8 * w, check);
	m->bitmap_objects++;
	m->scanned_bytes += sp->elemsize;
	return true;
}

void tli_goheap_drain(struct tli_goheap_marker *m)
{
	const struct tli_goheap *h = m->h;
	while (m->work.n) {
		uint64_t obj = m->work.v[--m->work.n];
		const struct tli_goheap_span *sp = tli_goheap_find_span(h, obj);
		if (!sp || !sp->data)
			continue;
		m->src = obj;
		if (sp->hbits) {
			scan_hbits(m, sp, obj);
			continue;
		}
		if (h->L.abits_enc) {
			if (scan_abits(m, sp, obj))
				continue;
			m->bitmap_fallbacks++; /* unreadable or implausible bits */
		}
		if (h->L.typed && scan_typed(m, sp, obj))
			continue;
		/* a type slot (large object or malloc header) that could not be used */
		if (h->L.typed && (sp->sizeclass == 0 || (int64_t)sp->elemsize > h->L.hdr_min))
			m->typed_fallbacks++;
		scan_words(m, sp->data + (obj - sp->start), obj, obj + sp->elemsize, true);
	}
}

void tli_goheap_mark_stack(struct tli_goheap_marker *m, const struct tli_goheap_roots *r, size_t i)
{
	const struct tli_goheap_range *st = &r->stacks[i];
	m->src = TLI_GOHEAP_ROOT_STACK + (i & 0xeff);
	if (st->mem)
		scan_words(m, st->mem, st->lo, st->hi, false);
}

/* only threads running goroutine code (stack pointer on a goroutine stack): idle Ms
 * parked in the scheduler hold stale values the runtime never scans */
static bool on_goroutine_stack(const struct tli_goheap_roots *r, uint64_t sp)
{
	for (size_t g = 0; g < r->nstacks; g++)
		if (r->stacks[g].hi && r->stacks[g].running && sp >= r->stacks[g].lo - 4096 && sp < r->stacks[g].hi)
			return true;
	return false;
}

static void mark_registers(struct tli_goheap_marker *m, const struct tli_goheap_roots *r, const struct tli_target *t)
{
	m->src = TLI_GOHEAP_ROOT_REGISTERS;
	for (size_t i = 0; i < t->nthreads; i++) {
		const struct tli_regs *rg = &t->threads[i].regs;
		if (!t->threads[i].regs_valid || !on_goroutine_stack(r, rg->sp))
			continue;
		for (unsigned j = 0; j < rg->ngpr; j++) /* every general register of the architecture */
			tli_goheap_mark_ptr(m, rg->gpr[j]);
	}
}

/* finalizer/cleanup specials: their objects and records; every object of a span
 * whose specials could not be read */
static void mark_specials(struct tli_goheap_marker *m)
{
	const struct tli_goheap *h = m->h;
	m->src = TLI_GOHEAP_ROOT_SPECIALS;
	for (size_t i = 0; i < h->special_roots.n; i++)
		tli_goheap_mark_ptr(m, h->special_roots.v[i]);
	for (size_t i = 0; i < h->special_words.n; i++)
		tli_goheap_mark_ptr(m, h->special_words.v[i]);
	if (!h->specials_coarse)
		return;
	for (size_t i = 0; i < h->nspans; i++) {
		const struct tli_goheap_span *sp = &h->spans[i];
		if (!sp->specials)
			continue;
		for (uint64_t o = 0; o < sp->nelems; o++)
			tli_goheap_mark_ptr(m, sp->start + o * sp->elemsize);
	}
}

void tli_goheap_mark_from_roots(struct tli_goheap_marker *m, const struct tli_goheap_roots *r,
				const struct tli_target *t)
{
	for (int i = 0; i < 2; i++) {
		const struct tli_goheap_range *g = &r->globals[i];
		m->src = i == TLI_GOHEAP_DATA ? TLI_GOHEAP_ROOT_DATA : TLI_GOHEAP_ROOT_BSS;
		if (g->mem && g->mask) { /* only the words the runtime's mask says hold pointers */
			for (uint64_t w = 0, n = (g->hi - g->lo) / 8; w < n; w++)
				if (g->mask[w / 8] >> (w % 8) & 1)
					scan_words(m, g->mem + 8 * w, g->lo + 8 * w, g->lo + 8 * w + 8, false);
		} else if (g->mem) {
			scan_words(m, g->mem, g->lo, g->hi, false);
		}
	}
	mark_registers(m, r, t);
	mark_specials(m);
	m->src = TLI_GOHEAP_ROOT_TINY;
	for (size_t i = 0; i < r->tiny.n; i++)
		tli_goheap_mark_ptr(m, r->tiny.v[i]);
}
