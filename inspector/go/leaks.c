/* SPDX-License-Identifier: MIT */
/*
 * Go leak finder and wait-for graph, from outside (go-runtime.md §9).
 *
 * A goroutine is leaked when it is blocked on a channel / select / sync
 * primitive that nothing still able to run can reach (Go 1.26's goroutineleak
 * definition), or on a nil channel / select {} (never runnable). We reproduce
 * the runtime's fixpoint conservatively:
 *   roots  = data+bss of the executable, the stacks of goroutines NOT blocked
 *            for user reasons, thread registers, finalizer/cleanup specials;
 *   heap   = allocated objects of in-use spans (mheap_.allspans), scanned
 *            conservatively (every aligned word that points into an allocated
 *            object is an edge), except the c/elem words of blocked goroutines'
 *            sudogs (the runtime makes those untraceable too);
 *   repeat: a blocked g whose channel (or semaphore's object) is marked, or
 *            not a heap object, may run: its stack becomes a root.
 * Sync waits: the object is sudog.elem (the semaphore address inside the
 * Mutex/RWMutex/WaitGroup). Go >= 1.26 links that sudog from g.waiting; on
 * older runtimes the channel walker finds it in runtime.semtable (g->sema), and
 * a raw "semacquire" waiter found there (what Mutex/WaitGroup print on old
 * runtimes) is judged the same way. sync.Cond waiters on <= 1.25 cannot be
 * linked (notifyList) and stay "uncertain".
 * What remains blocked is leaked. Whenever we are unsure (no sudog, a timer
 * channel, a sync wait whose object we cannot find) the goroutine counts as
 * runnable: false positives are worse than misses.
 *
 * Capture: everything (span headers, alloc bits, the scannable part of the
 * heap, data/bss, every stack's used part, specials) is read in bulk while the
 * target is stopped, in pointer-depth rounds.
 */
#include "chans.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bigbuf.h"
#include "core/bytes.h"
#include <sys/mman.h>
#include <time.h>

#include "core/session.h"
#include "go/gobin.h"
#include "go/goroutines.h"
#include "core/hash.h"

#define MAX_SPANS      (64u * 1024 * 1024)
#define MAX_SPECIALS   (1u << 20)
#define SPECIAL_BYTES  64
#define MAX_STACK      (1ull << 30)

struct span {
	uint64_t start, end, elemsize, nelems, freeindex;
	uint64_t specials;
	uint64_t largetype;   /* runtime type of a large object (1.22+), 0 if unknown */
	unsigned sizeclass;
	bool noscan;
	uint8_t *alloc;   /* allocBits (nelems bits) */
	uint8_t *data;    /* object memory (scan spans only) */
	uint8_t *mark;    /* mark bits */
};

struct tinfo {
	bool ok;
	uint64_t size, ptrbytes;
	uint8_t *mask;   /* ptrbytes/8 bits */
};

struct gstack {
	uint64_t lo, hi;  /* scanned range */
	uint8_t *mem;
};

struct lk {
	struct tli_session *s;
	struct tli_target *t;
	struct tli_go_rt *rt;
	struct tli_go_chans *c;
	bool heap;
	/* layout */
	uint64_t mheap, allspans_off;
	uint32_t sp_start, sp_freeindex, sp_freeindex_sz, sp_nelems, sp_nelems_sz, sp_allocbits, sp_state,
		sp_elemsize, sp_spanclass, sp_specials, mspan_size;
	int64_t span_inuse;
	uint32_t sx_next, sx_offset, sx_kind;
	uint32_t sp_largetype;
	bool has_largetype;
	/* typed scanning of objects with a malloc header / large type (1.22+) */
	bool typed;
	int64_t hdr_min, hdr_size, kind_gcprog, tflag_ondemand;
	bool has_gcprog, has_ondemand;
	struct tli_u64map tcache;  /* type address -> index+1 in tinfo */
	struct tinfo *tinfo;
	size_t ntinfo;
	uint64_t typed_objects, typed_fallbacks;
	bool has_special;
	int64_t kind_fin, kind_clean;
	bool has_kind_fin, has_kind_clean;
	uint32_t s_c_base, s_elem_base, s_c_words, s_elem_words;
	/* captured */
	struct span *spans;
	size_t nspans;
	uint64_t heap_lo, heap_hi;
	uint8_t *heapcopy;         /* one mapping holding every scan span's bytes */
	uint64_t heapcopy_len;
	struct tli_u64set sudogs;  /* sudogs of blocked goroutines (objects scanned with the mask) */
	struct gstack *stacks;     /* parallel to c->gs */
	struct { uint64_t lo, hi; uint8_t *mem; } roots[2];
	uint64_t *special_roots;   /* object addresses kept by finalizers/cleanups */
	size_t nspecial_roots;
	uint64_t *special_words;   /* words of special records */
	size_t nspecial_words;
	bool specials_coarse;      /* specials unreadable: their spans are roots */
	/* analysis */
	struct tli_u64set masked;  /* word addresses not to trace (blocked sudogs' c/elem) */
	/* g.stack.hi of every g (a uintptr the runtime never traces): one past the end of
	 * the stack, so it can equal the start of the adjacent heap object (seen on go1.19:
	 * a g's stack.hi "kept" a leaked RWMutex alive). Word addresses, skipped when a g
	 * object is scanned conservatively. */
	struct tli_u64set stackhi;
	uint64_t *work;
	size_t nwork, capwork;
	uint64_t scanned_bytes, marked_objects;
	char problem[256];
	/* debugging aid: $TLINSPECT_LEAK_TRACE=1 records who marked each object */
	bool trace;
	struct tli_u64map parent;  /* object -> marking object, or a root tag (< 0x1000) */
	uint64_t cur_src;
};

static bool try_const(struct tli_layout *l, const char *name, int64_t *ret)
{
	struct tli_error *e = tli_layout_constant(l, name, ret);
	tli_error_destroy(e);
	return !e;
}

