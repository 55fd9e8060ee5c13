/* SPDX-License-Identifier: MIT */
/*
 * Find libc in the target, build its layout (DWARF of the separate debug file
 * found by build-id, plus that file's .symtab), resolve every offset the
 * walker needs by name, and locate each thread's `tcache` variable:
 *   &tcache = fs_base + *(GOT slot whose R_X86_64_TPOFF64 relocation has
 *             sym 0 and addend = DWARF TLS offset of `tcache`).
 * Without debug info (or with --no-dwarf) the layout comes from the runtime map
 * of the libc's version (runtime-maps/glibc/2.NN.map, chosen by the banner in
 * .rodata; no map = refused, exit 11) and main_arena, mp_ and tcache's GOT slot
 * from the stripped-libc finder (runtime_maps/libcfind.c).
 */
#include "core/fileio.h"
#include "libc.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/session.h"
#include "dwarf/dwarf.h"
#include "dwarf/elfsym.h"
#include "runtime_maps/maps.h"

#ifndef R_X86_64_TPOFF64
#define R_X86_64_TPOFF64 18
#endif

static bool is_libc_path(const char *p)
{
	if (!p)
		return false;
	const char *b = strrchr(p, '/');
	b = b ? b + 1 : p;
	if (!strncmp(b, "libc.so", 7))
		return true;
	/* libc-2.31.so */
	return !strncmp(b, "libc-", 5) && strstr(b, ".so") && b[5] >= '0' && b[5] <= '9';
}

/* GOT slot (link-time vaddr) holding the TPOFF of the TLS variable at block offset `off`. */
static struct tli_error *find_tpoff_slot(const char *path, uint64_t off, uint64_t *ret)
{
	int fd = tli_open_regular(path);
	if (fd < 0)
		return tli_error_errno(TLI_E_NO_TARGET, errno, "cannot open %s", path);
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	struct tli_error *err = NULL;
	bool found = false;
	size_t nfound = 0;
	if (!e || elf_kind(e) != ELF_K_ELF) {
		err = tli_error_create(TLI_E_BAD_FORMAT, "%s is not an ELF file", path);
		goto out;
	}
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		size_t n = sh.sh_size / sh.sh_entsize;
		if (n > 10000000)
			n = 10000000;
		for (size_t i = 0; i < n; i++) {
			GElf_Rela r;
			if (!gelf_getrela(d, (int)i, &r))
				break;
			if (GELF_R_TYPE(r.r_info) == R_X86_64_TPOFF64 && GELF_R_SYM(r.r_info) == 0 &&
			    (uint64_t)r.r_addend == off) {
				if (!found)
					*ret = r.r_offset;
				found = true;
				nfound++;
			}
		}
	}
	if (!found)
		err = tli_error_create(TLI_E_NO_INFO, "no R_X86_64_TPOFF64 relocation for TLS offset 0x%" PRIx64
				       " in %s", off, path);
out:
	if (e)
		elf_end(e);
	close(fd);
	return err;
}

static void split_dirs(const struct tli_glibc_opts *o, struct tli_gl_ctx *c, struct tli_dwarf_opts *dopts)
{
	if (o && o->n_debug_dirs) {
		dopts->debug_dirs = o->debug_dirs;
		dopts->n_debug_dirs = o->n_debug_dirs;
		return;
	}
	const char *env = getenv("TLINSPECT_DEBUG_DIRS");
	if (!env || !*env)
		return;
	c->dirs_buf = strdup(env);
	if (!c->dirs_buf)
		return;
	for (char *p = strtok(c->dirs_buf, ":"); p && c->ndirs < 8; p = strtok(NULL, ":"))
		c->dirs[c->ndirs++] = p;
	dopts->debug_dirs = (const char *const *)c->dirs;
	dopts->n_debug_dirs = c->ndirs;
}

