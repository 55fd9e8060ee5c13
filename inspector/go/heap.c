/* SPDX-License-Identifier: MIT */
/*
 * The Go heap model: layouts, lifetime, object types. See heap.h. Captures are
 * in heap_capture.c (spans, specials), heap_roots.c (data/bss, stacks),
 * heap_types.c (pointer bitmaps) and heap_mark.c (reachability).
 */
#include "go/heap.h"

#include <inttypes.h>
#include <stdlib.h>

#include "core/bigbuf.h"
#include "core/bytes.h"

static bool try_const(struct tli_layout *l, const char *name, int64_t *ret)
{
	return !tli_error_drop(tli_layout_constant(l, name, ret));
}

/* runtime.special: next, offset (uintptr in old runtimes, uint16 later), kind */
static void resolve_specials(struct tli_layout *l, struct tli_goheap_layout *L)
{
	struct tli_member a, b, c;
	if (tli_layout_has_member(l, "runtime.special", "next", &a) &&
	    tli_layout_has_member(l, "runtime.special", "offset", &b) &&
	    tli_layout_has_member(l, "runtime.special", "kind", &c) && a.offset + 8 <= TLI_GOHEAP_SPECIAL_BYTES &&
	    b.offset + 2 <= TLI_GOHEAP_SPECIAL_BYTES && c.offset < TLI_GOHEAP_SPECIAL_BYTES) {
		L->has_special = true;
		L->sx_next = (uint32_t)a.offset;
		L->sx_offset = (uint32_t)b.offset;
		L->sx_kind = (uint32_t)c.offset;
		L->sx_offset_sz = b.size == 0 || b.size > 8 ? 8 : (uint32_t)b.size;
	}
}

/* typed scanning: malloc headers (go1.22+) and large object types */
static void resolve_typed(struct tli_layout *l, struct tli_goheap_layout *L)
{
	struct tli_member a;
	L->has_largetype = tli_layout_has_member(l, "runtime.mspan", "largeType", &a);
	L->sp_largetype = (uint32_t)a.offset;
	if (try_const(l, "internal/runtime/gc.MinSizeForMallocHeader", &L->hdr_min) ||
	    try_const(l, "runtime.minSizeForMallocHeader", &L->hdr_min)) {
		if (!try_const(l, "internal/runtime/gc.MallocHeaderSize", &L->hdr_size) &&
		    !try_const(l, "runtime.mallocHeaderSize", &L->hdr_size))
			L->hdr_size = 8; /* one pointer */
		tli_go_type_flags_resolve(l, &L->tflags);
		L->typed = L->hdr_min > 0 && L->hdr_size == 8 && L->has_largetype;
	}
	/* small objects' heap bits at the end of their span (same runtimes as malloc headers) */
	int64_t ps = 0;
	uint64_t imb = 0;
	if (L->typed && tli_layout_has_member(l, "runtime.mspan", "npages", &a) &&
	    (try_const(l, "runtime._PageSize", &ps) || try_const(l, "runtime.pageSize", &ps)) && ps >= 4096 &&
	    ps <= (1 << 20) && !(ps & (ps - 1))) {
		L->sp_npages = (uint32_t)a.offset;
		L->sp_npages_sz = a.size == 0 || a.size > 8 ? 8 : (uint32_t)a.size;
		L->page_size = (uint64_t)ps;
		struct tli_error *e = tli_layout_type_size(l, "runtime.spanInlineMarkBits", &imb);
		tli_error_destroy(e); /* absent: no Green Tea GC in this runtime */
		L->inline_marks = imb < 1024 ? imb : 0;
		L->hbits_small = true;
	}
}

