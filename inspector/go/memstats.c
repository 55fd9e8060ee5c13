/* SPDX-License-Identifier: MIT */
/*
 * runtime.MemStats from outside: the layouts (by name), the capture while the
 * target is stopped (one vectored read per pointer depth: the globals, allp, each
 * P's mcache pointer, each mcache, each cached span) and the result tree. The
 * arithmetic is memstats_calc.c. See memstats.h.
 *
 * Upstream (go1.19-1.27): runtime/mstats.go (mstats, heapStatsDelta,
 * consistentHeapStats.unsafeRead, readmemstats_m, flushallmcaches), runtime/mcache.go
 * (mcache, releaseAll), runtime/mgcpacer.go (gcControllerState), runtime/mheap.go
 * (mheap.spanalloc/cachealloc), runtime/sizeclasses.go or
 * internal/runtime/gc/sizeclasses.go (the class sizes).
 */
#include "go/memstats.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"

#define MAX_PS      (1u << 16)   /* len(allp) accepted (GOMAXPROCS) */
#define MAX_SHARDS  16           /* slots of consistentHeapStats.stats (3) */
#define MAX_SPANCLASSES 1024     /* mcache.alloc entries (136) */

/* a member: offset and size in its struct */
struct fld {
	uint32_t off, size;
};

/* heapStatsDelta members, in the order of struct tli_gomem_raw's fields */
enum {
	D_COMMITTED, D_RELEASED, D_INHEAP, D_INSTACKS, D_INWORKBUFS, D_TINY, D_LARGEALLOC, D_LARGEALLOCCOUNT,
	D_LARGEFREE, D_LARGEFREECOUNT, D_SMALLALLOC, D_SMALLFREE, D__N
};
static const char *const delta_names[D__N] = {
	"committed", "released", "inHeap", "inStacks", "inWorkBufs", "tinyAllocCount", "largeAlloc",
	"largeAllocCount", "largeFree", "largeFreeCount", "smallAllocCount", "smallFreeCount",
};

/* mstats members besides heapStats */
enum {
	M_STACKS, M_MSPAN, M_MCACHE, M_BUCKHASH, M_GCMISC, M_OTHER, M_LASTGC, M_PAUSETOTAL, M_NUMGC, M_NUMFORCED, M__N
};
static const char *const mstats_names[M__N] = {
	"stacks_sys", "mspan_sys", "mcache_sys", "buckhash_sys", "gcMiscSys", "other_sys", "last_gc_unix",
	"pause_total_ns", "numgc", "numforcedgc",
};

/* gcControllerState members: those MemStats reads (GCC), then the pacer's (GOAL) */
enum {
	C_PERCENT, C_LIMIT, C_INUSE, C_FREE, C_RELEASED, C__GCC,
	C_TOTALALLOC = C__GCC, C_TOTALFREE, C_MAPPED, C_PCTGOAL, C_SWEEPDIST, C_TRIGGERED, C_MARKED, C__N
};
static const char *const gcc_names[C__N] = {
	"gcPercent", "memoryLimit", "heapInUse", "heapFree", "heapReleased", "totalAlloc", "totalFree",
	"mappedReady", "gcPercentHeapGoal", "sweepDistMinTrigger", "triggered", "heapMarked",
};

struct ml {
	uint64_t memstats, gcc, mheap, allp, sizes;
	struct fld stats;                 /* mstats.heapStats.stats: [N]heapStatsDelta */
	uint32_t delta_size, nshards;
	struct fld d[D__N], ptrscalar;    /* heapStatsDelta */
	bool has_ptrscalar;               /* inPtrScalarBits (go1.19-1.21) */
	struct fld ms[M__N];
	uint32_t ms_lo, ms_hi;            /* the part of mstats read */
	struct fld c[C__N];
	uint32_t gcc_hi;
	struct fld span_inuse, cache_inuse;  /* mheap.spanalloc.inuse, mheap.cachealloc.inuse */
	struct fld p_mcache, mc_tiny, mc_alloc, sp_count, sp_before, sp_elemsize;
	uint32_t mc_lo, mc_hi, sp_lo, sp_hi, nspanclasses;
};