static struct tli_error *resolve(struct lk *k)
{
	struct tli_layout *l = tli_go_rt_layout(k->rt);
	struct tli_member m;
	/* sudog c/elem: both words of 1.26's maybeTraceable pair are masked */
	if (tli_layout_member(l, "runtime.sudog", "c", &m) == NULL) {
		k->s_c_base = (uint32_t)m.offset;
		k->s_c_words = (uint32_t)(m.size >= 16 ? 2 : 1);
	}
	if (tli_layout_member(l, "runtime.sudog", "elem", &m) == NULL) {
		k->s_elem_base = (uint32_t)m.offset;
		k->s_elem_words = (uint32_t)(m.size >= 16 ? 2 : 1);
	}
	if (!k->heap)
		return NULL;
	struct tli_global g;
	struct tli_error *err = tli_layout_global(l, "runtime.mheap_", &g);
	if (err)
		return tli_error_wrap(err, "Go heap");
	k->mheap = g.addr;
	if ((err = tli_layout_member(l, "runtime.mheap", "allspans", &m)))
		return tli_error_wrap(err, "Go heap");
	k->allspans_off = m.offset;
	const struct tli_field_spec specs[] = {
		{ "runtime.mspan", "startAddr", &k->sp_start, NULL, false, NULL },
		{ "runtime.mspan", "freeindex", &k->sp_freeindex, &k->sp_freeindex_sz, false, NULL },
		{ "runtime.mspan", "nelems", &k->sp_nelems, &k->sp_nelems_sz, false, NULL },
		{ "runtime.mspan", "allocBits", &k->sp_allocbits, NULL, false, NULL },
		{ "runtime.mspan", "state", &k->sp_state, NULL, false, NULL },
		{ "runtime.mspan", "elemsize", &k->sp_elemsize, NULL, false, NULL },
		{ "runtime.mspan", "spanclass", &k->sp_spanclass, NULL, false, NULL },
		{ "runtime.mspan", "specials", &k->sp_specials, NULL, false, NULL },
	};
	if ((err = tli_layout_resolve(l, specs, sizeof(specs) / sizeof(specs[0]))))
		return tli_error_wrap(err, "Go heap spans");
	uint64_t sz;
	if ((err = tli_layout_type_size(l, "runtime.mspan", &sz)))
		return tli_error_wrap(err, "Go heap spans");
	if (sz < 64 || sz > 4096)
		return tli_error_create(TLI_E_CORRUPT, "implausible sizeof(runtime.mspan) = %" PRIu64, sz);
	k->mspan_size = (uint32_t)sz;
	if (!try_const(l, "runtime.mSpanInUse", &k->span_inuse))
		return tli_error_create(TLI_E_NO_INFO, "no value for runtime.mSpanInUse (no DWARF and no runtime map?)");
	if (k->sp_freeindex_sz == 0 || k->sp_freeindex_sz > 8)
		k->sp_freeindex_sz = 8;
	if (k->sp_nelems_sz == 0 || k->sp_nelems_sz > 8)
		k->sp_nelems_sz = 8;
	struct tli_member a, b, c;
	if (tli_layout_has_member(l, "runtime.special", "next", &a) &&
	    tli_layout_has_member(l, "runtime.special", "offset", &b) &&
	    tli_layout_has_member(l, "runtime.special", "kind", &c) && a.offset + 8 <= SPECIAL_BYTES &&
	    b.offset + 2 <= SPECIAL_BYTES && c.offset < SPECIAL_BYTES) {
		k->has_special = true;
		k->sx_next = (uint32_t)a.offset;
		k->sx_offset = (uint32_t)b.offset;
		k->sx_kind = (uint32_t)c.offset;
		/* the offset is uintptr in old runtimes and uint16 later */
		if (b.size == 0 || b.size > 8)
			b.size = 8;
		k->sx_offset |= (uint32_t)b.size << 24;
	}
	/* typed scanning: malloc headers (1.22+) and large object types */
	k->has_largetype = tli_layout_has_member(l, "runtime.mspan", "largeType", &a);
	k->sp_largetype = (uint32_t)a.offset;
	if (try_const(l, "internal/runtime/gc.MinSizeForMallocHeader", &k->hdr_min) ||
	    try_const(l, "runtime.minSizeForMallocHeader", &k->hdr_min)) {
		if (!try_const(l, "internal/runtime/gc.MallocHeaderSize", &k->hdr_size) &&
		    !try_const(l, "runtime.mallocHeaderSize", &k->hdr_size))
			k->hdr_size = 8; /* one pointer */
		k->has_gcprog = try_const(l, "internal/abi.KindGCProg", &k->kind_gcprog);
		k->has_ondemand = try_const(l, "internal/abi.TFlagGCMaskOnDemand", &k->tflag_ondemand);
		k->typed = k->hdr_min > 0 && k->hdr_size == 8 && k->has_largetype;
	}
	k->has_kind_fin = try_const(l, "runtime._KindSpecialFinalizer", &k->kind_fin);
	k->has_kind_clean = try_const(l, "runtime._KindSpecialCleanup", &k->kind_clean);
	return NULL;
}

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static struct tli_error *capture_heap(struct lk *k)
{
	struct tli_target *t = k->t;
	struct tli_error *err;
	uint8_t hdr[24];
	if ((err = tli_target_read(t, k->mheap + k->allspans_off, hdr, sizeof(hdr))))
		return tli_error_wrap(err, "reading mheap_.allspans");
	uint64_t arr = tli_rd64(hdr), len = tli_rd64(hdr + 8);
	if (len > MAX_SPANS || (len && !tli_target_plausible(t, arr, len * 8)))
		return tli_error_create(TLI_E_CORRUPT, "mheap_.allspans is implausible (array 0x%" PRIx64
					", len %" PRIu64 ")", arr, len);
	uint64_t *ptrs = malloc((len ? len : 1) * 8);
	uint8_t *hb = malloc((len ? len : 1) * (size_t)k->mspan_size);
	struct tli_read *rs = calloc(len ? len : 1, sizeof(*rs));
	k->spans = calloc(len ? len : 1, sizeof(*k->spans));
	size_t nr = 0;
	if (!ptrs || !hb || !rs || !k->spans) {
		err = &tli_enomem;
		goto out;
	}
	if (len && (err = tli_target_read(t, arr, ptrs, len * 8))) {
		err = tli_error_wrap(err, "reading the mheap_.allspans array");
		goto out;
	}
	for (uint64_t i = 0; i < len; i++)
		if (ptrs[i] && tli_target_plausible(t, ptrs[i], k->mspan_size)) {
			rs[nr] = (struct tli_read){ .addr = ptrs[i], .buf = hb + nr * k->mspan_size,
						    .len = k->mspan_size };
			nr++;
		}
	if (nr && (err = tli_target_read_many(t, rs, nr)))
		goto out;
	size_t ns = 0, bad = 0;
	for (size_t i = 0; i < nr; i++) {
		if (rs[i].got < rs[i].len) {
			bad++;
			continue;
		}
		const uint8_t *p = rs[i].buf;
		if ((int64_t)p[k->sp_state] != k->span_inuse)
			continue;
		struct span sp = {
			.start = tli_rd64(p + k->sp_start),
			.elemsize = tli_rd64(p + k->sp_elemsize),
			.nelems = tli_rdn(p + k->sp_nelems, k->sp_nelems_sz),
			.freeindex = tli_rdn(p + k->sp_freeindex, k->sp_freeindex_sz),
			.specials = tli_rd64(p + k->sp_specials),
			.noscan = (p[k->sp_spanclass] & 1) != 0, /* spanClass = sizeclass<<1 | noscan */
			.sizeclass = p[k->sp_spanclass] >> 1,
			.largetype = k->has_largetype ? tli_rd64(p + k->sp_largetype) : 0,
		};
		uint64_t ab = tli_rd64(p + k->sp_allocbits);
		if (!sp.start || !sp.elemsize || !sp.nelems || sp.nelems > (1u << 20) ||
		    sp.elemsize > (1ull << 40) || sp.elemsize * sp.nelems / sp.nelems != sp.elemsize) {
			bad++;
			continue;
		}
		sp.end = sp.start + sp.elemsize * sp.nelems;
		if (sp.end < sp.start) {
			bad++;
			continue;
		}
		k->spans[ns] = sp;
		k->spans[ns].alloc = (uint8_t *)(uintptr_t)ab; /* address for now */
		ns++;
	}
	k->nspans = ns;
	if (bad)
		tli_session_warn(k->s, "%zu heap span(s) unreadable or implausible: skipped (their objects "
				 "count as unknown)", bad);
	qsort(k->spans, ns, sizeof(*k->spans), cmp_span);
	/* alloc bits: one round */
	free(rs);
	rs = calloc(ns ? ns * 2 : 1, sizeof(*rs));
	if (!rs) {
		err = &tli_enomem;
		goto out;
	}
	nr = 0;
	for (size_t i = 0; i < ns; i++) {
		struct span *sp = &k->spans[i];
		uint64_t ab = (uint64_t)(uintptr_t)sp->alloc;
		size_t nb = (size_t)((sp->nelems + 7) / 8);
		sp->alloc = calloc(1, nb);
		sp->mark = calloc(1, nb);
		if (!sp->alloc || !sp->mark) {
			err = &tli_enomem;
			goto out;
		}
		if (ab && tli_target_plausible(t, ab, nb))
			rs[nr++] = (struct tli_read){ .addr = ab, .buf = sp->alloc, .len = nb };
		else
			memset(sp->alloc, 0xff, nb); /* unknown: every object counts as allocated */
	}
	if (nr && (err = tli_target_read_many(t, rs, nr)))
		goto out;
	for (size_t i = 0; i < nr; i++)
		if (rs[i].got < rs[i].len)
			memset(rs[i].buf, 0xff, rs[i].len);
	/* object memory of scan spans: one round, into one pre-faulted mapping
	 * (faulting a fresh page per 4 KiB of copy dominated the pause otherwise) */
	nr = 0;
	uint64_t total = 0;
	for (size_t i = 0; i < ns; i++)
		if (!k->spans[i].noscan)
			total += (k->spans[i].end - k->spans[i].start + 7) & ~7ull;
	if (total) {
		void *m = tli_big_alloc(total);
		if (!m) {
			err = tli_error_create(TLI_E_NOMEM, "out of memory copying the Go heap (%" PRIu64 " bytes)",
					       total);
			goto out;
		}
		k->heapcopy = m;
		k->heapcopy_len = total;
	}
	uint64_t used = 0;
	for (size_t i = 0; i < ns; i++) {
		struct span *sp = &k->spans[i];
		if (sp->noscan)
			continue;
		uint64_t n = sp->end - sp->start;
		sp->data = k->heapcopy + used;
		used += (n + 7) & ~7ull;
		rs[nr++] = (struct tli_read){ .addr = sp->start, .buf = sp->data, .len = n };
	}
	if (nr && (err = tli_target_read_many(t, rs, nr)))
		goto out;
	for (size_t i = 0; i < nr; i++)
		if (rs[i].got < rs[i].len)
			memset((uint8_t *)rs[i].buf + rs[i].got, 0, rs[i].len - rs[i].got);
	if (ns) {
		k->heap_lo = k->spans[0].start;
		for (size_t i = 0; i < ns; i++)
			if (k->spans[i].end > k->heap_hi)
				k->heap_hi = k->spans[i].end;
	}
	/* specials: rounds along each span's list */
	if (!k->has_special) {
		k->specials_coarse = true;
	} else {
		uint64_t *cur = calloc(ns ? ns : 1, 8);
		size_t *who = calloc(ns ? ns : 1, sizeof(size_t));
		uint8_t *sb = malloc((ns ? ns : 1) * SPECIAL_BYTES);
		struct tli_u64set seen = { 0 };
		size_t nact = 0, nspecials = 0;
		if (!cur || !who || !sb) {
			free(cur);
			free(who);
			free(sb);
			err = &tli_enomem;
			goto out;
		}
		for (size_t i = 0; i < ns; i++)
			if (k->spans[i].specials) {
				cur[nact] = k->spans[i].specials;
				who[nact++] = i;
			}
		uint32_t offsz = k->sx_offset >> 24, offoff = k->sx_offset & 0xffffff;
		while (nact && !err) {
			size_t n2 = 0;
			for (size_t j = 0; j < nact; j++) {
				if (nspecials >= MAX_SPECIALS || !tli_u64set_add(&seen, cur[j]) ||
				    !tli_target_plausible(t, cur[j], SPECIAL_BYTES)) {
					k->specials_coarse = true; /* give up precision, stay safe */
					continue;
				}
				nspecials++;
				rs[n2] = (struct tli_read){ .addr = cur[j], .buf = sb + n2 * SPECIAL_BYTES,
							    .len = SPECIAL_BYTES };
				who[n2++] = who[j];
			}
			if (!n2)
				break;
			if ((err = tli_target_read_many(t, rs, n2)))
				break;
			size_t next = 0;
			for (size_t j = 0; j < n2; j++) {
				if (rs[j].got < 24) {
					k->specials_coarse = true;
					continue;
				}
				const uint8_t *p = rs[j].buf;
				struct span *sp = &k->spans[who[j]];
				uint64_t kind = p[k->sx_kind], off = tli_rdn(p + offoff, offsz);
				bool keeps = (!k->has_kind_fin && !k->has_kind_clean) ||
					     (k->has_kind_fin && kind == (uint64_t)k->kind_fin) ||
					     (k->has_kind_clean && kind == (uint64_t)k->kind_clean);
				if (keeps) {
					uint64_t *nr2 = realloc(k->special_roots, (k->nspecial_roots + 1) * 8);
					if (nr2) {
						k->special_roots = nr2;
						k->special_roots[k->nspecial_roots++] = sp->start + off;
					}
					/* the record's words (fn closure ...) are roots too */
					uint64_t *nw = realloc(k->special_words,
							       (k->nspecial_words + rs[j].got / 8) * 8);
					if (nw) {
						k->special_words = nw;
						for (size_t w = 0; w + 8 <= rs[j].got; w += 8)
							k->special_words[k->nspecial_words++] = tli_rd64(p + w);
					}
				}
				uint64_t nx = tli_rd64(p + k->sx_next);
				if (nx) {
					cur[next] = nx;
					who[next++] = who[j];
				}
			}
			nact = next;
		}
		tli_u64set_free(&seen);
		free(cur);
		free(who);
		free(sb);
		if (err)
			goto out;
	}
out:
	free(ptrs);
	free(hb);
	free(rs);
	return err;
}

