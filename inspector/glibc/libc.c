/* SPDX-License-Identifier: MIT */
/*
 * Find libc in the target's mappings, get its layout through the session's hook
 * (core/liblayout.h: DWARF of the separate debug file found by build-id plus that
 * file's .symtab, or without debug info the glibc runtime map of its version and
 * the stripped-libc finder), resolve every offset the walker needs by name
 * (malloc_layout.c), and locate each thread's `tcache` variable:
 *   &tcache = fs_base + *(GOT slot whose R_X86_64_TPOFF64 relocation has
 *             sym 0 and addend = DWARF TLS offset of `tcache`)
 * (without debug info the hook finds that slot in malloc's code).
 */
#include "libc.h"

#include <errno.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fileio.h"
#include "core/session.h"
#include "core/sysroot.h"
#include "dwarf/dwarf.h"
#include "dwarf/elfsym.h"

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

/* libc in the target's mappings: the first libc-named mapping, and the lowest
 * start - offset of that file's mappings (*lo). NULL if there is none. */
static const struct tli_mapping *find_libc(const struct tli_target *t, uint64_t *lo)
{
	const struct tli_mapping *first = NULL;
	*lo = UINT64_MAX;
	for (size_t i = 0; i < t->nmaps; i++) {
		const struct tli_mapping *m = &t->maps[i];
		if (!is_libc_path(m->path))
			continue;
		if (!first)
			first = m;
		if (strcmp(m->path, first->path))
			continue;
		if (m->start - m->offset < *lo)
			*lo = m->start - m->offset;
	}
	return first;
}

/* The file to open for libc: in a container, libc's own file through /proc (live_ns.c). */
static const char *libc_file(const struct tli_gl_ctx *c)
{
	return c->libc_file ? c->libc_file : c->libc_path;
}

/* "PATH" or "PATH (read as /proc/P/root/PATH, the file in the target's root)": both views. */
static const char *libc_desc(const struct tli_gl_ctx *c, char *buf, size_t cap)
{
	if (!c->libc_file)
		snprintf(buf, cap, "%s", c->libc_path);
	else
		snprintf(buf, cap, "%s (read as %s, the file in the target's %s)", c->libc_path, c->libc_file,
			 strstr(c->libc_file, "/map_files/") ? "mapping" : "root");
	return buf;
}

/* GOT slot (link-time vaddr) holding the TPOFF of the TLS variable at block offset `off`. */
static struct tli_error *find_tpoff_slot(const char *path, uint64_t off, uint32_t reloc, uint64_t *ret)
{
	int fd = tli_open_regular(path);
	if (fd < 0)
		return tli_error_errno(TLI_E_NO_TARGET, errno, "cannot open %s", path);
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	struct tli_error *err = NULL;
	bool found = false;
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
			if (GELF_R_TYPE(r.r_info) == reloc && GELF_R_SYM(r.r_info) == 0 &&
			    (uint64_t)r.r_addend == off) {
				if (!found)
					*ret = r.r_offset;
				found = true;
			}
		}
	}
	if (!found)
		err = tli_error_create(TLI_E_NO_INFO, "no TP-offset relocation (ELF type %u) for TLS offset 0x%" PRIx64
				       " in %s", reloc, off, path);
out:
	if (e)
		elf_end(e);
	close(fd);
	return err;
}

/* The debug directories: the options', else the colon-separated $TLINSPECT_DEBUG_DIRS
 * (up to 8; split in *buf, freed by the caller), else the target's root's or the
 * --sysroot layers' and the host's, else the finder's default. */
static void debug_dirs(const struct tli_glibc_opts *o, const char *root, const char *sysroot,
		       struct tli_lib_layout_req *req, char **buf, const char *dirs[8])
{
	*buf = NULL;
	if (o && o->n_debug_dirs) {
		req->debug_dirs = o->debug_dirs;
		req->n_debug_dirs = o->n_debug_dirs;
		return;
	}
	const char *env = getenv("TLINSPECT_DEBUG_DIRS");
	if ((!env || !*env) && (root || (sysroot && *sysroot))) {
		/* a target in a container (or a core of one): its own libc6-dbg first (inside its
		 * root), then the host's; either is taken only if its build-id is libc's */
		req->n_debug_dirs = tli_debug_dirs_for(root, sysroot, dirs, 8, buf);
		req->debug_dirs = dirs;
		return;
	}
	if (!env || !*env || !(*buf = strdup(env)))
		return;
	size_t n = 0;
	for (char *p = strtok(*buf, ":"); p && n < 8; p = strtok(NULL, ":"))
		dirs[n++] = p;
	req->debug_dirs = dirs;
	req->n_debug_dirs = n;
}

