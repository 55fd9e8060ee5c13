/* SPDX-License-Identifier: MIT */
/**
 * @file target.c
 * Generic target layer: reads, the capture (snapshot) discipline, lookups.
 *
 * The capture is a sorted array of non-overlapping extents, each with its own
 * buffer. Extents may touch; reads that span touching extents are served
 * piecewise. New captures only read the holes that are not captured yet, so
 * extents never overlap.
 */
#include "target.h"

#include "bigbuf.h"
#include "bytes.h"
#include "spans.h"
#include "search.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CAPTURE_DEFAULT_GAP 4096u
/* Large merged ranges are split into chunks of this size (one buffer each). */
#define CAPTURE_CHUNK (256ull << 20)
/* Bytes one capture call may ask the backend for (hostile lengths stay bounded). */
#define CAPTURE_MAX_TOTAL (64ull << 30)

struct extent {
	uint64_t addr;
	uint64_t len;
	unsigned char *data;
	bool owned;            /* data is its own malloc block (else part of a slab) */
};

/* One populated mapping that many small extents are carved from: a capture of
 * 100k stack windows is then one mmap, not 100k mallocs and page faults taken
 * one by one while the target is stopped. */
struct slab {
	void *base;
	size_t len;
};

/* Memory reserved (allocated and pre-faulted) for [addr, addr+len) before the
 * stop; captures of bytes inside it are read straight into it. */
struct resv {
	uint64_t addr, len;
	unsigned char *base;
};

struct tli_capture {
	struct extent *ext;
	size_t n, cap;
	uint64_t bytes;
	struct slab *slabs;
	size_t nslabs;
	struct slab spare;     /* pre-faulted before the stop for the next slab (tli_target_reserve_slab) */
	struct resv *resv;     /* sorted by addr, non-overlapping */
	size_t nresv;
	uint64_t resv_bytes;
	/* reservations are pre-faulted by a thread while the caller goes on with
	 * its own preparation (layouts, symbols); joined before the stop */
	pthread_t populator;
	bool populating;
	struct resv *topopulate;
	size_t ntopopulate;
};

/* Holes at least this large in total are read into one pre-faulted slab. */
#define SLAB_MIN (1u << 20)

/* ------------------------------------------------------------------ */
/* capture lookups                                                     */

/* Index of the last extent with addr <= a, or (size_t)-1. */
static size_t cap_floor(const struct tli_capture *c, uint64_t a)
{
	if (!c || !c->n || c->ext[0].addr > a)
		return (size_t)-1;
	/* the last extent starting at or below a */
	return tli_upper_bound(c->n, k, c->ext[k].addr > a) - 1;
}

/* Copy the captured prefix of [addr, addr+len) into buf; returns bytes copied. */
static size_t cap_copy(const struct tli_capture *c, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;
	size_t i = cap_floor(c, addr);
	if (i == (size_t)-1)
		return 0;
	while (done < len && i < c->n) {
		const struct extent *e = &c->ext[i];
		uint64_t a = addr + done;
		if (a < e->addr || a - e->addr >= e->len)
			break;
		uint64_t off = a - e->addr;
		uint64_t avail = e->len - off;
		size_t take = (size_t)(avail < len - done ? avail : len - done);
		if (buf)
			memcpy((unsigned char *)buf + done, e->data + off, take);
		done += take;
		i++; /* next extent must start exactly where this one ends */
	}
	return done;
}

const void *tli_target_captured_ptr(struct tli_target *t, uint64_t addr, uint64_t len)
{
	if (!t || !t->capture || !len || addr + len < addr)
		return NULL;
	const struct tli_capture *c = t->capture;
	size_t i = cap_floor(c, addr);
	if (i == (size_t)-1)
		return NULL;
	const struct extent *e = &c->ext[i];
	if (addr - e->addr >= e->len)
		return NULL;
	const unsigned char *p = e->data + (addr - e->addr);
	/* following extents must continue both the addresses and the memory */
	uint64_t have = e->len - (addr - e->addr);
	while (have < len) {
		if (++i >= c->n)
			return NULL;
		const struct extent *f = &c->ext[i];
		if (f->addr != e->addr + e->len || f->data != e->data + e->len)
			return NULL;
		have += f->len;
		e = f;
	}
	return p;
}

