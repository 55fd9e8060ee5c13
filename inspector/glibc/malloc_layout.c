/* SPDX-License-Identifier: MIT */
/*
 * The malloc layout by name: every offset and size the walker needs (struct
 * tli_gl_layout) asked of libc's layout (DWARF, .symtab or the glibc runtime map:
 * the walker never knows which) under the names of malloc/malloc.c and
 * malloc/arena.c (malloc_state, malloc_par, heap_info, tcache_perthread_struct,
 * tcache_entry, malloc_chunk; main_arena, mp_).
 */
#include "libc.h"

#include "core/layout.h"

/* The members; sizes and counts derived from the arrays; the layout sanity-checked. */
static struct tli_error *resolve_members(struct tli_layout *l, struct tli_gl_layout *L, bool *has_tc)
{
	uint32_t fast_sz = 0, bins_sz = 0, counts_sz = 0, entries_sz = 0, mp_tsbins = 0;
	bool has_tc_counts = false, has_tc_entries = false, has_mp_tcount = false, has_mp_tbins = false;
	bool has_mp_tsbins = false;
	struct tli_field_spec f[] = {
		{ "malloc_state", "mutex", &L->ms_mutex, NULL, false, NULL },
		{ "malloc_state", "flags", &L->ms_flags, NULL, false, NULL },
		{ "malloc_state", "fastbinsY", &L->ms_fastbins, &fast_sz, false, NULL },
		{ "malloc_state", "top", &L->ms_top, NULL, false, NULL },
		{ "malloc_state", "last_remainder", &L->ms_last_remainder, NULL, false, NULL },
		{ "malloc_state", "bins", &L->ms_bins, &bins_sz, false, NULL },
		{ "malloc_state", "next", &L->ms_next, NULL, false, NULL },
		{ "malloc_state", "next_free", &L->ms_next_free, NULL, false, NULL },
		{ "malloc_state", "attached_threads", &L->ms_attached, NULL, false, NULL },
		{ "malloc_state", "system_mem", &L->ms_system_mem, NULL, false, NULL },
		{ "malloc_state", "max_system_mem", &L->ms_max_system_mem, NULL, false, NULL },
		{ "malloc_par", "n_mmaps", &L->mp_n_mmaps, NULL, false, NULL },
		{ "malloc_par", "max_n_mmaps", &L->mp_max_n_mmaps, NULL, false, NULL },
		{ "malloc_par", "mmapped_mem", &L->mp_mmapped_mem, NULL, false, NULL },
		{ "malloc_par", "max_mmapped_mem", &L->mp_max_mmapped_mem, NULL, false, NULL },
		{ "malloc_par", "sbrk_base", &L->mp_sbrk_base, NULL, false, NULL },
		{ "malloc_par", "hp_pagesize", &L->mp_hp_pagesize, NULL, true, &L->has_hp_pagesize },
		{ "malloc_par", "tcache_count", &L->mp_tcache_count, NULL, true, &has_mp_tcount },
		{ "malloc_par", "tcache_bins", &L->mp_tcache_bins, NULL, true, &has_mp_tbins },
		{ "malloc_par", "tcache_small_bins", &mp_tsbins, NULL, true, &has_mp_tsbins },
		{ "heap_info", "ar_ptr", &L->hi_ar_ptr, NULL, false, NULL },
		{ "heap_info", "prev", &L->hi_prev, NULL, false, NULL },
		{ "heap_info", "size", &L->hi_hsize, NULL, false, NULL },
		{ "heap_info", "mprotect_size", &L->hi_mprotect_size, NULL, false, NULL },
		{ "tcache_perthread_struct", "counts", &L->tc_counts, &counts_sz, true, &has_tc_counts },
		{ "tcache_perthread_struct", "entries", &L->tc_entries, &entries_sz, true, &has_tc_entries },
		{ "malloc_chunk", "mchunk_prev_size", &L->mc_prev_size, NULL, false, NULL },
		{ "malloc_chunk", "mchunk_size", &L->mc_size, NULL, false, NULL },
		{ "malloc_chunk", "fd", &L->mc_fd, NULL, false, NULL },
		{ "malloc_chunk", "bk", &L->mc_bk, NULL, false, NULL },
	};
	struct tli_error *err = tli_layout_resolve(l, f, sizeof(f) / sizeof(f[0]));
	if (err)
		return err;
	uint64_t sz;
	if ((err = tli_layout_type_size(l, "malloc_state", &sz)))
		return err;
	L->ms_size = (uint32_t)sz;
	if ((err = tli_layout_type_size(l, "malloc_par", &sz)))
		return err;
	L->mp_size = (uint32_t)sz;
	if ((err = tli_layout_type_size(l, "heap_info", &sz)))
		return err;
	L->hi_size = (uint32_t)sz;
	L->nfastbins = fast_sz / sizeof(uint64_t);            /* mfastbinptr fastbinsY[NFASTBINS] */
	L->nbins = bins_sz / (2 * sizeof(uint64_t)) + 1;     /* mchunkptr bins[NBINS * 2 - 2] */
	if (!L->nfastbins || L->nfastbins > TLI_GL_MAX_FASTBINS || L->nbins < 3 || L->nbins > TLI_GL_MAX_BINS ||
	    L->ms_size > (1u << 16) || L->mp_size > TLI_GL_MAX_MP_SIZE)
		return tli_error_create(TLI_E_UNSUPPORTED, "unexpected malloc layout: %u fastbins, %u bins, "
					"malloc_state %u bytes, malloc_par %u bytes", L->nfastbins, L->nbins,
					L->ms_size, L->mp_size);
	if (!has_mp_tbins && has_mp_tsbins) {
		L->mp_tcache_bins = mp_tsbins;
		has_mp_tbins = true;
	}
	L->has_tcache_fields = has_mp_tcount && has_mp_tbins;
	*has_tc = has_tc_counts && has_tc_entries && entries_sz >= sizeof(uint64_t);
	if (*has_tc) {
		L->tc_nbins = entries_sz / sizeof(uint64_t); /* tcache_entry *entries[TCACHE_MAX_BINS] */
		L->tc_count_width = counts_sz / L->tc_nbins;
	}
	return NULL;
}