static struct tli_error *resolve(struct tli_layout *l, struct tli_goheap_layout *L)
{
	struct tli_global g;
	struct tli_member m;
	struct tli_error *err = tli_layout_global(l, "runtime.mheap_", &g);
	if (err)
		return tli_error_wrap(err, "Go heap");
	L->mheap = g.addr;
	if ((err = tli_layout_member(l, "runtime.mheap", "allspans", &m)))
		return tli_error_wrap(err, "Go heap");
	L->allspans_off = m.offset;
	const struct tli_field_spec specs[] = {
		{ "runtime.mspan", "startAddr", &L->sp_start, NULL, false, NULL },
		{ "runtime.mspan", "freeindex", &L->sp_freeindex, &L->sp_freeindex_sz, false, NULL },
		{ "runtime.mspan", "nelems", &L->sp_nelems, &L->sp_nelems_sz, false, NULL },
		{ "runtime.mspan", "allocBits", &L->sp_allocbits, NULL, false, NULL },
		{ "runtime.mspan", "state", &L->sp_state, NULL, false, NULL },
		{ "runtime.mspan", "elemsize", &L->sp_elemsize, NULL, false, NULL },
		{ "runtime.mspan", "spanclass", &L->sp_spanclass, NULL, false, NULL },
		{ "runtime.mspan", "specials", &L->sp_specials, NULL, false, NULL },
	};
	if ((err = tli_layout_resolve(l, specs, sizeof(specs) / sizeof(specs[0]))))
		return tli_error_wrap(err, "Go heap spans");
	uint64_t sz;
	if ((err = tli_layout_type_size(l, "runtime.mspan", &sz)))
		return tli_error_wrap(err, "Go heap spans");
	if (sz < 64 || sz > 4096)
		return tli_error_create(TLI_E_CORRUPT, "implausible sizeof(runtime.mspan) = %" PRIu64, sz);
	L->mspan_size = (uint32_t)sz;
	if (!try_const(l, "runtime.mSpanInUse", &L->span_inuse))
		return tli_error_create(TLI_E_NO_INFO, "no value for runtime.mSpanInUse (no DWARF and no runtime map?)");
	if (L->sp_freeindex_sz == 0 || L->sp_freeindex_sz > 8)
		L->sp_freeindex_sz = 8;
	if (L->sp_nelems_sz == 0 || L->sp_nelems_sz > 8)
		L->sp_nelems_sz = 8;
	resolve_specials(l, L);
	resolve_typed(l, L);
	if (!L->typed)
		tli_goheap_abits_resolve(l, L);
	L->has_kind_fin = try_const(l, "runtime._KindSpecialFinalizer", &L->kind_fin);
	L->has_kind_clean = try_const(l, "runtime._KindSpecialCleanup", &L->kind_clean);
	return NULL;
}

struct tli_error *tli_goheap_new(struct tli_session *s, struct tli_go_rt *rt, struct tli_goheap **ret)
{
	struct tli_goheap *h = calloc(1, sizeof(*h));
	if (!h)
		return &tli_enomem;
	h->s = s;
	h->rt = rt;
	struct tli_error *err = resolve(tli_go_rt_layout(rt), &h->L);
	if (err) {
		free(h);
		return err;
	}
	*ret = h;
	return NULL;
}

void tli_goheap_destroy(struct tli_goheap *h)
{
	if (!h)
		return;
	free(h->allocbits);
	if (h->copy)
		tli_big_free(h->copy, h->copy_len);
	if (h->resv)
		tli_big_free(h->resv, h->resv_len);
	free(h->spans);
	tli_vec_free(&h->special_roots);
	tli_vec_free(&h->special_words);
	tli_u64map_free(&h->tcache);
	tli_u64map_free(&h->arenas);
	for (size_t i = 0; i < h->tinfo.n; i++)
		free(h->tinfo.v[i].mask);
	tli_vec_free(&h->tinfo);
	free(h);
}

uint64_t tli_goheap_bytes(const struct tli_goheap *h)
{
	uint64_t n = 0;
	for (size_t i = 0; h && i < h->nspans; i++)
		n += h->spans[i].end - h->spans[i].start;
	return n;
}

uint64_t tli_goheap_object_type(const struct tli_goheap *h, const struct tli_goheap_span *sp, uint64_t base,
				uint64_t *payload)
{
	if (!h->L.typed || !sp->data)
		return 0;
	if (sp->sizeclass == 0) {
		*payload = base;
		return sp->largetype;
	}
	if ((int64_t)sp->elemsize > h->L.hdr_min) {
		*payload = base + (uint64_t)h->L.hdr_size;
		return tli_rd64(sp->data + (base - sp->start));
	}
	return 0;
}