static struct tli_error *resolve(struct tli_gl_ctx *c)
{
	struct tli_layout *l = c->layout;
	struct tli_gl_layout *L = &c->L;
	uint32_t fast_sz = 0, bins_sz = 0, counts_sz = 0, entries_sz = 0, u;
	bool has_tc_counts = false, has_tc_entries = false, has_mp_tcount = false, has_mp_tbins = false;
	bool has_mp_tsbins = false;
	uint32_t mp_tsbins = 0;
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
	L->nfastbins = fast_sz / 8;
	L->nbins = bins_sz / 16 + 1;
	if (!L->nfastbins || L->nfastbins > 16 || L->nbins < 3 || L->nbins > 256 || L->ms_size > (1u << 16) ||
	    L->mp_size > 512)
		return tli_error_create(TLI_E_UNSUPPORTED, "unexpected malloc layout: %u fastbins, %u bins, "
					"malloc_state %u bytes, malloc_par %u bytes", L->nfastbins, L->nbins,
					L->ms_size, L->mp_size);
	if (!has_mp_tbins && has_mp_tsbins) {
		L->mp_tcache_bins = mp_tsbins;
		has_mp_tbins = true;
	}
	L->has_tcache_fields = has_mp_tcount && has_mp_tbins;
	if (has_tc_counts && has_tc_entries && entries_sz >= 8) {
		L->tc_nbins = entries_sz / 8;
		L->tc_count_width = counts_sz / L->tc_nbins;
		if ((err = tli_layout_type_size(l, "tcache_perthread_struct", &sz)))
			return err;
		L->tc_size = (uint32_t)sz;
		struct tli_member m;
		if ((err = tli_layout_member(l, "tcache_entry", "next", &m)))
			return err;
		L->te_next = (uint32_t)m.offset;
		L->has_tcache = L->tc_nbins <= 128 && (L->tc_count_width == 1 || L->tc_count_width == 2) &&
				L->tc_size <= 4096;
		if (!L->has_tcache)
			return tli_error_create(TLI_E_UNSUPPORTED, "unexpected tcache_perthread_struct: %u bins, "
						"count width %u, size %u", L->tc_nbins, L->tc_count_width, L->tc_size);
	}
	(void)u;
	int64_t k;
	struct tli_error *e2 = tli_layout_constant(l, "HEAP_MAX_SIZE", &k);
	if (!e2 && k > 0 && !(k & (k - 1))) {
		L->heap_max = (uint64_t)k;
	} else {
		/* 2 * DEFAULT_MMAP_THRESHOLD_MAX = 2 * 4 MiB * sizeof(long) on LP64 (malloc/arena.c);
		 * a macro, so not in the DWARF. */
		L->heap_max = 2ull * 4 * 1024 * 1024 * sizeof(uint64_t);
	}
	tli_error_destroy(e2);
	e2 = tli_layout_constant(l, "SAFE_LINKING", &k);
	L->safe_linking = e2 ? -1 : (k != 0);
	tli_error_destroy(e2);
	struct tli_global g;
	if ((err = tli_layout_global(l, "main_arena", &g)))
		return err;
	L->main_arena = g.addr;
	if ((err = tli_layout_global(l, "mp_", &g)))
		return err;
	L->mp = g.addr;
	return NULL;
}

/* Process-wide cache filled by tli_glibc_prepare() (before the target is stopped). */
static struct {
	char *path;
	char build_id[2 * 64 + 1];
	uint64_t bias;
	bool no_dwarf;
	struct tli_layout *layout;
	struct tli_dwarf *dw;
	struct tli_gl_layout L;
	char *debug_path;
} cache;

/* Layout of libc at `path` (bias c->bias): DWARF of the separate debug file, then its .symtab. */
static struct tli_error *build_layout(struct tli_gl_ctx *c, const char *path, const struct tli_glibc_opts *o,
				      bool no_dwarf)
{
	struct tli_error *err = tli_layout_create(&c->layout);
	if (err)
		return err;
	tli_layout_set_bias(c->layout, c->bias);
	struct tli_dwarf_opts dopts = { .no_dwarf = no_dwarf };
	split_dirs(o, c, &dopts);
	if ((err = tli_dwarf_open(path, &dopts, &c->dw)))
		return err;
	struct tli_dwarf *dw = c->dw;
	if ((err = tli_dwarf_add_to_layout(dw, c->layout))) {
		c->dw = NULL;
		return err;
	}
	if (tli_dwarf_has_dwarf(dw)) {
		c->debug_path = strdup(tli_dwarf_debug_path(dw));
		struct tli_elfsym *sym = NULL;
		struct tli_error *e = c->debug_path ? tli_elfsym_open(c->debug_path, &sym) : &tli_enomem;
		if (!e)
			e = tli_elfsym_add_to_layout(sym, c->layout);
		tli_error_destroy(e);
	} else {
		/* no debug info: the glibc runtime map of this version + the stripped-libc finder */
		char key[32], banner[512];
		struct tli_map *map = NULL;
		if ((err = tli_libc_version(path, key, sizeof(key), banner, sizeof(banner))))
			return tli_error_wrap(err, "no debug info for %s (%s) and no glibc version to choose a "
					      "runtime map by", path, tli_dwarf_why_none(dw));
		if ((err = tli_maps_load_glibc(key, banner, &map)))
			return err;
		if ((err = tli_maps_add_glibc_provider(c->layout, path, map)))
			return err;
		if ((err = resolve(c)))
			return tli_error_wrap(err, "resolving glibc malloc layout of %s from the glibc %s runtime map "
					      "(no debug info)", path, key);
		return NULL;
	}
	if ((err = resolve(c))) {
		err = tli_error_wrap(err, "resolving glibc malloc layout of %s%s%s%s", path,
				     tli_dwarf_has_dwarf(dw) ? "" : " (no debug info: install libc6-dbg; ",
				     tli_dwarf_has_dwarf(dw) ? "" : tli_dwarf_why_none(dw),
				     tli_dwarf_has_dwarf(dw) ? "" : ")");
		if (!tli_dwarf_has_dwarf(dw))
			err->code = TLI_E_NO_INFO;
	}
	return err;
}

