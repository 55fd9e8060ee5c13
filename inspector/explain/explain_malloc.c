/* SPDX-License-Identifier: MIT */
/*
 * `explain chunk ADDR` and `explain arena [ADDR]`: glibc malloc's struct
 * malloc_chunk of the chunk containing ADDR and struct malloc_state of an arena
 * (malloc/malloc.c, glibc 2.26+), from the heap walk of inspector/glibc.
 */
#include "explain_internal.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/bytes.h"
#include "core/session.h"
#include "glibc/malloc.h"
#include "core/target.h"
#include "glibc/heap_cmd.h"

#define ARENA_CORRUPTION_BIT 4u                    /* malloc/malloc.c malloc_state.flags */

/* Read len bytes at addr from the walked heap copy, else from the target (capture). */
static bool gl_read(struct tli_session *s, const struct tli_gl_heap *h, uint64_t addr, void *buf, size_t len)
{
	size_t ai;
	const struct tli_gl_seg *sg = tli_gl_find_seg(h, addr, &ai);
	if (sg && sg->buf && addr >= sg->start && addr + len <= sg->end && addr + len > addr) {
		memcpy(buf, sg->buf + (addr - sg->start), len);
		return true;
	}
	return !tli_error_drop(tli_target_read(s->target, addr, buf, len));
}

static bool gl_u64(struct tli_session *s, const struct tli_gl_heap *h, uint64_t addr, uint64_t *ret)
{
	uint8_t b[8];
	if (!gl_read(s, h, addr, b, 8))
		return false;
	*ret = tli_rd64(b);
	return true;
}

static const char *bin_kind(uint32_t b, uint32_t nbins)
{
	return b == 1 ? "unsorted" : b < nbins / 2 ? "small" : "large";
}

/* ---- explain chunk ---- */

static void chunk_line(json_t *lines, const char *what, const struct tli_gl_chunk *k)
{
	tli_ex_linef(lines, "%-9s chunk 0x%" PRIx64 "  size 0x%" PRIx64 "  %s%s", what, k->addr, k->size,
		     tli_gl_kind_names[k->kind], k->kind == GLK_INUSE ? " (the program's)" : "");
}

/* The words of the chunk header, and whether each could be read. */
struct chunk_words {
	uint64_t prev_size, raw, fd, bk, fdn, bkn;
	bool ok_ps, ok_sz, ok_fd, ok_bk, has_n, ok_n;
};

static void read_chunk_words(struct tli_session *s, const struct tli_gl_heap *h, const struct tli_gl_layout *L,
			     struct tli_layout *l, const struct tli_gl_chunk *k, struct chunk_words *w)
{
	*w = (struct chunk_words){ 0 };
	w->ok_ps = gl_u64(s, h, k->addr + L->mc_prev_size, &w->prev_size);
	w->ok_sz = gl_u64(s, h, k->addr + L->mc_size, &w->raw);
	w->ok_fd = gl_u64(s, h, k->addr + L->mc_fd, &w->fd);
	w->ok_bk = gl_u64(s, h, k->addr + L->mc_bk, &w->bk);
	struct tli_member mfn, mbn;
	w->has_n = tli_layout_has_member(l, "malloc_chunk", "fd_nextsize", &mfn) &&
		   tli_layout_has_member(l, "malloc_chunk", "bk_nextsize", &mbn);
	w->ok_n = w->has_n && gl_u64(s, h, k->addr + mfn.offset, &w->fdn) &&
		  gl_u64(s, h, k->addr + mbn.offset, &w->bkn);
}