const void *tli_target_mapped_ptr(struct tli_target *t, uint64_t addr, uint64_t len)
{
	if (!t || !t->ops || !t->ops->mapped_ptr || !len || addr + len < addr)
		return NULL;
	return t->ops->mapped_ptr(t, addr, len);
}

uint64_t tli_target_bytes_read(struct tli_target *t)
{
	if (!t)
		return 0;
	return t->bytes_read + (t->ops && t->ops->mapped_bytes ? t->ops->mapped_bytes(t) : 0);
}

void tli_target_mapped_drop(struct tli_target *t, const void *p, uint64_t len)
{
	if (t && t->ops && t->ops->mapped_drop && p && len)
		t->ops->mapped_drop(t, p, len);
}

bool tli_target_captured(struct tli_target *t, uint64_t addr, uint64_t len)
{
	if (!t || !t->capture)
		return false;
	if (len == 0)
		return true;
	if (addr + len < addr)
		return false;
	/* walk without copying; bounded by the extent count */
	uint64_t done = 0;
	size_t i = cap_floor(t->capture, addr);
	if (i == (size_t)-1)
		return false;
	while (done < len && i < t->capture->n) {
		const struct extent *e = &t->capture->ext[i];
		uint64_t a = addr + done;
		if (a < e->addr || a - e->addr >= e->len)
			return false;
		uint64_t avail = e->len - (a - e->addr);
		done += avail < len - done ? avail : len - done;
		i++;
	}
	return done == len;
}

/* ------------------------------------------------------------------ */
/* backend calls with statistics                                       */

static struct tli_error *backend_read(struct tli_target *t, struct tli_read *reads, size_t n)
{
	if (!n)
		return NULL;
	if (!t->ops || !t->ops->read_many)
		return tli_error_create(TLI_E_INTERNAL, "target has no read operation");
	t->read_calls++;
	struct tli_error *err = t->ops->read_many(t, reads, n);
	for (size_t i = 0; i < n; i++)
		t->bytes_read += reads[i].got;
	return err;
}

static void *populate_main(void *arg)
{
	struct tli_capture *c = arg;
	for (size_t i = 0; i < c->ntopopulate; i++)
		tli_big_populate(c->topopulate[i].base, c->topopulate[i].len);
	return NULL;
}

/* Wait until the reservations are pre-faulted. */
static void resv_join(struct tli_capture *c)
{
	if (!c || !c->populating)
		return;
	pthread_join(c->populator, NULL);
	c->populating = false;
	free(c->topopulate);
	c->topopulate = NULL;
	c->ntopopulate = 0;
}

/* A copy of the error the deferred stop ended with. */
static struct tli_error *stop_failure(const struct tli_target *t)
{
	struct tli_error *e = tli_error_create(t->stop_error->code, "%s", t->stop_error->msg);
	if (e != &tli_enomem)
		e->err_no = t->stop_error->err_no;
	return e;
}

struct tli_error *tli_target_stop(struct tli_target *t)
{
	if (t && t->stop_error)
		return stop_failure(t);
	if (!t || !t->stop_deferred || t->released || !t->ops->stop)
		return NULL;
	resv_join(t->capture); /* no page of the capture is faulted in while stopped */
	t->stop_deferred = false;
	struct tli_error *err = t->ops->stop(t);
	if (err) { /* remembered: a caller that drops it must not hide it */
		t->stop_error = tli_error_create(err->code, "%s", err->msg);
		if (t->stop_error != &tli_enomem)
			t->stop_error->err_no = err->err_no;
	}
	return err;
}

struct tli_error *tli_target_peek_many(struct tli_target *t, struct tli_read *reads, size_t n)
{
	if (!t || !t->stop_deferred || t->released)
		return t ? tli_target_read_many(t, reads, n) : tli_error_create(TLI_E_INTERNAL, "read from a NULL target");
	if (!t->ops || !t->ops->read_many)
		return tli_error_create(TLI_E_INTERNAL, "target has no read operation");
	for (size_t i = 0; i < n; i++)
		reads[i].got = 0, reads[i].err = 0;
	return t->ops->read_many(t, reads, n);
}

struct tli_error *tli_target_read_many(struct tli_target *t, struct tli_read *reads, size_t n)
{
	if (t->stop_deferred) {
		struct tli_error *serr = tli_target_stop(t);
		if (serr)
			return serr;
	}
	if (!t)
		return tli_error_create(TLI_E_INTERNAL, "read from a NULL target");
	for (size_t i = 0; i < n; i++) {
		reads[i].got = 0;
		reads[i].err = 0;
	}
	if (t->kind == TLI_TARGET_CORE)
		return backend_read(t, reads, n);