struct tli_gomem {
	struct tli_session *s;
	struct tli_layout *l;
	struct ml L;
	struct tli_gomem_raw raw;
	bool decoded;
	/* the copies (tli_gomem_capture), decoded after the release */
	uint8_t *msbuf;            /* memstats [ms_off, ms_off + ms_len) */
	uint32_t ms_off, ms_len;
	uint8_t *gccbuf;           /* gcController [0, gcc_hi) */
	uint8_t mh[2][8];          /* spanalloc.inuse, cachealloc.inuse */
	uint8_t sizes[TLI_GOMEM_MAX_CLASSES * 2];
	uint8_t *mcbuf;            /* every mcache's [mc_lo, mc_hi), nmc of them */
	size_t nmc;
	uint8_t *spbuf;            /* every cached span's [sp_lo, sp_hi): nmc * nspanclasses */
	bool *spgot;
};

static void src_fail(struct tli_gomem *m, enum tli_gomem_src src, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void src_fail(struct tli_gomem *m, enum tli_gomem_src src, const char *fmt, ...)
{
	if (!(m->raw.ok & (1u << src)) && m->raw.why[src][0])
		return; /* the first reason stays */
	m->raw.ok &= ~(1u << src);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->raw.why[src], sizeof(m->raw.why[src]), fmt, ap);
	va_end(ap);
}

/* a member by name into *f; false (and the source's reason) if absent */
static bool member(struct tli_gomem *m, enum tli_gomem_src src, const char *type, const char *name, struct fld *f)
{
	struct tli_member x;
	struct tli_error *e = tli_layout_member(m->l, type, name, &x);
	if (!e && (x.size == 0 || x.size > (1u << 20) || x.offset > (1u << 24)))
		e = tli_error_create(TLI_E_CORRUPT, "%s.%s: implausible (offset %" PRIu64 ", size %" PRIu64 ")",
				     type, name, x.offset, x.size);
	if (e) {
		src_fail(m, src, "%s", e->msg);
		tli_error_destroy(e);
		return false;
	}
	*f = (struct fld){ (uint32_t)x.offset, (uint32_t)x.size };
	return true;
}

static bool global(struct tli_gomem *m, enum tli_gomem_src src, const char *name, uint64_t *ret)
{
	struct tli_global g;
	struct tli_error *e = tli_layout_global(m->l, name, &g);
	if (e) {
		src_fail(m, src, "%s", e->msg);
		tli_error_destroy(e);
		return false;
	}
	*ret = g.addr;
	return true;
}

static bool constant(struct tli_gomem *m, const char *name, int64_t *ret)
{
	return !tli_error_drop(tli_layout_constant(m->l, name, ret));
}

/* memstats.heapStats: the slots and heapStatsDelta's members */
static void resolve_heapstats(struct tli_gomem *m)
{
	struct ml *L = &m->L;
	enum tli_gomem_src S = TLI_GOMEM_SRC_HEAPSTATS;
	uint64_t dsz = 0;
	if (!member(m, S, "runtime.mstats", "heapStats.stats", &L->stats))
		return;
	struct tli_error *e = tli_layout_type_size(m->l, "runtime.heapStatsDelta", &dsz);
	if (e) {
		src_fail(m, S, "%s", e->msg);
		tli_error_destroy(e);
		return;
	}
	if (!dsz || dsz > (1u << 16) || L->stats.size % dsz || L->stats.size / dsz > MAX_SHARDS) {
		src_fail(m, S, "implausible heapStats.stats (%u bytes of %" PRIu64 "-byte slots)", L->stats.size, dsz);
		return;
	}
	L->delta_size = (uint32_t)dsz;
	L->nshards = (uint32_t)(L->stats.size / dsz);
	for (int i = 0; i < D__N; i++)
		if (!member(m, S, "runtime.heapStatsDelta", delta_names[i], &L->d[i]))
			return;
	struct tli_member x;
	L->has_ptrscalar = tli_layout_has_member(m->l, "runtime.heapStatsDelta", "inPtrScalarBits", &x);
	L->ptrscalar = (struct fld){ (uint32_t)x.offset, (uint32_t)x.size };
	uint32_t nc = L->d[D_SMALLALLOC].size / 8;
	if (!nc || nc > TLI_GOMEM_MAX_CLASSES || L->d[D_SMALLFREE].size != nc * 8) {
		src_fail(m, S, "implausible smallAllocCount/smallFreeCount (%u/%u bytes)", L->d[D_SMALLALLOC].size,
			 L->d[D_SMALLFREE].size);
		return;
	}
	for (int i = 0; i < D__N; i++)
		if (L->d[i].off + L->d[i].size > dsz) {
			src_fail(m, S, "heapStatsDelta.%s lies outside the struct", delta_names[i]);
			return;
		}
	m->raw.nclasses = nc;
}