/* tcache_perthread_struct and tcache_entry (glibc >= 2.26). */
static struct tli_error *resolve_tcache(struct tli_layout *l, struct tli_gl_layout *L)
{
	uint64_t sz;
	struct tli_error *err = tli_layout_type_size(l, "tcache_perthread_struct", &sz);
	if (err)
		return err;
	L->tc_size = (uint32_t)sz;
	struct tli_member m;
	if ((err = tli_layout_member(l, "tcache_entry", "next", &m)))
		return err;
	L->te_next = (uint32_t)m.offset;
	L->has_tcache = L->tc_nbins <= TLI_GL_MAX_TCACHE_BINS && (L->tc_count_width == 1 || L->tc_count_width == 2) &&
			L->tc_size <= TLI_GL_MAX_TCACHE_SIZE;
	if (!L->has_tcache)
		return tli_error_create(TLI_E_UNSUPPORTED, "unexpected tcache_perthread_struct: %u bins, "
					"count width %u, size %u", L->tc_nbins, L->tc_count_width, L->tc_size);
	return NULL;
}

/* HEAP_MAX_SIZE and SAFE_LINKING when the layout knows them (macros: rarely). */
static void resolve_constants(struct tli_layout *l, struct tli_gl_layout *L)
{
	int64_t k;
	struct tli_error *e = tli_layout_constant(l, "HEAP_MAX_SIZE", &k);
	if (!e && k > 0 && !(k & (k - 1))) {
		L->heap_max = (uint64_t)k;
	} else {
		/* 2 * DEFAULT_MMAP_THRESHOLD_MAX = 2 * 4 MiB * sizeof(long) on LP64 (malloc/arena.c);
		 * a macro, so not in the DWARF. */
		L->heap_max = 2ull * 4 * 1024 * 1024 * sizeof(uint64_t);
	}
	tli_error_destroy(e);
	e = tli_layout_constant(l, "SAFE_LINKING", &k);
	L->safe_linking = e ? -1 : (k != 0);
	tli_error_destroy(e);
}

struct tli_error *tli_gl_layout_resolve(struct tli_layout *l, struct tli_gl_layout *L)
{
	bool has_tc = false;
	struct tli_error *err = resolve_members(l, L, &has_tc);
	if (!err && has_tc)
		err = resolve_tcache(l, L);
	if (err)
		return err;
	resolve_constants(l, L);
	struct tli_global g;
	if ((err = tli_layout_global(l, "main_arena", &g)))
		return err;
	L->main_arena = g.addr;
	if ((err = tli_layout_global(l, "mp_", &g)))
		return err;
	L->mp = g.addr;
	return NULL;
}