	size_t pending = 0;
	for (size_t i = 0; i < n; i++) {
		struct tli_read *r = &reads[i];
		if (!r->len)
			continue;
		if (r->addr + r->len < r->addr) {
			r->err = EFAULT;
			continue;
		}
		size_t got = t->capture ? cap_copy(t->capture, r->addr, r->buf, r->len) : 0;
		if (got == r->len) {
			r->got = got;
		} else if (t->released && !(t->forked && tli_target_mapped_ptr(t, r->addr, r->len))) {
			r->got = got;
			r->err = EFAULT;
		} else {
			pending++; /* stopped; or --snapshot=fork, bytes left to read from the frozen copy */
		}
	}
	if (!pending)
		return NULL;
	if (pending == n)
		return backend_read(t, reads, n);

	struct tli_read *sub = malloc(pending * sizeof(*sub));
	if (!sub)
		return &tli_enomem;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (reads[i].len && !reads[i].err && reads[i].got != reads[i].len)
			sub[k++] = reads[i];
	struct tli_error *err = backend_read(t, sub, k);
	k = 0;
	for (size_t i = 0; i < n && k < pending; i++)
		if (reads[i].len && !reads[i].err && reads[i].got != reads[i].len) {
			reads[i].got = sub[k].got;
			reads[i].err = sub[k].err;
			k++;
		}
	free(sub);
	return err;
}

struct tli_error *tli_target_read(struct tli_target *t, uint64_t addr, void *buf, size_t len)
{
	if (!len)
		return NULL;
	struct tli_read r = { .addr = addr, .buf = buf, .len = len };
	struct tli_error *err = tli_target_read_many(t, &r, 1);
	if (err)
		return tli_error_wrap(err, "reading %zu bytes at 0x%" PRIx64, len, addr);
	if (r.got == len)
		return NULL;
	uint64_t bad = addr + r.got;
	struct tli_error *e;
	if (t->kind == TLI_TARGET_CORE && r.err == ENODATA)
		e = tli_error_create(TLI_E_BAD_FORMAT, "core file %s is truncated: the bytes at 0x%" PRIx64
				     " (needed for %zu bytes at 0x%" PRIx64 ") lie beyond its end",
				     t->core_path ? t->core_path : "", bad, len, addr),
		e->addr = bad;
	else if (t->kind == TLI_TARGET_LIVE && t->released)
		e = tli_error_fault(bad, "address 0x%" PRIx64 " was not captured while the target was "
				    "stopped (reading %zu bytes at 0x%" PRIx64 ")", bad, len, addr);
	else
		e = tli_error_fault(bad, "cannot read %zu bytes at 0x%" PRIx64
				    " (unreadable from 0x%" PRIx64 "): %s",
				    len, addr, bad, strerror(r.err ? r.err : EFAULT));
	if (e != &tli_enomem)
		e->err_no = r.err ? r.err : EFAULT;
	return e;
}

struct tli_error *tli_target_read_u64(struct tli_target *t, uint64_t addr, uint64_t *ret)
{
	unsigned char b[8];
	struct tli_error *err = tli_target_read(t, addr, b, sizeof(b));
	if (err)
		return err;
	*ret = tli_rd64(b);
	return NULL;
}