static void resolve_mstats(struct tli_gomem *m)
{
	struct ml *L = &m->L;
	L->ms_lo = UINT32_MAX;
	for (int i = 0; i < M__N; i++) {
		if (!member(m, TLI_GOMEM_SRC_MSTATS, "runtime.mstats", mstats_names[i], &L->ms[i]))
			return;
		if (L->ms[i].size > 8) {
			src_fail(m, TLI_GOMEM_SRC_MSTATS, "mstats.%s is %u bytes", mstats_names[i], L->ms[i].size);
			return;
		}
		if (L->ms[i].off < L->ms_lo)
			L->ms_lo = L->ms[i].off;
		if (L->ms[i].off + L->ms[i].size > L->ms_hi)
			L->ms_hi = L->ms[i].off + L->ms[i].size;
	}
}

static void resolve_gcc(struct tli_gomem *m)
{
	struct ml *L = &m->L;
	if (!global(m, TLI_GOMEM_SRC_GCC, "runtime.gcController", &L->gcc)) {
		src_fail(m, TLI_GOMEM_SRC_GOAL, "%s", m->raw.why[TLI_GOMEM_SRC_GCC]);
		return;
	}
	for (int i = 0; i < C__N; i++) {
		enum tli_gomem_src src = i < C__GCC ? TLI_GOMEM_SRC_GCC : TLI_GOMEM_SRC_GOAL;
		if (!member(m, src, "runtime.gcControllerState", gcc_names[i], &L->c[i]))
			continue;
		if (L->c[i].size > 8)
			src_fail(m, src, "gcControllerState.%s is %u bytes", gcc_names[i], L->c[i].size);
		if (L->c[i].off + L->c[i].size > L->gcc_hi)
			L->gcc_hi = L->c[i].off + L->c[i].size;
	}
	/* the memory-limit goal's headroom: a percentage with a minimum (go1.21+), else fixed */
	struct tli_gomem_raw *r = &m->raw;
	if (constant(m, "runtime.memoryLimitHeapGoalHeadroomPercent", &r->headroom_pct) &&
	    constant(m, "runtime.memoryLimitMinHeapGoalHeadroom", &r->headroom_min))
		r->headroom_pct_known = true;
	else if (!constant(m, "runtime.memoryLimitHeapGoalHeadroom", &r->headroom_min))
		src_fail(m, TLI_GOMEM_SRC_GOAL, "no value for runtime.memoryLimitHeapGoalHeadroom[Percent] "
			 "(no DWARF and no runtime map?)");
}

