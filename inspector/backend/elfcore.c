/* SPDX-License-Identifier: MIT */
/**
 * @file elfcore.c
 * ELF core backend (x86_64): opening a core and parsing its headers. The core
 * is mapped read-only and every offset, size and count in it is range-checked
 * before use: a truncated or crafted core yields an error or warnings, never a
 * crash or a hang.
 *
 * Truncation policy: damage to the ELF header or program header table is
 * fatal (TLI_E_BAD_FORMAT); a PT_LOAD or PT_NOTE cut short by the end of
 * the file stays usable up to the cut and is reported in t->warnings.
 *
 * wall_now_ns is the core file's mtime: an estimate of when the dump was
 * taken (the core has no timestamp). mono_now_ns is unknown (0).
 *
 * The parts: reads (elfcore_read.c), notes (elfcore_notes.c), segments and
 * mappings (elfcore_segments.c), the files that may back memory
 * (elfcore_files.c, elfcore_buildid.c), the executable (elfcore_exe.c).
 */
#include "elfcore_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"

static const char *etype_name(unsigned type)
{
	switch (type) {
	case ET_NONE: return "ET_NONE";
	case ET_REL: return "ET_REL";
	case ET_EXEC: return "ET_EXEC";
	case ET_DYN: return "ET_DYN";
	case ET_CORE: return "ET_CORE";
	}
	return "unknown";
}

/* The ELF header: a 64-bit little-endian core of an architecture we read (core/arch.h) whose
 * program headers are in the file. */
static struct tli_error *check_header(const struct core *c, const char *name, Elf64_Ehdr *ret,
				      uint64_t *phnum_ret, const struct tli_arch **arch)
{
	if (c->size < SELFMAG || memcmp(c->data, ELFMAG, SELFMAG))
		return tli_error_create(TLI_E_BAD_FORMAT, "%s is not an ELF file", name);
	if (c->size < sizeof(Elf64_Ehdr))
		return tli_error_create(TLI_E_BAD_FORMAT,
					"core truncated: the ELF header needs %zu bytes, %s has %zu",
					sizeof(Elf64_Ehdr), name, c->size);
	Elf64_Ehdr eh;
	memcpy(&eh, c->data, sizeof(eh));
	/* the machine first (class and byte order with it): a 32-bit ARM or big-endian core is
	 * named as such, not as a malformed one */
	char what[600];
	snprintf(what, sizeof(what), "core %s", name);
	struct tli_error *err = tli_arch_of_elf(c->data, c->size, what, arch);
	if (err)
		return err;
	if (eh.e_type != ET_CORE)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s is not a core file (ELF type %s)", name,
					etype_name(eh.e_type));
	if (eh.e_phentsize < sizeof(Elf64_Phdr))
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: e_phentsize %u is smaller than %zu", name,
					eh.e_phentsize, sizeof(Elf64_Phdr));
	uint64_t phnum = eh.e_phnum;
	if (phnum == PN_XNUM) { /* real count in section header 0's sh_info */
		if (eh.e_shentsize < sizeof(Elf64_Shdr) || !in_file(c, eh.e_shoff, sizeof(Elf64_Shdr)))
			return tli_error_create(TLI_E_BAD_FORMAT,
						"%s: e_phnum is PN_XNUM but section header 0 (offset 0x%" PRIx64
						") is not in the file (size %zu)", name, (uint64_t)eh.e_shoff, c->size);
		Elf64_Shdr sh;
		memcpy(&sh, c->data + eh.e_shoff, sizeof(sh));
		phnum = sh.sh_info;
	}
	if (!phnum)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: core has no program headers", name);
	if (eh.e_phoff >= c->size)
		return tli_error_create(TLI_E_BAD_FORMAT,
					"core truncated: program headers at offset 0x%" PRIx64
					" lie beyond the end of %s (size %zu)", (uint64_t)eh.e_phoff, name, c->size);
	if (phnum > (c->size - eh.e_phoff) / eh.e_phentsize) {
		unsigned __int128 need = (unsigned __int128)eh.e_phoff + (unsigned __int128)phnum * eh.e_phentsize;
		return tli_error_create(TLI_E_BAD_FORMAT,
					"core truncated: %" PRIu64 " program headers need bytes up to offset %" PRIu64
					", %s has %zu", phnum,
					need > UINT64_MAX ? UINT64_MAX : (uint64_t)need, name, c->size);
	}
	*ret = eh;
	*phnum_ret = phnum;
	return NULL;
}

/* One PT_NOTE. A note segment cut by the end of the file is fatal: past the cut are the
 * threads and their registers, the auxiliary vector and the file mappings (gdb's gcore writes
 * the notes last, so any cut loses them), and an answer without them (no threads, statuses
 * as numbers, "statically linked") would look like a real one. */
static struct tli_error *read_note_segment(struct note_ctx *nc, const Elf64_Phdr *ph)
{
	const struct core *c = nc->c;
	uint64_t len = ph->p_filesz;
	if (!in_file(c, ph->p_offset, len)) {
		return tli_error_create(TLI_E_BAD_FORMAT, "core %s is truncated at %zu bytes: its "
						       "PT_NOTE at offset 0x%" PRIx64 " needs bytes up to offset "
						       "%" PRIu64 " (threads, registers and file mappings are "
						       "past the cut)", nc->name, c->size,
						       (uint64_t)ph->p_offset, sat_add(ph->p_offset, len));
	}
	return len ? tli_elfcore_parse_notes(nc, ph->p_offset, len) : NULL;
}