/* What fd and bk mean in a chunk of this kind (*fdm, *bkm), and their values decoded (fdd, bkd). */
static void fd_bk_meaning(const struct tli_gl_heap *h, const struct tli_gl_layout *L, const struct tli_gl_chunk *k,
			  uint64_t fd, const char **fdm, const char **bkm, char *fdd, char *bkd, size_t cap)
{
	/* safe-linking (malloc/malloc.c REVEAL_PTR, glibc 2.32+): the pointer is stored ^ (its address >> 12) */
	uint64_t pos = k->addr + L->mc_fd, next = tli_gl_reveal_ptr(pos, fd);
	switch (k->kind) {
	case GLK_TCACHE:
		*fdm = "tcache_entry.next: next free chunk of the same size in this thread's tcache";
		*bkm = "tcache_entry.key: marks the chunk as in a tcache (free() checks it to catch double frees)";
		if (h->safe_linking)
			snprintf(fdd, cap, "safe-linked: next user ptr = value ^ (0x%" PRIx64 " >> 12) = 0x%" PRIx64 "%s",
				 pos, next, next ? "" : " (end of list)");
		snprintf(bkd, cap, "tcache key");
		break;
	case GLK_FAST:
		*fdm = "next free chunk in this fastbin (singly linked, LIFO)";
		*bkm = "unused in a fastbin (stale)";
		if (h->safe_linking)
			snprintf(fdd, cap, "safe-linked: next chunk = value ^ (0x%" PRIx64 " >> 12) = 0x%" PRIx64 "%s",
				 pos, next, next ? "" : " (end of list)");
		break;
	case GLK_UNSORTED:
	case GLK_SMALL:
	case GLK_LARGE:
		*fdm = "next chunk in the bin's doubly linked list (the bin header inside malloc_state when last)";
		*bkm = "previous chunk in the bin's list";
		snprintf(fdd, cap, "%s bin %u", bin_kind(k->aux, L->nbins), k->aux);
		break;
	case GLK_TOP:
		*fdm = *bkm = "unused: the top chunk is the arena's wilderness, carved from its start";
		break;
	default:
		*fdm = "first bytes of the user data (the pointer malloc returned points here)";
		*bkm = "user data";
		break;
	}
}

static void chunk_fields(struct tli_layout *l, const struct tli_gl_heap *h, const struct tli_gl_layout *L,
			 const struct tli_gl_chunk *k, const struct chunk_words *w, json_t *fields)
{
	const char *T = "malloc_chunk";
	char d[256];
	if (w->raw & TLI_GL_IS_MMAPPED)
		snprintf(d, sizeof(d), "mmapped: padding before the chunk in its mapping");
	else if (w->raw & TLI_GL_PREV_INUSE) /* then it is the previous chunk's last user bytes */
		snprintf(d, sizeof(d), "unused: P is set; not shown: the previous chunk's bytes");
	else
		snprintf(d, sizeof(d), "prev chunk free at 0x%" PRIx64, k->addr - w->prev_size);
	bool ps_ours = !(w->raw & TLI_GL_PREV_INUSE) || (w->raw & TLI_GL_IS_MMAPPED);
	tli_ex_field_add(l, T, "mchunk_prev_size", w->ok_ps && ps_ours ? tli_ex_hex(w->prev_size) : NULL,
			 w->ok_ps ? d : NULL, "size of the previous chunk, valid only while that chunk is free", fields);
	snprintf(d, sizeof(d), "0x%" PRIx64 "%s%s%s", tli_gl_chunksize(w->raw),
		 w->raw & TLI_GL_PREV_INUSE ? " | P" : "", w->raw & TLI_GL_IS_MMAPPED ? " | M" : "",
		 w->raw & TLI_GL_NON_MAIN ? " | A" : "");
	tli_ex_field_add(l, T, "mchunk_size", w->ok_sz ? tli_ex_hex(w->raw) : NULL, w->ok_sz ? d : NULL,
			 "chunk size (multiple of 16) | flags P=PREV_INUSE (previous chunk in use), M=IS_MMAPPED, "
			 "A=NON_MAIN_ARENA", fields);
	const char *fdm, *bkm;
	char fdd[160] = "", bkd[160] = "";
	fd_bk_meaning(h, L, k, w->fd, &fdm, &bkm, fdd, bkd, sizeof(fdd));
	/* One redaction policy (issue 15): words that are the program's bytes (user data, or stale
	 * data in unused words) are not printed; the malloc's own links are. */
	bool binned = k->kind == GLK_UNSORTED || k->kind == GLK_SMALL || k->kind == GLK_LARGE;
	bool fd_ours = binned || k->kind == GLK_TCACHE || k->kind == GLK_FAST;
	bool bk_ours = binned || k->kind == GLK_TCACHE;
	static const char hidden[] = "not shown: the program's bytes";
	tli_ex_field_add(l, T, "fd", w->ok_fd && fd_ours ? tli_ex_hex(w->fd) : NULL, fd_ours ? fdd : hidden, fdm,
			 fields);
	tli_ex_field_add(l, T, "bk", w->ok_bk && bk_ours ? tli_ex_hex(w->bk) : NULL, bk_ours ? bkd : hidden, bkm,
			 fields);
	if (w->has_n) {
		bool lg = k->kind == GLK_LARGE;
		tli_ex_field_add(l, T, "fd_nextsize", w->ok_n && lg ? tli_ex_hex(w->fdn) : NULL, lg ? "" : hidden,
				 "large bins only: next chunk of a different (smaller) size", fields);
		tli_ex_field_add(l, T, "bk_nextsize", w->ok_n && lg ? tli_ex_hex(w->bkn) : NULL, lg ? "" : hidden,
				 "large bins only: previous chunk of a different size", fields);
	}
}