/* allp, p.mcache, mcache.tinyAllocs/alloc, mspan.allocCount/allocCountBeforeCache/elemsize */
static void resolve_mcaches(struct tli_gomem *m)
{
	struct ml *L = &m->L;
	enum tli_gomem_src S = TLI_GOMEM_SRC_MCACHES;
	if (!global(m, S, "runtime.allp", &L->allp) || !member(m, S, "runtime.p", "mcache", &L->p_mcache) ||
	    !member(m, S, "runtime.mcache", "tinyAllocs", &L->mc_tiny) ||
	    !member(m, S, "runtime.mcache", "alloc", &L->mc_alloc) ||
	    !member(m, S, "runtime.mspan", "allocCount", &L->sp_count) ||
	    !member(m, S, "runtime.mspan", "allocCountBeforeCache", &L->sp_before) ||
	    !member(m, S, "runtime.mspan", "elemsize", &L->sp_elemsize))
		return;
	L->nspanclasses = L->mc_alloc.size / 8;
	if (!L->nspanclasses || L->nspanclasses > MAX_SPANCLASSES || L->mc_tiny.size > 8 || L->sp_count.size > 8 ||
	    L->sp_before.size > 8 || L->sp_elemsize.size > 8 || L->p_mcache.size != 8) {
		src_fail(m, S, "implausible mcache/mspan layout");
		return;
	}
	L->mc_lo = L->mc_tiny.off < L->mc_alloc.off ? L->mc_tiny.off : L->mc_alloc.off;
	L->mc_hi = L->mc_tiny.off + L->mc_tiny.size;
	if (L->mc_alloc.off + L->mc_alloc.size > L->mc_hi)
		L->mc_hi = L->mc_alloc.off + L->mc_alloc.size;
	const struct fld *sf[] = { &L->sp_count, &L->sp_before, &L->sp_elemsize };
	L->sp_lo = UINT32_MAX;
	for (size_t i = 0; i < 3; i++) {
		if (sf[i]->off < L->sp_lo)
			L->sp_lo = sf[i]->off;
		if (sf[i]->off + sf[i]->size > L->sp_hi)
			L->sp_hi = sf[i]->off + sf[i]->size;
	}
}

struct tli_error *tli_gomem_new(struct tli_session *s, struct tli_layout *l, struct tli_gomem **ret)
{
	struct tli_gomem *m = calloc(1, sizeof(*m));
	if (!m)
		return &tli_enomem;
	m->s = s;
	m->l = l;
	struct ml *L = &m->L;
	m->raw.ok = (1u << TLI_GOMEM_SRC__N) - 1;
	if (global(m, TLI_GOMEM_SRC_HEAPSTATS, "runtime.memstats", &L->memstats)) {
		resolve_heapstats(m);
		resolve_mstats(m);
	} else {
		src_fail(m, TLI_GOMEM_SRC_MSTATS, "%s", m->raw.why[TLI_GOMEM_SRC_HEAPSTATS]);
	}
	resolve_gcc(m);
	if (global(m, TLI_GOMEM_SRC_MHEAP, "runtime.mheap_", &L->mheap) &&
	    member(m, TLI_GOMEM_SRC_MHEAP, "runtime.mheap", "spanalloc.inuse", &L->span_inuse))
		member(m, TLI_GOMEM_SRC_MHEAP, "runtime.mheap", "cachealloc.inuse", &L->cache_inuse);
	/* the class sizes: internal/runtime/gc.SizeClassToSize (go1.25+) or runtime.class_to_size */
	struct tli_global g;
	if (!tli_error_drop(tli_layout_global(l, "internal/runtime/gc.SizeClassToSize", &g)))
		L->sizes = g.addr;
	else
		global(m, TLI_GOMEM_SRC_SIZES, "runtime.class_to_size", &L->sizes);
	if (!(m->raw.ok & (1u << TLI_GOMEM_SRC_HEAPSTATS)))
		src_fail(m, TLI_GOMEM_SRC_SIZES, "%s", m->raw.why[TLI_GOMEM_SRC_HEAPSTATS]);
	resolve_mcaches(m);
	*ret = m;
	return NULL;
}

void tli_gomem_destroy(struct tli_gomem *m)
{
	if (!m)
		return;
	free(m->msbuf);
	free(m->gccbuf);
	free(m->mcbuf);
	free(m->spbuf);
	free(m->spgot);
	free(m);
}

static bool src_ok(const struct tli_gomem *m, enum tli_gomem_src s)
{
	return (m->raw.ok >> s) & 1;
}