/* data/bss and every goroutine's used stack, one round */
static struct tli_error *capture_roots_stacks(struct lk *k)
{
	struct tli_target *t = k->t;
	struct tli_go_chans *c = k->c;
	struct tli_error *err = NULL;
	struct tli_gobin *gb = NULL;
	k->stacks = calloc(c->ngs ? c->ngs : 1, sizeof(*k->stacks));
	struct tli_read *rs = calloc(c->ngs + 3, sizeof(*rs));
	if (!k->stacks || !rs) {
		free(rs);
		return &tli_enomem;
	}
	size_t nr = 0;
	if (k->heap && !tli_session_gobin(k->s, &gb)) {
		const struct tli_gomoduledata *md = tli_gobin_moduledata(gb);
		uint64_t bias = tli_go_rt_bias(k->rt);
		if (md) {
			uint64_t r[2][2] = { { md->data, md->edata }, { md->bss, md->ebss } };
			for (int i = 0; i < 2; i++) {
				uint64_t lo = r[i][0] + bias, hi = r[i][1] + bias;
				if (hi <= lo || hi - lo > (1ull << 32))
					continue;
				k->roots[i].lo = lo;
				k->roots[i].hi = hi;
				k->roots[i].mem = calloc(1, hi - lo);
				if (!k->roots[i].mem) {
					free(rs);
					return &tli_enomem;
				}
				rs[nr++] = (struct tli_read){ .addr = lo, .buf = k->roots[i].mem, .len = hi - lo };
			}
		} else {
			tli_session_warn(k->s, "no moduledata: data/bss roots unknown, no goroutine will be "
					 "called leaked by reachability");
			snprintf(k->problem, sizeof(k->problem), "no moduledata (data/bss roots unknown)");
		}
	}
	for (size_t i = 0; i < c->ngs; i++) {
		struct tli_go_gview v;
		if (c->gs[i].dead || !tli_go_rt_g(k->rt, i, &v) || v.dead)
			continue;
		uint64_t lo = v.sp >= v.stk_lo && v.sp < v.stk_hi ? v.sp : v.stk_lo, hi = v.stk_hi;
		lo &= ~7ull;
		if (!lo || hi <= lo || hi - lo > MAX_STACK)
			continue;
		k->stacks[i].lo = lo;
		k->stacks[i].hi = hi;
		k->stacks[i].mem = calloc(1, hi - lo);
		if (!k->stacks[i].mem) {
			err = &tli_enomem;
			break;
		}
		rs[nr++] = (struct tli_read){ .addr = lo, .buf = k->stacks[i].mem, .len = hi - lo };
	}
	if (!err && nr)
		err = tli_target_read_many(t, rs, nr);
	free(rs);
	return err;
}

/* ---- marking ---- */