struct tli_error *tli_target_read_u32(struct tli_target *t, uint64_t addr, uint32_t *ret)
{
	unsigned char b[4];
	struct tli_error *err = tli_target_read(t, addr, b, sizeof(b));
	if (err)
		return err;
	*ret = (uint32_t)tli_rdn(b, 4);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* capture                                                             */

/* Index of the first mapping whose end > a (maps sorted, non-overlapping). */
static size_t map_lower(const struct tli_target *t, uint64_t a)
{
	return tli_partition_point(t->nmaps, k, t->maps[k].end <= a);
}

/* Intersect spans with readable mappings (touching pieces coalesce). */
static bool spans_clip_to_maps(const struct tli_target *t, const struct tli_spans *in, struct tli_spans *out)
{
	for (size_t i = 0; i < in->n; i++) {
		uint64_t a = in->v[i].a, b = in->v[i].b;
		for (size_t m = map_lower(t, a); m < t->nmaps && t->maps[m].start < b; m++) {
			const struct tli_mapping *mp = &t->maps[m];
			if (!(mp->prot & TLI_PROT_R))
				continue;
			uint64_t pa = a > mp->start ? a : mp->start;
			uint64_t pb = b < mp->end ? b : mp->end;
			if (!tli_spans_push(out, pa, pb))
				return false;
		}
	}
	return true;
}

/* Parts of the spans not yet captured, split into chunks <= CAPTURE_CHUNK (*cut: some
 * were left out, the budget being spent). */
static bool spans_holes(const struct tli_capture *c, const struct tli_spans *in, struct tli_spans *out, bool *cut)
{
	*cut = false;
	uint64_t budget = CAPTURE_MAX_TOTAL;
	for (size_t i = 0; i < in->n && budget; i++) {
		uint64_t a = in->v[i].a, b = in->v[i].b;
		size_t e = cap_floor(c, a);
		e = e == (size_t)-1 ? 0 : e;
		while (a < b) {
			while (c && e < c->n && c->ext[e].addr + c->ext[e].len <= a)
				e++;
			uint64_t hole_end = b;
			if (c && e < c->n && c->ext[e].addr <= a) { /* a is captured */
				a = c->ext[e].addr + c->ext[e].len;
				continue;
			}
			if (c && e < c->n && c->ext[e].addr < b)
				hole_end = c->ext[e].addr;
			while (a < hole_end) {
				if (!budget) {
					*cut = true;
					return true; /* the rest stays uncaptured (counted as failed) */
				}
				uint64_t ce = hole_end - a > CAPTURE_CHUNK ? a + CAPTURE_CHUNK : hole_end;
				if (ce - a > budget)
					ce = a + budget;
				budget -= ce - a;
				if (!tli_vec_push(out, ((struct tli_span){ a, ce })))
					return false;
				a = ce;
			}
		}
	}
	return true;
}

static int ext_cmp(const void *x, const void *y)
{
	const struct extent *p = x, *q = y;
	return p->addr < q->addr ? -1 : p->addr > q->addr;
}

/* Reservation containing a, or NULL; *next: start of the first reservation above a. */
static const struct resv *resv_at(const struct tli_capture *c, uint64_t a, uint64_t *next)
{
	size_t lo = tli_upper_bound(c->nresv, k, c->resv[k].addr > a); /* first reservation above a */
	*next = lo < c->nresv ? c->resv[lo].addr : UINT64_MAX;
	if (lo && a - c->resv[lo - 1].addr < c->resv[lo - 1].len)
		return &c->resv[lo - 1];
	return NULL;
}

/* Where a hole's bytes go: reserved memory, the call's slab, or their own malloc block. */
enum { MEM_RESV, MEM_SLAB, MEM_MALLOC };

/* Read the given holes with one backend call and add what was read to the capture
 * (*whole: every byte of every hole was read). */
static struct tli_error *capture_holes(struct tli_target *t, const struct tli_spans *holes, bool *whole)
{
	*whole = false;
	if (!holes->n) {
		*whole = true;
		return NULL;
	}
	struct tli_capture *c = t->capture;
	resv_join(c);
	/* split the holes at reservation boundaries */
	size_t cap = holes->n + 2 * c->nresv;
	struct tli_read *reads = calloc(cap, sizeof(*reads));
	unsigned char *mem = calloc(cap, 1);
	if (!reads || !mem) {
		free(reads);
		free(mem);
		return &tli_enomem;
	}
	size_t nr = 0;
	uint64_t plain = 0;
	bool planned_all = true;
	for (size_t i = 0; i < holes->n; i++) {
		uint64_t a = holes->v[i].a, b = holes->v[i].b;
		while (a < b && nr < cap) {
			uint64_t next;
			const struct resv *r = resv_at(c, a, &next);
			uint64_t e = r ? (r->addr + r->len < b ? r->addr + r->len : b) : (next < b ? next : b);
			reads[nr] = (struct tli_read){ .addr = a, .len = e - a,
						       .buf = r ? r->base + (a - r->addr) : NULL };
			mem[nr] = r ? MEM_RESV : MEM_SLAB;
			if (!r)
				plain += e - a;
			nr++;
			a = e;
		}
		planned_all = planned_all && a >= b;
	}
	unsigned char *slab = NULL;
	if (plain >= SLAB_MIN) {
		struct slab *ns = realloc(c->slabs, (c->nslabs + 1) * sizeof(*ns));
		if (ns) {
			c->slabs = ns;
			/* the spare was faulted in before the stop; a fresh slab is faulted now */
			bool spare = c->spare.base && c->spare.len >= plain;
			void *m = spare ? c->spare.base : tli_big_alloc(plain);
			if (m) {
				slab = m;
				c->slabs[c->nslabs++] = (struct slab){ m, spare ? c->spare.len : plain };
				if (spare)
					c->spare = (struct slab){ 0 };
			}
		}
	}
	uint64_t off = 0;
	size_t k = 0;
	/* every hole planned (none cut at cap) and none dropped for want of memory */
	size_t cap_whole = planned_all ? nr : SIZE_MAX;
	for (size_t i = 0; i < nr; i++) {
		if (mem[i] != MEM_RESV) {
			if (slab) {
				reads[i].buf = slab + off;
				off += reads[i].len;
			} else {
				reads[i].buf = malloc(reads[i].len);
				mem[i] = MEM_MALLOC;
				if (!reads[i].buf)
					continue; /* not captured; counted as failed by the caller */
			}
		}
		reads[k] = reads[i];
		mem[k] = mem[i];
		k++;
	}
	nr = k;
	struct tli_error *err = backend_read(t, reads, nr);
	if (err) {
		for (size_t i = 0; i < nr; i++)
			if (mem[i] == MEM_MALLOC)
				free(reads[i].buf);
		free(reads);
		free(mem);
		return err;
	}
	size_t add = 0;
	*whole = k == cap_whole;
	for (size_t i = 0; i < nr; i++) {
		if (reads[i].got)
			add++;
		*whole = *whole && reads[i].got == reads[i].len;
	}
	if (c->n + add > c->cap) {
		size_t nc = c->cap ? c->cap : 16;
		while (nc < c->n + add)
			nc *= 2;
		struct extent *ne = realloc(c->ext, nc * sizeof(*ne));
		if (!ne) {
			for (size_t i = 0; i < nr; i++)
				if (mem[i] == MEM_MALLOC)
					free(reads[i].buf);
			free(reads);
			free(mem);
			return &tli_enomem;
		}
		c->ext = ne;
		c->cap = nc;
	}
	size_t old_n = c->n;
	for (size_t i = 0; i < nr; i++) {
		bool owned = mem[i] == MEM_MALLOC;
		if (!reads[i].got) {
			if (owned)
				free(reads[i].buf);
			continue;
		}
		unsigned char *data = reads[i].buf;
		if (owned && reads[i].got < reads[i].len) {
			unsigned char *shrunk = realloc(data, reads[i].got);
			if (shrunk)
				data = shrunk;
		}
		c->ext[c->n++] = (struct extent){ reads[i].addr, reads[i].got, data, owned };
		c->bytes += reads[i].got;
	}
	free(reads);
	free(mem);
	/* new extents are sorted among themselves (holes were sorted): when they all lie
	 * above the old ones (always on the first capture) the array is sorted already;
	 * else qsort of an almost-sorted array (a merge would need scratch space anyway) */
	if (c->n != old_n && old_n && c->ext[old_n].addr < c->ext[old_n - 1].addr)
		qsort(c->ext, c->n, sizeof(*c->ext), ext_cmp);
	return NULL;
}

/* How many of the sorted spans are not wholly captured: one walk along the extents
 * (a lookup per span costs ~5 ms for 100k stack windows while the target is stopped). */
static size_t count_uncaptured(const struct tli_capture *c, const struct tli_spans *req)
{
	size_t failed = 0, e = 0;
	for (size_t i = 0; i < req->n; i++) {
		uint64_t a = req->v[i].a, b = req->v[i].b;
		while (e < c->n && c->ext[e].addr + c->ext[e].len <= a)
			e++; /* spans are sorted by start: extents ending at or before a serve no later span */
		uint64_t at = a;
		for (size_t j = e; at < b && j < c->n && c->ext[j].addr <= at; j++)
			at = c->ext[j].addr + c->ext[j].len; /* extents never overlap: ext[j] holds at */
		failed += at < b;
	}
	return failed;
}

struct tli_error *tli_target_capture(struct tli_target *t, const struct tli_range *ranges,
				     size_t n, uint64_t gap, size_t *nfailed)
{
	if (t->stop_deferred) {
		struct tli_error *serr = tli_target_stop(t);
		if (serr)
			return serr;
	}
	if (nfailed)
		*nfailed = 0;
	if (!t)
		return tli_error_create(TLI_E_INTERNAL, "capture on a NULL target");
	if (t->kind == TLI_TARGET_CORE || !n)
		return NULL;
	if (t->stop_error)
		return stop_failure(t);
	if (t->released)
		return tli_error_create(TLI_E_INTERNAL,
					"capture after the target was released (pid %d)", t->pid);
	if (!gap)
		gap = CAPTURE_DEFAULT_GAP;
	if (!t->capture) {
		t->capture = calloc(1, sizeof(*t->capture));
		if (!t->capture)
			return &tli_enomem;
	}

	struct tli_spans req = { 0 }, merged = { 0 }, exact = { 0 }, clipped = { 0 }, holes = { 0 };
	struct tli_error *err = NULL;
	if (!tli_spans_from_ranges(ranges, n, &req)) {
		err = &tli_enomem;
		goto out;
	}

	/* merged (gap) and exact versions of the requested ranges */
	if (!tli_spans_merge(&req, gap, &merged) || !tli_spans_merge(&req, 0, &exact)) {
		err = &tli_enomem;
		goto out;
	}
	/* pass 0: merged (gap) ranges; pass 1: requested bytes still missing (a
	 * fault inside a merged range ends that iovec), read exactly once more.
	 * Both within readable mappings when they are known. */
	for (int pass = 0; pass < 2; pass++) {
		const struct tli_spans *want = pass ? &exact : &merged;
		if (t->nmaps) {
			clipped.n = 0;
			if (!spans_clip_to_maps(t, want, &clipped)) {
				err = &tli_enomem;
				goto out;
			}
			want = &clipped;
		}
		holes.n = 0;
		bool cut = false, whole = false;
		if (!spans_holes(t->capture, want, &holes, &cut)) {
			err = &tli_enomem;
			goto out;
		}
		err = capture_holes(t, &holes, &whole);
		if (err)
			goto out;
		/* every merged range read in full holds every requested byte within the
		 * mappings: pass 1 would find no hole (100k stack windows: ~5 ms stopped) */
		if (whole && !cut)
			break;
	}

	if (nfailed)
		*nfailed = count_uncaptured(t->capture, &req);
out:
	free(req.v);
	free(merged.v);
	free(exact.v);
	free(clipped.v);
	free(holes.v);
	return err;
}

size_t tli_target_adopt(struct tli_target *t, const struct tli_read *v, size_t n, void *mem, size_t mem_len,
			bool *adopted)
{
	for (size_t i = 0; i < n; i++)
		adopted[i] = false;
	if (!t || t->kind != TLI_TARGET_LIVE || t->stop_deferred || t->released || t->stop_error) {
		if (mem)
			tli_big_free(mem, mem_len);
		return 0;
	}
	if (!t->capture && !(t->capture = calloc(1, sizeof(*t->capture)))) {
		if (mem)
			tli_big_free(mem, mem_len);
		return 0;
	}
	struct tli_capture *c = t->capture;
	resv_join(c);
	if (mem) { /* the capture owns it from now on */
		struct slab *ns = realloc(c->slabs, (c->nslabs + 1) * sizeof(*ns));
		if (!ns) {
			tli_big_free(mem, mem_len);
			return 0;
		}
		c->slabs = ns;
		c->slabs[c->nslabs++] = (struct slab){ mem, mem_len };
	}
	/* which entries: ascending, disjoint, not captured already (one walk along the extents) */
	size_t take = 0, e = 0;
	uint64_t prev_end = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t a = v[i].addr, b = a + v[i].len;
		if (!v[i].len || b < a || v[i].got != v[i].len || a < prev_end || !v[i].buf)
			continue;
		while (e < c->n && c->ext[e].addr + c->ext[e].len <= a)
			e++;
		if (e < c->n && c->ext[e].addr < b)
			continue; /* overlaps a captured extent */
		adopted[i] = true;
		prev_end = b;
		take++;
	}
	if (!take)
		return 0;
	/* merge the two sorted extent lists into a new array */
	struct extent *ne = malloc((c->n + take) * sizeof(*ne));
	if (!ne) {
		for (size_t i = 0; i < n; i++)
			adopted[i] = false;
		return 0;
	}
	size_t k = 0, i = 0, j = 0;
	while (i < c->n || j < n) {
		while (j < n && !adopted[j])
			j++;
		if (j < n && (i >= c->n || v[j].addr < c->ext[i].addr)) {
			ne[k++] = (struct extent){ v[j].addr, v[j].len, v[j].buf, false };
			c->bytes += v[j].len;
			t->bytes_adopted += v[j].len;
			j++;
		} else if (i < c->n) {
			ne[k++] = c->ext[i++];
		}
	}
	free(c->ext);
	c->ext = ne;
	c->n = c->cap = k;
	return take;
}