/* Every program header: the notes and the PT_LOAD segments. */
static struct tli_error *read_program_headers(struct note_ctx *nc, const Elf64_Ehdr *eh, uint64_t phnum)
{
	struct tli_target *t = nc->t;
	struct core *c = nc->c;
	c->segs = calloc(phnum, sizeof(*c->segs));
	if (!c->segs)
		return &tli_enomem;
	size_t data_segs = 0;
	for (uint64_t i = 0; i < phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, c->data + eh->e_phoff + i * eh->e_phentsize, sizeof(ph));
		if (ph.p_type == PT_NOTE) {
			struct tli_error *err = read_note_segment(nc, &ph);
			if (err)
				return err;
		} else if (ph.p_type == PT_LOAD && ph.p_memsz) {
			data_segs += tli_elfcore_add_segment(t, c, &ph, nc->name);
		}
	}
	if (c->warn_trunc > MAX_WARN_PER_KIND)
		tli_target_warn(t, "core truncated: %u PT_LOAD segments are cut short in total", c->warn_trunc);
	if (!data_segs && !t->nthreads)
		return tli_error_create(TLI_E_BAD_FORMAT,
					"%s has neither memory contents nor threads (truncated or empty core)", nc->name);
	return NULL;
}

static struct tli_error *parse_core(struct tli_target *t, struct core *c, const char *name,
				    const struct tli_core_opts *opts)
{
	Elf64_Ehdr eh = { 0 };
	uint64_t phnum = 0;
	struct tli_error *err = check_header(c, name, &eh, &phnum, &t->arch);
	if (err)
		return err;
	struct note_ctx nc = { .t = t, .c = c, .name = name };
	if ((err = read_program_headers(&nc, &eh, phnum)))
		return err;
	tli_elfcore_sort_segments(t, c, name);
	if ((err = tli_elfcore_parse_nt_file(&nc, opts)) || (err = tli_elfcore_link_map(&nc, opts)))
		return err;
	if (!t->pid && t->nthreads)
		t->pid = t->threads[0].tid;
	for (size_t i = 0; i < t->nthreads; i++)
		if (t->threads[i].tid == t->pid)
			t->threads[i].state = nc.prpsinfo_sname;
	if ((err = tli_elfcore_check_files(t, c, opts, name)))
		return err;
	return tli_elfcore_build_maps(t, c);
}
static struct tli_error *open_image(const void *data, size_t size, void *mapped, const char *name,
				    const struct tli_core_opts *opts, struct tli_target **ret)
{
	*ret = NULL;
	struct tli_target *t = calloc(1, sizeof(*t));
	struct core *c = calloc(1, sizeof(*c));
	if (!t || !c) {
		free(t);
		free(c);
		if (mapped)
			munmap(mapped, size);
		return &tli_enomem;
	}
	c->data = data;
	c->size = size;
	c->mapped = mapped;
	c->mapped_len = size;
	c->exe_file = -1;
	c->verbose = opts ? opts->verbose : NULL;
	t->ops = &tli_elfcore_ops;
	t->priv = c;
	t->kind = TLI_TARGET_CORE;
	t->core_path = strdup(name);
	struct tli_error *err = t->core_path ? parse_core(t, c, name, opts) : &tli_enomem;
	if (err) {
		tli_target_destroy(t);
		return err;
	}
	*ret = t;
	return NULL;
}

struct tli_error *tli_core_open_mem(const void *data, size_t size, const char *name,
				    const struct tli_core_opts *opts, struct tli_target **ret)
{
	return open_image(data, size, NULL, name ? name : "core", opts, ret);
}

struct tli_error *tli_core_open(const char *core, const struct tli_core_opts *opts, struct tli_target **ret)
{
	*ret = NULL;
	int fd = tli_open_regular(core);
	if (fd < 0) {
		int e = errno;
		if (e == EINVAL)
			return tli_error_create(TLI_E_BAD_FORMAT, "%s is not a core file (not a regular file)", core);
		return tli_error_errno(e == EACCES || e == EPERM ? TLI_E_PERM : TLI_E_NO_TARGET, e,
				       "cannot open core file %s", core);
	}
	struct stat sb;
	if (fstat(fd, &sb) < 0) {
		int e = errno;
		close(fd);
		return tli_error_errno(TLI_E_NO_TARGET, e, "cannot stat core file %s", core);
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return tli_error_create(TLI_E_BAD_FORMAT, "%s is not a regular file", core);
	}
	if (sb.st_size == 0) {
		close(fd);
		return tli_error_create(TLI_E_BAD_FORMAT, "%s is empty (not a core file)", core);
	}
	void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	int e = errno;
	close(fd);
	if (m == MAP_FAILED)
		return tli_error_errno(TLI_E_INTERNAL, e, "cannot map core file %s", core);
	struct tli_error *err = open_image(m, (size_t)sb.st_size, m, core, opts, ret);
	if (err)
		return err;
	(*ret)->wall_now_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
	return NULL;
}