/* an n-byte signed value, sign-extended */
static int64_t rds(const uint8_t *p, uint32_t n)
{
	uint64_t v = tli_rdn(p, n);
	if (n && n < 8 && ((v >> (n * 8 - 1)) & 1))
		v |= ~0ull << (n * 8);
	return (int64_t)v;
}

#define RD(buf, f) tli_rdn((buf) + (f).off, (f).size)

/* ---- capture (target stopped: copies only) ---- */

/* round 1: memstats, gcController, mheap_'s two counters, allp's header, the class sizes */
static struct tli_error *capture_globals(struct tli_gomem *m, uint64_t *allp_arr, uint64_t *allp_len)
{
	struct ml *L = &m->L;
	struct tli_read rs[7];
	int src[7];
	size_t n = 0;
	uint8_t allp_hdr[16];
	if (src_ok(m, TLI_GOMEM_SRC_HEAPSTATS) || src_ok(m, TLI_GOMEM_SRC_MSTATS)) {
		uint32_t lo = src_ok(m, TLI_GOMEM_SRC_MSTATS) ? L->ms_lo : UINT32_MAX, hi = L->ms_hi;
		if (src_ok(m, TLI_GOMEM_SRC_HEAPSTATS)) {
			lo = L->stats.off < lo ? L->stats.off : lo;
			hi = L->stats.off + L->stats.size > hi ? L->stats.off + L->stats.size : hi;
		}
		m->ms_off = lo;
		m->ms_len = hi - lo;
		if (!(m->msbuf = calloc(1, m->ms_len)))
			return &tli_enomem;
		src[n] = TLI_GOMEM_SRC_MSTATS;
		rs[n++] = (struct tli_read){ .addr = L->memstats + lo, .buf = m->msbuf, .len = m->ms_len };
	}
	if (L->gcc_hi) {
		if (!(m->gccbuf = calloc(1, L->gcc_hi)))
			return &tli_enomem;
		src[n] = TLI_GOMEM_SRC_GCC;
		rs[n++] = (struct tli_read){ .addr = L->gcc, .buf = m->gccbuf, .len = L->gcc_hi };
	}
	if (src_ok(m, TLI_GOMEM_SRC_MHEAP)) {
		src[n] = TLI_GOMEM_SRC_MHEAP;
		rs[n++] = (struct tli_read){ .addr = L->mheap + L->span_inuse.off, .buf = m->mh[0], .len = 8 };
		src[n] = TLI_GOMEM_SRC_MHEAP;
		rs[n++] = (struct tli_read){ .addr = L->mheap + L->cache_inuse.off, .buf = m->mh[1], .len = 8 };
	}
	if (src_ok(m, TLI_GOMEM_SRC_MCACHES)) {
		src[n] = TLI_GOMEM_SRC_MCACHES;
		rs[n++] = (struct tli_read){ .addr = L->allp, .buf = allp_hdr, .len = 16 };
	}
	if (src_ok(m, TLI_GOMEM_SRC_SIZES) && m->raw.nclasses) {
		src[n] = TLI_GOMEM_SRC_SIZES;
		rs[n++] = (struct tli_read){ .addr = L->sizes, .buf = m->sizes, .len = m->raw.nclasses * 2u };
	}
	struct tli_error *err = n ? tli_target_read_many(m->s->target, rs, n) : NULL;
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if (rs[i].got < rs[i].len) {
			src_fail(m, src[i], "%zu bytes at 0x%" PRIx64 " unreadable", rs[i].len, rs[i].addr);
			if (src[i] == TLI_GOMEM_SRC_MSTATS)
				src_fail(m, TLI_GOMEM_SRC_HEAPSTATS, "%s", m->raw.why[TLI_GOMEM_SRC_MSTATS]);
			if (src[i] == TLI_GOMEM_SRC_GCC)
				src_fail(m, TLI_GOMEM_SRC_GOAL, "%s", m->raw.why[TLI_GOMEM_SRC_GCC]);
		}
	if (src_ok(m, TLI_GOMEM_SRC_MCACHES)) {
		*allp_arr = tli_rd64(allp_hdr);
		*allp_len = tli_rd64(allp_hdr + 8);
	}
	return NULL;
}