/* "where it is" and "neighbours in memory". */
static void chunk_where(json_t *ex, const struct tli_gl_heap *h, const struct tli_gl_layout *L,
			const struct tli_gl_chunk *k)
{
	json_t *lines = tli_ex_section(ex, "where it is");
	bool pfree = k->kind != GLK_INUSE && k->kind != GLK_MMAPPED;
	bool afree = !(k->kind == GLK_INUSE || k->kind == GLK_TCACHE || k->kind == GLK_FAST ||
		       k->kind == GLK_MMAPPED || k->kind == GLK_FENCEPOST);
	tli_ex_linef(lines, "state: %s (the program sees it %s; the arena counts it %s)", tli_gl_kind_names[k->kind],
		     pfree ? "free" : "in use", afree ? "free" : "in use");
	if (k->kind == GLK_TCACHE)
		tli_ex_linef(lines, "tcache bin %u of its thread (chunks of size 0x%" PRIx64 ")", k->aux, k->size);
	else if (k->kind == GLK_FAST)
		tli_ex_linef(lines, "fastbinsY[%u] of the arena (chunks of size 0x%" PRIx64 ")", k->aux, k->size);
	else if (k->kind == GLK_UNSORTED || k->kind == GLK_SMALL || k->kind == GLK_LARGE)
		tli_ex_linef(lines, "%s bin %u of the arena", bin_kind(k->aux, L->nbins), k->aux);
	if (k->arena != TLI_GL_NO_ARENA && k->arena < h->narenas)
		tli_ex_linef(lines, "arena %u at 0x%" PRIx64 "%s", k->arena, h->arenas[k->arena].addr,
			     h->arenas[k->arena].addr == L->main_arena ? " (main_arena)" : "");
	else
		tli_ex_linef(lines, "mmapped on its own (no arena): free() munmaps it");
	tli_ex_linef(lines, "user pointer 0x%" PRIx64 ", usable %" PRIu64 " bytes (size - 8: the next chunk's "
		     "prev_size is lent to this one while it is in use)", tli_gl_chunk2mem(k->addr),
		     k->size >= TLI_GL_CHUNK_HDR_SZ ? k->size - TLI_GL_SIZE_SZ : 0);
	lines = tli_ex_section(ex, "neighbours in memory (next chunk = this address + size)");
	if (k > h->chunks && k[-1].addr + k[-1].size == k->addr)
		chunk_line(lines, "previous", &k[-1]);
	chunk_line(lines, "this", k);
	if (k + 1 < h->chunks + h->nchunks && k->addr + k->size == k[1].addr)
		chunk_line(lines, "next", &k[1]);
}

