/* SPDX-License-Identifier: MIT */
/*
 * Capturing the Go heap while the target is stopped: the in-use spans of
 * mheap_.allspans, their allocBits, the memory of every scannable span (and on
 * go1.19-1.21 its slice of the arena heap bitmap, heap_bitmap.c), and the
 * finalizer/cleanup specials. One vectored read per pointer depth. See heap.h.
 *
 * Upstream: runtime/mheap.go (mheap.allspans, mspan, mSpanInUse, special,
 * addspecial), runtime/mbitmap.go (mspan.allocBits), go1.23.
 */
#include "go/heap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bigbuf.h"
#include "core/bytes.h"
#include "core/memlimit.h"
#include "core/pagecache.h"

#define MAX_SPANS     (64u * 1024 * 1024)
#define MAX_SPECIALS  (1u << 20)

static int cmp_span(const void *a, const void *b)
{
	const struct tli_goheap_span *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

enum span_verdict { SPAN_OK, SPAN_NOT_IN_USE, SPAN_BAD };

/* one mspan header */
static enum span_verdict decode_span(const struct tli_goheap_layout *L, const uint8_t *p, struct tli_goheap_span *ret)
{
	if ((int64_t)p[L->sp_state] != L->span_inuse)
		return SPAN_NOT_IN_USE;
	struct tli_goheap_span sp = {
		.start = tli_rd64(p + L->sp_start),
		.elemsize = tli_rd64(p + L->sp_elemsize),
		.nelems = tli_rdn(p + L->sp_nelems, L->sp_nelems_sz),
		.freeindex = tli_rdn(p + L->sp_freeindex, L->sp_freeindex_sz),
		.specials = tli_rd64(p + L->sp_specials),
		.noscan = (p[L->sp_spanclass] & 1) != 0, /* spanClass = sizeclass<<1 | noscan */
		.sizeclass = p[L->sp_spanclass] >> 1,
		.largetype = L->has_largetype ? tli_rd64(p + L->sp_largetype) : 0,
		.allocbits_addr = tli_rd64(p + L->sp_allocbits),
	};
	if (!sp.start || !sp.elemsize || !sp.nelems || sp.nelems > (1u << 20) || sp.elemsize > (1ull << 40) ||
	    sp.elemsize * sp.nelems / sp.nelems != sp.elemsize)
		return SPAN_BAD;
	sp.end = sp.start + sp.elemsize * sp.nelems;
	if (sp.end < sp.start)
		return SPAN_BAD;
	if (L->hbits_small)
		sp.npages = tli_rdn(p + L->sp_npages, L->sp_npages_sz);
	*ret = sp;
	return SPAN_OK;
}

/* a span whose objects' pointer bits sit at its end (go1.22+ small objects) */
static bool has_small_hbits(const struct tli_goheap_layout *L, const struct tli_goheap_span *sp)
{
	return L->hbits_small && !sp->noscan && sp->sizeclass && (int64_t)sp->elemsize <= L->hdr_min &&
	       sp->npages && sp->npages <= 64 && sp->end <= sp->start + sp->npages * L->page_size;
}

/* bytes of a scannable span copied: its objects, and for small objects the whole span (the
 * heap bits are in its last bytes) */
static uint64_t span_copy_len(const struct tli_goheap_layout *L, const struct tli_goheap_span *sp)
{
	return has_small_hbits(L, sp) ? sp->npages * L->page_size : sp->end - sp->start;
}

/* where the heap bits are in the copy (runtime/mbitmap.go spanHeapBitsRange: the last
 * spanSize/64 bytes, before the Green Tea GC's inline mark bits when the span has them,
 * which end with the span's class: checked, so that a runtime built without that GC, or
 * a map that does not fit, gives no bits rather than wrong ones) */
static void set_hbits(const struct tli_goheap_layout *L, struct tli_goheap_span *sp, uint8_t spanclass)
{
	uint64_t size = sp->npages * L->page_size, bits = size / 64, base = size - bits;
	if (L->inline_marks && sp->elemsize >= 16) {
		if (sp->npages != 1 || sp->data[L->page_size - 1] != spanclass)
			return;
		base -= L->inline_marks;
	}
	if (base < sp->end - sp->start)
		return;
	sp->hbits = sp->data + base;
}

/* Many small reads of objects that sit side by side (mspans in the span allocator's chunks,
 * allocBits in gcBits arenas), while stopped: through whole pages, a few thousand page runs
 * instead of an iovec each (100k goroutines + 1 GiB heap, 54,857 spans: the headers' read
 * 66 -> ~30 ms of the pause, the allocBits' 35 -> 3 ms) */
static struct tli_error *read_side_by_side(struct tli_target *t, struct tli_read *rs, size_t nr)
{
	struct tli_pagecache pc;
	tli_pagecache_init(&pc, 0);
	struct tli_error *err = tli_pagecache_read_many(&pc, t, rs, nr);
	tli_pagecache_free(&pc);
	return err;
}

/* mheap_.allspans: the slice header, its array, every mspan it names; in-use spans kept, sorted */
static struct tli_error *capture_span_headers(struct tli_goheap *h)
{
	struct tli_target *t = h->s->target;
	const struct tli_goheap_layout *L = &h->L;
	struct tli_error *err;
	uint8_t hdr[24];
	if ((err = tli_target_read(t, L->mheap + L->allspans_off, hdr, sizeof(hdr))))
		return tli_error_wrap(err, "reading mheap_.allspans");
	uint64_t arr = tli_rd64(hdr), len = tli_rd64(hdr + 8);
	if (len > MAX_SPANS || (len && !tli_target_plausible(t, arr, len * 8)))
		return tli_error_create(TLI_E_CORRUPT, "mheap_.allspans is implausible (array 0x%" PRIx64
					", len %" PRIu64 ")", arr, len);
	size_t n = len ? (size_t)len : 1;
	uint64_t *ptrs = malloc(n * 8);
	uint8_t *hb = malloc(n * (size_t)L->mspan_size);
	struct tli_read *rs = calloc(n, sizeof(*rs));
	h->spans = calloc(n, sizeof(*h->spans));
	size_t nr = 0;
	if (!ptrs || !hb || !rs || !h->spans) {
		err = &tli_enomem;
		goto out;
	}
	if (len && (err = tli_target_read(t, arr, ptrs, len * 8))) {
		err = tli_error_wrap(err, "reading the mheap_.allspans array");
		goto out;
	}
	for (uint64_t i = 0; i < len; i++)
		if (ptrs[i] && tli_target_plausible(t, ptrs[i], L->mspan_size)) {
			rs[nr] = (struct tli_read){ .addr = ptrs[i], .buf = hb + nr * L->mspan_size,
						    .len = L->mspan_size };
			nr++;
		}
	if (nr && (err = read_side_by_side(t, rs, nr)))
		goto out;
	size_t ns = 0, bad = 0;
	for (size_t i = 0; i < nr; i++) {
		enum span_verdict v = rs[i].got < rs[i].len ? SPAN_BAD : decode_span(L, rs[i].buf, &h->spans[ns]);
		bad += v == SPAN_BAD;
		ns += v == SPAN_OK;
	}
	h->nspans = ns;
	if (bad)
		tli_session_warn(h->s, "%zu heap span(s) unreadable or implausible: skipped (their objects "
				 "count as unknown)", bad);
	qsort(h->spans, ns, sizeof(*h->spans), cmp_span);
out:
	free(ptrs);
	free(hb);
	free(rs);
	return err;
}

/* every span's allocBits, into one block; unreadable ones count every object as allocated */
static struct tli_error *capture_alloc_bits(struct tli_goheap *h)
{
	struct tli_target *t = h->s->target;
	size_t total = 0;
	for (size_t i = 0; i < h->nspans; i++)
		total += (size_t)((h->spans[i].nelems + 7) / 8);
	h->allocbits = calloc(1, total ? total : 1);
	struct tli_read *rs = calloc(h->nspans ? h->nspans : 1, sizeof(*rs));
	if (!h->allocbits || !rs) {
		free(rs);
		return &tli_enomem;
	}
	size_t nr = 0, off = 0;
	for (size_t i = 0; i < h->nspans; i++) {
		struct tli_goheap_span *sp = &h->spans[i];
		size_t nb = (size_t)((sp->nelems + 7) / 8);
		sp->alloc = h->allocbits + off;
		off += nb;
		if (sp->allocbits_addr && tli_target_plausible(t, sp->allocbits_addr, nb))
			rs[nr++] = (struct tli_read){ .addr = sp->allocbits_addr, .buf = sp->alloc, .len = nb };
		else
			memset(sp->alloc, 0xff, nb);
	}
	struct tli_error *err = nr ? read_side_by_side(t, rs, nr) : NULL;
	for (size_t i = 0; !err && i < nr; i++)
		if (rs[i].got < rs[i].len)
			memset(rs[i].buf, 0xff, rs[i].len);
	free(rs);
	return err;
}

/* spans whose bitmap slices did not all come: no bitmap (scanned word by word) */
static void check_abits(struct tli_goheap *h, const struct tli_read *rs, const size_t *first, const size_t *last)
{
	for (size_t i = 0; i < h->nspans; i++) {
		struct tli_goheap_span *sp = &h->spans[i];
		if (!sp->abits)
			continue;
		for (size_t k = first[i]; k < last[i]; k++)
			if (rs[k].got < rs[k].len) {
				sp->abits = NULL;
				sp->abits_len = 0;
				h->abits_missing++;
				break;
			}
		h->abits_bytes += sp->abits_len;
	}
}

/* the object memory of scannable spans, into one pre-faulted mapping (faulting a fresh
 * page per 4 KiB of copy dominated the pause otherwise): the one reserved before the
 * stop if the heap still fits in it */
static struct tli_error *capture_span_memory(struct tli_goheap *h)
{
	struct tli_target *t = h->s->target;
	uint64_t total = 0, bits = 0;
	for (size_t i = 0; i < h->nspans; i++) {
		struct tli_goheap_span *sp = &h->spans[i];
		if (sp->noscan)
			continue;
		bits += tli_goheap_abits_len(&h->L, sp); /* copied in both modes: small */
		/* --snapshot=fork: read in place from the frozen copy after the release, a
		 * bounded window of it in memory (a view, never written: read only) */
		if (t->forked && (sp->data = (uint8_t *)(uintptr_t)tli_target_mapped_ptr(t, sp->start,
										 span_copy_len(&h->L, sp)))) {
			if (has_small_hbits(&h->L, sp))
				sp->in_place_hbits = true;
			continue;
		}
		total += (span_copy_len(&h->L, sp) + 7) & ~7ull;
	}
	total += bits;
	if (h->resv && total && total <= h->resv_len) {
		/* the unused tail goes back at once (virtual memory: ulimit -v) */
		uint64_t keep = (total + (2u << 20) - 1) & ~((2ull << 20) - 1);
		if (keep < h->resv_len)
			tli_big_free(h->resv + keep, h->resv_len - keep);
		h->copy = h->resv;
		h->copy_len = keep < h->resv_len ? keep : h->resv_len;
		h->resv = NULL;
	} else if (h->resv) {
		tli_big_free(h->resv, h->resv_len);
		h->resv = NULL;
	}
	if (total && !h->copy) {
		h->copy = tli_big_alloc(total);
		if (!h->copy)
			return tli_error_create(TLI_E_NOMEM, "out of memory copying the Go heap (%" PRIu64 " bytes)",
						total);
		h->copy_len = total;
	}
	/* the spans' memory, then the arena bitmap slices of their objects (heap_bitmap.c) */
	size_t nb = tli_goheap_abits_nreads(h), n1 = h->nspans + nb ? h->nspans + nb : 1;
	struct tli_read *rs = calloc(n1, sizeof(*rs));
	size_t *bfirst = nb ? calloc(h->nspans, sizeof(size_t)) : NULL, *blast = nb ? calloc(h->nspans, sizeof(size_t)) : NULL;
	if (!rs || (nb && (!bfirst || !blast))) {
		free(rs);
		free(bfirst);
		free(blast);
		return &tli_enomem;
	}
	size_t nr = 0;
	uint64_t used = 0;
	for (size_t i = 0; i < h->nspans; i++) {
		struct tli_goheap_span *sp = &h->spans[i];
		if (sp->noscan || sp->data)
			continue;
		uint64_t n = span_copy_len(&h->L, sp);
		sp->data = h->copy + used;
		used += (n + 7) & ~7ull;
		rs[nr++] = (struct tli_read){ .addr = sp->start, .buf = sp->data, .len = n };
	}
	size_t ndata = nr;
	if (nb)
		nr += tli_goheap_abits_plan(h, h->copy + used, rs + ndata, bfirst, blast);
	struct tli_error *err = nr ? tli_target_read_many(h->s->target, rs, nr) : NULL;
	if (!err && nb)
		check_abits(h, rs + ndata, bfirst, blast);
	h->span_bytes = used;
	free(bfirst);
	free(blast);
	for (size_t i = 0, k = 0; !err && i < h->nspans; i++) {
		struct tli_goheap_span *sp = &h->spans[i];
		if (sp->noscan)
			continue;
		if (sp->in_place_hbits) { /* in place: its heap bits are read there too */
			set_hbits(&h->L, sp, (uint8_t)(sp->sizeclass << 1));
			continue;
		}
		if (k >= ndata || rs[k].buf != sp->data)
			continue; /* in place, no heap bits */
		struct tli_read *r = &rs[k++];
		if (r->got < r->len)
			memset((uint8_t *)r->buf + r->got, 0, r->len - r->got);
		else if (has_small_hbits(&h->L, sp))
			set_hbits(&h->L, sp, (uint8_t)(sp->sizeclass << 1));
	}
	free(rs);
	return err;
}

/* ---- before the stop ---- */

/* Span headers peeked per round: bounded scratch (RESV_BATCH * sizeof(runtime.mspan) bytes). */
#define RESV_BATCH 1024u

/* [addr, +len) of the running target, all of it (false: not, or only partly) */
static bool peek(struct tli_target *t, uint64_t addr, void *buf, size_t len)
{
	struct tli_read r = { .addr = addr, .buf = buf, .len = len };
	return !tli_error_drop(tli_target_peek_many(t, &r, 1)) && r.got == len;
}

/* the copy capture_span_memory would need now: scannable in-use spans of the running
 * target, peeked in rounds of RESV_BATCH headers; scratch from tli_big_alloc_lazy, so
 * that a failure is no allocation failure of the answer (core/error.h) */
static uint64_t peek_copy_bytes(struct tli_goheap *h)
{
	struct tli_target *t = h->s->target;
	const struct tli_goheap_layout *L = &h->L;
	uint8_t hdr[24];
	if (!peek(t, L->mheap + L->allspans_off, hdr, sizeof(hdr)))
		return 0;
	uint64_t arr = tli_rd64(hdr), len = tli_rd64(hdr + 8), total = 0;
	if (!len || len > MAX_SPANS || !tli_target_plausible(t, arr, len * 8))
		return 0;
	size_t scratch = (size_t)len * 8 + RESV_BATCH * (L->mspan_size + sizeof(struct tli_read));
	uint64_t *ptrs = tli_big_alloc_lazy(scratch);
	if (!ptrs)
		return 0;
	uint8_t *hb = (uint8_t *)(ptrs + len);
	struct tli_read *rs = (struct tli_read *)(hb + RESV_BATCH * L->mspan_size);
	if (!peek(t, arr, ptrs, (size_t)len * 8))
		len = 0;
	for (uint64_t i = 0; i < len;) {
		size_t nr = 0;
		for (; i < len && nr < RESV_BATCH; i++)
			if (ptrs[i] && tli_target_plausible(t, ptrs[i], L->mspan_size)) {
				rs[nr] = (struct tli_read){ .addr = ptrs[i], .buf = hb + nr * L->mspan_size,
							    .len = L->mspan_size };
				nr++;
			}
		if (nr && tli_error_drop(tli_target_peek_many(t, rs, nr)))
			break;
		for (size_t j = 0; j < nr; j++) {
			struct tli_goheap_span sp;
			if (rs[j].got == rs[j].len && decode_span(L, rs[j].buf, &sp) == SPAN_OK && !sp.noscan)
				total += ((span_copy_len(L, &sp) + 7) & ~7ull) + tli_goheap_abits_len(L, &sp);
		}
	}
	tli_big_free(ptrs, scratch);
	return total;
}

struct tli_error *tli_goheap_afford(const struct tli_goheap *h)
{
	if (!h || !h->refused_need)
		return NULL;
	char why[256];
	uint64_t room = tli_mem_headroom(why, sizeof(why));
	if (h->refused_need <= room)
		return NULL;
	return tli_error_create(TLI_E_NOMEM,
				"out of memory: the Go heap capture needs at least %" PRIu64 " MiB (the memory of its "
				"scannable spans, to copy) but %s leaves %" PRIu64 " MiB; the process was not stopped; "
				"--snapshot=fork reads the heap in place from a frozen copy of the process instead, with a "
				"bounded window of it in memory; or raise the limit, or take a core file (gcore) and read that",
				h->refused_need >> 20, why, room >> 20);
}

uint64_t tli_goheap_reserve(struct tli_goheap *h)
{
	struct tli_target *t = h->s->target;
	if (h->spans_only || h->resv || t->kind != TLI_TARGET_LIVE || !t->stop_deferred || t->released || t->stop_error ||
	    t->fork_asked) /* fork mode: the spans are read in place from the copy, not copied */
		return 0;
	uint64_t need = peek_copy_bytes(h);
	if (!need)
		return 0;
	if (need > tli_mem_headroom(h->refused_why, sizeof(h->refused_why))) {
		h->refused_need = need; /* tli_goheap_afford says so, before the stop */
		return 0;
	}
	/* the heap may grow until the stop: room for 1/32 more, faulted only if used, and
	 * unmapped after the capture; beyond it, the capture allocates anew */
	uint64_t len = need + need / 32 + (2u << 20);
	h->resv = tli_big_alloc_lazy(len);
	if (!h->resv)
		return 0;
	h->resv_len = len;
	tli_big_populate(h->resv, need);
	return len;
}

/* one special record of span sp: a finalizer or cleanup keeps sp.start+offset and its own words */
static void take_special(struct tli_goheap *h, const struct tli_goheap_span *sp, const uint8_t *p, size_t got)
{
	const struct tli_goheap_layout *L = &h->L;
	uint64_t kind = p[L->sx_kind], off = tli_rdn(p + L->sx_offset, L->sx_offset_sz);
	bool keeps = (!L->has_kind_fin && !L->has_kind_clean) ||
		     (L->has_kind_fin && kind == (uint64_t)L->kind_fin) ||
		     (L->has_kind_clean && kind == (uint64_t)L->kind_clean);
	if (!keeps)
		return;
	tli_vec_push(&h->special_roots, sp->start + off);
	/* the record's words (fn closure ...) are roots too */
	if (tli_vec_reserve(&h->special_words, h->special_words.n + got / 8))
		for (size_t w = 0; w + 8 <= got; w += 8)
			h->special_words.v[h->special_words.n++] = tli_rd64(p + w);
}

/* the specials lists of every span, one round per list depth; anything odd → specials_coarse */
static struct tli_error *capture_specials(struct tli_goheap *h)
{
	struct tli_target *t = h->s->target;
	size_t ns = h->nspans, n1 = ns ? ns : 1;
	uint64_t *cur = calloc(n1, 8);
	size_t *who = calloc(n1, sizeof(size_t));
	uint8_t *sb = malloc(n1 * TLI_GOHEAP_SPECIAL_BYTES);
	struct tli_read *rs = calloc(n1, sizeof(*rs));
	struct tli_u64set seen = { 0 };
	struct tli_error *err = NULL;
	size_t nact = 0, nspecials = 0;
	if (!cur || !who || !sb || !rs) {
		err = &tli_enomem;
		goto out;
	}
	for (size_t i = 0; i < ns; i++)
		if (h->spans[i].specials) {
			cur[nact] = h->spans[i].specials;
			who[nact++] = i;
		}
	while (nact) {
		size_t n2 = 0;
		for (size_t j = 0; j < nact; j++) {
			if (nspecials >= MAX_SPECIALS || !tli_u64set_add(&seen, cur[j]) ||
			    !tli_target_plausible(t, cur[j], TLI_GOHEAP_SPECIAL_BYTES)) {
				h->specials_coarse = true; /* give up precision, stay safe */
				continue;
			}
			nspecials++;
			rs[n2] = (struct tli_read){ .addr = cur[j], .buf = sb + n2 * TLI_GOHEAP_SPECIAL_BYTES,
						    .len = TLI_GOHEAP_SPECIAL_BYTES };
			who[n2++] = who[j];
		}
		if (!n2 || (err = tli_target_read_many(t, rs, n2)))
			break;
		size_t next = 0;
		for (size_t j = 0; j < n2; j++) {
			if (rs[j].got < 24) {
				h->specials_coarse = true;
				continue;
			}
			const uint8_t *p = rs[j].buf;
			take_special(h, &h->spans[who[j]], p, rs[j].got);
			uint64_t nx = tli_rd64(p + h->L.sx_next);
			if (nx) {
				cur[next] = nx;
				who[next++] = who[j];
			}
		}
		nact = next;
	}
out:
	tli_u64set_free(&seen);
	free(cur);
	free(who);
	free(sb);
	free(rs);
	return err;
}

void tli_goheap_capture_report(const struct tli_goheap *h)
{
	if (h && h->L.abits_enc && !h->spans_only && h->s->opts.verbose)
		fprintf(stderr, "go heap capture: %zu spans, %" PRIu64 " bytes of span memory and %" PRIu64
			" of arena heap bitmap in one read (%zu scannable spans without bits)\n", h->nspans,
			h->span_bytes, h->abits_bytes, h->abits_missing);
}

struct tli_error *tli_goheap_capture(struct tli_goheap *h)
{
	struct tli_error *err = capture_span_headers(h);
	if (!err)
		err = capture_alloc_bits(h);
	if (!err && !h->spans_only && (err = tli_goheap_abits_arenas(h))) {
		/* no arena bitmap: every object is scanned word by word */
		tli_session_warn(h->s, "Go heap bitmap: %s (objects scanned word by word)", err->msg);
		tli_error_destroy(err);
		err = NULL;
		tli_u64map_free(&h->arenas);
	}
	if (!err && !h->spans_only)
		err = capture_span_memory(h);
	if (err)
		return err;
	if (h->nspans) {
		h->lo = h->spans[0].start;
		for (size_t i = 0; i < h->nspans; i++)
			if (h->spans[i].end > h->hi)
				h->hi = h->spans[i].end;
	}
	if (!h->L.has_special || h->spans_only) {
		h->specials_coarse = true;
		return NULL;
	}
	return capture_specials(h);
}