struct tli_error *tli_glibc_prepare(int pid, const struct tli_glibc_opts *o, bool no_dwarf)
{
	char mp[64], line[4600], path[4096], best[4096] = "";
	snprintf(mp, sizeof(mp), "/proc/%d/maps", pid);
	FILE *f = fopen(mp, "r");
	if (!f)
		return tli_error_errno(TLI_E_NO_TARGET, errno, "cannot read %s", mp);
	uint64_t lo = UINT64_MAX;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, e, off;
		char perm[8];
		path[0] = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %4095[^\n]", &a, &e, perm, &off, path) < 4)
			continue;
		if (!is_libc_path(path) || (best[0] && strcmp(best, path)))
			continue;
		snprintf(best, sizeof(best), "%s", path);
		if (a - off < lo)
			lo = a - off;
	}
	fclose(f);
	if (!best[0])
		return tli_error_create(TLI_E_NOT_GO, "pid %d has no libc.so.6 mapped", pid);
	struct tli_gl_ctx tmp;
	memset(&tmp, 0, sizeof(tmp));
	struct tli_elfinfo info;
	struct tli_error *err = tli_elf_read_info(best, &info);
	if (err)
		return err;
	tmp.bias = lo - info.min_load_vaddr;
	tli_build_id_hex(info.build_id, info.build_id_len, tmp.build_id, sizeof(tmp.build_id));
	err = build_layout(&tmp, best, o, no_dwarf);
	if (err) {
		tli_layout_destroy(tmp.layout);
		free(tmp.debug_path);
		free(tmp.dirs_buf);
		return err;
	}
	tli_glibc_unprepare();
	cache.path = strdup(best);
	snprintf(cache.build_id, sizeof(cache.build_id), "%s", tmp.build_id);
	cache.bias = tmp.bias;
	cache.no_dwarf = no_dwarf;
	cache.layout = tmp.layout;
	cache.dw = tmp.dw;
	cache.L = tmp.L;
	cache.debug_path = tmp.debug_path;
	free(tmp.dirs_buf); /* the dwarf handle copied the directory list at open */
	return NULL;
}

void tli_glibc_unprepare(void)
{
	tli_layout_destroy(cache.layout);
	free(cache.path);
	free(cache.debug_path);
	memset(&cache, 0, sizeof(cache));
}