/* Layout of libc at `path` (bias c->bias) through the session's finder, then the malloc
 * names resolved in it (c->L). On error c->layout may be set (the caller destroys it). */
static struct tli_error *build_layout(struct tli_gl_ctx *c, const struct tli_lib_layout_finder *f,
				      const char *path, const struct tli_session *s,
				      const struct tli_glibc_opts *o)
{
	if (!f || !f->libc_layout)
		return tli_error_create(TLI_E_INTERNAL, "no layout finder for libc in this session");
	struct tli_lib_layout_req req = { .path = path, .bias = c->bias, .no_dwarf = s->opts.no_dwarf };
	const char *dirs[8];
	char *dirs_buf;
	debug_dirs(o, s->target->root, s->opts.sysroot, &req, &dirs_buf, dirs);
	struct tli_lib_layout ll;
	struct tli_error *err = f->libc_layout(&req, &ll);
	free(dirs_buf); /* the DWARF handle copied what it needs at open */
	if (err)
		return err;
	c->layout = ll.layout;
	c->dw = ll.dw;
	c->debug_path = ll.debug_path;
	if (!(err = tli_gl_layout_resolve(c->layout, &c->L)))
		return NULL;
	char desc[2 * PATH_MAX];
	if (c->libc_path)
		path = libc_desc(c, desc, sizeof(desc));
	if (ll.map_key[0])
		return tli_error_wrap(err, "resolving glibc malloc layout of %s from the glibc %s runtime map "
				      "(no debug info)", path, ll.map_key);
	bool has = tli_dwarf_has_dwarf(c->dw);
	err = tli_error_wrap(err, "resolving glibc malloc layout of %s%s%s%s", path,
			     has ? "" : " (no debug info: install libc6-dbg; ", has ? "" : tli_dwarf_why_none(c->dw),
			     has ? "" : ")");
	if (!has)
		err->code = TLI_E_NO_INFO;
	return err;
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
	bool early;             /* by tli_glibc_prepare_early: tli_glibc_leaks drops it */
} cache;

struct tli_error *tli_glibc_prepare(struct tli_session *s, const struct tli_glibc_opts *o)
{
	uint64_t lo;
	const struct tli_mapping *m = find_libc(s->target, &lo);
	if (!m)
		return tli_error_create(TLI_E_NOT_GO, "pid %d has no libc.so.6 mapped", s->opts.pid);
	const char *path = tli_mapping_file(m);
	struct tli_gl_ctx tmp;
	memset(&tmp, 0, sizeof(tmp));
	struct tli_elfinfo info;
	struct tli_error *err = tli_elf_read_info(path, &info);
	if (err)
		return err;
	tmp.bias = lo - info.min_load_vaddr;
	tli_build_id_hex(info.build_id, info.build_id_len, tmp.build_id, sizeof(tmp.build_id));
	err = build_layout(&tmp, s->lib_layout, path, s, o);
	if (err) {
		tli_layout_destroy(tmp.layout);
		free(tmp.debug_path);
		return err;
	}
	tli_glibc_unprepare();
	cache.path = strdup(path);
	snprintf(cache.build_id, sizeof(cache.build_id), "%s", tmp.build_id);
	cache.bias = tmp.bias;
	cache.no_dwarf = s->opts.no_dwarf;
	cache.layout = tmp.layout;
	cache.dw = tmp.dw;
	cache.L = tmp.L;
	cache.debug_path = tmp.debug_path;
	return NULL;
}

void tli_glibc_prepare_early(struct tli_session *s)
{
	const struct tli_target *t = s->target;
	struct tli_glibc_opts o = { 0 }; /* the layout depends on no command option */
	if (s->opts.pid && t && t->stop_deferred && !t->stopped && !tli_error_drop(tli_glibc_prepare(s, &o)))
		cache.early = true;
}

bool tli_glibc_prepared_early(void)
{
	return cache.early;
}

void tli_glibc_unprepare(void)
{
	tli_layout_destroy(cache.layout);
	free(cache.path);
	free(cache.debug_path);
	memset(&cache, 0, sizeof(cache));
}