/* rounds 2-5: allp[], each p.mcache, each mcache, each span it caches */
static struct tli_error *capture_mcaches(struct tli_gomem *m, uint64_t arr, uint64_t len)
{
	struct ml *L = &m->L;
	struct tli_target *t = m->s->target;
	enum tli_gomem_src S = TLI_GOMEM_SRC_MCACHES;
	if (len > MAX_PS || (len && !tli_target_plausible(t, arr, len * 8))) {
		src_fail(m, S, "runtime.allp is implausible (array 0x%" PRIx64 ", len %" PRIu64 ")", arr, len);
		return NULL;
	}
	size_t n = (size_t)len, nsc = L->nspanclasses, mcl = L->mc_hi - L->mc_lo, spl = L->sp_hi - L->sp_lo;
	uint64_t *ps = calloc(n + 1, 8), *mcs = calloc(n + 1, 8);
	struct tli_read *rs = calloc(n * nsc + 1, sizeof(*rs));
	m->mcbuf = calloc(n + 1, mcl);
	m->spbuf = calloc(n * nsc + 1, spl);
	m->spgot = calloc(n * nsc + 1, sizeof(bool));
	struct tli_error *err = NULL;
	if (!ps || !mcs || !rs || !m->mcbuf || !m->spbuf || !m->spgot) {
		err = &tli_enomem;
		goto out;
	}
	if (n && (err = tli_target_read(t, arr, ps, n * 8))) {
		src_fail(m, S, "runtime.allp's array: %s", err->msg);
		tli_error_destroy(err);
		err = NULL;
		goto out;
	}
	/* each P's mcache pointer */
	for (size_t i = 0; i < n; i++) {
		if (!tli_target_plausible(t, ps[i], L->p_mcache.off + 8)) {
			src_fail(m, S, "allp[%zu] = 0x%" PRIx64 " is not a readable P", i, ps[i]);
			goto out;
		}
		rs[i] = (struct tli_read){ .addr = ps[i] + L->p_mcache.off, .buf = &mcs[i], .len = 8 };
	}
	if (n && (err = tli_target_read_many(t, rs, n)))
		goto out;
	/* each mcache (a P without one has nothing cached) */
	size_t nr = 0;
	for (size_t i = 0; i < n; i++) {
		if (rs[i].got < 8) {
			src_fail(m, S, "allp[%zu].mcache unreadable", i);
			goto out;
		}
		if (!mcs[i])
			continue;
		rs[nr++] = (struct tli_read){ .addr = mcs[i] + L->mc_lo, .buf = m->mcbuf + m->nmc * mcl, .len = mcl };
		m->nmc++;
	}
	if (nr && (err = tli_target_read_many(t, rs, nr)))
		goto out;
	for (size_t i = 0; i < nr; i++)
		if (rs[i].got < rs[i].len) {
			src_fail(m, S, "mcache at 0x%" PRIx64 " unreadable", rs[i].addr - L->mc_lo);
			goto out;
		}
	/* the spans they cache (&emptymspan has both counts 0) */
	nr = 0;
	for (size_t i = 0; i < m->nmc; i++)
		for (size_t c = 0; c < nsc; c++) {
			const uint8_t *mc = m->mcbuf + i * mcl;
			uint64_t sp = tli_rd64(mc + L->mc_alloc.off - L->mc_lo + c * 8);
			if (!sp || !tli_target_plausible(t, sp + L->sp_lo, spl))
				continue;
			rs[nr++] = (struct tli_read){ .addr = sp + L->sp_lo, .buf = m->spbuf + (i * nsc + c) * spl,
						      .len = spl };
		}
	if (nr && !(err = tli_target_read_many(t, rs, nr)))
		for (size_t i = 0; i < nr; i++) /* the slot is where its copy goes */
			m->spgot[((uint8_t *)rs[i].buf - m->spbuf) / spl] = rs[i].got == rs[i].len;
out:
	free(ps);
	free(mcs);
	free(rs);
	return err;
}