/* ------------------------------------------------------------------ */
/* reservation (before the stop)                                       */

/* Spans below this are not worth an mmap of their own: they are captured into the
 * call's slab. */
#define RESV_MIN (64u << 10)

static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return 0;
	char line[256];
	uint64_t kb = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %" SCNu64 " kB", &kb) == 1)
			break;
	fclose(f);
	return kb << 10;
}

uint64_t tli_target_reserve(struct tli_target *t, const struct tli_range *ranges, size_t n)
{
	if (!t || t->kind != TLI_TARGET_LIVE || t->released || !n)
		return 0;
	if (!t->capture) {
		t->capture = calloc(1, sizeof(*t->capture));
		if (!t->capture)
			return 0;
	}
	struct tli_capture *c = t->capture;
	resv_join(c); /* one populating thread at a time */
	struct tli_spans req = { 0 }, merged = { 0 }, clipped = { 0 };
	uint64_t done = 0;
	if (!tli_spans_from_ranges(ranges, n, &req))
		goto out;
	if (!tli_spans_merge(&req, 0, &merged))
		goto out;
	const struct tli_spans *want = &merged;
	if (t->nmaps) {
		if (!spans_clip_to_maps(t, &merged, &clipped))
			goto out;
		want = &clipped;
	}
	uint64_t avail = mem_available() / 2;
	uint64_t budget = avail > c->resv_bytes ? avail - c->resv_bytes : 0;
	if (budget > CAPTURE_MAX_TOTAL)
		budget = CAPTURE_MAX_TOTAL;
	for (size_t i = 0; i < want->n; i++) {
		uint64_t a = want->v[i].a, b = want->v[i].b;
		while (a < b) { /* the parts not reserved yet */
			uint64_t next;
			const struct resv *r = resv_at(c, a, &next);
			if (r) {
				a = r->addr + r->len;
				continue;
			}
			uint64_t e = next < b ? next : b;
			uint64_t len = e - a;
			if (len >= RESV_MIN && len <= budget) {
				void *m = tli_big_alloc_lazy(len);
				struct resv *nv = m ? realloc(c->resv, (c->nresv + 1) * sizeof(*nv)) : NULL;
				if (nv) {
					c->resv = nv;
					size_t at = c->nresv; /* keep them sorted */
					while (at && c->resv[at - 1].addr > a) {
						c->resv[at] = c->resv[at - 1];
						at--;
					}
					c->resv[at] = (struct resv){ a, len, m };
					c->nresv++;
					c->resv_bytes += len;
					struct resv *np = realloc(c->topopulate, (c->ntopopulate + 1) * sizeof(*np));
					if (np) {
						c->topopulate = np;
						c->topopulate[c->ntopopulate++] = (struct resv){ a, len, m };
					} else {
						tli_big_populate(m, len);
					}
					budget -= len;
					done += len;
				} else if (m) {
					tli_big_free(m, len);
				}
			}
			a = e;
		}
	}
	if (c->ntopopulate && !c->populating) {
		if (pthread_create(&c->populator, NULL, populate_main, c) == 0)
			c->populating = true;
		else
			populate_main(c), free(c->topopulate), c->topopulate = NULL, c->ntopopulate = 0;
	}
out:
	free(req.v);
	free(merged.v);
	free(clipped.v);
	return done;
}