static struct span *find_span(struct lk *k, uint64_t p)
{
	if (p < k->heap_lo || p >= k->heap_hi)
		return NULL;
	size_t lo = 0, hi = k->nspans;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (k->spans[mid].start <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	struct span *sp = &k->spans[lo - 1];
	return p < sp->end ? sp : NULL;
}

/* object index of p, or -1 if p is not inside an allocated object */
static int64_t find_obj(struct lk *k, uint64_t p, struct span **spret)
{
	struct span *sp = find_span(k, p);
	if (!sp)
		return -1;
	uint64_t idx = (p - sp->start) / sp->elemsize;
	bool alloc = idx < sp->freeindex || (sp->alloc[idx / 8] >> (idx % 8) & 1);
	if (!alloc)
		return -1;
	*spret = sp;
	return (int64_t)idx;
}

static void mark_ptr(struct lk *k, uint64_t p)
{
	struct span *sp;
	int64_t idx = find_obj(k, p, &sp);
	if (idx < 0)
		return;
	if (sp->mark[idx / 8] >> (idx % 8) & 1)
		return;
	sp->mark[idx / 8] |= (uint8_t)(1u << (idx % 8));
	k->marked_objects++;
	if (k->trace)
		tli_u64map_put(&k->parent, sp->start + (uint64_t)idx * sp->elemsize, k->cur_src);
	if (sp->noscan || !sp->data)
		return;
	if (k->nwork == k->capwork) {
		size_t nc = k->capwork ? k->capwork * 2 : 4096;
		uint64_t *nw = realloc(k->work, nc * 8);
		if (!nw) {
			snprintf(k->problem, sizeof(k->problem), "out of memory during marking");
			return;
		}
		k->work = nw;
		k->capwork = nc;
	}
	k->work[k->nwork++] = sp->start + (uint64_t)idx * sp->elemsize;
}

static void scan_words(struct lk *k, const uint8_t *mem, uint64_t lo, uint64_t hi, bool check_mask)
{
	/* only a blocked goroutine's sudog has masked words */
	check_mask = check_mask && k->sudogs.n && hi - lo >= k->c->L.sudog_size &&
		     hi - lo < k->c->L.sudog_size + 64 && tli_u64set_has(&k->sudogs, lo);
	for (uint64_t a = lo; a + 8 <= hi; a += 8) {
		uint64_t w = tli_rd64(mem + (a - lo));
		if (w < k->heap_lo || w >= k->heap_hi)
			continue;
		if (check_mask && tli_u64set_has(&k->masked, a))
			continue;
		/* stack.hi is at least 2 KiB aligned: one cheap test before the set */
		if (!(w & 2047) && k->stackhi.n && tli_u64set_has(&k->stackhi, a))
			continue;
		mark_ptr(k, w);
	}
	k->scanned_bytes += hi - lo;
}

/*
 * The pointer mask of a runtime type, read from the executable (module types
 * only). Anything unusual (GC program, mask built on demand, a type outside the
 * module, an implausible size) → not ok, and the object is scanned conservatively.
 */
static const struct tinfo *type_info(struct lk *k, uint64_t tp, uint64_t room)
{
	uint64_t ci = tli_u64map_get(&k->tcache, tp);
	if (ci)
		return &k->tinfo[ci - 1];
	struct tinfo ti = { 0 };
	const struct tli_go_chan_layout *L = &k->c->L;
	struct tli_gobin *gb = NULL;
	uint8_t tb[1024];
	/* resolved only while the target is stopped (prepare_types); later misses are unknown */
	if (k->t->released && k->t->kind == TLI_TARGET_LIVE)
		return NULL;
	if (L->has_gcdata && L->type_size <= sizeof(tb) && !tli_session_gobin(k->s, &gb)) {
		const struct tli_gomoduledata *md = tli_gobin_moduledata(gb);
		uint64_t bias = tli_go_rt_bias(k->rt), link = tp - bias;
		struct tli_error *e = NULL;
		bool have = false;
		if (md && link >= md->types && link + L->type_size <= md->etypes)
			have = !(e = tli_gobin_read(gb, link, tb, L->type_size));
		else if (tli_target_plausible(k->t, tp, L->type_size)) /* a type built at run time */
			have = !(e = tli_target_read(k->t, tp, tb, L->type_size));
		tli_error_destroy(e);
		e = NULL;
		if (have) {
			ti.size = tli_rd64(tb + L->t_size);
			ti.ptrbytes = tli_rd64(tb + L->t_ptrbytes);
			uint64_t gcdata = tli_rd64(tb + L->t_gcdata);
			uint8_t kind = tb[L->t_kind], tflag = tb[L->t_tflag];
			bool prog = k->has_gcprog && (kind & (uint8_t)k->kind_gcprog);
			bool ondemand = k->has_ondemand && (tflag & (uint8_t)k->tflag_ondemand);
			size_t mlen = (size_t)((ti.ptrbytes / 8 + 7) / 8);
			if (ondemand && gcdata) {
				/* GCData is a **byte: the mask the runtime built (0 = not built yet) */
				uint64_t mp = 0;
				e = tli_target_read_u64(k->t, gcdata, &mp);
				gcdata = e ? 0 : mp;
				tli_error_destroy(e);
				e = NULL;
			}
			if (!prog && ti.size && ti.size % 8 == 0 && ti.ptrbytes <= ti.size && ti.ptrbytes % 8 == 0 &&
			    mlen <= (1u << 20) && (ti.ptrbytes == 0 || gcdata)) {
				ti.mask = calloc(1, mlen ? mlen : 1);
				if (ti.mask && mlen) {
					uint64_t glink = gcdata - bias;
					/* module masks from the file, built ones from memory */
					e = tli_gobin_read(gb, glink, ti.mask, mlen);
					if (e) {
						tli_error_destroy(e);
						e = tli_target_read(k->t, gcdata, ti.mask, mlen);
					}
				}
				ti.ok = ti.mask && !e;
				tli_error_destroy(e);
			}
		}
	}
	if (!ti.ok) {
		free(ti.mask);
		ti.mask = NULL;
	}
	struct tinfo *nt = realloc(k->tinfo, (k->ntinfo + 1) * sizeof(*nt));
	if (!nt) {
		free(ti.mask);
		return NULL;
	}
	k->tinfo = nt;
	k->tinfo[k->ntinfo++] = ti;
	tli_u64map_put(&k->tcache, tp, k->ntinfo);
	(void)room;
	return &k->tinfo[k->ntinfo - 1];
}

/* while stopped: the type of every object with a malloc header, and of large objects */
static void prepare_types(struct lk *k)
{
	if (!k->typed)
		return;
	for (size_t i = 0; i < k->nspans; i++) {
		struct span *sp = &k->spans[i];
		if (sp->noscan || !sp->data)
			continue;
		if (sp->sizeclass == 0) {
			if (sp->largetype)
				type_info(k, sp->largetype, sp->elemsize);
			continue;
		}
		if ((int64_t)sp->elemsize <= k->hdr_min)
			continue;
		for (uint64_t o = 0; o < sp->nelems; o++) {
			bool alloc = o < sp->freeindex || (sp->alloc[o / 8] >> (o % 8) & 1);
			uint64_t tp = alloc ? tli_rd64(sp->data + o * sp->elemsize) : 0;
			if (tp)
				type_info(k, tp, sp->elemsize);
		}
	}
}

/* typed scan: the type's pointer words, tiled over the object (arrays) */
static bool scan_typed(struct lk *k, struct span *sp, uint64_t obj)
{
	uint64_t off = obj - sp->start, tp, payload;
	if (sp->sizeclass == 0) {
		tp = sp->largetype;
		payload = obj;
	} else if ((int64_t)sp->elemsize > k->hdr_min) {
		tp = tli_rd64(sp->data + off);
		payload = obj + (uint64_t)k->hdr_size;
	} else {
		return false; /* small objects: heap bits in the span, scanned conservatively */
	}
	uint64_t end = obj + sp->elemsize;
	if (!tp)
		return false;
	const struct tinfo *ti = type_info(k, tp, end - payload);
	if (k->trace && (!ti || !ti->ok || ti->size > end - payload))
		fprintf(stderr, "trace: object 0x%" PRIx64 " (%" PRIu64 "B): type 0x%" PRIx64 " not usable (%s, size %" PRIu64 ")\n",
			obj, sp->elemsize, tp, ti && ti->ok ? "too big" : "unreadable or unusual", ti ? ti->size : 0);
	if (!ti || !ti->ok || ti->size > end - payload)
		return false;
	k->typed_objects++;
	bool masked = k->sudogs.n && sp->elemsize >= k->c->L.sudog_size &&
		      sp->elemsize < k->c->L.sudog_size + 64 && tli_u64set_has(&k->sudogs, obj);
	for (uint64_t base = payload; base + ti->size <= end; base += ti->size) {
		for (uint64_t w = 0; w < ti->ptrbytes / 8; w++) {
			if (!(ti->mask[w / 8] >> (w % 8) & 1))
				continue;
			uint64_t a = base + 8 * w;
			uint64_t v = tli_rd64(sp->data + (a - sp->start));
			if (v < k->heap_lo || v >= k->heap_hi)
				continue;
			if (masked && tli_u64set_has(&k->masked, a))
				continue;
			mark_ptr(k, v);
		}
		if (!ti->ptrbytes)
			break;
	}
	k->scanned_bytes += sp->elemsize;
	return true;
}

static void drain(struct lk *k)
{
	while (k->nwork) {
		uint64_t obj = k->work[--k->nwork];
		struct span *sp = find_span(k, obj);
		if (!sp || !sp->data)
			continue;
		uint64_t off = obj - sp->start;
		k->cur_src = obj;
		if (k->typed && scan_typed(k, sp, obj))
			continue;
		if (k->typed && sp->sizeclass == 0 ? true : k->typed && (int64_t)sp->elemsize > k->hdr_min)
			k->typed_fallbacks++;
		scan_words(k, sp->data + off, obj, obj + sp->elemsize, true);
	}
}

static bool is_marked(struct lk *k, uint64_t p, bool *in_heap)
{
	struct span *sp;
	int64_t idx = find_obj(k, p, &sp);
	*in_heap = idx >= 0;
	return idx >= 0 && (sp->mark[idx / 8] >> (idx % 8) & 1);
}

/* ---- per goroutine classification ---- */
enum gclass {
	G_ROOT,       /* not blocked for user reasons, or unsure: its stack is a root */
	G_FOREVER,    /* nil channel / select {}: leaked by definition */
	G_CHAN,       /* blocked on channels: runnable if any is reachable */
	G_SYNC,       /* blocked on a sync primitive with a known object */
};

struct ginfo {
	enum gclass cls;
	bool runnable;
	bool leaked;
	uint64_t *objs;
	size_t nobjs;
	const char *why_root;  /* why a user-blocked g was treated as a root (unsure) */
};

/*
 * Runtime goroutines parked in their idle loops (GC workers, sweeper, scavenger,
 * forcegc helper, finalizer/cleanup goroutines while waiting for work) hold no
 * user objects: the runtime scans their stacks precisely and finds none. Scanned
 * conservatively, their dead stack slots would keep stale user pointers alive
 * (seen on go1.19: an idle GC worker's stack held a leaked channel). Their stacks
 * are therefore not roots. Only runtime-internal objects are reachable from them.
 */
static bool idle_runtime_reason(const char *r)
{
	static const char *const idle[] = {
		"GC worker (idle)", "force gc (idle)", "GC sweep wait", "GC scavenge wait",
		"finalizer wait", "GOMAXPROCS updater (idle)", "cleanup wait", "timer goroutine (idle)",
	};
	for (size_t i = 0; r && i < sizeof(idle) / sizeof(idle[0]); i++)
		if (!strcmp(r, idle[i]))
			return true;
	return false;
}

static void classify(struct lk *k, struct ginfo *gi)
{
	struct tli_go_chans *c = k->c;
	struct tli_member hm;
	struct tli_error *he = tli_layout_member(tli_go_rt_layout(k->rt), "runtime.g", "stack.hi", &hm);
	for (size_t i = 0; !he && i < c->ngs; i++)
		if (c->gs[i].raw && hm.offset + 8 <= c->gs[i].size &&
		    tli_rd64(c->gs[i].raw + hm.offset))
			tli_u64set_add(&k->stackhi, c->gs[i].addr + hm.offset);
	tli_error_destroy(he);
	for (size_t i = 0; i < c->ngs; i++) {
		struct tli_go_chan_g *g = &c->gs[i];
		struct ginfo *x = &gi[i];
		x->cls = G_ROOT;
		/* g->sema: a Go <= 1.25 semaphore wait linked through runtime.semtable; a raw
		 * "semacquire" (what sync.Mutex/WaitGroup print on old runtimes) is judged too */
		if (g->dead || !g->waiting || (!tli_go_reason_user_blocked(g->reason) && !g->sema))
			continue;
		if (tli_go_reason_forever(g->reason)) {
			x->cls = G_FOREVER;
			continue;
		}
		if (g->problem[0]) {
			x->why_root = "its waiting chain could not be read";
			continue;
		}
		if (!g->nsudogs) {
			if (g->reason && !strcmp(g->reason, "sync.Cond.Wait"))
				x->why_root = "sync.Cond waiters queue on the Cond's notifyList, which Go <= 1.25 "
					      "does not link from the goroutine (g.waiting is nil): not judged";
			else if (tli_go_reason_sync(g->reason))
				x->why_root = k->c->sema_problem[0]
					? "g.waiting is nil and its semaphore was not found in runtime.semtable "
					  "(the table could not be fully walked)"
					: "g.waiting is nil and its semaphore was not found in runtime.semtable";
			else
				x->why_root = "blocked on a channel but g.waiting is nil (transient state)";
			continue;
		}
		x->objs = calloc(g->nsudogs, 8);
		if (!x->objs) {
			x->why_root = "out of memory";
			continue;
		}
		bool sync = tli_go_reason_sync(g->reason) || g->sema;
		for (size_t s = 0; s < g->nsudogs; s++) {
			const struct tli_go_sudog *sd = &c->gsudogs[g->first_sudog + s];
			uint64_t o = sync ? sd->elem : sd->c;
			if (!o)
				continue;
			if (!sync) {
				const struct tli_go_chan *ch = tli_go_chans_find(c, o);
				if (!ch || !ch->header_ok) {
					x->why_root = "one of its channels is unreadable";
					break;
				}
				if (ch->timer) {
					x->why_root = "waits on a timer channel (kept by the runtime's timers)";
					break;
				}
			}
			x->objs[x->nobjs++] = o;
		}
		if (x->why_root || !x->nobjs) {
			if (!x->why_root)
				x->why_root = "no object to wait on was found";
			free(x->objs);
			x->objs = NULL;
			x->nobjs = 0;
			continue;
		}
		x->cls = sync ? G_SYNC : G_CHAN;
		/* the runtime makes these words untraceable while it looks for leaks */
		for (size_t s = 0; s < g->nsudogs; s++) {
			const struct tli_go_sudog *sd = &c->gsudogs[g->first_sudog + s];
			tli_u64set_add(&k->sudogs, sd->addr);
			for (uint32_t w = 0; w < k->s_c_words; w++)
				tli_u64set_add(&k->masked, sd->addr + k->s_c_base + 8 * w);
			for (uint32_t w = 0; w < k->s_elem_words; w++)
				tli_u64set_add(&k->masked, sd->addr + k->s_elem_base + 8 * w);
		}
	}
	/* sudogs of every waiting chain are masked the same way (a ROOT g's stack still
	 * holds its channels, so masking only drops the sudog's own copy) */
}

static void scan_stack(struct lk *k, size_t i)
{
	struct gstack *st = &k->stacks[i];
	k->cur_src = 0x100 + (i & 0xeff);
	if (st->mem)
		scan_words(k, st->mem, st->lo, st->hi, false);
}

/* the reachability fixpoint; returns iterations */
static int fixpoint(struct lk *k, struct ginfo *gi)
{
	struct tli_go_chans *c = k->c;
	for (int i = 0; i < 2; i++) {
		k->cur_src = 1 + (uint64_t)i;
		if (k->roots[i].mem)
			scan_words(k, k->roots[i].mem, k->roots[i].lo, k->roots[i].hi, false);
	}
	k->cur_src = 3;
	struct tli_target *t = k->t;
	for (size_t i = 0; i < t->nthreads; i++) {
		const struct tli_regs *r = &t->threads[i].regs;
		if (!t->threads[i].regs_valid)
			continue;
		/* only threads running goroutine code (stack pointer on a goroutine stack):
		 * idle Ms parked in the scheduler hold stale values the runtime never scans */
		bool on_gstack = false;
		for (size_t g = 0; g < c->ngs && !on_gstack; g++)
			on_gstack = !c->gs[g].dead && k->stacks[g].hi && r->rsp >= k->stacks[g].lo - 4096 &&
				    r->rsp < k->stacks[g].hi;
		if (!on_gstack)
			continue;
		uint64_t v[] = { r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->rsp, r->r8, r->r9,
				 r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };
		for (size_t j = 0; j < sizeof(v) / sizeof(v[0]); j++)
			mark_ptr(k, v[j]);
	}
	k->cur_src = 4;
	for (size_t i = 0; i < k->nspecial_roots; i++)
		mark_ptr(k, k->special_roots[i]);
	for (size_t i = 0; i < k->nspecial_words; i++)
		mark_ptr(k, k->special_words[i]);
	if (k->specials_coarse)
		for (size_t i = 0; i < k->nspans; i++) {
			struct span *sp = &k->spans[i];
			if (!sp->specials)
				continue;
			for (uint64_t o = 0; o < sp->nelems; o++)
				mark_ptr(k, sp->start + o * sp->elemsize);
		}
	for (size_t i = 0; i < c->ngs; i++)
		if (!c->gs[i].dead && gi[i].cls == G_ROOT &&
		    !(c->gs[i].waiting && idle_runtime_reason(c->gs[i].reason)))
			scan_stack(k, i);
	drain(k);
	int iter = 1;
	for (;;) {
		bool changed = false;
		for (size_t i = 0; i < c->ngs; i++) {
			struct ginfo *x = &gi[i];
			if ((x->cls != G_CHAN && x->cls != G_SYNC) || x->runnable)
				continue;
			for (size_t o = 0; o < x->nobjs; o++) {
				bool in_heap;
				if (is_marked(k, x->objs[o], &in_heap) || !in_heap) {
					x->runnable = true;
					break;
				}
			}
			if (x->runnable) {
				scan_stack(k, i);
				changed = true;
			}
		}
		drain(k);
		if (!changed)
			break;
		iter++;
	}
	return iter;
}

/* ---- stack references (graph edges channel -> goroutine, evidence) ---- */

/* for each channel index: goroutine indices whose stack holds its address */
struct refs {
	size_t *gi;
	size_t n, cap;
};

static void stack_refs(struct lk *k, struct refs *out)
{
	struct tli_go_chans *c = k->c;
	struct tli_u64map idx = { 0 };
	for (size_t i = 0; i < c->nchans; i++)
		tli_u64map_put(&idx, c->chans[i].addr, i + 1);
	for (size_t g = 0; g < c->ngs; g++) {
		struct gstack *st = &k->stacks[g];
		if (!st->mem || c->gs[g].dead)
			continue;
		for (uint64_t a = st->lo; a + 8 <= st->hi; a += 8) {
			uint64_t w = tli_rd64(st->mem + (a - st->lo));
			uint64_t ci = w ? tli_u64map_get(&idx, w) : 0;
			if (!ci)
				continue;
			struct refs *r = &out[ci - 1];
			if (r->n && r->gi[r->n - 1] == g)
				continue;
			bool dup = false;
			for (size_t j = 0; j < r->n && !dup; j++)
				dup = r->gi[j] == g;
			if (dup)
				continue;
			if (r->n == r->cap) {
				size_t nc = r->cap ? r->cap * 2 : 4;
				size_t *ng = realloc(r->gi, nc * sizeof(size_t));
				if (!ng)
					continue;
				r->gi = ng;
				r->cap = nc;
			}
			r->gi[r->n++] = g;
		}
	}
	tli_u64map_free(&idx);
}

/* ---- cycles among blocked goroutines (Tarjan, iterative) ---- */
/* graph over goroutines: g -> g' if g waits on a channel whose holders include g' */

struct cyc {
	size_t *members;
	size_t n;
};

static json_t *find_cycles(struct lk *k, struct ginfo *gi, struct refs *refs, bool only_leaked)
{
	struct tli_go_chans *c = k->c;
	size_t n = c->ngs;
	json_t *out = json_array();
	/* adjacency lists */
	size_t *deg = calloc(n + 1, sizeof(size_t)), *start = calloc(n + 1, sizeof(size_t));
	int64_t *index = malloc((n + 1) * sizeof(int64_t)), *low = malloc((n + 1) * sizeof(int64_t));
	bool *on = calloc(n + 1, 1);
	size_t *stk = malloc((n + 1) * sizeof(size_t));
	size_t *cs = malloc((n + 1) * sizeof(size_t)), *ci = malloc((n + 1) * sizeof(size_t));
	size_t *adj = NULL;
	if (!deg || !start || !index || !low || !on || !stk || !cs || !ci)
		goto out;
#define NODE_OK(i) (!c->gs[i].dead && (gi[i].cls == G_CHAN) && (!only_leaked || gi[i].leaked))
	size_t total = 0;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			for (size_t i = 0, acc = 0; i < n; i++) {
				start[i] = acc;
				acc += deg[i];
				deg[i] = 0;
			}
			start[n] = total;
			adj = malloc((total + 1) * sizeof(size_t));
			if (!adj)
				goto out;
		}
		for (size_t g = 0; g < n; g++) {
			if (!NODE_OK(g))
				continue;
			for (size_t o = 0; o < gi[g].nobjs; o++) {
				const struct tli_go_chan *ch = tli_go_chans_find(c, gi[g].objs[o]);
				if (!ch)
					continue;
				struct refs *r = &refs[ch - c->chans];
				for (size_t j = 0; j < r->n; j++) {
					size_t h = r->gi[j];
					if (h == g || !NODE_OK(h))
						continue;
					if (pass == 0) {
						deg[g]++;
						total++;
					} else {
						adj[start[g] + deg[g]++] = h;
					}
				}
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		index[i] = -1;
	int64_t counter = 0;
	size_t sp = 0;
	for (size_t root = 0; root < n; root++) {
		if (!NODE_OK(root) || index[root] >= 0)
			continue;
		size_t csp = 0;
		cs[csp] = root;
		ci[csp++] = 0;
		index[root] = low[root] = counter++;
		stk[sp++] = root;
		on[root] = true;
		while (csp) {
			size_t v = cs[csp - 1];
			if (ci[csp - 1] < deg[v]) {
				size_t w = adj[start[v] + ci[csp - 1]++];
				if (index[w] < 0) {
					index[w] = low[w] = counter++;
					stk[sp++] = w;
					on[w] = true;
					cs[csp] = w;
					ci[csp++] = 0;
				} else if (on[w] && index[w] < low[v]) {
					low[v] = index[w];
				}
				continue;
			}
			csp--;
			if (csp && low[v] < low[cs[csp - 1]])
				low[cs[csp - 1]] = low[v];
			if (low[v] == index[v]) {
				size_t first = sp;
				do {
					first--;
					on[stk[first]] = false;
				} while (stk[first] != v);
				size_t m = sp - first;
				/* a wait-for cycle needs two channels: goroutines that all wait on the
				 * one channel they hold (an idle worker pool) are not a cycle */
				size_t nch = 0;
				uint64_t firstch = 0;
				for (size_t q = first; q < sp && nch < 2; q++)
					for (size_t o = 0; o < gi[stk[q]].nobjs && nch < 2; o++)
						if (!nch || gi[stk[q]].objs[o] != firstch) {
							if (!nch)
								firstch = gi[stk[q]].objs[o];
							nch++;
						}
				if (m >= 2 && nch >= 2) {
					json_t *cy = json_object(), *ids = json_array(), *chs = json_array();
					struct tli_u64set seen = { 0 };
					for (size_t q = first; q < sp; q++) {
						size_t g = stk[q];
						json_array_append_new(ids, json_integer(c->gs[g].goid));
						for (size_t o = 0; o < gi[g].nobjs; o++)
							if (tli_u64set_add(&seen, gi[g].objs[o]))
								json_array_append_new(chs, tli_go_hex(gi[g].objs[o]));
					}
					tli_u64set_free(&seen);
					json_object_set_new(cy, "goroutines", ids);
					json_object_set_new(cy, "channels", chs);
					json_array_append_new(out, cy);
				}
				sp = first;
			}
		}
	}
#undef NODE_OK
out:
	free(deg);
	free(start);
	free(index);
	free(low);
	free(on);
	free(stk);
	free(cs);
	free(ci);
	free(adj);
	return out;
}

/* ---- the run: capture (stopped), release, analyze ---- */

static void lk_free(struct lk *k)
{
	for (size_t i = 0; i < k->nspans; i++) {
		free(k->spans[i].alloc);
		free(k->spans[i].mark);
	}
	if (k->heapcopy)
		tli_big_free(k->heapcopy, k->heapcopy_len);
	free(k->spans);
	if (k->stacks && k->c)
		for (size_t i = 0; i < k->c->ngs; i++)
			free(k->stacks[i].mem);
	free(k->stacks);
	for (int i = 0; i < 2; i++)
		free(k->roots[i].mem);
	free(k->special_roots);
	free(k->special_words);
	free(k->work);
	tli_u64set_free(&k->masked);
	tli_u64set_free(&k->stackhi);
	tli_u64set_free(&k->sudogs);
	tli_u64map_free(&k->parent);
	tli_u64map_free(&k->tcache);
	for (size_t i = 0; i < k->ntinfo; i++)
		free(k->tinfo[i].mask);
	free(k->tinfo);
	tli_go_chans_destroy(k->c);
	tli_go_rt_destroy(k->rt);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct tli_error *lk_capture(struct lk *k, bool (*between)(void *), void *arg)
{
	struct tli_go_chans_opts co = { .queues = true };
	double t[8] = { now_s() };
	struct tli_error *err = tli_go_rt_open(k->s, &k->rt);
	if (!err)
		err = resolve(k);
	t[1] = now_s();
	if (!err)
		err = tli_go_rt_capture(k->rt);
	t[2] = now_s();
	if (!err)
		err = tli_go_chans_capture(k->s, k->rt, NULL, 0, &co, &k->c);
	t[3] = now_s();
	if (!err)
		err = capture_roots_stacks(k);
	t[4] = now_s();
	if (!err && k->heap)
		err = capture_heap(k);
	t[5] = now_s();
	if (!err && k->heap)
		prepare_types(k);
	t[6] = now_s();
	if (between)
		between(arg);
	tli_target_release(k->s->target);
	t[7] = now_s();
	if (k->s->opts.verbose)
		fprintf(stderr, "go leaks: layout %.3f s, goroutines %.3f s, channels %.3f s, roots+stacks %.3f s, "
			"heap %.3f s, types %.3f s, other walkers+release %.3f s\n", t[1] - t[0], t[2] - t[1],
			t[3] - t[2], t[4] - t[3], t[5] - t[4], t[6] - t[5], t[7] - t[6]);
	if (!err)
		tli_go_chans_report_warnings(k->s, k->c, false);
	return err;
}

static json_t *gobj(json_t *gmap, int64_t id)
{
	char key[32];
	snprintf(key, sizeof(key), "%" PRId64, id);
	return json_object_get(gmap, key);
}

static json_t *jget(json_t *o, const char *k)
{
	json_t *v = o ? json_object_get(o, k) : NULL;
	return v ? json_incref(v) : json_null();
}

static const char *frame_key(json_t *f, char *buf, size_t cap)
{
	if (!json_is_object(f))
		return "-";
	snprintf(buf, cap, "%s@%s:%" JSON_INTEGER_FORMAT, json_string_value(json_object_get(f, "function")) ?: "?",
		 json_string_value(json_object_get(f, "file")) ?: "?",
		 json_integer_value(json_object_get(f, "line")));
	return buf;
}

/* After lk_capture: the goroutine listing into `result`, and every goroutine classified
 * (gi[ngs], refs[nchans] zeroed for the caller). On failure k is freed. */
static struct tli_error *lk_analyze(struct lk *k, json_t *result, struct ginfo **gi_ret, struct refs **refs_ret)
{
	struct tli_go_opts gopts = { .top = 0 };
	struct tli_error *err = tli_go_rt_analyze(k->rt, &gopts, result);
	if (err) {
		lk_free(k);
		return err;
	}
	struct tli_go_chans *c = k->c;
	struct ginfo *gi = calloc(c->ngs ? c->ngs : 1, sizeof(*gi));
	struct refs *refs = calloc(c->nchans ? c->nchans : 1, sizeof(*refs));
	if (!gi || !refs) {
		free(gi);
		free(refs);
		lk_free(k);
		return &tli_enomem;
	}
	classify(k, gi);
	*gi_ret = gi;
	*refs_ret = refs;
	return NULL;
}

struct tli_error *tli_go_cmd_leaks(struct tli_session *s, const struct tli_go_leak_opts *o,
				   bool (*between)(void *arg), void *arg, json_t *result)
{
	struct lk k = { .s = s, .t = s->target, .heap = !o->no_heap };
	double t0 = now_s();
	struct tli_error *err = lk_capture(&k, between, arg);
	double t1 = now_s();
	if (err) {
		lk_free(&k);
		return err;
	}
	struct ginfo *gi = NULL;
	struct refs *refs = NULL;
	if ((err = lk_analyze(&k, result, &gi, &refs)))
		return err;
	struct tli_go_chans *c = k.c;
	int iters = 0;
	bool reach_ok = k.heap && !k.problem[0] && k.nspans > 0;
	k.trace = getenv("TLINSPECT_LEAK_TRACE") != NULL;
	if (reach_ok)
		iters = fixpoint(&k, gi);
	if (k.trace) {
		for (size_t i = 0; i < c->ngs; i++) {
			for (size_t q = 0; q < gi[i].nobjs; q++) {
				struct span *osp;
				int64_t oi = find_obj(&k, gi[i].objs[q], &osp);
				fprintf(stderr, "trace: goroutine %" PRId64 " object 0x%" PRIx64 ":", c->gs[i].goid,
					gi[i].objs[q]);
				if (oi < 0) {
					fprintf(stderr, " not a heap object\n");
					continue;
				}
				uint64_t ob = osp->start + (uint64_t)oi * osp->elemsize;
				for (int d = 0; d < 32; d++) {
					uint64_t p = tli_u64map_get(&k.parent, ob);
					if (!p) {
						fprintf(stderr, " (not marked)");
						break;
					}
					if (p < 0x1000) {
						fprintf(stderr, " <- root %s%" PRId64, p == 1 ? "data" : p == 2 ? "bss" :
							p == 3 ? "registers" : p == 4 ? "specials" : "stack of goroutine ",
							p >= 0x100 ? c->gs[p - 0x100].goid : 0);
						break;
					}
					struct span *sp = find_span(&k, p);
					fprintf(stderr, " <- 0x%" PRIx64 "(%" PRIu64 "B)", p, sp ? sp->elemsize : 0);
					ob = p;
				}
				fputc('\n', stderr);
			}
		}
	}
	if (k.problem[0])
		reach_ok = false;
	stack_refs(&k, refs);
	json_t *gmap = tli_go_gmap(result);
	json_t *list = json_array();
	json_t *uncertain = json_array();
	json_t *not_reported = json_array();
	/* groups keyed by reason|user|created_by */
	json_t *gindex = json_object(), *groups = json_array();
	size_t nleaked = 0;
	for (size_t i = 0; i < c->ngs; i++) {
		struct tli_go_chan_g *g = &c->gs[i];
		struct ginfo *x = &gi[i];
		if (g->dead)
			continue;
		if (x->cls == G_ROOT && x->why_root && tli_go_reason_user_blocked(g->reason)) {
			json_t *u = json_object();
			json_object_set_new(u, "id", json_integer(g->goid));
			json_object_set_new(u, "wait_reason", json_string(g->reason));
			json_object_set_new(u, "why", json_string(x->why_root));
			json_array_append_new(uncertain, u);
			continue;
		}
		char ev[1024] = "";
		if (x->cls == G_FOREVER && g->goid == 1 && !strcmp(g->reason, "select (no cases)")) {
			/* Go 1.26's rule: main in select {} is treated as leaked while looking for
			 * leaks (its stack is no root) but is not reported itself */
			json_t *u = json_object();
			json_object_set_new(u, "id", json_integer(g->goid));
			json_object_set_new(u, "wait_reason", json_string(g->reason));
			json_object_set_new(u, "why", json_string("the main goroutine in select {} is not reported "
								  "(its stack is still not a root), as in Go's "
								  "goroutineleak profile"));
			json_array_append_new(not_reported, u);
			continue;
		}
		if (x->cls == G_FOREVER) {
			x->leaked = true;
			snprintf(ev, sizeof(ev), "%s",
				 !strcmp(g->reason, "select (no cases)")
				 ? "select with no cases: can never proceed"
				 : "operation on a nil channel: can never proceed");
		} else if ((x->cls == G_CHAN || x->cls == G_SYNC) && reach_ok && !x->runnable) {
			x->leaked = true;
			size_t used = 0;
			for (size_t q = 0; q < x->nobjs && used + 200 < sizeof(ev); q++) {
				used += (size_t)snprintf(ev + used, sizeof(ev) - used, "%s%s 0x%" PRIx64
							 " has 0 references outside blocked goroutines",
							 q ? "; " : "", x->cls == G_SYNC ? "the object of semaphore" : "channel",
							 x->objs[q]);
				if (g->sema && used + 40 < sizeof(ev))
					used += (size_t)snprintf(ev + used, sizeof(ev) - used,
								 " (waiter found in runtime.semtable)");
				const struct tli_go_chan *ch = x->cls == G_CHAN ? tli_go_chans_find(c, x->objs[q]) : NULL;
				if (ch) {
					struct refs *r = &refs[ch - c->chans];
					size_t shown = 0;
					for (size_t j = 0; j < r->n && used + 40 < sizeof(ev); j++) {
						if (r->gi[j] == i)
							continue;
						used += (size_t)snprintf(ev + used, sizeof(ev) - used, "%s%" PRId64,
									 shown++ ? ", " : " (held by the stacks of blocked goroutines ",
									 c->gs[r->gi[j]].goid);
					}
					if (shown && used + 2 < sizeof(ev))
						used += (size_t)snprintf(ev + used, sizeof(ev) - used, ")");
				}
			}
		}
		if (!x->leaked)
			continue;
		nleaked++;
		json_t *go = gobj(gmap, g->goid);
		json_t *e = json_object();
		json_object_set_new(e, "id", json_integer(g->goid));
		json_object_set_new(e, "wait_reason", json_string(g->reason));
		json_object_set_new(e, "user", jget(go, "user"));
		json_object_set_new(e, "created_by", jget(go, "created_by"));
		json_t *objs = json_array();
		for (size_t q = 0; q < x->nobjs; q++)
			json_array_append_new(objs, tli_go_hex(x->objs[q]));
		json_object_set_new(e, "objects", objs);
		json_object_set_new(e, "certain", json_boolean(x->cls == G_FOREVER));
		json_object_set_new(e, "evidence", json_string(ev));
		json_array_append_new(list, e);
		char k1[600], k2[600], key[1400];
		snprintf(key, sizeof(key), "%s|%s|%s", g->reason, frame_key(json_object_get(go, "user"), k1, sizeof(k1)),
			 frame_key(json_object_get(go, "created_by"), k2, sizeof(k2)));
		json_t *gr = json_object_get(gindex, key);
		if (!gr) {
			gr = json_object();
			json_object_set_new(gr, "count", json_integer(0));
			json_object_set_new(gr, "wait_reason", json_string(g->reason));
			json_object_set_new(gr, "user", jget(go, "user"));
			json_object_set_new(gr, "created_by", jget(go, "created_by"));
			json_object_set_new(gr, "ids", json_array());
			json_object_set_new(gr, "evidence", json_string(ev));
			json_object_set(gindex, key, gr);
			json_array_append_new(groups, gr);
		}
		json_object_set_new(gr, "count", json_integer(json_integer_value(json_object_get(gr, "count")) + 1));
		json_t *ids = json_object_get(gr, "ids");
		if (json_array_size(ids) < 10)
			json_array_append_new(ids, json_integer(g->goid));
	}
	/* groups by count desc (insertion sort: groups are few) */
	size_t gn = json_array_size(groups);
	for (size_t i = 1; i < gn; i++)
		for (size_t j = i; j > 0; j--) {
			json_t *a = json_array_get(groups, j - 1), *b = json_array_get(groups, j);
			if (json_integer_value(json_object_get(a, "count")) >= json_integer_value(json_object_get(b, "count")))
				break;
			json_incref(a);
			json_array_set(groups, j - 1, b);
			json_array_set_new(groups, j, a);
		}
	size_t top = o->top == 0 ? 10 : o->top < 0 ? SIZE_MAX : (size_t)o->top;
	while (json_array_size(groups) > top)
		json_array_remove(groups, json_array_size(groups) - 1);
	json_t *cycles = find_cycles(&k, gi, refs, reach_ok);
	double t2 = now_s();

	json_t *goj = json_object_get(result, "go");
	json_object_set_new(goj, "leaked_goroutines", list);
	json_object_set_new(goj, "leaked_count", json_integer((json_int_t)nleaked));
	json_object_set_new(goj, "leak_groups", groups);
	json_object_set_new(goj, "leak_group_count", json_integer((json_int_t)gn));
	json_object_set_new(goj, "deadlocks", cycles);
	json_object_set_new(goj, "uncertain", uncertain);
	json_object_set_new(goj, "not_reported", not_reported);
	json_t *st = json_object();
	json_object_set_new(st, "method", json_string(reach_ok ? "reachability" : "certain-only"));
	if (!reach_ok)
		json_object_set_new(st, "why_no_reachability",
				    json_string(!k.heap ? "--no-heap" : k.problem[0] ? k.problem : "no heap spans"));
	json_object_set_new(st, "spans", json_integer((json_int_t)k.nspans));
	uint64_t hb = 0;
	for (size_t i = 0; i < k.nspans; i++)
		hb += k.spans[i].end - k.spans[i].start;
	json_object_set_new(st, "heap_bytes", json_integer((json_int_t)hb));
	json_object_set_new(st, "marked_objects", json_integer((json_int_t)k.marked_objects));
	json_object_set_new(st, "scanned_bytes", json_integer((json_int_t)k.scanned_bytes));
	json_object_set_new(st, "iterations", json_integer(iters));
	json_object_set_new(st, "finalizer_roots", json_integer((json_int_t)k.nspecial_roots));
	json_object_set_new(st, "typed_scanning", json_boolean(k.typed));
	json_object_set_new(st, "typed_objects", json_integer((json_int_t)k.typed_objects));
	json_object_set_new(st, "typed_fallbacks", json_integer((json_int_t)k.typed_fallbacks));
	json_object_set_new(st, "specials_coarse", json_boolean(k.specials_coarse));
	if (c->sema_walked) {
		/* Go <= 1.25: semaphore waits linked through runtime.semtable */
		json_t *sm = json_object();
		json_object_set_new(sm, "sudogs", json_integer((json_int_t)c->sema_nodes));
		json_object_set_new(sm, "linked_goroutines", json_integer((json_int_t)c->sema_linked));
		if (c->sema_problem[0])
			json_object_set_new(sm, "problem", json_string(c->sema_problem));
		json_object_set_new(st, "semtable", sm);
	}
	json_object_set_new(st, "capture_seconds", json_real(t1 - t0));
	json_object_set_new(st, "analysis_seconds", json_real(t2 - t1));
	json_object_set_new(goj, "leak_stats", st);
	/* the full listing stays out of the leak report */
	json_object_del(goj, "goroutines");
	json_object_del(goj, "summary");
	json_decref(gindex);
	json_decref(gmap);
	for (size_t i = 0; i < c->nchans; i++)
		free(refs[i].gi);
	free(refs);
	for (size_t i = 0; i < c->ngs; i++)
		free(gi[i].objs);
	free(gi);
	lk_free(&k);
	return NULL;
}

/* ---- graph ---- */

struct tli_error *tli_go_cmd_graph(struct tli_session *s, bool dot, json_t *result)
{
	struct lk k = { .s = s, .t = s->target, .heap = false };
	struct tli_error *err = lk_capture(&k, NULL, NULL);
	if (err) {
		lk_free(&k);
		return err;
	}
	struct ginfo *gi = NULL;
	struct refs *refs = NULL;
	if ((err = lk_analyze(&k, result, &gi, &refs)))
		return err;
	struct tli_go_chans *c = k.c;
	stack_refs(&k, refs);
	json_t *gmap = tli_go_gmap(result);
	json_t *nodes = json_array(), *edges = json_array();
	struct tli_u64set gnodes = { 0 };
	/* goroutine -> channel: waits to send / receive */
	for (size_t i = 0; i < c->nchans; i++) {
		const struct tli_go_chan *ch = &c->chans[i];
		json_t *n = json_object();
		char id[40];
		snprintf(id, sizeof(id), "c0x%" PRIx64, ch->addr);
		json_object_set_new(n, "id", json_string(id));
		json_object_set_new(n, "kind", json_string("channel"));
		json_object_set_new(n, "address", tli_go_hex(ch->addr));
		json_object_set_new(n, "elemtype", ch->type_name ? json_string(ch->type_name) : json_null());
		json_object_set_new(n, "len", json_integer((json_int_t)ch->qcount));
		json_object_set_new(n, "cap", json_integer((json_int_t)ch->dataqsiz));
		json_object_set_new(n, "closed", json_boolean(ch->closed != 0));
		json_array_append_new(nodes, n);
		for (int q = 0; q < 2; q++) {
			const struct tli_go_sudog *arr = q ? ch->sendq : ch->recvq;
			size_t na = q ? ch->nsendq : ch->nrecvq;
			for (size_t j = 0; j < na; j++) {
				if (arr[j].stale || arr[j].goid < 0)
					continue;
				json_t *e = json_object();
				char gid[32];
				snprintf(gid, sizeof(gid), "g%" PRId64, arr[j].goid);
				json_object_set_new(e, "from", json_string(gid));
				json_object_set_new(e, "to", json_string(id));
				json_object_set_new(e, "kind", json_string(q ? "send" : "recv"));
				if (arr[j].is_select)
					json_object_set_new(e, "select", json_true());
				json_array_append_new(edges, e);
				tli_u64set_add(&gnodes, (uint64_t)arr[j].goid + 1);
			}
		}
		/* channel -> goroutine: its stack holds the channel */
		struct refs *r = &refs[i];
		for (size_t j = 0; j < r->n; j++) {
			json_t *e = json_object();
			char gid[32];
			snprintf(gid, sizeof(gid), "g%" PRId64, c->gs[r->gi[j]].goid);
			json_object_set_new(e, "from", json_string(id));
			json_object_set_new(e, "to", json_string(gid));
			json_object_set_new(e, "kind", json_string("held-by"));
			json_array_append_new(edges, e);
			tli_u64set_add(&gnodes, (uint64_t)c->gs[r->gi[j]].goid + 1);
		}
	}
	/* nil-channel / select {} goroutines: nodes without edges */
	for (size_t i = 0; i < c->ngs; i++)
		if (!c->gs[i].dead && gi[i].cls == G_FOREVER)
			tli_u64set_add(&gnodes, (uint64_t)c->gs[i].goid + 1);
	for (size_t i = 0; i < c->ngs; i++) {
		const struct tli_go_chan_g *g = &c->gs[i];
		if (g->dead || !tli_u64set_has(&gnodes, (uint64_t)g->goid + 1))
			continue;
		json_t *go = gobj(gmap, g->goid);
		json_t *n = json_object();
		char gid[32];
		snprintf(gid, sizeof(gid), "g%" PRId64, g->goid);
		json_object_set_new(n, "id", json_string(gid));
		json_object_set_new(n, "kind", json_string("goroutine"));
		json_object_set_new(n, "goroutine", json_integer(g->goid));
		json_object_set_new(n, "status", jget(go, "status"));
		json_object_set_new(n, "wait_reason", g->reason && g->waiting ? json_string(g->reason) : json_null());
		json_object_set_new(n, "user", jget(go, "user"));
		json_array_append_new(nodes, n);
	}
	json_t *graph = json_object();
	json_object_set_new(graph, "nodes", nodes);
	json_object_set_new(graph, "edges", edges);
	json_object_set_new(graph, "cycles", find_cycles(&k, gi, refs, false));
	json_object_set_new(graph, "render", json_string(dot ? "dot" : "text"));
	json_object_set_new(result, "graph", graph);
	json_t *goj = json_object_get(result, "go");
	json_object_del(goj, "goroutines");
	json_object_del(goj, "summary");
	tli_u64set_free(&gnodes);
	json_decref(gmap);
	for (size_t i = 0; i < c->nchans; i++)
		free(refs[i].gi);
	free(refs);
	for (size_t i = 0; i < c->ngs; i++)
		free(gi[i].objs);
	free(gi);
	lk_free(&k);
	return NULL;
}
