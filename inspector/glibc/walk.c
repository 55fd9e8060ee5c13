/* SPDX-License-Identifier: MIT */
/*
 * The malloc walk over a captured target, step by step (walk.h): mp_ and the
 * arena list (here), each arena's heap segments (segments.c), each segment in
 * place in the capture or copied, each thread's tcache and each arena's free
 * lists (bins.c), every chunk in address order and the mmapped chunks
 * (chunks.c), then the size statistics (stats.c).
 */
#include "walk.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/bigbuf.h"
#include "core/bytes.h"

const char *const tli_gl_kind_names[GLK__N] = {
	"in_use", "tcache", "fastbin", "unsorted", "small", "large", "top", "fencepost", "mmapped",
	"free_unbinned",
};

uint64_t tli_gl_heap_max(const struct tli_gl_layout *L, uint64_t hp_pagesize)
{
	if (L->has_hp_pagesize && hp_pagesize && hp_pagesize < (1ull << 40))
		return 4 * hp_pagesize; /* glibc >= 2.35 with glibc.malloc.hugetlb=<size> */
	return L->heap_max;
}

void tli_gl_problem(struct tli_gl_heap *h, uint64_t addr, long arena, const char *fmt, ...)
{
	h->nproblems++;
	if ((int)json_array_size(h->problems) >= h->max_problems)
		return;
	char msg[512], a[32];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(a, sizeof(a), "0x%" PRIx64, addr);
	json_t *o = json_object();
	json_object_set_new(o, "address", json_string(a));
	json_object_set_new(o, "arena", arena >= 0 ? json_integer(arena) : json_null());
	json_object_set_new(o, "what", json_string(msg));
	json_array_append_new(h->problems, o);
}

bool tli_gl_rd(const struct walk *w, uint64_t addr, void *buf, size_t len)
{
	const struct segref *s = tli_gl_seg_of(w, addr);
	if (s && addr + len <= s->end) {
		const struct tli_gl_seg *g = &w->h->arenas[s->arena].segs[s->seg];
		/* --snapshot=fork: a segment is a view of the frozen copy that reads a block per
		 * page fault; a few words at random (the free lists) cost less read exactly */
		if (g->buf && !w->t->forked) {
			memcpy(buf, g->buf + (addr - g->start), len);
			return true;
		}
	}
	return !tli_error_drop(tli_target_read(w->t, addr, buf, len));
}

/* mp_: the mmap counters, sbrk_base, the tcache limits, hp_pagesize. */
static struct tli_error *read_mp(struct walk *w)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	uint8_t mpb[TLI_GL_MAX_MP_SIZE];
	struct tli_error *err = NULL;
	if (L->mp_size > sizeof(mpb) || (err = tli_target_read(w->t, L->mp, mpb, L->mp_size)))
		return tli_error_wrap(err ? err : tli_error_create(TLI_E_INTERNAL, "malloc_par too large"),
				      "reading mp_ at 0x%" PRIx64, L->mp);
	h->n_mmaps = (uint32_t)tli_rdn(mpb + L->mp_n_mmaps, 4);
	h->max_n_mmaps = (uint32_t)tli_rdn(mpb + L->mp_max_n_mmaps, 4);
	h->mmapped_mem = tli_rd64(mpb + L->mp_mmapped_mem);
	h->max_mmapped_mem = tli_rd64(mpb + L->mp_max_mmapped_mem);
	h->sbrk_base = tli_rd64(mpb + L->mp_sbrk_base);
	if (L->has_tcache_fields) {
		h->tcache_count = tli_rd64(mpb + L->mp_tcache_count);
		h->tcache_bins = tli_rd64(mpb + L->mp_tcache_bins);
	}
	if (L->has_hp_pagesize)
		h->hp_pagesize = tli_rd64(mpb + L->mp_hp_pagesize);
	return NULL;
}