struct tli_error *tli_gomem_capture(struct tli_gomem *m)
{
	uint64_t arr = 0, len = 0;
	struct tli_error *err = capture_globals(m, &arr, &len);
	if (!err && src_ok(m, TLI_GOMEM_SRC_MCACHES))
		err = capture_mcaches(m, arr, len);
	return err;
}

/* ---- after the release: sums of the copies ---- */

static void decode_heapstats(struct tli_gomem *m)
{
	struct ml *L = &m->L;
	struct tli_gomem_raw *r = &m->raw;
	int64_t *sig[] = { &r->committed, &r->released, &r->in_heap, &r->in_stacks, &r->in_workbufs };
	uint64_t *uns[] = { &r->tiny, &r->large_alloc, &r->large_alloc_count, &r->large_free, &r->large_free_count };
	for (uint32_t k = 0; k < L->nshards; k++) {
		const uint8_t *d = m->msbuf + (L->stats.off - m->ms_off) + (size_t)k * L->delta_size;
		for (int i = D_COMMITTED; i <= D_INWORKBUFS; i++)
			*sig[i - D_COMMITTED] += rds(d + L->d[i].off, L->d[i].size);
		for (int i = D_TINY; i <= D_LARGEFREECOUNT; i++)
			*uns[i - D_TINY] += RD(d, L->d[i]);
		if (L->has_ptrscalar)
			r->in_ptrscalar += rds(d + L->ptrscalar.off, L->ptrscalar.size);
		for (uint32_t c = 0; c < r->nclasses; c++) {
			r->small_alloc[c] += tli_rd64(d + L->d[D_SMALLALLOC].off + c * 8);
			r->small_free[c] += tli_rd64(d + L->d[D_SMALLFREE].off + c * 8);
		}
	}
}

static void decode_sizes(struct tli_gomem *m)
{
	struct tli_gomem_raw *r = &m->raw;
	for (uint32_t c = 0; c < r->nclasses; c++) {
		r->sizes[c] = (uint64_t)m->sizes[2 * c] | (uint64_t)m->sizes[2 * c + 1] << 8;
		/* class 0 is "large" (size 0); sizes rise strictly */
		if ((c == 0 && r->sizes[c]) || (c > 0 && r->sizes[c] <= r->sizes[c - 1])) {
			src_fail(m, TLI_GOMEM_SRC_SIZES, "the size class table at 0x%" PRIx64 " is not one "
				 "(class %u: %" PRIu64 ")", m->L.sizes, c, r->sizes[c]);
			return;
		}
	}
}

/* what releaseAll would add: each cached span's allocCount - allocCountBeforeCache, tinyAllocs */
static void decode_mcaches(struct tli_gomem *m)
{
	struct ml *L = &m->L;
	struct tli_gomem_raw *r = &m->raw;
	size_t nsc = L->nspanclasses, mcl = L->mc_hi - L->mc_lo, spl = L->sp_hi - L->sp_lo;
	for (size_t i = 0; i < m->nmc; i++) {
		const uint8_t *mc = m->mcbuf + i * mcl;
		r->pend_tiny += tli_rdn(mc + L->mc_tiny.off - L->mc_lo, L->mc_tiny.size);
		for (size_t c = 0; c < nsc; c++) {
			uint64_t sp = tli_rd64(mc + L->mc_alloc.off - L->mc_lo + c * 8);
			if (!sp)
				continue;
			if (!m->spgot[i * nsc + c]) {
				src_fail(m, TLI_GOMEM_SRC_MCACHES, "span 0x%" PRIx64 " cached by an mcache is unreadable", sp);
				return;
			}
			const uint8_t *s = m->spbuf + (i * nsc + c) * spl - L->sp_lo;
			uint64_t cnt = RD(s, L->sp_count), before = RD(s, L->sp_before), elem = RD(s, L->sp_elemsize);
			uint32_t cls = (uint32_t)(c >> 1); /* spanClass = sizeclass<<1 | noscan */
			if (cnt < before || cls >= r->nclasses) {
				src_fail(m, TLI_GOMEM_SRC_MCACHES, "span 0x%" PRIx64 " cached by an mcache is implausible "
					 "(allocCount %" PRIu64 " < allocCountBeforeCache %" PRIu64 ")", sp, cnt, before);
				return;
			}
			r->pend_small[cls] += cnt - before;
			r->pend_bytes += (cnt - before) * elem;
		}
	}
}