/* 1. libc's file from the target's mappings: its path, bias and build-id (*lo: the lowest
 *    address it is mapped at). */
static struct tli_error *locate_libc(struct tli_target *t, struct tli_gl_ctx *c, struct tli_elfinfo *info,
				     uint64_t *lo)
{
	const struct tli_mapping *m = find_libc(t, lo);
	if (!m)
		return tli_error_create(TLI_E_NOT_GO, "the target has no libc.so.6 mapped: no glibc malloc "
					"(statically linked programs are not supported yet)");
	c->libc_path = strdup(m->path); /* the maps may be re-read when a deferred stop happens */
	if (!c->libc_path || (m->file && !(c->libc_file = strdup(m->file))))
		return &tli_enomem;
	struct tli_error *err = tli_elf_read_info(libc_file(c), info);
	char desc[2 * PATH_MAX];
	if (err)
		return tli_error_wrap(err, "reading libc %s", libc_desc(c, desc, sizeof(desc)));
	c->bias = *lo - info->min_load_vaddr;
	tli_build_id_hex(info->build_id, info->build_id_len, c->build_id, sizeof(c->build_id));
	return NULL;
}

/* 2. libc's layout (files only: happens before a deferred stop), from the prepare cache
 *    when it is for the same file. */
static struct tli_error *libc_layout(struct tli_session *s, struct tli_gl_ctx *c, const struct tli_glibc_opts *o)
{
	/* the same libc is the same build-id (a path may name another file in a container) */
	if (cache.layout && c->build_id[0] && !strcmp(cache.build_id, c->build_id) &&
	    cache.bias == c->bias && cache.no_dwarf == s->opts.no_dwarf) {
		c->borrowed = true;
		c->layout = cache.layout;
		c->dw = cache.dw;
		c->L = cache.L;
		c->debug_path = cache.debug_path ? strdup(cache.debug_path) : NULL;
	} else {
		struct tli_error *err = build_layout(c, s->lib_layout, libc_file(c), s, o);
		if (err)
			return err;
	}
	if (s->opts.verbose && c->dw) {
		char buf[3 * PATH_MAX];
		fprintf(stderr, "tlinspect: libc %s\n", tli_dwarf_describe(c->dw, s->target->root, s->opts.sysroot,
									     buf, sizeof(buf)));
	}
	/* servers were asked and gave nothing: say so, the answer now rests on the runtime map */
	const char *why = c->dw ? tli_dwarf_debuginfod_error(c->dw) : NULL;
	if (why)
		tli_session_warn(s, "no debug info for libc from %s; using the glibc runtime map", why);
	return NULL;
}

/* 3. The GOT slot of `tcache` (file-only): DWARF's TLS offset -> its TPOFF64 relocation, or,
 *    without debug info, the slot malloc loads before its fs: access (the finder). Failing
 *    is not fatal (returned: the threads' tcaches are then unknown). */
static struct tli_error *tcache_slot(struct tli_session *s, struct tli_gl_ctx *c)
{
	if (!c->L.has_tcache)
		return tli_error_create(TLI_E_NO_INFO, "no tcache in this glibc");
	struct tli_error *dwerr = NULL;
	if (tli_dwarf_has_dwarf(c->dw)) {
		uint64_t tls_off = 0;
		dwerr = tli_dwarf_tls_offset(c->dw, "tcache", &tls_off);
		if (!dwerr)
			dwerr = find_tpoff_slot(libc_file(c), tls_off, s->target->arch->tls_tpoff_reloc, &c->got_slot);
		/* arm64's gcc gives TLS variables no DWARF location, and its GOT slot may name a
		 * neighbour: then the code's own access, as without debug info */
		if (!dwerr || !s->lib_layout || !s->lib_layout->libc_tcache_slot)
			return dwerr;
	}
	if (!s->lib_layout || !s->lib_layout->libc_tcache_slot)
		return tli_error_create(TLI_E_INTERNAL, "no layout finder for libc in this session");
	struct tli_libc_tls_slot slot;
	struct tli_error *err = s->lib_layout->libc_tcache_slot(libc_file(c), &slot);
	if (err && dwerr) {
		tli_error_destroy(err);
		return dwerr;
	}
	tli_error_destroy(dwerr);
	if (!err && slot.direct) {
		c->tpoff = slot.tpoff;
		c->have_tpoff = true;
	} else if (!err) {
		c->got_slot = slot.got;
		c->tls_disp = slot.disp;
	}
	return err;
}

