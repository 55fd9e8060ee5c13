/* SPDX-License-Identifier: MIT */
/**
 * @file elfcore_int.h
 * Private to the ELF core backend (elfcore.c, elfcore_read.c, elfcore_notes.c,
 * elfcore_segments.c, elfcore_exe.c): the parsed core and the helpers its files
 * share. Every offset, size and count taken from the core is range-checked
 * before use.
 */
#ifndef TLI_BACKEND_ELFCORE_INT_H
#define TLI_BACKEND_ELFCORE_INT_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "core/target.h"
#include "elfcore.h"

#define MAX_WARN_PER_KIND 8

/** A PT_LOAD segment of the core. */
struct seg {
	uint64_t vaddr, memsz, filesz, offset;
	uint64_t avail; /**< bytes of file data actually present (<= filesz) */
	unsigned prot;
};

/** An NT_FILE entry: [start, end) maps files[file] from offset ofs. */
struct fmap {
	uint64_t start, end, ofs;
	size_t file; /**< index into files */
};

#define BFILE_MAX_PH 32
/** A file named by NT_FILE (a backing file of some mappings). */
struct bfile {
	char *orig;   /**< path as named in the core */
	char *path;   /**< path to open here (sysroot / --exe applied) */
	int fd;       /**< -2 = not tried, -1 = failed (errno in open_err) */
	int open_err;
	int nph;      /**< PT_LOADs of the file (for protections), -1 = not read */
	struct { uint64_t off, end; unsigned prot; } ph[BFILE_MAX_PH];
};

struct core {
	const unsigned char *data;
	size_t size;
	void *mapped; /**< owned mmap (tli_core_open) or NULL */
	size_t mapped_len;
	struct seg *segs;    /**< sorted by vaddr, non-overlapping */
	size_t nsegs;
	struct fmap *fmaps;  /**< sorted by start, non-overlapping */
	size_t nfmaps;
	struct bfile *files;
	size_t nfiles;
	long exe_file; /**< index into files, -1 if unknown */
	char fname[17];
	uint64_t fallback_reads;
	unsigned warn_trunc, warn_note;
};

/** What the notes tell, gathered while the program headers are read. */
struct note_ctx {
	struct tli_target *t;
	struct core *c;
	const char *name;
	/* raw NT_FILE, parsed after all notes (needs AT_ENTRY for the exe) */
	const unsigned char *file_desc;
	size_t file_desc_len;
	char prpsinfo_sname;
	size_t thread_cap;
};

/* bounds-checked access to the image */
static inline bool in_file(const struct core *c, uint64_t off, uint64_t len)
{
	return off <= c->size && len <= c->size - off;
}

static inline uint64_t get_u64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/** TLI_PROT_* of ELF p_flags. */
static inline unsigned prot_of_flags(uint32_t flags)
{
	return (flags & PF_R ? TLI_PROT_R : 0) | (flags & PF_W ? TLI_PROT_W : 0) | (flags & PF_X ? TLI_PROT_X : 0);
}

/* --- elfcore_read.c: reads --- */

extern const struct tli_target_ops tli_elfcore_ops;
/** Segment containing a, or NULL; *next_start (may be NULL) = start of the next segment above a. */
const struct seg *tli_elfcore_find_seg(const struct core *c, uint64_t a, uint64_t *next_start);
/** NT_FILE entry containing a, or NULL. */
const struct fmap *tli_elfcore_find_fmap(const struct core *c, uint64_t a);
/** The backing file's descriptor, opened on first use; -1 if it cannot be opened. */
int tli_elfcore_bfile_fd(struct bfile *f);
/** Read from the core's own PT_LOAD data only (no backing files, no zero fill). Bytes read. */
size_t tli_elfcore_read_core_only(struct core *c, uint64_t addr, void *buf, size_t len);

/* --- elfcore_notes.c: PT_NOTE contents --- */

/** The notes of one PT_NOTE at [off, off+len) of the image: threads, pid, auxv, NT_FILE kept raw. */
struct tli_error *tli_elfcore_parse_notes(struct note_ctx *nc, uint64_t off, uint64_t len);
/** The NT_FILE note (after every note: the exe is the entry holding AT_ENTRY). */
struct tli_error *tli_elfcore_parse_nt_file(struct note_ctx *nc, const struct tli_core_opts *opts);

/* --- elfcore_segments.c: PT_LOAD segments and the target's mappings --- */

/** Add one PT_LOAD (clamped to the file, warnings for damage); true if it has data in the core. */
bool tli_elfcore_add_segment(struct tli_target *t, struct core *c, const Elf64_Phdr *ph, const char *name);
/** Sort the segments; trim overlaps (only a crafted core has them). */
void tli_elfcore_sort_segments(struct tli_target *t, struct core *c, const char *name);
/** t->maps: every segment plus the file-backed ranges that have no segment. */
struct tli_error *tli_elfcore_build_maps(struct tli_target *t, struct core *c);

/* --- elfcore_exe.c: the executable --- */

/** Choose t->exe_path (NT_FILE or --exe) and check it against the core's build-ids. */
struct tli_error *tli_elfcore_check_exe(struct tli_target *t, struct core *c, const struct tli_core_opts *opts,
					 const char *name);

#endif