uint64_t tli_target_reserve_slab(struct tli_target *t, uint64_t bytes)
{
	if (!t || t->kind != TLI_TARGET_LIVE || t->released || !t->stop_deferred || bytes < SLAB_MIN)
		return 0;
	if (!t->capture) {
		t->capture = calloc(1, sizeof(*t->capture));
		if (!t->capture)
			return 0;
	}
	struct tli_capture *c = t->capture;
	if (c->spare.base || bytes > mem_available() / 2 || bytes > CAPTURE_MAX_TOTAL)
		return 0;
	void *m = tli_big_alloc(bytes);
	if (!m)
		return 0;
	c->spare = (struct slab){ m, bytes };
	return bytes;
}

/* ------------------------------------------------------------------ */
/* release / destroy                                                   */

static double elapsed_ms(const struct timespec *from)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - from->tv_sec) * 1e3 + (double)(now.tv_nsec - from->tv_nsec) / 1e6;
}

void tli_target_release(struct tli_target *t)
{
	if (!t || t->released)
		return;
	bool was_stopped = t->stopped;
	if (t->ops && t->ops->release)
		t->ops->release(t);
	t->stopped = false;
	if (t->kind == TLI_TARGET_LIVE && was_stopped && !t->forked)
		t->pause_ms = elapsed_ms(&t->stop_begin);
	t->released = true;
}