/* 4. The file on disk must be the libc in memory: its build-id is in the first page
 *    (the first memory access: a deferred live target stops here). */
static struct tli_error *check_build_id(struct tli_session *s, struct tli_gl_ctx *c,
					const struct tli_elfinfo *info, uint64_t lo)
{
	if (!info->build_id_len)
		return NULL;
	struct tli_target *t = s->target;
	uint8_t page[TLI_GL_PAGESIZE];
	size_t nf = 0;
	struct tli_range r = { lo, sizeof(page) };
	tli_error_destroy(tli_target_capture(t, &r, 1, 0, &nf));
	struct tli_error *e = tli_target_read(t, lo, page, sizeof(page));
	if (e) {
		tli_session_warn(s, "cannot check libc's build-id in the target (%s)", e->msg);
		tli_error_destroy(e);
	} else if (!memmem(page, sizeof(page), info->build_id, info->build_id_len)) {
		char desc[2 * PATH_MAX];
		return tli_error_create(TLI_E_MISMATCH, "%s on disk (build-id %s) is not the libc mapped in "
					"the target", libc_desc(c, desc, sizeof(desc)), c->build_id);
	}
	return NULL;
}

/* 5. Threads (known once the target is stopped): &tcache = fs_base + TPOFF (from libc's
 *    GOT, or the offset itself). tls_err: step 3's failure (consumed). */
static struct tli_error *thread_slots(struct tli_session *s, struct tli_gl_ctx *c, struct tli_error *tls_err)
{
	struct tli_target *t = s->target;
	c->th = calloc(t->nthreads + 1, sizeof(*c->th));
	if (!c->th) {
		tli_error_destroy(tls_err);
		return &tli_enomem;
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
			c->tpoff = (int64_t)v + c->tls_disp;
			c->have_tpoff = true;
		}
	}
	if (e) {
		tli_session_warn(s, "tcache of each thread not found (%s); tcaches are looked for by their content "
				 "instead (an empty one is not found, and whose each is stays unknown)", e->msg);
		tli_error_destroy(e);
	}
	size_t noregs = tli_target_threads_without_regs(t), notp = 0;
	for (size_t i = 0; i < t->nthreads; i++)
		notp += t->threads[i].regs_valid && t->threads[i].no_tp;
	if (noregs)
		tli_session_warn(s, "registers of %zu of %zu threads unknown (%s): their tcaches are looked for by "
				 "their content (an empty one is not found, and whose each is stays unknown)", noregs, t->nthreads,
				 t->no_stop ? "read with --no-stop and no registers from the debugger" : "not in the core");
	if (notp)
		tli_session_warn(s, "thread pointer (%s) of %zu of %zu threads unknown (%s): their tcaches are looked "
				 "for by their content (an empty one is not found, and whose each is stays unknown)",
				 t->arch->tp_name, notp, t->nthreads,
				 t->kind == TLI_TARGET_CORE ? "the core has no note with it, as qemu-user's cores"
							    : "the debugger holding the process did not give it");
	for (size_t i = 0; i < t->nthreads; i++) {
		const struct tli_thread *th = &t->threads[i];
		struct tli_gl_thread *g = &c->th[c->nth++];
		g->tid = th->tid;
		g->tp = th->regs_valid && !th->no_tp ? th->regs.tp : 0;
		if (c->have_tpoff && g->tp)
			g->tcache_slot = g->tp + (uint64_t)c->tpoff;
	}
	return NULL;
}

struct tli_error *tli_gl_ctx_open(struct tli_session *s, const struct tli_glibc_opts *o,
				  struct tli_gl_ctx **ret)
{
	struct tli_gl_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return &tli_enomem;
	struct tli_elfinfo info;
	uint64_t lo;
	struct tli_error *err = locate_libc(s->target, c, &info, &lo);
	if (!err)
		err = libc_layout(s, c, o);
	if (err)
		goto fail;
	struct tli_error *tls_err = tcache_slot(s, c);
	if ((err = check_build_id(s, c, &info, lo)) || (err = tli_target_stop(s->target))) {
		/* threads and registers exist once the target is stopped */
		tli_error_destroy(tls_err);
		goto fail;
	}
	if ((err = thread_slots(s, c, tls_err))) /* consumes tls_err */
		goto fail;
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
	free(c->libc_file);
	free(c->debug_path);
	free(c->th);
	free(c);
}