/* One arena from its malloc_state image abuf (at address a), appended to h->arenas. */
static struct tli_error *add_arena(struct walk *w, uint64_t a, const uint8_t *abuf)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	void *nv = realloc(h->arenas, (h->narenas + 1) * sizeof(*h->arenas));
	if (!nv)
		return &tli_enomem;
	h->arenas = nv;
	struct tli_gl_arena *ar = &h->arenas[h->narenas++];
	memset(ar, 0, sizeof(*ar));
	ar->addr = a;
	ar->mutex = (uint32_t)tli_rdn(abuf + L->ms_mutex, 4);
	ar->flags = (uint32_t)tli_rdn(abuf + L->ms_flags, 4);
	ar->top = tli_rd64(abuf + L->ms_top);
	ar->last_remainder = tli_rd64(abuf + L->ms_last_remainder);
	ar->next = tli_rd64(abuf + L->ms_next);
	ar->attached = tli_rd64(abuf + L->ms_attached);
	ar->system_mem = tli_rd64(abuf + L->ms_system_mem);
	ar->max_system_mem = tli_rd64(abuf + L->ms_max_system_mem);
	for (uint32_t i = 0; i < L->nfastbins && i < TLI_GL_MAX_FASTBINS; i++)
		ar->fast_head[i] = tli_rd64(abuf + L->ms_fastbins + 8 * i);
	if (ar->mutex)
		tli_gl_problem(h, a, (long)h->narenas - 1, "arena 0x%" PRIx64 " is locked (mutex %u): a thread was "
			       "inside malloc; its state may be inconsistent", a, ar->mutex);
	uint64_t raw = 0;
	if (ar->top && !tli_gl_rd64(w, ar->top + L->mc_size, &raw))
		tli_gl_problem(h, ar->top, (long)h->narenas - 1, "top chunk 0x%" PRIx64 " is unreadable", ar->top);
	ar->top_size = tli_gl_chunksize(raw);
	return NULL;
}

/* The arena list from main_arena through malloc_state.next (malloc/arena.c). */
static struct tli_error *read_arenas(struct walk *w)
{
	const struct tli_gl_layout *L = w->L;
	struct tli_gl_heap *h = w->h;
	uint8_t *abuf = malloc(L->ms_size);
	if (!abuf)
		return &tli_enomem;
	struct tli_error *err;
	uint64_t a = L->main_arena;
	for (;;) {
		if ((err = tli_target_read(w->t, a, abuf, L->ms_size))) {
			if (a == L->main_arena) {
				err = tli_error_wrap(err, "reading main_arena at 0x%" PRIx64, a);
				break;
			}
			tli_gl_problem(h, a, -1, "arena 0x%" PRIx64 " (in the next list) is unreadable: %s", a, err->msg);
			tli_error_destroy(err);
			err = NULL;
			break;
		}
		if ((err = add_arena(w, a, abuf)))
			break;
		uint64_t next = h->arenas[h->narenas - 1].next;
		if (next == L->main_arena)
			break;
		bool seen = false;
		for (size_t i = 0; i < h->narenas; i++)
			seen |= h->arenas[i].addr == next;
		if (!next || (next & 7) || seen || h->narenas >= MAX_ARENAS) {
			tli_gl_problem(h, a, (long)h->narenas - 1, "arena 0x%" PRIx64 ": next 0x%" PRIx64 " %s", a, next,
				       seen ? "loops back to an arena other than main_arena" :
				       h->narenas >= MAX_ARENAS ? "(too many arenas)" : "is not a valid arena pointer");
			break;
		}
		a = next;
	}
	free(abuf);
	return err;
}

/* Segments: thread arenas first, the main arena's may be found around them. */
static struct tli_error *find_segments(struct walk *w, uint64_t hmax)
{
	struct tli_gl_heap *h = w->h;
	for (size_t i = 0; i < h->narenas; i++)
		if (h->arenas[i].addr != w->L->main_arena)
			tli_gl_arena_segments(w, i, h->sbrk_base, hmax);
	if (!tli_gl_build_segrefs(w, false))
		return &tli_enomem;
	for (size_t i = 0; i < h->narenas; i++)
		if (h->arenas[i].addr == w->L->main_arena)
			tli_gl_arena_segments(w, i, h->sbrk_base, hmax);
	if (!tli_gl_build_segrefs(w, true))
		return &tli_enomem;
	return NULL;
}

/* Each segment's bytes: in place in the capture or the core's mapping, else a copy.
 * Returns the bytes of all segments. */
static uint64_t map_segments(struct walk *w)
{
	struct tli_gl_heap *h = w->h;
	uint64_t seg_bytes = 0;
	for (size_t k = 0; k < w->nsegs; k++) {
		struct tli_gl_seg *g = &h->arenas[w->segs[k].arena].segs[w->segs[k].seg];
		seg_bytes += g->end - g->start;
		g->buf = tli_target_captured_ptr(w->t, g->start, g->end - g->start);
		if (!g->buf) /* a core: its file mapping, no copy (its pages dropped behind the walk) */
			g->buf = tli_target_mapped_ptr(w->t, g->start, g->end - g->start);
		if (g->buf)
			continue;
		uint8_t *copy = tli_big_alloc_lazy(g->end - g->start); /* big, written once */
		if (!copy) {
			/* a segment not walked is chunks missing from every count: the command
			 * exits 13 (TLI_E_NOMEM), never a smaller answer with status 0 */
			tli_oom_note();
			tli_gl_problem(h, g->start, (long)w->segs[k].arena, "heap 0x%" PRIx64 "-0x%" PRIx64
				       ": cannot allocate a copy (%" PRIu64 " bytes); not walked", g->start, g->end,
				       g->end - g->start);
			continue;
		}
		struct tli_error *e = tli_target_read(w->t, g->start, copy, g->end - g->start);
		if (e) {
			tli_gl_problem(h, g->start, (long)w->segs[k].arena, "heap 0x%" PRIx64 "-0x%" PRIx64
				       " is not readable: %s", g->start, g->end, e->msg);
			tli_error_destroy(e);
			tli_big_free(copy, g->end - g->start);
			continue;
		}
		g->buf = copy;
		g->buf_owned = true;
	}
	return seg_bytes;
}