/* Title, header and the chunk's own members of the tree. */
static void chunk_header(struct tli_layout *l, json_t *ex, uint64_t addr, const struct tli_gl_chunk *k,
			 uint64_t tsize)
{
	char title[200];
	if (addr == tli_gl_chunk2mem(k->addr))
		snprintf(title, sizeof(title), "the malloc chunk of user pointer 0x%" PRIx64 " (chunk = pointer - 16): "
			 "its struct malloc_chunk header", addr);
	else
		snprintf(title, sizeof(title), "the malloc chunk containing 0x%" PRIx64 " (%" PRIu64 " bytes into the "
			 "chunk; user pointer 0x%" PRIx64 "): its struct malloc_chunk header", addr, addr - k->addr,
			 tli_gl_chunk2mem(k->addr));
	json_object_set_new(ex, "title", json_string(title));
	tli_ex_header(l, ex, "malloc_chunk", k->addr, tsize);
}

struct tli_error *tli_explain_chunk(struct tli_session *s, const char *arg, json_t *ex)
{
	uint64_t addr;
	struct tli_error *err = tli_ex_parse_addr("chunk", arg, &addr);
	if (err)
		return err;
	struct tli_gl_ctx *c = NULL;
	struct tli_gl_heap *h = NULL;
	struct tli_glibc_opts o = { 0 };
	if ((err = tli_gl_run(s, &o, NULL, 0, &c, &h)))
		return err;
	const struct tli_gl_chunk *k = tli_gl_find_chunk(h, addr);
	if (!k) {
		err = tli_error_create(TLI_E_NO_TARGET, "explain chunk: 0x%" PRIx64
				       " is not inside any chunk of the glibc heaps", addr);
		goto out;
	}
	struct tli_layout *l = c->layout;
	uint64_t tsize = 0;
	if ((err = tli_layout_type_size(l, "malloc_chunk", &tsize)))
		goto out;
	chunk_header(l, ex, addr, k, tsize);
	json_t *fields = json_array();
	json_object_set_new(ex, "fields", fields);
	json_object_set_new(ex, "state", json_string(tli_gl_kind_names[k->kind]));
	json_object_set_new(ex, "chunk_size", json_integer((json_int_t)k->size));
	json_object_set_new(ex, "user", tli_ex_hex(tli_gl_chunk2mem(k->addr)));
	json_object_set_new(ex, "arena", k->arena == TLI_GL_NO_ARENA ? json_null() : json_integer(k->arena));
	struct chunk_words w;
	read_chunk_words(s, h, &c->L, l, k, &w);
	chunk_fields(l, h, &c->L, k, &w, fields);
	chunk_where(ex, h, &c->L, k);
	tli_ex_note(ex, "In use, only mchunk_size is the allocator's: from fd on, the bytes are the program's.");
	tli_ex_note(ex, "The next chunk's PREV_INUSE bit says whether this chunk is free; tcache and fastbin chunks "
		    "keep it set (they stay \"in use\" for the arena, to be reused quickly).");
out:
	tli_gl_heap_free(h);
	tli_gl_ctx_free(c);
	return err;
}

/* ---- explain arena ---- */

/* " 0x... 0x..." of every arena, as much as fits. */
static void arena_list(const struct tli_gl_heap *h, char *list, size_t cap)
{
	size_t used = 0;
	list[0] = 0;
	for (size_t i = 0; i < h->narenas && used + 24 < cap; i++)
		used += (size_t)snprintf(list + used, cap - used, " 0x%" PRIx64, h->arenas[i].addr);
}