static void decode(struct tli_gomem *m)
{
	struct ml *L = &m->L;
	struct tli_gomem_raw *r = &m->raw;
	if (m->decoded)
		return;
	m->decoded = true;
	if (!m->msbuf) {
		src_fail(m, TLI_GOMEM_SRC_HEAPSTATS, "not captured");
		src_fail(m, TLI_GOMEM_SRC_MSTATS, "not captured");
	}
	if (src_ok(m, TLI_GOMEM_SRC_HEAPSTATS))
		decode_heapstats(m);
	if (src_ok(m, TLI_GOMEM_SRC_MSTATS)) {
		const uint8_t *b = m->msbuf - m->ms_off;
		uint64_t *out[M__N] = { &r->stacks_sys, &r->mspan_sys, &r->mcache_sys, &r->buckhash_sys, &r->gcmisc_sys,
					&r->other_sys, &r->last_gc_unix, &r->pause_total_ns, &r->numgc, &r->numforcedgc };
		for (int i = 0; i < M__N; i++)
			*out[i] = RD(b, L->ms[i]);
	}
	if (m->gccbuf) {
		const uint8_t *b = m->gccbuf;
		r->gc_percent = rds(b + L->c[C_PERCENT].off, L->c[C_PERCENT].size);
		r->memory_limit = rds(b + L->c[C_LIMIT].off, L->c[C_LIMIT].size);
		uint64_t *out[C__N] = { NULL, NULL, &r->heap_inuse, &r->heap_free, &r->heap_released, &r->total_alloc,
					&r->total_free, &r->mapped_ready, &r->pct_goal, &r->sweep_dist, &r->triggered,
					&r->heap_marked };
		for (int i = C_INUSE; i < C__N; i++)
			if (L->c[i].size)
				*out[i] = RD(b, L->c[i]);
	} else {
		src_fail(m, TLI_GOMEM_SRC_GCC, "not captured");
		src_fail(m, TLI_GOMEM_SRC_GOAL, "not captured");
	}
	if (src_ok(m, TLI_GOMEM_SRC_MHEAP)) {
		r->spanalloc_inuse = tli_rd64(m->mh[0]);
		r->cachealloc_inuse = tli_rd64(m->mh[1]);
	}
	if (src_ok(m, TLI_GOMEM_SRC_SIZES))
		decode_sizes(m);
	if (src_ok(m, TLI_GOMEM_SRC_MCACHES) && (!m->mcbuf || !m->spgot))
		src_fail(m, TLI_GOMEM_SRC_MCACHES, "not captured");
	if (src_ok(m, TLI_GOMEM_SRC_MCACHES))
		decode_mcaches(m);
}

const struct tli_gomem_raw *tli_gomem_raw(struct tli_gomem *m)
{
	decode(m);
	return &m->raw;
}

void tli_gomem_json(struct tli_gomem *m, json_t *go)
{
	struct tli_gomem_stats st;
	tli_gomem_compute(tli_gomem_raw(m), &st);
	json_t *o = json_object(), *un = json_array();
	for (int f = 0; f < TLI_GOMEM__N; f++) {
		if (st.ok[f]) {
			json_object_set_new(o, tli_gomem_names[f], json_integer((json_int_t)st.v[f]));
			continue;
		}
		json_t *u = json_object();
		json_object_set_new(u, "field", json_string(tli_gomem_names[f]));
		json_object_set_new(u, "reason", json_string(st.why[f]));
		json_array_append_new(un, u);
	}
	json_object_set_new(go, "memstats", o);
	json_object_set_new(go, "memstats_unreadable", un);
}