struct tli_error *tli_gl_ctx_open(struct tli_session *s, const struct tli_glibc_opts *o,
				  struct tli_gl_ctx **ret)
{
	struct tli_target *t = s->target;
	struct tli_gl_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return &tli_enomem;
	struct tli_error *err = NULL;
	/* 1. libc's mappings */
	const char *path = NULL;
	uint64_t lo = UINT64_MAX;
	for (size_t i = 0; i < t->nmaps; i++) {
		const struct tli_mapping *m = &t->maps[i];
		if (!is_libc_path(m->path))
			continue;
		if (!path)
			path = m->path;
		if (strcmp(m->path, path))
			continue;
		if (m->start - m->offset < lo)
			lo = m->start - m->offset;
	}
	if (!path) {
		err = tli_error_create(TLI_E_NOT_GO, "the target has no libc.so.6 mapped: no glibc malloc "
				       "(statically linked programs are not supported yet)");
		goto fail;
	}
	c->libc_path = strdup(path);
	if (!c->libc_path) {
		err = &tli_enomem;
		goto fail;
	}
	path = c->libc_path; /* the maps may be re-read when a deferred stop happens */
	struct tli_elfinfo info;
	if ((err = tli_elf_read_info(path, &info))) {
		err = tli_error_wrap(err, "reading libc %s", path);
		goto fail;
	}
	c->bias = lo - info.min_load_vaddr;
	tli_build_id_hex(info.build_id, info.build_id_len, c->build_id, sizeof(c->build_id));
	/* 2. layout (files only: happens before a deferred stop) */
	if (cache.layout && !strcmp(cache.path, path) && !strcmp(cache.build_id, c->build_id) &&
	    cache.bias == c->bias && cache.no_dwarf == s->opts.no_dwarf) {
		c->borrowed = true;
		c->layout = cache.layout;
		c->dw = cache.dw;
		c->L = cache.L;
		c->debug_path = cache.debug_path ? strdup(cache.debug_path) : NULL;
	} else if ((err = build_layout(c, path, o, s->opts.no_dwarf))) {
		goto fail;
	}
	/* the GOT slot of `tcache` (file-only): DWARF's TLS offset -> its TPOFF64 relocation, or,
	 * without debug info, the slot malloc loads before its fs: access (libcfind.c) */
	struct tli_error *tls_err = NULL;
	if (!c->L.has_tcache) {
		tls_err = tli_error_create(TLI_E_NO_INFO, "no tcache in this glibc");
	} else if (tli_dwarf_has_dwarf(c->dw)) {
		uint64_t tls_off = 0;
		tls_err = tli_dwarf_tls_offset(c->dw, "tcache", &tls_off);
		if (!tls_err)
			tls_err = find_tpoff_slot(path, tls_off, &c->got_slot);
	} else {
		struct tli_libcfind r;
		tls_err = tli_libcfind_file(path, NULL, TLI_LIBCFIND_TCACHE, &r);
		if (!tls_err && r.tcache_direct) {
			c->tpoff = r.tcache_tpoff;
			c->have_tpoff = true;
		} else if (!tls_err) {
			c->got_slot = r.tcache_got;
		}
	}
	/* 3. the file on disk must be the libc in memory: its build-id is in the first page
	 *    (the first memory access: a deferred live target stops here) */
	if (info.build_id_len) {
		uint8_t page[4096];
		size_t nf = 0;
		struct tli_range r = { lo, sizeof(page) };
		tli_error_destroy(tli_target_capture(t, &r, 1, 0, &nf));
		struct tli_error *e = tli_target_read(t, lo, page, sizeof(page));
		if (e) {
			tli_session_warn(s, "cannot check libc's build-id in the target (%s)", e->msg);
			tli_error_destroy(e);
		} else if (!memmem(page, sizeof(page), info.build_id, info.build_id_len)) {
			err = tli_error_create(TLI_E_MISMATCH, "%s on disk (build-id %s) is not the libc mapped in "
					       "the target", path, c->build_id);
			tli_error_destroy(tls_err);
			goto fail;
		}
	}
	if ((err = tli_target_stop(t))) {
		tli_error_destroy(tls_err);
		goto fail; /* threads and registers exist once the target is stopped */
	}
	/* 4. threads: &tcache = fs_base + TPOFF (from libc's GOT) */
	c->th = calloc(t->nthreads + 1, sizeof(*c->th));
	if (!c->th) {
		tli_error_destroy(tls_err);
		err = &tli_enomem;
		goto fail;
	}
	struct tli_error *e = tls_err;
	if (!e && !c->have_tpoff) {
		c->got_slot += c->bias;
		size_t nf = 0;
		struct tli_range r = { c->got_slot, 8 };
		tli_error_destroy(tli_target_capture(t, &r, 1, 0, &nf));
		uint64_t v;
		e = tli_target_read_u64(t, c->got_slot, &v);
		if (!e) {
			c->tpoff = (int64_t)v;
			c->have_tpoff = true;
		}
	}
	if (e) {
		tli_session_warn(s, "tcache of each thread not found (%s); tcache chunks are shown as in use",
				 e->msg);
		tli_error_destroy(e);
	}
	for (size_t i = 0; i < t->nthreads; i++) {
		const struct tli_thread *th = &t->threads[i];
		struct tli_gl_thread *g = &c->th[c->nth++];
		g->tid = th->tid;
		g->tp = th->regs_valid ? th->regs.fs_base : 0;
		if (c->have_tpoff && g->tp)
			g->tcache_slot = g->tp + (uint64_t)c->tpoff;
	}
	*ret = c;
	return NULL;
fail:
	tli_gl_ctx_free(c);
	return err;
}

void tli_gl_ctx_free(struct tli_gl_ctx *c)
{
	if (!c)
		return;
	if (!c->borrowed)
		tli_layout_destroy(c->layout); /* owns c->dw */
	free(c->libc_path);
	free(c->debug_path);
	free(c->dirs_buf);
	free(c->th);
	free(c);
}
