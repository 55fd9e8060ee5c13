/* SPDX-License-Identifier: MIT */
/*
 * Types of Go heap objects, for typed scanning: the malloc header of objects
 * above minSizeForMallocHeader and mspan.largeType of large objects
 * (runtime/mbitmap.go typePointersOfUnchecked, go1.23), and each type's
 * pointer bitmap (go/types). Resolved while the target is stopped. See heap.h.
 */
#include "go/heap.h"

#include <stdlib.h>

#include "core/bytes.h"
#include "go/chans.h"

/*
 * The pointer mask of a runtime type, read from the executable (module types)
 * or from memory (types built at run time). Anything unusual (GC program, mask
 * built on demand and not yet, an implausible size) → not ok, and the object is
 * scanned conservatively.
 */
const struct tli_goheap_tinfo *tli_goheap_type_info(struct tli_goheap *h, uint64_t tp)
{
	uint64_t ci = tli_u64map_get(&h->tcache, tp);
	if (ci)
		return &h->tinfo.v[ci - 1];
	/* resolved only while the target is stopped (prepare_types); later misses are unknown */
	const struct tli_target *t = h->s->target;
	if (t->released && t->kind == TLI_TARGET_LIVE)
		return NULL;
	struct tli_goheap_tinfo ti = { 0 };
	struct tli_go_type ty;
	if (h->types.gb && h->types.L && h->types.L->has_gcdata && tli_go_type_read(&h->types, tp, &ty)) {
		ti.size = ty.size;
		ti.ptrbytes = ty.ptrbytes;
		ti.ok = tli_go_type_ptrmask(&h->types, &h->L.tflags, &ty, &ti.mask);
	}
	if (!tli_vec_push(&h->tinfo, ti)) {
		free(ti.mask);
		return NULL;
	}
	tli_u64map_put(&h->tcache, tp, h->tinfo.n);
	return &h->tinfo.v[h->tinfo.n - 1];
}

void tli_goheap_prepare_types(struct tli_goheap *h, const struct tli_go_type_layout *types)
{
	struct tli_gobin *gb = NULL;
	if (tli_error_drop(tli_session_gobin(h->s, &gb)))
		gb = NULL;
	h->types = (struct tli_go_type_src){
		.t = h->s->target, .gb = gb, .md = gb ? tli_gobin_moduledata(gb) : NULL,
		.bias = tli_go_rt_bias(h->rt), .L = types, .policy = TLI_GO_TYPE_MODULE_FILE,
	};
	if (!h->L.typed)
		return;
	for (size_t i = 0; i < h->nspans; i++) {
		const struct tli_goheap_span *sp = &h->spans[i];
		if (sp->noscan || !sp->data)
			continue;
		if (sp->sizeclass == 0) {
			if (sp->largetype)
				tli_goheap_type_info(h, sp->largetype);
			continue;
		}
		if ((int64_t)sp->elemsize <= h->L.hdr_min)
			continue;
		for (uint64_t o = 0; o < sp->nelems; o++) {
			uint64_t tp = tli_goheap_allocated(sp, o) ? tli_rd64(sp->data + o * sp->elemsize) : 0;
			if (tp)
				tli_goheap_type_info(h, tp);
		}
	}
}