void tli_target_destroy(struct tli_target *t)
{
	if (!t)
		return;
	if (t->kind == TLI_TARGET_LIVE)
		tli_target_release(t);
	if (t->ops && t->ops->destroy)
		t->ops->destroy(t);
	resv_join(t->capture);
	if (t->capture) {
		for (size_t i = 0; i < t->capture->n; i++)
			if (t->capture->ext[i].owned)
				free(t->capture->ext[i].data);
		for (size_t i = 0; i < t->capture->nslabs; i++)
			munmap(t->capture->slabs[i].base, t->capture->slabs[i].len);
		if (t->capture->spare.base)
			munmap(t->capture->spare.base, t->capture->spare.len);
		for (size_t i = 0; i < t->capture->nresv; i++)
			munmap(t->capture->resv[i].base, t->capture->resv[i].len);
		free(t->capture->slabs);
		free(t->capture->resv);
		free(t->capture->ext);
		free(t->capture);
	}
	for (size_t i = 0; i < t->nmaps; i++) {
		free(t->maps[i].path);
		free(t->maps[i].file);
	}
	free(t->maps);
	free(t->threads);
	free(t->exe_path);
	free(t->exe_name);
	free(t->root);
	free(t->core_path);
	tli_warnings_free(&t->warnings);
	tli_error_destroy(t->stop_error);
	free(t);
}

