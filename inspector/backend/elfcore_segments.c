/* SPDX-License-Identifier: MIT */
/**
 * @file elfcore_segments.c
 * The PT_LOAD segments of an ELF core (clamped where the file was cut short,
 * trimmed where a crafted core overlaps them) and the target's mappings: the
 * segments plus the file-backed ranges the core left out (gcore leaves out
 * read-only text), with the protections of the backing ELF file. Bytes that no
 * source holds (tli_elfcore_source: not in core) get mappings of their own
 * with no protection, so that no walker or root scan reads them: a crafted
 * PT_LOAD of 1 TiB with 4 KiB in the core is 4 KiB of memory, and a warning.
 */
#include "elfcore_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/vec.h"

static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int map_cmp(const void *a, const void *b)
{
	const struct tli_mapping *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

bool tli_elfcore_add_segment(struct tli_target *t, struct core *c, const Elf64_Phdr *ph, const char *name)
{
	if (ph->p_vaddr + ph->p_memsz < ph->p_vaddr) {
		tli_target_warn(t, "%s: PT_LOAD at vaddr 0x%" PRIx64 " with size 0x%" PRIx64
				" wraps around the address space; ignored", name,
				(uint64_t)ph->p_vaddr, (uint64_t)ph->p_memsz);
		return false;
	}
	struct seg *s = &c->segs[c->nsegs++];
	s->vaddr = ph->p_vaddr;
	s->memsz = ph->p_memsz;
	s->filesz = ph->p_filesz;
	s->offset = ph->p_offset;
	s->prot = prot_of_flags(ph->p_flags);
	if (s->filesz > s->memsz) {
		tli_target_warn(t, "%s: PT_LOAD at vaddr 0x%" PRIx64 " has p_filesz > p_memsz; clamped",
				name, s->vaddr);
		s->filesz = s->memsz;
	}
	s->avail = s->filesz;
	if (!in_file(c, s->offset, s->filesz)) {
		s->avail = s->offset < c->size ? c->size - s->offset : 0;
		if (c->warn_trunc++ < MAX_WARN_PER_KIND)
			tli_target_warn(t, "core truncated: PT_LOAD at vaddr 0x%" PRIx64 " needs bytes up to "
					"offset %" PRIu64 ", file has %zu; readable up to 0x%" PRIx64,
					s->vaddr, sat_add(s->offset, s->filesz), c->size, s->vaddr + s->avail);
	}
	return s->avail != 0;
}
void tli_elfcore_sort_segments(struct tli_target *t, struct core *c, const char *name)
{
	qsort(c->segs, c->nsegs, sizeof(*c->segs), seg_cmp);
	size_t k = 0;
	for (size_t i = 0; i < c->nsegs; i++) {
		struct seg s = c->segs[i];
		if (k) {
			uint64_t prev_end = c->segs[k - 1].vaddr + c->segs[k - 1].memsz;
			if (s.vaddr < prev_end) {
				uint64_t d = prev_end - s.vaddr;
				if (d >= s.memsz)
					continue;
				s.vaddr += d;
				s.memsz -= d;
				s.offset = sat_add(s.offset, d);
				s.filesz = s.filesz > d ? s.filesz - d : 0;
				s.avail = s.avail > d ? s.avail - d : 0;
				tli_target_warn(t, "%s: overlapping PT_LOAD segments at 0x%" PRIx64, name, s.vaddr);
			}
		}
		c->segs[k++] = s;
	}
	c->nsegs = k;
}
/*
 * Protection of a file-backed range that has no PT_LOAD in the core (gcore
 * leaves out read-only text): taken from the backing ELF file's PT_LOAD
 * flags, else read-only.
 */
static unsigned file_prot(struct core *c, size_t file, uint64_t off)
{
	struct bfile *f = &c->files[file];
	if (f->nph < 0) {
		f->nph = 0;
		Elf64_Ehdr eh;
		if (f->state == BF_OK && pread(f->fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) &&
		    !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
		    eh.e_phentsize >= sizeof(Elf64_Phdr) && eh.e_phnum <= 4096 &&
		    eh.e_phoff <= (uint64_t)INT64_MAX / 2) {
			for (unsigned i = 0; i < eh.e_phnum && f->nph < BFILE_MAX_PH; i++) {
				Elf64_Phdr ph;
				if (pread(f->fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
				    (ssize_t)sizeof(ph))
					break;
				if (ph.p_type != PT_LOAD)
					continue;
				f->ph[f->nph].off = ph.p_offset & ~4095ull;
				f->ph[f->nph].end = sat_add(ph.p_offset, ph.p_filesz);
				f->ph[f->nph].prot = prot_of_flags(ph.p_flags);
				f->nph++;
			}
		}
	}
	for (int i = 0; i < f->nph; i++)
		if (off >= f->ph[i].off && off < f->ph[i].end)
			return f->ph[i].prot;
	return TLI_PROT_R;
}

TLI_VEC(mapvec, struct tli_mapping);

/* One mapping [a, b) (prot 0: not in core), named after the file NT_FILE has at a
 * unless that file was refused. */
static bool add_map(struct core *c, struct mapvec *v, uint64_t a, uint64_t b, unsigned prot)
{
	struct tli_mapping *m = tli_vec_append(v);
	if (!m)
		return false;
	*m = (struct tli_mapping){ .start = a, .end = b, .prot = prot };
	const struct fmap *fm = tli_elfcore_find_fmap(c, a, NULL);
	if (fm && c->files[fm->file].state != BF_REFUSED) {
		const struct bfile *f = &c->files[fm->file];
		m->offset = fm->ofs + (a - fm->start);
		/* a library: the core's name for it, as a live target's maps give it, and where it
		 * is read here (inside --sysroot) beside it when that differs; the executable keeps
		 * the name it is read by (target.exe) */
		bool exe = (long)fm->file == c->exe_file;
		if (!(m->path = strdup(exe && f->path ? f->path : f->orig)))
			return false;
		if (!exe && f->path && strcmp(f->path, f->orig) && !(m->file = strdup(f->path)))
			return false;
	}
	return true;
}

/* -v: a run of bytes that a file backs, or that is not in core although mapped readable. */
static void say_run(const struct core *c, enum src src, uint64_t a, uint64_t b, const struct fmap *fm,
		    const struct seg *s)
{
	if (!c->verbose || src == SRC_CORE || src == SRC_LOST) /* (truncation: warned about already) */
		return;
	const struct bfile *f = fm ? &c->files[fm->file] : NULL;
	const char *p = f ? (f->path ? f->path : f->orig) : NULL;
	if (src == SRC_FILE) {
		fprintf(c->verbose, "tlinspect: core: 0x%" PRIx64 "-0x%" PRIx64 " from %s at offset 0x%" PRIx64 "\n",
			a, b, p, fm->ofs + (a - fm->start));
		return;
	}
	if (s && !(s->prot & TLI_PROT_R))
		return;
	const char *why = !f ? "no data in the core, no file"
			  : f->state == BF_OK ? "past the end of"
			  : f->state == BF_ABSENT ? "not readable here:" : "not read:";
	fprintf(c->verbose, "tlinspect: core: 0x%" PRIx64 "-0x%" PRIx64 " not in core (%s%s%s)\n", a, b, why,
		p ? " " : "", p ? p : "");
}

/* A readable PT_LOAD with bytes that neither the core nor any file holds (a bss-like
 * p_memsz > p_filesz tail: gdb has nothing there either). */
static void warn_unbacked(struct tli_target *t, struct core *c, const struct seg *s, uint64_t bytes)
{
	if (!bytes || !(s->prot & TLI_PROT_R))
		return;
	if (c->warn_unbacked++ < MAX_WARN_PER_KIND)
		tli_target_warn(t, "PT_LOAD at vaddr 0x%" PRIx64 " (p_memsz 0x%" PRIx64 ", p_filesz 0x%" PRIx64
				"): 0x%" PRIx64 " bytes have no data in the core and no file behind them; "
				"they are not in core", s->vaddr, s->memsz, s->filesz, bytes);
}

/* Protection of the readable run at a: the segment's, or in a range of no segment (inside
 * NT_FILE entry gap) the file's. */
static unsigned run_prot(struct core *c, const struct seg *s, const struct fmap *gap, uint64_t a)
{
	return s ? s->prot : file_prot(c, gap->file, gap->ofs + (a - gap->start));
}

/* The mappings of [a, lim) (inside segment s, or of NT_FILE entry gap where no segment is:
 * s NULL), split where it stops or starts being readable; the rest has prot 0. */
static bool add_runs(struct tli_target *t, struct core *c, struct mapvec *v, const struct seg *s,
		     const struct fmap *gap, uint64_t a, uint64_t lim)
{
	uint64_t run = a, unbacked = 0;
	bool run_readable = true;
	while (a < lim) {
		uint64_t b;
		const struct fmap *fm;
		enum src src = tli_elfcore_source(c, s, a, lim, &b, &fm);
		say_run(c, src, a, b, fm, s);
		if (src == SRC_NONE && !fm)
			unbacked += b - a;
		bool readable = src != SRC_NONE;
		if (a > run && readable != run_readable) {
			if (!add_map(c, v, run, a, run_readable ? run_prot(c, s, gap, run) : 0))
				return false;
			run = a;
		}
		run_readable = readable;
		a = b;
	}
	if (s)
		warn_unbacked(t, c, s, unbacked);
	return lim <= run || add_map(c, v, run, lim, run_readable ? run_prot(c, s, gap, run) : 0);
}

struct tli_error *tli_elfcore_build_maps(struct tli_target *t, struct core *c)
{
	struct mapvec v = { 0 };
	bool ok = true;
	for (size_t i = 0; i < c->nsegs && ok; i++)
		ok = add_runs(t, c, &v, &c->segs[i], NULL, c->segs[i].vaddr, c->segs[i].vaddr + c->segs[i].memsz);
	/* file-backed ranges with no PT_LOAD at all: readable through the file */
	for (size_t i = 0; i < c->nfmaps && ok; i++) {
		const struct fmap *fm = &c->fmaps[i];
		uint64_t a = fm->start;
		while (a < fm->end && ok) {
			uint64_t next;
			const struct seg *s = tli_elfcore_find_seg(c, a, &next);
			if (s) {
				a = s->vaddr + s->memsz;
				continue;
			}
			uint64_t b = next < fm->end ? next : fm->end;
			ok = add_runs(t, c, &v, NULL, fm, a, b);
			a = b;
		}
	}
	t->maps = v.v; /* freed with the target, also on error */
	t->nmaps = v.n;
	if (!ok)
		return &tli_enomem;
	if (c->warn_unbacked > MAX_WARN_PER_KIND)
		tli_target_warn(t, "%u readable PT_LOAD segments in total have bytes that are not in core",
				c->warn_unbacked);
	if (t->nmaps)
		qsort(t->maps, t->nmaps, sizeof(*t->maps), map_cmp);
	return NULL;
}
