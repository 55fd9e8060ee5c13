/* SPDX-License-Identifier: MIT */
/**
 * @file elfcore_segments.c
 * The PT_LOAD segments of an ELF core (clamped where the file was cut short,
 * trimmed where a crafted core overlaps them) and the target's mappings: the
 * segments plus the file-backed ranges the core left out (gcore leaves out
 * read-only text), with the protections of the backing ELF file.
 */
#include "elfcore_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
 * flags when the file is readable here, else read-only.
 */
static unsigned file_prot(struct core *c, size_t file, uint64_t off)
{
	struct bfile *f = &c->files[file];
	if (f->nph < 0) {
		f->nph = 0;
		int fd = tli_elfcore_bfile_fd(f);
		Elf64_Ehdr eh;
		if (fd >= 0 && pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) &&
		    !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
		    eh.e_phentsize >= sizeof(Elf64_Phdr) && eh.e_phnum <= 4096 &&
		    eh.e_phoff <= (uint64_t)INT64_MAX / 2) {
			for (unsigned i = 0; i < eh.e_phnum && f->nph < BFILE_MAX_PH; i++) {
				Elf64_Phdr ph;
				if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
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

struct tli_error *tli_elfcore_build_maps(struct tli_target *t, struct core *c)
{
	/* every segment, plus the gaps between segments inside file entries:
	 * each gap ends at a segment start or at an entry end */
	size_t cap = 2 * c->nsegs + 2 * c->nfmaps + 1;
	t->maps = calloc(cap, sizeof(*t->maps));
	if (!t->maps)
		return &tli_enomem;
	for (size_t i = 0; i < c->nsegs; i++) {
		const struct seg *s = &c->segs[i];
		struct tli_mapping *m = &t->maps[t->nmaps++];
		m->start = s->vaddr;
		m->end = s->vaddr + s->memsz;
		m->prot = s->prot;
		const struct fmap *fm = tli_elfcore_find_fmap(c, s->vaddr);
		if (fm) {
			m->offset = fm->ofs + (s->vaddr - fm->start);
			m->path = strdup(c->files[fm->file].path);
			if (!m->path)
				return &tli_enomem;
		}
	}
	/* file-backed ranges with no PT_LOAD at all: readable through the file */
	for (size_t i = 0; i < c->nfmaps && t->nmaps < cap; i++) {
		const struct fmap *fm = &c->fmaps[i];
		uint64_t a = fm->start;
		while (a < fm->end && t->nmaps < cap) {
			uint64_t next;
			const struct seg *s = tli_elfcore_find_seg(c, a, &next);
			if (s) {
				a = s->vaddr + s->memsz;
				continue;
			}
			uint64_t b = next < fm->end ? next : fm->end;
			struct tli_mapping *m = &t->maps[t->nmaps++];
			m->start = a;
			m->end = b;
			m->offset = fm->ofs + (a - fm->start);
			m->prot = file_prot(c, fm->file, m->offset);
			m->path = strdup(c->files[fm->file].path);
			if (!m->path)
				return &tli_enomem;
			a = b;
		}
	}
	qsort(t->maps, t->nmaps, sizeof(*t->maps), map_cmp);
	return NULL;
}