/* ------------------------------------------------------------------ */
/* lookups                                                             */

const char *tli_mapping_file(const struct tli_mapping *m)
{
	return m->file ? m->file : m->path;
}

const struct tli_mapping *tli_target_find_mapping(const struct tli_target *t, uint64_t addr)
{
	if (!t || !t->nmaps)
		return NULL;
	/* the last mapping starting at or below addr */
	size_t i = tli_upper_bound(t->nmaps, k, t->maps[k].start > addr);
	if (i == 0)
		return NULL;
	const struct tli_mapping *m = &t->maps[i - 1];
	return addr < m->end ? m : NULL;
}

bool tli_target_plausible(const struct tli_target *t, uint64_t addr, uint64_t len)
{
	if (!t)
		return false;
	if (!t->nmaps)
		return true;
	if (!len)
		len = 1;
	if (addr + len < addr)
		return false;
	uint64_t end = addr + len;
	const struct tli_mapping *m = tli_target_find_mapping(t, addr);
	while (m) {
		if (!(m->prot & TLI_PROT_R))
			return false;
		if (m->end >= end)
			return true;
		const struct tli_mapping *next = m + 1;
		if (next >= t->maps + t->nmaps || next->start != m->end)
			return false;
		m = next;
	}
	return false;
}

const struct tli_thread *tli_target_thread(const struct tli_target *t, int tid)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->nthreads; i++)
		if (t->threads[i].tid == tid)
			return &t->threads[i];
	return NULL;
}

void tli_target_warn(struct tli_target *t, const char *fmt, ...)
{
	if (!t)
		return;
	va_list ap;
	va_start(ap, fmt);
	tli_warnings_vadd(&t->warnings, fmt, ap);
	va_end(ap);
}

size_t tli_target_threads_without_regs(const struct tli_target *t)
{
	size_t n = 0;
	for (size_t i = 0; t && i < t->nthreads; i++)
		n += !t->threads[i].regs_valid;
	return n;
}