/* Each thread's tcache pointer (from its `tcache` variable). */
static struct tli_error *read_tcaches(struct walk *w, const struct tli_gl_thread *th, size_t nth)
{
	struct tli_gl_heap *h = w->h;
	h->tc = calloc(nth + 1, sizeof(*h->tc));
	if (!h->tc)
		return &tli_enomem;
	for (size_t i = 0; i < nth; i++) {
		struct tli_gl_tcache *tc = &h->tc[h->ntc++];
		tc->tid = th[i].tid;
		tc->tp = th[i].tp;
		tc->slot = th[i].tcache_slot;
		if (tc->slot && w->L->has_tcache && !tli_gl_rd64(w, tc->slot, &tc->ptr))
			tli_gl_problem(h, tc->slot, -1, "thread %d: tcache variable at 0x%" PRIx64 " is unreadable",
				       tc->tid, tc->slot);
	}
	return NULL;
}

/* The free lists, then every chunk in address order, then the arenas' overhead and the
 * free-list chunks the heap walk never met. */
void tli_gl_drop_in_place(struct walk *w)
{
	for (size_t k = 0; k < w->nsegs; k++) {
		const struct tli_gl_seg *g = &w->h->arenas[w->segs[k].arena].segs[w->segs[k].seg];
		if (g->buf && !g->buf_owned)
			tli_target_mapped_drop(w->t, g->buf, g->end - g->start);
	}
}

static void walk_chunks(struct walk *w)
{
	struct tli_gl_heap *h = w->h;
	tli_gl_find_tcaches_by_content(w); /* before the vote: their lists vote too */
	h->safe_linking = w->L->safe_linking >= 0 ? w->L->safe_linking : tli_gl_detect_safe_linking(w);
	for (size_t i = 0; i < h->ntc; i++)
		tli_gl_walk_tcache(w, &h->tc[i]);
	for (size_t i = 0; i < h->narenas; i++) {
		tli_gl_walk_fastbins(w, i);
		tli_gl_walk_bins(w, i);
	}
	tli_gl_marks_sort(w);
	/* segments read in place from a core (tli_target_mapped_ptr) need not stay resident:
	 * given back after the lists (which touch the whole heap) and after each segment's
	 * walk (which gives them back in windows as it goes); what reads them later faults
	 * them in again from the file. A no-op for copies and live captures. */
	tli_gl_drop_in_place(w);
	for (size_t k = 0; k < w->nsegs; k++) {
		tli_gl_walk_seg(w, w->segs[k].arena, w->segs[k].seg);
		const struct tli_gl_seg *g = &h->arenas[w->segs[k].arena].segs[w->segs[k].seg];
		if (g->buf && !g->buf_owned)
			tli_target_mapped_drop(w->t, g->buf, g->end - g->start);
	}
	for (size_t i = 0; i < h->narenas; i++) {
		struct tli_gl_arena *ar = &h->arenas[i];
		uint64_t walked = 0;
		for (size_t j = 0; j < ar->nsegs; j++)
			walked += ar->segs[j].walked;
		ar->overhead = ar->system_mem >= walked ? ar->system_mem - walked : 0;
		ar->walked_ok = ar->nsegs > 0;
	}
	for (size_t i = 0; i < w->marks.n; i++) {
		struct mark *m = &w->marks.v[i];
		if (!(m->arena & MARK_MET))
			tli_gl_problem(h, m->addr, m->arena & ~MARK_MET, "chunk 0x%" PRIx64 " is in a %s list but "
				       "the heap walk did not reach it", m->addr, tli_gl_kind_names[m->kind]);
	}
}

static void walk_free(struct walk *w)
{
	for (size_t k = 0; k < w->nsegs; k++)
		free(w->segs[k].bits);
	free(w->segs);
	free(w->hinfo);
	tli_vec_free(&w->marks);
	tli_gl_sizes_free(w->sizes);
	free(w->sizes);
}

struct tli_error *tli_gl_walk(struct tli_target *t, const struct tli_gl_layout *L,
			      const struct tli_gl_thread *th, size_t nth, int max_problems,
			      struct tli_gl_heap **ret)
{
	return tli_gl_walk_ex(t, L, th, nth, max_problems, 0, ret);
}