/* Non-empty fastbins (*nlists) and the chunks in them (*nchunks). */
static void count_fastbins(const struct tli_gl_arena *ar, const struct tli_gl_layout *L, uint64_t *nlists,
			   uint64_t *nchunks)
{
	*nlists = *nchunks = 0;
	for (uint32_t i = 0; i < L->nfastbins && i < TLI_GL_MAX_FASTBINS; i++)
		if (ar->fast_head[i]) {
			(*nlists)++;
			*nchunks += ar->fast[i].count;
		}
}

/* Non-empty bins (*nbins) and the chunks in them (*nchunks). */
static void count_bins(const struct tli_gl_arena *ar, const struct tli_gl_layout *L, uint64_t *nbins,
		       uint64_t *nchunks)
{
	*nbins = *nchunks = 0;
	for (uint32_t i = 1; i < L->nbins && i < TLI_GL_MAX_BINS; i++)
		if (ar->bins[i].count) {
			(*nbins)++;
			*nchunks += ar->bins[i].count;
		}
}

/* mutex, flags, have_fastchunks, fastbinsY, top, last_remainder */
static void arena_fields_head(struct tli_session *s, const struct tli_gl_heap *h, struct tli_layout *l,
			      const struct tli_gl_layout *L, const struct tli_gl_arena *ar, json_t *fields)
{
	const char *T = "malloc_state";
	char d[256];
	tli_ex_field_add(l, T, "mutex", tli_ex_dec(ar->mutex), ar->mutex ? "locked" : "unlocked",
			 "lock taken by malloc/free on this arena", fields);
	snprintf(d, sizeof(d), "%s%s", ar->flags & TLI_GL_NONCONTIGUOUS ? "NONCONTIGUOUS" : "contiguous",
		 ar->flags & ARENA_CORRUPTION_BIT ? " | ARENA_CORRUPTION" : "");
	tli_ex_field_add(l, T, "flags", tli_ex_hex(ar->flags), d,
			 "bit 1 NONCONTIGUOUS_BIT: memory not from one sbrk region (all thread arenas)", fields);
	struct tli_member m;
	if (tli_layout_has_member(l, T, "have_fastchunks", &m) && m.size <= 8) {
		uint8_t b[8] = { 0 };
		bool ok = gl_read(s, h, ar->addr + m.offset, b, (size_t)m.size);
		tli_ex_field_add(l, T, "have_fastchunks", ok ? tli_ex_dec(b[0]) : NULL, NULL,
				 "set when a fastbin may be non-empty (malloc_consolidate clears it)", fields);
	}
	uint64_t nfast, nfastc;
	count_fastbins(ar, L, &nfast, &nfastc);
	snprintf(d, sizeof(d), "%u lists, %" PRIu64 " non-empty, %" PRIu64 " chunks", L->nfastbins, nfast, nfastc);
	tli_ex_field_add(l, T, "fastbinsY", NULL, d,
			 "heads of the fastbins: singly linked LIFO lists of small freed chunks (0x20, 0x30, ...)",
			 fields);
	snprintf(d, sizeof(d), "top chunk, 0x%" PRIx64 " bytes left", ar->top_size);
	tli_ex_field_add(l, T, "top", tli_ex_hex(ar->top), d, "the wilderness: the last chunk of the heap, split to "
			 "serve requests no bin can", fields);
	tli_ex_field_add(l, T, "last_remainder", tli_ex_hex(ar->last_remainder), ar->last_remainder ? "" : "nil",
			 "remainder of the last split of a small request (locality for runs of small mallocs)", fields);
}