static struct tli_error *walk_run(struct walk *w, const struct tli_gl_thread *th, size_t nth)
{
	struct tli_gl_heap *h = w->h;
	struct tli_error *err;
	if ((err = read_mp(w)))
		return err;
	uint64_t hmax = tli_gl_heap_max(w->L, h->hp_pagesize);
	if ((err = read_arenas(w)) || (err = find_segments(w, hmax)))
		return err;
	/* a core's segments are copied now: refused at once, naming the numbers, if they cannot fit */
	uint64_t copy_bytes = 0;
	for (size_t k = 0; k < w->nsegs; k++) {
		const struct tli_gl_seg *g = &h->arenas[w->segs[k].arena].segs[w->segs[k].seg];
		if (!tli_target_captured(w->t, g->start, g->end - g->start) &&
		    !tli_target_mapped_ptr(w->t, g->start, g->end - g->start))
			copy_bytes += g->end - g->start;
	}
	if ((err = tli_gl_afford_bytes(copy_bytes, "the heap segments to copy", 0)))
		return err;
	uint64_t seg_bytes = map_segments(w);
	/* room for every chunk at once (at least 32 bytes each): untouched pages cost nothing */
	if (w->want_chunks && seg_bytes / TLI_GL_MINSIZE + 4096 < ((size_t)-1 / 2) / sizeof(*h->chunks))
		tli_gl_chunks_reserve(h, (size_t)(seg_bytes / TLI_GL_MINSIZE) + 4096);
	if ((err = read_tcaches(w, th, nth)))
		return err;
	walk_chunks(w);
	size_t nheap = h->nchunks;
	tli_gl_find_mmapped(w, hmax);
	/* glibc counts its mmapped chunks in mp_: a scan that finds others (a mapping lost
	 * from a damaged core, a chunk header overwritten, a damaged mp_) says so */
	if (h->mmapped_found != h->n_mmaps || h->mmapped_found_bytes != h->mmapped_mem)
		tli_gl_problem(h, w->L->mp, -1, "mp_ counts %" PRIu64 " mmapped chunks (%" PRIu64 " bytes), the "
			       "scan of anonymous mappings found %zu (%" PRIu64 " bytes)", h->n_mmaps,
			       (uint64_t)h->mmapped_mem, (size_t)h->mmapped_found, (uint64_t)h->mmapped_found_bytes);
	/* mmapped chunks were appended after the heap chunks (in address order):
	 * merge the few of them in from the back */
	if (h->nchunks > nheap)
		tli_gl_merge_tail(h, nheap);
	tli_gl_sizes_finish(w->sizes, h);
	return NULL;
}

struct tli_error *tli_gl_walk_ex(struct tli_target *t, const struct tli_gl_layout *L,
				 const struct tli_gl_thread *th, size_t nth, int max_problems,
				 unsigned flags, struct tli_gl_heap **ret)
{
	struct tli_gl_heap *h = calloc(1, sizeof(*h));
	if (!h)
		return &tli_enomem;
	h->L = *L;
	h->problems = json_array();
	h->max_problems = max_problems > 0 ? max_problems : 100;
	struct walk w = { .t = t, .L = &h->L, .h = h, .want_chunks = !(flags & TLI_GL_WALK_NO_CHUNKS) };
	w.sizes = calloc(1, sizeof(*w.sizes));
	struct tli_error *err = w.sizes ? walk_run(&w, th, nth) : &tli_enomem;
	walk_free(&w);
	if (err) {
		tli_gl_heap_free(h);
		return err;
	}
	*ret = h;
	return NULL;
}

void tli_gl_heap_free(struct tli_gl_heap *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->narenas; i++) {
		for (size_t j = 0; j < h->arenas[i].nsegs; j++)
			if (h->arenas[i].segs[j].buf && h->arenas[i].segs[j].buf_owned)
				tli_big_free((void *)h->arenas[i].segs[j].buf,
					     h->arenas[i].segs[j].end - h->arenas[i].segs[j].start);
		free(h->arenas[i].segs);
	}
	free(h->arenas);
	free(h->tc);
	if (h->chunks_huge)
		tli_big_free(h->chunks, h->chunks_cap * sizeof(*h->chunks));
	else
		free(h->chunks);
	free(h->sizes);
	json_decref(h->problems);
	free(h);
}

const struct tli_gl_seg *tli_gl_find_seg(const struct tli_gl_heap *h, uint64_t addr, size_t *arena)
{
	for (size_t i = 0; i < h->narenas; i++)
		for (size_t j = 0; j < h->arenas[i].nsegs; j++)
			if (addr >= h->arenas[i].segs[j].start && addr < h->arenas[i].segs[j].end) {
				if (arena)
					*arena = i;
				return &h->arenas[i].segs[j];
			}
	return NULL;
}