/* bins, binmap, next, next_free, attached_threads, system_mem, max_system_mem */
static void arena_fields_tail(struct tli_session *s, const struct tli_gl_heap *h, struct tli_layout *l,
			      const struct tli_gl_layout *L, const struct tli_gl_arena *ar, json_t *fields)
{
	const char *T = "malloc_state";
	char d[256];
	uint64_t nb, nbc;
	count_bins(ar, L, &nb, &nbc);
	snprintf(d, sizeof(d), "%u bins, %" PRIu64 " non-empty, %" PRIu64 " chunks", L->nbins - 1, nb, nbc);
	tli_ex_field_add(l, T, "bins", NULL, d, "fd/bk heads of the doubly linked bins: 1 unsorted, 2..63 small "
			 "(one size each), 64.. large (size ranges, sorted)", fields);
	tli_ex_field_add(l, T, "binmap", NULL, NULL,
			 "one bit per bin: may be non-empty (a hint that speeds the search)", fields);
	tli_ex_field_add(l, T, "next", tli_ex_hex(ar->next), ar->next == ar->addr ? "itself: the only arena" : "",
			 "next arena in the circular list that starts at main_arena", fields);
	struct tli_member m;
	uint64_t nf = 0;
	bool ok_nf = tli_layout_has_member(l, T, "next_free", &m) && gl_u64(s, h, ar->addr + m.offset, &nf);
	tli_ex_field_add(l, T, "next_free", ok_nf ? tli_ex_hex(nf) : NULL, NULL,
			 "next arena on the free list (arenas with no thread attached)", fields);
	tli_ex_field_add(l, T, "attached_threads", tli_ex_dec(ar->attached), NULL, "threads using this arena",
			 fields);
	tli_ex_field_add(l, T, "system_mem", tli_ex_dec(ar->system_mem), NULL,
			 "bytes obtained from the system for this arena (sbrk or mmapped heaps) = malloc_info <system "
			 "type=\"current\">", fields);
	tli_ex_field_add(l, T, "max_system_mem", tli_ex_dec(ar->max_system_mem), NULL,
			 "high-water mark of system_mem", fields);
}

/* The fastbins and bins, one line each. */
static void bins_sections(json_t *ex, const struct tli_gl_layout *L, const struct tli_gl_arena *ar)
{
	char d[256];
	uint64_t nfast, nfastc, nb, nbc;
	count_fastbins(ar, L, &nfast, &nfastc);
	count_bins(ar, L, &nb, &nbc);
	json_t *lines = tli_ex_section(ex, "fastbins (fastbinsY[i] holds chunks of size 0x20 + 0x10*i)");
	for (uint32_t i = 0; i < L->nfastbins && i < TLI_GL_MAX_FASTBINS; i++)
		if (ar->fast_head[i])
			tli_ex_linef(lines, "fastbinsY[%u]  size 0x%x  head 0x%" PRIx64 "  %" PRIu64 " chunks, %" PRIu64
				     " bytes", i, (unsigned)tli_gl_fastbin_csize(i), ar->fast_head[i], ar->fast[i].count,
				     ar->fast[i].bytes);
	if (!nfast)
		tli_ex_linef(lines, "(all empty)");
	lines = tli_ex_section(ex, "bins (bins[2i-2], bins[2i-1] are bin i's fd and bk)");
	for (uint32_t i = 1; i < L->nbins && i < TLI_GL_MAX_BINS; i++) {
		const struct tli_gl_binstat *b = &ar->bins[i];
		if (!b->count)
			continue;
		if (i >= 2 && i < L->nbins / 2)
			snprintf(d, sizeof(d), "size 0x%x", i * TLI_GL_MALLOC_ALIGNMENT);
		else
			snprintf(d, sizeof(d), "sizes 0x%" PRIx64 "..0x%" PRIx64, tli_gl_chunksize(b->raw_min),
				 tli_gl_chunksize(b->raw_max));
		tli_ex_linef(lines, "bin %-3u %-8s %-24s %" PRIu64 " chunks, %" PRIu64 " bytes", i,
			     bin_kind(i, L->nbins), d, b->count, b->bytes);
	}
	if (!nb)
		tli_ex_linef(lines, "(all empty)");
}

/* The arena's heaps and what the walk found in them. */
static void memory_section(json_t *ex, const struct tli_gl_heap *h, const struct tli_gl_arena *ar)
{
	json_t *lines = tli_ex_section(ex, "memory of this arena");
	for (size_t i = 0; i < ar->nsegs; i++) {
		const struct tli_gl_seg *sg = &ar->segs[i];
		if (sg->heap_info)
			tli_ex_linef(lines, "heap_info 0x%" PRIx64 ": chunks 0x%" PRIx64 "..0x%" PRIx64 " (size 0x%"
				     PRIx64 ", mprotect_size 0x%" PRIx64 ")", sg->heap_info, sg->start, sg->end,
				     sg->hsize, sg->mprotect_size);
		else
			tli_ex_linef(lines, "sbrk heap: chunks 0x%" PRIx64 "..0x%" PRIx64, sg->start, sg->end);
	}
	tli_ex_linef(lines, "walked: %" PRIu64 " in-use chunks (%" PRIu64 " bytes), %" PRIu64 " in tcache, %" PRIu64
		     " in fastbins, %" PRIu64 " in other bins", ar->n_kind[GLK_INUSE], ar->b_kind[GLK_INUSE],
		     ar->n_kind[GLK_TCACHE], ar->n_kind[GLK_FAST],
		     ar->n_kind[GLK_UNSORTED] + ar->n_kind[GLK_SMALL] + ar->n_kind[GLK_LARGE]);
	char list[256];
	arena_list(h, list, sizeof(list));
	tli_ex_linef(lines, "all arenas:%s", list);
}

/* The arena at `want` (the last one at that address) and its index; NULL if none. */
static const struct tli_gl_arena *find_arena(const struct tli_gl_heap *h, uint64_t want, size_t *ai)
{
	const struct tli_gl_arena *ar = NULL;
	for (size_t i = 0; i < h->narenas; i++)
		if (h->arenas[i].addr == want) {
			ar = &h->arenas[i];
			*ai = i;
		}
	return ar;
}

struct tli_error *tli_explain_arena(struct tli_session *s, const char *arg, json_t *ex)
{
	uint64_t want = 0;
	struct tli_error *err = arg ? tli_ex_parse_addr("arena", arg, &want) : NULL;
	if (err)
		return err;
	struct tli_gl_ctx *c = NULL;
	struct tli_gl_heap *h = NULL;
	struct tli_glibc_opts o = { 0 };
	if ((err = tli_gl_run(s, &o, NULL, 0, &c, &h)))
		return err;
	const struct tli_gl_layout *L = &c->L;
	if (!want)
		want = L->main_arena;
	size_t ai = 0;
	const struct tli_gl_arena *ar = find_arena(h, want, &ai);
	if (!ar) {
		char list[512];
		arena_list(h, list, sizeof(list));
		err = tli_error_create(TLI_E_NO_TARGET, "explain arena: 0x%" PRIx64 " is not an arena (arenas:%s)",
				       want, list);
		goto out;
	}
	struct tli_layout *l = c->layout;
	char title[160];
	snprintf(title, sizeof(title), "arena %zu at 0x%" PRIx64 "%s: its struct malloc_state", ai, ar->addr,
		 ar->addr == L->main_arena ? " (main_arena, the sbrk heap)" : " (a thread arena, in mmapped heaps)");
	json_object_set_new(ex, "title", json_string(title));
	tli_ex_header(l, ex, "malloc_state", ar->addr, L->ms_size);
	json_object_set_new(ex, "index", json_integer((json_int_t)ai));
	json_t *fields = json_array();
	json_object_set_new(ex, "fields", fields);
	arena_fields_head(s, h, l, L, ar, fields);
	arena_fields_tail(s, h, l, L, ar, fields);
	bins_sections(ex, L, ar);
	memory_section(ex, h, ar);
	tli_ex_note(ex, "tcache is not in the arena: each thread has its own tcache_perthread_struct (see `bins`).");
	tli_ex_note(ex, "malloc looks in this order: tcache, fastbin, small bin, unsorted (sorting it), large bins, "
		    "top.");
out:
	tli_gl_heap_free(h);
	tli_gl_ctx_free(c);
	return err;
}
